/*
 * bulk.c — CALL bert_embed_table(source, text_column, target_column,
 * batch_size, model): fill a column with the embeddings of another, where it
 * is NULL, committing every batch_size rows.
 *
 * Rows are found by (table, ctid): a partitioned or inheritance table is
 * filled one leaf table at a time, each read in ctid order from where the
 * last batch stopped (a TID range scan: every row is read once per pass).
 * A batch's rows are embedded, then each is updated by its ctid only while
 * its target is still NULL and its text still the text embedded, so an
 * embedding is never written to a row whose text it is not.  A row another
 * session updated meanwhile has a new ctid and is found by the next pass;
 * passes repeat until one finds no NULL row this run has not tried (a row
 * it updated that stays NULL, through a trigger or a row security policy,
 * is tried once).
 *
 * The SQL it runs names every object by schema (OPERATOR(pg_catalog.=),
 * pg_catalog.count), since a procedure that commits cannot pin search_path
 * with a SET clause; the names of the table and columns come from the
 * catalogue, quoted.  The encoder runs on bert.bulk_threads threads (every
 * usable core by default, as a maintenance command would).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "portability/instr_time.h"
#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "run.h"
#include "tokenizer.h"
#include "util.h"

/* A row by its table and tuple id. */
typedef struct RowKey
{
	Oid			rel;
	ItemPointerData tid;
} RowKey;

/* A leaf table: one with rows, and the statements that fill it. */
typedef struct Leaf
{
	Oid			oid;
	char	   *name;			/* schema-qualified, quoted */
	char	   *select;
	char	   *update;
} Leaf;

typedef struct Fill
{
	const char *source;			/* as given, for messages */
	const char *text_col;		/* quoted */
	const char *target_col;		/* quoted */
	int			batch_size;
	const char *model;
	PgbCall		call;
	int			threads;		/* most threads a batch ran on */
	int64		todo;
	int64		done;			/* rows given an embedding */
	HTAB	   *tried;			/* RowKey of rows updated that stayed NULL */
	instr_time	started;
} Fill;

/* The quoted name of column name of relation rel, which must be an ordinary column. */
static const char *
column(Oid rel, const char *name, const char *what)
{
	AttrNumber	att = get_attnum(rel, name);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", name, get_rel_name(rel)),
				 errdetail("It was given as the %s.", what)));
	if (att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" is a system column", what, name)));
	return pstrdup(quote_identifier(name));
}

/* Find, or enter, a row in the set of rows tried; the key is hashed as
 * bytes, so it is built in place with its padding zeroed. */
static bool
tried_row(HTAB *tried, Oid rel, ItemPointer tid, HASHACTION action)
{
	RowKey		key;

	memset(&key, 0, sizeof(key));
	key.rel = rel;
	ItemPointerCopy(tid, &key.tid);
	return hash_search(tried, &key, action, NULL) != NULL;
}

/* A statement of a batch, prepared afresh in every transaction (an
 * unsaved plan must not outlive it, and a saved one would leak on error). */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "bert_embed_table: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	return plan;
}

static Oid	select_types[2] = {TIDOID, INT8OID};
static Oid	update_types[3] = {FLOAT4ARRAYOID, TIDOID, TEXTOID};

/* The leaf tables of source, with their statements. */
static List *
leaves(Fill *f, Oid source)
{
	List	   *oids = find_all_inheritors(source, AccessShareLock, NULL);
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, oids)
	{
		Oid			oid = lfirst_oid(lc);
		char		kind = get_rel_relkind(oid);
		Leaf	   *leaf;

		if (kind == RELKIND_PARTITIONED_TABLE)
			continue;			/* no rows of its own */
		if (kind != RELKIND_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot fill \"%s\": \"%s\" is not a table", f->source, get_rel_name(oid)),
					 errdetail("bert_embed_table updates rows by their ctid, which only tables have (a foreign table does not)."),
					 errhint("Fill it with UPDATE ... SET column = bert_embed(text, model).")));
		leaf = palloc(sizeof(Leaf));
		leaf->oid = oid;
		leaf->name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(oid)),
												get_rel_name(oid));

		/*
		 * No ORDER BY: a TID range scan reads in ctid order and stops at the
		 * LIMIT, where a sort would read the rest of the table every batch.
		 * The next batch starts after the largest ctid read, whatever order
		 * the rows came in; a row it skips is found by the next pass.
		 */
		leaf->select = psprintf("SELECT ctid, %s::pg_catalog.text FROM ONLY %s "
								"WHERE ctid OPERATOR(pg_catalog.>) $1 AND %s IS NULL AND %s IS NOT NULL "
								"LIMIT $2",
								f->text_col, leaf->name, f->target_col, f->text_col);
		leaf->update = psprintf("UPDATE ONLY %s SET %s = $1 "
								"WHERE ctid OPERATOR(pg_catalog.=) $2 AND %s IS NULL "
								"AND %s::pg_catalog.text OPERATOR(pg_catalog.=) ($3 COLLATE pg_catalog.\"C\") "
								"RETURNING ctid, %s IS NULL",
								leaf->name, f->target_col, f->target_col, f->text_col, f->target_col);
		/* fail before any work if, say, the target takes no real[] */
		SPI_freeplan(prepare(leaf->select, 2, select_types));
		SPI_freeplan(prepare(leaf->update, 3, update_types));
		result = lappend(result, leaf);
	}
	return result;
}

