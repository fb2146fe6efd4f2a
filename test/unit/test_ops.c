/*
 * test_ops.c — every kernel variant this CPU runs (src/core/ops.c and
 * its instruction-set files ops_avx2.c, ops_avx512.c), against a
 * double-precision reference and against the portable variant, on sizes
 * around the vector widths; erf, exp and tanh swept over the float range
 * against glibc.
 *
 *   cc -O1 -g -fsanitize=address,undefined -Wall -Wextra -Werror -Isrc/core \
 *      -isystem $(BLIS_INC) -o test/unit/build/test_ops test/unit/test_ops.c \
 *      src/core/ops*.c src/core/blas.c -L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis -lm
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "ops_impl.h"			/* the GELU constants */
#include "unit_check.h"

static void
check(int ok, const char *fmt, const char *isa, const char *what, double got, double limit)
{
	if (ok)
		passed++;
	else
	{
		failed++;
		printf("FAIL [%s] %s: ", isa, what);
		printf(fmt, got, limit);
		printf("\n");
	}
}

#define CHECK_LE(isa, what, got, limit) \
	check((got) <= (limit), "%.3g > %.3g", isa, what, got, limit)

static uint64_t rng = 88172645463325252ULL;

static double
uniform(double lo, double hi)
{
	return lo + (hi - lo) * xorshift_uniform(&rng);
}

static float
bits_float(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* distance in floats between a and b (0 if both NaN, huge if one is) */
static int64_t
ulps(float a, float b)
{
	int32_t		ia,
				ib;

	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b) ? 0 : INT64_MAX / 2;
	memcpy(&ia, &a, 4);
	memcpy(&ib, &b, 4);
	ia = ia < 0 ? (int32_t) (0x80000000u - (uint32_t) ia) : ia;
	ib = ib < 0 ? (int32_t) (0x80000000u - (uint32_t) ib) : ib;
	return ia > ib ? (int64_t) ia - ib : (int64_t) ib - ia;
}

typedef struct Sweep
{
	double		max_abs;		/* largest |f - libm| */
	int64_t		max_ulp;
	float		worst;			/* the input where max_abs occurred */
	long		count;
} Sweep;

/* f (dispatched, on a buffer) against libm's g on every input in xs */
static void
sweep(Sweep *s, void (*f) (float *, size_t), float (*g) (float), const float *xs, size_t n)
{
	float		buf[4096];

	for (size_t i0 = 0; i0 < n; i0 += 4096)
	{
		size_t		len = n - i0 < 4096 ? n - i0 : 4096;

		memcpy(buf, xs + i0, len * sizeof(float));
		f(buf, len);
		for (size_t i = 0; i < len; i++)
		{
			float		want = g(xs[i0 + i]);
			double		d = fabs((double) buf[i] - want);
			int64_t		u = ulps(buf[i], want);

			if (isnan(want) != isnan(buf[i]))
				d = INFINITY;
			else if (isnan(want) || buf[i] == want)
				d = 0;
			if (d > s->max_abs)
			{
				s->max_abs = d;
				s->worst = xs[i0 + i];
			}
			if (u > s->max_ulp)
				s->max_ulp = u;
		}
		s->count += len;
	}
}

/* Inputs: every step-th float bit pattern, plus special and boundary values. */
static float *
sweep_inputs(uint32_t step, float lo, float hi, size_t *n)
{
	static const float special[] = {
		0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MIN, -FLT_MIN, FLT_MAX,
		-FLT_MAX, 1e-45f, -1e-45f, 0.921875f, -0.921875f, 0.92187494f, 3.92f,
		3.9199998f, 3.83f, -3.83f, 4.0f, 9.0f, 10.0f, 88.72f, 88.73f, -87.3f,
		-103.9f, -104.0f, -150.0f, 0.625f, 0.62499994f, -0.625f, 0.34657f,
		-0.34658f, 1.0f, -1.0f
	};
	size_t		cap = (size_t) (UINT32_MAX / step) + 1 + 2000001 + sizeof(special) / sizeof(float);
	float	   *xs = malloc(cap * sizeof(float));
	size_t		k = 0;

	if (xs == NULL)
		abort();
	for (uint64_t u = 0; u <= UINT32_MAX; u += step)
	{
		float		x = bits_float((uint32_t) u);

		if (isnan(x) || (x >= lo && x <= hi))
			xs[k++] = x;
	}
	/* a dense uniform grid where the functions bend */
	for (int i = 0; i <= 2000000; i++)
		xs[k++] = (float) (-6.0 + 12.0 * i / 2000000.0);
	for (size_t i = 0; i < sizeof(special) / sizeof(float); i++)
		xs[k++] = special[i];
	*n = k;
	return xs;
}

/*
 * f against libm's g over xs: the largest error within abs_limit (none
 * checked when 0) and ulp_limit.
 */
static void
check_sweep(const char *isa, const char *name, void (*f) (float *, size_t), const char *libm,
			float (*g) (float), const float *xs, size_t n, double abs_limit, double ulp_limit)
{
	Sweep		s;
	char		label[16],
				what[128];

	memset(&s, 0, sizeof(s));
	sweep(&s, f, g, xs, n);
	snprintf(label, sizeof(label), "%s:", libm);
	if (abs_limit > 0)
	{
		printf("  [%s] %-4s vs %-6s %ld inputs, max abs %.3g (at %.9g), max %lld ulp\n",
			   isa, name, label, s.count, s.max_abs, s.worst, (long long) s.max_ulp);
		snprintf(what, sizeof(what), "%s max abs error vs %s", name, libm);
		CHECK_LE(isa, what, s.max_abs, abs_limit);
	}
	else
		printf("  [%s] %-4s vs %-6s %ld inputs, max %lld ulp\n",
			   isa, name, label, s.count, (long long) s.max_ulp);
	snprintf(what, sizeof(what), "%s max ulp vs %s", name, libm);
	CHECK_LE(isa, what, (double) s.max_ulp, ulp_limit);
}

static void
test_sweeps(const char *isa)
{
	size_t		n;
	float	   *xs = sweep_inputs(61, -INFINITY, INFINITY, &n);

	check_sweep(isa, "erf", bcore_erf, "erff", erff, xs, n, 1.2e-7, 2.0);
	check_sweep(isa, "erf_fused", bcore_erf_fused, "erff", erff, xs, n, 1.2e-7, 2.0);
	check_sweep(isa, "tanh", bcore_tanh, "tanhf", tanhf, xs, n, 1.2e-7, 3.0);
	check_sweep(isa, "exp", bcore_exp, "expf", expf, xs, n, 0, 2.0);
	free(xs);
}

/* ---- kernels against double precision ---- */

static const int sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 384, 1536 + 3, 26 * 1536};
#define NSIZES (int) (sizeof(sizes) / sizeof(sizes[0]))

typedef void (*MapFn) (float *, size_t);

/*
 * A kernel call on buf, for run_three: the kernel and its other arguments
 * are in ctx.
 */
typedef void (*KernelCall) (float *buf, const void *ctx);

/*
 * y, z and s: copies of the len floats of x, run through call twice on the
 * variant under test (y, z) and once on the portable one (s).  True when y
 * and z have the same bits.
 */
static int
run_three(const char *isa, KernelCall call, const void *ctx, const float *x,
		  float *y, float *z, float *s, size_t len)
{
	memcpy(y, x, len * sizeof(float));
	memcpy(z, x, len * sizeof(float));
	memcpy(s, x, len * sizeof(float));
	call(y, ctx);
	call(z, ctx);
	bcore_kernels_use("scalar");
	call(s, ctx);
	bcore_kernels_use(isa);
	return memcmp(y, z, len * sizeof(float)) == 0;
}

typedef struct MapArgs
{
	MapFn		f;
	size_t		n;
} MapArgs;

