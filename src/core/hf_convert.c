/*
 * hf_convert.c — a Hugging Face checkpoint directory to one model file:
 * settings resolved (options, then the checkpoint's files, then Hugging
 * Face's defaults), the tensor plan (which checkpoint tensor becomes which
 * model tensor, in a fixed order, checked for dtype and shape), and the
 * tensors converted (F32, F16 and BF16 to F32; F16 linear weights packed
 * as F16P) while the one writer (model_write.c) writes the file.
 */
#include "hf_checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

#define CHUNK_ELEMS		((size_t) 1 << 18)	/* elements converted per step */

/* The tensors the output holds, in a fixed order, and where each comes from. */
typedef struct Plan
{
	BertWriteTensor *w;			/* the model tensors */
	HfTensor  **src;			/* the checkpoint tensor of each */
	bool	   *linear;			/* an encoder layer's linear weight */
	uint32_t	n;
	uint32_t	cap;
} Plan;

/* What the fill callback needs to convert a tensor. */
typedef struct Filler
{
	HfCtx	   *cx;
	const HfWeights *weights;
	const Plan *plan;
	unsigned char *raw;			/* CHUNK_ELEMS elements as read */
	float	   *out;			/* CHUNK_ELEMS elements as written */
} Filler;

static bool plan_add(HfCtx *cx, Plan *plan, bool linear, uint32_t d0, uint32_t d1,
					 const char *fmt,...) __attribute__((format(printf, 6, 7)));

/* Add a tensor of shape [d0] or, when d1 > 0, [d0, d1]. */
static bool
plan_add(HfCtx *cx, Plan *plan, bool linear, uint32_t d0, uint32_t d1, const char *fmt,...)
{
	BertTensorEntry *e;
	va_list		ap;
	int			len;

	if (plan->n == plan->cap)
	{
		uint32_t	cap = plan->cap ? plan->cap * 2 : 64;
		BertWriteTensor *w = hf_realloc(cx, plan->w, (size_t) cap * sizeof(*w));
		HfTensor  **src = w ? hf_realloc(cx, plan->src, (size_t) cap * sizeof(*src)) : NULL;
		bool	   *lin = src ? hf_realloc(cx, plan->linear, (size_t) cap * sizeof(*lin)) : NULL;

		if (w != NULL)
			plan->w = w;
		if (src != NULL)
			plan->src = src;
		if (lin == NULL)
			return false;
		plan->linear = lin;
		plan->cap = cap;
	}
	memset(&plan->w[plan->n], 0, sizeof(plan->w[plan->n]));
	e = &plan->w[plan->n].entry;
	va_start(ap, fmt);
	len = vsnprintf(e->name, sizeof(e->name), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t) len >= sizeof(e->name))
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, NULL, "tensor name too long");
	e->dtype = BERT_DTYPE_F32;
	e->ndim = d1 > 0 ? 2 : 1;
	e->shape[0] = d0;
	e->shape[1] = d1;
	plan->src[plan->n] = NULL;
	plan->linear[plan->n] = linear;
	plan->n++;
	return true;
}

