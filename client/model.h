/* SPDX-License-Identifier: MIT */
/*
 * mplb client: the daemon's model of local uplinks, MPTCP connections, the
 * peer's addresses and our subflows, plus the core that executes policy
 * decisions (SUBFLOW_CREATE/DESTROY through an executor, retries with
 * backoff, a decision log). The core knows nothing about sockets, so unit
 * tests drive it with a fake executor and a fake clock.
 */
#ifndef MPLB_CLIENT_MODEL_H
#define MPLB_CLIENT_MODEL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mptcp_pm_nl.h"
#include "mplb/addr_attr.h"

#define CL_MAX_UPLINKS 16
#define CL_MAX_REMOTES 16
#define CL_MAX_SUBFLOWS 32	/* per connection, closed ones included */
#define CL_MAX_LOCAL_IDS 255
#define CL_DECISIONS 64		/* decision log ring */
#define CL_MAX_UNITS 6		/* policy units composed per daemon */
#define CL_MAX_STATIC_ATTRS 32	/* [remote NAME] sections */
#define CL_MAX_ORPHANS 32	/* wire attributes waiting for their connection */
#define CL_MAX_LOST 4		/* local ids to withdraw after one failover */

/*
 * Attributes of a remote address (draft-duchene-mptcp-add-addr-00 §2.2-2.4):
 * from the wire (the peer's mplb advert), or from our config as a stand-in.
 * Unknown (source NONE) reads as the draft's legacy peer: not a backup,
 * priority 0, a community of its own.
 */
enum cl_attr_source {
	CL_ATTR_NONE = 0,
	CL_ATTR_CONFIG,		/* [remote NAME] in the client config */
	CL_ATTR_WIRE,		/* attribute option (kind 253, ExID 0x4d41) */
	CL_ATTR_WIRE_DRAFT,	/* the draft's octet inside ADD_ADDR */
};

struct cl_attr {
	uint8_t source;		/* enum cl_attr_source */
	bool backup;
	uint8_t prio;		/* 0..7, highest most preferred */
	uint8_t community;	/* 0..15 */
};

/* A local interface that can carry subflows. */
struct cl_uplink {
	bool used;
	int ifindex;
	char name[IF_NAMESIZE];
	bool oper_up;		/* IFF_UP and IFF_RUNNING */
	bool allowed;		/* not excluded (lo, config allow-list) */
	bool has_v4, has_v6;	/* first global, non-tentative address per family */
	struct in_addr v4;
	struct in6_addr v6;
	double up_since;	/* when it last became usable, for timing logs */
	bool up_at_start;	/* usable in the daemon's initial dump: up_since is not an event */
};

/* A remote address of a connection: the initial one (id 0) or announced. */
struct cl_remote {
	bool used;
	uint8_t id;
	int family;
	union mptcp_pm_nl_inaddr addr;
	uint16_t port;
	bool initial;
	bool removed;		/* the peer sent RM_ADDR */
	struct cl_attr attr;
	/*
	 * Attribute-aware units decide on an announced address once its
	 * attributes are known, or at this deadline (0 = decided/told).
	 */
	double attr_deadline;
	bool told;		/* units have seen addr_announced for it */
	/*
	 * cross_family = fallback: an IPv4 address announced on an IPv6
	 * connection is held until this time (0 = not held) for an IPv6
	 * announcement that would make it unnecessary (see cl_config).
	 */
	double cross_deadline;
	char refused[120];	/* last admission refusal logged, to log each once */
};

/*
 * One TCP socket as sock_diag reports it (tcp_info), for dark-path
 * detection. Ports host order; times in ms since the event.
 */
struct cl_tcp_sample {
	int family;
	union mptcp_pm_nl_inaddr laddr, raddr;
	uint16_t lport, rport;
	uint32_t unacked;		/* segments in flight */
	uint32_t last_data_recv_ms, last_ack_recv_ms;
	uint32_t rtt_us, rttvar_us;
	uint32_t backoff;		/* RTO backoffs in a row */
	uint32_t segs_in;		/* segments received, any */
	uint64_t bytes_received, bytes_acked;
};

