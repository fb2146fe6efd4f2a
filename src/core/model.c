/*
 * model.c — read and validate a converted model file (format: model_format.h).
 *
 * Nothing in the file is trusted: every count, offset, size and tensor shape
 * is checked against the configuration and the file size before a pointer
 * into the mapping is handed out.  Messages name what is wrong and what was
 * expected, so a user can tell a truncated copy from a wrong converter.
 * An overlay is parsed against its base model: its header must name the
 * base's SHA-256 and repeat the base's configuration, and the tensors it
 * does not carry are taken from the base (model_format.h).
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
bcore_error(char *errbuf, size_t errlen, int status, const char *fmt,...)
{
	va_list		ap;

	if (errbuf && errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}


static int
in_range(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

/* Is [off, off + len) inside a file of size bytes? */
static int
in_bounds(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/*
 * Check a string table: uint32 offsets[count + 1] then a blob, filling the
 * offsets and blob pointers.  Offsets must start at 0, never decrease, and
 * end exactly at the end of the section.
 */
static int
check_strings(const uint8_t *base, uint64_t off, uint64_t bytes, uint32_t count,
			  const uint32_t **offsets, const char **blob)
{
	uint64_t	table = ((uint64_t) count + 1) * 4;
	const uint32_t *o;
	uint64_t	blob_len;

	if (off % 4 != 0 || bytes < table)
		return 0;
	o = (const uint32_t *) (base + off);
	blob_len = bytes - table;
	if (o[0] != 0 || o[count] != blob_len)
		return 0;
	for (uint32_t i = 0; i < count; i++)
		if (o[i + 1] < o[i])
			return 0;
	*offsets = o;
	*blob = (const char *) (base + off + table);
	return 1;
}

/*
 * Where a model's tensors come from: its own table, and for an overlay its
 * base's.  Every tensor of the own table must be used; a base's tensors may
 * go unused (its head, say).
 */
typedef struct TensorTable
{
	const uint8_t *data;		/* the image the offsets point into */
	const BertTensorEntry *t;
	uint32_t	n;
	uint8_t    *used;			/* NULL for a base's table */
} TensorTable;

typedef struct TensorSources
{
	TensorTable own;
	TensorTable base;			/* n = 0 unless an overlay */
} TensorSources;

/* An overlay takes the base's embeddings and encoder, never its head. */
static int
inheritable(const char *name)
{
	return strncmp(name, "embeddings.", 11) == 0 || strncmp(name, "encoder.", 8) == 0;
}

/* The table that holds the tensor called name, or NULL if none does. */
static const TensorTable *
find_table(const TensorSources *src, const char *name)
{
	for (uint32_t i = 0; i < src->own.n; i++)
		if (strncmp(src->own.t[i].name, name, BERT_TENSOR_NAME_LEN) == 0)
			return &src->own;
	if (inheritable(name))
		for (uint32_t i = 0; i < src->base.n; i++)
			if (strncmp(src->base.t[i].name, name, BERT_TENSOR_NAME_LEN) == 0)
				return &src->base;
	return NULL;
}

/* The dtype of the tensor called name, or -1 if there is none. */
static int
tensor_dtype(const TensorSources *src, const char *name)
{
	const TensorTable *tt = find_table(src, name);

	if (tt == NULL)
		return -1;
	for (uint32_t i = 0; i < tt->n; i++)
		if (strncmp(tt->t[i].name, name, BERT_TENSOR_NAME_LEN) == 0)
			return (int) tt->t[i].dtype;
	return -1;
}

/*
 * A quantised weight must keep the bounds the integer products rely on
 * (ops.h): every value within BERT_QW_MAX, rows no longer than BERT_QK_MAX.
 */
static int
check_q8(const int16_t *q, uint32_t out, uint32_t in, const char *name,
		 char *errbuf, size_t errlen)
{
	if (in > BERT_QK_MAX)
	{
		bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has rows of %u, more than %d",
			 name, in, BERT_QK_MAX);
		return 0;
	}
	for (size_t i = 0; i < (size_t) out * in; i++)
		if (q[i] > BERT_QW_MAX || q[i] < -BERT_QW_MAX)
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has value %d at %zu, outside +-%d",
				 name, q[i], i, BERT_QW_MAX);
			return 0;
		}
	return 1;
}

