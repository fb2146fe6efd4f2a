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
								 * [CLS] and [SEP], before truncation (with
								 * BertTokOptions.stop: see there) */
	size_t		cap;
} BertTokens;

typedef enum BertTokStatus
{
	BERT_TOK_OK = 0,
	BERT_TOK_NOMEM = 1,
	BERT_TOK_INTERRUPTED = 2	/* BertTokOptions.interrupted said stop */
} BertTokStatus;

/* The interrupt hook is polled after every this many input bytes. */
#define BERT_TOK_POLL_BYTES 65536

/* How bcore_tokenize() reads its input. */
typedef struct BertTokOptions
{
	size_t		max_tokens;		/* as bcore_tokenize_utf8()'s */
	int			stop;			/* nonzero: stop reading once a piece past
								 * max_tokens is found; total is then a lower
								 * bound, above max_tokens exactly when the
								 * input is longer than max_tokens */
	int			(*interrupted) (void);	/* if set, polled every
										 * BERT_TOK_POLL_BYTES; nonzero stops
										 * with BERT_TOK_INTERRUPTED (it must
										 * only read a flag) */
} BertTokOptions;

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

/*
 * The same with options: with stop, a truncating caller reads only as much
 * of the input as the pieces it keeps need (the kept pieces are the same);
 * with max_tokens 2 and no stop, the whole input is counted and nothing
 * kept, in memory that does not grow with the input.
 */
BertTokStatus bcore_tokenize(const BertVocab *vocab, const char *text, size_t len,
							 const BertTokOptions *opt, BertTokens *out);

/*
 * Where the code point at byte pos of s (len bytes) ends, as the tokenizer
 * counts code points (an invalid sequence is one per maximal subpart), so
 * that spans, which count code points, can be mapped back to bytes.  pos
 * must be < len.
 */
size_t		bcore_utf8_next(const char *s, size_t len, size_t pos);

void		bcore_tokens_free(BertTokens *tokens);

#endif							/* BERT_TOKENIZER_H */
