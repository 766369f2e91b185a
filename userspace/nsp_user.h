/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nsp_user.h - network security policies enforced by the proxy itself, at
 * accept time, when no XDP program is attached (no --interface, attach
 * failed, or xadcctl unload).
 *
 * Same first-match semantics as the BPF program and policy/nsp_eval.c
 * (see include/xadc/xdp.h). The compiled form is built once per apply
 * from struct xadc_nsp_policy: every rule's client_ip prefixes and ranges
 * become one struct xadc_ipset, so the cost of a check does not grow with
 * the number of prefixes. RATE_LIMIT keeps a per-client-IP token bucket
 * (new connections per second) in a fixed-size striped table.
 *
 * The state that should outlive a re-apply (rate-limit buckets and rule
 * counters) is shared with the previous snapshot's policy of the same name
 * when the policy did not change (same fingerprint).
 */
#ifndef XADC_NSP_USER_H
#define XADC_NSP_USER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "xadc/snapshot.h"
#include "xadc/xdp.h"

struct xadc_nsp_us;

/* Counters of one rule or one VS (summed over workers when read). */
struct xadc_nsp_us_stats {
	uint64_t hits;		/* connections the rule matched (VS: evaluated) */
	uint64_t drops;		/* refused: DENY or over the rate limit */
	uint64_t rate_limited;	/* of which over a RATE_LIMIT */
	uint64_t allowed;	/* let through */
};

/* Compile n (its pol and rule_names) into n->us. prev: the previous
 * snapshot's policy of the same name, or NULL; its state is shared when
 * its fingerprint is the same. Returns 0 or -ENOMEM / -EINVAL. */
int xadc_nsp_us_build(struct xadc_nsp_cfg *n, const struct xadc_nsp_cfg *prev);
void xadc_nsp_us_free(struct xadc_nsp_us *u);

/* Per-VS counters block (vx->us_ctr), NULL on ENOMEM. */
void *xadc_nsp_us_vs_ctr_new(void);
void xadc_nsp_us_vs_ctr_free(void *ctr);

/*
 * Decide on a connection just accepted on listener vip of VS number vs_idx
 * of snap (its policy is snap->vs[vs_idx].nsp) from client peer, in worker
 * slot worker. Counts, writes a (sampled) request-log line for a refusal,
 * and returns true when the connection must be refused. Never allocates;
 * takes one striped spinlock for a RATE_LIMIT match.
 */
bool xadc_nsp_us_refuse(struct xadc_snapshot *snap, unsigned vs_idx, unsigned worker,
			const union xadc_sockaddr *peer, const union xadc_sockaddr *vip);

/* Evaluate without counting or rate limiting: position of the first
 * matching rule or -1 (for tests; same answer as xadc_nsp_eval). */
int xadc_nsp_us_match(const struct xadc_nsp_us *u, const union xadc_sockaddr *client,
		      uint16_t vs_port);

void xadc_nsp_us_rule_stats(const struct xadc_nsp_us *u, unsigned pos,
			    struct xadc_nsp_us_stats *out);
void xadc_nsp_us_vs_stats(const void *ctr, struct xadc_nsp_us_stats *out);

/* The userspace counters of snap's VS number v in the /api/xdp/stats
 * shape ("enforced_by": "userspace"), NULL when it has no policy. */
json_t *xadc_nsp_us_vs_json(struct xadc_snapshot *snap, unsigned v);

#endif
