/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * testlib.h - the assertions every C test suite uses. A suite calls TEST_BEGIN("name") per
 * case, CHECK*() inside it, and returns test_summary() from main(): it prints
 * "N passed, N failed" and yields the exit status (non-zero on any failure).
 */
#ifndef TG_TESTLIB_H
#define TG_TESTLIB_H

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/*
 * The counts of the whole suite. Weak: a suite of several files (test_golden) includes this
 * in each, and the linker keeps one set; a one-file suite sees no difference.
 */
__attribute__((weak)) int tl_passed, tl_failed, tl_case_failed;
__attribute__((weak)) const char *tl_case;

static inline void tl_end_case(void)
{
	if (!tl_case)
		return;
	if (tl_case_failed)
		tl_failed++;
	else
		tl_passed++;
	tl_case = NULL;
}

#define TEST_BEGIN(name)                                                                           \
	do {                                                                                       \
		tl_end_case();                                                                     \
		tl_case = (name);                                                                  \
		tl_case_failed = 0;                                                                \
	} while (0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s: %s:%d: %s\n", tl_case ? tl_case : "?", __FILE__, \
				__LINE__, #cond);                                                  \
			tl_case_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_U64(got, want)                                                                    \
	do {                                                                                       \
		uint64_t __g = (uint64_t)(got), __w = (uint64_t)(want);                            \
		if (__g != __w) {                                                                  \
			fprintf(stderr, "FAIL %s: %s:%d: %s = %" PRIu64 ", want %" PRIu64 "\n",    \
				tl_case ? tl_case : "?", __FILE__, __LINE__, #got, __g, __w);      \
			tl_case_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
	do {                                                                                       \
		const char *__h = (hay), *__n = (needle);                                          \
		if (!__h || !strstr(__h, __n)) {                                                   \
			fprintf(stderr, "FAIL %s: %s:%d: \"%s\" does not contain \"%s\"\n",        \
				tl_case ? tl_case : "?", __FILE__, __LINE__, __h ? __h : "(null)", \
				__n);                                                              \
			tl_case_failed = 1;                                                        \
		}                                                                                  \
	} while (0)

/* Write text to path (a test's fixture file); a failure is reported by the checks after. */
static inline void tl_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static inline int tl_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a test's temporary directory and everything in it. */
static inline void tl_rmtree(const char *dir)
{
	nftw(dir, tl_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static inline int test_summary(void)
{
	tl_end_case();
	printf("%d passed, %d failed\n", tl_passed, tl_failed);
	return tl_failed ? 1 : 0;
}

#endif /* TG_TESTLIB_H */
