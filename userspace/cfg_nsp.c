// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_nsp.c - compile Avi networksecuritypolicy objects and xadc's
 * serviceengine objects (the SEs a scaled-out virtual service spreads its
 * flows over) into the snapshot's struct xadc_xdp_cfg, which
 * xdp_daemon.c writes to the XDP maps.
 *
 * Everything the BPF side would refuse is refused here, with a field path,
 * so that a configuration that compiles can be installed: a rejected
 * change never reaches the maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"
#include "nsp_user.h"
#include "xadc/snapshot.h"
#include "xadc/xdp.h"

#define RATE_MAX 100000000	/* connections per second, a sanity ceiling */

static const struct cfg_enum nsp_actions[] = {
    {"NETWORK_SECURITY_POLICY_ACTION_TYPE_ALLOW", XADC_NSP_ALLOW, true},
    {"NETWORK_SECURITY_POLICY_ACTION_TYPE_DENY", XADC_NSP_DENY, true},
    {"NETWORK_SECURITY_POLICY_ACTION_TYPE_RATE_LIMIT", XADC_NSP_RATE_LIMIT, true},
    {NULL, 0, false},
};

static const struct cfg_enum nsp_crits[] = {
    {"IS_IN", XADC_NSP_IS_IN, true},
    {"IS_NOT_IN", XADC_NSP_IS_NOT_IN, true},
    {NULL, 0, false},
};

/* Growable prefix and range lists of one rule's client_ip. */
struct ipacc {
	struct xadc_nsp_prefix *p;
	unsigned np, ap;
	struct xadc_nsp_range *r;
	unsigned nr, ar;
};

static int fail_field(struct cfg_ctx *c, const char *field, const char *reason)
{
	size_t mark = cfg_push(c, ".%s", field);

	cfg_fail(c, "%s", reason);
	cfg_pop(c, mark);
	return -EINVAL;
}

/* An optional array field: absent/null gives NULL, a non-array fails. */
static int get_obj(struct cfg_ctx *c, json_t *obj, const char *field, json_t **out)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail_field(c, field, "expected an object");
	*out = v;
	return 0;
}

/* Address bytes and family (4/6) of a parsed socket address. */
static void sa_bytes(const union xadc_sockaddr *a, uint8_t *fam, uint8_t *out)
{
	memset(out, 0, 16);
	if (a->sa.sa_family == AF_INET6) {
		*fam = 6;
		memcpy(out, &a->in6.sin6_addr, 16);
	} else {
		*fam = 4;
		memcpy(out, &a->in.sin_addr, 4);
	}
}

static int acc_prefix(struct cfg_ctx *c, struct ipacc *acc, const union xadc_sockaddr *a,
		      unsigned len)
{
	struct xadc_nsp_prefix *p;

	if (acc->np == acc->ap) {
		unsigned n = acc->ap ? acc->ap * 2 : 8;

		p = realloc(acc->p, n * sizeof(*p));
		if (!p)
			return cfg_fail(c, "out of memory");
		acc->p = p;
		acc->ap = n;
	}
	p = &acc->p[acc->np++];
	memset(p, 0, sizeof(*p));
	sa_bytes(a, &p->family, p->addr);
	p->len = len;
	return 0;
}

static int acc_range(struct cfg_ctx *c, struct ipacc *acc, const union xadc_sockaddr *lo,
		     const union xadc_sockaddr *hi)
{
	struct xadc_nsp_range *r;

	if (acc->nr == acc->ar) {
		unsigned n = acc->ar ? acc->ar * 2 : 8;

		r = realloc(acc->r, n * sizeof(*r));
		if (!r)
			return cfg_fail(c, "out of memory");
		acc->r = r;
		acc->ar = n;
	}
	r = &acc->r[acc->nr++];
	memset(r, 0, sizeof(*r));
	sa_bytes(lo, &r->family, r->lo);
	sa_bytes(hi, &r->family, r->hi);
	if (memcmp(r->lo, r->hi, 16) > 0) {
		acc->nr--;
		return cfg_fail(c, "end is below begin");
	}
	return 0;
}

