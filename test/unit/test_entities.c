/*
 * test_entities.c — unit tests of entities.c (the pipeline's aggregation
 * strategies), crf.c (BIO rule, Viterbi against brute force, transition
 * training) and tagger.c (features, the tagger head in a model file).
 * Built with ASan + UBSan.  Usage: test_entities MODEL.bert [TMPDIR]
 *
 * Expected entities are worked out by hand from transformers'
 * TokenClassificationPipeline: gather_pre_entities (is_subword),
 * aggregate_word(s) for first / average / max, group_entities with get_tag,
 * group_sub_entities (type = split("-", 1)[-1], score = nanmean) and
 * ignore_labels ["O"].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crf.h"
#include "encoder.h"
#include "entities.h"
#include "heads.h"
#include "model.h"
#include "model_write.h"
#include "ops.h"
#include "tagger.h"

static int	passed = 0;
static int	failed = 0;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double) (rng >> 11) / 9007199254740992.0;
}

static const char *const names[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
static const size_t lens[] = {1, 5, 5, 5, 5};

enum
{
	O, BPER, IPER, BLOC, ILOC, K
};

/* Entities of the pieces as "TYPE score start end; ...". */
static void
check_agg(const char *what, const float *probs, int n, const int32_t *st, const int32_t *en,
		  const uint8_t *sub, BertAggregation agg, const BertTransitions *crf,
		  const char *expected)
{
	BertEntity *e = malloc(sizeof(BertEntity) * (size_t) (n ? n : 1));
	char		got[512];
	int			len = 0;
	int			ne = bcore_extract_entities(probs, n, K, st, en, sub, agg, crf, names, lens, e);

	got[0] = '\0';
	for (int i = 0; i < ne; i++)
		len += snprintf(got + len, sizeof(got) - len, "%s%.*s %.4g %d %d", i ? "; " : "",
						(int) e[i].type_len, e[i].type, (double) e[i].score, e[i].start, e[i].end);
	CHECK(ne >= 0 && strcmp(got, expected) == 0, "%s: got \"%s\" (%d), expected \"%s\"",
		  what, got, ne, expected);
	free(e);
}

/* ---------------------------------------------------------------------------
 * aggregation strategies
 */