/*
 * A Q16P weight: every value, padding too, within BERT_Q16_WMAX, which
 * with bcore_q16_xmax's activations keeps a channel's sum inside int32
 * (ops.h); rows no longer than BERT_QK_MAX.
 */
static int
check_q16p(const int16_t *q, uint32_t out, uint32_t in, const char *name,
		   char *errbuf, size_t errlen)
{
	size_t		n = (size_t) bcore_q8p_bytes(out, in);

	if (in > BERT_QK_MAX)
	{
		bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has rows of %u, more than %d",
					name, in, BERT_QK_MAX);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (q[i] > BERT_Q16_WMAX || q[i] < -BERT_Q16_WMAX)
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has value %d at %zu, outside +-%d",
						name, q[i], i, BERT_Q16_WMAX);
			return 0;
		}
	return 1;
}

/*
 * A Q8P weight: any byte keeps the integer products inside int32 (ops.h)
 * as long as rows are no longer than BERT_QK_MAX and the channel sums are
 * integers no larger than a row of BERT_QW_MAX can make.
 */
static int
check_q8p(uint32_t out, uint32_t in, const float *sum, const char *name,
		  char *errbuf, size_t errlen)
{
	if (in > BERT_QK_MAX)
	{
		bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has rows of %u, more than %d",
					name, in, BERT_QK_MAX);
		return 0;
	}
	for (uint32_t o = 0; o < out; o++)
		if (!(fabsf(sum[o]) <= (float) BERT_QW_MAX * in) || sum[o] != rintf(sum[o]))
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "quantised tensor '%s' has channel sum %g at %u",
						name, (double) sum[o], o);
			return 0;
		}
	return 1;
}


/*
 * The tensor called name in table tt, checking its dtype and shape; NULL
 * with errbuf set if wrong (or, unless optional, missing).
 */
static const void *
get_tensor_in(const TensorTable *tt, const char *name, uint32_t dtype, int ndim,
			  const uint32_t *shape, int optional, char *errbuf, size_t errlen)
{
	for (uint32_t i = 0; tt != NULL && i < tt->n; i++)
	{
		const BertTensorEntry *t = &tt->t[i];

		if (strncmp(t->name, name, BERT_TENSOR_NAME_LEN) != 0)
			continue;
		if (tt->used != NULL && tt->used[i])
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' appears more than once", name);
			return NULL;
		}
		if ((int) t->ndim != ndim ||
			memcmp(t->shape, shape, sizeof(uint32_t) * ndim) != 0)
		{
			char		got[80],
						want[80];
			int			gl = 0,
						wl = 0;

			for (uint32_t d = 0; d < t->ndim && d < BERT_MAX_DIMS; d++)
				gl += snprintf(got + gl, sizeof(got) - gl, "%s%u", d ? ", " : "", t->shape[d]);
			got[gl] = '\0';
			for (int d = 0; d < ndim; d++)
				wl += snprintf(want + wl, sizeof(want) - wl, "%s%u", d ? ", " : "", shape[d]);
			want[wl] = '\0';
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
				 "tensor '%s' has shape [%s], expected [%s]", name, got, want);
			return NULL;
		}
		if (t->dtype != dtype)
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' has dtype %u, expected %u",
				 name, t->dtype, dtype);
			return NULL;
		}
		if (tt->used != NULL)
			tt->used[i] = 1;
		return tt->data + t->offset;
	}
	if (!optional)
		bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' is missing", name);
	return NULL;
}

/* The same, from the overlay itself, else (embeddings and encoder) its base. */
static const void *
get_tensor(const TensorSources *src, const char *name, uint32_t dtype, int ndim,
		   const uint32_t *shape, int optional, char *errbuf, size_t errlen)
{
	return get_tensor_in(find_table(src, name), name, dtype, ndim, shape, optional, errbuf, errlen);
}

