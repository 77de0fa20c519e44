/*
 * unit.h: what every unit test includes: cmocka, and two assertions whose
 * failure messages say what went wrong in renewd's terms (result codes as
 * text, the string that was searched).
 */
#ifndef RD_TESTS_UNIT_H
#define RD_TESTS_UNIT_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/err.h"

/* Asserts that an int result equals want, naming both codes on failure. */
#define assert_rc(expr, want)                                                                     \
	do {                                                                                          \
		int got_ = (expr), want_ = (want);                                                        \
		if (got_ != want_)                                                                        \
			fail_msg("%s: got %d (%s), want %d (%s)", #expr, got_, rd_strerror(got_), want_,       \
				 rd_strerror(want_));                                                          \
	} while (0)

/* Asserts that the text contains needle. */
#define assert_contains(text, needle)                                                             \
	do {                                                                                          \
		const char *t_ = (text), *n_ = (needle);                                                  \
		if (!t_ || !strstr(t_, n_))                                                               \
			fail_msg("\"%s\" does not contain \"%s\"", t_ ? t_ : "(null)", n_);                    \
	} while (0)

#endif
