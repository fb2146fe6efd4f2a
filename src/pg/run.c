/*
 * run.c — running a model on text: which model a call means
 * (bert.default_model), its token limit (bert.max_tokens, bert.truncate),
 * the encoder run itself (query cancel) and its threads (bert.threads,
 * bert.bulk_threads), shared by the embedding, classification, bulk and
 * training functions.
 *
 * Threads: never more than the cores this backend may run on (CPU affinity,
 * cgroup quota), less the threads other backends of the server are running
 * bert calls on at the moment, less the other tasks ready to run on the
 * machine (when the backend may use all of it).  Each backend publishes its busy threads in
 * a slot of $PGDATA/pg_bert/threads, a small file every backend maps
 * shared (no shared_preload_libraries needed); a slot whose process is gone
 * counts for nothing.  On 2 cores, bert.threads = 8 took 30 times as long
 * as 2 threads for 600 texts (14.1 s vs 0.47 s): spinning threads that
 * wait for a core cost more than they compute.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access/xact.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cache.h"
#include "encoder.h"
#include "ops.h"
#include "run.h"
#include "store.h"
#include "tokenizer.h"
#include "util.h"

static char *bert_default_model = NULL;
static int	bert_max_tokens = 0;
static bool bert_truncate = true;
static int	bert_threads = 1;
static int	bert_bulk_threads = 0;

/* Scratch reused by every call, so an ERROR cannot leak it; it holds at
 * most a limit's worth of pieces (never the whole input). */
static BertTokens scratch_tokens;

/*
 * Polled by the encoder (possibly from its worker threads, so it only
 * reads flags) and the tokenizer.  Only cancel, timeouts and termination
 * stop them: pgb_run() then services the interrupt on the backend's own
 * thread, which raises the error.  Other interrupts (a client connection
 * check, a memory context dump, a barrier) wait until the call returns and
 * are serviced then, so they never make the work start over.
 */
static int
interrupt_pending(void)
{
	return (QueryCancelPending || ProcDiePending) && INTERRUPTS_CAN_BE_PROCESSED();
}

void
pgb_run_init(void)
{
	DefineCustomStringVariable("bert.default_model",
							   "Model used by the functions called without a model argument.",
							   NULL,
							   &bert_default_model,
							   "all-MiniLM-L6-v2",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("bert.max_tokens",
							"Most word pieces a model sees per input, [CLS] and [SEP] included, in the functions called without a model argument.",
							"0 means the model's own maximum sequence length.",
							&bert_max_tokens,
							0, 0, 65536,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("bert.truncate",
							 "Cut inputs longer than the token limit (off: raise an error), in the functions called without a model argument.",
							 NULL,
							 &bert_truncate,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("bert.threads",
							"Threads one backend uses for large batches.",
							"At most the cores the backend may use that other bert calls are not using; parallel query workers, and their leader, always use one.",
							&bert_threads,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bert.bulk_threads",
							"Threads bert_embed_table uses.",
							"0 means every core the backend may use; never more than the cores other bert calls are not using.",
							&bert_bulk_threads,
							0, 0, 64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
	bcore_interrupt_pending = interrupt_pending;
}


/* ---- which model, which limit ---- */

/* The limit of model lm if max_tokens is given (> 0), checked. */
static int
checked_limit(LoadedModel *lm, int limit)
{
	const BertConfig *c = &lm->model.config;

	if (limit < 2 || limit > c->max_positions)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("token limit %d is out of range for model \"%s\"", limit, lm->name),
				 errdetail("The model takes 2 to %d tokens, [CLS] and [SEP] included.",
						   c->max_positions)));
	return limit;
}

LoadedModel *
pgb_model_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno)
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
		LoadedModel *lm = pgb_get_model(name);

		pfree(name);
		return lm;
	}
	return pgb_get_model(bert_default_model);
}

void
pgb_call_init(PgbCall *call, FunctionCallInfo fcinfo, int model_argno)
{
	pgb_call_limits(call, fcinfo, model_argno, model_argno + 1,
					pgb_model_arg(fcinfo, model_argno));
}

