// SPDX-License-Identifier: MIT
/*
 * The balancer's Prometheus metrics ([lb] metrics = ADDR:PORT). Everything
 * comes from the data plane's maps (counters, tables, the control-plane
 * records) and the health state file, so a scrape reads what the kernel
 * holds and needs no lock against the main loop.
 */
#include "lb_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "bpf/lb.skel.h"
#include "lb_evict.h"
#include "lb_health.h"
#include "metrics.h"
#include "mplb/token_sync.h"
#include "util.h"

struct lb_metrics {
	struct mplb_metrics *srv;
	struct lb_runtime *rt;
	char name[LB_CFG_NAME_LEN];
	volatile int announced; /* set by the main loop */
};

#define LB_STAT_NAME_(id, name, group) name,
#define LB_STAT_GROUP_(id, name, group) group,
static const char *const stat_names[] = {LB_STATS(LB_STAT_NAME_)};
static const char *const stat_groups[] = {LB_STATS(LB_STAT_GROUP_)};
#define SYNC_REJ_NAME_(id, name) name,
static const char *const reject_names[] = {SYNC_REJECTS(SYNC_REJ_NAME_)};

static int percpu(int fd, uint32_t key, uint64_t *packets, uint64_t *bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lb_counter *v = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*v)) : NULL;

	*packets = *bytes = 0;
	if (!v || bpf_map_lookup_elem(fd, &key, v)) {
		free(v);
		return -1;
	}
	for (int i = 0; i < ncpu; i++) {
		*packets += v[i].packets;
		*bytes += v[i].bytes;
	}
	free(v);
	return 0;
}


