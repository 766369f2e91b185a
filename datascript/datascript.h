/* SPDX-License-Identifier: GPL-2.0 */
/*
 * datascript.h - Avi DataScripts: Lua 5.4 scripts with the avi.* API run at
 * named events of the request pipeline (issue 5).
 *
 * Life cycle:
 *  - The config compiler turns each vsdatascriptset into a struct
 *    xadc_ds_set with xadc_ds_set_compile(): every script is compiled once
 *    in a throwaway Lua state so a syntax error rejects the configuration
 *    with the script's path, name and line. The set keeps the source text.
 *  - A virtual service's vs_datascripts[] become one struct xadc_ds_vs
 *    (xadc_ds_vs_new / xadc_ds_vs_add), stored in struct xadc_vs.datascripts.
 *  - Workers call xadc_ds_run() at each event. Every worker has its own Lua
 *    state (created on first use, never shared, no lock); a set's chunks are
 *    loaded into it from source (text mode only) the first time that worker
 *    runs it, and dropped when the worker moves to a newer generation.
 *
 * Containment: each event has an instruction budget (the set's
 * max_instructions, Avi's datascript_timeout) and each worker state a
 * memory cap; a script that exceeds either, or raises an error, is stopped
 * for this request only and xadc_ds_run() returns XADC_DS_ERROR (the caller
 * answers 500) unless the set is fail-open. The state keeps serving; a state
 * that cannot recover is rebuilt.
 *
 * The proxy exposes the request through struct xadc_ds_ops (an accessor
 * interface) so the runtime never touches proxy internals and unit tests can
 * drive it with an in-memory request.
 */
#ifndef XADC_DATASCRIPT_H
#define XADC_DATASCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xadc/snapshot.h"

enum xadc_ds_evt {
	XADC_DS_EVT_HTTP_REQ = 0,	/* VS_DATASCRIPT_EVT_HTTP_REQ */
	XADC_DS_EVT_HTTP_RESP,		/* VS_DATASCRIPT_EVT_HTTP_RESP */
	XADC_DS_EVT_HTTP_LB_FAILED,	/* VS_DATASCRIPT_EVT_HTTP_LB_FAILED */
	XADC_DS_EVT_HTTP_RESP_FAILED,	/* VS_DATASCRIPT_EVT_HTTP_RESP_FAILED */
	XADC_DS_EVT_TCP_CLIENT_ACCEPT,	/* VS_DATASCRIPT_EVT_TCP_CLIENT_ACCEPT */
	XADC_DS_EVT_HTTP_REQ_DATA,	/* VS_DATASCRIPT_EVT_HTTP_REQ_DATA: body held */
	XADC_DS_EVT_HTTP_RESP_DATA,	/* VS_DATASCRIPT_EVT_HTTP_RESP_DATA: response body held */
	XADC_DS_EVT__COUNT
};

/* "VS_DATASCRIPT_EVT_HTTP_REQ" -> XADC_DS_EVT_HTTP_REQ; -1 if unknown. */
int xadc_ds_evt_parse(const char *name);
/* Short name used in chunk names and error traces: "HTTP_REQ". */
const char *xadc_ds_evt_name(enum xadc_ds_evt evt);

#define XADC_DS_DEF_INSTRUCTIONS 10000000ULL	/* per event, Avi's default order */
#define XADC_DS_MAX_INSTRUCTIONS 100000000ULL	/* Avi's upper bound */
#define XADC_DS_DEF_MEM		 (8u << 20)	/* per worker state */
#define XADC_DS_SCRIPT_MAX	 (256u << 10)	/* bytes of one script's source */
/* HTTP_REQ_DATA: request body bytes held before the event runs (the set's
 * req_body_buffer_size; a VS uses the largest of its sets). HTTP_RESP_DATA
 * holds response body bytes the same way (resp_body_buffer_size). */
#define XADC_DS_DEF_BODY_BUF	 (64u << 10)
#define XADC_DS_MAX_BODY_BUF	 (1u << 20)

/* Memory cap of every worker state created from now on (bytes, >= 1 MiB). */
void xadc_ds_set_mem_limit(size_t bytes);

/* ---------------------------------------------------------------- compile */

struct xadc_ds_script_src {
	enum xadc_ds_evt evt;
	const char *script;		/* Lua source text */
};

/* Avi RateLimiter + action, for avi.vs.rate_limit. */
enum xadc_ds_rl_action { XADC_DS_RL_NONE = 0, XADC_DS_RL_LOCAL_RSP, XADC_DS_RL_CLOSE_CONN };

