/* SPDX-License-Identifier: MIT */
/* MPTCP sockets for probe/serve: creation, bounded I/O, subflow snapshots. */
#include "probe/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_*; not <netinet/tcp.h> */
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mptcp_info.h"
#include "probe/proto.h"
#include "util.h"

/* tcp_info.tcpi_state value; <linux/tcp.h> does not export the state enum. */
#define STATE_ESTABLISHED 1

int mptcp_socket_open(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_MPTCP);
	if (fd >= 0)
		return fd;
	int e = errno;
	const char *fam = family == AF_INET6 ? "AF_INET6" : "AF_INET";
	if (e == EPROTONOSUPPORT || e == ENOPROTOOPT || e == EINVAL || e == EAFNOSUPPORT) {
		mplb_err("cannot create an MPTCP socket: socket(%s, SOCK_STREAM, IPPROTO_MPTCP=262): %s",
			 fam, strerror(e));
		mplb_err("MPTCP is unavailable here: the kernel needs CONFIG_MPTCP=y%s, and the "
			 "network namespace needs net.mptcp.enabled=1 (sysctl -w net.mptcp.enabled=1); "
			 "mplb does not fall back to plain TCP",
			 family == AF_INET6 ? " and CONFIG_MPTCP_IPV6=y" : "");
	} else {
		mplb_err("cannot create an MPTCP socket (%s): %s", fam, strerror(e));
	}
	errno = e;
	return -1;
}

const char *io_status_str(enum io_status st, int err, char *buf, size_t len)
{
	switch (st) {
	case IO_OK: snprintf(buf, len, "ok"); break;
	case IO_EOF: snprintf(buf, len, "peer closed the connection early"); break;
	case IO_TIMEOUT: snprintf(buf, len, "timed out"); break;
	case IO_ERROR: snprintf(buf, len, "%s", strerror(err)); break;
	}
	return buf;
}

static enum io_status wait_fd(int fd, short events, int timeout_ms, int *err)
{
	struct pollfd p = {.fd = fd, .events = events};
	for (;;) {
		int n = poll(&p, 1, timeout_ms);
		if (n > 0)
			return IO_OK; /* errors/HUP surface in the following read/write */
		if (n == 0)
			return IO_TIMEOUT;
		if (errno != EINTR) {
			*err = errno;
			return IO_ERROR;
		}
	}
}

enum io_status io_read_full(int fd, void *buf, size_t len, int timeout_ms, int *err)
{
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = recv(fd, p + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			return IO_ERROR;
		}
		enum io_status st = wait_fd(fd, POLLIN, timeout_ms, err);
		if (st)
			return st;
	}
	return IO_OK;
}

enum io_status io_write_full(int fd, const void *buf, size_t len, int timeout_ms, int *err)
{
	const uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);
		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			return IO_ERROR;
		}
		enum io_status st = wait_fd(fd, POLLOUT, timeout_ms, err);
		if (st)
			return st;
	}
	return IO_OK;
}

enum io_status io_connect(int fd, const struct sockaddr *sa, socklen_t len,
			  int timeout_ms, int *err)
{
	if (connect(fd, sa, len) == 0)
		return IO_OK;
	if (errno != EINPROGRESS && errno != EINTR) {
		*err = errno;
		return IO_ERROR;
	}
	enum io_status st = wait_fd(fd, POLLOUT, timeout_ms, err);
	if (st)
		return st;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		*err = soerr;
		return IO_ERROR;
	}
	return IO_OK;
}

#define CHUNK (64 * 1024)

enum io_status stream_send(int fd, uint64_t seed, uint64_t offset, uint64_t len,
			   uint64_t corrupt_at, int timeout_ms, int *err)
{
	uint8_t buf[CHUNK];
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		uint64_t at = offset + done;
		payload_fill(seed, at, buf, n);
		if (corrupt_at >= at && corrupt_at < at + n)
			buf[corrupt_at - at] ^= 0xff;
		enum io_status st = io_write_full(fd, buf, n, timeout_ms, err);
		if (st)
			return st;
		done += n;
	}
	return IO_OK;
}

enum io_status stream_recv_verify(int fd, uint64_t seed, uint64_t offset, uint64_t len,
				  int timeout_ms, int *err, bool *bad,
				  uint64_t *bad_offset, uint64_t *got)
{
	uint8_t buf[CHUNK];
	uint64_t done = 0;
	enum io_status st = IO_OK;
	while (done < len) {
		size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t n = recv(fd, buf, want, 0);
		if (n > 0) {
			uint64_t at;
			if (!*bad && !payload_verify(seed, offset + done, buf, (size_t)n, &at)) {
				*bad = true;
				*bad_offset = at;
			}
			done += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			st = IO_EOF;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*err = errno;
			st = IO_ERROR;
			break;
		}
		st = wait_fd(fd, POLLIN, timeout_ms, err);
		if (st)
			break;
	}
	*got += done;
	return st;
}

/*
 * The per-subflow numbers of both snapshots, from that subflow's TCP_INFO
 * (s->local already set: it names the interface). One place, so an MPTCP
 * subflow and the --tcp control are measured the same way.
 */
