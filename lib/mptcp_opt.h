/* SPDX-License-Identifier: MIT */
/*
 * MPTCP option codec (userspace): parse and build every RFC 8684 suboption,
 * the RFC 6824 (v0) forms where they differ, and the
 * draft-duchene-mptcp-add-addr-00 extensions.
 *
 * Parsing is strict: every length/flag combination RFC 8684 forbids is
 * rejected with a reason, and nothing is read past the bytes given.
 * Building mirrors parsing: mptcp_opt_build(mptcp_opt_parse(x)) == x for
 * every accepted option.
 */
#ifndef MPLB_MPTCP_OPT_H
#define MPLB_MPTCP_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mplb/mptcp_wire.h"

/* Which variant of the protocol an option was read as. */
enum mptcp_dialect {
	MPTCP_DIALECT_RFC8684 = 0,
	MPTCP_DIALECT_V0,    /* RFC 6824 form */
	MPTCP_DIALECT_DRAFT, /* draft-duchene-mptcp-add-addr-00 extension */
};

/* MP_CAPABLE / MP_JOIN handshake phase, derived from length (and flags). */
enum mptcp_phase {
	MPTCP_PHASE_NONE = 0,
	MPTCP_PHASE_SYN,
	MPTCP_PHASE_SYNACK,
	MPTCP_PHASE_ACK,
	MPTCP_PHASE_ACK_DATA, /* MP_CAPABLE with data-level length */
};

/*
 * What the caller knows about the packet around the option. Zero-initialised
 * means: MPTCP v1, TCP flags unknown, draft extensions accepted.
 */
struct mptcp_parse_ctx {
	uint8_t tcp_flags;     /* TCP header flags byte (SYN 0x02, ACK 0x10); 0 = unknown */
	bool tcp_flags_known;
	bool v0;               /* connection negotiated RFC 6824 (v0) */
	bool rfc_strict;       /* reject draft-only encodings as RFC 8684 violations */
};

struct mptcp_addr {
	uint8_t family;        /* 4 or 6 */
	uint8_t addr[16];      /* network order; IPv4 uses the first 4 bytes */
};

struct mptcp_opt_mpc {
	uint8_t version;
	uint8_t flags;         /* A..H, MPTCP_CAP_* */
	bool has_snd_key, has_rcv_key, has_data_len, has_csum;
	uint64_t snd_key;      /* option sender's key (host order) */
	uint64_t rcv_key;      /* option receiver's key */
	uint16_t data_len;
	uint16_t csum;
};

struct mptcp_opt_join {
	bool backup;
	uint8_t prio;          /* DRAFT priority bits (reserved in RFC 8684, 0 there) */
	uint8_t addr_id;       /* SYN and SYN/ACK */
	uint32_t token;        /* SYN: receiver's token */
	uint32_t nonce;        /* SYN, SYN/ACK: sender's random number */
	uint64_t hmac64;       /* SYN/ACK: leftmost 64 bits of HMAC-B */
	uint8_t hmac160[20];   /* ACK: leftmost 160 bits of HMAC-A */
	uint16_t reserved;     /* ACK: the 12 reserved bits */
};

struct mptcp_opt_dss {
	uint8_t flags;         /* MPTCP_DSS_* */
	bool data_fin, has_ack, ack64, has_map, dsn64, has_csum;
	uint64_t data_ack;
	uint64_t dsn;
	uint32_t ssn;
	uint16_t data_len;
	uint16_t csum;
	uint8_t reserved;      /* the 7 reserved bits: byte 2 low nibble, byte 3 top 3 bits */
};

struct mptcp_opt_add_addr {
	bool echo;
	uint8_t addr_id;
	struct mptcp_addr addr;
	bool has_port, has_hmac, has_attr;
	uint16_t port;         /* host order */
	uint64_t hmac;         /* truncated HMAC, host order of the 8 wire bytes read big-endian */
	/* DRAFT attribute octet */
	uint8_t community;     /* 0..15 */
	uint8_t prio;          /* 0..7, highest most preferred */
	bool backup;
	uint8_t reserved;      /* v1: the 3 flag bits left of E (sent 0, kept for round trips) */
};

struct mptcp_opt_rm_addr {
	uint8_t n;
	uint8_t ids[37];       /* 40 - 3 */
	uint8_t reserved;      /* byte 2 low nibble */
};

struct mptcp_opt_prio {
	bool backup;
	uint8_t prio;          /* DRAFT */
	bool has_addr_id;      /* V0 */
	uint8_t addr_id;
};

struct mptcp_opt_fail {
	uint64_t dsn;
	uint16_t reserved;     /* the 12 reserved bits */
};

struct mptcp_opt_fastclose {
	uint64_t key;          /* receiver's key */
	uint16_t reserved;
};

