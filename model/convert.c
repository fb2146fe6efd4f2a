/*
 * convert.c — bert-convert: turn a Hugging Face BERT checkpoint directory
 * into one bert model file.  The command line of the core's converter
 * (src/core/hf_convert.h): options, messages and exit status.
 *
 *   bert-convert [options] HF_DIR OUT.bert
 *
 * Exit status 0 when the file is written, 1 when the checkpoint cannot be
 * converted or the output cannot be written, 2 for a usage error (also an
 * option that does not fit the checkpoint).  Every message goes to stderr
 * as "bert-convert: FILE: what"; the summary of a written file to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hf_convert.h"

#define PROGNAME "bert-convert"
#define ERRBUF_SIZE (64 * 1024)	/* one line per problem found */

static int	quiet = 0;

/* The writer's temporary output (OUT.tmp.PID), removed on a signal. */
static char *tmp_path = NULL;

static void
on_signal(int sig)
{
	/* unlink is async-signal-safe; we are leaving anyway */
	if (tmp_path != NULL)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
print_warning(void *arg, const char *message)
{
	(void) arg;
	fprintf(stderr, "%s: warning: %s\n", PROGNAME, message);
}

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: %s [options] HF_DIR OUT.bert\n"
			"\n"
			"Convert a Hugging Face BERT checkpoint directory (config.json, one\n"
			"*.safetensors file, tokenizer.json or vocab.txt) to a bert model file.\n"
			"\n"
			"options:\n"
			"  --max-seq-length N      default truncation length, special tokens included\n"
			"                          (default: sentence_bert_config.json, else\n"
			"                          max_position_embeddings)\n"
			"  --pooling mean|cls      sentence embedding pooling (default: the\n"
			"                          sentence-transformers Pooling module, else mean;\n"
			"                          cls for classification models)\n"
			"  --normalize             L2-normalise embeddings (default for embedding\n"
			"  --no-normalize          models unless modules.json has no Normalize)\n"
			"  --lower-case            override the tokenizer's lower-casing\n"
			"  --no-lower-case\n"
			"  --f32-weights           store F16 linear weights as fp32 too (default:\n"
			"                          half precision, packed for the encoder's kernel)\n"
			"  --source TEXT           provenance stored in the file (at most 127 bytes)\n"
			"  --quiet                 print nothing but errors\n"
			"  --help                  show this help\n",
			PROGNAME);
}

static void
usage_error(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

static void
usage_error(const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", PROGNAME, msg, PROGNAME);
	exit(2);
}

static void
parse_options(BertConvertOptions *opt, const char **in_dir, const char **out_path,
			  int argc, char **argv)
{
	enum
	{
		OPT_MAX_SEQ = 256, OPT_POOLING, OPT_SOURCE, OPT_HELP
	};

	/* the switches set their option themselves (getopt_long returns 0) */
	const struct option longopts[] = {
		{"max-seq-length", required_argument, NULL, OPT_MAX_SEQ},
		{"pooling", required_argument, NULL, OPT_POOLING},
		{"normalize", no_argument, &opt->normalize, 1},
		{"no-normalize", no_argument, &opt->normalize, 0},
		{"lower-case", no_argument, &opt->lower_case, 1},
		{"no-lower-case", no_argument, &opt->lower_case, 0},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"f32-weights", no_argument, &opt->f32_weights, 1},
		{"quiet", no_argument, &quiet, 1},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;

	bcore_convert_options_init(opt);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_MAX_SEQ:
				{
					char	   *end;
					unsigned long v;

					errno = 0;
					v = strtoul(optarg, &end, 10);
					if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
						errno != 0 || v < BERT_MIN_SEQ_LEN || v > BERT_MAX_POSITIONS)
						usage_error("--max-seq-length must be an integer from %d to %d, "
									"not \"%s\"", BERT_MIN_SEQ_LEN, BERT_MAX_POSITIONS, optarg);
					opt->max_seq_len = (uint32_t) v;
					break;
				}
			case OPT_POOLING:
				if (strcmp(optarg, "mean") == 0)
					opt->pooling = BERT_POOL_MEAN;
				else if (strcmp(optarg, "cls") == 0)
					opt->pooling = BERT_POOL_CLS;
				else
					usage_error("--pooling must be mean or cls, not \"%s\"", optarg);
				break;
			case 0:
				break;
			case OPT_SOURCE:
				if (strlen(optarg) >= sizeof(((BertFileHeader *) 0)->source))
					usage_error("--source is %zu bytes, at most %zu are stored",
								strlen(optarg),
								sizeof(((BertFileHeader *) 0)->source) - 1);
				opt->source = optarg;
				break;
			case OPT_HELP:
				usage(stdout);
				exit(0);
			case '?':
				usage_error("unknown option or missing argument: %s", argv[optind - 1]);
			default:
				usage_error("unknown option");
		}
	}
	if (argc - optind != 2)
		usage_error("expected HF_DIR and OUT.bert, got %d arguments", argc - optind);
	*in_dir = argv[optind];
	*out_path = argv[optind + 1];
}

int
main(int argc, char **argv)
{
	static const char *const kind_names[] = {
		"embedding", "token classification", "sequence classification"
	};
	BertConvertOptions opt;
	BertFileHeader hdr;
	const char *in_dir;
	const char *out_path;
	char	   *err;
	size_t		len;
	BertConvertStatus st;

	parse_options(&opt, &in_dir, &out_path, argc, argv);
	len = strlen(out_path) + 32;
	tmp_path = malloc(len);
	err = malloc(ERRBUF_SIZE);
	if (tmp_path == NULL || err == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", PROGNAME);
		return 1;
	}
	snprintf(tmp_path, len, "%s.tmp.%ld", out_path, (long) getpid());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	opt.warn = quiet ? NULL : print_warning;
	opt.written = &hdr;
	st = bcore_convert_checkpoint(in_dir, out_path, &opt, err, ERRBUF_SIZE);
	if (st != BERT_CONVERT_OK)
	{
		/* one line per problem */
		for (char *line = err, *nl; line != NULL; line = nl ? nl + 1 : NULL)
		{
			nl = strchr(line, '\n');
			fprintf(stderr, "%s: %.*s\n", PROGNAME,
					(int) (nl ? (size_t) (nl - line) : strlen(line)), line);
		}
		if (st == BERT_CONVERT_BAD_OPTION)
			fprintf(stderr, "Try '%s --help' for more information.\n", PROGNAME);
	}
	else if (!quiet)
		printf("%s: wrote %s: %s, %u layers, hidden %u, %u heads, vocab %u, "
			   "%u labels, %" PRIu64 " bytes\n",
			   PROGNAME, out_path, hdr.kind <= 2 ? kind_names[hdr.kind] : "?", hdr.n_layers,
			   hdr.hidden, hdr.n_heads, hdr.vocab_size, hdr.num_labels, hdr.file_size);
	free(err);
	err = tmp_path;
	tmp_path = NULL;			/* before the free: the handler reads it */
	free(err);
	return st == BERT_CONVERT_OK ? 0 : st == BERT_CONVERT_BAD_OPTION ? 2 : 1;
}