static void
map_call(float *buf, const void *ctx)
{
	const MapArgs *a = ctx;

	a->f(buf, a->n);
}

typedef struct RowArgs
{
	int			rows,
				n,
				ld;				/* softmax: the row stride */
	const float *g,
			   *b;				/* layernorm: gain and bias */
} RowArgs;

static void
softmax_call(float *buf, const void *ctx)
{
	const RowArgs *a = ctx;

	bcore_softmax_rows(buf, a->rows, a->n, a->ld);
}

static void
layernorm_call(float *buf, const void *ctx)
{
	const RowArgs *a = ctx;

	bcore_layernorm(buf, a->rows, a->n, a->g, a->b, 1e-12f);
}

static double gelu_ref(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double gelu_tanh_ref(double x) { return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }
static double tanh_ref(double x) { return tanh(x); }

/*
 * A kernel's verdicts against double precision and the portable variant
 * (worst errors within limit; note qualifies their names) and run to run
 * (same bits), then its line of figures (measure: the error's kind).
 */
static void
verdicts(const char *isa, const char *name, const char *note, const char *measure,
		 double worst_ref, double worst_scalar, double limit, int same)
{
	char		what[128];

	snprintf(what, sizeof(what), "%s vs double%s", name, note);
	CHECK_LE(isa, what, worst_ref, limit);
	snprintf(what, sizeof(what), "%s vs scalar variant%s", name, note);
	CHECK_LE(isa, what, worst_scalar, limit);
	snprintf(what, sizeof(what), "%s same bits run to run", name);
	check(same, "%g %g", isa, what, 0, 0);
	printf("  [%s] %-9s %s vs double %.3g, vs scalar %.3g\n",
		   isa, name, measure, worst_ref, worst_scalar);
}

/*
 * An elementwise kernel on activations in [-10, 10]: against the double
 * reference, against the portable variant, run to run, and element by
 * element (no dependence on position or tail).
 */
static void
test_map(const char *isa, const char *name, MapFn f, double (*ref) (double))
{
	char		what[128];
	double		worst_ref = 0,
				worst_scalar = 0;
	int			same = 1,
				alone = 1;

	for (int si = 0; si < NSIZES; si++)
	{
		int			n = sizes[si];
		float	   *x = malloc(n * sizeof(float)),
				   *y = malloc(n * sizeof(float)),
				   *z = malloc(n * sizeof(float)),
				   *s = malloc(n * sizeof(float));

		for (int i = 0; i < n; i++)
			x[i] = (float) (i % 5 == 0 ? uniform(-10, 10) : uniform(-4, 4));
		same &= run_three(isa, map_call, &(MapArgs) {f, n}, x, y, z, s, n);
		for (int i = 0; i < n; i++)
		{
			double		e = fabs(y[i] - ref(x[i])),
						d = fabs((double) y[i] - s[i]);

			worst_ref = e > worst_ref ? e : worst_ref;
			worst_scalar = d > worst_scalar ? d : worst_scalar;
			if (i < 40)
			{
				float		one = x[i];

				f(&one, 1);
				alone &= memcmp(&one, &y[i], sizeof(float)) == 0;
			}
		}
		free(x);
		free(y);
		free(z);
		free(s);
	}
	snprintf(what, sizeof(what), "%s same bits alone as in an array", name);
	check(alone, "%g %g", isa, what, 0, 0);
	verdicts(isa, name, ", |x| <= 10", "max abs error", worst_ref, worst_scalar, 1e-6, same);
}

/* special values through the elementwise kernels */
static void
test_specials(const char *isa)
{
	float		v[6] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 30.0f};
	float		g[6],
				t[6];

	memcpy(g, v, sizeof(v));
	bcore_gelu(g, 6);
	check(isnan(g[0]) && isinf(g[1]) && g[1] > 0 && isnan(g[2]) == isnan(-INFINITY * 0.0f) &&
		  g[3] == 0 && g[5] == 30.0f, "%g %g", isa, "gelu of NaN, inf, -inf, 0, 30", 0, 0);
	memcpy(g, v, sizeof(v));
	bcore_gelu_fused(g, 6);
	check(isnan(g[0]) && isinf(g[1]) && g[1] > 0 && isnan(g[2]) == isnan(-INFINITY * 0.0f) &&
		  g[3] == 0 && g[5] == 30.0f, "%g %g", isa, "gelu_fused of NaN, inf, -inf, 0, 30", 0, 0);
	memcpy(t, v, sizeof(v));
	bcore_tanh(t, 6);
	check(isnan(t[0]) && t[1] == 1 && t[2] == -1 && t[3] == 0 && !signbit(t[3]) &&
		  t[4] == 0 && signbit(t[4]) && t[5] == 1, "%g %g", isa, "tanh of NaN, inf, -inf, 0, -0, 30", 0, 0);
}

static void
test_softmax(const char *isa)
{
	double		worst_ref = 0,
				worst_scalar = 0;
	int			same = 1,
				pad_ok = 1;

	for (int si = 0; si < NSIZES && sizes[si] <= 1536 + 3; si++)
	{
		int			n = sizes[si],
					rows = 3,
					ld = n + 5;
		size_t		len = (size_t) rows * ld;
		float	   *x = malloc(len * sizeof(float)),
				   *y = malloc(len * sizeof(float)),
				   *z = malloc(len * sizeof(float)),
				   *s = malloc(len * sizeof(float));

		for (size_t i = 0; i < len; i++)
			x[i] = (float) uniform(-30, 30);
		same &= run_three(isa, softmax_call, &(RowArgs) {.rows = rows, .n = n, .ld = ld}, x, y, z, s, len);
		for (int r = 0; r < rows; r++)
		{
			const float *xr = x + (size_t) r * ld;
			double		max = xr[0],
						sum = 0;

			for (int i = 1; i < n; i++)
				max = xr[i] > max ? xr[i] : max;
			for (int i = 0; i < n; i++)
				sum += exp(xr[i] - max);
			for (int i = 0; i < n; i++)
			{
				size_t		k = (size_t) r * ld + i;
				double		e = fabs(y[k] - exp(xr[i] - max) / sum),
							d = fabs((double) y[k] - s[k]);

				worst_ref = e > worst_ref ? e : worst_ref;
				worst_scalar = d > worst_scalar ? d : worst_scalar;
			}
			for (int i = n; i < ld; i++)
				pad_ok &= memcmp(&y[(size_t) r * ld + i], &x[(size_t) r * ld + i], sizeof(float)) == 0;
		}
		free(x);
		free(y);
		free(z);
		free(s);
	}
	check(pad_ok, "%g %g", isa, "softmax leaves the row padding alone", 0, 0);
	verdicts(isa, "softmax", "", "max abs error", worst_ref, worst_scalar, 1e-6, same);
}

