/*-------------------------------------------------------------------------
 *
 * documents.c
 *	  Convex documents to table rows and back.
 *
 * A row holds _id, _creation_time and one column per top-level field
 * (camelCase field, snake_case column).  An absent optional field is a SQL
 * NULL and is absent from the document again when read back.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "common/int.h"
#include "common/shortest_dec.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

/*
 * Check a whole document against its table's schema (23514 on failure).
 * stored_id names a stored document being re-checked by a schema change,
 * or is NULL for a write.
 */
void
cvx_check_document(CvxTable *table, const CvxValue *document, const char *stored_id)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;

	/*
	 * A written document must first be a Convex value (nesting <= 16,
	 * fields, array length, no '$' field names), as Convex decodes it
	 * before checking the schema.
	 */
	if (stored_id == NULL)
	{
		char		reason[256];
		CvxValueFault fault = cvx_value_fault(document, &cvx_jsonb_ops, true,
											  reason, sizeof(reason));

		if (fault != CVX_VALUE_OK)
			ereport(ERROR,
					(errcode(cvx_value_fault_sqlstate(fault)),
					 errmsg("Invalid document for table \"%s\": %s", table->name, reason)));
	}
	if (!cvx_check(table->validator, document, &context, &error))
	{
		char	   *prefix = stored_id == NULL ?
			psprintf("Failed to insert or update a document in table \"%s\" "
					 "because it does not match the schema: ", table->name) :
			psprintf("Schema validation failed. Document with ID \"%s\" in table \"%s\" "
					 "does not match the schema: ", stored_id, table->name);

		cvx_raise_validation_error(prefix, &error, &context, ERRCODE_CHECK_VIOLATION);
	}
}

/* The SQLSTATE of a value that breaks Convex's value rules */
int
cvx_value_fault_sqlstate(CvxValueFault fault)
{
	return fault == CVX_VALUE_TOO_LARGE ?
		ERRCODE_PROGRAM_LIMIT_EXCEEDED : ERRCODE_INVALID_PARAMETER_VALUE;
}

/* A {"$bytes": base64} value as bytea */
static bytea *
bytes_value(const CvxValue *value)
{
	const char *base64;
	size_t		base64_len;
	size_t		len;
	bytea	   *result;

	if (!cvx_value_bytes(value, &cvx_jsonb_ops, &base64, &base64_len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bytes value must be {\"$bytes\": base64}")));
	result = palloc(VARHDRSZ + base64_len / 4 * 3 + 3);
	if (!cvx_base64_decode(base64, base64_len, (uint8_t *) VARDATA(result),
						   base64_len / 4 * 3 + 3, &len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid base64 in a bytes value")));
	SET_VARSIZE(result, VARHDRSZ + len);
	return result;
}

/* One validated field value as the Datum of its column */
Datum
cvx_field_datum(const CvxColumn *column, const CvxValue *value)
{
	switch (column->type)
	{
		case CVX_COL_TEXT:
			return PointerGetDatum(cvx_value_text(value));
		case CVX_COL_FLOAT8:
			return Float8GetDatum(cvx_value_number(value));
		case CVX_COL_BOOL:
			return BoolGetDatum(value->boolean);
		case CVX_COL_INT8:
			{
				int64_t		i;

				if (!cvx_value_int64(value, &cvx_jsonb_ops, &i))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("an int64 value must be {\"$integer\": base64}")));
				return Int64GetDatum((int64) i);
			}
		case CVX_COL_BYTEA:
			return PointerGetDatum(bytes_value(value));
		case CVX_COL_JSONB:
			return JsonbPGetDatum(cvx_value_jsonb(value));
	}
	pg_unreachable();
}

/*
 * Fill values/nulls (one slot per column, after _id and _creation_time,
 * which the caller fills) from a document already checked against the
 * table's validator.
 */
void
cvx_document_to_row(CvxTable *table, const CvxValue *document,
					Datum *values, bool *nulls)
{
	for (int i = 0; i < table->ncolumns; i++)
	{
		const CvxColumn *column = &table->columns[i];
		CvxValue	value;

		if (cvx_jsonb_ops.object_get(document, column->field->name,
									 column->field->name_len, &value))
		{
			values[i] = cvx_field_datum(column, &value);
			nulls[i] = false;
		}
		else
		{
			values[i] = (Datum) 0;
			nulls[i] = true;
		}
	}
}

/*
 * numeric's on-disk header (numeric.c's format, which every stored numeric
 * keeps): a 4-byte varlena header, then either the short header (sign,
 * display scale and weight in one uint16) or the long one (sign and
 * display scale, then the weight), then base-10000 digits, most
 * significant first, without leading or trailing zero digits.
 */
