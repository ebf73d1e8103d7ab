// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * mplb server agent: the BPF half of `mplb server run` on a backend.
 *
 *   srv_egress  (tc/tcx egress)   TSval <- tsecr_encode(kernel TSval, id) on
 *                                 segments from a tsecr VIP; zero-length
 *                                 keepalive probes grow one byte (so they
 *                                 refresh the client's TS.Recent); ADD_ADDR
 *                                 transmissions counted per (token, address)
 *   srv_ingress (tc/tcx ingress)  the balancer's IPIP / IP6IP6 / IP4-in-IP6
 *                                 removed for packets to our own address;
 *                                 TSecr restored exactly (the kernel's own
 *                                 value) before TCP sees it; ADD_ADDR echoes
 *                                 and MP_JOIN SYNs matched to announcements
 *   srv_sockops (cgroup sock_ops) SO_KEEPALIVE + TCP_KEEPIDLE on passive
 *                                 subflows of tsecr VIPs (the shifted TSval
 *                                 wraps every 65.5 s: docs/tsecr.md)
 *   srv_keepalive_iter (iter/tcp) the same on every established subflow of
 *                                 a tsecr VIP that lacks it (MPTCP joins)
 *
 * Every decision is counted (bpf/server_structs.h, SRV_STATS). Programs
 * return TC_ACT_UNSPEC (TCX_NEXT): other tc/tcx programs still run.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "mplb/mptcp_wire.h"
#include "mplb/tsecr.h"
#include "server_structs.h"
#include "sock_tuple.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Read-only view of a kernel object as another BTF type (kfunc, 6.5+). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#define ETH_HLEN_ 14
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPV4_HDR_LEN_ 20
#define IPV6_HDR_LEN_ 40
#define TCP_HDR_LEN_ 20
#define TCP_CSUM_OFF 16
#define TCPOPT_EOL_ 0
#define TCPOPT_NOP_ 1
#define TCPOPT_TS_ 8
#define TCPOLEN_TS_ 10
#define TCP_FLAG_SYN_ 0x02
#define TCP_FLAG_RST_ 0x04
#define TCP_FLAG_ACK_ 0x10
#define TCP_FLAG_FIN_ 0x01
#define TC_ACT_UNSPEC_ (-1)
#define TC_ACT_SHOT_ 2
#define TCP_NEW_SYN_RECV_ 12
#define TCP_TIME_WAIT_ 6
#define TCP_LISTEN_ 10
#define SOL_SOCKET_ 1
#define SO_KEEPALIVE_ 9
#define SOL_TCP_ 6
#define TCP_KEEPIDLE_ 4
#define TCP_KEEPINTVL_ 5
#define NSEC_PER_MSEC 1000000ULL
#define BPF_F_PSEUDO_HDR_ 0x10
/* Enough header bytes for an outer IPv6 header, an inner one and TCP with options. */
#define PULL_LEN 160
#define OPT_WALK_MAX 40

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct srv_config);
	__uint(max_entries, 1);
} srv_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct srv_vip_key);
	__type(value, struct srv_vip_val);
	__uint(max_entries, 256);
} srv_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct srv_addr_key);
	__type(value, __u32);
	__uint(max_entries, 64);
} srv_addrs SEC(".maps");

/* Announcements per connection; LRU so that closed connections age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct srv_ann_key);
	__type(value, struct srv_ann_val);
	__uint(max_entries, 16384);
} srv_ann SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct srv_verify_key);
	__type(value, __u32);
	__uint(max_entries, 65536);
} srv_verify SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SRV_STAT_MAX);
} srv_stats SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&srv_stats, &idx);

	if (c)
		(*c)++;
}

static __always_inline struct srv_config *srv_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&srv_config, &zero);
}

/* What the parser found; offsets are from the start of the frame. */
struct seg {
	__u32 l3_off, l4_off, opt_end;
	__u32 saddr[4], daddr[4];
	__u16 sport, dport; /* network order */
	__u32 seq;          /* host order */
	__u32 payload_len;
	__u8 family;
	__u8 flags;
	__u8 ihl_bytes;
	__u8 pad;
};

