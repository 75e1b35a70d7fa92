/*-------------------------------------------------------------------------
 *
 * mutations.c
 *	  Registered mutations and queries (convex_define_mutation,
 *	  convex_define_query, the catalog convex._functions) and the
 *	  dispatchers convex_mutation(path, args) and convex_query(path, args),
 *	  which are also ctx.runMutation and ctx.runQuery when a handler calls
 *	  them.
 *
 * A query is dispatched as a mutation is, with three differences: it runs
 * as one call (no attempts), as a read-only transaction from its sandbox's
 * GUC level down (transaction_read_only, rolled back with the level), and
 * limits.c knows a query is running, so that convexlite's write paths
 * refuse with Convex's names and its reads share the query's snapshot.
 * A path names one kind: a mutation is not run by convex_query, nor a
 * query by convex_mutation or the scheduler.
 *
 * A call resolves its path to a built-in seed mutation or a registered
 * handler f(args jsonb) RETURNS jsonb, refuses internal mutations to
 * public callers (with the same error as a missing path, as Convex does),
 * checks the arguments' size and validator, runs the handler as its owner
 * inside a budget (limits.c), and checks the return value.
 *
 * The sandbox: whatever a call runs as a role other than its caller (a
 * handler as its owner, a built-in mutation as the extension's owner)
 * runs as a security-restricted operation, like PostgreSQL's maintenance
 * commands: it cannot change its identity (SET ROLE), create temp tables,
 * or queue deferred triggers that would fire later as somebody else, and
 * every setting it changes is rolled back when it returns.  convexlite
 * adds two rules PostgreSQL leaves out: no temp object at all (a temp
 * function would outlive the call), and a handler can neither use nor
 * close the cursors open when it was called, nor leave its own open.
 *
 * Registered entries are read from the catalog once per backend and kept
 * in a cache with the compiled validators and the handler's FmgrInfo; any
 * change to the catalog or to a function invalidates it.  Replaced caches
 * are freed at transaction end, never under a running call.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(convex_mutation);
PG_FUNCTION_INFO_V1(convex_internal_mutation);
PG_FUNCTION_INFO_V1(convex_define_mutation);
PG_FUNCTION_INFO_V1(convex_drop_mutation);
PG_FUNCTION_INFO_V1(convex_query);
PG_FUNCTION_INFO_V1(convex_internal_query);
PG_FUNCTION_INFO_V1(convex_define_query);
PG_FUNCTION_INFO_V1(convex_drop_query);

/* The seed's mutations (their C entry points) */
extern Datum convex_users_update_profile(PG_FUNCTION_ARGS);
extern Datum convex_messages_send(PG_FUNCTION_ARGS);
extern Datum convex_messages_remove(PG_FUNCTION_ARGS);
extern Datum convex_presence_update(PG_FUNCTION_ARGS);
extern Datum convex_presence_leave(PG_FUNCTION_ARGS);
extern Datum convex_presence_cleanup(PG_FUNCTION_ARGS);
extern Datum convex_files_generate_upload_url(PG_FUNCTION_ARGS);
extern Datum convex_files_save_file(PG_FUNCTION_ARGS);
extern Datum convex_files_remove(PG_FUNCTION_ARGS);

/* The seed's queries (their C entry points) */
extern Datum convex_users_current(PG_FUNCTION_ARGS);
extern Datum convex_users_get(PG_FUNCTION_ARGS);
extern Datum convex_messages_list(PG_FUNCTION_ARGS);
extern Datum convex_presence_list(PG_FUNCTION_ARGS);
extern Datum convex_files_get_url(PG_FUNCTION_ARGS);
extern Datum convex_files_list(PG_FUNCTION_ARGS);

/* Longest Convex function path convexlite accepts, in bytes */
#define MAX_PATH_LENGTH 255

/*
 * Convex's MAX_REACTOR_CALL_DEPTH: the top-level call is depth 0 and calls
 * may nest 8 levels below it; a 9th level fails.
 */
#define MAX_CALL_DEPTH 8

/* What a built-in mutation's SQL function returns */
typedef enum BuiltinReturn
{
	RETURNS_VOID,
	RETURNS_TEXT,
	RETURNS_INT4,
	RETURNS_JSONB
} BuiltinReturn;

/* A built-in seed mutation (or query) reachable by path */
typedef struct BuiltinMutation
{
	const char *path;
	PGFunction	function;
	BuiltinReturn returns;
	bool		internal;
	const char *const *args;	/* its args validator (JSON), for scheduling */
	bool		is_query;
} BuiltinMutation;

static const BuiltinMutation builtin_mutations[] = {
	{"files:generateUploadUrl", convex_files_generate_upload_url, RETURNS_TEXT, false, &cvx_files_generate_upload_url_args, false},
	{"files:remove", convex_files_remove, RETURNS_VOID, false, &cvx_files_remove_args, false},
	{"files:saveFile", convex_files_save_file, RETURNS_TEXT, false, &cvx_files_save_file_args, false},
	{"messages:remove", convex_messages_remove, RETURNS_VOID, false, &cvx_messages_remove_args, false},
	{"messages:send", convex_messages_send, RETURNS_TEXT, false, &cvx_messages_send_args, false},
	{"presence:cleanup", convex_presence_cleanup, RETURNS_INT4, true, &cvx_presence_cleanup_args, false},
	{"presence:leave", convex_presence_leave, RETURNS_VOID, false, &cvx_presence_leave_args, false},
	{"presence:update", convex_presence_update, RETURNS_VOID, false, &cvx_presence_update_args, false},
	{"users:updateProfile", convex_users_update_profile, RETURNS_VOID, false, &cvx_users_update_profile_args, false},
};

/* The seed's queries: each checks its own arguments when it runs */
static const BuiltinMutation builtin_queries[] = {
	{"files:getUrl", convex_files_get_url, RETURNS_JSONB, false, NULL, true},
	{"files:list", convex_files_list, RETURNS_JSONB, false, NULL, true},
	{"messages:list", convex_messages_list, RETURNS_JSONB, false, NULL, true},
	{"presence:list", convex_presence_list, RETURNS_JSONB, false, NULL, true},
	{"users:current", convex_users_current, RETURNS_JSONB, false, NULL, true},
	{"users:get", convex_users_get, RETURNS_JSONB, false, NULL, true},
};

/* The built-ins' args validators, compiled when first scheduled */
static CvxValidator *builtin_validators[lengthof(builtin_mutations)];

