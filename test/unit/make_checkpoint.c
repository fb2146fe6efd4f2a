/*
 * make_checkpoint.c — test helper: write a small synthetic Hugging Face BERT
 * checkpoint with random weights for bert-convert.
 *
 *   make_checkpoint DIR [options]
 *
 * Writes DIR/config.json, DIR/model.safetensors, DIR/vocab.txt or
 * DIR/tokenizer.json, and DIR/expected.txt: the tensors a conversion must
 * produce, in file order, as "name [shape] fnv64" of their fp32 bytes (the
 * format of dump_model --tensors).  The fp32 values are decoded here with
 * ldexp arithmetic, independently of the converter's bit manipulation.
 *
 * --small (F32 only) draws every value uniformly from [-0.25, 0.25) (1 more
 * for LayerNorm gains), so that
 * the forward pass gives finite, varied outputs, and writes DIR/head.csv:
 * "tensor,row,col,value" for pooler.* and classifier.* (vectors have col 0,
 * values exact as %.9g), for SQL tests that recompute the head.
 */
#include <math.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_T 512

typedef enum
{
	DT_F32, DT_F16, DT_BF16
} DType;

typedef struct Tensor
{
	char		name[128];		/* canonical name, no prefix */
	uint32_t	ndim;
	uint32_t	shape[2];
	bool		expected;		/* appears in the converted file */
	bool		i64;			/* position_ids */
} Tensor;

static struct
{
	const char *dir;
	const char *arch;			/* embed, token, seq */
	DType		dtype;
	bool		prefix;
	bool		json_vocab;
	bool		crlf;
	bool		cased;
	bool		pooler;
	bool		special;
	bool		mlm;
	bool		small;
	uint32_t	layers, hidden, heads, ffn, vocab, labels, positions;
	uint64_t	seed;
	const char *omit;
	const char *wrong_shape;
	const char *act;
}			o = {
	/* the defaults; the options below change them */
	.arch = "embed", .dtype = DT_F32, .pooler = true, .act = "gelu",
	.layers = 2, .hidden = 32, .heads = 4, .ffn = 64, .vocab = 64, .labels = 5, .positions = 40,
	.seed = 88172645463325252u,
};

static Tensor tensors[MAX_T];
static int	n_tensors;

static uint64_t
rnd(void)
{
	/* xorshift64*: reproducible from --seed */
	o.seed ^= o.seed >> 12;
	o.seed ^= o.seed << 25;
	o.seed ^= o.seed >> 27;
	return o.seed * 2685821657736338717u;
}

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "make_checkpoint: %s%s\n", msg, arg ? arg : "");
	exit(2);
}

static FILE *
open_out(const char *name)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", o.dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		die("cannot create ", path);
	return f;
}

static void
add(uint32_t d0, uint32_t d1, bool expected, const char *fmt, uint32_t layer, const char *part)
{
	Tensor	   *t = &tensors[n_tensors++];

	snprintf(t->name, sizeof(t->name), fmt, layer, part);
	t->ndim = d1 ? 2 : 1;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->expected = expected;
	t->i64 = false;
}

/*
 * A 16-bit float with mant_bits of mantissa and exp_bits of exponent
 * (binary16: 10, 5; bfloat16: 7, 8), decoded with ldexp.
 */
static float
value16(uint16_t h, int mant_bits, int exp_bits)
{
	int			emax = (1 << exp_bits) - 1;
	int			bias = emax >> 1;
	int			e = (h >> mant_bits) & emax;
	int			m = h & ((1 << mant_bits) - 1);
	float		v;

	if (e == emax)
	{
		uint32_t	bits = ((uint32_t) (h & 0x8000) << 16) | 0x7F800000 | ((uint32_t) m << (23 - mant_bits));

		memcpy(&v, &bits, 4);
		return v;
	}
	v = e == 0 ? ldexpf((float) m, 1 - bias - mant_bits) :
		ldexpf((float) ((1 << mant_bits) + m), e - bias - mant_bits);
	return (h & 0x8000) ? -v : v;
}

