/*-------------------------------------------------------------------------
 *
 * ids.c
 *	  Minting and checking Convex document ids, and _creationTime.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(convex_id_table);
PG_FUNCTION_INFO_V1(convex_id_node);
PG_FUNCTION_INFO_V1(convex_node_id);
PG_FUNCTION_INFO_V1(convex_id_renumber_text);
PG_FUNCTION_INFO_V1(convex_id_renumber_jsonb);

/*
 * convexlite.node_id: this server's number in a sharded deployment
 * (docs/sharding.md), 1 to 255, or 0 when it is not a node.  A node writes
 * its number into the first random byte of every id and upload token it
 * makes, so a front can route a call that carries only an id to the node
 * that holds the document; the checksum is computed afterwards, so the id
 * stays a valid Convex id.
 */
static int	node_id = 0;

/* The last _creationTime handed out by this backend */
static double last_creation_time = 0;

/*
 * Strong random bytes, fetched from pg_strong_random a buffer at a time:
 * the same randomness as one call per id, without the per-call overhead of
 * the OpenSSL generator.  The buffer is filled in each backend after fork
 * and never shared.
 */
#define RANDOM_BUFFER_SIZE (CVX_ID_RANDOM_BYTES * 64)
static uint8 random_buffer[RANDOM_BUFFER_SIZE];
static int	random_buffer_used = RANDOM_BUFFER_SIZE;

/* Register convexlite.node_id */
void
cvx_ids_init(void)
{
	DefineCustomIntVariable("convexlite.node_id",
							"This server's node number in a sharded deployment (0: not sharded).",
							"Written into the first random byte of every id and upload token; "
							"set it in postgresql.conf before the first document.",
							&node_id,
							0, 0, CVX_MAX_NODE_ID,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

/* This server's node number (0: not a node) */
int
cvx_node_id(void)
{
	return node_id;
}

/*
 * Mark random bytes as made on this node: the first byte becomes the node
 * number (nothing changes when convexlite.node_id is 0).
 */
void
cvx_mark_node(uint8 *random_bytes)
{
	if (node_id > 0)
		random_bytes[0] = (uint8) node_id;
}

/*
 * On a node, refuse an id minted on another node (0A000): its document is
 * not here, and a call must not touch two nodes.  A call the front routed
 * by this id never gets here; a mutation that reaches for a document of
 * another node does, and fails whole.
 */
void
cvx_require_local_id(const CvxId *decoded, const char *id, size_t len)
{
	if (node_id > 0 && decoded->internal[0] != (uint8) node_id)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("document %.*s lives on node %d, not on this node (%d): a call cannot touch two nodes",
						(int) len, id, decoded->internal[0], node_id),
				 errhint("Route the call by this id (docs/sharding.md), or keep the documents one call "
						 "touches under one shard key.")));
}

/* Take n strong random bytes (at most a buffer's worth) */
void
cvx_random_bytes(uint8 *out, int n)
{
	Assert(n <= RANDOM_BUFFER_SIZE);
	if (random_buffer_used + n > RANDOM_BUFFER_SIZE)
	{
		if (!pg_strong_random(random_buffer, RANDOM_BUFFER_SIZE))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
		random_buffer_used = 0;
	}
	memcpy(out, random_buffer + random_buffer_used, n);
	/* never hand out the same bytes twice */
	memset(random_buffer + random_buffer_used, 0, n);
	random_buffer_used += n;
}

/* A new id of the given table: 14 random bytes and today's day number */
text *
cvx_new_id(uint32 table_number)
{
	uint8		random_bytes[CVX_ID_RANDOM_BYTES];
	uint8		internal[CVX_ID_INTERNAL_BYTES];
	char		encoded[CVX_ID_MAX_LENGTH + 1];
	size_t		len;
	TimestampTz now = GetCurrentTimestamp();
	int64		unix_seconds = (int64) (now / USECS_PER_SEC) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	cvx_random_bytes(random_bytes, sizeof(random_bytes));
	cvx_mark_node(random_bytes);
	cvx_id_make_internal(random_bytes, (uint16) (unix_seconds / SECS_PER_DAY), internal);
	len = cvx_id_encode(table_number, internal, encoded);
	return cstring_to_text_with_len(encoded, (int) len);
}

/*
 * Milliseconds since the Unix epoch, with a fraction, strictly greater than
 * any value this backend handed out before (so inserts in one transaction
 * are ordered, as Convex's _creationTime is).
 */
double
cvx_next_creation_time(void)
{
	TimestampTz now = GetCurrentTimestamp();
	double		ms = (double) now / 1000.0 +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000.0;

	if (ms <= last_creation_time)
		ms = nextafter(last_creation_time, INFINITY);
	last_creation_time = ms;
	return ms;
}

/* Date.now(): whole milliseconds since the Unix epoch */
double
cvx_date_now(void)
{
	TimestampTz now = GetCurrentTimestamp();

	return (double) (now / 1000) +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000.0;
}

