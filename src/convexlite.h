/*-------------------------------------------------------------------------
 *
 * convexlite.h
 *	  Declarations shared by the server side of convexlite.
 *
 * The server side adapts the PostgreSQL-free core (src/core) to
 * PostgreSQL: jsonb values are checked in place, documents live in tables
 * of schema "convex" described by the catalog convex._tables, and every
 * write goes through one function (cvx_write in db.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CONVEXLITE_H
#define CONVEXLITE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "cvx_id.h"
#include "cvx_validator.h"

/* The schema that holds every convexlite table */
#define CVX_SCHEMA "convex"

/* ---------------------------------------------------------------------
 * tables.c: the catalog of convexlite tables
 * ---------------------------------------------------------------------
 */

/* How a top-level field is stored */
typedef enum CvxColumnType
{
	CVX_COL_TEXT,				/* v.string(), v.id(...) */
	CVX_COL_FLOAT8,				/* v.number() */
	CVX_COL_BOOL,				/* v.boolean() */
	CVX_COL_INT8,				/* v.int64(), {"$integer": base64} in JSON */
	CVX_COL_BYTEA,				/* v.bytes(), {"$bytes": base64} in JSON */
	CVX_COL_JSONB				/* everything else, as Convex JSON */
} CvxColumnType;

/* One document field and the column that stores it */
typedef struct CvxColumn
{
	const CvxFieldValidator *field; /* name, optional, validator */
	char		column[NAMEDATALEN];	/* snake_case column name */
	CvxColumnType type;
	Oid			type_oid;
} CvxColumn;

/* Most filter fields a notification carries (realtime.c) */
#define CVX_MAX_NOTIFY_FIELDS 4
/* Longest JSON text of one filter field a notification carries */
#define CVX_NOTIFY_MAX_FIELD 1024

/* Most fields an index may list (Convex's limit) */
#define CVX_MAX_INDEX_FIELDS 16

/* An index of a table: its fields as positions in table->columns */
typedef struct CvxIndex
{
	char		name[NAMEDATALEN];
	int			nfields;
	int			fields[CVX_MAX_INDEX_FIELDS];
	uint32		keyed;			/* bit i: field i is stored as convex.index_key */
	/* field i's path below its column ("b.c" of "a.b.c"), NULL if top-level */
	const char *paths[CVX_MAX_INDEX_FIELDS];
} CvxIndex;

/* Document keys besides the columns (CvxDocumentKey.column) */
#define CVX_KEY_ID (-2)
#define CVX_KEY_CREATION_TIME (-1)

/* A document's key, in jsonb's order of keys (CvxTable.document_keys) */
typedef struct CvxDocumentKey
{
	int			column;			/* CVX_KEY_ID, CVX_KEY_CREATION_TIME or a column's position */
	int			length;			/* of the name */
	const char *name;
} CvxDocumentKey;

/* A convexlite table, as described by convex._tables */
typedef struct CvxTable
{
	char		name[NAMEDATALEN];	/* Convex table name, e.g. "messages" */
	uint32		number;			/* Convex table number */
	Oid			relid;			/* its relation convex.<name> */
	bool		is_system;		/* "_storage", "_scheduled_functions" */
	bool		is_builtin;		/* created by the install script, not convex_define_table */
	CvxValidator *validator;	/* object validator of the document */
	int			ncolumns;
	CvxColumn  *columns;		/* in field-name order */
	CvxDocumentKey *document_keys;	/* _id, _creationTime and the fields, in jsonb's order */
	int			nindexes;
	CvxIndex   *indexes;		/* the catalog's, without by_creation_time */
	Jsonb	   *other_indexes;	/* search, vector and staged indexes (define_schema.c), or NULL */
	List	   *query_plans;	/* query.c's kept statements (plans.c's LRU) */
	List	   *builder_plans;	/* query_builder.c's kept statements (LRU) */
	List	   *patch_plans;	/* db.c's kept UPDATEs by patched columns (LRU) */
	uint32		patch_misses;	/* patches of a set the full LRU did not hold */
	/* realtime.c: the filter columns a notification carries (catalog's notify) */
	int			nnotify_fields;
	int			notify_fields[CVX_MAX_NOTIFY_FIELDS];
	/* statements over all columns, prepared on first use */
	SPIPlanPtr	insert_plan;
	SPIPlanPtr	get_plan;
	SPIPlanPtr	get_for_update_plan;
	SPIPlanPtr	update_plan;
	SPIPlanPtr	delete_plan;
	SPIPlanPtr	any_patch_plan;	/* one UPDATE for every set of patched columns */
} CvxTable;

