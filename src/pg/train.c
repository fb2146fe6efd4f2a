/*
 * train.c — heads trained from labeled rows: bert_train_classifier and
 * bert_train_token_classifier.
 *
 * Training embeds the rows of a query with a frozen base model, learns a
 * softmax head with the core's seeded trainer (heads.h) and writes it as an
 * overlay on the base (model_write.h: a few kilobytes that name the base by
 * its content hash), installed in the registry like bert_install_model.
 * The training query runs as the caller, so a role trains only on rows it
 * may read.  The base is loaded for the training alone, so nothing the
 * query does (installing or replacing the base itself, say) can unmap it.
 * All work memory is palloc'd in one context, whose deletion also closes
 * the base, so an ERROR or a cancel leaves nothing behind.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"

#include "cache.h"
#include "catalogue.h"
#include "encoder.h"
#include "entities.h"
#include "heads.h"
#include "model.h"
#include "model_write.h"
#include "run.h"
#include "store.h"
#include "tagger.h"
#include "tokenizer.h"
#include "util.h"

/* Most word pieces and sequences the trainers give one pgb_run() call. */
#define TRAIN_BATCH_TOKENS 2048
#define TRAIN_BATCH_SEQS 64
/* Rows fetched from the training query at a time. */
#define TRAIN_FETCH_ROWS 256

/* An annotated entity of a token-training row, in characters. */
typedef struct TrainEntity
{
	int32		start;
	int32		end;
	char	   *label;			/* UTF-8 */
} TrainEntity;

/* A text of the training query. */
typedef struct TrainExample
{
	int64		first_row;		/* its first row of X */
	int			n_rows;			/* sequence: 1; token: its word pieces */
	char	   *label;			/* sequence: its label, UTF-8 */
	int			first_entity;	/* token: its entities in entities[] */
	int			n_entities;
} TrainExample;

typedef struct TrainSet
{
	MemoryContext cxt;			/* everything below lives here */
	LoadedModel *lm;
	bool		tokens;			/* token head (else sequence head) */
	int			limit;			/* word pieces per text */
	int			d;				/* hidden */

	/* features: one row per text (sequence) or per word piece (token) */
	float	   *X;
	int64		n_rows;			/* rows written */
	int64		reserved;		/* rows promised to examples */
	int64		cap_rows;
	int32	   *piece_start;	/* token: span of the word piece of each row */
	int32	   *piece_end;

	TrainExample *examples;
	int64		n_examples;
	int64		cap_examples;
	TrainEntity *entities;
	int64		n_entities;
	int64		cap_entities;
	int64		skipped;		/* rows with a NULL */

	/* the batch being gathered for one pgb_run() */
	char	   *texts[TRAIN_BATCH_SEQS];	/* token: each text in UTF-8, for tagger features */
	int			text_lens[TRAIN_BATCH_SEQS];
	MemoryContext batchcxt;		/* token: the texts of the batch */
	int32		ids[TRAIN_BATCH_TOKENS];
	int			seq_len[TRAIN_BATCH_SEQS];
	int			n_ids;
	int			n_seq;
} TrainSet;

/* Grow *p (elem bytes each, *cap of them) to hold need. */
static void
grow(TrainSet *ts, void **p, int64 *cap, int64 need, size_t elem)
{
	int64		c = *cap;

	if (need <= c)
		return;
	c = Max(c * 2, Max(need, 64));
	if (*p == NULL)
		*p = MemoryContextAllocHuge(ts->cxt, (Size) c * elem);
	else
		*p = repalloc_huge(*p, (Size) c * elem);
	*cap = c;
}

static void
reserve_rows(TrainSet *ts, int rows)
{
	int64		need = ts->reserved + rows;
	int64		cap = ts->cap_rows;

	if (need <= cap)
		return;
	grow(ts, (void **) &ts->X, &cap, need, sizeof(float) * ts->d);
	if (ts->tokens)
	{
		int64		c2 = ts->cap_rows;

		grow(ts, (void **) &ts->piece_start, &c2, need, sizeof(int32));
		c2 = ts->cap_rows;
		grow(ts, (void **) &ts->piece_end, &c2, need, sizeof(int32));
	}
	ts->cap_rows = cap;
}