/* Does this string decode to an id of this table? */
bool
cvx_id_is_for_table(const char *id, size_t len, const CvxTable *table)
{
	CvxId		decoded;

	return cvx_id_decode(id, len, &decoded) == CVX_ID_OK &&
		decoded.table_number == table->number;
}

/*
 * An id argument of a SQL function: not NULL (22004, naming sql_name), and
 * an id of table table_number (22023, worded like Convex's "Invalid
 * argument `id` for `db.get`", with convex_name and function).
 */
text *
cvx_id_argument(FunctionCallInfo fcinfo, int argno, const char *sql_name,
				const char *convex_name, const char *function,
				uint32 table_number, const char *table_name)
{
	text	   *id;
	CvxId		decoded;
	CvxIdStatus status;

	cvx_require_argument(fcinfo, argno, sql_name);
	id = PG_GETARG_TEXT_PP(argno);
	status = cvx_id_decode(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), &decoded);
	if (status != CVX_ID_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Invalid argument `%s` for `%s`: Unable to decode ID: %s",
						convex_name, function, cvx_id_status_reason(status))));
	if (decoded.table_number != table_number)
	{
		CvxTable   *other = cvx_table_by_number(decoded.table_number);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Invalid argument `%s` for `%s`: ID \"%s\" is from table \"%s\", not \"%s\"",
						convex_name, function, text_to_cstring(id),
						other != NULL ? other->name : "(unknown)", table_name)));
	}
	cvx_require_local_id(&decoded, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
	return id;
}

/* convex_id_table(id text): the table an id belongs to, or NULL */
Datum
convex_id_table(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	CvxId		decoded;
	CvxTable   *table;

	if (cvx_id_decode(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), &decoded) != CVX_ID_OK)
		PG_RETURN_NULL();
	table = cvx_table_by_number(decoded.table_number);
	if (table == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(table->name));
}

/*
 * convex_id_node(id text): the node an id was minted on (its first random
 * byte, meaningful only for ids made with convexlite.node_id set), or NULL
 * when the text is not a valid id.
 */
Datum
convex_id_node(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	CvxId		decoded;

	if (cvx_id_decode(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), &decoded) != CVX_ID_OK)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) decoded.internal[0]);
}

/* convex_node_id(): convexlite.node_id of this server (0: not a node) */
Datum
convex_node_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(node_id);
}

/*
 * The same id with another table number, if s (len bytes) is an id of
 * table from_number; NULL otherwise.  The random part and day are kept and
 * the footer recomputed, so the result is a valid id of to_number.
 */
char *
cvx_id_renumber(const char *s, size_t len, uint32 from_number, uint32 to_number)
{
	CvxId		decoded;
	char	   *out;

	if (cvx_id_decode(s, len, &decoded) != CVX_ID_OK ||
		decoded.table_number != from_number)
		return NULL;
	out = palloc(CVX_ID_MAX_LENGTH + 1);
	(void) cvx_id_encode(to_number, decoded.internal, out);
	return out;
}

/* A table number argument: 1 .. 2^31-1 (22023) */
static uint32
table_number_argument(FunctionCallInfo fcinfo, int argno)
{
	int32		number = PG_GETARG_INT32(argno);

	if (number <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table number must be positive, not %d", number)));
	return (uint32) number;
}

/*
 * convex._id_renumber(id text, from_number int, to_number int): id with
 * to_number if it is an id of from_number, else id unchanged.  The update
 * to 0.3.0 uses it to give stored system-table ids Convex's numbers.
 */
Datum
convex_id_renumber_text(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	char	   *renumbered = cvx_id_renumber(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id),
											 table_number_argument(fcinfo, 1),
											 table_number_argument(fcinfo, 2));

	if (renumbered == NULL)
		PG_RETURN_TEXT_P(id);
	PG_RETURN_TEXT_P(cstring_to_text(renumbered));
}

/*
 * convex._id_renumber(value jsonb, from_number int, to_number int): value
 * with every string (not object key) that is an id of from_number
 * renumbered to to_number, at any depth.
 */
Datum
convex_id_renumber_jsonb(PG_FUNCTION_ARGS)
{
	Jsonb	   *value = PG_GETARG_JSONB_P(0);
	uint32		from_number = table_number_argument(fcinfo, 1);
	uint32		to_number = table_number_argument(fcinfo, 2);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	JsonbParseState *state = NULL;
	JsonbValue *result = NULL;
	bool		changed = false;

	it = JsonbIteratorInit(&value->root);
	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if ((token == WJB_VALUE || token == WJB_ELEM) && v.type == jbvString)
		{
			char	   *renumbered = cvx_id_renumber(v.val.string.val, v.val.string.len,
													 from_number, to_number);

			if (renumbered != NULL)
			{
				v.val.string.val = renumbered;
				v.val.string.len = (int) strlen(renumbered);
				changed = true;
			}
		}
		result = pushJsonbValue(&state, token,
								token <= WJB_BEGIN_ARRAY ? &v : NULL);
	}
	if (!changed)
		PG_RETURN_JSONB_P(value);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}
