// SPDX-License-Identifier: GPL-2.0
/*
 * ds_state.c - the DataScript runtime: compiling sets, the per-worker
 * sandboxed Lua states, instruction budget, memory cap, running events and
 * the per-transaction record (reqvar, log, error trace).
 *
 * Sandbox: a state only ever opens base, string, table, math, utf8 and os;
 * scripts see a read-only table of whitelisted names (no dofile, loadfile,
 * require, package, io, debug, coroutine, print, rawset; os reduced to time,
 * clock and date; load forced to text mode; collectgarbage limited to
 * "count"). Library tables are read-only proxies so one set cannot change
 * what another set sees in the same state; each set has its own globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_internal.h"

#define DS_HOOK_STEP	 1000		/* instructions between budget checks */
#define DS_COMPILE_MEM	 (64u << 20)	/* throwaway compile state */
#define DS_MEM_MIN	 (1u << 20)

static const char *const evt_names[XADC_DS_EVT__COUNT] = {
	[XADC_DS_EVT_HTTP_REQ] = "HTTP_REQ",
	[XADC_DS_EVT_HTTP_RESP] = "HTTP_RESP",
	[XADC_DS_EVT_HTTP_LB_FAILED] = "HTTP_LB_FAILED",
	[XADC_DS_EVT_HTTP_RESP_FAILED] = "HTTP_RESP_FAILED",
	[XADC_DS_EVT_TCP_CLIENT_ACCEPT] = "TCP_CLIENT_ACCEPT",
	[XADC_DS_EVT_HTTP_REQ_DATA] = "HTTP_REQ_DATA",
	[XADC_DS_EVT_HTTP_RESP_DATA] = "HTTP_RESP_DATA",
};

#define EVT_PREFIX "VS_DATASCRIPT_EVT_"

/* Accepts Avi's full enum name or the short form. */
int xadc_ds_evt_parse(const char *name)
{
	int i;

	if (!name)
		return -1;
	if (!strncmp(name, EVT_PREFIX, strlen(EVT_PREFIX)))
		name += strlen(EVT_PREFIX);
	for (i = 0; i < XADC_DS_EVT__COUNT; i++)
		if (!strcmp(name, evt_names[i]))
			return i;
	return -1;
}

const char *xadc_ds_evt_name(enum xadc_ds_evt evt)
{
	return (unsigned)evt < XADC_DS_EVT__COUNT ? evt_names[evt] : "?";
}

static size_t mem_limit = XADC_DS_DEF_MEM;

void xadc_ds_set_mem_limit(size_t bytes)
{
	mem_limit = bytes < DS_MEM_MIN ? DS_MEM_MIN : bytes;
}

/* ------------------------------------------------------------ helpers */