/*
 * TCP options of interest, and the walk's cursor. Passed to a global
 * subprogram, so it holds scalars only (the verifier's rule for pointer
 * arguments).
 */
struct opts {
	__u32 off;    /* next option, from the frame start */
	__u32 end;    /* end of the option area */
	__u32 ts_off; /* offset of the TS option kind byte, 0 = none */
	__u32 tsval, tsecr;
	/* ADD_ADDR */
	__u32 ann_addr[4];
	__u16 ann_port; /* network order, 0 = none */
	__u8 has_ann, ann_echo, ann_family, ann_id;
	/* MP_JOIN SYN */
	__u8 has_join;
	__u8 tcp_flags;
	__u32 join_token;
};

static __always_inline int parse_ip_tcp(struct __sk_buff *skb, struct seg *s)
{
	__u16 proto_be;
	__u8 l4proto, tcpfl, doff;

	if (bpf_skb_load_bytes(skb, 12, &proto_be, 2))
		return -1;
	s->l3_off = ETH_HLEN_;
	if (proto_be == bpf_htons(ETH_P_IP_)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_, &ip, sizeof(ip)))
			return -1;
		if (ip.ihl < 5 || (ip.frag_off & bpf_htons(0x3fff)))
			return -1; /* fragments carry no full TCP header: leave them */
		s->family = SRV_FAMILY_V4;
		s->ihl_bytes = ip.ihl * 4;
		s->l4_off = ETH_HLEN_ + s->ihl_bytes;
		s->saddr[0] = ip.saddr;
		s->daddr[0] = ip.daddr;
		l4proto = ip.protocol;
		s->payload_len = bpf_ntohs(ip.tot_len);
		if (s->payload_len < s->ihl_bytes)
			return -1;
		s->payload_len -= s->ihl_bytes;
	} else if (proto_be == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_, &ip6, sizeof(ip6)))
			return -1;
		s->family = SRV_FAMILY_V6;
		s->l4_off = ETH_HLEN_ + IPV6_HDR_LEN_;
		__builtin_memcpy(s->saddr, &ip6.saddr, 16);
		__builtin_memcpy(s->daddr, &ip6.daddr, 16);
		l4proto = ip6.nexthdr; /* extension headers are not walked: not TCP here */
		s->payload_len = bpf_ntohs(ip6.payload_len);
	} else {
		return -1;
	}
	if (l4proto != IPPROTO_TCP_)
		return -1;
	{
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, s->l4_off, &th, sizeof(th)))
			return -1;
		doff = th.doff;
		if (doff < 5)
			return -1;
		s->sport = th.source;
		s->dport = th.dest;
		s->seq = bpf_ntohl(th.seq);
		tcpfl = ((__u8 *)&th)[13];
	}
	s->flags = tcpfl;
	s->opt_end = s->l4_off + (__u32)doff * 4;
	if (s->payload_len < (__u32)doff * 4)
		return -1;
	s->payload_len -= (__u32)doff * 4;
	return 0;
}

static __always_inline void parse_mptcp(struct __sk_buff *skb, __u32 off, __u32 len,
					struct opts *o)
{
	__u8 b[4];
	__u8 subtype;

	if (bpf_skb_load_bytes(skb, off, b, 4))
		return;
	subtype = b[2] >> 4;
	if (subtype == MPTCPOPT_ADD_ADDR) {
		__u32 alen;

		/* Lengths (RFC 8684 3.4.1): v4 8/10 echo, 16/18 with HMAC; v6 20/22, 28/30. */
		if (len == 8 || len == 10 || len == 16 || len == 18) {
			o->ann_family = SRV_FAMILY_V4;
			alen = 4;
		} else if (len == 20 || len == 22 || len == 28 || len == 30) {
			o->ann_family = SRV_FAMILY_V6;
			alen = 16;
		} else {
			return;
		}
		o->ann_echo = b[2] & MPTCP_ADDR_ECHO;
		o->ann_id = b[3];
		o->ann_addr[0] = o->ann_addr[1] = o->ann_addr[2] = o->ann_addr[3] = 0;
		if (alen == 4) {
			if (bpf_skb_load_bytes(skb, off + 4, o->ann_addr, 4))
				return;
		} else if (bpf_skb_load_bytes(skb, off + 4, o->ann_addr, 16)) {
			return;
		}
		o->ann_port = 0;
		/* The port forms are 2 bytes longer; the port follows the address. */
		if (len == 10 || len == 18 || len == 22 || len == 30)
			if (bpf_skb_load_bytes(skb, off + 4 + alen, &o->ann_port, 2))
				return;
		o->has_ann = 1;
	} else if (subtype == MPTCPOPT_MP_JOIN && len == TCPOLEN_MPTCP_MPJ_SYN &&
		   (o->tcp_flags & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_)) == TCP_FLAG_SYN_) {
		__u32 tok;

		if (bpf_skb_load_bytes(skb, off + 4, &tok, 4))
			return;
		o->join_token = bpf_ntohl(tok);
		o->has_join = 1;
	}
}

