/*
 * embed.c — embeddings, similarity and tokens: bert_embed, bert_embed_many,
 * bert_similarity, the cosine of two real[] and the <=> distance,
 * bert_tokenize, bert_token_ids, bert_token_count.
 *
 * A model name always denotes the same file, so the forms with a model
 * argument are IMMUTABLE; the model is loaded on first use in a backend
 * and kept (cache.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "encoder.h"
#include "run.h"
#include "tokenizer.h"
#include "util.h"

/* Inputs up to this size are remembered by their call site (see Memo). */
#define MEMO_MAX_BYTES 65536

/* Scratch reused by every call, so an ERROR cannot leak it. */
static float *scratch_embedding = NULL;
static int	scratch_embedding_len = 0;

/* Sentence embedding of input into scratch_embedding (hidden floats). */
static float *
embed(const PgbCall *call, text *input)
{
	LoadedModel *lm = call->lm;
	const BertConfig *c = &lm->model.config;
	BertTokens *tok = pgb_call_tokens(call, input);
	int			n = (int) tok->n;

	if (scratch_embedding_len < c->hidden)
	{
		if (scratch_embedding)
			pfree(scratch_embedding);
		scratch_embedding = MemoryContextAlloc(TopMemoryContext, sizeof(float) * c->hidden);
		scratch_embedding_len = c->hidden;
	}
	pgb_run(lm, tok->ids, &n, 1);
	bcore_pool(&lm->model, &lm->state, &n, 1, scratch_embedding);
	return scratch_embedding;
}

/*
 * The last input of one argument of a call site and its embedding, kept
 * for the query in fn_extra: a constant argument (`ORDER BY e <=>
 * bert_embed('q')`, bert_similarity(body, 'constant')) runs the model once
 * per statement, not once per row.  A hit needs the same bytes, model,
 * limit and truncation, so a parameter that changes between executions of
 * a kept expression (PL/pgSQL) is embedded again.
 */
typedef struct Memo
{
	bool		valid;
	LoadedModel *lm;
	char		model[BERT_MODEL_NAME_MAX + 1];
	int			limit;
	bool		truncate;
	Size		len;
	Size		cap;
	char	   *input;
	int			hidden;
	float	   *embedding;
} Memo;

typedef struct CallSite
{
	Memo		memo[2];		/* bert_similarity's two inputs */
	bool		casts_checked;
} CallSite;

static CallSite *
call_site(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(CallSite));
	return (CallSite *) fcinfo->flinfo->fn_extra;
}

/* The embedding of argument argno (text) for call, from its memo if it holds it. */
static const float *
memo_embed(FunctionCallInfo fcinfo, int argno, const PgbCall *call)
{
	Memo	   *m = &call_site(fcinfo)->memo[argno];
	text	   *input = PG_GETARG_TEXT_PP(argno);
	const char *bytes = VARDATA_ANY(input);
	Size		len = VARSIZE_ANY_EXHDR(input);
	int			hidden = call->lm->model.config.hidden;
	float	   *e;

	if (m->valid && m->lm == call->lm && strcmp(m->model, call->lm->name) == 0 &&
		m->limit == call->limit && m->truncate == call->truncate &&
		m->len == len && memcmp(m->input, bytes, len) == 0)
		return m->embedding;

	e = embed(call, input);
	m->valid = false;
	if (len > MEMO_MAX_BYTES && !get_fn_expr_arg_stable(fcinfo->flinfo, argno))
		return e;
	if (m->cap < len || m->input == NULL)
	{
		if (m->input)
			pfree(m->input);
		m->input = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, Max(len, 64));
		m->cap = Max(len, 64);
	}
	if (m->hidden != hidden)
	{
		if (m->embedding)
			pfree(m->embedding);
		m->embedding = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(float) * hidden);
		m->hidden = hidden;
	}
	memcpy(m->input, bytes, len);
	memcpy(m->embedding, e, sizeof(float) * hidden);
	m->len = len;
	m->lm = call->lm;
	strlcpy(m->model, call->lm->name, sizeof(m->model));
	m->limit = call->limit;
	m->truncate = call->truncate;
	m->valid = true;
	return m->embedding;
}

/*
 * ERROR if an argument of this cosine is a non-array value cast implicitly
 * to real[]: with pgvector, `vec <=> bert_embed('q')` (a forgotten cast)
 * would otherwise resolve to this operator through pgvector's implicit
 * cast, compare the vector as a plain array and skip its index.  PostgreSQL
 * has no implicit cast to real[] of its own from a non-array type.
 */
