// SPDX-License-Identifier: MIT
/*
 * The attribute-aware policy units (make-after-break, make-before-break,
 * priority, community) composed with spread, driven by a fake kernel and a
 * fake clock: which subflows open, with which backup flag, where a failover
 * goes, what is withdrawn, and how wire/config attributes and their timing
 * reach the units.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "client/model.h"

#define TOKEN 0x1a2b3c4d
#define PRIMARY "10.82.100.2"
#define BK_HI "10.82.100.3"
#define BK_LO "10.82.200.2"

struct call {
	char laddr[32], raddr[32];
	int ifindex;
	bool backup;
};

static struct {
	struct call creates[16];
	int n_creates, n_destroys;
	struct call flags[16];
	int n_flags;
	uint8_t withdrawn[8];
	int n_withdrawn;
	int n_probes;
} fk;

static void rec(struct call *c, const struct mptcp_pm_nl_addr *l, const struct mptcp_pm_nl_addr *r)
{
	inet_ntop(l->family, &l->addr, c->laddr, sizeof(c->laddr));
	inet_ntop(r->family, &r->addr, c->raddr, sizeof(c->raddr));
	c->ifindex = l->ifindex;
	c->backup = l->flags & MPTCP_PM_ADDR_FLAG_BACKUP;
}

static int f_create(struct cl_ctx *ctx, uint32_t token, const struct mptcp_pm_nl_addr *l,
		    const struct mptcp_pm_nl_addr *r)
{
	(void)ctx; (void)token;
	if (fk.n_creates < 16)
		rec(&fk.creates[fk.n_creates], l, r);
	fk.n_creates++;
	return 0;
}

static int f_destroy(struct cl_ctx *ctx, uint32_t token, const struct mptcp_pm_nl_addr *l,
		     const struct mptcp_pm_nl_addr *r)
{
	(void)ctx; (void)token; (void)l; (void)r;
	fk.n_destroys++;
	return 0;
}

static int f_set_backup(struct cl_ctx *ctx, uint32_t token, const struct mptcp_pm_nl_addr *l,
			const struct mptcp_pm_nl_addr *r, bool backup)
{
	(void)ctx; (void)token;
	if (fk.n_flags < 16) {
		rec(&fk.flags[fk.n_flags], l, r);
		fk.flags[fk.n_flags].backup = backup;
	}
	fk.n_flags++;
	return 0;
}

static int f_withdraw(struct cl_ctx *ctx, uint32_t token, uint8_t id)
{
	(void)ctx; (void)token;
	if (fk.n_withdrawn < 8)
		fk.withdrawn[fk.n_withdrawn] = id;
	fk.n_withdrawn++;
	return 0;
}

static int f_probe(struct cl_ctx *ctx, const struct cl_subflow *sf)
{
	(void)ctx; (void)sf;
	fk.n_probes++;
	return 0;
}

static struct cl_ctx ctx;

static void setup_units(const char *policy, void (*tweak)(struct cl_config *))
{
	struct cl_config cfg;
	struct cl_executor ex = {f_create, f_destroy, NULL, NULL, NULL, f_set_backup, f_withdraw, f_probe};
	const struct cl_policy_ops *units[CL_MAX_UNITS];
	char err[200];
	struct in_addr a;

	memset(&fk, 0, sizeof(fk));
	cl_config_defaults(&cfg);
	if (tweak)
		tweak(&cfg);
	int n = cl_policy_resolve(policy, units, CL_MAX_UNITS, err, sizeof(err));
	assert_true(n > 0);
	cl_ctx_init(&ctx, &cfg, units[0], &ex);
	for (int i = 1; i < n; i++)
		cl_ctx_add_unit(&ctx, units[i]);
	ctx.now = 100;
	cl_uplink_update(&ctx, 2, "c1", true);
	inet_pton(AF_INET, "10.82.1.2", &a);
	cl_uplink_addr(&ctx, 2, AF_INET, &a, true);
	cl_uplink_update(&ctx, 3, "c2", true);
	inet_pton(AF_INET, "10.82.2.2", &a);
	cl_uplink_addr(&ctx, 3, AF_INET, &a, true);
}

static int teardown(void **state)
{
	(void)state;
	cl_ctx_free(&ctx);
	return 0;
}

static void established(void)
{
	struct mptcp_pm_nl_event ev = {.type = MPTCP_EVENT_ESTABLISHED, .token = TOKEN,
				       .family = AF_INET, .sport = 40000, .dport = 80};
	inet_pton(AF_INET, "10.82.1.2", &ev.saddr.v4);
	inet_pton(AF_INET, PRIMARY, &ev.daddr.v4);
	cl_on_pm_event(&ctx, &ev);
}

static void announce(uint8_t id, const char *addr)
{
	struct mptcp_pm_nl_event ev = {.type = MPTCP_EVENT_ANNOUNCED, .token = TOKEN,
				       .family = AF_INET, .rem_id = id, .has_rem_id = true,
				       .has_daddr = true};
	inet_pton(AF_INET, addr, &ev.daddr.v4);
	cl_on_pm_event(&ctx, &ev);
}

static void wire_attr(uint8_t id, unsigned comm, unsigned prio, int backup)
{
	union mptcp_pm_nl_inaddr z = {0};
	cl_on_attr(&ctx, TOKEN, AF_INET, &z, &z, 0, 0, id, addr_attr_octet(comm, prio, backup),
		   CL_ATTR_WIRE);
}

static void sub_event(uint8_t type, const char *laddr, uint16_t lport, const char *raddr,
		      uint8_t error)
{
	struct mptcp_pm_nl_event ev = {.type = type, .token = TOKEN, .family = AF_INET,
				       .sport = lport, .dport = 80, .error = error,
				       .has_error = error != 0};
	inet_pton(AF_INET, laddr, &ev.saddr.v4);
	inet_pton(AF_INET, raddr, &ev.daddr.v4);
	cl_on_pm_event(&ctx, &ev);
}

/* The three addresses of the make-after-break scenario, attributes on the wire. */
static void mab_scenario(void)
{
	wire_attr(0, 1, 7, 0);	/* the SYN/ACK's pair, before the connection exists */
	established();
	wire_attr(1, 1, 6, 1);	/* inline with its ADD_ADDR: read before ANNOUNCED */
	announce(1, BK_HI);
	announce(2, BK_LO);
	wire_attr(2, 2, 3, 1);	/* an IPv6-style carrier: just after ANNOUNCED */
}

