/*-------------------------------------------------------------------------
 *
 * test_sortkey.c
 *	  Unit tests of the order-preserving keys (cvx_sortkey.c): a list of
 *	  Convex values in compareValues' order, as JSON, must give strictly
 *	  increasing keys (memcmp, a prefix first), and equal values equal
 *	  keys.  The full comparison with convex-js is test/scripts/index_order.sh.
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "cvx_sortkey.h"

/* realloc that never returns NULL */
static void *
test_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size);

	if (p == NULL)
		abort();
	return p;
}

/* The key of a JSON value (malloc'd; *len set); NULL when refused */
static uint8_t *
key_of(const char *json_text, size_t *len)
{
	struct json_object *json = unit_json(json_text);
	CvxKey		key = {NULL, 0, 0, test_realloc, free};
	CvxValue	value;
	bool		ok;

	cvx_json_c_value(json, &value);
	ok = cvx_key_value(&key, &value, &cvx_json_c_ops);
	json_object_put(json);
	if (!ok)
	{
		free(key.data);
		return NULL;
	}
	*len = key.len;
	return key.data;
}

/* memcmp order of two keys, a prefix first */
static int
compare_keys(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int			c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* Values in compareValues order (strictly increasing) */
static const char *const ordered[] = {
	"null",
	"{\"$integer\": \"AAAAAAAAAIA=\"}",	/* INT64_MIN */
	"{\"$integer\": \"//////////8=\"}",	/* -1 */
	"{\"$integer\": \"AAAAAAAAAAA=\"}",	/* 0 */
	"{\"$integer\": \"AQAAAAAAAAA=\"}",	/* 1 */
	"{\"$integer\": \"/////////38=\"}",	/* INT64_MAX */
	"{\"$float\": \"AAAAAAAA8P8=\"}",	/* -Infinity */
	"-1e308",
	"-1",
	"-5e-324",
	"{\"$float\": \"AAAAAAAAAIA=\"}",	/* -0 */
	"0",
	"5e-324",
	"1",
	"1.5",
	"1e308",
	"{\"$float\": \"AAAAAAAA8H8=\"}",	/* Infinity */
	"{\"$float\": \"AAAAAAAA+H8=\"}",	/* NaN */
	"false",
	"true",
	"\"\"",
	"\"a\"",
	"\"a\\u0001\"",
	"\"ab\"",
	"\"b\"",
	"\"\\u00e9\"",				/* two UTF-8 bytes: after every ASCII */
	"\"\\uffff\"",
	"\"\\ud83d\\ude00\"",		/* four bytes: after U+FFFF in UTF-8 */
	"{\"$bytes\": \"\"}",
	"{\"$bytes\": \"AA==\"}",
	"{\"$bytes\": \"AAA=\"}",
	"{\"$bytes\": \"AQ==\"}",
	"{\"$bytes\": \"/w==\"}",
	"[]",
	"[null]",
	"[null, null]",
	"[{\"$integer\": \"AAAAAAAAAAA=\"}]",
	"[0]",
	"[0, []]",
	"[\"a\"]",
	"[[]]",
	"{}",
	"{\"a\": null}",
	"{\"a\": 1}",
	"{\"a\": 1, \"b\": 0}",
	"{\"a\": 2}",
	"{\"ab\": 0}",
	"{\"b\": 0}",
};

/* Keys increase along the list; equal JSON gives equal keys */
void
test_sortkey(void)
{
	size_t		n = sizeof(ordered) / sizeof(ordered[0]);
	uint8_t    *keys[sizeof(ordered) / sizeof(ordered[0])];
	size_t		lens[sizeof(ordered) / sizeof(ordered[0])];
	size_t		len;
	uint8_t    *again;

	for (size_t i = 0; i < n; i++)
	{
		keys[i] = key_of(ordered[i], &lens[i]);
		CHECK(keys[i] != NULL);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (keys[i] != NULL && keys[j] != NULL)
			{
				int			c = compare_keys(keys[i], lens[i], keys[j], lens[j]);

				if ((i < j && c >= 0) || (i > j && c <= 0) || (i == j && c != 0))
				{
					printf("  order: %s vs %s\n", ordered[i], ordered[j]);
					CHECK(false);
				}
			}

	/* object field order does not matter; the same value, the same key */
	again = key_of("{\"b\": 0, \"a\": 1}", &len);
	{
		uint8_t    *other = key_of("{\"a\": 1, \"b\": 0}", &lens[0]);

		CHECK(again != NULL && other != NULL && len == lens[0] && memcmp(again, other, len) == 0);
		free(other);
	}
	free(again);

	/* every NaN is the one NaN */
	again = key_of("{\"$float\": \"AQAAAAAA+P8=\"}", &len);
	CHECK(again != NULL && len == lens[17] && memcmp(again, keys[17], len) == 0);
	free(again);

	/* missing is below null; deeper than the nesting limit is refused */
	{
		CvxKey		key = {NULL, 0, 0, test_realloc, free};
		char		deep[200];

		cvx_key_undefined(&key);
		CHECK(compare_keys(key.data, key.len, keys[0], lens[0]) < 0);
		free(key.data);
		memset(deep, '[', 70);
		memset(deep + 70, ']', 70);
		deep[140] = '\0';
		CHECK(key_of(deep, &len) == NULL);
	}

	for (size_t i = 0; i < n; i++)
		free(keys[i]);
}
