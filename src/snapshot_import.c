/*-------------------------------------------------------------------------
 *
 * snapshot_import.c
 *	  convex_import: load a Convex snapshot ZIP (npx convex export) held in
 *	  a large object, every _id and _creationTime kept.
 *
 * The layout, as convex-backend writes it: _tables/documents.jsonl lists
 * {"name", "id"} (table name and number) of every user table;
 * <table>/documents.jsonl holds one document per line in Convex's export
 * JSON ($integer, $bytes, $float); _storage/documents.jsonl holds
 * {"_id", "_creationTime", "sha256", "size", "contentType"} per file and
 * _storage/<id>[.ext] the file itself; <table>/generated_schema.jsonl and
 * README.md are not needed.  convexlite's own export adds
 * _scheduled_functions/documents.jsonl (Convex skips it), whose pending
 * jobs are imported.
 *
 * Everything happens in the caller's transaction: an error anywhere
 * leaves the database as it was.  Every entry is checked before the first
 * row is written (names, compression, sizes); documents are read a line
 * at a time through libzip from the large object, each in a memory
 * context reset per line, so memory stays flat however large the
 * snapshot.  The tables must be defined first (convex_define_schema); in
 * modes require_empty and replace they take the snapshot's table numbers,
 * which their ids encode.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "libpq/be-fsstubs.h"
#include "libpq/libpq-fs.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "snapshot.h"

PG_FUNCTION_INFO_V1(convex_import);

/* convexlite.import_max_size: the most a snapshot may decompress to (MB) */
static int	import_max_size_mb = 65536;

/* At most this many entries in an archive */
#define MAX_ENTRIES 10000000
/* An entry above 1 MiB that claims more than this ratio is not deflate's */
#define MAX_RATIO 1100
/* Bytes copied into a blob at a time */
#define FILE_CHUNK (256 * 1024)

typedef enum ImportMode
{
	MODE_REQUIRE_EMPTY,
	MODE_REPLACE,
	MODE_APPEND
} ImportMode;

/* One table of the snapshot */
typedef struct ImportTable
{
	char		name[NAMEDATALEN];
	int64		snapshot_number;	/* from _tables/documents.jsonl; 0 if not listed */
	zip_int64_t docs_index;		/* <name>/documents.jsonl, or -1 */
	zip_uint64_t docs_size;		/* its uncompressed size */
	zip_int64_t schema_index;	/* <name>/generated_schema.jsonl, or -1 */
	bool		pending_only;	/* _scheduled_functions: pending jobs only */
	int64		documents;
	int64		skipped;
} ImportTable;

/* A file of _storage/, by id */
typedef struct StorageFile
{
	char		id[CVX_ID_MAX_LENGTH + 1];	/* hash key */
	zip_uint64_t index;
	bool		used;
} StorageFile;

/* What the scan of the archive found */
typedef struct ZipSnapshot
{
	zip_t	   *za;
	List	   *tables;			/* ImportTable *, user tables */
	ImportTable *scheduled;		/* _scheduled_functions, or NULL */
	zip_int64_t tables_index;	/* _tables/documents.jsonl, or -1 */
	zip_int64_t storage_index;	/* _storage/documents.jsonl, or -1 */
	HTAB	   *files;			/* StorageFile by id */
	ImportMode	mode;
	char	   *prefix;			/* the folder the snapshot is in ("" at the top) */
	size_t		prefix_len;
	int64		nfiles;
	int64		files_imported;
	int64		file_bytes;
} ZipSnapshot;

/* Where the import is, for error context */
static const char *current_entry = NULL;
static const int64 *current_line = NULL;

/* Error context: the entry and line being imported */
static void
import_error_context(void *arg)
{
	if (current_entry == NULL)
		return;
	if (current_line != NULL && *current_line > 0)
		errcontext("snapshot entry \"%s\", line %lld", current_entry,
				   (long long) *current_line);
	else
		errcontext("snapshot entry \"%s\"", current_entry);
}

/* Register convexlite.import_max_size */
void
cvx_snapshot_init(void)
{
	DefineCustomIntVariable("convexlite.import_max_size",
							"The most a snapshot imported by convex_import may decompress to.",
							"Checked against the sizes in the ZIP's directory before anything is imported (54000).",
							&import_max_size_mb, 65536, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
}

/* Find or add the ImportTable of a name */
static ImportTable *
snapshot_table(ZipSnapshot *snap, const char *name, size_t len)
{
	ListCell   *lc;
	ImportTable *t;

	if (len == 0 || len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the snapshot names a table \"%s\" that is not a valid table name",
						cvx_clip_name(name, len))));
	foreach(lc, snap->tables)
	{
		t = lfirst(lc);
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	}
	t = palloc0(sizeof(ImportTable));
	memcpy(t->name, name, len);
	t->docs_index = -1;
	t->schema_index = -1;
	snap->tables = lappend(snap->tables, t);
	return t;
}

/* Refuse an entry that appears twice */
static void
set_once(zip_int64_t *slot, zip_uint64_t index, const char *name)
{
	if (*slot >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the snapshot has \"%s\" twice", name)));
	*slot = (zip_int64_t) index;
}

/* Does a path (of len bytes) have a _components/ folder in it? */
static bool
in_component(const char *path, size_t len)
{
	for (size_t i = 0; i + 12 <= len; i++)
		if ((i == 0 || path[i - 1] == '/') && strncmp(path + i, "_components/", 12) == 0)
			return true;
	return false;
}

/*
 * The folder the snapshot is in: where its (the app's, not a component's)
 * _tables/documents.jsonl is.  npx convex export puts it at the top; a
 * snapshot unzipped and zipped again has it in one folder, which Convex's
 * import accepts (it ignores any folder before <table>/), so does this.
 */
