// SPDX-License-Identifier: GPL-2.0
/*
 * nsp_user.c - network security policies enforced in the proxy when no XDP
 * program is attached (see nsp_user.h for the contract).
 *
 * Counters are per-worker slots, one cache-line-aligned row per worker,
 * written only by that worker and summed by readers, so the accept path
 * shares no cache line between workers except the rate limiter's stripe.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xadc/common.h"
#include "xadc/reqlog.h"
#include "nsp_user.h"
#include "../policy/policy_int.h"

#define NSP_LOG_PER_SEC 100	/* refusal log lines per worker per second */

struct us_ctr {
	uint64_t hits, drops, rate_limited, allowed;
};

/* What outlives a re-apply of an unchanged policy. */
struct us_state {
	atomic_int refcnt;
	unsigned nrules;
	size_t stride;			/* bytes per worker row of counters */
	unsigned char *ctr;		/* [slots][stride] */
	struct hp_ratelimiter **rl;	/* [nrules], NULL but for RATE_LIMIT */
};

struct us_rule {
	const struct xadc_nsp_rule *r;	/* in the owning xadc_nsp_cfg */
	struct xadc_ipset *ips;		/* NULL: no client_ip condition */
	char *log_frag;			/* ',"network_security_policy_rule_name":"..."' */
};

struct xadc_nsp_us {
	const struct xadc_nsp_cfg *cfg;
	unsigned nrules;
	struct us_rule *rules;
	struct us_state *st;
};

/* Per-VS counters: one row per worker. */
struct us_vs_row {
	struct us_ctr c;
} __cacheline_aligned;

static unsigned us_slots(void)
{
	return xadc_nworkers ? xadc_nworkers : 1;
}

static struct us_ctr *us_row(const struct us_state *st, unsigned worker)
{
	return (struct us_ctr *)(st->ctr + (size_t)worker * st->stride);
}

static void state_put(struct us_state *st)
{
	unsigned i;

	if (!st || atomic_fetch_sub(&st->refcnt, 1) != 1)
		return;
	for (i = 0; st->rl && i < st->nrules; i++)
		hp_rl_free(st->rl[i]);
	free(st->rl);
	free(st->ctr);
	free(st);
}

static struct us_state *state_new(const struct xadc_nsp_policy *pol)
{
	struct us_state *st = calloc(1, sizeof(*st));
	unsigned i;

	if (!st)
		return NULL;
	atomic_init(&st->refcnt, 1);
	st->nrules = pol->nrules;
	st->stride = (pol->nrules * sizeof(struct us_ctr) + XADC_CACHELINE - 1) &
		     ~(size_t)(XADC_CACHELINE - 1);
	if (!st->stride)
		st->stride = XADC_CACHELINE;
	st->ctr = aligned_alloc(XADC_CACHELINE, st->stride * us_slots());
	st->rl = calloc(pol->nrules + 1, sizeof(*st->rl));
	if (!st->ctr || !st->rl)
		goto fail;
	memset(st->ctr, 0, st->stride * us_slots());
	for (i = 0; i < pol->nrules; i++) {
		const struct xadc_nsp_rule *r = &pol->rules[i];

		if (r->action != XADC_NSP_RATE_LIMIT)
			continue;
		st->rl[i] = hp_rl_new(r->max_rate, 1, r->burst_size, true, false);
		if (!st->rl[i])
			goto fail;
	}
	return st;
fail:
	state_put(st);
	return NULL;
}

/* Socket address of family fam (4/6) from network-order bytes. */
static void to_sockaddr(uint8_t fam, const uint8_t *b, union xadc_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (fam == 6) {
		a->in6.sin6_family = AF_INET6;
		memcpy(&a->in6.sin6_addr, b, 16);
	} else {
		a->in.sin_family = AF_INET;
		memcpy(&a->in.sin_addr, b, 4);
	}
}

/* The rule's client_ip entries as one frozen set. */
static int rule_ipset(const struct xadc_nsp_rule *r, struct xadc_ipset **out)
{
	union xadc_sockaddr a, b;
	struct xadc_ipset *s;
	unsigned i;
	int ret = 0;

	*out = NULL;
	if (!r->has_client_ip)
		return 0;
	s = xadc_ipset_new();
	if (!s)
		return -ENOMEM;
	for (i = 0; !ret && i < r->nprefixes; i++) {
		to_sockaddr(r->prefixes[i].family, r->prefixes[i].addr, &a);
		ret = xadc_ipset_add_prefix(s, &a, r->prefixes[i].len);
	}
	for (i = 0; !ret && i < r->nranges; i++) {
		to_sockaddr(r->ranges[i].family, r->ranges[i].lo, &a);
		to_sockaddr(r->ranges[i].family, r->ranges[i].hi, &b);
		ret = xadc_ipset_add_range(s, &a, &b);
	}
	if (!ret)
		ret = xadc_ipset_build(s);
	if (ret) {
		xadc_ipset_free(s);
		return ret < 0 ? ret : -EINVAL;
	}
	*out = s;
	return 0;
}

