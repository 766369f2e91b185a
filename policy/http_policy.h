/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http_policy.h - HTTP Security, HTTP Request and HTTP Response policies
 * (Avi httppolicyset) over string groups and IP groups.
 *
 * EVALUATION ORDER (one order for every policy type, tested in
 * selftests/unit/test_policy.c and selftests/e2e/policy_*.sh):
 *
 *  1. HTTP security policy. The VS's http_policies[] sets are taken in
 *     ascending index; in each set the enabled rules in ascending index.
 *     The first rule that matches (in any set) decides and ends security
 *     evaluation: ALLOW goes on to step 2; CLOSE_CONN closes the
 *     connection; SEND_RESPONSE answers locally; REDIRECT_TO_HTTPS answers
 *     302 to https://host[:https_port]/uri; RATE_LIMIT goes on to step 2
 *     while the key's token bucket has a token, else applies its
 *     rate_profile action (RL_ACTION_NONE: logged only, goes on).
 *  2. HTTP request policy. Sets in index order; in each set the first
 *     matching rule applies (at most one rule per set). Matches are always
 *     evaluated against the request as the client sent it. Header actions
 *     accumulate in order; a later set's rewrite or switching replaces an
 *     earlier one's. A redirect_action, or switching to SELECT_LOCAL,
 *     answers locally and ends evaluation (later sets are not looked at).
 *  3. DataScript HTTP_REQ (future; sees the request as rewritten by 2).
 *  4. Load balancing (switching_action's pool/server, else the VS pool).
 *  5. HTTP response policy: sets in index order, first matching rule per
 *     set; hdr_action[] and loc_hdr_action edit the response head.
 *  6. DataScript HTTP_RESP (future).
 * A request that is answered, redirected or closed in 1 or 2 never reaches
 * a server.
 *
 * All configured fields of a match must hold (AND); the values and string
 * groups within one field are alternatives (OR). A negated criterion
 * (DOES_NOT_*, HDR_DOES_NOT_*, IS_NOT_IN) holds when the positive one does
 * not, so a header that is absent satisfies HDR_DOES_NOT_CONTAIN.
 *
 * Per request nothing is allocated: rewritten heads, Location values and
 * header variables are built in per-thread (per-worker) scratch buffers,
 * and rate-limit buckets live in fixed-size striped tables.
 */
#ifndef XADC_POLICY_HTTP_POLICY_H
#define XADC_POLICY_HTTP_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xadc/http1.h"
#include "xadc/snapshot.h"

struct xadc_hp_rule;

/* What the proxy knows about a request, as the evaluator sees it. */
struct xadc_hp_req {
	const char *buf;		/* request head bytes */
	const struct http1_msg *m;	/* parsed over buf; NULL once the head is gone */
	/* When m is NULL (response stage of a VS whose response rules match
	 * no request header or cookie): what the proxy kept of the request. */
	const char *target, *host, *method;
	size_t target_len, host_len, method_len;
	uint8_t version_minor;
	const union xadc_sockaddr *client;
	const union xadc_sockaddr *vip;	/* with the VS port */
	uint64_t request_id;
	bool https;			/* always false until TLS lands */
	unsigned worker;		/* counter slot */
};

/* A response head as the response policy sees it. */
struct xadc_hp_rsp {
	const char *buf;
	const struct http1_msg *m;
};

enum xadc_hp_verdict {
	XADC_HP_CONTINUE = 0,	/* go on (possibly with edits) */
	XADC_HP_RESPOND,	/* answer locally: status, body, location */
	XADC_HP_CLOSE,		/* close the client connection, no response */
	XADC_HP_RESET,		/* reset the client connection */
};

/* The outcome of one stage. Pointers are into the snapshot or into the
 * calling thread's scratch: valid until the thread's next evaluation. */
struct xadc_hp_result {
	enum xadc_hp_verdict verdict;
	int status;			/* RESPOND */
	const char *content_type;	/* RESPOND: NULL = text/plain default body */
	const char *body;
	size_t body_len;
	const char *location;		/* RESPOND: redirect target or NULL */
	size_t location_len;
	/* CONTINUE with edits: the rewritten head and its parse */
	const char *head;
	size_t head_len;
	const struct http1_msg *msg;
	/* request: switching */
	struct xadc_pool *pool;		/* NULL: the VS's pool */
	struct xadc_server *server;	/* a fixed server of that pool, or NULL */
	/* the deciding / applied rule of this stage, for the log */
	const char *rule_name;
	bool log;			/* that rule has log: true */
	bool all_headers;
	const char *termination;	/* for the request log, or NULL */
};

/* Does a response rule of the VS match request headers or cookies? Then
 * the proxy keeps a copy of the request head for the response stage. */
bool xadc_hp_rsp_needs_req_head(const struct xadc_vs *vs);

/* Does the VS have any policy sets? (cheap test for the proxy) */
static inline bool xadc_hp_active(const struct xadc_vs *vs)
{
	return vs && vs->http_policies;
}

/* Step 1. res is always filled. */
void xadc_hp_security(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		      struct xadc_hp_result *res);
/* Step 2. lim bounds the rewritten head (the VS's limits). */
void xadc_hp_request(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		     const struct http1_limits *lim, struct xadc_hp_result *res);
/* Step 5. rq describes the request (its head may be gone: only client,
 * vip, request_id and worker are used, plus what the caller kept). */
void xadc_hp_response(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		      const struct xadc_hp_rsp *rp, uint8_t req_method,
		      struct xadc_hp_result *res);

/*
 * The request-log fragment for a rule with log: true: ',"significant":true,
 * "request":{"method":..,"uri":..,"version":..}' plus '"headers":{...}'
 * (every header; repeated names joined with ", ") when all_headers. Cut to
 * cap (never broken JSON). Returns its length (0 if nothing fits).
 */
size_t xadc_hp_log_fragment(const struct xadc_hp_req *rq, bool all_headers, char *out,
			    size_t cap);
/* Same for a response rule: significant plus the response headers. */
size_t xadc_hp_log_fragment_rsp(const struct xadc_hp_rsp *rp, bool all_headers, char *out,
				size_t cap);

/* Per-rule hit counters of the snapshot's policy sets:
 * [{"name": set, "http_security_policy": [{"name", "index", "hits"}],...}] */
json_t *xadc_hp_stats_json(const struct xadc_snapshot *s);
/*
 * Carry the per-rule hit counters of prev (the live snapshot) into next
 * before next goes live, matching rules by (policy set name, policy type,
 * rule name): applying a change does not zero the counters of rules it
 * kept. Hits counted on prev after the copy (requests still running on it
 * during the swap) are not carried. prev may be NULL.
 */
void xadc_hp_carry_hits(struct xadc_snapshot *next, const struct xadc_snapshot *prev);

/* Free what the policy compiler hung on a snapshot (groups, sets, the
 * VSs' http_policies). Called by snapshot_free; NULL fields are fine. */
void xadc_policy_snapshot_free(struct xadc_snapshot *s);

/* An ipaddrgroup of the snapshot by name (also for the XDP side), or NULL. */
struct xadc_ipset *xadc_snapshot_find_ipgroup(const struct xadc_snapshot *s, const char *name);
struct xadc_strset *xadc_snapshot_find_strgroup(const struct xadc_snapshot *s,
						const char *name);

#endif
