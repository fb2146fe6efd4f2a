/*
 * ops.c — BLIS set-up and the small kernels around the matrix products.
 *
 * The elementwise and row kernels have portable, AVX2 and AVX-512 variants,
 * chosen once from the CPU (see "dispatch" below).
 */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>

static int	blas_ready = 0;
static char blas_reason[128] = "not initialised";

/*
 * BLIS 0.9 picks its kernels from a CPU table that predates recent cores: on
 * an unknown CPU it silently falls back to generic C kernels, 5x slower.  We
 * choose from the features the CPU reports instead, and only among kernel
 * sets this CPU can run (asking BLIS for skx on a CPU without AVX-512 would
 * die of SIGILL).  A BLIS_ARCH_TYPE set by the administrator wins.
 */
static void
choose_arch(void)
{
	const char *env = getenv("BLIS_ARCH_TYPE");
	int			arch = -1;
	const char *why = NULL;

	if (env != NULL && env[0] != '\0')
	{
		snprintf(blas_reason, sizeof(blas_reason), "BLIS_ARCH_TYPE=%s from the environment", env);
		return;
	}
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("fma"))
	{
		arch = BLIS_ARCH_SKX;
		why = "CPU has AVX-512";
	}
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		if (__builtin_cpu_is("amd"))
		{
			arch = BLIS_ARCH_ZEN3;
			why = "AMD CPU has AVX2 and FMA";
		}
		else
		{
			arch = BLIS_ARCH_HASWELL;
			why = "CPU has AVX2 and FMA";
		}
	}
	if (arch >= 0)
	{
		char		num[16];

		snprintf(num, sizeof(num), "%d", arch);
		setenv("BLIS_ARCH_TYPE", num, 1);
		snprintf(blas_reason, sizeof(blas_reason), "%s", why);
	}
	else
		snprintf(blas_reason, sizeof(blas_reason), "no AVX2 or AVX-512: BLIS default");
}

void
bcore_blas_init(int threads)
{
	if (!blas_ready)
	{
		choose_arch();
		blas_ready = 1;
	}
	if (threads < 1)
		threads = 1;
	if (bli_thread_get_num_threads() != threads)
		bli_thread_set_num_threads(threads);
}

const char *
bcore_blas_arch(void)
{
	return bli_arch_string(bli_arch_query_id());
}

const char *
bcore_blas_arch_reason(void)
{
	return blas_reason;
}

const char *
bcore_blas_version(void)
{
	return bli_info_get_version_str();
}

int
bcore_blas_threads(void)
{
	return (int) bli_thread_get_num_threads();
}

void
bcore_gemm(int m, int n, int k, float alpha,
		  const float *a, long rsa, long csa,
		  const float *b, long rsb, long csb,
		  float beta, float *c, long rsc, long csc)
{
	bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
			  (float *) a, rsa, csa, (float *) b, rsb, csb, &beta, c, rsc, csc);
}

void
bcore_linear(int m, int n, int k, const float *a, int lda,
			const float *w, float beta, float *c, int ldc)
{
	/* op(B)[i][j] = w[j][i]: row stride 1, column stride k */
	bcore_gemm(m, n, k, 1.0f, a, lda, 1, w, 1, k, beta, c, ldc, 1);
}

/*
 * The kernels around the matrix products come in three variants: portable C
 * (glibc's erff, expf and tanhf), AVX2 + FMA, and AVX-512; the first call
 * picks the best one the CPU runs.  The SIMD variants evaluate erf, exp and
 * tanh with polynomials of our own (fitted by bench/fit_poly.c) that stay
 * within 1-2 ulp of glibc, and otherwise follow the portable code's order of
 * operations, so the variants agree to about 1e-7 and every variant gives
 * the same bits from run to run.  Tails use masked loads and stores, so an
 * element's result never depends on where it sits in the array.
 */
typedef struct BertKernels
{
	const char *isa;
	void		(*fill_rows) (float *x, int rows, int n, const float *bias,
							  const float *residual);
	void		(*layernorm) (float *x, int rows, int n, const float *g,
							  const float *b, float eps);
	void		(*gelu) (float *x, size_t n);
	void		(*gelu_tanh) (float *x, size_t n);
	void		(*tanh) (float *x, size_t n);
	void		(*softmax_rows) (float *x, int rows, int n, int ld);
	void		(*erf) (float *x, size_t n);
	void		(*exp) (float *x, size_t n);
	void		(*attention) (const float *q, const float *k, const float *v, int ld,
							  int T, int d, float scale, float *o, int ldo, float *scratch);
	void		(*quantize_rows) (const float *x, int rows, int k, int ldx,
								  int16_t *xq, float *scale);
	void		(*linear_i16) (int m, int n, int k, const int16_t *xq, const float *sx,
							   const int16_t *wq, const float *sw, float *c, int ldc);
	void		(*f16_tile) (int rows, int k, const float *x, int ldx,
							 const uint16_t *panel, float *c, int ldc);
	void		(*f16_widen16) (const uint16_t *h, float *f);	/* 16 halves */
} BertKernels;

/* ---- portable C ---- */

static void
fill_rows_scalar(float *x, int rows, int n, const float *bias, const float *residual)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * n;

		if (residual)
		{
			const float *restrict s = residual + (size_t) r * n;

			for (int i = 0; i < n; i++)
				y[i] = bias[i] + s[i];
		}
		else
			memcpy(y, bias, sizeof(float) * n);
	}
}

/*
 * Mean and variance are summed in double: a float sum over 384 features
 * drifts by a few 1e-6 on hidden states with large features, more than the
 * output's own rounding.
 */
static void
layernorm_scalar(float *x, int rows, int n, const float *g, const float *b, float eps)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * n;
		double		sum = 0.0,
					sq = 0.0;
		float		mean,
					inv;

		for (int i = 0; i < n; i++)
			sum += y[i];
		mean = (float) (sum / n);
		for (int i = 0; i < n; i++)
		{
			float		d = y[i] - mean;

			sq += (double) d * d;
		}
		inv = (float) (1.0 / sqrt(sq / n + eps));
		for (int i = 0; i < n; i++)
			y[i] = (y[i] - mean) * inv * g[i] + b[i];
	}
}

static void
gelu_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float) M_SQRT1_2));
}

#define GELU_TANH_C 0.7978845608028654f	/* sqrt(2 / pi) */
#define GELU_TANH_A 0.044715f

static void
gelu_tanh_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + tanhf(GELU_TANH_C * (x[i] + GELU_TANH_A * x[i] * x[i] * x[i])));
}

static void
tanh_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = tanhf(x[i]);
}

static void
softmax_rows_scalar(float *x, int rows, int n, int ld)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * ld;
		float		max = y[0],
					sum = 0.0f,
					inv;

		for (int i = 1; i < n; i++)
			max = y[i] > max ? y[i] : max;
		for (int i = 0; i < n; i++)
		{
			y[i] = expf(y[i] - max);
			sum += y[i];
		}
		inv = 1.0f / sum;
		for (int i = 0; i < n; i++)
			y[i] *= inv;
	}
}

