/*
 * model_format.h — the on-disk layout of a converted bert model file.
 *
 * One file holds everything a model needs at run time: the configuration, the
 * WordPiece vocabulary with a ready-made hash index, label names, and fp32
 * tensors (or Q8 / F16P / Q8P / Q16P linear weights, below).  The file is mapped
 * read-only and used in place, so every section is aligned and every integer
 * is little-endian with natural alignment.
 *
 *   [BertFileHeader]                  fixed 512 bytes at offset 0
 *   [BertTensorEntry x n_tensors]     tensors_offset
 *   [vocab]    uint32 offsets[vocab_size + 1], then the UTF-8 bytes of all
 *              tokens back to back; token i is bytes [offsets[i], offsets[i+1])
 *              of the blob that starts right after the offsets array
 *   [hash]     uint32 slots[hash_slots]; 0 = empty, else token id + 1;
 *              open addressing with linear probing on bcore_hash()
 *   [labels]   same layout as vocab, num_labels entries (may be 0)
 *   [tensor data]  each tensor fp32 (or Q8, F16P, Q8P or Q16P, below), row-major, at a
 *              BERT_TENSOR_ALIGN offset
 *
 * Shapes follow Hugging Face: linear weights are [out, in].  Tensor names are
 * the Hugging Face BertModel names without any "bert." prefix, e.g.
 * "embeddings.word_embeddings.weight", "encoder.layer.3.attention.self.query.weight",
 * "pooler.dense.weight", "classifier.weight".
 *
 * An overlay (format version 2, BERT_FILE_OVERLAY) is a model that carries
 * only some tensors: its header names a base model by the SHA-256 of the
 * base's whole file, and the loader takes the vocabulary and every
 * embeddings.* and encoder.* tensor the overlay does not carry from that
 * base.  Its configuration must be the base's (only kind, labels, pooling,
 * normalisation and max_seq_len may differ); its vocabulary and index
 * sections are empty; its head (pooler.*, classifier.*) is its own and never
 * the base's.  A trained classifier is an overlay of a few kilobytes on the
 * embedding model it was trained on, instead of a copy of it.
 *
 * The loader (model.c) trusts nothing here: every count, offset and shape is
 * checked against the configuration and the file size.  One writer makes
 * every file (model_write.c): the converter (hf_convert.c, run by
 * model/bert-convert) and the writer of trained or quantised heads
 * (bcore_model_write) both go through it, and it parses what it wrote back
 * with the loader before the file gets its name.
 */
#ifndef BERT_MODEL_FORMAT_H
#define BERT_MODEL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BERT_FILE_MAGIC "PGBERT\r\n"	/* 8 bytes, no terminator stored */
/*
 * Version 1: a model complete in itself.  Version 2 adds overlays
 * (file_flags, base_sha256).  The writer writes a complete model as version
 * 1, so that every reader since the first reads it, and an overlay as
 * version 2; the loader reads both.
 */
#define BERT_FORMAT_VERSION 2	/* the newest this build reads and writes */
#define BERT_FORMAT_VERSION_BASE 1	/* a complete model */
#define BERT_FORMAT_VERSION_OVERLAY 2
#define BERT_SHA256_LEN 32
#define BERT_HEADER_SIZE 512
#define BERT_TENSOR_ALIGN 64
#define BERT_TENSOR_NAME_LEN 96
#define BERT_MAX_DIMS 4

/*
 * Limits of the configuration, the loader's: a file outside them does not
 * load, so the converter refuses a checkpoint outside them.  They also keep
 * every size computation far from overflow.
 */
#define BERT_MAX_LAYERS 256
#define BERT_MAX_HIDDEN 16384	/* also bounds the attention heads */
#define BERT_MAX_FFN (8 * BERT_MAX_HIDDEN)
#define BERT_MAX_POSITIONS 65536
#define BERT_MAX_TYPE_VOCAB 1024
#define BERT_MIN_VOCAB 4		/* [UNK], [CLS], [SEP], [PAD] */
#define BERT_MAX_VOCAB (1u << 24)	/* also bounds any tensor dimension */
#define BERT_MAX_LABELS 65536
#define BERT_MAX_CHARS_PER_WORD (1u << 20)
#define BERT_MIN_SEQ_LEN 3		/* [CLS], one piece, [SEP]; max_positions too */

/* What the model's output is. */
typedef enum BertModelKind
{
	BERT_KIND_EMBEDDING = 0,	/* BertModel: pooled sentence embedding */
	BERT_KIND_TOKEN_CLASSIFICATION = 1, /* BertForTokenClassification */
	BERT_KIND_SEQUENCE_CLASSIFICATION = 2	/* BertForSequenceClassification */
} BertModelKind;

