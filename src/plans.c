/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  Statements prepared once per backend and run under a pinned
 *	  search_path.
 *
 * Every statement convexlite runs is written with schema-qualified names
 * and OPERATOR(pg_catalog.…), prepared once with SPI_prepare and kept.
 * On top of that, each statement is planned and executed with an override
 * search_path of pg_catalog alone (no temp schema, none of the caller's
 * schemas).  PostgreSQL's plan cache re-analyzes a kept statement when the
 * active search_path differs from the one it was planned under; because
 * both are always this pinned path, a caller's search_path can neither
 * trigger a re-plan nor change what a name in a statement resolves to,
 * including inside the SECURITY DEFINER mutations.  Pinning this way costs
 * two list operations per statement, far less than a per-call
 * SET search_path on every function.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "catalog/namespace.h"
#include "executor/spi_priv.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"
#include "utils/plancache.h"

/* pg_catalog only: no caller schema, no temp schema */
static OverrideSearchPath pinned_search_path = {NIL, true, false, 0};

/* Prepare sql under the pinned search_path and keep the plan for the backend */
static SPIPlanPtr
prepare_and_keep(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan;

	PushOverrideSearchPath(&pinned_search_path);
	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
	PopOverrideSearchPath();
	if (plan == NULL)
		elog(ERROR, "convexlite: could not prepare \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "convexlite: could not keep plan for \"%s\"", sql);
	return plan;
}

/* Prepare and keep a statement, analyzed under the pinned search_path */
SPIPlanPtr
cvx_prepare(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_and_keep(sql, nargs, argtypes, 0);
}

/*
 * Prepare and keep an index query: always run with its generic plan (one
 * plan for every call, never planned again per call), which
 * cvx_cursor_open_indexed builds with sequential scans off.
 */
SPIPlanPtr
cvx_prepare_indexed(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_and_keep(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/* A statement kept in *slot, prepared on first use */
SPIPlanPtr
cvx_kept_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
		*slot = cvx_prepare(sql, nargs, argtypes);
	return *slot;
}

/*
 * Execute a kept statement under the pinned search_path.  An error on the
 * way out of SPI unwinds the override with the (sub)transaction.
 */
int
cvx_execute(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only,
			long count)
{
	int			rc;

	PushOverrideSearchPath(&pinned_search_path);
	rc = SPI_execute_plan(plan, values, nulls, read_only, count);
	PopOverrideSearchPath();
	return rc;
}

/*
 * Execute a kept statement that finds rows by a unique key, planned with
 * sequential scans off: a plan made while its table was empty (a seq scan
 * is then cheapest) would otherwise scan the whole table for as long as
 * the plan is kept, however large the table grows.
 */
int
cvx_execute_by_key(SPIPlanPtr plan, Datum *values, const char *nulls,
				   bool read_only, long count)
{
	int			guc_level = NewGUCNestLevel();
	int			rc;

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	rc = cvx_execute(plan, values, nulls, read_only, count);
	AtEOXact_GUC(true, guc_level);
	return rc;
}

/*
 * Open a cursor on a kept statement under the pinned search_path (a
 * cursor's plan is checked against the search_path when it is opened).
 */
Portal
cvx_cursor_open(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only)
{
	Portal		portal;

	PushOverrideSearchPath(&pinned_search_path);
	portal = SPI_cursor_open(NULL, plan, values, nulls, read_only);
	PopOverrideSearchPath();
	return portal;
}

/*
 * Will running this kept statement plan it?  True until its generic plan
 * is built, and again after an invalidation (DDL, ANALYZE).  The plan
 * cache checks validity again once it holds its locks, so a plan
 * invalidated in between is rebuilt with the session's settings; that
 * plan lasts only until the next invalidation.
 */
static bool
needs_planning(SPIPlanPtr plan)
{
	CachedPlanSource *source;

	if (plan->magic != _SPI_PLAN_MAGIC || list_length(plan->plancache_list) != 1)
		return true;
	source = linitial(plan->plancache_list);
	return !source->is_valid || source->gplan == NULL || !source->gplan->is_valid;
}

/*
 * Open a cursor on an index query (cvx_prepare_indexed).  When the call
 * plans it, sequential scans are off: a plan made while the table was
 * empty (a seq scan and a sort are then cheapest) would otherwise scan
 * the whole table on every call for as long as the plan is kept, however
 * large the table grows.  Every index query orders by an index, so an
 * index scan is always possible.  Calls that reuse the plan pay nothing.
 */
Portal
cvx_cursor_open_indexed(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only)
{
	int			guc_level;
	Portal		portal;

	if (!needs_planning(plan))
		return cvx_cursor_open(plan, values, nulls, read_only);
	guc_level = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	portal = cvx_cursor_open(plan, values, nulls, read_only);
	AtEOXact_GUC(true, guc_level);
	return portal;
}

/* Run a one-off statement (no parameters) under the pinned search_path */
int
cvx_execute_once(const char *sql, bool read_only)
{
	int			rc;

	PushOverrideSearchPath(&pinned_search_path);
	rc = SPI_execute(sql, read_only, 0);
	PopOverrideSearchPath();
	return rc;
}

/* Run a one-off statement with parameters under the pinned search_path */
int
cvx_execute_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls, bool read_only, long count)
{
	int			rc;

	PushOverrideSearchPath(&pinned_search_path);
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, count);
	PopOverrideSearchPath();
	return rc;
}

