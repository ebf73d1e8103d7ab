/* SPDX-License-Identifier: MIT */
/*
 * A small libmnl client of the kernel's "mptcp_pm" generic netlink family:
 * resolve the family and its events group, subscribe, parse events into a
 * plain struct, and send the userspace path-manager commands.
 *
 * Byte order (the classic trap): the address-nest PORT is a host-order u16,
 * event SPORT/DPORT are big-endian. This API hides both: every port in the
 * structs below is in host order.
 */
#ifndef MPLB_MPTCP_PM_NL_H
#define MPLB_MPTCP_PM_NL_H

#include <linux/mptcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;
struct nlattr;
struct mnl_socket;

/* Newer than Debian 12's uapi headers; values from the kernel's YAML spec. */
#ifndef MPTCP_PM_EV_FLAG_DENY_JOIN_ID0
#define MPTCP_PM_EV_FLAG_DENY_JOIN_ID0 (1u << 0)
#endif
#define MPLB_PM_EV_FLAG_SERVER_SIDE (1u << 1)
#define MPLB_PM_ADDR_FLAG_LAMINAR (1u << 5)
#define MPLB_EVENT_LISTENER_CREATED 15
#define MPLB_EVENT_LISTENER_CLOSED 16
#define MPLB_ATTR_SERVER_SIDE 18

union mptcp_pm_nl_inaddr {
	struct in_addr v4;
	struct in6_addr v6;
};

/* One endpoint address as the address nest carries it. */
struct mptcp_pm_nl_addr {
	int family;		    /* AF_INET, AF_INET6; 0 = unset */
	union mptcp_pm_nl_inaddr addr;
	uint16_t port;		    /* host order, 0 = none */
	uint8_t id;		    /* 0 = none / initial address */
	uint32_t flags;		    /* MPTCP_PM_ADDR_FLAG_* */
	int ifindex;		    /* 0 = none */
};

/* A parsed mptcp_pm_events message. has_* say which optional attrs came. */
struct mptcp_pm_nl_event {
	uint8_t type;		    /* MPTCP_EVENT_* */
	uint32_t token;
	int family;
	union mptcp_pm_nl_inaddr saddr, daddr;
	bool has_saddr, has_daddr;
	uint16_t sport, dport;	    /* host order (the wire is big-endian) */
	bool has_sport, has_dport;
	uint8_t loc_id, rem_id;
	bool has_loc_id, has_rem_id;
	uint8_t backup;
	uint8_t error;		    /* copy of sk_err on SUB_CLOSED */
	bool has_error;
	uint16_t flags;		    /* MPTCP_PM_EV_FLAG_* */
	bool server_side;	    /* attribute (old) or flag bit 1 (6.18) */
	int ifindex;
	uint32_t timeout, reset_reason, reset_flags;
};

struct mptcp_pm_nl {
	struct mnl_socket *cmd;	    /* requests and their acks */
	struct mnl_socket *ev;	    /* events only, so acks never interleave */
	uint16_t family_id;
	uint32_t events_group;
	uint32_t seq;
	char errmsg[160];	    /* extack text of the last failed command */
};

/*
 * Resolve the family (CTRL_CMD_GETFAMILY). 0, or -ENOENT when the kernel has
 * no mptcp_pm family (CONFIG_MPTCP off), other -errno on socket errors.
 */
int mptcp_pm_nl_open(struct mptcp_pm_nl *pm);
/* Open the event socket and join mptcp_pm_events (needs CAP_NET_ADMIN). */
int mptcp_pm_nl_subscribe(struct mptcp_pm_nl *pm);
int mptcp_pm_nl_event_fd(const struct mptcp_pm_nl *pm);
void mptcp_pm_nl_close(struct mptcp_pm_nl *pm);

typedef void (*mptcp_pm_nl_event_cb)(const struct mptcp_pm_nl_event *ev, void *data);
/*
 * Read one datagram of events (non-blocking) and call cb for each. Returns
 * the number of events, 0 when nothing was pending, -ENOBUFS when the kernel
 * dropped events (socket overrun: state may be stale), other -errno.
 */
int mptcp_pm_nl_read_events(struct mptcp_pm_nl *pm, mptcp_pm_nl_event_cb cb,
			    void *data);
/*
 * Like mptcp_pm_nl_read_events, but until the socket is empty: a datagram
 * without events of this family does not end the read early, so a final
 * drain before closing sees everything that was queued. The total, or -errno.
 */
int mptcp_pm_nl_drain_events(struct mptcp_pm_nl *pm, mptcp_pm_nl_event_cb cb,
			     void *data);

/*
 * open + subscribe, for a process that only listens. On failure returns
 * -errno with pm closed, and writes a one-line reason into why that names
 * the fix: CONFIG_MPTCP when the family is missing, CAP_NET_ADMIN when the
 * kernel refuses the group join.
 */