/* Encode the gathered batch and append its rows to X. */
static void
flush_batch(TrainSet *ts)
{
	LoadedModel *lm = ts->lm;
	int			off = 0;

	if (ts->n_seq == 0)
		return;
	pgb_run(lm, ts->ids, ts->seq_len, ts->n_seq);
	if (!ts->tokens)
	{
		bcore_pool(&lm->model, &lm->state, ts->seq_len, ts->n_seq,
				  ts->X + ts->n_rows * ts->d);
		ts->n_rows += ts->n_seq;
	}
	else
	{
		float	   *feat = palloc(sizeof(float) * (size_t) ts->d * TRAIN_BATCH_TOKENS);
		int32	   *start = palloc(sizeof(int32) * TRAIN_BATCH_TOKENS);
		int32	   *end = palloc(sizeof(int32) * TRAIN_BATCH_TOKENS);
		uint8	   *sub = palloc(TRAIN_BATCH_TOKENS);

		for (int s = 0; s < ts->n_seq; s++)
		{
			/* the word pieces' tagger features (tagger.h), without [CLS] and [SEP] */
			int			n = ts->seq_len[s];
			int			pieces = n - 2;
			int			h = lm->model.config.hidden;

			start[0] = end[0] = start[n - 1] = end[n - 1] = 0;
			memcpy(start + 1, ts->piece_start + ts->n_rows, sizeof(int32) * pieces);
			memcpy(end + 1, ts->piece_end + ts->n_rows, sizeof(int32) * pieces);
			bcore_pieces_subword(&lm->model.vocab, ts->ids + off, start, end, n, sub);
			if (bcore_tagger_features(lm->state.x + (size_t) off * h, n, h, start, end, sub,
									  ts->texts[s], (size_t) ts->text_lens[s], feat) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory computing tagger features")));
			memcpy(ts->X + ts->n_rows * ts->d, feat + ts->d, sizeof(float) * ts->d * pieces);
			ts->n_rows += pieces;
			off += n;
		}
		pfree(feat);
		pfree(start);
		pfree(end);
		pfree(sub);
		MemoryContextReset(ts->batchcxt);
	}
	ts->n_ids = 0;
	ts->n_seq = 0;
}

/* Tokenize one text and add it to the batch; returns its example. */
static TrainExample *
add_text(TrainSet *ts, text *t)
{
	BertTokens *tok = pgb_model_tokens(ts->lm, t, ts->limit);
	int			n = (int) tok->n;
	TrainExample *ex;
	int			rows = ts->tokens ? n - 2 : 1;

	if (ts->tokens)
		pgb_spans_to_chars(t, tok); /* as the entities count: in characters */

	if (ts->n_seq == TRAIN_BATCH_SEQS || ts->n_ids + n > TRAIN_BATCH_TOKENS)
		flush_batch(ts);
	Assert(n <= TRAIN_BATCH_TOKENS);
	memcpy(ts->ids + ts->n_ids, tok->ids, sizeof(int32) * n);
	ts->n_ids += n;
	if (ts->tokens)
	{
		int			len;
		char	   *utf8 = pgb_text_to_utf8(t, &len);

		ts->texts[ts->n_seq] = MemoryContextAlloc(ts->batchcxt, len + 1);
		memcpy(ts->texts[ts->n_seq], utf8, len);
		ts->text_lens[ts->n_seq] = len;
	}
	ts->seq_len[ts->n_seq++] = n;

	reserve_rows(ts, rows);
	if (ts->tokens)
		for (int i = 0; i < rows; i++)
		{
			ts->piece_start[ts->reserved + i] = tok->start[i + 1];
			ts->piece_end[ts->reserved + i] = tok->end[i + 1];
		}
	grow(ts, (void **) &ts->examples, &ts->cap_examples, ts->n_examples + 1, sizeof(TrainExample));
	ex = &ts->examples[ts->n_examples++];
	memset(ex, 0, sizeof(*ex));
	ex->first_row = ts->reserved;
	ex->n_rows = rows;
	ts->reserved += rows;
	return ex;
}

/* s (len bytes, database encoding) as a NUL-terminated UTF-8 copy in ts->cxt. */
static char *
utf8_copy(TrainSet *ts, const char *s, int len)
{
	char	   *u = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
													   GetDatabaseEncoding(), PG_UTF8);

	return u == s ? MemoryContextStrdup(ts->cxt, pnstrdup(s, len)) : MemoryContextStrdup(ts->cxt, u);
}