/* A mutation a path names: a built-in one or a registered one */
typedef struct MutationTarget
{
	const BuiltinMutation *builtin;
	struct RegisteredMutation *entry;
	bool		internal;
	bool		is_query;
} MutationTarget;

/* A registered mutation, as cached */
typedef struct RegisteredMutation
{
	char		path[MAX_PATH_LENGTH + 1];	/* hash key */
	Oid			handler;
	Oid			owner;			/* the handler runs as its owner */
	bool		internal;
	bool		is_query;		/* registered with convex_define_query */
	CvxValidator *args;			/* NULL: v.any() */
	CvxValidator *returns;		/* NULL: v.any() */
	bool		sets_search_path;	/* the handler has SET search_path */
	bool		running;		/* flinfo is in use by a call */
	FmgrInfo	flinfo;
} RegisteredMutation;

/* The cache of registered mutations */
typedef struct MutationCache
{
	MemoryContext context;
	HTAB	   *entries;
	struct MutationCache *next_retired;
} MutationCache;

static MutationCache *current_cache = NULL;
static bool current_cache_stale = false;
static MutationCache *retired_caches = NULL;
static SPIPlanPtr lookup_plan = NULL;
static bool lookup_plan_has_kind = false;	/* prepared reading the kind column */

/* Oid of convex._functions when the current cache was started */
static Oid	functions_relid = InvalidOid;

/* Oid of convex_internal_mutation(text, jsonb), the internal-call right */
static Oid	internal_right_oid = InvalidOid;

/* The schema of convexlite's functions (the extension's schema) */
static Oid	extension_namespace = InvalidOid;

/* The search_path handlers run under (handler_search_path) */
static char *handler_path = NULL;

static object_access_hook_type previous_object_access_hook = NULL;

/* Free one cache: the validators (malloc'd by the core), then its memory */
static void
free_cache(MutationCache *cache)
{
	HASH_SEQ_STATUS status;
	RegisteredMutation *entry;

	hash_seq_init(&status, cache->entries);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->args != NULL)
			cvx_validator_free(entry->args);
		if (entry->returns != NULL)
			cvx_validator_free(entry->returns);
	}
	MemoryContextDelete(cache->context);
}

/* Any function or the catalog may have changed: start a new cache */
static void
mutations_invalidate(void)
{
	current_cache_stale = true;
	internal_right_oid = InvalidOid;
	extension_namespace = InvalidOid;
	if (handler_path != NULL)
	{
		pfree(handler_path);
		handler_path = NULL;
	}
}

/* Relcache callback: the catalog changed (or every relation may have) */
static void
mutations_relcache_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == functions_relid)
		mutations_invalidate();
}

/* Syscache callback on pg_proc: a handler may be gone or replaced */
static void
mutations_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	mutations_invalidate();
}

/* At transaction end, free replaced caches */
static void
mutations_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	while (retired_caches != NULL)
	{
		MutationCache *cache = retired_caches;

		retired_caches = cache->next_retired;
		free_cache(cache);
	}
}

/*
 * The namespace of an object just created (not yet visible to the catalog
 * caches, so read with SnapshotSelf), or InvalidOid for a kind of object
 * that has none.
 */
static Oid
created_object_namespace(Oid class_id, Oid object_id)
{
	AttrNumber	namespace_attnum;
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			namespace = InvalidOid;

	if (!is_objectclass_supported(class_id))
		return InvalidOid;
	namespace_attnum = get_object_attnum_namespace(class_id);
	if (namespace_attnum == InvalidAttrNumber)
		return InvalidOid;
	catalog = table_open(class_id, AccessShareLock);
	ScanKeyInit(&key, get_object_attnum_oid(class_id), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(object_id));
	scan = systable_beginscan(catalog, get_object_oid_index(class_id), true,
							  SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, namespace_attnum,
										 RelationGetDescr(catalog), &isnull);

		if (!isnull)
			namespace = DatumGetObjectId(value);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return namespace;
}

/*
 * object_access_hook: inside the sandbox no object may be created in the
 * session's temp schema (42501).  PostgreSQL refuses temp tables, views
 * and sequences in a security-restricted operation; a temp type, domain,
 * function or operator would still outlive the call in the caller's
 * session, and types in pg_temp are found before the caller's own.
 */
static void
sandbox_object_access(ObjectAccessType access, Oid class_id, Oid object_id,
					  int sub_id, void *arg)
{
	if (previous_object_access_hook)
		previous_object_access_hook(access, class_id, object_id, sub_id, arg);
	/* every function call passes here (OAT_FUNCTION_EXECUTE): leave at once */
	if ((access != OAT_POST_CREATE && access != OAT_DROP) || sub_id != 0)
		return;

	/*
	 * A query creates and drops nothing: PostgreSQL's read-only transaction
	 * refuses DDL and DML, but lets lo_create / lo_import make a large
	 * object and lo_unlink drop one.
	 */
	if ((access == OAT_POST_CREATE || access == OAT_DROP) && sub_id == 0 && cvx_in_query())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("a query cannot %s %s: queries are read-only",
						access == OAT_DROP ? "drop" : "create",
						class_id == LargeObjectRelationId ? "large objects" : "database objects"),
				 errhint("Write in a mutation (convex_mutation), not in a query.")));
	/* every call runs sandboxed for as long as cvx_in_mutation() says */
	if (access != OAT_POST_CREATE || !cvx_in_mutation() || sub_id != 0)
		return;
	{
		Oid			namespace = created_object_namespace(class_id, object_id);

		if (OidIsValid(namespace) && isTempOrTempToastNamespace(namespace))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("a mutation cannot create temporary objects"),
					 errdetail("A temporary object would outlive the call in its caller's session."),
					 errhint("Use a convexlite table or an ordinary table instead.")));
	}
}

/* Register the cache's callbacks */
void
cvx_mutations_init(void)
{
	CacheRegisterRelcacheCallback(mutations_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, mutations_proc_callback, (Datum) 0);
	RegisterXactCallback(mutations_xact_callback, NULL);
	previous_object_access_hook = object_access_hook;
	object_access_hook = sandbox_object_access;
}

