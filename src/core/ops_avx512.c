/*
 * ops_avx512.c — the kernels' AVX-512 variants (F, DQ, BW, VL), 16 floats a
 * vector: ops_avx2.c line for line, 16 wide, with mask registers for the
 * tails, so that a diff of the two shows exactly where they differ.  The
 * kernels that have no 16-wide form here are the AVX2 ones: ops.c's AVX-512
 * table says which.
 *
 * Built for baseline x86-64 like the rest of the core: each function
 * carries its target, and ops.c calls them only on a CPU that has it.
 */
#include "ops_impl.h"

#ifdef BERT_SIMD

#include <math.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,f16c")))
/* c in every lane */
#define SPLAT(c) _mm512_set1_ps(c)
/* a b + c for a constant c: a step of a polynomial in Horner form */
#define HORNER(a, b, c) _mm512_fmadd_ps((a), (b), SPLAT(c))

/* 2^k for integer k in [-126, 127] */
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

	/* x goes second: MINPS and MAXPS return their second operand on NaN */
	x = _mm512_min_ps(SPLAT(EXP_HI), _mm512_max_ps(SPLAT(EXP_LO), x));
	n = _mm512_roundscale_ps(_mm512_mul_ps(x, SPLAT(EXP_LOG2E)),
							 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm512_fnmadd_ps(n, SPLAT(EXP_LN2_HI), x);
	r = _mm512_fnmadd_ps(n, SPLAT(EXP_LN2_LO), r);
	p = HORNER(SPLAT(EXP_P5), r, EXP_P4);
	p = HORNER(p, r, EXP_P3);
	p = HORNER(p, r, EXP_P2);
	p = HORNER(p, r, EXP_P1);
	p = HORNER(p, r, EXP_P0);
	p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
	p = _mm512_add_ps(p, SPLAT(1.0f));
	ni = _mm512_cvtps_epi32(n);
	n1 = _mm512_srai_epi32(ni, 1);
	p = _mm512_mul_ps(p, pow2_avx512(n1));
	return _mm512_mul_ps(p, pow2_avx512(_mm512_sub_epi32(ni, n1)));
}

static const float erf_table_avx512[ERF_TABLE_DEGREE + 1][ERF_TABLE_N]
__attribute__((aligned(64))) = ERF_TABLE;

/* coefficient j of each lane's piece idx (0 .. 31: two registers' worth) */
static inline __attribute__((always_inline)) AVX512 __m512
erf_coef_avx512(int j, __m512i idx)
{
	return _mm512_permutex2var_ps(_mm512_load_ps(erf_table_avx512[j]), idx,
								  _mm512_load_ps(erf_table_avx512[j] + 16));
}

/* ops_impl.h's ERF_TABLE: a lane's piece by |x|, its polynomial in t = |x|
 * - the piece's centre (exact: Sterbenz), the first piece's in t = |x|
 * with t itself added last; 1 from 4 on; the sign put back.  NaN stays NaN
 * through t.  The products' fused GELU uses it (bcore_gelu_fused: the
 * half-precision tiles, the quantised tiles' GELU pass); bcore_erf and
 * bcore_gelu are erf_avx512, the portable code's form, which a
 * calibration observes (encoder.c linear). */
static inline AVX512 __m512
erf_pieces_avx512(__m512 x)
{
	__m512		sign = SPLAT(-0.0f);
	__m512		a = _mm512_andnot_ps(sign, x);
	__m512i		idx = _mm512_cvttps_epi32(_mm512_mul_ps(a, SPLAT((float) ERF_TABLE_PER)));
	__mmask16	first = _mm512_cmpeq_epi32_mask(idx, _mm512_setzero_si512());
	__m512		centre = _mm512_fmadd_ps(_mm512_cvtepi32_ps(idx), SPLAT(1.0f / ERF_TABLE_PER),
										 SPLAT(0.5f / ERF_TABLE_PER));
	__m512		t,
				p;

	t = _mm512_sub_ps(a, _mm512_mask_mov_ps(centre, first, _mm512_setzero_ps()));
	p = erf_coef_avx512(ERF_TABLE_DEGREE, idx);
	for (int j = ERF_TABLE_DEGREE - 1; j >= 1; j--)
		p = _mm512_fmadd_ps(p, t, erf_coef_avx512(j, idx));
	p = _mm512_fmadd_ps(p, t, _mm512_mask_mov_ps(erf_coef_avx512(0, idx), first, t));
	p = _mm512_mask_mov_ps(p, _mm512_cmp_ps_mask(a, SPLAT((float) ERF_TABLE_N / ERF_TABLE_PER), _CMP_GE_OQ),
						   SPLAT(1.0f));
	return _mm512_or_ps(p, _mm512_and_ps(sign, x));
}

/* the portable code's erf (ops_impl.h): x + x P(x^2) below ERF_SPLIT,
 * 1 - exp(Q(|x|)) above, with the sign of x */
