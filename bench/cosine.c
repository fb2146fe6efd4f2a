/*
 * cosine.c — how close two models' sentence embeddings are: every line of
 * a corpus embedded by both (a quantised variant and its fp32 model, say),
 * the cosine of each pair; prints the minimum, the mean, the 1st
 * percentile and the worst sentence.
 *
 *   make -C bench cosine && bench/cosine A.bert B.bert corpus.txt
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "model.h"
#include "ops.h"
#include "tokenizer.h"

#define BATCH 64

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* embeddings of all n lines (hidden floats each) with model path */
static float *
embed_all(const char *path, char **lines, int n, int *hidden)
{
	BertModel	m;
	BertRunState st;
	BertTokens	tok;
	char		err[256];
	float	   *out;

	if (bcore_model_open(path, &m, err, sizeof(err)) != BERT_MODEL_OK)
	{
		fprintf(stderr, "%s: %s\n", path, err);
		exit(1);
	}
	*hidden = m.config.hidden;
	out = malloc(sizeof(float) * m.config.hidden * n);
	memset(&st, 0, sizeof(st));
	memset(&tok, 0, sizeof(tok));
	for (int s0 = 0; s0 < n; s0 += BATCH)
	{
		int			nb = n - s0 < BATCH ? n - s0 : BATCH;
		int32_t    *ids = NULL;
		int			lens[BATCH];
		size_t		total = 0;

		for (int i = 0; i < nb; i++)
		{
			if (bcore_tokenize_utf8(&m.vocab, lines[s0 + i], strlen(lines[s0 + i]),
									(size_t) m.config.max_seq_len, &tok) != BERT_TOK_OK)
				exit(1);
			ids = realloc(ids, (total + tok.n) * sizeof(int32_t));
			memcpy(ids + total, tok.ids, tok.n * sizeof(int32_t));
			lens[i] = (int) tok.n;
			total += tok.n;
		}
		if (bcore_encode(&m, &st, ids, lens, nb) != BERT_ENC_OK)
			exit(1);
		bcore_pool(&m, &st, lens, nb, out + (size_t) s0 * m.config.hidden);
		free(ids);
	}
	bcore_run_state_free(&st);
	bcore_tokens_free(&tok);
	bcore_model_close(&m);
	return out;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char	  **lines = NULL;
	char		buf[65536];
	int			n = 0,
				ha,
				hb,
				worst = 0;
	float	   *ea,
			   *eb;
	double	   *cos,
				sum = 0;

	if (argc != 4)
	{
		fprintf(stderr, "usage: %s A.bert B.bert corpus.txt\n", argv[0]);
		return 2;
	}
	if ((f = fopen(argv[3], "r")) == NULL)
	{
		perror(argv[3]);
		return 1;
	}
	while (fgets(buf, sizeof(buf), f))
	{
		buf[strcspn(buf, "\n")] = '\0';
		lines = realloc(lines, sizeof(char *) * (n + 1));
		lines[n++] = strdup(buf);
	}
	fclose(f);
	bcore_blas_init(1);
	ea = embed_all(argv[1], lines, n, &ha);
	eb = embed_all(argv[2], lines, n, &hb);
	if (ha != hb)
	{
		fprintf(stderr, "the models' embeddings differ in size\n");
		return 1;
	}
	cos = malloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		double		d = 0,
					na = 0,
					nb = 0;

		for (int j = 0; j < ha; j++)
		{
			d += (double) ea[(size_t) i * ha + j] * eb[(size_t) i * ha + j];
			na += (double) ea[(size_t) i * ha + j] * ea[(size_t) i * ha + j];
			nb += (double) eb[(size_t) i * ha + j] * eb[(size_t) i * ha + j];
		}
		cos[i] = d / sqrt(na * nb);
		sum += cos[i];
		if (cos[i] < cos[worst])
			worst = i;
	}
	printf("%d sentences: min cosine %.5f, mean %.5f", n, cos[worst], sum / n);
	qsort(cos, n, sizeof(double), cmp_double);
	printf(", 1st percentile %.5f; worst: %s\n", cos[n / 100], lines[worst]);
	return 0;
}
