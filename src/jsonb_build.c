/*-------------------------------------------------------------------------
 *
 * jsonb_build.c
 *	  Documents, and arrays of them, written straight into jsonb's binary
 *	  form.
 *
 * pushJsonbValue builds a tree of JsonbValues, sorts every object's keys
 * when it ends, and JsonbValueToJsonb then walks the tree again to write
 * the bytes: for a room's 200 messages that was most of messages.list.
 * A document's keys are known in jsonb's order before any row is read
 * (CvxTable.document_keys), so a row can be written in place, in the very
 * bytes convertToJsonb (jsonb_util.c) would give:
 *
 *	- a container is padded with zeros to a multiple of 4, then comes its
 *	  header (count | JB_FOBJECT or JB_FARRAY), its JEntries (an object's
 *	  keys, then its values), then the keys' bytes and the values' bytes;
 *	- a JEntry holds its child's type and length, except every
 *	  JB_OFFSET_STRIDE'th, which holds the end offset and JENTRY_HAS_OFF;
 *	- a child's length counts the padding before it (numbers and
 *	  containers are padded, strings are not);
 *	- a number is its numeric's varlena bytes.
 *
 * Padding depends only on a position modulo 4.  Every container starts at
 * a multiple of 4 and its header and JEntries are 4 bytes each, so a
 * value written into a buffer whose start is 4-aligned relative to where
 * the value ends up has the same bytes there: documents are written into
 * one buffer of an array's elements before the array's JEntries, whose
 * number is known only at the end, are put in front of them.  A stored
 * jsonb's root container is copied as it is for the same reason.
 *
 * test/pgtap/jsonb_build.sql checks the bytes against PostgreSQL's own
 * (a document's text parsed again is the same size and equal).
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "common/base64.h"
#include "utils/memutils.h"

static const char zero_padding[4] = {0, 0, 0, 0};

/* Pad buf with zero bytes to a multiple of 4; returns how many */
static inline int
pad_to_int(StringInfo buf)
{
	int			padding = INTALIGN(buf->len) - buf->len;

	if (padding > 0)
		appendBinaryStringInfoNT(buf, zero_padding, padding);
	return padding;
}

/* Make room for len bytes at the end of buf; returns where they start */
static inline int
reserve(StringInfo buf, int len)
{
	int			offset;

	enlargeStringInfo(buf, len);
	offset = buf->len;
	buf->len += len;
	return offset;
}

/* Append a container header */
static inline void
append_header(StringInfo buf, uint32 header)
{
	appendBinaryStringInfoNT(buf, (const char *) &header, sizeof(header));
}

/* The error of a container larger than a JEntry can address (jsonb_util.c's) */
static void
too_large(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("total size of jsonb elements exceeds the maximum of %d bytes",
					JENTRY_OFFLENMASK)));
}

/*
 * The JEntry of a container written from base (its padding included) to
 * the end of buf
 */
static inline JEntry
container_entry(StringInfo buf, int base)
{
	if (buf->len - base > JENTRY_OFFLENMASK)
		too_large();
	return JENTRY_ISCONTAINER | (JEntry) (buf->len - base);
}

/*
 * Store child i's JEntry meta at the container's JEntries (offset entries
 * in buf); total is the children's length up to and including child i.
 */
static inline void
set_entry(StringInfo buf, int entries, int i, JEntry meta, int64 total)
{
	if (total > JENTRY_OFFLENMASK)
		too_large();
	if (i % JB_OFFSET_STRIDE == 0)
		meta = (meta & JENTRY_TYPEMASK) | (JEntry) total | JENTRY_HAS_OFF;
	memcpy(buf->data + entries + i * sizeof(JEntry), &meta, sizeof(JEntry));
}

/* Append a string's bytes; returns its JEntry */
static inline JEntry
write_string(StringInfo buf, const char *value, int len)
{
	if (len > JENTRY_OFFLENMASK)
		too_large();
	appendBinaryStringInfoNT(buf, value, len);
	return JENTRY_ISSTRING | (JEntry) len;
}

