/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xadc_common.h - every structure shared by the XDP program (bpf/xadc_xdp.bpf.c)
 * and its userspace loader (userspace/xdp_*.c): map keys and values,
 * counters, drop events and configuration. Defined once here so that both
 * sides (and bpftool, through BTF) agree on one layout.
 *
 * Conventions: IP addresses are stored as 16 bytes; an IPv4 address is kept
 * in its IPv4-mapped IPv6 form (::ffff:a.b.c.d) in VIP and rate-limit keys
 * so that one key type serves both families. Ports and addresses are kept
 * in host order for ports and network order for addresses.
 */
#ifndef XADC_BPF_COMMON_H
#define XADC_BPF_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define XADC_PIN_DIR		"/sys/fs/bpf/xadc"

#define XADC_XDP_MAX_VIPS	8192	/* VIP:port:proto entries (+ address entries) */
#define XADC_XDP_MAX_VS		4096	/* vs_id < this */
#define XADC_XDP_MAX_NSP	1024	/* nsp_id < this; 0 means "no policy" */
#define XADC_NSP_MAX_RULES	64	/* one bit per rule in a __u64 */
#define XADC_NSP_MAX_PORTS	8	/* port ranges per rule per condition */
#define XADC_NSP_MAX_PREFIXES	(1 << 20) /* LPM trie entries per family, all policies */
#define XADC_NSP_MAX_HOSTS	(1 << 20) /* host-map entries per family, all policies */
#define XADC_RL_MAX_ENTRIES	65536	/* token buckets (LRU) */
#define XADC_IPV6_MAX_EXTHDR	6	/* extension headers skipped before giving up */

/* Hash helpers (host filter, flow hash). */
static inline __u32 xadc_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

static inline __u32 xadc_ld32(const __u8 *b)
{
	return (__u32)b[0] | (__u32)b[1] << 8 | (__u32)b[2] << 16 | (__u32)b[3] << 24;
}

/* Network security policy actions (Avi NETWORK_SECURITY_POLICY_ACTION_TYPE_*). */
enum xadc_nsp_action_k {
	XADC_NSP_ACT_ALLOW = 0,
	XADC_NSP_ACT_DENY = 1,
	XADC_NSP_ACT_RATE_LIMIT = 2,
};

/* VIP table: key (address, port, protocol). port 0 and proto 0 is the
 * "address entry" userspace adds for every VIP address, so the program can
 * tell that a packet it cannot parse to its ports is aimed at a VIP. */
struct xadc_vip_key {
	__u8 addr[16];		/* network order; IPv4 as ::ffff:a.b.c.d */
	__u16 port;		/* host order */
	__u8 proto;		/* IPPROTO_TCP / IPPROTO_UDP; 0 = address entry */
	__u8 pad;
};

#define XADC_VIP_F_NSP	(1U << 0)	/* nsp_id is set: run the policy */

struct xadc_vip_val {
	__u32 vs_id;		/* index into the per-VS counters */
	__u32 flags;		/* XADC_VIP_F_* */
	__u32 nsp_id;		/* index into xadc_nsp_gen */
};

/* LPM trie keys. The policy id and generation are part of the matched bits
 * (prefixlen = 64 + address prefix length), so one trie serves every policy
 * and every generation. */
struct xadc_lpm4_key {
	__u32 prefixlen;
	__u32 nsp_id;		/* big-endian, compared bitwise */
	__u32 gen;		/* big-endian */
	__u8 addr[4];
};

struct xadc_lpm6_key {
	__u32 prefixlen;
	__u32 nsp_id;
	__u32 gen;
	__u8 addr[16];
};

/* Host entries (/32, /128) live in hash maps instead of the tries: a hash
 * lookup costs the same at 10 or 100,000 entries, where the trie walk grows
 * with its depth. A host is the longest possible match, so a hit is the
 * answer; only on a miss may the trie (non-host prefixes only) be asked. */
struct xadc_nsp_host4_key {
	__u32 nsp_id;		/* host order */
	__u32 gen;
	__u8 addr[4];		/* network order */
};

struct xadc_nsp_host6_key {
	__u32 nsp_id;
	__u32 gen;
	__u8 addr[16];
};

