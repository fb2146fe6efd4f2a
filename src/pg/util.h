/*
 * util.h — helpers every glue file may use; they use no other glue file.
 *
 * Text between the database encoding and the core's UTF-8, real[] results,
 * the file privilege check, kind names and the loader's errors.
 */
#ifndef PGB_UTIL_H
#define PGB_UTIL_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "model.h"
#include "tokenizer.h"

/* The text as UTF-8 and its length (a palloc'd copy unless the database is UTF-8). */
char	   *pgb_text_to_utf8(text *t, int *len);

/* UTF-8 bytes from the model (a word piece, a label) as text in the database encoding. */
text	   *pgb_utf8_text(const char *s, int len);
text	   *pgb_piece_text(const BertVocab *v, int32 id);

/* A real[] of the n floats at v. */
ArrayType  *pgb_float_array(const float *v, int n);

/* "embedding", "token classification" or "sequence classification". */
const char *pgb_kind_name(BertModelKind kind);

/* ERROR unless the user may read and write server files (superuser or
 * pg_read_server_files): installing, training and dropping models. */
void		pgb_check_file_privilege(const char *what);

/* ERROR naming the first NULL argument of a function that acts. */
void		pgb_require_args(FunctionCallInfo fcinfo);

/* ERROR for a loader failure (status, message err) of model name. */
void		pgb_model_error(const char *name, BertModelStatus status, const char *err) pg_attribute_noreturn();

#endif							/* PGB_UTIL_H */
