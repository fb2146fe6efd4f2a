/*
 * encoder.c — the BERT forward pass, top to bottom.
 *
 *   x = LayerNorm(word_emb[id] + pos_emb[p] + type_emb[0])
 *   for each layer:
 *     q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv
 *     per sequence, per head: ctx_h = softmax(q_h k_h^T / sqrt(d)) v_h
 *     x = LayerNorm(x + ctx Wo^T + bo)
 *     x = LayerNorm(x + act(x W1^T + b1) W2^T + b2)
 *
 * Sequences of different lengths are laid end to end; every linear layer is
 * one GEMM over all their tokens, and attention runs per sequence on strided
 * views of q, k and v (one head = hidden/heads columns), so nothing is padded
 * or copied.  Bias and residual are written into the output before the GEMM,
 * which then accumulates onto them (beta = 1).
 */
#include "encoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

void		(*bert_interrupt_check) (void) = NULL;

static inline void
check_interrupts(void)
{
	if (bert_interrupt_check)
		bert_interrupt_check();
}

static int
grow(float **buf, size_t n)
{
	float	   *p = realloc(*buf, n * sizeof(float));

	if (p == NULL)
		return 0;
	*buf = p;
	return 1;
}

static BertEncStatus
reserve(const BertConfig *c, BertRunState *s, int tokens, int longest)
{
	if (tokens > s->cap_tokens)
	{
		size_t		th = (size_t) tokens * c->hidden;

		if (!grow(&s->x, th) || !grow(&s->q, th) || !grow(&s->k, th) ||
			!grow(&s->v, th) || !grow(&s->ctx, th) || !grow(&s->tmp, th) ||
			!grow(&s->ffn, (size_t) tokens * c->ffn))
			return BERT_ENC_NOMEM;
		s->cap_tokens = tokens;
	}
	if (longest > s->cap_seq)
	{
		if (!grow(&s->scores, (size_t) longest * longest))
			return BERT_ENC_NOMEM;
		s->cap_seq = longest;
	}
	return BERT_ENC_OK;
}

/* x = LayerNorm(word + position + token type 0) for every token. */
static void
embed(const BertModel *m, float *x, const int32_t *ids, const int *seq_len, int n_seq)
{
	const BertConfig *c = &m->config;
	const BertWeights *w = &m->weights;
	int			H = c->hidden;
	int			t = 0;

	for (int s = 0; s < n_seq; s++)
		for (int p = 0; p < seq_len[s]; p++, t++)
		{
			const float *we = w->word_emb + (size_t) ids[t] * H;
			const float *pe = w->pos_emb + (size_t) p * H;
			float	   *restrict y = x + (size_t) t * H;

			for (int i = 0; i < H; i++)
				y[i] = we[i] + pe[i] + w->type_emb[i];
		}
	bert_layernorm(x, t, H, w->emb_ln_g, w->emb_ln_b, c->layer_norm_eps);
}

/* ctx = softmax(q k^T / sqrt(d)) v, per sequence and head. */
static void
attention(const BertConfig *c, BertRunState *st, const int *seq_len, int n_seq)
{
	int			H = c->hidden;
	int			d = c->head_dim;
	float		scale = 1.0f / sqrtf((float) d);
	size_t		row0 = 0;

	for (int s = 0; s < n_seq; s++)
	{
		int			T = seq_len[s];

		check_interrupts();
		for (int h = 0; h < c->n_heads; h++)
		{
			const float *q = st->q + row0 * H + (size_t) h * d;
			const float *k = st->k + row0 * H + (size_t) h * d;
			const float *v = st->v + row0 * H + (size_t) h * d;
			float	   *o = st->ctx + row0 * H + (size_t) h * d;

			/* scores (T x T) = q_h (T x d) k_h^T (d x T) */
			bert_gemm(T, T, d, scale, q, H, 1, k, 1, H, 0.0f, st->scores, T, 1);
			bert_softmax_rows(st->scores, T, T, T);
			/* ctx_h (T x d) = scores (T x T) v_h (T x d) */
			bert_gemm(T, d, T, 1.0f, st->scores, T, 1, v, H, 1, 0.0f, o, H, 1);
		}
		row0 += T;
	}
}