/* The request-log fragment naming the rule, JSON-escaped by jansson. */
static char *rule_log_frag(const char *name)
{
	json_t *v = json_string(name);
	char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL, *out = NULL;

	if (q && asprintf(&out, ",\"network_security_policy_rule_name\":%s", q) < 0)
		out = NULL;
	free(q);
	json_decref(v);
	return out;
}

void xadc_nsp_us_free(struct xadc_nsp_us *u)
{
	unsigned i;

	if (!u)
		return;
	for (i = 0; u->rules && i < u->nrules; i++) {
		xadc_ipset_free(u->rules[i].ips);
		free(u->rules[i].log_frag);
	}
	free(u->rules);
	state_put(u->st);
	free(u);
}

int xadc_nsp_us_build(struct xadc_nsp_cfg *n, const struct xadc_nsp_cfg *prev)
{
	const struct xadc_nsp_policy *pol = &n->pol;
	struct xadc_nsp_us *u = calloc(1, sizeof(*u));
	const struct xadc_nsp_us *pu = prev ? prev->us : NULL;
	unsigned i;
	int ret = -ENOMEM;

	if (!u)
		return -ENOMEM;
	u->cfg = n;
	u->rules = calloc(pol->nrules + 1, sizeof(*u->rules));
	if (!u->rules)
		goto fail;
	u->nrules = pol->nrules;
	for (i = 0; i < pol->nrules; i++) {
		u->rules[i].r = &pol->rules[i];
		ret = rule_ipset(&pol->rules[i], &u->rules[i].ips);
		if (ret)
			goto fail;
		u->rules[i].log_frag = rule_log_frag(n->rule_names[i]);
	}
	/* Unchanged policy: keep its buckets and counters (an apply must not
	 * hand a flooding client a fresh burst). */
	if (pu && prev->fingerprint == n->fingerprint && pu->nrules == u->nrules) {
		u->st = pu->st;
		atomic_fetch_add(&u->st->refcnt, 1);
	} else {
		u->st = state_new(pol);
		ret = -ENOMEM;
		if (!u->st)
			goto fail;
	}
	n->us = u;
	return 0;
fail:
	xadc_nsp_us_free(u);
	return ret;
}

void *xadc_nsp_us_vs_ctr_new(void)
{
	size_t sz = sizeof(struct us_vs_row) * us_slots();
	void *p = aligned_alloc(XADC_CACHELINE, sz);

	if (p)
		memset(p, 0, sz);
	return p;
}

void xadc_nsp_us_vs_ctr_free(void *ctr)
{
	free(ctr);
}

/* Is port in condition c (present)? Up to XADC_NSP_PORTS_MAX ranges. */
static bool port_ok(const struct xadc_nsp_ports *c, uint16_t port)
{
	bool in = false;
	unsigned i;

	if (!c->present)
		return true;
	for (i = 0; i < c->n; i++)
		in |= port >= c->r[i].lo && port <= c->r[i].hi;
	return c->op == XADC_NSP_IS_IN ? in : !in;
}

static bool rule_match(const struct us_rule *ur, const union xadc_sockaddr *client,
		       uint16_t cport, uint16_t vport)
{
	const struct xadc_nsp_rule *r = ur->r;

	if (r->has_client_ip) {
		/* The XDP semantics: another family is never "in". The
		 * listeners are IPV6_V6ONLY, so no v4-mapped peer gets here. */
		bool in = xadc_ipset_contains(ur->ips, client);

		if (r->ip_op == XADC_NSP_IS_IN ? !in : in)
			return false;
	}
	return port_ok(&r->client_port, cport) && port_ok(&r->vs_port, vport);
}