/* LPM and host value: bit i set when rule i's client-IP set contains the
 * whole prefix. Userspace makes it the union over every configured prefix
 * covering this one, because each lookup returns the longest match only. */
struct xadc_lpm_val {
	__u64 rules;
};

/* Kept for userspace tools that name a generation; the rules map itself is
 * an array indexed by xadc_nsp_rules_slot(). */
struct xadc_nsp_rules_key {
	__u32 nsp_id;
	__u32 gen;
};

/* Each policy owns two slots of the xadc_nsp_rules array: generation gen
 * lives in slot gen & 1, so the next generation (gen + 1; the wrap skips
 * to keep the parity alternating) is written into the slot no packet is
 * reading, and the one-word flip of xadc_nsp_gen switches slots. An array
 * lookup is a bounds check and an add, where the hash map it replaced
 * hashed a key and walked a bucket. */
#define XADC_NSP_SLOTS		2

static inline __u32 xadc_nsp_rules_slot(__u32 nsp_id, __u32 gen)
{
	return nsp_id * XADC_NSP_SLOTS + (gen & 1);
}

struct xadc_port_range {
	__u16 lo;		/* host order, inclusive */
	__u16 hi;
};

/* Rule flags. */
#define XADC_RULE_F_CPORT	(1U << 0)	/* client port condition present */
#define XADC_RULE_F_CPORT_NOT	(1U << 1)	/* ... IS_NOT_IN */
#define XADC_RULE_F_VSPORT	(1U << 2)	/* vs port condition present */
#define XADC_RULE_F_VSPORT_NOT	(1U << 3)

struct xadc_nsp_rule_k {
	__u32 rule_id;		/* the user's rule index, reported in events */
	__u8 action;		/* enum xadc_nsp_action_k */
	__u8 flags;		/* XADC_RULE_F_* */
	__u8 ncport;
	__u8 nvsport;
	__u32 max_rate;		/* RATE_LIMIT: new connections per second */
	__u32 burst;		/* RATE_LIMIT: bucket depth */
	struct xadc_port_range cport[XADC_NSP_MAX_PORTS];
	struct xadc_port_range vsport[XADC_NSP_MAX_PORTS];
};

/* Generation flags: the generation has no entry of that family in its LPM
 * trie (all its prefixes of the family are hosts, or there are none), so a
 * host-map miss means "in no rule's set" without a trie walk. The bits say
 * what is absent so that a generation written before they existed (0, with
 * hosts still in the trie, from a pinned map) keeps being looked up in full. */
#define XADC_NSP_F_NO_LPM4	(1U << 0)
#define XADC_NSP_F_NO_LPM6	(1U << 1)
/* host_filter is filled: a clear bit means "no host entry" (see below). */
#define XADC_NSP_F_HOST_FILTER	(1U << 2)

/* A one-hash Bloom filter over the generation's host entries (both
 * families), kept in the rules value so that it flips with them. An
 * address whose bit is clear has no host entry, and the host-map lookup
 * (the most expensive step for a client no rule names) is skipped; a set
 * bit only means "look it up". Most useful for small lists: with n hosts
 * a bit is set with probability about 1 - e^(-n/4096). */
#define XADC_NSP_HOST_FILTER_BITS 4096

/* The filter bit of a client address: fam 4 reads addr[0..4), fam 6
 * addr[0..16) (network order). Byte-wise, so BPF and userspace agree. */
#define XADC_NSP_HOST_FILTER_SHIFT (32 - 12)	/* 2^12 = XADC_NSP_HOST_FILTER_BITS */

static inline __u32 xadc_host_filter_bit(const __u8 *addr, int fam)
{
	__u32 h = xadc_ld32(addr);

	/* Multiplicative hashing, top bits: a multiply and a shift on the
	 * per-packet path, and neighbouring addresses land far apart. */
	if (fam == 6)
		h ^= xadc_ld32(addr + 4) * 0x85ebca6bU ^ xadc_ld32(addr + 8) * 0xc2b2ae35U ^
		     xadc_ld32(addr + 12) * 0x27d4eb2fU;
	return (h * 0x9e3779b1U) >> XADC_NSP_HOST_FILTER_SHIFT;
}

