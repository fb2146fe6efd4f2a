/*
 * test_tokenizer.c — unit tests for the BERT tokenizer (no PostgreSQL).
 *
 *   test_tokenizer VOCAB_TXT CASES_TSV
 *
 * VOCAB_TXT is the model's vocabulary, one token per line, line number = id
 * (test/unit/extract-vocab.sh makes it from tokenizer.json); CASES_TSV is
 * test/unit/tokenizer_cases.tsv, the expected ids and spans written by
 * test/make-tokenizer-cases.mjs from Hugging Face's tokenizer.  Both are
 * for all-MiniLM-L6-v2 (bert-base-uncased's vocabulary): the hand-written
 * checks below name its ids ("hello" = 7592, [UNK] = 100, ...).
 *
 * Prints one line per failure and ends with "N passed, M failed".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_format.h"
#include "tokenizer.h"

#define UNCASED_FLAGS (BERT_FLAG_LOWER_CASE | BERT_FLAG_STRIP_ACCENTS | BERT_FLAG_CHINESE_CHARS)
#define CASED_FLAGS BERT_FLAG_CHINESE_CHARS

static int	n_passed;
static int	n_failed;

static void
check(bool ok, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		n_passed++;
		return;
	}
	n_failed++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	buf = xmalloc((size_t) size + 1);
	if (fread(buf, 1, (size_t) size, f) != (size_t) size)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	buf[size] = '\0';
	fclose(f);
	*len = (size_t) size;
	return buf;
}

/* Build a BertVocab as model/convert.c lays it out: offsets, blob, hash index. */
static void
load_vocab(const char *path, BertVocab *v)
{
	size_t		len;
	char	   *text = read_file(path, &len);
	uint32_t	n = 0;
	uint32_t   *offsets;
	char	   *blob;
	uint32_t   *slots;
	uint32_t	n_slots = 1;
	uint32_t	at = 0;
	size_t		i = 0;

	for (size_t k = 0; k < len; k++)
		n += text[k] == '\n';
	if (len > 0 && text[len - 1] != '\n')
		n++;
	offsets = xmalloc(((size_t) n + 1) * sizeof(uint32_t));
	blob = xmalloc(len);
	for (uint32_t id = 0; id < n; id++)
	{
		size_t		e = i;

		while (e < len && text[e] != '\n')
			e++;
		offsets[id] = at;
		memcpy(blob + at, text + i, e - i);
		at += (uint32_t) (e - i);
		i = e + 1;
	}
	offsets[n] = at;

	while (n_slots < 2 * n)
		n_slots *= 2;
	slots = calloc(n_slots, sizeof(uint32_t));
	if (slots == NULL)
		exit(2);
	memset(v, 0, sizeof(*v));
	v->size = n;
	v->offsets = offsets;
	v->blob = blob;
	v->slots = slots;
	v->n_slots = n_slots;
	for (uint32_t id = 0; id < n; id++)
	{
		const char *tok = blob + offsets[id];
		size_t		tlen = offsets[id + 1] - offsets[id];
		uint32_t	pos;

		if (bcore_vocab_lookup(v, tok, tlen) >= 0)
			continue;			/* a duplicate: the first id wins */
		pos = bcore_hash(tok, tlen) & (n_slots - 1);
		while (slots[pos] != 0)
			pos = (pos + 1) & (n_slots - 1);
		slots[pos] = id + 1;
	}
	v->unk_id = (uint32_t) bcore_vocab_lookup(v, "[UNK]", 5);
	v->cls_id = (uint32_t) bcore_vocab_lookup(v, "[CLS]", 5);
	v->sep_id = (uint32_t) bcore_vocab_lookup(v, "[SEP]", 5);
	v->flags = UNCASED_FLAGS;
	v->max_chars_per_word = 100;
	free(text);
}

static void
free_vocab(BertVocab *v)
{
	free((void *) v->offsets);
	free((void *) v->blob);
	free((void *) v->slots);
}