static void
erf_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = erff(x[i]);
}

static void
exp_scalar(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = expf(x[i]);
}

/*
 * One head of attention for one sequence, a query row at a time:
 * s = softmax(scale q_i K^T), o_i = s V.  q, k and v are T x d views with
 * row stride ld (one head's columns of the projections); o has stride ldo.
 * scratch holds bcore_attention_scratch(T, d) floats.
 */
static void
attention_scalar(const float *q, const float *k, const float *v, int ld,
				 int T, int d, float scale, float *o, int ldo, float *scratch)
{
	float	   *restrict s = scratch;

	for (int i = 0; i < T; i++)
	{
		const float *qi = q + (size_t) i * ld;
		float	   *restrict oi = o + (size_t) i * ldo;

		for (int j = 0; j < T; j++)
		{
			const float *kj = k + (size_t) j * ld;
			float		acc = 0.0f;

			for (int c = 0; c < d; c++)
				acc += qi[c] * kj[c];
			s[j] = acc * scale;
		}
		softmax_rows_scalar(s, 1, T, T);
		for (int c = 0; c < d; c++)
			oi[c] = 0.0f;
		for (int j = 0; j < T; j++)
		{
			const float *vj = v + (size_t) j * ld;

			for (int c = 0; c < d; c++)
				oi[c] += s[j] * vj[c];
		}
	}
}

/*
 * Integer products for quantised models.  Activations are quantised per row
 * (token) to bcore_qx_max(k), weights per row (output channel) to
 * BERT_QW_MAX, both stored as int16 so that pairs of products are summed
 * exactly in 32-bit lanes (pmaddwd); the bounds keep any sum of k products
 * inside int32.  Integer sums are exact in any order, and both
 * variants finish each output with the same single fused multiply-add, so
 * the portable and the AVX2 code give the same bits.
 */
static void
quantize_rows_scalar(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	float		qmax = (float) bcore_qx_max(k);

	for (int r = 0; r < rows; r++)
	{
		const float *xr = x + (size_t) r * ldx;
		int16_t    *q = xq + (size_t) r * k;
		float		amax = 0.0f,
					inv;

		for (int i = 0; i < k; i++)
			amax = fabsf(xr[i]) > amax ? fabsf(xr[i]) : amax;
		scale[r] = amax / qmax;
		inv = amax > 0.0f ? qmax / amax : 0.0f;
		for (int i = 0; i < k; i++)
			q[i] = (int16_t) lrintf(xr[i] * inv);
	}
}

static void
linear_i16_scalar(int m, int n, int k, const int16_t *xq, const float *sx,
				  const int16_t *wq, const float *sw, float *c, int ldc)
{
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
		{
			const int16_t *a = xq + (size_t) i * k;
			const int16_t *b = wq + (size_t) j * k;
			int32_t		acc = 0;
			float	   *y = c + (size_t) i * ldc + j;

			for (int t = 0; t < k; t++)
				acc += (int32_t) a[t] * b[t];
			*y = fmaf((float) acc, sx[i] * sw[j], *y);
		}
}

/*
 * c[r][j] += sum_t x[r][t] w[j][t] for rows r < rows and the
 * BERT_F16P_PANEL output columns j of one F16P panel (panel[t * 16 + j]):
 * one fused multiply-add per t, in order of t, from c's value, as the SIMD
 * tiles do, so every variant gives the same bits.
 */
static void
f16_tile_scalar(int rows, int k, const float *x, int ldx, const uint16_t *panel,
				float *c, int ldc)
{
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < BERT_F16P_PANEL; j++)
		{
			const float *xr = x + (size_t) r * ldx;
			float		acc = c[(size_t) r * ldc + j];

			for (int t = 0; t < k; t++)
				acc = fmaf(xr[t], bcore_half_to_float(panel[(size_t) t * BERT_F16P_PANEL + j]), acc);
			c[(size_t) r * ldc + j] = acc;
		}
}

static void
f16_widen16_scalar(const uint16_t *h, float *f)
{
	for (int c = 0; c < BERT_F16P_PANEL; c++)
		f[c] = bcore_half_to_float(h[c]);
}

static const BertKernels kernels_scalar = {
	"scalar", fill_rows_scalar, layernorm_scalar, gelu_scalar, gelu_tanh_scalar,
	tanh_scalar, softmax_rows_scalar, erf_scalar, exp_scalar, attention_scalar,
	quantize_rows_scalar, linear_i16_scalar, f16_tile_scalar, f16_widen16_scalar
};

#if defined(__GNUC__) && defined(__x86_64__)
#define BERT_SIMD 1
#include <cpuid.h>
#include <immintrin.h>

/*
 * The approximations, shared by the SIMD variants.  Errors against glibc
 * over all floats: test/unit/test_ops.c and bench/erf_sweep.c.
 *
 * erf(x) = x + x P(x^2)                  for |x| < 0.921875
 *        = 1 - exp(Q(|x| - 0.921875))    up to 3.92, where erff reaches 1
 * with the sign of x.  Written as x + x P, the small-x result is rounded
 * once, not twice; Q, a fit of log(erfc), keeps erf close to 1 exact.
 */
#define ERF_SPLIT 0.921875f
#define ERF_ONE 3.92f
#define ERF_S0 1.283791661e-01f
#define ERF_S1 -3.761262596e-01f
#define ERF_S2 1.128362119e-01f
#define ERF_S3 -2.685644291e-02f
#define ERF_S4 5.195308477e-03f
#define ERF_S5 -8.089357871e-04f
#define ERF_S6 8.178549615e-05f
#define ERF_L0 -1.648561835e+00f
#define ERF_L1 -2.508012533e+00f
#define ERF_L2 -8.329886198e-01f
#define ERF_L3 -4.482602328e-02f
#define ERF_L4 1.085414365e-02f
#define ERF_L5 -2.145237755e-03f
#define ERF_L6 2.987729968e-04f
#define ERF_L7 -2.118418161e-05f

/*
 * exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 (two-part ln 2),
 * exp(r) = 1 + r + r^2 P(r) on |r| <= ln(2)/2.  2^n is applied in two
 * halves so that results down to the smallest subnormal come out right.
 */
#define EXP_LO -104.0f			/* exp below rounds to 0 */
#define EXP_HI 88.8f			/* exp above overflows to inf */
#define EXP_LOG2E 1.44269504089f
#define EXP_LN2_HI 0.693147182f
#define EXP_LN2_LO -1.904654299e-09f	/* ln 2 - EXP_LN2_HI */
#define EXP_P0 5.000000000e-01f
#define EXP_P1 1.666666567e-01f
#define EXP_P2 4.166629538e-02f
#define EXP_P3 8.333496749e-03f
#define EXP_P4 1.394465100e-03f
#define EXP_P5 1.979035005e-04f

/* tanh(x) = x + x^3 P(x^2) for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1),
 * with the sign of x. */