static void
check_implicit_casts(FunctionCallInfo fcinfo, const char *what)
{
	CallSite   *site = call_site(fcinfo);
	Node	   *expr = fcinfo->flinfo->fn_expr;
	List	   *args = NIL;
	ListCell   *lc;

	if (site->casts_checked)
		return;
	if (expr != NULL && IsA(expr, OpExpr))
		args = ((OpExpr *) expr)->args;
	else if (expr != NULL && IsA(expr, FuncExpr))
		args = ((FuncExpr *) expr)->args;
	foreach(lc, args)
	{
		Node	   *arg = lfirst(lc);
		Oid			from = InvalidOid;

		if (IsA(arg, FuncExpr) && ((FuncExpr *) arg)->funcformat == COERCE_IMPLICIT_CAST &&
			((FuncExpr *) arg)->args != NIL)
			from = exprType(linitial(((FuncExpr *) arg)->args));
		else if (IsA(arg, CoerceViaIO) && ((CoerceViaIO *) arg)->coerceformat == COERCE_IMPLICIT_CAST)
			from = exprType((Node *) ((CoerceViaIO *) arg)->arg);
		if (OidIsValid(from) && !type_is_array(from))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s on real[] was given a value of type %s", what, format_type_be(from)),
					 errdetail("The %s was cast to real[] implicitly, so it would be compared as a plain array and no index on it would be used.",
							   format_type_be(from)),
					 errhint("Cast the real[] side to %s instead, for example bert_embed('...')::%s.",
							 format_type_be(from), format_type_be(from))));
	}
	site->casts_checked = true;
}

/* A real[] argument as a plain float vector, or an ERROR saying why not. */
static const float *
float_vector(ArrayType *a, int *n)
{
	if (ARR_ELEMTYPE(a) != FLOAT4OID)
		elog(ERROR, "bert: expected a real[] argument");
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("embedding must be a one-dimensional array")));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("embedding must not contain nulls")));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding must not be empty")));
	return (const float *) ARR_DATA_PTR(a);
}

static double
cosine(const float *a, const float *b, int n)
{
	double		dot = 0.0,
				na = 0.0,
				nb = 0.0;

	for (int i = 0; i < n; i++)
	{
		dot += (double) a[i] * b[i];
		na += (double) a[i] * a[i];
		nb += (double) b[i] * b[i];
	}
	if (na == 0.0 || nb == 0.0)
		return get_float8_nan();
	return dot / sqrt(na * nb);
}

static double
array_cosine(ArrayType *a, ArrayType *b)
{
	int			na,
				nb;
	const float *va = float_vector(a, &na);
	const float *vb = float_vector(b, &nb);

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embeddings have different dimensions %d and %d", na, nb)));
	return cosine(va, vb, na);
}

PG_FUNCTION_INFO_V1(bert_embed);
Datum
bert_embed(PG_FUNCTION_ARGS)
{
	PgbCall		call;

	pgb_call_init(&call, fcinfo, 1);
	PG_RETURN_ARRAYTYPE_P(pgb_float_array(memo_embed(fcinfo, 0, &call),
										  call.lm->model.config.hidden));
}

/*
 * bert_embed_many(inputs text[], model text) -> (ord, embedding): the
 * inputs through the encoder in batches of whole sequences laid end to end,
 * so one GEMM serves many texts and no FLOP goes to padding.  Memory is
 * one batch's, whatever the array's size: the rows go to a tuplestore
 * (which spills to disk past work_mem) batch by batch.
 */