static bool
plan_layer(HfCtx *cx, Plan *p, uint32_t l, uint32_t h, uint32_t f)
{
	static const char *const qkv[] = {"query", "key", "value"};
	const char *L = "encoder.layer";

	for (int k = 0; k < 3; k++)
		if (!plan_add(cx, p, true, h, h, "%s.%u.attention.self.%s.weight", L, l, qkv[k]) ||
			!plan_add(cx, p, false, h, 0, "%s.%u.attention.self.%s.bias", L, l, qkv[k]))
			return false;
	return plan_add(cx, p, true, h, h, "%s.%u.attention.output.dense.weight", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.attention.output.dense.bias", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.attention.output.LayerNorm.weight", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.attention.output.LayerNorm.bias", L, l) &&
		plan_add(cx, p, true, f, h, "%s.%u.intermediate.dense.weight", L, l) &&
		plan_add(cx, p, false, f, 0, "%s.%u.intermediate.dense.bias", L, l) &&
		plan_add(cx, p, true, h, f, "%s.%u.output.dense.weight", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.output.dense.bias", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.output.LayerNorm.weight", L, l) &&
		plan_add(cx, p, false, h, 0, "%s.%u.output.LayerNorm.bias", L, l);
}

static bool
plan_build(HfCtx *cx, Plan *p, const HfConfig *cfg, HfWeights *w)
{
	uint32_t	h = cfg->hidden;
	bool		pooler;

	if (!plan_add(cx, p, false, cfg->vocab_size, h, "embeddings.word_embeddings.weight") ||
		!plan_add(cx, p, false, cfg->max_positions, h, "embeddings.position_embeddings.weight") ||
		!plan_add(cx, p, false, cfg->type_vocab, h, "embeddings.token_type_embeddings.weight") ||
		!plan_add(cx, p, false, h, 0, "embeddings.LayerNorm.weight") ||
		!plan_add(cx, p, false, h, 0, "embeddings.LayerNorm.bias"))
		return false;
	for (uint32_t l = 0; l < cfg->n_layers; l++)
		if (!plan_layer(cx, p, l, h, cfg->ffn))
			return false;

	/* sequence classification needs the pooler; elsewhere keep it if present */
	pooler = cfg->kind == BERT_KIND_SEQUENCE_CLASSIFICATION ||
		hf_find_tensor(w, "pooler.dense.weight") != NULL ||
		hf_find_tensor(w, "pooler.dense.bias") != NULL;
	if (pooler &&
		(!plan_add(cx, p, false, h, h, "pooler.dense.weight") ||
		 !plan_add(cx, p, false, h, 0, "pooler.dense.bias")))
		return false;
	if (cfg->kind != BERT_KIND_EMBEDDING &&
		(!plan_add(cx, p, false, cfg->labels.n, h, "classifier.weight") ||
		 !plan_add(cx, p, false, cfg->labels.n, 0, "classifier.bias")))
		return false;
	return true;
}

static void
plan_free(Plan *p)
{
	free(p->w);
	free(p->src);
	free(p->linear);
}

/*
 * An encoder linear weight stored as F16 in the checkpoint is written as
 * F16P, its halves only reordered (lossless, half the bytes); anything else,
 * or every weight with f32_weights, as F32.
 */
static void
plan_dtypes(Plan *p, bool f32_weights)
{
	for (uint32_t k = 0; k < p->n; k++)
		if (p->linear[k] && !f32_weights && p->src[k]->dtype == HF_F16)
			p->w[k].entry.dtype = BERT_DTYPE_F16P;
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

/* Pair the checkpoint's tensors with the plan's: every problem is listed. */
static bool
plan_pair(HfCtx *cx, Plan *p, HfWeights *w, const HfConfig *cfg)
{
	int			errors = 0;

	for (uint32_t i = 0; i < w->n; i++)
	{
		HfTensor   *t = &w->t[i];
		const char *c = t->canon;
		int64_t		k = -1;

		/* buffers, not weights */
		if (strcmp(c, "embeddings.position_ids") == 0 ||
			strcmp(c, "embeddings.token_type_ids") == 0)
			continue;
		for (uint32_t j = 0; j < p->n; j++)
			if (strcmp(p->w[j].entry.name, c) == 0)
				k = j;
		if (k >= 0)
		{
			if (p->src[k] != NULL)
			{
				hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "tensors '%s' and '%s' are both '%s'",
						p->src[k]->name, t->name, c);
				errors++;
			}
			p->src[k] = t;
			continue;
		}
		if (starts_with(c, "encoder.layer."))
		{
			unsigned long l = strtoul(c + 14, NULL, 10);

			if (l >= cfg->n_layers)
			{
				hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "tensor '%s' is for layer %lu, but "
						"config.json has num_hidden_layers %u", t->name, l, cfg->n_layers);
				errors++;
				continue;
			}
		}
		if (starts_with(c, "embeddings.") || starts_with(c, "encoder.") ||
			starts_with(c, "pooler."))
			hf_warn(cx, w->path, "ignoring unexpected tensor '%s'", t->name);
	}
	return errors == 0;
}

/* Every planned tensor found, with a dtype we read and the expected shape. */
static bool
plan_check(HfCtx *cx, Plan *p, HfWeights *w, bool ok)
{
	uint32_t	missing = 0;

	for (uint32_t k = 0; k < p->n; k++)
	{
		const BertTensorEntry *e = &p->w[k].entry;
		HfTensor   *t = p->src[k];
		bool		same;

		if (t == NULL)
		{
			if (missing++ < 10)
				hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "missing tensor '%s'", e->name);
			ok = false;
			continue;
		}
		if (t->dtype == HF_OTHER)
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path,
						 "tensor '%s' has dtype %s, expected F32, F16 or BF16",
						 t->name, t->dtype_name);
		same = t->ndim == e->ndim;
		for (uint32_t d = 0; same && d < e->ndim; d++)
			same = t->shape[d] == e->shape[d];
		if (!same)
		{
			char		got[256];
			char		want[256];
			uint64_t	shape[BERT_MAX_DIMS];

			for (uint32_t d = 0; d < e->ndim; d++)
				shape[d] = e->shape[d];
			format_shape(got, sizeof(got), t->ndim, t->shape);
			format_shape(want, sizeof(want), e->ndim, shape);
			ok = hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path,
						 "tensor '%s' has shape %s, expected %s", t->name, got, want);
		}
	}
	if (missing > 10)
		hf_fail(cx, BERT_CONVERT_BAD_INPUT, w->path, "... and %u more missing tensors",
				missing - 10);
	return ok;
}

