/* SPDX-License-Identifier: MIT */
/*
 * The lab's internal interfaces. The lab is built in three stages:
 *   plan.c   options -> a topology plan (pure data: hosts, interfaces, addresses)
 *   apply.c  plan -> namespaces, links, addresses, routes, sysctls, MPTCP, processes
 *   xdp.c    XDP programs on the LB hosts (and their peers in the router)
 *   agent.c  the backend agent (`mplb server run`) on every backend: config,
 *            start, readiness, stop, cleanup of a killed one
 *   balancer.c  the XDP balancer (`mplb lb run`) on the LB hosts, its lb.ini,
 *            `lab backend` (pool changes + reload); `mplb client` daemons
 *   state.c  the plan plus what was started -> /run/mplb/<name>/lab.json, and back
 *   lab.c    the `mplb lab` commands (up, down, status, exec)
 */
#ifndef MPLB_LAB_INTERNAL_H
#define MPLB_LAB_INTERNAL_H

#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#define LAB_RUN_ROOT "/run/mplb"
#define LAB_BPFFS_ROOT "/sys/fs/bpf/mplb" /* lab-scoped pins go under <root>/<name> */
#define LAB_STATE_FILE "lab.json"
#define LAB_STATE_VERSION 1

/* Size bounds. 4 uplinks × 2 families = 8 client endpoints, the kernel's
 * per-netns endpoint maximum. */
#define LAB_MAX_CLIENTS 16
#define LAB_MAX_UPLINKS 4
#define LAB_MAX_LBS 8
#define LAB_MAX_BACKENDS 32

/* Policy routing: uplink j's table is LAB_TABLE_BASE + j. */
#define LAB_TABLE_BASE 100

#define LAB_ADDR_LEN (INET6_ADDRSTRLEN + 5) /* address plus "/128" */
#define LAB_NAME_LEN 32

enum lab_client_pm { CLIENT_PM_FULLMESH, CLIENT_PM_SUBFLOW, CLIENT_PM_NONE, CLIENT_PM_MPLB };
/* What each backend does for the balancer; with the server agent (default)
 * `mplb server run` does it, else the lab's own sysctls and endpoints (no
 * tsecr: only the agent writes ids into TSval). */
enum lab_server_pm { SERVER_PM_PER_SERVER, SERVER_PM_PORT, SERVER_PM_NONE, SERVER_PM_TSECR,
		     SERVER_PM_TOKEN };
enum lab_xdp_mode { XDP_MODE_NATIVE, XDP_MODE_GENERIC, XDP_MODE_NONE };
/* What balances on the LB hosts: the XDP balancer, or kernel ECMP (baseline). */
enum lab_lb_kind { LAB_LB_MPLB, LAB_LB_KERNEL };
/* A backend's place in the balancer's pool (`mplb lab backend`). */
enum lab_pool_state { POOL_ACTIVE, POOL_DRAINING, POOL_REMOVED };

#define LAB_STRATEGY_LEN 24
#define LAB_RATE_LEN 16
#define LAB_MAX_PROCS 3 /* per host: serve and mplb server, or mplb lb and bird, or mplb client */
#define LAB_LB_INI "lb.ini"

struct lab_opts {
	char name[LAB_NAME_LEN]; /* namespace prefix, default "mplb" */
	unsigned clients, uplinks, lbs, backends;
	char vip4[INET_ADDRSTRLEN];
	char vip6[INET6_ADDRSTRLEN];
	unsigned port;
	unsigned join_port_base;
	enum lab_client_pm client_pm;
	enum lab_server_pm server_pm;
	/* Backends run `mplb server run` (true, default) or get the lab's own
	 * sysctls and endpoints (--server-agent off, the control). */
	bool server_agent;
	enum lab_xdp_mode xdp;
	enum lab_lb_kind lb;
	/* Strategy of both VIPs with --lb mplb: hash|port|token|tsecr|... */
	char lb_strategy[LAB_STRATEGY_LEN];
	/* How the balancer sends a frame back out: XDP_TX, or bpf_redirect to
	 * eth0 (the other forwarding path; --lb-xmit). */
	bool lb_redirect;
	/* tbf rate on both ends of every client uplink ("" = unshaped). */
	char uplink_rate[LAB_RATE_LEN];
	/* BIRD on the router and every LB host: BGP announces the VIPs, the
	 * router ECMPs over the hosts that announce, BFD withdraws a dead one
	 * (default: on with --lbs > 1). */
	bool bgp;
	/* The agents push their tokens to every LB host (lab/tests, docs/scale-out.md;
	 * default: on when the strategy has token and the agents run). */
	bool token_sync;
};

