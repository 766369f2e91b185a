// SPDX-License-Identifier: GPL-2.0
/*
 * test_bpf_xdp.c - the XDP program on real frames through BPF_PROG_TEST_RUN:
 * parsing (VLAN, IPv4 options, IPv6 extension headers, fragments,
 * truncation), every verdict of the network security policy, counters,
 * drop events, generation flips and map pinning.
 */
#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_progs.h"
#include "pkt.h"
#include "xadc/xdp.h"
#include "xadc_common.h"

#define VIP4 "198.18.0.10"
#define VIP6 "fd00::10"

static struct xadc_xdp *X;
static int prog;

/* Load once (no pins) and add the VIPs every test uses: vs 1 on VIP4:80/tcp
 * and VIP4:53/udp, vs 2 on [VIP6]:80/tcp, all under policy 1. */
static bool setup(void)
{
	uint8_t a4[4], a6[16];

	if (X)
		return true;
	if (!ASSERT_OK(xadc_xdp_open(&X, ""), "xadc_xdp_open"))
		return false;
	prog = xadc_xdp_prog_fd(X);
	inet_pton(AF_INET, VIP4, a4);
	inet_pton(AF_INET6, VIP6, a6);
	return ASSERT_OK(xadc_xdp_vip_set(X, 4, a4, 80, IPPROTO_TCP, 1, 1), "vip4 tcp") &&
	       ASSERT_OK(xadc_xdp_vip_set(X, 4, a4, 53, IPPROTO_UDP, 1, 1), "vip4 udp") &&
	       ASSERT_OK(xadc_xdp_vip_set(X, 6, a6, 80, IPPROTO_TCP, 2, 1), "vip6") &&
	       ASSERT_OK(xadc_xdp_configure(X, 0, XADC_CFG_F_RECORD_LAST), "configure");
}

static struct xadc_xdp_last last(void)
{
	struct xadc_xdp_last l = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(xadc_xdp_map_fd(X, "xadc_last"), &zero, &l);
	return l;
}

static struct xadc_xdp_global global(void)
{
	struct xadc_xdp_global sum = { 0 }, v[512];
	int i, n = libbpf_num_possible_cpus();
	uint32_t zero = 0;

	if (n > 512 || bpf_map_lookup_elem(xadc_xdp_map_fd(X, "xadc_global_stats"), &zero, v))
		return sum;
	for (i = 0; i < n; i++) {
		sum.packets += v[i].packets;
		sum.not_ip += v[i].not_ip;
		sum.not_vip += v[i].not_vip;
		sum.malformed += v[i].malformed;
		sum.fragments += v[i].fragments;
		sum.icmp += v[i].icmp;
	}
	return sum;
}

static struct xadc_nsp_range rng(const char *lo, const char *hi)
{
	struct xadc_nsp_range r = { 0 };
	int af;

	r.family = strchr(lo, ':') ? 6 : 4;
	af = r.family == 4 ? AF_INET : AF_INET6;
	inet_pton(af, lo, r.lo);
	inet_pton(af, hi, r.hi);
	return r;
}

/* The policy most tests run against (positions in comments):
 *  0 DENY   client in 198.18.1.0/24 or fd00:1::/64
 *  1 ALLOW  client in 198.18.2.1 - 198.18.2.50, client port 1000-2000
 *  2 DENY   client in 198.18.2.0/24 (the rest of it)
 *  3 RATE_LIMIT 1/s burst 3: client in 198.18.3.0/24
 *  4 DENY   client NOT in 198.18.0.0/16 and not in fd00::/16, vs port 80
 *  5 DENY   vs port 53, client port NOT in 1024-65535 (privileged source)
 */
static const struct xadc_nsp_prefix p0[] = { { 4, 24, { 198, 18, 1, 0 } },
					     { 6, 64, { 0xfd, 0, 0, 1 } } };
static struct xadc_nsp_range r1[1];
static const struct xadc_nsp_prefix p2[] = { { 4, 24, { 198, 18, 2, 0 } } };
static const struct xadc_nsp_prefix p3[] = { { 4, 24, { 198, 18, 3, 0 } } };
static const struct xadc_nsp_prefix p4[] = { { 4, 16, { 198, 18 } }, { 6, 16, { 0xfd, 0 } } };

static struct xadc_nsp_rule base_rules[6];

