// SPDX-License-Identifier: GPL-2.0
/*
 * xadc_xdp.bpf.c - the xadc XDP data plane: VIP lookup and the network
 * security policy (Avi networksecuritypolicy), enforced before the stack.
 *
 * Per packet: parse Ethernet (+ up to 2 VLAN tags, 802.1Q or 802.1ad),
 * IPv4 (options skipped via ihl) or IPv6 (up to XADC_IPV6_MAX_EXTHDR
 * extension headers), then TCP/UDP ports; look up (dst address, dst port,
 * proto) in xadc_vips; not a VIP -> XDP_PASS untouched. For a VIP with a
 * policy, evaluate its active generation: ordered rules, first match wins,
 * no match -> allow. The generation word (xadc_nsp_gen) is read once and
 * names one of the policy's two rules slots (an array: no hashing), which
 * must hold that generation. Client-IP matching of the whole policy costs
 * at most one hash lookup, and an LPM trie lookup only on a miss when the
 * generation has non-host prefixes of that family (both values are the
 * bitmap of rules whose IP set contains the address; host entries, /32 and
 * /128, are kept in the hash maps, everything shorter in the tries); the
 * host lookup is skipped when the generation's host filter (a Bloom filter
 * in the rules value) rules the address out, and every client lookup when
 * no rule has a client-IP condition. Ports are checked only for the
 * candidate rules.
 *
 * Packets the policy is not about, and what happens to them:
 *  - ARP, LLDP, any non-IP ethertype: XDP_PASS (counted not_ip).
 *  - More than 2 VLAN tags: not parsed further, XDP_PASS (not_ip).
 *  - ICMP and ICMPv6 (echo, ND, and errors toward a VIP including
 *    fragmentation-needed / packet-too-big): XDP_PASS, so neighbour
 *    discovery and path MTU discovery keep working. VIPs are TCP/UDP only.
 *  - Non-first IP fragments (IPv4 offset != 0, IPv6 fragment header with
 *    offset != 0): XDP_PASS. They carry no ports, so the policy cannot be
 *    evaluated on them; the first fragment carries the ports and is policed,
 *    and if it is dropped the kernel never completes reassembly, so the
 *    rest time out harmlessly. Linux discards overlapping fragments, so a
 *    later fragment cannot rewrite the policed ports (RFC 1858).
 *  - Truncated or malformed headers: if the destination address is not a
 *    VIP address (or could not even be read), XDP_PASS and count malformed:
 *    the kernel validates headers again and drops garbage, and XDP must not
 *    blackhole traffic it does not understand. If the destination *is* a
 *    VIP address, XDP_DROP (counted in the VS's drops): an IP packet to a
 *    VIP whose ports we cannot read (tiny first fragment, truncated L4,
 *    too many IPv6 extension headers) is exactly what would slip past the
 *    policy, so it is refused.
 *
 * Rate limiting counts new connections: a TCP SYN without ACK, and every
 * UDP packet. Other TCP segments matching a RATE_LIMIT rule are allowed.
 * Buckets are per (policy, rule id, client address), updated without locks:
 * two CPUs racing on one client may each admit a packet, an acceptable
 * over-admission of at most one packet per CPU.
 *
 * Flow steering (virtual services scaled out over several SEs). After the
 * policy allowed a TCP/UDP packet to a VIP whose VS has an active steering
 * generation (xadc_steer_gen[vs_id] != 0: an SE set and a Maglev table
 * built by userspace/xdp_steer.c), the packet goes to exactly one SE:
 * "self" -> XDP_PASS to our stack; another SE -> its MAC becomes the
 * destination MAC and the frame leaves at layer 2 (source MAC: ours), by
 * XDP_TX when the SE is reached through the receiving interface, else
 * through xadc_tx_ports (bpf_redirect_map; a missing port drops). Which SE:
 *
 *  The frame's source MAC tells where it comes from: the MAC of another SE
 *  of the set -> "from a peer" (steered here already); anything else ->
 *  "from a client" (we are the distributor: the primary SE in L2 scale-out,
 *  or any SE behind ECMP, since every SE computes the same table).
 *  h = xadc_flow_hash(5-tuple); T(g)[h % size] is generation g's owner.
 *
 *  1. Pinned flow (xadc_flows, LRU, 5-tuple -> SE copy + timestamp): from a
 *     client -> the pinned SE, whatever the current set says (an SE-set
 *     change moves only new flows). From a peer -> XDP_PASS (a peer's
 *     frame is never sent on by a pin). A client's SYN skips the pin: a
 *     reused source port starts a new connection (as Katran does).
 *  2. New flow (TCP SYN without ACK, or a UDP datagram of an unknown
 *     flow): from a client -> T(current); from a peer -> self. The flow is
 *     pinned there.
 *  3. Unknown mid-flow packet (TCP without SYN, not pinned: the pin was
 *     evicted, the SE restarted, or the flow began before this set):
 *     a. our stack has a socket for it (bpf_skc_lookup_tcp: established,
 *        time-wait or request socket; a listener does not count) ->
 *        XDP_PASS, pinned to self;
 *     b. from a client and T(current) is another SE -> that SE (not
 *        pinned: it is only the best guess);
 *     c. otherwise (from a peer, or T(current) is us) the second chance:
 *        the previous owner P = T(prev_gen) when the set has a previous
 *        generation, else the set's configured fallback SE (the primary).
 *        P another SE and not the peer the frame came from -> P (counted
 *        second_chance); else XDP_PASS, and our stack answers as it would
 *        without XDP (a reset).
 *  With the same generations on every SE a frame makes at most two SE hops
 *  (distributor -> current owner -> previous owner, whose own T(prev_gen)
 *  is itself); the "not back to the sender" rule stops ping-pong while
 *  generations differ between SEs. Scale-in and migration therefore keep
 *  established flows: the distributor's pins carry them, and without a pin
 *  the current owner hands them back to the previous one.
 *
 * A set change writes generation g+1 (set, then table chunks) beside g,
 * flips xadc_steer_gen, then deletes g-1: a packet reads one generation
 * word and sees one whole table. A second-chance lookup racing that delete
 * finds no previous table and passes the packet (rule 3c's else).
 * Not steered: ICMP (errors about a steered flow reach the distributor's
 * stack), fragments, packets the policy dropped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdp/xdp_helpers.h>
#include "xadc_common.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_AH_		51
#define IPPROTO_DSTOPTS_	60
#define IPPROTO_ICMPV6_		58
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff
#define NSEC_PER_SEC	1000000000ULL

char LICENSE[] SEC("license") = "GPL";

/* libxdp metadata: run priority in a multi-program dispatcher, and go on to
 * the next program when we return XDP_PASS. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xadc_xdp);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XADC_XDP_MAX_VIPS);
	__type(key, struct xadc_vip_key);
	__type(value, struct xadc_vip_val);
} xadc_vips SEC(".maps");

/* Active generation per policy (0 = none installed). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XADC_XDP_MAX_NSP);
	__type(key, __u32);
	__type(value, __u32);
} xadc_nsp_gen SEC(".maps");

/* Two slots per policy, index xadc_nsp_rules_slot(nsp_id, gen); a slot is
 * the generation it claims (rules->gen) or it is not used. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XADC_NSP_SLOTS * XADC_XDP_MAX_NSP);
	__type(key, __u32);
	__type(value, struct xadc_nsp_rules);
} xadc_nsp_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XADC_NSP_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xadc_lpm4_key);
	__type(value, struct xadc_lpm_val);
} xadc_nsp_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XADC_NSP_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xadc_lpm6_key);
	__type(value, struct xadc_lpm_val);
} xadc_nsp_lpm6 SEC(".maps");

/* Host entries of every policy generation, allocated on use like the
 * tries' (a preallocated 2^20-entry map would pin its memory up front). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XADC_NSP_MAX_HOSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xadc_nsp_host4_key);
	__type(value, struct xadc_lpm_val);
} xadc_nsp_host4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XADC_NSP_MAX_HOSTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xadc_nsp_host6_key);
	__type(value, struct xadc_lpm_val);
} xadc_nsp_host6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XADC_RL_MAX_ENTRIES);
	__type(key, struct xadc_rl_key);
	__type(value, struct xadc_rl_val);
} xadc_ratelimit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XADC_XDP_MAX_VS);
	__type(key, __u32);
	__type(value, struct xadc_xdp_counters);
} xadc_vs_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XADC_XDP_MAX_NSP * XADC_NSP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xadc_xdp_counters);
} xadc_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xadc_xdp_global);
} xadc_global_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xadc_xdp_config);
} xadc_config SEC(".maps");

/* Per-CPU drop counter driving the 1-in-N event sampling. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xadc_sample_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} xadc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xadc_xdp_last);
} xadc_last SEC(".maps");

/* Steering: see the header comment and bpf/xadc_common.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XADC_XDP_MAX_VS);
	__type(key, __u32);
	__type(value, __u32);
} xadc_steer_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 3 * XADC_STEER_MAX_VS);
	__type(key, struct xadc_steer_key);
	__type(value, struct xadc_steer_set);
} xadc_steer_sets SEC(".maps");

/* Table chunks, allocated on use (a VS needs one to two tables). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 3 * XADC_STEER_MAX_VS * XADC_MAGLEV_CHUNKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xadc_maglev_key);
	__type(value, struct xadc_maglev_chunk);
} xadc_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XADC_FLOW_MAX_ENTRIES);
	__type(key, struct xadc_flow_key);
	__type(value, struct xadc_flow_val);
} xadc_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XADC_STEER_MAX_VS * XADC_STEER_MAX_SES);
	__type(key, struct xadc_steer_stats_key);
	__type(value, struct xadc_steer_counters);
} xadc_steer_stats SEC(".maps");

/* Interfaces other than the receiving one that steered frames leave by. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XADC_TX_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xadc_tx_ports SEC(".maps");

/* What the parser found. */
struct pkt {
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* L4 protocol after extension headers */
	__u8 l4_ok;		/* ports were read */
	__u8 is_syn;		/* TCP SYN without ACK */
	__u16 sport, dport;	/* host order */
	__u8 saddr[16];		/* IPv4 mapped */
	__u8 daddr[16];
	__u32 len;
};