int ds_error(lua_State *L, const char *fmt, ...)
{
	va_list ap;

	/* position of the script line that called the avi function */
	luaL_where(L, 1);
	if (!lua_tostring(L, -1)[0]) {
		lua_pop(L, 1);
		luaL_where(L, 2);
	}
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

static int ro_newindex(lua_State *L)
{
	return luaL_error(L, "attempt to modify a read-only table");
}

/* Replace the table at idx by a read-only proxy of it (pushed). */
void ds_readonly(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_newtable(L);		/* proxy */
	lua_createtable(L, 0, 3);	/* its metatable */
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------ allocator */

/* Lua's allocator with a cap: growing past mem_limit fails (Lua raises a
 * memory error); frees and shrinks always succeed. */
static void *ds_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct ds_state *st = ud;
	size_t old = ptr ? osize : 0;
	void *p;

	if (!nsize) {
		free(ptr);
		st->mem -= old;
		return NULL;
	}
	if (st->mem_enforce && nsize > old && st->mem - old + nsize > st->mem_limit)
		return NULL;
	p = realloc(ptr, nsize);
	if (!p)
		return NULL;
	st->mem = st->mem - old + nsize;
	return p;
}

/* Count hook: every DS_HOOK_STEP instructions take them off the budget. */
static void ds_hook(lua_State *L, lua_Debug *ar)
{
	struct ds_state *st = ds_st(L);

	st->budget -= DS_HOOK_STEP;
	if (st->budget > 0)
		return;
	st->budget_hit = true;
	/* level 0 inside a hook: the script line that was running */
	luaL_where(L, 0);
	lua_pushfstring(L, "instruction budget of %I instructions exceeded",
			(lua_Integer)st->set->max_instructions);
	lua_concat(L, 2);
	lua_error(L);
}

/* ------------------------------------------------------------ sandbox */

/* load(chunk [, name [, mode [, env]]]): text chunks only; the default
 * environment is the calling set's. */
static int sb_load(lua_State *L)
{
	size_t len;
	const char *s = lua_tolstring(L, 1, &len);
	const char *name = luaL_optstring(L, 2, "=(load)");
	const char *mode = luaL_optstring(L, 3, "t");

	if (!s || lua_type(L, 1) != LUA_TSTRING)
		return ds_error(L, "load: only string chunks are allowed");
	if (strcmp(mode, "t")) {
		luaL_pushfail(L);
		lua_pushstring(L, "load: binary chunks are not allowed (mode must be \"t\")");
		return 2;
	}
	if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2;
	}
	if (!lua_isnone(L, 4))
		lua_pushvalue(L, 4);
	else
		lua_rawgetp(L, LUA_REGISTRYINDEX, (void *)&evt_names);	/* current env */
	if (!lua_setupvalue(L, -2, 1))
		lua_pop(L, 1);
	return 1;
}

static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "count");
	int kb, b;

	if (strcmp(opt, "count"))
		return ds_error(L, "collectgarbage: option '%s' is not allowed", opt);
	kb = lua_gc(L, LUA_GCCOUNT);
	b = lua_gc(L, LUA_GCCOUNTB);
	lua_pushnumber(L, (lua_Number)kb + (lua_Number)b / 1024);
	return 1;
}

/* pcall / xpcall that cannot swallow the budget or memory stop. */
static int sb_pcall_k(lua_State *L, int status, lua_KContext extra)
{
	struct ds_state *st = ds_st(L);

	if (status != LUA_OK && status != LUA_YIELD) {
		if (st->budget_hit || status == LUA_ERRMEM)
			return lua_error(L);
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
	int status;

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
	return sb_pcall_k(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L), status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);	/* f, h, true, f, args... */
	status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
	return sb_pcall_k(L, status, 2);
}

/* setmetatable without __gc: a finalizer would run at garbage collection,
 * outside any instruction budget (e.g. while a state recovers). */
static int sb_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return ds_error(L, "setmetatable: __gc is not allowed in DataScripts");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static const char *const base_allowed[] = {
	"assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen",
	"select", "tonumber", "tostring", "type", "getmetatable", "_VERSION", NULL,
};

