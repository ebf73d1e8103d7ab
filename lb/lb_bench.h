/* SPDX-License-Identifier: MIT */
/* mplb lb bench: ns per packet of each xdp_lb decision path (not a test). */
#ifndef MPLB_LB_BENCH_H
#define MPLB_LB_BENCH_H

#include <stdbool.h>

int lb_bench(bool json, int repeat, int passes);

#endif /* MPLB_LB_BENCH_H */
