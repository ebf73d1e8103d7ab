/* SPDX-License-Identifier: MIT */
/* `mplb sim`: the simulator (sim.c), its command (sim_cmd.c) and its check against the kernel (agree.c). */
#ifndef MPLB_SIM_H
#define MPLB_SIM_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_MAX_LBS 16
#define SIM_MAX_SUBFLOWS 8
#define SIM_MAX_BACKENDS 4096

struct sim_strategy {
	const char *name;
	uint32_t vip_flags;   /* VIP_F_* for the shared decision code */
	bool bypass;          /* per-server: joins go around the LB */
	bool stack_change;    /* needs a modified MPTCP stack: modelled, no XDP code */
	const char *what;     /* for stack_change: what the change is */
};
extern const struct sim_strategy sim_strategies[];

enum sim_event {
	SIM_EV_NONE,
	SIM_EV_ADD,
	SIM_EV_DRAIN,
	SIM_EV_REMOVE,
	SIM_EV_RESTART_KEPT,
	SIM_EV_RESTART_LOST,
	SIM_EV_LB_FAILURE,
	SIM_EV_MAX
};
const char *sim_event_name(enum sim_event e);

struct sim_opts {
	uint32_t conns, backends, ring_size, table_entries;
	int subflows, lbs;
	bool token_sync;
	uint64_t seed;
};

struct sim_result {
	bool ran;
	uint64_t joins, joins_ok;        /* at connection setup */
	uint64_t checked, broken, subflows_lost; /* after the event */
	double state_bytes_per_conn;
	double seconds;                  /* res[0] only: the whole strategy */
};

/* Run one strategy over every event; res has SIM_EV_MAX entries. 0, or -1 (out of memory). */
int sim_run_strategy(const struct sim_opts *o, const struct sim_strategy *st, struct sim_result *res);

/*
 * The simulator against the kernel: the same packets through the XDP program
 * (BPF_PROG_TEST_RUN) and through sim_lb_decide(), starting from the same
 * maps. Returns the share that picked the same action and backend (1.0 is
 * the goal), or -1 when the program cannot be loaded (not root).
 */
double sim_agreement(uint32_t packets, uint32_t backends, uint64_t seed, uint32_t *mismatches);

/*
 * Mutated frames (bytes flipped, frames cut short) through the XDP program,
 * with backends leaving and returning: every verdict must be PASS, DROP, or
 * TX to a backend that is present. 0 (violations counted, verdicts[XDP_*]
 * per action), or -1 (not root).
 */
int sim_fuzz_frames(uint32_t frames, uint32_t backends, uint64_t seed, uint32_t *violations,
		    uint32_t verdicts[4]);

int cmd_sim(int argc, char **argv);

#endif /* MPLB_SIM_H */