static void test_resolve(void **state)
{
	(void)state;
	const struct cl_policy_ops *u[CL_MAX_UNITS];
	char err[200];
	assert_int_equal(cl_policy_resolve("community, priority,make-after-break", u, CL_MAX_UNITS,
					   err, sizeof(err)), 4);
	assert_string_equal(u[0]->name, "community");
	assert_string_equal(u[3]->name, "spread");
	assert_int_equal(cl_policy_resolve("spread", u, CL_MAX_UNITS, err, sizeof(err)), 1);
	assert_int_equal(cl_policy_resolve("spread, priority", u, CL_MAX_UNITS, err, sizeof(err)), 2);
	assert_string_equal(u[1]->name, "spread"); /* spread fills last */
	assert_int_equal(cl_policy_resolve("make-after-brake", u, CL_MAX_UNITS, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "make-after-brake"));
}

static void test_mab_failover_other_community(void **state)
{
	(void)state;
	setup_units("make-after-break", NULL);
	mab_scenario();
	assert_int_equal(fk.n_creates, 0); /* one subflow; backups only after a break */
	struct cl_conn *c = cl_conn_find(&ctx, TOKEN);
	assert_non_null(c);
	assert_int_equal(c->remotes[0].attr.source, CL_ATTR_WIRE); /* the orphan was claimed */
	assert_int_equal(c->remotes[0].attr.prio, 7);

	ctx.now += 1;
	cl_uplink_update(&ctx, 2, "c1", false);
	assert_int_equal(fk.n_destroys, 1); /* the dead initial subflow */
	assert_int_equal(fk.n_creates, 1);
	/* Not backup-hi (prio 6, the lost primary's community): backup-lo, from c2, active. */
	assert_string_equal(fk.creates[0].raddr, BK_LO);
	assert_int_equal(fk.creates[0].ifindex, 3);
	assert_false(fk.creates[0].backup);
	assert_int_equal(fk.n_withdrawn, 0); /* not before the new subflow is up */

	ctx.now += 0.002;
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 5555, BK_LO, 0);
	assert_int_equal(fk.n_withdrawn, 1);
	assert_int_equal(fk.withdrawn[0], 0); /* the initial subflow's local id */
	assert_int_equal(fk.n_flags, 1);	/* the nudge: an ACK on the new subflow */
	assert_string_equal(fk.flags[0].raddr, BK_LO);
	assert_false(fk.flags[0].backup);

	/* Healthy again: c1 returns, nothing more opens (keep one). */
	cl_uplink_update(&ctx, 2, "c1", true);
	assert_int_equal(fk.n_creates, 1);
}

