/*-------------------------------------------------------------------------
 *
 * test_token.c
 *	  Unit tests for upload URLs and their tokens (cvx_token.c).
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "cvx_token.h"

#include <stdio.h>
#include <string.h>

/* Parse a C string */
static CvxTokenStatus
parse(const char *url, uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES])
{
	return cvx_upload_url_parse(url, strlen(url), random_bytes);
}

/* A token round-trips through a URL with any base, and only exactly */
static void
test_token_roundtrip(void)
{
	uint8_t		random_bytes[CVX_TOKEN_RANDOM_BYTES];
	uint8_t		decoded[CVX_TOKEN_RANDOM_BYTES];
	char		token[CVX_TOKEN_LENGTH + 1];
	char		url[256];
	int			i;

	for (i = 0; i < CVX_TOKEN_RANDOM_BYTES; i++)
		random_bytes[i] = (uint8_t) (i * 37 + 11);
	cvx_token_encode(random_bytes, token);
	CHECK(strlen(token) == CVX_TOKEN_LENGTH);
	/* Fletcher-16 of these bytes is 0x2008 (computed separately in Python): 08 20 */
	CHECK_STR(token + 32, "0820");

	snprintf(url, sizeof(url), "http://127.0.0.1:3210/api/storage/upload?token=%s", token);
	memset(decoded, 0, sizeof(decoded));
	CHECK(parse(url, decoded) == CVX_TOKEN_OK);
	CHECK(memcmp(decoded, random_bytes, sizeof(decoded)) == 0);

	/* an empty base, and a base that itself holds the path */
	snprintf(url, sizeof(url), "/api/storage/upload?token=%s", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_OK);
	snprintf(url, sizeof(url), "https://x/api/storage/upload?token=/api/storage/upload?token=%s", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_OK);

	/* every single-digit change is caught */
	for (i = 0; i < CVX_TOKEN_LENGTH; i++)
	{
		char		bad[CVX_TOKEN_LENGTH + 1];

		memcpy(bad, token, sizeof(bad));
		bad[i] = bad[i] == '0' ? '1' : '0';
		snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%s", bad);
		CHECK(parse(url, decoded) == CVX_TOKEN_BAD_FOOTER);
	}
}

/* Malformed URLs, each with its reason */
static void
test_token_malformed(void)
{
	uint8_t		random_bytes[CVX_TOKEN_RANDOM_BYTES] = {0};
	uint8_t		decoded[CVX_TOKEN_RANDOM_BYTES];
	char		token[CVX_TOKEN_LENGTH + 1];
	char		url[4096];

	cvx_token_encode(random_bytes, token);
	CHECK_STR(token, "000000000000000000000000000000000000");
	CHECK(parse("", decoded) == CVX_TOKEN_BAD_SHAPE);
	CHECK(parse("http://h/api/storage/upload", decoded) == CVX_TOKEN_BAD_SHAPE);
	CHECK(parse("http://h/api/storage/upload?token", decoded) == CVX_TOKEN_BAD_SHAPE);
	CHECK(parse("http://h/api/storage/upload?token=", decoded) == CVX_TOKEN_BAD_LENGTH);
	CHECK(parse(token, decoded) == CVX_TOKEN_BAD_SHAPE);
	snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%s&x=1", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_LENGTH);
	snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%s ", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_LENGTH);
	snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%.35s", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_LENGTH);
	snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%.35sG", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_CHARACTER);
	snprintf(url, sizeof(url), "http://h/api/storage/upload?token=%.35sA", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_CHARACTER);
	snprintf(url, sizeof(url), "http://h x/api/storage/upload?token=%s", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_BASE);
	snprintf(url, sizeof(url), "http://h\n/api/storage/upload?token=%s", token);
	CHECK(parse(url, decoded) == CVX_TOKEN_BAD_BASE);
	/* an embedded NUL is a control character, not an end */
	memcpy(url, "h\0/api/storage/upload?token=", 28);
	memcpy(url + 28, token, CVX_TOKEN_LENGTH);
	CHECK(cvx_upload_url_parse(url, 28 + CVX_TOKEN_LENGTH, decoded) == CVX_TOKEN_BAD_BASE);
	/* too long, whatever it holds */
	memset(url, 'a', sizeof(url));
	CHECK(cvx_upload_url_parse(url, CVX_UPLOAD_URL_MAX + 1, decoded) == CVX_TOKEN_TOO_LONG);
	CHECK(cvx_upload_url_parse(url, CVX_UPLOAD_URL_MAX, decoded) == CVX_TOKEN_BAD_SHAPE);
	CHECK_CONTAINS(cvx_token_status_reason(CVX_TOKEN_BAD_FOOTER), "checksum");
}

/* The group */
void
test_token(void)
{
	test_token_roundtrip();
	test_token_malformed();
}
