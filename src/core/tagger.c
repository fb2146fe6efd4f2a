/*
 * tagger.c — features of the entity tagger (see tagger.h) and its trainer:
 * a softmax head on the features, then CRF transitions on its output.
 */
#include "tagger.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "entities.h"
#include "ops.h"
#include "unicode_tables.h"

void
bcore_tagger_config(int hidden, float *c)
{
	c[0] = BERT_TAGGER_VERSION;
	c[1] = (float) bcore_tagger_dim(hidden);
	c[2] = (float) hidden;
	c[3] = 0.0f;
}

/* Code points of valid UTF-8 (a stray byte counts as one, as U+FFFD would). */
static size_t
decode(const char *text, size_t len, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *) text;
	size_t		n = 0;

	for (size_t i = 0; i < len;)
	{
		unsigned char c = s[i];
		int			more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
		uint32_t	v = more == 3 ? c & 0x07 : more == 2 ? c & 0x0F : more == 1 ? c & 0x1F : c;

		i++;
		if (c >= 0x80 && c < 0xC0)
			v = 0xFFFD;
		for (; more > 0 && i < len && (s[i] & 0xC0) == 0x80; more--)
			v = (v << 6) | (s[i++] & 0x3F);
		cp[n++] = v;
	}
	return n;
}