#define TANH_SPLIT 0.625f
#define TANH_P0 -3.333333433e-01f
#define TANH_P1 1.333332509e-01f
#define TANH_P2 -5.396648124e-02f
#define TANH_P3 2.185050584e-02f
#define TANH_P4 -8.753071539e-03f
#define TANH_P5 3.231608542e-03f
#define TANH_P6 -8.051985642e-04f

/* ---- AVX2 + FMA ---- */

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define V8(c) _mm256_set1_ps(c)
#define FMA8(a, b, c) _mm256_fmadd_ps((a), (b), V8(c))

/* 2^k for integer k in [-126, 127] */
static inline AVX2 __m256
pow2_avx2(__m256i k)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

static inline AVX2 __m256
exp_avx2(__m256 x)
{
	__m256		n,
				r,
				p;
	__m256i		ni,
				n1;

	/* x goes second: MINPS and MAXPS return their second operand on NaN */
	x = _mm256_min_ps(V8(EXP_HI), _mm256_max_ps(V8(EXP_LO), x));
	n = _mm256_round_ps(_mm256_mul_ps(x, V8(EXP_LOG2E)),
						_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, V8(EXP_LN2_HI), x);
	r = _mm256_fnmadd_ps(n, V8(EXP_LN2_LO), r);
	p = FMA8(V8(EXP_P5), r, EXP_P4);
	p = FMA8(p, r, EXP_P3);
	p = FMA8(p, r, EXP_P2);
	p = FMA8(p, r, EXP_P1);
	p = FMA8(p, r, EXP_P0);
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
	p = _mm256_add_ps(p, V8(1.0f));
	ni = _mm256_cvtps_epi32(n);
	n1 = _mm256_srai_epi32(ni, 1);
	p = _mm256_mul_ps(p, pow2_avx2(n1));
	return _mm256_mul_ps(p, pow2_avx2(_mm256_sub_epi32(ni, n1)));
}

static inline AVX2 __m256
erf_avx2(__m256 x)
{
	__m256		sign = V8(-0.0f);
	__m256		a = _mm256_andnot_ps(sign, x);
	__m256		t = _mm256_mul_ps(a, a);
	__m256		s,
				u,
				q,
				small;

	s = FMA8(V8(ERF_S6), t, ERF_S5);
	s = FMA8(s, t, ERF_S4);
	s = FMA8(s, t, ERF_S3);
	s = FMA8(s, t, ERF_S2);
	s = FMA8(s, t, ERF_S1);
	s = FMA8(s, t, ERF_S0);
	s = _mm256_fmadd_ps(a, s, a);

	u = _mm256_sub_ps(_mm256_min_ps(V8(ERF_ONE), a), V8(ERF_SPLIT));
	q = FMA8(V8(ERF_L7), u, ERF_L6);
	q = FMA8(q, u, ERF_L5);
	q = FMA8(q, u, ERF_L4);
	q = FMA8(q, u, ERF_L3);
	q = FMA8(q, u, ERF_L2);
	q = FMA8(q, u, ERF_L1);
	q = FMA8(q, u, ERF_L0);
	q = _mm256_sub_ps(V8(1.0f), exp_avx2(q));

	small = _mm256_cmp_ps(a, V8(ERF_SPLIT), _CMP_LT_OQ);
	return _mm256_or_ps(_mm256_blendv_ps(q, s, small), _mm256_and_ps(sign, x));
}

static inline AVX2 __m256
tanh_avx2(__m256 x)
{
	__m256		sign = V8(-0.0f);
	__m256		a = _mm256_andnot_ps(sign, x);
	__m256		t = _mm256_mul_ps(a, a);
	__m256		s,
				e,
				small;

	s = FMA8(V8(TANH_P6), t, TANH_P5);
	s = FMA8(s, t, TANH_P4);
	s = FMA8(s, t, TANH_P3);
	s = FMA8(s, t, TANH_P2);
	s = FMA8(s, t, TANH_P1);
	s = FMA8(s, t, TANH_P0);
	s = _mm256_fmadd_ps(_mm256_mul_ps(a, t), s, a);

	e = exp_avx2(_mm256_add_ps(a, a));
	e = _mm256_sub_ps(V8(1.0f), _mm256_div_ps(V8(2.0f), _mm256_add_ps(e, V8(1.0f))));

	small = _mm256_cmp_ps(a, V8(TANH_SPLIT), _CMP_LT_OQ);
	return _mm256_or_ps(_mm256_blendv_ps(e, s, small), _mm256_and_ps(sign, x));
}

/* 0.5 x (1 + erf(x / sqrt 2)), in the portable code's order */
static inline AVX2 __m256
gelu_avx2(__m256 x)
{
	__m256		e = erf_avx2(_mm256_mul_ps(x, V8((float) M_SQRT1_2)));

	return _mm256_mul_ps(_mm256_mul_ps(V8(0.5f), x), _mm256_add_ps(V8(1.0f), e));
}

static inline AVX2 __m256
gelu_tanh_avx2(__m256 x)
{
	__m256		c = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(V8(GELU_TANH_A), x), x), x);

	c = _mm256_mul_ps(V8(GELU_TANH_C), _mm256_add_ps(x, c));
	return _mm256_mul_ps(_mm256_mul_ps(V8(0.5f), x), _mm256_add_ps(V8(1.0f), tanh_avx2(c)));
}

/* lanes below rem set */
static inline AVX2 __m256i
tail_avx2(size_t rem)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int) rem),
							  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* a fixed order of additions, so that sums are reproducible */
static inline AVX2 float
hsum_avx2(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline AVX2 float
hmax_avx2(__m256 v)
{
	__m128		s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* x[i] = op(x[i]) for i < n */
#define MAP_AVX2(name, op) \
static AVX2 void \
name(float *x, size_t n) \
{ \
	size_t		i; \
	for (i = 0; i + 8 <= n; i += 8) \
		_mm256_storeu_ps(x + i, op(_mm256_loadu_ps(x + i))); \
	if (i < n) \
	{ \
		__m256i		m = tail_avx2(n - i); \
		_mm256_maskstore_ps(x + i, m, op(_mm256_maskload_ps(x + i, m))); \
	} \
}

MAP_AVX2(gelu_map_avx2, gelu_avx2)
MAP_AVX2(gelu_tanh_map_avx2, gelu_tanh_avx2)
MAP_AVX2(tanh_map_avx2, tanh_avx2)
MAP_AVX2(erf_map_avx2, erf_avx2)
MAP_AVX2(exp_map_avx2, exp_avx2)

static AVX2 void
fill_rows_avx2(float *x, int rows, int n, const float *bias, const float *residual)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * n;
		const float *s;
		int			i;

		if (residual == NULL)
		{
			memcpy(y, bias, sizeof(float) * n);
			continue;
		}
		s = residual + (size_t) r * n;
		for (i = 0; i + 8 <= n; i += 8)
			_mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(bias + i),
												  _mm256_loadu_ps(s + i)));
		if (i < n)
		{
			__m256i		m = tail_avx2(n - i);

			_mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(bias + i, m),
														 _mm256_maskload_ps(s + i, m)));
		}
	}
}