static void
find_prefix(ZipSnapshot *snap, zip_int64_t n)
{
	static const char marker[] = "_tables/documents.jsonl";
	size_t		marker_len = sizeof(marker) - 1;
	bool		found = false;

	snap->prefix = "";
	snap->prefix_len = 0;
	for (zip_int64_t i = 0; i < n; i++)
	{
		const char *name = zip_get_name(snap->za, i, 0);
		size_t		len = name != NULL ? strlen(name) : 0;
		size_t		plen;

		if (len < marker_len || strcmp(name + len - marker_len, marker) != 0)
			continue;
		plen = len - marker_len;
		if ((plen > 0 && name[plen - 1] != '/') || in_component(name, plen))
			continue;
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the snapshot has two _tables/documents.jsonl outside _components/ (\"%s\" and \"%s_tables/documents.jsonl\")",
							name, snap->prefix)));
		found = true;
		snap->prefix = pnstrdup(name, plen);
		snap->prefix_len = plen;
	}
}

/*
 * Look at every entry before importing anything: names (cvx_zip_check_name),
 * encryption and compression (stored or deflated only), the sizes the
 * directory claims (convexlite.import_max_size in total, no entry above
 * deflate's ratio), and what each entry is.
 */
static void
scan_snapshot(ZipSnapshot *snap)
{
	zip_int64_t n = zip_get_num_entries(snap->za, 0);
	uint64		total = 0;
	HASHCTL		ctl;

	if (n > MAX_ENTRIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the snapshot has %lld entries, more than %d", (long long) n, MAX_ENTRIES)));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = CVX_ID_MAX_LENGTH + 1;
	ctl.entrysize = sizeof(StorageFile);
	ctl.hcxt = CurrentMemoryContext;
	snap->files = hash_create("convexlite snapshot files", 256, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	snap->tables_index = -1;
	snap->storage_index = -1;
	find_prefix(snap, n);

	for (zip_int64_t i = 0; i < n; i++)
	{
		zip_stat_t	st;
		const char *name;
		const char *slash;
		const char *rest;
		size_t		folder_len;

		if (zip_stat_index(snap->za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read entry %lld of the snapshot: %s", (long long) i,
							zip_strerror(snap->za))));
		name = st.name;
		cvx_zip_check_name(name);
		if (name[strlen(name) - 1] == '/')
			continue;			/* a folder */
		if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("entry \"%s\" of the snapshot is encrypted", name)));
		if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("entry \"%s\" of the snapshot uses compression method %d: only stored and deflated entries are read",
							name, (int) st.comp_method)));
		total += st.size;
		if (total > (uint64) import_max_size_mb * 1024 * 1024)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the snapshot decompresses to more than convexlite.import_max_size (%d MB)",
							import_max_size_mb),
					 errhint("A legitimate snapshot this large needs a larger convexlite.import_max_size.")));
		if (st.size > 1024 * 1024 && st.size / Max(st.comp_size, 1) > MAX_RATIO)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("entry \"%s\" of the snapshot claims a compression ratio above %d:1 (%llu bytes from %llu): not a snapshot but a ZIP bomb",
							name, MAX_RATIO, (unsigned long long) st.size,
							(unsigned long long) st.comp_size)));

		if (in_component(name, strlen(name)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the snapshot has component data (\"%s\"): convexlite imports only the app's own tables",
							name)));
		if (strncmp(name, snap->prefix, snap->prefix_len) != 0)
		{
			/* outside the snapshot's folder: only documents matter */
			if (strlen(name) >= 16 && strcmp(name + strlen(name) - 16, "/documents.jsonl") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the snapshot has documents (\"%s\") outside the folder of its _tables/documents.jsonl (\"%s\")",
								name, snap->prefix)));
			continue;
		}
		name += snap->prefix_len;
		slash = strchr(name, '/');
		if (slash == NULL)
			continue;			/* README.md and the like */
		folder_len = slash - name;
		rest = slash + 1;
		if (strchr(rest, '/') != NULL)
		{
			if (strcmp(strrchr(rest, '/'), "/documents.jsonl") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("the snapshot has documents in a nested folder (\"%s\"): convexlite reads <table>/documents.jsonl at the top of the archive",
								name)));
			continue;
		}
		if (strcmp(rest, "documents.jsonl") == 0)
		{
			if (folder_len == 7 && strncmp(name, "_tables", 7) == 0)
				set_once(&snap->tables_index, i, name);
			else if (folder_len == 8 && strncmp(name, "_storage", 8) == 0)
				set_once(&snap->storage_index, i, name);
			else if (folder_len == 20 && strncmp(name, "_scheduled_functions", 20) == 0)
			{
				if (snap->scheduled != NULL)
					set_once(&snap->scheduled->docs_index, i, name);
				snap->scheduled = palloc0(sizeof(ImportTable));
				strlcpy(snap->scheduled->name, "_scheduled_functions", NAMEDATALEN);
				snap->scheduled->snapshot_number = CVX_SCHEDULED_TABLE_NUMBER;
				snap->scheduled->docs_index = i;
				snap->scheduled->pending_only = true;
			}
			else if (name[0] != '_')	/* other system tables: skipped, as Convex does */
			{
				ImportTable *t = snapshot_table(snap, name, folder_len);

				set_once(&t->docs_index, i, name);
				t->docs_size = st.size;
			}
		}
		else if (strcmp(rest, "generated_schema.jsonl") == 0 && name[0] != '_')
			set_once(&snapshot_table(snap, name, folder_len)->schema_index, i, name);
		else if (folder_len == 8 && strncmp(name, "_storage", 8) == 0)
		{
			/* _storage/<id>[.extension] */
			size_t		id_len = strcspn(rest, ".");
			CvxId		id;
			StorageFile *file;
			bool		found;

			if (cvx_id_decode(rest, id_len, &id) != CVX_ID_OK)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the snapshot has a file \"%s\" whose name is not a storage id", name)));
			if (id.table_number != CVX_STORAGE_TABLE_NUMBER)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("file \"%s\" of the snapshot is named by an id of table number %u, not _storage's %d",
								name, id.table_number, CVX_STORAGE_TABLE_NUMBER)));
			file = hash_search(snap->files, pnstrdup(rest, id_len), HASH_ENTER, &found);
			if (found)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the snapshot has two files for storage id %.*s", (int) id_len, rest)));
			file->index = (zip_uint64_t) i;
			file->used = false;
			snap->nfiles++;
		}
		/* generated_schema.jsonl and anything else: not needed */
	}
}