BertModelStatus
bcore_model_check_header(const uint8_t *data, size_t have, uint64_t file_size,
						 BertFileHeader *hp, char *errbuf, size_t errlen)
{
	BertFileHeader h;

	if (have < sizeof(BertFileHeader) || file_size < sizeof(BertFileHeader))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"file is %llu bytes, shorter than the %d-byte header",
					(unsigned long long) file_size, BERT_HEADER_SIZE);
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, BERT_FILE_MAGIC, 8) != 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "not a bert model file (bad magic number)");
	if (h.version < BERT_FORMAT_VERSION_BASE || h.version > BERT_FORMAT_VERSION)
		return bcore_error(errbuf, errlen, BERT_MODEL_VERSION,
					"model file format version %u is not supported (this build reads versions %d to %d)",
					h.version, BERT_FORMAT_VERSION_BASE, BERT_FORMAT_VERSION);
	if (h.header_crc != bcore_header_crc(&h))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"header checksum mismatch (the first %d bytes are damaged)", BERT_HEADER_SIZE);
	if (h.header_size != BERT_HEADER_SIZE)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "header size is %u, expected %d",
					h.header_size, BERT_HEADER_SIZE);
	if (h.file_size != file_size)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"file is %llu bytes but its header says %llu (truncated or extended copy?)",
					(unsigned long long) file_size, (unsigned long long) h.file_size);
	if (h.version >= BERT_FORMAT_VERSION_OVERLAY && (h.file_flags & ~BERT_FILE_FLAGS_ALL) != 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "file flags 0x%x are unknown",
					h.file_flags);
	if (hp != NULL)
		*hp = h;
	return BERT_MODEL_OK;
}

void
bcore_sha256_hex(const uint8_t *sha, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < BERT_SHA256_LEN; i++)
	{
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 15];
	}
	hex[2 * BERT_SHA256_LEN] = '\0';
}

/*
 * An overlay's configuration must be its base's, but for what a head may
 * change: kind and labels, pooling, normalisation, max_seq_len.
 */
static BertModelStatus
check_overlay_config(const BertFileHeader *h, const BertModel *base, char *errbuf, size_t errlen)
{
	const BertConfig *b = &base->config;

#define SAME(field, value) \
	if ((uint64_t) h->field != (uint64_t) (value)) \
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, \
					"overlay's %s is %llu but its base's is %llu", #field, \
					(unsigned long long) h->field, (unsigned long long) (value))
	SAME(n_layers, b->n_layers);
	SAME(hidden, b->hidden);
	SAME(n_heads, b->n_heads);
	SAME(ffn, b->ffn);
	SAME(max_positions, b->max_positions);
	SAME(type_vocab, b->type_vocab);
	SAME(vocab_size, b->vocab_size);
	SAME(activation, b->activation);
	SAME(max_chars_per_word, base->vocab.max_chars_per_word);
	SAME(unk_id, base->vocab.unk_id);
	SAME(cls_id, base->vocab.cls_id);
	SAME(sep_id, base->vocab.sep_id);
#undef SAME
	if ((h->flags & ~BERT_FLAG_NORMALIZE) != (b->flags & ~BERT_FLAG_NORMALIZE))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"overlay's tokenizer flags 0x%x are not its base's 0x%x",
					h->flags & ~BERT_FLAG_NORMALIZE, b->flags & ~BERT_FLAG_NORMALIZE);
	if (memcmp(&h->layer_norm_eps, &b->layer_norm_eps, sizeof(float)) != 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"overlay's layer_norm_eps %g is not its base's %g",
					(double) h->layer_norm_eps, (double) b->layer_norm_eps);
	if (h->vocab_bytes != 0 || h->hash_slots != 0 || h->hash_bytes != 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"an overlay carries no vocabulary (it has %llu + %llu bytes of one)",
					(unsigned long long) h->vocab_bytes, (unsigned long long) h->hash_bytes);
	return BERT_MODEL_OK;
}

