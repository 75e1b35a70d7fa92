/*-------------------------------------------------------------------------
 *
 * conflicts.c
 *	  Serializable mutations: what a mutation read and wrote, as locks that
 *	  conflict exactly when a concurrent write would change a read, and the
 *	  attempts that run a conflicting mutation again inside the call.
 *
 * Convex records every index range a mutation reads and, when a concurrent
 * commit wrote into one, runs the mutation again.  convexlite does the
 * same with heavyweight locks of its own (advisory-type tags that no
 * pg_advisory_* call can form), taken inside the top-level convex_mutation
 * call:
 *
 *   document   ctx.db.get(id) takes it in ShareLock; a write of that
 *              document (patch, replace, delete, or any write that returns
 *              it) takes it in ExclusiveLock.
 *   key        a query over an index with eq on its first n fields takes
 *              ShareLock on (table, index, n, those n values); every write
 *              takes RowExclusiveLock on (table, index, k, values) for each
 *              index and each k = 1..nfields, for the document's old and new
 *              values.  Readers share, writers share, a reader and a writer
 *              of the same key conflict.
 *   table      a query with no eq (a whole index, by_creation_time) takes
 *              ShareLock on the table's key; every write takes
 *              RowExclusiveLock on it.
 *
 * Keys are hashes: a collision is a needless conflict, never a missed one.
 * A range read is coarser than Convex's (the whole eq prefix, whatever the
 * bounds or limit), never finer.
 *
 * A lock is waited for only when every lock the attempt holds comes
 * earlier in one global order (table, key, kind); otherwise it is asked
 * for with dontWait, and a refusal raises 40001 at once.  The attempt's
 * subtransaction rolls back (its writes, row and heavyweight locks,
 * scheduled jobs, upload tokens, notifications) and the next attempt first
 * takes, waiting, in that order, every lock the earlier attempts took or
 * were refused (the footprint it learned), then runs the mutation again.
 * Waiting in one global order while holding only locks earlier in that
 * order cannot close a cycle, so no attempt waits for deadlock detection.
 * Waits convexlite does not ask for itself (a row lock in a built-in
 * UPDATE, the handler's own SQL) are cut short by a short lock_timeout
 * during all but the last attempt, and retried after a random backoff.
 *
 * Writes outside any mutation (the ctx.db functions or a built-in's SQL
 * function called directly) take the same write locks, waiting for them,
 * since they cannot run again; reads outside a mutation take none.
 *
 * At REPEATABLE READ and SERIALIZABLE the transaction's snapshot is fixed:
 * each read is run a second time under the latest snapshot, and if the two
 * differ, the mutation read something a transaction committed after the
 * snapshot, which no attempt inside this transaction can fix: the call
 * fails with 40001 saying so.  The same holds for PostgreSQL's own 40001
 * at those levels.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

/* convexlite.mutation_retries: attempts after the first (Convex's 4) */
static int	mutation_retries = 4;

/* convexlite.conflict_lock_timeout: how long an attempt waits for a lock it did not ask for */
static int	fallback_lock_timeout = 10;

/* locktag_field4 of convexlite's locks (pg_advisory_* use 1 and 2) */
#define LOCK_KIND_DOCUMENT 0x4364
#define LOCK_KIND_KEY 0x436b

/* The key of a whole table (queries without eq) */
#define TABLE_KEY 0

/* Most locks a transaction's writes outside mutations take */
#define OUTSIDE_LOCK_CAP 1000

/* Most locks the next attempt takes before it runs */
#define MAX_LEARNED_LOCKS 256

/* One lock an attempt took or was refused */
typedef struct NeededLock
{
	LOCKTAG		tag;
	LOCKMODE	mode;
} NeededLock;

/* The running top-level call's attempts */
static bool attempt_running = false;
static bool attempt_conflicted = false;	/* a lock was refused (even if caught) */
static bool attempt_stale = false;	/* a read differs from the latest snapshot */
static bool attempt_holds_locks = false;	/* attempt_last_tag is set */
static LOCKTAG attempt_last_tag;	/* the last lock held, in the global order */
static int	caller_lock_timeout = 0;	/* lock_timeout outside the attempts */
static bool call_running = false;	/* cvx_run_attempts is running a call */
static NeededLock *footprint = NULL;	/* every lock taken or refused so far */
static int	footprint_count = 0;
static int	footprint_size = 0;
static int	outside_locks = 0;	/* locks writes outside mutations took */