static void render(struct metrics_buf *b, void *arg)
{
	struct lb_metrics *m = arg;
	struct lb_bpf *s = m->rt->skel;
	uint64_t p, by;
	char id[16];

	mb_build_info(b, "lb");
	mb_family(b, "mplb_lb_packets_total", "counter",
		  "Packets per decision counter: path (how the backend was chosen), event, pass, drop, xmit.");
	for (int i = 0; i < LB_STAT_MAX; i++)
		if (!percpu(bpf_map__fd(s->maps.lb_stats), (uint32_t)i, &p, &by))
			mb_sample(b, "mplb_lb_packets_total", (double)p, "group", stat_groups[i],
				  "counter", stat_names[i], NULL);
	mb_family(b, "mplb_lb_bytes_total", "counter", "Bytes per decision counter.");
	for (int i = 0; i < LB_STAT_MAX; i++)
		if (!percpu(bpf_map__fd(s->maps.lb_stats), (uint32_t)i, &p, &by))
			mb_sample(b, "mplb_lb_bytes_total", (double)by, "group", stat_groups[i],
				  "counter", stat_names[i], NULL);

	/* Per VIP and per backend, by the names the running config gave them. */
	struct vip_info vi[LB_CFG_MAX_VIPS];
	uint32_t nv = 0;
	for (uint32_t v = 0; v < LB_CFG_MAX_VIPS; v++) {
		memset(&vi[v], 0, sizeof(vi[v]));
		if (bpf_map_lookup_elem(bpf_map__fd(s->maps.vip_info), &v, &vi[v]))
			break;
		vi[v].name[sizeof(vi[v].name) - 1] = 0;
		nv = v + 1;
	}
	mb_family(b, "mplb_lb_vip_packets_total", "counter", "Packets to each VIP.");
	for (uint32_t v = 0; v < nv; v++)
		if (vi[v].name[0] && !percpu(bpf_map__fd(s->maps.vip_stats), v, &p, &by))
			mb_sample(b, "mplb_lb_vip_packets_total", (double)p, "vip", vi[v].name, NULL);
	mb_family(b, "mplb_lb_vip_bytes_total", "counter", "Bytes to each VIP.");
	for (uint32_t v = 0; v < nv; v++)
		if (vi[v].name[0] && !percpu(bpf_map__fd(s->maps.vip_stats), v, &p, &by))
			mb_sample(b, "mplb_lb_vip_bytes_total", (double)by, "vip", vi[v].name, NULL);

	struct backend_meta bm[MPLB_MAX_BACKENDS];
	struct backend be[MPLB_MAX_BACKENDS];
	for (uint32_t i = 0; i < MPLB_MAX_BACKENDS; i++) {
		memset(&bm[i], 0, sizeof(bm[i]));
		memset(&be[i], 0, sizeof(be[i]));
		bpf_map_lookup_elem(bpf_map__fd(s->maps.backend_meta), &i, &bm[i]);
		bpf_map_lookup_elem(bpf_map__fd(s->maps.backends), &i, &be[i]);
		bm[i].name[sizeof(bm[i].name) - 1] = 0;
	}
#define EACH_BACKEND(i) for (uint32_t i = 0; i < MPLB_MAX_BACKENDS; i++) if (bm[i].name[0] && (snprintf(id, sizeof(id), "%u", i), 1))
	mb_family(b, "mplb_lb_backend_packets_total", "counter", "Packets forwarded to each backend.");
	EACH_BACKEND(i)
	if (!percpu(bpf_map__fd(s->maps.backend_stats), i, &p, &by))
		mb_sample(b, "mplb_lb_backend_packets_total", (double)p, "backend", bm[i].name, "id", id, NULL);
	mb_family(b, "mplb_lb_backend_bytes_total", "counter", "Bytes forwarded to each backend.");
	EACH_BACKEND(i)
	if (!percpu(bpf_map__fd(s->maps.backend_stats), i, &p, &by))
		mb_sample(b, "mplb_lb_backend_bytes_total", (double)by, "backend", bm[i].name, "id", id, NULL);
	mb_family(b, "mplb_lb_backend_in_ring", "gauge",
		  "1 when the backend takes new connections (in the Maglev ring), 0 when draining or removed.");
	EACH_BACKEND(i)
	mb_sample(b, "mplb_lb_backend_in_ring", (be[i].flags & BACKEND_F_PRESENT) && !(be[i].flags & BACKEND_F_DRAINING),
		  "backend", bm[i].name, "id", id, NULL);
	mb_family(b, "mplb_lb_backend_health_up", "gauge",
		  "0 when this host's health checks drained the backend, else 1.");
	EACH_BACKEND(i)
	mb_sample(b, "mplb_lb_backend_health_up", !bm[i].health_down, "backend", bm[i].name, "id", id, NULL);
	mb_family(b, "mplb_lb_backend_removed", "gauge",
		  "1 while a backend removed from the config keeps its pinned connections (remove_grace_s).");
	EACH_BACKEND(i)
	mb_sample(b, "mplb_lb_backend_removed", bm[i].removed_ns != 0, "backend", bm[i].name, "id", id, NULL);
#undef EACH_BACKEND

	mb_family(b, "mplb_lb_tokens", "gauge", "MPTCP tokens known: learned from the wire, or pushed by the backends.");
	mb_sample(b, "mplb_lb_tokens", (double)lb_map_count(bpf_map__fd(s->maps.token_map)),
		  "source", "learned", NULL);
	mb_sample(b, "mplb_lb_tokens", (double)lb_map_count(bpf_map__fd(s->maps.token_sync)),
		  "source", "pushed", NULL);
	mb_family(b, "mplb_lb_join_flows", "gauge", "Join subflows pinned to a backend.");
	mb_sample(b, "mplb_lb_join_flows",
		  (double)lb_map_count(bpf_map__fd(s->maps.join_flows)), NULL);
	mb_family(b, "mplb_lb_lru_flows", "gauge", "Flows in the connection LRU.");
	mb_sample(b, "mplb_lb_lru_flows",
		  (double)lb_map_count(bpf_map__fd(s->maps.conn_lru)), NULL);
	mb_family(b, "mplb_lb_announced", "gauge", "1 while the VIP routes are in the announce table.");
	mb_sample(b, "mplb_lb_announced", m->announced, NULL);

	mb_family(b, "mplb_lb_sync_messages_total", "counter", "Token sync messages taken, per sending backend id.");
	struct sync_peer sp[MPLB_MAX_BACKENDS + 1];
	for (uint32_t i = 0; i <= MPLB_MAX_BACKENDS; i++) {
		memset(&sp[i], 0, sizeof(sp[i]));
		bpf_map_lookup_elem(bpf_map__fd(s->maps.sync_peers), &i, &sp[i]);
	}
	for (uint32_t i = 0; i < MPLB_MAX_BACKENDS; i++)
		if (sp[i].messages && snprintf(id, sizeof(id), "%u", i))
			mb_sample(b, "mplb_lb_sync_messages_total", (double)sp[i].messages, "backend_id", id, NULL);
	mb_family(b, "mplb_lb_sync_entries_total", "counter", "Token sync entries taken, per sending backend id.");
	for (uint32_t i = 0; i < MPLB_MAX_BACKENDS; i++)
		if (sp[i].messages && snprintf(id, sizeof(id), "%u", i))
			mb_sample(b, "mplb_lb_sync_entries_total", (double)sp[i].entries, "backend_id", id, NULL);
	mb_family(b, "mplb_lb_sync_rejected_total", "counter",
		  "Token sync messages refused, per claimed backend id (\"none\": no id) and reason.");
	for (uint32_t i = 0; i <= MPLB_MAX_BACKENDS; i++)
		for (int r = 0; r < SYNC_REJ_MAX; r++)
			if (sp[i].rejected[r]) {
				snprintf(id, sizeof(id), i < MPLB_MAX_BACKENDS ? "%u" : "none", i);
				mb_sample(b, "mplb_lb_sync_rejected_total", (double)sp[i].rejected[r],
					  "backend_id", id, "reason", reject_names[r], NULL);
			}
}

struct lb_metrics *lb_metrics_start(const struct lb_cfg *cfg, struct lb_runtime *rt)
{
	struct lb_metrics *m;

	if (!cfg->has_metrics)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->rt = rt;
	snprintf(m->name, sizeof(m->name), "%s", cfg->name);
	m->srv = mplb_metrics_start("lb", &cfg->metrics, render, m);
	if (!m->srv) {
		free(m);
		return NULL;
	}
	return m;
}

void lb_metrics_set_announced(struct lb_metrics *m, bool on)
{
	if (m)
		m->announced = on;
}

void lb_metrics_stop(struct lb_metrics *m)
{
	if (!m)
		return;
	mplb_metrics_stop(m->srv);
	free(m);
}
