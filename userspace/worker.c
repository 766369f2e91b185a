// SPDX-License-Identifier: GPL-2.0
/*
 * worker.c - the data path's threads: one epoll loop per worker, its own
 * SO_REUSEPORT listeners, snapshot switching, timers, accept and shutdown.
 *
 * A worker follows xadc_snapshot_generation at the top of each loop
 * iteration. Sessions pin the worker-local holder of the snapshot they run
 * on (a plain counter: only this thread touches it); a retired holder is
 * released when its last pin goes, so in-flight requests finish on the
 * configuration they started with.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xadc/proxy.h"
#include "xadc/xdp.h"
#include "nsp_user.h"
#include "proxy_int.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

#define MOD "proxy"
#define MAX_EVENTS 256
#define MAX_CACHED_OBJS 4096

static struct xadc_worker *workers;
static unsigned nworkers;

/* ------------------------------------------------------------ snapshots */

struct xadc_snap_holder *xadc_worker_pin(struct xadc_worker *w)
{
	w->cur->pins++;
	return w->cur;
}

void xadc_worker_unpin(struct xadc_worker *w, struct xadc_snap_holder *h)
{
	struct xadc_snap_holder **pp;

	if (!h || --h->pins || h == w->cur)
		return;
	for (pp = &w->retired; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	xadc_snapshot_put(h->snap);
	free(h);
}

/* The enabled VS serving vip in the worker's current snapshot, or NULL. */
struct xadc_vs *xadc_worker_find_vs(struct xadc_worker *w, const union xadc_sockaddr *vip)
{
	struct xadc_snapshot *snap = w->cur ? w->cur->snap : NULL;
	unsigned i;

	for (i = 0; snap && i < snap->nlisteners; i++) {
		struct xadc_listener *l = &snap->listeners[i];

		if (xadc_sockaddr_eq(&l->addr, vip))
			return l->vs && l->vs->enabled ? l->vs : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------ listeners */

/* A non-blocking SO_REUSEPORT listening socket on a (the VIP may not be on
 * the host yet: FREEBIND). Returns the fd or a negative errno. */
static int listener_open(const union xadc_sockaddr *a)
{
	int one = 1, fd, ret;

	fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto err;
	if (a->sa.sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(fd, &a->sa, xadc_sockaddr_len(a)) || listen(fd, 4096))
		goto err;
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

static void listener_arm(struct xadc_worker *w, struct xadc_wlistener *l, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = l };

	epoll_ctl(w->epfd, EPOLL_CTL_MOD, l->c.fd, &ev);
}

static void listeners_pause(struct xadc_worker *w, bool pause)
{
	struct xadc_wlistener *l;

	if (w->accept_paused == pause)
		return;
	w->accept_paused = pause;
	for (l = w->listeners; l; l = l->next)
		listener_arm(w, l, !pause);
}

static void listener_close(struct xadc_wlistener *l)
{
	close(l->c.fd);
	free(l);
}

/* Make the worker's listeners match snap: same fd for a VIP:port that stays
 * (even if it moved to another VS), new sockets for new ones, close the rest. */
static void listeners_reconcile(struct xadc_worker *w, struct xadc_snapshot *snap)
{
	struct xadc_wlistener *l, **pp;
	char abuf[80];
	unsigned i;

	for (l = w->listeners; l; l = l->next) {
		l->seen = false;
		l->vs = NULL;
	}
	for (i = 0; snap && i < snap->nlisteners; i++) {
		struct xadc_listener *sl = &snap->listeners[i];
		struct epoll_event ev;
		int fd;

		if (!sl->vs || !sl->vs->enabled)
			continue;
		for (l = w->listeners; l; l = l->next)
			if (xadc_sockaddr_eq(&l->addr, &sl->addr))
				break;
		if (l) {
			l->seen = true;
			l->vs = sl->vs;
			continue;
		}
		fd = listener_open(&sl->addr);
		if (fd < 0) {
			pr_err(MOD, "worker %u: cannot listen on %s: %s", w->id,
			       xadc_sockaddr_str(&sl->addr, abuf, sizeof(abuf)), strerror(-fd));
			continue;
		}
		l = calloc(1, sizeof(*l));
		if (!l) {
			close(fd);
			continue;
		}
		l->c.type = XC_LISTENER;
		l->c.fd = fd;
		l->addr = sl->addr;
		l->vs = sl->vs;
		l->seen = true;
		ev.events = w->accept_paused ? 0 : EPOLLIN;
		ev.data.ptr = l;
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
		l->next = w->listeners;
		w->listeners = l;
		if (w->id == 0)
			pr_info(MOD, "listening on %s (virtual service %s)",
				xadc_sockaddr_str(&sl->addr, abuf, sizeof(abuf)), sl->vs->name);
	}
	for (pp = &w->listeners; (l = *pp);) {
		if (l->seen) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		if (w->id == 0)
			pr_info(MOD, "closing listener %s",
				xadc_sockaddr_str(&l->addr, abuf, sizeof(abuf)));
		listener_close(l);
	}
}

static void listeners_close_all(struct xadc_worker *w)
{
	struct xadc_wlistener *l;

	while ((l = w->listeners)) {
		w->listeners = l->next;
		listener_close(l);
	}
}

/* Top of the loop: adopt a newly published snapshot, if any. */
static void worker_switch(struct xadc_worker *w)
{
	uint64_t gen = atomic_load_explicit(&xadc_snapshot_generation, memory_order_acquire);
	struct xadc_snap_holder *h, *old;
	struct xadc_snapshot *snap;

	if (gen == w->gen)
		return;
	snap = xadc_snapshot_current();
	if (!snap)
		return;
	h = calloc(1, sizeof(*h));
	if (!h) {
		xadc_snapshot_put(snap);
		return;	/* try again next iteration */
	}
	h->snap = snap;
	old = w->cur;
	w->cur = h;
	w->gen = snap->generation > gen ? snap->generation : gen;
	atomic_store_explicit(&w->gen_pub, snap->generation, memory_order_relaxed);
	/* Prune first: idle connections of servers that left still hold a
	 * count in an rt only the old snapshot keeps alive. */
	xadc_up_prune(w, snap);
	if (old) {
		if (!old->pins) {
			xadc_snapshot_put(old->snap);
			free(old);
		} else {
			old->next = w->retired;
			w->retired = old;
		}
	}
	if (!w->draining)
		listeners_reconcile(w, snap);
}

/* ------------------------------------------------------------ sessions */

uint32_t xadc_pool_connect_timeout(const struct xadc_pool *p)
{
	return p && p->connect_timeout_ms ? p->connect_timeout_ms : XADC_CONNECT_TIMEOUT_MS;
}

uint32_t xadc_pool_server_timeout(const struct xadc_pool *p)
{
	return p && p->server_timeout_ms ? p->server_timeout_ms : XADC_SERVER_TIMEOUT_MS;
}

/* Count a response of status in c (class 0 for none / out of range). */
void xadc_counters_resp(struct xadc_counters *c, int status)
{
	unsigned cls = status >= 100 && status < 600 ? status / 100 : 0;

	c->resp[cls]++;
}

void xadc_session_arm(struct xadc_session *s, uint64_t when)
{
	if (s->timer.when != when)
		xadc_timer_set(&s->w->timers, &s->timer, when);
}

/* Pop an object from a free list (first word links), keeping the list's
 * low-water mark for worker_trim(); NULL when empty. */
static void *freelist_pop(void **head, unsigned *n, unsigned *low)
{
	void *o = *head;

	if (!o)
		return NULL;
	*head = *(void **)o;
	if (--*n < *low)
		*low = *n;
	return o;
}

/* Push o, or free it when max objects are cached already. */
static void freelist_push(void **head, unsigned *n, unsigned max, void *o)
{
	if (*n >= max) {
		free(o);
		return;
	}
	*(void **)o = *head;
	*head = o;
	++*n;
}

/* Free what the list had spare for a whole period: the low-water mark
 * since the last trim. Returns the number freed. */
static unsigned freelist_trim(void **head, unsigned *n, unsigned *low)
{
	unsigned k = *low, i;

	for (i = 0; i < k && *head; i++) {
		void *o = *head;

		*head = *(void **)o;
		free(o);
	}
	*n -= i;
	*low = *n;
	return i;
}

static const char no_field[] = "";

static struct xadc_session *session_alloc(struct xadc_worker *w)
{
	struct xadc_session *s = freelist_pop(&w->free_sess, &w->nfree_sess, &w->low_sess);

	if (!s) {
		s = malloc(sizeof(*s));
		if (!s)
			return NULL;
	}
	/* the rest (policy and script state) is reset by the HTTP start */
	memset(s, 0, offsetof(struct xadc_session, hp_rule));
	s->lmethod = s->luri = s->lhost = s->lua = no_field;
	return s;
}

static void session_free(struct xadc_worker *w, struct xadc_session *s)
{
	freelist_push(&w->free_sess, &w->nfree_sess, MAX_CACHED_OBJS, s);
}

struct xadc_reqcopy *xadc_reqcopy_get(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;

	if (s->rc)
		return s->rc;
	s->rc = freelist_pop(&w->free_rc, &w->nfree_rc, &w->low_rc);
	if (!s->rc)
		s->rc = malloc(sizeof(*s->rc));
	if (s->rc) {
		s->rc->ds_live = false;
		s->rc->rqhead.data = NULL;
	}
	return s->rc;
}

void xadc_reqcopy_put(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;

	s->lmethod = s->luri = s->lhost = s->lua = no_field;
	s->lmethod_len = s->luri_len = s->lhost_len = s->lua_len = 0;
	if (!s->rc)
		return;
	if (s->rc->ds_live)	/* a request that ended without its log line */
		xadc_ds_txn_end(&s->rc->ds);
	xadc_buf_put(&w->bufs, &s->rc->rqhead);
	freelist_push(&w->free_rc, &w->nfree_rc, MAX_CACHED_OBJS, s->rc);
	s->rc = NULL;
}

/* Close the client connection and everything attached to it. The memory
 * goes back after the current epoll batch. */
void xadc_session_close(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;

	if (s->cli.flags & XC_F_DEAD)
		return;
	if (s->in_request && !s->logged)
		xadc_http_log(s);
	xadc_reqcopy_put(s);
	xadc_up_detach(s, false);
	if (s->acquired) {
		xadc_lb_release(s->server);
		s->acquired = false;
	}
	xadc_timer_del(&w->timers, &s->timer);
	xadc_conn_close(&w->bufs, &s->cli);
	xadc_buf_put(&w->bufs, &s->cout);
	xadc_buf_put(&w->bufs, &s->rout);
	if (s->vs)
		s->vs->rt->ctr[w->id].cur_conns--;
	xadc_worker_unpin(w, s->hold);
	s->hold = NULL;
	s->vs = NULL;
	xlist_del(&s->node);
	xlist_add(&w->dead, &s->node);
	w->nconn--;
	atomic_store_explicit(&w->nconn_pub, w->nconn, memory_order_relaxed);
	if (w->accept_paused && !w->draining && w->nconn < w->maxconn)
		listeners_pause(w, false);
}

static void session_run(struct xadc_session *s)
{
	if (s->mode == SM_TUNNEL)
		xadc_tunnel_run(s);
	else
		xadc_http_run(s);
}

static void accept_one(struct xadc_worker *w, struct xadc_wlistener *l, int fd,
		       const union xadc_sockaddr *peer)
{
	struct xadc_session *s;
	int one = 1;

	s = session_alloc(w);
	if (!s) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->cli.type = XC_CLIENT;
	s->cli.fd = fd;
	s->cli.xprt = &xadc_xprt_tcp;
	s->w = w;
	xadc_sess_addr_set(&s->caddr, peer);
	xadc_sess_addr_set(&s->vaddr, &l->addr);
	s->vs = l->vs;
	s->hold = xadc_worker_pin(w);
	xadc_timer_init(&s->timer, XT_SESSION);
	xlist_add(&w->sessions, &s->node);
	w->nconn++;
	atomic_store_explicit(&w->nconn_pub, w->nconn, memory_order_relaxed);
	s->vs->rt->ctr[w->id].conns++;
	s->vs->rt->ctr[w->id].cur_conns++;
	s->last_cli = w->now;
	if (xadc_conn_register(w->epfd, &s->cli)) {
		xadc_session_close(s);
		return;
	}
	if (s->vs->app == XADC_APP_L4)
		xadc_l4_start(s);
	else
		xadc_http_start(s);
}

/* Close an accepted socket with a reset (SO_LINGER 0): as close to an XDP
 * drop as userspace gets, and no TIME_WAIT left behind. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* The VS's network security policy, when no XDP program enforces it:
 * true when the connection just accepted on l must be refused. */
static bool nsp_refuse(struct xadc_worker *w, struct xadc_wlistener *l,
		       const union xadc_sockaddr *peer)
{
	struct xadc_snapshot *snap = w->cur->snap;
	size_t idx;

	if (!l->vs->nsp || xadc_xdpd_attached())
		return false;
	idx = l->vs - snap->vs;
	if (idx >= snap->nvs)	/* not this snapshot's VS: cannot happen */
		return false;
	return xadc_nsp_us_refuse(snap, idx, w->id, peer, &l->addr);
}

/* Accept a bounded burst; stop accepting at maxconn. */
static void accept_burst(struct xadc_worker *w, struct xadc_wlistener *l)
{
	union xadc_sockaddr peer;
	socklen_t len;
	unsigned i;
	int fd;

	for (i = 0; i < XADC_ACCEPT_BURST; i++) {
		if (w->nconn >= w->maxconn) {
			listeners_pause(w, true);
			return;
		}
		len = sizeof(peer);
		fd = accept4(l->c.fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: wait for a session to close. */
				pr_warn(MOD, "worker %u: accept: %s", w->id, strerror(errno));
				if (w->nconn)
					listeners_pause(w, true);
			}
			return;
		}
		if (!l->vs || !w->cur) {
			close(fd);
			continue;
		}
		if (nsp_refuse(w, l, &peer)) {
			close_reset(fd);
			continue;
		}
		accept_one(w, l, fd, &peer);
	}
}

/* ---------------------------------------------------------------- loop */

static void dispatch(struct xadc_worker *w, struct epoll_event *ev)
{
	struct xadc_conn *c = ev->data.ptr;
	uint8_t f = 0;
	uint64_t v;

	if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		f |= XC_F_RD_READY;
	if (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		f |= XC_F_RD_HUP;
	if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		f |= XC_F_WR_READY;
	switch (c->type) {
	case XC_LISTENER:
		accept_burst(w, (struct xadc_wlistener *)c);
		break;
	case XC_EVENTFD:
		while (read(c->fd, &v, sizeof(v)) > 0)
			;
		break;
	case XC_CLIENT:
		if (c->flags & XC_F_DEAD)
			break;
		c->flags |= f;
		session_run((struct xadc_session *)c);
		break;
	case XC_SERVER: {
		struct xadc_srvconn *sc = (struct xadc_srvconn *)c;

		if (c->flags & XC_F_DEAD)
			break;
		c->flags |= f;
		if (!sc->sess)
			xadc_up_idle_event(sc);
		else
			session_run(sc->sess);
		break;
	}
	}
}

/* Once a second: give back cached objects and buffers that stayed unused
 * for the whole second, so memory taken by a burst (or by many idle
 * connections that went away) returns to the allocator, and from there to
 * the system when enough was freed. Steady traffic keeps its working set. */
static void worker_trim(struct xadc_worker *w)
{
	size_t freed;

	w->next_trim = w->now + 1000;
	freed = (size_t)xadc_bufpool_trim(&w->bufs) * XADC_BUF_SIZE;
	freed += freelist_trim(&w->free_sess, &w->nfree_sess, &w->low_sess) *
		 sizeof(struct xadc_session);
	freed += freelist_trim(&w->free_srv, &w->nfree_srv, &w->low_srv) *
		 sizeof(struct xadc_srvconn);
	freed += freelist_trim(&w->free_rc, &w->nfree_rc, &w->low_rc) *
		 sizeof(struct xadc_reqcopy);
	if (freed >= (1u << 20))
		malloc_trim(0);
}

static void run_timers(struct xadc_worker *w)
{
	struct xadc_timer *t;

	while ((t = xadc_timer_first(&w->timers)) && t->when <= w->now) {
		xadc_timer_del(&w->timers, t);
		if (t->kind == XT_IDLE) {
			xadc_up_idle_timeout(container_of(t, struct xadc_srvconn, timer));
		} else {
			struct xadc_session *s = container_of(t, struct xadc_session, timer);

			if (s->mode == SM_TUNNEL)
				xadc_tunnel_timeout(s);
			else
				xadc_http_timeout(s);
		}
	}
}

static void free_dead(struct xadc_worker *w)
{
	while (!xlist_empty(&w->dead)) {
		struct xadc_session *s = container_of(w->dead.next, struct xadc_session, node);

		xlist_del(&s->node);
		session_free(w, s);
	}
	while (!xlist_empty(&w->dead_srv)) {
		struct xadc_srvconn *sc = container_of(w->dead_srv.next, struct xadc_srvconn, node);

		xlist_del(&sc->node);
		xadc_up_free(w, sc);
	}
}

/* SIGTERM: no new connections; idle keep-alive ones close now, busy ones
 * finish their current response and close after it. */
static void begin_drain(struct xadc_worker *w)
{
	struct xlist *p, *n;

	w->draining = true;
	w->drain_deadline = w->now + w->drain_timeout_ms;
	listeners_close_all(w);
	xadc_up_prune(w, NULL);
	for (p = w->sessions.next; p != &w->sessions; p = n) {
		struct xadc_session *s = container_of(p, struct xadc_session, node);

		n = p->next;
		s->keepalive = false;
		if (s->mode == SM_HTTP && s->rq == RQ_IDLE && !xbuf_len(&s->cli.in) &&
		    !xbuf_len(&s->cout))
			xadc_session_close(s);
	}
}

static void close_all(struct xadc_worker *w)
{
	while (!xlist_empty(&w->sessions)) {
		struct xadc_session *s = container_of(w->sessions.next, struct xadc_session, node);

		if (!s->term)
			s->term = "shutdown";
		xadc_session_close(s);
	}
}

static int loop_timeout(struct xadc_worker *w)
{
	struct xadc_timer *t = xadc_timer_first(&w->timers);
	uint64_t ms = 1000;

	if (t)
		ms = t->when <= w->now ? 0 : t->when - w->now + 1;
	if (ms > 1000)
		ms = 1000;	/* also bounds how late a drain deadline is seen */
	return (int)ms;
}

static void *worker_main(void *arg)
{
	struct xadc_worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];
	int i, n;

	w->now = xadc_now_ms();
	for (;;) {
		worker_switch(w);
		if (atomic_load(&w->stopping) && !w->draining)
			begin_drain(w);
		free_dead(w);
		if (w->draining && (xlist_empty(&w->sessions) || w->now >= w->drain_deadline))
			break;
		n = epoll_wait(w->epfd, evs, MAX_EVENTS, loop_timeout(w));
		w->now = xadc_now_ms();
		for (i = 0; i < n; i++)
			dispatch(w, &evs[i]);
		run_timers(w);
		free_dead(w);
		if (w->now >= w->next_trim)
			worker_trim(w);
	}
	close_all(w);
	xadc_up_prune(w, NULL);
	free_dead(w);
	return NULL;
}

/* ------------------------------------------------------------- control */

static unsigned default_maxconn(unsigned nw)
{
	struct rlimit rl;
	unsigned long nofile = 1024;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		nofile = rl.rlim_cur;
	if (nofile < 256 + 2 * 16 * nw)
		return 16;
	/* client + server descriptor per connection, shared by the workers */
	return (nofile - 256) / 2 / nw;
}

static void worker_fini(struct xadc_worker *w)
{
	struct xadc_snap_holder *h;
	unsigned i;

	listeners_close_all(w);
	while ((h = w->retired)) {
		w->retired = h->next;
		xadc_snapshot_put(h->snap);
		free(h);
	}
	if (w->cur) {
		xadc_snapshot_put(w->cur->snap);
		free(w->cur);
		w->cur = NULL;
	}
	while (w->free_sess) {
		void *next = *(void **)w->free_sess;

		free(w->free_sess);
		w->free_sess = next;
	}
	while (w->free_srv) {
		void *next = *(void **)w->free_srv;

		free(w->free_srv);
		w->free_srv = next;
	}
	while (w->free_rc) {
		void *next = *(void **)w->free_rc;

		free(w->free_rc);
		w->free_rc = next;
	}
	for (i = 0; i < XADC_IDLE_BUCKETS; i++)
		xlist_init(&w->idle[i]);
	xadc_bufpool_fini(&w->bufs);
	xadc_theap_fini(&w->timers);
	if (w->evc.fd >= 0)
		close(w->evc.fd);
	if (w->epfd >= 0)
		close(w->epfd);
}

static int worker_init(struct xadc_worker *w, unsigned id, const struct xadc_proxy_opts *o,
		       unsigned maxconn)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned i;

	w->id = id;
	w->maxconn = maxconn;
	w->drain_timeout_ms = o->drain_timeout_ms;
	w->bufs.max_free = 1024;
	w->evc.type = XC_EVENTFD;
	w->evc.fd = -1;
	xlist_init(&w->sessions);
	xlist_init(&w->dead);
	xlist_init(&w->dead_srv);
	for (i = 0; i < XADC_IDLE_BUCKETS; i++)
		xlist_init(&w->idle[i]);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->evc.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evc.fd < 0)
		return -errno;
	ev.data.ptr = &w->evc;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evc.fd, &ev))
		return -errno;
	return 0;
}

