// SPDX-License-Identifier: MIT
/*
 * Unit tests of the mplb client: the mptcp_pm netlink codec (event parsing,
 * request encoding and its byte-order traps) and the core + spread policy
 * driven by a fake executor and a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <string.h>

#include "client/model.h"
#include "mptcp_pm_nl.h"

/* ---- codec ------------------------------------------------------------- */

static struct nlmsghdr *event_msg(char *buf, uint8_t type)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 0x20;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = type;
	g->version = 1;
	return nlh;
}

static void test_parse_announced_infers_family_and_port_order(void **state)
{
	(void)state;
	char buf[512];
	struct mptcp_pm_nl_event ev;
	struct in_addr a = {htonl(0x0a516502)};
	struct nlmsghdr *nlh = event_msg(buf, MPTCP_EVENT_ANNOUNCED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 0x1a2b3c4d);
	mnl_attr_put_u8(nlh, MPTCP_ATTR_REM_ID, 7);
	mnl_attr_put(nlh, MPTCP_ATTR_DADDR4, 4, &a);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_DPORT, htons(8080)); /* big-endian on the wire */

	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), 0);
	assert_int_equal(ev.type, MPTCP_EVENT_ANNOUNCED);
	assert_int_equal(ev.token, 0x1a2b3c4d);
	assert_int_equal(ev.family, AF_INET); /* no FAMILY attribute was sent */
	assert_true(ev.has_rem_id);
	assert_int_equal(ev.rem_id, 7);
	assert_int_equal(ev.dport, 8080);
	assert_int_equal(ev.daddr.v4.s_addr, a.s_addr);
}

static void test_parse_flags_deny_and_server_side(void **state)
{
	(void)state;
	char buf[512];
	struct mptcp_pm_nl_event ev;
	struct nlmsghdr *nlh = event_msg(buf, MPTCP_EVENT_ESTABLISHED);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FLAGS, 0x3);
	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), 0);
	assert_true(ev.flags & MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	assert_true(ev.server_side);

	nlh = event_msg(buf, MPTCP_EVENT_CREATED);
	mnl_attr_put_u8(nlh, MPLB_ATTR_SERVER_SIDE, 1); /* pre-6.18 encoding */
	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), 0);
	assert_true(ev.server_side);

	nlh = event_msg(buf, MPTCP_EVENT_CREATED);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_DADDR4, 1); /* wrong length */
	assert_int_equal(mptcp_pm_nl_event_parse(nlh, &ev), -EINVAL);
}

static void test_request_port_is_host_order(void **state)
{
	(void)state;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mptcp_pm_nl_addr l = {.family = AF_INET, .id = 3, .ifindex = 5};
	struct mptcp_pm_nl_addr r = {.family = AF_INET6, .port = 8080};
	inet_pton(AF_INET, "10.81.2.2", &l.addr.v4);
	inet_pton(AF_INET6, "fd81:101::2", &r.addr.v6);
	struct nlmsghdr *nlh = mptcp_pm_nl_build_request(buf, 0x21, MPTCP_PM_CMD_SUBFLOW_CREATE,
							 9, 0xabcd, &l, &r);
	const struct nlattr *a;
	int seen = 0;
	mnl_attr_for_each(a, nlh, GENL_HDRLEN) {
		struct mptcp_pm_nl_addr got;
		switch (mnl_attr_get_type(a)) {
		case MPTCP_PM_ATTR_TOKEN:
			assert_int_equal(mnl_attr_get_u32(a), 0xabcd);
			seen |= 1;
			break;
		case MPTCP_PM_ATTR_ADDR:
			assert_int_equal(mptcp_pm_nl_addr_parse(a, &got), 0);
			assert_int_equal(got.id, 3);
			assert_int_equal(got.ifindex, 5);
			assert_int_equal(got.addr.v4.s_addr, l.addr.v4.s_addr);
			seen |= 2;
			break;
		case MPTCP_PM_ATTR_ADDR_REMOTE:
			assert_int_equal(mptcp_pm_nl_addr_parse(a, &got), 0);
			assert_int_equal(got.family, AF_INET6);
			assert_int_equal(got.port, 8080); /* not htons(8080) */
			seen |= 4;
			break;
		}
	}
	assert_int_equal(seen, 7);
}

/* ---- core + spread policy with a fake kernel ---------------------------- */

struct fake {
	int creates, destroys;
	int fail_next;		/* errno to return from the next create */
	bool no_route;
	struct mptcp_pm_nl_addr last_l, last_r;
	uint8_t ids[8];
	struct in_addr laddrs[8];	/* local address of each create */
};
static struct fake fk;