static bool install_base(void)
{
	struct xadc_nsp_policy pol = { .nrules = 6, .rules = base_rules };

	r1[0] = rng("198.18.2.1", "198.18.2.50");
	memset(base_rules, 0, sizeof(base_rules));
	base_rules[0] = (struct xadc_nsp_rule){ .rule_id = 10, .action = XADC_NSP_DENY,
		.has_client_ip = true, .nprefixes = 2, .prefixes = p0 };
	base_rules[1] = (struct xadc_nsp_rule){ .rule_id = 11, .action = XADC_NSP_ALLOW,
		.has_client_ip = true, .nranges = 1, .ranges = r1,
		.client_port = { .present = true, .n = 1, .r = { { 1000, 2000 } } } };
	base_rules[2] = (struct xadc_nsp_rule){ .rule_id = 12, .action = XADC_NSP_DENY,
		.has_client_ip = true, .nprefixes = 1, .prefixes = p2 };
	base_rules[3] = (struct xadc_nsp_rule){ .rule_id = 13, .action = XADC_NSP_RATE_LIMIT,
		.max_rate = 1, .burst_size = 3, .has_client_ip = true, .nprefixes = 1,
		.prefixes = p3 };
	base_rules[4] = (struct xadc_nsp_rule){ .rule_id = 14, .action = XADC_NSP_DENY,
		.has_client_ip = true, .ip_op = XADC_NSP_IS_NOT_IN, .nprefixes = 2,
		.prefixes = p4,
		.vs_port = { .present = true, .n = 1, .r = { { 80, 80 } } } };
	base_rules[5] = (struct xadc_nsp_rule){ .rule_id = 15, .action = XADC_NSP_DENY,
		.vs_port = { .present = true, .n = 1, .r = { { 53, 53 } } },
		.client_port = { .present = true, .op = XADC_NSP_IS_NOT_IN, .n = 1,
				 .r = { { 1024, 65535 } } } };
	return ASSERT_OK(xadc_xdp_nsp_install(X, 1, &pol), "install base policy");
}

/* Run s, check the verdict and (for VIP traffic) the matched position. */
#define CHECK(s, want_verdict, want_pos, what)                                           \
	do {                                                                              \
		struct xadc_xdp_last ___pre = last(), ___post;                                 \
		int ___verdict = pkt_run_spec(prog, &(s));                                      \
		ASSERT_EQ(___verdict, want_verdict, what);                                      \
		___post = last();                                                            \
		if ((want_pos) != -2) {                                                   \
			ASSERT_EQ(___post.seq, ___pre.seq + 1, what " (policy ran)");          \
			ASSERT_EQ(___post.rule_pos, (uint32_t)(want_pos), what " (rule)");   \
		} else {                                                                  \
			ASSERT_EQ(___post.seq, ___pre.seq, what " (policy not run)");          \
		}                                                                         \
	} while (0)
#define NOPOL -2
#define NORULE ((int)XADC_LAST_NO_RULE)

TEST(non_vip_traffic_passes_untouched)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = "198.18.0.11", .sport = 1234, .dport = 80 };
	struct xadc_xdp_global g0, g1;

	if (!setup() || !install_base())
		return;
	g0 = global();
	CHECK(s, XDP_PASS, NOPOL, "other address");
	s.dst = VIP4;
	s.dport = 81;
	CHECK(s, XDP_PASS, NOPOL, "VIP address, other port");
	s.dport = 80;
	s.proto = IPPROTO_UDP;
	CHECK(s, XDP_PASS, NOPOL, "VIP address and port, other protocol");
	g1 = global();
	ASSERT_EQ(g1.not_vip - g0.not_vip, 3, "not_vip counted");
}

TEST(deny_allow_and_no_match)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = VIP4, .sport = 1234, .dport = 80 };

	if (!setup() || !install_base())
		return;
	CHECK(s, XDP_DROP, 0, "denied prefix");
	s.src = "198.18.2.7";
	CHECK(s, XDP_PASS, 1, "range + client port allows");
	s.sport = 3000;
	CHECK(s, XDP_DROP, 2, "same client, port outside 1000-2000: next rule denies");
	s.src = "198.18.2.51";
	s.sport = 1500;
	CHECK(s, XDP_DROP, 2, "just past the range");
	s.src = "198.18.2.0";
	CHECK(s, XDP_DROP, 2, "just before the range");
	s.src = "198.18.9.9";
	CHECK(s, XDP_PASS, NORULE, "no rule matches: allow");
	s.family = 6;
	s.src = "fd00:1::99";
	s.dst = VIP6;
	CHECK(s, XDP_DROP, 0, "IPv6 denied prefix");
	s.src = "fd00:2::99";
	CHECK(s, XDP_PASS, NORULE, "IPv6 no match");
}

TEST(is_not_in_and_ports)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "203.0.113.9",
			      .dst = VIP4, .sport = 40000, .dport = 80 };

	if (!setup() || !install_base())
		return;
	CHECK(s, XDP_DROP, 4, "client outside 198.18/16 denied by IS_NOT_IN");
	s.family = 6;
	s.src = "2001:db8::1";
	s.dst = VIP6;
	CHECK(s, XDP_DROP, 4, "IPv6 client outside fd00::/16 denied by IS_NOT_IN");
	s.src = "fd00:9::1";
	CHECK(s, XDP_PASS, NORULE, "IPv6 client inside fd00::/16");
	s.family = 4;
	s.dst = VIP4;
	s.proto = IPPROTO_UDP;
	s.dport = 53;
	s.src = "203.0.113.9";
	s.sport = 5353;
	CHECK(s, XDP_PASS, NORULE, "vs port 53, unprivileged client port");
	s.sport = 123;
	CHECK(s, XDP_DROP, 5, "vs port 53, client port NOT IN 1024-65535");
}

