/*
 * bert-quantize — write a quantised copy of a converted model; everything
 * but the linear weights of the encoder layers is copied as it is.
 *
 *   bert-quantize [--linears LIST] [--keep-f16 L.NAME,...] [--q16 L.NAME,...]
 *                 [--calibrate TEXT --alpha A] IN.bert OUT.bert
 *   bert-quantize --q8 IN.bert OUT.bert
 *
 * By default the linear weights LIST names (default all six: q,k,v,o,ff1,ff2)
 * become BERT_DTYPE_Q8P: int8 per output channel for the integer
 * dot-product kernels (ops.h bcore_linear_q8p), activations quantised per
 * token at run time; --keep-f16 3.ff2,4.ff2 leaves those layers' weights as
 * they are (the ones whose error moves the embedding most); --q16 3.ff2,...
 * writes those as BERT_DTYPE_Q16P instead (10-bit weights, 16-bit
 * activations: about as close as half precision, on integer dot products).
 * With --calibrate, the fp32 model first runs on TEXT
 * (one input a line) to find each linear input's largest values per
 * channel, and A of their range (SmoothQuant's alpha, default 0.5) moves
 * into the weights.  --q8 writes the older BERT_DTYPE_Q8 (int8 weights in
 * 16-bit lanes, 12-bit activations) for q, k, v, o and ff1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "model.h"
#include "model_write.h"
#include "ops.h"
#include "tokenizer.h"

static const char *const linear_names[BERT_LINEARS] = {"q", "k", "v", "o", "ff1", "ff2"};

/* the calibration's running maxima: layer * BERT_LINEARS + id, per input channel */
static float **act_max;

static void
observe(int layer, BertLinearId id, const float *x, int rows, int k)
{
	float	   *m = act_max[layer * BERT_LINEARS + id];

	for (int r = 0; r < rows; r++)
		for (int t = 0; t < k; t++)
			m[t] = fmaxf(m[t], fabsf(x[(size_t) r * k + t]));
}

/* Run m on every line of path, recording the inputs' maxima; -1 on error. */
static int
calibrate(const BertModel *m, const char *path)
{
	const BertConfig *c = &m->config;
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	BertTokens	tok;
	BertRunState st;
	int			lines = 0;

	if (f == NULL)
	{
		perror(path);
		return -1;
	}
	act_max = calloc((size_t) c->n_layers * BERT_LINEARS, sizeof(float *));
	for (int i = 0; act_max != NULL && i < c->n_layers * BERT_LINEARS; i++)
		if ((act_max[i] = calloc((size_t) (c->ffn > c->hidden ? c->ffn : c->hidden), sizeof(float))) == NULL)
			return -1;
	if (act_max == NULL)
		return -1;
	memset(&tok, 0, sizeof(tok));
	memset(&st, 0, sizeof(st));
	bcore_blas_init(1);
	bcore_encode_observe = observe;
	while ((len = getline(&line, &cap, f)) > 0)
	{
		int			n;

		if (bcore_tokenize_utf8(&m->vocab, line, (size_t) len, (size_t) c->max_seq_len, &tok) != BERT_TOK_OK)
			return -1;
		n = (int) tok.n;
		if (bcore_encode(m, &st, tok.ids, &n, 1) != BERT_ENC_OK)
			return -1;
		lines++;
	}
	bcore_encode_observe = NULL;
	free(line);
	fclose(f);
	bcore_run_state_free(&st);
	bcore_tokens_free(&tok);
	return lines;
}

/* "q,k,v,o,ff1,ff2" to a mask of 1 << BertLinearId; 0 if a name is unknown */
static unsigned
parse_linears(const char *list)
{
	unsigned	mask = 0;
	char	   *copy = strdup(list),
			   *save = NULL;

	for (char *p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
	{
		int			i;

		for (i = 0; i < BERT_LINEARS && strcmp(p, linear_names[i]) != 0; i++)
			;
		if (i == BERT_LINEARS)
		{
			free(copy);
			return 0;
		}
		mask |= 1u << i;
	}
	free(copy);
	return mask;
}

/*
 * Parse "3.ff2,4.ff2" (layer.linear) into keep (n_layers * BERT_LINEARS
 * flags); 0 if a name or layer is wrong.
 */
static int
parse_keep(const char *list, int n_layers, unsigned char *keep)
{
	char	   *copy = strdup(list),
			   *save = NULL;
	int			ok = copy != NULL;

	for (char *p = ok ? strtok_r(copy, ",", &save) : NULL; p != NULL; p = strtok_r(NULL, ",", &save))
	{
		char	   *dot;
		long		layer = strtol(p, &dot, 10);
		int			i;

		for (i = 0; *dot == '.' && i < BERT_LINEARS && strcmp(dot + 1, linear_names[i]) != 0; i++)
			;
		if (dot == p || *dot != '.' || i == BERT_LINEARS || layer < 0 || layer >= n_layers)
		{
			ok = 0;
			break;
		}
		keep[layer * BERT_LINEARS + i] = 1;
	}
	free(copy);
	return ok;
}

static int
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--linears q,k,v,o,ff1,ff2] [--keep-f16 LAYER.LINEAR,...]\n"
			"          [--q16 LAYER.LINEAR,...] [--calibrate TEXT [--alpha A]] IN.bert OUT.bert\n"
			"       %s --q8 IN.bert OUT.bert\n", prog, prog);
	return 2;
}