/*
 * A subflow's health, from successive samples. A path is dark when data is
 * in flight and no ACK came for dark_after_ms, or when a steady stream
 * stopped and a probe got no answer within probe_wait_ms.
 */
struct cl_sf_health {
	bool sampled;
	uint64_t rx_bytes, acked_bytes;
	uint32_t segs_in;
	double rx_at;		/* last sample where bytes_received grew */
	unsigned rx_streak;	/* samples in a row where it grew */
	double probe_at;	/* a probe is out since then (0: none) */
	enum cl_probe_kind {
		CL_PROBE_STREAM,	/* a stream stopped */
		CL_PROBE_SENDING,	/* data in flight, no ACK */
		CL_PROBE_IDLE,		/* an idle subflow, now and then */
	} probe_kind;
	uint32_t probe_segs_in;	/* segs_in when it left */
	double last_probe_at;	/* any kind: probes are CL_PROBE_GAP apart */
	bool dark;
	double silent_since;	/* the kernel's estimate of when the path went quiet */
};

enum cl_sf_state {
	CL_SF_CONNECTING,	/* SUBFLOW_CREATE accepted, no SUB_ESTABLISHED yet */
	CL_SF_ESTABLISHED,
	CL_SF_RETRY_WAIT,	/* failed; retry at retry_at */
	CL_SF_CLOSED,		/* closed for good (gave up, uplink down, removed) */
};

struct cl_subflow {
	bool used;
	bool initial;		/* the connection's first subflow (not ours) */
	int family;
	union mptcp_pm_nl_inaddr laddr, raddr;
	uint16_t lport, rport;
	uint8_t loc_id, rem_id;
	int ifindex;		/* uplink */
	enum cl_sf_state state;
	bool closing_by_us;	/* we sent SUBFLOW_DESTROY */
	unsigned attempts;	/* consecutive failed attempts */
	double retry_at;
	int last_error;		/* errno of the last failure, 0 if none */
	double created_at, established_at;
	bool backup;		/* backup flag we asked for (MP_JOIN B, then MP_PRIO) */
	bool peer_backup;	/* the event's backup field */
	bool failover;		/* opened by make-after-break after a break */
	bool standby;		/* make-before-break's standby */
	bool peer_closed;	/* closed in order by the peer: not re-opened by filling */
	bool gave_up;		/* retries exhausted: not re-opened by filling */
	bool close_when_up;	/* closed while connecting: destroy on SUB_ESTABLISHED */
	bool trial;		/* make-after-break's try of a better address */
	struct cl_sf_health hl;
};

struct cl_conn {
	struct cl_conn *next;
	uint32_t token;
	int family;
	union mptcp_pm_nl_inaddr laddr, raddr;
	uint16_t lport, rport;
	bool established;
	bool deny_join_id0;	/* the peer set the C bit */
	bool peer_attrs;	/* the peer sent attributes (it runs mplb advert) */
	struct cl_remote remotes[CL_MAX_REMOTES];
	struct cl_subflow subflows[CL_MAX_SUBFLOWS];
	/* Wire attributes for ids not announced yet. */
	struct {
		bool used;
		uint8_t id;
		struct cl_attr attr;
	} early[CL_MAX_REMOTES];
	/* make-after-break / make-before-break state. */
	struct {
		bool broken;		/* lost the active path, nothing to fail over to yet */
		double break_at;	/* when the active path was lost (a dark path: when it went quiet) */
		double noticed_at;	/* a dark path: when it was declared dark (0: not a dark path) */
		/* A dark path's local address: kept if the failover leaves from it too. */
		bool dark_lost;
		int dark_family;
		union mptcp_pm_nl_inaddr dark_laddr;
		uint8_t dark_loc_id;
		/*
		 * Return to a better address after a failover, with hysteresis:
		 * a trial subflow (backup flag) after return_hold, promoted once it
		 * has stayed up for CL_RETURN_SETTLE; each failed trial doubles
		 * the hold (up to CL_RETURN_HOLD_MAX).
		 */
		double return_at;	/* next step (0: none) */
		double return_hold;
		int trial_id, trial_ifindex;	/* -1: no trial */
		double trial_up_at;
		int retire_id, retire_ifindex;	/* the path the trial replaced, closed at retire_at */
		double retire_at;
		int lost_ifindex;
		int lost_community;	/* cl_community_key() of the lost remote, -1 none */
		int lost_rem_id;	/* the lost remote's id, -1 none */
		int target_id;		/* failover target remote id, -1 none */
		int target_ifindex;
		int standby_id;		/* make-before-break standby remote id, -1 none */
		int standby_ifindex;
		uint8_t lost_ids[CL_MAX_LOST];	/* local ids to withdraw once failed over */
		unsigned n_lost;
	} bk;
};

