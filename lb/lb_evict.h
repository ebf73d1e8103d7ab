/* SPDX-License-Identifier: MIT */
/*
 * Eviction counts of the balancer's LRU tables (token_map, token_hold,
 * join_flows, conn_lru). The kernel's LRU evicts silently, and tracing it
 * (fexit) is not allowed everywhere (lockdown, BPF LSM policies), so the
 * count is derived instead: every entry that enters a table is counted once
 * by whoever writes it (the data plane inserts with BPF_NOEXIST; the
 * control plane counts its own inserts and deletes), so
 *     evicted = entered - deleted - present
 * exactly whenever the table is quiet, within the inserts in flight
 * otherwise. The result goes into lb_stats (*_evicted) beside every other
 * event, for `mplb lb stats` and /metrics.
 */
#ifndef MPLB_LB_EVICT_H
#define MPLB_LB_EVICT_H

struct lb_bpf;

/* Recompute the *_evicted counters from the tables and their in/out counts. 0, or -1 on a map error. */
int lb_evict_account(struct lb_bpf *s);
/*
 * Counters that start from zero over tables that do not (new lb_stats,
 * reused maps): count what the tables hold as entered, so that evictions
 * count from here.
 */
void lb_evict_seed(struct lb_bpf *s);
/* Entries in a hash map (batched lookups), or -1 when fd is not one. */
long lb_map_count(int fd);
/* Add n to counter idx of lb_stats, on CPU 0's slot: only for counters the data plane never writes (a racing increment would be lost). */
void lb_stat_add(struct lb_bpf *s, unsigned idx, unsigned long long n);

#endif /* MPLB_LB_EVICT_H */
