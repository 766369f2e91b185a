/* SPDX-License-Identifier: GPL-2.0 */
/*
 * snapshot.h - the compiled, immutable configuration workers serve from,
 * and the runtime state (health, counters) that outlives snapshots.
 *
 * Life cycle: the config module (cfg_*.c) validates a whole JSON document
 * and compiles it into a struct xadc_snapshot. xadc_snapshot_publish()
 * makes it current. Workers notice the generation change at the top of
 * their loop, take a reference once, and pin it per request without any
 * atomic operation (see proxy.h). A snapshot is freed when its last
 * reference goes, so in-flight requests finish on the configuration they
 * started with.
 *
 * Runtime objects (struct xadc_rt) are keyed by kind and name and looked up
 * (or created) while compiling, so a server's health state, its connection
 * count and its counters survive a re-apply that keeps it.
 */
#ifndef XADC_SNAPSHOT_H
#define XADC_SNAPSHOT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "xadc/common.h"

struct json_t;

union xadc_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

socklen_t xadc_sockaddr_len(const union xadc_sockaddr *a);
/* "198.18.0.1:80" or "[fd00::1]:80"; returns buf. */
char *xadc_sockaddr_str(const union xadc_sockaddr *a, char *buf, size_t len);
/* IP only, no port. */
char *xadc_sockaddr_ip(const union xadc_sockaddr *a, char *buf, size_t len);
bool xadc_sockaddr_eq(const union xadc_sockaddr *a, const union xadc_sockaddr *b);

/* ---------------------------------------------------------------------- */
/* Runtime state: lives across snapshots                                   */
/* ---------------------------------------------------------------------- */

enum xadc_rt_kind { XADC_RT_VS, XADC_RT_POOL, XADC_RT_SERVER };

/* Per-worker counters: each worker writes only its own slot, so there is no
 * shared cache line on the request path. Readers sum the slots. */
struct xadc_counters {
	uint64_t requests;	/* requests received (VS) / sent (server) */
	uint64_t resp[6];	/* responses by class: [0] other/none, [1] 1xx .. [5] 5xx */
	uint64_t bytes_in;	/* from clients (VS) / from servers (server) */
	uint64_t bytes_out;	/* to clients (VS) / to servers (server) */
	uint64_t conns;		/* connections accepted (VS) / opened (server) */
	uint64_t conn_errors;	/* connect failures, resets, timeouts */
	int64_t cur_conns;	/* open connections (this worker's share) */
} __cacheline_aligned;

/* Health states shown to operators. */
enum xadc_health { XADC_HEALTH_UP = 0, XADC_HEALTH_DOWN, XADC_HEALTH_DISABLED };

struct xadc_rt {
	atomic_int refcnt;
	enum xadc_rt_kind kind;
	char key[2 * XADC_NAME_MAX + 64]; /* "vs:NAME", "pool:NAME", "server:POOL/IP:PORT" */
	struct xadc_counters *ctr;	  /* [xadc_nworkers] */
	/* servers only: */
	atomic_int up;			  /* 1: may receive traffic (health thread writes) */
	atomic_int active;		  /* requests in flight, for least connections */
	uint64_t token;			  /* stable id for the persistence cookie */
	/* health checker's private state (health thread only) */
	uint32_t hc_ok_streak, hc_fail_streak;
	uint64_t hc_last_ms;
	char hc_reason[96];		  /* last failure reason, shown by status */
	atomic_ullong hc_changes;	  /* number of up/down transitions */
};

extern unsigned xadc_nworkers;

/* Get (or create with refcnt 1) the runtime object for key; NULL on ENOMEM.
 * New server objects start up when the pool has no health monitor, else
 * down until their first successful check (Avi's behaviour). */
struct xadc_rt *xadc_rt_get(enum xadc_rt_kind kind, const char *key, bool start_up);
void xadc_rt_put(struct xadc_rt *rt);
/* Sum of every worker's slot. */
void xadc_rt_sum(const struct xadc_rt *rt, struct xadc_counters *out);