/* Append a number; returns its JEntry */
static inline JEntry
write_numeric(StringInfo buf, Numeric value)
{
	int			padding = pad_to_int(buf);
	int			len = VARSIZE_ANY(value);

	appendBinaryStringInfoNT(buf, (const char *) value, len);
	return JENTRY_ISNUMERIC | (JEntry) (padding + len);
}

/* Append a scalar (null, string, number or boolean); returns its JEntry */
static JEntry
write_scalar(StringInfo buf, const JsonbValue *value)
{
	switch (value->type)
	{
		case jbvNull:
			return JENTRY_ISNULL;
		case jbvString:
			return write_string(buf, value->val.string.val, value->val.string.len);
		case jbvNumeric:
			return write_numeric(buf, value->val.numeric);
		case jbvBool:
			return value->val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
		default:
			elog(ERROR, "convexlite: unexpected jsonb scalar type %d", (int) value->type);
	}
	return 0;					/* not reached */
}

/*
 * Append {"<key>": base64 of len bytes}, Convex's form of int64, bytes and
 * the floats JSON cannot carry; returns its JEntry
 */
static JEntry
write_encoded(StringInfo buf, const char *key, const char *data, int len)
{
	int			base = buf->len;
	int			key_len = (int) strlen(key);
	int			encoded_max = pg_b64_enc_len(len);
	int			entries;
	int			encoded_len;

	pad_to_int(buf);
	append_header(buf, 1 | JB_FOBJECT);
	entries = reserve(buf, 2 * sizeof(JEntry));
	appendBinaryStringInfoNT(buf, key, key_len);
	enlargeStringInfo(buf, encoded_max);
	encoded_len = pg_b64_encode(data, len, buf->data + buf->len, encoded_max);
	if (encoded_len < 0)
		elog(ERROR, "convexlite: base64 encoding failed");
	buf->len += encoded_len;
	set_entry(buf, entries, 0, JENTRY_ISSTRING | (JEntry) key_len, key_len);
	set_entry(buf, entries, 1, JENTRY_ISSTRING | (JEntry) encoded_len,
			  (int64) key_len + encoded_len);
	return container_entry(buf, base);
}

/*
 * Append a float64 field value: a JSON number, or Convex's
 * {"$float": base64} for NaN, +-Infinity and -0; returns its JEntry
 */
static JEntry
write_float8(StringInfo buf, double value)
{
	uint64		bits;
	uint8		le[8];

	if (isfinite(value) && !(value == 0 && signbit(value)))
	{
		int			padding = pad_to_int(buf);
		int			len;

		enlargeStringInfo(buf, CVX_FLOAT8_NUMERIC_MAX);
		len = cvx_float8_numeric_bytes(value, buf->data + buf->len);
		if (len == 0)
			return padding + write_numeric(buf, cvx_float8_to_numeric(value));
		buf->len += len;
		return JENTRY_ISNUMERIC | (JEntry) (padding + len);
	}
	/* the 8 bytes little-endian; every NaN as the usual quiet NaN */
	if (isnan(value))
		bits = UINT64CONST(0x7ff8000000000000);
	else
		memcpy(&bits, &value, sizeof(bits));
	for (int i = 0; i < 8; i++)
		le[i] = (uint8) (bits >> (8 * i));
	return write_encoded(buf, "$float", (const char *) le, 8);
}

/* Append a stored jsonb value: its root container as it is, or its scalar */
static JEntry
write_stored_jsonb(StringInfo buf, Jsonb *jsonb)
{
	int			base = buf->len;
	int			len = VARSIZE(jsonb) - VARHDRSZ;

	if (JB_ROOT_IS_SCALAR(jsonb))
	{
		JsonbValue	scalar;

		if (!JsonbExtractScalar(&jsonb->root, &scalar))
			elog(ERROR, "convexlite: could not read a jsonb scalar");
		return write_scalar(buf, &scalar);
	}
	pad_to_int(buf);
	appendBinaryStringInfoNT(buf, (const char *) &jsonb->root, len);
	return container_entry(buf, base);
}

