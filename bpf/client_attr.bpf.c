// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * mplb client: learn the peer's address attributes from the wire, and let the
 * daemon tell the peer that a local address is gone.
 *
 * client_attr_ingress (tc ingress of every uplink): parses the attribute
 * option (kind 253, ExID 0x4d41: include/mplb/addr_attr.h) and the draft's
 * in-ADD_ADDR attribute octet (lengths 17/19/29/31), and hands the pairs to
 * the daemon through a ring buffer, with the receiving connection's MPTCP
 * token (socket lookup) and the segment's addresses. Malformed or truncated
 * options are counted per reason and ignored. Never drops or changes a
 * packet: a bad option can cost its attributes, never the connection.
 *
 * client_attr_egress (tc egress): when the daemon asked (client_rm), adds an
 * MPTCP RM_ADDR for a local address id to the next pure ACKs of that
 * connection. The kernel's userspace PM cannot do it for id 0 after a
 * failure: it sends RM_ADDR on the first subflow able to send, the dead one.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "advert_tcp.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PASS ADV_TC_UNSPEC
#define CLA_PAIR_BUF 32
#define CLA_PAIR_MASK 31

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} client_attr_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CLA_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} client_attr_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* local MPTCP token */
	__type(value, struct client_rm_val);
} client_rm SEC(".maps");

/* Entries in client_rm, kept by the daemon: zero lets ACKs skip the lookup. */
__u32 rm_live;

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&client_attr_stats, &idx);

	if (c)
		*c += n;
}

/* Walk state. reasons: bit per enum client_attr_stat seen in this segment. */
struct cla_walk {
	__u32 next;
	__u32 n;
	__u32 reasons;
	__u32 options;		/* well-formed attribute options */
	__u8 source;		/* ATTR_SRC_* of the pairs (last one wins) */
	__u8 pad[3];
	__u8 ids[CLA_PAIR_BUF];
	__u8 attrs[CLA_PAIR_BUF];
};

static __always_inline void add_pair(struct cla_walk *w, __u8 id, __u8 attr)
{
	__u32 n = w->n;

	if (n < ADDR_ATTR_MAX_PAIRS) {
		adv_opaque(n);
		w->ids[n & CLA_PAIR_MASK] = id;
		w->attrs[n & CLA_PAIR_MASK] = attr;
		w->n = n + 1;
	}
}

/* Our option at offset i, length len (within the area): pairs or a reason. */
__noinline int cla_parse_attr(const struct tcp_seg *s, struct cla_walk *w, __u32 i, __u32 len)
{
	__u32 npairs;

	if (!s || !w || i >= TCP_MAX_OPTION_SPACE)
		return 0;
	if (len == ADDR_ATTR_HDR_LEN) {
		w->reasons |= 1u << CLA_EMPTY;
		return 0;
	}
	if ((len - ADDR_ATTR_HDR_LEN) & 1) {
		w->reasons |= 1u << CLA_BAD_ODD;
		return 0;
	}
	npairs = (len - ADDR_ATTR_HDR_LEN) / 2;
	/* An id twice makes the option ambiguous: ignore all of it. */
	for (__u32 a = 0; a < ADDR_ATTR_MAX_PAIRS; a++) {
		if (a >= npairs)
			break;
		for (__u32 b = 0; b < ADDR_ATTR_MAX_PAIRS; b++) {
			if (b >= a)
				break;
			if (s->opts[(i + 4 + 2 * a) & ADV_OPT_MASK] ==
			    s->opts[(i + 4 + 2 * b) & ADV_OPT_MASK]) {
				w->reasons |= 1u << CLA_BAD_DUP_ID;
				return 0;
			}
		}
	}
	for (__u32 a = 0; a < ADDR_ATTR_MAX_PAIRS; a++) {
		if (a >= npairs)
			break;
		add_pair(w, s->opts[(i + 4 + 2 * a) & ADV_OPT_MASK],
			 s->opts[(i + 5 + 2 * a) & ADV_OPT_MASK]);
	}
	w->source = ATTR_SRC_OPTION;
	w->options++;
	return 0;
}