struct mptcp_opt_tcprst {
	uint8_t flags;         /* U V W T nibble */
	bool transient;
	uint8_t reason;
};

struct mptcp_opt_exp {
	uint8_t nibble;        /* low nibble of byte 2 */
	uint8_t len;           /* payload bytes after byte 2 */
	uint8_t data[38];
};

struct mptcp_opt {
	uint8_t subtype;       /* MPTCPOPT_* */
	uint8_t len;           /* option length on the wire */
	enum mptcp_dialect dialect;
	enum mptcp_phase phase;
	union {
		struct mptcp_opt_mpc mpc;
		struct mptcp_opt_join join;
		struct mptcp_opt_dss dss;
		struct mptcp_opt_add_addr add_addr;
		struct mptcp_opt_rm_addr rm_addr;
		struct mptcp_opt_prio prio;
		struct mptcp_opt_fail fail;
		struct mptcp_opt_fastclose fastclose;
		struct mptcp_opt_tcprst tcprst;
		struct mptcp_opt_exp exp;
	} u;
};

/* Result codes; negative on error. */
enum mptcp_err {
	MPTCP_OK = 0,
	MPTCP_E_TRUNCATED = -1,  /* option claims more bytes than were given */
	MPTCP_E_LENGTH = -2,     /* length not allowed for this subtype */
	MPTCP_E_FLAGS = -3,      /* flag combination RFC 8684 forbids */
	MPTCP_E_VERSION = -4,    /* unknown MPTCP version */
	MPTCP_E_SUBTYPE = -5,    /* unassigned subtype */
	MPTCP_E_KIND = -6,       /* not an MPTCP option */
	MPTCP_E_SPACE = -7,      /* build: buffer too small */
	MPTCP_E_INVALID = -8,    /* build: fields inconsistent */
};

/*
 * Parse one MPTCP option. buf points at the Kind octet, avail is the number
 * of bytes available from there (to the end of the TCP option space or of
 * the captured packet, whichever is smaller). On error returns a negative
 * mptcp_err and, if why != NULL, sets *why to a static sentence naming the
 * problem ("ADD_ADDR length is not one of 8/10/16/18/20/22/28/30 ..."). The
 * sentences are string literals (safe to keep); they carry no numbers, so a
 * caller that prints one should print the option's length/flags beside it.
 * With ctx == NULL the zero context is used.
 */
int mptcp_opt_parse(const uint8_t *buf, size_t avail,
		    const struct mptcp_parse_ctx *ctx, struct mptcp_opt *out,
		    const char **why);

/*
 * Write o into buf (Kind first). Returns the length written or < 0.
 * The form comes from the fields (MP_CAPABLE has_*; MP_JOIN phase, or len
 * when phase is NONE; ADD_ADDR echo/has_hmac/has_attr/has_port: neither
 * echo nor has_hmac means the v0 form). len, when non-zero, must match.
 * dialect is an output of parse and is ignored. Anything parse would not
 * read back identically (out-of-range field, bools disagreeing with a flags
 * byte, a combination parse rejects, stray values in fields the form does
 * not carry) is MPTCP_E_INVALID; a buffer smaller than the option is
 * MPTCP_E_SPACE. So parse(build(o)) == o whenever build succeeds.
 */
int mptcp_opt_build(const struct mptcp_opt *o, uint8_t *buf, size_t cap);

/*
 * Same wire content: subtype and every field of that subtype's struct
 * (IPv4 addresses compare their 4 bytes). len, dialect and phase are
 * ignored, except that MP_JOIN forms must match.
 */
bool mptcp_opt_equal(const struct mptcp_opt *a, const struct mptcp_opt *b);

/* Static names: "MP_CAPABLE", "DSS", ..., "unknown" */
const char *mptcp_subtype_name(uint8_t subtype);
const char *mptcp_dialect_name(enum mptcp_dialect d);
const char *mptcp_phase_name(enum mptcp_phase p);
const char *mptcp_rst_reason_name(uint8_t reason);
const char *mptcp_err_name(int err);

/*
 * Walk the TCP options of a TCP header. opts/optlen is the option area
 * (doff*4 - 20 bytes, possibly shorter if the capture was cut).
 * For each option cb is called with its kind, pointer and length (length 1
 * for EOL/NOP). A malformed walk (length 0 or 1 on a non-NOP/EOL, or running
 * past optlen) stops with a negative return and *why set. Returns 0 when the
 * walk reached the end or EOL; cb returning non-zero stops the walk and that
 * value is returned.
 */
typedef int (*tcp_opt_cb)(uint8_t kind, const uint8_t *opt, size_t len,
			  void *arg);
int tcp_options_walk(const uint8_t *opts, size_t optlen, tcp_opt_cb cb,
		     void *arg, const char **why);

#endif /* MPLB_MPTCP_OPT_H */