/* acc += the 8 floats of v, in double */
static inline AVX2 void
add_pd_avx2(__m256d acc[2], __m256 v)
{
	acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
	acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* acc += the squares of the 8 floats of v, in double */
static inline AVX2 void
add_sq_pd_avx2(__m256d acc[2], __m256 v)
{
	__m256d		lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
				hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));

	acc[0] = _mm256_fmadd_pd(lo, lo, acc[0]);
	acc[1] = _mm256_fmadd_pd(hi, hi, acc[1]);
}

static inline AVX2 double
hsum_pd_avx2(__m256d v)
{
	__m128d		s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));

	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* the portable code's arithmetic: sums in double, the rest in float */
static AVX2 void
layernorm_avx2(float *x, int rows, int n, const float *g, const float *b, float eps)
{
	int			body = n & ~7;
	__m256i		m = tail_avx2(n - body);

	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * n;
		__m256d		acc[2];
		__m256		vmean,
					vinv,
					d;
		float		mean,
					inv;
		int			i;

		acc[0] = acc[1] = _mm256_setzero_pd();
		for (i = 0; i < body; i += 8)
			add_pd_avx2(acc, _mm256_loadu_ps(y + i));
		if (i < n)
			add_pd_avx2(acc, _mm256_maskload_ps(y + i, m));
		mean = (float) (hsum_pd_avx2(_mm256_add_pd(acc[0], acc[1])) / n);
		vmean = V8(mean);

		acc[0] = acc[1] = _mm256_setzero_pd();
		for (i = 0; i < body; i += 8)
			add_sq_pd_avx2(acc, _mm256_sub_ps(_mm256_loadu_ps(y + i), vmean));
		if (i < n)
			add_sq_pd_avx2(acc, _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(y + i, m), vmean),
											  _mm256_castsi256_ps(m)));
		inv = (float) (1.0 / sqrt(hsum_pd_avx2(_mm256_add_pd(acc[0], acc[1])) / n + eps));
		vinv = V8(inv);

		/* (y - mean) * inv * g + b, without fusing, like the portable code */
		for (i = 0; i < body; i += 8)
		{
			d = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + i), vmean), vinv),
							  _mm256_loadu_ps(g + i));
			_mm256_storeu_ps(y + i, _mm256_add_ps(d, _mm256_loadu_ps(b + i)));
		}
		if (i < n)
		{
			d = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(y + i, m), vmean), vinv),
							  _mm256_maskload_ps(g + i, m));
			_mm256_maskstore_ps(y + i, m, _mm256_add_ps(d, _mm256_maskload_ps(b + i, m)));
		}
	}
}

static AVX2 void
softmax_rows_avx2(float *x, int rows, int n, int ld)
{
	int			body = n & ~7;
	__m256i		m = tail_avx2(n - body);

	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * ld;
		__m256		acc = V8(-INFINITY),
					vmax,
					e;
		int			i;

		for (i = 0; i < body; i += 8)
			acc = _mm256_max_ps(acc, _mm256_loadu_ps(y + i));
		if (i < n)
			acc = _mm256_max_ps(acc, _mm256_blendv_ps(V8(-INFINITY), _mm256_maskload_ps(y + i, m),
													  _mm256_castsi256_ps(m)));
		vmax = V8(hmax_avx2(acc));

		acc = _mm256_setzero_ps();
		for (i = 0; i < body; i += 8)
		{
			e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(y + i), vmax));
			_mm256_storeu_ps(y + i, e);
			acc = _mm256_add_ps(acc, e);
		}
		if (i < n)
		{
			e = exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(y + i, m), vmax));
			e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
			_mm256_maskstore_ps(y + i, m, e);
			acc = _mm256_add_ps(acc, e);
		}
		e = V8(1.0f / hsum_avx2(acc));

		for (i = 0; i < body; i += 8)
			_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), e));
		if (i < n)
			_mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(y + i, m), e));
	}
}

/*
 * Sums of n rows weighted by coef: the 8 (combine8) or 32 (combine32)
 * floats at rows, rows + stride, ... times coef[0], coef[1], ..., added in
 * row order.  Both halves of attention_avx2 are such sums.
 */
static AVX2 inline __m256
combine8_avx2(const float *coef, int n, const float *rows, size_t stride)
{
	__m256		a0 = _mm256_setzero_ps();

	for (int r = 0; r < n; r++)
		a0 = _mm256_fmadd_ps(V8(coef[r]), _mm256_loadu_ps(rows + (size_t) r * stride), a0);
	return a0;
}

static AVX2 inline void
combine32_avx2(const float *coef, int n, const float *rows, size_t stride, __m256 a[4])
{
	__m256		a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				a2 = _mm256_setzero_ps(),
				a3 = _mm256_setzero_ps();

	for (int r = 0; r < n; r++)
	{
		const float *row = rows + (size_t) r * stride;
		__m256		b = V8(coef[r]);

		a0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(row), a0);
		a1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(row + 8), a1);
		a2 = _mm256_fmadd_ps(b, _mm256_loadu_ps(row + 16), a2);
		a3 = _mm256_fmadd_ps(b, _mm256_loadu_ps(row + 24), a3);
	}
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
	a[3] = a3;
}

/*
 * Attention, AVX2: K is transposed once per head into scratch (d rows of
 * Tp = T rounded up to 8, zero padded), so the scores of a query row are
 * broadcast-and-FMA along the keys; the context row is then
 * broadcast-and-FMA along the head's d columns.  d must be a multiple of 8
 * (BERT heads are 32 or 64 wide); other widths take the portable code.
 */
static AVX2 void
attention_avx2(const float *q, const float *k, const float *v, int ld,
			   int T, int d, float scale, float *o, int ldo, float *scratch)
{
	int			Tp = (T + 7) & ~7;
	float	   *kt = scratch;
	float	   *s = scratch + (size_t) d * Tp;
	__m256		vs = V8(scale);

	if (d % 8 != 0)
	{
		attention_scalar(q, k, v, ld, T, d, scale, o, ldo, scratch);
		return;
	}
	for (int j = 0; j < T; j++)
		for (int c = 0; c < d; c++)
			kt[(size_t) c * Tp + j] = k[(size_t) j * ld + c];
	for (int c = 0; c < d; c++)
		for (int j = T; j < Tp; j++)
			kt[(size_t) c * Tp + j] = 0.0f;

	for (int i = 0; i < T; i++)
	{
		const float *qi = q + (size_t) i * ld;
		float	   *oi = o + (size_t) i * ldo;
		__m256		a[4];
		int			j = 0,
					c = 0;

		/* scores along the keys: s[j] = scale sum_c q[i][c] kt[c][j] */
		for (; j + 32 <= Tp; j += 32)
		{
			combine32_avx2(qi, d, kt + j, Tp, a);
			for (int u = 0; u < 4; u++)
				_mm256_storeu_ps(s + j + 8 * u, _mm256_mul_ps(a[u], vs));
		}
		for (; j < Tp; j += 8)
			_mm256_storeu_ps(s + j, _mm256_mul_ps(combine8_avx2(qi, d, kt + j, Tp), vs));
		softmax_rows_avx2(s, 1, T, T);

		/* the context row along the head's columns: o[i][c] = sum_t s[t] v[t][c] */
		for (; c + 32 <= d; c += 32)
		{
			combine32_avx2(s, T, v + c, ld, a);
			for (int u = 0; u < 4; u++)
				_mm256_storeu_ps(oi + c + 8 * u, a[u]);
		}
		for (; c < d; c += 8)
			_mm256_storeu_ps(oi + c, combine8_avx2(s, T, v + c, ld));
	}
}

