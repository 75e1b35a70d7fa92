/*-------------------------------------------------------------------------
 *
 * query_builder.c
 *	  ctx.db.query(…) as convex-js serializes it: convex_db_select (collect,
 *	  take), convex_db_first, convex_db_unique, convex_db_paginate and
 *	  convex_db_count over {"source": …, "operators": […]}.
 *
 * A query's source is an index range (an index's fields, then
 * _creationTime, then _id: Convex's index order), by_creation_time, by_id
 * or a full table scan (by_creation_time).  It becomes one SQL statement:
 *
 *   SELECT _id, _creation_time, <columns>[, <first failing filter>]
 *   FROM convex.<table> WHERE <eq prefix> AND <bounds> [AND <after cursor>]
 *   ORDER BY <keys>, _id LIMIT $n
 *
 * prepared once per shape and kept (an LRU per table, plans.c).  The
 * filters are evaluated by that statement (query_filter.c), in one CASE
 * that gives the number of the first filter a row fails, so a filter runs
 * only on rows the earlier ones passed, as Convex's lazy operators do.
 * The operators (filters and limits, in order) are then applied to each
 * row as it is fetched; every row fetched is a document scanned, counted
 * against the read limits as Convex counts them.
 *
 * Inside a mutation the range is locked through conflicts.c as
 * convex_db_query locks it (the eq prefix's key, a document for by_id eq,
 * else the table), before the statement's snapshot is taken, whatever the
 * filters discard; at REPEATABLE READ the rows scanned are compared with
 * the latest snapshot.
 *
 * Pagination cursors encode the position of the last document scanned
 * (its key values from the first non-eq key on, and its _id) and a hash
 * of the query, never an offset: the next page starts strictly after that
 * position in index order, so documents inserted or deleted between pages
 * never make a page skip or repeat one that existed throughout.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(convex_db_select);
PG_FUNCTION_INFO_V1(convex_db_first);
PG_FUNCTION_INFO_V1(convex_db_unique);
PG_FUNCTION_INFO_V1(convex_db_paginate);
PG_FUNCTION_INFO_V1(convex_db_count);

/* Most operators in one query (convex-js's MAX_QUERY_OPERATORS) */
#define MAX_OPERATORS 256

/* Most rows fetched from the statement's cursor at a time */
#define BUILDER_BATCH_ROWS 256

/* A cursor's payload version */
#define CURSOR_VERSION 1

/* Special key columns */
#define KEY_CREATION_TIME (-1)
#define KEY_ID (-2)

/* The source's index: by_creation_time (also a full scan), by_id */
#define INDEX_CREATION_TIME (-1)
#define INDEX_ID (-2)

/* A range bound: none, strict or inclusive */
typedef enum Bound
{
	NO_BOUND,
	STRICT_BOUND,
	INCLUSIVE_BOUND
} Bound;

/* One key of the source's index order */
typedef struct Key
{
	int			column;			/* position in table->columns, KEY_CREATION_TIME, KEY_ID */
	Oid			type;
	bool		keyed;			/* compared as convex.index_key */
	const char *field;			/* its field path */
	const char *expr;			/* as the index covers it */
	const char *path;			/* a nested field's path below its column, or NULL */
} Key;

/* An operator: a filter (by number) or a limit */
typedef struct Operator
{
	bool		is_limit;
	int64		limit;
} Operator;

/* A parsed query */
typedef struct Builder
{
	CvxTable   *table;
	const char *label;			/* "messages" for errors */
	int			index;			/* position in table->indexes, or INDEX_* */
	int			nkeys;
	Key			keys[CVX_MAX_INDEX_FIELDS + 2];
	bool		tiebreak;		/* _id ends the order (it is not the last key) */
	bool		descending;
	int			neq;
	Bound		lower;
	Bound		upper;
	bool		empty;			/* a range no document can be in */
	int			lower_param;
	int			upper_param;
	CvxSqlParams params;		/* eq values first, in key order */
	int			nops;
	Operator	ops[MAX_OPERATORS];
	int			nfilters;
	char	   *filters[MAX_OPERATORS];
	bool		may_raise;		/* a filter can raise an EvalError */
	bool		pushdown;		/* this run's filters are in the WHERE clause */
	uint64		hash;			/* of the query's JSON, for cursors */
} Builder;

/* What a run wants and what it found */
typedef struct Run
{
	/* in */
	int64		want;			/* documents to return at most, -1: all */
	int64		max_scan;		/* maximumRowsRead, -1: none */
	bool		count_only;		/* build no documents */
	bool		has_cursor;
	bool		cursor_end;		/* the cursor is at the end */
	int			cursor_param;	/* first parameter of the position */
	void		(*emit) (void *arg, Jsonb *document);
	void	   *arg;
	/* out */
	int64		scanned;
	int64		emitted;
	bool		done;			/* the query has no more documents */
	char	   *continue_cursor;
} Run;

/* A bad query: 22023 */
static void
bad_query(const char *fmt, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg(fmt, detail)));
}

/* A bad pagination cursor: 34000 */
static void
bad_cursor(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_CURSOR_NAME),
			 errmsg("Invalid pagination cursor: %s", why),
			 errhint("Pass null for the first page, then the continueCursor of the previous page of the same query.")));
}

