/* SPDX-License-Identifier: MIT */
/* mplb client internals shared by the command, the daemon and the state file. */
#ifndef MPLB_CLIENT_INT_H
#define MPLB_CLIENT_INT_H

#include <limits.h>
#include <stdbool.h>

#include "client/model.h"
#include "mptcp_pm_nl.h"

#define CLIENT_STATE_DIR "/run/mplb"

struct mnl_socket;
struct client_attr;
struct tcp_health;

struct client_daemon {
	struct cl_config cfg;
	const struct cl_policy_ops *policy;	/* units[0] */
	const struct cl_policy_ops *units[CL_MAX_UNITS];
	unsigned n_units;
	bool json;
	char netns[64];
	char state_dir[PATH_MAX / 2];
	char state_path[PATH_MAX];
	char old_pm[32];
	struct cl_ctx ctx;
	struct mptcp_pm_nl pm;
	struct mnl_socket *rtnl;	/* link/address/route notifications */
	struct mnl_socket *rtq;		/* route queries */
	unsigned rtq_seq;
	struct client_attr *attr;	/* BPF attribute parser, NULL without */
	struct tcp_health *health;	/* sock_diag sampler, NULL without */
	double last_health;		/* last sample */
};

/* Parse an INI config into cfg (keys of section [client]); 0 or -1. */
int client_config_load(const char *path, struct cl_config *cfg, char *state_dir,
		       size_t state_dir_len);
int client_daemon_run(struct client_daemon *d);
/* Write the state file atomically (tmp + rename); clears ctx.dirty. */
int client_state_save(struct client_daemon *d);
void client_state_remove(struct client_daemon *d);
/* Render the model as a JSON object (caller json_decref()s). */
struct json_t *client_state_json(const struct client_daemon *d);
/* "mplb client status": print a state file, readable or JSON. */
int client_status(const char *path, bool json);

#endif
