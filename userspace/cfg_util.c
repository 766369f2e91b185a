// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_util.c - helpers of the configuration modules: kind names, error
 * paths, typed field getters, IP parsing, JSON merge patch and the
 * normalisation of a submitted document into store form.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg_internal.h"

const char *const cfg_kind_names[CFG_NKINDS] = {
    [CFG_VS] = "virtualservice",
    [CFG_POOL] = "pool",
    [CFG_HM] = "healthmonitor",
    [CFG_APP] = "applicationprofile",
    [CFG_PERSIST] = "applicationpersistenceprofile",
    /* Newer Avi versions keep a VS's addresses in a VsVip object. */
    [CFG_VSVIP] = "vsvip",
    /* issue 4: DataSets and HTTP policy sets (Avi: StringGroup,
     * IpAddrGroup, HTTPPolicySet) */
    [CFG_SG] = "stringgroup",
    [CFG_IPG] = "ipaddrgroup",
    [CFG_HPS] = "httppolicyset",
    /* issue 5: Avi VSDataScriptSet */
    [CFG_DSS] = "vsdatascriptset",
    /* issue 3: Avi NetworkSecurityPolicy; serviceengine: xadc extension */
    [CFG_NSP] = "networksecuritypolicy",
    [CFG_SE] = "serviceengine",
};

/* Avi export type names differ from REST names only in case
 * ("VirtualService"), so one case-insensitive compare covers both. */
int cfg_kind_id(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < CFG_NKINDS; i++)
		if (!strcasecmp(name, cfg_kind_names[i]))
			return i;
	return -1;
}

const char *xadc_cfg_kind(const char *name)
{
	int k = cfg_kind_id(name);

	return k < 0 ? NULL : cfg_kind_names[k];
}

/* {"error": "path: reason", "path": path, "reason": reason}. */
json_t *xadc_cfg_error(const char *path, const char *fmt, ...)
{
	char reason[512], full[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (path && *path)
		snprintf(full, sizeof(full), "%s: %s", path, reason);
	else
		snprintf(full, sizeof(full), "%s", reason);
	return json_pack("{s:s, s:s, s:s}", "error", full, "path", path ? path : "", "reason",
			 reason);
}

void cfg_ctx_init(struct cfg_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->warnings = json_array();
}

size_t cfg_push(struct cfg_ctx *c, const char *fmt, ...)
{
	size_t mark = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return mark;
}

void cfg_pop(struct cfg_ctx *c, size_t mark)
{
	c->plen = mark;
	c->path[mark] = '\0';
}

int cfg_fail(struct cfg_ctx *c, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (c->err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->err = xadc_cfg_error(c->path, "%s", reason);
	return -EINVAL;
}

void cfg_warn(struct cfg_ctx *c, const char *fmt, ...)
{
	char reason[512], full[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (c->plen)
		snprintf(full, sizeof(full), "%s: %s", c->path, reason);
	else
		snprintf(full, sizeof(full), "%s", reason);
	pr_warn("cfg", "%s", full);
	if (c->warnings)
		json_array_append_new(c->warnings, json_string(full));
}

/* Absent and JSON null both mean "use the default". */
static json_t *field_get(json_t *obj, const char *field)
{
	json_t *v = json_object_get(obj, field);

	return json_is_null(v) ? NULL : v;
}

int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *field, long long def, long long min,
		long long max, long long *out)
{
	json_t *v = field_get(obj, field);
	size_t mark;
	long long x;
	int ret = 0;

	if (!v) {
		*out = def;
		return 0;
	}
	mark = cfg_push(c, ".%s", field);
	if (!json_is_integer(v)) {
		ret = cfg_fail(c, "expected an integer");
		goto out;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		ret = cfg_fail(c, "must be between %lld and %lld (got %lld)", min, max, x);
		goto out;
	}
	*out = x;
out:
	cfg_pop(c, mark);
	return ret;
}

int cfg_get_bool(struct cfg_ctx *c, json_t *obj, const char *field, bool def, bool *out)
{
	json_t *v = field_get(obj, field);
	size_t mark;

	if (!v) {
		*out = def;
		return 0;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	mark = cfg_push(c, ".%s", field);
	cfg_fail(c, "expected true or false");
	cfg_pop(c, mark);
	return -EINVAL;
}

int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *field, const char *def, size_t maxlen,
		const char **out)
{
	json_t *v = field_get(obj, field);
	size_t mark;
	int ret = 0;

	if (!v) {
		*out = def;
		return 0;
	}
	mark = cfg_push(c, ".%s", field);
	if (!json_is_string(v))
		ret = cfg_fail(c, "expected a string");
	else if (json_string_length(v) >= maxlen)
		ret = cfg_fail(c, "longer than %zu characters", maxlen - 1);
	else if (strlen(json_string_value(v)) != json_string_length(v))
		ret = cfg_fail(c, "contains a NUL character");
	else
		*out = json_string_value(v);
	cfg_pop(c, mark);
	return ret;
}

/* "A, B, C" of the supported values of tab. */
static void enum_list(const struct cfg_enum *tab, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; tab->name; tab++) {
		if (!tab->supported)
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? ", " : "",
				tab->name);
	}
}

