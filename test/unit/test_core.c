/*
 * test_core.c — unit tests of the plain-C core: the model loader (on the real
 * default model and on damaged copies of it), the kernels, and the encoder.
 * Built with ASan + UBSan by `make unittest`.  Usage: test_core MODEL.bert
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoder.h"
#include "model.h"
#include "model_write.h"
#include "ops.h"
#include "tokenizer.h"
#include "unit_check.h"

/* Deterministic pseudo-random numbers (xorshift), for damage positions. */
static uint64_t rng = 88172645463325252ull;

static uint64_t
next_random(void)
{
	return xorshift_next(&rng);
}

static void
test_loader(const char *path)
{
	BertModel	m;
	char		err[512];
	BertModelStatus st = bcore_model_open(path, &m, err, sizeof(err));
	uint8_t    *copy;

	CHECK(st == BERT_MODEL_OK, "open %s: %s", path, err);
	if (st != BERT_MODEL_OK)
		return;
	CHECK(m.config.kind == BERT_KIND_EMBEDDING, "kind %d", m.config.kind);
	CHECK(m.config.n_layers == 6 && m.config.hidden == 384 && m.config.n_heads == 12 &&
		  m.config.head_dim == 32 && m.config.ffn == 1536, "shape");
	CHECK(m.config.vocab_size == 30522 && m.config.max_positions == 512 &&
		  m.config.type_vocab == 2, "sizes");
	CHECK(m.config.max_seq_len == 256, "max_seq_len %d", m.config.max_seq_len);
	CHECK(m.config.pooling == BERT_POOL_MEAN, "pooling");
	CHECK(m.config.flags == BERT_FLAG_ALL, "flags %x", m.config.flags);
	CHECK(fabsf(m.config.layer_norm_eps - 1e-12f) < 1e-18f, "eps %g", (double) m.config.layer_norm_eps);
	CHECK(m.vocab.unk_id == 100 && m.vocab.cls_id == 101 && m.vocab.sep_id == 102, "special ids");
	CHECK(bcore_vocab_lookup(&m.vocab, "hello", 5) == 7592, "lookup hello");
	CHECK(bcore_vocab_lookup(&m.vocab, "##ing", 5) == 2075, "lookup ##ing");
	CHECK(bcore_vocab_lookup(&m.vocab, "notatoken-xyz", 13) == -1, "lookup missing");
	CHECK(m.n_labels == 0, "labels");

	/*
	 * Damaged copies: truncation at random offsets, and each header field
	 * flipped, must be rejected with a status, never crash or over-read
	 * (ASan watches the exact-size heap copies).
	 */
	for (int i = 0; i < 20; i++)
	{
		size_t		cut = (size_t) (next_random() % m.size);
		BertModel	bad;

		copy = malloc(cut ? cut : 1);
		memcpy(copy, m.base, cut);
		st = bcore_model_parse(copy, cut, &bad, err, sizeof(err));
		CHECK(st == BERT_MODEL_CORRUPT, "truncated at %zu: status %d", cut, st);
		free(copy);
	}
	copy = malloc(m.size);
	for (size_t off = 0; off < BERT_HEADER_SIZE; off++)
	{
		BertModel	bad;

		memcpy(copy, m.base, BERT_HEADER_SIZE);
		memcpy(copy + BERT_HEADER_SIZE, m.base + BERT_HEADER_SIZE, m.size - BERT_HEADER_SIZE);
		copy[off] ^= 0x5a;
		st = bcore_model_parse(copy, m.size, &bad, err, sizeof(err));
		/* the header checksum catches every flipped byte */
		CHECK(st == BERT_MODEL_CORRUPT || st == BERT_MODEL_VERSION,
			  "header byte %zu flipped: status %d", off, st);
		if (st == BERT_MODEL_OK)
			bcore_model_close(&bad);
	}
	/* a tensor shape damaged: the message names the tensor */
	{
		BertModel	bad;
		BertFileHeader h;
		BertTensorEntry *t;

		memcpy(copy, m.base, m.size);
		memcpy(&h, copy, sizeof(h));
		t = (BertTensorEntry *) (copy + h.tensors_offset);
		for (uint32_t i = 0; i < h.n_tensors; i++)
			if (strcmp(t[i].name, "encoder.layer.0.attention.self.query.weight") == 0)
			{
				t[i].shape[1] = 192;
				t[i].nbytes /= 2;
			}
		st = bcore_model_parse(copy, m.size, &bad, err, sizeof(err));
		CHECK(st == BERT_MODEL_CORRUPT &&
			  strcmp(err, "tensor 'encoder.layer.0.attention.self.query.weight' has shape [384, 192], expected [384, 384]") == 0,
			  "bad shape message: %s", err);
	}
	free(copy);
	bcore_model_close(&m);
	st = bcore_model_open("/nonexistent/model.bert", &m, err, sizeof(err));
	CHECK(st == BERT_MODEL_IO && strstr(err, "No such file") != NULL, "missing file: %s", err);
}