static int
cmp_entity_start(const void *a, const void *b)
{
	const TrainEntity *x = a;
	const TrainEntity *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* An integer member of an entity object, or an ERROR. */
static int32
entity_int(JsonbContainer *obj, const char *key, int idx, int64 row)
{
	JsonbValue	v;
	double		d;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid entity %d in row %lld of the training query", idx + 1, (long long) row),
				 errdetail("\"%s\" must be a number.", key)));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v.val.numeric)));
	if (d != floor(d) || d < 0 || d > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid entity %d in row %lld of the training query", idx + 1, (long long) row),
				 errdetail("\"%s\" must be a non-negative integer (a character offset), not %g.", key, d)));
	return (int32) d;
}

/* The entities of one token-training row (a jsonb array), checked. */
static void
add_entities(TrainSet *ts, TrainExample *ex, Jsonb *jb, int nchars, int64 row)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			idx = 0;

	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entities in row %lld of the training query are not a JSON array", (long long) row),
				 errdetail("Entities are an array of objects like {\"start\": 0, \"end\": 5, \"label\": \"PER\"}.")));
	ex->first_entity = (int) ts->n_entities;
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		TrainEntity *e;
		JsonbValue	lv;

		if (r != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid entity %d in row %lld of the training query", idx + 1, (long long) row),
					 errdetail("An entity is an object like {\"start\": 0, \"end\": 5, \"label\": \"PER\"}.")));
		grow(ts, (void **) &ts->entities, &ts->cap_entities, ts->n_entities + 1, sizeof(TrainEntity));
		e = &ts->entities[ts->n_entities];
		e->start = entity_int(v.val.binary.data, "start", idx, row);
		e->end = entity_int(v.val.binary.data, "end", idx, row);
		if (e->start >= e->end || e->end > nchars)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid entity %d in row %lld of the training query", idx + 1, (long long) row),
					 errdetail("Its span [%d, %d) is not within the text's %d characters, or is empty.",
							   e->start, e->end, nchars)));
		if (getKeyJsonValueFromContainer(v.val.binary.data, "label", 5, &lv) == NULL ||
			lv.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid entity %d in row %lld of the training query", idx + 1, (long long) row),
					 errdetail("\"label\" must be a string.")));
		e->label = utf8_copy(ts, lv.val.string.val, lv.val.string.len);
		if (e->label[0] == '\0' || strcmp(e->label, "O") == 0 || strchr(e->label, '-') != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid entity label \"%s\" in row %lld of the training query",
							e->label, (long long) row),
					 errdetail("An entity label is not empty, not \"O\", and has no \"-\" (labels become B-LABEL and I-LABEL).")));
		ts->n_entities++;
		idx++;
	}
	ex->n_entities = idx;
	if (idx > 1)
	{
		TrainEntity *es = ts->entities + ex->first_entity;

		qsort(es, idx, sizeof(TrainEntity), cmp_entity_start);
		for (int i = 1; i < idx; i++)
			if (es[i].start < es[i - 1].end)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("entities in row %lld of the training query overlap", (long long) row),
						 errdetail("[%d, %d) and [%d, %d) share characters.",
								   es[i - 1].start, es[i - 1].end, es[i].start, es[i].end)));
	}
}

