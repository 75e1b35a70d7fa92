/*-------------------------------------------------------------------------
 *
 * worker_launcher.c
 *	  The launcher of convexlite's background workers, and what the
 *	  database-wide commands need from them.
 *
 * A background worker is bound for life to the database it connects to,
 * and one that cannot connect (its database does not exist, is dropped,
 * renamed, or refuses connections) exits with FATAL and, started again by
 * the postmaster, fails the same way forever.  So when convexlite is
 * preloaded, one static worker, "convexlite launcher", connects to no
 * database: it looks convexlite.database_name up in pg_database and starts
 * the scheduler (scheduler_worker.c) and the NOTIFY relay (notify_relay.c)
 * there, as dynamic workers, only while that database exists and accepts
 * connections.  It starts a worker that stopped again 5 seconds later (one
 * that was terminated, or that failed), as the postmaster did before.
 *
 * PostgreSQL refuses DROP DATABASE, ALTER DATABASE ... RENAME, ALTER
 * DATABASE ... SET TABLESPACE and CREATE DATABASE ... TEMPLATE of a
 * database other sessions use, and DROP DATABASE ... WITH (FORCE)
 * terminates them.  When one of those names the workers' database (and the
 * session owns it, or is a superuser), the session running it first asks
 * the workers to leave (a flag in shared
 * memory with its pid; the workers exit cleanly, the relay after sending
 * what it holds) and waits for them; the launcher starts no worker until
 * that session's transaction ends, and then only if the database is there.
 *
 * COMMIT PREPARED runs in a session that may not be the one that
 * scheduled a job, so the scheduler's commit hook never sees the job: the
 * utility hook wakes the worker after every COMMIT PREPARED in its
 * database (a needless wake-up costs the worker one indexed query).
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

PGDLLEXPORT void convex_launcher_main(Datum main_arg);

/* The workers the launcher keeps running: the scheduler and the relay */
#define NUM_WORKERS 2
/* Seconds before a worker that stopped is started again */
#define RESTART_SECONDS 5
/* How often the launcher looks for a database that is not there */
#define DATABASE_POLL_MS 1000
/* How often it looks at workers it did not start (a previous launcher's) */
#define ADOPTED_POLL_MS 5000
/* How long a command waits for the workers to leave the database */
#define LEAVE_WAIT_MS 10000

/* Shared state */
typedef struct LauncherShared
{
	slock_t		mutex;
	int			launcher_procno;	/* the launcher's pgprocno, or -1 */
	int			leave_pid;		/* a session that needs the workers out, or 0 */
} LauncherShared;

static LauncherShared *launcher = NULL;
static shmem_request_hook_type previous_shmem_request = NULL;
static shmem_startup_hook_type previous_shmem_startup = NULL;
static ProcessUtility_hook_type previous_utility = NULL;

/* This session asked the workers to leave: let them back when its transaction ends */
static bool asked_to_leave = false;
/* This transaction ran a database-wide command: nudge the launcher at its end */
static bool nudge_at_end = false;

/* One worker the launcher keeps running */
typedef struct ManagedWorker
{
	const char *name;			/* bgw_name and bgw_type */
	const char *function;
	bool		(*running) (void);	/* published in shared memory? */
	BackgroundWorkerHandle *handle; /* the launcher started it, or NULL */
	bool		adopted;		/* running, started by an earlier launcher */
	TimestampTz restart_at;		/* not to be started before */
} ManagedWorker;

/* Ask for the shared struct */
static void
launcher_shmem_request(void)
{
	if (previous_shmem_request)
		previous_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(LauncherShared)));
}

