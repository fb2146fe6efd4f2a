/*
 * model_write.c — the one writer of model files (format: model_format.h).
 *
 * Layout: header, tensor table, then vocabulary, hash index and labels each
 * at an 8-byte aligned offset, then every tensor at a BERT_TENSOR_ALIGN
 * offset, zero padding in between.  The file is written to PATH.tmp.PID
 * through a buffer, parsed back with the loader, synced and renamed over
 * PATH, so a failed or interrupted write never leaves a partial model under
 * the final name.
 *
 * bcore_model_write (below) puts a new head on a loaded base: the base's
 * sections and tensors are copied byte for byte from its mapping; only the
 * header, the label section and the head change.  Or, as an overlay, only
 * the header, the labels and the head are written, and the header names the
 * base by the SHA-256 of its file.
 */
#include "model_write.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the writer writes the host's byte order; the file format is little-endian"
#endif

struct BertModelOut
{
	int			fd;
	int			err;			/* errno of the first failed write, or 0 */
	uint64_t	pos;
	size_t		used;
	char		buf[1 << 16];
};

static uint64_t
align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int
bcore_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *) str;
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
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
			(n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
bcore_vocab_index(const BertStrings *v, uint32_t **slots_out, uint32_t *n_slots_out,
				  uint32_t *n_dups, uint32_t *first_dup)
{
	uint32_t	n_slots = 1;
	uint32_t   *slots;

	while (n_slots < 2 * v->n)
		n_slots *= 2;
	slots = calloc(n_slots, sizeof(uint32_t));
	if (slots == NULL)
		return 0;
	*n_dups = 0;
	*first_dup = 0;
	for (uint32_t id = 0; id < v->n; id++)
	{
		const char *s = v->blob + v->offsets[id];
		size_t		len = v->offsets[id + 1] - v->offsets[id];
		uint32_t	pos = bcore_hash(s, len) & (n_slots - 1);

		for (;;)
		{
			uint32_t	slot = slots[pos];

			if (slot == 0 ||
				(v->offsets[slot] - v->offsets[slot - 1] == len &&
				 memcmp(v->blob + v->offsets[slot - 1], s, len) == 0))
			{
				if (slot != 0 && (*n_dups)++ == 0)
					*first_dup = id;
				slots[pos] = id + 1;
				break;
			}
			pos = (pos + 1) & (n_slots - 1);
		}
	}
	*slots_out = slots;
	*n_slots_out = n_slots;
	return 1;
}

void
bcore_model_set_source(BertFileHeader *h, const char *source)
{
	size_t		n = strlen(source);

	if (n > sizeof(h->source) - 1)
	{
		n = sizeof(h->source) - 1;
		while (n > 0 && ((unsigned char) source[n] & 0xC0) == 0x80)
			n--;				/* do not cut a UTF-8 sequence */
	}
	memset(h->source, 0, sizeof(h->source));
	memcpy(h->source, source, n);
}

static int
write_all(BertModelOut *o, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(o->fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (o->err == 0)
				o->err = errno;
			return 0;
		}
		p += n;
		len -= (size_t) n;
	}
	return 1;
}

static int
out_flush(BertModelOut *o)
{
	int			ok = write_all(o, o->buf, o->used);

	o->used = 0;
	return ok;
}

int
bcore_model_out_put(BertModelOut *o, const void *data, size_t len)
{
	if (len == 0)
		return 1;				/* data may be NULL: an empty blob */
	if (o->err != 0)
		return 0;
	if (o->used + len > sizeof(o->buf) && !out_flush(o))
		return 0;
	o->pos += len;
	if (len >= sizeof(o->buf))
		return write_all(o, data, len);
	memcpy(o->buf + o->used, data, len);
	o->used += len;
	return 1;
}

/* Zero bytes up to offset 'to'. */
static int
out_pad(BertModelOut *o, uint64_t to)
{
	static const char zeros[BERT_TENSOR_ALIGN];

	while (o->pos < to)
	{
		uint64_t	n = to - o->pos;

		if (!bcore_model_out_put(o, zeros, n < sizeof(zeros) ? (size_t) n : sizeof(zeros)))
			return 0;
	}
	return 1;
}

static uint64_t
strings_bytes(const BertStrings *s)
{
	return ((uint64_t) s->n + 1) * sizeof(uint32_t) + s->offsets[s->n];
}

