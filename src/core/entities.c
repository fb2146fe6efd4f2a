/*
 * entities.c — transformers' TokenClassificationPipeline after the model:
 * gather_pre_entities (is_subword), aggregate / aggregate_word(s) for the
 * five strategies, group_entities with get_tag, and ignore_labels ["O"];
 * with label transitions, Viterbi instead of the per-unit argmax.
 */
#include "entities.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
bcore_aggregation_from_name(const char *s, size_t len)
{
	static const char *const names[] = {"none", "simple", "first", "average", "max"};

	for (int i = 0; i < (int) (sizeof(names) / sizeof(names[0])); i++)
		if (len == strlen(names[i]) && memcmp(s, names[i], len) == 0)
			return i;
	return -1;
}

/* Code points of UTF-8 s (len bytes): its bytes that do not continue a sequence. */
static int32_t
code_points(const char *s, size_t len)
{
	int32_t		n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char) s[i] & 0xC0) != 0x80;
	return n;
}

void
bcore_pieces_subword(const BertVocab *v, const int32_t *ids, const int32_t *start,
					 const int32_t *end, int n, uint8_t *is_subword)
{
	for (int t = 0; t < n; t++)
	{
		uint32_t	id = (uint32_t) ids[t];

		is_subword[t] = 0;
		if (start[t] >= end[t] || id == v->unk_id || id >= v->size)
			continue;
		is_subword[t] = code_points(v->blob + v->offsets[id], v->offsets[id + 1] - v->offsets[id]) !=
			end[t] - start[t];
	}
}

/* get_tag(): B-X -> (B, X); I-X -> (I, X); anything else -> (I, itself). */
static void
get_tag(const char *name, size_t len, int *is_b, const char **tag, size_t *tag_len)
{
	int			prefixed = len >= 2 && name[1] == '-' && (name[0] == 'B' || name[0] == 'I');

	*is_b = prefixed && name[0] == 'B';
	*tag = prefixed ? name + 2 : name;
	*tag_len = prefixed ? len - 2 : len;
}

/* The group being built: units first .. last, skipping specials. */
typedef struct Group
{
	int			first;
	int			last;
	int			count;
	int			finite;			/* scores that are not NaN */
	double		sum;			/* of those scores */
} Group;

/* Write the group into *e; 0 (nothing written) if its type is "O". */
static int
close_group(const Group *g, const int *label, const int32_t *start, const int32_t *end,
			const char *const *names, const size_t *lens, BertEntity *e)
{
	int			l = label[g->first];
	const char *name = names[l];
	size_t		len = lens[l];
	const char *dash = memchr(name, '-', len);
	size_t		from = dash ? (size_t) (dash - name) + 1 : 0;

	/* entity_group = the first unit's label.split("-", 1)[-1] */
	e->type = name + from;
	e->type_len = len - from;
	if (e->type_len == 1 && e->type[0] == 'O')
		return 0;
	e->label = l;
	e->score = g->finite ? (float) (g->sum / g->finite) : NAN;
	e->start = start[g->first];
	e->end = end[g->last];
	e->first = g->first;
	e->n_pieces = g->count;
	return 1;
}

int
bcore_group_entities(const int *label, const float *score, const int32_t *start,
					 const int32_t *end, int n, const char *const *names,
					 const size_t *lens, int n_labels, BertEntity *out)
{
	Group		g = {0};
	int			n_out = 0;

	for (int t = 0; t < n; t++)
		if (label[t] < 0 || label[t] >= n_labels)
			return -1;
	for (int t = 0; t < n; t++)
	{
		if (start[t] == end[t])
			continue;			/* [CLS], [SEP]: the special tokens mask */
		if (g.count > 0)
		{
			int			is_b,
						last_b;
			const char *tag,
					   *last_tag;
			size_t		tag_len,
						last_len;

			get_tag(names[label[t]], lens[label[t]], &is_b, &tag, &tag_len);
			get_tag(names[label[g.last]], lens[label[g.last]], &last_b, &last_tag, &last_len);
			if (is_b || tag_len != last_len || memcmp(tag, last_tag, tag_len) != 0)
			{
				n_out += close_group(&g, label, start, end, names, lens, &out[n_out]);
				g.count = 0;
			}
		}
		if (g.count == 0)
		{
			g.first = t;
			g.finite = 0;
			g.sum = 0.0;
		}
		g.last = t;
		g.count++;
		if (!isnan(score[t]))
		{
			g.sum += score[t];
			g.finite++;
		}
	}
	if (g.count > 0)
		n_out += close_group(&g, label, start, end, names, lens, &out[n_out]);
	return n_out;
}

/* numpy's argmax: the first largest (a NaN, if any, wins as numpy's does). */
static int
argmax_row(const float *x, int k)
{
	int			best = 0;

	for (int c = 0; c < k; c++)
		if (isnan(x[c]))
			return c;
	for (int c = 1; c < k; c++)
		if (x[c] > x[best])
			best = c;
	return best;
}

/*
 * The units of a text: their probabilities (rows of probs, or computed into
 * own), first piece and last piece.  Specials are not units.
 */
typedef struct Units
{
	int			n;
	float	   *p;				/* n x k */
	int		   *first;
	int		   *last;
} Units;

