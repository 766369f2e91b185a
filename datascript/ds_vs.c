// SPDX-License-Identifier: GPL-2.0
/*
 * ds_vs.c - avi.vs.* (addresses, log, reqvar, tables, rate limit),
 * avi.pool.* and avi.stringgroup / avi.ipgroup through the native DataSet
 * code (policy/dataset.h), limited to the objects the set references.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../policy/dataset.h"
#include "ds_internal.h"

static struct ds_state *stc(lua_State *L)
{
	struct ds_state *st = ds_st(L);

	if (!st->ctx)
		ds_error(L, "avi: not inside a DataScript event");
	return st;
}

static int port_of(const union xadc_sockaddr *a)
{
	if (!a)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

static int push_ip(lua_State *L, const union xadc_sockaddr *a)
{
	char buf[64];

	lua_pushstring(L, a ? xadc_sockaddr_ip(a, buf, sizeof(buf)) : "");
	return 1;
}

static int vs_client_ip(lua_State *L)
{
	return push_ip(L, stc(L)->ctx->client);
}

static int vs_client_port(lua_State *L)
{
	lua_pushinteger(L, port_of(stc(L)->ctx->client));
	return 1;
}

static int vs_ip(lua_State *L)
{
	return push_ip(L, stc(L)->ctx->vip);
}

static int vs_port(lua_State *L)
{
	lua_pushinteger(L, port_of(stc(L)->ctx->vip));
	return 1;
}

static int vs_name(lua_State *L)
{
	lua_pushstring(L, stc(L)->ctx->vs_name ? stc(L)->ctx->vs_name : "");
	return 1;
}

static int vs_se_count(lua_State *L)
{
	lua_pushinteger(L, 1);
	return 1;
}

/* log(...): arguments joined by spaces; a last argument avi.SIG_ENABLE
 * marks the request log significant instead of being printed. */
static int vs_log(lua_State *L)
{
	struct xadc_ds_txn *t = stc(L)->ctx->txn;
	int n = lua_gettop(L), i;
	bool sig = false;
	luaL_Buffer b;
	const char *s;
	size_t len, room;

	if (n > 1 && lua_type(L, n) == LUA_TNUMBER && lua_tointeger(L, n) == 1) {
		sig = true;
		n--;
	}
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	if (!t)
		return 0;
	t->significant |= sig;
	s = lua_tolstring(L, -1, &len);
	if (t->log_len && t->log_len < sizeof(t->log) - 1)
		t->log[t->log_len++] = '\n';
	room = sizeof(t->log) - 1 - t->log_len;
	if (len > room) {
		len = room;
		if (room >= 3) {
			/* say it was cut */
			memcpy(t->log + t->log_len, s, room - 3);
			memcpy(t->log + t->log_len + room - 3, "...", 3);
			t->log_len += room;
			t->log[t->log_len] = '\0';
			return 0;
		}
	}
	memcpy(t->log + t->log_len, s, len);
	t->log_len += len;
	t->log[t->log_len] = '\0';
	return 0;
}

/* avi.vs.reqvar: one table per transaction, from the request events to the
 * response events, held in the registry while the transaction lives. */
static int push_reqvar(lua_State *L)
{
	struct ds_state *st = stc(L);
	struct xadc_ds_txn *t = st->ctx->txn;

	if (!t) {
		lua_newtable(L);
		return 1;
	}
	if (t->reqvar_ref >= 0 && t->state_epoch == st->epoch) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, t->reqvar_ref);
		return 1;
	}
	lua_newtable(L);
	lua_pushvalue(L, -1);
	t->reqvar_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	t->state_epoch = st->epoch;
	return 1;
}

/* ------------------------------------------------------------ tables */

struct targs {
	const char *tbl, *key;
	size_t tl, kl;
	int next;	/* index of the first argument after the key */
};

/* Avi's optional leading table name: [tbl,] key, <nmand more> [, opt].
 * With one argument beyond key + nmand, it names a table when it is not a
 * number or boolean (those are the optional lifetime / extend); so a
 * named table with a numeric value needs the lifetime given too. */
static void table_args(lua_State *L, struct targs *a, int nmand)
{
	int n = lua_gettop(L), t = lua_type(L, n);
	bool named;

	if (n <= 1 + nmand)
		named = false;
	else if (n == 2 + nmand)
		named = t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TNIL;
	else
		named = true;
	a->tbl = named ? luaL_checklstring(L, 1, &a->tl) : NULL;
	if (!named)
		a->tl = 0;
	a->key = luaL_checklstring(L, named ? 2 : 1, &a->kl);
	a->next = named ? 3 : 2;
	if (a->kl > DS_TAB_MAX_KEY || a->tl > DS_TAB_MAX_KEY)
		ds_error(L, "table key longer than %u bytes", DS_TAB_MAX_KEY);
}

