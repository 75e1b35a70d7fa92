/*-------------------------------------------------------------------------
 *
 * users.c
 *	  The seed app's users module: users.updateProfile.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(convex_users_update_profile);

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
