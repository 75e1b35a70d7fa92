/*-------------------------------------------------------------------------
 *
 * test_format.c
 *	  Unit tests for value display (cvx_format.c) and for hostile, deeply
 *	  nested values.
 *
 * Expected float and string texts were produced by Rust's {:?} (rustc
 * 1.95), which is what ConvexValue's Display uses.
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "cvx_validator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

/* Display a json-c value; the caller frees the result */
static char *
show_json(struct json_object *json, size_t max_length)
{
	CvxValue	value;

	cvx_json_c_value(json, &value);
	return cvx_value_display(&value, &cvx_json_c_ops, max_length);
}

/* Display the value of JSON text and compare */
static void
expect_display(const char *text, size_t max_length, const char *want, const char *file, int line)
{
	struct json_object *json = unit_json(text);
	char	   *got = show_json(json, max_length);

	unit_check_str(got, want, file, line, text);
	free(got);
	json_object_put(json);
}

#define EXPECT_DISPLAY(text, want) expect_display((text), 0, (want), __FILE__, __LINE__)
#define EXPECT_DISPLAY_CUT(text, max, want) expect_display((text), (max), (want), __FILE__, __LINE__)

/* Float64 as Rust's {:?} */
static void
test_format_floats(void)
{
	static const struct
	{
		double		d;
		const char *want;
	}			cases[] =
	{
		{123.0, "123.0"},
		{0.1, "0.1"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e16"},
		{1.5e16, "1.5e16"},
		{9999999999999998.0, "9999999999999998.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-5"},
		{1.5e-5, "1.5e-5"},
		{-0.0, "-0.0"},
		{0.0, "0.0"},
		{1.7976931348623157e308, "1.7976931348623157e308"},
		{5e-324, "5e-324"},
		{1.0 / 3.0, "0.3333333333333333"},
		{2.5, "2.5"},
		{-1234.5678, "-1234.5678"},
		{1e21, "1e21"},
		{123456789012345680.0, "1.2345678901234568e17"},
		{0.000123, "0.000123"},
		{1e-7, "1e-7"},
		{2.2250738585072014e-308, "2.2250738585072014e-308"},
		/* just above powers of two, and exact ties at 17 digits */
		{7.120236347223045e-307, "7.120236347223045e-307"},
		{2.9802322387695313e-8, "2.9802322387695313e-8"},
		{3593135618105.6563, "3593135618105.6563"},
	};
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		struct json_object *json = json_object_new_double(cases[i].d);
		char	   *got = show_json(json, 0);

		CHECK_STR(got, cases[i].want);
		free(got);
		json_object_put(json);
	}
	EXPECT_DISPLAY("{\"$float\":\"AAAAAAAA+H8=\"}", "NaN");
	EXPECT_DISPLAY("{\"$float\":\"AAAAAAAA8H8=\"}", "inf");
	EXPECT_DISPLAY("{\"$float\":\"AAAAAAAA8P8=\"}", "-inf");
	EXPECT_DISPLAY("{\"$float\":\"AAAAAAAAAIA=\"}", "-0.0");
	EXPECT_DISPLAY("{\"$float\":\"AAAAAAAAAAA=\"}", "0.0");
	EXPECT_DISPLAY("12", "12.0");
	EXPECT_DISPLAY("-7", "-7.0");
}

