// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp.c - per-packet cost of the xadc XDP program, and of Debian's
 * xdp-filter on the same frames, through BPF_PROG_TEST_RUN; and a holder
 * that keeps the xadc program attached natively for the live drop test.
 *
 *   bench_xdp testrun [-r REPEAT] [-n ROUNDS] [-s 10,10000,100000] [-f IFNAME] [-t IFNAME]
 *	One JSON line per (program, size, case, round) on stdout:
 *	{"prog":"xadc","size":N,"case":"denied","round":R,"verdict":"XDP_DROP",
 *	 "ns":12.3}. Cases: allowed (VIP, client not in the set: XDP_PASS),
 *	denied (client in the set: XDP_DROP), nonvip (not a VIP: XDP_PASS),
 *	redirect (VIP of a VS scaled out to a remote SE: an ACK of a flow
 *	pinned to that SE, sent on by bpf_redirect_map through the devmap:
 *	XDP_REDIRECT). The xadc program gets one policy per size: one DENY rule
 *	whose client set is N /32 prefixes, the VIPs of the size point at it.
 *	With -f, the program attached to IFNAME in this network namespace
 *	(xdp-filter loaded without the dispatcher, so the attached program is
 *	xdp-filter's own) runs on the same frames after its filter_ipv4 map
 *	is filled with the same N source addresses. The harness puts the
 *	denied address in with `xdp-filter ip ADDR -m src`; the rest are
 *	copies of that entry's value (xdp-filter's own encoding, read back
 *	right after it was added, so its hit counter is still zero).
 *	A size above the map's max_entries is reported as an error line.
 *	-t IFNAME: the interface the remote SE is reached through (default:
 *	the -f interface, else the loopback).
 *
 *	Why the remote SE sits behind an interface rather than on the
 *	receiving one (XDP_TX): with `repeat`, the kernel runs the program
 *	again on the frame as the previous run left it. XDP_TX swaps the
 *	destination MAC into the source, so from the second run on the frame
 *	comes "from a peer SE" and takes another path. Through the devmap the
 *	source MAC becomes our own MAC on that interface, which is not a
 *	peer's: every run takes the same path, the one a client's packet takes.
 *
 *   bench_xdp addr I
 *	Print the I-th denied client address (I = 0: the one the harness
 *	adds with xdp-filter).
 *
 *   bench_xdp hold IFNAME VIP PORT DENY_NET/LEN
 *	Load the xadc program (no pins), make VIP:PORT/TCP a VIP whose policy
 *	denies DENY_NET/LEN, attach it natively to IFNAME, print "ready",
 *	and wait for SIGTERM or SIGINT; then print {"packets":..,"drops":..}
 *	(the VS's counters) and detach.
 *
 * Addresses: the N denied clients are the first N of a fixed permutation
 * of 198.18.0.0/15 (spread over the whole /15, so the LPM trie is not one
 * dense run); the allowed client is the permutation's 100,001st address,
 * in no set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "xadc/xdp.h"

#define NSIZES_MAX    8
#define PERM_SPAN     (1u << 17) /* 198.18.0.0/15 */
#define ALLOWED_IDX   100000u	 /* first permutation element in no set */
#define VS_BASE	      100	 /* vs_id of size i's plain VS: VS_BASE + i */
#define VS_STEER_BASE 200	 /* ... and of its scaled-out VS */

static const uint8_t SE_REMOTE_MAC[6] = {2, 0xb, 0, 0, 0, 2};
static const uint8_t SE_SELF_MAC[6] = {2, 0xa, 0, 0, 0, 1};
static const uint8_t OUR_MAC[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t CLIENT_MAC[6] = {2, 0, 0, 0, 0, 2};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* i-th address of the permutation of 198.18.0.0/15, network order. An odd
 * multiplier makes i -> i * m + c a bijection modulo 2^17. */
static uint32_t perm_addr(uint32_t i)
{
	uint32_t off = (i * 40503u + 12345u) & (PERM_SPAN - 1);

	return htonl((198u << 24 | 18u << 16) + off);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* A 54-byte Ethernet/IPv4/TCP frame (flags as given) into buf. The XDP
 * programs under test do not verify checksums, so they are left zero. */
static int frame(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		 uint8_t flags)
{
	uint8_t *ip = buf + 14, *tcp = ip + 20;

	memset(buf, 0, 64);
	memcpy(buf, OUR_MAC, 6);
	memcpy(buf + 6, CLIENT_MAC, 6);
	put16(buf + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	return 54;
}

static const char *verdict_name(unsigned v)
{
	static const char *const n[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					"XDP_REDIRECT"};

	return v < 5 ? n[v] : "?";
}

/* Run prog on the frame `repeat` times; *ns gets the kernel's average
 * duration per run, *verdict the return code. 0 or -errno. */
static int test_run(int prog, const uint8_t *buf, int len, unsigned repeat, double *ns,
		    unsigned *verdict)
{
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	*ns = o.duration;
	*verdict = o.retval;
	return 0;
}

struct xadc_setup {
	struct xadc_xdp *x;
	unsigned nsizes;
	unsigned sizes[NSIZES_MAX];
	uint32_t vip[NSIZES_MAX], steer_vip[NSIZES_MAX];
	uint16_t steer_sport[NSIZES_MAX]; /* a client port whose flow goes to the remote SE */
};

/* Install policy nsp_id: one DENY rule over the first n permutation /32s. */
static int install_nsp(struct xadc_xdp *x, uint32_t nsp_id, unsigned n)
{
	struct xadc_nsp_prefix *p = calloc(n, sizeof(*p));
	struct xadc_nsp_rule r = {.rule_id = 1,
				  .action = XADC_NSP_DENY,
				  .has_client_ip = true,
				  .ip_op = XADC_NSP_IS_IN,
				  .nprefixes = n};
	struct xadc_nsp_policy pol = {.nrules = 1, .rules = &r};
	uint32_t a;
	unsigned i;
	int err;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		a = perm_addr(i);
		p[i].family = 4;
		p[i].len = 32;
		memcpy(p[i].addr, &a, 4);
	}
	r.prefixes = p;
	err = xadc_xdp_nsp_install(x, nsp_id, &pol);
	free(p);
	return err;
}

/* The xadc program with, per size i: policy i+1, VIP 198.18.0.(10+i):80
 * under it, and VIP 198.18.0.(30+i):80 under it too, scaled out over this
 * SE and a remote one. */
static int xadc_prepare(struct xadc_setup *s, const char *se_if)
{
	struct xadc_steer_se ses[2] = {
	    {.id = 1, .weight = 1, .self = true},
	    {.id = 2, .weight = 1},
	};
	struct xadc_steer_config sc = {.nses = 2, .ses = ses, .fallback_se = XADC_STEER_NO_SE};
	uint8_t buf[64];
	unsigned i, v;
	double ns;
	int err;

	memcpy(ses[0].mac, SE_SELF_MAC, 6);
	memcpy(ses[1].mac, SE_REMOTE_MAC, 6);
	ses[1].ifindex = (int)if_nametoindex(se_if);
	if (!ses[1].ifindex) {
		fprintf(stderr, "bench_xdp: no interface %s for the remote SE\n", se_if);
		return -ENODEV;
	}
	err = xadc_xdp_open(&s->x, "");
	if (err) {
		fprintf(stderr, "bench_xdp: loading the xadc program: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < s->nsizes; i++) {
		s->vip[i] = htonl(198u << 24 | 18u << 16 | (10 + i));
		s->steer_vip[i] = htonl(198u << 24 | 18u << 16 | (30 + i));
		err = install_nsp(s->x, i + 1, s->sizes[i]);
		if (!err)
			err = xadc_xdp_vip_set(s->x, 4, &s->vip[i], 80, IPPROTO_TCP, VS_BASE + i,
					       i + 1);
		if (!err)
			err = xadc_xdp_vip_set(s->x, 4, &s->steer_vip[i], 80, IPPROTO_TCP,
					       VS_STEER_BASE + i, i + 1);
		if (!err)
			err = xadc_xdp_steer_set(s->x, VS_STEER_BASE + i, &sc);
		if (err) {
			fprintf(stderr, "bench_xdp: configuring size %u: %s\n", s->sizes[i],
				strerror(-err));
			return err;
		}
		/* A flow the Maglev table gives to the remote SE: its SYN is
		 * redirected there and pins the flow. */
		for (s->steer_sport[i] = 20000; s->steer_sport[i] < 21000; s->steer_sport[i]++) {
			int len = frame(buf, perm_addr(ALLOWED_IDX), s->steer_vip[i],
					s->steer_sport[i], 80, 0x02);

			if (!test_run(xadc_xdp_prog_fd(s->x), buf, len, 1, &ns, &v) &&
			    v == XDP_REDIRECT)
				break;
		}
		if (s->steer_sport[i] == 21000) {
			fprintf(stderr, "bench_xdp: no flow went to the remote SE\n");
			return -ESRCH;
		}
	}
	return 0;
}

enum bcase { C_ALLOWED, C_DENIED, C_NONVIP, C_REDIRECT, NCASES };
static const char *const case_name[NCASES] = {"allowed", "denied", "nonvip", "redirect"};

/* The frame of case c for size index i (TCP to port 80). Redirect: an ACK
 * of the pinned flow (mid-flow packets are the bulk of a flow). */
static int case_frame(const struct xadc_setup *s, unsigned i, enum bcase c, uint8_t *buf)
{
	uint32_t ok = perm_addr(ALLOWED_IDX), bad = perm_addr(s->sizes[i] / 2);
	uint32_t nonvip = htonl(198u << 24 | 18u << 16 | 99);

	switch (c) {
	case C_ALLOWED:
		return frame(buf, ok, s->vip[i], 40000, 80, 0x02);
	case C_DENIED:
		return frame(buf, bad, s->vip[i], 40000, 80, 0x02);
	case C_NONVIP:
		return frame(buf, ok, nonvip, 40000, 80, 0x02);
	default:
		return frame(buf, ok, s->steer_vip[i], s->steer_sport[i], 80, 0x10);
	}
}

/* xdp-filter's program and its filter_ipv4 map, found through the
 * program attached to ifname. */
struct filt {
	int prog, map;
	unsigned max_entries, ncpu;
	uint64_t *value; /* per-CPU value of the harness's entry */
	uint32_t have;	 /* permutation entries [0, have) are in the map */
};

static int filt_open(struct filt *f, const char *ifname)
{
	struct bpf_prog_info pi = {0};
	struct bpf_map_info mi;
	uint32_t len = sizeof(pi), ids[16], id = 0, key, i;
	int ifindex = (int)if_nametoindex(ifname), fd;

	if (!ifindex || bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &id) || !id) {
		fprintf(stderr, "bench_xdp: no XDP program attached natively to %s\n", ifname);
		return -ENOENT;
	}
	f->prog = bpf_prog_get_fd_by_id(id);
	if (f->prog < 0)
		return -errno;
	pi.nr_map_ids = 16;
	pi.map_ids = (uint64_t)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(f->prog, &pi, &len))
		return -errno;
	f->map = -1;
	for (i = 0; i < pi.nr_map_ids && i < 16; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		len = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &len) &&
		    !strcmp(mi.name, "filter_ipv4") && mi.key_size == 4 && mi.value_size == 8) {
			f->map = fd;
			f->max_entries = mi.max_entries;
			break;
		}
		if (fd >= 0)
			close(fd);
	}
	if (f->map < 0) {
		fprintf(stderr, "bench_xdp: program %u (%s) has no filter_ipv4 map\n", id, pi.name);
		return -ENOENT;
	}
	f->ncpu = (unsigned)libbpf_num_possible_cpus();
	f->value = calloc(f->ncpu, sizeof(*f->value));
	if (!f->value)
		return -ENOMEM;
	/* The harness added permutation entry 0 with xdp-filter itself; the
	 * others get the same value (xdp-filter's mode bits). */
	key = perm_addr(0);
	if (bpf_map_lookup_elem(f->map, &key, f->value)) {
		fprintf(stderr,
			"bench_xdp: %s is not in xdp-filter's map (xdp-filter ip ... -m src)\n",
			inet_ntoa((struct in_addr){.s_addr = key}));
		return -ENOENT;
	}
	f->have = 1;
	return 0;
}

