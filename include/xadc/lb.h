/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lb.h - server selection: load-balancing algorithms and persistence.
 *
 * Called by workers on the request path: no allocation, no lock except the
 * striped lock of the client-IP persistence table when a pool uses it.
 */
#ifndef XADC_LB_H
#define XADC_LB_H

#include "xadc/snapshot.h"

struct xadc_lb_ctx {
	unsigned worker;			/* caller's worker index */
	const union xadc_sockaddr *client;
	const char *uri;			/* request-target, for XADC_HASH_URI */
	size_t uri_len;
	const char *hash_hdr;			/* value of pool->hash_hdr header, NULL if absent */
	size_t hash_hdr_len;
	const char *cookie;			/* value of pool->persist_cookie cookie, NULL if absent */
	size_t cookie_len;
	/* Servers already tried for this request (retry after connect failure). */
	const struct xadc_server *exclude[4];
	unsigned nexclude;
};

/*
 * Pick a server that is enabled and up. Honours persistence first (a
 * persisted server that is down or gone is ignored and the entry replaced).
 * Returns NULL when no server can take the request (503).
 * *set_cookie is set true when the response must carry a persistence
 * cookie (cookie persistence and the request had none, or a stale one).
 * The caller increments server->rt->active while the request runs (least
 * connections) through xadc_lb_acquire/xadc_lb_release.
 */
struct xadc_server *xadc_lb_select(struct xadc_pool *pool, const struct xadc_lb_ctx *ctx,
				   bool *set_cookie);
void xadc_lb_acquire(struct xadc_server *srv);
void xadc_lb_release(struct xadc_server *srv);

/* Persistence cookie value for srv (hex token), written into buf.
 * Returns its length (16) or a negative errno. */
int xadc_lb_cookie_value(const struct xadc_server *srv, char *buf, size_t len);

/* Build pool->chash (Maglev-style, weighted by ratio) and pool->ws; called by
 * the config compiler. Returns 0 or -ENOMEM. */
int xadc_lb_pool_init(struct xadc_pool *pool);
void xadc_lb_pool_fini(struct xadc_pool *pool);

#endif
