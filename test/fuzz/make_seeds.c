/*
 * make_seeds.c — write tiny valid model files, the seed corpus of fuzz_model.
 *
 *   make_seeds OUTDIR
 *
 * Each file follows src/core/model_format.h exactly (1 or 2 layers, hidden 8,
 * 2 heads, ffn 16, a 20-token vocabulary, 16 positions) and is checked with
 * bcore_model_parse before it is written.  The weights are a fixed
 * pseudo-random sequence, so the files are the same on every run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_format.h"

#define HIDDEN 8
#define HEADS 2
#define FFN 16
#define POSITIONS 16
#define MAX_TENSORS 64

static const char *const vocab_tokens[] = {
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s",
	"##ing", "un", "##aff", "##able", "a", "b", "!", ",", ".", "\xC3\xA9",
	"\xE4\xB8\xAD", "##x"
};
#define VOCAB_SIZE ((uint32_t) (sizeof(vocab_tokens) / sizeof(vocab_tokens[0])))

typedef struct Spec
{
	const char *file;
	uint32_t	kind;
	uint32_t	n_layers;
	uint32_t	activation;
	uint32_t	pooling;
	uint32_t	flags;
	int			pooler;
	uint32_t	n_labels;
	const char *const *labels;
} Spec;

typedef struct Image
{
	uint8_t    *buf;
	size_t		size;
	size_t		cap;
	BertTensorEntry tensors[MAX_TENSORS];
	uint32_t	n_tensors;
	uint32_t	rng;
} Image;

static void
die(const char *what)
{
	fprintf(stderr, "make_seeds: %s\n", what);
	exit(1);
}

/* Append len bytes (zeros if data is NULL) at an offset aligned to align. */
static uint64_t
append(Image *im, const void *data, size_t len, size_t align)
{
	size_t		off = (im->size + align - 1) / align * align;

	if (off + len > im->cap)
	{
		size_t		cap = im->cap ? im->cap : 4096;

		while (cap < off + len)
			cap *= 2;
		im->buf = realloc(im->buf, cap);
		if (im->buf == NULL)
			die("out of memory");
		memset(im->buf + im->cap, 0, cap - im->cap);
		im->cap = cap;
	}
	if (data)
		memcpy(im->buf + off, data, len);
	im->size = off + len;
	return off;
}

/* A string table: offsets[count + 1], then the bytes. */
static uint64_t
append_strings(Image *im, const char *const *s, uint32_t count, uint64_t *bytes)
{
	uint32_t	offsets[64];
	uint64_t	off;
	uint32_t	total = 0;

	offsets[0] = 0;
	for (uint32_t i = 0; i < count; i++)
	{
		total += (uint32_t) strlen(s[i]);
		offsets[i + 1] = total;
	}
	off = append(im, offsets, (count + 1) * sizeof(uint32_t), 4);
	for (uint32_t i = 0; i < count; i++)
		append(im, s[i], strlen(s[i]), 1);
	*bytes = im->size - off;
	return off;
}