#define NUMERIC_SHORT_FLAG			0x8000
#define NUMERIC_SHORT_NEGATIVE		0x2000
#define NUMERIC_SHORT_SCALE_SHIFT	7
#define NUMERIC_SHORT_SCALE_MAX		63
#define NUMERIC_SHORT_WEIGHT_NEG	0x0040
#define NUMERIC_SHORT_WEIGHT_MASK	0x003F
#define NUMERIC_SHORT_WEIGHT_MAX	63
#define NUMERIC_SHORT_WEIGHT_MIN	(-64)
#define NUMERIC_LONG_NEGATIVE		0x4000
#define NUMERIC_LONG_SCALE_MASK		0x3FFF

/*
 * Write the numeric of (negative ? -1 : 1) * mantissa / 10^scale, display
 * scale `scale`, into out (CVX_FLOAT8_NUMERIC_MAX bytes) as numeric.c's
 * make_result lays it out.  Returns its size, or 0 when mantissa is too
 * large to align to base-10000 digits in 64 bits.
 */
static int
decimal_to_numeric_bytes(bool negative, uint64 mantissa, int scale, char *out)
{
	static const uint64 powers[4] = {1, 10, 100, 1000};
	int			pad = (4 - scale % 4) % 4;
	int			fraction_digits = (scale + pad) / 4;
	uint16		reversed[5];	/* below 2^64 < 10000^5 */
	int			n = 0;
	int			low = 0;
	int			weight;
	int			size;
	uint64		aligned;

	if (mantissa == 0)
	{
		/* zero: no digits, weight 0, positive */
		uint16		header = NUMERIC_SHORT_FLAG | (uint16) (scale << NUMERIC_SHORT_SCALE_SHIFT);

		if (scale > NUMERIC_SHORT_SCALE_MAX)
			return 0;
		memcpy(out + VARHDRSZ, &header, sizeof(header));
		SET_VARSIZE(out, VARHDRSZ + sizeof(uint16));
		return VARHDRSZ + sizeof(uint16);
	}
	if (mantissa > PG_UINT64_MAX / powers[pad])
		return 0;
	aligned = mantissa * powers[pad];
	while (aligned > 0)
	{
		reversed[n++] = (uint16) (aligned % 10000);
		aligned /= 10000;
	}
	while (reversed[low] == 0)
		low++;					/* trailing zero digits */
	weight = n - 1 - fraction_digits;
	if (scale <= NUMERIC_SHORT_SCALE_MAX && weight >= NUMERIC_SHORT_WEIGHT_MIN &&
		weight <= NUMERIC_SHORT_WEIGHT_MAX)
	{
		uint16		header = NUMERIC_SHORT_FLAG |
			(negative ? NUMERIC_SHORT_NEGATIVE : 0) |
			(uint16) (scale << NUMERIC_SHORT_SCALE_SHIFT) |
			(weight < 0 ? NUMERIC_SHORT_WEIGHT_NEG : 0) |
			(uint16) (weight & NUMERIC_SHORT_WEIGHT_MASK);

		memcpy(out + VARHDRSZ, &header, sizeof(header));
		size = VARHDRSZ + sizeof(uint16);
	}
	else
	{
		uint16		sign_scale = (negative ? NUMERIC_LONG_NEGATIVE : 0) |
			(uint16) (scale & NUMERIC_LONG_SCALE_MASK);
		int16		weight16 = (int16) weight;

		memcpy(out + VARHDRSZ, &sign_scale, sizeof(sign_scale));
		memcpy(out + VARHDRSZ + sizeof(uint16), &weight16, sizeof(weight16));
		size = VARHDRSZ + 2 * sizeof(uint16);
	}
	for (int i = n - 1; i >= low; i--)
	{
		memcpy(out + size, &reversed[i], sizeof(uint16));
		size += sizeof(uint16);
	}
	SET_VARSIZE(out, size);
	return size;
}

/*
 * The shortest decimal text of a finite double ("1733350000000.123",
 * "1.5e-07", "-42") written as a numeric (decimal_to_numeric_bytes) with
 * the value and display scale numeric_in gives that text: its significant
 * digits (at most 17) scaled by a power of ten.  Returns the size, or 0
 * for the rare texts left to numeric_in (a mantissa that does not fit).
 */