/* The lab's token sync port on every LB host, and its announce table. */
#define LAB_SYNC_PORT 4790
#define LAB_ANNOUNCE_TABLE 200
/* AS numbers: the router, and the LB tier (one AS for every LB host, as an anycast tier). */
#define LAB_AS_ROUTER 65000
#define LAB_AS_LBS 65001

enum lab_role { ROLE_CLIENT, ROLE_ROUTER, ROLE_LB, ROLE_BACKEND };

struct lab_iface {
	char name[IFNAMSIZ];
	/* The other end of a veth (host id and name); empty for a bridge. */
	char peer_host[16];
	char peer_name[IFNAMSIZ];
	bool is_bridge;
	char master[IFNAMSIZ];      /* bridge this port belongs to, or "" */
	char addr4[LAB_ADDR_LEN];   /* "10.1.1.2/24", or "" */
	char addr6[LAB_ADDR_LEN];
	char gateway4[INET_ADDRSTRLEN]; /* client uplinks: the router's side */
	char gateway6[INET6_ADDRSTRLEN];
	unsigned uplink;            /* client uplink number (1..), 0 otherwise */
	unsigned table;             /* policy-routing table of that uplink */
};

/* A process the lab started and `down` stops: serve, lb, client. */
struct lab_proc {
	char name[16];
	pid_t pid;
	char log[256];
};

struct lab_host {
	char id[16];                /* c1, rt, lb1, b3: what `lab exec` takes */
	char netns[LAB_NAME_LEN + 16];
	enum lab_role role;
	unsigned index;             /* i, k or m; 0 for the router */
	struct lab_iface *ifaces;
	unsigned n_ifaces;
	/* Backends: the per-server addresses (no prefix length). */
	char server4[INET_ADDRSTRLEN];
	char server6[INET6_ADDRSTRLEN];
	unsigned join_port;         /* backends that announce VIP:join_port (port schemes) */
	/* Backends with the agent: its instance name (= the namespace, unique
	 * across labs), config and scheme ("" = no agent on this host). */
	char agent_name[LAB_NAME_LEN + 16];
	char agent_config[300];
	char agent_scheme[24];
	/* Filled in by apply: */
	char xdp_mode[16];          /* "native", "generic" or "none" */
	char xdp_iface[IFNAMSIZ];
	char xdp_prog[16];          /* "xdp_pass" or "xdp_lb" */
	char mac[18];               /* backends: eth0's MAC, the balancer's next hop */
	struct lab_proc procs[LAB_MAX_PROCS];
	unsigned n_procs;
};

struct lab_plan {
	struct lab_opts opts;
	char tsecr_key[33];         /* --lb mplb: 128-bit key, hex (docs/tsecr.md) */
	char sync_key[65];          /* --token-sync: the balancers' [sync] key, hex */
	struct lab_host *hosts;
	unsigned n_hosts;
};

/* plan.c */
void lab_opts_default(struct lab_opts *o);
/* Parse `lab up` options (argv[0] is "up"). 0 ok, 1 help shown, -1 error. */
int lab_opts_parse(struct lab_opts *o, int argc, char **argv);
int lab_plan_build(const struct lab_opts *o, struct lab_plan *plan);
void lab_plan_free(struct lab_plan *plan);
struct lab_host *lab_plan_host(struct lab_plan *plan, const char *id);
const char *lab_role_name(enum lab_role r);
const char *lab_client_pm_name(enum lab_client_pm pm);
const char *lab_server_pm_name(enum lab_server_pm pm);
const char *lab_xdp_mode_name(enum lab_xdp_mode m);
const char *lab_lb_kind_name(enum lab_lb_kind k);
const char *lab_pool_state_name(enum lab_pool_state s);
/* Is s a usable lab name? Prints why not. */
int lab_check_name(const char *s);
/* Is id a host id of the lab shape (c<N>, rt, lb<N>, b<N>)? */
bool lab_host_id_valid(const char *id);

/* apply.c */
extern volatile sig_atomic_t lab_interrupted;
int lab_preflight(const struct lab_opts *o);
int lab_apply(struct lab_plan *plan);
/* Remove every trace of lab `name`; state may be NULL. Returns the number
 * of namespaces removed, or -1 on error. */
int lab_teardown(const char *name, json_t *state, bool verbose);
/* Run directory /run/mplb/<name>. */
void lab_run_dir(const char *name, char *buf, size_t len);
/* Namespaces of lab `name` that exist now (names only); caller frees. */
int lab_list_netns(const char *name, char ***out);
void lab_free_list(char **list, int n);
/* Is pid alive and inside network namespace netns? */
bool lab_pid_in_netns(pid_t pid, const char *netns);
/* Start exe argv detached (own session, stdin /dev/null, stdout and stderr
 * to log) inside netns; record it in h->procs. Returns the pid or -1. */