struct xadc_ds_ratelimiter {
	char name[XADC_NAME_MAX];
	uint32_t count;			/* requests per period */
	uint32_t period_s;
	uint32_t burst_sz;		/* extra tokens above count */
	enum xadc_ds_rl_action action;
	int status;			/* LOCAL_RSP status, default 429 */
};

struct xadc_ds_set_params {
	const char *name;		/* vsdatascriptset name: chunk names, errors */
	const char *path;		/* error path prefix: "vsdatascriptset[ds1]" */
	const struct xadc_ds_script_src *scripts;
	unsigned nscripts;
	/* Objects the scripts may use (the set's *_refs); pointers into the
	 * snapshot being built, which outlives the set. */
	struct xadc_pool *const *pools;
	unsigned npools;
	const struct xadc_named_set *const *strgroups;
	unsigned nstrgroups;
	const struct xadc_named_set *const *ipgroups;
	unsigned nipgroups;
	const struct xadc_ds_ratelimiter *rls;
	unsigned nrls;
	uint64_t max_instructions;	/* 0: XADC_DS_DEF_INSTRUCTIONS */
	bool fail_open;			/* on a script error, go on as if no script ran */
	uint32_t req_body_buf;		/* HTTP_REQ_DATA bound; 0: XADC_DS_DEF_BODY_BUF */
	uint32_t resp_body_buf;		/* HTTP_RESP_DATA bound; 0: XADC_DS_DEF_BODY_BUF */
};

struct xadc_ds_set;

/*
 * Compile a vsdatascriptset. On a syntax error (or a bad argument) returns
 * NULL and writes e.g. 'vsdatascriptset[ds1].datascript[0].script:
 * [string "ds1:HTTP_REQ"]:3: unexpected symbol near 'x'' into err.
 */
struct xadc_ds_set *xadc_ds_set_compile(const struct xadc_ds_set_params *p, char *err,
					size_t errlen);
void xadc_ds_set_free(struct xadc_ds_set *set);
/* Syntax-check one script (text mode) as set_name's script for evt: 0, or
 * -EINVAL with Lua's message ('[string "ds1:HTTP_REQ"]:3: ...') in err. */
int xadc_ds_check_script(const char *set_name, enum xadc_ds_evt evt, const char *src,
			 char *err, size_t errlen);
/* Bits of events this set has scripts for (1u << evt). */
unsigned xadc_ds_set_events(const struct xadc_ds_set *set);

/* --------------------------------------------- per virtual service (seam) */

/* The table store of one virtual service (avi.vs.table_*, rate_limit),
 * shared by every worker; keyed by VS name and kept across applies. */
struct xadc_ds_vstab;
struct xadc_ds_vstab *xadc_ds_vstab_get(const char *vs_name);
void xadc_ds_vstab_put(struct xadc_ds_vstab *t);

/* What struct xadc_vs.datascripts points to. */
struct xadc_ds_vs {
	unsigned nsets;
	struct xadc_ds_set **sets;	/* in vs_datascripts[].index order; owned */
	unsigned events;		/* union of the sets' events */
	uint32_t req_body_buf;		/* largest bound of the sets with HTTP_REQ_DATA */
	uint32_t resp_body_buf;		/* largest bound of the sets with HTTP_RESP_DATA */
	struct xadc_ds_vstab *tab;
};

/* An empty list for vs_name (tables attached); NULL on ENOMEM. */
struct xadc_ds_vs *xadc_ds_vs_new(const char *vs_name);
/* Append set (ownership moves to dv). 0 or -ENOMEM (set freed then). */
int xadc_ds_vs_add(struct xadc_ds_vs *dv, struct xadc_ds_set *set);
void xadc_ds_vs_free(struct xadc_ds_vs *dv);

static inline bool xadc_ds_vs_has(const struct xadc_ds_vs *dv, enum xadc_ds_evt evt)
{
	return dv && (dv->events & (1u << evt));
}

/* ---------------------------------------------------------------- run */

/* One transaction's script state, kept in the proxy's session from the
 * request events to the response events; bounded. */
struct xadc_ds_txn {
	int reqvar_ref;			/* Lua registry ref of avi.vs.reqvar, or -1 */
	uint32_t state_epoch;		/* the worker state that holds reqvar_ref */
	unsigned worker;
	bool significant;		/* avi.vs.log(..., avi.SIG_ENABLE) or an error */
	bool has_error;
	uint16_t log_len;
	char log[512];			/* datascript_log: avi.vs.log lines, '\n' separated */
	char err[256];			/* datascript_error_trace.error */
	char err_evt[40];		/* .event */
	char err_stack[384];		/* .stack_trace */
};