static void
test_layernorm(const char *isa)
{
	double		worst_ref = 0,
				worst_scalar = 0;
	int			same = 1;

	for (int si = 0; si < NSIZES && sizes[si] <= 1536 + 3; si++)
	{
		int			n = sizes[si],
					rows = 5;
		size_t		len = (size_t) rows * n;
		float	   *x = malloc(len * sizeof(float)),
				   *y = malloc(len * sizeof(float)),
				   *z = malloc(len * sizeof(float)),
				   *s = malloc(len * sizeof(float)),
				   *g = malloc(n * sizeof(float)),
				   *b = malloc(n * sizeof(float));

		/* hidden states: an offset per row, a few large features */
		for (int r = 0; r < rows; r++)
		{
			double		off = uniform(-2, 2);

			for (int i = 0; i < n; i++)
				x[(size_t) r * n + i] = (float) (off + uniform(-1, 1) * (i % 61 == 3 ? 8 : 1));
		}
		for (int i = 0; i < n; i++)
		{
			g[i] = (float) uniform(0.2, 1.5);
			b[i] = (float) uniform(-0.3, 0.3);
		}
		same &= run_three(isa, layernorm_call, &(RowArgs) {.rows = rows, .n = n, .g = g, .b = b},
						  x, y, z, s, len);
		for (int r = 0; r < rows; r++)
		{
			const float *xr = x + (size_t) r * n;
			double		mean = 0,
						var = 0;

			for (int i = 0; i < n; i++)
				mean += xr[i];
			mean /= n;
			for (int i = 0; i < n; i++)
				var += (xr[i] - mean) * (xr[i] - mean);
			var /= n;
			for (int i = 0; i < n; i++)
			{
				size_t		k = (size_t) r * n + i;
				double		want = (xr[i] - mean) / sqrt(var + 1e-12) * g[i] + b[i],
							e = fabs(y[k] - want) / (1 + fabs(want)),
							d = fabs((double) y[k] - s[k]) / (1 + fabs(want));

				worst_ref = e > worst_ref ? e : worst_ref;
				worst_scalar = d > worst_scalar ? d : worst_scalar;
			}
		}
		free(x);
		free(y);
		free(z);
		free(s);
		free(g);
		free(b);
	}
	verdicts(isa, "layernorm", ", relative", "max error / (1 + |y|)", worst_ref, worst_scalar, 5e-7, same);
}

/*
 * Where a kernel's comment says it rounds like the portable code (no fused
 * multiply-add), every variant must give the same bits as that arithmetic
 * written out here (this file is built with -ffp-contract=off, like the
 * core): a compiler that contracts a * b + c behind the code's back fails.
 * LayerNorm rows of pairs of small integers (a, -a) have an exact mean (0)
 * and variance, so only the last step, (y - mean) * inv * g + b, can differ;
 * the GELUs are checked against the variant's own erf and tanh.
 */
/* gelu(v) = 0.5 v (1 + erf(v / sqrt 2)) bit for bit, in e and t's room */
static int
gelu_as_written(const float *v, int n, void (*erf_fn) (float *, size_t),
				void (*gelu_fn) (float *, size_t), float *e, float *t)
{
	int			same = 1;

	for (int i = 0; i < n; i++)
		e[i] = v[i] * (float) M_SQRT1_2;
	erf_fn(e, (size_t) n);
	memcpy(t, v, sizeof(float) * n);
	gelu_fn(t, (size_t) n);
	for (int i = 0; i < n; i++)
	{
		float		want = 0.5f * v[i] * (1.0f + e[i]);

		same &= memcmp(&want, &t[i], sizeof(float)) == 0;
	}
	return same;
}

static void
test_unfused(const char *isa)
{
	enum
	{
		N = 384, ROWS = 4, M = 4099
	};
	float		x[ROWS * N],
				g[N],
				b[N],
				v[M],
				e[M],
				t[M];
	int			ln_same = 1,
				gelu_same,
				gelu_fused_same,
				tanh_same = 1;

	for (int i = 0; i < N; i++)
	{
		g[i] = (float) uniform(0.2, 1.5);
		b[i] = (float) uniform(-0.3, 0.3);
	}
	for (int r = 0; r < ROWS; r++)
		for (int i = 0; i < N; i += 2)
		{
			float		a = (float) (int) uniform(1, 9);

			x[r * N + i] = a;
			x[r * N + i + 1] = -a;
		}
	{
		float		y[ROWS * N];

		memcpy(y, x, sizeof(x));
		bcore_layernorm(y, ROWS, N, g, b, 1e-12f);
		for (int r = 0; r < ROWS; r++)
		{
			double		sq = 0;
			float		inv;

			for (int i = 0; i < N; i++)
				sq += (double) x[r * N + i] * x[r * N + i];
			inv = (float) (1.0 / sqrt(sq / N + 1e-12f));
			for (int i = 0; i < N; i++)
			{
				float		d = (x[r * N + i] - 0.0f) * inv;
				float		want = d * g[i] + b[i];

				ln_same &= memcmp(&want, &y[r * N + i], sizeof(float)) == 0;
			}
		}
	}
	for (int i = 0; i < M; i++)
		v[i] = (float) uniform(-6, 6);
	/* gelu: 0.5 x (1 + erf(x / sqrt 2)), and the same for the products' */
	gelu_same = gelu_as_written(v, M, bcore_erf, bcore_gelu, e, t);
	gelu_fused_same = gelu_as_written(v, M, bcore_erf_fused, bcore_gelu_fused, e, t);
	/* gelu_tanh: 0.5 x (1 + tanh(c (x + a x^3))) */
	for (int i = 0; i < M; i++)
		e[i] = GELU_TANH_C * (v[i] + GELU_TANH_A * v[i] * v[i] * v[i]);
	bcore_tanh(e, M);
	memcpy(t, v, sizeof(v));
	bcore_gelu_tanh(t, M);
	for (int i = 0; i < M; i++)
	{
		float		want = 0.5f * v[i] * (1.0f + e[i]);

		tanh_same &= memcmp(&want, &t[i], sizeof(float)) == 0;
	}
	check(ln_same, "%g %g", isa, "layernorm's last step unfused, as written", 0, 0);
	check(gelu_same, "%g %g", isa, "gelu = 0.5 x (1 + erf(x / sqrt 2)) unfused, as written", 0, 0);
	check(gelu_fused_same, "%g %g", isa, "gelu_fused = 0.5 x (1 + erf_fused(x / sqrt 2)) unfused, as written", 0, 0);
	check(tanh_same, "%g %g", isa, "gelu_tanh = 0.5 x (1 + tanh(...)) unfused, as written", 0, 0);
}

/*
 * One attention head against a double-precision reference, on head widths
 * the SIMD code takes (32, 64; 16 and 48, one vector of 16 columns left
 * over) and one it hands to the portable code (12),
 * sequence lengths around the vector width, and views with a row stride
 * wider than the head, as in the encoder; columns outside the head's output
 * must stay untouched.
 */
static void
test_attention(const char *isa)
{
	static const int Ts[] = {1, 2, 7, 8, 9, 31, 33, 35, 64, 100};
	static const int ds[] = {32, 64, 12, 16, 48};
	double		worst_ref = 0,
				worst_scalar = 0;
	int			same = 1,
				outside_ok = 1;

	for (size_t di = 0; di < sizeof(ds) / sizeof(ds[0]); di++)
		for (size_t ti = 0; ti < sizeof(Ts) / sizeof(Ts[0]); ti++)
		{
			int			T = Ts[ti],
						d = ds[di],
						ld = 3 * d + 5;
			size_t		len = (size_t) T * ld;
			float	   *qkv = malloc(len * sizeof(float)),
					   *o = malloc(len * sizeof(float)),
					   *o2 = malloc(len * sizeof(float)),
					   *os = malloc(len * sizeof(float)),
					   *scratch = malloc(bcore_attention_scratch(T, d) * sizeof(float)),
					   *sc = malloc((size_t) T * sizeof(double) * 2);
			double	   *p = (double *) sc;
			float		scale = 1.0f / sqrtf((float) d);

			for (size_t i = 0; i < len; i++)
			{
				qkv[i] = (float) uniform(-3, 3);
				o[i] = o2[i] = os[i] = -7.0f;
			}
			/* q, k, v: columns 0, d and 2d + 5 of each row; output at column 1 */
			bcore_attention(qkv, qkv + d, qkv + 2 * d + 5, ld, T, d, scale, o + 1, ld, scratch);
			bcore_attention(qkv, qkv + d, qkv + 2 * d + 5, ld, T, d, scale, o2 + 1, ld, scratch);
			bcore_kernels_use("scalar");
			bcore_attention(qkv, qkv + d, qkv + 2 * d + 5, ld, T, d, scale, os + 1, ld, scratch);
			bcore_kernels_use(isa);
			same &= memcmp(o, o2, len * sizeof(float)) == 0;
			for (int i = 0; i < T; i++)
			{
				double		max = -INFINITY,
							sum = 0;

				for (int j = 0; j < T; j++)
				{
					double		dot = 0;

					for (int c = 0; c < d; c++)
						dot += (double) qkv[(size_t) i * ld + c] * qkv[(size_t) j * ld + d + c];
					p[j] = dot * scale;
					max = p[j] > max ? p[j] : max;
				}
				for (int j = 0; j < T; j++)
					sum += (p[j] = exp(p[j] - max));
				for (int c = 0; c < d; c++)
				{
					double		ref = 0,
								e;
					size_t		at = (size_t) i * ld + 1 + c;

					for (int j = 0; j < T; j++)
						ref += p[j] / sum * qkv[(size_t) j * ld + 2 * d + 5 + c];
					e = fabs(o[at] - ref);
					worst_ref = e > worst_ref ? e : worst_ref;
					e = fabs((double) o[at] - os[at]);
					worst_scalar = e > worst_scalar ? e : worst_scalar;
				}
				outside_ok &= o[(size_t) i * ld] == -7.0f;
				for (int c = d + 1; c < ld; c++)
					outside_ok &= o[(size_t) i * ld + c] == -7.0f;
			}
			free(qkv);
			free(o);
			free(o2);
			free(os);
			free(scratch);
			free(sc);
		}
	/*
	 * Scores reach about 30 here, so a float score carries ~2e-6 absolute
	 * rounding into exp(): the outputs (|v| < 3) may differ by a few 1e-6.
	 */
	check(outside_ok, "%g %g", isa, "attention writes only the head's columns", 0, 0);
	verdicts(isa, "attention", "", "max abs error", worst_ref, worst_scalar, 1e-5, same);
}

