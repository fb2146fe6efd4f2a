/*
 * tokenizer.h — BERT basic tokenizer + WordPiece, as Hugging Face's BertTokenizer.
 *
 * Plain C: no PostgreSQL headers, no global state, no allocation that outlives
 * a call except the BertTokens arrays (freed with bcore_tokens_free).
 */
#ifndef BERT_TOKENIZER_H
#define BERT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* A vocabulary: a read-only view into a model file (see model_format.h). */
typedef struct BertVocab
{
	uint32_t	size;			/* number of tokens */
	const uint32_t *offsets;	/* size + 1 entries, into blob */
	const char *blob;			/* token bytes, back to back */
	const uint32_t *slots;		/* hash index: 0 empty, else id + 1 */
	uint32_t	n_slots;		/* power of two */
	uint32_t	unk_id;
	uint32_t	cls_id;
	uint32_t	sep_id;
	uint32_t	flags;			/* BERT_FLAG_LOWER_CASE etc. from model_format.h */
	uint32_t	max_chars_per_word;
} BertVocab;

/* Result of tokenizing one text: word-piece ids with their source spans. */
typedef struct BertTokens
{
	int32_t    *ids;
	int32_t    *start;			/* first code point of the piece in the input */
	int32_t    *end;			/* one past its last code point */
	size_t		n;				/* pieces kept, including [CLS] and [SEP] */
	size_t		total;			/* pieces the whole input makes, including
								 * [CLS] and [SEP], before truncation */
	size_t		cap;
} BertTokens;

typedef enum BertTokStatus
{
	BERT_TOK_OK = 0,
	BERT_TOK_NOMEM = 1
} BertTokStatus;

/* Id of an exact token string, or -1. */
int32_t		bcore_vocab_lookup(const BertVocab *vocab, const char *s, size_t len);

/*
 * Tokenize UTF-8 text (len bytes, need not be NUL-terminated; invalid UTF-8
 * bytes are treated as U+FFFD and so dropped, as clean_text drops U+FFFD).
 * Output is [CLS] pieces... [SEP].  max_tokens > 0 keeps at most max_tokens
 * ids in total (the pieces are cut, [SEP] stays); max_tokens == 0 keeps all.
 * out must be zero-initialised or reused from an earlier call; its arrays
 * grow as needed.  [CLS] and [SEP] get the span [0, 0), as in Hugging Face's
 * offsets.  Spans count code points (not bytes) of the original input.
 */
BertTokStatus bcore_tokenize_utf8(const BertVocab *vocab, const char *text, size_t len,
							size_t max_tokens, BertTokens *out);

void		bcore_tokens_free(BertTokens *tokens);

#endif							/* BERT_TOKENIZER_H */
