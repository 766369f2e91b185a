// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_policy.c - compile stringgroup, ipaddrgroup and httppolicyset objects
 * and a virtual service's http_policies[] (issue 4) into the structures of
 * policy/policy_int.h.
 *
 * String groups are built once for exactly the (operator, case) pairs that
 * their users need, so a first pass walks every httppolicyset to collect
 * those needs (and reports bad group refs with their full path); the
 * groups are built; then the sets are compiled against them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_internal.h"
#include "../policy/policy_int.h"

static const char *const pol_fields[HP__NTYPES] = {
	"http_security_policy", "http_request_policy", "http_response_policy"};

struct pc {
	struct cfg_ctx *c;
	const struct cfg_index *ix;
	struct xadc_snapshot *s;
	unsigned *needs;	/* per stringgroup index */
	bool needs_pass;
};

static int fail_at(struct cfg_ctx *c, const char *field, const char *fmt, const char *arg)
{
	size_t mark = cfg_push(c, ".%s", field);
	int ret = cfg_fail(c, fmt, arg);

	cfg_pop(c, mark);
	return ret;
}

/* obj.field as an object, NULL when absent; error when not an object. */
static int sub_obj(struct cfg_ctx *c, json_t *obj, const char *field, json_t **out)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail_at(c, field, "expected an object%s", "");
	*out = v;
	return 0;
}

/* ------------------------------------------------------------ criteria */

struct crit {
	const char *name;
	enum xadc_sop op;
	bool negate, exists;
};

static const struct crit crits[] = {
	{"BEGINS_WITH", XADC_SOP_BEGINS_WITH, false, false},
	{"DOES_NOT_BEGIN_WITH", XADC_SOP_BEGINS_WITH, true, false},
	{"CONTAINS", XADC_SOP_CONTAINS, false, false},
	{"DOES_NOT_CONTAIN", XADC_SOP_CONTAINS, true, false},
	{"ENDS_WITH", XADC_SOP_ENDS_WITH, false, false},
	{"DOES_NOT_END_WITH", XADC_SOP_ENDS_WITH, true, false},
	{"EQUALS", XADC_SOP_EQUALS, false, false},
	{"DOES_NOT_EQUAL", XADC_SOP_EQUALS, true, false},
	{"REGEX_MATCH", XADC_SOP_REGEX, false, false},
	{"REGEX_DOES_NOT_MATCH", XADC_SOP_REGEX, true, false},
	{"EXISTS", XADC_SOP_EQUALS, false, true},
	{"DOES_NOT_EXIST", XADC_SOP_EQUALS, true, true},
	{"QUERY_MATCH_CONTAINS", XADC_SOP_CONTAINS, false, false},
};

/* "HDR_CONTAINS" and "CONTAINS" are the same criterion (xadc takes every
 * one in every field, plus regexes for headers). */
static const struct crit *crit_find(const char *s)
{
	size_t i;

	if (!strncmp(s, "HDR_", 4))
		s += 4;
	for (i = 0; i < ARRAY_SIZE(crits); i++)
		if (!strcmp(crits[i].name, s))
			return &crits[i];
	return NULL;
}

enum sm_kind { SM_PLAIN, SM_HDR, SM_COOKIE, SM_OPT };

/* Resolve string_group_refs of m: record needs (first pass) or pointers. */
static int sm_groups(struct pc *pc, json_t *m, struct hp_strmatch *sm, unsigned bit)
{
	struct cfg_ctx *c = pc->c;
	json_t *arr, *v;
	size_t i, mark;
	int idx, ret;

	if ((ret = cfg_get_arr(c, m, "string_group_refs", &arr)))
		return ret;
	if (arr && json_array_size(arr) > HP_MAX_GROUPS)
		return fail_at(c, "string_group_refs", "at most 64 groups%s", "");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".string_group_refs[%zu]", i);
		idx = cfg_ref_resolve(c, pc->ix, v, CFG_SG);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref");
		cfg_pop(c, mark);
		if (idx < 0)
			return idx;
		if (pc->needs_pass)
			pc->needs[idx] |= bit;
		else
			sm->groups[sm->ngroups++] = pc->s->strgroups[idx].set;
	}
	return 0;
}

/* Re-path a literal set's regex error from ".kv[i].key" to ".match_str[i]". */
static void lit_error(struct cfg_ctx *c, json_t *err, const char *field)
{
	const char *p = json_string_value(json_object_get(err, "path"));
	const char *reason = json_string_value(json_object_get(err, "reason"));
	const char *k = p ? strstr(p, ".kv[") : NULL;
	unsigned idx = 0;

	if (k)
		sscanf(k, ".kv[%u]", &idx);
	{
		size_t mark = cfg_push(c, ".%s[%u]", field, idx);

		cfg_fail(c, "%s", reason ? reason : "invalid");
		cfg_pop(c, mark);
	}
	json_decref(err);
}

/* One string criterion object m into sm. */
static int sm_compile(struct pc *pc, json_t *m, enum sm_kind kind, struct hp_strmatch *sm)
{
	struct cfg_ctx *c = pc->c;
	struct xadc_str_entry ent[256];
	const char *cs = NULL, *mc = NULL, *name = NULL, *vfield = "match_str";
	const struct crit *cr;
	json_t *vals, *v, *err = NULL;
	size_t i, n = 0;
	bool nocase;
	int ret;

	if (!json_is_object(m))
		return cfg_fail(c, "expected an object");
	if ((ret = cfg_get_str(c, m, "match_criteria", NULL, 64, &cs)) ||
	    (ret = cfg_get_str(c, m, "match_case", NULL, 64, &mc)))
		return ret;
	if (!cs)
		return fail_at(c, "match_criteria", "required%s", "");
	cr = crit_find(cs);
	if (!cr)
		return fail_at(c, "match_criteria", "unknown criterion \"%s\"", cs);
	if (cr->exists && kind == SM_PLAIN)
		return fail_at(c, "match_criteria", "\"%s\" only applies to headers, cookies and hosts",
			       cs);
	nocase = kind != SM_PLAIN;
	if (mc && !strcmp(mc, "INSENSITIVE"))
		nocase = true;
	else if (mc && !strcmp(mc, "SENSITIVE"))
		nocase = false;
	else if (mc)
		return fail_at(c, "match_case", "expected SENSITIVE or INSENSITIVE, got \"%s\"", mc);
	if (kind == SM_HDR || kind == SM_COOKIE) {
		const char *nf = kind == SM_HDR ? "hdr" : "key";

		if ((ret = cfg_get_str(c, m, nf, NULL, sizeof(sm->name), &name)))
			return ret;
		if (!name || !*name)
			return fail_at(c, nf, "required (the %s name)",
				       kind == SM_HDR ? "header" : "cookie");
	}
	if (pc->needs_pass)
		return sm_groups(pc, m, sm, XADC_SOP_BIT(cr->op, nocase));
	sm->set = true;
	sm->op = cr->op;
	sm->negate = cr->negate;
	sm->exists = cr->exists;
	sm->nocase = nocase;
	if (name) {
		snprintf(sm->name, sizeof(sm->name), "%s", name);
		sm->name_len = strlen(sm->name);
	}
	if ((ret = sm_groups(pc, m, sm, 0)))
		return ret;
	vals = json_object_get(m, "match_str");
	if (!vals || json_is_null(vals)) {
		vfield = "value";
		vals = json_object_get(m, "value");
	}
	if (vals && json_is_string(vals)) {
		ent[0] = (struct xadc_str_entry){json_string_value(vals),
						 json_string_length(vals), "", 0};
		n = 1;
	} else if (vals && !json_is_null(vals)) {
		if (!json_is_array(vals))
			return fail_at(c, vfield, "expected an array of strings%s", "");
		if (json_array_size(vals) > ARRAY_SIZE(ent))
			return fail_at(c, vfield, "at most 256 strings (use a stringgroup)%s", "");
		json_array_foreach(vals, i, v) {
			if (!json_is_string(v)) {
				size_t mark = cfg_push(c, ".%s[%zu]", vfield, i);

				ret = cfg_fail(c, "expected a string");
				cfg_pop(c, mark);
				return ret;
			}
			ent[n++] = (struct xadc_str_entry){json_string_value(v),
							   json_string_length(v), "", 0};
		}
	}
	if (sm->exists)
		return 0;
	if (!n && !sm->ngroups)
		return fail_at(c, vfield, "required: at least one string or a string_group_refs entry%s",
			       "");
	if (!n)
		return 0;
	sm->lit = xadc_strset_build(c->path, ent, n, XADC_SOP_BIT(sm->op, nocase), &err);
	if (!sm->lit) {
		if (err)
			lit_error(c, err, vfield);
		else
			cfg_fail(c, "out of memory");
		return -EINVAL;
	}
	return 0;
}

