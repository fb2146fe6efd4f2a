/*
 * unicode_tables.h — the Unicode character data the BERT tokenizer needs.
 *
 * The definitions are generated at build time by tools/gen_unicode.c from
 * Debian's unicode-data package (UnicodeData.txt, SpecialCasing.txt) into
 * src/unicode_tables.c, which is never committed.  Every table is sorted by
 * code point and searched with a binary search (see tokenizer.c).
 */
#ifndef BERT_UNICODE_TABLES_H
#define BERT_UNICODE_TABLES_H

#include <stdint.h>

/*
 * General-category classes the tokenizer tells apart.  Code points in no
 * range are UNI_OTHER.  The BERT rules that are not Unicode data (tab,
 * newline and carriage return count as space, the ASCII symbols count as
 * punctuation) are applied in tokenizer.c, not here.
 */
typedef enum UnicodeClass
{
	UNI_OTHER = 0,
	UNI_CONTROL = 1,			/* Cc, Cf, Cs, Co, Cn (unassigned) */
	UNI_SPACE = 2,				/* Zs, Zl, Zp */
	UNI_PUNCT = 3,				/* Pc, Pd, Ps, Pe, Pi, Pf, Po */
	UNI_MN = 4					/* Mn: what strip_accents drops */
} UnicodeClass;

/* [first, last] inclusive, with a small value (a UnicodeClass or a ccc). */
typedef struct UnicodeRange
{
	uint32_t	first;
	uint32_t	last;
	uint32_t	value;
} UnicodeRange;

/* A simple one-to-one lowercase mapping. */
typedef struct UnicodeCaseMap
{
	uint32_t	cp;
	uint32_t	lower;
} UnicodeCaseMap;

/* An unconditional lowercase mapping to several code points (SpecialCasing). */
#define UNICODE_MAX_SPECIAL_LOWER 3
typedef struct UnicodeSpecialLower
{
	uint32_t	cp;
	uint32_t	len;
	uint32_t	lower[UNICODE_MAX_SPECIAL_LOWER];
} UnicodeSpecialLower;

/*
 * A full canonical decomposition: len code points at pool[offset].  Hangul
 * syllables are not listed; they decompose arithmetically.
 */
#define UNICODE_MAX_DECOMP 4
typedef struct UnicodeDecomp
{
	uint32_t	cp;
	uint16_t	offset;
	uint16_t	len;
} UnicodeDecomp;

extern const UnicodeRange unicode_class_ranges[];
extern const uint32_t unicode_class_count;

/* Canonical combining class, for the canonical ordering of NFD; 0 unlisted. */
extern const UnicodeRange unicode_ccc_ranges[];
extern const uint32_t unicode_ccc_count;

extern const UnicodeCaseMap unicode_lower_map[];
extern const uint32_t unicode_lower_count;

extern const UnicodeSpecialLower unicode_special_lower[];
extern const uint32_t unicode_special_lower_count;

extern const UnicodeDecomp unicode_decomp[];
extern const uint32_t unicode_decomp_count;
extern const uint32_t unicode_decomp_pool[];

/* The Unicode version the tables were made from, e.g. "15.0.0". */
extern const char unicode_tables_version[];

#endif							/* BERT_UNICODE_TABLES_H */
