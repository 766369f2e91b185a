// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_steer_helper.c - drive XDP flow steering from shell tests until
 * xadcd does (selftests/e2e/xdp_scaleout.sh).
 *
 *   xdp_steer_helper up IFNAME VIP4 PORT VS        VIP (no policy), attach
 *   xdp_steer_helper set VS SE...                  SE = id,mac,weight[,self]
 *   xdp_steer_helper stats VS ID                   "packets P new_flows N second_chance S"
 *   xdp_steer_helper napi IFNAME                   attach a bare XDP_PASS program
 *   xdp_steer_helper csum-off IFNAME               software TX checksums
 *   xdp_steer_helper down IFNAME                   detach and unpin
 *
 * "napi": XDP_TX on a veth needs NAPI on its peer, which a native XDP
 * program there provides (no ethtool on the test machines to turn on GRO).
 * "csum-off": a veth leaves TCP checksums to "hardware" (CHECKSUM_PARTIAL);
 * native XDP sends the frame on as bytes and the receiving SE then sees a
 * bad checksum. A client behind a real wire computes them, so the lab's
 * client does too.
 * Maps live in $XADC_XDP_PIN_DIR, so successive runs share them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xadc/xdp.h"

/* "id,aa:bb:cc:dd:ee:ff,weight[,self]" */
static int parse_se(const char *arg, struct xadc_steer_se *se)
{
	char self[8] = "";
	unsigned m[6];
	int n, i;

	memset(se, 0, sizeof(*se));
	n = sscanf(arg, "%u,%x:%x:%x:%x:%x:%x,%u,%7s", &se->id, &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5], &se->weight, self);
	if (n < 8 || (n == 9 && strcmp(self, "self"))) {
		fprintf(stderr, "bad SE '%s' (id,mac,weight[,self])\n", arg);
		return -EINVAL;
	}
	for (i = 0; i < 6; i++)
		se->mac[i] = (uint8_t)m[i];
	se->self = n == 9;
	return 0;
}

static int cmd_up(struct xadc_xdp *x, char **argv)
{
	uint8_t vip[4];
	bool native = false;
	int err;

	if (inet_pton(AF_INET, argv[3], vip) != 1) {
		fprintf(stderr, "bad address %s\n", argv[3]);
		return -EINVAL;
	}
	err = xadc_xdp_vip_set(x, 4, vip, (uint16_t)atoi(argv[4]), IPPROTO_TCP,
			       (uint32_t)atoi(argv[5]), 0);
	if (!err)
		err = xadc_xdp_attach(x, (int)if_nametoindex(argv[2]), &native);
	if (!err)
		printf("attached %s\n", native ? "native" : "generic");
	return err;
}

static int cmd_set(struct xadc_xdp *x, int argc, char **argv)
{
	struct xadc_steer_se ses[XADC_STEER_SES_MAX];
	struct xadc_steer_config c = { .ses = ses, .fallback_se = XADC_STEER_NO_SE };
	int i, err;

	if (argc - 3 > XADC_STEER_SES_MAX)
		return -E2BIG;
	for (i = 3; i < argc; i++) {
		err = parse_se(argv[i], &ses[c.nses++]);
		if (err)
			return err;
	}
	err = xadc_xdp_steer_set(x, (uint32_t)atoi(argv[2]), &c);
	if (!err)
		printf("generation %u\n", xadc_xdp_steer_generation(x, (uint32_t)atoi(argv[2])));
	return err;
}

/* Load "r0 = XDP_PASS; exit" and attach it in driver mode. */
static int cmd_napi(const char *ifname)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xadc_napi", "GPL", insns, 2, NULL);
	if (fd < 0)
		return fd;
	err = bpf_xdp_attach((int)if_nametoindex(ifname), fd, XDP_FLAGS_DRV_MODE, NULL);
	close(fd);
	return err;
}

/* ETHTOOL_STXCSUM off. */
static int cmd_csum_off(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct xadc_steer_stats st;
	struct xadc_xdp *x;
	int err;

	if (argc < 3 || (!strcmp(argv[1], "up") && argc != 6) ||
	    (!strcmp(argv[1], "stats") && argc != 4)) {
		fprintf(stderr, "usage: see the header of selftests/bpf/xdp_steer_helper.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "napi")) {
		err = cmd_napi(argv[2]);
		if (err)
			fprintf(stderr, "napi: %s\n", strerror(-err));
		return err ? 1 : 0;
	}
	if (!strcmp(argv[1], "csum-off")) {
		err = cmd_csum_off(argv[2]);
		if (err)
			fprintf(stderr, "csum-off: %s\n", strerror(-err));
		return err ? 1 : 0;
	}
	err = xadc_xdp_open(&x, getenv("XADC_XDP_PIN_DIR"));
	if (err) {
		fprintf(stderr, "open: %s\n", strerror(-err));
		return 1;
	}
	if (!strcmp(argv[1], "up")) {
		err = cmd_up(x, argv);
	} else if (!strcmp(argv[1], "set")) {
		err = cmd_set(x, argc, argv);
	} else if (!strcmp(argv[1], "stats")) {
		err = xadc_xdp_steer_stats(x, (uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]), &st);
		if (!err)
			printf("packets %llu new_flows %llu second_chance %llu\n",
			       (unsigned long long)st.packets, (unsigned long long)st.new_flows,
			       (unsigned long long)st.second_chance);
	} else if (!strcmp(argv[1], "down")) {
		err = xadc_xdp_detach(x, (int)if_nametoindex(argv[2]));
		if (!xadc_xdp_unpin(x) && err == -ENOENT)
			err = 0;
	} else {
		err = -EINVAL;
	}
	if (err)
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-err));
	xadc_xdp_close(x);
	return err ? 1 : 0;
}
