/*
 * bert.h — helpers shared by the SQL entry points (bert.c, classify.c).
 */
#ifndef BERT_BERT_H
#define BERT_BERT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "cache.h"
#include "tokenizer.h"

/* The model named by argument argno, or bert.default_model if absent. */
LoadedModel *pgb_model_arg(FunctionCallInfo fcinfo, int argno);

/* Token limit of a call: argument argno if present, else bert.max_tokens,
 * else the model's maximum sequence length (checked against the model). */
int			pgb_token_limit(FunctionCallInfo fcinfo, int argno, LoadedModel *lm);

/* Tokens the model sees for input: cut to limit, or an ERROR if
 * bert.truncate is off and the input is longer.  The result is reused by
 * the next call. */
BertTokens *pgb_model_tokens(LoadedModel *lm, text *input, int limit);

/* The text as UTF-8 and its length (a palloc'd copy unless the database is UTF-8). */
char	   *pgb_text_to_utf8(text *t, int *len);

/* Encode n_seq sequences laid end to end; ERROR on failure; counts the use. */
void		pgb_run(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq);

ArrayType  *pgb_float_array(const float *v, int n);

/* UTF-8 bytes from the model (a word piece, a label) as text in the database encoding. */
text	   *pgb_utf8_text(const char *s, int len);
text	   *pgb_piece_text(const BertVocab *v, int32 id);

/* "embedding", "token classification" or "sequence classification". */
const char *pgb_kind_name(BertModelKind kind);

/* ERROR unless the user may read and write server files (superuser or
 * pg_read_server_files): installing, training and dropping models. */
void		pgb_check_file_privilege(const char *what);

#endif							/* BERT_BERT_H */