/* Start opts->nworkers (0: online CPUs, at most xadc_nworkers counter
 * slots) worker threads. Returns 0 or a negative errno. */
int xadc_proxy_start(const struct xadc_proxy_opts *opts)
{
	unsigned n = opts->nworkers, maxconn, i;
	int ret = 0;

	if (workers)
		return -EALREADY;
	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? (unsigned)c : 1;
	}
	if (n > XADC_MAX_WORKERS)
		n = XADC_MAX_WORKERS;
	if (xadc_nworkers && n > xadc_nworkers) {
		pr_warn(MOD, "only %u counter slots: running %u workers, not %u", xadc_nworkers,
			xadc_nworkers, n);
		n = xadc_nworkers;
	}
	maxconn = opts->maxconn ? opts->maxconn : default_maxconn(n);
	workers = calloc(n, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		workers[i].epfd = -1;
		workers[i].evc.fd = -1;
	}
	for (i = 0; i < n; i++) {
		ret = worker_init(&workers[i], i, opts, maxconn);
		if (ret)
			goto err;
	}
	for (nworkers = 0; nworkers < n; nworkers++) {
		ret = -pthread_create(&workers[nworkers].thr, NULL, worker_main,
				      &workers[nworkers]);
		if (ret)
			goto err;
	}
	pr_info(MOD, "%u workers, %u connections each at most", n, maxconn);
	return 0;
