/*-------------------------------------------------------------------------
 *
 * tables.c
 *	  The catalog of convexlite tables (convex._tables), cached per backend.
 *
 * The whole catalog is loaded at first use: each table's validator is
 * compiled once and its columns worked out.  Only a relcache invalidation
 * of convex._tables itself marks the cache stale: DROP EXTENSION sends one,
 * and whatever changes the catalog must send one too
 * (CacheInvalidateRelcacheByRelid).  Changes to the data tables, VACUUM and
 * ANALYZE among them, are the plan cache's business, not this cache's, and
 * an unknown name or number is simply unknown: a caller cannot make other
 * sessions rebuild the cache.  Replaced table sets are freed at transaction
 * end, never while a call may still point into them.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/*
 * field4 of the advisory lock tag that serializes the definitions of one
 * table name ("CV"); SQL's advisory locks use 1 and 2, so the two never
 * meet.
 */
#define CVX_DEFINITION_LOCK_SPACE 0x4356

/* One loaded generation of the catalog */
typedef struct CvxTableSet
{
	MemoryContext context;		/* holds the set, its tables and columns */
	int			ntables;
	CvxTable   *tables;
	Oid			catalog_relid;	/* convex._tables */
	struct CvxTableSet *next_retired;
} CvxTableSet;

static CvxTableSet *current_set = NULL;
static CvxTableSet *retired_sets = NULL;
static bool current_set_stale = false;

/* Turn a camelCase field name into its snake_case column name */
static void
column_name_for_field(const char *field, char *column)
{
	int			out = 0;

	for (const char *p = field; *p != '\0'; p++)
	{
		if (out >= NAMEDATALEN - 2)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("field name \"%s\" is too long for a column", field)));
		if (*p >= 'A' && *p <= 'Z')
		{
			/* "roomId" -> "room_id"; a leading capital gets no '_' ("Id" -> "id") */
			if (p != field)
				column[out++] = '_';
			column[out++] = (char) (*p - 'A' + 'a');
		}
		else
			column[out++] = *p;
	}
	column[out] = '\0';
}

/* How a field with this validator is stored */
static CvxColumnType
column_type_for_validator(const CvxValidator *validator, Oid *type_oid)
{
	switch (cvx_validator_kind(validator))
	{
		case CVX_V_STRING:
		case CVX_V_ID:
			*type_oid = TEXTOID;
			return CVX_COL_TEXT;
		case CVX_V_NUMBER:
			*type_oid = FLOAT8OID;
			return CVX_COL_FLOAT8;
		case CVX_V_BOOLEAN:
			*type_oid = BOOLOID;
			return CVX_COL_BOOL;
		case CVX_V_BIGINT:
			*type_oid = INT8OID;
			return CVX_COL_INT8;
		case CVX_V_BYTES:
			*type_oid = BYTEAOID;
			return CVX_COL_BYTEA;
		default:
			*type_oid = JSONBOID;
			return CVX_COL_JSONB;
	}
}

/*
 * Compile a table's fields (the "value" of an object validator, as JSON
 * text) into table->validator and work out its columns.  from_catalog says
 * whether the text came from convex._tables (a failure is corruption) or
 * from a caller defining a table (a failure is bad input, 22023).  On
 * error table->validator is freed and left NULL.
 */
