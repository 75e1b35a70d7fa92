/*-------------------------------------------------------------------------
 *
 * test_id.c
 *	  Unit tests for Convex ids (cvx_id.c).
 *
 * Known answers: "z43zp6c3e75gkmz1kfwj6mbbx5sw281h" is the id Convex's own
 * test_document_id_stability (crates/value/src/id_v6.rs) expects for table
 * 1017; "074wwt1x3qmwz35bvscy44eq2yngrt8" is a real id from Convex's
 * test_roundtrip_trophies (crates/value/src/sorting.rs).  The other
 * expected strings were computed with an independent Python version of
 * the algorithm, which also reproduces Convex's vector.
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "cvx_id.h"

#include <stdio.h>
#include <string.h>

/* The internal bytes 0, 1, ..., 15 */
static void
seq_internal(uint8_t internal[CVX_ID_INTERNAL_BYTES])
{
	int			i;

	for (i = 0; i < CVX_ID_INTERNAL_BYTES; i++)
		internal[i] = (uint8_t) i;
}

/* Decode a C string */
static CvxIdStatus
decode(const char *s, CvxId *id)
{
	return cvx_id_decode(s, strlen(s), id);
}

/* Convex's own known answer, and a real id from Convex's tests */
static void
test_id_convex_vectors(void)
{
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
	char		out[CVX_ID_MAX_LENGTH + 1];
	CvxId		id;
	int			i;

	internal[0] = 251;
	for (i = 1; i < CVX_ID_INTERNAL_BYTES; i++)
		internal[i] = (uint8_t) (internal[i - 1] * 251u);
	CHECK(cvx_id_encode(1017, internal, out) == 32);
	CHECK_STR(out, "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
	CHECK(decode("z43zp6c3e75gkmz1kfwj6mbbx5sw281h", &id) == CVX_ID_OK);
	CHECK(id.table_number == 1017);
	CHECK(memcmp(id.internal, internal, CVX_ID_INTERNAL_BYTES) == 0);

	CHECK(decode("074wwt1x3qmwz35bvscy44eq2yngrt8", &id) == CVX_ID_OK);
	CHECK(id.table_number == 1);
	cvx_id_encode(id.table_number, id.internal, out);
	CHECK_STR(out, "074wwt1x3qmwz35bvscy44eq2yngrt8");

	/* Convex's regression input: looks like a 1-byte table, is not */
	CHECK(decode("sssswsgggggggggsgcsssfafffsffks", &id) != CVX_ID_OK);
}

/* Round trips at every varint size boundary */
static void
test_id_round_trips(void)
{
	static const struct
	{
		uint32_t	table;
		size_t		len;
		const char *id;
	}			cases[] =
	{
		{1, 31, "040020g30g2gc1r81450p30d1r7qke8"},
		{127, 31, "fw0020g30g2gc1r81450p30d1r7ze5r"},
		{128, 32, "g00g00820c20a1g7104gm2rc1m70zyds"},
		{10001, 32, "j57000820c20a1g7104gm2rc1m70ynr8"},
		{16383, 32, "zxzg00820c20a1g7104gm2rc1m70zxg5"},
		{16384, 34, "g2002001081g81860w40j2gb1g6gw3vs74"},
		{2097152, 36, "g2080080041061050r3gg28a1c60t3gfz4wg"},
		{268435456, 37, "g2081001000g40r40m30e209185gr38e1xwvj"},
		{UINT32_MAX, 37, "zzzzzzrf000g40r40m30e209185gr38e1y1nj"},
	};
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
	char		out[CVX_ID_MAX_LENGTH + 1];
	size_t		i;

	seq_internal(internal);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		CvxId		id;
		size_t		len = cvx_id_encode(cases[i].table, internal, out);

		CHECK(len == cases[i].len);
		CHECK(strlen(out) == len);
		CHECK_STR(out, cases[i].id);
		memset(&id, 0, sizeof(id));
		CHECK(cvx_id_decode(out, len, &id) == CVX_ID_OK);
		CHECK(id.table_number == cases[i].table);
		CHECK(memcmp(id.internal, internal, CVX_ID_INTERNAL_BYTES) == 0);
		/* decoding needs no NUL: a longer buffer, explicit length */
		CHECK(cvx_id_decode(cases[i].id, len, NULL) == CVX_ID_OK);
	}

	/* many table numbers and internal ids */
	for (i = 0; i < 5000; i++)
	{
		uint32_t	table = (uint32_t) (i * 2654435761u) | 1u;
		CvxId		id;
		size_t		len;
		int			k;

		for (k = 0; k < CVX_ID_INTERNAL_BYTES; k++)
			internal[k] = (uint8_t) (i * 31 + (size_t) k * 7);
		len = cvx_id_encode(table, internal, out);
		if (cvx_id_decode(out, len, &id) != CVX_ID_OK || id.table_number != table ||
			memcmp(id.internal, internal, CVX_ID_INTERNAL_BYTES) != 0)
		{
			CHECK(!"round trip");
			break;
		}
	}
	CHECK(i == 5000);
}

