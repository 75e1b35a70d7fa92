/*-------------------------------------------------------------------------
 *
 * cvx_sortkey.c
 *	  Order-preserving byte keys of Convex values (see cvx_sortkey.h).
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_sortkey.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Make room for n more bytes */
static void
key_reserve(CvxKey *key, size_t n)
{
	size_t		cap;

	if (key->len + n <= key->cap)
		return;
	cap = key->cap < 64 ? 64 : key->cap;
	while (cap < key->len + n)
		cap *= 2;
	key->data = key->realloc_fn(key->data, cap);
	key->cap = cap;
}

/* Append one byte */
static void
key_byte(CvxKey *key, uint8_t b)
{
	key_reserve(key, 1);
	key->data[key->len++] = b;
}

/* Append 8 bytes, most significant first */
static void
key_u64(CvxKey *key, uint64_t v)
{
	key_reserve(key, 8);
	for (int i = 7; i >= 0; i--)
		key->data[key->len++] = (uint8_t) (v >> (8 * i));
}

/* Append a byte string: 00 escaped as 00 FF, ended by 00 01 */
static void
key_escaped(CvxKey *key, const uint8_t *s, size_t len)
{
	key_reserve(key, len + 2);
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == 0)
		{
			key_byte(key, 0x00);
			key_byte(key, 0xff);
		}
		else
			key_byte(key, s[i]);
	}
	key_byte(key, 0x00);
	key_byte(key, 0x01);
}

/* A missing field: below every value */
void
cvx_key_undefined(CvxKey *key)
{
	key_byte(key, CVX_KEY_UNDEFINED);
}

/* null */
void
cvx_key_null(CvxKey *key)
{
	key_byte(key, CVX_KEY_NULL);
}

/* int64: the sign bit flipped makes two's complement order unsigned */
void
cvx_key_int64(CvxKey *key, int64_t value)
{
	key_byte(key, CVX_KEY_INT64);
	key_u64(key, (uint64_t) value ^ UINT64_C(0x8000000000000000));
}

/*
 * float64 in compareValues' order: -NaN < -Inf < ... < -0 < 0 < ... < Inf
 * < NaN.  convexlite gives every NaN back as the quiet NaN 0x7ff8…, so
 * every NaN gets that NaN's key.
 */
void
cvx_key_float64(CvxKey *key, double value)
{
	uint64_t	bits;

	if (isnan(value))
		bits = UINT64_C(0x7ff8000000000000);
	else
		memcpy(&bits, &value, sizeof(bits));
	if (bits & UINT64_C(0x8000000000000000))
		bits = ~bits;
	else
		bits |= UINT64_C(0x8000000000000000);
	key_byte(key, CVX_KEY_FLOAT64);
	key_u64(key, bits);
}

/* false < true */
void
cvx_key_boolean(CvxKey *key, bool value)
{
	key_byte(key, CVX_KEY_BOOLEAN);
	key_byte(key, value ? 1 : 0);
}

/* Strings compare by their UTF-8 bytes */
void
cvx_key_string(CvxKey *key, const char *s, size_t len)
{
	key_byte(key, CVX_KEY_STRING);
	key_escaped(key, (const uint8_t *) s, len);
}

/* Bytes compare byte by byte, a prefix first */
void
cvx_key_bytes(CvxKey *key, const uint8_t *bytes, size_t len)
{
	key_byte(key, CVX_KEY_BYTES);
	key_escaped(key, bytes, len);
}

/* One object field, collected for sorting */
typedef struct KeyField
{
	const char *name;
	size_t		name_len;
	CvxValue	value;
} KeyField;

/* Collecting an object's fields */
typedef struct FieldCollector
{
	KeyField   *fields;
	size_t		count;
	size_t		cap;
	CvxKey	   *key;			/* for its allocator */
} FieldCollector;

