/*-------------------------------------------------------------------------
 *
 * convexlite.c
 *	  Module entry point: settings and each part's initialisation.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Register settings and caches */
void
_PG_init(void)
{
	cvx_auth_init();
	cvx_ids_init();
	cvx_tables_init();
	cvx_limits_init();
	cvx_mutations_init();
	cvx_conflicts_init();
	cvx_storage_init();
	cvx_snapshot_init();
	cvx_realtime_init();
	cvx_scheduler_init();
	cvx_notify_relay_init();
	cvx_launcher_init();
	MarkGUCPrefixReserved("convexlite");
}
