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
 * are errors (42501, code INVALID_IDENTITY), never "signed out".
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "cvx_claims.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(convex_auth_user_id);
PG_FUNCTION_INFO_V1(convex_auth_identity);
PG_FUNCTION_INFO_V1(convex_set_user);

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

/* Refuse request.jwt.claims that are set but name nobody */
static void
refuse_claims(CvxClaimsStatus status)
{
	switch (status)
	{
		case CVX_CLAIMS_OK:
		case CVX_CLAIMS_NO_SUBJECT:
			break;
		case CVX_CLAIMS_BAD_SUBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
					 errmsg("the sub claim in request.jwt.claims is not a string"),
					 errhint("Leave the sub claim out for no user.")));
			break;
		case CVX_CLAIMS_EMPTY_SUBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
					 errmsg("the sub claim in request.jwt.claims names no user"),
					 errdetail("The part of sub before the first \"|\" is empty."),
					 errhint("Leave the sub claim out for no user.")));
			break;
		case CVX_CLAIMS_TOO_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
					 errmsg("the sub claim in request.jwt.claims is not a valid Id<\"users\">")));
			break;
		case CVX_CLAIMS_BAD_JSON:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
					 errmsg("request.jwt.claims is not a JSON object")));
			break;
	}
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
	if (cached_status == CVX_CLAIMS_OK)
	{
		*len = cached_subject_len;
		return cached_subject;
	}
	if (cached_status != CVX_CLAIMS_NO_SUBJECT)
		refuse_claims(cached_status);
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
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
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

/* ---------------------------------------------------------------------
 * ctx.auth.getUserIdentity()
 * ---------------------------------------------------------------------
 */

/* The OIDC standard claims and the UserIdentity fields Convex maps them to */
static const struct
{
	const char *claim;
	const char *field;
}			standard_claims[] =
{
	{"name", "name"},
	{"given_name", "givenName"},
	{"family_name", "familyName"},
	{"nickname", "nickname"},
	{"preferred_username", "preferredUsername"},
	{"profile", "profileUrl"},
	{"picture", "pictureUrl"},
	{"email", "email"},
	{"email_verified", "emailVerified"},
	{"gender", "gender"},
	{"birthdate", "birthday"},
	{"zoneinfo", "timezone"},
	{"locale", "language"},
	{"phone_number", "phoneNumber"},
	{"phone_number_verified", "phoneNumberVerified"},
	{"address", "address"},
	{"updated_at", "updatedAt"},
};

/* Registered JWT claims that are no part of a UserIdentity's custom claims */
static const char *const registered_claims[] = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti"};

/* Is key (len bytes) one of the names of a UserIdentity's own fields or of a claim they come from? */
static bool
identity_reserved_key(const char *key, int len)
{
	static const char *const own[] = {"tokenIdentifier", "subject", "issuer"};

	for (size_t i = 0; i < lengthof(own); i++)
		if ((int) strlen(own[i]) == len && memcmp(own[i], key, len) == 0)
			return true;
	for (size_t i = 0; i < lengthof(registered_claims); i++)
		if ((int) strlen(registered_claims[i]) == len && memcmp(registered_claims[i], key, len) == 0)
			return true;
	for (size_t i = 0; i < lengthof(standard_claims); i++)
		if (((int) strlen(standard_claims[i].claim) == len &&
			 memcmp(standard_claims[i].claim, key, len) == 0) ||
			((int) strlen(standard_claims[i].field) == len &&
			 memcmp(standard_claims[i].field, key, len) == 0))
			return true;
	return false;
}

