/*
 * ops_avx2.c — the kernels' AVX2 variants (with FMA and F16C), 8 floats a
 * vector.  ops_avx512.c is this file 16 wide, function for function in the
 * same order, so that a diff of the two shows exactly where they differ;
 * the kernels that have only an AVX2 form come last, and ops.c's AVX-512
 * table takes them from here.
 *
 * Built for baseline x86-64 like the rest of the core: each function
 * carries its target, and ops.c calls them only on a CPU that has it.
 */
#include "ops_impl.h"

#ifdef BERT_SIMD

#include <math.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
/* c in every lane */
#define SPLAT(c) _mm256_set1_ps(c)
/* a b + c for a constant c: a step of a polynomial in Horner form */
#define HORNER(a, b, c) _mm256_fmadd_ps((a), (b), SPLAT(c))

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
	x = _mm256_min_ps(SPLAT(EXP_HI), _mm256_max_ps(SPLAT(EXP_LO), x));
	n = _mm256_round_ps(_mm256_mul_ps(x, SPLAT(EXP_LOG2E)),
						_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(n, SPLAT(EXP_LN2_HI), x);
	r = _mm256_fnmadd_ps(n, SPLAT(EXP_LN2_LO), r);
	p = HORNER(SPLAT(EXP_P5), r, EXP_P4);
	p = HORNER(p, r, EXP_P3);
	p = HORNER(p, r, EXP_P2);
	p = HORNER(p, r, EXP_P1);
	p = HORNER(p, r, EXP_P0);
	p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
	p = _mm256_add_ps(p, SPLAT(1.0f));
	ni = _mm256_cvtps_epi32(n);
	n1 = _mm256_srai_epi32(ni, 1);
	p = _mm256_mul_ps(p, pow2_avx2(n1));
	return _mm256_mul_ps(p, pow2_avx2(_mm256_sub_epi32(ni, n1)));
}

static inline AVX2 __m256
erf_avx2(__m256 x)
{
	__m256		sign = SPLAT(-0.0f);
	__m256		a = _mm256_andnot_ps(sign, x);
	__m256		t = _mm256_mul_ps(a, a);
	__m256		s,
				u,
				q,
				small;

	s = HORNER(SPLAT(ERF_S6), t, ERF_S5);
	s = HORNER(s, t, ERF_S4);
	s = HORNER(s, t, ERF_S3);
	s = HORNER(s, t, ERF_S2);
	s = HORNER(s, t, ERF_S1);
	s = HORNER(s, t, ERF_S0);
	s = _mm256_fmadd_ps(a, s, a);

	u = _mm256_sub_ps(_mm256_min_ps(SPLAT(ERF_ONE), a), SPLAT(ERF_SPLIT));
	q = HORNER(SPLAT(ERF_L7), u, ERF_L6);
	q = HORNER(q, u, ERF_L5);
	q = HORNER(q, u, ERF_L4);
	q = HORNER(q, u, ERF_L3);
	q = HORNER(q, u, ERF_L2);
	q = HORNER(q, u, ERF_L1);
	q = HORNER(q, u, ERF_L0);
	q = _mm256_sub_ps(SPLAT(1.0f), exp_avx2(q));

	small = _mm256_cmp_ps(a, SPLAT(ERF_SPLIT), _CMP_LT_OQ);
	return _mm256_or_ps(_mm256_blendv_ps(q, s, small), _mm256_and_ps(sign, x));
}

