/*-------------------------------------------------------------------------
 *
 * snapshot.h
 *	  Convex snapshot ZIPs: the parts import and export share
 *	  (snapshot_zip.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_SNAPSHOT_H
#define CVX_SNAPSHOT_H

#include <zip.h>

#include "lib/stringinfo.h"

/* Convex's system table numbers (512 reserved + DefaultTableNumber) */
#define CVX_STORAGE_TABLE_NUMBER 540
#define CVX_SCHEDULED_TABLE_NUMBER 539

/* The longest JSON line read from a snapshot (a document is at most 1 MiB) */
#define CVX_ZIP_MAX_LINE (64 * 1024 * 1024)
/* How much of an entry one read decompresses */
#define CVX_ZIP_LINE_CHUNK (256 * 1024)

/* An entry being read line by line */
typedef struct CvxZipLines
{
	const char *name;
	zip_file_t *file;
	char	   *buffer;
	int			pos;
	int			len;
	bool		eof;
	int64		lineno;			/* lines read so far */
	int64		bytes;			/* bytes decompressed so far */
	StringInfoData line;
} CvxZipLines;

extern zip_t *cvx_zip_open_lo(Oid snapshot);
extern void cvx_zip_close(zip_t *za);
extern void cvx_zip_check_name(const char *name);
extern void cvx_zip_lines_open(CvxZipLines *lines, zip_t *za, zip_uint64_t index,
							   const char *name);
extern bool cvx_zip_lines_next(CvxZipLines *lines);
extern void cvx_zip_lines_close(CvxZipLines *lines);
extern void cvx_export_json_to_wire(const char *in, int len, StringInfo out,
									StringInfo id, StringInfo creation_time);

#endif							/* CVX_SNAPSHOT_H */
