/*
 * heads.c — classification heads on the encoder's output, the
 * softmax-regression trainer and BIO labels.
 *
 *   sequence:  x = tanh(W_p h_[CLS] + b_p)  (or the pooled embedding)
 *              p = softmax(W_c x + b_c)
 *   tokens:    p_t = softmax(W_c h_t + b_c)
 *   training:  min_W,b  sum_i w_yi CE(softmax(W x_i + b), y_i) / sum_i w_yi
 *                       + l2/2 ||W||^2,  by Adam on shuffled mini-batches
 */
#include "heads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

const char *
bcore_head_status_message(BertHeadStatus status)
{
	switch (status)
	{
		case BERT_HEAD_OK:
			return "success";
		case BERT_HEAD_NOMEM:
			return "out of memory";
		case BERT_HEAD_BAD_INPUT:
			return "invalid input";
		case BERT_HEAD_WRONG_KIND:
			return "the model has no classification head of this kind";
		case BERT_HEAD_DIVERGED:
			return "training diverged (the loss is not finite); try a smaller learning rate";
		case BERT_HEAD_CANCELLED:
			return "training was stopped";
	}
	return "unknown status";
}

/* ---------------------------------------------------------------------------
 * Inference.
 */
void
bcore_head_probs(const float *x, int rows, int d, int ldx, const float *W,
				const float *b, int k, float *probs)
{
	if (rows <= 0)
		return;
	bcore_fill_rows(probs, rows, k, b, NULL);
	bcore_linear(rows, k, d, x, ldx, W, 1.0f, probs, k);
	bcore_softmax_rows(probs, rows, k, k);
}

int
bcore_argmax(const float *x, int n, float *value)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	if (value)
		*value = x[best];
	return best;
}

/* Total tokens of the batch, or -1 if a length is bad or the state is too small. */
static long
batch_tokens(const BertRunState *st, const int *seq_len, int n_seq)
{
	long		T = 0;

	for (int s = 0; s < n_seq; s++)
	{
		if (seq_len[s] < 1)
			return -1;
		T += seq_len[s];
	}
	if (T > st->cap_tokens || st->x == NULL)
		return -1;
	return T;
}

BertHeadStatus
bcore_classify_sequence(const BertModel *m, const BertRunState *st,
					   const int *seq_len, int n_seq, float *scratch, float *probs)
{
	const BertWeights *w = &m->weights;
	int			H = m->config.hidden;
	float	   *buf = scratch;
	float	   *x;

	if (m->config.kind != BERT_KIND_SEQUENCE_CLASSIFICATION || w->cls_w == NULL)
		return BERT_HEAD_WRONG_KIND;
	if (n_seq < 0 || batch_tokens(st, seq_len, n_seq) < 0)
		return BERT_HEAD_BAD_INPUT;
	if (n_seq == 0)
		return BERT_HEAD_OK;
	if (buf == NULL && (buf = malloc(sizeof(float) * 2 * (size_t) n_seq * H)) == NULL)
		return BERT_HEAD_NOMEM;
	x = buf + (size_t) n_seq * H;

	if (w->pooler_w != NULL)
	{
		size_t		row0 = 0;

		/* gather the [CLS] rows, then x = tanh(h W_p^T + b_p) */
		for (int s = 0; s < n_seq; s++)
		{
			memcpy(buf + (size_t) s * H, st->x + row0 * H, sizeof(float) * H);
			row0 += seq_len[s];
		}
		bcore_fill_rows(x, n_seq, H, w->pooler_b, NULL);
		bcore_linear(n_seq, H, H, buf, H, w->pooler_w, 1.0f, x, H);
		bcore_tanh(x, (size_t) n_seq * H);
	}
	else
		bcore_pool(m, st, seq_len, n_seq, x);

	bcore_head_probs(x, n_seq, H, H, w->cls_w, w->cls_b, m->config.num_labels, probs);
	if (scratch == NULL)
		free(buf);
	return BERT_HEAD_OK;
}

