/*-------------------------------------------------------------------------
 *
 * snapshot_export.c
 *	  convex_export: the database as a Convex snapshot ZIP in a new large
 *	  object, in the layout and JSON encoding of npx convex export.
 *
 * libzip writes the archive through a zip_source of our own over the new
 * large object (buffered lowrite, lseek for the headers it rewrites), and
 * reads each entry's data from zip_sources of our own as it writes it:
 * a table's documents from an SPI cursor a batch at a time, a file from
 * its blob a chunk at a time.  Nothing is in memory whole.  The layout is
 * what convex_import (and npx convex import) reads: README.md,
 * _tables/documents.jsonl, <table>/documents.jsonl and
 * generated_schema.jsonl ("uniform"), and with include_files
 * _storage/documents.jsonl and _storage/<id>; convexlite adds
 * _scheduled_functions/documents.jsonl with the pending jobs (Convex's
 * import skips system tables it does not know).
 *
 * The export reads one snapshot of the database (the caller's statement
 * snapshot); run it in a REPEATABLE READ transaction for a consistent
 * export when writers are busy (each cursor takes the statement's snapshot).
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "libpq/be-fsstubs.h"
#include "libpq/libpq-fs.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "snapshot.h"

PG_FUNCTION_INFO_V1(convex_export);

/* Rows fetched from a cursor at a time */
#define FETCH_ROWS 500
/* Bytes buffered before a lowrite */
#define WRITE_BUFFER (1024 * 1024)
/* Bytes of a blob read at a time */
#define BLOB_CHUNK (256 * 1024)

static const char readme[] =
"# Welcome to your Convex snapshot export!\n\n"
"This ZIP file contains a snapshot of the tables in your convexlite database,\n"
"in the format of npx convex export.\n\n"
"Documents for each table are listed as lines of JSON in\n"
"<table_name>/documents.jsonl files.\n";

/* ---------------------------------------------------------------------
 * The archive: a writable zip_source over the output large object
 * ---------------------------------------------------------------------
 */
typedef struct LoSink
{
	int32		fd;
	int64		offset;			/* where the buffer starts in the object */
	int64		length;			/* the object's length so far */
	StringInfoData buffer;
	zip_error_t error;
} LoSink;

/* Write out the buffer at sink->offset */
static void
sink_flush(LoSink *sink)
{
	bytea	   *chunk;

	if (sink->buffer.len == 0)
		return;
	chunk = palloc(VARHDRSZ + sink->buffer.len);
	SET_VARSIZE(chunk, VARHDRSZ + sink->buffer.len);
	memcpy(VARDATA(chunk), sink->buffer.data, sink->buffer.len);
	DirectFunctionCall3(be_lo_lseek64, Int32GetDatum(sink->fd), Int64GetDatum(sink->offset),
						Int32GetDatum(SEEK_SET));
	DirectFunctionCall2(be_lowrite, Int32GetDatum(sink->fd), PointerGetDatum(chunk));
	pfree(chunk);
	sink->offset += sink->buffer.len;
	sink->length = Max(sink->length, sink->offset);
	resetStringInfo(&sink->buffer);
}

/* libzip's callback for the archive being written */
static zip_int64_t
sink_callback(void *state, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	LoSink	   *sink = state;

	switch (cmd)
	{
		case ZIP_SOURCE_OPEN:
		case ZIP_SOURCE_CLOSE:
		case ZIP_SOURCE_FREE:
		case ZIP_SOURCE_REMOVE:
		case ZIP_SOURCE_ROLLBACK_WRITE:
			return 0;
		case ZIP_SOURCE_READ:
			return 0;			/* a new archive: nothing to read */
		case ZIP_SOURCE_STAT:
			{
				zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &sink->error);

				if (st == NULL)
					return -1;
				zip_stat_init(st);
				st->size = 0;
				st->valid |= ZIP_STAT_SIZE;
				return sizeof(*st);
			}
		case ZIP_SOURCE_ERROR:
			return zip_error_to_data(&sink->error, data, len);
		case ZIP_SOURCE_BEGIN_WRITE:
			sink->offset = 0;
			sink->length = 0;
			resetStringInfo(&sink->buffer);
			return 0;
		case ZIP_SOURCE_WRITE:
			CHECK_FOR_INTERRUPTS();
			appendBinaryStringInfo(&sink->buffer, data, (int) len);
			if (sink->buffer.len >= WRITE_BUFFER)
				sink_flush(sink);
			return (zip_int64_t) len;
		case ZIP_SOURCE_COMMIT_WRITE:
			sink_flush(sink);
			return 0;
		case ZIP_SOURCE_TELL_WRITE:
			return sink->offset + sink->buffer.len;
		case ZIP_SOURCE_SEEK_WRITE:
			{
				zip_int64_t target;

				sink_flush(sink);
				target = zip_source_seek_compute_offset((zip_uint64_t) sink->offset,
														(zip_uint64_t) sink->length,
														data, len, &sink->error);
				if (target < 0)
					return -1;
				sink->offset = target;
				return 0;
			}
		case ZIP_SOURCE_SEEK:
		case ZIP_SOURCE_TELL:
			return 0;
		case ZIP_SOURCE_SUPPORTS:
			return ZIP_SOURCE_SUPPORTS_WRITABLE;
		default:
			zip_error_set(&sink->error, ZIP_ER_OPNOTSUPP, 0);
			return -1;
	}
}

