/*-------------------------------------------------------------------------
 *
 * files.c
 *	  The seed app's files module: files.generateUploadUrl,
 *	  files.saveFile, files.remove, and the queries files.getUrl and
 *	  files.list.
 *
 * The client asks for an upload URL, uploads with convex_storage_upload
 * (Convex's upload POST), then saves the file's metadata with the
 * storageId it got back.  Removing a file deletes its files row, its
 * _storage row and its large object in the caller's transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "utils/builtins.h"
#include "utils/fmgroids.h"

PG_FUNCTION_INFO_V1(convex_files_generate_upload_url);
PG_FUNCTION_INFO_V1(convex_files_save_file);
PG_FUNCTION_INFO_V1(convex_files_remove);
PG_FUNCTION_INFO_V1(convex_files_get_url);
PG_FUNCTION_INFO_V1(convex_files_list);

/* args: {} */
const char *const cvx_files_generate_upload_url_args = "{\"type\":\"object\",\"value\":{}}";

/* args: {storageId: Id<"_storage">, name, type: string, size: number, sessionId?: string} */
const char *const cvx_files_save_file_args =
"{\"type\":\"object\",\"value\":{"
"\"storageId\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"_storage\"},\"optional\":false},"
"\"name\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"type\":{\"fieldType\":{\"type\":\"string\"},\"optional\":false},"
"\"size\":{\"fieldType\":{\"type\":\"number\"},\"optional\":false},"
"\"sessionId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

/* args: {fileId: Id<"files">, sessionId?: string} */
const char *const cvx_files_remove_args =
"{\"type\":\"object\",\"value\":{"
"\"fileId\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"files\"},\"optional\":false},"
"\"sessionId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

static CvxValidator *generate_upload_url_validator = NULL;
static CvxValidator *save_file_validator = NULL;
static CvxValidator *remove_validator = NULL;

/*
 * convex_files_generate_upload_url(args): a single-use upload URL, valid
 * for convexlite.upload_url_ttl.  Works without signing in, as the seed's.
 */
Datum
convex_files_generate_upload_url(PG_FUNCTION_ARGS)
{
	CvxValue	args;

	cvx_read_args(fcinfo, &generate_upload_url_validator, cvx_files_generate_upload_url_args, &args);
	PG_RETURN_TEXT_P(cvx_storage_generate_upload_url());
}

/*
 * convex_files_save_file(args): record an uploaded file; the signed-in
 * user, if any, becomes its userId.  Returns the new Id<"files">.
 */
Datum
convex_files_save_file(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	size;
	CvxTable   *files;
	Datum		values[6];
	bool		nulls[6];
	text	   *user_id;
	text	   *id;
	int			index;

	cvx_read_args(fcinfo, &save_file_validator, cvx_files_save_file_args, &args);
	user_id = cvx_auth_user_id();

	files = cvx_builtin_table("files");
	if (files->ncolumns != lengthof(values))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("convex._tables describes table \"files\" with %d fields, not %d",
						files->ncolumns, (int) lengthof(values))));
	cvx_set_string_field(files, values, nulls, &args, "storageId");
	cvx_set_string_field(files, values, nulls, &args, "name");
	cvx_set_string_field(files, values, nulls, &args, "type");
	cvx_set_string_field(files, values, nulls, &args, "sessionId");
	index = cvx_column_index(files, "size");
	(void) cvx_args_field(&args, "size", &size);
	values[index] = Float8GetDatum(cvx_value_number(&size));
	nulls[index] = false;
	index = cvx_column_index(files, "userId");
	values[index] = PointerGetDatum(user_id);
	nulls[index] = (user_id == NULL);

	cvx_spi_connect();
	id = cvx_spi_return_text(cvx_db_insert_row(files, values, nulls));
	cvx_spi_finish();
	PG_RETURN_TEXT_P(id);
}

/*
 * convex_files_remove(args): delete a file and its blob if the caller may
 * (the seed's rule, as messages.remove); silently nothing otherwise or
 * when it is already gone.  The row is read FOR UPDATE, so of two
 * concurrent removes the second finds it gone.
 */
Datum
convex_files_remove(PG_FUNCTION_ARGS)
{
	CvxValue	args;
	CvxValue	file_id;
	CvxValue	session_id;
	bool		has_session;
	CvxTable   *files;
	text	   *user_id;
	text	   *id;
	HeapTuple	row;
	TupleDesc	tupdesc;

	cvx_read_args(fcinfo, &remove_validator, cvx_files_remove_args, &args);
	user_id = cvx_auth_user_id();
	(void) cvx_args_field(&args, "fileId", &file_id);
	has_session = cvx_args_field(&args, "sessionId", &session_id);
	id = cvx_value_text(&file_id);
	files = cvx_builtin_table("files");

	cvx_spi_connect();
	row = cvx_db_get_row(files, id, true, &tupdesc);
	if (row != NULL &&
		cvx_may_remove(files, row, tupdesc, user_id, has_session ? &session_id : NULL))
	{
		bool		isnull;
		text	   *storage_id = DatumGetTextPP(SPI_getbinval(row, tupdesc,
															  cvx_column_index(files, "storageId") + 3,
															  &isnull));

		cvx_storage_delete(storage_id);
		(void) cvx_db_delete_row(files, id);
	}
	cvx_spi_finish();
	PG_RETURN_VOID();
}

