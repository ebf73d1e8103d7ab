// SPDX-License-Identifier: MIT
/*
 * Packet-restoring harness for `mplb lb bench`. BPF_PROG_TEST_RUN with
 * repeat = N runs a program N times on the same frame, each time on what the
 * previous run left (an IPIP encapsulation grows the frame 20 bytes per run;
 * a MAC rewrite is already done). The harness restores the original frame
 * before every run and tail-calls the program under test, so every iteration
 * measures the same packet. The floor is the harness tail-calling
 * xdp_tx_floor: what every measured program pays besides its own work.
 *
 * vary_off != 0 writes a counter over 4 bytes at that offset after the
 * restore (a source address, an MPTCP key): every iteration is then a new
 * flow or a new key, for the paths that insert state.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define HARNESS_FRAME_MAX 256

/* Set by userspace before each measurement. */
__u8 frame[HARNESS_FRAME_MAX];
__u32 frame_len;
__u32 vary_off;
__u32 vary_ctr;

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_target SEC(".maps");

SEC("xdp")
int bench_harness(struct xdp_md *ctx)
{
	__u32 len = frame_len;
	long cur = (long)ctx->data_end - (long)ctx->data;

	if (len == 0 || len > HARNESS_FRAME_MAX)
		return XDP_ABORTED;
	/* The measured programs move only the head (encapsulation), never the tail. */
	if (cur != (long)len && bpf_xdp_adjust_head(ctx, (int)(cur - (long)len)))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, frame, len))
		return XDP_ABORTED;
	if (vary_off) {
		__u32 v = ++vary_ctr;

		if (bpf_xdp_store_bytes(ctx, vary_off, &v, sizeof(v)))
			return XDP_ABORTED;
	}
	bpf_tail_call(ctx, &bench_target, 0);
	return XDP_ABORTED; /* no target: never a measurement */
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