BertHeadStatus
bcore_classify_tokens(const BertModel *m, const BertRunState *st,
					 const int *seq_len, int n_seq, float *probs)
{
	const BertWeights *w = &m->weights;
	long		T;

	/* a tagger head reads features of the text: bcore_tagger_probs() */
	if (m->config.kind != BERT_KIND_TOKEN_CLASSIFICATION || w->cls_w == NULL ||
		w->tagger != NULL)
		return BERT_HEAD_WRONG_KIND;
	if (n_seq < 0 || (T = batch_tokens(st, seq_len, n_seq)) < 0)
		return BERT_HEAD_BAD_INPUT;
	bcore_head_probs(st->x, (int) T, m->config.hidden, m->config.hidden,
					w->cls_w, w->cls_b, m->config.num_labels, probs);
	return BERT_HEAD_OK;
}

/* ---------------------------------------------------------------------------
 * Softmax regression.
 */
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8f
#define CHUNK_ROWS 512			/* bounds the work area for large batches */

void
bcore_train_params_default(BertTrainParams *p)
{
	p->epochs = 100;
	p->batch_size = 32;
	p->learning_rate = 0.01f;
	p->l2 = 1e-4f;
	p->seed = 42;
	p->class_weight = BERT_CLASS_WEIGHT_NONE;
}

/* xorshift64* seeded through splitmix64, so nearby seeds diverge at once. */
static uint64_t
rng_seed(uint64_t seed)
{
	uint64_t	z = (seed ? seed : 42) + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return z ? z : 0x2545F4914F6CDD1Dull;
}

static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static int
batch_rows(int n, const BertTrainParams *p)
{
	return p->batch_size <= 0 || p->batch_size >= n ? n : p->batch_size;
}

/* Rows gathered at a time: a whole mini-batch, but at most CHUNK_ROWS. */
static int
chunk_rows(int n, int B)
{
	int			c = B < CHUNK_ROWS ? CHUNK_ROWS : B;

	c = c > CHUNK_ROWS ? CHUNK_ROWS : c;
	return c < n ? c : n;
}

/* The work area, carved into aligned pieces. */
typedef struct TrainWork
{
	int		   *perm;			/* (n) row order */
	float	   *mu;				/* (d) feature means */
	float	   *cw;				/* (k) class weights */
	float	   *xb;				/* (rows, d) standardised rows of a chunk */
	float	   *g;				/* (rows, k) logits, probabilities, gradient */
	float	   *ws;				/* (k, d) weights on standardised features */
	float	   *bs;				/* (k) */
	float	   *gw;				/* (k, d) gradient */
	float	   *gb;				/* (k) */
	float	   *mw,
			   *vw;				/* (k, d) Adam moments */
	float	   *mb,
			   *vb;				/* (k) */
} TrainWork;

/* Bytes of work area; with tw and base, also point tw's arrays into base. */
static size_t
layout(TrainWork *tw, char *base, int n, int d, int k, int rows)
{
	size_t		kd = (size_t) k * d;
	const size_t sizes[] = {
		sizeof(int) * (size_t) n, sizeof(float) * (size_t) d, sizeof(float) * (size_t) k,
		sizeof(float) * (size_t) rows * d, sizeof(float) * (size_t) rows * k,
		sizeof(float) * kd, sizeof(float) * (size_t) k,
		sizeof(float) * kd, sizeof(float) * (size_t) k,
		sizeof(float) * kd, sizeof(float) * kd,
		sizeof(float) * (size_t) k, sizeof(float) * (size_t) k
	};
	char	   *pieces[sizeof(sizes) / sizeof(sizes[0])];
	size_t		total = 64;		/* room to align the start */
	char	   *p = base ? (char *) (((uintptr_t) base + 63) & ~(uintptr_t) 63) : NULL;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		size_t		r = (sizes[i] + 63) & ~(size_t) 63;

		pieces[i] = p;
		if (p)
			p += r;
		total += r;
	}
	if (tw && base)
	{
		tw->perm = (int *) pieces[0];
		tw->mu = (float *) pieces[1];
		tw->cw = (float *) pieces[2];
		tw->xb = (float *) pieces[3];
		tw->g = (float *) pieces[4];
		tw->ws = (float *) pieces[5];
		tw->bs = (float *) pieces[6];
		tw->gw = (float *) pieces[7];
		tw->gb = (float *) pieces[8];
		tw->mw = (float *) pieces[9];
		tw->vw = (float *) pieces[10];
		tw->mb = (float *) pieces[11];
		tw->vb = (float *) pieces[12];
	}
	return total;
}

