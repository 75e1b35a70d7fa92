/*-------------------------------------------------------------------------
 *
 * cvx_sortkey.h
 *	  Convex's total order on values as byte strings: the key of a value
 *	  compares with memcmp (shorter first on a common prefix) exactly as
 *	  compareValues (convex-js src/values/compare.ts) compares the values.
 *
 * Part of the convexlite core (no PostgreSQL).  Indexes store these keys
 * for the fields whose SQL order differs from Convex's (jsonb fields,
 * numbers, optional fields), so a btree over bytea gives Convex's order.
 *
 * The encoding: a type tag, then the value.
 *	  undefined (a missing field)  01
 *	  null                         02
 *	  int64                        03  8 bytes big-endian, sign bit flipped
 *	  float64                      04  8 bytes big-endian: positive values
 *	                                   with the sign bit set, negative ones
 *	                                   with every bit inverted (so -0 < 0;
 *	                                   every NaN is the quiet NaN, above +Inf)
 *	  boolean                      05  00 or 01
 *	  string                       06  UTF-8 bytes, 00 escaped as 00 FF,
 *	                                   ended by 00 01
 *	  bytes                        07  as a string
 *	  array                        08  the elements' keys, ended by 00
 *	  object                       09  per field in key byte order: 01, the
 *	                                   name as a string, the value's key;
 *	                                   ended by 00
 * Every key is prefix-free, so concatenations compare element by element.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_SORTKEY_H
#define CVX_SORTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvx_validator.h"

#define CVX_KEY_UNDEFINED 0x01
#define CVX_KEY_NULL 0x02
#define CVX_KEY_INT64 0x03
#define CVX_KEY_FLOAT64 0x04
#define CVX_KEY_BOOLEAN 0x05
#define CVX_KEY_STRING 0x06
#define CVX_KEY_BYTES 0x07
#define CVX_KEY_ARRAY 0x08
#define CVX_KEY_OBJECT 0x09

/*
 * A key under construction.  realloc_fn(NULL, n) allocates, realloc_fn(p, n)
 * grows; it never returns NULL (it aborts or raises an error instead).
 * free_fn releases scratch memory.  The caller owns data.
 */
typedef struct CvxKey
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	void	   *(*realloc_fn) (void *ptr, size_t size);
	void		(*free_fn) (void *ptr);
} CvxKey;

extern void cvx_key_undefined(CvxKey *key);
extern void cvx_key_null(CvxKey *key);
extern void cvx_key_int64(CvxKey *key, int64_t value);
extern void cvx_key_float64(CvxKey *key, double value);
extern void cvx_key_boolean(CvxKey *key, bool value);
extern void cvx_key_string(CvxKey *key, const char *s, size_t len);
extern void cvx_key_bytes(CvxKey *key, const uint8_t *bytes, size_t len);

/*
 * Append the key of a Convex value in its JSON form (numbers, {"$integer"},
 * {"$float"}, {"$bytes"}, strings, booleans, null, arrays, objects).
 * False when the value is not one (malformed $-objects, nesting deeper than
 * CVX_MAX_NESTING); key->len is then unspecified.
 */
extern bool cvx_key_value(CvxKey *key, const CvxValue *value, const CvxValueOps *ops);

#endif							/* CVX_SORTKEY_H */