/*
 * One TCP option at o->off. Returns 0 to go on, 1 when the walk is over (end
 * of the area, EOL, or a malformed option: nothing after it is used). A
 * global function: verified once, not once per loop iteration and path.
 */
__noinline int srv_parse_option(struct __sk_buff *skb, struct opts *o)
{
	__u8 kl[2];
	__u32 off, len;

	if (!o)
		return 1;
	off = o->off;
	if (off >= o->end || off > 0x3fff)
		return 1;
	if (bpf_skb_load_bytes(skb, off, kl, 1) || kl[0] == TCPOPT_EOL_)
		return 1;
	if (kl[0] == TCPOPT_NOP_) {
		o->off = off + 1;
		return 0;
	}
	if (off + 2 > o->end || bpf_skb_load_bytes(skb, off, kl, 2))
		return 1;
	len = kl[1];
	if (len < 2 || off + len > o->end)
		return 1;
	if (kl[0] == TCPOPT_TS_ && len == TCPOLEN_TS_) {
		__u32 v[2];

		if (bpf_skb_load_bytes(skb, off + 2, v, 8))
			return 1;
		o->ts_off = off;
		o->tsval = bpf_ntohl(v[0]);
		o->tsecr = bpf_ntohl(v[1]);
	} else if (kl[0] == TCPOPT_MPTCP && len >= 4) {
		parse_mptcp(skb, off, len, o);
	}
	o->off = off + len;
	return 0;
}

static __always_inline void parse_options(struct __sk_buff *skb, const struct seg *s,
					  struct opts *o)
{
	o->off = s->l4_off + TCP_HDR_LEN_;
	o->end = s->opt_end;
	o->tcp_flags = s->flags;
	for (int i = 0; i < OPT_WALK_MAX; i++)
		if (srv_parse_option(skb, o))
			break;
}

static __always_inline struct srv_vip_val *vip_lookup(__u8 family, const __u32 *addr, __u16 port)
{
	struct srv_vip_key k = {.family = family, .port = port};
	struct srv_vip_val *v;

	k.addr[0] = addr[0];
	k.addr[1] = addr[1];
	k.addr[2] = addr[2];
	k.addr[3] = addr[3];
	v = bpf_map_lookup_elem(&srv_vips, &k);
	if (v)
		return v;
	k.port = 0;
	return bpf_map_lookup_elem(&srv_vips, &k);
}

/*
 * Replace 4 bytes of the TCP header at off (a timestamp field) and fix the
 * checksum. The data change and the checksum-field change cancel out in the
 * one's complement sum of the segment, so skb->csum (CHECKSUM_COMPLETE) stays
 * valid; with CHECKSUM_PARTIAL the helper leaves the field to the device.
 */
static __always_inline int rewrite_u32(struct __sk_buff *skb, const struct seg *s, __u32 off,
				       __u32 old_host, __u32 new_host)
{
	__u32 old_be = bpf_htonl(old_host), new_be = bpf_htonl(new_host);

	if (bpf_l4_csum_replace(skb, s->l4_off + TCP_CSUM_OFF, old_be, new_be, 4) ||
	    bpf_skb_store_bytes(skb, off, &new_be, 4, 0)) {
		count(SRV_STAT_CSUM_FAILED);
		return -1;
	}
	return 0;
}

/* ---- ADD_ADDR tracking ------------------------------------------------- */