/* Make the map hold exactly permutation entries [0, n). */
static int filt_fill(struct filt *f, uint32_t n)
{
	uint32_t key;

	if (n > f->max_entries)
		return -E2BIG;
	for (; f->have < n; f->have++) {
		key = perm_addr(f->have);
		if (bpf_map_update_elem(f->map, &key, f->value, BPF_ANY))
			return -errno;
	}
	for (; f->have > n; f->have--) {
		key = perm_addr(f->have - 1);
		bpf_map_delete_elem(f->map, &key);
	}
	return 0;
}

static int parse_sizes(const char *arg, struct xadc_setup *s)
{
	char *end;

	s->nsizes = 0;
	while (*arg && s->nsizes < NSIZES_MAX) {
		unsigned long v = strtoul(arg, &end, 10);

		if (end == arg || v < 1 || v > ALLOWED_IDX)
			return -EINVAL;
		s->sizes[s->nsizes++] = (unsigned)v;
		arg = *end == ',' ? end + 1 : end;
		if (end == arg && *arg)
			return -EINVAL;
	}
	return s->nsizes ? 0 : -EINVAL;
}

static void emit(const char *prog, unsigned size, enum bcase c, unsigned round, int err, double ns,
		 unsigned verdict)
{
	if (err)
		printf("{\"prog\":\"%s\",\"size\":%u,\"case\":\"%s\",\"round\":%u,"
		       "\"error\":\"%s\"}\n",
		       prog, size, case_name[c], round, strerror(-err));
	else
		printf("{\"prog\":\"%s\",\"size\":%u,\"case\":\"%s\",\"round\":%u,"
		       "\"verdict\":\"%s\",\"ns\":%.2f}\n",
		       prog, size, case_name[c], round, verdict_name(verdict), ns);
	fflush(stdout);
}

