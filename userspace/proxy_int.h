/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proxy_int.h - internals shared by the data-path files: worker.c (loop,
 * listeners, snapshots, timers), upstream.c (server connections and the idle
 * pool), http_proxy.c (HTTP/1.1 state machine) and l4_proxy.c (TCP relay).
 *
 * Ownership: a worker owns every object below that points to it; only that
 * worker's thread touches them. Objects closed while an epoll batch is
 * being dispatched are freed after the batch (XC_F_DEAD marks them), so a
 * later event of the same batch never sees freed memory.
 */
#ifndef XADC_PROXY_INT_H
#define XADC_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "xadc/http1.h"
#include "xadc/lb.h"
#include "xadc/reqlog.h"
#include "xadc/snapshot.h"
#include "conn.h"
#include "../datascript/datascript.h"	/* issue 5 */

#define XADC_IDLE_PER_SERVER	64	/* idle keep-alive server conns per server per worker, at least (upstream.c) */
#define XADC_IDLE_TIMEOUT_MS	60000
#define XADC_IDLE_BUCKETS	256
#define XADC_SERVER_TIMEOUT_MS	60000	/* pool->server_timeout_ms == 0 */
#define XADC_CONNECT_TIMEOUT_MS	4000	/* pool->connect_timeout_ms == 0 */
#define XADC_SEND_TIMEOUT_MS	60000	/* a client that does not read its response */
#define XADC_TUNNEL_TIMEOUT_MS	3600000	/* idle L4 / upgraded connection */
#define XADC_LINGER_MS		2000	/* reading after an error response before close */
#define XADC_ACCEPT_BURST	64

/* A snapshot as seen by one worker; pins are counted without atomics. */
struct xadc_snap_holder {
	struct xadc_snapshot *snap;
	unsigned pins;
	struct xadc_snap_holder *next;	/* retired holders still pinned */
};

struct xadc_wlistener {
	struct xadc_conn c;		/* type XC_LISTENER */
	union xadc_sockaddr addr;
	struct xadc_vs *vs;		/* in the worker's current snapshot */
	bool seen;			/* reconcile mark */
	struct xadc_wlistener *next;
};

enum { XT_SESSION = 1, XT_IDLE };

struct xadc_worker {
	unsigned id;
	pthread_t thr;
	int epfd;
	struct xadc_conn evc;		/* eventfd, type XC_EVENTFD */
	atomic_int stopping;		/* set by xadc_proxy_stop */
	bool draining;
	uint64_t drain_deadline;
	uint64_t gen;
	atomic_ullong gen_pub;		/* for status */
	atomic_uint nconn_pub;
	struct xadc_snap_holder *cur;
	struct xadc_snap_holder *retired;
	struct xadc_wlistener *listeners;
	bool accept_paused;
	unsigned nconn, maxconn;
	uint64_t now;			/* ms, refreshed per loop iteration */
	uint64_t req_seq;
	struct xadc_theap timers;
	struct xadc_bufpool bufs;
	struct xlist sessions;		/* live client sessions */
	void *free_sess, *free_srv;	/* object free lists */
	unsigned nfree_sess, nfree_srv;
	void *free_rc;			/* struct xadc_reqcopy free list */
	unsigned nfree_rc;
	unsigned low_sess, low_srv, low_rc;	/* free-list low-water marks since the last trim */
	uint64_t next_trim;		/* ms: when unused cached memory is next given back */
	struct xlist dead, dead_srv;	/* closed this batch, freed after it */
	unsigned drain_timeout_ms;
	struct xlist idle[XADC_IDLE_BUCKETS];
	unsigned nidle;
	struct http1_msg msg;		/* parse scratch, used within one call */
	struct http1_msg rqmsg;		/* the kept request head, re-parsed for the response stage */
};

/* A session's client or VIP address. union xadc_sockaddr carries a
 * sockaddr_storage (128 bytes) for the API's sake, but a proxied connection
 * is only ever IPv4 or IPv6: a session keeps the 28 bytes those need (192
 * bytes less per connection for the pair) and hands out a union
 * xadc_sockaddr view of them (xadc_sess_sa). Every reader of such a view
 * dispatches on sa_family and then reads only .in or .in6, never the
 * storage tail, so the view is as good as a full copy. Aligned like the
 * full union so the view's alignment holds. */
union __attribute__((aligned(__alignof__(union xadc_sockaddr)))) xadc_sess_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

