/*
 * cache.c — one copy of each model's weights per server, by content.
 *
 * A model's weights are mapped from a snapshot, $PGDATA/pg_bert/cache/
 * HASH.bert, named by the SHA-256 of the model file.  Only this file writes
 * snapshots: from the bytes in a database's registry (a model installed or
 * trained there) or from a shipped file (read, never mapped), to
 * HASH.bert.tmp.PID, whose hash is checked and which is parsed before it is
 * fsynced and renamed into place; a lock file per hash (striped over 256
 * files) makes concurrent first loads build once.  A snapshot is never
 * written in place, so mapping one is safe however the sources change: the
 * server never maps a file anything else may rewrite.  Two names with the
 * same weights share one snapshot, and so do databases.
 *
 * Which snapshots are still needed: a database that loads a model claims
 * its snapshot (an empty file cache/claims/DBOID/HASH).  pgb_cache_collect
 * (after every install, drop or training, and after a snapshot is built)
 * drops this database's claims its registry no longer needs, every claim of
 * a database that no longer exists, and every snapshot nobody claims (a
 * mapping of an unlinked file stays valid); and temporary files of writers
 * that died.  A database never used again keeps its claims until it is
 * dropped.
 *
 * Per backend, a name maps to a loaded model until the registry changes: a
 * relcache invalidation of _bert.model (sent at commit by every writer and
 * by the table's trigger, replayed on standbys) makes the next call check
 * the name again, so a call costs no catalogue query.
 *
 * Usage counters are stats.c's: a loaded model holds its counters slot.
 * With shared_preload_libraries, bert.preload_models maps shipped models
 * in the postmaster and backends inherit the mapping.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "cache.h"
#include "encoder.h"
#include "model.h"
#include "registry.h"
#include "stats.h"
#include "store.h"
#include "util.h"

static char *bert_preload_models = NULL;

static LoadedModel *loaded_models = NULL;

/* set by the relcache callback: names must be checked against the registry */
static bool registry_changed = false;
static uint64 seen_store_generation = 0;

/* What a name means now. */
typedef struct Resolved
{
	bool		stored;
	char		hash[BERT_HASH_HEX + 1];
	int64		bytes;			/* stored: the file's size */
} Resolved;

static void
registry_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	if (!OidIsValid(relid) || relid == pgb_registry_cached_relid())
	{
		registry_changed = true;
		pgb_registry_forget_relid();
	}
}

void
pgb_cache_init(void)
{
	/*
	 * PGC_POSTMASTER settings can only exist when loaded at server start;
	 * otherwise the setting still exists (SHOW works, SET says it cannot be
	 * changed now) but is only read at server start, so it does nothing.
	 */
	DefineCustomStringVariable("bert.preload_models",
							   "Comma-separated shipped models to load at server start.",
							   "Needs bert in shared_preload_libraries.",
							   &bert_preload_models,
							   "",
							   process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(registry_callback, (Datum) 0);
}

/* ---------------------------------------------------------------------------
 * Paths and small files
 */

static void
cache_path(char *buf, const char *fmt,...) pg_attribute_printf(2, 3);

static void
cache_path(char *buf, const char *fmt,...)
{
	char		dir[MAXPGPATH];
	char		rest[MAXPGPATH];
	va_list		ap;

	pgb_data_path(dir, sizeof(dir), "cache");
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(buf, MAXPGPATH, "%s%s%s", dir, rest[0] ? "/" : "", rest);
}

static void
make_cache_dirs(void)
{
	char		path[MAXPGPATH];

	pgb_data_path(path, sizeof(path), NULL);
	pgb_make_dir(path);
	cache_path(path, "%s", "");
	pgb_make_dir(path);
	cache_path(path, "locks");
	pgb_make_dir(path);
	cache_path(path, "shipped");
	pgb_make_dir(path);
	cache_path(path, "claims");
	pgb_make_dir(path);
}

static bool
is_hash_name(const char *s, size_t len)
{
	return len == BERT_HASH_HEX && strspn(s, "0123456789abcdef") >= BERT_HASH_HEX;
}

/* Concurrent builders of one hash wait for each other (256 lock files). */
static int
lock_hash(const char *hash)
{
	char		path[MAXPGPATH];

	cache_path(path, "locks/%.2s", hash);
	return pgb_lock_file(path);
}

static bool
snapshot_exists(const char *hash)
{
	char		path[MAXPGPATH];
	struct stat st;

	cache_path(path, "%s.bert", hash);
	return stat(path, &st) == 0;
}

/* This database uses the snapshot of hash (nothing in the postmaster). */
static void
claim(const char *hash)
{
	char		path[MAXPGPATH];
	int			fd;

	if (!OidIsValid(MyDatabaseId))
		return;
	cache_path(path, "claims/%u", MyDatabaseId);
	pgb_make_dir(path);
	cache_path(path, "claims/%u/%s", MyDatabaseId, hash);
	fd = BasicOpenFilePerm(path, O_WRONLY | O_CREAT | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", path)));
	close(fd);
}

/* Map size bytes of fd read-only, then close fd (the mapping stays). */
static void *
map_and_close(int fd, size_t size, const char *path)
{
	void	   *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	close(fd);
	if (map == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not map file \"%s\": %m", path)));
	return map;
}

