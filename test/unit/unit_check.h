/*
 * unit_check.h — what the unit test programs share: the pass/fail counts
 * behind CHECK, the closing line, and the xorshift generator their
 * deterministic inputs come from (each test keeps its own seed).
 * Header only: every test program is one translation unit.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static int	passed = 0;
static int	failed = 0;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* xorshift64: advances *state and returns it */
static inline uint64_t
xorshift_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* uniform in [0, 1): the top 53 bits of the next number */
static inline double
xorshift_uniform(uint64_t *state)
{
	return (double) (xorshift_next(state) >> 11) / 9007199254740992.0;
}

/*
 * The usage line on stderr and false unless the program has min to max
 * arguments.  Makes stdout unbuffered: FAIL lines survive a sanitizer abort.
 */
static inline bool
unit_args(int argc, char **argv, int min, int max, const char *usage)
{
	if (argc - 1 < min || argc - 1 > max)
	{
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		return false;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	return true;
}

/* "NAME: N passed, M failed"; the exit status */
static inline int
unit_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed ? 1 : 0;
}

#endif							/* UNIT_CHECK_H */
