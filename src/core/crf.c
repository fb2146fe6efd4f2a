/*
 * crf.c — a linear-chain CRF over a token head's log-probabilities: the BIO
 * rule, Viterbi decoding and maximum-likelihood training of the transitions.
 *
 *   Viterbi:   v_1[j] = start[j] + e_1[j]
 *              v_t[j] = max_i (v_t-1[i] + trans[i][j]) + e_t[j]
 *   training:  NLL = log Z - score(gold);  d/d trans[i][j] = E[count i->j] - gold count
 *              (forward-backward in log space)
 */
#include "crf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* get_tag() of entities.c: 1 for B-, 2 for I-, 0 for anything else; the type after the prefix. */
static int
bio_prefix(const char *name, size_t len, const char **type, size_t *type_len)
{
	if (len >= 2 && name[1] == '-' && (name[0] == 'B' || name[0] == 'I'))
	{
		*type = name + 2;
		*type_len = len - 2;
		return name[0] == 'B' ? 1 : 2;
	}
	*type = name;
	*type_len = len;
	return 0;
}

void
bcore_bio_allowed(const char *const *names, const size_t *lens, int k,
				  uint8_t *allowed, uint8_t *first)
{
	for (int j = 0; j < k; j++)
	{
		const char *tj;
		size_t		lj;
		int			pj = bio_prefix(names[j], lens[j], &tj, &lj);

		first[j] = pj != 2;
		for (int i = 0; i < k; i++)
		{
			const char *ti;
			size_t		li;
			int			pi = bio_prefix(names[i], lens[i], &ti, &li);

			allowed[(size_t) i * k + j] = pj != 2 ||
				(pi != 0 && li == lj && memcmp(ti, tj, lj) == 0);
		}
	}
}

#define NEG_INF (-INFINITY)

int
bcore_viterbi(const float *emit, int n, int k, const BertTransitions *crf,
			  const uint8_t *allowed, const uint8_t *first, int *path)
{
	double	   *v,
			   *next;
	int		   *back;
	int			best = -1;
	double		best_v = NEG_INF;

	if (n <= 0)
		return 0;
	v = malloc(sizeof(double) * 2 * (size_t) k);
	back = malloc(sizeof(int) * (size_t) n * k);
	if (v == NULL || back == NULL)
	{
		free(v);
		free(back);
		return -1;
	}
	next = v + k;
	for (int j = 0; j < k; j++)
		v[j] = first && !first[j] ? NEG_INF :
			(double) emit[j] + (crf ? crf->start[j] : 0.0);
	for (int t = 1; t < n; t++)
	{
		for (int j = 0; j < k; j++)
		{
			double		m = NEG_INF;
			int			arg = -1;

			for (int i = 0; i < k; i++)
			{
				double		s;

				if ((allowed && !allowed[(size_t) i * k + j]) || v[i] == NEG_INF)
					continue;
				s = v[i] + (crf ? crf->trans[(size_t) i * k + j] : 0.0);
				if (arg < 0 || s > m)
				{
					m = s;
					arg = i;
				}
			}
			back[(size_t) t * k + j] = arg;
			next[j] = arg < 0 ? NEG_INF : m + emit[(size_t) t * k + j];
		}
		memcpy(v, next, sizeof(double) * k);
	}
	for (int j = 0; j < k; j++)
	{
		double		s;

		if (v[j] == NEG_INF)
			continue;
		s = v[j] + (crf ? crf->end[j] : 0.0);
		if (best < 0 || s > best_v)
		{
			best = j;
			best_v = s;
		}
	}
	if (best < 0)
	{
		free(v);
		free(back);
		return -2;
	}
	path[n - 1] = best;
	for (int t = n - 1; t > 0; t--)
		path[t - 1] = back[(size_t) t * k + path[t]];
	free(v);
	free(back);
	return 0;
}

/* log(exp(a) + exp(b)), with -inf for "impossible" */
static double
log_add(double a, double b)
{
	double		m;

	if (a == NEG_INF)
		return b;
	if (b == NEG_INF)
		return a;
	m = a > b ? a : b;
	return m + log(exp(a - m) + exp(b - m));
}

/*
 * One sequence (emit: n x k, gold y): add the gradient of its NLL to gt,
 * gs, ge (trans, start, end) and return the NLL.  alpha, beta: n x k.
 */