/* Declare a tensor; its data is written once the table's size is known. */
static void
tensor(Image *im, const char *name, uint32_t d0, uint32_t d1)
{
	BertTensorEntry *t;

	if (im->n_tensors >= MAX_TENSORS)
		die("too many tensors");
	t = &im->tensors[im->n_tensors++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->dtype = BERT_DTYPE_F32;
	t->ndim = d1 ? 2 : 1;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->nbytes = (uint64_t) d0 * (d1 ? d1 : 1) * 4;
}

/* PREFIX.weight [d0][d1] (d1 0: a vector) and PREFIX.bias [d0] */
static void
weight_and_bias(Image *im, const char *prefix, uint32_t d0, uint32_t d1)
{
	char		name[128];

	snprintf(name, sizeof(name), "%s.weight", prefix);
	tensor(im, name, d0, d1);
	snprintf(name, sizeof(name), "%s.bias", prefix);
	tensor(im, name, d0, 0);
}

static float
next_weight(Image *im)
{
	im->rng = im->rng * 1664525u + 1013904223u;
	return (float) ((int32_t) (im->rng >> 16) % 1000) / 4000.0f;
}

static void
write_seed(const char *dir, const Spec *sp)
{
	Image		im = {0};
	BertFileHeader h;
	uint32_t	slots[2 * VOCAB_SIZE * 2];
	uint32_t	n_slots = 1;
	char		name[BERT_TENSOR_NAME_LEN];
	BertModel	model;
	char		err[256];
	char		path[1024];
	FILE	   *f;

	im.rng = 12345u + sp->kind * 7u + sp->n_layers;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, BERT_FILE_MAGIC, 8);
	h.version = BERT_FORMAT_VERSION;
	h.header_size = BERT_HEADER_SIZE;
	h.kind = sp->kind;
	h.n_layers = sp->n_layers;
	h.hidden = HIDDEN;
	h.n_heads = HEADS;
	h.ffn = FFN;
	h.max_positions = POSITIONS;
	h.type_vocab = 2;
	h.vocab_size = VOCAB_SIZE;
	h.num_labels = sp->n_labels;
	h.activation = sp->activation;
	h.pooling = sp->pooling;
	h.flags = sp->flags;
	h.max_seq_len = POSITIONS;
	h.max_chars_per_word = 100;
	h.unk_id = 1;
	h.cls_id = 2;
	h.sep_id = 3;
	h.pad_id = 0;
	h.layer_norm_eps = 1e-12f;
	snprintf(h.source, sizeof(h.source), "test/fuzz/make_seeds.c %s", sp->file);

	/* the tensor list, in the converter's order */
	tensor(&im, "embeddings.word_embeddings.weight", VOCAB_SIZE, HIDDEN);
	tensor(&im, "embeddings.position_embeddings.weight", POSITIONS, HIDDEN);
	tensor(&im, "embeddings.token_type_embeddings.weight", 2, HIDDEN);
	weight_and_bias(&im, "embeddings.LayerNorm", HIDDEN, 0);
	for (uint32_t l = 0; l < sp->n_layers; l++)
	{
#define LAYER(part, d0, d1) \
		do { \
			snprintf(name, sizeof(name), "encoder.layer.%u.%s", l, part); \
			weight_and_bias(&im, name, d0, d1); \
		} while (0)
		LAYER("attention.self.query", HIDDEN, HIDDEN);
		LAYER("attention.self.key", HIDDEN, HIDDEN);
		LAYER("attention.self.value", HIDDEN, HIDDEN);
		LAYER("attention.output.dense", HIDDEN, HIDDEN);
		LAYER("attention.output.LayerNorm", HIDDEN, 0);
		LAYER("intermediate.dense", FFN, HIDDEN);
		LAYER("output.dense", HIDDEN, FFN);
		LAYER("output.LayerNorm", HIDDEN, 0);
#undef LAYER
	}
	if (sp->pooler)
		weight_and_bias(&im, "pooler.dense", HIDDEN, HIDDEN);
	if (sp->kind != BERT_KIND_EMBEDDING)
		weight_and_bias(&im, "classifier", sp->n_labels, HIDDEN);
	h.n_tensors = im.n_tensors;

	/* sections in file order */
	append(&im, NULL, BERT_HEADER_SIZE, 1);
	h.tensors_bytes = (uint64_t) im.n_tensors * sizeof(BertTensorEntry);
	h.tensors_offset = append(&im, NULL, h.tensors_bytes, 8);
	h.vocab_offset = append_strings(&im, vocab_tokens, VOCAB_SIZE, &h.vocab_bytes);

	while (n_slots < 2 * VOCAB_SIZE)
		n_slots *= 2;
	memset(slots, 0, sizeof(slots));
	for (uint32_t id = 0; id < VOCAB_SIZE; id++)
	{
		uint32_t	pos = bcore_hash(vocab_tokens[id], strlen(vocab_tokens[id])) & (n_slots - 1);

		while (slots[pos] != 0)
			pos = (pos + 1) & (n_slots - 1);
		slots[pos] = id + 1;
	}
	h.hash_slots = n_slots;
	h.hash_bytes = (uint64_t) n_slots * 4;
	h.hash_offset = append(&im, slots, h.hash_bytes, 4);
	h.labels_offset = append_strings(&im, sp->labels, sp->n_labels, &h.labels_bytes);

	for (uint32_t i = 0; i < im.n_tensors; i++)
	{
		BertTensorEntry *t = &im.tensors[i];
		size_t		n = t->nbytes / 4;
		float	   *data = malloc(t->nbytes);
		const char *tail = strrchr(t->name, '.');
		int			is_gamma = strstr(t->name, "LayerNorm.weight") != NULL;

		if (data == NULL)
			die("out of memory");
		for (size_t k = 0; k < n; k++)
			data[k] = is_gamma ? 1.0f + next_weight(&im) / 8 :
				(tail && strcmp(tail, ".bias") == 0 ? next_weight(&im) / 4 : next_weight(&im));
		t->offset = append(&im, data, t->nbytes, BERT_TENSOR_ALIGN);
		free(data);
	}
	memcpy(im.buf + h.tensors_offset, im.tensors, h.tensors_bytes);
	h.file_size = im.size;
	h.header_crc = bcore_header_crc(&h);
	memcpy(im.buf, &h, sizeof(h));

	if (bcore_model_parse(im.buf, im.size, &model, err, sizeof(err)) != BERT_MODEL_OK)
	{
		fprintf(stderr, "make_seeds: %s does not parse: %s\n", sp->file, err);
		exit(1);
	}
	bcore_model_close(&model);

	snprintf(path, sizeof(path), "%s/%s", dir, sp->file);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(im.buf, 1, im.size, f) != im.size || fclose(f) != 0)
		die("cannot write a seed file");
	printf("%s: %zu bytes\n", path, im.size);
	free(im.buf);
}

