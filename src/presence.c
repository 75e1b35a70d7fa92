/*-------------------------------------------------------------------------
 *
 * presence.c
 *	  The seed app's presence module: presence.list, presence.update,
 *	  presence.leave and the internal presence.cleanup.
 *
 * A presence row is found by (sessionId, roomId) when the caller passes a
 * non-empty sessionId (the seed tests it for truth), else by (userId,
 * roomId).  A heartbeat is one UPDATE of data
 * and last_seen, which no index covers, so it is a HOT update.  A
 * session's heartbeat skips the planner and the executor: its row is
 * found through the unique index and updated in place (a table a DBA gave
 * triggers or constraints takes the UPDATE statement instead).  The first
 * heartbeat of a session (or of a user without a session) is an INSERT ...
 * ON CONFLICT against a unique index, so concurrent first heartbeats still
 * leave exactly one row.  Without a session, the user's oldest row is
 * found with FOR UPDATE, so a row deleted by a concurrent leave is skipped
 * for the next one rather than missed.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(convex_presence_update);
PG_FUNCTION_INFO_V1(convex_presence_leave);
PG_FUNCTION_INFO_V1(convex_presence_cleanup);
PG_FUNCTION_INFO_V1(convex_presence_list);

/* Presence older than this is stale (the seed's PRESENCE_TIMEOUT) */
#define PRESENCE_TIMEOUT_MS 30000.0

#define POINT_VALIDATOR \
"{\"type\":\"object\",\"value\":{" \
"\"x\":{\"fieldType\":{\"type\":\"number\"},\"optional\":false}," \
"\"y\":{\"fieldType\":{\"type\":\"number\"},\"optional\":false}}}"

#define OPTIONAL_STRING "{\"fieldType\":{\"type\":\"string\"},\"optional\":true}"

/* args: {roomId: string, data: presenceDataValidator, sessionId?: string} */
const char *const cvx_presence_update_args =
"{\"type\":\"object\",\"value\":{"
"\"roomId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"data\":{\"fieldType\":{\"type\":\"object\",\"value\":{"
"\"cursor\":{\"fieldType\":" POINT_VALIDATOR ",\"optional\":true},"
"\"position\":{\"fieldType\":" POINT_VALIDATOR ",\"optional\":true},"
"\"status\":" OPTIONAL_STRING ","
"\"userName\":" OPTIONAL_STRING ","
"\"userImage\":" OPTIONAL_STRING ","
"\"color\":" OPTIONAL_STRING ","
"\"name\":" OPTIONAL_STRING "}},\"optional\":false},"
"\"sessionId\":" OPTIONAL_STRING "}}";

/* args: {roomId: string, sessionId?: string} */
const char *const cvx_presence_leave_args =
"{\"type\":\"object\",\"value\":{"
"\"roomId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"sessionId\":" OPTIONAL_STRING "}}";

/* args: {} */
const char *const cvx_presence_cleanup_args = "{\"type\":\"object\",\"value\":{}}";

static CvxValidator *update_validator = NULL;
static CvxValidator *leave_validator = NULL;
static CvxValidator *cleanup_validator = NULL;

/* The statements, prepared on first use */
enum PresencePlan
{
	HEARTBEAT_BY_SESSION,
	UPSERT_BY_SESSION,
	HEARTBEAT_BY_USER,
	UPSERT_BY_USER,
	LEAVE_BY_SESSION,
	LEAVE_BY_USER,
	CLEANUP,
	NUM_PRESENCE_PLANS
};

static SPIPlanPtr plans[NUM_PRESENCE_PLANS];

/*
 * What every presence write returns for its notifications (realtime.c):
 * the _id and the filter column roomId; an upsert also tells whether it
 * inserted (a row it inserted has no xmax).
 */
#define RETURNING_FOR_NOTIFY "RETURNING _id, room_id, session_id, user_id"
#define UPSERT_INSERTED ", (xmax OPERATOR(pg_catalog.=) 0) AS cvx_inserted"

