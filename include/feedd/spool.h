/*
 * spool: a durable FIFO of records in a directory, for what feedd accepted
 * while the database could not take it.
 *
 * Records are appended to segment files (seg-NNNNNNNNNNNNNNNN.spool, rotated
 * at a size), each record framed as a 4-byte length, a 4-byte XXH32 of the
 * payload and the payload, little-endian.  spool_sync makes everything
 * appended so far durable (fdatasync); only then may the caller treat it as
 * accepted.  Records are read back in the order they were appended, also
 * across restarts; spool_done says a record read back is safe elsewhere (the
 * database committed it), and a segment whose records are all read and all
 * done is deleted.  A torn record at the end of a segment (power lost in the
 * middle of a write) fails its length or checksum: it is logged and cut off,
 * and the records before it are kept.
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

/* Opens (creating it, mode 0700) the spool in dir, at most max_bytes of
 * segment files (0: no cap); scans what is there, cutting torn tails.  NULL
 * with the reason in err. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, struct buf *err);
void spool_close(struct spool *s);

/* Appends one record of len bytes (1 .. 256 MiB).  0; -1 when the spool
 * is full (max_bytes); -2 when writing failed (logged, with errno's
 * reason in err). Not durable before spool_sync. */
int spool_append(struct spool *s, const void *data, size_t len, struct buf *err);
/* fdatasync of what was appended; 0 or -1 with the reason in err. */
int spool_sync(struct spool *s, struct buf *err);

/* Reads the next record not yet read into out: 1, or 0 when there is none
 * (everything appended was read), -1 on a read error (logged; the segment
 * is skipped). */
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
