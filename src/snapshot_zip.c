/*-------------------------------------------------------------------------
 *
 * snapshot_zip.c
 *	  Reading a ZIP archive held in a large object, with libzip.
 *
 * libzip reads through a zip_source of our own whose callbacks seek and
 * read the large object (lo_lseek64/loread on a descriptor opened with the
 * caller's rights), a read-ahead buffer at a time: the archive is never
 * in memory whole, whatever its size.  Also the line reader the snapshot
 * import reads documents.jsonl with, and the checks of entry names.
 *
 * Errors inside the callbacks (an I/O error of the large object) leave
 * libzip through ereport's longjmp; the archive is then discarded by the
 * caller's PG_CATCH (cvx_zip_close), and libzip's own memory (malloc) is
 * freed there.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "libpq/be-fsstubs.h"
#include "miscadmin.h"
#include "libpq/libpq-fs.h"
#include "common/base64.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include "snapshot.h"

/* How much of the large object one read fetches */
#define READ_AHEAD (1024 * 1024)

/* The state behind the zip_source */
typedef struct LoSource
{
	int32		fd;				/* large object descriptor */
	int64		size;			/* its length */
	int64		offset;			/* libzip's position */
	int64		buffer_start;	/* offset of buffer[0] in the object */
	int			buffer_len;
	char	   *buffer;
	MemoryContext read_context; /* loread's results, reset per read */
	zip_error_t error;
} LoSource;

/* Seek the large object; returns the new offset */
static int64
lo_seek(int32 fd, int64 offset, int whence)
{
	return DatumGetInt64(DirectFunctionCall3(be_lo_lseek64, Int32GetDatum(fd),
											 Int64GetDatum(offset), Int32GetDatum(whence)));
}

/* Copy up to len bytes at the source's offset into data */
static zip_int64_t
lo_source_read(LoSource *src, char *data, zip_uint64_t len)
{
	zip_uint64_t done = 0;

	while (done < len && src->offset < src->size)
	{
		int64		in_buffer = src->offset - src->buffer_start;
		zip_uint64_t take;

		if (in_buffer < 0 || in_buffer >= src->buffer_len)
		{
			MemoryContext old = MemoryContextSwitchTo(src->read_context);
			bytea	   *chunk;

			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(src->read_context);
			lo_seek(src->fd, src->offset, SEEK_SET);
			/* sequential reads fetch READ_AHEAD; a jump (a header) a little */
			chunk = DatumGetByteaPP(DirectFunctionCall2(be_loread, Int32GetDatum(src->fd),
														Int32GetDatum(src->offset == src->buffer_start + src->buffer_len ?
																	  READ_AHEAD : Max(Min(len, READ_AHEAD), 16384))));
			MemoryContextSwitchTo(old);
			src->buffer_start = src->offset;
			src->buffer_len = VARSIZE_ANY_EXHDR(chunk);
			memcpy(src->buffer, VARDATA_ANY(chunk), src->buffer_len);
			MemoryContextReset(src->read_context);
			if (src->buffer_len == 0)
				break;
			in_buffer = 0;
		}
		take = Min(len - done, (zip_uint64_t) (src->buffer_len - in_buffer));
		memcpy(data + done, src->buffer + in_buffer, take);
		done += take;
		src->offset += take;
	}
	return (zip_int64_t) done;
}

