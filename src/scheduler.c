/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  ctx.scheduler: runAfter, runAt and cancel, writing Convex's system
 *	  table _scheduled_functions; running a due job; the retention cleanup.
 *
 * Scheduling inserts a pending row in the caller's transaction, so a
 * rolled-back caller schedules nothing, after checking the call as if it
 * were made now (the path exists and the caller may reach it, the
 * arguments pass its validator).  Convex stores a job's arguments as an
 * array holding the one args object; so does convexlite.
 *
 * A job runs in one transaction with its outcome: the runner locks the
 * job's row (skipping rows another runner holds), runs the mutation in a
 * subtransaction and records success, or rolls the mutation's writes back
 * and records failed with the error.  Its writes and its state therefore
 * commit together, a crash leaves the job pending to run again, and no
 * two runners can hold one job.  A mutation never shows inProgress: that
 * state belongs to Convex's actions.  Conflicts (40001, 40P01) are
 * retried, as Convex retries a scheduled mutation on transient errors.
 * The background worker (scheduler_worker.c) and the procedure
 * convex_scheduler_run_due both run jobs through cvx_scheduler_run_one.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(convex_scheduler_run_after);
PG_FUNCTION_INFO_V1(convex_scheduler_run_at);
PG_FUNCTION_INFO_V1(convex_scheduler_cancel);
PG_FUNCTION_INFO_V1(convex_scheduler_run_due);
PG_FUNCTION_INFO_V1(convex_scheduler_cleanup);

#define SCHEDULED_TABLE "_scheduled_functions"

/* The latest time a job may be scheduled for: 10000-01-01T00:00:00Z, in ms */
#define MAX_SCHEDULED_TIME 253402300800000.0

/* How many bytes of a failed job's error message are kept */
#define MAX_ERROR_LENGTH 4096

/* How often a job that hit a serialization failure or deadlock is tried */
#define MAX_ATTEMPTS 5

/* Finished jobs the retention cleanup deletes per call at most */
#define CLEANUP_BATCH 10000

/*
 * The due-job statements' condition, which matches the partial index of
 * pending jobs; they run with sequential scans off (cvx_execute_by_key),
 * as finished jobs pile up for a week.
 */
#define PENDING "(state OPERATOR(pg_catalog.->>) 'kind') OPERATOR(pg_catalog.=) 'pending'"

static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr next_due_plan = NULL;
static SPIPlanPtr finish_plan = NULL;
static SPIPlanPtr cancel_plan = NULL;
static SPIPlanPtr cleanup_plan = NULL;

/* The _scheduled_functions table */
static CvxTable *
scheduled_table(void)
{
	return cvx_builtin_table(SCHEDULED_TABLE);
}

/*
 * A write statement of _scheduled_functions kept in *slot: sql followed by
 * the RETURNING clause its notifications need (realtime.c)
 */
static SPIPlanPtr
kept_write_plan(SPIPlanPtr *slot, CvxTable *table, const char *sql, int nargs,
				Oid *argtypes)
{
	if (*slot == NULL)
	{
		StringInfoData statement;

		initStringInfo(&statement);
		appendStringInfoString(&statement, sql);
		cvx_append_notify_returning(&statement, table);
		*slot = cvx_prepare(statement.data, nargs, argtypes);
	}
	return *slot;
}

