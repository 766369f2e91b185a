/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsp_eval.h - the plain reference evaluator of a network security policy
 * (struct xadc_nsp_policy, include/xadc/xdp.h): a linear first-match scan
 * written for obviousness, used as the oracle the XDP program is tested
 * against. No rate-limit state: it says which rule matches.
 */
#ifndef XADC_NSP_EVAL_H
#define XADC_NSP_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "xadc/xdp.h"

struct xadc_nsp_pkt {
	uint8_t family;		/* 4 or 6 */
	uint8_t client_addr[16]; /* network order; IPv4 in [0..3] */
	bool has_ports;		/* TCP/UDP with readable ports */
	uint16_t client_port;	/* host order */
	uint16_t vs_port;
};

/* Position of the first rule of pol that matches pkt, or -1 (allow). */
int xadc_nsp_eval(const struct xadc_nsp_policy *pol, const struct xadc_nsp_pkt *pkt);

/* Does rule r match pkt? */
bool xadc_nsp_rule_matches(const struct xadc_nsp_rule *r, const struct xadc_nsp_pkt *pkt);

#endif