static bool
is_text_type(Oid type)
{
	type = getBaseType(type);
	return type == TEXTOID || type == VARCHAROID || type == BPCHAROID;
}

/*
 * ERROR unless plan is one SELECT that only reads: the query runs in a
 * read-only cursor, whose own errors ("UPDATE is not allowed in a
 * non-volatile function", "does not return rows") would mislead.
 */
static void
check_training_query(SPIPlanPtr plan)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	CachedPlanSource *ps;
	Query	   *q;

	if (list_length(sources) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training query must be a single statement"),
				 errdetail("It has %d statements.", list_length(sources))));
	ps = linitial(sources);
	q = list_length(ps->query_list) == 1 ? linitial_node(Query, ps->query_list) : NULL;
	if (q == NULL || q->commandType != CMD_SELECT || q->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training query must be a SELECT statement"),
				 errdetail("Its command is %s.", GetCommandTagName(ps->commandTag))));
	if (q->hasModifyingCTE || q->rowMarks != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training query must only read"),
				 errdetail(q->hasModifyingCTE ? "Its WITH clause modifies data." : "It locks rows (FOR UPDATE or FOR SHARE).")));
}

/* Run the training query, embedding its texts into ts. */
static void
read_training_query(TrainSet *ts, const char *query)
{
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext rowcxt;
	int64		row = 0;
	bool		checked = false;

	rowcxt = AllocSetContextCreate(ts->cxt, "bert training row", ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "bert: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	check_training_query(plan);
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training query does not return rows")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		TupleDesc	desc;

		SPI_cursor_fetch(portal, true, TRAIN_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		desc = SPI_tuptable->tupdesc;
		if (!checked)
		{
			Oid			t1 = SPI_gettypeid(desc, 1);

			if (desc->natts != 2)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("training query must return 2 columns, not %d", desc->natts),
						 errdetail(ts->tokens ? "The columns are the text and its entities (jsonb)."
								   : "The columns are the text and its label.")));
			if (!is_text_type(t1))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("first column of the training query must be text, not %s",
								format_type_be(t1))));
			if (ts->tokens && getBaseType(SPI_gettypeid(desc, 2)) != JSONBOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("second column of the training query must be jsonb, not %s",
								format_type_be(SPI_gettypeid(desc, 2)))));
			checked = true;
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			MemoryContext old;
			bool		null1,
						null2;
			Datum		d1 = SPI_getbinval(tup, desc, 1, &null1);
			Datum		d2 = SPI_getbinval(tup, desc, 2, &null2);
			TrainExample *ex;

			row++;
			if (null1 || null2)
			{
				ts->skipped++;
				continue;
			}
			old = MemoryContextSwitchTo(rowcxt);
			{
				text	   *t = DatumGetTextPP(d1);

				ex = add_text(ts, t);
				if (ts->tokens)
					add_entities(ts, ex, DatumGetJsonbP(d2),
								 pg_mbstrlen_with_len(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)), row);
				else
				{
					char	   *l = SPI_getvalue(tup, desc, 2);

					ex->label = utf8_copy(ts, l, strlen(l));
				}
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	flush_batch(ts);
	Assert(ts->n_rows == ts->reserved);
	if (ts->skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped %lld of %lld rows with a NULL %s",
						(long long) ts->skipped, (long long) row,
						ts->tokens ? "text or entities" : "text or label")));
	if (ts->n_examples == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training query returned no usable rows"),
				 row > 0 ? errdetail("All %lld rows have a NULL.", (long long) row)
				 : errdetail("It returned no rows.")));
}

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted unique copy of the n strings at s (an array of char *); returns the count. */
static int
sort_unique(char **s, int64 n)
{
	int			u = 0;

	qsort(s, n, sizeof(char *), cmp_cstring);
	for (int64 i = 0; i < n; i++)
		if (u == 0 || strcmp(s[u - 1], s[i]) != 0)
			s[u++] = s[i];
	return u;
}