void
pgb_call_limits(PgbCall *call, FunctionCallInfo fcinfo, int model_argno,
				int limit_argno, LoadedModel *lm)
{
	call->lm = lm;
	if (PG_NARGS() > model_argno)
	{
		call->limit = limit_argno >= 0 && PG_NARGS() > limit_argno ?
			checked_limit(lm, PG_GETARG_INT32(limit_argno)) :
			lm->model.config.max_seq_len;
		call->truncate = true;
		return;
	}
	call->limit = bert_max_tokens > 0 ? checked_limit(lm, bert_max_tokens) :
		lm->model.config.max_seq_len;
	call->truncate = bert_truncate;
}

void
pgb_call_for_model(PgbCall *call, const char *name)
{
	call->lm = pgb_get_model(name);
	call->limit = call->lm->model.config.max_seq_len;
	call->truncate = true;
}

int
pgb_token_limit(FunctionCallInfo fcinfo, int argno, LoadedModel *lm)
{
	if (PG_NARGS() > argno)
		return checked_limit(lm, PG_GETARG_INT32(argno));
	if (bert_max_tokens > 0)
		return checked_limit(lm, bert_max_tokens);
	return lm->model.config.max_seq_len;
}


/* ---- tokens ---- */

/* Tokenize input for lm into scratch_tokens as opt says; cancel stops it. */
static BertTokens *
tokenize(LoadedModel *lm, text *input, BertTokOptions *opt)
{
	int			len;
	char	   *utf8 = pgb_text_to_utf8(input, &len);
	BertTokStatus status;

	opt->interrupted = interrupt_pending;
	while ((status = bcore_tokenize(&lm->model.vocab, utf8, (size_t) len, opt,
									&scratch_tokens)) == BERT_TOK_INTERRUPTED)
		CHECK_FOR_INTERRUPTS(); /* the error leaves here; else read again */
	if (status != BERT_TOK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory tokenizing input")));
	if (utf8 != VARDATA_ANY(input))
		pfree(utf8);
	return &scratch_tokens;
}

/*
 * Tokens cut to limit; when not truncating, an ERROR if the input is
 * longer, its length counted without keeping the pieces past the limit.
 */
static BertTokens *
limited_tokens(LoadedModel *lm, text *input, int limit, bool truncate)
{
	BertTokOptions opt = {(size_t) limit, truncate, NULL};
	BertTokens *tok = tokenize(lm, input, &opt);

	if (!truncate && tok->total > (size_t) limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input is %zu tokens long, more than the limit of %d", tok->total, limit),
				 errhint("Set bert.truncate = on to use its first %d tokens, or raise bert.max_tokens (at most %d for model \"%s\").",
						 limit, lm->model.config.max_positions, lm->name)));
	return tok;
}

BertTokens *
pgb_call_tokens(const PgbCall *call, text *input)
{
	return limited_tokens(call->lm, input, call->limit, call->truncate);
}

BertTokens *
pgb_model_tokens(LoadedModel *lm, text *input, int limit)
{
	return limited_tokens(lm, input, limit, bert_truncate);
}

int64
pgb_count_tokens(LoadedModel *lm, text *input)
{
	/* keep [CLS] and [SEP] only: the output does not grow with the input */
	BertTokOptions opt = {2, 0, NULL};

	return (int64) tokenize(lm, input, &opt)->total;
}

