/*
 * kernel_bits.c — a hash of the output bytes of every public kernel of
 * src/core/ops.h, per variant, on fixed pseudo-random inputs (sizes around
 * the vector widths, tails, special values).  Run it before and after a
 * change to the kernels that must not change their results: the hashes must
 * be equal.  Variants this CPU cannot run are reported as such.
 *
 *   make -C bench kernel_bits && bench/kernel_bits
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ops.h"

static uint64_t rng;

static float
uniform(float lo, float hi)
{
	return rand_float(&rng, lo, hi);
}

/* 24 random bits */
static uint32_t
bits24(void)
{
	return (uint32_t) rand_float(&rng, 0.0f, 16777216.0f);
}

static void
fill(float *x, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		x[i] = uniform(lo, hi);
}

/* FNV-1a over bytes, folded into a running hash per kernel */
static uint64_t
fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

#define FNV0 14695981039346656037ULL

static const int sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 384, 1539};
#define NSIZES (int) (sizeof(sizes) / sizeof(sizes[0]))

static uint64_t total;

static void
report(const char *isa, const char *what, uint64_t h)
{
	printf("%-7s %-14s %016llx\n", isa, what, (unsigned long long) h);
	total = fnv(total, &h, sizeof(h));
}

typedef void (*MapFn) (float *x, size_t n);

/* map kernels: random values of several ranges, plus a sweep of bit patterns
 * (NaN, infinities, subnormals, huge values) */
static uint64_t
hash_map(MapFn f)
{
	uint64_t	h = FNV0;
	float	   *x = malloc(sizeof(float) * 70000);

	for (int s = 0; s < NSIZES; s++)
	{
		int			n = sizes[s];
		const float ranges[][2] = {{-1, 1}, {-6, 6}, {-30, 30}, {-120, 100}};

		for (int r = 0; r < 4; r++)
		{
			fill(x, n, ranges[r][0], ranges[r][1]);
			f(x, n);
			h = fnv(h, x, sizeof(float) * n);
		}
	}
	for (int n = 0; n < 65536 + 5; n++)
	{
		uint32_t	u = (uint32_t) n * 65521u + 12345u;

		memcpy(x + n, &u, 4);
	}
	f(x, 65536 + 5);
	h = fnv(h, x, sizeof(float) * (65536 + 5));
	free(x);
	return h;
}

static uint16_t
random_half(void)
{
	uint32_t	r = bits24();
	uint16_t	sign = (r & 1) << 15;
	uint16_t	e = 8 + (r >> 1) % 12;	/* 2^-7 .. 2^4 */
	uint16_t	mant = (r >> 8) & 0x3ff;

	return sign | (uint16_t) (e << 10) | mant;
}

