/*-------------------------------------------------------------------------
 *
 * cvx_token.c
 *	  Upload URLs: encoding the token and parsing a URL strictly.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_token.h"

#include <string.h>

#include "cvx_id.h"

static const char hex_digits[] = "0123456789abcdef";

/* The value of a lowercase hex digit, or -1 */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 16 random bytes and their footer, as 36 hex digits */
void
cvx_token_encode(const uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES], char *out)
{
	uint8_t		bytes[CVX_TOKEN_RANDOM_BYTES + 2];
	uint16_t	footer = cvx_fletcher16(random_bytes, CVX_TOKEN_RANDOM_BYTES);
	size_t		i;

	memcpy(bytes, random_bytes, CVX_TOKEN_RANDOM_BYTES);
	bytes[CVX_TOKEN_RANDOM_BYTES] = (uint8_t) (footer & 0xff);
	bytes[CVX_TOKEN_RANDOM_BYTES + 1] = (uint8_t) (footer >> 8);
	for (i = 0; i < sizeof(bytes); i++)
	{
		out[2 * i] = hex_digits[bytes[i] >> 4];
		out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
	}
	out[CVX_TOKEN_LENGTH] = '\0';
}

/* Decode and check a token of exactly len characters */
static CvxTokenStatus
token_decode(const char *token, size_t len,
			 uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES])
{
	uint8_t		bytes[CVX_TOKEN_RANDOM_BYTES + 2];
	uint16_t	footer;
	size_t		i;

	if (len != CVX_TOKEN_LENGTH)
		return CVX_TOKEN_BAD_LENGTH;
	for (i = 0; i < sizeof(bytes); i++)
	{
		int			high = hex_value((unsigned char) token[2 * i]);
		int			low = hex_value((unsigned char) token[2 * i + 1]);

		if (high < 0 || low < 0)
			return CVX_TOKEN_BAD_CHARACTER;
		bytes[i] = (uint8_t) (high << 4 | low);
	}
	footer = (uint16_t) (bytes[CVX_TOKEN_RANDOM_BYTES] |
						 bytes[CVX_TOKEN_RANDOM_BYTES + 1] << 8);
	if (footer != cvx_fletcher16(bytes, CVX_TOKEN_RANDOM_BYTES))
		return CVX_TOKEN_BAD_FOOTER;
	memcpy(random_bytes, bytes, CVX_TOKEN_RANDOM_BYTES);
	return CVX_TOKEN_OK;
}

/*
 * <base>/api/storage/upload?token=<token>: the path is found from the
 * right (its last occurrence), so nothing may follow the token; the base
 * may be anything printable without spaces, including empty.
 */
CvxTokenStatus
cvx_upload_url_parse(const char *url, size_t len,
					 uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES])
{
	size_t		path_len = strlen(CVX_UPLOAD_PATH);
	size_t		base_len;
	size_t		i;
	const char *found = NULL;

	if (len > CVX_UPLOAD_URL_MAX)
		return CVX_TOKEN_TOO_LONG;
	for (i = len >= path_len ? len - path_len + 1 : 0; i-- > 0;)
	{
		if (memcmp(url + i, CVX_UPLOAD_PATH, path_len) == 0)
		{
			found = url + i;
			break;
		}
	}
	if (found == NULL)
		return CVX_TOKEN_BAD_SHAPE;
	base_len = (size_t) (found - url);
	for (i = 0; i < base_len; i++)
	{
		unsigned char c = (unsigned char) url[i];

		if (c <= ' ' || c == 0x7f)
			return CVX_TOKEN_BAD_BASE;
	}
	return token_decode(found + path_len, len - base_len - path_len, random_bytes);
}

/* Why a URL was refused, for error messages */
const char *
cvx_token_status_reason(CvxTokenStatus status)
{
	switch (status)
	{
		case CVX_TOKEN_OK:
			return "valid";
		case CVX_TOKEN_TOO_LONG:
			return "it is too long";
		case CVX_TOKEN_BAD_SHAPE:
			return "it does not end in /api/storage/upload?token=<token>";
		case CVX_TOKEN_BAD_BASE:
			return "it contains spaces or control characters";
		case CVX_TOKEN_BAD_LENGTH:
			return "its token is not 36 characters long";
		case CVX_TOKEN_BAD_CHARACTER:
			return "its token has a character that is not a lowercase hex digit";
		case CVX_TOKEN_BAD_FOOTER:
			return "its token's checksum does not match";
	}
	return "unknown reason";
}
