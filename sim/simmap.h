/* SPDX-License-Identifier: MIT */
/*
 * The simulator's stand-ins for the balancer's BPF maps: a hash of fixed-size
 * keys and values with the kernel's semantics that the decision depends on
 * (BPF_ANY / BPF_NOEXIST updates; a full plain hash refuses, a full LRU hash
 * evicts its least recently used entry, approximated by sampling).
 */
#ifndef MPLB_SIMMAP_H
#define MPLB_SIMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smap {
	size_t key_size, value_size, cap, count, slots, tombs;
	bool lru;
	uint8_t *keys, *values;
	uint64_t *used;     /* 0 = empty slot, else last access tick (LRU) */
	uint8_t *tomb;      /* deleted slots, for probing */
	uint32_t *tag;      /* high half of the key's hash: most probes skip the key compare */
	uint64_t tick;
	uint64_t evictions; /* LRU: entries pushed out by inserts */
	uint64_t refused;   /* plain hash: inserts refused because full */
};

int smap_init(struct smap *m, size_t key_size, size_t value_size, size_t cap, bool lru);
void smap_free(struct smap *m);
void smap_clear(struct smap *m);
void *smap_lookup(struct smap *m, const void *key);
/* flags: BPF_ANY (0), BPF_NOEXIST (1), BPF_EXIST (2). 0, or -1 (exists / missing / full). */
int smap_update(struct smap *m, const void *key, const void *value, uint64_t flags);
int smap_delete(struct smap *m, const void *key);
/* Visit every entry (fn returns nonzero to stop). */
void smap_each(struct smap *m, int (*fn)(const void *key, void *value, void *arg), void *arg);

#endif /* MPLB_SIMMAP_H */
