/*
 * classify.c — SQL entry points for what sits on top of the encoder: token
 * embeddings, token labels, entities (Hugging Face's token-classification
 * pipeline and its aggregation strategies; Viterbi for heads with label
 * transitions) and sequence classification.
 *
 * Offsets (start_char, end_char) are 0-based character positions in the
 * original input, end exclusive, as Hugging Face's offsets; [CLS] and [SEP]
 * have no characters and are left out of labels and entities.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "entities.h"
#include "heads.h"
#include "model.h"
#include "run.h"
#include "tagger.h"
#include "tokenizer.h"
#include "util.h"

/* ERROR unless lm is a model of kind want, with a hint where to get one. */
static void
check_kind(LoadedModel *lm, BertModelKind want)
{
	BertModelKind kind = lm->model.config.kind;

	if (kind == want)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("model \"%s\" is not a %s model", lm->name, pgb_kind_name(want)),
			 errdetail("Its kind is %s.", pgb_kind_name(kind)),
			 want == BERT_KIND_SEQUENCE_CLASSIFICATION ?
			 errhint("Install a BertForSequenceClassification checkpoint, or train one with bert_train_classifier().") :
			 errhint("Install a BertForTokenClassification checkpoint, or train one with bert_train_token_classifier().")));
}

/* Label number label of m, as text. */
static text *
label_text(const BertModel *m, int label)
{
	size_t		len;
	const char *l = bcore_model_label(m, (uint32) label, &len);

	if (l == NULL)
		elog(ERROR, "bert: label %d out of range", label);
	return pgb_utf8_text(l, (int) len);
}

/* The input's tokens and last hidden state (in lm->state.x); the model
 * argument, if any, is argument 1 (its form ignores bert.max_tokens); no
 * function here takes max_tokens (bert_entities' argument 2 is its
 * aggregation). */
static BertTokens *
encode_input(FunctionCallInfo fcinfo, LoadedModel *lm, int *n)
{
	PgbCall		call;
	BertTokens *tok;

	pgb_call_limits(&call, fcinfo, 1, -1, lm);
	tok = pgb_call_tokens(&call, PG_GETARG_TEXT_PP(0));
	*n = (int) tok->n;
	pgb_run(lm, tok->ids, n, 1);
	return tok;
}

/* Probabilities of every label for every piece of the input: n x num_labels. */
static float *
token_probs(FunctionCallInfo fcinfo, LoadedModel *lm, BertTokens **tok, int *n)
{
	float	   *probs;
	BertHeadStatus st;

	check_kind(lm, BERT_KIND_TOKEN_CLASSIFICATION);
	*tok = encode_input(fcinfo, lm, n);
	/* spans as PostgreSQL counts characters in this database's encoding */
	pgb_spans_to_chars(PG_GETARG_TEXT_PP(0), *tok);
	probs = palloc(sizeof(float) * (size_t) *n * lm->model.config.num_labels);
	if (lm->model.weights.tagger != NULL)
	{
		/* a trained tagger also reads the text itself (capitals: tagger.h) */
		int			len;
		char	   *utf8 = pgb_text_to_utf8(PG_GETARG_TEXT_PP(0), &len);

		st = bcore_tagger_probs(&lm->model, &lm->state, (*tok)->ids, (*tok)->start,
								(*tok)->end, *n, utf8, (size_t) len, probs);
	}
	else
		st = bcore_classify_tokens(&lm->model, &lm->state, n, 1, probs);
	if (st == BERT_HEAD_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory labelling tokens")));
	if (st != BERT_HEAD_OK)
		elog(ERROR, "bert: token head rejected its input");
	return probs;
}

/* The aggregation argument at argno (none, simple, first, average, max), if any. */
static BertAggregation
aggregation_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t;
	int			agg;

	if (PG_NARGS() <= argno)
		return BERT_AGG_SIMPLE;
	t = PG_GETARG_TEXT_PP(argno);
	agg = bcore_aggregation_from_name(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	if (agg < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown aggregation strategy \"%s\"", text_to_cstring(t)),
				 errdetail("The strategies are none, simple, first, average and max.")));
	return (BertAggregation) agg;
}

/*
 * Byte offset of every character of t (nchars + 1 entries), so that
 * character spans from the tokenizer cut the original text.
 */
static int *
char_offsets(text *t, int *nchars)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int		   *at = palloc(sizeof(int) * (len + 1));
	int			n = 0;

	for (int i = 0; i < len; i += pg_mblen(s + i))
		at[n++] = i;
	at[n] = len;
	*nchars = n;
	return at;
}

