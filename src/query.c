/*-------------------------------------------------------------------------
 *
 * query.c
 *	  ctx.db.query(table).withIndex(index, q => q.eq(…).eq(…).gt(…).lt(…))
 *	  .order(…).take(n) as convex_db_query.
 *
 * The eq fields must be a prefix of the index's fields, in order; a range
 * applies to the next field (or to _creationTime when every field is
 * fixed).  Results come in index order: the index's fields, then
 * _creationTime, in Convex's total order.  A field the index stores as
 * convex.index_key(column) (index_keys.c) is compared as keys, so a
 * missing field ({"$undefined": null} in eq and ranges, SQL NULL in the
 * row) is below every value.  One statement is prepared per table and
 * query shape (index, number of eq fields, range bounds, direction) and
 * kept, the most recently used CVX_KEPT_PLANS_PER_TABLE of them (plans.c).
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(convex_db_query);

/* Rows fetched from the query's cursor at a time */
#define QUERY_BATCH_ROWS 256

/* A range bound: none, strict or inclusive */
typedef enum Bound
{
	NO_BOUND,
	STRICT_BOUND,
	INCLUSIVE_BOUND
} Bound;

/* The shape of a query: what its kept statement depends on */
typedef struct QueryShape
{
	int			index;			/* position in table->indexes; -1 for by_creation_time */
	int			neq;			/* fields fixed by eq */
	Bound		lower;			/* gt / gte */
	Bound		upper;			/* lt / lte */
	bool		descending;
} QueryShape;

/* Is the shape's i-th key an index field stored as convex.index_key? */
static bool
key_is_keyed(CvxTable *table, const QueryShape *shape, int i)
{
	return shape->index >= 0 && i < table->indexes[shape->index].nfields &&
		(table->indexes[shape->index].keyed & ((uint32) 1 << i)) != 0;
}

/*
 * The expression of the shape's i-th key, as the index covers it: an index
 * field's column or convex.index_key(column), or _creation_time
 */
static const char *
key_column(CvxTable *table, const QueryShape *shape, int i)
{
	if (shape->index >= 0 && i < table->indexes[shape->index].nfields)
	{
		const char *column =
			quote_identifier(table->columns[table->indexes[shape->index].fields[i]].column);

		return key_is_keyed(table, shape, i) ?
			psprintf("%s.index_key(%s)", CVX_SCHEMA, column) : column;
	}
	return "_creation_time";
}

/* Parameter n compared with the shape's i-th key: $n or its index_key */
static const char *
key_param(CvxTable *table, const QueryShape *shape, int i, int n)
{
	return key_is_keyed(table, shape, i) ?
		psprintf("%s.index_key($%d)", CVX_SCHEMA, n) : psprintf("$%d", n);
}

/* The kept statement for a shape, prepared on first use */
static SPIPlanPtr
query_plan(CvxTable *table, const QueryShape *shape)
{
	StringInfoData sql;
	Oid			argtypes[CVX_MAX_INDEX_FIELDS + 4];
	int			nargs = 0;
	int			nkeys = (shape->index >= 0 ? table->indexes[shape->index].nfields : 0) + 1;
	SPIPlanPtr	plan;

	plan = cvx_plan_cache_find(&table->query_plans, shape, sizeof(QueryShape));
	if (plan != NULL)
		return plan;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT _id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(table->columns[i].column));
	appendStringInfo(&sql, " FROM %s.%s WHERE true", CVX_SCHEMA, quote_identifier(table->name));
	for (int i = 0; i < shape->neq; i++)
	{
		argtypes[nargs++] = table->columns[table->indexes[shape->index].fields[i]].type_oid;
		appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.=) %s",
						 key_column(table, shape, i), key_param(table, shape, i, nargs));
	}
	if (shape->lower != NO_BOUND || shape->upper != NO_BOUND)
	{
		const char *column = key_column(table, shape, shape->neq);
		Oid			type = shape->neq < nkeys - 1 ?
			table->columns[table->indexes[shape->index].fields[shape->neq]].type_oid : FLOAT8OID;

		if (shape->lower != NO_BOUND)
		{
			argtypes[nargs++] = type;
			appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.%s) %s", column,
							 shape->lower == INCLUSIVE_BOUND ? ">=" : ">",
							 key_param(table, shape, shape->neq, nargs));
		}
		if (shape->upper != NO_BOUND)
		{
			argtypes[nargs++] = type;
			appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.%s) %s", column,
							 shape->upper == INCLUSIVE_BOUND ? "<=" : "<",
							 key_param(table, shape, shape->neq, nargs));
		}
	}
	appendStringInfoString(&sql, " ORDER BY ");
	for (int i = 0; i < nkeys; i++)
		appendStringInfo(&sql, "%s%s%s", i > 0 ? ", " : "", key_column(table, shape, i),
						 shape->descending ? " DESC" : "");
	argtypes[nargs++] = INT8OID;
	appendStringInfo(&sql, " LIMIT $%d", nargs);

	plan = cvx_prepare_indexed(sql.data, nargs, argtypes);
	pfree(sql.data);
	/* remembered in the table set's memory, in a bounded LRU (plans.c) */
	cvx_plan_cache_add(&table->query_plans, shape, sizeof(QueryShape), plan,
					   GetMemoryChunkContext(table->columns));
	return plan;
}

