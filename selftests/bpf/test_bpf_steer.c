// SPDX-License-Identifier: GPL-2.0
/*
 * test_bpf_steer.c - flow steering of scaled-out virtual services through
 * BPF_PROG_TEST_RUN on real frames: Maglev placement compared with a
 * userspace computation, flow pinning across SE-set changes, weights,
 * XDP_PASS for self and XDP_TX with the right MACs for others, the second
 * chance for unknown mid-flow packets, IPv6, and the network security
 * policy running before steering. XADC_SEED=<n> replays the random flows.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_progs.h"
#include "pkt.h"
#include "xadc/xdp.h"
#include "xadc_common.h"

#define VIP4 "198.18.0.20"
#define VIP4_NSP "198.18.0.21"
#define VIP6 "fd00::20"
#define VS4 5
#define VS_NSP 6
#define VS6 7
#define VS_SOCK 9

static struct xadc_xdp *X;
static int prog;
static unsigned seed;

/* The frame's MACs in pkt.h: destination (us) and source (a client). */
static const uint8_t OUR_MAC[6] = { 2, 0, 0, 0, 0, 1 };

/* SEs: A is this SE, B C D are peers reached through the receiving port. */
static struct xadc_steer_se se_a = { .id = 11, .mac = { 2, 0xa, 0, 0, 0, 1 }, .weight = 1,
				     .self = true };
static struct xadc_steer_se se_b = { .id = 12, .mac = { 2, 0xb, 0, 0, 0, 2 }, .weight = 1 };
static struct xadc_steer_se se_c = { .id = 13, .mac = { 2, 0xc, 0, 0, 0, 3 }, .weight = 1 };
static struct xadc_steer_se se_d = { .id = 14, .mac = { 2, 0xd, 0, 0, 0, 4 }, .weight = 1 };

static bool setup(void)
{
	uint8_t a4[4], n4[4], a6[16];
	const char *s = getenv("XADC_SEED");

	if (X)
		return true;
	seed = s ? (unsigned)strtoul(s, NULL, 0) : (unsigned)time(NULL);
	printf("# XADC_SEED=%u\n", seed);
	srand(seed);
	if (!ASSERT_OK(xadc_xdp_open(&X, ""), "xadc_xdp_open"))
		return false;
	prog = xadc_xdp_prog_fd(X);
	inet_pton(AF_INET, VIP4, a4);
	inet_pton(AF_INET, VIP4_NSP, n4);
	inet_pton(AF_INET6, VIP6, a6);
	return ASSERT_OK(xadc_xdp_vip_set(X, 4, a4, 80, IPPROTO_TCP, VS4, 0), "vip4") &&
	       ASSERT_OK(xadc_xdp_vip_set(X, 4, a4, 53, IPPROTO_UDP, VS4, 0), "vip4 udp") &&
	       ASSERT_OK(xadc_xdp_vip_set(X, 4, n4, 80, IPPROTO_TCP, VS_NSP, 2), "vip4 nsp") &&
	       ASSERT_OK(xadc_xdp_vip_set(X, 6, a6, 80, IPPROTO_TCP, VS6, 0), "vip6");
}

/* Set vs's SE set (n SEs, default table size, no fallback). */
static bool set_ses(uint32_t vs, const struct xadc_steer_se *ses, unsigned n)
{
	struct xadc_steer_config c = { .nses = n, .ses = ses, .fallback_se = XADC_STEER_NO_SE };

	return ASSERT_OK(xadc_xdp_steer_set(X, vs, &c), "steer set");
}

/* The userspace answer: index into ses of the owner of s's flow. */
static int owner(const struct xadc_steer_se *ses, unsigned n, const struct pkt_spec *s)
{
	static uint8_t table[XADC_STEER_TABLE_DEFAULT];
	uint8_t src[16], dst[16];
	int af = s->family == 4 ? AF_INET : AF_INET6;

	if (xadc_xdp_maglev_build(ses, n, XADC_STEER_TABLE_DEFAULT, table))
		return -1;
	inet_pton(af, s->src, src);
	inet_pton(af, s->dst, dst);
	return table[xadc_xdp_flow_hash(s->family, src, dst, s->sport, s->dport, s->proto) %
		     XADC_STEER_TABLE_DEFAULT];
}

/* Where a frame went: -1 passed untouched, -2 anything else wrong, else
 * the index in ses of the SE whose MAC is the new destination (XDP_TX
 * with our MAC as source and the rest of the frame unchanged). */