/* ---------------------------------------------------------------------- */
/* Compiled configuration                                                  */
/* ---------------------------------------------------------------------- */

enum xadc_app_type { XADC_APP_HTTP = 0, XADC_APP_L4 };

enum xadc_lb_algo {
	XADC_LB_LEAST_CONNECTIONS = 0, /* Avi's default */
	XADC_LB_ROUND_ROBIN,
	XADC_LB_CONSISTENT_HASH,
};

enum xadc_hash_key {
	XADC_HASH_SOURCE_IP = 0,	/* LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS */
	XADC_HASH_SOURCE_IP_PORT,	/* ..._SOURCE_IP_ADDRESS_AND_PORT */
	XADC_HASH_URI,			/* ..._URI */
	XADC_HASH_HEADER,		/* ..._CUSTOM_HEADER, lb_algorithm_consistent_hash_hdr */
};

enum xadc_persist_type {
	XADC_PERSIST_NONE = 0,
	XADC_PERSIST_CLIENT_IP,		/* PERSISTENCE_TYPE_CLIENT_IP_ADDRESS */
	XADC_PERSIST_HTTP_COOKIE,	/* PERSISTENCE_TYPE_HTTP_COOKIE */
};

enum xadc_hm_type { XADC_HM_TCP = 0, XADC_HM_HTTP };

struct xadc_healthmonitor {
	char name[XADC_NAME_MAX];
	char uuid[64];
	enum xadc_hm_type type;
	uint32_t send_interval_ms;	/* Avi: send_interval, seconds */
	uint32_t receive_timeout_ms;	/* Avi: receive_timeout, seconds */
	uint32_t successful_checks;	/* consecutive successes to mark up */
	uint32_t failed_checks;		/* consecutive failures to mark down */
	uint16_t monitor_port;		/* 0: the server's own port */
	/* HTTP only */
	char *http_request;		/* e.g. "GET /health HTTP/1.0"; CRLF added when sent */
	uint32_t http_codes;		/* bit n set: class nxx accepted (HTTP_2XX -> bit 2) */
	char *http_response;		/* optional substring the body must contain */
};

struct xadc_pool;

struct xadc_server {
	union xadc_sockaddr addr;	/* ip and port (port = pool default if 0 in config) */
	char name[XADC_NAME_MAX];	/* "ip:port" unless hostname given */
	uint32_t ratio;			/* 1..20 in Avi, weight for RR / hash */
	bool enabled;
	struct xadc_pool *pool;
	struct xadc_rt *rt;		/* XADC_RT_SERVER */
};

/* Per-worker mutable LB state, one cache line each. */
struct xadc_pool_wstate {
	uint32_t rr_next;	/* round robin cursor */
	int32_t *cw;		/* smooth weighted RR current weights, [nservers] */
} __cacheline_aligned;

struct xadc_pool {
	char name[XADC_NAME_MAX];
	char uuid[64];
	enum xadc_lb_algo lb;
	enum xadc_hash_key hash_key;
	char hash_hdr[XADC_NAME_MAX];	/* header name for XADC_HASH_HEADER */
	enum xadc_persist_type persist;
	char persist_cookie[XADC_NAME_MAX]; /* cookie name for HTTP cookie persistence */
	uint32_t persist_timeout_s;	/* client IP entries idle timeout; cookie Max-Age (0 = session) */
	uint32_t connect_timeout_ms;	/* server connect timeout */
	uint32_t server_timeout_ms;	/* wait for response head / between body reads; 0 = default */
	uint32_t max_retries;		/* connect retries on other servers for idempotent requests */
	unsigned nservers;
	struct xadc_server *servers;
	unsigned nhms;
	struct xadc_healthmonitor **hms;
	/* consistent hash: Maglev lookup table of server indexes, built at compile */
	uint32_t *chash;
	uint32_t chash_size;		/* prime */
	struct xadc_pool_wstate *ws;	/* [xadc_nworkers] */
	struct xadc_rt *rt;		/* XADC_RT_POOL */
	void *persist_table;		/* owned by lb.c: client-IP persistence (shared, striped locks) */
};