/* A key of an object container, or NULL */
static JsonbValue *
object_get(JsonbContainer *container, const char *key)
{
	return getKeyJsonValueFromContainer(container, key, strlen(key), NULL);
}

/* A string JsonbValue as a C string, or NULL if it is not a string */
static char *
string_of(const JsonbValue *value)
{
	if (value == NULL || value->type != jbvString)
		return NULL;
	return pnstrdup(value->val.string.val, value->val.string.len);
}

/* Is the value convex-js's undefined, {"$undefined": null}? */
static bool
is_undefined(const JsonbValue *value)
{
	JsonbValue *inner;

	if (value->type != jbvBinary || !JsonContainerIsObject(value->val.binary.data) ||
		JsonContainerSize(value->val.binary.data) != 1)
		return false;
	inner = object_get(value->val.binary.data, "$undefined");
	return inner != NULL && inner->type == jbvNull;
}

/* Set the keys of the source: index fields, _creationTime, or _id */
static void
set_keys(Builder *b)
{
	CvxTable   *table = b->table;

	b->nkeys = 0;
	if (b->index == INDEX_ID)
	{
		b->keys[0] = (Key) {KEY_ID, TEXTOID, false, "_id", "_id", NULL};
		b->nkeys = 1;
		b->tiebreak = false;
		return;
	}
	if (b->index >= 0)
	{
		const CvxIndex *index = &table->indexes[b->index];

		for (int i = 0; i < index->nfields; i++)
		{
			const CvxColumn *column = &table->columns[index->fields[i]];
			Key		   *key = &b->keys[b->nkeys++];
			const char *quoted = quote_identifier(column->column);

			key->column = index->fields[i];
			key->type = column->type_oid;
			key->keyed = (index->keyed & ((uint32) 1 << i)) != 0;
			key->field = column->field->name;
			key->path = index->paths[i];
			if (key->path != NULL)
			{
				/* a nested field path "a.b": convex.index_key((a -> 'b')) */
				key->type = JSONBOID;
				key->keyed = true;
				key->field = psprintf("%s.%s", column->field->name, key->path);
				quoted = cvx_json_path_sql(column->column, key->path);
			}
			key->expr = key->keyed ? psprintf("%s.index_key(%s)", CVX_SCHEMA, quoted) : quoted;
		}
	}
	b->keys[b->nkeys++] = (Key) {KEY_CREATION_TIME, FLOAT8OID, false, "_creationTime", "_creation_time", NULL};
	b->tiebreak = true;
}

/* Read "source": the table, its index and the order */
static void
parse_source(Builder *b, JsonbValue *source)
{
	char	   *type;
	char	   *order;
	JsonbValue *value;

	if (source == NULL || source->type != jbvBinary || !JsonContainerIsObject(source->val.binary.data))
		bad_query("Invalid query: %s", "\"source\" must be an object");
	type = string_of(object_get(source->val.binary.data, "type"));
	if (type == NULL)
		bad_query("Invalid query: %s", "source.type must be \"IndexRange\" or \"FullTableScan\"");
	if (strcmp(type, "FullTableScan") == 0)
	{
		char	   *name = string_of(object_get(source->val.binary.data, "tableName"));

		if (name == NULL)
			bad_query("Invalid query: %s", "source.tableName must be a string");
		b->table = cvx_table_lookup(cstring_to_text(name));
		b->index = INDEX_CREATION_TIME;
	}
	else if (strcmp(type, "IndexRange") == 0)
	{
		char	   *name = string_of(object_get(source->val.binary.data, "indexName"));
		char	   *dot = name == NULL ? NULL : strchr(name, '.');
		char	   *index_name;

		if (dot == NULL)
			bad_query("Invalid query: %s",
					  "source.indexName must be a string \"table.index\"");
		*dot = '\0';
		index_name = dot + 1;
		b->table = cvx_table_lookup(cstring_to_text(name));
		if (strcmp(index_name, "by_creation_time") == 0)
			b->index = INDEX_CREATION_TIME;
		else if (strcmp(index_name, "by_id") == 0)
			b->index = INDEX_ID;
		else
		{
			b->index = -100;
			for (int i = 0; i < b->table->nindexes; i++)
				if (strcmp(b->table->indexes[i].name, index_name) == 0)
					b->index = i;
			if (b->index < 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("Index %s.%s not found.", b->table->name,
								cvx_clip_name(index_name, strlen(index_name)))));
		}
	}
	else if (strcmp(type, "Search") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("convexlite has no search indexes: withSearchIndex is not supported")));
	else
		bad_query("Invalid query: source.type must be \"IndexRange\" or \"FullTableScan\", not \"%s\"",
				  cvx_clip_name(type, strlen(type)));
	b->label = b->table->name;
	value = object_get(source->val.binary.data, "order");
	order = string_of(value);
	if (value == NULL || value->type == jbvNull || (order != NULL && strcmp(order, "asc") == 0))
		b->descending = false;
	else if (order != NULL && strcmp(order, "desc") == 0)
		b->descending = true;
	else
		bad_query("Invalid query: %s", "source.order must be \"asc\", \"desc\" or null");
	set_keys(b);
}

/*
 * A value for key i (an eq value, a bound, a cursor position), checked
 * against that field's validator, as a parameter.  Undefined is SQL NULL;
 * *never_matches is set when no stored key can be undefined (an unkeyed
 * key is never missing).
 */
