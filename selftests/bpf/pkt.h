/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pkt.h - build test frames for BPF_PROG_TEST_RUN and run the xadc XDP
 * program on them. Header-only, for selftests/bpf/test_bpf_*.c.
 */
#ifndef XADC_TEST_PKT_H
#define XADC_TEST_PKT_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCP_SYN_ 0x02
#define TCP_ACK_ 0x10

enum frag_kind { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

struct pkt_spec {
	int family;		/* 4 or 6; 0 = ARP */
	int nvlan;		/* 0..3 VLAN tags */
	uint8_t proto;		/* IPPROTO_TCP/UDP/ICMP/ICMPV6 */
	const char *src, *dst;	/* textual addresses */
	uint16_t sport, dport;
	uint8_t tcp_flags;	/* default SYN */
	uint8_t icmp_type, icmp_code;
	enum frag_kind frag;
	int ip4_optlen;		/* bytes of IPv4 options (multiple of 4) */
	int ip6_ext;		/* IPv6 destination-options headers before L4 */
	int cut;		/* > 0: truncate the frame to this many bytes */
	int cut_l4;		/* > 0: keep only this many L4 bytes */
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* Build the frame described by s into buf (>= 256 bytes); returns its length. */
static inline int pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dmac[6] = { 2, 0, 0, 0, 0, 1 }, smac[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t *p = buf, *l3, *l4;
	uint8_t l4proto = s->proto, nh;
	int i, l4len;

	memset(buf, 0, 256);
	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	p += 12;
	for (i = 0; i < s->nvlan; i++) {
		put16(p, i == 0 && s->nvlan > 1 ? 0x88a8 : 0x8100);
		put16(p + 2, 100 + i);
		p += 4;
	}
	if (s->family == 0) {
		put16(p, 0x0806); /* ARP request */
		p += 2;
		put16(p, 1);
		put16(p + 2, 0x0800);
		p[4] = 6;
		p[5] = 4;
		put16(p + 6, 1);
		return (int)(p + 28 - buf);
	}
	put16(p, s->family == 4 ? 0x0800 : 0x86dd);
	l3 = p + 2;
	if (s->family == 4) {
		int ihl = 5 + s->ip4_optlen / 4;

		l3[0] = 0x40 | ihl;
		l3[8] = 64;
		l3[9] = l4proto;
		if (s->frag == FRAG_FIRST)
			put16(l3 + 6, 0x2000);
		else if (s->frag == FRAG_LATER)
			put16(l3 + 6, 185); /* offset 1480 */
		inet_pton(AF_INET, s->src, l3 + 12);
		inet_pton(AF_INET, s->dst, l3 + 16);
		memset(l3 + 20, 1, s->ip4_optlen); /* NOP options */
		l4 = l3 + ihl * 4;
	} else {
		uint8_t *cur = l3 + 40;

		l3[0] = 0x60;
		l3[7] = 64;
		inet_pton(AF_INET6, s->src, l3 + 8);
		inet_pton(AF_INET6, s->dst, l3 + 24);
		nh = s->frag != FRAG_NONE ? 44 : (s->ip6_ext ? 60 : l4proto);
		l3[6] = nh;
		if (s->frag != FRAG_NONE) {
			cur[0] = s->ip6_ext ? 60 : l4proto;
			if (s->frag == FRAG_FIRST)
				put16(cur + 2, 1); /* offset 0, M */
			else
				put16(cur + 2, 1480);
			cur += 8;
		}
		for (i = 0; i < s->ip6_ext; i++) {
			cur[0] = i + 1 < s->ip6_ext ? 60 : l4proto;
			cur[1] = 0; /* 8 bytes */
			cur[2] = 1; /* PadN */
			cur[3] = 4;
			cur += 8;
		}
		l4 = cur;
	}
	switch (l4proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : TCP_SYN_;
		l4len = 20;
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, 8 + 16);
		l4len = 8 + 16;
		break;
	default: /* ICMP / ICMPv6 */
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		l4len = 8;
		break;
	}
	if (s->cut_l4 > 0)
		l4len = s->cut_l4;
	if (s->family == 4)
		put16(l3 + 2, (uint16_t)(l4 + l4len - l3));
	else
		put16(l3 + 4, (uint16_t)(l4 + l4len - l3 - 40));
	i = (int)(l4 + l4len - buf);
	if (s->cut > 0 && s->cut < i)
		i = s->cut;
	return i;
}

/* Run prog_fd once on the frame; the XDP verdict or -errno. */
static inline int pkt_run(int prog_fd, const uint8_t *frame, int len)
{
	uint8_t out[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return -errno;
	return (int)o.retval;
}

/* Run prog_fd once on frame; the verdict or -errno, and the frame as the
 * program left it in out (>= len + 64 bytes), its length in *out_len. */
static inline int pkt_run_out(int prog_fd, const uint8_t *frame, int len, uint8_t *out,
			      int *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = len + 64, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*out_len = (int)o.data_size_out;
	return (int)o.retval;
}

static inline int pkt_run_spec(int prog_fd, const struct pkt_spec *s)
{
	uint8_t buf[256];

	return pkt_run(prog_fd, buf, pkt_build(buf, s));
}

/* Why BPF cannot be used here, or NULL. */
static inline const char *bpf_unavailable(void)
{
	struct statfs st;

	if (geteuid() != 0)
		return "needs root for BPF";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
	if (statfs("/sys/fs/bpf", &st) != 0)
		return "no /sys/fs/bpf";
	return NULL;
}

#endif