static inline AVX512 __m512
erf_avx512(__m512 x)
{
	__m512		sign = SPLAT(-0.0f);
	__m512		a = _mm512_andnot_ps(sign, x);
	__m512		t = _mm512_mul_ps(a, a);
	__m512		s,
				u,
				q;
	__mmask16	small;

	s = HORNER(SPLAT(ERF_S6), t, ERF_S5);
	s = HORNER(s, t, ERF_S4);
	s = HORNER(s, t, ERF_S3);
	s = HORNER(s, t, ERF_S2);
	s = HORNER(s, t, ERF_S1);
	s = HORNER(s, t, ERF_S0);
	s = _mm512_fmadd_ps(a, s, a);

	u = _mm512_sub_ps(_mm512_min_ps(SPLAT(ERF_ONE), a), SPLAT(ERF_SPLIT));
	q = HORNER(SPLAT(ERF_L7), u, ERF_L6);
	q = HORNER(q, u, ERF_L5);
	q = HORNER(q, u, ERF_L4);
	q = HORNER(q, u, ERF_L3);
	q = HORNER(q, u, ERF_L2);
	q = HORNER(q, u, ERF_L1);
	q = HORNER(q, u, ERF_L0);
	q = _mm512_sub_ps(SPLAT(1.0f), exp_avx512(q));

	small = _mm512_cmp_ps_mask(a, SPLAT(ERF_SPLIT), _CMP_LT_OQ);
	return _mm512_or_ps(_mm512_mask_blend_ps(small, q, s), _mm512_and_ps(sign, x));
}

static inline AVX512 __m512
tanh_avx512(__m512 x)
{
	__m512		sign = SPLAT(-0.0f);
	__m512		a = _mm512_andnot_ps(sign, x);
	__m512		t = _mm512_mul_ps(a, a);
	__m512		s,
				e;
	__mmask16	small;

	s = HORNER(SPLAT(TANH_P6), t, TANH_P5);
	s = HORNER(s, t, TANH_P4);
	s = HORNER(s, t, TANH_P3);
	s = HORNER(s, t, TANH_P2);
	s = HORNER(s, t, TANH_P1);
	s = HORNER(s, t, TANH_P0);
	s = _mm512_fmadd_ps(_mm512_mul_ps(a, t), s, a);

	e = exp_avx512(_mm512_add_ps(a, a));
	e = _mm512_sub_ps(SPLAT(1.0f), _mm512_div_ps(SPLAT(2.0f), _mm512_add_ps(e, SPLAT(1.0f))));

	small = _mm512_cmp_ps_mask(a, SPLAT(TANH_SPLIT), _CMP_LT_OQ);
	return _mm512_or_ps(_mm512_mask_blend_ps(small, e, s), _mm512_and_ps(sign, x));
}

/* 0.5 x (1 + erf(x / sqrt 2)), in the portable code's order */
static inline AVX512 __m512
gelu_avx512(__m512 x)
{
	__m512		e = erf_avx512(_mm512_mul_ps(x, SPLAT((float) M_SQRT1_2)));

	return _mm512_mul_ps(_mm512_mul_ps(SPLAT(0.5f), x), _mm512_add_ps(SPLAT(1.0f), e));
}

/* the same on erf_pieces_avx512: the products' fused GELU */
static inline AVX512 __m512
gelu_pieces_avx512(__m512 x)
{
	__m512		e = erf_pieces_avx512(_mm512_mul_ps(x, SPLAT((float) M_SQRT1_2)));

	return _mm512_mul_ps(_mm512_mul_ps(SPLAT(0.5f), x), _mm512_add_ps(SPLAT(1.0f), e));
}

static inline AVX512 __m512
gelu_tanh_avx512(__m512 x)
{
	__m512		c = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(SPLAT(GELU_TANH_A), x), x), x);

	c = _mm512_mul_ps(SPLAT(GELU_TANH_C), _mm512_add_ps(x, c));
	return _mm512_mul_ps(_mm512_mul_ps(SPLAT(0.5f), x), _mm512_add_ps(SPLAT(1.0f), tanh_avx512(c)));
}

/* lanes below rem set */
static inline AVX512 __mmask16
tail_avx512(size_t rem)
{
	return (__mmask16) ((1u << rem) - 1);
}