/* A presence statement, prepared once */
static SPIPlanPtr
presence_plan(enum PresencePlan which)
{
	static const Oid heartbeat_types[] = {TEXTOID, TEXTOID, JSONBOID, FLOAT8OID};
	static const Oid upsert_types[] = {TEXTOID, FLOAT8OID, TEXTOID, TEXTOID,
	TEXTOID, JSONBOID, FLOAT8OID};
	static const Oid key_types[] = {TEXTOID, TEXTOID};
	static const Oid cleanup_types[] = {FLOAT8OID};
	static const struct
	{
		const char *sql;
		int			nargs;
		const Oid  *types;
	}			statements[NUM_PRESENCE_PLANS] = {
		[HEARTBEAT_BY_SESSION] = {
			"UPDATE convex.presence SET data = $3, last_seen = $4 "
			"WHERE session_id OPERATOR(pg_catalog.=) $1 AND room_id OPERATOR(pg_catalog.=) $2 "
			"AND session_id OPERATOR(pg_catalog.<>) '' " RETURNING_FOR_NOTIFY,
		4, heartbeat_types},
		[UPSERT_BY_SESSION] = {
			"INSERT INTO convex.presence (_id, _creation_time, room_id, user_id, session_id, data, last_seen) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7) "
			"ON CONFLICT (session_id, room_id) WHERE session_id OPERATOR(pg_catalog.<>) '' "
			"DO UPDATE SET data = excluded.data, last_seen = excluded.last_seen "
			RETURNING_FOR_NOTIFY UPSERT_INSERTED,
		7, upsert_types},
		[HEARTBEAT_BY_USER] = {
			"UPDATE convex.presence SET data = $3, last_seen = $4 "
			"WHERE _id OPERATOR(pg_catalog.=) (SELECT p._id FROM convex.presence p "
			"WHERE p.user_id OPERATOR(pg_catalog.=) $1 AND p.room_id OPERATOR(pg_catalog.=) $2 "
			"ORDER BY p._creation_time LIMIT 1 FOR UPDATE) " RETURNING_FOR_NOTIFY,
		4, heartbeat_types},
		[UPSERT_BY_USER] = {
			"INSERT INTO convex.presence (_id, _creation_time, room_id, user_id, session_id, data, last_seen) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7) "
			"ON CONFLICT (user_id, room_id) "
			"WHERE (session_id IS NULL OR session_id OPERATOR(pg_catalog.=) '') AND user_id IS NOT NULL "
			"DO UPDATE SET data = excluded.data, last_seen = excluded.last_seen "
			RETURNING_FOR_NOTIFY UPSERT_INSERTED,
		7, upsert_types},
		[LEAVE_BY_SESSION] = {
			"DELETE FROM convex.presence "
			"WHERE session_id OPERATOR(pg_catalog.=) $1 AND room_id OPERATOR(pg_catalog.=) $2 "
			"AND session_id OPERATOR(pg_catalog.<>) '' " RETURNING_FOR_NOTIFY,
		2, key_types},
		[LEAVE_BY_USER] = {
			"DELETE FROM convex.presence "
			"WHERE _id OPERATOR(pg_catalog.=) (SELECT p._id FROM convex.presence p "
			"WHERE p.user_id OPERATOR(pg_catalog.=) $1 AND p.room_id OPERATOR(pg_catalog.=) $2 "
			"ORDER BY p._creation_time LIMIT 1 FOR UPDATE) " RETURNING_FOR_NOTIFY,
		2, key_types},
		[CLEANUP] = {
			"DELETE FROM convex.presence WHERE last_seen OPERATOR(pg_catalog.<) $1 "
			RETURNING_FOR_NOTIFY,
		1, cleanup_types},
	};

	if (plans[which] == NULL)
		plans[which] = cvx_prepare(statements[which].sql, statements[which].nargs,
								   (Oid *) statements[which].types);
	return plans[which];
}

/*
 * Is `index` what presence_by_session_and_room was made as: a valid unique
 * B-tree on the table whose keys are (session_id, room_id), both text?
 */
