/*
 * model_write.c — write a model file from a loaded base model and a new head.
 *
 * The layout rules are the converter's (model/convert.c): header, tensor
 * table, then vocabulary, hash index and labels each at an 8-byte aligned
 * offset, then every tensor at a BERT_TENSOR_ALIGN offset, zero padding in
 * between.  The base's sections and tensors are copied byte for byte from
 * its mapping; only the header, the label section and the head change.
 */
#include "model_write.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_LABELS 65536

static BertWriteStatus fail(char *errbuf, size_t errlen, BertWriteStatus status,
							const char *fmt,...) __attribute__((format(printf, 4, 5)));

static BertWriteStatus
fail(char *errbuf, size_t errlen, BertWriteStatus status, const char *fmt,...)
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

static uint64_t
align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* Well-formed UTF-8 without NUL (shortest forms, no surrogates, <= U+10FFFF). */
static int
valid_utf8(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		uint32_t	cp;

		if (c == 0)
			return 0;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t j = 1; j <= n; j++)
		{
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
			(n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* One tensor of the output: its table entry and where its bytes come from. */
typedef struct OutTensor
{
	BertTensorEntry entry;
	const void *data;
	void	   *owned;			/* data made here (quantised), freed at the end */
} OutTensor;

typedef struct Out
{
	int			fd;
	uint64_t	pos;
	size_t		used;
	char		buf[1 << 16];
} Out;

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return 0;
		}
		p += n;
		len -= (size_t) n;
	}
	return 1;
}

static int
out_flush(Out *o)
{
	int			ok = write_all(o->fd, o->buf, o->used);

	o->used = 0;
	return ok;
}

static int
out_put(Out *o, const void *data, size_t len)
{
	if (len == 0)
		return 1;
	if (o->used + len > sizeof(o->buf) && !out_flush(o))
		return 0;
	o->pos += len;
	if (len >= sizeof(o->buf))
		return write_all(o->fd, data, len);
	memcpy(o->buf + o->used, data, len);
	o->used += len;
	return 1;
}

/* Zero bytes up to offset 'to'. */
static int
out_pad(Out *o, uint64_t to)
{
	static const char zeros[BERT_TENSOR_ALIGN];

	while (o->pos < to)
	{
		uint64_t	n = to - o->pos;

		if (!out_put(o, zeros, n < sizeof(zeros) ? (size_t) n : sizeof(zeros)))
			return 0;
	}
	return 1;
}

/* Make the rename itself durable; some file systems cannot sync a directory. */
static void
sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char	   *dir;
	int			fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t) (slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
	{
		(void) fsync(fd);
		close(fd);
	}
	free(dir);
}

static BertWriteStatus
check_head(const BertModel *base, const BertHeadSpec *head, size_t *blob_len,
		   char *errbuf, size_t errlen)
{
	int			H = base->config.hidden;

	*blob_len = 0;
	if (head->kind == BERT_KIND_EMBEDDING)
	{
		if (head->num_labels != 0)
			return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						"an embedding model cannot have labels");
		return BERT_WRITE_OK;
	}
	if (head->kind != BERT_KIND_TOKEN_CLASSIFICATION &&
		head->kind != BERT_KIND_SEQUENCE_CLASSIFICATION)
		return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT, "model kind %d is unknown",
					(int) head->kind);
	if (head->num_labels < 1 || head->num_labels > MAX_LABELS)
		return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
					"a classifier needs 1 to %d labels, not %d", MAX_LABELS, head->num_labels);
	if (head->labels == NULL || head->label_lens == NULL ||
		head->cls_w == NULL || head->cls_b == NULL)
		return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
					"a classifier needs label names, weight and bias");
	for (int i = 0; i < head->num_labels; i++)
	{
		if (!valid_utf8((const unsigned char *) head->labels[i], head->label_lens[i]))
			return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						"label %d is not valid UTF-8 or contains a NUL byte", i);
		*blob_len += head->label_lens[i];
		if (*blob_len > UINT32_MAX)
			return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT, "label names are too long");
	}
	for (size_t i = 0; i < (size_t) head->num_labels * H; i++)
		if (!isfinite(head->cls_w[i]))
			return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						"classifier weight %zu is not finite", i);
	for (int i = 0; i < head->num_labels; i++)
		if (!isfinite(head->cls_b[i]))
			return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						"classifier bias %d is not finite", i);
	return BERT_WRITE_OK;
}