/* Build the read-only base table every set's environment inherits. */
static void sandbox_build(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{ "_G", luaopen_base },	    { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 }, { LUA_OSLIBNAME, luaopen_os },
		{ NULL, NULL },
	};
	static const char *const ro_libs[] = { "string", "table", "math", "utf8", NULL };
	static const char *const os_allowed[] = { "time", "clock", "date", NULL };
	const luaL_Reg *l;
	int sb, i;

	for (l = libs; l->name; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	ds_string_ext(L);
	/* getmetatable("") must not hand out the string library table */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	lua_newtable(L);
	sb = lua_gettop(L);
	lua_pushglobaltable(L);
	for (i = 0; base_allowed[i]; i++) {
		lua_getfield(L, -1, base_allowed[i]);
		lua_setfield(L, sb, base_allowed[i]);
	}
	for (i = 0; ro_libs[i]; i++) {
		lua_getfield(L, -1, ro_libs[i]);
		ds_readonly(L, -1);
		lua_setfield(L, sb, ro_libs[i]);
		lua_pop(L, 1);
	}
	lua_newtable(L);
	lua_getfield(L, -2, "os");
	for (i = 0; os_allowed[i]; i++) {
		lua_getfield(L, -1, os_allowed[i]);
		lua_setfield(L, -3, os_allowed[i]);
	}
	lua_pop(L, 1);
	ds_readonly(L, -1);
	lua_setfield(L, sb, "os");
	lua_pop(L, 2);	/* os table, global table */

	lua_getglobal(L, "setmetatable");	/* the real one, as upvalue */
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, sb, "setmetatable");
	lua_pushcfunction(L, sb_load);
	lua_setfield(L, sb, "load");
	lua_pushcfunction(L, sb_collectgarbage);
	lua_setfield(L, sb, "collectgarbage");
	lua_pushcfunction(L, sb_pcall);
	lua_setfield(L, sb, "pcall");
	lua_pushcfunction(L, sb_xpcall);
	lua_setfield(L, sb, "xpcall");

	/* avi.* */
	lua_newtable(L);
	lua_pushinteger(L, XADC_DS_REQ);
	lua_setfield(L, -2, "HTTP_REQUEST");
	lua_pushinteger(L, XADC_DS_RESP);
	lua_setfield(L, -2, "HTTP_RESPONSE");
	lua_pushinteger(L, 1);
	lua_setfield(L, -2, "QUERY_TABLE");
	lua_pushinteger(L, 1);
	lua_setfield(L, -2, "SIG_ENABLE");
	lua_pushinteger(L, 1);
	lua_setfield(L, -2, "RL_CUSTOM_STRING");
	lua_newtable(L);
	ds_open_http(L);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "http");
	lua_pop(L, 1);
	ds_open_vs(L);		/* pushes its own proxy */
	lua_setfield(L, -2, "vs");
	lua_newtable(L);
	ds_open_pool(L);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "pool");
	lua_pop(L, 1);
	ds_open_groups(L);	/* sets stringgroup and ipgroup */
	lua_newtable(L);
	ds_open_crypto(L);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "crypto");
	lua_pop(L, 1);
	lua_newtable(L);
	ds_open_utils(L);
	ds_readonly(L, -1);
	lua_setfield(L, -3, "utils");
	lua_pop(L, 1);
	ds_readonly(L, -1);
	lua_setfield(L, sb, "avi");
	lua_pop(L, 1);

	ds_readonly(L, sb);
	lua_remove(L, sb);
}