static int
find_label(char **labels, int k, const char *l)
{
	char	  **p = bsearch(&l, labels, k, sizeof(char *), cmp_cstring);

	if (p == NULL)
		elog(ERROR, "bert: label \"%s\" vanished", l);
	return (int) (p - labels);
}

typedef struct TrainProgress
{
	int			epochs;
	double		loss;
	double		accuracy;
} TrainProgress;

/* After every epoch: report, and honour cancel (our work area is palloc'd). */
static int
train_progress(int epoch, double loss, double accuracy, void *arg)
{
	TrainProgress *p = arg;

	p->loss = loss;
	p->accuracy = accuracy;
	ereport(NOTICE,
			(errmsg("epoch %d of %d: loss %.4f, accuracy %.4f", epoch, p->epochs, loss, accuracy)));
	CHECK_FOR_INTERRUPTS();
	return 0;
}

typedef struct TrainArgs
{
	char	   *name;
	char	   *base;
	char	   *query;
	BertTrainParams params;
	bool		replace;
} TrainArgs;

static void
train_args(FunctionCallInfo fcinfo, TrainArgs *a, bool tokens)
{
	int32		epochs;
	float8		lr;
	float8		l2;

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	epochs = PG_GETARG_INT32(3);
	lr = PG_GETARG_FLOAT8(4);
	l2 = PG_GETARG_FLOAT8(5);

	a->name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	a->base = text_to_cstring(PG_GETARG_TEXT_PP(1));
	a->query = text_to_cstring(PG_GETARG_TEXT_PP(2));
	a->replace = PG_GETARG_BOOL(8);
	/* fail before the work, not after it */
	pgb_check_install(a->name, a->replace,
					  tokens ? "bert_train_token_classifier()" : "bert_train_classifier()");
	if (epochs < 1 || epochs > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("epochs must be between 1 and 100000, not %d", epochs)));
	if (!(lr > 0 && lr <= 10))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("learning_rate must be greater than 0 and at most 10, not %g", lr)));
	if (!(l2 >= 0 && l2 <= 1000))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 must be between 0 and 1000, not %g", l2)));
	bcore_train_params_default(&a->params);
	a->params.epochs = epochs;
	a->params.learning_rate = (float) lr;
	a->params.l2 = (float) l2;
	/* 0 would mean "the default" to the core: keep every seed distinct */
	a->params.seed = (uint64) (uint32) PG_GETARG_INT32(6) + 1;
	a->params.class_weight = PG_GETARG_BOOL(7) ? BERT_CLASS_WEIGHT_BALANCED : BERT_CLASS_WEIGHT_NONE;

}

static void
close_base(void *arg)
{
	pgb_close_model((LoadedModel *) arg);
}

/* The base model, loaded for this training alone and closed with cxt. */
static LoadedModel *
base_model(const char *base, MemoryContext cxt)
{
	LoadedModel *lm = pgb_open_model(base);
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

	cb->func = close_base;
	cb->arg = lm;
	MemoryContextRegisterResetCallback(cxt, cb);
	if (lm->model.config.kind != BERT_KIND_EMBEDDING)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("base model \"%s\" is not an embedding model", base),
				 errdetail("Its kind is %s; a new head is trained on a model without one.",
						   pgb_kind_name(lm->model.config.kind))));
	return lm;
}