/* A jsonb value {"kind": kind} (plus "error" when error is not NULL) */
static Jsonb *
state_jsonb(const char *kind, const char *error)
{
	JsonbParseState *state = NULL;
	JsonbValue	value = {.type = jbvString};

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (error != NULL)
	{
		cvx_push_key(&state, "error");
		value.val.string.val = (char *) error;
		value.val.string.len = strlen(error);
		pushJsonbValue(&state, WJB_VALUE, &value);
	}
	cvx_push_key(&state, "kind");
	value.val.string.val = (char *) kind;
	value.val.string.len = strlen(kind);
	pushJsonbValue(&state, WJB_VALUE, &value);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/* Convex's args column: an array holding the one args object */
static Jsonb *
args_array(Jsonb *args)
{
	JsonbParseState *state = NULL;
	JsonbValue	element;
	JsonbValue *result;

	element.type = jbvBinary;
	element.val.binary.data = &args->root;
	element.val.binary.len = VARSIZE(args) - VARHDRSZ;
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	pushJsonbValue(&state, WJB_ELEM, &element);
	result = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * Schedule path(args) for time `when` (ms since the epoch): check the call,
 * count it toward convexlite.max_functions_scheduled, and insert the
 * pending job.  Returns its Id<"_scheduled_functions">.
 */
static text *
schedule(double when, FunctionCallInfo fcinfo)
{
	char	   *path;
	Jsonb	   *args;
	CvxTable   *table = scheduled_table();
	Datum	   *values = palloc0(sizeof(Datum) * table->ncolumns);
	bool	   *nulls = palloc(sizeof(bool) * table->ncolumns);
	Oid			saved_user;
	int			saved_context;
	text	   *id;

	cvx_require_argument(fcinfo, 1, "path");
	cvx_require_primary("schedule a function", NULL);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("args must be a JSON object, not NULL"),
				 errhint("Pass '{}' for a mutation without arguments.")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	args = PG_GETARG_JSONB_P(2);
	cvx_check_mutation_call(path, args, cvx_may_run_internal());
	cvx_count_scheduled();

	for (int i = 0; i < table->ncolumns; i++)
		nulls[i] = true;
	values[cvx_column_index(table, "name")] = CStringGetTextDatum(path);
	values[cvx_column_index(table, "args")] = JsonbPGetDatum(args_array(args));
	values[cvx_column_index(table, "scheduledTime")] = Float8GetDatum(when);
	values[cvx_column_index(table, "state")] = JsonbPGetDatum(state_jsonb("pending", NULL));
	nulls[cvx_column_index(table, "name")] = false;
	nulls[cvx_column_index(table, "args")] = false;
	nulls[cvx_column_index(table, "scheduledTime")] = false;
	nulls[cvx_column_index(table, "state")] = false;

	cvx_become_schema_owner(&saved_user, &saved_context);
	cvx_spi_connect();
	id = cvx_spi_return_text(cvx_db_insert_row(table, values, nulls));
	cvx_spi_finish();
	SetUserIdAndSecContext(saved_user, saved_context);

	cvx_scheduler_wake_at_commit();
	return id;
}

/* A time argument: not NULL, a finite number, not negative */
static double
time_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	double		value;

	cvx_require_argument(fcinfo, argno, name);
	value = PG_GETARG_FLOAT8(argno);
	if (isnan(value) || isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("`%s` must be a finite number", name)));
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("`%s` must be non-negative", name)));
	return value;
}

/* A scheduled time no later than 10000-01-01T00:00:00Z */
static double
check_scheduled_time(double when)
{
	if (when > MAX_SCHEDULED_TIME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the scheduled time is later than 10000-01-01T00:00:00Z"),
				 errdetail("scheduledTime would be %.17g (ms since the epoch); the latest is %.0f.",
						   when, MAX_SCHEDULED_TIME)));
	return when;
}

/*
 * convex_scheduler_run_after(delay_ms, path, args): ctx.scheduler.runAfter;
 * due delay_ms after now, run after the caller commits.
 */
Datum
convex_scheduler_run_after(PG_FUNCTION_ARGS)
{
	double		delay;

	cvx_refuse_in_query("ctx.scheduler.runAfter");
	delay = time_argument(fcinfo, 0, "delayMs");

	PG_RETURN_TEXT_P(schedule(check_scheduled_time(cvx_date_now() + delay), fcinfo));
}

/*
 * convex_scheduler_run_at(timestamp_ms, path, args): ctx.scheduler.runAt;
 * a time in the past runs as soon as the caller commits.
 */
