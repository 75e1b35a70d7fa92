/*-------------------------------------------------------------------------
 *
 * notify_relay.c
 *	  The NOTIFY relay: a background worker that sends, in batches, the
 *	  notifications of transactions that have already committed.
 *
 * PostgreSQL serialises every transaction that sends a NOTIFY on one
 * database-wide lock, held from just before its commit record until the
 * commit is done, WAL flush included.  Since every convexlite write
 * notifies, its writers would commit one after another, never together:
 * with four clients a server commits about half as many writes as it
 * could.
 *
 * When convexlite is preloaded, a writer in the relay's database
 * (convexlite.database_name) therefore keeps its notifications in memory.
 * Just before commit it reserves room for them in a shared ring buffer; once
 * the commit is durable and visible it copies them there and sets the
 * relay's latch.  The relay sends what it finds, many transactions' worth
 * in one transaction of its own, so the lock is taken once per batch.
 * Only committed work reaches the ring, and a rolled-back subtransaction's
 * notifications are dropped from memory first, so what listeners see is
 * what NOTIFY would have shown, a moment later, sent by the relay's
 * process, and folded: identical notifications (same channel and payload)
 * in one batch arrive once, as PostgreSQL folds them within a transaction.
 *
 * A transaction whose notifications do not fit in the ring, or that
 * commits while no relay runs, or in another database, or with
 * convexlite.notify_relay off, sends its notifications itself with NOTIFY.
 *
 * The launcher (worker_launcher.c) starts the relay while its database
 * exists, and again 5 seconds after it stopped.  When a command such as
 * DROP DATABASE needs the database to itself, the relay stops taking
 * notifications, sends those it holds, and exits cleanly.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PGDLLEXPORT void convex_notify_relay_main(Datum main_arg);

/* convexlite.notify_relay: hand notifications to the relay when it runs */
static bool relay_enabled = true;

/* convexlite.notify_buffer_size: the ring's size, in kB */
static int	ring_kb = 1024;

/* A batch the relay sends in one transaction: about this many bytes ... */
#define BATCH_BYTES (256 * 1024)
/* ... or this many notifications, whichever comes first */
#define BATCH_NOTES 8192
/* How often the relay tries a batch PostgreSQL refused, a second apart */
#define BATCH_TRIES 10
/*
 * After a batch the relay lets this long pass before it takes the next, so
 * that under a steady stream of commits each batch gathers many of them
 * (the first notification after a quiet spell goes out at once)
 */
#define GATHER_MS 1
/* How long the relay sleeps with nothing to send (it is woken anyway) */
#define IDLE_WAIT_MS 10000
/* How long a leaving relay waits for transactions that reserved room */
#define LEAVE_RESERVED_WAIT_MS 1000

/*
 * One committed transaction's notifications in the ring: this header, then
 * count records of "channel\0payload\0".
 */
typedef struct RelayBlockHeader
{
	uint32		length;			/* bytes after the header */
	uint32		count;			/* notifications */
} RelayBlockHeader;

/* The shared ring; head and tail only grow (positions modulo size) */
typedef struct RelayShared
{
	LWLock	   *lock;
	int			procno;			/* the relay's pgprocno, or -1 */
	Oid			database;		/* the relay's database */
	uint64		head;			/* next byte the relay reads */
	uint64		tail;			/* next byte a writer appends */
	uint64		reserved;		/* promised to transactions now committing */
	uint64		size;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} RelayShared;

static RelayShared *relay = NULL;
static shmem_request_hook_type previous_shmem_request = NULL;
static shmem_startup_hook_type previous_shmem_startup = NULL;

/*
 * This transaction's notifications for the relay ("channel\0payload\0"
 * records, in TopTransactionContext), and the room reserved for them in the
 * ring just before commit.
 */
static StringInfo pending = NULL;
static uint32 pending_count = 0;
static uint64 reserved_here = 0;

/* Where pending stood when each open subtransaction began (by nest level) */
typedef struct SubtransactionMark
{
	int			length;
	uint32		count;
} SubtransactionMark;

static SubtransactionMark *marks = NULL;
static int	marks_size = 0;