/* Map the snapshot of hash read-only; NULL if it does not exist (any more). */
static void *
map_snapshot(const char *hash, size_t *size)
{
	char		path[MAXPGPATH];
	int			fd;
	struct stat st;
	void	   *map;

	cache_path(path, "%s.bert", hash);
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) != 0 || st.st_size < (off_t) BERT_HEADER_SIZE)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("snapshot \"%s\" is damaged", path),
				 errhint("Remove it: it is rebuilt on the next use.")));
	}
	map = map_and_close(fd, (size_t) st.st_size, path);
	*size = (size_t) st.st_size;
	return map;
}

/* Check a file we wrote ourselves (mapping it is safe); an overlay passes here. */
static BertModelStatus
check_own_file(const char *path, char *err, size_t errlen)
{
	int			fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	struct stat st;
	void	   *map;
	BertModel	m;
	BertModelStatus status;

	if (fd < 0 || fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	if (st.st_size < (off_t) BERT_HEADER_SIZE)
	{
		close(fd);
		return bcore_error(err, errlen, BERT_MODEL_CORRUPT, "file is %lld bytes, shorter than the %d-byte header",
						   (long long) st.st_size, BERT_HEADER_SIZE);
	}
	map = map_and_close(fd, (size_t) st.st_size, path);
	status = bcore_model_parse(map, (size_t) st.st_size, &m, err, errlen);
	if (status == BERT_MODEL_OK)
		bcore_model_close(&m);
	munmap(map, (size_t) st.st_size);
	return status == BERT_MODEL_NEEDS_BASE ? BERT_MODEL_OK : status;
}

/* Put our checked temporary file in place as the snapshot of hash. */
static void
publish_snapshot(const char *tmp, const char *hash)
{
	char		path[MAXPGPATH];

	cache_path(path, "%s.bert", hash);
	if (snapshot_exists(hash))
		unlink(tmp);			/* built meanwhile from another source */
	else
		durable_rename(tmp, path, ERROR);
}

/* ---------------------------------------------------------------------------
 * Building snapshots
 */

typedef struct SinkState
{
	int			fd;
	const char *path;
	PgbSha256  *sha;
} SinkState;

static void
sink_write(void *arg, const char *data, size_t len)
{
	SinkState  *s = arg;

	pgb_sha256_update(s->sha, data, len);
	pgb_write_all(s->fd, data, len, s->path);
}

/* The snapshot of stored content hash (bytes long), from the registry; under its lock. */
static void
build_from_registry(const char *hash, int64 bytes)
{
	char		tmp[MAXPGPATH];
	char		err[512];
	uint8		sha[BERT_SHA256_LEN];
	char		got[BERT_HASH_HEX + 1];
	SinkState	s;
	BertModelStatus status;

	cache_path(tmp, "%s.bert.tmp.%d", hash, MyProcPid);
	unlink(tmp);				/* only a dead backend with our pid left one */
	s.fd = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (s.fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	s.path = tmp;
	PG_TRY();
	{
		s.sha = pgb_sha256_begin();
		pgb_registry_read_content(hash, bytes, sink_write, &s);
		pgb_sha256_final(s.sha, sha);
		if (pg_fsync(s.fd) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not fsync file \"%s\": %m", tmp)));
	}
	PG_CATCH();
	{
		close(s.fd);
		unlink(tmp);
		PG_RE_THROW();
	}
	PG_END_TRY();
	close(s.fd);
	pgb_sha256_hex(sha, got);
	if (strcmp(got, hash) != 0)
	{
		unlink(tmp);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the model content %.12s is damaged in the database", hash),
				 errdetail("Its bytes have SHA-256 %s.", got)));
	}
	status = check_own_file(tmp, err, sizeof(err));
	if (status != BERT_MODEL_OK)
	{
		unlink(tmp);
		pgb_model_error(hash, status, err);
	}
	publish_snapshot(tmp, hash);
}