size_t
bcore_train_softmax_work_size(int n, int d, int k, const BertTrainParams *params)
{
	BertTrainParams def;

	if (n < 1 || d < 1 || k < 1)
		return 0;
	if (params == NULL)
	{
		bcore_train_params_default(&def);
		params = &def;
	}
	return layout(NULL, NULL, n, d, k, chunk_rows(n, batch_rows(n, params)));
}

/* Rows idx[0 .. rows-1] of X, centred and scaled, into xb. */
static void
gather(const float *X, int d, const int *idx, int rows, const float *mu,
	   float scale, float *xb)
{
	for (int r = 0; r < rows; r++)
	{
		const float *x = X + (size_t) idx[r] * d;
		float	   *y = xb + (size_t) r * d;

		for (int j = 0; j < d; j++)
			y[j] = (x[j] - mu[j]) * scale;
	}
}

/*
 * Turn a row of logits into probabilities; return the cross-entropy of
 * label y (log-sum-exp minus the logit, so it stays finite when p_y
 * underflows) and its argmax in *pred.
 */
static double
softmax_ce(float *z, int k, int y, int *pred)
{
	float		max = z[0];
	double		sum = 0.0,
				lse;
	float		zy = z[y];
	int			best = 0;

	for (int c = 1; c < k; c++)
		if (z[c] > max)
		{
			max = z[c];
			best = c;
		}
	for (int c = 0; c < k; c++)
	{
		z[c] = expf(z[c] - max);
		sum += z[c];
	}
	for (int c = 0; c < k; c++)
		z[c] = (float) (z[c] / sum);
	lse = (double) max + log(sum);
	*pred = best;
	return lse - zy;
}

/* Weighted loss + L2 term and accuracy over all rows, in row order. */
static void
evaluate(const float *X, int n, int d, const int *y, int k, const TrainWork *tw,
		 float scale, int rows, const int *order, float l2, double *loss, double *acc)
{
	double		ce = 0.0,
				wsum = 0.0,
				reg = 0.0;
	int			right = 0;

	for (int r0 = 0; r0 < n; r0 += rows)
	{
		int			m = n - r0 < rows ? n - r0 : rows;

		gather(X, d, order + r0, m, tw->mu, scale, tw->xb);
		bcore_fill_rows(tw->g, m, k, tw->bs, NULL);
		bcore_linear(m, k, d, tw->xb, d, tw->ws, 1.0f, tw->g, k);
		for (int r = 0; r < m; r++)
		{
			int			i = order[r0 + r];
			int			pred;
			double		l = softmax_ce(tw->g + (size_t) r * k, k, y[i], &pred);

			ce += tw->cw[y[i]] * l;
			wsum += tw->cw[y[i]];
			right += pred == y[i];
		}
	}
	for (size_t j = 0; j < (size_t) k * d; j++)
		reg += (double) tw->ws[j] * tw->ws[j];
	*loss = ce / wsum + 0.5 * l2 * reg;
	*acc = (double) right / n;
}

/* W = ws * scale, b = bs - W mu: the same logits on raw features. */
static void
unstandardise(const TrainWork *tw, int d, int k, float scale, float *W, float *b)
{
	for (int c = 0; c < k; c++)
	{
		double		shift = 0.0;

		for (int j = 0; j < d; j++)
		{
			W[(size_t) c * d + j] = tw->ws[(size_t) c * d + j] * scale;
			shift += (double) W[(size_t) c * d + j] * tw->mu[j];
		}
		b[c] = (float) (tw->bs[c] - shift);
	}
}

