/*-------------------------------------------------------------------------
 *
 * fuzz_sortkey.c
 *	  libFuzzer harness for the order-preserving keys (src/core/cvx_sortkey.c).
 *
 * The input is "<value JSON>\0<value JSON>"; without a NUL byte the same
 * text is both.  For two well-formed Convex values (cvx_value_validate)
 * the harness
 *	  - builds each key twice: the same bytes both times;
 *	  - compares the keys (memcmp, a prefix first) and requires the same
 *		sign as a direct comparison written here from convex-js's
 *		compareValues (type rank, then int64 / float64 with -0 < 0 and
 *		every NaN above +Infinity / strings and bytes byte by byte /
 *		arrays element by element / objects as name-sorted fields);
 *	  - requires the key of undefined to be below both.
 * Everything is freed (LeakSanitizer is on).
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_sortkey.h"
#include "cvx_validator.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

/* Deep enough to go past the nesting limit (64) */
#define PARSE_DEPTH 100

/* Abort unless cond holds (a property violation is a finding) */
static void
require(int cond)
{
	if (!cond)
		abort();
}

/* realloc that never returns NULL */
static void *
fuzz_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	require(p != NULL);
	return p;
}

/* Parse len bytes of JSON; NULL when invalid */
static struct json_object *
parse(const char *data, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(PARSE_DEPTH);
	char	   *text = malloc(len + 1);
	struct json_object *json;

	require(tok != NULL && text != NULL);
	memcpy(text, data, len);
	text[len] = '\0';
	json = json_tokener_parse_ex(tok, text, (int) len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(json);
		json = NULL;
	}
	json_tokener_free(tok);
	free(text);
	return json;
}

/* compareValues' type rank of a value in JSON form, and its scalar */
typedef struct Ranked
{
	int			rank;			/* 1 null, 2 int64, 3 float64, 4 boolean, 5 string,
								 * 6 bytes, 7 array, 8 object */
	int64_t		i;
	double		f;
	uint8_t    *bytes;			/* malloc'd, for bytes */
	size_t		nbytes;
} Ranked;

/* Classify a value */
static void
rank_of(struct json_object *json, Ranked *r)
{
	CvxValue	value;
	const char *b64;
	size_t		b64_len;

	memset(r, 0, sizeof(*r));
	cvx_json_c_value(json, &value);
	switch (value.type)
	{
		case CVX_T_NULL:
			r->rank = 1;
			return;
		case CVX_T_BOOLEAN:
			r->rank = 4;
			return;
		case CVX_T_STRING:
			r->rank = 5;
			return;
		case CVX_T_NUMBER:
			r->rank = 3;
			r->f = cvx_json_c_ops.number(&value);
			return;
		case CVX_T_ARRAY:
			r->rank = 7;
			return;
		case CVX_T_OBJECT:
			break;
	}
	if (cvx_value_int64(&value, &cvx_json_c_ops, &r->i))
		r->rank = 2;
	else if (cvx_value_float64(&value, &cvx_json_c_ops, &r->f))
		r->rank = 3;
	else if (cvx_value_bytes(&value, &cvx_json_c_ops, &b64, &b64_len))
	{
		r->rank = 6;
		r->bytes = malloc(b64_len / 4 * 3 + 3);
		require(r->bytes != NULL);
		require(cvx_base64_decode(b64, b64_len, r->bytes, b64_len / 4 * 3 + 3, &r->nbytes));
	}
	else
		r->rank = 8;
}

/* Sign of a three-way comparison */
static int
sign(int c)
{
	return (c > 0) - (c < 0);
}

/* Byte strings, a prefix first */
static int
compare_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? sign(c) : (alen > blen) - (alen < blen);
}

/* compareNumbers, with every NaN one value above +Infinity */
static int
compare_floats(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	if (a == b)
		return signbit(b) - signbit(a);	/* -0 < 0 */
	return a < b ? -1 : 1;
}

/* qsort order of object keys: bytes, a prefix first */
static int
compare_keys(const void *a, const void *b)
{
	const char *x = *(const char *const *) a;
	const char *y = *(const char *const *) b;

	return compare_bytes(x, strlen(x), y, strlen(y));
}