static inline AVX2 __m256
tanh_avx2(__m256 x)
{
	__m256		sign = SPLAT(-0.0f);
	__m256		a = _mm256_andnot_ps(sign, x);
	__m256		t = _mm256_mul_ps(a, a);
	__m256		s,
				e,
				small;

	s = HORNER(SPLAT(TANH_P6), t, TANH_P5);
	s = HORNER(s, t, TANH_P4);
	s = HORNER(s, t, TANH_P3);
	s = HORNER(s, t, TANH_P2);
	s = HORNER(s, t, TANH_P1);
	s = HORNER(s, t, TANH_P0);
	s = _mm256_fmadd_ps(_mm256_mul_ps(a, t), s, a);

	e = exp_avx2(_mm256_add_ps(a, a));
	e = _mm256_sub_ps(SPLAT(1.0f), _mm256_div_ps(SPLAT(2.0f), _mm256_add_ps(e, SPLAT(1.0f))));

	small = _mm256_cmp_ps(a, SPLAT(TANH_SPLIT), _CMP_LT_OQ);
	return _mm256_or_ps(_mm256_blendv_ps(e, s, small), _mm256_and_ps(sign, x));
}

/* 0.5 x (1 + erf(x / sqrt 2)), in the portable code's order */
static inline AVX2 __m256
gelu_avx2(__m256 x)
{
	__m256		e = erf_avx2(_mm256_mul_ps(x, SPLAT((float) M_SQRT1_2)));

	return _mm256_mul_ps(_mm256_mul_ps(SPLAT(0.5f), x), _mm256_add_ps(SPLAT(1.0f), e));
}

static inline AVX2 __m256
gelu_tanh_avx2(__m256 x)
{
	__m256		c = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(SPLAT(GELU_TANH_A), x), x), x);

	c = _mm256_mul_ps(SPLAT(GELU_TANH_C), _mm256_add_ps(x, c));
	return _mm256_mul_ps(_mm256_mul_ps(SPLAT(0.5f), x), _mm256_add_ps(SPLAT(1.0f), tanh_avx2(c)));
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
	return hsum256_ps(v);
}

static inline AVX2 float
hmax_avx2(__m256 v)
{
	return hmax256_ps(v);
}

/* x[i] = op(x[i]) for i < n */
#define MAP_AVX2(name, op) \
AVX2 void \
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

AVX2 void
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
	return hsum256_pd(v);
}

/* the portable code's arithmetic: sums in double, the rest in float */
AVX2 void
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
		vmean = SPLAT(mean);

		acc[0] = acc[1] = _mm256_setzero_pd();
		for (i = 0; i < body; i += 8)
			add_sq_pd_avx2(acc, _mm256_sub_ps(_mm256_loadu_ps(y + i), vmean));
		if (i < n)
			add_sq_pd_avx2(acc, _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(y + i, m), vmean),
											  _mm256_castsi256_ps(m)));
		inv = (float) (1.0 / sqrt(hsum_pd_avx2(_mm256_add_pd(acc[0], acc[1])) / n + eps));
		vinv = SPLAT(inv);

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

