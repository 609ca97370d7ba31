/*
 * spool: a durable FIFO of records in a directory, for what feedd accepted
 * while the database could not take it.
 *
 * Records are appended to segment files (seg-NNNNNNNNNNNNNNNN.spool, rotated
 * at a size).  A segment starts with a 16-byte header ("feedd-spool\n" and
 * the format version, 2, little-endian), and each record is framed by a
 * 16-byte header: a sync mark (FE ED 00 5C), the payload's length, the
 * payload's XXH32 and the XXH32 of those first 12 bytes, all little-endian.
 * Segments of version 1 (feedd before the header: records framed as a length
 * and the payload's XXH32 only) are still read.  spool_sync makes everything
 * appended so far durable (fdatasync); only then may the caller treat it as
 * accepted.  Records are read back in the order they were appended, also
 * across restarts; spool_done says a record read back is safe elsewhere (the
 * database committed it), and a segment whose records are all read and all
 * done is deleted.
 *
 * Damage is skipped, never more than it: a record that fails its frame or
 * checksum is passed over to the next good one (the next sync mark whose
 * header and payload check out; in a version 1 segment, the next offset
 * where a length and checksum do), and the bytes skipped are logged with
 * their offsets.  Damage that runs to the end of the last segment is a write
 * cut short (a power loss): logged as such and cut off.  A segment that
 * cannot be opened or read at all, or is of an unknown version, is left in
 * place and spool_open fails, unless the caller asks to go on without it.
 *
 * The directory is locked (flock on its file "lock", which holds the
 * holder's PID) for as long as the spool is open: a second process, or a
 * second spool_open in this one, is refused and told who holds it.
 *
 * The spool is blocking file I/O on the caller's thread, in small writes;
 * it is used only while the database is away.
 */
#ifndef FEEDD_SPOOL_H
#define FEEDD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feedd/util.h"

struct spool;

/* Where a record was read from, for spool_done. */
struct spool_pos {
	uint64_t segment;
};

/* spool_open's flags: a segment that cannot be opened or read is logged,
 * left in place and skipped instead of failing the open. */
#define SPOOL_SKIP_UNREADABLE 1u

/* Opens (creating it, mode 0700) the spool in dir into *out, at most
 * max_bytes of segment files (0: no cap), and locks it; scans what is
 * there, skipping damage and cutting a torn tail.  0; or, with *out NULL
 * and the reason in err: -1 when the directory cannot be created or opened
 * (nothing in it is touched: a caller may go on without a spool), -2 when a
 * segment in it cannot be read (logged, left in place; see
 * SPOOL_SKIP_UNREADABLE), -3 when another holder has its lock (err names its
 * PID when known).  Nothing is truncated or deleted unless it returns 0. */
int spool_open(struct spool **out, const char *dir, uint64_t max_bytes, unsigned flags,
	       struct buf *err);
/* Closes the files and releases the lock; s may be NULL. */
void spool_close(struct spool *s);

/* Appends one record of len bytes (1 .. 256 MiB).  0; -1 when the spool
 * is full (max_bytes); -2 when writing failed (logged, with errno's
 * reason in err). Not durable before spool_sync. */
int spool_append(struct spool *s, const void *data, size_t len, struct buf *err);
/* fdatasync of what was appended (in every segment it went to); 0 or -1
 * with the reason in err. */
int spool_sync(struct spool *s, struct buf *err);

/* Reads the next record not yet read into out: 1, or 0 when there is none
 * (everything appended was read), -1 on a read error (logged; the rest of
 * the segment is skipped, and its file is left in place rather than
 * deleted). */
int spool_read(struct spool *s, struct buf *out, struct spool_pos *pos);
/* The record read at pos is stored elsewhere now. */
void spool_done(struct spool *s, const struct spool_pos *pos);

/* Records appended and not yet done, and the bytes of all segments. */
uint64_t spool_pending(const struct spool *s);
uint64_t spool_bytes(const struct spool *s);
/* Whether records wait to be read. */
bool spool_readable(const struct spool *s);
const char *spool_dir(const struct spool *s);

#endif
