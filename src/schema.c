/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  convex_define_table: the schema.ts analogue.
 *
 * A table is defined by the "value" of a ValidatorJSON object validator
 * and its indexes ({"by_channel": ["channelId"]}).  Each top-level field
 * becomes a snake_case column; each index covers its fields and then
 * _creation_time, as Convex's indexes do.  Redefining a table may add
 * fields, drop fields no document sets, add and drop indexes, and change
 * validators as long as every stored document still matches; anything
 * else is refused and nothing changes.  Whatever changes convex._tables
 * sends a relcache invalidation for it, so every session reloads its
 * table cache (tables.c).
 *
 * Locks: a definition first takes the table name's definition lock
 * (cvx_lock_table_definition), so definitions of one name, the first
 * included, run one after the other and each starts from the catalog the
 * previous one committed.  A redefinition then locks the table, in SHARE
 * ROW EXCLUSIVE mode when it only changes validators (readers go on) or
 * ACCESS EXCLUSIVE when it alters the table or its indexes; either waits
 * for the writers in progress and keeps new ones out until it commits.
 * It checks the stored documents with the latest snapshot: nothing it did
 * not check can be written before the new definition is in force, and
 * writers (cvx_table_for_write) validate against the new one.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(convex_define_table);
PG_FUNCTION_INFO_V1(convex_table_notify);

/* Check a table or index name against Convex's identifier rule */
static void
require_identifier(const char *what, const char *name, size_t len)
{
	char		why[256];

	if (!cvx_identifier_check(name, len, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\": %s", what, cvx_clip_name(name, len), why)));
	if (name[0] == '_')
		ereport(ERROR,
				(errcode(ERRCODE_RESERVED_NAME),
				 errmsg("%s name \"%s\" is reserved: names starting with \"_\" belong to the system",
						what, name)));
}

/* The SQL type of a column */
static const char *
column_sql_type(CvxColumnType type)
{
	switch (type)
	{
		case CVX_COL_TEXT:
			return "pg_catalog.text COLLATE pg_catalog.\"C\"";
		case CVX_COL_FLOAT8:
			return "pg_catalog.float8";
		case CVX_COL_BOOL:
			return "pg_catalog.bool";
		case CVX_COL_INT8:
			return "pg_catalog.int8";
		case CVX_COL_BYTEA:
			return "pg_catalog.bytea";
		case CVX_COL_JSONB:
			return "pg_catalog.jsonb";
	}
	pg_unreachable();
}

/* The SQL type of a column, as a person reads it */
static const char *
column_type_name(CvxColumnType type)
{
	switch (type)
	{
		case CVX_COL_TEXT:
			return "text";
		case CVX_COL_FLOAT8:
			return "double precision";
		case CVX_COL_BOOL:
			return "boolean";
		case CVX_COL_INT8:
			return "bigint";
		case CVX_COL_BYTEA:
			return "bytea";
		case CVX_COL_JSONB:
			return "jsonb";
	}
	pg_unreachable();
}

