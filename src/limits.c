/*-------------------------------------------------------------------------
 *
 * limits.c
 *	  Per-call limits of a mutation (SPEC §8) and the state of the mutation
 *	  being run: how deep convex_mutation calls are nested, what the call
 *	  has read and written so far, and its execution-time budget.
 *
 * A budget belongs to the outermost convex_mutation call; nested calls
 * (ctx.runMutation) spend the same budget.  Outside convex_mutation only
 * the document size limit applies.  Passing a limit raises SQLSTATE 54000
 * with Convex's wording, which aborts the call and everything it wrote.
 *
 * The time budget is a ticking timer: the budget is cut into 20 ticks (at
 * least 10 ms each), and a tick counts only when the backend is not
 * waiting for another transaction's lock, which is not execution.  When
 * the counted ticks reach the budget the running statement is cancelled,
 * and convex_mutation turns the cancellation into the limit's error.  A
 * call that finishes within its first tick never sees the timer fire.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/timeout.h"

/* Settings: defaults are Convex's (seed 001, SPEC §8) */
static int	cvx_max_documents_read = 16384;
static int	cvx_max_documents_written = 8192;
static int	cvx_max_bytes_read = 8 * 1024 * 1024;
static int	cvx_max_bytes_written = 8 * 1024 * 1024;
static int	cvx_max_args_size = 8 * 1024 * 1024;
static int	cvx_max_return_size = 8 * 1024 * 1024;
static int	cvx_max_document_size = 1024 * 1024;
static int	cvx_mutation_timeout = 1000;
static int	cvx_max_functions_scheduled = 1000;

/* The running call: nesting depth and what it has spent */
static int	call_depth = 0;
static int	query_depth = 0;	/* the innermost calls that are queries */
static int64 documents_read;
static int64 documents_written;
static int64 bytes_read;
static int64 bytes_written;
static int64 functions_scheduled;

/* The time budget's timer, and what it counted */
static TimeoutId budget_timeout = MAX_TIMEOUTS;
static volatile sig_atomic_t budget_expired = false;
static volatile sig_atomic_t budget_ticks_left = 0;

static void call_reset(void);

/* The time budget is counted in this many ticks */
#define BUDGET_TICKS 20
#define MIN_TICK_MS 10

/* Convex's advice appended to the read limits' errors */
#define OVER_LIMIT_HELP "Consider using smaller limits in your queries, paginating your queries, " \
	"or using indexed queries with a selective index range expressions."

/* A number with at most `decimals` decimals and no trailing zeros, then unit */
static char *
trimmed_number(double value, int decimals, const char *unit)
{
	char	   *text = psprintf("%.*f", decimals, value);
	size_t		len = strlen(text);

	while (decimals > 0 && text[len - 1] == '0')
		text[--len] = '\0';
	if (text[len - 1] == '.')
		text[--len] = '\0';
	return psprintf("%s%s", text, unit);
}

/* A size as Convex prints it: "812 B", "8 MiB", "8.58 MiB" */
static char *
human_size(Size bytes)
{
	static const char *const units[] = {" B", " KiB", " MiB", " GiB"};
	double		value = (double) bytes;
	int			unit = 0;

	while (value >= 1024.0 && unit < 3)
	{
		value /= 1024.0;
		unit++;
	}
	return trimmed_number(value, 2, units[unit]);
}

/* A duration as Rust's Debug prints it: "1s", "250ms", "1.5s" */
static char *
human_duration(int ms)
{
	if (ms < 1000)
		return psprintf("%dms", ms);
	return trimmed_number(ms / 1000.0, 3, "s");
}

/* Define one integer limit setting */
static void
define_limit(const char *name, const char *description, int *variable,
			 int min_value, int flags)
{
	DefineCustomIntVariable(name, description, NULL, variable, *variable,
							min_value, INT_MAX, PGC_SUSET, flags,
							NULL, NULL, NULL);
}

/*
 * At transaction end no call can still be running; an error that escaped
 * convex_mutation's own cleanup (it has none it could miss, but a FATAL
 * path or a future caller might) must not leave a budget armed.
 */
static void
limits_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		call_reset();
}

