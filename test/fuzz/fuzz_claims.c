/*-------------------------------------------------------------------------
 *
 * fuzz_claims.c
 *	  libFuzzer harness for reading the subject of JWT claims
 *	  (src/core/cvx_claims.c).
 *
 * Checks, besides the sanitizers' "no crash, no over-read, no leak":
 *	  - cvx_claims_subject reads only the claims_len bytes it is given
 *		(a malloc'd copy of exactly that many bytes, no NUL);
 *	  - input containing a NUL byte is BAD_JSON;
 *	  - a subject is NUL-terminated, *subject_len long (never 0: an empty
 *		one is EMPTY_SUBJECT), without '|' or NUL;
 *	  - the output buffer size only decides OK against TOO_LONG: a buffer
 *		of subject_len + 1 bytes gives the same subject, one byte less
 *		gives TOO_LONG, and every other status does not depend on it.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_claims.h"

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

/* cvx_claims_subject on a malloc'd copy of exactly size bytes */
static CvxClaimsStatus
subject_exact(const uint8_t *data, size_t size, char *out, size_t out_size,
			  size_t *subject_len)
{
	char	   *copy = malloc(size > 0 ? size : 1);
	CvxClaimsStatus status;

	require(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	status = cvx_claims_subject(copy, size, out, out_size, subject_len);
	free(copy);
	return status;
}

/* libFuzzer entry point: the subject, with buffers of several sizes */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		big_size = size + 1;
	char	   *big = malloc(big_size);
	char	   *exact;
	size_t		len = (size_t) -1;
	size_t		len2 = (size_t) -1;
	CvxClaimsStatus status;
	CvxClaimsStatus status2;

	require(big != NULL);
	status = subject_exact(data, size, big, big_size, &len);
	if (size > 0 && memchr(data, '\0', size) != NULL)
		require(status == CVX_CLAIMS_BAD_JSON);
	/* a subject is never longer than its claims, so this buffer fits it */
	require(status != CVX_CLAIMS_TOO_LONG);

	if (status == CVX_CLAIMS_OK)
	{
		require(len > 0 && len < big_size && strlen(big) == len);
		require(memchr(big, '|', len) == NULL);

		/* exactly enough room: the same subject */
		exact = malloc(len + 1);
		require(exact != NULL);
		memset(exact, 'Z', len + 1);
		status2 = subject_exact(data, size, exact, len + 1, &len2);
		require(status2 == CVX_CLAIMS_OK && len2 == len);
		require(memcmp(exact, big, len + 1) == 0);

		/* one byte short (or no buffer at all): too long */
		status2 = subject_exact(data, size, exact, len, &len2);
		require(status2 == CVX_CLAIMS_TOO_LONG && len2 == 0);
		require(len == 0 || exact[0] == '\0');
		free(exact);
		require(subject_exact(data, size, NULL, 0, NULL) == CVX_CLAIMS_TOO_LONG);
	}
	else
	{
		require(len == 0 && big[0] == '\0');
		/* without a buffer the answer is the same */
		require(subject_exact(data, size, NULL, 0, NULL) == status);
	}
	free(big);
	return 0;
}