/* A field holding one criterion object. */
static int sm_field(struct pc *pc, json_t *match, const char *field, enum sm_kind kind,
		    struct hp_strmatch *sm)
{
	json_t *m = json_object_get(match, field);
	size_t mark;
	int ret;

	if (!m || json_is_null(m))
		return 0;
	mark = cfg_push(pc->c, ".%s", field);
	ret = sm_compile(pc, m, kind, sm);
	cfg_pop(pc->c, mark);
	return ret;
}

/* hdrs[] / rsp_hdrs[]. */
static int sm_array(struct pc *pc, json_t *match, const char *field, struct hp_strmatch **out,
		    unsigned *nout)
{
	json_t *arr, *m;
	size_t i, mark;
	int ret;

	if ((ret = cfg_get_arr(pc->c, match, field, &arr)) || !arr)
		return ret;
	if (!pc->needs_pass) {
		*out = calloc(json_array_size(arr) + 1, sizeof(**out));
		if (!*out)
			return cfg_fail(pc->c, "out of memory");
	}
	json_array_foreach(arr, i, m) {
		struct hp_strmatch tmp = {0};

		mark = cfg_push(pc->c, ".%s[%zu]", field, i);
		ret = sm_compile(pc, m, SM_HDR, pc->needs_pass ? &tmp : &(*out)[i]);
		cfg_pop(pc->c, mark);
		if (!pc->needs_pass)
			*nout = i + 1;
		if (ret)
			return ret;
	}
	return 0;
}

/* IS_IN / IS_NOT_IN; absent means IS_IN. */
static int in_crit(struct cfg_ctx *c, json_t *m, bool *negate)
{
	const char *s = NULL;
	int ret = cfg_get_str(c, m, "match_criteria", "IS_IN", 32, &s);

	if (ret)
		return ret;
	if (!strcmp(s, "IS_IN"))
		*negate = false;
	else if (!strcmp(s, "IS_NOT_IN"))
		*negate = true;
	else
		return fail_at(c, "match_criteria", "expected IS_IN or IS_NOT_IN, got \"%s\"", s);
	return 0;
}

static int method_compile(struct cfg_ctx *c, json_t *m, struct hp_match *mt)
{
	json_t *arr, *v;
	const char *s;
	size_t i, mark;
	int k, ret;

	if ((ret = in_crit(c, m, &mt->method_negate)) || (ret = cfg_get_arr(c, m, "methods", &arr)))
		return ret;
	mt->method_set = true;
	json_array_foreach(arr, i, v) {
		s = json_string_value(v);
		if (s && !strncmp(s, "HTTP_METHOD_", 12))
			s += 12;
		for (k = 0; s && k < HP_NMETHODS; k++)
			if (!strcmp(s, hp_method_names[k]))
				break;
		if (!s || k == HP_NMETHODS) {
			mark = cfg_push(c, ".methods[%zu]", i);
			ret = cfg_fail(c, "unknown method (expected e.g. \"HTTP_METHOD_GET\")");
			cfg_pop(c, mark);
			return ret;
		}
		mt->methods |= 1u << k;
	}
	return 0;
}

/* protocol / version: a string or an array of enum names into bits. */
static int bits_compile(struct cfg_ctx *c, json_t *m, const char *field,
			const char *const *names, unsigned nnames, uint8_t *bits, bool *negate)
{
	json_t *v = json_object_get(m, field), *x;
	size_t i, mark;
	unsigned k;
	int ret;

	if ((ret = in_crit(c, m, negate)))
		return ret;
	if (json_is_string(v)) {
		for (k = 0; k < nnames; k++)
			if (!strcmp(json_string_value(v), names[k]))
				break;
		if (k == nnames)
			return fail_at(c, field, "unknown value \"%s\"", json_string_value(v));
		*bits |= 1u << k;
		return 0;
	}
	if (!json_is_array(v))
		return fail_at(c, field, "required%s", "");
	json_array_foreach(v, i, x) {
		for (k = 0; json_is_string(x) && k < nnames; k++)
			if (!strcmp(json_string_value(x), names[k]))
				break;
		if (!json_is_string(x) || k == nnames) {
			mark = cfg_push(c, ".%s[%zu]", field, i);
			ret = cfg_fail(c, "unknown value");
			cfg_pop(c, mark);
			return ret;
		}
		*bits |= 1u << k;
	}
	return 0;
}

static int ints_compile(struct cfg_ctx *c, json_t *m, const char *field, const char *rfield,
			long long lo, long long hi, struct hp_intmatch *im)
{
	json_t *arr, *v;
	size_t i, mark;
	long long a, b;
	int ret;

	if ((ret = in_crit(c, m, &im->negate)) || (ret = cfg_get_arr(c, m, field, &arr)))
		return ret;
	im->set = true;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".%s[%zu]", field, i);
		a = json_integer_value(v);
		if (!json_is_integer(v) || a < lo || a > hi)
			ret = cfg_fail(c, "expected an integer between %lld and %lld", lo, hi);
		else if (im->n >= HP_MAX_LIST)
			ret = cfg_fail(c, "too many values (at most %d)", HP_MAX_LIST);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		im->lo[im->n] = im->hi[im->n] = a;
		im->n++;
	}
	if (rfield && (ret = cfg_get_arr(c, m, rfield, &arr)))
		return ret;
	json_array_foreach(rfield ? arr : NULL, i, v) {
		mark = cfg_push(c, ".%s[%zu]", rfield, i);
		if ((ret = cfg_get_int(c, v, "begin", -1, lo, hi, &a)) ||
		    (ret = cfg_get_int(c, v, "end", a, a < lo ? lo : a, hi, &b)))
			;
		else if (a < lo)
			ret = cfg_fail(c, "begin is required");
		else if (im->n >= HP_MAX_LIST)
			ret = cfg_fail(c, "too many values (at most %d)", HP_MAX_LIST);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		im->lo[im->n] = a;
		im->hi[im->n] = b;
		im->n++;
	}
	if (!im->n)
		return fail_at(c, field, "required: at least one value%s", "");
	return 0;
}

