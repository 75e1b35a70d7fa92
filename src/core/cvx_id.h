/*-------------------------------------------------------------------------
 *
 * cvx_id.h
 *	  Convex document ids: encoding and strict decoding.
 *
 * Part of the convexlite core, which builds and is tested without
 * PostgreSQL.  An id is
 *
 *	  varint(table_number) || 16-byte internal id || 2-byte footer
 *
 * where the varint is LEB128 (7 bits a byte, least significant group
 * first), the internal id is 14 random bytes followed by the day number
 * since the Unix epoch as 2 big-endian bytes, and the footer is
 * fletcher16(all previous bytes) XOR the format version (0), little-endian.
 * The bytes are written in Crockford base32 with the lowercase alphabet
 * "0123456789abcdefghjkmnpqrstvwxyz", most significant bits first, no
 * padding.  Ids are 31 to 37 characters long.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_ID_H
#define CVX_ID_H

#include <stddef.h>
#include <stdint.h>

#define CVX_ID_MIN_LENGTH 31
#define CVX_ID_MAX_LENGTH 37
#define CVX_ID_RANDOM_BYTES 14
#define CVX_ID_INTERNAL_BYTES 16

/* A decoded id */
typedef struct CvxId
{
	uint32_t	table_number;
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
} CvxId;

/* Why a string is not an id */
typedef enum CvxIdStatus
{
	CVX_ID_OK = 0,
	CVX_ID_BAD_LENGTH,			/* not 31..37 characters */
	CVX_ID_BAD_CHARACTER,		/* a character outside the alphabet */
	CVX_ID_BAD_ENCODING,		/* non-zero padding bits, or bytes left over */
	CVX_ID_BAD_TABLE_NUMBER,	/* varint malformed, overlong, zero or > 2^32-1 */
	CVX_ID_BAD_FOOTER			/* checksum or version does not match */
} CvxIdStatus;

/* Build the 16 internal bytes from 14 random bytes and a day number */
extern void cvx_id_make_internal(const uint8_t random_bytes[CVX_ID_RANDOM_BYTES],
								 uint16_t days_since_epoch,
								 uint8_t internal[CVX_ID_INTERNAL_BYTES]);

/*
 * Encode an id into out, which must hold CVX_ID_MAX_LENGTH + 1 bytes.
 * Writes a NUL terminator and returns the length (31..37).
 * table_number must be non-zero.
 */
extern size_t cvx_id_encode(uint32_t table_number,
							const uint8_t internal[CVX_ID_INTERNAL_BYTES],
							char *out);

/* Strictly decode len bytes of s (no NUL needed); fills *id on success */
extern CvxIdStatus cvx_id_decode(const char *s, size_t len, CvxId *id);

/* Fletcher-16 with modulus 256 (the id footer's checksum) */
extern uint16_t cvx_fletcher16(const uint8_t *buf, size_t len);

/* A short English reason for a status, e.g. "invalid checksum" */
extern const char *cvx_id_status_reason(CvxIdStatus status);

#endif							/* CVX_ID_H */