typedef enum BertActivation
{
	BERT_ACT_GELU = 0,			/* exact: 0.5 x (1 + erf(x / sqrt 2)) */
	BERT_ACT_GELU_TANH = 1,		/* "gelu_new" / "gelu_pytorch_tanh" */
	BERT_ACT_RELU = 2
} BertActivation;

typedef enum BertPooling
{
	BERT_POOL_MEAN = 0,			/* mean of the last hidden state over real tokens */
	BERT_POOL_CLS = 1			/* last hidden state of [CLS] */
} BertPooling;

/* file_flags (version 2) */
#define BERT_FILE_OVERLAY		0x01	/* tensors and vocabulary from base_sha256 */
#define BERT_FILE_FLAGS_ALL		0x01

/* flags */
#define BERT_FLAG_LOWER_CASE	0x01	/* lowercase input (uncased vocabulary) */
#define BERT_FLAG_STRIP_ACCENTS 0x02	/* NFD + drop Mn */
#define BERT_FLAG_CHINESE_CHARS 0x04	/* put spaces around CJK ideographs */
#define BERT_FLAG_NORMALIZE		0x08	/* L2-normalise the sentence embedding */
#define BERT_FLAG_ALL			0x0F

/*
 * BERT_DTYPE_Q8: a linear layer's weight quantised per output channel:
 * int8 values (|q| <= 127) stored in int16 lanes (so the products pair up
 * exactly in pmaddwd), with a companion F32 tensor "<name>_scale" of shape
 * [out]; weight[o][i] ~= q[o][i] * scale[o].  Only the six linear weights
 * of an encoder layer may be Q8.
 */
#define BERT_QW_MAX 127			/* |quantised weight| */
#define BERT_QK_MAX 4096		/* longest row (activations then keep 12 bits) */

/*
 * BERT_DTYPE_F16P: a linear layer's weight [out, in] in IEEE half precision,
 * packed for the encoder's matrix product (ops.c bcore_linear_f16): panels
 * of BERT_F16P_PANEL output channels, each panel in input-major order, so
 * element [o][i] is half number bcore_f16p_index(o, i, in) and the last panel
 * is padded with zeros.  The converter writes it, byte for byte, for a
 * checkpoint whose linear weights are F16 (lossless: fp16 -> fp32 is exact);
 * half the bytes of F32 lets a small model's weights stay in the L3 cache.
 * Only the six linear weights of an encoder layer may be F16P.
 */
#define BERT_F16P_PANEL 16

/*
 * BERT_DTYPE_Q8P: a linear layer's weight [out, in] quantised per output
 * channel like Q8 (q = round(w / scale), |q| <= BERT_QW_MAX), one signed
 * byte each, packed for the integer dot-product instructions (vpdpbusd: 4
 * byte products summed into each 32-bit lane): panels of BERT_Q8P_PANEL
 * output channels; in a panel, groups of BERT_Q8P_GROUP inputs, each group
 * the panel's channels x 4 bytes, so element [o][i] is byte
 * bcore_q8p_index(o, i, in); channels past out and inputs past in (rounded
 * up to whole panels and groups) hold 0.  Companion F32 tensors:
 * "<name>_scale" [out], and "<name>_sum" [out], the sum of each channel's
 * q (an integer, at most BERT_QW_MAX x in in magnitude), which takes the
 * activations' zero point off (ops.h bcore_linear_q8p).  Optionally
 * "<name>_smooth" [in]: the activations are multiplied by it, channel by
 * channel, before they are quantised, and the weights were divided by it
 * before (SmoothQuant: an outlier channel's range moves into the weights);
 * the key and value weights of a layer whose query weight is Q8P share its
 * quantised input and carry no _smooth of their own.  Only the six linear
 * weights of an encoder layer may be Q8P, with at most BERT_QK_MAX inputs.
 */
#define BERT_Q8P_PANEL 16
#define BERT_Q8P_GROUP 4

/*
 * BERT_DTYPE_Q16P: a linear layer's weight [out, in] quantised per output
 * channel to 16-bit integers, |q| <= BERT_Q16_WMAX (10 bits, 8 times finer
 * than Q8P's steps), for the layers whose error int8 does not survive;
 * activations are quantised per token to 16 bits at run time, at most
 * bcore_q16_xmax(in) (ops.h), so that a channel's sum stays inside int32.
 * Packed as Q8P weights are once widened for pmaddwd / vpdpwssd (pairs of
 * inputs): panels of BERT_Q8P_PANEL output channels, in a panel pairs of
 * inputs, each pair the panel's channels x 2, so element [o][i] is int16
 * number bcore_q16p_index(o, i, in); channels past out and inputs past in
 * (rounded up to whole Q8P groups) hold 0.  Companion F32 tensor
 * "<name>_scale" [out].  Every stored value, padding too, must be within
 * BERT_Q16_WMAX.  Only the six linear weights of an encoder layer may be
 * Q16P, with at most BERT_QK_MAX inputs.
 */