static bool
is_session_index(Relation heap, Relation index)
{
	Form_pg_index form = index->rd_index;
	TupleDesc	desc = RelationGetDescr(heap);

	return form->indrelid == RelationGetRelid(heap) &&
		form->indisunique && form->indisvalid && form->indisready && form->indislive &&
		index->rd_rel->relam == BTREE_AM_OID &&
		form->indnkeyatts == 2 &&
		form->indkey.values[0] == SPI_fnumber(desc, "session_id") &&
		form->indkey.values[1] == SPI_fnumber(desc, "room_id") &&
		form->indkey.values[0] > 0 && form->indkey.values[1] > 0 &&
		TupleDescAttr(desc, form->indkey.values[0] - 1)->atttypid == TEXTOID &&
		TupleDescAttr(desc, form->indkey.values[1] - 1)->atttypid == TEXTOID;
}

/*
 * A heartbeat of a session that has a row in the room, without the
 * planner or the executor: the row is found through the unique index
 * presence_by_session_and_room, under the snapshot an UPDATE would take,
 * and its data and last_seen replaced (cvx_update_in_place), with the
 * checks, counts, conflict locks and notification of cvx_write's UPDATE.
 * key_and_data: sessionId, roomId, data, now (HEARTBEAT_BY_SESSION's
 * parameters).  Returns 1 when it updated the row, 0 when the session has
 * none in the room, -1 when the table needs the UPDATE statement (a DBA
 * gave it a trigger, a check constraint, ..., or changed the index or
 * the columns).
 */
static int
heartbeat_in_place(CvxTable *presence, const Datum *key_and_data)
{
	static const Oid types[] = {TEXTOID, TEXTOID, JSONBOID, FLOAT8OID};
	Oid			indexrelid = get_relname_relid("presence_by_session_and_room",
											   get_namespace_oid(CVX_SCHEMA, false));
	Relation	heap;
	Relation	index;
	TupleTableSlot *slot;
	ScanKeyData keys[2];
	int			attnums[2];
	bool		nulls[2] = {false, false};
	HeapTuple	tuple = NULL;
	bool		found;
	bool		counted = false;

	cvx_write_begin(presence, CVX_WRITE_UPDATE);
	/* a DBA renamed or dropped the index: the statement needs no name */
	if (!OidIsValid(indexrelid))
		return -1;
	/* the locks an UPDATE of the table takes */
	heap = table_open(presence->relid, RowExclusiveLock);
	index = index_open(indexrelid, RowExclusiveLock);
	attnums[0] = SPI_fnumber(RelationGetDescr(heap), "data");
	attnums[1] = SPI_fnumber(RelationGetDescr(heap), "last_seen");
	if (!cvx_can_write_in_place(heap, ACL_UPDATE | ACL_SELECT) ||
		!is_session_index(heap, index) ||
		attnums[0] <= 0 || attnums[1] <= 0 ||
		TupleDescAttr(RelationGetDescr(heap), attnums[0] - 1)->atttypid != JSONBOID ||
		TupleDescAttr(RelationGetDescr(heap), attnums[1] - 1)->atttypid != FLOAT8OID)
	{
		index_close(index, NoLock);
		table_close(heap, NoLock);
		return -1;
	}
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, key_and_data[0]);
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_TEXTEQ, key_and_data[1]);
	slot = table_slot_create(heap, NULL);
	do
	{
		IndexScanDesc scan;

		/* what SPI does before a write: see this transaction's own writes, then a new snapshot */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		scan = index_beginscan(heap, index, GetActiveSnapshot(), 2, 0);
		index_rescan(scan, keys, 2, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);
		if (found)
		{
			if (!counted)
				cvx_count_written(presence, CVX_WRITE_UPDATE,
								  cvx_params_size(lengthof(types), types, key_and_data, NULL));
			counted = true;
			/* NULL: a concurrent write moved the row first; look again */
			tuple = cvx_update_in_place(presence, heap, slot, 2, attnums, &key_and_data[2],
										nulls);
		}
		index_endscan(scan);
		PopActiveSnapshot();
	} while (found && tuple == NULL);
	ExecDropSingleTupleTableSlot(slot);
	if (found)
	{
		SPITupleTable rows = {0};

		rows.tupdesc = RelationGetDescr(heap);
		rows.vals = &tuple;
		rows.numvals = 1;
		cvx_write_end(presence, CVX_WRITE_UPDATE, &rows, 1);
		heap_freetuple(tuple);
	}
	index_close(index, NoLock);
	table_close(heap, NoLock);
	return found ? 1 : 0;
}

