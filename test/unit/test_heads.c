/*
 * test_heads.c — unit tests of heads.c (classification heads, entity
 * grouping, the softmax-regression trainer, BIO labels) and model_write.c.
 * Built with ASan + UBSan.  Usage: test_heads MODEL.bert [TMPDIR]
 *
 * Expected entity groups are worked out by hand from transformers'
 * TokenClassificationPipeline (aggregation_strategy="simple"): get_tag,
 * group_entities, group_sub_entities, ignore_labels ["O"]; the other
 * strategies are in test_entities.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoder.h"
#include "entities.h"
#include "heads.h"
#include "model.h"
#include "model_write.h"
#include "ops.h"

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

static uint64_t rng = 88172645463325252ull;

/* Uniform in [0, 1), deterministic. */
static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double) (rng >> 11) / 9007199254740992.0;
}

/* ---------------------------------------------------------------------------
 * softmax, argmax
 */
static void
test_probs(void)
{
	/* logits = W x + b = [1, 0, ln 2]: softmax = [e, 1, 2] / (e + 3) */
	const float x[2] = {1.0f, 0.5f};
	const float W[6] = {1, 0, 0, 0, 0, 0};
	const float b[3] = {0, 0, (float) M_LN2};
	float		p[3],
				v;
	double		s = M_E + 3.0;
	const float ties[4] = {1, 3, 3, 2};

	bcore_head_probs(x, 1, 2, 2, W, b, 3, p);
	CHECK(fabs(p[0] - M_E / s) < 1e-6 && fabs(p[1] - 1 / s) < 1e-6 && fabs(p[2] - 2 / s) < 1e-6,
		  "softmax %.6f %.6f %.6f, expected 0.475367 0.174878 0.349756", p[0], p[1], p[2]);
	CHECK(fabsf(p[0] + p[1] + p[2] - 1.0f) < 1e-6f, "sum");
	CHECK(bcore_argmax(p, 3, &v) == 0 && fabs(v - 0.475367) < 1e-6, "argmax %f", v);
	CHECK(bcore_argmax(ties, 4, &v) == 1 && v == 3.0f, "argmax takes the first of ties");

	/* two rows with a row stride: the second row [0, 2] gives logits [0, 0, ln 2] */
	{
		const float xs[6] = {1, 0, 99, 0, 2, 99};
		float		q[6];

		bcore_head_probs(xs, 2, 2, 3, W, b, 3, q);
		CHECK(fabsf(q[3] - 0.25f) < 1e-6f && fabsf(q[4] - 0.25f) < 1e-6f &&
			  fabsf(q[5] - 0.5f) < 1e-6f, "strided row %f %f %f", q[3], q[4], q[5]);
	}
}

/* ---------------------------------------------------------------------------
 * entity grouping
 */
static const char *const labels[] = {
	"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "MISC", "B-X-Y"
};
enum
{
	O, BPER, IPER, BLOC, ILOC, MISC, BXY, NLAB
};

/*
 * Run the grouping on n pieces and compare with the expected entities, a
 * string like "PER 0.85 0 10; LOC 0.65 20 28".
 */
static void
check_groups(const char *what, int n, const int *lab, const float *score,
			 const int32_t *start, const int32_t *end, const char *expected)
{
	size_t		lens[NLAB];
	BertEntity *e = malloc(sizeof(BertEntity) * (size_t) (n ? n : 1));
	char		got[512];
	int			len = 0;
	int			ne;

	for (int i = 0; i < NLAB; i++)
		lens[i] = strlen(labels[i]);
	ne = bcore_group_entities(lab, score, start, end, n, labels, lens, NLAB, e);
	got[0] = '\0';
	for (int i = 0; i < ne; i++)
		len += snprintf(got + len, sizeof(got) - len, "%s%.*s %.4g %d %d", i ? "; " : "",
						(int) e[i].type_len, e[i].type, (double) e[i].score, e[i].start, e[i].end);
	CHECK(ne >= 0 && strcmp(got, expected) == 0, "%s: got \"%s\", expected \"%s\"",
		  what, got, expected);
	free(e);
}

