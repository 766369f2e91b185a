// SPDX-License-Identifier: GPL-2.0
/*
 * ds_http.c - avi.http.*: headers, cookies, URI, request facts and the
 * terminal actions, all through the proxy's accessor (struct xadc_ds_ops).
 *
 * Strings handed out by the accessor are only valid until the next
 * mutation, so every function that reads then writes builds its new value
 * in a Lua buffer first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ds_internal.h"

static struct xadc_ds_ctx *cx(lua_State *L)
{
	struct ds_state *st = ds_st(L);

	if (!st->ctx)
		ds_error(L, "avi.http: not inside a DataScript event");
	if (st->evt == XADC_DS_EVT_TCP_CLIENT_ACCEPT)
		ds_error(L, "avi.http: not available at VS_DATASCRIPT_EVT_TCP_CLIENT_ACCEPT");
	return st->ctx;
}

/* Events that have a response head to read and edit. */
static bool is_resp_evt(int evt)
{
	return evt == XADC_DS_EVT_HTTP_RESP || evt == XADC_DS_EVT_HTTP_RESP_DATA;
}

/* Request or response side: the event's own side unless ctx says otherwise. */
static int side(lua_State *L, int arg)
{
	struct ds_state *st = ds_st(L);
	int def = is_resp_evt(st->evt) ? XADC_DS_RESP : XADC_DS_REQ;
	int v = (int)luaL_optinteger(L, arg, def);

	if (v != XADC_DS_REQ && v != XADC_DS_RESP)
		ds_error(L, "bad context %d (use avi.HTTP_REQUEST or avi.HTTP_RESPONSE)", v);
	if (v == XADC_DS_RESP && !is_resp_evt(st->evt))
		ds_error(L, "no response headers at VS_DATASCRIPT_EVT_%s",
			 xadc_ds_evt_name(st->evt));
	return v;
}

static int check_rc(lua_State *L, const char *fn, int rc)
{
	if (rc == -ENOSPC)
		return ds_error(L, "%s: the message head is full", fn);
	if (rc == -EPERM)
		return ds_error(L, "%s: not possible at this event", fn);
	if (rc < 0)
		return ds_error(L, "%s: failed (%s)", fn, strerror(-rc));
	return rc;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

static const char *check_name(lua_State *L, int arg, size_t *len)
{
	const char *s = luaL_checklstring(L, arg, len);
	size_t i;

	if (!*len)
		ds_error(L, "empty header name");
	for (i = 0; i < *len; i++)
		if (!is_tchar(s[i]))
			ds_error(L, "bad character in header name '%s'", s);
	return s;
}

/* Field values: no CR, LF or NUL (no header injection). */
static const char *check_value(lua_State *L, int arg, size_t *len)
{
	const char *s = luaL_checklstring(L, arg, len);

	if (memchr(s, '\r', *len) || memchr(s, '\n', *len) || memchr(s, '\0', *len))
		ds_error(L, "header value contains CR, LF or NUL");
	return s;
}

static bool name_eq(const struct xadc_ds_hdr *h, const char *n, size_t nl)
{
	return h->name_len == nl && !strncasecmp(h->name, n, nl);
}

/* ------------------------------------------------------------ headers */

/* get_header([name] [, ctx]) */
static int h_get_header(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	struct xadc_ds_hdr h;
	luaL_Buffer b;
	const char *n;
	size_t nl;
	bool found = false;
	unsigned i;
	int which;

	if (lua_isnoneornil(L, 1) || lua_type(L, 1) == LUA_TNUMBER) {
		which = side(L, lua_type(L, 1) == LUA_TNUMBER ? 1 : 2);
		lua_newtable(L);
		for (i = 0; c->ops->hdr_at(c->priv, which, i, &h); i++) {
			/* repeated fields are combined as RFC 9110 allows */
			lua_pushlstring(L, h.name, h.name_len);
			if (lua_rawget(L, -2) == LUA_TSTRING) {
				lua_pushliteral(L, ", ");
				lua_pushlstring(L, h.value, h.value_len);
				lua_concat(L, 3);
			} else {
				lua_pop(L, 1);
				lua_pushlstring(L, h.value, h.value_len);
			}
			lua_pushlstring(L, h.name, h.name_len);
			lua_insert(L, -2);
			lua_rawset(L, -3);
		}
		return 1;
	}
	n = luaL_checklstring(L, 1, &nl);
	which = side(L, 2);
	luaL_buffinit(L, &b);
	for (i = 0; c->ops->hdr_at(c->priv, which, i, &h); i++) {
		if (!name_eq(&h, n, nl))
			continue;
		if (found)
			luaL_addstring(&b, ", ");
		luaL_addlstring(&b, h.value, h.value_len);
		found = true;
	}
	if (!found) {
		lua_pushnil(L);
		return 1;
	}
	luaL_pushresult(&b);
	return 1;
}

static int h_add_header(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	size_t nl, vl;
	const char *n = check_name(L, 1, &nl), *v = check_value(L, 2, &vl);

	check_rc(L, "add_header", c->ops->hdr_add(c->priv, side(L, 3), n, nl, v, vl));
	return 0;
}

static int h_replace_header(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	size_t nl, vl;
	const char *n = check_name(L, 1, &nl), *v = check_value(L, 2, &vl);
	int which = side(L, 3);

	check_rc(L, "replace_header", c->ops->hdr_remove(c->priv, which, n, nl, NULL, 0));
	check_rc(L, "replace_header", c->ops->hdr_add(c->priv, which, n, nl, v, vl));
	return 0;
}

/* remove_header(name [, value]) */
static int h_remove_header(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	size_t nl, vl = 0;
	const char *n = check_name(L, 1, &nl);
	const char *v = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &vl) : NULL;
	int which = side(L, lua_type(L, 2) == LUA_TNUMBER ? 2 : 3);

	lua_pushinteger(L, check_rc(L, "remove_header",
				    c->ops->hdr_remove(c->priv, which, n, nl, v, vl)));
	return 1;
}

