/*
 * tokenizer.c — BERT basic tokenizer + WordPiece, as Hugging Face's
 * BertNormalizer + BertPreTokenizer + WordPiece (the "fast" tokenizer that
 * tokenizer.json describes, and BertTokenizer in Python).
 *
 * One pass over the input, one code point at a time:
 *
 *   decode UTF-8 (invalid bytes -> U+FFFD)
 *   clean text: drop U+0000, U+FFFD and controls; whitespace ends a word
 *   CJK ideographs become words of their own          (BERT_FLAG_CHINESE_CHARS)
 *   NFD, then drop Mn                                 (BERT_FLAG_STRIP_ACCENTS)
 *   lowercase                                         (BERT_FLAG_LOWER_CASE)
 *   punctuation becomes a word of its own
 *   at the end of each word: greedy longest-match-first WordPiece
 *
 * Every normalised code point carries the index of the input code point it
 * came from, so each piece maps back to a span of the original text.
 *
 * Where the references disagree we follow the Rust implementation, which is
 * what tokenizer.json and sentence-transformers use: accents are stripped
 * before lowercasing, lowercasing is per code point (no final-sigma rule),
 * and there is no NFC step (Python's BasicTokenizer applies NFC first).
 * The CJK ranges are Python's (Rust has 0x2B920 where Python has 0x2B820).
 *
 * Nothing is allocated per character: a word is at most max_chars_per_word
 * code points (longer words are [UNK] whatever they contain, so their
 * content is not kept), and its buffers live on the stack unless a model
 * asks for very long words.  Pieces past the truncation point are counted,
 * never stored, and a caller that only needs the kept ones stops reading
 * there (BertTokOptions.stop), so memory and time follow the pieces kept,
 * not the input; a long input is also where the interrupt hook is polled.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_format.h"
#include "tokenizer.h"
#include "unicode_tables.h"

#define REPLACEMENT_CHAR 0xFFFD
#define WORD_INLINE 128			/* word capacity without heap allocation */

/* Hangul syllables decompose arithmetically (Unicode 3.12). */
#define HANGUL_S_BASE 0xAC00
#define HANGUL_L_BASE 0x1100
#define HANGUL_V_BASE 0x1161
#define HANGUL_T_BASE 0x11A7
#define HANGUL_T_COUNT 28
#define HANGUL_N_COUNT (21 * HANGUL_T_COUNT)
#define HANGUL_S_COUNT (19 * HANGUL_N_COUNT)

/* The current word: normalised code points with their source positions. */
typedef struct Word
{
	uint32_t   *cp;				/* cap entries */
	int32_t    *orig;			/* cap entries: input code point index */
	uint32_t   *aux1;			/* cap + 1: byte offsets, or sort scratch */
	uint32_t   *aux2;			/* cap + 1: prefix hashes, or sort scratch */
	int32_t    *piece_id;		/* cap */
	uint32_t   *piece_end;		/* cap */
	char	   *bytes;			/* 4 * cap: UTF-8 of the word */
	size_t		cap;
	size_t		len;			/* code points kept */
	size_t		total;			/* code points seen, kept or not */
	size_t		run_start;		/* first code point of the current run of
								 * non-starters (canonical ordering) */
	int32_t		first_orig;		/* span of the whole word */
	int32_t		last_orig;
	bool		heap;

	uint32_t	inline_cp[WORD_INLINE];
	int32_t		inline_orig[WORD_INLINE];
	uint32_t	inline_aux1[WORD_INLINE + 1];
	uint32_t	inline_aux2[WORD_INLINE + 1];
	int32_t		inline_piece_id[WORD_INLINE];
	uint32_t	inline_piece_end[WORD_INLINE];
	char		inline_bytes[4 * WORD_INLINE];
} Word;

typedef struct TokState
{
	const BertVocab *vocab;
	BertTokens *out;
	uint32_t	flags;
	size_t		max_chars;		/* longer words are one [UNK] */
	size_t		keep;			/* pieces to store, excluding [CLS]/[SEP] */
	size_t		n_pieces;		/* pieces made so far, stored or not */
	bool		stop;			/* stop reading once a piece is past keep */
	bool		full;			/* one is: read no further */
	bool		nomem;
	Word		word;
} TokState;


/* ---- Unicode look-ups ---- */

