/*
 * registry.c — a database's models in its own tables.
 *
 *   _bert.model        a row per installed or trained name: its content hash
 *                      (SHA-256 of its model file), an overlay's base hash,
 *                      kind, configuration, labels, sizes, who and when
 *   _bert.model_chunk  the bytes of each content, a megabyte per row, shared
 *                      by every name with the same content
 *
 * Both are extension configuration tables, so pg_dump carries them; being
 * tables, they are transactional and replicated.  Nobody but the
 * extension's owner may read or write them: the functions here switch to
 * that owner (SECURITY_LOCAL_USERID_CHANGE, restored on error by the
 * transaction machinery) and run schema-qualified SQL through SPI, so
 * neither the caller's privileges nor search_path matter.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "registry.h"
#include "store.h"

/*
 * A megabyte per row: big enough that a model is a few hundred rows, small
 * enough that a load streams and no datum approaches the 1 GB limit.
 */
#define CHUNK_BYTES (1 << 20)
#define FETCH_CHUNKS 4

#define CITUS_NESTED_GUC "citus.allow_nested_distributed_execution"

static Oid	registry_relid = InvalidOid;

Oid
pgb_registry_relid(void)
{
	Oid			nsp;

	if (OidIsValid(registry_relid))
		return registry_relid;
	/* the postmaster (preload) has no database, so no registry */
	if (!OidIsValid(MyDatabaseId) || !IsTransactionState())
		return InvalidOid;
	nsp = get_namespace_oid("_bert", true);
	if (OidIsValid(nsp))
		registry_relid = get_relname_relid("model", nsp);
	return registry_relid;
}

void
pgb_registry_forget_relid(void)
{
	registry_relid = InvalidOid;
}

Oid
pgb_registry_cached_relid(void)
{
	return registry_relid;
}

/* The registry's relation, or an ERROR saying the extension is not complete. */
static Oid
registry_relid_or_error(void)
{
	Oid			relid = pgb_registry_relid();

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this database has no model registry"),
				 errdetail("The table _bert.model does not exist."),
				 errhint("Run ALTER EXTENSION bert UPDATE.")));
	return relid;
}

typedef struct OwnerScope
{
	Oid			save_user;
	int			save_sec;
	int			guc_level;		/* 0: no setting changed */
	bool		pushed;
} OwnerScope;

/*
 * Become the registry's owner and connect to SPI.  An ERROR inside unwinds
 * both: (sub)transaction abort restores the user and closes SPI.
 *
 * A reader may run inside a Citus task on a shard (bert_embed in a
 * distributed query), where Citus refuses queries on its tables unless
 * citus.allow_nested_distributed_execution is on; the registry, once a
 * reference table (bert_distribute_models), has a copy on the node and does
 * not move, so readers turn it on for their own statements.
 */
static void
owner_begin(OwnerScope *s, bool reader)
{
	Oid			relid = registry_relid_or_error();
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
	{
		pgb_registry_forget_relid();
		elog(ERROR, "bert: cache lookup failed for relation %u", relid);
	}
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	s->guc_level = 0;
	if (reader && GetConfigOption(CITUS_NESTED_GUC, true, false) != NULL)
	{
		s->guc_level = NewGUCNestLevel();
		(void) set_config_option(CITUS_NESTED_GUC, "on", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	GetUserIdAndSecContext(&s->save_user, &s->save_sec);
	SetUserIdAndSecContext(owner, s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "bert: SPI_connect failed");
	/* reads inside an expression may come before any snapshot is set */
	s->pushed = !ActiveSnapshotSet();
	if (s->pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
}

static void
owner_end(OwnerScope *s)
{
	if (s->pushed)
		PopActiveSnapshot();
	SPI_finish();
	SetUserIdAndSecContext(s->save_user, s->save_sec);
	if (s->guc_level > 0)
		AtEOXact_GUC(true, s->guc_level);
}

/*
 * Run sql with its arguments: a read with the current snapshot, or (latest)
 * a writer's statement with the latest one.  Returns SPI's result code,
 * ERROR unless it is expect.
 */
static int
run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
	bool latest, int expect)
{
	int			rc;

	if (latest)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			elog(ERROR, "bert: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		rc = SPI_execute_snapshot(plan, values, nulls, GetLatestSnapshot(), InvalidSnapshot,
								  false, true, 0);
	}
	else
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, true, 0);
	if (rc != expect)
		elog(ERROR, "bert: registry query failed (%s): %s", SPI_result_code_string(rc), sql);
	return rc;
}