void
cvx_describe_table(CvxTable *table, const char *fields_json, MemoryContext context,
				   bool from_catalog)
{
	CvxCompileError error;
	const CvxFieldValidator *fields;
	size_t		nfields;
	char	   *validator_json = psprintf("{\"type\":\"object\",\"value\":%s}",
										  fields_json);

	table->validator = cvx_validator_compile_text(validator_json, &error);
	pfree(validator_json);
	if (table->validator == NULL)
		ereport(ERROR,
				(errcode(from_catalog ? ERRCODE_DATA_CORRUPTED : ERRCODE_INVALID_PARAMETER_VALUE),
				 from_catalog ?
				 errmsg("convex._tables has an invalid validator for table \"%s\"", table->name) :
				 errmsg("invalid validator for table \"%s\"", table->name),
				 errdetail("%s", error.message)));

	PG_TRY();
	{
		fields = cvx_validator_fields(table->validator, &nfields);
		table->ncolumns = (int) nfields;
		table->columns = MemoryContextAllocZero(context, sizeof(CvxColumn) * (nfields + 1));
		for (size_t i = 0; i < nfields; i++)
		{
			CvxColumn  *column = &table->columns[i];

			column->field = &fields[i];
			column_name_for_field(fields[i].name, column->column);
			column->type = column_type_for_validator(fields[i].validator,
													 &column->type_oid);
		}
		table->document_keys = cvx_document_keys(table, context);
	}
	PG_CATCH();
	{
		cvx_validator_free(table->validator);
		table->validator = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Does an index of this table cover convex.index_key(column) rather than
 * the column (index_keys.c)?  For a user table's field stored as jsonb or
 * double precision, or optional: there the column's SQL order is not
 * Convex's (types in JSON, -0 = 0, a missing field last).  Required text,
 * boolean, bigint and bytea fields order as Convex orders them and are
 * indexed as they are.  The built-in tables keep the plain indexes of the
 * install script.  The update to 0.3.0 applies the same rule in SQL.
 */
bool
cvx_index_keyed(const CvxTable *table, const CvxColumn *column)
{
	if (table->is_builtin)
		return false;
	if (!(column->field->optional || column->type == CVX_COL_JSONB ||
		  column->type == CVX_COL_FLOAT8))
		return false;

	/*
	 * Between installing this library and ALTER EXTENSION UPDATE the
	 * database has no convex.index_key yet: index as 0.2.0 did until then
	 * (the update rebuilds those indexes).
	 */
	return OidIsValid(LookupFuncName(list_make2(makeString(CVX_SCHEMA), makeString("index_key")),
									 1, (Oid[]) {JSONBOID}, true));
}

/*
 * Which fields of a user table's index does the index relation store as
 * convex.index_key (an expression column) rather than as the column?  Read
 * from the catalog, so queries match the index as it is, whichever
 * version built it.
 */
static uint32
index_keyed_fields(const CvxTable *table, const CvxIndex *index)
{
	char		relname[NAMEDATALEN];
	Oid			indexrelid;
	HeapTuple	tuple;
	uint32		keyed = 0;

	if (table->is_builtin)
		return 0;
	snprintf(relname, sizeof(relname), "%s__%s", table->name, index->name);
	indexrelid = get_relname_relid(relname, get_namespace_oid(CVX_SCHEMA, false));
	if (!OidIsValid(indexrelid))
		return 0;
	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexrelid));
	if (!HeapTupleIsValid(tuple))
		return 0;
	{
		Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);

		for (int i = 0; i < index->nfields && i < form->indnatts; i++)
			if (form->indkey.values[i] == 0)
				keyed |= (uint32) 1 << i;
	}
	ReleaseSysCache(tuple);
	return keyed;
}

/*
 * Read a table's indexes ({"by_channel": ["channelId"], ...}) into
 * table->indexes.  Names and fields were checked when the table was
 * defined; a field this table does not have is corruption.
 */
void
cvx_describe_indexes(CvxTable *table, Jsonb *indexes, MemoryContext context)
{
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	value;
	JsonbIteratorToken token;
	int			n = 0;

	table->indexes = MemoryContextAllocZero(context,
											sizeof(CvxIndex) * (JsonContainerSize(&indexes->root) + 1));
	it = JsonbIteratorInit(&indexes->root);
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		CvxIndex   *index = &table->indexes[n];
		int			nfields;

		if (token != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &value, true);
		if (key.val.string.len >= NAMEDATALEN || value.type != jbvBinary ||
			!JsonContainerIsArray(value.val.binary.data) ||
			(nfields = JsonContainerSize(value.val.binary.data)) > CVX_MAX_INDEX_FIELDS)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("convex._tables has an invalid index for table \"%s\"", table->name)));
		memcpy(index->name, key.val.string.val, key.val.string.len);
		index->nfields = nfields;
		for (int i = 0; i < nfields; i++)
		{
			JsonbValue *field = getIthJsonbValueFromContainer(value.val.binary.data, i);
			char	   *name = field->type == jbvString ?
				pnstrdup(field->val.string.val, field->val.string.len) : "";
			char	   *dot = strchr(name, '.');

			/* a nested path "a.b.c": column a, path "b.c" below it */
			index->paths[i] = NULL;
			if (dot != NULL)
			{
				*dot = '\0';
				index->paths[i] = MemoryContextStrdup(context, dot + 1);
			}
			index->fields[i] = -1;
			for (int c = 0; c < table->ncolumns; c++)
				if (strcmp(table->columns[c].field->name, name) == 0)
					index->fields[i] = c;
			if (index->fields[i] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("convex._tables: index \"%s\" of table \"%s\" lists an unknown field",
								index->name, table->name)));
		}
		index->keyed = index_keyed_fields(table, index);
		n++;
	}
	table->nindexes = n;
}