/* The internal id: 14 random bytes, then the day number big-endian */
static void
test_id_internal(void)
{
	uint8_t		random_bytes[CVX_ID_RANDOM_BYTES];
	uint8_t		internal[CVX_ID_INTERNAL_BYTES];
	int			i;

	for (i = 0; i < CVX_ID_RANDOM_BYTES; i++)
		random_bytes[i] = (uint8_t) (0xa0 + i);
	cvx_id_make_internal(random_bytes, 0x4e2f, internal);
	CHECK(memcmp(internal, random_bytes, CVX_ID_RANDOM_BYTES) == 0);
	CHECK(internal[14] == 0x4e);
	CHECK(internal[15] == 0x2f);
}

/* Every length outside 31..37, and 33 and 35 which no id has */
static void
test_id_bad_lengths(void)
{
	char		buf[200];
	size_t		len;
	int			bad = 0;

	memset(buf, '0', sizeof(buf));
	for (len = 0; len < sizeof(buf); len++)
	{
		CvxIdStatus st = cvx_id_decode(buf, len, NULL);

		if (len >= CVX_ID_MIN_LENGTH && len <= CVX_ID_MAX_LENGTH)
			continue;
		if (st != CVX_ID_BAD_LENGTH)
		{
			printf("length %zu gave %d\n", len, (int) st);
			bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(cvx_id_decode(NULL, 0, NULL) == CVX_ID_BAD_LENGTH);
	CHECK(cvx_id_decode(NULL, 32, NULL) == CVX_ID_BAD_LENGTH);

	/* 33 and 35 characters: a last character that carries no whole byte */
	CHECK(decode("g00g00820c20a1g7104gm2rc1m70zyds0", NULL) == CVX_ID_BAD_ENCODING);
	CHECK(decode("g2002001081g81860w40j2gb1g6gw3vs740", NULL) == CVX_ID_BAD_ENCODING);
	/* a valid id cut short or extended */
	CHECK(decode("g00g00820c20a1g7104gm2rc1m70zyd", NULL) != CVX_ID_OK);
	CHECK(decode("040020g30g2gc1r81450p30d1r7qke80", NULL) != CVX_ID_OK);
}

/* Characters outside the lowercase Crockford alphabet */
static void
test_id_bad_characters(void)
{
	const char *good = "j57000820c20a1g7104gm2rc1m70ynr8";
	const char	bad_chars[] = {'A', 'Z', 'J', 'i', 'l', 'o', 'u', 'I', 'L', 'O', 'U',
	'-', '_', ' ', '=', '/', '+', '.'};
	char		s[64];
	size_t		i;
	size_t		pos;

	for (i = 0; i < sizeof(bad_chars); i++)
		for (pos = 0; pos < 32; pos += 7)
		{
			strcpy(s, good);
			s[pos] = bad_chars[i];
			if (cvx_id_decode(s, 32, NULL) != CVX_ID_BAD_CHARACTER)
			{
				CHECK(!"bad character accepted");
				printf("  '%c' at %zu\n", bad_chars[i], pos);
			}
		}
	/* uppercase spelling of a valid id */
	CHECK(decode("J57000820C20A1G7104GM2RC1M70YNR8", NULL) == CVX_ID_BAD_CHARACTER);
	/* NUL, non-ASCII (UTF-8 and a bare high byte) */
	strcpy(s, good);
	s[5] = '\0';
	CHECK(cvx_id_decode(s, 32, NULL) == CVX_ID_BAD_CHARACTER);
	strcpy(s, good);
	s[10] = (char) 0xc3;
	s[11] = (char) 0xa9;
	CHECK(cvx_id_decode(s, 32, NULL) == CVX_ID_BAD_CHARACTER);
	strcpy(s, good);
	s[31] = (char) 0xff;
	CHECK(cvx_id_decode(s, 32, NULL) == CVX_ID_BAD_CHARACTER);
	strcpy(s, good);
	s[0] = (char) 0x80;
	CHECK(cvx_id_decode(s, 32, NULL) == CVX_ID_BAD_CHARACTER);
}

/* Checksum, padding bits and table number errors */
static void
test_id_bad_contents(void)
{
	char		s[64];
	const char *alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
	int			k;
	int			footer_ok = 0;
	int			body_ok = 0;

	/* 32 characters = 160 bits: the last character is footer only */
	for (k = 0; k < 32; k++)
	{
		strcpy(s, "j57000820c20a1g7104gm2rc1m70ynr8");
		if (alphabet[k] == s[31])
			continue;
		s[31] = alphabet[k];
		if (decode(s, NULL) != CVX_ID_BAD_FOOTER)
			footer_ok++;
	}
	CHECK(footer_ok == 0);

	/* a changed internal byte breaks the checksum */
	for (k = 0; k < 32; k++)
	{
		strcpy(s, "j57000820c20a1g7104gm2rc1m70ynr8");
		if (alphabet[k] == s[12])
			continue;
		s[12] = alphabet[k];
		if (decode(s, NULL) != CVX_ID_BAD_FOOTER)
			body_ok++;
	}
	CHECK(body_ok == 0);

	/* 31 characters = 155 bits: the last 3 bits are padding and must be 0 */
	strcpy(s, "040020g30g2gc1r81450p30d1r7qke8");	/* '8' = 01000 */
	s[30] = '9';				/* 01001: a padding bit set */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);
	s[30] = 'c';				/* 01100 */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);
	s[30] = 'b';				/* 01011 */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);
	/* 34 characters = 170 bits, 2 of padding; 36 = 180, 4; 37 = 185, 1 */
	strcpy(s, "g2002001081g81860w40j2gb1g6gw3vs74");
	s[33] = '5';				/* 00101 */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);
	strcpy(s, "g2080080041061050r3gg28a1c60t3gfz4wg");
	s[35] = 'h';				/* 10001: g is 10000 */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);
	strcpy(s, "g2081001000g40r40m30e209185gr38e1xwvj");
	s[36] = 'k';				/* 10011: j is 10010 */
	CHECK(decode(s, NULL) == CVX_ID_BAD_ENCODING);

	/* table number 0, with a correct footer */
	CHECK(decode("000020g30g2gc1r81450p30d1r7qha0", NULL) == CVX_ID_BAD_TABLE_NUMBER);
	/* overlong varint for 1: 0x81 0x00 */
	CHECK(decode("g40000820c20a1g7104gm2rc1m70zydt", NULL) == CVX_ID_BAD_TABLE_NUMBER);
	/* 5-byte varint above 2^32 - 1 */
	CHECK(decode("zzzzzzrz000g40r40m30e209185gr38e1y9pj", NULL) == CVX_ID_BAD_TABLE_NUMBER);
	/* continuation bit on the fifth byte */
	CHECK(decode("g2081041000g40r40m30e209185gr38e1zwkj", NULL) == CVX_ID_BAD_TABLE_NUMBER);
	/* all 'z': continuation everywhere */
	CHECK(decode("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", NULL) == CVX_ID_BAD_TABLE_NUMBER);
}

