/*-------------------------------------------------------------------------
 *
 * test_validator.c
 *	  Unit tests for compiling ValidatorJSON and checking values
 *	  (cvx_validator.c), with Convex's exact error messages.
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "cvx_id.h"
#include "cvx_validator.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <json.h>

/* Table numbers the tests know */
static const char *
test_table_name(void *arg, uint32_t table_number)
{
	(void) arg;
	switch (table_number)
	{
		case 1:
			return "_storage";
		case 2:
			return "_scheduled_functions";
		case 10001:
			return "users";
		case 10002:
			return "messages";
		case 10003:
			return "files";
	}
	return NULL;
}

static const CvxCheckContext test_context = {&cvx_json_c_ops, test_table_name, NULL};

/* An id of the given table (internal bytes 0..15, or 16..31 when alt) */
static void
make_id(uint32_t table, bool alt, char out[CVX_ID_MAX_LENGTH + 1])
{
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
	int			i;

	for (i = 0; i < CVX_ID_INTERNAL_BYTES; i++)
		internal[i] = (uint8_t) (alt ? i + 16 : i);
	cvx_id_encode(table, internal, out);
}

/*
 * Compile vtext and check the JSON valtext against it; compare the result
 * ("OK" or the whole error message) with want.
 */
static void
expect_check(const char *vtext, const char *valtext, const char *want,
			 const char *file, int line)
{
	CvxCompileError cerr;
	CvxValidator *v = cvx_validator_compile_text(vtext, &cerr);
	struct json_object *json;
	CvxValue	value;
	CvxCheckError err;
	char	   *msg = NULL;

	if (v == NULL)
	{
		unit_check_str(cerr.message, "(compiles)", file, line, vtext);
		return;
	}
	json = unit_json(valtext);
	cvx_json_c_value(json, &value);
	if (cvx_check(v, &value, &test_context, &err))
		unit_check_str("OK", want, file, line, valtext);
	else
	{
		msg = cvx_check_error_message(&err, &test_context);
		unit_check_str(msg, want, file, line, valtext);
	}
	free(msg);
	json_object_put(json);
	cvx_validator_free(v);
}

#define EXPECT_CHECK(v, val, want) expect_check((v), (val), (want), __FILE__, __LINE__)

/* Compile vtext; compare its display (or compile error) with want */
static void
expect_compile(const char *vtext, const char *want, const char *file, int line)
{
	CvxCompileError cerr;
	CvxValidator *v = cvx_validator_compile_text(vtext, &cerr);
	char	   *shown;

	if (v == NULL)
	{
		char		buf[600];

		snprintf(buf, sizeof(buf), "error: %s", cerr.message);
		unit_check_str(buf, want, file, line, vtext);
		return;
	}
	shown = cvx_validator_display(v);
	unit_check_str(shown, want, file, line, vtext);
	free(shown);
	cvx_validator_free(v);
}

#define EXPECT_COMPILE(v, want) expect_compile((v), (want), __FILE__, __LINE__)

/* The field spec JSON for a validator */
#define F(v) "{\"fieldType\":" v ",\"optional\":false}"
#define OPT(v) "{\"fieldType\":" v ",\"optional\":true}"
#define OBJ(fields) "{\"type\":\"object\",\"value\":{" fields "}}"
#define S "{\"type\":\"string\"}"
#define N "{\"type\":\"number\"}"

/* Every kind compiles and displays as Convex displays it */
static void
test_compile_kinds(void)
{
	EXPECT_COMPILE(S, "v.string()");
	EXPECT_COMPILE(N, "v.float64()");
	EXPECT_COMPILE("{\"type\":\"bigint\"}", "v.int64()");
	EXPECT_COMPILE("{\"type\":\"boolean\"}", "v.boolean()");
	EXPECT_COMPILE("{\"type\":\"null\"}", "v.null()");
	EXPECT_COMPILE("{\"type\":\"bytes\"}", "v.bytes()");
	EXPECT_COMPILE("{\"type\":\"any\"}", "v.any()");
	EXPECT_COMPILE("{\"type\":\"map\"}", "v.any()");
	EXPECT_COMPILE("{\"type\":\"set\",\"value\":" S "}", "v.any()");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"users\"}", "v.id(\"users\")");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"_storage\"}", "v.id(\"_storage\")");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":\"x\"}", "v.literal(\"x\")");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":\"a\\\"b\\\\c\\n\\u0001\\u007f\\u00e9\"}",
				   "v.literal(\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\")");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":123}", "v.literal(123.0)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":1.5}", "v.literal(1.5)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":-0.25}", "v.literal(-0.25)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":1e21}", "v.literal(1e21)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":1e16}", "v.literal(1e16)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":1e15}", "v.literal(1000000000000000.0)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":0.00001}", "v.literal(0.00001)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":0.000001}", "v.literal(1e-6)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":true}", "v.literal(true)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":false}", "v.literal(false)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"$integer\":\"ewAAAAAAAAA=\"}}",
				   "v.literal(<bigint>)");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"$float\":\"AAAAAAAA+H8=\"}}",
				   "v.literal(<number>)");
	EXPECT_COMPILE("{\"type\":\"array\",\"value\":" S "}", "v.array(v.string())");
	EXPECT_COMPILE("{\"type\":\"union\",\"value\":[" S "," N "]}", "v.union(v.string(), v.float64())");
	EXPECT_COMPILE("{\"type\":\"union\",\"value\":[]}", "v.union()");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"id\",\"tableName\":\"users\"},\"values\":" F(N) "}",
				   "v.record(v.id(\"users\"), v.float64())");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"union\",\"value\":[" S ",{\"type\":\"id\",\"tableName\":\"users\"}]},\"values\":" F(N) "}",
				   "v.record(v.union(v.string(), v.id(\"users\")), v.float64())");
	EXPECT_COMPILE(OBJ("\"required\":" F(S) ",\"optional\":" OPT(N)),
				   "v.object({optional: v.optional(v.float64()), required: v.string()})");
	EXPECT_COMPILE(OBJ(""), "v.object({})");
	/* fields sort by bytes: uppercase before lowercase, "_" between */
	EXPECT_COMPILE(OBJ("\"b\":" F(S) ",\"_id\":" F(S) ",\"B\":" F(S) ",\"a1\":" F(S) ",\"a\":" F(S)),
				   "v.object({B: v.string(), _id: v.string(), a: v.string(), a1: v.string(), b: v.string()})");
	/* unknown keys are ignored, as serde does */
	EXPECT_COMPILE("{\"type\":\"string\",\"description\":\"x\"}", "v.string()");
	/* nested */
	EXPECT_COMPILE(OBJ("\"data\":" F(OBJ("\"cursor\":" OPT(OBJ("\"x\":" F(N) ",\"y\":" F(N))))) ),
				   "v.object({data: v.object({cursor: v.optional(v.object({x: v.float64(), y: v.float64()}))})})");
}