/* The current cache, replacing a stale one */
static MutationCache *
mutation_cache(void)
{
	if (current_cache != NULL && current_cache_stale)
	{
		current_cache->next_retired = retired_caches;
		retired_caches = current_cache;
		current_cache = NULL;
	}
	if (current_cache == NULL)
	{
		MemoryContext context = AllocSetContextCreate(TopMemoryContext,
													  "convexlite mutations",
													  ALLOCSET_SMALL_SIZES);
		HASHCTL		ctl;
		MutationCache *cache = MemoryContextAllocZero(context, sizeof(MutationCache));

		ctl.keysize = MAX_PATH_LENGTH + 1;
		ctl.entrysize = sizeof(RegisteredMutation);
		ctl.hcxt = context;
		cache->context = context;
		cache->entries = hash_create("convexlite mutations", 16, &ctl,
									 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		current_cache = cache;
		current_cache_stale = false;
		functions_relid = get_relname_relid("_functions",
											get_namespace_oid(CVX_SCHEMA, false));
	}
	return current_cache;
}

/*
 * Is path a Convex function path?  "module:function", the module one or
 * more '/'-separated names of letters, digits, '_', '-' and '.'; the
 * function an identifier.  Raises 22023 otherwise.
 */
static void
check_path(const char *path, size_t len)
{
	const char *colon = memchr(path, ':', len);
	const char *why = NULL;

	if (len == 0)
		why = "it is empty";
	else if (len > MAX_PATH_LENGTH)
		why = psprintf("it is longer than %d bytes", MAX_PATH_LENGTH);
	else if (colon == NULL)
		why = "it has no ':' between module and function, as in \"messages:send\"";
	else
	{
		size_t		module_len = colon - path;
		const char *function = colon + 1;
		size_t		function_len = len - module_len - 1;

		if (module_len == 0 || path[0] == '/' || path[module_len - 1] == '/')
			why = "the module name is empty";
		for (size_t i = 0; why == NULL && i < module_len; i++)
		{
			char		c = path[i];

			if (!(isalnum((unsigned char) c) || c == '_' || c == '-' || c == '.' || c == '/') ||
				(c == '/' && path[i + 1] == '/') ||
				(c == '.' && (i == 0 || path[i - 1] == '/' || path[i - 1] == '.')))
				why = psprintf("the module name has the character '%.*s' where it is not allowed",
							   pg_mblen(&path[i]), &path[i]);
		}
		if (why == NULL && function_len == 0)
			why = "the function name is empty";
		if (why == NULL && !(isalpha((unsigned char) function[0]) || function[0] == '_'))
			why = "the function name must start with a letter or '_'";
		for (size_t i = 0; why == NULL && i < function_len; i++)
			if (!(isalnum((unsigned char) function[i]) || function[i] == '_'))
				why = "the function name may only contain letters, digits and '_'";
	}
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid function path \"%s\": %s",
						cvx_clip_name(path, len), why)));
}

/* The built-in mutation at path, or NULL */
static const BuiltinMutation *
builtin_mutation(const char *path)
{
	for (size_t i = 0; i < lengthof(builtin_mutations); i++)
		if (strcmp(builtin_mutations[i].path, path) == 0)
			return &builtin_mutations[i];
	return NULL;
}

/* The built-in query at path, or NULL */
static const BuiltinMutation *
builtin_query(const char *path)
{
	for (size_t i = 0; i < lengthof(builtin_queries); i++)
		if (strcmp(builtin_queries[i].path, path) == 0)
			return &builtin_queries[i];
	return NULL;
}

/*
 * Does convex._functions have its kind column (0.3.0)?  Between
 * installing this library and ALTER EXTENSION UPDATE it does not, and
 * every registered function is a mutation.
 */
static bool
functions_have_kind(void)
{
	Oid			relid = get_relname_relid("_functions", get_namespace_oid(CVX_SCHEMA, false));

	return OidIsValid(relid) && get_attnum(relid, "kind") != InvalidAttrNumber;
}

/* Does a function's pg_proc row SET search_path (proconfig)? */
static pg_noinline bool
handler_sets_search_path(HeapTuple proc)
{
	bool		isnull;
	Datum		config = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_proconfig, &isnull);
	ArrayType  *array;
	Datum	   *items;
	int			nitems;
	bool		found = false;

	if (isnull)
		return false;
	array = DatumGetArrayTypeP(config);
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &items, NULL, &nitems);
	for (int i = 0; i < nitems && !found; i++)
		found = pg_strncasecmp(TextDatumGetCString(items[i]), "search_path=", 12) == 0;
	return found;
}

/* Compile a validator stored in the catalog */
static CvxValidator *
compile_stored_validator(const char *path, const char *json)
{
	CvxCompileError error;
	CvxValidator *validator = cvx_validator_compile_text(json, &error);

	if (validator == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("validator of mutation \"%s\" in convex._functions does not compile: %s",
						path, error.message)));
	return validator;
}

/*
 * Read a registered mutation from the catalog into the cache; NULL when
 * path is not registered.
 */
static RegisteredMutation *
load_registered(MutationCache *cache, const char *path)
{
	Datum		args[1] = {CStringGetTextDatum(path)};
	Oid			argtypes[1] = {TEXTOID};
	RegisteredMutation *entry = NULL;
	bool		isnull;
	Oid			handler;
	bool		internal;
	bool		is_query = false;
	char	   *args_json;
	char	   *returns_json = NULL;
	HeapTuple	proc;
	Oid			owner;
	bool		sets_search_path;
	CvxValidator *volatile args_validator = NULL;
	CvxValidator *volatile returns_validator = NULL;
	FmgrInfo	flinfo;

	cvx_spi_connect();
	/* the update to 0.3.0 adds the kind column: prepare again after it */
	if (lookup_plan != NULL && lookup_plan_has_kind != functions_have_kind())
	{
		SPI_freeplan(lookup_plan);
		lookup_plan = NULL;
	}
	lookup_plan_has_kind = functions_have_kind();
	if (lookup_plan == NULL)
		lookup_plan = cvx_prepare(lookup_plan_has_kind ?
								  "SELECT handler::pg_catalog.oid, args::pg_catalog.text, "
								  "returns::pg_catalog.text, internal, "
								  "kind OPERATOR(pg_catalog.=) 'query' "
								  "FROM convex._functions WHERE path OPERATOR(pg_catalog.=) $1" :
								  "SELECT handler::pg_catalog.oid, args::pg_catalog.text, "
								  "returns::pg_catalog.text, internal, false "
								  "FROM convex._functions WHERE path OPERATOR(pg_catalog.=) $1",
								  1, argtypes);
	if (cvx_execute(lookup_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "convexlite: could not read convex._functions");
	if (SPI_processed == 0)
	{
		cvx_spi_finish();
		return NULL;
	}
	handler = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	args_json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (!isnull)
		returns_json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	internal = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	is_query = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(handler));
	if (!HeapTupleIsValid(proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("the handler of mutation \"%s\" no longer exists", path),
				 errhint("Register it again with convex_define_mutation, or remove it with convex_drop_mutation.")));
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	sets_search_path = handler_sets_search_path(proc);
	ReleaseSysCache(proc);

	/* everything that can fail comes before the entry exists */
	PG_TRY();
	{
		args_validator = compile_stored_validator(path, args_json);
		if (returns_json != NULL)
			returns_validator = compile_stored_validator(path, returns_json);
		fmgr_info_cxt(handler, &flinfo, cache->context);
	}
	PG_CATCH();
	{
		if (args_validator != NULL)
			cvx_validator_free(args_validator);
		if (returns_validator != NULL)
			cvx_validator_free(returns_validator);
		PG_RE_THROW();
	}
	PG_END_TRY();

	entry = hash_search(cache->entries, path, HASH_ENTER, NULL);
	entry->handler = handler;
	entry->owner = owner;
	entry->internal = internal;
	entry->is_query = is_query;
	entry->args = args_validator;
	entry->returns = returns_validator;
	entry->sets_search_path = sets_search_path;
	entry->running = false;
	fmgr_info_copy(&entry->flinfo, &flinfo, cache->context);
	cvx_spi_finish();
	return entry;
}