int cfg_enum_value(struct cfg_ctx *c, const char *s, const struct cfg_enum *tab, int *out)
{
	const struct cfg_enum *e;
	char list[512];

	for (e = tab; e->name; e++)
		if (!strcmp(e->name, s))
			break;
	if (e->name && e->supported) {
		*out = e->value;
		return 0;
	}
	enum_list(tab, list, sizeof(list));
	if (e->name)
		return cfg_fail(c, "%s is not supported (supported: %s)", s, list);
	return cfg_fail(c, "unknown value \"%s\" (supported: %s)", s, list);
}

int cfg_get_enum(struct cfg_ctx *c, json_t *obj, const char *field, const struct cfg_enum *tab,
		 int def, int *out)
{
	const char *s = NULL;
	size_t mark;
	int ret;

	ret = cfg_get_str(c, obj, field, NULL, 128, &s);
	if (ret)
		return ret;
	if (!s) {
		*out = def;
		return 0;
	}
	mark = cfg_push(c, ".%s", field);
	ret = cfg_enum_value(c, s, tab, out);
	cfg_pop(c, mark);
	return ret;
}

static int parse_addr(struct cfg_ctx *c, const char *s, int want, uint16_t port,
		      union xadc_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->in.sin_addr) == 1) {
		if (want == AF_INET6)
			return cfg_fail(c, "\"%s\" is not an IPv6 address (type V6)", s);
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->in6.sin6_addr) == 1) {
		if (want == AF_INET)
			return cfg_fail(c, "\"%s\" is not an IPv4 address (type V4)", s);
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		return 0;
	}
	return cfg_fail(c, "\"%s\" is not a valid IPv4 or IPv6 address", s);
}

int cfg_parse_ip(struct cfg_ctx *c, json_t *v, uint16_t port, union xadc_sockaddr *out)
{
	static const struct cfg_enum types[] = {
	    {"V4", AF_INET, true},
	    {"V6", AF_INET6, true},
	    {"DNS", 0, false},
	    {NULL, 0, false},
	};
	const char *addr = NULL;
	int want = AF_UNSPEC, ret;
	size_t mark;

	if (json_is_string(v))
		return parse_addr(c, json_string_value(v), AF_UNSPEC, port, out);
	if (!json_is_object(v))
		return cfg_fail(c, "expected an address string or {\"addr\", \"type\"}");
	ret = cfg_get_enum(c, v, "type", types, AF_UNSPEC, &want);
	if (ret)
		return ret;
	ret = cfg_get_str(c, v, "addr", NULL, 64, &addr);
	if (ret)
		return ret;
	mark = cfg_push(c, ".addr");
	if (!addr)
		ret = cfg_fail(c, "required");
	else
		ret = parse_addr(c, addr, want, port, out);
	cfg_pop(c, mark);
	return ret;
}

json_t *cfg_merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *res, *v;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	res = json_is_object(target) ? json_deep_copy(target) : json_object();
	if (!res)
		return NULL;
	json_object_foreach(patch, key, v) {
		if (json_is_null(v)) {
			json_object_del(res, key);
		} else if (json_object_set_new(res, key,
					       cfg_merge_patch(json_object_get(res, key), v))) {
			json_decref(res);
			return NULL;
		}
	}
	return res;
}

void cfg_obj_label(int kind, json_t *obj, size_t idx, char *buf, size_t len)
{
	const char *name = json_string_value(json_object_get(obj, "name"));

	if (name && *name)
		snprintf(buf, len, "%s[%s]", cfg_kind_names[kind], name);
	else
		snprintf(buf, len, "%s[%zu]", cfg_kind_names[kind], idx);
}

/* Append the objects of one array of the submitted document under kind. */
static int normalize_kind(struct cfg_ctx *c, json_t *out, int kind, json_t *arr)
{
	json_t *dst = json_object_get(out, cfg_kind_names[kind]), *o;
	const char *name;
	size_t i, mark;
	int ret = 0;

	/* Paths use the canonical kind whatever alias the document used. */
	mark = cfg_push(c, "%s", cfg_kind_names[kind]);
	if (!json_is_array(arr)) {
		ret = cfg_fail(c, "expected an array of objects");
		goto out;
	}
	json_array_foreach(arr, i, o) {
		size_t m2 = cfg_push(c, "[%zu]", i);

		if (!json_is_object(o)) {
			ret = cfg_fail(c, "expected an object");
			goto out;
		}
		name = json_string_value(json_object_get(o, "name"));
		if (name && cfg_builtin_find(kind, name)) {
			cfg_warn(c, "%s is a built-in object, ignored", name);
		} else if (json_array_append_new(dst, json_deep_copy(o))) {
			ret = cfg_fail(c, "out of memory");
			goto out;
		}
		cfg_pop(c, m2);
	}
out:
	cfg_pop(c, mark);
	return ret;
}

