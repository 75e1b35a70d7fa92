/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  getAuthUserId: who is calling.
 *
 * The signed-in user is the setting convexlite.user_id (the application
 * runs SET LOCAL convexlite.user_id = '<Id<"users">>' in its transaction);
 * when that is unset or empty, the "sub" of PostgREST's request.jwt.claims
 * up to the first '|' (Convex Auth subjects are userId|sessionId).  Empty
 * means not signed in; anything else must be a valid Id<"users">.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "cvx_claims.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(convex_auth_user_id);

static char *user_id_setting = NULL;

/* The last claims text seen and the subject read from it */
static char *cached_claims = NULL;
static char cached_subject[CVX_ID_MAX_LENGTH + 2];
static size_t cached_subject_len = 0;
static CvxClaimsStatus cached_status = CVX_CLAIMS_NO_SUBJECT;

/* Register convexlite.user_id */
void
cvx_auth_init(void)
{
	DefineCustomStringVariable("convexlite.user_id",
							   "The signed-in user (an Id<\"users\">) for getAuthUserId.",
							   "Set it per transaction with SET LOCAL; empty means not signed in.",
							   &user_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
}

/* Read the subject out of request.jwt.claims, parsing each text once */
static const char *
claims_subject(size_t *len)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);

	if (claims == NULL || claims[0] == '\0')
		return NULL;
	if (cached_claims == NULL || strcmp(cached_claims, claims) != 0)
	{
		char	   *copy = MemoryContextStrdup(TopMemoryContext, claims);

		cached_status = cvx_claims_subject(claims, strlen(claims),
										   cached_subject, sizeof(cached_subject),
										   &cached_subject_len);
		if (cached_claims != NULL)
			pfree(cached_claims);
		cached_claims = copy;
	}
	switch (cached_status)
	{
		case CVX_CLAIMS_OK:
			*len = cached_subject_len;
			return cached_subject;
		case CVX_CLAIMS_NO_SUBJECT:
			return NULL;
		case CVX_CLAIMS_BAD_SUBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the sub claim in request.jwt.claims is not a string")));
			break;
		case CVX_CLAIMS_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the sub claim in request.jwt.claims is not a valid Id<\"users\">")));
			break;
		case CVX_CLAIMS_BAD_JSON:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("request.jwt.claims is not a JSON object")));
			break;
	}
	return NULL;
}

/* getAuthUserId(ctx): the caller's Id<"users">, or NULL when signed out */
text *
cvx_auth_user_id(void)
{
	const char *user_id = user_id_setting;
	size_t		len = user_id != NULL ? strlen(user_id) : 0;
	const char *source = "convexlite.user_id";
	CvxTable   *users;

	if (len == 0)
	{
		user_id = claims_subject(&len);
		source = "the sub claim of request.jwt.claims";
		if (user_id == NULL || len == 0)
			return NULL;
	}
	users = cvx_table_by_name("users", 5);
	if (users == NULL || !cvx_id_is_for_table(user_id, len, users))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s is not a valid Id<\"users\">: \"%.*s\"",
						source, (int) Min(len, 64), user_id),
				 errhint("Set it to the _id of a document in convex.users, or to '' for no user.")));
	return cstring_to_text_with_len(user_id, (int) len);
}

/* convex_auth_user_id(): getAuthUserId for SQL callers */
Datum
convex_auth_user_id(PG_FUNCTION_ARGS)
{
	text	   *user_id = cvx_auth_user_id();

	if (user_id == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(user_id);
}