/*
 * Counts for convex_conflict_stats(): calls by attempts taken (1..5, 6+)
 * and calls that failed with 40001 after their attempts.  Server-wide in
 * shared memory when convexlite is preloaded, else this backend's.
 */
#define STAT_BUCKETS 6
typedef struct ConflictStats
{
	pg_atomic_uint64 calls;
	pg_atomic_uint64 attempts[STAT_BUCKETS];
	pg_atomic_uint64 failed;
} ConflictStats;

static ConflictStats local_stats;
static ConflictStats *stats = NULL;
static shmem_request_hook_type previous_shmem_request = NULL;
static shmem_startup_hook_type previous_shmem_startup = NULL;

PG_FUNCTION_INFO_V1(convex_conflict_stats);
PG_FUNCTION_INFO_V1(convex_conflict_stats_reset);

static void conflicts_xact_callback(XactEvent event, void *arg);

/* Ask for the shared counters' memory */
static void
conflicts_shmem_request(void)
{
	if (previous_shmem_request)
		previous_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ConflictStats)));
}

/* Find or create the shared counters */
static void
conflicts_shmem_startup(void)
{
	bool		found;
	ConflictStats *shared;

	if (previous_shmem_startup)
		previous_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("convexlite conflict stats", sizeof(ConflictStats), &found);
	if (!found)
	{
		pg_atomic_init_u64(&shared->calls, 0);
		for (int i = 0; i < STAT_BUCKETS; i++)
			pg_atomic_init_u64(&shared->attempts[i], 0);
		pg_atomic_init_u64(&shared->failed, 0);
	}
	LWLockRelease(AddinShmemInitLock);
	stats = shared;
}