static BertModelStatus
parse(const uint8_t *base, size_t size, const BertModel *basemodel, const uint8_t *base_sha256,
	  BertModel *model, char *errbuf, size_t errlen)
{
	BertFileHeader h;
	const BertTensorEntry *tensors;
	BertConfig *c = &model->config;
	BertWeights *w = &model->weights;
	TensorSources src;
	char		tmp[BERT_TENSOR_NAME_LEN];
	uint32_t	H,
				F;
	int			overlay;
	BertModelStatus st;

	memset(model, 0, sizeof(*model));
	memset(&src, 0, sizeof(src));
	if ((st = bcore_model_check_header(base, size, size, &h, errbuf, errlen)) != BERT_MODEL_OK)
		return st;
	overlay = bcore_header_is_overlay(&h);
	if (overlay && basemodel == NULL)
	{
		char		hex[2 * BERT_SHA256_LEN + 1];

		bcore_sha256_hex(h.base_sha256, hex);
		return bcore_error(errbuf, errlen, BERT_MODEL_NEEDS_BASE,
					"the file is an overlay on the base model with SHA-256 %s", hex);
	}
	if (!overlay && basemodel != NULL)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "the file is not an overlay");
	if (overlay)
	{
		char		want[2 * BERT_SHA256_LEN + 1],
					got[2 * BERT_SHA256_LEN + 1];

		if (basemodel->overlay || basemodel->base == NULL)
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
						"an overlay's base must be a complete model");
		bcore_sha256_hex(h.base_sha256, want);
		bcore_sha256_hex(base_sha256, got);
		if (memcmp(h.base_sha256, base_sha256, BERT_SHA256_LEN) != 0)
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
						"the overlay's base has SHA-256 %s, not %s", want, got);
	}

	/* configuration: ranges first, then relations between fields */
#define CHECK_RANGE(field, lo, hi) \
	if (!in_range(h.field, (lo), (hi))) \
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "%s is %u, expected %u to %u", \
					#field, h.field, (unsigned) (lo), (unsigned) (hi))
	CHECK_RANGE(kind, 0, 2);
	CHECK_RANGE(n_layers, 1, BERT_MAX_LAYERS);
	CHECK_RANGE(hidden, 1, BERT_MAX_HIDDEN);
	CHECK_RANGE(n_heads, 1, h.hidden);
	CHECK_RANGE(ffn, 1, BERT_MAX_FFN);
	CHECK_RANGE(max_positions, BERT_MIN_SEQ_LEN, BERT_MAX_POSITIONS);
	CHECK_RANGE(type_vocab, 1, BERT_MAX_TYPE_VOCAB);
	CHECK_RANGE(vocab_size, BERT_MIN_VOCAB, BERT_MAX_VOCAB);
	CHECK_RANGE(num_labels, 0, BERT_MAX_LABELS);
	CHECK_RANGE(activation, 0, 2);
	CHECK_RANGE(pooling, 0, 1);
	CHECK_RANGE(flags, 0, BERT_FLAG_ALL);
	CHECK_RANGE(max_seq_len, BERT_MIN_SEQ_LEN, h.max_positions);
	CHECK_RANGE(max_chars_per_word, 1, BERT_MAX_CHARS_PER_WORD);
	CHECK_RANGE(unk_id, 0, h.vocab_size - 1);
	CHECK_RANGE(cls_id, 0, h.vocab_size - 1);
	CHECK_RANGE(sep_id, 0, h.vocab_size - 1);
	CHECK_RANGE(pad_id, 0, h.vocab_size - 1);