Datum
convex_scheduler_run_at(PG_FUNCTION_ARGS)
{
	double		when;

	cvx_refuse_in_query("ctx.scheduler.runAt");
	when = time_argument(fcinfo, 0, "timestamp");

	PG_RETURN_TEXT_P(schedule(check_scheduled_time(when), fcinfo));
}

/*
 * convex_scheduler_cancel(id): ctx.scheduler.cancel.  A pending job
 * becomes canceled and never runs; a job that already finished (or that
 * retention removed) is left as it is, as in Convex.  A job running right
 * now holds its row: cancel waits for it, then finds it finished.
 */
Datum
convex_scheduler_cancel(PG_FUNCTION_ARGS)
{
	CvxTable   *table = scheduled_table();
	text	   *id = cvx_id_argument(fcinfo, 0, "id", "id", "scheduler.cancel",
									 table->number, SCHEDULED_TABLE);
	Oid			argtypes[3] = {TEXTOID, JSONBOID, FLOAT8OID};
	Datum		values[3];
	Oid			saved_user;
	int			saved_context;

	cvx_refuse_in_query("ctx.scheduler.cancel");
	values[0] = PointerGetDatum(id);
	values[1] = JsonbPGetDatum(state_jsonb("canceled", NULL));
	values[2] = Float8GetDatum(cvx_date_now());
	cvx_become_schema_owner(&saved_user, &saved_context);
	cvx_spi_connect();
	(void) cvx_write(table, CVX_WRITE_UPDATE,
					 kept_write_plan(&cancel_plan, table,
									 "UPDATE convex._scheduled_functions SET state = $2, completed_time = $3 "
									 "WHERE _id OPERATOR(pg_catalog.=) $1 AND " PENDING,
									 3, argtypes),
					 values, NULL);
	cvx_spi_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	PG_RETURN_VOID();
}

/*
 * Try a job's mutation once, in a subtransaction, without the caller's
 * identity.  Returns NULL when it succeeded, else its error (its writes
 * are then rolled back).  Settings the job changed (SET, SET LOCAL) are
 * undone either way, so no job changes the next one's; deferred
 * constraint triggers fire inside, as the identity the mutation ran as
 * (never as this runner), so a failure they raise is the job's and not
 * its commit's.
 */
