/*-------------------------------------------------------------------------
 *
 * storage.c
 *	  ctx.storage: blobs as PostgreSQL large objects, described by
 *	  convex._storage, and the single-use upload URLs that let a client
 *	  store one.
 *
 * Every blob is a large object owned by the owner of schema convex, so
 * ordinary roles cannot read or change it except through these
 * functions.  Creating and dropping a large object is transactional, like
 * the _storage row beside it: a rolled-back upload or delete leaves both
 * as they were.
 *
 * An upload URL carries 16 random bytes (src/core/cvx_token.c); only
 * their SHA-256 is stored, in convex._upload_tokens, with the moment the
 * URL expires and whether it was used.  Using it marks it used in the
 * uploading transaction, so a rolled-back upload leaves it usable and two
 * concurrent uploads with one URL cannot both succeed (the second waits
 * for the first's row lock, then finds it used).
 *
 * Blobs uploaded but never referenced are reclaimed by
 * convex_storage_cleanup once they are older than a grace period; see
 * that function for why it can never reclaim a referenced one.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_type.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "libpq/libpq-fs.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "cvx_token.h"

PG_FUNCTION_INFO_V1(convex_storage_generate_upload_url);
PG_FUNCTION_INFO_V1(convex_storage_upload);
PG_FUNCTION_INFO_V1(convex_storage_upload_large_object);
PG_FUNCTION_INFO_V1(convex_storage_get);
PG_FUNCTION_INFO_V1(convex_storage_get_range);
PG_FUNCTION_INFO_V1(convex_storage_get_url);
PG_FUNCTION_INFO_V1(convex_storage_get_metadata);
PG_FUNCTION_INFO_V1(convex_storage_delete);
PG_FUNCTION_INFO_V1(convex_storage_cleanup);

/*
 * The table number of _storage: Convex's 540 (file ids begin with "kg"),
 * read from the catalog, where 0.2.0 databases had 1 until the update to
 * 0.3.0 renumbered their ids.
 */
#define STORAGE_TABLE_NUMBER (cvx_builtin_table("_storage")->number)

/* Longest Content-Type kept (an HTTP header this long is already absurd) */
#define MAX_CONTENT_TYPE_LENGTH 1024

/* How much of a client's large object is read at a time while hashing */
#define READ_CHUNK_SIZE (256 * 1024)

/*
 * Most blobs one cleanup call reclaims: each dropped large object holds a
 * lock until the transaction ends, and the shared lock table has room for
 * max_locks_per_transaction * max_connections (6,400 by default)
 */
#define CLEANUP_BATCH_SIZE 1000

/* How long cleanup tries to lock the tables that may reference blobs */
#define CLEANUP_LOCK_TRIES 100
#define CLEANUP_LOCK_SLEEP_US 20000L

/* convexlite.upload_url_ttl: how long an upload URL is valid, in ms */
static int	upload_url_ttl = 3600000;

/* convexlite.url: the base of upload and file URLs */
static char *site_url = NULL;

/* Statements kept for the life of the backend */
static SPIPlanPtr token_insert_plan = NULL;
static SPIPlanPtr token_use_plan = NULL;
static SPIPlanPtr token_state_plan = NULL;
static SPIPlanPtr storage_insert_plan = NULL;
static SPIPlanPtr storage_get_plan = NULL;
static SPIPlanPtr storage_by_blob_plan = NULL;
static SPIPlanPtr storage_delete_plan = NULL;

/* Register the storage settings */
void
cvx_storage_init(void)
{
	DefineCustomIntVariable("convexlite.upload_url_ttl",
							"How long an upload URL stays valid.",
							"Convex's upload URLs expire after one hour.",
							&upload_url_ttl, 3600000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("convexlite.url",
							   "Base of the upload URLs and file URLs convexlite hands out.",
							   "Like a Convex deployment's URL; the default is the local Convex backend's.",
							   &site_url, "http://127.0.0.1:3210",
							   PGC_SUSET, 0, NULL, NULL, NULL);
}

/* convexlite.url without trailing slashes */
static char *
site_base(void)
{
	const char *base = site_url != NULL ? site_url : "";
	size_t		len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	return pnstrdup(base, len);
}

/* convexlite.url without trailing slashes, for other files (auth.c) */
char *
cvx_site_url(void)
{
	return site_base();
}

/* ---------------------------------------------------------------------
 * SHA-256
 * ---------------------------------------------------------------------
 */

/* Start a SHA-256 (freed by the resource owner if an error intervenes) */
static pg_cryptohash_ctx *
sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start a SHA-256: %s", pg_cryptohash_error(ctx))));
	return ctx;
}

