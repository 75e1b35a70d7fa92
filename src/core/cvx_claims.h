/*-------------------------------------------------------------------------
 *
 * cvx_claims.h
 *	  Reading the signed-in user out of a JWT claims document.
 *
 * Part of the convexlite core (no PostgreSQL needed).  PostgREST puts the
 * verified JWT claims in the setting request.jwt.claims; Convex Auth
 * subjects look like "<userId>|<sessionId>".
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_CLAIMS_H
#define CVX_CLAIMS_H

#include <stddef.h>

typedef enum CvxClaimsStatus
{
	CVX_CLAIMS_OK = 0,			/* *subject_len (> 0) bytes of subject are the user */
	CVX_CLAIMS_NO_SUBJECT,		/* valid JSON object without a "sub" key */
	CVX_CLAIMS_BAD_SUBJECT,		/* "sub" is present but not a string (null too) */
	CVX_CLAIMS_BAD_JSON,		/* not a JSON object */
	CVX_CLAIMS_TOO_LONG,		/* the subject does not fit out_size - 1 */
	CVX_CLAIMS_EMPTY_SUBJECT	/* "sub" is a string, empty before its first '|' */
} CvxClaimsStatus;

/*
 * Parse claims_len bytes of JSON and copy the part of "sub" before the
 * first '|' into out (NUL-terminated).  Only a missing "sub" key is "no
 * subject": a "sub" that is null, not a string, or a string with nothing
 * before its first '|' ("", "|session") is set but names nobody, and has a
 * status of its own, so that the caller can refuse it.
 */
extern CvxClaimsStatus cvx_claims_subject(const char *claims, size_t claims_len,
										  char *out, size_t out_size,
										  size_t *subject_len);

#endif							/* CVX_CLAIMS_H */