#undef CHECK_RANGE
	if (h.hidden % h.n_heads != 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"hidden size %u is not a multiple of the %u attention heads", h.hidden, h.n_heads);
	if (h.kind == BERT_KIND_EMBEDDING ? h.num_labels != 0 : h.num_labels < 1)
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"model kind %u cannot have %u labels", h.kind, h.num_labels);
	if (!(h.layer_norm_eps > 0.0f && h.layer_norm_eps < 1.0f))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "layer_norm_eps %g is out of range",
					(double) h.layer_norm_eps);
	if (overlay && (st = check_overlay_config(&h, basemodel, errbuf, errlen)) != BERT_MODEL_OK)
		return st;

	/* sections */
	/* per layer: 16 tensors, and per linear weight at most a scale, a sum and a smoothing */
	if ((h.n_tensors == 0 && !overlay) || h.n_tensors > 16 + (16 + 3 * BERT_LINEARS) * h.n_layers ||
		h.tensors_bytes != (uint64_t) h.n_tensors * sizeof(BertTensorEntry) ||
		h.tensors_offset % 8 != 0 || !in_bounds(h.tensors_offset, h.tensors_bytes, size))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor table (%u entries at offset %llu) is out of bounds",
					h.n_tensors, (unsigned long long) h.tensors_offset);
	if (overlay)
		model->vocab = basemodel->vocab;
	else
	{
		if (!in_bounds(h.vocab_offset, h.vocab_bytes, size) ||
			!check_strings(base, h.vocab_offset, h.vocab_bytes, h.vocab_size,
						   &model->vocab.offsets, &model->vocab.blob))
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "vocabulary section is inconsistent");
		if (h.hash_slots < 2 * h.vocab_size || (h.hash_slots & (h.hash_slots - 1)) != 0 ||
			h.hash_bytes != (uint64_t) h.hash_slots * 4 || h.hash_offset % 4 != 0 ||
			!in_bounds(h.hash_offset, h.hash_bytes, size))
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "vocabulary index section is inconsistent");
	}
	if (!in_bounds(h.labels_offset, h.labels_bytes, size) ||
		!check_strings(base, h.labels_offset, h.labels_bytes, h.num_labels,
					   &model->label_offsets, &model->label_blob))
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "label section is inconsistent");

	if (!overlay)
	{
		model->vocab.slots = (const uint32_t *) (base + h.hash_offset);
		for (uint32_t i = 0; i < h.hash_slots; i++)
			if (model->vocab.slots[i] > h.vocab_size)
				return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "vocabulary index slot %u is out of range", i);
	}

	/* every tensor entry: name terminated, f32, 1..4 dims, aligned, in bounds */
	tensors = (const BertTensorEntry *) (base + h.tensors_offset);
	for (uint32_t i = 0; i < h.n_tensors; i++)
	{
		const BertTensorEntry *t = &tensors[i];

		if (memchr(t->name, '\0', BERT_TENSOR_NAME_LEN) == NULL)
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor %u has an unterminated name", i);
		if ((t->dtype != BERT_DTYPE_F32 && t->dtype != BERT_DTYPE_Q8 &&
			 t->dtype != BERT_DTYPE_F16P && t->dtype != BERT_DTYPE_Q8P &&
			 t->dtype != BERT_DTYPE_Q16P) ||
			t->ndim < 1 || t->ndim > BERT_MAX_DIMS)
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' has dtype %u and %u dimensions",
						t->name, t->dtype, t->ndim);
		for (uint32_t d = 0; d < t->ndim; d++)
			if (t->shape[d] == 0 || t->shape[d] > BERT_MAX_VOCAB)
				return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' has dimension %u of size %u",
							t->name, d, t->shape[d]);
		if ((t->dtype == BERT_DTYPE_F16P || t->dtype == BERT_DTYPE_Q8P ||
			 t->dtype == BERT_DTYPE_Q16P) && t->ndim != 2)
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tensor '%s' has dtype %u and %u dimensions",
						t->name, t->dtype, t->ndim);
		if (t->nbytes != bcore_tensor_nbytes(t) ||
			t->offset % BERT_TENSOR_ALIGN != 0 ||
			!in_bounds(t->offset, t->nbytes, size))
			return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
						"tensor '%s' (%llu bytes at offset %llu) is misaligned, mis-sized or out of bounds",
						t->name, (unsigned long long) t->nbytes, (unsigned long long) t->offset);
	}

	c->kind = (BertModelKind) h.kind;
	c->n_layers = (int) h.n_layers;
	c->hidden = (int) h.hidden;
	c->n_heads = (int) h.n_heads;
	c->head_dim = (int) (h.hidden / h.n_heads);
	c->ffn = (int) h.ffn;
	c->max_positions = (int) h.max_positions;
	c->type_vocab = (int) h.type_vocab;
	c->vocab_size = (int) h.vocab_size;
	c->num_labels = (int) h.num_labels;
	c->activation = (BertActivation) h.activation;
	c->pooling = (BertPooling) h.pooling;
	c->flags = h.flags;
	c->max_seq_len = (int) h.max_seq_len;
	c->layer_norm_eps = h.layer_norm_eps;
	H = h.hidden;
	F = h.ffn;

	src.own.data = base;
	src.own.t = tensors;
	src.own.n = h.n_tensors;
	src.own.used = calloc(h.n_tensors + 1, 1);
	if (overlay)
	{
		BertFileHeader bh;

		memcpy(&bh, basemodel->base, sizeof(bh));	/* validated when it was parsed */
		src.base.data = basemodel->base;
		src.base.t = (const BertTensorEntry *) (basemodel->base + bh.tensors_offset);
		src.base.n = bh.n_tensors;
	}
	w->layers = calloc(h.n_layers, sizeof(BertLayerWeights));
	if (src.own.used == NULL || w->layers == NULL)
	{
		free(src.own.used);
		free(w->layers);
		w->layers = NULL;
		return bcore_error(errbuf, errlen, BERT_MODEL_NOMEM, "out of memory");
	}