TEST(rate_limit_after_burst)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.3.3",
			      .dst = VIP4, .sport = 1111, .dport = 80 };
	struct xadc_xdp_stats rs, vs0, vs1;
	int i;

	if (!setup() || !install_base())
		return;
	ASSERT_OK(xadc_xdp_vs_stats(X, 1, &vs0), "vs stats");
	for (i = 0; i < 3; i++)
		CHECK(s, XDP_PASS, 3, "SYN within burst");
	CHECK(s, XDP_DROP, 3, "4th SYN over burst");
	s.tcp_flags = TCP_ACK_;
	CHECK(s, XDP_PASS, 3, "ACK of an established flow is not limited");
	s.tcp_flags = TCP_SYN_ | TCP_ACK_;
	CHECK(s, XDP_PASS, 3, "SYN-ACK is not a new connection");
	s.tcp_flags = TCP_SYN_;
	s.src = "198.18.3.4";
	CHECK(s, XDP_PASS, 3, "another client has its own bucket");
	ASSERT_OK(xadc_xdp_rule_stats(X, 1, 3, &rs), "rule stats");
	ASSERT_EQ(rs.packets, 7, "rule packets");
	ASSERT_EQ(rs.rate_limited, 1, "rule rate_limited");
	ASSERT_EQ(rs.drops, 1, "rule drops");
	ASSERT_EQ(rs.allowed, 6, "rule allowed");
	ASSERT_OK(xadc_xdp_vs_stats(X, 1, &vs1), "vs stats");
	ASSERT_EQ(vs1.rate_limited - vs0.rate_limited, 1, "vs rate_limited");
	ASSERT_EQ(vs1.packets - vs0.packets, 7, "vs packets");
}

TEST(udp_rate_limit_counts_every_datagram)
{
	static const struct xadc_nsp_prefix any4 = { 4, 0, { 0 } };
	struct xadc_nsp_rule r = { .rule_id = 1, .action = XADC_NSP_RATE_LIMIT, .max_rate = 1,
				   .burst_size = 2, .has_client_ip = true, .nprefixes = 1,
				   .prefixes = &any4 };
	struct xadc_nsp_policy pol = { .nrules = 1, .rules = &r };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_UDP, .src = "198.18.7.7",
			      .dst = VIP4, .sport = 5000, .dport = 53 };

	if (!setup() || !ASSERT_OK(xadc_xdp_nsp_install(X, 1, &pol), "install"))
		return;
	CHECK(s, XDP_PASS, 0, "datagram 1");
	CHECK(s, XDP_PASS, 0, "datagram 2");
	CHECK(s, XDP_DROP, 0, "datagram 3 over burst");
}

TEST(non_ip_icmp_and_nd_pass)
{
	struct pkt_spec arp = { .family = 0 };
	struct pkt_spec icmp = { .family = 4, .proto = IPPROTO_ICMP, .src = "198.18.1.5",
				 .dst = VIP4, .icmp_type = 8 };
	struct pkt_spec nd = { .family = 6, .proto = IPPROTO_ICMPV6, .src = "fd00:1::5",
			       .dst = VIP6, .icmp_type = 135 };
	struct xadc_xdp_global g0, g1;

	if (!setup() || !install_base())
		return;
	g0 = global();
	CHECK(arp, XDP_PASS, NOPOL, "ARP");
	CHECK(icmp, XDP_PASS, NOPOL, "ICMP echo from a denied client");
	icmp.icmp_type = 3;
	icmp.icmp_code = 4;
	CHECK(icmp, XDP_PASS, NOPOL, "ICMP fragmentation needed from a denied client");
	CHECK(nd, XDP_PASS, NOPOL, "ICMPv6 neighbour solicitation");
	nd.icmp_type = 2;
	CHECK(nd, XDP_PASS, NOPOL, "ICMPv6 packet too big");
	g1 = global();
	ASSERT_EQ(g1.not_ip - g0.not_ip, 1, "not_ip counted");
	ASSERT_EQ(g1.icmp - g0.icmp, 4, "icmp counted");
}

TEST(vlan_tags)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = VIP4, .sport = 1234, .dport = 80, .nvlan = 1 };

	if (!setup() || !install_base())
		return;
	CHECK(s, XDP_DROP, 0, "one 802.1Q tag");
	s.nvlan = 2;
	CHECK(s, XDP_DROP, 0, "802.1ad + 802.1Q");
	s.family = 6;
	s.src = "fd00:1::5";
	s.dst = VIP6;
	CHECK(s, XDP_DROP, 0, "IPv6 double tagged");
	s.nvlan = 3;
	CHECK(s, XDP_PASS, NOPOL, "three tags: not parsed, passed");
}

