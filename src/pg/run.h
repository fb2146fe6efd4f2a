/*
 * run.h — running a model on text, for every SQL function that does:
 * which model a call means, its token limit, its tokens, the encoder run
 * and how many threads it gets.
 */
#ifndef PGB_RUN_H
#define PGB_RUN_H

#include "postgres.h"

#include "fmgr.h"

#include "cache.h"
#include "tokenizer.h"

/* bert_embed_many gives the encoder at most this many tokens a thread in
 * one call */
#define PGB_BATCH_TOKENS 2048

/* and bert_embed_table this many in all (PGB_BATCH_TOKENS a thread where
 * that is more), so that a batch of its default 256 rows is one call, not
 * two: each call ends with a thread waiting for another's last chunk (CALL
 * bert_embed_table over the bench corpus on 2 threads, Zen 5, fresh
 * sessions, 6 interleaved rounds: median 4,011 -> 3,919 ms).  Of the
 * encoder's buffers only the hidden state grows with a call's tokens (1.5
 * kB a token at hidden 384), the rest with a chunk's. */
#define PGB_BULK_CALL_TOKENS 16384

/* Registers bert.default_model, bert.max_tokens, bert.truncate,
 * bert.threads and bert.bulk_threads; lets the encoder see query cancel. */
void		pgb_run_init(void);

/* How one call runs a model: the model, its token limit, and whether a
 * longer input is cut (else an ERROR). */
typedef struct PgbCall
{
	LoadedModel *lm;
	int			limit;
	bool		truncate;
} PgbCall;

/*
 * The call of a SQL function whose model argument, if present, is argument
 * model_argno and whose max_tokens argument, if present, is the next one.
 * With a model argument it is an IMMUTABLE form: the model's own limit (or
 * max_tokens), always truncating; no setting changes it.  Without one it is
 * a STABLE form: bert.default_model, bert.max_tokens and bert.truncate.
 */
void		pgb_call_init(PgbCall *call, FunctionCallInfo fcinfo, int model_argno);

/* The same for a model the caller already looked up with pgb_model_arg()
 * (a second look-up could reload it, and free the first); the max_tokens
 * argument, if the function has one, is limit_argno (-1: none, whatever
 * follows the model argument is something else). */
void		pgb_call_limits(PgbCall *call, FunctionCallInfo fcinfo, int model_argno,
							int limit_argno, LoadedModel *lm);

/* The model named by argument argno, or bert.default_model if absent. */
LoadedModel *pgb_model_arg(FunctionCallInfo fcinfo, int argno);

/* The call of a named model as an explicit argument (bert_embed_table). */
void		pgb_call_for_model(PgbCall *call, const char *name);

/* The tokens the model sees for input in this call; reused by the next
 * tokenizing call.  Reads no more of the input than the limit needs. */
BertTokens *pgb_call_tokens(const PgbCall *call, text *input);

/* Word pieces of the whole input, [CLS] and [SEP] included; none is kept. */
int64		pgb_count_tokens(LoadedModel *lm, text *input);

/*
 * Turn the spans of tok (code points of input converted to UTF-8) into
 * character positions of input as PostgreSQL counts them in the database
 * encoding: bytes in SQL_ASCII.  ERROR if the encoding maps a character of
 * input to several code points, where no position is right.
 */
void		pgb_spans_to_chars(text *input, BertTokens *tok);

/* For callers that follow the settings (training): the limit from argument
 * argno if present, else bert.max_tokens, else the model's; and the tokens
 * cut to limit, or an ERROR if bert.truncate is off and input is longer. */
int			pgb_token_limit(FunctionCallInfo fcinfo, int argno, LoadedModel *lm);
BertTokens *pgb_model_tokens(LoadedModel *lm, text *input, int limit);

/* Cores this backend may run on (CPU affinity, cgroup CPU quota). */
int			pgb_usable_cores(void);

/* Threads a bulk job asks for: bert.bulk_threads, or every usable core. */
int			pgb_bulk_threads(void);

/* The most threads an encoder call of the last statement of this backend
 * that ran the encoder used (0: none yet). */
int			pgb_last_threads(void);

/*
 * Encode n_seq sequences laid end to end; ERROR on failure; counts the use.
 * pgb_run asks for bert.threads, pgb_run_threads for threads; either gets
 * at most the usable cores not busy with other bert calls of the server
 * (at least one).
 */
void		pgb_run(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq);
void		pgb_run_threads(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq,
							int threads);

/*
 * Sentence embeddings in batches: add tokenized texts while they fit, then
 * run: the pooled embeddings are in out, one row of hidden floats each.
 */
typedef struct PgbBatch
{
	LoadedModel *lm;
	int			threads;
	int			max_tokens;		/* tokens per encoder call */
	int			max_seq;
	int32	   *ids;
	int		   *lens;
	float	   *out;			/* the last run's embeddings */
	int			out_seq;		/* sequences out holds */
	MemoryContext cxt;			/* where ids, lens and out live */
	int			n_seq;
	int			n_tok;
} PgbBatch;

void		pgb_batch_init(PgbBatch *b, LoadedModel *lm, int limit, int threads,
						   int call_tokens);
bool		pgb_batch_fits(const PgbBatch *b, const BertTokens *tok);
void		pgb_batch_add(PgbBatch *b, const BertTokens *tok);
int			pgb_batch_run(PgbBatch *b);
int			pgb_batch_run_into(PgbBatch *b, float *out);
void		pgb_batch_free(PgbBatch *b);

#endif							/* PGB_RUN_H */
