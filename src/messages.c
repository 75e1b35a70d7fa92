/*-------------------------------------------------------------------------
 *
 * messages.c
 *	  The seed app's messages module: messages.list, messages.send and
 *	  messages.remove.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"

PG_FUNCTION_INFO_V1(convex_messages_send);
PG_FUNCTION_INFO_V1(convex_messages_remove);
PG_FUNCTION_INFO_V1(convex_messages_list);

/* args: {roomId: string, content: string, userName: string, sessionId?: string} */
const char *const cvx_messages_send_args =
"{\"type\":\"object\",\"value\":{"
"\"roomId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"content\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"userName\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"sessionId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

/* args: {messageId: Id<"messages">, sessionId?: string} */
const char *const cvx_messages_remove_args =
"{\"type\":\"object\",\"value\":{"
"\"messageId\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"messages\"},\"optional\":false},"
"\"sessionId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

/* args: {roomId: string} */
static const char *const list_args =
"{\"type\":\"object\",\"value\":{"
"\"roomId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false}}}";

static CvxValidator *list_validator = NULL;
static SPIPlanPtr list_plan = NULL;
static CvxValidator *send_validator = NULL;
static CvxValidator *remove_validator = NULL;

/*
 * convex_messages_send(args): insert a message into a room; the signed-in
 * user, if any, becomes its userId.  Returns the new Id<"messages">.
 */
Datum
convex_messages_send(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxTable   *messages;
	Datum		values[5];
	bool		nulls[5];
	text	   *user_id;
	text	   *id;
	int			user_index;

	cvx_read_args(fcinfo, &send_validator, cvx_messages_send_args, &args);
	user_id = cvx_auth_user_id();

	messages = cvx_builtin_table("messages");
	if (messages->ncolumns != lengthof(values))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("convex._tables describes table \"messages\" with %d fields, not %d",
						messages->ncolumns, (int) lengthof(values))));
	cvx_set_string_field(messages, values, nulls, &args, "roomId");
	cvx_set_string_field(messages, values, nulls, &args, "content");
	cvx_set_string_field(messages, values, nulls, &args, "userName");
	cvx_set_string_field(messages, values, nulls, &args, "sessionId");
	user_index = cvx_column_index(messages, "userId");
	values[user_index] = PointerGetDatum(user_id);
	nulls[user_index] = (user_id == NULL);

	cvx_spi_connect();
	id = cvx_spi_return_text(cvx_db_insert_row(messages, values, nulls));
	cvx_spi_finish();
	PG_RETURN_TEXT_P(id);
}

/*
 * The remove statement: delete the message only when the caller may (the
 * rule of cvx_may_remove, in SQL), so that checking and deleting are one
 * statement
 */
static SPIPlanPtr
remove_plan(CvxTable *messages)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	StringInfoData sql;

	if (plan != NULL)
		return plan;
	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "DELETE FROM convex.messages WHERE _id OPERATOR(pg_catalog.=) $1 "
						   "AND (user_id IS NULL OR user_id OPERATOR(pg_catalog.=) $2 "
						   "OR (session_id OPERATOR(pg_catalog.<>) '' "
						   "AND session_id OPERATOR(pg_catalog.=) $3))");
	cvx_append_notify_returning(&sql, messages);
	plan = cvx_prepare(sql.data, 3, argtypes);
	pfree(sql.data);
	return plan;
}

/*
 * convex_messages_remove(args): delete a message if the caller may: it has
 * no owner, the caller owns it, or it carries the caller's non-empty
 * sessionId.  Otherwise, and when it is already gone, nothing happens.
 */
Datum
convex_messages_remove(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	message_id;
	CvxValue	session_id;
	CvxTable   *messages;
	Datum		values[3];
	char		nulls[4] = "   ";
	text	   *user_id;

	cvx_read_args(fcinfo, &remove_validator, cvx_messages_remove_args, &args);
	user_id = cvx_auth_user_id();

	(void) cvx_args_field(&args, "messageId", &message_id);
	values[0] = PointerGetDatum(cvx_value_text(&message_id));
	values[1] = PointerGetDatum(user_id);
	if (user_id == NULL)
		nulls[1] = 'n';
	if (cvx_args_field(&args, "sessionId", &session_id))
		values[2] = PointerGetDatum(cvx_value_text(&session_id));
	else
		nulls[2] = 'n';
	messages = cvx_builtin_table("messages");

	cvx_spi_connect();
	(void) cvx_write(messages, CVX_WRITE_DELETE, remove_plan(messages), values, nulls);
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/*
 * messages.list: the room's messages by index by_room, ascending
 * (roomId, then _creationTime), as one index scan.  Every stored message
 * passed the messages schema, which is the app's messageValidator, so
 * the result meets its returns validator by construction.
 */
static Jsonb *
messages_list(FunctionCallInfo fcinfo)
{
	MemoryContext caller_context = CurrentMemoryContext;
	MemoryContext work;
	bool		used;
	CvxValue	args;
	CvxValue	room;
	CvxTable   *messages;
	Datum		values[1];
	Oid			argtypes[1] = {TEXTOID};
	CvxJsonbArray array;
	Jsonb	   *result;
	CvxIndexRead read = {"by_room", "messages_by_room", F_TEXTEQ, {0, 0}, NULL, NULL};

	cvx_read_args(fcinfo, &list_validator, list_args, &args);
	(void) cvx_args_field(&args, "roomId", &room);
	values[0] = PointerGetDatum(cvx_value_text(&room));
	messages = cvx_builtin_table("messages");

	read.values[0] = values[0];
	cvx_spi_connect();
	work = cvx_reads_context_begin(&used);
	cvx_jsonb_array_init(&array);
	cvx_push_index_range(&array, messages, &read,
						 cvx_index_range_plan(&list_plan, messages, "room_id", NULL, 1, argtypes),
						 NULL);
	result = cvx_reads_context_end(work, used, cvx_jsonb_array_finish(&array, caller_context),
								   caller_context);
	cvx_spi_finish();
	return result;
}

/* convex_messages_list(args): messages.list, {roomId} -> Doc<"messages">[] */
Datum
convex_messages_list(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "messages:list", messages_list);
}
