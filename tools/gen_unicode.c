/*
 * gen_unicode.c — write src/core/unicode_tables.c from the Unicode Character
 * Database as Debian's unicode-data package installs it.
 *
 *   gen_unicode /usr/share/unicode > src/core/unicode_tables.c
 *
 * Reads UnicodeData.txt and SpecialCasing.txt (and, for the version string
 * only, DerivedAge.txt if present).  Output layout: see src/core/unicode_tables.h.
 * Plain C99, no dependencies: it runs on the build machine before the
 * extension is compiled.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CODE_POINTS 0x110000
#define MAX_RAW_DECOMP 18		/* longest canonical decomposition field */
#define MAX_FULL_DECOMP 4		/* UNICODE_MAX_DECOMP in unicode_tables.h */
#define MAX_SPECIAL 3			/* UNICODE_MAX_SPECIAL_LOWER */

/* Same numbering as UnicodeClass in unicode_tables.h. */
enum
{
	CLS_OTHER = 0,
	CLS_CONTROL = 1,
	CLS_SPACE = 2,
	CLS_PUNCT = 3,
	CLS_MN = 4
};

/* One raw decomposition as listed (one level deep). */
typedef struct RawDecomp
{
	int			len;
	uint32_t	cps[MAX_RAW_DECOMP];
} RawDecomp;

static uint8_t *gc_class;		/* per code point, CLS_* */
static uint8_t *ccc;			/* canonical combining class */
static uint32_t *lower;			/* simple lowercase, 0 when none */
static int32_t *raw_index;		/* index into raws, -1 when none */
static RawDecomp *raws;
static int	n_raws;
static int	raws_cap;

static void
die(const char *msg, const char *detail)
{
	fprintf(stderr, "gen_unicode: %s%s%s\n", msg, detail ? ": " : "",
			detail ? detail : "");
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n, size);

	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

/* Split line at ';' into at most max fields, in place; returns the count. */
static int
split_fields(char *line, char **fields, int max)
{
	int			n = 0;
	char	   *p = line;

	fields[n++] = p;
	while (*p && n < max)
	{
		if (*p == ';')
		{
			*p = '\0';
			fields[n++] = p + 1;
		}
		p++;
	}
	return n;
}

/* A UCD file read record by record */
typedef struct Ucd
{
	FILE	   *f;
	char		line[1024];
	char		copy[1024];		/* the record's line as read, for messages */
	char	   *fld[16];		/* its fields, split at ';' in line */
	int			nf;				/* how many */
} Ucd;

/*
 * The next record, split into at most max fields; comments and blank lines
 * are skipped.  False at the end of the file.
 */
static bool
ucd_next(Ucd *u, int max)
{
	while (fgets(u->line, sizeof(u->line), u->f))
	{
		char	   *hash;

		u->line[strcspn(u->line, "\r\n")] = '\0';
		memcpy(u->copy, u->line, sizeof(u->line));
		hash = strchr(u->line, '#');
		if (hash)
			*hash = '\0';
		if (strspn(u->line, " \t") != strlen(u->line))
		{
			u->nf = split_fields(u->line, u->fld, max);
			return true;
		}
	}
	return false;
}

static uint32_t
parse_cp(const char *s, const char *line)
{
	char	   *end;
	unsigned long v;

	while (*s == ' ')
		s++;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno != 0 || end == s || v >= N_CODE_POINTS)
		die("bad code point", line);
	return (uint32_t) v;
}

/* Parse a space-separated list of hex code points; returns the count. */
static int
parse_cp_list(const char *s, uint32_t *out, int max, const char *line)
{
	int			n = 0;

	for (;;)
	{
		char	   *end;
		unsigned long v;

		while (*s == ' ')
			s++;
		if (!isxdigit((unsigned char) *s))
			break;
		if (n == max)
			die("code point list too long", line);
		v = strtoul(s, &end, 16);
		if (v >= N_CODE_POINTS)
			die("bad code point in list", line);
		out[n++] = (uint32_t) v;
		s = end;
	}
	return n;
}

static int
class_of_category(const char *gc)
{
	switch (gc[0])
	{
		case 'C':
			return CLS_CONTROL;
		case 'Z':
			/* Zl and Zp too: Python's str.split() and Rust's is_whitespace split there */
			return CLS_SPACE;
		case 'P':
			return CLS_PUNCT;
		case 'M':
			return gc[1] == 'n' ? CLS_MN : CLS_OTHER;
		default:
			return CLS_OTHER;
	}
}

static FILE *
open_ucd(const char *dir, const char *name, int required)
{
	char		path[4096];
	FILE	   *f;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path))
		die("path too long", name);
	f = fopen(path, "r");
	if (f == NULL && required)
		die("cannot open", path);
	return f;
}