/* One Adam step on n values. */
static void
adam(float *x, const float *g, float *m, float *v, size_t n, float lr_t)
{
	for (size_t i = 0; i < n; i++)
	{
		m[i] = (float) (ADAM_BETA1 * m[i] + (1.0 - ADAM_BETA1) * g[i]);
		v[i] = (float) (ADAM_BETA2 * v[i] + (1.0 - ADAM_BETA2) * (double) g[i] * g[i]);
		x[i] -= lr_t * m[i] / (sqrtf(v[i]) + ADAM_EPS);
	}
}

BertHeadStatus
bcore_train_softmax(const float *X, int n, int d, const int *y, int k,
				   const BertTrainParams *params, void *work, float *W, float *b,
				   BertTrainProgress progress, void *arg)
{
	BertTrainParams p;
	TrainWork	tw;
	char	   *own = NULL;
	int			B,
				rows;
	double		sq = 0.0,
				scale;
	uint64_t	rng;
	long		step = 0;
	BertHeadStatus status = BERT_HEAD_OK;

	if (params)
		p = *params;
	else
		bcore_train_params_default(&p);
	if (X == NULL || y == NULL || W == NULL || b == NULL ||
		n < 1 || d < 1 || k < 2 || p.epochs < 0 ||
		!(p.learning_rate > 0.0f) || !isfinite(p.learning_rate) ||
		!(p.l2 >= 0.0f) || !isfinite(p.l2) ||
		(p.class_weight != BERT_CLASS_WEIGHT_NONE && p.class_weight != BERT_CLASS_WEIGHT_BALANCED))
		return BERT_HEAD_BAD_INPUT;
	for (int i = 0; i < n; i++)
		if (y[i] < 0 || y[i] >= k)
			return BERT_HEAD_BAD_INPUT;
	for (size_t j = 0; j < (size_t) n * d; j++)
		if (!isfinite(X[j]))
			return BERT_HEAD_BAD_INPUT;

	B = batch_rows(n, &p);
	rows = chunk_rows(n, B);
	if (work == NULL)
	{
		own = malloc(layout(NULL, NULL, n, d, k, rows));
		if (own == NULL)
			return BERT_HEAD_NOMEM;
		work = own;
	}
	layout(&tw, work, n, d, k, rows);

	/* standardisation: mean per feature, one scale from the RMS row norm */
	for (int j = 0; j < d; j++)
	{
		double		s = 0.0;

		for (int i = 0; i < n; i++)
			s += X[(size_t) i * d + j];
		tw.mu[j] = (float) (s / n);
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
		{
			double		c = (double) X[(size_t) i * d + j] - tw.mu[j];

			sq += c * c;
		}
	scale = sq > 0.0 ? 1.0 / sqrt(sq / n) : 1.0;

	/* class weights */
	for (int c = 0; c < k; c++)
		tw.cw[c] = 0.0f;
	for (int i = 0; i < n; i++)
		tw.cw[y[i]] += 1.0f;
	for (int c = 0; c < k; c++)
		tw.cw[c] = p.class_weight == BERT_CLASS_WEIGHT_BALANCED && tw.cw[c] > 0.0f ?
			(float) ((double) n / ((double) k * tw.cw[c])) : 1.0f;

	memset(tw.ws, 0, sizeof(float) * (size_t) k * d);
	memset(tw.bs, 0, sizeof(float) * (size_t) k);
	memset(tw.mw, 0, sizeof(float) * (size_t) k * d);
	memset(tw.vw, 0, sizeof(float) * (size_t) k * d);
	memset(tw.mb, 0, sizeof(float) * (size_t) k);
	memset(tw.vb, 0, sizeof(float) * (size_t) k);
	for (int i = 0; i < n; i++)
		tw.perm[i] = i;
	rng = rng_seed(p.seed);
	unstandardise(&tw, d, k, (float) scale, W, b);

	for (int epoch = 1; epoch <= p.epochs; epoch++)
	{
		double		loss,
					acc;

		/* Fisher-Yates */
		for (int i = n - 1; i > 0; i--)
		{
			int			j = (int) ((rng_next(&rng) >> 11) % (uint64_t) (i + 1));
			int			t = tw.perm[i];

			tw.perm[i] = tw.perm[j];
			tw.perm[j] = t;
		}

		for (int r0 = 0; r0 < n; r0 += B)
		{
			int			m = n - r0 < B ? n - r0 : B;
			double		c1,
						c2;
			float		lr_t;

			/* gW = l2 Ws, gb = 0, then the batch's gradient chunk by chunk */
			for (size_t j = 0; j < (size_t) k * d; j++)
				tw.gw[j] = p.l2 * tw.ws[j];
			memset(tw.gb, 0, sizeof(float) * (size_t) k);
			for (int c0 = 0; c0 < m; c0 += rows)
			{
				int			mc = m - c0 < rows ? m - c0 : rows;
				const int  *idx = tw.perm + r0 + c0;

				/* G = diag(w) (softmax(Xb Ws^T + bs) - onehot(y)) / m */
				gather(X, d, idx, mc, tw.mu, (float) scale, tw.xb);
				bcore_fill_rows(tw.g, mc, k, tw.bs, NULL);
				bcore_linear(mc, k, d, tw.xb, d, tw.ws, 1.0f, tw.g, k);
				bcore_softmax_rows(tw.g, mc, k, k);
				for (int r = 0; r < mc; r++)
				{
					int			yi = y[idx[r]];
					float	   *g = tw.g + (size_t) r * k;
					float		wi = tw.cw[yi] / (float) m;

					g[yi] -= 1.0f;
					for (int c = 0; c < k; c++)
					{
						g[c] *= wi;
						tw.gb[c] += g[c];
					}
				}
				/* gW (k x d) += G^T (k x mc) Xb (mc x d) */
				bcore_gemm(k, d, mc, 1.0f, tw.g, 1, k, tw.xb, d, 1, 1.0f, tw.gw, d, 1);
			}

			step++;
			c1 = 1.0 - pow(ADAM_BETA1, (double) step);
			c2 = 1.0 - pow(ADAM_BETA2, (double) step);
			lr_t = (float) (p.learning_rate * sqrt(c2) / c1);
			adam(tw.ws, tw.gw, tw.mw, tw.vw, (size_t) k * d, lr_t);
			adam(tw.bs, tw.gb, tw.mb, tw.vb, (size_t) k, lr_t);
		}

		unstandardise(&tw, d, k, (float) scale, W, b);
		/* evaluate in row order; the next epoch shuffles from there */
		for (int i = 0; i < n; i++)
			tw.perm[i] = i;
		evaluate(X, n, d, y, k, &tw, (float) scale, rows, tw.perm, p.l2, &loss, &acc);
		if (!isfinite(loss))
		{
			status = BERT_HEAD_DIVERGED;
			break;
		}
		if (progress && progress(epoch, loss, acc, arg) != 0)
		{
			status = BERT_HEAD_CANCELLED;
			break;
		}
	}
	free(own);
	return status;
}

/* ---------------------------------------------------------------------------
 * BIO labels.
 */
static int
cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int			c = memcmp(a, b, al < bl ? al : bl);

	if (c != 0)
		return c;
	return al < bl ? -1 : al > bl ? 1 : 0;
}

