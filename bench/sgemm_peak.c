/*
 * sgemm_peak.c — single-core fp32 throughput of BLIS sgemm, with the kernel
 * set chosen as the extension chooses it (bcore_blas_init), on a large square
 * shape (the machine's practical peak) and on the shapes of BERT-small's
 * linear layers: m tokens x n outputs x k inputs, as bcore_linear calls it
 * (activations row-major, weight [n][k] used transposed through strides).
 *
 *   make -C bench sgemm_peak && BLIS_NUM_THREADS=1 bench/sgemm_peak [threads]
 */
#include <stdio.h>
#include <stdlib.h>

#include <blis.h>

#include "bench_util.h"
#include "ops.h"

static void
linear(void *arg)
{
	BenchGemm  *g = arg;

	bcore_linear(g->m, g->n, g->k, g->x, g->k, g->w, 1.0f, g->c, g->n);
}

/* best GFLOP/s of C = A W^T + C over repeated calls for about `budget` s */
static double
gflops(int m, int n, int k, double budget)
{
	BenchGemm	g;
	double		best;

	bench_gemm_init(&g, m, n, k, 7);
	best = best_seconds(linear, &g, budget);
	bench_gemm_free(&g);
	return 2.0 * m * n * k / best * 1e-9;
}

int
main(int argc, char **argv)
{
	int			threads = argc > 1 ? atoi(argv[1]) : 1;
	static const int ms[] = {16, 32, 64, 256};
	static const int nk[][2] = {{384, 384}, {1536, 384}, {384, 1536}};
	double		peak;

	bcore_blas_init(threads);
	printf("BLIS %s, kernels %s (%s), %d thread(s)\n", bcore_blas_version(),
		   bcore_blas_arch(), bcore_blas_arch_reason(), bcore_blas_threads());
	/* the big shape is slow per call, so on a busy machine it rarely gets a
	 * quiet run: take the better of it and 512^3 */
	{
		double		g1536 = gflops(1536, 1536, 1536, 4.0),
					g512 = gflops(512, 512, 512, 2.0);

		peak = g1536 > g512 ? g1536 : g512;
		printf("peak: 1536^3 %.1f GFLOP/s, 512^3 %.1f GFLOP/s -> %.1f\n\n", g1536, g512, peak);
	}
	printf("%6s %6s %6s %10s %8s  %s\n", "m", "n", "k", "GFLOP/s", "of peak", "");
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		for (size_t j = 0; j < sizeof(nk) / sizeof(nk[0]); j++)
		{
			double		g = gflops(ms[i], nk[j][0], nk[j][1], 0.5);

			printf("%6d %6d %6d %10.1f %7.0f%%  %s\n", ms[i], nk[j][0], nk[j][1], g, 100 * g / peak,
				   j == 0 ? "(Q, K, V, attention out)" : j == 1 ? "(FFN in)" : "(FFN out)");
		}
	return 0;
}
