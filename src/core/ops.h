/*
 * ops.h — the kernels around the matrix products (ops.c, which dispatches
 * to ops_avx2.c and ops_avx512.c), and the BLIS wrapper (blas.c).
 */
#ifndef BERT_OPS_H
#define BERT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "model_format.h"

/* Pick the BLIS kernel set from the CPU, then set BLIS threads.  Call in the
 * process that computes (a backend), never before fork().  Idempotent. */
void		bcore_blas_init(int threads);

/* After bcore_blas_init(): the kernel set BLIS uses ("zen3", "skx", ...), how
 * it was chosen, and the BLIS version. */
const char *bcore_blas_arch(void);
const char *bcore_blas_arch_reason(void);
const char *bcore_blas_version(void);
int			bcore_blas_threads(void);

/* SIMD features of this CPU that bert and BLIS use, e.g. "avx2 fma". */
const char *bcore_cpu_features(void);

/* C (m x n) = A (m x k) * op(B) + beta C, all row-major; B is a weight
 * stored [n][k] (Hugging Face [out, in]) and used transposed through its
 * strides, no copy. */
void		bcore_linear(int m, int n, int k, const float *a, int lda,
						const float *w, float beta, float *c, int ldc);

/* General strided sgemm: C = alpha A B + beta C. */
void		bcore_gemm(int m, int n, int k, float alpha,
					  const float *a, long rsa, long csa,
					  const float *b, long rsb, long csb,
					  float beta, float *c, long rsc, long csc);

/* Each of the rows of x (n floats each) := bias (+ residual row, if given). */
void		bcore_fill_rows(float *x, int rows, int n, const float *bias,
						   const float *residual);

/* y = (x - mean) / sqrt(var + eps) * g + b over each row of n, in place. */
void		bcore_layernorm(float *x, int rows, int n, const float *g,
						   const float *b, float eps);

void		bcore_gelu(float *x, size_t n);	/* exact, erf-based */
void		bcore_gelu_tanh(float *x, size_t n);
void		bcore_relu(float *x, size_t n);
void		bcore_tanh(float *x, size_t n);

/* Softmax over each row of n (stride ld), in place. */
void		bcore_softmax_rows(float *x, int rows, int n, int ld);

/*
 * Quantised linear layers.  bcore_quantize_rows: each row r of x (rows x k,
 * stride ldx) to xq (rows x k int16, |q| <= bcore_qx_max(k)) with
 * scale[r] = max|x_r| / bcore_qx_max(k).  bcore_linear_i16: c[i][j] +=
 * sx[i] sw[j] sum_t xq[i][t] wq[j][t], wq being n x k quantised weights
 * ([out, in], |w| <= BERT_QW_MAX), k <= BERT_QK_MAX (model_format.h).  The
 * sums are exact integers, so every variant computes the same products.
 */
static inline int
bcore_qx_max(int k)
{
	/* the most a row of k products q * w can sum to stays inside int32 */
	long		m = 2147483647L / ((long) BERT_QW_MAX * (k > 0 ? k : 1));

	return m > 32767 ? 32767 : (int) m;
}
void		bcore_quantize_rows(const float *x, int rows, int k, int ldx,
							   int16_t *xq, float *scale);
void		bcore_linear_i16(int m, int n, int k, const int16_t *xq, const float *sx,
							const int16_t *wq, const float *sw, float *c, int ldc);

/*
 * What a linear layer's product writes besides the product, each tile while
 * it is in registers: with bias, c := bias (+ residual, m x n, stride ldr)
 * + the product instead of c += the product -- the sum bcore_fill_rows
 * makes, so the same bits as filling c first; with gelu, then GELU (the
 * erf form) on c: bcore_gelu_fused's bits.
 */
typedef struct BertLinearOut
{
	const float *bias;
	const float *residual;
	int			ldr;
	int			gelu;
} BertLinearOut;

/*
 * Linear layers on Q8P weights (model_format.h).  bcore_quantize_rows8:
 * each row r of x (rows x k, stride ldx), multiplied channel by channel by
 * mult if not NULL, to xq (rows x bcore_q8p_in(k) bytes, 0 past k, in the
 * order bcore_linear_q8p reads them: ops_impl.h): unsigned 8 bits over the
 * row's range [min(0, lo), max(0, hi)], so x ~= scale[r] (q - zero[r]).  bcore_linear_q8p: c (m x n, stride ldc) +=
 * sx[i] sw[j] (sum_t xq[i][t] wq[j][t] - zero[i] wsum[j]), wq the weight's
 * signed bytes, wsum[j] the sum of its channel's, k <= BERT_QK_MAX.  The
 * sums are exact integers, then each output gets one conversion to float
 * and one fused multiply-add, the same on every variant: the same bits.
 * threads > 1 shares the panels out on OpenMP threads.  With out (else
 * NULL), bias (n floats) + residual (m x n, stride out->ldr) if given +
 * product, as bcore_fill_rows would sum them, then GELU if asked.
 */
void		bcore_quantize_rows8(const float *x, int rows, int k, int ldx, const float *mult,
								uint8_t *xq, int32_t *zero, float *scale);
void		bcore_linear_q8p(int m, int n, int k, const uint8_t *xq, const int32_t *zero,
							const float *sx, const int8_t *w, const int16_t *wide,
							int16_t *x16, const float *wsum, const float *sw,
							const BertLinearOut *out, float *c, int ldc, int threads);