static int
shortest_decimal_to_numeric_bytes(const char *text, char *out)
{
	const char *p = text;
	bool		negative = false;
	bool		seen_point = false;
	uint64		mantissa = 0;
	int			fraction_digits = 0;
	int			exponent = 0;
	int			log10_divisor;

	if (*p == '-')
	{
		negative = true;
		p++;
	}
	for (; *p != '\0' && *p != 'e'; p++)
	{
		if (*p == '.')
		{
			seen_point = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return 0;
		mantissa = mantissa * 10 + (uint64) (*p - '0');	/* at most 17 digits: no overflow */
		if (seen_point)
			fraction_digits++;
	}
	if (*p == 'e')
	{
		bool		exponent_negative = false;

		p++;
		if (*p == '+' || *p == '-')
			exponent_negative = (*p++ == '-');
		for (; *p >= '0' && *p <= '9'; p++)
			exponent = exponent * 10 + (*p - '0');
		if (exponent_negative)
			exponent = -exponent;
	}
	if (*p != '\0')
		return 0;
	log10_divisor = fraction_digits - exponent;
	/* an integer: mantissa * 10^-log10_divisor, display scale 0 */
	for (; log10_divisor < 0; log10_divisor++)
		if (pg_mul_u64_overflow(mantissa, 10, &mantissa))
			return 0;
	return decimal_to_numeric_bytes(negative, mantissa, log10_divisor, out);
}

/*
 * Write a finite float64 (not -0) as the numeric with the shortest text
 * that reads back as the same double (so _creationTime keeps every
 * digit), whatever extra_float_digits says, into out
 * (CVX_FLOAT8_NUMERIC_MAX bytes).  Returns its size, or 0 when only
 * numeric_in can make it (cvx_float8_to_numeric then does).
 */
int
cvx_float8_numeric_bytes(double value, char *out)
{
	char		buffer[DOUBLE_SHORTEST_DECIMAL_LEN];

	Assert(isfinite(value));
	/* an integer below 2^53: its shortest text is its own digits */
	if (fabs(value) < 9007199254740992.0 && value == trunc(value))
		return decimal_to_numeric_bytes(value < 0, (uint64) fabs(value), 0, out);
	double_to_shortest_decimal_buf(value, buffer);
	return shortest_decimal_to_numeric_bytes(buffer, out);
}

/*
 * A finite float64 as a numeric with the shortest text that reads back as
 * the same double (cvx_float8_numeric_bytes).  The callers use Convex's
 * {"$float": base64} form for the other values.
 */
Numeric
cvx_float8_to_numeric(double value)
{
	char		buffer[DOUBLE_SHORTEST_DECIMAL_LEN];
	Numeric		numeric = palloc(CVX_FLOAT8_NUMERIC_MAX);

	if (cvx_float8_numeric_bytes(value, (char *) numeric) > 0)
		return numeric;
	pfree(numeric);
	double_to_shortest_decimal_buf(value, buffer);
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buffer),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* Push an object key (of a JSON object under construction) */
void
cvx_push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	jbv = {.type = jbvString};	/* every byte defined: it is copied whole */

	jbv.val.string.val = (char *) key;
	jbv.val.string.len = (int) strlen(key);
	pushJsonbValue(state, WJB_KEY, &jbv);
}

/* qsort comparator: jsonb's order of object keys (length, then bytes) */
static int
compare_document_keys(const void *a, const void *b)
{
	const CvxDocumentKey *x = a;
	const CvxDocumentKey *y = b;

	return cvx_jsonb_key_compare(x->name, x->length, y->name, y->length);
}

/*
 * A table's document keys (_id, _creationTime, then one per column) in
 * the order jsonb stores object keys, shorter first, then bytewise:
 * written in this order, a document needs no sorting (jsonb_build.c).
 */
CvxDocumentKey *
cvx_document_keys(const CvxTable *table, MemoryContext context)
{
	int			nkeys = table->ncolumns + 2;
	CvxDocumentKey *keys = MemoryContextAlloc(context, sizeof(CvxDocumentKey) * nkeys);

	keys[0] = (CvxDocumentKey) {CVX_KEY_ID, 3, "_id"};
	keys[1] = (CvxDocumentKey) {CVX_KEY_CREATION_TIME, 13, "_creationTime"};
	for (int i = 0; i < table->ncolumns; i++)
	{
		keys[i + 2].column = i;
		keys[i + 2].name = table->columns[i].field->name;
		keys[i + 2].length = (int) strlen(keys[i + 2].name);
	}
	qsort(keys, nkeys, sizeof(CvxDocumentKey), compare_document_keys);
	return keys;
}

/*
 * A row (columns: _id, _creation_time, then the table's columns in order)
 * as the document's JSON: {"_id": …, "_creationTime": …, "roomId": …}.
 */
Jsonb *
cvx_row_to_document(CvxTable *table, HeapTuple tuple, TupleDesc tupdesc)
{
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * tupdesc->natts);
	Jsonb	   *document;

	heap_deform_tuple(tuple, tupdesc, values, nulls);
	document = cvx_values_to_document(table, values, nulls);
	pfree(values);
	pfree(nulls);
	return document;
}

/* Put a string argument, if present, into its column's slot (else NULL) */
void
cvx_set_string_field(CvxTable *table, Datum *values, bool *nulls,
					 const CvxValue *args, const char *field)
{
	int			index = cvx_column_index(table, field);
	CvxValue	value;

	nulls[index] = !cvx_args_field(args, field, &value);
	values[index] = nulls[index] ? (Datum) 0 : PointerGetDatum(cvx_value_text(&value));
}
