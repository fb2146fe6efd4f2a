/*
 * ops_impl.h — inside the kernels, not part of the core's API (that is
 * ops.h): the table of variants ops.c dispatches to, the variants each
 * instruction-set file defines for it, and what those files share.
 *
 *   ops.c         portable variants, the tables, dispatch, bcore_* entry points
 *   ops_avx2.c    AVX2 + FMA + F16C variants
 *   ops_avx512.c  AVX-512 variants, the AVX2 code 16 wide
 *   blas.c        BLIS set-up and the CPU's features
 */
#ifndef BERT_OPS_IMPL_H
#define BERT_OPS_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"

/* One set of kernels; ops.c holds one table per instruction set. */
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
	/* the GELU the products fuse (half-precision, Q8P, Q16P), and its erf */
	void		(*fused_gelu) (float *x, size_t n);
	void		(*fused_erf) (float *x, size_t n);
	void		(*attention) (const float *q, const float *k, const float *v, int ld,
							  int T, int d, float scale, float *o, int ldo, float *scratch);
	void		(*quantize_rows) (const float *x, int rows, int k, int ldx,
								  int16_t *xq, float *scale);
	void		(*linear_i16) (int m, int n, int k, const int16_t *xq, const float *sx,
							   const int16_t *wq, const float *sw, float *c, int ldc);
	/* panels (1 or F16_TILE_PANELS) consecutive F16P panels; out (or
	 * NULL) with bias and residual at the tile's first row and column */
	void		(*f16_tile) (int rows, int k, const float *x, int ldx,
							 const uint16_t *panel, int panels, const BertLinearOut *out,
							 float *c, int ldc);
	void		(*f16_widen16) (const uint16_t *h, float *f);	/* 16 halves */
	void		(*quantize_rows8) (const float *x, int rows, int k, int ldx, const float *mult,
								   uint8_t *xq, int32_t *zero, float *scale);
	void		(*quantize_rows16) (const float *x, int rows, int k, int ldx,
									int16_t *xq, float *scale);
	/* c[r][0 .. 16 panels) of rows r of xq (in4 bytes each), += or as out
	 * (or NULL) says, bias and residual at the tile's first row and column;
	 * not out's GELU: the caller (q8p_unit) runs the variant's own map */
	void		(*q8p_tile) (int rows, int in4, const uint8_t *xq, const int32_t *zero,
							 const float *sx, const int8_t *panel, int panels,
							 const float *wsum, const float *sw, const BertLinearOut *out, float *c, int ldc);
	/* the same on widened weights (ops.h bcore_q8p_widen), activations q -
	 * zero in 16 bits, pairs as ops_impl.h lays them out; NULL if none */
	void		(*q16_tile) (int rows, int in4, const int16_t *x16, const float *sx,
							 const int16_t *panel, int panels, const float *sw,
							 const BertLinearOut *out, float *c, int ldc);
	/* the same product on Q16P weights (every variant has one) */
	void		(*q16p_tile) (int rows, int in4, const int16_t *x16, const float *sx,
							  const int16_t *panel, int panels, const float *sw,
							  const BertLinearOut *out, float *c, int ldc);
	int			f16_blis_rows;	/* bcore_f16_blis_rows() */
} BertKernels;

/* out for the part of a tile from its row r and column j on (NULL stays NULL) */
static inline const BertLinearOut *
linear_out_at(const BertLinearOut *out, BertLinearOut *at, int r, int j)
{
	if (out == NULL)
		return NULL;
	*at = *out;
	if (at->bias != NULL)
		at->bias += j;
	if (at->residual != NULL)
		at->residual += (size_t) r * at->ldr + j;
	return at;
}

/*
 * The variants are linked across files but hidden: not exported from the
 * extension's shared library, and (with -fPIC) not interposable, so the
 * compiler treats calls among them as it treats calls to static functions.
 */
#pragma GCC visibility push(hidden)

/* portable variants the SIMD ones fall back on (ops.c) */
void		attention_scalar(const float *q, const float *k, const float *v, int ld,
							 int T, int d, float scale, float *o, int ldo, float *scratch);