static void
read_unicode_data(const char *dir)
{
	Ucd			u = {.f = open_ucd(dir, "UnicodeData.txt", 1)};
	int			range_open = 0;
	uint32_t	range_first = 0;

	/* Unlisted code points are unassigned (Cn), which BERT drops as control. */
	memset(gc_class, CLS_CONTROL, N_CODE_POINTS);
	for (uint32_t cp = 0; cp < N_CODE_POINTS; cp++)
		raw_index[cp] = -1;

	while (ucd_next(&u, 16))
	{
		uint32_t	cp;
		int			cls;
		const char *name;

		if (u.nf < 15)
			die("too few fields", u.copy);
		cp = parse_cp(u.fld[0], u.copy);
		name = u.fld[1];
		cls = class_of_category(u.fld[2]);

		/* <CJK Ideograph, First> ... <CJK Ideograph, Last>: one entry per range */
		if (strstr(name, ", First>") != NULL)
		{
			range_open = 1;
			range_first = cp;
		}
		else if (strstr(name, ", Last>") != NULL)
		{
			if (!range_open)
				die("range end without start", u.copy);
			for (uint32_t c = range_first; c < cp; c++)
			{
				gc_class[c] = (uint8_t) cls;
				ccc[c] = (uint8_t) atoi(u.fld[3]);
			}
			range_open = 0;
		}
		else if (range_open)
			die("range start without end", u.copy);

		gc_class[cp] = (uint8_t) cls;
		ccc[cp] = (uint8_t) atoi(u.fld[3]);

		/* canonical decompositions only: compatibility ones start with <tag> */
		if (u.fld[5][0] != '\0' && u.fld[5][0] != '<')
		{
			RawDecomp	d;

			d.len = parse_cp_list(u.fld[5], d.cps, MAX_RAW_DECOMP, u.copy);
			if (d.len == 0)
				die("empty decomposition", u.copy);
			if (n_raws == raws_cap)
			{
				raws_cap = raws_cap ? raws_cap * 2 : 4096;
				raws = realloc(raws, (size_t) raws_cap * sizeof(RawDecomp));
				if (raws == NULL)
					die("out of memory", NULL);
			}
			raws[n_raws] = d;
			raw_index[cp] = n_raws++;
		}
		if (u.fld[13][0] != '\0')
			lower[cp] = parse_cp(u.fld[13], u.copy);
	}
	if (ferror(u.f))
		die("read error", "UnicodeData.txt");
	fclose(u.f);
}

/* Append the full canonical decomposition of cp to out; returns the new n. */
static int
decompose(uint32_t cp, uint32_t *out, int n, int depth)
{
	if (depth > 16)
		die("decomposition too deep", NULL);
	if (raw_index[cp] < 0)
	{
		if (n == MAX_FULL_DECOMP)
			die("full decomposition too long", NULL);
		out[n++] = cp;
		return n;
	}
	for (int i = 0; i < raws[raw_index[cp]].len; i++)
		n = decompose(raws[raw_index[cp]].cps[i], out, n, depth + 1);
	return n;
}

/* Canonical ordering: a stable sort of each run of non-starters by ccc. */
static void
canonical_order(uint32_t *cps, int n)
{
	for (int i = 1; i < n; i++)
	{
		uint32_t	c = cps[i];
		int			j = i;

		if (ccc[c] == 0)
			continue;
		while (j > 0 && ccc[cps[j - 1]] > ccc[c])
		{
			cps[j] = cps[j - 1];
			j--;
		}
		cps[j] = c;
	}
}

static void
emit_ranges(const char *name, const char *count_name, const uint8_t *values)
{
	uint32_t	count = 0;
	uint32_t	cp = 0;

	printf("const UnicodeRange %s[] = {\n", name);
	while (cp < N_CODE_POINTS)
	{
		uint32_t	first = cp;
		uint8_t		v = values[cp];

		while (cp < N_CODE_POINTS && values[cp] == v)
			cp++;
		if (v != 0)
		{
			printf("\t{0x%04X, 0x%04X, %u},\n", first, cp - 1, v);
			count++;
		}
	}
	printf("};\nconst uint32_t %s = %u;\n\n", count_name, count);
}

static void
emit_lower(void)
{
	uint32_t	count = 0;

	printf("const UnicodeCaseMap unicode_lower_map[] = {\n");
	for (uint32_t cp = 0; cp < N_CODE_POINTS; cp++)
	{
		if (lower[cp] != 0 && lower[cp] != cp)
		{
			printf("\t{0x%04X, 0x%04X},\n", cp, lower[cp]);
			count++;
		}
	}
	printf("};\nconst uint32_t unicode_lower_count = %u;\n\n", count);
}

/*
 * Unconditional multi-code-point lowercase mappings, which Python's
 * str.lower() and Rust's char::to_lowercase() apply (U+0130 -> i U+0307).
 * Conditional ones (Final_Sigma, language-specific) are left out.
 */
