/* SPDX-License-Identifier: MIT */
/* mplb lb: the XDP load balancer's control plane (run, stats, check). */
#ifndef MPLB_LB_H
#define MPLB_LB_H

int cmd_lb(int argc, char **argv);

#endif /* MPLB_LB_H */
