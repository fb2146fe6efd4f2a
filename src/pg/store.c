/*
 * store.c — model files on disk.
 *
 * The models a database installs or trains live in its registry (the _bert
 * tables, registry.c); the files here are the shipped models (the package's
 * directory, SHAREDIR/bert/models, or bert.model_dir), server paths given
 * to bert_install_model, and temporary files.  A server path is read, never
 * mapped: another process may rewrite it while we read, and a mapping of a
 * file that shrinks under us raises SIGBUS and restarts the server.  What we
 * read goes into a file of our own, whose hash we compute on the way, and
 * only that copy is ever validated or mapped.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_tablespace_d.h"
#include "common/cryptohash.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"

#include "model.h"
#include "store.h"

/* Reads and writes a megabyte at a time, checking for interrupts between. */
#define COPY_BLOCK (1 << 20)

static char *bert_model_dir = NULL;
uint64		pgb_store_generation = 0;

static void
model_dir_assign(const char *newval pg_attribute_unused(), void *extra pg_attribute_unused())
{
	pgb_store_generation++;
}

void
pgb_store_init(void)
{
	DefineCustomStringVariable("bert.model_dir",
							   "Directory of the shipped models (NAME.bert).",
							   "Empty means SHAREDIR/bert/models, where make install-model and the package put them.",
							   &bert_model_dir,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, model_dir_assign, NULL);
}

bool
pgb_valid_model_name(const char *name)
{
	size_t		len = strlen(name);

	return len > 0 && len <= BERT_MODEL_NAME_MAX && name[0] != '.' &&
		strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

void
pgb_check_model_name(const char *name)
{
	if (!pgb_valid_model_name(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name is 1 to %d letters, digits, \".\", \"_\" or \"-\", and does not start with \".\".",
						   BERT_MODEL_NAME_MAX)));
}

void
pgb_data_path(char *buf, size_t len, const char *sub)
{
	snprintf(buf, len, "%s/pg_bert%s%s", DataDir, sub ? "/" : "", sub ? sub : "");
}

void
pgb_make_dir(const char *path)
{
	if (MakePGDirectory(path) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
}

void
pgb_shipped_dir(char *buf, size_t len)
{
	if (bert_model_dir != NULL && bert_model_dir[0] != '\0')
		strlcpy(buf, bert_model_dir, len);
	else
	{
		char		share[MAXPGPATH];

		get_share_path(my_exec_path, share);
		snprintf(buf, len, "%s/bert/models", share);
	}
}

bool
pgb_shipped_file(const char *name, char *path, struct stat *st)
{
	char		dir[MAXPGPATH];

	pgb_shipped_dir(dir, sizeof(dir));
	snprintf(path, MAXPGPATH, "%s/%s.bert", dir, name);
	if (stat(path, st) == 0)
		return true;
	if (errno != ENOENT && errno != ENOTDIR)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat model file \"%s\": %m", path)));
	return false;
}

void
pgb_temp_path(char *buf, size_t len, const char *what)
{
	static int	counter = 0;
	char		dir[MAXPGPATH];

	TempTablespacePath(dir, DEFAULTTABLESPACE_OID);
	pgb_make_dir(dir);
	snprintf(buf, len, "%s/%s%d.bert-%s.%d", dir, PG_TEMP_FILE_PREFIX, MyProcPid, what, counter++);
}

void
pgb_unlink_if_exists(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

struct PgbSha256
{
	pg_cryptohash_ctx *ctx;
};

PgbSha256 *
pgb_sha256_begin(void)
{
	PgbSha256  *h = palloc(sizeof(PgbSha256));

	h->ctx = pg_cryptohash_create(PG_SHA256);
	if (h->ctx == NULL || pg_cryptohash_init(h->ctx) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start a SHA-256 computation")));
	return h;
}

void
pgb_sha256_update(PgbSha256 *h, const void *data, size_t len)
{
	if (pg_cryptohash_update(h->ctx, data, len) < 0)
		elog(ERROR, "bert: SHA-256 update failed: %s", pg_cryptohash_error(h->ctx));
}

void
pgb_sha256_final(PgbSha256 *h, uint8 *sha)
{
	if (pg_cryptohash_final(h->ctx, sha, BERT_SHA256_LEN) < 0)
		elog(ERROR, "bert: SHA-256 failed: %s", pg_cryptohash_error(h->ctx));
	pg_cryptohash_free(h->ctx);
	pfree(h);
}

void
pgb_sha256_hex(const uint8 *sha, char *hex)
{
	bcore_sha256_hex(sha, hex);
}

bool
pgb_sha256_parse(const char *hex, uint8 *sha)
{
	if (strlen(hex) != BERT_HASH_HEX || strspn(hex, "0123456789abcdef") != BERT_HASH_HEX)
		return false;
	for (int i = 0; i < BERT_SHA256_LEN; i++)
	{
		char		byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

		sha[i] = (uint8) strtol(byte, NULL, 16);
	}
	return true;
}

void
pgb_write_all(int fd, const char *data, size_t len, const char *path)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
		data += n;
		len -= (size_t) n;
	}
}