static int
key_param(Builder *b, int i, const JsonbValue *json, bool *undefined)
{
	const Key  *key = &b->keys[i];
	CvxValue	value;

	*undefined = is_undefined(json);
	if (*undefined)
		return cvx_sql_param(&b->params, key->type, (Datum) 0, true);
	cvx_jsonb_scalar_value(json, &value);
	if (key->column == KEY_CREATION_TIME)
	{
		double		d;

		if (!cvx_value_float64(&value, &cvx_jsonb_ops, &d))
			bad_query("Invalid index range: %s", "_creationTime must be compared with a number");
		return cvx_sql_param(&b->params, FLOAT8OID, Float8GetDatum(d), false);
	}
	if (key->column == KEY_ID)
	{
		if (value.type != CVX_T_STRING)
			bad_query("Invalid index range: %s", "_id must be compared with a string");
		return cvx_sql_param(&b->params, TEXTOID,
							 PointerGetDatum(cstring_to_text_with_len(value.str, value.len)), false);
	}
	if (key->path != NULL)
	{
		/* a nested field: any Convex value, as jsonb */
		char		message[256];

		if (!cvx_value_validate(&value, &cvx_jsonb_ops, message, sizeof(message)))
			bad_query("Invalid index range: the value is not a Convex value: %s", message);
		return cvx_sql_param(&b->params, JSONBOID, JsonbPGetDatum(cvx_value_jsonb(&value)), false);
	}
	{
		const CvxColumn *column = &b->table->columns[key->column];
		CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
		CvxCheckError error;

		if (!cvx_check(column->field->validator, &value, &context, &error))
			cvx_raise_validation_error(psprintf("Invalid index range on field `%s`: ",
												column->field->name),
									   &error, &context, ERRCODE_INVALID_PARAMETER_VALUE);
		return cvx_sql_param(&b->params, key->type, cvx_field_datum(column, &value), false);
	}
}

/* Read "range": eq on a prefix of the keys, then bounds on the next one */
static void
parse_range(Builder *b, JsonbValue *range)
{
	int			n;
	int			bound_key = -1;
	bool		lower_undefined = false;
	bool		upper_undefined = false;

	b->lower = b->upper = NO_BOUND;
	if (range == NULL || range->type == jbvNull)
		return;
	if (range->type != jbvBinary || !JsonContainerIsArray(range->val.binary.data))
		bad_query("Invalid query: %s", "source.range must be an array");
	n = JsonContainerSize(range->val.binary.data);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *expr = getIthJsonbValueFromContainer(range->val.binary.data, i);
		char	   *type;
		char	   *path;
		JsonbValue *value;
		int			k;
		bool		undefined;

		if (expr->type != jbvBinary || !JsonContainerIsObject(expr->val.binary.data))
			bad_query("Invalid index range: %s", "each range expression is an object {type, fieldPath, value}");
		type = string_of(object_get(expr->val.binary.data, "type"));
		path = string_of(object_get(expr->val.binary.data, "fieldPath"));
		value = object_get(expr->val.binary.data, "value");
		if (type == NULL || path == NULL || value == NULL)
			bad_query("Invalid index range: %s", "each range expression is an object {type, fieldPath, value}");
		if (strcmp(type, "Eq") == 0)
		{
			if (bound_key >= 0 || b->neq >= b->nkeys)
				bad_query("Invalid index range: %s",
						  "eq() must come before gt/gte/lt/lte, on the index's fields in order");
			k = b->neq;
		}
		else if (strcmp(type, "Gt") == 0 || strcmp(type, "Gte") == 0 ||
				 strcmp(type, "Lt") == 0 || strcmp(type, "Lte") == 0)
		{
			bool		lower = type[0] == 'G';

			if (b->neq >= b->nkeys || (lower ? b->lower : b->upper) != NO_BOUND)
				bad_query("Invalid index range: %s",
						  "at most one lower and one upper bound, on the field after the eq() fields");
			k = b->neq;
			bound_key = k;
		}
		else
			bad_query("Invalid index range: unknown range type \"%s\"", cvx_clip_name(type, strlen(type)));
		if (strcmp(path, b->keys[k].field) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Invalid index range: the range expression on \"%s\" must be on \"%s\", field %d of the index order of %s",
							cvx_clip_name(path, strlen(path)), b->keys[k].field, k + 1, b->label)));
		if (type[0] == 'E')
		{
			(void) key_param(b, k, value, &undefined);
			if (undefined && !b->keys[k].keyed)
				b->empty = true;
			b->neq++;
		}
		else if (type[0] == 'G')
		{
			b->lower = type[2] == 'e' ? INCLUSIVE_BOUND : STRICT_BOUND;
			b->lower_param = key_param(b, k, value, &lower_undefined);
		}
		else
		{
			b->upper = type[2] == 'e' ? INCLUSIVE_BOUND : STRICT_BOUND;
			b->upper_param = key_param(b, k, value, &upper_undefined);
		}
	}
	/* undefined bounds on a key that is never missing */
	if (bound_key >= 0 && !b->keys[bound_key].keyed)
	{
		if (lower_undefined)
			b->lower = NO_BOUND;
		if (upper_undefined)
			b->empty = true;
	}
}

