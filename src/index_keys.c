/*-------------------------------------------------------------------------
 *
 * index_keys.c
 *	  convex.index_key(value): the bytea key under which an index stores a
 *	  field whose SQL order is not Convex's (src/core/cvx_sortkey.h).
 *
 * Convex orders values by type (undefined < null < int64 < float64 <
 * boolean < string < bytes < array < object), then within the type.  A
 * jsonb column holds values of several types in JSON form, a float8
 * column has -0 = 0 in SQL, and an optional field is missing as SQL NULL;
 * for those fields an index covers index_key(column) instead of the column
 * (schema.c) and convex_db_query compares keys (query.c).  The functions
 * are not strict: NULL, a missing field, has the lowest key.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "cvx_sortkey.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(convex_index_key_jsonb);
PG_FUNCTION_INFO_V1(convex_index_key_text);
PG_FUNCTION_INFO_V1(convex_index_key_float8);
PG_FUNCTION_INFO_V1(convex_index_key_bool);
PG_FUNCTION_INFO_V1(convex_index_key_int8);
PG_FUNCTION_INFO_V1(convex_index_key_bytea);

/* The key allocator: palloc / repalloc in the current context */
static void *
key_realloc(void *ptr, size_t size)
{
	return ptr == NULL ? palloc(size) : repalloc(ptr, size);
}

/* Scratch memory of the key builder */
static void
key_free(void *ptr)
{
	pfree(ptr);
}

/* A new key; room for a header is kept in front of it */
static void
key_start(CvxKey *key)
{
	key->cap = 64;
	key->data = palloc(key->cap);
	key->len = VARHDRSZ;
	key->realloc_fn = key_realloc;
	key->free_fn = key_free;
}

/* The finished key as bytea */
static Datum
key_finish(CvxKey *key)
{
	SET_VARSIZE(key->data, key->len);
	PG_RETURN_BYTEA_P((bytea *) key->data);
}

/* convex.index_key(jsonb): a Convex value in JSON form */
Datum
convex_index_key_jsonb(PG_FUNCTION_ARGS)
{
	CvxKey		key;
	CvxValue	value;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
	{
		cvx_jsonb_value(PG_GETARG_JSONB_P(0), &value);
		if (!cvx_key_value(&key, &value, &cvx_jsonb_ops))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("index_key: the value is nested more than %d levels deep",
							CVX_MAX_NESTING)));
	}
	return key_finish(&key);
}

/* convex.index_key(text): a string or id */
Datum
convex_index_key_text(PG_FUNCTION_ARGS)
{
	CvxKey		key;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
	{
		text	   *t = PG_GETARG_TEXT_PP(0);

		cvx_key_string(&key, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	return key_finish(&key);
}

/* convex.index_key(double precision): a float64 */
Datum
convex_index_key_float8(PG_FUNCTION_ARGS)
{
	CvxKey		key;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
		cvx_key_float64(&key, PG_GETARG_FLOAT8(0));
	return key_finish(&key);
}

/* convex.index_key(boolean) */
Datum
convex_index_key_bool(PG_FUNCTION_ARGS)
{
	CvxKey		key;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
		cvx_key_boolean(&key, PG_GETARG_BOOL(0));
	return key_finish(&key);
}

/* convex.index_key(bigint): an int64 */
Datum
convex_index_key_int8(PG_FUNCTION_ARGS)
{
	CvxKey		key;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
		cvx_key_int64(&key, PG_GETARG_INT64(0));
	return key_finish(&key);
}

/* convex.index_key(bytea): bytes */
Datum
convex_index_key_bytea(PG_FUNCTION_ARGS)
{
	CvxKey		key;

	key_start(&key);
	if (PG_ARGISNULL(0))
		cvx_key_undefined(&key);
	else
	{
		bytea	   *b = PG_GETARG_BYTEA_PP(0);

		cvx_key_bytes(&key, (const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	}
	return key_finish(&key);
}
