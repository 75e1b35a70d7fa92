/*-------------------------------------------------------------------------
 *
 * scheduler_worker.c
 *	  The scheduler's background worker: it runs due jobs in the database
 *	  named by convexlite.database_name, one transaction per job.
 *
 * The worker exists when convexlite is in shared_preload_libraries.  It
 * sleeps on its latch until the earliest pending job is due; a transaction
 * that schedules a job sets that latch when it commits (the worker's
 * process number is kept in a small shared-memory struct), so a job due
 * now starts at once, without polling.  After a crash or restart the
 * worker starts again and finds the jobs that were running still pending
 * (their transactions never committed), and runs them again.
 *
 * The launcher (worker_launcher.c) starts the worker while its database
 * exists, and again 5 seconds after it stopped.  When a command such as
 * DROP DATABASE needs the database to itself, the worker leaves it between
 * two jobs and exits cleanly.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void convex_scheduler_main(Datum main_arg);

/* convexlite.database_name: where the worker runs jobs (and the NOTIFY relay runs) */
char	   *cvx_worker_database = NULL;

/* How long the worker sleeps when it has nothing better to go by */
#define IDLE_WAIT_MS 60000
/* ... while convexlite is not installed in its database */
#define NOT_INSTALLED_WAIT_MS 10000
/* ... when the due job is held by another runner */
#define HELD_WAIT_MS 50
/* ... after an error outside a job */
#define ERROR_WAIT_MS 1000

/* Shared state: which process is the worker */
typedef struct SchedulerShared
{
	slock_t		mutex;
	int			procno;			/* the worker's pgprocno, or -1 */
	Oid			database;		/* the worker's database */
} SchedulerShared;

static SchedulerShared *shared = NULL;
static shmem_request_hook_type previous_shmem_request = NULL;
static shmem_startup_hook_type previous_shmem_startup = NULL;

/* Wake the worker when this transaction commits */
static bool wake_at_commit = false;

/* Ask for the shared struct */
static void
scheduler_shmem_request(void)
{
	if (previous_shmem_request)
		previous_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SchedulerShared)));
}