int
main(int argc, char **argv)
{
	static const char *const ner[] = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
	static const char *const sentiment[] = {"negative", "positive"};
	static const char *const one[] = {"\xC3\xA9t\xC3\xA9"};
	const uint32_t uncased = BERT_FLAG_LOWER_CASE | BERT_FLAG_STRIP_ACCENTS |
		BERT_FLAG_CHINESE_CHARS;
	const Spec	specs[] = {
		{"embed-mean.bert", BERT_KIND_EMBEDDING, 1, BERT_ACT_GELU, BERT_POOL_MEAN,
		uncased | BERT_FLAG_NORMALIZE, 1, 0, NULL},
		{"embed-cls-nopooler.bert", BERT_KIND_EMBEDDING, 1, BERT_ACT_GELU_TANH, BERT_POOL_CLS,
		BERT_FLAG_CHINESE_CHARS, 0, 0, NULL},
		{"embed-2layers.bert", BERT_KIND_EMBEDDING, 2, BERT_ACT_RELU, BERT_POOL_MEAN,
		uncased, 0, 0, NULL},
		{"token-cls.bert", BERT_KIND_TOKEN_CLASSIFICATION, 1, BERT_ACT_GELU, BERT_POOL_CLS,
		0, 0, 5, ner},
		{"token-cls-pooler.bert", BERT_KIND_TOKEN_CLASSIFICATION, 1, BERT_ACT_GELU, BERT_POOL_MEAN,
		uncased, 1, 1, one},
		{"seq-cls.bert", BERT_KIND_SEQUENCE_CLASSIFICATION, 1, BERT_ACT_GELU, BERT_POOL_CLS,
		uncased, 1, 2, sentiment},
	};

	if (argc != 2)
	{
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		write_seed(argv[1], &specs[i]);
	return 0;
}