/* One policy generation: rules in order, and which rules have which kind
 * of client-IP condition. */
struct xadc_nsp_rules {
	__u32 nrules;
	__u32 flags;		/* XADC_NSP_F_* */
	__u32 gen;		/* the generation this slot holds (0: empty) */
	__u32 pad;
	__u64 ip_in_mask;	/* rules with client_ip IS_IN */
	__u64 ip_not_mask;	/* rules with client_ip IS_NOT_IN */
	__u64 ip_any_mask;	/* rules without a client_ip condition */
	__u64 host_filter[XADC_NSP_HOST_FILTER_BITS / 64]; /* with XADC_NSP_F_HOST_FILTER */
	struct xadc_nsp_rule_k rule[XADC_NSP_MAX_RULES];
};

/* Token bucket per (policy, rule, client). */
struct xadc_rl_key {
	__u32 nsp_id;
	__u32 rule_id;
	__u8 addr[16];
};

struct xadc_rl_val {
	__u64 tokens;		/* in 1e-9 tokens, capped at burst * 1e9 */
	__u64 last_ns;
};

/* Counters, per CPU, per VS (index vs_id) and per rule (index
 * nsp_id * XADC_NSP_MAX_RULES + rule position). */
struct xadc_xdp_counters {
	__u64 packets;
	__u64 bytes;
	__u64 drops;		/* denied by a rule or malformed toward a VIP */
	__u64 rate_limited;	/* dropped by a RATE_LIMIT rule's bucket */
	__u64 allowed;		/* not dropped: passed to the stack or steered */
};

/* Program-wide counters (per CPU, one slot). */
struct xadc_xdp_global {
	__u64 packets;
	__u64 not_ip;		/* ARP, LLDP, ... passed */
	__u64 not_vip;		/* IP but no VIP entry: passed */
	__u64 malformed;	/* truncated/bad headers: passed, or dropped when to a VIP */
	__u64 fragments;	/* non-first fragments: passed */
	__u64 icmp;		/* ICMP/ICMPv6 passed */
	__u64 events_lost;	/* ring buffer full */
};

/* Configuration, one entry. */
#define XADC_CFG_F_RECORD_LAST	(1U << 0)	/* tests: store each decision in xadc_last */

struct xadc_xdp_config {
	__u32 sample_every;	/* drop events: 1 in N drops per CPU, 0 = none */
	__u32 flags;		/* XADC_CFG_F_* */
};

/* Reason a packet was dropped, in events and xadc_last. */
enum xadc_xdp_reason {
	XADC_REASON_NONE = 0,		/* allowed / not subject to policy */
	XADC_REASON_DENY = 1,		/* a DENY rule matched */
	XADC_REASON_RATE_LIMIT = 2,	/* a RATE_LIMIT rule's bucket was empty */
	XADC_REASON_MALFORMED = 3,	/* unparseable packet to a VIP address */
};

/* A sampled drop, from the ring buffer. */
struct xadc_xdp_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 vs_id;
	__u32 nsp_id;
	__u32 rule_id;		/* user's rule index; ~0 when no rule */
	__u16 client_port;	/* host order */
	__u16 vs_port;
	__u8 family;		/* 4 or 6 */
	__u8 proto;
	__u8 reason;		/* enum xadc_xdp_reason */
	__u8 pad;
	__u8 client_addr[16];	/* IPv4 mapped */
	__u8 vip_addr[16];
};

/* The last decision (only with XADC_CFG_F_RECORD_LAST): lets tests compare
 * the matched rule, not just the verdict. */
#define XADC_LAST_NO_RULE 0xffffffffU
struct xadc_xdp_last {
	__u32 seq;		/* incremented per VIP packet */
	__u32 rule_pos;		/* matched rule position, XADC_LAST_NO_RULE if none */
	__u32 action;		/* xdp action returned */
	__u32 reason;		/* enum xadc_xdp_reason */
};