/* ---------------------------------------------------------------------------
 * The tensors' bytes, for the writer.
 */
static float
bf16_to_float(uint16_t b)
{
	uint32_t	bits = (uint32_t) b << 16;	/* bf16 is the top half of a float */
	float		f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/*
 * An F16 [out, in] tensor as F16P: a panel of BERT_F16P_PANEL rows at a
 * time, its halves reordered input-major, the last panel padded with zeros.
 */
static BertWriteStatus
fill_f16p(Filler *f, const HfTensor *t, const BertTensorEntry *e, BertModelOut *out,
		  uint64_t *nonfinite)
{
	uint32_t	n_out = e->shape[0],
				in = e->shape[1];
	size_t		panel_bytes = (size_t) BERT_F16P_PANEL * in * sizeof(uint16_t);
	uint16_t   *rows = hf_alloc(f->cx, 1, panel_bytes);
	uint16_t   *panel = rows ? hf_alloc(f->cx, 1, panel_bytes) : NULL;
	BertWriteStatus st = BERT_WRITE_OK;

	if (panel == NULL)
		st = BERT_WRITE_NOMEM;
	for (uint32_t o0 = 0; st == BERT_WRITE_OK && o0 < n_out; o0 += BERT_F16P_PANEL)
	{
		uint32_t	n = n_out - o0 < BERT_F16P_PANEL ? n_out - o0 : BERT_F16P_PANEL;

		if (!hf_read_tensor(f->cx, f->weights, t, (uint64_t) o0 * in * sizeof(uint16_t),
							rows, (size_t) n * in * sizeof(uint16_t)))
		{
			st = BERT_WRITE_BAD_INPUT;
			break;
		}
		memset(panel, 0, panel_bytes);
		for (uint32_t r = 0; r < n; r++)
			for (uint32_t i = 0; i < in; i++)
			{
				uint16_t	h = rows[(size_t) r * in + i];

				panel[bcore_f16p_index(r, i, in)] = h;
				if ((h & 0x7C00u) == 0x7C00u)
					(*nonfinite)++;
			}
		if (!bcore_model_out_put(out, panel, panel_bytes))
			st = BERT_WRITE_IO;
	}
	free(rows);
	free(panel);
	return st;
}

/* The writer's fill callback: tensor i converted to fp32 in chunks, or F16P. */
static BertWriteStatus
fill_tensor(void *arg, uint32_t i, const BertTensorEntry *e, BertModelOut *out,
			char *errbuf, size_t errlen)
{
	Filler	   *f = arg;
	const HfTensor *t = f->plan->src[i];
	uint64_t	n = e->nbytes / sizeof(float);
	uint64_t	done = 0;
	uint64_t	nonfinite = 0;
	BertWriteStatus st = BERT_WRITE_OK;

	(void) errbuf;				/* problems go to f->cx, with the others */
	(void) errlen;
	if (e->dtype == BERT_DTYPE_F16P)
		st = fill_f16p(f, t, e, out, &nonfinite);
	while (e->dtype == BERT_DTYPE_F32 && st == BERT_WRITE_OK && done < n)
	{
		size_t		chunk = n - done < CHUNK_ELEMS ? (size_t) (n - done) : CHUNK_ELEMS;
		const unsigned char *raw = f->raw;
		float	   *o = f->out;

		if (!hf_read_tensor(f->cx, f->weights, t, done * t->elem_size, f->raw,
							chunk * t->elem_size))
			return BERT_WRITE_BAD_INPUT;
		if (t->dtype == HF_F32)
			memcpy(o, raw, chunk * sizeof(float));
		else if (t->dtype == HF_F16)
			for (size_t k = 0; k < chunk; k++)
				o[k] = bcore_half_to_float((uint16_t) (raw[2 * k] | raw[2 * k + 1] << 8));
		else
			for (size_t k = 0; k < chunk; k++)
				o[k] = bf16_to_float((uint16_t) (raw[2 * k] | raw[2 * k + 1] << 8));
		for (size_t k = 0; k < chunk; k++)
			if (!isfinite(o[k]))
				nonfinite++;
		if (!bcore_model_out_put(out, o, chunk * sizeof(float)))
			return BERT_WRITE_IO;
		done += chunk;
	}
	if (st == BERT_WRITE_OK && nonfinite > 0)
		hf_warn(f->cx, f->weights->path, "tensor '%s' has %" PRIu64
				" values that are infinite or NaN", t->name, nonfinite);
	return st;
}

/* ---------------------------------------------------------------------------
 * Settings: options first, then the checkpoint, then the defaults.
 */
typedef struct Settings
{
	uint32_t	ids[HF_N_SPECIAL];
	uint32_t	flags;
	int			pooling;
	uint32_t	max_seq_len;
} Settings;

/* The special tokens' ids; a warning for repeated tokens. */
static bool
special_ids(HfCtx *cx, const HfTokenizer *tok, const uint32_t *slots, uint32_t n_slots,
			uint32_t n_dups, uint32_t first_dup, Settings *s)
{
	const HfStrings *v = &tok->vocab;
	BertVocab	view;

	if (n_dups > 0)
		hf_warn(cx, tok->vocab_path, "%u repeated tokens, e.g. \"%.*s\" again as id %u; the "
				"last id is used", n_dups,
				(int) (v->offsets[first_dup + 1] - v->offsets[first_dup]),
				v->blob + v->offsets[first_dup], first_dup);
	memset(&view, 0, sizeof(view));
	view.size = v->n;
	view.offsets = v->offsets;
	view.blob = v->blob;
	view.slots = slots;
	view.n_slots = n_slots;
	for (int i = 0; i < HF_N_SPECIAL; i++)
	{
		int32_t		id = bcore_vocab_lookup(&view, tok->special[i], strlen(tok->special[i]));

		if (id < 0)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, tok->vocab_path,
						   "special token \"%s\" (%s) is not in the vocabulary",
						   tok->special[i], hf_special_keys[i]);
		s->ids[i] = (uint32_t) id;
	}
	return true;
}