/*
 * Quantised products: the variant's c equals the portable code's bit for
 * bit (integer sums are exact; one fused multiply-add finishes each), and
 * both are within float rounding of the double-precision product of the
 * quantised values; odd row counts and n not a multiple of 4 take the tails.
 */
static void
test_linear_i16(const char *isa)
{
	static const int shapes[][3] = {{1, 4, 16}, {3, 5, 32}, {35, 384, 384}, {8, 7, 1536}, {2, 3, 24}};
	int			same = 1,
				q_same = 1;
	double		worst = 0;

	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	{
		int			m = shapes[si][0],
					n = shapes[si][1],
					k = shapes[si][2],
					ldc = n + 3;
		float	   *x = malloc(sizeof(float) * m * k),
				   *sx = malloc(sizeof(float) * m),
				   *sx2 = malloc(sizeof(float) * m),
				   *sw = malloc(sizeof(float) * n),
				   *c = malloc(sizeof(float) * m * ldc),
				   *c2 = malloc(sizeof(float) * m * ldc);
		int16_t    *xq = malloc(sizeof(int16_t) * m * k),
				   *xq2 = malloc(sizeof(int16_t) * m * k),
				   *wq = malloc(sizeof(int16_t) * n * k);

		for (int i = 0; i < m * k; i++)
			x[i] = (float) uniform(-4, 4) * (i % 7 == 0 ? 10.0f : 1.0f);
		for (int i = 0; i < n * k; i++)
			wq[i] = (int16_t) (uniform(-127.49, 127.49));
		for (int j = 0; j < n; j++)
			sw[j] = (float) uniform(0.001, 0.01);
		for (int i = 0; i < m * ldc; i++)
			c[i] = c2[i] = (float) uniform(-1, 1);
		bcore_quantize_rows(x, m, k, k, xq, sx);
		bcore_linear_i16(m, n, k, xq, sx, wq, sw, c, ldc);
		bcore_kernels_use("scalar");
		bcore_quantize_rows(x, m, k, k, xq2, sx2);
		bcore_linear_i16(m, n, k, xq2, sx2, wq, sw, c2, ldc);
		bcore_kernels_use(isa);
		q_same &= memcmp(xq, xq2, sizeof(int16_t) * m * k) == 0 &&
			memcmp(sx, sx2, sizeof(float) * m) == 0;
		same &= memcmp(c, c2, sizeof(float) * m * ldc) == 0;
		for (int i = 0; i < m; i++)
		{
			int			amax = 0;

			for (int t = 0; t < k; t++)
				amax = abs(xq[i * k + t]) > amax ? abs(xq[i * k + t]) : amax;
			q_same &= amax == bcore_qx_max(k);
		}
		free(x);
		free(sx);
		free(sx2);
		free(sw);
		free(c);
		free(c2);
		free(xq);
		free(xq2);
		free(wq);
	}
	/* against double: quantise, multiply in double, compare */
	{
		int			m = 5,
					n = 6,
					k = 48;
		float		x[5 * 48],
					sx[5],
					sw[6],
					c[5 * 6];
		int16_t		xq[5 * 48],
					wq[6 * 48];

		for (int i = 0; i < m * k; i++)
			x[i] = (float) uniform(-2, 2);
		for (int i = 0; i < n * k; i++)
			wq[i] = (int16_t) uniform(-127.49, 127.49);
		for (int j = 0; j < n; j++)
			sw[j] = (float) uniform(0.001, 0.01);
		memset(c, 0, sizeof(c));
		bcore_quantize_rows(x, m, k, k, xq, sx);
		bcore_linear_i16(m, n, k, xq, sx, wq, sw, c, n);
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++)
			{
				double		ref = 0,
							e;

				for (int t = 0; t < k; t++)
					ref += (double) xq[i * k + t] * wq[j * k + t];
				ref *= (double) sx[i] * sw[j];
				e = fabs(c[i * n + j] - ref) / (fabs(ref) + 1e-3);
				worst = e > worst ? e : worst;
			}
	}
	check(q_same, "%g %g", isa, "quantize_rows = portable, bit for bit, max |q| = bcore_qx_max(k)", 0, 0);
	check(same, "%g %g", isa, "linear_i16 = portable, bit for bit", 0, 0);
	CHECK_LE(isa, "linear_i16 vs double (relative)", worst, 1e-6);
	printf("  [%s] linear_i16 max relative error vs double %.3g\n", isa, worst);
}

/*
 * Linear layers on F16P weights: every output is bit for bit the chain of
 * fmaf() in order of k from c's value (the definition, so the same on every
 * variant), on 1 and 2 threads; within float rounding of the double
 * product; columns past n untouched.  Shapes take the row tails (m % 6 for
 * AVX2; every tile height, 1 to 12 rows on pairs of panels, 13 to 16 on one,
 * for AVX-512), pairs and single panels (n / 16 odd), a padded last panel
 * (n % 16) and more than one row block (k 1536: 42 rows).
 */
static uint16_t
random_half(void)
{
	/* finite: exponents 0 (subnormal) to 17, i.e. |w| < 8 */
	uint16_t	sign = uniform(0, 1) < 0.5 ? 0x8000 : 0;
	uint16_t	exp = (uint16_t) uniform(0, 18);
	uint16_t	mant = (uint16_t) uniform(0, 1024);

	return (uint16_t) (sign | exp << 10 | mant);
}