static uint64
file_key(const struct stat *st)
{
	uint64		parts[5] = {(uint64) st->st_dev, (uint64) st->st_ino, (uint64) st->st_size,
	(uint64) st->st_mtim.tv_sec, (uint64) st->st_mtim.tv_nsec};

	return hash_bytes_extended((const unsigned char *) parts, sizeof(parts), 0);
}

/* The remembered hash of a shipped file with this key, if its snapshot exists. */
static bool
read_memo(uint64 key, char *hash)
{
	char		path[MAXPGPATH];
	int			fd;
	ssize_t		n;

	cache_path(path, "shipped/%016llx", (unsigned long long) key);
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	n = read(fd, hash, BERT_HASH_HEX);
	close(fd);
	if (n != BERT_HASH_HEX)
		return false;
	hash[BERT_HASH_HEX] = '\0';
	return is_hash_name(hash, BERT_HASH_HEX);
}

static void
write_memo(uint64 key, const char *hash)
{
	char		path[MAXPGPATH],
				tmp[MAXPGPATH];
	int			fd;

	cache_path(path, "shipped/%016llx", (unsigned long long) key);
	cache_path(tmp, "shipped/%016llx.tmp.%d", (unsigned long long) key, MyProcPid);
	fd = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return;					/* only a memo: next time we hash again */
	if (write(fd, hash, BERT_HASH_HEX) != BERT_HASH_HEX || pg_fsync(fd) != 0)
	{
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) != 0)
		unlink(tmp);
}

/*
 * The hash of the shipped file at path (stat st): remembered by (device,
 * inode, size, mtime), so a backend start does not hash 70 MB again; else
 * the file is copied into the cache, hashed on the way, checked, and
 * becomes the snapshot.  false, with *status and err, if it is no model.
 */
static bool
shipped_file_hash(const char *path, const struct stat *st, char *hash,
				  BertModelStatus *status, char *err, size_t errlen)
{
	uint64		key = file_key(st);
	char		tmp[MAXPGPATH];
	uint8		sha[BERT_SHA256_LEN];
	struct stat after;
	int			lockfd;

	*status = BERT_MODEL_OK;
	if (read_memo(key, hash) && snapshot_exists(hash))
		return true;
	make_cache_dirs();
	cache_path(tmp, "shipped.tmp.%d", MyProcPid);
	unlink(tmp);
	if (pgb_copy_model_file(path, tmp, sha, status, err, errlen) < 0)
		return false;
	if ((*status = check_own_file(tmp, err, errlen)) != BERT_MODEL_OK)
	{
		unlink(tmp);
		return false;
	}
	pgb_sha256_hex(sha, hash);
	lockfd = lock_hash(hash);
	PG_TRY();
	{
		claim(hash);
		publish_snapshot(tmp, hash);
	}
	PG_FINALLY();
	{
		pgb_unlock_file(lockfd);
	}
	PG_END_TRY();
	/* a file rewritten while we read it: what we copied is consistent, but remember nothing */
	if (stat(path, &after) == 0 && file_key(&after) == key)
		write_memo(key, hash);
	return true;
}

