/*
 * fuzz_tokenizer.c — libFuzzer target for bcore_tokenize_utf8.
 *
 * The vocabulary is a real one (bert-base-uncased's, test/unit/build/vocab.txt
 * from `make unittest`, or the file named by BERT_FUZZ_VOCAB), loaded once.
 * The first input byte picks the mode (flags, max_tokens, max_chars_per_word);
 * the rest is the text.  Any broken invariant of the output is an abort().
 * bcore_tokenize() with stop must keep the same pieces as without.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_format.h"
#include "tokenizer.h"

#define UNCASED (BERT_FLAG_LOWER_CASE | BERT_FLAG_STRIP_ACCENTS | BERT_FLAG_CHINESE_CHARS)

static BertVocab vocab;
static BertTokens full;			/* reused across runs, as src/pg/run.c reuses it */
static BertTokens cut;
static BertTokens stopped;

/* Flag sets: uncased, cased, cased + CJK, lower without strip, strip only. */
static const uint32_t mode_flags[8] = {
	UNCASED, 0, BERT_FLAG_CHINESE_CHARS, BERT_FLAG_LOWER_CASE,
	BERT_FLAG_STRIP_ACCENTS, UNCASED, BERT_FLAG_CHINESE_CHARS | BERT_FLAG_LOWER_CASE,
	BERT_FLAG_STRIP_ACCENTS | BERT_FLAG_CHINESE_CHARS
};
static const size_t mode_max_tokens[8] = {0, 1, 2, 3, 5, 16, 256, 512};
static const uint32_t mode_max_chars[4] = {100, 0, 3, 1000};

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_tokenizer: %s\n", what);
	abort();
}

static void
load_vocab(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	char	   *data;
	long		size;
	uint32_t	n = 0;
	uint32_t   *offsets;
	uint32_t   *slots;
	char	   *blob;
	uint32_t	blob_len = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "fuzz_tokenizer: cannot read vocabulary %s "
				"(set BERT_FUZZ_VOCAB or run make unittest)\n", path);
		exit(1);
	}
	data = malloc((size_t) size + 1);
	if (data == NULL || fread(data, 1, (size_t) size, f) != (size_t) size)
		die("cannot read the vocabulary");
	fclose(f);
	data[size] = '\n';
	for (long i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	if (data[size - 1] != '\n')
		n++;

	offsets = calloc((size_t) n + 1, sizeof(uint32_t));
	blob = malloc((size_t) size + 1);
	vocab.n_slots = 1;
	while (vocab.n_slots < 2 * n)
		vocab.n_slots *= 2;
	slots = calloc(vocab.n_slots, sizeof(uint32_t));
	if (offsets == NULL || blob == NULL || slots == NULL)
		die("out of memory");

	/* one token per line, id = line number */
	for (uint32_t id = 0, p = 0; id < n; id++)
	{
		uint32_t	e = p;

		while (data[e] != '\n')
			e++;
		memcpy(blob + blob_len, data + p, e - p);
		offsets[id] = blob_len;
		blob_len += e - p;
		offsets[id + 1] = blob_len;
		p = e + 1;
	}
	vocab.size = n;
	vocab.offsets = offsets;
	vocab.blob = blob;
	vocab.slots = slots;

	/* index: slot holds id + 1, linear probing; first of duplicates wins */
	for (uint32_t id = 0; id < n; id++)
	{
		const char *tok = blob + offsets[id];
		uint32_t	len = offsets[id + 1] - offsets[id];
		uint32_t	mask = vocab.n_slots - 1;
		uint32_t	pos;

		if (bcore_vocab_lookup(&vocab, tok, len) >= 0)
			continue;
		pos = bcore_hash(tok, len) & mask;
		while (slots[pos] != 0)
			pos = (pos + 1) & mask;
		slots[pos] = id + 1;
	}
	free(data);

	vocab.unk_id = (uint32_t) bcore_vocab_lookup(&vocab, "[UNK]", 5);
	vocab.cls_id = (uint32_t) bcore_vocab_lookup(&vocab, "[CLS]", 5);
	vocab.sep_id = (uint32_t) bcore_vocab_lookup(&vocab, "[SEP]", 5);
	if (vocab.unk_id >= n || vocab.cls_id >= n || vocab.sep_id >= n)
		die("the vocabulary lacks [UNK], [CLS] or [SEP]");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("BERT_FUZZ_VOCAB");

	(void) argc;
	(void) argv;
	load_vocab(path && *path ? path : "test/unit/build/vocab.txt");
	return 0;
}