static void
test_linear_f16(const char *isa)
{
	static const int shapes[][3] = {{1, 16, 1}, {7, 40, 33}, {13, 384, 384}, {50, 24, 1536}, {5, 3, 8},
	{2, 32, 5}, {3, 48, 6}, {4, 64, 3}, {5, 80, 4}, {6, 32, 7}, {8, 48, 9}, {9, 64, 5}, {10, 32, 3},
	{11, 48, 4}, {12, 32, 6}, {13, 16, 5}, {14, 16, 3}, {15, 16, 4}, {16, 16, 6}, {26, 40, 20},
	{23, 80, 11}, {33, 96, 8}};
	int			exact = 1,
				threads_same = 1,
				untouched = 1,
				widened = 1,
				out_same = 1;
	double		worst = 0;

	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	{
		int			m = shapes[si][0],
					n = shapes[si][1],
					k = shapes[si][2],
					ldc = n + 3;
		float	   *x = malloc(sizeof(float) * m * k),
				   *w = malloc(sizeof(float) * n * k),
				   *c0 = malloc(sizeof(float) * m * ldc),
				   *c = malloc(sizeof(float) * m * ldc),
				   *c2 = malloc(sizeof(float) * m * ldc),
				   *bias = malloc(sizeof(float) * n),
				   *res = malloc(sizeof(float) * m * ldc);
		uint16_t   *p = calloc(bcore_f16p_halves(n, k), sizeof(uint16_t));

		for (int i = 0; i < m * k; i++)
			x[i] = (float) uniform(-2, 2);
		for (int j = 0; j < n; j++)
			for (int t = 0; t < k; t++)
			{
				uint16_t	h = random_half();

				p[bcore_f16p_index(j, t, k)] = h;
				w[j * k + t] = bcore_half_to_float(h);
			}
		for (int i = 0; i < m * ldc; i++)
			c0[i] = c[i] = c2[i] = (float) uniform(-1, 1);
		{
			float	   *b = malloc(sizeof(float) * n * k);

			bcore_f16p_widen(p, n, k, b);
			for (int j = 0; j < n; j++)
				for (int t = 0; t < k; t++)
					widened &= memcmp(&b[t * n + j], &w[j * k + t], sizeof(float)) == 0;
			free(b);
		}
		/* what the product writes besides (bias, residual every other
		 * shape, GELU every third, 1 or 2 threads) = filling c, the
		 * product, GELU, each on its own */
		for (int j = 0; j < n; j++)
			bias[j] = (float) uniform(-1, 1);
		for (int i = 0; i < m * ldc; i++)
			res[i] = (float) uniform(-1, 1);
		{
			BertLinearOut out = {si % 3 == 1 ? NULL : bias, si % 2 ? res : NULL, n + 1, si % 3 != 0};

			memcpy(c, c0, sizeof(float) * m * ldc);
			memcpy(c2, c0, sizeof(float) * m * ldc);
			bcore_linear_f16(m, n, k, x, k, p, &out, c, ldc, 1 + (int) si % 2);
			for (int i = 0; i < m; i++)
				if (out.bias != NULL)
					bcore_fill_rows(c2 + (size_t) i * ldc, 1, n, bias, out.residual ? res + (size_t) i * (n + 1) : NULL);
			bcore_linear_f16(m, n, k, x, k, p, NULL, c2, ldc, 1);
			for (int i = 0; i < m && out.gelu; i++)
				bcore_gelu_fused(c2 + (size_t) i * ldc, (size_t) n);
			out_same &= memcmp(c, c2, sizeof(float) * m * ldc) == 0;
			memcpy(c, c0, sizeof(float) * m * ldc);
			memcpy(c2, c0, sizeof(float) * m * ldc);
		}
		bcore_linear_f16(m, n, k, x, k, p, NULL, c, ldc, 1);
		bcore_linear_f16(m, n, k, x, k, p, NULL, c2, ldc, 2);
		threads_same &= memcmp(c, c2, sizeof(float) * m * ldc) == 0;
		for (int i = 0; i < m; i++)
		{
			for (int j = 0; j < n; j++)
			{
				float		chain = c0[i * ldc + j];
				double		ref = c0[i * ldc + j],
							mag = fabs(ref);

				for (int t = 0; t < k; t++)
				{
					chain = fmaf(x[i * k + t], w[j * k + t], chain);
					ref += (double) x[i * k + t] * w[j * k + t];
					mag += fabs((double) x[i * k + t] * w[j * k + t]);
				}
				exact &= memcmp(&chain, &c[i * ldc + j], sizeof(float)) == 0;
				worst = fmax(worst, fabs(c[i * ldc + j] - ref) / mag);
			}
			for (int j = n; j < ldc; j++)
				untouched &= c[i * ldc + j] == c0[i * ldc + j];
		}
		free(x);
		free(w);
		free(c0);
		free(c);
		free(c2);
		free(bias);
		free(res);
		free(p);
	}
	check(exact, "%g %g", isa, "linear_f16 = fmaf chain in order of k, bit for bit", 0, 0);
	check(threads_same, "%g %g", isa, "linear_f16: 2 threads = 1 thread, bit for bit", 0, 0);
	check(out_same, "%g %g", isa,
		  "linear_f16 writing bias (+ residual) and GELU = fill, product, GELU, bit for bit", 0, 0);
	check(untouched, "%g %g", isa, "linear_f16 leaves the columns past n alone", 0, 0);
	check(widened, "%g %g", isa, "f16p_widen gives W^T in fp32, bit for bit", 0, 0);
	CHECK_LE(isa, "linear_f16 vs double (relative to sum |x w|)", worst, 1e-6);
	printf("  [%s] linear_f16 max error vs double %.3g of sum |x w|\n", isa, worst);
}

/*
 * Products on Q8P weights: quantize_rows8 gives the portable code's bytes,
 * zero points and scales, and they reconstruct each input within a step
 * (0 exactly, zeros past k); linear_q8p gives the portable code's floats
 * bit for bit (exact integer sums, the same finish), on 1 and 2 threads,
 * within float rounding of the double product of the quantised values,
 * and leaves the columns past n alone; the same on weights widened to 16
 * bits for the variants that take them (bcore_q8p_widen).  Shapes take every tile height (1
 * to 12 rows on a pair of panels or one, 1 to 6 rows for AVX-VNNI, row
 * pairs for AVX2), chunks of unequal rows (26 = 9 + 9 + 8), single panels
 * (n / 16 odd), a part panel (n % 16), k not a multiple of 4, more than one
 * row block (k 1536: 168 rows; k 384: 672), inputs
 * with and without a smoothing multiplier, rows all positive, all
 * negative and all zero.
 */