bool
pgb_shipped_hash(const char *name, char *hash, BertModelStatus *status, char *err, size_t errlen)
{
	char		path[MAXPGPATH];
	struct stat st;

	if (!pgb_shipped_file(name, path, &st))
	{
		*status = BERT_MODEL_IO;
		bcore_error(err, errlen, BERT_MODEL_IO, "there is no file \"%s\"", path);
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		*status = BERT_MODEL_IO;
		bcore_error(err, errlen, BERT_MODEL_IO, "\"%s\" is not a regular file", path);
		return false;
	}
	if (!shipped_file_hash(path, &st, hash, status, err, errlen))
		return false;
	claim(hash);
	return true;
}

/*
 * Make sure the snapshot of content hash exists, and claim it: from the
 * registry (bytes long, or -1 to look), else from a shipped file with that
 * content.  for_name names the model that needs it in messages.
 */
static void
ensure_content(const char *hash, int64 size, const char *for_name, bool is_base)
{
	int			lockfd;
	volatile bool built = false;
	volatile bool found = false;
	volatile int64 bytes = size;

	make_cache_dirs();
	if (bytes < 0 && !snapshot_exists(hash))
		bytes = pgb_registry_content_bytes(hash);
	lockfd = lock_hash(hash);
	PG_TRY();
	{
		claim(hash);
		if (snapshot_exists(hash))
			found = true;
		else if (bytes >= 0)
		{
			build_from_registry(hash, bytes);
			found = built = true;
		}
	}
	PG_FINALLY();
	{
		pgb_unlock_file(lockfd);
	}
	PG_END_TRY();

	if (!found)
	{
		/* a shipped file with that content? */
		char		dir[MAXPGPATH];
		DIR		   *d;
		struct dirent *de;

		pgb_shipped_dir(dir, sizeof(dir));
		d = AllocateDir(dir);
		while (!found && d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
		{
			size_t		len = strlen(de->d_name);
			char		path[MAXPGPATH],
						h[BERT_HASH_HEX + 1],
						err[512];
			struct stat st;
			BertModelStatus status;

			if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0 || de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (shipped_file_hash(path, &st, h, &status, err, sizeof(err)) && strcmp(h, hash) == 0)
				found = true;
		}
		if (d != NULL)
			FreeDir(d);
		if (found)
			claim(hash);
	}
	if (!found)
	{
		if (is_base)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the base model of \"%s\" is not available", for_name),
					 errdetail("No model stored in this database or shipped with the extension has the content %s.", hash),
					 errhint("Install the base model's file again, under any name.")));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the content of model \"%s\" is missing from the database", for_name),
				 errdetail("Content %s has no bytes in _bert.model_chunk.", hash)));
	}
	if (built)
		pgb_cache_collect();
}

void
pgb_count_use(LoadedModel *lm, int64 tokens)
{
	if (lm->slot >= 0)
		pgb_stats_count(lm->slot, tokens);
}

/* ---------------------------------------------------------------------------
 * Loading
 */

static void remove_dead_writers_files(void);

static void
free_model(LoadedModel *lm)
{
	bcore_run_state_free(&lm->state);
	bcore_model_close(&lm->model);
	if (lm->base_map != NULL)
	{
		bcore_model_close(&lm->base);
		munmap(lm->base_map, lm->base_map_size);
	}
	if (lm->map != NULL)
		munmap(lm->map, lm->map_size);
	pfree(lm);
}

