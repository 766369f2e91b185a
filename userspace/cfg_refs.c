// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_refs.c - Avi object refs: parsing every form Avi and its users write,
 * the name/uuid index they resolve against, and the reverse search used to
 * refuse deleting an object that is still referenced.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfg_internal.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Copy [s, end) into dst (size len) undoing %XX and '+' escapes. */
static int url_decode(const char *s, const char *end, char *dst, size_t len)
{
	size_t n = 0;

	while (s < end) {
		int ch = (unsigned char)*s++;

		if (ch == '%' && end - s >= 2 && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
			ch = hexval(s[0]) * 16 + hexval(s[1]);
			s += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		if (n + 1 >= len || ch == 0)
			return -EINVAL;
		dst[n++] = (char)ch;
	}
	dst[n] = '\0';
	return 0;
}

static const char *span_until(const char *p, const char *stops)
{
	return p + strcspn(p, stops);
}

/* The "name=" parameter of a query string [p, end), if any. */
static int parse_query(const char *p, const char *end, struct cfg_ref *r)
{
	while (p < end) {
		const char *amp = memchr(p, '&', end - p);
		const char *stop = amp ? amp : end;

		if (stop - p > 5 && !strncmp(p, "name=", 5) &&
		    url_decode(p + 5, stop, r->name, sizeof(r->name)))
			return -EINVAL;
		p = amp ? amp + 1 : end;
	}
	return 0;
}

/*
 * Accepts "/api/pool?name=web", "/api/pool/?tenant=admin&name=web",
 * "/api/pool/<uuid>", "https://ctrl/api/pool/<uuid>#web" and a bare "web".
 */
int cfg_ref_parse(const char *s, struct cfg_ref *r)
{
	const char *p = strstr(s, "/api/"), *e;

	memset(r, 0, sizeof(*r));
	r->kind = -1;
	if (!p) {
		/* A bare name. */
		if (!*s || strlen(s) >= sizeof(r->name) || strchr(s, '/') || strchr(s, '?'))
			return -EINVAL;
		strcpy(r->name, s);
		return 0;
	}
	p += 5;
	e = span_until(p, "/?#");
	if (e == p || (size_t)(e - p) >= sizeof(r->kind_name))
		return -EINVAL;
	memcpy(r->kind_name, p, e - p);
	r->kind = cfg_kind_id(r->kind_name);
	p = e;
	if (*p == '/') {
		e = span_until(++p, "/?#");
		if ((size_t)(e - p) >= sizeof(r->uuid))
			return -EINVAL;
		memcpy(r->uuid, p, e - p);
		r->uuid[e - p] = '\0';
		p = e;
		if (*p == '/')
			p++;
	}
	if (*p == '?') {
		e = span_until(++p, "#");
		if (parse_query(p, e, r))
			return -EINVAL;
		p = e;
	}
	/* Avi's own refs carry the name as a fragment after the uuid. */
	if (*p == '#' && !r->name[0] && url_decode(p + 1, p + strlen(p), r->name, sizeof(r->name)))
		return -EINVAL;
	if (!r->uuid[0] && !r->name[0])
		return -EINVAL;
	return 0;
}

void cfg_index_free(struct cfg_index *ix)
{
	int k;

	for (k = 0; k < CFG_NKINDS; k++) {
		json_decref(ix->objs[k]);
		json_decref(ix->by_name[k]);
		json_decref(ix->by_uuid[k]);
	}
	memset(ix, 0, sizeof(*ix));
}

static bool name_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Add obj as index i of kind, checking its name and uuid. */
static int index_add(struct cfg_ctx *c, struct cfg_index *ix, int k, json_t *obj, size_t i)
{
	const char *name = NULL, *uuid = NULL;
	json_t *prev;
	int ret;

	ret = cfg_get_str(c, obj, "name", NULL, XADC_NAME_MAX, &name);
	if (!ret)
		ret = cfg_get_str(c, obj, "uuid", NULL, 64, &uuid);
	if (ret)
		return ret;
	if (!name || !*name || !name_ok(name)) {
		size_t mark = cfg_push(c, ".name");

		ret = cfg_fail(c, name ? "must be printable and not empty" : "required");
		cfg_pop(c, mark);
		return ret;
	}
	prev = json_object_get(ix->by_name[k], name);
	if (prev)
		return cfg_fail(c, "duplicate name: another %s is named \"%s\"", cfg_kind_names[k],
				name);
	if (uuid && *uuid) {
		if (json_object_get(ix->by_uuid[k], uuid))
			return cfg_fail(c, "duplicate uuid \"%s\"", uuid);
		json_object_set_new(ix->by_uuid[k], uuid, json_integer(i));
	}
	json_object_set_new(ix->by_name[k], name, json_integer(i));
	return 0;
}

int cfg_index_build(struct cfg_ctx *c, json_t *doc, struct cfg_index *ix)
{
	json_t *bi = cfg_builtins(), *obj;
	char label[XADC_NAME_MAX + 64];
	size_t i, n, mark;
	int k, ret;

	memset(ix, 0, sizeof(*ix));
	for (k = 0; k < CFG_NKINDS; k++) {
		ix->objs[k] = json_array();
		ix->by_name[k] = json_object();
		ix->by_uuid[k] = json_object();
		json_array_extend(ix->objs[k], json_object_get(bi, cfg_kind_names[k]));
		ix->nbuiltin[k] = json_array_size(ix->objs[k]);
		json_array_extend(ix->objs[k], json_object_get(doc, cfg_kind_names[k]));
		n = json_array_size(ix->objs[k]);
		for (i = 0; i < n; i++) {
			obj = json_array_get(ix->objs[k], i);
			cfg_obj_label(k, obj, i - ix->nbuiltin[k], label, sizeof(label));
			mark = cfg_push(c, "%s", label);
			ret = index_add(c, ix, k, obj, i);
			cfg_pop(c, mark);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int cfg_ref_resolve(struct cfg_ctx *c, const struct cfg_index *ix, json_t *ref, int kind)
{
	const char *want = cfg_kind_names[kind], *s;
	struct cfg_ref r;
	json_t *hit = NULL;

	if (!ref || json_is_null(ref))
		return -1;
	if (!json_is_string(ref))
		return cfg_fail(c, "expected a ref string such as \"/api/%s?name=NAME\"", want);
	s = json_string_value(ref);
	if (cfg_ref_parse(s, &r))
		return cfg_fail(c, "invalid ref \"%s\"", s);
	if (r.kind < 0 && r.kind_name[0])
		return cfg_fail(c, "\"%s\" refers to an unsupported kind \"%s\", expected a %s", s,
				r.kind_name, want);
	if (r.kind >= 0 && r.kind != kind)
		return cfg_fail(c, "\"%s\" refers to a %s, expected a %s", s,
				cfg_kind_names[r.kind], want);
	if (r.uuid[0])
		hit = json_object_get(ix->by_uuid[kind], r.uuid);
	/* An export's uuids may not match ours; its "#name" still does. */
	if (!hit && r.name[0])
		hit = json_object_get(ix->by_name[kind], r.name);
	if (hit)
		return (int)json_integer_value(hit);
	if (r.name[0])
		return cfg_fail(c, "no %s named \"%s\"", want, r.name);
	return cfg_fail(c, "no %s with uuid \"%s\"", want, r.uuid);
}

/* Kind a bare-name ref in a known field points to, or -1. */
static int field_kind(const char *field)
{
	static const struct {
		const char *field;
		int kind;
	} map[] = {
	    {"pool_ref", CFG_POOL},
	    {"application_profile_ref", CFG_APP},
	    {"application_persistence_profile_ref", CFG_PERSIST},
	    {"health_monitor_refs", CFG_HM},
	    {"vsvip_ref", CFG_VSVIP},
	    /* issue 4 */
	    {"string_group_refs", CFG_SG},
	    {"group_refs", CFG_IPG},
	    {"http_policy_set_ref", CFG_HPS},
	    /* issue 5 */
	    {"pool_refs", CFG_POOL},
	    {"ipgroup_refs", CFG_IPG},
	    {"vs_datascript_set_ref", CFG_DSS},
	    /* issue 3 */
	    {"network_security_policy_ref", CFG_NSP},
	    {"scaleout_se_refs", CFG_SE},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(map[i].field, field))
			return map[i].kind;
	return -1;
}

struct referrer_search {
	int kind;
	const char *name, *uuid;
	char *who;
	size_t len;
};

static bool ref_matches(struct referrer_search *rs, const char *field, json_t *v)
{
	struct cfg_ref r;

	if (!json_is_string(v) || cfg_ref_parse(json_string_value(v), &r))
		return false;
	if (r.kind < 0 && !r.kind_name[0])
		r.kind = field_kind(field);
	if (r.kind != rs->kind)
		return false;
	return (r.uuid[0] && rs->uuid && !strcmp(r.uuid, rs->uuid)) ||
	       (r.name[0] && !strcmp(r.name, rs->name));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Walk v (at path) for *_ref / *_refs fields naming the target. */
static bool walk_refs(struct referrer_search *rs, json_t *v, const char *path)
{
	char sub[1024];
	const char *key;
	json_t *x, *y;
	size_t i, j;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (walk_refs(rs, x, sub))
				return true;
		}
		return false;
	}
	json_object_foreach(v, key, x) {
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (ends_with(key, "_ref") && ref_matches(rs, key, x))
			goto hit;
		if (ends_with(key, "_refs") && json_is_array(x)) {
			json_array_foreach(x, j, y) {
				if (ref_matches(rs, key, y)) {
					snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, key, j);
					goto hit;
				}
			}
		}
		if ((json_is_object(x) || json_is_array(x)) && walk_refs(rs, x, sub))
			return true;
	}
	return false;
hit:
	snprintf(rs->who, rs->len, "%s", sub);
	return true;
}

bool cfg_find_referrer(json_t *doc, int kind, json_t *target, char *who, size_t len)
{
	struct referrer_search rs = {
	    .kind = kind,
	    .name = json_string_value(json_object_get(target, "name")),
	    .uuid = json_string_value(json_object_get(target, "uuid")),
	    .who = who,
	    .len = len,
	};
	char label[XADC_NAME_MAX + 64];
	json_t *obj;
	size_t i;
	int k;

	if (!rs.name)
		return false;
	for (k = 0; k < CFG_NKINDS; k++) {
		json_array_foreach(json_object_get(doc, cfg_kind_names[k]), i, obj) {
			if (obj == target)
				continue;
			cfg_obj_label(k, obj, i, label, sizeof(label));
			if (walk_refs(&rs, obj, label))
				return true;
		}
	}
	return false;
}

static int indexed_ref_cmp(const void *a, const void *b)
{
	const struct cfg_indexed_ref *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

int cfg_indexed_refs(struct cfg_ctx *c, const struct cfg_index *ix, json_t *obj,
		     const char *field, const char *ref_field, int kind,
		     struct cfg_indexed_ref *out, size_t max)
{
	json_t *arr = json_object_get(obj, field), *e;
	size_t i, j, n = 0, mark, m2;
	long long index;
	int idx, ret = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		mark = cfg_push(c, ".%s", field);
		ret = cfg_fail(c, "expected an array");
		cfg_pop(c, mark);
		return ret;
	}
	json_array_foreach(arr, i, e) {
		mark = cfg_push(c, ".%s[%zu]", field, i);
		if (i == max)
			ret = cfg_fail(c, "at most %zu entries", max);
		else if (!json_is_object(e))
			ret = cfg_fail(c, "expected {\"index\": N, \"%s\": ...}", ref_field);
		if (!ret)
			ret = cfg_get_int(c, e, "index", (long long)i, 0, 1000000000, &index);
		if (!ret) {
			m2 = cfg_push(c, ".%s", ref_field);
			idx = cfg_ref_resolve(c, ix, json_object_get(e, ref_field), kind);
			if (idx == -1)
				idx = cfg_fail(c, "required");
			cfg_pop(c, m2);
			ret = idx < 0 ? idx : 0;
		}
		for (j = 0; !ret && j < n; j++)
			if (out[j].index == index)
				ret = cfg_fail(c, "index %lld is used twice", index);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		out[n].index = index;
		out[n++].obj = idx;
	}
	qsort(out, n, sizeof(out[0]), indexed_ref_cmp);
	return (int)n;
}