/* The value of the range holding cp, or 0. */
static uint32_t
range_value(const UnicodeRange *ranges, uint32_t count, uint32_t cp)
{
	uint32_t	lo = 0;
	uint32_t	hi = count;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (cp < ranges[mid].first)
			hi = mid;
		else if (cp > ranges[mid].last)
			lo = mid + 1;
		else
			return ranges[mid].value;
	}
	return 0;
}

/* BERT's ASCII punctuation: every non-alphanumeric printable character. */
static inline bool
is_ascii_punct(uint32_t c)
{
	return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
		(c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* UnicodeClass with BERT's rules: \t \n \r are space, not control. */
static inline UnicodeClass
char_class(uint32_t cp)
{
	if (cp < 0x80)
	{
		if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r')
			return UNI_SPACE;
		if (cp < 0x20 || cp == 0x7F)
			return UNI_CONTROL;
		if (is_ascii_punct(cp))
			return UNI_PUNCT;
		return UNI_OTHER;
	}
	return (UnicodeClass) range_value(unicode_class_ranges, unicode_class_count, cp);
}

static inline uint32_t
combining_class(uint32_t cp)
{
	if (cp < 0x300)
		return 0;
	return range_value(unicode_ccc_ranges, unicode_ccc_count, cp);
}

/* _is_chinese_char from BERT's tokenization.py: CJK ideographs only. */
static inline bool
is_cjk_ideograph(uint32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) ||
		(cp >= 0x3400 && cp <= 0x4DBF) ||
		(cp >= 0x20000 && cp <= 0x2A6DF) ||
		(cp >= 0x2A700 && cp <= 0x2B73F) ||
		(cp >= 0x2B740 && cp <= 0x2B81F) ||
		(cp >= 0x2B820 && cp <= 0x2CEAF) ||
		(cp >= 0xF900 && cp <= 0xFAFF) ||
		(cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Full lowercase of cp into out (1 to UNICODE_MAX_SPECIAL_LOWER code points). */
static int
lowercase(uint32_t cp, uint32_t *out)
{
	uint32_t	lo = 0;
	uint32_t	hi;

	if (cp < 0x80)
	{
		out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
		return 1;
	}
	for (uint32_t i = 0; i < unicode_special_lower_count; i++)
	{
		const UnicodeSpecialLower *s = &unicode_special_lower[i];

		if (s->cp == cp && s->len > 0 && s->len <= UNICODE_MAX_SPECIAL_LOWER)
		{
			memcpy(out, s->lower, s->len * sizeof(uint32_t));
			return (int) s->len;
		}
	}
	hi = unicode_lower_count;
	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (cp < unicode_lower_map[mid].cp)
			hi = mid;
		else if (cp > unicode_lower_map[mid].cp)
			lo = mid + 1;
		else
		{
			out[0] = unicode_lower_map[mid].lower;
			return 1;
		}
	}
	out[0] = cp;
	return 1;
}

/* Full canonical decomposition of cp into out (1 to UNICODE_MAX_DECOMP). */
static int
decompose(uint32_t cp, uint32_t *out)
{
	uint32_t	lo = 0;
	uint32_t	hi;

	if (cp < 0xC0)
	{
		out[0] = cp;
		return 1;
	}
	if (cp >= HANGUL_S_BASE && cp < HANGUL_S_BASE + HANGUL_S_COUNT)
	{
		uint32_t	s = cp - HANGUL_S_BASE;
		uint32_t	t = s % HANGUL_T_COUNT;

		out[0] = HANGUL_L_BASE + s / HANGUL_N_COUNT;
		out[1] = HANGUL_V_BASE + (s % HANGUL_N_COUNT) / HANGUL_T_COUNT;
		if (t == 0)
			return 2;
		out[2] = HANGUL_T_BASE + t;
		return 3;
	}
	hi = unicode_decomp_count;
	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		const UnicodeDecomp *d = &unicode_decomp[mid];

		if (cp < d->cp)
			hi = mid;
		else if (cp > d->cp)
			lo = mid + 1;
		else
		{
			uint32_t	n = d->len <= UNICODE_MAX_DECOMP ? d->len : UNICODE_MAX_DECOMP;

			memcpy(out, unicode_decomp_pool + d->offset, n * sizeof(uint32_t));
			return (int) n;
		}
	}
	out[0] = cp;
	return 1;
}

/*
 * Next code point of s[*pos..len).  An invalid sequence gives one U+FFFD
 * per maximal subpart (as Python's and WHATWG's decoders do), so that the
 * code point positions of spans match what those decoders count.
 */
static uint32_t
utf8_next(const unsigned char *s, size_t len, size_t *pos)
{
	size_t		p = *pos;
	unsigned char c = s[p++];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	int			need;
	uint32_t	cp;

	if (c < 0x80)
	{
		*pos = p;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		need = 1;
		cp = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 2;
		cp = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;			/* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F;			/* no surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 3;
		cp = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;			/* nothing above U+10FFFF */
	}
	else
	{
		*pos = p;
		return REPLACEMENT_CHAR;
	}
	while (need-- > 0)
	{
		if (p >= len || s[p] < lo || s[p] > hi)
		{
			*pos = p;
			return REPLACEMENT_CHAR;
		}
		cp = (cp << 6) | (s[p++] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*pos = p;
	return cp;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}


/* ---- vocabulary ---- */

/*
 * Find the token whose bytes are ("##" if cont) + s[0..len), given its
 * bcore_hash h.  Probes at most n_slots times and checks every id and
 * offset it reads, so a corrupted index cannot loop or read out of bounds.
 */
static int32_t
vocab_find(const BertVocab *vocab, uint32_t h, const char *s, size_t len, bool cont)
{
	size_t		full = len + (cont ? 2 : 0);
	uint32_t	mask;
	uint32_t	pos;

	if (vocab->slots == NULL || vocab->n_slots == 0 || vocab->offsets == NULL)
		return -1;
	mask = vocab->n_slots - 1;
	pos = h & mask;
	for (uint32_t probe = 0; probe < vocab->n_slots; probe++, pos = (pos + 1) & mask)
	{
		uint32_t	slot = vocab->slots[pos];
		uint32_t	id;
		uint32_t	a;
		uint32_t	b;
		const char *tok;

		if (slot == 0)
			return -1;
		id = slot - 1;
		if (id >= vocab->size)
			continue;
		a = vocab->offsets[id];
		b = vocab->offsets[id + 1];
		if (b < a || b - a != full)
			continue;
		tok = vocab->blob + a;
		if (cont && (tok[0] != '#' || tok[1] != '#'))
			continue;
		if (memcmp(tok + (cont ? 2 : 0), s, len) == 0)
			return (int32_t) id;
	}
	return -1;
}

int32_t
bcore_vocab_lookup(const BertVocab *vocab, const char *s, size_t len)
{
	if (vocab == NULL || (s == NULL && len > 0))
		return -1;
	return vocab_find(vocab, bcore_hash(s, len), s, len, false);
}


/* ---- output ---- */

static bool
ensure_capacity(BertTokens *out, size_t need)
{
	size_t		cap;
	int32_t    *p;

	if (need <= out->cap)
		return true;
	cap = out->cap < 64 ? 64 : out->cap;
	while (cap < need)
	{
		if (cap > SIZE_MAX / 2 / sizeof(int32_t))
			return false;
		cap *= 2;
	}
	/* cap is only raised once all three arrays have grown */
	if ((p = realloc(out->ids, cap * sizeof(int32_t))) == NULL)
		return false;
	out->ids = p;
	if ((p = realloc(out->start, cap * sizeof(int32_t))) == NULL)
		return false;
	out->start = p;
	if ((p = realloc(out->end, cap * sizeof(int32_t))) == NULL)
		return false;
	out->end = p;
	out->cap = cap;
	return true;
}

/* Record one piece; past the truncation point it is only counted. */
static void
add_piece(TokState *st, int32_t id, int32_t start, int32_t end)
{
	size_t		i = ++st->n_pieces;	/* [CLS] is at 0 */

	if (st->n_pieces > st->keep)
	{
		st->full = st->stop;
		return;
	}
	if (st->nomem)
		return;
	if (!ensure_capacity(st->out, i + 1))
	{
		st->nomem = true;
		return;
	}
	st->out->ids[i] = id;
	st->out->start[i] = start;
	st->out->end[i] = end;
}


/* ---- words ---- */

static void
word_init(Word *w)
{
	w->cp = w->inline_cp;
	w->orig = w->inline_orig;
	w->aux1 = w->inline_aux1;
	w->aux2 = w->inline_aux2;
	w->piece_id = w->inline_piece_id;
	w->piece_end = w->inline_piece_end;
	w->bytes = w->inline_bytes;
	w->cap = WORD_INLINE;
	w->heap = false;
	w->len = 0;
	w->total = 0;
	w->run_start = 0;
}

static void
word_free_heap(uint32_t *cp, int32_t *orig, uint32_t *aux1, uint32_t *aux2,
			   int32_t *piece_id, uint32_t *piece_end, char *bytes)
{
	free(cp);
	free(orig);
	free(aux1);
	free(aux2);
	free(piece_id);
	free(piece_end);
	free(bytes);
}

static void
word_free(Word *w)
{
	if (w->heap)
		word_free_heap(w->cp, w->orig, w->aux1, w->aux2, w->piece_id,
					   w->piece_end, w->bytes);
	word_init(w);
}

/* Make room for cap code points; only for models with very long words. */
static bool
word_grow(Word *w, size_t cap)
{
	uint32_t   *cp;
	int32_t    *orig;
	uint32_t   *aux1;
	uint32_t   *aux2;
	int32_t    *piece_id;
	uint32_t   *piece_end;
	char	   *bytes;

	if (cap > SIZE_MAX / 8 - 1)
		return false;
	cp = malloc(cap * sizeof(uint32_t));
	orig = malloc(cap * sizeof(int32_t));
	aux1 = malloc((cap + 1) * sizeof(uint32_t));
	aux2 = malloc((cap + 1) * sizeof(uint32_t));
	piece_id = malloc(cap * sizeof(int32_t));
	piece_end = malloc(cap * sizeof(uint32_t));
	bytes = malloc(cap * 4);
	if (!cp || !orig || !aux1 || !aux2 || !piece_id || !piece_end || !bytes)
	{
		word_free_heap(cp, orig, aux1, aux2, piece_id, piece_end, bytes);
		return false;
	}
	memcpy(cp, w->cp, w->len * sizeof(uint32_t));
	memcpy(orig, w->orig, w->len * sizeof(int32_t));
	if (w->heap)
		word_free_heap(w->cp, w->orig, w->aux1, w->aux2, w->piece_id,
					   w->piece_end, w->bytes);
	w->cp = cp;
	w->orig = orig;
	w->aux1 = aux1;
	w->aux2 = aux2;
	w->piece_id = piece_id;
	w->piece_end = piece_end;
	w->bytes = bytes;
	w->cap = cap;
	w->heap = true;
	return true;
}

/*
 * Canonical ordering of NFD: sort the run of non-starters at the end of the
 * word stably by combining class.  A counting sort keeps it linear even for
 * a hostile run of thousands of marks.
 */
static void
finish_run(Word *w)
{
	size_t		n;
	size_t		count[256];
	uint32_t	prev = 0;
	bool		sorted = true;

	if (w->total > w->len)
	{
		w->run_start = w->len;	/* content dropped: order is moot */
		return;
	}
	n = w->len - w->run_start;
	if (n >= 2)
	{
		for (size_t i = w->run_start; i < w->len; i++)
		{
			uint32_t	c = combining_class(w->cp[i]) & 0xFF;

			w->aux1[i] = c;
			if (c < prev)
				sorted = false;
			prev = c;
		}
	}
	if (!sorted)
	{
		size_t		sum = 0;

		memset(count, 0, sizeof(count));
		for (size_t i = w->run_start; i < w->len; i++)
			count[w->aux1[i]]++;
		for (int c = 0; c < 256; c++)
		{
			size_t		k = count[c];

			count[c] = sum;
			sum += k;
		}
		/* the piece arrays are free until WordPiece runs: sort through them */
		for (size_t i = w->run_start; i < w->len; i++)
		{
			size_t		k = count[w->aux1[i]]++;

			w->piece_end[k] = w->cp[i];
			w->piece_id[k] = w->orig[i];
		}
		memcpy(w->cp + w->run_start, w->piece_end, n * sizeof(uint32_t));
		memcpy(w->orig + w->run_start, w->piece_id, n * sizeof(int32_t));
	}
	w->run_start = w->len;
}

/* WordPiece over the finished word, then reset it. */
static void
end_word(TokState *st)
{
	Word	   *w = &st->word;
	const BertVocab *vocab = st->vocab;
	size_t		n_pieces = 0;
	size_t		start = 0;
	uint32_t	cont_basis = bcore_hash("##", 2);

	if (w->total == 0)
		return;
	finish_run(w);

	if (w->total > st->max_chars)
	{
		add_piece(st, (int32_t) vocab->unk_id, w->first_orig, w->last_orig + 1);
		goto reset;
	}

	/* aux1[i] = byte offset of code point i */
	w->aux1[0] = 0;
	for (size_t i = 0; i < w->len; i++)
		w->aux1[i + 1] = w->aux1[i] + (uint32_t) utf8_encode(w->cp[i], w->bytes + w->aux1[i]);

	while (start < w->len)
	{
		uint32_t	h = start > 0 ? cont_basis : bcore_hash("", 0);
		const char *s = w->bytes + w->aux1[start];
		size_t		end;
		int32_t		id = -1;

		/* aux2[i] = hash of the candidate that ends before code point i */
		for (size_t i = start; i < w->len; i++)
		{
			for (uint32_t b = w->aux1[i]; b < w->aux1[i + 1]; b++)
			{
				h ^= (uint8_t) w->bytes[b];
				h *= 16777619u;
			}
			w->aux2[i + 1] = h;
		}
		for (end = w->len; end > start; end--)
		{
			id = vocab_find(vocab, w->aux2[end], s, w->aux1[end] - w->aux1[start], start > 0);
			if (id >= 0)
				break;
		}
		if (id < 0)
		{
			/* no piece fits here: the whole word is unknown */
			add_piece(st, (int32_t) vocab->unk_id, w->first_orig, w->last_orig + 1);
			goto reset;
		}
		w->piece_id[n_pieces] = id;
		w->piece_end[n_pieces] = (uint32_t) end;
		n_pieces++;
		start = end;
	}

	start = 0;
	for (size_t k = 0; k < n_pieces; k++)
	{
		size_t		end = w->piece_end[k];
		int32_t		lo = w->orig[start];
		int32_t		hi = w->orig[start];

		/* reordered marks can put a source position out of order */
		for (size_t i = start + 1; i < end; i++)
		{
			if (w->orig[i] < lo)
				lo = w->orig[i];
			if (w->orig[i] > hi)
				hi = w->orig[i];
		}
		add_piece(st, w->piece_id[k], lo, hi + 1);
		start = end;
	}

reset:
	w->len = 0;
	w->total = 0;
	w->run_start = 0;
}

/* Append one normalised code point to the current word. */
static void
word_push(TokState *st, uint32_t cp, int32_t orig, uint32_t ccc)
{
	Word	   *w = &st->word;

	if (ccc == 0)
		finish_run(w);
	if (w->total == 0)
	{
		w->first_orig = orig;
		w->last_orig = orig;
	}
	else
	{
		if (orig < w->first_orig)
			w->first_orig = orig;
		if (orig > w->last_orig)
			w->last_orig = orig;
	}
	w->total++;
	if (w->total > st->max_chars)
		return;					/* will be [UNK]: no need to keep it */
	if (w->len == w->cap)
	{
		size_t		cap = w->cap * 2;

		if (cap > st->max_chars)
			cap = st->max_chars;
		if (!word_grow(w, cap))
		{
			st->nomem = true;
			return;
		}
	}
	w->cp[w->len] = cp;
	w->orig[w->len] = orig;
	w->len++;
	if (ccc == 0)
		w->run_start = w->len;
}

/* The pre-tokenizer: split normalised text on whitespace and punctuation. */
static void
pretokenize(TokState *st, uint32_t cp, int32_t orig, uint32_t ccc)
{
	UnicodeClass cls = char_class(cp);

	if (cls == UNI_SPACE)
		end_word(st);
	else if (cls == UNI_PUNCT)
	{
		end_word(st);
		word_push(st, cp, orig, 0);
		end_word(st);
	}
	else
		word_push(st, cp, orig, ccc);
}

/* Lowercase (if asked) and pass on. */
static void
lower_and_split(TokState *st, uint32_t cp, int32_t orig, uint32_t ccc)
{
	uint32_t	low[UNICODE_MAX_SPECIAL_LOWER];
	int			n;

	if (!(st->flags & BERT_FLAG_LOWER_CASE))
	{
		pretokenize(st, cp, orig, ccc);
		return;
	}
	n = lowercase(cp, low);
	/* only U+0130 expands, and never after NFD: no reordering to track */
	for (int i = 0; i < n; i++)
		pretokenize(st, low[i], orig, i == 0 ? ccc : 0);
}

/* Normalise one cleaned input code point. */
static void
normalize(TokState *st, uint32_t cp, int32_t orig)
{
	uint32_t	d[UNICODE_MAX_DECOMP];
	int			n;

	if (!(st->flags & BERT_FLAG_STRIP_ACCENTS))
	{
		/* no NFD, so no canonical reordering either */
		lower_and_split(st, cp, orig, 0);
		return;
	}
	n = decompose(cp, d);
	for (int i = 0; i < n; i++)
	{
		uint32_t	ccc = combining_class(d[i]);

		if (d[i] >= 0x300 && char_class(d[i]) == UNI_MN)
		{
			/* dropped, but a mark of class 0 still ends a reordering run */
			if (ccc == 0)
				finish_run(&st->word);
			continue;
		}
		lower_and_split(st, d[i], orig, ccc);
	}
}

BertTokStatus
bcore_tokenize(const BertVocab *vocab, const char *text, size_t len,
			   const BertTokOptions *opt, BertTokens *out)
{
	const unsigned char *s = (const unsigned char *) text;
	size_t		max_tokens = opt->max_tokens;
	TokState	st;
	size_t		pos = 0;
	size_t		next_poll = BERT_TOK_POLL_BYTES;
	int32_t		index = 0;
	size_t		kept;
	bool		interrupted = false;

	out->n = 0;
	out->total = 0;
	if (!ensure_capacity(out, 2))
		return BERT_TOK_NOMEM;
	if (text == NULL)
		len = 0;

	st.vocab = vocab;
	st.out = out;
	st.flags = vocab->flags;
	st.max_chars = vocab->max_chars_per_word;
	st.keep = max_tokens == 0 ? SIZE_MAX : (max_tokens >= 2 ? max_tokens - 2 : 0);
	st.n_pieces = 0;
	st.stop = opt->stop != 0;
	st.full = false;
	st.nomem = false;
	word_init(&st.word);

	while (pos < len && !st.nomem && !st.full)
	{
		uint32_t	cp;
		int32_t		orig = index;
		UnicodeClass cls;

		if (pos >= next_poll && opt->interrupted)
		{
			next_poll = pos + BERT_TOK_POLL_BYTES;
			if (opt->interrupted())
			{
				interrupted = true;
				break;
			}
		}
		cp = utf8_next(s, len, &pos);
		/* saturate: spans of text past 2^31 code points are not exact */
		if (index < INT32_MAX - 1)
			index++;
		if (cp == 0 || cp == REPLACEMENT_CHAR)
			continue;
		cls = char_class(cp);
		if (cls == UNI_CONTROL)
			continue;
		if (cls == UNI_SPACE)
		{
			end_word(&st);
			continue;
		}
		if ((st.flags & BERT_FLAG_CHINESE_CHARS) && is_cjk_ideograph(cp))
		{
			end_word(&st);
			normalize(&st, cp, orig);
			end_word(&st);
			continue;
		}
		if (cp < 0x80 && cls == UNI_OTHER)
		{
			/* ASCII letters and digits: nothing to decompose */
			uint32_t	c = cp;

			if ((st.flags & BERT_FLAG_LOWER_CASE) && c >= 'A' && c <= 'Z')
				c += 32;
			word_push(&st, c, orig, 0);
			continue;
		}
		normalize(&st, cp, orig);
	}
	if (!st.nomem && !interrupted)
		end_word(&st);
	word_free(&st.word);
	if (st.nomem)
		return BERT_TOK_NOMEM;
	if (interrupted)
		return BERT_TOK_INTERRUPTED;

	kept = st.n_pieces < st.keep ? st.n_pieces : st.keep;
	out->ids[0] = (int32_t) vocab->cls_id;
	out->start[0] = 0;
	out->end[0] = 0;
	out->n = kept + 1;
	if (max_tokens != 1)
	{
		/* capacity for [SEP] was reserved by add_piece or the first call */
		if (!ensure_capacity(out, kept + 2))
		{
			out->n = 0;
			return BERT_TOK_NOMEM;
		}
		out->ids[kept + 1] = (int32_t) vocab->sep_id;
		out->start[kept + 1] = 0;
		out->end[kept + 1] = 0;
		out->n = kept + 2;
	}
	out->total = st.n_pieces + 2;
	return BERT_TOK_OK;
}

BertTokStatus
bcore_tokenize_utf8(const BertVocab *vocab, const char *text, size_t len,
					size_t max_tokens, BertTokens *out)
{
	BertTokOptions opt = {max_tokens, 0, NULL};

	return bcore_tokenize(vocab, text, len, &opt, out);
}

size_t
bcore_utf8_next(const char *s, size_t len, size_t pos)
{
	if (pos < len)
		utf8_next((const unsigned char *) s, len, &pos);
	return pos;
}

void
bcore_tokens_free(BertTokens *tokens)
{
	if (tokens == NULL)
		return;
	free(tokens->ids);
	free(tokens->start);
	free(tokens->end);
	memset(tokens, 0, sizeof(*tokens));
}