AVX2 void
softmax_rows_avx2(float *x, int rows, int n, int ld)
{
	int			body = n & ~7;
	__m256i		m = tail_avx2(n - body);

	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * ld;
		__m256		acc = SPLAT(-INFINITY),
					vmax,
					e;
		int			i;

		for (i = 0; i < body; i += 8)
			acc = _mm256_max_ps(acc, _mm256_loadu_ps(y + i));
		if (i < n)
			acc = _mm256_max_ps(acc, _mm256_blendv_ps(SPLAT(-INFINITY), _mm256_maskload_ps(y + i, m),
													  _mm256_castsi256_ps(m)));
		vmax = SPLAT(hmax_avx2(acc));

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
		e = SPLAT(1.0f / hsum_avx2(acc));

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
static inline AVX2 __m256
combine8_avx2(const float *coef, int n, const float *rows, size_t stride)
{
	__m256		a0 = _mm256_setzero_ps();

	for (int r = 0; r < n; r++)
		a0 = _mm256_fmadd_ps(SPLAT(coef[r]), _mm256_loadu_ps(rows + (size_t) r * stride), a0);
	return a0;
}

static inline AVX2 void
combine32_avx2(const float *coef, int n, const float *rows, size_t stride, __m256 a[4])
{
	__m256		a0 = _mm256_setzero_ps(),
				a1 = _mm256_setzero_ps(),
				a2 = _mm256_setzero_ps(),
				a3 = _mm256_setzero_ps();

	for (int r = 0; r < n; r++)
	{
		const float *row = rows + (size_t) r * stride;
		__m256		b = SPLAT(coef[r]);

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
AVX2 void
attention_avx2(const float *q, const float *k, const float *v, int ld,
			   int T, int d, float scale, float *o, int ldo, float *scratch)
{
	int			Tp = (T + 7) & ~7;
	float	   *kt = scratch;
	float	   *s = scratch + (size_t) d * Tp;
	__m256		vs = SPLAT(scale);

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
AVX2 void
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
		vinv = SPLAT(inv);
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
AVX2 void
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
static inline __attribute__((always_inline)) AVX2 void
f16_tile_rows_avx2(const int rows, int k, const float *x, int ldx,
				   const uint16_t *panel, const BertLinearOut *out, float *c, int ldc)
{
	__m256		acc[F16_TILE_ROWS][2];
	const uint16_t *next = panel + (size_t) k * BERT_F16P_PANEL;

	/* from c, or bias (+ residual) as fill_rows_avx2 sums them; written out
	 * here rather than through out_from8_avx2 (below), with which GCC 12
	 * spills this tile's accumulators: one sentence a call on these kernels
	 * 3,600-4,100 -> 1,550-1,800 tokens/s */
#pragma GCC unroll 8
	for (int r = 0; r < rows; r++)
		for (int h = 0; h < 2; h++)
			acc[r][h] = out == NULL || out->bias == NULL ? _mm256_loadu_ps(c + (size_t) r * ldc + h * 8) :
				out->residual == NULL ? _mm256_loadu_ps(out->bias + h * 8) :
				_mm256_add_ps(_mm256_loadu_ps(out->bias + h * 8),
							  _mm256_loadu_ps(out->residual + (size_t) r * out->ldr + h * 8));
	for (int t = 0; t < k; t++)
	{
		const uint16_t *p = panel + (size_t) t * BERT_F16P_PANEL;
		__m256		w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
		__m256		w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p + 8)));

		/* the next panel into L2 meanwhile, a line every other step */
		if (t % 2 == 0)
			_mm_prefetch((const char *) (next + (size_t) t * BERT_F16P_PANEL), _MM_HINT_T1);

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
		for (int h = 0; h < 2; h++)
			_mm256_storeu_ps(c + (size_t) r * ldc + h * 8, acc[r][h]);
}

/*
 * GELU over rows x cols of c (stride ldc) after a tile, while they are in
 * L1.  Not in the tiles' registers as on AVX-512: with 16 ymm registers
 * their accumulators already fill, and GELU's constants inlined there made
 * GCC spill them (one sentence a call on the AVX2 kernels: 3,523 -> 2,313
 * tokens/s).
 */
static __attribute__((noinline)) AVX2 void
gelu_rows_avx2(float *c, int ldc, int rows, int cols)
{
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < cols; j += 8)
			_mm256_storeu_ps(c + (size_t) r * ldc + j, gelu_avx2(_mm256_loadu_ps(c + (size_t) r * ldc + j)));
}

AVX2 void
f16_tile_avx2(int rows, int k, const float *x, int ldx, const uint16_t *panel,
			  int panels, const BertLinearOut *out, float *c, int ldc)
{
	for (int p = 0; p < panels; p++)
	{
		const float *xr = x;
		float	   *cr = c + p * BERT_F16P_PANEL;
		int			r = 0;
		BertLinearOut at;

		for (; rows - r >= F16_TILE_ROWS; r += F16_TILE_ROWS)
		{
			f16_tile_rows_avx2(F16_TILE_ROWS, k, xr, ldx, panel,
							   linear_out_at(out, &at, r, p * BERT_F16P_PANEL), cr, ldc);
			xr += (size_t) F16_TILE_ROWS * ldx;
			cr += (size_t) F16_TILE_ROWS * ldc;
		}
		switch (rows - r)
		{
#define TILE(R) case R: f16_tile_rows_avx2(R, k, xr, ldx, panel, linear_out_at(out, &at, r, p * BERT_F16P_PANEL), cr, ldc); break;
				TILE(5) TILE(4) TILE(3) TILE(2) TILE(1)
#undef TILE
		}
		panel += (size_t) k * BERT_F16P_PANEL;
	}
	if (out != NULL && out->gelu)
		gelu_rows_avx2(c, ldc, rows, panels * BERT_F16P_PANEL);
}

AVX2 void
f16_widen16_avx2(const uint16_t *h, float *f)
{
	_mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) h)));
	_mm256_storeu_ps(f + 8, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + 8))));
}