static int state_init(lua_State *L)
{
	struct ds_state *st = lua_touserdata(L, 1);

	sandbox_build(L);
	st->sandbox_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	st->cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

static atomic_uint epoch_seq;

static struct ds_state *state_new(unsigned worker)
{
	struct ds_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->worker = worker;
	st->mem_limit = mem_limit;
	st->L = lua_newstate(ds_alloc, st);
	if (!st->L) {
		free(st);
		return NULL;
	}
	*(struct ds_state **)lua_getextraspace(st->L) = st;
	lua_pushcfunction(st->L, state_init);
	lua_pushlightuserdata(st->L, st);
	if (lua_pcall(st->L, 1, 0, 0) != LUA_OK) {
		lua_close(st->L);
		free(st);
		return NULL;
	}
	st->epoch = atomic_fetch_add(&epoch_seq, 1) + 1;
	st->mem_enforce = true;
	return st;
}

static void state_free(struct ds_state *st)
{
	if (!st)
		return;
	st->mem_enforce = false;
	lua_close(st->L);
	free(st);
}

/* Only worker w's thread reads or writes workers[w]. */
static struct ds_state *workers[XADC_MAX_WORKERS];

static struct ds_state *worker_state(unsigned w)
{
	if (w >= XADC_MAX_WORKERS)
		return NULL;
	if (!workers[w])
		workers[w] = state_new(w);
	return workers[w];
}

static void worker_rebuild(unsigned w)
{
	state_free(workers[w]);
	workers[w] = state_new(w);
}

void xadc_ds_worker_fini(unsigned worker)
{
	if (worker < XADC_MAX_WORKERS) {
		state_free(workers[worker]);
		workers[worker] = NULL;
	}
}

uint32_t xadc_ds_worker_epoch(unsigned worker)
{
	return worker < XADC_MAX_WORKERS && workers[worker] ? workers[worker]->epoch : 0;
}

size_t xadc_ds_worker_mem(unsigned worker)
{
	return worker < XADC_MAX_WORKERS && workers[worker] ? workers[worker]->mem : 0;
}

/* ------------------------------------------------------------ compile */

static atomic_ullong set_uid_seq;

static void chunk_name(const struct xadc_ds_set *set, enum xadc_ds_evt evt, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%s", set->name, xadc_ds_evt_name(evt));
}

static int set_copy_refs(struct xadc_ds_set *set, const struct xadc_ds_set_params *p)
{
	if (p->npools) {
		set->pools = calloc(p->npools, sizeof(*set->pools));
		if (!set->pools)
			return -ENOMEM;
		memcpy(set->pools, p->pools, p->npools * sizeof(*set->pools));
		set->npools = p->npools;
	}
	if (p->nstrgroups) {
		set->sgs = calloc(p->nstrgroups, sizeof(*set->sgs));
		if (!set->sgs)
			return -ENOMEM;
		memcpy(set->sgs, p->strgroups, p->nstrgroups * sizeof(*set->sgs));
		set->nsgs = p->nstrgroups;
	}
	if (p->nipgroups) {
		set->ipgs = calloc(p->nipgroups, sizeof(*set->ipgs));
		if (!set->ipgs)
			return -ENOMEM;
		memcpy(set->ipgs, p->ipgroups, p->nipgroups * sizeof(*set->ipgs));
		set->nipgs = p->nipgroups;
	}
	if (p->nrls) {
		set->rls = calloc(p->nrls, sizeof(*set->rls));
		if (!set->rls)
			return -ENOMEM;
		memcpy(set->rls, p->rls, p->nrls * sizeof(*set->rls));
		set->nrls = p->nrls;
	}
	return 0;
}

/* Syntax-check one script in the throwaway state L. */
static int compile_one(lua_State *L, const struct xadc_ds_set *set, const struct ds_script *sc,
		       const char *path, unsigned idx, char *err, size_t errlen)
{
	char name[XADC_NAME_MAX + 32];

	if (sc->len > XADC_DS_SCRIPT_MAX) {
		snprintf(err, errlen, "%s.datascript[%u].script: %zu bytes, more than %u", path, idx,
			 sc->len, XADC_DS_SCRIPT_MAX);
		return -EINVAL;
	}
	chunk_name(set, sc->evt, name, sizeof(name));
	if (luaL_loadbufferx(L, sc->src, sc->len, name, "t") != LUA_OK) {
		snprintf(err, errlen, "%s.datascript[%u].script: %s", path, idx,
			 lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot compile");
		lua_pop(L, 1);
		return -EINVAL;
	}
	lua_pop(L, 1);
	return 0;
}

struct xadc_ds_set *xadc_ds_set_compile(const struct xadc_ds_set_params *p, char *err,
					size_t errlen)
{
	struct ds_state tmp = { .mem_limit = DS_COMPILE_MEM, .mem_enforce = true };
	const char *path = p->path ? p->path : "vsdatascriptset";
	struct xadc_ds_set *set;
	lua_State *L = NULL;
	unsigned i;
	int ret = -ENOMEM;

	err[0] = '\0';
	set = calloc(1, sizeof(*set));
	if (!set)
		goto out;
	snprintf(set->name, sizeof(set->name), "%s", p->name ? p->name : "");
	set->uid = atomic_fetch_add(&set_uid_seq, 1) + 1;
	set->max_instructions = p->max_instructions ? p->max_instructions
						    : XADC_DS_DEF_INSTRUCTIONS;
	if (set->max_instructions > XADC_DS_MAX_INSTRUCTIONS)
		set->max_instructions = XADC_DS_MAX_INSTRUCTIONS;
	set->fail_open = p->fail_open;
	set->req_body_buf = p->req_body_buf ? p->req_body_buf : XADC_DS_DEF_BODY_BUF;
	if (set->req_body_buf > XADC_DS_MAX_BODY_BUF)
		set->req_body_buf = XADC_DS_MAX_BODY_BUF;
	set->resp_body_buf = p->resp_body_buf ? p->resp_body_buf : XADC_DS_DEF_BODY_BUF;
	if (set->resp_body_buf > XADC_DS_MAX_BODY_BUF)
		set->resp_body_buf = XADC_DS_MAX_BODY_BUF;
	if (set_copy_refs(set, p))
		goto out;
	set->scripts = calloc(p->nscripts ? p->nscripts : 1, sizeof(*set->scripts));
	if (!set->scripts)
		goto out;
	L = lua_newstate(ds_alloc, &tmp);
	if (!L)
		goto out;
	for (i = 0; i < p->nscripts; i++) {
		struct ds_script *sc = &set->scripts[i];

		if ((unsigned)p->scripts[i].evt >= XADC_DS_EVT__COUNT || !p->scripts[i].script) {
			snprintf(err, errlen, "%s.datascript[%u]: bad event or no script", path, i);
			ret = -EINVAL;
			goto out;
		}
		sc->evt = p->scripts[i].evt;
		sc->len = strlen(p->scripts[i].script);
		sc->src = strdup(p->scripts[i].script);
		set->nscripts++;
		if (!sc->src)
			goto out;
		ret = compile_one(L, set, sc, path, i, err, errlen);
		if (ret)
			goto out;
		ret = -ENOMEM;
		set->events |= 1u << sc->evt;
	}
	ret = 0;
out:
	if (L)
		lua_close(L);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "%s: out of memory", path);
		xadc_ds_set_free(set);
		return NULL;
	}
	return set;
}

