/*
 * safetensors.c — the weights of a checkpoint: one .safetensors file, an
 * 8-byte little-endian header length, a JSON header naming every tensor's
 * dtype, shape and byte range, then the data.  The header is checked
 * against itself and the file size before any data is read; the data is
 * then read in pieces (hf_read_tensor), never mapped or loaded whole.
 */
#include "hf_checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER	((uint64_t) 100 << 20)	/* safetensors' own limit */

static const struct
{
	const char *name;
	HfDType		dtype;
	size_t		size;
}			dtypes[] =
{
	{"F32", HF_F32, 4}, {"F16", HF_F16, 2}, {"BF16", HF_BF16, 2},
	{"F64", HF_OTHER, 8}, {"I64", HF_OTHER, 8}, {"U64", HF_OTHER, 8},
	{"I32", HF_OTHER, 4}, {"U32", HF_OTHER, 4}, {"I16", HF_OTHER, 2},
	{"U16", HF_OTHER, 2}, {"I8", HF_OTHER, 1}, {"U8", HF_OTHER, 1},
	{"BOOL", HF_OTHER, 1}, {"F8_E4M3", HF_OTHER, 1}, {"F8_E5M2", HF_OTHER, 1},
};

/* The Hugging Face BertModel name: no "bert." prefix, old LayerNorm names. */
static char *
canonical_name(HfCtx *cx, const char *name)
{
	size_t		len;
	char	   *c;

	if (strncmp(name, "bert.", 5) == 0)
		name += 5;
	len = strlen(name);
	if ((c = hf_alloc(cx, 1, len + 2)) == NULL)
		return NULL;
	memcpy(c, name, len + 1);
	if (len >= 16 && strcmp(c + len - 16, ".LayerNorm.gamma") == 0)
		strcpy(c + len - 5, "weight");
	else if (len >= 15 && strcmp(c + len - 15, ".LayerNorm.beta") == 0)
		strcpy(c + len - 4, "bias");
	return c;
}

/* The weights: model.safetensors, else the only *.safetensors file. */
static bool
find_file(HfCtx *cx, const char *dir, char **found)
{
	char	   *path = hf_path_join(cx, dir, "model.safetensors");
	DIR		   *d;
	struct dirent *de;
	int			count = 0;
	bool		nomem = false;

	*found = NULL;
	if (path == NULL)
		return false;
	if (hf_file_exists(path))
	{
		*found = path;
		return true;
	}
	free(path);

	d = opendir(dir);
	if (d == NULL)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, dir, "cannot open directory: %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		if (len <= 12 || strcmp(de->d_name + len - 12, ".safetensors") != 0)
			continue;
		if ((path = hf_path_join(cx, dir, de->d_name)) == NULL)
		{
			nomem = true;
			break;
		}
		if (hf_file_exists(path) && count++ == 0)
			*found = path;
		else
			free(path);
	}
	closedir(d);
	if (nomem)
		return false;
	if (count == 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, dir,
					   "no .safetensors file (pytorch_model.bin is not read; save the "
					   "model with safetensors first)");
	if (count > 1)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, dir,
					   "%d .safetensors files and no model.safetensors; sharded "
					   "checkpoints are not supported", count);
	return true;
}