/* One option at w->next: 0 to go on, 1 when the walk is over. */
__noinline int cla_walk_one(const struct tcp_seg *s, struct cla_walk *w)
{
	__u32 i, kind, len, optlen, rest;

	if (!s || !w)
		return 1;
	i = w->next;
	optlen = s->optlen;
	if (i >= optlen || i >= TCP_MAX_OPTION_SPACE)
		return 1;
	kind = s->opts[i & ADV_OPT_MASK];
	if (kind == TCPOPT_EOL_)
		return 1;
	if (kind == TCPOPT_NOP_) {
		w->next = i + 1;
		return 0;
	}
	rest = optlen - i;
	len = rest >= 2 ? s->opts[(i + 1) & ADV_OPT_MASK] : 0;
	if (kind == ADDR_ATTR_KIND || kind == TCPOPT_EXP2) {
		if (rest < 2 || len > rest) {
			/* Ours if the ExID is there to say so, or too cut to tell. */
			if (kind == ADDR_ATTR_KIND &&
			    (rest < 4 || (s->opts[(i + 2) & ADV_OPT_MASK] == ADDR_ATTR_EXID_HI &&
					  s->opts[(i + 3) & ADV_OPT_MASK] == ADDR_ATTR_EXID_LO)))
				w->reasons |= 1u << CLA_BAD_TRUNCATED;
			else
				w->reasons |= 1u << CLA_BAD_OPTLIST;
			return 1;
		}
		if (len < ADDR_ATTR_HDR_LEN) {
			/* RFC 6994 options always carry an ExID: this one cannot. */
			w->reasons |= 1u << (kind == ADDR_ATTR_KIND ? CLA_BAD_SHORT : CLA_BAD_OPTLIST);
			if (len < 2)
				return 1;
		} else if (kind == ADDR_ATTR_KIND &&
			   s->opts[(i + 2) & ADV_OPT_MASK] == ADDR_ATTR_EXID_HI &&
			   s->opts[(i + 3) & ADV_OPT_MASK] == ADDR_ATTR_EXID_LO) {
			cla_parse_attr(s, w, i, len);
		} else {
			w->reasons |= 1u << CLA_FOREIGN_EXID;
		}
		w->next = i + len;
		return 0;
	}
	if (rest < 2 || len < 2 || len > rest) {
		w->reasons |= 1u << CLA_BAD_OPTLIST;
		return 1;
	}
	if (kind == TCPOPT_MPTCP && len >= 8 &&
	    (s->opts[(i + 2) & ADV_OPT_MASK] >> 4) == MPTCPOPT_ADD_ADDR &&
	    !(s->opts[(i + 2) & ADV_OPT_MASK] & MPTCP_ADDR_ECHO)) {
		int draft, fam = add_addr_family(len, &draft);

		if (fam && draft) {
			__u32 alen = fam == 4 ? 4 : 16;

			add_pair(w, s->opts[(i + 3) & ADV_OPT_MASK],
				 s->opts[(i + 4 + alen) & ADV_OPT_MASK]);
			w->source = ATTR_SRC_DRAFT;
			w->reasons |= 1u << CLA_DRAFT_OCTETS;
		}
	}
	w->next = i + len;
	return 0;
}

SEC("tc")
int client_attr_ingress(struct __sk_buff *skb)
{
	struct cla_walk w = {};
	struct attr_event *ev;
	struct tcp_seg s;
	__u32 n;
	int rc;

	rc = adv_parse_seg(skb, &s);
	if (rc == -1 || !s.optlen)
		return PASS;
	for (int k = 0; k < TCP_MAX_OPTION_SPACE; k++)
		if (cla_walk_one(&s, &w))
			break;
	if (s.cut && !(w.reasons & ((1u << CLA_BAD_TRUNCATED) | (1u << CLA_BAD_OPTLIST))))
		w.reasons |= 1u << CLA_BAD_OPTLIST; /* cut between two options */
	for (__u32 r = 0; r < CLA_STAT_MAX; r++)
		if ((w.reasons >> r) & 1)
			count(r, r == CLA_DRAFT_OCTETS ? 0 : 1);
	if (!w.n)
		return PASS;

	ev = bpf_ringbuf_reserve(&client_attr_events, sizeof(*ev), 0);
	if (!ev) {
		count(CLA_RINGBUF_FULL, 1);
		return PASS;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->token = adv_rx_token(skb, &s);
	if (!ev->token)
		count(CLA_NO_SOCKET, 1);
	ev->family = s.family;
	ev->source = w.source;
	ev->n = w.n > ADDR_ATTR_MAX_PAIRS ? ADDR_ATTR_MAX_PAIRS : w.n;
	__builtin_memcpy(ev->saddr, s.saddr, 16);
	__builtin_memcpy(ev->daddr, s.daddr, 16);
	ev->sport = s.sport;
	ev->dport = s.dport;
	for (__u32 i = 0; i < ADDR_ATTR_MAX_PAIRS; i++) {
		ev->ids[i] = w.ids[i];
		ev->attrs[i] = w.attrs[i];
	}
	n = ev->n;
	bpf_ringbuf_submit(ev, 0); /* ev is gone from here on */
	if (w.options)
		count(CLA_OPTIONS, w.options);
	if (w.source == ATTR_SRC_DRAFT)
		count(CLA_DRAFT_OCTETS, 1);
	count(CLA_PAIRS, n);
	return PASS;
}

SEC("tc")
int client_attr_egress(struct __sk_buff *skb)
{
	struct client_rm_val *v;
	struct optbuf ob = {};
	struct opt_scan o;
	struct tcp_seg s;
	__u32 token;

	if (!rm_live)
		return PASS;
	if (adv_parse_seg(skb, &s))
		return PASS;
	if ((s.flags & (ADV_TCP_SYN | ADV_TCP_FIN | ADV_TCP_RST)) || !(s.flags & ADV_TCP_ACK) ||
	    !seg_is_headers_only(skb, &s))
		return PASS;
	token = sock_mptcp_token(skb->sk);
	if (!token)
		return PASS;
	v = bpf_map_lookup_elem(&client_rm, &token);
	if (!v || !v->count)
		return PASS;
	adv_scan_opts(&s, &o);
	if (o.malformed || o.eol)
		return PASS;
	if (TCP_MAX_OPTION_SPACE - s.optlen < TCPOLEN_MPTCP_RM_ADDR_BASE + 1) {
		count(CLA_RM_NO_ROOM, 1);
		return PASS;
	}
	adv_copy_opts(&s, &ob, 0, 0);
	opt_put(&ob, TCPOPT_MPTCP);
	opt_put(&ob, TCPOLEN_MPTCP_RM_ADDR_BASE + 1);
	opt_put(&ob, MPTCPOPT_RM_ADDR << 4);
	opt_put(&ob, v->id);
	opt_pad(&ob);
	if (adv_rewrite_opts(skb, &s, &ob))
		return ADV_TC_SHOT; /* maybe half rewritten: the next ACK says the same */
	count(CLA_RM_INJECTED, 1);
	if (v->count)
		v->count--;
	return PASS;
}
