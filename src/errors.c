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

PG_FUNCTION_INFO_V1(convex_error);

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
	ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", copy)));
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
			 errdetail_internal("%s", detail_json)));
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