/*
 * Activations for Q8P products (ops.c quantize_rows8_scalar): the same
 * products, roundings (cvtps2dq, to nearest even, as lrintf) and clamp
 * (packus), 32 at a time; the packs keep 128-bit lanes apart, so the
 * bytes are put back in order.
 */
static AVX2 void
quantize_row8_avx2(const float *xr, int k, int in4, const float *mult, uint8_t *q,
				   int32_t *zero, float *scale)
{
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);

	__m256		vlo = _mm256_setzero_ps(),
				vhi = _mm256_setzero_ps(),
				vinv;
	__m256i		vz;
	float		lo,
				hi,
				inv;
	int32_t		z;
	int			i = 0;

#define Y8(at) (mult ? _mm256_mul_ps(_mm256_loadu_ps(xr + (at)), _mm256_loadu_ps(mult + (at))) \
			: _mm256_loadu_ps(xr + (at)))
	/* y first: MINPS and MAXPS return their second operand if either is NaN */
	for (; i + 8 <= k; i += 8)
	{
		__m256		y = Y8(i);

		vlo = _mm256_min_ps(y, vlo);
		vhi = _mm256_max_ps(y, vhi);
	}
	lo = -hmax_avx2(_mm256_sub_ps(_mm256_setzero_ps(), vlo));
	hi = hmax_avx2(vhi);
	q8p_range(xr, mult, i, k, &lo, &hi);
	inv = q8p_scale_zero(lo, hi, scale, zero);
	z = *zero;
	vinv = SPLAT(inv);
	vz = _mm256_set1_epi32(z);
	for (i = 0; i + 32 <= k; i += 32)
	{
		__m256i		a = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(Y8(i), vinv)), vz),
					b = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(Y8(i + 8), vinv)), vz),
					c = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(Y8(i + 16), vinv)), vz),
					d = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(Y8(i + 24), vinv)), vz);

		/* packs: signed saturation to 16 bits, packus: unsigned to 8 */
		_mm256_storeu_si256((__m256i *) (q + i),
							_mm256_permutevar8x32_epi32(_mm256_packus_epi16(_mm256_packs_epi32(a, b),
																			_mm256_packs_epi32(c, d)), order));
	}
#undef Y8
	for (; i < k; i++)
	{
		float		y = mult ? xr[i] * mult[i] : xr[i];
		long		v = lrintf(y * inv) + z;

		q[i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
	}
	for (; i < in4; i++)
		q[i] = 0;
}