/* Start a transaction (clears everything). */
void xadc_ds_txn_init(struct xadc_ds_txn *t, unsigned worker);
/* End it: drops reqvar. Must be called on the worker that ran it. */
void xadc_ds_txn_end(struct xadc_ds_txn *t);
/* The request log's extra_json fragment: ',"datascript_log":"..",
 * "datascript_error_trace":{..},"significant":true' (only what is set).
 * Returns its length (< cap); "" when nothing to log. */
size_t xadc_ds_txn_json(const struct xadc_ds_txn *t, char *buf, size_t cap);

enum xadc_ds_ctx_sel { XADC_DS_REQ = 0, XADC_DS_RESP = 1 };

struct xadc_ds_hdr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * The accessor the proxy fills. Every string it returns stays valid until
 * the next mutating call (or the end of the event). Mutations return 0 or a
 * negative errno (-ENOSPC when a bounded buffer is full, -EPERM when not
 * possible at this event). which is XADC_DS_REQ or XADC_DS_RESP.
 */
struct xadc_ds_ops {
	/* request line: method, request-target as sent by the client (or as
	 * rewritten), version ("1.1") */
	void (*req_line)(void *p, const char **method, size_t *mlen, const char **uri,
			 size_t *ulen, const char **version, size_t *vlen);
	/* i-th header field of which (0-based); false past the end */
	bool (*hdr_at)(void *p, int which, unsigned i, struct xadc_ds_hdr *h);
	int (*hdr_add)(void *p, int which, const char *n, size_t nl, const char *v, size_t vl);
	/* remove every field named n (case-insensitive) whose value equals v
	 * when v is non-NULL; returns the number removed */
	int (*hdr_remove)(void *p, int which, const char *n, size_t nl, const char *v, size_t vl);
	int (*set_uri)(void *p, const char *uri, size_t len);
	/* response status (response events), 0 otherwise */
	int (*status)(void *p);
	/* Terminal actions. respond builds a local response (headers may be
	 * NULL); the script goes on, later scripts of the event do not run. */
	int (*respond)(void *p, int status, const struct xadc_ds_hdr *hdrs, unsigned nhdrs,
		       const char *body, size_t blen);
	int (*close_conn)(void *p, bool reset);
	/* Server selection for this request: pool, optional server ip and port. */
	int (*select)(void *p, struct xadc_pool *pool, const struct xadc_server *srv);
	/* The request body, up to max bytes: at HTTP_REQ the part already
	 * received; at HTTP_REQ_DATA the held body (de-chunked). */
	size_t (*req_body)(void *p, const char **data, size_t max);
	/* The response body held for HTTP_RESP_DATA (de-chunked), up to max
	 * bytes; 0 at other events. May be NULL (no response body). */
	size_t (*resp_body)(void *p, const char **data, size_t max);
};

struct xadc_ds_ctx {
	const struct xadc_ds_ops *ops;
	void *priv;			/* given back to ops */
	unsigned worker;		/* 0 .. XADC_MAX_WORKERS-1, the caller's */
	uint64_t gen;			/* snapshot generation: chunk cache key */
	uint64_t now_ms;		/* monotonic clock for tables and rate limits */
	struct xadc_ds_txn *txn;
	const char *vs_name;
	const union xadc_sockaddr *client;
	const union xadc_sockaddr *vip;
	uint64_t request_id;
	bool secure;			/* client connection is TLS */
};

enum xadc_ds_verdict {
	XADC_DS_CONTINUE = 0,		/* go on with the pipeline */
	XADC_DS_ANSWERED,		/* a script answered (respond / redirect / close) */
	XADC_DS_ERROR,			/* a script failed: answer 500 (error in txn) */
};

/* Run every script of dv for evt, in order. */
enum xadc_ds_verdict xadc_ds_run(const struct xadc_ds_vs *dv, enum xadc_ds_evt evt,
				 struct xadc_ds_ctx *ctx);

/* Drop the calling worker's state (worker exit). */
void xadc_ds_worker_fini(unsigned worker);

/* Instrumentation for tests and status: the worker's state epoch (bumped
 * on each rebuild) and its current Lua memory in bytes. */
uint32_t xadc_ds_worker_epoch(unsigned worker);
size_t xadc_ds_worker_mem(unsigned worker);

#endif