/* Parse verdicts. */
enum { P_OK, P_PASS_NOT_IP, P_PASS_ICMP, P_PASS_FRAG, P_MALFORMED_L3, P_MALFORMED_L4 };

static __always_inline void map_v4(__u8 *dst, __be32 a)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &a, 4);
}

/* Read the ports (and the SYN flag) of a TCP or UDP header at l4. */
static __always_inline int parse_l4(void *l4, void *end, struct pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return P_MALFORMED_L4;
		if (th->doff < 5)
			return P_MALFORMED_L4;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->is_syn = th->syn && !th->ack;
		p->l4_ok = 1;
		return P_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end)
			return P_MALFORMED_L4;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->l4_ok = 1;
		return P_OK;
	}
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_)
		return P_PASS_ICMP;
	/* Other protocols: no ports; a VIP key with port 0 never matches. */
	return P_OK;
}

static __always_inline int parse_ipv4(void *l3, void *end, struct pkt *p)
{
	struct iphdr *ip = l3;
	__u32 hlen;

	if ((void *)(ip + 1) > end)
		return P_MALFORMED_L3;
	p->family = 4;
	p->proto = ip->protocol;
	map_v4(p->saddr, ip->saddr);
	map_v4(p->daddr, ip->daddr);
	/* From here the destination is known: errors are L4-level, so a
	 * VIP address gets the malformed-to-VIP treatment. */
	if (ip->version != 4)
		return P_MALFORMED_L4;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || l3 + hlen > end)
		return P_MALFORMED_L4;
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return p->proto == IPPROTO_ICMP ? P_PASS_ICMP : P_PASS_FRAG;
	return parse_l4(l3 + hlen, end, p);
}

