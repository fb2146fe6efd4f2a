/*
 * stats.c — usage counters of models (calls, tokens, load time; per
 * database and name for a stored model, per name for a shipped one) in
 * $PGDATA/pg_bert/stats, a small file every backend maps shared; this works
 * without shared_preload_libraries.  Counters restart with the server.
 * Uses store.
 */
#include "postgres.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "stats.h"
#include "store.h"

#define STATS_MAGIC 0x42455254	/* "BERT" */
#define STATS_VERSION 2
#define STATS_SLOTS 256

typedef struct StatsSlot
{
	Oid			dboid;
	char		name[BERT_MODEL_NAME_MAX + 4];	/* "" = free */
	uint64		key;			/* the content in use (its hash's first bytes) */
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
	StatsSlot	slots[STATS_SLOTS];
} StatsFile;

static StatsFile *stats = NULL;


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
	fd = pgb_lock_file(path);
	if (fstat(fd, &st) != 0 ||
		(st.st_size != sizeof(StatsFile) && ftruncate(fd, sizeof(StatsFile)) != 0))
		pgb_close_and_error(fd, "size", path);	/* the close drops the flock */
	map = mmap(NULL, sizeof(StatsFile), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		pgb_close_and_error(fd, "map", path);
	stats = map;
	if (stats->magic != STATS_MAGIC || stats->version != STATS_VERSION ||
		stats->postmaster_pid != (int32) PostmasterPid || stats->n_slots != STATS_SLOTS)
	{
		memset(stats, 0, sizeof(StatsFile));
		stats->magic = STATS_MAGIC;
		stats->version = STATS_VERSION;
		stats->postmaster_pid = (int32) PostmasterPid;
		stats->n_slots = STATS_SLOTS;
	}
	pgb_unlock_file(fd);
}

/* The counters file mapped and locked; returns the fd to unlock. */
static int
stats_lock(void)
{
	char		path[MAXPGPATH];

	stats_attach();
	pgb_data_path(path, sizeof(path), "stats");
	return pgb_lock_file(path);
}

static uint64
hash_key(const char *hash)
{
	uint8		sha[BERT_SHA256_LEN];
	uint64		key = 0;

	if (pgb_sha256_parse(hash, sha))
		memcpy(&key, sha, sizeof(key));
	return key;
}

/*
 * Whose counters: a stored model's are its database's (another database may
 * store other weights under the name); a shipped model's are the server's,
 * as the file is, so that one preloaded in the postmaster counts too.
 */
static Oid
counter_db(bool stored)
{
	return stored ? MyDatabaseId : InvalidOid;
}

/* The counters slot of a model, claimed if new; -1 if all are taken. */
int
pgb_stats_slot(const char *name, const char *hash, bool stored)
{
	int			fd;
	int			slot = -1;
	uint64		key = hash_key(hash);
	Oid			dboid = counter_db(stored);

	fd = stats_lock();
	for (int i = 0; i < STATS_SLOTS; i++)
		if (stats->slots[i].name[0] != '\0' && stats->slots[i].dboid == dboid &&
			strcmp(stats->slots[i].name, name) == 0)
		{
			slot = i;
			break;
		}
	if (slot < 0)
		for (int i = 0; i < STATS_SLOTS; i++)
			if (stats->slots[i].name[0] == '\0')
			{
				slot = i;
				stats->slots[i].dboid = dboid;
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
	pgb_unlock_file(fd);
	return slot;
}

void
pgb_stats_count(int slot, int64 tokens)
{
	if (stats == NULL || slot < 0)
		return;
	__atomic_add_fetch(&stats->slots[slot].calls, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&stats->slots[slot].tokens, (uint64) tokens, __ATOMIC_RELAXED);
}

void
pgb_stats_reset(const char *name)
{
	int			fd;

	fd = stats_lock();
	for (int i = 0; i < STATS_SLOTS; i++)
	{
		StatsSlot  *s = &stats->slots[i];

		if (s->name[0] != '\0' && (s->dboid == MyDatabaseId || s->dboid == InvalidOid) &&
			(name == NULL || strcmp(s->name, name) == 0))
		{
			__atomic_store_n(&s->calls, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->tokens, 0, __ATOMIC_RELAXED);
		}
	}
	pgb_unlock_file(fd);
}

bool
pgb_stats_read(const char *name, const char *hash, bool stored, TimestampTz *loaded_at,
			   int64 *calls, int64 *tokens)
{
	uint64		key = hash_key(hash);
	Oid			dboid = counter_db(stored);
	bool		found = false;

	stats_attach();
	for (int i = 0; i < STATS_SLOTS; i++)
		if (stats->slots[i].name[0] != '\0' && stats->slots[i].dboid == dboid &&
			strcmp(stats->slots[i].name, name) == 0 && stats->slots[i].key == key)
		{
			found = true;
			*loaded_at = stats->slots[i].loaded_at;
			*calls = (int64) __atomic_load_n(&stats->slots[i].calls, __ATOMIC_RELAXED);
			*tokens = (int64) __atomic_load_n(&stats->slots[i].tokens, __ATOMIC_RELAXED);
		}
	return found;
}

void
pgb_stats_forget(List *in_use)
{
	int			fd;

	fd = stats_lock();
	for (int i = 0; i < STATS_SLOTS; i++)
	{
		StatsSlot  *s = &stats->slots[i];
		bool		used = false;
		ListCell   *lc;

		if (s->name[0] == '\0' || s->dboid != MyDatabaseId)
			continue;
		foreach(lc, in_use)
			if (hash_key(lfirst(lc)) == s->key)
			used = true;
		if (!used)
			memset(s, 0, sizeof(StatsSlot));
	}
	pgb_unlock_file(fd);
}