/* Register the settings, and the shared counters when preloaded */
void
cvx_conflicts_init(void)
{
	RegisterXactCallback(conflicts_xact_callback, NULL);
	pg_atomic_init_u64(&local_stats.calls, 0);
	for (int i = 0; i < STAT_BUCKETS; i++)
		pg_atomic_init_u64(&local_stats.attempts[i], 0);
	pg_atomic_init_u64(&local_stats.failed, 0);
	stats = &local_stats;
	if (process_shared_preload_libraries_in_progress)
	{
		previous_shmem_request = shmem_request_hook;
		shmem_request_hook = conflicts_shmem_request;
		previous_shmem_startup = shmem_startup_hook;
		shmem_startup_hook = conflicts_shmem_startup;
	}
	DefineCustomIntVariable("convexlite.mutation_retries",
							"How many times a conflicting mutation runs again before the call fails with 40001.",
							NULL, &mutation_retries, 4, 0, 100,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("convexlite.conflict_lock_timeout",
							"Longest a mutation attempt waits for a lock convexlite did not take itself before it runs again (0: no limit).",
							NULL, &fallback_lock_timeout, 10, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Remember a lock in the call's footprint */
static void
remember(const LOCKTAG *tag, LOCKMODE mode)
{
	if (footprint_count == footprint_size)
	{
		int			size = Max(64, footprint_size * 2);

		/* kept for the backend's next calls: most calls need only a few */
		if (footprint == NULL)
			footprint = MemoryContextAlloc(TopMemoryContext, size * sizeof(NeededLock));
		else
			footprint = repalloc(footprint, size * sizeof(NeededLock));
		footprint_size = size;
	}
	footprint[footprint_count].tag = *tag;
	footprint[footprint_count].mode = mode;
	footprint_count++;
}

/* The global order of locks: by table, key, kind */
static int
compare_tags(const LOCKTAG *x, const LOCKTAG *y)
{
	if (x->locktag_field2 != y->locktag_field2)
		return x->locktag_field2 < y->locktag_field2 ? -1 : 1;
	if (x->locktag_field3 != y->locktag_field3)
		return x->locktag_field3 < y->locktag_field3 ? -1 : 1;
	if (x->locktag_field4 != y->locktag_field4)
		return x->locktag_field4 < y->locktag_field4 ? -1 : 1;
	return 0;
}

/* Remember the last lock (in the global order) the attempt holds */
static void
note_taken(const LOCKTAG *tag)
{
	if (!attempt_holds_locks || compare_tags(tag, &attempt_last_tag) > 0)
		attempt_last_tag = *tag;
	attempt_holds_locks = true;
}

/*
 * Take a lock for the running attempt.  It waits only when every lock the
 * attempt holds comes earlier in the global order; otherwise a refusal is
 * a conflict (40001), which the attempt loop resolves.
 */
static void
take(uint32 table_number, uint32 key, uint16 kind, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, table_number, key, kind);
	if (!attempt_running)
	{
		/*
		 * A write outside any mutation (ctx.db functions or a built-in's
		 * SQL function called directly): it cannot run again, so it waits,
		 * as a plain UPDATE would; a bulk load stops taking locks after
		 * OUTSIDE_LOCK_CAP of them.
		 */
		if (outside_locks < OUTSIDE_LOCK_CAP &&
			LockAcquire(&tag, mode, false, false) == LOCKACQUIRE_OK)
			outside_locks++;
		return;
	}
	remember(&tag, mode);
	if (LockAcquire(&tag, mode, false, true) != LOCKACQUIRE_NOT_AVAIL)
		note_taken(&tag);
	else if (mode != ExclusiveLock &&
			 (LockHeldByMe(&tag, ExclusiveLock) ||
			  (kind == LOCK_KIND_KEY && LockHeldByMe(&tag, ShareRowExclusiveLock))))
	{
		/*
		 * Refused only because of a waiter: this attempt holds a stronger
		 * mode already (from its footprint), which covers this one.
		 */
	}
	else if (!attempt_holds_locks || compare_tags(&tag, &attempt_last_tag) > 0)
	{
		/*
		 * Every lock this attempt holds comes before this one in the
		 * global order: waiting for it cannot close a cycle (the same rule
		 * as the footprint's).
		 */
		int			fallback = LockTimeout;

		LockTimeout = caller_lock_timeout;
		PG_TRY();
		{
			(void) LockAcquire(&tag, mode, false, false);
		}
		PG_FINALLY();
		{
			LockTimeout = fallback;
		}
		PG_END_TRY();
		note_taken(&tag);
	}
	else
	{
		attempt_conflicted = true;
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("convexlite: a concurrent mutation holds a conflicting lock on %s %u/%08x",
						kind == LOCK_KIND_DOCUMENT ? "document" : "index key",
						table_number, key),
				 errhint("convex_mutation runs the mutation again; this error reaches the caller only "
						 "when a handler catches it.")));
	}
}

/* Is an attempt running, so that reads take locks? */
static inline bool
locking(void)
{
	return attempt_running && cvx_in_mutation();
}

/* Do writes take locks?  Inside attempts, and outside mutations (waiting) */
static inline bool
write_locking(void)
{
	return attempt_running || !cvx_in_mutation();
}

