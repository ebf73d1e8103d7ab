/* SPDX-License-Identifier: MIT */
/*
 * MPTCP wire format: the one definition shared by every mplb component.
 *
 * This header compiles both in userspace (C11) and in BPF programs (clang
 * -target bpf, with vmlinux.h), so it holds only constants and tiny inline
 * helpers over byte pointers: no libc, no structs with padding questions.
 * Offsets count from the option's Kind octet, as RFC 8684 section 3 draws them.
 *
 * Sources: RFC 8684 (MPTCP v1), RFC 6824 (v0, marked V0), and the
 * draft-duchene-mptcp-add-addr-00 extensions (marked DRAFT). Linux defines
 * the same values in net/mptcp/protocol.h; the names here follow it.
 */
#ifndef MPLB_MPTCP_WIRE_H
#define MPLB_MPTCP_WIRE_H

/* ---- TCP option kinds mplb cares about ---- */
#define TCPOPT_EOL_ 0
#define TCPOPT_NOP_ 1
#define TCPOPT_MSS_ 2
#define TCPOPT_WSCALE_ 3
#define TCPOPT_SACK_PERM_ 4
#define TCPOPT_SACK_ 5
#define TCPOPT_TIMESTAMP_ 8
#define TCPOPT_MPTCP 30
#define TCPOPT_EXP1 253 /* RFC 6994 experimental, used by mplb for attributes */
#define TCPOPT_EXP2 254
#define TCPOLEN_TIMESTAMP_ 10
#define TCP_MAX_OPTION_SPACE 40

/* ---- MPTCP subtypes (high nibble of byte 2) ---- */
#define MPTCPOPT_MP_CAPABLE 0x0
#define MPTCPOPT_MP_JOIN 0x1
#define MPTCPOPT_DSS 0x2
#define MPTCPOPT_ADD_ADDR 0x3
#define MPTCPOPT_RM_ADDR 0x4
#define MPTCPOPT_MP_PRIO 0x5
#define MPTCPOPT_MP_FAIL 0x6
#define MPTCPOPT_MP_FASTCLOSE 0x7
#define MPTCPOPT_MP_TCPRST 0x8
#define MPTCPOPT_MP_EXPERIMENTAL 0xf

#define MPTCP_VERSION_0 0
#define MPTCP_VERSION_1 1

/* ---- Lengths (whole option, Kind and Length included) ---- */
#define TCPOLEN_MPTCP_MPC_SYN 4          /* v1 SYN: no key */
#define TCPOLEN_MPTCP_MPC_SYNACK 12      /* v1 SYN/ACK: Key-B; V0 SYN and SYN/ACK */
#define TCPOLEN_MPTCP_MPC_ACK 20         /* both keys */
#define TCPOLEN_MPTCP_MPC_ACK_DATA 22    /* both keys + data-level length */
#define TCPOLEN_MPTCP_MPC_ACK_DATA_CSUM 24
#define TCPOLEN_MPTCP_MPJ_SYN 12
#define TCPOLEN_MPTCP_MPJ_SYNACK 16
#define TCPOLEN_MPTCP_MPJ_ACK 24
#define TCPOLEN_MPTCP_DSS_BASE 4
#define TCPOLEN_MPTCP_DSS_MAX 28
#define TCPOLEN_MPTCP_DSS_MAP32 10       /* DSN32 + SSN + len */
#define TCPOLEN_MPTCP_DSS_MAP64 14       /* DSN64 + SSN + len */
#define TCPOLEN_MPTCP_DSS_CSUM 2
#define TCPOLEN_MPTCP_ADD_ADDR_BASE 8    /* echo, IPv4, no port */
#define TCPOLEN_MPTCP_ADD_ADDR 16        /* IPv4 + HMAC */
#define TCPOLEN_MPTCP_ADD_ADDR_PORT 18
#define TCPOLEN_MPTCP_ADD_ADDR6_BASE 20  /* echo, IPv6, no port */
#define TCPOLEN_MPTCP_ADD_ADDR6 28
#define TCPOLEN_MPTCP_ADD_ADDR6_PORT 30
#define TCPOLEN_MPTCP_ADD_ADDR_HMAC 8    /* truncated HMAC, present iff E=0 */
#define TCPOLEN_MPTCP_PORT 2
#define TCPOLEN_MPTCP_ADDR_ATTR 1        /* DRAFT attribute octet */
#define TCPOLEN_MPTCP_RM_ADDR_BASE 3     /* + one octet per address id */
#define TCPOLEN_MPTCP_PRIO 3
#define TCPOLEN_MPTCP_PRIO_ADDRID 4      /* V0 (and rfc6824bis-07) MP_PRIO with AddrID */
#define TCPOLEN_MPTCP_FAIL 12
#define TCPOLEN_MPTCP_FASTCLOSE 12
#define TCPOLEN_MPTCP_RST 4
/* V0 ADD_ADDR: byte 2 low nibble is IPVer, no HMAC, no echo. */
#define TCPOLEN_MPTCP_V0_ADD_ADDR 8
#define TCPOLEN_MPTCP_V0_ADD_ADDR_PORT 10
#define TCPOLEN_MPTCP_V0_ADD_ADDR6 20
#define TCPOLEN_MPTCP_V0_ADD_ADDR6_PORT 22