/* Accessors */
static void
test_compile_accessors(void)
{
	CvxCompileError cerr;
	CvxValidator *v;
	CvxValidator *id;
	const CvxFieldValidator *fields;
	size_t		n = 99;

	v = cvx_validator_compile_text(OBJ("\"b\":" OPT(S) ",\"a\":" F("{\"type\":\"id\",\"tableName\":\"users\"}")), &cerr);
	CHECK(v != NULL);
	if (v == NULL)
		return;
	CHECK(cvx_validator_kind(v) == CVX_V_OBJECT);
	fields = cvx_validator_fields(v, &n);
	CHECK(n == 2);
	CHECK_STR(fields[0].name, "a");
	CHECK(fields[0].name_len == 1);
	CHECK(!fields[0].optional);
	CHECK(fields[1].optional);
	CHECK(cvx_validator_kind(fields[1].validator) == CVX_V_STRING);
	CHECK(cvx_validator_field(v, "b", 1) == &fields[1]);
	CHECK(cvx_validator_field(v, "bb", 1) == &fields[1]);	/* uses the length */
	CHECK(cvx_validator_field(v, "c", 1) == NULL);
	CHECK(cvx_validator_field(v, "", 0) == NULL);
	id = fields[0].validator;
	CHECK(cvx_validator_kind(id) == CVX_V_ID);
	CHECK_STR(cvx_validator_table(id), "users");
	CHECK(cvx_validator_table(v) == NULL);
	CHECK(cvx_validator_fields(id, &n) == NULL && n == 0);
	CHECK(cvx_validator_field(id, "a", 1) == NULL);
	cvx_validator_free(v);
	cvx_validator_free(NULL);

	/* compile_fields: the "value" of an object validator */
	{
		struct json_object *json = unit_json("{\"roomId\":" F(S) ",\"content\":" F(S) "}");
		char	   *shown;

		v = cvx_validator_compile_fields(json, &cerr);
		CHECK(v != NULL && cvx_validator_kind(v) == CVX_V_OBJECT);
		shown = v ? cvx_validator_display(v) : NULL;
		CHECK_STR(shown, "v.object({content: v.string(), roomId: v.string()})");
		free(shown);
		cvx_validator_free(v);
		json_object_put(json);
		json = unit_json("[1]");
		CHECK(cvx_validator_compile_fields(json, &cerr) == NULL);
		CHECK_CONTAINS(cerr.message, "must be a JSON object");
		json_object_put(json);
		CHECK(cvx_validator_compile_fields(NULL, &cerr) == NULL);
	}
	CHECK(cvx_validator_compile(NULL, &cerr) == NULL);
	CHECK(cvx_validator_compile_text(NULL, &cerr) == NULL);
	CHECK(cvx_validator_compile_text("{\"type\":\"nope\"}", NULL) == NULL);
}