/* The hash of a document id */
static uint32
id_key(text *id)
{
	return hash_any((const unsigned char *) VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
}

/*
 * The hash of one stored value: equal under the type's "=" means equal
 * hash (floats: -0 = 0; jsonb: its own hash; text compares bytewise under
 * convexlite's deterministic collations).
 */
static uint32
value_hash(Oid type, Datum value, bool isnull)
{
	if (isnull)
		return 0x5bd1e995;
	switch (type)
	{
		case BOOLOID:
			return DatumGetBool(value) ? 0x3c6ef372 : 0xa54ff53a;
		case FLOAT8OID:
			{
				double		number = DatumGetFloat8(value);

				if (number == 0.0)
					number = 0.0;	/* -0 */
				if (isnan(number))
					return 0x7fc00000;
				return hash_any((const unsigned char *) &number, sizeof(number));
			}
		case INT8OID:
			{
				int64		number = DatumGetInt64(value);

				return hash_any((const unsigned char *) &number, sizeof(number));
			}
		case JSONBOID:
			return DatumGetUInt32(DirectFunctionCall1(jsonb_hash, value));
		default:				/* text, bytea */
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

				return hash_any((const unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			}
	}
}

/* The key of index `index` with its first `level` fields equal to hashes[] */
static uint32
index_key(int index, int level, const uint32 *hashes)
{
	uint32		key = hash_combine(0x9e3779b9 + (uint32) index, (uint32) level);

	for (int i = 0; i < level; i++)
		key = hash_combine(key, hashes[i]);
	if (key == TABLE_KEY)
		key = 1;
	return key;
}

/* ctx.db.get of a document: ShareLock on the document */
void
cvx_conflict_read_document(CvxTable *table, text *id)
{
	if (locking())
		take(table->number, id_key(id), LOCK_KIND_DOCUMENT, ShareLock);
}

/*
 * A query of index `index` (-1: by_creation_time) with its first neq
 * fields equal to values[] (nulls[i] 'n': undefined, a missing field):
 * ShareLock on that key, or on the table's.
 */
void
cvx_conflict_read_range(CvxTable *table, int index, int neq, const Datum *values,
						const char *nulls)
{
	uint32		hashes[CVX_MAX_INDEX_FIELDS];

	if (!locking())
		return;
	if (index < 0 || neq == 0)
	{
		take(table->number, TABLE_KEY, LOCK_KIND_KEY, ShareLock);
		return;
	}
	for (int i = 0; i < neq; i++)
	{
		const CvxColumn *column = &table->columns[table->indexes[index].fields[i]];

		hashes[i] = value_hash(column->type_oid, values[i], nulls != NULL && nulls[i] == 'n');
	}
	take(table->number, index_key(index, neq, hashes), LOCK_KIND_KEY, ShareLock);
}

/* A write of a document by id is coming: ExclusiveLock on it first */
void
cvx_conflict_write_document(CvxTable *table, text *id)
{
	if (write_locking())
		take(table->number, id_key(id), LOCK_KIND_DOCUMENT, ExclusiveLock);
}

/*
 * The index keys of one row (old or new) in RowExclusiveLock: for each
 * index, each prefix of its fields.  attnos[c] is the row's attribute
 * number of table column c (0: not in the row, which is an error).
 */
static void
take_row_keys(CvxTable *table, HeapTuple tuple, TupleDesc tupdesc, const int *attnos)
{
	for (int i = 0; i < table->nindexes; i++)
	{
		const CvxIndex *index = &table->indexes[i];
		uint32		hashes[CVX_MAX_INDEX_FIELDS];

		for (int f = 0; f < index->nfields; f++)
		{
			int			column = index->fields[f];
			bool		isnull;
			Datum		value;

			if (attnos[column] <= 0)
				elog(ERROR, "convexlite: a write to \"%s\" did not return indexed column \"%s\"",
					 table->name, table->columns[column].column);
			value = heap_getattr(tuple, attnos[column], tupdesc, &isnull);
			hashes[f] = value_hash(table->columns[column].type_oid, value, isnull);
			take(table->number, index_key(i, f + 1, hashes), LOCK_KIND_KEY, RowExclusiveLock);
		}
	}
}

/* The attribute numbers of the table's indexed columns in tupdesc */
static int *
indexed_attnos(CvxTable *table, TupleDesc tupdesc, int *buffer, int buffer_size)
{
	int		   *attnos = table->ncolumns <= buffer_size ? buffer :
		palloc(sizeof(int) * table->ncolumns);

	memset(attnos, 0, sizeof(int) * table->ncolumns);

	for (int i = 0; i < table->nindexes; i++)
		for (int f = 0; f < table->indexes[i].nfields; f++)
		{
			int			column = table->indexes[i].fields[f];

			if (attnos[column] == 0)
				attnos[column] = SPI_fnumber(tupdesc, table->columns[column].column);
		}
	return attnos;
}

/*
 * Rows a write statement returned (RETURNING _id and every indexed
 * column): the table's key, each row's index keys in RowExclusiveLock,
 * and the document itself in ExclusiveLock (not for an insert: nobody
 * can know a new id before it commits).  For an UPDATE these are the new
 * values; a statement that changes indexed columns also reports the old
 * row (cvx_conflict_old_row).
 */
void
cvx_conflict_written_rows(CvxTable *table, CvxWriteKind kind, SPITupleTable *rows,
						  uint64 nrows)
{
	int		   *attnos = NULL;
	int			buffer[32];
	int			id_attno = 0;
	int			inserted_attno = 0;

	if (!write_locking() || nrows == 0 || rows == NULL)
		return;
	take(table->number, TABLE_KEY, LOCK_KIND_KEY, RowExclusiveLock);
	if (table->nindexes > 0)
		attnos = indexed_attnos(table, rows->tupdesc, buffer, lengthof(buffer));
	/* an upsert (presence) says whether it inserted (realtime.c's column) */
	if (kind == CVX_WRITE_INSERT)
		inserted_attno = SPI_fnumber(rows->tupdesc, "cvx_inserted");
	if (kind != CVX_WRITE_INSERT || inserted_attno > 0)
	{
		id_attno = SPI_fnumber(rows->tupdesc, "_id");
		if (id_attno <= 0)
			elog(ERROR, "convexlite: a write to \"%s\" did not return _id", table->name);
	}
	for (uint64 r = 0; r < nrows; r++)
	{
		bool		isnull;

		if (id_attno > 0 &&
			(inserted_attno <= 0 ||
			 !DatumGetBool(heap_getattr(rows->vals[r], inserted_attno, rows->tupdesc, &isnull))))
		{
			Datum		id = heap_getattr(rows->vals[r], id_attno, rows->tupdesc, &isnull);

			if (!isnull)
				take(table->number, id_key(DatumGetTextPP(id)), LOCK_KIND_DOCUMENT, ExclusiveLock);
		}
		if (attnos != NULL)
			take_row_keys(table, rows->vals[r], rows->tupdesc, attnos);
	}
	if (attnos != NULL && attnos != buffer)
		pfree(attnos);
}

/*
 * The stored row a write is about to change (its indexed values may
 * change): its index keys in RowExclusiveLock, so that readers of the
 * range it leaves conflict too.
 */
void
cvx_conflict_old_row(CvxTable *table, HeapTuple tuple, TupleDesc tupdesc)
{
	int		   *attnos;
	int			buffer[32];

	if (!write_locking() || table->nindexes == 0)
		return;
	attnos = indexed_attnos(table, tupdesc, buffer, lengthof(buffer));
	take_row_keys(table, tuple, tupdesc, attnos);
	if (attnos != buffer)
		pfree(attnos);
}

/*
 * Must a write of these columns (positions in table->columns) report the
 * stored row first?  Only when one of them is indexed.
 */
bool
cvx_conflict_needs_old_row(CvxTable *table, int ncolumns, const int *columns)
{
	if (!write_locking())
		return false;
	for (int i = 0; i < table->nindexes; i++)
		for (int f = 0; f < table->indexes[i].nfields; f++)
			for (int c = 0; c < ncolumns; c++)
				if (columns == NULL || table->indexes[i].fields[f] == columns[c])
					return true;
	return false;
}

/* The hash of a result tuple's values: its null bitmap and data */
static uint64
tuple_hash(HeapTuple tuple)
{
	const size_t start = offsetof(HeapTupleHeaderData, t_bits);

	return hash_bytes_extended((const unsigned char *) tuple->t_data + start,
							   tuple->t_len - start, tuple->t_data->t_hoff);
}

/* Start a query's digest: kept only when its result must be checked */
void
cvx_conflict_digest_start(CvxReadDigest *digest)
{
	digest->active = locking() && IsolationUsesXactSnapshot();
	digest->rows = 0;
	digest->hash = 0;
}

/* Add a row the query returned */
void
cvx_conflict_digest_add(CvxReadDigest *digest, HeapTuple tuple)
{
	if (!digest->active)
		return;
	digest->rows++;
	digest->hash = hash_combine64(digest->hash, tuple_hash(tuple));
}

/*
 * cvx_conflict_check_current for a query read through a cursor: run it
 * again under the latest snapshot, in batches, and compare digests (a
 * 64-bit hash of the rows in order, and their count).
 */
void
cvx_conflict_check_digest(SPIPlanPtr plan, Datum *values, const char *nulls,
						  CvxReadDigest *digest)
{
	CvxReadDigest latest = {true, 0, 0};
	Portal		portal;

	if (!digest->active)
		return;
	PushActiveSnapshot(GetLatestSnapshot());
	portal = cvx_cursor_open(plan, values, nulls, true);
	PopActiveSnapshot();
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 256);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
			cvx_conflict_digest_add(&latest, SPI_tuptable->vals[r]);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (latest.rows != digest->rows || latest.hash != digest->hash)
	{
		attempt_stale = true;
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("convexlite: a mutation read documents that changed after this transaction's snapshot")));
	}
}