/* Parse one JSON line into jsonb (22P02 on malformed JSON) */
static Jsonb *
parse_line(CvxZipLines *lines)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(lines->line.data)));
}

/* A member of an object, or NULL */
static JsonbValue *
member(Jsonb *object, const char *key)
{
	if (!JB_ROOT_IS_OBJECT(object))
		return NULL;
	return getKeyJsonValueFromContainer(&object->root, key, strlen(key), NULL);
}

/* A JSON number member as a double, or NAN */
static double
number_member(Jsonb *object, const char *key)
{
	JsonbValue *v = member(object, key);

	if (v == NULL || v->type != jbvNumeric)
		return NAN;
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* Read _tables/documents.jsonl: every user table's name and number */
static void
read_tables(ZipSnapshot *snap)
{
	CvxZipLines lines;
	ListCell   *lc;

	if (snap->tables_index < 0)
	{
		if (snap->tables != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the snapshot has table folders but no _tables/documents.jsonl"),
					 errdetail("npx convex export writes the table numbers there; without them the ids cannot be kept.")));
		return;
	}
	current_entry = "_tables/documents.jsonl";
	cvx_zip_lines_open(&lines, snap->za, snap->tables_index, current_entry);
	current_line = &lines.lineno;
	while (cvx_zip_lines_next(&lines))
	{
		Jsonb	   *row = parse_line(&lines);
		JsonbValue *name = member(row, "name");
		double		number = number_member(row, "id");
		ImportTable *t;

		if (name == NULL || name->type != jbvString || isnan(number) ||
			number != floor(number) || number <= 10000 || number > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every line of _tables/documents.jsonl must be {\"name\": table, \"id\": a user table number above 10000}")));
		t = snapshot_table(snap, name->val.string.val, name->val.string.len);
		if (t->snapshot_number != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("_tables/documents.jsonl lists table \"%s\" twice", t->name)));
		t->snapshot_number = (int64) number;
		foreach(lc, snap->tables)
		{
			ImportTable *other = lfirst(lc);

			if (other != t && other->snapshot_number == t->snapshot_number)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("_tables/documents.jsonl gives tables \"%s\" and \"%s\" the same number %lld",
								other->name, t->name, (long long) t->snapshot_number)));
		}
	}
	cvx_zip_lines_close(&lines);
	current_line = NULL;
	current_entry = NULL;
	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);

		if (t->snapshot_number == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("table folder \"%s\" of the snapshot is not listed in _tables/documents.jsonl", t->name)));
	}
}

/*
 * Refuse a table in Convex's legacy export format: its
 * generated_schema.jsonl starts with the inferred shape of its documents
 * (a JSON string other than "uniform", followed by per-document
 * overrides), and its documents.jsonl holds values whose types only that
 * shape tells (0A000).  Current exports write "uniform"; a table without
 * documents (whose shape is "never") needs nothing.
 */
static void
check_generated_schemas(ZipSnapshot *snap)
{
	ListCell   *lc;

	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);
		CvxZipLines lines;
		char	   *entry;
		Jsonb	   *first;
		JsonbValue	marker;
		bool		uniform = false;

		if (t->schema_index < 0 || t->docs_index < 0 || t->docs_size == 0)
			continue;
		entry = psprintf("%s/generated_schema.jsonl", t->name);
		current_entry = entry;
		cvx_zip_lines_open(&lines, snap->za, t->schema_index, entry);
		current_line = &lines.lineno;
		if (cvx_zip_lines_next(&lines))
		{
			first = parse_line(&lines);
			uniform = JB_ROOT_IS_SCALAR(first) && JsonbExtractScalar(&first->root, &marker) &&
				marker.type == jbvString && marker.val.string.len == 7 &&
				memcmp(marker.val.string.val, "uniform", 7) == 0;
		}
		cvx_zip_lines_close(&lines);
		current_line = NULL;
		if (!uniform)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" of the snapshot is in Convex's legacy export format: its generated_schema.jsonl does not say \"uniform\"",
							t->name),
					 errhint("Export the deployment again with a current npx convex export, which writes every value in the uniform format.")));
		current_entry = NULL;
	}
}

/* Run a statement through SPI, expecting rc */
static void
run(const char *sql, int expected)
{
	int			rc = cvx_execute_once(sql, false);

	if (rc != expected)
		elog(ERROR, "convexlite: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* Does convex.<name> hold any row? */
static bool
table_has_rows(const char *name)
{
	run(psprintf("SELECT 1 FROM %s.%s LIMIT 1", CVX_SCHEMA, quote_identifier(name)), SPI_OK_SELECT);
	return SPI_processed > 0;
}

/* The convexlite table of a snapshot table, which must be defined */
static CvxTable *
defined_table(const char *name)
{
	CvxTable   *table = cvx_table_by_name(name, strlen(name));

	if (table == NULL || table->is_system)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table \"%s\" of the snapshot is not defined in convexlite", name),
				 errhint("Define the app's tables first: SELECT convex_define_schema(<the JSON of your schema>).")));
	return table;
}