static char *
get_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static Datum
get_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/* Fill hash and base_hash of m from columns col and col + 1 of row 0. */
static void
get_hashes(PgbStoredModel *m, int col)
{
	char	   *h = get_text(0, col);
	char	   *b = get_text(0, col + 1);

	strlcpy(m->hash, h ? h : "", sizeof(m->hash));
	strlcpy(m->base_hash, b ? b : "", sizeof(m->base_hash));
}

bool
pgb_registry_lookup(const char *name, PgbStoredModel *m)
{
	OwnerScope	s;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		found;

	memset(m, 0, sizeof(*m));
	if (!OidIsValid(pgb_registry_relid()))
		return false;
	owner_begin(&s, true);
	run("SELECT content_hash, base_hash, bytes FROM _bert.model WHERE name OPERATOR(pg_catalog.=) $1",
		1, types, values, NULL, false, SPI_OK_SELECT);
	found = SPI_processed == 1;
	if (found)
	{
		bool		isnull;

		strlcpy(m->name, name, sizeof(m->name));
		get_hashes(m, 1);
		m->bytes = DatumGetInt64(get_datum(0, 3, &isnull));
	}
	owner_end(&s);
	return found;
}

#define LIST_COLUMNS "name, kind, content_hash, base_hash, base_name, bytes, layers, hidden, heads, " \
	"vocab_size, max_positions, max_seq_len, labels, pooling, normalized, source, installed_by, " \
	"installed_at"

/* Row i of a listing (LIST_COLUMNS, then the bytes in the database) into m, in the caller's memory. */
static void
get_row(int i, PgbStoredModel *m, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		isnull;
	char	   *s;
	Datum		d;

	memset(m, 0, sizeof(*m));
	strlcpy(m->name, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), sizeof(m->name));
	m->kind = get_text(i, 2);
	s = get_text(i, 3);
	strlcpy(m->hash, s ? s : "", sizeof(m->hash));
	s = get_text(i, 4);
	strlcpy(m->base_hash, s ? s : "", sizeof(m->base_hash));
	m->base_name = get_text(i, 5);
	m->bytes = DatumGetInt64(get_datum(i, 6, &isnull));
	m->layers = DatumGetInt32(get_datum(i, 7, &isnull));
	m->hidden = DatumGetInt32(get_datum(i, 8, &isnull));
	m->heads = DatumGetInt32(get_datum(i, 9, &isnull));
	m->vocab_size = DatumGetInt32(get_datum(i, 10, &isnull));
	m->max_positions = DatumGetInt32(get_datum(i, 11, &isnull));
	m->max_seq_len = DatumGetInt32(get_datum(i, 12, &isnull));
	d = get_datum(i, 13, &isnull);
	m->labels = isnull ? NULL : DatumGetArrayTypePCopy(d);
	m->pooling = get_text(i, 14);
	m->normalized = DatumGetBool(get_datum(i, 15, &isnull));
	m->source = get_text(i, 16);
	m->installed_by = get_text(i, 17);
	m->installed_at = DatumGetTimestampTz(get_datum(i, 18, &isnull));
	d = get_datum(i, 19, &isnull);
	m->bytes_in_database = isnull ? 0 : DatumGetInt64(d);
	MemoryContextSwitchTo(old);
}

/*
 * A list of one element per row of sql (no arguments), made by make_row in
 * the caller's memory context; NIL before the registry exists.  The list
 * is built there too: SPI_finish frees SPI's own context.
 */