static void
test_linear_q8p(const char *isa)
{
	static const int shapes[][3] = {{1, 16, 4}, {2, 32, 8}, {3, 48, 12}, {4, 64, 16}, {5, 80, 20},
	{6, 32, 4}, {7, 48, 8}, {8, 64, 12}, {9, 16, 16}, {10, 32, 20}, {11, 48, 4}, {12, 64, 8},
	{13, 40, 33}, {26, 384, 384}, {7, 5, 1536}, {170, 24, 1536}, {25, 70, 3}, {3, 3, 9},
	{700, 16, 384}};
	int			q_same = 1,
				q_close = 1,
				same = 1,
				threads_same = 1,
				untouched = 1,
				wide_same = 1,
				bias_same = 1;
	double		worst = 0;
	/* numbers of its own: the other tests keep the data they always drew */
	uint64_t	saved = rng;

	rng = 0x9E3779B97F4A7C15ULL;
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	{
		int			m = shapes[si][0],
					n = shapes[si][1],
					k = shapes[si][2],
					in4 = (int) bcore_q8p_in(k),
					ldc = n + 3;
		float	   *x = malloc(sizeof(float) * m * k),
				   *mult = si % 2 ? malloc(sizeof(float) * k) : NULL,
				   *sx = malloc(sizeof(float) * m),
				   *sx2 = malloc(sizeof(float) * m),
				   *sw = malloc(sizeof(float) * n),
				   *wsum = malloc(sizeof(float) * n),
				   *c0 = malloc(sizeof(float) * m * ldc),
				   *c = malloc(sizeof(float) * m * ldc),
				   *c2 = malloc(sizeof(float) * m * ldc),
				   *cs = malloc(sizeof(float) * m * ldc),
				   *cw = malloc(sizeof(float) * m * ldc),
				   *cw2 = malloc(sizeof(float) * m * ldc),
				   *bias = malloc(sizeof(float) * n),
				   *res = malloc(sizeof(float) * m * ldc),
				   *cb = malloc(sizeof(float) * m * ldc),
				   *cf = malloc(sizeof(float) * m * ldc);
		int16_t    *wide = malloc(sizeof(int16_t) * bcore_q8p_wide_count(n, k)),
				   *x16 = malloc(sizeof(int16_t) * m * bcore_q8p_in((uint32_t) k));
		uint8_t    *xq = malloc((size_t) m * in4),
				   *xq2 = malloc((size_t) m * in4);
		int8_t	   *wq = malloc((size_t) n * k),
				   *w = calloc(bcore_q8p_bytes(n, k), 1);
		int32_t    *zero = malloc(sizeof(int32_t) * m),
				   *zero2 = malloc(sizeof(int32_t) * m);
		uint8_t    *row = malloc(in4);

		for (int i = 0; i < m * k; i++)
			x[i] = (float) uniform(-4, 4) * (i % 7 == 0 ? 10.0f : 1.0f);
		for (int i = 0; mult && i < k; i++)
			mult[i] = (float) uniform(0.1, 3);
		for (int i = 0; m > 3 && i < k; i++)
		{
			x[k + i] = 0.0f;	/* a row of zeros: scale 0 */
			x[2 * k + i] = fabsf(x[2 * k + i]) + 0.5f;	/* all positive */
			x[3 * k + i] = -fabsf(x[3 * k + i]);	/* none positive */
		}
		for (int j = 0; j < n; j++)
		{
			wsum[j] = 0;
			for (int t = 0; t < k; t++)
			{
				wq[j * k + t] = (int8_t) uniform(-127.49, 127.49);
				w[bcore_q8p_index(j, t, k)] = wq[j * k + t];
				wsum[j] += wq[j * k + t];
			}
			sw[j] = (float) uniform(0.001, 0.01);
		}
		for (int i = 0; i < m * ldc; i++)
			c0[i] = c[i] = c2[i] = cs[i] = cw[i] = cw2[i] = (float) uniform(-1, 1);
		bcore_q8p_widen(w, n, k, wide);
		for (int j = 0; j < n; j++)
			bias[j] = (float) uniform(-1, 1);
		for (int i = 0; i < m * ldc; i++)
			res[i] = (float) uniform(-3, 3);

		bcore_quantize_rows8(x, m, k, k, mult, xq, zero, sx);
		bcore_linear_q8p(m, n, k, xq, zero, sx, w, NULL, NULL, wsum, sw, NULL, c, ldc, 1);
		bcore_linear_q8p(m, n, k, xq, zero, sx, w, NULL, NULL, wsum, sw, NULL, c2, ldc, 2);
		/* on widened weights where the variant takes them, else on the bytes
		 * again; the 16-bit activations in a buffer of its own, then in the
		 * caller's (as the encoder gives it) */
		bcore_linear_q8p(m, n, k, xq, zero, sx, w, wide, NULL, wsum, sw, NULL, cw, ldc, 1);
		bcore_linear_q8p(m, n, k, xq, zero, sx, w, wide, x16, wsum, sw, NULL, cw2, ldc, 2);
		/* c = bias (+ residual, every other shape) + product, against filling c first */
		for (int i = 0; i < m; i++)
			for (int j = 0; j < ldc; j++)
			{
				cb[i * ldc + j] = c0[i * ldc + j];
				cf[i * ldc + j] = j >= n ? c0[i * ldc + j] : si % 2 ? bias[j] + res[i * n + j] : bias[j];
			}
		/* and GELU on it, every third shape, against GELU over c afterwards */
		{
			BertLinearOut out = {bias, si % 2 ? res : NULL, n, si % 3 == 2};

			bcore_linear_q8p(m, n, k, xq, zero, sx, w, si % 3 ? wide : NULL, NULL, wsum, sw, &out,
							 cb, ldc, si % 4 == 1 ? 2 : 1);
			bcore_linear_q8p(m, n, k, xq, zero, sx, w, NULL, NULL, wsum, sw, NULL, cf, ldc, 1);
			for (int i = 0; i < m && out.gelu; i++)
				bcore_gelu_fused(cf + (size_t) i * ldc, (size_t) n);
		}
		bias_same &= memcmp(cb, cf, sizeof(float) * m * ldc) == 0;
		bcore_kernels_use("scalar");
		bcore_quantize_rows8(x, m, k, k, mult, xq2, zero2, sx2);
		bcore_linear_q8p(m, n, k, xq2, zero2, sx2, w, NULL, NULL, wsum, sw, NULL, cs, ldc, 1);
		bcore_kernels_use(isa);
		q_same &= memcmp(xq, xq2, (size_t) m * in4) == 0 && memcmp(zero, zero2, sizeof(int32_t) * m) == 0 &&
			memcmp(sx, sx2, sizeof(float) * m) == 0;
		same &= memcmp(c, cs, sizeof(float) * m * ldc) == 0;
		threads_same &= memcmp(c, c2, sizeof(float) * m * ldc) == 0;
		wide_same &= memcmp(cw, cs, sizeof(float) * m * ldc) == 0 &&
			memcmp(cw2, cs, sizeof(float) * m * ldc) == 0;
		for (int i = 0; i < m; i++)
		{
			int			nc;
			size_t		at = q8p_row_at(m, in4, i, &nc);

			/* row i of the chunked layout (ops_impl.h) back in a row */
			for (int t = 0; t < in4; t++)
				row[t] = xq[at + (size_t) (t / 4) * 4 * nc + t % 4];
			for (int t = 0; t < k; t++)
			{
				double		y = (double) x[i * k + t] * (mult ? mult[t] : 1.0f),
							back = (double) sx[i] * (row[t] - zero[i]);

				q_close &= fabs(back - y) <= sx[i] * 1.0001 && (y != 0 || row[t] == zero[i]);
			}
			for (int t = k; t < in4; t++)
				q_close &= row[t] == 0;
			for (int j = 0; j < n; j++)
			{
				double		dot = 0,
							ref,
							e;

				for (int t = 0; t < k; t++)
					dot += (double) (row[t] - zero[i]) * wq[j * k + t];
				dot *= (double) sx[i] * sw[j];
				ref = dot + c0[i * ldc + j];
				/* relative to the terms' magnitude: c is bias + product */
				e = fabs(c[i * ldc + j] - ref) / (fabs(dot) + fabs(c0[i * ldc + j]));
				worst = e > worst ? e : worst;
			}
			for (int j = n; j < ldc; j++)
				untouched &= c[i * ldc + j] == c0[i * ldc + j];
		}
		free(x);
		free(mult);
		free(sx);
		free(sx2);
		free(sw);
		free(wsum);
		free(c0);
		free(c);
		free(c2);
		free(cs);
		free(cw);
		free(cw2);
		free(bias);
		free(res);
		free(cb);
		free(cf);
		free(wide);
		free(x16);
		free(xq);
		free(xq2);
		free(wq);
		free(w);
		free(zero);
		free(zero2);
		free(row);
	}
	rng = saved;
	check(q_same, "%g %g", isa, "quantize_rows8 = portable: bytes, zero points, scales", 0, 0);
	check(q_close, "%g %g", isa, "quantize_rows8: scale (q - zero) within a step of x (times mult), 0 exact, 0 past k", 0, 0);
	check(same, "%g %g", isa, "linear_q8p = portable, bit for bit", 0, 0);
	check(threads_same, "%g %g", isa, "linear_q8p: 2 threads = 1 thread, bit for bit", 0, 0);
	check(untouched, "%g %g", isa, "linear_q8p leaves the columns past n alone", 0, 0);
	check(bias_same, "%g %g", isa, "linear_q8p with bias (+ residual) (+ GELU) = filled c + product (+ GELU), bit for bit", 0, 0);
	check(wide_same, "%g %g", isa, bcore_q8p_wants_wide() ?
		  "linear_q8p on widened weights (1, 2 threads) = portable, bit for bit" :
		  "linear_q8p given widened weights it does not take = portable, bit for bit", 0, 0);
	CHECK_LE(isa, "linear_q8p vs double (relative to |c| + |product|)", worst, 3e-7);
	printf("  [%s] linear_q8p max error vs double %.3g of |c| + |product|\n", isa, worst);
}

