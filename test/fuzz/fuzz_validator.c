/*-------------------------------------------------------------------------
 *
 * fuzz_validator.c
 *	  libFuzzer harness for the validator engine (src/core/cvx_validator.c,
 *	  cvx_format.c, cvx_json_c.c).
 *
 * The input is "<validator JSON>\0<value JSON>"; without a NUL byte the
 * same text is both.  For each input the harness
 *	  - compiles the validator text with cvx_validator_compile_text and the
 *		same text parsed here with cvx_validator_compile: both agree (same
 *		success, same display or error message);
 *	  - also compiles it as a field map (cvx_validator_compile_fields);
 *	  - checks the accessors: an id validator has a table, an object's
 *		fields are strictly sorted and each is found by cvx_validator_field;
 *	  - checks the value: the answer is the same twice, a failure has a
 *		kind, a NUL-terminated path and a message that quotes the path;
 *	  - checks the same value through wrappers, which must give the same
 *		answer: v.array(V) against [x] (path "[0]" + path), v.object({f: V})
 *		against {"f": x} (path ".f" + path), v.union(V) (the same error),
 *		v.union(V, V) (NO_MATCH at the top), v.optional(V) against {} (ok),
 *		v.any() (always ok);
 *	  - validates the value as a value and as a document (a valid document
 *		is a valid value; the fault kind agrees with the boolean answer);
 *	  - displays the value cut at several lengths: never more than the limit
 *		plus "...", and always a prefix of the uncut display.
 * Everything is freed (LeakSanitizer is on).
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_id.h"
#include "cvx_validator.h"
#include "cvx_validator_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

/* Deep enough to reach the value nesting limit (64) and go past it */
#define VALUE_PARSE_DEPTH 100
/* What cvx_validator_compile_text allows */
#define VALIDATOR_PARSE_DEPTH (4 * CVX_VALIDATOR_MAX_DEPTH)

/* Abort unless cond holds (a property violation is a finding) */
static void
require(int cond)
{
	if (!cond)
		abort();
}

/* Length of a string in a fixed buffer; size when it has no NUL (C11 has no strnlen) */
static size_t
bounded_len(const char *s, size_t size)
{
	const char *end = memchr(s, '\0', size);

	return end != NULL ? (size_t) (end - s) : size;
}

/* The tables the harness knows, as the unit tests name them */
static const char *
table_name(void *arg, uint32_t table_number)
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

static const CvxCheckContext context = {&cvx_json_c_ops, table_name, NULL};

/*
 * Parse len bytes strictly with json-c as cvx_validator_compile_text does
 * (text must have a NUL at text[len]); false when it is not one JSON text.
 */