static uint32_t lifetime_arg(lua_State *L, int i, uint32_t def)
{
	lua_Integer v;

	if (lua_isnoneornil(L, i))
		return def;
	v = luaL_checkinteger(L, i);
	if (v < 1 || v > 86400 * 365)
		ds_error(L, "lifetime %d out of range 1..31536000 seconds", (int)v);
	return (uint32_t)v;
}

/* table_insert([tbl,] key, value [, lifetime]) -> true when inserted,
 * false when the key existed (lifetime reset, value kept) or no room. */
static int vs_table_insert(lua_State *L)
{
	struct ds_state *st = stc(L);
	struct targs a;
	const char *v;
	size_t vl;
	bool number, full = false, r;
	uint32_t life;

	table_args(L, &a, 1);
	number = lua_type(L, a.next) == LUA_TNUMBER;
	if (!number && lua_type(L, a.next) != LUA_TSTRING)
		ds_error(L, "table_insert: values are strings or numbers, not %s",
			 luaL_typename(L, a.next));
	v = lua_tolstring(L, a.next, &vl);
	if (vl > DS_TAB_MAX_VAL)
		ds_error(L, "table_insert: value longer than %u bytes", DS_TAB_MAX_VAL);
	life = lifetime_arg(L, a.next + 1, DS_TAB_DEF_LIFETIME);
	r = ds_tab_insert(st->dv->tab, a.tbl, a.tl, a.key, a.kl, v, vl, number, life,
			  st->ctx->now_ms, &full);
	lua_pushboolean(L, r);
	return 1;
}

/* table_lookup([tbl,] key [, extend]) -> value, remaining lifetime | nil.
 * extend: true/absent restores the full lifetime, false keeps it, a number
 * sets the remaining lifetime to that many seconds. */
static int vs_table_lookup(lua_State *L)
{
	struct ds_state *st = stc(L);
	char buf[DS_TAB_MAX_VAL + 1];
	struct ds_tval tv;
	struct targs a;
	uint32_t ext = UINT32_MAX;

	table_args(L, &a, 0);
	if (lua_type(L, a.next) == LUA_TBOOLEAN)
		ext = lua_toboolean(L, a.next) ? UINT32_MAX : 0;
	else if (!lua_isnoneornil(L, a.next))
		ext = lifetime_arg(L, a.next, DS_TAB_DEF_LIFETIME);
	if (!ds_tab_lookup(st->dv->tab, a.tbl, a.tl, a.key, a.kl, ext, st->ctx->now_ms, buf,
			   sizeof(buf), &tv)) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushlstring(L, tv.val, tv.len);
	if (tv.number && lua_stringtonumber(L, lua_tostring(L, -1)))
		lua_remove(L, -2);
	lua_pushinteger(L, tv.left_s);
	return 2;
}

/* table_refresh([tbl,] key [, lifetime]) -> true when the key exists. */
static int vs_table_refresh(lua_State *L)
{
	struct ds_state *st = stc(L);
	struct targs a;

	table_args(L, &a, 0);
	lua_pushboolean(L, ds_tab_refresh(st->dv->tab, a.tbl, a.tl, a.key, a.kl,
					  lifetime_arg(L, a.next, 0), st->ctx->now_ms));
	return 1;
}

static int vs_table_remove(lua_State *L)
{
	struct ds_state *st = stc(L);
	struct targs a;

	table_args(L, &a, 0);
	lua_pushboolean(L, ds_tab_remove(st->dv->tab, a.tbl, a.tl, a.key, a.kl, st->ctx->now_ms));
	return 1;
}

/* rate_limit(avi.RL_CUSTOM_STRING, key [, defer]) -> exceeded. Without
 * defer the set's rate limiter action is taken when exceeded. */
