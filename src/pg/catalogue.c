/*
 * catalogue.c — the models of a database: bert_models lists them (stored in
 * the registry, or shipped with the extension), bert_install_model stores a
 * converted file, a Hugging Face checkpoint directory or bytes sent by the
 * client, bert_drop_model removes one, bert_models_reset zeroes usage
 * counters.
 *
 * Installs and drops are ordinary transactional writes of the registry
 * (registry.c): ROLLBACK undoes them, other sessions see them at commit,
 * standbys replay them, pg_dump carries them.  Nothing is written to the
 * model cache here.  Each is logged at commit, with who, what and how big.
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "cache.h"
#include "catalogue.h"
#include "hf_convert.h"
#include "model.h"
#include "registry.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* ---------------------------------------------------------------------------
 * LOG lines, written when the transaction that installed or dropped commits
 */

typedef struct PendingLog
{
	SubTransactionId subid;
	char	   *message;
} PendingLog;

static List *pending_logs = NIL;	/* in TopTransactionContext */

static void
log_at_commit(const char *fmt,...) pg_attribute_printf(1, 2);

static void
log_at_commit(const char *fmt,...)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingLog *p = palloc(sizeof(PendingLog));
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	p->subid = GetCurrentSubTransactionId();
	p->message = buf.data;
	pending_logs = lappend(pending_logs, p);
	MemoryContextSwitchTo(old);
}

static void
xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			foreach(lc, pending_logs)
				ereport(LOG,
						(errmsg("bert: %s%s", ((PendingLog *) lfirst(lc))->message,
								event == XACT_EVENT_PREPARE ? " (prepared transaction)" : "")));
			pending_logs = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
			pending_logs = NIL;
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
				 void *arg pg_attribute_unused())
{
	ListCell   *lc;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending_logs)
			if (((PendingLog *) lfirst(lc))->subid == mySubid)
			pending_logs = foreach_delete_current(pending_logs, lc);
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		foreach(lc, pending_logs)
			if (((PendingLog *) lfirst(lc))->subid == mySubid)
			((PendingLog *) lfirst(lc))->subid = parentSubid;
}

void
pgb_catalogue_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/* ---------------------------------------------------------------------------
 * Installing
 */

/* Writes happen in the caller's transaction: refuse before any work where they cannot. */
static void
check_writable(const char *what)
{
	PreventCommandDuringRecovery(what);
	PreventCommandIfReadOnly(what);
}

void
pgb_check_install(const char *name, bool replace, const char *what)
{
	char		path[MAXPGPATH];
	struct stat st;
	PgbStoredModel m;

	check_writable(what);
	pgb_check_model_name(name);
	if (pgb_shipped_file(name, path, &st))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" is shipped with the extension", name),
				 errdetail("A model installed in a database cannot take the name of a shipped model."),
				 errhint("Choose another name.")));
	if (!replace && pgb_registry_lookup(name, &m))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" is already installed", name),
				 errhint("Drop it first, or pass replace => true.")));
}

/* SHA-256 and size of a file of our own. */
static pg_noinline int64
hash_own_file(const char *path, uint8 *sha)
{
	int			fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	char	   *buf = palloc(1 << 20);
	PgbSha256  *h;
	int64		total = 0;
	ssize_t		n;

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	h = pgb_sha256_begin();
	while ((n = read(fd, buf, 1 << 20)) != 0)
	{
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			pgb_close_and_error(fd, "read", path);
		pgb_sha256_update(h, buf, (size_t) n);
		total += n;
		CHECK_FOR_INTERRUPTS();
	}
	close(fd);
	pgb_sha256_final(h, sha);
	pfree(buf);
	return total;
}

/* The labels of m as text[] in the database encoding. */
static ArrayType *
labels_array(const BertModel *m)
{
	Datum	   *labels = palloc(sizeof(Datum) * (m->n_labels + 1));

	for (uint32 i = 0; i < m->n_labels; i++)
	{
		size_t		len;
		const char *l = bcore_model_label(m, i, &len);

		labels[i] = PointerGetDatum(pgb_utf8_text(l, (int) len));
	}
	return construct_array(labels, (int) m->n_labels, TEXTOID, -1, false, TYPALIGN_INT);
}