static int
put_strings(BertModelOut *o, const BertStrings *s)
{
	return bcore_model_out_put(o, s->offsets, ((size_t) s->n + 1) * sizeof(uint32_t)) &&
		bcore_model_out_put(o, s->blob, s->offsets[s->n]);
}

/* Every string of a section UTF-8 without NUL, named what for a message. */
static BertWriteStatus
check_strings(const BertStrings *s, const char *what, char *errbuf, size_t errlen)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (!bcore_valid_utf8(s->blob + s->offsets[i], s->offsets[i + 1] - s->offsets[i]))
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
							   "%s %u is not valid UTF-8 or contains a NUL byte", what, i);
	return BERT_WRITE_OK;
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

/* The header and the tensor table of parts, laid out. */
static void
lay_out(const BertModelParts *p, BertFileHeader *h, BertTensorEntry *e)
{
	uint64_t	pos;

	*h = p->header;
	memcpy(h->magic, BERT_FILE_MAGIC, sizeof(h->magic));
	h->header_size = BERT_HEADER_SIZE;
	if (p->overlay_base_sha256 != NULL)
	{
		h->version = BERT_FORMAT_VERSION_OVERLAY;
		h->file_flags = BERT_FILE_OVERLAY;
		memcpy(h->base_sha256, p->overlay_base_sha256, BERT_SHA256_LEN);
	}
	else
	{
		/* a complete model stays version 1: every reader reads it */
		h->version = BERT_FORMAT_VERSION_BASE;
		h->file_flags = 0;
		memset(h->base_sha256, 0, BERT_SHA256_LEN);
		h->vocab_size = p->vocab.n;
	}
	h->num_labels = p->labels.n;
	h->n_tensors = p->n_tensors;
	h->hash_slots = p->hash_slots;

	pos = BERT_HEADER_SIZE;
	h->tensors_offset = pos;
	h->tensors_bytes = (uint64_t) p->n_tensors * sizeof(BertTensorEntry);
	pos += h->tensors_bytes;
	h->vocab_offset = align_up(pos, 8);
	h->vocab_bytes = p->overlay_base_sha256 != NULL ? 0 : strings_bytes(&p->vocab);
	pos = h->vocab_offset + h->vocab_bytes;
	h->hash_offset = align_up(pos, 8);
	h->hash_bytes = (uint64_t) p->hash_slots * sizeof(uint32_t);
	pos = h->hash_offset + h->hash_bytes;
	h->labels_offset = align_up(pos, 8);
	h->labels_bytes = strings_bytes(&p->labels);
	pos = h->labels_offset + h->labels_bytes;
	for (uint32_t i = 0; i < p->n_tensors; i++)
	{
		e[i] = p->tensors[i].entry;
		e[i].nbytes = bcore_tensor_nbytes(&e[i]);
		e[i].offset = align_up(pos, BERT_TENSOR_ALIGN);
		pos = e[i].offset + e[i].nbytes;
	}
	h->file_size = pos;
	h->header_crc = bcore_header_crc(h);
}

/*
 * Everything to o: IO when a write failed (o->err says why), another status
 * when a fill callback failed (errbuf says why).
 */
static BertWriteStatus
emit(BertModelOut *o, const BertModelParts *p, const BertFileHeader *h,
	 const BertTensorEntry *e, const char *tmp, char *errbuf, size_t errlen)
{
	if (!bcore_model_out_put(o, h, sizeof(*h)) ||
		!bcore_model_out_put(o, e, (size_t) h->tensors_bytes) ||
		!out_pad(o, h->vocab_offset) ||
		(p->overlay_base_sha256 == NULL && !put_strings(o, &p->vocab)) ||
		!out_pad(o, h->hash_offset) ||
		!bcore_model_out_put(o, p->hash, (size_t) h->hash_bytes) ||
		!out_pad(o, h->labels_offset) || !put_strings(o, &p->labels))
		return BERT_WRITE_IO;
	for (uint32_t i = 0; i < p->n_tensors; i++)
	{
		BertWriteStatus st = BERT_WRITE_OK;

		if (!out_pad(o, e[i].offset))
			return BERT_WRITE_IO;
		if (p->tensors[i].data != NULL)
		{
			if (!bcore_model_out_put(o, p->tensors[i].data, (size_t) e[i].nbytes))
				return BERT_WRITE_IO;
		}
		else if (p->fill == NULL)
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
							   "tensor '%s' has no data", e[i].name);
		else if ((st = p->fill(p->fill_arg, i, &e[i], o, errbuf, errlen)) != BERT_WRITE_OK ||
				 o->err != 0)
			return o->err != 0 ? BERT_WRITE_IO : st;
		if (o->pos != e[i].offset + e[i].nbytes)
			break;				/* the size check below says so */
	}
	if (!out_flush(o))
		return BERT_WRITE_IO;
	if (o->pos != h->file_size)
		return bcore_error(errbuf, errlen, BERT_WRITE_VERIFY,
						   "%s: internal error: wrote %llu bytes, planned %llu", tmp,
						   (unsigned long long) o->pos, (unsigned long long) h->file_size);
	return BERT_WRITE_OK;
}

