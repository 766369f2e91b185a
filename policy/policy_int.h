/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy_int.h - compiled httppolicyset structures, shared by the policy
 * compiler (userspace/cfg_policy.c) and the evaluator (policy/http_policy*.c,
 * policy/policy_*.c). Everything here is immutable after compile except the
 * per-worker hit counters and the rate limiter tables.
 */
#ifndef XADC_POLICY_INT_H
#define XADC_POLICY_INT_H

#include <pthread.h>

#include "dataset.h"
#include "http_policy.h"

#define HP_MAX_GROUPS	 64	/* string_group_refs / group_refs per field */
#define HP_MAX_HDR_ACT	 32	/* hdr_action[] per rule */
#define HP_MAX_TOKENS	 32	/* tokens per URI parameter */
#define HP_SCRATCH	 32768	/* per-thread rewritten head */
#define HP_MAX_EDITS	 64	/* header edits of one request over all sets */
#define HP_NMETHODS	 16

extern const char *const hp_method_names[HP_NMETHODS];

enum hp_policy_type { HP_SEC = 0, HP_REQ, HP_RSP, HP__NTYPES };

/* A string criterion over one value (path, query, header value...). */
struct hp_strmatch {
	bool set;		/* configured */
	enum xadc_sop op;
	bool nocase;
	bool negate;
	bool exists;		/* HDR_EXISTS / HDR_DOES_NOT_EXIST (negate) */
	char name[128];		/* header or cookie name */
	size_t name_len;
	struct xadc_strset *lit;	/* match_str[] / value[], owned */
	unsigned ngroups;
	struct xadc_strset *groups[HP_MAX_GROUPS];	/* borrowed from the snapshot */
};

struct hp_ipmatch {
	bool set;
	bool negate;
	struct xadc_ipset *own;	/* addrs, prefixes, ranges; owned */
	unsigned ngroups;
	struct xadc_ipset *groups[HP_MAX_GROUPS];
};

#define HP_MAX_LIST 32
struct hp_intmatch {		/* vs_port, status */
	bool set, negate;
	unsigned n;
	uint32_t lo[HP_MAX_LIST], hi[HP_MAX_LIST];
};

struct hp_match {
	struct hp_strmatch path, query, host, cookie, loc;
	unsigned nhdrs, nrsp_hdrs;
	struct hp_strmatch *hdrs;	/* request hdrs[] */
	struct hp_strmatch *rsp_hdrs;	/* response rsp_hdrs[] */
	bool method_set, method_negate;
	uint32_t methods;		/* bit per HP_M_* */
	bool proto_set, proto_negate;
	uint8_t protos;			/* bit 0 HTTP, bit 1 HTTPS */
	bool version_set, version_negate;
	uint8_t versions;		/* bit 0 1.0, bit 1 1.1 (0.9/2.0 never match) */
	struct hp_intmatch port, status;
	struct hp_ipmatch cip;
	bool always;			/* nothing configured: matches everything */
};

enum hp_tok_type { TOK_STRING = 0, TOK_HOST, TOK_PATH, TOK_SG, TOK_REGEX, TOK_REGEX_QUERY };
struct hp_token {
	enum hp_tok_type type;
	char *str;
	size_t str_len;
	int start, end;
};
struct hp_uriparam {
	bool set;
	unsigned ntok;
	struct hp_token tok[HP_MAX_TOKENS];
	unsigned ngroups;
	struct xadc_named_set *groups[HP_MAX_GROUPS];
};

enum hp_hdr_op { HDR_ADD = 0, HDR_REPLACE, HDR_REMOVE };
enum hp_var {
	VAR_NONE = 0, VAR_CLIENT_IP, VAR_VS_IP, VAR_VS_PORT, VAR_REQUEST_ID, VAR_EMPTY,
};
struct hp_hdr_act {
	enum hp_hdr_op op;
	char *name;
	size_t name_len;
	char *val;
	size_t val_len;
	enum hp_var var;
};

struct hp_file {
	char *ctype;
	char *body;
	size_t body_len;
};

