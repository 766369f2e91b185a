// SPDX-License-Identifier: GPL-2.0
/*
 * upstream.c - connections to servers: non-blocking connect with timeout,
 * retries on another server, and the per-worker idle keep-alive pool.
 *
 * The idle pool is keyed by the server's runtime object (struct xadc_rt),
 * which survives a configuration apply that keeps the server, so pooled
 * connections stay useful across applies. Only servers of the worker's
 * current snapshot have pooled connections (xadc_up_prune at each switch),
 * so the current snapshot keeps every pooled connection's rt alive.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy_int.h"

#define MAX_CACHED_SRV 4096

static struct xlist *idle_bucket(struct xadc_worker *w, const struct xadc_rt *rt)
{
	uint64_t h = (uint64_t)(uintptr_t)rt * 0x9e3779b97f4a7c15ull;

	return &w->idle[(h >> 32) % XADC_IDLE_BUCKETS];
}

static struct xadc_srvconn *srv_alloc(struct xadc_worker *w)
{
	struct xadc_srvconn *sc = w->free_srv;

	if (sc) {
		w->free_srv = *(void **)sc;
		if (--w->nfree_srv < w->low_srv)
			w->low_srv = w->nfree_srv;
	} else {
		sc = malloc(sizeof(*sc));
		if (!sc)
			return NULL;
	}
	memset(sc, 0, sizeof(*sc));
	sc->c.type = XC_SERVER;
	sc->c.fd = -1;
	sc->c.xprt = &xadc_xprt_tcp;
	sc->w = w;
	xlist_init(&sc->node);
	xadc_timer_init(&sc->timer, XT_IDLE);
	return sc;
}

/* Return a closed server connection's memory (after the epoll batch). */
void xadc_up_free(struct xadc_worker *w, struct xadc_srvconn *sc)
{
	if (w->nfree_srv >= MAX_CACHED_SRV) {
		free(sc);
		return;
	}
	*(void **)sc = w->free_srv;
	w->free_srv = sc;
	w->nfree_srv++;
}

/* Close sc for good; its rt must still be alive (see file comment). */
static void srv_close(struct xadc_srvconn *sc)
{
	struct xadc_worker *w = sc->w;

	if (sc->c.flags & XC_F_DEAD)
		return;
	xadc_timer_del(&w->timers, &sc->timer);
	if (sc->rt)
		sc->rt->ctr[w->id].cur_conns--;
	xadc_conn_close(&w->bufs, &sc->c);
	xlist_del(&sc->node);
	xlist_add(&w->dead_srv, &sc->node);
}

static void idle_remove(struct xadc_srvconn *sc)
{
	xlist_del(&sc->node);
	xadc_timer_del(&sc->w->timers, &sc->timer);
	sc->w->nidle--;
}

/* An idle connection is usable if the server neither closed it nor sent
 * anything unsolicited: peeking must find nothing and would block. */
static bool idle_alive(struct xadc_srvconn *sc)
{
	char b;
	ssize_t n;

	if (sc->c.flags & (XC_F_RD_EOF | XC_F_ERROR | XC_F_RD_HUP))
		return false;
	n = recv(sc->c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		sc->c.flags &= ~XC_F_RD_READY;
		return true;
	}
	return false;
}

/*
 * Whether an idle connection may be used without asking the kernel. While
 * idle it is registered edge-triggered: anything the server sends or its
 * FIN produces an event that marks it (XC_F_RD_READY, XC_F_RD_HUP) and
 * closes it (xadc_up_idle_event). What can still be missed is an event
 * that is queued but not yet dispatched, a window of one loop iteration;
 * a request that may be retried on a fresh connection (xadc_proxy_retry)
 * accepts that small risk and saves a recv(MSG_PEEK) per request; any
 * other request pays for the peek.
 */
static bool idle_usable(struct xadc_srvconn *sc, bool retryable)
{
	if (sc->c.flags & (XC_F_RD_EOF | XC_F_ERROR | XC_F_RD_HUP | XC_F_RD_READY))
		return idle_alive(sc);
	return retryable || idle_alive(sc);
}

static struct xadc_srvconn *idle_take(struct xadc_worker *w, struct xadc_rt *rt, bool retryable)
{
	struct xlist *b = idle_bucket(w, rt), *p, *n;

	for (p = b->next; p != b; p = n) {
		struct xadc_srvconn *sc = container_of(p, struct xadc_srvconn, node);

		n = p->next;
		if (sc->rt != rt)
			continue;
		idle_remove(sc);
		if (idle_usable(sc, retryable))
			return sc;
		srv_close(sc);
	}
	return NULL;
}