/* Compile errors */
static void
test_compile_errors(void)
{
	EXPECT_COMPILE("[1]", "error: a validator must be a JSON object such as {\"type\": \"string\"}");
	EXPECT_COMPILE("\"string\"", "error: a validator must be a JSON object such as {\"type\": \"string\"}");
	EXPECT_COMPILE("123", "error: a validator must be a JSON object such as {\"type\": \"string\"}");
	EXPECT_COMPILE("null", "error: a validator must be a JSON object such as {\"type\": \"string\"}");
	EXPECT_COMPILE("{}", "error: validator is missing \"type\"");
	EXPECT_COMPILE("{\"type\":3}", "error: validator \"type\" must be a string");
	EXPECT_COMPILE("{\"type\":\"strin\"}",
				   "error: unknown validator type \"strin\": expected one of null, number, bigint, boolean, string, bytes, any, literal, id, array, record, object, union");
	EXPECT_COMPILE("{\"type\":\"string\\u0000\"}",
				   "error: unknown validator type \"string?\": expected one of null, number, bigint, boolean, string, bytes, any, literal, id, array, record, object, union");
	EXPECT_COMPILE("{\"type\":\"float64\"}",
				   "error: unknown validator type \"float64\": expected one of null, number, bigint, boolean, string, bytes, any, literal, id, array, record, object, union");
	/* JSON text */
	EXPECT_COMPILE("", "error: invalid validator JSON: unexpected end of data");
	EXPECT_COMPILE("{\"type\":\"string\"", "error: invalid validator JSON: unexpected end of data");
	EXPECT_COMPILE("{\"type\":\"string\"} x", "error: invalid validator JSON: unexpected character");
	EXPECT_COMPILE("{\"type\":\"string\"}{}", "error: invalid validator JSON: unexpected character");
	EXPECT_COMPILE("{\"type\":\"string\"}  \n", "v.string()");
	EXPECT_COMPILE("{'type':'string'}", "error: invalid validator JSON: unexpected character");

	/* id */
	EXPECT_COMPILE("{\"type\":\"id\"}", "error: id validator needs a string \"tableName\"");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":1}", "error: id validator needs a string \"tableName\"");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"\"}",
				   "error: invalid table name in v.id(): Identifier cannot be empty");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"1abc\"}",
				   "error: invalid table name in v.id(): Invalid first character '1' in 1abc: Identifiers must start with an alphabetic character or underscore");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"a-b\"}",
				   "error: invalid table name in v.id(): Identifier a-b has invalid character '-': Identifiers can only contain alphanumeric characters or underscores");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"a\\nb\"}",
				   "error: invalid table name in v.id(): Identifier a?b has invalid character '\\n': Identifiers can only contain alphanumeric characters or underscores");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"___\"}",
				   "error: invalid table name in v.id(): Identifier ___ cannot have exclusively underscores");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
				   "error: invalid table name in v.id(): Identifier is too long (65 > maximum 64)");
	EXPECT_COMPILE("{\"type\":\"id\",\"tableName\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
				   "v.id(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\")");

	/* literal */
	EXPECT_COMPILE("{\"type\":\"literal\"}", "error: literal validator is missing \"value\"");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":null}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":[1]}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"a\":1}}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"$integer\":\"ewAA\"}}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"$bytes\":\"AQID\"}}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");
	EXPECT_COMPILE("{\"type\":\"literal\",\"value\":{\"$float\":\"AAAAAAAA8D8=\"}}",
				   "error: v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}");

	/* array, union, object */
	EXPECT_COMPILE("{\"type\":\"array\"}", "error: array validator is missing \"value\"");
	EXPECT_COMPILE("{\"type\":\"array\",\"value\":\"string\"}",
				   "error: a validator must be a JSON object such as {\"type\": \"string\"}");
	EXPECT_COMPILE("{\"type\":\"union\",\"value\":" S "}",
				   "error: union validator needs an array of validators in \"value\"");
	EXPECT_COMPILE("{\"type\":\"union\",\"value\":[" S ",{\"type\":\"x\"}]}",
				   "error: unknown validator type \"x\": expected one of null, number, bigint, boolean, string, bytes, any, literal, id, array, record, object, union");
	EXPECT_COMPILE("{\"type\":\"object\"}", "error: object validator is missing \"value\"");
	EXPECT_COMPILE("{\"type\":\"object\",\"value\":[]}",
				   "error: object validator fields must be a JSON object mapping names to {\"fieldType\": …, \"optional\": …}");
	EXPECT_COMPILE(OBJ("\"1a\":" F(S)),
				   "error: invalid field name `1a` in object validator: Invalid first character '1' in 1a: Identifiers must start with an alphabetic character or underscore");
	EXPECT_COMPILE(OBJ("\"$a\":" F(S)),
				   "error: invalid field name `$a` in object validator: Invalid first character '$' in $a: Identifiers must start with an alphabetic character or underscore");
	EXPECT_COMPILE(OBJ("\"a b\":" F(S)),
				   "error: invalid field name `a b` in object validator: Identifier a b has invalid character ' ': Identifiers can only contain alphanumeric characters or underscores");
	EXPECT_COMPILE(OBJ("\"\":" F(S)),
				   "error: invalid field name `` in object validator: Identifier cannot be empty");
	EXPECT_COMPILE(OBJ("\"_\":" F(S)),
				   "error: invalid field name `_` in object validator: Identifier _ cannot have exclusively underscores");
	EXPECT_COMPILE(OBJ("\"a\":" S),
				   "error: Invalid validator for key `a`: expected {\"fieldType\": <validator>, \"optional\": <boolean>}");
	EXPECT_COMPILE(OBJ("\"a\":{\"fieldType\":" S "}"),
				   "error: Invalid validator for key `a`: expected {\"fieldType\": <validator>, \"optional\": <boolean>}");
	EXPECT_COMPILE(OBJ("\"a\":{\"fieldType\":" S ",\"optional\":0}"),
				   "error: Invalid validator for key `a`: expected {\"fieldType\": <validator>, \"optional\": <boolean>}");
	EXPECT_COMPILE(OBJ("\"a\":" F("{\"type\":\"id\",\"tableName\":\"9\"}")),
				   "error: Invalid validator for key `a`: invalid table name in v.id(): Invalid first character '9' in 9: Identifiers must start with an alphabetic character or underscore");
	EXPECT_COMPILE(OBJ("\"outer\":" F(OBJ("\"inner\":" F("{}")))),
				   "error: Invalid validator for key `outer`: Invalid validator for key `inner`: validator is missing \"type\"");

	/* record: Convex's InvalidRecordType messages */
	EXPECT_COMPILE("{\"type\":\"record\",\"values\":" F(N) "}", "error: record validator is missing \"keys\"");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":" S "}", "error: record validator is missing \"values\"");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"any\"},\"values\":" F(N) "}",
				   "error: Records can only have string keys. Your validator contains a record with key typed as `v.any()`, which is not a subtype of `v.string()`");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":" N ",\"values\":" F(N) "}",
				   "error: Records can only have string keys. Your validator contains a record with key typed as `v.float64()`, which is not a subtype of `v.string()`");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"literal\",\"value\":\"abc\"},\"values\":" F(N) "}",
				   "error: Records cannot have string literal keys");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"union\",\"value\":[" S ",{\"type\":\"literal\",\"value\":\"abc\"}]},\"values\":" F(N) "}",
				   "error: Records cannot have string literal keys");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"id\",\"tableName\":\"users\"},\"values\":" OPT(N) "}",
				   "error: Records cannot have optional values");
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":" S ",\"values\":" N "}",
				   "error: expected {\"fieldType\": <validator>, \"optional\": <boolean>}");
	/* Convex's is_subset: an empty union is a subset of anything */
	EXPECT_COMPILE("{\"type\":\"record\",\"keys\":{\"type\":\"union\",\"value\":[]},\"values\":" F(N) "}",
				   "v.record(v.union(), v.float64())");
}

/* Depth limit of validators */
static void
test_compile_depth(void)
{
	char	   *text = malloc(70 * 40 + 100);
	CvxCompileError cerr;
	CvxValidator *v;
	int			depth;

	for (depth = 63; depth <= 66; depth++)
	{
		size_t		len = 0;
		int			i;

		for (i = 1; i < depth; i++)
			len += (size_t) sprintf(text + len, "{\"type\":\"array\",\"value\":");
		len += (size_t) sprintf(text + len, S);
		for (i = 1; i < depth; i++)
			text[len++] = '}';
		text[len] = '\0';
		v = cvx_validator_compile_text(text, &cerr);
		CHECK((v != NULL) == (depth <= 64));
		if (v == NULL)
			CHECK_STR(cerr.message, "validator is nested more than 64 levels deep");
		cvx_validator_free(v);
	}
	free(text);
}

