/* SPDX-License-Identifier: MIT */
/*
 * Address attributes (draft-duchene-mptcp-add-addr-00 §2.2-2.4: backup bit,
 * priority 0-7, community 0-15) on the wire, as mplb carries them next to the
 * kernel's ADD_ADDR, plus the records its BPF programs share with userspace.
 * See docs/addr-attributes.md.
 *
 * Compiles in userspace (C11) and in BPF programs (after vmlinux.h), so: only
 * constants, fixed-width types from <linux/types.h> / vmlinux.h, structs with
 * explicit padding, and helpers over byte values.
 *
 * The attribute option (RFC 6994 experimental option, kind 253):
 *
 *   +--------+--------+--------+--------+--------+--------+--   --+
 *   | Kind   | Length |  ExID (0x4d41)  | AddrID | Attr   |  ...   |
 *   | 253    | 4+2n   |                 |        |        |        |
 *   +--------+--------+--------+--------+--------+--------+--   --+
 *
 *   n >= 1 (AddrID, Attr) pairs; Attr is the draft's octet Commu(4)|prio(3)|B(1)
 *   (MPTCP_ADDR_ATTR_* in mptcp_wire.h). AddrID 0 names the connection's initial
 *   address (sent on the MP_CAPABLE SYN/ACK). Length 4 (no pair) is reserved
 *   for a capability announcement (docs/addr-attributes.md §6) and carries no
 *   attribute. Senders pad the TCP header with NOPs.
 */
#ifndef MPLB_ADDR_ATTR_H
#define MPLB_ADDR_ATTR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "mplb/mptcp_wire.h"

/* The draft's attribute octet, one definition: mptcp_wire.h. */
#define ADDR_ATTR_COMMUNITY_SHIFT MPTCP_ADDR_ATTR_COMMUNITY_SHIFT
#define ADDR_ATTR_PRIO_SHIFT MPTCP_ADDR_ATTR_PRIO_SHIFT
#define ADDR_ATTR_PRIO_MASK MPTCP_ADDR_ATTR_PRIO_MASK
#define ADDR_ATTR_B MPTCP_ADDR_ATTR_BACKUP

#define ADDR_ATTR_KIND 253	/* RFC 6994 experimental (TCPOPT_EXP1) */
/* RFC 6994 ExID: 'M' 'A' (mplb attributes). Not IANA-registered: see the docs. */
#define ADDR_ATTR_EXID 0x4d41
#define ADDR_ATTR_EXID_HI 0x4d
#define ADDR_ATTR_EXID_LO 0x41
#define ADDR_ATTR_HDR_LEN 4	/* kind, length, ExID */
#define ADDR_ATTR_PAIR_LEN 2	/* address id, attribute octet */
#define ADDR_ATTR_LEN(n) (ADDR_ATTR_HDR_LEN + ADDR_ATTR_PAIR_LEN * (n))
/* Bytes an option of n pairs takes in the header, NOP-padded to 32 bits. */
#define ADDR_ATTR_PADDED_LEN(n) ((ADDR_ATTR_LEN(n) + 3) & ~3)
/* Pairs that fit in room bytes of option space (room a multiple of 4). */
#define ADDR_ATTR_PAIRS_FIT(room) ((room) < 8 ? 0 : ((room) - ADDR_ATTR_HDR_LEN) / ADDR_ATTR_PAIR_LEN)
/* Most pairs one option can carry (40 bytes of option space, nothing else). */
#define ADDR_ATTR_MAX_PAIRS 18

#define ADDR_ATTR_PRIO_MAX 7
#define ADDR_ATTR_COMMUNITY_MAX 15

/* The draft's attribute octet. */
static inline __u8 addr_attr_octet(unsigned community, unsigned prio, int backup)
{
	return (__u8)(((community & 0xf) << ADDR_ATTR_COMMUNITY_SHIFT) |
		      ((prio & 0x7) << ADDR_ATTR_PRIO_SHIFT) | (backup ? ADDR_ATTR_B : 0));
}
static inline unsigned addr_attr_community(__u8 a) { return a >> ADDR_ATTR_COMMUNITY_SHIFT; }
static inline unsigned addr_attr_prio(__u8 a) { return (a & ADDR_ATTR_PRIO_MASK) >> ADDR_ATTR_PRIO_SHIFT; }
static inline int addr_attr_backup(__u8 a) { return a & ADDR_ATTR_B; }

/* ---- advertiser (bpf/advert_tc.bpf.c) -------------------------------- */

/* advert_addrs key: one advertised address. IPv4 uses addr[0..3]. */
struct advert_addr_key {
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};

struct advert_addr_val {
	__u8 attr;		/* the attribute octet */
	__u8 flags;		/* ADVERT_ADDR_F_* */
	__u8 pad[2];
};
/* Also send (0, attr) on MP_CAPABLE SYN/ACKs from this address. */
#define ADVERT_ADDR_F_INITIAL 0x01

/*
 * advert_pending: attributes that could not ride on their ADD_ADDR's own
 * packet (IPv6 ADD_ADDR beside timestamps fills the 40 bytes). They went on a
 * separate carrier segment right after the ADD_ADDR and are repeated on the
 * connection's later pure ACKs that have room, until that ADD_ADDR's echo
 * arrives. Keyed by the sender's MPTCP token (any subflow may carry them).
 */
#define ADVERT_PENDING_MAX 8
#define ADVERT_REPEAT_MAX 8	/* later pure ACKs per address at most */

struct advert_pending_entry {
	__u8 id;
	__u8 attr;
	__u8 repeats_left;	/* 0 = slot free */
	__u8 pad;
};