/* Map the written file and parse it: the writer's own consistency check. */
static BertWriteStatus
verify(int fd, uint64_t size, const BertModelParts *p, const char *tmp, char *errbuf, size_t errlen)
{
	void	   *map = mmap(NULL, (size_t) size, PROT_READ, MAP_SHARED, fd, 0);
	BertModel	m;
	char		err[256];
	BertModelStatus st;

	if (map == MAP_FAILED)
		return bcore_error(errbuf, errlen, BERT_WRITE_IO, "%s: cannot map to check it: %s",
						   tmp, strerror(errno));
	if (p->overlay_base_sha256 != NULL)
		st = bcore_model_parse_overlay(map, (size_t) size, p->overlay_base, p->overlay_base_sha256,
									   &m, err, sizeof(err));
	else
		st = bcore_model_parse(map, (size_t) size, &m, err, sizeof(err));
	if (st == BERT_MODEL_OK)
		bcore_model_close(&m);	/* not mapped by the model: frees the layers only */
	munmap(map, (size_t) size);
	if (st != BERT_MODEL_OK)
		return bcore_error(errbuf, errlen, BERT_WRITE_VERIFY,
						   "%s: internal error: the file written does not load: %s", tmp, err);
	return BERT_WRITE_OK;
}

BertWriteStatus
bcore_model_file_write(const char *path, const BertModelParts *parts, BertFileHeader *written,
					   char *errbuf, size_t errlen)
{
	BertFileHeader h;
	BertTensorEntry *e = NULL;
	BertModelOut *o = NULL;
	char	   *tmp = NULL;
	size_t		tmp_len = strlen(path) + 32;
	int			fd = -1;
	int			created = 0;
	BertWriteStatus status;

	if ((status = check_strings(&parts->vocab, "token", errbuf, errlen)) != BERT_WRITE_OK ||
		(status = check_strings(&parts->labels, "label", errbuf, errlen)) != BERT_WRITE_OK)
		return status;
	if (parts->overlay_base_sha256 != NULL &&
		(parts->overlay_base == NULL || parts->overlay_base->overlay || parts->vocab.n != 0 ||
		 parts->hash_slots != 0))
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "an overlay needs a complete base model and carries no vocabulary");
	e = malloc((size_t) parts->n_tensors * sizeof(BertTensorEntry) + 1);
	o = malloc(sizeof(BertModelOut));
	tmp = malloc(tmp_len);
	if (e == NULL || o == NULL || tmp == NULL)
	{
		status = bcore_error(errbuf, errlen, BERT_WRITE_NOMEM, "out of memory");
		goto done;
	}
	lay_out(parts, &h, e);

	snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long) getpid());
	(void) unlink(tmp);			/* only a crashed writer with our pid left this */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		status = bcore_error(errbuf, errlen, BERT_WRITE_IO, "%s: cannot create temporary file: %s",
							 path, strerror(errno));
		goto done;
	}
	created = 1;
	o->fd = fd;
	o->err = 0;
	o->pos = 0;
	o->used = 0;
	status = emit(o, parts, &h, e, tmp, errbuf, errlen);
	if (status == BERT_WRITE_IO && o->err != 0)
		bcore_error(errbuf, errlen, status, "%s: write failed: %s", tmp, strerror(o->err));
	if (status != BERT_WRITE_OK)
		goto done;
	if ((status = verify(fd, h.file_size, parts, tmp, errbuf, errlen)) != BERT_WRITE_OK)
		goto done;
	if (fsync(fd) != 0)
	{
		status = bcore_error(errbuf, errlen, BERT_WRITE_IO, "%s: fsync failed: %s",
							 tmp, strerror(errno));
		goto done;
	}
	if (close(fd) != 0)
	{
		fd = -1;
		status = bcore_error(errbuf, errlen, BERT_WRITE_IO, "%s: close failed: %s",
							 tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
	{
		status = bcore_error(errbuf, errlen, BERT_WRITE_IO, "%s: cannot rename %s to it: %s",
							 path, tmp, strerror(errno));
		goto done;
	}
	created = 0;
	sync_parent_dir(path);
	if (written != NULL)
		*written = h;
	status = BERT_WRITE_OK;

done:
	if (fd >= 0)
		close(fd);
	if (created)
		(void) unlink(tmp);
	free(tmp);
	free(o);
	free(e);
	return status;
}

/* ---------------------------------------------------------------------------
 * A base model with a new head.
 */

static BertWriteStatus
check_head(const BertModel *base, const BertHeadSpec *head, size_t *blob_len,
		   char *errbuf, size_t errlen)
{
	int			H = base->config.hidden;

	*blob_len = 0;
	if (head->kind == BERT_KIND_EMBEDDING)
	{
		if (head->num_labels != 0)
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
							   "an embedding model cannot have labels");
		return BERT_WRITE_OK;
	}
	if (head->kind != BERT_KIND_TOKEN_CLASSIFICATION &&
		head->kind != BERT_KIND_SEQUENCE_CLASSIFICATION)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT, "model kind %d is unknown",
						   (int) head->kind);
	if (head->num_labels < 1 || head->num_labels > BERT_MAX_LABELS)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "a classifier needs 1 to %d labels, not %d", BERT_MAX_LABELS,
						   head->num_labels);
	if (head->labels == NULL || head->label_lens == NULL ||
		head->cls_w == NULL || head->cls_b == NULL)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "a classifier needs label names, weight and bias");
	for (int i = 0; i < head->num_labels; i++)
	{
		*blob_len += head->label_lens[i];
		if (*blob_len > UINT32_MAX)
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT, "label names are too long");
	}
	if ((head->tagger || head->crf_trans) && head->kind != BERT_KIND_TOKEN_CLASSIFICATION)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "only a token classifier has tagger features or label transitions");
	if (head->tagger && !bcore_tagger_config_ok(head->tagger, H))
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT, "the tagger features do not fit the base model");
	if ((head->crf_trans == NULL) != (head->crf_start == NULL) ||
		(head->crf_trans == NULL) != (head->crf_end == NULL))
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "label transitions need crf_trans, crf_start and crf_end");
	if (head->tagger)
		H = bcore_tagger_dim(H);
	for (size_t i = 0; head->crf_trans && i < (size_t) head->num_labels * head->num_labels; i++)
		if (!isfinite(head->crf_trans[i]) ||
			(i < (size_t) head->num_labels && (!isfinite(head->crf_start[i]) || !isfinite(head->crf_end[i]))))
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT, "label transitions are not finite");
	for (size_t i = 0; i < (size_t) head->num_labels * H; i++)
		if (!isfinite(head->cls_w[i]))
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
							   "classifier weight %zu is not finite", i);
	for (int i = 0; i < head->num_labels; i++)
		if (!isfinite(head->cls_b[i]))
			return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
							   "classifier bias %d is not finite", i);
	return BERT_WRITE_OK;
}