/* One row of Q16P activations: q16_inv and q16_value's steps, 8 at a time. */
static AVX2 void
quantize_row16_avx2(const float *xr, int k, int in4, int16_t *q, float *scale)
{
	const __m256 sign = SPLAT(-0.0f);
	__m256		vmax = _mm256_setzero_ps(),
				vinv,
				vx;
	float		amax,
				inv,
				xmax = (float) bcore_q16_xmax(k);
	int			body = k & ~7,
				i;

	/* |x| first: MAXPS returns its second operand if either is NaN */
	for (i = 0; i < body; i += 8)
		vmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xr + i)), vmax);
	amax = hmax256_ps(vmax);
	for (; i < k; i++)
		amax = fabsf(xr[i]) > amax ? fabsf(xr[i]) : amax;
	inv = q16_inv(amax, k, scale);
	vinv = SPLAT(inv);
	vx = SPLAT(xmax);
	for (i = 0; i < body; i += 8)
	{
		__m256		y = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv);
		__m256i		v;

		y = _mm256_and_ps(y, _mm256_cmp_ps(y, y, _CMP_ORD_Q));	/* NaN to 0 */
		y = _mm256_min_ps(_mm256_max_ps(y, _mm256_sub_ps(_mm256_setzero_ps(), vx)), vx);
		v = _mm256_cvtps_epi32(y);
		_mm_storeu_si128((__m128i *) (q + i),
						 _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
	}
	for (; i < in4; i++)
		q[i] = i < k ? q16_value(xr[i], inv, xmax) : 0;
}

AVX2 void
quantize_rows16_avx2(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	q16_quantize_chunks(x, rows, k, ldx, xq, scale, quantize_row16_avx2);
}

/* a chunk of rows at a time, placed by q8p_place_chunk */
AVX2 void
quantize_rows8_avx2(const float *x, int rows, int k, int ldx, const float *mult,
					uint8_t *xq, int32_t *zero, float *scale)
{
	q8p_quantize_chunks(x, rows, k, ldx, mult, xq, zero, scale, quantize_row8_avx2);
}

/* four bytes of an activation row, as one 32-bit lane */
static inline int32_t
load4(const uint8_t *p)
{
	int32_t		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* where 8 outputs of row r, column j of a tile start: c's values, or bias (+
 * residual) as fill_rows_avx2 sums them (out: ops.h BertLinearOut); GELU,
 * if out asks, goes over an F16P tile afterwards (gelu_rows_avx2), over a
 * quantised one in q8p_unit */
static inline AVX2 __m256
out_from8_avx2(const float *c, const BertLinearOut *out, int r, int j)
{
	if (out == NULL || out->bias == NULL)
		return _mm256_loadu_ps(c);
	if (out->residual == NULL)
		return _mm256_loadu_ps(out->bias + j);
	return _mm256_add_ps(_mm256_loadu_ps(out->bias + j),
						 _mm256_loadu_ps(out->residual + (size_t) r * out->ldr + j));
}

/*
 * c[0 .. 8) (row r, column j of the tile) = from + sx sw (acc - zero wsum),
 * as q8p_tile_scalar finishes: the exact integer, one conversion, one
 * product of the scales, one fused multiply-add.
 */
static inline AVX2 void
q8p_finish8_avx2(float *c, __m256i acc, int32_t zero, float sx, const float *wsum,
				 const float *sw, const BertLinearOut *out, int r, int j)
{
	__m256i		off = _mm256_mullo_epi32(_mm256_set1_epi32(zero), _mm256_cvtps_epi32(_mm256_loadu_ps(wsum)));
	__m256		d = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, off));

	_mm256_storeu_ps(c, _mm256_fmadd_ps(d, _mm256_mul_ps(SPLAT(sx), _mm256_loadu_ps(sw)),
										out_from8_avx2(c, out, r, j)));
}

/*
 * Q8P tile without VNNI: per group of 4 inputs, a panel's 16 channels x 4
 * bytes widen (sign extended) to 4 vectors of 16-bit, the row's 4
 * activations (zero extended, repeated) meet them in pmaddwd, each lane
 * summing 2 products; lanes pair up (hadd) at the end.  Exact integer sums
 * like every variant; about as many products per instruction as the F16P
 * tile.
 */