static void keep_non_backup(struct cl_config *cfg) { cfg->keep_non_backup = true; }

static void test_mab_keep_non_backup(void **state)
{
	(void)state;
	setup_units("make-after-break", keep_non_backup);
	mab_scenario();
	/* The primary from c2 (non-backup); no backup address. */
	assert_int_equal(fk.n_creates, 1);
	assert_string_equal(fk.creates[0].raddr, PRIMARY);
	assert_int_equal(fk.creates[0].ifindex, 3);
}

static void test_mab_stock_peer(void **state)
{
	(void)state;
	setup_units("make-after-break", NULL);
	established();
	announce(1, BK_HI);
	announce(2, BK_LO);
	assert_int_equal(fk.n_creates, 0);
	ctx.now += 1; /* attr_wait_ms passes without attributes */
	cl_tick(&ctx);
	assert_int_equal(ctx.attr_stats.waited_out, 2);
	assert_int_equal(fk.n_creates, 0); /* still one subflow */
	cl_uplink_update(&ctx, 2, "c1", false);
	/* Legacy addresses: each its own community; not the lost address; lowest id. */
	assert_int_equal(fk.n_creates, 1);
	assert_string_equal(fk.creates[0].raddr, BK_HI);
	assert_int_equal(fk.creates[0].ifindex, 3);
}

static void test_mbb_standby_and_promotion(void **state)
{
	(void)state;
	setup_units("make-before-break", NULL);
	mab_scenario();
	/*
	 * The standby: a backup in another community than the active path's
	 * (backup-lo, though backup-hi ranks higher: it shares the primary's
	 * fate), from the other uplink, flagged. backup-hi came first and held
	 * the place until backup-lo's attributes were known.
	 */
	assert_int_equal(fk.n_creates, 2);
	assert_string_equal(fk.creates[0].raddr, BK_HI);
	assert_string_equal(fk.creates[1].raddr, BK_LO);
	assert_int_equal(fk.creates[1].ifindex, 3);
	assert_true(fk.creates[1].backup);
	/* backup-hi's SYN was out when it was replaced: it comes up, and is closed then. */
	assert_int_equal(fk.n_destroys, 0);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 6001, BK_HI, 0);
	assert_int_equal(fk.n_destroys, 1);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 6000, BK_LO, 0);

	cl_uplink_update(&ctx, 2, "c1", false);
	/* Promoted: MP_PRIO backup off; the dead id 0 withdrawn first. */
	assert_int_equal(fk.n_withdrawn, 1);
	assert_int_equal(fk.withdrawn[0], 0);
	assert_true(fk.n_flags >= 1);
	assert_string_equal(fk.flags[0].raddr, BK_LO);
	assert_false(fk.flags[0].backup);
	/* And a new standby (only c2 is left): backup-hi, flagged. */
	assert_int_equal(fk.n_creates, 3);
	assert_string_equal(fk.creates[2].raddr, BK_HI);
	assert_true(fk.creates[2].backup);
}

static void test_priority_classes(void **state)
{
	(void)state;
	setup_units("priority", NULL);
	wire_attr(0, 1, 7, 0);
	established();
	wire_attr(1, 1, 4, 0);
	announce(1, BK_HI);
	wire_attr(2, 2, 1, 0);
	announce(2, BK_LO);
	/* c2 -> primary active; c1/c2 -> prio 4 and prio 1 as backups. */
	assert_int_equal(fk.n_creates, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fk.creates[i].backup, strcmp(fk.creates[i].raddr, PRIMARY) != 0);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 5000, PRIMARY, 0);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.1.2", 5001, BK_HI, 0);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 5002, BK_HI, 0);
	assert_int_equal(fk.n_flags, 0);
	/* Both primary subflows go: the prio-4 ones become active (MP_PRIO). */
	sub_event(MPTCP_EVENT_SUB_CLOSED, "10.82.2.2", 5000, PRIMARY, 104);
	sub_event(MPTCP_EVENT_SUB_CLOSED, "10.82.1.2", 40000, PRIMARY, 104);
	int promoted = 0;
	for (int i = 0; i < fk.n_flags && i < 16; i++)
		if (!strcmp(fk.flags[i].raddr, BK_HI) && !fk.flags[i].backup)
			promoted++;
	assert_int_equal(promoted, 2);
}