/* Bytes of shared memory the relay needs */
static Size
relay_shmem_size(void)
{
	return add_size(offsetof(RelayShared, data), (Size) ring_kb * 1024);
}

/* Ask for the ring and its lock */
static void
relay_shmem_request(void)
{
	if (previous_shmem_request)
		previous_shmem_request();
	RequestAddinShmemSpace(relay_shmem_size());
	RequestNamedLWLockTranche("convexlite notify relay", 1);
}

/* Create (or attach to) the ring */
static void
relay_shmem_startup(void)
{
	bool		found;

	if (previous_shmem_startup)
		previous_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	relay = ShmemInitStruct("convexlite notify relay", relay_shmem_size(), &found);
	if (!found)
	{
		relay->lock = &(GetNamedLWLockTranche("convexlite notify relay"))->lock;
		relay->procno = -1;
		relay->database = InvalidOid;
		relay->head = relay->tail = relay->reserved = 0;
		relay->size = (uint64) ring_kb * 1024;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Copy bytes into the ring at a position, wrapping at its end */
static void
ring_write(uint64 position, const char *source, Size length)
{
	Size		offset = position % relay->size;
	Size		first = Min(length, relay->size - offset);

	memcpy(relay->data + offset, source, first);
	if (first < length)
		memcpy(relay->data, source + first, length - first);
}

/* Copy bytes out of the ring from a position, wrapping at its end */
static void
ring_read(uint64 position, char *target, Size length)
{
	Size		offset = position % relay->size;
	Size		first = Min(length, relay->size - offset);

	memcpy(target, relay->data + offset, first);
	if (first < length)
		memcpy(target + first, relay->data, length - first);
}

/* Would the relay take this transaction's notifications? (a first guess) */
static bool
relay_usable(void)
{
	return relay != NULL && relay_enabled && !IsParallelWorker() &&
		relay->procno >= 0 && relay->database == MyDatabaseId;
}

/*
 * Send one notification on commit: through the relay when it runs in this
 * database, else with NOTIFY.
 */
void
cvx_notify_send(const char *channel, const char *payload)
{
	if (!relay_usable())
	{
		Async_Notify(channel, payload);
		return;
	}
	if (pending == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		pending = makeStringInfo();
		MemoryContextSwitchTo(old);
	}
	appendBinaryStringInfo(pending, channel, strlen(channel) + 1);
	appendBinaryStringInfo(pending, payload, strlen(payload) + 1);
	pending_count++;
}

/* Send this transaction's kept notifications with NOTIFY, now */
static void
send_pending_directly(void)
{
	const char *record = pending->data;
	const char *end = pending->data + pending->len;

	while (record < end)
	{
		const char *payload = record + strlen(record) + 1;

		Async_Notify(record, payload);
		record = payload + strlen(payload) + 1;
	}
}

/* Just before commit: reserve room in the ring, or send directly */
static void
reserve_or_send(void)
{
	uint64		need = sizeof(RelayBlockHeader) + (uint64) pending->len;
	bool		reserved = false;

	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	if (relay->procno >= 0 && relay->database == MyDatabaseId &&
		relay->size - (relay->tail - relay->head) - relay->reserved >= need)
	{
		relay->reserved += need;
		reserved = true;
	}
	LWLockRelease(relay->lock);
	if (reserved)
		reserved_here = need;
	else
		send_pending_directly();
}

/*
 * After commit: put the notifications in the room reserved for them and
 * wake the relay.  Nothing here can fail.
 */
static void
hand_to_relay(void)
{
	RelayBlockHeader header;
	int			procno = -1;

	header.length = (uint32) pending->len;
	header.count = pending_count;
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	/* a relay that left data in the ring has not gone to sleep yet */
	if (relay->head == relay->tail)
		procno = relay->procno;
	ring_write(relay->tail, (const char *) &header, sizeof(header));
	ring_write(relay->tail + sizeof(header), pending->data, pending->len);
	relay->tail += reserved_here;
	relay->reserved -= reserved_here;
	LWLockRelease(relay->lock);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/* Give back a reservation of a transaction that did not commit */
static void
release_reservation(void)
{
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	relay->reserved -= reserved_here;
	LWLockRelease(relay->lock);
}

/* Forget this transaction's notifications (its memory goes with it) */
static void
forget_pending(void)
{
	pending = NULL;
	pending_count = 0;
	reserved_here = 0;
}

/* Hand a committing transaction's notifications on */
static void
relay_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (pending != NULL && pending_count > 0)
				reserve_or_send();
			break;
		case XACT_EVENT_PRE_PREPARE:
			/* PostgreSQL refuses to PREPARE a transaction that notifies */
			if (pending != NULL && pending_count > 0)
				send_pending_directly();
			break;
		case XACT_EVENT_COMMIT:
			if (reserved_here > 0)
				hand_to_relay();
			forget_pending();
			break;
		case XACT_EVENT_ABORT:
			if (reserved_here > 0)
				release_reservation();
			forget_pending();
			break;
		default:
			forget_pending();
			break;
	}
}

/* Drop what a rolled-back subtransaction would have sent */
static void
relay_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (event == SUBXACT_EVENT_START_SUB)
	{
		if (level >= marks_size)
		{
			int			size = Max(16, level * 2);

			marks = marks == NULL ?
				MemoryContextAlloc(TopMemoryContext, size * sizeof(SubtransactionMark)) :
				repalloc(marks, size * sizeof(SubtransactionMark));
			marks_size = size;
		}
		marks[level].length = pending != NULL ? pending->len : 0;
		marks[level].count = pending_count;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB && pending != NULL &&
			 level < marks_size && pending->len > marks[level].length)
	{
		pending->len = marks[level].length;
		pending->data[pending->len] = '\0';
		pending_count = marks[level].count;
	}
}