extern void cvx_tables_init(void);
extern void cvx_describe_table(CvxTable *table, const char *fields_json,
							   MemoryContext context, bool from_catalog);
extern void cvx_describe_indexes(CvxTable *table, Jsonb *indexes,
								 MemoryContext context);
extern CvxTable *cvx_table_by_name(const char *name, size_t name_len);
extern CvxTable *cvx_table_by_number(uint32 number);
extern CvxTable *cvx_table_lookup(text *name);
extern CvxTable *cvx_table_for_write(text *name, AclMode mode);
extern void cvx_lock_table_definition(const char *name);
extern const char *cvx_table_name_lookup(void *arg, uint32_t table_number);
extern int	cvx_column_index(CvxTable *table, const char *field);
extern int	cvx_find_column(CvxTable *table, const char *field);
extern CvxTable *cvx_builtin_table(const char *name);
extern void cvx_refuse_other_index(const CvxTable *table, const char *index_name);
extern bool cvx_index_keyed(const CvxTable *table, const CvxColumn *column);
extern char *cvx_json_path_sql(const char *column, const char *path);

/* ---------------------------------------------------------------------
 * plans.c: statements prepared once, run under a pinned search_path
 * ---------------------------------------------------------------------
 */
extern SPIPlanPtr cvx_prepare(const char *sql, int nargs, Oid *argtypes);
extern void cvx_require_primary(const char *action, const char *object);
extern SPIPlanPtr cvx_prepare_indexed(const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr cvx_kept_plan(SPIPlanPtr *slot, const char *sql, int nargs,
							   Oid *argtypes);

/* Most statements kept per table and kind (patch shapes, query shapes) */
#define CVX_KEPT_PLANS_PER_TABLE 32

extern SPIPlanPtr cvx_plan_cache_find(List **cache, const void *key, Size keylen);
extern void cvx_plan_cache_add(List **cache, const void *key, Size keylen,
							   SPIPlanPtr plan, MemoryContext context);
extern void cvx_plan_cache_free(List **cache);
extern int	cvx_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
						bool read_only, long count);
extern int	cvx_execute_by_key(SPIPlanPtr plan, Datum *values, const char *nulls,
							   bool read_only, long count);
extern Portal cvx_cursor_open_indexed(SPIPlanPtr plan, Datum *values, const char *nulls,
									  bool read_only);
extern Portal cvx_cursor_open(SPIPlanPtr plan, Datum *values, const char *nulls,
							  bool read_only);
extern int	cvx_execute_once(const char *sql, bool read_only);
extern int	cvx_execute_args(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls, bool read_only,
							 long count);
extern void cvx_spi_connect(void);
extern void cvx_spi_finish(void);
extern text *cvx_spi_return_text(text *value);

/* ---------------------------------------------------------------------
 * validate.c: the core's validators over jsonb
 * ---------------------------------------------------------------------
 */
extern const CvxValueOps cvx_jsonb_ops;
extern void cvx_jsonb_value(Jsonb *jsonb, CvxValue *out);
extern void cvx_jsonb_scalar_value(const JsonbValue *jbv, CvxValue *out);
extern CvxValidator *cvx_compile_constant(const char *validator_json);
extern void cvx_check_args(const CvxValidator *validator, const CvxValue *args);
extern bool cvx_args_field(const CvxValue *args, const char *name, CvxValue *out);
extern text *cvx_value_text(const CvxValue *value);
extern double cvx_value_number(const CvxValue *value);
extern Jsonb *cvx_value_jsonb(const CvxValue *value);
extern Jsonb *cvx_args_jsonb(Datum args, bool isnull, CvxValue *value);

/* ---------------------------------------------------------------------
 * ids.c: minting and checking Convex ids
 * ---------------------------------------------------------------------
 */