int mptcp_pm_nl_open_events(struct mptcp_pm_nl *pm, char *why, size_t whylen);

/* Pure parsers (no socket), usable on captured or synthesised messages. */
int mptcp_pm_nl_event_parse(const struct nlmsghdr *nlh, struct mptcp_pm_nl_event *ev);
int mptcp_pm_nl_addr_parse(const struct nlattr *nest, struct mptcp_pm_nl_addr *out);
const char *mptcp_pm_nl_event_name(uint8_t type);

/*
 * Commands. Each waits for the kernel's ack: 0 or -errno; on failure
 * pm->errmsg holds the kernel's extack message if it sent one.
 */
int mptcp_pm_nl_announce(struct mptcp_pm_nl *pm, uint32_t token,
			 const struct mptcp_pm_nl_addr *local);
int mptcp_pm_nl_remove(struct mptcp_pm_nl *pm, uint32_t token, uint8_t loc_id);
int mptcp_pm_nl_subflow_create(struct mptcp_pm_nl *pm, uint32_t token,
			       const struct mptcp_pm_nl_addr *local,
			       const struct mptcp_pm_nl_addr *remote);
/* Both ports are required by the kernel to find the subflow. */
int mptcp_pm_nl_subflow_destroy(struct mptcp_pm_nl *pm, uint32_t token,
				const struct mptcp_pm_nl_addr *local,
				const struct mptcp_pm_nl_addr *remote);
/* Userspace PM: flags (MPTCP_PM_ADDR_FLAG_BACKUP) of one subflow -> MP_PRIO. */
int mptcp_pm_nl_set_flags(struct mptcp_pm_nl *pm, uint32_t token,
			  const struct mptcp_pm_nl_addr *local,
			  const struct mptcp_pm_nl_addr *remote, uint32_t flags);

typedef void (*mptcp_pm_nl_addr_cb)(const struct mptcp_pm_nl_addr *addr, void *data);
/*
 * GET_ADDR dump: with token 0 the in-kernel PM's endpoints, otherwise the
 * userspace PM's local addresses of that connection. Returns the count or -errno.
 */
int mptcp_pm_nl_get_addr_dump(struct mptcp_pm_nl *pm, uint32_t token,
			      mptcp_pm_nl_addr_cb cb, void *data);

/*
 * Message builders used by the commands, exposed for tests: write a complete
 * request into buf (at least MNL_SOCKET_BUFFER_SIZE bytes) and return it.
 * remote may be NULL (ANNOUNCE).
 */
struct nlmsghdr *mptcp_pm_nl_build_request(void *buf, uint16_t family_id,
					uint8_t cmd, uint32_t seq,
					uint32_t token,
					const struct mptcp_pm_nl_addr *local,
					const struct mptcp_pm_nl_addr *remote);
void mptcp_pm_nl_put_addr(struct nlmsghdr *nlh, uint16_t type,
		       const struct mptcp_pm_nl_addr *a);

/* "10.0.0.1" / "fd00::1" (no port) into buf. */
const char *mptcp_pm_nl_inaddr_str(int family, const union mptcp_pm_nl_inaddr *a,
				char *buf, size_t len);
bool mptcp_pm_nl_inaddr_eq(int family, const union mptcp_pm_nl_inaddr *a,
			const union mptcp_pm_nl_inaddr *b);
/* family/address/host-order port as a sockaddr (any family but AF_INET is v6). */
void mptcp_pm_nl_sockaddr(struct sockaddr_storage *ss, int family,
			  const union mptcp_pm_nl_inaddr *a, uint16_t port);

/*
 * In-kernel path manager (endpoints and limits of this network namespace).
 * endpoint_add: ADD_ADDR with the address nest as given (id 0 = the kernel
 * picks one; read it back with the dump). endpoint_del: DEL_ADDR by id (id 0
 * needs the address). endpoint_set_flags: SET_FLAGS without a token, by id
 * (or by address when id is 0): the kernel changes backup/fullmesh on the
 * endpoint and sends MP_PRIO on every subflow using that local address.
 * 0 or -errno; pm->errmsg holds the kernel's reason.
 */
int mptcp_pm_nl_endpoint_add(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr);
int mptcp_pm_nl_endpoint_del(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr);
int mptcp_pm_nl_endpoint_set_flags(struct mptcp_pm_nl *pm, const struct mptcp_pm_nl_addr *addr,
				   uint32_t flags);
/* GET_LIMITS / SET_LIMITS: accepted ADD_ADDRs and extra subflows per connection. */
int mptcp_pm_nl_get_limits(struct mptcp_pm_nl *pm, uint32_t *rcv_add_addrs, uint32_t *subflows);
int mptcp_pm_nl_set_limits(struct mptcp_pm_nl *pm, uint32_t rcv_add_addrs, uint32_t subflows);

#endif /* MPLB_MPTCP_PM_NL_H */