/* Append one column's stored value (not NULL) as its field's value */
static JEntry
write_column_value(StringInfo buf, const CvxColumn *column, Datum datum)
{
	switch (column->type)
	{
		case CVX_COL_TEXT:
			{
				text	   *value = DatumGetTextPP(datum);

				return write_string(buf, VARDATA_ANY(value), (int) VARSIZE_ANY_EXHDR(value));
			}
		case CVX_COL_FLOAT8:
			return write_float8(buf, DatumGetFloat8(datum));
		case CVX_COL_BOOL:
			return DatumGetBool(datum) ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
		case CVX_COL_INT8:
			{
				uint64		i = (uint64) DatumGetInt64(datum);
				uint8		le[8];

				for (int b = 0; b < 8; b++)
					le[b] = (uint8) (i >> (8 * b));
				return write_encoded(buf, "$integer", (const char *) le, 8);
			}
		case CVX_COL_BYTEA:
			{
				bytea	   *b = DatumGetByteaPP(datum);

				return write_encoded(buf, "$bytes", VARDATA_ANY(b), (int) VARSIZE_ANY_EXHDR(b));
			}
		case CVX_COL_JSONB:
			return write_stored_jsonb(buf, DatumGetJsonbP(datum));
	}
	elog(ERROR, "convexlite: unknown column type %d", (int) column->type);
	return 0;					/* not reached */
}

/*
 * jsonb's order of object keys: shorter first, then bytewise (<0, 0, >0)
 */
int
cvx_jsonb_key_compare(const char *a, int a_len, const char *b, int b_len)
{
	if (a_len != b_len)
		return a_len < b_len ? -1 : 1;
	return memcmp(a, b, a_len);
}

/* Is document key k (a CvxDocumentKey's column) present in the row? */
static inline bool
key_present(int k, const bool *nulls)
{
	return k < 0 || !nulls[k + 2];
}

/*
 * Append a row's document (values[0] _id, values[1] _creation_time,
 * values[2 + i] column i; an absent optional field is NULL); returns its
 * JEntry.  Its keys go in table->document_keys' order, jsonb's.  When
 * extra_name is given, the document also has that field, with the scalar
 * extra_value, in its place among the keys (a field of the table by that
 * name is an error).
 */
static JEntry
write_document(StringInfo buf, const CvxTable *table, const Datum *values, const bool *nulls,
			   const char *extra_name, const JsonbValue *extra_value)
{
	int			nkeys = table->ncolumns + 2;
	const CvxDocumentKey *keys = table->document_keys;
	int			extra_len = extra_name != NULL ? (int) strlen(extra_name) : 0;
	int			extra_at = nkeys;	/* the extra key goes before keys[extra_at] */
	int			base = buf->len;
	int			npairs = 0;
	int			keys_len = 0;
	int			entries;
	int			i = 0;
	int64		total = 0;

	for (int n = 0; n < nkeys; n++)
		if (key_present(keys[n].column, nulls))
		{
			npairs++;
			keys_len += keys[n].length;
		}
	if (extra_name != NULL)
	{
		for (int n = 0; n < nkeys && extra_at == nkeys; n++)
		{
			int			order = cvx_jsonb_key_compare(extra_name, extra_len,
													  keys[n].name, keys[n].length);

			if (order == 0)
				elog(ERROR, "convexlite: table \"%s\" has a field \"%s\", which its query adds",
					 table->name, extra_name);
			if (order < 0)
				extra_at = n;
		}
		npairs++;
		keys_len += extra_len;
	}
	pad_to_int(buf);
	append_header(buf, (uint32) npairs | JB_FOBJECT);
	entries = reserve(buf, 2 * npairs * sizeof(JEntry) + keys_len);
	buf->len = entries + 2 * npairs * sizeof(JEntry);

	/* the keys, into the room just made */
	for (int n = 0; n <= nkeys; n++)
	{
		const char *name;
		int			len;

		if (n == extra_at && extra_name != NULL)
		{
			memcpy(buf->data + buf->len, extra_name, extra_len);
			buf->len += extra_len;
			total += extra_len;
			set_entry(buf, entries, i++, JENTRY_ISSTRING | (JEntry) extra_len, total);
		}
		if (n == nkeys || !key_present(keys[n].column, nulls))
			continue;
		name = keys[n].name;
		len = keys[n].length;
		memcpy(buf->data + buf->len, name, len);
		buf->len += len;
		total += len;
		set_entry(buf, entries, i++, JENTRY_ISSTRING | (JEntry) len, total);
	}
	/* then the values, in the same order */
	for (int n = 0; n <= nkeys; n++)
	{
		int			k;
		JEntry		meta;

		if (n == extra_at && extra_name != NULL)
		{
			meta = write_scalar(buf, extra_value);
			total += JBE_OFFLENFLD(meta);
			set_entry(buf, entries, i++, meta, total);
		}
		if (n == nkeys || !key_present(keys[n].column, nulls))
			continue;
		k = keys[n].column;
		if (k == CVX_KEY_ID)
		{
			text	   *id = DatumGetTextPP(values[0]);

			meta = write_string(buf, VARDATA_ANY(id), (int) VARSIZE_ANY_EXHDR(id));
		}
		else if (k == CVX_KEY_CREATION_TIME)
			meta = write_float8(buf, DatumGetFloat8(values[1]));
		else
			meta = write_column_value(buf, &table->columns[k], values[k + 2]);
		total += JBE_OFFLENFLD(meta);
		set_entry(buf, entries, i++, meta, total);
	}
	return container_entry(buf, base);
}

