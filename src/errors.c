/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Convex's errors as PostgreSQL errors with stable SQLSTATEs.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "mb/pg_wchar.h"

#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(convex_error);

/* ---------------------------------------------------------------------
 * The JSON DETAIL of every convexlite error (see convexlite.h)
 * ---------------------------------------------------------------------
 */

/* The report being built: its level, detail text, JSON detail and code */
static int	err_level = 0;
static char *err_detail = NULL;
static const char *err_detail_json = NULL;
static const char *err_code = NULL;

/*
 * Stable codes of SQLSTATEs: what a client switches on.  docs/
 * identity-and-errors.md lists them with their HTTP statuses; a new
 * SQLSTATE used by convexlite gets its line here and there.
 */
static const struct
{
	const char *sqlstate;
	const char *code;
}			sqlstate_codes[] =
{
	{"22023", "INVALID_ARGUMENT"},
	{"22004", "NULL_ARGUMENT"},
	{"22000", "EVAL_ERROR"},
	{"22012", "DIVISION_BY_ZERO"},
	{"22003", "NUMBER_OUT_OF_RANGE"},
	{"21000", "NOT_UNIQUE"},
	{"34000", "INVALID_CURSOR"},
	{"23514", "SCHEMA_VALIDATION_FAILED"},
	{"23502", "MISSING_VALUE"},
	{"23505", "DUPLICATE_ID"},
	{"42710", "DUPLICATE_OBJECT"},
	{"25000", "INVALID_TRANSACTION_STATE"},
	{"25006", "READ_ONLY"},
	{"40001", "CONFLICT"},
	{"40P01", "CONFLICT"},
	{"42501", "FORBIDDEN"},
	{"42602", "INVALID_NAME"},
	{"42622", "NAME_TOO_LONG"},
	{"42939", "RESERVED_NAME"},
	{"42701", "DUPLICATE_FIELD"},
	{"42703", "FIELD_NOT_FOUND"},
	{"42704", "NOT_FOUND"},
	{"42723", "DUPLICATE_FUNCTION"},
	{"42883", "FUNCTION_NOT_FOUND"},
	{"42809", "WRONG_FUNCTION_KIND"},
	{"42P01", "TABLE_NOT_FOUND"},
	{"42P07", "DUPLICATE_TABLE"},
	{"42P13", "INVALID_HANDLER"},
	{"54000", "LIMIT_EXCEEDED"},
	{"55000", "WRONG_STATE"},
	{"55P03", "LOCK_NOT_AVAILABLE"},
	{"57014", "CANCELED"},
	{"0A000", "NOT_SUPPORTED"},
	{"53200", "OUT_OF_MEMORY"},
	{"P0001", "CONVEX_ERROR"},
	{"P0002", "DOCUMENT_NOT_FOUND"},
	{"XX001", "DATA_CORRUPTED"},
	{"XX000", "INTERNAL_ERROR"},
};

/* The stable code of a SQLSTATE: its line above, else "SQLSTATE_<sqlstate>" */
const char *
cvx_sqlstate_code(int sqlerrcode)
{
	const char *sqlstate = unpack_sql_state(sqlerrcode);

	for (size_t i = 0; i < lengthof(sqlstate_codes); i++)
		if (strcmp(sqlstate_codes[i].sqlstate, sqlstate) == 0)
			return sqlstate_codes[i].code;
	return psprintf("SQLSTATE_%s", sqlstate);
}

/* Called first in every ereport of convexlite (convexlite.h) */
void
cvx_err_begin(int elevel)
{
	err_level = elevel;
	err_detail = NULL;
	err_detail_json = NULL;
	err_code = NULL;
}

/* In an ereport: the error's stable code, instead of its SQLSTATE's */
int
cvx_errcode_name(const char *code)
{
	err_code = code;
	return 0;
}

/* In an ereport: the whole DETAIL, a JSON object with a "code" */
int
cvx_errdetail_json(const char *json)
{
	if (err_level < ERROR)
		return (errdetail_internal) ("%s", json);
	err_detail_json = MemoryContextStrdup(ErrorContext, json);
	return 0;
}

/* errdetail() and errdetail_internal() in convexlite: kept for cvx_err_finish */
int
cvx_errdetail(const char *fmt,...)
{
	MemoryContext old = MemoryContextSwitchTo(ErrorContext);
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	MemoryContextSwitchTo(old);
	if (err_level < ERROR)
		return (errdetail_internal) ("%s", buf.data);
	err_detail = buf.data;
	return 0;
}