_Static_assert(sizeof(union xadc_sess_addr) < sizeof(union xadc_sockaddr),
	       "the compact address must be smaller than the full one");

static inline const union xadc_sockaddr *xadc_sess_sa(const union xadc_sess_addr *a)
{
	return (const union xadc_sockaddr *)a;
}

/* Keep a's family, port and address (IPv4 or IPv6) in d. */
static inline void xadc_sess_addr_set(union xadc_sess_addr *d, const union xadc_sockaddr *a)
{
	memcpy(d, a, sizeof(*d));
}

enum sess_mode { SM_HTTP = 0, SM_TUNNEL };
enum rq_state { RQ_IDLE = 0, RQ_HEAD, RQ_BODY, RQ_DONE };
enum rs_state { RS_NONE = 0, RS_HEAD, RS_BODY, RS_DONE };

struct xadc_srvconn;

/* Framing state of a body streamed through a buffer. */
struct xadc_body {
	uint8_t type;			/* enum http1_body */
	bool done;			/* every body byte has been validated */
	uint32_t valid;			/* validated bytes at the buffer's head, not yet sent */
	uint64_t left;			/* H1_BODY_LENGTH: bytes not yet validated */
	struct http1_chunked ch;
};

/* The request's method, target, Host and User-Agent as the log and later
 * stages see them, copied when the head is complete (the head's bytes do
 * not outlive it). Attached to a session only while a request runs, so an
 * idle keep-alive connection holds none (xadc_reqcopy_get / _put). */
struct xadc_reqcopy {
	char method[24], uri[1024], host[256], ua[256];
	/* issue 4: the client's request head, kept in a pooled block until
	 * the response stage when a response rule matches request headers or
	 * cookies (xadc_hp_rsp_needs_req_head); data is NULL otherwise. */
	struct xadc_buf rqhead;
	/* issue 5: the DataScript transaction (reqvar, datascript_log, error
	 * trace) lives exactly as long as the request, so it rides here rather
	 * than in every session; ds_live says it has been initialised. */
	bool ds_live;
	struct xadc_ds_txn ds;
	/* issue 5, HTTP_REQ_DATA: request body bytes held as received (original
	 * framing) in pooled blocks until the event ran, then sent before the
	 * rest of the body; valid while ds_live (http_ds.c). */
	bool ds_holding;		/* collecting: the event has not run yet */
	uint8_t ds_nblk;		/* blocks in ds_blk[] */
	uint8_t ds_first;		/* first block not completely sent */
	uint32_t ds_held;		/* bytes held */
	uint32_t ds_left;		/* held bytes not yet sent */
	struct xadc_buf ds_blk[XADC_DS_MAX_BODY_BUF / XADC_BUF_SIZE];
	/* issue 5, HTTP_RESP_DATA: the same for the response body; the
	 * response head waits in cout, unsent, while ds_rholding. */
	bool ds_rholding;
	uint8_t ds_rnblk, ds_rfirst;
	uint32_t ds_rheld, ds_rleft;
	uint32_t ds_rhead;		/* offset of the waiting head in cout */
	struct xadc_buf ds_rblk[XADC_DS_MAX_BODY_BUF / XADC_BUF_SIZE];
};

struct xadc_session {
	struct xadc_conn cli;		/* type XC_CLIENT: must stay first */
	struct xadc_worker *w;
	struct xlist node;		/* w->sessions, or w->dead */
	struct xadc_timer timer;
	struct xadc_snap_holder *hold;
	struct xadc_vs *vs;
	union xadc_sess_addr caddr, vaddr;
	struct xadc_buf cout;		/* to the client: heads, local responses */
	struct xadc_buf rout;		/* request head for the server */
	struct xadc_srvconn *srv;
	uint8_t mode, rq, rs;
	bool keepalive;			/* client connection persists after this response */
	bool must_close;		/* close once cout is flushed */
	bool lingering;			/* FIN sent after an error, draining input */
	bool logged, in_request, acquired, set_cookie, upgrade, expect100, sent100;
	bool body_sent;			/* a request body byte reached a server */
	bool resp_started;		/* a response byte reached the client */
	bool reuse_retried;
	bool srv_keepalive;		/* the server keeps its connection open */
	uint8_t method_id;
	uint8_t client_minor;
	uint32_t nreq;			/* here: fills the hole after the bytes above */
	struct xadc_body rqb, rsb;
	size_t scanned;
	/* server selection */
	struct xadc_pool *pool;
	struct xadc_server *server;
	struct xadc_lb_ctx lb;
	unsigned retries;
	int status;			/* log; next to retries: no padding */
	/* timing (monotonic ns) and activity (ms) */
	uint64_t t_start_us, t0, t_head, t_conn0, t_conn1, t_resp;
	uint64_t last_cli, last_srv;	/* ms of the last progress on each side */
	uint64_t head_ms;		/* ms when the current head began */
	/* log */
	const char *term;
	uint64_t request_id, bytes_in, bytes_out;
	uint16_t lmethod_len, luri_len, lhost_len, lua_len;
	/* the log's copies: into rc while a request runs, "" otherwise */
	const char *lmethod, *luri, *lhost, *lua;
	struct xadc_reqcopy *rc;
	/* issue 4 (policy/): per-request HTTP policy state */
	const char *hp_rule[3];		/* security, request, response rule names */
	struct xadc_server *hp_server;	/* switching_action's fixed server */
	struct xadc_buf hp_log;		/* extra_json of a rule with log: true */
};