static int cmd_testrun(int argc, char **argv)
{
	struct xadc_setup s = {.nsizes = 3, .sizes = {10, 10000, 100000}};
	struct filt f = {.prog = -1};
	unsigned repeat = 10000000, rounds = 3, i, r, v;
	const char *filt_if = NULL, *se_if = NULL;
	uint8_t buf[64];
	enum bcase c;
	double ns;
	int opt, len, err, ferr;

	while ((opt = getopt(argc, argv, "r:n:s:f:t:")) != -1) {
		switch (opt) {
		case 'r':
			repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			if (parse_sizes(optarg, &s)) {
				fprintf(stderr, "bench_xdp: bad sizes \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'f':
			filt_if = optarg;
			break;
		case 't':
			se_if = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!repeat || !rounds) {
		fprintf(stderr, "bench_xdp: -r and -n must be at least 1\n");
		return 2;
	}
	if (!se_if)
		se_if = filt_if ? filt_if : "lo";
	if (xadc_prepare(&s, se_if))
		return 1;
	if (filt_if && filt_open(&f, filt_if))
		return 1;
	/* Sizes outer (xdp-filter has one map to refill), then rounds, each
	 * round running every case on both programs back to back. */
	for (i = 0; i < s.nsizes; i++) {
		ferr = filt_if ? filt_fill(&f, s.sizes[i]) : 0;
		for (r = 1; r <= rounds; r++) {
			for (c = 0; c < NCASES; c++) {
				len = case_frame(&s, i, c, buf);
				err = test_run(xadc_xdp_prog_fd(s.x), buf, len, repeat, &ns, &v);
				emit("xadc", s.sizes[i], c, r, err, ns, v);
				/* xdp-filter has no VIPs or steering: the
				 * redirect case does not apply to it. */
				if (!filt_if || c == C_REDIRECT)
					continue;
				if (ferr == -E2BIG) {
					printf(
					    "{\"prog\":\"xdp-filter\",\"size\":%u,\"case\":\"%s\","
					    "\"round\":%u,\"error\":\"over its map's %u "
					    "entries\"}\n",
					    s.sizes[i], case_name[c], r, f.max_entries);
					continue;
				}
				err = ferr ? ferr : test_run(f.prog, buf, len, repeat, &ns, &v);
				emit("xdp-filter", s.sizes[i], c, r, err, ns, v);
			}
		}
	}
	if (filt_if)
		filt_fill(&f, 1);
	xadc_xdp_close(s.x);
	return 0;
}

static int parse_net(const char *arg, struct xadc_nsp_prefix *p)
{
	char a[64], *slash;

	snprintf(a, sizeof(a), "%s", arg);
	slash = strchr(a, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	p->family = 4;
	p->len = (uint8_t)atoi(slash + 1);
	return inet_pton(AF_INET, a, p->addr) == 1 && p->len <= 32 ? 0 : -EINVAL;
}

static int cmd_hold(int argc, char **argv)
{
	struct xadc_nsp_prefix deny;
	struct xadc_nsp_rule rule = {.rule_id = 1,
				     .action = XADC_NSP_DENY,
				     .has_client_ip = true,
				     .ip_op = XADC_NSP_IS_IN,
				     .nprefixes = 1,
				     .prefixes = &deny};
	struct xadc_nsp_policy pol = {.nrules = 1, .rules = &rule};
	struct xadc_xdp_stats st = {0};
	struct xadc_xdp *x = NULL;
	bool native = false;
	uint8_t vip[4];
	int ifindex, err;

	if (argc != 5 || inet_pton(AF_INET, argv[2], vip) != 1 || parse_net(argv[4], &deny)) {
		fprintf(stderr, "usage: bench_xdp hold IFNAME VIP PORT DENY_NET/LEN\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "bench_xdp: no interface %s\n", argv[1]);
		return 1;
	}
	err = xadc_xdp_open(&x, "");
	if (!err)
		err = xadc_xdp_nsp_install(x, 1, &pol);
	if (!err)
		err = xadc_xdp_vip_set(x, 4, vip, (uint16_t)atoi(argv[3]), IPPROTO_TCP, 1, 1);
	if (!err)
		err = xadc_xdp_attach(x, ifindex, &native);
	if (!err && !native) {
		fprintf(stderr, "bench_xdp: %s has no native XDP\n", argv[1]);
		xadc_xdp_detach(x, ifindex);
		err = -EOPNOTSUPP;
	}
	if (err) {
		fprintf(stderr, "bench_xdp: attaching to %s: %s\n", argv[1], strerror(-err));
		xadc_xdp_close(x);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	xadc_xdp_vs_stats(x, 1, &st);
	printf("{\"packets\":%llu,\"drops\":%llu,\"allowed\":%llu}\n",
	       (unsigned long long)st.packets, (unsigned long long)st.drops,
	       (unsigned long long)st.allowed);
	fflush(stdout);
	xadc_xdp_detach(x, ifindex);
	xadc_xdp_close(x);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "addr")) {
		/* For the harness: the address to give `xdp-filter ip`. */
		struct in_addr a = {.s_addr = perm_addr((uint32_t)strtoul(argv[2], NULL, 10))};

		printf("%s\n", inet_ntoa(a));
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "testrun"))
		return cmd_testrun(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return cmd_hold(argc - 1, argv + 1);
	fprintf(
	    stderr,
	    "usage: bench_xdp testrun [-r REPEAT] [-n ROUNDS] [-s SIZES] [-f IFNAME] [-t IFNAME]\n"
	    "       bench_xdp addr I\n"
	    "       bench_xdp hold IFNAME VIP PORT DENY_NET/LEN\n");
	return 2;
}