/* Run one DDL or catalog statement under the pinned search_path */
static void
run(const char *sql)
{
	int			rc = cvx_execute_once(sql, false);

	if (rc < 0)
		elog(ERROR, "convexlite: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* One requested index: its name and its fields' columns */
typedef struct IndexSpec
{
	char		name[NAMEDATALEN];
	List	   *columns;		/* of char *, in order */
	List	   *paths;			/* of char *: the path below each column, "" if none */
	List	   *fields;			/* of char *: the field paths as given */
	char	   *definition;		/* the fields as given, to compare */
} IndexSpec;

/* Read and check the indexes argument against the table's columns */
static List *
parse_indexes(CvxTable *table, Jsonb *indexes)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	value;
	JsonbIteratorToken token;
	List	   *specs = NIL;

	if (!JB_ROOT_IS_OBJECT(indexes))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("indexes must be a JSON object mapping index names to arrays of field names")));
	it = JsonbIteratorInit(&indexes->root);
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		IndexSpec  *spec;
		char	   *index_name;
		int			nfields;

		if (token != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &value, true);
		index_name = pnstrdup(key.val.string.val, key.val.string.len);
		require_identifier("index", index_name, key.val.string.len);
		if (strcmp(index_name, "by_id") == 0 || strcmp(index_name, "by_creation_time") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("index name \"%s\" is reserved", index_name)));
		if (strlen(table->name) + 2 + strlen(index_name) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("table name and index name \"%s\" are too long together (at most %d characters)",
							index_name, NAMEDATALEN - 3)));
		if (value.type != jbvBinary || !JsonContainerIsArray(value.val.binary.data) ||
			JsonContainerSize(value.val.binary.data) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("index \"%s\" must list its fields as a non-empty JSON array of field names",
							index_name)));
		nfields = JsonContainerSize(value.val.binary.data);
		if (nfields > CVX_MAX_INDEX_FIELDS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("index \"%s\" has %d fields; at most %d are allowed",
							index_name, nfields, CVX_MAX_INDEX_FIELDS)));

		spec = palloc0(sizeof(IndexSpec));
		strlcpy(spec->name, index_name, NAMEDATALEN);
		spec->definition = JsonbToCString(NULL, value.val.binary.data, value.val.binary.len);
		for (int i = 0; i < nfields; i++)
		{
			JsonbValue *field = getIthJsonbValueFromContainer(value.val.binary.data, i);
			const char *column = NULL;
			const CvxColumn *described = NULL;
			char	   *path;
			char	   *dot;

			if (field->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("index \"%s\" must list field names as strings", index_name)));
			path = pnstrdup(field->val.string.val, field->val.string.len);
			/* a nested path "a.b.c": field a, then "b.c" inside it */
			dot = strchr(path, '.');
			if (dot != NULL)
				*dot = '\0';
			for (int c = 0; c < table->ncolumns; c++)
				if (strcmp(table->columns[c].field->name, path) == 0)
				{
					column = table->columns[c].column;
					described = &table->columns[c];
				}
			if (column == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("index \"%s\" lists \"%.*s\", which is not a field of table \"%s\"",
								index_name, Min(field->val.string.len, 64),
								field->val.string.val, table->name),
						 errhint("Index fields are fields of the table, or paths into one (\"a.b\").")));
			if (dot != NULL)
			{
				/* each part a field name; the field holds objects (stored as jsonb) */
				for (char *part = dot + 1;;)
				{
					char	   *next = strchr(part, '.');
					size_t		len = next != NULL ? (size_t) (next - part) : strlen(part);

					if (len == 0 || part[0] == '$')
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("index \"%s\" lists \"%.*s\", which is not a valid field path",
										index_name, Min(field->val.string.len, 64), field->val.string.val)));
					if (next == NULL)
						break;
					part = next + 1;
				}
				if (described->type != CVX_COL_JSONB)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("index \"%s\" lists \"%.*s\", but field \"%s\" of table \"%s\" cannot hold an object",
									index_name, Min(field->val.string.len, 64), field->val.string.val,
									described->field->name, table->name)));
			}
			if (list_member(spec->fields, makeString(pnstrdup(field->val.string.val, field->val.string.len))))
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("index \"%s\" lists field \"%.*s\" twice", index_name,
								Min(field->val.string.len, 64), field->val.string.val)));
			spec->fields = lappend(spec->fields,
								   makeString(pnstrdup(field->val.string.val, field->val.string.len)));
			spec->columns = lappend(spec->columns, makeString((char *) column));
			spec->paths = lappend(spec->paths, makeString(dot != NULL ? dot + 1 : ""));
		}
		specs = lappend(specs, spec);
	}
	return specs;
}

/*
 * CREATE INDEX "<table>__<index>" ON convex.t (keys..., _creation_time):
 * each field as its column, or as convex.index_key(column) where the
 * column's SQL order is not Convex's (cvx_index_keyed); a nested field
 * path "a.b" as convex.index_key((a -> 'b')).
 */