/* Convex's error for a path a caller cannot run (missing, or internal) */
static void
raise_not_found(const char *path)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FUNCTION),
			 errmsg("Could not find public function for '%s'.", path),
			 errhint("Register mutations with convex_define_mutation. Internal mutations run only "
					 "from other mutations, scheduled jobs, or for roles granted EXECUTE on "
					 "convex_internal_mutation(text, jsonb).")));
}

/* The schema convexlite's functions live in (read from pg_extension) */
static Oid
convexlite_namespace(void)
{
	if (!OidIsValid(extension_namespace))
	{
		Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;

		ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
					F_NAMEEQ, CStringGetDatum("convexlite"));
		scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
		tuple = systable_getnext(scan);
		if (!HeapTupleIsValid(tuple))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("extension \"convexlite\" is not installed in this database")));
		extension_namespace = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	return extension_namespace;
}

/*
 * May the current user run internal mutations from the top level?  Those
 * granted EXECUTE on convex_internal_mutation(text, jsonb) (superusers,
 * the extension's owner, and roles a DBA grants it to) may.
 */
static bool
has_internal_right(void)
{
	if (!OidIsValid(internal_right_oid))
	{
		Oid			argtypes[2] = {TEXTOID, JSONBOID};
		List	   *name = list_make2(makeString(get_namespace_name(convexlite_namespace())),
									  makeString("convex_internal_mutation"));

		internal_right_oid = LookupFuncName(name, 2, argtypes, true);
		if (!OidIsValid(internal_right_oid))
			return false;
	}
	return pg_proc_aclcheck(internal_right_oid, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK;
}

/* The jsonb form of a built-in mutation's result */
static Jsonb *
builtin_result_jsonb(const BuiltinMutation *builtin, Datum result, bool isnull)
{
	JsonbValue	value;

	if (!isnull && builtin->returns == RETURNS_JSONB)
		return DatumGetJsonbP(result);
	if (isnull || builtin->returns == RETURNS_VOID)
		value.type = jbvNull;
	else if (builtin->returns == RETURNS_TEXT)
	{
		text	   *t = DatumGetTextPP(result);

		value.type = jbvString;
		value.val.string.val = VARDATA_ANY(t);
		value.val.string.len = VARSIZE_ANY_EXHDR(t);
	}
	else
	{
		value.type = jbvNumeric;
		value.val.numeric = DatumGetNumeric(DirectFunctionCall1(int4_numeric, result));
	}
	return JsonbValueToJsonb(&value);
}

/* The owner of schema convex, whom the built-in mutations run as */
Oid
cvx_schema_owner(void)
{
	Oid			namespace = get_namespace_oid(CVX_SCHEMA, false);
	HeapTuple	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(namespace));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for namespace %u", namespace);
	owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Act as the owner of schema convex until SetUserIdAndSecContext(saved_user,
 * saved_context) (or the (sub)transaction's abort) switches back; as a
 * security-restricted operation, so that nothing run meanwhile can change
 * the identity or leave a deferred trigger or temp table behind.
 */
void
cvx_become_schema_owner(Oid *saved_user, int *saved_context)
{
	GetUserIdAndSecContext(saved_user, saved_context);
	SetUserIdAndSecContext(cvx_schema_owner(), *saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/*
 * Fire the deferred triggers queued so far (SET CONSTRAINTS ALL
 * IMMEDIATE), as the current user: a job's, so that their errors are the
 * job's own.
 */
static void
fire_deferred_triggers(void)
{
	ConstraintsSetStmt *all_immediate = makeNode(ConstraintsSetStmt);

	all_immediate->constraints = NIL;
	all_immediate->deferred = false;
	AfterTriggerSetState(all_immediate);
}

/*
 * Enter the sandbox: act as user (a handler's owner, or the extension's
 * owner for a built-in) in a security-restricted operation, at a new GUC
 * nest level.  Returns that level for sandbox_leave.
 */
static int
sandbox_enter(Oid user, Oid *saved_user, int *saved_context)
{
	int			guc_level = NewGUCNestLevel();

	GetUserIdAndSecContext(saved_user, saved_context);
	SetUserIdAndSecContext(user, *saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	return guc_level;
}

/*
 * Make the rest of a query's call a read-only transaction
 * (transaction_read_only at the call's GUC level, which sandbox_leave or
 * the abort rolls back): PostgreSQL then refuses every write its SQL
 * attempts (25006), and the handler cannot turn it off again (a
 * read-only transaction cannot become read-write once it has run a
 * statement).  convexlite's own write paths refuse earlier, with Convex's
 * names (cvx_refuse_in_query).
 */
static void
enter_read_only(void)
{
	(void) set_config_option("transaction_read_only", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* A portal open when a handler's call began, and the status it had */
typedef struct FencedPortal
{
	Portal		portal;
	PortalStatus status;
} FencedPortal;

/*
 * The first portal's memory context: portalmem.c keeps every portal's
 * context under one child of TopMemoryContext, "TopPortalContext", for
 * the life of the backend (found once, by name).
 */
static MemoryContext
first_portal_context(void)
{
	static MemoryContext portals = NULL;

	if (portals == NULL)
		for (MemoryContext child = TopMemoryContext->firstchild; child != NULL; child = child->nextchild)
			if (strcmp(child->name, "TopPortalContext") == 0)
				portals = child;
	return portals != NULL ? portals->firstchild : NULL;
}

/* Next portal after child among TopPortalContext's children, or NULL */
static Portal
next_portal(MemoryContext *child)
{
	for (; *child != NULL; *child = (*child)->nextchild)
	{
		MemoryContext context = *child;
		Portal		portal;

		/* each portal's context is named after it (portalmem.c) */
		if (context->ident == NULL || strcmp(context->name, "PortalContext") != 0)
			continue;
		portal = GetPortalByName(context->ident);
		if ((portal == NULL || portal->portalContext != context) &&
			strcmp(context->ident, "<unnamed>") == 0)
			portal = GetPortalByName("");
		if (portal == NULL || portal->portalContext != context)
			continue;
		*child = context->nextchild;
		return portal;
	}
	return NULL;
}

/*
 * Fence off the portals (cursors, a driver's named portals) open when a
 * handler's call begins: marked active, the call can neither fetch from
 * (55000) nor close (24000) them, so it can neither read rows with its
 * caller's rights nor replace a cursor by one of its own that the
 * caller's next FETCH would run.  Portals running now (the caller's own
 * statement) are active already.  Returns the list for unfence_portals.
 */
static List *
fence_portals(void)
{
	List	   *fenced = NIL;
	MemoryContext child = first_portal_context();
	Portal		portal;

	while ((portal = next_portal(&child)) != NULL)
	{
		FencedPortal *fence;

		if (portal->status == PORTAL_ACTIVE)
			continue;
		fence = palloc(sizeof(FencedPortal));
		fence->portal = portal;
		fence->status = portal->status;
		portal->status = PORTAL_ACTIVE;
		fenced = lappend(fenced, fence);
	}
	return fenced;
}

/* Give the fenced portals back their status */
static void
unfence_portals(List *fenced)
{
	ListCell   *cell;

	foreach(cell, fenced)
	{
		FencedPortal *fence = lfirst(cell);

		fence->portal->status = fence->status;
	}
}

/*
 * Close the portals a handler opened and left open (any not active and
 * not fenced when it returns), so that no query of its owner's is left
 * for its caller to run.
 */
static void
close_left_portals(List *fenced)
{
	MemoryContext child = first_portal_context();
	Portal		portal;
	List	   *left = NIL;
	ListCell   *cell;

	while ((portal = next_portal(&child)) != NULL)
	{
		bool		was_open = false;

		if (portal->status == PORTAL_ACTIVE || portal->portalPinned)
			continue;
		foreach(cell, fenced)
			was_open |= ((FencedPortal *) lfirst(cell))->portal == portal;
		if (!was_open)
			left = lappend(left, portal);
	}
	foreach(cell, left)
		PortalDrop((Portal) lfirst(cell), false);
	list_free(left);
}

/*
 * Leave the sandbox after a call that returned: switch back to the caller
 * and roll back every setting the call changed (SET, SET LOCAL,
 * set_config either way), so none outlives it.  After an error the
 * (sub)transaction's abort does the same.
 */
static void
sandbox_leave(int guc_level, Oid saved_user, int saved_context)
{
	SetUserIdAndSecContext(saved_user, saved_context);
	AtEOXact_GUC(false, guc_level);
}

/*
 * Run a built-in seed mutation as the extension's owner (as its SQL
 * function, SECURITY DEFINER, would), in the sandbox, and return its
 * result as jsonb.  fire_deferred: a scheduled job's, whose deferred
 * triggers fire before it returns, still as that owner.
 */
static Jsonb *
run_builtin(const BuiltinMutation *builtin, Jsonb *args, bool fire_deferred)
{
	LOCAL_FCINFO(call, 1);
	Oid			saved_user;
	int			saved_context;
	int			guc_level;
	Datum		result;

	InitFunctionCallInfoData(*call, NULL, 1, InvalidOid, NULL, NULL);
	call->args[0].value = JsonbPGetDatum(args);
	call->args[0].isnull = false;
	guc_level = sandbox_enter(cvx_schema_owner(), &saved_user, &saved_context);
	if (builtin->is_query)
		enter_read_only();
	result = builtin->function(call);
	if (fire_deferred)
		fire_deferred_triggers();
	sandbox_leave(guc_level, saved_user, saved_context);
	return builtin_result_jsonb(builtin, result, call->isnull);
}

/*
 * The search_path a handler without its own runs under: pg_catalog first,
 * then the schema of convexlite's functions, pg_temp last, like a
 * SECURITY DEFINER function should pin it (the caller's path could
 * otherwise put look-alike functions or operators in front of the owner).
 */
static const char *
handler_search_path(void)
{
	if (handler_path == NULL)
	{
		char	   *name = get_namespace_name(convexlite_namespace());

		handler_path = MemoryContextStrdup(TopMemoryContext,
										   psprintf("pg_catalog, %s, pg_temp",
													quote_identifier(name)));
	}
	return handler_path;
}

/*
 * Run a registered handler as its owner, in the sandbox, under
 * handler_search_path unless it sets its own; SQL NULL is Convex's null.
 * fire_deferred: a scheduled job's, whose deferred triggers fire before
 * it returns, still as the owner (the sandbox lets the handler queue
 * none; what the job's other writes queued fires as the handler's
 * owner, never as the runner).  The kept FmgrInfo serves one call at a
 * time: a handler that runs again inside itself (through
 * ctx.runMutation) gets a fresh copy, as a SQL function's state lives in
 * it.  On error the transaction's or subtransaction's abort restores the
 * user and the settings.
 */
static Jsonb *
run_registered(RegisteredMutation *entry, Jsonb *args, bool fire_deferred)
{
	LOCAL_FCINFO(call, 1);
	FmgrInfo	fresh;
	FmgrInfo   *flinfo = &entry->flinfo;
	bool		reentered = entry->running;
	Oid			saved_user;
	int			saved_context;
	int			guc_level;
	List	   *volatile fenced;
	volatile Datum result;

	if (reentered)
	{
		fmgr_info_copy(&fresh, &entry->flinfo, CurrentMemoryContext);
		flinfo = &fresh;
	}
	InitFunctionCallInfoData(*call, flinfo, 1, InvalidOid, NULL, NULL);
	call->args[0].value = JsonbPGetDatum(args);
	call->args[0].isnull = false;
	guc_level = sandbox_enter(entry->owner, &saved_user, &saved_context);
	if (entry->is_query)
		enter_read_only();
	if (!entry->sets_search_path)
		(void) set_config_option("search_path", handler_search_path(),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	fenced = fence_portals();
	entry->running = true;
	PG_TRY();
	{
		result = FunctionCallInvoke(call);
		if (fire_deferred)
			fire_deferred_triggers();
		close_left_portals(fenced);
	}
	PG_FINALLY();
	{
		entry->running = reentered;
		unfence_portals(fenced);
	}
	PG_END_TRY();
	list_free_deep(fenced);
	sandbox_leave(guc_level, saved_user, saved_context);
	if (call->isnull)
	{
		JsonbValue	null_value = {.type = jbvNull};

		return JsonbValueToJsonb(&null_value);
	}
	return DatumGetJsonbP(result);
}

/* Check a value against a validator, with Convex's prefix on failure */
static void
check_value(const CvxValidator *validator, Jsonb *jsonb, const char *prefix)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;
	CvxValue	value;

	cvx_jsonb_value(jsonb, &value);
	if (!cvx_check(validator, &value, &context, &error))
		cvx_raise_validation_error(prefix, &error, &context,
								   ERRCODE_INVALID_PARAMETER_VALUE);
}

/*
 * Arguments and return values (is_return) must be well-formed Convex
 * values: nesting, '$' keys, ...
 */
static void
check_convex_value(const char *path, Jsonb *jsonb, bool is_return)
{
	CvxValue	value;
	char		reason[256];
	CvxValueFault fault;

	cvx_jsonb_value(jsonb, &value);
	fault = cvx_value_fault(&value, &cvx_jsonb_ops, false, reason, sizeof(reason));
	if (fault == CVX_VALUE_OK)
		return;
	if (is_return)
		ereport(ERROR,
				(errcode(cvx_value_fault_sqlstate(fault)),
				 errmsg("ReturnsValidationError: the return value of %s is not a Convex value: %s",
						path, reason)));
	ereport(ERROR,
			(errcode(cvx_value_fault_sqlstate(fault)),
			 errmsg("Invalid arguments for %s: %s", path, reason)));
}

/*
 * Find the function (a mutation or a query) a path names (its syntax
 * already checked), or raise Convex's not-found error.
 */
static void
resolve_mutation(const char *path, MutationTarget *target)
{
	target->builtin = builtin_mutation(path);
	if (target->builtin == NULL)
		target->builtin = builtin_query(path);
	target->entry = NULL;
	if (target->builtin != NULL)
	{
		target->internal = target->builtin->internal;
		target->is_query = target->builtin->is_query;
		return;
	}
	{
		MutationCache *cache = mutation_cache();

		target->entry = hash_search(cache->entries, path, HASH_FIND, NULL);
		if (target->entry == NULL)
			target->entry = load_registered(cache, path);
		if (target->entry == NULL)
			raise_not_found(path);
		target->internal = target->entry->internal;
		target->is_query = target->entry->is_query;
	}
}

/*
 * A mutation must be run as a mutation and a query as a query: Convex's
 * error otherwise (42809).
 */
static void
check_kind(const char *path, const MutationTarget *target, bool as_query)
{
	if (target->is_query != as_query)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("Trying to execute %s as %s, but it is defined as %s.", path,
						as_query ? "Query" : "Mutation", as_query ? "Mutation" : "Query"),
				 errhint(as_query ? "Run mutations with convex_mutation." :
						 "Run queries with convex_query; a query cannot be scheduled.")));
}

/*
 * Check a call's arguments in Convex's order: size, a JSON object, the
 * value rules (nesting, '$' keys, ...), then the validator.  A built-in
 * mutation checks its validator itself when it runs; check_builtin asks
 * for that check now (when scheduling).
 */
static void
check_call_args(const char *path, const MutationTarget *target, Jsonb *args,
				bool check_builtin)
{
	cvx_check_args_size(path, VARSIZE_ANY_EXHDR(args));
	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ArgumentValidationError: the arguments of %s must be a JSON object", path)));
	if (target->entry != NULL)
	{
		check_convex_value(path, args, false);
		if (target->entry->args != NULL)
			check_value(target->entry->args, args, "ArgumentValidationError: ");
	}
	else
	{
		int			index = target->builtin - builtin_mutations;

		/* the value rules now, as for any path; the validator when it runs */
		check_convex_value(path, args, false);
		if (!check_builtin)
			return;
		if (builtin_validators[index] == NULL)
			builtin_validators[index] = cvx_compile_constant(*target->builtin->args);
		check_value(builtin_validators[index], args, "ArgumentValidationError: ");
	}
}

/*
 * Run a resolved and checked mutation inside the call's budget (limits.c)
 * and check its return value (fire_deferred: see run_registered).
 */
static Jsonb *
run_target_once(const char *path, const MutationTarget *target, Jsonb *args,
				bool fire_deferred)
{
	Jsonb	   *result = NULL;
	MemoryContext context = CurrentMemoryContext;

	if (cvx_mutation_depth() > MAX_CALL_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Cross component call depth limit exceeded. Do you have an infinite loop in your app?"),
				 errdetail("Mutations may call mutations %d levels deep.", MAX_CALL_DEPTH)));
	check_stack_depth();

	cvx_call_enter();
	if (target->is_query)
		cvx_query_enter();
	PG_TRY();
	{
		if (target->builtin != NULL)
			result = run_builtin(target->builtin, args, fire_deferred);
		else
			result = run_registered(target->entry, args, fire_deferred);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		if (target->is_query)
			cvx_query_leave();
		if (cvx_call_abort())
		{
			FlushErrorState();
			cvx_raise_timeout();
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (target->is_query)
		cvx_query_leave();
	cvx_call_leave();

	cvx_check_return_size(path, VARSIZE_ANY_EXHDR(result));
	if (target->entry != NULL)
	{
		check_convex_value(path, result, true);
		if (target->entry->returns != NULL)
			check_value(target->entry->returns, result, "ReturnsValidationError: ");
	}
	return result;
}

/* A call for cvx_run_attempts */
typedef struct TargetCall
{
	const char *path;
	const MutationTarget *target;
	Jsonb	   *args;
	bool		fire_deferred;
} TargetCall;

/* One attempt of a top-level call */
static Jsonb *
run_target_call(void *arg)
{
	TargetCall *call = arg;

	return run_target_once(call->path, call->target, call->args, call->fire_deferred);
}

/*
 * Run a mutation: a top-level call in attempts that conflicts undo and
 * run again (conflicts.c); a nested call (ctx.runMutation) as part of its
 * caller's attempt.
 */
static Jsonb *
run_target(const char *path, const MutationTarget *target, Jsonb *args,
		   bool fire_deferred)
{
	TargetCall	call = {path, target, args, fire_deferred};

	if (cvx_mutation_depth() > 0)
		return run_target_once(path, target, args, fire_deferred);
	return cvx_run_attempts(path, run_target_call, &call);
}

/*
 * May the caller run (and schedule) internal mutations?  From inside a
 * mutation, or as a role granted EXECUTE on convex_internal_mutation.
 */
bool
cvx_may_run_internal(void)
{
	return cvx_in_mutation() || has_internal_right();
}

/*
 * Resolve a call of path for a caller who may (internal_allowed) or may
 * not reach internal mutations, and check its arguments (check_builtin:
 * a built-in's validator too, as when scheduling).
 */
static void
prepare_call(const char *path, Jsonb *args, bool internal_allowed,
			 bool check_builtin, MutationTarget *target)
{
	check_path(path, strlen(path));
	resolve_mutation(path, target);
	if (target->internal && !internal_allowed)
		raise_not_found(path);
	check_kind(path, target, false);
	check_call_args(path, target, args, check_builtin);
}

/*
 * Check a call of path with args as if it were made now, without running
 * it: the path exists and the caller may run it (internal_allowed), and
 * the arguments pass its validator.  Raises the call's error otherwise.
 */
void
cvx_check_mutation_call(const char *path, Jsonb *args, bool internal_allowed)
{
	MutationTarget target;

	prepare_call(path, args, internal_allowed, true, &target);
}

/*
 * Run a scheduled job's mutation, path with args (internal ones allowed),
 * and return its result.  The deferred triggers its writes queued fire
 * before it returns, as the identity the mutation ran as (its handler's
 * owner, or the extension's owner for a built-in), so that their errors
 * are the job's and they never run as the job's runner.
 */
Jsonb *
cvx_run_job_mutation(const char *path, Jsonb *args)
{
	MutationTarget target;

	prepare_call(path, args, true, false, &target);
	return run_target(path, &target, args, true);
}

/*
 * The dispatcher behind convex_mutation, convex_query and their internal
 * forms.  internal_entry: called as convex_internal_mutation or
 * convex_internal_query, whose EXECUTE right is the right to run internal
 * functions.  A mutation runs in attempts (conflicts.c); a query runs as
 * one call (it writes nothing that could conflict), read-only, in the
 * sandbox; inside a mutation it is ctx.runQuery and its reads are part of
 * the mutation's attempt.
 */
static Datum
dispatch(FunctionCallInfo fcinfo, bool internal_entry, bool query)
{
	text	   *path_text;
	char	   *path;
	Jsonb	   *args;
	MutationTarget target;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("args must not be NULL"),
				 errhint(query ? "A query without arguments takes '{}'." :
						 "A mutation without arguments takes '{}'.")));
	path_text = PG_GETARG_TEXT_PP(0);
	check_path(VARDATA_ANY(path_text), VARSIZE_ANY_EXHDR(path_text));
	path = text_to_cstring(path_text);
	if (!query)
	{
		cvx_require_primary("run mutation", path);
		/* a query has no ctx.runMutation */
		cvx_refuse_in_query("ctx.runMutation");
	}
	args = PG_GETARG_JSONB_P(1);

	/* Convex's order: visibility, argument size, argument validator */
	resolve_mutation(path, &target);
	if (target.internal && !internal_entry && !cvx_in_mutation() && !has_internal_right())
		raise_not_found(path);
	check_kind(path, &target, query);
	check_call_args(path, &target, args, false);
	if (query)
		PG_RETURN_JSONB_P(run_target_once(path, &target, args, false));
	PG_RETURN_JSONB_P(run_target(path, &target, args, false));
}

/*
 * convex_mutation(path, args): run a mutation by path; internal ones only
 * from an internal context.  Inside a handler this is ctx.runMutation.
 */
Datum
convex_mutation(PG_FUNCTION_ARGS)
{
	return dispatch(fcinfo, false, false);
}

/*
 * convex_internal_mutation(path, args): the same, for callers allowed to
 * run internal mutations (EXECUTE on this function is that right).
 */
Datum
convex_internal_mutation(PG_FUNCTION_ARGS)
{
	return dispatch(fcinfo, true, false);
}

/*
 * convex_query(path, args): run a query by path; internal ones only from
 * an internal context.  Inside a handler this is ctx.runQuery.
 */
Datum
convex_query(PG_FUNCTION_ARGS)
{
	return dispatch(fcinfo, false, true);
}

/*
 * convex_internal_query(path, args): the same, for callers allowed to run
 * internal queries (EXECUTE on this function is that right).
 */
Datum
convex_internal_query(PG_FUNCTION_ARGS)
{
	return dispatch(fcinfo, true, true);
}

/* Tell every backend (at commit) that the catalog changed */
static void
invalidate_everywhere(void)
{
	CacheInvalidateRelcacheByRelid(get_relname_relid("_functions",
													 get_namespace_oid(CVX_SCHEMA, false)));
}

/* Compile a validator argument of convex_define_mutation, or raise 22023 */
static CvxValidator *
compile_argument_validator(Jsonb *json, const char *what)
{
	char	   *text = JsonbToCString(NULL, &json->root, VARSIZE(json));
	CvxCompileError error;
	CvxValidator *validator = cvx_validator_compile_text(text, &error);

	if (validator == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not a Convex validator: %s", what, error.message)));
	return validator;
}

/*
 * The handler must be a plain function f(jsonb) RETURNS jsonb that the
 * caller owns: it will run as its owner.
 */
static void
check_handler(Oid handler, bool is_query)
{
	const char *kind = is_query ? "query" : "mutation";
	char		volatility;
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(handler));
	Form_pg_proc proc;
	bool		ok;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", handler)));
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	ok = proc->prokind == PROKIND_FUNCTION && !proc->proretset &&
		proc->pronargs == 1 && proc->proargtypes.values[0] == JSONBOID &&
		proc->prorettype == JSONBOID;
	volatility = proc->provolatile;
	ReleaseSysCache(tuple);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("%s handler %s must be a function (args jsonb) RETURNS jsonb",
						kind, format_procedure(handler))));
	/* a query's statements must all see the snapshot it was called with */
	if (is_query && volatility == PROVOLATILE_VOLATILE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("query handler %s must be declared STABLE", format_procedure(handler)),
				 errdetail("A query reads one consistent snapshot: PostgreSQL runs every statement "
						   "of a STABLE function on the snapshot of the statement that called it."),
				 errhint("ALTER FUNCTION %s STABLE", format_procedure(handler))));
	if (!pg_proc_ownercheck(handler, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of function %s to register it as a %s handler",
						format_procedure(handler), kind),
				 errdetail("A %s's handler runs with its owner's privileges.", kind)));
}

