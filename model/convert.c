/*
 * convert.c — bert-convert: turn a Hugging Face BERT checkpoint directory
 * into one bert model file (the layout is in src/core/model_format.h).
 *
 * Reads config.json, one *.safetensors file (F32, F16 or BF16 tensors),
 * tokenizer.json or vocab.txt, and when present tokenizer_config.json and the
 * sentence-transformers files (modules.json, the Pooling module's
 * config.json, sentence_bert_config.json).
 *
 * Everything is read and checked before the output is created.  The output
 * is written to OUT.tmp.PID, synced and renamed over OUT, so a failed or
 * interrupted run never leaves a partial model under the final name.
 * Tensors are converted in chunks, so memory stays small whatever the model.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "model_format.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bert-convert writes the host's byte order; the file format is little-endian"
#endif

#define PROGNAME "bert-convert"

/* Limits that keep every size computation far from overflow. */
#define MAX_DIM			(1u << 20)
#define MAX_VOCAB		(1u << 24)
#define MAX_LABELS		(1u << 16)
#define MAX_TEXT_FILE	((off_t) 256 << 20)	/* config, vocab, tokenizer files */
#define MAX_ST_HEADER	((uint64_t) 100 << 20)	/* safetensors' own limit */
#define CHUNK_ELEMS		((size_t) 1 << 18)	/* elements converted per step */

static bool quiet = false;

/* Name of the temporary output while it exists, for cleanup on any exit. */
static char *tmp_path = NULL;

static void
remove_tmp(void)
{
	if (tmp_path != NULL)
	{
		unlink(tmp_path);
		free(tmp_path);
		tmp_path = NULL;
	}
}