static void
create_index(CvxTable *table, IndexSpec *spec)
{
	StringInfoData sql;
	ListCell   *lc;
	ListCell   *pc;
	char		index_relname[NAMEDATALEN];

	snprintf(index_relname, sizeof(index_relname), "%s__%s", table->name, spec->name);
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX %s ON %s.%s (", quote_identifier(index_relname),
					 CVX_SCHEMA, quote_identifier(table->name));
	forboth(lc, spec->columns, pc, spec->paths)
	{
		const char *name = strVal(lfirst(lc));
		const char *path = strVal(lfirst(pc));
		const CvxColumn *column = NULL;

		for (int c = 0; c < table->ncolumns; c++)
			if (strcmp(table->columns[c].column, name) == 0)
				column = &table->columns[c];
		Assert(column != NULL);
		if (path[0] != '\0')
			/* a nested field path: always as Convex's key of the value there */
			appendStringInfo(&sql, "%s.index_key(%s), ", CVX_SCHEMA, cvx_json_path_sql(name, path));
		else if (column != NULL && cvx_index_keyed(table, column))
			appendStringInfo(&sql, "%s.index_key(%s), ", CVX_SCHEMA, quote_identifier(name));
		else
			appendStringInfo(&sql, "%s, ", quote_identifier(name));
	}
	appendStringInfoString(&sql, "_creation_time)");
	run(sql.data);
}

/*
 * Would the index of spec store a field differently under the new
 * definition than under the old one (a field became optional or
 * required)?  Then it is built again.
 */
static bool
keying_changed(CvxTable *old, CvxTable *new, List *specs, const char *index_name)
{
	ListCell   *lc;

	foreach(lc, specs)
	{
		IndexSpec  *spec = lfirst(lc);
		ListCell   *cc;

		if (strcmp(spec->name, index_name) != 0)
			continue;
		foreach(cc, spec->columns)
		{
			const char *name = strVal(lfirst(cc));
			int			a = -1;
			int			b = -1;

			for (int c = 0; c < old->ncolumns; c++)
				if (strcmp(old->columns[c].column, name) == 0)
					a = c;
			for (int c = 0; c < new->ncolumns; c++)
				if (strcmp(new->columns[c].column, name) == 0)
					b = c;
			if (a < 0 || b < 0 ||
				cvx_index_keyed(old, &old->columns[a]) != cvx_index_keyed(new, &new->columns[b]))
				return true;
		}
	}
	return false;
}

/* DROP INDEX convex."<table>__<index>" */
static void
drop_index(const char *table_name, const char *index_name)
{
	char		index_relname[NAMEDATALEN];

	snprintf(index_relname, sizeof(index_relname), "%s__%s", table_name, index_name);
	run(psprintf("DROP INDEX %s.%s", CVX_SCHEMA, quote_identifier(index_relname)));
}

/*
 * A throwaway CvxTable for the requested definition: its validator and
 * columns, as tables.c would load them.  The caller frees the validator.
 */
static CvxTable *
describe_table(const char *name, Jsonb *fields)
{
	CvxTable   *table = palloc0(sizeof(CvxTable));
	char	   *fields_json = JsonbToCString(NULL, &fields->root, VARSIZE(fields));

	strlcpy(table->name, name, NAMEDATALEN);
	cvx_describe_table(table, fields_json, CurrentMemoryContext, false);
	return table;
}

/* Refuse field names that cannot be columns, or collide as columns */
static void
check_columns(CvxTable *table)
{
	for (int i = 0; i < table->ncolumns; i++)
	{
		const char *field = table->columns[i].field->name;

		if (field[0] == '_')
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("field name \"%s\" is reserved: fields starting with \"_\" are system fields",
							field)));
		for (int j = 0; j < i; j++)
			if (strcmp(table->columns[i].column, table->columns[j].column) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("fields \"%s\" and \"%s\" would both be stored in column \"%s\"",
								table->columns[j].field->name, field, table->columns[i].column)));
	}
}

