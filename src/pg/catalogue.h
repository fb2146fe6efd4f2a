/*
 * catalogue.h — installing a model into the registry, for the trainer.
 */
#ifndef PGB_CATALOGUE_H
#define PGB_CATALOGUE_H

#include "postgres.h"

/* Registers the transaction callbacks that log installs at commit. */
void		pgb_catalogue_init(void);

/*
 * ERROR unless name may be installed now: a writable transaction (25006 in
 * a read-only one or on a standby), a valid name that no shipped model has,
 * and (unless replace) not installed yet.  what names the SQL function.
 */
void		pgb_check_install(const char *name, bool replace, const char *what);

/*
 * Install the model file at path (a file of our own: a temporary file we
 * wrote) as name in this database's registry: validated (an overlay
 * against its base), hashed, its bytes stored unless the database has them
 * already, its row written.  source says where it came from, base_name
 * (or NULL) the name of an overlay's base; what names the SQL function for
 * the log.
 */
void		pgb_install_own_file(const char *name, const char *path, const char *source,
								 const char *base_name, bool replace, const char *what);

#endif							/* PGB_CATALOGUE_H */