static List *
select_list(const char *sql, void *(*make_row) (int row, MemoryContext cxt))
{
	OwnerScope	s;
	List	   *out = NIL;
	MemoryContext cxt = CurrentMemoryContext;

	if (!OidIsValid(pgb_registry_relid()))
		return NIL;
	owner_begin(&s, true);
	run(sql, 0, NULL, NULL, NULL, false, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		void	   *row = make_row((int) i, cxt);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		out = lappend(out, row);
		MemoryContextSwitchTo(old);
	}
	owner_end(&s);
	return out;
}

static void *
model_row(int row, MemoryContext cxt)
{
	PgbStoredModel *m = MemoryContextAlloc(cxt, sizeof(PgbStoredModel));

	get_row(row, m, cxt);
	return m;
}

static void *
text_row(int row, MemoryContext cxt)
{
	return MemoryContextStrdup(cxt, get_text(row, 1));
}

List *
pgb_registry_list(void)
{
	return select_list("SELECT " LIST_COLUMNS ", "
					   "(SELECT pg_catalog.sum(pg_catalog.pg_column_size(c.data))::pg_catalog.int8 "
					   " FROM _bert.model_chunk c WHERE c.content_hash OPERATOR(pg_catalog.=) m.content_hash) "
					   "FROM _bert.model m ORDER BY name COLLATE pg_catalog.\"C\"",
					   model_row);
}

List *
pgb_registry_hashes(void)
{
	return select_list("SELECT content_hash FROM _bert.model UNION "
					   "SELECT base_hash FROM _bert.model WHERE base_hash IS NOT NULL",
					   text_row);
}

/* Count and total bytes of the chunks of hash; the latest snapshot if latest. */
static void
content_size(const char *hash, bool latest, int64 *count, int64 *bytes)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(hash)};
	bool		isnull;

	run("SELECT pg_catalog.count(*), "
		"COALESCE(pg_catalog.sum(pg_catalog.octet_length(data)), 0)::pg_catalog.int8 "
		"FROM _bert.model_chunk WHERE content_hash OPERATOR(pg_catalog.=) $1",
		1, types, values, NULL, latest, SPI_OK_SELECT);
	*count = DatumGetInt64(get_datum(0, 1, &isnull));
	*bytes = DatumGetInt64(get_datum(0, 2, &isnull));
}

static int64
chunks_for(int64 bytes)
{
	return (bytes + CHUNK_BYTES - 1) / CHUNK_BYTES;
}

int64
pgb_registry_content_bytes(const char *hash)
{
	OwnerScope	s;
	int64		count,
				total;

	if (!OidIsValid(pgb_registry_relid()))
		return -1;
	owner_begin(&s, true);
	content_size(hash, false, &count, &total);
	owner_end(&s);
	return count > 0 && count == chunks_for(total) ? total : -1;
}

/* The stored bytes of some content are not what they should be. */
static void
content_missing(const char *hash, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the model content %.12s is damaged in the database", hash),
			 errdetail("%s", what)));
}

void
pgb_registry_read_content(const char *hash, int64 bytes,
						  void (*sink) (void *arg, const char *data, size_t len), void *arg)
{
	OwnerScope	s;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(hash)};
	Portal		portal;
	int32		next = 0;
	int64		total = 0;

	owner_begin(&s, true);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT seq, data FROM _bert.model_chunk "
									   "WHERE content_hash OPERATOR(pg_catalog.=) $1 ORDER BY seq",
									   1, types, values, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_CHUNKS);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int32		seq = DatumGetInt32(get_datum((int) i, 1, &isnull));
			Datum		d = get_datum((int) i, 2, &isnull);
			bytea	   *b;

			if (seq != next || isnull)
				content_missing(hash, psprintf("Chunk %d is missing.", next));
			b = DatumGetByteaPP(d);
			total += VARSIZE_ANY_EXHDR(b);
			if (total > bytes)
				content_missing(hash, psprintf("It has more than the %lld bytes recorded.", (long long) bytes));
			sink(arg, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
			if ((Pointer) b != DatumGetPointer(d))
				pfree(b);
			next++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	owner_end(&s);
	if (total != bytes)
		content_missing(hash, psprintf("It has %lld of the %lld bytes recorded.",
									   (long long) total, (long long) bytes));
}

