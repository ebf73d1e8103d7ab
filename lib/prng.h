/* SPDX-License-Identifier: MIT */
/*
 * Small reproducible generators for the simulator and the tests: the same
 * seed gives the same world or the same test vectors on every machine,
 * which libc's rand() does not promise. Not for keys that must be secret.
 */
#ifndef MPLB_PRNG_H
#define MPLB_PRNG_H

#include <stdint.h>

/* Marsaglia's xorshift64 (13, 7, 17); *state must not be 0. */
static inline uint64_t xorshift64(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* xorshift64* (12, 25, 27, then a multiply): better low bits. */
static inline uint64_t xorshift64star(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

#endif /* MPLB_PRNG_H */
