/*
 * heads.h — what sits on top of the encoder: classification heads, a
 * softmax-regression trainer for heads learnt from labeled rows, and BIO
 * labelling of word pieces for token heads.  Entity grouping is in
 * entities.h.
 *
 * Plain C like the rest of the core: no PostgreSQL headers, status codes, and
 * no allocation that outlives a call except where a _free function says so.
 */
#ifndef BERT_HEADS_H
#define BERT_HEADS_H

#include <stddef.h>
#include <stdint.h>

#include "encoder.h"
#include "model.h"

typedef enum BertHeadStatus
{
	BERT_HEAD_OK = 0,
	BERT_HEAD_NOMEM = 1,
	BERT_HEAD_BAD_INPUT = 2,	/* sizes, label ids, spans or values out of range */
	BERT_HEAD_WRONG_KIND = 3,	/* the model has no head of that kind */
	BERT_HEAD_DIVERGED = 4,		/* training produced a non-finite loss */
	BERT_HEAD_CANCELLED = 5		/* the progress callback asked to stop */
} BertHeadStatus;

/* A short English description of a status, e.g. for errdetail. */
const char *bcore_head_status_message(BertHeadStatus status);

/*
 * probs (rows x k) = softmax(x W^T + b) row by row: x is rows x d with row
 * stride ldx, W is k x d ([out, in], Hugging Face's classifier.weight).
 */
void		bcore_head_probs(const float *x, int rows, int d, int ldx,
							const float *W, const float *b, int k, float *probs);

/* Index of the largest of x[0 .. n-1] (the first one on ties), and its value. */
int			bcore_argmax(const float *x, int n, float *value);

/*
 * Sequence classification, after bcore_encode() on n_seq sequences:
 * probs (n_seq x num_labels).  As Hugging Face's BertForSequenceClassification
 * when the model has a pooler:  x = tanh(W_p h_[CLS] + b_p);  without one (a
 * head trained on the model's own sentence embedding) x is the embedding
 * exactly as bcore_pool() makes it (mean or [CLS], L2-normalised if the model
 * says so).  Then probs = softmax(W_c x + b_c).
 * scratch: 2 * n_seq * hidden floats, or NULL to have them malloc'd here.
 */
BertHeadStatus bcore_classify_sequence(const BertModel *model, const BertRunState *state,
									  const int *seq_len, int n_seq,
									  float *scratch, float *probs);

/*
 * Token classification, after bcore_encode(): probs (tokens x num_labels),
 * tokens = sum(seq_len), one row per word piece including [CLS] and [SEP]:
 * softmax(W_c h_t + b_c).  WRONG_KIND for a tagger head (tagger.h), which
 * reads more than h_t: bcore_tagger_probs().
 */
BertHeadStatus bcore_classify_tokens(const BertModel *model, const BertRunState *state,
									const int *seq_len, int n_seq, float *probs);

/*
 * Softmax regression: learn W (k x d) and b (k) so that softmax(W x + b)
 * predicts y (0 .. k-1) for the n rows of X (n x d, row-major).
 *
 * Adam on mini-batches of the rows, shuffled every epoch by a seeded
 * xorshift generator, from W = 0, b = 0: the same inputs and seed give
 * bit-identical W and b.  Features are centred and scaled by one factor
 * (the root mean square row norm) for training, and W, b are mapped back,
 * so the result applies to raw X and the defaults suit both unit-length
 * sentence embeddings and raw hidden states.  The L2 penalty
 * l2/2 ||W||^2 applies to the weights on those standardised features.
 *
 * Class weighting "balanced" (as scikit-learn's): class c weighs
 * n / (k * n_c), so a rare class counts as much as a common one in the loss
 * (useful for BIO tags, where O dominates).
 */
typedef enum BertClassWeight
{
	BERT_CLASS_WEIGHT_NONE = 0,
	BERT_CLASS_WEIGHT_BALANCED = 1
} BertClassWeight;

