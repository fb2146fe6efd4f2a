/*
 * hf_config.c — the settings of a Hugging Face checkpoint: config.json (the
 * architecture, sizes and labels), the tokenizer (tokenizer.json or
 * vocab.txt, then tokenizer_config.json) and the sentence-transformers
 * files (modules.json, the Pooling module's config.json,
 * sentence_bert_config.json).  Defaults are Hugging Face's.
 */
#include "hf_checkpoint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const hf_special_keys[HF_N_SPECIAL] = {
	"unk_token", "cls_token", "sep_token", "pad_token"
};

/* ---------------------------------------------------------------------------
 * config.json
 */
static bool
read_labels(HfCtx *cx, HfConfig *cfg, json_t *root)
{
	json_t	   *id2label = json_object_get(root, "id2label");
	const char *p = cfg->path;
	size_t		n;
	const char **names;
	const char *key;
	json_t	   *value;
	uint32_t	num_labels = 0;
	bool		ok = true;

	if (id2label == NULL || json_is_null(id2label))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label is required for %s", cfg->arch);
	if (!json_is_object(id2label))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label must be an object");
	n = json_object_size(id2label);
	if (n == 0 || n > BERT_MAX_LABELS)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label has %zu entries, expected 1 to %u",
					   n, BERT_MAX_LABELS);

	if ((names = hf_alloc(cx, n, sizeof(*names))) == NULL)
		return false;
	json_object_foreach(id2label, key, value)
	{
		char	   *end;
		unsigned long id;

		errno = 0;
		id = strtoul(key, &end, 10);
		if (key[0] < '0' || key[0] > '9' || *end != '\0' || errno != 0)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label key \"%s\" is not a label id", key);
		else if (id >= n)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
						 "id2label id %lu is out of range: the %zu labels must have ids 0 to %zu",
						 id, n, n - 1);
		else if (names[id] != NULL)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label id %lu appears twice", id);
		else if (!json_is_string(value))
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "id2label[\"%s\"] must be a string", key);
		else
			names[id] = json_string_value(value);
		if (!ok)
			break;
	}
	for (size_t i = 0; ok && i < n; i++)
		ok = hf_strings_add(cx, &cfg->labels, p, names[i], strlen(names[i]));
	free(names);
	if (!ok)
		return false;

	/* num_labels is normally derived from id2label, but check it if given */
	if (json_object_get(root, "num_labels") != NULL &&
		(!hf_json_uint(cx, root, p, "num_labels", 0, BERT_MAX_LABELS, &num_labels) ||
		 num_labels != n))
		return cx->status != BERT_CONVERT_OK ? false :
			hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					"num_labels does not match the %zu entries of id2label", n);
	return true;
}

/* The architecture decides what the model outputs. */
static const struct
{
	const char *name;
	BertModelKind kind;
}			architectures[] =
{
	{"BertModel", BERT_KIND_EMBEDDING},
	{"BertForMaskedLM", BERT_KIND_EMBEDDING},	/* the LM heads are dropped */
	{"BertForPreTraining", BERT_KIND_EMBEDDING},
	{"BertForTokenClassification", BERT_KIND_TOKEN_CLASSIFICATION},
	{"BertForSequenceClassification", BERT_KIND_SEQUENCE_CLASSIFICATION},
};