static int where(const struct pkt_spec *s, const uint8_t *smac, const struct xadc_steer_se *ses,
		 unsigned n)
{
	uint8_t in[256], out[512];
	int len = pkt_build(in, s), olen = 0, v;
	unsigned i;

	if (smac)
		memcpy(in + 6, smac, 6);
	v = pkt_run_out(prog, in, len, out, &olen);
	if (v == XDP_PASS)
		return olen == len && !memcmp(in, out, len) ? -1 : -2;
	if (v != XDP_TX || olen != len || memcmp(out + 6, OUR_MAC, 6) ||
	    memcmp(out + 12, in + 12, len - 12))
		return -2;
	for (i = 0; i < n; i++)
		if (!memcmp(out, ses[i].mac, 6))
			return (int)i;
	return -2;
}

/* What where() should say when ses[idx] gets the frame. */
static int expect(const struct xadc_steer_se *ses, int idx)
{
	return idx >= 0 && ses[idx].self ? -1 : idx;
}

static void random_flow(struct pkt_spec *s, char *src, size_t len)
{
	if (s->family == 4)
		snprintf(src, len, "198.18.%d.%d", 128 + rand() % 128, 1 + rand() % 254);
	else
		snprintf(src, len, "fd00:1::%x:%x", rand() % 0xffff, 1 + rand() % 0xfffe);
	s->src = src;
	s->sport = (uint16_t)(1024 + rand() % 60000);
}

static struct xadc_steer_stats sstats(uint32_t vs, uint32_t se)
{
	struct xadc_steer_stats st;

	xadc_xdp_steer_stats(X, vs, se, &st);
	return st;
}

TEST(syn_lands_on_the_maglev_owner)
{
	struct xadc_steer_se ses[3] = { se_a, se_b, se_c };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .dst = VIP4, .dport = 80 };
	struct xadc_steer_stats b0, b1;
	int i, wrong = 0, seen[3] = { 0 };
	char src[64];

	if (!setup() || !set_ses(VS4, ses, 3))
		return;
	b0 = sstats(VS4, se_b.id);
	for (i = 0; i < 300; i++) {
		int o;

		random_flow(&s, src, sizeof(src));
		o = owner(ses, 3, &s);
		wrong += where(&s, NULL, ses, 3) != expect(ses, o);
		if (o >= 0)
			seen[o]++;
	}
	ASSERT_EQ(wrong, 0, "every SYN went where the userspace table says, MACs rewritten");
	ASSERT_TRUE(seen[0] && seen[1] && seen[2], "all three SEs got flows");
	b1 = sstats(VS4, se_b.id);
	ASSERT_EQ(b1.new_flows - b0.new_flows, seen[1], "B's new_flows counter");
	ASSERT_EQ(b1.packets - b0.packets, seen[1], "B's packets counter");
}

TEST(flows_stick_and_new_flows_follow_the_new_set)
{
	struct xadc_steer_se old_set[2] = { se_a, se_b }, new_set[3] = { se_a, se_c, se_d };
	struct xadc_steer_se all[4] = { se_a, se_b, se_c, se_d };
	struct pkt_spec s[200], n;
	char src[200][64], nsrc[64];
	int i, first[200], wrong = 0, moved = 0, wrong_new = 0;

	if (!setup() || !set_ses(VS4, old_set, 2))
		return;
	for (i = 0; i < 200; i++) {
		s[i] = (struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP, .dst = VIP4,
					  .dport = 80 };
		random_flow(&s[i], src[i], sizeof(src[i]));
		first[i] = where(&s[i], NULL, all, 4);
	}
	/* B leaves, C and D join: every flow B had, and some of A's, now
	 * belong to someone else in the table. */
	if (!set_ses(VS4, new_set, 3))
		return;
	for (i = 0; i < 200; i++) {
		int o = owner(new_set, 3, &s[i]);

		moved += expect(all, o == 0 ? 0 : o + 1) != first[i];
		s[i].tcp_flags = TCP_ACK_;
		wrong += where(&s[i], NULL, all, 4) != first[i];
	}
	ASSERT_GT(moved, 20, "the new table moves flows (else this test proves nothing)");
	ASSERT_EQ(wrong, 0, "every established flow's ACK still goes to its first SE");
	/* A client reusing a source port: the SYN is a new connection and
	 * follows the new table, not the old pin; the pin moves with it. */
	for (i = 0, wrong = 0; i < 200; i++) {
		int o = owner(new_set, 3, &s[i]);

		s[i].tcp_flags = TCP_SYN_;
		wrong += where(&s[i], NULL, new_set, 3) != expect(new_set, o);
		s[i].tcp_flags = TCP_ACK_;
		wrong += where(&s[i], NULL, new_set, 3) != expect(new_set, o);
	}
	ASSERT_EQ(wrong, 0, "a SYN on a pinned 5-tuple (port reuse) goes to the new owner");
	for (i = 0; i < 200; i++) {
		int o;

		n = (struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP, .dst = VIP4,
				       .dport = 80 };
		random_flow(&n, nsrc, sizeof(nsrc));
		o = owner(new_set, 3, &n);
		wrong_new += where(&n, NULL, new_set, 3) != expect(new_set, o);
	}
	ASSERT_EQ(wrong_new, 0, "new flows follow the new table");
	/* UDP: the first datagram of a flow pins it too. */
	n = (struct pkt_spec){ .family = 4, .proto = IPPROTO_UDP, .dst = VIP4, .dport = 53 };
	random_flow(&n, nsrc, sizeof(nsrc));
	i = where(&n, NULL, new_set, 3);
	ASSERT_EQ(i, expect(new_set, owner(new_set, 3, &n)), "UDP datagram to its owner");
	set_ses(VS4, old_set, 2);
	ASSERT_EQ(where(&n, NULL, new_set, 3), i, "next datagram of the flow: same SE");
}

