/*-------------------------------------------------------------------------
 *
 * users.c
 *	  The seed app's users module: users.current, users.get and
 *	  users.updateProfile.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(convex_users_update_profile);
PG_FUNCTION_INFO_V1(convex_users_current);
PG_FUNCTION_INFO_V1(convex_users_get);

/* args: {name: v.optional(v.string()), image: v.optional(v.string())} */
const char *const cvx_users_update_profile_args =
"{\"type\":\"object\",\"value\":{"
"\"name\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true},"
"\"image\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

static CvxValidator *update_profile_validator = NULL;
static SPIPlanPtr patch_profile_plan = NULL;

/*
 * ctx.db.patch(userId, {name?, image?}) as one statement: each field is
 * set only when it was passed.  Both fields are optional strings, so the
 * patched document always matches the users schema.
 */
static SPIPlanPtr
get_patch_profile_plan(void)
{
	Oid			argtypes[5] = {TEXTOID, BOOLOID, TEXTOID, BOOLOID, TEXTOID};

	if (patch_profile_plan == NULL)
		patch_profile_plan = cvx_prepare(
										 "UPDATE convex.users SET "
										 "name = CASE WHEN $2 THEN $3 ELSE name END, "
										 "image = CASE WHEN $4 THEN $5 ELSE image END "
										 "WHERE _id OPERATOR(pg_catalog.=) $1 "
										 "RETURNING _id, _creation_time, name, email, image, "
										 "email_verification_time, phone, phone_verification_time, "
										 "is_anonymous",
										 5, argtypes);
	return patch_profile_plan;
}

/*
 * convex_users_update_profile(args): update the signed-in user's name
 * and/or image.  UNAUTHORIZED (42501) when nobody is signed in.
 */
Datum
convex_users_update_profile(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	name;
	CvxValue	image;
	bool		has_name;
	bool		has_image;
	text	   *user_id;

	cvx_read_args(fcinfo, &update_profile_validator, cvx_users_update_profile_args, &args);

	user_id = cvx_auth_user_id();
	if (user_id == NULL)
		cvx_raise_convex_error("UNAUTHORIZED",
							   "You must be logged in to update your profile");

	has_name = cvx_args_field(&args, "name", &name);
	has_image = cvx_args_field(&args, "image", &image);
	if (has_name || has_image)
	{
		Datum		values[5];
		CvxTable   *users = cvx_builtin_table("users");

		values[0] = PointerGetDatum(user_id);
		values[1] = BoolGetDatum(has_name);
		values[2] = has_name ? PointerGetDatum(cvx_value_text(&name)) : (Datum) 0;
		values[3] = BoolGetDatum(has_image);
		values[4] = has_image ? PointerGetDatum(cvx_value_text(&image)) : (Datum) 0;

		cvx_spi_connect();
		if (cvx_write(users, CVX_WRITE_PATCH, get_patch_profile_plan(), values,
					  has_name ? (has_image ? "     " : "    n") :
					  (has_image ? "  n  " : "  n n")) == 0)
			cvx_raise_missing_document("Update", text_to_cstring(user_id));
		cvx_spi_finish();
	}
	PG_RETURN_VOID();
}

/* users.current's args: {} */
static const char *const current_args = "{\"type\":\"object\",\"value\":{}}";

/* users.get's args: {userId: v.id("users")} */
static const char *const get_args =
"{\"type\":\"object\",\"value\":{"
"\"userId\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"users\"},\"optional\":false}}}";

#define OPTIONAL_FIELD(name, type) \
"\"" name "\":{\"fieldType\":{\"type\":\"" type "\"},\"optional\":true}"

/*
 * users.current's returns: v.union(userValidator, v.null()), the app's
 * userValidator (the users schema without phone and phoneVerificationTime)
 */