/* Add bytes to a SHA-256 */
static void
sha256_add(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, data, len) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256: %s", pg_cryptohash_error(ctx))));
}

/* Finish a SHA-256 into digest and free it */
static void
sha256_end(pg_cryptohash_ctx *ctx, uint8 digest[PG_SHA256_DIGEST_LENGTH])
{
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256: %s", pg_cryptohash_error(ctx))));
	pg_cryptohash_free(ctx);
}

/* A digest in standard base64 with padding, as Convex's _storage.sha256 */
static text *
digest_base64(const uint8 digest[PG_SHA256_DIGEST_LENGTH])
{
	char		encoded[64];
	int			len = pg_b64_encode((const char *) digest, PG_SHA256_DIGEST_LENGTH,
									encoded, sizeof(encoded));

	if (len < 0)
		elog(ERROR, "convexlite: could not encode a SHA-256 in base64");
	return cstring_to_text_with_len(encoded, len);
}

/* ---------------------------------------------------------------------
 * Upload URLs
 * ---------------------------------------------------------------------
 */

/* The key an upload token is stored under: SHA-256 of its random bytes */
static bytea *
token_key(const uint8 random_bytes[CVX_TOKEN_RANDOM_BYTES])
{
	bytea	   *key = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	pg_cryptohash_ctx *ctx = sha256_begin();

	sha256_add(ctx, random_bytes, CVX_TOKEN_RANDOM_BYTES);
	sha256_end(ctx, (uint8 *) VARDATA(key));
	SET_VARSIZE(key, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return key;
}

/*
 * ctx.storage.generateUploadUrl(): record a new token, valid for
 * convexlite.upload_url_ttl, and return its URL (in the caller's memory
 * context).
 */
text *
cvx_storage_generate_upload_url(void)
{
	uint8		random_bytes[CVX_TOKEN_RANDOM_BYTES];
	char		token[CVX_TOKEN_LENGTH + 1];
	Oid			argtypes[2] = {BYTEAOID, FLOAT8OID};
	Datum		values[2];
	text	   *url;
	int			rc;

	cvx_require_primary("issue an upload URL", NULL);
	cvx_refuse_in_query("ctx.storage.generateUploadUrl");
	cvx_random_bytes(random_bytes, sizeof(random_bytes));
	cvx_mark_node(random_bytes);	/* a front routes the upload by it */
	cvx_token_encode(random_bytes, token);
	url = cstring_to_text(psprintf("%s%s%s", site_base(), CVX_UPLOAD_PATH, token));
	values[0] = PointerGetDatum(token_key(random_bytes));
	values[1] = Float8GetDatum(cvx_date_now() + (double) upload_url_ttl);
	explicit_bzero(random_bytes, sizeof(random_bytes));

	cvx_spi_connect();
	rc = cvx_execute(cvx_kept_plan(&token_insert_plan,
							   "INSERT INTO convex._upload_tokens (token_hash, expires_at) "
							   "VALUES ($1, $2)", 2, argtypes),
					 values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "convexlite: could not record an upload token: %s",
			 SPI_result_code_string(rc));
	cvx_spi_finish();
	return url;
}

/*
 * An error about an upload URL that does not authorize an upload: 22023
 * UPLOAD_URL_INVALID for one never handed out, 55000 UPLOAD_URL_USED or
 * UPLOAD_URL_EXPIRED for one that was (never class 28, which drivers take
 * for connection trouble).
 */
static void
refuse_upload_url(int sqlstate, const char *code, const char *message)
{
	ereport(ERROR,
			(errcode(sqlstate), cvx_errcode_name(code),
			 errmsg("%s", message),
			 errhint("Get a new upload URL from files:generateUploadUrl.")));
}

/*
 * Use an upload URL (inside SPI): it must parse, be known, unused and not
 * expired.  Marks it used in the current transaction.
 */
static void
use_upload_url(text *url)
{
	uint8		random_bytes[CVX_TOKEN_RANDOM_BYTES];
	CvxTokenStatus status;
	Oid			argtypes[1] = {BYTEAOID};
	Datum		key[1];
	bool		isnull;
	double		expires_at;
	int			rc;

	status = cvx_upload_url_parse(VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), random_bytes);
	if (status != CVX_TOKEN_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 cvx_errcode_name("UPLOAD_URL_INVALID"),
				 errmsg("invalid upload URL: %s", cvx_token_status_reason(status)),
				 errhint("Upload URLs come from files:generateUploadUrl and end in /api/storage/upload?token=<36 hex digits>.")));
	key[0] = PointerGetDatum(token_key(random_bytes));
	explicit_bzero(random_bytes, sizeof(random_bytes));

	rc = cvx_execute_by_key(cvx_kept_plan(&token_use_plan,
							   "UPDATE convex._upload_tokens SET used = true "
							   "WHERE token_hash OPERATOR(pg_catalog.=) $1 AND NOT used "
							   "RETURNING expires_at", 1, argtypes),
					 key, NULL, false, 1);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "convexlite: could not use an upload token: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		rc = cvx_execute_by_key(cvx_kept_plan(&token_state_plan,
								   "SELECT used FROM convex._upload_tokens "
								   "WHERE token_hash OPERATOR(pg_catalog.=) $1", 1, argtypes),
						 key, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed > 0)
			refuse_upload_url(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "UPLOAD_URL_USED",
							  "this upload URL has already been used");
		refuse_upload_url(ERRCODE_INVALID_PARAMETER_VALUE, "UPLOAD_URL_INVALID",
						  "this upload URL is not valid");
	}
	expires_at = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || !(expires_at > cvx_date_now()))
		refuse_upload_url(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "UPLOAD_URL_EXPIRED",
						  "this upload URL has expired");
}