void
pgb_install_own_file(const char *name, const char *path, const char *source,
					 const char *base_name, bool replace, const char *what)
{
	uint8		sha[BERT_SHA256_LEN];
	int64		bytes = hash_own_file(path, sha);
	PgbStoredModel row;
	int			fd;
	void	   *map;
	BertModel	m;
	BertFileHeader h;
	BertModelStatus status;
	char		err[512];
	LoadedModel *volatile base = NULL;
	PgbPutResult put;

	memset(&row, 0, sizeof(row));
	strlcpy(row.name, name, sizeof(row.name));
	pgb_sha256_hex(sha, row.hash);
	row.bytes = bytes;

	/* validate our own copy (mapping it is safe: nothing else writes it) */
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	map = bytes >= BERT_HEADER_SIZE ? mmap(NULL, (size_t) bytes, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not map file \"%s\": %m", path)));
	if (map == NULL)
		pgb_model_error(name, BERT_MODEL_CORRUPT,
						psprintf("file is %lld bytes, shorter than the %d-byte header",
								 (long long) bytes, BERT_HEADER_SIZE));
	PG_TRY();
	{
		status = bcore_model_check_header(map, (size_t) bytes, (uint64) bytes, &h, err, sizeof(err));
		if (status == BERT_MODEL_OK && bcore_header_is_overlay(&h))
		{
			pgb_sha256_hex(h.base_sha256, row.base_hash);
			base = pgb_open_base(row.base_hash);
			status = bcore_model_parse_overlay(map, (size_t) bytes, &base->model, h.base_sha256,
											   &m, err, sizeof(err));
		}
		else if (status == BERT_MODEL_OK)
			status = bcore_model_parse(map, (size_t) bytes, &m, err, sizeof(err));
		if (status != BERT_MODEL_OK)
			pgb_model_error(name, status, err);
		row.kind = pstrdup(pgb_kind_name(m.config.kind));
		row.layers = m.config.n_layers;
		row.hidden = m.config.hidden;
		row.heads = m.config.n_heads;
		row.vocab_size = m.config.vocab_size;
		row.max_positions = m.config.max_positions;
		row.max_seq_len = m.config.max_seq_len;
		row.labels = labels_array(&m);
		row.pooling = pstrdup(m.config.pooling == BERT_POOL_CLS ? "cls" : "mean");
		row.normalized = (m.config.flags & BERT_FLAG_NORMALIZE) != 0;
		bcore_model_close(&m);
	}
	PG_FINALLY();
	{
		munmap(map, (size_t) bytes);
		if (base != NULL)
			pgb_close_model(base);
	}
	PG_END_TRY();

	row.base_name = (char *) base_name;
	row.source = (char *) source;
	row.installed_by = GetUserNameFromId(GetUserId(), false);
	row.installed_at = GetCurrentTransactionStartTimestamp();

	pgb_registry_store_content(row.hash, path, bytes);
	put = pgb_registry_put(&row, replace);
	if (put == PGB_PUT_EXISTS)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" is already installed", name),
				 errhint("Drop it first, or pass replace => true.")));
	log_at_commit("model \"%s\" %s by role \"%s\" with %s: content %s, %lld bytes%s%s%s",
				  name, put == PGB_PUT_REPLACED ? "replaced" : "installed", row.installed_by, what,
				  row.hash, (long long) bytes,
				  row.base_hash[0] ? " (an overlay on " : "",
				  row.base_hash[0] ? row.base_hash : "",
				  row.base_hash[0] ? ")" : "");
	pgb_cache_collect();
}

/* Asked by the converter between reads: has the query been cancelled? */
static int
convert_cancelled(void *arg pg_attribute_unused())
{
	return QueryCancelPending || ProcDiePending;
}

