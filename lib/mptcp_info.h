/* SPDX-License-Identifier: MIT */
/*
 * MPTCP socket-option compat header.
 *
 * Debian 12 ships <linux/mptcp.h> from Linux 6.1: it has MPTCP_INFO,
 * MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS but not MPTCP_FULL_INFO (Linux 6.5),
 * which returns every subflow's addresses and struct tcp_info plus the
 * struct mptcp_info in one consistent call. The definitions below are copied
 * from include/uapi/linux/mptcp.h of Linux 6.5+ and only used when the system
 * header lacks them. struct mptcp_info itself is the 6.1 (shorter) layout: the
 * kernel copies min(user size, kernel size), so an older layout is safe.
 *
 * Include this instead of <linux/mptcp.h>; do not combine with <netinet/tcp.h>
 * in the same file when you need struct tcp_info's byte counters (use
 * <linux/tcp.h>: glibc's struct tcp_info stops before tcpi_bytes_acked).
 */
#ifndef MPLB_MPTCP_INFO_H
#define MPLB_MPTCP_INFO_H

#include <linux/mptcp.h>
#include <linux/types.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
/* getsockopt(SOL_TCP, TCP_IS_MPTCP): 1 unless the socket fell back to TCP. */
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

#ifndef MPTCP_FULL_INFO
#define MPTCP_FULL_INFO 4

struct mptcp_subflow_info {
	__u32 id;
	struct mptcp_subflow_addrs addrs;
};

struct mptcp_full_info {
	__u32 size_tcpinfo_kernel; /* must be 0, set by kernel */
	__u32 size_tcpinfo_user;
	__u32 size_sfinfo_kernel; /* must be 0, set by kernel */
	__u32 size_sfinfo_user;
	__u32 num_subflows; /* must be 0, set by kernel (real subflow count) */
	__u32 size_arrays_user; /* entries userspace provides in both arrays */
	__aligned_u64 subflow_info; /* user pointer to struct mptcp_subflow_info[] */
	__aligned_u64 tcp_info; /* user pointer to struct tcp_info[] */
	struct mptcp_info mptcp_info;
};
#endif /* MPTCP_FULL_INFO */

/* Event attribute added after 6.1 (flags of CREATED/ESTABLISHED, bit 1). */
#ifndef MPTCP_PM_EV_FLAG_SERVER_SIDE
#define MPTCP_PM_EV_FLAG_SERVER_SIDE (1U << 1)
#endif

#endif /* MPLB_MPTCP_INFO_H */
