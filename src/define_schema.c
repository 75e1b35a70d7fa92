/*-------------------------------------------------------------------------
 *
 * define_schema.c
 *	  convex_define_schema: a whole defineSchema({...}) at once.
 *
 * Takes what convex-js's schema export gives ({"tables": [{"tableName",
 * "documentType", "indexes", "stagedDbIndexes", "searchIndexes",
 * "stagedSearchIndexes", "vectorIndexes", "stagedVectorIndexes"}, ...],
 * "schemaValidation": true}) and defines every table with
 * convex_define_table, in the caller's transaction: the first failure
 * aborts the whole call and nothing changes.  Everything is checked before
 * the first table is touched.  Search, vector and staged indexes are kept
 * in convex._tables.other_indexes; queries naming them are refused
 * (query.c, cvx_refuse_other_index).  Built-in tables listed in the schema
 * are left as they are.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(convex_define_schema);

/* schema.c */
extern PGDLLEXPORT Datum convex_define_table(PG_FUNCTION_ARGS);

/* The kinds of index kept in other_indexes, as the schema export names them */
static const struct
{
	const char *key;			/* key in the table's export */
	const char *kind;			/* "kind" recorded */
	bool		staged;
}			other_index_kinds[] = {
	{"stagedDbIndexes", "database", true},
	{"searchIndexes", "search", false},
	{"stagedSearchIndexes", "search", true},
	{"vectorIndexes", "vector", false},
	{"stagedVectorIndexes", "vector", true},
};

/* The member key of object container c, or NULL */
static JsonbValue *
member(JsonbContainer *c, const char *key)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* A string member as a C string, or NULL if absent or not a string */
static char *
string_member(JsonbContainer *c, const char *key)
{
	JsonbValue *v = member(c, key);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An array member's container (absent: NULL; not an array: 22023) */
static JsonbContainer *
array_member(JsonbContainer *c, const char *key, const char *table)
{
	JsonbValue *v = member(c, key);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" of table \"%s\" must be an array", key, table)));
	return v->val.binary.data;
}

/* The i-th element of an array container, which must be an object */
static JsonbContainer *
object_element(JsonbContainer *array, int i, const char *what)
{
	JsonbValue *v = getIthJsonbValueFromContainer(array, i);

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every element of %s must be a JSON object", what)));
	return v->val.binary.data;
}

/* Is field a top-level field of the document validator's fields? */
static void
require_field(JsonbContainer *fields, const char *field, const char *table, const char *index)
{
	if (field == NULL || member(fields, field) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("index \"%s\" of table \"%s\" names \"%s\", which is not a field of the table",
						index, table, field != NULL ? field : "(not a string)")));
}

/* An index name: Convex's identifier rule, not reserved, not seen before */
static void
check_index_name(const char *name, const char *table, List **seen)
{
	char		why[256];
	ListCell   *lc;

	if (name == NULL || !cvx_identifier_check(name, strlen(name), why, sizeof(why)) ||
		name[0] == '_')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid index name \"%s\" in table \"%s\"",
						name != NULL ? cvx_clip_name(name, strlen(name)) : "(not a string)", table)));
	foreach(lc, *seen)
		if (strcmp(lfirst(lc), name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("table \"%s\" has two indexes named \"%s\"", table, name)));
	*seen = lappend(*seen, (void *) name);
}

/* One table of the schema, checked and turned into define_table's arguments */
typedef struct SchemaTable
{
	char	   *name;
	Jsonb	   *fields;			/* the object validator's "value" */
	Jsonb	   *indexes;		/* {"by_x": ["x"], ...} */
	Jsonb	   *other_indexes;	/* {"search_body": {"kind": "search", ...}, ...} */
} SchemaTable;