static void
set_entry(OutTensor *t, const char *name, uint32_t d0, uint32_t d1, const float *data)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->entry.name, sizeof(t->entry.name), "%s", name);
	t->entry.dtype = BERT_DTYPE_F32;
	t->entry.ndim = d1 ? 2 : 1;
	t->entry.shape[0] = d0;
	t->entry.shape[1] = d1;
	t->entry.nbytes = (uint64_t) d0 * (d1 ? d1 : 1) * sizeof(float);
	t->data = data;
}

/* Everything after the header is laid out: write it to o. */
static int
emit(Out *o, const BertFileHeader *h, const BertModel *base, const BertFileHeader *bh,
	 const BertHeadSpec *head, const OutTensor *t, uint32_t nt)
{
	uint32_t	off = 0;

	if (!out_put(o, h, sizeof(*h)))
		return 0;
	for (uint32_t i = 0; i < nt; i++)
		if (!out_put(o, &t[i].entry, sizeof(t[i].entry)))
			return 0;
	if (!out_pad(o, h->vocab_offset) ||
		!out_put(o, base->base + bh->vocab_offset, (size_t) h->vocab_bytes) ||
		!out_pad(o, h->hash_offset) ||
		!out_put(o, base->base + bh->hash_offset, (size_t) h->hash_bytes) ||
		!out_pad(o, h->labels_offset))
		return 0;
	/* labels: uint32 offsets[n + 1], then the names back to back */
	if (!out_put(o, &off, sizeof(off)))
		return 0;
	for (uint32_t i = 0; i < h->num_labels; i++)
	{
		off += (uint32_t) head->label_lens[i];
		if (!out_put(o, &off, sizeof(off)))
			return 0;
	}
	for (uint32_t i = 0; i < h->num_labels; i++)
		if (!out_put(o, head->labels[i], head->label_lens[i]))
			return 0;
	for (uint32_t i = 0; i < nt; i++)
		if (!out_pad(o, t[i].entry.offset) ||
			!out_put(o, t[i].data, (size_t) t[i].entry.nbytes))
			return 0;
	return out_flush(o);
}

/* Map the written file and parse it: the writer's own consistency check. */
static BertWriteStatus
verify(int fd, uint64_t size, const char *tmp, char *errbuf, size_t errlen)
{
	void	   *map = mmap(NULL, (size_t) size, PROT_READ, MAP_SHARED, fd, 0);
	BertModel	m;
	char		err[256];
	BertModelStatus st;

	if (map == MAP_FAILED)
		return fail(errbuf, errlen, BERT_WRITE_IO, "could not map \"%s\": %s", tmp, strerror(errno));
	st = bcore_model_parse(map, (size_t) size, &m, err, sizeof(err));
	if (st == BERT_MODEL_OK)
		bcore_model_close(&m);	/* not mapped by the model: frees the layers only */
	munmap(map, (size_t) size);
	if (st != BERT_MODEL_OK)
		return fail(errbuf, errlen, BERT_WRITE_VERIFY, "the file written does not load: %s", err);
	return BERT_WRITE_OK;
}

/*
 * Is w one of the fp32 linear weights of an encoder layer of m that
 * quantisation turns into Q8?  All but the feed-forward output (FF2): its
 * rows of ffn weights carry the most error at 8 bits (measured on
 * all-MiniLM-L6-v2: cosine to fp32 0.9962 with it quantised, 0.9989
 * without, on the worst inputs of the unit test).
 */
static int
linear_weight(const BertModel *m, const void *w, uint32_t *out, uint32_t *in)
{
	for (int l = 0; l < m->config.n_layers; l++)
	{
		const BertLayerWeights *L = &m->weights.layers[l];
		const float *ws[] = {L->q_w, L->k_w, L->v_w, L->o_w, L->ff1_w};

		for (int i = 0; i < BERT_LIN_FF2; i++)
			if ((ws[i] != NULL && (const void *) ws[i] == w) ||
				(L->wh[i] != NULL && (const void *) L->wh[i] == w))
			{
				*out = (uint32_t) (i == BERT_LIN_FF1 ? m->config.ffn : m->config.hidden);
				*in = (uint32_t) (i == BERT_LIN_FF2 ? m->config.ffn : m->config.hidden);
				return 1;
			}
	}
	return 0;
}