static void
emit_special_lower(const char *dir)
{
	Ucd			u = {.f = open_ucd(dir, "SpecialCasing.txt", 1)};
	uint32_t	count = 0;
	uint32_t	prev = 0;

	printf("const UnicodeSpecialLower unicode_special_lower[] = {\n");
	while (ucd_next(&u, 8))
	{
		uint32_t	cp;
		uint32_t	lw[MAX_SPECIAL];
		int			n;

		if (u.nf < 4)
			die("too few fields in SpecialCasing.txt", u.copy);
		/* a fifth non-blank field is a condition */
		if (u.nf >= 5 && strspn(u.fld[4], " \t") != strlen(u.fld[4]))
			continue;
		cp = parse_cp(u.fld[0], u.copy);
		n = parse_cp_list(u.fld[1], lw, MAX_SPECIAL, u.copy);
		if (n <= 1)
			continue;			/* one-to-one: already in UnicodeData.txt */
		if (count > 0 && cp <= prev)
			die("SpecialCasing.txt not sorted", u.copy);
		printf("\t{0x%04X, %d, {", cp, n);
		for (int i = 0; i < MAX_SPECIAL; i++)
			printf("%s0x%04X", i ? ", " : "", i < n ? lw[i] : 0);
		printf("}},\n");
		prev = cp;
		count++;
	}
	fclose(u.f);
	if (count == 0)
		printf("\t{0, 0, {0, 0, 0}},\n");	/* C forbids an empty initializer */
	printf("};\nconst uint32_t unicode_special_lower_count = %u;\n\n", count);
}

static void
emit_decomp(void)
{
	uint32_t   *pool = xcalloc((size_t) n_raws * MAX_FULL_DECOMP, sizeof(uint32_t));
	uint32_t	pool_len = 0;
	uint32_t	count = 0;

	printf("const UnicodeDecomp unicode_decomp[] = {\n");
	for (uint32_t cp = 0; cp < N_CODE_POINTS; cp++)
	{
		uint32_t	full[MAX_FULL_DECOMP];
		int			n;

		if (raw_index[cp] < 0)
			continue;
		n = decompose(cp, full, 0, 0);
		canonical_order(full, n);
		if (pool_len + (uint32_t) n > 65535)
			die("decomposition pool too large", NULL);
		printf("\t{0x%04X, %u, %d},\n", cp, pool_len, n);
		memcpy(pool + pool_len, full, (size_t) n * sizeof(uint32_t));
		pool_len += (uint32_t) n;
		count++;
	}
	printf("};\nconst uint32_t unicode_decomp_count = %u;\n\n", count);

	printf("const uint32_t unicode_decomp_pool[] = {");
	for (uint32_t i = 0; i < pool_len; i++)
		printf("%s0x%04X,", i % 8 == 0 ? "\n\t" : " ", pool[i]);
	printf("\n};\n\n");
	free(pool);
}

/* "15.0.0" from the first line of DerivedAge.txt ("# DerivedAge-15.0.0.txt"). */
static void
emit_version(const char *dir)
{
	FILE	   *f = open_ucd(dir, "DerivedAge.txt", 0);
	char		line[256];
	char		version[32] = "unknown";

	if (f != NULL)
	{
		const char *p;

		if (fgets(line, sizeof(line), f) && (p = strstr(line, "DerivedAge-")) != NULL)
		{
			size_t		n = strspn(p + 11, "0123456789.");

			if (n > 0 && p[11 + n - 1] == '.')
				n--;			/* the dot before "txt" */
			if (n > 0 && n < sizeof(version))
			{
				memcpy(version, p + 11, n);
				version[n] = '\0';
			}
		}
		fclose(f);
	}
	printf("const char unicode_tables_version[] = \"%s\";\n", version);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s UNICODE_DATA_DIR > unicode_tables.c\n", argv[0]);
		return 2;
	}

	gc_class = xcalloc(N_CODE_POINTS, 1);
	ccc = xcalloc(N_CODE_POINTS, 1);
	lower = xcalloc(N_CODE_POINTS, sizeof(uint32_t));
	raw_index = xcalloc(N_CODE_POINTS, sizeof(int32_t));

	read_unicode_data(argv[1]);

	printf("/*\n"
		   " * unicode_tables.c — generated by tools/gen_unicode.c from %s.\n"
		   " * Do not edit; see src/core/unicode_tables.h.\n"
		   " */\n"
		   "#include \"unicode_tables.h\"\n\n", argv[1]);
	emit_ranges("unicode_class_ranges", "unicode_class_count", gc_class);
	emit_ranges("unicode_ccc_ranges", "unicode_ccc_count", ccc);
	emit_lower();
	emit_special_lower(argv[1]);
	emit_decomp();
	emit_version(argv[1]);

	if (fflush(stdout) != 0 || ferror(stdout))
		die("write error", NULL);
	return 0;
}