/* What name means now: a stored model, else a shipped one; ERROR if neither. */
static void
resolve(const char *name, Resolved *r)
{
	PgbStoredModel m;
	BertModelStatus status;
	char		err[512];

	memset(r, 0, sizeof(*r));
	pgb_check_model_name(name);
	if (pgb_registry_lookup(name, &m))
	{
		r->stored = true;
		strlcpy(r->hash, m.hash, sizeof(r->hash));
		r->bytes = m.bytes;
		return;
	}
	{
		char		path[MAXPGPATH];
		struct stat st;

		if (!pgb_shipped_file(name, path, &st))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" is not installed", name),
					 errdetail("No model of that name is stored in this database or shipped with the extension.")));
	}
	if (!pgb_shipped_hash(name, r->hash, &status, err, sizeof(err)))
		pgb_model_error(name, status, err);
}

/*
 * Load the model a name resolved to from its snapshot (and an overlay's
 * base from its own): NULL, with *status and err, if its file does not
 * parse.  The result is in TopMemoryContext and linked nowhere.
 */
static LoadedModel *
load(const char *name, const Resolved *r, BertModelStatus *status, char *err, size_t errlen)
{
	LoadedModel *volatile lm = MemoryContextAllocZero(TopMemoryContext, sizeof(LoadedModel));

	strlcpy(lm->name, name, sizeof(lm->name));
	strlcpy(lm->hash, r->hash, sizeof(lm->hash));
	lm->stored = r->stored;
	lm->slot = -1;
	*status = BERT_MODEL_OK;
	PG_TRY();
	{
		BertFileHeader h;

		/* what writers that died left behind goes at the next load */
		remove_dead_writers_files();
		/* a concurrent collection may remove a snapshot between build and map */
		for (int attempt = 0; lm->map == NULL && attempt < 3; attempt++)
		{
			ensure_content(r->hash, r->stored ? r->bytes : -1, name, false);
			lm->map = map_snapshot(r->hash, &lm->map_size);
		}
		if (lm->map == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not load model \"%s\"", name),
					 errdetail("Its snapshot keeps disappearing.")));
		*status = bcore_model_check_header(lm->map, lm->map_size, lm->map_size, &h, err, errlen);
		if (*status == BERT_MODEL_OK && bcore_header_is_overlay(&h))
		{
			pgb_sha256_hex(h.base_sha256, lm->base_hash);
			for (int attempt = 0; lm->base_map == NULL && attempt < 3; attempt++)
			{
				ensure_content(lm->base_hash, -1, name, true);
				lm->base_map = map_snapshot(lm->base_hash, &lm->base_map_size);
			}
			if (lm->base_map == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_IO_ERROR),
						 errmsg("could not load the base model of \"%s\"", name)));
			*status = bcore_model_parse(lm->base_map, lm->base_map_size, &lm->base, err, errlen);
			if (*status == BERT_MODEL_OK)
			{
				*status = bcore_model_parse_overlay(lm->map, lm->map_size, &lm->base,
													h.base_sha256, &lm->model, err, errlen);
				if (*status != BERT_MODEL_OK)
					bcore_model_close(&lm->base);
			}
			else if (*status == BERT_MODEL_NEEDS_BASE)
			{
				*status = BERT_MODEL_CORRUPT;
				snprintf(err, errlen, "its base is an overlay itself");
			}
		}
		else if (*status == BERT_MODEL_OK)
			*status = bcore_model_parse(lm->map, lm->map_size, &lm->model, err, errlen);
	}
	PG_CATCH();
	{
		if (lm->base_map != NULL)
			munmap(lm->base_map, lm->base_map_size);
		if (lm->map != NULL)
			munmap(lm->map, lm->map_size);
		pfree(lm);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (*status != BERT_MODEL_OK)
	{
		if (lm->base_map != NULL)
			munmap(lm->base_map, lm->base_map_size);
		munmap(lm->map, lm->map_size);
		pfree(lm);
		return NULL;
	}
	lm->slot = pgb_stats_slot(name, lm->hash, lm->stored);
	lm->verified = true;
	return lm;
}

/* Names are checked against the registry again after it changed. */
static void
check_invalidation(void)
{
	if (registry_changed || seen_store_generation != pgb_store_generation)
	{
		for (LoadedModel *lm = loaded_models; lm != NULL; lm = lm->next)
			lm->verified = false;
		registry_changed = false;
		seen_store_generation = pgb_store_generation;
	}
}