static uint16_t sa_port(const union xadc_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

int xadc_nsp_us_match(const struct xadc_nsp_us *u, const union xadc_sockaddr *client,
		      uint16_t vs_port)
{
	unsigned i;

	for (i = 0; u && i < u->nrules; i++)
		if (rule_match(&u->rules[i], client, sa_port(client), vs_port))
			return (int)i;
	return -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One request-log line per refused connection, at most NSP_LOG_PER_SEC
 * per worker and second (a flood must not flood the log). */
static void log_refusal(const struct xadc_vs *vs, const struct us_rule *ur, unsigned worker,
			const union xadc_sockaddr *peer, const union xadc_sockaddr *vip,
			bool rate_limited)
{
	static _Thread_local uint64_t sec;
	static _Thread_local unsigned n;
	struct xadc_reqlog_rec rec = {0};
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((uint64_t)ts.tv_sec != sec) {
		sec = ts.tv_sec;
		n = 0;
	}
	if (n++ >= NSP_LOG_PER_SEC)
		return;
	rec.start_us = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	rec.client = peer;
	rec.vip = vip;
	rec.vs = vs->name;
	rec.termination = rate_limited ? "network_security_policy_rate_limit"
					: "network_security_policy_deny";
	rec.extra_json = ur->log_frag;
	xadc_reqlog_emit(worker, &rec);
}

bool xadc_nsp_us_refuse(struct xadc_snapshot *snap, unsigned vs_idx, unsigned worker,
			const union xadc_sockaddr *peer, const union xadc_sockaddr *vip)
{
	const struct xadc_vs *vs = &snap->vs[vs_idx];
	const struct xadc_nsp_cfg *n = vs->nsp;
	struct xadc_xdp_cfg *x = snap->xdp;
	struct us_ctr *vc = NULL, *rc;
	const struct us_rule *ur;
	struct xadc_nsp_us *u;
	struct xadc_hp_req rq;
	bool refuse = false, rl = false;
	int pos;

	if (!n || !(u = n->us) || worker >= us_slots())
		return false;
	if (x && vs_idx < x->nvs && x->vs[vs_idx].us_ctr)
		vc = &((struct us_vs_row *)x->vs[vs_idx].us_ctr)[worker].c;
	if (vc)
		vc->hits++;
	pos = xadc_nsp_us_match(u, peer, sa_port(vip));
	if (pos < 0) {
		if (vc)
			vc->allowed++;
		return false;
	}
	ur = &u->rules[pos];
	rc = &us_row(u->st, worker)[pos];
	rc->hits++;
	switch (ur->r->action) {
	case XADC_NSP_DENY:
		refuse = true;
		break;
	case XADC_NSP_RATE_LIMIT:
		memset(&rq, 0, sizeof(rq));
		rq.client = peer;
		rq.worker = worker;
		refuse = rl = !hp_rl_take(u->st->rl[pos], &rq, mono_ns());
		break;
	case XADC_NSP_ALLOW:
	default:
		break;
	}
	if (!refuse) {
		rc->allowed++;
		if (vc)
			vc->allowed++;
		return false;
	}
	rc->drops++;
	rc->rate_limited += rl;
	if (vc) {
		vc->drops++;
		vc->rate_limited += rl;
	}
	log_refusal(vs, ur, worker, peer, vip, rl);
	return true;
}

/* Sum a counter over worker slots (relaxed reads of plain words: a sum
 * may lag, never tear on 64-bit targets). */
static void add_ctr(struct xadc_nsp_us_stats *o, const struct us_ctr *c)
{
	o->hits += __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	o->drops += __atomic_load_n(&c->drops, __ATOMIC_RELAXED);
	o->rate_limited += __atomic_load_n(&c->rate_limited, __ATOMIC_RELAXED);
	o->allowed += __atomic_load_n(&c->allowed, __ATOMIC_RELAXED);
}

void xadc_nsp_us_rule_stats(const struct xadc_nsp_us *u, unsigned pos,
			    struct xadc_nsp_us_stats *out)
{
	unsigned w;

	memset(out, 0, sizeof(*out));
	if (!u || pos >= u->nrules)
		return;
	for (w = 0; w < us_slots(); w++)
		add_ctr(out, &us_row(u->st, w)[pos]);
}

void xadc_nsp_us_vs_stats(const void *ctr, struct xadc_nsp_us_stats *out)
{
	const struct us_vs_row *rows = ctr;
	unsigned w;

	memset(out, 0, sizeof(*out));
	for (w = 0; rows && w < us_slots(); w++)
		add_ctr(out, &rows[w].c);
}

static json_t *stats_obj(json_t *o, const struct xadc_nsp_us_stats *st)
{
	json_object_set_new(o, "enforced_by", json_string("userspace"));
	json_object_set_new(o, "hits", json_integer(st->hits));
	json_object_set_new(o, "drops", json_integer(st->drops));
	json_object_set_new(o, "rate_limited", json_integer(st->rate_limited));
	json_object_set_new(o, "allowed", json_integer(st->allowed));
	return o;
}

json_t *xadc_nsp_us_vs_json(struct xadc_snapshot *snap, unsigned v)
{
	const struct xadc_nsp_cfg *n = snap->vs[v].nsp;
	struct xadc_xdp_cfg *x = snap->xdp;
	struct xadc_nsp_us_stats st;
	json_t *o, *rules;
	unsigned i;

	if (!n)
		return NULL;
	xadc_nsp_us_vs_stats(x && v < x->nvs ? x->vs[v].us_ctr : NULL, &st);
	o = stats_obj(json_pack("{ss}", "name", snap->vs[v].name), &st);
	/* connections evaluated, under the name the XDP rows use for packets */
	json_object_set_new(o, "connections", json_integer(st.hits));
	rules = json_array();
	for (i = 0; i < n->pol.nrules; i++) {
		xadc_nsp_us_rule_stats(n->us, i, &st);
		json_array_append_new(rules,
				      stats_obj(json_pack("{ss sI}", "name", n->rule_names[i],
							  "index", (json_int_t)n->pol.rules[i].rule_id),
						&st));
	}
	json_object_set_new(o, "network_security_policy",
			    json_pack("{ss so}", "name", n->name, "rules", rules));
	return o;
}