static int acc_prefix_cb(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *a,
			 unsigned bits)
{
	return acc_prefix(c, arg, a, bits);
}

static int acc_range_cb(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *lo,
			const union xadc_sockaddr *hi)
{
	return acc_range(c, arg, lo, hi);
}

/* addrs[], prefixes[] and ranges[] of an IpAddrMatch or an ipaddrgroup
 * into acc; *count is increased by the number of entries. */
static int ip_entries(struct cfg_ctx *c, json_t *obj, struct ipacc *acc, size_t *count)
{
	const struct cfg_ip_sink sink = { acc_prefix_cb, acc_range_cb, acc };

	return cfg_ip_entries(c, obj, &sink, count);
}

/* match.client_ip: own entries plus every referenced ipaddrgroup's
 * entries (the group was checked by cfg_policy.c already). */
static int client_ip_compile(struct cfg_ctx *c, const struct cfg_index *ix, json_t *m,
			     struct xadc_nsp_rule *r)
{
	struct ipacc acc = {0};
	json_t *arr, *v, *grp;
	size_t i, n = 0, mark;
	int op, idx, ret;

	ret = cfg_get_enum(c, m, "match_criteria", nsp_crits, -1, &op);
	if (!ret && op < 0)
		ret = fail_field(c, "match_criteria", "required (IS_IN or IS_NOT_IN)");
	if (!ret)
		ret = ip_entries(c, m, &acc, &n);
	if (!ret)
		ret = cfg_get_arr(c, m, "group_refs", &arr);
	json_array_foreach(ret ? NULL : arr, i, v) {
		mark = cfg_push(c, ".group_refs[%zu]", i);
		idx = cfg_ref_resolve(c, ix, v, CFG_IPG);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref to an ipaddrgroup");
		if (idx >= 0) {
			grp = json_array_get(ix->objs[CFG_IPG], idx);
			ret = ip_entries(c, grp, &acc, &n);
			n++; /* an empty group still counts as given */
		} else {
			ret = idx;
		}
		cfg_pop(c, mark);
		if (ret)
			break;
	}
	if (!ret && !n)
		ret = fail_field(c, "addrs", "required: addrs, prefixes, ranges or group_refs");
	r->has_client_ip = true;
	r->ip_op = op < 0 ? XADC_NSP_IS_IN : op;
	r->prefixes = acc.p;
	r->nprefixes = acc.np;
	r->ranges = acc.r;
	r->nranges = acc.nr;
	return ret;
}

/* A port condition: Avi's PortMatch {match_criteria, ports[]} and
 * PortMatchGeneric {.., ranges[{start, end}]}. */
static int ports_compile(struct cfg_ctx *c, json_t *m, bool allow_ranges, struct xadc_nsp_ports *p)
{
	json_t *arr, *v;
	long long lo, hi;
	size_t i, mark;
	int op, ret;

	ret = cfg_get_enum(c, m, "match_criteria", nsp_crits, -1, &op);
	if (ret)
		return ret;
	if (op < 0)
		return fail_field(c, "match_criteria", "required (IS_IN or IS_NOT_IN)");
	p->present = true;
	p->op = op;
	if ((ret = cfg_get_arr(c, m, "ports", &arr)))
		return ret;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".ports[%zu]", i);
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			ret = cfg_fail(c, "expected a port number 1..65535");
		else if (p->n == XADC_NSP_PORTS_MAX)
			ret = cfg_fail(c, "at most %d ports and ranges per condition",
				       XADC_NSP_PORTS_MAX);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		p->r[p->n].lo = p->r[p->n].hi = json_integer_value(v);
		p->n++;
	}
	if ((ret = cfg_get_arr(c, m, "ranges", &arr)))
		return ret;
	if (arr && !allow_ranges)
		return fail_field(c, "ranges", "not accepted here (vs_port takes ports[])");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".ranges[%zu]", i);
		if (!json_is_object(v))
			ret = cfg_fail(c, "expected {\"start\": N, \"end\": M}");
		if (!ret)
			ret = cfg_get_int(c, v, "start", -1, 1, 65535, &lo);
		if (!ret && lo < 0)
			ret = fail_field(c, "start", "required");
		if (!ret)
			ret = cfg_get_int(c, v, "end", lo, lo, 65535, &hi);
		if (!ret && p->n == XADC_NSP_PORTS_MAX)
			ret = cfg_fail(c, "at most %d ports and ranges per condition",
				       XADC_NSP_PORTS_MAX);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		p->r[p->n].lo = lo;
		p->r[p->n].hi = hi;
		p->n++;
	}
	if (!p->n)
		return fail_field(c, "ports", "required: at least one port");
	return 0;
}