/* ------------------------------------------------------------ cookies */

typedef bool (*cookie_fn)(void *arg, const char *n, size_t nl, const char *v, size_t vl);

/* Call fn for every name=value pair of the request's Cookie fields. */
static void cookie_walk(struct xadc_ds_ctx *c, cookie_fn fn, void *arg)
{
	struct xadc_ds_hdr h;
	unsigned i;

	for (i = 0; c->ops->hdr_at(c->priv, XADC_DS_REQ, i, &h); i++) {
		const char *p = h.value, *end = h.value + h.value_len;

		if (!name_eq(&h, "cookie", 6))
			continue;
		while (p < end) {
			const char *semi = memchr(p, ';', end - p), *eq, *ne;

			if (!semi)
				semi = end;
			while (p < semi && (*p == ' ' || *p == '\t'))
				p++;
			if (p == semi) {
				p = semi + 1;
				continue;
			}
			eq = memchr(p, '=', (size_t)(semi - p));
			ne = eq ? eq : semi;
			while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			if (ne > p) {
				const char *v = eq ? eq + 1 : semi, *ve = semi;

				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				if (!fn(arg, p, ne - p, v, ve - v))
					return;
			}
			p = semi + 1;
		}
	}
}

struct ck_find {
	lua_State *L;
	const char *name;
	size_t nl;
	bool found;
};

static bool ck_find_fn(void *arg, const char *n, size_t nl, const char *v, size_t vl)
{
	struct ck_find *f = arg;

	if (nl != f->nl || memcmp(n, f->name, nl))
		return true;
	lua_pushlstring(f->L, v, vl);
	f->found = true;
	return false;
}

static int h_get_cookie(lua_State *L)
{
	struct ck_find f = { .L = L };

	f.name = luaL_checklstring(L, 1, &f.nl);
	cookie_walk(cx(L), ck_find_fn, &f);
	if (!f.found)
		lua_pushnil(L);
	return 1;
}

static int h_cookie_exists(lua_State *L)
{
	struct ck_find f = { .L = L };

	f.name = luaL_checklstring(L, 1, &f.nl);
	cookie_walk(cx(L), ck_find_fn, &f);
	if (f.found)
		lua_pop(L, 1);
	lua_pushboolean(L, f.found);
	return 1;
}