/*
 * Lock the tables the import writes (EXCLUSIVE: readers go on, writers
 * wait until the import commits), check the caller may write them, and
 * apply the mode: require_empty refuses non-empty ones (55000), replace
 * empties them, append needs the snapshot's table numbers.
 */
static void
prepare_tables(ZipSnapshot *snap, ImportMode mode, bool storage)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, snap->tables)
		names = lappend(names, ((ImportTable *) lfirst(lc))->name);
	if (snap->scheduled != NULL)
		names = lappend(names, snap->scheduled->name);
	if (storage)
		names = lappend(names, "_storage");

	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		CvxTable   *table;

		cvx_lock_table_definition(name);
		table = name[0] == '_' ? cvx_builtin_table(name) : defined_table(name);
		if (!OidIsValid(table->relid))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("convexlite table \"%s\" has no relation in schema convex", name)));
		if (name[0] != '_' &&
			pg_class_aclcheck(table->relid, GetUserId(),
							  ACL_INSERT | (mode == MODE_REPLACE ? ACL_DELETE : 0)) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, table->name);
		LockRelationOid(table->relid, ExclusiveLock);
	}

	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		if (mode == MODE_REQUIRE_EMPTY && table_has_rows(name))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" is not empty: mode require_empty imports only into empty tables", name),
					 errhint("Pass mode 'replace' to delete its documents first, or 'append' to add to them.")));
		if (mode == MODE_REPLACE && name[0] == '_')
		{
			/* system tables and blobs belong to the extension schema's owner */
			Oid			saved_user;
			int			saved_context;

			cvx_become_schema_owner(&saved_user, &saved_context);
			if (strcmp(name, "_storage") == 0)
				run("SELECT pg_catalog.lo_unlink(blob) FROM convex._storage", SPI_OK_SELECT);
			run(psprintf("DELETE FROM %s.%s", CVX_SCHEMA, quote_identifier(name)), SPI_OK_DELETE);
			SetUserIdAndSecContext(saved_user, saved_context);
		}
		else if (mode == MODE_REPLACE)
			run(psprintf("DELETE FROM %s.%s", CVX_SCHEMA, quote_identifier(name)), SPI_OK_DELETE);
	}

	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);
		CvxTable   *table = defined_table(t->name);

		if (mode == MODE_APPEND && table->number != (uint32) t->snapshot_number)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" has number %u here and %lld in the snapshot: append keeps the ids, whose table numbers must match",
							t->name, table->number, (long long) t->snapshot_number),
					 errhint("Use mode 'replace' (or 'require_empty' on empty tables), which gives the tables the snapshot's numbers.")));
	}
}

/*
 * Give every snapshot table the snapshot's table number (its ids encode
 * it).  A table not in the snapshot that holds a wanted number moves to a
 * new one if it is empty (its ids would otherwise change: 55000).  The
 * movers first take fresh numbers, so that swaps never collide.
 */
static void
renumber_tables(ZipSnapshot *snap)
{
	ListCell   *lc;
	bool		changed = false;

	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);
		CvxTable   *table = defined_table(t->name);
		CvxTable   *holder;

		if (table->number == (uint32) t->snapshot_number)
			continue;
		holder = cvx_table_by_number((uint32) t->snapshot_number);
		if (holder != NULL)
		{
			bool		in_snapshot = false;
			ListCell   *lc2;

			foreach(lc2, snap->tables)
				if (strcmp(((ImportTable *) lfirst(lc2))->name, holder->name) == 0)
					in_snapshot = true;
			if (!in_snapshot)
			{
				if (holder->is_system)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("the snapshot gives table \"%s\" number %lld, which is convexlite's \"%s\"",
									t->name, (long long) t->snapshot_number, holder->name)));
				cvx_lock_table_definition(holder->name);
				LockRelationOid(holder->relid, ExclusiveLock);
				if (table_has_rows(holder->name))
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("table \"%s\" holds number %lld, which the snapshot gives \"%s\", and is not empty",
									holder->name, (long long) t->snapshot_number, t->name),
							 errdetail("Its ids encode its number, so it cannot be renumbered.")));
				run(psprintf("UPDATE convex._tables SET number = pg_catalog.nextval('convex._table_number_seq')::pg_catalog.int4 "
							 "WHERE name OPERATOR(pg_catalog.=) %s", quote_literal_cstr(holder->name)),
					SPI_OK_UPDATE);
			}
		}
		run(psprintf("UPDATE convex._tables SET number = pg_catalog.nextval('convex._table_number_seq')::pg_catalog.int4 "
					 "WHERE name OPERATOR(pg_catalog.=) %s", quote_literal_cstr(t->name)),
			SPI_OK_UPDATE);
		changed = true;
	}
	if (!changed)
		return;
	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);

		run(psprintf("UPDATE convex._tables SET number = %lld WHERE name OPERATOR(pg_catalog.=) %s",
					 (long long) t->snapshot_number, quote_literal_cstr(t->name)),
			SPI_OK_UPDATE);
	}
	/* new tables take numbers after every imported one */
	run("SELECT pg_catalog.setval('convex._table_number_seq', "
		"GREATEST((SELECT last_value FROM convex._table_number_seq), "
		"(SELECT pg_catalog.max(number) FROM convex._tables)))", SPI_OK_SELECT);
	CacheInvalidateRelcacheByRelid(get_relname_relid("_tables", get_namespace_oid(CVX_SCHEMA, false)));
	CommandCounterIncrement();
}

/* An _id member: a string that decodes to an id of table number */
static text *
id_member(Jsonb *doc, uint32 number, const char *table)
{
	JsonbValue *v = member(doc, "_id");
	CvxId		id;
	CvxIdStatus status;

	if (v == NULL || v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has no _id string", table)));
	status = cvx_id_decode(v->val.string.val, v->val.string.len, &id);
	if (status != CVX_ID_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has an invalid _id \"%s\": %s", table,
						cvx_clip_name(v->val.string.val, v->val.string.len),
						cvx_id_status_reason(status))));
	if (id.table_number != number)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("document \"%.*s\" in folder \"%s\" is an id of table number %u, not of \"%s\" (%u)",
						v->val.string.len, v->val.string.val, table, id.table_number, table, number)));
	return cstring_to_text_with_len(v->val.string.val, v->val.string.len);
}

