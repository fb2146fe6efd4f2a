/*
 * registry.h — a database's models: the extension's tables _bert.model (a
 * row per installed or trained name) and _bert.model_chunk (the bytes, by
 * content hash), read and written as the extension's owner.  Uses store.
 */
#ifndef PGB_REGISTRY_H
#define PGB_REGISTRY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/array.h"

#include "model.h"
#include "store.h"

/* A model stored in this database (a row of _bert.model). */
typedef struct PgbStoredModel
{
	char		name[BERT_MODEL_NAME_MAX + 1];
	char		hash[BERT_HASH_HEX + 1];	/* SHA-256 of its file */
	char		base_hash[BERT_HASH_HEX + 1];	/* an overlay's base, or "" */
	char	   *base_name;		/* the base's name when installed, or NULL */
	char	   *kind;
	int64		bytes;			/* its file */
	int32		layers,
				hidden,
				heads,
				vocab_size,
				max_positions,
				max_seq_len;
	ArrayType  *labels;			/* text[] */
	char	   *pooling;
	bool		normalized;
	char	   *source;			/* where it came from, or NULL */
	char	   *installed_by;
	TimestampTz installed_at;
	int64		bytes_in_database;	/* its chunks (listing only) */
} PgbStoredModel;

/* _bert.model, or InvalidOid if this database has no registry (yet). */
Oid			pgb_registry_relid(void);

/* The relation id looked up last (no lookup), and forgetting it (the
 * registry may have been dropped). */
Oid			pgb_registry_cached_relid(void);
void		pgb_registry_forget_relid(void);

/* The row for name, with hash, base_hash and bytes set; false if there is none. */
bool		pgb_registry_lookup(const char *name, PgbStoredModel *m);

/* Every row, sorted by name (bytewise), with every field: a List of PgbStoredModel. */
List	   *pgb_registry_list(void);

/* The content hashes the rows use (their own and their bases'): a List of char *. */
List	   *pgb_registry_hashes(void);

/* The size of content hash if the database holds all of its bytes, else -1. */
int64		pgb_registry_content_bytes(const char *hash);

/* Stream the bytes of content hash, in order, to sink; ERROR if any is missing. */
void		pgb_registry_read_content(const char *hash, int64 bytes,
									  void (*sink) (void *arg, const char *data, size_t len),
									  void *arg);

/*
 * Writers: they take a lock that serializes every writer of this
 * database's registry until the end of the transaction, then read and write
 * with the latest snapshot (so a writer in a REPEATABLE READ transaction
 * does not delete what another one just committed).  The caller has checked
 * that writing is allowed.
 */

/* The bytes of the file at path (bytes long) as the content hash. */
void		pgb_registry_store_content(const char *hash, const char *path, int64 bytes);

/*
 * Insert or (replace) update the row m: PGB_PUT_EXISTS, writing nothing, if
 * the name exists and !replace.  Bytes no row uses any more are deleted.
 */
typedef enum PgbPutResult
{
	PGB_PUT_EXISTS,
	PGB_PUT_INSERTED,
	PGB_PUT_REPLACED
} PgbPutResult;

PgbPutResult pgb_registry_put(const PgbStoredModel *m, bool replace);

/*
 * v[0..5] = the six size columns (layers, hidden, heads, vocab_size,
 * max_positions, max_seq_len): that order in _bert.model and bert_models.
 */
void		pgb_size_columns(Datum *v, int32 layers, int32 hidden, int32 heads, int32 vocab_size,
							 int32 max_positions, int32 max_seq_len);

/* Delete the row for name (false if there is none), and bytes no row uses. */
bool		pgb_registry_delete(const char *name);

/* Does any row name hash as its base?  *user gets one such name. */
bool		pgb_registry_used_as_base(const char *hash, char **user);

#endif							/* PGB_REGISTRY_H */