err:
	pr_err(MOD, "cannot start workers: %s", strerror(-ret));
	for (i = 0; i < nworkers; i++)
		atomic_store(&workers[i].stopping, 1);
	xadc_proxy_kick();
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].thr, NULL);
	nworkers = 0;
	for (i = 0; i < n; i++)
		worker_fini(&workers[i]);
	free(workers);
	workers = NULL;
	return ret;
}

void xadc_proxy_kick(void)
{
	uint64_t one = 1;
	unsigned i;

	for (i = 0; i < nworkers; i++)
		if (write(workers[i].evc.fd, &one, sizeof(one)) < 0)
			continue;	/* counter saturated: a wake-up is pending anyway */
}

void xadc_proxy_stop(void)
{
	unsigned i, n = nworkers;

	if (!workers)
		return;
	for (i = 0; i < n; i++)
		atomic_store(&workers[i].stopping, 1);
	xadc_proxy_kick();
	for (i = 0; i < n; i++)
		pthread_join(workers[i].thr, NULL);
	nworkers = 0;
	for (i = 0; i < n; i++)
		worker_fini(&workers[i]);
	free(workers);
	workers = NULL;
}

json_t *xadc_proxy_status(void)
{
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; i < nworkers; i++) {
		struct xadc_worker *w = &workers[i];

		json_array_append_new(
			arr, json_pack("{s:i, s:i, s:I}", "id", (int)w->id, "connections",
				       (int)atomic_load_explicit(&w->nconn_pub, memory_order_relaxed),
				       "generation", (json_int_t)atomic_load_explicit(&w->gen_pub,
									memory_order_relaxed)));
	}
	return json_pack("{s:o}", "workers", arr);
}
