/*
 * write_head.c — write fixed heads on a base model with bcore_model_write,
 * so that test_convert.sh can check the bytes the writer produces.
 *
 *   write_head BASE.bert OUTDIR
 *
 * Writes OUTDIR/seq.bert (a 3-label sequence head on the pooled embedding),
 * OUTDIR/seq-pooler.bert (the same head with the base's pooler),
 * OUTDIR/token.bert (a 5-label token head) and OUTDIR/seq-int8.bert (the
 * sequence head with quantised linear weights, the base's source kept).
 * The weights are small integers over 1024: exact, the same on every machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_write.h"

/* The heads written: file, kind, labels, pooler kept, quantised, source. */
static const struct
{
	const char *file;
	BertModelKind kind;
	int			n;
	const char *const *names;
	int			keep_pooler;
	int			quantize;
	const char *source;			/* NULL: the base's */
}			heads[] =
{
	{"seq.bert", BERT_KIND_SEQUENCE_CLASSIFICATION, 3,
	(const char *const[]) {"negative", "neutral", "positivé"}, 0, 0,
	"write_head: a fixed sequence head"},
	{"seq-pooler.bert", BERT_KIND_SEQUENCE_CLASSIFICATION, 3,
	(const char *const[]) {"negative", "neutral", "positivé"}, 1, 0,
	"write_head: a fixed sequence head"},
	{"seq-int8.bert", BERT_KIND_SEQUENCE_CLASSIFICATION, 3,
	(const char *const[]) {"negative", "neutral", "positivé"}, 0, 1, NULL},
	{"token.bert", BERT_KIND_TOKEN_CLASSIFICATION, 5,
	(const char *const[]) {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}, 0, 0,
	"write_head: a fixed token head"},
};

int
main(int argc, char **argv)
{
	BertModel	base;
	char		err[512];
	char		path[4096];
	float	   *w;
	float		b[5];
	int			rc = 0;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s BASE.bert OUTDIR\n", argv[0]);
		return 2;
	}
	if (bcore_model_open(argv[1], &base, err, sizeof(err)) != BERT_MODEL_OK ||
		(w = malloc(sizeof(float) * 5 * base.config.hidden)) == NULL)
	{
		fprintf(stderr, "write_head: cannot open %s: %s\n", argv[1], err);
		return 1;
	}
	for (int i = 0; i < 5 * base.config.hidden; i++)
		w[i] = (float) ((i * 7919) % 2001 - 1000) / 1024.0f;
	for (int i = 0; i < 5; i++)
		b[i] = (float) (i - 2) / 8.0f;

	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++)
	{
		BertHeadSpec spec;
		size_t		lens[5];

		for (int i = 0; i < heads[h].n; i++)
			lens[i] = strlen(heads[h].names[i]);
		memset(&spec, 0, sizeof(spec));
		spec.kind = heads[h].kind;
		spec.num_labels = heads[h].n;
		spec.labels = heads[h].names;
		spec.label_lens = lens;
		spec.cls_w = w;
		spec.cls_b = b;
		spec.keep_pooler = heads[h].keep_pooler;
		spec.quantize = heads[h].quantize;
		spec.source = heads[h].source;
		snprintf(path, sizeof(path), "%s/%s", argv[2], heads[h].file);
		if (bcore_model_write(path, &base, &spec, err, sizeof(err)) != BERT_WRITE_OK)
		{
			fprintf(stderr, "write_head: %s: %s\n", path, err);
			rc = 1;
		}
	}
	free(w);
	bcore_model_close(&base);
	return rc;
}