/* Other scalars */
static void
test_format_scalars(void)
{
	EXPECT_DISPLAY("null", "null");
	EXPECT_DISPLAY("true", "true");
	EXPECT_DISPLAY("false", "false");
	EXPECT_DISPLAY("{\"$integer\":\"ewAAAAAAAAA=\"}", "123");
	EXPECT_DISPLAY("{\"$integer\":\"//////////8=\"}", "-1");
	EXPECT_DISPLAY("{\"$integer\":\"AAAAAAAAAIA=\"}", "-9223372036854775808");
	EXPECT_DISPLAY("{\"$bytes\":\"AQID\"}", "b\"AQID\"");
	EXPECT_DISPLAY("{\"$bytes\":\"aGk\"}", "b\"aGk=\"");
	EXPECT_DISPLAY("{\"$bytes\":\"aGk=\"}", "b\"aGk=\"");
	EXPECT_DISPLAY("{\"$bytes\":\"\"}", "b\"\"");
	/* not valid encodings: shown as the objects they are */
	EXPECT_DISPLAY("{\"$bytes\":\"A\"}", "{$bytes: \"A\"}");
	EXPECT_DISPLAY("{\"$integer\":\"ewAAAAAAAAA=\",\"x\":1}", "{$integer: \"ewAAAAAAAAA=\", x: 1.0}");
	EXPECT_DISPLAY("\"\"", "\"\"");
	EXPECT_DISPLAY("\"hello world\"", "\"hello world\"");
	/* Rust's escaping (checked against rustc) */
	EXPECT_DISPLAY("\"a\\\"b\\\\c\\n\\r\\t\\u0000\\u0001\\u001f\\u007f\\u0080\\u00a0\\u00ad\\u00e9\\u200b\\u2028\\ufeff\\ue000\\u0301'z\"",
				   "\"a\\\"b\\\\c\\n\\r\\t\\0\\u{1}\\u{1f}\\u{7f}\\u{80}\\u{a0}\\u{ad}\xc3\xa9\\u{200b}\\u{2028}\\u{feff}\\u{e000}\\u{301}'z\"");
	EXPECT_DISPLAY("\"\\u65e5\\u672c \\ud83d\\ude00\"", "\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");

	/* invalid UTF-8 becomes U+FFFD, so output is always valid UTF-8 */
	{
		struct json_object *json = json_object_new_string_len("a\xff\xc3", 3);
		char	   *got = show_json(json, 0);

		CHECK_STR(got, "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
		free(got);
		json_object_put(json);
	}
}

/* Arrays and objects */
static void
test_format_containers(void)
{
	EXPECT_DISPLAY("[]", "[]");
	EXPECT_DISPLAY("{}", "{}");
	EXPECT_DISPLAY("[1,\"x\",null,true,[],{}]", "[1.0, \"x\", null, true, [], {}]");
	EXPECT_DISPLAY("{\"b\":1,\"a\":{\"d\":[],\"c\":2}}", "{a: {c: 2.0, d: []}, b: 1.0}");
	EXPECT_DISPLAY("{\"b\":1,\"B\":2,\"_c\":3,\"a\":4,\"aa\":5,\"a b\":6}",
				   "{B: 2.0, _c: 3.0, a: 4.0, a b: 6.0, aa: 5.0, b: 1.0}");
	EXPECT_DISPLAY("{\"id\":{\"$integer\":\"ewAAAAAAAAA=\"},\"data\":{\"$bytes\":\"AQID\"}}",
				   "{data: b\"AQID\", id: 123}");
}

/* Cutting at max_length */
static void
test_format_cut(void)
{
	struct json_object *arr;
	char	   *got;
	int			i;

	EXPECT_DISPLAY_CUT("\"abcdefghij\"", 5, "\"abcd...");
	EXPECT_DISPLAY_CUT("\"ab\"", 4, "\"ab\"");
	EXPECT_DISPLAY_CUT("\"abc\"", 4, "\"abc...");
	EXPECT_DISPLAY_CUT("\"ab\"", 1, "\"...");
	/* never inside a UTF-8 character */
	EXPECT_DISPLAY_CUT("\"\\u00e9\\u00e9\\u00e9\"", 4, "\"\xc3\xa9...");
	EXPECT_DISPLAY_CUT("\"\\u00e9\\u00e9\\u00e9\"", 5, "\"\xc3\xa9\xc3\xa9...");
	EXPECT_DISPLAY_CUT("\"\\ud83d\\ude00\\ud83d\\ude00\"", 8, "\"\xf0\x9f\x98\x80...");
	EXPECT_DISPLAY_CUT("{\"b\":1,\"a\":2}", 6, "{a: 2....");
	EXPECT_DISPLAY_CUT("[1,2]", 10, "[1.0, 2.0]");
	EXPECT_DISPLAY_CUT("[1,2]", 9, "[1.0, 2.0...");

	arr = json_object_new_array();
	for (i = 0; i < 100000; i++)
		json_object_array_add(arr, json_object_new_int(i));
	got = show_json(arr, 50);
	CHECK(got != NULL && strlen(got) == 53);
	CHECK(got != NULL && strcmp(got + 50, "...") == 0);
	CHECK(got != NULL && strncmp(got, "[0.0, 1.0, 2.0,", 15) == 0);
	free(got);
	got = show_json(arr, 0);
	CHECK(got != NULL && strlen(got) > 600000);
	free(got);
	json_object_put(arr);

	/* NULL arguments */
	got = cvx_value_display(NULL, &cvx_json_c_ops, 0);
	CHECK_STR(got, "?");
	free(got);
}

/* Validator display of NULL */
static void
test_format_validators(void)
{
	char	   *got = cvx_validator_display(NULL);

	CHECK_STR(got, "?");
	free(got);
}

/* The display group */
void
test_format(void)
{
	test_format_floats();
	test_format_scalars();
	test_format_containers();
	test_format_cut();
	test_format_validators();
}

/* ------------------------------------------------------------------------
 * Hostile nesting: json-c frees recursively, so the tests build and free
 * the chains iteratively.
 * ------------------------------------------------------------------------
 */

#define DEEP 100000

/* A chain of depth nested arrays (or objects {"a": …}); levels[i] is level i */
static struct json_object **
deep_chain(int depth, bool objects)
{
	struct json_object **levels = malloc(sizeof(struct json_object *) * (size_t) depth);
	int			i;

	levels[0] = objects ? json_object_new_object() : json_object_new_array();
	for (i = 1; i < depth; i++)
	{
		levels[i] = objects ? json_object_new_object() : json_object_new_array();
		if (objects)
			json_object_object_add(levels[i - 1], "a", levels[i]);
		else
			json_object_array_add(levels[i - 1], levels[i]);
	}
	return levels;
}

/* Free a chain from the innermost level out */
static void
deep_free(struct json_object **levels, int depth, bool objects)
{
	int			i;

	for (i = depth - 2; i >= 0; i--)
	{
		if (objects)
			json_object_object_del(levels[i], "a");
		else
			json_object_array_del_idx(levels[i], 0, 1);
	}
	json_object_put(levels[0]);
	free(levels);
}

/* A lookup that knows no table */
static const char *
no_tables(void *arg, uint32_t table_number)
{
	(void) arg;
	(void) table_number;
	return NULL;
}

/* Check the top of a chain against validator text */
static bool
deep_check(struct json_object *top, const char *vtext, char **message)
{
	CvxCompileError cerr;
	CvxValidator *v = cvx_validator_compile_text(vtext, &cerr);
	CvxCheckContext ctx = {&cvx_json_c_ops, no_tables, NULL};
	CvxValue	value;
	CvxCheckError err;
	bool		ok;

	cvx_json_c_value(top, &value);
	ok = v != NULL && cvx_check(v, &value, &ctx, &err);
	if (message != NULL)
		*message = (!ok && v != NULL) ? cvx_check_error_message(&err, &ctx) : NULL;
	cvx_validator_free(v);
	return ok;
}

/* 100000 levels of arrays and of objects: check, display, validate */
void
test_deep(void)
{
	struct json_object **arrays = deep_chain(DEEP, false);
	struct json_object **objects = deep_chain(DEEP, true);
	char		want[400];
	char		msg[256];
	char	   *got;
	char	   *message;
	CvxValue	value;
	int			i;
	size_t		len;

	CHECK(deep_check(arrays[0], "{\"type\":\"any\"}", NULL));
	CHECK(deep_check(arrays[0], "{\"type\":\"array\",\"value\":{\"type\":\"any\"}}", NULL));
	CHECK(deep_check(arrays[0], "{\"type\":\"union\",\"value\":[{\"type\":\"string\"},{\"type\":\"any\"}]}", NULL));
	CHECK(!deep_check(arrays[0],
					  "{\"type\":\"array\",\"value\":{\"type\":\"array\",\"value\":{\"type\":\"string\"}}}",
					  &message));
	CHECK_CONTAINS(message, "Value does not match validator.\nPath: [0][0]\nValue: [[[");
	CHECK(message != NULL && strlen(message) < CVX_ERROR_VALUE_MAX_LENGTH + 200);
	free(message);
	message = NULL;
	CHECK(deep_check(objects[0], "{\"type\":\"any\"}", NULL));
	CHECK(deep_check(objects[0],
					 "{\"type\":\"record\",\"keys\":{\"type\":\"string\"},\"values\":{\"fieldType\":{\"type\":\"any\"},\"optional\":false}}",
					 NULL));
	CHECK(!deep_check(objects[0],
					  "{\"type\":\"object\",\"value\":{\"a\":{\"fieldType\":{\"type\":\"object\",\"value\":{}},\"optional\":false}}}",
					  &message));
	CHECK_CONTAINS(message, "Object contains extra field `a` that is not in the validator.\nPath: .a\nObject: {a: {a: ");
	free(message);

	/* display: cut by length, and by depth when unlimited */
	got = show_json(arrays[0], 100);
	CHECK(got != NULL && strlen(got) == 103 && strncmp(got, "[[[[", 4) == 0);
	free(got);
	len = 0;
	for (i = 0; i < CVX_MAX_NESTING; i++)
		want[len++] = '[';
	memcpy(want + len, "...", 3);
	len += 3;
	for (i = 0; i < CVX_MAX_NESTING; i++)
		want[len++] = ']';
	want[len] = '\0';
	got = show_json(arrays[0], 0);
	CHECK_STR(got, want);
	free(got);
	got = show_json(objects[0], 0);
	CHECK(got != NULL && strncmp(got, "{a: {a: {a: ", 12) == 0 && strstr(got, "...}}}") != NULL);
	free(got);

	/* Convex's nesting limit: 64 levels are a value, 65 are not */
	cvx_json_c_value(arrays[0], &value);
	CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
	CHECK_STR(msg, "Value is too nested (nested 65 levels deep > maximum nesting 64)");
	cvx_json_c_value(arrays[DEEP - 64], &value);
	CHECK(cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
	cvx_json_c_value(arrays[DEEP - 65], &value);
	CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
	cvx_json_c_value(objects[0], &value);
	CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
	CHECK_STR(msg, "Value is too nested (nested 65 levels deep > maximum nesting 64)");
	/* a 64-deep value displays in full */
	got = show_json(arrays[DEEP - 64], 0);
	CHECK(got != NULL && strchr(got, '.') == NULL && strlen(got) == 128);
	free(got);

	deep_free(arrays, DEEP, false);
	deep_free(objects, DEEP, true);
}