PG_FUNCTION_INFO_V1(bert_token_embeddings);
Datum
bert_token_embeddings(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	int			h = lm->model.config.hidden;
	BertTokens *tok;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	tok = encode_input(fcinfo, lm, &n);
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};

		values[0] = Int32GetDatum(i);
		values[1] = PointerGetDatum(pgb_piece_text(&lm->model.vocab, tok->ids[i]));
		values[2] = PointerGetDatum(pgb_float_array(lm->state.x + (size_t) i * h, h));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bert_token_labels);
Datum
bert_token_labels(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	int			k = lm->model.config.num_labels;
	BertTokens *tok;
	float	   *probs;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	probs = token_probs(fcinfo, lm, &tok, &n);
	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};
		float		score;
		int			label;

		if (tok->start[i] == tok->end[i])
			continue;			/* [CLS], [SEP]: no characters, as the pipeline */
		label = bcore_argmax(probs + (size_t) i * k, k, &score);
		values[0] = Int32GetDatum(i);
		values[1] = PointerGetDatum(pgb_piece_text(&lm->model.vocab, tok->ids[i]));
		values[2] = PointerGetDatum(label_text(&lm->model, label));
		values[3] = Float4GetDatum(score);
		values[4] = Int32GetDatum(tok->start[i]);
		values[5] = Int32GetDatum(tok->end[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bert_entities);
Datum
bert_entities(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	const BertModel *m = &lm->model;
	const BertWeights *w = &m->weights;
	int			k = m->config.num_labels;
	text	   *input = PG_GETARG_TEXT_PP(0);
	BertAggregation agg = aggregation_arg(fcinfo, 2);
	BertTransitions crf = {w->crf_trans, w->crf_start, w->crf_end};
	BertTokens *tok;
	float	   *probs;
	int			n,
				n_ent,
				nchars;
	int		   *at;
	uint8	   *sub;
	const char **names;
	size_t	   *lens;
	BertEntity *ents;

	InitMaterializedSRF(fcinfo, 0);
	probs = token_probs(fcinfo, lm, &tok, &n);
	names = palloc(sizeof(char *) * k);
	lens = palloc(sizeof(size_t) * k);
	for (int i = 0; i < k; i++)
		names[i] = bcore_model_label(m, (uint32) i, &lens[i]);
	sub = palloc(Max(n, 1));
	bcore_pieces_subword(&m->vocab, tok->ids, tok->start, tok->end, n, sub);
	ents = palloc(sizeof(BertEntity) * Max(n, 1));
	n_ent = bcore_extract_entities(probs, n, k, tok->start, tok->end, sub, agg,
								   w->crf_trans ? &crf : NULL, names, lens, ents);
	if (n_ent == -2)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory grouping entities")));
	if (n_ent < 0)
		elog(ERROR, "bert: entity grouping rejected its input");

	at = char_offsets(input, &nchars);
	for (int e = 0; e < n_ent; e++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		int			s = Min(ents[e].start, nchars);
		int			t = Min(ents[e].end, nchars);

		values[0] = PointerGetDatum(cstring_to_text_with_len(VARDATA_ANY(input) + at[s], at[t] - at[s]));
		values[1] = PointerGetDatum(pgb_utf8_text(ents[e].type, (int) ents[e].type_len));
		values[2] = Float4GetDatum(ents[e].score);
		values[3] = Int32GetDatum(ents[e].start);
		values[4] = Int32GetDatum(ents[e].end);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* Label probabilities of the input for a sequence classifier (num_labels). */
static float *
sequence_probs(FunctionCallInfo fcinfo, LoadedModel *lm)
{
	int			h = lm->model.config.hidden;
	float	   *probs = palloc(sizeof(float) * lm->model.config.num_labels);
	float	   *scratch = palloc(sizeof(float) * 2 * h);
	int			n;

	check_kind(lm, BERT_KIND_SEQUENCE_CLASSIFICATION);
	encode_input(fcinfo, lm, &n);
	if (bcore_classify_sequence(&lm->model, &lm->state, &n, 1, scratch, probs) != BERT_HEAD_OK)
		elog(ERROR, "bert: sequence head rejected its input");
	pfree(scratch);
	return probs;
}

PG_FUNCTION_INFO_V1(bert_classify);
Datum
bert_classify(PG_FUNCTION_ARGS)
{
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	float	   *probs = sequence_probs(fcinfo, lm);
	float		best;

	PG_RETURN_TEXT_P(label_text(&lm->model, bcore_argmax(probs, lm->model.config.num_labels, &best)));
}

PG_FUNCTION_INFO_V1(bert_classify_scores);
Datum
bert_classify_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadedModel *lm = pgb_model_arg(fcinfo, 1);
	float	   *probs;

	InitMaterializedSRF(fcinfo, 0);
	probs = sequence_probs(fcinfo, lm);
	for (int i = 0; i < lm->model.config.num_labels; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = PointerGetDatum(label_text(&lm->model, i));
		values[1] = Float4GetDatum(probs[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