struct advert_pending {
	struct advert_pending_entry e[ADVERT_PENDING_MAX];
};

/* Per-CPU counters, index = enum advert_stat. */
enum advert_stat {
	ADV_ADD_ADDR_TX,	/* ADD_ADDR (E=0) seen leaving, retransmissions included */
	ADV_ADD_ADDR_NO_ATTR,	/* ... for an address without configured attributes */
	ADV_TX_INLINE,		/* attributes appended to the ADD_ADDR's own segment */
	ADV_TX_CARRIER,		/* no room: ADD_ADDR cloned out, then this copy turned into a carrier */
	ADV_TX_REPEAT,		/* pending attributes repeated on a later pure ACK */
	ADV_TX_SYNACK,		/* initial address's attributes on an MP_CAPABLE SYN/ACK */
	ADV_ECHO_RX,		/* ADD_ADDR echo (E=1) seen arriving */
	ADV_ECHO_RETIRED,	/* ... that retired pending attributes */
	ADV_SKIP_DATA,		/* ADD_ADDR on a segment with payload: left alone */
	ADV_SKIP_NO_ROOM,	/* SYN/ACK without 8 free option bytes */
	ADV_SKIP_OPTS,		/* own TCP options malformed or with an EOL: left alone */
	ADV_SKIP_NOT_LAST,	/* carrier: the TCP header is not the end of the packet */
	ADV_ERR_HELPER,		/* a BPF helper failed (packet left as it was or dropped to stay consistent) */
	ADV_NO_TOKEN,		/* no MPTCP socket on the packet: pending state not kept */
	ADV_TEST_MALFORMED,	/* test hook: a deliberately malformed option was written */
	ADV_STAT_MAX,
};

#define ADVERT_STAT_NAMES                                                        \
	"add_addr_tx", "add_addr_no_attr", "tx_inline", "tx_carrier", "tx_repeat", \
	"tx_synack", "echo_rx", "echo_retired", "skip_data", "skip_no_room",       \
	"skip_opts", "skip_not_last", "err_helper", "no_token", "test_malformed"

/* Test hook (never in production configs): what advert_egress writes instead. */
enum advert_malform {
	ADV_MALFORM_NONE = 0,
	ADV_MALFORM_SHORT,	/* length 3: shorter than kind+len+ExID */
	ADV_MALFORM_ODD,	/* length 5: half a pair */
	ADV_MALFORM_OVERLONG,	/* length runs past the TCP header */
	ADV_MALFORM_EMPTY,	/* length 4: no pair */
	ADV_MALFORM_DUP,	/* the same id twice */
	ADV_MALFORM_MAX,
};

/* ---- client (bpf/client_attr.bpf.c) ---------------------------------- */

/* One attribute option (or draft attribute octet) seen arriving. */
struct attr_event {
	__u32 token;		/* receiver's MPTCP token, 0 if the socket was not found */
	__u8 family;		/* 4 or 6 */
	__u8 source;		/* ATTR_SRC_* */
	__u8 n;			/* pairs used in ids/attrs */
	__u8 pad;
	__u8 saddr[16];		/* the peer (packet source) */
	__u8 daddr[16];		/* us */
	__u16 sport, dport;	/* network order */
	__u8 ids[ADDR_ATTR_MAX_PAIRS];
	__u8 attrs[ADDR_ATTR_MAX_PAIRS];
};

#define ATTR_SRC_OPTION 1	/* kind 253 ExID 0x4d41 */
#define ATTR_SRC_DRAFT 2	/* draft in-ADD_ADDR octet (lengths 17/19/29/31) */

/* Per-CPU counters, index = enum client_attr_stat. */
enum client_attr_stat {
	CLA_OPTIONS,		/* attribute options accepted */
	CLA_PAIRS,		/* (id, attr) pairs delivered */
	CLA_DRAFT_OCTETS,	/* draft attribute octets delivered */
	CLA_FOREIGN_EXID,	/* kind 253/254 of another experiment: ignored (not an error) */
	CLA_BAD_SHORT,		/* length < 4 */
	CLA_BAD_ODD,		/* half a pair */
	CLA_BAD_TRUNCATED,	/* option runs past the TCP header or the packet */
	CLA_BAD_OPTLIST,	/* TCP option list malformed around it */
	CLA_EMPTY,		/* no pair (capability form): ignored */
	CLA_BAD_DUP_ID,		/* an id twice in one option: option ignored */
	CLA_RINGBUF_FULL,	/* event lost: daemon too slow */
	CLA_NO_SOCKET,		/* no local socket for the packet: event keyed by addresses only */
	CLA_RM_INJECTED,	/* RM_ADDR added to an outgoing ACK on the daemon's request */
	CLA_RM_NO_ROOM,		/* ... wanted but no room on that segment */
	CLA_STAT_MAX,
};

#define CLIENT_ATTR_STAT_NAMES                                                  \
	"options", "pairs", "draft_octets", "foreign_exid", "bad_short", "bad_odd", \
	"bad_truncated", "bad_optlist", "empty", "bad_dup_id", "ringbuf_full",       \
	"no_socket", "rm_injected", "rm_no_room"

/*
 * client_rm: the daemon asks the egress program to tell the peer that local
 * address id `id` is gone (MPTCP RM_ADDR) on the next `count` pure ACKs of the
 * connection with this token. Needed for id 0: the kernel's userspace PM sends
 * RM_ADDR on the first subflow that can send, which after an uplink failure
 * is the dead initial subflow itself.
 */
struct client_rm_val {
	__u8 id;
	__u8 count;
	__u8 pad[2];
};

#endif /* MPLB_ADDR_ATTR_H */
