/*-------------------------------------------------------------------------
 *
 * db.c
 *	  ctx.db: insert, get, patch, replace and delete documents, and the one
 *	  function every write in convexlite goes through (cvx_write).
 *
 * Each table gets its statements (over all its columns) prepared once per
 * backend.  Callers are connected to SPI; results handed back to SQL are
 * built in the caller's memory context before SPI_finish.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(convex_db_insert);
PG_FUNCTION_INFO_V1(convex_db_get);
PG_FUNCTION_INFO_V1(convex_db_patch);
PG_FUNCTION_INFO_V1(convex_db_replace);
PG_FUNCTION_INFO_V1(convex_db_delete);

/* The list of the table's columns after _id and _creation_time */
static void
append_column_list(StringInfo sql, CvxTable *table)
{
	appendStringInfoString(sql, "_id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(sql, ", %s", quote_identifier(table->columns[i].column));
}

/* Parameter types: _id, _creation_time, then each column's type */
static Oid *
row_argtypes(CvxTable *table)
{
	Oid		   *types = palloc(sizeof(Oid) * (table->ncolumns + 2));

	types[0] = TEXTOID;
	types[1] = FLOAT8OID;
	for (int i = 0; i < table->ncolumns; i++)
		types[i + 2] = table->columns[i].type_oid;
	return types;
}

/* INSERT INTO convex.t (_id, _creation_time, ...) VALUES ($1, ...) */
static SPIPlanPtr
insert_plan(CvxTable *table)
{
	StringInfoData sql;

	if (table->insert_plan != NULL)
		return table->insert_plan;
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s.%s (", CVX_SCHEMA, quote_identifier(table->name));
	append_column_list(&sql, table);
	appendStringInfoString(&sql, ") VALUES ($1, $2");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", $%d", i + 3);
	appendStringInfoChar(&sql, ')');
	cvx_append_notify_returning(&sql, table);
	table->insert_plan = cvx_prepare(sql.data, table->ncolumns + 2, row_argtypes(table));
	return table->insert_plan;
}

/* SELECT _id, _creation_time, ... FROM convex.t WHERE _id = $1 [FOR UPDATE] */
static SPIPlanPtr
get_plan(CvxTable *table, bool for_update)
{
	SPIPlanPtr *slot = for_update ? &table->get_for_update_plan : &table->get_plan;
	StringInfoData sql;
	Oid			argtypes[1] = {TEXTOID};

	if (*slot != NULL)
		return *slot;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	append_column_list(&sql, table);
	appendStringInfo(&sql, " FROM %s.%s WHERE _id OPERATOR(pg_catalog.=) $1%s",
					 CVX_SCHEMA, quote_identifier(table->name),
					 for_update ? " FOR UPDATE" : "");
	*slot = cvx_prepare(sql.data, 1, argtypes);
	return *slot;
}

/* UPDATE convex.t SET every column WHERE _id = $1 ($2, _creation_time, is not used) */
static SPIPlanPtr
update_plan(CvxTable *table)
{
	StringInfoData sql;

	if (table->update_plan != NULL)
		return table->update_plan;
	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s.%s SET ", CVX_SCHEMA, quote_identifier(table->name));
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, "%s%s = $%d", i > 0 ? ", " : "",
						 quote_identifier(table->columns[i].column), i + 3);
	if (table->ncolumns == 0)
		appendStringInfoString(&sql, "_id = _id");
	appendStringInfoString(&sql, " WHERE _id OPERATOR(pg_catalog.=) $1");
	cvx_append_notify_returning(&sql, table);
	table->update_plan = cvx_prepare(sql.data, table->ncolumns + 2, row_argtypes(table));
	return table->update_plan;
}

/* DELETE FROM convex.t WHERE _id = $1 */
static SPIPlanPtr
delete_plan(CvxTable *table)
{
	StringInfoData sql;
	Oid			argtypes[1] = {TEXTOID};

	if (table->delete_plan != NULL)
		return table->delete_plan;
	initStringInfo(&sql);
	appendStringInfo(&sql, "DELETE FROM %s.%s WHERE _id OPERATOR(pg_catalog.=) $1",
					 CVX_SCHEMA, quote_identifier(table->name));
	cvx_append_notify_returning(&sql, table);
	table->delete_plan = cvx_prepare(sql.data, 1, argtypes);
	return table->delete_plan;
}

/*
 * The size of one stored value: fixed-size types by their length, varlena
 * values by their raw data length (uncompressed, without header), however
 * they are held.
 */
static Size
value_size(Oid type, Datum value)
{
	switch (type)
	{
		case BOOLOID:
			return 1;
		case INT4OID:
		case FLOAT4OID:
			return 4;
		case INT8OID:
		case FLOAT8OID:
			return 8;
		default:				/* text, jsonb, bytea: varlena */
			return toast_raw_datum_size(value) - VARHDRSZ;
	}
}

/* Count a document read by the running mutation (sizing it only then) */
void
cvx_count_row_read(HeapTuple tuple, TupleDesc tupdesc)
{
	if (cvx_in_mutation())
		cvx_count_read(cvx_row_size(tuple, tupdesc));
}

/*
 * The bytes a write stores: the sizes of its non-null parameters (the
 * document's _id, _creation_time and field values as stored), without
 * PostgreSQL's row and alignment overhead.
 */
static Size
written_size(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	int			nargs = SPI_getargcount(plan);
	Size		size = 0;

	for (int i = 0; i < nargs; i++)
		if (nulls == NULL || nulls[i] != 'n')
			size += value_size(SPI_getargtypeid(plan, i), values[i]);
	return size;
}