static void
set_entry(BertWriteTensor *t, const char *name, uint32_t d0, uint32_t d1, const void *data)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->entry.name, sizeof(t->entry.name), "%s", name);
	t->entry.dtype = BERT_DTYPE_F32;
	t->entry.ndim = d1 ? 2 : 1;
	t->entry.shape[0] = d0;
	t->entry.shape[1] = d1;
	t->data = data;
}

/*
 * Is w one of the linear weights (fp32 or F16P) of an encoder layer of m?
 * Then its layer, id and shape.
 */
static int
linear_weight(const BertModel *m, const void *w, int *layer, BertLinearId *id,
			  uint32_t *out, uint32_t *in)
{
	for (int l = 0; l < m->config.n_layers; l++)
	{
		const BertLayerWeights *L = &m->weights.layers[l];
		const float *ws[] = {L->q_w, L->k_w, L->v_w, L->o_w, L->ff1_w, L->ff2_w};

		for (int i = 0; i < BERT_LINEARS; i++)
			if ((ws[i] != NULL && (const void *) ws[i] == w) ||
				(L->wh[i] != NULL && (const void *) L->wh[i] == w))
			{
				*layer = l;
				*id = (BertLinearId) i;
				*out = (uint32_t) (i == BERT_LIN_FF1 ? m->config.ffn : m->config.hidden);
				*in = (uint32_t) (i == BERT_LIN_FF2 ? m->config.ffn : m->config.hidden);
				return 1;
			}
	}
	return 0;
}