void		linear_i16_scalar(int m, int n, int k, const int16_t *xq, const float *sx,
							  const int16_t *wq, const float *sw, float *c, int ldc);
void		q8p_tile_scalar(int rows, int in4, const uint8_t *xq, const int32_t *zero,
							const float *sx, const int8_t *panel, int panels,
							const float *wsum, const float *sw, const BertLinearOut *out, float *c, int ldc);

#if defined(__GNUC__) && defined(__x86_64__)
#define BERT_SIMD 1

/* ops_avx2.c */
void		gelu_map_avx2(float *x, size_t n);
void		gelu_tanh_map_avx2(float *x, size_t n);
void		tanh_map_avx2(float *x, size_t n);
void		erf_map_avx2(float *x, size_t n);
void		exp_map_avx2(float *x, size_t n);
void		fill_rows_avx2(float *x, int rows, int n, const float *bias,
						   const float *residual);
void		layernorm_avx2(float *x, int rows, int n, const float *g,
						   const float *b, float eps);
void		softmax_rows_avx2(float *x, int rows, int n, int ld);
void		attention_avx2(const float *q, const float *k, const float *v, int ld,
						   int T, int d, float scale, float *o, int ldo, float *scratch);
void		quantize_rows_avx2(const float *x, int rows, int k, int ldx,
							   int16_t *xq, float *scale);
void		linear_i16_avx2(int m, int n, int k, const int16_t *xq, const float *sx,
							const int16_t *wq, const float *sw, float *c, int ldc);
void		f16_tile_avx2(int rows, int k, const float *x, int ldx,
						  const uint16_t *panel, int panels, const BertLinearOut *out,
						  float *c, int ldc);
void		f16_widen16_avx2(const uint16_t *h, float *f);
void		quantize_rows8_avx2(const float *x, int rows, int k, int ldx, const float *mult,
								uint8_t *xq, int32_t *zero, float *scale);
void		q8p_tile_avx2(int rows, int in4, const uint8_t *xq, const int32_t *zero,
						  const float *sx, const int8_t *panel, int panels,
						  const float *wsum, const float *sw, const BertLinearOut *out, float *c, int ldc);
void		quantize_rows16_avx2(const float *x, int rows, int k, int ldx,
								 int16_t *xq, float *scale);
void		q16_tile_avx2(int rows, int in4, const int16_t *x16, const float *sx,
						  const int16_t *panel, int panels, const float *sw,
						  const BertLinearOut *out, float *c, int ldc);
void		q8p_tile_avxvnni(int rows, int in4, const uint8_t *xq, const int32_t *zero,
							 const float *sx, const int8_t *panel, int panels,
							 const float *wsum, const float *sw, const BertLinearOut *out, float *c, int ldc);

/* ops_avx512.c: the same kernels where a 16-wide form exists; the table in
 * ops.c takes the AVX2 form for the others */
void		gelu_map_avx512(float *x, size_t n);
void		gelu_tanh_map_avx512(float *x, size_t n);
void		tanh_map_avx512(float *x, size_t n);
void		erf_map_avx512(float *x, size_t n);
void		erf_pieces_map_avx512(float *x, size_t n);
void		gelu_pieces_map_avx512(float *x, size_t n);
void		exp_map_avx512(float *x, size_t n);
void		fill_rows_avx512(float *x, int rows, int n, const float *bias,
							 const float *residual);
void		layernorm_avx512(float *x, int rows, int n, const float *g,
							 const float *b, float eps);
void		softmax_rows_avx512(float *x, int rows, int n, int ld);
void		attention_avx512(const float *q, const float *k, const float *v, int ld,
							 int T, int d, float scale, float *o, int ldo, float *scratch);
void		f16_tile_avx512(int rows, int k, const float *x, int ldx,
							const uint16_t *panel, int panels, const BertLinearOut *out,
							float *c, int ldc);
void		f16_widen16_avx512(const uint16_t *h, float *f);
void		quantize_rows8_avx512(const float *x, int rows, int k, int ldx, const float *mult,
								  uint8_t *xq, int32_t *zero, float *scale);
void		quantize_rows16_avx512(const float *x, int rows, int k, int ldx,
								   int16_t *xq, float *scale);