static void
run_all(const char *isa)
{
	uint64_t	h;
	float	   *a = malloc(sizeof(float) * 400000),
			   *b = malloc(sizeof(float) * 400000),
			   *c = malloc(sizeof(float) * 400000),
			   *g = malloc(sizeof(float) * 4096),
			   *bias = malloc(sizeof(float) * 4096);

	report(isa, "gelu", hash_map(bcore_gelu));
	report(isa, "gelu_tanh", hash_map(bcore_gelu_tanh));
	report(isa, "relu", hash_map(bcore_relu));
	report(isa, "tanh", hash_map(bcore_tanh));
	report(isa, "erf", hash_map(bcore_erf));
	report(isa, "exp", hash_map(bcore_exp));

	/* fill_rows, with and without a residual */
	h = FNV0;
	for (int s = 0; s < NSIZES; s++)
	{
		int			n = sizes[s],
					rows = 3;

		fill(bias, n, -2, 2);
		fill(b, (size_t) rows * n, -5, 5);
		bcore_fill_rows(a, rows, n, bias, b);
		h = fnv(h, a, sizeof(float) * rows * n);
		bcore_fill_rows(a, rows, n, bias, NULL);
		h = fnv(h, a, sizeof(float) * rows * n);
	}
	report(isa, "fill_rows", h);

	/* layernorm: ordinary rows and rows with a large offset */
	h = FNV0;
	for (int s = 0; s < NSIZES; s++)
	{
		int			n = sizes[s],
					rows = 4;

		fill(g, n, 0.5f, 1.5f);
		fill(bias, n, -0.2f, 0.2f);
		fill(a, (size_t) rows * n, -3, 3);
		for (int i = 0; i < n; i++)
			a[(size_t) 3 * n + i] += 1000.0f;
		bcore_layernorm(a, rows, n, g, bias, 1e-12f);
		h = fnv(h, a, sizeof(float) * rows * n);
	}
	report(isa, "layernorm", h);

	/* softmax over rows with a stride wider than the row */
	h = FNV0;
	for (int s = 0; s < NSIZES; s++)
	{
		int			n = sizes[s],
					ld = n + 3,
					rows = 5;

		fill(a, (size_t) rows * ld, -20, 20);
		bcore_softmax_rows(a, rows, n, ld);
		h = fnv(h, a, sizeof(float) * rows * ld);
	}
	report(isa, "softmax_rows", h);

	/* quantize_rows and linear_i16 (k multiples of 16 and not) */
	{
		const int	ks[] = {16, 48, 37, 384, 1536};
		const int	ms[] = {1, 2, 3, 97, 200};
		const int	ns[] = {1, 4, 7, 16, 35};
		uint64_t	hq = FNV0,
					hl = FNV0;

		for (int ki = 0; ki < 5; ki++)
			for (int mi = 0; mi < 5; mi++)
			{
				int			k = ks[ki],
							m = ms[mi],
							n = ns[(ki + mi) % 5],
							ldx = k + 5;
				int16_t    *xq = malloc(sizeof(int16_t) * m * k),
						   *wq = malloc(sizeof(int16_t) * n * k);
				float	   *sx = malloc(sizeof(float) * m),
						   *sw = malloc(sizeof(float) * n);

				fill(a, (size_t) m * ldx, -4, 4);
				bcore_quantize_rows(a, m, k, ldx, xq, sx);
				hq = fnv(hq, xq, sizeof(int16_t) * m * k);
				hq = fnv(hq, sx, sizeof(float) * m);
				for (int i = 0; i < n * k; i++)
					wq[i] = (int16_t) ((int) (bits24() % (2 * BERT_QW_MAX + 1)) - BERT_QW_MAX);
				fill(sw, n, 0.001f, 0.01f);
				fill(c, (size_t) m * (n + 2), -1, 1);
				bcore_linear_i16(m, n, k, xq, sx, wq, sw, c, n + 2);
				hl = fnv(hl, c, sizeof(float) * m * (n + 2));
				free(xq);
				free(wq);
				free(sx);
				free(sw);
			}
		report(isa, "quantize_rows", hq);
		report(isa, "linear_i16", hl);
	}

	/* linear_f16 (1 and 2 threads) and f16p_widen, whole and partial panels */
	{
		const int	ks[] = {1, 37, 384};
		const int	ms[] = {1, 5, 6, 7, 13, 100};
		const int	ns[] = {16, 40, 3};
		uint64_t	hf = FNV0,
					hw = FNV0;

		for (int ki = 0; ki < 3; ki++)
			for (int ni = 0; ni < 3; ni++)
			{
				int			k = ks[ki],
							n = ns[ni];
				size_t		nw = (size_t) ((n + 15) / 16 * 16) * k;
				uint16_t   *w = malloc(sizeof(uint16_t) * nw);

				for (size_t i = 0; i < nw; i++)
					w[i] = random_half();
				bcore_f16p_widen(w, n, k, b);
				hw = fnv(hw, b, sizeof(float) * n * k);
				for (int mi = 0; mi < 6; mi++)
					for (int threads = 1; threads <= 2; threads++)
					{
						int			m = ms[mi],
									ldx = k + 1,
									ldc = n + 3;

						fill(a, (size_t) m * ldx, -2, 2);
						fill(c, (size_t) m * ldc, -1, 1);
						bcore_linear_f16(m, n, k, a, ldx, w, NULL, c, ldc, threads);
						hf = fnv(hf, c, sizeof(float) * m * ldc);
					}
				free(w);
			}
		report(isa, "linear_f16", hf);
		report(isa, "f16p_widen", hw);
	}

	/* attention: head widths 64, 32 (SIMD) and 20 (portable fallback) */
	{
		const int	ds[] = {64, 32, 20, 8};
		const int	Ts[] = {1, 7, 8, 9, 33, 100};

		h = FNV0;
		for (int di = 0; di < 4; di++)
			for (int ti = 0; ti < 6; ti++)
			{
				int			d = ds[di],
							T = Ts[ti],
							ld = 3 * d + 4,
							ldo = d + 2;
				float	   *scratch = malloc(sizeof(float) * bcore_attention_scratch(T, d));

				fill(a, (size_t) T * ld, -2, 2);
				fill(c, (size_t) T * ldo, -1, 1);
				bcore_attention(a, a + d, a + 2 * d, ld, T, d, 1.0f / sqrtf((float) d), c, ldo, scratch);
				h = fnv(h, c, sizeof(float) * T * ldo);
				free(scratch);
			}
		report(isa, "attention", h);
	}

	/* l2_normalize, and the BLIS wrappers (not dispatched: same for all) */
	h = FNV0;
	for (int s = 0; s < NSIZES; s++)
	{
		fill(a, sizes[s], -3, 3);
		bcore_l2_normalize(a, sizes[s]);
		h = fnv(h, a, sizeof(float) * sizes[s]);
	}
	report(isa, "l2_normalize", h);

	h = FNV0;
	{
		int			m = 13,
					n = 40,
					k = 37;

		fill(a, (size_t) m * k, -1, 1);
		fill(b, (size_t) n * k, -1, 1);
		fill(c, (size_t) m * n, -1, 1);
		bcore_linear(m, n, k, a, k, b, 0.5f, c, n);
		h = fnv(h, c, sizeof(float) * m * n);
		bcore_gemm(m, n, k, 2.0f, a, k, 1, b, 1, k, 1.0f, c, n, 1);
		h = fnv(h, c, sizeof(float) * m * n);
	}
	report(isa, "linear_gemm", h);

	free(a);
	free(b);
	free(c);
	free(g);
	free(bias);
}

int
main(void)
{
	const char *isas[] = {"scalar", "avx2", "avx512"};

	bcore_blas_init(1);
	printf("best variant: %s\n", bcore_kernels_isa());
	for (int i = 0; i < 3; i++)
	{
		if (bcore_kernels_use(isas[i]) != 0)
		{
			printf("%-7s (this CPU cannot run it)\n", isas[i]);
			continue;
		}
		rng = 88172645463325252ULL;
		total = FNV0;
		run_all(isas[i]);
		printf("%-7s %-14s %016llx\n", isas[i], "ALL", (unsigned long long) total);
	}
	bcore_kernels_use(NULL);
	return 0;
}