/* Accepting and refusing values, with Convex's messages */
static void
test_check_scalars(void)
{
	EXPECT_CHECK(S, "\"hello\"", "OK");
	EXPECT_CHECK(S, "\"\"", "OK");
	EXPECT_CHECK(S, "123",
				 "Value does not match validator.\n\nValue: 123.0\nValidator: v.string()");
	EXPECT_CHECK(S, "null",
				 "Value does not match validator.\n\nValue: null\nValidator: v.string()");
	EXPECT_CHECK(N, "1.5", "OK");
	EXPECT_CHECK(N, "-0", "OK");
	EXPECT_CHECK(N, "1e308", "OK");
	EXPECT_CHECK(N, "1e-400", "OK");
	EXPECT_CHECK(N, "1e400", "Value does not match validator.\n\nValue: inf\nValidator: v.float64()");
	EXPECT_CHECK(N, "{\"$float\":\"AAAAAAAA+H8=\"}", "OK");
	EXPECT_CHECK(N, "{\"$float\":\"AAAAAAAA8H8=\"}", "OK");
	EXPECT_CHECK(N, "{\"$float\":\"AAAAAAAAAIA=\"}", "OK");
	EXPECT_CHECK(N, "\"1\"",
				 "Value does not match validator.\n\nValue: \"1\"\nValidator: v.float64()");
	EXPECT_CHECK(N, "{\"$integer\":\"ewAAAAAAAAA=\"}",
				 "Value does not match validator.\n\nValue: 123\nValidator: v.float64()");
	/* a normal float must not use $float: not a Convex value at all */
	EXPECT_CHECK(N, "{\"$float\":\"AAAAAAAA8D8=\"}",
				 "Value does not match validator.\n\nValue: {$float: \"AAAAAAAA8D8=\"}\nValidator: v.float64()");
	EXPECT_CHECK("{\"type\":\"bigint\"}", "{\"$integer\":\"ewAAAAAAAAA=\"}", "OK");
	EXPECT_CHECK("{\"type\":\"bigint\"}", "{\"$integer\":\"//////////8=\"}", "OK");
	EXPECT_CHECK("{\"type\":\"bigint\"}", "123",
				 "Value does not match validator.\n\nValue: 123.0\nValidator: v.int64()");
	EXPECT_CHECK("{\"type\":\"bigint\"}", "{\"$integer\":\"ewAAAAAAAA==\"}",
				 "Value does not match validator.\n\nValue: {$integer: \"ewAAAAAAAA==\"}\nValidator: v.int64()");
	EXPECT_CHECK("{\"type\":\"bigint\"}", "{\"$integer\":123}",
				 "Value does not match validator.\n\nValue: {$integer: 123.0}\nValidator: v.int64()");
	EXPECT_CHECK("{\"type\":\"boolean\"}", "false", "OK");
	EXPECT_CHECK("{\"type\":\"boolean\"}", "0",
				 "Value does not match validator.\n\nValue: 0.0\nValidator: v.boolean()");
	EXPECT_CHECK("{\"type\":\"null\"}", "null", "OK");
	EXPECT_CHECK("{\"type\":\"null\"}", "false",
				 "Value does not match validator.\n\nValue: false\nValidator: v.null()");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "{\"$bytes\":\"AQID\"}", "OK");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "{\"$bytes\":\"\"}", "OK");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "{\"$bytes\":\"aGk\"}", "OK");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "\"AQID\"",
				 "Value does not match validator.\n\nValue: \"AQID\"\nValidator: v.bytes()");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "{\"$bytes\":\"A\"}",
				 "Value does not match validator.\n\nValue: {$bytes: \"A\"}\nValidator: v.bytes()");
	EXPECT_CHECK("{\"type\":\"bytes\"}", "{\"$bytes\":\"aGl=\"}",
				 "Value does not match validator.\n\nValue: {$bytes: \"aGl=\"}\nValidator: v.bytes()");
	EXPECT_CHECK("{\"type\":\"any\"}", "{\"anything\":[1,{\"$x\":2}]}", "OK");
	EXPECT_CHECK("{\"type\":\"any\"}", "null", "OK");
}

/* Objects: missing, extra, nested paths */
static void
test_check_objects(void)
{
	const char *ab = OBJ("\"a\":" F(S) ",\"b\":" OPT(N));
	const char *presence =
		OBJ("\"roomId\":" F(S) ",\"data\":" F(OBJ("\"cursor\":" OPT(OBJ("\"x\":" F(N) ",\"y\":" F(N))) ",\"status\":" OPT(S))));

	EXPECT_CHECK(ab, "{\"a\":\"x\"}", "OK");
	EXPECT_CHECK(ab, "{\"a\":\"x\",\"b\":2}", "OK");
	EXPECT_CHECK(ab, "{\"b\":1}",
				 "Object is missing the required field `a`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n"
				 "\n"
				 "Object: {b: 1.0}\n"
				 "Validator: v.object({a: v.string(), b: v.optional(v.float64())})");
	EXPECT_CHECK(ab, "{\"a\":\"x\",\"zeta\":1,\"extra\":true}",
				 "Object contains extra field `extra` that is not in the validator.\n"
				 "\n"
				 "Object: {a: \"x\", extra: true, zeta: 1.0}\n"
				 "Validator: v.object({a: v.string(), b: v.optional(v.float64())})");
	/* a wrong field comes before a missing one only in name order */
	EXPECT_CHECK(ab, "{\"b\":\"no\"}",
				 "Object is missing the required field `a`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n"
				 "\n"
				 "Object: {b: \"no\"}\n"
				 "Validator: v.object({a: v.string(), b: v.optional(v.float64())})");
	EXPECT_CHECK(ab, "{\"a\":1,\"c\":1}",
				 "Value does not match validator.\nPath: .a\nValue: 1.0\nValidator: v.string()");
	/* null is a value: an optional field set to null is checked */
	EXPECT_CHECK(ab, "{\"a\":\"x\",\"b\":null}",
				 "Value does not match validator.\nPath: .b\nValue: null\nValidator: v.float64()");
	EXPECT_CHECK(ab, "[]",
				 "Value does not match validator.\n\nValue: []\nValidator: v.object({a: v.string(), b: v.optional(v.float64())})");
	/* a "$" key makes an object no plain object */
	EXPECT_CHECK(ab, "{\"a\":\"x\",\"$b\":1}",
				 "Value does not match validator.\n\nValue: {$b: 1.0, a: \"x\"}\nValidator: v.object({a: v.string(), b: v.optional(v.float64())})");

	EXPECT_CHECK(OBJ("\"roomId\":" F(S)), "{\"roomId\":123}",
				 "Value does not match validator.\nPath: .roomId\nValue: 123.0\nValidator: v.string()");
	EXPECT_CHECK(presence, "{\"roomId\":\"r\",\"data\":{}}", "OK");
	EXPECT_CHECK(presence, "{\"roomId\":\"r\",\"data\":{\"cursor\":{\"x\":\"1\",\"y\":2}}}",
				 "Value does not match validator.\nPath: .data.cursor.x\nValue: \"1\"\nValidator: v.float64()");
	EXPECT_CHECK(presence, "{\"roomId\":\"r\",\"data\":{\"cursor\":{\"x\":1}}}",
				 "Object is missing the required field `y`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n"
				 "Path: .data.cursor\n"
				 "Object: {x: 1.0}\n"
				 "Validator: v.object({x: v.float64(), y: v.float64()})");
	EXPECT_CHECK(presence, "{\"roomId\":\"r\",\"data\":{\"cursor\":{\"x\":1,\"y\":2,\"z\":3}}}",
				 "Object contains extra field `z` that is not in the validator.\n"
				 "Path: .data.cursor\n"
				 "Object: {x: 1.0, y: 2.0, z: 3.0}\n"
				 "Validator: v.object({x: v.float64(), y: v.float64()})");
	/* "data" is checked before "roomId" (name order) */
	EXPECT_CHECK(presence, "{\"roomId\":5,\"data\":{\"status\":1}}",
				 "Value does not match validator.\nPath: .data.status\nValue: 1.0\nValidator: v.string()");
	/* extra fields: the smallest in byte order */
	EXPECT_CHECK(OBJ(""), "{\"b\":1,\"Z\":2,\"a\":3,\"_x\":4}",
				 "Object contains extra field `Z` that is not in the validator.\n\nObject: {Z: 2.0, _x: 4.0, a: 3.0, b: 1.0}\nValidator: v.object({})");
}

