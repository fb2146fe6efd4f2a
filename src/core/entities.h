/*
 * entities.h — word pieces and their label probabilities to entities, as
 * Hugging Face's TokenClassificationPipeline does it, with its five
 * aggregation strategies; and, for heads that carry label transitions (a
 * linear-chain CRF, crf.h), Viterbi decoding instead of the per-unit argmax.
 *
 * Plain C: no PostgreSQL headers, status codes.
 */
#ifndef BERT_ENTITIES_H
#define BERT_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

#include "crf.h"
#include "tokenizer.h"

typedef enum BertAggregation
{
	BERT_AGG_NONE = 0,			/* every piece with its argmax label, "O" dropped */
	BERT_AGG_SIMPLE = 1,		/* pieces grouped by B-/I- tags */
	BERT_AGG_FIRST = 2,			/* words take their first piece's label, then grouped */
	BERT_AGG_AVERAGE = 3,		/* words take the argmax of their pieces' mean probabilities */
	BERT_AGG_MAX = 4			/* words take the label of their most confident piece */
} BertAggregation;

/* The strategy named s (len bytes: "none", "simple", "first", "average", "max"), or -1. */
int			bcore_aggregation_from_name(const char *s, size_t len);

/*
 * gather_pre_entities' is_subword for a WordPiece tokenizer (one with a
 * continuing-subword prefix): a piece continues the previous word when its
 * token string and its text span differ in length, in code points ("##ffa"
 * for "ffa"); [UNK] never does.  Pieces with an empty span ([CLS], [SEP])
 * get 0 and are skipped by everything below.
 */
void		bcore_pieces_subword(const BertVocab *vocab, const int32_t *ids,
								 const int32_t *start, const int32_t *end, int n,
								 uint8_t *is_subword);

/* An entity, or with BERT_AGG_NONE a labelled piece. */
typedef struct BertEntity
{
	const char *type;			/* points into names[label]; not NUL-terminated */
	size_t		type_len;
	int			label;			/* label id of the first unit */
	float		score;			/* mean of its units' scores */
	int32_t		start;			/* code point of the first piece */
	int32_t		end;			/* one past the last piece's last code point */
	int			first;			/* index of the first piece */
	int			n_pieces;		/* pieces from first to the last one, specials excluded */
} BertEntity;

/*
 * Group n units (label, score, start, end each) into entities written to
 * out (n entries suffice), as the pipeline's group_entities with
 * ignore_labels ["O"]:
 *
 *  - units with an empty span (start == end: [CLS], [SEP]) are skipped;
 *  - get_tag: "B-X" is (B, X), "I-X" is (I, X), anything else, "O"
 *    included, is (I, itself);
 *  - a unit joins the group of the previous one when its tag equals the
 *    previous unit's tag and it is not a B; otherwise a new group starts;
 *  - a group's type is its first unit's label after the first '-'
 *    (Python's split("-", 1)[-1]), its score the mean of its units'
 *    scores (NaN scores ignored), its span from its first unit's start to
 *    its last unit's end;
 *  - groups of type "O" are dropped.
 *
 * first and n_pieces count units.  Returns the number of entities, or -1 if
 * a label id is out of range.
 */
int			bcore_group_entities(const int *label, const float *score,
								const int32_t *start, const int32_t *end, int n,
								const char *const *names, const size_t *lens,
								int n_labels, BertEntity *out);

/*
 * The pipeline's aggregate() and group_entities() over the n pieces of one
 * text: probs (n x k, each row a softmax), spans, is_subword
 * (bcore_pieces_subword; may be NULL for NONE and SIMPLE).
 *
 *  - NONE, SIMPLE: each piece is a unit; FIRST, AVERAGE, MAX: a word (a
 *    piece and the is_subword pieces after it) is a unit whose
 *    probabilities are its first piece's (FIRST), the mean of its pieces'
 *    (AVERAGE, NaN ignored) or those of its piece with the highest
 *    probability (MAX, the first such piece on ties);
 *  - without crf (NULL), a unit's label is the argmax of its
 *    probabilities (the first on ties) and its score that probability;
 *    with crf, the labels are the best path of log(probabilities) plus
 *    the transitions (bcore_viterbi), never breaking BIO (an I-X only
 *    follows B-X or I-X), and a unit's score is its probability of the
 *    label chosen;
 *  - NONE writes one entity per unit not labelled "O", its type the full
 *    label name; the others group units with bcore_group_entities.
 *
 * out needs n entries.  Returns the number of entities, -1 for bad input
 * (a label id or strategy out of range), -2 when out of memory.
 */
int			bcore_extract_entities(const float *probs, int n, int k,
								  const int32_t *start, const int32_t *end,
								  const uint8_t *is_subword, BertAggregation agg,
								  const BertTransitions *crf,
								  const char *const *names, const size_t *lens,
								  BertEntity *out);

#endif							/* BERT_ENTITIES_H */
