/*
 * catalogue.c — the installed models: bert_models lists them,
 * bert_install_model puts a converted file or a Hugging Face checkpoint
 * directory in place, bert_drop_model removes one.  Installs and drops bump
 * the cache's generation, so every backend looks its models up again.
 */
#include "postgres.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "cache.h"
#include "catalogue.h"
#include "model.h"
#include "store.h"
#include "util.h"

/* Quote s for a POSIX shell. */
static char *
shell_quote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(&buf, "'\\''");
		else
			appendStringInfoChar(&buf, *s);
	}
	appendStringInfoChar(&buf, '\'');
	return buf.data;
}

/* Run bert-convert on a Hugging Face directory, writing out. */
static void
convert_directory(const char *name, const char *dir, const char *out)
{
	char		bindir[MAXPGPATH];
	char	   *cmd;
	FILE	   *pipe;
	StringInfoData msg;
	char		line[1024];
	int			rc;

	strlcpy(bindir, my_exec_path, sizeof(bindir));
	get_parent_directory(bindir);
	cmd = psprintf("%s --quiet --source %s %s %s 2>&1",
				   shell_quote(psprintf("%s/bert-convert", bindir)),
				   shell_quote(dir), shell_quote(dir), shell_quote(out));
	pipe = OpenPipeStream(cmd, PG_BINARY_R);
	if (pipe == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not run \"%s\": %m", cmd)));
	initStringInfo(&msg);
	while (fgets(line, sizeof(line), pipe) != NULL)
		appendStringInfoString(&msg, line);
	rc = ClosePipeStream(pipe);
	if (rc != 0)
	{
		unlink(out);
		while (msg.len > 0 && msg.data[msg.len - 1] == '\n')
			msg.data[--msg.len] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not convert \"%s\" into model \"%s\"", dir, name),
				 errdetail("%s", msg.len > 0 ? msg.data : "bert-convert failed.")));
	}
}

/*
 * Install the file or Hugging Face directory at path as model name: written
 * to a temporary name beside the final one, validated, then renamed.
 */
void
pgb_install_model_file(const char *name, const char *path, bool replace)
{
	char		dir[MAXPGPATH],
				dst[MAXPGPATH],
				tmp[MAXPGPATH];
	struct stat st;

	pgb_check_model_name(name);
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat \"%s\": %m", path)));
	pgb_make_writable_models_dir(dir, sizeof(dir));
	snprintf(dst, sizeof(dst), "%s/%s.bert", dir, name);
	if (!replace && access(dst, F_OK) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" is already installed", name),
				 errhint("Drop it first, or pass replace => true.")));
	snprintf(tmp, sizeof(tmp), "%s/.%s.bert.tmp.%d", dir, name, MyProcPid);
	unlink(tmp);
	if (S_ISDIR(st.st_mode))
		convert_directory(name, path, tmp);
	else
	{
		pgb_validate_model_file(name, path);	/* fail fast, before copying */
		pgb_copy_file(path, tmp);
	}
	pgb_publish_model_file(name, tmp, dst);
	pgb_cache_invalidate();
}

/* Remove the installed file of name, its snapshots and its counters. */
static void
drop_model_file(const char *name)
{
	char		dir[MAXPGPATH],
				path[MAXPGPATH];
	struct stat st;

	pgb_check_model_name(name);
	pgb_writable_models_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.bert", dir, name);
	if (stat(path, &st) != 0)
	{
		if (pgb_find_model_file(name, path, &st))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("model \"%s\" is installed in the system directory", name),
					 errdetail("\"%s\" belongs to the operating system's package; remove it there.", path)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" is not installed", name)));
	}
	if (unlink(path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove \"%s\": %m", path)));
	pgb_cache_forget_model(name);
	pgb_cache_invalidate();
}

