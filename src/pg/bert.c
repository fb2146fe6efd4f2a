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
#include "utils/timestamp.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "nodes/value.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/tuplestore.h"
#include <dirent.h>

#include "bert.h"
#include "cache.h"
#include "encoder.h"
#include "model.h"
#include "ops.h"
#include "tokenizer.h"

PG_MODULE_MAGIC;

/* GUCs (pgb_model_dir lives in cache.c) */
static char *bert_default_model = NULL;
static char *bert_preload_models = NULL;
static int	bert_max_tokens = 0;
static bool bert_truncate = true;
static int	bert_threads = 1;

/* bert_embed_many runs at most this many tokens per encoder call */
#define BATCH_TOKENS 2048

/* Scratch reused by every call, so an ERROR cannot leak it. */
static BertTokens scratch_tokens;
static float *scratch_embedding = NULL;
static int	scratch_embedding_len = 0;

void		_PG_init(void);

/*
 * Polled by the encoder between steps (possibly from its worker threads, so
 * it only reads flags): cancel and timeouts stop it promptly, and pgb_run()
 * then services the interrupt on the backend's own thread.  Interrupts held
 * off do not stop it, or it would stop again at once after every rerun.
 */
static int
interrupt_pending(void)
{
	return INTERRUPTS_PENDING_CONDITION() && INTERRUPTS_CAN_BE_PROCESSED();
}

void
_PG_init(void)
{
	DefineCustomStringVariable("bert.default_model",
							   "Model used by the functions called without a model argument.",
							   NULL,
							   &bert_default_model,
							   "all-MiniLM-L6-v2",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("bert.max_tokens",
							"Most word pieces a model sees per input, [CLS] and [SEP] included.",
							"0 means the model's own maximum sequence length.",
							&bert_max_tokens,
							0, 0, 65536,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("bert.truncate",
							 "Cut inputs longer than the token limit (off: raise an error).",
							 NULL,
							 &bert_truncate,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("bert.threads",
							"Threads one backend uses for large batches.",
							"Parallel query workers, and their leader, always use one.",
							&bert_threads,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("bert.model_dir",
							   "Directory that holds the models (NAME.bert).",
							   "Empty means $PGDATA/pg_bert/models, then SHAREDIR/bert/models.",
							   &pgb_model_dir,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);
	/* PGC_POSTMASTER settings can only exist when loaded at server start */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("bert.preload_models",
								   "Comma-separated models to load at server start.",
								   "Needs bert in shared_preload_libraries.",
								   &bert_preload_models,
								   "",
								   PGC_POSTMASTER,
								   GUC_LIST_INPUT,
								   NULL, NULL, NULL);
	MarkGUCPrefixReserved("bert");

	bcore_interrupt_pending = interrupt_pending;

	/* in the postmaster: map the weights, touch nothing else (no BLIS, no threads) */
	if (process_shared_preload_libraries_in_progress &&
		bert_preload_models != NULL && bert_preload_models[0] != '\0')
		pgb_preload(bert_preload_models);
}

/* The model argument at position argno, or bert.default_model if absent. */
LoadedModel *
pgb_model_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno)
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
		LoadedModel *lm = pgb_get_model(name);

		pfree(name);
		return lm;
	}
	return pgb_get_model(bert_default_model);
}

static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* The text as UTF-8 (the tokenizer's input encoding), and its length. */
char *
pgb_text_to_utf8(text *t, int *len)
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
	char	   *utf8 = pgb_text_to_utf8(input, &len);

	if (bcore_tokenize_utf8(&lm->model.vocab, utf8, (size_t) len, max_tokens,
					  &scratch_tokens) != BERT_TOK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory tokenizing input")));
	if (utf8 != VARDATA_ANY(input))
		pfree(utf8);
	return &scratch_tokens;
}

/*
 * The token limit of a call: its max_tokens argument at argno if given,
 * else bert.max_tokens if set, else the model's maximum sequence length.
 */
int
pgb_token_limit(FunctionCallInfo fcinfo, int argno, LoadedModel *lm)
{
	const BertConfig *c = &lm->model.config;
	int			limit = c->max_seq_len;

	if (PG_NARGS() > argno)
		limit = PG_GETARG_INT32(argno);
	else if (bert_max_tokens > 0)
		limit = bert_max_tokens;
	if (limit < 2 || limit > c->max_positions)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token limit %d is out of range for model \"%s\"", limit, lm->name),
				 errdetail("The model takes 2 to %d tokens, [CLS] and [SEP] included.",
						   c->max_positions)));
	return limit;
}