/* ---------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------
 */

/*
 * The content_type argument: NULL or empty is none; otherwise printable
 * and at most 1024 bytes, as an HTTP Content-Type header would be.
 */
static text *
content_type_argument(FunctionCallInfo fcinfo, int argno)
{
	text	   *content_type;
	const char *p;
	int			len;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	content_type = PG_GETARG_TEXT_PP(argno);
	p = VARDATA_ANY(content_type);
	len = VARSIZE_ANY_EXHDR(content_type);
	if (len == 0)
		return NULL;
	if (len > MAX_CONTENT_TYPE_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("content_type is too long (%d bytes, at most %d)",
						len, MAX_CONTENT_TYPE_LENGTH)));
	for (int i = 0; i < len; i++)
		if ((unsigned char) p[i] < ' ' || p[i] == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("content_type must not contain control characters")));
	return content_type;
}

/* A storage id argument: an Id<"_storage"> (22023), not NULL (22004) */
static text *
storage_id_argument(FunctionCallInfo fcinfo, int argno, const char *function)
{
	return cvx_id_argument(fcinfo, argno, "storage_id", "storageId", function,
						   STORAGE_TABLE_NUMBER, "_storage");
}

/* ---------------------------------------------------------------------
 * Uploading
 * ---------------------------------------------------------------------
 */