static void
test_kernels(void)
{
	float		x[8] = {1, 2, 3, 4, -1, -2, 0.5f, 8};
	float		g[4] = {1, 1, 1, 1},
				b[4] = {0, 0, 0, 0};
	float		s[3] = {1, 2, 3};
	float		v[3] = {-3.0f, 0.0f, 1.0f};

	/* layer norm of 1 2 3 4: mean 2.5, var 1.25 */
	bcore_layernorm(x, 1, 4, g, b, 1e-12f);
	CHECK(fabsf(x[0] + 1.3416408f) < 1e-6f && fabsf(x[3] - 1.3416408f) < 1e-6f,
		  "layernorm %f %f", (double) x[0], (double) x[3]);
	bcore_softmax_rows(s, 1, 3, 3);
	CHECK(fabsf(s[0] - 0.09003057f) < 1e-7f && fabsf(s[2] - 0.66524096f) < 1e-7f,
		  "softmax %f %f", (double) s[0], (double) s[2]);
	/* gelu(-3) = -1.5 erfc(3 / sqrt 2) = -0.00404969, gelu(1) = 0.84134475 */
	bcore_gelu(v, 3);
	CHECK(fabsf(v[0] + 0.00404969f) < 1e-7f && v[1] == 0.0f && fabsf(v[2] - 0.84134475f) < 1e-7f,
		  "gelu %g %g", (double) v[0], (double) v[2]);

	/* bcore_linear against a naive product, with a weight stored [out, in] */
	{
		enum
		{
		M = 5, N = 7, K = 3};
		float		a[M * K],
					w[N * K],
					c[M * N];
		int			ok = 1;

		for (int i = 0; i < M * K; i++)
			a[i] = (float) ((i * 7) % 11) - 5;
		for (int i = 0; i < N * K; i++)
			w[i] = (float) ((i * 5) % 13) - 6;
		for (int i = 0; i < M * N; i++)
			c[i] = 1.0f;
		bcore_blas_init(1);
		bcore_linear(M, N, K, a, K, w, 1.0f, c, N);
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
			{
				float		ref = 1.0f;

				for (int k = 0; k < K; k++)
					ref += a[i * K + k] * w[j * K + k];
				if (c[i * N + j] != ref)
					ok = 0;
			}
		CHECK(ok, "bcore_linear differs from the naive product");
	}
	{
		float		n[3] = {3, 0, 4};

		bcore_l2_normalize(n, 3);
		CHECK(n[0] == 0.6f && n[2] == 0.8f, "l2 normalize");
	}
}

/* the largest |a[i] - b[i]| */
static double
max_abs_diff(const float *a, const float *b, size_t n)
{
	double		d = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i] - b[i]) > d)
			d = fabs(a[i] - b[i]);
	return d;
}

static void
test_encoder(const char *path)
{
	BertModel	m;
	BertRunState st = {0};
	char		err[512];
	int32_t		ids[] = {101, 7592, 2088, 102, 101, 7592, 102};	/* hello world | hello */
	int			lens[] = {4, 3};
	float		out[2 * 384],
				single[384];
	double		norm = 0.0,
				maxdiff = 0.0;

	if (bcore_model_open(path, &m, err, sizeof(err)) != BERT_MODEL_OK)
		return;
	bcore_blas_init(1);
	CHECK(strcmp(bcore_blas_arch(), "generic") != 0 ||
		  strcmp(bcore_cpu_features(), "none") == 0,
		  "BLIS uses generic kernels on a CPU with %s", bcore_cpu_features());
	CHECK(bcore_encode(&m, &st, ids, lens, 2) == BERT_ENC_OK, "encode batch");
	bcore_pool(&m, &st, lens, 2, out);
	for (int i = 0; i < 384; i++)
		norm += (double) out[i] * out[i];
	CHECK(fabs(norm - 1.0) < 1e-5, "norm %f", norm);

	/* the second sequence of the batch equals the sequence run alone */
	CHECK(bcore_encode(&m, &st, ids + 4, lens + 1, 1) == BERT_ENC_OK, "encode single");
	bcore_pool(&m, &st, lens + 1, 1, single);
	maxdiff = max_abs_diff(single, out + 384, 384);
	CHECK(maxdiff < 1e-5, "batch vs single max diff %g", maxdiff);

	ids[1] = 30522;
	CHECK(bcore_encode(&m, &st, ids, lens, 1) == BERT_ENC_BAD_INPUT, "id out of range");
	bcore_run_state_free(&st);
	bcore_model_close(&m);
}

static int	polls_left;

static int
interrupt_after_polls(void)
{
	return --polls_left < 0;
}

/* the most rows one product of the first layer's query saw (threads call
 * it at once), and how many such products (one a chunk) there were */
static int	observed_rows;
static int	observed_chunks;