static bool ck_names_fn(void *arg, const char *n, size_t nl, const char *v, size_t vl)
{
	lua_State *L = arg;

	lua_pushlstring(L, n, nl);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return true;
}

static int h_get_cookie_names(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);

	lua_newtable(L);
	cookie_walk(c, ck_names_fn, L);
	return 1;
}

struct ck_rebuild {
	luaL_Buffer *b;
	const char *skip;
	size_t skip_len;
	bool any, skipped;
};

static bool ck_rebuild_fn(void *arg, const char *n, size_t nl, const char *v, size_t vl)
{
	struct ck_rebuild *r = arg;

	if (nl == r->skip_len && !memcmp(n, r->skip, nl)) {
		r->skipped = true;
		return true;
	}
	if (r->any)
		luaL_addstring(r->b, "; ");
	luaL_addlstring(r->b, n, nl);
	luaL_addchar(r->b, '=');
	luaL_addlstring(r->b, v, vl);
	r->any = true;
	return true;
}

/* Rewrite the request's Cookie field: drop name, then add name=value when
 * value is non-NULL. Returns whether name was present. */
static bool cookie_set_req(lua_State *L, const char *name, size_t nl, const char *v, size_t vl)
{
	struct xadc_ds_ctx *c = cx(L);
	luaL_Buffer b;
	struct ck_rebuild r = { .b = &b, .skip = name, .skip_len = nl };
	const char *s;
	size_t sl;

	luaL_buffinit(L, &b);
	cookie_walk(c, ck_rebuild_fn, &r);
	if (v) {
		if (r.any)
			luaL_addstring(&b, "; ");
		luaL_addlstring(&b, name, nl);
		luaL_addchar(&b, '=');
		luaL_addlstring(&b, v, vl);
		r.any = true;
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &sl);
	check_rc(L, "cookie", c->ops->hdr_remove(c->priv, XADC_DS_REQ, "Cookie", 6, NULL, 0));
	if (r.any)
		check_rc(L, "cookie", c->ops->hdr_add(c->priv, XADC_DS_REQ, "Cookie", 6, s, sl));
	lua_pop(L, 1);
	return r.skipped;
}

/* Remove the response's Set-Cookie fields for name. */
static void setcookie_remove(lua_State *L, const char *name, size_t nl)
{
	struct xadc_ds_ctx *c = cx(L);
	struct xadc_ds_hdr h;
	unsigned i = 0;

	while (c->ops->hdr_at(c->priv, XADC_DS_RESP, i, &h)) {
		if (name_eq(&h, "set-cookie", 10) && h.value_len > nl && h.value[nl] == '=' &&
		    !memcmp(h.value, name, nl)) {
			lua_pushlstring(L, h.value, h.value_len);
			check_rc(L, "cookie", c->ops->hdr_remove(c->priv, XADC_DS_RESP, "Set-Cookie",
								 10, lua_tostring(L, -1),
								 h.value_len));
			lua_pop(L, 1);
			i = 0;
			continue;
		}
		i++;
	}
}

static void check_cookie_name(lua_State *L, const char *n, size_t nl)
{
	size_t i;

	if (!nl)
		ds_error(L, "empty cookie name");
	for (i = 0; i < nl; i++)
		if (!is_tchar(n[i]))
			ds_error(L, "bad character in cookie name '%s'", n);
}

/* add_cookie(name, value) / replace_cookie(name, value): request events
 * change the Cookie field, response events add Set-Cookie. */
static int cookie_put(lua_State *L, bool replace)
{
	size_t nl, vl;
	const char *n = luaL_checklstring(L, 1, &nl), *v = check_value(L, 2, &vl);
	struct xadc_ds_ctx *c = cx(L);

	check_cookie_name(L, n, nl);
	if (memchr(v, ';', vl) && !is_resp_evt(ds_st(L)->evt))
		ds_error(L, "cookie value contains ';'");
	if (!is_resp_evt(ds_st(L)->evt)) {
		cookie_set_req(L, n, nl, v, vl);
		return 0;
	}
	if (replace)
		setcookie_remove(L, n, nl);
	lua_pushlstring(L, n, nl);
	lua_pushliteral(L, "=");
	lua_pushlstring(L, v, vl);
	lua_concat(L, 3);
	v = lua_tolstring(L, -1, &vl);
	check_rc(L, "add_cookie", c->ops->hdr_add(c->priv, XADC_DS_RESP, "Set-Cookie", 10, v, vl));
	return 0;
}