static __always_inline int parse_ipv6(void *l3, void *end, struct pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	void *cur = ip6 + 1;
	__u8 nh;
	int i;

	if (cur > end)
		return P_MALFORMED_L3;
	p->family = 6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	nh = ip6->nexthdr;

	for (i = 0; i < XADC_IPV6_MAX_EXTHDR; i++) {
		struct ipv6_opt_hdr *oh = cur;

		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if ((void *)(oh + 1) > end)
				return P_MALFORMED_L4;
			nh = oh->nexthdr;
			cur += (oh->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH_:
			if ((void *)(oh + 1) > end)
				return P_MALFORMED_L4;
			nh = oh->nexthdr;
			cur += (oh->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_: {
			struct frag_hdr *fh = cur;

			if ((void *)(fh + 1) > end)
				return P_MALFORMED_L4;
			nh = fh->nexthdr;
			if (fh->frag_off & bpf_htons(0xfff8))
				return nh == IPPROTO_ICMPV6_ ? P_PASS_ICMP : P_PASS_FRAG;
			cur = fh + 1;
			break;
		}
		default:
			p->proto = nh;
			return parse_l4(cur, end, p);
		}
	}
	/* Still an extension header after the bound. */
	p->proto = nh;
	return P_MALFORMED_L4;
}

/* Parse the frame; P_* result, p filled as far as it got. */
static __always_inline int parse(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u16 proto;
	int i;

	p->len = end - data;
	if (cur > end)
		return P_PASS_NOT_IP;
	proto = eth->h_proto;
	for (i = 0; i < 2; i++) {
		struct vlan_hdr *vh = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return P_PASS_NOT_IP;
		proto = vh->h_vlan_encapsulated_proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(cur, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(cur, end, p);
	return P_PASS_NOT_IP;
}

static __always_inline struct xadc_xdp_global *global_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xadc_global_stats, &zero);
}

static __always_inline bool port_in(const struct xadc_port_range *r, __u8 n, __u16 port)
{
	int i;

	for (i = 0; i < XADC_NSP_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	}
	return false;
}

/* Do rule r's port conditions hold for p? */
static __always_inline bool ports_match(const struct xadc_nsp_rule_k *r, const struct pkt *p)
{
	if (r->flags & XADC_RULE_F_CPORT) {
		bool in = p->l4_ok && port_in(r->cport, r->ncport, p->sport);

		if (in == !!(r->flags & XADC_RULE_F_CPORT_NOT))
			return false;
	}
	if (r->flags & XADC_RULE_F_VSPORT) {
		bool in = p->l4_ok && port_in(r->vsport, r->nvsport, p->dport);

		if (in == !!(r->flags & XADC_RULE_F_VSPORT_NOT))
			return false;
	}
	return true;
}

/* Not a XADC_NSP_F_* bit of the map: the caller of xadc_nsp_ip_bits found
 * that the address has no host entry (host_maybe). */
#define F_NO_HOST	(1U << 31)

/* Might p's client address have a host entry in the generation of rules?
 * False only when the generation's host filter says it has none. */
static __always_inline bool host_maybe(const struct xadc_nsp_rules *rules, const struct pkt *p)
{
	__u32 bit;

	if (!(rules->flags & XADC_NSP_F_HOST_FILTER))
		return true;
	bit = p->family == 4 ? xadc_host_filter_bit(p->saddr + 12, 4)
			     : xadc_host_filter_bit(p->saddr, 6);
	bit &= XADC_NSP_HOST_FILTER_BITS - 1;
	return rules->host_filter[bit / 64] & (1ULL << (bit % 64));
}

/* Rule bitmap of p's client address in generation gen of policy nsp_id,
 * whose rules value has flags gen_flags (plus F_NO_HOST when the caller
 * knows there is no host entry): the host entry when there is one
 * (the longest possible match), else the trie's longest non-host prefix,
 * skipped when the generation has none of that family.
 *
 * A global function on purpose: the verifier checks it once, on its own,
 * and the caller sees an unknown scalar back. Inlined, each way out of it
 * (host hit, no trie, trie hit, trie miss) is a separate state through the
 * rest of the program, past the verifier's instruction budget. */
__noinline __u64 xadc_nsp_ip_bits(__u32 nsp_id, __u32 gen, __u32 gen_flags, const struct pkt *p)
{
	struct xadc_lpm_val *v;

	if (!p)
		return 0;
	if (p->family == 4) {
		struct xadc_nsp_host4_key hk = { .nsp_id = nsp_id, .gen = gen };
		struct xadc_lpm4_key k = {
			.prefixlen = 64 + 32,
			.nsp_id = bpf_htonl(nsp_id),
			.gen = bpf_htonl(gen),
		};

		__builtin_memcpy(hk.addr, p->saddr + 12, 4);
		v = gen_flags & F_NO_HOST ? NULL : bpf_map_lookup_elem(&xadc_nsp_host4, &hk);
		if (v)
			return v->rules;
		if (gen_flags & XADC_NSP_F_NO_LPM4)
			return 0;
		__builtin_memcpy(k.addr, p->saddr + 12, 4);
		v = bpf_map_lookup_elem(&xadc_nsp_lpm4, &k);
	} else {
		struct xadc_nsp_host6_key hk = { .nsp_id = nsp_id, .gen = gen };
		struct xadc_lpm6_key k = {
			.prefixlen = 64 + 128,
			.nsp_id = bpf_htonl(nsp_id),
			.gen = bpf_htonl(gen),
		};

		__builtin_memcpy(hk.addr, p->saddr, 16);
		v = gen_flags & F_NO_HOST ? NULL : bpf_map_lookup_elem(&xadc_nsp_host6, &hk);
		if (v)
			return v->rules;
		if (gen_flags & XADC_NSP_F_NO_LPM6)
			return 0;
		__builtin_memcpy(k.addr, p->saddr, 16);
		v = bpf_map_lookup_elem(&xadc_nsp_lpm6, &k);
	}
	return v ? v->rules : 0;
}

/* Take one token from the client's bucket for rule r; false when empty. */
static __always_inline bool rl_admit(__u32 nsp_id, const struct xadc_nsp_rule_k *r,
				     const struct pkt *p)
{
	struct xadc_rl_key k = { .nsp_id = nsp_id, .rule_id = r->rule_id };
	__u64 now = bpf_ktime_get_ns();
	__u64 cap = (__u64)r->burst * NSEC_PER_SEC;
	struct xadc_rl_val *b;
	__u64 elapsed, tokens;

	__builtin_memcpy(k.addr, p->saddr, 16);
	b = bpf_map_lookup_elem(&xadc_ratelimit, &k);
	if (!b) {
		struct xadc_rl_val nb = { .tokens = cap, .last_ns = now };

		if (cap < NSEC_PER_SEC)
			return false;
		nb.tokens -= NSEC_PER_SEC;
		bpf_map_update_elem(&xadc_ratelimit, &k, &nb, BPF_ANY);
		return true;
	}
	elapsed = now - b->last_ns;
	tokens = b->tokens;
	/* Refill; clamp elapsed first so elapsed * rate cannot overflow. */
	if (r->max_rate && elapsed >= (cap - tokens) / r->max_rate + 1)
		tokens = cap;
	else
		tokens += elapsed * r->max_rate;
	if (tokens > cap)
		tokens = cap;
	b->last_ns = now;
	if (tokens < NSEC_PER_SEC) {
		b->tokens = tokens;
		return false;
	}
	b->tokens = tokens - NSEC_PER_SEC;
	return true;
}

static __always_inline void count(void *map, __u32 idx, __u32 len, int verdict, int reason)
{
	struct xadc_xdp_counters *c = bpf_map_lookup_elem(map, &idx);

	if (!c)
		return;
	c->packets++;
	c->bytes += len;
	if (verdict == XDP_DROP) {
		c->drops++;
		if (reason == XADC_REASON_RATE_LIMIT)
			c->rate_limited++;
	} else {
		c->allowed++;
	}
}

/* Emit a drop event, 1 in sample_every drops per CPU. */
static __always_inline void sample_drop(const struct xadc_xdp_config *cfg,
					const struct xadc_vip_val *vip, __u32 rule_id,
					const struct pkt *p, int reason)
{
	struct xadc_xdp_event *e;
	__u32 zero = 0;
	__u64 *cnt;

	if (!cfg || !cfg->sample_every)
		return;
	cnt = bpf_map_lookup_elem(&xadc_sample_cnt, &zero);
	if (!cnt)
		return;
	if ((*cnt)++ % cfg->sample_every)
		return;
	e = bpf_ringbuf_reserve(&xadc_events, sizeof(*e), 0);
	if (!e) {
		struct xadc_xdp_global *g = global_stats();

		if (g)
			g->events_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->vs_id = vip->vs_id;
	e->nsp_id = vip->nsp_id;
	e->rule_id = rule_id;
	e->client_port = p->sport;
	e->vs_port = p->dport;
	e->family = p->family;
	e->proto = p->proto;
	e->reason = reason;
	e->pad = 0;
	__builtin_memcpy(e->client_addr, p->saddr, 16);
	__builtin_memcpy(e->vip_addr, p->daddr, 16);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void record_last(const struct xadc_xdp_config *cfg, __u32 pos,
					int verdict, int reason)
{
	struct xadc_xdp_last *l;
	__u32 zero = 0;

	if (!cfg || !(cfg->flags & XADC_CFG_F_RECORD_LAST))
		return;
	l = bpf_map_lookup_elem(&xadc_last, &zero);
	if (!l)
		return;
	l->seq++;
	l->rule_pos = pos;
	l->action = verdict;
	l->reason = reason;
}

/* Position of the lowest set bit of x (x != 0): the population count of
 * the bits below it. Branch-free on purpose: the BPF backend has no
 * count-trailing-zeros instruction, and a binary search would give the
 * verifier 64 paths to follow through the rest of the program. */
static __always_inline __u32 lowest_bit(__u64 x)
{
	__u64 v = (x & -x) - 1;

	v = v - ((v >> 1) & 0x5555555555555555ULL);
	v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return ((v * 0x0101010101010101ULL) >> 56) & (XADC_NSP_MAX_RULES - 1);
}

/* State of the first-match scan, shared with the bpf_loop callback. */
struct match_ctx {
	const struct xadc_nsp_rules *rules;
	const struct pkt *p;
	__u64 cand;		/* candidates not yet looked at, lowest first */
	__u32 pos;		/* out: first matching rule position */
};

/* bpf_loop callback: look at the lowest remaining candidate and stop (1)
 * when its port conditions hold or none is left. Each call consumes one
 * candidate, so the scan costs one call per candidate, not per rule. A
 * callback is verified once for any step, where an unrolled 64-step loop
 * over the rules exceeds the verifier's budget. */
static int match_rule_cb(__u32 i, void *data)
{
	struct match_ctx *mc = data;
	__u32 pos;

	if (!mc->cand)
		return 1;
	pos = lowest_bit(mc->cand);
	mc->cand &= mc->cand - 1;
	if (!ports_match(&mc->rules->rule[pos], mc->p))
		return 0;
	mc->pos = pos;
	return 1;
}

/* The first rule among cand (bitmap of rules whose client-IP condition
 * holds) whose port conditions hold for p, or XADC_LAST_NO_RULE. When the
 * lowest candidate has no port condition (the common case: plain
 * allow/deny lists) it decides here, and bpf_loop's call overhead is paid
 * only when a port condition has to be checked. Port checks stay in the
 * callback: inlined here they multiply the verifier's states past its
 * budget. */
static __always_inline __u32 first_match(const struct xadc_nsp_rules *rules,
					 const struct pkt *p, __u64 cand)
{
	struct match_ctx mc;
	__u32 pos;

	if (!cand)
		return XADC_LAST_NO_RULE;
	pos = lowest_bit(cand);
	if (!(rules->rule[pos].flags & (XADC_RULE_F_CPORT | XADC_RULE_F_VSPORT)))
		return pos;
	mc.rules = rules;
	mc.p = p;
	mc.cand = cand;
	mc.pos = XADC_LAST_NO_RULE;
	bpf_loop(XADC_NSP_MAX_RULES, match_rule_cb, &mc, 0);
	return mc.pos;
}

/* Generation gen's owner of slot h % table_size: an index < nses, or
 * XADC_SE_NONE. Indexes are unsigned so that one compare bounds them. */
static __always_inline __u32 table_owner(__u32 vs_id, __u32 gen, const struct xadc_steer_set *set,
				       __u32 h)
{
	struct xadc_maglev_key mk = { .vs_id = vs_id, .gen = gen };
	struct xadc_maglev_chunk *c;
	__u32 slot, idx;

	if (!set->table_size)
		return XADC_SE_NONE;
	slot = h % set->table_size;
	mk.chunk = slot / XADC_MAGLEV_CHUNK;
	c = bpf_map_lookup_elem(&xadc_maglev, &mk);
	if (!c)
		return XADC_SE_NONE;
	idx = c->se[slot & (XADC_MAGLEV_CHUNK - 1)];
	if (idx >= set->nses || idx >= XADC_STEER_MAX_SES)
		return XADC_SE_NONE;
	return idx;
}

/* Index of the SE (not self) whose MAC is the frame's source, or
 * XADC_SE_NONE. */
static __always_inline __u32 peer_of(const struct xadc_steer_set *set, const __u8 *smac)
{
	__u32 i;

	for (i = 0; i < XADC_STEER_MAX_SES; i++) {
		const __u8 *m = set->se[i].mac;

		if (i >= set->nses)
			break;
		if (i == set->self_idx)
			continue;
		if (m[0] == smac[0] && m[1] == smac[1] && m[2] == smac[2] && m[3] == smac[3] &&
		    m[4] == smac[4] && m[5] == smac[5])
			return i;
	}
	return XADC_SE_NONE;
}

/* Does our stack have a (non-listening) TCP socket for p? */
static __always_inline bool local_socket(struct xdp_md *ctx, const struct pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 sz;
	bool known;

	if (p->family == 4) {
		__builtin_memcpy(&t.ipv4.saddr, p->saddr + 12, 4);
		__builtin_memcpy(&t.ipv4.daddr, p->daddr + 12, 4);
		t.ipv4.sport = bpf_htons(p->sport);
		t.ipv4.dport = bpf_htons(p->dport);
		sz = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p->daddr, 16);
		t.ipv6.sport = bpf_htons(p->sport);
		t.ipv6.dport = bpf_htons(p->dport);
		sz = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, sz, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	known = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return known;
}

enum { ST_PLAIN, ST_NEW_FLOW, ST_SECOND_CHANCE };

/* Count p on (vs_id, se) and send it there (see the header comment). */
static __always_inline int deliver(struct xdp_md *ctx, __u32 vs_id,
				   const struct xadc_steer_se_k *se, const struct pkt *p, int kind)
{
	struct xadc_steer_stats_key k = { .vs_id = vs_id, .se_id = se->id };
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct xadc_steer_counters *c;
	struct ethhdr *eth = data;

	c = bpf_map_lookup_elem(&xadc_steer_stats, &k);
	if (c) {
		c->packets++;
		c->bytes += p->len;
		if (kind == ST_NEW_FLOW)
			c->new_flows++;
		else if (kind == ST_SECOND_CHANCE)
			c->second_chance++;
	}
	if (se->flags & XADC_SE_F_SELF)
		return XDP_PASS;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (se->ifindex)
		__builtin_memcpy(eth->h_source, se->src_mac, 6);
	else
		__builtin_memcpy(eth->h_source, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, se->mac, 6);
	if (!se->ifindex || se->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&xadc_tx_ports, se->ifindex, XDP_DROP);
}

/* Rule 3c: the previous owner of an unknown mid-flow packet, or NULL. */
static __always_inline const struct xadc_steer_se_k *
previous_owner(__u32 vs_id, const struct xadc_steer_set *set, __u32 h, __u32 peer)
{
	struct xadc_steer_key pk = { .vs_id = vs_id, .gen = set->prev_gen };
	const struct xadc_steer_se_k *to = NULL;
	const struct xadc_steer_set *ps;
	__u32 idx;

	if (set->prev_gen) {
		ps = bpf_map_lookup_elem(&xadc_steer_sets, &pk);
		if (!ps)
			return NULL;
		idx = table_owner(vs_id, set->prev_gen, ps, h);
		if (idx >= XADC_STEER_MAX_SES)
			return NULL;
		to = &ps->se[idx];
	} else if (set->fallback_idx < set->nses && set->fallback_idx < XADC_STEER_MAX_SES) {
		to = &set->se[set->fallback_idx];
	}
	if (!to || (to->flags & XADC_SE_F_SELF))
		return NULL;
	if (peer < XADC_STEER_MAX_SES && to->id == set->se[peer].id)
		return NULL;
	return to;
}

/* Steer an allowed TCP/UDP packet to a VIP of vs_id; the XDP verdict. */
static __always_inline int steer(struct xdp_md *ctx, const struct pkt *p, __u32 vs_id)
{
	struct xadc_steer_key sk = { .vs_id = vs_id };
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct xadc_steer_se_k *to;
	struct xadc_flow_key fk = {};
	struct xadc_flow_val *fv, nv;
	struct xadc_steer_set *set;
	struct ethhdr *eth = data;
	__u32 *genp, h, peer, idx, self;

	genp = bpf_map_lookup_elem(&xadc_steer_gen, &vs_id);
	if (!genp || !*genp)
		return XDP_PASS;
	sk.gen = *genp;
	set = bpf_map_lookup_elem(&xadc_steer_sets, &sk);
	if (!set || (void *)(eth + 1) > end)
		return XDP_PASS;
	__builtin_memcpy(fk.saddr, p->saddr, 16);
	__builtin_memcpy(fk.daddr, p->daddr, 16);
	fk.sport = p->sport;
	fk.dport = p->dport;
	fk.proto = p->proto;
	peer = peer_of(set, eth->h_source);
	self = set->self_idx < set->nses ? set->self_idx : XADC_SE_NONE;

	/* 1. pinned. A client's SYN is a new connection even when its 5-tuple
	 * is pinned: clients reuse source ports, and following a stale pin
	 * would send the new connection to an SE that has left the set. Its
	 * retransmissions are placed the same way (same table, same SE). */
	fv = p->is_syn && peer >= XADC_STEER_MAX_SES ? NULL : bpf_map_lookup_elem(&xadc_flows, &fk);
	if (fv) {
		fv->ts_ns = bpf_ktime_get_ns();
		if (peer < XADC_STEER_MAX_SES && !(fv->se.flags & XADC_SE_F_SELF))
			return XDP_PASS;
		return deliver(ctx, vs_id, &fv->se, p, ST_PLAIN);
	}
	h = xadc_flow_hash(&fk);
	/* 2. new flow */
	if (p->proto == IPPROTO_UDP || p->is_syn) {
		idx = peer < XADC_STEER_MAX_SES ? self : table_owner(vs_id, sk.gen, set, h);
		if (idx >= XADC_STEER_MAX_SES)
			return XDP_PASS;
		nv.ts_ns = bpf_ktime_get_ns();
		nv.se = set->se[idx];
		bpf_map_update_elem(&xadc_flows, &fk, &nv, BPF_ANY);
		return deliver(ctx, vs_id, &set->se[idx], p, ST_NEW_FLOW);
	}
	/* 3a. our stack knows it */
	if (p->proto == IPPROTO_TCP && local_socket(ctx, p)) {
		if (self >= XADC_STEER_MAX_SES)
			return XDP_PASS;
		nv.ts_ns = bpf_ktime_get_ns();
		nv.se = set->se[self];
		bpf_map_update_elem(&xadc_flows, &fk, &nv, BPF_ANY);
		return deliver(ctx, vs_id, &set->se[self], p, ST_PLAIN);
	}
	/* 3b. the current owner */
	if (peer >= XADC_STEER_MAX_SES) {
		idx = table_owner(vs_id, sk.gen, set, h);
		if (idx < XADC_STEER_MAX_SES && idx != self)
			return deliver(ctx, vs_id, &set->se[idx], p, ST_PLAIN);
	}
	/* 3c. second chance */
	to = previous_owner(vs_id, set, h, peer);
	if (to)
		return deliver(ctx, vs_id, to, p, ST_SECOND_CHANCE);
	if (self < XADC_STEER_MAX_SES)
		return deliver(ctx, vs_id, &set->se[self], p, ST_PLAIN);
	return XDP_PASS;
}

SEC("xdp")
int xadc_xdp(struct xdp_md *ctx)
{
	struct xadc_vip_key vk = {};
	const struct xadc_xdp_config *cfg;
	struct xadc_xdp_global *g;
	struct xadc_nsp_rules *rules;
	struct xadc_vip_val *vip;
	struct pkt p = {};
	__u32 zero = 0, pos = XADC_LAST_NO_RULE, rule_id = XADC_LAST_NO_RULE;
	int res, verdict = XDP_PASS, reason = XADC_REASON_NONE;
	__u32 *genp, nsp_id, gen, slot;
	__u64 bits = 0;

	res = parse(ctx, &p);
	g = global_stats();
	if (g)
		g->packets++;
	switch (res) {
	case P_OK:
		break;
	case P_PASS_NOT_IP:
		if (g)
			g->not_ip++;
		return XDP_PASS;
	case P_PASS_ICMP:
		if (g)
			g->icmp++;
		return XDP_PASS;
	case P_PASS_FRAG:
		if (g)
			g->fragments++;
		return XDP_PASS;
	case P_MALFORMED_L3:
		if (g)
			g->malformed++;
		return XDP_PASS;
	default:
		/* P_MALFORMED_L4: destination known, ports not. */
		if (g)
			g->malformed++;
		break;
	}

	__builtin_memcpy(vk.addr, p.daddr, 16);
	if (res == P_OK) {
		vk.port = p.dport;
		vk.proto = p.proto;
	}
	vip = bpf_map_lookup_elem(&xadc_vips, &vk);
	if (!vip) {
		if (g && res == P_OK)
			g->not_vip++;
		return XDP_PASS;
	}
	cfg = bpf_map_lookup_elem(&xadc_config, &zero);
	if (res != P_OK) {
		/* Unparseable packet to a VIP address: see the header comment. */
		verdict = XDP_DROP;
		reason = XADC_REASON_MALFORMED;
		goto out;
	}
	nsp_id = vip->nsp_id;
	if (!(vip->flags & XADC_VIP_F_NSP) || nsp_id >= XADC_XDP_MAX_NSP)
		goto out;
	genp = bpf_map_lookup_elem(&xadc_nsp_gen, &nsp_id);
	if (!genp)
		goto out;
	/* Read the generation word once: the slot, the check below and the
	 * client-IP keys all use this one value. */
	gen = *(volatile __u32 *)genp;
	if (!gen)
		goto out;
	slot = xadc_nsp_rules_slot(nsp_id, gen);
	rules = bpf_map_lookup_elem(&xadc_nsp_rules, &slot);
	/* A slot not (yet) holding gen: as when the hash had no entry. */
	if (!rules || rules->gen != gen)
		goto out;

	/* Without a client-IP condition in any rule the bits are unused:
	 * skip the host (and trie) lookup. */
	if (rules->ip_in_mask | rules->ip_not_mask) {
		__u32 fl = rules->flags;

		if (!host_maybe(rules, &p))
			fl |= F_NO_HOST;
		/* Neither a host entry nor a trie to ask: in no set. */
		if (!(fl & F_NO_HOST) ||
		    !(fl & (p.family == 4 ? XADC_NSP_F_NO_LPM4 : XADC_NSP_F_NO_LPM6)))
			bits = xadc_nsp_ip_bits(nsp_id, gen, fl, &p);
	}
	pos = first_match(rules, &p,
			  (bits & rules->ip_in_mask) | (~bits & rules->ip_not_mask) |
				  rules->ip_any_mask);
	if (pos < XADC_NSP_MAX_RULES) {
		const struct xadc_nsp_rule_k *r = &rules->rule[pos];

		rule_id = r->rule_id;
		if (r->action == XADC_NSP_ACT_DENY) {
			verdict = XDP_DROP;
			reason = XADC_REASON_DENY;
		} else if (r->action == XADC_NSP_ACT_RATE_LIMIT &&
			   (p.proto == IPPROTO_UDP || p.is_syn) && !rl_admit(nsp_id, r, &p)) {
			verdict = XDP_DROP;
			reason = XADC_REASON_RATE_LIMIT;
		}
		count(&xadc_rule_stats, nsp_id * XADC_NSP_MAX_RULES + pos, p.len, verdict,
		      reason);
	}
out:
	count(&xadc_vs_stats, vip->vs_id, p.len, verdict, reason);
	if (verdict == XDP_DROP)
		sample_drop(cfg, vip, rule_id, &p, reason);
	else if (vip->vs_id < XADC_XDP_MAX_VS)
		verdict = steer(ctx, &p, vip->vs_id);
	record_last(cfg, pos, verdict, reason);
	return verdict;
}
