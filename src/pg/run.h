/*
 * run.h — running a model on text, for every SQL function that does:
 * which model a call means, its token limit, its tokens, the encoder run.
 */
#ifndef PGB_RUN_H
#define PGB_RUN_H

#include "postgres.h"

#include "fmgr.h"

#include "cache.h"
#include "tokenizer.h"

/* Registers bert.default_model, bert.max_tokens, bert.truncate and
 * bert.threads; lets the encoder see query cancel. */
void		pgb_run_init(void);

/* The model named by argument argno, or bert.default_model if absent. */
LoadedModel *pgb_model_arg(FunctionCallInfo fcinfo, int argno);

/* Token limit of a call: argument argno if present, else bert.max_tokens,
 * else the model's maximum sequence length (checked against the model). */
int			pgb_token_limit(FunctionCallInfo fcinfo, int argno, LoadedModel *lm);

/* Tokens of input for lm, cut to max_tokens if it is not 0.  The result is
 * reused by the next call. */
BertTokens *pgb_tokenize(LoadedModel *lm, text *input, size_t max_tokens);

/* Tokens the model sees for input: cut to limit, or an ERROR if
 * bert.truncate is off and the input is longer.  Reused like pgb_tokenize's. */
BertTokens *pgb_model_tokens(LoadedModel *lm, text *input, int limit);

/* Encode n_seq sequences laid end to end; ERROR on failure; counts the use. */
void		pgb_run(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq);

#endif							/* PGB_RUN_H */