TEST(ipv4_options_and_ipv6_extension_headers)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = VIP4, .sport = 1234, .dport = 80, .ip4_optlen = 12 };

	if (!setup() || !install_base())
		return;
	CHECK(s, XDP_DROP, 0, "IPv4 with 12 bytes of options");
	s.src = "198.18.9.9";
	CHECK(s, XDP_PASS, NORULE, "allowed client with options");
	s = (struct pkt_spec){ .family = 6, .proto = IPPROTO_TCP, .src = "fd00:1::5",
			       .dst = VIP6, .sport = 1234, .dport = 80, .ip6_ext = 3 };
	CHECK(s, XDP_DROP, 0, "IPv6 with 3 extension headers");
	s.src = "fd00:9::5";
	CHECK(s, XDP_PASS, NORULE, "allowed IPv6 client with 3 extension headers");
	s.ip6_ext = 7;
	CHECK(s, XDP_DROP, NORULE, "7 extension headers to a VIP: refused as malformed");
	s.dst = "fd00::11";
	CHECK(s, XDP_PASS, NOPOL, "7 extension headers elsewhere: passed");
}

TEST(fragments)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = VIP4, .sport = 1234, .dport = 80, .frag = FRAG_FIRST };
	struct xadc_xdp_global g0, g1;

	if (!setup() || !install_base())
		return;
	g0 = global();
	CHECK(s, XDP_DROP, 0, "IPv4 first fragment is policed");
	s.frag = FRAG_LATER;
	CHECK(s, XDP_PASS, NOPOL, "IPv4 later fragment passes");
	s.frag = FRAG_FIRST;
	s.cut_l4 = 2;
	CHECK(s, XDP_DROP, NORULE, "IPv4 tiny first fragment without ports to a VIP: dropped");
	s = (struct pkt_spec){ .family = 6, .proto = IPPROTO_UDP, .src = "fd00:1::5",
			       .dst = VIP6, .sport = 1234, .dport = 80, .frag = FRAG_FIRST };
	CHECK(s, XDP_PASS, NOPOL, "IPv6 first fragment, UDP to a TCP-only VIP port");
	s.proto = IPPROTO_TCP;
	CHECK(s, XDP_DROP, 0, "IPv6 first fragment is policed");
	s.frag = FRAG_LATER;
	CHECK(s, XDP_PASS, NOPOL, "IPv6 later fragment passes");
	g1 = global();
	ASSERT_EQ(g1.fragments - g0.fragments, 2, "fragments counted");
}

TEST(truncated_at_each_layer)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.9.9",
			      .dst = VIP4, .sport = 1234, .dport = 80 };
	struct xadc_xdp_global g0, g1;
	struct xadc_xdp_stats v0, v1;

	if (!setup() || !install_base())
		return;
	g0 = global();
	ASSERT_OK(xadc_xdp_vs_stats(X, 1, &v0), "vs stats");
	s.cut = 14;
	CHECK(s, XDP_PASS, NOPOL, "Ethernet header only");
	s.cut = 14 + 19;
	CHECK(s, XDP_PASS, NOPOL, "IPv4 header cut: destination unknown, passed");
	s.cut = 0;
	s.ip4_optlen = 8;
	s.cut = 14 + 24;
	CHECK(s, XDP_DROP, NORULE, "IPv4 options cut, to a VIP: dropped");
	s.ip4_optlen = 0;
	s.cut = 0;
	s.cut_l4 = 19;
	CHECK(s, XDP_DROP, NORULE, "TCP header cut, to a VIP: dropped");
	s.dst = "198.18.0.11";
	CHECK(s, XDP_PASS, NOPOL, "TCP header cut, not a VIP: passed");
	s = (struct pkt_spec){ .family = 6, .proto = IPPROTO_UDP, .src = "fd00:9::1",
			       .dst = VIP6, .sport = 1, .dport = 80, .cut = 14 + 39 };
	CHECK(s, XDP_PASS, NOPOL, "IPv6 header cut");
	s.cut = 0;
	s.cut_l4 = 7;
	CHECK(s, XDP_DROP, NORULE, "UDP header cut, to a VIP: dropped");
	s.cut_l4 = 0;
	s.ip6_ext = 1;
	s.cut = 14 + 40 + 4;
	CHECK(s, XDP_DROP, NORULE, "IPv6 extension header cut, to a VIP: dropped");
	g1 = global();
	ASSERT_EQ(g1.malformed - g0.malformed, 8, "every truncated frame counted malformed");
	ASSERT_OK(xadc_xdp_vs_stats(X, 1, &v1), "vs stats");
	ASSERT_EQ(v1.drops - v0.drops, 2, "IPv4 VIP drops counted on vs 1");
}