/* ---------------------------------------------------------------------
 * Convex's export JSON
 * ---------------------------------------------------------------------
 */

/* A base64 special's 8 little-endian bytes, or false */
static bool
special_bits(JsonbValue *v, uint64 *bits)
{
	uint8		raw[16];
	int			n;

	if (v->type != jbvString || v->val.string.len > 16)
		return false;
	n = pg_b64_decode(v->val.string.val, v->val.string.len, (char *) raw, sizeof(raw));
	if (n != 8)
		return false;
	*bits = 0;
	for (int i = 7; i >= 0; i--)
		*bits = (*bits << 8) | raw[i];
	return true;
}

static void emit_value(StringInfo out, JsonbValue *v);

/* A container (object or array) in export JSON */
static void
emit_container(StringInfo out, JsonbContainer *c)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken token;
	bool		first = true;

	if (JsonContainerIsObject(c) && JsonContainerSize(c) == 1)
	{
		/* {"$integer": …} is an int64: a JSON integer; {"$float": -0} is -0.0 */
		JsonbValue *special;
		uint64		bits;

		if ((special = getKeyJsonValueFromContainer(c, "$integer", 8, NULL)) != NULL &&
			special_bits(special, &bits))
		{
			appendStringInfo(out, "%lld", (long long) (int64) bits);
			return;
		}
		if ((special = getKeyJsonValueFromContainer(c, "$float", 6, NULL)) != NULL &&
			special_bits(special, &bits))
		{
			double		d;

			memcpy(&d, &bits, 8);
			if (isfinite(d))
			{
				char		buf[64];

				snprintf(buf, sizeof(buf), "%.17g", d);
				appendStringInfoString(out, buf);
				if (strpbrk(buf, ".eE") == NULL)
					appendStringInfoString(out, ".0");
				return;
			}
		}
	}
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (token)
		{
			case WJB_BEGIN_OBJECT:
				appendStringInfoChar(out, '{');
				break;
			case WJB_END_OBJECT:
				appendStringInfoChar(out, '}');
				break;
			case WJB_BEGIN_ARRAY:
				appendStringInfoChar(out, '[');
				break;
			case WJB_END_ARRAY:
				appendStringInfoChar(out, ']');
				break;
			case WJB_KEY:
				if (!first)
					appendStringInfoChar(out, ',');
				first = false;
				escape_json(out, pnstrdup(v.val.string.val, v.val.string.len));
				appendStringInfoChar(out, ':');
				break;
			case WJB_VALUE:
				emit_value(out, &v);
				break;
			case WJB_ELEM:
				if (!first)
					appendStringInfoChar(out, ',');
				first = false;
				emit_value(out, &v);
				break;
			default:
				break;
		}
	}
}

/*
 * One value in Convex's export JSON (ValueFormat::ConvexExportJSON): a
 * float64 always with a '.' or an exponent, an int64 as a JSON integer,
 * bytes and non-finite floats in their $-forms.
 */