extern void cvx_random_bytes(uint8 *out, int n);
/* Sharding (ids.c, docs/sharding.md): convexlite.node_id */
#define CVX_MAX_NODE_ID 255
extern void cvx_ids_init(void);
extern int	cvx_node_id(void);
extern void cvx_mark_node(uint8 *random_bytes);
extern void cvx_require_local_id(const CvxId *decoded, const char *id, size_t len);
extern text *cvx_new_id(uint32 table_number);
extern char *cvx_id_renumber(const char *s, size_t len, uint32 from_number, uint32 to_number);
extern double cvx_next_creation_time(void);
extern double cvx_date_now(void);
extern bool cvx_id_is_for_table(const char *id, size_t len, const CvxTable *table);
extern text *cvx_id_argument(FunctionCallInfo fcinfo, int argno, const char *sql_name,
							 const char *convex_name, const char *function,
							 uint32 table_number, const char *table_name);
extern void cvx_read_args(FunctionCallInfo fcinfo, CvxValidator **validator,
						  const char *validator_json, CvxValue *args);


/* ---------------------------------------------------------------------
 * auth.c: getAuthUserId, and the seed's ownership rule
 * ---------------------------------------------------------------------
 */
extern void cvx_auth_init(void);
extern text *cvx_auth_user_id(void);
extern void cvx_auth_set_anonymous(bool anonymous);
extern bool cvx_may_remove(CvxTable *table, HeapTuple row, TupleDesc tupdesc,
						   text *user_id, const CvxValue *session_id);

/* ---------------------------------------------------------------------
 * errors.c: Convex's errors as PostgreSQL errors
 * ---------------------------------------------------------------------
 */
extern void cvx_raise_validation_error(const char *prefix,
									   const CvxCheckError *error,
									   const CvxCheckContext *context,
									   int sqlstate) pg_attribute_noreturn();
extern void cvx_raise_convex_error(const char *code,
								   const char *message) pg_attribute_noreturn();
extern bool cvx_is_convex_error(const ErrorData *edata);
extern void cvx_raise_missing_document(const char *operation,
									   const char *id) pg_attribute_noreturn();
extern char *cvx_clip_name(const char *name, size_t len);

/*
 * Every convexlite error carries a JSON DETAIL with a stable "code".
 *
 * This header is included by every server file, and it wraps PostgreSQL's
 * ereport (and so elog): each report calls cvx_err_begin first and
 * cvx_err_finish last.  At ERROR and above, finish sets the DETAIL to a
 * JSON object: {"code": ...} plus "detail" with the text an errdetail()
 * gave.  The code is the one named with cvx_errcode_name("NAME") inside the
 * ereport, else the one errors.c's table gives the report's SQLSTATE.  A
 * report whose whole DETAIL is already such an object (ConvexError,
 * validation errors) passes it with cvx_errdetail_json.  Reports below
 * ERROR (LOG, WARNING, NOTICE) are left as they are.  Nothing else is
 * needed in an ereport: write it as usual.
 */
extern void cvx_err_begin(int elevel);
extern int	cvx_err_finish(void);
extern int	cvx_errcode_name(const char *code);
extern int	cvx_errdetail(const char *fmt,...) pg_attribute_printf(1, 2);
extern int	cvx_errdetail_json(const char *json);
extern const char *cvx_sqlstate_code(int sqlerrcode);

#undef ereport_domain
#define ereport_domain(elevel, domain, ...)	\
	do { \
		pg_prevent_errno_in_scope(); \
		if (__builtin_constant_p(elevel) && (elevel) >= ERROR ? \
			errstart_cold(elevel, domain) : \
			errstart(elevel, domain)) \
			cvx_err_begin(elevel), __VA_ARGS__, cvx_err_finish(), \
				errfinish(__FILE__, __LINE__, PG_FUNCNAME_MACRO); \
		if (__builtin_constant_p(elevel) && (elevel) >= ERROR) \
			pg_unreachable(); \
	} while(0)
#define errdetail(...) cvx_errdetail(__VA_ARGS__)
#define errdetail_internal(...) cvx_errdetail(__VA_ARGS__)
extern void cvx_require_argument(FunctionCallInfo fcinfo, int argno, const char *name);

/* ---------------------------------------------------------------------
 * documents.c: documents <-> rows
 * ---------------------------------------------------------------------
 */
extern void cvx_document_to_row(CvxTable *table, const CvxValue *document,
								Datum *values, bool *nulls);