static int h_add_cookie(lua_State *L)
{
	return cookie_put(L, false);
}

static int h_replace_cookie(lua_State *L)
{
	return cookie_put(L, true);
}

static int h_remove_cookie(lua_State *L)
{
	size_t nl;
	const char *n = luaL_checklstring(L, 1, &nl);

	cx(L);
	if (is_resp_evt(ds_st(L)->evt))
		setcookie_remove(L, n, nl);
	else
		lua_pushboolean(L, cookie_set_req(L, n, nl, NULL, 0));
	return is_resp_evt(ds_st(L)->evt) ? 0 : 1;
}

/* ------------------------------------------------------------ URI */

struct uri_parts {
	const char *uri, *path, *query;	/* query NULL when there is no '?' */
	size_t ulen, plen, qlen;
};

static void uri_split(struct xadc_ds_ctx *c, struct uri_parts *u)
{
	const char *m, *v, *q, *p;
	size_t ml, vl;

	c->ops->req_line(c->priv, &m, &ml, &u->uri, &u->ulen, &v, &vl);
	p = u->uri;
	/* absolute-form: skip scheme and authority */
	if (u->ulen && *p != '/') {
		const char *ss = memchr(p, '/', u->ulen);

		if (ss && ss + 1 < p + u->ulen && ss[1] == '/') {
			const char *auth_end = memchr(ss + 2, '/', u->uri + u->ulen - ss - 2);

			p = auth_end ? auth_end : u->uri + u->ulen;
		}
	}
	q = memchr(p, '?', u->uri + u->ulen - p);
	u->path = p;
	u->plen = (q ? q : u->uri + u->ulen) - p;
	u->query = q ? q + 1 : NULL;
	u->qlen = q ? (size_t)(u->uri + u->ulen - q - 1) : 0;
}

static void check_uri_chars(lua_State *L, const char *s, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			ds_error(L, "%s: control character or space at offset %zu", what, i);
}

static int h_get_uri(lua_State *L)
{
	struct uri_parts u;

	uri_split(cx(L), &u);
	lua_pushlstring(L, u.uri, u.ulen);
	return 1;
}

static int h_set_uri(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);

	if (!n || (s[0] != '/' && s[0] != '*'))
		ds_error(L, "set_uri: '%s' does not start with '/'", s);
	check_uri_chars(L, s, n, "set_uri");
	check_rc(L, "set_uri", c->ops->set_uri(c->priv, s, n));
	return 0;
}

static int h_get_path(lua_State *L)
{
	struct uri_parts u;

	uri_split(cx(L), &u);
	lua_pushlstring(L, u.path, u.plen);
	return 1;
}

static int h_set_path(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	struct uri_parts u;
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);

	if (!n || s[0] != '/')
		ds_error(L, "set_path: '%s' does not start with '/'", s);
	if (memchr(s, '?', n))
		ds_error(L, "set_path: '?' in a path (use set_query)");
	check_uri_chars(L, s, n, "set_path");
	uri_split(c, &u);
	lua_pushvalue(L, 1);
	if (u.query) {
		lua_pushliteral(L, "?");
		lua_pushlstring(L, u.query, u.qlen);
		lua_concat(L, 3);
	}
	s = lua_tolstring(L, -1, &n);
	check_rc(L, "set_path", c->ops->set_uri(c->priv, s, n));
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Push s percent-decoded ('+' is a space in a query) or as is. */
static void push_maybe_decoded(lua_State *L, const char *s, size_t n, bool decode)
{
	luaL_Buffer b;
	size_t i;

	if (!decode) {
		lua_pushlstring(L, s, n);
		return;
	}
	luaL_buffinit(L, &b);
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			luaL_addchar(&b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			luaL_addchar(&b, s[i] == '+' ? ' ' : s[i]);
		}
	}
	luaL_pushresult(&b);
}

