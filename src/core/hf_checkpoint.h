/*
 * hf_checkpoint.h — reading a Hugging Face checkpoint directory, for the
 * converter (hf_convert.c); not a public interface.
 *
 *   hf_files.c     diagnostics, paths, whole files, JSON fields
 *   hf_config.c    config.json, the tokenizer files, sentence-transformers
 *   safetensors.c  the weights file: its header, checked, and its bytes
 *
 * Every function that can fail returns false with the problem added to the
 * context (HfCtx): nothing here prints or exits.
 */
#ifndef BERT_HF_CHECKPOINT_H
#define BERT_HF_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hf_convert.h"
#include "model_write.h"

/* Where problems and warnings go. */
typedef struct HfCtx
{
	char	   *errbuf;			/* one line per problem */
	size_t		errlen;
	size_t		used;
	BertConvertStatus status;	/* of the first problem */
	void		(*warn) (void *arg, const char *message);
	void	   *warn_arg;
	int			(*cancel) (void *arg);	/* polled before every read */
	void	   *cancel_arg;
} HfCtx;

/* Add "file: message" (file may be NULL) as a problem; returns false. */
bool		hf_fail(HfCtx *cx, BertConvertStatus status, const char *file, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/* Pass "file: message" to the warning callback. */
void		hf_warn(HfCtx *cx, const char *file, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* calloc, or NULL with "out of memory" added */
void	   *hf_alloc(HfCtx *cx, size_t n, size_t size);
void	   *hf_realloc(HfCtx *cx, void *old, size_t size);	/* NULL: old stays */
char	   *hf_strdup(HfCtx *cx, const char *s);
char	   *hf_path_join(HfCtx *cx, const char *dir, const char *name);
bool		hf_file_exists(const char *path);

/* Exactly len bytes at offset off of fd (path names it in messages). */
bool		hf_read_at(HfCtx *cx, int fd, const char *path, void *buf, size_t len, uint64_t off);

/* A whole small file, NUL-terminated; *buf NULL if it does not exist and !required. */
bool		hf_read_file(HfCtx *cx, const char *path, bool required, char **buf, size_t *len);

/*
 * Parse the JSON file at path (its top level an array if want_array, else
 * an object) and hand it to read; a missing file that is not required is
 * not read (and is no problem).
 */
typedef bool (*HfJsonReader) (HfCtx *cx, json_t *root, const char *path, void *arg);
bool		hf_read_json(HfCtx *cx, const char *path, bool required, bool want_array,
						 HfJsonReader read, void *arg);

/* Fields of a JSON object; *out unchanged when the field is absent (or null). */
bool		hf_json_uint(HfCtx *cx, json_t *obj, const char *path, const char *key,
						 uint32_t min, uint32_t max, uint32_t *out);
bool		hf_json_str(HfCtx *cx, json_t *obj, const char *path, const char *key, const char **out);
bool		hf_json_bool(HfCtx *cx, json_t *obj, const char *path, const char *key, int *out);

/* A string section being built (the vocabulary, the labels). */
typedef struct HfStrings
{
	uint32_t	n;
	uint32_t	cap;
	uint32_t   *offsets;		/* n + 1 entries */
	char	   *blob;
	size_t		blob_len;
	size_t		blob_cap;
} HfStrings;

bool		hf_strings_init(HfCtx *cx, HfStrings *t);
bool		hf_strings_add(HfCtx *cx, HfStrings *t, const char *file, const char *s, size_t len);
BertStrings hf_strings_view(const HfStrings *t);
void		hf_strings_free(HfStrings *t);

/* config.json */
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
	HfStrings	labels;
} HfConfig;

bool		hf_read_config(HfCtx *cx, HfConfig *cfg, const char *dir);
void		hf_free_config(HfConfig *cfg);

/* The tokenizer: vocabulary and settings. */
enum
{
	HF_SPECIAL_UNK, HF_SPECIAL_CLS, HF_SPECIAL_SEP, HF_SPECIAL_PAD, HF_N_SPECIAL
};

extern const char *const hf_special_keys[HF_N_SPECIAL];

typedef struct HfTokenizer
{
	HfStrings	vocab;
	int			lower_case;
	int			strip_accents;	/* -1: same as lower_case */
	int			chinese_chars;
	uint32_t	max_chars;
	char	   *special[HF_N_SPECIAL];
	char	   *vocab_path;		/* the file the vocabulary came from */
} HfTokenizer;

bool		hf_read_tokenizer(HfCtx *cx, HfTokenizer *tok, const char *dir);
void		hf_free_tokenizer(HfTokenizer *tok);

/* sentence-transformers: pooling, normalisation and sequence length. */
typedef struct HfSentence
{
	int			pooling;		/* BertPooling, or -1 if not given */
	int			normalize;		/* 1/0, or -1 if not given */
	uint32_t	max_seq_len;	/* 0 if not given */
	int			lower_case;		/* -1 if not given */
	char	   *pooling_path;	/* for messages */
	bool		pooling_unsupported;
	char	   *pooling_problem;
} HfSentence;

bool		hf_read_sentence(HfCtx *cx, HfSentence *st, const char *dir);
void		hf_free_sentence(HfSentence *st);

/* safetensors */
typedef enum HfDType
{
	HF_F32, HF_F16, HF_BF16, HF_OTHER
} HfDType;

typedef struct HfTensor
{
	char	   *name;			/* as in the file */
	char	   *canon;			/* "bert." stripped, gamma/beta renamed */
	char	   *dtype_name;
	HfDType		dtype;
	size_t		elem_size;		/* 0: unknown dtype */
	uint32_t	ndim;
	uint64_t   *shape;
	uint64_t	begin;			/* relative to the data section */
	uint64_t	end;
} HfTensor;

typedef struct HfWeights
{
	char	   *path;
	int			fd;
	uint64_t	file_size;
	uint64_t	data_start;
	uint64_t	data_size;
	uint32_t	n;
	HfTensor   *t;
} HfWeights;

/* Find the weights file of dir and read and check its header. */
bool		hf_open_weights(HfCtx *cx, HfWeights *w, const char *dir);
void		hf_close_weights(HfWeights *w);
HfTensor   *hf_find_tensor(HfWeights *w, const char *canon);

/* len bytes of tensor t's data from byte off of it. */
bool		hf_read_tensor(HfCtx *cx, const HfWeights *w, const HfTensor *t, uint64_t off,
						   void *buf, size_t len);

#endif							/* BERT_HF_CHECKPOINT_H */