/*
 * t[0] (an fp32 or F16P [out, in] weight) becomes Q8, and t[1] its scale:
 * per row, scale = max|w| / BERT_QW_MAX, q = round(w / scale).
 */
static int
quantize_entry(OutTensor *t, uint32_t out, uint32_t in)
{
	int			half = t[0].entry.dtype == BERT_DTYPE_F16P;
	float	   *unpacked = half ? malloc((size_t) out * in * sizeof(float)) : NULL;
	const float *w = half ? unpacked : t[0].data;
	int16_t    *q = malloc((size_t) out * in * sizeof(int16_t));
	float	   *sc = malloc((size_t) out * sizeof(float));
	char		name[BERT_TENSOR_NAME_LEN];

	if (q == NULL || sc == NULL || (half && unpacked == NULL) ||
		snprintf(name, sizeof(name), "%s_scale", t[0].entry.name) >= (int) sizeof(name))
	{
		free(unpacked);
		free(q);
		free(sc);
		return 0;
	}
	if (half)
	{
		const uint16_t *p = t[0].data;

		for (uint32_t o = 0; o < out; o++)
			for (uint32_t i = 0; i < in; i++)
				unpacked[(size_t) o * in + i] = bcore_half_to_float(p[bcore_f16p_index(o, i, in)]);
	}
	for (uint32_t o = 0; o < out; o++)
	{
		const float *row = w + (size_t) o * in;
		float		amax = 0.0f;

		for (uint32_t i = 0; i < in; i++)
			amax = fabsf(row[i]) > amax ? fabsf(row[i]) : amax;
		sc[o] = amax / BERT_QW_MAX;
		for (uint32_t i = 0; i < in; i++)
			q[(size_t) o * in + i] = amax > 0.0f ? (int16_t) lrintf(row[i] / sc[o]) : 0;
	}
	set_entry(&t[1], name, out, 0, sc);
	t[1].owned = sc;
	t[0].entry.dtype = BERT_DTYPE_Q8;
	t[0].entry.nbytes = (uint64_t) out * in * sizeof(int16_t);
	t[0].data = t[0].owned = q;
	free(unpacked);
	return 1;
}