static void
observe_rows(int layer, BertLinearId id, const float *x, int rows, int k)
{
	(void) x;
	(void) k;
	if (layer == 0 && id == BERT_LIN_Q)
	{
		int			seen = __atomic_load_n(&observed_rows, __ATOMIC_RELAXED);

		__atomic_add_fetch(&observed_chunks, 1, __ATOMIC_RELAXED);

		while (rows > seen &&
			   !__atomic_compare_exchange_n(&observed_rows, &seen, rows, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
}

/*
 * The mapping of /proc/self/smaps that holds p has AnonHugePages: checked
 * where /sys/kernel/mm/transparent_hugepage/enabled is [always] or
 * [madvise], SKIPPED where it is [never] or absent.
 */
static void
check_huge_pages(const void *p, size_t bytes)
{
	FILE	   *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char		line[256];
	int			in = 0;
	long		huge_kb = -1;
	uintptr_t	a = (uintptr_t) p;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL || strstr(line, "[never]") != NULL)
	{
		printf("SKIPPED: huge pages for run-state buffers (transparent huge pages %s)\n",
			   f == NULL ? "not in this kernel" : "set to never");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	if ((f = fopen("/proc/self/smaps", "r")) == NULL)
	{
		CHECK(0, "/proc/self/smaps is readable");
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long lo,
					hi;
		long		kb;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			huge_kb = kb;
	}
	fclose(f);
	CHECK(huge_kb >= 2048, "a buffer of %zu kB lies on huge pages: AnonHugePages %ld kB", bytes / 1024, huge_kb);
}

/*
 * A batch cut into chunks and run on threads equals the batch run on one
 * thread; an interrupt stops either, and the state still serves the next run.
 */
static void
test_threads(const char *path)
{
	enum
	{
		NSEQ = 60
	};
	BertModel	m;
	BertRunState st = {0};
	char		err[512];
	int			lens[NSEQ];
	int32_t    *ids;
	float	   *one,
			   *many;
	size_t		T = 0;
	double		maxdiff = 0.0;
	uint32_t	r = 12345;

	if (bcore_model_open(path, &m, err, sizeof(err)) != BERT_MODEL_OK)
		return;
	bcore_blas_init(1);
	for (int s = 0; s < NSEQ; s++)
		T += (lens[s] = 3 + (s * 37) % 70);
	ids = malloc(T * sizeof(int32_t));
	one = malloc(sizeof(float) * 384 * NSEQ);
	many = malloc(sizeof(float) * 384 * NSEQ);
	for (int s = 0, t = 0; s < NSEQ; s++)
		for (int p = 0; p < lens[s]; p++, t++)
		{
			r = r * 1103515245u + 12345u;
			ids[t] = p == 0 ? 101 : p == lens[s] - 1 ? 102 : 1000 + (int32_t) ((r >> 8) % 28000);
		}
	CHECK(T >= 4 * BERT_MIN_CHUNK_TOKENS, "test batch of %zu tokens makes several chunks", T);

	CHECK(bcore_encode_threads(&m, &st, ids, lens, NSEQ, 1) == BERT_ENC_OK, "encode, 1 thread");
	bcore_pool(&m, &st, lens, NSEQ, one);
	CHECK(bcore_encode_threads(&m, &st, ids, lens, NSEQ, 2) == BERT_ENC_OK, "encode, 2 threads");
	bcore_pool(&m, &st, lens, NSEQ, many);
	maxdiff = max_abs_diff(one, many, 384 * NSEQ);
	CHECK(maxdiff < 1e-5, "2 threads vs 1: max diff %g", maxdiff);

	/* 3 threads, 3 chunks: the cut leaves a single sequence to the last one */
	{
		int			lens3[4] = {100, 512, 512, 512};
		float		out1[4 * 384],
					out3[4 * 384];

		CHECK(T >= 1636, "test batch holds %zu tokens", T);
		CHECK(bcore_encode_threads(&m, &st, ids, lens3, 4, 1) == BERT_ENC_OK, "encode 4 long sequences, 1 thread");
		bcore_pool(&m, &st, lens3, 4, out1);
		CHECK(bcore_encode_threads(&m, &st, ids, lens3, 4, 3) == BERT_ENC_OK, "encode 4 long sequences, 3 threads");
		bcore_pool(&m, &st, lens3, 4, out3);
		maxdiff = max_abs_diff(out1, out3, 4 * 384);
		CHECK(maxdiff < 1e-5, "3 threads vs 1: max diff %g", maxdiff);
	}

	/* a batch too small for two chunks of BERT_MIN_CHUNK_TOKENS: still one
	 * chunk per thread, and the same embeddings */
	{
		int			lens_s[3] = {100, 100, 100};
		float		out1[3 * 384],
					out2[3 * 384];

		CHECK(bcore_encode_threads(&m, &st, ids, lens_s, 3, 1) == BERT_ENC_OK, "encode 300 tokens, 1 thread");
		bcore_pool(&m, &st, lens_s, 3, out1);
		observed_rows = 0;
		bcore_encode_observe = observe_rows;
		CHECK(bcore_encode_threads(&m, &st, ids, lens_s, 3, 2) == BERT_ENC_OK, "encode 300 tokens, 2 threads");
		bcore_encode_observe = NULL;
		bcore_pool(&m, &st, lens_s, 3, out2);
		CHECK(observed_rows > 0 && observed_rows < 300,
			  "300 tokens on 2 threads: products of at most %d rows (chunks)", observed_rows);
		maxdiff = max_abs_diff(out1, out2, 3 * 384);
		CHECK(maxdiff < 1e-5, "300 tokens, 2 threads vs 1: max diff %g", maxdiff);
	}

	/* 1,500 tokens on 2 threads: chunks of about BERT_MIN_CHUNK_TOKENS (256),
	 * as many for each thread (4 of 375, not 5 of 300 with one thread idle
	 * for the fifth, nor 2 of 750 as with chunks of 512) */
	if (T >= 1500)
	{
		int			lens_e[5] = {300, 300, 300, 300, 300};

		observed_chunks = 0;
		bcore_encode_observe = observe_rows;
		CHECK(bcore_encode_threads(&m, &st, ids, lens_e, 5, 2) == BERT_ENC_OK, "encode 1,500 tokens, 2 threads");
		bcore_encode_observe = NULL;
		CHECK(observed_chunks == 4, "1,500 tokens on 2 threads: %d chunks, expected 4", observed_chunks);

		/* the activations between products take the biggest chunk's rows
		 * per thread (two sentences of 300), not the batch's: only the
		 * hidden state holds every token; rounded up (to 128 rows a chunk,
		 * 512 for the hidden state), so that the next call of a few tokens
		 * more (a bulk job's) keeps the same buffers instead of allocating
		 * and faulting in new ones */
		{
			BertRunState fresh;
			int			lens_f[5] = {305, 305, 305, 305, 305};
			void	   *x0,
					   *block0;

			memset(&fresh, 0, sizeof(fresh));
			CHECK(bcore_encode_threads(&m, &fresh, ids, lens_e, 5, 2) == BERT_ENC_OK, "encode 1,500 tokens, fresh state");
			CHECK(fresh.cap_tokens == 1536 && fresh.chunk[0].cap_tokens == 640 &&
				  fresh.chunk[1].cap_tokens == 640 && fresh.chunk[2].cap_tokens == 0,
				  "buffers of 1,500 tokens on 2 threads: hidden state %d rows, threads' %d, %d, %d (1536, 640, 640, 0 expected)",
				  fresh.cap_tokens, fresh.chunk[0].cap_tokens, fresh.chunk[1].cap_tokens,
				  fresh.chunk[2].cap_tokens);
			x0 = fresh.x;
			block0 = fresh.chunk[0].block;
			if (T >= 1525)
			{
				CHECK(bcore_encode_threads(&m, &fresh, ids, lens_f, 5, 2) == BERT_ENC_OK, "encode 1,525 tokens after 1,500");
				CHECK(fresh.x == x0 && fresh.chunk[0].block == block0 && fresh.cap_tokens == 1536 &&
					  fresh.chunk[0].cap_tokens == 640,
					  "1,525 tokens after 1,500: the same buffers (%d, %d rows)",
					  fresh.cap_tokens, fresh.chunk[0].cap_tokens);
			}
			else
				CHECK(0, "test batch holds %zu tokens, 1,525 wanted", T);
			bcore_run_state_free(&fresh);
		}
	}
	else
		CHECK(0, "test batch holds %zu tokens, 1,500 wanted", T);

	/* 4,500 tokens on one thread: chunks of at most BERT_MAX_CHUNK_TOKENS
	 * (3 of 1,500), and the embeddings of one chunk a thread on 2 */
	{
		int			lens_b[9];
		int32_t    *ids_b = malloc(sizeof(int32_t) * 4500);
		float	   *out1 = malloc(sizeof(float) * 9 * 384),
				   *out2 = malloc(sizeof(float) * 9 * 384);
		BertRunState fresh;

		for (int i = 0; i < 9; i++)
			lens_b[i] = 500;
		for (int t = 0; t < 4500; t++)
			ids_b[t] = ids[t % T];
		memset(&fresh, 0, sizeof(fresh));
		CHECK(bcore_encode_threads(&m, &fresh, ids_b, lens_b, 9, 1) == BERT_ENC_OK, "encode 4,500 tokens, 1 thread");
		CHECK(fresh.cap_tokens == 4608 && fresh.chunk[0].cap_tokens == 1536 &&
			  fresh.chunk[1].cap_tokens == 0,
			  "buffers of 4,500 tokens on 1 thread: hidden state %d rows, thread's %d, %d (4608, 1536, 0 expected)",
			  fresh.cap_tokens, fresh.chunk[0].cap_tokens, fresh.chunk[1].cap_tokens);
		bcore_pool(&m, &fresh, lens_b, 9, out1);
		CHECK(bcore_encode_threads(&m, &fresh, ids_b, lens_b, 9, 2) == BERT_ENC_OK, "encode 4,500 tokens, 2 threads");
		bcore_pool(&m, &fresh, lens_b, 9, out2);
		maxdiff = max_abs_diff(out1, out2, 9 * 384);
		CHECK(maxdiff < 1e-5, "4,500 tokens, 1 thread in chunks vs 2 threads: max diff %g", maxdiff);
		bcore_run_state_free(&fresh);
		free(ids_b);
		free(out1);
		free(out2);
	}

	/* the run state's buffers of 2 MB or more are on huge pages, where the
	 * system's THP setting lets a program ask for them */
	CHECK(bcore_encode_threads(&m, &st, ids, lens, NSEQ, 1) == BERT_ENC_OK, "encode for the huge page check");
	CHECK(sizeof(float) * 1536 * st.chunk[0].cap_tokens >= 4 * 1024 * 1024,
		  "a chunk's FFN buffer of %d rows spans 2 huge pages", st.chunk[0].cap_tokens);
	check_huge_pages(st.chunk[0].ffn, sizeof(float) * 1536 * st.chunk[0].cap_tokens);
	check_huge_pages(st.x, sizeof(float) * 384 * T);

	for (int threads = 1; threads <= 2; threads++)
	{
		polls_left = 3;
		bcore_interrupt_pending = interrupt_after_polls;
		CHECK(bcore_encode_threads(&m, &st, ids, lens, NSEQ, threads) == BERT_ENC_INTERRUPTED,
			  "an interrupt stops the encoder on %d thread(s)", threads);
		bcore_interrupt_pending = NULL;
	}
	CHECK(bcore_encode_threads(&m, &st, ids, lens, NSEQ, 2) == BERT_ENC_OK, "encode after interrupt");
	bcore_pool(&m, &st, lens, NSEQ, many);
	maxdiff = max_abs_diff(one, many, 384 * NSEQ);
	CHECK(maxdiff < 1e-5, "after an interrupt: max diff %g", maxdiff);

	free(ids);
	free(one);
	free(many);
	bcore_run_state_free(&st);
	bcore_model_close(&m);
}

static void
embed_text(const BertModel *m, BertRunState *st, BertTokens *tok, const char *text, float *out)
{
	int			n;

	if (bcore_tokenize_utf8(&m->vocab, text, strlen(text), 256, tok) != BERT_TOK_OK)
		return;
	n = (int) tok->n;
	if (bcore_encode(m, st, tok->ids, &n, 1) == BERT_ENC_OK)
		bcore_pool(m, st, &n, 1, out);
}

/* Two models of one network, with a run state each, to compare their embeddings */
typedef struct ModelPair
{
	BertModel	a,
				b;
	BertRunState sa,
				sb;
	BertTokens	tok;
} ModelPair;

/* Opens both (a failure is a failed check); false unless both are open. */
static bool
pair_open(ModelPair *p, const char *a_path, const char *b_path)
{
	char		err[512];

	memset(p, 0, sizeof(*p));
	CHECK(bcore_model_open(a_path, &p->a, err, sizeof(err)) == BERT_MODEL_OK, "open %s: %s", a_path, err);
	CHECK(bcore_model_open(b_path, &p->b, err, sizeof(err)) == BERT_MODEL_OK, "open %s: %s", b_path, err);
	if (p->a.base != NULL && p->b.base != NULL)
		return true;
	if (p->a.base != NULL)
		bcore_model_close(&p->a);
	if (p->b.base != NULL)
		bcore_model_close(&p->b);
	return false;
}

/* The cosine of text's embeddings by both (normalised: their dot), each also to ea and eb. */
static double
pair_cosine(ModelPair *p, const char *text, float *ea, float *eb)
{
	double		dot = 0;

	embed_text(&p->a, &p->sa, &p->tok, text, ea);
	embed_text(&p->b, &p->sb, &p->tok, text, eb);
	for (int c = 0; c < 384; c++)
		dot += (double) ea[c] * eb[c];
	return dot;
}

static void
pair_close(ModelPair *p)
{
	bcore_tokens_free(&p->tok);
	bcore_run_state_free(&p->sa);
	bcore_run_state_free(&p->sb);
	bcore_model_close(&p->a);
	bcore_model_close(&p->b);
}

/*
 * The default model keeps its F16 linear weights as F16P (bert-convert)
 * and runs them on bcore_linear_f16; the same checkpoint converted with
 * --f32-weights runs on BLIS.  Same weights, other summation order: the
 * embeddings agree to 1e-5, on every kernel variant, and the F16P model
 * gives the same bits on 1 and 2 threads and alone or in a batch.
 */
static void
test_f16_weights(const char *f16_path, const char *f32_path)
{
	static const char *texts[] = {
		"The weather is lovely today.", "hello world", "",
		"Permission is hereby granted, free of charge, to any person obtaining a copy of this software.",
		"東京は日本の首都です。"
	};
	ModelPair	p;				/* a: F16P weights, b: fp32 */
	float		eh[384],
				ef[384],
				es[384];
	double		maxdiff = 0.0,
				maxdiff_scalar = 0.0;
	int			all_f16p = 1,
				none_f16p = 1;

	if (!pair_open(&p, f16_path, f32_path))
		return;
	for (int l = 0; l < p.a.config.n_layers; l++)
		for (int i = 0; i < BERT_LINEARS; i++)
		{
			all_f16p &= p.a.weights.layers[l].wh[i] != NULL && p.a.weights.layers[l].wq[i] == NULL;
			none_f16p &= p.b.weights.layers[l].wh[i] == NULL;
		}
	CHECK(all_f16p && p.a.weights.layers[0].q_w == NULL && p.a.weights.layers[5].ff2_w == NULL,
		  "default model: every linear weight is F16P");
	CHECK(none_f16p && p.b.weights.layers[0].q_w != NULL, "--f32-weights model: fp32 linear weights");
	CHECK(p.a.size < p.b.size - 20 * 1000 * 1000, "F16P model %zu bytes, fp32 %zu", p.a.size, p.b.size);

	bcore_blas_init(1);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		embed_text(&p.a, &p.sa, &p.tok, texts[i], eh);
		embed_text(&p.b, &p.sb, &p.tok, texts[i], ef);
		bcore_kernels_use("scalar");
		embed_text(&p.a, &p.sa, &p.tok, texts[i], es);
		bcore_kernels_use(NULL);
		for (int c = 0; c < 384; c++)
		{
			maxdiff = fmax(maxdiff, fabs((double) eh[c] - ef[c]));
			maxdiff_scalar = fmax(maxdiff_scalar, fabs((double) eh[c] - es[c]));
		}
	}
	CHECK(maxdiff < 1e-5, "F16P vs fp32 weights: max diff %.3g", maxdiff);
	CHECK(maxdiff_scalar < 1e-5, "F16P model, scalar vs SIMD kernels: max diff %.3g", maxdiff_scalar);
	printf("  F16P vs fp32 weights: max diff %.3g over %zu texts (scalar kernels %.3g)\n",
		   maxdiff, sizeof(texts) / sizeof(texts[0]), maxdiff_scalar);

	/* "hello world" alone, then in a batch with "hello" on 2 threads: same bits */
	{
		int32_t		ids[] = {101, 7592, 2088, 102, 101, 7592, 102};
		int			lens[] = {4, 3};
		float		two[2 * 384];

		CHECK(bcore_encode(&p.a, &p.sa, ids, lens, 1) == BERT_ENC_OK, "encode alone");
		bcore_pool(&p.a, &p.sa, lens, 1, eh);
		bcore_blas_init(2);
		CHECK(bcore_encode_threads(&p.a, &p.sa, ids, lens, 2, 2) == BERT_ENC_OK, "encode batch, 2 threads");
		bcore_pool(&p.a, &p.sa, lens, 2, two);
		bcore_blas_init(1);
		CHECK(memcmp(eh, two, sizeof(eh)) == 0,
			  "F16P: a sentence alone and in a batch on 2 threads give the same bits");
	}

	/* fp32 weights run on BLIS, whose products want more rows: chunks of
	 * about BERT_MIN_BLIS_CHUNK_TOKENS (1,500 tokens on 2 threads: 2, where
	 * the F16P model takes 4) */
	{
		int			lens5[5] = {300, 300, 300, 300, 300};
		int32_t    *ids5 = malloc(1500 * sizeof(int32_t));

		for (int t = 0; t < 1500; t++)
			ids5[t] = t % 300 == 0 ? 101 : t % 300 == 299 ? 102 : 1000 + t;
		observed_chunks = 0;
		bcore_encode_observe = observe_rows;
		CHECK(bcore_encode_threads(&p.b, &p.sb, ids5, lens5, 5, 2) == BERT_ENC_OK,
			  "fp32 weights: encode 1,500 tokens, 2 threads");
		bcore_encode_observe = NULL;
		CHECK(observed_chunks == 2, "fp32 weights, 1,500 tokens on 2 threads: %d chunks, expected 2",
			  observed_chunks);
		free(ids5);
	}

	pair_close(&p);
}

/*
 * A quantised copy: the int8 variant make model writes (q8p: bert-quantize
 * --calibrate ... --q16 2.ff2,3.ff2,4.ff2, every linear weight Q8P but the
 * feed-forward outputs of layers 2 to 4, which are Q16P) or bert-quantize --q8's (every
 * linear weight but the feed-forward output's Q8); embeddings within
 * cosine 0.998 of the fp32 model's, close on every kernel variant, and a
 * damaged quantised tensor is refused.
 */
static void
test_quantized(const char *fp32_path, const char *q_path, int q8p)
{
	static const char *texts[] = {
		"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium.",
		"hello world", "",
		"Permission is hereby granted, free of charge, to any person obtaining a copy of this software.",
		"Zoë Müller flew from São Paulo to Zürich on Tuesday.",
		"東京は日本の首都です。", "!!! ??? ... ---", "a"
	};
	ModelPair	p;				/* a: fp32, b: quantised */
	char		err[512];
	float		ef[384],
				eq[384],
				eq2[384];
	double		worst = 1.0;
	int			all_q8 = 1,
				same_bits = 1;
	uint8_t    *copy;
	const BertFileHeader *h;
	const BertTensorEntry *t;
	BertModel	bad;

	if (!pair_open(&p, fp32_path, q_path))
		return;
	CHECK(p.b.config.quantized == 1 && p.a.config.quantized == 0, "quantized flags %d %d",
		  p.b.config.quantized, p.a.config.quantized);
	for (int l = 0; l < p.b.config.n_layers; l++)
		for (int i = 0; i < BERT_LINEARS; i++)
			if (q8p)
				all_q8 &= p.b.weights.layers[l].ws[i] != NULL &&
					(p.b.weights.layers[l].w8[i] != NULL) == !(i == BERT_LIN_FF2 && l >= 2 && l <= 4) &&
					(p.b.weights.layers[l].w16[i] != NULL) == (i == BERT_LIN_FF2 && l >= 2 && l <= 4) &&
					p.b.weights.layers[l].wh[i] == NULL;
			else
				all_q8 &= (p.b.weights.layers[l].wq[i] != NULL && p.b.weights.layers[l].ws[i] != NULL) ==
					(i != BERT_LIN_FF2);
	if (q8p)
		CHECK(all_q8 && p.b.config.q8p && p.b.weights.layers[0].q_w == NULL &&
			  p.b.weights.layers[3].ff2_w == NULL,
			  "every linear weight but the feed-forward output's of layers 2 to 4 is Q8P; those are Q16P");
	else
		CHECK(all_q8 && !p.b.config.q8p && p.b.weights.layers[0].q_w == NULL &&
			  (p.b.weights.layers[0].ff2_w != NULL) != (p.b.weights.layers[0].wh[BERT_LIN_FF2] != NULL),
			  "every linear weight but the feed-forward output's is Q8");

	bcore_blas_init(1);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		double		dot = pair_cosine(&p, texts[i], ef, eq);

		worst = dot < worst ? dot : worst;
		if (getenv("BERT_TEST_VERBOSE"))
			printf("    cosine %.5f  %s\n", dot, texts[i]);
		/*
		 * The portable kernels: the same integer products, but the kernels
		 * around them differ in the last bit, which can move an activation
		 * across a rounding boundary of its quantisation: close, not equal.
		 * A step of Q8P's 8-bit activations is 16 times Q8's 12-bit one, so
		 * such a move weighs more: 0.9995 (the int8 error itself is 0.998).
		 */
		bcore_kernels_use("scalar");
		embed_text(&p.b, &p.sb, &p.tok, texts[i], eq2);
		bcore_kernels_use(NULL);
		dot = 0;
		for (int c = 0; c < 384; c++)
			dot += (double) eq[c] * eq2[c];
		same_bits &= dot > (q8p ? 0.9995 : 0.99999);
		if (getenv("BERT_TEST_VERBOSE"))
			printf("    scalar vs SIMD kernels: cosine %.7f\n", dot);
	}
	CHECK(worst >= 0.998, "quantised vs fp32: min cosine %.5f", worst);
	CHECK(same_bits, "quantised model: scalar and SIMD kernels agree to cosine %s", q8p ? "0.9995" : "0.99999");
	printf("  quantised model (%s): min cosine vs fp32 over %zu texts %.5f\n",
		   q8p ? "Q8P" : "Q8", sizeof(texts) / sizeof(texts[0]), worst);

	/*
	 * Q8: one weight pushed outside +-127; Q8P: a channel sum that no int8
	 * row makes (its weights are not checked one by one: any byte is safe)
	 */
	copy = malloc(p.b.size);
	memcpy(copy, p.b.base, p.b.size);
	h = (const BertFileHeader *) copy;
	t = (const BertTensorEntry *) (copy + h->tensors_offset);
	for (uint32_t i = 0; i < h->n_tensors; i++)
		if (!q8p && t[i].dtype == BERT_DTYPE_Q8)
		{
			((int16_t *) (copy + t[i].offset))[5] = 200;
			break;
		}
		else if (q8p && strcmp(t[i].name, "encoder.layer.0.attention.self.query.weight_sum") == 0)
		{
			((float *) (copy + t[i].offset))[3] = 0.5f;
			break;
		}
	CHECK(bcore_model_parse(copy, p.b.size, &bad, err, sizeof(err)) == BERT_MODEL_CORRUPT &&
		  strstr(err, q8p ? "weight_sum' has channel sum 0.5 at 3" : "value 200 at 5, outside +-127") != NULL,
		  "damaged quantised tensor: %s", err);
	/* Q16P: one value past BERT_Q16_WMAX, in the padding past the last input */
	if (q8p)
	{
		int			found = 0;

		memcpy(copy, p.b.base, p.b.size);
		for (uint32_t i = 0; i < h->n_tensors; i++)
			if (t[i].dtype == BERT_DTYPE_Q16P)
			{
				((int16_t *) (copy + t[i].offset))[t[i].nbytes / 2 - 1] = BERT_Q16_WMAX + 1;
				found = 1;
				break;
			}
		CHECK(found && bcore_model_parse(copy, p.b.size, &bad, err, sizeof(err)) == BERT_MODEL_CORRUPT &&
			  strstr(err, "value 512 at") != NULL && strstr(err, "outside +-511") != NULL,
			  "damaged Q16P tensor: %s", err);
	}
	free(copy);

	pair_close(&p);
}

/*
 * Smoothed (SmoothQuant) Q8P keys and values take the query's smoothed
 * input only where the query is Q8P too: with each layer's query kept in
 * half precision, or made Q16P, the keys' and values' weights must not be
 * divided by the multipliers (bert-quantize --calibrate --keep-f16 0.q,...
 * once wrote them divided, and the embeddings came out at cosine 0.01 of
 * the fp32 model's).  Calibration maxima made up: every 13th channel 20
 * times the rest, enough for multipliers far from 1; smoothing on maxima
 * that are not the model's costs fidelity, so the bar is 0.95 (0.977-0.978
 * here; the divided weights gave 0.21).
 */
static void
test_quantize_queries(const char *fp32_path)
{
	static const char *texts[] = {"The weather is lovely today.", "He drove to the stadium.", ""};
	BertModel	base;
	char		err[512],
				path[256];
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (bcore_model_open(fp32_path, &base, err, sizeof(err)) != BERT_MODEL_OK)
	{
		CHECK(0, "open %s: %s", fp32_path, err);
		return;
	}
	snprintf(path, sizeof(path), "%s/test_core_q.%ld.bert", tmpdir, (long) getpid());
	for (int way = 0; way < 2; way++)
	{
		int			L = base.config.n_layers,
					width = base.config.ffn > base.config.hidden ? base.config.ffn : base.config.hidden;
		unsigned char *flags = calloc((size_t) L * BERT_LINEARS, 1);
		float	  **amax = calloc((size_t) L * BERT_LINEARS, sizeof(float *));
		BertHeadSpec spec;
		ModelPair	p;
		double		worst = 1.0;
		float		ef[384],
					eq[384];

		for (int i = 0; i < L * BERT_LINEARS; i++)
		{
			amax[i] = malloc(sizeof(float) * width);
			for (int t = 0; t < width; t++)
				amax[i][t] = t % 13 == 0 ? 20.0f : 1.0f;
		}
		for (int l = 0; l < L; l++)
			flags[l * BERT_LINEARS + BERT_LIN_Q] = 1;
		memset(&spec, 0, sizeof(spec));
		spec.kind = BERT_KIND_EMBEDDING;
		spec.keep_pooler = 1;
		spec.quantize = BERT_QUANT_Q8P;
		spec.q8p_linears = (1u << BERT_LINEARS) - 1;
		spec.act_max = (const float *const *) amax;
		spec.smooth_alpha = 0.5f;
		if (way == 0)
			spec.q8p_keep = flags;
		else
			spec.q16p = flags;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_OK, "write: %s", err);
		if (pair_open(&p, fp32_path, path))
		{
			CHECK(p.b.weights.layers[1].w8[BERT_LIN_K] != NULL && p.b.weights.layers[1].smooth[BERT_LIN_O] != NULL &&
				  (way == 0 ? p.b.weights.layers[1].wh[BERT_LIN_Q] != NULL : p.b.weights.layers[1].w16[BERT_LIN_Q] != NULL),
				  "queries %s, keys and values Q8P, smoothed inputs elsewhere", way ? "Q16P" : "in f16");
			for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			{
				double		dot = pair_cosine(&p, texts[i], ef, eq);

				worst = dot < worst ? dot : worst;
			}
			CHECK(worst >= 0.95, "queries %s, smoothed int8 keys and values: min cosine vs fp32 %.5f",
				  way ? "Q16P" : "in f16", worst);
			pair_close(&p);
		}
		remove(path);
		for (int i = 0; i < L * BERT_LINEARS; i++)
			free(amax[i]);
		free(amax);
		free(flags);
	}
	bcore_model_close(&base);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 5)
	{
		fprintf(stderr, "usage: %s MODEL.bert [QUANTIZED.bert [F32-WEIGHTS.bert [Q8.bert]]]\n", argv[0]);
		return 2;
	}
	test_loader(argv[1]);
	test_kernels();
	test_encoder(argv[1]);
	test_threads(argv[1]);
	if (argc >= 3)
		test_quantized(argv[1], argv[2], 1);
	test_quantize_queries(argv[1]);
	if (argc >= 4)
		test_f16_weights(argv[1], argv[3]);
	if (argc == 5)
		test_quantized(argv[1], argv[4], 0);
	return unit_report("test_core");
}