static bool may_retry(const struct xadc_session *s);

/* Attach a connection to s->server: a live idle one unless fresh, else a
 * new non-blocking connect. Returns 0 or a negative errno (connect failed
 * at once). */
int xadc_up_attach(struct xadc_session *s, bool fresh)
{
	struct xadc_worker *w = s->w;
	struct xadc_server *srv = s->server;
	struct xadc_srvconn *sc = NULL;
	int one = 1, ret;

	s->t_conn0 = xadc_now_ns();
	if (!fresh)
		sc = idle_take(w, srv->rt, may_retry(s) && !s->reuse_retried);
	if (sc) {
		sc->reused = true;
		goto attach;
	}
	sc = srv_alloc(w);
	if (!sc)
		return -ENOMEM;
	sc->c.fd = socket(srv->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sc->c.fd < 0) {
		ret = -errno;
		goto err;
	}
	setsockopt(sc->c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sc->rt = srv->rt;
	srv->rt->ctr[w->id].conns++;
	srv->rt->ctr[w->id].cur_conns++;
	if (connect(sc->c.fd, &srv->addr.sa, xadc_sockaddr_len(&srv->addr))) {
		if (errno != EINPROGRESS) {
			ret = -errno;
			goto err;
		}
		sc->connecting = true;
	}
	ret = xadc_conn_register(w->epfd, &sc->c);
	if (ret)
		goto err;
attach:
	sc->sess = s;
	sc->server = srv;
	sc->rt = srv->rt;
	s->srv = sc;
	if (!sc->connecting)
		s->t_conn1 = s->t_conn0;
	s->last_srv = w->now;
	return 0;
err:
	srv_close(sc);
	return ret;
}

/* On readiness of a connecting socket: 1 connected, 0 still waiting,
 * negative errno when the connect failed. */
int xadc_up_check_connect(struct xadc_srvconn *sc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!sc->connecting)
		return 1;
	if (!(sc->c.flags & (XC_F_WR_READY | XC_F_RD_READY)))
		return 0;
	if (getsockopt(sc->c.fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err)
		return -err;
	sc->connecting = false;
	sc->sess->t_conn1 = xadc_now_ns();
	return 1;
}

/*
 * Room for one more idle connection to rt? At least XADC_IDLE_PER_SERVER,
 * and as many as the worker has client connections: each client uses one
 * server connection at a time, so that many can all be needed at once, and
 * a smaller cap closes and reopens connections under steady load (100
 * clients, 64 idle slots: a connect every few requests). The idle timeout
 * returns the surplus. The bucket is only walked when the worker's total
 * is over the cap.
 */
static bool idle_room(struct xadc_worker *w, const struct xadc_rt *rt)
{
	unsigned cap = w->nconn > XADC_IDLE_PER_SERVER ? w->nconn : XADC_IDLE_PER_SERVER;
	struct xlist *b = idle_bucket(w, rt), *p;
	unsigned n = 0;

	if (w->nidle < cap)
		return true;
	for (p = b->next; p != b && n < cap; p = p->next)
		n += container_of(p, struct xadc_srvconn, node)->rt == rt;
	return n < cap;
}

/* Detach s's server connection. A reusable one (complete response, keep-
 * alive both ways, nothing unread) goes to the idle pool if there is room
 * and s runs on the current snapshot; anything else is closed. */
void xadc_up_detach(struct xadc_session *s, bool reusable)
{
	struct xadc_srvconn *sc = s->srv;
	struct xadc_worker *w = s->w;

	if (!sc)
		return;
	s->srv = NULL;
	sc->sess = NULL;
	sc->server = NULL;
	if (reusable && !w->draining && s->hold == w->cur && !sc->connecting &&
	    !(sc->c.flags & (XC_F_RD_EOF | XC_F_ERROR | XC_F_WR_SHUT)) && !xbuf_len(&sc->c.in) &&
	    idle_room(w, sc->rt)) {
		xadc_buf_put(&w->bufs, &sc->c.in);	/* idle conns hold no buffer */
		sc->reused = false;
		xlist_add(idle_bucket(w, sc->rt), &sc->node);
		xadc_timer_set(&w->timers, &sc->timer, w->now + XADC_IDLE_TIMEOUT_MS);
		w->nidle++;
		return;
	}
	srv_close(sc);
}

/* Any event on an idle connection: keep it only if it still looks alive. */
void xadc_up_idle_event(struct xadc_srvconn *sc)
{
	if (!(sc->c.flags & XC_F_RD_READY) || idle_alive(sc))
		return;
	idle_remove(sc);
	srv_close(sc);
}

void xadc_up_idle_timeout(struct xadc_srvconn *sc)
{
	idle_remove(sc);
	srv_close(sc);
}

static bool rt_in_snapshot(const struct xadc_snapshot *snap, const struct xadc_rt *rt)
{
	unsigned i, j;

	for (i = 0; i < snap->npools; i++)
		for (j = 0; j < snap->pools[i].nservers; j++)
			if (snap->pools[i].servers[j].rt == rt)
				return true;
	return false;
}

void xadc_up_prune(struct xadc_worker *w, struct xadc_snapshot *snap)
{
	unsigned i;

	for (i = 0; i < XADC_IDLE_BUCKETS; i++) {
		struct xlist *b = &w->idle[i], *p, *n;

		for (p = b->next; p != b; p = n) {
			struct xadc_srvconn *sc = container_of(p, struct xadc_srvconn, node);

			n = p->next;
			if (snap && rt_in_snapshot(snap, sc->rt))
				continue;
			idle_remove(sc);
			srv_close(sc);
		}
	}
}

/* ---------------------------------------------------- selection, retries */

/* Idempotent methods may be retried on another server (RFC 9110 9.2.2) as
 * long as no body byte left; a raw TCP session as long as nothing was sent. */
static bool may_retry(const struct xadc_session *s)
{
	if (s->body_sent)
		return false;
	if (s->mode == SM_TUNNEL)
		return true;
	switch (s->method_id) {
	case H1_M_GET:
	case H1_M_HEAD:
	case H1_M_OPTIONS:
	case H1_M_PUT:
	case H1_M_DELETE:
	case H1_M_TRACE:
		return true;
	default:
		return false;
	}
}

static void server_release(struct xadc_session *s)
{
	if (s->acquired) {
		xadc_lb_release(s->server);
		s->acquired = false;
	}
}

/* Pick a server for s->pool and connect; on an immediate connect failure
 * try others within the retry budget. 0 when a connection is attached or
 * on its way; -EHOSTUNREACH when no server could be chosen; another
 * negative errno when connecting failed. */
int xadc_proxy_select_connect(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;
	int ret;

	for (;;) {
		bool set_cookie = false;
		struct xadc_server *srv = xadc_lb_select(s->pool, &s->lb, &set_cookie);

		if (!srv)
			return -EHOSTUNREACH;
		s->server = srv;
		s->set_cookie = set_cookie;
		xadc_lb_acquire(srv);
		s->acquired = true;
		ret = xadc_up_attach(s, false);
		if (!ret) {
			srv->rt->ctr[w->id].requests++;
			return 0;
		}
		srv->rt->ctr[w->id].conn_errors++;
		server_release(s);
		if (s->lb.nexclude < ARRAY_SIZE(s->lb.exclude))
			s->lb.exclude[s->lb.nexclude++] = srv;
		if (!may_retry(s) || s->retries >= s->pool->max_retries ||
		    s->lb.nexclude >= ARRAY_SIZE(s->lb.exclude))
			return ret;
		s->retries++;
	}
}

/* The server connection failed before any response byte arrived (why
 * names it for the log). A reused keep-alive connection is retried once on
 * a fresh connection to the same server (the server may have closed it
 * just as we sent); otherwise the failure counts against the server and
 * another one is tried within pool->max_retries. Returns 0 when a new
 * attempt is under way, negative when the caller must answer. */
int xadc_proxy_retry(struct xadc_session *s, const char *why)
{
	struct xadc_worker *w = s->w;
	bool reused = s->srv && s->srv->reused;

	int ret;

	xadc_up_detach(s, false);
	s->rout.head = 0;	/* the request head is sent again as a whole */
	if (reused && !s->reuse_retried && may_retry(s)) {
		s->reuse_retried = true;
		if (!xadc_up_attach(s, true)) {
			s->server->rt->ctr[w->id].requests++;
			return 0;
		}
	}
	s->server->rt->ctr[w->id].conn_errors++;
	server_release(s);
	if (s->lb.nexclude < ARRAY_SIZE(s->lb.exclude))
		s->lb.exclude[s->lb.nexclude++] = s->server;
	if (!may_retry(s) || s->retries >= s->pool->max_retries ||
	    s->lb.nexclude >= ARRAY_SIZE(s->lb.exclude)) {
		s->term = why;
		return -ECONNREFUSED;
	}
	s->retries++;
	ret = xadc_proxy_select_connect(s);
	if (ret)
		s->term = why;
	return ret;
}