/* libzip's callback: the commands of a seekable, readable source */
static zip_int64_t
lo_source_callback(void *state, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	LoSource   *src = state;

	switch (cmd)
	{
		case ZIP_SOURCE_OPEN:
			src->offset = 0;
			return 0;
		case ZIP_SOURCE_READ:
			return lo_source_read(src, data, len);
		case ZIP_SOURCE_CLOSE:
			return 0;
		case ZIP_SOURCE_STAT:
			{
				zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &src->error);

				if (st == NULL)
					return -1;
				zip_stat_init(st);
				st->size = (zip_uint64_t) src->size;
				st->valid |= ZIP_STAT_SIZE;
				return sizeof(*st);
			}
		case ZIP_SOURCE_ERROR:
			return zip_error_to_data(&src->error, data, len);
		case ZIP_SOURCE_FREE:
			return 0;
		case ZIP_SOURCE_SEEK:
			{
				zip_int64_t offset = zip_source_seek_compute_offset((zip_uint64_t) src->offset,
																	(zip_uint64_t) src->size,
																	data, len, &src->error);

				if (offset < 0)
					return -1;
				src->offset = offset;
				return 0;
			}
		case ZIP_SOURCE_TELL:
			return src->offset;
		case ZIP_SOURCE_SUPPORTS:
			return ZIP_SOURCE_SUPPORTS_SEEKABLE;
		default:
			zip_error_set(&src->error, ZIP_ER_OPNOTSUPP, 0);
			return -1;
	}
}

/*
 * Open the ZIP archive in large object snapshot (read with the current
 * user's rights: 42501 without SELECT on it, 42704 if it does not exist).
 * Not a ZIP archive (or a truncated one, whose central directory is gone):
 * XX001.
 */
zip_t *
cvx_zip_open_lo(Oid snapshot)
{
	LoSource   *src = palloc0(sizeof(LoSource));
	zip_source_t *zs;
	zip_t	   *za;
	zip_error_t error;
	int			errorp;

	src->fd = DatumGetInt32(DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(snapshot),
												Int32GetDatum(INV_READ)));
	src->size = lo_seek(src->fd, 0, SEEK_END);
	src->buffer = palloc(READ_AHEAD);
	src->buffer_start = -1;
	src->read_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite zip read",
											  ALLOCSET_DEFAULT_SIZES);
	zip_error_init(&src->error);
	zip_error_init(&error);
	zs = zip_source_function_create(lo_source_callback, src, &error);
	if (zs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not read the snapshot: %s", zip_error_strerror(&error))));
	za = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &error);
	if (za == NULL)
	{
		char	   *reason = pstrdup(zip_error_strerror(&error));

		errorp = zip_error_code_zip(&error);
		zip_source_free(zs);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("large object %u is not a readable ZIP archive: %s", snapshot, reason),
				 errhint(errorp == ZIP_ER_NOZIP ?
						 "A snapshot is the .zip file of npx convex export; a truncated file has lost its central directory." : 0)));
	}
	return za;
}

/* Discard an archive opened by cvx_zip_open_lo (NULL: nothing) */
void
cvx_zip_close(zip_t *za)
{
	if (za != NULL)
		zip_discard(za);
}

/*
 * Is an entry name safe to act on?  No absolute paths, no "." or ".."
 * components, no empty components, no backslashes or control characters:
 * the names of a snapshot are table folders and file names, and anything
 * else is refused before a byte is imported (22023).
 */
void
cvx_zip_check_name(const char *name)
{
	const char *component = name;
	const char *why = NULL;

	if (name[0] == '\0')
		why = "an empty name";
	else if (name[0] == '/')
		why = "an absolute path";
	for (const char *p = name; why == NULL; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			size_t		n = p - component;

			if (n == 0 && *p == '/')
				why = "an empty path component";
			else if ((n == 1 && component[0] == '.') ||
					 (n == 2 && component[0] == '.' && component[1] == '.'))
				why = "a \".\" or \"..\" component";
			if (*p == '\0')
				break;
			component = p + 1;
		}
		else if (*p == '\\')
			why = "a backslash";
		else if ((unsigned char) *p < 0x20 || *p == 0x7f)
			why = "a control character";
	}
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the snapshot has an unsafe entry name \"%s\": %s",
						cvx_clip_name(name, strlen(name)), why)));
}