/*
 * Which linear weights BERT_QUANT_Q8 makes Q8: all but the feed-forward
 * output (FF2): its rows of ffn weights carry the most error at 8 bits
 * (measured on all-MiniLM-L6-v2: cosine to fp32 0.9962 with it quantised,
 * 0.9989 without, on the worst inputs of the unit test).
 */
#define Q8_LINEARS ((1u << BERT_LINEARS) - 1 - (1u << BERT_LIN_FF2))

/* The weight [out, in] of linear (layer, id) of m as fp32, malloc'd. */
static float *
linear_floats(const BertModel *m, int layer, BertLinearId id, uint32_t out, uint32_t in)
{
	const BertLayerWeights *L = &m->weights.layers[layer];
	const float *ws[] = {L->q_w, L->k_w, L->v_w, L->o_w, L->ff1_w, L->ff2_w};
	float	   *w = malloc((size_t) out * in * sizeof(float));

	if (w == NULL)
		return NULL;
	if (L->wh[id] != NULL)
	{
		for (uint32_t o = 0; o < out; o++)
			for (uint32_t i = 0; i < in; i++)
				w[(size_t) o * in + i] = bcore_half_to_float(L->wh[id][bcore_f16p_index(o, i, in)]);
	}
	else
		memcpy(w, ws[id], (size_t) out * in * sizeof(float));
	return w;
}

/*
 * t[0] (an fp32 or F16P [out, in] weight) becomes Q8, and t[1] its scale:
 * per row, scale = max|w| / BERT_QW_MAX, q = round(w / scale).  The two new
 * arrays go to owned[0] and owned[1].
 */
static int
quantize_entry(BertWriteTensor *t, void **owned, uint32_t out, uint32_t in)
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
	t[0].entry.dtype = BERT_DTYPE_Q8;
	t[0].data = q;
	owned[0] = q;
	owned[1] = sc;
	free(unpacked);
	return 1;
}

/*
 * SmoothQuant's multipliers for the input of linear (layer, id), or NULL
 * (malloc'd; NULL also when out of memory: *nomem says which): m_t =
 * max|w_t|^(1 - alpha) / act_max_t^alpha, w_t the input's column of the
 * weight (of q, k and v together, which share the query's input).  A
 * channel never seen, or without weight, keeps 1.
 */
static float *
smoothing(const BertModel *m, const BertHeadSpec *head, int layer, BertLinearId id,
		  uint32_t in, int *nomem)
{
	BertLinearId first = id <= BERT_LIN_V ? BERT_LIN_Q : id,
				last = id <= BERT_LIN_V ? BERT_LIN_V : id;
	const float *amax;
	float	   *mult,
			   *wmax;

	*nomem = 0;
	if (head->act_max == NULL || (amax = head->act_max[layer * BERT_LINEARS + first]) == NULL)
		return NULL;
	mult = malloc(in * sizeof(float));
	wmax = calloc(in, sizeof(float));
	if (mult == NULL || wmax == NULL)
	{
		free(mult);
		free(wmax);
		*nomem = 1;
		return NULL;
	}
	for (int j = first; j <= (int) last; j++)
	{
		uint32_t	out = (uint32_t) (j == BERT_LIN_FF1 ? m->config.ffn : m->config.hidden);
		float	   *w = linear_floats(m, layer, (BertLinearId) j, out, in);

		if (w == NULL)
		{
			free(mult);
			free(wmax);
			*nomem = 1;
			return NULL;
		}
		for (uint32_t o = 0; o < out; o++)
			for (uint32_t t = 0; t < in; t++)
				wmax[t] = fmaxf(wmax[t], fabsf(w[(size_t) o * in + t]));
		free(w);
	}
	for (uint32_t t = 0; t < in; t++)
		mult[t] = amax[t] > 0.0f && wmax[t] > 0.0f ?
			(float) (pow(wmax[t], 1.0 - head->smooth_alpha) / pow(amax[t], head->smooth_alpha)) : 1.0f;
	free(wmax);
	return mult;
}

/* Is linear (layer, id) written as Q8P under head? */
static int
writes_q8p(const BertHeadSpec *head, int layer, BertLinearId id)
{
	int			at = layer * BERT_LINEARS + id;

	return head->quantize == BERT_QUANT_Q8P && (head->q8p_linears & (1u << id)) &&
		!(head->q8p_keep != NULL && head->q8p_keep[at]) && !(head->q16p != NULL && head->q16p[at]);
}