/* get_query() / get_query(arg [, decode]) / get_query(avi.QUERY_TABLE [, decode]) */
static int h_get_query(lua_State *L)
{
	struct uri_parts u;
	bool table = lua_type(L, 1) == LUA_TNUMBER;
	bool decode = lua_toboolean(L, 2);
	const char *want = NULL, *p, *end;
	size_t wl = 0;

	if (lua_type(L, 1) == LUA_TBOOLEAN)
		decode = lua_toboolean(L, 1);
	else if (!lua_isnoneornil(L, 1) && !table)
		want = luaL_checklstring(L, 1, &wl);
	uri_split(cx(L), &u);
	if (!want && !table) {
		push_maybe_decoded(L, u.query ? u.query : "", u.qlen, decode);
		return 1;
	}
	if (table)
		lua_newtable(L);
	p = u.query ? u.query : "";
	end = p + u.qlen;
	while (p < end) {
		const char *amp = memchr(p, '&', end - p), *eq;

		if (!amp)
			amp = end;
		eq = memchr(p, '=', amp - p);
		if (amp > p) {
			const char *k = p, *v = eq ? eq + 1 : amp;
			size_t kl = (eq ? eq : amp) - p, vl = amp - v;

			if (table) {
				push_maybe_decoded(L, k, kl, decode);
				if (lua_rawget(L, -2) == LUA_TNIL) {
					/* the first of repeated arguments wins */
					lua_pop(L, 1);
					push_maybe_decoded(L, k, kl, decode);
					push_maybe_decoded(L, v, vl, decode);
					lua_rawset(L, -3);
				} else {
					lua_pop(L, 1);
				}
			} else if (kl == wl && !memcmp(k, want, kl)) {
				push_maybe_decoded(L, v, vl, decode);
				return 1;
			}
		}
		p = amp + 1;
	}
	if (!table)
		lua_pushnil(L);
	return 1;
}

/* set_query(string | table): replaces the whole query ("" removes it). */
static int h_set_query(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	struct uri_parts u;
	const char *s;
	size_t n;
	bool first = true;

	if (lua_type(L, 1) == LUA_TTABLE) {
		/* accumulate at a fixed slot: lua_next needs a known stack */
		int acc;

		lua_pushliteral(L, "");
		acc = lua_gettop(L);
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
				ds_error(L, "set_query: table keys and values must be strings");
			lua_pushvalue(L, acc);
			if (!first)
				lua_pushliteral(L, "&");
			lua_pushvalue(L, -3 - !first);	/* key */
			lua_pushliteral(L, "=");
			lua_pushvalue(L, -4 - !first);	/* value */
			lua_concat(L, first ? 4 : 5);
			lua_replace(L, acc);
			lua_pop(L, 1);
			first = false;
		}
		lua_replace(L, 1);
	}
	s = luaL_checklstring(L, 1, &n);
	if (n && s[0] == '?') {
		s++;
		n--;
	}
	check_uri_chars(L, s, n, "set_query");
	if (memchr(s, '#', n))
		ds_error(L, "set_query: '#' in a query");
	uri_split(c, &u);
	lua_pushlstring(L, u.plen ? u.path : "/", u.plen ? u.plen : 1);
	if (n) {
		lua_pushliteral(L, "?");
		lua_pushlstring(L, s, n);
		lua_concat(L, 3);
	}
	s = lua_tolstring(L, -1, &n);
	check_rc(L, "set_query", c->ops->set_uri(c->priv, s, n));
	return 0;
}

/* Tokens of s split on sep (empty ones skipped): no range -> array; with
 * start [, end] (1-based, inclusive) -> those tokens joined by sep. */
static int push_tokens(lua_State *L, const char *s, size_t n, char sep, int arg)
{
	lua_Integer from = luaL_optinteger(L, arg, 0), to = luaL_optinteger(L, arg + 1, -1);
	bool range = !lua_isnoneornil(L, arg);
	const char *p = s, *end = s + n;
	lua_Integer idx = 0;
	luaL_Buffer b;
	bool any = false;

	if (range && from < 1)
		ds_error(L, "token index %d: indexes start at 1", (int)from);
	if (range)
		luaL_buffinit(L, &b);
	else
		lua_newtable(L);
	while (p < end) {
		const char *q = memchr(p, sep, end - p);

		if (!q)
			q = end;
		if (q > p) {
			idx++;
			if (!range) {
				lua_pushlstring(L, p, q - p);
				lua_rawseti(L, -2, idx);
			} else if (idx >= from && (to < 0 || idx <= to)) {
				if (any)
					luaL_addchar(&b, sep);
				luaL_addlstring(&b, p, q - p);
				any = true;
			}
		}
		p = q + 1;
	}
	if (range)
		luaL_pushresult(&b);
	return 1;
}