static void
test_entities(void)
{
	/* [CLS] john smith lives in new york [SEP]; [SEP] tagged B-PER but special */
	{
		int			lab[] = {O, BPER, IPER, O, O, BLOC, ILOC, BPER};
		float		sc[] = {.99f, .9f, .8f, .99f, .98f, .7f, .6f, .5f};
		int32_t		st[] = {0, 0, 5, 11, 17, 20, 24, 0};
		int32_t		en[] = {0, 4, 10, 16, 19, 23, 28, 0};

		check_groups("B-PER I-PER ... B-LOC I-LOC", 8, lab, sc, st, en,
					 "PER 0.85 0 10; LOC 0.65 20 28");
	}
	/* I- without B- starts an entity; I-LOC after B-PER is a new type */
	{
		int			lab[] = {O, O, IPER, IPER, BPER, ILOC, O};
		float		sc[] = {1, .9f, .6f, .7f, .5f, .4f, 1};
		int32_t		st[] = {0, 0, 3, 8, 12, 16, 0};
		int32_t		en[] = {0, 2, 7, 11, 15, 20, 0};

		check_groups("I- without B-", 7, lab, sc, st, en,
					 "PER 0.65 3 11; PER 0.5 12 15; LOC 0.4 16 20");
	}
	/* adjacent entities: B-PER B-PER split, B-PER then B-LOC split */
	{
		int			lab[] = {O, BPER, BPER, IPER, BLOC, O};
		float		sc[] = {1, .9f, .8f, .6f, .75f, 1};
		int32_t		st[] = {0, 0, 4, 8, 12, 0};
		int32_t		en[] = {0, 3, 7, 11, 16, 0};

		check_groups("adjacent", 6, lab, sc, st, en,
					 "PER 0.9 0 3; PER 0.7 4 11; LOC 0.75 12 16");
	}
	/* word pieces: jo ##hn (I-) merge, ka ##te (B- B-) do not: "simple" ignores words */
	{
		int			lab[] = {O, BPER, IPER, O, BPER, BPER, O};
		float		sc[] = {1, .9f, .5f, .9f, .8f, .4f, 1};
		int32_t		st[] = {0, 0, 2, 5, 9, 11, 0};
		int32_t		en[] = {0, 2, 4, 8, 11, 13, 0};

		check_groups("subword pieces", 7, lab, sc, st, en,
					 "PER 0.7 0 4; PER 0.8 9 11; PER 0.4 11 13");
	}
	/* an O between two PER pieces splits them; O groups are dropped */
	{
		int			lab[] = {BPER, O, IPER};
		float		sc[] = {.9f, .9f, .7f};
		int32_t		st[] = {0, 4, 8};
		int32_t		en[] = {3, 7, 11};

		check_groups("O between", 3, lab, sc, st, en, "PER 0.9 0 3; PER 0.7 8 11");
	}
	/* labels without B-/I- merge as I-; "B-X-Y" is type X-Y (split("-", 1)[-1]) */
	{
		int			lab[] = {MISC, MISC, BXY, BXY, O};
		float		sc[] = {.5f, .7f, .8f, NAN, .9f};
		int32_t		st[] = {0, 3, 6, 9, 12};
		int32_t		en[] = {2, 5, 8, 11, 14};

		check_groups("no prefix, hyphenated type, NaN score", 5, lab, sc, st, en,
					 "MISC 0.6 0 5; X-Y 0.8 6 8; X-Y nan 9 11");
	}
	/* only specials and O: nothing */
	{
		int			lab[] = {BPER, O, BPER};
		float		sc[] = {1, 1, 1};
		int32_t		st[] = {0, 0, 0};
		int32_t		en[] = {0, 3, 0};

		check_groups("specials only", 3, lab, sc, st, en, "");
		check_groups("no pieces", 0, lab, sc, st, en, "");
	}
	/* a label id out of range */
	{
		int			lab[] = {O, NLAB};
		float		sc[] = {1, 1};
		int32_t		st[] = {0, 0};
		int32_t		en[] = {1, 2};
		size_t		lens[NLAB] = {1, 5, 5, 5, 5, 4, 5};
		BertEntity	e[2];

		CHECK(bcore_group_entities(lab, sc, st, en, 2, labels, lens, NLAB, e) == -1,
			  "label out of range");
	}
	/* the fields a caller needs to find the pieces */
	{
		int			lab[] = {O, O, BLOC, ILOC, O};
		float		sc[] = {1, 1, .5f, .5f, 1};
		int32_t		st[] = {0, 0, 3, 6, 0};
		int32_t		en[] = {0, 2, 5, 9, 0};
		size_t		lens[NLAB];
		BertEntity	e[5];
		int			ne;

		for (int i = 0; i < NLAB; i++)
			lens[i] = strlen(labels[i]);
		ne = bcore_group_entities(lab, sc, st, en, 5, labels, lens, NLAB, e);
		CHECK(ne == 1 && e[0].label == BLOC && e[0].first == 2 && e[0].n_pieces == 2 &&
			  e[0].type == labels[BLOC] + 2, "entity fields");
	}
}

/* ---------------------------------------------------------------------------
 * trainer
 */
typedef struct Progress
{
	int			calls;
	int			stop_at;
	double		last_loss;
	double		first_loss;
	double		last_acc;
} Progress;

static int
on_epoch(int epoch, double loss, double acc, void *arg)
{
	Progress   *p = arg;

	p->calls++;
	if (epoch == 1)
		p->first_loss = loss;
	p->last_loss = loss;
	p->last_acc = acc;
	return p->stop_at > 0 && epoch >= p->stop_at;
}