/* Arrays and records */
static void
test_check_arrays_records(void)
{
	char		users1[CVX_ID_MAX_LENGTH + 1];
	char		users2[CVX_ID_MAX_LENGTH + 1];
	char		val[512];
	char		want[1024];
	const char *rec =
		"{\"type\":\"record\",\"keys\":{\"type\":\"id\",\"tableName\":\"users\"},\"values\":" F(N) "}";

	EXPECT_CHECK("{\"type\":\"array\",\"value\":" S "}", "[]", "OK");
	EXPECT_CHECK("{\"type\":\"array\",\"value\":" S "}", "[\"a\",\"b\"]", "OK");
	EXPECT_CHECK("{\"type\":\"array\",\"value\":" S "}", "[\"a\",\"b\",3,4]",
				 "Value does not match validator.\nPath: [2]\nValue: 3.0\nValidator: v.string()");
	EXPECT_CHECK(OBJ("\"tags\":" F("{\"type\":\"array\",\"value\":" S "}")), "{\"tags\":[\"a\",\"b\",null]}",
				 "Value does not match validator.\nPath: .tags[2]\nValue: null\nValidator: v.string()");
	EXPECT_CHECK("{\"type\":\"array\",\"value\":{\"type\":\"array\",\"value\":" N "}}", "[[1],[2,\"x\"]]",
				 "Value does not match validator.\nPath: [1][1]\nValue: \"x\"\nValidator: v.float64()");
	EXPECT_CHECK("{\"type\":\"array\",\"value\":" S "}", "{\"0\":\"a\"}",
				 "Value does not match validator.\n\nValue: {0: \"a\"}\nValidator: v.array(v.string())");

	make_id(10001, false, users1);
	make_id(10001, true, users2);
	snprintf(val, sizeof(val), "{\"%s\":1,\"%s\":2}", users1, users2);
	EXPECT_CHECK(rec, val, "OK");
	EXPECT_CHECK(rec, "{}", "OK");
	EXPECT_CHECK(rec, "\"hello\"",
				 "Value does not match validator.\n\nValue: \"hello\"\nValidator: v.record(v.id(\"users\"), v.float64())");
	snprintf(val, sizeof(val), "{\"%s\":1,\"%s\":2,\"hello\":3}", users1, users2);
	EXPECT_CHECK(rec, val,
				 "Value does not match validator.\nPath: .keys()\nValue: \"hello\"\nValidator: v.id(\"users\")");
	snprintf(val, sizeof(val), "{\"%s\":true,\"%s\":0}", users1, users2);
	EXPECT_CHECK(rec, val,
				 "Value does not match validator.\nPath: .values()\nValue: true\nValidator: v.float64()");
	/* the smallest failing key wins, whatever the adapter's order */
	snprintf(val, sizeof(val), "{\"zz\":1,\"%s\":\"x\",\"%s\":\"y\"}", users2, users1);
	snprintf(want, sizeof(want),
			 "Value does not match validator.\nPath: .values()\nValue: \"%s\"\nValidator: v.float64()",
			 strcmp(users1, users2) < 0 ? "y" : "x");
	EXPECT_CHECK(rec, val, want);
	/* nested: record of arrays */
	EXPECT_CHECK("{\"type\":\"record\",\"keys\":" S ",\"values\":" F("{\"type\":\"array\",\"value\":" N "}") "}",
				 "{\"a\":[1,2],\"b\":[3,\"4\"]}",
				 "Value does not match validator.\nPath: .values()[1]\nValue: \"4\"\nValidator: v.float64()");
}

