/*
 * cache.h — model weights shared by the server: snapshots by content hash,
 * usage counters, loading a model by name, preload, garbage collection.
 * Uses store and registry.
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
	char		hash[BERT_HASH_HEX + 1];	/* SHA-256 of its file */
	char		base_hash[BERT_HASH_HEX + 1];	/* an overlay's base, or "" */
	bool		stored;			/* in the registry (else shipped) */
	bool		verified;		/* name still means hash (no registry change since) */
	BertModel	model;			/* points into the snapshot mapping(s) */
	BertModel	base;			/* an overlay's base model */
	BertRunState state;			/* this backend's activation buffers */
	int			slot;			/* index of the model's shared counters */
	void	   *map;
	size_t		map_size;
	void	   *base_map;
	size_t		base_map_size;
	struct LoadedModel *next;
} LoadedModel;

/* Registers bert.preload_models (only when loaded at server start) and
 * the registry's invalidation callback. */
void		pgb_cache_init(void);

/* In the postmaster: map the shipped models of bert.preload_models. */
void		pgb_cache_preload(void);

/* Model name, loaded on first use in this backend; ERROR if it cannot be. */
LoadedModel *pgb_get_model(const char *name);
void		pgb_count_use(LoadedModel *lm, int64 tokens);

/*
 * Model name loaded for the caller alone: nothing else (not a registry
 * change, not another install in the same statement) unmaps it before
 * pgb_close_model.
 */
LoadedModel *pgb_open_model(const char *name);
void		pgb_close_model(LoadedModel *lm);

/*
 * A shipped model for the catalogue: loaded (NULL, with *status and err
 * set, if its file is not a valid model).
 */
LoadedModel *pgb_try_shipped_model(const char *name, BertModelStatus *status,
								   char *err, size_t errlen);

/*
 * The complete model with content hash, for validating an overlay being
 * installed; its snapshot is built if needed.  ERROR if no stored or
 * shipped model has that content.  Close with pgb_close_model.
 */
LoadedModel *pgb_open_base(const char *hash);

/* A model's use, for the catalogue. */
typedef struct BertModelInfo
{
	int64		bytes_in_cache; /* -1 if no snapshot exists */
	int64		bytes_resident; /* -1 if no snapshot exists */
	bool		loaded;
	TimestampTz loaded_since;
	int64		calls;
	int64		tokens;
} BertModelInfo;

void		pgb_model_usage(const char *name, const char *hash, bool stored, BertModelInfo *info);

/*
 * Remove what no database uses: this database's claims on snapshots its
 * registry no longer names, claims of dropped databases, snapshots nobody
 * claims, dead writers' temporary files.
 */
void		pgb_cache_collect(void);

/* The content hash of a shipped model file (hashing and snapshotting it if new). */
bool		pgb_shipped_hash(const char *name, char *hash, BertModelStatus *status,
							 char *err, size_t errlen);

#endif							/* PGB_CACHE_H */