/* files.getUrl's args: {storageId: v.id("_storage")} */
static const char *const get_url_args =
"{\"type\":\"object\",\"value\":{"
"\"storageId\":{\"fieldType\":{\"type\":\"id\",\"tableName\":\"_storage\"},\"optional\":false}}}";

/* files.list's args: {sessionId?: string} */
static const char *const list_args =
"{\"type\":\"object\",\"value\":{"
"\"sessionId\":{\"fieldType\":{\"type\":\"string\"},\"optional\":true}}}";

static CvxValidator *get_url_validator = NULL;
static CvxValidator *list_validator = NULL;
static SPIPlanPtr list_by_user_plan = NULL;
static SPIPlanPtr list_by_session_plan = NULL;

/* files.getUrl: ctx.storage.getUrl(storageId), null when there is no such file */
static Jsonb *
files_get_url(FunctionCallInfo fcinfo)
{
	CvxValue	args;
	CvxValue	storage_id;
	text	   *url;
	JsonbValue	jbv;

	cvx_read_args(fcinfo, &get_url_validator, get_url_args, &args);
	(void) cvx_args_field(&args, "storageId", &storage_id);
	url = cvx_storage_url(cvx_value_text(&storage_id));
	if (url == NULL)
		return cvx_jsonb_null();
	jbv.type = jbvString;
	jbv.val.string.val = VARDATA_ANY(url);
	jbv.val.string.len = VARSIZE_ANY_EXHDR(url);
	return JsonbValueToJsonb(&jbv);
}

/* convex_files_get_url(args): files.getUrl, {storageId} -> string | null */
Datum
convex_files_get_url(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "files:getUrl", files_get_url);
}

/* files.list's url field of each file: ctx.storage.getUrl(file.storageId) */
static void
file_url(CvxTable *table, const Datum *values, const bool *nulls, void *arg,
		 JsonbValue *result)
{
	int			storage_id = *(const int *) arg;
	text	   *url = cvx_storage_url(DatumGetTextPP(values[storage_id]));

	if (url == NULL)
		result->type = jbvNull;
	else
	{
		result->type = jbvString;
		result->val.string.val = VARDATA_ANY(url);
		result->val.string.len = VARSIZE_ANY_EXHDR(url);
	}
}

/*
 * files.list: the signed-in user's files (index by_user), else those of a
 * non-empty sessionId (by_session), else none; each with its url.
 */
static Jsonb *
files_list(FunctionCallInfo fcinfo)
{
	MemoryContext caller_context = CurrentMemoryContext;
	MemoryContext work;
	bool		used;
	CvxValue	args;
	CvxValue	session_id;
	CvxTable   *files;
	text	   *user_id;
	Oid			argtypes[1] = {TEXTOID};
	CvxJsonbArray array;
	Jsonb	   *result;
	int			storage_id;
	CvxExtraField url_field;

	cvx_read_args(fcinfo, &list_validator, list_args, &args);
	user_id = cvx_auth_user_id();
	files = cvx_builtin_table("files");

	storage_id = cvx_column_index(files, "storageId") + 2;
	url_field = (CvxExtraField) {"url", file_url, &storage_id};
	cvx_spi_connect();
	work = cvx_reads_context_begin(&used);
	cvx_jsonb_array_init(&array);
	if (user_id != NULL)
	{
		CvxIndexRead read = {"by_user", "files_by_user", F_TEXTEQ, {PointerGetDatum(user_id), 0}, NULL, NULL};

		cvx_push_index_range(&array, files, &read,
							 cvx_index_range_plan(&list_by_user_plan, files, "user_id", NULL,
												  1, argtypes),
							 &url_field);
	}
	else if (cvx_args_field(&args, "sessionId", &session_id) &&
			 session_id.type == CVX_T_STRING && session_id.len > 0)
	{
		CvxIndexRead read = {"by_session", "files_by_session", F_TEXTEQ,
		{PointerGetDatum(cvx_value_text(&session_id)), 0}, NULL, NULL};

		cvx_push_index_range(&array, files, &read,
							 cvx_index_range_plan(&list_by_session_plan, files, "session_id", NULL,
												  1, argtypes),
							 &url_field);
	}
	result = cvx_reads_context_end(work, used, cvx_jsonb_array_finish(&array, caller_context),
								   caller_context);
	cvx_spi_finish();
	return result;
}

/* convex_files_list(args): files.list, {sessionId?} -> (Doc<"files"> & {url})[] */
Datum
convex_files_list(PG_FUNCTION_ARGS)
{
	return cvx_run_builtin_query(fcinfo, "files:list", files_list);
}