pid_t lab_spawn(struct lab_host *h, const char *name, const char *exe,
		char *const argv[], const char *log);
/* Full path of prog from PATH into buf: 0, or -1 when it is not there. */
int lab_find_in_path(const char *prog, char *buf, size_t len);
/* The path of the running mplb binary (for the processes the lab starts). */
int lab_self_exe(char *buf, size_t len);
/* Does this lab run the server agent on its backends? */
bool lab_runs_agent(const struct lab_opts *o);
/* A progress line "  [ 0.12s] ..." relative to the start of `up`. */
void lab_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* lab.c */
/* flock on /run/mplb: serialises up, down and backend changes of all labs. */
int lab_lock_run_root(void);

/* balancer.c */
/* Read the MAC of every backend's eth0 into its plan host. */
int lab_read_backend_macs(struct lab_plan *plan);
/* Write /run/mplb/<name>/lb.ini from a state document (the single source:
 * `up` and `backend` both generate it from lab.json's content). */
int lab_lb_ini_write(json_t *state);
/* A fresh 128-bit tsecr key for lb.ini and the agents (once per lab). */
int lab_tsecr_key_new(struct lab_plan *plan);
/* A fresh 256-bit token sync key for lb.ini; the agents get keys derived from it. */
int lab_sync_key_new(struct lab_plan *plan);
/* --lb mplb: replace xdp_pass by `mplb lb run` on every LB host. */
int lab_start_balancers(struct lab_plan *plan);
/* --client-pm mplb: `mplb client run` in every client namespace. */
int lab_start_client_daemons(struct lab_plan *plan);
/* Print the last lines of a process's log to stderr (a failed start). */
void lab_print_log_tail(const char *file);
/* `mplb lab backend ACTION HOST`. */
int lab_backend_cmd(int argc, char **argv);

/* lbhost.c: `mplb lab lb HOST ACTION` (restart, stop, drain, fail, ...). */
int lab_lb_cmd(int argc, char **argv);

/* bird.c: BGP and BFD (--bgp) */
/* Write every BIRD config and start BIRD on the router and the LB hosts. */
int lab_start_bird(struct lab_plan *plan);
/* Wait until the router routes each VIP over every LB host (BGP up, routes learned). */
int lab_wait_bgp(const struct lab_plan *plan, unsigned want, double timeout_s);
/* Next hops the router's kernel has for the IPv4 VIP now (-1 on error). */
int lab_router_vip_nexthops(const char *lab, const char *vip, bool v6);
/* Start BIRD again on one host (after `lab lb HOST fail`). */
int lab_bird_restart(json_t *state, json_t *host);

/* agent.c: `mplb server run` on the backends */
/* Write every backend's agent config and start the agents detached; wait
 * until each reports ready (its state file: health ready). */
int lab_start_agents(struct lab_plan *plan);
/* `down`: SIGTERM every agent of the lab (so that it undoes its own
 * changes while its namespace still exists) and wait for them; the
 * namespaces are those of lab_list_netns(). */
void lab_stop_agents(const char *name, char **netns, int n);
/* `down`, after every process is gone: `mplb server cleanup` for an agent
 * that could not undo (killed: its journal is left), stale files. */
void lab_cleanup_agents(const char *name, char **netns, int n);
/* The agent's instance state (/run/mplb/server-<name>.json), or NULL. */
json_t *lab_agent_state(const char *agent_name);

/* xdp.c */
struct xdp_pass_bpf;
/* Load the xdp_pass skeleton; NULL with a message on failure. */
struct xdp_pass_bpf *lab_xdp_load(void);
void lab_xdp_unload(struct xdp_pass_bpf *skel);
/* Attach xdp_pass to ifname inside netns in mode; with native, fall back to
 * generic with a warning. Returns the mode that attached, or NULL. */
const char *lab_xdp_attach(struct xdp_pass_bpf *skel, const char *netns,
			   const char *ifname, enum lab_xdp_mode mode);
/* Detach native and generic programs from ifname in netns (quietly). */
void lab_xdp_detach(const char *netns, const char *ifname);
/* Switch this thread to netns (NULL: back to the original one). */
int lab_setns(const char *netns);

/* state.c */
json_t *lab_opts_to_json(const struct lab_opts *o);
json_t *lab_state_build(const struct lab_plan *plan);
int lab_state_write(const char *name, json_t *state);
/* NULL (quietly) when absent; NULL with a message when unreadable. */
json_t *lab_state_read(const char *name);
/* Add "alive" flags to a state (processes and namespaces). */
void lab_state_add_liveness(json_t *state);
/* The state's host object with id, or NULL. */
json_t *lab_state_host(json_t *state, const char *id);

#endif /* MPLB_LAB_INTERNAL_H */
