/*
 * model_write.h — write a model file (model_format.h) that reuses a loaded
 * base model's configuration, vocabulary, hash index and encoder tensors
 * (their bytes copied from its mapping) with a new head: kind, label names,
 * classifier tensors, with or without the base's pooler.
 */
#ifndef BERT_MODEL_WRITE_H
#define BERT_MODEL_WRITE_H

#include <stddef.h>

#include "model.h"

typedef enum BertWriteStatus
{
	BERT_WRITE_OK = 0,
	BERT_WRITE_IO = 1,			/* cannot create, write, sync or rename */
	BERT_WRITE_BAD_INPUT = 2,	/* the head does not fit the base model */
	BERT_WRITE_NOMEM = 3,
	BERT_WRITE_VERIFY = 4		/* the file written does not parse (a bug) */
} BertWriteStatus;

typedef struct BertHeadSpec
{
	BertModelKind kind;			/* TOKEN_ or SEQUENCE_CLASSIFICATION (or EMBEDDING: no head) */
	int			num_labels;		/* >= 1; 0 for EMBEDDING */
	const char *const *labels;	/* num_labels UTF-8 names, label i = class i */
	const size_t *label_lens;	/* their lengths in bytes */
	const float *cls_w;			/* (num_labels, hidden) [out, in] */
	const float *cls_b;			/* (num_labels) */
	int			keep_pooler;	/* copy the base's pooler.dense.* (if it has one) */
	int			quantize;		/* write the base's fp32 linear weights as Q8 */
	const char *source;			/* header "where from" text; NULL keeps the base's */
} BertHeadSpec;

/*
 * Write the model to path atomically: path.tmp.PID is written, parsed back
 * with bcore_model_parse, fsync'd, closed and renamed over path, and the
 * directory is fsync'd.  The base's configuration (pooling, normalisation,
 * tokenizer flags, max_seq_len ...) is kept; a base classifier is dropped.
 * On failure errbuf says why and no file is left behind.
 *
 * With quantize, the fp32 weights of an encoder layer's q, k, v, attention
 * output and feed-forward input linear layers (not the feed-forward output:
 * see model_write.c) are written as BERT_DTYPE_Q8 with a "_scale" tensor: per output channel,
 * scale = max |w| / BERT_QW_MAX and q = round(w / scale).
 *
 * Without the pooler, a sequence classifier reads the pooled sentence
 * embedding as the base model makes it (bcore_classify_sequence); with it,
 * tanh(W_p h_[CLS] + b_p) as Hugging Face.
 */
BertWriteStatus bcore_model_write(const char *path, const BertModel *base,
								 const BertHeadSpec *head, char *errbuf, size_t errlen);

#endif							/* BERT_MODEL_WRITE_H */
