/* SPDX-License-Identifier: MIT */
/*
 * `mplb lab lb HOST ACTION`: what happens to one LB host of the tier, for
 * tests, the comparison and operators trying things out.
 *
 *   restart [--kill]  the balancer process goes (SIGTERM, or SIGKILL) and a
 *                     new `mplb lb run` takes its pinned data plane over
 *   stop | start      `mplb lb stop` (withdraw, detach, unpin) / a fresh run
 *   drain | resume    `mplb lb drain` (withdraw, forward until quiet) / back
 *   fail [--link]     the host dies: SIGKILL its balancer and BIRD (and, with
 *                     --link, its port on the router goes down); reports
 *                     when the router's route stops using it
 *   revive            link up, BIRD and a balancer again (it takes over)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/lab_internal.h"
#include "util.h"

#define LB_START_TIMEOUT 10.0
#define STOP_TIMEOUT 5.0

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mplb lab lb [--name NAME] HOST ACTION\n"
		"  restart [--kill]  SIGTERM (or SIGKILL) the balancer, start a new one: it takes\n"
		"                    over the pinned state and swaps its program in atomically\n"
		"  stop              mplb lb stop: withdraw, detach, drop the state\n"
		"  start             a new mplb lb run on HOST\n"
		"  drain [-w S] [-q S]  mplb lb drain: withdraw the VIPs, forward until quiet\n"
		"  resume            announce again\n"
		"  fail [--link]     SIGKILL the host's balancer and BIRD (--link: also take its\n"
		"                    router port down); prints when the router stops using it\n"
		"  revive            link up, BIRD and the balancer again\n"
		"HOST is lb1, lb2, ...\n");
}

static json_t *proc_of(json_t *host, const char *name)
{
	size_t i;
	json_t *pr;

	json_array_foreach(json_object_get(host, "processes"), i, pr)
		if (!strcmp(jstr(pr, "name"), name))
			return pr;
	return NULL;
}

static pid_t pid_of(json_t *host, const char *name)
{
	json_t *pr = proc_of(host, name);
	pid_t pid = pr ? (pid_t)json_integer_value(json_object_get(pr, "pid")) : 0;

	return pid > 0 && lab_pid_in_netns(pid, jstr(host, "netns")) ? pid : 0;
}

/* Gone: no such process, or a zombie its parent (init, for a detached one) has not reaped yet. */
static bool gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	char *p;

	waitpid(pid, NULL, WNOHANG);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return !p || p[1] == 0 || p[2] == 'Z' || p[2] == 'X';
}

static bool wait_gone(pid_t pid, double timeout)
{
	for (double t0 = now_sec(); now_sec() - t0 < timeout; usleep(2000))
		if (gone(pid))
			return true;
	return false;
}