/*
 * The SQL of a path below a jsonb column: (column -> 'b' -> 'c') for
 * "b.c", as an index on a nested field path stores it (inside
 * convex.index_key) and queries compare it.
 */
char *
cvx_json_path_sql(const char *column, const char *path)
{
	StringInfoData sql;
	char	   *copy = pstrdup(path);
	char	   *part = copy;

	initStringInfo(&sql);
	appendStringInfo(&sql, "(%s", quote_identifier(column));
	for (;;)
	{
		char	   *next = strchr(part, '.');

		if (next != NULL)
			*next = '\0';
		appendStringInfo(&sql, " OPERATOR(pg_catalog.->) %s", quote_literal_cstr(part));
		if (next == NULL)
			break;
		part = next + 1;
	}
	appendStringInfoChar(&sql, ')');
	pfree(copy);
	return sql.data;
}

/* Free one table set: its compiled validators, kept plans and memory */
static void
free_table_set(CvxTableSet *set)
{
	for (int i = 0; i < set->ntables; i++)
	{
		CvxTable   *table = &set->tables[i];
		SPIPlanPtr *plans[] = {&table->insert_plan, &table->get_plan,
		&table->get_for_update_plan, &table->update_plan, &table->delete_plan,
		&table->any_patch_plan};

		for (size_t p = 0; p < lengthof(plans); p++)
			if (*plans[p] != NULL)
				SPI_freeplan(*plans[p]);
		cvx_plan_cache_free(&table->query_plans);
		cvx_plan_cache_free(&table->builder_plans);
		cvx_plan_cache_free(&table->patch_plans);
		if (table->validator != NULL)
			cvx_validator_free(table->validator);
	}
	MemoryContextDelete(set->context);
}

/* Read convex._tables into a new table set */
static CvxTableSet *
load_table_set(void)
{
	MemoryContext context;
	CvxTableSet *set;
	Oid			schema_oid;
	int			rc;

	schema_oid = get_namespace_oid(CVX_SCHEMA, true);
	if (!OidIsValid(schema_oid) ||
		!OidIsValid(get_relname_relid("_tables", schema_oid)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("convexlite is not installed in this database"),
				 errhint("Run CREATE EXTENSION convexlite.")));

	context = AllocSetContextCreate(CacheMemoryContext, "convexlite tables",
									ALLOCSET_SMALL_SIZES);
	set = MemoryContextAllocZero(context, sizeof(CvxTableSet));
	set->context = context;

	PG_TRY();
	{
		cvx_spi_connect();
		/* the latest committed catalog (and this transaction's own changes) */
		CommandCounterIncrement();
		PushActiveSnapshot(GetLatestSnapshot());
		/* other_indexes by name: a database not yet updated to 0.3.0 has none */
		rc = cvx_execute_once("SELECT name, number, fields::pg_catalog.text, indexes, notify, is_builtin, "
							  "pg_catalog.to_jsonb(t) OPERATOR(pg_catalog.->) 'other_indexes' "
							  "FROM convex._tables t ORDER BY number", true);
		PopActiveSnapshot();
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "convexlite: reading convex._tables failed: %s",
				 SPI_result_code_string(rc));

		set->tables = MemoryContextAllocZero(context,
											 sizeof(CvxTable) * (SPI_processed + 1));
		set->catalog_relid = get_relname_relid("_tables", schema_oid);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	tupdesc = SPI_tuptable->tupdesc;
			CvxTable   *table = &set->tables[i];
			char	   *name = SPI_getvalue(tuple, tupdesc, 1);
			bool		isnull;
			int32		number = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 2, &isnull));
			char	   *fields = SPI_getvalue(tuple, tupdesc, 3);

			/* counted first, so a failure below still frees its validator */
			set->ntables++;
			strlcpy(table->name, name, NAMEDATALEN);
			table->number = (uint32) number;
			table->is_system = (name[0] == '_');
			table->relid = get_relname_relid(name, schema_oid);
			table->is_builtin = DatumGetBool(SPI_getbinval(tuple, tupdesc, 6, &isnull));
			cvx_describe_table(table, fields, context, true);
			cvx_describe_indexes(table,
								 DatumGetJsonbP(SPI_getbinval(tuple, tupdesc, 4, &isnull)),
								 context);
			cvx_describe_notify_fields(table,
									   DatumGetJsonbP(SPI_getbinval(tuple, tupdesc, 5, &isnull)));
			{
				Datum		other = SPI_getbinval(tuple, tupdesc, 7, &isnull);

				if (!isnull)
				{
					Jsonb	   *jb = DatumGetJsonbP(other);

					if (JB_ROOT_IS_OBJECT(jb) && JB_ROOT_COUNT(jb) > 0)
					{
						table->other_indexes = MemoryContextAlloc(context, VARSIZE(jb));
						memcpy(table->other_indexes, jb, VARSIZE(jb));
					}
				}
			}
		}
	}
	PG_CATCH();
	{
		/* a half-loaded set is freed; SPI is unwound by the abort */
		free_table_set(set);
		PG_RE_THROW();
	}
	PG_END_TRY();

	cvx_spi_finish();
	return set;
}