static void test_community_one_each(void **state)
{
	(void)state;
	setup_units("community", NULL);
	wire_attr(0, 1, 5, 0);
	established();
	wire_attr(1, 1, 5, 0);
	announce(1, BK_HI);	/* community 1: covered by the initial subflow */
	wire_attr(2, 2, 5, 0);
	announce(2, BK_LO);	/* community 2: one subflow, from the idle uplink */
	wire_attr(3, 2, 5, 0);
	announce(3, "10.82.200.3");
	assert_int_equal(fk.n_creates, 1);
	assert_string_equal(fk.creates[0].raddr, BK_LO);
	assert_int_equal(fk.creates[0].ifindex, 3);
	/* Without the unit: spread opens every pair it can. */
	cl_ctx_free(&ctx);
	setup_units("spread", NULL);
	established();
	announce(1, BK_HI);
	announce(2, BK_LO);
	assert_int_equal(fk.n_creates, 5);
}

/* Priorities only (community 0 on the wire): each address is its own community, not one shared. */
static void test_community_zero_is_none(void **state)
{
	(void)state;
	setup_units("community", NULL);
	wire_attr(0, 0, 7, 0);
	established();
	wire_attr(1, 0, 5, 0);
	announce(1, BK_HI);
	wire_attr(2, 0, 3, 0);
	announce(2, BK_LO);
	/* One subflow to each announced address (the initial one covers only its own). */
	assert_int_equal(fk.n_creates, 2);
}

/* ---- dark paths: tcp_info samples of the initial subflow (10.82.1.2:40000 -> PRIMARY:80) ---- */

static struct cl_tcp_sample tcp_s;

static void sample(double dt_ms)
{
	ctx.now += dt_ms / 1000;
	tcp_s.family = AF_INET;
	inet_pton(AF_INET, "10.82.1.2", &tcp_s.laddr.v4);
	inet_pton(AF_INET, PRIMARY, &tcp_s.raddr.v4);
	tcp_s.lport = 40000, tcp_s.rport = 80;
	tcp_s.rtt_us = 1000;
	cl_on_tcp_sample(&ctx, &tcp_s);
}

/* Make-after-break on the scenario's connection, its initial subflow never sampled yet. */
static void dark_setup(void (*tweak)(struct cl_config *))
{
	memset(&tcp_s, 0, sizeof(tcp_s));
	setup_units("make-after-break", tweak);
	mab_scenario();
}

/* A download in progress: data arrives on every 20 ms sample. */
static void streaming(int n)
{
	for (int i = 0; i < n; i++) {
		tcp_s.bytes_received += 100000;
		tcp_s.segs_in += 70;
		tcp_s.last_data_recv_ms = 0;
		sample(20);
	}
}

/* The download stops arriving for ms (20 ms samples); the answer to a probe, if asked. */
static void silence(int ms, bool answer)
{
	for (int t = 0; t < ms; t += 20) {
		tcp_s.last_data_recv_ms += 20;
		if (answer && fk.n_probes)
			tcp_s.segs_in++;
		sample(20);
	}
}

static void test_dark_download_fails_over(void **state)
{
	(void)state;
	dark_setup(NULL);
	assert_true(cl_health_wanted(&ctx));
	streaming(6);
	assert_int_equal(fk.n_probes, 0);
	silence(60, false);
	assert_int_equal(fk.n_probes, 1); /* the stream stopped for dark_after_ms: probe */
	assert_int_equal(fk.n_creates, 0);
	silence(40, false);
	/* No answer in probe_wait_ms: dark; the failover, not the dark subflow's close. */
	assert_int_equal(fk.n_creates, 1);
	assert_string_equal(fk.creates[0].raddr, BK_LO);
	assert_int_equal(fk.creates[0].ifindex, 3);
	assert_int_equal(fk.n_destroys, 0);
	struct cl_conn *c = cl_conn_find(&ctx, TOKEN);
	assert_true(c->bk.break_at < c->bk.noticed_at); /* timed from when the path went quiet */
	ctx.now += 0.002;
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 5555, BK_LO, 0);
	/* The failover is up: the dark subflow closes, its address is withdrawn. */
	assert_int_equal(fk.n_destroys, 1);
	assert_int_equal(fk.n_withdrawn, 1);
	assert_int_equal(fk.withdrawn[0], 0);
}