/* a fixed order of additions, so that sums are reproducible */
static inline AVX512 float
hsum_avx512(__m512 v)
{
	return hsum256_ps(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

static inline AVX512 float
hmax_avx512(__m512 v)
{
	return hmax256_ps(_mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

/* x[i] = op(x[i]) for i < n */
#define MAP_AVX512(name, op) \
AVX512 void \
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
MAP_AVX512(erf_pieces_map_avx512, erf_pieces_avx512)
MAP_AVX512(gelu_pieces_map_avx512, gelu_pieces_avx512)
MAP_AVX512(exp_map_avx512, exp_avx512)

AVX512 void
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

/* acc += the 16 floats of v, in double */
static inline AVX512 void
add_pd_avx512(__m512d acc[2], __m512 v)
{
	acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
	acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

/* acc += the squares of the 16 floats of v, in double */
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
	return hsum256_pd(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}

/* the portable code's arithmetic: sums in double, the rest in float */
AVX512 void
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
		vmean = SPLAT(mean);

		acc[0] = acc[1] = _mm512_setzero_pd();
		for (i = 0; i < body; i += 16)
			add_sq_pd_avx512(acc, _mm512_sub_ps(_mm512_loadu_ps(y + i), vmean));
		if (i < n)
			add_sq_pd_avx512(acc, _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, y + i), vmean));
		inv = (float) (1.0 / sqrt(hsum_pd_avx512(_mm512_add_pd(acc[0], acc[1])) / n + eps));
		vinv = SPLAT(inv);

		/* (y - mean) * inv * g + b, without fusing, like the portable code */
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

/*
 * Softmax of `rows` rows of at most SOFTMAX_SHORT_N values (a sentence of
 * up to 32 tokens: the common case), each held in two registers from load
 * to store.  Each row takes the steps of the loop below in the same order,
 * so the results are the same bit for bit; what changes is that the rows'
 * chains (a maximum across the vector, exp, a sum across it) run side by
 * side instead of one row after another, where the reductions' latency,
 * not the arithmetic, set the pace (bench/kernels, T = 26 on Zen 5: 1.53
 * -> 0.59 ns an element; exp alone takes 0.17.  Inside attention, where
 * other work overlapped much of that latency already, bench/encode showed
 * no difference beyond its noise).
 */
#define SOFTMAX_SHORT_N 32
#define SOFTMAX_SHORT_ROWS 4

static inline __attribute__((always_inline)) AVX512 void
softmax_short_rows_avx512(const int rows, const int nv, float *x, int n, int ld)
{
	__m512		v[SOFTMAX_SHORT_ROWS][2],
				acc[SOFTMAX_SHORT_ROWS];
	/* the last vector's lanes (all 16 when n is 16 or 32: the same) */
	__mmask16	m = tail_avx512(n - 16 * (nv - 1));

#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
	{
		const float *y = x + (size_t) r * ld;

		acc[r] = SPLAT(-INFINITY);
		if (nv == 2)
		{
			v[r][0] = _mm512_loadu_ps(y);
			acc[r] = _mm512_max_ps(acc[r], v[r][0]);
		}
		v[r][nv - 1] = _mm512_mask_loadu_ps(SPLAT(-INFINITY), m, y + 16 * (nv - 1));
		acc[r] = _mm512_max_ps(acc[r], v[r][nv - 1]);
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
	{
		__m512		vmax = SPLAT(hmax_avx512(acc[r]));

		acc[r] = _mm512_setzero_ps();
		if (nv == 2)
		{
			v[r][0] = exp_avx512(_mm512_sub_ps(v[r][0], vmax));
			acc[r] = _mm512_add_ps(acc[r], v[r][0]);
		}
		v[r][nv - 1] = _mm512_maskz_mov_ps(m, exp_avx512(_mm512_sub_ps(v[r][nv - 1], vmax)));
		acc[r] = _mm512_add_ps(acc[r], v[r][nv - 1]);
	}
#pragma GCC unroll 4
	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * ld;
		__m512		e = SPLAT(1.0f / hsum_avx512(acc[r]));

		if (nv == 2)
			_mm512_storeu_ps(y, _mm512_mul_ps(v[r][0], e));
		_mm512_mask_storeu_ps(y + 16 * (nv - 1), m, _mm512_mul_ps(v[r][nv - 1], e));
	}
}

/* rows of n <= SOFTMAX_SHORT_N, nv = 1 or 2 vectors each */
static inline __attribute__((always_inline)) AVX512 void
softmax_short_avx512(const int nv, float *x, int rows, int n, int ld)
{
	int			r = 0;

	for (; rows - r >= SOFTMAX_SHORT_ROWS; r += SOFTMAX_SHORT_ROWS)
		softmax_short_rows_avx512(SOFTMAX_SHORT_ROWS, nv, x + (size_t) r * ld, n, ld);
	switch (rows - r)
	{
		case 3:
			softmax_short_rows_avx512(3, nv, x + (size_t) r * ld, n, ld);
			break;
		case 2:
			softmax_short_rows_avx512(2, nv, x + (size_t) r * ld, n, ld);
			break;
		case 1:
			softmax_short_rows_avx512(1, nv, x + (size_t) r * ld, n, ld);
			break;
	}
}

AVX512 void
softmax_rows_avx512(float *x, int rows, int n, int ld)
{
	int			body = n & ~15;
	__mmask16	m = tail_avx512(n - body);

	if (n >= 1 && n <= 16)
	{
		softmax_short_avx512(1, x, rows, n, ld);
		return;
	}
	if (n > 16 && n <= SOFTMAX_SHORT_N)
	{
		softmax_short_avx512(2, x, rows, n, ld);
		return;
	}
	for (int r = 0; r < rows; r++)
	{
		float	   *y = x + (size_t) r * ld;
		__m512		acc = SPLAT(-INFINITY),
					vmax,
					e;
		int			i;

		for (i = 0; i < body; i += 16)
			acc = _mm512_max_ps(acc, _mm512_loadu_ps(y + i));
		if (i < n)
			acc = _mm512_max_ps(acc, _mm512_mask_loadu_ps(SPLAT(-INFINITY), m, y + i));
		vmax = SPLAT(hmax_avx512(acc));

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
		e = SPLAT(1.0f / hsum_avx512(acc));

		for (i = 0; i < body; i += 16)
			_mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), e));
		if (i < n)
			_mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), e));
	}
}