/*
 * Linear (layer, id) of m as Q16P into t[0] and its _scale into t[1]: per
 * output channel, scale = max|w| / BERT_Q16_WMAX, q = round(w / scale),
 * packed as model_format.h says.  Returns 2, 0 if out of memory; the new
 * arrays go to owned.
 */
static int
q16p_entries(const BertModel *m, BertWriteTensor *t, void **owned, int layer, BertLinearId id,
			 uint32_t out, uint32_t in)
{
	float	   *w = linear_floats(m, layer, id, out, in);
	int16_t    *q = calloc(bcore_q8p_bytes(out, in), sizeof(int16_t));
	float	   *sc = malloc(out * sizeof(float));
	char		name[BERT_TENSOR_NAME_LEN];

	if (w == NULL || q == NULL || sc == NULL ||
		snprintf(name, sizeof(name), "%s_scale", t[0].entry.name) >= (int) sizeof(name))
	{
		free(w);
		free(q);
		free(sc);
		return 0;
	}
	for (uint32_t o = 0; o < out; o++)
	{
		const float *row = w + (size_t) o * in;
		float		amax = 0.0f;

		for (uint32_t i = 0; i < in; i++)
			amax = fmaxf(amax, fabsf(row[i]));
		sc[o] = amax / BERT_Q16_WMAX;
		for (uint32_t i = 0; i < in && amax > 0.0f; i++)
			q[bcore_q16p_index(o, i, in)] =
				(int16_t) fminf(fmaxf(rintf(row[i] / sc[o]), -BERT_Q16_WMAX), BERT_Q16_WMAX);
	}
	free(w);
	t[0].entry.dtype = BERT_DTYPE_Q16P;
	t[0].data = q;
	owned[0] = q;
	set_entry(&t[1], name, out, 0, sc);
	owned[1] = sc;
	return 2;
}

/*
 * Linear (layer, id) of m as Q8P into t[0 ..] (the weight, _scale, _sum,
 * and _smooth when mult is given and the weight is not k or v): w / mult
 * per input channel, then per output channel the scale among max|w| /
 * BERT_QW_MAX times 1, 0.99, ..., 0.8 that leaves the least squared error
 * (clipping a channel's largest weights a little can pay for a finer step
 * for the rest).  Returns the number of entries, 0 if out of memory; the
 * new arrays go to owned.
 */
static int
q8p_entries(const BertModel *m, BertWriteTensor *t, void **owned, int layer, BertLinearId id,
			uint32_t out, uint32_t in, const float *mult)
{
	float	   *w = linear_floats(m, layer, id, out, in);
	int8_t	   *q = calloc(bcore_q8p_bytes(out, in), 1);
	float	   *sc = malloc(out * sizeof(float));
	float	   *sum = malloc(out * sizeof(float));
	float	   *sm = NULL;
	int			n = 3;
	char		name[BERT_TENSOR_NAME_LEN];
	const char *base = t[0].entry.name;

	if (mult != NULL && id != BERT_LIN_K && id != BERT_LIN_V)
	{
		if ((sm = malloc(in * sizeof(float))) != NULL)
			memcpy(sm, mult, in * sizeof(float));
		n = 4;
	}
	if (w == NULL || q == NULL || sc == NULL || sum == NULL || (n == 4 && sm == NULL) ||
		strlen(base) + 8 > sizeof(name))
	{
		free(w);
		free(q);
		free(sc);
		free(sum);
		free(sm);
		return 0;
	}
	if (mult != NULL)
		for (uint32_t o = 0; o < out; o++)
			for (uint32_t i = 0; i < in; i++)
				w[(size_t) o * in + i] /= mult[i];
	for (uint32_t o = 0; o < out; o++)
	{
		const float *row = w + (size_t) o * in;
		float		amax = 0.0f,
					best = amax;
		double		best_err = INFINITY;
		int32_t		total = 0;

		for (uint32_t i = 0; i < in; i++)
			amax = fmaxf(amax, fabsf(row[i]));
		for (int c = 100; c >= 80 && amax > 0.0f; c--)
		{
			float		s = amax * (float) c / 100.0f / BERT_QW_MAX;
			double		err = 0;

			for (uint32_t i = 0; i < in; i++)
			{
				float		v = fminf(fmaxf(rintf(row[i] / s), -BERT_QW_MAX), BERT_QW_MAX);

				err += ((double) v * s - row[i]) * ((double) v * s - row[i]);
			}
			if (err < best_err)
			{
				best_err = err;
				best = s;
			}
		}
		sc[o] = best;
		for (uint32_t i = 0; i < in; i++)
		{
			int8_t		v = best > 0.0f ? (int8_t) fminf(fmaxf(rintf(row[i] / best), -BERT_QW_MAX), BERT_QW_MAX) : 0;

			q[bcore_q8p_index(o, i, in)] = v;
			total += v;
		}
		sum[o] = (float) total;
	}
	free(w);
	t[0].entry.dtype = BERT_DTYPE_Q8P;
	t[0].data = q;
	owned[0] = q;
	snprintf(name, sizeof(name), "%s_scale", base);
	set_entry(&t[1], name, out, 0, sc);
	owned[1] = sc;
	snprintf(name, sizeof(name), "%s_sum", base);
	set_entry(&t[2], name, out, 0, sum);
	owned[2] = sum;
	if (n == 4)
	{
		snprintf(name, sizeof(name), "%s_smooth", base);
		set_entry(&t[3], name, in, 0, sm);
		owned[3] = sm;
	}
	return n;
}