/* Tokens with upper-case letters (not [SPECIAL] or <special>). */
static uint32_t
cased_tokens(const HfStrings *v)
{
	uint32_t	cased = 0;

	for (uint32_t i = 0; i < v->n; i++)
	{
		const char *s = v->blob + v->offsets[i];
		size_t		len = v->offsets[i + 1] - v->offsets[i];

		if (len > 0 && s[0] != '[' && s[0] != '<')
			for (size_t k = 0; k < len; k++)
				if (s[k] >= 'A' && s[k] <= 'Z')
				{
					cased++;
					break;
				}
	}
	return cased;
}

static bool
resolve(HfCtx *cx, const BertConvertOptions *opt, const HfConfig *cfg, const HfTokenizer *tok,
		const HfSentence *sts, Settings *s)
{
	int			lower_case;
	int			strip_accents;
	int			normalize;

	lower_case = opt->lower_case >= 0 ? opt->lower_case :
		sts->lower_case >= 0 ? sts->lower_case : tok->lower_case;
	strip_accents = tok->strip_accents >= 0 ? tok->strip_accents : lower_case;
	if (lower_case)
	{
		uint32_t	cased = cased_tokens(&tok->vocab);

		if (cased > 0)
			hf_warn(cx, tok->vocab_path, "input will be lower-cased, but %u tokens have "
					"upper-case letters; use --no-lower-case for a cased model", cased);
	}

	if (opt->pooling >= 0)
		s->pooling = opt->pooling;
	else if (cfg->kind != BERT_KIND_EMBEDDING)
		s->pooling = BERT_POOL_CLS;
	else if (sts->pooling_unsupported)
		return hf_fail(cx, BERT_CONVERT_BAD_INPUT, sts->pooling_path,
					   "pooling (%s) is not supported; use --pooling mean or "
					   "--pooling cls to choose one", sts->pooling_problem);
	else if (sts->pooling >= 0)
		s->pooling = sts->pooling;
	else
		s->pooling = BERT_POOL_MEAN;
	if (cfg->kind == BERT_KIND_SEQUENCE_CLASSIFICATION && s->pooling != BERT_POOL_CLS)
		return hf_fail(cx, BERT_CONVERT_BAD_OPTION, NULL,
					   "--pooling mean does not apply to a sequence classification model, "
					   "whose classifier reads the pooled [CLS] state");

	if (opt->normalize >= 0)
		normalize = opt->normalize;
	else if (cfg->kind != BERT_KIND_EMBEDDING)
		normalize = 0;
	else if (sts->normalize >= 0)
		normalize = sts->normalize;
	else
		normalize = 1;
	if (cfg->kind != BERT_KIND_EMBEDDING && normalize)
		return hf_fail(cx, BERT_CONVERT_BAD_OPTION, NULL,
					   "--normalize applies only to embedding models");

	if (opt->max_seq_len > 0)
	{
		if (opt->max_seq_len > cfg->max_positions)
			return hf_fail(cx, BERT_CONVERT_BAD_OPTION, NULL,
						   "--max-seq-length %u exceeds max_position_embeddings %u",
						   opt->max_seq_len, cfg->max_positions);
		s->max_seq_len = opt->max_seq_len;
	}
	else if (sts->max_seq_len > 0)
	{
		s->max_seq_len = sts->max_seq_len;
		if (s->max_seq_len > cfg->max_positions)
		{
			hf_warn(cx, NULL, "sentence_bert_config.json max_seq_length %u exceeds "
					"max_position_embeddings %u; using %u",
					s->max_seq_len, cfg->max_positions, cfg->max_positions);
			s->max_seq_len = cfg->max_positions;
		}
		if (s->max_seq_len < BERT_MIN_SEQ_LEN)
			return hf_fail(cx, BERT_CONVERT_BAD_INPUT, NULL,
						   "sentence_bert_config.json max_seq_length %u is too small",
						   s->max_seq_len);
	}
	else
		s->max_seq_len = cfg->max_positions;

	s->flags = (lower_case ? BERT_FLAG_LOWER_CASE : 0) |
		(strip_accents ? BERT_FLAG_STRIP_ACCENTS : 0) |
		(tok->chinese_chars ? BERT_FLAG_CHINESE_CHARS : 0) |
		(normalize ? BERT_FLAG_NORMALIZE : 0);
	return true;
}