/* Find a column of table by its field name */
static CvxColumn *
find_column(CvxTable *table, const char *field)
{
	for (int i = 0; i < table->ncolumns; i++)
		if (strcmp(table->columns[i].field->name, field) == 0)
			return &table->columns[i];
	return NULL;
}

/*
 * Will redefining old as new add or drop a column or an index (DDL on the
 * table), rather than only change validators?  Indexes are compared as
 * jsonb text, which is canonical (keys sorted).
 */
static bool
changes_relation(CvxTable *old, CvxTable *new, Jsonb *old_indexes, Jsonb *new_indexes)
{
	if (old->ncolumns != new->ncolumns)
		return true;
	for (int i = 0; i < new->ncolumns; i++)
		if (find_column(old, new->columns[i].field->name) == NULL)
			return true;
	return strcmp(JsonbToCString(NULL, &old_indexes->root, VARSIZE(old_indexes)),
				  JsonbToCString(NULL, &new_indexes->root, VARSIZE(new_indexes))) != 0;
}

/*
 * Change an existing table to the new definition: every stored document
 * must match the new validator; fields no document sets may go; storage
 * types may not change.
 */
static void
alter_table(CvxTable *old, CvxTable *new)
{
	const char *qname = quote_identifier(new->name);

	for (int i = 0; i < old->ncolumns; i++)
	{
		CvxColumn  *before = &old->columns[i];
		CvxColumn  *after = find_column(new, before->field->name);

		if (after == NULL)
		{
			int			rc = cvx_execute_once(psprintf("SELECT 1 FROM %s.%s WHERE %s IS NOT NULL LIMIT 1",
													   CVX_SCHEMA, qname,
													   quote_identifier(before->column)), true);

			if (rc != SPI_OK_SELECT)
				elog(ERROR, "convexlite: reading table \"%s\" failed", new->name);
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot remove field \"%s\" from table \"%s\": documents still set it",
								before->field->name, new->name),
						 errhint("Clear the field in every document first (patch it to null), then redefine the table.")));
			run(psprintf("ALTER TABLE %s.%s DROP COLUMN %s", CVX_SCHEMA, qname,
						 quote_identifier(before->column)));
		}
		else if (after->type != before->type)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot change how field \"%s\" of table \"%s\" is stored (%s to %s)",
							before->field->name, new->name,
							column_type_name(before->type), column_type_name(after->type)),
					 errhint("Add a new field with the new type and copy the values over.")));
	}
	for (int i = 0; i < new->ncolumns; i++)
		if (find_column(old, new->columns[i].field->name) == NULL)
			run(psprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", CVX_SCHEMA, qname,
						 quote_identifier(new->columns[i].column),
						 column_sql_type(new->columns[i].type)));
}

/*
 * Check every stored document of the table against its new validator.
 * The caller holds a lock that keeps writers out, so the latest snapshot
 * sees every document there is (a statement snapshot taken before the
 * lock was granted could miss one just committed).  Each row is checked
 * in a memory context reset after it, so memory does not grow with the
 * number of rows.
 */
