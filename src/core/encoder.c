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
 * one GEMM over all their tokens (or over a chunk of them, when threads share
 * the batch), and attention runs per sequence on strided views of q, k and v
 * (one head = hidden/heads columns), so nothing is padded or copied.  Bias
 * and residual are written into the output before a BLIS GEMM, which then
 * accumulates onto them (beta = 1); our half-precision and Q8P products
 * write them themselves, tile by tile, with the same bits, and GELU too.
 */
#include "encoder.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ops.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int			(*bcore_interrupt_pending) (void) = NULL;
void		(*bcore_encode_observe) (int layer, BertLinearId id, const float *x,
									 int rows, int k) = NULL;

/* A run over chunks of the batch; stop is set once any thread sees an interrupt. */
typedef struct Run
{
	const BertModel *m;
	BertRunState *st;
	const int32_t *ids;
	const int  *seq_len;
	int			lin_threads;	/* threads of one linear layer: > 1 with one chunk only */
	int			stop;
} Run;

static int
stopped(Run *r)
{
	if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		return 1;
	if (bcore_interrupt_pending && bcore_interrupt_pending())
	{
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

/*
 * A run-state buffer of `bytes` (buf points to its pointer); its old
 * contents are not kept.  One of 1 MB or more is rounded up to 2 MB
 * multiples, aligned to 2 MB and asks for transparent huge pages
 * (MADV_HUGEPAGE, for systems whose THP setting is "madvise", Debian's
 * default): the first batch big enough to need it then takes a few dozen
 * page faults instead of one per 4 kB (on a 2-core Zen 5 VM, a backend's
 * first batch of 4,096 tokens, when its buffers were 63 MB: 342 ms instead
 * of 453, the later ones 300), and its products miss the TLB less.
 * Without THP it is an ordinary allocation.
 */
#define HUGE_PAGE ((size_t) 2 * 1024 * 1024)

static int
grow(void *buf, size_t bytes)
{
	void	   *p = NULL;
	int			huge = bytes >= HUGE_PAGE / 2;

	if (!huge)
		p = malloc(bytes);
	else
	{
		bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
			p = NULL;
	}
	if (p == NULL)
		return 0;
#ifdef MADV_HUGEPAGE
	if (huge)
		(void) madvise(p, bytes, MADV_HUGEPAGE);
#endif
	free(*(void **) buf);
	*(void **) buf = p;
	return 1;
}

/*
 * The rows to make room for when a call needs `tokens`: beyond a small
 * call's, rounded up to a multiple of `step`, so that calls of a few tokens
 * more than the last (a bulk job's, one after another) reuse the buffers
 * instead of allocating and faulting in new ones each time.
 */
static int
room_for(int tokens, int step)
{
	if (tokens <= 64)
		return tokens;
	return (int) (((int64_t) tokens + step - 1) / step * step);
}

/* bytes of a buffer inside a block: whole cache lines */
static size_t
line_up(size_t bytes)
{
	return (bytes + 63) & ~(size_t) 63;
}

/*
 * Room for a call of `tokens` tokens whose longest sequence is `longest`,
 * on `threads` threads whose chunks have at most `chunk_tokens` tokens.
 */
static BertEncStatus
reserve(const BertConfig *c, BertRunState *s, int tokens, int longest, int threads,
		int chunk_tokens)
{
	size_t		need = bcore_attention_scratch(longest, c->head_dim);
	size_t		widest = (size_t) c->hidden * (c->ffn > c->hidden ? c->ffn : c->hidden);
	size_t		widest_in = (size_t) bcore_q8p_in(c->ffn > c->hidden ? c->ffn : c->hidden);

	/* a chunk big enough for BLIS widens half-precision weights here: see linear() */
	if (c->half && chunk_tokens >= bcore_f16_blis_rows() && need < widest)
		need = widest;

	if (tokens > s->cap_tokens)
	{
		tokens = room_for(tokens, 512);
		if (!grow(&s->x, sizeof(float) * tokens * c->hidden))
			return BERT_ENC_NOMEM;
		s->cap_tokens = tokens;
	}
	if (need > s->cap_scratch)
	{
		for (int t = 0; t < BERT_MAX_THREADS; t++)
		{
			free(s->chunk[t].scratch);
			s->chunk[t].scratch = NULL;
		}
		s->cap_scratch = need;
	}
	for (int t = 0; t < threads; t++)
	{
		BertChunkBuffers *b = &s->chunk[t];

		if (chunk_tokens > b->cap_tokens)
		{
			int			rows = room_for(chunk_tokens, 128);
			size_t		th = line_up(sizeof(float) * rows * c->hidden);
			char	   *p;

			if (!grow(&b->block, 5 * th + sizeof(float) * rows * c->ffn))
				return BERT_ENC_NOMEM;
			p = b->block;
			b->q = (float *) p;
			b->k = (float *) (p + th);
			b->v = (float *) (p + 2 * th);
			b->ctx = (float *) (p + 3 * th);
			b->tmp = (float *) (p + 4 * th);
			b->ffn = (float *) (p + 5 * th);
			b->cap_tokens = rows;
		}
		if (c->quantized && chunk_tokens > b->cap_qtokens)
		{
			int			rows = room_for(chunk_tokens, 128);

			if (!grow(&b->xq, sizeof(int16_t) * rows * widest_in) ||
				!grow(&b->xq8, (size_t) rows * widest_in) ||
				!grow(&b->xzero, sizeof(int32_t) * rows) ||
				!grow(&b->xs, sizeof(float) * rows))
				return BERT_ENC_NOMEM;
			b->cap_qtokens = rows;
		}
		if (b->scratch == NULL && (b->scratch = malloc(s->cap_scratch * sizeof(float))) == NULL)
			return BERT_ENC_NOMEM;
	}
	return BERT_ENC_OK;
}

/* Linear id's inputs and outputs: (k, n). */
static void
linear_shape(const BertConfig *c, int id, int *k, int *n)
{
	*k = id == BERT_LIN_FF2 ? c->ffn : c->hidden;
	*n = id == BERT_LIN_FF1 ? c->ffn : c->hidden;
}

/*
 * For kernels without integer dot products, the Q8P weights widened to 16
 * bits once (ops.h bcore_q8p_widen; twice their bytes, private to the
 * process), which their products then read instead of widening every
 * byte on every use: the same sums, so the same results.  Without memory
 * for them the products run on the bytes.
 */
static void
widen_q8p(const BertModel *m, BertRunState *st)
{
	const BertConfig *c = &m->config;
	size_t		total = 0;
	int			k,
				n;

	if (!bcore_q8p_wants_wide() || st->wide_of == m->weights.layers)
		return;
	free(st->wide);
	free(st->wide_w);
	st->wide = NULL;
	st->wide_w = NULL;
	st->wide_of = NULL;
	for (int l = 0; l < c->n_layers; l++)
		for (int id = 0; id < BERT_LINEARS; id++)
			if (m->weights.layers[l].w8[id] != NULL)
			{
				linear_shape(c, id, &k, &n);
				total += bcore_q8p_wide_count(n, k);
			}
	if (total == 0)
		return;
	st->wide = malloc(total * sizeof(int16_t));
	st->wide_w = calloc((size_t) c->n_layers * BERT_LINEARS, sizeof(int16_t *));
	if (st->wide == NULL || st->wide_w == NULL)
	{
		free(st->wide);
		free(st->wide_w);
		st->wide = NULL;
		st->wide_w = NULL;
		return;
	}
	total = 0;
	for (int l = 0; l < c->n_layers; l++)
		for (int id = 0; id < BERT_LINEARS; id++)
			if (m->weights.layers[l].w8[id] != NULL)
			{
				int16_t    *to = st->wide + total;

				linear_shape(c, id, &k, &n);
				bcore_q8p_widen(m->weights.layers[l].w8[id], n, k, to);
				st->wide_w[l * BERT_LINEARS + id] = to;
				total += bcore_q8p_wide_count(n, k);
			}
	st->wide_of = m->weights.layers;
}

/* Tokens ahead whose word embedding row embed() asks the memory for */
#define EMBED_PREFETCH_AHEAD 4

/* ask the memory for the H floats at row */
static inline void
prefetch_row(const float *row, int H)
{
	for (size_t b = 0; b < sizeof(float) * (size_t) H; b += 64)
		__builtin_prefetch((const char *) row + b, 0, 0);
}

/*
 * x = LayerNorm(word + position + token type 0) for every token, summed in
 * that order (the first sum by the kernels' bias + residual of a row).  A
 * word's row is a random one of a large table, mostly not in cache: the
 * row EMBED_PREFETCH_AHEAD tokens on is fetched while this one is summed
 * (bench/encode at batch 256 on Zen 5: the embedding's share of the
 * samples 1.4 -> 1.1 %, most of it still the rows' loads).
 */
static void
embed(const BertModel *m, float *x, const int32_t *ids, const int *seq_len, int n_seq)
{
	const BertConfig *c = &m->config;
	const BertWeights *w = &m->weights;
	int			H = c->hidden;
	int			t = 0;
	int			T = 0;

	for (int s = 0; s < n_seq; s++)
		T += seq_len[s];
	for (int a = 0; a < EMBED_PREFETCH_AHEAD && a < T; a++)
		prefetch_row(w->word_emb + (size_t) ids[a] * H, H);
	for (int s = 0; s < n_seq; s++)
		for (int p = 0; p < seq_len[s]; p++, t++)
		{
			float	   *restrict y = x + (size_t) t * H;

			if (t + EMBED_PREFETCH_AHEAD < T)
				prefetch_row(w->word_emb + (size_t) ids[t + EMBED_PREFETCH_AHEAD] * H, H);
			bcore_fill_rows(y, 1, H, w->word_emb + (size_t) ids[t] * H, w->pos_emb + (size_t) p * H);
			for (int i = 0; i < H; i++)
				y[i] += w->type_emb[i];
		}
	bcore_layernorm(x, t, H, w->emb_ln_g, w->emb_ln_b, c->layer_norm_eps);
}

static void
activate(BertActivation act, float *x, size_t n)
{
	switch (act)
	{
		case BERT_ACT_GELU:
			bcore_gelu(x, n);
			break;
		case BERT_ACT_GELU_TANH:
			bcore_gelu_tanh(x, n);
			break;
		case BERT_ACT_RELU:
			bcore_relu(x, n);
			break;
	}
}

/* A chunk's buffers for quantised linear layers (rows from its own t0). */
typedef struct QuantRows
{
	int16_t    *xq;				/* Q8, Q16P; Q8P's activations widened to 16 bits */
	uint8_t    *xq8;			/* Q8P */
	int32_t    *xzero;
	float	   *xs;
} QuantRows;

/*
 * y (T x n) += x (T x k) W^T for linear id of layer L: BLIS on fp32
 * weights; half-precision ones on our own kernel, or from
 * bcore_f16_blis_rows() rows on BLIS after widening them into wide (k x n
 * floats, the thread's scratch); on quantised ones, x is quantised per token
 * into qr unless the caller already did (quantized_x: q, k and v share one
 * input).  y starts as bias (+ residual, T x n).
 */
static int
linear(const Run *r, const BertLayerWeights *L, BertLinearId id, const float *w, int T,
	   int n, int k, const float *x, const QuantRows *qr, int quantized_x,
	   const float *bias, const float *residual, float *y, float *wide, int gelu)
{
	if (bcore_encode_observe != NULL)
	{
		bcore_encode_observe((int) (L - r->m->weights.layers), id, x, T, k);

		/*
		 * A calibration observes GELU as bcore_gelu computes it (the
		 * portable code's erf), not as the products fuse it
		 * (bcore_gelu_fused: on AVX-512 an erf of other bits), so the
		 * variant it makes does not depend on the fused erf: calibrated on
		 * that one, all-MiniLM-L6-v2-int8 gave sql/quantized.sql's
		 * weather/stadium cosine 0.10699 instead of 0.10652, outside its
		 * bound.  Run with it, the same variant gives 0.10652 again: its
		 * activations are rounded to 8 (or 16) bits after GELU.
		 */
		gelu = 0;
	}
	/* our half-precision, Q8P and Q16P products write bias (+ residual) and GELU
	 * themselves, tile by tile; the others add onto y */
	if (L->wh[id] != NULL && T < bcore_f16_blis_rows())
	{
		BertLinearOut out = {bias, residual, n, gelu};

		bcore_linear_f16(T, n, k, x, k, L->wh[id], &out, y, n, r->lin_threads);
		return gelu;
	}
	if (L->w8[id] == NULL && L->w16[id] == NULL)
		bcore_fill_rows(y, T, n, bias, residual);
	if (L->wh[id] != NULL)
	{
		bcore_f16p_widen(L->wh[id], n, k, wide);
		bcore_gemm(T, n, k, 1.0f, x, k, 1, wide, n, 1, 1.0f, y, n, 1);
		return 0;
	}
	if (L->w8[id] != NULL)
	{
		BertLinearOut out = {bias, residual, n, gelu};
		const int16_t *wide = r->st->wide_w == NULL ? NULL :
			r->st->wide_w[(L - r->m->weights.layers) * BERT_LINEARS + id];

		if (!quantized_x)
			bcore_quantize_rows8(x, T, k, k, L->smooth[id], qr->xq8, qr->xzero, qr->xs);
		bcore_linear_q8p(T, n, k, qr->xq8, qr->xzero, qr->xs, L->w8[id], wide, qr->xq,
						 L->wsum[id], L->ws[id], &out, y, n, r->lin_threads);
		return gelu;
	}
	if (L->w16[id] != NULL)
	{
		BertLinearOut out = {bias, residual, n, gelu};

		if (!quantized_x)
			bcore_quantize_rows16(x, T, k, k, qr->xq, qr->xs);
		bcore_linear_q16p(T, n, k, qr->xq, qr->xs, L->w16[id], L->ws[id], &out, y, n,
						  r->lin_threads);
		return gelu;
	}
	if (L->wq[id] == NULL)
	{
		bcore_linear(T, n, k, x, k, w, 1.0f, y, n);
		return 0;
	}
	if (!quantized_x)
		bcore_quantize_rows(x, T, k, k, qr->xq, qr->xs);
	bcore_linear_i16(T, n, k, qr->xq, qr->xs, L->wq[id], L->ws[id], y, n);
	return 0;
}

/* Is the input of linear id quantised the same way as that of linear prev? */
static int
same_quantized(const BertLayerWeights *L, BertLinearId prev, BertLinearId id)
{
	return (L->wq[prev] != NULL && L->wq[id] != NULL) ||
		(L->w8[prev] != NULL && L->w8[id] != NULL) ||
		(L->w16[prev] != NULL && L->w16[id] != NULL);
}

/*
 * The encoder over sequences s0 .. s0 + n_seq - 1, whose tokens start at
 * row t0 of the batch and number T: every buffer is used from row t0 on, so
 * chunks of one batch run side by side on their own rows.
 */
static void
encode_chunk(Run *r, int s0, int n_seq, size_t t0, int T, const BertChunkBuffers *b)
{
	const BertConfig *c = &r->m->config;
	const int  *seq_len = r->seq_len + s0;
	int			H = c->hidden;
	int			F = c->ffn;
	int			d = c->head_dim;
	float		scale = 1.0f / sqrtf((float) d);
	float	   *x = r->st->x + t0 * H;
	float	   *q = b->q;
	float	   *k = b->k;
	float	   *v = b->v;
	float	   *ctx = b->ctx;
	float	   *tmp = b->tmp;
	float	   *ffn = b->ffn;
	float	   *scratch = b->scratch;
	QuantRows	qr = {b->xq, b->xq8, b->xzero, b->xs};

	embed(r->m, x, r->ids + t0, seq_len, n_seq);
	for (int l = 0; l < c->n_layers; l++)
	{
		const BertLayerWeights *L = &r->m->weights.layers[l];
		size_t		row0 = 0;

		if (stopped(r))
			return;
		linear(r, L, BERT_LIN_Q, L->q_w, T, H, H, x, &qr, 0, L->q_b, NULL, q, scratch, 0);
		linear(r, L, BERT_LIN_K, L->k_w, T, H, H, x, &qr,
			   same_quantized(L, BERT_LIN_Q, BERT_LIN_K), L->k_b, NULL, k, scratch, 0);
		linear(r, L, BERT_LIN_V, L->v_w, T, H, H, x, &qr,
			   same_quantized(L, BERT_LIN_K, BERT_LIN_V) ||
			   same_quantized(L, BERT_LIN_Q, BERT_LIN_V), L->v_b, NULL, v, scratch, 0);

		/* ctx = softmax(q k^T / sqrt(d)) v, per sequence and head */
		for (int s = 0; s < n_seq; s++)
		{
			if (stopped(r))
				return;
			for (int h = 0; h < c->n_heads; h++)
			{
				size_t		off = row0 * H + (size_t) h * d;

				bcore_attention(q + off, k + off, v + off, H, seq_len[s], d, scale,
							   ctx + off, H, scratch);
			}
			row0 += seq_len[s];
		}

		/* x = LayerNorm(x + ctx Wo^T + bo) */
		linear(r, L, BERT_LIN_O, L->o_w, T, H, H, ctx, &qr, 0, L->o_b, x, tmp, scratch, 0);
		bcore_layernorm(tmp, T, H, L->ln1_g, L->ln1_b, c->layer_norm_eps);

		/* x = LayerNorm(x + act(x W1^T + b1) W2^T + b2) */
		if (!linear(r, L, BERT_LIN_FF1, L->ff1_w, T, F, H, tmp, &qr, 0, L->ff1_b, NULL, ffn, scratch,
					c->activation == BERT_ACT_GELU))
			activate(c->activation, ffn, (size_t) T * F);
		linear(r, L, BERT_LIN_FF2, L->ff2_w, T, H, F, ffn, &qr, 0, L->ff2_b, tmp, x, scratch, 0);
		bcore_layernorm(x, T, H, L->ln2_g, L->ln2_b, c->layer_norm_eps);
	}
}

/* one chunk per thread: see bcore_encode_threads() */
#define CHUNKS_PER_THREAD 1
#define MAX_CHUNKS (CHUNKS_PER_THREAD * BERT_MAX_THREADS)

/* chunk i of a call (first, tok0: bcore_encode_threads'), in the calling thread's buffers */
static void
run_chunk(Run *run, const int *first, const size_t *tok0, int i)
{
#ifdef _OPENMP
	const BertChunkBuffers *b = &run->st->chunk[omp_get_thread_num()];
#else
	const BertChunkBuffers *b = &run->st->chunk[0];
#endif

	if (!stopped(run))
		encode_chunk(run, first[i], first[i + 1] - first[i], tok0[i],
					 (int) (tok0[i + 1] - tok0[i]), b);
}

BertEncStatus
bcore_encode_threads(const BertModel *m, BertRunState *st, const int32_t *ids,
					const int *seq_len, int n_seq, int threads)
{
	const BertConfig *c = &m->config;
	int			T = 0;
	int			longest = 0;
	int			n_chunks;
	int			min_chunk;
	int			chunk_tokens = 0;	/* the biggest chunk's */
	int			first[MAX_CHUNKS + 1];	/* chunk i: sequences first[i] .. first[i+1]-1 */
	size_t		tok0[MAX_CHUNKS + 1];	/* and tokens from tok0[i] */
	BertEncStatus status;
	Run			run = {m, st, ids, seq_len, 1, 0};

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

	/*
	 * One chunk per thread and none under min_chunk tokens: bigger matrix
	 * products keep the FMA units busier.  Measured against four smaller
	 * chunks per thread (which let a thread slowed by another process on
	 * its core leave its share to the other), bench/encode with 2 threads
	 * and batches of 60 sentences: 5 770 vs 5 015 tokens/s, mean of 3
	 * interleaved runs.  A big batch on several threads is cut into chunks
	 * of about min_chunk tokens instead, taken in turn: a chunk's buffers
	 * then stay in cache from one product to the next (bench/encode,
	 * batches of 256 on 2 threads, Zen 5: +8-13 % tokens/s on the int8
	 * variant, +11 % on the default model, chunks of 512) -- but not where
	 * each chunk would widen the half-precision weights again for BLIS.
	 * min_chunk: BERT_MIN_CHUNK_TOKENS where our kernels run the products,
	 * BERT_MIN_BLIS_CHUNK_TOKENS where BLIS does (fp32 weights).  A batch
	 * too small for a chunk of min_chunk per thread still gets one per
	 * thread down to BERT_MIN_SPLIT_TOKENS each.
	 */
	min_chunk = c->half || c->quantized ? BERT_MIN_CHUNK_TOKENS : BERT_MIN_BLIS_CHUNK_TOKENS;
	threads = threads < 1 ? 1 : threads > BERT_MAX_THREADS ? BERT_MAX_THREADS : threads;
	n_chunks = threads == 1 ? (T + BERT_MAX_CHUNK_TOKENS - 1) / BERT_MAX_CHUNK_TOKENS :
		CHUNKS_PER_THREAD * threads;
	if (threads > 1 && !(c->half && bcore_f16_blis_rows() != INT_MAX) &&
		T / min_chunk > n_chunks)
		n_chunks = T / min_chunk;
	if (n_chunks > MAX_CHUNKS)
		n_chunks = MAX_CHUNKS;
	if (n_chunks > T / min_chunk)
		n_chunks = T / min_chunk;
	if (n_chunks < threads)
		n_chunks = threads < T / BERT_MIN_SPLIT_TOKENS ? threads : T / BERT_MIN_SPLIT_TOKENS;
	/* as many chunks for each thread: 5 on 2 threads would leave one idle
	 * while the other runs the fifth (CALL bert_embed_table, whose batches
	 * end in such a call, on 2 threads: 1.78 -> 1.92 cores busy, +8 %
	 * tokens/s on the default model, Zen 5) */
	if (n_chunks > threads)
		n_chunks -= n_chunks % threads;
	if (n_chunks > n_seq)
		n_chunks = n_seq;
	if (n_chunks < 1)
		n_chunks = 1;
	if (n_chunks == 1)
		run.lin_threads = threads;	/* the one chunk's products on all threads */
	if (threads > n_chunks)
		threads = n_chunks;

	/* cut where the running token count passes i / n_chunks of the total */
	{
		int			s = 0;
		size_t		t = 0;

		for (int i = 0; i < n_chunks; i++)
		{
			int			leave = n_chunks - 1 - i;	/* one sequence per later chunk */

			first[i] = s;
			tok0[i] = t;
			do
				t += seq_len[s++];
			while (s < n_seq - leave &&
				   (leave == 0 || t * n_chunks < (size_t) T * (i + 1)));
			if (t - tok0[i] > (size_t) chunk_tokens)
				chunk_tokens = (int) (t - tok0[i]);
		}
		first[n_chunks] = n_seq;
		tok0[n_chunks] = (size_t) T;
	}
	if ((status = reserve(c, st, T, longest, threads, chunk_tokens)) != BERT_ENC_OK)
		return status;
	if (c->quantized)
		widen_q8p(m, st);

	/* on one thread no OpenMP region: ops.c's products skip theirs too */
	if (threads > 1)
	{
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
		for (int i = 0; i < n_chunks; i++)
			run_chunk(&run, first, tok0, i);
	}
	else
		for (int i = 0; i < n_chunks; i++)
			run_chunk(&run, first, tok0, i);
	return run.stop ? BERT_ENC_INTERRUPTED : BERT_ENC_OK;
}

BertEncStatus
bcore_encode(const BertModel *m, BertRunState *st, const int32_t *ids,
			const int *seq_len, int n_seq)
{
	return bcore_encode_threads(m, st, ids, seq_len, n_seq, 1);
}

void
bcore_pool(const BertModel *m, const BertRunState *st, const int *seq_len,
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
			bcore_l2_normalize(y, H);
		row0 += seq_len[s];
	}
}

void
bcore_run_state_free(BertRunState *st)
{
	free(st->x);
	for (int t = 0; t < BERT_MAX_THREADS; t++)
	{
		BertChunkBuffers *b = &st->chunk[t];

		free(b->block);
		free(b->xq);
		free(b->xq8);
		free(b->xzero);
		free(b->xs);
		free(b->scratch);
	}
	free(st->wide);
	free(st->wide_w);
	memset(st, 0, sizeof(*st));
}
