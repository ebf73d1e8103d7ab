// SPDX-License-Identifier: MIT
/* Balancer config parsing and validation (no root needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>


#include "lb/lb_config.h"

static const char *BASE =
	"[lb]\ninterface = lo\nxdp = generic\ntsecr_key = 000102030405060708090a0b0c0d0e0f\n"
	"[vip a]\naddress = 10.0.0.1\nport = 80\nstrategy = port\njoin_port_base = 20000\n"
	"join_port_count = 4\n"
	"[backend b0]\nid = 0\nmac = 02:00:00:00:00:01\n"
	"[backend b1]\nid = 1\nmac = 02:00:00:00:00:02\nweight = 3\nstate = draining\n";

static struct lb_cfg cfg;

/* Write text (BASE + extra) to a temp file, load and validate: 0 ok, -1 load, -2 validate. */
static int try_cfg(const char *base, const char *extra)
{
	char path[] = "/tmp/mplb-lbcfg-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(base, f);
	fputs(extra, f);
	fclose(f);
	rc = lb_cfg_load(path, &cfg) ? -1 : lb_cfg_validate(&cfg) ? -2 : 0;
	unlink(path);
	return rc;
}

static void test_good(void **state)
{
	(void)state;
	assert_int_equal(try_cfg(BASE, ""), 0);
	assert_int_equal(cfg.n_vips, 1);
	assert_int_equal(cfg.vips[0].flags, VIP_F_PORT);
	assert_int_equal(cfg.vips[0].join_port_count, 4);
	assert_int_equal(cfg.n_backends, 2);
	assert_int_equal(cfg.backends[1].weight, 3);
	assert_true(cfg.backends[1].draining);
	assert_int_equal(cfg.xdp_mode, LB_XDP_GENERIC);
	assert_int_equal(cfg.ring_size, 65537);
	assert_true(cfg.has_tsecr_key);
	assert_true(cfg.tsecr_key[0] == 0x0001020304050607ULL);
	/* IPv6 token VIP with LRU and combined strategy */
	assert_int_equal(try_cfg(BASE, "[vip b]\naddress = fd00::1\nport = 443\nstrategy = token+tsecr\n"
				       "unknown_token = drop\nlru = on\n"), 0);
	assert_int_equal(cfg.vips[1].flags, VIP_F_TOKEN | VIP_F_TSECR | VIP_F_LRU);
	assert_int_equal(cfg.vips[1].unknown_token, UNKNOWN_TOKEN_DROP);
}

static void test_errors(void **state)
{
	(void)state;
	/* unknown interface */
	assert_int_equal(try_cfg("[lb]\ninterface = mplb-no-such0\n"
				 "[vip a]\naddress = 10.0.0.1\nport = 80\n"
				 "[backend b0]\nid = 0\nmac = 02:00:00:00:00:01\n", ""), -2);
	/* VIP conflict */
	assert_int_equal(try_cfg(BASE, "[vip dup]\naddress = 10.0.0.1\nport = 80\n"), -2);
	/* same address/port, other protocol: fine */
	assert_int_equal(try_cfg(BASE, "[vip udp]\naddress = 10.0.0.1\nport = 80\nproto = udp\n"), 0);
	/* join range overlapping another VIP's service port */
	assert_int_equal(try_cfg(BASE, "[vip x]\naddress = 10.0.0.1\nport = 20002\n"), -2);
	/* join range including its own service port */
	assert_int_equal(try_cfg("[lb]\ninterface = lo\n[vip a]\naddress = 10.0.0.1\nport = 20001\n"
				 "strategy = port\njoin_port_base = 20000\njoin_port_count = 4\n"
				 "[backend b0]\nid = 0\nmac = 02:00:00:00:00:01\n", ""), -2);
	/* overlapping join ranges */
	assert_int_equal(try_cfg(BASE, "[vip y]\naddress = 10.0.0.1\nport = 81\nstrategy = port\n"
				       "join_port_base = 20003\njoin_port_count = 2\n"), -2);
	/* more backends than the id space */
	assert_int_equal(try_cfg(BASE, "[backend big]\nid = 256\nmac = 02:00:00:00:00:09\n"), -1);
	/* backend id outside the join range of a port VIP */
	assert_int_equal(try_cfg(BASE, "[backend b9]\nid = 9\nmac = 02:00:00:00:00:09\n"), -2);
	/* duplicate backend id */
	assert_int_equal(try_cfg(BASE, "[backend b2]\nid = 1\nmac = 02:00:00:00:00:09\n"), -2);
	/* bad MAC */
	assert_int_equal(try_cfg(BASE, "[backend b3]\nid = 2\nmac = 02:00:00:00:00\n"), -1);
	assert_int_equal(try_cfg(BASE, "[backend b3]\nid = 2\nmac = 02:00:00:00:00:zz\n"), -1);
	/* missing mac */
	assert_int_equal(try_cfg(BASE, "[backend b3]\nid = 2\n"), -2);
	/* bad values */
	assert_int_equal(try_cfg(BASE, "[vip z]\naddress = 10.0.0.300\nport = 80\n"), -1);
	assert_int_equal(try_cfg(BASE, "[vip z]\naddress = 10.0.0.3\nport = 0\n"), -1);
	assert_int_equal(try_cfg(BASE, "[vip z]\naddress = 10.0.0.3\nport = 80\nstrategy = magic\n"), -1);
	assert_int_equal(try_cfg(BASE, "[lb]\nring_size = 65536\n"), -1); /* not prime */
	assert_int_equal(try_cfg(BASE, "[lb]\nxdp = turbo\n"), -1);
	assert_int_equal(try_cfg(BASE, "[lb]\nbogus = 1\n"), -1);
	assert_int_equal(try_cfg(BASE, "[frontend]\nx = 1\n"), -1);
	assert_int_equal(try_cfg(BASE, "[lb]\ntsecr_key = 1234\n"), -1);
	/* tsecr without a key; token on UDP */
	assert_int_equal(try_cfg("[lb]\ninterface = lo\n[vip a]\naddress = 10.0.0.1\nport = 80\n"
				 "strategy = tsecr\n[backend b0]\nid = 0\nmac = 02:00:00:00:00:01\n", ""), -2);
	assert_int_equal(try_cfg(BASE, "[vip u]\naddress = 10.0.0.5\nport = 53\nproto = udp\n"
				       "strategy = token\n"), -2);
	/* ipip needs backend addresses */
	assert_int_equal(try_cfg(BASE, "[lb]\nforwarding = ipip\n"), -2);
	/* missing file */
	assert_int_equal(lb_cfg_load("/nonexistent/mplb.ini", &cfg), -1);
}

