// SPDX-License-Identifier: MIT
/* Server agent config parsing and validation (no root needed), and the journal format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/journal.h"
#include "server/server_config.h"

static const char *BASE =
	"[server]\nname = b1\nid = 1\naddress = 10.0.2.1, fd00::2:1\ntsecr_key = "
	"000102030405060708090a0b0c0d0e0f\n"
	"[vip web]\naddress = 10.0.0.1\nport = 80\nscheme = per-server\ninitial_subflow = close\n";

static struct srv_cfg cfg;

/* Write text (base + extra) to a temp file, load and validate: 0 ok, -1 load, -2 validate. */
static int try_cfg(const char *base, const char *extra)
{
	char path[] = "/tmp/mplb-srvcfg-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(base, f);
	fputs(extra, f);
	fclose(f);
	rc = srv_cfg_load(path, &cfg) ? -1 : srv_cfg_validate(&cfg) ? -2 : 0;
	unlink(path);
	return rc;
}

static void test_good(void **state)
{
	(void)state;
	assert_int_equal(try_cfg(BASE, ""), 0);
	assert_string_equal(cfg.name, "b1");
	assert_int_equal(cfg.id, 1);
	assert_int_equal(cfg.n_addrs, 2);
	assert_int_equal(cfg.addrs[1].family, AF_INET6);
	assert_int_equal(cfg.vips[0].scheme, SRV_SCHEME_PER_SERVER);
	assert_int_equal(cfg.vips[0].initial_subflow, SRV_INITIAL_CLOSE);
	/* defaults */
	assert_int_equal(cfg.tsecr_keepalive_s, 20);
	assert_int_equal(cfg.add_addr_timeout_s, 1);
	assert_int_equal(cfg.health_port, 8081);
	assert_true(cfg.tsecr_restore);
	assert_true(cfg.track_add_addr);
	assert_false(cfg.decap);
	/* combined scheme with a join port */
	assert_int_equal(try_cfg(BASE, "[vip t]\naddress = 10.0.0.2\nport = 443\n"
				       "scheme = tsecr+port\njoin_port_base = 20000\n"), 0);
	assert_int_equal(cfg.vips[1].scheme, SRV_SCHEME_TSECR | SRV_SCHEME_PORT);
	assert_int_equal(srv_vip_join_port(&cfg, &cfg.vips[1]), 20001);
	assert_int_equal(try_cfg(BASE, "[server]\nadd_addr_timeout = keep\ndecap = on\n"
				       "tsecr_keepalive = 0\nhealth_port = 0\n"), 0);
	assert_int_equal(cfg.add_addr_timeout_s, -1);
	assert_true(cfg.decap);
}

static void test_bad(void **state)
{
	(void)state;
	/* id outside the balancer's id space */
	assert_int_equal(try_cfg(BASE, "[server]\nid = 256\n"), -1);
	assert_int_equal(try_cfg(BASE, "[server]\nid = -1\n"), -1);
	/* unknown keys, sections, schemes */
	assert_int_equal(try_cfg(BASE, "[server]\nbogus = 1\n"), -1);
	assert_int_equal(try_cfg(BASE, "[servers]\nid = 1\n"), -1);
	assert_int_equal(try_cfg(BASE, "[vip x]\nscheme = hash\n"), -1);
	assert_int_equal(try_cfg(BASE, "[server]\ntsecr_key = 1234\n"), -1);
	/* keepalive must stay below the 32.7 s PAWS limit */
	assert_int_equal(try_cfg(BASE, "[server]\ntsecr_keepalive = 40\n"), -1);
	/* port without a base; base without port; join port = service port */
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.3\nport = 80\nscheme = port\n"), -2);
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.3\nport = 80\nscheme = tsecr\n"
				       "join_port_base = 20000\n"), -2);
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.1\nport = 81\nscheme = port\n"
				       "join_port_base = 79\n"), -2);
	/* join port past 65535 */
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.3\nport = 80\nscheme = port\n"
				       "join_port_base = 65535\n"), -2);
	/* per-server and port at once; initial_subflow outside per-server */
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.3\nport = 80\n"
				       "scheme = per-server+port\njoin_port_base = 20000\n"), -2);
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.3\nport = 80\nscheme = tsecr\n"
				       "initial_subflow = backup\n"), -2);
	/* a VIP that is the backend's own address; two VIPs on one address and port */
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.2.1\nport = 80\nscheme = tsecr\n"), -2);
	assert_int_equal(try_cfg(BASE, "[vip p]\naddress = 10.0.0.1\nport = 80\nscheme = tsecr\n"), -2);
	/* tsecr without a key; per-server without an own address; missing id */
	assert_int_equal(try_cfg("[server]\nid = 1\naddress = 10.0.2.1\n[vip t]\naddress = 10.0.0.1\n"
				 "port = 80\nscheme = tsecr\n", ""), -2);
	assert_int_equal(try_cfg("[server]\nid = 1\nhealth_port = 0\n[vip t]\naddress = 10.0.0.1\n"
				 "port = 80\nscheme = per-server\n", ""), -2);
	assert_int_equal(try_cfg("[server]\naddress = 10.0.2.1\n[vip t]\naddress = 10.0.0.1\n"
				 "port = 80\nscheme = per-server\n", ""), -2);
	/* health port clashes */
	assert_int_equal(try_cfg(BASE, "[server]\nhealth_port = 80\n"), -2);
}

static void test_journal(void **state)
{
	char path[] = "/tmp/mplb-journal-XXXXXX";
	struct journal_record recs[8];
	struct journal j;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(journal_create(&j, path), 0);
	const char *a1[] = {"net.mptcp.allow_join_initial_addr_port", "1"};
	const char *a2[] = {"3", "10.0.2.1", "0"};
	const char *bad[] = {"has space"};
	assert_int_equal(journal_add(&j, "sysctl", 2, a1), 0);
	assert_int_equal(journal_add(&j, "endpoint", 3, a2), 0);
	assert_int_equal(journal_add(&j, "pin", 1, bad), -1);
	journal_close(&j);
	assert_int_equal(journal_read(path, recs, 8), 2);
	assert_string_equal(recs[0].kind, "sysctl");
	assert_int_equal(recs[0].argc, 2);
	assert_string_equal(recs[1].argv[1], "10.0.2.1");
	/* A torn last line (the writer died mid-record) is not a change that happened. */
	f = fopen(path, "a");
	fputs("endpoint 4 10.0.2", f);
	fclose(f);
	assert_int_equal(journal_read(path, recs, 8), 2);
	/* Not a journal at all. */
	f = fopen(path, "w");
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(journal_read(path, recs, 8), -1);
	unlink(path);
	assert_int_equal(journal_read(path, recs, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_journal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