/* Make sure current_set is loaded and fresh; a replaced set is retired */
static void
ensure_table_set(void)
{
	CvxTableSet *set;

	if (current_set != NULL && !current_set_stale)
		return;
	set = load_table_set();
	if (current_set != NULL)
	{
		current_set->next_retired = retired_sets;
		retired_sets = current_set;
	}
	current_set = set;
	current_set_stale = false;
}

/* Find a table by exact name; NULL if convexlite has no such table */
CvxTable *
cvx_table_by_name(const char *name, size_t name_len)
{
	ensure_table_set();
	for (int i = 0; i < current_set->ntables; i++)
	{
		CvxTable   *table = &current_set->tables[i];

		if (strlen(table->name) == name_len &&
			memcmp(table->name, name, name_len) == 0)
			return table;
	}
	return NULL;
}

/* Find a table by Convex table number; NULL if none has it */
CvxTable *
cvx_table_by_number(uint32 number)
{
	ensure_table_set();
	for (int i = 0; i < current_set->ntables; i++)
		if (current_set->tables[i].number == number)
			return &current_set->tables[i];
	return NULL;
}

/* The validator engine's table-number resolver */
const char *
cvx_table_name_lookup(void *arg, uint32_t table_number)
{
	CvxTable   *table = cvx_table_by_number(table_number);

	return table != NULL ? table->name : NULL;
}

/*
 * Find the table a SQL caller named.  Only the exact Convex table name is
 * accepted: no schema prefixes, quoting or case folding, so no spelling
 * reaches a table convexlite does not manage.
 */
CvxTable *
cvx_table_lookup(text *name)
{
	CvxTable   *table = NULL;
	size_t		len = VARSIZE_ANY_EXHDR(name);

	if (len > 0 && len < NAMEDATALEN)
		table = cvx_table_by_name(VARDATA_ANY(name), len);
	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("\"%s\" is not a convexlite table",
						cvx_clip_name(VARDATA_ANY(name), len)),
				 errhint("convexlite functions work only on the tables listed in convex._tables, named exactly as there.")));
	return table;
}

/*
 * The table a SQL caller named, for a write: its relation locked for
 * writing (RowExclusiveLock, as the write itself would take it) before its
 * definition is looked at.  Taking the lock processes the invalidations of
 * definitions committed meanwhile, and a definition holds a lock that
 * conflicts with it while it checks the stored documents, so the
 * definition returned is the one in force until this transaction ends:
 * validating against it is validating against the catalog.  When the
 * table is already locked in this transaction, nothing is re-read.  The
 * caller must have mode on the table (ACL_INSERT, ACL_UPDATE or
 * ACL_DELETE), or on one of its columns (the write checks exactly), before
 * anything is locked, so that a caller without rights cannot hold up
 * definitions.
 */