/*
 * Attention, AVX-512: K transposed once per head into scratch (d rows of Tp
 * = T rounded up to 16, zero padded), then query rows in groups of up to
 * ATT_ROWS_AVX512: their scores are broadcast-and-FMA along the keys, two
 * vectors of 16 keys at a time, softmax, then their context rows
 * broadcast-and-FMA along the head's columns, two vectors at a time.  A
 * group keeps 2 x rows independent chains of FMAs in flight where the AVX2
 * code, a row at a time, waits on the latency of one to four.  Each score
 * and each output is one chain in order of c or of the keys, whatever the
 * group, so a row's result does not depend on its neighbours.  d must be a
 * multiple of 16; other widths take the AVX2 code.
 */
static inline __attribute__((always_inline)) AVX512 void
attention_rows_avx512(const int rows, const float *q, const float *kt, const float *v,
					  int ld, int T, int Tp, int d, float scale, float *o, int ldo,
					  float *s)
{
	__m512		a0[ATT_ROWS_AVX512],
				a1[ATT_ROWS_AVX512];

	/* scores: s[r][j] = scale sum_c q[r][c] kt[c][j], 32 keys at a time */
	for (int j = 0; j < Tp; j += 32)
	{
		int			two = j + 16 < Tp;

#pragma GCC unroll 8
		for (int r = 0; r < rows; r++)
			a0[r] = a1[r] = _mm512_setzero_ps();
		for (int c = 0; c < d; c++)
		{
			__m512		k0 = _mm512_loadu_ps(kt + (size_t) c * Tp + j);
			__m512		k1 = two ? _mm512_loadu_ps(kt + (size_t) c * Tp + j + 16) : k0;

#pragma GCC unroll 8
			for (int r = 0; r < rows; r++)
			{
				__m512		b = _mm512_set1_ps(q[(size_t) r * ld + c]);

				a0[r] = _mm512_fmadd_ps(b, k0, a0[r]);
				a1[r] = _mm512_fmadd_ps(b, k1, a1[r]);
			}
		}
#pragma GCC unroll 8
		for (int r = 0; r < rows; r++)
		{
			_mm512_storeu_ps(s + (size_t) r * Tp + j, _mm512_mul_ps(a0[r], SPLAT(scale)));
			if (two)
				_mm512_storeu_ps(s + (size_t) r * Tp + j + 16, _mm512_mul_ps(a1[r], SPLAT(scale)));
		}
	}
	softmax_rows_avx512(s, rows, T, Tp);

	/* context: o[r][c] = sum_t s[r][t] v[t][c], 32 columns at a time */
	for (int c = 0; c < d; c += 32)
	{
		int			two = c + 16 < d;

#pragma GCC unroll 8
		for (int r = 0; r < rows; r++)
			a0[r] = a1[r] = _mm512_setzero_ps();
		for (int t = 0; t < T; t++)
		{
			__m512		v0 = _mm512_loadu_ps(v + (size_t) t * ld + c);
			__m512		v1 = two ? _mm512_loadu_ps(v + (size_t) t * ld + c + 16) : v0;

#pragma GCC unroll 8
			for (int r = 0; r < rows; r++)
			{
				__m512		b = _mm512_set1_ps(s[(size_t) r * Tp + t]);

				a0[r] = _mm512_fmadd_ps(b, v0, a0[r]);
				a1[r] = _mm512_fmadd_ps(b, v1, a1[r]);
			}
		}
#pragma GCC unroll 8
		for (int r = 0; r < rows; r++)
		{
			_mm512_storeu_ps(o + (size_t) r * ldo + c, a0[r]);
			if (two)
				_mm512_storeu_ps(o + (size_t) r * ldo + c + 16, a1[r]);
		}
	}
}