extern Datum cvx_field_datum(const CvxColumn *column, const CvxValue *value);
extern void cvx_check_document(CvxTable *table, const CvxValue *document,
							   const char *stored_id);
extern Jsonb *cvx_row_to_document(CvxTable *table, HeapTuple tuple,
								  TupleDesc tupdesc);
extern CvxDocumentKey *cvx_document_keys(const CvxTable *table, MemoryContext context);
extern int	cvx_value_fault_sqlstate(CvxValueFault fault);
extern void cvx_set_string_field(CvxTable *table, Datum *values, bool *nulls,
								 const CvxValue *args, const char *field);
extern void cvx_push_key(JsonbParseState **state, const char *key);
extern Numeric cvx_float8_to_numeric(double value);
/* Most bytes cvx_float8_numeric_bytes writes: headers and 5 digits */
#define CVX_FLOAT8_NUMERIC_MAX (VARHDRSZ + 2 * sizeof(uint16) + 5 * sizeof(uint16))
extern int	cvx_float8_numeric_bytes(double value, char *out);

/* ---------------------------------------------------------------------
 * jsonb_build.c: documents written straight into jsonb's binary form
 * ---------------------------------------------------------------------
 */
/* An array being built, one element at a time */
typedef struct CvxJsonbArray
{
	StringInfo	data;			/* the elements' bytes: own, or a shared buffer */
	StringInfoData own;
	JEntry	   *entries;		/* each element's JEntry (its length) */
	int			count;
	int			capacity;
} CvxJsonbArray;

extern Jsonb *cvx_values_to_document(const CvxTable *table, const Datum *values,
									 const bool *nulls);
extern int	cvx_jsonb_key_compare(const char *a, int a_len, const char *b, int b_len);
extern Jsonb *cvx_jsonb_object(int npairs, const char *const *keys, const JsonbValue *values);
extern void cvx_jsonb_array_init(CvxJsonbArray *array);
extern void cvx_jsonb_array_add_document(CvxJsonbArray *array, const CvxTable *table,
										 const Datum *values, const bool *nulls,
										 const char *extra_name, const JsonbValue *extra_value);
extern void cvx_jsonb_array_add(CvxJsonbArray *array, Jsonb *value);
extern Jsonb *cvx_jsonb_array_finish(CvxJsonbArray *array, MemoryContext context);

/* ---------------------------------------------------------------------
 * db.c: ctx.db, and the single write path
 * ---------------------------------------------------------------------
 */
typedef enum CvxWriteKind
{
	CVX_WRITE_INSERT,
	CVX_WRITE_UPDATE,
	CVX_WRITE_DELETE,
	CVX_WRITE_PATCH				/* UPDATE of some columns ... RETURNING the whole row */
} CvxWriteKind;

extern uint64 cvx_write(CvxTable *table, CvxWriteKind kind, SPIPlanPtr plan,
						Datum *values, const char *nulls);
extern text *cvx_db_insert_row(CvxTable *table, Datum *values, bool *nulls);
extern HeapTuple cvx_db_get_row(CvxTable *table, text *id, bool for_update,
								TupleDesc *tupdesc);
extern bool cvx_db_delete_row(CvxTable *table, text *id);
extern void cvx_write_begin(CvxTable *table, CvxWriteKind kind);
extern void cvx_count_written(CvxTable *table, CvxWriteKind kind, Size size);
extern void cvx_write_end(CvxTable *table, CvxWriteKind kind, SPITupleTable *rows,
						  uint64 nrows);
extern Size cvx_params_size(int count, const Oid *types, const Datum *values,
							const char *nulls);
extern bool cvx_can_write_in_place(Relation heap, AclMode privileges);
extern HeapTuple cvx_update_in_place(CvxTable *table, Relation heap, TupleTableSlot *old,
									 int count, const int *attnums, const Datum *values,
									 const bool *nulls);
extern Size cvx_row_size(HeapTuple tuple, TupleDesc tupdesc);
extern Size cvx_values_size(TupleDesc tupdesc, const Datum *values, const bool *nulls);
extern void cvx_count_row_read(HeapTuple tuple, TupleDesc tupdesc);