/* One entry of the header: dtype, shape and data_offsets, checked. */
static bool
read_entry(HfCtx *cx, HfWeights *w, HfTensor *t, const char *key, json_t *value)
{
	const char *p = w->path;
	json_t	   *jshape;
	json_t	   *joff;
	const char *dt;
	uint64_t	count = 1;
	uint64_t	bytes;

	if ((t->name = hf_strdup(cx, key)) == NULL ||
		(t->canon = canonical_name(cx, key)) == NULL)
		return false;
	if (!json_is_object(value))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "header entry '%s' is not an object", key);

	dt = json_string_value(json_object_get(value, "dtype"));
	if (dt == NULL)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' has no dtype", key);
	if ((t->dtype_name = hf_strdup(cx, dt)) == NULL)
		return false;
	t->dtype = HF_OTHER;
	for (size_t k = 0; k < sizeof(dtypes) / sizeof(dtypes[0]); k++)
		if (strcmp(dt, dtypes[k].name) == 0)
		{
			t->dtype = dtypes[k].dtype;
			t->elem_size = dtypes[k].size;
		}

	jshape = json_object_get(value, "shape");
	if (!json_is_array(jshape) || json_array_size(jshape) > 64)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' has no valid shape", key);
	t->ndim = (uint32_t) json_array_size(jshape);
	if ((t->shape = hf_alloc(cx, t->ndim, sizeof(uint64_t))) == NULL)
		return false;
	for (uint32_t d = 0; d < t->ndim; d++)
	{
		json_t	   *jd = json_array_get(jshape, d);

		if (!json_is_integer(jd) || json_integer_value(jd) < 0)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' has a shape entry that is "
						   "not a non-negative integer", key);
		t->shape[d] = (uint64_t) json_integer_value(jd);
		if (__builtin_mul_overflow(count, t->shape[d], &count))
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
						   "tensor '%s' has an impossibly large shape", key);
	}

	joff = json_object_get(value, "data_offsets");
	if (!json_is_array(joff) || json_array_size(joff) != 2 ||
		!json_is_integer(json_array_get(joff, 0)) ||
		!json_is_integer(json_array_get(joff, 1)) ||
		json_integer_value(json_array_get(joff, 0)) < 0 ||
		json_integer_value(json_array_get(joff, 1)) < 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					   "tensor '%s' has no valid data_offsets [begin, end]", key);
	t->begin = (uint64_t) json_integer_value(json_array_get(joff, 0));
	t->end = (uint64_t) json_integer_value(json_array_get(joff, 1));
	if (t->begin > t->end)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' has data_offsets [%" PRIu64
					   ", %" PRIu64 "] that end before they begin", key, t->begin, t->end);
	if (t->end > w->data_size)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' data [%" PRIu64 ", %" PRIu64
					   ") extends past the end of the data section (%" PRIu64
					   " bytes); the file is truncated", key, t->begin, t->end, w->data_size);
	if (t->elem_size > 0 &&
		(__builtin_mul_overflow(count, (uint64_t) t->elem_size, &bytes) ||
		 bytes != t->end - t->begin))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "tensor '%s' has %" PRIu64 " bytes of "
					   "data, but its dtype %s and shape need %" PRIu64 " elements of %zu bytes",
					   key, t->end - t->begin, dt, count, t->elem_size);
	return true;
}

static bool
read_header(HfCtx *cx, HfWeights *w)
{
	struct stat sb;
	unsigned char lenbuf[8];
	uint64_t	hlen = 0;
	char	   *text;
	json_t	   *root;
	json_error_t err;
	const char *key;
	json_t	   *value;
	bool		ok = true;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer (refused below) */
	w->fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (w->fd < 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "cannot open: %s", strerror(errno));
	if (fstat(w->fd, &sb) != 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "not a regular file");
	w->file_size = (uint64_t) sb.st_size;
	if (w->file_size < 8)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path,
					   "file is %" PRIu64 " bytes, too short for a safetensors header", w->file_size);
	if (!hf_read_at(cx, w->fd, w->path, lenbuf, 8, 0))
		return false;
	for (int k = 7; k >= 0; k--)
		hlen = (hlen << 8) | lenbuf[k];
	if (hlen < 2 || hlen > MAX_HEADER)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path,
					   "header length %" PRIu64 " is invalid; not a safetensors file?", hlen);
	if (hlen > w->file_size - 8)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "header length %" PRIu64
					   " exceeds the file size %" PRIu64 "; the file is truncated",
					   hlen, w->file_size);
	w->data_start = 8 + hlen;
	w->data_size = w->file_size - w->data_start;

	if ((text = hf_alloc(cx, 1, (size_t) hlen)) == NULL)
		return false;
	if (!hf_read_at(cx, w->fd, w->path, text, (size_t) hlen, 8))
	{
		free(text);
		return false;
	}
	root = json_loadb(text, (size_t) hlen, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (root == NULL)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path,
					   "header is not valid JSON: %s (line %d, column %d)",
					   err.text, err.line, err.column);
	if (!json_is_object(root))
		ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "header is not a JSON object");
	else if ((w->t = hf_alloc(cx, json_object_size(root), sizeof(HfTensor))) == NULL)
		ok = false;
	json_object_foreach(root, key, value)
	{
		if (!ok)
			break;
		if (strcmp(key, "__metadata__") == 0)
			continue;
		ok = read_entry(cx, w, &w->t[w->n++], key, value);
	}
	json_decref(root);
	return ok;
}

bool
hf_open_weights(HfCtx *cx, HfWeights *w, const char *dir)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	return find_file(cx, dir, &w->path) && read_header(cx, w);
}

void
hf_close_weights(HfWeights *w)
{
	for (uint32_t i = 0; i < w->n; i++)
	{
		free(w->t[i].name);
		free(w->t[i].canon);
		free(w->t[i].dtype_name);
		free(w->t[i].shape);
	}
	free(w->t);
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

HfTensor *
hf_find_tensor(HfWeights *w, const char *canon)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (strcmp(w->t[i].canon, canon) == 0)
			return &w->t[i];
	return NULL;
}

bool
hf_read_tensor(HfCtx *cx, const HfWeights *w, const HfTensor *t, uint64_t off,
			   void *buf, size_t len)
{
	return hf_read_at(cx, w->fd, w->path, buf, len, w->data_start + t->begin + off);
}