static __always_inline void ann_key(struct srv_ann_key *k, __u32 token, const struct opts *o)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->token = token;
	k->family = o->ann_family;
	k->port = o->ann_port;
	k->addr[0] = o->ann_addr[0];
	k->addr[1] = o->ann_addr[1];
	k->addr[2] = o->ann_addr[2];
	k->addr[3] = o->ann_addr[3];
}

static __always_inline void track_tx(struct __sk_buff *skb, const struct opts *o)
{
	struct bpf_sock *sk = skb->sk;
	struct mptcp_sock *msk;
	struct srv_ann_key k;
	struct srv_ann_val *v, fresh = {};
	__u64 now = bpf_ktime_get_ns();

	if (!sk)
		goto no_token;
	msk = bpf_skc_to_mptcp_sock(sk);
	if (!msk)
		goto no_token;
	ann_key(&k, msk->token, o);
	v = bpf_map_lookup_elem(&srv_ann, &k);
	if (v) {
		__sync_fetch_and_add(&v->tx, 1);
		v->last_tx_ns = now;
	} else {
		fresh.first_tx_ns = fresh.last_tx_ns = now;
		fresh.tx = 1;
		fresh.addr_id = o->ann_id;
		bpf_map_update_elem(&srv_ann, &k, &fresh, BPF_NOEXIST);
	}
	count(SRV_STAT_ADDADDR_TX);
	return;
no_token:
	count(SRV_STAT_ADDADDR_NO_TOKEN);
}

/* Token of the connection a received segment belongs to, 0 if none. */
static __always_inline __u32 token_of_segment(struct __sk_buff *skb, const struct seg *s)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	struct mptcp_sock *msk;
	__u32 token = 0, tlen;

	tlen = sock_tuple_fill(&t, s->family != SRV_FAMILY_V4, s->saddr, s->daddr, s->sport, s->dport);
	sk = bpf_skc_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	msk = bpf_skc_to_mptcp_sock(sk);
	if (msk)
		token = msk->token;
	bpf_sk_release(sk);
	return token;
}

static __always_inline void track_rx(struct __sk_buff *skb, const struct seg *s,
				     const struct opts *o)
{
	struct srv_ann_key k;
	struct srv_ann_val *v;
	__u64 now = bpf_ktime_get_ns();

	if (o->has_ann && o->ann_echo) {
		__u32 token = token_of_segment(skb, s);

		count(SRV_STAT_ADDADDR_ECHO_RX);
		ann_key(&k, token, o);
		v = token ? bpf_map_lookup_elem(&srv_ann, &k) : NULL;
		if (!v) {
			count(SRV_STAT_ADDADDR_UNMATCHED);
			return;
		}
		__sync_fetch_and_add(&v->echoes, 1);
		if (!v->first_echo_ns)
			v->first_echo_ns = now;
	}
	if (o->has_join) {
		/* The join names our token; its destination names the announcement. */
		count(SRV_STAT_JOIN_SYN_RX);
		__builtin_memset(&k, 0, sizeof(k));
		k.token = o->join_token;
		k.family = s->family;
		k.addr[0] = s->daddr[0];
		k.addr[1] = s->daddr[1];
		k.addr[2] = s->daddr[2];
		k.addr[3] = s->daddr[3];
		k.port = s->dport;
		v = bpf_map_lookup_elem(&srv_ann, &k);
		if (!v) {
			k.port = 0;
			v = bpf_map_lookup_elem(&srv_ann, &k);
		}
		if (v) {
			__sync_fetch_and_add(&v->joins, 1);
			if (!v->join_ns)
				v->join_ns = now;
		}
	}
}

/* ---- decapsulation ------------------------------------------------------ */

static __always_inline bool own_address(__u8 family, const void *addr)
{
	struct srv_addr_key k = {.family = family};

	__builtin_memcpy(k.addr, addr, family == SRV_FAMILY_V4 ? 4 : 16);
	return bpf_map_lookup_elem(&srv_addrs, &k) != NULL;
}

