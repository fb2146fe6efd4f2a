/*
 * cache.h — models shared by every backend of the server: snapshots, the
 * counters file, loading, preload.
 */
#ifndef PGB_CACHE_H
#define PGB_CACHE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "encoder.h"
#include "model.h"
#include "store.h"

/* A model as this backend uses it. */
typedef struct LoadedModel
{
	char		name[BERT_MODEL_NAME_MAX + 1];
	BertModel	model;			/* points into the shared snapshot mapping */
	BertRunState state;			/* this backend's activation buffers */
	int			slot;			/* index of the model's shared counters */
	struct LoadedModel *next;
} LoadedModel;

/* Registers bert.preload_models (only when loaded at server start). */
void		pgb_cache_init(void);

/* In the postmaster: map the models of bert.preload_models. */
void		pgb_cache_preload(void);

/* Model name, loaded on first use in this backend; ERROR if it cannot be. */
LoadedModel *pgb_get_model(const char *name);
void		pgb_count_use(LoadedModel *lm, int64 tokens);

/* Usage of one installed model (the file at path), for the catalogue. */
typedef struct BertModelInfo
{
	int64		bytes_on_disk;
	int64		bytes_resident; /* -1 if no snapshot exists */
	bool		loaded;
	TimestampTz loaded_since;
	int64		calls;
	int64		tokens;
} BertModelInfo;

void		pgb_model_usage(const char *name, const char *path, BertModelInfo *info);

/* A model's file was dropped: remove its snapshots, free its counters. */
void		pgb_cache_forget_model(const char *name);

/* Models were installed or dropped: every backend looks them up again. */
void		pgb_cache_invalidate(void);

#endif							/* PGB_CACHE_H */