PG_FUNCTION_INFO_V1(bert_embed_many);
Datum
bert_embed_many(PG_FUNCTION_ARGS)
{
	ArrayType  *inputs = PG_GETARG_ARRAYTYPE_P(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext rowcxt;
	MemoryContext old;
	PgbCall		call;
	PgbBatch	batch;
	ArrayIterator it;
	int			hidden;
	int		   *ords;
	int			ord = 0;
	Datum		value;
	bool		isnull;

	if (ARR_NDIM(inputs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("inputs must be a one-dimensional array")));
	pgb_call_init(&call, fcinfo, 1);
	hidden = call.lm->model.config.hidden;
	InitMaterializedSRF(fcinfo, 0);
	pgb_batch_init(&batch, call.lm, call.limit, 1, 0);
	ords = palloc(sizeof(int) * batch.max_seq);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "bert_embed_many rows",
								   ALLOCSET_DEFAULT_SIZES);
	it = array_create_iterator(inputs, 0, NULL);

	for (;;)
	{
		bool		more = array_iterate(it, &value, &isnull);
		BertTokens *tok = NULL;

		ord++;
		old = MemoryContextSwitchTo(rowcxt);
		if (more && !isnull)
			tok = pgb_call_tokens(&call, DatumGetTextPP(value));
		/* run the batch when the next text would not fit, before a NULL (to
		 * keep rows in input order), and at the end */
		if (batch.n_seq > 0 && (!more || isnull || !pgb_batch_fits(&batch, tok)))
		{
			int			n = pgb_batch_run(&batch);

			for (int s = 0; s < n; s++)
			{
				Datum		values[2];
				bool		nulls[2] = {false, false};

				values[0] = Int32GetDatum(ords[s]);
				values[1] = PointerGetDatum(pgb_float_array(batch.out + (size_t) s * hidden, hidden));
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
		if (more && isnull)
		{
			Datum		values[2] = {Int32GetDatum(ord), (Datum) 0};
			bool		nulls[2] = {false, true};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		if (tok)
		{
			ords[batch.n_seq] = ord;
			pgb_batch_add(&batch, tok);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		if (!more)
			break;
	}
	array_free_iterator(it);
	pgb_batch_free(&batch);
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bert_similarity);
Datum
bert_similarity(PG_FUNCTION_ARGS)
{
	PgbCall		call;
	const float *a;
	const float *b;

	pgb_call_init(&call, fcinfo, 2);
	a = memo_embed(fcinfo, 0, &call);
	if (a == scratch_embedding)
	{
		/* not remembered: the second embedding would overwrite it */
		float	   *copy = palloc(sizeof(float) * call.lm->model.config.hidden);

		memcpy(copy, a, sizeof(float) * call.lm->model.config.hidden);
		a = copy;
	}
	b = memo_embed(fcinfo, 1, &call);
	PG_RETURN_FLOAT8(cosine(a, b, call.lm->model.config.hidden));
}

/* The tokens of argument 0 as an array: their ids (int4[]) or pieces (text[]). */
static ArrayType *
token_array(FunctionCallInfo fcinfo, bool pieces)
{
	PgbCall		call;
	BertTokens *tok;
	Datum	   *d;

	pgb_call_init(&call, fcinfo, 1);
	tok = pgb_call_tokens(&call, PG_GETARG_TEXT_PP(0));
	d = palloc(sizeof(Datum) * tok->n);
	for (size_t i = 0; i < tok->n; i++)
		d[i] = pieces ? PointerGetDatum(pgb_piece_text(&call.lm->model.vocab, tok->ids[i]))
			: Int32GetDatum(tok->ids[i]);
	if (pieces)
		return construct_array(d, (int) tok->n, TEXTOID, -1, false, TYPALIGN_INT);
	return construct_array(d, (int) tok->n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

PG_FUNCTION_INFO_V1(bert_token_ids);
Datum
bert_token_ids(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(token_array(fcinfo, false));
}

PG_FUNCTION_INFO_V1(bert_tokenize);
Datum
bert_tokenize(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(token_array(fcinfo, true));
}

PG_FUNCTION_INFO_V1(bert_token_count);
Datum
bert_token_count(PG_FUNCTION_ARGS)
{
	/* the whole input, whatever the limit: only the model is needed */
	int64		total = pgb_count_tokens(pgb_model_arg(fcinfo, 1), PG_GETARG_TEXT_PP(0));

	if (total > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input has more than %d tokens", PG_INT32_MAX)));
	PG_RETURN_INT32((int32) total);
}

PG_FUNCTION_INFO_V1(bert_cosine_similarity);
Datum
bert_cosine_similarity(PG_FUNCTION_ARGS)
{
	check_implicit_casts(fcinfo, "bert_cosine_similarity");
	PG_RETURN_FLOAT8(array_cosine(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1)));
}

PG_FUNCTION_INFO_V1(bert_cosine_distance);
Datum
bert_cosine_distance(PG_FUNCTION_ARGS)
{
	check_implicit_casts(fcinfo, "operator <=>");
	PG_RETURN_FLOAT8(1.0 - array_cosine(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1)));
}