static int nevents;
static struct xadc_xdp_drop lastev;

static void on_drop(const struct xadc_xdp_drop *d, void *arg)
{
	nevents++;
	lastev = *d;
}

TEST(sampled_drop_events)
{
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.77",
			      .dst = VIP4, .sport = 4321, .dport = 80 };
	uint8_t want[4] = { 198, 18, 1, 77 };
	cpu_set_t one, all;
	int i;

	if (!setup() || !install_base())
		return;
	xadc_xdp_poll_drops(X, on_drop, NULL, 0); /* drain */
	nevents = 0;
	ASSERT_OK(xadc_xdp_configure(X, 1, XADC_CFG_F_RECORD_LAST), "sample every drop");
	CHECK(s, XDP_DROP, 0, "denied");
	ASSERT_EQ(xadc_xdp_poll_drops(X, on_drop, NULL, 100), 1, "one event");
	ASSERT_EQ(lastev.rule_id, 10, "event rule id");
	ASSERT_EQ(lastev.vs_id, 1, "event vs");
	ASSERT_EQ(lastev.client_port, 4321, "event client port");
	ASSERT_EQ(lastev.vs_port, 80, "event vs port");
	ASSERT_EQ(lastev.reason, XADC_REASON_DENY, "event reason");
	ASSERT_TRUE(!memcmp(lastev.client_addr, want, 4), "event client address");
	/* 1 in 4 per CPU: pinned to one CPU, 8 drops give exactly 2 events. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_OK(sched_getaffinity(0, sizeof(all), &all), "getaffinity");
	ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "pin to a CPU");
	ASSERT_OK(xadc_xdp_configure(X, 4, XADC_CFG_F_RECORD_LAST), "sample 1 in 4");
	nevents = 0;
	for (i = 0; i < 8; i++)
		ASSERT_EQ(pkt_run_spec(prog, &s), XDP_DROP, "denied");
	xadc_xdp_poll_drops(X, on_drop, NULL, 100);
	sched_setaffinity(0, sizeof(all), &all);
	ASSERT_EQ(nevents, 2, "2 of 8 drops sampled");
	ASSERT_OK(xadc_xdp_configure(X, 0, XADC_CFG_F_RECORD_LAST), "sampling off");
}

static unsigned lpm_entries(const char *map, uint32_t nsp_id)
{
	uint8_t cur[64], next[64];
	unsigned n = 0;
	void *prev = NULL;
	int fd = xadc_xdp_map_fd(X, map);

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (ntohl(((struct xadc_lpm4_key *)next)->nsp_id) == nsp_id)
			n++;
		memcpy(cur, next, sizeof(cur));
		prev = cur;
	}
	return n;
}

/* Entries of policy nsp_id in a host map (nsp_id in host order there). */
static unsigned host_entries(const char *map, uint32_t nsp_id)
{
	uint8_t cur[64], next[64];
	unsigned n = 0;
	void *prev = NULL;
	int fd = xadc_xdp_map_fd(X, map);

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (((struct xadc_nsp_host4_key *)next)->nsp_id == nsp_id)
			n++;
		memcpy(cur, next, sizeof(cur));
		prev = cur;
	}
	return n;
}

TEST(generation_flip_replaces_whole_policy)
{
	static const struct xadc_nsp_prefix deny9[] = { { 4, 24, { 198, 18, 9, 0 } } };
	struct xadc_nsp_rule r = { .rule_id = 99, .action = XADC_NSP_DENY,
				   .has_client_ip = true, .nprefixes = 1, .prefixes = deny9 };
	struct xadc_nsp_policy pol = { .nrules = 1, .rules = &r };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.1.5",
			      .dst = VIP4, .sport = 1234, .dport = 80 };
	uint32_t g0;

	if (!setup() || !install_base())
		return;
	g0 = xadc_xdp_nsp_generation(X, 1);
	ASSERT_GT(g0, 0, "a generation is active");
	/* Generations earlier tests replaced go once settled. */
	ASSERT_OK(xadc_xdp_nsp_settle(X), "settle");
	/* /24, the range 198.18.2.1-50 as 1/32 2/31 4/30 8/29 16/28 32/28
	 * 48/31 50/32, /24, /24, /16: the two /32 in the host map */
	ASSERT_EQ(lpm_entries("xadc_nsp_lpm4", 1), 10, "base policy's IPv4 prefixes in the trie");
	ASSERT_EQ(host_entries("xadc_nsp_host4", 1), 2, "and its two IPv4 hosts in the host map");
	CHECK(s, XDP_DROP, 0, "old policy denies 198.18.1.5");
	ASSERT_OK(xadc_xdp_nsp_install(X, 1, &pol), "install new");
	ASSERT_EQ(xadc_xdp_nsp_generation(X, 1), g0 + 1, "generation advanced");
	/* The old generation's entries may still be there (packets in
	 * flight read them): they must not leak into the new verdicts. */
	CHECK(s, XDP_PASS, NORULE, "new policy allows 198.18.1.5");
	s.src = "198.18.2.1";
	CHECK(s, XDP_PASS, NORULE, "an old generation's host entry is not used");
	s.src = "198.18.9.1";
	CHECK(s, XDP_DROP, 0, "new policy denies 198.18.9.1");
	ASSERT_OK(xadc_xdp_nsp_settle(X), "settle");
	ASSERT_EQ(lpm_entries("xadc_nsp_lpm4", 1), 1, "old generation's IPv4 prefixes gone");
	ASSERT_EQ(host_entries("xadc_nsp_host4", 1), 0, "old generation's IPv4 hosts gone");
	ASSERT_EQ(lpm_entries("xadc_nsp_lpm6", 1), 0, "old generation's IPv6 prefixes gone");
	CHECK(s, XDP_DROP, 0, "settled: new policy still denies 198.18.9.1");
	ASSERT_OK(xadc_xdp_nsp_remove(X, 1), "remove");
	ASSERT_EQ(xadc_xdp_nsp_generation(X, 1), 0, "no generation");
	ASSERT_EQ(lpm_entries("xadc_nsp_lpm4", 1), 0, "prefixes gone");
	ASSERT_EQ(host_entries("xadc_nsp_host4", 1) + host_entries("xadc_nsp_host6", 1), 0,
		  "hosts gone");
	CHECK(s, XDP_PASS, NORULE, "no policy: allow");
}