/* Create (or attach to) the shared struct */
static void
scheduler_shmem_startup(void)
{
	bool		found;

	if (previous_shmem_startup)
		previous_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("convexlite scheduler", sizeof(SchedulerShared), &found);
	if (!found)
	{
		SpinLockInit(&shared->mutex);
		shared->procno = -1;
		shared->database = InvalidOid;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Set the worker's latch, if there is a worker in this database */
static void
wake_worker(void)
{
	int			procno;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	procno = shared->database == MyDatabaseId ? shared->procno : -1;
	SpinLockRelease(&shared->mutex);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/* Does the worker run (in whatever database)? */
bool
cvx_scheduler_running(void)
{
	bool		running;

	if (shared == NULL)
		return false;
	SpinLockAcquire(&shared->mutex);
	running = shared->procno >= 0;
	SpinLockRelease(&shared->mutex);
	return running;
}

/* Set the worker's latch, whatever its database (to make it leave) */
void
cvx_scheduler_nudge(void)
{
	int			procno;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	procno = shared->procno;
	SpinLockRelease(&shared->mutex);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/* At commit, wake the worker for the jobs this transaction scheduled */
static void
scheduler_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		if (wake_at_commit)
			wake_worker();
		wake_at_commit = false;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
			 event == XACT_EVENT_PREPARE)
		wake_at_commit = false;
}

/* This transaction scheduled a job: wake the worker when it commits */
void
cvx_scheduler_wake_at_commit(void)
{
	wake_at_commit = true;
}

/*
 * While the server preloads convexlite: register convexlite.database_name
 * and the worker's shared memory (the launcher starts the worker).
 * Always: the commit hook that wakes it.
 */
void
cvx_scheduler_init(void)
{
	RegisterXactCallback(scheduler_xact_callback, NULL);

	/*
	 * Without preloading there is no worker, and a server-start setting can
	 * no longer be defined (PostgreSQL refuses it after startup).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomStringVariable("convexlite.database_name",
							   "Database in which the scheduler's background worker runs jobs.",
							   "The worker exists when convexlite is in shared_preload_libraries.",
							   &cvx_worker_database,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	previous_shmem_request = shmem_request_hook;
	shmem_request_hook = scheduler_shmem_request;
	previous_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = scheduler_shmem_startup;
}

/* Forget that this process is the worker (on exit) */
static void
unpublish_worker(int code, Datum arg)
{
	SpinLockAcquire(&shared->mutex);
	if (shared->procno == MyProc->pgprocno)
		shared->procno = -1;
	SpinLockRelease(&shared->mutex);
}

/* Is convexlite, with its scheduler table, installed here? */
static bool
scheduler_installed(void)
{
	Oid			schema;

	if (!OidIsValid(get_extension_oid("convexlite", true)))
		return false;
	schema = get_namespace_oid(CVX_SCHEMA, true);
	return OidIsValid(schema) &&
		OidIsValid(get_relname_relid("_scheduled_functions", schema));
}

/*
 * One transaction: run the next due job, if convexlite is installed here
 * (looked up when check_installed; otherwise known).  Returns true when a
 * job ran; otherwise *next_due is the earliest pending job's time, or -1.
 */
static bool
run_one_transaction(bool check_installed, bool *installed, double *next_due)
{
	bool		ran = false;
	bool		canceled;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (check_installed)
		*installed = scheduler_installed();
	if (*installed)
	{
		pgstat_report_activity(STATE_RUNNING, "convexlite: running a due job");
		ran = cvx_scheduler_run_one(next_due, &canceled);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ran;
}

/*
 * Run due jobs, one transaction each, until none is due or the worker
 * must leave its database; return how long to sleep (ms) before the next
 * one is.  Whether convexlite is installed is looked up once per
 * wake-up.  An error outside a job (say, the
 * extension dropped while the worker waited for its table) is logged, its
 * transaction aborted, and the worker tries again a second later.
 */
static long
run_due_jobs(void)
{
	volatile bool check_installed = true;

	for (;;)
	{
		volatile bool installed = false;
		volatile bool ran = false;
		double		next_due = -1;
		double		wait;
		MemoryContext context = CurrentMemoryContext;

		CHECK_FOR_INTERRUPTS();
		if (cvx_workers_must_leave())
			return 0;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		PG_TRY();
		{
			bool		found = true;

			ran = run_one_transaction(check_installed, &found, &next_due);
			installed = found;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(context);
			HOLD_INTERRUPTS();
			EmitErrorReport();
			AbortOutOfAnyTransaction();
			FlushErrorState();
			RESUME_INTERRUPTS();
			pgstat_report_activity(STATE_IDLE, NULL);
			return ERROR_WAIT_MS;
		}
		PG_END_TRY();

		if (!installed)
			return NOT_INSTALLED_WAIT_MS;
		check_installed = false;
		if (ran)
			continue;
		if (next_due < 0)
			return IDLE_WAIT_MS;
		wait = next_due - cvx_date_now();
		if (wait <= 0)
			return HELD_WAIT_MS;
		return (long) Min(ceil(wait), (double) IDLE_WAIT_MS);
	}
}

/* The worker's entry point */
void
convex_scheduler_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* a command that needs the database to itself started meanwhile */
	if (cvx_workers_must_leave())
		proc_exit(0);
	BackgroundWorkerInitializeConnection(cvx_worker_database, NULL, 0);
	pgstat_report_appname("convexlite scheduler");

	/*
	 * Jobs run at READ COMMITTED, where a conflict can be retried inside the
	 * transaction, and may write, whatever the database's defaults say.
	 */
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off",
					PGC_SUSET, PGC_S_OVERRIDE);

	SpinLockAcquire(&shared->mutex);
	shared->procno = MyProc->pgprocno;
	shared->database = MyDatabaseId;
	SpinLockRelease(&shared->mutex);
	on_shmem_exit(unpublish_worker, (Datum) 0);
	ereport(LOG,
			(errmsg("convexlite scheduler started in database \"%s\"", cvx_worker_database)));

	for (;;)
	{
		long		timeout = run_due_jobs();

		if (cvx_workers_must_leave())
		{
			ereport(LOG,
					(errmsg("convexlite scheduler leaving database \"%s\" for a command that needs it alone",
							cvx_worker_database)));
			proc_exit(0);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