static void
on_signal(int sig)
{
	/* unlink is async-signal-safe; free is not, and we are leaving anyway */
	if (tmp_path != NULL)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
vmessage(const char *prefix, const char *file, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", PROGNAME);
	if (prefix != NULL)
		fputs(prefix, stderr);
	if (file != NULL)
		fprintf(stderr, "%s: ", file);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Report a problem with file (may be NULL) and exit with status 1. */
static void die(const char *file, const char *fmt,...)
			__attribute__((noreturn, format(printf, 2, 3)));

static void
die(const char *file, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vmessage(NULL, file, fmt, ap);
	va_end(ap);
	remove_tmp();
	exit(1);
}

/* Report a problem but carry on, so that one run lists all of them. */
static void report(const char *file, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

static void
report(const char *file, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vmessage(NULL, file, fmt, ap);
	va_end(ap);
}

static void warn(const char *file, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

static void
warn(const char *file, const char *fmt,...)
{
	va_list		ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vmessage("warning: ", file, fmt, ap);
	va_end(ap);
}

static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		die(NULL, "out of memory (%zu bytes)", size);
	return p;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n > 0 ? n : 1, size > 0 ? size : 1);

	if (p == NULL)
		die(NULL, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

static void *
xrealloc(void *old, size_t size)
{
	void	   *p = realloc(old, size > 0 ? size : 1);

	if (p == NULL)
		die(NULL, "out of memory (%zu bytes)", size);
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *p = xmalloc(len + 1);

	memcpy(p, s, len + 1);
	return p;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t		dlen = strlen(dir);
	size_t		nlen = strlen(name);
	char	   *p = xmalloc(dlen + nlen + 2);

	memcpy(p, dir, dlen);
	if (dlen > 0 && dir[dlen - 1] != '/')
		p[dlen++] = '/';
	memcpy(p + dlen, name, nlen + 1);
	return p;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static uint64_t
align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* Read exactly len bytes at offset off, or die naming path. */
static void
read_exact(int fd, const char *path, void *buf, size_t len, uint64_t off)
{
	char	   *p = buf;

	while (len > 0)
	{
		ssize_t		n = pread(fd, p, len, (off_t) off);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			die(path, "read failed at byte %" PRIu64 ": %s", off, strerror(errno));
		}
		if (n == 0)
			die(path, "unexpected end of file at byte %" PRIu64, off);
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
}

/* Whole small file into memory; NULL if it does not exist and !required. */
static char *
read_file(const char *path, size_t *len, bool required)
{
	int			fd;
	struct stat st;
	char	   *buf;

	fd = open(path, O_RDONLY);
	if (fd < 0)
	{
		if (errno == ENOENT && !required)
			return NULL;
		die(path, "cannot open: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0)
		die(path, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(path, "not a regular file");
	if (st.st_size > MAX_TEXT_FILE)
		die(path, "file is too large (%lld bytes)", (long long) st.st_size);
	buf = xmalloc((size_t) st.st_size + 1);
	read_exact(fd, path, buf, (size_t) st.st_size, 0);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t) st.st_size;
	return buf;
}

/* Parse a JSON file; NULL if it does not exist and !required. */
static json_t *
load_json(const char *path, bool required)
{
	size_t		len;
	char	   *buf = read_file(path, &len, required);
	json_t	   *root;
	json_error_t err;

	if (buf == NULL)
		return NULL;
	root = json_loadb(buf, len, 0, &err);
	free(buf);
	if (root == NULL)
		die(path, "invalid JSON at line %d, column %d: %s",
			err.line, err.column, err.text);
	if (!json_is_object(root))
		die(path, "top level is not a JSON object");
	return root;
}

/* Is s (len bytes) well-formed UTF-8 without NUL bytes? */
static bool
valid_utf8(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n;
		uint32_t	cp;

		if (c == 0)
			return false;
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
			return false;
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * fp16 and bf16 to fp32, exact, including subnormals, infinities and NaNs
 * (NaN payloads are kept).
 */
static float
bits_to_float(uint32_t bits)
{
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static float
bf16_to_float(uint16_t b)
{
	/* bf16 is the top half of a float */
	return bits_to_float((uint32_t) b << 16);
}

/* ---------------------------------------------------------------------------
 * String tables: the vocab and labels sections.
 */
typedef struct StrTable
{
	uint32_t	n;
	uint32_t	cap;
	uint32_t   *offsets;		/* n + 1 entries */
	char	   *blob;
	size_t		blob_len;
	size_t		blob_cap;
} StrTable;

static void
strtab_add(StrTable *t, const char *file, const char *s, size_t len)
{
	if (t->n + 1 >= t->cap)
	{
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->offsets = xrealloc(t->offsets, (size_t) t->cap * sizeof(uint32_t));
	}
	if (t->blob_len + len > UINT32_MAX)
		die(file, "strings too long in total (more than 4 GB)");
	if (t->blob_len + len > t->blob_cap)
	{
		t->blob_cap = (t->blob_len + len) * 2 + 4096;
		t->blob = xrealloc(t->blob, t->blob_cap);
	}
	if (t->n == 0)
		t->offsets[0] = 0;
	memcpy(t->blob + t->blob_len, s, len);
	t->blob_len += len;
	t->n++;
	t->offsets[t->n] = (uint32_t) t->blob_len;
}

static void
strtab_init(StrTable *t)
{
	memset(t, 0, sizeof(*t));
	t->cap = 16;
	t->offsets = xcalloc(t->cap, sizeof(uint32_t));
}

static void
strtab_free(StrTable *t)
{
	free(t->offsets);
	free(t->blob);
}

static const char *
strtab_get(const StrTable *t, uint32_t i, size_t *len)
{
	*len = t->offsets[i + 1] - t->offsets[i];
	return t->blob + t->offsets[i];
}

static uint64_t
strtab_bytes(const StrTable *t)
{
	return (uint64_t) (t->n + 1) * sizeof(uint32_t) + t->blob_len;
}

/* ---------------------------------------------------------------------------
 * The vocabulary hash index: slot = id + 1, linear probing on bcore_hash.
 */
typedef struct VocabIndex
{
	uint32_t   *slots;
	uint32_t	n_slots;
	uint32_t	n_dups;			/* tokens that appear more than once */
	uint32_t	first_dup;		/* id of the first such repetition */
} VocabIndex;

static void
index_build(VocabIndex *ix, const StrTable *v)
{
	uint32_t	n_slots = 1;

	while (n_slots < 2 * v->n)
		n_slots *= 2;
	ix->n_slots = n_slots;
	ix->slots = xcalloc(n_slots, sizeof(uint32_t));
	ix->n_dups = 0;
	ix->first_dup = 0;

	for (uint32_t id = 0; id < v->n; id++)
	{
		size_t		len;
		const char *s = strtab_get(v, id, &len);
		uint32_t	pos = bcore_hash(s, len) & (n_slots - 1);

		for (;;)
		{
			uint32_t	slot = ix->slots[pos];
			size_t		olen;
			const char *o;

			if (slot == 0)
			{
				ix->slots[pos] = id + 1;
				break;
			}
			o = strtab_get(v, slot - 1, &olen);
			if (olen == len && memcmp(o, s, len) == 0)
			{
				/* a repeated line: the later id wins, as in Hugging Face */
				if (ix->n_dups++ == 0)
					ix->first_dup = id;
				ix->slots[pos] = id + 1;
				break;
			}
			pos = (pos + 1) & (n_slots - 1);
		}
	}
}

static int64_t
index_lookup(const VocabIndex *ix, const StrTable *v, const char *s)
{
	size_t		len = strlen(s);
	uint32_t	pos = bcore_hash(s, len) & (ix->n_slots - 1);

	for (;;)
	{
		uint32_t	slot = ix->slots[pos];
		size_t		olen;
		const char *o;

		if (slot == 0)
			return -1;
		o = strtab_get(v, slot - 1, &olen);
		if (olen == len && memcmp(o, s, len) == 0)
			return (int64_t) slot - 1;
		pos = (pos + 1) & (ix->n_slots - 1);
	}
}

/* ---------------------------------------------------------------------------
 * config.json
 */
typedef struct HfConfig
{
	char	   *path;
	BertModelKind kind;
	char	   *arch;			/* for messages */
	uint32_t	n_layers;
	uint32_t	hidden;
	uint32_t	n_heads;
	uint32_t	ffn;
	uint32_t	max_positions;
	uint32_t	type_vocab;
	uint32_t	vocab_size;
	BertActivation activation;
	float		layer_norm_eps;
	StrTable	labels;
	char	   *name_or_path;	/* _name_or_path, may be NULL */
} HfConfig;

/* An integer field in [min, max], def when absent (HF BertConfig defaults). */
static uint32_t
json_uint_field(json_t *obj, const char *path, const char *key,
				uint32_t def, uint32_t min, uint32_t max)
{
	json_t	   *v = json_object_get(obj, key);
	json_int_t	x;

	if (v == NULL || json_is_null(v))
		return def;
	if (!json_is_integer(v))
		die(path, "%s must be an integer", key);
	x = json_integer_value(v);
	if (x < (json_int_t) min || x > (json_int_t) max)
		die(path, "%s is %lld, expected %u to %u", key, (long long) x, min, max);
	return (uint32_t) x;
}

/* A string field, NULL when absent or null. */
static const char *
json_str_field(json_t *obj, const char *path, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		die(path, "%s must be a string", key);
	return json_string_value(v);
}

/* A boolean field into *out (unchanged when absent). */
static void
json_bool_field(json_t *obj, const char *path, const char *key, int *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL)
		return;
	if (!json_is_boolean(v))
		die(path, "%s must be true or false", key);
	*out = json_is_true(v) ? 1 : 0;
}

static void
read_labels(HfConfig *cfg, json_t *root)
{
	json_t	   *id2label = json_object_get(root, "id2label");
	size_t		n;
	const char **names;
	const char *key;
	json_t	   *value;

	if (id2label == NULL || json_is_null(id2label))
		die(cfg->path, "id2label is required for %s", cfg->arch);
	if (!json_is_object(id2label))
		die(cfg->path, "id2label must be an object");
	n = json_object_size(id2label);
	if (n == 0 || n > MAX_LABELS)
		die(cfg->path, "id2label has %zu entries, expected 1 to %u", n, MAX_LABELS);

	names = xcalloc(n, sizeof(*names));
	json_object_foreach(id2label, key, value)
	{
		char	   *end;
		unsigned long id;

		errno = 0;
		id = strtoul(key, &end, 10);
		if (key[0] < '0' || key[0] > '9' || *end != '\0' || errno != 0)
			die(cfg->path, "id2label key \"%s\" is not a label id", key);
		if (id >= n)
			die(cfg->path, "id2label id %lu is out of range: the %zu labels must have ids 0 to %zu",
				id, n, n - 1);
		if (names[id] != NULL)
			die(cfg->path, "id2label id %lu appears twice", id);
		if (!json_is_string(value))
			die(cfg->path, "id2label[\"%s\"] must be a string", key);
		names[id] = json_string_value(value);
	}
	strtab_init(&cfg->labels);
	for (size_t i = 0; i < n; i++)
		strtab_add(&cfg->labels, cfg->path, names[i], strlen(names[i]));
	free(names);

	/* num_labels is normally derived from id2label, but check it if given */
	if (json_object_get(root, "num_labels") != NULL &&
		json_uint_field(root, cfg->path, "num_labels", 0, 0, MAX_LABELS) != n)
		die(cfg->path, "num_labels does not match the %zu entries of id2label", n);
}

static void
read_config(HfConfig *cfg, const char *dir)
{
	json_t	   *root;
	json_t	   *archs;
	json_t	   *eps;
	const char *s;
	double		eps_value;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path_join(dir, "config.json");
	root = load_json(cfg->path, true);

	/* the architecture decides what the model outputs */
	archs = json_object_get(root, "architectures");
	cfg->arch = NULL;
	if (archs != NULL && !json_is_null(archs))
	{
		if (!json_is_array(archs) || json_array_size(archs) == 0 ||
			!json_is_string(json_array_get(archs, 0)))
			die(cfg->path, "architectures must be a non-empty array of strings");
		if (json_array_size(archs) > 1)
			die(cfg->path, "architectures lists %zu classes, expected one",
				json_array_size(archs));
		cfg->arch = xstrdup(json_string_value(json_array_get(archs, 0)));
	}
	else
	{
		s = json_str_field(root, cfg->path, "model_type");
		if (s != NULL && strcmp(s, "bert") != 0)
			die(cfg->path, "model_type '%s' is not supported (only 'bert')", s);
		cfg->arch = xstrdup("BertModel");
	}
	if (strcmp(cfg->arch, "BertModel") == 0 ||
		strcmp(cfg->arch, "BertForMaskedLM") == 0 ||
		strcmp(cfg->arch, "BertForPreTraining") == 0)
		cfg->kind = BERT_KIND_EMBEDDING;	/* the LM heads are dropped */
	else if (strcmp(cfg->arch, "BertForTokenClassification") == 0)
		cfg->kind = BERT_KIND_TOKEN_CLASSIFICATION;
	else if (strcmp(cfg->arch, "BertForSequenceClassification") == 0)
		cfg->kind = BERT_KIND_SEQUENCE_CLASSIFICATION;
	else
		die(cfg->path, "architecture '%s' is not supported (expected BertModel, "
			"BertForTokenClassification or BertForSequenceClassification)",
			cfg->arch);

	cfg->n_layers = json_uint_field(root, cfg->path, "num_hidden_layers", 12, 1, 1024);
	cfg->hidden = json_uint_field(root, cfg->path, "hidden_size", 768, 1, MAX_DIM);
	cfg->n_heads = json_uint_field(root, cfg->path, "num_attention_heads", 12, 1, MAX_DIM);
	cfg->ffn = json_uint_field(root, cfg->path, "intermediate_size", 3072, 1, MAX_DIM);
	cfg->max_positions = json_uint_field(root, cfg->path, "max_position_embeddings",
										 512, 2, MAX_DIM);
	cfg->type_vocab = json_uint_field(root, cfg->path, "type_vocab_size", 2, 1, MAX_DIM);
	cfg->vocab_size = json_uint_field(root, cfg->path, "vocab_size", 30522, 5, MAX_VOCAB);
	if (cfg->hidden % cfg->n_heads != 0)
		die(cfg->path, "hidden_size %u is not a multiple of num_attention_heads %u",
			cfg->hidden, cfg->n_heads);

	s = json_str_field(root, cfg->path, "hidden_act");
	if (s == NULL || strcmp(s, "gelu") == 0)
		cfg->activation = BERT_ACT_GELU;
	else if (strcmp(s, "gelu_new") == 0 || strcmp(s, "gelu_pytorch_tanh") == 0 ||
			 strcmp(s, "gelu_fast") == 0)
		cfg->activation = BERT_ACT_GELU_TANH;	/* all three are the tanh form */
	else if (strcmp(s, "relu") == 0)
		cfg->activation = BERT_ACT_RELU;
	else
		die(cfg->path, "hidden_act '%s' is not supported (expected gelu, gelu_new, "
			"gelu_pytorch_tanh or relu)", s);

	eps = json_object_get(root, "layer_norm_eps");
	if (eps == NULL || json_is_null(eps))
		eps_value = 1e-12;
	else if (json_is_number(eps))
		eps_value = json_number_value(eps);
	else
		die(cfg->path, "layer_norm_eps must be a number");
	if (!(eps_value > 0.0 && eps_value < 1.0))
		die(cfg->path, "layer_norm_eps %g is out of range (0, 1)", eps_value);
	cfg->layer_norm_eps = (float) eps_value;

	s = json_str_field(root, cfg->path, "position_embedding_type");
	if (s != NULL && strcmp(s, "absolute") != 0)
		die(cfg->path, "position_embedding_type '%s' is not supported (only 'absolute')", s);
	if (json_is_true(json_object_get(root, "is_decoder")))
		die(cfg->path, "is_decoder is true; only encoder models are supported");

	s = json_str_field(root, cfg->path, "_name_or_path");
	cfg->name_or_path = s ? xstrdup(s) : NULL;

	if (cfg->kind != BERT_KIND_EMBEDDING)
		read_labels(cfg, root);
	else
		strtab_init(&cfg->labels);

	json_decref(root);
}

static void
free_config(HfConfig *cfg)
{
	free(cfg->path);
	free(cfg->arch);
	free(cfg->name_or_path);
	strtab_free(&cfg->labels);
}

/* ---------------------------------------------------------------------------
 * Tokenizer settings and vocabulary.
 */
enum
{
	SPECIAL_UNK, SPECIAL_CLS, SPECIAL_SEP, SPECIAL_PAD, N_SPECIAL
};

static const char *const special_keys[N_SPECIAL] = {
	"unk_token", "cls_token", "sep_token", "pad_token"
};

typedef struct TokSettings
{
	int			lower_case;
	int			strip_accents;	/* -1: same as lower_case */
	int			chinese_chars;
	uint32_t	max_chars;
	char	   *special[N_SPECIAL];
	char	   *vocab_path;		/* the file the vocabulary came from */
} TokSettings;

static void
set_special(TokSettings *ts, int which, const char *s)
{
	free(ts->special[which]);
	ts->special[which] = xstrdup(s);
}

/* A special token in tokenizer_config.json: a string or {"content": ...}. */
static void
read_special(TokSettings *ts, json_t *root, const char *path, int which)
{
	json_t	   *v = json_object_get(root, special_keys[which]);

	if (v == NULL || json_is_null(v))
		return;
	if (json_is_object(v))
		v = json_object_get(v, "content");
	if (!json_is_string(v))
		die(path, "%s must be a string or an object with a string \"content\"",
			special_keys[which]);
	set_special(ts, which, json_string_value(v));
}

static void
read_vocab_txt(StrTable *vocab, const char *path)
{
	size_t		len;
	char	   *buf = read_file(path, &len, true);
	size_t		start = 0;
	uint32_t	line = 0;

	strtab_init(vocab);
	while (start < len)
	{
		char	   *nl = memchr(buf + start, '\n', len - start);
		size_t		end = nl ? (size_t) (nl - buf) : len;
		size_t		tlen = end - start;

		line++;
		if (tlen > 0 && buf[start + tlen - 1] == '\r')
			tlen--;
		if (!valid_utf8((unsigned char *) buf + start, tlen))
			die(path, "line %u is not valid UTF-8 text", line);
		if (vocab->n >= MAX_VOCAB)
			die(path, "more than %u tokens", MAX_VOCAB);
		strtab_add(vocab, path, buf + start, tlen);
		start = end + 1;
	}
	free(buf);
}

static void
read_tokenizer_json(StrTable *vocab, TokSettings *ts, const char *path)
{
	json_t	   *root = load_json(path, true);
	json_t	   *model = json_object_get(root, "model");
	json_t	   *norm = json_object_get(root, "normalizer");
	json_t	   *jv;
	const char *s;
	const char *key;
	json_t	   *value;
	const char **by_id;
	size_t		n;

	if (!json_is_object(model))
		die(path, "\"model\" is missing or not an object");
	s = json_str_field(model, path, "type");
	if (s != NULL && strcmp(s, "WordPiece") != 0)
		die(path, "model type '%s' is not supported (only WordPiece)", s);
	s = json_str_field(model, path, "continuing_subword_prefix");
	if (s != NULL && strcmp(s, "##") != 0)
		die(path, "continuing_subword_prefix '%s' is not supported (only '##')", s);
	s = json_str_field(model, path, "unk_token");
	if (s != NULL)
		set_special(ts, SPECIAL_UNK, s);
	ts->max_chars = json_uint_field(model, path, "max_input_chars_per_word",
									ts->max_chars, 1, UINT32_MAX);

	if (norm != NULL && !json_is_null(norm))
	{
		s = json_is_object(norm) ? json_str_field(norm, path, "type") : NULL;
		if (s == NULL || strcmp(s, "BertNormalizer") != 0)
			warn(path, "normalizer '%s' is not BertNormalizer; using BERT's defaults, "
				 "so tokens may differ", s ? s : "?");
		else
		{
			json_bool_field(norm, path, "lowercase", &ts->lower_case);
			json_bool_field(norm, path, "handle_chinese_chars", &ts->chinese_chars);
			jv = json_object_get(norm, "strip_accents");
			if (jv != NULL && json_is_null(jv))
				ts->strip_accents = -1;
			else
				json_bool_field(norm, path, "strip_accents", &ts->strip_accents);
		}
	}

	jv = json_object_get(model, "vocab");
	if (!json_is_object(jv))
		die(path, "model.vocab is missing or not an object");
	n = json_object_size(jv);
	if (n == 0 || n > MAX_VOCAB)
		die(path, "model.vocab has %zu entries, expected 1 to %u", n, MAX_VOCAB);

	/* ids must be exactly 0..n-1: the file stores tokens by id */
	by_id = xcalloc(n, sizeof(*by_id));
	json_object_foreach(jv, key, value)
	{
		json_int_t	id;

		if (!json_is_integer(value))
			die(path, "model.vocab[\"%s\"] is not an integer id", key);
		id = json_integer_value(value);
		if (id < 0 || (size_t) id >= n)
			die(path, "model.vocab id %lld of \"%s\" is out of range: the %zu tokens "
				"must have ids 0 to %zu", (long long) id, key, n, n - 1);
		if (by_id[id] != NULL)
			die(path, "model.vocab id %lld is used by both \"%s\" and \"%s\"",
				(long long) id, by_id[id], key);
		by_id[id] = key;
	}
	strtab_init(vocab);
	for (size_t i = 0; i < n; i++)
	{
		size_t		len = strlen(by_id[i]);

		/* jansson checks UTF-8; a NUL would have cut the key short */
		if (!valid_utf8((const unsigned char *) by_id[i], len))
			die(path, "model.vocab token %zu is not valid UTF-8 text", i);
		strtab_add(vocab, path, by_id[i], len);
	}
	free(by_id);
	json_decref(root);
}

static void
read_tokenizer(StrTable *vocab, TokSettings *ts, const char *dir)
{
	char	   *tj = path_join(dir, "tokenizer.json");
	char	   *vt = path_join(dir, "vocab.txt");
	char	   *tc = path_join(dir, "tokenizer_config.json");
	json_t	   *root;

	/* Hugging Face's BertTokenizer defaults */
	ts->lower_case = 1;
	ts->strip_accents = -1;
	ts->chinese_chars = 1;
	ts->max_chars = 100;
	set_special(ts, SPECIAL_UNK, "[UNK]");
	set_special(ts, SPECIAL_CLS, "[CLS]");
	set_special(ts, SPECIAL_SEP, "[SEP]");
	set_special(ts, SPECIAL_PAD, "[PAD]");

	/* tokenizer.json is what the fast tokenizer uses, so it wins over vocab.txt */
	if (file_exists(tj))
	{
		read_tokenizer_json(vocab, ts, tj);
		ts->vocab_path = tj;
		free(vt);
	}
	else if (file_exists(vt))
	{
		read_vocab_txt(vocab, vt);
		ts->vocab_path = vt;
		free(tj);
	}
	else
		die(dir, "no tokenizer.json or vocab.txt");

	/* transformers rebuilds the normalizer from these, so they win too */
	root = load_json(tc, false);
	if (root != NULL)
	{
		json_t	   *jv = json_object_get(root, "strip_accents");

		json_bool_field(root, tc, "do_lower_case", &ts->lower_case);
		json_bool_field(root, tc, "tokenize_chinese_chars", &ts->chinese_chars);
		if (jv != NULL && json_is_null(jv))
			ts->strip_accents = -1;
		else
			json_bool_field(root, tc, "strip_accents", &ts->strip_accents);
		for (int i = 0; i < N_SPECIAL; i++)
			read_special(ts, root, tc, i);
		json_decref(root);
	}
	free(tc);
}

static void
free_tokenizer(TokSettings *ts)
{
	for (int i = 0; i < N_SPECIAL; i++)
		free(ts->special[i]);
	free(ts->vocab_path);
}

/* ---------------------------------------------------------------------------
 * sentence-transformers: pooling, normalisation and sequence length.
 */
typedef struct StSettings
{
	int			pooling;		/* BertPooling, or -1 if not given */
	int			normalize;		/* 1/0, or -1 if not given */
	uint32_t	max_seq_len;	/* 0 if not given */
	int			lower_case;		/* -1 if not given */
	char	   *pooling_path;	/* for messages */
	bool		pooling_unsupported;
	char	   *pooling_problem;
} StSettings;

static void
read_pooling_config(StSettings *st, const char *path)
{
	json_t	   *root = load_json(path, true);
	static const char *const other_modes[] = {
		"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
		"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"
	};
	int			mean = 0;
	int			cls = 0;

	json_bool_field(root, path, "pooling_mode_mean_tokens", &mean);
	json_bool_field(root, path, "pooling_mode_cls_token", &cls);
	for (size_t i = 0; i < sizeof(other_modes) / sizeof(other_modes[0]); i++)
	{
		int			on = 0;

		json_bool_field(root, path, other_modes[i], &on);
		if (on)
		{
			st->pooling_unsupported = true;
			st->pooling_problem = xstrdup(other_modes[i]);
		}
	}
	if (!st->pooling_unsupported && mean + cls != 1)
	{
		st->pooling_unsupported = true;
		st->pooling_problem = xstrdup(mean ? "both mean and cls" : "no pooling mode");
	}
	if (!st->pooling_unsupported)
		st->pooling = mean ? BERT_POOL_MEAN : BERT_POOL_CLS;
	st->pooling_path = xstrdup(path);
	json_decref(root);
}

static void
read_st_config(StSettings *st, const char *dir)
{
	char	   *mpath = path_join(dir, "modules.json");
	char	   *spath = path_join(dir, "sentence_bert_config.json");
	json_t	   *root;
	size_t		len;
	char	   *text;

	st->pooling = -1;
	st->normalize = -1;
	st->max_seq_len = 0;
	st->lower_case = -1;
	st->pooling_path = NULL;
	st->pooling_unsupported = false;
	st->pooling_problem = NULL;

	/* modules.json is an array, so load_json (objects only) does not fit */
	text = read_file(mpath, &len, false);
	if (text != NULL)
	{
		json_error_t err;
		size_t		i;
		json_t	   *mod;

		root = json_loadb(text, len, 0, &err);
		free(text);
		if (root == NULL)
			die(mpath, "invalid JSON at line %d, column %d: %s",
				err.line, err.column, err.text);
		if (!json_is_array(root))
			die(mpath, "top level is not a JSON array");
		st->normalize = 0;
		json_array_foreach(root, i, mod)
		{
			const char *type;
			const char *sub;
			const char *dot;

			if (!json_is_object(mod))
				die(mpath, "module %zu is not an object", i);
			type = json_str_field(mod, mpath, "type");
			if (type == NULL)
				die(mpath, "module %zu has no type", i);
			dot = strrchr(type, '.');
			dot = dot ? dot + 1 : type;
			if (strcmp(dot, "Transformer") == 0)
				continue;
			else if (strcmp(dot, "Normalize") == 0)
				st->normalize = 1;
			else if (strcmp(dot, "Pooling") == 0)
			{
				char	   *pdir;
				char	   *pcfg;

				sub = json_str_field(mod, mpath, "path");
				pdir = path_join(dir, sub ? sub : "1_Pooling");
				pcfg = path_join(pdir, "config.json");
				read_pooling_config(st, pcfg);
				free(pdir);
				free(pcfg);
			}
			else
				die(mpath, "module '%s' is not supported (only Transformer, Pooling "
					"and Normalize)", type);
		}
		json_decref(root);
	}
	else
	{
		char	   *pcfg = path_join(dir, "1_Pooling/config.json");

		if (file_exists(pcfg))
			read_pooling_config(st, pcfg);
		free(pcfg);
	}

	root = load_json(spath, false);
	if (root != NULL)
	{
		st->max_seq_len = json_uint_field(root, spath, "max_seq_length", 0, 0, MAX_DIM);
		json_bool_field(root, spath, "do_lower_case", &st->lower_case);
		if (st->lower_case == 0)
			st->lower_case = -1;	/* false leaves the tokenizer's setting */
		json_decref(root);
	}
	free(mpath);
	free(spath);
}

/* ---------------------------------------------------------------------------
 * safetensors
 */
typedef enum StDType
{
	ST_F32, ST_F16, ST_BF16, ST_OTHER
} StDType;

typedef struct StTensor
{
	char	   *name;			/* as in the file */
	char	   *canon;			/* "bert." stripped, gamma/beta renamed */
	char	   *dtype_name;
	StDType		dtype;
	size_t		elem_size;		/* 0: unknown dtype */
	uint32_t	ndim;
	uint64_t   *shape;
	uint64_t	begin;			/* relative to the data section */
	uint64_t	end;
	bool		used;
} StTensor;

typedef struct StFile
{
	char	   *path;
	int			fd;
	uint64_t	file_size;
	uint64_t	data_start;
	uint64_t	data_size;
	uint32_t	n;
	StTensor   *t;
} StFile;

static const struct
{
	const char *name;
	StDType		dtype;
	size_t		size;
}			st_dtypes[] =
{
	{"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2},
	{"F64", ST_OTHER, 8}, {"I64", ST_OTHER, 8}, {"U64", ST_OTHER, 8},
	{"I32", ST_OTHER, 4}, {"U32", ST_OTHER, 4}, {"I16", ST_OTHER, 2},
	{"U16", ST_OTHER, 2}, {"I8", ST_OTHER, 1}, {"U8", ST_OTHER, 1},
	{"BOOL", ST_OTHER, 1}, {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1},
};

/* The Hugging Face BertModel name: no "bert." prefix, old LayerNorm names. */
static char *
canonical_name(const char *name)
{
	size_t		len;
	char	   *c;

	if (strncmp(name, "bert.", 5) == 0)
		name += 5;
	len = strlen(name);
	c = xmalloc(len + 2);
	memcpy(c, name, len + 1);
	if (len >= 16 && strcmp(c + len - 16, ".LayerNorm.gamma") == 0)
		strcpy(c + len - 5, "weight");
	else if (len >= 15 && strcmp(c + len - 15, ".LayerNorm.beta") == 0)
		strcpy(c + len - 4, "bias");
	return c;
}

/* Find the weights: model.safetensors, else the only *.safetensors file. */
static char *
find_safetensors(const char *dir)
{
	char	   *path = path_join(dir, "model.safetensors");
	DIR		   *d;
	struct dirent *de;
	char	   *found = NULL;
	int			count = 0;

	if (file_exists(path))
		return path;
	free(path);

	d = opendir(dir);
	if (d == NULL)
		die(dir, "cannot open directory: %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *p;

		if (len <= 12 || strcmp(de->d_name + len - 12, ".safetensors") != 0)
			continue;
		p = path_join(dir, de->d_name);
		if (!file_exists(p))
		{
			free(p);
			continue;
		}
		if (count++ == 0)
			found = p;
		else
			free(p);
	}
	closedir(d);
	if (count == 0)
		die(dir, "no .safetensors file (pytorch_model.bin is not read; save the "
			"model with safetensors first)");
	if (count > 1)
	{
		free(found);
		die(dir, "%d .safetensors files and no model.safetensors; sharded "
			"checkpoints are not supported", count);
	}
	return found;
}

static void
read_safetensors_header(StFile *st)
{
	struct stat sb;
	unsigned char lenbuf[8];
	uint64_t	hlen = 0;
	char	   *text;
	json_t	   *root;
	json_error_t err;
	const char *key;
	json_t	   *value;
	uint32_t	i = 0;

	st->fd = open(st->path, O_RDONLY);
	if (st->fd < 0)
		die(st->path, "cannot open: %s", strerror(errno));
	if (fstat(st->fd, &sb) != 0)
		die(st->path, "cannot stat: %s", strerror(errno));
	st->file_size = (uint64_t) sb.st_size;
	if (st->file_size < 8)
		die(st->path, "file is %" PRIu64 " bytes, too short for a safetensors header",
			st->file_size);
	read_exact(st->fd, st->path, lenbuf, 8, 0);
	for (int k = 7; k >= 0; k--)
		hlen = (hlen << 8) | lenbuf[k];
	if (hlen < 2 || hlen > MAX_ST_HEADER)
		die(st->path, "header length %" PRIu64 " is invalid; not a safetensors file?", hlen);
	if (hlen > st->file_size - 8)
		die(st->path, "header length %" PRIu64 " exceeds the file size %" PRIu64
			"; the file is truncated", hlen, st->file_size);
	st->data_start = 8 + hlen;
	st->data_size = st->file_size - st->data_start;

	text = xmalloc((size_t) hlen);
	read_exact(st->fd, st->path, text, (size_t) hlen, 8);
	root = json_loadb(text, (size_t) hlen, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (root == NULL)
		die(st->path, "header is not valid JSON: %s (line %d, column %d)",
			err.text, err.line, err.column);
	if (!json_is_object(root))
		die(st->path, "header is not a JSON object");

	st->t = xcalloc(json_object_size(root), sizeof(StTensor));
	json_object_foreach(root, key, value)
	{
		StTensor   *t;
		json_t	   *jshape;
		json_t	   *joff;
		const char *dt;
		uint64_t	count = 1;
		uint64_t	bytes;

		if (strcmp(key, "__metadata__") == 0)
			continue;
		t = &st->t[i++];
		t->name = xstrdup(key);
		t->canon = canonical_name(key);
		if (!json_is_object(value))
			die(st->path, "header entry '%s' is not an object", key);

		dt = json_string_value(json_object_get(value, "dtype"));
		if (dt == NULL)
			die(st->path, "tensor '%s' has no dtype", key);
		t->dtype_name = xstrdup(dt);
		t->dtype = ST_OTHER;
		for (size_t k = 0; k < sizeof(st_dtypes) / sizeof(st_dtypes[0]); k++)
			if (strcmp(dt, st_dtypes[k].name) == 0)
			{
				t->dtype = st_dtypes[k].dtype;
				t->elem_size = st_dtypes[k].size;
			}

		jshape = json_object_get(value, "shape");
		if (!json_is_array(jshape) || json_array_size(jshape) > 64)
			die(st->path, "tensor '%s' has no valid shape", key);
		t->ndim = (uint32_t) json_array_size(jshape);
		t->shape = xcalloc(t->ndim, sizeof(uint64_t));
		for (uint32_t d = 0; d < t->ndim; d++)
		{
			json_t	   *jd = json_array_get(jshape, d);

			if (!json_is_integer(jd) || json_integer_value(jd) < 0)
				die(st->path, "tensor '%s' has a shape entry that is not a "
					"non-negative integer", key);
			t->shape[d] = (uint64_t) json_integer_value(jd);
			if (__builtin_mul_overflow(count, t->shape[d], &count))
				die(st->path, "tensor '%s' has an impossibly large shape", key);
		}

		joff = json_object_get(value, "data_offsets");
		if (!json_is_array(joff) || json_array_size(joff) != 2 ||
			!json_is_integer(json_array_get(joff, 0)) ||
			!json_is_integer(json_array_get(joff, 1)) ||
			json_integer_value(json_array_get(joff, 0)) < 0 ||
			json_integer_value(json_array_get(joff, 1)) < 0)
			die(st->path, "tensor '%s' has no valid data_offsets [begin, end]", key);
		t->begin = (uint64_t) json_integer_value(json_array_get(joff, 0));
		t->end = (uint64_t) json_integer_value(json_array_get(joff, 1));
		if (t->begin > t->end)
			die(st->path, "tensor '%s' has data_offsets [%" PRIu64 ", %" PRIu64
				"] that end before they begin", key, t->begin, t->end);
		if (t->end > st->data_size)
			die(st->path, "tensor '%s' data [%" PRIu64 ", %" PRIu64 ") extends past "
				"the end of the data section (%" PRIu64 " bytes); the file is truncated",
				key, t->begin, t->end, st->data_size);
		if (t->elem_size > 0 &&
			(__builtin_mul_overflow(count, (uint64_t) t->elem_size, &bytes) ||
			 bytes != t->end - t->begin))
			die(st->path, "tensor '%s' has %" PRIu64 " bytes of data, but its dtype %s "
				"and shape need %" PRIu64 " elements of %zu bytes",
				key, t->end - t->begin, dt, count, t->elem_size);
	}
	st->n = i;
	json_decref(root);
}

static void
free_safetensors(StFile *st)
{
	for (uint32_t i = 0; i < st->n; i++)
	{
		free(st->t[i].name);
		free(st->t[i].canon);
		free(st->t[i].dtype_name);
		free(st->t[i].shape);
	}
	free(st->t);
	if (st->fd >= 0)
		close(st->fd);
	free(st->path);
}

static StTensor *
st_find(StFile *st, const char *canon)
{
	for (uint32_t i = 0; i < st->n; i++)
		if (strcmp(st->t[i].canon, canon) == 0)
			return &st->t[i];
	return NULL;
}

/* ---------------------------------------------------------------------------
 * The tensors the output holds, in a fixed order.
 */
typedef struct PlanTensor
{
	char		name[BERT_TENSOR_NAME_LEN];
	uint32_t	ndim;
	uint32_t	shape[BERT_MAX_DIMS];
	StTensor   *src;
	bool		linear;			/* an encoder layer's linear weight */
	uint32_t	dtype;			/* BertDType written: F32, or F16P (plan_dtypes) */
	uint64_t	offset;
	uint64_t	nbytes;
} PlanTensor;

typedef struct Plan
{
	PlanTensor *t;
	uint32_t	n;
	uint32_t	cap;
} Plan;

static void
plan_add(Plan *plan, uint32_t d0, uint32_t d1, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Add a tensor of shape [d0] or, when d1 > 0, [d0, d1]. */
static void
plan_add(Plan *plan, uint32_t d0, uint32_t d1, const char *fmt,...)
{
	PlanTensor *pt;
	va_list		ap;
	int			len;

	if (plan->n == plan->cap)
	{
		plan->cap = plan->cap ? plan->cap * 2 : 64;
		plan->t = xrealloc(plan->t, (size_t) plan->cap * sizeof(PlanTensor));
	}
	pt = &plan->t[plan->n++];
	memset(pt, 0, sizeof(*pt));
	va_start(ap, fmt);
	len = vsnprintf(pt->name, sizeof(pt->name), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t) len >= sizeof(pt->name))
		die(NULL, "tensor name too long");
	pt->ndim = d1 > 0 ? 2 : 1;
	pt->shape[0] = d0;
	pt->shape[1] = d1;
	pt->nbytes = (uint64_t) d0 * (d1 > 0 ? d1 : 1) * sizeof(float);
}

static void
plan_build(Plan *plan, const HfConfig *cfg, StFile *st)
{
	uint32_t	h = cfg->hidden;
	uint32_t	f = cfg->ffn;
	bool		pooler;

	memset(plan, 0, sizeof(*plan));
	plan_add(plan, cfg->vocab_size, h, "embeddings.word_embeddings.weight");
	plan_add(plan, cfg->max_positions, h, "embeddings.position_embeddings.weight");
	plan_add(plan, cfg->type_vocab, h, "embeddings.token_type_embeddings.weight");
	plan_add(plan, h, 0, "embeddings.LayerNorm.weight");
	plan_add(plan, h, 0, "embeddings.LayerNorm.bias");
	for (uint32_t l = 0; l < cfg->n_layers; l++)
	{
		static const char *const qkv[] = {"query", "key", "value"};

		for (int k = 0; k < 3; k++)
		{
			plan_add(plan, h, h, "encoder.layer.%u.attention.self.%s.weight", l, qkv[k]);
			plan->t[plan->n - 1].linear = true;
			plan_add(plan, h, 0, "encoder.layer.%u.attention.self.%s.bias", l, qkv[k]);
		}
		plan_add(plan, h, h, "encoder.layer.%u.attention.output.dense.weight", l);
		plan->t[plan->n - 1].linear = true;
		plan_add(plan, h, 0, "encoder.layer.%u.attention.output.dense.bias", l);
		plan_add(plan, h, 0, "encoder.layer.%u.attention.output.LayerNorm.weight", l);
		plan_add(plan, h, 0, "encoder.layer.%u.attention.output.LayerNorm.bias", l);
		plan_add(plan, f, h, "encoder.layer.%u.intermediate.dense.weight", l);
		plan->t[plan->n - 1].linear = true;
		plan_add(plan, f, 0, "encoder.layer.%u.intermediate.dense.bias", l);
		plan_add(plan, h, f, "encoder.layer.%u.output.dense.weight", l);
		plan->t[plan->n - 1].linear = true;
		plan_add(plan, h, 0, "encoder.layer.%u.output.dense.bias", l);
		plan_add(plan, h, 0, "encoder.layer.%u.output.LayerNorm.weight", l);
		plan_add(plan, h, 0, "encoder.layer.%u.output.LayerNorm.bias", l);
	}

	/* sequence classification needs the pooler; elsewhere keep it if present */
	pooler = cfg->kind == BERT_KIND_SEQUENCE_CLASSIFICATION ||
		st_find(st, "pooler.dense.weight") != NULL ||
		st_find(st, "pooler.dense.bias") != NULL;
	if (pooler)
	{
		plan_add(plan, h, h, "pooler.dense.weight");
		plan_add(plan, h, 0, "pooler.dense.bias");
	}
	if (cfg->kind != BERT_KIND_EMBEDDING)
	{
		plan_add(plan, cfg->labels.n, h, "classifier.weight");
		plan_add(plan, cfg->labels.n, 0, "classifier.bias");
	}
}

/*
 * An encoder linear weight stored as F16 in the checkpoint is written as
 * F16P, its halves only reordered (lossless, half the bytes); anything else,
 * or every weight with --f32-weights, as F32.
 */
static void
plan_dtypes(Plan *plan, bool f32_weights)
{
	for (uint32_t k = 0; k < plan->n; k++)
	{
		PlanTensor *pt = &plan->t[k];

		pt->dtype = BERT_DTYPE_F32;
		if (pt->linear && !f32_weights && pt->src->dtype == ST_F16)
		{
			pt->dtype = BERT_DTYPE_F16P;
			pt->nbytes = bcore_f16p_halves(pt->shape[0], pt->shape[1]) * sizeof(uint16_t);
		}
	}
}

static void
format_shape(char *buf, size_t len, uint32_t ndim, const uint64_t *shape)
{
	size_t		used = 0;

	buf[0] = '\0';
	used += snprintf(buf + used, len - used, "[");
	for (uint32_t d = 0; d < ndim && used < len; d++)
		used += snprintf(buf + used, len - used, "%s%" PRIu64, d ? ", " : "", shape[d]);
	if (used < len)
		snprintf(buf + used, len - used, "]");
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Pair the planned tensors with the file's, checking dtype and shape. */
static void
plan_match(Plan *plan, StFile *st, const HfConfig *cfg)
{
	int			errors = 0;
	uint32_t	missing = 0;

	for (uint32_t i = 0; i < st->n; i++)
	{
		StTensor   *t = &st->t[i];
		PlanTensor *pt = NULL;
		const char *c = t->canon;

		/* buffers, not weights */
		if (strcmp(c, "embeddings.position_ids") == 0 ||
			strcmp(c, "embeddings.token_type_ids") == 0)
			continue;
		for (uint32_t k = 0; k < plan->n; k++)
			if (strcmp(plan->t[k].name, c) == 0)
				pt = &plan->t[k];
		if (pt != NULL)
		{
			if (pt->src != NULL)
			{
				report(st->path, "tensors '%s' and '%s' are both '%s'",
					   pt->src->name, t->name, c);
				errors++;
			}
			pt->src = t;
			t->used = true;
			continue;
		}
		if (starts_with(c, "encoder.layer."))
		{
			unsigned long l = strtoul(c + 14, NULL, 10);

			if (l >= cfg->n_layers)
			{
				report(st->path, "tensor '%s' is for layer %lu, but config.json has "
					   "num_hidden_layers %u", t->name, l, cfg->n_layers);
				errors++;
				continue;
			}
		}
		if (starts_with(c, "embeddings.") || starts_with(c, "encoder.") ||
			starts_with(c, "pooler."))
			warn(st->path, "ignoring unexpected tensor '%s'", t->name);
	}

	for (uint32_t k = 0; k < plan->n; k++)
	{
		PlanTensor *pt = &plan->t[k];
		StTensor   *t = pt->src;
		bool		same;

		if (t == NULL)
		{
			if (missing++ < 10)
				report(st->path, "missing tensor '%s'", pt->name);
			errors++;
			continue;
		}
		if (t->dtype == ST_OTHER)
		{
			report(st->path, "tensor '%s' has dtype %s, expected F32, F16 or BF16",
				   t->name, t->dtype_name);
			errors++;
		}
		same = t->ndim == pt->ndim;
		for (uint32_t d = 0; same && d < pt->ndim; d++)
			same = t->shape[d] == pt->shape[d];
		if (!same)
		{
			char		got[256];
			char		want[256];
			uint64_t	w[BERT_MAX_DIMS];

			for (uint32_t d = 0; d < pt->ndim; d++)
				w[d] = pt->shape[d];
			format_shape(got, sizeof(got), t->ndim, t->shape);
			format_shape(want, sizeof(want), pt->ndim, w);
			report(st->path, "tensor '%s' has shape %s, expected %s", t->name, got, want);
			errors++;
		}
	}
	if (missing > 10)
		report(st->path, "... and %u more missing tensors", missing - 10);
	if (errors > 0)
	{
		remove_tmp();
		exit(1);
	}
}

/* ---------------------------------------------------------------------------
 * Output.
 */
typedef struct Writer
{
	int			fd;
	const char *path;
	uint64_t	pos;
	size_t		used;
	char		buf[1 << 16];
} Writer;

static void
write_all(Writer *w, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0)
	{
		ssize_t		n = write(w->fd, p, len);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			die(w->path, "write failed: %s", strerror(errno));
		}
		p += n;
		len -= (size_t) n;
	}
}

static void
writer_flush(Writer *w)
{
	write_all(w, w->buf, w->used);
	w->used = 0;
}

static void
writer_put(Writer *w, const void *data, size_t len)
{
	if (len == 0)
		return;					/* data may be NULL: an empty label table */
	if (w->used + len > sizeof(w->buf))
		writer_flush(w);
	if (len >= sizeof(w->buf))
		write_all(w, data, len);
	else
	{
		memcpy(w->buf + w->used, data, len);
		w->used += len;
	}
	w->pos += len;
}

/* Zero bytes up to offset 'to'. */
static void
writer_pad(Writer *w, uint64_t to)
{
	static const char zeros[BERT_TENSOR_ALIGN];

	while (w->pos < to)
	{
		uint64_t	n = to - w->pos;

		writer_put(w, zeros, n < sizeof(zeros) ? (size_t) n : sizeof(zeros));
	}
}

static void
write_strtab(Writer *w, const StrTable *t)
{
	writer_put(w, t->offsets, (size_t) (t->n + 1) * sizeof(uint32_t));
	writer_put(w, t->blob, t->blob_len);
}

/*
 * Append an F16 [out, in] tensor as F16P: a panel of BERT_F16P_PANEL rows at
 * a time, its halves reordered input-major, the last panel padded with zeros.
 */
static uint64_t
write_f16p(Writer *w, const StFile *st, const PlanTensor *pt)
{
	const StTensor *t = pt->src;
	uint32_t	out = pt->shape[0],
				in = pt->shape[1];
	uint16_t   *rows = xmalloc((size_t) BERT_F16P_PANEL * in * sizeof(uint16_t));
	uint16_t   *panel = xmalloc((size_t) BERT_F16P_PANEL * in * sizeof(uint16_t));
	uint64_t	nonfinite = 0;

	for (uint32_t o0 = 0; o0 < out; o0 += BERT_F16P_PANEL)
	{
		uint32_t	n = out - o0 < BERT_F16P_PANEL ? out - o0 : BERT_F16P_PANEL;

		read_exact(st->fd, st->path, rows, (size_t) n * in * sizeof(uint16_t),
				   st->data_start + t->begin + (uint64_t) o0 * in * sizeof(uint16_t));
		memset(panel, 0, (size_t) BERT_F16P_PANEL * in * sizeof(uint16_t));
		for (uint32_t r = 0; r < n; r++)
			for (uint32_t i = 0; i < in; i++)
			{
				uint16_t	h = rows[(size_t) r * in + i];

				panel[bcore_f16p_index(r, i, in)] = h;
				if ((h & 0x7C00u) == 0x7C00u)
					nonfinite++;
			}
		writer_put(w, panel, (size_t) BERT_F16P_PANEL * in * sizeof(uint16_t));
	}
	free(rows);
	free(panel);
	return nonfinite;
}

/* Convert one tensor to fp32 in chunks (or F16P: write_f16p) and append it. */
static uint64_t
write_tensor(Writer *w, const StFile *st, const PlanTensor *pt,
			 unsigned char *raw, float *out)
{
	const StTensor *t = pt->src;
	uint64_t	n = pt->nbytes / sizeof(float);
	uint64_t	done = 0;
	uint64_t	nonfinite = 0;

	if (pt->dtype == BERT_DTYPE_F16P)
		return write_f16p(w, st, pt);
	while (done < n)
	{
		size_t		chunk = n - done < CHUNK_ELEMS ? (size_t) (n - done) : CHUNK_ELEMS;

		read_exact(st->fd, st->path, raw, chunk * t->elem_size,
				   st->data_start + t->begin + done * t->elem_size);
		switch (t->dtype)
		{
			case ST_F32:
				memcpy(out, raw, chunk * sizeof(float));
				break;
			case ST_F16:
				for (size_t i = 0; i < chunk; i++)
					out[i] = bcore_half_to_float((uint16_t) (raw[2 * i] | raw[2 * i + 1] << 8));
				break;
			case ST_BF16:
				for (size_t i = 0; i < chunk; i++)
					out[i] = bf16_to_float((uint16_t) (raw[2 * i] | raw[2 * i + 1] << 8));
				break;
			case ST_OTHER:
				die(st->path, "tensor '%s': unexpected dtype", t->name);
		}
		for (size_t i = 0; i < chunk; i++)
			if (!isfinite(out[i]))
				nonfinite++;
		writer_put(w, out, chunk * sizeof(float));
		done += chunk;
	}
	return nonfinite;
}

/* ---------------------------------------------------------------------------
 * main
 */
typedef struct Options
{
	uint32_t	max_seq_len;	/* 0: not given */
	int			pooling;		/* -1: not given */
	int			normalize;		/* -1: not given */
	int			lower_case;		/* -1: not given */
	bool		f32_weights;	/* --f32-weights */
	const char *source;
	const char *in_dir;
	const char *out_path;
} Options;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: %s [options] HF_DIR OUT.bert\n"
			"\n"
			"Convert a Hugging Face BERT checkpoint directory (config.json, one\n"
			"*.safetensors file, tokenizer.json or vocab.txt) to a bert model file.\n"
			"\n"
			"options:\n"
			"  --max-seq-length N      default truncation length, special tokens included\n"
			"                          (default: sentence_bert_config.json, else\n"
			"                          max_position_embeddings)\n"
			"  --pooling mean|cls      sentence embedding pooling (default: the\n"
			"                          sentence-transformers Pooling module, else mean;\n"
			"                          cls for classification models)\n"
			"  --normalize             L2-normalise embeddings (default for embedding\n"
			"  --no-normalize          models unless modules.json has no Normalize)\n"
			"  --lower-case            override the tokenizer's lower-casing\n"
			"  --no-lower-case\n"
			"  --f32-weights           store F16 linear weights as fp32 too (default:\n"
			"                          half precision, packed for the encoder's kernel)\n"
			"  --source TEXT           provenance stored in the file (at most 127 bytes)\n"
			"  --quiet                 print nothing but errors\n"
			"  --help                  show this help\n",
			PROGNAME);
}

static void
usage_error(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vmessage(NULL, NULL, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", PROGNAME);
	exit(2);
}

static void
parse_options(Options *opt, int argc, char **argv)
{
	enum
	{
		OPT_MAX_SEQ = 256, OPT_POOLING, OPT_NORMALIZE, OPT_NO_NORMALIZE,
		OPT_LOWER, OPT_NO_LOWER, OPT_SOURCE, OPT_QUIET, OPT_HELP, OPT_F32
	};
	static const struct option longopts[] = {
		{"max-seq-length", required_argument, NULL, OPT_MAX_SEQ},
		{"pooling", required_argument, NULL, OPT_POOLING},
		{"normalize", no_argument, NULL, OPT_NORMALIZE},
		{"no-normalize", no_argument, NULL, OPT_NO_NORMALIZE},
		{"lower-case", no_argument, NULL, OPT_LOWER},
		{"no-lower-case", no_argument, NULL, OPT_NO_LOWER},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"f32-weights", no_argument, NULL, OPT_F32},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;

	opt->max_seq_len = 0;
	opt->pooling = -1;
	opt->normalize = -1;
	opt->lower_case = -1;
	opt->source = NULL;
	opt->f32_weights = false;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_MAX_SEQ:
				{
					char	   *end;
					unsigned long v;

					errno = 0;
					v = strtoul(optarg, &end, 10);
					if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
						errno != 0 || v < 2 || v > MAX_DIM)
						usage_error("--max-seq-length must be an integer from 2 to %u, "
									"not \"%s\"", MAX_DIM, optarg);
					opt->max_seq_len = (uint32_t) v;
					break;
				}
			case OPT_POOLING:
				if (strcmp(optarg, "mean") == 0)
					opt->pooling = BERT_POOL_MEAN;
				else if (strcmp(optarg, "cls") == 0)
					opt->pooling = BERT_POOL_CLS;
				else
					usage_error("--pooling must be mean or cls, not \"%s\"", optarg);
				break;
			case OPT_NORMALIZE:
				opt->normalize = 1;
				break;
			case OPT_NO_NORMALIZE:
				opt->normalize = 0;
				break;
			case OPT_LOWER:
				opt->lower_case = 1;
				break;
			case OPT_NO_LOWER:
				opt->lower_case = 0;
				break;
			case OPT_SOURCE:
				if (strlen(optarg) >= sizeof(((BertFileHeader *) 0)->source))
					usage_error("--source is %zu bytes, at most %zu are stored",
								strlen(optarg),
								sizeof(((BertFileHeader *) 0)->source) - 1);
				opt->source = optarg;
				break;
			case OPT_QUIET:
				quiet = true;
				break;
			case OPT_F32:
				opt->f32_weights = true;
				break;
			case OPT_HELP:
				usage(stdout);
				exit(0);
			case '?':
				usage_error("unknown option or missing argument: %s", argv[optind - 1]);
			default:
				usage_error("unknown option");
		}
	}
	if (argc - optind != 2)
		usage_error("expected HF_DIR and OUT.bert, got %d arguments", argc - optind);
	opt->in_dir = argv[optind];
	opt->out_path = argv[optind + 1];
}

/* Copy s into dst (size bytes, NUL-padded), cut at a UTF-8 boundary. */
static void
copy_text(char *dst, size_t size, const char *s)
{
	size_t		len = strlen(s);

	if (len >= size)
	{
		len = size - 1;
		while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
			len--;
	}
	memset(dst, 0, size);
	memcpy(dst, s, len);
}

static const char *
kind_name(BertModelKind kind)
{
	switch (kind)
	{
		case BERT_KIND_EMBEDDING:
			return "embedding";
		case BERT_KIND_TOKEN_CLASSIFICATION:
			return "token classification";
		case BERT_KIND_SEQUENCE_CLASSIFICATION:
			return "sequence classification";
	}
	return "?";
}

/* Make the rename itself durable. */
static void
sync_parent_dir(const char *path)
{
	char	   *dir = xstrdup(path);
	char	   *slash = strrchr(dir, '/');
	int			fd;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0)
	{
		/* some file systems cannot sync a directory; the data is safe anyway */
		(void) fsync(fd);
		close(fd);
	}
	free(dir);
}

int
main(int argc, char **argv)
{
	Options		opt;
	HfConfig	cfg;
	TokSettings ts;
	StrTable	vocab;
	VocabIndex	ix;
	StSettings	sts;
	StFile		st;
	Plan		plan;
	BertFileHeader hdr;
	uint32_t	ids[N_SPECIAL];
	uint32_t	flags = 0;
	int			lower_case;
	int			strip_accents;
	int			pooling;
	int			normalize;
	uint32_t	max_seq_len;
	uint64_t	pos;
	Writer	   *w;
	unsigned char *raw;
	float	   *out;
	size_t		plen;

	parse_options(&opt, argc, argv);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	read_config(&cfg, opt.in_dir);

	/* vocabulary and tokenizer settings */
	memset(&ts, 0, sizeof(ts));
	read_tokenizer(&vocab, &ts, opt.in_dir);
	if (vocab.n != cfg.vocab_size)
		die(ts.vocab_path, "the vocabulary has %u tokens, but config.json vocab_size is %u",
			vocab.n, cfg.vocab_size);
	index_build(&ix, &vocab);
	if (ix.n_dups > 0)
	{
		size_t		len;
		const char *s = strtab_get(&vocab, ix.first_dup, &len);

		warn(ts.vocab_path, "%u repeated tokens, e.g. \"%.*s\" again as id %u; the "
			 "last id is used", ix.n_dups, (int) len, s, ix.first_dup);
	}
	for (int i = 0; i < N_SPECIAL; i++)
	{
		int64_t		id = index_lookup(&ix, &vocab, ts.special[i]);

		if (id < 0)
			die(ts.vocab_path, "special token \"%s\" (%s) is not in the vocabulary",
				ts.special[i], special_keys[i]);
		ids[i] = (uint32_t) id;
	}

	/* sentence-transformers pooling only means something for embeddings */
	memset(&sts, 0, sizeof(sts));
	sts.pooling = -1;
	sts.normalize = -1;
	sts.lower_case = -1;
	if (cfg.kind == BERT_KIND_EMBEDDING)
		read_st_config(&sts, opt.in_dir);

	lower_case = opt.lower_case >= 0 ? opt.lower_case :
		sts.lower_case >= 0 ? sts.lower_case : ts.lower_case;
	strip_accents = ts.strip_accents >= 0 ? ts.strip_accents : lower_case;
	if (lower_case)
	{
		uint32_t	cased = 0;

		for (uint32_t i = 0; i < vocab.n; i++)
		{
			size_t		len;
			const char *s = strtab_get(&vocab, i, &len);

			if (len > 0 && s[0] != '[' && s[0] != '<')
				for (size_t k = 0; k < len; k++)
					if (s[k] >= 'A' && s[k] <= 'Z')
					{
						cased++;
						break;
					}
		}
		if (cased > 0)
			warn(ts.vocab_path, "input will be lower-cased, but %u tokens have "
				 "upper-case letters; use --no-lower-case for a cased model", cased);
	}

	if (opt.pooling >= 0)
		pooling = opt.pooling;
	else if (cfg.kind != BERT_KIND_EMBEDDING)
		pooling = BERT_POOL_CLS;
	else if (sts.pooling_unsupported)
		die(sts.pooling_path, "pooling (%s) is not supported; use --pooling mean or "
			"--pooling cls to choose one", sts.pooling_problem);
	else if (sts.pooling >= 0)
		pooling = sts.pooling;
	else
		pooling = BERT_POOL_MEAN;
	if (cfg.kind == BERT_KIND_SEQUENCE_CLASSIFICATION && pooling != BERT_POOL_CLS)
		usage_error("--pooling mean does not apply to a sequence classification model, "
					"whose classifier reads the pooled [CLS] state");

	if (opt.normalize >= 0)
		normalize = opt.normalize;
	else if (cfg.kind != BERT_KIND_EMBEDDING)
		normalize = 0;
	else if (sts.normalize >= 0)
		normalize = sts.normalize;
	else
		normalize = 1;
	if (cfg.kind != BERT_KIND_EMBEDDING && normalize)
		usage_error("--normalize applies only to embedding models");

	if (opt.max_seq_len > 0)
	{
		if (opt.max_seq_len > cfg.max_positions)
			usage_error("--max-seq-length %u exceeds max_position_embeddings %u",
						opt.max_seq_len, cfg.max_positions);
		max_seq_len = opt.max_seq_len;
	}
	else if (sts.max_seq_len > 0)
	{
		max_seq_len = sts.max_seq_len;
		if (max_seq_len > cfg.max_positions)
		{
			warn(NULL, "sentence_bert_config.json max_seq_length %u exceeds "
				 "max_position_embeddings %u; using %u",
				 max_seq_len, cfg.max_positions, cfg.max_positions);
			max_seq_len = cfg.max_positions;
		}
		if (max_seq_len < 2)
			die(NULL, "sentence_bert_config.json max_seq_length %u is too small",
				max_seq_len);
	}
	else
		max_seq_len = cfg.max_positions;

	if (lower_case)
		flags |= BERT_FLAG_LOWER_CASE;
	if (strip_accents)
		flags |= BERT_FLAG_STRIP_ACCENTS;
	if (ts.chinese_chars)
		flags |= BERT_FLAG_CHINESE_CHARS;
	if (normalize)
		flags |= BERT_FLAG_NORMALIZE;

	/* weights */
	memset(&st, 0, sizeof(st));
	st.fd = -1;
	st.path = find_safetensors(opt.in_dir);
	read_safetensors_header(&st);
	plan_build(&plan, &cfg, &st);
	plan_match(&plan, &st, &cfg);
	plan_dtypes(&plan, opt.f32_weights);

	/* layout */
	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.magic, BERT_FILE_MAGIC, sizeof(hdr.magic));
	hdr.version = BERT_FORMAT_VERSION;
	hdr.header_size = BERT_HEADER_SIZE;
	hdr.kind = cfg.kind;
	hdr.n_layers = cfg.n_layers;
	hdr.hidden = cfg.hidden;
	hdr.n_heads = cfg.n_heads;
	hdr.ffn = cfg.ffn;
	hdr.max_positions = cfg.max_positions;
	hdr.type_vocab = cfg.type_vocab;
	hdr.vocab_size = vocab.n;
	hdr.num_labels = cfg.labels.n;
	hdr.activation = cfg.activation;
	hdr.pooling = (uint32_t) pooling;
	hdr.flags = flags;
	hdr.max_seq_len = max_seq_len;
	hdr.max_chars_per_word = ts.max_chars;
	hdr.unk_id = ids[SPECIAL_UNK];
	hdr.cls_id = ids[SPECIAL_CLS];
	hdr.sep_id = ids[SPECIAL_SEP];
	hdr.pad_id = ids[SPECIAL_PAD];
	hdr.layer_norm_eps = cfg.layer_norm_eps;
	hdr.n_tensors = plan.n;
	hdr.hash_slots = ix.n_slots;
	copy_text(hdr.source, sizeof(hdr.source), opt.source ? opt.source : opt.in_dir);

	pos = BERT_HEADER_SIZE;
	hdr.tensors_offset = pos;
	hdr.tensors_bytes = (uint64_t) plan.n * sizeof(BertTensorEntry);
	pos += hdr.tensors_bytes;
	hdr.vocab_offset = align_up(pos, 8);
	hdr.vocab_bytes = strtab_bytes(&vocab);
	pos = hdr.vocab_offset + hdr.vocab_bytes;
	hdr.hash_offset = align_up(pos, 8);
	hdr.hash_bytes = (uint64_t) ix.n_slots * sizeof(uint32_t);
	pos = hdr.hash_offset + hdr.hash_bytes;
	hdr.labels_offset = align_up(pos, 8);
	hdr.labels_bytes = strtab_bytes(&cfg.labels);
	pos = hdr.labels_offset + hdr.labels_bytes;
	for (uint32_t k = 0; k < plan.n; k++)
	{
		plan.t[k].offset = align_up(pos, BERT_TENSOR_ALIGN);
		pos = plan.t[k].offset + plan.t[k].nbytes;
	}
	hdr.file_size = pos;
	hdr.header_crc = bcore_header_crc(&hdr);

	/* write OUT.tmp.PID, then rename it over OUT */
	plen = strlen(opt.out_path) + 32;
	w = xcalloc(1, sizeof(Writer));
	{
		char	   *tp = xmalloc(plen);

		snprintf(tp, plen, "%s.tmp.%ld", opt.out_path, (long) getpid());
		/* only a crashed run with our pid can have left this name behind */
		unlink(tp);
		w->fd = open(tp, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (w->fd < 0)
		{
			int			e = errno;

			free(tp);
			die(opt.out_path, "cannot create temporary file: %s", strerror(e));
		}
		tmp_path = tp;
	}
	w->path = tmp_path;

	writer_put(w, &hdr, sizeof(hdr));
	for (uint32_t k = 0; k < plan.n; k++)
	{
		BertTensorEntry e;

		memset(&e, 0, sizeof(e));
		memcpy(e.name, plan.t[k].name, strlen(plan.t[k].name));
		e.dtype = plan.t[k].dtype;
		e.ndim = plan.t[k].ndim;
		memcpy(e.shape, plan.t[k].shape, sizeof(e.shape));
		e.offset = plan.t[k].offset;
		e.nbytes = plan.t[k].nbytes;
		writer_put(w, &e, sizeof(e));
	}
	writer_pad(w, hdr.vocab_offset);
	write_strtab(w, &vocab);
	writer_pad(w, hdr.hash_offset);
	writer_put(w, ix.slots, (size_t) hdr.hash_bytes);
	writer_pad(w, hdr.labels_offset);
	write_strtab(w, &cfg.labels);

	raw = xmalloc(CHUNK_ELEMS * sizeof(float));
	out = xmalloc(CHUNK_ELEMS * sizeof(float));
	for (uint32_t k = 0; k < plan.n; k++)
	{
		uint64_t	bad;

		writer_pad(w, plan.t[k].offset);
		bad = write_tensor(w, &st, &plan.t[k], raw, out);
		if (bad > 0)
			warn(st.path, "tensor '%s' has %" PRIu64 " values that are infinite or NaN",
				 plan.t[k].src->name, bad);
	}
	free(raw);
	free(out);
	writer_flush(w);
	if (w->pos != hdr.file_size)
		die(tmp_path, "internal error: wrote %" PRIu64 " bytes, planned %" PRIu64,
			w->pos, hdr.file_size);
	if (fsync(w->fd) != 0)
		die(tmp_path, "fsync failed: %s", strerror(errno));
	if (close(w->fd) != 0)
		die(tmp_path, "close failed: %s", strerror(errno));
	if (rename(tmp_path, opt.out_path) != 0)
		die(opt.out_path, "cannot rename %s to it: %s", tmp_path, strerror(errno));
	free(tmp_path);
	tmp_path = NULL;
	sync_parent_dir(opt.out_path);

	if (!quiet)
		printf("%s: wrote %s: %s, %u layers, hidden %u, %u heads, vocab %u, "
			   "%u labels, %" PRIu64 " bytes\n",
			   PROGNAME, opt.out_path, kind_name(cfg.kind), cfg.n_layers, cfg.hidden,
			   cfg.n_heads, vocab.n, cfg.labels.n, hdr.file_size);

	free(w);
	free(plan.t);
	free_safetensors(&st);
	free(sts.pooling_path);
	free(sts.pooling_problem);
	free(ix.slots);
	strtab_free(&vocab);
	free_tokenizer(&ts);
	free_config(&cfg);
	return 0;
}
