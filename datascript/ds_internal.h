/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ds_internal.h - shared by datascript/ds_*.c only.
 */
#ifndef XADC_DS_INTERNAL_H
#define XADC_DS_INTERNAL_H

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

#include "datascript.h"

struct xadc_ds_set {
	char name[XADC_NAME_MAX];
	uint64_t uid;			/* unique per compiled set: worker cache key */
	unsigned nscripts;
	struct ds_script {
		enum xadc_ds_evt evt;
		char *src;
		size_t len;
	} *scripts;
	unsigned events;
	struct xadc_pool **pools;
	unsigned npools;
	const struct xadc_named_set **sgs;
	unsigned nsgs;
	const struct xadc_named_set **ipgs;
	unsigned nipgs;
	struct xadc_ds_ratelimiter *rls;
	unsigned nrls;
	uint64_t max_instructions;
	bool fail_open;
	uint32_t req_body_buf;		/* HTTP_REQ_DATA bound, bytes */
	uint32_t resp_body_buf;		/* HTTP_RESP_DATA bound, bytes */
};

/* One worker's Lua state. Its address sits in the state's extra space. */
struct ds_state {
	lua_State *L;
	unsigned worker;
	uint32_t epoch;
	size_t mem, mem_limit;
	bool mem_enforce;		/* off while building the state */
	int64_t budget;			/* instructions left in this event */
	bool budget_hit;
	uint64_t gen;			/* newest snapshot generation seen */
	int cache_ref;			/* registry: uid -> {env, [i] = fn} */
	int sandbox_ref;		/* registry: read-only base of every env */
	/* the event being run */
	struct xadc_ds_ctx *ctx;
	const struct xadc_ds_set *set;
	const struct xadc_ds_vs *dv;
	enum xadc_ds_evt evt;
	bool answered;
};

static inline struct ds_state *ds_st(lua_State *L)
{
	return *(struct ds_state **)lua_getextraspace(L);
}

/* ds_state.c */
/* Raise a Lua error naming the calling avi function: never returns. */
int ds_error(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A read-only proxy of the table at idx pushed on the stack. */
void ds_readonly(lua_State *L, int idx);

/* ds_http.c: fills the table at the top with avi.http's functions. */
void ds_open_http(lua_State *L);
/* ds_vs.c: avi.vs, avi.pool, avi.stringgroup, avi.ipgroup. */
void ds_open_vs(lua_State *L);
void ds_open_pool(lua_State *L);
void ds_open_groups(lua_State *L);
/* ds_util.c: avi.crypto, avi.utils, string.beginswith/endswith/contains. */
void ds_open_crypto(lua_State *L);
void ds_open_utils(lua_State *L);
void ds_string_ext(lua_State *L);

/* ds_table.c: the per-VS table store. name may be NULL (default table).
 * Values are kept as strings with a flag saying they were numbers. */
struct ds_tval {
	const char *val;		/* points into out buffer */
	size_t len;
	bool number;
	uint32_t left_s;		/* remaining lifetime, seconds */
};
/* true: newly inserted; false: existed (lifetime reset, value kept) or
 * the store is full (*full set). */
bool ds_tab_insert(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, const char *val, size_t vl, bool number, uint32_t lifetime_s,
		   uint64_t now_ms, bool *full);
/* Look up; copies the value into buf (cap bytes). extend_s: 0 keep the
 * expiry, UINT32_MAX restore the full lifetime, else this many seconds. */
bool ds_tab_lookup(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, uint32_t extend_s, uint64_t now_ms, char *buf, size_t cap,
		   struct ds_tval *out);
bool ds_tab_refresh(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		    size_t kl, uint32_t lifetime_s, uint64_t now_ms);
bool ds_tab_remove(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, uint64_t now_ms);
/* Token bucket keyed (limiter, key): true when the request exceeds it.
 * peek: report without taking a token. */
bool ds_tab_rate(struct xadc_ds_vstab *t, const struct xadc_ds_ratelimiter *rl,
		 const char *key, size_t kl, uint64_t now_ms);

#define DS_TAB_DEF_LIFETIME 300u	/* seconds, Avi's default */
#define DS_TAB_MAX_ENTRIES  65536u	/* per virtual service */
#define DS_TAB_MAX_KEY	    512u
#define DS_TAB_MAX_VAL	    4096u

#endif