/*
 * A row's document as jsonb, from its deformed values (the layout of
 * write_document), in the current memory context
 */
Jsonb *
cvx_values_to_document(const CvxTable *table, const Datum *values, const bool *nulls)
{
	StringInfoData buf;

	initStringInfo(&buf);
	(void) reserve(&buf, VARHDRSZ);
	(void) write_document(&buf, table, values, nulls, NULL, NULL);
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}

/*
 * An object of npairs keys, given in jsonb's order (shorter first, then
 * bytewise; no two alike), and their values: scalars, or jbvBinary
 * containers (copied as they are).  In the current memory context.
 */
Jsonb *
cvx_jsonb_object(int npairs, const char *const *keys, const JsonbValue *values)
{
	StringInfoData buf;
	int			entries;
	int64		total = 0;

	initStringInfo(&buf);
	(void) reserve(&buf, VARHDRSZ);
	append_header(&buf, (uint32) npairs | JB_FOBJECT);
	entries = reserve(&buf, 2 * npairs * sizeof(JEntry));
	for (int i = 0; i < npairs; i++)
	{
		int			len = (int) strlen(keys[i]);

		if (i > 0 && cvx_jsonb_key_compare(keys[i - 1], (int) strlen(keys[i - 1]), keys[i], len) >= 0)
			elog(ERROR, "convexlite: object keys \"%s\" and \"%s\" are not in jsonb's order",
				 keys[i - 1], keys[i]);
		total += len;
		set_entry(&buf, entries, i, write_string(&buf, keys[i], len), total);
	}
	for (int i = 0; i < npairs; i++)
	{
		JEntry		meta;

		if (values[i].type == jbvBinary)
		{
			int			base = buf.len;

			pad_to_int(&buf);
			appendBinaryStringInfoNT(&buf, (const char *) values[i].val.binary.data,
									 values[i].val.binary.len);
			meta = container_entry(&buf, base);
		}
		else
			meta = write_scalar(&buf, &values[i]);
		total += JBE_OFFLENFLD(meta);
		set_entry(&buf, entries, npairs + i, meta, total);
	}
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}

/*
 * The buffer arrays are written in, kept for the backend's life: a call
 * that lists a room writes tens of kilobytes, and a buffer allocated and
 * freed by every call cost page faults and copies as it grew.  One array
 * at a time has it (others get their own); it is given back when the
 * array is finished, or when the memory context the array was started in
 * goes away after an error (a reset callback, which knows the buffer by
 * the number of its lending, so that a stale callback does nothing).
 */
