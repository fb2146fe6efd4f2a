/*
 * encoder.h — the BERT forward pass over a batch of sequences.
 */
#ifndef BERT_ENCODER_H
#define BERT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Most threads one bcore_encode_threads() call uses. */
#define BERT_MAX_THREADS 64

/* Chunks smaller than this many tokens are not worth a thread of their own
 * where our kernels run the products (half-precision and int8 weights): a
 * big batch on several threads is cut into chunks of about this many,
 * taken in turn.  Against 512 (bench/encode, Zen 5, 2 threads, 3
 * interleaved rounds): batches of 256 sentences +1 to +7 %, of 60
 * sentences -1 to +7 %, higher on the int8 variant; a thread that ends
 * early waits for a shorter last chunk, and a chunk's activations stay
 * nearer the core. */
#define BERT_MIN_CHUNK_TOKENS 256

/* The same where BLIS runs them (fp32 weights): BLIS runs BERT-small's
 * products at m >= 512 on its packed path, 10-15 % faster than its
 * small-matrix path at m = 256 (bench/encode). */
#define BERT_MIN_BLIS_CHUNK_TOKENS 512

/* On one thread a batch is one chunk up to this many tokens, and chunks of
 * at most about this many beyond: the thread's BertChunkBuffers (13.5 kB a
 * token at all-MiniLM-L6-v2's widths) then hold at most this many tokens
 * and a sequence, whatever the batch. */
#define BERT_MAX_CHUNK_TOKENS 2048

/* But a batch of fewer tokens still gets a chunk per thread when each has
 * this many: two threads on smaller products beat one on a bigger product
 * (bench/encode, Zen 5, 2 threads, batches of 32 sentences, about 850
 * tokens: 9,500 -> 14,200 tokens/s on the default model, 12,700 -> 29,200
 * on its int8 variant). */
#define BERT_MIN_SPLIT_TOKENS 128

/*
 * One thread's buffers for the chunks it runs: a chunk's activations
 * between its layers' products live here, not in rows of the whole batch,
 * so they take a chunk's memory whatever the batch's size.
 */
typedef struct BertChunkBuffers
{
	int			cap_tokens;		/* rows q .. ffn hold */
	int			cap_qtokens;	/* rows xq .. xs hold (quantised models) */
	void	   *block;			/* q .. ffn, one allocation */
	float	   *q;				/* (tokens, hidden) */
	float	   *k;				/* (tokens, hidden) */
	float	   *v;				/* (tokens, hidden) */
	float	   *ctx;			/* (tokens, hidden) attention output */
	float	   *tmp;			/* (tokens, hidden) */
	float	   *ffn;			/* (tokens, ffn) */
	int16_t    *xq;				/* (tokens, ffn) quantised input of a Q8 linear */
	uint8_t    *xq8;			/* (tokens, ffn rounded up to 4) of a Q8P linear */
	int32_t    *xzero;			/* (tokens) its zero point per token */
	float	   *xs;				/* (tokens) its scale per token */
	float	   *scratch;		/* attention (cap_scratch floats) */
} BertChunkBuffers;

/* Activation buffers, grown on demand and reused across calls. */
typedef struct BertRunState
{
	int			cap_tokens;		/* rows x holds */
	size_t		cap_scratch;	/* floats each attention scratch holds */
	float	   *x;				/* (tokens, hidden) hidden state */
	BertChunkBuffers chunk[BERT_MAX_THREADS];	/* one per thread */
	int16_t    *wide;			/* the Q8P weights widened, for kernels without VNNI */
	int16_t   **wide_w;			/* (layers x BERT_LINEARS): each one's, or NULL */
	const void *wide_of;		/* the layers they were widened from */
} BertRunState;

typedef enum BertEncStatus
{
	BERT_ENC_OK = 0,
	BERT_ENC_NOMEM = 1,
	BERT_ENC_BAD_INPUT = 2,		/* an id out of range or a sequence too long */
	BERT_ENC_INTERRUPTED = 3	/* bcore_interrupt_pending said stop */
} BertEncStatus;

/*
 * Run the encoder on n_seq sequences laid end to end: ids holds
 * sum(seq_len) token ids, sequence s is seq_len[s] tokens.  Attention stays
 * within each sequence, so no padding is needed.  On success the last hidden
 * state is in state->x, one row of hidden floats per token.
 */
BertEncStatus bcore_encode(const BertModel *model, BertRunState *state,
						  const int32_t *ids, const int *seq_len, int n_seq);

/*
 * The same, on up to threads threads (at most BERT_MAX_THREADS): the
 * sequences are cut into chunks of whole sequences, and each thread runs the
 * whole encoder on the chunks it takes, single-threaded BLAS calls included,
 * so the threads never wait for each other inside a layer.  A sequence's
 * result does not depend on the chunk it lands in beyond BLAS rounding
 * (about 1e-7).  The caller keeps BLAS itself at one thread meanwhile.
 */
BertEncStatus bcore_encode_threads(const BertModel *model, BertRunState *state,
								  const int32_t *ids, const int *seq_len, int n_seq,
								  int threads);

/*
 * Pool the last hidden state of each sequence into out (n_seq rows of
 * hidden floats) as the model says: mean over its tokens or [CLS], then L2
 * normalisation if the model asks for it.  Call after bcore_encode().
 */
void		bcore_pool(const BertModel *model, const BertRunState *state,
					  const int *seq_len, int n_seq, float *out);

void		bcore_run_state_free(BertRunState *state);

/*
 * If set, shown the input of every linear layer (layer, id, rows x k
 * floats) before its product: bert-quantize's calibration.  It is called
 * from the encoder's threads.
 */
extern void (*bcore_encode_observe) (int layer, BertLinearId id, const float *x,
									 int rows, int k);

/*
 * If set, polled between the steps of the encoder (from any of its threads;
 * it must only read a flag, never raise an error or jump).  When it returns
 * nonzero, the encoder stops and returns BERT_ENC_INTERRUPTED; the run state
 * stays valid for the next call.
 */
extern int	(*bcore_interrupt_pending) (void);

#endif							/* BERT_ENCODER_H */