static int
make_units(const float *probs, int n, int k, const int32_t *start, const int32_t *end,
		   const uint8_t *is_subword, BertAggregation agg, Units *u)
{
	int			word = agg == BERT_AGG_FIRST || agg == BERT_AGG_AVERAGE || agg == BERT_AGG_MAX;

	u->n = 0;
	u->p = malloc(sizeof(float) * ((size_t) n * k + 1));
	u->first = malloc(sizeof(int) * ((size_t) n + 1));
	u->last = malloc(sizeof(int) * ((size_t) n + 1));
	if (u->p == NULL || u->first == NULL || u->last == NULL)
		return -2;

	/* aggregate_words: a piece that is_subword joins the word before it */
	for (int t = 0; t < n; t++)
	{
		if (start[t] == end[t])
			continue;
		if (word && u->n > 0 && is_subword[t])
			u->last[u->n - 1] = t;
		else
		{
			u->first[u->n] = t;
			u->last[u->n] = t;
			u->n++;
		}
	}

	/* aggregate_word: each unit's probabilities */
	for (int w = 0; w < u->n; w++)
	{
		float	   *row = u->p + (size_t) w * k;
		const float *fp = probs + (size_t) u->first[w] * k;

		if (agg != BERT_AGG_AVERAGE && agg != BERT_AGG_MAX)
			memcpy(row, fp, sizeof(float) * k);
		else if (agg == BERT_AGG_MAX)
		{
			/* max(entities, key=scores.max()): the first piece with the top score */
			const float *best = NULL;
			float		best_max = 0.0f;

			for (int t = u->first[w]; t <= u->last[w]; t++)
			{
				const float *pt = probs + (size_t) t * k;
				float		mx = pt[argmax_row(pt, k)];

				if (start[t] == end[t])
					continue;
				if (best == NULL || mx > best_max)
				{
					best = pt;
					best_max = mx;
				}
			}
			memcpy(row, best, sizeof(float) * k);
		}
		else
			for (int c = 0; c < k; c++)
			{
				/* np.nanmean over the word's pieces */
				double		s = 0.0;
				int			m = 0;

				for (int t = u->first[w]; t <= u->last[w]; t++)
				{
					float		v = probs[(size_t) t * k + c];

					if (start[t] == end[t] || isnan(v))
						continue;
					s += v;
					m++;
				}
				row[c] = m ? (float) (s / m) : NAN;
			}
	}
	return 0;
}

static void
free_units(Units *u)
{
	free(u->p);
	free(u->first);
	free(u->last);
}

int
bcore_extract_entities(const float *probs, int n, int k, const int32_t *start,
					   const int32_t *end, const uint8_t *is_subword, BertAggregation agg,
					   const BertTransitions *crf, const char *const *names,
					   const size_t *lens, BertEntity *out)
{
	Units		u;
	int		   *label = NULL;
	float	   *score = NULL;
	int32_t    *us = NULL,
			   *ue = NULL;
	int			result;

	if (n < 0 || k < 1 || agg < BERT_AGG_NONE || agg > BERT_AGG_MAX ||
		(is_subword == NULL && agg != BERT_AGG_NONE && agg != BERT_AGG_SIMPLE))
		return -1;
	if (n == 0)
		return 0;
	if (make_units(probs, n, k, start, end, is_subword, agg, &u) != 0)
	{
		free_units(&u);
		return -2;
	}
	label = malloc(sizeof(int) * ((size_t) u.n + 1));
	score = malloc(sizeof(float) * ((size_t) u.n + 1));
	us = malloc(sizeof(int32_t) * ((size_t) u.n + 1));
	ue = malloc(sizeof(int32_t) * ((size_t) u.n + 1));
	if (label == NULL || score == NULL || us == NULL || ue == NULL)
	{
		result = -2;
		goto done;
	}

	if (crf == NULL)
		for (int w = 0; w < u.n; w++)
			label[w] = argmax_row(u.p + (size_t) w * k, k);
	else
	{
		/* Viterbi on log-probabilities under the BIO rule */
		float	   *emit = malloc(sizeof(float) * ((size_t) u.n * k + 1));
		uint8_t    *allowed = malloc((size_t) k * k + (size_t) k);
		int			st;

		if (emit == NULL || allowed == NULL)
		{
			free(emit);
			free(allowed);
			result = -2;
			goto done;
		}
		for (size_t i = 0; i < (size_t) u.n * k; i++)
			emit[i] = u.p[i] > 0.0f ? logf(u.p[i]) : -1e30f;
		bcore_bio_allowed(names, lens, k, allowed, allowed + (size_t) k * k);
		st = bcore_viterbi(emit, u.n, k, crf, allowed, allowed + (size_t) k * k, label);
		free(emit);
		free(allowed);
		if (st != 0)
		{
			result = st == -1 ? -2 : -1;
			goto done;
		}
	}
	for (int w = 0; w < u.n; w++)
	{
		score[w] = u.p[(size_t) w * k + label[w]];
		us[w] = start[u.first[w]];
		ue[w] = end[u.last[w]];
	}

	if (agg == BERT_AGG_NONE)
	{
		/* every piece but "O" (ignore_labels), with its full label */
		result = 0;
		for (int w = 0; w < u.n; w++)
		{
			BertEntity *e = &out[result];

			if (lens[label[w]] == 1 && names[label[w]][0] == 'O')
				continue;
			e->type = names[label[w]];
			e->type_len = lens[label[w]];
			e->label = label[w];
			e->score = score[w];
			e->start = us[w];
			e->end = ue[w];
			e->first = u.first[w];
			e->n_pieces = 1;
			result++;
		}
	}
	else
	{
		result = bcore_group_entities(label, score, us, ue, u.n, names, lens, k, out);
		/* units back to pieces */
		for (int i = 0; i < result; i++)
		{
			int			w0 = out[i].first;
			int			w1 = w0 + out[i].n_pieces - 1;
			int			pieces = 0;

			for (int t = u.first[w0]; t <= u.last[w1]; t++)
				pieces += start[t] != end[t];
			out[i].first = u.first[w0];
			out[i].n_pieces = pieces;
		}
	}

done:
	free_units(&u);
	free(label);
	free(score);
	free(us);
	free(ue);
	return result;
}