/* The invariants of one result; len is the input's length in bytes. */
static void
check(const BertTokens *t, size_t max_tokens, size_t len)
{
	if (t->n < 1)
		die("no [CLS]");
	if (max_tokens == 1 ? t->n != 1 : t->n < 2)
		die("wrong number of special tokens");
	if (max_tokens >= 2 && t->n > max_tokens)
		die("more tokens than max_tokens");
	if (t->total < t->n)
		die("total < n");
	if (max_tokens == 0 && t->total != t->n)
		die("untruncated but total != n");
	if (t->n > t->cap)
		die("n > cap");
	if (t->ids[0] != (int32_t) vocab.cls_id || t->start[0] != 0 || t->end[0] != 0)
		die("first token is not [CLS] with span [0, 0)");
	if (max_tokens != 1 &&
		(t->ids[t->n - 1] != (int32_t) vocab.sep_id ||
		 t->start[t->n - 1] != 0 || t->end[t->n - 1] != 0))
		die("last token is not [SEP] with span [0, 0)");
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] < 0 || (uint32_t) t->ids[i] >= vocab.size)
			die("id out of range");
	for (size_t i = 1; i + 1 < t->n; i++)
	{
		/* a piece covers at least one code point, and a code point is >= 1 byte */
		if (t->start[i] < 0 || t->start[i] >= t->end[i] || (size_t) t->end[i] > len)
			die("bad span");
		if (i > 1 && t->start[i] < t->start[i - 1])
			die("spans out of order");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		mode;
	const char *text;
	size_t		len;
	size_t		max_tokens;
	size_t		kept;

	if (size < 1)
		return 0;
	mode = data[0];
	text = (const char *) data + 1;
	len = size - 1;
	vocab.flags = mode_flags[mode & 7];
	max_tokens = mode_max_tokens[(mode >> 3) & 7];
	vocab.max_chars_per_word = mode_max_chars[(mode >> 6) & 3];

	if (bcore_tokenize_utf8(&vocab, text, len, 0, &full) != BERT_TOK_OK)
		die("out of memory on a small input");
	check(&full, 0, len);
	if (bcore_tokenize_utf8(&vocab, text, len, max_tokens, &cut) != BERT_TOK_OK)
		die("out of memory on a small input");
	check(&cut, max_tokens, len);

	/* truncation keeps a prefix of the same pieces and counts them all */
	if (cut.total != full.total)
		die("total depends on max_tokens");
	kept = max_tokens == 1 ? cut.n - 1 : cut.n - 2;
	for (size_t i = 1; i <= kept; i++)
		if (cut.ids[i] != full.ids[i] || cut.start[i] != full.start[i] ||
			cut.end[i] != full.end[i])
			die("truncated output is not a prefix of the full one");
	if (kept != (max_tokens == 0 ? full.n - 2 :
				 max_tokens == 1 ? 0 :
				 full.n - 2 < max_tokens - 2 ? full.n - 2 : max_tokens - 2))
		die("truncation kept the wrong number of pieces");

	/* stopping at the limit: the same pieces, total exact up to the limit */
	{
		BertTokOptions opt = {max_tokens, 1, NULL};

		if (bcore_tokenize(&vocab, text, len, &opt, &stopped) != BERT_TOK_OK)
			die("out of memory on a small input (stop)");
		check(&stopped, max_tokens, len);
		if (stopped.n != cut.n)
			die("stop kept a different number of pieces");
		for (size_t i = 0; i < cut.n; i++)
			if (stopped.ids[i] != cut.ids[i] || stopped.start[i] != cut.start[i] ||
				stopped.end[i] != cut.end[i])
				die("stop kept different pieces");
		if (max_tokens == 0 || full.total <= max_tokens ?
			stopped.total != full.total :
			(stopped.total <= max_tokens || stopped.total > full.total))
			die("stop: total is not exact up to the limit, or not past it beyond");
	}

	/* NULL text is the empty string */
	if (len == 0)
	{
		if (bcore_tokenize_utf8(&vocab, NULL, 0, max_tokens, &cut) != BERT_TOK_OK)
			die("out of memory on NULL");
		check(&cut, max_tokens, 0);
	}
	return 0;
}