CvxTable *
cvx_table_for_write(text *name, AclMode mode)
{
	for (;;)
	{
		CvxTable   *table = cvx_table_lookup(name);

		if (!OidIsValid(table->relid))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("convexlite table \"%s\" has no relation in schema convex",
							table->name)));
		if (pg_class_aclcheck(table->relid, GetUserId(), mode) != ACLCHECK_OK &&
			pg_attribute_aclcheck_all(table->relid, GetUserId(), mode,
									  ACLMASK_ANY) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, table->name);
		LockRelationOid(table->relid, RowExclusiveLock);
		if (!current_set_stale)
			return table;
		/* a definition committed before the lock was granted: look again */
	}
}

/*
 * Serialize the definitions of one table name (convex_define_table,
 * convex_table_notify) until the transaction ends, whether or not the
 * table exists yet, and then take in the invalidations of definitions
 * committed before: the next look at the catalog sees them.  Definitions
 * of different names do not wait for each other (two names that hash
 * alike only share the lock).
 */
void
cvx_lock_table_definition(const char *name)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId,
						 hash_bytes((const unsigned char *) name, strlen(name)),
						 0, CVX_DEFINITION_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	AcceptInvalidationMessages();
}

/* Relcache callback: the catalog changed (or every relation may have) */
static void
tables_relcache_callback(Datum arg, Oid relid)
{
	if (current_set != NULL &&
		(!OidIsValid(relid) || relid == current_set->catalog_relid))
		current_set_stale = true;
}

/* At transaction end, free table sets that were replaced */
static void
tables_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	while (retired_sets != NULL)
	{
		CvxTableSet *set = retired_sets;

		retired_sets = set->next_retired;
		free_table_set(set);
	}
}

/* Register the cache's callbacks */
void
cvx_tables_init(void)
{
	CacheRegisterRelcacheCallback(tables_relcache_callback, (Datum) 0);
	RegisterXactCallback(tables_xact_callback, NULL);
}

/* The position of a field's column in table->columns, or -1 */
int
cvx_find_column(CvxTable *table, const char *field)
{
	for (int i = 0; i < table->ncolumns; i++)
		if (strcmp(table->columns[i].field->name, field) == 0)
			return i;
	return -1;
}

/* Position of a field's column in table->columns (and in a row's values) */
int
cvx_column_index(CvxTable *table, const char *field)
{
	int			column = cvx_find_column(table, field);

	if (column >= 0)
		return column;
	elog(ERROR, "convexlite: table \"%s\" has no field \"%s\"", table->name, field);
	pg_unreachable();
}

/* A built-in table, which must exist */
CvxTable *
cvx_builtin_table(const char *name)
{
	CvxTable   *table = cvx_table_by_name(name, strlen(name));

	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("convexlite's table \"%s\" is missing from convex._tables", name)));
	return table;
}

/*
 * A query named an index the table does not have as a database index: if
 * it is one of the search, vector or staged indexes convex_define_schema
 * kept, say so (0A000) instead of "not found".
 */
void
cvx_refuse_other_index(const CvxTable *table, const char *index_name)
{
	JsonbValue *found;
	JsonbValue *kind;
	JsonbValue *staged;

	if (table->other_indexes == NULL)
		return;
	found = getKeyJsonValueFromContainer(&table->other_indexes->root, index_name,
										 strlen(index_name), NULL);
	if (found == NULL || found->type != jbvBinary)
		return;
	kind = getKeyJsonValueFromContainer(found->val.binary.data, "kind", 4, NULL);
	staged = getKeyJsonValueFromContainer(found->val.binary.data, "staged", 6, NULL);
	if (staged != NULL && staged->type == jbvBool && staged->val.boolean)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Index %s.%s is staged: it cannot be queried until it is enabled",
						table->name, index_name),
				 errhint("Remove staged: true from the index in the schema and run convex_define_schema again.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("Index %s.%s is a %.*s index: convexlite does not run %.*s queries yet",
					table->name, index_name,
					kind != NULL && kind->type == jbvString ? kind->val.string.len : 1,
					kind != NULL && kind->type == jbvString ? kind->val.string.val : "?",
					kind != NULL && kind->type == jbvString ? kind->val.string.len : 1,
					kind != NULL && kind->type == jbvString ? kind->val.string.val : "?"),
			 errdetail("convex_define_schema keeps search and vector indexes in convex._tables.other_indexes; query a database index instead.")));
}