/*
 * Is this eq or range value convex-js's form of undefined, a missing field
 * ({"$undefined": null}, what convexOrUndefinedToJson sends)?
 */
static bool
is_undefined(const JsonbValue *value)
{
	JsonbValue	found;

	return value->type == jbvBinary && JsonContainerIsObject(value->val.binary.data) &&
		JsonContainerSize(value->val.binary.data) == 1 &&
		getKeyJsonValueFromContainer(value->val.binary.data, "$undefined", 10, &found) != NULL &&
		found.type == jbvNull;
}

/*
 * A value for an index key, checked against that field's validator.  A
 * missing value (undefined) is SQL NULL: for a key stored as index_key it
 * is the lowest key; the caller handles the other keys (they are never
 * missing).
 */
static Datum
key_datum(CvxTable *table, const QueryShape *shape, int i, const CvxValue *value,
		  bool undefined, char *null)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;
	const CvxColumn *column;

	*null = undefined ? 'n' : ' ';
	if (undefined)
		return (Datum) 0;
	if (shape->index < 0 || i >= table->indexes[shape->index].nfields)
	{
		/* _creationTime */
		if (value->type != CVX_T_NUMBER)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Invalid argument for `db.query`: a range on _creationTime needs a number")));
		return Float8GetDatum(cvx_value_number(value));
	}
	column = &table->columns[table->indexes[shape->index].fields[i]];
	if (!cvx_check(column->field->validator, value, &context, &error))
		cvx_raise_validation_error(psprintf("Invalid argument for `db.query` on field `%s`: ",
											column->field->name),
								   &error, &context, ERRCODE_INVALID_PARAMETER_VALUE);
	return cvx_field_datum(column, value);
}

/*
 * convex_db_query(table_name, index_name, eq, range, order_by, max_rows):
 * the documents of a table in index order, as a set of jsonb.
 */