/* k clusters at scale * e_c (+ shift), uniform noise in [-0.5, 0.5) * scale. */
static void
make_blobs(float *X, int *y, int n, int d, int k, const int *counts,
		   float scale, float shift)
{
	int			i = 0;

	for (int c = 0; c < k; c++)
		for (int r = 0; r < (counts ? counts[c] : n / k); r++, i++)
		{
			for (int j = 0; j < d; j++)
				X[(size_t) i * d + j] = ((j == c ? 3.0f : 0.0f) +
										 (float) (uniform() - 0.5)) * scale + shift;
			y[i] = c;
		}
}

static double
accuracy(const float *X, const int *y, int n, int d, int k, const float *W, const float *b)
{
	float	   *p = malloc(sizeof(float) * (size_t) n * k);
	int			right = 0;

	bcore_head_probs(X, n, d, d, W, b, k, p);
	for (int i = 0; i < n; i++)
		right += bcore_argmax(p + (size_t) i * k, k, NULL) == y[i];
	free(p);
	return (double) right / n;
}

/* Per-class recall: the worst class. */
static double
worst_recall(const float *X, const int *y, int n, int d, int k, const float *W, const float *b)
{
	float	   *p = malloc(sizeof(float) * (size_t) n * k);
	double		worst = 1.0;

	bcore_head_probs(X, n, d, d, W, b, k, p);
	for (int c = 0; c < k; c++)
	{
		int			all = 0,
					right = 0;

		for (int i = 0; i < n; i++)
			if (y[i] == c)
			{
				all++;
				right += bcore_argmax(p + (size_t) i * k, k, NULL) == c;
			}
		if (all && (double) right / all < worst)
			worst = (double) right / all;
	}
	free(p);
	return worst;
}