/* Insert the _storage row describing a new blob (inside SPI) */
static void
insert_storage_row(text *id, Oid blob, const uint8 digest[PG_SHA256_DIGEST_LENGTH],
				   int64 size, text *content_type)
{
	Oid			argtypes[6] = {TEXTOID, FLOAT8OID, TEXTOID, FLOAT8OID, TEXTOID, OIDOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	values[0] = PointerGetDatum(id);
	values[1] = Float8GetDatum(cvx_next_creation_time());
	values[2] = PointerGetDatum(digest_base64(digest));
	values[3] = Float8GetDatum((double) size);
	values[4] = PointerGetDatum(content_type);
	nulls[4] = content_type == NULL ? 'n' : ' ';
	values[5] = ObjectIdGetDatum(blob);
	rc = cvx_execute(cvx_kept_plan(&storage_insert_plan,
							   "INSERT INTO convex._storage "
							   "(_id, _creation_time, sha256, size, content_type, blob) "
							   "VALUES ($1, $2, $3, $4, $5, $6) RETURNING _id", 6, argtypes),
					 values, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "convexlite: could not record a blob: %s", SPI_result_code_string(rc));
	cvx_notify_rows(cvx_builtin_table("_storage"), CVX_WRITE_INSERT, SPI_tuptable, SPI_processed);
}

/* {"storageId": id}, the body of Convex's upload response */
static Jsonb *
upload_response(text *id)
{
	JsonbParseState *state = NULL;
	JsonbValue	value;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	cvx_push_key(&state, "storageId");
	value.type = jbvString;
	value.val.string.val = VARDATA_ANY(id);
	value.val.string.len = VARSIZE_ANY_EXHDR(id);
	pushJsonbValue(&state, WJB_VALUE, &value);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * convex_storage_upload(upload_url, data bytea, content_type): Convex's
 * upload POST.  Stores data as a new large object and returns
 * {"storageId": …}.  SECURITY DEFINER: the URL is the authorization.
 */
Datum
convex_storage_upload(PG_FUNCTION_ARGS)
{
	text	   *url;
	bytea	   *data;
	text	   *content_type;
	text	   *id = cvx_new_id(STORAGE_TABLE_NUMBER);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *sha;
	Oid			blob;

	cvx_require_primary("store an upload", NULL);
	cvx_refuse_in_query("storage upload");
	cvx_require_argument(fcinfo, 0, "upload_url");
	cvx_require_argument(fcinfo, 1, "data");
	url = PG_GETARG_TEXT_PP(0);
	data = PG_GETARG_BYTEA_PP(1);
	content_type = content_type_argument(fcinfo, 2);

	cvx_spi_connect();
	use_upload_url(url);
	sha = sha256_begin();
	sha256_add(sha, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
	sha256_end(sha, digest);
	blob = DatumGetObjectId(DirectFunctionCall2(be_lo_from_bytea,
												ObjectIdGetDatum(InvalidOid),
												PointerGetDatum(data)));
	insert_storage_row(id, blob, digest, VARSIZE_ANY_EXHDR(data), content_type);
	cvx_spi_finish();
	PG_RETURN_JSONB_P(upload_response(id));
}

/*
 * Copy a large object to the one open as copy_fd, a chunk at a time so
 * memory stays bounded whatever its size, hashing it on the way; returns
 * its size.  It is opened read-write, which reads its current contents (a
 * read-only open would read them as of the statement's snapshot, missing
 * what the calling statement wrote).  The caller runs as the owner of
 * schema convex.
 */
static int64
read_large_object(Oid blob, int32 copy_fd, uint8 digest[PG_SHA256_DIGEST_LENGTH])
{
	MemoryContext chunk_context = AllocSetContextCreate(CurrentMemoryContext,
														"convexlite upload chunk",
														ALLOCSET_DEFAULT_SIZES);
	MemoryContext old_context;
	pg_cryptohash_ctx *sha = sha256_begin();
	int32		fd;
	int64		size = 0;

	fd = DatumGetInt32(DirectFunctionCall2(be_lo_open, ObjectIdGetDatum(blob),
										   Int32GetDatum(INV_READ | INV_WRITE)));
	for (;;)
	{
		bytea	   *chunk;
		int			len;

		CHECK_FOR_INTERRUPTS();
		old_context = MemoryContextSwitchTo(chunk_context);
		chunk = DatumGetByteaPP(DirectFunctionCall2(be_loread, Int32GetDatum(fd),
													Int32GetDatum(READ_CHUNK_SIZE)));
		len = VARSIZE_ANY_EXHDR(chunk);
		if (len > 0)
			DirectFunctionCall2(be_lowrite, Int32GetDatum(copy_fd), PointerGetDatum(chunk));
		MemoryContextSwitchTo(old_context);
		if (len == 0)
			break;
		sha256_add(sha, VARDATA_ANY(chunk), len);
		size += len;
		MemoryContextReset(chunk_context);
	}
	DirectFunctionCall1(be_lo_close, Int32GetDatum(fd));
	sha256_end(sha, digest);
	MemoryContextDelete(chunk_context);
	return size;
}

/*
 * Copy a large object into a new one (the current user's) while hashing
 * it; returns the new one's oid and fills *size and digest.
 */
static Oid
copy_large_object(Oid blob, int64 *size, uint8 digest[PG_SHA256_DIGEST_LENGTH])
{
	Oid			copy = DatumGetObjectId(DirectFunctionCall1(be_lo_create,
															ObjectIdGetDatum(InvalidOid)));
	int32		copy_fd = DatumGetInt32(DirectFunctionCall2(be_lo_open,
															ObjectIdGetDatum(copy),
															Int32GetDatum(INV_WRITE)));

	*size = read_large_object(blob, copy_fd, digest);
	DirectFunctionCall1(be_lo_close, Int32GetDatum(copy_fd));
	return copy;
}

/*
 * convex_storage_upload_large_object(upload_url, large_object, content_type): the
 * streaming upload.  The caller wrote the file into a large object of its
 * own (lo_import, lo_write); convexlite copies it, a chunk at a time,
 * into a new large object of its own while hashing it, and unlinks the
 * original.  It is never taken over in place: large-object privileges are
 * checked when a descriptor is opened, not when it writes, and nothing
 * tells whether some session holds a descriptor on that oid (possibly
 * from an older large object of the same oid), which could then change
 * the blob behind its recorded SHA-256 and size.  Unlinking also closes
 * this session's descriptors on the original.
 * SECURITY INVOKER: the caller must own the large object.
 */
Datum
convex_storage_upload_large_object(PG_FUNCTION_ARGS)
{
	text	   *url;
	Oid			blob;
	text	   *content_type;
	text	   *id = cvx_new_id(STORAGE_TABLE_NUMBER);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	int64		size;
	Oid			copy;
	Oid			saved_user;
	int			saved_context;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];

	cvx_require_primary("store an upload", NULL);
	cvx_refuse_in_query("storage upload");
	cvx_require_argument(fcinfo, 0, "upload_url");
	cvx_require_argument(fcinfo, 1, "data");
	url = PG_GETARG_TEXT_PP(0);
	blob = PG_GETARG_OID(1);
	content_type = content_type_argument(fcinfo, 2);

	/*
	 * One takeover of a large object at a time; and see a large object
	 * created earlier in the calling statement itself.
	 */
	LockDatabaseObject(LargeObjectRelationId, blob, 0, ExclusiveLock);
	CommandCounterIncrement();
	if (!LargeObjectExists(blob))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("large object %u does not exist", blob)));
	if (!pg_largeobject_ownercheck(blob, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of large object %u to upload it", blob)));

	cvx_become_schema_owner(&saved_user, &saved_context);
	cvx_spi_connect();
	values[0] = ObjectIdGetDatum(blob);
	if (cvx_execute_by_key(cvx_kept_plan(&storage_by_blob_plan,
							  "SELECT _id FROM convex._storage WHERE blob OPERATOR(pg_catalog.=) $1",
							  1, argtypes),
					values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("large object %u is already stored as %s", blob,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1))));
	use_upload_url(url);
	copy = copy_large_object(blob, &size, digest);
	DirectFunctionCall1(be_lo_unlink, ObjectIdGetDatum(blob));
	insert_storage_row(id, copy, digest, size, content_type);
	cvx_spi_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	PG_RETURN_JSONB_P(upload_response(id));
}

/* ---------------------------------------------------------------------
 * Reading and deleting
 * ---------------------------------------------------------------------
 */

/*
 * Find a blob's _storage row (inside SPI); false if there is none.  The
 * row, when found, is SPI_tuptable->vals[0]: blob, sha256, size,
 * content_type.
 */
static bool
find_storage_row(text *id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int			rc;

	values[0] = PointerGetDatum(id);
	rc = cvx_execute_by_key(cvx_kept_plan(&storage_get_plan,
							   "SELECT blob, sha256, size, content_type FROM convex._storage "
							   "WHERE _id OPERATOR(pg_catalog.=) $1", 1, argtypes),
					 values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: could not read _storage: %s", SPI_result_code_string(rc));
	return SPI_processed > 0;
}

/* The large object of a found _storage row */
static Oid
found_blob(void)
{
	bool		isnull;

	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  1, &isnull));
}

