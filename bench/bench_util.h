/*
 * bench_util.h — timing helpers shared by the benchmarks.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline float
rand_float(uint64_t *s, float lo, float hi)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return lo + (hi - lo) * (float) ((*s >> 40) * (1.0 / 16777216.0));
}

/*
 * The shortest time of fn(arg) over repeated calls for about budget seconds,
 * after one warm-up call.
 */
static inline double
best_seconds(void (*fn) (void *), void *arg, double budget)
{
	double		best = 1e30,
				start;

	fn(arg);
	start = now_s();
	do
	{
		double		t0 = now_s(),
					t;

		fn(arg);
		t = now_s() - t0;
		best = t < best ? t : best;
	} while (now_s() - start < budget);
	return best;
}

/* C = X W^T + C operands: X m x k in [-1, 1), W [n][k] in [-0.05, 0.05), C m x n zero */
typedef struct BenchGemm
{
	int			m,
				n,
				k;
	float	   *x,
			   *w,
			   *c;
} BenchGemm;

static inline void
bench_gemm_init(BenchGemm *g, int m, int n, int k, uint64_t seed)
{
	g->m = m;
	g->n = n;
	g->k = k;
	g->x = malloc(sizeof(float) * m * k);
	g->w = malloc(sizeof(float) * n * k);
	g->c = calloc((size_t) m * n, sizeof(float));
	for (long i = 0; i < (long) m * k; i++)
		g->x[i] = rand_float(&seed, -1, 1);
	for (long i = 0; i < (long) n * k; i++)
		g->w[i] = rand_float(&seed, -0.05f, 0.05f);
}

static inline void
bench_gemm_free(BenchGemm *g)
{
	free(g->x);
	free(g->w);
	free(g->c);
}

#endif
