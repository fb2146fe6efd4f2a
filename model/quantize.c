/*
 * bert-quantize — write a quantised copy of a converted model: the q, k, v,
 * attention output and feed-forward input weights of every encoder layer
 * become BERT_DTYPE_Q8 (int8 values per output channel, see
 * model_format.h); everything else is copied as it is.  The encoder then runs those layers on integer products (ops.c).
 *
 *   bert-quantize IN.bert OUT.bert
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_write.h"

int
main(int argc, char **argv)
{
	BertModel	m;
	BertHeadSpec spec;
	char		err[512];
	char		source[160];
	const char **labels = NULL;
	size_t	   *lens = NULL;
	int			rc = 0;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s IN.bert OUT.bert\n", argv[0]);
		return 2;
	}
	if (bcore_model_open(argv[1], &m, err, sizeof(err)) != BERT_MODEL_OK)
	{
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	if (m.config.quantized)
	{
		fprintf(stderr, "%s: the model is already quantised\n", argv[1]);
		bcore_model_close(&m);
		return 1;
	}
	memset(&spec, 0, sizeof(spec));
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
	spec.quantize = 1;
	snprintf(source, sizeof(source), "%s, linear weights int8", m.source);
	spec.source = source;
	if (bcore_model_write(argv[2], &m, &spec, err, sizeof(err)) != BERT_WRITE_OK)
	{
		fprintf(stderr, "%s: %s\n", argv[2], err);
		rc = 1;
	}
	free(labels);
	free(lens);
	bcore_model_close(&m);
	return rc;
}