/* Read "operators": filters and limits, in order */
static void
parse_operators(Builder *b, JsonbValue *operators)
{
	int			n;

	if (operators == NULL || operators->type == jbvNull)
		return;
	if (operators->type != jbvBinary || !JsonContainerIsArray(operators->val.binary.data))
		bad_query("Invalid query: %s", "\"operators\" must be an array");
	n = JsonContainerSize(operators->val.binary.data);
	if (n > MAX_OPERATORS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Can't construct query with more than %d operators", MAX_OPERATORS)));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *op = getIthJsonbValueFromContainer(operators->val.binary.data, i);
		JsonbValue *value;

		if (op->type != jbvBinary || !JsonContainerIsObject(op->val.binary.data) ||
			JsonContainerSize(op->val.binary.data) != 1)
			bad_query("Invalid query: %s", "each operator is {\"filter\": expression} or {\"limit\": n}");
		if ((value = object_get(op->val.binary.data, "filter")) != NULL)
		{
			bool		may_raise;

			b->ops[b->nops].is_limit = false;
			b->filters[b->nfilters++] = cvx_filter_sql(b->table, value, &b->params, &may_raise);
			b->may_raise |= may_raise;
		}
		else if ((value = object_get(op->val.binary.data, "limit")) != NULL)
		{
			double		d = -1;

			if (value->type == jbvNumeric)
				d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													   NumericGetDatum(value->val.numeric)));
			if (!(d >= 0 && d <= 1e18 && d == (double) (int64) d))
				bad_query("Invalid query: %s", "a limit must be a non-negative integer");
			b->ops[b->nops].is_limit = true;
			b->ops[b->nops].limit = (int64) d;
		}
		else
			bad_query("Invalid query: %s", "each operator is {\"filter\": expression} or {\"limit\": n}");
		b->nops++;
	}
}

/* Parse a query's JSON */
static void
parse_query(Builder *b, Jsonb *query)
{
	memset(b, 0, sizeof(*b));
	if (!JB_ROOT_IS_OBJECT(query) || JB_ROOT_IS_SCALAR(query))
		bad_query("Invalid query: %s", "the query must be a JSON object {\"source\": …, \"operators\": […]}");
	parse_source(b, object_get(&query->root, "source"));
	parse_range(b, object_get(&query->root, "source") != NULL ?
				object_get(object_get(&query->root, "source")->val.binary.data, "range") : NULL);
	parse_operators(b, object_get(&query->root, "operators"));
}

/* The hash of a query's JSON (its canonical jsonb text), for its cursors */
static void
hash_query(Builder *b, Jsonb *query)
{
	char	   *text = JsonbToCString(NULL, &query->root, VARSIZE(query));

	b->hash = hash_bytes_extended((const unsigned char *) text, strlen(text), CURSOR_VERSION);
	pfree(text);
}

/* key i compared with parameter n */
static char *
key_with(const Builder *b, int i, int n)
{
	return b->keys[i].keyed ? psprintf("%s.index_key($%d)", CVX_SCHEMA, n) : psprintf("$%d", n);
}

/* The statement of a query (run's cursor, limit parameter last) */
static char *
query_sql(Builder *b, Run *run, int limit_param)
{
	StringInfoData sql;
	CvxTable   *table = b->table;
	const char *dir = b->descending ? " DESC" : "";

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT _id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(table->columns[i].column));
	if (b->nfilters > 0 && !b->pushdown)
	{
		appendStringInfoString(&sql, ", CASE");
		for (int f = 0; f < b->nfilters; f++)
			appendStringInfo(&sql, " WHEN NOT %s THEN %d", b->filters[f], f + 1);
		appendStringInfoString(&sql, " ELSE 0 END");
	}
	appendStringInfo(&sql, " FROM %s.%s WHERE true", CVX_SCHEMA, quote_identifier(table->name));
	for (int i = 0; i < b->neq; i++)
		appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.=) %s", b->keys[i].expr, key_with(b, i, i + 1));
	if (b->lower != NO_BOUND)
		appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.%s) %s", b->keys[b->neq].expr,
						 b->lower == INCLUSIVE_BOUND ? ">=" : ">", key_with(b, b->neq, b->lower_param));
	if (b->upper != NO_BOUND)
		appendStringInfo(&sql, " AND %s OPERATOR(pg_catalog.%s) %s", b->keys[b->neq].expr,
						 b->upper == INCLUSIVE_BOUND ? "<=" : "<", key_with(b, b->neq, b->upper_param));
	if (b->pushdown)
		for (int f = 0; f < b->nfilters; f++)
			appendStringInfo(&sql, " AND %s", b->filters[f]);
	if (run->has_cursor)
	{
		/* (keys after the eq prefix, _id) after the position, in order */
		int			n = run->cursor_param;

		appendStringInfoString(&sql, " AND (");
		for (int i = b->neq; i < b->nkeys; i++)
			appendStringInfo(&sql, "%s%s", i > b->neq ? ", " : "", b->keys[i].expr);
		if (b->tiebreak)
			appendStringInfoString(&sql, ", _id");
		appendStringInfo(&sql, ") OPERATOR(pg_catalog.%s) (", b->descending ? "<" : ">");
		for (int i = b->neq; i < b->nkeys; i++)
			appendStringInfo(&sql, "%s%s", i > b->neq ? ", " : "", key_with(b, i, n++));
		if (b->tiebreak)
			appendStringInfo(&sql, ", $%d", n++);
		appendStringInfoChar(&sql, ')');
	}
	appendStringInfoString(&sql, " ORDER BY ");
	for (int i = 0; i < b->nkeys; i++)
		appendStringInfo(&sql, "%s%s%s", i > 0 ? ", " : "", b->keys[i].expr, dir);
	if (b->tiebreak)
		appendStringInfo(&sql, ", _id%s", dir);
	appendStringInfo(&sql, " LIMIT $%d", limit_param);
	return sql.data;
}