static inline __attribute__((always_inline)) AVX2 void
q8p_tile_rows_avx2(const int rows, int in4, const uint8_t *xq, int n, const int32_t *zero,
				   const float *sx, const int8_t *panel, const float *wsum,
				   const float *sw, const BertLinearOut *out, float *c, int ldc)
{
	__m256i		acc[Q8P_TILE_ROWS_AVX2][4];

#pragma GCC unroll 2
	for (int r = 0; r < rows; r++)
		acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_si256();
	for (int g = 0; g < in4; g += BERT_Q8P_GROUP)
	{
		const int8_t *p = panel + (size_t) g * BERT_Q8P_PANEL;
		__m256i		w[4];

#pragma GCC unroll 4
		for (int i = 0; i < 4; i++)
			w[i] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (p + 16 * i)));
#pragma GCC unroll 2
		for (int r = 0; r < rows; r++)
		{
			__m256i		a = _mm256_cvtepu8_epi16(_mm_set1_epi32(load4(xq + (size_t) g * n + r * 4)));

#pragma GCC unroll 4
			for (int i = 0; i < 4; i++)
				acc[r][i] = _mm256_add_epi32(acc[r][i], _mm256_madd_epi16(w[i], a));
		}
	}
#pragma GCC unroll 2
	for (int r = 0; r < rows; r++)
	{
		/* lanes: channel pairs of partial sums; hadd and put the channels in order */
		__m256i		lo = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8),
					hi = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);

		q8p_finish8_avx2(c + (size_t) r * ldc, lo, zero[r], sx[r], wsum, sw, out, r, 0);
		q8p_finish8_avx2(c + (size_t) r * ldc + 8, hi, zero[r], sx[r], wsum + 8, sw + 8, out, r, 8);
	}
}

AVX2 void
q8p_tile_avx2(int rows, int in4, const uint8_t *xq, const int32_t *zero,
			  const float *sx, const int8_t *panel, int panels,
			  const float *wsum, const float *sw, const BertLinearOut *out,
			  float *c, int ldc)
{
	for (int p = 0; p < panels; p++)
	{
		const int8_t *pp = panel + (size_t) p * in4 * BERT_Q8P_PANEL;
		int			o = p * BERT_Q8P_PANEL;
		int			r = 0;
		BertLinearOut at;

		for (; r + 2 <= rows; r += 2)
			q8p_tile_rows_avx2(2, in4, xq + r * 4, rows, zero + r, sx + r, pp, wsum + o, sw + o,
							   linear_out_at(out, &at, r, o), c + (size_t) r * ldc + o, ldc);
		if (r < rows)
			q8p_tile_rows_avx2(1, in4, xq + r * 4, rows, zero + r, sx + r, pp, wsum + o, sw + o,
							   linear_out_at(out, &at, r, o), c + (size_t) r * ldc + o, ldc);
	}
}

/*
 * The tile on widened weights (ops.h bcore_q8p_widen): up to
 * Q16_TILE_ROWS_AVX2 rows x one panel, two vectors of 8 channels per row
 * (12 accumulators, 2 weight vectors, a broadcast and a product: all 16
 * registers); per pair of inputs each row's 16-bit pair q - zero,
 * broadcast, meets the panel's pairs in one pmaddwd per vector.  Nothing is
 * widened in the loop and each lane is one channel, so no hadd at the end.
 * test/check-kernel-loops.pl checks the compiled loop.
 */