/* Policies A (deny 198.18.5.0/24) and B (deny 198.18.6.7, a host entry)
 * installed in turn: every install reuses the rules slot of the generation
 * before last, and each verdict is the policy just installed. */
TEST(generation_slots_reused_in_turn)
{
	static const struct xadc_nsp_prefix pa[] = { { 4, 24, { 198, 18, 5, 0 } } };
	static const struct xadc_nsp_prefix pb[] = { { 4, 32, { 198, 18, 6, 7 } } };
	struct xadc_nsp_rule ra = { .rule_id = 1, .action = XADC_NSP_DENY,
				    .has_client_ip = true, .nprefixes = 1, .prefixes = pa };
	struct xadc_nsp_rule rb = { .rule_id = 2, .action = XADC_NSP_DENY,
				    .has_client_ip = true, .nprefixes = 1, .prefixes = pb };
	struct xadc_nsp_policy a = { .nrules = 1, .rules = &ra };
	struct xadc_nsp_policy b = { .nrules = 1, .rules = &rb };
	struct pkt_spec s5 = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.5.9",
			       .dst = VIP4, .sport = 1234, .dport = 80 };
	struct pkt_spec s6 = s5;
	int i;

	if (!setup())
		return;
	s6.src = "198.18.6.7";
	for (i = 0; i < 5; i++) {
		ASSERT_OK(xadc_xdp_nsp_install(X, 1, &a), "install A");
		CHECK(s5, XDP_DROP, 0, "A denies 198.18.5.9");
		CHECK(s6, XDP_PASS, NORULE, "A allows 198.18.6.7");
		ASSERT_OK(xadc_xdp_nsp_install(X, 1, &b), "install B");
		CHECK(s5, XDP_PASS, NORULE, "B allows 198.18.5.9");
		CHECK(s6, XDP_DROP, 0, "B denies 198.18.6.7");
	}
	ASSERT_OK(xadc_xdp_nsp_remove(X, 1), "remove");
	CHECK(s6, XDP_PASS, NORULE, "removed: allowed");
	ASSERT_OK(xadc_xdp_nsp_install(X, 1, &a), "install A after remove");
	CHECK(s5, XDP_DROP, 0, "A again denies 198.18.5.9");
	CHECK(s6, XDP_PASS, NORULE, "a stale slot of B is not used");
}

/* The generation counter wraps from 0xffffffff to 2, not 1: 1 would be
 * the slot the active generation is in. */