void
pgb_spans_to_chars(text *input, BertTokens *tok)
{
	int			enc = GetDatabaseEncoding();
	const char *s = VARDATA_ANY(input);
	int			len = VARSIZE_ANY_EXHDR(input);

	if (enc == PG_UTF8)
		return;					/* characters are code points */
	if (enc == PG_SQL_ASCII)
	{
		/*
		 * PostgreSQL counts bytes; the tokenizer read the same bytes as
		 * UTF-8, so a span's code points map to whole byte sequences.
		 */
		int32		max_end = 0;
		int32	   *byte_at;
		size_t		pos = 0;

		for (size_t i = 0; i < tok->n; i++)
			max_end = Max(max_end, tok->end[i]);
		byte_at = palloc(sizeof(int32) * (max_end + 1));
		for (int32 cp = 0; cp <= max_end; cp++)
		{
			byte_at[cp] = (int32) pos;
			pos = bcore_utf8_next(s, (size_t) len, pos);
		}
		for (size_t i = 0; i < tok->n; i++)
		{
			tok->start[i] = byte_at[tok->start[i]];
			tok->end[i] = byte_at[tok->end[i]];
		}
		pfree(byte_at);
		return;
	}
	else
	{
		/*
		 * One code point per character, unless the encoding has characters
		 * that convert to several (EUC_JIS_2004's kana with semi-voiced
		 * marks): then no position would be right.
		 */
		int			ulen;
		char	   *u = pgb_text_to_utf8(input, &ulen);
		int			chars = pg_mbstrlen_with_len(s, len);
		int			cps = 0;

		for (int i = 0; i < ulen; i++)
			cps += ((unsigned char) u[i] & 0xC0) != 0x80;
		if (u != s)
			pfree(u);
		if (cps != chars)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("character offsets of this input are not available in encoding \"%s\"",
							GetDatabaseEncodingName()),
					 errdetail("Some of its characters are more than one Unicode code point.")));
	}
}


/* ---- cores and threads ---- */

/* The CPU quota of this process's cgroup, in cores rounded up; 0 if none. */
static int
cgroup_cores(void)
{
	FILE	   *f = AllocateFile("/proc/self/cgroup", "r");
	char		line[MAXPGPATH];
	int			cores = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *ctl = strchr(line, ':');
		char	   *path = ctl ? strchr(ctl + 1, ':') : NULL;
		bool		v2;
		bool		cpu = false;

		if (path == NULL)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		ctl++;
		v2 = strcmp(line, "0") == 0 && ctl[0] == '\0';
		for (char *tok = strtok(ctl, ","); tok; tok = strtok(NULL, ","))
			cpu |= strcmp(tok, "cpu") == 0;
		if (!v2 && !cpu)
			continue;

		/* this cgroup and each of its parents: the smallest quota binds */
		for (;;)
		{
			static const char *const v1_roots[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
			char		file[MAXPGPATH];
			long		quota = -1,
						period = 0;
			char	   *slash;

			if (v2)
			{
				FILE	   *q;
				char		max[32];

				snprintf(file, sizeof(file), "/sys/fs/cgroup%s/cpu.max", path);
				if ((q = AllocateFile(file, "r")) != NULL)
				{
					if (fscanf(q, "%31s %ld", max, &period) == 2 && strcmp(max, "max") != 0)
						quota = atol(max);
					FreeFile(q);
				}
			}
			else
				for (int r = 0; r < (int) lengthof(v1_roots) && quota < 0; r++)
				{
					FILE	   *q;

					snprintf(file, sizeof(file), "%s%s/cpu.cfs_quota_us", v1_roots[r], path);
					if ((q = AllocateFile(file, "r")) == NULL)
						continue;
					if (fscanf(q, "%ld", &quota) != 1)
						quota = -1;
					FreeFile(q);
					snprintf(file, sizeof(file), "%s%s/cpu.cfs_period_us", v1_roots[r], path);
					if ((q = AllocateFile(file, "r")) != NULL)
					{
						if (fscanf(q, "%ld", &period) != 1)
							period = 0;
						FreeFile(q);
					}
				}
			if (quota > 0 && period > 0)
			{
				int			c = (int) Max(1, (quota + period - 1) / period);

				cores = cores == 0 ? c : Min(cores, c);
			}
			if ((slash = strrchr(path, '/')) == NULL || path[1] == '\0')
				break;
			if (slash == path)
				path[1] = '\0';	/* the root */
			else
				*slash = '\0';
		}
	}
	FreeFile(f);
	return cores;
}