static bool
parse_json(const char *text, size_t len, int depth, struct json_object **out)
{
	struct json_tokener *tok = json_tokener_new_ex(depth);
	struct json_object *json;
	size_t		end;

	*out = NULL;
	require(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json = json_tokener_parse_ex(tok, text, (int) len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(json);
		json_tokener_free(tok);
		return false;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", text[end]) != NULL)
		end++;
	if (end < len)
	{
		json_object_put(json);
		return false;
	}
	*out = json;
	return true;
}

/* A compiled validator's display: non-empty, freed here */
static void
check_display(const CvxValidator *v)
{
	char	   *shown = cvx_validator_display(v);

	require(shown != NULL && shown[0] != '\0');
	free(shown);
}

/* Accessors agree with the kind; object fields are sorted and findable */
static void
check_accessors(const CvxValidator *v)
{
	CvxValidatorKind kind = cvx_validator_kind(v);
	const CvxFieldValidator *fields;
	size_t		count = 0;
	size_t		i;

	require(kind >= CVX_V_ANY && kind <= CVX_V_RECORD);
	require((cvx_validator_table(v) != NULL) == (kind == CVX_V_ID));
	fields = cvx_validator_fields(v, &count);
	if (kind != CVX_V_OBJECT)
	{
		require(fields == NULL && count == 0);
		return;
	}
	require(count == 0 || fields != NULL);
	for (i = 0; i < count; i++)
	{
		require(fields[i].validator != NULL);
		require(strlen(fields[i].name) == fields[i].name_len);
		require(cvx_validator_field(v, fields[i].name, fields[i].name_len) == &fields[i]);
		if (i > 0)
			require(cvx_key_compare(fields[i - 1].name, fields[i - 1].name_len,
									fields[i].name, fields[i].name_len) < 0);
	}
}

/* Check value against v; the answer is repeatable and its error explained */
static bool
check_value(const CvxValidator *v, struct json_object *value_json, CvxCheckError *err)
{
	CvxValue	value;
	CvxCheckError again;
	bool		ok;
	char	   *msg;
	size_t		path_len;

	cvx_json_c_value(value_json, &value);
	ok = cvx_check(v, &value, &context, err);
	require(cvx_check(v, &value, &context, &again) == ok);
	require(again.kind == err->kind);
	require(strcmp(again.path, err->path) == 0);

	path_len = bounded_len(err->path, CVX_PATH_MAX);
	require(path_len < CVX_PATH_MAX);
	require(bounded_len(err->field, CVX_NAME_MAX) < CVX_NAME_MAX);
	require(bounded_len(err->found_table, CVX_NAME_MAX) < CVX_NAME_MAX);
	if (ok)
	{
		require(err->kind == CVX_CHECK_OK && path_len == 0);
		return true;
	}
	require(err->kind != CVX_CHECK_OK && err->validator != NULL);
	msg = cvx_check_error_message(err, &context);
	require(msg != NULL && msg[0] != '\0');
	if (path_len > 0)
		require(strstr(msg, err->path) != NULL);
	free(msg);
	return false;
}

/* {"type": type, "value": inner} (inner's reference is shared) */
static struct json_object *
wrap_type(const char *type, struct json_object *inner)
{
	struct json_object *obj = json_object_new_object();

	require(obj != NULL);
	json_object_object_add(obj, "type", json_object_new_string(type));
	if (inner != NULL)
		json_object_object_add(obj, "value", inner);
	return obj;
}

/* v.object({f: V}) or v.object({f: v.optional(V)}) */
static struct json_object *
wrap_object(struct json_object *inner, bool optional)
{
	struct json_object *spec = json_object_new_object();
	struct json_object *fields = json_object_new_object();

	require(spec != NULL && fields != NULL);
	json_object_object_add(spec, "fieldType", json_object_get(inner));
	json_object_object_add(spec, "optional", json_object_new_boolean(optional));
	json_object_object_add(fields, "f", spec);
	return wrap_type("object", fields);
}

/* The same check through v.array, v.object, v.optional, v.union, v.any */
static void
check_wrappers(struct json_object *vjson, struct json_object *value_json,
			   bool ok, const CvxCheckError *err)
{
	CvxCompileError cerr;
	CvxCheckError werr;
	struct json_object *w;
	struct json_object *members;
	struct json_object *wrapped_value;
	CvxValidator *wv;
	size_t		path_len = strlen(err->path);
	bool		comparable_path = path_len + 8 < CVX_PATH_MAX - 4;

	/* v.any() takes anything */
	w = wrap_type("any", NULL);
	wv = cvx_validator_compile(w, &cerr);
	require(wv != NULL);
	require(check_value(wv, value_json, &werr));
	cvx_validator_free(wv);
	json_object_put(w);

	/* v.array(V) against [x] */
	w = wrap_type("array", json_object_get(vjson));
	wv = cvx_validator_compile(w, &cerr);
	if (wv != NULL)
	{
		wrapped_value = json_object_new_array();
		require(wrapped_value != NULL);
		json_object_array_add(wrapped_value, json_object_get(value_json));
		require(check_value(wv, wrapped_value, &werr) == ok);
		if (!ok)
		{
			require(werr.kind == err->kind);
			require(strcmp(werr.field, err->field) == 0);
			require(strcmp(werr.found_table, err->found_table) == 0);
			if (comparable_path)
				require(strncmp(werr.path, "[0]", 3) == 0 &&
						strcmp(werr.path + 3, err->path) == 0);
		}
		json_object_put(wrapped_value);
		cvx_validator_free(wv);
	}
	json_object_put(w);

	/* v.object({f: V}) against {"f": x}; v.object({f: v.optional(V)}) */
	w = wrap_object(vjson, false);
	wv = cvx_validator_compile(w, &cerr);
	if (wv != NULL)
	{
		wrapped_value = json_object_new_object();
		require(wrapped_value != NULL);
		json_object_object_add(wrapped_value, "f", json_object_get(value_json));
		require(check_value(wv, wrapped_value, &werr) == ok);
		if (!ok)
		{
			require(werr.kind == err->kind);
			require(strcmp(werr.field, err->field) == 0);
			if (comparable_path)
				require(strncmp(werr.path, ".f", 2) == 0 &&
						strcmp(werr.path + 2, err->path) == 0);
		}
		json_object_put(wrapped_value);
		cvx_validator_free(wv);
	}
	json_object_put(w);

	w = wrap_object(vjson, true);
	wv = cvx_validator_compile(w, &cerr);
	if (wv != NULL)
	{
		wrapped_value = json_object_new_object();
		require(wrapped_value != NULL);
		require(check_value(wv, wrapped_value, &werr));
		json_object_object_add(wrapped_value, "f", json_object_get(value_json));
		require(check_value(wv, wrapped_value, &werr) == ok);
		json_object_put(wrapped_value);
		cvx_validator_free(wv);
	}
	json_object_put(w);

	/* v.union(V): the same answer and the same error */
	members = json_object_new_array();
	require(members != NULL);
	json_object_array_add(members, json_object_get(vjson));
	w = wrap_type("union", members);
	wv = cvx_validator_compile(w, &cerr);
	if (wv != NULL)
	{
		require(check_value(wv, value_json, &werr) == ok);
		if (!ok)
			require(werr.kind == err->kind && strcmp(werr.path, err->path) == 0);
		cvx_validator_free(wv);
	}

	/* v.union(V, V): the same answer; a failure is the union's, at the top */
	json_object_array_add(members, json_object_get(vjson));
	wv = cvx_validator_compile(w, &cerr);
	if (wv != NULL)
	{
		require(check_value(wv, value_json, &werr) == ok);
		if (!ok)
			require(werr.kind == CVX_CHECK_NO_MATCH && werr.path[0] == '\0' &&
					cvx_validator_kind(werr.validator) == CVX_V_UNION);
		cvx_validator_free(wv);
	}
	json_object_put(w);
}

/* Value rules: a valid document is a valid value; faults match answers */
static void
check_value_rules(struct json_object *value_json)
{
	CvxValue	value;
	char		message[256];
	char		tiny[4];
	bool		value_ok;
	bool		document_ok;
	CvxValueFault fault;

	cvx_json_c_value(value_json, &value);
	message[0] = 'X';
	value_ok = cvx_value_validate(&value, &cvx_json_c_ops, message, sizeof(message));
	require(bounded_len(message, sizeof(message)) < sizeof(message));
	require(value_ok == (message[0] == '\0'));
	document_ok = cvx_document_validate(&value, &cvx_json_c_ops, message, sizeof(message));
	require(bounded_len(message, sizeof(message)) < sizeof(message));
	require(document_ok == (message[0] == '\0'));
	require(!document_ok || value_ok);

	fault = cvx_value_fault(&value, &cvx_json_c_ops, false, tiny, sizeof(tiny));
	require((fault == CVX_VALUE_OK) == value_ok);
	require(bounded_len(tiny, sizeof(tiny)) < sizeof(tiny));
	fault = cvx_value_fault(&value, &cvx_json_c_ops, true, NULL, 0);
	require((fault == CVX_VALUE_OK) == document_ok);
}

/* Cut displays stay within the limit and are prefixes of the whole one */
static void
check_value_display(struct json_object *value_json)
{
	static const size_t limits[] = {1, 2, 3, 5, 16, 100, CVX_ERROR_VALUE_MAX_LENGTH};
	CvxValue	value;
	char	   *full;
	size_t		full_len;
	size_t		i;

	cvx_json_c_value(value_json, &value);
	full = cvx_value_display(&value, &cvx_json_c_ops, CVX_DISPLAY_UNLIMITED);
	require(full != NULL);
	full_len = strlen(full);
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
	{
		char	   *cut = cvx_value_display(&value, &cvx_json_c_ops, limits[i]);
		size_t		cut_len;

		require(cut != NULL);
		cut_len = strlen(cut);
		if (strcmp(cut, full) != 0)
		{
			require(cut_len <= limits[i] + 3 && cut_len >= 3);
			require(memcmp(cut + cut_len - 3, "...", 3) == 0);
			require(cut_len - 3 <= full_len &&
					memcmp(cut, full, cut_len - 3) == 0);
		}
		else
			require(full_len <= limits[i] || memcmp(full + full_len - 3, "...", 3) == 0);
		free(cut);
	}
	free(full);
}

/* libFuzzer entry point: "<validator JSON>\0<value JSON>" */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t		vlen = nul != NULL ? (size_t) (nul - data) : size;
	const uint8_t *value_text = nul != NULL ? nul + 1 : data;
	size_t		value_len = nul != NULL ? size - vlen - 1 : size;
	char	   *vtext;
	char	   *valtext;
	struct json_object *vjson = NULL;
	struct json_object *value_json = NULL;
	CvxCompileError cerr_text;
	CvxCompileError cerr_tree;
	CvxValidator *v_text;
	CvxValidator *v_tree = NULL;
	CvxValidator *v_fields = NULL;
	bool		parsed;
	bool		value_parsed;

	if (size > 64 * 1024)
		return 0;

	/* NUL-terminated copies of exactly the two parts */
	vtext = malloc(vlen + 1);
	valtext = malloc(value_len + 1);
	require(vtext != NULL && valtext != NULL);
	memcpy(vtext, data, vlen);
	vtext[vlen] = '\0';
	if (value_len > 0)
		memcpy(valtext, value_text, value_len);
	valtext[value_len] = '\0';

	/* compile from text and from a tree: the same answer */
	v_text = cvx_validator_compile_text(vtext, &cerr_text);
	require(bounded_len(cerr_text.message, sizeof(cerr_text.message)) < sizeof(cerr_text.message));
	require(v_text != NULL || cerr_text.message[0] != '\0');
	parsed = parse_json(vtext, vlen, VALIDATOR_PARSE_DEPTH, &vjson);
	if (parsed)
	{
		v_tree = cvx_validator_compile(vjson, &cerr_tree);
		require((v_tree != NULL) == (v_text != NULL));
		if (v_tree == NULL)
			require(strcmp(cerr_tree.message, cerr_text.message) == 0);
		else
		{
			char	   *a = cvx_validator_display(v_text);
			char	   *b = cvx_validator_display(v_tree);

			require(a != NULL && b != NULL && strcmp(a, b) == 0);
			free(a);
			free(b);
		}

		v_fields = cvx_validator_compile_fields(vjson, &cerr_tree);
		if (v_fields != NULL)
		{
			require(cvx_validator_kind(v_fields) == CVX_V_OBJECT);
			check_display(v_fields);
			check_accessors(v_fields);
		}
	}
	else
		require(v_text == NULL);

	value_parsed = parse_json(valtext, value_len, VALUE_PARSE_DEPTH, &value_json);
	if (value_parsed)
	{
		check_value_rules(value_json);
		check_value_display(value_json);
	}

	if (v_tree != NULL)
	{
		check_display(v_tree);
		check_accessors(v_tree);
		if (value_parsed)
		{
			CvxCheckError err;
			bool		ok = check_value(v_tree, value_json, &err);

			check_wrappers(vjson, value_json, ok, &err);
		}
	}
	if (v_fields != NULL && value_parsed)
	{
		CvxCheckError ferr;

		(void) check_value(v_fields, value_json, &ferr);
	}

	cvx_validator_free(v_fields);
	cvx_validator_free(v_tree);
	cvx_validator_free(v_text);
	json_object_put(vjson);
	json_object_put(value_json);
	free(vtext);
	free(valtext);
	return 0;
}