AVX512 void
attention_avx512(const float *q, const float *k, const float *v, int ld,
				 int T, int d, float scale, float *o, int ldo, float *scratch)
{
	int			Tp = (T + 15) & ~15;
	float	   *kt = scratch;
	float	   *s = scratch + (size_t) d * Tp;

	if (d % 16 != 0)
	{
		attention_avx2(q, k, v, ld, T, d, scale, o, ldo, scratch);
		return;
	}
	for (int j = 0; j < T; j++)
		for (int c = 0; c < d; c++)
			kt[(size_t) c * Tp + j] = k[(size_t) j * ld + c];
	for (int c = 0; c < d; c++)
		for (int j = T; j < Tp; j++)
			kt[(size_t) c * Tp + j] = 0.0f;

	for (int i = 0; i < T; i += ATT_ROWS_AVX512)
	{
		const float *qi = q + (size_t) i * ld;
		float	   *oi = o + (size_t) i * ldo;

		switch (T - i < ATT_ROWS_AVX512 ? T - i : ATT_ROWS_AVX512)
		{
#define ROWS(R) case R: attention_rows_avx512(R, qi, kt, v, ld, T, Tp, d, scale, oi, ldo, s); break;
				ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8)
#undef ROWS
		}
	}
}

/* where 16 outputs of row r, column j of a tile start: c's values, or bias
 * (+ residual) as fill_rows_avx512 sums them (out: ops.h BertLinearOut) */
static inline __attribute__((always_inline)) AVX512 __m512
out_from16_avx512(const float *c, const BertLinearOut *out, int r, int j)
{
	if (out == NULL || out->bias == NULL)
		return _mm512_loadu_ps(c);
	if (out->residual == NULL)
		return _mm512_loadu_ps(out->bias + j);
	return _mm512_add_ps(_mm512_loadu_ps(out->bias + j),
						 _mm512_loadu_ps(out->residual + (size_t) r * out->ldr + j));
}

/*
 * The F16P tile, 16 wide: rows x panels accumulators (12 x 2 or 16 x 1) of
 * 16 outputs each in registers; per step of t, each panel's 16 halves
 * become one vector of floats and each row's x[r][t] is broadcast into one
 * FMA with each.  The AVX2 tile needs two FMAs per panel, row and step and
 * reuses a widened panel row 6 times; this one needs one and reuses each 12
 * or 16 times, each broadcast twice (bench/linear: 12 x 2 beat 16 x 1 by
 * 10-15 %, at 150-215 GFLOP/s on one Zen 5 core, from 26 rows on).
 */
static inline __attribute__((always_inline)) AVX512 void
f16_tile_rows_avx512(const int rows, const int panels, int k, const float *x, int ldx,
					 const uint16_t *panel, const BertLinearOut *out, float *c, int ldc)
{
	__m512		acc[F16_TILE_ROWS1_AVX512][F16_TILE_PANELS];
	const uint16_t *p1 = panel + (size_t) k * BERT_F16P_PANEL;
	const uint16_t *next = panel + (size_t) panels * k * BERT_F16P_PANEL;

#pragma GCC unroll 16
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
		for (int p = 0; p < panels; p++)
			acc[r][p] = out_from16_avx512(c + (size_t) r * ldc + p * BERT_F16P_PANEL, out, r,
										  p * BERT_F16P_PANEL);
	for (int t = 0; t < k; t++)
	{
		__m512		w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (panel + (size_t) t * BERT_F16P_PANEL)));
		__m512		w1 = panels > 1 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p1 + (size_t) t * BERT_F16P_PANEL))) : w0;

		_mm_prefetch((const char *) (next + (size_t) t * 32), _MM_HINT_T1);

#pragma GCC unroll 16
		for (int r = 0; r < rows; r++)
		{
			__m512		a = _mm512_set1_ps(x[(size_t) r * ldx + t]);

			acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
			if (panels > 1)
				acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
		}
	}
#pragma GCC unroll 16
	for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
		for (int p = 0; p < panels; p++)
			_mm512_storeu_ps(c + (size_t) r * ldc + p * BERT_F16P_PANEL,
							 out != NULL && out->gelu ? gelu_pieces_avx512(acc[r][p]) : acc[r][p]);
}

/* rows cut into as few tiles as fit, of sizes as even as can be (26 = 9 + 9 + 8) */
AVX512 void
f16_tile_avx512(int rows, int k, const float *x, int ldx, const uint16_t *panel,
				int panels, const BertLinearOut *out, float *c, int ldc)
{
	int			most = panels > 1 ? F16_TILE_ROWS_AVX512 : F16_TILE_ROWS1_AVX512;
	int			tiles = (rows + most - 1) / most;
	int			r = 0;
	BertLinearOut at;

	for (int i = 0; i < tiles; i++)
	{
		int			n = rows / (tiles - i) + (rows % (tiles - i) != 0);
		const BertLinearOut *op = linear_out_at(out, &at, r, 0);

		if (panels > 1)
			switch (n)
			{
#define TILE(R) case R: f16_tile_rows_avx512(R, 2, k, x, ldx, panel, op, c, ldc); break;
					TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
					TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
			}
		else
			switch (n)
			{
#define TILE(R) case R: f16_tile_rows_avx512(R, 1, k, x, ldx, panel, op, c, ldc); break;
					TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8)
					TILE(9) TILE(10) TILE(11) TILE(12) TILE(13) TILE(14) TILE(15) TILE(16)
#undef TILE
			}
		rows -= n;
		r += n;
		x += (size_t) n * ldx;
		c += (size_t) n * ldc;
	}
}

