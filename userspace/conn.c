// SPDX-License-Identifier: GPL-2.0
/*
 * conn.c - buffers, socket endpoints and timers of the data path (conn.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"

/* Take a block from the free list (or malloc one) for an empty buffer b. */
int xadc_buf_get(struct xadc_bufpool *p, struct xadc_buf *b)
{
	void *blk = p->free;

	if (b->data)
		return 0;
	if (blk) {
		p->free = *(void **)blk;
		if (--p->nfree < p->low)
			p->low = p->nfree;
	} else {
		blk = malloc(XADC_BUF_SIZE);
		if (!blk)
			return -ENOMEM;
	}
	p->nused++;
	b->data = blk;
	b->head = b->tail = 0;
	return 0;
}

/* Give b's block back; the list keeps at most max_free blocks cached. */
void xadc_buf_put(struct xadc_bufpool *p, struct xadc_buf *b)
{
	if (!b->data)
		return;
	p->nused--;
	if (p->nfree < p->max_free) {
		*(void **)b->data = p->free;
		p->free = b->data;
		p->nfree++;
	} else {
		free(b->data);
	}
	b->data = NULL;
	b->head = b->tail = 0;
}

unsigned xadc_bufpool_trim(struct xadc_bufpool *p)
{
	unsigned i;

	for (i = 0; i < p->low && p->free; i++) {
		void *next = *(void **)p->free;

		free(p->free);
		p->free = next;
	}
	p->nfree -= i;
	p->low = p->nfree;
	return i;
}

void xadc_bufpool_fini(struct xadc_bufpool *p)
{
	while (p->free) {
		void *next = *(void **)p->free;

		free(p->free);
		p->free = next;
	}
	p->nfree = 0;
}

bool xadc_buf_append(struct xadc_buf *b, const void *s, size_t len)
{
	if (len > xbuf_room(b) && b->head) {
		xadc_buf_compact(b);
	}
	if (len > xbuf_room(b))
		return false;
	memcpy(b->data + b->tail, s, len);
	b->tail += len;
	return true;
}

void xadc_buf_compact(struct xadc_buf *b)
{
	uint32_t n = xbuf_len(b);

	if (!b->head)
		return;
	memmove(b->data, b->data + b->head, n);
	b->head = 0;
	b->tail = n;
}

/* ---------------------------------------------------------------- timers */

void xadc_timer_init(struct xadc_timer *t, uint8_t kind)
{
	t->when = 0;
	t->idx = -1;
	t->kind = kind;
}

static void heap_swap(struct xadc_theap *h, unsigned a, unsigned b)
{
	struct xadc_timer *t = h->v[a];

	h->v[a] = h->v[b];
	h->v[b] = t;
	h->v[a]->idx = a;
	h->v[b]->idx = b;
}

static void heap_up(struct xadc_theap *h, unsigned i)
{
	while (i) {
		unsigned p = (i - 1) / 2;

		if (h->v[p]->when <= h->v[i]->when)
			break;
		heap_swap(h, p, i);
		i = p;
	}
}

static void heap_down(struct xadc_theap *h, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && h->v[l]->when < h->v[m]->when)
			m = l;
		if (r < h->n && h->v[r]->when < h->v[m]->when)
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
}

static void heap_remove(struct xadc_theap *h, struct xadc_timer *t)
{
	unsigned i = t->idx;

	h->n--;
	if (i != h->n) {
		h->v[i] = h->v[h->n];
		h->v[i]->idx = i;
		heap_down(h, i);
		heap_up(h, i);
	}
	t->idx = -1;
	t->when = 0;
}

int xadc_timer_set(struct xadc_theap *h, struct xadc_timer *t, uint64_t when)
{
	if (!when) {
		if (t->idx >= 0)
			heap_remove(h, t);
		return 0;
	}
	if (t->idx >= 0) {
		uint64_t old = t->when;

		t->when = when;
		if (when < old)
			heap_up(h, t->idx);
		else if (when > old)
			heap_down(h, t->idx);
		return 0;
	}
	if (h->n == h->cap) {
		/* Grows with the number of live connections, never per timer. */
		unsigned cap = h->cap ? h->cap * 2 : 256;
		struct xadc_timer **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	t->when = when;
	t->idx = h->n;
	h->v[h->n++] = t;
	heap_up(h, t->idx);
	return 0;
}

void xadc_theap_fini(struct xadc_theap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* ----------------------------------------------------------- endpoints */

ssize_t xadc_conn_recv(struct xadc_bufpool *p, struct xadc_conn *c)
{
	uint32_t room;
	ssize_t n;

	if (!(c->flags & XC_F_RD_READY) || (c->flags & (XC_F_RD_EOF | XC_F_ERROR)))
		return 0;
	if (xadc_buf_get(p, &c->in))
		return -ENOMEM;
	if (xbuf_room(&c->in) < XADC_BUF_SIZE / 4)
		xadc_buf_compact(&c->in);
	if (!xbuf_room(&c->in))
		return 0;
	room = xbuf_room(&c->in);
	n = c->xprt->recv(c, c->in.data + c->in.tail, room);
	if (n > 0) {
		c->in.tail += n;
		if ((size_t)n < room && c->xprt->short_read_drains && !(c->flags & XC_F_RD_HUP))
			c->flags &= ~XC_F_RD_READY;
		return n;
	}
	if (n == 0) {
		c->flags |= XC_F_RD_EOF;
		c->flags &= ~XC_F_RD_READY;
	} else if (n == -EAGAIN) {
		c->flags &= ~XC_F_RD_READY;
	} else {
		c->flags |= XC_F_ERROR;
		c->err = -n;
	}
	return 0;
}

size_t xadc_conn_sendv(struct xadc_conn *c, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	if (!(c->flags & XC_F_WR_READY) || (c->flags & (XC_F_ERROR | XC_F_WR_SHUT)))
		return 0;
	n = c->xprt->sendv(c, iov, iovcnt);
	if (n >= 0)
		return n;
	if (n == -EAGAIN) {
		c->flags &= ~XC_F_WR_READY;
	} else {
		c->flags |= XC_F_ERROR;
		c->err = -n;
	}
	return 0;
}

void xadc_conn_shutdown_wr(struct xadc_conn *c)
{
	if (c->flags & (XC_F_WR_SHUT | XC_F_ERROR))
		return;
	c->xprt->shutdown_wr(c);
	c->flags |= XC_F_WR_SHUT;
}

void xadc_conn_close(struct xadc_bufpool *p, struct xadc_conn *c)
{
	if (c->fd >= 0)
		c->xprt->close(c);
	xadc_buf_put(p, &c->in);
	c->flags = XC_F_DEAD;
}

int xadc_conn_register(int epfd, struct xadc_conn *c)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = c,
	};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) ? -errno : 0;
}