/* The kept statement for this SQL and these parameter types */
static SPIPlanPtr
query_plan(Builder *b, const char *sql)
{
	Size		sqllen = strlen(sql);
	Size		keylen = sqllen + 1 + sizeof(Oid) * b->params.n;
	char	   *key = palloc(keylen);
	SPIPlanPtr	plan;

	memcpy(key, sql, sqllen + 1);
	memcpy(key + sqllen + 1, b->params.types, sizeof(Oid) * b->params.n);
	plan = cvx_plan_cache_find(&b->table->builder_plans, key, keylen);
	if (plan == NULL)
	{
		plan = cvx_prepare_indexed(sql, b->params.n, b->params.types);
		cvx_plan_cache_add(&b->table->builder_plans, key, keylen, plan,
						   GetMemoryChunkContext(b->table->columns));
	}
	pfree(key);
	return plan;
}

/* A document's key value as Convex JSON ({"$undefined": null} if missing) */
static void
push_position_value(JsonbParseState **state, Jsonb *document, const Key *key)
{
	JsonbValue *value = getKeyJsonValueFromContainer(&document->root, key->field,
													 strlen(key->field), NULL);

	if (key->path != NULL)
	{
		/* "a.b.c": each part in the object before it, else undefined */
		char	   *parts = pstrdup(key->field);
		JsonbContainer *container = &document->root;

		value = NULL;
		for (char *part = parts; container != NULL;)
		{
			char	   *next = strchr(part, '.');

			if (next != NULL)
				*next = '\0';
			value = getKeyJsonValueFromContainer(container, part, strlen(part), NULL);
			if (next == NULL || value == NULL)
				break;
			container = value->type == jbvBinary && JsonContainerIsObject(value->val.binary.data) ?
				value->val.binary.data : NULL;
			if (container == NULL)
				value = NULL;
			part = next + 1;
		}
	}

	if (value == NULL)
	{
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		cvx_push_key(state, "$undefined");
		pushJsonbValue(state, WJB_VALUE, &(JsonbValue) {.type = jbvNull});
		pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	else
		pushJsonbValue(state, WJB_ELEM, value);
}

/* A 64-bit hash as 16 hex digits */
static char *
hex16(uint64 h)
{
	return psprintf("%08x%08x", (uint32) (h >> 32), (uint32) h);
}

/* Seal a cursor payload: base64 of "<payload>|<checksum>" */
static char *
seal_cursor(const char *payload)
{
	char	   *sealed = psprintf("%s|%s", payload,
								  hex16(hash_bytes_extended((const unsigned char *) payload,
															strlen(payload), 0x63767863)));
	int			len = strlen(sealed);
	char	   *out = palloc(pg_b64_enc_len(len) + 1);
	int			n = pg_b64_encode(sealed, len, out, pg_b64_enc_len(len));

	out[n] = '\0';
	return out;
}

/* The cursor after this row: its keys from the first non-eq key, its _id */
static char *
cursor_after(Builder *b, HeapTuple tuple, TupleDesc tupdesc)
{
	Jsonb	   *document = cvx_row_to_document(b->table, tuple, tupdesc);
	JsonbParseState *state = NULL;
	JsonbValue *array;
	Jsonb	   *position;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = b->neq; i < b->nkeys; i++)
		push_position_value(&state, document, &b->keys[i]);
	if (b->tiebreak)
		push_position_value(&state, document, &(Key) {KEY_ID, TEXTOID, false, "_id", "_id", NULL});
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	position = JsonbValueToJsonb(array);
	return seal_cursor(psprintf("{\"v\":%d,\"q\":\"%s" "\",\"p\":%s}", CURSOR_VERSION,
								hex16(b->hash), JsonbToCString(NULL, &position->root, VARSIZE(position))));
}

/* The cursor at the end of the query */
static char *
cursor_end(Builder *b)
{
	return seal_cursor(psprintf("{\"v\":%d,\"q\":\"%s" "\",\"end\":true}", CURSOR_VERSION,
								hex16(b->hash)));
}