/* Called last in every ereport of convexlite: set the JSON DETAIL */
int
cvx_err_finish(void)
{
	MemoryContext old;
	StringInfoData json;

	if (err_level < ERROR)
		return 0;
	if (err_detail_json != NULL)
		return (errdetail_internal) ("%s", err_detail_json);
	old = MemoryContextSwitchTo(ErrorContext);
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"code\": ");
	escape_json(&json, err_code != NULL ? err_code : cvx_sqlstate_code(geterrcode()));
	if (err_detail != NULL)
	{
		appendStringInfoString(&json, ", \"detail\": ");
		escape_json(&json, err_detail);
	}
	appendStringInfoChar(&json, '}');
	MemoryContextSwitchTo(old);
	return (errdetail_internal) ("%s", json.data);
}

/* The kind of a failed check, as the JSON DETAIL names it */
static const char *
check_kind_name(CvxCheckErrorKind kind)
{
	switch (kind)
	{
		case CVX_CHECK_OK:
			break;
		case CVX_CHECK_NO_MATCH:
			return "no_match";
		case CVX_CHECK_MISSING_FIELD:
			return "missing_field";
		case CVX_CHECK_EXTRA_FIELD:
			return "extra_field";
		case CVX_CHECK_ID_TABLE_MISMATCH:
			return "id_table_mismatch";
		case CVX_CHECK_ID_SYSTEM_TABLE:
			return "id_system_table";
		case CVX_CHECK_LITERAL_MISMATCH:
			return "literal_mismatch";
	}
	return "no_match";
}

/*
 * The JSON DETAIL of a failed validation: {"code", "kind", "path",
 * "validator"} and "field" (missing or extra field) or "table" (the table
 * of a mismatched id).  The code says what was validated: arguments,
 * a return value, a document against its table's schema, or else.
 */
static char *
validation_detail(const char *prefix, const CvxCheckError *error, int sqlstate)
{
	StringInfoData json;
	const char *code = "VALIDATION_FAILED";
	char	   *validator = error->validator != NULL ? cvx_validator_display(error->validator) : NULL;

	if (strncmp(prefix, "ArgumentValidationError", 23) == 0)
		code = "ARGUMENT_VALIDATION_FAILED";
	else if (strncmp(prefix, "ReturnsValidationError", 22) == 0)
		code = "RETURNS_VALIDATION_FAILED";
	else if (sqlstate == ERRCODE_CHECK_VIOLATION)
		code = "SCHEMA_VALIDATION_FAILED";
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"code\": ");
	escape_json(&json, code);
	appendStringInfoString(&json, ", \"kind\": ");
	escape_json(&json, check_kind_name(error->kind));
	appendStringInfoString(&json, ", \"path\": ");
	escape_json(&json, pnstrdup(error->path, strnlen(error->path, CVX_PATH_MAX)));
	if (validator != NULL)
	{
		appendStringInfoString(&json, ", \"validator\": ");
		escape_json(&json, validator);
		free(validator);
	}
	if (error->kind == CVX_CHECK_MISSING_FIELD || error->kind == CVX_CHECK_EXTRA_FIELD)
	{
		appendStringInfoString(&json, ", \"field\": ");
		escape_json(&json, pnstrdup(error->field, strnlen(error->field, CVX_NAME_MAX)));
	}
	if (error->kind == CVX_CHECK_ID_TABLE_MISMATCH)
	{
		appendStringInfoString(&json, ", \"table\": ");
		escape_json(&json, pnstrdup(error->found_table, strnlen(error->found_table, CVX_NAME_MAX)));
	}
	appendStringInfoChar(&json, '}');
	return json.data;
}

/*
 * Report a failed validation: errmsg is prefix + Convex's message
 * (e.g. "ArgumentValidationError: Value does not match validator. ...").
 * The core's malloc'd message is copied and freed before raising.
 */
void
cvx_raise_validation_error(const char *prefix, const CvxCheckError *error,
						   const CvxCheckContext *context, int sqlstate)
{
	char	   *message = cvx_check_error_message(error, context);
	char	   *copy;

	if (message == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while formatting a validation error")));
	copy = psprintf("%s%s", prefix, message);
	free(message);
	ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", copy),
					cvx_errdetail_json(validation_detail(prefix, error, sqlstate))));
	pg_unreachable();
}