/* Check one table's export and build its SchemaTable */
static SchemaTable *
parse_table(JsonbContainer *t)
{
	SchemaTable *result = palloc0(sizeof(SchemaTable));
	JsonbValue *document;
	JsonbContainer *doc;
	char	   *type;
	JsonbValue *value;
	JsonbContainer *list;
	StringInfoData indexes;
	StringInfoData others;
	List	   *seen = NIL;

	result->name = string_member(t, "tableName");
	if (result->name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every table of the schema needs a \"tableName\" string")));
	document = member(t, "documentType");
	if (document == NULL || document->type != jbvBinary ||
		!JsonContainerIsObject(document->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table \"%s\" needs a \"documentType\" validator object", result->name)));
	doc = document->val.binary.data;
	type = string_member(doc, "type");
	if (type == NULL || strcmp(type, "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the documents of table \"%s\" are v.%s(...): convexlite supports only object document validators",
						result->name, type != NULL ? cvx_clip_name(type, strlen(type)) : "?"),
				 errdetail("Each top-level field is a column, so every document of a table has one shape; union and any document types are not supported."),
				 errhint("Give the table a v.object({...}) (defineTable({...})) with the union's variants as optional fields, or split it into one table per variant.")));
	value = member(doc, "value");
	if (value == NULL || value->type != jbvBinary || !JsonContainerIsObject(value->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the object validator of table \"%s\" has no \"value\" object", result->name)));
	result->fields = JsonbValueToJsonb(value);

	/* database indexes -> convex_define_table's {"name": [fields]} */
	initStringInfo(&indexes);
	appendStringInfoChar(&indexes, '{');
	list = array_member(t, "indexes", result->name);
	for (int i = 0; list != NULL && i < (int) JsonContainerSize(list); i++)
	{
		JsonbContainer *index = object_element(list, i, "indexes");
		char	   *name = string_member(index, "indexDescriptor");
		JsonbValue *fields = member(index, "fields");

		check_index_name(name, result->name, &seen);
		if (fields == NULL || fields->type != jbvBinary || !JsonContainerIsArray(fields->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("index \"%s\" of table \"%s\" needs a \"fields\" array", name, result->name)));
		if (i > 0)
			appendStringInfoChar(&indexes, ',');
		escape_json(&indexes, name);
		appendStringInfo(&indexes, ":%s",
						 JsonbToCString(NULL, fields->val.binary.data, fields->val.binary.len));
	}
	appendStringInfoChar(&indexes, '}');
	result->indexes = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(indexes.data)));

	/* search, vector and staged indexes: kept, with their kind */
	initStringInfo(&others);
	appendStringInfoChar(&others, '{');
	for (size_t k = 0; k < lengthof(other_index_kinds); k++)
	{
		list = array_member(t, other_index_kinds[k].key, result->name);
		for (int i = 0; list != NULL && i < (int) JsonContainerSize(list); i++)
		{
			JsonbContainer *index = object_element(list, i, other_index_kinds[k].key);
			char	   *name = string_member(index, "indexDescriptor");
			JsonbContainer *filters = array_member(index, "filterFields", result->name);

			check_index_name(name, result->name, &seen);
			if (strcmp(other_index_kinds[k].kind, "search") == 0)
				require_field(&result->fields->root, string_member(index, "searchField"),
							  result->name, name);
			else if (strcmp(other_index_kinds[k].kind, "vector") == 0)
				require_field(&result->fields->root, string_member(index, "vectorField"),
							  result->name, name);
			for (int f = 0; filters != NULL && f < (int) JsonContainerSize(filters); f++)
			{
				JsonbValue *field = getIthJsonbValueFromContainer(filters, f);

				require_field(&result->fields->root,
							  field->type == jbvString ?
							  pnstrdup(field->val.string.val, field->val.string.len) : NULL,
							  result->name, name);
			}
			if (others.len > 1)
				appendStringInfoChar(&others, ',');
			escape_json(&others, name);
			appendStringInfo(&others, ":{\"kind\":\"%s\",\"staged\":%s,\"definition\":%s}",
							 other_index_kinds[k].kind,
							 other_index_kinds[k].staged ? "true" : "false",
							 JsonbToCString(NULL, index, 0));
		}
	}
	appendStringInfoChar(&others, '}');
	result->other_indexes = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(others.data)));
	return result;
}

/*
 * convex_define_schema(schema jsonb) RETURNS jsonb: define or redefine
 * every table of a Convex schema export, all or nothing; returns
 * {"tableName": table number, ...}.
 */
Datum
convex_define_schema(PG_FUNCTION_ARGS)
{
	Jsonb	   *schema;
	JsonbValue *v;
	JsonbContainer *tables;
	List	   *parsed = NIL;
	ListCell   *lc;
	StringInfoData result;

	cvx_require_argument(fcinfo, 0, "schema");
	schema = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(schema))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schema must be a JSON object: {\"tables\": [...], \"schemaValidation\": true}")));
	v = member(&schema->root, "schemaValidation");
	if (v != NULL && v->type == jbvBool && !v->val.boolean)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("schemaValidation: false is not supported: convexlite validates every document against its table's validator"),
				 errhint("Remove schemaValidation: false, or loosen the fields that do not match (v.any(), v.optional(...)).")));
	if (v != NULL && v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schemaValidation must be true or false")));
	v = member(&schema->root, "strictTableNameTypes");
	if (v != NULL && v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strictTableNameTypes must be true or false")));
	v = member(&schema->root, "tables");
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schema must have a \"tables\" array")));
	tables = v->val.binary.data;

	/* every table is checked before the first is defined */
	for (int i = 0; i < (int) JsonContainerSize(tables); i++)
	{
		SchemaTable *t = parse_table(object_element(tables, i, "tables"));

		foreach(lc, parsed)
			if (strcmp(((SchemaTable *) lfirst(lc))->name, t->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_TABLE),
						 errmsg("the schema defines table \"%s\" twice", t->name)));
		parsed = lappend(parsed, t);
	}

	initStringInfo(&result);
	appendStringInfoChar(&result, '{');
	foreach(lc, parsed)
	{
		SchemaTable *t = lfirst(lc);
		CvxTable   *existing = cvx_table_by_name(t->name, strlen(t->name));
		int32		number;

		if (existing != NULL && existing->is_builtin)
			number = (int32) existing->number;
		else
		{
			Datum		values[2];
			int			rc;

			number = DatumGetInt32(DirectFunctionCall3(convex_define_table,
													   CStringGetTextDatum(t->name),
													   JsonbPGetDatum(t->fields),
													   JsonbPGetDatum(t->indexes)));
			values[0] = CStringGetTextDatum(t->name);
			values[1] = JsonbPGetDatum(t->other_indexes);
			cvx_spi_connect();
			rc = cvx_execute_args("UPDATE convex._tables SET other_indexes = $2 "
								  "WHERE name OPERATOR(pg_catalog.=) $1",
								  2, (Oid[]) {TEXTOID, JSONBOID}, values, NULL, false, 0);
			if (rc != SPI_OK_UPDATE || SPI_processed != 1)
				elog(ERROR, "convexlite: recording the other indexes of \"%s\" failed", t->name);
			cvx_spi_finish();
			CacheInvalidateRelcacheByRelid(get_relname_relid("_tables",
															 get_namespace_oid(CVX_SCHEMA, false)));
		}
		if (result.len > 1)
			appendStringInfoChar(&result, ',');
		escape_json(&result, t->name);
		appendStringInfo(&result, ":%d", number);
	}
	appendStringInfoChar(&result, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result.data)));
}