/* Create (or attach to) the shared struct */
static void
launcher_shmem_startup(void)
{
	bool		found;

	if (previous_shmem_startup)
		previous_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	launcher = ShmemInitStruct("convexlite launcher", sizeof(LauncherShared), &found);
	if (!found)
	{
		SpinLockInit(&launcher->mutex);
		launcher->launcher_procno = -1;
		launcher->leave_pid = 0;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Set the launcher's latch, if it runs */
static void
wake_launcher(void)
{
	int			procno;

	if (launcher == NULL)
		return;
	SpinLockAcquire(&launcher->mutex);
	procno = launcher->launcher_procno;
	SpinLockRelease(&launcher->mutex);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/*
 * Must the workers stay out of their database now?  True while a session
 * that asked them to leave is alive and has not finished its transaction.
 */
bool
cvx_workers_must_leave(void)
{
	int			pid;

	if (launcher == NULL)
		return false;
	SpinLockAcquire(&launcher->mutex);
	pid = launcher->leave_pid;
	SpinLockRelease(&launcher->mutex);
	if (pid == 0)
		return false;
	if (BackendPidGetProc(pid) != NULL)
		return true;
	/* that session is gone without saying so: forget it */
	SpinLockAcquire(&launcher->mutex);
	if (launcher->leave_pid == pid)
		launcher->leave_pid = 0;
	SpinLockRelease(&launcher->mutex);
	return false;
}

/*
 * Ask the scheduler and the relay to leave their database for a command
 * (tag) and wait, up to LEAVE_WAIT_MS, until they have.  If they have not
 * by then (a long job), the command meets them as PostgreSQL's own wait
 * or WITH (FORCE) would.
 */
static void
ask_workers_to_leave(const char *tag)
{
	long		waited = 0;

	SpinLockAcquire(&launcher->mutex);
	launcher->leave_pid = MyProcPid;
	SpinLockRelease(&launcher->mutex);
	asked_to_leave = true;
	nudge_at_end = true;

	if (!cvx_scheduler_running() && !cvx_notify_relay_running())
		return;
	ereport(LOG,
			(errmsg("convexlite: asking the scheduler and the NOTIFY relay to leave database \"%s\" for %s",
					cvx_worker_database, tag)));
	while (cvx_scheduler_running() || cvx_notify_relay_running())
	{
		if (waited >= LEAVE_WAIT_MS)
		{
			ereport(WARNING,
					(errmsg("convexlite: the scheduler or the NOTIFY relay has not left database \"%s\" after %d s",
							cvx_worker_database, LEAVE_WAIT_MS / 1000)));
			break;
		}
		cvx_scheduler_nudge();
		cvx_notify_relay_nudge();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited += 10;
	}
}

/* A CREATE DATABASE option's value, as a name (NULL when it is not there) */
static const char *
createdb_option(CreatedbStmt *stmt, const char *option)
{
	ListCell   *cell;

	foreach(cell, stmt->options)
	{
		DefElem    *def = lfirst_node(DefElem, cell);

		if (strcmp(def->defname, option) == 0 && def->arg != NULL)
			return defGetString(def);
	}
	return NULL;
}

/* Does ALTER DATABASE name an option (SET TABLESPACE is "tablespace")? */
static bool
alterdb_has_option(AlterDatabaseStmt *stmt, const char *option)
{
	ListCell   *cell;

	foreach(cell, stmt->options)
	{
		if (strcmp(lfirst_node(DefElem, cell)->defname, option) == 0)
			return true;
	}
	return false;
}

/*
 * May this session make the workers leave their database (name) for a
 * command?  Only when the command can succeed as far as the database goes:
 * it exists and the session owns it (or is a superuser), and the command
 * runs outside a transaction block unless it may run inside one.  Anyone
 * else's attempt fails in PostgreSQL as it did, the workers undisturbed.
 */
static bool
may_make_workers_leave(const char *name, bool in_block_ok)
{
	Oid			database;

	if (!in_block_ok && IsTransactionBlock())
		return false;
	database = get_database_oid(name, true);
	return OidIsValid(database) && pg_database_ownercheck(database, GetUserId());
}

/*
 * The database-wide command a statement is, when it needs the workers out
 * of their database (its tag), else NULL.  Sets *database_wide for every
 * command that may make the workers' database appear or disappear.
 */
static const char *
command_needing_database(Node *parsetree, bool *database_wide)
{
	const char *db = cvx_worker_database;

	*database_wide = false;
	if (db == NULL)
		return NULL;
	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			*database_wide = true;
			if (strcmp(castNode(DropdbStmt, parsetree)->dbname, db) == 0 &&
				may_make_workers_leave(db, false))
				return "DROP DATABASE";
			break;
		case T_RenameStmt:
			{
				RenameStmt *stmt = castNode(RenameStmt, parsetree);

				if (stmt->renameType != OBJECT_DATABASE)
					break;
				*database_wide = true;
				if (strcmp(stmt->subname, db) == 0 && may_make_workers_leave(db, true))
					return "ALTER DATABASE RENAME";
			}
			break;
		case T_AlterDatabaseStmt:
			{
				AlterDatabaseStmt *stmt = castNode(AlterDatabaseStmt, parsetree);

				*database_wide = true;
				if (strcmp(stmt->dbname, db) == 0 && alterdb_has_option(stmt, "tablespace") &&
					may_make_workers_leave(db, false))
					return "ALTER DATABASE SET TABLESPACE";
			}
			break;
		case T_CreatedbStmt:
			{
				const char *template = createdb_option(castNode(CreatedbStmt, parsetree), "template");

				*database_wide = true;
				if (template != NULL && strcmp(template, db) == 0 &&
					may_make_workers_leave(db, false))
					return "CREATE DATABASE TEMPLATE";
			}
			break;
		default:
			break;
	}
	return NULL;
}

/*
 * The utility hook: database-wide commands on the workers' database ask
 * them to leave first; COMMIT PREPARED wakes the scheduler.
 */
static void
launcher_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				 ProcessUtilityContext context, ParamListInfo params,
				 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		database_wide;
	const char *tag = command_needing_database(parsetree, &database_wide);
	bool		commit_prepared = IsA(parsetree, TransactionStmt) &&
		castNode(TransactionStmt, parsetree)->kind == TRANS_STMT_COMMIT_PREPARED;

	if (database_wide)
		nudge_at_end = true;
	if (tag != NULL)
		ask_workers_to_leave(tag);

	if (previous_utility)
		previous_utility(pstmt, queryString, readOnlyTree, context, params,
						 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);

	/* the prepared transaction has committed: its jobs are visible */
	if (commit_prepared)
		cvx_scheduler_wake_at_commit();
}

/* At the end of a transaction: let the workers back, nudge the launcher */
static void
launcher_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	if (asked_to_leave)
	{
		SpinLockAcquire(&launcher->mutex);
		if (launcher->leave_pid == MyProcPid)
			launcher->leave_pid = 0;
		SpinLockRelease(&launcher->mutex);
		asked_to_leave = false;
	}
	if (nudge_at_end)
	{
		nudge_at_end = false;
		wake_launcher();
	}
}

