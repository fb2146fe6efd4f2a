/*
 * bulk.c — CALL bert_embed_table(source, text_column, target_column,
 * batch_size, model): fill a column with the embeddings of another, where it
 * is NULL, committing every batch_size rows.
 *
 * Rows are found by (table, ctid): a partitioned or inheritance table is
 * filled one leaf table at a time, each read in ctid order in windows of
 * WINDOW_BLOCKS blocks (a TID range scan: every row is read once per pass,
 * and no batch sorts more than a window).  A batch's rows are locked (FOR
 * NO KEY UPDATE SKIP LOCKED: it never waits for, nor deadlocks with, other
 * writers; they wait for it at most one batch), embedded, and each is
 * updated by its ctid only while its target is still NULL and its text is
 * still the text embedded, so an embedding is never written to a row whose
 * text it is not.  A row skipped because it was locked, or moved by an
 * update, is found by the next pass; passes repeat until none finds a NULL
 * row this run has not tried (a row it updated that stays NULL, through a
 * trigger or a row security policy, is tried once), waiting a little while
 * other sessions still hold the last ones locked.
 *
 * The SQL it runs names every object by schema (OPERATOR(pg_catalog.=),
 * pg_catalog.count), since a procedure that commits cannot pin search_path
 * with a SET clause; the names of the table and columns come from the
 * catalogue, quoted.  The encoder runs on bert.bulk_threads threads (every
 * usable core by default, as a maintenance command would).
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "run.h"
#include "tokenizer.h"
#include "util.h"

/* A batch reads at most this many blocks of a leaf, 8 MB at the default
 * block size: a batch's sort stays small however large the table. */
#define WINDOW_BLOCKS 1024

/* While other sessions hold the last NULL rows locked, look again this
 * often, this many times, before giving up on them with a WARNING. */
#define LOCKED_RETRY_MS 100
#define LOCKED_RETRIES 100

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
	char	   *nulls;			/* the NULL rows' ctids, unlocked */
} Leaf;