/* The tokens the model sees: cut to limit, or an error if bert.truncate is off. */
BertTokens *
pgb_model_tokens(LoadedModel *lm, text *input, int limit)
{
	BertTokens *tok = tokenize(lm, input, bert_truncate ? (size_t) limit : 0);

	if (!bert_truncate && tok->total > (size_t) limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input is %zu tokens long, more than the limit of %d", tok->total, limit),
				 errhint("Set bert.truncate = on to use its first %d tokens, or raise bert.max_tokens (at most %d for model \"%s\").",
						 limit, lm->model.config.max_positions, lm->name)));
	return tok;
}

/*
 * Run the encoder on n_seq sequences laid end to end (ids, seq_len), for
 * lm; the last hidden state is then in lm->state.
 */
void
pgb_run(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq)
{
	BertEncStatus status;
	int64		tokens = 0;
	int			threads;

	for (int s = 0; s < n_seq; s++)
		tokens += seq_len[s];

	/*
	 * In parallel query every process already has a core, so more threads
	 * would oversubscribe.  A batch big enough to cut into chunks runs its
	 * chunks on threads side by side (BLIS single-threaded in each); one
	 * long sequence gets BLIS's threads instead; short ones run alone.
	 */
	threads = IsInParallelMode() ? 1 : bert_threads;
	if (n_seq > 1 && tokens >= 2 * BERT_MIN_CHUNK_TOKENS)
		bcore_blas_init(1);
	else
	{
		bcore_blas_init(tokens < 128 ? 1 : threads);
		threads = 1;
	}
	/* stopped by an interrupt: service it (an ERROR leaves here), else rerun */
	while ((status = bcore_encode_threads(&lm->model, &lm->state, ids, seq_len, n_seq,
										 threads)) == BERT_ENC_INTERRUPTED)
		CHECK_FOR_INTERRUPTS();
	if (status == BERT_ENC_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory running model \"%s\"", lm->name)));
	if (status != BERT_ENC_OK)
		elog(ERROR, "bert: encoder rejected its input");
	pgb_count_use(lm, tokens);
}

/* UTF-8 bytes from the model as text in the database encoding (a piece or
 * label may not exist there: then the conversion raises the usual error). */
text *
pgb_utf8_text(const char *s, int len)
{
	char	   *c = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
													   PG_UTF8, GetDatabaseEncoding());

	return c == s ? cstring_to_text_with_len(s, len) : cstring_to_text(c);
}

/* Word piece id of the vocabulary, as text. */
text *
pgb_piece_text(const BertVocab *v, int32 id)
{
	return pgb_utf8_text(v->blob + v->offsets[id], (int) (v->offsets[id + 1] - v->offsets[id]));
}

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

ArrayType *
pgb_float_array(const float *v, int n)
{
	/* built in one piece: no Datum array per call on the hot path */
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * n;
	ArrayType  *a = palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), v, sizeof(float4) * n);
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
	Datum		values[8];
	bool		nulls[8] = {0};
	char		dirs[2][MAXPGPATH];
	int			ndirs = pgb_models_dirs(dirs);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bert_info: return type must be a row type");
	bcore_blas_init(1);
	values[0] = CStringGetTextDatum(bcore_blas_version());
	values[1] = CStringGetTextDatum(bcore_blas_arch());
	values[2] = CStringGetTextDatum(bcore_blas_arch_reason());
	values[3] = Int32GetDatum(bcore_blas_threads());
	values[4] = Int32GetDatum(BERT_FORMAT_VERSION);
	values[5] = CStringGetTextDatum(ndirs == 1 ? dirs[0] : psprintf("%s:%s", dirs[0], dirs[1]));
	values[6] = CStringGetTextDatum(bcore_cpu_features());
	values[7] = CStringGetTextDatum(bcore_kernels_isa());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(bert_install_model);
Datum
bert_install_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		replace = PG_GETARG_BOOL(2);

	pgb_check_file_privilege("install a model");
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model path must be absolute")));
	pgb_install_model_file(name, path, replace);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bert_drop_model);
