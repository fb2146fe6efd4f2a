/*
 * model_write.h — the one writer of model files (model_format.h).
 *
 * bcore_model_file_write lays a file out from its parts (configuration,
 * vocabulary and its index, labels, tensors) and writes it atomically.  The
 * converter (hf_convert.c) writes through it, and so does bcore_model_write,
 * which puts a new head on a loaded base model (training in src/pg,
 * model/bert-quantize).
 */
#ifndef BERT_MODEL_WRITE_H
#define BERT_MODEL_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum BertWriteStatus
{
	BERT_WRITE_OK = 0,
	BERT_WRITE_IO = 1,			/* cannot create, write, sync or rename */
	BERT_WRITE_BAD_INPUT = 2,	/* the head does not fit the base model, or
								 * the parts are not a valid model */
	BERT_WRITE_NOMEM = 3,
	BERT_WRITE_VERIFY = 4		/* the file written does not parse (a bug) */
} BertWriteStatus;

/* A string section: string i is blob[offsets[i], offsets[i + 1]). */
typedef struct BertStrings
{
	uint32_t	n;
	const uint32_t *offsets;	/* n + 1 entries, offsets[0] = 0, never decreasing */
	const char *blob;
} BertStrings;

/* One tensor of a file to write. */
typedef struct BertWriteTensor
{
	BertTensorEntry entry;		/* name, dtype, ndim, shape (the writer sets
								 * offset and nbytes) */
	const void *data;			/* its bytes, or NULL: the fill callback writes them */
} BertWriteTensor;

/* The file being written, for a fill callback. */
typedef struct BertModelOut BertModelOut;

/*
 * Everything a model file holds.  The caller sets the configuration fields
 * of header (kind to layer_norm_eps) and its source; the writer sets magic,
 * version, header_size, vocab_size, num_labels, n_tensors, hash_slots, the
 * sections, file_size and header_crc, and leaves the reserved bytes as they
 * are.  Tensors are written in their order.
 */
typedef struct BertModelParts
{
	BertFileHeader header;
	BertStrings vocab;
	const uint32_t *hash;		/* the vocabulary index (bcore_vocab_index) */
	uint32_t	hash_slots;
	BertStrings labels;			/* num_labels names (none for an embedding model) */
	const BertWriteTensor *tensors;
	uint32_t	n_tensors;

	/*
	 * Writes the bytes of tensors[i] (entry: its table entry, nbytes set)
	 * with bcore_model_out_put; for tensors without data.  Returns
	 * BERT_WRITE_OK, or a status with errbuf set.
	 */
	BertWriteStatus (*fill) (void *arg, uint32_t i, const BertTensorEntry *entry,
							 BertModelOut *out, char *errbuf, size_t errlen);
	void	   *fill_arg;

	/*
	 * Not NULL: write an overlay (model_format.h) on overlay_base, a loaded
	 * complete model whose file has this SHA-256.  The vocabulary and its
	 * index are then empty (the base's are used) and header.vocab_size is
	 * the base's; the file is version 2.
	 */
	const uint8_t *overlay_base_sha256;
	const BertModel *overlay_base;
} BertModelParts;

/*
 * Write the file to path atomically: path.tmp.PID is written, parsed back
 * with bcore_model_parse, fsync'd, closed and renamed over path, and the
 * directory is fsync'd.  Every string must be UTF-8 without NUL.  written
 * (if not NULL) gets the header as written.  On failure errbuf says why
 * ("FILE: what went wrong") and no file is left behind.
 */
BertWriteStatus bcore_model_file_write(const char *path, const BertModelParts *parts,
									  BertFileHeader *written, char *errbuf, size_t errlen);

/* Append len bytes to the file; 0 if the write failed (the writer says why). */
int			bcore_model_out_put(BertModelOut *out, const void *data, size_t len);

/* Is s (len bytes) well-formed UTF-8 without NUL (shortest forms, no surrogates)? */
int			bcore_valid_utf8(const char *s, size_t len);

/*
 * The vocabulary's hash index (model_format.h): *n_slots, a power of two
 * >= 2 n, slots malloc'd into *slots.  A token that appears again takes the
 * later id, as in Hugging Face; *n_dups counts those, *first_dup is the id
 * of the first.  0 when out of memory.
 */
int			bcore_vocab_index(const BertStrings *vocab, uint32_t **slots, uint32_t *n_slots,
							  uint32_t *n_dups, uint32_t *first_dup);