/* Object field visitor: remember the field */
static bool
collect_field(void *arg, const char *name, size_t name_len, const CvxValue *value)
{
	FieldCollector *c = arg;

	if (c->count == c->cap)
	{
		c->cap = c->cap < 8 ? 8 : c->cap * 2;
		c->fields = c->key->realloc_fn(c->fields, c->cap * sizeof(KeyField));
	}
	c->fields[c->count].name = name;
	c->fields[c->count].name_len = name_len;
	c->fields[c->count].value = *value;
	c->count++;
	return true;
}

/* Field names in UTF-8 byte order, a prefix first */
static int
compare_fields(const void *a, const void *b)
{
	const KeyField *x = a;
	const KeyField *y = b;
	size_t		n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int			c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static bool key_value(CvxKey *key, const CvxValue *value, const CvxValueOps *ops, int depth);

/* Array element visitor: append the element's key */
typedef struct ElementState
{
	CvxKey	   *key;
	const CvxValueOps *ops;
	int			depth;
} ElementState;

/* Append one array element's key */
static bool
key_element(void *arg, size_t index, const CvxValue *value)
{
	ElementState *s = arg;

	(void) index;
	return key_value(s->key, value, s->ops, s->depth);
}

/* The key of an object that is not an $integer/$float/$bytes value */
static bool
key_object(CvxKey *key, const CvxValue *value, const CvxValueOps *ops, int depth)
{
	FieldCollector c = {NULL, 0, 0, key};
	bool		ok = true;

	ops->object_foreach(value, collect_field, &c);
	if (c.count > 1)
		qsort(c.fields, c.count, sizeof(KeyField), compare_fields);
	key_byte(key, CVX_KEY_OBJECT);
	for (size_t i = 0; i < c.count && ok; i++)
	{
		key_byte(key, 0x01);
		key_escaped(key, (const uint8_t *) c.fields[i].name, c.fields[i].name_len);
		ok = key_value(key, &c.fields[i].value, ops, depth + 1);
	}
	key_byte(key, 0x00);
	if (c.fields != NULL)
		key->free_fn(c.fields);
	return ok;
}

/* cvx_key_value at a nesting depth */
static bool
key_value(CvxKey *key, const CvxValue *value, const CvxValueOps *ops, int depth)
{
	if (depth > CVX_MAX_NESTING)
		return false;
	switch (value->type)
	{
		case CVX_T_NULL:
			cvx_key_null(key);
			return true;
		case CVX_T_BOOLEAN:
			cvx_key_boolean(key, value->boolean);
			return true;
		case CVX_T_STRING:
			cvx_key_string(key, value->str, value->len);
			return true;
		case CVX_T_NUMBER:
			cvx_key_float64(key, ops->number(value));
			return true;
		case CVX_T_ARRAY:
			{
				ElementState s = {key, ops, depth + 1};
				bool		ok;

				key_byte(key, CVX_KEY_ARRAY);
				ok = ops->array_foreach(value, key_element, &s);
				key_byte(key, 0x00);
				return ok;
			}
		case CVX_T_OBJECT:
			{
				double		f;
				int64_t		i;
				const char *base64;
				size_t		base64_len;

				if (ops->size(value) == 1)
				{
					if (cvx_value_int64(value, ops, &i))
					{
						cvx_key_int64(key, i);
						return true;
					}
					if (cvx_value_float64(value, ops, &f))
					{
						cvx_key_float64(key, f);
						return true;
					}
					if (cvx_value_bytes(value, ops, &base64, &base64_len))
					{
						size_t		size = base64_len / 4 * 3 + 3;
						uint8_t    *bytes = key->realloc_fn(NULL, size);
						size_t		n;
						bool		ok = cvx_base64_decode(base64, base64_len, bytes, size, &n);

						if (ok)
							cvx_key_bytes(key, bytes, n);
						key->free_fn(bytes);
						return ok;
					}
				}
				return key_object(key, value, ops, depth);
			}
	}
	return false;
}

/* Append the key of a Convex value in its JSON form */
bool
cvx_key_value(CvxKey *key, const CvxValue *value, const CvxValueOps *ops)
{
	return key_value(key, value, ops, 1);
}