/* HTTP application profile (Avi applicationprofile.http_profile). */
struct xadc_http_profile {
	uint32_t client_header_timeout_ms;	/* head must arrive within this: 408 */
	uint32_t keepalive_timeout_ms;		/* idle between requests */
	uint32_t client_body_timeout_ms;	/* between body reads */
	uint32_t max_header_size;		/* bytes of a request head: 431 */
	uint32_t max_header_count;		/* fields: 431 */
	uint32_t max_uri;			/* 414 */
	bool xff_enabled;			/* append X-Forwarded-For */
	char xff_name[64];			/* default "X-Forwarded-For" */
	bool xfp_enabled;			/* set X-Forwarded-Proto */
	uint32_t max_keepalive_requests;	/* 0 = unlimited */
};

struct xadc_vs;

struct xadc_listener {
	union xadc_sockaddr addr;	/* VIP and port */
	struct xadc_vs *vs;
};

struct xadc_vs {
	char name[XADC_NAME_MAX];
	char uuid[64];
	bool enabled;
	enum xadc_app_type app;
	struct xadc_http_profile http;
	struct xadc_pool *pool;		/* default pool, may be NULL (then 503) */
	struct xadc_rt *rt;		/* XADC_RT_VS */
	/* Seams for later capabilities; NULL until those land. */
	void *http_policies;		/* policy/ : compiled httppolicysets, in order */
	void *datascripts;		/* datascript/ : compiled vsdatascriptsets */
	void *nsp;			/* bpf/ : network security policy */
};

/* A compiled stringgroup / ipaddrgroup of a snapshot (policy/dataset.h). */
struct xadc_named_set {
	char name[XADC_NAME_MAX];
	char uuid[64];
	void *set;
	bool keyval;			/* stringgroup SG_TYPE_KEYVAL */
	bool longest_match;		/* stringgroup longest_match */
};

struct xadc_snapshot {
	atomic_int refcnt;
	uint64_t generation;
	unsigned nvs;
	struct xadc_vs *vs;
	unsigned npools;
	struct xadc_pool *pools;
	unsigned nhms;
	struct xadc_healthmonitor *hms;
	unsigned nlisteners;
	struct xadc_listener *listeners;	/* unique VIP:port across all VSs */
	/* policy/ (issue 4): DataSets by name, and the compiled httppolicysets
	 * (freed by xadc_policy_snapshot_free, policy/http_policy.h). */
	unsigned nstrgroups, nipgroups;
	struct xadc_named_set *strgroups;	/* set: struct xadc_strset * */
	struct xadc_named_set *ipgroups;	/* set: struct xadc_ipset * */
	void *hpsets;				/* policy/: struct hp_db */
	/* bpf/ (issue 3): policies, SEs and per-VS data plane settings,
	 * struct xadc_xdp_cfg (xdp.h); vs->nsp points into it. */
	void *xdp;
};

void xadc_snapshot_get(struct xadc_snapshot *s);
void xadc_snapshot_put(struct xadc_snapshot *s);	/* frees on last put */

/* The current snapshot and its generation. */
extern atomic_ullong xadc_snapshot_generation;
/* Make s current (takes its own reference). Readers that already hold the
 * old one keep it until they put it. */
void xadc_snapshot_publish(struct xadc_snapshot *s);
/* A new reference to the current snapshot (NULL before the first publish). */
struct xadc_snapshot *xadc_snapshot_current(void);

struct xadc_pool *xadc_snapshot_find_pool(struct xadc_snapshot *s, const char *name);
struct xadc_vs *xadc_snapshot_find_vs(struct xadc_snapshot *s, const char *name);

#endif
