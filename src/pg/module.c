/*
 * module.c — the extension's entry: PG_MODULE_MAGIC, _PG_init, bert_info.
 *
 * The glue is layered; a file uses only the layers below it:
 *
 *   util      text <-> UTF-8, real[], privilege check, kind names, errors
 *   store     model files on disk: names, the shipped directory, safe reads
 *   registry  the _bert tables: a database's models, as the extension owner
 *   stats     usage counters of models, shared by the server's backends
 *   cache     snapshots by content hash, loading, preload, collection
 *   run       a call's model, token limit and tokens; the encoder run
 *   embed, classify, catalogue, bulk   SQL functions (catalogue also installs)
 *   train     SQL functions that train and install (through catalogue)
 *   module    this file
 *
 * SQL-callable functions carry their SQL names (bert_embed), glue helpers
 * shared between files are pgb_*, the core's functions bcore_*.  Each file
 * that has settings registers them in its own init function.
 */
#include "postgres.h"

#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "cache.h"
#include "catalogue.h"
#include "model_format.h"
#include "ops.h"
#include "run.h"
#include "store.h"
#include "util.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * glibc moves its mmap threshold up to the size of the largest block freed
 * (up to 32 MB) and its trim threshold to twice that.  After one statement
 * that freed a large block (a batch's activations, a long text), blocks of
 * that size come from the heap and freed ones are not given back, so a
 * backend's private memory then follows whatever the last statements
 * allocated: in a 5-minute soak single backends moved by up to 6 MB between
 * minutes (bench/soak.sh).  Fixed thresholds (glibc's initial values) keep
 * blocks over 128 kB as mappings returned when freed, and the heap trimmed.
 * An administrator's own GLIBC_TUNABLES for malloc are left as they are.
 */
static void
fix_malloc_thresholds(void)
{
#ifdef __GLIBC__
	const char *tunables = getenv("GLIBC_TUNABLES");

	if (tunables != NULL && strstr(tunables, "glibc.malloc.") != NULL)
		return;
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

void
_PG_init(void)
{
	fix_malloc_thresholds();
	pgb_run_init();
	pgb_store_init();
	pgb_cache_init();
	pgb_catalogue_init();
	MarkGUCPrefixReserved("bert");

	/* in the postmaster: map the weights, touch nothing else (no BLIS, no threads) */
	pgb_cache_preload();
}

/*
 * What this module runs on: BLIS and its kernel set (and why), the most
 * threads the last statement of this backend that ran the encoder used, the
 * model format it reads, where the shipped models are (to roles that may
 * read server files), the CPU's features, the cores this backend may use.
 */
PG_FUNCTION_INFO_V1(bert_info);
Datum
bert_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};
	char		dir[MAXPGPATH];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bert_info: return type must be a row type");
	bcore_blas_init(1);
	values[0] = CStringGetTextDatum(bcore_blas_version());
	values[1] = CStringGetTextDatum(bcore_blas_arch());
	values[2] = CStringGetTextDatum(bcore_blas_arch_reason());
	values[3] = Int32GetDatum(pgb_last_threads());
	values[4] = Int32GetDatum(BERT_FORMAT_VERSION);
	/* a server path: only for roles that may read server files */
	pgb_shipped_dir(dir, sizeof(dir));
	values[5] = CStringGetTextDatum(dir);
	nulls[5] = !pgb_may_read_server_files();
	values[6] = CStringGetTextDatum(bcore_cpu_features());
	values[7] = CStringGetTextDatum(bcore_kernels_isa());
	values[8] = Int32GetDatum(pgb_usable_cores());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
