/*
 * model.h — a loaded bert model: configuration, vocabulary and weights, all
 * pointing into one read-only mapping of the model file.
 */
#ifndef BERT_MODEL_H
#define BERT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model_format.h"
#include "tokenizer.h"

typedef struct BertConfig
{
	BertModelKind kind;
	int			n_layers;
	int			hidden;
	int			n_heads;
	int			head_dim;		/* hidden / n_heads */
	int			ffn;
	int			max_positions;
	int			type_vocab;
	int			vocab_size;
	int			num_labels;
	BertActivation activation;
	BertPooling pooling;
	uint32_t	flags;
	int			max_seq_len;
	float		layer_norm_eps;
	int			quantized;		/* some linear weights are BERT_DTYPE_Q8, Q8P or Q16P */
	int			q8p;			/* some linear weights are BERT_DTYPE_Q8P */
	int			half;			/* some linear weights are BERT_DTYPE_F16P */
} BertConfig;

/* The linear layers of an encoder layer, as indexes of wq / ws below. */
typedef enum BertLinearId
{
	BERT_LIN_Q, BERT_LIN_K, BERT_LIN_V, BERT_LIN_O, BERT_LIN_FF1, BERT_LIN_FF2,
	BERT_LINEARS
} BertLinearId;

/*
 * A weight of a linear layer is fp32 (q_w etc.), quantised (wq[id] and
 * ws[id]: see BERT_DTYPE_Q8; w8[id] and ws[id]: BERT_DTYPE_Q8P; or w16[id]
 * and ws[id]: BERT_DTYPE_Q16P) or half
 * precision packed in panels (wh[id]: see BERT_DTYPE_F16P); exactly one of
 * them is set.
 */
typedef struct BertLayerWeights
{
	const float *q_w;			/* (hidden, hidden) [out, in] */
	const float *q_b;			/* (hidden) */
	const float *k_w;			/* (hidden, hidden) */
	const float *k_b;			/* (hidden) */
	const float *v_w;			/* (hidden, hidden) */
	const float *v_b;			/* (hidden) */
	const float *o_w;			/* (hidden, hidden) attention output */
	const float *o_b;			/* (hidden) */
	const float *ln1_g;			/* (hidden) attention output LayerNorm */
	const float *ln1_b;			/* (hidden) */
	const float *ff1_w;			/* (ffn, hidden) intermediate */
	const float *ff1_b;			/* (ffn) */
	const float *ff2_w;			/* (hidden, ffn) output */
	const float *ff2_b;			/* (hidden) */
	const float *ln2_g;			/* (hidden) output LayerNorm */
	const float *ln2_b;			/* (hidden) */
	const int16_t *wq[BERT_LINEARS];	/* quantised weight [out, in], or NULL */
	const float *ws[BERT_LINEARS];	/* its scale per output channel */
	const uint16_t *wh[BERT_LINEARS];	/* F16P weight, or NULL */
	const int8_t *w8[BERT_LINEARS]; /* Q8P weight, or NULL */
	const int16_t *w16[BERT_LINEARS];	/* Q16P weight, or NULL */
	const float *wsum[BERT_LINEARS];	/* its channels' sums of q */
	const float *smooth[BERT_LINEARS];	/* its input's multipliers, or NULL */
} BertLayerWeights;

typedef struct BertWeights
{
	const float *word_emb;		/* (vocab_size, hidden) */
	const float *pos_emb;		/* (max_positions, hidden) */
	const float *type_emb;		/* (type_vocab, hidden) */
	const float *emb_ln_g;		/* (hidden) */
	const float *emb_ln_b;		/* (hidden) */
	BertLayerWeights *layers;	/* (n_layers) */
	const float *pooler_w;		/* (hidden, hidden) or NULL */
	const float *pooler_b;		/* (hidden) or NULL */
	const float *cls_w;			/* (num_labels, cls_in) or NULL */
	const float *cls_b;			/* (num_labels) or NULL */
	int			cls_in;			/* hidden, or the tagger's feature width */
	const float *tagger;		/* "tagger.features" (tagger.h) or NULL */
	const float *crf_trans;		/* (num_labels, num_labels) [from, to] or NULL */
	const float *crf_start;		/* (num_labels) or NULL */
	const float *crf_end;		/* (num_labels) or NULL */
} BertWeights;