/* The same measure for a row's deformed values */
Size
cvx_values_size(TupleDesc tupdesc, const Datum *values, const bool *nulls)
{
	Size		size = 0;

	for (int i = 0; i < tupdesc->natts; i++)
		if (!nulls[i])
			size += value_size(TupleDescAttr(tupdesc, i)->atttypid, values[i]);
	return size;
}

/* The same measure for a whole stored row (what reads and patches count) */
Size
cvx_row_size(HeapTuple tuple, TupleDesc tupdesc)
{
	Size		size = 0;

	for (int i = 1; i <= tupdesc->natts; i++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, i, tupdesc, &isnull);

		if (!isnull)
			size += value_size(TupleDescAttr(tupdesc, i - 1)->atttypid, value);
	}
	return size;
}

/*
 * Raise the executor's not-null error for attribute attnum of a row a
 * write without the executor is about to store with a null there
 */
static void
require_not_null(Relation heap, int attnum)
{
	if (!TupleDescAttr(RelationGetDescr(heap), attnum - 1)->attnotnull)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
					NameStr(TupleDescAttr(RelationGetDescr(heap), attnum - 1)->attname),
					RelationGetRelationName(heap)),
			 errtablecol(heap, attnum)));
}

/*
 * In a PG_CATCH block, back in the caller's memory context: turn
 * PostgreSQL's "index row size" error (see execute_write) into
 * convexlite's, or rethrow any other error.
 */
static void
raise_index_size_error(CvxTable *table)
{
	ErrorData  *edata = CopyErrorData();

	if (edata->sqlerrcode != ERRCODE_PROGRAM_LIMIT_EXCEEDED ||
		edata->filename == NULL ||
		(strcmp(edata->filename, "nbtutils.c") != 0 &&
		 strcmp(edata->filename, "indextuple.c") != 0))
	{
		FreeErrorData(edata);
		PG_RE_THROW();
	}
	FlushErrorState();
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("Value is too large to index in table \"%s\"", table->name),
			 errdetail("PostgreSQL: %s", edata->message),
			 errhint("Indexed fields hold at most about 2,700 bytes (after compression); "
					 "keep long values in fields that no index uses.")));
}

/*
 * Run a write statement, turning PostgreSQL's "index row size" errors (a
 * value too large for an index: indexed strings are limited to about
 * 2.7 kB after compression) into convexlite's own, which names the table.
 * They are told by where they were raised, not by their (translatable)
 * text: the B-tree's row check (nbtutils.c) or index tuple forming
 * (indextuple.c).  Any other error passes through unchanged.
 */
static int
execute_write(CvxTable *table, SPIPlanPtr plan, Datum *values, const char *nulls)
{
	MemoryContext caller_context = CurrentMemoryContext;
	int			rc = 0;

	PG_TRY();
	{
		rc = cvx_execute(plan, values, nulls, false, 0);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		raise_index_size_error(table);
	}
	PG_END_TRY();
	return rc;
}

/*
 * Every write to a document table goes through here: the document size
 * limit and the running mutation's write limits are checked here, and
 * each row written is announced (realtime.c; the statement returns the
 * _id and filter columns of its rows).  Runs a prepared
 * INSERT/UPDATE/DELETE and returns the rows it touched.
 */
/*
 * Refuse a write on a hot standby, saying so: PostgreSQL's own error
 * names only the statement ("cannot execute INSERT in a read-only
 * transaction").  `action` is what was asked for ("run mutation"),
 * `object` its name or NULL.  Free on a primary (RecoveryInProgress
 * answers from a backend-local flag once recovery is over).
 */
void
cvx_require_primary(const char *action, const char *object)
{
	if (likely(!RecoveryInProgress()))
		return;
	if (object != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("convexlite cannot %s \"%s\" on a standby server", action, object),
				 errdetail("This server is a hot standby (in recovery): it is read-only."),
				 errhint("Call mutations on the primary; a standby serves reads (ctx.db reads, queries, convex_storage_get).")));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("convexlite cannot %s on a standby server", action),
			 errdetail("This server is a hot standby (in recovery): it is read-only."),
			 errhint("Call mutations on the primary; a standby serves reads (ctx.db reads, queries, convex_storage_get).")));
}