static int vs_rate_limit(lua_State *L)
{
	struct ds_state *st = stc(L);
	const struct xadc_ds_ratelimiter *rl;
	struct xadc_ds_ctx *c = st->ctx;
	size_t kl;
	const char *key;
	bool defer = lua_toboolean(L, 3), over;

	if (luaL_checkinteger(L, 1) != 1)
		ds_error(L, "rate_limit: only avi.RL_CUSTOM_STRING is supported");
	key = luaL_checklstring(L, 2, &kl);
	if (kl > DS_TAB_MAX_KEY)
		ds_error(L, "rate_limit: key longer than %u bytes", DS_TAB_MAX_KEY);
	if (!st->set->nrls)
		ds_error(L, "rate_limit: vsdatascriptset '%s' has no rate_limiters", st->set->name);
	rl = &st->set->rls[0];
	over = ds_tab_rate(st->dv->tab, rl, key, kl, c->now_ms);
	if (over && !defer) {
		if (rl->action == XADC_DS_RL_LOCAL_RSP) {
			if (!c->ops->respond(c->priv, rl->status ? rl->status : 429, NULL, 0, NULL, 0))
				st->answered = true;
		} else if (rl->action == XADC_DS_RL_CLOSE_CONN) {
			if (!c->ops->close_conn(c->priv, false))
				st->answered = true;
		}
	}
	lua_pushboolean(L, over);
	return 1;
}

static int vs_close_conn(lua_State *L)
{
	struct ds_state *st = stc(L);

	if (!st->ctx->ops->close_conn(st->ctx->priv, lua_toboolean(L, 1)))
		st->answered = true;
	return 0;
}

static int vs_index(lua_State *L)
{
	const char *k = lua_tostring(L, 2);

	if (k && !strcmp(k, "reqvar"))
		return push_reqvar(L);
	lua_gettable(L, lua_upvalueindex(1));
	return 1;
}

/* Pushes the avi.vs proxy. */
void ds_open_vs(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "client_ip", vs_client_ip },
		{ "client_port", vs_client_port },
		{ "ip", vs_ip },
		{ "port", vs_port },
		{ "name", vs_name },
		{ "se_count", vs_se_count },
		{ "log", vs_log },
		{ "table_insert", vs_table_insert },
		{ "table_lookup", vs_table_lookup },
		{ "table_refresh", vs_table_refresh },
		{ "table_remove", vs_table_remove },
		{ "rate_limit", vs_rate_limit },
		{ "close_conn", vs_close_conn },
		{ NULL, NULL },
	};

	lua_newtable(L);		/* proxy */
	lua_createtable(L, 0, 3);	/* metatable */
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	lua_pushcclosure(L, vs_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	/* writes go through ds_readonly's __newindex on an outer proxy */
	ds_readonly(L, -1);
	lua_remove(L, -2);
}

/* ------------------------------------------------------------ pools */

static struct xadc_pool *pool_arg(lua_State *L, int i)
{
	struct ds_state *st = stc(L);
	const char *name = luaL_checkstring(L, i);
	unsigned k;

	for (k = 0; k < st->set->npools; k++)
		if (!strcmp(st->set->pools[k]->name, name))
			return st->set->pools[k];
	ds_error(L, "pool '%s' is not in pool_refs of vsdatascriptset '%s'", name,
		 st->set->name);
	return NULL;
}

static bool parse_ip(const char *s, union xadc_sockaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static bool same_ip(const union xadc_sockaddr *a, const union xadc_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
}

/* The pool's server with ip (and port when > 0); NULL if none. */
static struct xadc_server *server_arg(lua_State *L, struct xadc_pool *p, int i)
{
	const char *ip = luaL_checkstring(L, i);
	lua_Integer port = luaL_optinteger(L, i + 1, 0);
	union xadc_sockaddr a;
	unsigned k;

	if (!parse_ip(ip, &a))
		ds_error(L, "'%s' is not an IP address", ip);
	for (k = 0; k < p->nservers; k++) {
		struct xadc_server *s = &p->servers[k];

		if (same_ip(&s->addr, &a) && (!port || port_of(&s->addr) == port))
			return s;
	}
	return NULL;
}

static bool server_up(const struct xadc_server *s)
{
	return s->enabled && (!s->rt || atomic_load(&s->rt->up));
}

/* select(pool [, server [, port]]) */
static int pool_select(lua_State *L)
{
	struct ds_state *st = stc(L);
	struct xadc_pool *p = pool_arg(L, 1);
	struct xadc_server *s = NULL;
	int rc;

	if (st->evt != XADC_DS_EVT_HTTP_REQ && st->evt != XADC_DS_EVT_HTTP_REQ_DATA &&
	    st->evt != XADC_DS_EVT_TCP_CLIENT_ACCEPT)
		ds_error(L, "select: only at HTTP_REQ, HTTP_REQ_DATA or TCP_CLIENT_ACCEPT");
	if (!lua_isnoneornil(L, 2)) {
		s = server_arg(L, p, 2);
		if (!s)
			ds_error(L, "select: pool '%s' has no server %s", p->name,
				 lua_tostring(L, 2));
	}
	rc = st->ctx->ops->select(st->ctx->priv, p, s);
	if (rc < 0)
		ds_error(L, "select: failed (%s)", strerror(-rc));
	lua_pushboolean(L, 1);
	return 1;
}

/* get_servers(pool) -> servers up, servers total */
static int pool_get_servers(lua_State *L)
{
	struct xadc_pool *p = pool_arg(L, 1);
	unsigned k, up = 0;

	for (k = 0; k < p->nservers; k++)
		up += server_up(&p->servers[k]);
	lua_pushinteger(L, up);
	lua_pushinteger(L, p->nservers);
	return 2;
}

/* get_server_status(pool, server [, port]) -> true up, false down, nil unknown */
static int pool_get_server_status(lua_State *L)
{
	struct xadc_pool *p = pool_arg(L, 1);
	struct xadc_server *s = server_arg(L, p, 2);

	if (!s)
		lua_pushnil(L);
	else
		lua_pushboolean(L, server_up(s));
	return 1;
}

void ds_open_pool(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "select", pool_select },
		{ "get_servers", pool_get_servers },
		{ "get_server_status", pool_get_server_status },
		{ NULL, NULL },
	};

	luaL_setfuncs(L, fns, 0);
}

