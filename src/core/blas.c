/*
 * blas.c — BLIS set-up, the BLIS wrappers, and the SIMD features of the CPU.
 *
 * The kernels around the matrix products (ops.c and its instruction-set
 * files) choose their own variant from the CPU; this file chooses BLIS's.
 */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>

static int	blas_ready = 0;
static char blas_reason[128] = "not initialised";

/*
 * BLIS 0.9 picks its kernels from a CPU table that predates recent cores: on
 * an unknown CPU it silently falls back to generic C kernels, 5x slower.  We
 * choose from the features the CPU reports instead, and only among kernel
 * sets this CPU can run (asking BLIS for skx on a CPU without AVX-512 would
 * die of SIGILL).  A BLIS_ARCH_TYPE set by the administrator wins.
 */
static void
choose_arch(void)
{
	const char *env = getenv("BLIS_ARCH_TYPE");
	int			arch = -1;
	const char *why = NULL;

	if (env != NULL && env[0] != '\0')
	{
		snprintf(blas_reason, sizeof(blas_reason), "BLIS_ARCH_TYPE=%s from the environment", env);
		return;
	}
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
		__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("fma"))
	{
		arch = BLIS_ARCH_SKX;
		why = "CPU has AVX-512";
	}
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
	{
		if (__builtin_cpu_is("amd"))
		{
			arch = BLIS_ARCH_ZEN3;
			why = "AMD CPU has AVX2 and FMA";
		}
		else
		{
			arch = BLIS_ARCH_HASWELL;
			why = "CPU has AVX2 and FMA";
		}
	}
	if (arch >= 0)
	{
		char		num[16];

		snprintf(num, sizeof(num), "%d", arch);
		setenv("BLIS_ARCH_TYPE", num, 1);
		snprintf(blas_reason, sizeof(blas_reason), "%s", why);
	}
	else
		snprintf(blas_reason, sizeof(blas_reason), "no AVX2 or AVX-512: BLIS default");
}

void
bcore_blas_init(int threads)
{
	if (!blas_ready)
	{
		choose_arch();
		blas_ready = 1;
	}
	if (threads < 1)
		threads = 1;
	if (bli_thread_get_num_threads() != threads)
		bli_thread_set_num_threads(threads);
}

const char *
bcore_blas_arch(void)
{
	return bli_arch_string(bli_arch_query_id());
}

const char *
bcore_blas_arch_reason(void)
{
	return blas_reason;
}

const char *
bcore_blas_version(void)
{
	return bli_info_get_version_str();
}

int
bcore_blas_threads(void)
{
	return (int) bli_thread_get_num_threads();
}

void
bcore_gemm(int m, int n, int k, float alpha,
		  const float *a, long rsa, long csa,
		  const float *b, long rsb, long csb,
		  float beta, float *c, long rsc, long csc)
{
	bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
			  (float *) a, rsa, csa, (float *) b, rsb, csb, &beta, c, rsc, csc);
}

void
bcore_linear(int m, int n, int k, const float *a, int lda,
			const float *w, float beta, float *c, int ldc)
{
	/* op(B)[i][j] = w[j][i]: row stride 1, column stride k */
	bcore_gemm(m, n, k, 1.0f, a, lda, 1, w, 1, k, beta, c, ldc, 1);
}

/* The SIMD features that matter here, as a space-separated list. */
const char *
bcore_cpu_features(void)
{
	static char buf[128];
	size_t		len = 0;

	if (buf[0] != '\0')
		return buf;
	__builtin_cpu_init();
	/* __builtin_cpu_supports() takes only a string literal */
#define FEATURE(name) \
	if (__builtin_cpu_supports(name)) \
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " " : "", name)
	FEATURE("avx512f");
	FEATURE("avx512dq");
	FEATURE("avx512bw");
	FEATURE("avx512vl");
	FEATURE("avx512vnni");
	FEATURE("avx512bf16");
	FEATURE("avx2");
	FEATURE("fma");
#undef FEATURE
	if (len == 0)
		strcpy(buf, "none");
	return buf;
}