typedef struct BertTrainParams
{
	int			epochs;			/* passes over the data (default 100) */
	int			batch_size;		/* rows per step (default 32); <= 0 or >= n: full batch */
	float		learning_rate;	/* Adam step size (default 0.01) */
	float		l2;				/* L2 penalty (default 1e-4) */
	uint64_t	seed;			/* shuffling (default 42; 0 means 42) */
	BertClassWeight class_weight;	/* default NONE */
} BertTrainParams;

void		bcore_train_params_default(BertTrainParams *params);

/*
 * Called after every epoch (1-based) with the (weighted) mean cross-entropy
 * plus the L2 term, and the (unweighted) accuracy, both over all n rows with
 * the weights as they are at the end of that epoch.  Return 0 to go on,
 * non-zero to stop: the trainer then returns BERT_HEAD_CANCELLED with W and
 * b as they are.  The callback must return (no longjmp) unless the caller
 * passed its own work area.
 */
typedef int (*BertTrainProgress) (int epoch, double loss, double accuracy, void *arg);

/* Bytes of work area bcore_train_softmax() needs for these sizes. */
size_t		bcore_train_softmax_work_size(int n, int d, int k, const BertTrainParams *params);

/*
 * Train.  params NULL means the defaults; work is
 * bcore_train_softmax_work_size() bytes (any alignment of malloc/palloc), or
 * NULL to have it malloc'd here; progress may be NULL.  W and b are written
 * on every return except BERT_HEAD_BAD_INPUT and BERT_HEAD_NOMEM.
 * BAD_INPUT: n < 1, d < 1, k < 2, a label outside 0 .. k-1, a non-finite
 * feature, or a bad parameter.
 */
BertHeadStatus bcore_train_softmax(const float *X, int n, int d, const int *y, int k,
								  const BertTrainParams *params, void *work,
								  float *W, float *b,
								  BertTrainProgress progress, void *arg);

/*
 * BIO labels for a token head.  Entity types are sorted bytewise (as
 * COLLATE "C") and made unique; labels are "O" (id 0), then "B-T" (id
 * 1 + 2i) and "I-T" (id 2 + 2i) for type i.  A type must be non-empty, not
 * "O" and without '-' (the pipeline's grouping keeps only what follows the
 * last '-'), or BAD_INPUT.
 */
typedef struct BertBioScheme
{
	int			n_types;
	char	  **types;			/* sorted, unique, NUL-terminated */
	int			n_labels;		/* 1 + 2 * n_types */
	char	  **labels;			/* "O", "B-T0", "I-T0", "B-T1", ... */
} BertBioScheme;

BertHeadStatus bcore_bio_scheme_build(const char *const *types, const size_t *type_lens,
									 int n, BertBioScheme *scheme);
void		bcore_bio_scheme_free(BertBioScheme *scheme);

/* Index of a type in the scheme, or -1. */
int			bcore_bio_type_id(const BertBioScheme *scheme, const char *type, size_t len);

/* An annotated entity: code points [start, end) of the text, and its type id. */
typedef struct BertBioSpan
{
	int32_t		start;
	int32_t		end;
	int			type;
} BertBioSpan;

/*
 * Label the n pieces of one text (spans from bcore_tokenize_utf8) from its
 * entities: a piece is inside an entity when its span is not empty and its
 * start lies in [entity start, entity end); the first piece inside gets
 * B-T, the following ones I-T, every other piece (also [CLS], [SEP]) O.
 * Entities may come in any order but must not overlap; start < end; type in
 * 0 .. n_types-1 (else BAD_INPUT).  *n_missed (if not NULL) counts the
 * entities no piece starts in (cut off by truncation, or starting inside a
 * piece).
 */
BertHeadStatus bcore_bio_assign(const int32_t *start, const int32_t *end, int n,
							   const BertBioSpan *entities, int n_entities, int n_types,
							   int *label, int *n_missed);

#endif							/* BERT_HEADS_H */