/*
 * Register (or redefine) a mutation or query (is_query) from the
 * arguments (path, handler, args, returns, internal).  args is an object
 * validator (or v.any()); returns NULL means v.any().
 */
static void
define_function(FunctionCallInfo fcinfo, bool is_query)
{
	text	   *path_text;
	Oid			handler;
	Jsonb	   *args;
	Jsonb	   *returns = NULL;
	bool		internal;
	CvxValidator *validator;
	CvxValidatorKind kind;
	Datum		values[6];
	char		nulls[7] = "      ";
	Oid			argtypes[6] = {TEXTOID, OIDOID, JSONBOID, JSONBOID, BOOLOID, TEXTOID};

	for (int i = 0; i < 5; i++)
		if (PG_ARGISNULL(i) && i != 3)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL",
							(const char *[]) {"path", "handler", "args", "returns", "internal"}[i])));
	path_text = PG_GETARG_TEXT_PP(0);
	check_path(VARDATA_ANY(path_text), VARSIZE_ANY_EXHDR(path_text));
	if (builtin_mutation(text_to_cstring(path_text)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_FUNCTION),
				 errmsg("\"%s\" is one of convexlite's built-in mutations", text_to_cstring(path_text))));
	if (builtin_query(text_to_cstring(path_text)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_FUNCTION),
				 errmsg("\"%s\" is one of convexlite's built-in queries", text_to_cstring(path_text))));
	if (is_query && !functions_have_kind())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("registered queries need convexlite 0.3.0's catalog"),
				 errhint("Run ALTER EXTENSION convexlite UPDATE.")));
	handler = PG_GETARG_OID(1);
	check_handler(handler, is_query);

	args = PG_GETARG_JSONB_P(2);
	validator = compile_argument_validator(args, "args");
	kind = cvx_validator_kind(validator);
	cvx_validator_free(validator);
	if (kind != CVX_V_OBJECT && kind != CVX_V_ANY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("args must be an object validator ({\"type\": \"object\", \"value\": {...}}) or v.any()")));
	if (!PG_ARGISNULL(3))
	{
		returns = PG_GETARG_JSONB_P(3);
		cvx_validator_free(compile_argument_validator(returns, "returns"));
	}
	internal = PG_GETARG_BOOL(4);

	values[0] = PointerGetDatum(path_text);
	values[1] = ObjectIdGetDatum(handler);
	values[2] = JsonbPGetDatum(args);
	values[3] = returns != NULL ? JsonbPGetDatum(returns) : (Datum) 0;
	nulls[3] = returns != NULL ? ' ' : 'n';
	values[4] = BoolGetDatum(internal);
	cvx_spi_connect();
	if (functions_have_kind())
	{
		values[5] = CStringGetTextDatum(is_query ? "query" : "mutation");
		cvx_execute_args("INSERT INTO convex._functions (path, handler, args, returns, internal, kind) "
						 "VALUES ($1, $2::pg_catalog.oid::pg_catalog.regprocedure, $3, $4, $5, $6) "
						 "ON CONFLICT (path) DO UPDATE SET handler = EXCLUDED.handler, "
						 "args = EXCLUDED.args, returns = EXCLUDED.returns, internal = EXCLUDED.internal, "
						 "kind = EXCLUDED.kind",
						 6, argtypes, values, nulls, false, 0);
	}
	else
		cvx_execute_args("INSERT INTO convex._functions (path, handler, args, returns, internal) "
						 "VALUES ($1, $2::pg_catalog.oid::pg_catalog.regprocedure, $3, $4, $5) "
						 "ON CONFLICT (path) DO UPDATE SET handler = EXCLUDED.handler, "
						 "args = EXCLUDED.args, returns = EXCLUDED.returns, internal = EXCLUDED.internal",
						 5, argtypes, values, nulls, false, 0);
	cvx_spi_finish();
	invalidate_everywhere();
}