/*
 * Strip the balancer's outer header (bpf/encap.h) when it is addressed to
 * one of our own addresses. bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC) removes
 * the bytes after the Ethernet header; across families the DECAP_L3 flag
 * sets skb->protocol and we rewrite the EtherType to match.
 * Returns 0 (nothing or done) or -1 (malformed/failed: drop).
 */
static __always_inline int decap(struct __sk_buff *skb)
{
	__u16 proto_be, inner_be;
	__u32 olen;
	__u64 flags = 0;
	__u32 stat;

	if (bpf_skb_load_bytes(skb, 12, &proto_be, 2))
		return 0;
	if (proto_be == bpf_htons(ETH_P_IP_)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_, &ip, sizeof(ip)))
			return 0;
		if (ip.protocol != IPPROTO_IPIP_ || !own_address(SRV_FAMILY_V4, &ip.daddr))
			return 0;
		if (ip.ihl < 5 || (ip.frag_off & bpf_htons(0x3fff)))
			goto bad; /* the balancer never fragments or adds options */
		olen = ip.ihl * 4;
		inner_be = proto_be;
		stat = SRV_STAT_DECAP_IPIP;
	} else if (proto_be == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_, &ip6, sizeof(ip6)))
			return 0;
		if ((ip6.nexthdr != IPPROTO_IPV6_ && ip6.nexthdr != IPPROTO_IPIP_) ||
		    !own_address(SRV_FAMILY_V6, &ip6.daddr))
			return 0;
		olen = IPV6_HDR_LEN_;
		if (ip6.nexthdr == IPPROTO_IPIP_) {
			flags = BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
			inner_be = bpf_htons(ETH_P_IP_);
			stat = SRV_STAT_DECAP_IP4IP6;
		} else {
			inner_be = proto_be;
			stat = SRV_STAT_DECAP_IP6IP6;
		}
	} else {
		return 0;
	}
	if (bpf_skb_adjust_room(skb, -(__s32)olen, BPF_ADJ_ROOM_MAC, flags))
		goto bad;
	if (inner_be != proto_be && bpf_skb_store_bytes(skb, 12, &inner_be, 2, 0))
		goto bad;
	count(stat);
	return 0;
bad:
	count(SRV_STAT_DECAP_FAILED);
	return -1;
}

/* ---- TSecr restore ------------------------------------------------------ */

/*
 * The socket's timestamp clock now: what the kernel would write in TSval
 * (tcp_time_stamp_ts + tsoffset; the ms clock is CLOCK_MONOTONIC, the same
 * clock as bpf_ktime_get_ns). Returns -1 when there is no socket or it uses
 * the usec clock (then the 16 low bits travelled are 65 ms, not 65 s).
 */
static __always_inline int socket_clock(struct __sk_buff *skb, const struct seg *s, __u32 *clock)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 tlen, off = 0;
	int rc = -1;
	bool usec = false;

	tlen = sock_tuple_fill(&t, s->family != SRV_FAMILY_V4, s->saddr, s->daddr, s->sport, s->dport);
	sk = bpf_skc_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return -1;
	if (sk->state == TCP_NEW_SYN_RECV_) {
		/*
		 * Third ACK of a handshake: the request sock knows the offset.
		 * Not bpf_skc_to_tcp_request_sock(): it insists on sk_prot ==
		 * tcp_prot, and MPTCP subflows (and their request socks) use
		 * MPTCP's copy of it. A read-only cast instead.
		 */
		struct tcp_request_sock *req =
			bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_request_sock));

		off = req->ts_off;
		usec = req->req_usec_ts;
		rc = 0;
	} else if (sk->state == TCP_TIME_WAIT_) {
		/* Same sk_prot check in bpf_skc_to_tcp_timewait_sock(): cast it too. */
		struct tcp_timewait_sock *tw =
			bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_timewait_sock));

		off = tw->tw_ts_offset;
		usec = BPF_CORE_READ_BITFIELD(&tw->tw_sk, tw_usec_ts);
		rc = 0;
	} else if (sk->state != TCP_LISTEN_) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

		if (tp) {
			off = tp->tsoffset;
			usec = BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts);
			rc = 0;
		}
	}
	bpf_sk_release(sk);
	if (rc || usec)
		return -1;
	*clock = (__u32)(bpf_ktime_get_ns() / NSEC_PER_MSEC) + off;
	return 0;
}