/* Read a cursor into parameters of the position (or the end) */
static void
read_cursor(Builder *b, Run *run, text *cursor)
{
	char	   *encoded = text_to_cstring(cursor);
	int			len = strlen(encoded);
	char	   *decoded;
	int			n;
	char	   *bar;
	Jsonb	   *payload;
	JsonbValue *value;
	char	   *query_hash;
	int			npos = b->nkeys - b->neq + (b->tiebreak ? 1 : 0);

	if (len == 0 || len > 1024 * 1024)
		bad_cursor("it is not a cursor of convex_db_paginate");
	decoded = palloc(pg_b64_dec_len(len) + 1);
	n = pg_b64_decode(encoded, len, decoded, pg_b64_dec_len(len));
	if (n <= 0)
		bad_cursor("it is not a cursor of convex_db_paginate");
	decoded[n] = '\0';
	bar = strrchr(decoded, '|');
	if (bar == NULL || strlen(bar + 1) != 16 || strlen(decoded) != (size_t) n)
		bad_cursor("it is not a cursor of convex_db_paginate");
	*bar = '\0';
	if (strcmp(bar + 1, hex16(hash_bytes_extended((const unsigned char *) decoded,
												 strlen(decoded), 0x63767863))) != 0)
		bad_cursor("its checksum does not match (it was changed)");
	payload = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(decoded)));
	query_hash = string_of(object_get(&payload->root, "q"));
	if (query_hash == NULL ||
		strcmp(query_hash, hex16(b->hash)) != 0)
		bad_cursor("it belongs to a different query (a cursor only continues the query that returned it)");
	if ((value = object_get(&payload->root, "end")) != NULL)
	{
		run->cursor_end = true;
		return;
	}
	if ((value = object_get(&payload->root, "start")) != NULL)
		return;				/* a page of 0 items before the first */
	value = object_get(&payload->root, "p");
	if (value == NULL || value->type != jbvBinary || !JsonContainerIsArray(value->val.binary.data) ||
		(int) JsonContainerSize(value->val.binary.data) != npos)
		bad_cursor("its position does not fit this query");
	run->has_cursor = true;
	run->cursor_param = b->params.n + 1;
	for (int i = 0; i < npos; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(value->val.binary.data, i);
		bool		undefined;

		if (b->neq + i < b->nkeys)
			(void) key_param(b, b->neq + i, v, &undefined);
		else
		{
			if (v->type != jbvString)
				bad_cursor("its position does not fit this query");
			(void) cvx_sql_param(&b->params, TEXTOID,
								 PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
																		  v->val.string.len)),
								 false);
		}
	}
}

/* Take the read locks of the query's range (inside a mutation) */
static void
lock_range(Builder *b)
{
	if (b->index == INDEX_ID && b->neq > 0)
		cvx_conflict_read_document(b->table, DatumGetTextPP(b->params.values[0]));
	else if (b->index >= 0)
	{
		/*
		 * The key of the eq prefix up to the first nested field path (a
		 * write's key holds the whole column there, not the nested value):
		 * a shorter prefix is a coarser lock, and none is the table's.
		 */
		int			level = 0;

		while (level < Min(b->neq, b->table->indexes[b->index].nfields) &&
			   b->table->indexes[b->index].paths[level] == NULL)
			level++;
		cvx_conflict_read_range(b->table, level > 0 ? b->index : -1, level,
								b->params.values, b->params.nulls);
	}
	else
		cvx_conflict_read_range(b->table, -1, 0, NULL, NULL);
}

/*
 * Run the query: fetch rows in order, apply the operators to each, emit
 * the documents that pass, until run->want are emitted, run->max_scan
 * are scanned, a limit is reached or the range ends.
 */