static void
progress(Fill *f)
{
	instr_time	now;
	double		elapsed,
				rate;
	int64		todo;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, f->started);
	elapsed = Max(INSTR_TIME_GET_DOUBLE(now), 1e-6);
	rate = f->done / elapsed;
	/* rows added since the count make more to do, never more than 100 % */
	todo = Max(f->todo, f->done);
	ereport(NOTICE,
			(errmsg("bert_embed_table: %lld / %lld rows (%.1f %%), %.1f rows/s, ETA %.0f s, %d thread%s",
					(long long) f->done, (long long) todo,
					todo > 0 ? 100.0 * f->done / todo : 100.0, rate,
					(todo - f->done) / Max(rate, 1e-6), f->threads, f->threads == 1 ? "" : "s")));
}

/*
 * One batch of leaf after *last: read up to batch_size NULL rows, embed
 * those not tried yet, update them, commit.  Returns the rows read (0: the
 * leaf is done for this pass); *tried_new counts rows tried for the first
 * time.
 */
static int
fill_batch(Fill *f, Leaf *leaf, ItemPointer last, int *tried_new)
{
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext, "bert_embed_table batch",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(batchcxt);
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			n_read;
	int			n = 0;
	ItemPointerData *tids;
	text	  **texts;
	float	   *emb;
	int			hidden;
	PgbBatch	batch;
	int			first = 0;
	SPIPlanPtr	select = prepare(leaf->select, 2, select_types);
	SPIPlanPtr	update = prepare(leaf->update, 3, update_types);

	args[0] = PointerGetDatum(last);
	args[1] = Int64GetDatum(f->batch_size);
	if (SPI_execute_plan(select, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "bert_embed_table: reading %s failed", leaf->name);
	n_read = (int) SPI_processed;
	tids = palloc(sizeof(ItemPointerData) * Max(1, n_read));
	texts = palloc(sizeof(text *) * Max(1, n_read));
	for (int i = 0; i < n_read; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ItemPointer tid = (ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull));

		if (ItemPointerCompare(tid, last) > 0)
			ItemPointerCopy(tid, last);
		if (tried_row(f->tried, leaf->oid, tid, HASH_FIND))
			continue;			/* updated before and left NULL */
		tids[n] = *tid;
		texts[n] = DatumGetTextPCopy(SPI_getbinval(tup, desc, 2, &isnull));
		n++;
	}
	SPI_freetuptable(SPI_tuptable);
	*tried_new = n;

	/* embed them, in encoder calls of PGB_BATCH_TOKENS tokens a thread; the
	 * model is looked up again, as an install elsewhere may have reloaded it */
	pgb_call_for_model(&f->call, f->model);
	hidden = f->call.lm->model.config.hidden;
	emb = palloc(sizeof(float) * (size_t) hidden * Max(1, n));
	pgb_batch_init(&batch, f->call.lm, f->call.limit, pgb_bulk_threads());
	for (int i = 0; i <= n; i++)
	{
		BertTokens *tok = i < n ? pgb_call_tokens(&f->call, texts[i]) : NULL;

		if (batch.n_seq > 0 && (i == n || !pgb_batch_fits(&batch, tok)))
		{
			int			done = pgb_batch_run(&batch);

			f->threads = Max(f->threads, pgb_last_threads());
			memcpy(emb + (size_t) first * hidden, batch.out, sizeof(float) * hidden * done);
			first += done;
		}
		if (tok)
			pgb_batch_add(&batch, tok);
	}
	pgb_batch_free(&batch);

	/* write each where it is still due, to the text it was computed from */
	for (int i = 0; i < n; i++)
	{
		args[0] = PointerGetDatum(pgb_float_array(emb + (size_t) i * hidden, hidden));
		args[1] = PointerGetDatum(&tids[i]);
		args[2] = PointerGetDatum(texts[i]);
		if (SPI_execute_plan(update, args, nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "bert_embed_table: updating %s failed", leaf->name);
		if (SPI_processed == 1)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[0];
			bool		still_null = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

			if (still_null)
			{
				/* its new version stays NULL: never try it again */
				tried_row(f->tried, leaf->oid,
						  (ItemPointer) DatumGetPointer(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)),
						  HASH_ENTER);
			}
			else
				f->done++;
		}
		else
		{
			/*
			 * Changed or deleted since it was read (a new version has a new
			 * ctid: the next pass finds it), or hidden from UPDATE by a
			 * policy: then the same ctid, tried once.
			 */
			tried_row(f->tried, leaf->oid, &tids[i], HASH_ENTER);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_freeplan(select);
	SPI_freeplan(update);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(batchcxt);
	return n_read;
}

PG_FUNCTION_INFO_V1(bert_embed_table);
Datum
bert_embed_table(PG_FUNCTION_ARGS)
{
	Fill		f;
	Oid			source;
	List	   *leaf_list;
	HASHCTL		ctl;
	char	   *sql;
	bool		isnull;
	int			pass;
	int64		left;
	Oid			nsp;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("bert_embed_table must be called outside a transaction block"),
				 errdetail("It commits after every batch of rows, which is not possible inside a transaction block or a function."),
				 errhint("Run CALL bert_embed_table(...) on its own, or fill the column in one transaction with UPDATE ... SET column = bert_embed(text, model).")));
	pgb_require_args(fcinfo);

	memset(&f, 0, sizeof(f));
	source = PG_GETARG_OID(0);
	f.batch_size = PG_GETARG_INT32(3);
	if (f.batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1")));
	if (get_rel_name(source) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (strcmp(NameStr(*PG_GETARG_NAME(1)), NameStr(*PG_GETARG_NAME(2))) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("text_column and target_column are both \"%s\"", NameStr(*PG_GETARG_NAME(1))),
				 errdetail("The embeddings of a column cannot be written into it.")));

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "bert_embed_table: SPI_connect failed");
	/* from here on, memory lives in the procedure's context, across commits */
	nsp = get_rel_namespace(source);
	f.source = quote_qualified_identifier(get_namespace_name(nsp), get_rel_name(source));
	if (get_rel_relkind(source) != RELKIND_RELATION &&
		get_rel_relkind(source) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(source)),
				 errdetail("bert_embed_table fills tables, partitioned tables and tables with inheritance children.")));
	f.text_col = column(source, NameStr(*PG_GETARG_NAME(1)), "text_column");
	f.target_col = column(source, NameStr(*PG_GETARG_NAME(2)), "target_column");
	{
		Oid			from = FLOAT4ARRAYOID;
		Oid			to = get_atttype(source, get_attnum(source, NameStr(*PG_GETARG_NAME(2))));

		if (!can_coerce_type(1, &from, &to, COERCION_ASSIGNMENT))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("target_column \"%s\" is of type %s, which cannot hold an embedding",
							NameStr(*PG_GETARG_NAME(2)), format_type_be(to)),
					 errhint("Use a column of type real[], or a type real[] can be assigned to (pgvector's vector).")));
	}
	f.model = text_to_cstring(PG_GETARG_TEXT_PP(4));
	pgb_call_for_model(&f.call, f.model);
	leaf_list = leaves(&f, source);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(RowKey);
	ctl.entrysize = sizeof(RowKey);
	ctl.hcxt = CurrentMemoryContext;
	f.tried = hash_create("bert_embed_table rows tried", 64, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	sql = psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s IS NULL AND %s IS NOT NULL",
				   f.source, f.target_col, f.text_col);
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "bert_embed_table: counting rows failed");
	f.todo = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	f.threads = Min(pgb_bulk_threads(), pgb_usable_cores());
	ereport(NOTICE,
			(errmsg("bert_embed_table: %lld rows of %s to embed with model \"%s\", on up to %d thread%s",
					(long long) f.todo, f.source, f.call.lm->name,
					f.threads, f.threads == 1 ? "" : "s")));
	f.threads = 0;
	INSTR_TIME_SET_CURRENT(f.started);

	for (pass = 1;; pass++)
	{
		int64		tried = 0;
		ListCell   *lc;

		foreach(lc, leaf_list)
		{
			Leaf	   *leaf = lfirst(lc);
			ItemPointerData last;
			int			read;

			ItemPointerSet(&last, 0, 0);
			do
			{
				int			tried_new;

				CHECK_FOR_INTERRUPTS();
				read = fill_batch(&f, leaf, &last, &tried_new);
				SPI_commit();
				if (tried_new > 0)
					progress(&f);
				tried += tried_new;
			} while (read == f.batch_size);
		}
		if (tried == 0)
			break;				/* a pass with nothing new: done */
	}

	/* what is left: rows this run could not fill */
	sql = psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s IS NULL AND %s IS NOT NULL",
				   f.source, f.target_col, f.text_col);
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "bert_embed_table: counting rows failed");
	left = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (left > 0)
		ereport(WARNING,
				(errmsg("bert_embed_table: %lld rows of %s are still NULL", (long long) left, f.source),
				 errdetail("Updating them did not keep an embedding: a trigger, a rule or a row security policy prevented it, or other sessions kept changing them."),
				 errhint("Call bert_embed_table again to retry them.")));
	SPI_finish();
	PG_RETURN_VOID();
}
