/*
 * dump_model.c — test helper: check a bert model file against
 * src/core/model_format.h independently of the loader, and print what it holds.
 *
 *   dump_model FILE                 header fields as key=value lines
 *   dump_model FILE --tensors       "name [shape] fnv64" per tensor, of its
 *                                   fp32 values (F16P unpacked and widened)
 *   dump_model FILE --values NAME K fp32 bit patterns of NAME's first K values
 *   dump_model FILE --dtypes        "name F32|F16P" per tensor
 *   dump_model FILE --lookup TOKEN  the id the hash index gives TOKEN, or -1
 *
 * Every mode first checks the whole file (sizes, offsets, alignment, the
 * string tables, that every token is found through the hash index) and exits
 * with status 1 and "error: ..." on the first inconsistency.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_format.h"

static const char *file_path;

/*
 * fp32 bit pattern of value j (row-major over the shape) of tensor t: F32
 * as stored, F16P unpacked from its panel and widened exactly.
 */
static uint32_t
value_bits(const uint8_t *base, const BertTensorEntry *t, uint64_t j)
{
	uint32_t	bits;

	if (t->dtype == BERT_DTYPE_F16P)
	{
		uint16_t	half;
		float		f;

		memcpy(&half, base + t->offset +
			   2 * bcore_f16p_index((uint32_t) (j / t->shape[1]), (uint32_t) (j % t->shape[1]), t->shape[1]), 2);
		f = bcore_half_to_float(half);
		memcpy(&bits, &f, 4);
	}
	else
		memcpy(&bits, base + t->offset + 4 * j, 4);
	return bits;
}