/*
 * Can the workers connect to convexlite.database_name now?  Looked up in
 * pg_database (a shared catalog: the launcher has no database).  *state is
 * why not, for the log.
 */
static bool
database_available(const char **state)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		available = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "convexlite: looking up the workers' database");
	rel = table_open(DatabaseRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(cvx_worker_database));
	/* the index only once its relcache entry can be built without a database */
	scan = systable_beginscan(rel, DatabaseNameIndexId, criticalSharedRelcachesBuilt,
							  NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
		*state = "does not exist";
	else
	{
		Form_pg_database form = (Form_pg_database) GETSTRUCT(tuple);

		if (database_is_invalid_form(form))
			*state = "is invalid (its drop was interrupted)";
		else if (!form->datallowconn)
			*state = "does not allow connections";
		else
			available = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return available;
}

/* Start a worker in convexlite.database_name; false when no slot was free */
static bool
start_worker(ManagedWorker *worker)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "convexlite");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "%s", worker->function);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "%s", worker->name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "%s", worker->name);
	bgw.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&bgw, &worker->handle);
}

/*
 * Is a worker running (or starting)?  One the launcher started is asked
 * through its handle, and is due again RESTART_SECONDS after it stopped;
 * one a previous launcher started (this one was restarted) by whether it
 * is published, polled every ADOPTED_POLL_MS.
 */
static bool
worker_alive(ManagedWorker *worker, TimestampTz now)
{
	if (worker->handle != NULL)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(worker->handle, &pid) != BGWH_STOPPED)
			return true;
		pfree(worker->handle);
		worker->handle = NULL;
		worker->restart_at = TimestampTzPlusMilliseconds(now, RESTART_SECONDS * 1000);
		return false;
	}
	if (worker->running())
	{
		worker->adopted = true;
		return true;
	}
	/* an adopted worker is seen gone up to ADOPTED_POLL_MS late: start it now */
	worker->adopted = false;
	return false;
}