/* Convert the Hugging Face checkpoint directory dir into the file out. */
static void
convert_directory(const char *name, const char *dir, const char *out)
{
	BertConvertOptions opt;
	char		err[4096];
	BertConvertStatus st;

	bcore_convert_options_init(&opt);
	opt.source = dir;
	opt.cancel = convert_cancelled;
	for (;;)
	{
		st = bcore_convert_checkpoint(dir, out, &opt, err, sizeof(err));
		if (st != BERT_CONVERT_CANCELLED)
			break;
		CHECK_FOR_INTERRUPTS();
		/* the interrupt was serviced without an error: convert again */
	}
	if (st == BERT_CONVERT_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory converting \"%s\" into model \"%s\"", dir, name)));
	if (st == BERT_CONVERT_IO || st == BERT_CONVERT_INTERNAL)
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("could not convert \"%s\" into model \"%s\"", dir, name),
				 errdetail("%s", err)));
	if (st != BERT_CONVERT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not convert \"%s\" into model \"%s\"", dir, name),
				 errdetail("%s", err)));
}

PG_FUNCTION_INFO_V1(bert_install_model);
Datum
bert_install_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *path;
	bool		replace;
	char		tmp[MAXPGPATH];
	struct stat st;

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	replace = PG_GETARG_BOOL(2);

	check_writable("bert_install_model()");
	pgb_check_file_privilege("install a model from a server path");
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model path must be absolute")));
	pgb_check_install(name, replace, "bert_install_model()");
	/* stat never waits, even on a FIFO */
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat \"%s\": %m", path)));
	pgb_temp_path(tmp, sizeof(tmp), "install");
	PG_TRY();
	{
		if (S_ISDIR(st.st_mode))
			convert_directory(name, path, tmp);
		else
		{
			uint8		sha[BERT_SHA256_LEN];
			BertModelStatus status;
			char		err[512];

			if (pgb_copy_model_file(path, tmp, sha, &status, err, sizeof(err)) < 0)
				pgb_model_error(name, status, err);
		}
		pgb_install_own_file(name, tmp, path, NULL, replace, "bert_install_model()");
	}
	PG_FINALLY();
	{
		pgb_unlink_if_exists(tmp);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* The bytes of a model file, sent by the client: no server file is read. */
PG_FUNCTION_INFO_V1(bert_install_model_bytes);
Datum
bert_install_model_bytes(PG_FUNCTION_ARGS)
{
	char	   *name;
	bytea	   *data;
	bool		replace;
	char		tmp[MAXPGPATH];
	uint8		sha[BERT_SHA256_LEN];

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	data = PG_GETARG_BYTEA_PP(1);
	replace = PG_GETARG_BOOL(2);
	pgb_check_install(name, replace, "bert_install_model()");
	pgb_temp_path(tmp, sizeof(tmp), "install");
	PG_TRY();
	{
		pgb_write_model_bytes(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), tmp, sha);
		pgb_install_own_file(name, tmp, NULL, NULL, replace, "bert_install_model(bytea)");
	}
	PG_FINALLY();
	{
		pgb_unlink_if_exists(tmp);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bert_drop_model);
Datum
bert_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	char		path[MAXPGPATH];
	struct stat st;

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	check_writable("bert_drop_model()");
	pgb_check_model_name(name);
	if (!pgb_registry_delete(name))
	{
		if (pgb_shipped_file(name, path, &st))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("model \"%s\" is shipped with the extension", name),
					 errdetail("Shipped models are files of the extension's package; remove them there.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not installed", name)));
	}
	log_at_commit("model \"%s\" dropped by role \"%s\"", name, GetUserNameFromId(GetUserId(), false));
	pgb_cache_collect();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bert_models_reset);
Datum
bert_models_reset(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	pgb_stats_reset(name);
	PG_RETURN_VOID();
}