static void fail(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

static void
fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "error: %s: ", file_path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static bool
in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Check a string table of n entries; return its offsets. */
static const uint32_t *
check_strtab(const uint8_t *base, uint64_t size, uint64_t off, uint64_t bytes,
			 uint32_t n, const char *what)
{
	const uint32_t *offs;
	uint64_t	blob;

	if (off % 4 != 0 || !in_bounds(off, bytes, size))
		fail("%s section [%" PRIu64 ", +%" PRIu64 ") misplaced", what, off, bytes);
	if (bytes < (uint64_t) (n + 1) * 4)
		fail("%s section too small for %u offsets", what, n + 1);
	offs = (const uint32_t *) (base + off);
	blob = bytes - (uint64_t) (n + 1) * 4;
	if (offs[0] != 0)
		fail("%s offsets[0] is %u", what, offs[0]);
	for (uint32_t i = 0; i < n; i++)
		if (offs[i + 1] < offs[i])
			fail("%s offsets decrease at %u", what, i);
	if (offs[n] != blob)
		fail("%s blob is %" PRIu64 " bytes, offsets end at %u", what, blob, offs[n]);
	return offs;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	uint8_t    *base;
	long		size;
	const BertFileHeader *h;
	const BertTensorEntry *te;
	const uint32_t *voffs;
	const char *vblob;
	const uint32_t *slots;
	const uint32_t *loffs;
	const char *lblob;
	uint64_t	prev_end;
	uint32_t	used_slots = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: dump_model FILE [--tensors | --dtypes | --values NAME K | --lookup TOKEN]\n");
		return 2;
	}
	file_path = argv[1];
	f = fopen(file_path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
		fail("cannot read");
	base = malloc(size > 0 ? (size_t) size : 1);
	rewind(f);
	if (base == NULL || fread(base, 1, (size_t) size, f) != (size_t) size)
		fail("cannot read");
	fclose(f);

	/* header */
	if ((uint64_t) size < BERT_HEADER_SIZE)
		fail("file too short");
	h = (const BertFileHeader *) base;
	if (memcmp(h->magic, BERT_FILE_MAGIC, 8) != 0)
		fail("bad magic");
	/* the converter writes complete models: version 1, no overlay fields */
	if (h->version != BERT_FORMAT_VERSION_BASE || h->header_size != BERT_HEADER_SIZE)
		fail("bad version or header size");
	if (h->file_size != (uint64_t) size)
		fail("file_size %" PRIu64 " but the file is %ld bytes", h->file_size, size);
	if (h->kind > 2 || h->activation > 2 || h->pooling > 1 || (h->flags & ~BERT_FLAG_ALL))
		fail("enum or flags out of range");
	if ((h->kind == BERT_KIND_EMBEDDING) != (h->num_labels == 0))
		fail("num_labels %u does not fit kind %u", h->num_labels, h->kind);
	if (h->hidden == 0 || h->n_heads == 0 || h->hidden % h->n_heads != 0)
		fail("hidden/heads");
	if (h->max_seq_len < 2 || h->max_seq_len > h->max_positions)
		fail("max_seq_len %u", h->max_seq_len);
	if (h->unk_id >= h->vocab_size || h->cls_id >= h->vocab_size ||
		h->sep_id >= h->vocab_size || h->pad_id >= h->vocab_size)
		fail("special id out of range");
	if (!(h->layer_norm_eps > 0.0f))
		fail("layer_norm_eps");
	if (h->source[sizeof(h->source) - 1] != '\0')
		fail("source not NUL-terminated");
	for (size_t i = strlen(h->source); i < sizeof(h->source); i++)
		if (h->source[i] != '\0')
			fail("source not NUL-padded");
	if (h->reserved0 != 0)
		fail("reserved0");
	for (size_t i = 0; i < sizeof(h->reserved); i++)
		if (h->reserved[i] != 0)
			fail("reserved bytes not zero");
	if (h->file_flags != 0)
		fail("file_flags");
	for (size_t i = 0; i < sizeof(h->base_sha256); i++)
		if (h->base_sha256[i] != 0)
			fail("base_sha256 not zero");

	/* sections */
	if (h->tensors_offset % 8 != 0 ||
		h->tensors_bytes != (uint64_t) h->n_tensors * sizeof(BertTensorEntry) ||
		h->tensors_offset < BERT_HEADER_SIZE ||
		!in_bounds(h->tensors_offset, h->tensors_bytes, (uint64_t) size))
		fail("tensor table misplaced");
	voffs = check_strtab(base, (uint64_t) size, h->vocab_offset, h->vocab_bytes,
						 h->vocab_size, "vocab");
	vblob = (const char *) (voffs + h->vocab_size + 1);
	if (h->hash_slots < 2 * h->vocab_size || (h->hash_slots & (h->hash_slots - 1)) != 0 ||
		h->hash_bytes != (uint64_t) h->hash_slots * 4 || h->hash_offset % 4 != 0 ||
		!in_bounds(h->hash_offset, h->hash_bytes, (uint64_t) size))
		fail("hash section");
	slots = (const uint32_t *) (base + h->hash_offset);
	loffs = check_strtab(base, (uint64_t) size, h->labels_offset, h->labels_bytes,
						 h->num_labels, "labels");
	lblob = (const char *) (loffs + h->num_labels + 1);

	/* sections must not overlap: they come in this order */
	if (h->tensors_offset + h->tensors_bytes > h->vocab_offset ||
		h->vocab_offset + h->vocab_bytes > h->hash_offset ||
		h->hash_offset + h->hash_bytes > h->labels_offset)
		fail("sections overlap");

	/* every token must be found, as itself or as a later repetition */
	for (uint32_t s = 0; s < h->hash_slots; s++)
	{
		if (slots[s] > h->vocab_size)
			fail("hash slot %u holds %u", s, slots[s]);
		if (slots[s] != 0)
			used_slots++;
	}
	for (uint32_t id = 0; id < h->vocab_size; id++)
	{
		const char *tok = vblob + voffs[id];
		uint32_t	len = voffs[id + 1] - voffs[id];
		uint32_t	pos = bcore_hash(tok, len) & (h->hash_slots - 1);
		uint32_t	probes = 0;

		for (;;)
		{
			uint32_t	o;

			if (slots[pos] == 0)
				fail("token %u not in the hash index", id);
			o = slots[pos] - 1;
			if (voffs[o + 1] - voffs[o] == len && memcmp(vblob + voffs[o], tok, len) == 0)
			{
				if (o < id)
					fail("token %u found as earlier id %u", id, o);
				break;
			}
			pos = (pos + 1) & (h->hash_slots - 1);
			if (++probes > h->hash_slots)
				fail("hash index full");
		}
	}

	/* tensors: sorted by offset, aligned, after the labels, ending the file */
	te = (const BertTensorEntry *) (base + h->tensors_offset);
	prev_end = h->labels_offset + h->labels_bytes;
	for (uint32_t i = 0; i < h->n_tensors; i++)
	{
		const BertTensorEntry *t = &te[i];
		uint64_t	count = 1;
		size_t		nlen = strnlen(t->name, BERT_TENSOR_NAME_LEN);

		if (nlen == 0 || nlen == BERT_TENSOR_NAME_LEN)
			fail("tensor %u: bad name", i);
		for (size_t k = nlen; k < BERT_TENSOR_NAME_LEN; k++)
			if (t->name[k] != '\0')
				fail("tensor %s: name not NUL-padded", t->name);
		if ((t->dtype != BERT_DTYPE_F32 && t->dtype != BERT_DTYPE_F16P) ||
			t->ndim < 1 || t->ndim > BERT_MAX_DIMS || (t->dtype == BERT_DTYPE_F16P && t->ndim != 2))
			fail("tensor %s: dtype/ndim", t->name);
		for (uint32_t d = 0; d < BERT_MAX_DIMS; d++)
		{
			if (d < t->ndim)
				count *= t->shape[d];
			else if (t->shape[d] != 0)
				fail("tensor %s: unused dim not 0", t->name);
		}
		if (t->nbytes != (t->dtype == BERT_DTYPE_F32 ? count * 4 :
						  bcore_f16p_halves(t->shape[0], t->shape[1]) * 2))
			fail("tensor %s: nbytes", t->name);
		if (t->offset % BERT_TENSOR_ALIGN != 0 || t->offset < prev_end ||
			!in_bounds(t->offset, t->nbytes, (uint64_t) size))
			fail("tensor %s: offset %" PRIu64, t->name, t->offset);
		prev_end = t->offset + t->nbytes;
	}
	if (h->n_tensors > 0 && prev_end != (uint64_t) size)
		fail("data ends at %" PRIu64 ", file at %ld", prev_end, size);

	if (argc == 2)
	{
		printf("kind=%u\nn_layers=%u\nhidden=%u\nn_heads=%u\nffn=%u\n"
			   "max_positions=%u\ntype_vocab=%u\nvocab_size=%u\nnum_labels=%u\n"
			   "activation=%u\npooling=%u\nflags=%u\nmax_seq_len=%u\n"
			   "max_chars_per_word=%u\nunk_id=%u\ncls_id=%u\nsep_id=%u\npad_id=%u\n"
			   "layer_norm_eps=%.9g\nn_tensors=%u\nhash_slots=%u\nfile_size=%" PRIu64 "\n"
			   "source=%s\n",
			   h->kind, h->n_layers, h->hidden, h->n_heads, h->ffn, h->max_positions,
			   h->type_vocab, h->vocab_size, h->num_labels, h->activation, h->pooling,
			   h->flags, h->max_seq_len, h->max_chars_per_word, h->unk_id, h->cls_id,
			   h->sep_id, h->pad_id, h->layer_norm_eps, h->n_tensors, h->hash_slots,
			   h->file_size, h->source);
		printf("labels=");
		for (uint32_t i = 0; i < h->num_labels; i++)
			printf("%s%.*s", i ? "," : "", (int) (loffs[i + 1] - loffs[i]), lblob + loffs[i]);
		printf("\nused_slots=%u\n", used_slots);
	}
	else if (strcmp(argv[2], "--tensors") == 0)
	{
		for (uint32_t i = 0; i < h->n_tensors; i++)
		{
			uint64_t	hash = 14695981039346656037u;
			uint64_t	count = 1;

			for (uint32_t d = 0; d < te[i].ndim; d++)
				count *= te[i].shape[d];
			for (uint64_t j = 0; j < count; j++)
			{
				uint32_t	bits = value_bits(base, &te[i], j);

				for (int b = 0; b < 4; b++)
				{
					hash ^= (uint8_t) (bits >> (8 * b));
					hash *= 1099511628211u;
				}
			}
			printf("%s [", te[i].name);
			for (uint32_t d = 0; d < te[i].ndim; d++)
				printf("%s%u", d ? ", " : "", te[i].shape[d]);
			printf("] %016" PRIx64 "\n", hash);
		}
	}
	else if (strcmp(argv[2], "--dtypes") == 0)
	{
		for (uint32_t i = 0; i < h->n_tensors; i++)
			printf("%s %s\n", te[i].name, te[i].dtype == BERT_DTYPE_F16P ? "F16P" : "F32");
	}
	else if (strcmp(argv[2], "--values") == 0 && argc == 5)
	{
		uint32_t	k = (uint32_t) strtoul(argv[4], NULL, 10);

		for (uint32_t i = 0; i < h->n_tensors; i++)
			if (strcmp(te[i].name, argv[3]) == 0)
			{
				uint64_t	count = 1;

				for (uint32_t d = 0; d < te[i].ndim; d++)
					count *= te[i].shape[d];
				if (k > count)
					fail("tensor %s has fewer than %u values", argv[3], k);
				for (uint32_t j = 0; j < k; j++)
					printf("%s%08x", j ? " " : "", value_bits(base, &te[i], j));
				printf("\n");
				free(base);
				return 0;
			}
		fail("no tensor %s", argv[3]);
	}
	else if (strcmp(argv[2], "--lookup") == 0 && argc == 4)
	{
		const char *s = argv[3];
		size_t		len = strlen(s);
		uint32_t	pos = bcore_hash(s, len) & (h->hash_slots - 1);

		for (;;)
		{
			uint32_t	o = slots[pos];

			if (o == 0)
			{
				printf("-1\n");
				break;
			}
			o--;
			if (voffs[o + 1] - voffs[o] == len && memcmp(vblob + voffs[o], s, len) == 0)
			{
				printf("%u\n", o);
				break;
			}
			pos = (pos + 1) & (h->hash_slots - 1);
		}
	}
	else
	{
		fprintf(stderr, "dump_model: bad arguments\n");
		return 2;
	}
	free(base);
	return 0;
}