static bool
read_architecture(HfCtx *cx, HfConfig *cfg, json_t *root)
{
	json_t	   *archs = json_object_get(root, "architectures");
	const char *p = cfg->path;
	const char *s;

	if (archs != NULL && !json_is_null(archs))
	{
		if (!json_is_array(archs) || json_array_size(archs) == 0 ||
			!json_is_string(json_array_get(archs, 0)))
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
						   "architectures must be a non-empty array of strings");
		if (json_array_size(archs) > 1)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
						   "architectures lists %zu classes, expected one", json_array_size(archs));
		s = json_string_value(json_array_get(archs, 0));
	}
	else
	{
		if (!hf_json_str(cx, root, p, "model_type", &s))
			return false;
		if (s != NULL && strcmp(s, "bert") != 0)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
						   "model_type '%s' is not supported (only 'bert')", s);
		s = "BertModel";
	}
	if ((cfg->arch = hf_strdup(cx, s)) == NULL)
		return false;
	for (size_t i = 0; i < sizeof(architectures) / sizeof(architectures[0]); i++)
		if (strcmp(s, architectures[i].name) == 0)
		{
			cfg->kind = architectures[i].kind;
			return true;
		}
	return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
				   "architecture '%s' is not supported (expected BertModel, "
				   "BertForTokenClassification or BertForSequenceClassification)", s);
}

static bool
read_config_fields(HfCtx *cx, json_t *root, const char *p, void *arg)
{
	HfConfig   *cfg = arg;
	json_t	   *eps;
	const char *s;
	double		eps_value;

	if (!read_architecture(cx, cfg, root))
		return false;

	/* Hugging Face's BertConfig defaults; the ranges are the loader's */
	cfg->n_layers = 12;
	cfg->hidden = 768;
	cfg->n_heads = 12;
	cfg->ffn = 3072;
	cfg->max_positions = 512;
	cfg->type_vocab = 2;
	cfg->vocab_size = 30522;
	if (!hf_json_uint(cx, root, p, "num_hidden_layers", 1, BERT_MAX_LAYERS, &cfg->n_layers) ||
		!hf_json_uint(cx, root, p, "hidden_size", 1, BERT_MAX_HIDDEN, &cfg->hidden) ||
		!hf_json_uint(cx, root, p, "num_attention_heads", 1, BERT_MAX_HIDDEN, &cfg->n_heads) ||
		!hf_json_uint(cx, root, p, "intermediate_size", 1, BERT_MAX_FFN, &cfg->ffn) ||
		!hf_json_uint(cx, root, p, "max_position_embeddings", BERT_MIN_SEQ_LEN,
					  BERT_MAX_POSITIONS, &cfg->max_positions) ||
		!hf_json_uint(cx, root, p, "type_vocab_size", 1, BERT_MAX_TYPE_VOCAB, &cfg->type_vocab) ||
		!hf_json_uint(cx, root, p, "vocab_size", BERT_MIN_VOCAB, BERT_MAX_VOCAB, &cfg->vocab_size))
		return false;
	if (cfg->hidden % cfg->n_heads != 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					   "hidden_size %u is not a multiple of num_attention_heads %u",
					   cfg->hidden, cfg->n_heads);

	if (!hf_json_str(cx, root, p, "hidden_act", &s))
		return false;
	if (s == NULL || strcmp(s, "gelu") == 0)
		cfg->activation = BERT_ACT_GELU;
	else if (strcmp(s, "gelu_new") == 0 || strcmp(s, "gelu_pytorch_tanh") == 0 ||
			 strcmp(s, "gelu_fast") == 0)
		cfg->activation = BERT_ACT_GELU_TANH;	/* all three are the tanh form */
	else if (strcmp(s, "relu") == 0)
		cfg->activation = BERT_ACT_RELU;
	else
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					   "hidden_act '%s' is not supported (expected gelu, gelu_new, "
					   "gelu_pytorch_tanh or relu)", s);

	eps = json_object_get(root, "layer_norm_eps");
	if (eps == NULL || json_is_null(eps))
		eps_value = 1e-12;
	else if (json_is_number(eps))
		eps_value = json_number_value(eps);
	else
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "layer_norm_eps must be a number");
	/* the file stores a float: it must be in range too */
	if (!(eps_value > 0.0 && eps_value < 1.0) ||
		!((float) eps_value > 0.0f && (float) eps_value < 1.0f))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p, "layer_norm_eps %g is out of range (0, 1)",
					   eps_value);
	cfg->layer_norm_eps = (float) eps_value;

	if (!hf_json_str(cx, root, p, "position_embedding_type", &s))
		return false;
	if (s != NULL && strcmp(s, "absolute") != 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					   "position_embedding_type '%s' is not supported (only 'absolute')", s);
	if (json_is_true(json_object_get(root, "is_decoder")))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, p,
					   "is_decoder is true; only encoder models are supported");
	/* not used, but a malformed one is a sign of a broken file */
	if (!hf_json_str(cx, root, p, "_name_or_path", &s))
		return false;

	return cfg->kind == BERT_KIND_EMBEDDING || read_labels(cx, cfg, root);
}