static void
test_strategies(void)
{
	/*
	 * [CLS] mic ##ro ##soft in new york [SEP]: "microsoft" one word of three
	 * pieces whose argmax labels disagree (B-PER, B-LOC, I-PER)
	 */
	const float a[] = {
		1, 0, 0, 0, 0,			/* [CLS] */
		.1f, .6f, .1f, .1f, .1f,	/* mic    B-PER .6 */
		.1f, .1f, .1f, .7f, 0,	/* ##ro   B-LOC .7 */
		.2f, 0, .5f, 0, .3f,	/* ##soft I-PER .5 */
		.9f, 0, 0, .1f, 0,		/* in     O .9 */
		.1f, 0, 0, .8f, .1f,	/* new    B-LOC .8 */
		.2f, 0, 0, .2f, .6f,	/* york   I-LOC .6 */
		1, 0, 0, 0, 0			/* [SEP] */
	};
	const int32_t ast[] = {0, 0, 3, 5, 10, 13, 17, 0};
	const int32_t aen[] = {0, 3, 5, 9, 12, 16, 21, 0};
	const uint8_t asub[] = {0, 0, 1, 1, 0, 0, 0, 0};

	/* none: every piece but O, with its full label */
	check_agg("none", a, 8, ast, aen, asub, BERT_AGG_NONE, NULL,
			  "B-PER 0.6 0 3; B-LOC 0.7 3 5; I-PER 0.5 5 9; B-LOC 0.8 13 16; I-LOC 0.6 17 21");
	/* simple: a B always starts a group, a new tag too; I-LOC joins B-LOC */
	check_agg("simple", a, 8, ast, aen, asub, BERT_AGG_SIMPLE, NULL,
			  "PER 0.6 0 3; LOC 0.7 3 5; PER 0.5 5 9; LOC 0.7 13 21");
	/* first: the word takes mic's B-PER .6 */
	check_agg("first", a, 8, ast, aen, asub, BERT_AGG_FIRST, NULL,
			  "PER 0.6 0 9; LOC 0.7 13 21");
	/* average: mean = [.1333 .2333 .2333 .2667 .1333] -> B-LOC .2667 */
	check_agg("average", a, 8, ast, aen, asub, BERT_AGG_AVERAGE, NULL,
			  "LOC 0.2667 0 9; LOC 0.7 13 21");
	/* max: ##ro has the top score (.7) -> B-LOC .7 */
	check_agg("max", a, 8, ast, aen, asub, BERT_AGG_MAX, NULL,
			  "LOC 0.7 0 9; LOC 0.7 13 21");

	/*
	 * ka ##te smith: ties go to the first label (ka: O .4 = B-PER .4 -> O)
	 * and to the first piece (max: ka .4 = ##te .4 -> ka); an I- after O
	 * starts an entity, in the pipeline
	 */
	{
		const float b[] = {
			.4f, .4f, .2f, 0, 0,	/* ka     O .4 (tie with B-PER) */
			.3f, 0, .4f, .3f, 0,	/* ##te   I-PER .4 */
			.1f, 0, .9f, 0, 0		/* smith  I-PER .9 */
		};
		const int32_t bst[] = {0, 2, 5};
		const int32_t ben[] = {2, 4, 10};
		const uint8_t bsub[] = {0, 1, 0};
		const float zero[K * K] = {0};
		const float zk[K] = {0};
		BertTransitions none = {zero, zk, zk};

		check_agg("ties: none", b, 3, bst, ben, bsub, BERT_AGG_NONE, NULL,
				  "I-PER 0.4 2 4; I-PER 0.9 5 10");
		/* simple starts PER inside the word "kate" */
		check_agg("ties: simple", b, 3, bst, ben, bsub, BERT_AGG_SIMPLE, NULL, "PER 0.65 2 10");
		check_agg("ties: first", b, 3, bst, ben, bsub, BERT_AGG_FIRST, NULL, "PER 0.9 5 10");
		check_agg("ties: max", b, 3, bst, ben, bsub, BERT_AGG_MAX, NULL, "PER 0.9 5 10");
		/* average [.35 .2 .3 .15 0] -> O */
		check_agg("ties: average", b, 3, bst, ben, bsub, BERT_AGG_AVERAGE, NULL, "PER 0.9 5 10");

		/*
		 * with transitions (all zero: only the BIO rule), I-PER cannot
		 * follow O: the best allowed path is B-PER (.4) I-PER (.9)
		 */
		check_agg("BIO rule: first", b, 3, bst, ben, bsub, BERT_AGG_FIRST, &none, "PER 0.65 0 10");
		/* pieces: B-PER(.4) I-PER(.4) I-PER(.9) beats O(.4) O(.3) O(.1) and the rest */
		check_agg("BIO rule: simple", b, 3, bst, ben, bsub, BERT_AGG_SIMPLE, &none,
				  "PER 0.5667 0 10");
		check_agg("BIO rule: none", b, 3, bst, ben, bsub, BERT_AGG_NONE, &none,
				  "B-PER 0.4 0 2; I-PER 0.4 2 4; I-PER 0.9 5 10");
	}

	/* O between pieces of one type splits them; specials, empty input */
	{
		const float c[] = {
			0, .9f, .1f, 0, 0,	/* B-PER */
			.8f, 0, .2f, 0, 0,	/* O */
			0, 0, .7f, 0, .3f	/* I-PER */
		};
		const int32_t cst[] = {0, 4, 8};
		const int32_t cen[] = {3, 7, 11};
		const uint8_t csub[] = {0, 0, 0};

		check_agg("O between", c, 3, cst, cen, csub, BERT_AGG_SIMPLE, NULL, "PER 0.9 0 3; PER 0.7 8 11");
		check_agg("O between, words", c, 3, cst, cen, csub, BERT_AGG_FIRST, NULL, "PER 0.9 0 3; PER 0.7 8 11");
		check_agg("no pieces", c, 0, cst, cen, csub, BERT_AGG_FIRST, NULL, "");
	}

	/* a NaN in a piece: average ignores it (nanmean) */
	{
		const float d[] = {
			.2f, .6f, .2f, 0, 0,
			NAN, .2f, .6f, .2f, 0
		};
		const int32_t dst[] = {0, 2};
		const int32_t den[] = {2, 5};
		const uint8_t dsub[] = {0, 1};

		/* mean: O .2 (NaN ignored), B-PER .4, I-PER .4 -> B-PER .4 */
		check_agg("nanmean", d, 2, dst, den, dsub, BERT_AGG_AVERAGE, NULL, "PER 0.4 0 5");
	}

	CHECK(bcore_aggregation_from_name("first", 5) == BERT_AGG_FIRST &&
		  bcore_aggregation_from_name("none", 4) == BERT_AGG_NONE &&
		  bcore_aggregation_from_name("average", 7) == BERT_AGG_AVERAGE &&
		  bcore_aggregation_from_name("max", 3) == BERT_AGG_MAX &&
		  bcore_aggregation_from_name("simple", 6) == BERT_AGG_SIMPLE &&
		  bcore_aggregation_from_name("First", 5) == -1 &&
		  bcore_aggregation_from_name("firs", 4) == -1, "strategy names");
	{
		float		p[K] = {1, 0, 0, 0, 0};
		int32_t		s = 0,
					e = 1;
		BertEntity	out[1];

		CHECK(bcore_extract_entities(p, 1, K, &s, &e, NULL, BERT_AGG_FIRST, NULL, names, lens, out) == -1,
			  "word strategies need is_subword");
		CHECK(bcore_extract_entities(p, 1, K, &s, &e, NULL, (BertAggregation) 9, NULL, names, lens, out) == -1,
			  "unknown strategy");
	}
}

