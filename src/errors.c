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
	ereport(ERROR,
			(errcode(strcmp(code, "UNAUTHORIZED") == 0 ?
					 ERRCODE_INSUFFICIENT_PRIVILEGE : ERRCODE_RAISE_EXCEPTION),
			 errmsg_internal("%s", message),
			 errdetail_internal("%s", data.data)));
	pg_unreachable();
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
