/* SPDX-License-Identifier: GPL-2.0 */
/*
 * conn.h - connection objects of the data path: fixed-size buffers from a
 * per-worker free list, a socket endpoint with its readiness flags, an
 * intrusive list and a per-worker timer heap. Everything here is owned by
 * one worker thread; nothing is locked.
 *
 * Readiness model: sockets are registered once, edge-triggered, for
 * EPOLLIN|EPOLLOUT|EPOLLRDHUP. An event sets XC_F_RD_READY / XC_F_WR_READY;
 * only an -EAGAIN from the transport clears them. So "stop reading the
 * client while the server does not drain" is simply "do not call recv while
 * the buffer is full": no epoll_ctl per state change, and the next recv
 * after the buffer drains picks up where the kernel left off. A short read
 * on a plain socket also clears XC_F_RD_READY (the queue is empty; new
 * bytes bring a new edge), which saves the recv that would only say
 * EAGAIN, except once epoll has reported the peer's FIN (XC_F_RD_HUP):
 * then reading goes on until end of stream.
 */
#ifndef XADC_CONN_H
#define XADC_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "transport.h"
#include "xadc/snapshot.h"

/* Every connection buffer has this size; it bounds a request or response
 * head (max_header_size is clamped to it) and the bytes in flight per
 * direction. */
#define XADC_BUF_SIZE 32768u

struct xlist {
	struct xlist *next, *prev;
};

static inline void xlist_init(struct xlist *l)
{
	l->next = l->prev = l;
}

static inline bool xlist_empty(const struct xlist *l)
{
	return l->next == l;
}

static inline void xlist_add(struct xlist *head, struct xlist *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void xlist_del(struct xlist *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	xlist_init(n);
}

/* Bytes [head, tail) of data are valid; data is NULL until first needed. */
struct xadc_buf {
	char *data;
	uint32_t head, tail;
};

static inline uint32_t xbuf_len(const struct xadc_buf *b)
{
	return b->tail - b->head;
}

static inline uint32_t xbuf_room(const struct xadc_buf *b)
{
	return XADC_BUF_SIZE - b->tail;
}

static inline char *xbuf_ptr(const struct xadc_buf *b)
{
	return b->data + b->head;
}

static inline void xbuf_consume(struct xadc_buf *b, uint32_t n)
{
	b->head += n;
	if (b->head == b->tail)
		b->head = b->tail = 0;
}

/* Free list of XADC_BUF_SIZE blocks, per worker. */
struct xadc_bufpool {
	void *free;
	unsigned nfree, max_free;
	unsigned nused;
	unsigned low;		/* fewest blocks on the list since the last trim */
};

int xadc_buf_get(struct xadc_bufpool *p, struct xadc_buf *b);
void xadc_buf_put(struct xadc_bufpool *p, struct xadc_buf *b);
/* Free the blocks that stayed unused since the last call (the low-water
 * mark); returns how many. Called about once a second, so a burst's
 * buffers go back to the allocator once the burst is over. */
unsigned xadc_bufpool_trim(struct xadc_bufpool *p);
void xadc_bufpool_fini(struct xadc_bufpool *p);
/* Append len bytes; false (nothing written) if they do not fit. */
bool xadc_buf_append(struct xadc_buf *b, const void *s, size_t len);
/* Move the valid bytes to the start of the block. */
void xadc_buf_compact(struct xadc_buf *b);

/* Min-heap timer node, embedded in its owner: no allocation per timer. */
struct xadc_timer {
	uint64_t when;		/* monotonic ms; 0 when not armed */
	int idx;		/* position in the heap, -1 when not armed */
	uint8_t kind;
};

struct xadc_theap {
	struct xadc_timer **v;
	unsigned n, cap;
};

void xadc_timer_init(struct xadc_timer *t, uint8_t kind);
/* (Re)arm at when (0 disarms). Returns -ENOMEM only when the heap must grow
 * and cannot. */
int xadc_timer_set(struct xadc_theap *h, struct xadc_timer *t, uint64_t when);
static inline void xadc_timer_del(struct xadc_theap *h, struct xadc_timer *t)
{
	xadc_timer_set(h, t, 0);
}
/* The earliest timer, or NULL. */
static inline struct xadc_timer *xadc_timer_first(const struct xadc_theap *h)
{
	return h->n ? h->v[0] : NULL;
}
void xadc_theap_fini(struct xadc_theap *h);

/* The address of a as text into buf (returned). IPv4, the usual case, is
 * written directly: inet_ntop formats it with sprintf, and this runs per
 * request (X-Forwarded-For, the log line). */
static inline const char *xadc_addr_str(const union xadc_sockaddr *a, char buf[64])
{
	const unsigned char *b = (const unsigned char *)&a->in.sin_addr;
	char *p = buf;
	unsigned i;

	if (a->sa.sa_family != AF_INET)
		return xadc_sockaddr_ip(a, buf, 64);
	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*p++ = '0' + b[i] / 100;
		if (b[i] >= 10)
			*p++ = '0' + b[i] / 10 % 10;
		*p++ = '0' + b[i] % 10;
		*p++ = i < 3 ? '.' : '\0';
	}
	return buf;
}

/* Kinds of object an epoll event can point to: first byte of each. */
enum { XC_LISTENER = 1, XC_EVENTFD, XC_CLIENT, XC_SERVER };

#define XC_F_RD_READY 0x01
#define XC_F_WR_READY 0x02
#define XC_F_RD_EOF   0x04	/* the peer finished sending */
#define XC_F_WR_SHUT  0x08	/* we sent our FIN */
#define XC_F_ERROR    0x10	/* reset or another hard error */
#define XC_F_DEAD     0x20	/* closed, waiting for deferred free */
#define XC_F_RD_HUP   0x40	/* epoll reported the peer's FIN or an error: read to the end */

struct xadc_conn {
	uint8_t type;		/* XC_*: must stay first, epoll data points here */
	uint8_t flags;		/* XC_F_* */
	int fd;
	const struct xadc_xprt_ops *xprt;
	void *xprt_ctx;
	struct xadc_buf in;	/* bytes received, not yet forwarded */
	int err;		/* errno of the last hard error */
};

/*
 * Receive into c->in (allocated from p on first use). Returns bytes read,
 * 0 when nothing was read (buffer full, would block, or EOF: see flags),
 * or -ENOMEM. Hard errors set XC_F_ERROR and return 0.
 */
ssize_t xadc_conn_recv(struct xadc_bufpool *p, struct xadc_conn *c);
/* Gathered send; returns bytes sent (0 when blocked or on error: see flags). */
size_t xadc_conn_sendv(struct xadc_conn *c, const struct iovec *iov, int iovcnt);
void xadc_conn_shutdown_wr(struct xadc_conn *c);
void xadc_conn_close(struct xadc_bufpool *p, struct xadc_conn *c);
/* Register fd (already set) edge-triggered for both directions. */
int xadc_conn_register(int epfd, struct xadc_conn *c);

#endif