/*
 * A model: pointers into the image of its file (base, size), and for an
 * overlay also into its base model's image, which the caller keeps alive
 * for as long as the overlay is used.
 */
typedef struct BertModel
{
	BertConfig	config;
	BertWeights weights;
	BertVocab	vocab;			/* an overlay's points into its base */
	uint32_t	n_labels;
	const uint32_t *label_offsets;	/* n_labels + 1 */
	const char *label_blob;
	const uint8_t *base;		/* the mapping */
	size_t		size;			/* bytes mapped */
	int			mapped;		/* base came from bcore_model_open() */
	int			overlay;		/* tensors and vocabulary from a base model */
	uint8_t		base_sha256[BERT_SHA256_LEN];	/* the overlay's base */
	char		source[129];
} BertModel;

typedef enum BertModelStatus
{
	BERT_MODEL_OK = 0,
	BERT_MODEL_IO = 1,			/* cannot open, stat or map the file */
	BERT_MODEL_CORRUPT = 2,		/* the contents are inconsistent */
	BERT_MODEL_VERSION = 3,		/* a format version we do not read */
	BERT_MODEL_NOMEM = 4,
	BERT_MODEL_NEEDS_BASE = 5	/* an overlay: parse it with bcore_model_parse_overlay */
} BertModelStatus;

/*
 * Put a message in errbuf (errlen bytes; nothing when errbuf is NULL) and
 * return status, so that a core function can "return bcore_error(...)".
 */
int			bcore_error(char *errbuf, size_t errlen, int status, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/*
 * Check the header of a model file of file_size bytes, of which the first
 * have bytes are at data: magic number, version, checksum, header size and
 * file size.  *h gets a copy of the header.  Enough to refuse most damaged
 * or foreign files before reading the rest.
 */
BertModelStatus bcore_model_check_header(const uint8_t *data, size_t have, uint64_t file_size,
										BertFileHeader *h, char *errbuf, size_t errlen);

/* Is the file with this (checked) header an overlay? */
static inline int
bcore_header_is_overlay(const BertFileHeader *h)
{
	return h->version >= BERT_FORMAT_VERSION_OVERLAY && (h->file_flags & BERT_FILE_OVERLAY) != 0;
}

/*
 * Check a model image of size bytes at base and fill *model with pointers
 * into it.  An overlay is refused with BERT_MODEL_NEEDS_BASE (errbuf names
 * its base).  On failure, errbuf (errlen bytes) says what is wrong.
 * The caller keeps base alive for as long as the model is used, and releases
 * model->weights.layers with bcore_model_close().
 */
BertModelStatus bcore_model_parse(const uint8_t *base, size_t size, BertModel *model,
								 char *errbuf, size_t errlen);

/*
 * The same for an overlay image: base is its base model, loaded (a complete
 * model, not an overlay), and base_sha256 the SHA-256 of the base's file,
 * which must be the one the overlay names.  The overlay's configuration must
 * match the base's.  A complete model is refused here.
 */
BertModelStatus bcore_model_parse_overlay(const uint8_t *data, size_t size, const BertModel *base,
										 const uint8_t *base_sha256, BertModel *model,
										 char *errbuf, size_t errlen);

/* Lower-case hex of a SHA-256 (65 bytes with the NUL). */
void		bcore_sha256_hex(const uint8_t *sha, char *hex);

/* Map path read-only and parse it. */
BertModelStatus bcore_model_open(const char *path, BertModel *model,
								char *errbuf, size_t errlen);

/* Unmap (if opened with bcore_model_open) and free. */
void		bcore_model_close(BertModel *model);

/* Name of label i, and its length; NULL if out of range. */
const char *bcore_model_label(const BertModel *model, uint32_t i, size_t *len);

#endif							/* BERT_MODEL_H */
