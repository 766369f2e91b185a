// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_datascript.c - vsdatascriptset objects (Avi VSDataScriptSet) and a
 * virtual service's vs_datascripts[] (issue 5).
 *
 *   {"name": "ds1",
 *    "datascript": [{"evt": "VS_DATASCRIPT_EVT_HTTP_REQ", "script": "..."}],
 *    "pool_refs": [...], "string_group_refs": [...], "ipgroup_refs": [...],
 *    "rate_limiters": [{"name", "count", "period", "burst_sz",
 *                       "action": {"type": "RL_ACTION_LOCAL_RSP",
 *                                  "status_code": 429}}],
 *    "datascript_timeout": 10000000, "fail_open": false,
 *    "req_body_buffer_size": 65536, "resp_body_buffer_size": 65536}
 *
 * datascript_timeout (Avi keeps it per SE group: instructions per script
 * run), the rate limiter's action, fail_open and req_body_buffer_size (bytes
 * of request body held for HTTP_REQ_DATA, 1 .. 1 MiB) and resp_body_buffer_size
 * (the same for the response body and HTTP_RESP_DATA) are xadc extensions.
 *
 * cfg_ds_check() validates every set once (syntax errors reported at the
 * set's own path, e.g. 'vsdatascriptset[ds1].datascript[0].script:
 * [string "ds1:HTTP_REQ"]:3: ...'); cfg_ds_vs() then compiles the sets a VS
 * uses into vs->datascripts, in vs_datascripts[].index order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../datascript/datascript.h"
#include "../policy/dataset.h"
#include "cfg_internal.h"

static const struct cfg_enum rl_actions[] = {
	{ "RL_ACTION_NONE", XADC_DS_RL_NONE, true },
	{ "RL_ACTION_LOCAL_RSP", XADC_DS_RL_LOCAL_RSP, true },
	{ "RL_ACTION_CLOSE_CONN", XADC_DS_RL_CLOSE_CONN, true },
	{ NULL, 0, false },
};

/* Resolve every ref of obj.field (kind) into idx[] (at most max). */
static int refs(struct cfg_ctx *c, const struct cfg_index *ix, json_t *obj, const char *field,
		int kind, int *idx, unsigned max, unsigned *n)
{
	json_t *arr, *v;
	size_t i, mark;
	int ret;

	*n = 0;
	if ((ret = cfg_get_arr(c, obj, field, &arr)) || !arr)
		return ret;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".%s[%zu]", field, i);
		if (*n == max)
			ret = cfg_fail(c, "at most %u refs", max);
		else
			ret = cfg_ref_resolve(c, ix, v, kind);
		cfg_pop(c, mark);
		if (ret < 0)
			return ret;
		idx[(*n)++] = ret;
	}
	return 0;
}

static int rate_limiters(struct cfg_ctx *c, json_t *obj, struct xadc_ds_ratelimiter *rls,
			 unsigned max, unsigned *n)
{
	json_t *arr, *v, *act;
	size_t i, mark;
	long long count, period, burst, status;
	const char *name;
	int ret = 0, type;

	*n = 0;
	if ((ret = cfg_get_arr(c, obj, "rate_limiters", &arr)) || !arr)
		return ret;
	json_array_foreach(arr, i, v) {
		struct xadc_ds_ratelimiter *rl = &rls[*n];

		mark = cfg_push(c, ".rate_limiters[%zu]", i);
		if (*n == max)
			ret = cfg_fail(c, "at most %u rate limiters", max);
		else if (!json_is_object(v))
			ret = cfg_fail(c, "expected an object");
		if (!ret)
			ret = cfg_get_str(c, v, "name", "default", XADC_NAME_MAX, &name);
		if (!ret)
			ret = cfg_get_int(c, v, "count", 1000000000, 1, 1000000000, &count);
		if (!ret)
			ret = cfg_get_int(c, v, "period", 1, 1, 1000000000, &period);
		if (!ret)
			ret = cfg_get_int(c, v, "burst_sz", 0, 0, 1000000000, &burst);
		act = json_object_get(v, "action");
		type = XADC_DS_RL_NONE;
		status = 429;
		if (!ret && act) {
			size_t m2 = cfg_push(c, ".action");

			ret = cfg_get_enum(c, act, "type", rl_actions, XADC_DS_RL_NONE, &type);
			if (!ret)
				ret = cfg_get_int(c, act, "status_code", 429, 100, 599, &status);
			cfg_pop(c, m2);
		}
		cfg_pop(c, mark);
		if (ret)
			return ret;
		snprintf(rl->name, sizeof(rl->name), "%s", name);
		rl->count = count;
		rl->period_s = period;
		rl->burst_sz = burst;
		rl->action = type;
		rl->status = status;
		(*n)++;
	}
	return 0;
}

