/*-------------------------------------------------------------------------
 *
 * cvx_token.h
 *	  Upload URLs: the single-use token they carry, and strict parsing.
 *
 * Part of the convexlite core (no PostgreSQL).  An upload URL is
 *
 *	  <base>/api/storage/upload?token=<token>
 *
 * where <base> is whatever convexlite.url was when the URL was made (it is
 * not checked: a proxy may rewrite it) and <token> is 36 lowercase hex
 * digits: 16 random bytes and a 2-byte Fletcher-16 footer, little-endian,
 * so a mistyped or truncated token is refused without a table lookup.
 * The server stores only a hash of the random bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_TOKEN_H
#define CVX_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define CVX_TOKEN_RANDOM_BYTES 16
#define CVX_TOKEN_LENGTH 36		/* hex digits */
#define CVX_UPLOAD_PATH "/api/storage/upload?token="
/* Longest upload URL accepted (a base of up to 1 kB) */
#define CVX_UPLOAD_URL_MAX 2048

/* Why a string is not an upload URL */
typedef enum CvxTokenStatus
{
	CVX_TOKEN_OK = 0,
	CVX_TOKEN_TOO_LONG,			/* longer than CVX_UPLOAD_URL_MAX */
	CVX_TOKEN_BAD_SHAPE,		/* not <base>/api/storage/upload?token=<token> */
	CVX_TOKEN_BAD_BASE,			/* control characters or spaces in <base> */
	CVX_TOKEN_BAD_LENGTH,		/* the token is not 36 characters */
	CVX_TOKEN_BAD_CHARACTER,	/* not a lowercase hex digit */
	CVX_TOKEN_BAD_FOOTER		/* checksum does not match */
} CvxTokenStatus;

/*
 * Write the token for these random bytes into out, which must hold
 * CVX_TOKEN_LENGTH + 1 bytes (NUL-terminated).
 */
extern void cvx_token_encode(const uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES],
							 char *out);

/*
 * Strictly parse len bytes of an upload URL (no NUL needed); on success
 * fills random_bytes with the token's random part.
 */
extern CvxTokenStatus cvx_upload_url_parse(const char *url, size_t len,
										   uint8_t random_bytes[CVX_TOKEN_RANDOM_BYTES]);

/* A short English reason for a status */
extern const char *cvx_token_status_reason(CvxTokenStatus status);

#endif							/* CVX_TOKEN_H */