static void
emit_value(StringInfo out, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(out, "null");
			break;
		case jbvBool:
			appendStringInfoString(out, v->val.boolean ? "true" : "false");
			break;
		case jbvString:
			escape_json(out, pnstrdup(v->val.string.val, v->val.string.len));
			break;
		case jbvNumeric:
			{
				double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																   NumericGetDatum(v->val.numeric)));
				char		buf[64];

				/* the shortest text that reads back as the same float64 */
				snprintf(buf, sizeof(buf), "%.17g", d);
				for (int p = 1; p <= 17; p++)
				{
					char		shorter[64];

					snprintf(shorter, sizeof(shorter), "%.*g", p, d);
					if (strtod(shorter, NULL) == d)
					{
						strlcpy(buf, shorter, sizeof(buf));
						break;
					}
				}
				appendStringInfoString(out, buf);
				if (strpbrk(buf, ".eEn") == NULL)
					appendStringInfoString(out, ".0");
				break;
			}
		case jbvBinary:
			emit_container(out, v->val.binary.data);
			break;
		default:
			elog(ERROR, "convexlite: unexpected jsonb value type %d", (int) v->type);
	}
}

/* ---------------------------------------------------------------------
 * Entry data: a table's documents, a text, a blob
 * ---------------------------------------------------------------------
 */
typedef enum EntryKind
{
	ENTRY_TEXT,					/* a fixed text */
	ENTRY_DOCUMENTS,			/* the documents of a table, a line each */
	ENTRY_STORAGE_METADATA,		/* _storage/documents.jsonl */
	ENTRY_BLOB					/* a file's bytes */
} EntryKind;

typedef struct EntrySource
{
	EntryKind	kind;
	const char *text;			/* ENTRY_TEXT */
	CvxTable   *table;			/* ENTRY_DOCUMENTS */
	const char *query;			/* ENTRY_DOCUMENTS, ENTRY_STORAGE_METADATA */
	Oid			blob;			/* ENTRY_BLOB */
	int32		blob_fd;
	SPIPlanPtr	plan;			/* kept by cvx_prepare: freed at close */
	Portal		portal;
	bool		done;
	StringInfoData pending;		/* produced, not yet read by libzip */
	int			pending_pos;
	MemoryContext batch_context;
	zip_error_t error;
} EntrySource;

/* Produce more of a source's data into pending; false at its end */
static bool
entry_fill(EntrySource *src)
{
	MemoryContext old;

	resetStringInfo(&src->pending);
	src->pending_pos = 0;
	if (src->done)
		return false;
	CHECK_FOR_INTERRUPTS();
	switch (src->kind)
	{
		case ENTRY_TEXT:
			appendStringInfoString(&src->pending, src->text);
			src->done = true;
			break;
		case ENTRY_BLOB:
			{
				bytea	   *chunk;

				old = MemoryContextSwitchTo(src->batch_context);
				chunk = DatumGetByteaPP(DirectFunctionCall2(be_loread, Int32GetDatum(src->blob_fd),
															Int32GetDatum(BLOB_CHUNK)));
				MemoryContextSwitchTo(old);
				appendBinaryStringInfo(&src->pending, VARDATA_ANY(chunk), VARSIZE_ANY_EXHDR(chunk));
				MemoryContextReset(src->batch_context);
				if (VARSIZE_ANY_EXHDR(chunk) == 0)
					src->done = true;
				break;
			}
		case ENTRY_DOCUMENTS:
		case ENTRY_STORAGE_METADATA:
			SPI_cursor_fetch(src->portal, true, FETCH_ROWS);
			if (SPI_processed == 0)
				src->done = true;
			old = MemoryContextSwitchTo(src->batch_context);
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				if (src->kind == ENTRY_DOCUMENTS)
				{
					Jsonb	   *doc = cvx_row_to_document(src->table, SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc);

					emit_container(&src->pending, &doc->root);
				}
				else
				{
					/* _id, _creationTime, sha256, size, contentType */
					HeapTuple	tuple = SPI_tuptable->vals[i];
					TupleDesc	desc = SPI_tuptable->tupdesc;
					bool		isnull;
					char	   *content_type;
					char		number[64];
					double		created = DatumGetFloat8(SPI_getbinval(tuple, desc, 2, &isnull));

					appendStringInfoString(&src->pending, "{\"_id\":");
					escape_json(&src->pending, SPI_getvalue(tuple, desc, 1));
					snprintf(number, sizeof(number), "%.17g", created);
					appendStringInfo(&src->pending, ",\"_creationTime\":%s%s,\"sha256\":", number,
									 strpbrk(number, ".eE") ? "" : ".0");
					escape_json(&src->pending, SPI_getvalue(tuple, desc, 3));
					appendStringInfo(&src->pending, ",\"size\":%lld,\"contentType\":",
									 (long long) DatumGetFloat8(SPI_getbinval(tuple, desc, 4, &isnull)));
					content_type = SPI_getvalue(tuple, desc, 5);
					if (content_type == NULL)
						appendStringInfoString(&src->pending, "null");
					else
						escape_json(&src->pending, content_type);
					appendStringInfoChar(&src->pending, '}');
				}
				appendStringInfoChar(&src->pending, '\n');
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(src->batch_context);
			SPI_freetuptable(SPI_tuptable);
			break;
	}
	return src->pending.len > 0 || !src->done;
}