TEST(weights_are_respected)
{
	struct xadc_steer_se ses[3] = { se_a, se_b, se_c };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .dst = VIP4, .dport = 80 };
	int i, cnt[3] = { 0 }, bad = 0;
	char src[64];

	ses[0].weight = 1;
	ses[1].weight = 2;
	ses[2].weight = 3;
	if (!setup() || !set_ses(VS4, ses, 3))
		return;
	for (i = 0; i < 10000; i++) {
		int w;

		random_flow(&s, src, sizeof(src));
		w = where(&s, NULL, ses, 3);
		if (w == -1)
			cnt[0]++;
		else if (w >= 0)
			cnt[w]++;
		else
			bad++;
	}
	ASSERT_EQ(bad, 0, "every flow went to an SE of the set");
	printf("# shares of 10000 flows at weights 1:2:3: %d %d %d\n", cnt[0], cnt[1], cnt[2]);
	for (i = 0; i < 3; i++) {
		int want = 10000 * (i + 1) / 6;

		ASSERT_LT(abs(cnt[i] - want), want / 10, "share within 10% of the weight");
	}
}

TEST(maglev_table_properties)
{
	static uint8_t t1[65537], t2[65537];
	struct xadc_steer_se ses[4] = { se_a, se_b, se_c, se_d };
	unsigned i, n[4] = { 0 }, kept = 0, of_others = 0;

	ASSERT_OK(xadc_xdp_maglev_build(ses, 4, 65537, t1), "build 4");
	for (i = 0; i < 65537; i++)
		n[t1[i]]++;
	for (i = 0; i < 4; i++)
		ASSERT_LT(abs((int)n[i] - 65537 / 4), 65537 / 4 / 50, "equal weights: equal shares");
	/* C removed: the slots of A, B and D mostly stay theirs. */
	ses[2] = se_d;
	ASSERT_OK(xadc_xdp_maglev_build(ses, 3, 65537, t2), "build 3");
	for (i = 0; i < 65537; i++) {
		uint32_t before = t1[i] == 3 ? 2 : t1[i]; /* D was index 3, now 2 */

		if (t1[i] == 2)
			continue;
		of_others++;
		kept += t2[i] == before;
	}
	ASSERT_GT(kept * 100, of_others * 90, "removing one SE keeps >90% of the others' slots");
	ses[1].weight = 0;
	ASSERT_OK(xadc_xdp_maglev_build(ses, 3, 65537, t2), "build with a drained SE");
	for (i = 0, kept = 0; i < 65537; i++)
		kept += t2[i] == 1;
	ASSERT_EQ(kept, 0, "weight 0 gets no slot");
	ASSERT_EQ(xadc_xdp_maglev_build(ses, 3, 65536, t2), -EINVAL, "table size not prime");
}

/* Find a random TCP flow to VIP4 with owner cur_idx in cur and prev_idx
 * in prev (-1: any); false after many tries. */