struct cl_decision {
	double time;
	uint32_t token;
	char text[200];
};

struct cl_config {
	unsigned max_subflows;	     /* additional subflows per connection */
	unsigned retry_max;	     /* attempts after a failure, per subflow */
	unsigned retry_base_ms;	     /* first backoff, doubled each attempt */
	unsigned retry_cap_ms;	     /* backoff ceiling */
	char uplinks[CL_MAX_UPLINKS][IF_NAMESIZE]; /* allow-list, empty = all */
	unsigned n_uplinks;
	char policy[128];	     /* comma list of units; spread is always added last */
	bool wire_attrs;	     /* learn the peer's attributes from the wire (BPF) */
	unsigned attr_wait_ms;	     /* how long to wait for an announced address's attributes */
	bool keep_non_backup;	     /* make-after/before-break keep every non-backup address, not one subflow */
	unsigned community_subflows; /* community unit: subflows per community */
	bool withdraw_lost;	     /* after a failover, RM_ADDR the lost local address */
	/*
	 * IPv4 remotes on IPv6 connections (a dual-stack socket carries IPv4
	 * subflows): never, always, or (fallback, the default) only when the
	 * peer has no usable address of the connection's family. The fallback
	 * is what a port-scheme server needs: its IPv6 ADD_ADDR with a port
	 * does not fit beside timestamps, so an IPv6 connection only hears of
	 * the IPv4 join port. Stock Linux clients join it too.
	 */
	enum cl_cross_family { CL_CROSS_NO, CL_CROSS_FALLBACK, CL_CROSS_YES } cross_family;
	/* fallback: how long an IPv4 announcement waits for an IPv6 one (the
	 * in-kernel PM sends the next ADD_ADDR once the previous is echoed). */
	unsigned cross_family_wait_ms;
	/* Dark-path detection (make-after-break, make-before-break). */
	unsigned health_interval_ms; /* sock_diag sampling period (0: off) */
	unsigned dark_after_ms;	     /* no ACK with data in flight / no data after a stream, at least 3 RTT */
	unsigned probe_wait_ms;	     /* a probe's answer, at least 3 RTT */
	unsigned idle_probe_ms;	     /* probe an idle active subflow this often (0: never) */
	struct cl_static_attr {
		char name[32];
		int family;
		union mptcp_pm_nl_inaddr addr;
		struct cl_attr attr;
	} static_attrs[CL_MAX_STATIC_ATTRS]; /* [remote NAME] stand-ins */
	unsigned n_static_attrs;
};

struct cl_ctx;

/* What the core needs from the kernel; the daemon wires these to netlink. */
struct cl_executor {
	int (*subflow_create)(struct cl_ctx *ctx, uint32_t token,
			      const struct mptcp_pm_nl_addr *local,
			      const struct mptcp_pm_nl_addr *remote);
	int (*subflow_destroy)(struct cl_ctx *ctx, uint32_t token,
			       const struct mptcp_pm_nl_addr *local,
			       const struct mptcp_pm_nl_addr *remote);
	/*
	 * Would a subflow from local (bound to u) reach remote through u?
	 * Without a route the kernel "assumes on-link" for a device-bound
	 * socket and the SYN dies in ARP, so the core waits for the route.
	 * NULL = assume yes.
	 */
	bool (*route_ok)(struct cl_ctx *ctx, const struct cl_uplink *u,
			 const struct mptcp_pm_nl_addr *local,
			 const struct mptcp_pm_nl_addr *remote);
	/* A log line (decision or event). */
	void (*log)(struct cl_ctx *ctx, const char *kind, uint32_t token,
		    const char *text);
	void *data;
	/* Userspace PM SET_FLAGS: the kernel sends MP_PRIO on that subflow. NULL = unsupported. */
	int (*set_backup)(struct cl_ctx *ctx, uint32_t token,
			  const struct mptcp_pm_nl_addr *local,
			  const struct mptcp_pm_nl_addr *remote, bool backup);
	/* Tell the peer local address id is gone (RM_ADDR) on a live subflow. NULL = skip. */
	int (*withdraw_local)(struct cl_ctx *ctx, uint32_t token, uint8_t loc_id);
	/* Make the peer's TCP answer on this subflow (tcp_health_probe). NULL = no probes. */
	int (*probe)(struct cl_ctx *ctx, const struct cl_subflow *sf);
};