/* Learn W, b on ts with labels y (k of them). */
static void
train_head(TrainSet *ts, const int *y, int k, const BertTrainParams *params,
		   float *W, float *b, char **labels, float *crf, TrainProgress *progress)
{
	size_t		ws = bcore_train_softmax_work_size((int) ts->n_rows, ts->d, k, params);
	void	   *work = MemoryContextAllocHuge(ts->cxt, ws);
	BertHeadStatus st;

	if (ts->n_rows > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many training rows: %lld", (long long) ts->n_rows)));
	progress->epochs = params->epochs;
	if (crf == NULL)
		st = bcore_train_softmax(ts->X, (int) ts->n_rows, ts->d, y, k, params, work, W, b,
								train_progress, progress);
	else
	{
		/* the softmax head, then its label transitions, sentence by sentence */
		int		   *seq_start = MemoryContextAllocHuge(ts->cxt, sizeof(int) * (ts->n_examples + 1));
		size_t	   *lens = MemoryContextAlloc(ts->cxt, sizeof(size_t) * k);

		for (int64 i = 0; i < ts->n_examples; i++)
			seq_start[i] = (int) ts->examples[i].first_row;
		seq_start[ts->n_examples] = (int) ts->n_rows;
		for (int i = 0; i < k; i++)
			lens[i] = strlen(labels[i]);
		st = bcore_train_tagger(ts->X, (int) ts->n_rows, ts->d, seq_start, (int) ts->n_examples,
								y, k, (const char *const *) labels, lens, params, work, W, b,
								crf, crf + (size_t) k * k, crf + (size_t) k * k + k,
								train_progress, progress);
	}
	if (st == BERT_HEAD_DIVERGED)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("training diverged"),
				 errdetail("The loss became infinite or NaN."),
				 errhint("Try a smaller learning_rate.")));
	if (st == BERT_HEAD_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory training a classifier")));
	if (st != BERT_HEAD_OK)
		elog(ERROR, "bert: trainer rejected its input: %s", bcore_head_status_message(st));
}

/*
 * Write the trained head as an overlay on the base and install it under
 * a->name, like bert_install_model.
 */
static void
write_and_install(TrainSet *ts, TrainArgs *a, BertModelKind kind, char **labels, int k,
				  const float *W, const float *b, const float *tagger, const float *crf,
				  const char *fn)
{
	char		tmp[MAXPGPATH];
	char		err[512];
	size_t	   *lens = MemoryContextAlloc(ts->cxt, sizeof(size_t) * k);
	uint8		base_sha[BERT_SHA256_LEN];
	BertHeadSpec spec;
	BertWriteStatus st;
	char	   *source = psprintf("%s on %.64s", fn, a->base);

	if (!pgb_sha256_parse(ts->lm->hash, base_sha))
		elog(ERROR, "bert: base model \"%s\" has no content hash", a->base);
	for (int i = 0; i < k; i++)
		lens[i] = strlen(labels[i]);
	memset(&spec, 0, sizeof(spec));
	spec.kind = kind;
	spec.num_labels = k;
	spec.labels = (const char *const *) labels;
	spec.label_lens = lens;
	spec.cls_w = W;
	spec.cls_b = b;
	spec.keep_pooler = 0;
	spec.tagger = tagger;
	if (crf)
	{
		/* crf: transitions (k x k), start (k), end (k) back to back */
		spec.crf_trans = crf;
		spec.crf_start = crf + (size_t) k * k;
		spec.crf_end = crf + (size_t) k * k + k;
	}
	spec.source = source;
	spec.overlay_base_sha256 = base_sha;

	/* a server temporary file: removed at restart if we die before it is stored */
	pgb_temp_path(tmp, sizeof(tmp), "train");
	PG_TRY();
	{
		st = bcore_model_write(tmp, &ts->lm->model, &spec, err, sizeof(err));
		if (st != BERT_WRITE_OK)
			ereport(ERROR,
					(st == BERT_WRITE_NOMEM ? errcode(ERRCODE_OUT_OF_MEMORY) :
					 st == BERT_WRITE_BAD_INPUT ? errcode(ERRCODE_INVALID_PARAMETER_VALUE) :
					 errcode(ERRCODE_IO_ERROR),
					 errmsg("could not write model \"%s\"", a->name),
					 errdetail("%s", err)));
		/* the activation buffers grew for the batches: give them back */
		bcore_run_state_free(&ts->lm->state);
		pgb_install_own_file(a->name, tmp, source, a->base, a->replace, fn);
	}
	PG_FINALLY();
	{
		pgb_unlink_if_exists(tmp);
	}
	PG_END_TRY();
}

