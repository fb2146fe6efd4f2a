/*
 * encode.c — the encoder alone, outside PostgreSQL: sentences from a file
 * (one per line) tokenized and run through bcore_encode + bcore_pool, one
 * sentence per call and in batches, tokens/s and GFLOP/s.  It tells how much
 * of a SQL figure is the engine and how much is the executor around it.
 *
 *   make -C bench encode
 *   bench/encode model/build/all-MiniLM-L6-v2.bert corpus.txt [batch] [threads]
 *
 * Batch 1 and then the given batch (only batch 1 if that is 1; only the
 * given one with ENCODE_BATCH_ONLY set), each the best of ENCODE_REPS
 * passes (default 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "encoder.h"
#include "model.h"
#include "ops.h"
#include "tokenizer.h"

/* CPU seconds of the process, every thread: on a shared machine, tokens per
 * CPU second move less than tokens per second */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	BertModel	m;
	char		err[256];
	FILE	   *f;
	char		line[65536];
	int32_t    *ids = NULL;
	int		   *lens = NULL;
	size_t		n_ids = 0, n_seq = 0;
	BertTokens	tok;
	BertRunState st;
	int			batch = argc > 3 ? atoi(argv[3]) : 256;
	int			threads = argc > 4 ? atoi(argv[4]) : 1;
	double		flops = 0;

	if (argc < 3)
	{
		fprintf(stderr, "usage: %s model.bert corpus.txt [batch] [threads]\n", argv[0]);
		return 2;
	}
	bcore_blas_init(threads);
	if (bcore_model_open(argv[1], &m, err, sizeof(err)) != BERT_MODEL_OK)
	{
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((f = fopen(argv[2], "r")) == NULL)
	{
		perror(argv[2]);
		return 1;
	}
	memset(&tok, 0, sizeof(tok));
	memset(&st, 0, sizeof(st));
	while (fgets(line, sizeof(line), f))
	{
		size_t		len = strcspn(line, "\n");
		const BertConfig *c = &m.config;
		double		t;

		if (bcore_tokenize_utf8(&m.vocab, line, len, 256, &tok) != BERT_TOK_OK)
			return 1;
		ids = realloc(ids, (n_ids + tok.n) * sizeof(int32_t));
		lens = realloc(lens, (n_seq + 1) * sizeof(int));
		memcpy(ids + n_ids, tok.ids, tok.n * sizeof(int32_t));
		lens[n_seq++] = (int) tok.n;
		n_ids += tok.n;
		t = (double) tok.n;
		flops += c->n_layers * (2.0 * (4.0 * c->hidden * c->hidden + 2.0 * c->hidden * c->ffn) * t +
								4.0 * t * t * c->hidden);
	}
	fclose(f);

	{
		float	   *out = malloc(sizeof(float) * m.config.hidden * (batch > 1 ? batch : 1));
		int			modes[2] = {1, batch};
		int			first = getenv("ENCODE_BATCH_ONLY") != NULL && batch > 1 ? 1 : 0;
		int			reps = getenv("ENCODE_REPS") != NULL ? atoi(getenv("ENCODE_REPS")) : 3;

		printf("%zu sentences, %zu tokens, %d thread(s), kernels %s/%s\n",
			   n_seq, n_ids, threads, bcore_blas_arch(), bcore_kernels_isa());
		for (int mi = first; mi < (batch > 1 ? 2 : 1); mi++)
		{
			int			b = modes[mi];
			double		best = 1e9,
						best_cpu = 1e9;

			for (int rep = 0; rep < (reps > 0 ? reps : 1); rep++)
			{
				double		t0 = now_s(),
							c0 = cpu_s();
				size_t		off = 0;

				for (size_t s = 0; s < n_seq; s += b)
				{
					int			nb = (int) (n_seq - s < (size_t) b ? n_seq - s : (size_t) b);
					size_t		nt = 0;

					for (int i = 0; i < nb; i++)
						nt += lens[s + i];
					/* as pgb_run() does: threads share a batch, BLIS's share one sequence */
					bcore_blas_init(nb > 1 ? 1 : threads);
					if (bcore_encode_threads(&m, &st, ids + off, lens + s, nb,
											nb > 1 ? threads : 1) != BERT_ENC_OK)
						return 1;
					bcore_pool(&m, &st, lens + s, nb, out);
					off += nt;
				}
				t0 = now_s() - t0;
				c0 = cpu_s() - c0;
				if (t0 < best)
					best = t0;
				if (c0 < best_cpu)
					best_cpu = c0;
			}
			printf("batch %4d: %8.0f sentences/s %8.0f tokens/s %6.1f GFLOP/s %8.0f tokens/CPU s\n",
				   b, n_seq / best, n_ids / best, flops / best / 1e9, n_ids / best_cpu);
		}
		free(out);
	}
	bcore_run_state_free(&st);
	bcore_tokens_free(&tok);
	bcore_model_close(&m);
	free(ids);
	free(lens);
	return 0;
}