static inline __attribute__((always_inline)) AVX2 void
q16_tile_rows_avx2(const int rows, int in4, const int16_t *x16, int n, const float *sx,
				   const int16_t *panel, const float *sw, const BertLinearOut *out,
				   float *c, int ldc)
{
	__m256i		acc0[Q16_TILE_ROWS_AVX2],
				acc1[Q16_TILE_ROWS_AVX2];
	const int16_t *next = panel + (size_t) in4 * BERT_Q8P_PANEL;
	const __m256 s0 = _mm256_loadu_ps(sw),
				s1 = _mm256_loadu_ps(sw + 8);

#pragma GCC unroll 6
	for (int r = 0; r < rows; r++)
		acc0[r] = acc1[r] = _mm256_setzero_si256();
	for (int p = 0; p < in4 / 2; p++)
	{
		const int16_t *w = panel + (size_t) p * 2 * BERT_Q8P_PANEL;
		__m256i		w0 = _mm256_loadu_si256((const __m256i *) w),
					w1 = _mm256_loadu_si256((const __m256i *) (w + 16));

		/* the next panel into L2 meanwhile: one line a pair */
		_mm_prefetch((const char *) (next + (size_t) p * 2 * BERT_Q8P_PANEL), _MM_HINT_T1);
#pragma GCC unroll 6
		for (int r = 0; r < rows; r++)
		{
			int32_t		pair;
			__m256i		a,
						t;

			memcpy(&pair, x16 + ((size_t) p * n + r) * 2, sizeof(pair));
			a = _mm256_set1_epi32(pair);

			/*
			 * acc0[r] += madd(a, w0), acc1[r] += madd(a, w1), written out
			 * so that each accumulator is summed in its own register: from
			 * the intrinsics GCC 12 summed into the product's register and
			 * copied it back (a move per accumulator and step), and at 6
			 * rows kept accumulators on the stack.  Emulated AVX2 on Zen 5:
			 * the int8 variant 22-32 % faster in batches of 256 on one
			 * thread (docs/performance.md).
			 */
			__asm__("vpmaddwd %[w0], %[a], %[t]\n\t"
					"vpaddd %[t], %[acc0], %[acc0]\n\t"
					"vpmaddwd %[w1], %[a], %[t]\n\t"
					"vpaddd %[t], %[acc1], %[acc1]"
					: [acc0] "+x"(acc0[r]), [acc1] "+x"(acc1[r]), [t] "=&x"(t)
					: [a] "x"(a), [w0] "x"(w0), [w1] "x"(w1));
		}
	}
	/* c = from + (sx sw) acc: the finish of q8p_tile_scalar, whose acc - zero wsum this acc is */
#pragma GCC unroll 6
	for (int r = 0; r < rows; r++)
	{
		float	   *y = c + (size_t) r * ldc;
		__m256		x = SPLAT(sx[r]);

		_mm256_storeu_ps(y, _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc0[r]), _mm256_mul_ps(x, s0),
											out_from8_avx2(y, out, r, 0)));
		_mm256_storeu_ps(y + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc1[r]), _mm256_mul_ps(x, s1),
												out_from8_avx2(y + 8, out, r, 8)));
	}
}

AVX2 void
q16_tile_avx2(int rows, int in4, const int16_t *x16, const float *sx,
			  const int16_t *panel, int panels, const float *sw, const BertLinearOut *out,
			  float *c, int ldc)
{
	for (int p = 0; p < panels; p++)
	{
		const int16_t *pp = panel + (size_t) p * in4 * BERT_Q8P_PANEL;
		int			o = p * BERT_Q8P_PANEL;
		int			left = rows,
					r = 0;
		int			tiles = (rows + Q16_TILE_ROWS_AVX2 - 1) / Q16_TILE_ROWS_AVX2;

		for (int i = 0; i < tiles; i++)
		{
			int			n = left / (tiles - i) + (left % (tiles - i) != 0);
			const int16_t *x = x16 + r * 2;
			float	   *cc = c + (size_t) r * ldc + o;
			BertLinearOut at;
			const BertLinearOut *ot = linear_out_at(out, &at, r, o);

			switch (n)
			{
#define TILE(R) case R: q16_tile_rows_avx2(R, in4, x, rows, sx + r, pp, sw + o, ot, cc, ldc); break;
					TILE(1) TILE(2) TILE(3) TILE(4)
#if Q16_TILE_ROWS_AVX2 >= 5
					TILE(5)
#endif
#if Q16_TILE_ROWS_AVX2 >= 6
					TILE(6)
#endif
#undef TILE
			}
			left -= n;
			r += n;
		}
	}
}