/* SPI_connect, reporting failure */
void
cvx_spi_connect(void)
{
	int			rc = SPI_connect();

	if (rc != SPI_OK_CONNECT)
		elog(ERROR, "convexlite: SPI_connect failed: %s", SPI_result_code_string(rc));
}

/* SPI_finish, reporting failure */
void
cvx_spi_finish(void)
{
	int			rc = SPI_finish();

	if (rc != SPI_OK_FINISH)
		elog(ERROR, "convexlite: SPI_finish failed: %s", SPI_result_code_string(rc));
}

/* Copy a text result out of SPI's memory, into the caller's context */
text *
cvx_spi_return_text(text *value)
{
	text	   *result = SPI_palloc(VARSIZE_ANY(value));

	memcpy(result, value, VARSIZE_ANY(value));
	return result;
}

/*
 * Kept statements by shape, least recently used last.  A caller chooses
 * the shape of what it runs (which fields a patch sets, which bounds a
 * query has), so a cache with one plan per shape would let it grow a
 * backend's memory without limit (each plan is about 10 kB): at most
 * CVX_KEPT_PLANS_PER_TABLE are kept, and the least recently used one is
 * freed to make room.  The lists are short, so a linear search and a
 * move to the front cost less than hashing.
 */
typedef struct CvxKeptPlan
{
	SPIPlanPtr	plan;
	Size		keylen;
	char		key[FLEXIBLE_ARRAY_MEMBER];
} CvxKeptPlan;

/* The kept statement for key, now the most recently used; NULL if none */
SPIPlanPtr
cvx_plan_cache_find(List **cache, const void *key, Size keylen)
{
	ListCell   *lc;

	foreach(lc, *cache)
	{
		CvxKeptPlan *entry = lfirst(lc);

		if (entry->keylen != keylen || memcmp(entry->key, key, keylen) != 0)
			continue;
		if (foreach_current_index(lc) > 0)
		{
			/* lcons allocates nothing here: the list has a free slot */
			*cache = list_delete_nth_cell(*cache, foreach_current_index(lc));
			*cache = lcons(entry, *cache);
		}
		return entry->plan;
	}
	return NULL;
}

/*
 * Keep plan (already SPI_keepplan'd) for key, in context (the table set's
 * memory); when the cache is full the least recently used plan is freed.
 */
void
cvx_plan_cache_add(List **cache, const void *key, Size keylen, SPIPlanPtr plan,
				   MemoryContext context)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	CvxKeptPlan *entry;

	if (list_length(*cache) >= CVX_KEPT_PLANS_PER_TABLE)
	{
		CvxKeptPlan *victim = llast(*cache);

		*cache = list_delete_last(*cache);
		SPI_freeplan(victim->plan);
		pfree(victim);
	}
	entry = palloc(offsetof(CvxKeptPlan, key) + keylen);
	entry->plan = plan;
	entry->keylen = keylen;
	memcpy(entry->key, key, keylen);
	*cache = lcons(entry, *cache);
	MemoryContextSwitchTo(old);
}

/* Free every kept statement of a cache (with its table set) */
void
cvx_plan_cache_free(List **cache)
{
	ListCell   *lc;

	foreach(lc, *cache)
		SPI_freeplan(((CvxKeptPlan *) lfirst(lc))->plan);
	*cache = NIL;
}