struct xadc_srvconn {
	struct xadc_conn c;		/* type XC_SERVER: must stay first */
	struct xadc_worker *w;
	struct xadc_session *sess;	/* NULL while idle in the pool */
	struct xadc_server *server;	/* valid while attached to a session */
	struct xadc_rt *rt;		/* idle pool key; kept alive by the current snapshot */
	struct xadc_timer timer;	/* idle timeout */
	struct xlist node;		/* idle bucket, or w->dead */
	bool connecting, reused;
};

/* worker.c */
struct xadc_snap_holder *xadc_worker_pin(struct xadc_worker *w);
void xadc_worker_unpin(struct xadc_worker *w, struct xadc_snap_holder *h);
struct xadc_vs *xadc_worker_find_vs(struct xadc_worker *w, const union xadc_sockaddr *vip);
void xadc_session_close(struct xadc_session *s);
void xadc_session_arm(struct xadc_session *s, uint64_t when);
/* Attach a struct xadc_reqcopy to s (NULL when memory is short: the log
 * then shows empty fields); put detaches it and points the fields at "". */
struct xadc_reqcopy *xadc_reqcopy_get(struct xadc_session *s);
void xadc_reqcopy_put(struct xadc_session *s);
uint32_t xadc_pool_connect_timeout(const struct xadc_pool *p);
uint32_t xadc_pool_server_timeout(const struct xadc_pool *p);
void xadc_counters_resp(struct xadc_counters *c, int status);

/* upstream.c: attach a server connection to s->server (idle one first
 * unless fresh). 0, or a negative errno when the connect failed at once. */
int xadc_up_attach(struct xadc_session *s, bool fresh);
/* Connect completed? Called on write readiness of a connecting socket. */
int xadc_up_check_connect(struct xadc_srvconn *sc);
/* Detach s's server connection: back to the idle pool when reusable. */
void xadc_up_detach(struct xadc_session *s, bool reusable);
void xadc_up_idle_event(struct xadc_srvconn *sc);
void xadc_up_idle_timeout(struct xadc_srvconn *sc);
/* Close idle connections whose server is not in snap (NULL: all). */
void xadc_up_prune(struct xadc_worker *w, struct xadc_snapshot *snap);
void xadc_up_free(struct xadc_worker *w, struct xadc_srvconn *sc);

/* http_proxy.c */
void xadc_http_start(struct xadc_session *s);
void xadc_http_run(struct xadc_session *s);
void xadc_http_timeout(struct xadc_session *s);
void xadc_http_log(struct xadc_session *s);
/* Local responses (errors, later policy responses) go through here. */
void xadc_http_local_reply(struct xadc_session *s, int status, bool close);

/* l4_proxy.c */
void xadc_l4_start(struct xadc_session *s);
void xadc_tunnel_run(struct xadc_session *s);
void xadc_tunnel_timeout(struct xadc_session *s);
/* Server selection and connect with retries shared by HTTP and L4:
 * 0 when a connection is on its way, -EAGAIN-style negative errno when no
 * server could be attached (caller answers). */
int xadc_proxy_select_connect(struct xadc_session *s);
/* A server connection failed before any response: retry or give up.
 * Returns 0 when a new attempt is under way. */
int xadc_proxy_retry(struct xadc_session *s, const char *why);

#endif