/*
 * A blob's bytes, in the caller's memory context: all of them when length
 * is negative, else length bytes from offset (fewer at its end); NULL
 * when there is no such blob.
 */
static bytea *
read_blob(text *id, int64 offset, int32 length)
{
	MemoryContext caller_context = CurrentMemoryContext;
	bytea	   *result = NULL;

	cvx_spi_connect();
	if (find_storage_row(id))
	{
		Datum		blob = ObjectIdGetDatum(found_blob());
		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

		if (length < 0)
			result = DatumGetByteaPP(DirectFunctionCall1(be_lo_get, blob));
		else
			result = DatumGetByteaPP(DirectFunctionCall3(be_lo_get_fragment, blob,
														 Int64GetDatum(offset),
														 Int32GetDatum(length)));
		MemoryContextSwitchTo(spi_context);
	}
	cvx_spi_finish();
	return result;
}

/* convex_storage_get(storage_id): the blob's bytes, NULL when missing */
Datum
convex_storage_get(PG_FUNCTION_ARGS)
{
	bytea	   *result = read_blob(storage_id_argument(fcinfo, 0, "storage.get"), 0, -1);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}

/*
 * convex_storage_get(storage_id, offset, length): length bytes of the
 * blob from offset (fewer at its end), NULL when missing: how a file
 * larger than a bytea is read.
 */
