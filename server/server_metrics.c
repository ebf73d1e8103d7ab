// SPDX-License-Identifier: MIT
/*
 * The agent's Prometheus metrics ([server] metrics = ADDR:PORT): its BPF
 * counters (TSecr encoded and restored, ADD_ADDR sent and echoed, joins,
 * decapsulation), the namespace's MPTCP counters (subflows, joins,
 * announcements), its health verdict and its token sync.
 */
#include "server_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/server_agent.skel.h"

#include "metrics.h"
#include "server_int.h"
#include "util.h"

#define SRV_STAT_NAME_(id, name) name,
static const char *const stat_names[] = {SRV_STATS(SRV_STAT_NAME_)};

/* The kernel's MPTcpExt counters worth watching on a backend. */
static const char *const mib_names[] = {
	"AddAddrTx", "AddAddrTxDrop", "EchoAdd", "AddAddr", "EchoAddTx", "MPJoinSynRx",
	"MPJoinAckRx", "MPJoinPortSynRx", "MPJoinNoTokenFound", "MPJoinRejected",
	"MPCapableSYNRX", "MPCapableACKRX", "MPPrioTx", "RmSubflow", NULL};

struct srv_metrics {
	struct mplb_metrics *srv;
	struct agent *a;
};

static void render(struct metrics_buf *b, void *arg)
{
	struct srv_metrics *m = arg;
	struct agent *a = m->a;
	struct srv_mib mib;

	mb_build_info(b, "server");
	mb_family(b, "mplb_server_ready", "gauge",
		  "1 when the agent reports ready on its health endpoint (VIPs, listeners, programs, endpoints).");
	mb_sample(b, "mplb_server_ready", a->health.ready, "name", a->cfg.name, NULL);
	if (a->bpf_loaded) {
		mb_family(b, "mplb_server_bpf_events_total", "counter",
			  "Events of the agent's tc programs: TSecr encoded/restored, ADD_ADDR sent/echoed, joins, decapsulation.");
		for (uint32_t i = 0; i < SRV_STAT_MAX; i++) {
			uint64_t v;
			if (srv_percpu_sum(bpf_map__fd(a->bpf.skel->maps.srv_stats), i, &v) == 0)
				mb_sample(b, "mplb_server_bpf_events_total", (double)v, "event", stat_names[i], NULL);
		}
	}
	if (srv_mib_read(&mib) == 0) {
		mb_family(b, "mplb_server_mptcp_total", "counter", "The namespace's MPTcpExt counters (nstat).");
		for (int i = 0; mib_names[i]; i++)
			mb_sample(b, "mplb_server_mptcp_total", (double)srv_mib_get(&mib, mib_names[i]), "counter",
				  mib_names[i], NULL);
		mb_family(b, "mplb_server_mptcp_connections", "gauge",
			  "MPTCP connections established now (MPTcpExtMPCurrEstab).");
		mb_sample(b, "mplb_server_mptcp_connections", (double)srv_mib_get(&mib, "MPCurrEstab"), NULL);
	}
	const struct srv_sync_stats *st = srv_sync_stats(a->sync);
	if (st) {
		mb_family(b, "mplb_server_sync_messages_total", "counter", "Token sync messages sent (each LB host counts).");
		mb_sample(b, "mplb_server_sync_messages_total", (double)st->messages, NULL);
		mb_family(b, "mplb_server_sync_entries_total", "counter", "Token sync entries sent (once per message batch).");
		mb_sample(b, "mplb_server_sync_entries_total", (double)st->entries, NULL);
		mb_family(b, "mplb_server_sync_send_errors_total", "counter", "Token sync datagrams the kernel refused to send.");
		mb_sample(b, "mplb_server_sync_send_errors_total", (double)st->send_errors, NULL);
		mb_family(b, "mplb_server_sync_tokens", "gauge", "Tokens in the last snapshot.");
		mb_sample(b, "mplb_server_sync_tokens", (double)st->last_tokens, NULL);
		mb_family(b, "mplb_server_sync_join_flows", "gauge", "Join subflows to a VIP in the last snapshot.");
		mb_sample(b, "mplb_server_sync_join_flows", (double)st->last_flows, NULL);
	}
}

struct srv_metrics *srv_metrics_start(struct agent *a)
{
	struct srv_metrics *m;

	if (!a->cfg.has_metrics)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->a = a;
	m->srv = mplb_metrics_start("server", &a->cfg.metrics, render, m);
	if (!m->srv) {
		free(m);
		return NULL;
	}
	return m;
}

void srv_metrics_stop(struct srv_metrics *m)
{
	if (!m)
		return;
	mplb_metrics_stop(m->srv);
	free(m);
}