static void
check_stored_documents(CvxTable *table)
{
	StringInfoData sql;
	Portal		portal;
	SPIPlanPtr	plan;
	MemoryContext row_context;
	MemoryContext old_context;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT _id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(table->columns[i].column));
	appendStringInfo(&sql, " FROM %s.%s", CVX_SCHEMA, quote_identifier(table->name));

	plan = cvx_prepare(sql.data, 0, NULL);
	row_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite document check",
										ALLOCSET_DEFAULT_SIZES);
	CommandCounterIncrement();
	PushActiveSnapshot(GetLatestSnapshot());
	portal = cvx_cursor_open(plan, NULL, NULL, true);
	PopActiveSnapshot();
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[r];
			TupleDesc	tupdesc = SPI_tuptable->tupdesc;
			Jsonb	   *document;
			Jsonb	   *fields;
			CvxValue	value;

			CHECK_FOR_INTERRUPTS();
			old_context = MemoryContextSwitchTo(row_context);
			document = cvx_row_to_document(table, tuple, tupdesc);
			fields = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete,
														DirectFunctionCall2(jsonb_delete,
																			JsonbPGetDatum(document),
																			CStringGetTextDatum("_id")),
														CStringGetTextDatum("_creationTime")));
			cvx_jsonb_value(fields, &value);
			cvx_check_document(table, &value,
							   TextDatumGetCString(SPI_getbinval(tuple, tupdesc, 1,
																 &(bool) {false})));
			MemoryContextSwitchTo(old_context);
			MemoryContextReset(row_context);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	MemoryContextDelete(row_context);
}

/* Create a new table, readable and writable only by its owner */
static void
create_table(CvxTable *table)
{
	StringInfoData sql;
	const char *qname = quote_identifier(table->name);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s.%s (_id pg_catalog.text COLLATE pg_catalog.\"C\" PRIMARY KEY, "
					 "_creation_time pg_catalog.float8 NOT NULL",
					 CVX_SCHEMA, qname);
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s %s", quote_identifier(table->columns[i].column),
						 column_sql_type(table->columns[i].type));
	appendStringInfoChar(&sql, ')');
	run(sql.data);
	run(psprintf("REVOKE ALL ON TABLE %s.%s FROM PUBLIC", CVX_SCHEMA, qname));
	/* the by_creation_time index every Convex table has */
	run(psprintf("CREATE INDEX %s ON %s.%s (_creation_time)",
				 quote_identifier(psprintf("%s__by_creation_time", table->name)),
				 CVX_SCHEMA, qname));
}

/*
 * convex_define_table(table_name, fields, indexes): create or redefine a
 * table in schema convex; returns its table number.
 */
