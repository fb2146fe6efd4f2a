/*
 * store.c — model files on disk.
 *
 * A model is the file NAME.bert in one of the models directories:
 * bert.model_dir if set; else the server's own $PGDATA/pg_bert/models
 * (bert_install_model writes there) and then SHAREDIR/bert/models (the
 * package's).  Names are restricted so that no path can hide in them.  A
 * file is put in place as copy or write to a temporary name, validate,
 * fsync, rename, so nothing half-made ever has a model's final name.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"

#include "model.h"
#include "store.h"
#include "util.h"

static char *bert_model_dir = NULL;

void
pgb_store_init(void)
{
	DefineCustomStringVariable("bert.model_dir",
							   "Directory that holds the models (NAME.bert).",
							   "Empty means $PGDATA/pg_bert/models, then SHAREDIR/bert/models.",
							   &bert_model_dir,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
}

static bool
model_dir_is_set(void)
{
	return bert_model_dir != NULL && bert_model_dir[0] != '\0';
}

void
pgb_check_model_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > BERT_MODEL_NAME_MAX || name[0] == '.' ||
		strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
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
	if (mkdir(path, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
}

void
pgb_writable_models_dir(char *buf, size_t len)
{
	if (model_dir_is_set())
		strlcpy(buf, bert_model_dir, len);
	else
		pgb_data_path(buf, len, "models");
}

/* bert.model_dir is the administrator's to create; our own directory is ours. */
void
pgb_make_writable_models_dir(char *buf, size_t len)
{
	pgb_writable_models_dir(buf, len);
	if (!model_dir_is_set())
	{
		char		base[MAXPGPATH];

		pgb_data_path(base, sizeof(base), NULL);
		pgb_make_dir(base);
		pgb_make_dir(buf);
	}
}

/*
 * Where models are looked up, in order: bert.model_dir if set; else the
 * server's own directory (models installed with bert_install_model) and the
 * system directory SHAREDIR/bert/models (models installed with the package).
 */
int
pgb_models_dirs(char dirs[][MAXPGPATH])
{
	char		share[MAXPGPATH];

	if (model_dir_is_set())
	{
		strlcpy(dirs[0], bert_model_dir, MAXPGPATH);
		return 1;
	}
	pgb_data_path(dirs[0], MAXPGPATH, "models");
	get_share_path(my_exec_path, share);
	snprintf(dirs[1], MAXPGPATH, "%s/bert/models", share);
	return 2;
}

bool
pgb_find_model_file(const char *name, char *path, struct stat *st)
{
	char		dirs[2][MAXPGPATH];
	int			n = pgb_models_dirs(dirs);

	for (int i = 0; i < n; i++)
	{
		snprintf(path, MAXPGPATH, "%s/%s.bert", dirs[i], name);
		if (stat(path, st) == 0)
			return true;
		if (errno != ENOENT && errno != ENOTDIR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat model file \"%s\": %m", path)));
	}
	return false;
}

/* Copy src to dst (a new file), checking for interrupts. */
void
pgb_copy_file(const char *src, const char *dst)
{
	int			in = BasicOpenFile(src, O_RDONLY);
	int			out;
	char	   *buf;

	if (in < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", src)));
	out = BasicOpenFilePerm(dst, O_WRONLY | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
	if (out < 0)
	{
		close(in);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", dst)));
	}
	buf = palloc(1 << 20);
	PG_TRY();
	{
		for (;;)
		{
			ssize_t		n = read(in, buf, 1 << 20);

			CHECK_FOR_INTERRUPTS();
			if (n < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", src)));
			if (n == 0)
				break;
			if (write(out, buf, n) != n)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not write file \"%s\": %m", dst)));
		}
		if (pg_fsync(out) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not fsync file \"%s\": %m", dst)));
	}
	PG_CATCH();
	{
		close(in);
		close(out);
		unlink(dst);
		PG_RE_THROW();
	}
	PG_END_TRY();
	close(in);
	if (close(out) != 0)
	{
		unlink(dst);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", dst)));
	}
	pfree(buf);
}

/* Check that path holds a valid model file; report it as name otherwise. */
void
pgb_validate_model_file(const char *name, const char *path)
{
	BertModel	m;
	char		err[512];
	BertModelStatus status = bcore_model_open(path, &m, err, sizeof(err));

	if (status != BERT_MODEL_OK)
		pgb_model_error(name, status, err);
	bcore_model_close(&m);
}

/*
 * Validate the freshly written tmp as model name, then rename it to dst; on
 * any failure tmp is removed, so nothing half-made ever has the final name.
 */
void
pgb_publish_model_file(const char *name, const char *tmp, const char *dst)
{
	PG_TRY();
	{
		pgb_validate_model_file(name, tmp);
	}
	PG_CATCH();
	{
		unlink(tmp);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (rename(tmp, dst) != 0)
	{
		unlink(tmp);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m", tmp, dst)));
	}
}