/*
 * convex_define_mutation(path, handler, args, returns, internal): register
 * (or redefine) a mutation.
 */
Datum
convex_define_mutation(PG_FUNCTION_ARGS)
{
	define_function(fcinfo, false);
	PG_RETURN_VOID();
}

/*
 * convex_define_query(path, handler, args, returns, internal): register
 * (or redefine) a query; its handler must be STABLE.
 */
Datum
convex_define_query(PG_FUNCTION_ARGS)
{
	define_function(fcinfo, true);
	PG_RETURN_VOID();
}

/*
 * Forget the registered function at path argument 0, of its kind only: a
 * mutation's path is not a query's to drop, nor the other way round
 * (42883 names the kind asked for).  Before ALTER EXTENSION UPDATE adds
 * the kind column every registered function is a mutation.
 */
static void
drop_function(FunctionCallInfo fcinfo, bool is_query)
{
	const char *kind = is_query ? "query" : "mutation";
	bool		have_kind;
	text	   *path_text;
	Datum		values[1];
	Oid			argtypes[1] = {TEXTOID};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	path_text = PG_GETARG_TEXT_PP(0);
	check_path(VARDATA_ANY(path_text), VARSIZE_ANY_EXHDR(path_text));
	values[0] = PointerGetDatum(path_text);
	cvx_spi_connect();
	have_kind = functions_have_kind();
	if (have_kind)
		cvx_execute_args(is_query ?
						 "DELETE FROM convex._functions WHERE path OPERATOR(pg_catalog.=) $1 "
						 "AND kind OPERATOR(pg_catalog.=) 'query'" :
						 "DELETE FROM convex._functions WHERE path OPERATOR(pg_catalog.=) $1 "
						 "AND kind OPERATOR(pg_catalog.=) 'mutation'",
						 1, argtypes, values, NULL, false, 0);
	else if (!is_query)
		cvx_execute_args("DELETE FROM convex._functions WHERE path OPERATOR(pg_catalog.=) $1",
						 1, argtypes, values, NULL, false, 0);
	if ((!have_kind && is_query) || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("no registered %s \"%s\"", kind, text_to_cstring(path_text))));
	cvx_spi_finish();
	invalidate_everywhere();
}

/* convex_drop_mutation(path): forget a registered mutation */
Datum
convex_drop_mutation(PG_FUNCTION_ARGS)
{
	drop_function(fcinfo, false);
	PG_RETURN_VOID();
}

/* convex_drop_query(path): forget a registered query */
Datum
convex_drop_query(PG_FUNCTION_ARGS)
{
	drop_function(fcinfo, true);
	PG_RETURN_VOID();
}
