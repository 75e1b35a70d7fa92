/*-------------------------------------------------------------------------
 *
 * query_filter.c
 *	  .filter(q => …) of the query builder: convex-js's serialized
 *	  expressions ({"$eq": [{"$field": "a.b"}, {"$literal": 5}]}) as SQL
 *	  over a table's row, with the Convex backend's semantics.
 *
 * Every expression becomes a typed SQL expression whose NULL is undefined
 * (a missing field): a top-level field is its column, a nested path
 * "a.b" is (a -> 'b') of a jsonb column, a literal is a bound parameter
 * (text, double precision, boolean or Convex JSON as jsonb).  Comparisons
 * follow Convex's total order across types (undefined lowest) by
 * comparing convex.index_key() of both sides; a required text or boolean
 * field against a value of the same type is compared natively (the same
 * order: text columns are COLLATE "C").  Comparisons, and/or/not give
 * SQL booleans that are never NULL.  Arithmetic and "is this a boolean"
 * are the small C functions below (convex.filter_arith, filter_neg,
 * filter_boolean, filter_value), raising the backend's EvalErrors.
 * The SQL depends only on the expression's shape and the literals' types,
 * so a statement prepared for it serves every query of that shape.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/int.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(convex_filter_value_text);
PG_FUNCTION_INFO_V1(convex_filter_value_float8);
PG_FUNCTION_INFO_V1(convex_filter_value_bool);
PG_FUNCTION_INFO_V1(convex_filter_value_int8);
PG_FUNCTION_INFO_V1(convex_filter_value_bytea);
PG_FUNCTION_INFO_V1(convex_filter_arith);
PG_FUNCTION_INFO_V1(convex_filter_neg);
PG_FUNCTION_INFO_V1(convex_filter_boolean);

/* Set while translating when the SQL calls a function that can raise */
static bool translation_may_raise = false;

/* Deepest expression nesting accepted (Convex values nest at most 64) */
#define MAX_FILTER_DEPTH 64

/* A translated expression */
typedef struct FilterSql
{
	char	   *sql;
	Oid			type;			/* TEXTOID, FLOAT8OID, BOOLOID, INT8OID, BYTEAOID, JSONBOID */
	bool		notnull;		/* never undefined */
} FilterSql;

/* Add a bound parameter; returns its number ($n) */
int
cvx_sql_param(CvxSqlParams *params, Oid type, Datum value, bool isnull)
{
	if (params->n >= params->cap)
	{
		int			cap = params->cap == 0 ? 16 : params->cap * 2;

		if (params->cap == 0)
		{
			params->values = palloc(sizeof(Datum) * cap);
			params->nulls = palloc(cap + 1);
			params->types = palloc(sizeof(Oid) * cap);
		}
		else
		{
			params->values = repalloc(params->values, sizeof(Datum) * cap);
			params->nulls = repalloc(params->nulls, cap + 1);
			params->types = repalloc(params->types, sizeof(Oid) * cap);
		}
		params->cap = cap;
	}
	params->values[params->n] = value;
	params->nulls[params->n] = isnull ? 'n' : ' ';
	params->types[params->n] = type;
	params->n++;
	params->nulls[params->n] = '\0';
	return params->n;
}

/* A bad filter expression: 22023 */
static void
bad_expression(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("Invalid filter expression: %s", why)));
}

/* The expression as Convex JSON (jsonb; NULL stays undefined) */
static char *
as_json(const FilterSql *e)
{
	if (e->type == JSONBOID)
		return e->sql;
	return psprintf("%s.filter_value(%s)", CVX_SCHEMA, e->sql);
}

/* The expression as a condition: a boolean, else the backend's EvalError */
static char *
as_condition(const FilterSql *e)
{
	if (e->type == BOOLOID && e->notnull)
		return e->sql;
	translation_may_raise = true;
	return psprintf("%s.filter_boolean(%s)", CVX_SCHEMA, as_json(e));
}