/* Quantise rows: the same rounding as the portable code (lrintf = cvtps). */
static AVX2 void
quantize_rows_avx2(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	float		qmax = (float) bcore_qx_max(k);
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

	for (int r = 0; r < rows; r++)
	{
		const float *xr = x + (size_t) r * ldx;
		int16_t    *q = xq + (size_t) r * k;
		__m256		m = _mm256_setzero_ps(),
					vinv;
		float		amax,
					inv;
		int			i = 0;

		for (; i + 8 <= k; i += 8)
			m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xr + i), absmask));
		amax = hmax_avx2(m);
		for (; i < k; i++)
			amax = fabsf(xr[i]) > amax ? fabsf(xr[i]) : amax;
		scale[r] = amax / qmax;
		inv = amax > 0.0f ? qmax / amax : 0.0f;
		vinv = V8(inv);
		for (i = 0; i + 16 <= k; i += 16)
		{
			__m256i		a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv)),
						b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xr + i + 8), vinv));

			/* packs interleaves 128-bit lanes: put them back in order */
			_mm256_storeu_si256((__m256i *) (q + i),
								_mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
		}
		for (; i < k; i++)
			q[i] = (int16_t) lrintf(xr[i] * inv);
	}
}

/* The four int32 sums of a0..a3 (8 lanes each), in order. */
static inline AVX2 __m128i
hsum4_epi32_avx2(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
	__m256i		h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));

	return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

static inline AVX2 void
finish4_avx2(float *y, __m128i acc, float sx, const float *sw)
{
	__m128		s = _mm_mul_ps(_mm_set1_ps(sx), _mm_loadu_ps(sw));

	_mm_storeu_ps(y, _mm_fmadd_ps(_mm_cvtepi32_ps(acc), s, _mm_loadu_ps(y)));
}

/*
 * c += sx sw^T * (xq wq^T), k a multiple of 16: tiles of 2 rows x 4 output
 * columns, pmaddwd along k, over blocks of rows that stay in L2 while the
 * four weight rows of a tile stay in L1.
 */
static AVX2 void
linear_i16_avx2(int m, int n, int k, const int16_t *xq, const float *sx,
				const int16_t *wq, const float *sw, float *c, int ldc)
{
	const int	row_block = 96;

	if (k % 16 != 0)
	{
		linear_i16_scalar(m, n, k, xq, sx, wq, sw, c, ldc);
		return;
	}
	for (int i0 = 0; i0 < m; i0 += row_block)
	{
		int			i1 = i0 + row_block < m ? i0 + row_block : m;
		int			j = 0;

		for (; j + 4 <= n; j += 4)
		{
			const int16_t *w0 = wq + (size_t) j * k,
					   *w1 = w0 + k,
					   *w2 = w1 + k,
					   *w3 = w2 + k;
			int			i = i0;

			for (; i + 2 <= i1; i += 2)
			{
				const int16_t *x0 = xq + (size_t) i * k,
						   *x1 = x0 + k;
				__m256i		a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00,
							a10 = a00, a11 = a00, a12 = a00, a13 = a00;

				for (int t = 0; t < k; t += 16)
				{
					__m256i		u = _mm256_loadu_si256((const __m256i *) (x0 + t)),
								v = _mm256_loadu_si256((const __m256i *) (x1 + t)),
								w;

					w = _mm256_loadu_si256((const __m256i *) (w0 + t));
					a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(u, w));
					a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(v, w));
					w = _mm256_loadu_si256((const __m256i *) (w1 + t));
					a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(u, w));
					a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(v, w));
					w = _mm256_loadu_si256((const __m256i *) (w2 + t));
					a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(u, w));
					a12 = _mm256_add_epi32(a12, _mm256_madd_epi16(v, w));
					w = _mm256_loadu_si256((const __m256i *) (w3 + t));
					a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(u, w));
					a13 = _mm256_add_epi32(a13, _mm256_madd_epi16(v, w));
				}
				finish4_avx2(c + (size_t) i * ldc + j, hsum4_epi32_avx2(a00, a01, a02, a03), sx[i], sw + j);
				finish4_avx2(c + (size_t) (i + 1) * ldc + j, hsum4_epi32_avx2(a10, a11, a12, a13), sx[i + 1], sw + j);
			}
			if (i < i1)
			{
				const int16_t *x0 = xq + (size_t) i * k;
				__m256i		a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;

				for (int t = 0; t < k; t += 16)
				{
					__m256i		u = _mm256_loadu_si256((const __m256i *) (x0 + t));

					a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(u, _mm256_loadu_si256((const __m256i *) (w0 + t))));
					a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(u, _mm256_loadu_si256((const __m256i *) (w1 + t))));
					a02 = _mm256_add_epi32(a02, _mm256_madd_epi16(u, _mm256_loadu_si256((const __m256i *) (w2 + t))));
					a03 = _mm256_add_epi32(a03, _mm256_madd_epi16(u, _mm256_loadu_si256((const __m256i *) (w3 + t))));
				}
				finish4_avx2(c + (size_t) i * ldc + j, hsum4_epi32_avx2(a00, a01, a02, a03), sx[i], sw + j);
			}
		}
		if (j < n)
			linear_i16_scalar(i1 - i0, n - j, k, xq + (size_t) i0 * k, sx + i0,
							  wq + (size_t) j * k, sw + j, c + (size_t) i0 * ldc + j, ldc);
	}
}

/*
 * The F16P tile: rows (1 to F16_TILE_ROWS) x 16 accumulators in registers;
 * per step of t, the panel's 16 halves become two vectors of floats and
 * each row's x[r][t] is broadcast into one FMA with each.  rows is a
 * constant in every inlined copy, so the loops over it unroll.
 */
#define F16_TILE_ROWS 6