/*
 * Flow steering to other Service Engines (see the header comment of
 * bpf/xadc_xdp.bpf.c for the rules).
 *
 * xadc_steer_gen[vs_id] is the active generation (0: the VS is not
 * steered). Generation g of a VS is an SE set (xadc_steer_sets, key
 * (vs_id, g)) and a Maglev lookup table of table_size entries, each the
 * index of an SE in that set, stored in chunks of XADC_MAGLEV_CHUNK
 * entries (xadc_maglev, key (vs_id, g, chunk)). A set names the generation
 * before it (prev_gen) for the second chance; userspace keeps exactly the
 * active and the previous generation.
 */
#define XADC_STEER_MAX_SES	32	/* SEs per virtual service */
#define XADC_STEER_MAX_VS	256	/* virtual services steered at once */
#define XADC_MAGLEV_MAX		65537	/* largest (prime) table size */
#define XADC_MAGLEV_CHUNK	4096	/* table entries per map value */
#define XADC_MAGLEV_CHUNKS	((XADC_MAGLEV_MAX + XADC_MAGLEV_CHUNK - 1) / XADC_MAGLEV_CHUNK)
#define XADC_FLOW_MAX_ENTRIES	(1 << 16) /* pinned flows (LRU) */
#define XADC_TX_PORTS_MAX	64	/* interfaces steered frames leave by */
#define XADC_SE_NONE		0xff	/* no SE (self_idx, fallback_idx) */

#define XADC_SE_F_SELF		(1U << 0)	/* this SE: deliver to the local stack */

/* One SE as the program needs it. */
struct xadc_steer_se_k {
	__u32 id;		/* the user's SE id (counters are keyed by it) */
	__u32 ifindex;		/* send out of this; 0 = the receiving interface */
	__u8 mac[6];		/* the SE's MAC: new destination MAC */
	__u8 src_mac[6];	/* ifindex's MAC (ifindex 0: the frame's old destination) */
	__u8 flags;		/* XADC_SE_F_* */
	__u8 pad[3];
};

struct xadc_steer_key {
	__u32 vs_id;
	__u32 gen;
};

struct xadc_steer_set {
	__u32 nses;
	__u32 table_size;	/* prime, <= XADC_MAGLEV_MAX */
	__u32 prev_gen;		/* generation this one replaced, 0 = none */
	__u8 self_idx;		/* index of the SE flagged self, XADC_SE_NONE */
	__u8 fallback_idx;	/* second-chance target without prev_gen, XADC_SE_NONE */
	__u8 pad[2];
	struct xadc_steer_se_k se[XADC_STEER_MAX_SES];
};

struct xadc_maglev_key {
	__u32 vs_id;
	__u32 gen;
	__u32 chunk;
};

struct xadc_maglev_chunk {
	__u8 se[XADC_MAGLEV_CHUNK];	/* index into the generation's se[] */
};

/* A flow: addresses as in the VIP key (IPv4 mapped), ports host order. */
struct xadc_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct xadc_flow_val {
	__u64 ts_ns;		/* bpf_ktime_get_ns() of the last packet */
	struct xadc_steer_se_k se; /* where the flow goes (a copy: survives set changes) */
};

/* Per-CPU steering counters, key (vs_id, SE id). */
struct xadc_steer_stats_key {
	__u32 vs_id;
	__u32 se_id;
};

struct xadc_steer_counters {
	__u64 packets;		/* delivered to this SE (self: passed to our stack) */
	__u64 bytes;
	__u64 new_flows;	/* flows pinned to this SE here */
	__u64 second_chance;	/* unknown mid-flow packets sent to it as previous owner */
};

/* The flow hash the Maglev table is indexed with (slot = hash % size).
 * Byte-wise loads: the same value on either endianness and in BPF. */
static inline __u32 xadc_flow_hash(const struct xadc_flow_key *k)
{
	__u32 h = 0x9e3779b9U ^ k->proto;
	int i;

	for (i = 0; i < 16; i += 4)
		h = xadc_mix32(h ^ xadc_ld32(k->saddr + i));
	for (i = 0; i < 16; i += 4)
		h = xadc_mix32(h ^ xadc_ld32(k->daddr + i));
	return xadc_mix32(h ^ ((__u32)k->sport << 16 | k->dport));
}

#endif