static int ipset_prefix_cb(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *a,
			   unsigned bits)
{
	return xadc_ipset_add_prefix(arg, a, bits) ? cfg_fail(c, "out of memory") : 0;
}

static int ipset_range_cb(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *lo,
			  const union xadc_sockaddr *hi)
{
	return xadc_ipset_add_range(arg, lo, hi) ? cfg_fail(c, "must not be below begin") : 0;
}

/* addrs[], prefixes[], ranges[] of an ipaddrgroup or an IpAddrMatch into s. */
static int ip_entries(struct cfg_ctx *c, json_t *obj, struct xadc_ipset *s, size_t *count)
{
	const struct cfg_ip_sink sink = { ipset_prefix_cb, ipset_range_cb, s };

	return cfg_ip_entries(c, obj, &sink, count);
}

static int cip_compile(struct pc *pc, json_t *m, struct hp_ipmatch *im)
{
	struct cfg_ctx *c = pc->c;
	json_t *arr, *v;
	size_t i, n = 0, mark;
	int idx, ret;

	if ((ret = in_crit(c, m, &im->negate)) || (ret = cfg_get_arr(c, m, "group_refs", &arr)))
		return ret;
	im->set = true;
	if (arr && json_array_size(arr) > HP_MAX_GROUPS)
		return fail_at(c, "group_refs", "at most 64 groups%s", "");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".group_refs[%zu]", i);
		idx = cfg_ref_resolve(c, pc->ix, v, CFG_IPG);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref");
		cfg_pop(c, mark);
		if (idx < 0)
			return idx;
		im->groups[im->ngroups++] = pc->s->ipgroups[idx].set;
	}
	im->own = xadc_ipset_new();
	if (!im->own)
		return cfg_fail(c, "out of memory");
	if ((ret = ip_entries(c, m, im->own, &n)))
		return ret;
	if (!n && !im->ngroups)
		return fail_at(c, "addrs", "required: addrs, prefixes, ranges or group_refs%s", "");
	if (xadc_ipset_build(im->own))
		return cfg_fail(c, "out of memory");
	return 0;
}

static const char *const proto_names[] = {"HTTP", "HTTPS"};
static const char *const version_names[] = {"ONE_ZERO", "ONE_ONE", "ZERO_NINE", "TWO_ZERO"};

/* A rule's match (absent or {} matches every request: mt->always). */
static int match_compile(struct pc *pc, json_t *rule, enum hp_policy_type t, struct hp_match *mt)
{
	struct cfg_ctx *c = pc->c;
	json_t *match, *m;
	size_t mark;
	int ret;

	if ((ret = sub_obj(c, rule, "match", &match)))
		return ret;
	mt->always = !match || !json_object_size(match);
	if (!match)
		return 0;
	mark = cfg_push(c, ".match");
	if ((ret = sm_field(pc, match, "path", SM_PLAIN, &mt->path)) ||
	    (ret = sm_field(pc, match, "query", SM_PLAIN, &mt->query)) ||
	    (ret = sm_field(pc, match, "host_hdr", SM_OPT, &mt->host)) ||
	    (ret = sm_field(pc, match, "cookie", SM_COOKIE, &mt->cookie)) ||
	    (ret = sm_array(pc, match, "hdrs", &mt->hdrs, &mt->nhdrs)))
		goto out;
	if (t == HP_RSP && ((ret = sm_field(pc, match, "loc_hdr", SM_OPT, &mt->loc)) ||
			    (ret = sm_array(pc, match, "rsp_hdrs", &mt->rsp_hdrs, &mt->nrsp_hdrs))))
		goto out;
	if (t != HP_RSP && (json_object_get(match, "status") || json_object_get(match, "rsp_hdrs") ||
			    json_object_get(match, "loc_hdr"))) {
		ret = cfg_fail(c, "status, rsp_hdrs and loc_hdr only apply to response rules");
		goto out;
	}
	if (pc->needs_pass)
		goto out;
#define SUB(f, fn)                                                                                 \
	if ((m = json_object_get(match, f)) && !json_is_null(m)) {                                 \
		size_t m2 = cfg_push(c, "." f);                                                    \
		ret = json_is_object(m) ? (fn) : cfg_fail(c, "expected an object");                \
		cfg_pop(c, m2);                                                                    \
		if (ret)                                                                           \
			goto out;                                                                  \
	}
	SUB("method", method_compile(c, m, mt));
	SUB("protocol", bits_compile(c, m, "protocols", proto_names, 2, &mt->protos,
				     &mt->proto_negate));
	SUB("version", bits_compile(c, m, "versions", version_names, 4, &mt->versions,
				    &mt->version_negate));
	SUB("vs_port", ints_compile(c, m, "ports", NULL, 1, 65535, &mt->port));
	SUB("status", ints_compile(c, m, "status_codes", "ranges", 100, 599, &mt->status));
	SUB("client_ip", cip_compile(pc, m, &mt->cip));
#undef SUB
	mt->proto_set = json_object_get(match, "protocol") != NULL;
	mt->version_set = json_object_get(match, "version") != NULL;
out:
	cfg_pop(c, mark);
	return ret;
}

/* Would this match take every request? (for the shadowing warning) */
static bool match_total(const struct hp_match *mt)
{
	int fields = mt->path.set + mt->query.set + mt->host.set + mt->cookie.set + mt->loc.set +
		     (mt->nhdrs > 0) + (mt->nrsp_hdrs > 0) + mt->proto_set + mt->version_set +
		     mt->port.set + mt->status.set + mt->cip.set;

	if (mt->always)
		return true;
	if (fields || !mt->method_set)
		return false;
	return mt->method_negate ? mt->methods == 0
				 : mt->methods == (1u << HP_NMETHODS) - 1;
}

/* ------------------------------------------------------------ actions */

static int file_compile(struct cfg_ctx *c, json_t *obj, struct hp_file *f)
{
	const char *ct = NULL, *body = NULL;
	json_t *fo;
	size_t mark;
	int ret;

	if ((ret = sub_obj(c, obj, "file", &fo)) || !fo)
		return ret;
	mark = cfg_push(c, ".file");
	ret = cfg_get_str(c, fo, "content_type", "text/html", 128, &ct);
	if (!ret)
		ret = cfg_get_str(c, fo, "file_content", "", 16384, &body);
	if (!ret && strpbrk(ct, "\r\n"))
		ret = fail_at(c, "content_type", "must be one line%s", "");
	cfg_pop(c, mark);
	if (ret)
		return ret;
	f->ctype = strdup(ct);
	f->body = strdup(body);
	f->body_len = strlen(body);
	return f->ctype && f->body ? 0 : cfg_fail(c, "out of memory");
}