/*
 * convex_presence_update(args): record that this session (or, without a
 * session, the signed-in user) is in the room, with its cursor data.
 * Silently nothing when there is neither a user nor a sessionId.
 */
Datum
convex_presence_update(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	room_id;
	CvxValue	data;
	CvxValue	session_id;
	bool		has_session;
	text	   *user_id;
	CvxTable   *presence;
	Datum		key_and_data[4];
	int			updated = -1;
	Datum		row[7];
	char		row_nulls[8];
	bool		by_session;

	cvx_read_args(fcinfo, &update_validator, cvx_presence_update_args, &args);
	user_id = cvx_auth_user_id();
	has_session = cvx_args_field(&args, "sessionId", &session_id);
	/* the seed tests args.sessionId for truth: "" counts as no session */
	by_session = has_session && session_id.len > 0;
	if (user_id == NULL && !by_session)
		PG_RETURN_VOID();

	(void) cvx_args_field(&args, "roomId", &room_id);
	(void) cvx_args_field(&args, "data", &data);
	presence = cvx_builtin_table("presence");

	key_and_data[0] = by_session ? PointerGetDatum(cvx_value_text(&session_id)) :
		PointerGetDatum(user_id);
	key_and_data[1] = PointerGetDatum(cvx_value_text(&room_id));
	key_and_data[2] = JsonbPGetDatum(cvx_value_jsonb(&data));
	key_and_data[3] = Float8GetDatum(cvx_date_now());

	cvx_spi_connect();
	if (by_session)
		updated = heartbeat_in_place(presence, key_and_data);
	if (updated < 0)
		updated = cvx_write(presence, CVX_WRITE_UPDATE,
							presence_plan(by_session ? HEARTBEAT_BY_SESSION : HEARTBEAT_BY_USER),
							key_and_data, NULL) > 0;
	if (updated == 0)
	{
		/* first heartbeat: insert, or update the row a racing call inserted */
		row[0] = PointerGetDatum(cvx_new_id(presence->number));
		row[1] = Float8GetDatum(cvx_next_creation_time());
		row[2] = key_and_data[1];
		row[3] = PointerGetDatum(user_id);
		/* sessionId is stored as passed, "" included */
		row[4] = by_session ? key_and_data[0] :
			has_session ? PointerGetDatum(cvx_value_text(&session_id)) : (Datum) 0;
		row[5] = key_and_data[2];
		row[6] = key_and_data[3];
		memcpy(row_nulls, "       ", 8);
		row_nulls[3] = user_id == NULL ? 'n' : ' ';
		row_nulls[4] = has_session ? ' ' : 'n';
		(void) cvx_write(presence, CVX_WRITE_INSERT,
						 presence_plan(by_session ? UPSERT_BY_SESSION : UPSERT_BY_USER),
						 row, row_nulls);
	}
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/*
 * convex_presence_leave(args): remove this session's (or, without a
 * session, the signed-in user's first) presence in the room; idempotent.
 */
Datum
convex_presence_leave(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	room_id;
	CvxValue	session_id;
	bool		by_session;
	text	   *user_id;
	Datum		key[2];

	cvx_read_args(fcinfo, &leave_validator, cvx_presence_leave_args, &args);
	user_id = cvx_auth_user_id();
	/* as in update, "" counts as no session */
	by_session = cvx_args_field(&args, "sessionId", &session_id) &&
		session_id.len > 0;
	if (user_id == NULL && !by_session)
		PG_RETURN_VOID();

	(void) cvx_args_field(&args, "roomId", &room_id);
	key[0] = by_session ? PointerGetDatum(cvx_value_text(&session_id)) :
		PointerGetDatum(user_id);
	key[1] = PointerGetDatum(cvx_value_text(&room_id));

	cvx_spi_connect();
	(void) cvx_write(cvx_builtin_table("presence"), CVX_WRITE_DELETE,
					 presence_plan(by_session ? LEAVE_BY_SESSION : LEAVE_BY_USER),
					 key, NULL);
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/*
 * convex_presence_cleanup(args): internal; delete presence not seen for 30
 * seconds and return how many rows went.
 */
Datum
convex_presence_cleanup(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	Datum		cutoff[1];
	uint64		deleted;

	cvx_read_args(fcinfo, &cleanup_validator, cvx_presence_cleanup_args, &args);

	cutoff[0] = Float8GetDatum(cvx_date_now() - PRESENCE_TIMEOUT_MS);
	cvx_spi_connect();
	deleted = cvx_write(cvx_builtin_table("presence"), CVX_WRITE_DELETE,
						presence_plan(CLEANUP), cutoff, NULL);
	cvx_spi_finish();
	PG_RETURN_INT32((int32) Min(deleted, (uint64) PG_INT32_MAX));
}

/* args: {roomId: string} */
static const char *const list_args =
"{\"type\":\"object\",\"value\":{"
"\"roomId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false}}}";

static CvxValidator *list_validator = NULL;
static SPIPlanPtr list_plan = NULL;

/* presence.list's clock and where lastSeen is among a document's values */
typedef struct FreshPresence
{
	double		now;
	int			last_seen;
} FreshPresence;

/* Is a presence entry fresh: now - lastSeen < PRESENCE_TIMEOUT, as the seed filters? */
static bool
presence_is_fresh(CvxTable *table, const Datum *values, const bool *nulls, void *arg)
{
	FreshPresence *fresh = arg;

	return !nulls[fresh->last_seen] &&
		fresh->now - DatumGetFloat8(values[fresh->last_seen]) < PRESENCE_TIMEOUT_MS;
}

/*
 * presence.list: the room's presence by index by_room, keeping only the
 * entries the seed keeps, now - lastSeen < PRESENCE_TIMEOUT (the same
 * expression, evaluated in the scan; now is read once, as the seed's
 * Date.now()).  Stored presence passed the presence schema, the app's
 * presenceValidator.
 */
static Jsonb *
presence_list(FunctionCallInfo fcinfo)
{
	MemoryContext caller_context = CurrentMemoryContext;
	MemoryContext work;
	bool		used;
	CvxValue	args;
	CvxValue	room;
	CvxTable   *presence;
	Datum		values[2];
	Oid			argtypes[2] = {TEXTOID, FLOAT8OID};
	CvxJsonbArray array;
	Jsonb	   *result;
	FreshPresence fresh;
	CvxIndexRead read = {"by_room", "presence_by_room", F_TEXTEQ, {0, 0}, presence_is_fresh, &fresh};

	cvx_read_args(fcinfo, &list_validator, list_args, &args);
	(void) cvx_args_field(&args, "roomId", &room);
	values[0] = PointerGetDatum(cvx_value_text(&room));
	values[1] = Float8GetDatum(cvx_date_now());
	presence = cvx_builtin_table("presence");

	fresh.now = DatumGetFloat8(values[1]);
	fresh.last_seen = cvx_column_index(presence, "lastSeen") + 2;
	read.values[0] = values[0];
	read.values[1] = values[1];
	cvx_spi_connect();
	work = cvx_reads_context_begin(&used);
	cvx_jsonb_array_init(&array);
	cvx_push_index_range(&array, presence, &read,
						 cvx_index_range_plan(&list_plan, presence, "room_id",
											  "($2 OPERATOR(pg_catalog.-) last_seen) "
											  "OPERATOR(pg_catalog.<) " CppAsString2(PRESENCE_TIMEOUT_MS)
											  "::pg_catalog.float8",
											  2, argtypes),
						 NULL);
	result = cvx_reads_context_end(work, used, cvx_jsonb_array_finish(&array, caller_context),
								   caller_context);
	cvx_spi_finish();
	return result;
}

/* convex_presence_list(args): presence.list, {roomId} -> Doc<"presence">[] (fresh ones) */
Datum
convex_presence_list(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "presence:list", presence_list);
}