/* A field path "a.b.c": its column, a jsonb path below it, or undefined */
static void
translate_field(CvxTable *table, const char *path, int len, FilterSql *out)
{
	char	   *copy = pnstrdup(path, len);
	char	   *dot = strchr(copy, '.');
	int			column;
	StringInfoData sql;

	if (len == 0)
		bad_expression("$field needs a field path");
	if (dot != NULL)
		*dot = '\0';
	out->notnull = false;
	if (strcmp(copy, "_id") == 0 || strcmp(copy, "_creationTime") == 0)
	{
		if (dot == NULL)
		{
			out->sql = copy[1] == 'i' ? "_id" : "_creation_time";
			out->type = copy[1] == 'i' ? TEXTOID : FLOAT8OID;
			out->notnull = true;
			return;
		}
		column = -1;
	}
	else
		column = cvx_find_column(table, copy);
	if (column < 0)
	{
		/* no such field (or a path into a system field): undefined */
		out->sql = "NULL::pg_catalog.jsonb";
		out->type = JSONBOID;
		return;
	}
	if (dot == NULL)
	{
		out->sql = pstrdup(quote_identifier(table->columns[column].column));
		out->type = table->columns[column].type_oid;
		out->notnull = !table->columns[column].field->optional;
		return;
	}
	out->type = JSONBOID;
	if (table->columns[column].type != CVX_COL_JSONB)
	{
		/* a path into a string, number, …: undefined */
		out->sql = "NULL::pg_catalog.jsonb";
		return;
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "(%s", quote_identifier(table->columns[column].column));
	for (char *part = dot + 1;;)
	{
		char	   *next = strchr(part, '.');

		if (next != NULL)
			*next = '\0';
		if (*part == '\0')
			bad_expression("a $field path has an empty part");
		appendStringInfo(&sql, " OPERATOR(pg_catalog.->) %s", quote_literal_cstr(part));
		if (next == NULL)
			break;
		part = next + 1;
	}
	appendStringInfoChar(&sql, ')');
	out->sql = sql.data;
}

/* A literal Convex value (its JSON form) as a bound parameter */
static void
translate_literal(const JsonbValue *value, CvxSqlParams *params, FilterSql *out)
{
	CvxValue	v;
	char		message[256];
	int			n;

	out->notnull = true;
	switch (value->type)
	{
		case jbvString:
			n = cvx_sql_param(params, TEXTOID,
							  PointerGetDatum(cstring_to_text_with_len(value->val.string.val,
																	   value->val.string.len)),
							  false);
			out->type = TEXTOID;
			out->sql = psprintf("$%d", n);
			return;
		case jbvBool:
			n = cvx_sql_param(params, BOOLOID, BoolGetDatum(value->val.boolean), false);
			out->type = BOOLOID;
			out->sql = psprintf("$%d", n);
			return;
		case jbvNumeric:
			n = cvx_sql_param(params, FLOAT8OID,
							  DirectFunctionCall1(numeric_float8,
												  NumericGetDatum(value->val.numeric)),
							  false);
			out->type = FLOAT8OID;
			out->sql = psprintf("$%d", n);
			return;
		default:
			break;
	}
	cvx_jsonb_scalar_value(value, &v);
	/* convexOrUndefinedToJson(undefined) */
	if (v.type == CVX_T_OBJECT)
	{
		CvxValue	inner;

		if (cvx_jsonb_ops.size(&v) == 1 &&
			cvx_jsonb_ops.object_get(&v, "$undefined", 10, &inner) && inner.type == CVX_T_NULL)
		{
			out->sql = "NULL::pg_catalog.jsonb";
			out->type = JSONBOID;
			out->notnull = false;
			return;
		}
	}
	if (!cvx_value_validate(&v, &cvx_jsonb_ops, message, sizeof(message)))
		bad_expression(psprintf("$literal is not a Convex value: %s", message));
	n = cvx_sql_param(params, JSONBOID, JsonbPGetDatum(cvx_value_jsonb(&v)), false);
	out->type = JSONBOID;
	out->sql = psprintf("$%d", n);
}

