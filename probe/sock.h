/* SPDX-License-Identifier: MIT */
/* MPTCP sockets for probe/serve: creation, bounded I/O, subflow snapshots. */
#ifndef MPLB_PROBE_SOCK_H
#define MPLB_PROBE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * socket(family, SOCK_STREAM, IPPROTO_MPTCP), close-on-exec, non-blocking.
 * Never falls back to TCP: on failure prints which kernel feature is missing
 * and returns -1.
 */
int mptcp_socket_open(int family);

/* I/O outcome: 0 done, otherwise one of these (errno-like detail in *err). */
enum io_status { IO_OK = 0, IO_EOF = 1, IO_TIMEOUT = 2, IO_ERROR = 3 };
const char *io_status_str(enum io_status st, int err, char *buf, size_t len);

/*
 * Bounded I/O on a non-blocking socket. timeout_ms bounds every wait for
 * progress (not the whole transfer). *err gets errno for IO_ERROR.
 */
enum io_status io_read_full(int fd, void *buf, size_t len, int timeout_ms, int *err);
enum io_status io_write_full(int fd, const void *buf, size_t len, int timeout_ms,
			     int *err);

/* Connect with a deadline (non-blocking connect + poll). 0 or IO_*. */
enum io_status io_connect(int fd, const struct sockaddr *sa, socklen_t len,
			  int timeout_ms, int *err);

/*
 * Send [offset, offset+len) of payload_stream(seed). If corrupt_at lies in
 * that range (UINT64_MAX = never), that byte is flipped: a test hook.
 */
enum io_status stream_send(int fd, uint64_t seed, uint64_t offset, uint64_t len,
			   uint64_t corrupt_at, int timeout_ms, int *err);
/*
 * Receive len bytes and compare them to the stream. The first mismatch is
 * kept in *bad_offset (*bad set); receiving continues so that the byte count
 * and the connection stay intact. *got counts bytes received.
 */
enum io_status stream_recv_verify(int fd, uint64_t seed, uint64_t offset, uint64_t len,
				  int timeout_ms, int *err, bool *bad,
				  uint64_t *bad_offset, uint64_t *got);

#define SUBFLOWS_MAX 16

struct subflow_snap {
	uint32_t id;
	struct sockaddr_storage local, remote;
	uint8_t tcp_state; /* TCP_ESTABLISHED = 1 ... */
	/* Sent and delivered: sequence space the peer acknowledged (+1 for a SYN we sent). */
	uint64_t bytes_acked;
	uint64_t bytes_sent; /* payload put on the wire, retransmissions included */
	uint64_t bytes_received;
	uint32_t rtt_us;
	uint32_t rttvar_us;
	uint32_t rcv_rtt_us; /* receiver-side RTT estimate: from TSecr when timestamps are on */
	char ifname[32]; /* local interface holding the local address, or "?" */
};

struct mptcp_snap {
	bool fallback; /* the connection is plain TCP (no MPTCP) */
	uint32_t token;
	uint8_t extra_subflows; /* mptcpi_subflows */
	uint8_t add_addr_accepted;
	uint32_t num_subflows; /* as reported; may exceed SUBFLOWS_MAX */
	uint32_t count; /* entries filled in sf[] */
	uint32_t established; /* entries in TCP_ESTABLISHED */
	struct subflow_snap sf[SUBFLOWS_MAX];
};

/*
 * getsockopt(SOL_MPTCP, MPTCP_FULL_INFO): every subflow with addresses and
 * tcp_info, in one consistent call. 0 or -1 with errno. A fallen-back socket
 * gives 0 with fallback set and no subflows. resolve_ifnames fills ifname
 * (one getifaddrs call per subflow: skip it when polling).
 */
int mptcp_snapshot(int fd, struct mptcp_snap *snap, bool resolve_ifnames);

/*
 * The same snapshot for a plain TCP socket (TCP_INFO): one "subflow", the
 * connection itself; fallback is set, token 0.
 */
int tcp_snapshot(int fd, struct mptcp_snap *snap, bool resolve_ifnames);

/* Local interface owning addr (getifaddrs), "?" when none does. */
void ifname_for_addr(const struct sockaddr *addr, char *buf, size_t len);

/* Print an address:port, writing IPv4-mapped IPv6 addresses as IPv4. */
const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif /* MPLB_PROBE_SOCK_H */