static void
fill_header(BertFileHeader *h, const HfConfig *cfg, const HfTokenizer *tok, const Settings *s,
			const char *source)
{
	/* everything else zero; the fields fill the header, no padding (model_format.h) */
	*h = (BertFileHeader)
	{
		.kind = cfg->kind,
		.n_layers = cfg->n_layers,
		.hidden = cfg->hidden,
		.n_heads = cfg->n_heads,
		.ffn = cfg->ffn,
		.max_positions = cfg->max_positions,
		.type_vocab = cfg->type_vocab,
		.activation = cfg->activation,
		.pooling = (uint32_t) s->pooling,
		.flags = s->flags,
		.max_seq_len = s->max_seq_len,
		.max_chars_per_word = tok->max_chars,
		.unk_id = s->ids[HF_SPECIAL_UNK],
		.cls_id = s->ids[HF_SPECIAL_CLS],
		.sep_id = s->ids[HF_SPECIAL_SEP],
		.pad_id = s->ids[HF_SPECIAL_PAD],
		.layer_norm_eps = cfg->layer_norm_eps,
	};
	bcore_model_set_source(h, source);
}

void
bcore_convert_options_init(BertConvertOptions *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->pooling = -1;
	opt->normalize = -1;
	opt->lower_case = -1;
}

/* The options themselves, before anything is read. */
static bool
check_options(HfCtx *cx, const BertConvertOptions *opt)
{
	if (opt->max_seq_len != 0 &&
		(opt->max_seq_len < BERT_MIN_SEQ_LEN || opt->max_seq_len > BERT_MAX_POSITIONS))
		return hf_fail(cx, BERT_CONVERT_BAD_OPTION, NULL,
					   "--max-seq-length must be from %d to %d, not %u",
					   BERT_MIN_SEQ_LEN, BERT_MAX_POSITIONS, opt->max_seq_len);
	if (opt->pooling > BERT_POOL_CLS)
		return hf_fail(cx, BERT_CONVERT_BAD_OPTION, NULL, "pooling %d is unknown", opt->pooling);
	return true;
}