/* An object's keys, sorted (malloc'd) */
static const char **
sorted_keys(struct json_object *json, size_t *n)
{
	const char **keys = malloc(sizeof(char *) * ((size_t) json_object_object_length(json) + 1));
	size_t		count = 0;

	require(keys != NULL);
	json_object_object_foreach(json, key, val)
	{
		(void) val;
		keys[count++] = key;
	}
	qsort(keys, count, sizeof(char *), compare_keys);
	*n = count;
	return keys;
}

/* compareValues on two values in JSON form */
static int
reference_compare(struct json_object *a, struct json_object *b)
{
	Ranked		ra;
	Ranked		rb;
	int			c = 0;

	rank_of(a, &ra);
	rank_of(b, &rb);
	if (ra.rank != rb.rank)
		c = ra.rank < rb.rank ? -1 : 1;
	else
		switch (ra.rank)
		{
			case 1:
				break;
			case 2:
				c = (ra.i > rb.i) - (ra.i < rb.i);
				break;
			case 3:
				c = compare_floats(ra.f, rb.f);
				break;
			case 4:
				c = json_object_get_boolean(a) - json_object_get_boolean(b);
				break;
			case 5:
				c = compare_bytes(json_object_get_string(a), (size_t) json_object_get_string_len(a),
								  json_object_get_string(b), (size_t) json_object_get_string_len(b));
				break;
			case 6:
				c = compare_bytes(ra.bytes, ra.nbytes, rb.bytes, rb.nbytes);
				break;
			case 7:
				{
					size_t		na = json_object_array_length(a);
					size_t		nb = json_object_array_length(b);

					for (size_t i = 0; i < na && i < nb && c == 0; i++)
						c = reference_compare(json_object_array_get_idx(a, i),
											  json_object_array_get_idx(b, i));
					if (c == 0)
						c = (na > nb) - (na < nb);
					break;
				}
			case 8:
				{
					size_t		na;
					size_t		nb;
					const char **ka = sorted_keys(a, &na);
					const char **kb = sorted_keys(b, &nb);

					for (size_t i = 0; i < na && i < nb && c == 0; i++)
					{
						c = compare_bytes(ka[i], strlen(ka[i]), kb[i], strlen(kb[i]));
						if (c == 0)
							c = reference_compare(json_object_object_get(a, ka[i]),
												  json_object_object_get(b, kb[i]));
					}
					if (c == 0)
						c = (na > nb) - (na < nb);
					free(ka);
					free(kb);
					break;
				}
		}
	free(ra.bytes);
	free(rb.bytes);
	return c;
}

/* The key of a value; NULL when refused */
static uint8_t *
key_of(struct json_object *json, size_t *len)
{
	CvxKey		key = {NULL, 0, 0, fuzz_realloc, free};
	CvxValue	value;

	cvx_json_c_value(json, &value);
	if (!cvx_key_value(&key, &value, &cvx_json_c_ops))
	{
		free(key.data);
		return NULL;
	}
	*len = key.len;
	return key.data;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: "<A>\0<B>" or one text for both */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t		alen = nul ? (size_t) (nul - data) : size;
	struct json_object *a = parse((const char *) data, alen);
	struct json_object *b = nul ? parse((const char *) nul + 1, size - alen - 1) :
		json_object_get(a);
	CvxValue	va;
	CvxValue	vb;

	if (a != NULL && b != NULL)
	{
		cvx_json_c_value(a, &va);
		cvx_json_c_value(b, &vb);
		if (cvx_value_validate(&va, &cvx_json_c_ops, NULL, 0) &&
			cvx_value_validate(&vb, &cvx_json_c_ops, NULL, 0))
		{
			size_t		la,
						la2,
						lb;
			uint8_t    *ka = key_of(a, &la);
			uint8_t    *ka2 = key_of(a, &la2);
			uint8_t    *kb = key_of(b, &lb);

			if (ka != NULL && kb != NULL)
			{
				CvxKey		undefined = {NULL, 0, 0, fuzz_realloc, free};

				require(ka2 != NULL && la == la2 && memcmp(ka, ka2, la) == 0);
				require(compare_bytes(ka, la, kb, lb) == reference_compare(a, b));
				cvx_key_undefined(&undefined);
				require(compare_bytes(undefined.data, undefined.len, ka, la) < 0);
				free(undefined.data);
			}
			free(ka);
			free(ka2);
			free(kb);
		}
	}
	json_object_put(a);
	json_object_put(b);
	return 0;
}