/*
 * A policy unit: one callback per event, mptcpd-plugin style. Each may be
 * NULL. Units act only through the cl_* actions below. Several are composed
 * (config "policy = community, priority, make-after-break"): every event goes
 * to each unit in order, spread last; spread fills the gaps (a subflow from
 * every uplink to every usable address), and the others shape that through
 * admit() (may this subflow exist?) and backup() (should it carry the backup
 * flag?), besides acting on events themselves (a failover, a re-flag).
 */
struct cl_policy_ops {
	const char *name;
	/* Decisions depend on attributes: announced addresses wait attr_wait_ms for them. */
	bool needs_attrs;
	/* Attributes of r became known or changed after it was announced. */
	void (*addr_attrs)(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r);
	/* May a subflow u -> r be opened now? false, with why filled, refuses. */
	bool (*admit)(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		      struct cl_remote *r, char *why, size_t len);
	/* 1: a subflow to r should be a backup; 0 no; -1 no opinion. Any 1 wins. */
	int (*backup)(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r);
	void (*conn_established)(struct cl_ctx *ctx, struct cl_conn *c);
	void (*conn_closed)(struct cl_ctx *ctx, struct cl_conn *c);
	void (*addr_announced)(struct cl_ctx *ctx, struct cl_conn *c,
			       struct cl_remote *r);
	void (*addr_removed)(struct cl_ctx *ctx, struct cl_conn *c,
			     struct cl_remote *r);
	void (*subflow_established)(struct cl_ctx *ctx, struct cl_conn *c,
				    struct cl_subflow *sf);
	/* error: sk_err of the subflow (0 = orderly close). */
	void (*subflow_closed)(struct cl_ctx *ctx, struct cl_conn *c,
			       struct cl_subflow *sf, int error);
	void (*uplink_up)(struct cl_ctx *ctx, struct cl_uplink *u);
	void (*uplink_down)(struct cl_ctx *ctx, struct cl_uplink *u);
	/* sf's path went dark (its uplink is up, nothing gets through), or came back. */
	void (*path_dark)(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf);
	void (*path_back)(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf);
	/* Dark-path detection wanted: the daemon samples sock_diag. */
	bool needs_health;
	/* Timers of the unit: runs from cl_tick; seconds until it wants to run again (-1: no timer). */
	double (*tick)(struct cl_ctx *ctx);
};