/* Every writer of this database's registry waits here for the one before. */
static void
writer_lock(void)
{
	LockRelationOid(registry_relid_or_error(), ShareRowExclusiveLock);
}

void
pgb_registry_store_content(const char *hash, const char *path, int64 bytes)
{
	OwnerScope	s;
	int64		count,
				total;
	int			fd;
	char	   *buf;
	Oid			types[3] = {TEXTOID, INT4OID, BYTEAOID};
	Datum		values[3];

	writer_lock();
	owner_begin(&s, false);
	content_size(hash, true, &count, &total);
	if (count == chunks_for(bytes) && total == bytes)
	{
		/* the same weights under another name: stored once */
		owner_end(&s);
		return;
	}
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	buf = palloc(VARHDRSZ + CHUNK_BYTES);
	values[0] = CStringGetTextDatum(hash);
	PG_TRY();
	{
		for (int32 seq = 0; (int64) seq * CHUNK_BYTES < bytes; seq++)
		{
			size_t		want = (size_t) Min((int64) CHUNK_BYTES, bytes - (int64) seq * CHUNK_BYTES);
			size_t		got = 0;

			while (got < want)
			{
				ssize_t		n = pread(fd, buf + VARHDRSZ + got, want - got,
									  (off_t) seq * CHUNK_BYTES + (off_t) got);

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					ereport(ERROR,
							(errcode_for_file_access(),
							 errmsg("could not read file \"%s\": %m", path)));
				got += (size_t) n;
			}
			SET_VARSIZE(buf, VARHDRSZ + want);
			values[1] = Int32GetDatum(seq);
			values[2] = PointerGetDatum(buf);
			run("INSERT INTO _bert.model_chunk (content_hash, seq, data) VALUES ($1, $2, $3) "
				"ON CONFLICT DO NOTHING", 3, types, values, NULL, true, SPI_OK_INSERT);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		close(fd);
	}
	PG_END_TRY();
	pfree(buf);
	owner_end(&s);
}

/* Delete the chunks of hash if no row uses it (own content or base). */
static void
collect_content(const char *hash)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	if (hash == NULL || hash[0] == '\0')
		return;
	values[0] = CStringGetTextDatum(hash);
	run("DELETE FROM _bert.model_chunk WHERE content_hash OPERATOR(pg_catalog.=) $1 "
		"AND NOT EXISTS (SELECT FROM _bert.model m "
		"WHERE m.content_hash OPERATOR(pg_catalog.=) $1 OR m.base_hash OPERATOR(pg_catalog.=) $1)",
		1, types, values, NULL, true, SPI_OK_DELETE);
}

/*
 * Take the writers' lock, become the owner (s) and run sql with the model
 * name as $1: true if it gave a row, whose hashes go to old.
 */
static bool
writer_begin(OwnerScope *s, const char *sql, int expect, const char *name, PgbStoredModel *old)
{
	Oid			types[1] = {TEXTOID};
	Datum		key[1] = {CStringGetTextDatum(name)};

	writer_lock();
	owner_begin(s, false);
	run(sql, 1, types, key, NULL, true, expect);
	if (SPI_processed != 1)
		return false;
	get_hashes(old, 1);
	return true;
}

void
pgb_size_columns(Datum *v, int32 layers, int32 hidden, int32 heads, int32 vocab_size,
				 int32 max_positions, int32 max_seq_len)
{
	v[0] = Int32GetDatum(layers);
	v[1] = Int32GetDatum(hidden);
	v[2] = Int32GetDatum(heads);
	v[3] = Int32GetDatum(vocab_size);
	v[4] = Int32GetDatum(max_positions);
	v[5] = Int32GetDatum(max_seq_len);
}

static Datum
text_or_null(const char *s, char *nulls, int i)
{
	nulls[i] = (s == NULL || s[0] == '\0') ? 'n' : ' ';
	return nulls[i] == 'n' ? (Datum) 0 : CStringGetTextDatum(s);
}

