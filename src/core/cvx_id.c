/*-------------------------------------------------------------------------
 *
 * cvx_id.c
 *	  Convex document ids (format "v6"): encoding and strict decoding.
 *
 * Follows crates/value/src/id_v6.rs and crates/value/src/base32.rs of
 * get-convex/convex-backend.  Decoding accepts exactly the strings Convex's
 * encoder produces: Convex's own decoder is laxer in three ways (it ignores
 * non-zero padding bits and a dangling 33rd/35th character, and accepts
 * overlong varints), which would give one document several spellings of
 * its id.  Every id Convex generates decodes here.
 *
 * Part of the convexlite core: plain C11, no PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_id.h"

#include <string.h>

#define CVX_ID_MAX_VARINT 5
#define CVX_ID_FOOTER_BYTES 2
#define CVX_ID_MAX_BYTES (CVX_ID_MAX_VARINT + CVX_ID_INTERNAL_BYTES + CVX_ID_FOOTER_BYTES)
#define CVX_ID_VERSION 0

static const char cvx_base32_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* Each byte's base32 value plus one (0: not a base32 character) */
static const uint8_t cvx_base32_values[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16, ['g'] = 17, ['h'] = 18, ['j'] = 19,
	['k'] = 20, ['m'] = 21, ['n'] = 22, ['p'] = 23, ['q'] = 24, ['r'] = 25,
	['s'] = 26, ['t'] = 27, ['v'] = 28, ['w'] = 29, ['x'] = 30, ['y'] = 31,
	['z'] = 32
};

/* Value of a base32 character, or -1 */
static inline int
cvx_base32_value(unsigned char c)
{
	return (int) cvx_base32_values[c] - 1;
}

/* Fletcher-16 with modulus 256, as Convex computes it */
uint16_t
cvx_fletcher16(const uint8_t *buf, size_t len)
{
	uint8_t		c0 = 0;
	uint8_t		c1 = 0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		c0 = (uint8_t) (c0 + buf[i]);
		c1 = (uint8_t) (c1 + c0);
	}
	return (uint16_t) (((unsigned) c1 << 8) | c0);
}

/* LEB128-encode n into out; returns the byte count (1..5) */
static size_t
cvx_varint_encode(uint32_t n, uint8_t *out)
{
	size_t		pos = 0;

	while (n >= 0x80)
	{
		out[pos++] = (uint8_t) ((n & 0x7f) | 0x80);
		n >>= 7;
	}
	out[pos++] = (uint8_t) n;
	return pos;
}

/* Build the 16 internal bytes from 14 random bytes and a day number */
void
cvx_id_make_internal(const uint8_t random_bytes[CVX_ID_RANDOM_BYTES],
					 uint16_t days_since_epoch,
					 uint8_t internal[CVX_ID_INTERNAL_BYTES])
{
	memcpy(internal, random_bytes, CVX_ID_RANDOM_BYTES);
	internal[CVX_ID_RANDOM_BYTES] = (uint8_t) (days_since_epoch >> 8);
	internal[CVX_ID_RANDOM_BYTES + 1] = (uint8_t) (days_since_epoch & 0xff);
}

/* Encode an id; out holds CVX_ID_MAX_LENGTH + 1 bytes */
size_t
cvx_id_encode(uint32_t table_number,
			  const uint8_t internal[CVX_ID_INTERNAL_BYTES],
			  char *out)
{
	uint8_t		buf[CVX_ID_MAX_BYTES];
	size_t		nbytes;
	size_t		len = 0;
	uint32_t	acc = 0;
	unsigned	accbits = 0;
	uint16_t	footer;

	nbytes = cvx_varint_encode(table_number, buf);
	memcpy(buf + nbytes, internal, CVX_ID_INTERNAL_BYTES);
	nbytes += CVX_ID_INTERNAL_BYTES;
	footer = (uint16_t) (cvx_fletcher16(buf, nbytes) ^ CVX_ID_VERSION);
	buf[nbytes++] = (uint8_t) (footer & 0xff);
	buf[nbytes++] = (uint8_t) (footer >> 8);

	/*
	 * 5 bits a character, most significant first, zero-padded at the end:
	 * each byte enters an accumulator, whole characters leave it (it never
	 * holds more than 12 bits)
	 */
	for (size_t i = 0; i < nbytes; i++)
	{
		acc = (acc << 8) | buf[i];
		accbits += 8;
		while (accbits >= 5)
		{
			accbits -= 5;
			out[len++] = cvx_base32_alphabet[(acc >> accbits) & 31u];
		}
		acc &= (1u << accbits) - 1u;
	}
	if (accbits > 0)
		out[len++] = cvx_base32_alphabet[(acc << (5 - accbits)) & 31u];
	out[len] = '\0';
	return len;
}