/*
 * After a read at REPEATABLE READ or SERIALIZABLE (its result in
 * SPI_tuptable, left there): run the same statement under the latest
 * snapshot.  The read's locks keep its rows from changing now, so a
 * difference means a transaction that committed after this transaction's
 * snapshot changed them: the mutation cannot be made serializable inside
 * this transaction.
 */
void
cvx_conflict_check_current(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	SPITupleTable *first = SPI_tuptable;
	uint64		nfirst = SPI_processed;
	CvxReadDigest digest;

	cvx_conflict_digest_start(&digest);
	if (!digest.active)
		return;
	for (uint64 r = 0; r < nfirst; r++)
		cvx_conflict_digest_add(&digest, first->vals[r]);
	cvx_conflict_check_digest(plan, values, nulls, &digest);
	SPI_tuptable = first;
	SPI_processed = nfirst;
}

/* Order locks by tag, then mode */
static int
compare_locks(const void *a, const void *b)
{
	const NeededLock *x = a;
	const NeededLock *y = b;
	int			order = compare_tags(&x->tag, &y->tag);

	return order != 0 ? order : x->mode - y->mode;
}

/* One mode that conflicts with whatever a and b conflict with */
static LOCKMODE
combined_mode(LOCKMODE a, LOCKMODE b)
{
	if (a == b)
		return a;
	if (a == ExclusiveLock || b == ExclusiveLock)
		return ExclusiveLock;
	return ShareRowExclusiveLock;	/* Share + RowExclusive */
}