void		q8p_tile_avx512vnni(int rows, int in4, const uint8_t *xq, const int32_t *zero,
								const float *sx, const int8_t *panel, int panels,
								const float *wsum, const float *sw, const BertLinearOut *out, float *c, int ldc);
void		q16_tile_avx512vnni(int rows, int in4, const int16_t *x16, const float *sx,
								const int16_t *panel, int panels, const float *sw,
								const BertLinearOut *out, float *c, int ldc);
#endif							/* x86-64 */

#pragma GCC visibility pop

/*
 * The F16P tile: rows x 16 outputs in registers, at most F16_TILE_ROWS rows
 * at a time (AVX2); bcore_linear_f16 blocks rows in multiples of it and
 * hands a tile up to F16_TILE_PANELS panels side by side.  AVX-512 holds
 * 12 rows x 2 panels (24 of its 32 registers), 16 rows x 1 panel.
 */
#define F16_TILE_ROWS 6

/*
 * Below this many rows the AVX2 tile beats BLIS on widened weights; from
 * it, BLIS's packed path wins (on Zen 3, bench/encode: +20-30 % one
 * sentence a call, level at batches of 60 and 256).  The AVX-512 tile beats
 * BLIS skx at every size (bench/linear on Zen 5: 180-200 against 150-175
 * GFLOP/s at 1024 rows; bench/encode, batches of 256: +10-15 % tokens per
 * CPU second), so it never hands over.
 */
#define F16_BLIS_ROWS_AVX2 512
#define F16_TILE_PANELS 2
#define F16_TILE_ROWS_AVX512 12
#define F16_TILE_ROWS1_AVX512 16

/*
 * Quantised activations for the Q8P products (ops.h): rows in blocks that
 * stay in L2, each block cut into chunks of at most Q8P_CHUNK_ROWS rows,
 * as even as can be (26 = 9 + 9 + 8); a chunk of n rows starts where its
 * first row would (row x in4 bytes) and holds group g of its row r at
 * bytes (g n + r) 4, so that a tile reads the rows it broadcasts from one
 * pointer at fixed offsets (12 row pointers would spill: GCC then keeps the
 * accumulators on the stack).  A tile takes one chunk: at most
 * Q8P_CHUNK_ROWS rows x 2 panels on AVX512-VNNI, 6 rows x 1 panel at a
 * time on AVX-VNNI (16 ymm registers), 2 x 1 on AVX2.
 */
#define Q8P_CHUNK_ROWS 12
#define Q16_TILE_ROWS_AVX2 6
#define Q8P_TILE_ROWS_AVXVNNI 6
#define Q8P_TILE_ROWS_AVX2 2

static inline int
q8p_block_rows(int in4)
{
	int			b = 256 * 1024 / (in4 > 0 ? in4 : 1);

	return b < Q8P_CHUNK_ROWS ? Q8P_CHUNK_ROWS : b / Q8P_CHUNK_ROWS * Q8P_CHUNK_ROWS;
}

/* Chunks of a block of rows, and chunk i's first row (within the block) and rows. */
static inline int
q8p_chunks(int rows)
{
	return (rows + Q8P_CHUNK_ROWS - 1) / Q8P_CHUNK_ROWS;
}

static inline int
q8p_chunk(int rows, int chunks, int i, int *n)
{
	int			base = rows / chunks,
				extra = rows % chunks;

	*n = base + (i < extra);
	return i * base + (i < extra ? i : extra);
}

/* Row r (in4 bytes at q) into its place among rows quantised rows at xq. */
static inline void
q8p_place_row(const uint8_t *q, int rows, int in4, int r, uint8_t *xq);

/* The chunk of row r among rows quantised rows of in4 (bytes or int16):
 * its first row, its rows *n, and r's place in it *at. */
static inline int
q8p_chunk_of(int rows, int in4, int r, int *n, int *at)
{
	int			block = q8p_block_rows(in4),
				b0 = r / block * block,
				left = rows - b0 < block ? rows - b0 : block,
				chunks = q8p_chunks(left),
				i = 0,
				first;

	while ((first = q8p_chunk(left, chunks, i, n)) + *n <= r - b0)
		i++;
	*at = r - b0 - first;
	return b0 + first;
}

