/*
 * jitter: splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
 * number generators", 2014; see jitter.h): one 64-bit state, any seed
 * (zero included) gives a full-period sequence, and every output bit
 * depends on every state bit, which is all that spreading timers needs.
 */
#include "feedd/jitter.h"

void jitter_seed(struct jitter *j, uint64_t seed)
{
	j->state = seed;
}

uint64_t jitter_next(struct jitter *j)
{
	uint64_t z = (j->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double jitter_unit(struct jitter *j)
{
	/* 53 bits: every value is a double exactly, and 1.0 is never one. */
	return (double)(jitter_next(j) >> 11) * 0x1.0p-53;
}
