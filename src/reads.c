/*-------------------------------------------------------------------------
 *
 * reads.c
 *	  What the seed app's built-in queries share: running one as a query
 *	  call, reading an index range into a JSON array of documents with one
 *	  kept statement, and checking a query's return value.
 *
 * A built-in query is a query call whether it is called through
 * convex_query or as its own SQL function: it spends the call's read
 * budget (limits.c), and convexlite's reads inside it share the snapshot
 * of the statement that called it (cvx_reads_share_snapshot).  Inside a
 * mutation (ctx.runQuery, or a handler calling the SQL function) its
 * reads are the mutation's: each takes its conflict lock first and reads
 * under a snapshot taken after it (conflicts.c), so the mutation stays
 * serializable.  Outside a mutation no read takes a lock.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/htup_details.h"
#include "utils/builtins.h"

/*
 * Run a built-in query's body as a query call and return its result;
 * path names it in the return-size error.
 */
Datum
cvx_run_builtin_query(FunctionCallInfo fcinfo, const char *path,
					  Jsonb *(*body) (FunctionCallInfo fcinfo))
{
	MemoryContext context = CurrentMemoryContext;
	Jsonb	   *result = NULL;

	cvx_call_enter();
	cvx_query_enter();
	PG_TRY();
	{
		result = body(fcinfo);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		cvx_query_leave();
		if (cvx_call_abort())
		{
			FlushErrorState();
			cvx_raise_timeout();
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	cvx_query_leave();
	cvx_call_leave();
	cvx_check_return_size(path, VARSIZE_ANY_EXHDR(result));
	PG_RETURN_JSONB_P(result);
}

/* The JSON null, as a query's result */
Jsonb *
cvx_jsonb_null(void)
{
	JsonbValue	null_value = {.type = jbvNull};

	return JsonbValueToJsonb(&null_value);
}

/* A query's return value must pass its returns validator (22023) */
void
cvx_check_query_returns(const CvxValidator *validator, Jsonb *result)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;
	CvxValue	value;

	cvx_jsonb_value(result, &value);
	if (!cvx_check(validator, &value, &context, &error))
		cvx_raise_validation_error("ReturnsValidationError: ", &error, &context,
								   ERRCODE_INVALID_PARAMETER_VALUE);
}

/*
 * The kept statement reading an index range of a built-in table: every
 * column, eq_column = $1 (and condition, over $2..., when given), in the
 * order of the index (eq_column, _creation_time).  Prepared on first use
 * into *slot; the built-in tables' columns never change.
 */
SPIPlanPtr
cvx_index_range_plan(SPIPlanPtr *slot, CvxTable *table, const char *eq_column,
					 const char *condition, int nargs, Oid *argtypes)
{
	StringInfoData sql;

	if (*slot != NULL)
		return *slot;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT _id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(table->columns[i].column));
	appendStringInfo(&sql, " FROM %s.%s WHERE %s OPERATOR(pg_catalog.=) $1",
					 CVX_SCHEMA, quote_identifier(table->name), quote_identifier(eq_column));
	if (condition != NULL)
		appendStringInfo(&sql, " AND %s", condition);
	appendStringInfo(&sql, " ORDER BY %s, _creation_time", quote_identifier(eq_column));
	*slot = cvx_prepare(sql.data, nargs, argtypes);
	pfree(sql.data);
	return *slot;
}

/* The position of a table's index in table->indexes (it must exist) */
static int
index_position(CvxTable *table, const char *index_name)
{
	for (int i = 0; i < table->nindexes; i++)
		if (strcmp(table->indexes[i].name, index_name) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("convex._tables has no index \"%s\" for table \"%s\"", index_name,
					table->name),
			 errhint("Run ALTER EXTENSION convexlite UPDATE.")));
	return -1;					/* not reached */
}

/*
 * ctx.db.query(table).withIndex(index_name, q => q.eq(first field,
 * values[0])).collect(), with plan (cvx_index_range_plan; its parameters
 * values/nulls, the first being the eq value): push each document into
 * *state, an array being built, and when extra is given, let it add
 * fields to each document.  The caller is connected to SPI and builds its
 * result before SPI_finish (the documents point into the rows).
 */
void
cvx_push_index_range(JsonbParseState **state, CvxTable *table, const char *index_name,
					 SPIPlanPtr plan, Datum *values, const char *nulls,
					 CvxDocumentExtra extra, void *arg)
{
	int			index = index_position(table, index_name);
	long		count = 0;
	SPITupleTable *rows;
	uint64		nrows;
	int			rc;
	int		   *order;
	Datum	   *row_values;
	bool	   *row_nulls;

	/* inside a mutation: the key's lock first (conflicts.c) */
	cvx_conflict_read_range(table, index, 1, values, nulls);
	/* inside a call, one row beyond the read limit is enough to pass it */
	if (cvx_in_mutation())
		count = (long) Min(cvx_read_allowance() + 1, (int64) LONG_MAX);
	rc = cvx_execute(plan, values, nulls, !cvx_mutation_running(), count);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: read from \"%s\" failed: %s",
			 table->name, SPI_result_code_string(rc));
	rows = SPI_tuptable;
	nrows = SPI_processed;
	cvx_conflict_check_current(plan, values, nulls);
	if (nrows == 0)
		return;

	/*
	 * Each row deformed once; its keys pushed in jsonb's order, so that no
	 * document's keys need sorting when it ends.
	 */
	order = palloc(sizeof(int) * (table->ncolumns + 2));
	cvx_document_key_order(table, order);
	row_values = palloc(sizeof(Datum) * rows->tupdesc->natts);
	row_nulls = palloc(sizeof(bool) * rows->tupdesc->natts);
	for (uint64 r = 0; r < nrows; r++)
	{
		heap_deform_tuple(rows->vals[r], rows->tupdesc, row_values, row_nulls);
		if (cvx_in_mutation())
			cvx_count_read(cvx_values_size(rows->tupdesc, row_values, row_nulls));
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		cvx_push_row_values(state, table, order, row_values, row_nulls);
		if (extra != NULL)
			extra(state, table, rows->vals[r], rows->tupdesc, arg);
		pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
}

/*
 * The array built in *state (begun with WJB_BEGIN_ARRAY) as jsonb in
 * context, the caller's (outside SPI's).
 */
Jsonb *
cvx_finish_array(JsonbParseState **state, MemoryContext context)
{
	JsonbValue *array = pushJsonbValue(state, WJB_END_ARRAY, NULL);
	MemoryContext old = MemoryContextSwitchTo(context);
	Jsonb	   *result = JsonbValueToJsonb(array);

	MemoryContextSwitchTo(old);
	return result;
}