Datum
convex_storage_get_range(PG_FUNCTION_ARGS)
{
	text	   *id = storage_id_argument(fcinfo, 0, "storage.get");
	bytea	   *result;

	cvx_require_argument(fcinfo, 1, "offset");
	cvx_require_argument(fcinfo, 2, "length");
	if (PG_GETARG_INT64(1) < 0 || PG_GETARG_INT32(2) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("offset and length must not be negative")));
	result = read_blob(id, PG_GETARG_INT64(1), PG_GETARG_INT32(2));
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}

/*
 * convex_storage_get_url(storage_id): <convexlite.url>/api/storage/<id>,
 * NULL when the blob does not exist (as Convex's getUrl).
 */
Datum
convex_storage_get_url(PG_FUNCTION_ARGS)
{
	text	   *url = cvx_storage_url(storage_id_argument(fcinfo, 0, "storage.getUrl"));

	if (url == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(url);
}

/*
 * ctx.storage.getUrl(id) for C callers: the URL in the caller's memory
 * context, or NULL when the blob does not exist.
 */
text *
cvx_storage_url(text *id)
{
	bool		found;
	char	   *base = site_base();

	cvx_spi_connect();
	found = find_storage_row(id);
	cvx_spi_finish();
	if (!found)
		return NULL;
	return cstring_to_text(psprintf("%s/api/storage/%s", base, text_to_cstring(id)));
}

/*
 * convex_storage_get_metadata(storage_id): Convex's FileMetadata,
 * {storageId, sha256, size, contentType (null when none)}, or NULL.
 */
Datum
convex_storage_get_metadata(PG_FUNCTION_ARGS)
{
	text	   *id = storage_id_argument(fcinfo, 0, "storage.getMetadata");
	MemoryContext caller_context = CurrentMemoryContext;
	Jsonb	   *result = NULL;

	cvx_spi_connect();
	if (find_storage_row(id))
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);
		JsonbParseState *state = NULL;
		JsonbValue	value;
		bool		isnull;
		Datum		datum;

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		cvx_push_key(&state, "storageId");
		value.type = jbvString;
		value.val.string.val = VARDATA_ANY(id);
		value.val.string.len = VARSIZE_ANY_EXHDR(id);
		pushJsonbValue(&state, WJB_VALUE, &value);

		cvx_push_key(&state, "sha256");
		value.val.string.val = TextDatumGetCString(SPI_getbinval(row, tupdesc, 2, &isnull));
		value.val.string.len = strlen(value.val.string.val);
		pushJsonbValue(&state, WJB_VALUE, &value);

		cvx_push_key(&state, "size");
		value.type = jbvNumeric;
		value.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																SPI_getbinval(row, tupdesc, 3, &isnull)));
		pushJsonbValue(&state, WJB_VALUE, &value);

		cvx_push_key(&state, "contentType");
		datum = SPI_getbinval(row, tupdesc, 4, &isnull);
		if (isnull)
			value.type = jbvNull;
		else
		{
			value.type = jbvString;
			value.val.string.val = TextDatumGetCString(datum);
			value.val.string.len = strlen(value.val.string.val);
		}
		pushJsonbValue(&state, WJB_VALUE, &value);
		result = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		MemoryContextSwitchTo(spi_context);
	}
	cvx_spi_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

/*
 * ctx.storage.delete(id): delete the _storage row and its large object;
 * Convex's "storage id … not found" (P0002) when there is none.  The
 * caller must run as the owner of schema convex.
 */
void
cvx_storage_delete(text *storage_id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Oid			blob;
	int			rc;

	cvx_require_primary("delete a stored file", NULL);
	cvx_refuse_in_query("ctx.storage.delete");
	values[0] = PointerGetDatum(storage_id);
	cvx_spi_connect();
	rc = cvx_execute_by_key(cvx_kept_plan(&storage_delete_plan,
							   "DELETE FROM convex._storage WHERE _id OPERATOR(pg_catalog.=) $1 "
							   "RETURNING blob, _id", 1, argtypes),
					 values, NULL, false, 0);
	if (rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "convexlite: could not delete from _storage: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("storage id %s not found",
						cvx_clip_name(VARDATA_ANY(storage_id), VARSIZE_ANY_EXHDR(storage_id)))));
	blob = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	cvx_notify_rows(cvx_builtin_table("_storage"), CVX_WRITE_DELETE, SPI_tuptable, SPI_processed);
	DirectFunctionCall1(be_lo_unlink, ObjectIdGetDatum(blob));
	cvx_spi_finish();
}

/* convex_storage_delete(storage_id): ctx.storage.delete */
Datum
convex_storage_delete(PG_FUNCTION_ARGS)
{
	cvx_storage_delete(storage_id_argument(fcinfo, 0, "storage.delete"));
	PG_RETURN_VOID();
}