bool
hf_read_config(HfCtx *cx, HfConfig *cfg, const char *dir)
{
	memset(cfg, 0, sizeof(*cfg));
	return hf_strings_init(cx, &cfg->labels) &&
		(cfg->path = hf_path_join(cx, dir, "config.json")) != NULL &&
		hf_read_json(cx, cfg->path, true, false, read_config_fields, cfg);
}

void
hf_free_config(HfConfig *cfg)
{
	free(cfg->path);
	free(cfg->arch);
	hf_strings_free(&cfg->labels);
}

/* ---------------------------------------------------------------------------
 * The tokenizer: vocabulary and settings.
 */
static bool
set_special(HfCtx *cx, HfTokenizer *tok, int which, const char *s)
{
	char	   *copy = hf_strdup(cx, s);

	if (copy == NULL)
		return false;
	free(tok->special[which]);
	tok->special[which] = copy;
	return true;
}

/* A special token in tokenizer_config.json: a string or {"content": ...}. */
static bool
read_special(HfCtx *cx, HfTokenizer *tok, json_t *root, const char *path, int which)
{
	json_t	   *v = json_object_get(root, hf_special_keys[which]);

	if (v == NULL || json_is_null(v))
		return true;
	if (json_is_object(v))
		v = json_object_get(v, "content");
	if (!json_is_string(v))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
					   "%s must be a string or an object with a string \"content\"",
					   hf_special_keys[which]);
	return set_special(cx, tok, which, json_string_value(v));
}

/* strip_accents: true, false, or null (the same as lower-casing) */
static bool
read_strip_accents(HfCtx *cx, json_t *obj, const char *path, int *out)
{
	json_t	   *v = json_object_get(obj, "strip_accents");

	if (v != NULL && json_is_null(v))
	{
		*out = -1;
		return true;
	}
	return hf_json_bool(cx, obj, path, "strip_accents", out);
}

static bool
read_vocab_txt(HfCtx *cx, HfStrings *vocab, const char *path)
{
	size_t		len;
	char	   *buf;
	size_t		start = 0;
	uint32_t	line = 0;
	bool		ok = true;

	if (!hf_read_file(cx, path, true, &buf, &len))
		return false;
	while (ok && start < len)
	{
		char	   *nl = memchr(buf + start, '\n', len - start);
		size_t		end = nl ? (size_t) (nl - buf) : len;
		size_t		tlen = end - start;

		line++;
		if (tlen > 0 && buf[start + tlen - 1] == '\r')
			tlen--;
		if (!bcore_valid_utf8(buf + start, tlen))
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "line %u is not valid UTF-8 text", line);
		else if (vocab->n >= BERT_MAX_VOCAB)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "more than %u tokens", BERT_MAX_VOCAB);
		else
			ok = hf_strings_add(cx, vocab, path, buf + start, tlen);
		start = end + 1;
	}
	free(buf);
	return ok;
}