/* After a failover, the better address is tried again, and takes over once it has stayed up. */
static void test_return_after_failover(void **state)
{
	(void)state;
	dark_setup(NULL);
	streaming(6);
	silence(100, false);
	assert_int_equal(fk.n_creates, 1); /* the failover to backup-lo */
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.2.2", 5555, BK_LO, 0);
	sub_event(MPTCP_EVENT_SUB_CLOSED, "10.82.1.2", 40000, PRIMARY, 0); /* the dark one, destroyed */
	ctx.now += 1.0;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 1); /* not before the hold (2 s) */
	ctx.now += 1.1;
	cl_tick(&ctx);
	/* The trial: the primary again, from the idle uplink, flagged backup. */
	assert_int_equal(fk.n_creates, 2);
	assert_string_equal(fk.creates[1].raddr, PRIMARY);
	assert_true(fk.creates[1].backup);
	/* Not up within 5 s: not back; the next try waits twice as long. */
	ctx.now += 5.1;
	cl_tick(&ctx);
	ctx.now += 3.0;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 2);
	ctx.now += 1.1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 3);
	assert_string_equal(fk.creates[2].raddr, PRIMARY);
	ctx.now += 0.01;
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.82.1.2", 41000, PRIMARY, 0);
	int flags0 = fk.n_flags;
	ctx.now += 0.5;
	cl_tick(&ctx);
	assert_int_equal(fk.n_flags, flags0); /* settling */
	ctx.now += 0.6;
	cl_tick(&ctx);
	/* Back: the primary's backup flag off, the failover's on, then the failover closes. */
	assert_int_equal(fk.n_flags, flags0 + 2);
	assert_string_equal(fk.flags[flags0].raddr, PRIMARY);
	assert_false(fk.flags[flags0].backup);
	assert_string_equal(fk.flags[flags0 + 1].raddr, BK_LO);
	assert_true(fk.flags[flags0 + 1].backup);
	int destroys0 = fk.n_destroys;
	ctx.now += 1.1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_destroys, destroys0 + 1);
}

static void test_dark_pause_is_not_a_break(void **state)
{
	(void)state;
	dark_setup(NULL);
	streaming(6);
	silence(300, true); /* the sender paused; the probe is answered */
	assert_int_equal(fk.n_probes, 1);
	assert_int_equal(fk.n_creates, 0);
	silence(400, true); /* no new stream, no second probe before the idle interval */
	assert_int_equal(fk.n_probes, 1);
	assert_int_equal(fk.n_creates, 0);
}

static void test_dark_upload_and_back(void **state)
{
	(void)state;
	dark_setup(NULL);
	sample(20);
	tcp_s.unacked = 30;
	tcp_s.last_ack_recv_ms = 20;
	tcp_s.bytes_acked += 1000;
	sample(20);
	assert_int_equal(fk.n_probes, 0);
	tcp_s.last_ack_recv_ms = 60; /* in flight, no ACK for dark_after_ms: loss or a dark path? */
	sample(20);
	assert_int_equal(fk.n_probes, 1);
	assert_int_equal(fk.n_creates, 0);
	tcp_s.last_ack_recv_ms = 100; /* the probe is not answered either: dark */
	sample(40);
	assert_int_equal(fk.n_creates, 1);
	struct cl_conn *c = cl_conn_find(&ctx, TOKEN);
	struct cl_subflow *sf = &c->subflows[0];
	assert_true(sf->hl.dark);
	/* ACKs again before the failover is up: back, nothing withdrawn. */
	tcp_s.bytes_acked += 5000;
	tcp_s.last_ack_recv_ms = 0;
	sample(20);
	assert_false(sf->hl.dark);
	assert_int_equal(fk.n_withdrawn, 0);
	assert_int_equal(fk.n_destroys, 0);
}