static int match_compile(struct cfg_ctx *c, const struct cfg_index *ix, json_t *rule,
			 struct xadc_nsp_rule *r)
{
	json_t *m, *sub;
	size_t mark;
	int ret;

	if ((ret = get_obj(c, rule, "match", &m)) || !m)
		return ret;
	mark = cfg_push(c, ".match");
	ret = get_obj(c, m, "client_ip", &sub);
	if (!ret && sub) {
		size_t m2 = cfg_push(c, ".client_ip");

		ret = client_ip_compile(c, ix, sub, r);
		cfg_pop(c, m2);
	}
	if (!ret)
		ret = get_obj(c, m, "client_port", &sub);
	if (!ret && sub) {
		size_t m2 = cfg_push(c, ".client_port");

		ret = ports_compile(c, sub, true, &r->client_port);
		cfg_pop(c, m2);
	}
	if (!ret)
		ret = get_obj(c, m, "vs_port", &sub);
	if (!ret && sub) {
		size_t m2 = cfg_push(c, ".vs_port");

		ret = ports_compile(c, sub, true, &r->vs_port);
		cfg_pop(c, m2);
	}
	cfg_pop(c, mark);
	return ret;
}

static int rule_compile(struct cfg_ctx *c, const struct cfg_index *ix, json_t *rule,
			struct xadc_nsp_rule *r, char *name)
{
	long long rate, burst;
	const char *nm;
	json_t *rl;
	int act, ret;
	bool log;

	if ((ret = cfg_get_str(c, rule, "name", NULL, XADC_NAME_MAX, &nm)) ||
	    (ret = cfg_get_bool(c, rule, "log", false, &log)) ||
	    (ret = cfg_get_enum(c, rule, "action", nsp_actions, -1, &act)))
		return ret;
	if (act < 0)
		return fail_field(c, "action", "required (NETWORK_SECURITY_POLICY_ACTION_TYPE_"
					       "ALLOW, _DENY or _RATE_LIMIT)");
	snprintf(name, XADC_NAME_MAX, "%s", nm && *nm ? nm : "");
	if (!name[0])
		snprintf(name, XADC_NAME_MAX, "rule-%u", r->rule_id);
	r->action = act;
	if ((ret = get_obj(c, rule, "rl_param", &rl)))
		return ret;
	if (act == XADC_NSP_RATE_LIMIT) {
		size_t mark = cfg_push(c, ".rl_param");

		if (!rl)
			ret = cfg_fail(c, "required with NETWORK_SECURITY_POLICY_ACTION_TYPE_"
					  "RATE_LIMIT ({\"max_rate\": N, \"burst_size\": M})");
		if (!ret)
			ret = cfg_get_int(c, rl, "max_rate", -1, 1, RATE_MAX, &rate);
		if (!ret && rate < 0)
			ret = fail_field(c, "max_rate", "required (new connections per second)");
		if (!ret)
			ret = cfg_get_int(c, rl, "burst_size", rate, 1, RATE_MAX, &burst);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		r->max_rate = rate;
		r->burst_size = burst;
	}
	return match_compile(c, ix, rule, r);
}

struct rule_ent {
	long long index;
	size_t pos;
};

static int rule_ent_cmp(const void *a, const void *b)
{
	const struct rule_ent *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* FNV-1a over the policy as the maps would see it. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ULL;
	return h;
}

