/*
 * hf_files.c — what the converter's readers share: problems and warnings
 * collected in an HfCtx, paths, reading whole files and parts of files,
 * JSON fields, growing string sections.
 */
#include "hf_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TEXT_FILE	((off_t) 256 << 20)	/* config, vocab, tokenizer files */

static void vformat(char *buf, size_t len, const char *file, const char *fmt, va_list ap)
			__attribute__((format(printf, 4, 0)));

/* "file: " then the message, into buf */
static void
vformat(char *buf, size_t len, const char *file, const char *fmt, va_list ap)
{
	int			n = 0;

	if (len == 0)
		return;
	if (file != NULL)
		n = snprintf(buf, len, "%s: ", file);
	if (n >= 0 && (size_t) n < len)
		vsnprintf(buf + n, len - (size_t) n, fmt, ap);
}

bool
hf_fail(HfCtx *cx, BertConvertStatus status, const char *file, const char *fmt,...)
{
	va_list		ap;

	if (cx->status == BERT_CONVERT_OK)
		cx->status = status;
	if (cx->errbuf == NULL || cx->used + 1 >= cx->errlen)
		return false;
	if (cx->used > 0)
		cx->errbuf[cx->used++] = '\n';
	va_start(ap, fmt);
	vformat(cx->errbuf + cx->used, cx->errlen - cx->used, file, fmt, ap);
	va_end(ap);
	cx->used += strlen(cx->errbuf + cx->used);
	return false;
}

void
hf_warn(HfCtx *cx, const char *file, const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;

	if (cx->warn == NULL)
		return;
	va_start(ap, fmt);
	vformat(msg, sizeof(msg), file, fmt, ap);
	va_end(ap);
	cx->warn(cx->warn_arg, msg);
}

void *
hf_alloc(HfCtx *cx, size_t n, size_t size)
{
	void	   *p = calloc(n > 0 ? n : 1, size > 0 ? size : 1);

	if (p == NULL)
	{
		if (n == 1)
			hf_fail(cx, BERT_CONVERT_NOMEM, NULL, "out of memory (%zu bytes)", size);
		else
			hf_fail(cx, BERT_CONVERT_NOMEM, NULL, "out of memory (%zu x %zu bytes)", n, size);
	}
	return p;
}

void *
hf_realloc(HfCtx *cx, void *old, size_t size)
{
	void	   *p = realloc(old, size > 0 ? size : 1);

	if (p == NULL)
		hf_fail(cx, BERT_CONVERT_NOMEM, NULL, "out of memory (%zu bytes)", size);
	return p;
}

char *
hf_strdup(HfCtx *cx, const char *s)
{
	size_t		len = strlen(s);
	char	   *p = hf_alloc(cx, 1, len + 1);

	if (p != NULL)
		memcpy(p, s, len + 1);
	return p;
}

char *
hf_path_join(HfCtx *cx, const char *dir, const char *name)
{
	size_t		dlen = strlen(dir);
	size_t		nlen = strlen(name);
	char	   *p = hf_alloc(cx, 1, dlen + nlen + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, dlen);
	if (dlen > 0 && dir[dlen - 1] != '/')
		p[dlen++] = '/';
	memcpy(p + dlen, name, nlen + 1);
	return p;
}

bool
hf_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool
hf_read_at(HfCtx *cx, int fd, const char *path, void *buf, size_t len, uint64_t off)
{
	char	   *p = buf;

	while (len > 0)
	{
		ssize_t		n;

		if (cx->cancel != NULL && cx->cancel(cx->cancel_arg))
			return hf_fail(cx, BERT_CONVERT_CANCELLED, path, "cancelled");
		n = pread(fd, p, len, (off_t) off);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "read failed at byte %" PRIu64 ": %s",
						   off, strerror(errno));
		}
		if (n == 0)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
						   "unexpected end of file at byte %" PRIu64, off);
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return true;
}