static void idle_probes(struct cl_config *cfg)
{
	cfg->idle_probe_ms = 1000;
}

/* Loss recovery: in flight, no ACK for a while, but the probe is answered: not dark. */
static void test_dark_loss_is_not_a_break(void **state)
{
	(void)state;
	dark_setup(NULL);
	sample(20);
	tcp_s.unacked = 30;
	tcp_s.last_ack_recv_ms = 60;
	sample(20);
	assert_int_equal(fk.n_probes, 1);
	tcp_s.segs_in++; /* the peer's answer */
	tcp_s.last_ack_recv_ms = 100;
	sample(40);
	tcp_s.last_ack_recv_ms = 150;
	sample(50);
	assert_int_equal(fk.n_creates, 0);
	tcp_s.bytes_acked += 3000; /* the retransmission is acknowledged */
	tcp_s.last_ack_recv_ms = 0;
	sample(20);
	assert_int_equal(fk.n_creates, 0);
}

static void test_dark_idle_probe(void **state)
{
	(void)state;
	dark_setup(idle_probes);
	sample(20);
	for (int i = 0; i < 52; i++)
		sample(20);
	assert_int_equal(fk.n_probes, 1); /* idle for a second: one probe */
	for (int i = 0; i < 4; i++)
		sample(20);
	assert_int_equal(fk.n_creates, 1); /* unanswered: dark while idle, failover */
}

static void static_attrs(struct cl_config *cfg)
{
	struct cl_static_attr *st = &cfg->static_attrs[cfg->n_static_attrs++];
	st->family = AF_INET;
	inet_pton(AF_INET, BK_LO, &st->addr.v4);
	st->attr = (struct cl_attr){.source = CL_ATTR_CONFIG, .backup = true, .prio = 1, .community = 9};
}

static void test_attr_timing_and_sources(void **state)
{
	(void)state;
	setup_units("community", static_attrs);
	established();
	announce(2, BK_LO);
	struct cl_conn *c = cl_conn_find(&ctx, TOKEN);
	struct cl_remote *r = NULL;
	for (int i = 0; i < CL_MAX_REMOTES; i++)
		if (c->remotes[i].used && c->remotes[i].id == 2)
			r = &c->remotes[i];
	assert_non_null(r);
	assert_int_equal(r->attr.source, CL_ATTR_CONFIG); /* the stand-in, at once */
	assert_true(r->attr_deadline > 0);		  /* still waiting for the wire */
	assert_int_equal(fk.n_creates, 0);
	wire_attr(2, 3, 5, 0);				  /* the wire wins over the config */
	assert_int_equal(r->attr.source, CL_ATTR_WIRE);
	assert_int_equal(r->attr.community, 3);
	assert_int_equal(r->attr_deadline, 0);
	assert_int_equal(fk.n_creates, 1);		  /* decided as soon as it came */
	announce(2, BK_LO); /* a retransmission changes nothing */
	assert_int_equal(r->attr.source, CL_ATTR_WIRE);
	/* Attributes for a token nobody knows expire after 5 s. */
	cl_on_attr(&ctx, 0xdead, AF_INET, &r->addr, &r->addr, 1, 2, 1, 0x11, CL_ATTR_WIRE);
	assert_int_equal(ctx.attr_stats.orphaned, 1);
	ctx.now += 6;
	cl_tick(&ctx);
	assert_int_equal(ctx.attr_stats.expired, 1);
}

/*
 * cross_family: an IPv6 connection to a server that set the C bit. Under the
 * port scheme only the IPv4 join port is announced (the IPv6 ADD_ADDR with a
 * port does not fit beside timestamps): fallback uses it from every uplink
 * after the hold; when an IPv6 address follows within the hold (per-server
 * announces v4 then v6) the IPv4 one is left alone; `no` never uses it.
 */
#define VIP6 "fd82:200::1"
#define SRV6 "fd82:100::2"

static void v6_uplinks(void)
{
	struct in6_addr a6;
	inet_pton(AF_INET6, "fd82:1::2", &a6);
	cl_uplink_addr(&ctx, 2, AF_INET6, &a6, true);
	inet_pton(AF_INET6, "fd82:2::2", &a6);
	cl_uplink_addr(&ctx, 3, AF_INET6, &a6, true);
}

