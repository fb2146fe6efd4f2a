/*
 * run.c — running a model on text: which model a call means
 * (bert.default_model), its token limit (bert.max_tokens, bert.truncate),
 * and the encoder run itself (bert.threads, query cancel), shared by the
 * embedding, classification and training functions.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "cache.h"
#include "encoder.h"
#include "ops.h"
#include "run.h"
#include "tokenizer.h"
#include "util.h"

static char *bert_default_model = NULL;
static int	bert_max_tokens = 0;
static bool bert_truncate = true;
static int	bert_threads = 1;

/* Scratch reused by every call, so an ERROR cannot leak it. */
static BertTokens scratch_tokens;

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
pgb_run_init(void)
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
	bcore_interrupt_pending = interrupt_pending;
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

/* Tokenize input for model into scratch_tokens (truncated if max_tokens > 0). */
BertTokens *
pgb_tokenize(LoadedModel *lm, text *input, size_t max_tokens)
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
	BertTokens *tok = pgb_tokenize(lm, input, bert_truncate ? (size_t) limit : 0);

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
