/*
 * ops.c — BLIS set-up and the small kernels around the matrix products.
 *
 * The kernels are plain loops written so that the compiler vectorises them;
 * every one is a single pass over its rows.
 */
#include "ops.h"

#include <math.h>
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
bert_blas_init(int threads)
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
bert_blas_arch(void)
{
	return bli_arch_string(bli_arch_query_id());
}

const char *
bert_blas_arch_reason(void)
{
	return blas_reason;
}

const char *
bert_blas_version(void)
{
	return bli_info_get_version_str();
}

int
bert_blas_threads(void)
{
	return (int) bli_thread_get_num_threads();
}

void
bert_gemm(int m, int n, int k, float alpha,
		  const float *a, long rsa, long csa,
		  const float *b, long rsb, long csb,
		  float beta, float *c, long rsc, long csc)
{
	bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha,
			  (float *) a, rsa, csa, (float *) b, rsb, csb, &beta, c, rsc, csc);
}

void
bert_linear(int m, int n, int k, const float *a, int lda,
			const float *w, float beta, float *c, int ldc)
{
	/* op(B)[i][j] = w[j][i]: row stride 1, column stride k */
	bert_gemm(m, n, k, 1.0f, a, lda, 1, w, 1, k, beta, c, ldc, 1);
}

void
bert_fill_rows(float *x, int rows, int n, const float *bias, const float *residual)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * n;

		if (residual)
		{
			const float *restrict s = residual + (size_t) r * n;

			for (int i = 0; i < n; i++)
				y[i] = bias[i] + s[i];
		}
		else
			memcpy(y, bias, sizeof(float) * n);
	}
}

void
bert_layernorm(float *x, int rows, int n, const float *g, const float *b, float eps)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * n;
		float		sum = 0.0f,
					sq = 0.0f,
					mean,
					inv;

		for (int i = 0; i < n; i++)
			sum += y[i];
		mean = sum / n;
		for (int i = 0; i < n; i++)
		{
			float		d = y[i] - mean;

			sq += d * d;
		}
		inv = 1.0f / sqrtf(sq / n + eps);
		for (int i = 0; i < n; i++)
			y[i] = (y[i] - mean) * inv * g[i] + b[i];
	}
}

void
bert_gelu(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float) M_SQRT1_2));
}

void
bert_gelu_tanh(float *x, size_t n)
{
	const float c = 0.7978845608028654f;	/* sqrt(2 / pi) */

	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + tanhf(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

void
bert_relu(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void
bert_tanh(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = tanhf(x[i]);
}

void
bert_softmax_rows(float *x, int rows, int n, int ld)
{
	for (int r = 0; r < rows; r++)
	{
		float	   *restrict y = x + (size_t) r * ld;
		float		max = y[0],
					sum = 0.0f,
					inv;

		for (int i = 1; i < n; i++)
			max = y[i] > max ? y[i] : max;
		for (int i = 0; i < n; i++)
		{
			y[i] = expf(y[i] - max);
			sum += y[i];
		}
		inv = 1.0f / sum;
		for (int i = 0; i < n; i++)
			y[i] *= inv;
	}
}

void
bert_l2_normalize(float *x, int n)
{
	double		sq = 0.0;

	for (int i = 0; i < n; i++)
		sq += (double) x[i] * x[i];
	if (sq > 0.0)
	{
		float		inv = (float) (1.0 / sqrt(sq));

		for (int i = 0; i < n; i++)
			x[i] *= inv;
	}
}

/* The SIMD features that matter here, as a space-separated list. */
const char *
bert_cpu_features(void)
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
