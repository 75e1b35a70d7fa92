/*-------------------------------------------------------------------------
 *
 * test_claims.c
 *	  Unit tests for reading the subject of JWT claims (cvx_claims.c).
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "cvx_claims.h"

#include <string.h>

/* Run cvx_claims_subject on a C string with a 64-byte output */
static CvxClaimsStatus
subject(const char *claims, char out[64], size_t *len)
{
	return cvx_claims_subject(claims, strlen(claims), out, 64, len);
}

/* Subjects, missing subjects, bad JSON, lengths */
void
test_claims(void)
{
	char		out[64];
	size_t		len = 99;

	/* Convex Auth subjects: userId|sessionId */
	CHECK(subject("{\"sub\":\"j57abc|k99def\",\"iss\":\"x\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "j57abc");
	CHECK(len == 6);
	CHECK(subject("{\"sub\":\"a|b|c\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "a");
	CHECK(subject("{\"sub\":\"plain\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "plain");
	CHECK(len == 5);
	/* a sub that names nobody is set but invalid, not "signed out" */
	CHECK(subject("{\"sub\":\"\"}", out, &len) == CVX_CLAIMS_EMPTY_SUBJECT);
	CHECK_STR(out, "");
	CHECK(len == 0);
	CHECK(subject("{\"sub\":\"|session\"}", out, &len) == CVX_CLAIMS_EMPTY_SUBJECT);
	CHECK(len == 0 && out[0] == '\0');
	CHECK(subject("{\"sub\":\"|\"}", out, &len) == CVX_CLAIMS_EMPTY_SUBJECT);
	CHECK(cvx_claims_subject("{\"sub\":\"|x\"}", 12, NULL, 0, NULL) == CVX_CLAIMS_EMPTY_SUBJECT);
	CHECK(subject("{\"sub\":\"a|\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "a");
	CHECK(subject(" \n{\"sub\":\"x\"}\r\n\t ", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "x");
	CHECK(subject("{\"sub\":\"caf\\u00e9\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "caf\xc3\xa9");

	/* no sub key: no subject */
	CHECK(subject("{}", out, &len) == CVX_CLAIMS_NO_SUBJECT);
	CHECK(len == 0 && out[0] == '\0');
	CHECK(subject("{\"role\":\"anon\"}", out, &len) == CVX_CLAIMS_NO_SUBJECT);
	CHECK(subject("{\"sub\":123}", out, &len) == CVX_CLAIMS_BAD_SUBJECT);
	/* a sub that is there but not a string (null too) */
	CHECK(subject("{\"sub\":null}", out, &len) == CVX_CLAIMS_BAD_SUBJECT);
	CHECK(len == 0 && out[0] == '\0');
	CHECK(subject("{\"sub\":false}", out, &len) == CVX_CLAIMS_BAD_SUBJECT);
	CHECK(subject("{\"sub\":[\"a\"]}", out, &len) == CVX_CLAIMS_BAD_SUBJECT);
	CHECK(subject("{\"sub\":{\"a\":1}}", out, &len) == CVX_CLAIMS_BAD_SUBJECT);
	CHECK(subject("{\"Sub\":\"a\"}", out, &len) == CVX_CLAIMS_NO_SUBJECT);

	/* not a JSON object */
	CHECK(subject("", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("   ", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\"", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("[]", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("\"sub\"", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("null", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("12", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\"} x", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\"}{}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\"},", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{'sub':'a'}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\",}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{sub:\"a\"}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\xff\"}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(subject("{\"sub\":\"a\\u0000b\"}", out, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(cvx_claims_subject("{\"sub\":\"a\"}\0", 12, out, 64, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(cvx_claims_subject("{\"s\0b\":\"a\"}", 11, out, 64, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(cvx_claims_subject(NULL, 0, out, 64, &len) == CVX_CLAIMS_BAD_JSON);
	CHECK(cvx_claims_subject(NULL, 5, out, 64, &len) == CVX_CLAIMS_BAD_JSON);
	/* deeper than json-c's default depth */
	CHECK(subject("{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"sub\":\"a\"}",
				  out, &len) == CVX_CLAIMS_BAD_JSON);

	/* the length is explicit: what follows is not read */
	CHECK(cvx_claims_subject("{\"sub\":\"ab|c\"}garbage", 14, out, 64, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "ab");
	CHECK(cvx_claims_subject("{\"sub\":\"ab|c\"}", 10, out, 64, &len) == CVX_CLAIMS_BAD_JSON);

	/* too long for out */
	CHECK(cvx_claims_subject("{\"sub\":\"abcd\"}", 14, out, 4, &len) == CVX_CLAIMS_TOO_LONG);
	CHECK(len == 0 && out[0] == '\0');
	CHECK(cvx_claims_subject("{\"sub\":\"abc\"}", 13, out, 4, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "abc");
	CHECK(cvx_claims_subject("{\"sub\":\"abc|defgh\"}", 19, out, 4, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "abc");
	CHECK(cvx_claims_subject("{\"sub\":\"\"}", 10, out, 1, &len) == CVX_CLAIMS_EMPTY_SUBJECT);
	CHECK(cvx_claims_subject("{\"sub\":\"a\"}", 11, out, 1, &len) == CVX_CLAIMS_TOO_LONG);
	CHECK(cvx_claims_subject("{\"sub\":\"a\"}", 11, NULL, 0, &len) == CVX_CLAIMS_TOO_LONG);
	CHECK(cvx_claims_subject("{\"sub\":\"a\"}", 11, out, 64, NULL) == CVX_CLAIMS_OK);
	/* the last "sub" of duplicates counts, as json-c keeps it */
	CHECK(subject("{\"sub\":\"first\",\"sub\":\"second\"}", out, &len) == CVX_CLAIMS_OK);
	CHECK_STR(out, "second");
}