/* libzip's callback for an entry's data */
static zip_int64_t
entry_callback(void *state, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	EntrySource *src = state;

	switch (cmd)
	{
		case ZIP_SOURCE_OPEN:
			src->done = false;
			resetStringInfo(&src->pending);
			src->pending_pos = 0;
			if (src->kind == ENTRY_DOCUMENTS || src->kind == ENTRY_STORAGE_METADATA)
			{
				/* planned and opened under the pinned search_path */
				src->plan = cvx_prepare(src->query, 0, NULL);
				src->portal = cvx_cursor_open(src->plan, NULL, NULL, true);
			}
			else if (src->kind == ENTRY_BLOB)
				src->blob_fd = DatumGetInt32(DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(src->blob),
																 Int32GetDatum(INV_READ)));
			return 0;
		case ZIP_SOURCE_READ:
			{
				zip_uint64_t done = 0;

				while (done < len)
				{
					zip_uint64_t take;

					if (src->pending_pos >= src->pending.len && !entry_fill(src))
						break;
					take = Min(len - done, (zip_uint64_t) (src->pending.len - src->pending_pos));
					memcpy((char *) data + done, src->pending.data + src->pending_pos, take);
					src->pending_pos += take;
					done += take;
				}
				return (zip_int64_t) done;
			}
		case ZIP_SOURCE_CLOSE:
			if (src->portal != NULL)
				SPI_cursor_close(src->portal);
			src->portal = NULL;
			if (src->plan != NULL)
				SPI_freeplan(src->plan);
			src->plan = NULL;
			if (src->kind == ENTRY_BLOB)
				DirectFunctionCall1(be_lo_close, Int32GetDatum(src->blob_fd));
			return 0;
		case ZIP_SOURCE_STAT:
			{
				zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &src->error);

				if (st == NULL)
					return -1;
				zip_stat_init(st);
				st->mtime = time(NULL);
				st->valid |= ZIP_STAT_MTIME;
				return sizeof(*st);
			}
		case ZIP_SOURCE_ERROR:
			return zip_error_to_data(&src->error, data, len);
		case ZIP_SOURCE_FREE:
			return 0;
		case ZIP_SOURCE_SUPPORTS:
			return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
												  ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
												  ZIP_SOURCE_SUPPORTS, -1);
		default:
			zip_error_set(&src->error, ZIP_ER_OPNOTSUPP, 0);
			return -1;
	}
}

/* Add an entry whose data comes from src */
static void
add_entry(zip_t *za, const char *name, EntrySource *src)
{
	zip_error_t error;
	zip_source_t *zs;

	src->batch_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite export batch",
											   ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&src->pending);
	zip_error_init(&src->error);
	zip_error_init(&error);
	zs = zip_source_function_create(entry_callback, src, &error);
	if (zs == NULL || zip_file_add(za, name, zs, ZIP_FL_ENC_UTF_8) < 0)
	{
		if (zs != NULL)
			zip_source_free(zs);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not add \"%s\" to the snapshot: %s", name, zip_strerror(za))));
	}
}

/* A fixed text entry */
static void
add_text(zip_t *za, const char *name, const char *text)
{
	EntrySource *src = palloc0(sizeof(EntrySource));

	src->kind = ENTRY_TEXT;
	src->text = text;
	add_entry(za, name, src);
}

/* SELECT _id, _creation_time, every column FROM convex.t [WHERE] ORDER BY _creation_time */
static char *
documents_query(CvxTable *table, const char *where)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT _id, _creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(table->columns[i].column));
	appendStringInfo(&sql, " FROM %s.%s %s ORDER BY _creation_time, _id", CVX_SCHEMA,
					 quote_identifier(table->name), where);
	return sql.data;
}

/* The documents of a table (and its generated_schema.jsonl) */
static void
add_table(zip_t *za, CvxTable *table, const char *where)
{
	EntrySource *src = palloc0(sizeof(EntrySource));

	src->kind = ENTRY_DOCUMENTS;
	src->table = table;
	src->query = documents_query(table, where);
	add_entry(za, psprintf("%s/documents.jsonl", table->name), src);
	if (!table->is_system)
		add_text(za, psprintf("%s/generated_schema.jsonl", table->name), "\"uniform\"\n");
}

