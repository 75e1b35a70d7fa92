/*-------------------------------------------------------------------------
 *
 * cvx_validator.c
 *	  Convex validators: compile ValidatorJSON, check values, accessors.
 *
 * Behaviour follows get-convex/convex-backend:
 * crates/common/src/schemas/json.rs (ValidatorJson → Validator),
 * crates/common/src/schemas/validator.rs (check_value_internal),
 * crates/value/src/json/mod.rs ($integer, $float, $bytes) and
 * crates/sync_types identifier rules.  Display lives in cvx_format.c.
 *
 * Checking allocates nothing.  Recursion follows the validator, whose
 * depth compile caps at CVX_VALIDATOR_MAX_DEPTH; v.any() never looks
 * inside a value, so deep values cannot exhaust the stack here.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_validator_int.h"
#include "cvx_id.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#if defined(__GNUC__)
#define CVX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CVX_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------
 * Shared helpers
 * ------------------------------------------------------------------------
 */

/* Byte-wise ordering of keys, as Rust orders String */
int
cvx_key_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		n = alen < blen ? alen : blen;
	int			c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* Value of a standard base64 character, or -1 */
static int
cvx_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode standard base64 (padding optional, unused bits zero).  With
 * out == NULL only validates; *out_len gets the decoded length.
 */