/* ---------------------------------------------------------------------------
 * Viterbi against brute force
 */
static double
path_score(const float *emit, int n, int k, const BertTransitions *crf, const int *path)
{
	double		s = crf->start[path[0]] + emit[path[0]] + crf->end[path[n - 1]];

	for (int t = 1; t < n; t++)
		s += crf->trans[path[t - 1] * k + path[t]] + emit[t * k + path[t]];
	return s;
}

static void
test_viterbi(void)
{
	uint8_t		allowed[K * K],
				first[K];
	int			cases = 0,
				agree = 0;

	bcore_bio_allowed(names, lens, K, allowed, first);
	CHECK(first[O] && first[BPER] && !first[IPER] && first[BLOC] && !first[ILOC], "first labels");
	CHECK(allowed[BPER * K + IPER] && allowed[IPER * K + IPER] && !allowed[O * K + IPER] &&
		  !allowed[BLOC * K + IPER] && !allowed[ILOC * K + IPER] && allowed[ILOC * K + O] &&
		  allowed[BPER * K + BLOC] && allowed[IPER * K + BPER], "BIO rule");

	for (int trial = 0; trial < 300; trial++)
	{
		int			n = 1 + trial % 6;
		int			ruled = trial % 2;
		float		emit[6 * K],
					tr[K * K],
					st[K],
					en[K];
		BertTransitions crf = {tr, st, en};
		int			path[6],
					p[6],
					best[6];
		double		best_s = -INFINITY;
		long		total = 1;

		for (int i = 0; i < n * K; i++)
			emit[i] = (float) (uniform() * 4 - 2);
		for (int i = 0; i < K * K; i++)
			tr[i] = (float) (uniform() * 2 - 1);
		for (int i = 0; i < K; i++)
		{
			st[i] = (float) (uniform() - 0.5);
			en[i] = (float) (uniform() - 0.5);
		}
		for (int t = 0; t < n; t++)
			total *= K;
		for (long c = 0; c < total; c++)
		{
			long		r = c;
			int			ok = 1;
			double		s;

			for (int t = 0; t < n; t++, r /= K)
				p[t] = (int) (r % K);
			if (ruled)
			{
				ok = first[p[0]];
				for (int t = 1; t < n && ok; t++)
					ok = allowed[p[t - 1] * K + p[t]];
			}
			if (!ok)
				continue;
			s = path_score(emit, n, K, &crf, p);
			if (s > best_s)
			{
				best_s = s;
				memcpy(best, p, sizeof(int) * n);
			}
		}
		if (bcore_viterbi(emit, n, K, &crf, ruled ? allowed : NULL, ruled ? first : NULL, path) != 0)
			continue;
		cases++;
		agree += fabs(path_score(emit, n, K, &crf, path) - best_s) < 1e-9 &&
			memcmp(path, best, sizeof(int) * n) == 0;
	}
	CHECK(cases == 300 && agree == 300, "Viterbi = brute force in %d of %d cases", agree, cases);

	/* without transitions and rule, Viterbi is the argmax (first on ties) */
	{
		const float e[] = {1, 3, 3, 0, 0, 5, 1, 1, 1, 1};
		int			path[2];

		CHECK(bcore_viterbi(e, 2, K, NULL, NULL, NULL, path) == 0 && path[0] == 1 && path[1] == 0,
			  "argmax path %d %d", path[0], path[1]);
	}
}

