/*
 * erf_sweep.c — the dispatched erf, exp and tanh of src/core/ops.c against
 * glibc's erff, expf and tanhf on every one of the 2^32 floats.
 *
 *   make -C bench erf_sweep && bench/erf_sweep [avx2|avx512|scalar]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct Worst
{
	const char *name;
	void		(*f) (float *, size_t);
	float		(*g) (float);
	double		max_abs;
	float		at_abs;
	int64_t		max_ulp;
	float		at_ulp;
	uint64_t	mismatched_nan;
} Worst;

static int64_t
ordered(float a)
{
	int32_t		i;

	memcpy(&i, &a, 4);
	return i < 0 ? -(int64_t) (i & 0x7fffffff) : i;
}

int
main(int argc, char **argv)
{
	static float in[1 << 16],
				out[1 << 16];
	Worst		w[] = {
		{"erf", bcore_erf, erff, 0, 0, 0, 0, 0},
		{"exp", bcore_exp, expf, 0, 0, 0, 0, 0},
		{"tanh", bcore_tanh, tanhf, 0, 0, 0, 0, 0},
	};

	if (argc > 1 && bcore_kernels_use(argv[1]) != 0)
	{
		fprintf(stderr, "this CPU cannot run %s\n", argv[1]);
		return 2;
	}
	printf("variant %s, all 2^32 floats\n", bcore_kernels_isa());
	for (int k = 0; k < 3; k++)
	{
		for (uint64_t base = 0; base < (1ULL << 32); base += 1 << 16)
		{
			for (uint32_t i = 0; i < 1 << 16; i++)
			{
				uint32_t	u = (uint32_t) (base + i);

				memcpy(&in[i], &u, 4);
			}
			memcpy(out, in, sizeof(in));
			w[k].f(out, 1 << 16);
			for (uint32_t i = 0; i < 1 << 16; i++)
			{
				float		want = w[k].g(in[i]);
				double		d;
				int64_t		u;

				if (isnan(want) || isnan(out[i]))
				{
					w[k].mismatched_nan += isnan(want) != isnan(out[i]);
					continue;
				}
				d = out[i] == want ? 0 : fabs((double) out[i] - want);
				u = llabs(ordered(out[i]) - ordered(want));
				if (d > w[k].max_abs)
				{
					w[k].max_abs = d;
					w[k].at_abs = in[i];
				}
				if (u > w[k].max_ulp)
				{
					w[k].max_ulp = u;
					w[k].at_ulp = in[i];
				}
			}
		}
		printf("%-5s max abs error %.3g (x = %.9g), max %lld ulp (x = %.9g), NaN mismatches %llu\n",
			   w[k].name, w[k].max_abs, w[k].at_abs, (long long) w[k].max_ulp, w[k].at_ulp,
			   (unsigned long long) w[k].mismatched_nan);
		fflush(stdout);
	}
	return 0;
}