int xadc_ds_check_script(const char *set_name, enum xadc_ds_evt evt, const char *src,
			 char *err, size_t errlen)
{
	struct ds_state tmp = { .mem_limit = DS_COMPILE_MEM, .mem_enforce = true };
	struct xadc_ds_set set = {};
	struct ds_script sc = { .evt = evt, .src = (char *)src, .len = strlen(src) };
	lua_State *L;
	char full[1024];
	const char *msg;
	int ret;

	snprintf(set.name, sizeof(set.name), "%s", set_name);
	L = lua_newstate(ds_alloc, &tmp);
	if (!L) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = compile_one(L, &set, &sc, "", 0, full, sizeof(full));
	lua_close(L);
	if (ret) {
		/* drop compile_one's path part: the caller has its own */
		msg = strstr(full, ".script: ");
		snprintf(err, errlen, "%s", msg ? msg + strlen(".script: ") : full);
	}
	return ret;
}

void xadc_ds_set_free(struct xadc_ds_set *set)
{
	unsigned i;

	if (!set)
		return;
	for (i = 0; i < set->nscripts; i++)
		free(set->scripts[i].src);
	free(set->scripts);
	free(set->pools);
	free(set->sgs);
	free(set->ipgs);
	free(set->rls);
	free(set);
}

unsigned xadc_ds_set_events(const struct xadc_ds_set *set)
{
	return set ? set->events : 0;
}

struct xadc_ds_vs *xadc_ds_vs_new(const char *vs_name)
{
	struct xadc_ds_vs *dv = calloc(1, sizeof(*dv));

	if (!dv)
		return NULL;
	dv->tab = xadc_ds_vstab_get(vs_name);
	if (!dv->tab) {
		free(dv);
		return NULL;
	}
	return dv;
}

