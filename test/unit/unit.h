/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A tiny test harness for the convexlite core.
 *
 * A check prints nothing when it passes and one line when it fails;
 * main() prints "unit: N passed, N failed" and exits 1 on any failure.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

extern int	unit_passed;
extern int	unit_failed;

extern void unit_check(bool ok, const char *file, int line, const char *expr);
extern void unit_check_str(const char *got, const char *want, const char *file,
						   int line, const char *expr);
extern void unit_check_contains(const char *got, const char *part, const char *file,
								int line, const char *expr);

#define CHECK(cond) unit_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_STR(got, want) unit_check_str((got), (want), __FILE__, __LINE__, #got)
#define CHECK_CONTAINS(got, part) unit_check_contains((got), (part), __FILE__, __LINE__, #got)

/* Parse JSON text with json-c (deep enough for the tests); NULL if invalid */
extern struct json_object *unit_json(const char *text);

/* Test groups */
extern void test_id(void);
extern void test_validator_compile(void);
extern void test_validator_check(void);
extern void test_format(void);
extern void test_deep(void);
extern void test_claims(void);
extern void test_token(void);
extern void test_sortkey(void);

#endif							/* UNIT_H */