static int fake_create(struct cl_ctx *ctx, uint32_t token,
		       const struct mptcp_pm_nl_addr *l, const struct mptcp_pm_nl_addr *r)
{
	(void)ctx; (void)token;
	fk.last_l = *l;
	fk.last_r = *r;
	if (fk.fail_next) {
		int e = fk.fail_next;
		fk.fail_next = 0;
		return -e;
	}
	if (fk.creates < 8) {
		fk.ids[fk.creates] = l->id;
		fk.laddrs[fk.creates] = l->addr.v4;
	}
	fk.creates++;
	return 0;
}

static int fake_destroy(struct cl_ctx *ctx, uint32_t token,
			const struct mptcp_pm_nl_addr *l, const struct mptcp_pm_nl_addr *r)
{
	(void)ctx; (void)token; (void)l; (void)r;
	fk.destroys++;
	return 0;
}

static bool fake_route(struct cl_ctx *ctx, const struct cl_uplink *u,
		       const struct mptcp_pm_nl_addr *l, const struct mptcp_pm_nl_addr *r)
{
	(void)ctx; (void)u; (void)l; (void)r;
	return !fk.no_route;
}

static struct cl_ctx ctx;

static void add_uplink(int ifindex, const char *name, const char *v4)
{
	struct in_addr a;
	inet_pton(AF_INET, v4, &a);
	cl_uplink_update(&ctx, ifindex, name, true);
	cl_uplink_addr(&ctx, ifindex, AF_INET, &a, true);
}

static int setup(void **state)
{
	(void)state;
	struct cl_config cfg;
	struct cl_executor ex = {fake_create, fake_destroy, fake_route, NULL, NULL};
	memset(&fk, 0, sizeof(fk));
	cl_config_defaults(&cfg);
	cl_ctx_init(&ctx, &cfg, &cl_policy_spread, &ex);
	ctx.now = 100;
	add_uplink(2, "c1", "10.81.1.2");
	add_uplink(3, "c2", "10.81.2.2");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cl_ctx_free(&ctx);
	return 0;
}

static struct mptcp_pm_nl_event conn_ev(uint8_t type, uint16_t flags)
{
	struct mptcp_pm_nl_event ev = {.type = type, .token = 0x1a2b3c4d,
				       .family = AF_INET, .sport = 40000, .dport = 80,
				       .flags = flags};
	inet_pton(AF_INET, "10.81.1.2", &ev.saddr.v4);
	inet_pton(AF_INET, "10.81.100.2", &ev.daddr.v4);
	ev.has_saddr = ev.has_daddr = ev.has_sport = ev.has_dport = true;
	return ev;
}

static void announce(uint8_t id, const char *addr, uint16_t port)
{
	struct mptcp_pm_nl_event ev = {.type = MPTCP_EVENT_ANNOUNCED, .token = 0x1a2b3c4d,
				       .family = AF_INET, .rem_id = id, .has_rem_id = true,
				       .has_daddr = true, .dport = port, .has_dport = port != 0};
	inet_pton(AF_INET, addr, &ev.daddr.v4);
	cl_on_pm_event(&ctx, &ev);
}

static void sub_event(uint8_t type, const char *laddr, uint16_t lport,
		      const char *raddr, uint16_t rport, uint8_t error)
{
	struct mptcp_pm_nl_event ev = {.type = type, .token = 0x1a2b3c4d, .family = AF_INET,
				       .sport = lport, .dport = rport, .error = error,
				       .has_error = error != 0};
	inet_pton(AF_INET, laddr, &ev.saddr.v4);
	inet_pton(AF_INET, raddr, &ev.daddr.v4);
	cl_on_pm_event(&ctx, &ev);
}

static void test_deny_join_id0_only_announced(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED,
					      MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	cl_on_pm_event(&ctx, &ev);
	assert_int_equal(fk.creates, 0); /* C bit: nothing to the initial address */
	announce(1, "10.81.101.2", 0);
	assert_int_equal(fk.creates, 2); /* one per uplink, initial uplink included */
	assert_int_equal(fk.last_r.port, 80); /* no port announced: connection's */
	assert_int_not_equal(fk.ids[0], fk.ids[1]);
	announce(1, "10.81.101.2", 0); /* ADD_ADDR retransmission */
	assert_int_equal(fk.creates, 2);
}

