/*
 * store.h — model files on disk: names, directories, and putting a file in
 * place safely.  Below the cache (which finds and copies files) and the
 * catalogue (which installs and drops them).
 */
#ifndef PGB_STORE_H
#define PGB_STORE_H

#include "postgres.h"

#include <sys/stat.h>

#define BERT_MODEL_NAME_MAX 64

/* Registers bert.model_dir. */
void		pgb_store_init(void);

/* ERROR unless name is a valid model name (no path can hide in it). */
void		pgb_check_model_name(const char *name);

/* $PGDATA/pg_bert, or the directory sub inside it. */
void		pgb_data_path(char *buf, size_t len, const char *sub);
void		pgb_make_dir(const char *path);

/* The directories searched, in order; returns how many (1 or 2). */
int			pgb_models_dirs(char dirs[][MAXPGPATH]);

/* The directory installs and drops write to; the second form creates the
 * server's own directory if it is that one. */
void		pgb_writable_models_dir(char *buf, size_t len);
void		pgb_make_writable_models_dir(char *buf, size_t len);

/* Path and stat of the installed file for name, or false if there is none. */
bool		pgb_find_model_file(const char *name, char *path, struct stat *st);

/* Copy src to the new file dst, fsynced; ERROR (dst removed) on failure. */
void		pgb_copy_file(const char *src, const char *dst);

/* ERROR unless path holds a valid model file (reported as model name). */
void		pgb_validate_model_file(const char *name, const char *path);

/* Validate tmp as model name and rename it to dst; tmp is removed on failure. */
void		pgb_publish_model_file(const char *name, const char *tmp, const char *dst);

#endif							/* PGB_STORE_H */