static ErrorData *
try_job(const char *path, Jsonb *args)
{
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile failure = NULL;
	int			guc_level;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	guc_level = NewGUCNestLevel();
	PG_TRY();
	{
		cvx_auth_set_anonymous(true);
		(void) cvx_run_job_mutation(path, args);
		cvx_auth_set_anonymous(false);
		AtEOXact_GUC(false, guc_level);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		cvx_auth_set_anonymous(false);
		MemoryContextSwitchTo(context);
		failure = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	return failure;
}

/*
 * Run one job's mutation.  Returns true when it succeeded; otherwise its
 * writes are rolled back, *error is its message and *canceled tells
 * whether that was a cancel request (57014: pg_cancel_backend, a statement
 * timeout, or the handler's own).  Serialization failures and deadlocks
 * are tried again.  Every other error is the job's failure, whatever its
 * SQLSTATE: a handler can raise any, and the job must not block the jobs
 * behind it.  A shutdown ends the process (FATAL) and never gets here;
 * the job then stays pending.
 */
static bool
run_job(const char *path, Jsonb *args, char **error, bool *canceled)
{
	*canceled = false;
	for (int attempt = 1;; attempt++)
	{
		ErrorData  *failure = try_job(path, args);
		const char *message;

		if (failure == NULL)
			return true;
		if ((failure->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
			 failure->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) &&
			attempt < MAX_ATTEMPTS)
		{
			FreeErrorData(failure);
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		*canceled = failure->sqlerrcode == ERRCODE_QUERY_CANCELED;
		message = failure->message != NULL ? failure->message : "unknown error";
		/* a ConvexError keeps its data: "ConvexError: <message>\n<data as JSON>" */
		if (cvx_is_convex_error(failure) && failure->detail != NULL)
			message = psprintf("ConvexError: %s\n%s", message, failure->detail);
		/* at most MAX_ERROR_LENGTH bytes, never half a character */
		*error = pnstrdup(message, pg_mbcliplen(message, strlen(message), MAX_ERROR_LENGTH));
		FreeErrorData(failure);
		return false;
	}
}

/*
 * Claim the next due job, run it and record its outcome, all in the
 * current transaction (which the caller commits).  Returns true when a
 * job ran (*canceled: it failed with a cancel request).  Otherwise
 * *next_due is the earliest pending job's time (it may be due but held by
 * another runner), or -1 when nothing is pending.
 */
bool
cvx_scheduler_run_one(double *next_due, bool *canceled)
{
	CvxTable   *table = scheduled_table();
	MemoryContext outer = CurrentMemoryContext;
	Oid			claim_types[1] = {FLOAT8OID};
	Oid			finish_types[3] = {TEXTOID, JSONBOID, FLOAT8OID};
	Datum		values[3];
	bool		isnull;
	bool		pushed = false;
	text	   *id;
	char	   *path;
	Jsonb	   *args;
	char	   *error = NULL;
	bool		succeeded;
	Oid			saved_user;
	int			saved_context;

	*next_due = -1;
	*canceled = false;
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	cvx_become_schema_owner(&saved_user, &saved_context);
	values[0] = Float8GetDatum(cvx_date_now());
	cvx_spi_connect();
	if (cvx_execute_by_key(cvx_kept_plan(&claim_plan,
								  "SELECT _id, name, args OPERATOR(pg_catalog.->) 0 "
								  "FROM convex._scheduled_functions "
								  "WHERE " PENDING " AND scheduled_time OPERATOR(pg_catalog.<=) $1 "
								  "ORDER BY scheduled_time LIMIT 1 FOR UPDATE SKIP LOCKED",
								  1, claim_types),
					values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "convexlite: could not read convex._scheduled_functions");
	if (SPI_processed == 0)
	{
		if (cvx_execute_by_key(cvx_kept_plan(&next_due_plan,
									  "SELECT scheduled_time FROM convex._scheduled_functions "
									  "WHERE " PENDING " ORDER BY scheduled_time LIMIT 1",
									  0, NULL),
						NULL, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "convexlite: could not read convex._scheduled_functions");
		if (SPI_processed > 0)
			*next_due = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
		cvx_spi_finish();
		SetUserIdAndSecContext(saved_user, saved_context);
		if (pushed)
			PopActiveSnapshot();
		return false;
	}

	/* the job, copied out of SPI's memory */
	{
		HeapTuple	tuple = SPI_tuptable->vals[0];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		Datum		args_datum;
		MemoryContext spi = MemoryContextSwitchTo(outer);

		id = DatumGetTextPCopy(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		path = TextDatumGetCString(SPI_getbinval(tuple, tupdesc, 2, &isnull));
		args_datum = SPI_getbinval(tuple, tupdesc, 3, &isnull);
		if (isnull)
			args = NULL;
		else
			args = DatumGetJsonbPCopy(args_datum);
		MemoryContextSwitchTo(spi);
	}
	cvx_spi_finish();

	if (args == NULL)
	{
		succeeded = false;
		error = "the job's args are not an array holding one object";
	}
	else
		succeeded = run_job(path, args, &error, canceled);
	if (!succeeded)
		ereport(LOG,
				(errmsg("convexlite: scheduled function %s (%s) failed: %s",
						text_to_cstring(id), path, error)));

	values[0] = PointerGetDatum(id);
	values[1] = JsonbPGetDatum(succeeded ? state_jsonb("success", NULL) :
							   state_jsonb("failed", error));
	values[2] = Float8GetDatum(cvx_date_now());
	cvx_spi_connect();
	if (cvx_write(table, CVX_WRITE_UPDATE,
				  kept_write_plan(&finish_plan, table,
								  "UPDATE convex._scheduled_functions SET state = $2, completed_time = $3 "
								  "WHERE _id OPERATOR(pg_catalog.=) $1",
								  3, finish_types),
				  values, NULL) != 1)
		elog(ERROR, "convexlite: scheduled function %s vanished while it ran", text_to_cstring(id));
	cvx_spi_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	if (pushed)
		PopActiveSnapshot();
	return true;
}

/*
 * convex_scheduler_run_due(max_jobs): procedure; runs up to max_jobs due
 * jobs, committing after each when CALLed outside a transaction block
 * (from pg_cron, say), and returns.  For servers without the background
 * worker; internal (not granted to PUBLIC).  A cancel request (Ctrl-C)
 * fails the job it interrupts and ends the call.  Jobs run at READ
 * COMMITTED (the transactions after the first are set to it; the first
 * must be), where a conflict can be retried within the transaction.
 * Each job's memory is freed after it.
 */
Datum
convex_scheduler_run_due(PG_FUNCTION_ARGS)
{
	bool		nonatomic = fcinfo->context != NULL &&
		IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	int32		max_jobs;
	MemoryContext job_context;

	cvx_require_argument(fcinfo, 0, "max_jobs");
	max_jobs = PG_GETARG_INT32(0);
	if (max_jobs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_jobs must not be negative")));
	if (cvx_in_mutation())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("scheduled functions cannot be run from inside a mutation")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("convex_scheduler_run_due runs only at READ COMMITTED isolation"),
				 errhint("Under REPEATABLE READ or SERIALIZABLE a conflict could not be retried.")));

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "convexlite: SPI_connect failed");
	job_context = AllocSetContextCreate(CurrentMemoryContext, "convexlite scheduled job",
										ALLOCSET_DEFAULT_SIZES);
	for (int32 ran = 0; ran < max_jobs; ran++)
	{
		double		next_due;
		bool		canceled;
		bool		found;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(job_context);
		found = cvx_scheduler_run_one(&next_due, &canceled);
		MemoryContextSwitchTo(old);
		MemoryContextReset(job_context);
		if (!found)
			break;
		if (nonatomic)
		{
			SPI_commit();
			if (IsolationUsesXactSnapshot())
				(void) set_config_option("transaction_isolation", "read committed",
										 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
										 true, 0, false);
		}
		if (canceled)
			break;
	}
	MemoryContextDelete(job_context);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * convex_scheduler_cleanup(older_than_ms): retention; deletes up to
 * CLEANUP_BATCH jobs that finished (success, failed, canceled) more than
 * older_than_ms ago (default 7 days, Convex's retention), oldest first,
 * and returns how many went.  Internal; pg_cron runs it every minute.
 */
Datum
convex_scheduler_cleanup(PG_FUNCTION_ARGS)
{
	CvxTable   *table = scheduled_table();
	double		age = time_argument(fcinfo, 0, "older_than_ms");
	Oid			argtypes[2] = {FLOAT8OID, INT4OID};
	Datum		values[2];
	uint64		deleted;

	values[0] = Float8GetDatum(cvx_date_now() - age);
	values[1] = Int32GetDatum(CLEANUP_BATCH);
	cvx_spi_connect();
	deleted = cvx_write(table, CVX_WRITE_DELETE,
						kept_write_plan(&cleanup_plan, table,
										"DELETE FROM convex._scheduled_functions WHERE _id OPERATOR(pg_catalog.=) ANY "
										"(ARRAY(SELECT _id FROM convex._scheduled_functions "
										"WHERE completed_time OPERATOR(pg_catalog.<) $1 "
										"ORDER BY completed_time LIMIT $2))",
										2, argtypes),
						values, NULL);
	cvx_spi_finish();
	PG_RETURN_INT32((int32) deleted);
}