/*
 * The registry's trigger: any change to _bert.model, ours or a superuser's
 * own DML, makes every backend (and, through the WAL, every standby) check
 * its model names again.  It invalidates _bert.model found by name, not the
 * table it fires on: on a Citus node it fires on the reference table's
 * local copy (_bert.model_102040), which no backend watches.
 */
PG_FUNCTION_INFO_V1(bert_registry_changed);
Datum
bert_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			relid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("bert_registry_changed() must be called as a trigger")));
	relid = pgb_registry_relid();
	if (relid != RelationGetRelid(trigdata->tg_relation))
		CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_POINTER(NULL);
}

static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* Import dir/name.bert as name; 1 if it was, 0 if not. */
static int
import_file(const char *name, const char *dir)
{
	char		path[MAXPGPATH],
				tmp[MAXPGPATH],
				err[512];
	uint8		sha[BERT_SHA256_LEN];
	BertModelStatus status;
	PgbStoredModel m;
	volatile int imported = 0;

	snprintf(path, sizeof(path), "%s/%s.bert", dir, name);
	if (pgb_registry_lookup(name, &m))
	{
		ereport(NOTICE,
				(errmsg("model \"%s\" is already in the registry; \"%s\" is not imported", name, path)));
		return 0;
	}
	pgb_temp_path(tmp, sizeof(tmp), "import");
	PG_TRY();
	{
		if (pgb_copy_model_file(path, tmp, sha, &status, err, sizeof(err)) < 0)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model file \"%s\" is invalid and is not imported", path),
					 errdetail("%s", err)));
		else
		{
			pgb_install_own_file(name, tmp, path, NULL, false, "ALTER EXTENSION bert UPDATE");
			ereport(NOTICE,
					(errmsg("imported model \"%s\" from \"%s\"", name, path)));
			imported = 1;
		}
	}
	PG_FINALLY();
	{
		pgb_unlink_if_exists(tmp);
	}
	PG_END_TRY();
	return imported;
}

/*
 * For ALTER EXTENSION bert UPDATE from 0.1.0: 0.1.0 kept installed and
 * trained models as files in $PGDATA/pg_bert/models, for the whole server;
 * each database that updates stores a copy of every one in its registry.
 * The files stay (other databases may update later).
 */
PG_FUNCTION_INFO_V1(bert_registry_import);
Datum
bert_registry_import(PG_FUNCTION_ARGS)
{
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	List	   *names = NIL;
	ListCell   *lc;
	int32		imported = 0;

	check_writable("bert_registry_import()");
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to import models"),
				 errdetail("Only superusers may import the models of bert 0.1.0.")));
	pgb_data_path(dir, sizeof(dir), "models");
	d = AllocateDir(dir);
	while (d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *name;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0)
			continue;
		name = pnstrdup(de->d_name, len - 5);
		if (pgb_valid_model_name(name))
			names = lappend(names, name);
	}
	if (d != NULL)
		FreeDir(d);
	list_sort(names, compare_names);
	foreach(lc, names)
		imported += import_file(lfirst(lc), dir);
	PG_RETURN_INT32(imported);
}

/* ---------------------------------------------------------------------------
 * Listing
 */

#define MODEL_COLUMNS 26

/*
 * A row of bert_models.  A database still at extension version 0.1.0 (the
 * library updated, ALTER EXTENSION bert UPDATE not run yet) declares the 17
 * columns 0.1.0 had: it gets them, taken from ours (bytes_on_disk is the
 * model file's size), rather than values of the wrong types.
 */
#define MODEL_COLUMNS_010 17
static const int columns_010[MODEL_COLUMNS_010] = {
	0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11,	/* name .. normalized */
	19, 15, 18, 23, 24, 25		/* directory, bytes, resident, loaded_since, calls, tokens */
};