static void translate_expr(CvxTable *table, const JsonbValue *expr, CvxSqlParams *params,
					  int depth, FilterSql *out);

/* The two operands of a binary operator ([l, r]) */
static void
operands(CvxTable *table, const JsonbValue *args, const char *op, CvxSqlParams *params,
		 int depth, FilterSql *l, FilterSql *r)
{
	if (args->type != jbvBinary || !JsonContainerIsArray(args->val.binary.data) ||
		JsonContainerSize(args->val.binary.data) != 2)
		bad_expression(psprintf("%s takes an array of two expressions", op));
	translate_expr(table, getIthJsonbValueFromContainer(args->val.binary.data, 0), params, depth + 1, l);
	translate_expr(table, getIthJsonbValueFromContainer(args->val.binary.data, 1), params, depth + 1, r);
}

/* l OP r in Convex's total order (a SQL boolean, never NULL) */
static char *
comparison(const char *op, const FilterSql *l, const FilterSql *r)
{
	bool		is_eq = strcmp(op, "=") == 0;
	bool		is_neq = strcmp(op, "<>") == 0;

	if (l->type == r->type && (l->type == TEXTOID || l->type == BOOLOID))
	{
		if (l->notnull && r->notnull)
			return psprintf("(%s OPERATOR(pg_catalog.%s) %s)", l->sql, op, r->sql);
		if (is_eq || is_neq)
			return psprintf("(%s IS %sDISTINCT FROM %s)", l->sql, is_eq ? "NOT " : "", r->sql);
	}
	return psprintf("(%s.index_key(%s) OPERATOR(pg_catalog.%s) %s.index_key(%s))",
					CVX_SCHEMA, l->sql, op, CVX_SCHEMA, r->sql);
}

/* Translate one expression (an object with one "$…" key) */
static void
translate_expr(CvxTable *table, const JsonbValue *expr, CvxSqlParams *params, int depth,
		  FilterSql *out)
{
	static const struct
	{
		const char *name;
		const char *sql;
	}			comparisons[] = {
		{"$eq", "="}, {"$neq", "<>"}, {"$lt", "<"}, {"$lte", "<="}, {"$gt", ">"}, {"$gte", ">="}
	}, arithmetic[] = {
		{"$add", "1"}, {"$sub", "2"}, {"$mul", "3"}, {"$div", "4"}, {"$mod", "5"}
	};
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	args;
	char	   *op;
	FilterSql	l;
	FilterSql	r;

	check_stack_depth();
	if (depth > MAX_FILTER_DEPTH)
		bad_expression(psprintf("nested more than %d levels deep", MAX_FILTER_DEPTH));
	if (expr->type != jbvBinary || !JsonContainerIsObject(expr->val.binary.data) ||
		JsonContainerSize(expr->val.binary.data) != 1)
		bad_expression("an expression is an object with one key such as $field, $literal or $eq");
	it = JsonbIteratorInit(expr->val.binary.data);
	(void) JsonbIteratorNext(&it, &key, true);	/* WJB_BEGIN_OBJECT */
	(void) JsonbIteratorNext(&it, &key, true);
	(void) JsonbIteratorNext(&it, &args, true);
	op = pnstrdup(key.val.string.val, key.val.string.len);

	if (strcmp(op, "$field") == 0)
	{
		if (args.type != jbvString)
			bad_expression("$field takes a field path string");
		translate_field(table, args.val.string.val, args.val.string.len, out);
		return;
	}
	if (strcmp(op, "$literal") == 0)
	{
		translate_literal(&args, params, out);
		return;
	}
	for (size_t i = 0; i < lengthof(comparisons); i++)
		if (strcmp(op, comparisons[i].name) == 0)
		{
			operands(table, &args, op, params, depth, &l, &r);
			out->sql = comparison(comparisons[i].sql, &l, &r);
			out->type = BOOLOID;
			out->notnull = true;
			return;
		}
	for (size_t i = 0; i < lengthof(arithmetic); i++)
		if (strcmp(op, arithmetic[i].name) == 0)
		{
			operands(table, &args, op, params, depth, &l, &r);
			translation_may_raise = true;
			out->sql = psprintf("%s.filter_arith(%s, %s, %s)", CVX_SCHEMA, arithmetic[i].sql,
								as_json(&l), as_json(&r));
			out->type = JSONBOID;
			out->notnull = true;
			return;
		}
	if (strcmp(op, "$neg") == 0 || strcmp(op, "$not") == 0)
	{
		translate_expr(table, &args, params, depth + 1, &l);
		if (op[2] == 'e')
		{
			translation_may_raise = true;
			out->sql = psprintf("%s.filter_neg(%s)", CVX_SCHEMA, as_json(&l));
			out->type = JSONBOID;
		}
		else
		{
			out->sql = psprintf("(NOT %s)", as_condition(&l));
			out->type = BOOLOID;
		}
		out->notnull = true;
		return;
	}
	if (strcmp(op, "$and") == 0 || strcmp(op, "$or") == 0)
	{
		bool		is_and = op[1] == 'a';
		int			n;
		StringInfoData sql;

		if (args.type != jbvBinary || !JsonContainerIsArray(args.val.binary.data))
			bad_expression(psprintf("%s takes an array of expressions", op));
		n = JsonContainerSize(args.val.binary.data);
		out->type = BOOLOID;
		out->notnull = true;
		if (n == 0)
		{
			out->sql = is_and ? "true" : "false";
			return;
		}
		/* CASE: evaluated in order, stopping at the first false (true) */
		initStringInfo(&sql);
		appendStringInfoString(&sql, "(CASE");
		for (int i = 0; i < n; i++)
		{
			translate_expr(table, getIthJsonbValueFromContainer(args.val.binary.data, i), params,
					  depth + 1, &l);
			appendStringInfo(&sql, " WHEN %s%s THEN %s", is_and ? "NOT " : "",
							 as_condition(&l), is_and ? "false" : "true");
		}
		appendStringInfo(&sql, " ELSE %s END)", is_and ? "true" : "false");
		out->sql = sql.data;
		return;
	}
	bad_expression(psprintf("unknown operator \"%s\"", cvx_clip_name(op, strlen(op))));
}

