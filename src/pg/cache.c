/*
 * cache.c — one copy of each model's weights per server.
 *
 * The first backend that uses a model copies its file into a snapshot under
 * $PGDATA/pg_bert/cache/ (taking a file lock, writing NAME.KEY.tmp.PID,
 * validating it, fsyncing and renaming it into place), and every backend maps
 * that snapshot read-only and shared: all of them use the same page-cache
 * pages, and nothing is copied or converted per backend.  The snapshot is
 * private to the server, so an administrator replacing, truncating or
 * deleting the installed file cannot pull pages from under a running query
 * (no SIGBUS); the KEY (device, inode, size, mtime of the installed file)
 * makes a changed file a new snapshot.
 *
 * Shared counters (calls, tokens, load time) and a generation number bumped
 * by install/drop live in $PGDATA/pg_bert/stats, a small file every backend
 * maps shared; this works without shared_preload_libraries.  With it,
 * bert.preload_models maps models in the postmaster, and backends inherit
 * the mapping when they fork.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "cache.h"
#include "encoder.h"
#include "model.h"
#include "store.h"
#include "util.h"

#define STATS_MAGIC 0x42455254	/* "BERT" */
#define STATS_VERSION 1
#define STATS_SLOTS 64

typedef struct StatsSlot
{
	char		name[BERT_MODEL_NAME_MAX + 8];	/* "" = free */
	uint64		key;			/* snapshot in use */
	TimestampTz loaded_at;
	uint64		calls;
	uint64		tokens;
} StatsSlot;

typedef struct StatsFile
{
	uint32		magic;
	uint32		version;
	int32		postmaster_pid; /* counters restart with the server */
	uint32		n_slots;
	uint64		generation;		/* bumped by install and drop */
	StatsSlot	slots[STATS_SLOTS];
} StatsFile;

static char *bert_preload_models = NULL;

static StatsFile *stats = NULL;
static uint64 seen_generation = 0;
static LoadedModel *loaded_models = NULL;

void
pgb_cache_init(void)
{
	/*
	 * PGC_POSTMASTER settings can only exist when loaded at server start;
	 * otherwise the setting still exists (SHOW works, SET says it cannot be
	 * changed now) but is only read at server start, so it does nothing.
	 */
	DefineCustomStringVariable("bert.preload_models",
							   "Comma-separated models to load at server start.",
							   "Needs bert in shared_preload_libraries.",
							   &bert_preload_models,
							   "",
							   process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);
}

/* An exclusive lock on path (created if needed); returns the fd to close. */
static int
lock_file(const char *path)
{
	int			fd = BasicOpenFilePerm(path, O_RDWR | O_CREAT, S_IRUSR | S_IWUSR);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open lock file \"%s\": %m", path)));
	while (flock(fd, LOCK_EX) != 0)
	{
		if (errno == EINTR)
		{
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		close(fd);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not lock file \"%s\": %m", path)));
	}
	return fd;
}

static void
unlock_file(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

/* Map the shared counters file, creating or resetting it as needed. */
static void
stats_attach(void)
{
	char		dir[MAXPGPATH],
				path[MAXPGPATH];
	int			fd;
	struct stat st;
	void	   *map;

	if (stats != NULL)
		return;
	pgb_data_path(dir, sizeof(dir), NULL);
	pgb_make_dir(dir);
	pgb_data_path(path, sizeof(path), "stats");
	fd = lock_file(path);
	if (fstat(fd, &st) != 0 ||
		(st.st_size != sizeof(StatsFile) && ftruncate(fd, sizeof(StatsFile)) != 0))
	{
		int			save = errno;

		unlock_file(fd);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not size file \"%s\": %m", path)));
	}
	map = mmap(NULL, sizeof(StatsFile), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
	{
		int			save = errno;

		unlock_file(fd);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not map file \"%s\": %m", path)));
	}
	stats = map;
	if (stats->magic != STATS_MAGIC || stats->version != STATS_VERSION ||
		stats->postmaster_pid != (int32) PostmasterPid || stats->n_slots != STATS_SLOTS)
	{
		uint64		generation = stats->magic == STATS_MAGIC ? stats->generation : 0;

		memset(stats, 0, sizeof(StatsFile));
		stats->magic = STATS_MAGIC;
		stats->version = STATS_VERSION;
		stats->postmaster_pid = (int32) PostmasterPid;
		stats->n_slots = STATS_SLOTS;
		stats->generation = generation + 1;
	}
	unlock_file(fd);
	seen_generation = __atomic_load_n(&stats->generation, __ATOMIC_ACQUIRE);
}