/*
 * The relay's batch: copy whole transactions out of the ring, leaving them
 * there until they are sent (a relay that dies sending leaves them to the
 * next).  *consumed is the ring bytes they take.
 */
static int
take_batch(char *buffer, Size *length, uint64 *consumed)
{
	int			count = 0;
	Size		taken = 0;
	uint64		position;

	LWLockAcquire(relay->lock, LW_SHARED);
	position = relay->head;
	while (position < relay->tail)
	{
		RelayBlockHeader header;

		ring_read(position, (char *) &header, sizeof(header));
		if (count > 0 &&
			(taken + header.length > BATCH_BYTES || count + header.count > BATCH_NOTES))
			break;
		ring_read(position + sizeof(header), buffer + taken, header.length);
		position += sizeof(header) + header.length;
		taken += header.length;
		count += header.count;
	}
	*consumed = position - relay->head;
	LWLockRelease(relay->lock);
	*length = taken;
	return count;
}

/* Free the ring's room of a batch that was sent (or given up) */
static void
release_batch(uint64 consumed)
{
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	relay->head += consumed;
	LWLockRelease(relay->lock);
}

/* Send a batch in one transaction; false (logged) if PostgreSQL refused */
static bool
send_batch(const char *buffer, Size length)
{
	MemoryContext context = CurrentMemoryContext;
	volatile bool sent = false;

	PG_TRY();
	{
		const char *record = buffer;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		pgstat_report_activity(STATE_RUNNING, "convexlite: sending notifications");
		while (record < buffer + length)
		{
			const char *payload = record + strlen(record) + 1;

			Async_Notify(record, payload);
			record = payload + strlen(payload) + 1;
		}
		CommitTransactionCommand();
		sent = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return sent;
}

/* Does the relay run (in whatever database)? */
bool
cvx_notify_relay_running(void)
{
	bool		running;

	if (relay == NULL)
		return false;
	LWLockAcquire(relay->lock, LW_SHARED);
	running = relay->procno >= 0;
	LWLockRelease(relay->lock);
	return running;
}

/* Set the relay's latch (to make it leave) */
void
cvx_notify_relay_nudge(void)
{
	int			procno;

	if (relay == NULL)
		return;
	LWLockAcquire(relay->lock, LW_SHARED);
	procno = relay->procno;
	LWLockRelease(relay->lock);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/*
 * Leave the database for a command that needs it alone: take no more
 * notifications (writers send their own from now on), wait (a while) for
 * the transactions that reserved room to put their notifications in, send
 * everything in the ring, and exit cleanly.
 */
static void
leave_database(char *buffer)
{
	Size		length;
	uint64		consumed;
	uint64		reserved = 0;

	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	if (relay->procno == MyProc->pgprocno)
		relay->procno = -1;
	LWLockRelease(relay->lock);
	for (int waited = 0; waited < LEAVE_RESERVED_WAIT_MS; waited += 10)
	{
		LWLockAcquire(relay->lock, LW_SHARED);
		reserved = relay->reserved;
		LWLockRelease(relay->lock);
		if (reserved == 0)
			break;
		pg_usleep(10000L);
	}
	while (take_batch(buffer, &length, &consumed) > 0)
	{
		(void) send_batch(buffer, length);
		release_batch(consumed);
	}
	ereport(LOG,
			(errmsg("convexlite notify relay leaving database \"%s\" for a command that needs it alone",
					cvx_worker_database)));
	proc_exit(0);
}

/* Forget that this process is the relay (on exit) */
static void
unpublish_relay(int code, Datum arg)
{
	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	if (relay->procno == MyProc->pgprocno)
		relay->procno = -1;
	LWLockRelease(relay->lock);
}

/* The relay's entry point */
void
convex_notify_relay_main(Datum main_arg)
{
	char	   *buffer;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* a command that needs the database to itself started meanwhile */
	if (cvx_workers_must_leave())
		proc_exit(0);
	BackgroundWorkerInitializeConnection(cvx_worker_database, NULL, 0);
	pgstat_report_appname("convexlite notify relay");
	/* nothing the relay commits needs to survive a crash */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	/* room for the largest batch: one transaction's block may fill the ring */
	buffer = MemoryContextAlloc(TopMemoryContext, Max(relay->size, BATCH_BYTES));

	LWLockAcquire(relay->lock, LW_EXCLUSIVE);
	/* what a relay of another database (since dropped) left is not for this one */
	if (relay->database != MyDatabaseId && relay->head != relay->tail)
	{
		ereport(LOG,
				(errmsg("convexlite notify relay dropped %llu bytes of notifications left by a relay of another database",
						(unsigned long long) (relay->tail - relay->head))));
		relay->head = relay->tail;
	}
	relay->procno = MyProc->pgprocno;
	relay->database = MyDatabaseId;
	LWLockRelease(relay->lock);
	on_shmem_exit(unpublish_relay, (Datum) 0);
	ereport(LOG,
			(errmsg("convexlite notify relay started in database \"%s\"", cvx_worker_database)));

	for (;;)
	{
		Size		length;
		uint64		consumed;
		int			count;

		CHECK_FOR_INTERRUPTS();
		if (cvx_workers_must_leave())
			leave_database(buffer);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		count = take_batch(buffer, &length, &consumed);
		if (count == 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 IDLE_WAIT_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		for (int try = 1; !send_batch(buffer, length); try++)
		{
			if (try == BATCH_TRIES)
			{
				ereport(WARNING,
						(errmsg("convexlite notify relay dropped %d notifications after %d tries",
								count, try)));
				break;
			}
			(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
			CHECK_FOR_INTERRUPTS();
		}
		release_batch(consumed);
		/* not woken by writers meanwhile: they see data left in the ring */
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, GATHER_MS, PG_WAIT_EXTENSION);
	}
}

/*
 * Register convexlite.notify_relay and the commit hooks; while the server
 * preloads convexlite, also the ring's size and its shared memory (the
 * launcher starts the relay).
 */
void
cvx_notify_relay_init(void)
{
	DefineCustomBoolVariable("convexlite.notify_relay",
							 "Hand notifications to the relay worker at commit instead of sending them in the committing transaction.",
							 "The relay exists when convexlite is preloaded; it serves convexlite.database_name.",
							 &relay_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	RegisterXactCallback(relay_xact_callback, NULL);
	RegisterSubXactCallback(relay_subxact_callback, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("convexlite.notify_buffer_size",
							"Size of the shared buffer in which committed transactions leave notifications for the relay.",
							"A transaction whose notifications do not fit sends them itself.",
							&ring_kb,
							1024,
							64,
							1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	previous_shmem_request = shmem_request_hook;
	shmem_request_hook = relay_shmem_request;
	previous_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = relay_shmem_startup;
}