static __always_inline void verify_restore(const struct seg *s, __u32 wire, __u32 restored)
{
	struct srv_verify_key k = {.family = s->family, .lport = s->dport, .rport = s->sport,
				   .wire = wire};
	__u32 *orig;

	__builtin_memcpy(k.local, s->daddr, 16);
	__builtin_memcpy(k.remote, s->saddr, 16);
	orig = bpf_map_lookup_elem(&srv_verify, &k);
	if (!orig)
		count(SRV_STAT_VERIFY_UNKNOWN);
	else if (*orig == restored)
		count(SRV_STAT_VERIFY_EXACT);
	else
		count(SRV_STAT_VERIFY_MISMATCH);
}

static __always_inline void restore_tsecr(struct __sk_buff *skb, const struct srv_config *cfg,
					  const struct seg *s, const struct opts *o)
{
	__u32 clock, restored;

	if (!o->tsecr) {
		count(SRV_STAT_TSECR_ZERO);
		return;
	}
	/* Only values our encoder produced: others (a connection older than the agent) pass. */
	if (tsecr_decode(cfg->tsecr_key, o->tsecr) != (int)cfg->backend_id) {
		count(SRV_STAT_TSECR_NOT_OURS);
		return;
	}
	if (!(cfg->flags & SRV_F_TSECR_RESTORE)) {
		/* Negative-control mode: the stack sees the wire value. */
		if (cfg->flags & SRV_F_VERIFY)
			verify_restore(s, o->tsecr, o->tsecr);
		return;
	}
	if (socket_clock(skb, s, &clock)) {
		count(SRV_STAT_TSECR_NO_SOCKET);
		return;
	}
	restored = tsecr_restore(o->tsecr, clock);
	if (cfg->flags & SRV_F_VERIFY)
		verify_restore(s, o->tsecr, restored);
	if (rewrite_u32(skb, s, o->ts_off + 6, o->tsecr, restored) == 0)
		count(SRV_STAT_TSECR_RESTORED);
}

SEC("tc")
int srv_ingress(struct __sk_buff *skb)
{
	struct srv_config *cfg = srv_cfg();
	struct seg s = {};
	struct opts o = {};
	struct srv_vip_val *vip;

	if (!cfg)
		return TC_ACT_UNSPEC_;
	bpf_skb_pull_data(skb, skb->len < PULL_LEN ? skb->len : PULL_LEN);
	if ((cfg->flags & SRV_F_DECAP) && decap(skb))
		return TC_ACT_SHOT_;
	if (parse_ip_tcp(skb, &s))
		return TC_ACT_UNSPEC_;
	parse_options(skb, &s, &o);
	if (cfg->flags & SRV_F_ADDADDR)
		track_rx(skb, &s, &o);
	if (!o.ts_off || !(cfg->flags & (SRV_F_TSECR_RESTORE | SRV_F_VERIFY)))
		return TC_ACT_UNSPEC_;
	vip = vip_lookup(s.family, s.daddr, s.dport);
	if (vip && (vip->flags & SRV_VIP_TSECR))
		restore_tsecr(skb, cfg, &s, &o);
	return TC_ACT_UNSPEC_;
}

/* ---- egress ------------------------------------------------------------- */

/*
 * A zero-length keepalive (or window) probe carries seq = snd_una - 1 and is
 * out of the client's window: Linux answers it but does not take its TSval
 * into TS.Recent. With one byte (seq = snd_una - 1, end = snd_una, as BSD
 * keepalives) it is acceptable, the client records its TSval (RFC 7323 R3:
 * SEG.SEQ <= Last.ACK.sent < SEG.SEQ + SEG.LEN), drops the duplicate byte
 * and acknowledges. The byte is 0, so the checksum only changes by the
 * length in the pseudo header.
 */