/*
 * Raise a ConvexError whose DETAIL is detail_json (a JSON object with a
 * "code"): SQLSTATE 42501 when that code is UNAUTHORIZED (what gateways
 * turn into 401/403), P0001 otherwise.  The scheduler knows a ConvexError
 * by this function's name (cvx_is_convex_error).
 */
static void cvx_raise_convex_detail(const char *code, const char *message,
									const char *detail_json) pg_attribute_noreturn();

static void
cvx_raise_convex_detail(const char *code, const char *message, const char *detail_json)
{
	ereport(ERROR,
			(errcode(strcmp(code, "UNAUTHORIZED") == 0 ?
					 ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_RAISE_EXCEPTION),
			 errmsg_internal("%s", message),
			 cvx_errdetail_json(detail_json)));
	pg_unreachable();
}

/*
 * throw new ConvexError({code, message}): SQLSTATE 42501 for UNAUTHORIZED;
 * errmsg is the message, DETAIL the error's data as JSON.
 */
void
cvx_raise_convex_error(const char *code, const char *message)
{
	StringInfoData data;

	initStringInfo(&data);
	appendStringInfoString(&data, "{\"code\":");
	escape_json(&data, code);
	appendStringInfoString(&data, ",\"message\":");
	escape_json(&data, message);
	appendStringInfoChar(&data, '}');
	cvx_raise_convex_detail(code, message, data.data);
}

/* Is this caught error a ConvexError (raised by cvx_raise_convex_detail)? */
bool
cvx_is_convex_error(const ErrorData *edata)
{
	return edata->funcname != NULL && strcmp(edata->funcname, "cvx_raise_convex_detail") == 0;
}

/* The string value of a top-level key of a jsonb object, or NULL */
static char *
jsonb_object_string(Jsonb *object, const char *key)
{
	JsonbValue	k = {.type = jbvString};
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(object))
		return NULL;
	k.val.string.val = (char *) key;
	k.val.string.len = (int) strlen(key);
	v = findJsonbValueFromContainer(&object->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * convex_error(data jsonb): throw new ConvexError(data) from a handler.
 * Like the built-ins' UNAUTHORIZED: SQLSTATE 42501 when data.code is
 * "UNAUTHORIZED", else P0001; errmsg is data when it is a string, else
 * data.message when that is a string, else Convex's display of data;
 * DETAIL is data when it is an object with a string "code", else
 * {"code": "CONVEX_ERROR", "data": data}.
 */
Datum
convex_error(PG_FUNCTION_ARGS)
{
	Jsonb	   *data;
	char	   *data_text;
	char	   *code;
	char	   *message;
	CvxValue	value;

	cvx_require_argument(fcinfo, 0, "ConvexError data");
	data = PG_GETARG_JSONB_P(0);
	data_text = JsonbToCString(NULL, &data->root, VARSIZE(data));
	code = jsonb_object_string(data, "code");
	cvx_jsonb_value(data, &value);
	if (value.type == CVX_T_STRING)
		message = pnstrdup(value.str, value.len);
	else if ((message = jsonb_object_string(data, "message")) == NULL)
	{
		char	   *display = cvx_value_display(&value, &cvx_jsonb_ops, 4096);

		if (display == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while formatting a ConvexError")));
		message = pstrdup(display);
		free(display);
	}
	if (code != NULL)
		cvx_raise_convex_detail(code, message, data_text);
	cvx_raise_convex_detail("CONVEX_ERROR", message,
							psprintf("{\"code\": \"CONVEX_ERROR\", \"data\": %s}", data_text));
	PG_RETURN_VOID();
}

/* ctx.db.patch/replace/delete of a document that does not exist (P0002) */
void
cvx_raise_missing_document(const char *operation, const char *id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("%s on nonexistent document ID %s", operation, id)));
	pg_unreachable();
}

/*
 * A name as shown in an error message: at most 64 bytes of it (never
 * cutting a character), with "…" when it was longer.
 */
char *
cvx_clip_name(const char *name, size_t len)
{
	int			clipped = len > 64 ? pg_mbcliplen(name, (int) len, 64) : (int) len;

	return psprintf("%.*s%s", clipped, name, (size_t) clipped < len ? "…" : "");
}

/* Refuse a SQL NULL argument (22004) */
void
cvx_require_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}