json_t *cfg_normalize(struct cfg_ctx *c, json_t *doc)
{
	const char *key;
	json_t *out, *v;
	int k;

	if (!json_is_object(doc)) {
		cfg_fail(c, "expected a JSON object {\"<kind>\": [objects...]}");
		return NULL;
	}
	out = json_object();
	for (k = 0; k < CFG_NKINDS; k++)
		json_object_set_new(out, cfg_kind_names[k], json_array());
	json_object_foreach(doc, key, v) {
		k = cfg_kind_id(key);
		if (k < 0) {
			size_t mark = cfg_push(c, "%s", key);

			if (!strcmp(key, "META"))
				cfg_warn(c, "export metadata ignored");
			else
				cfg_warn(c, "unsupported kind, ignored");
			cfg_pop(c, mark);
			continue;
		}
		if (normalize_kind(c, out, k, v)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int cfg_get_arr(struct cfg_ctx *c, json_t *obj, const char *field, json_t **out)
{
	json_t *v = json_object_get(obj, field);
	size_t mark;
	int ret;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		mark = cfg_push(c, ".%s", field);
		ret = cfg_fail(c, "expected an array");
		cfg_pop(c, mark);
		return ret;
	}
	*out = v;
	return 0;
}

static int ip_prefix_entry(struct cfg_ctx *c, json_t *v, const struct cfg_ip_sink *sink)
{
	union xadc_sockaddr a;
	long long mask;
	size_t mark;
	int ret;

	if (!json_is_object(v))
		return cfg_fail(c, "expected {\"ip_addr\": {...}, \"mask\": N}");
	mark = cfg_push(c, ".ip_addr");
	ret = cfg_parse_ip(c, json_object_get(v, "ip_addr"), 0, &a);
	cfg_pop(c, mark);
	if (!ret)
		ret = cfg_get_int(c, v, "mask", -1, 0, a.sa.sa_family == AF_INET6 ? 128 : 32, &mask);
	if (!ret && mask < 0) {
		mark = cfg_push(c, ".mask");
		ret = cfg_fail(c, "required");
		cfg_pop(c, mark);
	}
	return ret ? ret : sink->prefix(c, sink->arg, &a, (unsigned)mask);
}

static int ip_range_entry(struct cfg_ctx *c, json_t *v, const struct cfg_ip_sink *sink)
{
	union xadc_sockaddr a, b;
	size_t mark;
	int ret;

	if (!json_is_object(v))
		return cfg_fail(c, "expected {\"begin\": .., \"end\": ..}");
	mark = cfg_push(c, ".begin");
	ret = cfg_parse_ip(c, json_object_get(v, "begin"), 0, &a);
	cfg_pop(c, mark);
	mark = cfg_push(c, ".end");
	if (!ret)
		ret = cfg_parse_ip(c, json_object_get(v, "end"), 0, &b);
	if (!ret && a.sa.sa_family != b.sa.sa_family)
		ret = cfg_fail(c, "begin and end are of different families");
	if (!ret)
		ret = sink->range(c, sink->arg, &a, &b);
	cfg_pop(c, mark);
	return ret;
}

int cfg_ip_entries(struct cfg_ctx *c, json_t *obj, const struct cfg_ip_sink *sink, size_t *count)
{
	union xadc_sockaddr a;
	json_t *arr, *v;
	size_t i, mark;
	int ret;

	if ((ret = cfg_get_arr(c, obj, "addrs", &arr)))
		return ret;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".addrs[%zu]", i);
		ret = cfg_parse_ip(c, v, 0, &a);
		if (!ret)
			ret = sink->prefix(c, sink->arg, &a, a.sa.sa_family == AF_INET6 ? 128 : 32);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		(*count)++;
	}
	if ((ret = cfg_get_arr(c, obj, "prefixes", &arr)))
		return ret;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".prefixes[%zu]", i);
		ret = ip_prefix_entry(c, v, sink);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		(*count)++;
	}
	if ((ret = cfg_get_arr(c, obj, "ranges", &arr)))
		return ret;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".ranges[%zu]", i);
		ret = ip_range_entry(c, v, sink);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		(*count)++;
	}
	return 0;
}
