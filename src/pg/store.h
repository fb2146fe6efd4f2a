/*
 * store.h — model files on disk: names, the shipped models' directory,
 * reading a server path safely (and hashing what was read), temporary
 * files, file locks.  Below the registry, the cache and the catalogue.
 */
#ifndef PGB_STORE_H
#define PGB_STORE_H

#include "postgres.h"

#include <sys/stat.h>

#include "model.h"

#define BERT_MODEL_NAME_MAX 64
#define BERT_HASH_HEX (2 * BERT_SHA256_LEN)

/* Registers bert.model_dir. */
void		pgb_store_init(void);

/* Bumped when bert.model_dir changes: shipped names mean other files. */
extern uint64 pgb_store_generation;

/* ERROR unless name is a valid model name (no path can hide in it). */
void		pgb_check_model_name(const char *name);
bool		pgb_valid_model_name(const char *name);

/* $PGDATA/pg_bert, or the directory sub inside it. */
void		pgb_data_path(char *buf, size_t len, const char *sub);
void		pgb_make_dir(const char *path);

/* The directory of the shipped models: bert.model_dir, else SHAREDIR/bert/models. */
void		pgb_shipped_dir(char *buf, size_t len);

/* Path and stat of the shipped file for name, or false if there is none. */
bool		pgb_shipped_file(const char *name, char *path, struct stat *st);

/*
 * A new path for a temporary file in the server's temporary directory
 * (base/pgsql_tmp, created if needed): PostgreSQL removes such files when
 * it restarts, so a backend killed mid-install leaves nothing behind.
 */
void		pgb_temp_path(char *buf, size_t len, const char *what);

/* Remove path if it exists; quietly. */
void		pgb_unlink_if_exists(const char *path);

/*
 * Copy the model file at src (a server path) into the new file dst,
 * reading it with read(), never mapping it, a block at a time with
 * CHECK_FOR_INTERRUPTS between blocks, fsynced.  Anything but a regular
 * file is refused without waiting on it (a FIFO, a device, a socket).  sha
 * gets the SHA-256 of what was copied; returns its size.  A file whose
 * header is not a model's returns -1 with *status and err set, before
 * anything is copied.  dst is removed on failure.
 */
int64		pgb_copy_model_file(const char *src, const char *dst, uint8 *sha,
								BertModelStatus *status, char *err, size_t errlen);

/* Write len bytes at data to the new file dst, fsynced; sha gets their SHA-256. */
void		pgb_write_model_bytes(const char *data, size_t len, const char *dst, uint8 *sha);

/*
 * Close fd, then ERROR "could not VERB file "PATH": %m" with the errno of
 * the failure that came before the close.
 */
pg_attribute_noreturn() void pgb_close_and_error(int fd, const char *verb, const char *path);

/* write() all of len bytes to fd, or ERROR naming path. */
void		pgb_write_all(int fd, const char *data, size_t len, const char *path);

/* Incremental SHA-256, palloc'd; ERROR on failure. */
typedef struct PgbSha256 PgbSha256;
PgbSha256  *pgb_sha256_begin(void);
void		pgb_sha256_update(PgbSha256 *h, const void *data, size_t len);
void		pgb_sha256_final(PgbSha256 *h, uint8 *sha);

/* Lower-case hex of a SHA-256, and back (false unless 64 hex digits). */
void		pgb_sha256_hex(const uint8 *sha, char *hex);
bool		pgb_sha256_parse(const char *hex, uint8 *sha);

/* An exclusive flock on path (created if needed), waiting interruptibly;
 * returns the fd to pass to pgb_unlock_file. */
int			pgb_lock_file(const char *path);
void		pgb_unlock_file(int fd);

#endif							/* PGB_STORE_H */