typedef struct Fill
{
	const char *source;			/* schema-qualified, quoted */
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
	/* kept from batch to batch (in the procedure's context), not made
	 * afresh: memory this large comes straight from mmap, and a backend
	 * pays a page fault per 4 kB of each new block it writes */
	MemoryContext keep;
	float	   *emb;			/* a batch's embeddings */
	size_t		emb_floats;		/* floats emb holds */
	ArrayType  *arr;			/* one row's, rewritten for each update */
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

static Oid	select_types[3] = {TIDOID, TIDOID, INT8OID};
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

		leaf->select = psprintf("SELECT ctid, %s::pg_catalog.text FROM ONLY %s "
								"WHERE ctid OPERATOR(pg_catalog.>) $1 AND ctid OPERATOR(pg_catalog.<) $2 "
								"AND %s IS NULL AND %s IS NOT NULL "
								"ORDER BY ctid LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED",
								f->text_col, leaf->name, f->target_col, f->text_col);
		leaf->nulls = psprintf("SELECT ctid FROM ONLY %s WHERE %s IS NULL AND %s IS NOT NULL",
							   leaf->name, f->target_col, f->text_col);
		leaf->update = psprintf("UPDATE ONLY %s SET %s = $1 "
								"WHERE ctid OPERATOR(pg_catalog.=) $2 AND %s IS NULL "
								"AND %s::pg_catalog.text OPERATOR(pg_catalog.=) ($3 COLLATE pg_catalog.\"C\") "
								"RETURNING ctid, %s IS NULL",
								leaf->name, f->target_col, f->target_col, f->text_col, f->target_col);
		/* fail before any work if, say, the target takes no real[] */
		SPI_freeplan(prepare(leaf->select, 3, select_types));
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

/* Blocks of leaf now. */
static BlockNumber
leaf_blocks(Leaf *leaf)
{
	Relation	rel = table_open(leaf->oid, AccessShareLock);
	BlockNumber n = RelationGetNumberOfBlocks(rel);

	table_close(rel, NoLock);
	return n;
}

/*
 * One batch of leaf after *last: lock up to batch_size NULL rows, embed
 * those not tried yet, update them (the caller commits).  Returns false
 * once the leaf has no blocks after *last (its pass is done); *tried_new
 * counts rows tried for the first time.
 */
static bool
fill_batch(Fill *f, Leaf *leaf, ItemPointer last, int *tried_new)
{
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext, "bert_embed_table batch",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(batchcxt);
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			n = 0;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * f->batch_size);
	text	  **texts = palloc(sizeof(text *) * f->batch_size);
	float	   *emb;
	int			hidden;
	PgbBatch	batch;
	int			first = 0;
	bool		more = true;
	SPIPlanPtr	select = prepare(leaf->select, 3, select_types);
	SPIPlanPtr	update = prepare(leaf->update, 3, update_types);

	/* window by window until batch_size rows are locked or the leaf ends */
	while (n < f->batch_size)
	{
		BlockNumber nblocks = leaf_blocks(leaf);
		BlockNumber from = ItemPointerGetBlockNumberNoCheck(last);
		ItemPointerData end;
		ItemPointerData next;
		int			want;
		int			got;

		if (from >= nblocks)
		{
			more = false;
			break;
		}
		ItemPointerSet(&end, Min((uint64) from + WINDOW_BLOCKS, (uint64) nblocks), 0);
		want = f->batch_size - n;
		args[0] = PointerGetDatum(last);
		args[1] = PointerGetDatum(&end);
		args[2] = Int64GetDatum(want);
		if (SPI_execute_plan(select, args, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "bert_embed_table: reading %s failed", leaf->name);
		got = (int) SPI_processed;
		ItemPointerCopy(last, &next);
		for (int i = 0; i < got; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			ItemPointer tid = (ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull));
			bool		dup = false;

			/*
			 * The window's rows advance the next read; a row locked in its
			 * newer version (updated since the scan's snapshot) may lie
			 * anywhere, even in the window again: it does not, and is
			 * taken once.
			 */
			if (ItemPointerCompare(tid, &next) > 0 && ItemPointerCompare(tid, &end) < 0)
				ItemPointerCopy(tid, &next);
			for (int j = 0; j < n && !dup; j++)
				dup = ItemPointerEquals(&tids[j], tid);
			if (dup || tried_row(f->tried, leaf->oid, tid, HASH_FIND))
				continue;		/* taken, or updated before and left NULL */
			tids[n] = *tid;
			texts[n] = DatumGetTextPCopy(SPI_getbinval(tup, desc, 2, &isnull));
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
		/* fewer rows than asked: the window has no more (unlocked) ones */
		if (got < want || ItemPointerEquals(&next, last))
			ItemPointerCopy(&end, last);
		else
			ItemPointerCopy(&next, last);
	}

	/* embed them, in encoder calls of PGB_BULK_CALL_TOKENS tokens (or of
	 * PGB_BATCH_TOKENS a thread); the model is looked up again, as an
	 * install elsewhere may have reloaded it */
	pgb_call_for_model(&f->call, f->model);
	hidden = f->call.lm->model.config.hidden;
	if (f->emb_floats < (size_t) hidden * f->batch_size)
	{
		if (f->emb)
			pfree(f->emb);
		f->emb_floats = (size_t) hidden * f->batch_size;
		f->emb = MemoryContextAllocHuge(f->keep, sizeof(float) * f->emb_floats);
	}
	if (f->arr == NULL || ARR_DIMS(f->arr)[0] != hidden)
	{
		if (f->arr)
			pfree(f->arr);
		MemoryContextSwitchTo(f->keep);
		f->arr = pgb_float_array(f->emb, hidden);
		MemoryContextSwitchTo(batchcxt);
	}
	emb = f->emb;
	*tried_new = n;
	pgb_batch_init(&batch, f->call.lm, f->call.limit, pgb_bulk_threads(), PGB_BULK_CALL_TOKENS);
	for (int i = 0; i <= n; i++)
	{
		BertTokens *tok = i < n ? pgb_call_tokens(&f->call, texts[i]) : NULL;

		if (batch.n_seq > 0 && (i == n || !pgb_batch_fits(&batch, tok)))
		{
			first += pgb_batch_run_into(&batch, emb + (size_t) first * hidden);
			f->threads = Max(f->threads, pgb_last_threads());
		}
		if (tok)
			pgb_batch_add(&batch, tok);
	}
	pgb_batch_free(&batch);

	/* write each where it is still due, to the text it was computed from */
	for (int i = 0; i < n; i++)
	{
		/* the statement copies it into the row: one array serves every row */
		memcpy(ARR_DATA_PTR(f->arr), emb + (size_t) i * hidden, sizeof(float) * hidden);
		args[0] = PointerGetDatum(f->arr);
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
	return more;
}

/* NULL rows of the leaves this run has not tried (read, not locked). */
static int64
untried_rows(Fill *f, List *leaf_list)
{
	int64		n = 0;
	ListCell   *lc;

	foreach(lc, leaf_list)
	{
		Leaf	   *leaf = lfirst(lc);

		if (SPI_execute(leaf->nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "bert_embed_table: reading %s failed", leaf->name);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			ItemPointer tid = (ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[i],
																		  SPI_tuptable->tupdesc, 1, &isnull));

			n += !tried_row(f->tried, leaf->oid, tid, HASH_FIND);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_commit();
	return n;
}

/*
 * A Citus table's rows live in shards (and replicas) whose ctids identify
 * nothing here: refuse it, naming the statement that fills it (a reference
 * table: one UPDATE; a distributed table: this procedure on every shard).
 */
static void
refuse_citus_table(Oid source, const char *text_col, const char *target_col,
				   int batch_size, const char *model)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(source)};
	char		method;
	bool		isnull;
	char	   *rel;
	char	   *hint;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "bert_embed_table: SPI_connect failed");
	if (SPI_execute_with_args("SELECT partmethod FROM pg_catalog.pg_dist_partition "
							  "WHERE logicalrelid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "bert_embed_table: reading pg_dist_partition failed");
	method = SPI_processed == 0 ? '\0' :
		DatumGetChar(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (method == '\0')
		return;
	rel = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(source)));
	if (method == 'n')
		hint = psprintf("Fill it in one statement: UPDATE %s SET %s = bert_embed(%s, %s) WHERE %s IS NULL;",
						rel, quote_identifier(target_col), quote_identifier(text_col),
						quote_literal_cstr(model), quote_identifier(target_col));
	else
	{
		StringInfoData rest;
		StringInfoData call;

		/* the procedure's arguments after the shard's name, % doubled for format() */
		initStringInfo(&rest);
		appendStringInfo(&rest, "%s, %s, %d, %s", quote_literal_cstr(text_col),
						 quote_literal_cstr(target_col), batch_size, quote_literal_cstr(model));
		initStringInfo(&call);
		appendStringInfoString(&call, "CALL bert_embed_table(%L, ");
		for (const char *c = rest.data; *c; c++)
		{
			if (*c == '%')
				appendStringInfoChar(&call, '%');
			appendStringInfoChar(&call, *c);
		}
		appendStringInfoChar(&call, ')');
		hint = psprintf("Run it on every shard, on the workers: SELECT * FROM run_command_on_shards(%s, %s);",
						quote_literal_cstr(rel), quote_literal_cstr(call.data));
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("bert_embed_table cannot fill Citus table %s", rel),
			 errdetail("It finds rows by ctid, which does not identify a row across the shards and replicas of a Citus table."),
			 errhint("%s", hint)));
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
	int			waits = 0;
	int64		left;
	Oid			nsp;

	/* first: the recipe it names is what a Citus user needs, wherever they call it */
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !PG_ARGISNULL(3) &&
		!PG_ARGISNULL(4))
		refuse_citus_table(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)),
						   NameStr(*PG_GETARG_NAME(2)), PG_GETARG_INT32(3),
						   text_to_cstring(PG_GETARG_TEXT_PP(4)));
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
	f.keep = CurrentMemoryContext;
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
					(long long) f.todo, f.source, f.model,
					f.threads, f.threads == 1 ? "" : "s")));
	f.threads = 0;
	INSTR_TIME_SET_CURRENT(f.started);

	for (;;)
	{
		int64		tried = 0;
		ListCell   *lc;

		foreach(lc, leaf_list)
		{
			Leaf	   *leaf = lfirst(lc);
			ItemPointerData last;
			bool		more;

			ItemPointerSet(&last, 0, 0);
			do
			{
				int			tried_new;

				CHECK_FOR_INTERRUPTS();
				more = fill_batch(&f, leaf, &last, &tried_new);
				SPI_commit();
				if (tried_new > 0)
					progress(&f);
				tried += tried_new;
			} while (more);
		}
		if (tried > 0)
			continue;			/* rows were tried: look again for moved ones */
		/* nothing new: done, unless NULL rows this run has not tried are
		 * locked by other sessions for now */
		if (untried_rows(&f, leaf_list) == 0 || ++waits > LOCKED_RETRIES)
			break;
		pg_usleep(LOCKED_RETRY_MS * 1000L);
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