Datum
bert_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	pgb_check_file_privilege("drop a model");
	pgb_drop_model_file(name);
	PG_RETURN_VOID();
}

const char *
pgb_kind_name(BertModelKind kind)
{
	switch (kind)
	{
		case BERT_KIND_EMBEDDING:
			return "embedding";
		case BERT_KIND_TOKEN_CLASSIFICATION:
			return "token classification";
		case BERT_KIND_SEQUENCE_CLASSIFICATION:
			return "sequence classification";
	}
	return "unknown";
}

/* One catalogue row for the model file at path (name.bert in dir). */
static void
model_row(ReturnSetInfo *rsinfo, const char *name, const char *dir)
{
	Datum		values[17];
	bool		nulls[17] = {0};
	char		path[MAXPGPATH];
	char		err[512];
	BertModel	m;
	BertModelInfo info;
	BertModelStatus status;

	snprintf(path, sizeof(path), "%s/%s.bert", dir, name);
	status = bcore_model_open(path, &m, err, sizeof(err));
	pgb_model_usage(name, path, &info);
	values[0] = CStringGetTextDatum(name);
	if (status == BERT_MODEL_OK)
	{
		const BertConfig *c = &m.config;
		Datum	   *labels = palloc(sizeof(Datum) * (m.n_labels + 1));

		for (uint32 i = 0; i < m.n_labels; i++)
		{
			size_t		len;
			const char *l = bcore_model_label(&m, i, &len);

			labels[i] = PointerGetDatum(cstring_to_text_with_len(l, (int) len));
		}
		values[1] = CStringGetTextDatum(pgb_kind_name(c->kind));
		values[2] = Int32GetDatum(c->n_layers);
		values[3] = Int32GetDatum(c->hidden);
		values[4] = Int32GetDatum(c->n_heads);
		values[5] = Int32GetDatum(c->vocab_size);
		values[6] = Int32GetDatum(c->max_positions);
		values[7] = Int32GetDatum(c->max_seq_len);
		values[8] = PointerGetDatum(construct_array(labels, (int) m.n_labels, TEXTOID, -1, false, TYPALIGN_INT));
		values[9] = CStringGetTextDatum(c->pooling == BERT_POOL_CLS ? "cls" : "mean");
		values[10] = BoolGetDatum((c->flags & BERT_FLAG_NORMALIZE) != 0);
		bcore_model_close(&m);
	}
	else
	{
		/* listed, so that a broken file can be seen and dropped */
		values[1] = CStringGetTextDatum(psprintf("invalid: %s", err));
		for (int i = 2; i <= 10; i++)
			nulls[i] = true;
	}
	values[11] = CStringGetTextDatum(dir);
	values[12] = Int64GetDatum(info.bytes_on_disk);
	values[13] = Int64GetDatum(info.bytes_resident);
	nulls[13] = info.bytes_resident < 0;
	values[14] = TimestampTzGetDatum(info.loaded_since);
	nulls[14] = !info.loaded;
	values[15] = Int64GetDatum(info.calls);
	values[16] = Int64GetDatum(info.tokens);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(bert_models);
Datum
bert_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		dirs[2][MAXPGPATH];
	int			ndirs = pgb_models_dirs(dirs);
	List	   *seen = NIL;

	InitMaterializedSRF(fcinfo, 0);
	for (int d = 0; d < ndirs; d++)
	{
		DIR		   *dir = AllocateDir(dirs[d]);
		struct dirent *de;
		List	   *names = NIL;
		ListCell   *lc;

		if (dir == NULL)
			continue;			/* a directory not created yet lists nothing */
		while ((de = ReadDirExtended(dir, dirs[d], LOG)) != NULL)
		{
			size_t		len = strlen(de->d_name);
			char	   *name;

			if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0 || de->d_name[0] == '.')
				continue;
			name = pnstrdup(de->d_name, len - 5);
			/* an earlier directory hides a model of the same name */
			if (list_member(seen, makeString(name)))
				continue;
			seen = lappend(seen, makeString(name));
			names = lappend(names, name);
		}
		FreeDir(dir);
		list_sort(names, compare_names);
		foreach(lc, names)
			model_row(rsinfo, lfirst(lc), dirs[d]);
	}
	return (Datum) 0;
}