static unsigned count_in_log(const char *file, const char *needle)
{
	char line[1024];
	unsigned n = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A new `mplb lb run` on host, recorded in the state; waits until it has attached. */
static int start_balancer(json_t *state, json_t *host)
{
	const char *lab = jstr(state, "name");
	struct lab_host h = {0};
	char exe[512], pin[LAB_NAME_LEN + 16], log[300], ini[320];
	json_t *pr;

	snprintf(h.id, sizeof(h.id), "%s", jstr(host, "id"));
	snprintf(h.netns, sizeof(h.netns), "%s", jstr(host, "netns"));
	snprintf(ini, sizeof(ini), "%s", jstr(json_object_get(state, "balancer"), "config"));
	snprintf(pin, sizeof(pin), "%s/%s", lab, h.id);
	snprintf(log, sizeof(log), "%s/%s/%s.log", LAB_RUN_ROOT, lab, h.id);
	if (lab_self_exe(exe, sizeof(exe)))
		return -1;
	/* The previous run's log stays beside, as <host>.log.prev. */
	char *argv[] = {"mplb", "lb", "run", "-c", ini, "-n", pin, NULL};
	char prev[330];
	snprintf(prev, sizeof(prev), "%s.prev", log);
	rename(log, prev);
	if (lab_spawn(&h, "lb", exe, argv, log) < 0)
		return -1;
	for (double t0 = now_sec(); !count_in_log(log, " attached ("); usleep(10000)) {
		if (waitpid(h.procs[0].pid, NULL, WNOHANG) == h.procs[0].pid ||
		    now_sec() - t0 > LB_START_TIMEOUT) {
			mplb_err("%s: mplb lb run did not attach; its log (%s):", h.id, log);
			lab_print_log_tail(log);
			return -1;
		}
	}
	pr = proc_of(host, "lb");
	if (pr)
		json_object_set_new(pr, "pid", json_integer(h.procs[0].pid));
	else
		json_array_append_new(json_object_get(host, "processes"),
				      json_pack("{s:s, s:i, s:s}", "name", "lb", "pid",
						(int)h.procs[0].pid, "log", log));
	return 0;
}

/* Run `mplb ARGS...` inside the host's namespace, output to ours. */
static int mplb_in(json_t *host, char *const args[])
{
	char exe[512];
	char *argv[16];
	int n = 0;

	if (lab_self_exe(exe, sizeof(exe)))
		return -1;
	argv[n++] = exe;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run_cmd(jstr(host, "netns"), false, argv);
}

/* Milliseconds until the router's route for the IPv4 VIP has fewer next hops than before. */
static double wait_withdrawn(json_t *state, int before, double timeout)
{
	const char *lab = jstr(state, "name");
	const char *vip = jstr(json_object_get(state, "vips"), "ipv4");
	double t0 = now_sec();

	while (now_sec() - t0 < timeout) {
		int n = lab_router_vip_nexthops(lab, vip, false);
		if (n >= 0 && n < before)
			return (now_sec() - t0) * 1000;
		usleep(1000);
	}
	return -1;
}

static int set_router_port(json_t *state, const char *host_id, const char *updown)
{
	char rt[LAB_NAME_LEN + 8];

	snprintf(rt, sizeof(rt), "%s-rt", jstr(state, "name"));
	return run(rt, false, "ip", "link", "set", "dev", host_id, updown, NULL);
}

int lab_lb_cmd(int argc, char **argv)
{
	char name[LAB_NAME_LEN] = "mplb";
	const char *host_id = NULL, *action = NULL;
	bool kill_it = false, link = false;
	char *drain_args[8] = {NULL};
	int nd = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			if (lab_check_name(argv[++i]))
				return 2;
			snprintf(name, sizeof(name), "%s", argv[i]);
		} else if (!strcmp(argv[i], "--kill")) {
			kill_it = true;
		} else if (!strcmp(argv[i], "--link")) {
			link = true;
		} else if ((!strcmp(argv[i], "-w") || !strcmp(argv[i], "-q")) && i + 1 < argc && nd < 6) {
			drain_args[nd++] = argv[i];
			drain_args[nd++] = argv[++i];
		} else if (!host_id) {
			host_id = argv[i];
		} else if (!action) {
			action = argv[i];
		} else {
			mplb_err("lab lb: unexpected argument '%s'", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!host_id || !action || strncmp(host_id, "lb", 2) || !lab_host_id_valid(host_id)) {
		mplb_err("lab lb: want HOST (lb1, lb2, ...) and ACTION");
		usage(stderr);
		return 2;
	}
	if (require_root("mplb lab lb"))
		return 1;
	int lock = lab_lock_run_root();
	if (lock < 0)
		return 1;
	json_t *state = lab_state_read(name);
	json_t *host = state ? lab_state_host(state, host_id) : NULL;
	if (!host) {
		mplb_err("lab %s: %s", name, state ? "no such LB host" : "not up");
		goto out;
	}
	if (strcmp(jstr(json_object_get(state, "balancer"), "kind"), "mplb")) {
		mplb_err("lab %s runs --lb kernel: no balancer on %s", name, host_id);
		goto out;
	}
	bool bgp = json_is_true(json_object_get(json_object_get(state, "options"), "bgp"));
	char pin[LAB_NAME_LEN + 16];
	snprintf(pin, sizeof(pin), "%s/%s", name, host_id);
	double t0 = now_sec();

	if (!strcmp(action, "restart")) {
		pid_t pid = pid_of(host, "lb");
		if (pid) {
			kill(pid, kill_it ? SIGKILL : SIGTERM);
			if (!wait_gone(pid, STOP_TIMEOUT)) {
				mplb_err("%s: the balancer (pid %d) did not exit", host_id, (int)pid);
				goto out;
			}
		}
		double t1 = now_sec();
		if (start_balancer(state, host))
			goto out;
		printf("lab %s: %s balancer restarted (%s): process gone after %.0f ms, the new one "
		       "attached %.0f ms later; the data plane never stopped\n", name, host_id,
		       kill_it ? "SIGKILL" : "SIGTERM", (t1 - t0) * 1000, (now_sec() - t1) * 1000);
		rc = 0;
	} else if (!strcmp(action, "start")) {
		if (pid_of(host, "lb")) {
			mplb_err("%s: a balancer is running already (restart replaces it)", host_id);
			goto out;
		}
		rc = start_balancer(state, host) ? 1 : 0;
		if (!rc)
			printf("lab %s: %s balancer started\n", name, host_id);
	} else if (!strcmp(action, "stop")) {
		char *args[] = {"lb", "stop", "-n", pin, NULL};
		rc = mplb_in(host, args) ? 1 : 0;
	} else if (!strcmp(action, "drain") || !strcmp(action, "resume")) {
		char *args[12] = {"lb", (char *)action, "-n", pin};
		for (int i = 0; i < nd; i++)
			args[4 + i] = drain_args[i];
		rc = mplb_in(host, args) ? 1 : 0;
	} else if (!strcmp(action, "fail")) {
		const char *vip = jstr(json_object_get(state, "vips"), "ipv4");
		int before = bgp ? lab_router_vip_nexthops(name, vip, false) : -1;
		t0 = now_sec();
		if (link && set_router_port(state, host_id, "down"))
			goto out;
		const char *victims[] = {"lb", "bird"};
		for (size_t v = 0; v < ARRAY_SIZE(victims); v++) {
			pid_t pid = pid_of(host, victims[v]);
			if (pid)
				kill(pid, SIGKILL);
		}
		printf("lab %s: %s failed (balancer and BIRD killed%s)\n", name, host_id,
		       link ? ", router port down" : "");
		if (bgp && before > 0) {
			double ms = wait_withdrawn(state, before, 5.0);
			if (ms < 0)
				printf("lab %s: the router still routes over %s after 5 s\n", name, host_id);
			else
				printf("lab %s: the router withdrew %s after %.1f ms\n", name, host_id, ms);
		}
		rc = 0;
	} else if (!strcmp(action, "revive")) {
		if (set_router_port(state, host_id, "up"))
			goto out;
		if (bgp && !pid_of(host, "bird") && lab_bird_restart(state, host))
			goto out;
		if (!pid_of(host, "lb") && start_balancer(state, host))
			goto out;
		printf("lab %s: %s revived in %.0f ms\n", name, host_id, (now_sec() - t0) * 1000);
		rc = 0;
	} else {
		mplb_err("lab lb: unknown action '%s'", action);
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (lab_state_write(name, state))
		rc = 1;
out:
	json_decref(state);
	close(lock);
	return rc;
}