static bool
read_normalizer(HfCtx *cx, HfTokenizer *tok, json_t *norm, const char *path)
{
	const char *s = NULL;

	if (norm == NULL || json_is_null(norm))
		return true;
	if (json_is_object(norm) && !hf_json_str(cx, norm, path, "type", &s))
		return false;
	if (s == NULL || strcmp(s, "BertNormalizer") != 0)
	{
		hf_warn(cx, path, "normalizer '%s' is not BertNormalizer; using BERT's defaults, "
				"so tokens may differ", s ? s : "?");
		return true;
	}
	return hf_json_bool(cx, norm, path, "lowercase", &tok->lower_case) &&
		hf_json_bool(cx, norm, path, "handle_chinese_chars", &tok->chinese_chars) &&
		read_strip_accents(cx, norm, path, &tok->strip_accents);
}

/* model.vocab: ids must be exactly 0..n-1, as the file stores tokens by id */
static bool
read_json_vocab(HfCtx *cx, HfStrings *vocab, json_t *jv, const char *path)
{
	const char *key;
	json_t	   *value;
	const char **by_id;
	size_t		n;
	bool		ok = true;

	if (!json_is_object(jv))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "model.vocab is missing or not an object");
	n = json_object_size(jv);
	if (n == 0 || n > BERT_MAX_VOCAB)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
					   "model.vocab has %zu entries, expected 1 to %u", n, BERT_MAX_VOCAB);
	if ((by_id = hf_alloc(cx, n, sizeof(*by_id))) == NULL)
		return false;
	json_object_foreach(jv, key, value)
	{
		json_int_t	id;

		if (!json_is_integer(value))
		{
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
						 "model.vocab[\"%s\"] is not an integer id", key);
			break;
		}
		id = json_integer_value(value);
		if (id < 0 || (size_t) id >= n)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
						 "model.vocab id %lld of \"%s\" is out of range: the %zu tokens "
						 "must have ids 0 to %zu", (long long) id, key, n, n - 1);
		else if (by_id[id] != NULL)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
						 "model.vocab id %lld is used by both \"%s\" and \"%s\"",
						 (long long) id, by_id[id], key);
		else
			by_id[id] = key;
		if (!ok)
			break;
	}
	for (size_t i = 0; ok && i < n; i++)
	{
		size_t		len = strlen(by_id[i]);

		/* jansson checks UTF-8; a NUL would have cut the key short */
		if (!bcore_valid_utf8(by_id[i], len))
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
						 "model.vocab token %zu is not valid UTF-8 text", i);
		else
			ok = hf_strings_add(cx, vocab, path, by_id[i], len);
	}
	free(by_id);
	return ok;
}

static bool
read_tokenizer_fields(HfCtx *cx, json_t *root, const char *path, void *arg)
{
	HfTokenizer *tok = arg;
	json_t	   *model = json_object_get(root, "model");
	const char *s;

	if (!json_is_object(model))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path, "\"model\" is missing or not an object");
	if (!hf_json_str(cx, model, path, "type", &s))
		return false;
	if (s != NULL && strcmp(s, "WordPiece") != 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
					   "model type '%s' is not supported (only WordPiece)", s);
	if (!hf_json_str(cx, model, path, "continuing_subword_prefix", &s))
		return false;
	if (s != NULL && strcmp(s, "##") != 0)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, path,
					   "continuing_subword_prefix '%s' is not supported (only '##')", s);
	if (!hf_json_str(cx, model, path, "unk_token", &s) ||
		(s != NULL && !set_special(cx, tok, HF_SPECIAL_UNK, s)) ||
		!hf_json_uint(cx, model, path, "max_input_chars_per_word", 1, BERT_MAX_CHARS_PER_WORD,
					  &tok->max_chars) ||
		!read_normalizer(cx, tok, json_object_get(root, "normalizer"), path))
		return false;
	return read_json_vocab(cx, &tok->vocab, json_object_get(model, "vocab"), path);
}