static StringInfoData scratch;
static bool scratch_lent = false;
static uint64 scratch_lending = 0;

/* Most bytes the scratch buffer keeps between calls */
#define SCRATCH_KEEP (4 * 1024 * 1024)

/* Reset callback: the lent scratch buffer's array is gone */
static void
scratch_return(void *arg)
{
	if (scratch_lent && scratch_lending == *(uint64 *) arg)
		scratch_lent = false;
}

/* Start an empty array, its JEntries in the current memory context */
void
cvx_jsonb_array_init(CvxJsonbArray *array)
{
	array->capacity = 256;
	array->count = 0;
	array->entries = palloc(sizeof(JEntry) * array->capacity);
	if (!scratch_lent)
	{
		MemoryContextCallback *callback = palloc(sizeof(MemoryContextCallback));
		uint64	   *lending = palloc(sizeof(uint64));

		if (scratch.data == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			initStringInfo(&scratch);
			enlargeStringInfo(&scratch, 64 * 1024);
			MemoryContextSwitchTo(old);
		}
		resetStringInfo(&scratch);
		scratch_lent = true;
		*lending = ++scratch_lending;
		callback->func = scratch_return;
		callback->arg = lending;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, callback);
		array->data = &scratch;
	}
	else
	{
		initStringInfo(&array->own);
		array->data = &array->own;
	}
}

/* Room for one more element's JEntry */
static inline void
array_grow(CvxJsonbArray *array)
{
	if (array->count == array->capacity)
	{
		if (array->capacity >= (int) JB_CMASK / 2)
			too_large();
		array->capacity *= 2;
		array->entries = repalloc(array->entries, sizeof(JEntry) * array->capacity);
	}
}

/*
 * Append a row's document (cvx_values_to_document's layout) to an array,
 * with the field extra_name: extra_value when extra_name is given
 */
void
cvx_jsonb_array_add_document(CvxJsonbArray *array, const CvxTable *table,
							 const Datum *values, const bool *nulls,
							 const char *extra_name, const JsonbValue *extra_value)
{
	array_grow(array);
	array->entries[array->count++] = write_document(array->data, table, values, nulls,
													extra_name, extra_value);
}

/* Append a copy of a jsonb value to an array */
void
cvx_jsonb_array_add(CvxJsonbArray *array, Jsonb *value)
{
	array_grow(array);
	array->entries[array->count++] = write_stored_jsonb(array->data, value);
}

/*
 * The array as jsonb, allocated in context; the array's buffer is given
 * back (or freed)
 */
Jsonb *
cvx_jsonb_array_finish(CvxJsonbArray *array, MemoryContext context)
{
	int			count = array->count;
	StringInfo	data = array->data;
	Size		size = VARHDRSZ + sizeof(uint32) + sizeof(JEntry) * (Size) count + data->len;
	Jsonb	   *result;
	JEntry	   *entries;
	int64		total = 0;

	/* the root's header, JEntries and elements, as convertJsonbArray counts them */
	if (size - VARHDRSZ > JENTRY_OFFLENMASK || !AllocSizeIsValid(size))
		too_large();
	result = MemoryContextAlloc(context, size);
	SET_VARSIZE(result, size);
	result->root.header = (uint32) count | JB_FARRAY;
	entries = result->root.children;
	for (int i = 0; i < count; i++)
	{
		JEntry		meta = array->entries[i];

		total += JBE_OFFLENFLD(meta);
		if (i % JB_OFFSET_STRIDE == 0)
			meta = (meta & JENTRY_TYPEMASK) | (JEntry) total | JENTRY_HAS_OFF;
		entries[i] = meta;
	}
	memcpy((char *) &entries[count], data->data, data->len);
	if (data == &scratch)
	{
		/* given back, unless it grew huge */
		if (scratch.maxlen > SCRATCH_KEEP)
		{
			pfree(scratch.data);
			scratch.data = NULL;
		}
		scratch_lent = false;
	}
	else
		pfree(data->data);
	array->data = NULL;
	return result;
}
