// SPDX-License-Identifier: GPL-2.0
/*
 * transport.c - the plain TCP transport (see transport.h).
 *
 * Sockets are non-blocking; sends use MSG_NOSIGNAL so a peer that went away
 * gives -EPIPE instead of a signal, whatever the process's SIGPIPE setting.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "transport.h"

/* Read up to len bytes from c's socket. */
static ssize_t tcp_recv(struct xadc_conn *c, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = recv(c->fd, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Gathered send of iovcnt buffers. */
static ssize_t tcp_sendv(struct xadc_conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t n;

	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Half-close: forward the peer's end of stream. */
static int tcp_shutdown_wr(struct xadc_conn *c)
{
	return shutdown(c->fd, SHUT_WR) ? -errno : 0;
}

/* Close the socket; closing also removes it from the epoll set. */
static void tcp_close(struct xadc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static unsigned tcp_want(const struct xadc_conn *c)
{
	return 0;
}

const struct xadc_xprt_ops xadc_xprt_tcp = {
	.name = "tcp",
	.recv = tcp_recv,
	.sendv = tcp_sendv,
	.shutdown_wr = tcp_shutdown_wr,
	.close = tcp_close,
	.want = tcp_want,
	.short_read_drains = true,
};
