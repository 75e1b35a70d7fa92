/*-------------------------------------------------------------------------
 *
 * auth.c
 *	  getAuthUserId: who is calling; and who may remove a document.
 *
 * The signed-in user is the setting convexlite.user_id (the application
 * runs SET LOCAL convexlite.user_id = '<Id<"users">>' in its transaction);
 * when that is unset or empty, the "sub" of PostgREST's request.jwt.claims
 * up to the first '|' (Convex Auth subjects are userId|sessionId).  Not
 * signed in means: convexlite.user_id empty and request.jwt.claims unset,
 * empty, or a JSON object without a "sub" key.  Everything else that is
 * set must name a valid Id<"users">: a "sub" that is null, not a string,
 * empty or empty before its '|', and claims that are not a JSON object,
 * are errors (28000), never "signed out".
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

/* A scheduled job is running: nobody is signed in, whatever the settings */
static bool anonymous_job = false;

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
					 errmsg("the sub claim in request.jwt.claims is not a string"),
					 errhint("Leave the sub claim out for no user.")));
			break;
		case CVX_CLAIMS_EMPTY_SUBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("the sub claim in request.jwt.claims names no user"),
					 errdetail("The part of sub before the first \"|\" is empty."),
					 errhint("Leave the sub claim out for no user.")));
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

	if (anonymous_job)
		return NULL;
	if (len == 0)
	{
		user_id = claims_subject(&len);
		source = "the sub claim of request.jwt.claims";
		if (user_id == NULL)
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

/*
 * Scheduled jobs run without the scheduling caller's identity (Convex does
 * not pass auth on): while one runs, getAuthUserId is NULL.
 */
void
cvx_auth_set_anonymous(bool anonymous)
{
	anonymous_job = anonymous;
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

/* Are a text and a string equal? */
static bool
text_equals(text *a, const char *b, size_t b_len)
{
	return VARSIZE_ANY_EXHDR(a) == b_len && memcmp(VARDATA_ANY(a), b, b_len) == 0;
}

/*
 * The seed's ownership rule for messages.remove and files.remove: a
 * document may be removed when it has no userId, or it is the signed-in
 * user's, or it has a non-empty sessionId equal to the one passed
 * (session_id NULL when none was).  row is the table's full row.
 */
bool
cvx_may_remove(CvxTable *table, HeapTuple row, TupleDesc tupdesc, text *user_id,
			   const CvxValue *session_id)
{
	bool		owner_null;
	bool		session_null;
	Datum		owner = SPI_getbinval(row, tupdesc,
									  cvx_column_index(table, "userId") + 3,
									  &owner_null);
	Datum		session = SPI_getbinval(row, tupdesc,
										cvx_column_index(table, "sessionId") + 3,
										&session_null);

	if (owner_null)
		return true;
	if (user_id != NULL &&
		text_equals(DatumGetTextPP(owner), VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id)))
		return true;
	return !session_null && session_id != NULL &&
		VARSIZE_ANY_EXHDR(DatumGetTextPP(session)) > 0 &&
		text_equals(DatumGetTextPP(session), session_id->str, session_id->len);
}