/* Reasons are short English text */
static void
test_id_reasons(void)
{
	CHECK_STR(cvx_id_status_reason(CVX_ID_BAD_FOOTER), "invalid checksum");
	CHECK_STR(cvx_id_status_reason(CVX_ID_BAD_LENGTH), "invalid length");
	CHECK_STR(cvx_id_status_reason(CVX_ID_BAD_CHARACTER), "invalid character");
	CHECK_STR(cvx_id_status_reason(CVX_ID_BAD_ENCODING), "invalid encoding");
	CHECK_STR(cvx_id_status_reason(CVX_ID_BAD_TABLE_NUMBER), "invalid table number");
	CHECK_STR(cvx_id_status_reason(CVX_ID_OK), "valid");
	CHECK(cvx_id_status_reason((CvxIdStatus) 99) != NULL);
}

/* Every 31- and 32-character string over a small alphabet decodes safely */
static void
test_id_exhaustive_noise(void)
{
	char		s[40];
	uint32_t	x = 12345;
	int			i;
	int			ok = 0;

	for (i = 0; i < 200000; i++)
	{
		size_t		len = 31 + (size_t) (i % 7);
		size_t		k;

		for (k = 0; k < len; k++)
		{
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			s[k] = "0123456789abcdefghjkmnpqrstvwxyz"[x % 32];
		}
		if (cvx_id_decode(s, len, NULL) == CVX_ID_OK)
			ok++;
	}
	/* about 1 in 65536 random strings has a matching checksum */
	CHECK(ok < 100);
}

/* The id group */
void
test_id(void)
{
	test_id_convex_vectors();
	test_id_round_trips();
	test_id_internal();
	test_id_bad_lengths();
	test_id_bad_characters();
	test_id_bad_contents();
	test_id_reasons();
	test_id_exhaustive_noise();
}