Datum
convex_define_table(PG_FUNCTION_ARGS)
{
	text	   *name_text;
	char	   *name;
	Jsonb	   *fields;
	Jsonb	   *indexes;
	CvxTable   *table;
	List	   *index_specs;
	Datum		args[1];
	volatile int32 number = 0;
	bool		exists;
	int			rc;

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", i == 0 ? "table_name" : i == 1 ? "fields" : "indexes")));
	name_text = PG_GETARG_TEXT_PP(0);
	name = text_to_cstring(name_text);
	require_identifier("table", name, strlen(name));
	if (strstr(name, "__") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid table name \"%s\": convexlite table names may not contain \"__\"", name),
				 errdetail("The index relations of table t are named t__<index> in schema convex.")));
	if (strlen(name) >= NAMEDATALEN - 20)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("table name \"%s\" is too long (at most %d characters)", name,
						NAMEDATALEN - 21)));
	fields = PG_GETARG_JSONB_P(1);
	indexes = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_OBJECT(fields))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fields must be a JSON object: the \"value\" of an object validator")));

	cvx_spi_connect();
	table = describe_table(name, fields);
	index_specs = NIL;
	PG_TRY();
	{
		check_columns(table);
		index_specs = parse_indexes(table, indexes);

		/*
		 * Definitions of this name wait for each other from here; the
		 * catalog row is read as the last one committed it.
		 */
		cvx_lock_table_definition(name);
		args[0] = PointerGetDatum(name_text);
		CommandCounterIncrement();
		PushActiveSnapshot(GetLatestSnapshot());
		rc = cvx_execute_args("SELECT number, is_builtin, indexes::pg_catalog.text "
							  "FROM convex._tables WHERE name OPERATOR(pg_catalog.=) $1",
							  1, (Oid[]) {TEXTOID}, args, NULL, true, 1);
		PopActiveSnapshot();
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "convexlite: reading convex._tables failed");
		exists = SPI_processed > 0;
		if (exists)
		{
			bool		isnull;
			CvxTable   *old;
			JsonbIterator *it;
			JsonbValue	key;
			JsonbIteratorToken token;
			Jsonb	   *old_indexes;
			ListCell   *lc;

			number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("table \"%s\" is built into convexlite and cannot be redefined", name)));
			old_indexes = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															 CStringGetDatum(SPI_getvalue(SPI_tuptable->vals[0],
																						  SPI_tuptable->tupdesc, 3))));
			old = cvx_table_by_name(name, strlen(name));
			if (old != NULL && OidIsValid(old->relid))
			{
				/*
				 * Writers in progress finish first, new ones wait until
				 * this commits; the definition writers see afterwards is
				 * this one.  A redefinition that will ALTER the table or
				 * its indexes takes the ACCESS EXCLUSIVE lock that needs
				 * at once: upgrading from SHARE ROW EXCLUSIVE later could
				 * deadlock with a mutation that read the table (RowShare)
				 * and then waits to write it.  (The cache is looked at
				 * again: a newly granted lock takes in invalidations.)
				 */
				LockRelationOid(old->relid,
								changes_relation(old, table, old_indexes, indexes) ?
								AccessExclusiveLock : ShareRowExclusiveLock);
				old = cvx_table_by_name(name, strlen(name));
			}
			if (old == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("table \"%s\" is in convex._tables but not in this session's cache", name),
						 errhint("The catalog was changed without convex_define_table; reconnect and retry.")));

			/* drop indexes that went or changed; create new and changed ones */
			it = JsonbIteratorInit(&old_indexes->root);
			while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
			{
				JsonbValue	value;
				JsonbValue	now;
				char	   *index_name;

				if (token != WJB_KEY)
					continue;
				(void) JsonbIteratorNext(&it, &value, true);
				index_name = pnstrdup(key.val.string.val, key.val.string.len);
				if (getKeyJsonValueFromContainer(&indexes->root, key.val.string.val,
												 key.val.string.len, &now) == NULL ||
					strcmp(JsonbToCString(NULL, now.val.binary.data, now.val.binary.len),
						   JsonbToCString(NULL, value.val.binary.data, value.val.binary.len)) != 0 ||
					keying_changed(old, table, index_specs, index_name))
					drop_index(name, index_name);
			}
			alter_table(old, table);
			foreach(lc, index_specs)
			{
				IndexSpec  *spec = lfirst(lc);
				JsonbValue	before;

				if (getKeyJsonValueFromContainer(&old_indexes->root, spec->name,
												 strlen(spec->name), &before) == NULL ||
					strcmp(JsonbToCString(NULL, before.val.binary.data, before.val.binary.len),
						   spec->definition) != 0 ||
					keying_changed(old, table, index_specs, spec->name))
					create_index(table, spec);
			}
			check_stored_documents(table);
			args[0] = Int32GetDatum(number);
		}
		else
		{
			ListCell   *lc;

			rc = cvx_execute_once("SELECT pg_catalog.nextval('convex._table_number_seq')::pg_catalog.int4", false);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "convexlite: could not take a table number");
			number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &(bool) {false}));
			if (OidIsValid(get_relname_relid(name, get_namespace_oid(CVX_SCHEMA, false))))
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_TABLE),
						 errmsg("schema convex already has a relation named \"%s\" that convexlite does not manage", name)));
			create_table(table);
			foreach(lc, index_specs)
				create_index(table, lfirst(lc));
		}

		/* record the definition; every session reloads its table cache */
		{
			Datum		values[4] = {PointerGetDatum(name_text), Int32GetDatum(number),
			JsonbPGetDatum(fields), JsonbPGetDatum(indexes)};

			rc = cvx_execute_args("INSERT INTO convex._tables (name, number, fields, indexes) "
								  "VALUES ($1, $2, $3, $4) "
								  "ON CONFLICT (name) DO UPDATE SET fields = excluded.fields, "
								  "indexes = excluded.indexes",
								  4, (Oid[]) {TEXTOID, INT4OID, JSONBOID, JSONBOID},
								  values, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "convexlite: recording table \"%s\" failed", name);
		}
		CacheInvalidateRelcacheByRelid(get_relname_relid("_tables",
														 get_namespace_oid(CVX_SCHEMA, false)));
	}
	PG_FINALLY();
	{
		cvx_validator_free(table->validator);
		table->validator = NULL;
	}
	PG_END_TRY();

	cvx_spi_finish();
	PG_RETURN_INT32(number);
}