#define BERT_Q16_WMAX 511

typedef enum BertDType
{
	BERT_DTYPE_F32 = 0,
	BERT_DTYPE_Q8 = 1,
	BERT_DTYPE_F16P = 2,
	BERT_DTYPE_Q8P = 3,
	BERT_DTYPE_Q16P = 4
} BertDType;

/* inputs of a Q8P weight rounded up to whole groups */
static inline uint64_t
bcore_q8p_in(uint32_t in)
{
	return ((uint64_t) in + BERT_Q8P_GROUP - 1) / BERT_Q8P_GROUP * BERT_Q8P_GROUP;
}

static inline uint64_t
bcore_q8p_index(uint32_t o, uint32_t i, uint32_t in)
{
	return ((uint64_t) (o / BERT_Q8P_PANEL) * bcore_q8p_in(in) + i / BERT_Q8P_GROUP * BERT_Q8P_GROUP) *
		BERT_Q8P_PANEL + (o % BERT_Q8P_PANEL) * BERT_Q8P_GROUP + i % BERT_Q8P_GROUP;
}

static inline uint64_t
bcore_q16p_index(uint32_t o, uint32_t i, uint32_t in)
{
	return ((uint64_t) (o / BERT_Q8P_PANEL) * bcore_q8p_in(in) + i / 2 * 2) * BERT_Q8P_PANEL +
		(o % BERT_Q8P_PANEL) * 2 + i % 2;
}

/* bytes a Q8P weight [out, in] takes (int16 elements of a Q16P one) */
static inline uint64_t
bcore_q8p_bytes(uint32_t out, uint32_t in)
{
	return ((uint64_t) out + BERT_Q8P_PANEL - 1) / BERT_Q8P_PANEL * BERT_Q8P_PANEL * bcore_q8p_in(in);
}

static inline uint64_t
bcore_f16p_index(uint32_t o, uint32_t i, uint32_t in)
{
	return ((uint64_t) (o / BERT_F16P_PANEL) * in + i) * BERT_F16P_PANEL + o % BERT_F16P_PANEL;
}

/*
 * IEEE half to float, exactly (every half is a float).  A NaN comes out
 * quiet, as the CPU's vcvtph2ps makes it.
 */