static uint64_t nsp_fingerprint(const struct xadc_nsp_policy *pol)
{
	uint64_t h = fnv(14695981039346656037ULL, &pol->nrules, sizeof(pol->nrules));
	unsigned i;

	for (i = 0; i < pol->nrules; i++) {
		const struct xadc_nsp_rule *r = &pol->rules[i];
		uint32_t f[7] = {r->rule_id, r->action, r->max_rate, r->burst_size,
				 r->has_client_ip, r->ip_op, r->nprefixes};

		h = fnv(h, f, sizeof(f));
		h = fnv(h, r->prefixes, r->nprefixes * sizeof(*r->prefixes));
		h = fnv(h, &r->nranges, sizeof(r->nranges));
		h = fnv(h, r->ranges, r->nranges * sizeof(*r->ranges));
		h = fnv(h, &r->client_port, sizeof(r->client_port));
		h = fnv(h, &r->vs_port, sizeof(r->vs_port));
	}
	return h;
}

/* One networksecuritypolicy: rules[] sorted by index, disabled ones out. */
static int nsp_compile(struct cfg_ctx *c, const struct cfg_index *ix, json_t *obj,
		       struct xadc_nsp_cfg *n)
{
	struct xadc_nsp_rule *rules = NULL;
	struct rule_ent *ent = NULL;
	json_t *arr, *rule, *seen = NULL;
	size_t i, k, cnt = 0, mark;
	long long index;
	bool enable;
	int ret;

	snprintf(n->name, sizeof(n->name), "%s", json_string_value(json_object_get(obj, "name")));
	snprintf(n->uuid, sizeof(n->uuid), "%s",
		 json_string_value(json_object_get(obj, "uuid")) ?: "");
	if ((ret = cfg_get_arr(c, obj, "rules", &arr)))
		return ret;
	ent = calloc(json_array_size(arr) + 1, sizeof(*ent));
	seen = json_object();
	if (!ent || !seen) {
		ret = cfg_fail(c, "out of memory");
		goto out;
	}
	json_array_foreach(arr, i, rule) {
		char key[32];

		mark = cfg_push(c, ".rules[%zu]", i);
		ret = json_is_object(rule) ? 0 : cfg_fail(c, "expected an object");
		if (!ret)
			ret = cfg_get_bool(c, rule, "enable", true, &enable);
		if (!ret)
			ret = cfg_get_int(c, rule, "index", (long long)i, 0, UINT32_MAX - 1, &index);
		snprintf(key, sizeof(key), "%lld", index);
		if (!ret && json_object_get(seen, key))
			ret = fail_field(c, "index", "another rule has this index");
		cfg_pop(c, mark);
		if (ret)
			goto out;
		json_object_set_new(seen, key, json_true());
		if (!enable)
			continue;
		if (cnt == XADC_NSP_RULES_MAX) {
			ret = fail_field(c, "rules",
					 "too many enabled rules: the XDP data plane takes at "
					 "most 64 per policy");
			goto out;
		}
		ent[cnt].index = index;
		ent[cnt++].pos = i;
	}
	qsort(ent, cnt, sizeof(*ent), rule_ent_cmp);
	rules = calloc(cnt + 1, sizeof(*rules));
	n->rule_names = calloc(cnt + 1, sizeof(*n->rule_names));
	if (!rules || !n->rule_names) {
		ret = cfg_fail(c, "out of memory");
		goto out;
	}
	n->pol.rules = rules;
	for (k = 0; k < cnt; k++) {
		mark = cfg_push(c, ".rules[%zu]", ent[k].pos);
		rules[k].rule_id = ent[k].index;
		n->pol.nrules = k + 1; /* so a failure frees this rule's lists */
		ret = rule_compile(c, ix, json_array_get(arr, ent[k].pos), &rules[k],
				   n->rule_names[k]);
		cfg_pop(c, mark);
		if (ret)
			goto out;
	}
	n->fingerprint = nsp_fingerprint(&n->pol);
out:
	free(ent);
	json_decref(seen);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* serviceengine (xadc extension)                                          */

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];
	char end;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = v[i];
	return 0;
}

