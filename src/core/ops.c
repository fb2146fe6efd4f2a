/*
 * ops.c — the small kernels around the matrix products: their portable
 * variants, the table of variants for each instruction set, the choice
 * among them and the bcore_* entry points.  The SIMD variants live in
 * ops_avx2.c and ops_avx512.c; BLIS in blas.c.
 *
 * The kernels come in three variants: portable C (glibc's erff, expf and
 * tanhf), AVX2 + FMA, and AVX-512; the first call picks the best one the
 * CPU runs.  The SIMD variants evaluate erf, exp and tanh with polynomials
 * of our own (fitted by bench/fit_poly.c, coefficients in ops_impl.h) that
 * stay within 1-2 ulp of glibc, and otherwise follow the portable code's
 * order of operations, so the variants agree to about 1e-7 and every
 * variant gives the same bits from run to run.  Tails use masked loads and
 * stores, so an element's result never depends on where it sits in the
 * array.
 */
#include "ops_impl.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef BERT_SIMD
#include <cpuid.h>
#endif

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
void
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

void
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
 * Activations for Q8P products, per row: y = x (times mult), its range
 * [lo, hi] widened to take 0, and q = round(y 255 / (hi - lo)) + zero in
 * 0 .. 255, zero = round(-lo 255 / (hi - lo)), so that y ~= scale (q -
 * zero) and 0 is exact.  The same roundings (lrintf: to nearest even, as
 * the SIMD variants' cvtps2dq) and the same clamp as the SIMD variants,
 * so every variant gives the same bytes.  Inputs past k get 0.
 */
static void
quantize_rows8_scalar(const float *x, int rows, int k, int ldx, const float *mult,
					  uint8_t *xq, int32_t *zero, float *scale)
{
	int			in4 = (int) bcore_q8p_in((uint32_t) k);

	for (int r = 0; r < rows; r++)
	{
		const float *xr = x + (size_t) r * ldx;
		uint8_t		q[BERT_QK_MAX];
		float		lo = 0.0f,
					hi = 0.0f,
					inv;
		int32_t		z;

		q8p_range(xr, mult, 0, k, &lo, &hi);
		inv = q8p_scale_zero(lo, hi, &scale[r], &zero[r]);
		z = zero[r];
		for (int i = 0; i < k; i++)
		{
			float		y = mult ? xr[i] * mult[i] : xr[i];
			long		v = lrintf(y * inv) + z;

			q[i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
		}
		for (int i = k; i < in4; i++)
			q[i] = 0;
		q8p_place_row(q, rows, in4, r, xq);
	}
}

/*
 * Activations for Q16P products: each row's largest magnitude maps to
 * bcore_q16_xmax(k) (q16_inv, q16_value: the same steps in every variant);
 * each row's pairs go where q16_row_at puts them.
 */
static void
quantize_rows16_scalar(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	int			in4 = (int) bcore_q8p_in((uint32_t) k);
	float		xmax = (float) bcore_q16_xmax(k);

	for (int r = 0; r < rows; r++)
	{
		const float *xr = x + (size_t) r * ldx;
		int			n;
		int16_t    *dst = xq + q16_row_at(rows, in4, r, &n);
		float		amax = 0.0f,
					inv;

		for (int t = 0; t < k; t++)
			amax = fabsf(xr[t]) > amax ? fabsf(xr[t]) : amax;	/* NaN passed over */
		inv = q16_inv(amax, k, &scale[r]);
		for (int t = 0; t < in4; t++)
			dst[(size_t) (t / 2) * 2 * n + t % 2] = t < k ? q16_value(xr[t], inv, xmax) : 0;
	}
}

/* where output (r, j) of a tile starts: c's value, or bias (+ residual) as
 * fill_rows_scalar sums them (out: ops.h BertLinearOut) */
static inline float
out_from_scalar(float c, const BertLinearOut *out, int r, int j)
{
	if (out == NULL || out->bias == NULL)
		return c;
	return out->residual == NULL ? out->bias[j] : out->bias[j] + out->residual[(size_t) r * out->ldr + j];
}

/*
 * c[r][j] += sx[r] sw[j] (sum_t xq[r][t] w[j][t] - zero[r] wsum[j]) for
 * the rows (at most Q8P_CHUNK_ROWS) of one chunk of quantised activations
 * (ops_impl.h) and the panels x 16 channels j of consecutive Q8P panels:
 * the integer dot product of the row's q - zero with the channel, exact,
 * then one conversion and one fused multiply-add, as every variant.
 */
void
q8p_tile_scalar(int rows, int in4, const uint8_t *xq, const int32_t *zero,
				const float *sx, const int8_t *panel, int panels,
				const float *wsum, const float *sw, const BertLinearOut *out,
				float *c, int ldc)
{
	for (int r = 0; r < rows; r++)
	{
		for (int j = 0; j < panels * BERT_Q8P_PANEL; j++)
		{
			const int8_t *p = panel + (size_t) (j / BERT_Q8P_PANEL) * in4 * BERT_Q8P_PANEL +
				(j % BERT_Q8P_PANEL) * BERT_Q8P_GROUP;
			int32_t		acc = 0;
			float	   *y = c + (size_t) r * ldc + j;
			float		from = out_from_scalar(*y, out, r, j);

			for (int t = 0; t < in4; t++)
				acc += (int32_t) xq[((size_t) (t / BERT_Q8P_GROUP) * rows + r) * BERT_Q8P_GROUP + t % BERT_Q8P_GROUP] *
					p[(size_t) (t / BERT_Q8P_GROUP) * BERT_Q8P_GROUP * BERT_Q8P_PANEL + t % BERT_Q8P_GROUP];
			acc -= zero[r] * (int32_t) wsum[j];
			*y = fmaf((float) acc, sx[r] * sw[j], from);
		}
	}
}

/*
 * c[r][j] += sum_t x[r][t] w[j][t] for rows r < rows and the
 * BERT_F16P_PANEL output columns j of each of panels consecutive F16P
 * panels (panel[t * 16 + j], the next panel k * 16 halves on): one fused
 * multiply-add per t, in order of t, from c's value, as the SIMD tiles do,
 * so every variant gives the same bits.
 */
static void
f16_tile_scalar(int rows, int k, const float *x, int ldx, const uint16_t *panel,
				int panels, const BertLinearOut *out, float *c, int ldc)
{
	for (int r = 0; r < rows; r++)
	{
		for (int j = 0; j < panels * BERT_F16P_PANEL; j++)
		{
			const float *xr = x + (size_t) r * ldx;
			const uint16_t *p = panel + (size_t) (j / BERT_F16P_PANEL) * k * BERT_F16P_PANEL;
			float		acc = out_from_scalar(c[(size_t) r * ldc + j], out, r, j);

			for (int t = 0; t < k; t++)
				acc = fmaf(xr[t], bcore_half_to_float(p[(size_t) t * BERT_F16P_PANEL + j % BERT_F16P_PANEL]), acc);
			c[(size_t) r * ldc + j] = acc;
		}
		if (out && out->gelu)
			gelu_scalar(c + (size_t) r * ldc, (size_t) panels * BERT_F16P_PANEL);
	}
}

/*
 * c[r][j] += sx[r] sw[j] sum_t x[r][t] w[j][t] for the rows of one chunk of
 * 16-bit activations (ops_impl.h: pair p of row r at (p rows + r) 2) and
 * the panels x 16 channels j of consecutive widened panels (pair p of
 * channel j at p 32 + j 2): the exact integer, then one conversion and one
 * fused multiply-add, as every variant.
 */
static void
q16_tile_scalar(int rows, int in4, const int16_t *x16, const float *sx,
				const int16_t *panel, int panels, const float *sw,
				const BertLinearOut *out, float *c, int ldc)
{
	for (int r = 0; r < rows; r++)
	{
		for (int j = 0; j < panels * BERT_Q8P_PANEL; j++)
		{
			const int16_t *p = panel + (size_t) (j / BERT_Q8P_PANEL) * in4 * BERT_Q8P_PANEL +
				(j % BERT_Q8P_PANEL) * 2;
			int32_t		acc = 0;
			float	   *y = c + (size_t) r * ldc + j;
			float		from = out_from_scalar(*y, out, r, j);

			for (int t = 0; t < in4; t++)
				acc += (int32_t) x16[((size_t) (t / 2) * rows + r) * 2 + t % 2] *
					p[(size_t) (t / 2) * 2 * BERT_Q8P_PANEL + t % 2];
			*y = fmaf((float) acc, sx[r] * sw[j], from);
		}
	}
}

static void
f16_widen16_scalar(const uint16_t *h, float *f)
{
	for (int c = 0; c < BERT_F16P_PANEL; c++)
		f[c] = bcore_half_to_float(h[c]);
}

/* ---- the variants of each instruction set ---- */

static const BertKernels kernels_scalar = {
	.isa = "scalar",
	.fill_rows = fill_rows_scalar,
	.layernorm = layernorm_scalar,
	.gelu = gelu_scalar,
	.gelu_tanh = gelu_tanh_scalar,
	.tanh = tanh_scalar,
	.softmax_rows = softmax_rows_scalar,
	.erf = erf_scalar,
	.exp = exp_scalar,
	.fused_gelu = gelu_scalar,
	.fused_erf = erf_scalar,
	.attention = attention_scalar,
	.quantize_rows = quantize_rows_scalar,
	.linear_i16 = linear_i16_scalar,
	.f16_tile = f16_tile_scalar,
	.f16_widen16 = f16_widen16_scalar,
	.f16_blis_rows = F16_BLIS_ROWS_AVX2,
	.quantize_rows8 = quantize_rows8_scalar,
	.quantize_rows16 = quantize_rows16_scalar,
	.q8p_tile = q8p_tile_scalar,
	.q16p_tile = q16_tile_scalar
};

#ifdef BERT_SIMD
/* the AVX2 set, but for its int8 products (q8p_tile) */
#define KERNELS_AVX2 \
	.fill_rows = fill_rows_avx2, \
	.layernorm = layernorm_avx2, \
	.gelu = gelu_map_avx2, \
	.gelu_tanh = gelu_tanh_map_avx2, \
	.tanh = tanh_map_avx2, \
	.softmax_rows = softmax_rows_avx2, \
	.erf = erf_map_avx2, \
	.exp = exp_map_avx2, \
	.fused_gelu = gelu_map_avx2, \
	.fused_erf = erf_map_avx2, \
	.attention = attention_avx2, \
	.quantize_rows = quantize_rows_avx2, \
	.linear_i16 = linear_i16_avx2, \
	.f16_tile = f16_tile_avx2, \
	.f16_widen16 = f16_widen16_avx2, \
	.f16_blis_rows = F16_BLIS_ROWS_AVX2, \
	.quantize_rows8 = quantize_rows8_avx2, \
	.quantize_rows16 = quantize_rows16_avx2

static const BertKernels kernels_avx2 = {
	.isa = "avx2",
	KERNELS_AVX2,
	.q8p_tile = q8p_tile_avx2,
	.q16_tile = q16_tile_avx2,
	.q16p_tile = q16_tile_avx2
};

/* with AVX-VNNI, the VEX-encoded vpdpbusd (Alder Lake, Zen 5) */
static const BertKernels kernels_avx2_vnni = {
	.isa = "avx2-vnni",
	KERNELS_AVX2,
	.q8p_tile = q8p_tile_avxvnni,
	.q16p_tile = q16_tile_avx2
};

/*
 * The AVX-512 set: 16-wide kernels where ops_avx512.c has them, the AVX2
 * ones for the rest (the legacy Q8 products: pmaddwd as on AVX2).
 */
#define KERNELS_AVX512 \
	.fill_rows = fill_rows_avx512, \
	.layernorm = layernorm_avx512, \
	.gelu = gelu_map_avx512, \
	.gelu_tanh = gelu_tanh_map_avx512, \
	.tanh = tanh_map_avx512, \
	.softmax_rows = softmax_rows_avx512, \
	.erf = erf_map_avx512, \
	.exp = exp_map_avx512, \
	.fused_gelu = gelu_pieces_map_avx512, \
	.fused_erf = erf_pieces_map_avx512, \
	.attention = attention_avx512, \
	.quantize_rows = quantize_rows_avx2, \
	.linear_i16 = linear_i16_avx2, \
	.f16_tile = f16_tile_avx512, \
	.f16_widen16 = f16_widen16_avx512, \
	.f16_blis_rows = INT_MAX, \
	.quantize_rows8 = quantize_rows8_avx512, \
	.quantize_rows16 = quantize_rows16_avx512

/* without VNNI (Skylake-X): the int8 products of AVX2 */
static const BertKernels kernels_avx512 = {
	.isa = "avx512",
	KERNELS_AVX512,
	.q8p_tile = q8p_tile_avx2,
	.q16_tile = q16_tile_avx2,
	.q16p_tile = q16_tile_avx2
};

/* with AVX512-VNNI (Cascade Lake and later, Zen 4 and later) */
static const BertKernels kernels_avx512_vnni = {
	.isa = "avx512-vnni",
	KERNELS_AVX512,
	.q8p_tile = q8p_tile_avx512vnni,
	.q16p_tile = q16_tile_avx512vnni
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

/* what ops_avx2.c's functions are built for: avx2, fma, f16c */
static int
cpu_runs_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		cpu_has_f16c();
}

/* what ops_avx512.c's functions are built for, and the AVX2 ones its table takes */
static int
cpu_runs_avx512(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		cpu_runs_avx2();
}

/* AVX-VNNI: CPUID leaf 7, sub-leaf 1, EAX bit 4 (not every compiler's
 * __builtin_cpu_supports knows it) */
static int
cpu_runs_avx2_vnni(void)
{
	unsigned int a,
				b,
				c,
				d;

	return cpu_runs_avx2() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) != 0;
}

static int
cpu_runs_avx512_vnni(void)
{
	__builtin_cpu_init();
	return cpu_runs_avx512() && __builtin_cpu_supports("avx512vnni");
}

#endif							/* BERT_SIMD */

/* ---- dispatch ---- */

static const BertKernels *kernels;	/* chosen on first use */

static const BertKernels *
best_kernels(void)
{
#ifdef BERT_SIMD
	if (cpu_runs_avx512_vnni())
		return &kernels_avx512_vnni;
	if (cpu_runs_avx512())
		return &kernels_avx512;
	if (cpu_runs_avx2_vnni())
		return &kernels_avx2_vnni;
	if (cpu_runs_avx2())
		return &kernels_avx2;
#endif
	return &kernels_scalar;
}

static const BertKernels *
named_kernels(const char *isa)
{
	if (strcmp(isa, "scalar") == 0)
		return &kernels_scalar;
#ifdef BERT_SIMD
	if (strcmp(isa, "avx2") == 0 && cpu_runs_avx2())
		return &kernels_avx2;
	if (strcmp(isa, "avx2-vnni") == 0 && cpu_runs_avx2_vnni())
		return &kernels_avx2_vnni;
	if (strcmp(isa, "avx512") == 0 && cpu_runs_avx512())
		return &kernels_avx512;
	if (strcmp(isa, "avx512-vnni") == 0 && cpu_runs_avx512_vnni())
		return &kernels_avx512_vnni;
#endif
	return NULL;
}

/*
 * The first use takes the CPU's best variant, or the one the environment
 * variable BERT_KERNELS names if this CPU runs it: benchmarks and tests use
 * it to run, say, the AVX2 kernels on an AVX-512 machine, in a server too.
 */
static inline const BertKernels *
active(void)
{
	if (kernels == NULL)
	{
		const char *env = getenv("BERT_KERNELS");
		const BertKernels *k = env != NULL && env[0] != '\0' ? named_kernels(env) : NULL;

		kernels = k != NULL ? k : best_kernels();
	}
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
	const BertKernels *k = isa == NULL ? best_kernels() : named_kernels(isa);

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

/* rows x cols of c (stride ldc) := bias (+ residual, stride ldr): fill_rows
 * row by row -- for the copy a part panel runs on */
static inline void
fill_tile(const BertKernels *kern, float *c, int ldc, int rows, int cols, const float *bias,
		  const float *residual, int ldr)
{
	for (int r = 0; r < rows; r++)
		kern->fill_rows(c + (size_t) r * ldc, 1, cols, bias,
						residual ? residual + (size_t) r * ldr : NULL);
}

/* one block of rows of bcore_linear_f16, shared by the units that cover its columns */
typedef struct F16Block
{
	const BertKernels *kern;
	int			n,
				k,
				full,
				tiles,
				rows,
				i0,
				ldx,
				ldc;
	const float *xb;
	const uint16_t *w;
	const BertLinearOut *out;
	float	   *cb;
} F16Block;

/* unit u of a block: a pair of panels (or one), or the part panel past n */
static void
f16_unit(const F16Block *b, int u)
{
	const BertKernels *kern = b->kern;
	int			p = u < b->tiles ? u * F16_TILE_PANELS : b->full;
	const uint16_t *panel = b->w + (size_t) p * b->k * BERT_F16P_PANEL;
	int			j0 = p * BERT_F16P_PANEL;
	int			cols = b->n - j0;
	float		tmp[BERT_F16P_PANEL];
	BertLinearOut at,
				gelu_only = {NULL, NULL, 0, b->out ? b->out->gelu : 0};
	const BertLinearOut *o = linear_out_at(b->out, &at, b->i0, j0);

	if (cols >= BERT_F16P_PANEL)
	{
		int			panels = b->full - p < F16_TILE_PANELS ? b->full - p : F16_TILE_PANELS;

		kern->f16_tile(b->rows, b->k, b->xb, b->ldx, panel, panels, o, b->cb + j0, b->ldc);
		return;
	}
	/* the part panel on a copy 16 wide: its bias sum made here */
	for (int r = 0; r < b->rows; r++)
	{
		float	   *cr = b->cb + (size_t) r * b->ldc + j0;

		memset(tmp, 0, sizeof(tmp));
		if (o == NULL || o->bias == NULL)
			memcpy(tmp, cr, cols * sizeof(float));
		else
			fill_tile(kern, tmp, BERT_F16P_PANEL, 1, cols, o->bias,
					  o->residual ? o->residual + (size_t) r * o->ldr : NULL, o->ldr);
		kern->f16_tile(1, b->k, b->xb + (size_t) r * b->ldx, b->ldx, panel, 1,
					   gelu_only.gelu ? &gelu_only : NULL, tmp, BERT_F16P_PANEL);
		memcpy(cr, tmp, cols * sizeof(float));
	}
}

/*
 * c (m x n, stride ldc) += x (m x k, stride ldx) W^T, W an F16P weight:
 * rows in blocks whose x stays in L2 (256 kB), and within a block every
 * pair of panels in turn (their halves stay in L1/L2 while the block's rows
 * go by), pairs shared among threads.  A panel past n works on a copy of
 * c's last columns padded to 16.  Each output is one chain of FMAs in order
 * of k, so the result does not depend on m, the blocking or the threads.
 * On one thread no OpenMP region is entered (each costs a team set up and
 * torn down: about 2 % of a sentence's time, 36 products a sentence).
 */
void
bcore_linear_f16(int m, int n, int k, const float *x, int ldx, const uint16_t *w,
				 const BertLinearOut *out, float *c, int ldc, int threads)
{
	F16Block	b = {.kern = active(), .n = n, .k = k, .full = n / BERT_F16P_PANEL,
		.ldx = ldx, .ldc = ldc, .w = w,
		.out = out != NULL && out->bias == NULL && !out->gelu ? NULL : out};
	int			units,
				block = (int) ((256 * 1024 / sizeof(float)) / (k > 0 ? (size_t) k : 1));

	b.tiles = (b.full + F16_TILE_PANELS - 1) / F16_TILE_PANELS;
	units = b.tiles + (n % BERT_F16P_PANEL != 0);	/* the last: a part panel */
	block = block < F16_TILE_ROWS ? F16_TILE_ROWS : block / F16_TILE_ROWS * F16_TILE_ROWS;
	for (int i0 = 0; i0 < m; i0 += block)
	{
		b.rows = m - i0 < block ? m - i0 : block;
		b.i0 = i0;
		b.xb = x + (size_t) i0 * ldx;
		b.cb = c + (size_t) i0 * ldc;
		if (threads > 1)
		{
#pragma omp parallel for schedule(static) num_threads(threads)
			for (int u = 0; u < units; u++)
				f16_unit(&b, u);
		}
		else
			for (int u = 0; u < units; u++)
				f16_unit(&b, u);
	}
}

void
bcore_quantize_rows8(const float *x, int rows, int k, int ldx, const float *mult,
					 uint8_t *xq, int32_t *zero, float *scale)
{
	active()->quantize_rows8(x, rows, k, ldx, mult, xq, zero, scale);
}

int
bcore_q8p_wants_wide(void)
{
	return active()->q16_tile != NULL;
}

size_t
bcore_q8p_wide_count(int n, int k)
{
	return (size_t) bcore_q8p_bytes((uint32_t) n, (uint32_t) k);
}

void
bcore_q8p_widen(const int8_t *w, int n, int k, int16_t *wide)
{
	size_t		in4 = bcore_q8p_in((uint32_t) k);
	size_t		panels = (size_t) (n + BERT_Q8P_PANEL - 1) / BERT_Q8P_PANEL;

	for (size_t p = 0; p < panels; p++)
	{
		const int8_t *src = w + p * in4 * BERT_Q8P_PANEL;
		int16_t    *dst = wide + p * in4 * BERT_Q8P_PANEL;

		/* group g's channel c, bytes b: pair 2g + b / 2, lane c 2 + b % 2 */
		for (size_t g = 0; g < in4; g += BERT_Q8P_GROUP)
			for (int c = 0; c < BERT_Q8P_PANEL; c++)
				for (int b = 0; b < BERT_Q8P_GROUP; b++)
					dst[(g + b / 2 * 2) * BERT_Q8P_PANEL + c * 2 + b % 2] =
						src[g * BERT_Q8P_PANEL + c * BERT_Q8P_GROUP + b];
	}
}

/*
 * A block's activation bytes (rows of in4, in chunks) as 16-bit q - zero
 * for the widened weights (ops_impl.h): group g's 4 bytes of a row become
 * its pairs 2g and 2g + 1.
 */
static void
q8p_to_q16(const uint8_t *xq, const int32_t *zero, int rows, int in4, int16_t *x16)
{
	int			chunks = q8p_chunks(rows);

	for (int i = 0; i < chunks; i++)
	{
		int			n,
					r0 = q8p_chunk(rows, chunks, i, &n);
		const uint8_t *src = xq + (size_t) r0 * in4;
		int16_t    *dst = x16 + (size_t) r0 * in4;

		for (int g = 0; g < in4 / BERT_Q8P_GROUP; g++)
		{
			const uint8_t *s = src + (size_t) g * n * 4;
			int16_t    *d0 = dst + (size_t) 2 * g * n * 2,
					   *d1 = d0 + (size_t) n * 2;

			for (int r = 0; r < n; r++)
			{
				int32_t		z = zero[r0 + r];

				d0[r * 2] = (int16_t) (s[r * 4] - z);
				d0[r * 2 + 1] = (int16_t) (s[r * 4 + 1] - z);
				d1[r * 2] = (int16_t) (s[r * 4 + 2] - z);
				d1[r * 2 + 1] = (int16_t) (s[r * 4 + 3] - z);
			}
		}
	}
}

/* one block of rows of bcore_linear_q8p, shared by the units that cover its columns */
typedef struct Q8pBlock
{
	const BertKernels *kern;
	int			n,
				in4,
				full,
				tiles,
				rows,
				chunks,
				i0,
				ldc;
	const uint8_t *xq;
	const int32_t *zero;
	const float *sx;
	const int8_t *w;
	const int16_t *wide;
	const int16_t *x16;		/* the block's activations widened, or NULL */
	/* the tile for x16: kern's q16_tile on widened Q8P, q16p_tile on Q16P */
	void		(*tile16) (int rows, int in4, const int16_t *x16, const float *sx,
						   const int16_t *panel, int panels, const float *sw,
						   const BertLinearOut *out, float *c, int ldc);
	const float *wsum;
	const float *sw;
	const BertLinearOut *lo;	/* bias and residual, never GELU (NULL: none) */
	BertLinearOut lo_plain;		/* what lo points at */
	int			gelu;			/* GELU over each tile once it is written */
	float	   *c;
} Q8pBlock;

/*
 * The block's out: the tiles get bias and residual only; GELU goes over
 * each tile once it is written, by the variant's own map: the one
 * bcore_gelu_fused runs, whichever tile the variant borrows (AVX-512
 * without VNNI takes AVX2's), so that a fused GELU is bcore_gelu_fused's
 * bit for bit however the variants' erf may differ; and a pass over the
 * tile in L1 beats GELU on each accumulator as it is stored (AVX-512 VNNI:
 * the int8 variant, one sentence a call, +2.4 % tokens/s, median of 8
 * interleaved runs; with the erf of 32 pieces, +8.4 % more, 4 rounds).
 */
static void
q8p_block_out(Q8pBlock *b, const BertLinearOut *lo)
{
	b->gelu = lo != NULL && lo->gelu;
	b->lo = NULL;
	if (lo != NULL && lo->bias != NULL)
	{
		b->lo_plain = *lo;
		b->lo_plain.gelu = 0;
		b->lo = &b->lo_plain;
	}
}

/* unit u of a block: a pair of panels (or one), or the part panel past n, on every chunk */
static void
q8p_unit(const Q8pBlock *b, int u)
{
	const BertKernels *kern = b->kern;
	int			in4 = b->in4,
				ldc = b->ldc;
	int			p = u < b->tiles ? u * 2 : b->full;
	const int8_t *panel = b->w != NULL ? b->w + (size_t) p * in4 * BERT_Q8P_PANEL : NULL;
	const int16_t *panel16 = b->x16 ? b->wide + (size_t) p * in4 * BERT_Q8P_PANEL : NULL;
	int			j0 = p * BERT_Q8P_PANEL;
	int			cols = b->n - j0;
	int			panels = cols < BERT_Q8P_PANEL ? 1 : b->full - p < 2 ? 1 : 2;
	float		tmp[Q8P_CHUNK_ROWS * BERT_Q8P_PANEL],
				swp[BERT_Q8P_PANEL],
				sump[BERT_Q8P_PANEL];
	const float *swu = b->sw + j0,
			   *sumu = b->wsum != NULL ? b->wsum + j0 : NULL;

	if (cols < BERT_Q8P_PANEL)
	{
		memset(swp, 0, sizeof(swp));
		memset(sump, 0, sizeof(sump));
		memcpy(swp, b->sw + j0, cols * sizeof(float));
		if (b->wsum != NULL)
			memcpy(sump, b->wsum + j0, cols * sizeof(float));
		swu = swp;
		sumu = sump;
	}
	for (int i = 0; i < b->chunks; i++)
	{
		int			nr,
					rb = q8p_chunk(b->rows, b->chunks, i, &nr),
					r0 = b->i0 + rb;
		float	   *cr = b->c + (size_t) r0 * ldc + j0,
				   *out = cr;
		int			ldo = ldc;
		BertLinearOut at;
		const BertLinearOut *o = linear_out_at(b->lo, &at, r0, j0);

		/* a part panel on a copy 16 wide, its bias sum made here */
		if (cols < BERT_Q8P_PANEL)
		{
			memset(tmp, 0, sizeof(tmp));
			if (o != NULL && o->bias != NULL)
				fill_tile(kern, tmp, BERT_Q8P_PANEL, nr, cols, o->bias, o->residual, o->ldr);
			else
				for (int r = 0; r < nr; r++)
					memcpy(tmp + r * BERT_Q8P_PANEL, cr + (size_t) r * ldc, cols * sizeof(float));
			out = tmp;
			ldo = BERT_Q8P_PANEL;
			o = NULL;
		}
		if (b->x16 != NULL)
			b->tile16(nr, in4, b->x16 + (size_t) rb * in4, b->sx + r0, panel16, panels,
					  swu, o, out, ldo);
		else
			kern->q8p_tile(nr, in4, b->xq + (size_t) r0 * in4, b->zero + r0, b->sx + r0, panel,
						   panels, sumu, swu, o, out, ldo);
		for (int r = 0; r < nr && b->gelu; r++)
			kern->fused_gelu(out + (size_t) r * ldo, (size_t) panels * BERT_Q8P_PANEL);
		if (cols < BERT_Q8P_PANEL)
			for (int r = 0; r < nr; r++)
				memcpy(cr + (size_t) r * ldc, tmp + r * BERT_Q8P_PANEL, cols * sizeof(float));
	}
}

/*
 * The blocks of rows of a Q8P or Q16P product (b set up but for its rows),
 * each block's units shared among threads; widen (else NULL): room for a
 * block's activations widened to 16 bits, made from b's bytes block by
 * block; x16 (else NULL): all m rows' 16-bit activations, as they are.
 */
static void
q8p_blocks(Q8pBlock *b, int m, int threads, int16_t *widen, const int16_t *x16)
{
	int			units,
				block = q8p_block_rows(b->in4);

	b->tiles = (b->full + 1) / 2;
	units = b->tiles + (b->n % BERT_Q8P_PANEL != 0);	/* the last: a part panel */
	for (int i0 = 0; i0 < m; i0 += block)
	{
		b->rows = m - i0 < block ? m - i0 : block;
		b->chunks = q8p_chunks(b->rows);
		b->i0 = i0;
		if (widen != NULL)
			q8p_to_q16(b->xq + (size_t) i0 * b->in4, b->zero + i0, b->rows, b->in4, widen);
		b->x16 = widen != NULL ? widen : x16 != NULL ? x16 + (size_t) i0 * b->in4 : NULL;
		if (threads > 1)
		{
#pragma omp parallel for schedule(static) num_threads(threads)
			for (int u = 0; u < units; u++)
				q8p_unit(b, u);
		}
		else
			for (int u = 0; u < units; u++)
				q8p_unit(b, u);
	}
}

/*
 * c (m x n, stride ldc) += the Q8P product: as bcore_linear_f16, rows in
 * blocks whose activations stay in L2, pairs of panels shared among
 * threads, each pair on every chunk of the block in turn, a panel past n
 * on a padded copy of c's last columns.  On widened weights (wide, for
 * kernels that take them) the block's activations are first widened too.
 * With out, each tile starts from bias (+ residual) in its registers and
 * ends with GELU over the tile while it is in L1 (BertLinearOut,
 * q8p_block_out), rather than in passes over all of c that a large c does
 * not survive in cache.  On one thread no OpenMP region is entered, as in
 * bcore_linear_f16.
 */
void
bcore_linear_q8p(int m, int n, int k, const uint8_t *xq, const int32_t *zero,
				 const float *sx, const int8_t *w, const int16_t *wide,
				 int16_t *x16, const float *wsum, const float *sw,
				 const BertLinearOut *lo, float *c, int ldc, int threads)
{
	Q8pBlock	b = {.kern = active(), .n = n, .in4 = (int) bcore_q8p_in((uint32_t) k),
		.full = n / BERT_Q8P_PANEL, .ldc = ldc, .xq = xq, .zero = zero, .sx = sx, .w = w,
		.wide = wide, .wsum = wsum, .sw = sw, .c = c, .tile16 = active()->q16_tile};
	int			block = q8p_block_rows(b.in4);
	int16_t    *own = NULL;

	q8p_block_out(&b, lo);

	if (wide == NULL || b.kern->q16_tile == NULL)
		x16 = NULL;
	else if (x16 == NULL)
		x16 = own = malloc((size_t) (m < block ? m : block) * b.in4 * sizeof(int16_t));
	q8p_blocks(&b, m, threads, x16, NULL);
	free(own);
}

void
bcore_quantize_rows16(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	active()->quantize_rows16(x, rows, k, ldx, xq, scale);
}

/*
 * c (m x n, stride ldc) += the Q16P product: bcore_linear_q8p's blocks,
 * units and tiles on 16-bit activations already in its widened layout.
 */
void
bcore_linear_q16p(int m, int n, int k, const int16_t *xq, const float *sx,
				  const int16_t *w, const float *sw, const BertLinearOut *lo,
				  float *c, int ldc, int threads)
{
	Q8pBlock	b = {.kern = active(), .n = n, .in4 = (int) bcore_q8p_in((uint32_t) k),
		.full = n / BERT_Q8P_PANEL, .ldc = ldc, .sx = sx, .wide = w, .sw = sw, .c = c,
		.tile16 = active()->q16p_tile};

	q8p_block_out(&b, lo);
	q8p_blocks(&b, m, threads, NULL, xq);
}

int
bcore_f16_blis_rows(void)
{
	return active()->f16_blis_rows;
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

/* the most any variant takes: K transposed (d rows of T rounded up to 16)
 * and the scores of ATT_ROWS_AVX512 query rows */
size_t
bcore_attention_scratch(int T, int d)
{
	size_t		Tp = ((size_t) T + 15) & ~(size_t) 15;

	return ((size_t) d + ATT_ROWS_AVX512) * Tp;
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
bcore_gelu_fused(float *x, size_t n)
{
	active()->fused_gelu(x, n);
}

void
bcore_erf_fused(float *x, size_t n)
{
	active()->fused_erf(x, n);
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
