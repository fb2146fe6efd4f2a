/*
 * encoder.h — the BERT forward pass over a batch of sequences.
 */
#ifndef BERT_ENCODER_H
#define BERT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Activation buffers, grown on demand and reused across calls. */
typedef struct BertRunState
{
	int			cap_tokens;		/* rows the buffers hold */
	int			cap_seq;		/* longest sequence the score buffer holds */
	float	   *x;				/* (tokens, hidden) hidden state */
	float	   *q;				/* (tokens, hidden) */
	float	   *k;				/* (tokens, hidden) */
	float	   *v;				/* (tokens, hidden) */
	float	   *ctx;			/* (tokens, hidden) attention output */
	float	   *tmp;			/* (tokens, hidden) */
	float	   *ffn;			/* (tokens, ffn) */
	float	   *scores;			/* (cap_seq, cap_seq) one head's attention */
} BertRunState;

typedef enum BertEncStatus
{
	BERT_ENC_OK = 0,
	BERT_ENC_NOMEM = 1,
	BERT_ENC_BAD_INPUT = 2		/* an id out of range or a sequence too long */
} BertEncStatus;

/*
 * Run the encoder on n_seq sequences laid end to end: ids holds
 * sum(seq_len) token ids, sequence s is seq_len[s] tokens.  Attention stays
 * within each sequence, so no padding is needed.  On success the last hidden
 * state is in state->x, one row of hidden floats per token.
 */
BertEncStatus bert_encode(const BertModel *model, BertRunState *state,
						  const int32_t *ids, const int *seq_len, int n_seq);

/*
 * Pool the last hidden state of each sequence into out (n_seq rows of
 * hidden floats) as the model says: mean over its tokens or [CLS], then L2
 * normalisation if the model asks for it.  Call after bert_encode().
 */
void		bert_pool(const BertModel *model, const BertRunState *state,
					  const int *seq_len, int n_seq, float *out);

void		bert_run_state_free(BertRunState *state);

/*
 * If set, called between the steps of bert_encode(); it may not return
 * (PostgreSQL's CHECK_FOR_INTERRUPTS() longjmps on cancel).  The run state
 * stays valid for the next call.
 */
extern void (*bert_interrupt_check) (void);

#endif							/* BERT_ENCODER_H */