static void test_example_file(void **state)
{
	(void)state;
	assert_int_equal(lb_cfg_load("lb/examples/lb.ini", &cfg), 0);
	assert_int_equal(lb_cfg_validate(&cfg), 0);
	assert_int_equal(cfg.n_vips, 3);
}

static void test_mac_strategy(void **state)
{
	uint8_t m[6];
	uint32_t f;
	char buf[64];

	(void)state;
	assert_int_equal(lb_parse_mac("aa:bb:cc:dd:ee:ff", m), 0);
	assert_int_equal(m[5], 0xff);
	assert_int_equal(lb_parse_mac("aa:bb:cc:dd:ee:ff:00", m), -1);
	assert_int_equal(lb_parse_mac("aa-bb-cc-dd-ee-ff", m), -1);
	assert_int_equal(lb_parse_strategy("hash", &f), 0);
	assert_int_equal(f, 0);
	assert_string_equal(lb_strategy_str(f, buf, sizeof(buf)), "hash");
	assert_int_equal(lb_parse_strategy("port+token", &f), 0);
	assert_string_equal(lb_strategy_str(f, buf, sizeof(buf)), "port+token");
}

/* Health checks: [lb] timing keys, [backend] health target (lb/lb_health.h). */
static void test_health(void **state)
{
	(void)state;
	assert_int_equal(try_cfg(BASE, ""), 0);
	assert_int_equal(cfg.health_interval_ms, 1000);
	assert_int_equal(cfg.health_fall, 3);
	assert_int_equal(cfg.health_rise, 2);
	assert_int_equal(cfg.backends[0].health.ss_family, 0); /* off by default */
	assert_int_equal(try_cfg(BASE, "[lb]\nhealth_interval_ms = 200\nhealth_timeout_ms = 150\n"
				       "health_fall = 5\nhealth_rise = 4\n"
				       "[backend b0]\nhealth = 10.0.2.1:8081\n"
				       "[backend b1]\nhealth = [fd00::2:1]:8081\n"), 0);
	assert_int_equal(cfg.health_interval_ms, 200);
	assert_int_equal(cfg.health_timeout_ms, 150);
	assert_int_equal(cfg.health_fall, 5);
	assert_int_equal(cfg.backends[0].health.ss_family, AF_INET);
	assert_int_equal(cfg.backends[1].health.ss_family, AF_INET6);
	assert_int_equal(try_cfg(BASE, "[backend b0]\nhealth = 10.0.2.1\n"), -1);  /* no port */
	assert_int_equal(try_cfg(BASE, "[lb]\nhealth_fall = 0\n"), -1);
	assert_int_equal(try_cfg(BASE, "[lb]\nhealth_interval_ms = 10\n"), -1);
	assert_int_equal(try_cfg(BASE, "[lb]\nhealth_interval_ms = 100\nhealth_timeout_ms = 200\n"), -2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_mac_strategy),
		cmocka_unit_test(test_health),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