static double
sequence_grad(const float *emit, const int *y, int n, int k, const float *trans,
			  const float *start, const float *end, const uint8_t *allowed,
			  const uint8_t *first, double *alpha, double *beta,
			  double *gt, double *gs, double *ge)
{
	double		logz = NEG_INF,
				gold;

	/* forward */
	for (int j = 0; j < k; j++)
		alpha[j] = first[j] ? (double) start[j] + emit[j] : NEG_INF;
	for (int t = 1; t < n; t++)
		for (int j = 0; j < k; j++)
		{
			double		a = NEG_INF;

			for (int i = 0; i < k; i++)
				if (allowed[(size_t) i * k + j])
					a = log_add(a, alpha[(size_t) (t - 1) * k + i] + trans[(size_t) i * k + j]);
			alpha[(size_t) t * k + j] = a + emit[(size_t) t * k + j];
		}
	for (int j = 0; j < k; j++)
		logz = log_add(logz, alpha[(size_t) (n - 1) * k + j] + end[j]);

	/* backward */
	for (int i = 0; i < k; i++)
		beta[(size_t) (n - 1) * k + i] = end[i];
	for (int t = n - 2; t >= 0; t--)
		for (int i = 0; i < k; i++)
		{
			double		b = NEG_INF;

			for (int j = 0; j < k; j++)
				if (allowed[(size_t) i * k + j])
					b = log_add(b, trans[(size_t) i * k + j] + emit[(size_t) (t + 1) * k + j] +
								beta[(size_t) (t + 1) * k + j]);
			beta[(size_t) t * k + i] = b;
		}

	/* expected counts minus gold counts */
	for (int j = 0; j < k; j++)
	{
		if (alpha[j] != NEG_INF)
			gs[j] += exp(alpha[j] + beta[j] - logz);
		if (alpha[(size_t) (n - 1) * k + j] != NEG_INF)
			ge[j] += exp(alpha[(size_t) (n - 1) * k + j] + end[j] - logz);
	}
	for (int t = 1; t < n; t++)
		for (int i = 0; i < k; i++)
		{
			double		ai = alpha[(size_t) (t - 1) * k + i];

			if (ai == NEG_INF)
				continue;
			for (int j = 0; j < k; j++)
				if (allowed[(size_t) i * k + j])
					gt[(size_t) i * k + j] += exp(ai + trans[(size_t) i * k + j] +
												  emit[(size_t) t * k + j] +
												  beta[(size_t) t * k + j] - logz);
		}
	gold = (double) start[y[0]] + emit[y[0]] + end[y[n - 1]];
	gs[y[0]] -= 1.0;
	ge[y[n - 1]] -= 1.0;
	for (int t = 1; t < n; t++)
	{
		gold += (double) trans[(size_t) y[t - 1] * k + y[t]] + emit[(size_t) t * k + y[t]];
		gt[(size_t) y[t - 1] * k + y[t]] -= 1.0;
	}
	return logz - gold;
}

int
bcore_crf_train(const float *emit, const int *seq_start, int n_seq, int k,
				const int *y, const uint8_t *allowed, const uint8_t *first,
				int steps, float learning_rate, float l2,
				float *trans, float *start, float *end, double *loss)
{
	size_t		np = (size_t) k * k + 2 * (size_t) k;
	int			longest = 0;
	double	   *alpha,
			   *beta,
			   *g,
			   *m,
			   *v;
	float	   *theta;
	double		nll = 0.0;

	if (n_seq < 1 || k < 1 || steps < 0)
		return -2;
	for (int s = 0; s < n_seq; s++)
	{
		int			len = seq_start[s + 1] - seq_start[s];

		if (len < 1)
			return -2;
		longest = len > longest ? len : longest;
		for (int t = seq_start[s]; t < seq_start[s + 1]; t++)
			if (y[t] < 0 || y[t] >= k || (t == seq_start[s] ? !first[y[t]] :
										  !allowed[(size_t) y[t - 1] * k + y[t]]))
				return -2;
	}
	alpha = malloc(sizeof(double) * 2 * (size_t) longest * k);
	g = malloc(sizeof(double) * 3 * np);
	theta = malloc(sizeof(float) * np);
	if (alpha == NULL || g == NULL || theta == NULL)
	{
		free(alpha);
		free(g);
		free(theta);
		return -1;
	}
	beta = alpha + (size_t) longest * k;
	m = g + np;
	v = m + np;
	memset(theta, 0, sizeof(float) * np);
	memset(m, 0, sizeof(double) * 2 * np);

	/* theta = [trans | start | end]; Adam on the mean NLL per sequence */
	for (int step = 0; step <= steps; step++)
	{
		const float *tr = theta;
		const float *st = theta + (size_t) k * k;
		const float *en = st + k;

		memset(g, 0, sizeof(double) * np);
		nll = 0.0;
		for (int s = 0; s < n_seq; s++)
			nll += sequence_grad(emit + (size_t) seq_start[s] * k, y + seq_start[s],
								 seq_start[s + 1] - seq_start[s], k, tr, st, en,
								 allowed, first, alpha, beta,
								 g, g + (size_t) k * k, g + (size_t) k * k + k);
		nll /= n_seq;
		if (step == steps)
			break;
		{
			double		c1 = 1.0 - pow(0.9, step + 1);
			double		c2 = 1.0 - pow(0.999, step + 1);

			for (size_t p = 0; p < np; p++)
			{
				double		gp = g[p] / n_seq + l2 * theta[p];

				m[p] = 0.9 * m[p] + 0.1 * gp;
				v[p] = 0.999 * v[p] + 0.001 * gp * gp;
				theta[p] -= (float) (learning_rate * (m[p] / c1) / (sqrt(v[p] / c2) + 1e-8));
			}
		}
	}
	memcpy(trans, theta, sizeof(float) * (size_t) k * k);
	memcpy(start, theta + (size_t) k * k, sizeof(float) * k);
	memcpy(end, theta + (size_t) k * k + k, sizeof(float) * k);
	if (loss)
		*loss = nll;
	free(alpha);
	free(g);
	free(theta);
	return 0;
}