struct cl_ctx {
	struct cl_config cfg;
	const struct cl_policy_ops *policy;	/* the first unit (kept for callers) */
	const struct cl_policy_ops *units[CL_MAX_UNITS];
	unsigned n_units;
	bool needs_attrs;		/* some unit has needs_attrs */
	struct cl_executor exec;
	double now;			/* set by the loop before each call */
	struct cl_uplink uplinks[CL_MAX_UPLINKS];
	struct cl_conn *conns;
	/* Stable local address ids: the kernel wants one id per address. */
	struct {
		int family;
		union mptcp_pm_nl_inaddr addr;
	} ids[CL_MAX_LOCAL_IDS + 1];
	struct cl_decision decisions[CL_DECISIONS];
	unsigned n_decisions;		/* total ever; ring index = n % CL_DECISIONS */
	bool dirty;			/* state changed since the last save */
	bool startup;			/* the daemon is reading the initial interface dump */
	/* Wire attributes that arrived before their connection's first event. */
	struct cl_orphan {
		bool used;
		double at;
		uint32_t token;
		int family;
		union mptcp_pm_nl_inaddr saddr, daddr; /* the peer, us */
		uint16_t sport, dport;
		uint8_t id;
		struct cl_attr attr;
	} orphans[CL_MAX_ORPHANS];
	/* Attribute bookkeeping in the daemon (the BPF side counts its own). */
	struct {
		uint64_t pairs;		/* pairs received */
		uint64_t applied;	/* ... applied to a known address */
		uint64_t early;		/* ... held until ANNOUNCED */
		uint64_t orphaned;	/* ... for no known connection (yet) */
		uint64_t expired;	/* ... dropped: nothing claimed them in time */
		uint64_t changed;	/* attributes of an address changed */
		uint64_t waited_out;	/* addresses decided without attributes after attr_wait_ms */
	} attr_stats;
	/* Dark-path detection. */
	struct {
		uint64_t probes, answered, dark, back;
	} health_stats;
};

void cl_config_defaults(struct cl_config *cfg);
void cl_ctx_init(struct cl_ctx *ctx, const struct cl_config *cfg,
		 const struct cl_policy_ops *policy,
		 const struct cl_executor *exec);
void cl_ctx_free(struct cl_ctx *ctx);
/* Add a policy unit after the ones there (at most CL_MAX_UNITS). 0 or -1. */
int cl_ctx_add_unit(struct cl_ctx *ctx, const struct cl_policy_ops *unit);
/* Policy unit by name ("spread", "make-after-break", ...), NULL if unknown. */
const struct cl_policy_ops *cl_policy_find(const char *name);
/*
 * Resolve a comma list of unit names into units[] (spread appended if
 * absent). Returns the count, or -1 with err naming the unknown unit.
 */
int cl_policy_resolve(const char *list, const struct cl_policy_ops **units, unsigned max,
		      char *err, size_t errlen);
/* "community, priority, spread" */
const char *cl_policy_names(const struct cl_ctx *ctx, char *buf, size_t len);

/* ---- inputs from the event loop (kernel events, interface changes) ---- */
void cl_on_pm_event(struct cl_ctx *ctx, const struct mptcp_pm_nl_event *ev);
/* Interface state after any rtnetlink change (or the initial dump). */
void cl_uplink_update(struct cl_ctx *ctx, int ifindex, const char *name,
		      bool oper_up);
void cl_uplink_addr(struct cl_ctx *ctx, int ifindex, int family,
		    const void *addr, bool add);
void cl_uplink_gone(struct cl_ctx *ctx, int ifindex);
/* A route appeared: subflows waiting for one are retried now. */
void cl_routes_changed(struct cl_ctx *ctx);
/*
 * One sock_diag sample of a TCP socket: matched to a subflow of ours, it
 * updates that subflow's health and may declare its path dark (the units'
 * path_dark) or back. Unmatched samples are ignored.
 */
void cl_on_tcp_sample(struct cl_ctx *ctx, const struct cl_tcp_sample *s);
/* Some unit wants dark-path detection and some connection is established. */
bool cl_health_wanted(const struct cl_ctx *ctx);
/* Run due retries; returns seconds until the next one (-1 = none). */
double cl_tick(struct cl_ctx *ctx);
/*
 * Attributes from the wire: id of the peer's address and its attribute
 * octet, for the connection with our token (0 = unknown: matched by the
 * segment's addresses, peer = saddr). source: CL_ATTR_WIRE or _WIRE_DRAFT.
 */
void cl_on_attr(struct cl_ctx *ctx, uint32_t token, int family,
		const union mptcp_pm_nl_inaddr *saddr, const union mptcp_pm_nl_inaddr *daddr,
		uint16_t sport, uint16_t dport, uint8_t id, uint8_t octet, uint8_t source);