bool
hf_read_file(HfCtx *cx, const char *path, bool required, char **bufp, size_t *len)
{
	int			fd;
	struct stat st;
	char	   *buf;
	bool		ok;

	*bufp = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
	{
		if (errno == ENOENT && !required)
			return true;
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "cannot open: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0)
		ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "not a regular file");
	else if (st.st_size > MAX_TEXT_FILE)
		ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "file is too large (%lld bytes)",
					 (long long) st.st_size);
	else if ((buf = hf_alloc(cx, 1, (size_t) st.st_size + 1)) == NULL)
		ok = false;
	else if (!hf_read_at(cx, fd, path, buf, (size_t) st.st_size, 0))
	{
		free(buf);
		ok = false;
	}
	else
	{
		buf[st.st_size] = '\0';
		*bufp = buf;
		*len = (size_t) st.st_size;
		ok = true;
	}
	close(fd);
	return ok;
}

static bool
load_json(HfCtx *cx, const char *path, bool required, bool want_array, json_t **rootp)
{
	size_t		len;
	char	   *buf;
	json_t	   *root;
	json_error_t err;

	*rootp = NULL;
	if (!hf_read_file(cx, path, required, &buf, &len))
		return false;
	if (buf == NULL)
		return true;
	root = json_loadb(buf, len, 0, &err);
	free(buf);
	if (root == NULL)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "invalid JSON at line %d, column %d: %s",
					   err.line, err.column, err.text);
	if (want_array ? !json_is_array(root) : !json_is_object(root))
	{
		json_decref(root);
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "top level is not a JSON %s",
					   want_array ? "array" : "object");
	}
	*rootp = root;
	return true;
}

bool
hf_read_json(HfCtx *cx, const char *path, bool required, bool want_array,
			 HfJsonReader read, void *arg)
{
	json_t	   *root;
	bool		ok;

	if (!load_json(cx, path, required, want_array, &root))
		return false;
	if (root == NULL)
		return true;
	ok = read(cx, root, path, arg);
	json_decref(root);
	return ok;
}

bool
hf_json_uint(HfCtx *cx, json_t *obj, const char *path, const char *key,
			 uint32_t min, uint32_t max, uint32_t *out)
{
	json_t	   *v = json_object_get(obj, key);
	json_int_t	x;

	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "%s must be an integer", key);
	x = json_integer_value(v);
	if (x < (json_int_t) min || x > (json_int_t) max)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "%s is %lld, expected %u to %u",
					   key, (long long) x, min, max);
	*out = (uint32_t) x;
	return true;
}

bool
hf_json_str(HfCtx *cx, json_t *obj, const char *path, const char *key, const char **out)
{
	json_t	   *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "%s must be a string", key);
	*out = json_string_value(v);
	return true;
}

bool
hf_json_bool(HfCtx *cx, json_t *obj, const char *path, const char *key, int *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL)
		return true;
	if (!json_is_boolean(v))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "%s must be true or false", key);
	*out = json_is_true(v) ? 1 : 0;
	return true;
}

bool
hf_strings_init(HfCtx *cx, HfStrings *t)
{
	memset(t, 0, sizeof(*t));
	t->cap = 16;
	t->offsets = hf_alloc(cx, t->cap, sizeof(uint32_t));
	return t->offsets != NULL;
}

bool
hf_strings_add(HfCtx *cx, HfStrings *t, const char *file, const char *s, size_t len)
{
	if (t->n + 1 >= t->cap)
	{
		uint32_t   *p = hf_realloc(cx, t->offsets, (size_t) t->cap * 2 * sizeof(uint32_t));

		if (p == NULL)
			return false;
		t->offsets = p;
		t->cap *= 2;
	}
	if (t->blob_len + len > UINT32_MAX)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, file,
					   "strings too long in total (more than 4 GB)");
	if (t->blob_len + len > t->blob_cap)
	{
		size_t		cap = (t->blob_len + len) * 2 + 4096;
		char	   *p = hf_realloc(cx, t->blob, cap);

		if (p == NULL)
			return false;
		t->blob = p;
		t->blob_cap = cap;
	}
	memcpy(t->blob + t->blob_len, s, len);
	t->blob_len += len;
	t->n++;
	t->offsets[t->n] = (uint32_t) t->blob_len;
	return true;
}

BertStrings
hf_strings_view(const HfStrings *t)
{
	BertStrings s;

	s.n = t->n;
	s.offsets = t->offsets;
	s.blob = t->blob;
	return s;
}

void
hf_strings_free(HfStrings *t)
{
	free(t->offsets);
	free(t->blob);
	memset(t, 0, sizeof(*t));
}