/*
 * A filter expression as a SQL condition over the table's row (columns by
 * name), its literals appended to params.  Never NULL; raises the
 * backend's EvalErrors where Convex does.  *may_raise: the condition calls
 * a function that can raise (arithmetic, a value used as a boolean); those
 * functions are VOLATILE, so the planner evaluates them only on rows the
 * statement returns (after any sort), and the caller fetches such rows one
 * at a time, so that no row Convex would not reach is evaluated.
 */
char *
cvx_filter_sql(CvxTable *table, const JsonbValue *expr, CvxSqlParams *params, bool *may_raise)
{
	FilterSql	e;
	char	   *sql;

	translation_may_raise = false;
	translate_expr(table, expr, params, 0, &e);
	sql = as_condition(&e);
	*may_raise = translation_may_raise;
	return sql;
}

/* ---------------------------------------------------------------------
 * The SQL functions the translated filters call
 * ---------------------------------------------------------------------
 */

/* A jsonb of one scalar */
static Jsonb *
scalar_jsonb(JsonbValue *jbv)
{
	return JsonbValueToJsonb(jbv);
}

/* {"$integer"|"$float"|"$bytes": base64 of bytes} */
static Jsonb *
encoded_jsonb(const char *key, const uint8 *bytes, int len)
{
	JsonbParseState *state = NULL;
	JsonbValue	jbv;
	int			enclen = pg_b64_enc_len(len);
	char	   *encoded = palloc(enclen + 1);

	enclen = pg_b64_encode((const char *) bytes, len, encoded, enclen);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	cvx_push_key(&state, key);
	jbv.type = jbvString;
	jbv.val.string.val = encoded;
	jbv.val.string.len = enclen;
	pushJsonbValue(&state, WJB_VALUE, &jbv);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/* A float64 as Convex JSON: a number, or {"$float": …} for NaN, ±Inf, -0 */
static Jsonb *
float64_jsonb(double d)
{
	JsonbValue	jbv;

	if (isnan(d) || isinf(d) || (d == 0.0 && signbit(d)))
	{
		uint8		le[8];
		uint64		bits;

		/* one NaN, the quiet 0x7ff8…, as convexlite stores every NaN */
		if (isnan(d))
			d = get_float8_nan();
		memcpy(&bits, &d, sizeof(bits));
		for (int b = 0; b < 8; b++)
			le[b] = (uint8) (bits >> (8 * b));
		return encoded_jsonb("$float", le, 8);
	}
	jbv.type = jbvNumeric;
	/* the shortest text that reads back as d: every digit kept */
	jbv.val.numeric = cvx_float8_to_numeric(d);
	return scalar_jsonb(&jbv);
}

/* An int64 as Convex JSON: {"$integer": base64 of 8 little-endian bytes} */
static Jsonb *
int64_jsonb(int64 i)
{
	uint8		le[8];

	for (int b = 0; b < 8; b++)
		le[b] = (uint8) (((uint64) i) >> (8 * b));
	return encoded_jsonb("$integer", le, 8);
}

/* convex.filter_value(text): a string as Convex JSON */
Datum
convex_filter_value_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	JsonbValue	jbv;

	jbv.type = jbvString;
	jbv.val.string.val = VARDATA_ANY(t);
	jbv.val.string.len = VARSIZE_ANY_EXHDR(t);
	PG_RETURN_JSONB_P(scalar_jsonb(&jbv));
}

