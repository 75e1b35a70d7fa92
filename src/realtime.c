/*-------------------------------------------------------------------------
 *
 * realtime.c
 *	  Realtime: every write convexlite makes is announced with NOTIFY on
 *	  channel convex_<table>, so clients can LISTEN as Convex clients
 *	  subscribe to queries.
 *
 * PostgreSQL delivers a notification only when the transaction that sent
 * it commits, drops it when the transaction (or the subtransaction that
 * sent it) rolls back, and folds identical notifications of one
 * transaction into one.  The payload is a small JSON object:
 *
 *	  {"op":"insert","table":"messages","_id":"…","roomId":"lobby"}
 *
 * op is insert, update or delete.  _storage's notifications carry no _id:
 * a storage id lets whoever holds it read the blob (convex_storage_get is
 * public, as Convex's file URLs are), so it is never broadcast.  Besides
 * _id a notification carries only the fields
 * a client filters by, as listed in the catalog's notify column (roomId for
 * messages and presence; a user table's owner chooses them with
 * convex_table_notify): every role that can connect may LISTEN, so a
 * payload carries no other data.  A
 * filter field whose JSON text is longer than CVX_NOTIFY_MAX_FIELD bytes
 * is left out and "truncated":true is set instead, which keeps every
 * payload far below PostgreSQL's 8000-byte limit.
 *
 * Every write statement returns (RETURNING) the _id and the filter
 * columns of the rows it touched; cvx_notify_rows turns each into a
 * notification, which notify_relay.c sends on commit.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/float.h"
#include "utils/json.h"

/* convexlite.notify: send the notifications (superuser-only) */
static bool cvx_notify_enabled = true;

/* The column a RETURNING list names when an upsert tells what it did */
#define INSERTED_COLUMN "cvx_inserted"