#define TENSOR(dst, name, opt, ...) \
	do { \
		const uint32_t shape_[] = {__VA_ARGS__}; \
		(dst) = get_tensor(&src, (name), BERT_DTYPE_F32, \
						   (int) (sizeof(shape_) / sizeof(shape_[0])), shape_, (opt), errbuf, errlen); \
		if ((dst) == NULL && !(opt)) \
			goto corrupt; \
	} while (0)

	TENSOR(w->word_emb, "embeddings.word_embeddings.weight", 0, h.vocab_size, H);
	TENSOR(w->pos_emb, "embeddings.position_embeddings.weight", 0, h.max_positions, H);
	TENSOR(w->type_emb, "embeddings.token_type_embeddings.weight", 0, h.type_vocab, H);
	TENSOR(w->emb_ln_g, "embeddings.LayerNorm.weight", 0, H);
	TENSOR(w->emb_ln_b, "embeddings.LayerNorm.bias", 0, H);
	for (uint32_t l = 0; l < h.n_layers; l++)
	{
		BertLayerWeights *L = &w->layers[l];

#define LAYER(dst, suffix, ...) \
		do { \
			snprintf(tmp, sizeof(tmp), "encoder.layer.%u.%s", l, (suffix)); \
			TENSOR(dst, tmp, 0, __VA_ARGS__); \
		} while (0)
/*
 * a linear weight, fp32, half precision or quantised (then with its scale,
 * from the same file as the weight)
 */
#define LINEAR(dst, id, suffix, out, in) \
		do { \
			const uint32_t shape_[] = {(out), (in)}; \
			const uint32_t scale_shape_[] = {(out)}; \
			const TensorTable *tt_; \
			int			dtype_; \
			snprintf(tmp, sizeof(tmp), "encoder.layer.%u.%s", l, (suffix)); \
			tt_ = find_table(&src, tmp); \
			dtype_ = tensor_dtype(&src, tmp); \
			if (dtype_ == BERT_DTYPE_F16P) \
			{ \
				if ((L->wh[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_F16P, \
											   2, shape_, 0, errbuf, errlen)) == NULL) \
					goto corrupt; \
				c->half = 1; \
			} \
			else if (dtype_ != BERT_DTYPE_Q8 && dtype_ != BERT_DTYPE_Q8P && \
					 dtype_ != BERT_DTYPE_Q16P) \
				TENSOR(dst, tmp, 0, (out), (in)); \
			else if (dtype_ == BERT_DTYPE_Q8 ? \
					 (L->wq[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_Q8, \
												2, shape_, 0, errbuf, errlen)) == NULL || \
					 !check_q8(L->wq[id], (out), (in), tmp, errbuf, errlen) : \
					 dtype_ == BERT_DTYPE_Q16P ? \
					 (L->w16[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_Q16P, \
												 2, shape_, 0, errbuf, errlen)) == NULL || \
					 !check_q16p(L->w16[id], (out), (in), tmp, errbuf, errlen) : \
					 (L->w8[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_Q8P, \
												2, shape_, 0, errbuf, errlen)) == NULL) \
				goto corrupt; \
			else \
			{ \
				size_t		len_ = strlen(tmp); \
				c->quantized = 1; \
				strcpy(tmp + len_, "_scale"); \
				if ((L->ws[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_F32, 1, scale_shape_, 0, \
											   errbuf, errlen)) == NULL) \
					goto corrupt; \
				if (dtype_ == BERT_DTYPE_Q8P) \
				{ \
					const uint32_t in_shape_[] = {(in)}; \
					c->q8p = 1; \
					strcpy(tmp + len_, "_sum"); \
					if ((L->wsum[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_F32, 1, scale_shape_, 0, \
													 errbuf, errlen)) == NULL || \
						!check_q8p((out), (in), L->wsum[id], tmp, errbuf, errlen)) \
						goto corrupt; \
					/* k and v share q's quantised input: no _smooth of their own */ \
					strcpy(tmp + len_, "_smooth"); \
					if ((id) != BERT_LIN_K && (id) != BERT_LIN_V) \
						L->smooth[id] = get_tensor_in(tt_, tmp, BERT_DTYPE_F32, 1, in_shape_, 1, \
													  errbuf, errlen); \
				} \
			} \
		} while (0)
		LINEAR(L->q_w, BERT_LIN_Q, "attention.self.query.weight", H, H);
		LAYER(L->q_b, "attention.self.query.bias", H);
		LINEAR(L->k_w, BERT_LIN_K, "attention.self.key.weight", H, H);
		LAYER(L->k_b, "attention.self.key.bias", H);
		LINEAR(L->v_w, BERT_LIN_V, "attention.self.value.weight", H, H);
		LAYER(L->v_b, "attention.self.value.bias", H);
		LINEAR(L->o_w, BERT_LIN_O, "attention.output.dense.weight", H, H);
		LAYER(L->o_b, "attention.output.dense.bias", H);
		LAYER(L->ln1_g, "attention.output.LayerNorm.weight", H);
		LAYER(L->ln1_b, "attention.output.LayerNorm.bias", H);
		LINEAR(L->ff1_w, BERT_LIN_FF1, "intermediate.dense.weight", F, H);
		LAYER(L->ff1_b, "intermediate.dense.bias", F);
		LINEAR(L->ff2_w, BERT_LIN_FF2, "output.dense.weight", H, F);
		LAYER(L->ff2_b, "output.dense.bias", H);
#undef LINEAR
		LAYER(L->ln2_g, "output.LayerNorm.weight", H);
		LAYER(L->ln2_b, "output.LayerNorm.bias", H);
#undef LAYER
	}
	/*
	 * Optional for every kind: a sequence classifier trained on the pooled
	 * sentence embedding (heads.c) has no pooler, a Hugging Face one has.
	 */
	TENSOR(w->pooler_w, "pooler.dense.weight", 1, H, H);
	TENSOR(w->pooler_b, "pooler.dense.bias", 1, H);
	if ((w->pooler_w == NULL) != (w->pooler_b == NULL))
	{
		bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "pooler weight and bias must come together");
		goto corrupt;
	}
	w->cls_in = (int) H;
	if (h.kind == BERT_KIND_TOKEN_CLASSIFICATION)
	{
		/* optional: a trained tagger's features (tagger.h) and label transitions (crf.h) */
		TENSOR(w->tagger, "tagger.features", 1, BERT_TAGGER_CONFIG_LEN);
		if (w->tagger != NULL && !bcore_tagger_config_ok(w->tagger, (int) H))
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "tagger.features is not a tagger this version reads");
			goto corrupt;
		}
		if (w->tagger != NULL)
			w->cls_in = bcore_tagger_dim((int) H);
		TENSOR(w->crf_trans, "crf.transitions", 1, h.num_labels, h.num_labels);
		TENSOR(w->crf_start, "crf.start", 1, h.num_labels);
		TENSOR(w->crf_end, "crf.end", 1, h.num_labels);
		if ((w->crf_trans == NULL) != (w->crf_start == NULL) ||
			(w->crf_trans == NULL) != (w->crf_end == NULL))
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "crf.transitions, crf.start and crf.end must come together");
			goto corrupt;
		}
	}
	if (h.kind != BERT_KIND_EMBEDDING)
	{
		TENSOR(w->cls_w, "classifier.weight", 0, h.num_labels, (uint32_t) w->cls_in);
		TENSOR(w->cls_b, "classifier.bias", 0, h.num_labels);
	}