static void
test_trainer(void)
{
	enum
	{
		N = 300, D = 16, K = 3
	};
	float	   *X = malloc(sizeof(float) * N * D);
	int		   *y = malloc(sizeof(int) * N);
	float		W[K * D],
				b[K],
				W2[K * D],
				b2[K];
	BertTrainParams p;
	Progress	pr = {0};
	BertHeadStatus st;

	make_blobs(X, y, N, D, K, NULL, 1.0f, 0.0f);
	bcore_train_params_default(&p);
	CHECK(p.epochs == 100 && p.batch_size == 32 && fabsf(p.learning_rate - 0.01f) < 1e-9f &&
		  fabsf(p.l2 - 1e-4f) < 1e-12f && p.seed == 42 && p.class_weight == BERT_CLASS_WEIGHT_NONE,
		  "defaults");

	st = bcore_train_softmax(X, N, D, y, K, NULL, NULL, W, b, on_epoch, &pr);
	CHECK(st == BERT_HEAD_OK, "train: %s", bcore_head_status_message(st));
	CHECK(pr.calls == 100, "progress called %d times", pr.calls);
	CHECK(pr.last_acc == 1.0, "reported accuracy %g", pr.last_acc);
	CHECK(pr.last_loss < pr.first_loss && pr.last_loss < 0.1, "loss %g -> %g",
		  pr.first_loss, pr.last_loss);
	CHECK(accuracy(X, y, N, D, K, W, b) == 1.0, "accuracy %g", accuracy(X, y, N, D, K, W, b));
	printf("trainer: loss %.4f after epoch 1, %.4f after epoch 100\n", pr.first_loss, pr.last_loss);

	/* same seed: bit-identical; caller's work area: the same too */
	{
		size_t		ws = bcore_train_softmax_work_size(N, D, K, NULL);
		void	   *work = malloc(ws + 3);

		st = bcore_train_softmax(X, N, D, y, K, NULL, (char *) work + 3, W2, b2, NULL, NULL);
		CHECK(st == BERT_HEAD_OK && memcmp(W, W2, sizeof(W)) == 0 && memcmp(b, b2, sizeof(b)) == 0,
			  "same seed, caller's (misaligned) work area: bit-identical W and b");
		free(work);
	}
	p.seed = 7;
	st = bcore_train_softmax(X, N, D, y, K, &p, NULL, W2, b2, NULL, NULL);
	CHECK(st == BERT_HEAD_OK && memcmp(W, W2, sizeof(W)) != 0, "another seed, other W");
	CHECK(accuracy(X, y, N, D, K, W2, b2) == 1.0, "another seed: accuracy");

	/* full batch, and features like raw hidden states (large, off-centre) */
	bcore_train_params_default(&p);
	p.batch_size = 0;
	p.epochs = 200;
	p.learning_rate = 0.05f;
	st = bcore_train_softmax(X, N, D, y, K, &p, NULL, W2, b2, NULL, NULL);
	CHECK(st == BERT_HEAD_OK && accuracy(X, y, N, D, K, W2, b2) == 1.0, "full batch");
	{
		/* a batch larger than the trainer's 512-row chunks: the gradient is summed over chunks */
		float	   *Xl = malloc(sizeof(float) * 1200 * D);
		int		   *yl = malloc(sizeof(int) * 1200);

		make_blobs(Xl, yl, 1200, D, K, NULL, 1.0f, 0.0f);
		st = bcore_train_softmax(Xl, 1200, D, yl, K, &p, NULL, W2, b2, NULL, NULL);
		CHECK(st == BERT_HEAD_OK && accuracy(Xl, yl, 1200, D, K, W2, b2) == 1.0,
			  "full batch of 1200 rows in chunks");
		free(Xl);
		free(yl);
	}
	{
		float	   *Xs = malloc(sizeof(float) * N * D);

		make_blobs(Xs, y, N, D, K, NULL, 40.0f, 7.0f);
		st = bcore_train_softmax(Xs, N, D, y, K, NULL, NULL, W2, b2, NULL, NULL);
		CHECK(st == BERT_HEAD_OK && accuracy(Xs, y, N, D, K, W2, b2) == 1.0,
			  "scaled and shifted features: accuracy %g", accuracy(Xs, y, N, D, K, W2, b2));
		free(Xs);
	}

	/* imbalance 285 : 15 with overlapping classes: balanced weights lift the rare class */
	{
		int			counts[2] = {285, 15};
		float		Wn[2 * D],
					bn[2],
					Wb[2 * D],
					bb[2];
		double		rn,
					rb;

		/* class c at 0.6 c on the first axis, noise +-0.5 everywhere: they overlap */
		for (int i = 0; i < N; i++)
		{
			y[i] = i < counts[0] ? 0 : 1;
			for (int j = 0; j < D; j++)
				X[(size_t) i * D + j] = (j == 0 ? 0.6f * y[i] : 0.0f) + (float) (uniform() - 0.5);
		}
		bcore_train_params_default(&p);
		p.epochs = 30;
		st = bcore_train_softmax(X, N, D, y, 2, &p, NULL, Wn, bn, NULL, NULL);
		CHECK(st == BERT_HEAD_OK, "imbalanced, unweighted");
		p.class_weight = BERT_CLASS_WEIGHT_BALANCED;
		st = bcore_train_softmax(X, N, D, y, 2, &p, NULL, Wb, bb, NULL, NULL);
		CHECK(st == BERT_HEAD_OK, "imbalanced, balanced");
		rn = worst_recall(X, y, N, D, 2, Wn, bn);
		rb = worst_recall(X, y, N, D, 2, Wb, bb);
		CHECK(rb > rn && rb >= 0.8, "rare-class recall: unweighted %g, balanced %g", rn, rb);
		printf("imbalanced 285:15: worst-class recall unweighted %.3f, balanced %.3f\n", rn, rb);
	}

	/* cancel after 3 epochs */
	make_blobs(X, y, N, D, K, NULL, 1.0f, 0.0f);
	memset(&pr, 0, sizeof(pr));
	pr.stop_at = 3;
	st = bcore_train_softmax(X, N, D, y, K, NULL, NULL, W2, b2, on_epoch, &pr);
	CHECK(st == BERT_HEAD_CANCELLED && pr.calls == 3, "cancel: %d, %d calls", st, pr.calls);

	/* bad input never crashes */
	CHECK(bcore_train_softmax(X, 0, D, y, K, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "n = 0");
	CHECK(bcore_train_softmax(X, N, D, y, 1, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "k = 1");
	CHECK(bcore_train_softmax(X, N, 0, y, K, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "d = 0");
	y[5] = K;
	CHECK(bcore_train_softmax(X, N, D, y, K, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "y = k");
	y[5] = -1;
	CHECK(bcore_train_softmax(X, N, D, y, K, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "y < 0");
	y[5] = 0;
	X[17] = NAN;
	CHECK(bcore_train_softmax(X, N, D, y, K, NULL, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "NaN feature");
	X[17] = 0.0f;
	bcore_train_params_default(&p);
	p.learning_rate = 0.0f;
	CHECK(bcore_train_softmax(X, N, D, y, K, &p, NULL, W, b, NULL, NULL) == BERT_HEAD_BAD_INPUT, "lr = 0");
	CHECK(bcore_train_softmax_work_size(0, D, K, NULL) == 0, "work size of nothing");

	/* one row per class, full batch of 2 */
	{
		float		x2[2 * 2] = {1, 0, 0, 1};
		int			y2[2] = {0, 1};
		float		w2[4],
					c2[2];

		st = bcore_train_softmax(x2, 2, 2, y2, 2, NULL, NULL, w2, c2, NULL, NULL);
		CHECK(st == BERT_HEAD_OK && accuracy(x2, y2, 2, 2, 2, w2, c2) == 1.0, "two rows");
	}
	free(X);
	free(y);
}

/* ---------------------------------------------------------------------------
 * BIO labels
 */
static void
test_bio(void)
{
	const char *types[] = {"PER", "LOC", "PER", "ORG"};
	size_t		lens[] = {3, 3, 3, 3};
	BertBioScheme s;
	BertHeadStatus st;
	char		got[256];
	int			len = 0;

	st = bcore_bio_scheme_build(types, lens, 4, &s);
	CHECK(st == BERT_HEAD_OK && s.n_types == 3 && s.n_labels == 7, "scheme");
	if (st != BERT_HEAD_OK)
		return;
	for (int i = 0; i < s.n_labels; i++)
		len += snprintf(got + len, sizeof(got) - len, "%s%s", i ? "," : "", s.labels[i]);
	CHECK(strcmp(got, "O,B-LOC,I-LOC,B-ORG,I-ORG,B-PER,I-PER") == 0, "labels %s", got);
	CHECK(bcore_bio_type_id(&s, "LOC", 3) == 0 && bcore_bio_type_id(&s, "ORG", 3) == 1 &&
		  bcore_bio_type_id(&s, "PER", 3) == 2 && bcore_bio_type_id(&s, "PE", 2) == -1 &&
		  bcore_bio_type_id(&s, "PERS", 4) == -1, "type ids");

	/* [CLS] john smith ##son lives in new york [SEP] */
	{
		int32_t		start[] = {0, 0, 5, 10, 14, 20, 23, 27, 0};
		int32_t		end[] = {0, 4, 10, 13, 19, 22, 26, 31, 0};
		BertBioSpan ents[] = {{23, 31, 0}, {0, 13, 2}};
		int			want[] = {0, 5, 6, 6, 0, 0, 1, 2, 0};
		int			lab[9],
					missed = -1;

		st = bcore_bio_assign(start, end, 9, ents, 2, s.n_types, lab, &missed);
		CHECK(st == BERT_HEAD_OK && memcmp(lab, want, sizeof(want)) == 0 && missed == 0,
			  "BIO: %d %d %d %d %d %d %d %d %d", lab[0], lab[1], lab[2], lab[3], lab[4],
			  lab[5], lab[6], lab[7], lab[8]);

		/* adjacent entities of one type: B I then B; one cut off by truncation */
		{
			BertBioSpan e2[] = {{0, 4, 2}, {5, 13, 2}, {40, 45, 1}};
			int			want2[] = {0, 5, 5, 6, 0, 0, 0, 0, 0};

			st = bcore_bio_assign(start, end, 9, e2, 3, s.n_types, lab, &missed);
			CHECK(st == BERT_HEAD_OK && memcmp(lab, want2, sizeof(want2)) == 0 && missed == 1,
				  "adjacent: %d %d %d %d, missed %d", lab[1], lab[2], lab[3], lab[4], missed);
		}
		/* an entity that starts inside a piece: the next piece starting in it gets B */
		{
			BertBioSpan e3[] = {{7, 13, 2}};
			int			want3[] = {0, 0, 0, 5, 0, 0, 0, 0, 0};

			st = bcore_bio_assign(start, end, 9, e3, 1, s.n_types, lab, &missed);
			CHECK(st == BERT_HEAD_OK && memcmp(lab, want3, sizeof(want3)) == 0 && missed == 0,
				  "inside a piece");
		}
		{
			BertBioSpan overlap[] = {{0, 10, 2}, {5, 13, 0}};
			BertBioSpan empty[] = {{5, 5, 2}};
			BertBioSpan badtype[] = {{0, 4, 3}};

			CHECK(bcore_bio_assign(start, end, 9, overlap, 2, s.n_types, lab, NULL) ==
				  BERT_HEAD_BAD_INPUT, "overlap");
			CHECK(bcore_bio_assign(start, end, 9, empty, 1, s.n_types, lab, NULL) ==
				  BERT_HEAD_BAD_INPUT, "empty entity");
			CHECK(bcore_bio_assign(start, end, 9, badtype, 1, s.n_types, lab, NULL) ==
				  BERT_HEAD_BAD_INPUT, "type out of range");
		}
	}
	bcore_bio_scheme_free(&s);

	{
		const char *bad[] = {"B-X", "O", ""};
		size_t		bl[] = {3, 1, 0};

		for (int i = 0; i < 3; i++)
		{
			st = bcore_bio_scheme_build(&bad[i], &bl[i], 1, &s);
			CHECK(st == BERT_HEAD_BAD_INPUT, "bad type '%s'", bad[i]);
			bcore_bio_scheme_free(&s);
		}
		st = bcore_bio_scheme_build(NULL, NULL, 0, &s);
		CHECK(st == BERT_HEAD_OK && s.n_labels == 1 && strcmp(s.labels[0], "O") == 0, "no types");
		bcore_bio_scheme_free(&s);
	}
}

/* ---------------------------------------------------------------------------
 * writer round trip on the real model
 */
static int
same_tensor_bytes(const BertModel *a, const BertModel *b, const char *prefix_skip, int *count)
{
	BertFileHeader ha,
				hb;
	const BertTensorEntry *ta,
			   *tb;

	memcpy(&ha, a->base, sizeof(ha));
	memcpy(&hb, b->base, sizeof(hb));
	ta = (const BertTensorEntry *) (a->base + ha.tensors_offset);
	tb = (const BertTensorEntry *) (b->base + hb.tensors_offset);
	*count = 0;
	for (uint32_t i = 0; i < ha.n_tensors; i++)
	{
		int			found = 0;

		if (prefix_skip && strncmp(ta[i].name, prefix_skip, strlen(prefix_skip)) == 0)
			continue;
		for (uint32_t j = 0; j < hb.n_tensors; j++)
			if (strcmp(ta[i].name, tb[j].name) == 0)
			{
				if (ta[i].nbytes != tb[j].nbytes ||
					memcmp(a->base + ta[i].offset, b->base + tb[j].offset, ta[i].nbytes) != 0)
					return 0;
				found = 1;
				(*count)++;
			}
		if (!found)
			return 0;
	}
	return 1;
}

/* Encode one text with the model; returns its token count, or 0. */
static int
encode(const BertModel *m, BertRunState *rs, const char *text, BertTokens *tok)
{
	int			len;

	if (bcore_tokenize_utf8(&m->vocab, text, strlen(text), (size_t) m->config.max_seq_len,
						   tok) != BERT_TOK_OK)
		return 0;
	len = (int) tok->n;
	if (bcore_encode(m, rs, tok->ids, &len, 1) != BERT_ENC_OK)
		return 0;
	return len;
}

/* softmax(W x + b) in double */
static void
direct_probs(const float *W, const float *b, const float *x, int k, int d, double *out)
{
	double		max = -INFINITY,
				sum = 0.0;

	for (int c = 0; c < k; c++)
	{
		double		z = b[c];

		for (int j = 0; j < d; j++)
			z += (double) W[(size_t) c * d + j] * x[j];
		out[c] = z;
		if (z > max)
			max = z;
	}
	for (int c = 0; c < k; c++)
		sum += (out[c] = exp(out[c] - max));
	for (int c = 0; c < k; c++)
		out[c] /= sum;
}

static void
test_writer(const char *model_path, const char *tmpdir)
{
	BertModel	base,
				m;
	char		err[512],
				path[512],
				tmp[600];
	BertModelStatus ms;
	BertWriteStatus ws;
	int			H;
	float	   *W,
				b[2] = {0.1f, -0.1f};
	const char *names[] = {"negative", "positivé"};
	size_t		nlens[] = {8, 9};
	BertHeadSpec spec;
	BertRunState rs = {0};
	BertTokens	tok = {0};
	const char *text = "The weather is lovely today.";
	struct stat sb;
	int			count;

	ms = bcore_model_open(model_path, &base, err, sizeof(err));
	CHECK(ms == BERT_MODEL_OK, "open %s: %s", model_path, err);
	if (ms != BERT_MODEL_OK)
		return;
	H = base.config.hidden;
	snprintf(path, sizeof(path), "%s/test_heads.%ld.bert", tmpdir, (long) getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());

	/* kind 0, pooler kept, same source: byte for byte the converter's file */
	memset(&spec, 0, sizeof(spec));
	spec.kind = BERT_KIND_EMBEDDING;
	spec.keep_pooler = 1;
	ws = bcore_model_write(path, &base, &spec, err, sizeof(err));
	CHECK(ws == BERT_WRITE_OK, "write embedding copy: %s", err);
	ms = bcore_model_open(path, &m, err, sizeof(err));
	CHECK(ms == BERT_MODEL_OK && m.size == base.size && memcmp(m.base, base.base, base.size) == 0,
		  "embedding copy is byte-identical to the converter's output");
	if (ms == BERT_MODEL_OK)
		bcore_model_close(&m);

	/* a 2-label sequence head on the pooled embedding (no pooler) */
	W = malloc(sizeof(float) * 2 * H);
	for (int i = 0; i < 2 * H; i++)
		W[i] = (float) (uniform() - 0.5) * 2.0f;
	memset(&spec, 0, sizeof(spec));
	spec.kind = BERT_KIND_SEQUENCE_CLASSIFICATION;
	spec.num_labels = 2;
	spec.labels = names;
	spec.label_lens = nlens;
	spec.cls_w = W;
	spec.cls_b = b;
	spec.source = "test_heads: a trained sentiment head";
	ws = bcore_model_write(path, &base, &spec, err, sizeof(err));
	CHECK(ws == BERT_WRITE_OK, "write: %s", err);
	CHECK(stat(tmp, &sb) != 0, "no temporary file left");
	ms = bcore_model_open(path, &m, err, sizeof(err));
	CHECK(ms == BERT_MODEL_OK, "parse the written file: %s", err);
	if (ms == BERT_MODEL_OK && (ws != BERT_WRITE_OK || m.weights.cls_w == NULL))
	{
		bcore_model_close(&m);
		ms = BERT_MODEL_CORRUPT;	/* an older file: skip what follows */
	}
	if (ms == BERT_MODEL_OK)
	{
		size_t		l0,
					l1;
		const char *n0 = bcore_model_label(&m, 0, &l0);
		const char *n1 = bcore_model_label(&m, 1, &l1);
		float		probs[2],
					pooled[384 * 2];
		double		want[2];
		int			T,
					lens;
		BertHeadStatus hs;

		CHECK(m.config.kind == BERT_KIND_SEQUENCE_CLASSIFICATION && m.config.num_labels == 2 &&
			  m.weights.pooler_w == NULL && m.weights.cls_w != NULL, "kind, labels, no pooler");
		CHECK(l0 == 8 && memcmp(n0, "negative", 8) == 0 && l1 == 9 && memcmp(n1, "positivé", 9) == 0,
			  "label names");
		CHECK(strcmp(m.source, "test_heads: a trained sentiment head") == 0, "source %s", m.source);
		CHECK(memcmp(&m.config.pooling, &base.config.pooling, sizeof(BertPooling)) == 0 &&
			  m.config.flags == base.config.flags && m.config.max_seq_len == base.config.max_seq_len,
			  "base configuration kept");
		CHECK(same_tensor_bytes(&base, &m, "pooler.", &count) && count == 101,
			  "base tensors byte-identical (%d)", count);
		CHECK(memcmp(m.weights.cls_w, W, sizeof(float) * 2 * H) == 0 &&
			  memcmp(m.weights.cls_b, b, sizeof(b)) == 0, "classifier bytes");
		CHECK(((uintptr_t) m.weights.cls_w - (uintptr_t) m.base) % BERT_TENSOR_ALIGN == 0,
			  "classifier aligned");

		bcore_blas_init(1);
		T = encode(&m, &rs, text, &tok);
		lens = T;
		hs = bcore_classify_sequence(&m, &rs, &lens, 1, NULL, probs);
		CHECK(T > 0 && hs == BERT_HEAD_OK, "classify: %s", bcore_head_status_message(hs));
		CHECK(fabsf(probs[0] + probs[1] - 1.0f) < 1e-6f, "probabilities sum to 1: %f", probs[0] + probs[1]);
		/* direct: the base's sentence embedding, then softmax(W e + b) */
		T = encode(&base, &rs, text, &tok);
		bcore_pool(&base, &rs, &T, 1, pooled);
		direct_probs(W, b, pooled, 2, H, want);
		CHECK(fabs(probs[0] - want[0]) < 1e-5 && fabs(probs[1] - want[1]) < 1e-5,
			  "probs %.6f %.6f, direct %.6f %.6f", probs[0], probs[1], want[0], want[1]);
		printf("sequence head (no pooler): p = [%.4f, %.4f]\n", probs[0], probs[1]);

		/* a caller's scratch gives the same answer; a token call is refused */
		{
			float	   *scratch = malloc(sizeof(float) * 2 * H);
			float		p2[2],
						tp[64 * 2];

			T = encode(&m, &rs, text, &tok);
			lens = T;
			hs = bcore_classify_sequence(&m, &rs, &lens, 1, scratch, p2);
			CHECK(hs == BERT_HEAD_OK && memcmp(p2, probs, sizeof(p2)) == 0, "caller's scratch");
			CHECK(bcore_classify_tokens(&m, &rs, &lens, 1, tp) == BERT_HEAD_WRONG_KIND, "wrong kind");
			lens = rs.cap_tokens + 1;
			CHECK(bcore_classify_sequence(&m, &rs, &lens, 1, scratch, p2) == BERT_HEAD_BAD_INPUT,
				  "more tokens than encoded");
			free(scratch);
		}
		bcore_model_close(&m);
	}

	/* with the base's pooler: tanh(W_p h_CLS + b_p), as Hugging Face */
	spec.keep_pooler = 1;
	ws = bcore_model_write(path, &base, &spec, err, sizeof(err));
	CHECK(ws == BERT_WRITE_OK, "write with pooler: %s", err);
	ms = bcore_model_open(path, &m, err, sizeof(err));
	CHECK(ms == BERT_MODEL_OK && m.weights.pooler_w != NULL && m.weights.cls_w != NULL,
		  "pooler kept: %s", err);
	if (ms == BERT_MODEL_OK && (m.weights.pooler_w == NULL || m.weights.cls_w == NULL))
	{
		bcore_model_close(&m);
		ms = BERT_MODEL_CORRUPT;
	}
	if (ms == BERT_MODEL_OK)
	{
		float		probs[2],
					x[384];
		double		want[2];
		int			T = encode(&m, &rs, text, &tok);

		CHECK(same_tensor_bytes(&base, &m, NULL, &count) && count == 103, "all base tensors (%d)", count);
		CHECK(bcore_classify_sequence(&m, &rs, &T, 1, NULL, probs) == BERT_HEAD_OK, "classify");
		for (int i = 0; i < H; i++)
		{
			double		z = base.weights.pooler_b[i];

			for (int j = 0; j < H; j++)
				z += (double) base.weights.pooler_w[(size_t) i * H + j] * rs.x[j];
			x[i] = (float) tanh(z);
		}
		direct_probs(W, b, x, 2, H, want);
		CHECK(fabs(probs[0] - want[0]) < 1e-5 && fabs(probs[0] + probs[1] - 1.0) < 1e-6,
			  "pooler probs %.6f, direct %.6f", probs[0], want[0]);
		bcore_model_close(&m);
	}

	/* a token head: probabilities per piece */
	spec.kind = BERT_KIND_TOKEN_CLASSIFICATION;
	spec.keep_pooler = 0;
	ws = bcore_model_write(path, &base, &spec, err, sizeof(err));
	CHECK(ws == BERT_WRITE_OK, "write token head: %s", err);
	ms = bcore_model_open(path, &m, err, sizeof(err));
	CHECK(ms == BERT_MODEL_OK && m.config.kind == BERT_KIND_TOKEN_CLASSIFICATION, "token model: %s", err);
	if (ms == BERT_MODEL_OK && m.config.kind != BERT_KIND_TOKEN_CLASSIFICATION)
	{
		bcore_model_close(&m);
		ms = BERT_MODEL_CORRUPT;
	}
	if (ms == BERT_MODEL_OK)
	{
		int			T = encode(&m, &rs, text, &tok);
		float	   *probs = malloc(sizeof(float) * 2 * T);
		double		worst = 0.0,
					want[2];
		float		p2[2];

		CHECK(bcore_classify_tokens(&m, &rs, &T, 1, probs) == BERT_HEAD_OK, "classify tokens");
		for (int t = 0; t < T; t++)
		{
			direct_probs(W, b, rs.x + (size_t) t * H, 2, H, want);
			worst = fmax(worst, fabs(probs[2 * t] - want[0]));
			worst = fmax(worst, fabs(probs[2 * t] + probs[2 * t + 1] - 1.0));
		}
		CHECK(worst < 1e-5, "token probs vs direct: worst %g", worst);
		CHECK(bcore_classify_sequence(&m, &rs, &T, 1, NULL, p2) == BERT_HEAD_WRONG_KIND, "wrong kind");
		free(probs);
		bcore_model_close(&m);
	}

	/* refused heads leave nothing behind */
	{
		const char *badnames[] = {"ok", "bad\xff"};
		size_t		badlens[] = {2, 4};
		float		nanb[2] = {0, NAN};

		spec.labels = badnames;
		spec.label_lens = badlens;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT &&
			  strstr(err, "UTF-8") != NULL, "invalid UTF-8 label: %s", err);
		spec.labels = names;
		spec.label_lens = nlens;
		spec.cls_b = nanb;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
			  "NaN bias: %s", err);
		spec.cls_b = b;
		spec.num_labels = 0;
		CHECK(bcore_model_write(path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
			  "no labels: %s", err);
		spec.num_labels = 2;
		CHECK(bcore_model_write("/nonexistent-dir/x.bert", &base, &spec, err, sizeof(err)) ==
			  BERT_WRITE_IO, "unwritable directory: %s", err);
		CHECK(stat(tmp, &sb) != 0, "no temporary file left");
	}

	/* BIO labels from the real tokenizer's spans */
	{
		const char *s = "John Smithson lives in New York";
		BertBioSpan ents[] = {{0, 13, 1}, {23, 31, 0}};
		int			lab[32],
					missed;
		char		got[256];
		int			len = 0;

		bcore_tokenize_utf8(&base.vocab, s, strlen(s), 0, &tok);
		CHECK(tok.n < 32 && bcore_bio_assign(tok.start, tok.end, (int) tok.n, ents, 2, 2, lab,
											&missed) == BERT_HEAD_OK && missed == 0, "assign");
		for (size_t t = 0; t < tok.n && t < 32; t++)
		{
			size_t		tl = base.vocab.offsets[tok.ids[t] + 1] - base.vocab.offsets[tok.ids[t]];

			len += snprintf(got + len, sizeof(got) - len, "%s%.*s/%d", t ? " " : "", (int) tl,
							base.vocab.blob + base.vocab.offsets[tok.ids[t]], lab[t]);
		}
		CHECK(strcmp(got, "[CLS]/0 john/3 smith/4 ##son/4 lives/0 in/0 new/1 york/2 [SEP]/0") == 0,
			  "real spans: %s", got);
	}

	unlink(path);
	free(W);
	bcore_tokens_free(&tok);
	bcore_run_state_free(&rs);
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
	setvbuf(stdout, NULL, _IONBF, 0);	/* FAIL lines survive a sanitizer abort */
	bcore_blas_init(1);
	test_probs();
	test_entities();
	test_trainer();
	test_bio();
	test_writer(argv[1], argc > 2 ? argv[2] : "/tmp");
	printf("test_heads: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