AVX512 void
f16_widen16_avx512(const uint16_t *h, float *f)
{
	_mm512_storeu_ps(f, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) h)));
}

/* One row of activations for Q8P products: quantize_rows8_avx2, 16 wide,
 * the clamp by max and min, the bytes written by vpmovdb; q gets in4
 * bytes, 0 past k. */
static AVX512 void
quantize_row8_avx512(const float *xr, int k, int in4, const float *mult, uint8_t *q,
					 int32_t *zero, float *scale)
{
	int			body = k & ~15;
	__mmask16	m = tail_avx512(k - body);
	__m512		vlo = _mm512_setzero_ps(),
				vhi = _mm512_setzero_ps(),
				vinv;
	__m512i		vz;
	float		lo,
				hi,
				inv;
	int			i;

#define Y16(at) (mult ? _mm512_mul_ps(_mm512_loadu_ps(xr + (at)), _mm512_loadu_ps(mult + (at))) \
				 : _mm512_loadu_ps(xr + (at)))
#define Y16M(at) (mult ? _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + (at)), _mm512_maskz_loadu_ps(m, mult + (at))) \
				  : _mm512_maskz_loadu_ps(m, xr + (at)))
	/* y first: MINPS and MAXPS return their second operand if either is NaN */
	for (i = 0; i < body; i += 16)
	{
		__m512		y = Y16(i);

		vlo = _mm512_min_ps(y, vlo);
		vhi = _mm512_max_ps(y, vhi);
	}
	if (i < k)
	{
		__m512		y = Y16M(i);

		vlo = _mm512_min_ps(y, vlo);
		vhi = _mm512_max_ps(y, vhi);
	}
	lo = -hmax_avx512(_mm512_sub_ps(_mm512_setzero_ps(), vlo));
	hi = hmax_avx512(vhi);
	inv = q8p_scale_zero(lo, hi, scale, zero);
	vinv = SPLAT(inv);
	vz = _mm512_set1_epi32(*zero);
#define Q16(y) _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps((y), vinv)), vz), \
											 _mm512_setzero_si512()), _mm512_set1_epi32(255))
	for (i = 0; i < body; i += 16)
		_mm_storeu_si128((__m128i *) (q + i), _mm512_cvtepi32_epi8(Q16(Y16(i))));
	if (i < k)
		_mm512_mask_cvtepi32_storeu_epi8(q + i, m, Q16(Y16M(i)));
#undef Q16
#undef Y16
#undef Y16M
	for (i = k; i < in4; i++)
		q[i] = 0;
}

/* One row of Q16P activations: q16_inv and q16_value's steps, 16 at a time. */
static AVX512 void
quantize_row16_avx512(const float *xr, int k, int in4, int16_t *q, float *scale)
{
	__m512		vmax = _mm512_setzero_ps(),
				vinv,
				vx,
				vnx;
	float		inv,
				xmax = (float) bcore_q16_xmax(k);
	int			i;

	/* |x| first: MAXPS returns its second operand if either is NaN */
	for (i = 0; i < k; i += 16)
	{
		__mmask16	m = k - i >= 16 ? 0xFFFF : (__mmask16) ((1u << (k - i)) - 1);

		vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(m, xr + i)), vmax);
	}
	inv = q16_inv(hmax_avx512(vmax), k, scale);
	vinv = SPLAT(inv);
	vx = SPLAT(xmax);
	vnx = SPLAT(-xmax);
	for (i = 0; i < in4; i += 16)
	{
		__mmask16	m = k - i >= 16 ? 0xFFFF : k > i ? (__mmask16) ((1u << (k - i)) - 1) : 0,
					mo = in4 - i >= 16 ? 0xFFFF : (__mmask16) ((1u << (in4 - i)) - 1);
		__m512		y = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + i), vinv);

		y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, y, _CMP_ORD_Q), y);	/* NaN to 0 */
		y = _mm512_min_ps(_mm512_max_ps(y, vnx), vx);
		_mm512_mask_cvtepi32_storeu_epi16(q + i, mo, _mm512_cvtps_epi32(y));
	}
}

AVX512 void
quantize_rows16_avx512(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale)
{
	q16_quantize_chunks(x, rows, k, ldx, xq, scale, quantize_row16_avx512);
}

/* Activations for Q8P products, a chunk of rows at a time (q8p_place_chunk). */
AVX512 void
quantize_rows8_avx512(const float *x, int rows, int k, int ldx, const float *mult,
					  uint8_t *xq, int32_t *zero, float *scale)
{
	q8p_quantize_chunks(x, rows, k, ldx, mult, xq, zero, scale, quantize_row8_avx512);
}