BertWriteStatus
bcore_model_write(const char *path, const BertModel *base, const BertHeadSpec *head,
				 char *errbuf, size_t errlen)
{
	BertFileHeader bh,
				h;
	const BertTensorEntry *bt;
	OutTensor  *t = NULL;
	uint32_t	nt = 0;
	size_t		blob_len;
	uint64_t	pos;
	char	   *tmp = NULL;
	Out		   *o = NULL;
	int			fd = -1;
	int			created = 0;
	BertWriteStatus status;
	uint32_t	H = (uint32_t) base->config.hidden;

	if (base->base == NULL || base->size < sizeof(BertFileHeader))
		return fail(errbuf, errlen, BERT_WRITE_BAD_INPUT, "the base model is not loaded");
	if ((status = check_head(base, head, &blob_len, errbuf, errlen)) != BERT_WRITE_OK)
		return status;

	/* the base was validated by bcore_model_parse: its offsets are sound */
	memcpy(&bh, base->base, sizeof(bh));
	bt = (const BertTensorEntry *) (base->base + bh.tensors_offset);
	t = calloc((size_t) bh.n_tensors * 2 + 2, sizeof(OutTensor));
	o = malloc(sizeof(Out));
	tmp = malloc(strlen(path) + 32);
	if (t == NULL || o == NULL || tmp == NULL)
	{
		status = fail(errbuf, errlen, BERT_WRITE_NOMEM, "out of memory");
		goto done;
	}

	/* tensors: the base's in its order, minus its head, then the new head */
	for (uint32_t i = 0; i < bh.n_tensors; i++)
	{
		const char *name = bt[i].name;

		if (strncmp(name, "classifier.", 11) == 0)
			continue;
		if (strncmp(name, "pooler.", 7) == 0 && !head->keep_pooler)
			continue;
		t[nt].entry = bt[i];
		t[nt].data = base->base + bt[i].offset;
		if (head->quantize && (bt[i].dtype == BERT_DTYPE_F32 || bt[i].dtype == BERT_DTYPE_F16P))
		{
			uint32_t	out,
						in;

			if (linear_weight(base, t[nt].data, &out, &in))
			{
				if (in > BERT_QK_MAX)
				{
					status = fail(errbuf, errlen, BERT_WRITE_BAD_INPUT,
								  "tensor '%s' has rows of %u, more than the %d a quantised model allows",
								  bt[i].name, in, BERT_QK_MAX);
					goto done;
				}
				if (!quantize_entry(&t[nt], out, in))
				{
					status = fail(errbuf, errlen, BERT_WRITE_NOMEM, "out of memory");
					goto done;
				}
				nt++;
			}
		}
		nt++;
	}
	if (head->kind != BERT_KIND_EMBEDDING)
	{
		set_entry(&t[nt++], "classifier.weight", (uint32_t) head->num_labels, H, head->cls_w);
		set_entry(&t[nt++], "classifier.bias", (uint32_t) head->num_labels, 0, head->cls_b);
	}

	/* header: the base's, with the new head and layout */
	h = bh;
	h.kind = (uint32_t) head->kind;
	h.num_labels = (uint32_t) head->num_labels;
	h.n_tensors = nt;
	if (head->source)
	{
		size_t		n = strlen(head->source);

		if (n > sizeof(h.source) - 1)
		{
			n = sizeof(h.source) - 1;
			while (n > 0 && ((unsigned char) head->source[n] & 0xC0) == 0x80)
				n--;			/* do not cut a UTF-8 sequence */
		}
		memset(h.source, 0, sizeof(h.source));
		memcpy(h.source, head->source, n);
	}
	pos = BERT_HEADER_SIZE;
	h.tensors_offset = pos;
	h.tensors_bytes = (uint64_t) nt * sizeof(BertTensorEntry);
	pos += h.tensors_bytes;
	h.vocab_offset = align_up(pos, 8);
	h.vocab_bytes = bh.vocab_bytes;
	pos = h.vocab_offset + h.vocab_bytes;
	h.hash_offset = align_up(pos, 8);
	h.hash_bytes = bh.hash_bytes;
	pos = h.hash_offset + h.hash_bytes;
	h.labels_offset = align_up(pos, 8);
	h.labels_bytes = ((uint64_t) h.num_labels + 1) * sizeof(uint32_t) + blob_len;
	pos = h.labels_offset + h.labels_bytes;
	for (uint32_t i = 0; i < nt; i++)
	{
		t[i].entry.offset = align_up(pos, BERT_TENSOR_ALIGN);
		pos = t[i].entry.offset + t[i].entry.nbytes;
	}
	h.file_size = pos;
	h.header_crc = bcore_header_crc(&h);

	/* write PATH.tmp.PID, check it, then rename it over PATH */
	snprintf(tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long) getpid());
	(void) unlink(tmp);			/* only a crashed writer with our pid left this */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		status = fail(errbuf, errlen, BERT_WRITE_IO, "could not create \"%s\": %s",
					  tmp, strerror(errno));
		goto done;
	}
	created = 1;
	o->fd = fd;
	o->pos = 0;
	o->used = 0;
	if (!emit(o, &h, base, &bh, head, t, nt))
	{
		status = fail(errbuf, errlen, BERT_WRITE_IO, "could not write \"%s\": %s",
					  tmp, strerror(errno));
		goto done;
	}
	if (o->pos != h.file_size)
	{
		status = fail(errbuf, errlen, BERT_WRITE_VERIFY,
					  "wrote %llu bytes, planned %llu", (unsigned long long) o->pos,
					  (unsigned long long) h.file_size);
		goto done;
	}
	if ((status = verify(fd, h.file_size, tmp, errbuf, errlen)) != BERT_WRITE_OK)
		goto done;
	if (fsync(fd) != 0)
	{
		status = fail(errbuf, errlen, BERT_WRITE_IO, "could not fsync \"%s\": %s",
					  tmp, strerror(errno));
		goto done;
	}
	if (close(fd) != 0)
	{
		fd = -1;
		status = fail(errbuf, errlen, BERT_WRITE_IO, "could not close \"%s\": %s",
					  tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
	{
		status = fail(errbuf, errlen, BERT_WRITE_IO, "could not rename \"%s\" to \"%s\": %s",
					  tmp, path, strerror(errno));
		goto done;
	}
	created = 0;
	sync_parent_dir(path);
	status = BERT_WRITE_OK;

done:
	if (fd >= 0)
		close(fd);
	if (created)
		(void) unlink(tmp);
	free(tmp);
	free(o);
	if (t != NULL)
		for (uint32_t i = 0; i < nt; i++)
			free(t[i].owned);
	free(t);
	return status;
}