static bool find_flow(struct pkt_spec *s, char *src, const struct xadc_steer_se *cur,
		      unsigned ncur, int cur_idx, const struct xadc_steer_se *prev,
		      unsigned nprev, int prev_idx)
{
	int i;

	for (i = 0; i < 10000; i++) {
		*s = (struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP, .dst = VIP4,
					.dport = 80, .tcp_flags = TCP_ACK_ };
		random_flow(s, src, 64);
		if ((cur_idx < 0 || owner(cur, ncur, s) == cur_idx) &&
		    (prev_idx < 0 || owner(prev, nprev, s) == prev_idx))
			return true;
	}
	return false;
}

TEST(second_chance_for_unknown_mid_flow_packets)
{
	struct xadc_steer_se prev[3] = { se_a, se_b, se_c }, cur[3] = { se_a, se_b, se_d };
	struct xadc_steer_se all[4] = { se_a, se_b, se_c, se_d };
	struct xadc_steer_stats c0, c1;
	struct pkt_spec s;
	char src[64];

	if (!setup() || !set_ses(VS4, prev, 3) || !set_ses(VS4, cur, 3))
		return;
	/* From a client, current owner is us, previous owner C: to C. */
	if (!ASSERT_TRUE(find_flow(&s, src, cur, 3, 0, prev, 3, 2), "flow A-now C-before"))
		return;
	c0 = sstats(VS4, se_c.id);
	ASSERT_EQ(where(&s, NULL, all, 4), 2, "client ACK, we own it now, C did: sent to C");
	c1 = sstats(VS4, se_c.id);
	ASSERT_EQ(c1.second_chance - c0.second_chance, 1, "C's second_chance counter");
	/* From a client, current owner is D: to D (it gives the second chance). */
	ASSERT_TRUE(find_flow(&s, src, cur, 3, 2, prev, 3, -1), "flow D-now");
	ASSERT_EQ(where(&s, NULL, all, 4), 3, "client ACK owned by D now: sent to D");
	/* From peer B (B owns it now, did not know it), C before: to C. */
	ASSERT_TRUE(find_flow(&s, src, cur, 3, 1, prev, 3, 2), "flow B-now C-before");
	ASSERT_EQ(where(&s, se_b.mac, all, 4), 2, "B's unknown ACK: to the previous owner C");
	/* From peer B, previous owner B itself: never back to the sender. */
	ASSERT_TRUE(find_flow(&s, src, cur, 3, 1, prev, 3, 1), "flow B-now B-before");
	ASSERT_EQ(where(&s, se_b.mac, all, 4), -1, "not back to the sender: passed");
	/* A SYN from a peer is ours, whatever the table says. */
	ASSERT_TRUE(find_flow(&s, src, cur, 3, 2, prev, 3, -1), "flow D-now");
	s.tcp_flags = TCP_SYN_;
	ASSERT_EQ(where(&s, se_b.mac, all, 4), -1, "SYN steered to us by a peer: passed");
	s.tcp_flags = TCP_ACK_;
	ASSERT_EQ(where(&s, se_b.mac, all, 4), -1, "and pinned: its ACK passes too");
	ASSERT_EQ(where(&s, NULL, all, 4), -1, "also when the ACK comes from the client");
}

TEST(second_chance_to_the_fallback_without_previous_set)
{
	struct xadc_steer_se ses[3] = { se_a, se_b, se_c };
	struct xadc_steer_config c = { .nses = 3, .ses = ses, .fallback_se = se_c.id };
	struct pkt_spec s;
	char src[64];

	if (!setup() || !ASSERT_OK(xadc_xdp_steer_remove(X, VS4), "remove") ||
	    !ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "set with fallback C"))
		return;
	ASSERT_EQ(xadc_xdp_steer_generation(X, VS4), 1, "first generation, no previous");
	ASSERT_TRUE(find_flow(&s, src, ses, 3, 0, NULL, 0, -1), "flow owned by us");
	ASSERT_EQ(where(&s, NULL, ses, 3), 2, "unknown ACK owned by us: to the fallback C");
	ASSERT_TRUE(find_flow(&s, src, ses, 3, 1, NULL, 0, -1), "flow owned by B");
	ASSERT_EQ(where(&s, se_b.mac, ses, 3), 2, "B's unknown ACK: to the fallback C");
	ASSERT_EQ(where(&s, se_c.mac, ses, 3), -1, "C's unknown ACK: not back to C");
	/* The previous owner is us: the end of the chain. */
	c.fallback_se = se_a.id;
	if (!ASSERT_OK(xadc_xdp_steer_remove(X, VS4), "remove") ||
	    !ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "set with fallback A (self)"))
		return;
	ASSERT_EQ(where(&s, se_b.mac, ses, 3), -1, "B's unknown ACK, fallback is us: passed");
}