/*
 * The Q8P tile on AVX512-VNNI: rows x panels (12 x 2 at most) accumulators
 * of 16 channels; per group of 4 inputs, each row's 4 activations,
 * broadcast, meet each panel's 64 bytes in one vpdpbusd (64 products);
 * the next panels are prefetched into L2 meanwhile.  The finish is
 * q8p_tile_scalar's: the exact integer, one conversion, one fused
 * multiply-add.
 */
#define AVX512VNNI __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

static inline int32_t
load4_avx512(const uint8_t *p)
{
	int32_t		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* c[0 .. 16) (row r, column j of the tile) = from + sx sw (acc - zero
 * wsum): the exact integer, one conversion, one product of the scales, one
 * fused multiply-add; from: out_from16_avx512 (GELU is q8p_unit's) */
static inline __attribute__((always_inline)) AVX512VNNI void
q8p_finish16_avx512(float *c, __m512i acc, __m512i zero, __m512 sx, const float *wsum,
					const float *sw, const BertLinearOut *out, int r, int j)
{
	__m512i		off = _mm512_mullo_epi32(zero, _mm512_cvtps_epi32(_mm512_loadu_ps(wsum)));
	__m512		d = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, off));
	__m512		v = _mm512_fmadd_ps(d, _mm512_mul_ps(sx, _mm512_loadu_ps(sw)),
									out_from16_avx512(c, out, r, j));

	_mm512_storeu_ps(c, v);
}

/*
 * acc + the dot products of a's and w's 4-byte groups (vpdpbusd), written
 * out: GCC 12 gives the intrinsic's accumulator a register of its own and
 * copies it in and out around every instruction (3 instructions for 1).
 */
static inline __attribute__((always_inline)) AVX512VNNI __m512i
dpbusd_avx512(__m512i acc, __m512i a, __m512i w)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
	return acc;
}

static inline __attribute__((always_inline)) AVX512VNNI void
q8p_tile_rows_avx512vnni(const int rows, const int panels, int in4, const uint8_t *xq,
						 const int32_t *zero, const float *sx, const int8_t *panel,
						 const float *wsum, const float *sw, const BertLinearOut *out,
						 float *c, int ldc)
{
	/* two arrays, not one of pairs: GCC 12 keeps these in registers */
	__m512i		acc0[Q8P_CHUNK_ROWS],
				acc1[Q8P_CHUNK_ROWS];
	const int8_t *p1 = panel + (size_t) in4 * BERT_Q8P_PANEL;
	const int8_t *next = panel + (size_t) panels * in4 * BERT_Q8P_PANEL;

#pragma GCC unroll 12
	for (int r = 0; r < rows; r++)
		acc0[r] = acc1[r] = _mm512_setzero_si512();
	for (int g = 0; g < in4; g += BERT_Q8P_GROUP)
	{
		__m512i		w0 = _mm512_loadu_si512(panel + (size_t) g * BERT_Q8P_PANEL);
		__m512i		w1 = panels > 1 ? _mm512_loadu_si512(p1 + (size_t) g * BERT_Q8P_PANEL) : w0;

		_mm_prefetch((const char *) (next + (size_t) g * BERT_Q8P_PANEL * panels), _MM_HINT_T1);
		if (panels > 1)
			_mm_prefetch((const char *) (next + (size_t) g * BERT_Q8P_PANEL * panels + 64), _MM_HINT_T1);
#pragma GCC unroll 12
		for (int r = 0; r < rows; r++)
		{
			__m512i		a = _mm512_set1_epi32(load4_avx512(xq + (size_t) g * rows + r * 4));

			acc0[r] = dpbusd_avx512(acc0[r], a, w0);
			if (panels > 1)
				acc1[r] = dpbusd_avx512(acc1[r], a, w1);
		}
		/* the panels' registers stay theirs to the group's end: else GCC 12
		 * may run a big tile's last product in one of them and move its
		 * accumulator in and out (check-kernel-loops; a small tile has
		 * registers to spare, and there this moves the panels instead) */
		if (rows > 4)
			__asm__("" : : "v"(w0), "v"(w1));
	}
#pragma GCC unroll 12
	for (int r = 0; r < rows; r++)
	{
		__m512i		z = _mm512_set1_epi32(zero[r]);
		__m512		s = SPLAT(sx[r]);

		q8p_finish16_avx512(c + (size_t) r * ldc, acc0[r], z, s, wsum, sw, out, r, 0);
		if (panels > 1)
			q8p_finish16_avx512(c + (size_t) r * ldc + BERT_Q8P_PANEL, acc1[r], z, s,
								wsum + BERT_Q8P_PANEL, sw + BERT_Q8P_PANEL, out, r, BERT_Q8P_PANEL);
	}
}