/* An upper-case letter: A-Z, or one with a lower-case mapping in Unicode. */
static int
is_upper(uint32_t cp)
{
	uint32_t	lo = 0,
				hi = unicode_lower_count;

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z';
	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (unicode_lower_map[mid].cp == cp)
			return unicode_lower_map[mid].lower != cp;
		if (unicode_lower_map[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* A lower-case letter: a-z, or a non-ASCII letter-like code point that is not upper case. */
static int
is_lower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'a' && cp <= 'z';
	return cp >= 0xC0 && cp != 0xFFFD && cp != 0xD7 && cp != 0xF7 && !is_upper(cp) &&
		cp < 0x2000;
}

static int
is_digit(uint32_t cp)
{
	return cp >= '0' && cp <= '9';
}

/* The eight shape flags of code points cp[s .. e) (see tagger.h). */
static void
word_shape(const uint32_t *cp, size_t n_cp, int32_t s, int32_t e, int first_word,
		   int sentence_start, float *f)
{
	int			upper = 0,
				lower = 0,
				digit = 0;

	if (s < 0)
		s = 0;
	if ((size_t) e > n_cp)
		e = (int32_t) n_cp;
	for (int32_t i = s; i < e; i++)
	{
		upper += is_upper(cp[i]);
		lower += is_lower(cp[i]);
		digit += is_digit(cp[i]);
	}
	f[0] = s < e && is_upper(cp[s]);
	f[1] = upper >= 2 && lower == 0;
	f[2] = lower > 0;
	f[3] = digit > 0;
	f[4] = upper + lower + digit == 0;
	f[5] = first_word;
	f[6] = f[0] && !sentence_start;
	f[7] = sentence_start;
}

int
bcore_tagger_features(const float *h, int n, int H, const int32_t *start,
					  const int32_t *end, const uint8_t *is_subword,
					  const char *text, size_t text_len, float *X)
{
	int			D = bcore_tagger_dim(H);
	uint32_t   *cp = malloc(sizeof(uint32_t) * (text_len + 1));
	int		   *word_of = malloc(sizeof(int) * ((size_t) n + 1));
	int		   *wfirst = malloc(sizeof(int) * ((size_t) n + 1));
	int		   *wlast = malloc(sizeof(int) * ((size_t) n + 1));
	float	   *mean = malloc(sizeof(float) * ((size_t) n * H + 1));
	float	   *shape = malloc(sizeof(float) * ((size_t) n * BERT_TAGGER_SHAPE + 1));
	size_t		n_cp;
	int			nw = 0;
	int			rc = -1;

	if (cp == NULL || word_of == NULL || wfirst == NULL || wlast == NULL ||
		mean == NULL || shape == NULL)
		goto done;
	n_cp = decode(text, text_len, cp);

	/* words: a piece and the is_subword pieces after it */
	for (int t = 0; t < n; t++)
	{
		word_of[t] = -1;
		if (start[t] >= end[t])
			continue;
		if (nw > 0 && is_subword[t])
			wlast[nw - 1] = t;
		else
		{
			wfirst[nw] = t;
			wlast[nw] = t;
			nw++;
		}
		word_of[t] = nw - 1;
	}
	for (int w = 0; w < nw; w++)
	{
		float	   *m = mean + (size_t) w * H;
		int			count = 0;
		int			sentence_start = w == 0;

		memset(m, 0, sizeof(float) * H);
		for (int t = wfirst[w]; t <= wlast[w]; t++)
			if (start[t] < end[t])
			{
				const float *ht = h + (size_t) t * H;

				for (int i = 0; i < H; i++)
					m[i] += ht[i];
				count++;
			}
		for (int i = 0; i < H; i++)
			m[i] /= (float) count;
		if (w > 0)
		{
			int32_t		ps = start[wfirst[w - 1]],
						pe = end[wlast[w - 1]];

			/* the previous word is one of . ! ? */
			sentence_start = pe - ps == 1 && ps >= 0 && (size_t) ps < n_cp &&
				(cp[ps] == '.' || cp[ps] == '!' || cp[ps] == '?');
		}
		word_shape(cp, n_cp, start[wfirst[w]], end[wlast[w]], w == 0, sentence_start,
				   shape + (size_t) w * BERT_TAGGER_SHAPE);
	}

	for (int t = 0; t < n; t++)
	{
		float	   *x = X + (size_t) t * D;
		int			w = word_of[t];
		float	   *f = x + 4 * H;

		memset(x, 0, sizeof(float) * D);
		if (w < 0)
			continue;
		memcpy(x, h + (size_t) t * H, sizeof(float) * H);
		memcpy(x + H, mean + (size_t) w * H, sizeof(float) * H);
		if (w > 0)
			memcpy(x + 2 * H, mean + (size_t) (w - 1) * H, sizeof(float) * H);
		if (w + 1 < nw)
			memcpy(x + 3 * H, mean + (size_t) (w + 1) * H, sizeof(float) * H);
		memcpy(f, shape + (size_t) w * BERT_TAGGER_SHAPE, sizeof(float) * BERT_TAGGER_SHAPE);
		if (w > 0)
			memcpy(f + BERT_TAGGER_SHAPE, shape + (size_t) (w - 1) * BERT_TAGGER_SHAPE,
				   sizeof(float) * BERT_TAGGER_SHAPE);
		if (w + 1 < nw)
			memcpy(f + 2 * BERT_TAGGER_SHAPE, shape + (size_t) (w + 1) * BERT_TAGGER_SHAPE,
				   sizeof(float) * BERT_TAGGER_SHAPE);
		f[3 * BERT_TAGGER_SHAPE] = t != wfirst[w];
	}
	rc = 0;
done:
	free(cp);
	free(word_of);
	free(wfirst);
	free(wlast);
	free(mean);
	free(shape);
	return rc;
}

BertHeadStatus
bcore_tagger_probs(const BertModel *m, const BertRunState *st, const int32_t *ids,
				   const int32_t *start, const int32_t *end, int n,
				   const char *text, size_t text_len, float *probs)
{
	int			H = m->config.hidden;
	int			D = bcore_tagger_dim(H);
	uint8_t    *sub;
	float	   *X;
	int			rc;

	if (m->config.kind != BERT_KIND_TOKEN_CLASSIFICATION || m->weights.tagger == NULL ||
		m->weights.cls_w == NULL)
		return BERT_HEAD_WRONG_KIND;
	if (n < 0 || n > st->cap_tokens || st->x == NULL)
		return BERT_HEAD_BAD_INPUT;
	if (n == 0)
		return BERT_HEAD_OK;
	sub = malloc((size_t) n);
	X = malloc(sizeof(float) * (size_t) n * D);
	if (sub == NULL || X == NULL)
	{
		free(sub);
		free(X);
		return BERT_HEAD_NOMEM;
	}
	bcore_pieces_subword(&m->vocab, ids, start, end, n, sub);
	rc = bcore_tagger_features(st->x, n, H, start, end, sub, text, text_len, X);
	if (rc == 0)
		bcore_head_probs(X, n, D, D, m->weights.cls_w, m->weights.cls_b,
						 m->config.num_labels, probs);
	free(sub);
	free(X);
	return rc == 0 ? BERT_HEAD_OK : BERT_HEAD_NOMEM;
}

/*
 * The transitions: k * k + 2k parameters from zero, by full-batch Adam.
 * Not tuned: the emissions are fitted to the same sentences, so what the
 * transitions add is mostly the BIO rule, which Viterbi enforces anyway.
 */
#define TAGGER_CRF_STEPS 100
#define TAGGER_CRF_LR 0.05f
#define TAGGER_CRF_L2 1e-3f

BertHeadStatus
bcore_train_tagger(const float *X, int n, int d, const int *seq_start, int n_seq,
				   const int *y, int k, const char *const *names, const size_t *lens,
				   const BertTrainParams *params, void *work, float *W, float *b,
				   float *trans, float *start, float *end,
				   BertTrainProgress progress, void *arg)
{
	BertHeadStatus st;
	float	   *emit;
	int		   *starts;
	uint8_t    *allowed;
	int			m = 0;
	int			rc;

	if (n_seq < 0 || seq_start == NULL || seq_start[0] != 0 || seq_start[n_seq] != n)
		return BERT_HEAD_BAD_INPUT;
	for (int s = 0; s < n_seq; s++)
		if (seq_start[s + 1] < seq_start[s])
			return BERT_HEAD_BAD_INPUT;
	st = bcore_train_softmax(X, n, d, y, k, params, work, W, b, progress, arg);
	if (st != BERT_HEAD_OK)
		return st;

	/* emissions: the trained head's log-probabilities, row by row */
	emit = malloc(sizeof(float) * (size_t) n * k);
	starts = malloc(sizeof(int) * ((size_t) n_seq + 1));
	allowed = malloc((size_t) k * k + k);
	if (emit == NULL || starts == NULL || allowed == NULL)
	{
		free(emit);
		free(starts);
		free(allowed);
		return BERT_HEAD_NOMEM;
	}
	bcore_head_probs(X, n, d, d, W, b, k, emit);
	for (size_t i = 0; i < (size_t) n * k; i++)
		emit[i] = logf(emit[i] > 1e-30f ? emit[i] : 1e-30f);
	/* the sequences with rows */
	starts[0] = 0;
	for (int s = 0; s < n_seq; s++)
		if (seq_start[s + 1] > seq_start[s])
			starts[++m] = seq_start[s + 1];
	bcore_bio_allowed(names, lens, k, allowed, allowed + (size_t) k * k);
	memset(trans, 0, sizeof(float) * (size_t) k * k);
	memset(start, 0, sizeof(float) * k);
	memset(end, 0, sizeof(float) * k);
	rc = m == 0 ? 0 : bcore_crf_train(emit, starts, m, k, y, allowed, allowed + (size_t) k * k,
									  TAGGER_CRF_STEPS, TAGGER_CRF_LR, TAGGER_CRF_L2,
									  trans, start, end, NULL);
	free(emit);
	free(starts);
	free(allowed);
	return rc == -1 ? BERT_HEAD_NOMEM : rc == -2 ? BERT_HEAD_BAD_INPUT : BERT_HEAD_OK;
}