/* Undo the .tsv escapes (\\ \t \n \r \u{HEX}) into UTF-8; returns the length. */
static size_t
unescape(const char *s, char *out)
{
	size_t		n = 0;

	while (*s)
	{
		if (s[0] == '\\' && s[1] == 'u' && s[2] == '{')
		{
			unsigned long cp = strtoul(s + 3, (char **) &s, 16);

			s++;				/* '}' */
			if (cp < 0x80)
				out[n++] = (char) cp;
			else if (cp < 0x800)
			{
				out[n++] = (char) (0xC0 | (cp >> 6));
				out[n++] = (char) (0x80 | (cp & 0x3F));
			}
			else if (cp < 0x10000)
			{
				out[n++] = (char) (0xE0 | (cp >> 12));
				out[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[n++] = (char) (0x80 | (cp & 0x3F));
			}
			else
			{
				out[n++] = (char) (0xF0 | (cp >> 18));
				out[n++] = (char) (0x80 | ((cp >> 12) & 0x3F));
				out[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
				out[n++] = (char) (0x80 | (cp & 0x3F));
			}
		}
		else if (s[0] == '\\' && s[1] != '\0')
		{
			char		c = s[1];

			out[n++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
			s += 2;
		}
		else
			out[n++] = *s++;
	}
	return n;
}

static void
format_tokens(const BertTokens *t, char *ids, char *spans, size_t size)
{
	size_t		a = 0;
	size_t		b = 0;

	ids[0] = spans[0] = '\0';
	for (size_t i = 0; i < t->n && a < size - 16 && b < size - 32; i++)
	{
		a += (size_t) snprintf(ids + a, size - a, "%s%d", i ? " " : "", t->ids[i]);
		b += (size_t) snprintf(spans + b, size - b, "%s%d-%d", i ? " " : "",
							   t->start[i], t->end[i]);
	}
}

static void
run_cases(BertVocab *v, const char *path)
{
	size_t		len;
	char	   *text = read_file(path, &len);
	char	   *line = text;
	BertTokens	t = {0};
	size_t		cap = 1 << 16;
	char	   *input = xmalloc(cap);
	char	   *got_ids = xmalloc(cap);
	char	   *got_spans = xmalloc(cap);
	int			n_cases = 0;

	while (line && *line)
	{
		char	   *next = strchr(line, '\n');
		char	   *f[5];
		int			nf = 0;
		size_t		in_len;
		BertTokStatus st;

		if (next)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
		{
			line = next;
			continue;
		}
		f[nf++] = line;
		for (char *p = line; *p && nf < 5; p++)
		{
			if (*p == '\t')
			{
				*p = '\0';
				f[nf++] = p + 1;
			}
		}
		if (nf != 5 || strlen(f[2]) >= cap)
		{
			check(false, "malformed case line: %s", line);
			line = next;
			continue;
		}
		v->flags = strcmp(f[0], "cased") == 0 ? CASED_FLAGS : UNCASED_FLAGS;
		in_len = unescape(f[2], input);
		st = bcore_tokenize_utf8(v, input, in_len, 0, &t);
		format_tokens(&t, got_ids, got_spans, cap);
		check(st == BERT_TOK_OK && strcmp(got_ids, f[3]) == 0,
			  "%s/%s: ids\n  expected %s\n  got      %s", f[0], f[1], f[3], got_ids);
		check(st == BERT_TOK_OK && strcmp(got_spans, f[4]) == 0,
			  "%s/%s: spans\n  expected %s\n  got      %s", f[0], f[1], f[4], got_spans);
		check(t.total == t.n, "%s/%s: total %zu, n %zu", f[0], f[1], t.total, t.n);
		n_cases++;
		line = next;
	}
	check(n_cases > 0, "no cases in %s", path);
	printf("# %d cases from %s\n", n_cases, path);
	v->flags = UNCASED_FLAGS;
	bcore_tokens_free(&t);
	free(input);
	free(got_ids);
	free(got_spans);
	free(text);
}

/* Tokenize a NUL-terminated string and compare ids (and spans, if given). */
static void
expect(BertVocab *v, const char *name, const char *text, size_t len, size_t max_tokens,
	   const char *ids, const char *spans, size_t total)
{
	BertTokens	t = {0};
	char		got_ids[4096];
	char		got_spans[4096];
	BertTokStatus st = bcore_tokenize_utf8(v, text, len, max_tokens, &t);

	format_tokens(&t, got_ids, got_spans, sizeof(got_ids));
	check(st == BERT_TOK_OK, "%s: status %d", name, (int) st);
	check(strcmp(got_ids, ids) == 0, "%s: ids\n  expected %s\n  got      %s", name, ids, got_ids);
	if (spans)
		check(strcmp(got_spans, spans) == 0, "%s: spans\n  expected %s\n  got      %s",
			  name, spans, got_spans);
	check(t.total == total, "%s: total %zu, expected %zu", name, t.total, total);
	bcore_tokens_free(&t);
}

#define EXPECT(v, name, s, max, ids, spans, total) \
	expect(v, name, s, strlen(s), max, ids, spans, total)

static void
test_lookup(BertVocab *v)
{
	BertVocab	bad = *v;
	uint32_t	full[8];

	check(bcore_vocab_lookup(v, "hello", 5) == 7592, "lookup hello");
	check(bcore_vocab_lookup(v, "[UNK]", 5) == 100, "lookup [UNK]");
	check(bcore_vocab_lookup(v, "##s", 3) >= 0, "lookup ##s");
	check(bcore_vocab_lookup(v, "hellox", 6) == -1, "lookup missing");
	check(bcore_vocab_lookup(v, "hell", 5) == -1, "lookup with a NUL byte");
	check(bcore_vocab_lookup(v, "", 0) == -1, "lookup empty");
	check(v->unk_id == 100 && v->cls_id == 101 && v->sep_id == 102, "special ids");

	/* a full index of wrong ids must end after n_slots probes */
	for (int i = 0; i < 8; i++)
		full[i] = (uint32_t) (i % 2 ? 1 : 0xFFFFFFFF);
	bad.slots = full;
	bad.n_slots = 8;
	check(bcore_vocab_lookup(&bad, "hello", 5) == -1, "lookup in a corrupted index");
	bad.n_slots = 0;
	check(bcore_vocab_lookup(&bad, "hello", 5) == -1, "lookup in an empty index");
}

static void
test_truncation(BertVocab *v)
{
	BertTokens	full = {0};
	BertTokens	t = {0};
	char	   *text = xmalloc(64 * 1024);
	size_t		len = 0;
	bool		same = true;

	EXPECT(v, "hello world max 0", "hello world", 0, "101 7592 2088 102", NULL, 4);
	EXPECT(v, "hello world max 4", "hello world", 4, "101 7592 2088 102", NULL, 4);
	EXPECT(v, "hello world max 3", "hello world", 3, "101 7592 102", "0-0 0-5 0-0", 4);
	EXPECT(v, "hello world max 2", "hello world", 2, "101 102", NULL, 4);
	EXPECT(v, "hello world max 1", "hello world", 1, "101", NULL, 4);
	EXPECT(v, "hello world max 100", "hello world", 100, "101 7592 2088 102", NULL, 4);

	while (len < 60000)
	{
		memcpy(text + len, "It's so sunny outside! ", 23);
		len += 23;
	}
	check(bcore_tokenize_utf8(v, text, len, 0, &full) == BERT_TOK_OK, "long text: status");
	check(bcore_tokenize_utf8(v, text, len, 128, &t) == BERT_TOK_OK, "long text max 128: status");
	check(t.n == 128, "long text max 128: n %zu", t.n);
	check(t.total == full.total && full.total == full.n, "long text: total %zu vs %zu (n %zu)",
		  t.total, full.total, full.n);
	for (size_t i = 0; i + 1 < t.n; i++)
		same &= t.ids[i] == full.ids[i] && t.start[i] == full.start[i] && t.end[i] == full.end[i];
	check(same, "long text max 128: a prefix of the full tokenization");
	check(t.ids[127] == 102 && t.start[127] == 0 && t.end[127] == 0, "long text max 128: ends with [SEP]");
	/* 7 pieces a sentence: it ' s so sunny outside ! */
	check(full.total == 2 + (len / 23) * 7, "long text: total %zu, expected %zu",
		  full.total, 2 + (len / 23) * 7);

	/* reuse: a short text after a long one in the same BertTokens */
	check(bcore_tokenize_utf8(v, "hello", 5, 0, &t) == BERT_TOK_OK && t.n == 3 && t.total == 3 &&
		  t.ids[1] == 7592, "reused BertTokens");
	bcore_tokens_free(&t);
	bcore_tokens_free(&full);
	free(text);
}

static void
test_edges(BertVocab *v)
{
	BertTokens	t = {0};

	EXPECT(v, "empty", "", 0, "101 102", "0-0 0-0", 2);
	check(bcore_tokenize_utf8(v, NULL, 0, 0, &t) == BERT_TOK_OK && t.n == 2 && t.total == 2, "NULL text");
	EXPECT(v, "blank", "   ", 0, "101 102", NULL, 2);
	EXPECT(v, "whitespace only", " \t\r\n\xc2\xa0\xe3\x80\x80\xe2\x80\xa8 ", 0, "101 102", NULL, 2);
	EXPECT(v, "controls only", "\x01\x02\x7f\xc2\x85\xe2\x80\x8b", 0, "101 102", NULL, 2);
	EXPECT(v, "max 2 on empty", "", 2, "101 102", NULL, 2);

	/* spans of expanded and accented input, in code points */
	EXPECT(v, "accented spans", "Caf\xc3\xa9 na\xc3\xafve", 0, "101 7668 15743 102",
		   "0-0 0-4 5-10 0-0", 4);
	/* as in Rust, a dropped mark belongs to no piece */
	EXPECT(v, "decomposed spans", "cafe\xcc\x81 x", 0, "101 7668 1060 102",
		   "0-0 0-4 6-7 0-0", 4);
	EXPECT(v, "dotted capital I", "\xc4\xb0stanbul", 0, "101 9960 102", "0-0 0-8 0-0", 3);
	/* each Hangul syllable becomes three jamo: pieces share a source span */
	EXPECT(v, "hangul", "\xed\x95\x9c", 0, "101 1469 30006 30021 102",
		   "0-0 0-1 0-1 0-1 0-0", 5);
	/* a piece boundary inside one source character, then a later word */
	EXPECT(v, "cjk spans", "a\xe4\xbd\xa0\xe5\xa5\xbd" "b", 0, "101 1037 100 100 1038 102",
		   "0-0 0-1 1-2 2-3 3-4 0-0", 6);

	bcore_tokens_free(&t);
}

static void
test_invalid_utf8(BertVocab *v)
{
	/* invalid bytes are U+FFFD, one per maximal subpart, and dropped */
	EXPECT(v, "lone continuation", "hel\x80lo", 0, "101 7592 102", "0-0 0-6 0-0", 3);
	EXPECT(v, "bad lead byte", "hel\xfflo", 0, "101 7592 102", "0-0 0-6 0-0", 3);
	EXPECT(v, "overlong", "hel\xc0\xaflo", 0, "101 7592 102", "0-0 0-7 0-0", 3);
	EXPECT(v, "surrogate", "hel\xed\xa0\x80lo", 0, "101 7592 102", "0-0 0-8 0-0", 3);
	EXPECT(v, "truncated 3-byte", "hel\xe2\x82lo", 0, "101 7592 102", "0-0 0-6 0-0", 3);
	EXPECT(v, "above U+10FFFF", "hel\xf4\x90\x80\x80lo", 0, "101 7592 102", "0-0 0-9 0-0", 3);
	EXPECT(v, "truncated at end", "hello \xf0\x9f\x8d", 0, "101 7592 102", "0-0 0-5 0-0", 3);
	EXPECT(v, "only invalid", "\xff\xfe\xc3", 0, "101 102", NULL, 2);
	/* an embedded NUL is dropped, not the end of the text */
	expect(v, "embedded NUL", "hel\0lo", 6, 0, "101 7592 102", "0-0 0-6 0-0", 3);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_large(BertVocab *v)
{
	size_t		len = 1 << 20;
	char	   *text = xmalloc(len + 4);
	BertTokens	t = {0};
	double		t0;
	size_t		sentence = 29;	/* "The weather is lovely today. " */
	size_t		reps = len / sentence;
	uint64_t	seed = 42;
	bool		ok = true;

	/* 1 MB of sentences: 6 pieces each */
	for (size_t i = 0; i < reps; i++)
		memcpy(text + i * sentence, "The weather is lovely today. ", sentence);
	t0 = seconds();
	check(bcore_tokenize_utf8(v, text, reps * sentence, 0, &t) == BERT_TOK_OK, "1 MB: status");
	printf("# 1 MB of English: %zu pieces in %.3f s\n", t.total, seconds() - t0);
	check(t.total == 2 + reps * 6 && t.n == t.total, "1 MB: total %zu, expected %zu",
		  t.total, 2 + reps * 6);
	for (size_t i = 0; i < reps * 6 && ok; i++)
		ok = t.ids[1 + i] == t.ids[1 + i % 6] &&
			t.start[1 + i] == t.start[1 + i % 6] + (int32_t) (i / 6 * sentence);
	check(ok, "1 MB: every sentence tokenized alike, spans advancing");

	/* 1 MB in one word: one [UNK] spanning it all */
	memset(text, 'a', len);
	check(bcore_tokenize_utf8(v, text, len, 0, &t) == BERT_TOK_OK && t.n == 3 && t.ids[1] == 100 &&
		  t.start[1] == 0 && t.end[1] == (int32_t) len, "1 MB word: one [UNK]");

	/* 1 MB of CJK: one piece per character */
	for (size_t i = 0; i + 3 <= len; i += 3)
		memcpy(text + i, "\xe4\xb8\xad", 3);
	check(bcore_tokenize_utf8(v, text, len / 3 * 3, 0, &t) == BERT_TOK_OK &&
		  t.total == 2 + len / 3, "1 MB CJK: total %zu", t.total);

	/* 1 MB of 100-letter words: WordPiece's worst case stays fast */
	for (size_t i = 0; i < len; i++)
		text[i] = i % 101 == 100 ? ' ' : 'a';
	t0 = seconds();
	check(bcore_tokenize_utf8(v, text, len, 0, &t) == BERT_TOK_OK, "1 MB of 100-letter words");
	printf("# 1 MB of 100-letter words: %zu pieces in %.3f s\n", t.total, seconds() - t0);

	/* 1 MB of random bytes, several configurations and limits */
	for (size_t i = 0; i < len; i++)
	{
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		text[i] = (char) (seed >> 56);
	}
	for (int round = 0; round < 4; round++)
	{
		v->flags = round % 2 ? CASED_FLAGS : UNCASED_FLAGS;
		t0 = seconds();
		check(bcore_tokenize_utf8(v, text, len, round < 2 ? 0 : 512, &t) == BERT_TOK_OK,
			  "1 MB random bytes: status");
		check(t.total >= 2 && t.n <= t.total && (round < 2 ? t.n == t.total : t.n <= 512),
			  "1 MB random bytes: n %zu total %zu", t.n, t.total);
		ok = true;
		for (size_t i = 1; i + 1 < t.n; i++)
			ok &= t.start[i] >= 0 && t.start[i] < t.end[i] && t.end[i] <= (int32_t) len &&
				t.start[i] >= t.start[i - 1] && t.ids[i] >= 0 && (uint32_t) t.ids[i] < v->size;
		check(ok, "1 MB random bytes: spans ordered and in range, ids valid");
		printf("# 1 MB random bytes (round %d): %zu pieces in %.3f s\n", round, t.total,
			   seconds() - t0);
	}
	v->flags = UNCASED_FLAGS;

	bcore_tokens_free(&t);
	free(text);
}

static int	polls;
static int	polls_before_stop;

static int
interrupt_after_polls(void)
{
	return ++polls > polls_before_stop;
}

/*
 * Options: stopping at the limit keeps the same pieces and reads less;
 * counting with nothing kept does not grow the output; the interrupt hook is
 * polled on long inputs; bcore_utf8_next counts code points as spans do.
 */
static void
test_options(BertVocab *v)
{
	size_t		len = 4 << 20;
	char	   *text = xmalloc(len);
	BertTokens	full = {0};
	BertTokens	t = {0};
	BertTokOptions stop = {128, 1, NULL};
	BertTokOptions count = {2, 0, NULL};
	BertTokOptions poll = {0, 0, interrupt_after_polls};
	bool		same = true;
	double		t0,
				t_full,
				t_stop;
	size_t		pos;
	int			n;

	for (size_t i = 0; i + 23 <= len; i += 23)
		memcpy(text + i, "It's so sunny outside! ", 23);
	len = len / 23 * 23;

	t0 = seconds();
	check(bcore_tokenize_utf8(v, text, len, 128, &full) == BERT_TOK_OK, "options: full status");
	t_full = seconds() - t0;
	t0 = seconds();
	check(bcore_tokenize(v, text, len, &stop, &t) == BERT_TOK_OK, "options: stop status");
	t_stop = seconds() - t0;
	check(t.n == 128 && full.n == 128, "options: stop keeps 128 (n %zu, %zu)", t.n, full.n);
	for (size_t i = 0; i < t.n; i++)
		same &= t.ids[i] == full.ids[i] && t.start[i] == full.start[i] && t.end[i] == full.end[i];
	check(same, "options: stop keeps the same pieces");
	check(t.total > 128 && t.total < 128 + 16, "options: stop total %zu is just past the limit",
		  t.total);
	check(full.total == 2 + (len / 23) * 7, "options: full total %zu", full.total);
	printf("# 4 MB, limit 128: %.4f s reading all, %.6f s stopping at the limit\n", t_full, t_stop);
	check(t_stop * 100 < t_full, "options: stopping reads less (%.6f vs %.4f s)", t_stop, t_full);

	/* a short input: stop changes nothing, total stays exact */
	check(bcore_tokenize(v, "hello world", 11, &stop, &t) == BERT_TOK_OK && t.n == 4 &&
		  t.total == 4 && t.ids[1] == 7592, "options: stop on a short input");
	stop.max_tokens = 4;
	check(bcore_tokenize(v, "hello world", 11, &stop, &t) == BERT_TOK_OK && t.n == 4 &&
		  t.total == 4, "options: stop at exactly the limit: total %zu", t.total);
	stop.max_tokens = 3;
	check(bcore_tokenize(v, "hello world", 11, &stop, &t) == BERT_TOK_OK && t.n == 3 &&
		  t.total == 4 && t.ids[2] == 102, "options: stop one past the limit: total %zu", t.total);

	/* count only: every piece counted, the output never grows */
	bcore_tokens_free(&t);
	check(bcore_tokenize(v, text, len, &count, &t) == BERT_TOK_OK, "options: count status");
	check(t.total == full.total && t.n == 2 && t.cap <= 64,
		  "options: count total %zu (expected %zu), n %zu, cap %zu", t.total, full.total, t.n, t.cap);

	/* the hook: polled about once per BERT_TOK_POLL_BYTES, stops when asked */
	polls = 0;
	polls_before_stop = 1000000;
	check(bcore_tokenize(v, text, len, &poll, &t) == BERT_TOK_OK && t.total == full.total,
		  "options: hook that never stops");
	check(polls == (int) ((len - 1) / BERT_TOK_POLL_BYTES), "options: %d polls for %zu bytes",
		  polls, len);
	polls = 0;
	polls_before_stop = 3;
	check(bcore_tokenize(v, text, len, &poll, &t) == BERT_TOK_INTERRUPTED && t.n == 0 &&
		  polls == 4, "options: interrupted after 4 polls (%d)", polls);
	check(bcore_tokenize_utf8(v, "hello", 5, 0, &t) == BERT_TOK_OK && t.n == 3 &&
		  t.ids[1] == 7592, "options: usable after an interrupt");

	/* code points as spans count them, invalid subparts included */
	{
		const char *u = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xff\xe2\x82z";
		size_t		ulen = strlen(u);
		size_t		expect_at[] = {0, 1, 3, 6, 10, 11, 13, 14};

		pos = 0;
		for (n = 0; pos < ulen && n < 8; n++)
		{
			check(pos == expect_at[n], "utf8_next: code point %d at byte %zu, expected %zu",
				  n, pos, expect_at[n]);
			pos = bcore_utf8_next(u, ulen, pos);
		}
		check(n == 7 && pos == ulen, "utf8_next: 7 code points (%d), end at %zu", n, pos);
		check(bcore_utf8_next(u, ulen, ulen) == ulen, "utf8_next at the end");
	}

	bcore_tokens_free(&t);
	bcore_tokens_free(&full);
	free(text);
}

/* A model that allows long words: the word buffers move to the heap. */
static void
test_long_words(BertVocab *v)
{
	char		text[4 * 3000 + 1];
	BertTokens	t = {0};
	bool		ok = true;

	v->max_chars_per_word = 1000;
	memset(text, 'b', 300);
	check(bcore_tokenize_utf8(v, text, 300, 0, &t) == BERT_TOK_OK && t.n == 152 &&
		  t.ids[1] == 22861 && t.ids[150] == 10322 && t.start[150] == 298 && t.end[150] == 300,
		  "300-letter word with max_chars_per_word 1000");

	/*
	 * Marks with combining classes that canonical ordering must sort, which
	 * strip_accents keeps (Mc): musical symbol stems and flags.
	 */
	for (int i = 0; i < 1000; i++)
		memcpy(text + 4 * i, i % 2 ? "\xf0\x9d\x85\xa5" : "\xf0\x9d\x85\xad", 4);
	check(bcore_tokenize_utf8(v, text, 4000, 0, &t) == BERT_TOK_OK && t.n == 3 && t.ids[1] == 100 &&
		  t.start[1] == 0 && t.end[1] == 1000, "1000 reordered marks: one [UNK] over all");
	for (size_t i = 1; i + 1 < t.n; i++)
		ok &= t.start[i] < t.end[i];
	check(ok, "reordered marks: spans non-empty");

	v->max_chars_per_word = 0;
	EXPECT(v, "max_chars_per_word 0", "hi there", 0, "101 100 100 102", "0-0 0-2 3-8 0-0", 4);
	v->max_chars_per_word = 100;
	bcore_tokens_free(&t);
}

int
main(int argc, char **argv)
{
	BertVocab	vocab;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s VOCAB_TXT CASES_TSV\n", argv[0]);
		return 2;
	}
	load_vocab(argv[1], &vocab);

	test_lookup(&vocab);
	run_cases(&vocab, argv[2]);
	test_truncation(&vocab);
	test_edges(&vocab);
	test_invalid_utf8(&vocab);
	test_large(&vocab);
	test_options(&vocab);
	test_long_words(&vocab);

	free_vocab(&vocab);
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed > 0;
}