uint64
cvx_write(CvxTable *table, CvxWriteKind kind, SPIPlanPtr plan,
		  Datum *values, const char *nulls)
{
	static const int expected[] = {SPI_OK_INSERT, SPI_OK_UPDATE, SPI_OK_DELETE,
	SPI_OK_UPDATE_RETURNING};
	int			rc;

	if (kind == CVX_WRITE_PATCH)
	{
		Size		size;

		cvx_write_begin(table, kind);
		/* the new document's size is known once the row is written */
		rc = execute_write(table, plan, values, nulls);
		if (rc != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "convexlite: write to \"%s\" failed: %s",
				 table->name, SPI_result_code_string(rc));
		if (SPI_processed > 0)
		{
			/* a patch reads the stored document, as Convex's does */
			size = cvx_row_size(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
			cvx_count_read(size);
			cvx_count_written(table, kind, size);
		}
		cvx_write_end(table, kind, SPI_tuptable, SPI_processed);
		return SPI_processed;
	}
	cvx_write_begin(table, kind);
	cvx_count_written(table, kind, written_size(plan, values, nulls));
	rc = execute_write(table, plan, values, nulls);

	if (rc != expected[kind] &&
		!(rc == SPI_OK_INSERT_RETURNING && kind == CVX_WRITE_INSERT) &&
		!(rc == SPI_OK_UPDATE_RETURNING && kind == CVX_WRITE_UPDATE) &&
		!(rc == SPI_OK_DELETE_RETURNING && kind == CVX_WRITE_DELETE))
		elog(ERROR, "convexlite: write to \"%s\" failed: %s",
			 table->name, SPI_result_code_string(rc));
	cvx_write_end(table, kind, SPI_tuptable, SPI_processed);
	return SPI_processed;
}

/*
 * What every write refuses before it takes any lock: a standby, and a
 * write inside a query.
 */
void
cvx_write_begin(CvxTable *table, CvxWriteKind kind)
{
	static const char *const operations[] = {"ctx.db.insert", "ctx.db.replace",
	"ctx.db.delete", "ctx.db.patch"};

	cvx_require_primary("write table", table->name);
	/* every write of a built-in or a handler passes here: none in a query */
	cvx_refuse_in_query(operations[kind]);
}

/*
 * Count a write of `size` bytes (what it stores) against the document
 * size limit and the running mutation's write limits, before it is done
 * when the size is known beforehand.
 */
void
cvx_count_written(CvxTable *table, CvxWriteKind kind, Size size)
{
	if (kind != CVX_WRITE_DELETE)
		cvx_check_document_size(table->name, size);
	cvx_count_write(size);
}

/*
 * What follows every write: the rows it wrote (the statement's RETURNING
 * rows, or rows of the table itself) take their conflict locks and are
 * announced.
 */
void
cvx_write_end(CvxTable *table, CvxWriteKind kind, SPITupleTable *rows, uint64 nrows)
{
	cvx_conflict_written_rows(table, kind, rows, nrows);
	cvx_notify_rows(table, kind, rows, nrows);
}

/* The bytes a write of these values stores (written_size's measure) */
Size
cvx_params_size(int count, const Oid *types, const Datum *values, const char *nulls)
{
	Size		size = 0;

	for (int i = 0; i < count; i++)
		if (nulls == NULL || nulls[i] != 'n')
			size += value_size(types[i], values[i]);
	return size;
}

/*
 * Can rows of this table be written without the executor
 * (cvx_update_in_place, insert_in_place)?  Not in a read-only transaction
 * (the statement refuses with 25006), nor while a module checks or audits
 * statements' permissions (ExecutorCheckPerms_hook: sepgsql, pgaudit),
 * and only a plain heap table, neither a partition nor a parent,
 * without triggers (foreign keys are triggers), rules, row security,
 * check constraints or generated columns, on
 * which the current role holds every privilege in `privileges` at the
 * table level (ACL_INSERT, ACL_UPDATE, ACL_SELECT for what a statement's
 * WHERE and RETURNING read).  Otherwise the INSERT or UPDATE statement
 * runs, so that the executor fires those triggers, checks those
 * constraints, and checks privileges (column by column) and refuses
 * (42501) exactly as it did.
 */
bool
cvx_can_write_in_place(Relation heap, AclMode privileges)
{
	TupleConstr *constr = RelationGetDescr(heap)->constr;

	if (XactReadOnly || IsInParallelMode() ||
		ExecutorCheckPerms_hook != NULL ||
		heap->rd_rel->relkind != RELKIND_RELATION ||
		heap->rd_rel->relispartition || heap->rd_rel->relhassubclass ||
		heap->rd_rel->relam != HEAP_TABLE_AM_OID ||
		heap->trigdesc != NULL ||
		heap->rd_rel->relhasrules ||
		heap->rd_rel->relrowsecurity ||
		(constr != NULL && (constr->num_check > 0 || constr->has_generated_stored)))
		return false;
	for (AclMode privilege = 1; privilege != 0 && privilege <= privileges; privilege <<= 1)
		if ((privileges & privilege) != 0 &&
			pg_class_aclcheck(RelationGetRelid(heap), GetUserId(), privilege) != ACLCHECK_OK)
			return false;
	return true;
}

/*
 * The executor's description of a table's indexes, in a new EState
 * (freed with it by close_indexes)
 */
static ResultRelInfo *
open_indexes(Relation heap, EState **estate)
{
	MemoryContext caller_context;
	ResultRelInfo *info;

	*estate = CreateExecutorState();
	caller_context = MemoryContextSwitchTo((*estate)->es_query_cxt);
	info = makeNode(ResultRelInfo);
	InitResultRelInfo(info, heap, 1, NULL, 0);
	ExecOpenIndices(info, false);
	MemoryContextSwitchTo(caller_context);
	return info;
}

static void
close_indexes(ResultRelInfo *info, EState *estate)
{
	ExecCloseIndices(info);
	FreeExecutorState(estate);
}

/*
 * Put a new row version into every index of the table, as the executor
 * does (unique ones checked: 23505; its "update" hint, which needs a range
 * table, left out), turning "index row size" errors into convexlite's
 */
static void
insert_index_entries(CvxTable *table, ResultRelInfo *info, EState *estate, HeapTuple tuple)
{
	MemoryContext caller_context = CurrentMemoryContext;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(info->ri_RelationDesc),
													&TTSOpsHeapTuple);

	ExecStoreHeapTuple(tuple, slot, false);
	PG_TRY();
	{
		list_free(ExecInsertIndexTuples(info, slot, estate, false, false, NULL, NIL));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		raise_index_size_error(table);
	}
	PG_END_TRY();
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Update one row without the planner or the executor: the row version
 * `old` (found under the active snapshot, its buffer pinned) gets
 * columns attnums[0..count-1] replaced, and index entries when the
 * update is not HOT.  Returns the new row, or NULL when a concurrent
 * transaction updated or deleted the row first: at READ COMMITTED the
 * caller looks for it again under a new snapshot (what an UPDATE's
 * EvalPlanQual does); at REPEATABLE READ and SERIALIZABLE that is 40001,
 * as for an UPDATE.  The caller checked cvx_can_write_in_place.
 */
HeapTuple
cvx_update_in_place(CvxTable *table, Relation heap, TupleTableSlot *old, int count,
					const int *attnums, const Datum *values, const bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(heap);
	HeapTuple	stored = ExecFetchSlotHeapTuple(old, false, NULL);
	HeapTuple	tuple;
	TM_FailureData failure;
	LockTupleMode lockmode;
	TM_Result	result;

	CheckCmdReplicaIdentity(heap, CMD_UPDATE);
	for (int i = 0; i < count; i++)
		if (nulls[i])
			require_not_null(heap, attnums[i]);
	tuple = heap_modify_tuple_by_cols(stored, desc, count, (int *) attnums,
									  (Datum *) values, (bool *) nulls);
	result = heap_update(heap, &old->tts_tid, tuple, GetCurrentCommandId(true),
						 InvalidSnapshot, true, &failure, &lockmode);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent %s",
								result == TM_Updated ? "update" : "delete")));
			heap_freetuple(tuple);
			return NULL;
		default:
			elog(ERROR, "convexlite: unexpected result %d updating a row of \"%s\"",
				 (int) result, RelationGetRelationName(heap));
	}
	if (!HeapTupleIsHeapOnly(tuple))
	{
		/* not HOT: every index gets the new version */
		EState	   *estate;
		ResultRelInfo *info = open_indexes(heap, &estate);

		insert_index_entries(table, info, estate, tuple);
		close_indexes(info, estate);
	}
	/* as SPI does after a statement: later commands see the new version */
	CommandCounterIncrement();
	return tuple;
}