static void
run_query(Builder *b, Run *run)
{
	int64		limit = -1;
	int64		counts[MAX_OPERATORS];
	int			limit_param;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext row_context;
	CvxReadDigest digest;
	bool		stopped = false;	/* stopped before the range ended */
	int			filter_attno = 3 + b->table->ncolumns;
	/* rows that may raise are fetched one at a time: none evaluated early */
	long		batch = b->may_raise ? 1 : 16;
	MemoryContext caller;

	run->scanned = run->emitted = 0;
	run->done = false;
	run->continue_cursor = NULL;
	/* a limit of 0 anywhere: no document can come out (Convex pulls none) */
	for (int i = 0; i < b->nops; i++)
		if (b->ops[i].is_limit && b->ops[i].limit == 0)
			b->empty = true;
	if (b->empty || run->cursor_end || run->want == 0)
	{
		run->done = b->empty || run->cursor_end;
		if (!run->done)
			run->continue_cursor = NULL;
		return;
	}
	/*
	 * Outside a mutation nothing counts the documents scanned: filters that
	 * cannot raise and come before every limit (the usual .filter().take())
	 * then go into the WHERE clause, where PostgreSQL evaluates them on the
	 * index scan, and the statement's LIMIT is the query's.
	 */
	b->pushdown = b->nfilters > 0 && !b->may_raise && run->max_scan < 0 && !cvx_in_mutation();
	for (int i = 0, seen_limit = 0; i < b->nops && b->pushdown; i++)
	{
		if (b->ops[i].is_limit)
			seen_limit = 1;
		else if (seen_limit)
			b->pushdown = false;
	}
	/* rows to fetch at most: limits before any filter, want, maximumRowsRead */
	for (int i = 0; i < b->nops && b->ops[i].is_limit; i++)
		limit = limit < 0 ? b->ops[i].limit : Min(limit, b->ops[i].limit);
	if (b->nfilters == 0 || b->pushdown)
	{
		for (int i = 0; i < b->nops; i++)
			if (b->ops[i].is_limit)
				limit = limit < 0 ? b->ops[i].limit : Min(limit, b->ops[i].limit);
		if (run->want >= 0)
			limit = limit < 0 ? run->want : Min(limit, run->want);
	}
	if (run->max_scan >= 0)
		limit = limit < 0 ? run->max_scan : Min(limit, run->max_scan);
	if (cvx_in_mutation())
	{
		int64		allowance = cvx_read_allowance() + 1;

		limit = limit < 0 ? allowance : Min(limit, allowance);
	}
	limit_param = cvx_sql_param(&b->params, INT8OID, Int64GetDatum(limit), limit < 0);
	/* every row the statement returns is wanted: fetch them in one go */
	if (limit > 0 && (b->nfilters == 0 || b->pushdown))
		batch = Min(limit, BUILDER_BATCH_ROWS);
	memset(counts, 0, sizeof(int64) * b->nops);

	caller = CurrentMemoryContext;
	cvx_spi_connect();
	lock_range(b);
	cvx_conflict_digest_start(&digest);
	plan = query_plan(b, query_sql(b, run, limit_param));
	row_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite builder row",
										ALLOCSET_DEFAULT_SIZES);
	portal = cvx_cursor_open_indexed(plan, b->params.values, b->params.nulls, !cvx_mutation_running());
	while (!stopped)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, batch);
		if (SPI_processed == 0)
		{
			run->done = true;
			break;
		}
		if (!b->may_raise)
			batch = Min(batch * 4, BUILDER_BATCH_ROWS);
		for (r = 0; r < SPI_processed && !stopped; r++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[r];
			int			failed = 0;
			bool		passes = true;
			bool		isnull;

			cvx_count_row_read(tuple, SPI_tuptable->tupdesc);
			cvx_conflict_digest_add(&digest, tuple);
			run->scanned++;
			if (b->nfilters > 0 && !b->pushdown)
				failed = DatumGetInt32(SPI_getbinval(tuple, SPI_tuptable->tupdesc,
													 filter_attno, &isnull));
			for (int i = 0, f = 0; i < b->nops && passes; i++)
			{
				if (b->ops[i].is_limit)
					counts[i]++;
				else if (++f == failed)
					passes = false;
			}
			if (passes)
			{
				run->emitted++;
				if (!run->count_only)
				{
					MemoryContext old = MemoryContextSwitchTo(row_context);
					Jsonb	   *document = cvx_row_to_document(b->table, tuple,
															   SPI_tuptable->tupdesc);

					MemoryContextSwitchTo(old);
					run->emit(run->arg, document);
					MemoryContextReset(row_context);
				}
			}
			/* a limit that is full ends the query */
			for (int i = 0; i < b->nops; i++)
				if (b->ops[i].is_limit && counts[i] >= b->ops[i].limit)
				{
					run->done = true;
					stopped = true;
				}
			if (!stopped && ((run->want >= 0 && run->emitted >= run->want) ||
							 (run->max_scan >= 0 && run->scanned >= run->max_scan)))
			{
				stopped = true;
				run->continue_cursor = cursor_after(b, tuple, SPI_tuptable->tupdesc);
			}
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(row_context);
	/*
	 * REPEATABLE READ: the rows scanned, again under the latest snapshot
	 * (as many as were scanned when the query stopped early, all of them
	 * when it reached the end, so that a newer row at the end shows)
	 */
	if (stopped)
	{
		b->params.values[limit_param - 1] = Int64GetDatum(run->scanned);
		b->params.nulls[limit_param - 1] = ' ';
	}
	cvx_conflict_check_digest(plan, b->params.values, b->params.nulls, &digest);
	if (run->continue_cursor != NULL)
		run->continue_cursor = MemoryContextStrdup(caller, run->continue_cursor);
	cvx_spi_finish();
}

/* A required jsonb argument */
static Jsonb *
query_argument(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be NULL")));
	return PG_GETARG_JSONB_P(0);
}

