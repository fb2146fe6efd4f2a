/*
 * fuzz_model.c — libFuzzer target for bcore_model_parse.
 *
 * The input is a model file.  It is parsed from an exact-size heap copy, so
 * ASan sees any read past its end.  When it parses, every pointer the loader
 * handed out is used the way the encoder and tokenizer use it: the first and
 * last element of every tensor, every vocabulary token (looked up through the
 * hash index), every label, and one tokenization with the file's vocabulary.
 *
 * Nearly every mutation changes the length or the header, which the
 * file_size and header_crc checks reject at once; so an input whose
 * file_size or header_crc is wrong is parsed again with both patched, to
 * get past those checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_format.h"
#include "tokenizer.h"

static volatile float sink_f;
static volatile uint32_t sink_u;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_model: %s\n", what);
	abort();
}

static void
touch(const float *t, size_t n)
{
	if (t == NULL)
		die("NULL tensor");
	if ((uintptr_t) t % 4 != 0)
		die("misaligned tensor");
	sink_f = t[0] + t[n - 1];
}

/* a linear layer: its weight, whichever of fp32, Q8 or F16P the model has, and its bias */
static void
touch_linear(const BertLayerWeights *L, BertLinearId id, const float *w, const float *b,
			 size_t out, size_t in)
{
	touch(b, out);
	if (L->wq[id] != NULL)
	{
		sink_f = (float) (L->wq[id][0] + L->wq[id][out * in - 1]);
		touch(L->ws[id], out);
	}
	else if (L->wh[id] != NULL)
		sink_f = (float) (L->wh[id][0] + L->wh[id][bcore_f16p_halves(out, in) - 1]);
	else if (L->w8[id] != NULL)
	{
		sink_f = (float) (L->w8[id][0] + L->w8[id][bcore_q8p_bytes(out, in) - 1]);
		touch(L->ws[id], out);
		touch(L->wsum[id], out);
	}
	else if (L->w16[id] != NULL)
	{
		sink_f = (float) (L->w16[id][0] + L->w16[id][bcore_q8p_bytes(out, in) - 1]);
		touch(L->ws[id], out);
	}
	else
		touch(w, out * in);
}

static void
use_model(const BertModel *m)
{
	const BertConfig *c = &m->config;
	const BertWeights *w = &m->weights;
	const BertVocab *v = &m->vocab;
	size_t		H = (size_t) c->hidden;
	size_t		F = (size_t) c->ffn;
	BertTokens	toks = {0};

	if (c->hidden <= 0 || c->n_heads <= 0 || c->head_dim * c->n_heads != c->hidden ||
		c->max_seq_len > c->max_positions || c->vocab_size <= 0 ||
		(uint32_t) c->vocab_size != v->size || (uint32_t) c->num_labels != m->n_labels)
		die("inconsistent configuration");

	touch(w->word_emb, (size_t) c->vocab_size * H);
	touch(w->pos_emb, (size_t) c->max_positions * H);
	touch(w->type_emb, (size_t) c->type_vocab * H);
	touch(w->emb_ln_g, H);
	touch(w->emb_ln_b, H);
	for (int l = 0; l < c->n_layers; l++)
	{
		const BertLayerWeights *L = &w->layers[l];

		touch_linear(L, BERT_LIN_Q, L->q_w, L->q_b, H, H);
		touch_linear(L, BERT_LIN_K, L->k_w, L->k_b, H, H);
		touch_linear(L, BERT_LIN_V, L->v_w, L->v_b, H, H);
		touch_linear(L, BERT_LIN_O, L->o_w, L->o_b, H, H);
		touch(L->ln1_g, H);
		touch(L->ln1_b, H);
		touch_linear(L, BERT_LIN_FF1, L->ff1_w, L->ff1_b, F, H);
		touch_linear(L, BERT_LIN_FF2, L->ff2_w, L->ff2_b, H, F);
		touch(L->ln2_g, H);
		touch(L->ln2_b, H);
	}
	if ((w->pooler_w == NULL) != (w->pooler_b == NULL))
		die("pooler weight without bias");
	if (w->pooler_w)
	{
		touch(w->pooler_w, H * H);
		touch(w->pooler_b, H);
	}
	if (c->kind != BERT_KIND_EMBEDDING)
	{
		touch(w->cls_w, (size_t) c->num_labels * H);
		touch(w->cls_b, (size_t) c->num_labels);
	}
	else if (w->cls_w != NULL || w->cls_b != NULL)
		die("embedding model with a classifier");

	for (uint32_t i = 0; i < v->size; i++)
	{
		uint32_t	a = v->offsets[i];
		uint32_t	b = v->offsets[i + 1];
		int32_t		id;

		if (b < a)
			die("vocabulary offsets decrease");
		id = bcore_vocab_lookup(v, v->blob + a, b - a);
		if (id < -1 || id >= (int32_t) v->size)
			die("lookup returned an id out of range");
		sink_u = (uint32_t) id;
	}
	if (v->unk_id >= v->size || v->cls_id >= v->size || v->sep_id >= v->size)
		die("special token id out of range");

	for (uint32_t i = 0; i < m->n_labels; i++)
	{
		size_t		len = 0;
		const char *s = bcore_model_label(m, i, &len);

		if (s == NULL)
			die("label in range is NULL");
		for (size_t k = 0; k < len; k++)
			sink_u = (uint8_t) s[k];
	}
	{
		size_t		len = 0;

		if (bcore_model_label(m, m->n_labels, &len) != NULL)
			die("label out of range is not NULL");
	}

	/* the file's vocabulary and flags drive the tokenizer as in the backend */
	{
		static const char text[] = "Hello, W\xC3\xB6rld! unaffable \xE4\xBD\xA0\xE5\xA5\xBD ##s [UNK] a\xCC\x81\xCC\xA3 x";

		if (bcore_tokenize_utf8(v, text, sizeof(text) - 1, (size_t) c->max_seq_len, &toks) != BERT_TOK_OK)
			die("tokenizer out of memory");
		if (toks.n > (size_t) c->max_seq_len || toks.n < 2)
			die("tokenizer ignored max_seq_len");
		for (size_t i = 0; i < toks.n; i++)
			if (toks.ids[i] < 0 || (uint32_t) toks.ids[i] >= v->size)
				die("token id out of range");
		bcore_tokens_free(&toks);
	}
}

static void
parse_one(const uint8_t *data, size_t size)
{
	uint8_t    *copy = malloc(size ? size : 1);
	BertModel	model;
	char		err[256];
	BertModelStatus st;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	err[0] = '\0';
	st = bcore_model_parse(copy, size, &model, err, sizeof(err));
	if (st == BERT_MODEL_OK)
	{
		if (model.base != copy || model.size != size)
			die("model does not point at its image");
		use_model(&model);
		bcore_model_close(&model);
	}
	else
	{
		if (strlen(err) == 0)
			die("failure without a message");
		if (model.weights.layers != NULL)
			die("failure left layers allocated");
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one(data, size);
	if (size >= sizeof(BertFileHeader))
	{
		BertFileHeader h;

		memcpy(&h, data, sizeof(h));
		if (h.file_size != size || h.header_crc != bcore_header_crc(&h))
		{
			uint8_t    *patched = malloc(size);

			if (patched == NULL)
				return 0;
			h.file_size = size;
			h.header_crc = bcore_header_crc(&h);
			memcpy(patched, &h, sizeof(h));
			memcpy(patched + sizeof(h), data + sizeof(h), size - sizeof(h));
			parse_one(patched, size);
			free(patched);
		}
	}
	return 0;
}