TEST(generation_wraps_to_the_other_slot)
{
	static const struct xadc_nsp_prefix pa[] = { { 4, 24, { 198, 18, 5, 0 } } };
	static const struct xadc_nsp_prefix pb[] = { { 4, 24, { 198, 18, 6, 0 } } };
	struct xadc_nsp_rule ra = { .rule_id = 1, .action = XADC_NSP_DENY,
				    .has_client_ip = true, .nprefixes = 1, .prefixes = pa };
	struct xadc_nsp_rule rb = { .rule_id = 2, .action = XADC_NSP_DENY,
				    .has_client_ip = true, .nprefixes = 1, .prefixes = pb };
	struct xadc_nsp_policy a = { .nrules = 1, .rules = &ra };
	struct xadc_nsp_policy b = { .nrules = 1, .rules = &rb };
	struct pkt_spec s5 = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.5.9",
			       .dst = VIP4, .sport = 1234, .dport = 80 };
	struct pkt_spec s6 = s5;
	uint32_t id = 1, g = 0xfffffffeU;

	if (!setup())
		return;
	s6.src = "198.18.6.9";
	ASSERT_OK(xadc_xdp_nsp_remove(X, 1), "remove");
	ASSERT_OK(bpf_map_update_elem(xadc_xdp_map_fd(X, "xadc_nsp_gen"), &id, &g, BPF_ANY),
		  "generation set near the top");
	ASSERT_OK(xadc_xdp_nsp_install(X, 1, &a), "install A");
	ASSERT_EQ(xadc_xdp_nsp_generation(X, 1), 0xffffffffU, "generation 0xffffffff");
	CHECK(s5, XDP_DROP, 0, "A denies 198.18.5.9");
	ASSERT_OK(xadc_xdp_nsp_install(X, 1, &b), "install B");
	ASSERT_EQ(xadc_xdp_nsp_generation(X, 1), 2, "wrapped to 2");
	CHECK(s5, XDP_PASS, NORULE, "B allows 198.18.5.9");
	CHECK(s6, XDP_DROP, 0, "B denies 198.18.6.9");
	ASSERT_OK(xadc_xdp_nsp_install(X, 1, &a), "install A");
	ASSERT_EQ(xadc_xdp_nsp_generation(X, 1), 3, "then 3");
	CHECK(s5, XDP_DROP, 0, "A denies 198.18.5.9 again");
	CHECK(s6, XDP_PASS, NORULE, "A allows 198.18.6.9");
	ASSERT_OK(xadc_xdp_nsp_remove(X, 1), "remove");
	ASSERT_OK(install_base() ? 0 : -1, "base policy back");
}

TEST(bad_policies_rejected)
{
	static const struct xadc_nsp_prefix bad = { 4, 33, { 1, 2, 3, 4 } };
	struct xadc_nsp_range back = rng("198.18.0.9", "198.18.0.1");
	struct xadc_nsp_rule r = { .action = XADC_NSP_DENY, .has_client_ip = true,
				   .nprefixes = 1, .prefixes = &bad };
	struct xadc_nsp_policy pol = { .nrules = 1, .rules = &r };

	if (!setup())
		return;
	ASSERT_EQ(xadc_xdp_nsp_install(X, 1, &pol), -EINVAL, "/33");
	r.nprefixes = 0;
	r.nranges = 1;
	r.ranges = &back;
	ASSERT_EQ(xadc_xdp_nsp_install(X, 1, &pol), -EINVAL, "backwards range");
	r.nranges = 0;
	r.action = XADC_NSP_RATE_LIMIT;
	ASSERT_EQ(xadc_xdp_nsp_install(X, 1, &pol), -EINVAL, "rate limit without rate");
	r.action = XADC_NSP_DENY;
	pol.nrules = 65;
	ASSERT_EQ(xadc_xdp_nsp_install(X, 1, &pol), -EINVAL, "65 rules");
	pol.nrules = 1;
	ASSERT_EQ(xadc_xdp_nsp_install(X, 0, &pol), -EINVAL, "policy id 0");
}

TEST(range_split_and_cover_union)
{
	struct xadc_nsp_range r = rng("198.18.0.5", "198.18.0.20");
	static const struct xadc_nsp_prefix wide[] = { { 4, 16, { 198, 18 } } };
	static const struct xadc_nsp_prefix narrow[] = { { 4, 30, { 198, 18, 0, 8 } } };
	struct xadc_nsp_rule rules[3] = {
		{ .has_client_ip = true, .nranges = 1, .ranges = &r },
		{ .has_client_ip = true, .nprefixes = 1, .prefixes = wide },
		{ .has_client_ip = true, .nprefixes = 1, .prefixes = narrow },
	};
	struct xadc_nsp_policy pol = { .nrules = 3, .rules = rules };
	struct xadc_nsp_lpm_entry *e = NULL;
	size_t n = 0, i;

	ASSERT_OK(xadc_xdp_nsp_compile_lpm(&pol, 4, &e, &n), "compile");
	/* 5/32 6/31 8/29 16/30 20/32, the /16 and the /30 (same as part of
	 * 8/29? no: 8/29 covers 8-15, the /30 8-11 is distinct) */
	ASSERT_EQ(n, 7, "5 range pieces + /16 + /30");
	for (i = 0; i < n; i++) {
		if (e[i].len == 16)
			ASSERT_EQ(e[i].bits, 2, "/16 has only rule 1");
		else if (e[i].len == 30 && e[i].addr[3] == 8)
			ASSERT_EQ(e[i].bits, 7, "198.18.0.8/30: in all three rules");
		else
			ASSERT_EQ(e[i].bits, 3, "range piece: rule 0 and the covering /16");
	}
	free(e);
}

/* Remove a pin directory and whatever is pinned in it: a test that fails
 * half-way must still leave nothing in the host's bpffs. */