static int
cmp_type(const void *a, const void *b)
{
	const char *x = *(const char *const *) a;
	const char *y = *(const char *const *) b;

	return cmp_bytes(x, strlen(x), y, strlen(y));
}

static char *
concat(const char *prefix, const char *s)
{
	size_t		pl = strlen(prefix),
				sl = strlen(s);
	char	   *r = malloc(pl + sl + 1);

	if (r)
	{
		memcpy(r, prefix, pl);
		memcpy(r + pl, s, sl + 1);
	}
	return r;
}

void
bcore_bio_scheme_free(BertBioScheme *s)
{
	if (s->types)
		for (int i = 0; i < s->n_types; i++)
			free(s->types[i]);
	if (s->labels)
		for (int i = 0; i < s->n_labels; i++)
			free(s->labels[i]);
	free(s->types);
	free(s->labels);
	memset(s, 0, sizeof(*s));
}

BertHeadStatus
bcore_bio_scheme_build(const char *const *types, const size_t *lens, int n,
					  BertBioScheme *s)
{
	int			u = 0;

	memset(s, 0, sizeof(*s));
	if (n < 0)
		return BERT_HEAD_BAD_INPUT;
	for (int i = 0; i < n; i++)
		if (lens[i] == 0 || memchr(types[i], '\0', lens[i]) != NULL ||
			memchr(types[i], '-', lens[i]) != NULL ||
			(lens[i] == 1 && types[i][0] == 'O'))
			return BERT_HEAD_BAD_INPUT;

	s->types = calloc(n > 0 ? n : 1, sizeof(char *));
	if (s->types == NULL)
		return BERT_HEAD_NOMEM;
	for (int i = 0; i < n; i++)
	{
		if ((s->types[i] = malloc(lens[i] + 1)) == NULL)
		{
			s->n_types = i;
			bcore_bio_scheme_free(s);
			return BERT_HEAD_NOMEM;
		}
		memcpy(s->types[i], types[i], lens[i]);
		s->types[i][lens[i]] = '\0';
	}
	s->n_types = n;
	qsort(s->types, n, sizeof(char *), cmp_type);
	for (int i = 0; i < n; i++)
	{
		if (u > 0 && strcmp(s->types[u - 1], s->types[i]) == 0)
			free(s->types[i]);
		else
			s->types[u++] = s->types[i];
	}
	s->n_types = u;

	s->labels = calloc(1 + 2 * (size_t) u, sizeof(char *));
	if (s->labels == NULL)
	{
		bcore_bio_scheme_free(s);
		return BERT_HEAD_NOMEM;
	}
	s->n_labels = 1 + 2 * u;
	s->labels[0] = concat("O", "");
	for (int i = 0; i < u; i++)
	{
		s->labels[1 + 2 * i] = concat("B-", s->types[i]);
		s->labels[2 + 2 * i] = concat("I-", s->types[i]);
	}
	for (int i = 0; i < s->n_labels; i++)
		if (s->labels[i] == NULL)
		{
			bcore_bio_scheme_free(s);
			return BERT_HEAD_NOMEM;
		}
	return BERT_HEAD_OK;
}