/*
 * Products on Q16P weights (model_format.h): quantize_rows16 gives the
 * portable code's int16 and scales, within half a step of each input (and
 * the rounding of x / scale), at
 * most bcore_q16_xmax(k), NaN as 0, zeros past k (a row with a NaN, one
 * with an inf, one of zeros); linear_q16p gives the portable code's floats
 * bit for bit on 1 and 2 threads, leaves the columns past n alone, writes
 * bias (+ residual) (+ GELU) as a filled c would, and is within float
 * rounding of the double product of the quantised values.  The shapes of
 * test_linear_q8p, and rows of BERT_QK_MAX inputs at the bounds: every
 * weight +-BERT_Q16_WMAX and every activation +-bcore_q16_xmax, whose sums
 * come within 0.03 % of INT32_MAX and must come out exact.
 */
static void
test_linear_q16p(const char *isa)
{
	static const int shapes[][3] = {{1, 16, 4}, {2, 32, 8}, {3, 48, 12}, {4, 64, 16}, {5, 80, 20},
	{6, 32, 4}, {7, 48, 8}, {8, 64, 12}, {9, 16, 16}, {10, 32, 20}, {11, 48, 4}, {12, 64, 8},
	{13, 40, 33}, {26, 384, 1536}, {7, 5, 1536}, {170, 24, 1536}, {25, 70, 3}, {3, 3, 9},
	{700, 16, 384}, {5, 48, BERT_QK_MAX}};
	int			q_same = 1,
				q_close = 1,
				same = 1,
				threads_same = 1,
				untouched = 1,
				bias_same = 1,
				bound_exact = 1;
	double		worst = 0;
	uint64_t	saved = rng;

	rng = 0xD1B54A32D192ED03ULL;
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
	{
		int			m = shapes[si][0],
					n = shapes[si][1],
					k = shapes[si][2],
					in4 = (int) bcore_q8p_in(k),
					ldc = n + 3,
					xmax = bcore_q16_xmax(k),
					bound = k == BERT_QK_MAX;
		float	   *x = malloc(sizeof(float) * m * k),
				   *sx = malloc(sizeof(float) * m),
				   *sx2 = malloc(sizeof(float) * m),
				   *sw = malloc(sizeof(float) * n),
				   *c0 = malloc(sizeof(float) * m * ldc),
				   *c = malloc(sizeof(float) * m * ldc),
				   *c2 = malloc(sizeof(float) * m * ldc),
				   *cs = malloc(sizeof(float) * m * ldc),
				   *bias = malloc(sizeof(float) * n),
				   *res = malloc(sizeof(float) * m * n),
				   *cb = malloc(sizeof(float) * m * ldc),
				   *cf = malloc(sizeof(float) * m * ldc);
		int16_t    *xq = malloc(sizeof(int16_t) * m * in4),
				   *xq2 = malloc(sizeof(int16_t) * m * in4),
				   *wq = malloc(sizeof(int16_t) * n * k),
				   *w = calloc(bcore_q8p_bytes(n, k), sizeof(int16_t)),
				   *row = malloc(sizeof(int16_t) * in4);

		for (int i = 0; i < m * k; i++)
			x[i] = bound ? (i % k % 3 ? 2.5f : -2.5f) : (float) uniform(-4, 4) * (i % 7 == 0 ? 10.0f : 1.0f);
		if (m > 3 && !bound)
			for (int i = 0; i < k; i++)
				x[k + i] = 0.0f;	/* a row of zeros: scale 0 */
		for (int j = 0; j < n; j++)
		{
			for (int t = 0; t < k; t++)
			{
				wq[j * k + t] = bound ? (int16_t) ((t % 3 ? 1 : -1) * (j % 2 ? 1 : -1) * BERT_Q16_WMAX) :
					(int16_t) uniform(-BERT_Q16_WMAX - 0.49, BERT_Q16_WMAX + 0.49);
				w[bcore_q16p_index(j, t, k)] = wq[j * k + t];
			}
			sw[j] = bound ? 1.0f : (float) uniform(0.001, 0.01);
			bias[j] = (float) uniform(-1, 1);
		}
		for (int i = 0; i < m * ldc; i++)
			c0[i] = c[i] = c2[i] = cs[i] = (float) uniform(-1, 1);
		for (int i = 0; i < m * n; i++)
			res[i] = (float) uniform(-3, 3);

		bcore_quantize_rows16(x, m, k, k, xq, sx);
		bcore_linear_q16p(m, n, k, xq, sx, w, sw, NULL, c, ldc, 1);
		bcore_linear_q16p(m, n, k, xq, sx, w, sw, NULL, c2, ldc, 2);
		for (int i = 0; i < m; i++)
			for (int j = 0; j < ldc; j++)
			{
				cb[i * ldc + j] = c0[i * ldc + j];
				cf[i * ldc + j] = j >= n ? c0[i * ldc + j] : si % 2 ? bias[j] + res[i * n + j] : bias[j];
			}
		{
			BertLinearOut out = {bias, si % 2 ? res : NULL, n, si % 3 == 2};

			bcore_linear_q16p(m, n, k, xq, sx, w, sw, &out, cb, ldc, si % 4 == 1 ? 2 : 1);
			bcore_linear_q16p(m, n, k, xq, sx, w, sw, NULL, cf, ldc, 1);
			for (int i = 0; i < m && out.gelu; i++)
				bcore_gelu_fused(cf + (size_t) i * ldc, (size_t) n);
		}
		bias_same &= memcmp(cb, cf, sizeof(float) * m * ldc) == 0;
		bcore_kernels_use("scalar");
		bcore_quantize_rows16(x, m, k, k, xq2, sx2);
		bcore_linear_q16p(m, n, k, xq2, sx2, w, sw, NULL, cs, ldc, 1);
		bcore_kernels_use(isa);
		q_same &= memcmp(xq, xq2, sizeof(int16_t) * m * in4) == 0 &&
			memcmp(sx, sx2, sizeof(float) * m) == 0;
		same &= memcmp(c, cs, sizeof(float) * m * ldc) == 0;
		threads_same &= memcmp(c, c2, sizeof(float) * m * ldc) == 0;
		for (int i = 0; i < m; i++)
		{
			int			nc = 0;
			size_t		at = q16_row_at(m, in4, i, &nc);

			/* row i of the chunked layout (ops_impl.h) back in a row */
			for (int t = 0; t < in4; t++)
				row[t] = xq[at + (size_t) (t / 2) * 2 * nc + t % 2];
			for (int t = 0; t < k; t++)
				q_close &= fabs((double) sx[i] * row[t] - x[i * k + t]) <= sx[i] * 0.501 &&
					abs(row[t]) <= xmax && (x[i * k + t] != 0 || row[t] == 0);
			for (int t = k; t < in4; t++)
				q_close &= row[t] == 0;
			for (int j = 0; j < n; j++)
			{
				double		dot = 0,
							ref,
							e;
				int64_t		isum = 0;

				for (int t = 0; t < k; t++)
					isum += (int64_t) row[t] * wq[j * k + t];
				if (bound)
					bound_exact &= llabs(isum) > (int64_t) INT32_MAX * 9997 / 10000 &&
						c[i * ldc + j] == fmaf((float) isum, sx[i] * sw[j], c0[i * ldc + j]);
				dot = (double) isum * sx[i] * sw[j];
				ref = dot + c0[i * ldc + j];
				e = fabs(c[i * ldc + j] - ref) / (fabs(dot) + fabs(c0[i * ldc + j]));
				worst = e > worst ? e : worst;
			}
			for (int j = n; j < ldc; j++)
				untouched &= c[i * ldc + j] == c0[i * ldc + j];
		}
		free(x);
		free(sx);
		free(sx2);
		free(sw);
		free(c0);
		free(c);
		free(c2);
		free(cs);
		free(bias);
		free(res);
		free(cb);
		free(cf);
		free(xq);
		free(xq2);
		free(wq);
		free(w);
		free(row);
	}

	/* a NaN, an inf, and the rest of their rows */
	{
		float		x[3 * 20],
					sx[3],
					sx2[3];
		int16_t		xq[3 * 20],
					xq2[3 * 20];
		int			nc,
					xmax = bcore_q16_xmax(20);

		for (int i = 0; i < 60; i++)
			x[i] = (float) uniform(-1, 1);
		x[3] = NAN;
		x[25] = INFINITY;
		x[45] = 3.0f;
		bcore_quantize_rows16(x, 3, 20, 20, xq, sx);
		bcore_kernels_use("scalar");
		bcore_quantize_rows16(x, 3, 20, 20, xq2, sx2);
		bcore_kernels_use(isa);
		q_same &= memcmp(xq, xq2, sizeof(xq)) == 0 && memcmp(sx, sx2, sizeof(sx)) == 0;
		q16_row_at(3, 20, 0, &nc);
		/* row 0: the NaN is 0 and the others scale as without it; row 1:
		 * scale inf, every value 0; row 2: 3.0 is the largest */
		q_close &= xq[(1 * nc + 0) * 2 + 1] == 0 && isinf(sx[1]) && sx[2] == 3.0f / xmax &&
			xq[(2 * nc + 2) * 2 + 1] == xmax;
		for (int t = 0; t < 20; t++)
			q_close &= xq[((size_t) (t / 2) * nc + 1) * 2 + t % 2] == 0;
	}
	rng = saved;
	check(q_same, "%g %g", isa, "quantize_rows16 = portable: int16 and scales", 0, 0);
	check(q_close, "%g %g", isa, "quantize_rows16: within half a step, within xmax, NaN and past k 0", 0, 0);
	check(same, "%g %g", isa, "linear_q16p = portable, bit for bit", 0, 0);
	check(threads_same, "%g %g", isa, "linear_q16p: 2 threads = 1 thread, bit for bit", 0, 0);
	check(untouched, "%g %g", isa, "linear_q16p leaves the columns past n alone", 0, 0);
	check(bias_same, "%g %g", isa, "linear_q16p with bias (+ residual) (+ GELU) = filled c + product (+ GELU), bit for bit", 0, 0);
	check(bound_exact, "%g %g", isa, "linear_q16p at the bounds (sums near INT32_MAX): exact", 0, 0);
	CHECK_LE(isa, "linear_q16p vs double (relative to |c| + |product|)", worst, 3e-7);
	printf("  [%s] linear_q16p max error vs double %.3g of |c| + |product|\n", isa, worst);
}