/* Strictly decode len bytes of s */
CvxIdStatus
cvx_id_decode(const char *s, size_t len, CvxId *id)
{
	uint8_t		buf[CVX_ID_MAX_BYTES + 1];
	size_t		nbytes;
	size_t		i;
	size_t		pos;
	uint32_t	acc = 0;
	unsigned	accbits = 0;
	uint32_t	table_number = 0;
	uint16_t	footer;

	if (s == NULL || len < CVX_ID_MIN_LENGTH || len > CVX_ID_MAX_LENGTH)
		return CVX_ID_BAD_LENGTH;
	for (i = 0; i < len; i++)
		if (cvx_base32_value((unsigned char) s[i]) < 0)
			return CVX_ID_BAD_CHARACTER;

	/* Unpack; the bits after the last whole byte must be fewer than 5, and 0 */
	nbytes = 0;
	for (i = 0; i < len; i++)
	{
		acc = ((acc << 5) | (uint32_t) cvx_base32_value((unsigned char) s[i])) & 0xfffu;
		accbits += 5;
		if (accbits >= 8)
		{
			accbits -= 8;
			buf[nbytes++] = (uint8_t) ((acc >> accbits) & 0xff);
		}
	}
	if (accbits >= 5 || (acc & ((1u << accbits) - 1)) != 0)
		return CVX_ID_BAD_ENCODING;

	/* Table number: 1..5 bytes, canonical (no overlong form), 1..2^32-1 */
	pos = 0;
	for (;;)
	{
		uint8_t		b;

		if (pos >= CVX_ID_MAX_VARINT || pos >= nbytes)
			return CVX_ID_BAD_TABLE_NUMBER;
		b = buf[pos];
		if (pos == CVX_ID_MAX_VARINT - 1 && b > 0x0f)
			return CVX_ID_BAD_TABLE_NUMBER; /* more than 32 bits */
		table_number |= (uint32_t) (b & 0x7f) << (7 * pos);
		pos++;
		if ((b & 0x80) == 0)
		{
			if (b == 0 && pos > 1)
				return CVX_ID_BAD_TABLE_NUMBER; /* overlong */
			break;
		}
	}
	if (table_number == 0)
		return CVX_ID_BAD_TABLE_NUMBER;

	/* The rest must be exactly the internal id and the footer */
	if (nbytes - pos != CVX_ID_INTERNAL_BYTES + CVX_ID_FOOTER_BYTES)
		return CVX_ID_BAD_ENCODING;
	footer = (uint16_t) (buf[nbytes - 2] | ((unsigned) buf[nbytes - 1] << 8));
	if (footer != (uint16_t) (cvx_fletcher16(buf, nbytes - 2) ^ CVX_ID_VERSION))
		return CVX_ID_BAD_FOOTER;

	if (id != NULL)
	{
		id->table_number = table_number;
		memcpy(id->internal, buf + pos, CVX_ID_INTERNAL_BYTES);
	}
	return CVX_ID_OK;
}

/* A short English reason for a status */
const char *
cvx_id_status_reason(CvxIdStatus status)
{
	switch (status)
	{
		case CVX_ID_OK:
			return "valid";
		case CVX_ID_BAD_LENGTH:
			return "invalid length";
		case CVX_ID_BAD_CHARACTER:
			return "invalid character";
		case CVX_ID_BAD_ENCODING:
			return "invalid encoding";
		case CVX_ID_BAD_TABLE_NUMBER:
			return "invalid table number";
		case CVX_ID_BAD_FOOTER:
			return "invalid checksum";
	}
	return "invalid id";
}