/*
 * Insert a document's row without the planner or the executor:
 * row[0.._ncolumns+1] (_id, _creation_time, each column) formed into a
 * tuple, heap_insert, and an entry in every index (unique ones checked,
 * 23505 as for an INSERT), with cvx_write's checks, counts, conflict locks
 * and notification.  False, having done nothing, when the table needs the
 * INSERT statement: cvx_can_write_in_place says no, it has a column
 * convexlite does not know (a DBA's, maybe with a default), an index
 * whose uniqueness is checked at commit, or an exclusion constraint.
 */
static bool
insert_in_place(CvxTable *table, const Datum *row, const bool *row_nulls)
{
	Relation	heap;
	TupleDesc	desc;
	int			nrow = table->ncolumns + 2;
	Datum	   *values;
	bool	   *nulls;
	int			mapped = 0;
	int			live = 0;
	EState	   *estate;
	ResultRelInfo *info;
	HeapTuple	tuple;
	SPITupleTable rows = {0};

	cvx_write_begin(table, CVX_WRITE_INSERT);
	heap = table_open(table->relid, RowExclusiveLock);
	desc = RelationGetDescr(heap);
	if (!cvx_can_write_in_place(heap, ACL_INSERT | ACL_SELECT))
	{
		table_close(heap, NoLock);
		return false;
	}
	/* each attribute from its column of the row, by name */
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, a);
		const char *name = NameStr(attr->attname);
		int			r = -1;

		nulls[a] = true;
		if (attr->attisdropped)
			continue;
		live++;
		if (strcmp(name, "cvx_inserted") == 0)
			break;			/* the name of an upsert's flag (realtime.c) */
		if (strcmp(name, "_id") == 0)
			r = 0;
		else if (strcmp(name, "_creation_time") == 0)
			r = 1;
		else
			for (int c = 0; c < table->ncolumns && r < 0; c++)
				if (strcmp(name, table->columns[c].column) == 0)
					r = c + 2;
		if (r < 0 || attr->atttypid != (r == 0 ? TEXTOID : r == 1 ? FLOAT8OID :
										table->columns[r - 2].type_oid))
			break;
		values[a] = row[r];
		nulls[a] = row_nulls[r];
		mapped++;
	}
	if (mapped != live || live != nrow)
	{
		table_close(heap, NoLock);
		return false;
	}
	info = open_indexes(heap, &estate);
	for (int i = 0; i < info->ri_NumIndices; i++)
		if (!info->ri_IndexRelationDescs[i]->rd_index->indimmediate ||
			info->ri_IndexRelationInfo[i]->ii_ExclusionOps != NULL)
		{
			close_indexes(info, estate);
			table_close(heap, NoLock);
			return false;
		}

	/* every attribute is a column of the row, of its type: the row's size */
	cvx_count_written(table, CVX_WRITE_INSERT, cvx_values_size(desc, values, nulls));
	for (int a = 0; a < desc->natts; a++)
		if (nulls[a] && TupleDescAttr(desc, a)->attnotnull)
			require_not_null(heap, a + 1);
	/* as SPI does before a statement */
	CommandCounterIncrement();
	tuple = heap_form_tuple(desc, values, nulls);
	heap_insert(heap, tuple, GetCurrentCommandId(true), 0, NULL);
	insert_index_entries(table, info, estate, tuple);
	close_indexes(info, estate);
	CommandCounterIncrement();

	rows.tupdesc = desc;
	rows.vals = &tuple;
	rows.numvals = 1;
	cvx_write_end(table, CVX_WRITE_INSERT, &rows, 1);
	heap_freetuple(tuple);
	pfree(values);
	pfree(nulls);
	table_close(heap, NoLock);
	return true;
}

/* Turn bool nulls into SPI's ' '/'n' flags */
static char *
spi_nulls(const bool *nulls, int count)
{
	char	   *flags = palloc(count + 1);

	for (int i = 0; i < count; i++)
		flags[i] = nulls[i] ? 'n' : ' ';
	flags[count] = '\0';
	return flags;
}