static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* One catalogue row for the model file at path (name.bert in dir). */
static void
model_row(ReturnSetInfo *rsinfo, const char *name, const char *dir)
{
	Datum		values[17];
	bool		nulls[17] = {0};
	char		path[MAXPGPATH];
	char		err[512];
	BertModel	m;
	BertModelInfo info;
	BertModelStatus status;

	snprintf(path, sizeof(path), "%s/%s.bert", dir, name);
	status = bcore_model_open(path, &m, err, sizeof(err));
	pgb_model_usage(name, path, &info);
	values[0] = CStringGetTextDatum(name);
	if (status == BERT_MODEL_OK)
	{
		const BertConfig *c = &m.config;
		Datum	   *labels = palloc(sizeof(Datum) * (m.n_labels + 1));

		for (uint32 i = 0; i < m.n_labels; i++)
		{
			size_t		len;
			const char *l = bcore_model_label(&m, i, &len);

			labels[i] = PointerGetDatum(pgb_utf8_text(l, (int) len));	/* UTF-8 in the file */
		}
		values[1] = CStringGetTextDatum(pgb_kind_name(c->kind));
		values[2] = Int32GetDatum(c->n_layers);
		values[3] = Int32GetDatum(c->hidden);
		values[4] = Int32GetDatum(c->n_heads);
		values[5] = Int32GetDatum(c->vocab_size);
		values[6] = Int32GetDatum(c->max_positions);
		values[7] = Int32GetDatum(c->max_seq_len);
		values[8] = PointerGetDatum(construct_array(labels, (int) m.n_labels, TEXTOID, -1, false, TYPALIGN_INT));
		values[9] = CStringGetTextDatum(c->pooling == BERT_POOL_CLS ? "cls" : "mean");
		values[10] = BoolGetDatum((c->flags & BERT_FLAG_NORMALIZE) != 0);
		bcore_model_close(&m);
	}
	else
	{
		/* listed, so that a broken file can be seen and dropped */
		values[1] = CStringGetTextDatum(psprintf("invalid: %s", err));
		for (int i = 2; i <= 10; i++)
			nulls[i] = true;
	}
	values[11] = CStringGetTextDatum(dir);
	values[12] = Int64GetDatum(info.bytes_on_disk);
	values[13] = Int64GetDatum(info.bytes_resident);
	nulls[13] = info.bytes_resident < 0;
	values[14] = TimestampTzGetDatum(info.loaded_since);
	nulls[14] = !info.loaded;
	values[15] = Int64GetDatum(info.calls);
	values[16] = Int64GetDatum(info.tokens);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(bert_models);
Datum
bert_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char		dirs[2][MAXPGPATH];
	int			ndirs = pgb_models_dirs(dirs);
	List	   *seen = NIL;

	InitMaterializedSRF(fcinfo, 0);
	for (int d = 0; d < ndirs; d++)
	{
		DIR		   *dir = AllocateDir(dirs[d]);
		struct dirent *de;
		List	   *names = NIL;
		ListCell   *lc;

		if (dir == NULL)
			continue;			/* a directory not created yet lists nothing */
		while ((de = ReadDirExtended(dir, dirs[d], LOG)) != NULL)
		{
			size_t		len = strlen(de->d_name);
			char	   *name;

			if (len <= 5 || strcmp(de->d_name + len - 5, ".bert") != 0 || de->d_name[0] == '.')
				continue;
			name = pnstrdup(de->d_name, len - 5);
			/* an earlier directory hides a model of the same name */
			if (list_member(seen, makeString(name)))
				continue;
			seen = lappend(seen, makeString(name));
			names = lappend(names, name);
		}
		FreeDir(dir);
		list_sort(names, compare_names);
		foreach(lc, names)
			model_row(rsinfo, lfirst(lc), dirs[d]);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bert_install_model);
Datum
bert_install_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *path;
	bool		replace;

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	replace = PG_GETARG_BOOL(2);

	pgb_check_file_privilege("install a model");
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model path must be absolute")));
	pgb_install_model_file(name, path, replace);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(bert_drop_model);
Datum
bert_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name;

	pgb_require_args(fcinfo);	/* not STRICT: a NULL is an error, not a no-op */
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	pgb_check_file_privilege("drop a model");
	drop_model_file(name);
	PG_RETURN_VOID();
}
