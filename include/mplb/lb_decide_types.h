/* SPDX-License-Identifier: MIT */
/* The types the decision (lb_decide.h) works on, for userspace includers. */
#ifndef MPLB_LB_DECIDE_TYPES_H
#define MPLB_LB_DECIDE_TYPES_H

#include <linux/bpf.h>
#include <stdbool.h>

#include "mplb/lb_packet.h"
#include "mplb/lb_structs.h"

struct decision {
	__u32 backend_id;
	__u32 path; /* LB_STAT_PATH_* */
};

#endif /* MPLB_LB_DECIDE_TYPES_H */