/* ---- actions for policies ---- */
bool cl_uplink_usable(const struct cl_uplink *u, int family);
struct cl_uplink *cl_uplink_by_ifindex(struct cl_ctx *ctx, int ifindex);
/* Does c have a live (connecting/established/retrying) subflow u -> r? */
struct cl_subflow *cl_subflow_find(struct cl_conn *c, const struct cl_uplink *u,
				   const struct cl_remote *r);
unsigned cl_conn_extra_subflows(const struct cl_conn *c);
/* May c get subflows to r at all (family, C bit, removed)? */
bool cl_remote_usable(const struct cl_ctx *ctx, const struct cl_conn *c,
		      const struct cl_remote *r);
/* Why r is not usable on c because of its family ("" when the family is fine). */
const char *cl_remote_family_refusal(const struct cl_ctx *ctx, const struct cl_conn *c,
				     const struct cl_remote *r);
const char *cl_cross_family_name(enum cl_cross_family v);
/* Open a subflow u -> r now; reason goes to the decision log. 0 or -errno. */
int cl_subflow_open(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
		    struct cl_remote *r, const char *reason);
/* Same with the backup flag chosen by the caller (-1: ask the units). */
int cl_subflow_open_flag(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
			 struct cl_remote *r, int backup, const char *reason);
/* Would the units admit u -> r? why gets the first refusal. */
bool cl_admit(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *u,
	      struct cl_remote *r, char *why, size_t len);
/* The backup flag the units want for a subflow to r. */
bool cl_want_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_remote *r);
/* Bring every established subflow's backup flag in line (SET_FLAGS -> MP_PRIO). */
void cl_reflag(struct cl_ctx *ctx, struct cl_conn *c, const char *why);
/* Change one subflow's backup flag. 0 or -errno. */
int cl_subflow_set_backup(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf,
			  bool backup, const char *reason);
/*
 * Make the kernel send an ACK on sf now (SET_FLAGS with the flag unchanged:
 * an MP_PRIO that changes nothing), e.g. to carry a pending RM_ADDR. 0 or -errno.
 */
int cl_subflow_nudge(struct cl_ctx *ctx, struct cl_conn *c, struct cl_subflow *sf);
/* Live (connecting, established, retrying) subflows of c, initial included. */
unsigned cl_conn_live_subflows(const struct cl_conn *c);
/* The remote a subflow goes to (NULL if unknown). */
struct cl_remote *cl_subflow_remote(struct cl_conn *c, const struct cl_subflow *sf);
/* Rank for ordering: non-backup above backup, then priority (0..15). */
int cl_remote_rank(const struct cl_remote *r);
/* Community of r, or a value of its own when unknown (256 + id). */
int cl_community_key(const struct cl_remote *r);
/* "prio 7, community 1, backup, wire" */
const char *cl_attr_str(const struct cl_attr *a, char *buf, size_t len);
/* Filling (spread): open what the units admit, for every remote / uplink (NULL = all). */
void cl_fill(struct cl_ctx *ctx, struct cl_conn *c, struct cl_uplink *only, const char *why);
/* Close one of our subflows (SUBFLOW_DESTROY). */
int cl_subflow_close(struct cl_ctx *ctx, struct cl_conn *c,
		     struct cl_subflow *sf, const char *reason);
/* Schedule a retry with backoff; false (and closed for good) when exhausted. */
bool cl_subflow_retry_later(struct cl_ctx *ctx, struct cl_conn *c,
			    struct cl_subflow *sf, const char *why);
/* Record a decision (also logged). */
void cl_decide(struct cl_ctx *ctx, uint32_t token, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const char *cl_sf_state_name(enum cl_sf_state s);
/* Local id of an address (allocated on first use, stable afterwards). */
uint8_t cl_local_id(struct cl_ctx *ctx, int family,
		    const union mptcp_pm_nl_inaddr *addr);
struct cl_conn *cl_conn_find(struct cl_ctx *ctx, uint32_t token);

extern const struct cl_policy_ops cl_policy_spread;
extern const struct cl_policy_ops cl_policy_make_after_break;
extern const struct cl_policy_ops cl_policy_make_before_break;
extern const struct cl_policy_ops cl_policy_priority;
extern const struct cl_policy_ops cl_policy_community;

#endif /* MPLB_CLIENT_MODEL_H */