/* Everything read and checked: write the file. */
static bool
write_model(HfCtx *cx, const char *out_path, const BertConvertOptions *opt, const char *dir,
			const HfConfig *cfg, const HfTokenizer *tok, const Settings *s,
			const uint32_t *slots, uint32_t n_slots, const HfWeights *w, const Plan *plan)
{
	BertModelParts parts;
	Filler		f;
	char		err[1024] = "";
	BertWriteStatus st;

	memset(&parts, 0, sizeof(parts));
	fill_header(&parts.header, cfg, tok, s, opt->source ? opt->source : dir);
	parts.vocab = hf_strings_view(&tok->vocab);
	parts.hash = slots;
	parts.hash_slots = n_slots;
	parts.labels = hf_strings_view(&cfg->labels);
	parts.tensors = plan->w;
	parts.n_tensors = plan->n;
	parts.fill = fill_tensor;
	parts.fill_arg = &f;
	f.cx = cx;
	f.weights = w;
	f.plan = plan;
	f.raw = hf_alloc(cx, CHUNK_ELEMS, sizeof(float));
	f.out = f.raw ? hf_alloc(cx, CHUNK_ELEMS, sizeof(float)) : NULL;
	if (f.out == NULL)
	{
		free(f.raw);
		return false;
	}
	st = bcore_model_file_write(out_path, &parts, opt->written, err, sizeof(err));
	free(f.raw);
	free(f.out);
	if (st == BERT_WRITE_OK)
		return true;
	if (cx->status != BERT_CONVERT_OK)
		return false;			/* a fill callback said why */
	return hf_fail(cx, st == BERT_WRITE_IO ? BERT_CONVERT_IO :
				   st == BERT_WRITE_NOMEM ? BERT_CONVERT_NOMEM :
				   st == BERT_WRITE_BAD_INPUT ? BERT_CONVERT_BAD_INPUT : BERT_CONVERT_INTERNAL,
				   NULL, "%s", err);
}

BertConvertStatus
bcore_convert_checkpoint(const char *dir, const char *out_path, const BertConvertOptions *opt,
						 char *errbuf, size_t errlen)
{
	HfCtx		cx;
	HfConfig	cfg;
	HfTokenizer tok;
	HfSentence	sts;
	HfWeights	w;
	Plan		plan;
	Settings	s;
	uint32_t   *slots = NULL;
	uint32_t	n_slots = 0,
				n_dups = 0,
				first_dup = 0;

	memset(&cx, 0, sizeof(cx));
	cx.errbuf = errbuf;
	cx.errlen = errlen;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	cx.warn = opt->warn;
	cx.warn_arg = opt->warn_arg;
	cx.cancel = opt->cancel;
	cx.cancel_arg = opt->cancel_arg;
	memset(&cfg, 0, sizeof(cfg));
	memset(&tok, 0, sizeof(tok));
	memset(&sts, 0, sizeof(sts));
	memset(&w, 0, sizeof(w));
	w.fd = -1;
	memset(&plan, 0, sizeof(plan));
	memset(&s, 0, sizeof(s));
	sts.pooling = sts.normalize = sts.lower_case = -1;

	if (check_options(&cx, opt) &&
		hf_read_config(&cx, &cfg, dir) &&
		hf_read_tokenizer(&cx, &tok, dir))
	{
		BertStrings vocab = hf_strings_view(&tok.vocab);

		if (tok.vocab.n != cfg.vocab_size)
			hf_fail(&cx, BERT_CONVERT_BAD_INPUT, tok.vocab_path,
					"the vocabulary has %u tokens, but config.json vocab_size is %u",
					tok.vocab.n, cfg.vocab_size);
		else if (!bcore_vocab_index(&vocab, &slots, &n_slots, &n_dups, &first_dup))
			hf_fail(&cx, BERT_CONVERT_NOMEM, NULL, "out of memory");
		else if (special_ids(&cx, &tok, slots, n_slots, n_dups, first_dup, &s) &&
		/* sentence-transformers pooling only means something for embeddings */
				 (cfg.kind != BERT_KIND_EMBEDDING || hf_read_sentence(&cx, &sts, dir)) &&
				 resolve(&cx, opt, &cfg, &tok, &sts, &s) &&
				 hf_open_weights(&cx, &w, dir) &&
				 plan_build(&cx, &plan, &cfg, &w) &&
				 plan_check(&cx, &plan, &w, plan_pair(&cx, &plan, &w, &cfg)))
		{
			plan_dtypes(&plan, opt->f32_weights);
			write_model(&cx, out_path, opt, dir, &cfg, &tok, &s, slots, n_slots, &w, &plan);
		}
	}

	plan_free(&plan);
	hf_close_weights(&w);
	hf_free_sentence(&sts);
	free(slots);
	hf_free_tokenizer(&tok);
	hf_free_config(&cfg);
	return cx.status;
}
