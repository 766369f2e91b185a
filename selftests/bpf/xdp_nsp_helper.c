// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_nsp_helper.c - drive the XDP library from shell tests until xadcd
 * does: attach with a one-rule DENY policy, print counters, detach.
 *
 *   xdp_nsp_helper up IFNAME VIP4 PORT DENY_ADDR4   (vs 3, policy 1)
 *   xdp_nsp_helper stats                            "packets P drops D allowed A"
 *   xdp_nsp_helper down IFNAME                      detach and unpin
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/xdp.h"

static int up(struct xadc_xdp *x, char **argv)
{
	struct xadc_nsp_prefix p = { .family = 4, .len = 32 };
	struct xadc_nsp_rule r = { .rule_id = 7, .action = XADC_NSP_DENY, .has_client_ip = true,
				   .nprefixes = 1, .prefixes = &p };
	struct xadc_nsp_policy pol = { .nrules = 1, .rules = &r };
	uint8_t vip[4];
	bool native = false;
	int err;

	if (inet_pton(AF_INET, argv[3], vip) != 1 || inet_pton(AF_INET, argv[5], p.addr) != 1) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	err = xadc_xdp_vip_set(x, 4, vip, (uint16_t)atoi(argv[4]), IPPROTO_TCP, 3, 1);
	if (!err)
		err = xadc_xdp_nsp_install(x, 1, &pol);
	if (!err)
		err = xadc_xdp_attach(x, (int)if_nametoindex(argv[2]), &native);
	if (err) {
		fprintf(stderr, "up: %s\n", strerror(-err));
		return 1;
	}
	printf("attached %s\n", native ? "native" : "generic");
	return 0;
}

int main(int argc, char **argv)
{
	struct xadc_xdp_stats st;
	struct xadc_xdp *x;
	int err, rc = 0;

	if (argc < 2 || (!strcmp(argv[1], "up") && argc != 6) ||
	    (!strcmp(argv[1], "down") && argc != 3)) {
		fprintf(stderr, "usage: see the header of selftests/bpf/xdp_nsp_helper.c\n");
		return 2;
	}
	/* XADC_XDP_PIN_DIR: a test keeps its pins on its own bpffs mount,
	 * since every "ip netns exec" gets a fresh /sys. */
	err = xadc_xdp_open(&x, getenv("XADC_XDP_PIN_DIR"));
	if (err) {
		fprintf(stderr, "open: %s\n", strerror(-err));
		return 1;
	}
	if (!strcmp(argv[1], "up")) {
		rc = up(x, argv);
	} else if (!strcmp(argv[1], "stats")) {
		rc = xadc_xdp_vs_stats(x, 3, &st) ? 1 : 0;
		printf("packets %llu drops %llu allowed %llu\n", (unsigned long long)st.packets,
		       (unsigned long long)st.drops, (unsigned long long)st.allowed);
	} else {
		if (xadc_xdp_detach(x, (int)if_nametoindex(argv[2])))
			rc = 1;
		if (xadc_xdp_unpin(x))
			rc = 1;
	}
	xadc_xdp_close(x);
	return rc;
}