/* transformers rebuilds the normalizer from tokenizer_config.json, so it wins */
static bool
read_tokenizer_config(HfCtx *cx, json_t *root, const char *path, void *arg)
{
	HfTokenizer *tok = arg;
	bool		ok;

	ok = hf_json_bool(cx, root, path, "do_lower_case", &tok->lower_case) &&
		hf_json_bool(cx, root, path, "tokenize_chinese_chars", &tok->chinese_chars) &&
		read_strip_accents(cx, root, path, &tok->strip_accents);
	for (int i = 0; ok && i < HF_N_SPECIAL; i++)
		ok = read_special(cx, tok, root, path, i);
	return ok;
}

/* tokenizer.json is what the fast tokenizer uses, so it wins over vocab.txt */
static bool
read_vocabulary(HfCtx *cx, HfTokenizer *tok, const char *dir)
{
	if ((tok->vocab_path = hf_path_join(cx, dir, "tokenizer.json")) == NULL)
		return false;
	if (hf_file_exists(tok->vocab_path))
		return hf_read_json(cx, tok->vocab_path, true, false, read_tokenizer_fields, tok);
	free(tok->vocab_path);
	if ((tok->vocab_path = hf_path_join(cx, dir, "vocab.txt")) == NULL)
		return false;
	if (hf_file_exists(tok->vocab_path))
		return read_vocab_txt(cx, &tok->vocab, tok->vocab_path);
	return hf_fail(cx, BERT_CONVERT_BAD_INPUT, dir, "no tokenizer.json or vocab.txt");
}

bool
hf_read_tokenizer(HfCtx *cx, HfTokenizer *tok, const char *dir)
{
	char	   *tc;
	bool		ok;

	/* Hugging Face's BertTokenizer defaults */
	memset(tok, 0, sizeof(*tok));
	tok->lower_case = 1;
	tok->strip_accents = -1;
	tok->chinese_chars = 1;
	tok->max_chars = 100;
	if (!hf_strings_init(cx, &tok->vocab) ||
		!set_special(cx, tok, HF_SPECIAL_UNK, "[UNK]") ||
		!set_special(cx, tok, HF_SPECIAL_CLS, "[CLS]") ||
		!set_special(cx, tok, HF_SPECIAL_SEP, "[SEP]") ||
		!set_special(cx, tok, HF_SPECIAL_PAD, "[PAD]") ||
		!read_vocabulary(cx, tok, dir) ||
		(tc = hf_path_join(cx, dir, "tokenizer_config.json")) == NULL)
		return false;
	ok = hf_read_json(cx, tc, false, false, read_tokenizer_config, tok);
	free(tc);
	return ok;
}

void
hf_free_tokenizer(HfTokenizer *tok)
{
	for (int i = 0; i < HF_N_SPECIAL; i++)
		free(tok->special[i]);
	free(tok->vocab_path);
	hf_strings_free(&tok->vocab);
}

/* ---------------------------------------------------------------------------
 * sentence-transformers: pooling, normalisation and sequence length.
 */
static bool
set_text(HfCtx *cx, char **dst, const char *s)
{
	char	   *copy = hf_strdup(cx, s);

	if (copy == NULL)
		return false;
	free(*dst);
	*dst = copy;
	return true;
}

static bool
read_pooling_fields(HfCtx *cx, json_t *root, const char *path, void *arg)
{
	HfSentence *st = arg;
	static const char *const other_modes[] = {
		"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
		"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"
	};
	int			mean = 0;
	int			cls = 0;

	if (!hf_json_bool(cx, root, path, "pooling_mode_mean_tokens", &mean) ||
		!hf_json_bool(cx, root, path, "pooling_mode_cls_token", &cls))
		return false;
	for (size_t i = 0; i < sizeof(other_modes) / sizeof(other_modes[0]); i++)
	{
		int			on = 0;

		if (!hf_json_bool(cx, root, path, other_modes[i], &on))
			return false;
		if (on)
		{
			st->pooling_unsupported = true;
			if (!set_text(cx, &st->pooling_problem, other_modes[i]))
				return false;
		}
	}
	if (!st->pooling_unsupported && mean + cls != 1)
	{
		st->pooling_unsupported = true;
		if (!set_text(cx, &st->pooling_problem, mean ? "both mean and cls" : "no pooling mode"))
			return false;
	}
	if (!st->pooling_unsupported)
		st->pooling = mean ? BERT_POOL_MEAN : BERT_POOL_CLS;
	return set_text(cx, &st->pooling_path, path);
}