static inline float
bcore_half_to_float(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000u) << 16;
	uint32_t	exp = (h >> 10) & 0x1Fu;
	uint32_t	mant = h & 0x3FFu;
	uint32_t	bits;
	float		f;

	if (exp == 0x1F)
		bits = sign | 0x7F800000u | (mant << 13) | (mant ? 0x00400000u : 0);
	else if (exp != 0)
		bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
	else
	{
		/* zero or subnormal: mant * 2^-24, a product by a power of two, exact */
		f = (float) mant * 5.9604644775390625e-8f;
		return sign ? -f : f;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* halves an F16P weight [out, in] takes: out rounded up to whole panels */
static inline uint64_t
bcore_f16p_halves(uint32_t out, uint32_t in)
{
	return ((uint64_t) out + BERT_F16P_PANEL - 1) / BERT_F16P_PANEL * BERT_F16P_PANEL * in;
}

/*
 * A trained entity tagger (tagger.h) marks its token head with the F32
 * tensor "tagger.features" of BERT_TAGGER_CONFIG_LEN values: version, the
 * feature width its classifier.weight reads (num_labels, width), hidden, 0.
 * Optional with it or without: label transitions "crf.transitions"
 * (num_labels, num_labels), "crf.start" and "crf.end" (num_labels), all
 * three or none (crf.h).
 */
#define BERT_TAGGER_VERSION 1
#define BERT_TAGGER_CONFIG_LEN 4
#define BERT_TAGGER_SHAPE 8		/* shape flags per word */

/* The tagger's feature width for a hidden size: 4 states, 3 words' shapes, 1 flag. */
static inline int
bcore_tagger_dim(int hidden)
{
	return 4 * hidden + 3 * BERT_TAGGER_SHAPE + 1;
}

/* Is a "tagger.features" tensor one this code reads, for this hidden size? */
static inline int
bcore_tagger_config_ok(const float *c, int hidden)
{
	return c[0] == BERT_TAGGER_VERSION && c[1] == (float) bcore_tagger_dim(hidden) &&
		c[2] == (float) hidden && c[3] == 0.0f;
}

typedef struct BertFileHeader
{
	char		magic[8];		/* BERT_FILE_MAGIC */
	uint32_t	version;		/* BERT_FORMAT_VERSION_BASE or _OVERLAY */
	uint32_t	header_size;	/* BERT_HEADER_SIZE */
	uint64_t	file_size;		/* total size of the file in bytes */

	/* configuration */
	uint32_t	kind;			/* BertModelKind */
	uint32_t	n_layers;
	uint32_t	hidden;
	uint32_t	n_heads;
	uint32_t	ffn;			/* intermediate size */
	uint32_t	max_positions;	/* max_position_embeddings */
	uint32_t	type_vocab;		/* type_vocab_size */
	uint32_t	vocab_size;
	uint32_t	num_labels;		/* 0 for embedding models */
	uint32_t	activation;		/* BertActivation */
	uint32_t	pooling;		/* BertPooling */
	uint32_t	flags;			/* BERT_FLAG_* */
	uint32_t	max_seq_len;	/* default truncation length incl. [CLS]/[SEP] */
	uint32_t	max_chars_per_word; /* longer words become [UNK] (100) */
	uint32_t	unk_id;
	uint32_t	cls_id;
	uint32_t	sep_id;
	uint32_t	pad_id;
	float		layer_norm_eps;
	uint32_t	n_tensors;
	uint32_t	hash_slots;		/* power of two, >= 2 * vocab_size */
	uint32_t	reserved0;

	/* sections: byte offset from the start of the file, and length */
	uint64_t	tensors_offset;
	uint64_t	tensors_bytes;	/* n_tensors * sizeof(BertTensorEntry) */
	uint64_t	vocab_offset;
	uint64_t	vocab_bytes;
	uint64_t	hash_offset;
	uint64_t	hash_bytes;		/* hash_slots * 4 */
	uint64_t	labels_offset;
	uint64_t	labels_bytes;

	char		source[128];	/* free text: where the model came from */
	/* version 2 (zero in version 1 files, and ignored there) */
	uint32_t	file_flags;		/* BERT_FILE_* */
	uint8_t		base_sha256[BERT_SHA256_LEN];	/* an overlay's base: SHA-256 of its file */
	uint8_t		reserved[BERT_HEADER_SIZE - 8 - 4 - 4 - 8 - 22 * 4 - 8 * 8 - 128 - 4 - BERT_SHA256_LEN - 4];
	uint32_t	header_crc;		/* bcore_header_crc() of everything above */
} BertFileHeader;

typedef struct BertTensorEntry
{
	char		name[BERT_TENSOR_NAME_LEN];	/* NUL-terminated, NUL-padded */
	uint32_t	dtype;			/* BertDType */
	uint32_t	ndim;			/* 1 .. BERT_MAX_DIMS */
	uint32_t	shape[BERT_MAX_DIMS];	/* unused dims are 0 */
	uint64_t	offset;			/* from the start of the file, BERT_TENSOR_ALIGN-aligned */
	uint64_t	nbytes;			/* product(shape) * 4 (F32), * 2 (Q8),
								 * bcore_f16p_halves() * 2 (F16P) or
								 * bcore_q8p_bytes() (Q8P) */
} BertTensorEntry;

_Static_assert(sizeof(BertFileHeader) == BERT_HEADER_SIZE, "header size");
_Static_assert(sizeof(BertTensorEntry) == 136, "tensor entry size");

/*
 * The bytes a tensor of this dtype and shape takes (its nbytes), or 0 for a
 * dtype or an F16P shape that does not exist.  The dims must be checked
 * first (1 .. BERT_MAX_DIMS of them, each at most BERT_MAX_VOCAB).
 */
static inline uint64_t
bcore_tensor_nbytes(const BertTensorEntry *t)
{
	uint64_t	elems = 1;

	for (uint32_t d = 0; d < t->ndim && d < BERT_MAX_DIMS; d++)
		elems *= t->shape[d];
	switch (t->dtype)
	{
		case BERT_DTYPE_F32:
			return elems * 4;
		case BERT_DTYPE_Q8:
			return elems * 2;
		case BERT_DTYPE_F16P:
			return t->ndim == 2 ? bcore_f16p_halves(t->shape[0], t->shape[1]) * 2 : 0;
		case BERT_DTYPE_Q8P:
			return t->ndim == 2 ? bcore_q8p_bytes(t->shape[0], t->shape[1]) : 0;
		case BERT_DTYPE_Q16P:
			return t->ndim == 2 ? bcore_q8p_bytes(t->shape[0], t->shape[1]) * 2 : 0;
	}
	return 0;
}

/* FNV-1a, 32 bit: the hash of the vocabulary index. */
static inline uint32_t
bcore_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (uint8_t) s[i];
		h *= 16777619u;
	}
	return h;
}

/* CRC-32 (IEEE) of the header up to header_crc: catches any flipped byte. */
static inline uint32_t
bcore_header_crc(const BertFileHeader *h)
{
	const uint8_t *p = (const uint8_t *) h;
	uint32_t	crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < offsetof(BertFileHeader, header_crc); i++)
	{
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

#endif							/* BERT_MODEL_FORMAT_H */