static void subflow_from_tcp_info(struct mptcp_snap *snap, struct subflow_snap *s,
				  const struct tcp_info *ti, bool resolve_ifnames)
{
	s->tcp_state = ti->tcpi_state;
	s->bytes_acked = ti->tcpi_bytes_acked;
	s->bytes_sent = ti->tcpi_bytes_sent;
	s->bytes_received = ti->tcpi_bytes_received;
	s->rtt_us = ti->tcpi_rtt;
	s->rttvar_us = ti->tcpi_rttvar;
	s->rcv_rtt_us = ti->tcpi_rcv_rtt;
	if (resolve_ifnames)
		ifname_for_addr((const struct sockaddr *)&s->local, s->ifname, sizeof(s->ifname));
	else
		snprintf(s->ifname, sizeof(s->ifname), "?");
	if (s->tcp_state == STATE_ESTABLISHED)
		snap->established++;
}

int mptcp_snapshot(int fd, struct mptcp_snap *snap, bool resolve_ifnames)
{
	struct mptcp_subflow_info sfinfo[SUBFLOWS_MAX];
	struct tcp_info tcpinfo[SUBFLOWS_MAX];
	struct mptcp_full_info mfi;
	socklen_t len = sizeof(mfi);

	memset(snap, 0, sizeof(*snap));
	memset(sfinfo, 0, sizeof(sfinfo));
	memset(tcpinfo, 0, sizeof(tcpinfo));
	memset(&mfi, 0, sizeof(mfi));
	mfi.size_tcpinfo_user = sizeof(struct tcp_info);
	mfi.size_sfinfo_user = sizeof(struct mptcp_subflow_info);
	mfi.size_arrays_user = SUBFLOWS_MAX;
	mfi.subflow_info = (uintptr_t)sfinfo;
	mfi.tcp_info = (uintptr_t)tcpinfo;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &mfi, &len) < 0) {
		/* The MPTCP-level getsockopts refuse a connection that fell back. */
		if (errno == EOPNOTSUPP) {
			snap->fallback = true;
			return 0;
		}
		return -1;
	}
	int is_mptcp = 1;
	socklen_t il = sizeof(is_mptcp);
	if (getsockopt(fd, IPPROTO_TCP, TCP_IS_MPTCP, &is_mptcp, &il) == 0 && !is_mptcp)
		snap->fallback = true;
	snap->token = mfi.mptcp_info.mptcpi_token;
	snap->extra_subflows = mfi.mptcp_info.mptcpi_subflows;
	snap->add_addr_accepted = mfi.mptcp_info.mptcpi_add_addr_accepted;
	snap->num_subflows = mfi.num_subflows;
	snap->count = mfi.num_subflows < SUBFLOWS_MAX ? mfi.num_subflows : SUBFLOWS_MAX;
	for (uint32_t i = 0; i < snap->count; i++) {
		struct subflow_snap *s = &snap->sf[i];
		const struct tcp_info *ti = &tcpinfo[i];
		s->id = sfinfo[i].id;
		memcpy(&s->local, &sfinfo[i].addrs.ss_local, sizeof(s->local));
		memcpy(&s->remote, &sfinfo[i].addrs.ss_remote, sizeof(s->remote));
		subflow_from_tcp_info(snap, s, ti, resolve_ifnames);
	}
	return 0;
}

int tcp_snapshot(int fd, struct mptcp_snap *snap, bool resolve_ifnames)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti), al;
	struct subflow_snap *s = &snap->sf[0];

	memset(snap, 0, sizeof(*snap));
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	snap->fallback = true;
	snap->num_subflows = snap->count = 1;
	al = sizeof(s->local);
	getsockname(fd, (struct sockaddr *)&s->local, &al);
	al = sizeof(s->remote);
	getpeername(fd, (struct sockaddr *)&s->remote, &al);
	subflow_from_tcp_info(snap, s, &ti, resolve_ifnames);
	return 0;
}

/* An IPv4-mapped IPv6 address as plain IPv4 (port kept); otherwise a copy. */
static void unmap_v4(const struct sockaddr *in, struct sockaddr_storage *out)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)in;
	memset(out, 0, sizeof(*out));
	if (in->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	} else if (in->sa_family == AF_INET) {
		memcpy(out, in, sizeof(struct sockaddr_in));
	} else if (in->sa_family == AF_INET6) {
		memcpy(out, in, sizeof(struct sockaddr_in6));
	}
}

const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct sockaddr_storage plain;
	unmap_v4((const struct sockaddr *)ss, &plain);
	return sockaddr_str((const struct sockaddr *)&plain, buf, len);
}

void ifname_for_addr(const struct sockaddr *addr, char *buf, size_t len)
{
	struct sockaddr_storage want;
	struct ifaddrs *ifa_list, *ifa;

	snprintf(buf, len, "?");
	unmap_v4(addr, &want);
	if (getifaddrs(&ifa_list) < 0)
		return;
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != want.ss_family)
			continue;
		bool match;
		if (want.ss_family == AF_INET)
			match = !memcmp(&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr,
					&((struct sockaddr_in *)&want)->sin_addr,
					sizeof(struct in_addr));
		else
			match = !memcmp(&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr,
					&((struct sockaddr_in6 *)&want)->sin6_addr,
					sizeof(struct in6_addr));
		if (match) {
			snprintf(buf, len, "%s", ifa->ifa_name);
			break;
		}
	}
	freeifaddrs(ifa_list);
}