/* "HTTP_LOCAL_RESPONSE_STATUS_CODE_403" / "HTTP_REDIRECT_STATUS_CODE_301"
 * or other_status_code: any code within [lo, hi]. */
static int status_compile(struct cfg_ctx *c, json_t *obj, const char *prefix, int def, int lo,
			  int hi, int *out)
{
	const char *s = NULL;
	long long other;
	char *end;
	long v;
	int ret;

	if ((ret = cfg_get_str(c, obj, "status_code", NULL, 64, &s)) ||
	    (ret = cfg_get_int(c, obj, "other_status_code", 0, 0, hi, &other)))
		return ret;
	*out = def;
	if (other) {
		if (other < lo)
			return fail_at(c, "other_status_code", "must be at least %s",
				       lo == 200 ? "200" : "300");
		*out = other;
		return 0;
	}
	if (!s)
		return 0;
	if (strncmp(s, prefix, strlen(prefix)))
		return fail_at(c, "status_code", "expected %sNNN", prefix);
	v = strtol(s + strlen(prefix), &end, 10);
	if (*end || v < lo || v > hi)
		return fail_at(c, "status_code", "unsupported status \"%s\"", s);
	*out = v;
	return 0;
}

static bool hdr_forbidden(const char *n, bool remove)
{
	static const char *const bad[] = {"content-length", "transfer-encoding", "connection",
					  "keep-alive", "upgrade", "te", "trailer",
					  "proxy-connection"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (!strcasecmp(n, bad[i]))
			return true;
	return remove && !strcasecmp(n, "host");
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

static const struct cfg_enum hdr_ops[] = {
	{"HTTP_ADD_HDR", HDR_ADD, true},
	{"HTTP_REPLACE_HDR", HDR_REPLACE, true},
	{"HTTP_REMOVE_HDR", HDR_REMOVE, true},
	{NULL, 0, false},
};

static const struct cfg_enum vars[] = {
	{"HTTP_POLICY_VAR_CLIENT_IP", VAR_CLIENT_IP, true},
	{"HTTP_POLICY_VAR_VS_IP", VAR_VS_IP, true},
	{"HTTP_POLICY_VAR_VS_PORT", VAR_VS_PORT, true},
	{"HTTP_POLICY_VAR_REQUEST_ID", VAR_REQUEST_ID, true},
	{"HTTP_POLICY_VAR_SSL_CLIENT_FINGERPRINT", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_CLIENT_SUBJECT", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_CLIENT_ISSUER", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_CLIENT_SERIAL", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_PROTOCOL", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_CIPHER", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_SSL_SERVER_NAME", VAR_EMPTY, true},
	{"HTTP_POLICY_VAR_USER_NAME", VAR_EMPTY, true},
	{NULL, 0, false},
};

static int hdr_act_compile(struct cfg_ctx *c, json_t *a, struct hp_hdr_act *ha)
{
	const char *name = NULL, *val = NULL;
	json_t *hdr, *value;
	int op, var = VAR_NONE, ret;
	size_t mark;

	if (!json_is_object(a))
		return cfg_fail(c, "expected an object");
	if ((ret = cfg_get_enum(c, a, "action", hdr_ops, -1, &op)))
		return ret;
	if (op < 0)
		return fail_at(c, "action", "required (HTTP_ADD_HDR, HTTP_REPLACE_HDR or HTTP_REMOVE_HDR)%s",
			       "");
	if ((ret = sub_obj(c, a, "hdr", &hdr)))
		return ret;
	if (!hdr)
		return fail_at(c, "hdr", "required%s", "");
	mark = cfg_push(c, ".hdr");
	ret = cfg_get_str(c, hdr, "name", NULL, 128, &name);
	if (!ret && (!name || !is_token(name)))
		ret = fail_at(c, "name", "required: an HTTP header name%s", "");
	if (!ret && hdr_forbidden(name, op == HDR_REMOVE))
		ret = fail_at(c, "name", "\"%s\" frames the message and cannot be changed by a policy",
			      name);
	if (!ret)
		ret = sub_obj(c, hdr, "value", &value);
	if (!ret && op != HDR_REMOVE) {
		size_t m2 = cfg_push(c, ".value");

		if (!value)
			ret = cfg_fail(c, "required ({\"val\": ...} or {\"var\": ...})");
		if (!ret)
			ret = cfg_get_str(c, value, "val", NULL, 4096, &val);
		if (!ret)
			ret = cfg_get_enum(c, value, "var", vars, VAR_NONE, &var);
		if (!ret && val && !one_line(val))
			ret = fail_at(c, "val", "must not contain control characters%s", "");
		cfg_pop(c, m2);
	}
	cfg_pop(c, mark);
	if (ret)
		return ret;
	ha->op = op;
	ha->var = var;
	ha->name = strdup(name);
	ha->name_len = strlen(name);
	ha->val = strdup(val ? val : "");
	ha->val_len = val ? strlen(val) : 0;
	return ha->name && ha->val ? 0 : cfg_fail(c, "out of memory");
}

static int hdr_acts(struct cfg_ctx *c, json_t *rule, struct hp_rule *r)
{
	json_t *arr, *a;
	size_t i, mark;
	int ret;

	if ((ret = cfg_get_arr(c, rule, "hdr_action", &arr)) || !arr)
		return ret;
	if (json_array_size(arr) > HP_MAX_HDR_ACT)
		return fail_at(c, "hdr_action", "at most 32 header actions per rule%s", "");
	json_array_foreach(arr, i, a) {
		mark = cfg_push(c, ".hdr_action[%zu]", i);
		ret = hdr_act_compile(c, a, &r->hdr[i]);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		r->nhdr = i + 1;
	}
	return 0;
}

static const struct cfg_enum tok_types[] = {
	{"URI_TOKEN_TYPE_STRING", TOK_STRING, true},
	{"URI_TOKEN_TYPE_HOST", TOK_HOST, true},
	{"URI_TOKEN_TYPE_PATH", TOK_PATH, true},
	{"URI_TOKEN_TYPE_STRING_GROUP", TOK_SG, true},
	{"URI_TOKEN_TYPE_REGEX", TOK_REGEX, true},
	{"URI_TOKEN_TYPE_REGEX_QUERY", TOK_REGEX_QUERY, true},
	{NULL, 0, false},
};

/* A URIParam {type, tokens[], string_group_refs[]} at obj.field. */
static int uri_compile(struct pc *pc, json_t *obj, const char *field, const struct hp_match *mt,
		       struct hp_uriparam *up)
{
	struct cfg_ctx *c = pc->c;
	json_t *u, *arr, *t;
	const char *type = NULL, *str = NULL;
	long long si, ei;
	size_t i, mark, m2;
	int tt, idx, ret;

	if ((ret = sub_obj(c, obj, field, &u)) || !u)
		return ret;
	mark = cfg_push(c, ".%s", field);
	ret = cfg_get_str(c, u, "type", "URI_PARAM_TYPE_TOKENIZED", 64, &type);
	if (!ret && strcmp(type, "URI_PARAM_TYPE_TOKENIZED"))
		ret = fail_at(c, "type", "only URI_PARAM_TYPE_TOKENIZED is supported, got \"%s\"",
			      type);
	if (!ret)
		ret = cfg_get_arr(c, u, "string_group_refs", &arr);
	json_array_foreach(ret ? NULL : arr, i, t) {
		m2 = cfg_push(c, ".string_group_refs[%zu]", i);
		idx = cfg_ref_resolve(c, pc->ix, t, CFG_SG);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref");
		cfg_pop(c, m2);
		if (idx < 0) {
			ret = idx;
			break;
		}
		if (pc->needs_pass)
			pc->needs[idx] |= XADC_SOP_BIT(XADC_SOP_BEGINS_WITH, false);
		else if (up->ngroups < HP_MAX_GROUPS)
			up->groups[up->ngroups++] = &pc->s->strgroups[idx];
	}
	if (!ret)
		ret = cfg_get_arr(c, u, "tokens", &arr);
	if (!ret && (!arr || !json_array_size(arr) || json_array_size(arr) > HP_MAX_TOKENS))
		ret = fail_at(c, "tokens", "required: 1 to 32 tokens%s", "");
	json_array_foreach(ret || pc->needs_pass ? NULL : arr, i, t) {
		struct hp_token *tk = &up->tok[i];

		m2 = cfg_push(c, ".tokens[%zu]", i);
		if (!json_is_object(t))
			ret = cfg_fail(c, "expected an object");
		if (!ret)
			ret = cfg_get_enum(c, t, "type", tok_types, -1, &tt);
		if (!ret && tt < 0)
			ret = fail_at(c, "type", "required%s", "");
		if (!ret)
			ret = cfg_get_str(c, t, "str_value", "", 1024, &str);
		if (!ret)
			ret = cfg_get_int(c, t, "start_index", 0, 0, 65535, &si);
		if (!ret)
			ret = cfg_get_int(c, t, "end_index", si, si, 65535, &ei);
		if (!ret && tt == TOK_STRING && !*str)
			ret = fail_at(c, "str_value", "required for URI_TOKEN_TYPE_STRING%s", "");
		if (!ret && tt == TOK_REGEX && !(mt->path.set && mt->path.op == XADC_SOP_REGEX &&
						 !mt->path.negate))
			ret = cfg_fail(c, "URI_TOKEN_TYPE_REGEX needs a match.path with REGEX_MATCH");
		if (!ret && tt == TOK_REGEX_QUERY &&
		    !(mt->query.set && mt->query.op == XADC_SOP_REGEX && !mt->query.negate))
			ret = cfg_fail(c,
				       "URI_TOKEN_TYPE_REGEX_QUERY needs a match.query with REGEX_MATCH");
		if (!ret && tt == TOK_SG && !up->ngroups)
			ret = cfg_fail(c, "URI_TOKEN_TYPE_STRING_GROUP needs string_group_refs");
		cfg_pop(c, m2);
		if (ret)
			break;
		tk->type = tt;
		tk->start = si;
		tk->end = ei;
		tk->str = strdup(str);
		tk->str_len = strlen(str);
		up->ntok = i + 1;
		if (!tk->str) {
			ret = cfg_fail(c, "out of memory");
			break;
		}
	}
	up->set = !ret;
	cfg_pop(c, mark);
	return ret;
}

/* redirect_action / loc_hdr_action / rate-limit redirect. */
static int redirect_compile(struct pc *pc, json_t *obj, const char *field,
			    const struct hp_match *mt, bool with_status, struct hp_redirect *rd)
{
	struct cfg_ctx *c = pc->c;
	const char *proto = NULL;
	long long port;
	json_t *ro;
	size_t mark;
	int ret;

	if ((ret = sub_obj(c, obj, field, &ro)) || !ro)
		return ret;
	mark = cfg_push(c, ".%s", field);
	ret = cfg_get_str(c, ro, "protocol", NULL, 16, &proto);
	rd->proto = -1;
	if (!ret && proto) {
		if (!strcmp(proto, "HTTP"))
			rd->proto = 0;
		else if (!strcmp(proto, "HTTPS"))
			rd->proto = 1;
		else
			ret = fail_at(c, "protocol", "expected HTTP or HTTPS, got \"%s\"", proto);
	}
	if (!ret)
		ret = cfg_get_int(c, ro, "port", 0, 0, 65535, &port);
	if (!ret)
		ret = cfg_get_bool(c, ro, "keep_query", true, &rd->keep_query);
	if (!ret && with_status)
		ret = status_compile(c, ro, "HTTP_REDIRECT_STATUS_CODE_", 302, 300, 399,
				     &rd->status);
	if (!ret)
		ret = uri_compile(pc, ro, "host", mt, &rd->host);
	if (!ret)
		ret = uri_compile(pc, ro, "path", mt, &rd->path);
	cfg_pop(c, mark);
	rd->port = port;
	rd->set = !ret;
	return ret;
}

static const struct cfg_enum sec_actions[] = {
	{"HTTP_SECURITY_ACTION_ALLOW", SEC_ALLOW, true},
	{"HTTP_SECURITY_ACTION_CLOSE_CONN", SEC_CLOSE, true},
	{"HTTP_SECURITY_ACTION_SEND_RESPONSE", SEC_RESPOND, true},
	{"HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS", SEC_REDIRECT_HTTPS, true},
	{"HTTP_SECURITY_ACTION_RATE_LIMIT", SEC_RATE_LIMIT, true},
	{NULL, 0, false},
};

static const struct cfg_enum rl_actions[] = {
	{"RL_ACTION_NONE", RL_NONE, true},
	{"RL_ACTION_DROP_CONN", RL_DROP, true},
	{"RL_ACTION_RESET_CONN", RL_RESET, true},
	{"RL_ACTION_CLOSE_CONN", RL_CLOSE, true},
	{"RL_ACTION_LOCAL_RSP", RL_LOCAL, true},
	{"RL_ACTION_SEND_LOCAL_RSP", RL_LOCAL, true},
	{"RL_ACTION_REDIRECT", RL_REDIRECT, true},
	{NULL, 0, false},
};

static int rate_compile(struct pc *pc, json_t *act, struct hp_rule *r)
{
	struct cfg_ctx *c = pc->c;
	json_t *rp, *lim, *ra;
	long long count, period, burst;
	bool per_ip, per_path;
	size_t mark;
	int t, ret;

	if ((ret = sub_obj(c, act, "rate_profile", &rp)))
		return ret;
	if (!rp)
		return fail_at(c, "rate_profile", "required with HTTP_SECURITY_ACTION_RATE_LIMIT%s", "");
	mark = cfg_push(c, ".rate_profile");
	if ((ret = sub_obj(c, rp, "rate_limiter", &lim)))
		goto out;
	if (!lim) {
		ret = fail_at(c, "rate_limiter", "required%s", "");
		goto out;
	}
	{
		size_t m2 = cfg_push(c, ".rate_limiter");

		ret = cfg_get_int(c, lim, "count", 0, 1, 1000000000, &count);
		if (!ret && !count)
			ret = fail_at(c, "count", "required%s", "");
		if (!ret)
			ret = cfg_get_int(c, lim, "period", 1, 1, 1000000, &period);
		if (!ret)
			ret = cfg_get_int(c, lim, "burst_sz", 0, 0, 1000000000, &burst);
		cfg_pop(c, m2);
		if (ret)
			goto out;
	}
	if ((ret = cfg_get_bool(c, rp, "per_client_ip", false, &per_ip)) ||
	    (ret = cfg_get_bool(c, rp, "per_uri_path", false, &per_path)) ||
	    (ret = sub_obj(c, rp, "action", &ra)))
		goto out;
	r->rl_act = RL_NONE;
	r->status = 429;
	if (ra) {
		size_t m2 = cfg_push(c, ".action");

		ret = cfg_get_enum(c, ra, "type", rl_actions, RL_NONE, &t);
		r->rl_act = t;
		if (!ret)
			ret = status_compile(c, ra, "HTTP_LOCAL_RESPONSE_STATUS_CODE_", 429, 200, 599,
					     &r->status);
		if (!ret)
			ret = file_compile(c, ra, &r->file);
		if (!ret && t == RL_REDIRECT)
			ret = redirect_compile(pc, ra, "redirect", &r->match, true,
					       &r->rl_redirect);
		if (!ret && t == RL_REDIRECT && !r->rl_redirect.set)
			ret = fail_at(c, "redirect", "required with RL_ACTION_REDIRECT%s", "");
		cfg_pop(c, m2);
		if (ret)
			goto out;
	}
	r->rl = hp_rl_new(count, period, burst, per_ip, per_path);
	if (!r->rl)
		ret = cfg_fail(c, "out of memory");
out:
	cfg_pop(c, mark);
	return ret;
}

static int sec_compile(struct pc *pc, json_t *rule, struct hp_rule *r)
{
	struct cfg_ctx *c = pc->c;
	long long port;
	json_t *act;
	size_t mark;
	int a, ret;

	if ((ret = sub_obj(c, rule, "action", &act)))
		return ret;
	if (!act)
		return fail_at(c, "action", "required%s", "");
	mark = cfg_push(c, ".action");
	ret = cfg_get_enum(c, act, "action", sec_actions, -1, &a);
	if (!ret && a < 0)
		ret = fail_at(c, "action", "required (e.g. HTTP_SECURITY_ACTION_ALLOW)%s", "");
	if (!ret)
		r->sec = a;
	if (!ret && a == SEC_RESPOND)
		ret = status_compile(c, act, "HTTP_LOCAL_RESPONSE_STATUS_CODE_", 403, 200, 599,
				     &r->status);
	if (!ret && a == SEC_RESPOND)
		ret = file_compile(c, act, &r->file);
	if (!ret && a == SEC_REDIRECT_HTTPS) {
		ret = cfg_get_int(c, act, "https_port", 443, 1, 65535, &port);
		r->https_port = port;
	}
	if (!ret && a == SEC_RATE_LIMIT)
		ret = rate_compile(pc, act, r);
	cfg_pop(c, mark);
	return ret;
}

static const struct cfg_enum sw_actions[] = {
	{"HTTP_SWITCHING_SELECT_POOL", 0, true},
	{"HTTP_SWITCHING_SELECT_LOCAL", 1, true},
	{"HTTP_SWITCHING_SELECT_POOLGROUP", 2, false},
	{NULL, 0, false},
};

static int switching_compile(struct pc *pc, json_t *rule, struct hp_rule *r)
{
	struct cfg_ctx *c = pc->c;
	union xadc_sockaddr a;
	json_t *sw, *srv, *v;
	struct xadc_pool *p;
	long long port;
	size_t mark, m2;
	unsigned i;
	int act, idx, ret;

	if ((ret = sub_obj(c, rule, "switching_action", &sw)) || !sw)
		return ret;
	mark = cfg_push(c, ".switching_action");
	ret = cfg_get_enum(c, sw, "action", sw_actions, 0, &act);
	r->sw_set = true;
	r->sw_local = act == 1;
	if (!ret && r->sw_local) {
		ret = status_compile(c, sw, "HTTP_LOCAL_RESPONSE_STATUS_CODE_", 200, 200, 599,
				     &r->sw_status);
		if (!ret)
			ret = file_compile(c, sw, &r->sw_file);
		goto out;
	}
	if (ret)
		goto out;
	m2 = cfg_push(c, ".pool_ref");
	idx = cfg_ref_resolve(c, pc->ix, json_object_get(sw, "pool_ref"), CFG_POOL);
	if (idx == -1)
		idx = cfg_fail(c, "required with HTTP_SWITCHING_SELECT_POOL");
	cfg_pop(c, m2);
	if (idx < 0) {
		ret = idx;
		goto out;
	}
	p = r->sw_pool = &pc->s->pools[idx];
	if ((ret = sub_obj(c, sw, "server", &srv)) || !srv)
		goto out;
	m2 = cfg_push(c, ".server");
	ret = cfg_get_int(c, srv, "port", 0, 0, 65535, &port);
	v = json_object_get(srv, "ip");
	if (!ret && !v)
		ret = fail_at(c, "ip", "required%s", "");
	if (!ret) {
		size_t m3 = cfg_push(c, ".ip");

		ret = cfg_parse_ip(c, v, port, &a);
		cfg_pop(c, m3);
	}
	for (i = 0; !ret && i < p->nservers; i++) {
		const union xadc_sockaddr *sa = &p->servers[i].addr;

		if (a.sa.sa_family == sa->sa.sa_family &&
		    (a.sa.sa_family == AF_INET6
			 ? !memcmp(&a.in6.sin6_addr, &sa->in6.sin6_addr, 16) &&
			       (!port || a.in6.sin6_port == sa->in6.sin6_port)
			 : a.in.sin_addr.s_addr == sa->in.sin_addr.s_addr &&
			       (!port || a.in.sin_port == sa->in.sin_port)))
			break;
	}
	if (!ret && i == p->nservers)
		ret = cfg_fail(c, "no such server in pool %s", p->name);
	if (!ret)
		r->sw_server = &p->servers[i];
	cfg_pop(c, m2);
out:
	cfg_pop(c, mark);
	return ret;
}

static int rewrite_compile(struct pc *pc, json_t *rule, struct hp_rule *r)
{
	struct cfg_ctx *c = pc->c;
	const char *add = NULL;
	json_t *rw, *q;
	size_t mark;
	int ret;

	if ((ret = sub_obj(c, rule, "rewrite_url_action", &rw)) || !rw)
		return ret;
	mark = cfg_push(c, ".rewrite_url_action");
	r->rewrite = true;
	ret = uri_compile(pc, rw, "host_hdr", &r->match, &r->rw_host);
	if (!ret)
		ret = uri_compile(pc, rw, "path", &r->match, &r->rw_path);
	if (!ret)
		ret = sub_obj(c, rw, "query", &q);
	if (!ret && q) {
		size_t m2 = cfg_push(c, ".query");

		r->rw_query_set = true;
		ret = cfg_get_bool(c, q, "keep_query", true, &r->rw_keep_query);
		if (!ret)
			ret = cfg_get_str(c, q, "add_string", "", 4096, &add);
		if (!ret && (!one_line(add) || strpbrk(add, " #")))
			ret = fail_at(c, "add_string", "must not contain spaces, '#' or control characters%s",
				      "");
		cfg_pop(c, m2);
		if (!ret) {
			r->rw_add = strdup(add);
			r->rw_add_len = strlen(add);
		}
	}
	cfg_pop(c, mark);
	return ret;
}

/* ------------------------------------------------------------ rules */

static int rule_compile(struct pc *pc, json_t *rule, enum hp_policy_type t, struct hp_rule *r)
{
	struct cfg_ctx *c = pc->c;
	const char *name = NULL;
	long long idx;
	int ret;

	if (!json_is_object(rule))
		return cfg_fail(c, "expected an object");
	if ((ret = cfg_get_str(c, rule, "name", NULL, XADC_NAME_MAX, &name)) ||
	    (ret = cfg_get_int(c, rule, "index", -1, 0, 1000000000, &idx)) ||
	    (ret = cfg_get_bool(c, rule, "log", false, &r->log)) ||
	    (ret = cfg_get_bool(c, rule, "all_headers", false, &r->all_headers)))
		return ret;
	if (!pc->needs_pass && (!name || !*name))
		return fail_at(c, "name", "required%s", "");
	if (!pc->needs_pass && idx < 0)
		return fail_at(c, "index", "required%s", "");
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->index = idx;
	if ((ret = match_compile(pc, rule, t, &r->match)))
		return ret;
	if (pc->needs_pass) {
		/* URI params may name string groups too */
		struct hp_rule tmp = {0};

		ret = redirect_compile(pc, rule, "redirect_action", &r->match, true, &tmp.redirect);
		if (!ret)
			ret = rewrite_compile(pc, rule, &tmp);
		hp_free_rule(&tmp);
		return ret;
	}
	switch (t) {
	case HP_SEC:
		return sec_compile(pc, rule, r);
	case HP_REQ:
		if ((ret = hdr_acts(c, rule, r)) ||
		    (ret = redirect_compile(pc, rule, "redirect_action", &r->match, true,
					    &r->redirect)) ||
		    (ret = rewrite_compile(pc, rule, r)) || (ret = switching_compile(pc, rule, r)))
			return ret;
		return 0;
	default:
		if ((ret = hdr_acts(c, rule, r)) ||
		    (ret = redirect_compile(pc, rule, "loc_hdr_action", &r->match, false,
					    &r->redirect)))
			return ret;
		return 0;
	}
}

static int rule_cmp(const void *a, const void *b)
{
	const struct hp_rule *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* One policy (rules[]) of a set. Disabled rules are checked, then dropped. */
static int policy_compile(struct pc *pc, json_t *pol, enum hp_policy_type t, struct hp_set *set)
{
	struct cfg_ctx *c = pc->c;
	struct hp_policy *p = &set->pol[t];
	json_t *rules, *rule;
	size_t i, j, mark;
	bool enable;
	int ret;

	if ((ret = cfg_get_arr(c, pol, "rules", &rules)) || !rules)
		return ret;
	if (!pc->needs_pass) {
		p->rules = calloc(json_array_size(rules) + 1, sizeof(*p->rules));
		if (!p->rules)
			return cfg_fail(c, "out of memory");
	}
	json_array_foreach(rules, i, rule) {
		struct hp_rule tmp;
		struct hp_rule *r = pc->needs_pass ? &tmp : &p->rules[p->nrules];

		memset(r, 0, sizeof(*r));
		mark = cfg_push(c, ".rules[%zu]", i);
		ret = cfg_get_bool(c, rule, "enable", true, &enable);
		if (!ret)
			ret = rule_compile(pc, rule, t, r);
		for (j = 0; !ret && !pc->needs_pass && j < p->nrules; j++)
			if (p->rules[j].index == r->index)
				ret = cfg_fail(c, "index %u is also used by rule \"%s\"", r->index,
					       p->rules[j].name);
		cfg_pop(c, mark);
		if (pc->needs_pass) {
			hp_free_rule(r);
			if (ret)
				return ret;
			continue;
		}
		r->slot = set->nslots;
		p->nrules++;	/* counted so a failure frees it */
		if (ret)
			return ret;
		if (!enable) {
			p->nrules--;
			memset(&p->rules[p->nrules], 0, sizeof(*r));
			continue;
		}
		set->nslots++;
	}
	if (pc->needs_pass)
		return 0;
	/* duplicate index check above covers enabled rules only; fine: a
	 * disabled rule never runs */
	qsort(p->rules, p->nrules, sizeof(*p->rules), rule_cmp);
	for (i = 0; i + 1 < p->nrules; i++) {
		if (!match_total(&p->rules[i].match))
			continue;
		for (j = i + 1; j < p->nrules; j++) {
			mark = cfg_push(c, ".rules[index %u]", p->rules[j].index);
			cfg_warn(c, "rule \"%s\" is shadowed by rule \"%s\" (index %u), which matches every request",
				 p->rules[j].name, p->rules[i].name, p->rules[i].index);
			cfg_pop(c, mark);
		}
		break;
	}
	return 0;
}

static int set_compile(struct pc *pc, json_t *obj, struct hp_set *set)
{
	unsigned t, nw = xadc_nworkers ? xadc_nworkers : 1;
	json_t *pol;
	size_t mark;
	int ret;

	if (!pc->needs_pass) {
		snprintf(set->name, sizeof(set->name), "%s",
			 json_string_value(json_object_get(obj, "name")));
		snprintf(set->uuid, sizeof(set->uuid), "%s",
			 json_string_value(json_object_get(obj, "uuid")) ?: "");
	}
	for (t = 0; t < HP__NTYPES; t++) {
		if ((ret = sub_obj(pc->c, obj, pol_fields[t], &pol)))
			return ret;
		if (!pol)
			continue;
		mark = cfg_push(pc->c, ".%s", pol_fields[t]);
		ret = policy_compile(pc, pol, t, set);
		cfg_pop(pc->c, mark);
		if (ret)
			return ret;
	}
	if (pc->needs_pass)
		return 0;
	set->stride = (set->nslots + 7) & ~7u;
	if (!set->stride)
		set->stride = 8;
	if (posix_memalign((void **)&set->hits, XADC_CACHELINE,
			   (size_t)nw * set->stride * sizeof(uint64_t)))
		return cfg_fail(pc->c, "out of memory");
	memset(set->hits, 0, (size_t)nw * set->stride * sizeof(uint64_t));
	return 0;
}

/* ------------------------------------------------------------ groups */

static int sg_compile(struct pc *pc, json_t *obj, unsigned needs, struct xadc_named_set *ns)
{
	struct cfg_ctx *c = pc->c;
	struct xadc_str_entry *ent;
	const char *type = NULL, *k, *v;
	char prefix[XADC_NAME_MAX + 32];
	json_t *kv, *e, *err = NULL;
	size_t i, mark;
	int ret;

	snprintf(ns->name, sizeof(ns->name), "%s", json_string_value(json_object_get(obj, "name")));
	snprintf(ns->uuid, sizeof(ns->uuid), "%s",
		 json_string_value(json_object_get(obj, "uuid")) ?: "");
	if ((ret = cfg_get_str(c, obj, "type", "SG_TYPE_STRING", 32, &type)) ||
	    (ret = cfg_get_bool(c, obj, "longest_match", true, &ns->longest_match)) ||
	    (ret = cfg_get_arr(c, obj, "kv", &kv)))
		return ret;
	if (strcmp(type, "SG_TYPE_STRING") && strcmp(type, "SG_TYPE_KEYVAL"))
		return fail_at(c, "type", "expected SG_TYPE_STRING or SG_TYPE_KEYVAL, got \"%s\"",
			       type);
	ns->keyval = !strcmp(type, "SG_TYPE_KEYVAL");
	ent = calloc(json_array_size(kv) + 1, sizeof(*ent));
	if (!ent)
		return cfg_fail(c, "out of memory");
	json_array_foreach(kv, i, e) {
		mark = cfg_push(c, ".kv[%zu]", i);
		k = v = NULL;
		if (!json_is_object(e))
			ret = cfg_fail(c, "expected {\"key\": ..., \"value\": ...}");
		else if (!(ret = cfg_get_str(c, e, "key", NULL, 4096, &k)) &&
			 !(ret = cfg_get_str(c, e, "value", "", 4096, &v)) && (!k || !*k))
			ret = fail_at(c, "key", "required%s", "");
		cfg_pop(c, mark);
		if (ret)
			goto out;
		ent[i] = (struct xadc_str_entry){k, strlen(k), v, strlen(v)};
	}
	/* an unused group is still built (and checked) for exact lookups,
	 * which DataScripts use */
	if (!needs)
		needs = XADC_SOP_BIT(XADC_SOP_EQUALS, false);
	snprintf(prefix, sizeof(prefix), "stringgroup[%s]", ns->name);
	ns->set = xadc_strset_build(prefix, ent, json_array_size(kv), needs, &err);
	if (!ns->set) {
		if (err && !c->err)
			c->err = err;
		else
			json_decref(err);
		ret = err ? -EINVAL : cfg_fail(c, "out of memory");
	}
out:
	free(ent);
	return ret;
}

static int ipg_compile(struct cfg_ctx *c, json_t *obj, struct xadc_named_set *ns)
{
	struct xadc_ipset *s;
	size_t n = 0;
	int ret;

	snprintf(ns->name, sizeof(ns->name), "%s", json_string_value(json_object_get(obj, "name")));
	snprintf(ns->uuid, sizeof(ns->uuid), "%s",
		 json_string_value(json_object_get(obj, "uuid")) ?: "");
	s = ns->set = xadc_ipset_new();
	if (!s)
		return cfg_fail(c, "out of memory");
	if ((ret = ip_entries(c, obj, s, &n)))
		return ret;
	if (xadc_ipset_build(s))
		return cfg_fail(c, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ entry points */

/* Run fn over every object of kind with the path set to its label. */
static int each(struct pc *pc, int kind, int (*fn)(struct pc *pc, json_t *obj, unsigned i))
{
	char label[XADC_NAME_MAX + 64];
	json_t *obj;
	size_t i, mark;
	int ret;

	json_array_foreach(pc->ix->objs[kind], i, obj) {
		cfg_obj_label(kind, obj, i - pc->ix->nbuiltin[kind], label, sizeof(label));
		mark = cfg_push(pc->c, "%s", label);
		ret = fn(pc, obj, i);
		cfg_pop(pc->c, mark);
		if (ret)
			return ret;
	}
	return 0;
}

static int each_needs(struct pc *pc, json_t *obj, unsigned i)
{
	struct hp_set dummy = {0};

	return set_compile(pc, obj, &dummy);
}

static int each_sg(struct pc *pc, json_t *obj, unsigned i)
{
	pc->s->nstrgroups = i + 1;
	return sg_compile(pc, obj, pc->needs[i], &pc->s->strgroups[i]);
}

static int each_ipg(struct pc *pc, json_t *obj, unsigned i)
{
	pc->s->nipgroups = i + 1;
	return ipg_compile(pc->c, obj, &pc->s->ipgroups[i]);
}

static int each_set(struct pc *pc, json_t *obj, unsigned i)
{
	struct hp_db *db = pc->s->hpsets;

	db->nsets = i + 1;
	return set_compile(pc, obj, &db->sets[i]);
}

int cfg_policy_compile(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s)
{
	struct pc pc = {.c = c, .ix = ix, .s = s};
	size_t nsg = json_array_size(ix->objs[CFG_SG]);
	size_t nipg = json_array_size(ix->objs[CFG_IPG]);
	size_t nset = json_array_size(ix->objs[CFG_HPS]);
	struct hp_db *db;
	int ret;

	pc.needs = calloc(nsg + 1, sizeof(*pc.needs));
	s->strgroups = calloc(nsg + 1, sizeof(*s->strgroups));
	s->ipgroups = calloc(nipg + 1, sizeof(*s->ipgroups));
	db = s->hpsets = calloc(1, sizeof(*db));
	if (db)
		db->sets = calloc(nset + 1, sizeof(*db->sets));
	if (!pc.needs || !s->strgroups || !s->ipgroups || !db || !db->sets) {
		ret = cfg_fail(c, "out of memory");
		goto out;
	}
	pc.needs_pass = true;
	ret = each(&pc, CFG_HPS, each_needs);
	pc.needs_pass = false;
	if (!ret)	/* issue 5: operators avi.stringgroup.* uses */
		ret = cfg_ds_sg_needs(ix, pc.needs);
	if (!ret)
		ret = each(&pc, CFG_SG, each_sg);
	if (!ret)
		ret = each(&pc, CFG_IPG, each_ipg);
	if (!ret)
		ret = each(&pc, CFG_HPS, each_set);
out:
	free(pc.needs);
	return ret;
}

int cfg_policy_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
		  json_t *obj, struct xadc_vs *vs)
{
	struct hp_db *db = s->hpsets;
	struct cfg_indexed_ref ent[64];
	struct hp_vs *hv;
	int i, n;

	n = cfg_indexed_refs(c, ix, obj, "http_policies", "http_policy_set_ref", CFG_HPS, ent,
			     ARRAY_SIZE(ent));
	if (n <= 0)
		return n;
	hv = calloc(1, sizeof(*hv) + n * sizeof(hv->sets[0]));
	if (!hv)
		return cfg_fail(c, "out of memory");
	hv->nsets = n;
	for (i = 0; i < n; i++) {
		const struct hp_policy *rp;
		unsigned j;

		hv->sets[i] = &db->sets[ent[i].obj];
		rp = &hv->sets[i]->pol[HP_RSP];
		for (j = 0; j < rp->nrules; j++)
			if (rp->rules[j].match.nhdrs || rp->rules[j].match.cookie.set)
				hv->rsp_req_head = true;
	}
	vs->http_policies = hv;
	return 0;
}
