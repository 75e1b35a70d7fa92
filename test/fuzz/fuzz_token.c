/*-------------------------------------------------------------------------
 *
 * fuzz_token.c
 *	  libFuzzer harness for upload URLs and tokens (src/core/cvx_token.c).
 *
 * Checks, besides the sanitizers' "no crash, no over-read":
 *	  - cvx_upload_url_parse reads only the len bytes it is given (the
 *		input is copied into a malloc'd buffer of exactly len bytes);
 *	  - an accepted URL is at most CVX_UPLOAD_URL_MAX bytes, ends in the
 *		upload path and the token cvx_token_encode makes of the parsed
 *		random bytes, and its base has no spaces or control characters;
 *	  - round trip: <base from the input>/api/storage/upload?token=<encode
 *		(random bytes from the input)> parses back to the same bytes;
 *	  - changing any one character of a valid token, dropping its last
 *		character or appending one is refused (the Fletcher-16 footer
 *		catches every single-byte change).
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Abort unless cond holds (a property violation is a finding) */
static void
require(int cond)
{
	if (!cond)
		abort();
}

/* Parse exactly len bytes of url from a malloc'd copy without terminator */
static CvxTokenStatus
parse_exact(const char *url, size_t len, uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES])
{
	char	   *copy = malloc(len > 0 ? len : 1);
	CvxTokenStatus status;

	require(copy != NULL);
	if (len > 0)
		memcpy(copy, url, len);
	status = cvx_upload_url_parse(copy, len, random_bytes);
	free(copy);
	require(cvx_token_status_reason(status) != NULL);
	return status;
}

/* Arbitrary bytes: an accepted URL has exactly the promised shape */
static void
check_parse(const uint8_t *data, size_t size)
{
	uint8_t		random_bytes[CVX_TOKEN_RANDOM_BYTES];
	char		token[CVX_TOKEN_LENGTH + 1];
	size_t		path_len = strlen(CVX_UPLOAD_PATH);
	size_t		tail = path_len + CVX_TOKEN_LENGTH;
	size_t		i;

	if (parse_exact((const char *) data, size, random_bytes) != CVX_TOKEN_OK)
		return;
	require(size <= CVX_UPLOAD_URL_MAX && size >= tail);
	require(memcmp(data + size - tail, CVX_UPLOAD_PATH, path_len) == 0);
	cvx_token_encode(random_bytes, token);
	require(strlen(token) == CVX_TOKEN_LENGTH);
	require(memcmp(data + size - CVX_TOKEN_LENGTH, token, CVX_TOKEN_LENGTH) == 0);
	for (i = 0; i < size - tail; i++)
		require(data[i] > ' ' && data[i] != 0x7f);
}

/* Build a URL from the input's bytes; it parses back, and damage is refused */
static void
check_round_trip(const uint8_t *data, size_t size)
{
	uint8_t		random_bytes[CVX_TOKEN_RANDOM_BYTES];
	uint8_t		parsed[CVX_TOKEN_RANDOM_BYTES];
	char		token[CVX_TOKEN_LENGTH + 1];
	char		url[CVX_UPLOAD_URL_MAX + 2];
	size_t		path_len = strlen(CVX_UPLOAD_PATH);
	size_t		base_len;
	size_t		len;
	size_t		i;
	size_t		pos;
	char		saved;
	char		replacement;

	memset(random_bytes, 0, sizeof(random_bytes));
	memcpy(random_bytes, data, size < sizeof(random_bytes) ? size : sizeof(random_bytes));
	cvx_token_encode(random_bytes, token);
	require(strlen(token) == CVX_TOKEN_LENGTH);
	for (i = 0; i < CVX_TOKEN_LENGTH; i++)
		require(strchr("0123456789abcdef", token[i]) != NULL && token[i] != '\0');

	/* the base: the rest of the input, made printable without spaces */
	base_len = size > sizeof(random_bytes) ? size - sizeof(random_bytes) : 0;
	if (base_len > CVX_UPLOAD_URL_MAX - path_len - CVX_TOKEN_LENGTH)
		base_len = CVX_UPLOAD_URL_MAX - path_len - CVX_TOKEN_LENGTH;
	for (i = 0; i < base_len; i++)
	{
		unsigned char c = data[sizeof(random_bytes) + i];

		url[i] = (char) (c <= ' ' || c == 0x7f ? 'x' : c);
	}
	memcpy(url + base_len, CVX_UPLOAD_PATH, path_len);
	memcpy(url + base_len + path_len, token, CVX_TOKEN_LENGTH);
	len = base_len + path_len + CVX_TOKEN_LENGTH;
	require(len <= CVX_UPLOAD_URL_MAX);

	memset(parsed, 0, sizeof(parsed));
	require(parse_exact(url, len, parsed) == CVX_TOKEN_OK);
	require(memcmp(parsed, random_bytes, sizeof(parsed)) == 0);

	/* one changed token character is refused */
	pos = (size > 0 ? data[0] : 0) % CVX_TOKEN_LENGTH;
	replacement = (char) (size > 1 ? data[1] : 'g');
	saved = url[len - CVX_TOKEN_LENGTH + pos];
	if (replacement != saved)
	{
		url[len - CVX_TOKEN_LENGTH + pos] = replacement;
		require(parse_exact(url, len, parsed) != CVX_TOKEN_OK);
		url[len - CVX_TOKEN_LENGTH + pos] = saved;
	}

	/* truncated or extended tokens are refused */
	require(parse_exact(url, len - 1, parsed) != CVX_TOKEN_OK);
	url[len] = (char) (size > 2 ? data[2] : '0');
	require(parse_exact(url, len + 1, parsed) != CVX_TOKEN_OK);
}

/* libFuzzer entry point: parse the input, then round-trip its bytes */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_round_trip(data, size);
	return 0;
}
