/*
 * cache.h — models shared by every backend of the server.
 */
#ifndef BERT_CACHE_H
#define BERT_CACHE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "encoder.h"
#include "model.h"

#define MODEL_NAME_MAX 64

/* A model as this backend uses it. */
typedef struct LoadedModel
{
	char		name[MODEL_NAME_MAX + 1];
	BertModel	model;			/* points into the shared snapshot mapping */
	BertRunState state;			/* this backend's activation buffers */
	int			slot;			/* index of the model's shared counters */
	struct LoadedModel *next;
} LoadedModel;

/* GUCs */
extern char *pgb_model_dir;

void		pgb_cache_init(void);
LoadedModel *pgb_get_model(const char *name);
void		pgb_count_use(LoadedModel *lm, int64 tokens);
void		pgb_check_model_name(const char *name);

/* The directory installs and drops write to; the directories searched. */
void		pgb_writable_models_dir(char *buf, size_t len);
int			pgb_models_dirs(char dirs[][MAXPGPATH]);

/* Catalogue row for one model; *found false if not installed. */
typedef struct BertModelInfo
{
	char		directory[MAXPGPATH];
	int64		bytes_on_disk;
	int64		bytes_resident; /* -1 if no snapshot exists */
	bool		loaded;
	TimestampTz loaded_since;
	int64		calls;
	int64		tokens;
} BertModelInfo;

void		pgb_model_usage(const char *name, const char *path, BertModelInfo *info);

void		pgb_install_model_file(const char *name, const char *path, bool replace);
void		pgb_drop_model_file(const char *name);
void		pgb_preload(const char *list);

#endif							/* BERT_CACHE_H */