/* Register the limit settings */
void
cvx_limits_init(void)
{
	RegisterXactCallback(limits_xact_callback, NULL);
	define_limit("convexlite.max_documents_read",
				 "Most documents one mutation call may read.",
				 &cvx_max_documents_read, 1, 0);
	define_limit("convexlite.max_documents_written",
				 "Most documents one mutation call may write.",
				 &cvx_max_documents_written, 1, 0);
	define_limit("convexlite.max_bytes_read",
				 "Most bytes of documents one mutation call may read.",
				 &cvx_max_bytes_read, 1, GUC_UNIT_BYTE);
	define_limit("convexlite.max_bytes_written",
				 "Most bytes of documents one mutation call may write.",
				 &cvx_max_bytes_written, 1, GUC_UNIT_BYTE);
	define_limit("convexlite.max_args_size",
				 "Largest arguments a mutation call accepts.",
				 &cvx_max_args_size, 1, GUC_UNIT_BYTE);
	define_limit("convexlite.max_return_size",
				 "Largest value a mutation may return.",
				 &cvx_max_return_size, 1, GUC_UNIT_BYTE);
	define_limit("convexlite.max_document_size",
				 "Largest document convexlite stores.",
				 &cvx_max_document_size, 1, GUC_UNIT_BYTE);
	define_limit("convexlite.mutation_timeout",
				 "Longest a mutation call may run, not counting lock waits (0: no limit).",
				 &cvx_mutation_timeout, 0, GUC_UNIT_MS);
	define_limit("convexlite.max_functions_scheduled",
				 "Most functions one mutation call may schedule.",
				 &cvx_max_functions_scheduled, 1, 0);
}

/*
 * The timer's handler (signal context), once per tick: a tick spent
 * waiting for a lock does not count; when the budget is spent, cancel the
 * running statement.
 */
static void
budget_timeout_handler(void)
{
	if (MyProc != NULL && MyProc->waitLock != NULL)
		return;
	/* once spent, every tick cancels again: a handler may catch one */
	if (!budget_expired && --budget_ticks_left > 0)
		return;
	budget_expired = true;
	InterruptPending = true;
	QueryCancelPending = true;
	SetLatch(MyLatch);
}

/* Arm the ticking timer for a new budget */
static void
arm_budget_timer(void)
{
	int			tick_ms = Max(MIN_TICK_MS, cvx_mutation_timeout / BUDGET_TICKS);

	budget_ticks_left = (cvx_mutation_timeout + tick_ms - 1) / tick_ms;
	if (budget_timeout == MAX_TIMEOUTS)
		budget_timeout = RegisterTimeout(USER_TIMEOUT, budget_timeout_handler);
	enable_timeout_every(budget_timeout,
						 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tick_ms),
						 tick_ms);
}

/* Is a convex_mutation call running? */
bool
cvx_in_mutation(void)
{
	return call_depth > 0;
}

/* How deep convex_mutation calls are nested (0: none) */
int
cvx_mutation_depth(void)
{
	return call_depth;
}

/*
 * Enter a convex_mutation call.  The outermost one starts a new budget and
 * arms the timer.
 */
void
cvx_call_enter(void)
{
	if (call_depth == 0)
	{
		documents_read = documents_written = 0;
		bytes_read = bytes_written = 0;
		functions_scheduled = 0;
		budget_expired = false;
		if (cvx_mutation_timeout > 0)
			arm_budget_timer();
	}
	call_depth++;
}

/* Disarm the timer */
static void
disarm_budget_timer(void)
{
	if (budget_timeout != MAX_TIMEOUTS && get_timeout_active(budget_timeout))
		disable_timeout(budget_timeout, false);
}

/* Raise the time limit's error */
void
cvx_raise_timeout(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("Function execution timed out (maximum duration: %s)",
					human_duration(cvx_mutation_timeout)),
			 errhint("convexlite.mutation_timeout sets the limit; time spent waiting for locks does not count.")));
}

/*
 * Leave a convex_mutation call that returned normally.  The outermost one
 * disarms the timer; if the budget ran out meanwhile the call still fails.
 */
void
cvx_call_leave(void)
{
	Assert(call_depth > 0);
	call_depth--;
	if (call_depth > 0)
		return;
	disarm_budget_timer();
	if (budget_expired)
	{
		/* the cancellation it asked for has not been served yet */
		QueryCancelPending = false;
		budget_expired = false;
		cvx_raise_timeout();
	}
}

/*
 * Leave a convex_mutation call that is failing with an error.  Returns
 * true when the outermost call's time budget ran out (the error is then
 * its cancellation, or whatever failed after it), which the caller
 * reports as the limit's error.
 */
bool
cvx_call_abort(void)
{
	bool		timed_out = false;

	Assert(call_depth > 0);
	call_depth--;
	if (call_depth == 0)
	{
		disarm_budget_timer();
		if (budget_expired)
		{
			/*
			 * The budget ran out before this error: report the limit, and
			 * drop a cancellation not yet served, which would otherwise hit
			 * whatever the caller runs next (it may catch this error).
			 */
			QueryCancelPending = false;
			timed_out = true;
		}
		budget_expired = false;
	}
	return timed_out;
}

