/*
 * hf_convert.h — convert a Hugging Face BERT checkpoint directory into one
 * model file (model_format.h), in process: model/bert-convert is its command
 * line.
 *
 * The directory holds config.json, one *.safetensors file (F32, F16 or BF16
 * tensors), tokenizer.json or vocab.txt, and when present
 * tokenizer_config.json and the sentence-transformers files (modules.json,
 * the Pooling module's config.json, sentence_bert_config.json).
 * Everything is read and checked before the output is created; the file is
 * written through the one model writer (model_write.h).  Only regular files
 * are read, and opening never waits (a FIFO in the directory is refused,
 * not waited on).  Tensors are
 * converted in chunks, so memory stays small whatever the model.
 */
#ifndef BERT_HF_CONVERT_H
#define BERT_HF_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "model_format.h"

typedef enum BertConvertStatus
{
	BERT_CONVERT_OK = 0,
	BERT_CONVERT_BAD_INPUT = 1, /* the checkpoint cannot be read or is not supported */
	BERT_CONVERT_BAD_OPTION = 2,	/* an option does not fit the checkpoint */
	BERT_CONVERT_IO = 3,		/* the output cannot be written */
	BERT_CONVERT_NOMEM = 4,
	BERT_CONVERT_INTERNAL = 5,	/* the file written does not load (a bug) */
	BERT_CONVERT_CANCELLED = 6	/* the cancel callback said stop */
} BertConvertStatus;

typedef struct BertConvertOptions
{
	uint32_t	max_seq_len;	/* 0: sentence_bert_config.json, else
								 * max_position_embeddings */
	int			pooling;		/* BertPooling, or -1: the sentence-transformers
								 * Pooling module, else mean (cls for classifiers) */
	int			normalize;		/* 1 or 0, or -1: from the checkpoint */
	int			lower_case;		/* 1 or 0, or -1: the tokenizer's setting */
	int			f32_weights;	/* F16 linear weights stored as F32 too (default:
								 * F16P, half precision packed for the encoder) */
	const char *source;			/* provenance stored in the file; NULL: the
								 * directory (cut to 127 bytes) */
	/* each warning, "FILE: what" (NULL: warnings are dropped) */
	void		(*warn) (void *arg, const char *message);
	void	   *warn_arg;
	BertFileHeader *written;	/* not NULL: gets the header of the file written */
	/* polled before every read: non-zero stops with BERT_CONVERT_CANCELLED */
	int			(*cancel) (void *arg);
	void	   *cancel_arg;
} BertConvertOptions;

/* Every option at its default: from the checkpoint. */
void		bcore_convert_options_init(BertConvertOptions *opt);

/*
 * Convert the checkpoint in dir to out_path (written as out_path.tmp.PID,
 * then renamed).  On failure errbuf holds one line per problem found
 * ("FILE: what is wrong", lines separated by '\n'), and no output is left
 * behind; an existing out_path is untouched.
 */
BertConvertStatus bcore_convert_checkpoint(const char *dir, const char *out_path,
										   const BertConvertOptions *opt,
										   char *errbuf, size_t errlen);

#endif							/* BERT_HF_CONVERT_H */
