/*
 * fit_poly.c — where the polynomial coefficients in src/core/ops_impl.h come
 * from.
 *
 * Near-minimax fits by Lawson's algorithm (iteratively reweighted least
 * squares, solved by Householder QR in long double) on a dense grid, against
 * glibc's long double erfl/erfcl/expl/tanhl.  Prints the coefficients rounded
 * to float and the weighted error of the fit before that rounding.
 *
 *   cc -O2 -o bench/fit_poly bench/fit_poly.c -lm && bench/fit_poly
 *   bench/fit_poly erf-table     (ops_impl.h's ERF_TABLE: AVX-512's erf)
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M 6000
#define MAXC 16

typedef long double ld;

/* One fit: the variable v(x) the polynomial is in, the target g(x) and the
 * weight w(x) that turns the polynomial's error into the result's. */
typedef struct Fit
{
	const char *name;
	ld			lo, hi;			/* interval of x */
	int			degree;
	ld			(*v) (ld x);
	ld			(*g) (ld x);
	ld			(*w) (ld x);
} Fit;

/* least squares: minimise |A c - b|, A is m x n, by Householder QR */
static void
lsq(int m, int n, ld *A, ld *b, ld *c)
{
	for (int j = 0; j < n; j++)
	{
		ld			norm = 0,
					s,
					vnorm = 0;

		for (int i = j; i < m; i++)
			norm += A[i * n + j] * A[i * n + j];
		norm = sqrtl(norm);
		s = A[j * n + j] > 0 ? -norm : norm;
		A[j * n + j] -= s;
		for (int i = j; i < m; i++)
			vnorm += A[i * n + j] * A[i * n + j];
		for (int k = j + 1; k < n; k++)
		{
			ld			d = 0;

			for (int i = j; i < m; i++)
				d += A[i * n + j] * A[i * n + k];
			d = 2 * d / vnorm;
			for (int i = j; i < m; i++)
				A[i * n + k] -= d * A[i * n + j];
		}
		{
			ld			d = 0;

			for (int i = j; i < m; i++)
				d += A[i * n + j] * b[i];
			d = 2 * d / vnorm;
			for (int i = j; i < m; i++)
				b[i] -= d * A[i * n + j];
		}
		A[j * n + j] = s;		/* R's diagonal */
	}
	for (int j = n - 1; j >= 0; j--)
	{
		ld			d = b[j];

		for (int k = j + 1; k < n; k++)
			d -= A[j * n + k] * c[k];
		c[j] = d / A[j * n + j];
	}
}

/* Lawson's fit of f: its coefficients into c, its weighted max error returned */
static ld
fit_coeffs(const Fit *f, ld *c)
{
	static ld	x[M], lam[M], A[M * MAXC], b[M], err[M];
	int			n = f->degree + 1;
	ld			maxerr = 0;

	for (int i = 0; i < M; i++)
	{
		/* Chebyshev-spaced points: dense near the ends */
		ld			t = cosl(M_PIl * (i + 0.5L) / M);

		x[i] = f->lo + (f->hi - f->lo) * (1 - t) / 2;
		lam[i] = 1.0L / M;
	}
	for (int it = 0; it < 300; it++)
	{
		ld			tot = 0;

		for (int i = 0; i < M; i++)
		{
			ld			sw = sqrtl(lam[i]) * f->w(x[i]),
						p = 1,
						vv = f->v(x[i]);

			for (int j = 0; j < n; j++, p *= vv)
				A[i * n + j] = sw * p;
			b[i] = sw * f->g(x[i]);
		}
		lsq(M, n, A, b, c);
		maxerr = 0;
		for (int i = 0; i < M; i++)
		{
			ld			p = 0,
						vv = f->v(x[i]);

			for (int j = n - 1; j >= 0; j--)
				p = p * vv + c[j];
			err[i] = fabsl(f->w(x[i]) * (f->g(x[i]) - p));
			if (err[i] > maxerr)
				maxerr = err[i];
			tot += lam[i] * err[i];
		}
		for (int i = 0; i < M; i++)
			lam[i] = lam[i] * err[i] / tot;
	}
	return maxerr;
}

static void
fit(const Fit *f)
{
	ld			c[MAXC];
	ld			maxerr = fit_coeffs(f, c);

	printf("%s: degree %d on [%Lg, %Lg], weighted max error %.3Le\n",
		   f->name, f->degree, f->lo, f->hi, maxerr);
	for (int j = 0; j <= f->degree; j++)
		printf("  c%-2d = %.9ef\n", j, (double) (float) c[j]);
}

/* erf, |x| < 0.921875: erf(x) = x + x P(x^2) */
static ld v_sq(ld x) { return x * x; }
static ld g_erf_small(ld x) { return x == 0 ? 2 / sqrtl(M_PIl) - 1 : erfl(x) / x - 1; }
static ld w_x(ld x) { return x; }