/* ------------------------------------------------------------ groups */

static const struct xadc_named_set *group_arg(lua_State *L, bool ip)
{
	struct ds_state *st = stc(L);
	const char *name = luaL_checkstring(L, 1);
	const struct xadc_named_set *const *v = ip ? st->set->ipgs : st->set->sgs;
	unsigned n = ip ? st->set->nipgs : st->set->nsgs, k;

	for (k = 0; k < n; k++)
		if (!strcmp(v[k]->name, name))
			return v[k];
	ds_error(L, "%s '%s' is not in %s of vsdatascriptset '%s'",
		 ip ? "ipaddrgroup" : "stringgroup", name,
		 ip ? "ipgroup_refs" : "string_group_refs", st->set->name);
	return NULL;
}

/* (group, s) -> value, true | nil, false. The value is the matched entry's
 * value for a key-value group, else the matched string of the group. */
static int sg_match(lua_State *L, enum xadc_sop op)
{
	const struct xadc_named_set *g = group_arg(L, false);
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);
	struct xadc_str_hit hit;

	if (!g->set || !xadc_strset_match(g->set, op, false, s, len, &hit)) {
		lua_pushnil(L);
		lua_pushboolean(L, 0);
		return 2;
	}
	if (g->keyval)
		lua_pushlstring(L, hit.value, hit.value_len);
	else
		lua_pushlstring(L, hit.key, hit.key_len);
	lua_pushboolean(L, 1);
	return 2;
}

static int sg_beginswith(lua_State *L)
{
	return sg_match(L, XADC_SOP_BEGINS_WITH);
}

static int sg_endswith(lua_State *L)
{
	return sg_match(L, XADC_SOP_ENDS_WITH);
}

static int sg_contains(lua_State *L)
{
	return sg_match(L, XADC_SOP_CONTAINS);
}

static int sg_equals(lua_State *L)
{
	return sg_match(L, XADC_SOP_EQUALS);
}

static int ipg_contains(lua_State *L)
{
	const struct xadc_named_set *g = group_arg(L, true);
	const char *ip = luaL_checkstring(L, 2);
	union xadc_sockaddr a;

	if (!parse_ip(ip, &a))
		ds_error(L, "ipgroup.contains: '%s' is not an IP address", ip);
	lua_pushboolean(L, g->set && xadc_ipset_contains(g->set, &a));
	return 1;
}

/* Sets avi.stringgroup and avi.ipgroup on the table at the top. */
void ds_open_groups(lua_State *L)
{
	static const luaL_Reg sg[] = {
		{ "beginswith", sg_beginswith },
		{ "endswith", sg_endswith },
		{ "contains", sg_contains },
		{ "equals", sg_equals },
		{ NULL, NULL },
	};
	static const luaL_Reg ipg[] = {
		{ "contains", ipg_contains },
		{ NULL, NULL },
	};

	lua_newtable(L);
	luaL_setfuncs(L, sg, 0);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "stringgroup");
	lua_pop(L, 1);
	lua_newtable(L);
	luaL_setfuncs(L, ipg, 0);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "ipgroup");
	lua_pop(L, 1);
}
