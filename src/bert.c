/*
 * bert.c — SQL entry points: check arguments, call the core, build results.
 *
 * Models are opened on first use in a backend and kept for its lifetime; a
 * model name always denotes the same file, so the functions are IMMUTABLE.
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "encoder.h"
#include "model.h"
#include "ops.h"
#include "tokenizer.h"

PG_MODULE_MAGIC;

#define MODEL_NAME_MAX 64

/* GUCs */
static char *bert_model_dir = NULL;

/* One model opened by this backend. */
typedef struct LoadedModel
{
	char		name[MODEL_NAME_MAX + 1];
	BertModel	model;
	BertRunState state;
	struct LoadedModel *next;
} LoadedModel;

static LoadedModel *loaded_models = NULL;

/* Scratch reused by every call, so an ERROR cannot leak it. */
static BertTokens scratch_tokens;
static float *scratch_embedding = NULL;
static int	scratch_embedding_len = 0;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("bert.model_dir",
							   "Directory that holds installed models (NAME.bert).",
							   "Empty means SHAREDIR/bert/models.",
							   &bert_model_dir,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("bert");
}

/* The directory models are read from. */
static void
models_directory(char *buf, size_t len)
{
	if (bert_model_dir != NULL && bert_model_dir[0] != '\0')
		strlcpy(buf, bert_model_dir, len);
	else
	{
		char		share[MAXPGPATH];

		get_share_path(my_exec_path, share);
		snprintf(buf, len, "%s/bert/models", share);
	}
}

/* Model names are file names in the models directory: no path tricks. */
static void
check_model_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > MODEL_NAME_MAX || name[0] == '.' ||
		strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name is 1 to %d letters, digits, \".\", \"_\" or \"-\", and does not start with \".\".",
						   MODEL_NAME_MAX)));
}

static LoadedModel *
get_model(text *name_text)
{
	char	   *name = text_to_cstring(name_text);
	LoadedModel *lm;
	char		dir[MAXPGPATH];
	char		path[MAXPGPATH];
	char		err[512];
	BertModelStatus status;
	BertModel	model;

	for (lm = loaded_models; lm != NULL; lm = lm->next)
		if (strcmp(lm->name, name) == 0)
		{
			pfree(name);
			return lm;
		}

	check_model_name(name);
	models_directory(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.bert", dir, name);

	status = bert_model_open(path, &model, err, sizeof(err));
	if (status != BERT_MODEL_OK)
	{
		struct stat st;

		if (status == BERT_MODEL_IO && stat(path, &st) != 0 && errno == ENOENT)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" is not installed", name),
					 errdetail("There is no file \"%s.bert\" in the models directory.", name)));
		if (status == BERT_MODEL_IO)
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not load model \"%s\"", name),
					 errdetail("%s", err)));
		if (status == BERT_MODEL_NOMEM)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory loading model \"%s\"", name)));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model file for \"%s\" is invalid", name),
				 errdetail("%s", err)));
	}

	lm = MemoryContextAllocZero(TopMemoryContext, sizeof(LoadedModel));
	strlcpy(lm->name, name, sizeof(lm->name));
	lm->model = model;
	lm->next = loaded_models;
	loaded_models = lm;
	pfree(name);
	return lm;
}

/* The text as UTF-8 (the tokenizer's input encoding), and its length. */
static char *
text_to_utf8(text *t, int *len)
{
	char	   *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *u;

	u = (char *) pg_do_encoding_conversion((unsigned char *) s, n,
										   GetDatabaseEncoding(), PG_UTF8);
	*len = (u == s) ? n : (int) strlen(u);
	return u;
}

