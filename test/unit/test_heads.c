/*
 * test_heads.c — unit tests of heads.c (classification heads, entity
 * grouping, the softmax-regression trainer, BIO labels), model_write.c and
 * overlays (a head naming its base by hash).
 * Built with ASan + UBSan.  Usage: test_heads MODEL.bert [TMPDIR]
 *
 * Expected entity groups are worked out by hand from transformers'
 * TokenClassificationPipeline (aggregation_strategy="simple"): get_tag,
 * group_entities, group_sub_entities, ignore_labels ["O"]; the other
 * strategies are in test_entities.c.
 */
#include <math.h>
#include <stddef.h>
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
#include "unit_check.h"

static uint64_t rng = 88172645463325252ull;

/* Uniform in [0, 1), deterministic. */
static double
uniform(void)
{
	return xorshift_uniform(&rng);
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

/* Pieces with their labels, scores and spans; the entities they make. */
typedef struct GroupCase
{
	const char *what;
	int			n;
	int			lab[8];
	float		sc[8];
	int32_t		st[8];
	int32_t		en[8];
	const char *expected;
} GroupCase;

static const GroupCase group_cases[] = {
	/* [CLS] john smith lives in new york [SEP]; [SEP] tagged B-PER but special */
	{"B-PER I-PER ... B-LOC I-LOC", 8, {O, BPER, IPER, O, O, BLOC, ILOC, BPER}, {.99f, .9f, .8f, .99f, .98f, .7f, .6f, .5f},
		{0, 0, 5, 11, 17, 20, 24, 0}, {0, 4, 10, 16, 19, 23, 28, 0}, "PER 0.85 0 10; LOC 0.65 20 28"},
	/* I- without B- starts an entity; I-LOC after B-PER is a new type */
	{"I- without B-", 7, {O, O, IPER, IPER, BPER, ILOC, O}, {1, .9f, .6f, .7f, .5f, .4f, 1},
		{0, 0, 3, 8, 12, 16, 0}, {0, 2, 7, 11, 15, 20, 0}, "PER 0.65 3 11; PER 0.5 12 15; LOC 0.4 16 20"},
	/* adjacent entities: B-PER B-PER split, B-PER then B-LOC split */
	{"adjacent", 6, {O, BPER, BPER, IPER, BLOC, O}, {1, .9f, .8f, .6f, .75f, 1},
		{0, 0, 4, 8, 12, 0}, {0, 3, 7, 11, 16, 0}, "PER 0.9 0 3; PER 0.7 4 11; LOC 0.75 12 16"},
	/* word pieces: jo ##hn (I-) merge, ka ##te (B- B-) do not: "simple" ignores words */
	{"subword pieces", 7, {O, BPER, IPER, O, BPER, BPER, O}, {1, .9f, .5f, .9f, .8f, .4f, 1},
		{0, 0, 2, 5, 9, 11, 0}, {0, 2, 4, 8, 11, 13, 0}, "PER 0.7 0 4; PER 0.8 9 11; PER 0.4 11 13"},
	/* an O between two PER pieces splits them; O groups are dropped */
	{"O between", 3, {BPER, O, IPER}, {.9f, .9f, .7f},
		{0, 4, 8}, {3, 7, 11}, "PER 0.9 0 3; PER 0.7 8 11"},
	/* labels without B-/I- merge as I-; "B-X-Y" is type X-Y (split("-", 1)[-1]) */
	{"no prefix, hyphenated type, NaN score", 5, {MISC, MISC, BXY, BXY, O}, {.5f, .7f, .8f, NAN, .9f},
		{0, 3, 6, 9, 12}, {2, 5, 8, 11, 14}, "MISC 0.6 0 5; X-Y 0.8 6 8; X-Y nan 9 11"},
	/* only specials and O: nothing */
	{"specials only", 3, {BPER, O, BPER}, {1, 1, 1},
		{0, 0, 0}, {0, 3, 0}, ""},
	{"no pieces", 0, {BPER, O, BPER}, {1, 1, 1},
		{0, 0, 0}, {0, 3, 0}, ""},
};

static void
test_entities(void)
{
	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++)
	{
		const GroupCase *c = &group_cases[i];

		check_groups(c->what, c->n, c->lab, c->sc, c->st, c->en, c->expected);
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

/*
 * The head's accuracy on X against labels y; in *worst (when not NULL) the
 * recall of its worst class.
 */
static double
score_head(const float *X, const int *y, int n, int d, int k, const float *W, const float *b,
		   double *worst)
{
	float	   *p = malloc(sizeof(float) * (size_t) n * k);
	int		   *all = calloc(k, sizeof(int)),
			   *hit = calloc(k, sizeof(int));
	int			right = 0;

	bcore_head_probs(X, n, d, d, W, b, k, p);
	for (int i = 0; i < n; i++)
	{
		int			ok = bcore_argmax(p + (size_t) i * k, k, NULL) == y[i];

		right += ok;
		if (y[i] >= 0 && y[i] < k)
		{
			all[y[i]]++;
			hit[y[i]] += ok;
		}
	}
	if (worst)
	{
		*worst = 1.0;
		for (int c = 0; c < k; c++)
			if (all[c] && (double) hit[c] / all[c] < *worst)
				*worst = (double) hit[c] / all[c];
	}
	free(p);
	free(all);
	free(hit);
	return (double) right / n;
}

static double
accuracy(const float *X, const int *y, int n, int d, int k, const float *W, const float *b)
{
	return score_head(X, y, n, d, k, W, b, NULL);
}

/* Per-class recall: the worst class. */
static double
worst_recall(const float *X, const int *y, int n, int d, int k, const float *W, const float *b)
{
	double		worst;

	score_head(X, y, n, d, k, W, b, &worst);
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

/* ---------------------------------------------------------------------------
 * overlays: a head that names its base by SHA-256 instead of copying it
 */

/* The file at path, read whole into *buf (malloc'd); its size, or 0. */
static size_t
read_whole(const char *path, uint8_t **buf)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	*buf = NULL;
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0)
	{
		if (f)
			fclose(f);
		return 0;
	}
	rewind(f);
	*buf = malloc((size_t) n);
	if (*buf == NULL || fread(*buf, 1, (size_t) n, f) != (size_t) n)
	{
		fclose(f);
		free(*buf);
		*buf = NULL;
		return 0;
	}
	fclose(f);
	return (size_t) n;
}

/* Parse a copy of img (size bytes) as an overlay on base after edit; the status. */
static BertModelStatus
parse_edited(const uint8_t *img, size_t size, size_t cut, const BertModel *base,
			 const uint8_t *sha, void (*edit) (BertFileHeader *h), char *err, size_t errlen)
{
	uint8_t    *copy = malloc(size);
	BertModel	m;
	BertModelStatus st;

	memcpy(copy, img, size);
	if (edit)
	{
		BertFileHeader h;

		memcpy(&h, copy, sizeof(h));
		edit(&h);
		h.header_crc = bcore_header_crc(&h);
		memcpy(copy, &h, sizeof(h));
	}
	st = bcore_model_parse_overlay(copy, cut, base, sha, &m, err, errlen);
	if (st == BERT_MODEL_OK)
		bcore_model_close(&m);
	free(copy);
	return st;
}

static void edit_hidden(BertFileHeader *h) { h->hidden = 768; }
static void edit_vocab(BertFileHeader *h) { h->vocab_bytes = 4; }
static void edit_flags(BertFileHeader *h) { h->file_flags |= 0x80; }
static void edit_lower(BertFileHeader *h) { h->flags ^= BERT_FLAG_LOWER_CASE; }
static void edit_eps(BertFileHeader *h) { h->layer_norm_eps *= 2.0f; }
static void edit_base(BertFileHeader *h) { h->base_sha256[31] ^= 1; }
static void edit_not_overlay(BertFileHeader *h) { h->file_flags = 0; }
static void edit_v1(BertFileHeader *h) { h->version = BERT_FORMAT_VERSION_BASE; }

/* Header edits an overlay is refused for: the edit, what the error names (or NULL), the case. */
static const struct
{
	void		(*edit) (BertFileHeader *h);
	const char *needle;
	const char *what;
}			header_edits[] = {
	{edit_base, NULL, "header names another base"},
	{edit_hidden, "hidden", "other hidden size"},
	{edit_lower, "tokenizer flags", "other tokenizer"},
	{edit_eps, NULL, "other layer_norm_eps"},
	{edit_vocab, NULL, "a vocabulary"},
	{edit_flags, "flags", "unknown file flag"},
	{edit_not_overlay, NULL, "flag cleared"},
	{edit_v1, NULL, "version 1"},
};

/* The probabilities of model m on text, sequence (1 row) or token (rows) head. */
static int
head_probs(const BertModel *m, BertRunState *rs, const char *text, BertTokens *tok, float *probs)
{
	int			T = encode(m, rs, text, tok);

	if (T == 0)
		return 0;
	if (m->config.kind == BERT_KIND_SEQUENCE_CLASSIFICATION)
		return bcore_classify_sequence(m, rs, &T, 1, NULL, probs) == BERT_HEAD_OK ? 1 : 0;
	return bcore_classify_tokens(m, rs, &T, 1, probs) == BERT_HEAD_OK ? T : 0;
}

static void
test_overlay(const char *model_path, const char *tmpdir)
{
	BertModel	base,
				full,
				ov;
	char		err[512],
				full_path[512],
				ov_path[512];
	uint8_t		sha[BERT_SHA256_LEN],
				other[BERT_SHA256_LEN];
	int			H;
	float	   *W,
				b[3] = {0.2f, -0.1f, 0.05f};
	const char *names[] = {"O", "B-PER", "I-PER"};
	size_t		nlens[] = {1, 5, 5};
	BertHeadSpec spec;
	BertRunState rs = {0};
	BertTokens	tok = {0};
	const char *text = "Mary Ann moved to New Hampshire last year.";
	BertModelStatus ms;
	BertWriteStatus ws;
	uint8_t    *img = NULL;
	size_t		size;

	if (bcore_model_open(model_path, &base, err, sizeof(err)) != BERT_MODEL_OK)
	{
		CHECK(0, "open %s: %s", model_path, err);
		return;
	}
	H = base.config.hidden;
	/* any 32 bytes: the core compares hashes, the caller computes them */
	for (int i = 0; i < BERT_SHA256_LEN; i++)
	{
		sha[i] = (uint8_t) (i * 37 + 11);
		other[i] = (uint8_t) (i * 37 + 12);
	}
	snprintf(full_path, sizeof(full_path), "%s/test_overlay_full.%ld.bert", tmpdir, (long) getpid());
	snprintf(ov_path, sizeof(ov_path), "%s/test_overlay.%ld.bert", tmpdir, (long) getpid());
	W = malloc(sizeof(float) * 3 * H);
	for (int i = 0; i < 3 * H; i++)
		W[i] = (float) (uniform() - 0.5) * 2.0f;

	for (int kind = 0; kind < 3; kind++)
	{
		/* 0: token head; 1: sequence head on the pooled embedding; 2: with the pooler */
		const char *what[] = {"token head", "sequence head", "sequence head with pooler"};
		float	   *pf = malloc(sizeof(float) * 3 * 512),
				   *po = malloc(sizeof(float) * 3 * 512);
		int			nf,
					no;

		memset(&spec, 0, sizeof(spec));
		spec.kind = kind == 0 ? BERT_KIND_TOKEN_CLASSIFICATION : BERT_KIND_SEQUENCE_CLASSIFICATION;
		spec.num_labels = 3;
		spec.labels = names;
		spec.label_lens = nlens;
		spec.cls_w = W;
		spec.cls_b = b;
		spec.keep_pooler = kind == 2;
		ws = bcore_model_write(full_path, &base, &spec, err, sizeof(err));
		CHECK(ws == BERT_WRITE_OK, "%s: full copy: %s", what[kind], err);
		spec.overlay_base_sha256 = sha;
		ws = bcore_model_write(ov_path, &base, &spec, err, sizeof(err));
		CHECK(ws == BERT_WRITE_OK, "%s: overlay: %s", what[kind], err);
		ms = bcore_model_open(full_path, &full, err, sizeof(err));
		CHECK(ms == BERT_MODEL_OK, "%s: open full copy: %s", what[kind], err);
		size = read_whole(ov_path, &img);
		CHECK(size > 0 && size <= (size_t) (kind == 2 ? 600 * 1024 : 8 * 1024),
			  "%s: overlay is %zu bytes (full copy %zu)", what[kind], size, full.size);
		printf("%s: overlay %zu bytes, full copy %zu bytes\n", what[kind], size, full.size);

		/* alone, an overlay needs its base; with it, the full copy's numbers */
		CHECK(bcore_model_parse(img, size, &ov, err, sizeof(err)) == BERT_MODEL_NEEDS_BASE &&
			  strstr(err, "overlay") != NULL, "%s: parsed alone: %s", what[kind], err);
		ms = bcore_model_parse_overlay(img, size, &base, sha, &ov, err, sizeof(err));
		CHECK(ms == BERT_MODEL_OK && ov.overlay && memcmp(ov.base_sha256, sha, sizeof(sha)) == 0,
			  "%s: parse with base: %s", what[kind], err);
		if (ms != BERT_MODEL_OK || size == 0)
		{
			free(pf);
			free(po);
			free(img);
			img = NULL;
			continue;
		}
		CHECK(ov.weights.word_emb == base.weights.word_emb &&
			  ov.weights.layers[5].ff2_b == base.weights.layers[5].ff2_b &&
			  ov.vocab.blob == base.vocab.blob, "%s: encoder and vocabulary are the base's", what[kind]);
		CHECK((ov.weights.pooler_w != NULL) == (kind == 2) &&
			  (uintptr_t) ov.weights.cls_w >= (uintptr_t) img &&
			  (uintptr_t) ov.weights.cls_w < (uintptr_t) img + size, "%s: head is the overlay's", what[kind]);
		CHECK(ov.config.kind == full.config.kind && ov.config.num_labels == 3 &&
			  ov.config.pooling == full.config.pooling && ov.config.flags == full.config.flags &&
			  ov.config.max_seq_len == full.config.max_seq_len, "%s: configuration", what[kind]);
		nf = head_probs(&full, &rs, text, &tok, pf);
		no = head_probs(&ov, &rs, text, &tok, po);
		CHECK(nf > 0 && nf == no && memcmp(pf, po, sizeof(float) * 3 * nf) == 0,
			  "%s: overlay and full copy give the same bits (%d, %d rows)", what[kind], nf, no);
		bcore_model_close(&ov);
		bcore_model_close(&full);

		/* refused: another base, a damaged or inconsistent overlay */
		CHECK(parse_edited(img, size, size, &base, other, NULL, err, sizeof(err)) == BERT_MODEL_CORRUPT &&
			  strstr(err, "SHA-256") != NULL, "%s: wrong base hash: %s", what[kind], err);
		for (size_t e = 0; e < sizeof(header_edits) / sizeof(header_edits[0]); e++)
			CHECK(parse_edited(img, size, size, &base, sha, header_edits[e].edit, err, sizeof(err)) == BERT_MODEL_CORRUPT &&
				  (header_edits[e].needle == NULL || strstr(err, header_edits[e].needle) != NULL),
				  "%s: %s: %s", what[kind], header_edits[e].what, err);
		CHECK(parse_edited(img, size, size - 1, &base, sha, NULL, err, sizeof(err)) == BERT_MODEL_CORRUPT,
			  "%s: truncated by one byte: %s", what[kind], err);
		{
			int			refused = 0;

			for (size_t cut = 0; cut < size; cut += 1 + size / 97)
				refused += parse_edited(img, size, cut, &base, sha, NULL, err, sizeof(err)) != BERT_MODEL_OK;
			CHECK(refused == (int) ((size - 1) / (1 + size / 97) + 1), "%s: every cut refused", what[kind]);
		}
		{
			uint8_t    *flipped = malloc(size);
			int			refused = 0,
						tries = 0;
			BertFileHeader oh;
			/* fields of a tensor entry that every flip must break */
			const size_t fields[] = {offsetof(BertTensorEntry, name), offsetof(BertTensorEntry, dtype),
				offsetof(BertTensorEntry, ndim), offsetof(BertTensorEntry, shape),
			offsetof(BertTensorEntry, offset), offsetof(BertTensorEntry, nbytes)};
			size_t		offs[BERT_HEADER_SIZE / 7 + 64];
			int			n_offs = 0;

			memcpy(&oh, img, sizeof(oh));
			for (size_t off = 0; off < BERT_HEADER_SIZE; off += 7)
				offs[n_offs++] = off;
			for (uint32_t e = 0; e < oh.n_tensors; e++)
				for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
					offs[n_offs++] = oh.tensors_offset + e * sizeof(BertTensorEntry) + fields[f];
			for (int i = 0; i < n_offs; i++)
			{
				memcpy(flipped, img, size);
				flipped[offs[i]] ^= 0x55;
				tries++;
				if (bcore_model_parse_overlay(flipped, size, &base, sha, &ov, err, sizeof(err)) != BERT_MODEL_OK)
					refused++;
				else
					bcore_model_close(&ov);
			}
			CHECK(refused == tries, "%s: %d of %d flipped header and table bytes refused",
				  what[kind], refused, tries);
			free(flipped);
		}
		/* a complete file is not an overlay */
		{
			uint8_t    *fimg;
			size_t		fsize = read_whole(full_path, &fimg);

			CHECK(fsize > 0 && bcore_model_parse_overlay(fimg, fsize, &base, sha, &ov, err, sizeof(err)) ==
				  BERT_MODEL_CORRUPT && strstr(err, "not an overlay") != NULL, "complete file: %s", err);
			free(fimg);
		}
		/* an overlay is no base: neither to parse on nor to write on */
		if (kind == 1)
		{
			BertModel	ov2;

			ms = bcore_model_parse_overlay(img, size, &base, sha, &ov, err, sizeof(err));
			CHECK(ms == BERT_MODEL_OK, "parse again");
			if (ms == BERT_MODEL_OK)
			{
				CHECK(bcore_model_parse_overlay(img, size, &ov, sha, &ov2, err, sizeof(err)) == BERT_MODEL_CORRUPT,
					  "overlay on an overlay: %s", err);
				spec.overlay_base_sha256 = NULL;
				CHECK(bcore_model_write(full_path, &ov, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT &&
					  strstr(err, "overlay") != NULL, "write on an overlay: %s", err);
				bcore_model_close(&ov);
			}
			spec.overlay_base_sha256 = sha;
			spec.quantize = 1;
			CHECK(bcore_model_write(ov_path, &base, &spec, err, sizeof(err)) == BERT_WRITE_BAD_INPUT,
				  "quantised overlay: %s", err);
		}
		free(img);
		img = NULL;
		free(pf);
		free(po);
	}

	/* an overlay that also replaces an encoder tensor: the replacement is used */
	{
		BertModelParts p;
		BertWriteTensor t[3];
		BertFileHeader bh;
		float	   *zeros = calloc((size_t) H, sizeof(float));
		static const uint32_t no_strings[1] = {0};
		float		e1[384],
					e2[384];
		int			T;

		memcpy(&bh, base.base, sizeof(bh));
		memset(&p, 0, sizeof(p));
		memset(t, 0, sizeof(t));
		p.header = bh;
		bcore_model_set_source(&p.header, "test_heads: layer 5 bias zeroed");
		p.vocab.offsets = no_strings;
		p.labels.offsets = no_strings;
		snprintf(t[0].entry.name, sizeof(t[0].entry.name), "encoder.layer.5.output.dense.bias");
		t[0].entry.dtype = BERT_DTYPE_F32;
		t[0].entry.ndim = 1;
		t[0].entry.shape[0] = (uint32_t) H;
		t[0].data = zeros;
		p.tensors = t;
		p.n_tensors = 1;
		p.overlay_base_sha256 = sha;
		p.overlay_base = &base;
		ws = bcore_model_file_write(ov_path, &p, NULL, err, sizeof(err));
		CHECK(ws == BERT_WRITE_OK, "encoder overlay: %s", err);
		size = read_whole(ov_path, &img);
		ms = bcore_model_parse_overlay(img, size, &base, sha, &ov, err, sizeof(err));
		CHECK(ms == BERT_MODEL_OK && ov.config.kind == BERT_KIND_EMBEDDING &&
			  ov.weights.layers[5].ff2_b != base.weights.layers[5].ff2_b &&
			  ov.weights.layers[4].ff2_b == base.weights.layers[4].ff2_b, "encoder overlay parses: %s", err);
		if (ms == BERT_MODEL_OK)
		{
			T = encode(&ov, &rs, text, &tok);
			bcore_pool(&ov, &rs, &T, 1, e1);
			T = encode(&base, &rs, text, &tok);
			bcore_pool(&base, &rs, &T, 1, e2);
			CHECK(T > 0 && memcmp(e1, e2, sizeof(float) * H) != 0, "the replaced tensor changes the embedding");
			bcore_model_close(&ov);
		}
		/* a tensor an overlay cannot carry */
		snprintf(t[1].entry.name, sizeof(t[1].entry.name), "encoder.layer.9.output.dense.bias");
		t[1].entry.dtype = BERT_DTYPE_F32;
		t[1].entry.ndim = 1;
		t[1].entry.shape[0] = (uint32_t) H;
		t[1].data = zeros;
		p.n_tensors = 2;
		CHECK(bcore_model_file_write(ov_path, &p, NULL, err, sizeof(err)) == BERT_WRITE_VERIFY &&
			  strstr(err, "unexpected tensor") != NULL, "stray tensor refused: %s", err);
		free(img);
		free(zeros);
	}

	unlink(full_path);
	unlink(ov_path);
	free(W);
	bcore_tokens_free(&tok);
	bcore_run_state_free(&rs);
	bcore_model_close(&base);
}

int
main(int argc, char **argv)
{
	if (!unit_args(argc, argv, 1, 2, "MODEL.bert [TMPDIR]"))
		return 2;
	bcore_blas_init(1);
	test_probs();
	test_entities();
	test_trainer();
	test_bio();
	test_writer(argv[1], argc > 2 ? argv[2] : "/tmp");
	test_overlay(argv[1], argc > 2 ? argv[2] : "/tmp");
	return unit_report("test_heads");
}