/*
 * Insert a row whose field columns are in values/nulls (one slot per
 * column); mints _id and _creation_time.  Returns the new id.
 */
text *
cvx_db_insert_row(CvxTable *table, Datum *values, bool *nulls)
{
	int			natts = table->ncolumns + 2;
	Datum	   *row = palloc(sizeof(Datum) * natts);
	bool	   *row_nulls = palloc0(sizeof(bool) * natts);
	text	   *id = cvx_new_id(table->number);

	row[0] = PointerGetDatum(id);
	row[1] = Float8GetDatum(cvx_next_creation_time());
	memcpy(row + 2, values, sizeof(Datum) * table->ncolumns);
	memcpy(row_nulls + 2, nulls, sizeof(bool) * table->ncolumns);
	if (!insert_in_place(table, row, row_nulls))
		cvx_write(table, CVX_WRITE_INSERT, insert_plan(table), row,
				  spi_nulls(row_nulls, natts));
	return id;
}

/* Read a document's row, or NULL when it does not exist */
HeapTuple
cvx_db_get_row(CvxTable *table, text *id, bool for_update, TupleDesc *tupdesc)
{
	Datum		args[1] = {PointerGetDatum(id)};
	int			rc;

	/* inside a mutation a read takes the document's lock instead (conflicts.c) */
	if (cvx_in_mutation())
	{
		cvx_conflict_read_document(table, id);
		for_update = false;
	}
	/* a query's reads all see its snapshot (read-only SPI: the active one) */
	rc = cvx_execute(get_plan(table, for_update), args, NULL,
					 !for_update && cvx_reads_share_snapshot(), 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: read from \"%s\" failed: %s",
			 table->name, SPI_result_code_string(rc));
	cvx_conflict_check_current(get_plan(table, false), args, NULL);
	if (SPI_processed == 0)
		return NULL;
	cvx_count_row_read(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	*tupdesc = SPI_tuptable->tupdesc;
	return SPI_tuptable->vals[0];
}

/* Delete a document; false when it did not exist */
bool
cvx_db_delete_row(CvxTable *table, text *id)
{
	Datum		args[1] = {PointerGetDatum(id)};

	cvx_conflict_write_document(table, id);
	return cvx_write(table, CVX_WRITE_DELETE, delete_plan(table), args, NULL) > 0;
}

/* Replace every field column of an existing row; false if it is gone */
static bool
update_row(CvxTable *table, text *id, Datum *values, bool *nulls)
{
	int			natts = table->ncolumns + 2;
	Datum	   *row = palloc(sizeof(Datum) * natts);
	bool	   *row_nulls = palloc0(sizeof(bool) * natts);

	row[0] = PointerGetDatum(id);
	row[1] = Float8GetDatum(0);
	memcpy(row + 2, values, sizeof(Datum) * table->ncolumns);
	memcpy(row_nulls + 2, nulls, sizeof(bool) * table->ncolumns);
	return cvx_write(table, CVX_WRITE_UPDATE, update_plan(table), row,
					 spi_nulls(row_nulls, natts)) > 0;
}

/* ctx.db writes only application tables; system tables have their own API */
static void
require_writable(CvxTable *table)
{
	if (table->is_system)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("system table \"%s\" cannot be written with ctx.db", table->name),
				 errhint("System tables change only through convexlite's own functions.")));
}

/*
 * The application table argument 0 names, locked for a write needing mode
 * (cvx_table_for_write) once it is known to be writable with ctx.db.
 */
static CvxTable *
table_for_write(FunctionCallInfo fcinfo, AclMode mode)
{
	text	   *name;

	cvx_require_argument(fcinfo, 0, "table_name");
	name = PG_GETARG_TEXT_PP(0);
	require_writable(cvx_table_lookup(name));
	return cvx_table_for_write(name, mode);
}

/* A document argument: a JSON object, viewed in place */
static void
document_argument(FunctionCallInfo fcinfo, int argno, const char *name,
				  CvxValue *document)
{
	cvx_require_argument(fcinfo, argno, name);
	cvx_jsonb_value(PG_GETARG_JSONB_P(argno), document);
}

/* convex_db_insert(table, doc): ctx.db.insert; returns the new id */
Datum
convex_db_insert(PG_FUNCTION_ARGS)
{
	CvxTable   *table;
	CvxValue	document;
	Datum	   *values;
	bool	   *nulls;
	text	   *id;
	text	   *result;

	cvx_refuse_in_query("ctx.db.insert");
	table = table_for_write(fcinfo, ACL_INSERT);
	document_argument(fcinfo, 1, "doc", &document);
	cvx_check_document(table, &document, NULL);

	values = palloc(sizeof(Datum) * (table->ncolumns + 1));
	nulls = palloc(sizeof(bool) * (table->ncolumns + 1));
	cvx_document_to_row(table, &document, values, nulls);

	cvx_spi_connect();
	id = cvx_db_insert_row(table, values, nulls);
	result = SPI_palloc(VARSIZE(id));
	memcpy(result, id, VARSIZE(id));
	cvx_spi_finish();
	PG_RETURN_TEXT_P(result);
}