static __always_inline void fix_keepalive(struct __sk_buff *skb, const struct seg *s)
{
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp;
	__u16 old_len, new_len;
	__u8 zero = 0;
	__u32 tcp_len;

	if (s->payload_len || s->flags != TCP_FLAG_ACK_ || !sk)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || s->seq + 1 != tp->snd_una || tp->snd_una != tp->snd_nxt)
		return;
	tcp_len = s->opt_end - s->l4_off;
	if (bpf_skb_change_tail(skb, skb->len + 1, 0) ||
	    bpf_skb_store_bytes(skb, skb->len - 1, &zero, 1, 0))
		goto bad;
	if (s->family == SRV_FAMILY_V4) {
		old_len = bpf_htons(s->ihl_bytes + tcp_len);
		new_len = bpf_htons(s->ihl_bytes + tcp_len + 1);
		if (bpf_l3_csum_replace(skb, ETH_HLEN_ + 10, old_len, new_len, 2) ||
		    bpf_skb_store_bytes(skb, ETH_HLEN_ + 2, &new_len, 2, 0))
			goto bad;
	} else {
		old_len = bpf_htons(tcp_len);
		new_len = bpf_htons(tcp_len + 1);
		if (bpf_skb_store_bytes(skb, ETH_HLEN_ + 4, &new_len, 2, 0))
			goto bad;
	}
	old_len = bpf_htons(tcp_len);
	new_len = bpf_htons(tcp_len + 1);
	if (bpf_l4_csum_replace(skb, s->l4_off + TCP_CSUM_OFF, old_len, new_len,
				BPF_F_PSEUDO_HDR_ | 2))
		goto bad;
	count(SRV_STAT_KEEPALIVE_FIXED);
	return;
bad:
	count(SRV_STAT_KEEPALIVE_FIX_FAILED);
}

static __always_inline bool usec_ts_socket(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp;

	if (!sk)
		return false;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp && BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts);
}

static __always_inline void encode_tsval(struct __sk_buff *skb, const struct srv_config *cfg,
					 const struct seg *s, const struct opts *o)
{
	__u32 wire;

	if (usec_ts_socket(skb)) {
		count(SRV_STAT_TSECR_USEC_SKIPPED);
		return;
	}
	wire = tsecr_encode(cfg->tsecr_key, o->tsval, cfg->backend_id);
	if (cfg->flags & SRV_F_VERIFY) {
		struct srv_verify_key k = {.family = s->family, .lport = s->sport,
					   .rport = s->dport, .wire = wire};
		__u32 orig = o->tsval;

		__builtin_memcpy(k.local, s->saddr, 16);
		__builtin_memcpy(k.remote, s->daddr, 16);
		bpf_map_update_elem(&srv_verify, &k, &orig, BPF_ANY);
	}
	if (rewrite_u32(skb, s, o->ts_off + 2, o->tsval, wire) == 0)
		count(SRV_STAT_TSECR_ENCODED);
}

SEC("tc")
int srv_egress(struct __sk_buff *skb)
{
	struct srv_config *cfg = srv_cfg();
	struct seg s = {};
	struct opts o = {};
	struct srv_vip_val *vip;

	if (!cfg)
		return TC_ACT_UNSPEC_;
	bpf_skb_pull_data(skb, skb->len < PULL_LEN ? skb->len : PULL_LEN);
	if (parse_ip_tcp(skb, &s))
		return TC_ACT_UNSPEC_;
	parse_options(skb, &s, &o);
	if ((cfg->flags & SRV_F_ADDADDR) && o.has_ann && !o.ann_echo)
		track_tx(skb, &o);
	vip = vip_lookup(s.family, s.saddr, s.sport);
	if (!vip || !(vip->flags & SRV_VIP_TSECR))
		return TC_ACT_UNSPEC_;
	if ((cfg->flags & SRV_F_TSECR_ENCODE) && o.ts_off)
		encode_tsval(skb, cfg, &s, &o);
	/* Last: it changes the packet length (offsets above stay valid: it only appends). */
	if ((cfg->flags & SRV_F_KEEPALIVE_FIX) && (vip->flags & SRV_VIP_KEEPALIVE))
		fix_keepalive(skb, &s);
	return TC_ACT_UNSPEC_;
}

/* ---- keepalive on tsecr VIP subflows ------------------------------------- */