/* An _id taken out of a document's text: an id of table number */
static text *
id_value(const char *s, int len, uint32 number, const char *table)
{
	CvxId		id;
	CvxIdStatus status;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has no _id string", table)));
	status = cvx_id_decode(s, len, &id);
	if (status != CVX_ID_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has an invalid _id \"%s\": %s", table,
						cvx_clip_name(s, len), cvx_id_status_reason(status))));
	if (id.table_number != number)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("document \"%.*s\" in folder \"%s\" is an id of table number %u, not of \"%s\" (%u)",
						len, s, table, id.table_number, table, number)));
	return cstring_to_text_with_len(s, len);
}

/* A _creationTime taken out of a document's text: a finite, non-negative number */
static double
creation_time_value(const char *s, const char *table)
{
	char	   *end;
	double		t = s[0] != '\0' ? strtod(s, &end) : NAN;

	if (s[0] == '\0' || *end != '\0' || isnan(t) || isinf(t) || t < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has no valid _creationTime", table)));
	return t;
}

/* A _creationTime member: a finite, non-negative number */
static double
creation_time_member(Jsonb *doc, const char *table)
{
	double		t = number_member(doc, "_creationTime");

	if (isnan(t) || isinf(t) || t < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a document of \"%s\" has no valid _creationTime", table)));
	return t;
}

/* A SHA-256 of a file, as _storage keeps it (standard base64) */
static char *
digest_base64(const uint8 *digest)
{
	char	   *encoded = palloc(64);
	int			len = pg_b64_encode((const char *) digest, PG_SHA256_DIGEST_LENGTH, encoded, 63);

	if (len < 0)
		elog(ERROR, "convexlite: could not encode a SHA-256");
	encoded[len] = '\0';
	return encoded;
}

/*
 * Copy file entry index into a new large object (the extension schema
 * owner's, as uploads are), checking size and sha256 when the metadata
 * gives them (size -1, sha256 NULL: not given); returns its oid, with the
 * file's size and SHA-256 (base64) in *size_out and *sha256_out.
 */
static Oid
import_file(ZipSnapshot *snap, StorageFile *file, const char *id, int64 size, const char *sha256,
			int64 *size_out, char **sha256_out)
{
	zip_file_t *zf = zip_fopen_index(snap->za, file->index, 0);
	pg_cryptohash_ctx *sha;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bytea	   *chunk = palloc(VARHDRSZ + FILE_CHUNK);
	Oid			blob;
	int32		fd;
	int64		copied = 0;

	if (zf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not open the file of storage id %s in the snapshot: %s", id,
						zip_strerror(snap->za))));
	sha = pg_cryptohash_create(PG_SHA256);
	if (sha == NULL || pg_cryptohash_init(sha) < 0)
		elog(ERROR, "convexlite: could not start a SHA-256");
	blob = DatumGetObjectId(DirectFunctionCall1(be_lo_create, ObjectIdGetDatum(InvalidOid)));
	fd = DatumGetInt32(DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(blob),
										   Int32GetDatum(INV_WRITE)));
	for (;;)
	{
		zip_int64_t n;

		CHECK_FOR_INTERRUPTS();
		n = zip_fread(zf, VARDATA(chunk), FILE_CHUNK);
		if (n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read the file of storage id %s in the snapshot: %s", id,
							zip_file_strerror(zf))));
		if (n == 0)
			break;
		copied += n;
		if (size >= 0 && copied > size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the file of storage id %s is larger than its size in _storage/documents.jsonl (%lld bytes)",
							id, (long long) size)));
		if (pg_cryptohash_update(sha, (uint8 *) VARDATA(chunk), n) < 0)
			elog(ERROR, "convexlite: could not compute a SHA-256");
		SET_VARSIZE(chunk, VARHDRSZ + n);
		DirectFunctionCall2(be_lowrite, Int32GetDatum(fd), PointerGetDatum(chunk));
	}
	zip_fclose(zf);
	DirectFunctionCall1(be_lo_close, Int32GetDatum(fd));
	if (pg_cryptohash_final(sha, digest, sizeof(digest)) < 0)
		elog(ERROR, "convexlite: could not compute a SHA-256");
	pg_cryptohash_free(sha);
	*size_out = copied;
	*sha256_out = digest_base64(digest);
	if (size >= 0 && copied != size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the file of storage id %s has %lld bytes, not the %lld of _storage/documents.jsonl",
						id, (long long) copied, (long long) size)));
	if (sha256 != NULL && strcmp(*sha256_out, sha256) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the file of storage id %s does not match its sha256 in _storage/documents.jsonl", id)));
	pfree(chunk);
	return blob;
}

/*
 * Copy a file into a large object and record its _storage row: size and
 * sha256 (-1 and NULL when the metadata does not give them) are checked,
 * the row keeps what the file has.
 */
static void
store_file(ZipSnapshot *snap, SPIPlanPtr plan, StorageFile *file, double created,
		   int64 size, const char *sha256, text *content_type)
{
	Datum		values[6];
	char		nulls[6] = "      ";
	int64		actual_size;
	char	   *actual_sha256;
	int			rc;

	values[5] = ObjectIdGetDatum(import_file(snap, file, file->id, size, sha256,
											 &actual_size, &actual_sha256));
	values[0] = CStringGetTextDatum(file->id);
	values[1] = Float8GetDatum(created);
	values[2] = CStringGetTextDatum(actual_sha256);
	values[3] = Float8GetDatum((double) actual_size);
	if (content_type != NULL)
		values[4] = PointerGetDatum(content_type);
	else
		nulls[4] = 'n';
	rc = cvx_execute(plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "convexlite: recording storage id %s failed", file->id);
	snap->files_imported++;
	snap->file_bytes += actual_size;
}