static void
put_model_row(ReturnSetInfo *rsinfo, Datum *values, bool *nulls)
{
	int			natts = rsinfo->setDesc->natts;

	if (natts == MODEL_COLUMNS_010)
	{
		Datum		v[MODEL_COLUMNS_010];
		bool		n[MODEL_COLUMNS_010];

		for (int i = 0; i < MODEL_COLUMNS_010; i++)
		{
			v[i] = values[columns_010[i]];
			n[i] = nulls[columns_010[i]];
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
		return;
	}
	if (natts != MODEL_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bert_models() is declared with %d columns, this library gives %d", natts, MODEL_COLUMNS),
				 errhint("Run ALTER EXTENSION bert UPDATE.")));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* May the current role see server paths (as SHOW data_directory)? */
static bool
may_see_paths(void)
{
	return pgb_may_read_server_files();
}

/* Usage columns 17..25 (0-based) of a row. */
static void
usage_columns(Datum *values, bool *nulls, const char *name, const char *hash, bool stored)
{
	BertModelInfo info;

	pgb_model_usage(name, hash, stored, &info);
	values[17] = Int64GetDatum(info.bytes_in_cache);
	nulls[17] = info.bytes_in_cache < 0;
	values[18] = Int64GetDatum(info.bytes_resident);
	nulls[18] = info.bytes_resident < 0;
	values[23] = TimestampTzGetDatum(info.loaded_since);
	nulls[23] = !info.loaded;
	values[24] = Int64GetDatum(info.calls);
	values[25] = Int64GetDatum(info.tokens);
}

/* The name of a listed model with content hash, or NULL. */
static const char *
name_of(List *rows, List *shipped, const char *hash)
{
	ListCell   *lc;

	foreach(lc, rows)
		if (strcmp(((PgbStoredModel *) lfirst(lc))->hash, hash) == 0)
		return ((PgbStoredModel *) lfirst(lc))->name;
	foreach(lc, shipped)
	{
		LoadedModel *lm = lfirst(lc);

		if (lm != NULL && strcmp(lm->hash, hash) == 0)
			return lm->name;
	}
	return NULL;
}

static void
stored_row(ReturnSetInfo *rsinfo, const PgbStoredModel *m, List *rows, List *shipped)
{
	Datum		values[MODEL_COLUMNS];
	bool		nulls[MODEL_COLUMNS] = {0};
	const char *base = m->base_name;

	values[0] = CStringGetTextDatum(m->name);
	values[1] = CStringGetTextDatum(m->kind);
	values[2] = CStringGetTextDatum("stored");
	pgb_size_columns(values + 3, m->layers, m->hidden, m->heads, m->vocab_size, m->max_positions,
					 m->max_seq_len);
	values[9] = PointerGetDatum(m->labels);
	nulls[9] = m->labels == NULL;
	values[10] = CStringGetTextDatum(m->pooling);
	values[11] = BoolGetDatum(m->normalized);
	values[12] = CStringGetTextDatum(m->hash);
	if (m->base_hash[0] && base == NULL)
		base = name_of(rows, shipped, m->base_hash);
	values[13] = base ? CStringGetTextDatum(base) : (Datum) 0;
	nulls[13] = base == NULL;
	values[14] = CStringGetTextDatum(m->base_hash);
	nulls[14] = m->base_hash[0] == '\0';
	values[15] = Int64GetDatum(m->bytes);
	values[16] = Int64GetDatum(m->bytes_in_database);
	usage_columns(values, nulls, m->name, m->hash, true);
	nulls[19] = true;			/* directory: not a file */
	values[20] = m->source ? CStringGetTextDatum(m->source) : (Datum) 0;
	nulls[20] = m->source == NULL || !may_see_paths();
	values[21] = CStringGetTextDatum(m->installed_by);
	values[22] = TimestampTzGetDatum(m->installed_at);
	put_model_row(rsinfo, values, nulls);
}

static void
shipped_row(ReturnSetInfo *rsinfo, const char *name, LoadedModel *lm, const char *err)
{
	Datum		values[MODEL_COLUMNS];
	bool		nulls[MODEL_COLUMNS] = {0};
	char		dir[MAXPGPATH];

	for (int i = 0; i < MODEL_COLUMNS; i++)
		nulls[i] = true;
	values[0] = CStringGetTextDatum(name);
	nulls[0] = false;
	values[2] = CStringGetTextDatum("shipped");
	nulls[2] = false;
	if (lm != NULL)
	{
		const BertConfig *c = &lm->model.config;

		values[1] = CStringGetTextDatum(pgb_kind_name(c->kind));
		pgb_size_columns(values + 3, c->n_layers, c->hidden, c->n_heads, c->vocab_size,
						 c->max_positions, c->max_seq_len);
		values[9] = PointerGetDatum(labels_array(&lm->model));
		values[10] = CStringGetTextDatum(c->pooling == BERT_POOL_CLS ? "cls" : "mean");
		values[11] = BoolGetDatum((c->flags & BERT_FLAG_NORMALIZE) != 0);
		values[12] = CStringGetTextDatum(lm->hash);
		for (int i = 1; i <= 12; i++)
			nulls[i] = false;
		if (lm->base_hash[0])
		{
			values[14] = CStringGetTextDatum(lm->base_hash);
			nulls[14] = false;
		}
		values[15] = Int64GetDatum((int64) lm->model.size);
		values[16] = Int64GetDatum(0);	/* nothing in the database */
		nulls[15] = nulls[16] = false;
		nulls[24] = nulls[25] = false;
		usage_columns(values, nulls, name, lm->hash, false);
	}
	else
	{
		/* listed, so that a broken file can be seen */
		values[1] = CStringGetTextDatum(psprintf("invalid: %s", err));
		nulls[1] = false;
	}
	if (may_see_paths())
	{
		pgb_shipped_dir(dir, sizeof(dir));
		values[19] = CStringGetTextDatum(dir);
		nulls[19] = false;
	}
	put_model_row(rsinfo, values, nulls);
}

PG_FUNCTION_INFO_V1(bert_models);
Datum
bert_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *rows = pgb_registry_list();
	List	   *names = NIL;
	List	   *shipped = NIL;
	List	   *errors = NIL;
	ListCell   *lc,
			   *lc2,
			   *lc3;
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;

	InitMaterializedSRF(fcinfo, 0);

	/* shipped models a stored model does not shadow */
	pgb_shipped_dir(dir, sizeof(dir));
	d = AllocateDir(dir);
	while (d != NULL && (de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *name;
		bool		shadowed = false;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0 || de->d_name[0] == '.')
			continue;
		name = pnstrdup(de->d_name, len - 5);
		if (!pgb_valid_model_name(name))
			continue;
		foreach(lc, rows)
			if (strcmp(((PgbStoredModel *) lfirst(lc))->name, name) == 0)
			shadowed = true;
		if (!shadowed)
			names = lappend(names, name);
	}
	if (d != NULL)
		FreeDir(d);
	list_sort(names, compare_names);
	foreach(lc, names)
	{
		BertModelStatus status;
		char		err[512];
		LoadedModel *lm = pgb_try_shipped_model(lfirst(lc), &status, err, sizeof(err));

		shipped = lappend(shipped, lm);
		errors = lappend(errors, lm ? NULL : pstrdup(err));
	}

	/* both, sorted by name */
	lc = list_head(rows);
	lc2 = list_head(names);
	lc3 = list_head(shipped);
	while (lc != NULL || lc2 != NULL)
	{
		if (lc2 == NULL ||
			(lc != NULL && strcmp(((PgbStoredModel *) lfirst(lc))->name, lfirst(lc2)) < 0))
		{
			stored_row(rsinfo, lfirst(lc), rows, shipped);
			lc = lnext(rows, lc);
		}
		else
		{
			int			i = list_cell_number(names, lc2);

			shipped_row(rsinfo, lfirst(lc2), lfirst(lc3), list_nth(errors, i));
			lc2 = lnext(names, lc2);
			lc3 = lnext(shipped, lc3);
		}
	}
	return (Datum) 0;
}