/* The counters slot of a model, claimed if new; -1 if all are taken. */
static int
stats_slot(const char *name, uint64 key)
{
	char		path[MAXPGPATH];
	int			fd;
	int			slot = -1;

	pgb_data_path(path, sizeof(path), "stats");
	fd = lock_file(path);
	for (int i = 0; i < STATS_SLOTS; i++)
		if (strcmp(stats->slots[i].name, name) == 0)
		{
			slot = i;
			break;
		}
	if (slot < 0)
		for (int i = 0; i < STATS_SLOTS; i++)
			if (stats->slots[i].name[0] == '\0')
			{
				slot = i;
				strlcpy(stats->slots[i].name, name, sizeof(stats->slots[i].name));
				stats->slots[i].key = 0;
				break;
			}
	if (slot >= 0 && stats->slots[slot].key != key)
	{
		StatsSlot  *s = &stats->slots[slot];

		s->key = key;
		s->loaded_at = GetCurrentTimestamp();
		__atomic_store_n(&s->calls, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->tokens, 0, __ATOMIC_RELAXED);
	}
	unlock_file(fd);
	return slot;
}

/* Free the counters slot of a dropped model, for the next model to use. */
static void
stats_release(const char *name)
{
	char		path[MAXPGPATH];
	int			fd;

	stats_attach();
	pgb_data_path(path, sizeof(path), "stats");
	fd = lock_file(path);
	for (int i = 0; i < STATS_SLOTS; i++)
		if (strcmp(stats->slots[i].name, name) == 0)
			memset(&stats->slots[i], 0, sizeof(StatsSlot));
	unlock_file(fd);
}

static uint64
file_key(const struct stat *st)
{
	uint64		parts[5] = {(uint64) st->st_dev, (uint64) st->st_ino, (uint64) st->st_size,
	(uint64) st->st_mtim.tv_sec, (uint64) st->st_mtim.tv_nsec};

	return hash_bytes_extended((const unsigned char *) parts, sizeof(parts), 0);
}

/* Remove files in dir named PREFIX* except keep (may be NULL). */
static void
remove_files(const char *dir, const char *prefix, const char *keep)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	size_t		plen = strlen(prefix);

	while ((de = ReadDir(d, dir)) != NULL)
	{
		char		path[MAXPGPATH];

		if (strncmp(de->d_name, prefix, plen) != 0 ||
			(keep != NULL && strcmp(de->d_name, keep) == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);			/* mappings of it stay valid */
	}
	FreeDir(d);
}

/*
 * Make sure the snapshot of the installed file exists; return its path.
 * Holding NAME.lock, only one backend copies; the others wait, then map it.
 */
static void
ensure_snapshot(const char *name, const char *src, uint64 key, char *snap)
{
	char		dir[MAXPGPATH],
				lock[MAXPGPATH],
				tmp[MAXPGPATH],
				file[MAXPGPATH],
				prefix[MAXPGPATH],
				keep[MAXPGPATH];
	int			lockfd;
	struct stat st;

	pgb_data_path(dir, sizeof(dir), "cache");
	snprintf(file, sizeof(file), "%s.%016llx.bert", name, (unsigned long long) key);
	snprintf(snap, MAXPGPATH, "%s/%s", dir, file);
	if (stat(snap, &st) == 0)
		return;

	pgb_make_dir(dir);
	snprintf(lock, sizeof(lock), "%s/%s.lock", dir, name);
	lockfd = lock_file(lock);
	PG_TRY();
	{
		if (stat(snap, &st) != 0)
		{
			/* older snapshots of this model and dead writers' leftovers */
			snprintf(prefix, sizeof(prefix), "%s.", name);
			snprintf(keep, sizeof(keep), "%s.lock", name);
			remove_files(dir, prefix, keep);
			snprintf(tmp, sizeof(tmp), "%s/%s.tmp.%d", dir, file, MyProcPid);
			pgb_validate_model_file(name, src);	/* fail fast, before copying */
			pgb_copy_file(src, tmp);
			pgb_publish_model_file(name, tmp, snap);
		}
	}
	PG_FINALLY();
	{
		unlock_file(lockfd);
	}
	PG_END_TRY();
}

static void
forget_models(void)
{
	while (loaded_models != NULL)
	{
		LoadedModel *lm = loaded_models;

		loaded_models = lm->next;
		bcore_run_state_free(&lm->state);
		bcore_model_close(&lm->model);
		pfree(lm);
	}
}

