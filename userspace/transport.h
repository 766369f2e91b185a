/* SPDX-License-Identifier: GPL-2.0 */
/*
 * transport.h - the byte transport under a proxied connection.
 *
 * The proxy never calls read()/write() on a socket itself: it goes through
 * the connection's ops table, so TLS (OpenSSL, kTLS) and sockmap splicing
 * can plug in later without touching the HTTP or L4 state machines. Only
 * the plain TCP transport exists today.
 *
 * Return conventions (all ops): >= 0 bytes moved (recv: 0 is end of
 * stream), -EAGAIN when the operation would block, another negative errno
 * on a hard error. want() lets a transport that must read to write (a TLS
 * renegotiation) tell the loop which readiness it waits for; TCP needs none.
 */
#ifndef XADC_TRANSPORT_H
#define XADC_TRANSPORT_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

struct xadc_conn;

#define XADC_XPRT_WANT_READ  0x1
#define XADC_XPRT_WANT_WRITE 0x2

struct xadc_xprt_ops {
	const char *name;
	ssize_t (*recv)(struct xadc_conn *c, void *buf, size_t len);
	ssize_t (*sendv)(struct xadc_conn *c, const struct iovec *iov, int iovcnt);
	int (*shutdown_wr)(struct xadc_conn *c);
	void (*close)(struct xadc_conn *c);
	unsigned (*want)(const struct xadc_conn *c);
	/* A recv that returned less than asked for left nothing readable
	 * behind (a plain socket: with edge-triggered epoll, later data gives
	 * a new event). A transport that buffers inside (TLS) leaves it false
	 * and is read until -EAGAIN. */
	bool short_read_drains;
};

extern const struct xadc_xprt_ops xadc_xprt_tcp;

#endif