/* erf, 0.921875 <= |x| < 3.92: erf(x) = 1 - exp(Q(x - 2.5)) */
#define ERF_MID 0.921875L
static ld ERF_C = ERF_MID;
static ld v_shift(ld x) { return x - ERF_C; }
static ld g_logerfc(ld x) { return logl(erfcl(x)); }
static ld w_erfc(ld x) { return erfcl(x); }

/* exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2, relative error */
static ld v_id(ld x) { return x; }
static ld g_exp(ld r) { return r == 0 ? 0.5L : (expl(r) - 1 - r) / (r * r); }
static ld w_exp(ld r) { return r * r / expl(r); }

/* tanh(x) = x + x^3 P(x^2), |x| < 0.625, relative error */
static ld g_tanh(ld x) { return x == 0 ? -1.0L / 3 : (tanhl(x) - x) / (x * x * x); }
static ld w_tanh(ld x) { return x == 0 ? 0 : x * x * x / tanhl(x); }

/*
 * erf on [0, ERF_TABLE_N / ERF_TABLE_PER) in ERF_TABLE_N pieces of
 * 1/ERF_TABLE_PER, each a polynomial of degree ERF_TABLE_DEGREE in x - its
 * centre, relative error.  The first is x + x q(x), in x itself: its c0 is
 * 0 and stands for the x added last, so that erf keeps its relative
 * precision down to the smallest x (x q(x) alone, with q near 2 / sqrt pi,
 * loses an ulp to q's rounding).  Printed as ops_impl.h's ERF_TABLE rows,
 * c0 first.
 */
#define ERF_TABLE_N 32
#define ERF_TABLE_PER 8
#define ERF_TABLE_DEGREE 5
static ld piece_centre;
static ld v_piece(ld x) { return x - piece_centre; }
static ld g_erf(ld x) { return erfl(x); }
static ld w_rel_erf(ld x) { return 1 / erfl(x); }
static ld g_erf_over_x_m1(ld x) { return x == 0 ? 2 / sqrtl(M_PIl) - 1 : erfl(x) / x - 1; }
static ld w_rel_over(ld x) { return x == 0 ? sqrtl(M_PIl) / 2 : x / erfl(x); }

static void
erf_table(void)
{
	ld			c[ERF_TABLE_N][MAXC];
	ld			worst = 0;

	for (int i = 0; i < ERF_TABLE_N; i++)
	{
		ld			lo = (ld) i / ERF_TABLE_PER,
					hi = (ld) (i + 1) / ERF_TABLE_PER,
					e;

		if (i == 0)
		{
			Fit			f = {"erf piece 0", 1e-6L, hi, ERF_TABLE_DEGREE - 1, v_id, g_erf_over_x_m1, w_rel_over};
			ld			q[MAXC];

			e = fit_coeffs(&f, q);
			c[i][0] = 0;
			for (int j = 0; j < ERF_TABLE_DEGREE; j++)
				c[i][j + 1] = q[j];
		}
		else
		{
			Fit			f = {"erf piece", lo, hi, ERF_TABLE_DEGREE, v_piece, g_erf, w_rel_erf};

			piece_centre = (lo + hi) / 2;
			e = fit_coeffs(&f, c[i]);
		}
		if (e > worst)
			worst = e;
	}
	printf("/* bench/fit_poly erf-table: erf on [0, %d) in %d pieces, degree %d, "
		   "relative max error %.3Le before rounding to float */\n",
		   ERF_TABLE_N / ERF_TABLE_PER, ERF_TABLE_N, ERF_TABLE_DEGREE, worst);
	printf("#define ERF_TABLE_N %d\n#define ERF_TABLE_PER %d\n#define ERF_TABLE_DEGREE %d\n",
		   ERF_TABLE_N, ERF_TABLE_PER, ERF_TABLE_DEGREE);
	printf("#define ERF_TABLE { \\\n");
	for (int j = 0; j <= ERF_TABLE_DEGREE; j++)
	{
		printf("\t{");
		for (int i = 0; i < ERF_TABLE_N; i++)
			printf("%s%.9ef", i == 0 ? "" : i % 4 == 0 ? ", \\\n\t " : ", ", (double) (float) c[i][j]);
		printf("}%s \\\n", j < ERF_TABLE_DEGREE ? "," : "");
	}
	printf("}\n");
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "erf-table") == 0)
	{
		erf_table();
		return 0;
	}
	{
	int			ds = argc > 1 ? atoi(argv[1]) : 6;
	int			dl = argc > 2 ? atoi(argv[2]) : 10;
	Fit			fits[] = {
		{"erf small", 1e-6L, ERF_MID, ds, v_sq, g_erf_small, w_x},
		{"erf large (log erfc, in x - 0.921875)", ERF_MID, 3.92L, dl, v_shift, g_logerfc, w_erfc},
		{"exp", -0.34658L, 0.34658L, 5, v_id, g_exp, w_exp},
		{"tanh small", 1e-6L, 0.625L, 6, v_sq, g_tanh, w_tanh},
	};

	for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++)
		fit(&fits[i]);
	}
	return 0;
}