/* convex_db_get(table, id): ctx.db.get; NULL when missing */
Datum
convex_db_get(PG_FUNCTION_ARGS)
{
	MemoryContext caller_context = CurrentMemoryContext;
	CvxTable   *table;
	text	   *id;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	Jsonb	   *document = NULL;

	cvx_require_argument(fcinfo, 0, "table_name");
	table = cvx_table_lookup(PG_GETARG_TEXT_PP(0));
	id = cvx_id_argument(fcinfo, 1, "id", "id", "db.get", table->number, table->name);

	/*
	 * Inside a mutation a read locks the document until the transaction
	 * ends, so that what the mutation decides from it still holds when it
	 * writes (serializable in effect; see the README).
	 */
	cvx_spi_connect();
	tuple = cvx_db_get_row(table, id, cvx_in_mutation(), &tupdesc);
	if (tuple != NULL)
	{
		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

		document = cvx_row_to_document(table, tuple, tupdesc);
		MemoryContextSwitchTo(spi_context);
	}
	cvx_spi_finish();
	if (document == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(document);
}

/*
 * A patch or replacement may carry the system fields of the document it
 * was read as (Convex's WithOptionalSystemFields): they must be the
 * document's own, and are then dropped.  stored is the stored document,
 * or NULL to read _creationTime only when the value has one.
 */
static Jsonb *
strip_system_fields(CvxTable *table, text *id, Jsonb *value, Jsonb *stored,
					const char *operation)
{
	JsonbValue	given;
	JsonbValue	actual;

	if (!JB_ROOT_IS_OBJECT(value))
		return value;
	if (getKeyJsonValueFromContainer(&value->root, "_id", 3, &given) != NULL)
	{
		if (given.type != jbvString ||
			given.val.string.len != (int) VARSIZE_ANY_EXHDR(id) ||
			memcmp(given.val.string.val, VARDATA_ANY(id), given.val.string.len) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Invalid argument `value` for `db.%s`: system field `_id` does not match the document's id %s",
							operation, text_to_cstring(id))));
		value = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(value),
												   CStringGetTextDatum("_id")));
	}
	if (getKeyJsonValueFromContainer(&value->root, "_creationTime", 13, &given) != NULL)
	{
		TupleDesc	tupdesc;
		HeapTuple	row;

		if (stored == NULL && (row = cvx_db_get_row(table, id, false, &tupdesc)) != NULL)
			stored = cvx_row_to_document(table, row, tupdesc);
		if (stored == NULL ||
			getKeyJsonValueFromContainer(&stored->root, "_creationTime", 13, &actual) == NULL ||
			given.type != jbvNumeric ||
			!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(given.val.numeric),
											  NumericGetDatum(actual.val.numeric))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Invalid argument `value` for `db.%s`: system field `_creationTime` does not match the document's",
							operation)));
		value = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(value),
												   CStringGetTextDatum("_creationTime")));
	}
	return value;
}

/*
 * Copy the fields of doc (minus system fields and skip) into state.  With
 * skip NULL, doc is a patch: a null clears an optional field (JSON's
 * stand-in for Convex's undefined) and is dropped for a field the table
 * does not have; a required field is set to null (valid if its validator
 * accepts null).
 */
static void
push_document_fields(JsonbParseState **state, CvxTable *table, Jsonb *doc, Jsonb *skip)
{
	JsonbIterator *it = JsonbIteratorInit(&doc->root);
	JsonbValue	key;
	JsonbValue	value;
	JsonbIteratorToken token;

	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		JsonbValue	found;

		if (token != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &value, true);
		if (key.val.string.len > 0 && key.val.string.val[0] == '_' && skip != NULL)
			continue;			/* _id and _creationTime of the stored document */
		if (skip != NULL &&
			getKeyJsonValueFromContainer(&skip->root, key.val.string.val,
										 key.val.string.len, &found) != NULL)
			continue;			/* patched: taken from the patch instead */
		if (skip == NULL && value.type == jbvNull)
		{
			const CvxFieldValidator *field =
				cvx_validator_field(table->validator, key.val.string.val,
									key.val.string.len);

			if (field == NULL || field->optional)
				continue;		/* cleared */
		}
		pushJsonbValue(state, WJB_KEY, &key);
		pushJsonbValue(state, WJB_VALUE, &value);
	}
}

/*
 * Inside a mutation, before a document is rewritten: its lock, and when
 * the write may change indexed columns (ncolumns of columns[]; 0: every
 * column), the index keys of its stored values (conflicts.c).
 */
