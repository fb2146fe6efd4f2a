/*
 * stats.h — usage counters of models, shared by the server's backends
 * through $PGDATA/pg_bert/stats.  Uses store.
 */
#ifndef PGB_STATS_H
#define PGB_STATS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/* The counters slot of a model name with content hash (claimed, reset if
 * the content changed); -1 if all slots are taken. */
int			pgb_stats_slot(const char *name, const char *hash, bool stored);

/* One call of tokens tokens on slot. */
void		pgb_stats_count(int slot, int64 tokens);

/* The counters of name with content hash, if it has a slot. */
bool		pgb_stats_read(const char *name, const char *hash, bool stored,
						   TimestampTz *loaded_at, int64 *calls, int64 *tokens);

/* Zero the counters of one model (NULL: every model) of this database and
 * the shipped ones. */
void		pgb_stats_reset(const char *name);

/* Free this database's slots whose content is not among in_use (hashes). */
void		pgb_stats_forget(List *in_use);

#endif
