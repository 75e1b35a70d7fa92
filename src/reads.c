/*-------------------------------------------------------------------------
 *
 * reads.c
 *	  What the seed app's built-in queries share: running one as a query
 *	  call, reading an index range into a JSON array of documents with one
 *	  ordered index scan, and checking a query's return value.
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

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* The reads context (cvx_reads_context_begin) and whether a call uses it */
static MemoryContext reads_context = NULL;
static bool reads_context_busy = false;

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
	bool		outermost = !reads_context_busy;	/* a nested call leaves it to its caller */

	cvx_call_enter();
	cvx_query_enter();
	PG_TRY();
	{
		result = body(fcinfo);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		if (outermost)
			reads_context_busy = false;
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

/*
 * The memory a built-in query builds its documents in: kept for the
 * backend's life and reset after each call, with a first block large
 * enough for a room's documents, so that a call neither grows nor trims
 * the process heap (malloc and page faults were a fifth of a call).
 */

#define READS_CONTEXT_BLOCK (1024 * 1024)

/*
 * Switch to the reads context (reset, then returned to at
 * cvx_reads_context_end); a call nested in another keeps the current one.
 * Returns the context to go back to.
 */
MemoryContext
cvx_reads_context_begin(bool *used)
{
	*used = false;
	if (reads_context_busy)
		return CurrentMemoryContext;
	if (reads_context == NULL)
		reads_context = AllocSetContextCreate(TopMemoryContext, "convexlite reads",
											  READS_CONTEXT_BLOCK, READS_CONTEXT_BLOCK,
											  8 * READS_CONTEXT_BLOCK);
	MemoryContextReset(reads_context);
	reads_context_busy = true;
	*used = true;
	return MemoryContextSwitchTo(reads_context);
}

/*
 * Back to context (what cvx_reads_context_begin returned), with result
 * copied into dest (unless it is there already); the reads context is
 * reset.  After an error the next
 * call resets it.
 */
Jsonb *
cvx_reads_context_end(MemoryContext context, bool used, Jsonb *result, MemoryContext dest)
{
	Jsonb	   *copy = result;

	if (GetMemoryChunkContext(result) != dest)
	{
		copy = MemoryContextAlloc(dest, VARSIZE(result));
		memcpy(copy, result, VARSIZE(result));
	}
	MemoryContextSwitchTo(context);
	if (used)
	{
		MemoryContextReset(reads_context);
		reads_context_busy = false;
	}
	return copy;
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
 * Add one document to array from its values (cvx_values_to_document's
 * layout), with extra's field when given
 */
static void
add_document(CvxJsonbArray *array, CvxTable *table, const Datum *values, const bool *nulls,
			 const CvxExtraField *extra)
{
	JsonbValue	extra_value;

	if (extra == NULL)
	{
		cvx_jsonb_array_add_document(array, table, values, nulls, NULL, NULL);
		return;
	}
	extra->value(table, values, nulls, extra->arg, &extra_value);
	cvx_jsonb_array_add_document(array, table, values, nulls, extra->name, &extra_value);
}

/*
 * The SPI path of cvx_push_index_range, for a mutation at REPEATABLE READ
 * or SERIALIZABLE: the read is run again under the latest snapshot and
 * compared (conflicts.c), which needs the statement.  The statement
 * returns the documents' columns in cvx_values_to_document's layout.
 */
static void
push_index_range_spi(CvxJsonbArray *array, CvxTable *table,
					 const CvxIndexRead *read, SPIPlanPtr plan,
					 const CvxExtraField *extra)
{
	long		count = (long) Min(cvx_read_allowance() + 1, (int64) LONG_MAX);
	SPITupleTable *rows;
	uint64		nrows;
	Datum	   *row_values;
	bool	   *row_nulls;
	int			rc;

	rc = cvx_execute(plan, (Datum *) read->values, NULL, false, count);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: read from \"%s\" failed: %s",
			 table->name, SPI_result_code_string(rc));
	rows = SPI_tuptable;
	nrows = SPI_processed;
	cvx_conflict_check_current(plan, (Datum *) read->values, NULL);
	row_values = palloc(sizeof(Datum) * rows->tupdesc->natts);
	row_nulls = palloc(sizeof(bool) * rows->tupdesc->natts);
	for (uint64 r = 0; r < nrows; r++)
	{
		heap_deform_tuple(rows->vals[r], rows->tupdesc, row_values, row_nulls);
		cvx_count_read(cvx_values_size(rows->tupdesc, row_values, row_nulls));
		add_document(array, table, row_values, row_nulls, extra);
	}
}

/*
 * ctx.db.query(table).withIndex(read->index, q => q.eq(first field,
 * read->values[0])).collect(), keeping the rows read->keep accepts: add
 * each document to array, with extra's field when extra is given.  plan
 * is the same read as a statement (cvx_index_range_plan, parameters
 * read->values), run only in a mutation
 * at REPEATABLE READ or above.  The caller is connected to SPI.
 *
 * Otherwise the rows come from one ordered scan of the index relation
 * read->relation_index (eq on its first column), no planner, executor,
 * sort or SPI tuple copies, each document written into the array while
 * the scan holds its row: inside a query, under the active snapshot (the
 * query's); inside a mutation, after the key's conflict lock, under a new
 * snapshot of the transaction (as SPI's non-read-only reads).
 */
void
cvx_push_index_range(CvxJsonbArray *array, CvxTable *table, const CvxIndexRead *read,
					 SPIPlanPtr plan, const CvxExtraField *extra)
{
	int			index = index_position(table, read->index);
	int			natts = table->ncolumns + 2;
	int		   *attnums = palloc(sizeof(int) * natts);
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *nulls = palloc(sizeof(bool) * natts);
	Oid			namespace = get_namespace_oid(CVX_SCHEMA, false);
	Oid			indexrelid;
	Relation	heap;
	Relation	irel;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key;
	bool		pushed_snapshot = false;
	int64		allowance = -1;
	int64		nread = 0;

	/* inside a mutation: the key's lock first (conflicts.c) */
	cvx_conflict_read_range(table, index, 1, read->values, NULL);
	if (cvx_mutation_running() && IsolationUsesXactSnapshot())
	{
		push_index_range_spi(array, table, read, plan, extra);
		return;
	}

	indexrelid = get_relname_relid(read->relation_index, namespace);
	if (!OidIsValid(indexrelid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index %s.%s does not exist", CVX_SCHEMA, read->relation_index),
				 errhint("Run ALTER EXTENSION convexlite UPDATE.")));
	heap = table_open(table->relid, AccessShareLock);
	irel = index_open(indexrelid, AccessShareLock);
	if (irel->rd_index->indrelid != table->relid)
		elog(ERROR, "convexlite: index %s is not on table %s", read->relation_index, table->name);

	/* where each value of cvx_values_to_document's layout is in the relation */
	attnums[0] = get_attnum(table->relid, "_id");
	attnums[1] = get_attnum(table->relid, "_creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		attnums[i + 2] = get_attnum(table->relid, table->columns[i].column);
	for (int i = 0; i < natts; i++)
		if (attnums[i] == InvalidAttrNumber || attnums[i] > RelationGetDescr(heap)->natts)
			elog(ERROR, "convexlite: table %s lacks a column its catalog lists", table->name);

	if (cvx_mutation_running())
	{
		/* a read of a mutation sees everything committed before its lock */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed_snapshot = true;
	}
	if (cvx_in_mutation())
		allowance = cvx_read_allowance();

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   irel->rd_indcollation[0], read->equal_proc, read->values[0]);
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, irel, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		/* the values point into the row, which the slot holds until the next one */
		slot_getallattrs(slot);
		for (int i = 0; i < natts; i++)
		{
			values[i] = slot->tts_values[attnums[i] - 1];
			nulls[i] = slot->tts_isnull[attnums[i] - 1];
		}
		if (read->keep != NULL && !read->keep(table, values, nulls, read->keep_arg))
			continue;
		if (allowance >= 0)
		{
			/* counted as the statement's rows are; one beyond the limit fails */
			if (++nread > allowance + 1)
				break;
			cvx_count_read(cvx_values_size(RelationGetDescr(heap), slot->tts_values,
										   slot->tts_isnull));
		}
		add_document(array, table, values, nulls, extra);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	if (pushed_snapshot)
		PopActiveSnapshot();
	index_close(irel, AccessShareLock);
	table_close(heap, AccessShareLock);
}
