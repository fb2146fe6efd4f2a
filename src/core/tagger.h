/*
 * tagger.h — the features of a trained entity tagger, and its trainer.
 *
 * A word piece alone says little about an unseen name split in pieces
 * ("yo ##landa"), and the uncased encoder has lost the capital letters that
 * mark names.  So the tagger's head reads, for each piece t of word w (a
 * word as the pipeline's aggregate_words sees it: a piece and its
 * is_subword continuations):
 *
 *   [ h_t | mean h(w) | mean h(w-1) | mean h(w+1) | shape(w) shape(w-1) shape(w+1) | continues ]
 *
 * h being the encoder's last hidden state, and shape eight flags taken from
 * the ORIGINAL text of the word: capitalised, all capitals, has a lower-case
 * letter, has a digit, no letter or digit, first word, capitalised but not
 * at a sentence start, at a sentence start (first word, or after . ! ?).
 * Words that do not exist (before the first, after the last) are zeros.
 *
 * A model file marks such a head with the tensor "tagger.features"
 * (BERT_TAGGER_CONFIG_LEN floats: version, feature width, hidden); its
 * classifier.weight is then (num_labels, width).
 *
 * Plain C: no PostgreSQL headers, status codes.
 */
#ifndef BERT_TAGGER_H
#define BERT_TAGGER_H

#include <stddef.h>
#include <stdint.h>

#include "crf.h"
#include "encoder.h"
#include "heads.h"
#include "model.h"

/*
 * The config tensor's values for a hidden size (BERT_TAGGER_CONFIG_LEN
 * floats; the layout, bcore_tagger_dim() and bcore_tagger_config_ok() are
 * in model_format.h).
 */
void		bcore_tagger_config(int hidden, float *config);

/*
 * Features of the n pieces of one text (rows n x bcore_tagger_dim(hidden),
 * written to X; rows of specials, start == end, are zeros): h their hidden
 * states (n x hidden), start/end their spans in code points of text (UTF-8,
 * text_len bytes), is_subword from bcore_pieces_subword.  Returns 0, or -1
 * when out of memory.
 */
int			bcore_tagger_features(const float *h, int n, int hidden,
								  const int32_t *start, const int32_t *end,
								  const uint8_t *is_subword,
								  const char *text, size_t text_len, float *X);

/*
 * Token classification with a tagger head (model->weights.tagger set),
 * after bcore_encode() of the one text: probs (n x num_labels) =
 * softmax(W_c x_t + b_c) over the features of the n pieces (ids, spans)
 * of text (UTF-8, text_len bytes).  WRONG_KIND for a model without a
 * tagger head, NOMEM.
 */
BertHeadStatus bcore_tagger_probs(const BertModel *model, const BertRunState *state,
								  const int32_t *ids, const int32_t *start, const int32_t *end,
								  int n, const char *text, size_t text_len, float *probs);

/*
 * Train a tagger: the softmax head (W: k x d, b: k) on the rows of X with
 * bcore_train_softmax (params, work and progress as there), then the
 * label transitions (trans k x k, start k, end k) by bcore_crf_train on
 * the head's log-probabilities of every sequence (rows seq_start[s] ..
 * seq_start[s + 1] - 1; empty sequences are skipped) under the BIO rule of
 * the label names.  Returns the trainer's status; BAD_INPUT also when a
 * gold sequence breaks the rule.
 */
BertHeadStatus bcore_train_tagger(const float *X, int n, int d, const int *seq_start, int n_seq,
								  const int *y, int k, const char *const *names,
								  const size_t *lens, const BertTrainParams *params,
								  void *work, float *W, float *b,
								  float *trans, float *start, float *end,
								  BertTrainProgress progress, void *arg);

#endif							/* BERT_TAGGER_H */