/* ---------------------------------------------------------------------------
 * transition training
 */
static void
test_crf_train(void)
{
	uint8_t		allowed[K * K],
				first[K];
	float		tr[K * K],
				st[K],
				en[K];
	double		loss0,
				loss1;

	bcore_bio_allowed(names, lens, K, allowed, first);

	/* zero emissions and parameters: NLL = log Z = log(number of allowed paths) */
	{
		const float emit[2 * K] = {0};
		const int	y[2] = {BPER, IPER};
		const int	ss[2] = {0, 2};

		/* length 2: 3 first labels; O goes to 3 labels, B-X and I-X to 4 each: 3 + 4 + 4 = 11 */
		CHECK(bcore_crf_train(emit, ss, 1, K, y, allowed, first, 0, 0.1f, 0, tr, st, en, &loss0) == 0 &&
			  fabs(loss0 - log(11.0)) < 1e-9, "NLL at zero = log 11: %.9f", loss0);
		CHECK(bcore_crf_train(emit, ss, 1, K, (const int[]) {O, IPER}, allowed, first, 0, 0.1f, 0,
							  tr, st, en, &loss0) == -2, "a gold path the rule forbids");
	}

	/*
	 * Uninformative emissions, gold sequences "B-PER I-PER O" (twice as
	 * often) and "B-LOC I-LOC O": training learns that B-X is followed by
	 * I-X and the sequence ends with O, so Viterbi on zero emissions then
	 * finds the frequent pattern.
	 */
	{
		float		emit[9 * K];
		int			y[9] = {BPER, IPER, O, BPER, IPER, O, BLOC, ILOC, O};
		int			ss[4] = {0, 3, 6, 9};
		int			path[3];
		BertTransitions crf = {tr, st, en};

		for (int i = 0; i < 9 * K; i++)
			emit[i] = 0.0f;
		CHECK(bcore_crf_train(emit, ss, 3, K, y, allowed, first, 0, 0.05f, 0, tr, st, en, &loss0) == 0 &&
			  bcore_crf_train(emit, ss, 3, K, y, allowed, first, 200, 0.05f, 0, tr, st, en, &loss1) == 0,
			  "train");
		CHECK(loss1 < loss0 - 1.0, "NLL falls: %.4f -> %.4f", loss0, loss1);
		CHECK(bcore_viterbi(emit, 3, K, &crf, allowed, first, path) == 0 &&
			  path[0] == BPER && path[1] == IPER && path[2] == O,
			  "learnt path %d %d %d", path[0], path[1], path[2]);
		CHECK(tr[BPER * K + IPER] > tr[BPER * K + O] && en[O] > en[BPER],
			  "B-PER -> I-PER %.3f > B-PER -> O %.3f; end O %.3f > end B-PER %.3f",
			  tr[BPER * K + IPER], tr[BPER * K + O], en[O], en[BPER]);
	}
}