static bool cores_are_machine = false;	/* no affinity or quota limits us */

int
pgb_usable_cores(void)
{
	static int	cores = 0;

	if (cores == 0)
	{
		cpu_set_t	set;
		int			quota;

		CPU_ZERO(&set);
		cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) :
			(int) sysconf(_SC_NPROCESSORS_ONLN);
		quota = cgroup_cores();
		if (quota > 0 && quota < cores)
			cores = quota;
		cores_are_machine = cores >= (int) sysconf(_SC_NPROCESSORS_ONLN);
		cores = Max(1, Min(cores, BERT_MAX_THREADS));
	}
	return cores;
}

/*
 * Tasks of the machine ready to run besides this one (the "running" count
 * of /proc/loadavg), when the backend may use the whole machine; 0 when
 * unknown, or when an affinity mask or quota makes the machine-wide count
 * meaningless.  Threads that wait for a core stall their partners at every
 * barrier of a BLAS call: on 2 cores at load 6, 1 000 short rows took 34 s
 * with 2 threads and 3.9 s with 1.
 */
static int
own_spinning_threads(void)
{
	DIR		   *d = opendir("/proc/self/task");
	struct dirent *de;
	int			n = 0;
	pid_t		me = (pid_t) syscall(SYS_gettid);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		char		path[64],
					buf[256];
		int			fd;
		ssize_t		len;
		char	   *close_paren;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "tid (comm) S ...": the state follows the last ')' */
		if ((close_paren = strrchr(buf, ')')) != NULL && close_paren[1] == ' ' && close_paren[2] == 'R')
			n++;
	}
	closedir(d);
	return n;
}