/* convex_storage_generate_upload_url(): ctx.storage.generateUploadUrl */
Datum
convex_storage_generate_upload_url(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cvx_storage_generate_upload_url());
}

/* ---------------------------------------------------------------------
 * Cleanup
 * ---------------------------------------------------------------------
 */

/*
 * The columns that may hold a storage id: every top-level field whose
 * validator mentions v.id("_storage") or v.any() anywhere.  Fills the
 * tables' relation ids into *relations (one per table) and returns one
 * SQL condition per column, true when the blob s is not referenced there:
 * a text column holds the id itself; a jsonb column may hold it as any
 * string or object key at any depth.
 */
static List *
referencing_queries(List **relations)
{
	List	   *queries = NIL;
	Oid			namespace = get_namespace_oid(CVX_SCHEMA, false);
	int			rc;

	rc = cvx_execute_once("SELECT t.name, f.key FROM convex._tables t, "
						  "pg_catalog.jsonb_each(t.fields) f "
						  "WHERE pg_catalog.jsonb_path_exists(f.value, "
						  "'strict $.** ? (@.type == \"any\" || "
						  "(@.type == \"id\" && @.tableName == \"_storage\"))') "
						  "ORDER BY t.name, f.key", true);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: could not read convex._tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *table_name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *field = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		CvxTable   *table = cvx_table_by_name(table_name, strlen(table_name));
		int			index;
		const char *relation;
		const char *column;
		Oid			relid;

		if (table == NULL || (index = cvx_column_index(table, field)) < 0)
			continue;
		relation = quote_identifier(table->name);
		column = quote_identifier(table->columns[index].column);
		relid = get_relname_relid(table->name, namespace);
		if (OidIsValid(relid))
			*relations = list_append_unique_oid(*relations, relid);
		if (table->columns[index].type == CVX_COL_TEXT)
			queries = lappend(queries,
							  psprintf("NOT EXISTS (SELECT 1 FROM convex.%s r "
									   "WHERE r.%s OPERATOR(pg_catalog.=) s._id)",
									   relation, column));
		else if (table->columns[index].type == CVX_COL_JSONB)
			queries = lappend(queries,
							  psprintf("NOT EXISTS (SELECT 1 FROM convex.%s r, LATERAL ("
									   "SELECT v OPERATOR(pg_catalog.#>>) '{}' FROM "
									   "pg_catalog.jsonb_path_query(r.%s, "
									   "'strict $.** ? (@.type() == \"string\")') v "
									   "UNION ALL "
									   "SELECT k OPERATOR(pg_catalog.#>>) '{}' FROM "
									   "pg_catalog.jsonb_path_query(r.%s, "
									   "'strict $.** ? (@.type() == \"object\").keyvalue().key') k"
									   ") x(id) WHERE x.id OPERATOR(pg_catalog.=) s._id)",
									   relation, column, column));
	}
	return queries;
}

/*
 * Lock tables against writes (SHARE) for cleanup: convex._tables, so no
 * table is defined or redefined while cleanup looks, and then the tables
 * that may reference blobs, so no reference can be committed between
 * cleanup's look and its delete.  The locks are taken without queueing (a
 * queued SHARE request would stall every writer behind it), all or none:
 * when one is not free, those already taken are released and all are
 * tried again a little later; after about 2 s, 55P03.
 */
static void
lock_tables_for_cleanup(List *relations)
{
	for (int tries = 1;; tries++)
	{
		ListCell   *cell;
		List	   *locked = NIL;
		Oid			busy = InvalidOid;

		foreach(cell, relations)
		{
			if (!ConditionalLockRelationOid(lfirst_oid(cell), ShareLock))
			{
				busy = lfirst_oid(cell);
				break;
			}
			locked = lappend_oid(locked, lfirst_oid(cell));
		}
		if (!OidIsValid(busy))
			return;
		foreach(cell, locked)
			UnlockRelationOid(lfirst_oid(cell), ShareLock);
		list_free(locked);
		if (tries >= CLEANUP_LOCK_TRIES)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("storage cleanup could not lock table \"%s\": writes to it did not pause",
							get_rel_name(busy)),
					 errhint("The next run will try again.")));
		CHECK_FOR_INTERRUPTS();
		pg_usleep(CLEANUP_LOCK_SLEEP_US);
	}
}