/* Ids: table mismatch, system table, undecodable */
static void
test_check_ids(void)
{
	char		files_id[CVX_ID_MAX_LENGTH + 1];
	char		msg_id[CVX_ID_MAX_LENGTH + 1];
	char		storage_id[CVX_ID_MAX_LENGTH + 1];
	char		unknown_id[CVX_ID_MAX_LENGTH + 1];
	char		val[256];
	char		want[1024];
	const char *vmsg = "{\"type\":\"id\",\"tableName\":\"messages\"}";

	make_id(10003, false, files_id);
	make_id(10002, false, msg_id);
	make_id(1, false, storage_id);
	make_id(777, false, unknown_id);

	snprintf(val, sizeof(val), "\"%s\"", msg_id);
	EXPECT_CHECK(vmsg, val, "OK");

	snprintf(val, sizeof(val), "\"%s\"", files_id);
	snprintf(want, sizeof(want),
			 "Found ID \"%s\" from table `files`, which does not match the table name in validator `v.id(\"messages\")`.",
			 files_id);
	EXPECT_CHECK(vmsg, val, want);

	snprintf(val, sizeof(val), "{\"messageId\":\"%s\"}", files_id);
	snprintf(want, sizeof(want),
			 "Found ID \"%s\" from table `files`, which does not match the table name in validator `v.id(\"messages\")`.Path: .messageId",
			 files_id);
	EXPECT_CHECK(OBJ("\"messageId\":" F("{\"type\":\"id\",\"tableName\":\"messages\"}")), val, want);

	snprintf(val, sizeof(val), "\"%s\"", storage_id);
	snprintf(want, sizeof(want),
			 "Found ID \"%s\" from a system table, which does not match the table name in validator `v.id(\"users\")`.",
			 storage_id);
	EXPECT_CHECK("{\"type\":\"id\",\"tableName\":\"users\"}", val, want);
	EXPECT_CHECK("{\"type\":\"id\",\"tableName\":\"_storage\"}", val, "OK");

	/* a user table's id where a system table's is wanted */
	snprintf(val, sizeof(val), "\"%s\"", msg_id);
	snprintf(want, sizeof(want),
			 "Found ID \"%s\" from table `messages`, which does not match the table name in validator `v.id(\"_storage\")`.",
			 msg_id);
	EXPECT_CHECK("{\"type\":\"id\",\"tableName\":\"_storage\"}", val, want);

	/* unknown table number, bad id, not a string */
	snprintf(val, sizeof(val), "\"%s\"", unknown_id);
	snprintf(want, sizeof(want),
			 "Value does not match validator.\n\nValue: \"%s\"\nValidator: v.id(\"messages\")", unknown_id);
	EXPECT_CHECK(vmsg, val, want);
	EXPECT_CHECK(vmsg, "\"not-an-id\"",
				 "Value does not match validator.\n\nValue: \"not-an-id\"\nValidator: v.id(\"messages\")");
	EXPECT_CHECK(vmsg, "12",
				 "Value does not match validator.\n\nValue: 12.0\nValidator: v.id(\"messages\")");

	/* without a lookup every id is unknown */
	{
		CvxCompileError cerr;
		CvxValidator *v = cvx_validator_compile_text(vmsg, &cerr);
		CvxCheckContext bare = {&cvx_json_c_ops, NULL, NULL};
		struct json_object *json = json_object_new_string(msg_id);
		CvxValue	value;
		CvxCheckError err;

		cvx_json_c_value(json, &value);
		CHECK(!cvx_check(v, &value, &bare, &err));
		CHECK(err.kind == CVX_CHECK_NO_MATCH);
		json_object_put(json);
		cvx_validator_free(v);
	}
}

/* Literals and unions */
static void
test_check_literals_unions(void)
{
#define STATUS "{\"type\":\"union\",\"value\":[{\"type\":\"literal\",\"value\":\"online\"},{\"type\":\"literal\",\"value\":\"away\"}]}"

	EXPECT_CHECK("{\"type\":\"literal\",\"value\":\"a\"}", "\"a\"", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":\"a\"}", "\"b\"",
				 "`\"b\"` does not match literal validator `v.literal(\"a\")`.");
	EXPECT_CHECK(OBJ("\"kind\":" F("{\"type\":\"literal\",\"value\":\"a\"}")), "{\"kind\":[1]}",
				 "`[1.0]` does not match literal validator `v.literal(\"a\")`.Path: .kind");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":1}", "1", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":1}", "1.0", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":1}", "2",
				 "`2.0` does not match literal validator `v.literal(1.0)`.");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":1}", "{\"$integer\":\"AQAAAAAAAAA=\"}",
				 "`1` does not match literal validator `v.literal(1.0)`.");
	/* Convex compares floats by total order: -0 is not 0 */
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":0}", "-0.0",
				 "`-0.0` does not match literal validator `v.literal(0.0)`.");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":{\"$integer\":\"ewAAAAAAAAA=\"}}",
				 "{\"$integer\":\"ewAAAAAAAAA=\"}", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":{\"$integer\":\"ewAAAAAAAAA=\"}}", "123",
				 "`123.0` does not match literal validator `v.literal(<bigint>)`.");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":{\"$float\":\"AAAAAAAA+H8=\"}}",
				 "{\"$float\":\"AAAAAAAA+H8=\"}", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":true}", "true", "OK");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":true}", "false",
				 "`false` does not match literal validator `v.literal(true)`.");
	EXPECT_CHECK("{\"type\":\"literal\",\"value\":\"\"}", "\"\"", "OK");

	EXPECT_CHECK(STATUS, "\"away\"", "OK");
	EXPECT_CHECK(STATUS, "\"busy\"",
				 "Value does not match validator.\n\nValue: \"busy\"\nValidator: v.union(v.literal(\"online\"), v.literal(\"away\"))");
	EXPECT_CHECK("{\"type\":\"union\",\"value\":[" S "," N "]}", "true",
				 "Value does not match validator.\n\nValue: true\nValidator: v.union(v.string(), v.float64())");
	EXPECT_CHECK("{\"type\":\"union\",\"value\":[]}", "1",
				 "Value does not match validator.\n\nValue: 1.0\nValidator: v.union()");
	/* a one-member union checks its member directly */
	EXPECT_CHECK("{\"type\":\"union\",\"value\":[" OBJ("\"a\":" F(S)) "]}", "{}",
				 "Object is missing the required field `a`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n"
				 "\nObject: {}\nValidator: v.object({a: v.string()})");
	/* the first matching member wins; failures of members leave no path */
	EXPECT_CHECK(OBJ("\"u\":" F("{\"type\":\"union\",\"value\":[" OBJ("\"kind\":" F("{\"type\":\"literal\",\"value\":\"a\"}") ",\"x\":" F(N))
								"," OBJ("\"kind\":" F("{\"type\":\"literal\",\"value\":\"b\"}") ",\"y\":" F(S)) "]}")),
				 "{\"u\":{\"kind\":\"b\",\"y\":\"s\"}}", "OK");
	EXPECT_CHECK(OBJ("\"u\":" F("{\"type\":\"union\",\"value\":[" OBJ("\"x\":" F(N)) "," OBJ("\"y\":" F(S)) "]}")),
				 "{\"u\":{\"y\":1}}",
				 "Value does not match validator.\nPath: .u\nValue: {y: 1.0}\nValidator: v.union(v.object({x: v.float64()}), v.object({y: v.string()}))");
	/* optional union */
	EXPECT_CHECK(OBJ("\"s\":" OPT(STATUS)), "{}", "OK");
}

