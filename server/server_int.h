/* SPDX-License-Identifier: MIT */
/* Internals shared by the server agent's files (run, undo, health, status). */
#ifndef MPLB_SERVER_INT_H
#define MPLB_SERVER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mptcp_pm_nl.h"
#include "journal.h"
#include "server_bpf.h"
#include "server_config.h"
#include "server_metrics.h"
#include "server_sync.h"
#include "server_sys.h"

#define SRV_RUN_DIR "/run/mplb"
#define SRV_MAX_ENDPOINTS 16
#define SRV_MAX_CONNS 4096

/* Files of instance <name>: state (JSON), journal, lock. */
void srv_paths(const char *name, char *state, char *journal, char *lock, size_t len);

struct srv_endpoint {
	uint8_t id;
	struct srv_addr addr;
	uint16_t port;
	uint32_t flags;
	char ifname[16];
	bool ours; /* added by this agent (journalled); otherwise found in place */
	const char *why; /* "per-server", "port VIP", "backup VIP" */
};

struct srv_sysctl {
	char name[64];
	char old[32], now[32];
};

/* A server-side connection seen through mptcp_pm events (initial_subflow policy). */
struct srv_conn {
	uint32_t token;
	struct sockaddr_storage local, remote; /* initial subflow */
	int vip;        /* index in cfg.vips, -1 when not a VIP connection */
	bool acted;
};

struct srv_health {
	bool ready;
	char reasons[512];
	uint64_t checks, requests;
	double since;     /* state unchanged since (monotonic s) */
	double evaluated; /* last evaluation (monotonic s) */
};

struct agent {
	struct srv_cfg cfg;
	char state_path[256], journal_path[256], lock_path[256];
	int lock_fd;
	struct journal j;
	unsigned long netns_ino;
	uint64_t netns_cookie;
	struct mptcp_pm_nl pm;
	bool pm_events;
	struct srv_bpf bpf;
	bool bpf_loaded;
	char ifaces[SRV_CFG_MAX_IFACES][16];
	int n_ifaces;
	struct srv_endpoint eps[SRV_MAX_ENDPOINTS];
	int n_eps;
	struct srv_sysctl sysctls[8];
	int n_sysctls;
	bool limits_set;
	uint32_t old_limit_add, old_limit_sub;
	int health_fd;
	struct srv_health health;
	struct srv_conn conns[SRV_MAX_CONNS];
	int n_conns;
	uint64_t initial_closed, initial_backup, initial_failed;
	double started;
	bool c_bit;
	char warnings[8][256];
	int n_warnings;
	struct srv_sync *sync; /* token sync to the LB hosts ([sync]), or NULL */
	struct srv_metrics *metrics; /* [server] metrics, or NULL */
	/* Records of a previous run left in the journal (an endpoint still in use). */
	struct journal_record kept[16];
	int n_kept;
};

/* ---- run (server_run.c) ---- */
int srv_run(const char *cfg_path);

/*
 * Undo what a journal records, newest first. Refuses when the journal was
 * written in another network namespace. 0 when nothing is left to undo.
 */
int srv_undo_journal(const char *journal_path, bool announce);

/* ---- checks (server_checks.c) ---- */
/* System checks before applying; 0 or -1 with messages. Warnings go to a->warnings. */
int srv_check_system(struct agent *a);

/* ---- health (server_health.c) ---- */
int srv_health_open(struct agent *a);
void srv_health_evaluate(struct agent *a);
void srv_health_serve(struct agent *a);

/* ---- state / status (server_status.c) ---- */
int srv_state_write(struct agent *a);
int srv_status(const char *cfg_path, const char *name, bool json);

#endif /* MPLB_SERVER_INT_H */