#define DS_MAX_REFS	64
#define DS_MAX_SCRIPTS	32
#define DS_MAX_RLS	8

/* Compile set object obj (at the current path); *out NULL when only
 * checking. */
static int set_compile(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
		       json_t *obj, struct xadc_ds_set **out)
{
	struct xadc_ds_script_src src[DS_MAX_SCRIPTS];
	struct xadc_ds_ratelimiter rls[DS_MAX_RLS];
	struct xadc_pool *pools[DS_MAX_REFS];
	const struct xadc_named_set *sgs[DS_MAX_REFS], *ipgs[DS_MAX_REFS];
	struct xadc_ds_set_params p = { .scripts = src, .pools = pools, .strgroups = sgs,
					.ipgroups = ipgs, .rls = rls };
	int idx[DS_MAX_REFS], ret;
	long long timeout, bodybuf, respbuf;
	json_t *arr, *e;
	const char *evt, *script;
	char err[1024];
	size_t i, mark;
	unsigned n, k;

	p.name = json_string_value(json_object_get(obj, "name"));
	if ((ret = cfg_get_arr(c, obj, "datascript", &arr)))
		return ret;
	if (!arr || !json_array_size(arr)) {
		mark = cfg_push(c, ".datascript");
		ret = cfg_fail(c, "required: at least one {\"evt\", \"script\"}");
		cfg_pop(c, mark);
		return ret;
	}
	json_array_foreach(arr, i, e) {
		mark = cfg_push(c, ".datascript[%zu]", i);
		ret = 0;
		if (i == DS_MAX_SCRIPTS)
			ret = cfg_fail(c, "at most %d scripts", DS_MAX_SCRIPTS);
		else if (!json_is_object(e))
			ret = cfg_fail(c, "expected {\"evt\": ..., \"script\": ...}");
		if (!ret)
			ret = cfg_get_str(c, e, "evt", NULL, 64, &evt);
		if (!ret && (!evt || xadc_ds_evt_parse(evt) < 0)) {
			size_t m2 = cfg_push(c, ".evt");

			ret = cfg_fail(c, "%s: expected one of VS_DATASCRIPT_EVT_HTTP_REQ, "
					  "_HTTP_REQ_DATA, _HTTP_RESP, _HTTP_RESP_DATA, _HTTP_LB_FAILED, "
					  "_HTTP_RESP_FAILED, _TCP_CLIENT_ACCEPT",
				       evt ? evt : "required");
			cfg_pop(c, m2);
		}
		if (!ret)
			ret = cfg_get_str(c, e, "script", NULL, XADC_DS_SCRIPT_MAX + 1, &script);
		if (!ret && !script) {
			size_t m2 = cfg_push(c, ".script");

			ret = cfg_fail(c, "required");
			cfg_pop(c, m2);
		}
		if (!ret) {
			src[i].evt = xadc_ds_evt_parse(evt);
			src[i].script = script;
			if (!out && xadc_ds_check_script(p.name ? p.name : "", src[i].evt, script,
							 err, sizeof(err))) {
				size_t m2 = cfg_push(c, ".script");

				ret = cfg_fail(c, "%s", err);
				cfg_pop(c, m2);
			}
		}
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	p.nscripts = json_array_size(arr);
	if ((ret = refs(c, ix, obj, "pool_refs", CFG_POOL, idx, DS_MAX_REFS, &n)))
		return ret;
	for (k = 0; k < n; k++)
		pools[k] = &s->pools[idx[k]];
	p.npools = n;
	if ((ret = refs(c, ix, obj, "string_group_refs", CFG_SG, idx, DS_MAX_REFS, &n)))
		return ret;
	for (k = 0; k < n; k++)
		sgs[k] = &s->strgroups[idx[k]];
	p.nstrgroups = n;
	if ((ret = refs(c, ix, obj, "ipgroup_refs", CFG_IPG, idx, DS_MAX_REFS, &n)))
		return ret;
	for (k = 0; k < n; k++)
		ipgs[k] = &s->ipgroups[idx[k]];
	p.nipgroups = n;
	if ((ret = rate_limiters(c, obj, rls, DS_MAX_RLS, &p.nrls)) ||
	    (ret = cfg_get_int(c, obj, "datascript_timeout", XADC_DS_DEF_INSTRUCTIONS, 1000,
			       XADC_DS_MAX_INSTRUCTIONS, &timeout)) ||
	    (ret = cfg_get_bool(c, obj, "fail_open", false, &p.fail_open)) ||
	    (ret = cfg_get_int(c, obj, "req_body_buffer_size", XADC_DS_DEF_BODY_BUF, 1,
			       XADC_DS_MAX_BODY_BUF, &bodybuf)) ||
	    (ret = cfg_get_int(c, obj, "resp_body_buffer_size", XADC_DS_DEF_BODY_BUF, 1,
			       XADC_DS_MAX_BODY_BUF, &respbuf)))
		return ret;
	p.max_instructions = timeout;
	p.req_body_buf = bodybuf;
	p.resp_body_buf = respbuf;
	if (!out)
		return 0;
	*out = xadc_ds_set_compile(&p, err, sizeof(err));
	return *out ? 0 : cfg_fail(c, "%s", err);
}

int cfg_ds_check(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s)
{
	char label[XADC_NAME_MAX + 64];
	json_t *obj;
	size_t i, mark;
	int ret;

	json_array_foreach(ix->objs[CFG_DSS], i, obj) {
		cfg_obj_label(CFG_DSS, obj, i - ix->nbuiltin[CFG_DSS], label, sizeof(label));
		mark = cfg_push(c, "%s", label);
		ret = set_compile(c, ix, s, obj, NULL);
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	return 0;
}

int cfg_ds_sg_needs(const struct cfg_index *ix, unsigned *needs)
{
	static const unsigned bits = XADC_SOP_BIT(XADC_SOP_EQUALS, false) |
				     XADC_SOP_BIT(XADC_SOP_BEGINS_WITH, false) |
				     XADC_SOP_BIT(XADC_SOP_ENDS_WITH, false) |
				     XADC_SOP_BIT(XADC_SOP_CONTAINS, false);
	struct cfg_ctx scratch;
	json_t *obj, *v;
	size_t i, j;
	int idx;

	/* errors are reported by cfg_ds_check: resolve quietly here */
	cfg_ctx_init(&scratch);
	json_array_foreach(ix->objs[CFG_DSS], i, obj) {
		json_array_foreach(json_object_get(obj, "string_group_refs"), j, v) {
			idx = cfg_ref_resolve(&scratch, ix, v, CFG_SG);
			if (idx >= 0)
				needs[idx] |= bits;
		}
	}
	json_decref(scratch.err);
	json_decref(scratch.warnings);
	return 0;
}

int cfg_ds_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
	      json_t *obj, struct xadc_vs *vs)
{
	struct cfg_indexed_ref ent[16];
	struct xadc_ds_vs *dv;
	struct xadc_ds_set *set;
	size_t mark;
	int i, n, ret;

	n = cfg_indexed_refs(c, ix, obj, "vs_datascripts", "vs_datascript_set_ref", CFG_DSS, ent,
			     ARRAY_SIZE(ent));
	if (n <= 0)
		return n;
	dv = xadc_ds_vs_new(vs->name);
	if (!dv)
		return cfg_fail(c, "out of memory");
	for (i = 0; i < n; i++) {
		char label[XADC_NAME_MAX + 64];
		json_t *so = json_array_get(ix->objs[CFG_DSS], ent[i].obj);

		cfg_obj_label(CFG_DSS, so, ent[i].obj - ix->nbuiltin[CFG_DSS], label,
			      sizeof(label));
		mark = cfg_push(c, ".vs_datascripts[%s]", label);
		ret = set_compile(c, ix, s, so, &set);
		if (!ret && xadc_ds_vs_add(dv, set))
			ret = cfg_fail(c, "out of memory");
		cfg_pop(c, mark);
		if (ret) {
			xadc_ds_vs_free(dv);
			return ret;
		}
	}
	vs->datascripts = dv;
	return 0;
}