/* ---------------------------------------------------------------------------
 * tagger features and the tagger head in a model file
 */
static int
tokenize(const BertModel *m, const char *text, BertTokens *tok)
{
	if (bcore_tokenize_utf8(&m->vocab, text, strlen(text), 0, tok) != BERT_TOK_OK)
	{
		printf("FAIL: out of memory tokenizing\n");
		exit(1);
	}
	return (int) tok->n;
}

static void
test_tagger(const char *model_path, const char *tmpdir)
{
	BertModel	base,
				m;
	char		err[512],
				path[512];
	BertTokens	tok = {0};
	const char *text = "Yesterday Zoë Unaffable drove to NEW york. Bob said 42!";
	int			n,
				H,
				D;
	uint8_t    *sub;
	float	   *h,
			   *X;

	if (bcore_model_open(model_path, &base, err, sizeof(err)) != BERT_MODEL_OK)
	{
		CHECK(0, "open %s: %s", model_path, err);
		return;
	}
	H = base.config.hidden;
	D = bcore_tagger_dim(H);
	CHECK(D == 4 * H + 25, "feature width %d", D);

	/*
	 * [CLS] yesterday zoe una ##ffa ##ble drove to new york . bob said 42 ! [SEP]
	 * is_subword: ##ffa and ##ble are 5 and 5 code points for spans of 3
	 */
	n = tokenize(&base, text, &tok);
	sub = malloc((size_t) n);
	bcore_pieces_subword(&base.vocab, tok.ids, tok.start, tok.end, n, sub);
	CHECK(n == 16 && sub[0] == 0 && sub[2] == 0 && sub[3] == 0 && sub[4] == 1 && sub[5] == 1 &&
		  sub[6] == 0 && sub[15] == 0, "is_subword (%d pieces)", n);

	/* features of synthetic states: h_t = t everywhere */
	h = malloc(sizeof(float) * (size_t) n * H);
	X = malloc(sizeof(float) * (size_t) n * D);
	for (int t = 0; t < n; t++)
		for (int i = 0; i < H; i++)
			h[(size_t) t * H + i] = (float) t;
	CHECK(bcore_tagger_features(h, n, H, tok.start, tok.end, sub, text, strlen(text), X) == 0,
		  "features");
	{
		const float *x4 = X + (size_t) 4 * D;	/* ##ffa of "Unaffable" (pieces 3, 4, 5) */
		const float *f4 = x4 + 4 * H;
		const float *x2 = X + (size_t) 2 * D;	/* Zoë */
		const float *f2 = x2 + 4 * H;
		const float *f8 = X + (size_t) 8 * D + 4 * H;	/* NEW */
		const float *f9 = X + (size_t) 9 * D + 4 * H;	/* york */
		const float *f11 = X + (size_t) 11 * D + 4 * H;	/* Bob */
		const float *f13 = X + (size_t) 13 * D + 4 * H;	/* 42 */
		const float *f14 = X + (size_t) 14 * D + 4 * H;	/* ! */
		const float *f1 = X + (size_t) 1 * D + 4 * H;	/* Yesterday */
		int			zero = 1;

		CHECK(x4[0] == 4 && x4[H] == 4 && x4[2 * H] == 2 && x4[3 * H] == 6,
			  "h_t, word mean, previous and next word: %g %g %g %g", x4[0], x4[H], x4[2 * H], x4[3 * H]);
		CHECK(f4[0] == 1 && f4[6] == 1 && f4[7] == 0 && f4[24] == 1 && f4[8] == 1 && f4[16] == 0,
			  "Unaffable: capitalised, not at a start; continues; Zoë before, drove after");
		CHECK(f2[0] == 1 && f2[2] == 1 && f2[6] == 1 && f2[24] == 0 && x2[2 * H] == 1,
			  "Zoë: capitalised, lower-case, not at a start");
		CHECK(f8[0] == 1 && f8[1] == 1 && f8[2] == 0, "NEW: all capitals");
		CHECK(f9[0] == 0 && f9[2] == 1 && f9[6] == 0, "york: lower case");
		CHECK(f11[0] == 1 && f11[6] == 0 && f11[7] == 1, "Bob: after a full stop, a sentence start");
		CHECK(f13[3] == 1 && f13[0] == 0 && f13[4] == 0, "42: digits");
		CHECK(f14[4] == 1 && f14[2] == 0, "!: no letter or digit");
		CHECK(f1[5] == 1 && f1[7] == 1 && f1[6] == 0 && f1[8] == 0 && X[(size_t) 1 * D + 2 * H] == 0,
			  "Yesterday: first word, nothing before it");
		for (int i = 0; i < D; i++)
			zero &= X[i] == 0 && X[(size_t) (n - 1) * D + i] == 0;
		CHECK(zero, "[CLS] and [SEP] rows are zeros");
	}

	/* a tagger head written, read back and run */
	{
		int			k = K;
		float	   *W = malloc(sizeof(float) * (size_t) k * D);
		float		b[K] = {.1f, 0, 0, -.1f, 0};
		float		tr[K * K],
					st[K],
					en[K],
					cfg[BERT_TAGGER_CONFIG_LEN];
		BertHeadSpec spec;
		BertWriteStatus ws;
		BertRunState rs = {0};
		float	   *probs = malloc(sizeof(float) * (size_t) n * k);

		for (size_t i = 0; i < (size_t) k * D; i++)
			W[i] = (float) (uniform() - 0.5) * 0.2f;
		for (int i = 0; i < K * K; i++)
			tr[i] = (float) i / 10;
		for (int i = 0; i < K; i++)
		{
			st[i] = (float) i;
			en[i] = (float) -i;
		}
		bcore_tagger_config(H, cfg);
		memset(&spec, 0, sizeof(spec));
		spec.kind = BERT_KIND_TOKEN_CLASSIFICATION;
		spec.num_labels = k;
		spec.labels = names;
		spec.label_lens = lens;
		spec.cls_w = W;
		spec.cls_b = b;
		spec.tagger = cfg;
		spec.crf_trans = tr;
		spec.crf_start = st;
		spec.crf_end = en;
		snprintf(path, sizeof(path), "%s/test_entities.%ld.bert", tmpdir, (long) getpid());
		ws = bcore_model_write(path, &base, &spec, err, sizeof(err));
		CHECK(ws == BERT_WRITE_OK, "write a tagger: %s", err);
		if (ws == BERT_WRITE_OK && bcore_model_open(path, &m, err, sizeof(err)) == BERT_MODEL_OK)
		{
			const BertWeights *w = &m.weights;
			int			T = n;
			double		z[K],
						mx = -INFINITY,
						sum = 0;
			float	   *tp = malloc(sizeof(float) * (size_t) n * k);

			CHECK(w->tagger != NULL && w->cls_in == D && w->crf_trans != NULL &&
				  memcmp(w->crf_trans, tr, sizeof(tr)) == 0 && memcmp(w->crf_start, st, sizeof(st)) == 0 &&
				  memcmp(w->crf_end, en, sizeof(en)) == 0 &&
				  memcmp(w->cls_w, W, sizeof(float) * (size_t) k * D) == 0, "tagger tensors read back");
			CHECK(bcore_encode(&m, &rs, tok.ids, &T, 1) == BERT_ENC_OK, "encode");
			CHECK(bcore_classify_tokens(&m, &rs, &T, 1, tp) == BERT_HEAD_WRONG_KIND,
				  "a tagger head is not a plain token head");
			CHECK(bcore_tagger_probs(&m, &rs, tok.ids, tok.start, tok.end, n, text, strlen(text), probs) ==
				  BERT_HEAD_OK, "tagger probs");
			/* piece 4 directly: softmax(W x + b) on its features */
			bcore_tagger_features(rs.x, n, H, tok.start, tok.end, sub, text, strlen(text), X);
			for (int c = 0; c < k; c++)
			{
				z[c] = b[c];
				for (int j = 0; j < D; j++)
					z[c] += (double) W[(size_t) c * D + j] * X[(size_t) 4 * D + j];
				mx = z[c] > mx ? z[c] : mx;
			}
			for (int c = 0; c < k; c++)
				sum += (z[c] = exp(z[c] - mx));
			CHECK(fabs(probs[4 * k + 0] - z[0] / sum) < 1e-5 && fabs(probs[4 * k + 3] - z[3] / sum) < 1e-5,
				  "tagger probs %.6f %.6f, direct %.6f %.6f", probs[4 * k], probs[4 * k + 3],
				  z[0] / sum, z[3] / sum);
			free(tp);
			bcore_model_close(&m);
		}
		cfg[0] = 2;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
			  "a tagger version this code does not read is refused");
		cfg[0] = BERT_TAGGER_VERSION;
		spec.crf_end = NULL;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
			  "transitions come whole");
		spec.crf_end = en;
		spec.kind = BERT_KIND_SEQUENCE_CLASSIFICATION;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
			  "only a token head has tagger features");
		unlink(path);
		bcore_run_state_free(&rs);
		free(W);
		free(probs);
	}

	/*
	 * Word-level strategies never cut a word: random probabilities on the
	 * pieces of real sentences, every entity of first / average / max starts
	 * at a piece that does not continue a word and ends where the next
	 * piece does not continue it.
	 */
	{
		const char *texts[] = {
			"Unaffable Yolanda Priscilla moved to Hampshire.",
			"Dwayne Helen-Elizabeth works in North Dakota; naïveté isn't rare.",
			"Schwarzenegger, Tchaikovsky and Nijinsky met at Zzyzx Road 1234567.",
		};
		int			bad = 0,
					ents = 0;

		for (int s = 0; s < 3; s++)
			for (int trial = 0; trial < 50; trial++)
			{
				int			nn = tokenize(&base, texts[s], &tok);
				float	   *p = malloc(sizeof(float) * (size_t) nn * K);
				uint8_t    *sb = malloc((size_t) nn);
				BertEntity *e = malloc(sizeof(BertEntity) * (size_t) nn);

				bcore_pieces_subword(&base.vocab, tok.ids, tok.start, tok.end, nn, sb);
				for (int i = 0; i < nn * K; i++)
					p[i] = (float) uniform();
				for (int agg = BERT_AGG_FIRST; agg <= BERT_AGG_MAX; agg++)
				{
					int			ne = bcore_extract_entities(p, nn, K, tok.start, tok.end, sb,
														   (BertAggregation) agg, NULL, names, lens, e);

					for (int i = 0; i < ne; i++)
					{
						int			last = e[i].first;

						for (int t = e[i].first; t < nn; t++)
							if (tok.start[t] < tok.end[t] && tok.end[t] <= e[i].end)
								last = t;
						bad += sb[e[i].first] || (last + 1 < nn && sb[last + 1]);
						ents++;
					}
				}
				free(p);
				free(sb);
				free(e);
			}
		CHECK(ents > 100 && bad == 0, "%d of %d word-level entities cut a word", bad, ents);
	}

	free(sub);
	free(h);
	free(X);
	bcore_tokens_free(&tok);
	bcore_model_close(&base);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
	{
		fprintf(stderr, "usage: %s MODEL.bert [TMPDIR]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	bcore_blas_init(1);
	test_strategies();
	test_viterbi();
	test_crf_train();
	test_tagger(argv[1], argc > 2 ? argv[2] : "/tmp");
	printf("test_entities: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