/* A member that is missing or JSON null */
static bool
member_absent(Jsonb *object, const char *key)
{
	JsonbValue *v = member(object, key);

	return v == NULL || v->type == jbvNull;
}

/*
 * Import _storage/documents.jsonl and every file of _storage/.  As in
 * Convex's import, the metadata's _creationTime, sha256 and size may be
 * missing (a new creation time; the file's own size and SHA-256), and a
 * file without a line in _storage/documents.jsonl is imported all the
 * same, with no content type and a new creation time.  A line whose file
 * is missing is refused (XX001), where Convex would drop it.
 */
static void
import_storage(ZipSnapshot *snap, MemoryContext row_context)
{
	CvxZipLines lines;
	SPIPlanPtr	plan;
	Oid			argtypes[6] = {TEXTOID, FLOAT8OID, TEXTOID, FLOAT8OID, TEXTOID, OIDOID};
	HASH_SEQ_STATUS status;
	StorageFile *file;
	Oid			saved_user;
	int			saved_context;

	if (snap->storage_index < 0 && snap->nfiles == 0)
		return;
	plan = cvx_prepare("INSERT INTO convex._storage (_id, _creation_time, sha256, size, content_type, blob) "
					   "VALUES ($1, $2, $3, $4, $5, $6)", 6, argtypes);
	cvx_become_schema_owner(&saved_user, &saved_context);
	if (snap->storage_index >= 0)
	{
		current_entry = "_storage/documents.jsonl";
		cvx_zip_lines_open(&lines, snap->za, snap->storage_index, current_entry);
		current_line = &lines.lineno;
		while (cvx_zip_lines_next(&lines))
		{
			MemoryContext old = MemoryContextSwitchTo(row_context);
			Jsonb	   *row = parse_line(&lines);
			char	   *id_string = text_to_cstring(id_member(row, CVX_STORAGE_TABLE_NUMBER, "_storage"));
			double		created = member_absent(row, "_creationTime") ?
				cvx_next_creation_time() : creation_time_member(row, "_storage");
			double		size = member_absent(row, "size") ? -1 : number_member(row, "size");
			JsonbValue *sha = member(row, "sha256");
			JsonbValue *content_type = member(row, "contentType");

			if (!member_absent(row, "size") &&
				(isnan(size) || size < 0 || size != floor(size) || size > (double) PG_INT64_MAX / 2))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("storage id %s has no valid size", id_string)));
			if (sha != NULL && sha->type != jbvNull && sha->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("storage id %s has a sha256 that is not a string", id_string)));
			file = hash_search(snap->files, id_string, HASH_FIND, NULL);
			if (file == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("the file of storage id %s is missing from the snapshot", id_string),
						 errhint("Export with npx convex export --include-file-storage.")));
			if (file->used)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("storage id %s is listed twice in _storage/documents.jsonl", id_string)));
			file->used = true;
			store_file(snap, plan, file, created, (int64) size,
					   sha != NULL && sha->type == jbvString ?
					   pnstrdup(sha->val.string.val, sha->val.string.len) : NULL,
					   content_type != NULL && content_type->type == jbvString ?
					   cstring_to_text_with_len(content_type->val.string.val,
												content_type->val.string.len) : NULL);
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_context);
		}
		cvx_zip_lines_close(&lines);
		current_line = NULL;
	}

	/* files that no line describes */
	current_entry = "_storage/";
	hash_seq_init(&status, snap->files);
	while ((file = hash_seq_search(&status)) != NULL)
		if (!file->used)
		{
			MemoryContext old = MemoryContextSwitchTo(row_context);

			file->used = true;
			store_file(snap, plan, file, cvx_next_creation_time(), -1, NULL, NULL);
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_context);
		}
	current_entry = NULL;
	SetUserIdAndSecContext(saved_user, saved_context);
	SPI_freeplan(plan);
}

/*
 * Rows go straight into the table and its indexes, as COPY does
 * (table_tuple_insert with a bulk-insert state, ExecInsertIndexTuples):
 * no statement per row.  convexlite's tables have no triggers, rules or
 * foreign keys; the caller's INSERT right was checked (prepare_tables),
 * NOT NULL is checked here, unique indexes check themselves (23505).
 *
 * A table that had no live row when the import began (require_empty,
 * or replace after its DELETE) gets its rows without index entries and
 * its indexes rebuilt once at the end (reindex_relation, as REINDEX
 * TABLE: a sorted build instead of one descent per row and index, with
 * the unique checks done by the build, still 23505).  The rebuild writes
 * new index files in this transaction, so a rollback keeps the old ones.
 */
typedef struct RowSink
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	BulkInsertState bistate;
	CommandId	cid;
	bool		rebuild_indexes;	/* no index entries per row: rebuilt at close */
	AttrNumber *attno;			/* per value: _id, _creation_time, columns */
	/* rebuild_indexes: rows formed in batch[], written by table_multi_insert */
	TupleTableSlot **batch;
	int			nbatch;
	Size		batch_bytes;
} RowSink;

/* A batch of rows written at once (as COPY's: 1000 rows or 64 kB) */
#define SINK_BATCH_ROWS 1000
#define SINK_BATCH_BYTES 65535

