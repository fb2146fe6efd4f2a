/*
 * small_gemm.c — BLIS sgemm at a few tokens: the same product X W^T + C
 * (X: m x k row-major, W: [n][k], C: m x n) asked of BLIS in different
 * ways, single thread, GFLOP/s (best of repeated calls):
 *
 *   linear   what bcore_linear does: C row-major, W^T through strides
 *   colC     C column-major (rsc 1, csc m): a different output layout
 *   trans    the transposed problem C^T = W X^T: BLIS sees m' = n, n' = m
 *   transB   W row-major with BLIS_TRANSPOSE instead of swapped strides
 *   nosup    linear with BLIS's small/unpacked ("sup") path disabled
 *
 *   make -C bench small_gemm && bench/small_gemm
 */
#include <stdio.h>
#include <stdlib.h>

#include <blis.h>

#include "bench_util.h"
#include "ops.h"

typedef enum Way
{
	LINEAR, COLC, TRANS, TRANSB, NOSUP, NWAYS
} Way;

static const char *way_names[] = {"linear", "colC", "trans", "transB", "nosup"};

typedef struct WayGemm
{
	Way			way;
	BenchGemm	g;
} WayGemm;

static void
call(void *arg)
{
	const WayGemm *wg = arg;
	Way			way = wg->way;
	int			m = wg->g.m,
				n = wg->g.n,
				k = wg->g.k;
	float	   *x = wg->g.x,
			   *w = wg->g.w,
			   *c = wg->g.c;
	float		one = 1.0f;
	rntm_t		rntm = BLIS_RNTM_INITIALIZER;

	switch (way)
	{
		case LINEAR:
			bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one,
					  x, k, 1, w, 1, k, &one, c, n, 1);
			break;
		case COLC:
			bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one,
					  x, k, 1, w, 1, k, &one, c, 1, m);
			break;
		case TRANS:
			/* C^T (n x m) = W (n x k) X^T (k x m); C^T[j][i] lives at c[i n + j] */
			bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, n, m, k, &one,
					  w, k, 1, x, 1, k, &one, c, 1, n);
			break;
		case TRANSB:
			bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, m, n, k, &one,
					  x, k, 1, w, k, 1, &one, c, n, 1);
			break;
		case NOSUP:
			bli_rntm_set_num_threads(1, &rntm);
			bli_rntm_disable_l3_sup(&rntm);
			bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one,
						 x, k, 1, w, 1, k, &one, c, n, 1, NULL, &rntm);
			break;
		default:
			break;
	}
}

static double
gflops(Way way, int m, int n, int k, double budget)
{
	WayGemm		wg = {.way = way};
	double		best;

	bench_gemm_init(&wg.g, m, n, k, 3);
	best = best_seconds(call, &wg, budget);
	bench_gemm_free(&wg.g);
	return 2.0 * m * n * k / best * 1e-9;
}

int
main(int argc, char **argv)
{
	static const int ms[] = {10, 13, 17, 20, 26, 32, 40};
	static const int nk[][2] = {{384, 384}, {1536, 384}, {384, 1536}};
	static const int big[][3] = {{1536, 1536, 1536}, {256, 1536, 384}, {512, 512, 512}};
	double		budget = argc > 1 ? atof(argv[1]) : 0.25;
	cntx_t	   *cntx;

	bcore_blas_init(1);
	cntx = bli_gks_query_cntx();
	printf("BLIS %s, kernels %s, 1 thread; sup used if m < %ld or n < %ld or k < %ld\n",
		   bcore_blas_version(), bcore_blas_arch(),
		   (long) bli_cntx_get_l3_sup_thresh_dt(BLIS_FLOAT, BLIS_MT, cntx),
		   (long) bli_cntx_get_l3_sup_thresh_dt(BLIS_FLOAT, BLIS_NT, cntx),
		   (long) bli_cntx_get_l3_sup_thresh_dt(BLIS_FLOAT, BLIS_KT, cntx));
	printf("%5s %5s %5s", "m", "n", "k");
	for (Way v = 0; v < NWAYS; v++)
		printf(" %8s", way_names[v]);
	printf("   GFLOP/s\n");
	for (size_t j = 0; j < sizeof(nk) / sizeof(nk[0]); j++)
		for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		{
			printf("%5d %5d %5d", ms[i], nk[j][0], nk[j][1]);
			for (Way v = 0; v < NWAYS; v++)
				printf(" %8.1f", gflops(v, ms[i], nk[j][0], nk[j][1], budget));
			printf("\n");
			fflush(stdout);
		}
	for (size_t j = 0; j < sizeof(big) / sizeof(big[0]); j++)
	{
		printf("%5d %5d %5d", big[j][0], big[j][1], big[j][2]);
		for (Way v = 0; v < NWAYS; v++)
			printf(" %8.1f", gflops(v, big[j][0], big[j][1], big[j][2], 4 * budget));
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
