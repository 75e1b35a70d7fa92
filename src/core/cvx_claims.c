/*-------------------------------------------------------------------------
 *
 * cvx_claims.c
 *	  Reading the signed-in user out of a JWT claims document.
 *
 * The claims are parsed strictly with json-c (RFC 8259 only, valid UTF-8,
 * nothing but whitespace after the object).  A NUL byte anywhere, in the
 * text or in the subject, makes the claims BAD_JSON: a subject must never
 * be read shorter than it is.
 *
 * Part of the convexlite core: plain C11 and json-c, no PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_claims.h"

#include <stdint.h>
#include <string.h>

#include <json.h>

/* Parse claims_len bytes of JSON and copy "sub" up to the first '|' */
CvxClaimsStatus
cvx_claims_subject(const char *claims, size_t claims_len,
				   char *out, size_t out_size, size_t *subject_len)
{
	struct json_tokener *tok;
	struct json_object *json;
	struct json_object *sub;
	CvxClaimsStatus status;
	const char *s;
	const char *bar;
	size_t		len;
	size_t		end;

	if (out != NULL && out_size > 0)
		out[0] = '\0';
	if (subject_len != NULL)
		*subject_len = 0;
	if (claims == NULL || claims_len == 0 || claims_len > (size_t) INT32_MAX ||
		memchr(claims, '\0', claims_len) != NULL)
		return CVX_CLAIMS_BAD_JSON;

	tok = json_tokener_new();
	if (tok == NULL)
		return CVX_CLAIMS_BAD_JSON;
#ifdef JSON_TOKENER_VALIDATE_UTF8
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
#else
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
#endif
	json = json_tokener_parse_ex(tok, claims, (int) claims_len);
	if (json == NULL || json_tokener_get_error(tok) != json_tokener_success)
	{
		json_object_put(json);
		json_tokener_free(tok);
		return CVX_CLAIMS_BAD_JSON;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < claims_len && strchr(" \t\r\n", claims[end]) != NULL)
		end++;
	if (end != claims_len || !json_object_is_type(json, json_type_object))
	{
		json_object_put(json);
		return CVX_CLAIMS_BAD_JSON;
	}

	/* only an absent sub is "signed out"; null or any other non-string is bad */
	if (!json_object_object_get_ex(json, "sub", &sub))
	{
		json_object_put(json);
		return CVX_CLAIMS_NO_SUBJECT;
	}
	if (!json_object_is_type(sub, json_type_string))
	{
		json_object_put(json);
		return CVX_CLAIMS_BAD_SUBJECT;
	}
	s = json_object_get_string(sub);
	len = (size_t) json_object_get_string_len(sub);
	bar = memchr(s, '|', len);
	if (bar != NULL)
		len = (size_t) (bar - s);

	if (memchr(s, '\0', len) != NULL)
		status = CVX_CLAIMS_BAD_JSON;
	else if (len == 0)
		status = CVX_CLAIMS_EMPTY_SUBJECT;
	else if (out == NULL || out_size == 0 || len > out_size - 1)
		status = CVX_CLAIMS_TOO_LONG;
	else
	{
		if (len > 0)
			memcpy(out, s, len);
		out[len] = '\0';
		if (subject_len != NULL)
			*subject_len = len;
		status = CVX_CLAIMS_OK;
	}
	json_object_put(json);
	return status;
}