/* Paths longer than the buffer end with "..." */
static void
test_check_long_path(void)
{
	char	   *vtext = malloc(40 * 200);
	char	   *val = malloc(40 * 100);
	const char *name = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij";	/* 62 */
	size_t		vl = 0;
	size_t		xl = 0;
	int			i;
	int			levels = 30;
	CvxCompileError cerr;
	CvxValidator *v;
	struct json_object *json;
	CvxValue	value;
	CvxCheckError err;
	char	   *msg;

	for (i = 0; i < levels; i++)
	{
		vl += (size_t) sprintf(vtext + vl, "{\"type\":\"object\",\"value\":{\"%s\":{\"fieldType\":", name);
		xl += (size_t) sprintf(val + xl, "{\"%s\":", name);
	}
	vl += (size_t) sprintf(vtext + vl, S);
	xl += (size_t) sprintf(val + xl, "1");
	for (i = 0; i < levels; i++)
	{
		vl += (size_t) sprintf(vtext + vl, ",\"optional\":false}}}");
		val[xl++] = '}';
	}
	val[xl] = '\0';
	v = cvx_validator_compile_text(vtext, &cerr);
	CHECK(v != NULL);
	json = unit_json(val);
	cvx_json_c_value(json, &value);
	CHECK(v != NULL && !cvx_check(v, &value, &test_context, &err));
	CHECK(strlen(err.path) == CVX_PATH_MAX - 1);
	CHECK(strcmp(err.path + CVX_PATH_MAX - 4, "...") == 0);
	CHECK(strncmp(err.path, ".abcdefghij", 11) == 0);
	msg = cvx_check_error_message(&err, &test_context);
	CHECK_CONTAINS(msg, "...\nValue: 1.0\nValidator: v.string()");
	free(msg);
	json_object_put(json);
	cvx_validator_free(v);
	free(vtext);
	free(val);
}

/* cvx_check's bookkeeping: OK clears, bad arguments fail safely */
static void
test_check_api(void)
{
	CvxCompileError cerr;
	CvxValidator *v = cvx_validator_compile_text(S, &cerr);
	struct json_object *json = json_object_new_string("x");
	CvxValue	value;
	CvxCheckError err;
	char	   *msg;

	cvx_json_c_value(json, &value);
	memset(&err, 0x55, sizeof(err));
	CHECK(cvx_check(v, &value, &test_context, &err));
	CHECK(err.kind == CVX_CHECK_OK && err.path[0] == '\0');
	msg = cvx_check_error_message(&err, &test_context);
	CHECK_STR(msg, "");
	free(msg);
	CHECK(!cvx_check(NULL, &value, &test_context, &err));
	CHECK(!cvx_check(v, NULL, &test_context, &err));
	CHECK(!cvx_check(v, &value, NULL, &err));
	CHECK(!cvx_check(v, &value, &test_context, NULL));
	msg = cvx_check_error_message(NULL, NULL);
	CHECK_STR(msg, "");
	free(msg);
	json_object_put(json);
	cvx_validator_free(v);
}

/* Well-formed Convex values (cvx_value_validate) */
static void
test_value_validate(void)
{
	static const struct
	{
		const char *json;
		const char *want;
	}			cases[] =
	{
		{"{\"a\":[1,\"x\",null,true,{\"b\":{}}]}", ""},
		{"{\"$integer\":\"ewAAAAAAAAA=\"}", ""},
		{"{\"$float\":\"AAAAAAAA+H8=\"}", ""},
		{"{\"$bytes\":\"AQID\"}", ""},
		{"{\"a b\":1,\"_x\":2,\"~\":3}", ""},
		{"{\"$foo\":1}", "Field name $foo starts with '$', which is reserved."},
		{"{\"a\":1,\"$b\":2}", "Field name $b starts with '$', which is reserved."},
		{"[{\"x\":{\"$set\":[]}}]", "Field name $set starts with '$', which is reserved."},
		{"{\"$integer\":\"ewAA\"}", "Int64 must be exactly eight bytes, in base64"},
		{"{\"$float\":\"AAAAAAAA8D8=\"}",
		"{\"$float\": …} must be eight bytes of base64 holding NaN, an infinity or -0; other float64 values are JSON numbers"},
		{"{\"$bytes\":\"!!\"}", "$bytes must be a base64 string"},
		{"{\"a\":[1e400]}", "Number is outside the float64 range (infinities are {\"$float\": …})"},
		{"{\"a\":-1e400}", "Number is outside the float64 range (infinities are {\"$float\": …})"},
		{"{\"$integer\":5}", "Field name $integer starts with '$', which is reserved."},
		{"{\"a\":{\"\":1}}", "Field name cannot be empty"},
		{"{\"a\\nb\":1}",
		"Field name a?b has invalid character '\\n': Field names can only contain non-control ASCII characters"},
		{"{\"caf\\u00e9\":1}",
		"Field name caf?? has invalid character '\\u{c3}': Field names can only contain non-control ASCII characters"},
	};
	size_t		i;
	char		msg[512];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		struct json_object *json = unit_json(cases[i].json);
		CvxValue	value;
		bool		ok;

		cvx_json_c_value(json, &value);
		ok = cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg));
		CHECK(ok == (cases[i].want[0] == '\0'));
		/* every case here is malformed, none too large */
		CHECK(cvx_value_fault(&value, &cvx_json_c_ops, false, NULL, 0) ==
			  (ok ? CVX_VALUE_OK : CVX_VALUE_MALFORMED));
		CHECK_STR(msg, cases[i].want);
		json_object_put(json);
	}

	/* limits: array length, field count, field name length, UTF-8 */
	{
		struct json_object *arr = json_object_new_array();
		struct json_object *obj = json_object_new_object();
		struct json_object *bad = json_object_new_string_len("a\xff", 2);
		char		key[1100];
		CvxValue	value;
		int			k;

		for (k = 0; k < CVX_MAX_ARRAY_LENGTH; k++)
			json_object_array_add(arr, NULL);
		cvx_json_c_value(arr, &value);
		CHECK(cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
		json_object_array_add(arr, NULL);
		CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
		CHECK_STR(msg, "Array length is too long (8193 > maximum length 8192)");
		CHECK(cvx_value_fault(&value, &cvx_json_c_ops, false, NULL, 0) == CVX_VALUE_TOO_LARGE);

		for (k = 0; k <= CVX_MAX_OBJECT_FIELDS; k++)
		{
			snprintf(key, sizeof(key), "f%d", k);
			json_object_object_add(obj, key, NULL);
		}
		cvx_json_c_value(obj, &value);
		CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
		CHECK_STR(msg, "Object has too many fields (1025 > maximum number 1024)");
		json_object_put(obj);

		obj = json_object_new_object();
		memset(key, 'k', 1025);
		key[1025] = '\0';
		json_object_object_add(obj, key, NULL);
		cvx_json_c_value(obj, &value);
		CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, NULL, 0));
		CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
		CHECK_STR(msg, "Field name is too long (1025 > maximum 1024)");
		CHECK(cvx_value_fault(&value, &cvx_json_c_ops, false, NULL, 0) == CVX_VALUE_TOO_LARGE);
		json_object_put(obj);

		cvx_json_c_value(bad, &value);
		CHECK(!cvx_value_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)));
		CHECK_STR(msg, "String is not valid UTF-8");
		json_object_put(bad);
		json_object_put(arr);
	}

	/* nesting: 64 levels for any value, 16 for a stored document */
	{
		static const struct
		{
			int			arrays;		/* arrays inside the top-level object */
			bool		document_ok;
			bool		value_ok;
			const char *want;
		}			nesting[] =
		{
			{15, true, true, ""},
			{16, false, true, "Document is too nested (nested 17 levels deep > maximum nesting 16)"},
			{63, false, true, "Document is too nested (nested 17 levels deep > maximum nesting 16)"},
			{64, false, false, "Value is too nested (nested 65 levels deep > maximum nesting 64)"},
		};
		char		json[200];
		char		vmsg[200];

		for (i = 0; i < sizeof(nesting) / sizeof(nesting[0]); i++)
		{
			struct json_object *nested;
			CvxValue	value;
			int			n = nesting[i].arrays;
			int			k;
			size_t		len = 0;

			memcpy(json, "{\"a\":", 5);
			len = 5;
			for (k = 0; k < n; k++)
				json[len++] = '[';
			for (k = 0; k < n; k++)
				json[len++] = ']';
			json[len++] = '}';
			json[len] = '\0';
			nested = unit_json(json);
			cvx_json_c_value(nested, &value);
			CHECK(cvx_document_validate(&value, &cvx_json_c_ops, msg, sizeof(msg)) ==
				  nesting[i].document_ok);
			CHECK(cvx_value_validate(&value, &cvx_json_c_ops, vmsg, sizeof(vmsg)) ==
				  nesting[i].value_ok);
			CHECK_STR(nesting[i].value_ok ? msg : vmsg, nesting[i].want);
			/* nesting is a size limit, not a malformed value */
			CHECK(cvx_value_fault(&value, &cvx_json_c_ops, true, NULL, 0) ==
				  (nesting[i].document_ok ? CVX_VALUE_OK : CVX_VALUE_TOO_LARGE));
			json_object_put(nested);
		}
	}
}