static inline __attribute__((always_inline)) AVX2 void
f16_tile_rows_avx2(const int rows, int k, const float *x, int ldx,
				   const uint16_t *panel, float *c, int ldc)
{
	__m256		acc[F16_TILE_ROWS][2];

#pragma GCC unroll 8
	for (int r = 0; r < rows; r++)
	{
		acc[r][0] = _mm256_loadu_ps(c + (size_t) r * ldc);
		acc[r][1] = _mm256_loadu_ps(c + (size_t) r * ldc + 8);
	}
	for (int t = 0; t < k; t++)
	{
		const uint16_t *p = panel + (size_t) t * BERT_F16P_PANEL;
		__m256		w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
		__m256		w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p + 8)));

#pragma GCC unroll 8
		for (int r = 0; r < rows; r++)
		{
			__m256		a = _mm256_broadcast_ss(x + (size_t) r * ldx + t);

			acc[r][0] = _mm256_fmadd_ps(a, w0, acc[r][0]);
			acc[r][1] = _mm256_fmadd_ps(a, w1, acc[r][1]);
		}
	}
#pragma GCC unroll 8
	for (int r = 0; r < rows; r++)
	{
		_mm256_storeu_ps(c + (size_t) r * ldc, acc[r][0]);
		_mm256_storeu_ps(c + (size_t) r * ldc + 8, acc[r][1]);
	}
}

static AVX2 void
f16_tile_avx2(int rows, int k, const float *x, int ldx, const uint16_t *panel,
			  float *c, int ldc)
{
	for (; rows >= F16_TILE_ROWS; rows -= F16_TILE_ROWS)
	{
		f16_tile_rows_avx2(F16_TILE_ROWS, k, x, ldx, panel, c, ldc);
		x += (size_t) F16_TILE_ROWS * ldx;
		c += (size_t) F16_TILE_ROWS * ldc;
	}
	switch (rows)
	{
		case 5:
			f16_tile_rows_avx2(5, k, x, ldx, panel, c, ldc);
			break;
		case 4:
			f16_tile_rows_avx2(4, k, x, ldx, panel, c, ldc);
			break;
		case 3:
			f16_tile_rows_avx2(3, k, x, ldx, panel, c, ldc);
			break;
		case 2:
			f16_tile_rows_avx2(2, k, x, ldx, panel, c, ldc);
			break;
		case 1:
			f16_tile_rows_avx2(1, k, x, ldx, panel, c, ldc);
			break;
	}
}

static AVX2 void
f16_widen16_avx2(const uint16_t *h, float *f)
{
	_mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) h)));
	_mm256_storeu_ps(f + 8, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + 8))));
}

static const BertKernels kernels_avx2 = {
	"avx2", fill_rows_avx2, layernorm_avx2, gelu_map_avx2, gelu_tanh_map_avx2,
	tanh_map_avx2, softmax_rows_avx2, erf_map_avx2, exp_map_avx2, attention_avx2,
	quantize_rows_avx2, linear_i16_avx2, f16_tile_avx2, f16_widen16_avx2
};

/* ---- AVX-512: the AVX2 code, line for line, 16 wide ---- */

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c")))
#define V16(c) _mm512_set1_ps(c)
#define FMA16(a, b, c) _mm512_fmadd_ps((a), (b), V16(c))

static inline AVX512 __m512
pow2_avx512(__m512i k)
{
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23));
}

static inline AVX512 __m512
exp_avx512(__m512 x)
{
	__m512		n,
				r,
				p;
	__m512i		ni,
				n1;

	x = _mm512_min_ps(V16(EXP_HI), _mm512_max_ps(V16(EXP_LO), x));
	n = _mm512_roundscale_ps(_mm512_mul_ps(x, V16(EXP_LOG2E)),
							 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm512_fnmadd_ps(n, V16(EXP_LN2_HI), x);
	r = _mm512_fnmadd_ps(n, V16(EXP_LN2_LO), r);
	p = FMA16(V16(EXP_P5), r, EXP_P4);
	p = FMA16(p, r, EXP_P3);
	p = FMA16(p, r, EXP_P2);
	p = FMA16(p, r, EXP_P1);
	p = FMA16(p, r, EXP_P0);
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
	p = _mm512_add_ps(p, V16(1.0f));
	ni = _mm512_cvtps_epi32(n);
	n1 = _mm512_srai_epi32(ni, 1);
	p = _mm512_mul_ps(p, pow2_avx512(n1));
	return _mm512_mul_ps(p, pow2_avx512(_mm512_sub_epi32(ni, n1)));
}

static inline AVX512 __m512
erf_avx512(__m512 x)
{
	__m512		sign = V16(-0.0f);
	__m512		a = _mm512_andnot_ps(sign, x);
	__m512		t = _mm512_mul_ps(a, a);
	__m512		s,
				u,
				q;
	__mmask16	small;

	s = FMA16(V16(ERF_S6), t, ERF_S5);
	s = FMA16(s, t, ERF_S4);
	s = FMA16(s, t, ERF_S3);
	s = FMA16(s, t, ERF_S2);
	s = FMA16(s, t, ERF_S1);
	s = FMA16(s, t, ERF_S0);
	s = _mm512_fmadd_ps(a, s, a);

	u = _mm512_sub_ps(_mm512_min_ps(V16(ERF_ONE), a), V16(ERF_SPLIT));
	q = FMA16(V16(ERF_L7), u, ERF_L6);
	q = FMA16(q, u, ERF_L5);
	q = FMA16(q, u, ERF_L4);
	q = FMA16(q, u, ERF_L3);
	q = FMA16(q, u, ERF_L2);
	q = FMA16(q, u, ERF_L1);
	q = FMA16(q, u, ERF_L0);
	q = _mm512_sub_ps(V16(1.0f), exp_avx512(q));

	small = _mm512_cmp_ps_mask(a, V16(ERF_SPLIT), _CMP_LT_OQ);
	return _mm512_or_ps(_mm512_mask_blend_ps(small, q, s), _mm512_and_ps(sign, x));
}

static inline AVX512 __m512
tanh_avx512(__m512 x)
{
	__m512		sign = V16(-0.0f);
	__m512		a = _mm512_andnot_ps(sign, x);
	__m512		t = _mm512_mul_ps(a, a);
	__m512		s,
				e;
	__mmask16	small;

	s = FMA16(V16(TANH_P6), t, TANH_P5);
	s = FMA16(s, t, TANH_P4);
	s = FMA16(s, t, TANH_P3);
	s = FMA16(s, t, TANH_P2);
	s = FMA16(s, t, TANH_P1);
	s = FMA16(s, t, TANH_P0);
	s = _mm512_fmadd_ps(_mm512_mul_ps(a, t), s, a);

	e = exp_avx512(_mm512_add_ps(a, a));
	e = _mm512_sub_ps(V16(1.0f), _mm512_div_ps(V16(2.0f), _mm512_add_ps(e, V16(1.0f))));

	small = _mm512_cmp_ps_mask(a, V16(TANH_SPLIT), _CMP_LT_OQ);
	return _mm512_or_ps(_mm512_mask_blend_ps(small, e, s), _mm512_and_ps(sign, x));
}

static inline AVX512 __m512
gelu_avx512(__m512 x)
{
	__m512		e = erf_avx512(_mm512_mul_ps(x, V16((float) M_SQRT1_2)));

	return _mm512_mul_ps(_mm512_mul_ps(V16(0.5f), x), _mm512_add_ps(V16(1.0f), e));
}

static inline AVX512 __m512
gelu_tanh_avx512(__m512 x)
{
	__m512		c = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(V16(GELU_TANH_A), x), x), x);

	c = _mm512_mul_ps(V16(GELU_TANH_C), _mm512_add_ps(x, c));
	return _mm512_mul_ps(_mm512_mul_ps(V16(0.5f), x), _mm512_add_ps(V16(1.0f), tanh_avx512(c)));
}