bool
cvx_base64_decode(const char *s, size_t len, uint8_t *out, size_t out_size,
				  size_t *out_len)
{
	size_t		n = len;
	size_t		pad = 0;
	size_t		total;
	size_t		i;
	size_t		o = 0;
	uint32_t	acc = 0;
	unsigned	bits = 0;

	while (n > 0 && s[n - 1] == '=' && pad < 2)
	{
		n--;
		pad++;
	}
	if (n % 4 == 1)
		return false;
	if (pad > 0 && (len % 4 != 0 || (4 - n % 4) % 4 != pad))
		return false;
	total = n / 4 * 3 + (n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0);
	if (out != NULL && total > out_size)
		return false;
	for (i = 0; i < n; i++)
	{
		int			v = cvx_base64_value((unsigned char) s[i]);

		if (v < 0)
			return false;
		acc = ((acc << 6) | (uint32_t) v) & 0xffffu;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (out != NULL)
				out[o] = (uint8_t) ((acc >> bits) & 0xff);
			o++;
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return false;
	if (out_len != NULL)
		*out_len = total;
	return true;
}

/* Read an 8-byte little-endian base64 payload */
static bool
cvx_decode_le64(const char *s, size_t len, uint64_t *bits)
{
	uint8_t		b[8];
	size_t		n;
	int			k;

	if (!cvx_base64_decode(s, len, b, sizeof(b), &n) || n != 8)
		return false;
	*bits = 0;
	for (k = 7; k >= 0; k--)
		*bits = (*bits << 8) | b[k];
	return true;
}

typedef struct CvxDollarScan
{
	bool		found;
	const char *key;
	size_t		key_len;
	CvxValue	value;
} CvxDollarScan;

/* Visitor: stop at the first key starting with '$' */
static bool
cvx_scan_dollar(void *arg, const char *key, size_t key_len, const CvxValue *value)
{
	CvxDollarScan *scan = arg;

	if (key_len > 0 && key[0] == '$')
	{
		scan->found = true;
		scan->key = key;
		scan->key_len = key_len;
		scan->value = *value;
		return false;
	}
	return true;
}

/* Does key (with length) equal the C string name? */
static bool
cvx_key_is(const char *key, size_t key_len, const char *name)
{
	size_t		n = strlen(name);

	return key_len == n && memcmp(key, name, n) == 0;
}

/* Classify a value as Convex sees it, decoding $integer, $float, $bytes */
void
cvx_classify(const CvxValue *value, const CvxValueOps *ops, CvxClassified *out)
{
	CvxDollarScan scan;
	uint64_t	bits;

	memset(out, 0, sizeof(*out));
	switch (value->type)
	{
		case CVX_T_NULL:
			out->cls = CVX_C_NULL;
			return;
		case CVX_T_BOOLEAN:
			out->cls = CVX_C_BOOLEAN;
			return;
		case CVX_T_NUMBER:
			/* a JSON number past float64's range is no Convex value */
			out->f = ops->number(value);
			out->cls = isfinite(out->f) ? CVX_C_FLOAT64 : CVX_C_INVALID;
			return;
		case CVX_T_STRING:
			out->cls = CVX_C_STRING;
			return;
		case CVX_T_ARRAY:
			out->cls = CVX_C_ARRAY;
			return;
		case CVX_T_OBJECT:
			break;
		default:
			out->cls = CVX_C_INVALID;
			return;
	}

	memset(&scan, 0, sizeof(scan));
	ops->object_foreach(value, cvx_scan_dollar, &scan);
	if (!scan.found)
	{
		out->cls = CVX_C_OBJECT;
		return;
	}
	out->cls = CVX_C_INVALID;
	if (ops->size(value) != 1 || scan.value.type != CVX_T_STRING)
		return;
	out->payload = scan.value.str;
	out->payload_len = scan.value.len;
	if (cvx_key_is(scan.key, scan.key_len, "$integer"))
	{
		if (cvx_decode_le64(scan.value.str, scan.value.len, &bits))
		{
			memcpy(&out->i, &bits, sizeof(bits));
			out->cls = CVX_C_INT64;
		}
	}
	else if (cvx_key_is(scan.key, scan.key_len, "$float"))
	{
		if (cvx_decode_le64(scan.value.str, scan.value.len, &bits))
		{
			unsigned	exponent = (unsigned) ((bits >> 52) & 0x7ff);
			uint64_t	mantissa = bits & ((UINT64_C(1) << 52) - 1);

			/* Normal and subnormal numbers must be plain JSON numbers */
			if (exponent == 0x7ff || (exponent == 0 && mantissa == 0))
			{
				memcpy(&out->f, &bits, sizeof(bits));
				out->cls = CVX_C_FLOAT64;
			}
		}
	}
	else if (cvx_key_is(scan.key, scan.key_len, "$bytes"))
	{
		if (cvx_base64_decode(scan.value.str, scan.value.len, NULL, 0, NULL))
			out->cls = CVX_C_BYTES;
	}
}

/* The float64 of a JSON number or a {"$float": …} value */
bool
cvx_value_float64(const CvxValue *value, const CvxValueOps *ops, double *out)
{
	CvxClassified c;

	cvx_classify(value, ops, &c);
	if (c.cls != CVX_C_FLOAT64)
		return false;
	*out = c.f;
	return true;
}

/* The int64 of a {"$integer": …} value */
bool
cvx_value_int64(const CvxValue *value, const CvxValueOps *ops, int64_t *out)
{
	CvxClassified c;

	cvx_classify(value, ops, &c);
	if (c.cls != CVX_C_INT64)
		return false;
	*out = c.i;
	return true;
}

/* The base64 text of a {"$bytes": …} value */
bool
cvx_value_bytes(const CvxValue *value, const CvxValueOps *ops,
				const char **base64, size_t *base64_len)
{
	CvxClassified c;

	cvx_classify(value, ops, &c);
	if (c.cls != CVX_C_BYTES)
		return false;
	*base64 = c.payload;
	*base64_len = c.payload_len;
	return true;
}

/* Copy up to 64 bytes of s for a message, replacing unsafe bytes by '?' */
static void
cvx_snippet(const char *s, size_t len, char *out, size_t out_size)
{
	size_t		i;
	size_t		o = 0;

	if (out_size == 0)
		return;
	for (i = 0; i < len && i < 64 && o + 1 < out_size; i++)
	{
		unsigned char c = (unsigned char) s[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
	}
	if (len > 64 && o + 4 < out_size)
	{
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* A byte as Rust's {c:?} shows an ASCII character: 'a', '\n', '\u{1}' */
static void
cvx_char_debug(unsigned char c, char *out, size_t out_size)
{
	switch (c)
	{
		case '\0':
			snprintf(out, out_size, "'\\0'");
			return;
		case '\t':
			snprintf(out, out_size, "'\\t'");
			return;
		case '\n':
			snprintf(out, out_size, "'\\n'");
			return;
		case '\r':
			snprintf(out, out_size, "'\\r'");
			return;
		case '\'':
			snprintf(out, out_size, "'\\''");
			return;
		case '\\':
			snprintf(out, out_size, "'\\\\'");
			return;
	}
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, out_size, "'%c'", c);
	else
		snprintf(out, out_size, "'\\u{%x}'", c);
}

/*
 * Convex's identifier rule (sync_types identifier.rs): ASCII letter or '_'
 * first, then ASCII letters, digits or '_', at most 64 bytes, not only
 * underscores.  On failure writes Convex's reason into why.
 */
bool
cvx_identifier_check(const char *s, size_t len, char *why, size_t why_size)
{
	char		snip[80];
	char		ch[16];
	size_t		i;
	bool		only_underscores = true;

	if (why_size > 0)
		why[0] = '\0';
	if (len == 0)
	{
		snprintf(why, why_size, "Identifier cannot be empty");
		return false;
	}
	cvx_snippet(s, len, snip, sizeof(snip));
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		bool		letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool		digit = c >= '0' && c <= '9';

		if (letter || digit || c == '_')
		{
			if (c != '_')
				only_underscores = false;
			if (!(i == 0 && digit))
				continue;
		}
		cvx_char_debug(c, ch, sizeof(ch));
		if (i == 0)
			snprintf(why, why_size,
					 "Invalid first character %s in %s: Identifiers must start with an alphabetic character or underscore",
					 ch, snip);
		else
			snprintf(why, why_size,
					 "Identifier %s has invalid character %s: Identifiers can only contain alphanumeric characters or underscores",
					 snip, ch);
		return false;
	}
	if (len > CVX_IDENTIFIER_MAX_LENGTH)
	{
		snprintf(why, why_size, "Identifier is too long (%zu > maximum %d)",
				 len, CVX_IDENTIFIER_MAX_LENGTH);
		return false;
	}
	if (only_underscores)
	{
		snprintf(why, why_size, "Identifier %s cannot have exclusively underscores", snip);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Compiling ValidatorJSON
 * ------------------------------------------------------------------------
 */

static CvxValidator *cvx_compile_node(struct json_object *json, int depth,
									  CvxCompileError *error);
static CvxValidator *cvx_compile_object(struct json_object *fields, int depth,
										CvxCompileError *error);

/* Fill *error; always returns NULL */
static CvxValidator *CVX_PRINTF(2, 3)
cvx_compile_fail(CvxCompileError *error, const char *fmt,...)
{
	va_list		ap;

	if (error != NULL)
	{
		va_start(ap, fmt);
		vsnprintf(error->message, sizeof(error->message), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

/* Prefix an existing compile error message: <prefix>`<name>`: <message> */
static void
cvx_compile_wrap(CvxCompileError *error, const char *prefix, const char *name)
{
	char		inner[sizeof(error->message)];
	size_t		size = sizeof(error->message);
	size_t		len = 0;
	const char *parts[5];
	int			i;

	if (error == NULL)
		return;
	memcpy(inner, error->message, sizeof(inner));
	inner[sizeof(inner) - 1] = '\0';
	parts[0] = prefix;
	parts[1] = "`";
	parts[2] = name;
	parts[3] = "`: ";
	parts[4] = inner;
	for (i = 0; i < 5; i++)
	{
		size_t		n = strlen(parts[i]);

		if (n > size - 1 - len)
			n = size - 1 - len;
		memcpy(error->message + len, parts[i], n);
		len += n;
	}
	error->message[len] = '\0';
}

/* Does the json-c string equal name? */
static bool
cvx_json_string_is(struct json_object *json, const char *name)
{
	return cvx_key_is(json_object_get_string(json),
					  (size_t) json_object_get_string_len(json), name);
}

/* Is s a well-formed UTF-8 string? */
static bool
cvx_utf8_valid(const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		n;
		uint32_t	cp;
		size_t		k;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
		{
			n = 2;
			cp = c & 0x1f;
		}
		else if (c >= 0xe0 && c <= 0xef)
		{
			n = 3;
			cp = c & 0x0f;
		}
		else if (c >= 0xf0 && c <= 0xf4)
		{
			n = 4;
			cp = c & 0x07;
		}
		else
			return false;
		if (len - i < n)
			return false;
		for (k = 1; k < n; k++)
		{
			unsigned char cc = (unsigned char) s[i + k];

			if ((cc & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
			(cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/* Allocate an empty validator */
static CvxValidator *
cvx_new_validator(CvxValidatorKind kind, CvxCompileError *error)
{
	CvxValidator *v = calloc(1, sizeof(CvxValidator));

	if (v == NULL)
		return cvx_compile_fail(error, "out of memory");
	v->kind = kind;
	return v;
}

/* Compile the "value" of a v.literal() */
static CvxValidator *
cvx_compile_literal(struct json_object *json, CvxCompileError *error)
{
	CvxValidator *v;
	const char *expected =
		"v.literal() value must be a string, a number, a boolean or {\"$integer\": <base64>}";

	switch (json_object_get_type(json))
	{
		case json_type_string:
			{
				const char *s = json_object_get_string(json);
				size_t		len = (size_t) json_object_get_string_len(json);

				if (!cvx_utf8_valid(s, len))
					return cvx_compile_fail(error, "v.literal() string is not valid UTF-8");
				if ((v = cvx_new_validator(CVX_V_LITERAL, error)) == NULL)
					return NULL;
				v->literal_kind = CVX_LIT_STRING;
				v->literal_len = len;
				v->literal_str = malloc(len + 1);
				if (v->literal_str == NULL)
				{
					cvx_validator_free(v);
					return cvx_compile_fail(error, "out of memory");
				}
				if (len > 0)
					memcpy(v->literal_str, s, len);
				v->literal_str[len] = '\0';
				return v;
			}
		case json_type_boolean:
			if ((v = cvx_new_validator(CVX_V_LITERAL, error)) == NULL)
				return NULL;
			v->literal_kind = CVX_LIT_BOOLEAN;
			v->literal_bool = json_object_get_boolean(json) != 0;
			return v;
		case json_type_int:
		case json_type_double:
			{
				double		d = json_object_get_double(json);
				uint64_t	bits;

				memcpy(&bits, &d, sizeof(bits));
				if (((bits >> 52) & 0x7ff) == 0x7ff)
					return cvx_compile_fail(error, "v.literal() number must be finite");
				if ((v = cvx_new_validator(CVX_V_LITERAL, error)) == NULL)
					return NULL;
				v->literal_kind = CVX_LIT_FLOAT64;
				v->literal_float = d;
				return v;
			}
		case json_type_object:
			{
				CvxValue	value;
				CvxClassified c;

				cvx_json_c_value(json, &value);
				cvx_classify(&value, &cvx_json_c_ops, &c);
				if (c.cls != CVX_C_INT64 && c.cls != CVX_C_FLOAT64)
					return cvx_compile_fail(error, "%s", expected);
				if ((v = cvx_new_validator(CVX_V_LITERAL, error)) == NULL)
					return NULL;
				v->literal_kind = c.cls == CVX_C_INT64 ? CVX_LIT_INT64 : CVX_LIT_FLOAT64;
				v->literal_int = c.i;
				v->literal_float = c.f;
				return v;
			}
		default:
			return cvx_compile_fail(error, "%s", expected);
	}
}

/* Compile {"fieldType": V, "optional": bool} */
static CvxValidator *
cvx_compile_field_type(struct json_object *spec, int depth, bool *optional,
					   CvxCompileError *error)
{
	struct json_object *field_type;
	struct json_object *opt;

	if (!json_object_is_type(spec, json_type_object) ||
		!json_object_object_get_ex(spec, "fieldType", &field_type) ||
		!json_object_object_get_ex(spec, "optional", &opt) ||
		!json_object_is_type(opt, json_type_boolean))
		return cvx_compile_fail(error,
								"expected {\"fieldType\": <validator>, \"optional\": <boolean>}");
	*optional = json_object_get_boolean(opt) != 0;
	return cvx_compile_node(field_type, depth + 1, error);
}

/* Is every value of v a string?  (Convex's is_subset(v.string())) */
static bool
cvx_is_string_subtype(const CvxValidator *v)
{
	size_t		i;

	switch (v->kind)
	{
		case CVX_V_STRING:
		case CVX_V_ID:
			return true;
		case CVX_V_LITERAL:
			return v->literal_kind == CVX_LIT_STRING;
		case CVX_V_UNION:
			for (i = 0; i < v->nmembers; i++)
				if (!cvx_is_string_subtype(v->members[i]))
					return false;
			return true;
		default:
			return false;
	}
}

/* Does v contain a string literal?  (is_string_subtype_with_string_literal) */
static bool
cvx_has_string_literal(const CvxValidator *v)
{
	size_t		i;

	if (v->kind == CVX_V_LITERAL)
		return v->literal_kind == CVX_LIT_STRING;
	if (v->kind == CVX_V_UNION)
		for (i = 0; i < v->nmembers; i++)
			if (cvx_has_string_literal(v->members[i]))
				return true;
	return false;
}

/* Compile a v.record() */
static CvxValidator *
cvx_compile_record(struct json_object *json, int depth, CvxCompileError *error)
{
	struct json_object *keys_json;
	struct json_object *values_json;
	CvxValidator *keys;
	CvxValidator *values;
	CvxValidator *v;
	bool		optional = false;

	if (!json_object_object_get_ex(json, "keys", &keys_json))
		return cvx_compile_fail(error, "record validator is missing \"keys\"");
	if (!json_object_object_get_ex(json, "values", &values_json))
		return cvx_compile_fail(error, "record validator is missing \"values\"");
	if ((keys = cvx_compile_node(keys_json, depth + 1, error)) == NULL)
		return NULL;
	if (!cvx_is_string_subtype(keys))
	{
		char	   *shown = cvx_validator_display(keys);

		cvx_compile_fail(error,
						 "Records can only have string keys. Your validator contains a record with key typed as `%s`, which is not a subtype of `v.string()`",
						 shown ? shown : "?");
		free(shown);
		cvx_validator_free(keys);
		return NULL;
	}
	if ((values = cvx_compile_field_type(values_json, depth, &optional, error)) == NULL)
	{
		cvx_validator_free(keys);
		return NULL;
	}
	if (cvx_has_string_literal(keys) || optional)
	{
		cvx_validator_free(keys);
		cvx_validator_free(values);
		return cvx_compile_fail(error, optional ? "Records cannot have optional values"
								: "Records cannot have string literal keys");
	}
	if ((v = cvx_new_validator(CVX_V_RECORD, error)) == NULL)
	{
		cvx_validator_free(keys);
		cvx_validator_free(values);
		return NULL;
	}
	v->keys = keys;
	v->element = values;
	return v;
}

/* Compile a v.union() */
static CvxValidator *
cvx_compile_union(struct json_object *json, int depth, CvxCompileError *error)
{
	struct json_object *members;
	CvxValidator *v;
	size_t		n;
	size_t		i;

	if (!json_object_object_get_ex(json, "value", &members) ||
		!json_object_is_type(members, json_type_array))
		return cvx_compile_fail(error, "union validator needs an array of validators in \"value\"");
	if ((v = cvx_new_validator(CVX_V_UNION, error)) == NULL)
		return NULL;
	n = json_object_array_length(members);
	if (n > 0 && (v->members = calloc(n, sizeof(CvxValidator *))) == NULL)
	{
		cvx_validator_free(v);
		return cvx_compile_fail(error, "out of memory");
	}
	for (i = 0; i < n; i++)
	{
		v->members[i] = cvx_compile_node(json_object_array_get_idx(members, i),
										 depth + 1, error);
		if (v->members[i] == NULL)
		{
			cvx_validator_free(v);
			return NULL;
		}
		v->nmembers++;
	}
	return v;
}

/* The kinds that are just a "type" */
static const struct
{
	const char *name;
	CvxValidatorKind kind;
}			cvx_simple_kinds[] =
{
	{"null", CVX_V_NULL},
	{"number", CVX_V_NUMBER},
	{"bigint", CVX_V_BIGINT},
	{"boolean", CVX_V_BOOLEAN},
	{"string", CVX_V_STRING},
	{"bytes", CVX_V_BYTES},
	{"any", CVX_V_ANY},
	/* Convex reads the retired v.map() and v.set() as v.any() */
	{"map", CVX_V_ANY},
	{"set", CVX_V_ANY},
};

/* Compile one validator */
static CvxValidator *
cvx_compile_node(struct json_object *json, int depth, CvxCompileError *error)
{
	struct json_object *type;
	struct json_object *value = NULL;
	CvxValidator *v;
	size_t		i;
	char		snip[80];

	if (depth > CVX_VALIDATOR_MAX_DEPTH)
		return cvx_compile_fail(error, "validator is nested more than %d levels deep",
								CVX_VALIDATOR_MAX_DEPTH);
	if (!json_object_is_type(json, json_type_object))
		return cvx_compile_fail(error,
								"a validator must be a JSON object such as {\"type\": \"string\"}");
	if (!json_object_object_get_ex(json, "type", &type))
		return cvx_compile_fail(error, "validator is missing \"type\"");
	if (!json_object_is_type(type, json_type_string))
		return cvx_compile_fail(error, "validator \"type\" must be a string");

	for (i = 0; i < sizeof(cvx_simple_kinds) / sizeof(cvx_simple_kinds[0]); i++)
		if (cvx_json_string_is(type, cvx_simple_kinds[i].name))
			return cvx_new_validator(cvx_simple_kinds[i].kind, error);

	if (cvx_json_string_is(type, "id"))
	{
		struct json_object *table;
		const char *name;
		size_t		len;
		char		why[256];

		if (!json_object_object_get_ex(json, "tableName", &table) ||
			!json_object_is_type(table, json_type_string))
			return cvx_compile_fail(error, "id validator needs a string \"tableName\"");
		name = json_object_get_string(table);
		len = (size_t) json_object_get_string_len(table);
		if (!cvx_identifier_check(name, len, why, sizeof(why)))
			return cvx_compile_fail(error, "invalid table name in v.id(): %s", why);
		if ((v = cvx_new_validator(CVX_V_ID, error)) == NULL)
			return NULL;
		if ((v->table = malloc(len + 1)) == NULL)
		{
			cvx_validator_free(v);
			return cvx_compile_fail(error, "out of memory");
		}
		memcpy(v->table, name, len + 1);
		return v;
	}
	if (cvx_json_string_is(type, "record"))
		return cvx_compile_record(json, depth, error);
	if (cvx_json_string_is(type, "union"))
		return cvx_compile_union(json, depth, error);

	if (cvx_json_string_is(type, "literal") || cvx_json_string_is(type, "array") ||
		cvx_json_string_is(type, "object"))
	{
		if (!json_object_object_get_ex(json, "value", &value))
			return cvx_compile_fail(error, "%s validator is missing \"value\"",
									json_object_get_string(type));
		if (cvx_json_string_is(type, "literal"))
			return cvx_compile_literal(value, error);
		if (cvx_json_string_is(type, "object"))
			return cvx_compile_object(value, depth, error);
		if ((v = cvx_new_validator(CVX_V_ARRAY, error)) == NULL)
			return NULL;
		if ((v->element = cvx_compile_node(value, depth + 1, error)) == NULL)
		{
			cvx_validator_free(v);
			return NULL;
		}
		return v;
	}

	cvx_snippet(json_object_get_string(type), (size_t) json_object_get_string_len(type),
				snip, sizeof(snip));
	return cvx_compile_fail(error,
							"unknown validator type \"%s\": expected one of null, number, bigint, boolean, string, bytes, any, literal, id, array, record, object, union",
							snip);
}

/* Order fields by name */
static int
cvx_field_order(const void *a, const void *b)
{
	const CvxFieldValidator *fa = a;
	const CvxFieldValidator *fb = b;

	return cvx_key_compare(fa->name, fa->name_len, fb->name, fb->name_len);
}

/* Compile an object validator from its map of fields */
static CvxValidator *
cvx_compile_object(struct json_object *fields, int depth, CvxCompileError *error)
{
	struct json_object_iterator it;
	struct json_object_iterator end;
	CvxValidator *v;
	size_t		n;

	if (depth > CVX_VALIDATOR_MAX_DEPTH)
		return cvx_compile_fail(error, "validator is nested more than %d levels deep",
								CVX_VALIDATOR_MAX_DEPTH);
	if (!json_object_is_type(fields, json_type_object))
		return cvx_compile_fail(error,
								"object validator fields must be a JSON object mapping names to {\"fieldType\": …, \"optional\": …}");
	if ((v = cvx_new_validator(CVX_V_OBJECT, error)) == NULL)
		return NULL;
	n = (size_t) json_object_object_length(fields);
	if (n > 0 && (v->fields = calloc(n, sizeof(CvxFieldValidator))) == NULL)
	{
		cvx_validator_free(v);
		return cvx_compile_fail(error, "out of memory");
	}

	it = json_object_iter_begin(fields);
	end = json_object_iter_end(fields);
	while (!json_object_iter_equal(&it, &end) && v->nfields < n)
	{
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *spec = json_object_iter_peek_value(&it);
		size_t		len = strlen(name);
		CvxFieldValidator *f = &v->fields[v->nfields];
		char		why[256];
		char		snip[80];

		if (!cvx_identifier_check(name, len, why, sizeof(why)))
		{
			cvx_snippet(name, len, snip, sizeof(snip));
			cvx_validator_free(v);
			return cvx_compile_fail(error, "invalid field name `%s` in object validator: %s",
									snip, why);
		}
		if ((f->name = malloc(len + 1)) == NULL)
		{
			cvx_validator_free(v);
			return cvx_compile_fail(error, "out of memory");
		}
		memcpy(f->name, name, len + 1);
		f->name_len = len;
		v->nfields++;
		f->validator = cvx_compile_field_type(spec, depth, &f->optional, error);
		if (f->validator == NULL)
		{
			cvx_compile_wrap(error, "Invalid validator for key ", name);
			cvx_validator_free(v);
			return NULL;
		}
		json_object_iter_next(&it);
	}
	if (v->nfields > 1)
		qsort(v->fields, v->nfields, sizeof(CvxFieldValidator), cvx_field_order);
	return v;
}

/* Compile a ValidatorJSON document */
CvxValidator *
cvx_validator_compile(struct json_object *json, CvxCompileError *error)
{
	if (error != NULL)
		error->message[0] = '\0';
	return cvx_compile_node(json, 1, error);
}

/* Compile the "value" of an object validator */
CvxValidator *
cvx_validator_compile_fields(struct json_object *fields, CvxCompileError *error)
{
	if (error != NULL)
		error->message[0] = '\0';
	return cvx_compile_object(fields, 1, error);
}

/* Compile from JSON text */
CvxValidator *
cvx_validator_compile_text(const char *json_text, CvxCompileError *error)
{
	struct json_tokener *tok;
	struct json_object *json;
	CvxValidator *v;
	size_t		len;
	size_t		end;

	if (error != NULL)
		error->message[0] = '\0';
	if (json_text == NULL)
		return cvx_compile_fail(error, "validator JSON is missing");
	len = strlen(json_text);
	if (len >= (size_t) INT32_MAX)
		return cvx_compile_fail(error, "validator JSON is too long");
	/* a validator level is up to 3 JSON levels: object, field map, field */
	tok = json_tokener_new_ex(4 * CVX_VALIDATOR_MAX_DEPTH);
	if (tok == NULL)
		return cvx_compile_fail(error, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* parsing the NUL too ends a bare number or literal */
	json = json_tokener_parse_ex(tok, json_text, (int) len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
	{
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		json_object_put(json);
		json_tokener_free(tok);
		return cvx_compile_fail(error, "invalid validator JSON: %s",
								jerr == json_tokener_continue ? "unexpected end of input"
								: json_tokener_error_desc(jerr));
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", json_text[end]) != NULL)
		end++;
	if (end < len)
	{
		json_object_put(json);
		return cvx_compile_fail(error, "invalid validator JSON: trailing characters");
	}
	v = cvx_validator_compile(json, error);
	json_object_put(json);
	return v;
}

/* Free a compiled validator */
void
cvx_validator_free(CvxValidator *validator)
{
	size_t		i;

	if (validator == NULL)
		return;
	free(validator->table);
	free(validator->literal_str);
	cvx_validator_free(validator->element);
	cvx_validator_free(validator->keys);
	for (i = 0; i < validator->nfields; i++)
	{
		free(validator->fields[i].name);
		cvx_validator_free(validator->fields[i].validator);
	}
	free(validator->fields);
	for (i = 0; i < validator->nmembers; i++)
		cvx_validator_free(validator->members[i]);
	free(validator->members);
	free(validator);
}

/* ------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------
 */

/* The kind of a validator */
CvxValidatorKind
cvx_validator_kind(const CvxValidator *validator)
{
	return validator->kind;
}

/* Table name of an id validator, else NULL */
const char *
cvx_validator_table(const CvxValidator *validator)
{
	return validator != NULL && validator->kind == CVX_V_ID ? validator->table : NULL;
}

/* Fields of an object validator, else NULL / 0 */
const CvxFieldValidator *
cvx_validator_fields(const CvxValidator *validator, size_t *count)
{
	if (validator == NULL || validator->kind != CVX_V_OBJECT)
	{
		if (count != NULL)
			*count = 0;
		return NULL;
	}
	if (count != NULL)
		*count = validator->nfields;
	return validator->fields;
}

/* Find one field of an object validator (binary search) */
const CvxFieldValidator *
cvx_validator_field(const CvxValidator *validator, const char *name, size_t name_len)
{
	size_t		lo = 0;
	size_t		hi;

	if (validator == NULL || validator->kind != CVX_V_OBJECT || name == NULL)
		return NULL;
	hi = validator->nfields;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		const CvxFieldValidator *f = &validator->fields[mid];
		int			c = cvx_key_compare(name, name_len, f->name, f->name_len);

		if (c == 0)
			return f;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Checking values
 * ------------------------------------------------------------------------
 */

typedef struct CvxCheckState
{
	const CvxCheckContext *context;
	CvxCheckError *error;
	size_t		path_len;		/* logical length; may exceed the buffer */
	size_t		error_path_len;
	bool		fast;			/* first pass: only "does it match?" */
} CvxCheckState;

static bool cvx_check_node(CvxCheckState *st, const CvxValidator *v, const CvxValue *value);
static bool cvx_check_fast(CvxCheckState *st, const CvxValidator *v,
						   const CvxValue *value, bool *matched);

/* Append a path segment; returns the length to restore */
static size_t
cvx_path_push(CvxCheckState *st, const char *seg, size_t seglen)
{
	size_t		saved = st->path_len;
	size_t		pos = saved < CVX_PATH_MAX - 1 ? saved : CVX_PATH_MAX - 1;
	size_t		room = CVX_PATH_MAX - 1 - pos;
	size_t		n = seglen < room ? seglen : room;

	if (n > 0)
		memcpy(st->error->path + pos, seg, n);
	st->error->path[pos + n] = '\0';
	st->path_len = saved + (seglen < SIZE_MAX / 2 ? seglen : 0);
	return saved;
}

/* Go back to an earlier path length */
static void
cvx_path_pop(CvxCheckState *st, size_t saved)
{
	st->path_len = saved;
	st->error->path[saved < CVX_PATH_MAX - 1 ? saved : CVX_PATH_MAX - 1] = '\0';
}

/* Copy a name into a fixed buffer, marking a cut with "..." */
static void
cvx_copy_name(char *dst, size_t dst_size, const char *s, size_t len)
{
	if (len < dst_size)
	{
		if (len > 0)
			memcpy(dst, s, len);
		dst[len] = '\0';
	}
	else
	{
		memcpy(dst, s, dst_size - 4);
		memcpy(dst + dst_size - 4, "...", 4);
	}
}

/* Record a failure; always returns false */
static bool
cvx_check_fail(CvxCheckState *st, CvxCheckErrorKind kind, const CvxValidator *v,
			   const CvxValue *value)
{
	CvxCheckError *e = st->error;

	e->kind = kind;
	e->value = *value;
	e->validator = v;
	e->field[0] = '\0';
	e->found_table[0] = '\0';
	st->error_path_len = st->path_len;
	return false;
}

typedef struct CvxArrayCheck
{
	CvxCheckState *st;
	const CvxValidator *element;
	bool		failed;
} CvxArrayCheck;

/* Visitor: check one array element at path [i] */
static bool
cvx_check_element(void *arg, size_t index, const CvxValue *value)
{
	CvxArrayCheck *a = arg;
	char		seg[32];
	int			n = snprintf(seg, sizeof(seg), "[%zu]", index);
	size_t		saved = cvx_path_push(a->st, seg, n > 0 ? (size_t) n : 0);

	if (!cvx_check_node(a->st, a->element, value))
	{
		a->failed = true;
		return false;
	}
	cvx_path_pop(a->st, saved);
	return true;
}

/* Check one record entry: key at .keys(), then value at .values() */
static bool
cvx_check_record_entry(CvxCheckState *st, const CvxValidator *v, const char *key,
					   size_t key_len, const CvxValue *value, bool keep_path)
{
	CvxValue	key_value;
	size_t		saved;

	memset(&key_value, 0, sizeof(key_value));
	key_value.type = CVX_T_STRING;
	key_value.str = key;
	key_value.len = key_len;

	saved = cvx_path_push(st, ".keys()", 7);
	if (!cvx_check_node(st, v->keys, &key_value))
	{
		if (!keep_path)
			cvx_path_pop(st, saved);
		return false;
	}
	cvx_path_pop(st, saved);
	saved = cvx_path_push(st, ".values()", 9);
	if (!cvx_check_node(st, v->element, value))
	{
		if (!keep_path)
			cvx_path_pop(st, saved);
		return false;
	}
	cvx_path_pop(st, saved);
	return true;
}

typedef struct CvxRecordCheck
{
	CvxCheckState *st;
	const CvxValidator *v;
	bool		have;
	const char *key;
	size_t		key_len;
	CvxValue	value;
} CvxRecordCheck;

/* Visitor: remember the smallest key whose entry fails */
static bool
cvx_check_record_scan(void *arg, const char *key, size_t key_len, const CvxValue *value)
{
	CvxRecordCheck *r = arg;

	if (!cvx_check_record_entry(r->st, r->v, key, key_len, value, false) &&
		(!r->have || cvx_key_compare(key, key_len, r->key, r->key_len) < 0))
	{
		r->have = true;
		r->key = key;
		r->key_len = key_len;
		r->value = *value;
	}
	return true;
}

/*
 * Convex walks a record's entries in key order and stops at the first
 * failure.  Adapters may visit keys in any order, so find the smallest
 * failing key, then check that entry again to report it.
 */
static bool
cvx_check_record(CvxCheckState *st, const CvxValidator *v, const CvxValue *value)
{
	CvxRecordCheck r;

	memset(&r, 0, sizeof(r));
	r.st = st;
	r.v = v;
	st->context->ops->object_foreach(value, cvx_check_record_scan, &r);
	if (!r.have)
		return true;
	if (!cvx_check_record_entry(st, v, r.key, r.key_len, &r.value, true))
		return false;
	return cvx_check_fail(st, CVX_CHECK_NO_MATCH, v, value);
}

typedef struct CvxExtraScan
{
	const CvxValidator *v;
	bool		have;
	const char *key;
	size_t		key_len;
} CvxExtraScan;

/* Visitor: remember the smallest key the object validator lacks */
static bool
cvx_check_extra_scan(void *arg, const char *key, size_t key_len, const CvxValue *value)
{
	CvxExtraScan *x = arg;

	(void) value;
	if (cvx_validator_field(x->v, key, key_len) == NULL &&
		(!x->have || cvx_key_compare(key, key_len, x->key, x->key_len) < 0))
	{
		x->have = true;
		x->key = key;
		x->key_len = key_len;
	}
	return true;
}

/* Fields in name order (present: check; absent and required: missing), then extras */
static bool
cvx_check_object(CvxCheckState *st, const CvxValidator *v, const CvxValue *value)
{
	const CvxValueOps *ops = st->context->ops;
	CvxExtraScan x;
	size_t		i;

	for (i = 0; i < v->nfields; i++)
	{
		const CvxFieldValidator *f = &v->fields[i];
		CvxValue	child;

		memset(&child, 0, sizeof(child));
		if (ops->object_get(value, f->name, f->name_len, &child))
		{
			size_t		saved = cvx_path_push(st, ".", 1);

			cvx_path_push(st, f->name, f->name_len);
			if (!cvx_check_node(st, f->validator, &child))
				return false;
			cvx_path_pop(st, saved);
		}
		else if (!f->optional)
		{
			cvx_check_fail(st, CVX_CHECK_MISSING_FIELD, v, value);
			cvx_copy_name(st->error->field, CVX_NAME_MAX, f->name, f->name_len);
			return false;
		}
	}

	memset(&x, 0, sizeof(x));
	x.v = v;
	ops->object_foreach(value, cvx_check_extra_scan, &x);
	if (x.have)
	{
		cvx_check_fail(st, CVX_CHECK_EXTRA_FIELD, v, value);
		cvx_copy_name(st->error->field, CVX_NAME_MAX, x.key, x.key_len);
		return false;
	}
	return true;
}

/* Check a string against v.id("t") */
static bool
cvx_check_id(CvxCheckState *st, const CvxValidator *v, const CvxValue *value)
{
	const CvxCheckContext *ctx = st->context;
	CvxId		id;
	const char *name = NULL;

	if (cvx_id_decode(value->str, value->len, &id) == CVX_ID_OK && ctx->table_name != NULL)
		name = ctx->table_name(ctx->table_arg, id.table_number);
	if (name == NULL)
		return cvx_check_fail(st, CVX_CHECK_NO_MATCH, v, value);
	if (strcmp(name, v->table) == 0)
		return true;
	cvx_check_fail(st, name[0] == '_' ? CVX_CHECK_ID_SYSTEM_TABLE : CVX_CHECK_ID_TABLE_MISMATCH,
				   v, value);
	cvx_copy_name(st->error->found_table, CVX_NAME_MAX, name, strlen(name));
	return false;
}

/* Is value equal to the literal (Convex compares floats by total order) */
static bool
cvx_literal_matches(const CvxValidator *v, const CvxValue *value, const CvxClassified *c)
{
	uint64_t	a;
	uint64_t	b;

	switch (v->literal_kind)
	{
		case CVX_LIT_STRING:
			return c->cls == CVX_C_STRING && value->len == v->literal_len &&
				(value->len == 0 || memcmp(value->str, v->literal_str, value->len) == 0);
		case CVX_LIT_FLOAT64:
			if (c->cls != CVX_C_FLOAT64)
				return false;
			memcpy(&a, &c->f, sizeof(a));
			memcpy(&b, &v->literal_float, sizeof(b));
			return a == b;
		case CVX_LIT_INT64:
			return c->cls == CVX_C_INT64 && c->i == v->literal_int;
		case CVX_LIT_BOOLEAN:
			return c->cls == CVX_C_BOOLEAN && value->boolean == v->literal_bool;
	}
	return false;
}

/*
 * The first pass's shortcuts, for values of the expected JSON type: no
 * float conversion for numbers, and for objects no scan for "$" keys or
 * extra fields when every key is a validator field (field names never
 * start with "$").  Returns false when it cannot decide, leaving it to the
 * exact rules; *matched is the answer otherwise.
 */
static bool
cvx_check_fast(CvxCheckState *st, const CvxValidator *v, const CvxValue *value,
			   bool *matched)
{
	const CvxValueOps *ops = st->context->ops;
	size_t		present = 0;

	switch (v->kind)
	{
		case CVX_V_STRING:
			*matched = value->type == CVX_T_STRING;
			return *matched;
		case CVX_V_NUMBER:
			*matched = value->type == CVX_T_NUMBER && isfinite(ops->number(value));
			return *matched;
		case CVX_V_BOOLEAN:
			*matched = value->type == CVX_T_BOOLEAN;
			return *matched;
		case CVX_V_NULL:
			*matched = value->type == CVX_T_NULL;
			return *matched;
		case CVX_V_OBJECT:
			if (value->type != CVX_T_OBJECT)
				return false;
			for (size_t i = 0; i < v->nfields; i++)
			{
				const CvxFieldValidator *f = &v->fields[i];
				CvxValue	child;

				if (ops->object_get(value, f->name, f->name_len, &child))
				{
					if (!cvx_check_node(st, f->validator, &child))
					{
						*matched = false;
						return true;
					}
					present++;
				}
				else if (!f->optional)
				{
					*matched = false;
					return true;
				}
			}
			*matched = present == ops->size(value);
			return true;
		default:
			return false;
	}
}

/* Check value against v at the current path */
static bool
cvx_check_node(CvxCheckState *st, const CvxValidator *v, const CvxValue *value)
{
	const CvxValueOps *ops = st->context->ops;
	CvxClassified c;
	size_t		i;
	size_t		saved;

	if (v->kind == CVX_V_ANY)
		return true;
	if (v->kind == CVX_V_UNION)
	{
		if (v->nmembers == 1)
			return cvx_check_node(st, v->members[0], value);
		saved = st->path_len;
		for (i = 0; i < v->nmembers; i++)
		{
			if (cvx_check_node(st, v->members[i], value))
				return true;
			cvx_path_pop(st, saved);
		}
		return cvx_check_fail(st, CVX_CHECK_NO_MATCH, v, value);
	}

	if (st->fast)
	{
		bool		matched;

		if (cvx_check_fast(st, v, value, &matched))
			return matched;
	}

	cvx_classify(value, ops, &c);
	switch (v->kind)
	{
		case CVX_V_NULL:
			if (c.cls == CVX_C_NULL)
				return true;
			break;
		case CVX_V_NUMBER:
			if (c.cls == CVX_C_FLOAT64)
				return true;
			break;
		case CVX_V_BIGINT:
			if (c.cls == CVX_C_INT64)
				return true;
			break;
		case CVX_V_BOOLEAN:
			if (c.cls == CVX_C_BOOLEAN)
				return true;
			break;
		case CVX_V_STRING:
			if (c.cls == CVX_C_STRING)
				return true;
			break;
		case CVX_V_BYTES:
			if (c.cls == CVX_C_BYTES)
				return true;
			break;
		case CVX_V_ID:
			if (c.cls == CVX_C_STRING)
				return cvx_check_id(st, v, value);
			break;
		case CVX_V_LITERAL:
			if (cvx_literal_matches(v, value, &c))
				return true;
			return cvx_check_fail(st, CVX_CHECK_LITERAL_MISMATCH, v, value);
		case CVX_V_ARRAY:
			if (c.cls == CVX_C_ARRAY)
			{
				CvxArrayCheck a;

				a.st = st;
				a.element = v->element;
				a.failed = false;
				ops->array_foreach(value, cvx_check_element, &a);
				return !a.failed;
			}
			break;
		case CVX_V_OBJECT:
			if (c.cls == CVX_C_OBJECT)
				return cvx_check_object(st, v, value);
			break;
		case CVX_V_RECORD:
			if (c.cls == CVX_C_OBJECT)
				return cvx_check_record(st, v, value);
			break;
		case CVX_V_ANY:
		case CVX_V_UNION:
			return true;		/* handled above */
	}
	return cvx_check_fail(st, CVX_CHECK_NO_MATCH, v, value);
}

/* Check value against validator; on failure fill *error with the first one */
bool
cvx_check(const CvxValidator *validator, const CvxValue *value,
		  const CvxCheckContext *context, CvxCheckError *error)
{
	CvxCheckState st;

	if (error == NULL)
		return false;
	error->kind = CVX_CHECK_OK;
	error->path[0] = '\0';
	error->field[0] = '\0';
	error->found_table[0] = '\0';
	error->validator = NULL;
	memset(&error->value, 0, sizeof(error->value));
	if (validator == NULL || value == NULL || context == NULL || context->ops == NULL)
	{
		error->kind = CVX_CHECK_NO_MATCH;
		return false;
	}

	/*
	 * A first pass answers whether the value matches, with shortcuts for the
	 * common case; only a value that fails is checked again by the exact
	 * rules, which find and describe the first failure as Convex does.
	 */
	st.context = context;
	st.error = error;
	st.path_len = 0;
	st.error_path_len = 0;
	st.fast = true;
	if (cvx_check_node(&st, validator, value))
	{
		error->kind = CVX_CHECK_OK;
		error->path[0] = '\0';
		return true;
	}
	st.fast = false;
	st.path_len = 0;
	st.error_path_len = 0;
	error->path[0] = '\0';
	if (cvx_check_node(&st, validator, value))
	{
		/* unreachable: both passes apply the same rules */
		error->kind = CVX_CHECK_OK;
		return true;
	}
	if (st.error_path_len > CVX_PATH_MAX - 1)
		memcpy(error->path + CVX_PATH_MAX - 4, "...", 4);
	return false;
}

/* ------------------------------------------------------------------------
 * Well-formed Convex values
 * ------------------------------------------------------------------------
 */

typedef struct CvxValidateState
{
	const CvxValueOps *ops;
	char	   *message;
	size_t		message_size;
	int			depth;
	int			max_nesting;	/* CVX_MAX_NESTING or CVX_MAX_DOCUMENT_NESTING */
	const char *noun;			/* "Value" or "Document", for the nesting message */
	bool		failed;
	bool		too_large;		/* the failure is a size limit, not a malformed value */
} CvxValidateState;

static bool cvx_validate_node(CvxValidateState *vs, const CvxValue *value, int depth);

/* Record why a value is not a Convex value; always returns false */
static bool CVX_PRINTF(2, 3)
cvx_validate_fail(CvxValidateState *vs, const char *fmt,...)
{
	va_list		ap;

	vs->failed = true;
	if (vs->message != NULL && vs->message_size > 0)
	{
		va_start(ap, fmt);
		vsnprintf(vs->message, vs->message_size, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* cvx_validate_fail for a size limit (nesting, length, count) */
#define CVX_VALIDATE_LIMIT(vs, ...) \
	((vs)->too_large = true, cvx_validate_fail((vs), __VA_ARGS__))

/* Visitor: validate one array element */
static bool
cvx_validate_element(void *arg, size_t index, const CvxValue *value)
{
	CvxValidateState *vs = arg;

	(void) index;
	return cvx_validate_node(vs, value, vs->depth);
}

/* Visitor: validate one field name (sync_types check_valid_field_name) and value */
static bool
cvx_validate_field(void *arg, const char *key, size_t key_len, const CvxValue *value)
{
	CvxValidateState *vs = arg;
	char		snip[80];
	char		ch[16];
	size_t		i;

	if (key_len == 0)
		return cvx_validate_fail(vs, "Field name cannot be empty");
	cvx_snippet(key, key_len, snip, sizeof(snip));
	if (key[0] == '$')
		return cvx_validate_fail(vs, "Field name %s starts with '$', which is reserved.", snip);
	for (i = 0; i < key_len; i++)
	{
		unsigned char c = (unsigned char) key[i];

		if (c < 0x20 || c >= 0x7f)
		{
			cvx_char_debug(c, ch, sizeof(ch));
			return cvx_validate_fail(vs,
									 "Field name %s has invalid character %s: Field names can only contain non-control ASCII characters",
									 snip, ch);
		}
	}
	if (key_len > CVX_MAX_FIELD_NAME_LENGTH)
		return CVX_VALIDATE_LIMIT(vs, "Field name is too long (%zu > maximum %d)",
								  key_len, CVX_MAX_FIELD_NAME_LENGTH);
	return cvx_validate_node(vs, value, vs->depth);
}

/* Validate value, a child of a container at nesting depth - 1 */
static bool
cvx_validate_node(CvxValidateState *vs, const CvxValue *value, int depth)
{
	CvxClassified c;
	int			saved_depth = vs->depth;
	size_t		n;

	if (value->type == CVX_T_STRING)
	{
		if (!cvx_utf8_valid(value->str, value->len))
			return cvx_validate_fail(vs, "String is not valid UTF-8");
		return true;
	}
	if (value->type == CVX_T_NUMBER && !isfinite(vs->ops->number(value)))
		return cvx_validate_fail(vs, "Number is outside the float64 range (infinities are {\"$float\": …})");
	if (value->type != CVX_T_ARRAY && value->type != CVX_T_OBJECT)
		return true;
	cvx_classify(value, vs->ops, &c);
	switch (c.cls)
	{
		case CVX_C_INT64:
		case CVX_C_FLOAT64:
		case CVX_C_BYTES:
			return true;
		case CVX_C_INVALID:
			if (c.payload != NULL)
			{
				CvxDollarScan scan;

				memset(&scan, 0, sizeof(scan));
				vs->ops->object_foreach(value, cvx_scan_dollar, &scan);
				if (cvx_key_is(scan.key, scan.key_len, "$integer"))
					return cvx_validate_fail(vs, "Int64 must be exactly eight bytes, in base64");
				if (cvx_key_is(scan.key, scan.key_len, "$float"))
					return cvx_validate_fail(vs,
											 "{\"$float\": …} must be eight bytes of base64 holding NaN, an infinity or -0; other float64 values are JSON numbers");
				if (cvx_key_is(scan.key, scan.key_len, "$bytes"))
					return cvx_validate_fail(vs, "$bytes must be a base64 string");
			}
			break;				/* the field name check explains it */
		default:
			break;
	}

	if (depth + 1 > vs->max_nesting)
		return CVX_VALIDATE_LIMIT(vs,
								  "%s is too nested (nested %d levels deep > maximum nesting %d)",
								  vs->noun, depth + 1, vs->max_nesting);
	n = vs->ops->size(value);
	if (value->type == CVX_T_ARRAY && n > CVX_MAX_ARRAY_LENGTH)
		return CVX_VALIDATE_LIMIT(vs, "Array length is too long (%zu > maximum length %d)",
								  n, CVX_MAX_ARRAY_LENGTH);
	if (value->type == CVX_T_OBJECT && n > CVX_MAX_OBJECT_FIELDS)
		return CVX_VALIDATE_LIMIT(vs, "Object has too many fields (%zu > maximum number %d)",
								  n, CVX_MAX_OBJECT_FIELDS);
	vs->depth = depth + 1;
	if (value->type == CVX_T_ARRAY)
		vs->ops->array_foreach(value, cvx_validate_element, vs);
	else
		vs->ops->object_foreach(value, cvx_validate_field, vs);
	vs->depth = saved_depth;
	return !vs->failed;
}

/*
 * Is value a well-formed Convex value (a document when document is true:
 * nesting <= 16)?  CVX_VALUE_TOO_LARGE for the size limits, MALFORMED for
 * the rest; explains a failure in message.
 */
CvxValueFault
cvx_value_fault(const CvxValue *value, const CvxValueOps *ops, bool document,
				char *message, size_t message_size)
{
	CvxValidateState vs;

	if (message != NULL && message_size > 0)
		message[0] = '\0';
	vs.ops = ops;
	vs.message = message;
	vs.message_size = message_size;
	vs.depth = 0;
	vs.max_nesting = document ? CVX_MAX_DOCUMENT_NESTING : CVX_MAX_NESTING;
	vs.noun = document ? "Document" : "Value";
	vs.failed = false;
	vs.too_large = false;
	if (cvx_validate_node(&vs, value, 0))
		return CVX_VALUE_OK;
	return vs.too_large ? CVX_VALUE_TOO_LARGE : CVX_VALUE_MALFORMED;
}

/* Is value a well-formed Convex value?  Else explain in message */
bool
cvx_value_validate(const CvxValue *value, const CvxValueOps *ops,
				   char *message, size_t message_size)
{
	return cvx_value_fault(value, ops, false, message, message_size) == CVX_VALUE_OK;
}

/* Is value a well-formed document (nesting <= 16)?  Else explain in message */
bool
cvx_document_validate(const CvxValue *value, const CvxValueOps *ops,
					  char *message, size_t message_size)
{
	return cvx_value_fault(value, ops, true, message, message_size) == CVX_VALUE_OK;
}
