/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proxy.h - the Service Engine's data path: worker threads, listeners,
 * HTTP/1.1 and L4 proxying.
 *
 * Each worker owns an epoll loop, its own SO_REUSEPORT listener per VIP:port
 * (bound with IP_FREEBIND), its client and server connections and an idle
 * server-connection pool. Workers share nothing on the request path; they
 * follow xadc_snapshot_generation and switch to a new snapshot between
 * requests, reconciling their listeners (new VIP:ports opened, removed ones
 * closed, unchanged ones kept so no connection is refused during an apply).
 *
 * Request pipeline stages (named so policies and DataScripts plug in):
 *   ACCEPT -> [TCP_CLIENT_ACCEPT scripts] -> READ_HEAD -> [HTTP security
 *   policy] -> [HTTP request policy] -> [HTTP_REQ scripts] -> LB_SELECT
 *   -> [LB_FAILED scripts] -> CONNECT -> SEND_HEAD/BODY -> READ_RESP_HEAD
 *   -> [HTTP response policy] -> [HTTP_RESP scripts] -> SEND_RESP -> LOG.
 */
#ifndef XADC_PROXY_H
#define XADC_PROXY_H

#include <jansson.h>

struct xadc_proxy_opts {
	unsigned nworkers;		/* 0: one per online CPU */
	unsigned drain_timeout_ms;	/* SIGTERM: wait this long for in-flight requests */
	unsigned maxconn;		/* per worker, bounded by RLIMIT_NOFILE */
};

int xadc_proxy_start(const struct xadc_proxy_opts *opts);
/* A new snapshot was published: wake every worker. */
void xadc_proxy_kick(void);
/* Stop accepting, let in-flight requests finish (bounded), join workers. */
void xadc_proxy_stop(void);
/* {"workers": [{"id", "connections", "generation"}...]} */
json_t *xadc_proxy_status(void);

#endif