/* ---------------------------------------------------------------------
 * realtime.c: NOTIFY of every committed write
 * ---------------------------------------------------------------------
 */
extern void cvx_realtime_init(void);
extern void cvx_describe_notify_fields(CvxTable *table, Jsonb *fields);
extern void cvx_append_notify_returning(StringInfo sql, CvxTable *table);
extern void cvx_notify_rows(CvxTable *table, CvxWriteKind kind,
							SPITupleTable *rows, uint64 nrows);

/* ---------------------------------------------------------------------
 * limits.c: per-call limits and the running mutation call
 * ---------------------------------------------------------------------
 */
extern void cvx_limits_init(void);
extern bool cvx_in_mutation(void);
extern int	cvx_mutation_depth(void);
extern void cvx_call_enter(void);
extern void cvx_call_leave(void);
extern bool cvx_call_abort(void);
extern void cvx_raise_timeout(void) pg_attribute_noreturn();
extern int64 cvx_read_allowance(void);
extern void cvx_count_read(Size bytes);
extern void cvx_count_write(Size bytes);
extern void cvx_count_scheduled(void);
extern void cvx_query_enter(void);
extern void cvx_query_leave(void);
extern bool cvx_in_query(void);
extern bool cvx_mutation_running(void);
extern bool cvx_reads_share_snapshot(void);
extern void cvx_refuse_in_query(const char *operation);
extern void cvx_check_document_size(const char *table_name, Size bytes);
extern void cvx_check_args_size(const char *path, Size bytes);
extern void cvx_check_return_size(const char *path, Size bytes);

/* ---------------------------------------------------------------------
 * mutations.c: registered mutations and the convex_mutation dispatcher
 * ---------------------------------------------------------------------
 */
extern void cvx_mutations_init(void);
extern Oid	cvx_schema_owner(void);
extern void cvx_become_schema_owner(Oid *saved_user, int *saved_context);
extern bool cvx_may_run_internal(void);
extern void cvx_check_mutation_call(const char *path, Jsonb *args, bool internal_allowed);
extern Jsonb *cvx_run_job_mutation(const char *path, Jsonb *args);

/* The seed mutations' args validators (ValidatorJSON), in their modules */
extern const char *const cvx_messages_send_args;
extern const char *const cvx_messages_remove_args;
extern const char *const cvx_presence_update_args;
extern const char *const cvx_presence_leave_args;
extern const char *const cvx_presence_cleanup_args;
extern const char *const cvx_users_update_profile_args;
extern const char *const cvx_files_generate_upload_url_args;
extern const char *const cvx_files_save_file_args;
extern const char *const cvx_files_remove_args;


/* ---------------------------------------------------------------------
 * reads.c: what the seed app's built-in queries share
 * ---------------------------------------------------------------------
 */
/* A field a built-in query adds to each document (files.list's url) */
typedef struct CvxExtraField
{
	const char *name;
	/* its value (a scalar) for a row, from the row's values */
	void		(*value) (CvxTable *table, const Datum *values, const bool *nulls, void *arg,
						  JsonbValue *result);
	void	   *arg;
} CvxExtraField;
/* An index read of a built-in query: eq on the index's first field */
typedef struct CvxIndexRead
{
	const char *index;			/* the catalog's name, e.g. "by_room" */
	const char *relation_index; /* its relation in schema convex, e.g. "messages_by_room" */
	Oid			equal_proc;		/* the = of the first column, e.g. F_TEXTEQ */
	Datum		values[2];		/* the eq value, then the statement's other parameter */
	/* rows to keep, from their values (NULL: all), and its argument */
	bool		(*keep) (CvxTable *table, const Datum *values, const bool *nulls, void *arg);
	void	   *keep_arg;
} CvxIndexRead;
extern Datum cvx_run_builtin_query(FunctionCallInfo fcinfo, const char *path,
								   Jsonb *(*body) (FunctionCallInfo fcinfo));
extern Jsonb *cvx_jsonb_null(void);
extern MemoryContext cvx_reads_context_begin(bool *used);
extern Jsonb *cvx_reads_context_end(MemoryContext context, bool used, Jsonb *result,
									MemoryContext dest);
extern void cvx_check_query_returns(const CvxValidator *validator, Jsonb *result);
extern SPIPlanPtr cvx_index_range_plan(SPIPlanPtr *slot, CvxTable *table,
									   const char *eq_column, const char *condition,
									   int nargs, Oid *argtypes);