/* Where row r of rows quantised rows of in4 bytes goes: its chunk's bytes,
 * the chunk's rows *n; its 4-byte groups then follow at a stride of 4 n. */
static inline size_t
q8p_row_at(int rows, int in4, int r, int *n)
{
	int			at,
				first = q8p_chunk_of(rows, in4, r, n, &at);

	return (size_t) first * in4 + (size_t) at * 4;
}

/* The same for Q16P's 16-bit activations (in4 int16 a row): where row r
 * starts, in int16; its pairs then follow at a stride of 2 n. */
static inline size_t
q16_row_at(int rows, int in4, int r, int *n)
{
	int			at,
				first = q8p_chunk_of(rows, in4, r, n, &at);

	return (size_t) first * in4 + (size_t) at * 2;
}

static inline void
q8p_place_row(const uint8_t *q, int rows, int in4, int r, uint8_t *xq)
{
	int			n;
	uint8_t    *to = xq + q8p_row_at(rows, in4, r, &n);
	size_t		step = (size_t) BERT_Q8P_GROUP * n;

	for (int g = 0; g < in4; g += BERT_Q8P_GROUP, to += step)
		memcpy(to, q + g, BERT_Q8P_GROUP);
}

#ifdef BERT_SIMD
#include <emmintrin.h>

/*
 * A chunk's n quantised rows (row r at q0 + r ldq, in4 bytes each; n from q8p_row_at of
 * its first row) into their place at dst, the chunk's start: group g of
 * row r at bytes (g n + r) 4.  Four rows by four groups at a time, a 4 x 4
 * transpose of 4-byte groups in SSE2 registers, instead of a 4-byte copy
 * per group and row (q8p_place_row: 60 % of quantising a row in perf).
 */
static inline void
q8p_place_chunk(const uint8_t *q0, size_t ldq, int n, int in4, uint8_t *dst)
{
	int			groups = in4 / BERT_Q8P_GROUP,
				g4 = groups & ~3,
				n4 = n & ~3;
	size_t		step = (size_t) n * BERT_Q8P_GROUP;

	for (int r = 0; r < n4; r += 4)
		for (int g = 0; g < g4; g += 4)
		{
			__m128i		a = _mm_loadu_si128((const __m128i *) (q0 + (size_t) r * ldq + g * 4)),
						b = _mm_loadu_si128((const __m128i *) (q0 + (size_t) (r + 1) * ldq + g * 4)),
						c = _mm_loadu_si128((const __m128i *) (q0 + (size_t) (r + 2) * ldq + g * 4)),
						d = _mm_loadu_si128((const __m128i *) (q0 + (size_t) (r + 3) * ldq + g * 4)),
						ab0 = _mm_unpacklo_epi32(a, b), /* a0 b0 a1 b1 */
						ab2 = _mm_unpackhi_epi32(a, b), /* a2 b2 a3 b3 */
						cd0 = _mm_unpacklo_epi32(c, d),
						cd2 = _mm_unpackhi_epi32(c, d);
			uint8_t    *to = dst + ((size_t) g * n + r) * 4;

			_mm_storeu_si128((__m128i *) to, _mm_unpacklo_epi64(ab0, cd0));
			_mm_storeu_si128((__m128i *) (to + step), _mm_unpackhi_epi64(ab0, cd0));
			_mm_storeu_si128((__m128i *) (to + 2 * step), _mm_unpacklo_epi64(ab2, cd2));
			_mm_storeu_si128((__m128i *) (to + 3 * step), _mm_unpackhi_epi64(ab2, cd2));
		}
	/* the rows past a multiple of 4, and the groups past one for the others */
	for (int r = 0; r < n; r++)
		for (int g = r < n4 ? g4 : 0; g < groups; g++)
			memcpy(dst + ((size_t) g * n + r) * 4, q0 + (size_t) r * ldq + g * 4, 4);
}

/* one row of quantize_rows8 (row: xr, k, in4, mult, q, zero, scale): q
 * gets its in4 bytes, 0 past k */
