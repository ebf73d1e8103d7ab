/* SPDX-License-Identifier: MIT */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4), as
 * the balancer's rings use it.
 *
 * Each backend has a stable 64-bit key (maglev_key_of_name() of its config
 * name, say); two independent hashes of it give the permutation
 *   offset = h1(key) mod M, skip = h2(key) mod (M - 1) + 1,
 *   permutation[j] = (offset + j * skip) mod M,
 * and backends take turns claiming their next preferred empty slot. Weights
 * follow Katran's MaglevHashV2: in each round a backend claims a slot each
 * time its accumulated weight passes the largest weight, so shares are
 * proportional to weights.
 *
 * Deterministic: the result depends on the set of (key, id, weight), not on
 * the order given, so two balancer hosts with the same backends build the
 * same table.
 */
#ifndef MPLB_MAGLEV_H
#define MPLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAGLEV_DEFAULT_SIZE 65537u
#define MAGLEV_EMPTY UINT32_MAX /* slot value of a table without backends */
/* Balance degrades below this many slots per backend (Maglev paper: M > 100 N). */
#define MAGLEV_MIN_SLOTS_PER_BACKEND 100u

struct maglev_backend {
	uint64_t key;    /* stable identity: same key, same permutation */
	uint32_t id;     /* what the table stores */
	uint32_t weight; /* 0 = not in the table */
};

bool maglev_is_prime(uint32_t n);

/* Stable key from a backend name (64-bit FNV-1a, then a mix). */
uint64_t maglev_key_of_name(const char *name);

/*
 * Fill table[0..size) with backend ids. Returns 0; 1 when it built the table
 * but size < MAGLEV_MIN_SLOTS_PER_BACKEND * (backends with weight > 0), so
 * the caller should warn; -EINVAL when size is not a prime >= 2, table is
 * NULL, n > 0 with b NULL, or two backends share a key or an id. With no
 * weighted backend every slot is MAGLEV_EMPTY.
 */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t size,
		 uint32_t *table);

/*
 * Slots where old_table and new_table differ, written to changed (which may
 * be NULL, to count only); returns how many. Updating exactly these slots in
 * place moves a live ring to the new table without a gap.
 */
size_t maglev_delta(const uint32_t *old_table, const uint32_t *new_table,
		    uint32_t size, uint32_t *changed);

#endif /* MPLB_MAGLEV_H */