/*
 * The blobs older than cutoff that no column references (by the
 * conditions of referencing_queries), oldest first, at most a batch; with
 * FOR UPDATE SKIP LOCKED when for_update.  SQL for an array of ids; $1 is
 * the cutoff, $2 (when restrict_to) the ids to look at.
 */
static char *
unreferenced_blobs_sql(List *conditions, bool restrict_to, bool for_update)
{
	StringInfoData sql;
	ListCell   *cell;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "ARRAY(SELECT s._id FROM convex._storage s "
						   "WHERE s._creation_time OPERATOR(pg_catalog.<) $1");
	if (restrict_to)
		appendStringInfoString(&sql, " AND s._id OPERATOR(pg_catalog.=) ANY ($2)");
	foreach(cell, conditions)
	{
		appendStringInfoString(&sql, " AND ");
		appendStringInfoString(&sql, (char *) lfirst(cell));
	}
	appendStringInfo(&sql, " ORDER BY s._creation_time LIMIT %d%s)",
					 CLEANUP_BATCH_SIZE, for_update ? " FOR UPDATE OF s SKIP LOCKED" : "");
	return sql.data;
}

/*
 * convex_storage_cleanup(older_than_ms): reclaim blobs uploaded more than
 * older_than_ms ago that no convexlite table references, oldest first and
 * at most CLEANUP_BATCH_SIZE of them, and forget expired upload URLs.
 * Returns how many blobs it reclaimed (a full batch: call again).
 *
 * Why a referenced blob is never reclaimed: convex._tables is locked
 * against writes before the columns that may hold a storage id are read
 * from it; the candidates found without further locks are only a first
 * look; then the tables holding those columns are locked against writes,
 * and in one statement whose snapshot follows the locks the candidates
 * still unreferenced are locked (skipping any another transaction holds)
 * and deleted with their large objects.  READ COMMITTED only: an older
 * snapshot could miss references committed before the locks.
 */
Datum
convex_storage_cleanup(PG_FUNCTION_ARGS)
{
	double		older_than;
	double		now = cvx_date_now();
	List	   *relations = NIL;
	List	   *queries;
	StringInfoData sql;
	Oid			argtypes[2] = {FLOAT8OID, TEXTARRAYOID};
	Datum		values[2];
	Datum		candidates;
	bool		isnull;
	int64		reclaimed;
	int			rc;

	cvx_require_argument(fcinfo, 0, "older_than_ms");
	older_than = PG_GETARG_FLOAT8(0);
	if (isnan(older_than) || older_than < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than_ms must be a non-negative number of milliseconds")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("convex_storage_cleanup runs only at READ COMMITTED isolation")));

	cvx_spi_connect();
	values[0] = Float8GetDatum(now);
	rc = cvx_execute_args("DELETE FROM convex._upload_tokens "
						  "WHERE expires_at OPERATOR(pg_catalog.<=) $1",
						  1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "convexlite: could not delete expired upload tokens");

	/* which columns may hold a storage id, with no redefinition under way */
	lock_tables_for_cleanup(list_make1_oid(get_relname_relid("_tables",
															 get_namespace_oid(CVX_SCHEMA, false))));
	queries = referencing_queries(&relations);

	/* a first look without locking the tables: often there is nothing due */
	values[0] = Float8GetDatum(now - older_than);
	rc = cvx_execute_args(psprintf("SELECT %s", unreferenced_blobs_sql(queries, false, false)),
						  1, argtypes, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "convexlite: storage cleanup failed: %s", SPI_result_code_string(rc));
	candidates = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(candidates)),
					   ARR_DIMS(DatumGetArrayTypeP(candidates))) == 0)
	{
		cvx_spi_finish();
		PG_RETURN_INT32(0);
	}

	/* then, with writes paused, those of them still unreferenced go */
	lock_tables_for_cleanup(relations);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH gone AS (DELETE FROM convex._storage d "
					 "WHERE d._id OPERATOR(pg_catalog.=) ANY (%s) RETURNING d._id, d.blob) "
					 "SELECT _id, pg_catalog.lo_unlink(blob) FROM gone",
					 unreferenced_blobs_sql(queries, true, true));
	values[1] = candidates;
	rc = cvx_execute_args(sql.data, 2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "convexlite: storage cleanup failed: %s", SPI_result_code_string(rc));
	reclaimed = SPI_processed;
	cvx_notify_rows(cvx_builtin_table("_storage"), CVX_WRITE_DELETE, SPI_tuptable, SPI_processed);
	cvx_spi_finish();
	PG_RETURN_INT32((int32) Min(reclaimed, PG_INT32_MAX));
}