int xadc_ds_vs_add(struct xadc_ds_vs *dv, struct xadc_ds_set *set)
{
	struct xadc_ds_set **n = realloc(dv->sets, (dv->nsets + 1) * sizeof(*n));

	if (!n) {
		xadc_ds_set_free(set);
		return -ENOMEM;
	}
	dv->sets = n;
	dv->sets[dv->nsets++] = set;
	dv->events |= set->events;
	if ((set->events & (1u << XADC_DS_EVT_HTTP_REQ_DATA)) &&
	    set->req_body_buf > dv->req_body_buf)
		dv->req_body_buf = set->req_body_buf;
	if ((set->events & (1u << XADC_DS_EVT_HTTP_RESP_DATA)) &&
	    set->resp_body_buf > dv->resp_body_buf)
		dv->resp_body_buf = set->resp_body_buf;
	return 0;
}

void xadc_ds_vs_free(struct xadc_ds_vs *dv)
{
	unsigned i;

	if (!dv)
		return;
	for (i = 0; i < dv->nsets; i++)
		xadc_ds_set_free(dv->sets[i]);
	free(dv->sets);
	xadc_ds_vstab_put(dv->tab);
	free(dv);
}

/* ------------------------------------------------------------ transactions */

void xadc_ds_txn_init(struct xadc_ds_txn *t, unsigned worker)
{
	t->reqvar_ref = LUA_NOREF;
	t->state_epoch = 0;
	t->worker = worker;
	t->significant = false;
	t->has_error = false;
	t->log_len = 0;
	t->log[0] = t->err[0] = t->err_evt[0] = t->err_stack[0] = '\0';
}

void xadc_ds_txn_end(struct xadc_ds_txn *t)
{
	struct ds_state *st = t->worker < XADC_MAX_WORKERS ? workers[t->worker] : NULL;

	if (t->reqvar_ref >= 0 && st && st->epoch == t->state_epoch)
		luaL_unref(st->L, LUA_REGISTRYINDEX, t->reqvar_ref);
	t->reqvar_ref = LUA_NOREF;
}

/* JSON string body of s[0..n) into out; returns bytes written (never cuts
 * an escape in half). */
static size_t json_esc(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		char e[7];
		size_t el = 0;

		if (c == '"' || c == '\\') {
			e[el++] = '\\';
			e[el++] = c;
		} else if (c == '\n') {
			e[el++] = '\\';
			e[el++] = 'n';
		} else if (c == '\t') {
			e[el++] = '\\';
			e[el++] = 't';
		} else if (c < 0x20 || c >= 0x7f) {
			/* keep the line valid JSON whatever the script logged */
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		} else {
			e[el++] = c;
		}
		if (o + el >= cap)
			break;
		memcpy(out + o, e, el);
		o += el;
	}
	return o;
}

struct jb {
	char *p;
	size_t len, cap;
};

static void jb_raw(struct jb *j, const char *s)
{
	size_t n = strlen(s);

	if (j->len + n < j->cap) {
		memcpy(j->p + j->len, s, n);
		j->len += n;
	}
}

static void jb_str(struct jb *j, const char *s, size_t n)
{
	/* reserve room for the closing quote and the rest of the object */
	size_t room = j->cap > j->len + 8 ? j->cap - j->len - 8 : 0;

	jb_raw(j, "\"");
	j->len += json_esc(j->p + j->len, room, s, n);
	jb_raw(j, "\"");
}

size_t xadc_ds_txn_json(const struct xadc_ds_txn *t, char *buf, size_t cap)
{
	struct jb j = { .p = buf, .cap = cap };

	if (!cap)
		return 0;
	if (t->log_len) {
		jb_raw(&j, ",\"datascript_log\":");
		jb_str(&j, t->log, t->log_len);
	}
	if (t->has_error) {
		jb_raw(&j, ",\"datascript_error_trace\":{\"error\":");
		jb_str(&j, t->err, strlen(t->err));
		jb_raw(&j, ",\"event\":");
		jb_str(&j, t->err_evt, strlen(t->err_evt));
		jb_raw(&j, ",\"stack_trace\":");
		jb_str(&j, t->err_stack, strlen(t->err_stack));
		jb_raw(&j, "}");
	}
	if (t->significant)
		jb_raw(&j, ",\"significant\":true");
	buf[j.len] = '\0';
	return j.len;
}