static __always_inline bool keepalive_wanted(__u32 family_af, const __u32 *ip4,
					     const __u32 *ip6, __u16 port_host)
{
	struct srv_vip_val *vip;
	__u32 addr[4] = {};
	__u8 family;

	if (family_af == 2 /* AF_INET */) {
		family = SRV_FAMILY_V4;
		addr[0] = *ip4;
	} else if (family_af == 10 /* AF_INET6 */) {
		family = SRV_FAMILY_V6;
		addr[0] = ip6[0];
		addr[1] = ip6[1];
		addr[2] = ip6[2];
		addr[3] = ip6[3];
		/* A v4-mapped local address is an IPv4 connection on a dual-stack listener. */
		if (!addr[0] && !addr[1] && addr[2] == bpf_htonl(0xffff)) {
			family = SRV_FAMILY_V4;
			addr[0] = addr[3];
			addr[2] = addr[3] = 0;
		}
	} else {
		return false;
	}
	vip = vip_lookup(family, addr, bpf_htons(port_host));
	return vip && (vip->flags & SRV_VIP_KEEPALIVE);
}

/*
 * SO_KEEPALIVE + TCP_KEEPIDLE/KEEPINTVL (the shifted TSval wraps every
 * 65.5 s: docs/tsecr.md, "PAWS"). ctx is a sock_ops context or a locked
 * tcp_sock of the iterator; both take bpf_setsockopt.
 */
static __always_inline int set_keepalive(void *ctx, const struct srv_config *cfg)
{
	int one = 1, idle = (int)cfg->keepalive_idle_s;

	if (bpf_setsockopt(ctx, SOL_SOCKET_, SO_KEEPALIVE_, &one, sizeof(one)) ||
	    bpf_setsockopt(ctx, SOL_TCP_, TCP_KEEPIDLE_, &idle, sizeof(idle)) ||
	    bpf_setsockopt(ctx, SOL_TCP_, TCP_KEEPINTVL_, &idle, sizeof(idle))) {
		count(SRV_STAT_SOCKOPS_FAILED);
		return -1;
	}
	count(SRV_STAT_SOCKOPS_KEEPALIVE);
	return 0;
}

SEC("sockops")
int srv_sockops(struct bpf_sock_ops *skops)
{
	struct srv_config *cfg;

	if (skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	cfg = srv_cfg();
	if (!cfg || !cfg->keepalive_idle_s || bpf_get_netns_cookie(skops) != cfg->netns_cookie)
		return 1;
	/* Context fields are read one by one (the verifier forbids pointers into the context). */
	__u32 ip4 = skops->local_ip4;
	__u32 ip6[4] = {skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
			skops->local_ip6[3]};
	if (keepalive_wanted(skops->family, &ip4, ip6, (__u16)skops->local_port))
		set_keepalive(skops, cfg);
	return 1;
}

/*
 * Sweep of this namespace's TCP sockets (the agent reads the iterator every
 * few seconds): keepalive on every established subflow of a tsecr VIP that
 * lacks it. sock_ops alone is not enough: when MPTCP completes a join it
 * copies the MPTCP socket's options onto the new subflow, and that clears
 * a keepalive set at PASSIVE_ESTABLISHED. It also covers connections that
 * predate the agent, and hosts without a cgroup v2 mount.
 */
SEC("iter/tcp")
int srv_keepalive_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct srv_config *cfg = srv_cfg();
	struct tcp_sock *tp;
	int on = 0, len = sizeof(on);

	if (!skc || !cfg || !cfg->keepalive_idle_s)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || skc->skc_state != 1 /* TCP_ESTABLISHED */)
		return 0;
	__u32 ip4 = skc->skc_rcv_saddr;
	__u32 ip6[4] = {skc->skc_v6_rcv_saddr.in6_u.u6_addr32[0],
			skc->skc_v6_rcv_saddr.in6_u.u6_addr32[1],
			skc->skc_v6_rcv_saddr.in6_u.u6_addr32[2],
			skc->skc_v6_rcv_saddr.in6_u.u6_addr32[3]};
	if (!keepalive_wanted(skc->skc_family, &ip4, ip6, skc->skc_num))
		return 0;
	if (bpf_getsockopt(tp, SOL_SOCKET_, SO_KEEPALIVE_, &on, len) == 0 && on)
		return 0;
	set_keepalive(tp, cfg);
	return 0;
}