static void
lock_for_write(CvxTable *table, text *id, int ncolumns, const int *columns)
{
	Datum		args[1] = {PointerGetDatum(id)};

	cvx_conflict_write_document(table, id);
	if (!cvx_conflict_needs_old_row(table, ncolumns, ncolumns > 0 ? columns : NULL))
		return;
	if (cvx_execute(get_plan(table, false), args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "convexlite: read from \"%s\" failed", table->name);
	if (SPI_processed > 0)
		cvx_conflict_old_row(table, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
}

/* Write a whole new document body over an existing row, validated */
static void
write_document(CvxTable *table, text *id, Jsonb *document, const char *operation)
{
	CvxValue	value;
	Datum	   *values = palloc(sizeof(Datum) * (table->ncolumns + 1));
	bool	   *nulls = palloc(sizeof(bool) * (table->ncolumns + 1));

	cvx_jsonb_value(document, &value);
	cvx_check_document(table, &value, NULL);
	cvx_document_to_row(table, &value, values, nulls);
	lock_for_write(table, id, 0, NULL);
	if (!update_row(table, id, values, nulls))
		cvx_raise_missing_document(operation, text_to_cstring(id));
}

/* Most fields a patch may set through the direct UPDATE path */
#define MAX_DIRECT_PATCH_FIELDS 32

/*
 * A patch of a set of columns the full cache does not hold is admitted
 * (planned, the least recently used set freed) once in this many; the
 * others run any_patch_plan, so a caller cycling through many sets pays
 * for planning on a sixteenth of its patches, and memory stays bounded.
 */
#define PATCH_ADMIT_EVERY 16

/*
 * UPDATE convex.t SET c1 = $2, ... WHERE _id = $1 RETURNING the whole row,
 * for one set of columns (columns: positions in table->columns, sorted).
 * A caller chooses which fields it patches, and a table of n optional
 * fields has 2^n sets, so these statements are kept in a bounded LRU
 * (plans.c).  NULL when the set has none and the cache is full: the
 * caller then runs any_patch_plan (see PATCH_ADMIT_EVERY).
 */
static SPIPlanPtr
patch_plan(CvxTable *table, int ncolumns, const int *columns)
{
	StringInfoData sql;
	Oid			argtypes[MAX_DIRECT_PATCH_FIELDS + 1];
	SPIPlanPtr	plan;

	plan = cvx_plan_cache_find(&table->patch_plans, columns, sizeof(int) * ncolumns);
	if (plan != NULL)
		return plan;
	if (list_length(table->patch_plans) >= CVX_KEPT_PLANS_PER_TABLE &&
		table->patch_misses++ % PATCH_ADMIT_EVERY != 0)
		return NULL;
	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s.%s SET ", CVX_SCHEMA, quote_identifier(table->name));
	argtypes[0] = TEXTOID;
	for (int i = 0; i < ncolumns; i++)
	{
		appendStringInfo(&sql, "%s%s = $%d", i > 0 ? ", " : "",
						 quote_identifier(table->columns[columns[i]].column), i + 2);
		argtypes[i + 1] = table->columns[columns[i]].type_oid;
	}
	appendStringInfoString(&sql, " WHERE _id OPERATOR(pg_catalog.=) $1 RETURNING ");
	append_column_list(&sql, table);
	plan = cvx_prepare(sql.data, ncolumns + 1, argtypes);
	pfree(sql.data);
	/* remembered in the table set's memory */
	cvx_plan_cache_add(&table->patch_plans, columns, sizeof(int) * ncolumns, plan,
					   GetMemoryChunkContext(table->columns));
	return plan;
}

/*
 * One UPDATE for every set of columns, kept once per table:
 * SET c = CASE WHEN $2k THEN $2k+1 ELSE c END for each column (parameter
 * 2 + 2i says whether column i is patched, 3 + 2i is its value), WHERE
 * _id = $1, RETURNING the whole row.  A column not patched is assigned its
 * own value (the same TOAST pointer; HOT still applies when no indexed
 * value changes).
 */
static SPIPlanPtr
any_patch_plan(CvxTable *table)
{
	StringInfoData sql;
	Oid		   *argtypes;

	if (table->any_patch_plan != NULL)
		return table->any_patch_plan;
	argtypes = palloc(sizeof(Oid) * (2 * table->ncolumns + 1));
	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s.%s SET ", CVX_SCHEMA, quote_identifier(table->name));
	argtypes[0] = TEXTOID;
	for (int i = 0; i < table->ncolumns; i++)
	{
		const char *column = quote_identifier(table->columns[i].column);

		appendStringInfo(&sql, "%s%s = CASE WHEN $%d THEN $%d ELSE %s END", i > 0 ? ", " : "",
						 column, 2 * i + 2, 2 * i + 3, column);
		argtypes[2 * i + 1] = BOOLOID;
		argtypes[2 * i + 2] = table->columns[i].type_oid;
	}
	appendStringInfoString(&sql, " WHERE _id OPERATOR(pg_catalog.=) $1 RETURNING ");
	append_column_list(&sql, table);
	table->any_patch_plan = cvx_prepare(sql.data, 2 * table->ncolumns + 1, argtypes);
	pfree(sql.data);
	pfree(argtypes);
	return table->any_patch_plan;
}

/* One field of a patch, for the direct path */
typedef struct PatchField
{
	int			column;			/* position in table->columns */
	CvxValue	value;
	bool		clear;			/* null on an optional field */
} PatchField;

/* Order patch fields by column */
static int
compare_patch_fields(const void *a, const void *b)
{
	return ((const PatchField *) a)->column - ((const PatchField *) b)->column;
}

/*
 * The direct path of ctx.db.patch: when every patched field is a field of
 * the table and each new value passes its field's validator, the merged
 * document is valid (the table's validator is an object of independent
 * fields and the stored document was valid), so one UPDATE of those
 * columns does the whole patch, without reading the document first.
 * Returns false, having done nothing, when the general path must decide
 * (system fields, unknown fields, invalid values: it words the errors).
 * Raises Convex's error when the document does not exist.
 */
static bool
patch_directly(CvxTable *table, text *id, Jsonb *patch)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;
	PatchField	fields[MAX_DIRECT_PATCH_FIELDS];
	int			columns[MAX_DIRECT_PATCH_FIELDS];
	Datum		values[MAX_DIRECT_PATCH_FIELDS + 1];
	char		nulls[MAX_DIRECT_PATCH_FIELDS + 2];
	int			nfields = 0;
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	value;
	JsonbIteratorToken token;
	CvxValue	document;
	SPIPlanPtr	plan;

	if (JsonContainerSize(&patch->root) > MAX_DIRECT_PATCH_FIELDS)
		return false;
	cvx_jsonb_value(patch, &document);
	if (!cvx_document_validate(&document, &cvx_jsonb_ops, NULL, 0))
		return false;
	it = JsonbIteratorInit(&patch->root);
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		const CvxFieldValidator *field;
		PatchField *patched;

		if (token != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &value, true);
		field = cvx_validator_field(table->validator, key.val.string.val,
									key.val.string.len);
		if (field == NULL)
			return false;		/* a system field, or one the table lacks */
		patched = &fields[nfields++];
		patched->column = (int) (field - table->columns[0].field);
		if (patched->column < 0 || patched->column >= table->ncolumns ||
			table->columns[patched->column].field != field)
			return false;		/* columns are in field order; never otherwise */
		patched->clear = value.type == jbvNull && field->optional;
		cvx_jsonb_scalar_value(&value, &patched->value);
		if (!patched->clear && !cvx_check(field->validator, &patched->value, &context, &error))
			return false;
	}
	if (nfields == 0)
	{
		/* an empty patch writes nothing but must find the document */
		TupleDesc	tupdesc;

		if (cvx_db_get_row(table, id, true, &tupdesc) == NULL)
			cvx_raise_missing_document("Update", text_to_cstring(id));
		return true;
	}
	qsort(fields, nfields, sizeof(PatchField), compare_patch_fields);
	values[0] = PointerGetDatum(id);
	nulls[0] = ' ';
	for (int i = 0; i < nfields; i++)
	{
		columns[i] = fields[i].column;
		nulls[i + 1] = fields[i].clear ? 'n' : ' ';
		values[i + 1] = fields[i].clear ? (Datum) 0 :
			cvx_field_datum(&table->columns[fields[i].column], &fields[i].value);
	}
	nulls[nfields + 1] = '\0';
	lock_for_write(table, id, nfields, columns);
	plan = patch_plan(table, nfields, columns);
	if (plan == NULL)
	{
		/* the set has no statement of its own: the one for every set */
		Datum	   *any_values = palloc0(sizeof(Datum) * (2 * table->ncolumns + 1));
		char	   *any_nulls = palloc(2 * table->ncolumns + 2);

		any_values[0] = values[0];
		any_nulls[0] = ' ';
		for (int c = 0; c < table->ncolumns; c++)
		{
			any_values[2 * c + 1] = BoolGetDatum(false);
			any_nulls[2 * c + 1] = ' ';
			any_nulls[2 * c + 2] = 'n';
		}
		for (int i = 0; i < nfields; i++)
		{
			any_values[2 * columns[i] + 1] = BoolGetDatum(true);
			any_values[2 * columns[i] + 2] = values[i + 1];
			any_nulls[2 * columns[i] + 2] = nulls[i + 1];
		}
		any_nulls[2 * table->ncolumns + 1] = '\0';
		plan = any_patch_plan(table);
		if (cvx_write(table, CVX_WRITE_PATCH, plan, any_values, any_nulls) == 0)
			cvx_raise_missing_document("Update", text_to_cstring(id));
		return true;
	}
	if (cvx_write(table, CVX_WRITE_PATCH, plan, values, nulls) == 0)
		cvx_raise_missing_document("Update", text_to_cstring(id));
	return true;
}