static int
running_now(void)
{
	char		buf[128];
	int			fd;
	ssize_t		n;
	int			running = 0;
	char	   *p = buf;

	if ((fd = open("/proc/loadavg", O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "0.50 0.60 0.70 3/150 12345": the fourth field's numerator */
	for (int field = 0; field < 3 && p; field++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%d/", &running) != 1)
		return 0;
	return running;
}

/*
 * Runnable tasks other than this backend's threads, seen in two looks
 * 0.2 ms apart: a kernel thread or daemon that runs for a moment (kdamond, a
 * kworker, the WAL writer) is gone by the second look and does not cost a
 * whole batch its second thread; a busy process is in both.  Measured
 * before the second look, CALL bert_embed_table ran about one encoder call
 * in sixteen on one thread on an idle 2-core machine.
 */
static int
others_running(void)
{
	int			first;

	if (!cores_are_machine || running_now() <= 1)
		return 0;
	/* this thread, and this process's own idle threads still spinning
	 * after its last parallel run, are not others */
	first = running_now() - 1 - own_spinning_threads();
	if (first <= 0)
		return 0;
	pg_usleep(200);
	return Max(0, Min(first, running_now() - 1 - own_spinning_threads()));
}

int
pgb_bulk_threads(void)
{
	return bert_bulk_threads > 0 ? bert_bulk_threads : pgb_usable_cores();
}

/* Busy threads of every backend of the server, one slot per backend id. */
#define THREADS_MAGIC 0x42544852	/* "BTHR" */
#define THREADS_SLOTS 1024

typedef struct ThreadSlot
{
	int32		pid;
	int32		threads;
} ThreadSlot;

typedef struct ThreadsFile
{
	uint32		magic;
	uint32		n_slots;
	ThreadSlot	slots[THREADS_SLOTS];
} ThreadsFile;

static ThreadsFile *threads_file = NULL;
static bool threads_file_failed = false;

/* The most threads an encoder call of the last statement that ran one used. */
static int	last_threads = 0;
static TimestampTz last_threads_statement = 0;

int
pgb_last_threads(void)
{
	return last_threads;
}

/* Map the threads file; on any failure, threads are only capped by cores. */
static ThreadSlot *
my_thread_slot(void)
{
	if (MyBackendId <= 0 || MyBackendId > THREADS_SLOTS || threads_file_failed)
		return NULL;
	if (threads_file == NULL)
	{
		char		dir[MAXPGPATH],
					path[MAXPGPATH];
		int			fd;
		void	   *map = MAP_FAILED;

		pgb_data_path(dir, sizeof(dir), NULL);
		pgb_data_path(path, sizeof(path), "threads");
		threads_file_failed = true;
		if (mkdir(dir, S_IRWXU) != 0 && errno != EEXIST)
			return NULL;
		fd = BasicOpenFilePerm(path, O_RDWR | O_CREAT, S_IRUSR | S_IWUSR);
		if (fd < 0)
			return NULL;
		/* growing the file is idempotent: every process sizes it alike */
		if (ftruncate(fd, sizeof(ThreadsFile)) == 0)
			map = mmap(NULL, sizeof(ThreadsFile), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return NULL;
		threads_file = map;
		threads_file_failed = false;
		/* a new file is all zeros: slots of no process, nothing busy */
		__atomic_store_n(&threads_file->magic, THREADS_MAGIC, __ATOMIC_RELAXED);
		__atomic_store_n(&threads_file->n_slots, THREADS_SLOTS, __ATOMIC_RELAXED);
	}
	return &threads_file->slots[MyBackendId - 1];
}

/* Threads other live backends are running bert calls on. */
static int
others_busy(ThreadSlot *mine)
{
	int			busy = 0;

	for (int i = 0; i < THREADS_SLOTS; i++)
	{
		ThreadSlot *s = &threads_file->slots[i];
		int32		t = __atomic_load_n(&s->threads, __ATOMIC_RELAXED);
		int32		pid = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);

		if (s == mine || t <= 0)
			continue;
		if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		{
			/* a backend that died in a call: its threads are gone too */
			__atomic_store_n(&s->threads, 0, __ATOMIC_RELAXED);
			continue;
		}
		busy += t;
	}
	return busy;
}

/* Claim up to want threads: the usable cores other calls leave, at least 1. */
static int
claim_threads(int want)
{
	int			cores = pgb_usable_cores();
	ThreadSlot *mine = my_thread_slot();
	int			got = Max(1, Min(want, cores));

	if (got > 1)
		got = Max(1, Min(got, cores - others_running()));
	if (mine == NULL)
		return got;
	__atomic_store_n(&mine->pid, (int32) MyProcPid, __ATOMIC_RELAXED);
	if (got > 1)
		got = Max(1, Min(got, cores - others_busy(mine)));
	__atomic_store_n(&mine->threads, got, __ATOMIC_SEQ_CST);
	/* two backends claiming at once: the second look sees the first */
	if (got > 1)
	{
		int			left = cores - others_busy(mine);

		if (got > left)
		{
			got = Max(1, left);
			__atomic_store_n(&mine->threads, got, __ATOMIC_SEQ_CST);
		}
	}
	return got;
}

static void
release_threads(void)
{
	if (threads_file != NULL && MyBackendId > 0 && MyBackendId <= THREADS_SLOTS)
		__atomic_store_n(&threads_file->slots[MyBackendId - 1].threads, 0, __ATOMIC_RELEASE);
}


/* ---- the encoder ---- */

void
pgb_run(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq)
{
	pgb_run_threads(lm, ids, seq_len, n_seq, bert_threads);
}

/*
 * Run the encoder on n_seq sequences laid end to end (ids, seq_len), for
 * lm; the last hidden state is then in lm->state.
 */
void
pgb_run_threads(LoadedModel *lm, const int32 *ids, const int *seq_len, int n_seq,
				int want)
{
	BertEncStatus status;
	int64		tokens = 0;
	int			threads;

	for (int s = 0; s < n_seq; s++)
		tokens += seq_len[s];

	/* interrupts that arrived since the last call: serviced before this one */
	CHECK_FOR_INTERRUPTS();

	/*
	 * In parallel query every process already has a core, so more threads
	 * would oversubscribe.  A batch of several sequences runs in chunks on
	 * threads side by side (BLIS single-threaded in each; the encoder cuts
	 * a small one into a chunk per thread: bcore_encode_threads); one long
	 * sequence gets BLIS's threads instead; short ones run alone.
	 */
	if (IsInParallelMode() || tokens < 128)
		want = 1;
	threads = claim_threads(want);
	if (n_seq > 1 && tokens >= 2 * BERT_MIN_SPLIT_TOKENS)
		bcore_blas_init(1);
	else
	{
		bcore_blas_init(threads);
		threads = 1;
	}
	if (GetCurrentStatementStartTimestamp() != last_threads_statement)
	{
		last_threads_statement = GetCurrentStatementStartTimestamp();
		last_threads = 0;
	}
	last_threads = Max(last_threads, Max(threads, bcore_blas_threads()));
	/* stopped by a cancel: service it (the error leaves here), else rerun */
	while ((status = bcore_encode_threads(&lm->model, &lm->state, ids, seq_len, n_seq,
										  threads)) == BERT_ENC_INTERRUPTED)
	{
		release_threads();
		CHECK_FOR_INTERRUPTS();
		threads = claim_threads(threads);
	}
	release_threads();
	if (status == BERT_ENC_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory running model \"%s\"", lm->name)));
	if (status != BERT_ENC_OK)
		elog(ERROR, "bert: encoder rejected its input");
	pgb_count_use(lm, tokens);
}


/* ---- batches of sentence embeddings ---- */

/* A batch of calls of up to PGB_BATCH_TOKENS a thread, call_tokens in all,
 * or one sequence of `limit` tokens. */
void
pgb_batch_init(PgbBatch *b, LoadedModel *lm, int limit, int threads, int call_tokens)
{
	memset(b, 0, sizeof(*b));
	b->lm = lm;
	b->threads = threads;
	b->max_tokens = Max(limit, Max(call_tokens, PGB_BATCH_TOKENS * Max(1, threads)));
	b->max_seq = b->max_tokens / 2 + 1;
	b->ids = palloc(sizeof(int32) * b->max_tokens);
	b->lens = palloc(sizeof(int) * b->max_seq);
	/* out: none yet; pgb_batch_run sizes it to the sequences run, here,
	 * whatever context it runs in */
	b->cxt = CurrentMemoryContext;
}

bool
pgb_batch_fits(const PgbBatch *b, const BertTokens *tok)
{
	return b->n_seq < b->max_seq && b->n_tok + (int) tok->n <= b->max_tokens;
}

void
pgb_batch_add(PgbBatch *b, const BertTokens *tok)
{
	Assert(pgb_batch_fits(b, tok));
	memcpy(b->ids + b->n_tok, tok->ids, sizeof(int32) * tok->n);
	b->lens[b->n_seq++] = (int) tok->n;
	b->n_tok += (int) tok->n;
}

/* Run the batch: returns how many embeddings are then in b->out, in the
 * order added; the batch is empty again. */
int
pgb_batch_run(PgbBatch *b)
{
	int			n = b->n_seq;

	if (n > b->out_seq)
	{
		if (b->out)
			pfree(b->out);
		b->out = MemoryContextAlloc(b->cxt, sizeof(float) * (size_t) n * b->lm->model.config.hidden);
		b->out_seq = n;
	}
	return pgb_batch_run_into(b, b->out);
}

/* The same, the embeddings written to out (room for as many as were added):
 * a caller that keeps its own buffer from batch to batch. */
int
pgb_batch_run_into(PgbBatch *b, float *out)
{
	int			n = b->n_seq;

	if (n == 0)
		return 0;
	pgb_run_threads(b->lm, b->ids, b->lens, n, b->threads);
	bcore_pool(&b->lm->model, &b->lm->state, b->lens, n, out);
	b->n_seq = 0;
	b->n_tok = 0;
	return n;
}

void
pgb_batch_free(PgbBatch *b)
{
	pfree(b->ids);
	pfree(b->lens);
	if (b->out)
		pfree(b->out);
}