static void established6_cbit(void)
{
	struct mptcp_pm_nl_event ev = {.type = MPTCP_EVENT_ESTABLISHED, .token = TOKEN,
				       .family = AF_INET6, .sport = 40000, .dport = 80,
				       .flags = MPTCP_PM_EV_FLAG_DENY_JOIN_ID0};
	inet_pton(AF_INET6, "fd82:1::2", &ev.saddr.v6);
	inet_pton(AF_INET6, VIP6, &ev.daddr.v6);
	cl_on_pm_event(&ctx, &ev);
}

static void announce_port(uint8_t id, int family, const char *addr, uint16_t port)
{
	struct mptcp_pm_nl_event ev = {.type = MPTCP_EVENT_ANNOUNCED, .token = TOKEN,
				       .family = family, .rem_id = id, .has_rem_id = true,
				       .has_daddr = true, .dport = port, .has_dport = port != 0};
	inet_pton(family, addr, family == AF_INET ? (void *)&ev.daddr.v4 : (void *)&ev.daddr.v6);
	cl_on_pm_event(&ctx, &ev);
}

static void cross_no(struct cl_config *cfg) { cfg->cross_family = CL_CROSS_NO; }

static void test_cross_family_fallback(void **state)
{
	(void)state;
	/* port scheme: only VIP4:20001 comes */
	setup_units("spread", NULL);
	assert_int_equal(ctx.cfg.cross_family, CL_CROSS_FALLBACK); /* the default */
	v6_uplinks();
	established6_cbit();
	announce_port(1, AF_INET, PRIMARY, 20001);
	assert_int_equal(fk.n_creates, 0); /* held for an IPv6 announcement */
	ctx.now += 0.1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 0);
	ctx.now += 0.1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 2); /* IPv4 subflows from both uplinks */
	assert_string_equal(fk.creates[0].raddr, PRIMARY);
	assert_string_equal(fk.creates[1].raddr, PRIMARY);
	assert_int_not_equal(fk.creates[0].ifindex, fk.creates[1].ifindex);
	cl_ctx_free(&ctx);

	/* per-server: v4 then v6 within the hold: only the IPv6 address is used */
	setup_units("spread", NULL);
	v6_uplinks();
	established6_cbit();
	announce_port(1, AF_INET, BK_HI, 0);
	ctx.now += 0.01;
	announce_port(2, AF_INET6, SRV6, 0);
	assert_int_equal(fk.n_creates, 2);
	ctx.now += 1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 2);
	assert_string_equal(fk.creates[0].raddr, SRV6);
	assert_string_equal(fk.creates[1].raddr, SRV6);
	cl_ctx_free(&ctx);

	/* cross_family = no: the port scheme's IPv6 connection stays on one path */
	setup_units("spread", cross_no);
	v6_uplinks();
	established6_cbit();
	announce_port(1, AF_INET, PRIMARY, 20001);
	ctx.now += 1;
	cl_tick(&ctx);
	assert_int_equal(fk.n_creates, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test_teardown(test_mab_failover_other_community, teardown),
		cmocka_unit_test_teardown(test_mab_keep_non_backup, teardown),
		cmocka_unit_test_teardown(test_mab_stock_peer, teardown),
		cmocka_unit_test_teardown(test_mbb_standby_and_promotion, teardown),
		cmocka_unit_test_teardown(test_priority_classes, teardown),
		cmocka_unit_test_teardown(test_community_one_each, teardown),
		cmocka_unit_test_teardown(test_community_zero_is_none, teardown),
		cmocka_unit_test_teardown(test_dark_download_fails_over, teardown),
		cmocka_unit_test_teardown(test_return_after_failover, teardown),
		cmocka_unit_test_teardown(test_dark_pause_is_not_a_break, teardown),
		cmocka_unit_test_teardown(test_dark_upload_and_back, teardown),
		cmocka_unit_test_teardown(test_dark_loss_is_not_a_break, teardown),
		cmocka_unit_test_teardown(test_dark_idle_probe, teardown),
		cmocka_unit_test_teardown(test_attr_timing_and_sources, teardown),
		cmocka_unit_test_teardown(test_cross_family_fallback, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
