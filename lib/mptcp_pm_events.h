/* SPDX-License-Identifier: MIT */
/*
 * Listener for the MPTCP path-manager events of the current network
 * namespace: generic netlink family "mptcp_pm", multicast group
 * "mptcp_pm_events" (joining it needs CAP_NET_ADMIN).
 *
 * Typical use: open, poll mptcp_pm_events_fd() in a thread, call
 * mptcp_pm_events_dispatch() when it is readable.
 */
#ifndef MPLB_MPTCP_PM_EVENTS_H
#define MPLB_MPTCP_PM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct nlmsghdr;

/* One decoded event. Absent attributes stay zero (has_* says which came). */
struct mptcp_pm_event {
	uint8_t type; /* MPTCP_EVENT_* (1 CREATED .. 11 SUB_CLOSED ...) */
	uint32_t token;
	uint16_t family;
	uint8_t loc_id, rem_id;
	bool has_loc_id, has_rem_id;
	/* Addresses with ports in network order, as in any sockaddr. */
	struct sockaddr_storage saddr, daddr;
	bool has_saddr, has_daddr;
	uint8_t backup;
	uint8_t error; /* sk_err of a closed subflow */
	bool has_error;
	uint16_t flags;
	int32_t ifindex;
	bool has_ifindex;
	uint8_t server_side;
};

/*
 * Decode one generic-netlink event message (nlmsghdr + genlmsghdr + attrs).
 * Returns 0, or -1 when the message is not a well-formed mptcp_pm event.
 */
int mptcp_pm_event_parse(const struct nlmsghdr *nlh, struct mptcp_pm_event *ev);

/* Event type name ("SUB_ESTABLISHED"), or "UNKNOWN". */
const char *mptcp_pm_event_name(uint8_t type);

struct mptcp_pm_events;
typedef void (*mptcp_pm_event_cb)(const struct mptcp_pm_event *ev, void *arg);

/*
 * Resolve the family and join its event group. On failure returns NULL and
 * writes a one-line reason (naming CAP_NET_ADMIN / CONFIG_MPTCP) into err.
 */
struct mptcp_pm_events *mptcp_pm_events_open(char *err, size_t errlen);
int mptcp_pm_events_fd(const struct mptcp_pm_events *evs);
/*
 * Read what is queued (non-blocking) and call cb for every event. Returns the
 * number of events, or -1 on a socket error (ENOBUFS means events were lost).
 */
int mptcp_pm_events_dispatch(struct mptcp_pm_events *evs, mptcp_pm_event_cb cb,
			     void *arg);
void mptcp_pm_events_close(struct mptcp_pm_events *evs);

#endif /* MPLB_MPTCP_PM_EVENTS_H */