typedef void (*Q8pRowFn) (const float *xr, int k, int in4, const float *mult, uint8_t *q,
						  int32_t *zero, float *scale);

/* quantize_rows8 a chunk of rows at a time: each row by row(), then the
 * chunk placed by q8p_place_chunk */
static inline void
q8p_quantize_chunks(const float *x, int rows, int k, int ldx, const float *mult,
					uint8_t *xq, int32_t *zero, float *scale, Q8pRowFn row)
{
	int			in4 = (int) bcore_q8p_in((uint32_t) k);
	uint8_t		q[Q8P_CHUNK_ROWS][BERT_QK_MAX];

	for (int r0 = 0, n; r0 < rows; r0 += n)
	{
		q8p_row_at(rows, in4, r0, &n);
		for (int r = 0; r < n; r++)
			row(x + (size_t) (r0 + r) * ldx, k, in4, mult, q[r], &zero[r0 + r], &scale[r0 + r]);
		q8p_place_chunk(&q[0][0], BERT_QK_MAX, n, in4, xq + (size_t) r0 * in4);
	}
}

/* one row of quantize_rows16 (row: xr, k, in4): q gets its in4 int16, 0 past k */
typedef void (*Q16RowFn) (const float *xr, int k, int in4, int16_t *q, float *scale);

/*
 * quantize_rows16 a chunk of rows at a time: each row by row(), then the
 * chunk placed as q8p_place_chunk places bytes, a pair of int16 being a
 * group of 4 bytes
 */
static inline void
q16_quantize_chunks(const float *x, int rows, int k, int ldx, int16_t *xq, float *scale,
					Q16RowFn row)
{
	int			in4 = (int) bcore_q8p_in((uint32_t) k);
	int16_t		q[Q8P_CHUNK_ROWS][BERT_QK_MAX];

	for (int r0 = 0, n; r0 < rows; r0 += n)
	{
		q8p_row_at(rows, in4, r0, &n);
		for (int r = 0; r < n; r++)
			row(x + (size_t) (r0 + r) * ldx, k, in4, q[r], &scale[r0 + r]);
		q8p_place_chunk((const uint8_t *) &q[0][0], sizeof(q[0]), n, 2 * in4,
						(uint8_t *) (xq + (size_t) r0 * in4));
	}
}
#endif

/*
 * Quantising a Q16P activation, the same steps in every variant: inv from
 * the row's largest magnitude (NaN passed over), scale = amax / xmax; each
 * value times inv, NaN to 0, clamped to +-xmax, rounded to nearest even.
 */
static inline float
q16_inv(float amax, int k, float *scale)
{
	float		xmax = (float) bcore_q16_xmax(k);

	*scale = amax / xmax;
	return amax > 0.0f ? xmax / amax : 0.0f;
}

static inline int16_t
q16_value(float x, float inv, float xmax)
{
	float		y = x * inv;

	y = y == y ? y : 0.0f;
	y = y > xmax ? xmax : y < -xmax ? -xmax : y;
	return (int16_t) lrintf(y);
}

/*
 * Activations for widened weights (ops.h bcore_q8p_widen): q - zero as
 * int16, chunk by chunk as the bytes (a chunk of n rows starts at int16
 * row x in4), pair p of its row r at int16 (p n + r) 2: a tile broadcasts
 * each row's pair from one pointer at fixed offsets, as with the bytes.
 */

/* Widens [lo, hi] by y = x (times mult) for the inputs from .. k - 1. */
static inline void
q8p_range(const float *xr, const float *mult, int from, int k, float *lo, float *hi)
{
	for (int i = from; i < k; i++)
	{
		float		y = mult ? xr[i] * mult[i] : xr[i];

		*lo = y < *lo ? y : *lo;
		*hi = y > *hi ? y : *hi;
	}
}

/*
 * A row's scale and zero point from its range [lo, hi] (0 inside), the
 * same roundings in every variant; returns 255 / (hi - lo), 0 for an
 * all-zero row.
 */