static inline AVX512 __mmask16
tail_avx512(size_t rem)
{
	return (__mmask16) ((1u << rem) - 1);
}

static inline AVX512 float
hsum_avx512(__m512 v)
{
	return hsum_avx2(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

static inline AVX512 float
hmax_avx512(__m512 v)
{
	return hmax_avx2(_mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

#define MAP_AVX512(name, op) \
static AVX512 void \
name(float *x, size_t n) \
{ \
	size_t		i; \
	for (i = 0; i + 16 <= n; i += 16) \
		_mm512_storeu_ps(x + i, op(_mm512_loadu_ps(x + i))); \
	if (i < n) \
	{ \
		__mmask16	m = tail_avx512(n - i); \
		_mm512_mask_storeu_ps(x + i, m, op(_mm512_maskz_loadu_ps(m, x + i))); \
	} \
}

MAP_AVX512(gelu_map_avx512, gelu_avx512)
MAP_AVX512(gelu_tanh_map_avx512, gelu_tanh_avx512)
MAP_AVX512(tanh_map_avx512, tanh_avx512)
MAP_AVX512(erf_map_avx512, erf_avx512)
MAP_AVX512(exp_map_avx512, exp_avx512)

static AVX512 void
fill_rows_avx512(float *x, int rows, int n, const float *bias, const float *residual)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * n;
		const float *s;
		int			i;

		if (residual == NULL)
		{
			memcpy(y, bias, sizeof(float) * n);
			continue;
		}
		s = residual + (size_t) r * n;
		for (i = 0; i + 16 <= n; i += 16)
			_mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(bias + i),
												  _mm512_loadu_ps(s + i)));
		if (i < n)
		{
			__mmask16	m = tail_avx512(n - i);

			_mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, bias + i),
														   _mm512_maskz_loadu_ps(m, s + i)));
		}
	}
}

static inline AVX512 void
add_pd_avx512(__m512d acc[2], __m512 v)
{
	acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
	acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

static inline AVX512 void
add_sq_pd_avx512(__m512d acc[2], __m512 v)
{
	__m512d		lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v)),
				hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));

	acc[0] = _mm512_fmadd_pd(lo, lo, acc[0]);
	acc[1] = _mm512_fmadd_pd(hi, hi, acc[1]);
}

static inline AVX512 double
hsum_pd_avx512(__m512d v)
{
	return hsum_pd_avx2(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}

static AVX512 void
layernorm_avx512(float *x, int rows, int n, const float *g, const float *b, float eps)
{
	int			body = n & ~15;
	__mmask16	m = tail_avx512(n - body);

	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * n;
		__m512d		acc[2];
		__m512		vmean,
					vinv,
					d;
		float		mean,
					inv;
		int			i;

		acc[0] = acc[1] = _mm512_setzero_pd();
		for (i = 0; i < body; i += 16)
			add_pd_avx512(acc, _mm512_loadu_ps(y + i));
		if (i < n)
			add_pd_avx512(acc, _mm512_maskz_loadu_ps(m, y + i));
		mean = (float) (hsum_pd_avx512(_mm512_add_pd(acc[0], acc[1])) / n);
		vmean = V16(mean);

		acc[0] = acc[1] = _mm512_setzero_pd();
		for (i = 0; i < body; i += 16)
			add_sq_pd_avx512(acc, _mm512_sub_ps(_mm512_loadu_ps(y + i), vmean));
		if (i < n)
			add_sq_pd_avx512(acc, _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, y + i), vmean));
		inv = (float) (1.0 / sqrt(hsum_pd_avx512(_mm512_add_pd(acc[0], acc[1])) / n + eps));
		vinv = V16(inv);

		for (i = 0; i < body; i += 16)
		{
			d = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(y + i), vmean), vinv),
							  _mm512_loadu_ps(g + i));
			_mm512_storeu_ps(y + i, _mm512_add_ps(d, _mm512_loadu_ps(b + i)));
		}
		if (i < n)
		{
			d = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, y + i), vmean), vinv),
							  _mm512_maskz_loadu_ps(m, g + i));
			_mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(d, _mm512_maskz_loadu_ps(m, b + i)));
		}
	}
}

static AVX512 void
softmax_rows_avx512(float *x, int rows, int n, int ld)
{
	int			body = n & ~15;
	__mmask16	m = tail_avx512(n - body);

	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * ld;
		__m512		acc = V16(-INFINITY),
					vmax,
					e;
		int			i;

		for (i = 0; i < body; i += 16)
			acc = _mm512_max_ps(acc, _mm512_loadu_ps(y + i));
		if (i < n)
			acc = _mm512_max_ps(acc, _mm512_mask_loadu_ps(V16(-INFINITY), m, y + i));
		vmax = V16(hmax_avx512(acc));

		acc = _mm512_setzero_ps();
		for (i = 0; i < body; i += 16)
		{
			e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(y + i), vmax));
			_mm512_storeu_ps(y + i, e);
			acc = _mm512_add_ps(acc, e);
		}
		if (i < n)
		{
			e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, y + i), vmax));
			e = _mm512_maskz_mov_ps(m, e);
			_mm512_mask_storeu_ps(y + i, m, e);
			acc = _mm512_add_ps(acc, e);
		}
		e = V16(1.0f / hsum_avx512(acc));

		for (i = 0; i < body; i += 16)
			_mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), e));
		if (i < n)
			_mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), e));
	}
}

static const BertKernels kernels_avx512 = {
	"avx512", fill_rows_avx512, layernorm_avx512, gelu_map_avx512, gelu_tanh_map_avx512,
	tanh_map_avx512, softmax_rows_avx512, erf_map_avx512, exp_map_avx512,
	attention_avx2,				/* small products: AVX2 is as fast here */
	quantize_rows_avx2, linear_i16_avx2, /* no VNNI assumed: pmaddwd as on AVX2 */
	f16_tile_avx2, f16_widen16_avx2	/* 16 columns: two AVX2 vectors */
};

/* half-precision conversions (vcvtph2ps), which not every compiler's __builtin_cpu_supports knows */
static int
cpu_has_f16c(void)
{
	unsigned int a,
				b,
				c,
				d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

static int
cpu_runs_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		cpu_has_f16c();
}

static int
cpu_runs_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		cpu_runs_avx2();
}
#endif							/* x86-64 */

/* ---- dispatch ---- */