/* Start reading entry index of za line by line */
void
cvx_zip_lines_open(CvxZipLines *lines, zip_t *za, zip_uint64_t index, const char *name)
{
	memset(lines, 0, sizeof(*lines));
	lines->name = name;
	lines->file = zip_fopen_index(za, index, 0);
	if (lines->file == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not open \"%s\" in the snapshot: %s", name, zip_strerror(za))));
	lines->buffer = palloc(CVX_ZIP_LINE_CHUNK);
	initStringInfo(&lines->line);
}

/*
 * The next line (without its newline) in lines->line; false at the end.
 * A line longer than CVX_ZIP_MAX_LINE is 54000; a read error (bad CRC,
 * truncated data) is XX001.  Empty lines are skipped.
 */
bool
cvx_zip_lines_next(CvxZipLines *lines)
{
	resetStringInfo(&lines->line);
	for (;;)
	{
		char	   *newline;

		if (lines->pos == lines->len)
		{
			zip_int64_t n;

			if (lines->eof)
				break;
			n = zip_fread(lines->file, lines->buffer, CVX_ZIP_LINE_CHUNK);
			if (n < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("could not read \"%s\" in the snapshot: %s", lines->name,
								zip_file_strerror(lines->file))));
			lines->pos = 0;
			lines->len = (int) n;
			lines->bytes += n;
			if (n == 0)
			{
				lines->eof = true;
				break;
			}
		}
		newline = memchr(lines->buffer + lines->pos, '\n', lines->len - lines->pos);
		{
			int			take = newline != NULL ?
				(int) (newline - (lines->buffer + lines->pos)) : lines->len - lines->pos;

			if ((int64) lines->line.len + take > CVX_ZIP_MAX_LINE)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("line %lld of \"%s\" in the snapshot is longer than %d bytes",
								(long long) lines->lineno + 1, lines->name, CVX_ZIP_MAX_LINE)));
			appendBinaryStringInfo(&lines->line, lines->buffer + lines->pos, take);
			lines->pos += take;
			if (newline != NULL)
			{
				lines->pos++;
				lines->lineno++;
				if (lines->line.len > 0)
					return true;
			}
		}
	}
	if (lines->line.len > 0)
	{
		lines->lineno++;
		return true;
	}
	return false;
}

/* Finish reading an entry */
void
cvx_zip_lines_close(CvxZipLines *lines)
{
	if (lines->file != NULL)
		zip_fclose(lines->file);
	lines->file = NULL;
}

/* Append {"$<kind>": base64 of 8 little-endian bytes} */
static void
append_special(StringInfo out, const char *kind, uint64 bits)
{
	uint8		le[8];
	char		encoded[16];
	int			len;

	for (int i = 0; i < 8; i++)
		le[i] = (uint8) (bits >> (8 * i));
	len = pg_b64_encode((const char *) le, 8, encoded, sizeof(encoded));
	appendStringInfo(out, "{\"$%s\":\"%.*s\"}", kind, len, encoded);
}

/* The end of the string token that starts at in[i] (the opening quote): the index after it */
static int
string_end(const char *in, int len, int i)
{
	for (i++; i < len && in[i] != '"'; i++)
		if (in[i] == '\\')
			i++;
	return Min(i + 1, len);
}

/* The end of the number token that starts at in[i]; is_float says whether it has '.', 'e' or 'E' */
static int
number_end(const char *in, int len, int i, bool *is_float)
{
	*is_float = false;
	while (i < len && (in[i] == '-' || in[i] == '+' || in[i] == '.' ||
					   in[i] == 'e' || in[i] == 'E' || (in[i] >= '0' && in[i] <= '9')))
	{
		if (in[i] == '.' || in[i] == 'e' || in[i] == 'E')
			*is_float = true;
		i++;
	}
	return i;
}

