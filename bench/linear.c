/*
 * linear.c — GFLOP/s of the encoder's linear layers, one thread, on the
 * shapes of all-MiniLM-L6-v2 (hidden 384, FFN 1536) from one sentence to a
 * bulk chunk: our half-precision kernel in each variant this CPU runs,
 * against BLIS sgemm on the same weights in fp32 (and BLIS after widening
 * them, what the encoder does from bcore_f16_blis_rows() rows).  Time is the
 * thread's CPU time, the median of many calls, so that other processes on
 * a shared machine disturb it less (the minimum is not robust there: a
 * virtual machine's clock now and then reports impossibly short calls).
 *
 *   make -C bench linear && bench/linear [m ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "model_format.h"
#include "ops.h"

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef enum Way
{
	F16, BLIS_F32, BLIS_WIDEN
} Way;

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
gflops(Way way, int m, int n, int k, const float *x, const uint16_t *p, const float *w,
	   float *wide, float *c)
{
	double		flop = 2.0 * m * n * k;
	int			reps = (int) (3e9 / flop) + 5;
	double	   *times = malloc(sizeof(double) * reps);
	double		median;

	reps = reps > 2001 ? 2001 : reps;
	for (int rep = 0; rep < reps; rep++)
	{
		double		t = cpu_s();

		switch (way)
		{
			case F16:
				bcore_linear_f16(m, n, k, x, k, p, NULL, c, n, 1);
				break;
			case BLIS_F32:
				bcore_linear(m, n, k, x, k, w, 1.0f, c, n);
				break;
			case BLIS_WIDEN:
				bcore_f16p_widen(p, n, k, wide);
				bcore_gemm(m, n, k, 1.0f, x, k, 1, wide, n, 1, 1.0f, c, n, 1);
				break;
		}
		times[rep] = cpu_s() - t;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	median = times[reps / 2];
	free(times);
	return flop / median / 1e9;
}

int
main(int argc, char **argv)
{
	static const int shapes[][2] = {{384, 384}, {1536, 384}, {384, 1536}};
	int			ms[32] = {1, 8, 26, 64, 128, 256, 512, 1024, 2048};
	int			nm = 9;
	const char *isas[] = {"avx512", "avx2", "scalar"};
	uint64_t	seed = 1;

	if (argc > 1)
	{
		nm = 0;
		for (int i = 1; i < argc && nm < 32; i++)
			ms[nm++] = atoi(argv[i]);
	}
	bcore_blas_init(1);
	printf("linear layers, 1 thread, GFLOP/s (thread CPU time); BLIS %s, kernels %s\n",
		   bcore_blas_arch(), bcore_kernels_isa());
	printf("| m | n | k | f16 avx512 | f16 avx2 | BLIS fp32 | BLIS widened |\n|---|---|---|---|---|---|---|\n");
	for (int si = 0; si < 3; si++)
		for (int mi = 0; mi < nm; mi++)
		{
			int			n = shapes[si][0],
						k = shapes[si][1],
						m = ms[mi];
			float	   *x = malloc(sizeof(float) * m * k),
					   *w = malloc(sizeof(float) * n * k),
					   *wide = malloc(sizeof(float) * n * k),
					   *c = calloc((size_t) m * n, sizeof(float));
			uint16_t   *p = malloc(bcore_f16p_halves(n, k) * 2);
			double		g[4];

			for (int i = 0; i < m * k; i++)
				x[i] = rand_float(&seed, -1, 1);
			for (int j = 0; j < n; j++)
				for (int t = 0; t < k; t++)
				{
					/* a half of magnitude < 1: 0x3bff is 0.9995 */
					uint16_t	h = (uint16_t) (rand_float(&seed, 0, 1) * 0x3bff) |
						(rand_float(&seed, 0, 1) < 0.5f ? 0x8000 : 0);

					p[bcore_f16p_index(j, t, k)] = h;
					w[(size_t) j * k + t] = bcore_half_to_float(h);
				}
			for (int v = 0; v < 2; v++)
				g[v] = bcore_kernels_use(isas[v]) == 0 ? gflops(F16, m, n, k, x, p, w, wide, c) : 0;
			bcore_kernels_use(NULL);
			g[2] = gflops(BLIS_F32, m, n, k, x, p, w, wide, c);
			g[3] = gflops(BLIS_WIDEN, m, n, k, x, p, w, wide, c);
			printf("| %d | %d | %d | %.1f | %.1f | %.1f | %.1f |\n", m, n, k, g[0], g[1], g[2], g[3]);
			fflush(stdout);
			free(x);
			free(w);
			free(wide);
			free(c);
			free(p);
		}
	return 0;
}