LoadedModel *
pgb_get_model(const char *name)
{
	LoadedModel *lm;
	char		src[MAXPGPATH],
				snap[MAXPGPATH],
				err[512];
	struct stat st;
	uint64		key;
	BertModel	model;
	BertModelStatus status;

	stats_attach();
	/* an install or drop anywhere in the server: look models up again */
	if (__atomic_load_n(&stats->generation, __ATOMIC_ACQUIRE) != seen_generation)
	{
		forget_models();
		seen_generation = __atomic_load_n(&stats->generation, __ATOMIC_ACQUIRE);
	}
	for (lm = loaded_models; lm != NULL; lm = lm->next)
		if (strcmp(lm->name, name) == 0)
			return lm;

	pgb_check_model_name(name);
	if (!pgb_find_model_file(name, src, &st))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not installed", name),
				 errdetail("There is no file \"%s.bert\" in the models directories.", name)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("could not load model \"%s\"", name),
				 errdetail("\"%s\" is not a regular file.", src)));
	key = file_key(&st);
	ensure_snapshot(name, src, key, snap);

	status = bcore_model_open(snap, &model, err, sizeof(err));
	if (status != BERT_MODEL_OK)
		pgb_model_error(name, status, err);

	lm = MemoryContextAllocZero(TopMemoryContext, sizeof(LoadedModel));
	strlcpy(lm->name, name, sizeof(lm->name));
	lm->model = model;
	lm->slot = stats_slot(name, key);
	lm->next = loaded_models;
	loaded_models = lm;
	return lm;
}

void
pgb_count_use(LoadedModel *lm, int64 tokens)
{
	if (stats == NULL || lm->slot < 0)
		return;
	__atomic_add_fetch(&stats->slots[lm->slot].calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&stats->slots[lm->slot].tokens, (uint64) tokens, __ATOMIC_RELAXED);
}

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
pgb_model_usage(const char *name, const char *path, BertModelInfo *info)
{
	struct stat st;
	char		snap[MAXPGPATH],
				dir[MAXPGPATH];
	int			fd;

	memset(info, 0, sizeof(*info));
	info->bytes_resident = -1;
	stats_attach();
	if (stat(path, &st) != 0)
		return;
	info->bytes_on_disk = st.st_size;

	pgb_data_path(dir, sizeof(dir), "cache");
	snprintf(snap, sizeof(snap), "%s/%s.%016llx.bert", dir, name,
			 (unsigned long long) file_key(&st));
	fd = BasicOpenFile(snap, O_RDONLY);
	if (fd >= 0)
	{
		struct stat ss;

		if (fstat(fd, &ss) == 0 && ss.st_size > 0)
		{
			void	   *map = mmap(NULL, ss.st_size, PROT_READ, MAP_SHARED, fd, 0);

			if (map != MAP_FAILED)
			{
				info->bytes_resident = resident_bytes(map, ss.st_size);
				munmap(map, ss.st_size);
			}
		}
		close(fd);
	}
	for (int i = 0; i < STATS_SLOTS; i++)
		if (strcmp(stats->slots[i].name, name) == 0 && stats->slots[i].key == file_key(&st))
		{
			info->loaded = true;
			info->loaded_since = stats->slots[i].loaded_at;
			info->calls = (int64) __atomic_load_n(&stats->slots[i].calls, __ATOMIC_RELAXED);
			info->tokens = (int64) __atomic_load_n(&stats->slots[i].tokens, __ATOMIC_RELAXED);
		}
}

/* A dropped model: its snapshots go (mappings of them stay valid), its slot frees. */
void
pgb_cache_forget_model(const char *name)
{
	char		dir[MAXPGPATH],
				prefix[MAXPGPATH],
				keep[MAXPGPATH];

	pgb_data_path(dir, sizeof(dir), "cache");
	snprintf(prefix, sizeof(prefix), "%s.", name);
	snprintf(keep, sizeof(keep), "%s.lock", name);
	if (access(dir, F_OK) == 0)
		remove_files(dir, prefix, keep);
	stats_release(name);
}

/* Bump the generation: every backend forgets its models at its next lookup. */
void
pgb_cache_invalidate(void)
{
	stats_attach();
	__atomic_add_fetch(&stats->generation, 1, __ATOMIC_ACQ_REL);
}

/*
 * In the postmaster (shared_preload_libraries): load each listed model so
 * that backends inherit the mapping.  A model that fails is reported and
 * skipped; the server still starts.  Only the weights are mapped here: no
 * BLIS, no threads in the postmaster.
 */
void
pgb_cache_preload(void)
{
	char	   *copy;
	List	   *names;
	ListCell   *lc;

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
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		MemoryContext oldcxt = CurrentMemoryContext;

		PG_TRY();
		{
			LoadedModel *lm = pgb_get_model(name);

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
}