static int se_compile(struct cfg_ctx *c, json_t *obj, struct xadc_se_cfg *se)
{
	const char *mac = NULL, *ifn = NULL;
	long long weight;
	unsigned idx;
	int ret;

	snprintf(se->name, sizeof(se->name), "%s", json_string_value(json_object_get(obj, "name")));
	if ((ret = cfg_get_str(c, obj, "mac", NULL, 32, &mac)) ||
	    (ret = cfg_get_str(c, obj, "interface", NULL, IF_NAMESIZE, &ifn)) ||
	    (ret = cfg_get_int(c, obj, "weight", 1, 0, 1000000, &weight)) ||
	    (ret = cfg_get_bool(c, obj, "self", false, &se->se.self)))
		return ret;
	if (!mac && !se->se.self)
		return fail_field(c, "mac", "required (the SE's MAC, \"02:00:00:00:00:01\")");
	if (mac && parse_mac(mac, se->se.mac))
		return fail_field(c, "mac", "expected six hex bytes \"aa:bb:cc:dd:ee:ff\"");
	se->se.weight = weight;
	if (ifn && *ifn) {
		idx = if_nametoindex(ifn);
		if (!idx)
			return fail_field(c, "interface", "no such network interface here");
		snprintf(se->ifname, sizeof(se->ifname), "%s", ifn);
		se->se.ifindex = idx;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

void xadc_xdp_cfg_free(void *p)
{
	struct xadc_xdp_cfg *x = p;
	unsigned i, k;

	if (!x)
		return;
	for (i = 0; x->nsps && i < x->nnsps; i++) {
		for (k = 0; x->nsps[i].pol.rules && k < x->nsps[i].pol.nrules; k++) {
			free((void *)x->nsps[i].pol.rules[k].prefixes);
			free((void *)x->nsps[i].pol.rules[k].ranges);
		}
		free((void *)x->nsps[i].pol.rules);
		free(x->nsps[i].rule_names);
		xadc_nsp_us_free(x->nsps[i].us);
	}
	for (i = 0; x->vs && i < x->nvs; i++)
		xadc_nsp_us_vs_ctr_free(x->vs[i].us_ctr);
	free(x->nsps);
	free(x->ses);
	free(x->vs);
	free(x);
}

/* The current snapshot's compiled policy named name, or NULL. */
static const struct xadc_nsp_cfg *prev_nsp(const struct xadc_snapshot *cur, const char *name)
{
	const struct xadc_xdp_cfg *px = cur ? cur->xdp : NULL;
	unsigned i;

	for (i = 0; px && i < px->nnsps; i++)
		if (!strcmp(px->nsps[i].name, name))
			return &px->nsps[i];
	return NULL;
}

/* The userspace enforcement form of every policy (used whenever no XDP
 * program is attached, which can change at run time: always built). */
static int nsp_us_build_all(struct cfg_ctx *c, struct xadc_xdp_cfg *x)
{
	struct xadc_snapshot *cur = xadc_snapshot_current();
	unsigned i;
	int ret = 0;

	for (i = 0; !ret && i < x->nnsps; i++) {
		ret = xadc_nsp_us_build(&x->nsps[i], prev_nsp(cur, x->nsps[i].name));
		if (ret)
			cfg_fail(c, "networksecuritypolicy[%s]: cannot compile for userspace "
				    "enforcement: %s", x->nsps[i].name, strerror(-ret));
	}
	if (cur)
		xadc_snapshot_put(cur);
	return ret ? -EINVAL : 0;
}

int cfg_nsp_compile(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s)
{
	struct xadc_xdp_cfg *x;
	char label[XADC_NAME_MAX + 64];
	size_t i, mark;
	json_t *obj;
	int ret = 0;

	x = s->xdp = calloc(1, sizeof(*x));
	if (!x)
		return cfg_fail(c, "out of memory");
	x->nsps = calloc(json_array_size(ix->objs[CFG_NSP]) + 1, sizeof(*x->nsps));
	x->ses = calloc(json_array_size(ix->objs[CFG_SE]) + 1, sizeof(*x->ses));
	x->vs = calloc(json_array_size(ix->objs[CFG_VS]) + 1, sizeof(*x->vs));
	if (!x->nsps || !x->ses || !x->vs)
		return cfg_fail(c, "out of memory");
	x->nvs = json_array_size(ix->objs[CFG_VS]);
	json_array_foreach(ix->objs[CFG_NSP], i, obj) {
		cfg_obj_label(CFG_NSP, obj, i - ix->nbuiltin[CFG_NSP], label, sizeof(label));
		mark = cfg_push(c, "%s", label);
		x->nnsps = i + 1;
		ret = nsp_compile(c, ix, obj, &x->nsps[i]);
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	json_array_foreach(ix->objs[CFG_SE], i, obj) {
		cfg_obj_label(CFG_SE, obj, i - ix->nbuiltin[CFG_SE], label, sizeof(label));
		mark = cfg_push(c, "%s", label);
		x->nses = i + 1;
		ret = se_compile(c, obj, &x->ses[i]);
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	return nsp_us_build_all(c, x);
}

/* scaleout_se_refs of one VS. */
static int vs_ses(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_xdp_cfg *x,
		  json_t *obj, struct xadc_vs_xdp *vx)
{
	unsigned k, nself = 0, weight = 0;
	json_t *arr, *v;
	size_t i, mark;
	int idx, ret;

	if ((ret = cfg_get_arr(c, obj, "scaleout_se_refs", &arr)) || !arr || !json_array_size(arr))
		return ret;
	if (json_array_size(arr) > XADC_STEER_SES_MAX)
		return fail_field(c, "scaleout_se_refs", "at most 32 service engines");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".scaleout_se_refs[%zu]", i);
		idx = cfg_ref_resolve(c, ix, v, CFG_SE);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref to a serviceengine");
		for (k = 0; idx >= 0 && k < vx->nses; k++)
			if (vx->ses[k] == (unsigned)idx)
				idx = cfg_fail(c, "serviceengine %s listed twice", x->ses[idx].name);
		cfg_pop(c, mark);
		if (idx < 0)
			return idx;
		vx->ses[vx->nses++] = idx;
		nself += x->ses[idx].se.self;
		weight += x->ses[idx].se.weight;
	}
	if (nself > 1)
		return fail_field(c, "scaleout_se_refs", "more than one serviceengine has self");
	if (!weight)
		return fail_field(c, "scaleout_se_refs",
				  "every serviceengine has weight 0: no SE could take a new flow");
	return 0;
}

int cfg_nsp_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
	       json_t *obj, unsigned vs_idx)
{
	struct xadc_xdp_cfg *x = s->xdp;
	struct xadc_vs_xdp *vx = &x->vs[vs_idx];
	bool enforced = xadc_xdpd_enforcing();
	size_t mark;
	int idx, ret;

	mark = cfg_push(c, ".network_security_policy_ref");
	idx = cfg_ref_resolve(c, ix, json_object_get(obj, "network_security_policy_ref"), CFG_NSP);
	if (idx >= 0) {
		vx->nsp = &x->nsps[idx];
		s->vs[vs_idx].nsp = vx->nsp;
		vx->us_ctr = xadc_nsp_us_vs_ctr_new();
		if (!vx->us_ctr)
			idx = cfg_fail(c, "out of memory");
		/* Said out loud where the policy is enforced: without an XDP
		 * program the proxy checks every accepted connection. */
		else if (!enforced)
			pr_info("cfg", "%s: network security policy %s enforced in userspace "
				       "(at accept; no --interface, so no XDP data plane)",
				s->vs[vs_idx].name, vx->nsp->name);
	}
	cfg_pop(c, mark);
	if (idx < -1)
		return idx;
	ret = vs_ses(c, ix, x, obj, vx);
	if (!ret && vx->nses && !enforced) {
		mark = cfg_push(c, ".scaleout_se_refs");
		cfg_warn(c, "not steered: xadcd runs without --interface (no XDP data plane)");
		cfg_pop(c, mark);
	}
	return ret;
}