static void
activate(BertActivation act, float *x, size_t n)
{
	switch (act)
	{
		case BERT_ACT_GELU:
			bert_gelu(x, n);
			break;
		case BERT_ACT_GELU_TANH:
			bert_gelu_tanh(x, n);
			break;
		case BERT_ACT_RELU:
			bert_relu(x, n);
			break;
	}
}

BertEncStatus
bert_encode(const BertModel *m, BertRunState *st, const int32_t *ids,
			const int *seq_len, int n_seq)
{
	const BertConfig *c = &m->config;
	int			H = c->hidden;
	int			F = c->ffn;
	int			T = 0;
	int			longest = 0;
	BertEncStatus status;

	for (int s = 0; s < n_seq; s++)
	{
		if (seq_len[s] < 1 || seq_len[s] > c->max_positions)
			return BERT_ENC_BAD_INPUT;
		T += seq_len[s];
		if (seq_len[s] > longest)
			longest = seq_len[s];
	}
	for (int t = 0; t < T; t++)
		if (ids[t] < 0 || ids[t] >= c->vocab_size)
			return BERT_ENC_BAD_INPUT;
	if (T == 0)
		return BERT_ENC_OK;
	if ((status = reserve(c, st, T, longest)) != BERT_ENC_OK)
		return status;

	embed(m, st->x, ids, seq_len, n_seq);
	for (int l = 0; l < c->n_layers; l++)
	{
		const BertLayerWeights *L = &m->weights.layers[l];

		check_interrupts();
		bert_fill_rows(st->q, T, H, L->q_b, NULL);
		bert_linear(T, H, H, st->x, H, L->q_w, 1.0f, st->q, H);
		bert_fill_rows(st->k, T, H, L->k_b, NULL);
		bert_linear(T, H, H, st->x, H, L->k_w, 1.0f, st->k, H);
		bert_fill_rows(st->v, T, H, L->v_b, NULL);
		bert_linear(T, H, H, st->x, H, L->v_w, 1.0f, st->v, H);

		attention(c, st, seq_len, n_seq);

		/* x = LayerNorm(x + ctx Wo^T + bo) */
		bert_fill_rows(st->tmp, T, H, L->o_b, st->x);
		bert_linear(T, H, H, st->ctx, H, L->o_w, 1.0f, st->tmp, H);
		bert_layernorm(st->tmp, T, H, L->ln1_g, L->ln1_b, c->layer_norm_eps);

		/* x = LayerNorm(x + act(x W1^T + b1) W2^T + b2) */
		bert_fill_rows(st->ffn, T, F, L->ff1_b, NULL);
		bert_linear(T, F, H, st->tmp, H, L->ff1_w, 1.0f, st->ffn, F);
		activate(c->activation, st->ffn, (size_t) T * F);
		bert_fill_rows(st->x, T, H, L->ff2_b, st->tmp);
		bert_linear(T, H, F, st->ffn, F, L->ff2_w, 1.0f, st->x, H);
		bert_layernorm(st->x, T, H, L->ln2_g, L->ln2_b, c->layer_norm_eps);
	}
	return BERT_ENC_OK;
}

void
bert_pool(const BertModel *m, const BertRunState *st, const int *seq_len,
		  int n_seq, float *out)
{
	const BertConfig *c = &m->config;
	int			H = c->hidden;
	size_t		row0 = 0;

	for (int s = 0; s < n_seq; s++)
	{
		float	   *y = out + (size_t) s * H;
		const float *x = st->x + row0 * H;

		if (c->pooling == BERT_POOL_CLS)
			memcpy(y, x, sizeof(float) * H);
		else
		{
			memset(y, 0, sizeof(float) * H);
			for (int t = 0; t < seq_len[s]; t++)
				for (int i = 0; i < H; i++)
					y[i] += x[(size_t) t * H + i];
			for (int i = 0; i < H; i++)
				y[i] /= (float) seq_len[s];
		}
		if (c->flags & BERT_FLAG_NORMALIZE)
			bert_l2_normalize(y, H);
		row0 += seq_len[s];
	}
}

void
bert_run_state_free(BertRunState *st)
{
	free(st->x);
	free(st->q);
	free(st->k);
	free(st->v);
	free(st->ctx);
	free(st->tmp);
	free(st->ffn);
	free(st->scores);
	memset(st, 0, sizeof(*st));
}