static void test_no_c_bit_joins_initial_from_other_uplinks(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED, 0);
	cl_on_pm_event(&ctx, &ev);
	assert_int_equal(fk.creates, 1); /* c2 only: c1 carries the initial subflow */
	char ip[32];
	inet_ntop(AF_INET, &fk.last_l.addr.v4, ip, sizeof(ip));
	assert_string_equal(ip, "10.81.2.2");
	assert_int_equal(fk.last_l.ifindex, 3);
}

static void test_server_side_ignored(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED, MPLB_PM_EV_FLAG_SERVER_SIDE);
	ev.server_side = true;
	cl_on_pm_event(&ctx, &ev);
	announce(1, "10.81.101.2", 0);
	assert_int_equal(fk.creates, 0);
	assert_null(ctx.conns);
}

static void test_announce_before_established(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_CREATED, MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	cl_on_pm_event(&ctx, &ev);
	announce(1, "10.81.101.2", 8081);
	assert_int_equal(fk.creates, 0); /* not established yet: remember only */
	ev.type = MPTCP_EVENT_ESTABLISHED;
	cl_on_pm_event(&ctx, &ev);
	assert_int_equal(fk.creates, 2);
	assert_int_equal(fk.last_r.port, 8081);
}

static void test_uplink_down_up_and_retry(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED,
					      MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	cl_on_pm_event(&ctx, &ev);
	announce(1, "10.81.101.2", 0);
	sub_event(MPTCP_EVENT_SUB_ESTABLISHED, "10.81.2.2", 5555, "10.81.101.2", 80, 0);
	uint8_t id_c2 = 0;
	for (int i = 0; i < 2; i++)
		if (fk.laddrs[i].s_addr == htonl(0x0a510202)) /* 10.81.2.2 */
			id_c2 = fk.ids[i];
	assert_int_not_equal(id_c2, 0);

	cl_uplink_update(&ctx, 3, "c2", false); /* link down */
	assert_int_equal(fk.destroys, 1);
	sub_event(MPTCP_EVENT_SUB_CLOSED, "10.81.2.2", 5555, "10.81.101.2", 80, 0);
	assert_int_equal(fk.creates, 2); /* no retry while down */

	ctx.now += 5;
	fk.no_route = true; /* link back, route not yet */
	cl_uplink_update(&ctx, 3, "c2", true);
	assert_int_equal(fk.creates, 2);
	double next = cl_tick(&ctx);
	assert_true(next > 0 && next <= 0.1 + 1e-9);
	fk.no_route = false;
	cl_routes_changed(&ctx); /* the route arrives: retry at once */
	cl_tick(&ctx);
	assert_int_equal(fk.creates, 3);
	assert_int_equal(fk.ids[2], id_c2); /* the same local id as before */

	/* Closed with an error while the uplink is up: backoff, bounded. */
	sub_event(MPTCP_EVENT_SUB_CLOSED, "10.81.2.2", 0, "10.81.101.2", 80, 111);
	for (unsigned i = 0; i < ctx.cfg.retry_max + 2; i++) {
		ctx.now += 10;
		cl_tick(&ctx);
		sub_event(MPTCP_EVENT_SUB_CLOSED, "10.81.2.2", 0, "10.81.101.2", 80, 111);
	}
	/* Every attempt since the uplink returned counts: 1 + retry_max - 1. */
	assert_int_equal(fk.creates, 2 + (int)ctx.cfg.retry_max);
}

static void test_max_subflows(void **state)
{
	(void)state;
	ctx.cfg.max_subflows = 1;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED,
					      MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	cl_on_pm_event(&ctx, &ev);
	announce(1, "10.81.101.2", 0);
	assert_int_equal(fk.creates, 1);
}

static void test_create_error_retries(void **state)
{
	(void)state;
	struct mptcp_pm_nl_event ev = conn_ev(MPTCP_EVENT_ESTABLISHED,
					      MPTCP_PM_EV_FLAG_DENY_JOIN_ID0);
	cl_on_pm_event(&ctx, &ev);
	fk.fail_next = EADDRNOTAVAIL;
	announce(1, "10.81.101.2", 0);
	assert_int_equal(fk.creates, 1); /* c1 failed, c2 went through */
	ctx.now += 0.2;
	cl_tick(&ctx);
	assert_int_equal(fk.creates, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_announced_infers_family_and_port_order),
		cmocka_unit_test(test_parse_flags_deny_and_server_side),
		cmocka_unit_test(test_request_port_is_host_order),
		cmocka_unit_test_setup_teardown(test_deny_join_id0_only_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_c_bit_joins_initial_from_other_uplinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_side_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_announce_before_established, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uplink_down_up_and_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_subflows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_error_retries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