static const uint16_t special_f16[] = {
	0x3C00, 0x0001, 0x7C00, 0xC000, 0xFC00, 0x0000, 0x8000, 0x03FF,
	0x0400, 0x7BFF, 0x7E00, 0xFE01, 0x3555
};
static const uint16_t special_bf16[] = {
	0x3F80, 0x0001, 0x7F80, 0xC000, 0xFF80, 0x0000, 0x8000, 0x007F,
	0x0080, 0x7F7F, 0x7FC0, 0xFFC1, 0x3EAB
};

/* Raw bytes of tensor t in the chosen dtype, and its fp32 values. */
static void
make_values(const Tensor *t, uint32_t count, uint8_t *raw, float *f32)
{
	bool		special = o.special && strcmp(t->name, "embeddings.LayerNorm.bias") == 0;

	for (uint32_t i = 0; i < count; i++)
	{
		uint64_t	r = rnd();

		if (o.small)
		{
			/* 24 random bits: exact in fp32; LayerNorm gains near 1 */
			f32[i] = ((float) (r >> 40) / 16777216.0f - 0.5f) * 0.5f;
			if (strstr(t->name, "LayerNorm.weight") != NULL)
				f32[i] += 1.0f;
			memcpy(raw + 4 * i, &f32[i], 4);
		}
		else if (o.dtype == DT_F32)
		{
			uint32_t	bits = (uint32_t) r;

			if (((bits >> 23) & 0xFF) == 0xFF)
				bits &= 0xBFFFFFFF;		/* no inf or NaN */
			memcpy(raw + 4 * i, &bits, 4);
			memcpy(&f32[i], &bits, 4);
		}
		else
		{
			uint16_t	h = (uint16_t) r;

			if (special && i < sizeof(special_f16) / sizeof(special_f16[0]))
				h = o.dtype == DT_F16 ? special_f16[i] : special_bf16[i];
			else if (o.dtype == DT_F16 && ((h >> 10) & 0x1F) == 0x1F)
				h &= 0xBFFF;
			else if (o.dtype == DT_BF16 && ((h >> 7) & 0xFF) == 0xFF)
				h &= 0xBFFF;
			raw[2 * i] = (uint8_t) h;
			raw[2 * i + 1] = (uint8_t) (h >> 8);
			f32[i] = o.dtype == DT_F16 ? value16(h, 10, 5) : value16(h, 7, 8);
		}
	}
}