/* Push "key": string */
static void
push_string_field(JsonbParseState **state, const char *key, const char *value, size_t len)
{
	JsonbValue	v = {.type = jbvString};

	cvx_push_key(state, key);
	v.val.string.val = (char *) value;
	v.val.string.len = (int) len;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* The value of a top-level key of a jsonb object, or NULL */
static JsonbValue *
claim_value(Jsonb *claims, const char *key)
{
	JsonbValue	k = {.type = jbvString};

	k.val.string.val = (char *) key;
	k.val.string.len = (int) strlen(key);
	return findJsonbValueFromContainer(&claims->root, JB_FOBJECT, &k);
}

/*
 * A UserIdentity from verified JWT claims: tokenIdentifier is
 * "<iss>|<sub>", subject the whole sub, issuer the iss claim (convexlite.url
 * when the claims have none), the OIDC standard claims under Convex's
 * names, and every other claim as it is (custom claims).
 */
static Jsonb *
identity_from_claims(const char *text)
{
	Jsonb	   *claims = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	JsonbParseState *state = NULL;
	JsonbValue *sub = claim_value(claims, "sub");
	JsonbValue *iss = claim_value(claims, "iss");
	JsonbIterator *it;
	JsonbIteratorToken token;
	JsonbValue	key;
	JsonbValue	value;
	char	   *issuer;
	size_t		issuer_len;

	Assert(sub != NULL && sub->type == jbvString);
	if (iss != NULL && iss->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), cvx_errcode_name("INVALID_IDENTITY"),
				 errmsg("the iss claim in request.jwt.claims is not a string"),
				 errhint("Leave the iss claim out for tokens issued at convexlite.url.")));
	if (iss != NULL)
	{
		issuer = pnstrdup(iss->val.string.val, iss->val.string.len);
		issuer_len = (size_t) iss->val.string.len;
	}
	else
	{
		issuer = cvx_site_url();
		issuer_len = strlen(issuer);
	}

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	/* custom claims first: a standard field of the same name wins below */
	it = JsonbIteratorInit(&claims->root);
	while ((token = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (token != WJB_KEY)
			continue;
		token = JsonbIteratorNext(&it, &value, true);
		Assert(token == WJB_VALUE);
		if (identity_reserved_key(key.val.string.val, key.val.string.len))
			continue;
		pushJsonbValue(&state, WJB_KEY, &key);
		pushJsonbValue(&state, WJB_VALUE, &value);
	}
	for (size_t i = 0; i < lengthof(standard_claims); i++)
	{
		JsonbValue *v = claim_value(claims, standard_claims[i].claim);

		if (v == NULL)
			continue;
		cvx_push_key(&state, standard_claims[i].field);
		pushJsonbValue(&state, WJB_VALUE, v);
	}
	{
		StringInfoData token_identifier;

		initStringInfo(&token_identifier);
		appendBinaryStringInfo(&token_identifier, issuer, (int) issuer_len);
		appendStringInfoChar(&token_identifier, '|');
		appendBinaryStringInfo(&token_identifier, sub->val.string.val, sub->val.string.len);
		push_string_field(&state, "tokenIdentifier", token_identifier.data,
						  (size_t) token_identifier.len);
	}
	push_string_field(&state, "subject", sub->val.string.val, (size_t) sub->val.string.len);
	push_string_field(&state, "issuer", issuer, issuer_len);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * convex_auth_identity(): ctx.auth.getUserIdentity().  NULL when signed
 * out (and in scheduled jobs); the user of convexlite.user_id (set by the
 * application server, e.g. with convex_set_user) as a UserIdentity issued
 * at convexlite.url; otherwise the UserIdentity of request.jwt.claims.
 * Claims that are set but bad are refused as by getAuthUserId; their sub
 * need not be an Id<"users"> (any identity provider's subject will do).
 */
Datum
convex_auth_identity(PG_FUNCTION_ARGS)
{
	const char *claims;
	CvxClaimsStatus status;
	char		subject[CVX_ID_MAX_LENGTH + 2];
	size_t		subject_len;

	if (anonymous_job)
		PG_RETURN_NULL();
	if (user_id_setting != NULL && user_id_setting[0] != '\0')
	{
		text	   *user_id = cvx_auth_user_id();
		char	   *issuer = cvx_site_url();
		char	   *id = text_to_cstring(user_id);
		JsonbParseState *state = NULL;
		char	   *token_identifier = psprintf("%s|%s", issuer, id);

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_string_field(&state, "tokenIdentifier", token_identifier, strlen(token_identifier));
		push_string_field(&state, "subject", id, strlen(id));
		push_string_field(&state, "issuer", issuer, strlen(issuer));
		PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
	}
	claims = GetConfigOption("request.jwt.claims", true, false);
	if (claims == NULL || claims[0] == '\0')
		PG_RETURN_NULL();
	status = cvx_claims_subject(claims, strlen(claims), subject, sizeof(subject), &subject_len);
	if (status == CVX_CLAIMS_NO_SUBJECT)
		PG_RETURN_NULL();
	if (status != CVX_CLAIMS_OK && status != CVX_CLAIMS_TOO_LONG)
		refuse_claims(status);
	PG_RETURN_JSONB_P(identity_from_claims(claims));
}

/*
 * convex_set_user(user_id text): the signed-in user for the rest of the
 * current transaction (set_config('convexlite.user_id', id, true)), so a
 * bound parameter can carry it and a transaction-mode pooler never hands
 * it to another client.  NULL or '' signs out.  The id is checked at once.
 */
Datum
convex_set_user(PG_FUNCTION_ARGS)
{
	char	   *id = PG_ARGISNULL(0) ? pstrdup("") : text_to_cstring(PG_GETARG_TEXT_PP(0));

	(void) set_config_option("convexlite.user_id", id, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	if (id[0] != '\0')
		(void) cvx_auth_user_id();
	PG_RETURN_VOID();
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