/*
 * The loaded model for name: from this backend's list while the registry
 * has not changed; else the name is resolved again, and the loaded model
 * kept if it still means the same content.
 */
static LoadedModel *
get_model(const char *name, bool shipped_only, BertModelStatus *status, char *err, size_t errlen)
{
	LoadedModel *lm,
			  **prev;
	Resolved	r;
	bool		resolved = false;

	*status = BERT_MODEL_OK;
	check_invalidation();
	for (prev = &loaded_models; (lm = *prev) != NULL; prev = &lm->next)
		if (strcmp(lm->name, name) == 0)
		{
			if (lm->verified && !(shipped_only && lm->stored))
				return lm;
			if (shipped_only)
			{
				memset(&r, 0, sizeof(r));
				if (!pgb_shipped_hash(name, r.hash, status, err, errlen))
					return NULL;
			}
			else
				resolve(name, &r);
			resolved = true;
			if (strcmp(r.hash, lm->hash) == 0 && r.stored == lm->stored)
			{
				lm->verified = true;
				claim(lm->hash);
				if (lm->base_hash[0])
					claim(lm->base_hash);
				if (lm->slot < 0)
					lm->slot = pgb_stats_slot(name, lm->hash, lm->stored);
				return lm;
			}
			*prev = lm->next;
			free_model(lm);
			break;
		}
	if (!resolved)
	{
		if (shipped_only)
		{
			memset(&r, 0, sizeof(r));
			pgb_check_model_name(name);
			if (!pgb_shipped_hash(name, r.hash, status, err, errlen))
				return NULL;
		}
		else
			resolve(name, &r);
	}
	lm = load(name, &r, status, err, errlen);
	if (lm == NULL)
		return NULL;
	lm->next = loaded_models;
	loaded_models = lm;
	return lm;
}

LoadedModel *
pgb_get_model(const char *name)
{
	BertModelStatus status;
	char		err[512];
	LoadedModel *lm = get_model(name, false, &status, err, sizeof(err));

	if (lm == NULL)
		pgb_model_error(name, status, err);
	return lm;
}

LoadedModel *
pgb_try_shipped_model(const char *name, BertModelStatus *status, char *err, size_t errlen)
{
	return get_model(name, true, status, err, errlen);
}

LoadedModel *
pgb_open_model(const char *name)
{
	Resolved	r;
	BertModelStatus status;
	char		err[512];
	LoadedModel *lm;

	resolve(name, &r);
	lm = load(name, &r, &status, err, sizeof(err));
	if (lm == NULL)
		pgb_model_error(name, status, err);
	return lm;
}

LoadedModel *
pgb_open_base(const char *hash)
{
	Resolved	r;
	BertModelStatus status;
	char		err[512];
	char		name[BERT_MODEL_NAME_MAX + 1];
	LoadedModel *lm;

	memset(&r, 0, sizeof(r));
	strlcpy(r.hash, hash, sizeof(r.hash));
	snprintf(name, sizeof(name), "base %.12s", hash);
	ensure_content(hash, -1, name, true);
	lm = load(name, &r, &status, err, sizeof(err));
	if (lm == NULL)
		pgb_model_error(name, status, err);
	if (lm->model.overlay)
	{
		pgb_close_model(lm);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the base model %.12s is an overlay itself", hash),
				 errdetail("An overlay's base is a complete model.")));
	}
	return lm;
}

void
pgb_close_model(LoadedModel *lm)
{
	free_model(lm);
}

/* ---------------------------------------------------------------------------
 * The catalogue's view of a model
 */

/* Bytes of the mapping at base (size bytes) that are in memory. */
static int64
resident_bytes(const void *base, size_t size)
{
	long		page = sysconf(_SC_PAGESIZE);
	size_t		pages = (size + page - 1) / page;
	unsigned char *vec = palloc(pages);
	int64		n = 0;

	if (mincore((void *) base, size, vec) != 0)
	{
		pfree(vec);
		return -1;
	}
	for (size_t i = 0; i < pages; i++)
		if (vec[i] & 1)
			n += page;
	pfree(vec);
	return n > (int64) size ? (int64) size : n;
}