/* Forget the running call after an error escaped it (transaction abort) */
static void
call_reset(void)
{
	query_depth = 0;
	if (call_depth > 0)
	{
		call_depth = 0;
		disarm_budget_timer();
		budget_expired = false;
	}
}

/* How many more documents the running call may read */
int64
cvx_read_allowance(void)
{
	return Max(0, (int64) cvx_max_documents_read - documents_read);
}

/* Count a document read by the running call */
void
cvx_count_read(Size bytes)
{
	if (call_depth == 0)
		return;
	if (++documents_read > cvx_max_documents_read)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Too many documents read in a single function execution (limit: %d). %s",
						cvx_max_documents_read, OVER_LIMIT_HELP)));
	bytes_read += bytes;
	if (bytes_read > cvx_max_bytes_read)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Too many bytes read in a single function execution (limit: %d bytes). %s",
						cvx_max_bytes_read, OVER_LIMIT_HELP)));
}

/* Count a document written by the running call */
void
cvx_count_write(Size bytes)
{
	if (call_depth == 0)
		return;
	if (++documents_written > cvx_max_documents_written)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Too many writes in a single function execution (limit: %d)",
						cvx_max_documents_written)));
	bytes_written += bytes;
	if (bytes_written > cvx_max_bytes_written)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Too many bytes written in a single function execution (limit: %d bytes)",
						cvx_max_bytes_written)));
}

/* A document written anywhere must fit convexlite.max_document_size */
void
cvx_check_document_size(const char *table_name, Size bytes)
{
	if (bytes > (Size) cvx_max_document_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Value is too large (%s > maximum size %s)",
						human_size(bytes), human_size(cvx_max_document_size)),
				 errdetail("A document of table \"%s\" is stored as %zu bytes; the limit is %d bytes.",
						   table_name, bytes, cvx_max_document_size)));
}

/* A mutation's arguments must fit convexlite.max_args_size */
void
cvx_check_args_size(const char *path, Size bytes)
{
	if (bytes > (Size) cvx_max_args_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Arguments for %s are too large (actual: %s, limit: %s)",
						path, human_size(bytes), human_size(cvx_max_args_size))));
}

/* A mutation's return value must fit convexlite.max_return_size */
void
cvx_check_return_size(const char *path, Size bytes)
{
	if (bytes > (Size) cvx_max_return_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Function %s return value is too large (actual: %s, limit: %s)",
						path, human_size(bytes), human_size(cvx_max_return_size))));
}

/* Count a function scheduled by the running call (Convex's wording) */
void
cvx_count_scheduled(void)
{
	if (call_depth == 0)
		return;
	if (++functions_scheduled > cvx_max_functions_scheduled)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Too many functions scheduled by this mutation (limit: %d)",
						cvx_max_functions_scheduled)));
}

/* ---------------------------------------------------------------------
 * Queries: read-only calls
 *
 * A query may run queries (ctx.runQuery) but no mutation, so the calls
 * running are some mutations, then some queries: query_depth counts the
 * innermost ones.  They share the budget above (the read limits and the
 * time limit hold for a query as for a mutation).
 * ---------------------------------------------------------------------
 */

/* Enter a query call (after cvx_call_enter) */
void
cvx_query_enter(void)
{
	query_depth++;
}

/* Leave a query call, normally or on error (before cvx_call_leave/abort) */
void
cvx_query_leave(void)
{
	Assert(query_depth > 0);
	if (query_depth > 0)
		query_depth--;
}

/* Is a query running (this code runs inside one)? */
bool
cvx_in_query(void)
{
	return query_depth > 0;
}

/*
 * Is a mutation running beneath whatever runs now?  Its reads take
 * conflict locks and each reads under a snapshot taken after its lock.
 */
bool
cvx_mutation_running(void)
{
	return call_depth > query_depth;
}

/*
 * Do convexlite's reads use the active snapshot (SPI read_only) rather
 * than a new one each?  Inside a query that no mutation called: every
 * read of the query then sees the snapshot of the statement that called
 * it (the query's one snapshot; see docs/queries.md).
 */
bool
cvx_reads_share_snapshot(void)
{
	return query_depth > 0 && call_depth == query_depth;
}

/*
 * Refuse a write inside a query, with the operation's Convex name
 * (25006, as PostgreSQL's read-only transactions).
 */
void
cvx_refuse_in_query(const char *operation)
{
	if (query_depth > 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot be called from a query: queries are read-only", operation),
				 errhint("Write in a mutation (convex_mutation), not in a query.")));
}