Datum
convex_db_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CvxTable   *table;
	QueryShape	shape;
	const char *index_name;
	Jsonb	   *eq;
	Jsonb	   *range = NULL;
	Datum		values[CVX_MAX_INDEX_FIELDS + 4];
	char		nulls[CVX_MAX_INDEX_FIELDS + 5];
	int			nvalues = 0;
	bool		empty = false;	/* a bound no stored value can meet */
	bool		lower_undefined = false;
	bool		upper_undefined = false;
	int64		max_rows = -1;
	int			nkeys;
	CvxValue	lower_value;
	CvxValue	upper_value;
	Portal		portal;
	MemoryContext row_context;
	CvxReadDigest digest;
	static const char *const required[] = {"table_name", "index_name", "eq", "order_by"};

	for (int i = 0; i < (int) lengthof(required); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", required[i])));
	/* zeroed whole: the shape is a key compared bytewise, padding included */
	memset(&shape, 0, sizeof(shape));
	shape.index = -1;
	shape.lower = NO_BOUND;
	shape.upper = NO_BOUND;
	table = cvx_table_lookup(PG_GETARG_TEXT_PP(0));
	index_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	eq = PG_GETARG_JSONB_P(2);
	if (!PG_ARGISNULL(4))
		range = PG_GETARG_JSONB_P(4);
	{
		char	   *order = text_to_cstring(PG_GETARG_TEXT_PP(3));

		if (strcmp(order, "desc") == 0)
			shape.descending = true;
		else if (strcmp(order, "asc") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order_by must be 'asc' or 'desc', not \"%s\"",
							cvx_clip_name(order, strlen(order)))));
	}
	if (!PG_ARGISNULL(5))
	{
		max_rows = PG_GETARG_INT32(5);
		if (max_rows < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_rows must not be negative")));
	}

	/* the index */
	if (strcmp(index_name, "by_creation_time") != 0)
	{
		for (int i = 0; i < table->nindexes; i++)
			if (strcmp(table->indexes[i].name, index_name) == 0)
				shape.index = i;
		if (shape.index < 0)
			cvx_refuse_other_index(table, index_name);
		if (shape.index < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("Index %s.%s not found.", table->name,
							cvx_clip_name(index_name, strlen(index_name)))));
	}
	nkeys = (shape.index >= 0 ? table->indexes[shape.index].nfields : 0) + 1;
	for (int i = 0; i < nkeys - 1; i++)
		if (table->indexes[shape.index].paths[i] != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("Index %s.%s lists a nested field path: query it with convex_db_select", table->name,
							index_name)));

	/* eq: a prefix of the index's fields */
	if (!JB_ROOT_IS_OBJECT(eq))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("eq must be a JSON object of index fields and values")));
	for (int i = 0; i < nkeys - 1; i++)
	{
		const CvxColumn *column = &table->columns[table->indexes[shape.index].fields[i]];
		JsonbValue	found;
		CvxValue	value;

		if (getKeyJsonValueFromContainer(&eq->root, column->field->name,
										 column->field->name_len, &found) == NULL)
			break;
		cvx_jsonb_scalar_value(&found, &value);
		/* eq undefined: only a key stored as index_key can be missing */
		if (is_undefined(&found) && !key_is_keyed(table, &shape, i))
			empty = true;
		values[nvalues] = key_datum(table, &shape, i, &value, is_undefined(&found),
									&nulls[nvalues]);
		nvalues++;
		shape.neq++;
	}
	if ((int) JsonContainerSize(&eq->root) != shape.neq)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("eq must fix a prefix of index %s's fields, in order", index_name),
				 errhint("Index %s has %d field(s); eq fixed %d of them and named others.",
						 index_name, nkeys - 1, shape.neq)));

	/* range: bounds on the next key */
	if (range != NULL)
	{
		JsonbIterator *it;
		JsonbValue	key;
		JsonbValue	value;
		JsonbIteratorToken token;

		if (!JB_ROOT_IS_OBJECT(range))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("range must be a JSON object with gt/gte and/or lt/lte")));
		it = JsonbIteratorInit(&range->root);
		while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
		{
			char	   *bound;

			if (token != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &value, true);
			bound = pnstrdup(key.val.string.val, key.val.string.len);
			if ((strcmp(bound, "gt") == 0 || strcmp(bound, "gte") == 0) && shape.lower == NO_BOUND)
			{
				shape.lower = bound[2] == 'e' ? INCLUSIVE_BOUND : STRICT_BOUND;
				cvx_jsonb_scalar_value(&value, &lower_value);
				lower_undefined = is_undefined(&value);
			}
			else if ((strcmp(bound, "lt") == 0 || strcmp(bound, "lte") == 0) && shape.upper == NO_BOUND)
			{
				shape.upper = bound[2] == 'e' ? INCLUSIVE_BOUND : STRICT_BOUND;
				cvx_jsonb_scalar_value(&value, &upper_value);
				upper_undefined = is_undefined(&value);
			}
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("range takes at most one of gt/gte and one of lt/lte, not \"%s\"", bound)));
		}
		/*
		 * Undefined bounds on a key that is never missing (a required
		 * typed field, _creationTime): above it is every value, below it
		 * none.
		 */
		if (!key_is_keyed(table, &shape, shape.neq))
		{
			if (lower_undefined)
				shape.lower = NO_BOUND;
			if (upper_undefined)
				empty = true;
		}
		if (shape.lower != NO_BOUND)
		{
			values[nvalues] = key_datum(table, &shape, shape.neq, &lower_value,
										lower_undefined, &nulls[nvalues]);
			nvalues++;
		}
		if (shape.upper != NO_BOUND)
		{
			values[nvalues] = key_datum(table, &shape, shape.neq, &upper_value,
										upper_undefined, &nulls[nvalues]);
			nvalues++;
		}
	}
	/*
	 * LIMIT NULL (no max_rows) is no limit; inside a mutation fetch at most
	 * one document beyond what the read limit still allows.
	 */
	if (cvx_in_mutation())
	{
		int64		allowance = cvx_read_allowance() + 1;

		if (max_rows < 0 || max_rows > allowance)
			max_rows = allowance;
	}
	values[nvalues] = Int64GetDatum(max_rows);
	nulls[nvalues++] = max_rows < 0 ? 'n' : ' ';
	nulls[nvalues] = '\0';

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (empty)
		return (Datum) 0;
	cvx_spi_connect();
	/*
	 * Inside a mutation the range read takes its key's lock first and reads
	 * under a snapshot taken after it (conflicts.c).
	 */
	cvx_conflict_read_range(table, shape.index, shape.neq, values, nulls);
	cvx_conflict_digest_start(&digest);
	/*
	 * Rows are fetched in batches through a cursor and each document is
	 * built in a context reset after it: only the tuplestore, which spills
	 * to disk beyond work_mem, grows with the number of rows.
	 */
	row_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite query row",
										ALLOCSET_DEFAULT_SIZES);
	portal = cvx_cursor_open_indexed(query_plan(table, &shape), values, nulls, !cvx_mutation_running());
	for (;;)
	{
		SPI_cursor_fetch(portal, true, QUERY_BATCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			MemoryContext old_context = MemoryContextSwitchTo(row_context);
			Datum		document;
			bool		isnull = false;

			cvx_count_row_read(SPI_tuptable->vals[r], SPI_tuptable->tupdesc);
			cvx_conflict_digest_add(&digest, SPI_tuptable->vals[r]);
			document = JsonbPGetDatum(cvx_row_to_document(table, SPI_tuptable->vals[r],
														  SPI_tuptable->tupdesc));
			MemoryContextSwitchTo(old_context);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &document, &isnull);
			MemoryContextReset(row_context);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(row_context);
	cvx_conflict_check_digest(query_plan(table, &shape), values, nulls, &digest);
	cvx_spi_finish();
	return (Datum) 0;
}