static const BertKernels *kernels;	/* chosen on first use */

static const BertKernels *
best_kernels(void)
{
#ifdef BERT_SIMD
	if (cpu_runs_avx512())
		return &kernels_avx512;
	if (cpu_runs_avx2())
		return &kernels_avx2;
#endif
	return &kernels_scalar;
}

static inline const BertKernels *
active(void)
{
	if (kernels == NULL)
		kernels = best_kernels();
	return kernels;
}

const char *
bcore_kernels_isa(void)
{
	return active()->isa;
}

int
bcore_kernels_use(const char *isa)
{
	const BertKernels *k = NULL;

	if (isa == NULL)
		k = best_kernels();
	else if (strcmp(isa, "scalar") == 0)
		k = &kernels_scalar;
#ifdef BERT_SIMD
	else if (strcmp(isa, "avx2") == 0 && cpu_runs_avx2())
		k = &kernels_avx2;
	else if (strcmp(isa, "avx512") == 0 && cpu_runs_avx512())
		k = &kernels_avx512;
#endif
	if (k == NULL)
		return -1;
	kernels = k;
	return 0;
}

void
bcore_fill_rows(float *x, int rows, int n, const float *bias, const float *residual)
{
	active()->fill_rows(x, rows, n, bias, residual);
}

void
bcore_layernorm(float *x, int rows, int n, const float *g, const float *b, float eps)
{
	active()->layernorm(x, rows, n, g, b, eps);
}

void
bcore_gelu(float *x, size_t n)
{
	active()->gelu(x, n);
}

void
bcore_gelu_tanh(float *x, size_t n)
{
	active()->gelu_tanh(x, n);
}

void
bcore_relu(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void
bcore_tanh(float *x, size_t n)
{
	active()->tanh(x, n);
}

void
bcore_softmax_rows(float *x, int rows, int n, int ld)
{
	active()->softmax_rows(x, rows, n, ld);
}

void
bcore_quantize_rows(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	active()->quantize_rows(x, rows, k, ldx, xq, scale);
}

void
bcore_linear_i16(int m, int n, int k, const int16_t *xq, const float *sx,
				const int16_t *wq, const float *sw, float *c, int ldc)
{
	active()->linear_i16(m, n, k, xq, sx, wq, sw, c, ldc);
}

/*
 * c (m x n, stride ldc) += x (m x k, stride ldx) W^T, W an F16P weight:
 * rows in blocks whose x stays in L2 (256 kB), and within a block every
 * panel in turn (its halves stay in L1/L2 while the block's rows go by),
 * panels shared among threads.  A panel past n works on a copy of c's last
 * columns padded to 16.  Each output is one chain of FMAs in order of k, so
 * the result does not depend on m, the blocking or the threads.
 */
void
bcore_linear_f16(int m, int n, int k, const float *x, int ldx, const uint16_t *w,
				float *c, int ldc, int threads)
{
	const BertKernels *kern = active();
	int			panels = (n + BERT_F16P_PANEL - 1) / BERT_F16P_PANEL;
	int			block = (int) ((256 * 1024 / sizeof(float)) / (k > 0 ? (size_t) k : 1));

	block = block < 6 ? 6 : block / 6 * 6;
	for (int i0 = 0; i0 < m; i0 += block)
	{
		int			rows = m - i0 < block ? m - i0 : block;
		const float *xb = x + (size_t) i0 * ldx;
		float	   *cb = c + (size_t) i0 * ldc;

#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
		for (int p = 0; p < panels; p++)
		{
			const uint16_t *panel = w + (size_t) p * k * BERT_F16P_PANEL;
			int			j0 = p * BERT_F16P_PANEL;
			int			cols = n - j0 < BERT_F16P_PANEL ? n - j0 : BERT_F16P_PANEL;
			float		tmp[BERT_F16P_PANEL];

			if (cols == BERT_F16P_PANEL)
			{
				kern->f16_tile(rows, k, xb, ldx, panel, cb + j0, ldc);
				continue;
			}
			for (int r = 0; r < rows; r++)
			{
				float	   *cr = cb + (size_t) r * ldc + j0;

				memset(tmp, 0, sizeof(tmp));
				memcpy(tmp, cr, cols * sizeof(float));
				kern->f16_tile(1, k, xb + (size_t) r * ldx, ldx, panel, tmp, BERT_F16P_PANEL);
				memcpy(cr, tmp, cols * sizeof(float));
			}
		}
	}
}

void
bcore_f16p_widen(const uint16_t *w, int n, int k, float *b)
{
	const BertKernels *kern = active();

	for (int j0 = 0; j0 < n; j0 += BERT_F16P_PANEL)
	{
		int			cols = n - j0 < BERT_F16P_PANEL ? n - j0 : BERT_F16P_PANEL;

		for (int t = 0; t < k; t++)
		{
			const uint16_t *h = w + ((size_t) j0 * k + (size_t) t * BERT_F16P_PANEL);
			float	   *out = b + (size_t) t * n + j0;
			float		f[BERT_F16P_PANEL];

			if (cols == BERT_F16P_PANEL)
				kern->f16_widen16(h, out);
			else
			{
				kern->f16_widen16(h, f);
				memcpy(out, f, cols * sizeof(float));
			}
		}
	}
}

size_t
bcore_attention_scratch(int T, int d)
{
	size_t		Tp = ((size_t) T + 7) & ~(size_t) 7;

	return ((size_t) d + 1) * Tp;
}

void
bcore_attention(const float *q, const float *k, const float *v, int ld, int T, int d,
			   float scale, float *o, int ldo, float *scratch)
{
	active()->attention(q, k, v, ld, T, d, scale, o, ldo, scratch);
}

void
bcore_erf(float *x, size_t n)
{
	active()->erf(x, n);
}

void
bcore_exp(float *x, size_t n)
{
	active()->exp(x, n);
}

void
bcore_l2_normalize(float *x, int n)
{
	double		sq = 0.0;

	for (int i = 0; i < n; i++)
		sq += (double) x[i] * x[i];
	if (sq > 0.0)
	{
		float		inv = (float) (1.0 / sqrt(sq));

		for (int i = 0; i < n; i++)
			x[i] *= inv;
	}
}

/* The SIMD features that matter here, as a space-separated list. */
const char *
bcore_cpu_features(void)
{
	static char buf[128];
	size_t		len = 0;

	if (buf[0] != '\0')
		return buf;
	__builtin_cpu_init();
	/* __builtin_cpu_supports() takes only a string literal */
#define FEATURE(name) \
	if (__builtin_cpu_supports(name)) \
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " " : "", name)
	FEATURE("avx512f");
	FEATURE("avx512dq");
	FEATURE("avx512bw");
	FEATURE("avx512vl");
	FEATURE("avx512vnni");
	FEATURE("avx512bf16");
	FEATURE("avx2");
	FEATURE("fma");
#undef FEATURE
	if (len == 0)
		strcpy(buf, "none");
	return buf;
}