TEST(local_socket_is_never_sent_away)
{
	struct xadc_steer_se ses[2] = { se_a, se_b };
	struct sockaddr_in la = { .sin_family = AF_INET }, ca;
	socklen_t sl = sizeof(la);
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "127.0.0.1",
			      .dst = "127.0.0.2", .tcp_flags = TCP_ACK_ };
	uint8_t vip[4] = { 127, 0, 0, 2 };
	int lfd, cfd = -1, afd = -1;

	if (!setup())
		return;
	/* A real connection over loopback to a VIP on 127.0.0.2. */
	inet_pton(AF_INET, "127.0.0.2", &la.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_OK(bind(lfd, (void *)&la, sizeof(la)), "bind") ||
	    !ASSERT_OK(listen(lfd, 1), "listen") ||
	    !ASSERT_OK(getsockname(lfd, (void *)&la, &sl), "getsockname"))
		goto out;
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_OK(connect(cfd, (void *)&la, sizeof(la)), "connect"))
		goto out;
	afd = accept(lfd, NULL, NULL);
	sl = sizeof(ca);
	getsockname(cfd, (void *)&ca, &sl);
	s.dport = ntohs(la.sin_port);
	s.sport = ntohs(ca.sin_port);
	ses[0].weight = 0; /* every new flow to B */
	if (!ASSERT_OK(xadc_xdp_vip_set(X, 4, vip, s.dport, IPPROTO_TCP, VS_SOCK, 0), "vip") ||
	    !set_ses(VS_SOCK, ses, 2))
		goto out;
	ASSERT_EQ(where(&s, NULL, ses, 2), -1, "ACK of our established connection: passed");
	s.sport++;
	ASSERT_EQ(where(&s, NULL, ses, 2), 1, "ACK of a flow we have no socket for: to B");
	s.tcp_flags = TCP_SYN_;
	ASSERT_EQ(where(&s, NULL, ses, 2), 1, "SYN (only the listener knows it): to B");
out:
	xadc_xdp_steer_remove(X, VS_SOCK);
	close(afd);
	close(cfd);
	close(lfd);
}

TEST(ipv6)
{
	struct xadc_steer_se ses[3] = { se_a, se_b, se_c }, two[2] = { se_a, se_b };
	struct pkt_spec s = { .family = 6, .proto = IPPROTO_TCP, .dst = VIP6, .dport = 80 };
	int i, wrong = 0, stuck = 0, others = 0, first[100];
	char src[100][64];
	struct pkt_spec f[100];

	if (!setup() || !set_ses(VS6, ses, 3))
		return;
	for (i = 0; i < 100; i++) {
		f[i] = s;
		random_flow(&f[i], src[i], sizeof(src[i]));
		first[i] = where(&f[i], NULL, ses, 3);
		wrong += first[i] != expect(ses, owner(ses, 3, &f[i]));
		others += first[i] >= 0;
	}
	ASSERT_EQ(wrong, 0, "IPv6 SYNs go to the table's owner, MACs rewritten");
	ASSERT_GT(others, 0, "some went to other SEs");
	set_ses(VS6, two, 2);
	for (i = 0; i < 100; i++) {
		f[i].tcp_flags = TCP_ACK_;
		stuck += where(&f[i], NULL, ses, 3) == first[i];
	}
	ASSERT_EQ(stuck, 100, "IPv6 flows stick across the change");
}

TEST(policy_runs_before_steering)
{
	static const struct xadc_nsp_prefix deny = { 4, 24, { 198, 18, 5, 0 } };
	struct xadc_nsp_rule r = { .rule_id = 1, .action = XADC_NSP_DENY, .has_client_ip = true,
				   .nprefixes = 1, .prefixes = &deny };
	struct xadc_nsp_policy pol = { .nrules = 1, .rules = &r };
	struct xadc_steer_se ses[2] = { se_a, se_b };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.5.9",
			      .dst = VIP4_NSP, .sport = 4000, .dport = 80 };
	struct xadc_steer_stats b0, b1;

	ses[0].weight = 0;
	if (!setup() || !ASSERT_OK(xadc_xdp_nsp_install(X, 2, &pol), "policy") ||
	    !set_ses(VS_NSP, ses, 2))
		return;
	b0 = sstats(VS_NSP, se_b.id);
	ASSERT_EQ(pkt_run_spec(prog, &s), XDP_DROP, "denied client dropped before steering");
	b1 = sstats(VS_NSP, se_b.id);
	ASSERT_EQ(b1.packets, b0.packets, "nothing steered for it");
	s.src = "198.18.6.9";
	ASSERT_EQ(where(&s, NULL, ses, 2), 1, "allowed client steered to B");
}