/* Open table for direct inserts; rebuild_indexes: see above */
static RowSink *
sink_open(CvxTable *table, bool rebuild_indexes)
{
	RowSink    *sink = palloc0(sizeof(RowSink));

	sink->rel = table_open(table->relid, RowExclusiveLock);
	sink->estate = CreateExecutorState();
	sink->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(sink->rri, sink->rel, 1, NULL, 0);
	sink->rebuild_indexes = rebuild_indexes;
	if (!rebuild_indexes)
		ExecOpenIndices(sink->rri, false);
	else
	{
		sink->batch = palloc(sizeof(TupleTableSlot *) * SINK_BATCH_ROWS);
		for (int i = 0; i < SINK_BATCH_ROWS; i++)
			sink->batch[i] = table_slot_create(sink->rel, NULL);
	}
	sink->slot = table_slot_create(sink->rel, NULL);
	sink->bistate = GetBulkInsertState();
	sink->cid = GetCurrentCommandId(true);
	sink->attno = palloc(sizeof(AttrNumber) * (table->ncolumns + 2));
	sink->attno[0] = get_attnum(table->relid, "_id");
	sink->attno[1] = get_attnum(table->relid, "_creation_time");
	for (int i = 0; i < table->ncolumns; i++)
		sink->attno[i + 2] = get_attnum(table->relid, table->columns[i].column);
	for (int i = 0; i < table->ncolumns + 2; i++)
		if (sink->attno[i] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("convexlite table \"%s\" lacks a column of its definition", table->name)));
	return sink;
}

/* Write the batched rows (rebuild_indexes) */
static void
sink_flush(RowSink *sink)
{
	if (sink->nbatch == 0)
		return;
	table_multi_insert(sink->rel, sink->batch, sink->nbatch, sink->cid, 0, sink->bistate);
	for (int i = 0; i < sink->nbatch; i++)
		ExecClearTuple(sink->batch[i]);
	sink->nbatch = 0;
	sink->batch_bytes = 0;
}

/*
 * Insert one row (values/isnull: _id, _creation_time, columns): at once
 * with its index entries, or (rebuild_indexes) formed into the batch,
 * whose slot keeps its own copy of the row.
 */
static void
sink_insert(RowSink *sink, int nvalues, Datum *values, bool *isnull)
{
	TupleTableSlot *slot = sink->rebuild_indexes ? sink->batch[sink->nbatch] : sink->slot;
	TupleDesc	desc = RelationGetDescr(sink->rel);

	ExecClearTuple(slot);
	for (int i = 0; i < desc->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	for (int i = 0; i < nvalues; i++)
	{
		slot->tts_values[sink->attno[i] - 1] = values[i];
		slot->tts_isnull[sink->attno[i] - 1] = isnull[i];
	}
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attnotnull && slot->tts_isnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null value in column \"%s\" of relation \"%s\"",
							NameStr(TupleDescAttr(desc, i)->attname), RelationGetRelationName(sink->rel))));
	ExecStoreVirtualTuple(slot);
	if (sink->rebuild_indexes)
	{
		bool		should_free;
		HeapTuple	tuple;

		ExecMaterializeSlot(slot);
		tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
		sink->batch_bytes += tuple->t_len;
		if (++sink->nbatch == SINK_BATCH_ROWS || sink->batch_bytes >= SINK_BATCH_BYTES)
			sink_flush(sink);
		return;
	}
	table_tuple_insert(sink->rel, slot, sink->cid, 0, sink->bistate);
	if (sink->rri->ri_NumIndices > 0)
		ExecInsertIndexTuples(sink->rri, slot, sink->estate, false, false, NULL, NIL);
	ResetPerTupleExprContext(sink->estate);
}

/*
 * Build every index of relid from its rows (as REINDEX TABLE), checking
 * the unique ones: two documents with the same _id (or the same key of a
 * unique index of a built-in table) are 23505, told as the snapshot's.
 */
static void
rebuild_indexes(Oid relid)
{
	MemoryContext context = CurrentMemoryContext;
	ReindexParams params = {0};

	PG_TRY();
	{
		reindex_relation(relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("two documents of table \"%s\" in the snapshot have the same key",
						get_rel_name(relid)),
				 edata->detail != NULL ? errdetail("%s", edata->detail) : 0));
	}
	PG_END_TRY();
	CommandCounterIncrement();
}

/* Finish the direct inserts */
static void
sink_close(RowSink *sink)
{
	Oid			relid = RelationGetRelid(sink->rel);

	if (sink->rebuild_indexes)
	{
		sink_flush(sink);
		for (int i = 0; i < SINK_BATCH_ROWS; i++)
			ExecDropSingleTupleTableSlot(sink->batch[i]);
	}
	FreeBulkInsertState(sink->bistate);
	ExecDropSingleTupleTableSlot(sink->slot);
	ExecCloseIndices(sink->rri);
	FreeExecutorState(sink->estate);
	table_close(sink->rel, NoLock);
	CommandCounterIncrement();
	if (sink->rebuild_indexes)
		rebuild_indexes(relid);
}

