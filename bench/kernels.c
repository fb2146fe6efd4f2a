/*
 * kernels.c — ns per element of each kernel of src/core/ops.c, portable variant
 * against the one dispatched for this CPU, on the shapes one bert_embed call
 * sees (T tokens, hidden 384, FFN 1536, 12 heads).  Scalar and SIMD runs
 * alternate so machine noise hits both alike; each figure is the minimum
 * over the runs.
 *
 *   make -C bench kernels && bench/kernels [T]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ops.h"

#define H 384
#define F 1536

typedef enum Kernel
{
	K_GELU, K_GELU_TANH, K_TANH, K_ERF, K_EXP, K_SOFTMAX, K_LAYERNORM,
	K_FILL_RES, K_FILL
} Kernel;

static const char *names[] = {
	"gelu (T x 1536)", "gelu_tanh (T x 1536)", "tanh (T x 1536)", "erf (T x 1536)",
	"exp (T x 1536)", "softmax_rows (T x T)", "layernorm (T x 384)",
	"fill_rows +res (T x 384)", "fill_rows (T x 1536)"
};

static float *src,
		   *buf,
		   *res,
		   *g,
		   *b;

/* the elementwise kernels, on T x 1536 values */
static void (*const elementwise[]) (float *, size_t) = {
	[K_GELU] = bcore_gelu,
	[K_GELU_TANH] = bcore_gelu_tanh,
	[K_TANH] = bcore_tanh,
	[K_ERF] = bcore_erf,
	[K_EXP] = bcore_exp,
};

/* one call on fresh input; returns seconds */
static double
run(Kernel k, int T)
{
	size_t		n = (size_t) T * F;
	double		t0;

	memcpy(buf, src, n * sizeof(float));
	t0 = now_s();
	switch (k)
	{
		case K_GELU:
		case K_GELU_TANH:
		case K_TANH:
		case K_ERF:
		case K_EXP:
			elementwise[k] (buf, n);
			break;
		case K_SOFTMAX:
			bcore_softmax_rows(buf, T, T, T);
			break;
		case K_LAYERNORM:
			bcore_layernorm(buf, T, H, g, b, 1e-12f);
			break;
		case K_FILL_RES:
			bcore_fill_rows(buf, T, H, b, res);
			break;
		case K_FILL:
			bcore_fill_rows(buf, T, F, b, NULL);
			break;
	}
	return now_s() - t0;
}

static size_t
elements(Kernel k, int T)
{
	switch (k)
	{
		case K_SOFTMAX:
			return (size_t) T * T;
		case K_LAYERNORM:
		case K_FILL_RES:
			return (size_t) T * H;
		default:
			return (size_t) T * F;
	}
}

/* calls per bert_embed of one T-token sequence (6 layers, 12 heads) */
static int
calls(Kernel k)
{
	switch (k)
	{
		case K_GELU:
			return 6;
		case K_SOFTMAX:
			return 6 * 12;
		case K_LAYERNORM:
			return 13;
		case K_FILL_RES:
			return 12;
		case K_FILL:
			return 6;
		default:
			return 0;
	}
}

int
main(int argc, char **argv)
{
	int			T = argc > 1 ? atoi(argv[1]) : 26;
	size_t		n = (size_t) T * F;
	uint64_t	seed = 12345;
	const char *simd;
	double		tot_scalar = 0,
				tot_simd = 0;

	src = malloc(n * sizeof(float));
	buf = malloc(n * sizeof(float));
	res = malloc(n * sizeof(float));
	g = malloc(F * sizeof(float));
	b = malloc(F * sizeof(float));
	/* pre-activations of an FFN: mostly in [-4, 2] */
	for (size_t i = 0; i < n; i++)
	{
		src[i] = rand_float(&seed, -4.0f, 2.0f);
		res[i] = rand_float(&seed, -3.0f, 3.0f);
	}
	for (int i = 0; i < F; i++)
	{
		g[i] = rand_float(&seed, 0.5f, 1.5f);
		b[i] = rand_float(&seed, -0.2f, 0.2f);
	}
	bcore_kernels_use(NULL);
	simd = bcore_kernels_isa();
	printf("T = %d tokens; dispatched variant: %s\n", T, simd);
	printf("%-26s %10s %10s %8s   %s\n", "kernel", "scalar", simd, "speedup",
		   "ns/elem; per embed (us): scalar -> simd");
	for (Kernel k = K_GELU; k <= K_FILL; k++)
	{
		double		best[2] = {1e9, 1e9};
		size_t		e = elements(k, T);
		int			reps = (int) (4e6 / e) + 20;

		for (int r = 0; r < reps; r++)
			for (int v = 0; v < 2; v++)
			{
				double		t;

				bcore_kernels_use(v == 0 ? "scalar" : NULL);
				t = run(k, T);
				best[v] = t < best[v] ? t : best[v];
			}
		printf("%-26s %10.3f %10.3f %7.1fx", names[k], best[0] * 1e9 / e, best[1] * 1e9 / e,
			   best[0] / best[1]);
		if (calls(k))
			printf("   %8.1f -> %7.1f", best[0] * 1e6 * calls(k), best[1] * 1e6 * calls(k));
		printf("\n");
		tot_scalar += best[0] * calls(k);
		tot_simd += best[1] * calls(k);
	}
	printf("per embed of %d tokens, kernels around the GEMMs: %.1f us scalar, %.1f us %s\n",
		   T, tot_scalar * 1e6, tot_simd * 1e6, simd);
	return 0;
}