static Datum
train_result(FunctionCallInfo fcinfo, const char *name, char **labels, int k,
			 int64 examples, const TrainProgress *p)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {0};
	Datum	   *l = palloc(sizeof(Datum) * k);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bert: return type must be a row type");
	for (int i = 0; i < k; i++)
		l[i] = PointerGetDatum(pgb_utf8_text(labels[i], (int) strlen(labels[i])));
	values[0] = CStringGetTextDatum(name);
	values[1] = PointerGetDatum(construct_array(l, k, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = Int64GetDatum(examples);
	values[3] = Float8GetDatum(p->loss);
	values[4] = Float8GetDatum(p->accuracy);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

/*
 * Learn the head for labels y (k of them) on ts, with a CRF when tagger is
 * given (filled here), install it as a->name and return the result row;
 * frees ts.
 */
static Datum
train_and_install(FunctionCallInfo fcinfo, TrainSet *ts, TrainArgs *a, BertModelKind kind,
				  char **labels, int k, const int *y, float *tagger, const char *fn)
{
	float	   *W = MemoryContextAlloc(ts->cxt, sizeof(float) * k * ts->d);
	float	   *b = MemoryContextAlloc(ts->cxt, sizeof(float) * k);
	float	   *crf = NULL;
	TrainProgress progress = {0};
	Datum		result;

	if (tagger != NULL)
	{
		crf = MemoryContextAlloc(ts->cxt, sizeof(float) * (k * k + 2 * k));
		bcore_tagger_config(ts->lm->model.config.hidden, tagger);
	}
	train_head(ts, y, k, &a->params, W, b, tagger ? labels : NULL, crf, &progress);
	write_and_install(ts, a, kind, labels, k, W, b, tagger, crf, fn);
	result = train_result(fcinfo, a->name, labels, k, ts->n_examples, &progress);
	MemoryContextDelete(ts->cxt);
	return result;
}

static TrainSet *
train_set(FunctionCallInfo fcinfo, const char *base, bool tokens)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "bert training",
											  ALLOCSET_DEFAULT_SIZES);
	TrainSet   *ts = MemoryContextAllocZero(cxt, sizeof(TrainSet));
	LoadedModel *lm;

	ts->cxt = cxt;
	lm = base_model(base, cxt);
	ts->lm = lm;
	ts->tokens = tokens;
	/* a token head reads the tagger's features (tagger.h) */
	ts->d = tokens ? bcore_tagger_dim(lm->model.config.hidden) : lm->model.config.hidden;
	ts->batchcxt = AllocSetContextCreate(cxt, "bert training batch", ALLOCSET_DEFAULT_SIZES);
	ts->limit = Min(pgb_token_limit(fcinfo, PG_NARGS(), lm), TRAIN_BATCH_TOKENS);
	return ts;
}

PG_FUNCTION_INFO_V1(bert_train_classifier);
Datum
bert_train_classifier(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	TrainSet   *ts;
	char	  **labels;
	int			k;
	int		   *y;

	train_args(fcinfo, &a, false);
	ts = train_set(fcinfo, a.base, false);
	read_training_query(ts, a.query);

	labels = MemoryContextAlloc(ts->cxt, sizeof(char *) * ts->n_examples);
	for (int64 i = 0; i < ts->n_examples; i++)
		labels[i] = ts->examples[i].label;
	k = sort_unique(labels, ts->n_examples);
	if (k < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training data has only one label"),
				 errdetail("Every row is labelled \"%s\"; a classifier needs at least two labels.", labels[0])));
	y = MemoryContextAllocHuge(ts->cxt, sizeof(int) * ts->n_rows);
	for (int64 i = 0; i < ts->n_examples; i++)
		y[ts->examples[i].first_row] = find_label(labels, k, ts->examples[i].label);

	return train_and_install(fcinfo, ts, &a, BERT_KIND_SEQUENCE_CLASSIFICATION, labels, k, y, NULL,
							 "bert_train_classifier()");
}