/* Register convexlite.notify */
void
cvx_realtime_init(void)
{
	DefineCustomBoolVariable("convexlite.notify",
							 "Announce every committed write with NOTIFY on channel convex_<table>.",
							 "Turning it off (superuser-only) saves the cost of NOTIFY for bulk work no client watches.",
							 &cvx_notify_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * Read a table's filter fields from the catalog's notify column (a JSON
 * array of field names) into positions in table->columns.  A name that is
 * no longer a field of the table is skipped.
 */
void
cvx_describe_notify_fields(CvxTable *table, Jsonb *fields)
{
	JsonbIterator *it;
	JsonbValue	value;
	JsonbIteratorToken token;

	table->nnotify_fields = 0;
	if (fields == NULL || !JB_ROOT_IS_ARRAY(fields))
		return;
	it = JsonbIteratorInit(&fields->root);
	while ((token = JsonbIteratorNext(&it, &value, true)) != WJB_DONE)
	{
		int			column;

		if (token != WJB_ELEM || value.type != jbvString)
			continue;
		column = cvx_find_column(table, pnstrdup(value.val.string.val, value.val.string.len));
		if (column >= 0 && table->nnotify_fields < CVX_MAX_NOTIFY_FIELDS)
			table->notify_fields[table->nnotify_fields++] = column;
	}
}

/*
 * Append the RETURNING clause a write statement of this table needs for
 * its notifications: the _id and the filter columns; then the indexed
 * columns the write's conflict locks are keyed by (conflicts.c).
 */
void
cvx_append_notify_returning(StringInfo sql, CvxTable *table)
{
	appendStringInfoString(sql, " RETURNING _id");
	for (int i = 0; i < table->nnotify_fields; i++)
		appendStringInfo(sql, ", %s",
						 quote_identifier(table->columns[table->notify_fields[i]].column));
	cvx_append_indexed_returning(sql, table);
}

/*
 * The channel of a table: convex_<table> (table names have at most 43
 * characters, so this always fits PostgreSQL's 63)
 */
static void
table_channel(CvxTable *table, char *channel)
{
	snprintf(channel, NAMEDATALEN, "convex_%s", table->name);
}

/* Append one filter field's value as JSON; false if it has no JSON form here */
static bool
append_field_value(StringInfo out, Oid type, Datum value)
{
	switch (type)
	{
		case TEXTOID:
			escape_json(out, TextDatumGetCString(value));
			return true;
		case FLOAT8OID:
			{
				double		number = DatumGetFloat8(value);

				if (isnan(number) || isinf(number))
					return false;
				appendStringInfoString(out, float8out_internal(number));
				return true;
			}
		case BOOLOID:
			appendStringInfoString(out, DatumGetBool(value) ? "true" : "false");
			return true;
		default:
			return false;
	}
}

/*
 * Send one notification per row a write returned.  rows holds the _id and
 * the filter columns (and for an upsert, whether it inserted); kind tells
 * the operation.
 */
void
cvx_notify_rows(CvxTable *table, CvxWriteKind kind, SPITupleTable *rows, uint64 nrows)
{
	TupleDesc	tupdesc;
	char		channel[NAMEDATALEN];
	int			id_attno;
	int			inserted_attno;
	int			field_attnos[CVX_MAX_NOTIFY_FIELDS];
	StringInfoData payload;
	StringInfoData value;
	bool		with_id;

	if (!cvx_notify_enabled || nrows == 0 || rows == NULL)
		return;
	/* a storage id lets its holder read the blob: it is never broadcast */
	with_id = strcmp(table->name, "_storage") != 0;
	tupdesc = rows->tupdesc;
	id_attno = SPI_fnumber(tupdesc, "_id");
	if (id_attno <= 0)
		elog(ERROR, "convexlite: a write to \"%s\" did not return _id", table->name);
	inserted_attno = SPI_fnumber(tupdesc, INSERTED_COLUMN);
	for (int i = 0; i < table->nnotify_fields; i++)
		field_attnos[i] = SPI_fnumber(tupdesc, table->columns[table->notify_fields[i]].column);
	table_channel(table, channel);

	initStringInfo(&payload);
	initStringInfo(&value);
	for (uint64 row = 0; row < nrows; row++)
	{
		HeapTuple	tuple = rows->vals[row];
		const char *op;
		bool		isnull;
		bool		truncated = false;
		Datum		id;

		switch (kind)
		{
			case CVX_WRITE_INSERT:
				op = "insert";
				if (inserted_attno > 0)
				{
					Datum		inserted = SPI_getbinval(tuple, tupdesc, inserted_attno, &isnull);

					if (!isnull && !DatumGetBool(inserted))
						op = "update";
				}
				break;
			case CVX_WRITE_DELETE:
				op = "delete";
				break;
			default:
				op = "update";
				break;
		}
		id = SPI_getbinval(tuple, tupdesc, id_attno, &isnull);
		if (isnull)
			continue;

		resetStringInfo(&payload);
		appendStringInfo(&payload, "{\"op\":\"%s\",\"table\":", op);
		escape_json(&payload, table->name);
		if (with_id)
		{
			appendStringInfoString(&payload, ",\"_id\":");
			escape_json(&payload, TextDatumGetCString(id));
		}
		for (int i = 0; i < table->nnotify_fields; i++)
		{
			const CvxColumn *column = &table->columns[table->notify_fields[i]];
			Datum		datum;

			if (field_attnos[i] <= 0)
				continue;
			datum = heap_getattr(tuple, field_attnos[i], tupdesc, &isnull);
			if (isnull)
				continue;		/* a missing optional field */
			resetStringInfo(&value);
			if (!append_field_value(&value, column->type_oid, datum))
				continue;
			if (value.len > CVX_NOTIFY_MAX_FIELD)
			{
				truncated = true;
				continue;
			}
			appendStringInfoChar(&payload, ',');
			escape_json(&payload, column->field->name);
			appendStringInfoChar(&payload, ':');
			appendBinaryStringInfo(&payload, value.data, value.len);
		}
		if (truncated)
			appendStringInfoString(&payload, ",\"truncated\":true");
		appendStringInfoChar(&payload, '}');
		cvx_notify_send(channel, payload.data);
	}
	pfree(payload.data);
	pfree(value.data);
}
