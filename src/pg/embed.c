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
#include "utils/array.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "encoder.h"
#include "run.h"
#include "tokenizer.h"
#include "util.h"

/* bert_embed_many runs at most this many tokens per encoder call */
#define BATCH_TOKENS 2048

/* Scratch reused by every call, so an ERROR cannot leak it. */
static float *scratch_embedding = NULL;
static int	scratch_embedding_len = 0;

/* Sentence embedding of input into scratch_embedding (hidden floats). */
static float *
embed(LoadedModel *lm, text *input, int limit)
{
	const BertConfig *c = &lm->model.config;
	BertTokens *tok = pgb_model_tokens(lm, input, limit);
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
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	float	   *e = embed(lm, PG_GETARG_TEXT_PP(0), pgb_token_limit(fcinfo, 2, lm));

	PG_RETURN_ARRAYTYPE_P(pgb_float_array(e, lm->model.config.hidden));
}

/*
 * bert_embed_many(inputs text[], model text) -> (ord, embedding): all
 * inputs through the encoder in batches of whole sequences laid end to end,
 * so one GEMM serves many texts and no FLOP goes to padding.
 */
PG_FUNCTION_INFO_V1(bert_embed_many);
Datum
bert_embed_many(PG_FUNCTION_ARGS)
{
	ArrayType  *inputs = PG_GETARG_ARRAYTYPE_P(0);
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	int			limit = pgb_token_limit(fcinfo, 2, lm);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			hidden = lm->model.config.hidden;
	Datum	   *texts;
	bool	   *isnull;
	int			n;
	int32	   *ids = palloc(sizeof(int32) * (BATCH_TOKENS + limit));
	int		   *lens;
	int		   *ords;
	float	   *out;
	int			n_seq = 0,
				n_tok = 0;

	if (ARR_NDIM(inputs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("inputs must be a one-dimensional array")));
	deconstruct_array(inputs, TEXTOID, -1, false, TYPALIGN_INT, &texts, &isnull, &n);
	lens = palloc(sizeof(int) * (n + 1));
	ords = palloc(sizeof(int) * (n + 1));
	out = palloc(sizeof(float) * hidden * (n + 1));
	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i <= n; i++)
	{
		BertTokens *tok = NULL;

		if (i < n && !isnull[i])
			tok = pgb_model_tokens(lm, DatumGetTextPP(texts[i]), limit);
		/* run the batch when the next text would not fit, before a NULL (to
		 * keep rows in input order), and at the end */
		if (n_seq > 0 && (i == n || isnull[i] || n_tok + (int) tok->n > BATCH_TOKENS))
		{
			pgb_run(lm, ids, lens, n_seq);
			bcore_pool(&lm->model, &lm->state, lens, n_seq, out);
			for (int s = 0; s < n_seq; s++)
			{
				Datum		values[2];
				bool		nulls[2] = {false, false};

				values[0] = Int32GetDatum(ords[s]);
				values[1] = PointerGetDatum(pgb_float_array(out + (size_t) s * hidden, hidden));
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			n_seq = n_tok = 0;
		}
		if (i < n && isnull[i])
		{
			Datum		values[2] = {Int32GetDatum(i + 1), (Datum) 0};
			bool		nulls[2] = {false, true};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		if (tok)
		{
			memcpy(ids + n_tok, tok->ids, sizeof(int32) * tok->n);
			lens[n_seq] = (int) tok->n;
			ords[n_seq] = i + 1;
			n_tok += (int) tok->n;
			n_seq++;
		}
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bert_similarity);
Datum
bert_similarity(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = pgb_model_arg(fcinfo, 2);
	int			limit = pgb_token_limit(fcinfo, 3, lm);
	int			h = lm->model.config.hidden;
	float	   *a = palloc(sizeof(float) * h);
	double		sim;

	memcpy(a, embed(lm, PG_GETARG_TEXT_PP(0), limit), sizeof(float) * h);
	sim = cosine(a, embed(lm, PG_GETARG_TEXT_PP(1), limit), h);
	pfree(a);
	PG_RETURN_FLOAT8(sim);
}

PG_FUNCTION_INFO_V1(bert_token_ids);
Datum
bert_token_ids(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	BertTokens *tok = pgb_model_tokens(lm, PG_GETARG_TEXT_PP(0), pgb_token_limit(fcinfo, 2, lm));
	Datum	   *d = palloc(sizeof(Datum) * tok->n);

	for (size_t i = 0; i < tok->n; i++)
		d[i] = Int32GetDatum(tok->ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, (int) tok->n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(bert_tokenize);
Datum
bert_tokenize(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	BertTokens *tok = pgb_model_tokens(lm, PG_GETARG_TEXT_PP(0), pgb_token_limit(fcinfo, 2, lm));
	Datum	   *d = palloc(sizeof(Datum) * tok->n);

	for (size_t i = 0; i < tok->n; i++)
		d[i] = PointerGetDatum(pgb_piece_text(&lm->model.vocab, tok->ids[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(d, (int) tok->n, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(bert_token_count);
Datum
bert_token_count(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	BertTokens *tok = pgb_tokenize(lm, PG_GETARG_TEXT_PP(0), 0);

	if (tok->total > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input has more than %d tokens", PG_INT32_MAX)));
	PG_RETURN_INT32((int32) tok->total);
}

PG_FUNCTION_INFO_V1(bert_cosine_similarity);
Datum
bert_cosine_similarity(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(array_cosine(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1)));
}

PG_FUNCTION_INFO_V1(bert_cosine_distance);
Datum
bert_cosine_distance(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(1.0 - array_cosine(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1)));
}