/*
 * Before an attempt after a conflict: take, waiting, every lock the
 * earlier attempts took or were refused, one mode per tag, in tag order.
 * Waiting happens only here, holding only locks earlier in that order.
 */
static void
take_footprint(void)
{
	int			n = 0;

	if (footprint_count == 0)
		return;
	/*
	 * A document read under contention is usually written next (read,
	 * check, patch): take documents in ExclusiveLock, so that the next
	 * attempt does not fail on the upgrade.
	 */
	for (int i = 0; i < footprint_count; i++)
		if (footprint[i].tag.locktag_field4 == LOCK_KIND_DOCUMENT)
			footprint[i].mode = ExclusiveLock;
	qsort(footprint, footprint_count, sizeof(NeededLock), compare_locks);
	for (int i = 0; i < footprint_count; i++)
	{
		if (n > 0 && memcmp(&footprint[n - 1].tag, &footprint[i].tag, sizeof(LOCKTAG)) == 0)
			footprint[n - 1].mode = combined_mode(footprint[n - 1].mode, footprint[i].mode);
		else
			footprint[n++] = footprint[i];
	}
	footprint_count = n;
	for (int i = 0; i < n && i < MAX_LEARNED_LOCKS; i++)
	{
		(void) LockAcquire(&footprint[i].tag, footprint[i].mode, false, false);
		note_taken(&footprint[i].tag);
	}
}