/* Forget that this process is the launcher (on exit) */
static void
unpublish_launcher(int code, Datum arg)
{
	SpinLockAcquire(&launcher->mutex);
	if (launcher->launcher_procno == MyProc->pgprocno)
		launcher->launcher_procno = -1;
	SpinLockRelease(&launcher->mutex);
}

/* The launcher's entry point */
void
convex_launcher_main(Datum main_arg)
{
	ManagedWorker workers[NUM_WORKERS] = {
		{"convexlite scheduler", "convex_scheduler_main", cvx_scheduler_running, NULL, false, 0},
		{"convexlite notify relay", "convex_notify_relay_main", cvx_notify_relay_running, NULL, false, 0},
	};
	const char *last_state = NULL;
	bool		slot_warned = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("convexlite launcher");

	SpinLockAcquire(&launcher->mutex);
	launcher->launcher_procno = MyProc->pgprocno;
	SpinLockRelease(&launcher->mutex);
	on_shmem_exit(unpublish_launcher, (Datum) 0);
	ereport(LOG,
			(errmsg("convexlite launcher started for database \"%s\"", cvx_worker_database)));

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		bool		leave = cvx_workers_must_leave();
		bool		due = false;
		bool		adopted = false;
		long		timeout = -1;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		for (int i = 0; i < NUM_WORKERS; i++)
		{
			ManagedWorker *worker = &workers[i];

			if (worker_alive(worker, now))
			{
				adopted |= worker->adopted;
				continue;
			}
			/* workers that left for a command come back as soon as it ends */
			if (leave)
				worker->restart_at = 0;
			else if (worker->restart_at <= now)
				due = true;
			else
			{
				long		wait = (long) ((worker->restart_at - now) / 1000) + 1;

				timeout = timeout < 0 ? wait : Min(timeout, wait);
			}
		}

		if (leave)
			timeout = DATABASE_POLL_MS;
		else if (due)
		{
			const char *state = NULL;

			if (database_available(&state))
			{
				if (last_state != NULL)
					ereport(LOG,
							(errmsg("convexlite launcher: database \"%s\" is back: starting the scheduler and the NOTIFY relay",
									cvx_worker_database)));
				last_state = NULL;
				now = GetCurrentTimestamp();
				for (int i = 0; i < NUM_WORKERS; i++)
				{
					ManagedWorker *worker = &workers[i];

					if (worker->handle != NULL || worker->adopted || worker->restart_at > now)
						continue;
					if (start_worker(worker))
						slot_warned = false;
					else
					{
						worker->handle = NULL;
						worker->restart_at = TimestampTzPlusMilliseconds(now, RESTART_SECONDS * 1000);
						if (!slot_warned)
							ereport(WARNING,
									(errmsg("convexlite launcher could not start \"%s\": no free background worker slot",
											worker->name),
									 errhint("Raise max_worker_processes.")));
						slot_warned = true;
						timeout = RESTART_SECONDS * 1000;
					}
				}
			}
			else
			{
				if (last_state == NULL || strcmp(last_state, state) != 0)
					ereport(LOG,
							(errmsg("convexlite launcher: database \"%s\" %s; the scheduler and the NOTIFY relay start when it can be connected to",
									cvx_worker_database, state)));
				last_state = state;
				timeout = DATABASE_POLL_MS;
			}
		}
		if (adopted)
			timeout = timeout < 0 ? ADOPTED_POLL_MS : Min(timeout, ADOPTED_POLL_MS);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * While the server preloads convexlite: the launcher, its shared memory,
 * the utility hook and the end-of-transaction callback.
 */
void
cvx_launcher_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

	previous_shmem_request = shmem_request_hook;
	shmem_request_hook = launcher_shmem_request;
	previous_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = launcher_shmem_startup;
	previous_utility = ProcessUtility_hook;
	ProcessUtility_hook = launcher_utility;
	RegisterXactCallback(launcher_xact_callback, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "convexlite");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "convex_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "convexlite launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "convexlite launcher");
	RegisterBackgroundWorker(&worker);
}