static void
test_fill_rows(const char *isa)
{
	int			ok = 1;

	for (int si = 0; si < NSIZES && sizes[si] <= 1536 + 3; si++)
	{
		int			n = sizes[si],
					rows = 3;
		size_t		len = (size_t) rows * n;
		float	   *y = malloc(len * sizeof(float)),
				   *res = malloc(len * sizeof(float)),
				   *bias = malloc(n * sizeof(float));

		for (size_t i = 0; i < len; i++)
			res[i] = (float) uniform(-5, 5);
		for (int i = 0; i < n; i++)
			bias[i] = (float) uniform(-1, 1);
		bcore_fill_rows(y, rows, n, bias, res);
		for (size_t i = 0; i < len; i++)
			ok &= y[i] == bias[i % n] + res[i];
		bcore_fill_rows(y, rows, n, bias, NULL);
		for (size_t i = 0; i < len; i++)
			ok &= y[i] == bias[i % n];
		free(y);
		free(res);
		free(bias);
	}
	check(ok, "%g %g", isa, "fill_rows = bias (+ residual), exactly", 0, 0);
}

int
main(void)
{
	const char *isas[] = {"scalar", "avx2", "avx2-vnni", "avx512", "avx512-vnni"};
	const char *needs[] = {"", "AVX2, FMA and F16C", "AVX-VNNI", "AVX-512 F/DQ/BW/VL", "AVX512-VNNI"};
	const char *best = bcore_kernels_isa();

	check(strcmp(best, "avx512-vnni") == 0 || strcmp(best, "avx512") == 0 || strcmp(best, "avx2-vnni") == 0 ||
		  strcmp(best, "avx2") == 0 || strcmp(best, "scalar") == 0,
		  "%g %g", best, "bcore_kernels_isa() names a variant", 0, 0);
	printf("test_ops: best variant on this CPU: %s (features: %s)\n", best, bcore_cpu_features());
	check(bcore_kernels_use("no-such-isa") == -1 && strcmp(bcore_kernels_isa(), best) == 0,
		  "%g %g", best, "an unknown variant is refused", 0, 0);

	/* bcore_half_to_float against double arithmetic on all 65 536 halves */
	{
		int			ok = 1;

		for (uint32_t h = 0; h < 65536; h++)
		{
			int			e = (int) (h >> 10 & 0x1F),
						mant = (int) (h & 0x3FF);
			double		v = e == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, e - 25);
			float		f = bcore_half_to_float((uint16_t) h);

			if (h & 0x8000)
				v = -v;
			if (e == 31)
				ok &= mant == 0 ? (isinf(f) && (signbit(f) != 0) == (h >> 15 != 0)) : isnan(f);
			else
				ok &= (double) f == v && (signbit(f) != 0) == (h >> 15 != 0);
		}
		check(ok, "%g %g", best, "bcore_half_to_float is exact on every half", 0, 0);
	}

	for (int v = 0; v < 5; v++)
	{
		const char *isa = isas[v];
		int			passed0 = passed,
					failed0 = failed;

		if (bcore_kernels_use(isa) != 0)
		{
			printf("  [%s] SKIPPED (this CPU lacks %s)\n", isa, needs[v]);
			continue;
		}
		/* a -vnni variant is its base but for the int8 products */
		if (strstr(isa, "-vnni") != NULL)
		{
			test_linear_q8p(isa);
			test_linear_q16p(isa);
			printf("  [%s] %d passed, %d failed\n", isa, passed - passed0, failed - failed0);
			continue;
		}
		if (strcmp(isa, "scalar") != 0)
			test_sweeps(isa);
		test_map(isa, "gelu", bcore_gelu, gelu_ref);
		test_map(isa, "gelu_tanh", bcore_gelu_tanh, gelu_tanh_ref);
		test_map(isa, "tanh", bcore_tanh, tanh_ref);
		test_specials(isa);
		test_softmax(isa);
		test_layernorm(isa);
		test_unfused(isa);
		test_fill_rows(isa);
		test_attention(isa);
		test_linear_i16(isa);
		test_linear_f16(isa);
		test_linear_q8p(isa);
		test_linear_q16p(isa);
		/* on random numbers of its own: the other tests' inputs stay as they were */
		{
			uint64_t	kept = rng;

			test_map(isa, "gelu_fused", bcore_gelu_fused, gelu_ref);
			rng = kept;
		}
		printf("  [%s] %d passed, %d failed\n", isa, passed - passed0, failed - failed0);
	}
	bcore_kernels_use(NULL);
	check(strcmp(bcore_kernels_isa(), best) == 0, "%g %g", best, "bcore_kernels_use(NULL) restores the best", 0, 0);

	return unit_report("test_ops");
}