/* How an attempt's error is handled */
typedef enum AttemptFailure
{
	FAILURE_OTHER,				/* not a conflict: the call fails with it */
	FAILURE_CONFLICT,			/* a lock refused: learn and run again */
	FAILURE_WAIT,				/* a wait cut short, a deadlock: back off, run again */
	FAILURE_STALE				/* the snapshot is stale: cannot run again here */
} AttemptFailure;

/* Classify an attempt's error */
static AttemptFailure
classify(ErrorData *edata)
{
	if (attempt_stale)
		return FAILURE_STALE;
	if (attempt_conflicted)
		return FAILURE_CONFLICT;
	/* the handler's own RAISE of these codes is its answer, not a conflict */
	if (edata->filename != NULL && strcmp(edata->filename, "pl_exec.c") == 0)
		return FAILURE_OTHER;
	switch (edata->sqlerrcode)
	{
		case ERRCODE_T_R_SERIALIZATION_FAILURE:
			/* PostgreSQL's: a snapshot conflict or SSI, fixed for this transaction */
			return IsolationUsesXactSnapshot() ? FAILURE_STALE : FAILURE_WAIT;
		case ERRCODE_T_R_DEADLOCK_DETECTED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
			return FAILURE_WAIT;
		default:
			return FAILURE_OTHER;
	}
}

/* The isolation level's name, for messages */
static const char *
isolation_name(void)
{
	return IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ";
}

/* Sleep a random time that grows with the attempt number */
static void
back_off(int attempt)
{
	long		ceiling = 100L << Min(attempt, 6);	/* 200 us .. 6.4 ms */
	uint32		r;

	cvx_random_bytes((uint8 *) &r, sizeof(r));
	pg_usleep(50 + (long) (r % (uint32) ceiling));
	CHECK_FOR_INTERRUPTS();
}

/* Count a finished call */
static void
count_call(int attempts, bool failed)
{
	pg_atomic_fetch_add_u64(&stats->calls, 1);
	pg_atomic_fetch_add_u64(&stats->attempts[Min(attempts, STAT_BUCKETS) - 1], 1);
	if (failed)
		pg_atomic_fetch_add_u64(&stats->failed, 1);
}

/* Forget the call's state (end of the call, or of the transaction) */
static void
attempts_reset(void)
{
	attempt_running = false;
	attempt_conflicted = false;
	attempt_stale = false;
	call_running = false;
	footprint_count = 0;
	/* keep a small footprint array for the next call, not a large one */
	if (footprint_size > 1024)
	{
		pfree(footprint);
		footprint = NULL;
		footprint_size = 0;
	}
}

/*
 * Run a top-level mutation call (run(arg)) in attempts: each one in a
 * subtransaction, again after a conflict, up to 1 + mutation_retries
 * attempts.  Returns run's result; raises 40001 when the call still
 * conflicts or cannot be retried in this transaction, and any other
 * error of the mutation unchanged.
 */