/*
 * Kernels without integer dot products ("avx2", "avx512") would widen each
 * weight byte to 16 bits on every use; given wide, the same weight widened
 * once (bcore_q8p_widen), bcore_linear_q8p multiplies 16-bit activations
 * (q - zero) by it with pmaddwd instead: the same integer sums, so the same
 * bits.  Those 16-bit activations go to x16, room for m x bcore_q8p_in(k)
 * int16_t that the caller keeps between calls, or, if NULL, to a buffer
 * allocated for the call.  Other kernels ignore wide and x16 (either may be
 * NULL).  bcore_q8p_wants_wide:
 * nonzero if the kernels in use take it.  bcore_q8p_wide_count: the int16
 * elements of W [n, k] widened: panels of BERT_Q8P_PANEL channels as Q8P,
 * in a panel pairs of inputs, each pair the panel's channels x 2.
 */
int			bcore_q8p_wants_wide(void);
size_t		bcore_q8p_wide_count(int n, int k);
void		bcore_q8p_widen(const int8_t *w, int n, int k, int16_t *wide);

/*
 * Linear layers on Q16P weights (model_format.h).  bcore_quantize_rows16:
 * each row r of x (rows x k, stride ldx) to 16 bits, symmetric: xq[r][t]
 * = round(x[r][t] / scale[r]), |xq| <= bcore_q16_xmax(k), scale[r] =
 * max|x_r| / bcore_q16_xmax(k) (a NaN becomes 0), 0 past k, in the order
 * bcore_linear_q16p reads them (ops_impl.h): rows x bcore_q8p_in(k)
 * int16_t.  bcore_linear_q16p: c (m x n, stride ldc) += sx[i] sw[j]
 * sum_t xq[i][t] wq[j][t], k <= BERT_QK_MAX, or what out (else NULL) says,
 * as bcore_linear_q8p: the sums are exact integers, then one conversion
 * and one fused multiply-add, the same bits on every variant.
 */
static inline int
bcore_q16_xmax(int k)
{
	/* the most a row of k products x * w (|w| <= BERT_Q16_WMAX) can sum to stays inside int32 */
	long		in = (long) bcore_q8p_in((uint32_t) (k > 0 ? k : 1));
	long		m = 2147483647L / ((long) BERT_Q16_WMAX * in);

	return m > 32767 ? 32767 : (int) m;
}
void		bcore_quantize_rows16(const float *x, int rows, int k, int ldx,
								 int16_t *xq, float *scale);
void		bcore_linear_q16p(int m, int n, int k, const int16_t *xq, const float *sx,
							 const int16_t *w, const float *sw, const BertLinearOut *out,
							 float *c, int ldc, int threads);

/*
 * Linear layers on F16P weights (model_format.h): c (m x n, stride ldc) +=
 * x (m x k, stride ldx) W^T, W [n, k] packed in panels of BERT_F16P_PANEL
 * output channels, or what out (NULL: nothing) says.  Each output is a
 * chain of fused multiply-adds in order of k starting from c (or the bias
 * sum), so every variant, blocking and thread count gives the same bits.
 * threads > 1 shares the panels out on OpenMP threads.
 */
void		bcore_linear_f16(int m, int n, int k, const float *x, int ldx,
							const uint16_t *w, const BertLinearOut *out, float *c, int ldc,
							int threads);

/*
 * From this many rows a linear layer on F16P weights is faster on BLIS after
 * widening them to fp32 (bcore_f16p_widen) than on bcore_linear_f16, with
 * the kernels in use: 512 for the AVX2 and portable ones, never (INT_MAX)
 * for the AVX-512 ones.
 */
int			bcore_f16_blis_rows(void);

/* W^T of an F16P weight W [n, k] as fp32: b[t * n + j] = W[j][t]. */
void		bcore_f16p_widen(const uint16_t *w, int n, int k, float *b);

/*
 * One attention head of one sequence: o = softmax(scale q k^T) v, where q,
 * k, v are T x d with row stride ld and o has row stride ldo.  scratch
 * holds bcore_attention_scratch(T, d) floats.
 */
size_t		bcore_attention_scratch(int T, int d);
void		bcore_attention(const float *q, const float *k, const float *v, int ld,
						   int T, int d, float scale, float *o, int ldo, float *scratch);

/* Elementwise erf and exp, as bcore_gelu and bcore_softmax_rows compute them
 * (for tests and benchmarks). */
void		bcore_erf(float *x, size_t n);
void		bcore_exp(float *x, size_t n);

/*
 * GELU as the products fuse it (bcore_linear_f16, bcore_linear_q8p with
 * out->gelu), and its erf: on AVX-512 an erf of 32 pieces of degree 5
 * (within 1 ulp of erff, as bcore_erf, but other bits), which only those
 * products use; on the other kernel sets bcore_gelu and bcore_erf.
 */
void		bcore_gelu_fused(float *x, size_t n);
void		bcore_erf_fused(float *x, size_t n);

/*
 * The kernels run the variant for this CPU, chosen on first use:
 * "avx512-vnni", "avx512", "avx2-vnni", "avx2" or "scalar" (portable C on
 * libm), or the one the environment variable BERT_KERNELS names if the CPU
 * runs it.  The float kernels agree to about 1e-7, the products on F16P
 * and quantised weights bit for bit; each gives the same bits from run to
 * run.  The -vnni variants are their base with the int8 products on the
 * integer dot-product instructions (AVX512-VNNI, AVX-VNNI).
 */
const char *bcore_kernels_isa(void);

/* Switch variant: one of the names above, or NULL for the CPU's best.
 * Returns 0, or -1 (and changes nothing) if this CPU cannot run it.  For
 * tests and benchmarks; not thread-safe. */
int			bcore_kernels_use(const char *isa);

/* x := x / ||x||_2 (left alone if the norm is 0). */
void		bcore_l2_normalize(float *x, int n);

#endif							/* BERT_OPS_H */