/* ---- MP_CAPABLE flags (byte 3) ---- */
#define MPTCP_CAP_CHECKSUM_REQD 0x80 /* A */
#define MPTCP_CAP_EXTENSIBILITY 0x40 /* B: MUST be 0 in v1 */
#define MPTCP_CAP_DENY_JOIN_ID0 0x20 /* C: no joins to this address and port */
#define MPTCP_CAP_FLAG_D 0x10
#define MPTCP_CAP_FLAG_E 0x08
#define MPTCP_CAP_FLAG_F 0x04
#define MPTCP_CAP_FLAG_G 0x02
#define MPTCP_CAP_HMAC_SHA256 0x01   /* H (HMAC-SHA1 in V0) */
#define MPTCP_CAP_CRYPTO_MASK 0x1f   /* D..H */

/* ---- MP_JOIN / MP_PRIO byte 2 low nibble ---- */
#define MPTCP_JOIN_BACKUP 0x01
#define MPTCP_PRIO_BACKUP 0x01
/* DRAFT: the 3 bits above B carry a priority, highest value most preferred. */
#define MPTCP_DRAFT_PRIO_SHIFT 1
#define MPTCP_DRAFT_PRIO_MASK 0x0e

/* ---- DSS flags (byte 3) ---- */
#define MPTCP_DSS_DATA_FIN 0x10
#define MPTCP_DSS_DSN64 0x08
#define MPTCP_DSS_HAS_MAP 0x04
#define MPTCP_DSS_ACK64 0x02
#define MPTCP_DSS_HAS_ACK 0x01
#define MPTCP_DSS_FLAG_MASK 0x1f

/* ---- ADD_ADDR byte 2 low nibble ---- */
#define MPTCP_ADDR_ECHO 0x01      /* E, rightmost bit (RFC 8684) */
#define MPTCP_ADDR_IPVERSION_4 4  /* V0 IPVer */
#define MPTCP_ADDR_IPVERSION_6 6

/*
 * DRAFT attribute octet (draft-duchene-mptcp-add-addr-00 Fig. 2, 7, 8):
 * Commu(4) | prio(3) | B(1), inserted after the address, before the port.
 * Fig. 13 draws B before prio; mplb follows Fig. 2 (see docs/wire-format.md).
 */
#define MPTCP_ADDR_ATTR_COMMUNITY_SHIFT 4
#define MPTCP_ADDR_ATTR_PRIO_SHIFT 1
#define MPTCP_ADDR_ATTR_PRIO_MASK 0x0e
#define MPTCP_ADDR_ATTR_BACKUP 0x01

/* ---- MP_TCPRST ---- */
#define MPTCP_TCPRST_TRANSIENT 0x01
#define MPTCP_TCPRST_EUNSPEC 0x00
#define MPTCP_TCPRST_EMPTCP 0x01
#define MPTCP_TCPRST_ERESOURCE 0x02
#define MPTCP_TCPRST_EPROHIBIT 0x03
#define MPTCP_TCPRST_EWQ2BIG 0x04
#define MPTCP_TCPRST_EBADPERF 0x05
#define MPTCP_TCPRST_EMIDDLEBOX 0x06

/* Subtype of an MPTCP option starting at p (p[0] = Kind, needs 3 bytes). */
#define MPTCP_SUBTYPE(p) (((p)[2] >> 4) & 0xf)

/* True for the 8 RFC 8684 ADD_ADDR lengths. */
#define MPTCP_ADD_ADDR_LEN_VALID(len)                                     \
	((len) == 8 || (len) == 10 || (len) == 16 || (len) == 18 ||        \
	 (len) == 20 || (len) == 22 || (len) == 28 || (len) == 30)

#endif /* MPLB_MPTCP_WIRE_H */