/* Import <table>/documents.jsonl, a document a line */
static void
import_documents(ZipSnapshot *snap, ImportTable *t, MemoryContext row_context)
{
	CvxTable   *table = t->name[0] == '_' ? cvx_builtin_table(t->name) : defined_table(t->name);
	RowSink    *sink;
	CvxZipLines lines;
	int			natts = table->ncolumns + 2;
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *isnull = palloc(sizeof(bool) * natts);
	char	   *entry = psprintf("%s/documents.jsonl", t->name);
	Oid			saved_user = InvalidOid;
	int			saved_context = 0;

	if (table->number != (uint32) t->snapshot_number)
		elog(ERROR, "convexlite: table \"%s\" was not renumbered", t->name);
	/* a system table belongs to the extension schema's owner */
	if (table->is_system)
		cvx_become_schema_owner(&saved_user, &saved_context);
	/* user tables empty when the import began: indexes built at the end */
	sink = sink_open(table, snap->mode != MODE_APPEND && !table->is_system);
	current_entry = entry;
	cvx_zip_lines_open(&lines, snap->za, t->docs_index, entry);
	current_line = &lines.lineno;
	while (cvx_zip_lines_next(&lines))
	{
		MemoryContext old = MemoryContextSwitchTo(row_context);
		Jsonb	   *row;
		StringInfoData wire;
		StringInfoData id;
		StringInfoData created;
		CvxValue	document;

		/*
		 * export JSON (ints as 123) to wire JSON (ints as $integer), the
		 * system fields taken out on the way
		 */
		initStringInfo(&wire);
		initStringInfo(&id);
		initStringInfo(&created);
		cvx_export_json_to_wire(lines.line.data, lines.line.len, &wire, &id, &created);
		row = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(wire.data)));
		if (!JB_ROOT_IS_OBJECT(row))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a line of \"%s\" is not a JSON object", entry)));
		values[0] = PointerGetDatum(id_value(id.data, id.len, table->number, t->name));
		values[1] = Float8GetDatum(creation_time_value(created.data, t->name));
		if (t->pending_only)
		{
			JsonbValue *state = member(row, "state");
			JsonbValue *kind = state != NULL && state->type == jbvBinary ?
				getKeyJsonValueFromContainer(state->val.binary.data, "kind", 4, NULL) : NULL;

			if (kind == NULL || kind->type != jbvString || kind->val.string.len != 7 ||
				memcmp(kind->val.string.val, "pending", 7) != 0)
			{
				t->skipped++;
				MemoryContextSwitchTo(old);
				MemoryContextReset(row_context);
				continue;
			}
		}
		cvx_jsonb_value(row, &document);
		cvx_check_document(table, &document, NULL);
		cvx_document_to_row(table, &document, values + 2, isnull + 2);
		isnull[0] = isnull[1] = false;
		sink_insert(sink, natts, values, isnull);
		t->documents++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_context);
	}
	cvx_zip_lines_close(&lines);
	current_line = NULL;
	current_entry = NULL;
	sink_close(sink);
	if (table->is_system)
		SetUserIdAndSecContext(saved_user, saved_context);
}

/* What was imported, as convex_import returns it */
static Jsonb *
import_result(ZipSnapshot *snap, const char *mode)
{
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&out);
	appendStringInfo(&out, "{\"mode\": \"%s\", \"tables\": {", mode);
	foreach(lc, snap->tables)
	{
		ImportTable *t = lfirst(lc);

		if (lc != list_head(snap->tables))
			appendStringInfoString(&out, ", ");
		escape_json(&out, t->name);
		appendStringInfo(&out, ": {\"number\": %lld, \"documents\": %lld}",
						 (long long) t->snapshot_number, (long long) t->documents);
	}
	appendStringInfo(&out, "}, \"storage\": {\"files\": %lld, \"bytes\": %lld}",
					 (long long) snap->files_imported, (long long) snap->file_bytes);
	appendStringInfo(&out, ", \"scheduledFunctions\": {\"pending\": %lld, \"skipped\": %lld}}",
					 snap->scheduled != NULL ? (long long) snap->scheduled->documents : 0LL,
					 snap->scheduled != NULL ? (long long) snap->scheduled->skipped : 0LL);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

/*
 * convex_import(snapshot oid, mode text DEFAULT 'require_empty') RETURNS
 * jsonb: load a Convex snapshot ZIP from a large object, all or nothing.
 */
Datum
convex_import(PG_FUNCTION_ARGS)
{
	Oid			snapshot;
	char	   *mode_name;
	ImportMode	mode;
	ZipSnapshot   *snap = palloc0(sizeof(ZipSnapshot));
	MemoryContext row_context;
	ErrorContextCallback callback;
	Jsonb	   *result;

	cvx_require_argument(fcinfo, 0, "snapshot");
	cvx_require_argument(fcinfo, 1, "mode");
	snapshot = PG_GETARG_OID(0);
	mode_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(mode_name, "require_empty") == 0)
		mode = MODE_REQUIRE_EMPTY;
	else if (strcmp(mode_name, "replace") == 0)
		mode = MODE_REPLACE;
	else if (strcmp(mode_name, "append") == 0)
		mode = MODE_APPEND;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mode must be 'require_empty', 'replace' or 'append', not \"%s\"",
						cvx_clip_name(mode_name, strlen(mode_name)))));

	row_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite import row",
										ALLOCSET_DEFAULT_SIZES);
	callback.callback = import_error_context;
	callback.arg = NULL;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	current_entry = NULL;
	current_line = NULL;

	PG_TRY();
	{
		snap->mode = mode;
		snap->za = cvx_zip_open_lo(snapshot);
		scan_snapshot(snap);
		read_tables(snap);
		check_generated_schemas(snap);
		cvx_spi_connect();
		prepare_tables(snap, mode, snap->storage_index >= 0 || snap->nfiles > 0);
		if (mode != MODE_APPEND)
			renumber_tables(snap);
		import_storage(snap, row_context);
		{
			ListCell   *lc;

			foreach(lc, snap->tables)
			{
				ImportTable *t = lfirst(lc);

				if (t->docs_index >= 0)
					import_documents(snap, t, row_context);
			}
		}
		if (snap->scheduled != NULL)
		{
			import_documents(snap, snap->scheduled, row_context);
			if (snap->scheduled->documents > 0)
				cvx_scheduler_wake_at_commit();
		}
		cvx_spi_finish();
	}
	PG_CATCH();
	{
		current_entry = NULL;
		current_line = NULL;
		error_context_stack = callback.previous;
		cvx_zip_close(snap->za);
		PG_RE_THROW();
	}
	PG_END_TRY();
	error_context_stack = callback.previous;
	cvx_zip_close(snap->za);
	result = import_result(snap, mode_name);
	MemoryContextDelete(row_context);
	PG_RETURN_JSONB_P(result);
}