Jsonb *
cvx_run_attempts(const char *path, Jsonb *(*run) (void *), void *arg)
{
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			saved_lock_timeout = LockTimeout;
	Jsonb	   *volatile result = NULL;
	volatile int attempt = 0;

	if (attempt_running)
		return run(arg);		/* nested: part of the running attempt */
	call_running = true;
	footprint_count = 0;
	for (;;)
	{
		ErrorData  *volatile failure = NULL;
		bool		last = attempt >= mutation_retries;
		AttemptFailure kind;

		attempt++;
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(context);
		attempt_running = true;
		attempt_conflicted = false;
		attempt_stale = false;
		attempt_holds_locks = false;
		caller_lock_timeout = saved_lock_timeout;
		PG_TRY();
		{
			if (attempt > 1)
				take_footprint();
			/* waits convexlite did not ask for: cut short, except at the last attempt */
			if (!last && fallback_lock_timeout > 0 &&
				(saved_lock_timeout == 0 || saved_lock_timeout > fallback_lock_timeout))
				LockTimeout = fallback_lock_timeout;
			result = run(arg);
			LockTimeout = saved_lock_timeout;
			if (attempt_conflicted || attempt_stale)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("convexlite: the mutation caught its own conflict and went on")));
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(context);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			LockTimeout = saved_lock_timeout;
			MemoryContextSwitchTo(context);
			failure = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(context);
			CurrentResourceOwner = owner;
		}
		PG_END_TRY();
		attempt_running = false;
		if (failure == NULL)
		{
			count_call(attempt, false);
			attempts_reset();
			return result;
		}
		kind = classify(failure);
		if (kind == FAILURE_OTHER)
		{
			count_call(attempt, false);
			attempts_reset();
			ReThrowError(failure);
		}
		if (kind == FAILURE_STALE)
		{
			count_call(attempt, true);
			attempts_reset();
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("mutation %s conflicted with a concurrent transaction and cannot be retried inside this %s transaction (attempt %d)",
							path, isolation_name(), attempt),
					 errdetail("%s", failure->message),
					 errhint("The transaction's snapshot predates the other transaction's commit: "
							 "retry the whole transaction, or call mutations at READ COMMITTED, "
							 "where convexlite retries them itself.")));
		}
		if (last)
		{
			count_call(attempt, true);
			attempts_reset();
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg_plural("mutation %s still conflicted with concurrent mutations after %d attempt",
								   "mutation %s still conflicted with concurrent mutations after %d attempts",
								   attempt, path, attempt),
					 errdetail("Last conflict: %s", failure->message),
					 errhint("Retry the transaction; convexlite.mutation_retries sets how many times a call runs again.")));
		}
		if (kind == FAILURE_WAIT)
			back_off(attempt);
		FreeErrorData(failure);
	}
}

/* At transaction end: no call runs any more, no lock is held */
static void
conflicts_xact_callback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) && call_running)
		attempts_reset();
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		outside_locks = 0;
}

/* Push "key": number */
static void
push_count(JsonbParseState **state, const char *key, uint64 count)
{
	JsonbValue	value;

	cvx_push_key(state, key);
	value.type = jbvNumeric;
	value.val.numeric = int64_to_numeric((int64) count);
	pushJsonbValue(state, WJB_VALUE, &value);
}

/*
 * convex_conflict_stats(): top-level mutation calls since the server
 * started (or, when convexlite is not preloaded, in this session), by the
 * number of attempts they took, and those that failed with 40001:
 * {"calls": n, "attempts": {"1": n, ..., "5": n, "6+": n}, "failed": n}.
 */
Datum
convex_conflict_stats(PG_FUNCTION_ARGS)
{
	JsonbParseState *state = NULL;
	static const char *const names[STAT_BUCKETS] = {"1", "2", "3", "4", "5", "6+"};

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_count(&state, "calls", pg_atomic_read_u64(&stats->calls));
	cvx_push_key(&state, "attempts");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < STAT_BUCKETS; i++)
		push_count(&state, names[i], pg_atomic_read_u64(&stats->attempts[i]));
	pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	push_count(&state, "failed", pg_atomic_read_u64(&stats->failed));
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
}

/*
 * convex_conflict_stats_reset(): set the counters to zero (superuser:
 * EXECUTE is revoked from PUBLIC).
 */
Datum
convex_conflict_stats_reset(PG_FUNCTION_ARGS)
{
	pg_atomic_write_u64(&stats->calls, 0);
	for (int i = 0; i < STAT_BUCKETS; i++)
		pg_atomic_write_u64(&stats->attempts[i], 0);
	pg_atomic_write_u64(&stats->failed, 0);
	PG_RETURN_VOID();
}

/*
 * Append ", column" for each indexed column of the table that is not a
 * notification filter column (those are in the RETURNING list already).
 */
void
cvx_append_indexed_returning(StringInfo sql, CvxTable *table)
{
	bool	   *listed = palloc0(sizeof(bool) * Max(1, table->ncolumns));

	for (int i = 0; i < table->nnotify_fields; i++)
		listed[table->notify_fields[i]] = true;
	for (int i = 0; i < table->nindexes; i++)
		for (int f = 0; f < table->indexes[i].nfields; f++)
		{
			int			column = table->indexes[i].fields[f];

			if (!listed[column])
				appendStringInfo(sql, ", %s", quote_identifier(table->columns[column].column));
			listed[column] = true;
		}
	pfree(listed);
}