static inline float
q8p_scale_zero(float lo, float hi, float *scale, int32_t *zero)
{
	float		inv = hi > lo ? 255.0f / (hi - lo) : 0.0f;

	*scale = (hi - lo) / 255.0f;
	*zero = (int32_t) lrintf(-lo * inv);
	return inv;
}

/* query rows one AVX-512 attention step takes together (16 accumulators) */
#define ATT_ROWS_AVX512 8

#define GELU_TANH_C 0.7978845608028654f	/* sqrt(2 / pi) */
#define GELU_TANH_A 0.044715f

/*
 * The approximations, shared by the SIMD variants.  Errors against glibc
 * over all floats: test/unit/test_ops.c and bench/erf_sweep.c.
 *
 * erf(x) = x + x P(x^2)                  for |x| < 0.921875
 *        = 1 - exp(Q(|x| - 0.921875))    up to 3.92, where erff reaches 1
 * with the sign of x.  Written as x + x P, the small-x result is rounded
 * once, not twice; Q, a fit of log(erfc), keeps erf close to 1 exact.
 */
/*
 * erf on AVX-512 (ops_avx512.c): |x| in pieces of 1/ERF_TABLE_PER up to
 * ERF_TABLE_N / ERF_TABLE_PER (4: above, erf rounds to 1), each piece a
 * polynomial in |x| - its centre (the first, |x| + |x| q(|x|): its c0
 * row entry, 0, stands for the |x| added), whose coefficients two
 * vpermt2ps pick per lane from these rows:
 * one polynomial of degree 5 instead of the two branches below (7 + 8
 * terms and an exp) that every lane computes on narrower vectors.
 */