static int h_get_path_tokens(lua_State *L)
{
	struct uri_parts u;

	uri_split(cx(L), &u);
	return push_tokens(L, u.path, u.plen, '/', 1);
}

/* Host without port, lowercased not: as sent. */
static void host_of(lua_State *L, struct xadc_ds_ctx *c, const char **h, size_t *hl)
{
	struct xadc_ds_hdr hd;
	unsigned i;

	*h = NULL;
	*hl = 0;
	for (i = 0; c->ops->hdr_at(c->priv, XADC_DS_REQ, i, &hd); i++) {
		if (name_eq(&hd, "host", 4)) {
			const char *v = hd.value, *e = hd.value + hd.value_len, *colon;

			if (v < e && *v == '[') {
				const char *rb = memchr(v, ']', e - v);

				e = rb ? rb + 1 : e;
			} else if ((colon = memchr(v, ':', e - v))) {
				e = colon;
			}
			*h = v;
			*hl = e - v;
			return;
		}
	}
}

static int h_hostname(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	const char *h;
	size_t hl;

	host_of(L, c, &h, &hl);
	if (h) {
		lua_pushlstring(L, h, hl);
	} else {
		char ip[64];

		lua_pushstring(L, c->vip ? xadc_sockaddr_ip(c->vip, ip, sizeof(ip)) : "");
	}
	return 1;
}

static int h_get_host_tokens(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	const char *h;
	size_t hl;

	host_of(L, c, &h, &hl);
	return push_tokens(L, h ? h : "", hl, '.', 1);
}

/* ------------------------------------------------------------ facts */

static int h_method(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	const char *m, *u, *v;
	size_t ml, ul, vl;

	c->ops->req_line(c->priv, &m, &ml, &u, &ul, &v, &vl);
	lua_pushlstring(L, m, ml);
	return 1;
}

static int h_version(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	const char *m, *u, *v;
	size_t ml, ul, vl;

	c->ops->req_line(c->priv, &m, &ml, &u, &ul, &v, &vl);
	lua_pushlstring(L, v, vl);
	return 1;
}

static int h_protocol(lua_State *L)
{
	lua_pushstring(L, cx(L)->secure ? "https" : "http");
	return 1;
}

static int h_secure(lua_State *L)
{
	lua_pushboolean(L, cx(L)->secure);
	return 1;
}

static int h_status(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	int s = c->ops->status(c->priv);

	if (s)
		lua_pushinteger(L, s);
	else
		lua_pushnil(L);
	return 1;
}

static int h_get_request_id(lua_State *L)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%016" PRIx64, cx(L)->request_id);
	lua_pushstring(L, buf);
	return 1;
}

static int h_get_req_body(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	/* no n: everything there is (bounded by the proxy) */
	lua_Integer max = luaL_optinteger(L, 1, XADC_DS_MAX_BODY_BUF);
	const char *d = NULL;
	size_t n;

	if (max < 0)
		max = 0;
	n = c->ops->req_body(c->priv, &d, (size_t)max);
	lua_pushlstring(L, d ? d : "", d ? n : 0);
	return 1;
}

/* avi.http.get_resp_body([n]): the response body held for HTTP_RESP_DATA
 * (de-chunked), up to n bytes; "" at other events. */
static int h_get_resp_body(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	lua_Integer max = luaL_optinteger(L, 1, XADC_DS_MAX_BODY_BUF);
	const char *d = NULL;
	size_t n = 0;

	if (max < 0)
		max = 0;
	if (c->ops->resp_body && ds_st(L)->evt == XADC_DS_EVT_HTTP_RESP_DATA)
		n = c->ops->resp_body(c->priv, &d, (size_t)max);
	lua_pushlstring(L, d ? d : "", d ? n : 0);
	return 1;
}

