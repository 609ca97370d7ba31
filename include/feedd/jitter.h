/*
 * jitter: the random numbers that spread feedd's timers apart: a feed's next
 * poll (+-10%), a new feed's first poll, the first poll under a shortened
 * interval, a failed page's retry (+-10%), the store's reconnect backoff
 * (+-20%).
 *
 * One small generator (splitmix64) with its state in a struct: the daemon
 * seeds one when it starts and hands it to the modules that jitter, so that
 * there is no hidden global and a test can seed its own and get the same
 * numbers every time.  Not for anything that must be unpredictable.
 */
#ifndef FEEDD_JITTER_H
#define FEEDD_JITTER_H

#include <stdint.h>

struct jitter {
	uint64_t state;
};

void jitter_seed(struct jitter *j, uint64_t seed);
/* The next 64 random bits. */
uint64_t jitter_next(struct jitter *j);
/* A number in [0, 1), from the next 53 bits. */
double jitter_unit(struct jitter *j);

#endif