/* bench/fit_poly erf-table: erf on [0, 4) in 32 pieces, degree 5, relative max error 5.322e-10 before rounding to float */
#define ERF_TABLE_N 32
#define ERF_TABLE_PER 8
#define ERF_TABLE_DEGREE 5
#define ERF_TABLE { \
	{0.000000000e+00f, 2.091176808e-01f, 3.414686322e-01f, 4.638981223e-01f, \
	 5.736744404e-01f, 6.690846682e-01f, 7.494640350e-01f, 8.151023984e-01f, \
	 8.670582771e-01f, 9.069217443e-01f, 9.365685582e-01f, 9.579405785e-01f, \
	 9.728746414e-01f, 9.829897285e-01f, 9.896306396e-01f, 9.938567877e-01f, \
	 9.964637756e-01f, 9.980224967e-01f, 9.989259243e-01f, 9.994334579e-01f, \
	 9.997098446e-01f, 9.998556972e-01f, 9.999303222e-01f, 9.999673367e-01f, \
	 9.999851584e-01f, 9.999934435e-01f, 9.999971986e-01f, 9.999988079e-01f, \
	 9.999995232e-01f, 9.999998212e-01f, 9.999999404e-01f, 1.000000000e+00f}, \
	{1.283791661e-01f, 1.089398861e+00f, 1.023395419e+00f, 9.318121672e-01f, \
	 8.223213553e-01f, 7.033687234e-01f, 5.831131339e-01f, 4.685445726e-01f, \
	 3.649028838e-01f, 2.754431665e-01f, 2.015185207e-01f, 1.428980231e-01f, \
	 9.821227938e-02f, 6.542348117e-02f, 4.224057496e-02f, 2.643347718e-02f, \
	 1.603271440e-02f, 9.425146505e-03f, 5.370286759e-03f, 2.965753898e-03f, \
	 1.587453648e-03f, 8.235601126e-04f, 4.141120298e-04f, 2.018220839e-04f, \
	 9.533400589e-05f, 4.364709093e-05f, 1.936827903e-05f, 8.330192941e-06f, \
	 3.472541266e-06f, 1.403033593e-06f, 5.494358675e-07f, 2.085423461e-07f}, \
	{2.232349061e-07f, -2.042620033e-01f, -3.198106885e-01f, -4.076673985e-01f, \
	 -4.625553787e-01f, -4.835657179e-01f, -4.737792909e-01f, -4.392605424e-01f, \
	 -3.877094090e-01f, -3.270889223e-01f, -2.644932568e-01f, -2.054160982e-01f, \
	 -1.534568369e-01f, -1.104022264e-01f, -7.656110078e-02f, -5.121488124e-02f, \
	 -3.306746483e-02f, -2.061748691e-02f, -1.241876092e-02f, -7.228999399e-03f, \
	 -4.067828413e-03f, -2.213301137e-03f, -1.164678135e-03f, -5.928444443e-04f, \
	 -2.919553954e-04f, -1.391221012e-04f, -6.415571988e-05f, -2.863411282e-05f, \
	 -1.237044671e-05f, -5.173446425e-06f, -2.094609499e-06f, -8.210828355e-07f}, \
	{-3.761395216e-01f, -3.376014233e-01f, -2.745056450e-01f, -1.917019337e-01f, \
	 -1.006495282e-01f, -1.282247622e-02f, 6.225899607e-02f, 1.183559895e-01f, \
	 1.529929489e-01f, 1.671308130e-01f, 1.642586142e-01f, 1.492243260e-01f, \
	 1.271134168e-01f, 1.023946851e-01f, 7.843117416e-02f, 5.734144524e-02f, \
	 4.012358561e-02f, 2.692550607e-02f, 1.735553890e-02f, 1.075857412e-02f, \
	 6.420081016e-03f, 3.690995509e-03f, 2.045745729e-03f, 1.093720202e-03f, \
	 5.643018521e-04f, 2.810879087e-04f, 1.352224645e-04f, 6.284382107e-05f, \
	 2.822265378e-05f, 1.225055166e-05f, 5.140735539e-06f, 2.085864935e-06f}, \
	{2.575862163e-04f, 9.954809397e-02f, 1.492231339e-01f, 1.775238663e-01f, \
	 1.822197884e-01f, 1.653935611e-01f, 1.325244159e-01f, 9.092604369e-02f, \
	 4.802129418e-02f, 9.907248430e-03f, -1.949989796e-02f, -3.865936026e-02f, \
	 -4.805529490e-02f, -4.952630028e-02f, -4.552022740e-02f, -3.846542165e-02f, \
	 -3.035981953e-02f, -2.259182557e-02f, -1.594586112e-02f, -1.071992330e-02f, \
	 -6.884658244e-03f, -4.233434331e-03f, -2.496737521e-03f, -1.414213330e-03f, \
	 -7.701871218e-04f, -4.036528990e-04f, -2.037397790e-04f, -9.909996879e-05f, \
	 -4.647661262e-05f, -2.102611870e-05f, -9.179548215e-06f, -3.868769454e-06f}, \
	{1.110890359e-01f, 9.397678077e-02f, 6.385283172e-02f, 2.659399249e-02f, \
	 -1.065669302e-02f, -4.149065167e-02f, -6.160675734e-02f, -6.947281957e-02f, \
	 -6.619132310e-02f, -5.475213006e-02f, -3.897375986e-02f, -2.249910310e-02f, \
	 -8.084831759e-03f, 2.707479056e-03f, 9.455978870e-03f, 1.258520875e-02f, \
	 1.298549399e-02f, 1.166793425e-02f, 9.524778463e-03f, 7.210144307e-03f, \
	 5.120508838e-03f, 3.436669940e-03f, 2.190597588e-03f, 1.330806641e-03f, \
	 7.725528558e-04f, 4.294086830e-04f, 2.288895776e-04f, 1.171501717e-04f, \
	 5.763296213e-05f, 2.727616993e-05f, 1.242781582e-05f, 5.454722668e-06f} \
}

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

#ifdef BERT_SIMD
#include <immintrin.h>

/*
 * The last steps of the horizontal sums and maxima of both SIMD variants
 * (AVX-512 first adds its two 256-bit halves): a fixed order of
 * operations, so that sums are reproducible.
 */
static inline __attribute__((target("avx"))) float
hsum256_ps(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline __attribute__((target("avx"))) float
hmax256_ps(__m256 v)
{
	__m128		s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

static inline __attribute__((target("avx"))) double
hsum256_pd(__m256d v)
{
	__m128d		s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));

	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#endif							/* BERT_SIMD */

#endif							/* BERT_OPS_IMPL_H */