PgbPutResult
pgb_registry_put(const PgbStoredModel *m, bool replace)
{
	OwnerScope	s;
	Oid			rtypes[18] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID,
		INT4OID, INT4OID, INT4OID, INT4OID, TEXTARRAYOID, TEXTOID, BOOLOID, TEXTOID, NAMEOID,
	TIMESTAMPTZOID};
	Datum		v[18];
	char		nulls[19];
	PgbStoredModel old;
	bool		exists;

	exists = writer_begin(&s, "SELECT content_hash, base_hash FROM _bert.model WHERE name OPERATOR(pg_catalog.=) $1",
						  SPI_OK_SELECT, m->name, &old);
	if (exists && !replace)
	{
		owner_end(&s);
		return PGB_PUT_EXISTS;
	}
	memset(nulls, ' ', sizeof(nulls));
	nulls[18] = '\0';
	v[0] = CStringGetTextDatum(m->name);
	v[1] = CStringGetTextDatum(m->kind);
	v[2] = CStringGetTextDatum(m->hash);
	v[3] = text_or_null(m->base_hash, nulls, 3);
	v[4] = text_or_null(m->base_name, nulls, 4);
	v[5] = Int64GetDatum(m->bytes);
	pgb_size_columns(v + 6, m->layers, m->hidden, m->heads, m->vocab_size, m->max_positions,
					 m->max_seq_len);
	v[12] = PointerGetDatum(m->labels);
	v[13] = CStringGetTextDatum(m->pooling);
	v[14] = BoolGetDatum(m->normalized);
	v[15] = text_or_null(m->source, nulls, 15);
	v[16] = DirectFunctionCall1(namein, CStringGetDatum(m->installed_by));
	v[17] = TimestampTzGetDatum(m->installed_at);
	if (exists)
		run("UPDATE _bert.model SET kind = $2, content_hash = $3, base_hash = $4, base_name = $5, "
			"bytes = $6, layers = $7, hidden = $8, heads = $9, vocab_size = $10, "
			"max_positions = $11, max_seq_len = $12, labels = $13, pooling = $14, "
			"normalized = $15, source = $16, installed_by = $17, installed_at = $18 "
			"WHERE name OPERATOR(pg_catalog.=) $1",
			18, rtypes, v, nulls, true, SPI_OK_UPDATE);
	else
		run("INSERT INTO _bert.model (" LIST_COLUMNS ") "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
			18, rtypes, v, nulls, true, SPI_OK_INSERT);
	if (exists)
	{
		if (strcmp(old.hash, m->hash) != 0)
			collect_content(old.hash);
		if (strcmp(old.base_hash, m->base_hash) != 0)
			collect_content(old.base_hash);
	}
	owner_end(&s);
	/* every backend maps names again (the table's trigger says so too) */
	CacheInvalidateRelcacheByRelid(registry_relid_or_error());
	return exists ? PGB_PUT_REPLACED : PGB_PUT_INSERTED;
}

bool
pgb_registry_delete(const char *name)
{
	OwnerScope	s;
	PgbStoredModel old;
	bool		found;

	found = writer_begin(&s, "DELETE FROM _bert.model WHERE name OPERATOR(pg_catalog.=) $1 RETURNING content_hash, base_hash",
						 SPI_OK_DELETE_RETURNING, name, &old);
	if (found)
	{
		collect_content(old.hash);
		collect_content(old.base_hash);
	}
	owner_end(&s);
	if (found)
		CacheInvalidateRelcacheByRelid(registry_relid_or_error());
	return found;
}

bool
pgb_registry_used_as_base(const char *hash, char **user)
{
	OwnerScope	s;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(hash)};
	MemoryContext cxt = CurrentMemoryContext;
	bool		used;

	*user = NULL;
	if (!OidIsValid(pgb_registry_relid()))
		return false;
	owner_begin(&s, true);
	run("SELECT name FROM _bert.model WHERE base_hash OPERATOR(pg_catalog.=) $1 "
		"ORDER BY name COLLATE pg_catalog.\"C\" LIMIT 1",
		1, types, values, NULL, true, SPI_OK_SELECT);
	used = SPI_processed == 1;
	if (used)
		*user = MemoryContextStrdup(cxt, get_text(0, 1));
	owner_end(&s);
	return used;
}