void
pgb_close_and_error(int fd, const char *verb, const char *path)
{
	int			save = errno;

	close(fd);
	errno = save;
	ereport(ERROR,
			(errcode_for_file_access(),
			 errmsg("could not %s file \"%s\": %m", verb, path)));
	pg_unreachable();
}

/* read() up to len bytes (fewer only at the end of the file). */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t		got = 0;

	while (got < len)
	{
		ssize_t		n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t) n;
	}
	return (ssize_t) got;
}

/* A new file for writing; ERROR if it cannot be made. */
static int
create_file(const char *dst)
{
	int			fd = BasicOpenFilePerm(dst, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", dst)));
	return fd;
}

static void
finish_file(int fd, const char *dst)
{
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", dst)));
}

int64
pgb_copy_model_file(const char *src, const char *dst, uint8 *sha,
					BertModelStatus *status, char *err, size_t errlen)
{
	int			in;
	volatile int out = -1;
	struct stat st;
	char	   *buf;
	volatile int64 total = 0;

	*status = BERT_MODEL_OK;

	/*
	 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, uninterruptibly.  It changes nothing for a regular file.
	 */
	in = BasicOpenFile(src, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (in < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", src)));
	if (fstat(in, &st) != 0)
		pgb_close_and_error(in, "stat", src);
	if (!S_ISREG(st.st_mode))
	{
		close(in);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a regular file or a directory", src),
				 errdetail("A model is installed from a model file or a Hugging Face checkpoint directory; FIFOs, devices and sockets are refused.")));
	}
	buf = palloc(COPY_BLOCK);
	PG_TRY();
	{
		PgbSha256  *h = pgb_sha256_begin();
		ssize_t		n;

		/* the header first: a foreign or damaged file is refused before any copying */
		n = read_full(in, buf, BERT_HEADER_SIZE);
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", src)));
		*status = bcore_model_check_header((const uint8 *) buf, (size_t) n, (uint64) st.st_size,
										   NULL, err, errlen);
		if (*status != BERT_MODEL_OK)
			n = 0;
		else
			out = create_file(dst);
		while (n > 0)
		{
			pgb_sha256_update(h, buf, (size_t) n);
			pgb_write_all(out, buf, (size_t) n, dst);
			total += n;
			CHECK_FOR_INTERRUPTS();
			n = read_full(in, buf, COPY_BLOCK);
			if (n < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", src)));
		}
		if (out >= 0)
			finish_file(out, dst);
		pgb_sha256_final(h, sha);
	}
	PG_CATCH();
	{
		close(in);
		if (out >= 0)
		{
			close(out);
			unlink(dst);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	close(in);
	pfree(buf);
	if (*status != BERT_MODEL_OK)
		return -1;
	if (close(out) != 0)
	{
		unlink(dst);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", dst)));
	}
	return total;
}

void
pgb_write_model_bytes(const char *data, size_t len, const char *dst, uint8 *sha)
{
	int			out = create_file(dst);

	PG_TRY();
	{
		PgbSha256  *h = pgb_sha256_begin();

		for (size_t off = 0; off < len; off += COPY_BLOCK)
		{
			size_t		n = Min(len - off, (size_t) COPY_BLOCK);

			pgb_sha256_update(h, data + off, n);
			pgb_write_all(out, data + off, n, dst);
			CHECK_FOR_INTERRUPTS();
		}
		finish_file(out, dst);
		pgb_sha256_final(h, sha);
	}
	PG_CATCH();
	{
		close(out);
		unlink(dst);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (close(out) != 0)
	{
		unlink(dst);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", dst)));
	}
}

/*
 * flock() is not interrupted by a query cancel (PostgreSQL's signal
 * handlers restart system calls), so wait by polling: a cancel or a
 * timeout then stops the wait within 10 ms.
 */
int
pgb_lock_file(const char *path)
{
	int			fd = BasicOpenFilePerm(path, O_RDWR | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open lock file \"%s\": %m", path)));
	while (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		if (errno != EWOULDBLOCK && errno != EINTR)
			pgb_close_and_error(fd, "lock", path);
		PG_TRY();
		{
			CHECK_FOR_INTERRUPTS();
		}
		PG_CATCH();
		{
			close(fd);
			PG_RE_THROW();
		}
		PG_END_TRY();
		pg_usleep(10000L);
	}
	return fd;
}

void
pgb_unlock_file(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}
