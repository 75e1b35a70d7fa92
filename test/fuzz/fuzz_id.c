/*-------------------------------------------------------------------------
 *
 * fuzz_id.c
 *	  libFuzzer harness for the id codec (src/core/cvx_id.c).
 *
 * Checks, besides the sanitizers' "no crash, no over-read":
 *	  - cvx_id_decode reads only the len bytes it is given (the input is
 *		copied into a malloc'd buffer of exactly len bytes, no NUL);
 *	  - every prefix of the input decodes without reading past its end;
 *	  - a string that decodes re-encodes to the identical string (decoding
 *		is strict: one spelling per id), and consists of alphabet characters;
 *	  - encode(any table number, any internal bytes) gives 31..37 alphabet
 *		characters that decode back to the same table number and bytes;
 *	  - cvx_id_make_internal keeps the random bytes and the day number.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_id.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* Abort unless cond holds (a property violation is a finding) */
static void
require(int cond)
{
	if (!cond)
		abort();
}

/* Decode exactly len bytes of s from a malloc'd copy without terminator */
static CvxIdStatus
decode_exact(const uint8_t *s, size_t len, CvxId *id)
{
	char	   *copy = malloc(len > 0 ? len : 1);
	CvxIdStatus status;

	require(copy != NULL);
	if (len > 0)
		memcpy(copy, s, len);
	status = cvx_id_decode(copy, len, id);
	free(copy);
	require(cvx_id_status_reason(status) != NULL);
	return status;
}

/* A decoded id re-encodes to exactly the bytes it was decoded from */
static void
check_decode(const uint8_t *data, size_t size)
{
	CvxId		id;
	char		out[CVX_ID_MAX_LENGTH + 1];
	size_t		len;
	size_t		i;

	memset(&id, 0, sizeof(id));
	if (decode_exact(data, size, &id) != CVX_ID_OK)
		return;
	require(size >= CVX_ID_MIN_LENGTH && size <= CVX_ID_MAX_LENGTH);
	require(id.table_number != 0);
	for (i = 0; i < size; i++)
		require(data[i] != '\0' && strchr(alphabet, data[i]) != NULL);
	len = cvx_id_encode(id.table_number, id.internal, out);
	require(len == size && strlen(out) == len);
	require(memcmp(out, data, size) == 0);
	/* decoding without an output struct agrees */
	require(cvx_id_decode((const char *) data, size, NULL) == CVX_ID_OK);
}

/* Every prefix decodes (or not) without reading past its end */
static void
check_prefixes(const uint8_t *data, size_t size)
{
	size_t		n;
	size_t		max = size < CVX_ID_MAX_LENGTH + 2 ? size : CVX_ID_MAX_LENGTH + 2;

	for (n = 0; n < max; n++)
	{
		CvxId		id;

		(void) decode_exact(data, n, &id);
	}
}

/* encode(table number, internal bytes from the input) decodes back */
static void
check_encode(const uint8_t *data, size_t size)
{
	uint8_t		buf[4 + CVX_ID_INTERNAL_BYTES];
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
	uint32_t	table_number;
	uint16_t	days;
	char		out[CVX_ID_MAX_LENGTH + 1];
	size_t		len;
	size_t		i;
	CvxId		id;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	table_number = (uint32_t) buf[0] | (uint32_t) buf[1] << 8 |
		(uint32_t) buf[2] << 16 | (uint32_t) buf[3] << 24;
	/* spread over all varint lengths: shift right by a fuzzed amount */
	if (size > sizeof(buf))
		table_number >>= data[sizeof(buf)] % 32;
	if (table_number == 0)
		table_number = 1;

	days = (uint16_t) (buf[4 + CVX_ID_RANDOM_BYTES] << 8 | buf[5 + CVX_ID_RANDOM_BYTES]);
	cvx_id_make_internal(buf + 4, days, internal);
	require(memcmp(internal, buf + 4, CVX_ID_RANDOM_BYTES) == 0);
	require(internal[CVX_ID_RANDOM_BYTES] == (days >> 8) &&
			internal[CVX_ID_RANDOM_BYTES + 1] == (days & 0xff));

	memset(out, 'X', sizeof(out));
	len = cvx_id_encode(table_number, internal, out);
	require(len >= CVX_ID_MIN_LENGTH && len <= CVX_ID_MAX_LENGTH);
	require(out[len] == '\0');
	for (i = 0; i < len; i++)
		require(strchr(alphabet, out[i]) != NULL && out[i] != '\0');

	memset(&id, 0, sizeof(id));
	require(decode_exact((const uint8_t *) out, len, &id) == CVX_ID_OK);
	require(id.table_number == table_number);
	require(memcmp(id.internal, internal, CVX_ID_INTERNAL_BYTES) == 0);

	/* any strict prefix or one-character extension is refused */
	require(decode_exact((const uint8_t *) out, len - 1, &id) != CVX_ID_OK);
	if (len < CVX_ID_MAX_LENGTH)
	{
		out[len] = alphabet[(size > 0 ? data[size - 1] : 0) % 32];
		require(decode_exact((const uint8_t *) out, len + 1, &id) != CVX_ID_OK);
	}
}

/* libFuzzer entry point: decode the input, then encode from its bytes */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_prefixes(data, size);
	check_encode(data, size);
	(void) cvx_fletcher16(data, size);
	return 0;
}