/* The Pooling module's config.json, in dir/sub. */
static bool
read_pooling(HfCtx *cx, HfSentence *st, const char *dir, const char *sub, bool required)
{
	char	   *pdir = hf_path_join(cx, dir, sub);
	char	   *path = pdir ? hf_path_join(cx, pdir, "config.json") : NULL;
	bool		ok = path != NULL;

	if (ok && (required || hf_file_exists(path)))
		ok = hf_read_json(cx, path, true, false, read_pooling_fields, st);
	free(pdir);
	free(path);
	return ok;
}

/* modules.json: the sentence-transformers pipeline */
typedef struct Modules
{
	HfSentence *st;
	const char *dir;
	bool		found;
} Modules;

static bool
read_modules(HfCtx *cx, json_t *root, const char *mpath, void *arg)
{
	HfSentence *st = ((Modules *) arg)->st;
	const char *dir = ((Modules *) arg)->dir;
	size_t		i;
	json_t	   *mod;

	((Modules *) arg)->found = true;
	st->normalize = 0;
	json_array_foreach(root, i, mod)
	{
		const char *type;
		const char *sub;
		const char *dot;

		if (!json_is_object(mod))
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, mpath, "module %zu is not an object", i);
		if (!hf_json_str(cx, mod, mpath, "type", &type))
			return false;
		if (type == NULL)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, mpath, "module %zu has no type", i);
		dot = strrchr(type, '.');
		dot = dot ? dot + 1 : type;
		if (strcmp(dot, "Transformer") == 0)
			continue;
		else if (strcmp(dot, "Normalize") == 0)
			st->normalize = 1;
		else if (strcmp(dot, "Pooling") == 0)
		{
			if (!hf_json_str(cx, mod, mpath, "path", &sub) ||
				!read_pooling(cx, st, dir, sub ? sub : "1_Pooling", true))
				return false;
		}
		else
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, mpath,
						   "module '%s' is not supported (only Transformer, Pooling "
						   "and Normalize)", type);
	}
	return true;
}

static bool
read_sentence_bert_config(HfCtx *cx, json_t *root, const char *path, void *arg)
{
	HfSentence *st = arg;
	bool		ok;

	/* any length: a longer one than the model's is cut (with a warning) */
	ok = hf_json_uint(cx, root, path, "max_seq_length", 0, UINT32_MAX, &st->max_seq_len) &&
		hf_json_bool(cx, root, path, "do_lower_case", &st->lower_case);
	if (st->lower_case == 0)
		st->lower_case = -1;	/* false leaves the tokenizer's setting */
	return ok;
}

bool
hf_read_sentence(HfCtx *cx, HfSentence *st, const char *dir)
{
	char	   *mpath = hf_path_join(cx, dir, "modules.json");
	char	   *spath = hf_path_join(cx, dir, "sentence_bert_config.json");
	Modules		modules = {st, dir, false};
	bool		ok = mpath != NULL && spath != NULL;

	memset(st, 0, sizeof(*st));
	st->pooling = -1;
	st->normalize = -1;
	st->lower_case = -1;
	ok = ok && hf_read_json(cx, mpath, false, true, read_modules, &modules);
	/* without modules.json, a Pooling module in the usual place still counts */
	ok = ok && (modules.found || read_pooling(cx, st, dir, "1_Pooling", false));
	ok = ok && hf_read_json(cx, spath, false, false, read_sentence_bert_config, st);
	free(mpath);
	free(spath);
	return ok;
}

void
hf_free_sentence(HfSentence *st)
{
	free(st->pooling_path);
	free(st->pooling_problem);
}