/* ------------------------------------------------------------ terminal */

static void answered(lua_State *L)
{
	ds_st(L)->answered = true;
}

static int h_redirect(lua_State *L)
{
	struct ds_state *st = ds_st(L);
	struct xadc_ds_ctx *c = cx(L);
	struct xadc_ds_hdr loc = { .name = "Location", .name_len = 8 };
	lua_Integer status = luaL_optinteger(L, 2, 302);

	loc.value = check_value(L, 1, &loc.value_len);
	if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
		ds_error(L, "redirect: status %d is not a redirect (301, 302, 303, 307, 308)",
			 (int)status);
	if (is_resp_evt(st->evt))
		ds_error(L, "redirect: not possible at VS_DATASCRIPT_EVT_%s", xadc_ds_evt_name(st->evt));
	check_rc(L, "redirect", c->ops->respond(c->priv, (int)status, &loc, 1, NULL, 0));
	answered(L);
	return 0;
}

#define DS_RESP_MAX_HDRS 32

/* response(status [, headers [, body]]) */
static int h_response(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);
	struct xadc_ds_hdr h[DS_RESP_MAX_HDRS];
	lua_Integer status = luaL_checkinteger(L, 1);
	const char *body = NULL;
	size_t blen = 0;
	unsigned n = 0;

	if (status < 100 || status > 599)
		ds_error(L, "response: status %d out of range 100..599", (int)status);
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		luaL_checkstack(L, DS_RESP_MAX_HDRS + 4, "response");
		lua_pushnil(L);
		while (lua_next(L, 2)) {
			if (n == DS_RESP_MAX_HDRS)
				ds_error(L, "response: more than %d headers", DS_RESP_MAX_HDRS);
			if (lua_type(L, -2) != LUA_TSTRING)
				ds_error(L, "response: header names must be strings");
			/* the key string is anchored by the table */
			h[n].name = check_name(L, -2, &h[n].name_len);
			h[n].value = check_value(L, -1, &h[n].value_len);
			if (lua_type(L, -1) == LUA_TSTRING) {
				lua_pop(L, 1);
			} else {
				/* a converted number lives on the stack only: keep it */
				lua_insert(L, -2);
			}
			n++;
		}
	}
	if (!lua_isnoneornil(L, 3))
		body = luaL_checklstring(L, 3, &blen);
	check_rc(L, "response", c->ops->respond(c->priv, (int)status, h, n, body, blen));
	answered(L);
	return 0;
}

static int h_close_conn(lua_State *L)
{
	struct xadc_ds_ctx *c = cx(L);

	check_rc(L, "close_conn", c->ops->close_conn(c->priv, lua_toboolean(L, 1)));
	answered(L);
	return 0;
}

void ds_open_http(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "get_header", h_get_header },
		{ "add_header", h_add_header },
		{ "replace_header", h_replace_header },
		{ "remove_header", h_remove_header },
		{ "get_cookie", h_get_cookie },
		{ "get_cookie_names", h_get_cookie_names },
		{ "cookie_exists", h_cookie_exists },
		{ "add_cookie", h_add_cookie },
		{ "replace_cookie", h_replace_cookie },
		{ "remove_cookie", h_remove_cookie },
		{ "get_uri", h_get_uri },
		{ "set_uri", h_set_uri },
		{ "get_path", h_get_path },
		{ "set_path", h_set_path },
		{ "get_path_tokens", h_get_path_tokens },
		{ "get_host_tokens", h_get_host_tokens },
		{ "get_query", h_get_query },
		{ "set_query", h_set_query },
		{ "hostname", h_hostname },
		{ "method", h_method },
		{ "version", h_version },
		{ "protocol", h_protocol },
		{ "secure", h_secure },
		{ "status", h_status },
		{ "get_request_id", h_get_request_id },
		{ "get_req_body", h_get_req_body },
		{ "get_resp_body", h_get_resp_body },
		{ "redirect", h_redirect },
		{ "response", h_response },
		{ "close_conn", h_close_conn },
		{ NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}