/*
 * convex_db_patch(table, id, fields): ctx.db.patch, a shallow merge; a
 * null value clears an optional field.  The merged document is validated.
 */
Datum
convex_db_patch(PG_FUNCTION_ARGS)
{
	CvxTable   *table;
	text	   *id;
	Jsonb	   *patch;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	Jsonb	   *stored;
	JsonbParseState *state = NULL;
	JsonbValue *merged;

	cvx_refuse_in_query("ctx.db.patch");
	table = table_for_write(fcinfo, ACL_UPDATE);
	id = cvx_id_argument(fcinfo, 1, "id", "id", "db.patch", table->number, table->name);
	cvx_require_argument(fcinfo, 2, "fields");
	patch = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_OBJECT(patch))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Invalid argument `value` for `db.patch`: the fields to patch must be a JSON object")));

	cvx_spi_connect();
	if (patch_directly(table, id, patch))
	{
		cvx_spi_finish();
		PG_RETURN_VOID();
	}
	tuple = cvx_db_get_row(table, id, true, &tupdesc);
	if (tuple == NULL)
		cvx_raise_missing_document("Update", text_to_cstring(id));
	stored = cvx_row_to_document(table, tuple, tupdesc);
	patch = strip_system_fields(table, id, patch, stored, "patch");

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_document_fields(&state, table, stored, patch);
	push_document_fields(&state, table, patch, NULL);
	merged = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	write_document(table, id, JsonbValueToJsonb(merged), "Update");
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/* convex_db_replace(table, id, doc): ctx.db.replace, validated */
Datum
convex_db_replace(PG_FUNCTION_ARGS)
{
	CvxTable   *table;
	text	   *id;
	CvxValue	document;

	cvx_refuse_in_query("ctx.db.replace");
	table = table_for_write(fcinfo, ACL_UPDATE);
	id = cvx_id_argument(fcinfo, 1, "id", "id", "db.replace", table->number, table->name);
	document_argument(fcinfo, 2, "doc", &document);

	cvx_spi_connect();
	write_document(table, id,
				   strip_system_fields(table, id, PG_GETARG_JSONB_P(2), NULL, "replace"),
				   "Replace");
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/* convex_db_delete(table, id): ctx.db.delete; the document must exist */
Datum
convex_db_delete(PG_FUNCTION_ARGS)
{
	CvxTable   *table;
	text	   *id;

	cvx_refuse_in_query("ctx.db.delete");
	table = table_for_write(fcinfo, ACL_DELETE);
	id = cvx_id_argument(fcinfo, 1, "id", "id", "db.delete", table->number, table->name);

	cvx_spi_connect();
	if (!cvx_db_delete_row(table, id))
		cvx_raise_missing_document("Delete", text_to_cstring(id));
	cvx_spi_finish();
	PG_RETURN_VOID();
}
