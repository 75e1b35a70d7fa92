/*-------------------------------------------------------------------------
 *
 * main.c
 *	  Runs every unit test group of the convexlite core.
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include <json.h>

int			unit_passed = 0;
int			unit_failed = 0;

/* Count a check; report a failure */
void
unit_check(bool ok, const char *file, int line, const char *expr)
{
	if (ok)
	{
		unit_passed++;
		return;
	}
	unit_failed++;
	printf("FAIL %s:%d: %s\n", file, line, expr);
}

/* Compare strings; NULL never equals */
void
unit_check_str(const char *got, const char *want, const char *file, int line,
			   const char *expr)
{
	if (got != NULL && want != NULL && strcmp(got, want) == 0)
	{
		unit_passed++;
		return;
	}
	unit_failed++;
	printf("FAIL %s:%d: %s\n  got:  %s\n  want: %s\n", file, line, expr,
		   got ? got : "(null)", want ? want : "(null)");
}

/* Check that got contains part */
void
unit_check_contains(const char *got, const char *part, const char *file, int line,
					const char *expr)
{
	if (got != NULL && strstr(got, part) != NULL)
	{
		unit_passed++;
		return;
	}
	unit_failed++;
	printf("FAIL %s:%d: %s\n  got:  %s\n  lacks: %s\n", file, line, expr,
		   got ? got : "(null)", part);
}

/* Parse JSON text (depth 1000); NULL when invalid */
struct json_object *
unit_json(const char *text)
{
	struct json_tokener *tok = json_tokener_new_ex(1000);
	struct json_object *json;

	/* the NUL ends a bare number or literal, which json-c otherwise awaits */
	json = json_tokener_parse_ex(tok, text, (int) strlen(text) + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(json);
		json = NULL;
		printf("note: test JSON did not parse: %s\n", text);
	}
	json_tokener_free(tok);
	return json;
}

/* Run every group; one closing line; exit 1 on any failure */
int
main(void)
{
	test_id();
	test_validator_compile();
	test_validator_check();
	test_format();
	test_deep();
	test_claims();
	test_token();
	test_sortkey();
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed > 0 ? 1 : 0;
}