#undef TENSOR

	for (uint32_t i = 0; i < h.n_tensors; i++)
		if (!src.own.used[i])
		{
			bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "unexpected tensor '%s'", tensors[i].name);
			goto corrupt;
		}
	free(src.own.used);

	if (!overlay)
	{
		model->vocab.size = h.vocab_size;
		model->vocab.n_slots = h.hash_slots;
		model->vocab.unk_id = h.unk_id;
		model->vocab.cls_id = h.cls_id;
		model->vocab.sep_id = h.sep_id;
		model->vocab.flags = h.flags;
		model->vocab.max_chars_per_word = h.max_chars_per_word;
	}
	model->n_labels = h.num_labels;
	memcpy(model->source, h.source, sizeof(h.source));
	model->source[sizeof(h.source)] = '\0';
	model->base = base;
	model->size = size;
	model->overlay = overlay;
	if (overlay)
		memcpy(model->base_sha256, h.base_sha256, BERT_SHA256_LEN);
	return BERT_MODEL_OK;

corrupt:
	free(src.own.used);
	free(w->layers);
	w->layers = NULL;
	return BERT_MODEL_CORRUPT;
}

BertModelStatus
bcore_model_parse(const uint8_t *base, size_t size, BertModel *model,
				 char *errbuf, size_t errlen)
{
	return parse(base, size, NULL, NULL, model, errbuf, errlen);
}