static unsigned count_keys(const char *map, uint32_t vs)
{
	uint8_t cur[64], next[64];
	unsigned n = 0;
	void *prev = NULL;
	int fd = xadc_xdp_map_fd(X, map);

	while (!bpf_map_get_next_key(fd, prev, next)) {
		n += *(uint32_t *)next == vs; /* every key starts with vs_id */
		memcpy(cur, next, sizeof(cur));
		prev = cur;
	}
	return n;
}

TEST(generations_flip_and_remove)
{
	struct xadc_steer_se ses[2] = { se_a, se_b };
	struct xadc_steer_config c = { .nses = 2, .ses = ses, .table_size = 8191,
				       .fallback_se = XADC_STEER_NO_SE };
	struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = "198.18.9.1",
			      .dst = VIP4, .sport = 999, .dport = 80 };
	uint32_t g;

	if (!setup() || !ASSERT_OK(xadc_xdp_steer_remove(X, VS4), "remove"))
		return;
	ASSERT_EQ(count_keys("xadc_steer_stats", VS4), 0, "counters gone");
	ASSERT_EQ(where(&s, NULL, ses, 2), -1, "not steered: passed untouched");
	ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "set 1");
	ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "set 2");
	ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "set 3");
	g = xadc_xdp_steer_generation(X, VS4);
	ASSERT_EQ(g, 3, "three flips");
	ASSERT_EQ(count_keys("xadc_steer_sets", VS4), 2, "active and previous sets only");
	ASSERT_EQ(count_keys("xadc_maglev", VS4), 2 * 2, "two 8191-slot tables of 2 chunks");
	ASSERT_EQ(count_keys("xadc_steer_stats", VS4), 2, "one counter slot per SE");
	ASSERT_OK(xadc_xdp_steer_remove(X, VS4), "remove");
	ASSERT_EQ(xadc_xdp_steer_generation(X, VS4), 0, "no generation");
	ASSERT_EQ(count_keys("xadc_steer_sets", VS4) + count_keys("xadc_maglev", VS4), 0,
		  "tables gone");
	s.sport++;
	ASSERT_EQ(where(&s, NULL, ses, 2), -1, "new flow after removal: passed untouched");
}

TEST(bad_sets_rejected)
{
	struct xadc_steer_se ses[XADC_STEER_SES_MAX + 1];
	struct xadc_steer_config c = { .nses = 2, .ses = ses, .fallback_se = XADC_STEER_NO_SE };
	unsigned i;

	if (!setup())
		return;
	for (i = 0; i < XADC_STEER_SES_MAX + 1; i++) {
		ses[i] = se_b;
		ses[i].id = 100 + i;
		ses[i].mac[5] = (uint8_t)i;
	}
	c.table_size = 65535;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "table size not prime");
	c.table_size = 0;
	ses[1].id = ses[0].id;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "duplicate SE id");
	ses[1].id = 101;
	ses[0].self = ses[1].self = true;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "two SEs flagged self");
	ses[0].self = ses[1].self = false;
	ses[0].weight = ses[1].weight = 0;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "every weight 0");
	ses[0].weight = ses[1].weight = 1;
	c.nses = XADC_STEER_SES_MAX + 1;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "33 SEs");
	c.nses = 2;
	c.fallback_se = 7;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "fallback not in the set");
	c.fallback_se = XADC_STEER_NO_SE;
	memset(ses[1].mac, 0, 6);
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -EINVAL, "peer without a MAC");
	ses[1].mac[0] = 2;
	ses[1].ifindex = 1 << 30;
	ASSERT_EQ(xadc_xdp_steer_set(X, VS4, &c), -ENODEV, "no such interface");
	ses[1].ifindex = 0;
	ASSERT_EQ(xadc_xdp_steer_set(X, XADC_XDP_VS_ID_MAX + 1, &c), -EINVAL, "vs id");
	ASSERT_OK(xadc_xdp_steer_set(X, VS4, &c), "the repaired set is accepted");
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