static const char *const current_returns =
"{\"type\":\"union\",\"value\":[{\"type\":\"object\",\"value\":{"
"\"_id\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"users\"},\"optional\":false},"
"\"_creationTime\":{\"fieldType\":{\"type\":\"number\"},\"optional\":false},"
OPTIONAL_FIELD("name", "string") ","
OPTIONAL_FIELD("email", "string") ","
OPTIONAL_FIELD("image", "string") ","
OPTIONAL_FIELD("emailVerificationTime", "number") ","
OPTIONAL_FIELD("isAnonymous", "boolean")
"}},{\"type\":\"null\"}]}";

static CvxValidator *current_validator = NULL;
static CvxValidator *current_returns_validator = NULL;
static CvxValidator *get_validator = NULL;

/*
 * ctx.db.get(userId) on users: the document in the caller's memory
 * context, or NULL.  With public_only, only {_id, name?, image?}, the
 * fields users.get returns.
 */
static Jsonb *
read_user(text *user_id, bool public_only)
{
	MemoryContext caller_context = CurrentMemoryContext;
	CvxTable   *users = cvx_builtin_table("users");
	HeapTuple	row;
	TupleDesc	tupdesc;
	Jsonb	   *result = NULL;

	cvx_spi_connect();
	row = cvx_db_get_row(users, user_id, false, &tupdesc);
	if (row != NULL)
	{
		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

		if (!public_only)
			result = cvx_row_to_document(users, row, tupdesc);
		else
		{
			JsonbParseState *state = NULL;
			static const char *const fields[] = {"name", "image"};
			JsonbValue	jbv;
			bool		isnull;

			pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
			cvx_push_key(&state, "_id");
			jbv.type = jbvString;
			jbv.val.string.val = VARDATA_ANY(user_id);
			jbv.val.string.len = VARSIZE_ANY_EXHDR(user_id);
			pushJsonbValue(&state, WJB_VALUE, &jbv);
			for (size_t i = 0; i < lengthof(fields); i++)
			{
				Datum		value = SPI_getbinval(row, tupdesc,
												  cvx_column_index(users, fields[i]) + 3,
												  &isnull);
				text	   *t;

				/* an absent field stays absent, as undefined in the app's object */
				if (isnull)
					continue;
				t = DatumGetTextPP(value);
				cvx_push_key(&state, fields[i]);
				jbv.type = jbvString;
				jbv.val.string.val = VARDATA_ANY(t);
				jbv.val.string.len = VARSIZE_ANY_EXHDR(t);
				pushJsonbValue(&state, WJB_VALUE, &jbv);
			}
			result = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		}
		MemoryContextSwitchTo(spi_context);
	}
	cvx_spi_finish();
	return result;
}

/*
 * users.current: the signed-in user's document, or null when nobody is
 * signed in (or the user is gone).  The app's returns validator applies:
 * a user with a phone number fails it, as it would in the app.
 */
static Jsonb *
users_current(FunctionCallInfo fcinfo)
{
	CvxValue	args;
	text	   *user_id;
	Jsonb	   *result;

	/* the SQL function takes no arguments; convex_query passes {} */
	if (PG_NARGS() > 0)
		cvx_read_args(fcinfo, &current_validator, current_args, &args);
	user_id = cvx_auth_user_id();
	if (user_id == NULL)
		return cvx_jsonb_null();
	result = read_user(user_id, false);
	if (result == NULL)
		return cvx_jsonb_null();
	if (current_returns_validator == NULL)
		current_returns_validator = cvx_compile_constant(current_returns);
	cvx_check_query_returns(current_returns_validator, result);
	return result;
}

/* convex_users_current(): users.current -> Doc<"users"> | null */
Datum
convex_users_current(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "users:current", users_current);
}

/* users.get: a user's public profile {_id, name?, image?}, or null */
static Jsonb *
users_get(FunctionCallInfo fcinfo)
{
	CvxValue	args;
	CvxValue	user_id;
	Jsonb	   *result;

	cvx_read_args(fcinfo, &get_validator, get_args, &args);
	(void) cvx_args_field(&args, "userId", &user_id);
	result = read_user(cvx_value_text(&user_id), true);
	return result != NULL ? result : cvx_jsonb_null();
}

/* convex_users_get(args): users.get, {userId} -> {_id, name?, image?} | null */
Datum
convex_users_get(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "users:get", users_get);
}