PG_FUNCTION_INFO_V1(bert_train_token_classifier);
Datum
bert_train_token_classifier(PG_FUNCTION_ARGS)
{
	TrainArgs	a;
	TrainSet   *ts;
	char	  **types;
	int			n_types;
	char	  **labels;
	int			k;
	int		   *y;
	float		tagger[BERT_TAGGER_CONFIG_LEN];
	int64		missed = 0;
	BertBioScheme scheme;
	BertBioSpan *spans;

	train_args(fcinfo, &a, true);
	ts = train_set(fcinfo, a.base, true);
	read_training_query(ts, a.query);
	if (ts->n_entities == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training data has no entities"),
				 errdetail("A token classifier needs at least one annotated entity.")));
	if (ts->n_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training texts have no word pieces")));

	/* the label scheme: O, B-T, I-T for the types sorted bytewise */
	types = MemoryContextAlloc(ts->cxt, sizeof(char *) * ts->n_entities);
	for (int64 i = 0; i < ts->n_entities; i++)
		types[i] = ts->entities[i].label;
	n_types = sort_unique(types, ts->n_entities);
	{
		size_t	   *lens = MemoryContextAlloc(ts->cxt, sizeof(size_t) * n_types);
		BertHeadStatus st;

		for (int i = 0; i < n_types; i++)
			lens[i] = strlen(types[i]);
		st = bcore_bio_scheme_build((const char *const *) types, lens, n_types, &scheme);
		if (st != BERT_HEAD_OK)
			elog(ERROR, "bert: BIO scheme: %s", bcore_head_status_message(st));
		/* copy out of malloc'd memory before anything can ERROR */
		k = scheme.n_labels;
		labels = MemoryContextAlloc(ts->cxt, sizeof(char *) * k);
		for (int i = 0; i < k; i++)
			labels[i] = MemoryContextStrdup(ts->cxt, scheme.labels[i]);
		bcore_bio_scheme_free(&scheme);
	}

	y = MemoryContextAllocHuge(ts->cxt, sizeof(int) * ts->n_rows);
	spans = MemoryContextAlloc(ts->cxt, sizeof(BertBioSpan) * Max(1, ts->n_entities));
	for (int64 i = 0; i < ts->n_examples; i++)
	{
		TrainExample *ex = &ts->examples[i];
		int			m = 0;
		BertHeadStatus st;

		for (int j = 0; j < ex->n_entities; j++)
		{
			TrainEntity *e = &ts->entities[ex->first_entity + j];

			spans[m].start = e->start;
			spans[m].end = e->end;
			spans[m].type = find_label(types, n_types, e->label);
			m++;
		}
		if (ex->n_rows == 0)
		{
			missed += m;
			continue;
		}
		{
			int			miss = 0;

			st = bcore_bio_assign(ts->piece_start + ex->first_row, ts->piece_end + ex->first_row,
								 ex->n_rows, spans, m, n_types, y + ex->first_row, &miss);
			if (st != BERT_HEAD_OK)
				elog(ERROR, "bert: BIO labelling: %s", bcore_head_status_message(st));
			missed += miss;
		}
	}
	if (missed > 0)
		ereport(NOTICE,
				(errmsg("%lld of %lld entities start inside a word piece or after the token limit, and are not learnt",
						(long long) missed, (long long) ts->n_entities)));

	return train_and_install(fcinfo, ts, &a, BERT_KIND_TOKEN_CLASSIFICATION, labels, k, y, tagger,
							 "bert_train_token_classifier()");
}