AVX512VNNI void
q8p_tile_avx512vnni(int rows, int in4, const uint8_t *xq, const int32_t *zero,
					const float *sx, const int8_t *panel, int panels,
					const float *wsum, const float *sw, const BertLinearOut *out,
					float *c, int ldc)
{
	if (panels > 1)
		switch (rows)
		{
#define TILE(R) case R: q8p_tile_rows_avx512vnni(R, 2, in4, xq, zero, sx, panel, wsum, sw, out, c, ldc); break;
				TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
				TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
		}
	else
		switch (rows)
		{
#define TILE(R) case R: q8p_tile_rows_avx512vnni(R, 1, in4, xq, zero, sx, panel, wsum, sw, out, c, ldc); break;
				TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
				TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
		}
}

/*
 * The Q16P tile on AVX512-VNNI: rows x panels (12 x 2 at most)
 * accumulators of 16 channels; per pair of inputs, each row's 2
 * activations, broadcast, meet each panel's 32 int16 in one vpdpwssd (32
 * products, as many as a float tile's two fused multiply-adds).  The finish
 * is q16_tile_scalar's: the exact integer, one conversion, one fused
 * multiply-add.
 */

/* acc + the dot products of a's and w's 16-bit pairs (vpdpwssd), written
 * out: see dpbusd_avx512 */
static inline __attribute__((always_inline)) AVX512VNNI __m512i
dpwssd_avx512(__m512i acc, __m512i a, __m512i w)
{
	__asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
	return acc;
}

/* c[0 .. 16) = from + (sx sw) acc (GELU is q8p_unit's) */
static inline __attribute__((always_inline)) AVX512VNNI void
q16_finish16_avx512(float *c, __m512i acc, __m512 sx, const float *sw,
					const BertLinearOut *out, int r, int j)
{
	__m512		v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(sx, _mm512_loadu_ps(sw)),
									out_from16_avx512(c, out, r, j));

	_mm512_storeu_ps(c, v);
}

static inline __attribute__((always_inline)) AVX512VNNI void
q16_tile_rows_avx512vnni(const int rows, const int panels, int in4, const int16_t *x16,
						 const float *sx, const int16_t *panel, const float *sw,
						 const BertLinearOut *out, float *c, int ldc)
{
	__m512i		acc0[Q8P_CHUNK_ROWS],
				acc1[Q8P_CHUNK_ROWS];
	const int16_t *p1 = panel + (size_t) in4 * BERT_Q8P_PANEL;
	const int16_t *next = panel + (size_t) panels * in4 * BERT_Q8P_PANEL;

#pragma GCC unroll 12
	for (int r = 0; r < rows; r++)
		acc0[r] = acc1[r] = _mm512_setzero_si512();
	for (int p = 0; p < in4 / 2; p++)
	{
		__m512i		w0 = _mm512_loadu_si512(panel + (size_t) p * 2 * BERT_Q8P_PANEL);
		__m512i		w1 = panels > 1 ? _mm512_loadu_si512(p1 + (size_t) p * 2 * BERT_Q8P_PANEL) : w0;

		_mm_prefetch((const char *) (next + (size_t) p * 2 * BERT_Q8P_PANEL * panels), _MM_HINT_T1);
		if (panels > 1)
			_mm_prefetch((const char *) (next + (size_t) p * 2 * BERT_Q8P_PANEL * panels + 32), _MM_HINT_T1);
#pragma GCC unroll 12
		for (int r = 0; r < rows; r++)
		{
			int32_t		pair;
			__m512i		a;

			memcpy(&pair, x16 + ((size_t) p * rows + r) * 2, sizeof(pair));
			a = _mm512_set1_epi32(pair);
			acc0[r] = dpwssd_avx512(acc0[r], a, w0);
			if (panels > 1)
				acc1[r] = dpwssd_avx512(acc1[r], a, w1);
		}
		/* as in the Q8P tile */
		if (rows > 4)
			__asm__("" : : "v"(w0), "v"(w1));
	}
#pragma GCC unroll 12
	for (int r = 0; r < rows; r++)
	{
		__m512		s = SPLAT(sx[r]);

		q16_finish16_avx512(c + (size_t) r * ldc, acc0[r], s, sw, out, r, 0);
		if (panels > 1)
			q16_finish16_avx512(c + (size_t) r * ldc + BERT_Q8P_PANEL, acc1[r], s,
								sw + BERT_Q8P_PANEL, out, r, BERT_Q8P_PANEL);
	}
}

AVX512VNNI void
q16_tile_avx512vnni(int rows, int in4, const int16_t *x16, const float *sx,
					const int16_t *panel, int panels, const float *sw,
					const BertLinearOut *out, float *c, int ldc)
{
	if (panels > 1)
		switch (rows)
		{
#define TILE(R) case R: q16_tile_rows_avx512vnni(R, 2, in4, x16, sx, panel, sw, out, c, ldc); break;
				TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
				TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
		}
	else
		switch (rows)
		{
#define TILE(R) case R: q16_tile_rows_avx512vnni(R, 1, in4, x16, sx, panel, sw, out, c, ldc); break;
				TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
				TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#undef TILE
		}
}

#endif							/* BERT_SIMD */