/*
 * convex_table_notify(table_name, fields): the fields of a user table that
 * its realtime notifications carry besides _id (realtime.c), for clients
 * to filter by: at most CVX_MAX_NOTIFY_FIELDS top-level fields stored as
 * text, number or boolean.  An empty array leaves _id alone.  The caller
 * must own the table; the built-in tables' choice is fixed.
 */
Datum
convex_table_notify(PG_FUNCTION_ARGS)
{
	CvxTable   *table;
	ArrayType  *array;
	Datum	   *names;
	bool	   *name_nulls;
	int			count;
	Oid			relid;
	JsonbParseState *state = NULL;
	JsonbValue *list;
	Datum		values[2];
	int			rc;

	cvx_require_argument(fcinfo, 0, "table_name");
	cvx_require_argument(fcinfo, 1, "fields");
	/* checked against the definition in force, which cannot change until commit */
	cvx_lock_table_definition(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	table = cvx_table_lookup(PG_GETARG_TEXT_PP(0));
	relid = get_relname_relid(table->name, get_namespace_oid(CVX_SCHEMA, false));
	if (!OidIsValid(relid) || !pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, table->name);

	array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fields must be a one-dimensional array of field names")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &names, &name_nulls, &count);
	if (count > CVX_MAX_NOTIFY_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a notification carries at most %d fields besides _id", CVX_MAX_NOTIFY_FIELDS)));

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < count; i++)
	{
		char	   *name;
		int			column;
		JsonbValue	element;

		if (name_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("fields must not contain NULL")));
		name = TextDatumGetCString(names[i]);
		column = cvx_find_column(table, name);
		if (column < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("\"%s\" is not a field of table \"%s\"",
							cvx_clip_name(name, strlen(name)), table->name)));
		if (table->columns[column].type != CVX_COL_TEXT &&
			table->columns[column].type != CVX_COL_FLOAT8 &&
			table->columns[column].type != CVX_COL_BOOL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" of table \"%s\" cannot be carried by a notification",
							name, table->name),
					 errdetail("Notifications carry string, id, number and boolean fields.")));
		if (strcmp(name, "op") == 0 || strcmp(name, "table") == 0 ||
			strcmp(name, "truncated") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" would clash with the payload's own \"%s\"", name, name),
					 errdetail("Payloads have the keys op, table, _id and truncated.")));
		for (int j = 0; j < i; j++)
			if (strcmp(TextDatumGetCString(names[j]), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("field \"%s\" is listed twice", name)));
		element.type = jbvString;
		element.val.string.val = name;
		element.val.string.len = strlen(name);
		pushJsonbValue(&state, WJB_ELEM, &element);
	}
	list = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	values[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	values[1] = JsonbPGetDatum(JsonbValueToJsonb(list));
	cvx_spi_connect();
	rc = cvx_execute_args("UPDATE convex._tables SET notify = $2 "
						  "WHERE name OPERATOR(pg_catalog.=) $1 AND NOT is_builtin",
						  2, (Oid[]) {TEXTOID, JSONBOID}, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "convexlite: recording the notify fields of \"%s\" failed", table->name);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the notifications of built-in table \"%s\" cannot be changed", table->name)));
	cvx_spi_finish();
	CacheInvalidateRelcacheByRelid(get_relname_relid("_tables",
													 get_namespace_oid(CVX_SCHEMA, false)));
	PG_RETURN_VOID();
}