static uint64_t
fnv64(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t	h = 14695981039346656037u;

	for (size_t i = 0; i < len; i++)
	{
		h ^= b[i];
		h *= 1099511628211u;
	}
	return h;
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
write_vocab(void)
{
	static const char *const words[] = {
		"the", "a", "\"", "\\", "caf\xc3\xa9", "##\xc3\xa9", "##s", "\xe6\x97\xa5", "##ing", "hello"
	};
	static const char *const cased_words[] = {"Hello", "World", "McDonald"};
	char	  **tok = calloc(o.vocab, sizeof(char *));
	uint32_t   *order = calloc(o.vocab, sizeof(uint32_t));
	uint32_t	n = 0;
	char		buf[64];
	FILE	   *f;

	tok[n++] = strdup("[PAD]");
	for (int i = 0; i < 4; i++)
	{
		snprintf(buf, sizeof(buf), "[unused%d]", i);
		tok[n++] = strdup(buf);
	}
	tok[n++] = strdup("[UNK]");
	tok[n++] = strdup("[CLS]");
	tok[n++] = strdup("[SEP]");
	tok[n++] = strdup("[MASK]");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		tok[n++] = strdup(words[i]);
	if (o.cased)
		for (size_t i = 0; i < sizeof(cased_words) / sizeof(cased_words[0]); i++)
			tok[n++] = strdup(cased_words[i]);
	if (n > o.vocab)
		die("--vocab-size too small", NULL);
	while (n < o.vocab)
	{
		snprintf(buf, sizeof(buf), "w%u", n);
		tok[n++] = strdup(buf);
	}

	if (!o.json_vocab)
	{
		f = open_out("vocab.txt");
		for (uint32_t i = 0; i < n; i++)
			fprintf(f, "%s%s", tok[i], o.crlf ? "\r\n" : "\n");
		fclose(f);
		if (o.cased)
		{
			f = open_out("tokenizer_config.json");
			fprintf(f, "{\"do_lower_case\": false, \"unk_token\": \"[UNK]\"}\n");
			fclose(f);
		}
	}
	else
	{
		/* the vocab object in shuffled order: ids, not positions, matter */
		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
		for (uint32_t i = n - 1; i > 0; i--)
		{
			uint32_t	j = (uint32_t) (rnd() % (i + 1));
			uint32_t	t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		f = open_out("tokenizer.json");
		fprintf(f, "{\"version\":\"1.0\",\"normalizer\":{\"type\":\"BertNormalizer\","
				"\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,"
				"\"lowercase\":%s},\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
				"\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":77,"
				"\"vocab\":{", o.cased ? "false" : "true");
		for (uint32_t i = 0; i < n; i++)
		{
			if (i)
				fputc(',', f);
			json_string(f, tok[order[i]]);
			fprintf(f, ":%u", order[i]);
		}
		fprintf(f, "}}}\n");
		fclose(f);
	}
	for (uint32_t i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	free(order);
}

static void
write_config(void)
{
	FILE	   *f = open_out("config.json");
	static const char *const ner[] = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"};
	static const char *const sent[] = {"negative", "neutral", "positive"};
	const char *arch = strcmp(o.arch, "token") == 0 ? "BertForTokenClassification" :
		strcmp(o.arch, "seq") == 0 ? "BertForSequenceClassification" : "BertModel";

	fprintf(f, "{\n  \"architectures\": [\"%s\"],\n", arch);
	fprintf(f, "  \"hidden_act\": \"%s\",\n", o.act);
	fprintf(f, "  \"hidden_size\": %u,\n  \"num_hidden_layers\": %u,\n"
			"  \"num_attention_heads\": %u,\n  \"intermediate_size\": %u,\n"
			"  \"max_position_embeddings\": %u,\n  \"type_vocab_size\": 2,\n"
			"  \"vocab_size\": %u,\n  \"layer_norm_eps\": 1e-05,\n"
			"  \"position_embedding_type\": \"absolute\",\n  \"model_type\": \"bert\"",
			o.hidden, o.layers, o.heads, o.ffn, o.positions, o.vocab);
	if (strcmp(o.arch, "embed") != 0)
	{
		/* keys in reverse order: the converter must sort by id */
		fprintf(f, ",\n  \"id2label\": {");
		for (int i = (int) o.labels - 1; i >= 0; i--)
		{
			char		name[32];

			if (strcmp(o.arch, "token") == 0 && i < 7)
				snprintf(name, sizeof(name), "%s", ner[i]);
			else if (strcmp(o.arch, "seq") == 0 && i < 3)
				snprintf(name, sizeof(name), "%s", sent[i]);
			else
				snprintf(name, sizeof(name), "L%d", i);
			fprintf(f, "\"%d\": \"%s\"%s", i, name, i ? ", " : "");
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n}\n");
	fclose(f);
}

static void
build_tensors(void)
{
	uint32_t	h = o.hidden;
	static const char *const qkv[] = {"query", "key", "value"};
	bool		cls = strcmp(o.arch, "embed") != 0;

	add(o.vocab, h, true, "embeddings.word_embeddings.weight%.0u%s", 0, "");
	add(o.positions, h, true, "embeddings.position_embeddings.weight%.0u%s", 0, "");
	add(2, h, true, "embeddings.token_type_embeddings.weight%.0u%s", 0, "");
	add(h, 0, true, "embeddings.LayerNorm.weight%.0u%s", 0, "");
	add(h, 0, true, "embeddings.LayerNorm.bias%.0u%s", 0, "");
	for (uint32_t l = 0; l < o.layers; l++)
	{
		for (int k = 0; k < 3; k++)
		{
			add(h, h, true, "encoder.layer.%u.attention.self.%s.weight", l, qkv[k]);
			add(h, 0, true, "encoder.layer.%u.attention.self.%s.bias", l, qkv[k]);
		}
		add(h, h, true, "encoder.layer.%u.attention.output.dense.weight%s", l, "");
		add(h, 0, true, "encoder.layer.%u.attention.output.dense.bias%s", l, "");
		add(h, 0, true, "encoder.layer.%u.attention.output.LayerNorm.weight%s", l, "");
		add(h, 0, true, "encoder.layer.%u.attention.output.LayerNorm.bias%s", l, "");
		add(o.ffn, h, true, "encoder.layer.%u.intermediate.dense.weight%s", l, "");
		add(o.ffn, 0, true, "encoder.layer.%u.intermediate.dense.bias%s", l, "");
		add(h, o.ffn, true, "encoder.layer.%u.output.dense.weight%s", l, "");
		add(h, 0, true, "encoder.layer.%u.output.dense.bias%s", l, "");
		add(h, 0, true, "encoder.layer.%u.output.LayerNorm.weight%s", l, "");
		add(h, 0, true, "encoder.layer.%u.output.LayerNorm.bias%s", l, "");
	}
	if (o.pooler)
	{
		add(h, h, true, "pooler.dense.weight%.0u%s", 0, "");
		add(h, 0, true, "pooler.dense.bias%.0u%s", 0, "");
	}
	if (cls)
	{
		add(o.labels, h, true, "classifier.weight%.0u%s", 0, "");
		add(o.labels, 0, true, "classifier.bias%.0u%s", 0, "");
	}
	if (o.mlm)
	{
		/* what BertForMaskedLM adds: must be dropped */
		add(h, h, false, "cls.predictions.transform.dense.weight%.0u%s", 0, "");
		add(o.vocab, 0, false, "cls.predictions.bias%.0u%s", 0, "");
	}
	add(1, o.positions, false, "embeddings.position_ids%.0u%s", 0, "");
	tensors[n_tensors - 1].i64 = true;
}

static void
write_safetensors(void)
{
	size_t		cap = 1 << 20;
	char	   *hdr = malloc(cap);
	size_t		hlen = 0;
	uint64_t	off = 0;
	size_t		esize = o.dtype == DT_F32 ? 4 : 2;
	const char *dname = o.dtype == DT_F32 ? "F32" : o.dtype == DT_F16 ? "F16" : "BF16";
	FILE	   *f;
	FILE	   *ex;
	FILE	   *csv;
	uint8_t    *raw;
	float	   *f32;
	uint64_t   *offs = calloc(n_tensors, sizeof(uint64_t));

	hlen += snprintf(hdr + hlen, cap - hlen, "{\"__metadata__\":{\"format\":\"pt\"}");
	/* reverse order in the file: the converter must find tensors by name */
	for (int i = n_tensors - 1; i >= 0; i--)
	{
		Tensor	   *t = &tensors[i];
		uint32_t	s1 = t->shape[1];
		uint64_t	count;

		if (o.omit && strcmp(o.omit, t->name) == 0)
			continue;
		if (o.wrong_shape && strcmp(o.wrong_shape, t->name) == 0)
		{
			if (t->ndim == 2)
				t->shape[1] = s1 = t->shape[1] - 1;
			else
				t->shape[0]--;
		}
		count = (uint64_t) t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
		offs[i] = off;
		hlen += snprintf(hdr + hlen, cap - hlen, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%u",
						 o.prefix ? "bert." : "", t->name, t->i64 ? "I64" : dname,
						 t->shape[0]);
		if (t->ndim == 2)
			hlen += snprintf(hdr + hlen, cap - hlen, ",%u", s1);
		hlen += snprintf(hdr + hlen, cap - hlen, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
						 off, off + count * (t->i64 ? 8 : esize));
		off += count * (t->i64 ? 8 : esize);
	}
	hlen += snprintf(hdr + hlen, cap - hlen, "}");
	while (hlen % 8 != 0)
		hdr[hlen++] = ' ';

	f = open_out("model.safetensors");
	ex = open_out("expected.txt");
	csv = o.small ? open_out("head.csv") : NULL;
	for (int k = 0; k < 8; k++)
		fputc((int) ((uint64_t) hlen >> (8 * k)) & 0xFF, f);
	fwrite(hdr, 1, hlen, f);
	for (int i = n_tensors - 1; i >= 0; i--)
	{
		Tensor	   *t = &tensors[i];
		uint32_t	count = t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);

		if (o.omit && strcmp(o.omit, t->name) == 0)
			continue;
		if (t->i64)
		{
			for (uint32_t k = 0; k < count; k++)
			{
				uint64_t	v = k;

				fwrite(&v, 8, 1, f);
			}
			continue;
		}
		raw = malloc((size_t) count * 4);
		f32 = malloc((size_t) count * 4);
		make_values(t, count, raw, f32);
		fwrite(raw, esize, count, f);
		free(raw);
		if (csv && (strncmp(t->name, "pooler.", 7) == 0 || strncmp(t->name, "classifier.", 11) == 0))
			for (uint32_t k = 0; k < count; k++)
				fprintf(csv, "%s,%u,%u,%.9g\n", t->name,
						t->ndim == 2 ? k / t->shape[1] : k,
						t->ndim == 2 ? k % t->shape[1] : 0, f32[k]);
		/* remember the hash of this tensor for expected.txt, in canonical order */
		offs[i] = fnv64(f32, (size_t) count * 4);
		free(f32);
	}
	for (int i = 0; i < n_tensors; i++)
	{
		Tensor	   *t = &tensors[i];

		if (!t->expected)
			continue;
		fprintf(ex, "%s [%u", t->name, t->shape[0]);
		if (t->ndim == 2)
			fprintf(ex, ", %u", t->shape[1]);
		fprintf(ex, "] %016" PRIx64 "\n", offs[i]);
	}
	fclose(f);
	fclose(ex);
	if (csv)
		fclose(csv);
	free(hdr);
	free(offs);
}

/* the options without a value */
static const struct
{
	const char *name;
	bool	   *field;
	bool		value;
}			switches[] = {
	{"--prefix", &o.prefix, true},
	{"--crlf", &o.crlf, true},
	{"--cased", &o.cased, true},
	{"--no-pooler", &o.pooler, false},
	{"--special", &o.special, true},
	{"--mlm", &o.mlm, true},
	{"--small", &o.small, true},
};

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: make_checkpoint DIR [options]", NULL);
	o.dir = argv[1];
	for (int i = 2; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

#define NUM(flag, field) \
		if (strcmp(a, flag) == 0 && v) { o.field = (uint32_t) strtoul(v, NULL, 10); i++; continue; }
		NUM("--layers", layers);
		NUM("--hidden", hidden);
		NUM("--heads", heads);
		NUM("--ffn", ffn);
		NUM("--vocab-size", vocab);
		NUM("--labels", labels);
		NUM("--positions", positions);
#undef NUM
		if (strcmp(a, "--seed") == 0 && v)
			o.seed = strtoull(v, NULL, 10) * 2 + 1, i++;
		else if (strcmp(a, "--arch") == 0 && v)
			o.arch = v, i++;
		else if (strcmp(a, "--act") == 0 && v)
			o.act = v, i++;
		else if (strcmp(a, "--omit") == 0 && v)
			o.omit = v, i++;
		else if (strcmp(a, "--wrong-shape") == 0 && v)
			o.wrong_shape = v, i++;
		else if (strcmp(a, "--dtype") == 0 && v)
		{
			o.dtype = strcmp(v, "f16") == 0 ? DT_F16 : strcmp(v, "bf16") == 0 ? DT_BF16 : DT_F32;
			i++;
		}
		else if (strcmp(a, "--vocab") == 0 && v)
			o.json_vocab = strcmp(v, "json") == 0, i++;
		else
		{
			size_t		f = 0;

			while (f < sizeof(switches) / sizeof(switches[0]) && strcmp(a, switches[f].name) != 0)
				f++;
			if (f == sizeof(switches) / sizeof(switches[0]))
				die("unknown option ", a);
			*switches[f].field = switches[f].value;
		}
	}
	if (o.small && o.dtype != DT_F32)
		die("--small needs --dtype f32", NULL);
	build_tensors();
	write_config();
	write_vocab();
	write_safetensors();
	return 0;
}