/*
 * Q8P tile on AVX-VNNI (vpdpbusd on ymm, 16 registers): up to
 * Q8P_TILE_ROWS_AVXVNNI rows x one panel, two vectors of 8 channels per
 * row; per group of 4 inputs each row's 4 activations, broadcast, meet
 * the panel's bytes in one vpdpbusd per vector.
 */
#define AVXVNNI __attribute__((target("avxvnni,avx2,fma,f16c")))

/* acc + vpdpbusd(a, w), written out: see dpbusd_avx512 in ops_avx512.c */
static inline __attribute__((always_inline)) AVXVNNI __m256i
dpbusd_avxvnni(__m256i acc, __m256i a, __m256i w)
{
	__asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
	return acc;
}

static inline __attribute__((always_inline)) AVXVNNI void
q8p_tile_rows_avxvnni(const int rows, int in4, const uint8_t *xq, int n, const int32_t *zero,
					  const float *sx, const int8_t *panel, const float *wsum,
					  const float *sw, const BertLinearOut *out, float *c, int ldc)
{
	__m256i		acc0[Q8P_TILE_ROWS_AVXVNNI],
				acc1[Q8P_TILE_ROWS_AVXVNNI];
	const int8_t *next = panel + (size_t) in4 * BERT_Q8P_PANEL;

#pragma GCC unroll 6
	for (int r = 0; r < rows; r++)
		acc0[r] = acc1[r] = _mm256_setzero_si256();
	for (int g = 0; g < in4; g += BERT_Q8P_GROUP)
	{
		const int8_t *p = panel + (size_t) g * BERT_Q8P_PANEL;
		__m256i		w0 = _mm256_loadu_si256((const __m256i *) p),
					w1 = _mm256_loadu_si256((const __m256i *) (p + 32));

		_mm_prefetch((const char *) (next + (size_t) g * BERT_Q8P_PANEL), _MM_HINT_T1);
#pragma GCC unroll 6
		for (int r = 0; r < rows; r++)
		{
			__m256i		a = _mm256_set1_epi32(load4(xq + (size_t) g * n + r * 4));

			acc0[r] = dpbusd_avxvnni(acc0[r], a, w0);
			acc1[r] = dpbusd_avxvnni(acc1[r], a, w1);
		}
	}
#pragma GCC unroll 6
	for (int r = 0; r < rows; r++)
	{
		q8p_finish8_avx2(c + (size_t) r * ldc, acc0[r], zero[r], sx[r], wsum, sw, out, r, 0);
		q8p_finish8_avx2(c + (size_t) r * ldc + 8, acc1[r], zero[r], sx[r], wsum + 8, sw + 8, out, r, 8);
	}
}

AVXVNNI void
q8p_tile_avxvnni(int rows, int in4, const uint8_t *xq, const int32_t *zero,
				 const float *sx, const int8_t *panel, int panels,
				 const float *wsum, const float *sw, const BertLinearOut *out,
				 float *c, int ldc)
{
	for (int p = 0; p < panels; p++)
	{
		const int8_t *pp = panel + (size_t) p * in4 * BERT_Q8P_PANEL;
		int			o = p * BERT_Q8P_PANEL;
		int			left = rows,
					r = 0;
		int			tiles = (rows + Q8P_TILE_ROWS_AVXVNNI - 1) / Q8P_TILE_ROWS_AVXVNNI;

		for (int i = 0; i < tiles; i++)
		{
			int			n = left / (tiles - i) + (left % (tiles - i) != 0);
			const uint8_t *x = xq + r * 4;
			float	   *cc = c + (size_t) r * ldc + o;
			BertLinearOut at;
			const BertLinearOut *ot = linear_out_at(out, &at, r, o);

			switch (n)
			{
#define TILE(R) case R: q8p_tile_rows_avxvnni(R, in4, x, rows, zero + r, sx + r, pp, wsum + o, sw + o, ot, cc, ldc); break;
					TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#undef TILE
			}
			left -= n;
			r += n;
		}
	}
}

#endif							/* BERT_SIMD */
