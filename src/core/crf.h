/*
 * crf.h — label transitions on top of a token head: a linear-chain CRF.
 *
 *   score(y | e) = start[y_1] + sum_t e_t[y_t] + sum_t trans[y_t][y_t+1] + end[y_n]
 *
 * where e_t are the head's per-unit log-probabilities.  Viterbi finds the
 * best y under the BIO rule (an I-X only after B-X or I-X, never first);
 * the trainer learns trans, start and end by maximum likelihood with the
 * emissions held fixed.
 *
 * Plain C: no PostgreSQL headers, status codes.
 */
#ifndef BERT_CRF_H
#define BERT_CRF_H

#include <stddef.h>
#include <stdint.h>

/* The transitions of a head with k labels. */
typedef struct BertTransitions
{
	const float *trans;			/* (k, k): [from][to] */
	const float *start;			/* (k) */
	const float *end;			/* (k) */
} BertTransitions;

/*
 * The BIO rule for k labels named names[i] (lens[i] bytes): allowed[i * k +
 * j] is 0 when label j is "I-X" and label i is neither "B-X" nor "I-X";
 * first[j] is 0 when j is "I-X".  Every other pair is allowed (labels
 * without a B-/I- prefix, "O" among them, go anywhere).
 */
void		bcore_bio_allowed(const char *const *names, const size_t *lens, int k,
							  uint8_t *allowed, uint8_t *first);

/*
 * The best path of n units (emit: n x k scores) under crf (NULL: no
 * transitions, only the rule) and the rule (allowed and first from
 * bcore_bio_allowed; NULL: everything allowed), into path (n labels).  Ties
 * go to the lowest label.  Returns 0, or -1 when out of memory, or -2 if no
 * path is allowed (not with a rule from bcore_bio_allowed: "O"-like labels
 * always are).
 */
int			bcore_viterbi(const float *emit, int n, int k, const BertTransitions *crf,
						  const uint8_t *allowed, const uint8_t *first, int *path);

/*
 * Learn trans, start and end (k x k, k, k, written) for n_seq sequences
 * of emissions (emit: rows x k log-probabilities; sequence s is rows
 * seq_start[s] .. seq_start[s + 1] - 1) with gold labels y: maximum
 * likelihood of the gold paths under the rule (the scores of pairs it
 * forbids stay 0 and are never used), plus l2/2 of the squared parameters,
 * by full-batch Adam for steps steps from zero.  Deterministic.  Returns
 * 0, -1 when out of memory, -2 for bad input (a label out of range, an
 * empty sequence, a gold path the rule forbids).  loss (if not NULL) gets
 * the final mean negative log-likelihood per sequence.
 */
int			bcore_crf_train(const float *emit, const int *seq_start, int n_seq, int k,
							const int *y, const uint8_t *allowed, const uint8_t *first,
							int steps, float learning_rate, float l2,
							float *trans, float *start, float *end, double *loss);

#endif							/* BERT_CRF_H */