void
pgb_model_usage(const char *name, const char *hash, bool stored, BertModelInfo *info)
{
	size_t		size;
	void	   *map;

	memset(info, 0, sizeof(*info));
	info->bytes_in_cache = -1;
	info->bytes_resident = -1;
	map = is_hash_name(hash, strlen(hash)) ? map_snapshot(hash, &size) : NULL;
	if (map != NULL)
	{
		info->bytes_in_cache = (int64) size;
		info->bytes_resident = resident_bytes(map, size);
		munmap(map, size);
	}
	info->loaded = pgb_stats_read(name, hash, stored, &info->loaded_since,
								  &info->calls, &info->tokens);
}

/* ---------------------------------------------------------------------------
 * Collection
 */

static bool
in_list(List *hashes, const char *hash)
{
	ListCell   *lc;

	foreach(lc, hashes)
		if (strcmp(lfirst(lc), hash) == 0)
		return true;
	return false;
}

/* The hashes of the shipped files we have hashed (nothing is hashed here). */
static List *
shipped_hashes(void)
{
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	List	   *out = NIL;

	pgb_shipped_dir(dir, sizeof(dir));
	d = AllocateDir(dir);
	while (d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char		path[MAXPGPATH],
					h[BERT_HASH_HEX + 1];
		struct stat st;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && read_memo(file_key(&st), h))
			out = lappend(out, pstrdup(h));
	}
	if (d != NULL)
		FreeDir(d);
	return out;
}