BertModelStatus
bcore_model_parse_overlay(const uint8_t *data, size_t size, const BertModel *base,
						  const uint8_t *base_sha256, BertModel *model,
						  char *errbuf, size_t errlen)
{
	if (base == NULL || base_sha256 == NULL)
	{
		memset(model, 0, sizeof(*model));
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT, "an overlay needs its base");
	}
	return parse(data, size, base, base_sha256, model, errbuf, errlen);
}

BertModelStatus
bcore_model_open(const char *path, BertModel *model, char *errbuf, size_t errlen)
{
	int			fd;
	struct stat st;
	void	   *map;
	BertModelStatus status;

	memset(model, 0, sizeof(*model));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bcore_error(errbuf, errlen, BERT_MODEL_IO, "could not open \"%s\": %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
	{
		int			e = errno;

		close(fd);
		return bcore_error(errbuf, errlen, BERT_MODEL_IO, "could not stat \"%s\": %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		return bcore_error(errbuf, errlen, BERT_MODEL_IO, "\"%s\" is not a regular file", path);
	}
	if ((uint64_t) st.st_size < sizeof(BertFileHeader))
	{
		close(fd);
		return bcore_error(errbuf, errlen, BERT_MODEL_CORRUPT,
					"file is %lld bytes, shorter than the %d-byte header",
					(long long) st.st_size, BERT_HEADER_SIZE);
	}
	map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return bcore_error(errbuf, errlen, BERT_MODEL_IO, "could not map \"%s\": %s", path, strerror(errno));

	status = bcore_model_parse(map, (size_t) st.st_size, model, errbuf, errlen);
	if (status != BERT_MODEL_OK)
	{
		munmap(map, (size_t) st.st_size);
		return status;
	}
	model->mapped = 1;
	return BERT_MODEL_OK;
}

void
bcore_model_close(BertModel *model)
{
	free(model->weights.layers);
	if (model->mapped)
		munmap((void *) model->base, model->size);
	memset(model, 0, sizeof(*model));
}

const char *
bcore_model_label(const BertModel *model, uint32_t i, size_t *len)
{
	if (i >= model->n_labels)
		return NULL;
	*len = model->label_offsets[i + 1] - model->label_offsets[i];
	return model->label_blob + model->label_offsets[i];
}
