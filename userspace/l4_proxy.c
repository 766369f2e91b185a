// SPDX-License-Identifier: GPL-2.0
/*
 * l4_proxy.c - TCP proxying for XADC_APP_L4 virtual services, and the raw
 * tunnel an HTTP connection becomes after 101 Switching Protocols.
 *
 * Bytes are relayed both ways through the two input buffers with
 * back-pressure (a full buffer stops reading its side) and half-close: a
 * FIN from one side is forwarded with shutdown(SHUT_WR) once everything
 * before it was written. The session ends when both directions are shut,
 * on an error, or after XADC_TUNNEL_TIMEOUT_MS without traffic.
 */
#include <errno.h>
#include <sys/uio.h>

#include "proxy_int.h"

/* Relay src->in to dst; forward src's FIN once drained. */
static bool relay(struct xadc_session *s, struct xadc_conn *src, struct xadc_conn *dst,
		  bool to_server)
{
	struct xadc_worker *w = s->w;
	struct iovec iov;
	bool p = false;
	ssize_t r;
	size_t n;

	r = xadc_conn_recv(&w->bufs, src);
	if (r > 0) {
		p = true;
		if (to_server) {
			s->vs->rt->ctr[w->id].bytes_in += r;
			s->last_cli = w->now;
		} else {
			s->server->rt->ctr[w->id].bytes_in += r;
			s->last_srv = w->now;
		}
	}
	if (xbuf_len(&src->in)) {
		iov.iov_base = xbuf_ptr(&src->in);
		iov.iov_len = xbuf_len(&src->in);
		n = xadc_conn_sendv(dst, &iov, 1);
		if (n) {
			p = true;
			xbuf_consume(&src->in, n);
			if (to_server) {
				s->bytes_in += n;
				s->body_sent = true;
				s->server->rt->ctr[w->id].bytes_out += n;
				s->last_srv = w->now;
			} else {
				s->bytes_out += n;
				s->vs->rt->ctr[w->id].bytes_out += n;
				s->last_cli = w->now;
			}
		}
	}
	if ((src->flags & XC_F_RD_EOF) && !xbuf_len(&src->in) && !(dst->flags & XC_F_WR_SHUT)) {
		xadc_conn_shutdown_wr(dst);
		p = true;
	}
	return p;
}

static void tunnel_arm(struct xadc_session *s)
{
	uint64_t last = s->last_cli > s->last_srv ? s->last_cli : s->last_srv;

	if (s->srv && s->srv->connecting)
		xadc_session_arm(s, s->last_srv + xadc_pool_connect_timeout(s->pool));
	else
		xadc_session_arm(s, last + XADC_TUNNEL_TIMEOUT_MS);
}

void xadc_tunnel_run(struct xadc_session *s)
{
	struct xadc_srvconn *sc;
	bool p;
	int r;

	do {
		sc = s->srv;
		if (!sc) {
			xadc_session_close(s);
			return;
		}
		p = false;
		if (sc->connecting) {
			r = xadc_up_check_connect(sc);
			if (!r)
				break;
			if (r < 0) {
				if (xadc_proxy_retry(s, "connect_failed")) {
					xadc_session_close(s);
					return;
				}
				continue;
			}
		}
		p |= relay(s, &s->cli, &sc->c, true);
		p |= relay(s, &sc->c, &s->cli, false);
		if ((s->cli.flags | sc->c.flags) & XC_F_ERROR) {
			if (!s->term)
				s->term = (s->cli.flags & XC_F_ERROR) ? "client_reset" : "server_reset";
			xadc_session_close(s);
			return;
		}
		if ((s->cli.flags & XC_F_WR_SHUT) && (sc->c.flags & XC_F_WR_SHUT)) {
			xadc_session_close(s);
			return;
		}
	} while (p);
	tunnel_arm(s);
}

void xadc_tunnel_timeout(struct xadc_session *s)
{
	if (s->srv && s->srv->connecting) {
		if (xadc_proxy_retry(s, "connect_timeout")) {
			xadc_session_close(s);
			return;
		}
		xadc_tunnel_run(s);
		return;
	}
	if (s->w->now < (s->last_cli > s->last_srv ? s->last_cli : s->last_srv) +
				XADC_TUNNEL_TIMEOUT_MS) {
		tunnel_arm(s);
		return;
	}
	s->term = "idle_timeout";
	xadc_session_close(s);
}

/* A new connection on an L4 virtual service: pick a server and connect. */
void xadc_l4_start(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;
	int ret;

	s->mode = SM_TUNNEL;
	s->in_request = true;
	s->t0 = xadc_now_ns();
	s->t_start_us = xadc_wall_us();
	s->request_id = ((uint64_t)(w->id + 1) << 48) | ++w->req_seq;
	s->vs->rt->ctr[w->id].requests++;
	s->pool = s->vs->pool;
	s->lb.worker = w->id;
	s->lb.client = xadc_sess_sa(&s->caddr);
	s->last_srv = w->now;
	if (!s->pool) {
		s->term = "no_server";
		xadc_session_close(s);
		return;
	}
	ret = xadc_proxy_select_connect(s);
	if (ret) {
		s->term = ret == -EHOSTUNREACH ? "no_server" : "connect_failed";
		xadc_session_close(s);
		return;
	}
	xadc_tunnel_run(s);
}