/* Append a number token of export JSON as wire JSON */
static void
append_number(StringInfo out, const char *in, int n, bool is_float)
{
	char		token[64];

	if (n >= (int) sizeof(token))
	{
		/* too long for an int64 or a float64 worth keeping: as it is */
		appendBinaryStringInfo(out, in, n);
		return;
	}
	memcpy(token, in, n);
	token[n] = '\0';
	if (!is_float)
	{
		char	   *end;
		long long	value;

		errno = 0;
		value = strtoll(token, &end, 10);
		if (errno != 0 || *end != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("integer %s is not a valid int64", token)));
		append_special(out, "integer", (uint64) value);
	}
	else if (token[0] == '-' && strtod(token, NULL) == 0.0)
	{
		double		negative_zero = -0.0;
		uint64		bits;

		memcpy(&bits, &negative_zero, 8);
		append_special(out, "float", bits);
	}
	else
		appendBinaryStringInfo(out, token, n);
}

/*
 * Convex's export JSON (ValueFormat::ConvexExportJSON, "uniform") to the
 * JSON convexlite's documents use (convex-js's wire JSON): an integer
 * literal (no '.', 'e' or 'E') is an int64 and becomes {"$integer": …};
 * a float literal equal to -0 becomes {"$float": …} (a jsonb number has
 * no -0); everything else is the same in both.  One pass over the text.
 * An integer outside int64's range is 22023.  When id is not NULL, the
 * top-level members "_id" and "_creationTime" are left out of out: the
 * id's characters go to id, the creation time's number text to
 * creation_time (each left empty when missing or not of that type).
 */
void
cvx_export_json_to_wire(const char *in, int len, StringInfo out,
						StringInfo id, StringInfo creation_time)
{
	int			depth = 0;
	bool		expect_key = false;
	bool		pending_comma = false;
	int			members = 0;
	int			i = 0;

	while (i < len)
	{
		char		c = in[i];

		if (c == '"')
		{
			int			end = string_end(in, len, i);

			if (depth == 1 && expect_key)
			{
				int			key_len = end - i - 2;
				bool		system = id != NULL &&
					((key_len == 3 && memcmp(in + i + 1, "_id", 3) == 0) ||
					 (key_len == 13 && memcmp(in + i + 1, "_creationTime", 13) == 0));

				expect_key = false;
				if (system)
				{
					bool		is_id = key_len == 3;
					int			v = end;
					bool		is_float;

					while (v < len && (in[v] == ' ' || in[v] == ':' || in[v] == '\t'))
						v++;
					if (v < len && in[v] == '"')
					{
						int			vend = string_end(in, len, v);

						if (is_id)
							appendBinaryStringInfo(id, in + v + 1, Max(vend - v - 2, 0));
						i = vend;
					}
					else if (v < len && (in[v] == '-' || (in[v] >= '0' && in[v] <= '9')))
					{
						int			vend = number_end(in, len, v, &is_float);

						if (!is_id)
							appendBinaryStringInfo(creation_time, in + v, vend - v);
						i = vend;
					}
					else
						i = v;	/* another type: left in place, refused later */
					continue;
				}
				if (pending_comma && members > 0)
					appendStringInfoChar(out, ',');
				pending_comma = false;
				members++;
			}
			appendBinaryStringInfo(out, in + i, end - i);
			i = end;
		}
		else if (c == '-' || (c >= '0' && c <= '9'))
		{
			bool		is_float;
			int			end = number_end(in, len, i, &is_float);

			append_number(out, in + i, end - i, is_float);
			i = end;
		}
		else
		{
			if (c == '{' || c == '[')
			{
				depth++;
				if (depth == 1 && c == '{')
					expect_key = true;
			}
			else if (c == '}' || c == ']')
				depth--;
			else if (c == ',' && depth == 1 && id != NULL)
			{
				pending_comma = true;
				expect_key = true;
				i++;
				continue;
			}
			else if (c == ',' && depth == 1)
				expect_key = true;
			appendStringInfoChar(out, c);
			i++;
		}
	}
}
