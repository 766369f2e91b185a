/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http_ds.h - DataScripts in the HTTP proxy (issue 5): the accessor the
 * datascript/ runtime reads and edits requests through, and the calls the
 * pipeline stages make. Worker thread only.
 *
 * Return values of the stage calls: 0 go on, 1 the request was answered or
 * the session closed (STAGE_ANSWERED in http_proxy.c).
 */
#ifndef XADC_HTTP_DS_H
#define XADC_HTTP_DS_H

#include <sys/uio.h>

#include "proxy_int.h"

/* Session start: reset the transaction, run TCP_CLIENT_ACCEPT scripts.
 * Returns 1 when the session was closed. */
int xadc_http_ds_accept(struct xadc_session *s);
/* HTTP_REQ: *m / *b are replaced when a script edited the head; hlen is
 * the client's head length (the body follows it in cli.in). */
int xadc_http_ds_req(struct xadc_session *s, const struct http1_msg **m, const char **b,
		     uint32_t hlen);
/* HTTP_LB_FAILED (no server): a script may answer instead of the 503. */
int xadc_http_ds_lb_failed(struct xadc_session *s);
/* HTTP_RESP_FAILED (the server failed before a response; no retry left):
 * a script may answer (response, redirect) instead of the 502 / 504. */
int xadc_http_ds_resp_failed(struct xadc_session *s);
/* HTTP_RESP on the final response head. */
int xadc_http_ds_resp(struct xadc_session *s, const struct http1_msg **m, const char **b);
/*
 * HTTP_REQ_DATA (the request head is already in s->rout): hold starts
 * holding the body when the VS has such scripts and the request has a body
 * (1), 0 when not, -ENOMEM. hold_step moves validated body bytes from
 * cli.in into the held blocks up to the bound; 1 once the body is complete
 * or the bound reached, then req_data runs the scripts (0 go on with *m /
 * *b the parse of the head to send, 1 answered).
 */
int xadc_http_ds_hold(struct xadc_session *s);
bool xadc_http_ds_holding(const struct xadc_session *s);
int xadc_http_ds_hold_step(struct xadc_session *s);
int xadc_http_ds_req_data(struct xadc_session *s, const struct http1_msg **m, const char **b);
/* Held bytes to send before cli.in's: fills up to max iovecs, returns how
 * many; body_sent drops n sent bytes (returns how many of n were held). */
unsigned xadc_http_ds_body_iov(struct xadc_session *s, struct iovec *iov, unsigned max);
size_t xadc_http_ds_body_sent(struct xadc_session *s, size_t n);
static inline uint32_t xadc_http_ds_body_left(const struct xadc_session *s)
{
	return s->rc && s->rc->ds_live ? s->rc->ds_left : 0;
}
/*
 * HTTP_RESP_DATA (mirror of the above): the final response head was built
 * into cout at head_off and waits there. resp_hold starts holding when the
 * VS has such scripts and the response has a body (1), 0 when not,
 * -ENOMEM. resp_hold_step moves validated body bytes from in (the server
 * buffer) into held blocks; 1 once the body is complete or the bound
 * reached, then resp_data runs the scripts (0 go on: send cout, the held
 * bytes, then the rest; 1 answered). resp_iov / resp_sent as body_*.
 */
int xadc_http_ds_resp_hold(struct xadc_session *s, uint32_t head_off);
bool xadc_http_ds_resp_holding(const struct xadc_session *s);
int xadc_http_ds_resp_hold_step(struct xadc_session *s, struct xadc_buf *in);
int xadc_http_ds_resp_data(struct xadc_session *s);
unsigned xadc_http_ds_resp_iov(struct xadc_session *s, struct iovec *iov, unsigned max);
size_t xadc_http_ds_resp_sent(struct xadc_session *s, size_t n);
static inline uint32_t xadc_http_ds_resp_left(const struct xadc_session *s)
{
	return s->rc && s->rc->ds_live ? s->rc->ds_rleft : 0;
}
/* The log line's extra_json: hp (a policy fragment or NULL) plus the
 * DataScript fields, in buf when both exist. */
const char *xadc_http_ds_extra(struct xadc_session *s, const char *hp, char *buf, size_t cap);
/* After the log line: drop reqvar, clear the transaction. */
void xadc_http_ds_done(struct xadc_session *s);

#endif