/* emit: into the set's tuplestore */
static void
emit_to_set(void *arg, Jsonb *document)
{
	ReturnSetInfo *rsinfo = arg;
	Datum		value = JsonbPGetDatum(document);
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/* A list of documents collected in the caller's context */
typedef struct Collected
{
	MemoryContext context;
	List	   *documents;
} Collected;

/* emit: appended to an array being built (CvxJsonbArray) */
static void
emit_to_array(void *arg, Jsonb *document)
{
	cvx_jsonb_array_add(arg, document);
}

/* emit: copied into a list */
static void
emit_to_list(void *arg, Jsonb *document)
{
	Collected  *collected = arg;
	MemoryContext old = MemoryContextSwitchTo(collected->context);
	Jsonb	   *copy = palloc(VARSIZE(document));

	memcpy(copy, document, VARSIZE(document));
	collected->documents = lappend(collected->documents, copy);
	MemoryContextSwitchTo(old);
}

/*
 * convex_db_select(query): .collect() / .take(n) (a {"limit": n}
 * operator): the documents in order, as a set of jsonb
 */
Datum
convex_db_select(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *query = query_argument(fcinfo);
	Builder    *b = palloc(sizeof(Builder));
	Run			run = {0};

	parse_query(b, query);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	run.want = -1;
	run.max_scan = -1;
	run.emit = emit_to_set;
	run.arg = rsinfo;
	run_query(b, &run);
	return (Datum) 0;
}

/* Run a query for at most `want` documents, collected in a list */
static List *
collect(FunctionCallInfo fcinfo, Builder *b, int64 want)
{
	Collected	collected = {CurrentMemoryContext, NIL};
	Run			run = {0};

	parse_query(b, query_argument(fcinfo));
	run.want = want;
	run.max_scan = -1;
	run.emit = emit_to_list;
	run.arg = &collected;
	run_query(b, &run);
	return collected.documents;
}

/* convex_db_first(query): .first(): the first document, or NULL */
Datum
convex_db_first(PG_FUNCTION_ARGS)
{
	Builder    *b = palloc(sizeof(Builder));
	List	   *documents = collect(fcinfo, b, 1);

	if (documents == NIL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(linitial(documents));
}

/* The _id of a document */
static char *
document_id(Jsonb *document)
{
	return string_of(object_get(&document->root, "_id"));
}

/*
 * convex_db_unique(query): .unique(): the only document, NULL if none,
 * Convex's error if there is more than one
 */
Datum
convex_db_unique(PG_FUNCTION_ARGS)
{
	Builder    *b = palloc(sizeof(Builder));
	List	   *documents = collect(fcinfo, b, 2);

	if (documents == NIL)
		PG_RETURN_NULL();
	if (list_length(documents) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("unique() query returned more than one result from table %s:\n [%s, %s, ...]",
						b->label, document_id(linitial(documents)), document_id(lsecond(documents)))));
	PG_RETURN_JSONB_P(linitial(documents));
}

/* A JSON value as text, for error messages */
static char *
json_display(JsonbValue *value)
{
	Jsonb	   *jsonb = JsonbValueToJsonb(value);
	char	   *text = JsonbToCString(NULL, &jsonb->root, VARSIZE(jsonb));

	return cvx_clip_name(text, strlen(text));
}

/* A non-negative integer option of paginate, or -1 if absent/null */
static int64
page_option(Jsonb *opts, const char *name, bool required, const char *message)
{
	JsonbValue *value = object_get(&opts->root, name);
	double		d = -1;

	if (value == NULL || value->type == jbvNull)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(message, "undefined")));
		return -1;
	}
	if (value->type == jbvNumeric)
		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(value->val.numeric)));
	if (!(d >= 0 && d <= PG_INT32_MAX && d == (double) (int64) d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(message, json_display(value))));
	return (int64) d;
}

/*
 * convex_db_paginate(query, pagination_opts): .paginate({numItems,
 * cursor, maximumRowsRead}) -> {"page", "isDone", "continueCursor"}
 */
Datum
convex_db_paginate(PG_FUNCTION_ARGS)
{
	Builder    *b = palloc(sizeof(Builder));
	Jsonb	   *opts;
	JsonbValue *cursor;
	Run			run = {0};
	CvxJsonbArray page;
	Jsonb	   *page_jsonb;
	static const char *const keys[3] = {"page", "isDone", "continueCursor"};
	JsonbValue	values[3];

	parse_query(b, query_argument(fcinfo));
	hash_query(b, query_argument(fcinfo));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pagination_opts must not be NULL")));
	opts = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pagination_opts must be a JSON object {\"numItems\": n, \"cursor\": null}")));
	run.want = page_option(opts, "numItems", true,
						   "`options.numItems` must be a positive number. Received `%s`.");
	run.max_scan = page_option(opts, "maximumRowsRead", false,
							   "`options.maximumRowsRead` must be a positive number. Received `%s`.");
	if (run.max_scan == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("`options.maximumRowsRead` must be a positive number. Received `0`.")));
	cursor = object_get(&opts->root, "cursor");
	if (cursor != NULL && cursor->type == jbvString)
		read_cursor(b, &run, cstring_to_text_with_len(cursor->val.string.val,
													  cursor->val.string.len));
	else if (cursor != NULL && cursor->type != jbvNull)
		bad_cursor("the cursor must be a string or null");
	cvx_jsonb_array_init(&page);
	run.emit = emit_to_array;
	run.arg = &page;
	run_query(b, &run);

	/* {"page": [...], "isDone": bool, "continueCursor": string}, keys in jsonb's order */
	values[0].type = jbvBinary;
	page_jsonb = cvx_jsonb_array_finish(&page, CurrentMemoryContext);
	values[0].val.binary.data = &page_jsonb->root;
	values[0].val.binary.len = VARSIZE(page_jsonb) - VARHDRSZ;
	values[1].type = jbvBool;
	values[1].val.boolean = run.done;
	values[2].type = jbvString;
	values[2].val.string.val = run.done ? cursor_end(b) :
		run.continue_cursor != NULL ? run.continue_cursor : (char *) "";
	/* want 0: no position moved; the same cursor continues */
	if (!run.done && run.continue_cursor == NULL)
		values[2].val.string.val = cursor != NULL && cursor->type == jbvString ?
			pnstrdup(cursor->val.string.val, cursor->val.string.len) :
			seal_cursor(psprintf("{\"v\":%d,\"q\":\"%s" "\",\"start\":true}",
								 CURSOR_VERSION, hex16(b->hash)));
	values[2].val.string.len = strlen(values[2].val.string.val);
	PG_RETURN_JSONB_P(cvx_jsonb_object(3, keys, values));
}

/*
 * convex_db_count(query): how many documents the query returns (its range,
 * filters and limits), without building them
 */
Datum
convex_db_count(PG_FUNCTION_ARGS)
{
	Builder    *b = palloc(sizeof(Builder));
	Run			run = {0};

	parse_query(b, query_argument(fcinfo));
	run.want = -1;
	run.max_scan = -1;
	run.count_only = true;
	run_query(b, &run);
	PG_RETURN_INT64(run.emitted);
}
