// SPDX-License-Identifier: MIT
/* LRU eviction counts, derived from what entered, what was deleted and what is there. */
#include "lb_evict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lb.skel.h"
#include "mplb/lb_structs.h"
#include "util.h"

struct lru_table {
	struct bpf_map *map;
	/* lb_stats indices, LB_STAT_MAX for none: what the data plane and the control plane put in, deleted, evicted */
	__u32 entered, pushed, deleted, evicted;
};

static int lru_tables(struct lb_bpf *s, struct lru_table t[4])
{
	t[0] = (struct lru_table){s->maps.token_map, LB_STAT_EV_TOKEN_LEARNED, LB_STAT_MAX, LB_STAT_MAX,
				  LB_STAT_EV_TOKEN_EVICTED};
	t[1] = (struct lru_table){s->maps.token_hold, LB_STAT_EV_HOLD_STARTED, LB_STAT_MAX, LB_STAT_MAX,
				  LB_STAT_EV_HOLD_EVICTED};
	t[2] = (struct lru_table){s->maps.join_flows, LB_STAT_EV_FLOW_LEARNED, LB_STAT_EV_FLOW_PUSHED,
				  LB_STAT_EV_FLOW_DELETED,
				  LB_STAT_EV_FLOW_EVICTED};
	t[3] = (struct lru_table){s->maps.conn_lru, LB_STAT_EV_LRU_LEARNED, LB_STAT_MAX, LB_STAT_MAX,
				  LB_STAT_EV_LRU_EVICTED};
	return 4;
}

long lb_map_count(int fd)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), chunk = 4096, n;
	long total = 0;
	__u64 in_batch = 0, out_batch = 0;
	bool first = true;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	char *keys = malloc((size_t)chunk * info.key_size), *vals = malloc((size_t)chunk * info.value_size);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	do {
		n = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &n, NULL);
		if (err && errno != ENOENT) {
			total = -1;
			break;
		}
		total += n;
		in_batch = out_batch;
		first = false;
	} while (!err);
	free(keys);
	free(vals);
	return total;
}

static int stat_read(int fd, __u32 idx, struct lb_counter *v, int ncpu, unsigned long long *sum)
{
	if (idx >= LB_STAT_MAX) {
		*sum = 0;
		return 0;
	}
	if (bpf_map_lookup_elem(fd, &idx, v))
		return -1;
	*sum = 0;
	for (int c = 0; c < ncpu; c++)
		*sum += v[c].packets;
	return 0;
}

/* Make counter idx sum to total (CPU 0's slot takes the difference). */
static void stat_set(int fd, __u32 idx, unsigned long long total, struct lb_counter *v, int ncpu)
{
	unsigned long long others = 0;

	if (bpf_map_lookup_elem(fd, &idx, v))
		return;
	for (int c = 1; c < ncpu; c++)
		others += v[c].packets;
	v[0].packets = total > others ? total - others : 0;
	bpf_map_update_elem(fd, &idx, v, BPF_ANY);
}

int lb_evict_account(struct lb_bpf *s)
{
	int fd = bpf_map__fd(s->maps.lb_stats), ncpu = libbpf_num_possible_cpus(), rc = 0;
	struct lru_table t[4];
	int n = lru_tables(s, t);

	if (ncpu <= 0)
		return -1;
	struct lb_counter v[ncpu];
	for (int i = 0; i < n; i++) {
		unsigned long long in, pushed, out;
		long present;

		/* Counts first, then the table: an insert in between is under-counted once, never over. */
		if (stat_read(fd, t[i].entered, v, ncpu, &in) || stat_read(fd, t[i].pushed, v, ncpu, &pushed) ||
		    stat_read(fd, t[i].deleted, v, ncpu, &out) ||
		    (present = lb_map_count(bpf_map__fd(t[i].map))) < 0) {
			rc = -1;
			continue;
		}
		in += pushed;
		stat_set(fd, t[i].evicted, in > out + (unsigned long long)present ? in - out - present : 0, v,
			 ncpu);
	}
	return rc;
}

void lb_evict_seed(struct lb_bpf *s)
{
	int fd = bpf_map__fd(s->maps.lb_stats), ncpu = libbpf_num_possible_cpus();
	struct lru_table t[4];
	int n = lru_tables(s, t);

	if (ncpu <= 0)
		return;
	struct lb_counter v[ncpu];
	for (int i = 0; i < n; i++) {
		long present = lb_map_count(bpf_map__fd(t[i].map));
		/* Safe on data-plane counters: no program uses the new lb_stats yet. */
		if (present > 0)
			stat_set(fd, t[i].entered, (unsigned long long)present, v, ncpu);
	}
}

void lb_stat_add(struct lb_bpf *s, unsigned idx, unsigned long long n)
{
	int fd = bpf_map__fd(s->maps.lb_stats), ncpu = libbpf_num_possible_cpus();
	__u32 key = idx;

	if (ncpu <= 0 || !n || idx >= LB_STAT_MAX)
		return;
	struct lb_counter v[ncpu];
	if (bpf_map_lookup_elem(fd, &key, v))
		return;
	v[0].packets += n;
	bpf_map_update_elem(fd, &key, v, BPF_ANY);
}