static void rm_pin_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

TEST(maps_pinned_and_reused)
{
	char dir[64];
	struct xadc_xdp *a = NULL, *b = NULL;
	struct xadc_vip_key k = { .port = 8080, .proto = IPPROTO_TCP };
	struct xadc_vip_val v;
	uint8_t addr[4] = { 198, 18, 0, 99 };
	struct stat st;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/xadc_test_%d", getpid());
	if (!ASSERT_OK(xadc_xdp_open(&a, dir), "open pinned"))
		goto out;
	ASSERT_OK(xadc_xdp_vip_set(a, 4, addr, 8080, IPPROTO_TCP, 7, 0), "vip");
	xadc_xdp_close(a);
	ASSERT_OK(stat(strcat(strcpy((char[128]){ 0 }, dir), "/xadc_vips"), &st), "pin exists");
	if (!ASSERT_OK(xadc_xdp_open(&b, dir), "reopen"))
		goto out;
	k.addr[10] = k.addr[11] = 0xff;
	memcpy(k.addr + 12, addr, 4);
	ASSERT_OK(bpf_map_lookup_elem(xadc_xdp_map_fd(b, "xadc_vips"), &k, &v),
		  "VIP survived the restart");
	ASSERT_EQ(v.vs_id, 7, "vs id");
	ASSERT_OK(xadc_xdp_unpin(b), "unpin");
	xadc_xdp_close(b);
	ASSERT_ERR(stat(dir, &st), "pin dir removed");
out:
	rm_pin_dir(dir);
}

/* Pins left by an xadc whose xadc_nsp_rules had another layout (a hash
 * keyed by policy and generation): the load replaces that map and the rest
 * of its group (a generation number must not point into fresh rules), and
 * keeps the unrelated compatible pins. */
TEST(incompatible_pins_replaced)
{
	char dir[64], path[128];
	struct xadc_xdp *a = NULL, *b = NULL;
	struct xadc_vip_key k = { .port = 8080, .proto = IPPROTO_TCP };
	struct xadc_nsp_rules_key ok = { 1, 5 };
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), id = 1, gen = 5, g;
	struct xadc_vip_val v;
	uint8_t addr[4] = { 198, 18, 0, 99 };
	int fd;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/xadc_test_old_%d", getpid());
	if (!ASSERT_OK(xadc_xdp_open(&a, dir), "open pinned"))
		goto out;
	ASSERT_OK(xadc_xdp_vip_set(a, 4, addr, 8080, IPPROTO_TCP, 7, 0), "vip");
	ASSERT_OK(bpf_map_update_elem(xadc_xdp_map_fd(a, "xadc_nsp_gen"), &id, &gen, BPF_ANY),
		  "a generation in the pinned xadc_nsp_gen");
	xadc_xdp_close(a);
	/* The old layout of xadc_nsp_rules in place of the pin. */
	snprintf(path, sizeof(path), "%s/xadc_nsp_rules", dir);
	ASSERT_OK(unlink(path), "unpin the rules");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "xadc_nsp_rules", sizeof(ok),
			    sizeof(struct xadc_nsp_rules), 2 * XADC_XDP_MAX_NSP, NULL);
	if (!ASSERT_GE(fd, 0, "old-layout map"))
		goto out;
	ASSERT_OK(bpf_obj_pin(fd, path), "pinned where the rules were");
	close(fd);

	if (!ASSERT_OK(xadc_xdp_open(&b, dir), "reopen over the old pin"))
		goto out;
	ASSERT_OK(bpf_obj_get_info_by_fd(xadc_xdp_map_fd(b, "xadc_nsp_rules"), &info, &len),
		  "rules map info");
	ASSERT_EQ(info.type, BPF_MAP_TYPE_ARRAY, "rules map replaced by the new layout");
	fd = bpf_obj_get(path);
	ASSERT_GE(fd, 0, "and pinned");
	if (fd >= 0)
		close(fd);
	g = 1;
	bpf_map_lookup_elem(xadc_xdp_map_fd(b, "xadc_nsp_gen"), &id, &g);
	ASSERT_EQ(g, 0, "its group's xadc_nsp_gen replaced too");
	k.addr[10] = k.addr[11] = 0xff;
	memcpy(k.addr + 12, addr, 4);
	ASSERT_OK(bpf_map_lookup_elem(xadc_xdp_map_fd(b, "xadc_vips"), &k, &v),
		  "a compatible pin (VIPs) is still reused");
	ASSERT_OK(xadc_xdp_unpin(b), "unpin");
out:
	xadc_xdp_close(b);
	rm_pin_dir(dir);
}

/* TEST_MAIN's main becomes tests_main so the skip check runs first. */
int tests_main(int argc, char **argv);
#define main tests_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	const char *why = bpf_unavailable();

	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	return tests_main(argc, argv);
}