/* ------------------------------------------------------------ run */

static int ds_msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* Record the error at the top of the stack into the transaction. */
static void record_error(struct ds_state *st, int status, const char *why)
{
	struct xadc_ds_txn *t = st->ctx->txn;
	const char *msg = why ? why : lua_tostring(st->L, -1);
	const char *tb;
	size_t n;

	if (!t)
		return;
	if (!msg)
		msg = "unknown error";
	tb = strstr(msg, "\nstack traceback:\n");
	n = tb ? (size_t)(tb - msg) : strlen(msg);
	if (n >= sizeof(t->err))
		n = sizeof(t->err) - 1;
	memcpy(t->err, msg, n);
	t->err[n] = '\0';
	snprintf(t->err_stack, sizeof(t->err_stack), "%s",
		 tb ? tb + strlen("\nstack traceback:\n") : "");
	snprintf(t->err_evt, sizeof(t->err_evt), EVT_PREFIX "%s", xadc_ds_evt_name(st->evt));
	t->has_error = true;
	t->significant = true;
}

/* Push the set's cache entry {env, fn...} loading it on first use. */
static int push_set(struct ds_state *st, const struct xadc_ds_set *set)
{
	lua_State *L = st->L;
	char name[XADC_NAME_MAX + 32];
	unsigned i;

	lua_rawgeti(L, LUA_REGISTRYINDEX, st->cache_ref);
	if (lua_rawgeti(L, -1, (lua_Integer)set->uid) == LUA_TTABLE) {
		lua_remove(L, -2);
		return 0;
	}
	lua_pop(L, 1);
	lua_createtable(L, set->nscripts, 1);
	/* env: own globals over the read-only sandbox */
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->sandbox_ref);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
	lua_setfield(L, -2, "env");
	for (i = 0; i < set->nscripts; i++) {
		const struct ds_script *sc = &set->scripts[i];

		chunk_name(set, sc->evt, name, sizeof(name));
		if (luaL_loadbufferx(L, sc->src, sc->len, name, "t") != LUA_OK)
			return -1;	/* message on the stack */
		lua_getfield(L, -2, "env");
		lua_setupvalue(L, -2, 1);
		lua_rawseti(L, -2, i + 1);
	}
	lua_pushvalue(L, -1);
	lua_rawseti(L, -3, (lua_Integer)set->uid);
	lua_remove(L, -2);
	return 0;
}

/* Protected: drop the chunk cache when asked (a newer generation), then
 * push set's cache entry. Nothing that allocates runs unprotected, so a
 * memory error can never reach Lua's panic handler. */
static int p_prepare(lua_State *L)
{
	struct ds_state *st = ds_st(L);
	const struct xadc_ds_set *set = lua_touserdata(L, 1);
	bool flush = lua_toboolean(L, 2);

	lua_settop(L, 0);
	if (flush) {
		lua_newtable(L);
		lua_rawseti(L, LUA_REGISTRYINDEX, st->cache_ref);
	}
	if (set && push_set(st, set))
		return lua_error(L);
	return set ? 1 : 0;
}

static int prepare(struct ds_state *st, const struct xadc_ds_set *set, bool flush)
{
	lua_settop(st->L, 0);
	lua_pushcfunction(st->L, p_prepare);
	lua_pushlightuserdata(st->L, (void *)set);
	lua_pushboolean(st->L, flush);
	return lua_pcall(st->L, 2, set ? 1 : 0, 0);
}