/* convex.filter_value(double precision) */
Datum
convex_filter_value_float8(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(float64_jsonb(PG_GETARG_FLOAT8(0)));
}

/* convex.filter_value(boolean) */
Datum
convex_filter_value_bool(PG_FUNCTION_ARGS)
{
	JsonbValue	jbv;

	jbv.type = jbvBool;
	jbv.val.boolean = PG_GETARG_BOOL(0);
	PG_RETURN_JSONB_P(scalar_jsonb(&jbv));
}

/* convex.filter_value(bigint) */
Datum
convex_filter_value_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(int64_jsonb(PG_GETARG_INT64(0)));
}

/* convex.filter_value(bytea) */
Datum
convex_filter_value_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_JSONB_P(encoded_jsonb("$bytes", (const uint8 *) VARDATA_ANY(b),
									VARSIZE_ANY_EXHDR(b)));
}

/* An operand: undefined, an int64, a float64, or another value */
typedef struct Operand
{
	bool		undefined;
	bool		is_int;
	bool		is_float;
	int64		i;
	double		d;
	CvxValue	value;
} Operand;

/* Read an argument of an evaluator function */
static void
read_operand(FunctionCallInfo fcinfo, int argno, Operand *o)
{
	memset(o, 0, sizeof(*o));
	if (PG_ARGISNULL(argno))
	{
		o->undefined = true;
		return;
	}
	cvx_jsonb_value(PG_GETARG_JSONB_P(argno), &o->value);
	if (cvx_value_int64(&o->value, &cvx_jsonb_ops, &o->i))
		o->is_int = true;
	else if (cvx_value_float64(&o->value, &cvx_jsonb_ops, &o->d))
		o->is_float = true;
}

/* Convex's display of an operand and its type name */
static char *
operand_display(const Operand *o)
{
	char	   *shown;
	char	   *result;

	if (o->undefined)
		return pstrdup("undefined");
	shown = cvx_value_display(&o->value, &cvx_jsonb_ops, 200);
	result = pstrdup(shown);
	free(shown);
	return result;
}