int
main(int argc, char **argv)
{
	BertModel	m;
	BertHeadSpec spec;
	char		err[512];
	char		source[200];
	const char **labels = NULL;
	size_t	   *lens = NULL;
	const char *calib = NULL;
	const char *keep = NULL;
	const char *q16 = NULL;
	unsigned char *keep_flags = NULL;
	unsigned char *q16_flags = NULL;
	unsigned	linears = (1u << BERT_LINEARS) - 1;
	float		alpha = 0.5f;
	int			q8 = 0,
				a = 1,
				rc = 0;

	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++)
	{
		if (strcmp(argv[a], "--q8") == 0)
			q8 = 1;
		else if (strcmp(argv[a], "--linears") == 0 && a + 1 < argc)
		{
			if ((linears = parse_linears(argv[++a])) == 0)
				return usage(argv[0]);
		}
		else if (strcmp(argv[a], "--keep-f16") == 0 && a + 1 < argc)
			keep = argv[++a];
		else if (strcmp(argv[a], "--q16") == 0 && a + 1 < argc)
			q16 = argv[++a];
		else if (strcmp(argv[a], "--calibrate") == 0 && a + 1 < argc)
			calib = argv[++a];
		else if (strcmp(argv[a], "--alpha") == 0 && a + 1 < argc)
		{
			alpha = strtof(argv[++a], NULL);
			if (!(alpha >= 0.0f && alpha <= 1.0f))
				return usage(argv[0]);
		}
		else
			return usage(argv[0]);
	}
	if (argc - a != 2 || (q8 && (calib != NULL || keep != NULL || q16 != NULL)))
		return usage(argv[0]);
	if (bcore_model_open(argv[a], &m, err, sizeof(err)) != BERT_MODEL_OK)
	{
		fprintf(stderr, "%s: %s\n", argv[a], err);
		return 1;
	}
	if (m.config.quantized)
	{
		fprintf(stderr, "%s: the model is already quantised\n", argv[a]);
		bcore_model_close(&m);
		return 1;
	}
	memset(&spec, 0, sizeof(spec));
	if (keep != NULL)
	{
		keep_flags = calloc((size_t) m.config.n_layers * BERT_LINEARS, 1);
		if (keep_flags == NULL || !parse_keep(keep, m.config.n_layers, keep_flags))
		{
			free(keep_flags);
			bcore_model_close(&m);
			return usage(argv[0]);
		}
		spec.q8p_keep = keep_flags;
	}
	if (q16 != NULL)
	{
		q16_flags = calloc((size_t) m.config.n_layers * BERT_LINEARS, 1);
		if (q16_flags == NULL || !parse_keep(q16, m.config.n_layers, q16_flags))
		{
			free(keep_flags);
			free(q16_flags);
			bcore_model_close(&m);
			return usage(argv[0]);
		}
		/* a weight is either kept or made Q16P */
		for (int i = 0; keep_flags != NULL && i < m.config.n_layers * BERT_LINEARS; i++)
			if (keep_flags[i] && q16_flags[i])
			{
				fprintf(stderr, "%s: layer %d's %s is both in --keep-f16 and --q16\n", argv[0],
						i / BERT_LINEARS, linear_names[i % BERT_LINEARS]);
				free(keep_flags);
				free(q16_flags);
				bcore_model_close(&m);
				return 2;
			}
		spec.q16p = q16_flags;
	}
	if (calib != NULL)
	{
		int			lines = calibrate(&m, calib);

		if (lines <= 0)
		{
			fprintf(stderr, "%s: calibration failed%s\n", calib, lines == 0 ? " (no input)" : "");
			bcore_model_close(&m);
			return 1;
		}
		spec.act_max = (const float *const *) act_max;
		spec.smooth_alpha = alpha;
	}
	spec.kind = m.config.kind;
	spec.num_labels = (int) m.n_labels;
	if (m.n_labels > 0)
	{
		labels = calloc(m.n_labels, sizeof(char *));
		lens = calloc(m.n_labels, sizeof(size_t));
		if (labels == NULL || lens == NULL)
		{
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		for (uint32_t i = 0; i < m.n_labels; i++)
			labels[i] = bcore_model_label(&m, i, &lens[i]);
	}
	spec.labels = labels;
	spec.label_lens = lens;
	spec.cls_w = m.weights.cls_w;
	spec.cls_b = m.weights.cls_b;
	spec.keep_pooler = 1;
	spec.quantize = q8 ? BERT_QUANT_Q8 : BERT_QUANT_Q8P;
	spec.q8p_linears = linears;
	if (q8)
		snprintf(source, sizeof(source), "%s, linear weights int8", m.source);
	else
		snprintf(source, sizeof(source), "%s, int8 (Q8P)%s%s%s", m.source, calib ? ", smoothed" : "",
				 keep ? ", some f16" : "", q16 ? ", some Q16P" : "");
	spec.source = source;
	if (bcore_model_write(argv[a + 1], &m, &spec, err, sizeof(err)) != BERT_WRITE_OK)
	{
		fprintf(stderr, "%s: %s\n", argv[a + 1], err);
		rc = 1;
	}
	free(labels);
	free(lens);
	free(keep_flags);
	free(q16_flags);
	bcore_model_close(&m);
	return rc;
}