/* cvx_value_float64: JSON numbers and the {"$float"} forms, nothing else */
static void
test_value_float64(void)
{
	static const struct
	{
		const char *json;
		bool		ok;
		int			kind;		/* 0 finite, 1 NaN, 2 +inf, 3 -inf, 4 -0 */
		double		expect;
	}			cases[] = {
		{"1.5", true, 0, 1.5},
		{"-7", true, 0, -7},
		{"{\"$float\": \"AAAAAAAA+H8=\"}", true, 1, 0},
		{"{\"$float\": \"AAAAAAAA8H8=\"}", true, 2, 0},
		{"{\"$float\": \"AAAAAAAA8P8=\"}", true, 3, 0},
		{"{\"$float\": \"AAAAAAAAAIA=\"}", true, 4, 0},
		{"{\"$float\": \"AAAAAAAA8D8=\"}", false, 0, 0},	/* 1.0 must be a number */
		{"{\"$float\": \"nope\"}", false, 0, 0},
		{"{\"x\": 1}", false, 0, 0},
		{"\"1\"", false, 0, 0},
		{"null", false, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		json_object *json = json_tokener_parse(cases[i].json);
		CvxValue	value;
		double		f = 0;
		bool		ok;

		cvx_json_c_value(json, &value);
		ok = cvx_value_float64(&value, &cvx_json_c_ops, &f);
		CHECK(ok == cases[i].ok);
		if (ok && cases[i].kind == 0)
			CHECK(f == cases[i].expect);
		if (ok && cases[i].kind == 1)
			CHECK(isnan(f));
		if (ok && cases[i].kind == 2)
			CHECK(isinf(f) && f > 0);
		if (ok && cases[i].kind == 3)
			CHECK(isinf(f) && f < 0);
		if (ok && cases[i].kind == 4)
			CHECK(f == 0 && signbit(f));
		json_object_put(json);
	}
}

/* cvx_value_int64 and cvx_value_bytes: only their $-encodings */
static void
test_value_int64_bytes(void)
{
	json_object *json;
	CvxValue	value;
	int64_t		i = 0;
	const char *b64 = NULL;
	size_t		b64_len = 0;
	uint8_t		raw[8];
	size_t		raw_len = 0;

	json = json_tokener_parse("{\"$integer\": \"AQAAAAAAAAA=\"}");
	cvx_json_c_value(json, &value);
	CHECK(cvx_value_int64(&value, &cvx_json_c_ops, &i) && i == 1);
	CHECK(!cvx_value_bytes(&value, &cvx_json_c_ops, &b64, &b64_len));
	json_object_put(json);

	json = json_tokener_parse("{\"$integer\": \"//////////8=\"}");
	cvx_json_c_value(json, &value);
	CHECK(cvx_value_int64(&value, &cvx_json_c_ops, &i) && i == -1);
	json_object_put(json);

	json = json_tokener_parse("{\"$bytes\": \"aGk=\"}");
	cvx_json_c_value(json, &value);
	CHECK(cvx_value_bytes(&value, &cvx_json_c_ops, &b64, &b64_len));
	CHECK(b64_len == 4 && memcmp(b64, "aGk=", 4) == 0);
	CHECK(cvx_base64_decode(b64, b64_len, raw, sizeof(raw), &raw_len) &&
		  raw_len == 2 && raw[0] == 'h' && raw[1] == 'i');
	CHECK(!cvx_value_int64(&value, &cvx_json_c_ops, &i));
	json_object_put(json);

	json = json_tokener_parse("7");
	cvx_json_c_value(json, &value);
	CHECK(!cvx_value_int64(&value, &cvx_json_c_ops, &i));
	CHECK(!cvx_value_bytes(&value, &cvx_json_c_ops, &b64, &b64_len));
	json_object_put(json);
}

/* The compile group */
void
test_validator_compile(void)
{
	test_compile_kinds();
	test_compile_accessors();
	test_compile_errors();
	test_compile_depth();
}

/* The check group */
void
test_validator_check(void)
{
	test_check_scalars();
	test_check_objects();
	test_check_arrays_records();
	test_check_ids();
	test_check_literals_unions();
	test_check_long_path();
	test_check_api();
	test_value_validate();
	test_value_float64();
	test_value_int64_bytes();
}