/*
 * convex_export(include_files boolean DEFAULT true) RETURNS oid: every
 * table (and with include_files every file) as a Convex snapshot ZIP in a
 * new large object of the caller's.
 */
Datum
convex_export(PG_FUNCTION_ARGS)
{
	bool		include_files;
	Oid			result;
	LoSink	   *sink = palloc0(sizeof(LoSink));
	zip_source_t *zs;
	zip_t	   *za;
	zip_error_t error;
	StringInfoData tables;
	List	   *user_tables = NIL;
	ListCell   *lc;
	int			rc;
	Oid			saved_user;
	int			saved_context;

	cvx_require_argument(fcinfo, 0, "include_files");
	include_files = PG_GETARG_BOOL(0);

	/* the archive's large object is the caller's */
	result = DatumGetObjectId(DirectFunctionCall1(be_lo_create, ObjectIdGetDatum(InvalidOid)));
	sink->fd = DatumGetInt32(DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(result),
												 Int32GetDatum(INV_WRITE)));
	initStringInfo(&sink->buffer);
	zip_error_init(&sink->error);
	zip_error_init(&error);
	zs = zip_source_function_create(sink_callback, sink, &error);
	if (zs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not start the snapshot: %s", zip_error_strerror(&error))));
	za = zip_open_from_source(zs, ZIP_CREATE | ZIP_TRUNCATE, &error);
	if (za == NULL)
	{
		zip_source_free(zs);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the snapshot: %s", zip_error_strerror(&error))));
	}

	/* the tables and files are read as the extension schema's owner */
	cvx_become_schema_owner(&saved_user, &saved_context);
	cvx_spi_connect();
	rc = cvx_execute_once("SELECT name FROM convex._tables WHERE NOT pg_catalog.starts_with(name, '_') ORDER BY number", true);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: reading convex._tables failed");
	for (uint64 i = 0; i < SPI_processed; i++)
		user_tables = lappend(user_tables, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));

	add_text(za, "README.md", readme);
	initStringInfo(&tables);
	foreach(lc, user_tables)
	{
		CvxTable   *table = cvx_table_by_name(lfirst(lc), strlen(lfirst(lc)));

		appendStringInfoString(&tables, "{\"name\":");
		escape_json(&tables, table->name);
		appendStringInfo(&tables, ",\"id\":%u}\n", table->number);
	}
	add_text(za, "_tables/documents.jsonl", tables.data);
	foreach(lc, user_tables)
		add_table(za, cvx_table_by_name(lfirst(lc), strlen(lfirst(lc))), "");
	add_table(za, cvx_builtin_table("_scheduled_functions"),
			  "WHERE (state OPERATOR(pg_catalog.->>) 'kind') OPERATOR(pg_catalog.=) 'pending'");

	if (include_files)
	{
		EntrySource *meta = palloc0(sizeof(EntrySource));

		meta->kind = ENTRY_STORAGE_METADATA;
		meta->query = "SELECT _id, _creation_time, sha256, size, content_type FROM convex._storage "
			"ORDER BY _creation_time, _id";
		add_entry(za, "_storage/documents.jsonl", meta);
		rc = cvx_execute_once("SELECT _id, blob FROM convex._storage ORDER BY _creation_time, _id", true);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "convexlite: reading convex._storage failed");
		{
			uint64		nfiles = SPI_processed;
			SPITupleTable *files = SPI_tuptable;

			for (uint64 i = 0; i < nfiles; i++)
			{
				EntrySource *src = palloc0(sizeof(EntrySource));
				bool		isnull;

				src->kind = ENTRY_BLOB;
				src->blob = DatumGetObjectId(SPI_getbinval(files->vals[i], files->tupdesc, 2, &isnull));
				add_entry(za, psprintf("_storage/%s", SPI_getvalue(files->vals[i], files->tupdesc, 1)), src);
			}
		}
	}

	/* libzip now reads every entry's source and writes the archive */
	if (zip_close(za) < 0)
	{
		char	   *reason = pstrdup(zip_strerror(za));

		zip_discard(za);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not write the snapshot: %s", reason)));
	}
	cvx_spi_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	DirectFunctionCall1(be_lo_close, Int32GetDatum(sink->fd));
	PG_RETURN_OID(result);
}