/* Run set's scripts for st->evt; the set's cache entry is at the top. */
static int run_set(struct ds_state *st, const struct xadc_ds_set *set)
{
	lua_State *L = st->L;
	int entry = lua_gettop(L), status;
	unsigned i;

	lua_getfield(L, entry, "env");
	lua_rawsetp(L, LUA_REGISTRYINDEX, (void *)&evt_names);
	for (i = 0; i < set->nscripts && !st->answered; i++) {
		if (set->scripts[i].evt != st->evt)
			continue;
		st->budget = (int64_t)set->max_instructions;
		st->budget_hit = false;
		lua_sethook(L, ds_hook, LUA_MASKCOUNT, DS_HOOK_STEP);
		lua_pushcfunction(L, ds_msgh);
		lua_rawgeti(L, entry, i + 1);
		status = lua_pcall(L, 0, 0, entry + 1);
		lua_sethook(L, NULL, 0, 0);
		if (status != LUA_OK)
			return status;
		lua_pop(L, 1);	/* msgh */
	}
	return LUA_OK;
}

/* After a failed run: free what the script left, rebuild if that is not
 * enough or the state is in an unknown condition. */
static void recover(struct ds_state *st, int status)
{
	unsigned w = st->worker;

	st->mem_enforce = false;
	lua_settop(st->L, 0);
	lua_gc(st->L, LUA_GCCOLLECT);
	st->mem_enforce = true;
	if ((status != LUA_ERRRUN && status != LUA_ERRMEM) || st->mem > st->mem_limit / 4 * 3) {
		pr_warn("datascript", "worker %u: rebuilding the Lua state (%zu bytes in use)", w,
			st->mem);
		worker_rebuild(w);
	}
}

enum xadc_ds_verdict xadc_ds_run(const struct xadc_ds_vs *dv, enum xadc_ds_evt evt,
				 struct xadc_ds_ctx *ctx)
{
	struct ds_state *st;
	enum xadc_ds_verdict v = XADC_DS_CONTINUE;
	char msg[XADC_NAME_MAX + 128];
	unsigned i;
	int status = LUA_OK;

	if (!xadc_ds_vs_has(dv, evt))
		return XADC_DS_CONTINUE;
	st = worker_state(ctx->worker);
	if (!st) {
		if (ctx->txn) {
			snprintf(ctx->txn->err, sizeof(ctx->txn->err), "no memory for a Lua state");
			ctx->txn->has_error = ctx->txn->significant = true;
		}
		return XADC_DS_ERROR;
	}
	if (ctx->gen > st->gen) {
		/* a newer configuration: chunks of older sets load again if needed */
		if (prepare(st, NULL, true) == LUA_OK)
			st->gen = ctx->gen;
		lua_settop(st->L, 0);
	}
	st->ctx = ctx;
	st->dv = dv;
	st->evt = evt;
	st->answered = false;
	for (i = 0; i < dv->nsets && !st->answered; i++) {
		const struct xadc_ds_set *set = dv->sets[i];

		if (!(set->events & (1u << evt)))
			continue;
		st->set = set;
		status = prepare(st, set, false);
		if (status == LUA_OK) {
			status = run_set(st, set);
			if (status == LUA_OK)
				lua_settop(st->L, 0);
		}
		if (status == LUA_OK)
			continue;
		if (status == LUA_ERRMEM) {
			snprintf(msg, sizeof(msg),
				 "[string \"%s:%s\"]: memory limit of %zu bytes exceeded",
				 set->name, xadc_ds_evt_name(evt), st->mem_limit);
			record_error(st, status, msg);
		} else {
			record_error(st, status, NULL);
		}
		v = set->fail_open ? XADC_DS_CONTINUE : XADC_DS_ERROR;
		recover(st, status);
		st = workers[ctx->worker];
		if (!st || v == XADC_DS_ERROR)
			break;
		st->ctx = ctx;
		st->dv = dv;
		st->evt = evt;
	}
	if (st) {
		if (v == XADC_DS_CONTINUE && st->answered)
			v = XADC_DS_ANSWERED;
		lua_settop(st->L, 0);
		st->ctx = NULL;
		st->set = NULL;
		st->dv = NULL;
	}
	return v;
}