/* Copy source into h->source, NUL-padded, cut at a UTF-8 boundary. */
void		bcore_model_set_source(BertFileHeader *h, const char *source);

typedef struct BertHeadSpec
{
	BertModelKind kind;			/* TOKEN_ or SEQUENCE_CLASSIFICATION (or EMBEDDING: no head) */
	int			num_labels;		/* >= 1; 0 for EMBEDDING */
	const char *const *labels;	/* num_labels UTF-8 names, label i = class i */
	const size_t *label_lens;	/* their lengths in bytes */
	const float *cls_w;			/* (num_labels, hidden) [out, in] */
	const float *cls_b;			/* (num_labels) */
	int			keep_pooler;	/* copy the base's pooler.dense.* (if it has one) */
	int			quantize;		/* BERT_QUANT_*: the base's fp32 or F16P linear
								 * weights as Q8 or Q8P */
	const char *source;			/* header "where from" text; NULL keeps the base's */

	/* BERT_QUANT_Q8P only */
	unsigned	q8p_linears;	/* bit 1 << BertLinearId per weight made Q8P */
	const unsigned char *q8p_keep;	/* NULL, or per layer and linear (index
									 * layer * BERT_LINEARS + id) nonzero to
									 * keep that one weight as it is */
	const unsigned char *q16p;	/* NULL, or per layer and linear (the same
								 * index) nonzero to write that weight as
								 * Q16P instead (unsmoothed) */
	const float *const *act_max;	/* NULL, or per layer and linear (index
									 * layer * BERT_LINEARS + id) the largest
									 * |input| seen per input channel, from
									 * calibration: smooth the inputs */
	float		smooth_alpha;	/* how much of an input's range moves into the
								 * weights (SmoothQuant's alpha, 0 to 1) */
	/* a token head may also carry (tagger.h, crf.h; NULL: none): */
	const float *tagger;		/* "tagger.features": then cls_w is (num_labels, its width) */
	const float *crf_trans;		/* (num_labels, num_labels), with crf_start and crf_end */
	const float *crf_start;		/* (num_labels) */
	const float *crf_end;		/* (num_labels) */

	/*
	 * Not NULL: write an overlay that names the base by this SHA-256 of its
	 * file and carries only the head (and the pooler, if kept), a few
	 * kilobytes, instead of a copy of the base.  Not with quantize.
	 */
	const uint8_t *overlay_base_sha256;
} BertHeadSpec;

/* BertHeadSpec.quantize */
#define BERT_QUANT_NONE 0
#define BERT_QUANT_Q8 1
#define BERT_QUANT_Q8P 2

/*
 * Write base with a new head to path, through bcore_model_file_write.
 * The base's configuration (pooling, normalisation, tokenizer flags,
 * max_seq_len ...), vocabulary and encoder tensors are kept byte for byte
 * (or, for an overlay, referred to); a base classifier is dropped.  The base
 * must be a complete model, not an overlay.
 *
 * With quantize BERT_QUANT_Q8, the fp32 weights of an encoder layer's q, k, v, attention
 * output and feed-forward input linear layers (not the feed-forward output:
 * see model_write.c) are written as BERT_DTYPE_Q8 with a "_scale" tensor: per output channel,
 * scale = max |w| / BERT_QW_MAX and q = round(w / scale).  With
 * BERT_QUANT_Q8P, the linear weights q8p_linears names are written as
 * BERT_DTYPE_Q8P (but those q8p_keep flags, and those q16p flags: BERT_DTYPE_Q16P
 * with "_scale", scale = max|w| / BERT_Q16_WMAX) with "_scale" and "_sum", and, given act_max, "_smooth":
 * input channel t is multiplied by m_t = max|w_t|^(1 - alpha) /
 * act_max_t^alpha and the weights divided by it (k and v share the
 * query's m where the query is Q8P too, else they are not smoothed); each channel's scale is the one of max|w| / BERT_QW_MAX
 * times 1, 0.99, ..., 0.8 that leaves the least squared error.
 *
 * Without the pooler, a sequence classifier reads the pooled sentence
 * embedding as the base model makes it (bcore_classify_sequence); with it,
 * tanh(W_p h_[CLS] + b_p) as Hugging Face.
 */
BertWriteStatus bcore_model_write(const char *path, const BertModel *base,
								 const BertHeadSpec *head, char *errbuf, size_t errlen);

#endif							/* BERT_MODEL_WRITE_H */