enum hp_sec_act { SEC_ALLOW = 0, SEC_CLOSE, SEC_RESPOND, SEC_REDIRECT_HTTPS, SEC_RATE_LIMIT };
enum hp_rl_act { RL_NONE = 0, RL_DROP, RL_RESET, RL_CLOSE, RL_LOCAL, RL_REDIRECT };

struct hp_redirect {
	bool set;
	int proto;		/* -1 keep, 0 http, 1 https */
	struct hp_uriparam host, path;
	int port;		/* 0: default for the protocol */
	bool keep_query;
	int status;
};

struct hp_ratelimiter;		/* policy_ratelimit.c */

struct hp_rule {
	char name[XADC_NAME_MAX];
	uint32_t index;
	bool log, all_headers;
	struct hp_match match;
	/* security */
	enum hp_sec_act sec;
	int status;
	struct hp_file file;
	int https_port;
	enum hp_rl_act rl_act;
	struct hp_redirect rl_redirect;
	struct hp_ratelimiter *rl;
	/* request / response */
	unsigned nhdr;
	struct hp_hdr_act hdr[HP_MAX_HDR_ACT];
	struct hp_redirect redirect;		/* request redirect_action, response loc_hdr_action */
	bool rewrite;
	struct hp_uriparam rw_host, rw_path;
	bool rw_query_set, rw_keep_query;
	char *rw_add;
	size_t rw_add_len;
	bool sw_set, sw_local;
	struct xadc_pool *sw_pool;
	struct xadc_server *sw_server;
	int sw_status;
	struct hp_file sw_file;
	/* counters: hits[worker * stride + rule slot] in the set */
	unsigned slot;
};

struct hp_policy {
	unsigned nrules;
	struct hp_rule *rules;	/* sorted by index, enabled only */
};

struct hp_set {
	char name[XADC_NAME_MAX];
	char uuid[64];
	struct hp_policy pol[HP__NTYPES];
	unsigned nslots, stride;	/* stride: u64 per worker, cacheline rounded */
	uint64_t *hits;			/* [nworkers * stride] */
};

/* vs->http_policies */
struct hp_vs {
	unsigned nsets;
	/* a response rule matches request headers or cookies: the proxy keeps
	 * the request head until the response (xadc_hp_rsp_needs_req_head) */
	bool rsp_req_head;
	struct hp_set *sets[];
};

/* snapshot->hpsets */
struct hp_db {
	unsigned nsets;
	struct hp_set *sets;
};

/* policy_ratelimit.c */
struct hp_ratelimiter *hp_rl_new(uint64_t count, uint64_t period_s, uint64_t burst,
				 bool per_ip, bool per_path);
void hp_rl_free(struct hp_ratelimiter *rl);
/* Take one token for the request's key; false when the limit is exceeded. */
bool hp_rl_take(struct hp_ratelimiter *rl, const struct xadc_hp_req *rq, uint64_t now_ns);

/* policy_uri.c: expand a tokenized URI parameter into out; returns length
 * or -1 when it does not fit. sep is '.' for hosts and '/' for paths. */
struct hp_eval_ctx;
int hp_uri_expand(const struct hp_uriparam *up, const struct hp_eval_ctx *ec, char sep,
		  char *out, size_t cap);

/* What a match evaluation remembers for rewrite tokens. */
struct hp_eval_ctx {
	const struct xadc_hp_req *rq;
	const char *host;	/* Host value without port */
	size_t host_len;
	const char *host_full;	/* with it */
	size_t host_full_len;
	bool host_present;
	const char *method;
	size_t method_len;
	uint8_t minor;
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
	const struct xadc_strset *path_re, *query_re;	/* regex sets that matched */
	uint32_t path_re_idx, query_re_idx;
	bool path_re_nocase, query_re_nocase;
};

void hp_free_set_contents(struct hp_set *set);
/* Everything a rule owns (a zeroed or partly compiled rule is fine). */
void hp_free_rule(struct hp_rule *r);

#endif