/* Convex's type name of an operand */
static const char *
operand_type(const Operand *o)
{
	if (o->undefined)
		return "undefined";
	if (o->is_int)
		return "Int64";
	if (o->is_float)
		return "Float64";
	switch (o->value.type)
	{
		case CVX_T_NULL:
			return "Null";
		case CVX_T_BOOLEAN:
			return "Boolean";
		case CVX_T_STRING:
			return "String";
		case CVX_T_ARRAY:
			return "Array";
		default:
			{
				const char *b64;
				size_t		len;

				return cvx_value_bytes(&o->value, &cvx_jsonb_ops, &b64, &len) ? "Bytes" : "Object";
			}
	}
}

/*
 * convex.filter_arith(op, l, r): $add (1), $sub (2), $mul (3), $div (4),
 * $mod (5) as the backend's binary_arithmetic: two int64s (checked) or two
 * float64s, anything else an EvalError.
 */
Datum
convex_filter_arith(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "add", "subtract", "multiply", "divide", "mod"};
	int			op = PG_GETARG_INT32(0);
	Operand		l;
	Operand		r;

	if (op < 1 || op > 5)
		elog(ERROR, "convexlite: unknown filter operator %d", op);
	read_operand(fcinfo, 1, &l);
	read_operand(fcinfo, 2, &r);
	if (l.is_int && r.is_int)
	{
		int64		result = 0;
		bool		overflow = false;

		switch (op)
		{
			case 1:
				overflow = pg_add_s64_overflow(l.i, r.i, &result);
				break;
			case 2:
				overflow = pg_sub_s64_overflow(l.i, r.i, &result);
				break;
			case 3:
				overflow = pg_mul_s64_overflow(l.i, r.i, &result);
				break;
			default:
				if (r.i == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DIVISION_BY_ZERO),
							 errmsg("EvalError: Cannot %s " INT64_FORMAT " by zero", names[op], l.i)));
				if (r.i == -1 && l.i == PG_INT64_MIN)
					overflow = true;
				else
					result = op == 4 ? l.i / r.i : l.i % r.i;
				break;
		}
		if (overflow)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("EvalError: Cannot %s " INT64_FORMAT " and " INT64_FORMAT
							": the result is out of range for Int64", names[op], l.i, r.i)));
		PG_RETURN_JSONB_P(int64_jsonb(result));
	}
	if (l.is_float && r.is_float)
	{
		double		result;

		switch (op)
		{
			case 1:
				result = l.d + r.d;
				break;
			case 2:
				result = l.d - r.d;
				break;
			case 3:
				result = l.d * r.d;
				break;
			case 4:
				result = l.d / r.d;
				break;
			default:
				result = fmod(l.d, r.d);
				break;
		}
		PG_RETURN_JSONB_P(float64_jsonb(result));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("EvalError: Cannot %s %s (type %s) and %s (type %s)", names[op],
					operand_display(&l), operand_type(&l),
					operand_display(&r), operand_type(&r))));
	PG_RETURN_NULL();
}

/* convex.filter_neg(x): $neg of an int64 (checked) or a float64 */
Datum
convex_filter_neg(PG_FUNCTION_ARGS)
{
	Operand		x;

	read_operand(fcinfo, 0, &x);
	if (x.is_int)
	{
		if (x.i == PG_INT64_MIN)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("EvalError: Cannot negate " INT64_FORMAT
							": the result is out of range for Int64", x.i)));
		PG_RETURN_JSONB_P(int64_jsonb(-x.i));
	}
	if (x.is_float)
		PG_RETURN_JSONB_P(float64_jsonb(-x.d));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("EvalError: Cannot negate %s (type %s)", operand_display(&x),
					operand_type(&x))));
	PG_RETURN_NULL();
}

/*
 * convex.filter_boolean(value): a filter result or an and/or/not operand
 * must be a boolean (MaybeValue::into_boolean)
 */
Datum
convex_filter_boolean(PG_FUNCTION_ARGS)
{
	Operand		x;

	read_operand(fcinfo, 0, &x);
	if (!x.undefined && x.value.type == CVX_T_BOOLEAN)
		PG_RETURN_BOOL(x.value.boolean);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("EvalError: Cannot use value %s (type %s) as a Boolean",
					operand_display(&x), operand_type(&x))));
	PG_RETURN_BOOL(false);
}
