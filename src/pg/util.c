/*
 * util.c — helpers every glue file may use: text between the database
 * encoding and UTF-8, real[] results, the file privilege check, kind names
 * and the loader's errors.  It uses no other glue file.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_proc.h"
#include "funcapi.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "model.h"
#include "tokenizer.h"
#include "util.h"

/* The text as UTF-8 (the tokenizer's input encoding), and its length. */
char *
pgb_text_to_utf8(text *t, int *len)
{
	char	   *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *u;

	u = (char *) pg_do_encoding_conversion((unsigned char *) s, n,
										   GetDatabaseEncoding(), PG_UTF8);
	*len = (u == s) ? n : (int) strlen(u);
	return u;
}

/* UTF-8 bytes from the model as text in the database encoding (a piece or
 * label may not exist there: then the conversion raises the usual error). */
text *
pgb_utf8_text(const char *s, int len)
{
	char	   *c = (char *) pg_do_encoding_conversion((unsigned char *) s, len,
													   PG_UTF8, GetDatabaseEncoding());

	return c == s ? cstring_to_text_with_len(s, len) : cstring_to_text(c);
}

/* Word piece id of the vocabulary, as text. */
text *
pgb_piece_text(const BertVocab *v, int32 id)
{
	return pgb_utf8_text(v->blob + v->offsets[id], (int) (v->offsets[id + 1] - v->offsets[id]));
}

ArrayType *
pgb_float_array(const float *v, int n)
{
	/* built in one piece: no Datum array per call on the hot path */
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * n;
	ArrayType  *a = palloc0(nbytes);

	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), v, sizeof(float4) * n);
	return a;
}

const char *
pgb_kind_name(BertModelKind kind)
{
	switch (kind)
	{
		case BERT_KIND_EMBEDDING:
			return "embedding";
		case BERT_KIND_TOKEN_CLASSIFICATION:
			return "token classification";
		case BERT_KIND_SEQUENCE_CLASSIFICATION:
			return "sequence classification";
	}
	return "unknown";
}

void
pgb_check_file_privilege(const char *what)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only superusers and members of pg_read_server_files may install, train or drop models.")));
}

/* Report a loader failure for model name as the right SQL error. */
void
pgb_model_error(const char *name, BertModelStatus status, const char *err)
{
	if (status == BERT_MODEL_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory loading model \"%s\"", name)));
	if (status == BERT_MODEL_IO)
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("could not load model \"%s\"", name),
				 errdetail("%s", err)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("model file for \"%s\" is invalid", name),
			 errdetail("%s", err)));
}

/*
 * ERROR naming the first NULL argument: for functions that act (install,
 * drop, train, fill a table), where STRICT's NULL result would silently do
 * nothing.
 */
void
pgb_require_args(FunctionCallInfo fcinfo)
{
	Oid			fn = fcinfo->flinfo->fn_oid;
	HeapTuple	tup;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			n;
	int			arg = 0;

	for (int i = 0; i < PG_NARGS(); i++)
	{
		if (!PG_ARGISNULL(i))
			continue;
		tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", fn);
		n = get_func_arg_info(tup, &types, &names, &modes);
		ReleaseSysCache(tup);
		/* the i-th input argument among all, OUT ones included */
		for (int j = 0; j < n; j++)
		{
			if (modes && (modes[j] == PROARGMODE_OUT || modes[j] == PROARGMODE_TABLE))
				continue;
			if (arg++ == i)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("argument %s of %s() must not be null",
								names && names[j][0] ? names[j] : psprintf("%d", i + 1),
								get_func_name(fn))));
		}
		elog(ERROR, "bert: argument %d of function %u is null", i + 1, fn);
	}
}