int
bcore_bio_type_id(const BertBioScheme *s, const char *type, size_t len)
{
	int			lo = 0,
				hi = s->n_types - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = cmp_bytes(s->types[mid], strlen(s->types[mid]), type, len);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

BertHeadStatus
bcore_bio_assign(const int32_t *start, const int32_t *end, int n,
				const BertBioSpan *ents, int n_ents, int n_types,
				int *label, int *n_missed)
{
	int			prev = -1;		/* entity of the previous non-special piece */
	int			hit = 0;

	if (n < 0 || n_ents < 0)
		return BERT_HEAD_BAD_INPUT;
	for (int e = 0; e < n_ents; e++)
	{
		if (ents[e].start < 0 || ents[e].start >= ents[e].end ||
			ents[e].type < 0 || ents[e].type >= n_types)
			return BERT_HEAD_BAD_INPUT;
		for (int f = 0; f < e; f++)
			if (ents[e].start < ents[f].end && ents[f].start < ents[e].end)
				return BERT_HEAD_BAD_INPUT;
	}
	for (int t = 0; t < n; t++)
	{
		int			in = -1;

		label[t] = 0;
		if (start[t] >= end[t])
			continue;			/* [CLS], [SEP] */
		for (int e = 0; e < n_ents; e++)
			if (start[t] >= ents[e].start && start[t] < ents[e].end)
			{
				in = e;
				break;
			}
		if (in >= 0)
		{
			label[t] = (in == prev ? 2 : 1) + 2 * ents[in].type;
			hit += in != prev;
		}
		prev = in;
	}
	if (n_missed)
		*n_missed = n_ents - hit;
	return BERT_HEAD_OK;
}