extern void cvx_push_index_range(CvxJsonbArray *array, CvxTable *table,
								 const CvxIndexRead *read, SPIPlanPtr plan,
								 const CvxExtraField *extra);

/* ---------------------------------------------------------------------
 * storage.c: ctx.storage on large objects, and upload URLs
 * ---------------------------------------------------------------------
 */
extern void cvx_storage_init(void);
extern void cvx_snapshot_init(void);
extern text *cvx_storage_generate_upload_url(void);
extern char *cvx_site_url(void);
extern void cvx_storage_delete(text *storage_id);
extern text *cvx_storage_url(text *id);

/* ---------------------------------------------------------------------
 * scheduler.c and scheduler_worker.c: ctx.scheduler and its worker
 * ---------------------------------------------------------------------
 */
extern bool cvx_scheduler_run_one(double *next_due, bool *canceled);
extern void cvx_scheduler_init(void);
extern void cvx_scheduler_wake_at_commit(void);
extern char *cvx_worker_database;
extern bool cvx_scheduler_running(void);
extern void cvx_scheduler_nudge(void);

/* ---------------------------------------------------------------------
 * notify_relay.c: committed transactions' notifications, sent in batches
 * ---------------------------------------------------------------------
 */
extern void cvx_notify_relay_init(void);
extern void cvx_notify_send(const char *channel, const char *payload);
extern bool cvx_notify_relay_running(void);
extern void cvx_notify_relay_nudge(void);

/* ---------------------------------------------------------------------
 * worker_launcher.c: starts the workers in their database; commands that
 * need that database alone; COMMIT PREPARED wakes the scheduler
 * ---------------------------------------------------------------------
 */
extern void cvx_launcher_init(void);
extern bool cvx_workers_must_leave(void);

/* ---------------------------------------------------------------------
 * conflicts.c: serializable mutations (conflict locks, attempts, retries)
 * ---------------------------------------------------------------------
 */
extern void cvx_conflicts_init(void);
extern Jsonb *cvx_run_attempts(const char *path, Jsonb *(*run) (void *), void *arg);
extern void cvx_conflict_read_document(CvxTable *table, text *id);
extern void cvx_conflict_read_range(CvxTable *table, int index, int neq,
									const Datum *values, const char *nulls);
extern void cvx_conflict_write_document(CvxTable *table, text *id);
extern void cvx_conflict_written_rows(CvxTable *table, CvxWriteKind kind,
									  SPITupleTable *rows, uint64 nrows);
extern void cvx_conflict_old_row(CvxTable *table, HeapTuple tuple, TupleDesc tupdesc);
extern bool cvx_conflict_needs_old_row(CvxTable *table, int ncolumns, const int *columns);
extern void cvx_conflict_check_current(SPIPlanPtr plan, Datum *values,
									   const char *nulls);

/* What a query read, to compare with the latest snapshot (REPEATABLE READ) */
typedef struct CvxReadDigest
{
	bool		active;
	uint64		rows;
	uint64		hash;
} CvxReadDigest;
extern void cvx_conflict_digest_start(CvxReadDigest *digest);
extern void cvx_conflict_digest_add(CvxReadDigest *digest, HeapTuple tuple);
extern void cvx_conflict_check_digest(SPIPlanPtr plan, Datum *values, const char *nulls,
									  CvxReadDigest *digest);
extern void cvx_append_indexed_returning(StringInfo sql, CvxTable *table);

/* ---------------------------------------------------------------------
 * query_filter.c: the query builder's filter expressions as SQL
 * ---------------------------------------------------------------------
 */

/* Parameters of a statement being written: $1 … $n */
typedef struct CvxSqlParams
{
	int			n;
	int			cap;
	Datum	   *values;
	char	   *nulls;			/* ' ' or 'n', NUL-terminated */
	Oid		   *types;
} CvxSqlParams;
extern int	cvx_sql_param(CvxSqlParams *params, Oid type, Datum value, bool isnull);
extern char *cvx_filter_sql(CvxTable *table, const JsonbValue *expr, CvxSqlParams *params,
							bool *may_raise);

#endif							/* CONVEXLITE_H */