/* A temporary file NAME.tmp.PID of a writer that is gone. */
static bool
dead_writers_file(const char *dir, const char *file)
{
	const char *p = strstr(file, ".tmp.");
	char		path[MAXPGPATH];
	struct stat st;
	int			pid;

	if (p == NULL || (pid = atoi(p + 5)) <= 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (stat(path, &st) != 0)
		return false;
	/* older than the server, or its process is gone */
	return (st.st_mtime < timestamptz_to_time_t(PgStartTime)) ||
		(kill(pid, 0) != 0 && errno == ESRCH);
}

/* Remove the temporary files of writers that died, in the cache and its memos. */
static void
remove_dead_writers_files(void)
{
	const char *subs[] = {"", "shipped"};

	for (int i = 0; i < 2; i++)
	{
		char		dir[MAXPGPATH];
		DIR		   *d;
		struct dirent *de;

		cache_path(dir, "%s", subs[i]);
		d = AllocateDir(dir);
		while (d != NULL && (de = ReadDirExtended(d, dir, DEBUG1)) != NULL)
		{
			char		path[MAXPGPATH];

			if (strstr(de->d_name, ".tmp.") == NULL || !dead_writers_file(dir, de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		if (d != NULL)
			FreeDir(d);
	}
}

/* Does any database claim hash? */
static bool
claimed(const char *hash)
{
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	bool		found = false;

	cache_path(dir, "claims");
	d = AllocateDir(dir);
	while (!found && d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name, hash);
		found = stat(path, &st) == 0;
	}
	if (d != NULL)
		FreeDir(d);
	return found;
}

/* Remove the directory path and the files in it. */
static void
remove_dir(const char *path)
{
	DIR		   *d = AllocateDir(path);
	struct dirent *de;

	while (d != NULL && (de = ReadDirExtended(d, path, LOG)) != NULL)
	{
		char		file[MAXPGPATH];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		unlink(file);
	}
	if (d != NULL)
		FreeDir(d);
	rmdir(path);
}

void
pgb_cache_collect(void)
{
	char		dir[MAXPGPATH],
				path[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	List	   *in_use;
	struct stat st;

	cache_path(dir, "%s", "");
	if (stat(dir, &st) != 0 || !OidIsValid(MyDatabaseId))
		return;
	in_use = list_concat(pgb_registry_hashes(), shipped_hashes());

	/* this database's claims on what it no longer names */
	cache_path(path, "claims/%u", MyDatabaseId);
	d = AllocateDir(path);
	while (d != NULL && (de = ReadDirExtended(d, path, LOG)) != NULL)
	{
		char		file[MAXPGPATH];

		if (!is_hash_name(de->d_name, strlen(de->d_name)) || in_list(in_use, de->d_name))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		unlink(file);
	}
	if (d != NULL)
		FreeDir(d);

	/* claims of databases that were dropped */
	cache_path(path, "claims");
	d = AllocateDir(path);
	while (d != NULL && (de = ReadDirExtended(d, path, LOG)) != NULL)
	{
		char	   *end;
		unsigned long dboid = strtoul(de->d_name, &end, 10);
		char		sub[MAXPGPATH];

		if (de->d_name[0] == '.' || *end != '\0' || dboid == 0)
			continue;
		if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum((Oid) dboid)))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		remove_dir(sub);
	}
	if (d != NULL)
		FreeDir(d);

	/* snapshots nobody claims, dead writers' files, 0.1.0's snapshots */
	d = AllocateDir(dir);
	while (d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (len == BERT_HASH_HEX + 5 && strcmp(de->d_name + BERT_HASH_HEX, ".bert") == 0 &&
			is_hash_name(de->d_name, BERT_HASH_HEX))
		{
			char		hash[BERT_HASH_HEX + 1];
			int			lockfd;

			strlcpy(hash, de->d_name, sizeof(hash));
			if (claimed(hash))
				continue;
			/* under its lock: a loader claims before it looks */
			lockfd = lock_hash(hash);
			if (!claimed(hash))
				unlink(path);	/* mappings of it stay valid */
			pgb_unlock_file(lockfd);
		}
		else if ((len > 5 && strcmp(de->d_name + len - 5, ".bert") == 0) ||
				 (len > 5 && strcmp(de->d_name + len - 5, ".lock") == 0))
			unlink(path);		/* 0.1.0's NAME.KEY.bert and NAME.lock */
	}
	if (d != NULL)
		FreeDir(d);

	remove_dead_writers_files();

	/* counters of this database's models that are gone */
	pgb_stats_forget(in_use);
}

/* ---------------------------------------------------------------------------
 * Preload
 */

/*
 * In the postmaster (shared_preload_libraries): load each listed shipped
 * model so that backends inherit the mapping (they check, on first use,
 * that their database does not store a model of that name).  There is no
 * database here, so models stored in a registry cannot be preloaded.  A
 * model that fails is reported and skipped; the server still starts.  Only
 * the weights are mapped: no BLIS, no threads in the postmaster.
 *
 * The postmaster has no resource owner, and hashing a shipped file needs one
 * (pg_cryptohash_create registers its context there): lend it one for the
 * duration.
 */
void
pgb_cache_preload(void)
{
	char	   *copy;
	List	   *names;
	ListCell   *lc;
	ResourceOwner owner;
	ResourceOwner saved = CurrentResourceOwner;

	if (!process_shared_preload_libraries_in_progress ||
		bert_preload_models == NULL || bert_preload_models[0] == '\0')
		return;
	copy = pstrdup(bert_preload_models);
	if (!SplitGUCList(copy, ',', &names))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in \"bert.preload_models\"")));
		return;
	}
	owner = ResourceOwnerCreate(NULL, "bert preload");
	CurrentResourceOwner = owner;
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		MemoryContext oldcxt = CurrentMemoryContext;

		PG_TRY();
		{
			LoadedModel *lm = pgb_get_model(name);

			lm->verified = false;
			ereport(LOG,
					(errmsg("bert: preloaded model \"%s\" (%zu bytes)", name, lm->model.size)));
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(oldcxt);
			EmitErrorReport();
			FlushErrorState();
		}
		PG_END_TRY();
	}
	/* not a commit: what a failed load left registered is released quietly */
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_LOCKS, false, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_AFTER_LOCKS, false, true);
	CurrentResourceOwner = saved;
	ResourceOwnerDelete(owner);
}