/* Tokenize input for model into scratch_tokens (truncated if max_tokens > 0). */
static BertTokens *
tokenize(LoadedModel *lm, text *input, size_t max_tokens)
{
	int			len;
	char	   *utf8 = text_to_utf8(input, &len);

	if (bert_tokenize_utf8(&lm->model.vocab, utf8, (size_t) len, max_tokens,
					  &scratch_tokens) != BERT_TOK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory tokenizing input")));
	if (utf8 != VARDATA_ANY(input))
		pfree(utf8);
	return &scratch_tokens;
}

/* Sentence embedding of input into scratch_embedding (hidden floats). */
static float *
embed(LoadedModel *lm, text *input)
{
	const BertConfig *c = &lm->model.config;
	BertTokens *tok = tokenize(lm, input, (size_t) c->max_seq_len);
	int			n = (int) tok->n;
	BertEncStatus status;

	bert_blas_init(1);
	if (scratch_embedding_len < c->hidden)
	{
		if (scratch_embedding)
			pfree(scratch_embedding);
		scratch_embedding = MemoryContextAlloc(TopMemoryContext, sizeof(float) * c->hidden);
		scratch_embedding_len = c->hidden;
	}
	status = bert_encode(&lm->model, &lm->state, tok->ids, &n, 1);
	if (status == BERT_ENC_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory running model \"%s\"", lm->name)));
	if (status != BERT_ENC_OK)
		elog(ERROR, "bert: encoder rejected %d tokens", n);
	bert_pool(&lm->model, &lm->state, &n, 1, scratch_embedding);
	return scratch_embedding;
}

static ArrayType *
float_array(const float *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);
	ArrayType  *a;

	for (int i = 0; i < n; i++)
		d[i] = Float4GetDatum(v[i]);
	a = construct_array(d, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(d);
	return a;
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
	LoadedModel *lm = get_model(PG_GETARG_TEXT_PP(1));
	float	   *e = embed(lm, PG_GETARG_TEXT_PP(0));

	PG_RETURN_ARRAYTYPE_P(float_array(e, lm->model.config.hidden));
}

PG_FUNCTION_INFO_V1(bert_similarity);
Datum
bert_similarity(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = get_model(PG_GETARG_TEXT_PP(2));
	int			h = lm->model.config.hidden;
	float	   *a = palloc(sizeof(float) * h);
	double		sim;

	memcpy(a, embed(lm, PG_GETARG_TEXT_PP(0)), sizeof(float) * h);
	sim = cosine(a, embed(lm, PG_GETARG_TEXT_PP(1)), h);
	pfree(a);
	PG_RETURN_FLOAT8(sim);
}

PG_FUNCTION_INFO_V1(bert_token_ids);
Datum
bert_token_ids(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = get_model(PG_GETARG_TEXT_PP(1));
	BertTokens *tok = tokenize(lm, PG_GETARG_TEXT_PP(0), lm->model.config.max_seq_len);
	Datum	   *d = palloc(sizeof(Datum) * tok->n);

	for (size_t i = 0; i < tok->n; i++)
		d[i] = Int32GetDatum(tok->ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, (int) tok->n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(bert_tokenize);
Datum
bert_tokenize(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = get_model(PG_GETARG_TEXT_PP(1));
	BertTokens *tok = tokenize(lm, PG_GETARG_TEXT_PP(0), lm->model.config.max_seq_len);
	const BertVocab *v = &lm->model.vocab;
	Datum	   *d = palloc(sizeof(Datum) * tok->n);
	int			encoding = GetDatabaseEncoding();

	for (size_t i = 0; i < tok->n; i++)
	{
		uint32		id = (uint32) tok->ids[i];
		const char *piece = v->blob + v->offsets[id];
		int			len = (int) (v->offsets[id + 1] - v->offsets[id]);
		char	   *s;

		/* a vocabulary piece may not exist in the database encoding */
		s = (char *) pg_do_encoding_conversion((unsigned char *) piece, len,
											   PG_UTF8, encoding);
		d[i] = PointerGetDatum(s == piece ? cstring_to_text_with_len(piece, len)
							   : cstring_to_text(s));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(d, (int) tok->n, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(bert_token_count);
Datum
bert_token_count(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = get_model(PG_GETARG_TEXT_PP(1));
	BertTokens *tok = tokenize(lm, PG_GETARG_TEXT_PP(0), 0);

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

PG_FUNCTION_INFO_V1(bert_info);
Datum
bert_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	char		dir[MAXPGPATH];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bert_info: return type must be a row type");
	bert_blas_init(1);
	models_directory(dir, sizeof(dir));
	values[0] = CStringGetTextDatum(bert_blas_version());
	values[1] = CStringGetTextDatum(bert_blas_arch());
	values[2] = CStringGetTextDatum(bert_blas_arch_reason());
	values[3] = Int32GetDatum(bert_blas_threads());
	values[4] = Int32GetDatum(BERT_FORMAT_VERSION);
	values[5] = CStringGetTextDatum(dir);
	values[6] = CStringGetTextDatum(bert_cpu_features());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
