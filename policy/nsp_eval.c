// SPDX-License-Identifier: GPL-2.0
/*
 * nsp_eval.c - reference evaluator of the network security policy. Kept
 * deliberately naive (compare every prefix and range of every rule) so it
 * shares no logic with the LPM compilation it checks.
 */
#include <string.h>

#include "nsp_eval.h"

static unsigned addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

/* Is bit i (0 = most significant of addr[0]) of a set? */
static int bit_at(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool in_prefix(const struct xadc_nsp_prefix *p, const struct xadc_nsp_pkt *pkt)
{
	unsigned i;

	if (p->family != pkt->family)
		return false;
	for (i = 0; i < p->len; i++)
		if (bit_at(p->addr, i) != bit_at(pkt->client_addr, i))
			return false;
	return true;
}

static bool in_range(const struct xadc_nsp_range *r, const struct xadc_nsp_pkt *pkt)
{
	unsigned n = addr_len(pkt->family);

	if (r->family != pkt->family)
		return false;
	/* Network-order bytes compare like the numbers they encode. */
	return memcmp(r->lo, pkt->client_addr, n) <= 0 && memcmp(pkt->client_addr, r->hi, n) <= 0;
}

static bool ip_in(const struct xadc_nsp_rule *r, const struct xadc_nsp_pkt *pkt)
{
	unsigned i;

	for (i = 0; i < r->nprefixes; i++)
		if (in_prefix(&r->prefixes[i], pkt))
			return true;
	for (i = 0; i < r->nranges; i++)
		if (in_range(&r->ranges[i], pkt))
			return true;
	return false;
}

static bool port_cond(const struct xadc_nsp_ports *c, bool has_ports, uint16_t port)
{
	bool in = false;
	unsigned i;

	if (!c->present)
		return true;
	for (i = 0; has_ports && i < c->n; i++)
		if (port >= c->r[i].lo && port <= c->r[i].hi)
			in = true;
	return c->op == XADC_NSP_IS_IN ? in : !in;
}

bool xadc_nsp_rule_matches(const struct xadc_nsp_rule *r, const struct xadc_nsp_pkt *pkt)
{
	if (r->has_client_ip) {
		bool in = ip_in(r, pkt);

		if (r->ip_op == XADC_NSP_IS_IN ? !in : in)
			return false;
	}
	return port_cond(&r->client_port, pkt->has_ports, pkt->client_port) &&
	       port_cond(&r->vs_port, pkt->has_ports, pkt->vs_port);
}

int xadc_nsp_eval(const struct xadc_nsp_policy *pol, const struct xadc_nsp_pkt *pkt)
{
	unsigned i;

	for (i = 0; i < pol->nrules; i++)
		if (xadc_nsp_rule_matches(&pol->rules[i], pkt))
			return (int)i;
	return -1;
}