/* The label section of head: offsets and blob, malloc'd into *offsets and *blob. */
static int
label_strings(const BertHeadSpec *head, size_t blob_len, BertStrings *s,
			  uint32_t **offsets, char **blob)
{
	uint32_t	n = (uint32_t) head->num_labels;

	*offsets = malloc(((size_t) n + 1) * sizeof(uint32_t));
	*blob = malloc(blob_len + 1);
	if (*offsets == NULL || *blob == NULL)
		return 0;
	(*offsets)[0] = 0;
	for (uint32_t i = 0; i < n; i++)
	{
		memcpy(*blob + (*offsets)[i], head->labels[i], head->label_lens[i]);
		(*offsets)[i + 1] = (*offsets)[i] + (uint32_t) head->label_lens[i];
	}
	s->n = n;
	s->offsets = *offsets;
	s->blob = *blob;
	return 1;
}

BertWriteStatus
bcore_model_write(const char *path, const BertModel *base, const BertHeadSpec *head,
				  char *errbuf, size_t errlen)
{
	BertModelParts p;
	BertFileHeader bh;
	const BertTensorEntry *bt;
	BertWriteTensor *t = NULL;
	void	  **owned = NULL;
	uint32_t   *label_offsets = NULL;
	char	   *label_blob = NULL;
	uint32_t	nt = 0;
	size_t		cap = 0;
	size_t		blob_len;
	BertWriteStatus status;
	uint32_t	H = (uint32_t) base->config.hidden;
	int			overlay = head->overlay_base_sha256 != NULL;

	if (base->base == NULL || base->size < sizeof(BertFileHeader))
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT, "the base model is not loaded");
	if (base->overlay)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "the base model is an overlay; write on its own base instead");
	if (overlay && head->quantize)
		return bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
						   "an overlay carries no encoder weights to quantise");
	if ((status = check_head(base, head, &blob_len, errbuf, errlen)) != BERT_WRITE_OK)
		return status;

	/* the base was validated by bcore_model_parse: its offsets are sound */
	memcpy(&bh, base->base, sizeof(bh));
	bt = (const BertTensorEntry *) (base->base + bh.tensors_offset);
	memset(&p, 0, sizeof(p));
	cap = (size_t) bh.n_tensors * 4 + 6;	/* each may get a scale, a sum, a smoothing; a new head */
	t = calloc(cap, sizeof(BertWriteTensor));
	owned = calloc(cap, sizeof(void *));
	if (t == NULL || owned == NULL ||
		!label_strings(head, blob_len, &p.labels, &label_offsets, &label_blob))
	{
		status = bcore_error(errbuf, errlen, BERT_WRITE_NOMEM, "out of memory");
		goto done;
	}

	/* tensors: the base's in its order, minus its head, then the new head */
	for (uint32_t i = 0; i < bh.n_tensors; i++)
	{
		const char *name = bt[i].name;

		if (strncmp(name, "classifier.", 11) == 0 || strncmp(name, "crf.", 4) == 0 ||
			strncmp(name, "tagger.", 7) == 0)
			continue;
		if (strncmp(name, "pooler.", 7) == 0 && !head->keep_pooler)
			continue;
		/* an overlay takes the encoder from its base; only the head is its own */
		if (overlay && strncmp(name, "pooler.", 7) != 0)
			continue;
		t[nt].entry = bt[i];
		t[nt].data = base->base + bt[i].offset;
		if (head->quantize != BERT_QUANT_NONE &&
			(bt[i].dtype == BERT_DTYPE_F32 || bt[i].dtype == BERT_DTYPE_F16P))
		{
			uint32_t	out,
						in;
			int			layer;
			BertLinearId id;
			unsigned	which = head->quantize == BERT_QUANT_Q8 ? Q8_LINEARS : head->q8p_linears;

			if (linear_weight(base, t[nt].data, &layer, &id, &out, &in) && (which & (1u << id)) &&
				!(head->quantize == BERT_QUANT_Q8P && head->q8p_keep != NULL &&
				  head->q8p_keep[layer * BERT_LINEARS + id]))
			{
				int			made,
							nomem = 0;
				float	   *mult = NULL;

				if (in > BERT_QK_MAX)
				{
					status = bcore_error(errbuf, errlen, BERT_WRITE_BAD_INPUT,
										 "tensor '%s' has rows of %u, more than the %d a quantised model allows",
										 bt[i].name, in, BERT_QK_MAX);
					goto done;
				}
				if (head->quantize == BERT_QUANT_Q8)
					made = quantize_entry(&t[nt], &owned[nt], out, in) ? 2 : 0;
				else if (head->q16p != NULL && head->q16p[layer * BERT_LINEARS + id])
					made = q16p_entries(base, &t[nt], &owned[nt], layer, id, out, in);
				else
				{
					/*
					 * k and v take the query's smoothed input only where the
					 * query is Q8P too (the encoder then quantises it once);
					 * else each quantises the input as it is, so its weights
					 * must not be divided by multipliers nothing applies
					 */
					if ((id == BERT_LIN_K || id == BERT_LIN_V) && !writes_q8p(head, layer, BERT_LIN_Q))
						mult = NULL;
					else
						mult = smoothing(base, head, layer, id, in, &nomem);
					made = nomem ? 0 : q8p_entries(base, &t[nt], &owned[nt], layer, id, out, in, mult);
					free(mult);
				}
				if (made == 0)
				{
					status = bcore_error(errbuf, errlen, BERT_WRITE_NOMEM, "out of memory");
					goto done;
				}
				nt += made - 1;
			}
		}
		nt++;
	}
	if (head->kind != BERT_KIND_EMBEDDING)
	{
		uint32_t	k = (uint32_t) head->num_labels;

		set_entry(&t[nt++], "classifier.weight", k,
				  head->tagger ? (uint32_t) bcore_tagger_dim((int) H) : H, head->cls_w);
		set_entry(&t[nt++], "classifier.bias", k, 0, head->cls_b);
		if (head->tagger)
			set_entry(&t[nt++], "tagger.features", BERT_TAGGER_CONFIG_LEN, 0, head->tagger);
		if (head->crf_trans)
		{
			set_entry(&t[nt++], "crf.transitions", k, k, head->crf_trans);
			set_entry(&t[nt++], "crf.start", k, 0, head->crf_start);
			set_entry(&t[nt++], "crf.end", k, 0, head->crf_end);
		}
	}

	/* the base's header, vocabulary and index, with the new head */
	p.header = bh;
	p.header.kind = (uint32_t) head->kind;
	if (head->source)
		bcore_model_set_source(&p.header, head->source);
	if (overlay)
	{
		static const uint32_t no_strings[1] = {0};

		p.vocab.offsets = no_strings;
		p.overlay_base_sha256 = head->overlay_base_sha256;
		p.overlay_base = base;
	}
	else
	{
		p.vocab.n = bh.vocab_size;
		p.vocab.offsets = (const uint32_t *) (base->base + bh.vocab_offset);
		p.vocab.blob = (const char *) (p.vocab.offsets + bh.vocab_size + 1);
		p.hash = (const uint32_t *) (base->base + bh.hash_offset);
		p.hash_slots = bh.hash_slots;
	}
	p.tensors = t;
	p.n_tensors = nt;
	status = bcore_model_file_write(path, &p, NULL, errbuf, errlen);

done:
	if (owned != NULL)
		for (size_t i = 0; i < cap; i++)
			free(owned[i]);
	free(owned);
	free(t);
	free(label_offsets);
	free(label_blob);
	return status;
}
