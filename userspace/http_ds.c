// SPDX-License-Identifier: GPL-2.0
/*
 * http_ds.c - the proxy side of DataScripts (issue 5): an accessor over the
 * session's request and response heads for the datascript/ runtime, and
 * the stage calls of http_proxy.c.
 *
 * During an event the scripts work on a copy of the head's field list
 * (name/value slices into the original head or into an arena). Edits
 * change that copy; when the event ends with edits, the head is written
 * out again and parsed, and the new parse replaces the old one for the
 * rest of the pipeline (the same hand-over the request policy uses).
 * Message framing fields (Content-Length, Transfer-Encoding) cannot be
 * edited, and the new head must frame the body exactly like the old one,
 * so a script can never make the proxy and a server disagree on a body.
 *
 * Terminal actions (response, redirect, close) are recorded and carried
 * out after the scripts have returned, never while the runtime still reads
 * the session. All scratch memory is per worker thread, allocated once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_ds.h"
#include "xadc/hwriter.h"

#define DSX_MAX_RESP_HDRS 32

struct dsx_hdr {
	const char *n, *v;
	uint32_t nl, vl;
};

struct dsx_side {
	bool loaded, dirty;
	unsigned n;
	struct dsx_hdr h[HTTP1_MAX_HEADERS];
};

struct dsx {
	struct xadc_session *s;
	enum xadc_ds_evt evt;
	/* request: the live head (HTTP_REQ) or the head sent to the server */
	const struct http1_msg *qm;
	const char *qb;
	bool q_live;
	const char *uri;		/* set_uri's value, in the arena */
	size_t ulen;
	uint32_t hlen;			/* HTTP_REQ: client head length */
	/* response (HTTP_RESP) */
	const struct http1_msg *pm;
	const char *pb;
	struct dsx_side side[2];
	char arena[XADC_BUF_SIZE];
	uint32_t used;
	/* recorded terminal action */
	enum { ACT_NONE = 0, ACT_RESPOND, ACT_CLOSE } act;
	bool reset;
	int rstatus;
	struct dsx_hdr rh[DSX_MAX_RESP_HDRS];
	unsigned nrh;
	const char *rbody;
	size_t rblen;
	/* avi.pool.select */
	struct xadc_pool *pool;
	struct xadc_server *srv;
	bool selected;
	/* HTTP_REQ_DATA: the held body, copied out (and de-chunked) on first use */
	bool body_ready;
	const char *body;
	size_t body_len;
	/* rewritten head and its parse; the parse of the request sent; the
	 * parse of the response head waiting in cout (HTTP_RESP_DATA) */
	char head[XADC_BUF_SIZE];
	struct http1_msg msg, rmsg, pmsg;
};

static __thread struct dsx *dsx_tls;
static __thread char *body_tls;		/* XADC_DS_MAX_BODY_BUF, for get_req_body */

static struct dsx *dsx_get(void)
{
	if (!dsx_tls)
		dsx_tls = malloc(sizeof(*dsx_tls));
	return dsx_tls;
}

static const char *arena_copy(struct dsx *d, const char *s, size_t n)
{
	char *p;

	if (n > sizeof(d->arena) - d->used)
		return NULL;
	p = d->arena + d->used;
	memcpy(p, s, n);
	d->used += n;
	return p;
}

static bool framing_field(const char *n, size_t nl)
{
	return (nl == 14 && !strncasecmp(n, "content-length", 14)) ||
	       (nl == 17 && !strncasecmp(n, "transfer-encoding", 17));
}

/* Field list of which, loaded from its head on first use. */
static struct dsx_side *side(struct dsx *d, int which)
{
	struct dsx_side *sd = &d->side[which];
	const struct http1_msg *m = which == XADC_DS_REQ ? d->qm : d->pm;
	const char *b = which == XADC_DS_REQ ? d->qb : d->pb;
	unsigned i;

	if (sd->loaded)
		return sd;
	sd->loaded = true;
	sd->n = 0;
	for (i = 0; m && i < m->nhdrs; i++) {
		sd->h[sd->n].n = b + m->hdrs[i].name.off;
		sd->h[sd->n].nl = m->hdrs[i].name.len;
		sd->h[sd->n].v = b + m->hdrs[i].value.off;
		sd->h[sd->n].vl = m->hdrs[i].value.len;
		sd->n++;
	}
	return sd;
}

static bool editable(struct dsx *d, int which)
{
	if (which == XADC_DS_REQ)
		return d->q_live;
	return (d->evt == XADC_DS_EVT_HTTP_RESP || d->evt == XADC_DS_EVT_HTTP_RESP_DATA) && d->pm;
}

/* ------------------------------------------------------------ accessor */

static void a_req_line(void *p, const char **m, size_t *ml, const char **u, size_t *ul,
		       const char **v, size_t *vl)
{
	struct dsx *d = p;
	struct xadc_session *s = d->s;

	if (d->qm) {
		*m = d->qb + d->qm->method.off;
		*ml = d->qm->method.len;
		*u = d->qb + d->qm->target.off;
		*ul = d->qm->target.len;
	} else {
		*m = s->lmethod;
		*ml = s->lmethod_len;
		*u = s->luri;
		*ul = s->luri_len;
	}
	if (d->uri) {
		*u = d->uri;
		*ul = d->ulen;
	}
	*v = s->client_minor ? "1.1" : "1.0";
	*vl = 3;
}

static bool a_hdr_at(void *p, int which, unsigned i, struct xadc_ds_hdr *h)
{
	struct dsx_side *sd = side(p, which);

	if (i >= sd->n)
		return false;
	h->name = sd->h[i].n;
	h->name_len = sd->h[i].nl;
	h->value = sd->h[i].v;
	h->value_len = sd->h[i].vl;
	return true;
}

static int a_hdr_add(void *p, int which, const char *n, size_t nl, const char *v, size_t vl)
{
	struct dsx *d = p;
	struct dsx_side *sd;
	struct dsx_hdr *h;

	if (!editable(d, which) || framing_field(n, nl))
		return -EPERM;
	sd = side(d, which);
	if (sd->n == HTTP1_MAX_HEADERS)
		return -ENOSPC;
	h = &sd->h[sd->n];
	h->n = arena_copy(d, n, nl);
	h->v = arena_copy(d, v, vl);
	if (!h->n || !h->v)
		return -ENOSPC;
	h->nl = nl;
	h->vl = vl;
	sd->n++;
	sd->dirty = true;
	return 0;
}

static int a_hdr_remove(void *p, int which, const char *n, size_t nl, const char *v, size_t vl)
{
	struct dsx *d = p;
	struct dsx_side *sd;
	unsigned i, o = 0;
	int cnt = 0;

	if (!editable(d, which) || framing_field(n, nl))
		return -EPERM;
	sd = side(d, which);
	for (i = 0; i < sd->n; i++) {
		struct dsx_hdr *h = &sd->h[i];

		if (h->nl == nl && !strncasecmp(h->n, n, nl) &&
		    (!v || (h->vl == vl && !memcmp(h->v, v, vl)))) {
			cnt++;
			continue;
		}
		sd->h[o++] = *h;
	}
	sd->n = o;
	sd->dirty |= cnt > 0;
	return cnt;
}

static int a_set_uri(void *p, const char *u, size_t n)
{
	struct dsx *d = p;

	if (!d->q_live)
		return -EPERM;
	d->uri = arena_copy(d, u, n);
	d->ulen = n;
	return d->uri ? 0 : -ENOSPC;
}

static int a_status(void *p)
{
	struct dsx *d = p;

	return d->pm ? d->pm->status : 0;
}

static int a_respond(void *p, int status, const struct xadc_ds_hdr *h, unsigned n,
		     const char *body, size_t blen)
{
	struct dsx *d = p;
	unsigned i;

	if (n > DSX_MAX_RESP_HDRS)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		d->rh[i].n = arena_copy(d, h[i].name, h[i].name_len);
		d->rh[i].v = arena_copy(d, h[i].value, h[i].value_len);
		d->rh[i].nl = h[i].name_len;
		d->rh[i].vl = h[i].value_len;
		if (!d->rh[i].n || !d->rh[i].v)
			return -ENOSPC;
	}
	d->rbody = blen ? arena_copy(d, body, blen) : NULL;
	if (blen && !d->rbody)
		return -ENOSPC;
	d->rblen = blen;
	d->nrh = n;
	d->rstatus = status;
	d->act = ACT_RESPOND;
	return 0;
}

static int a_close(void *p, bool reset)
{
	struct dsx *d = p;

	d->act = ACT_CLOSE;
	d->reset = reset;
	return 0;
}

static int a_select(void *p, struct xadc_pool *pool, const struct xadc_server *srv)
{
	struct dsx *d = p;

	if (d->evt != XADC_DS_EVT_HTTP_REQ && d->evt != XADC_DS_EVT_HTTP_REQ_DATA)
		return -EPERM;
	d->pool = pool;
	d->srv = (struct xadc_server *)srv;
	d->selected = true;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * De-chunk p[0..len) in place (the output never overtakes the input) and
 * return the data length. The framing was validated as it arrived, so this
 * only has to skip it; a body cut by the bound ends inside a chunk.
 */
static size_t dechunk(char *p, size_t len)
{
	size_t i = 0, o = 0, n;
	uint64_t sz;
	int v;

	while (i < len) {
		for (sz = 0; i < len && (v = hexval(p[i])) >= 0; i++)
			sz = sz < (1ull << 40) ? sz * 16 + v : sz;
		while (i < len && p[i] != '\n')	/* chunk-ext, CR */
			i++;
		i++;
		if (!sz || i >= len)
			break;
		n = sz < len - i ? sz : len - i;
		memmove(p + o, p + i, n);
		o += n;
		i += n + 2;	/* data, CRLF */
	}
	return o;
}

/* The held body (request blocks, or the response's at HTTP_RESP_DATA) as
 * one string (per-worker scratch, allocated once). */
static void held_body(struct dsx *d)
{
	struct xadc_reqcopy *rc = d->s->rc;
	bool resp = d->evt == XADC_DS_EVT_HTTP_RESP_DATA;
	const struct xadc_buf *blk;
	unsigned i, first, nblk;
	size_t n = 0;

	d->body_ready = true;
	d->body = NULL;
	d->body_len = 0;
	if (!body_tls)
		body_tls = malloc(XADC_DS_MAX_BODY_BUF);
	if (!body_tls || !rc)
		return;
	blk = resp ? rc->ds_rblk : rc->ds_blk;
	first = resp ? rc->ds_rfirst : rc->ds_first;
	nblk = resp ? rc->ds_rnblk : rc->ds_nblk;
	for (i = first; i < nblk; i++) {
		memcpy(body_tls + n, xbuf_ptr(&blk[i]), xbuf_len(&blk[i]));
		n += xbuf_len(&blk[i]);
	}
	if ((resp ? d->s->rsb.type : d->s->rqb.type) == H1_BODY_CHUNKED)
		n = dechunk(body_tls, n);
	d->body = body_tls;
	d->body_len = n;
}

/* get_resp_body: the held response body at HTTP_RESP_DATA, nothing elsewhere. */
static size_t a_resp_body(void *p, const char **data, size_t max)
{
	struct dsx *d = p;

	*data = NULL;
	if (d->evt != XADC_DS_EVT_HTTP_RESP_DATA)
		return 0;
	if (!d->body_ready)
		held_body(d);
	*data = d->body;
	return d->body_len < max ? d->body_len : max;
}

static size_t a_req_body(void *p, const char **data, size_t max)
{
	struct dsx *d = p;
	struct xadc_session *s = d->s;
	size_t n;

	*data = NULL;
	if (d->evt == XADC_DS_EVT_HTTP_REQ_DATA) {
		if (!d->body_ready)
			held_body(d);
		*data = d->body;
		return d->body_len < max ? d->body_len : max;
	}
	if (!d->q_live || xbuf_len(&s->cli.in) <= d->hlen)
		return 0;
	n = xbuf_len(&s->cli.in) - d->hlen;
	if (s->rqb.type == H1_BODY_LENGTH && n > s->rqb.left)
		n = s->rqb.left;
	if (s->rqb.type == H1_BODY_NONE)
		n = 0;
	*data = xbuf_ptr(&s->cli.in) + d->hlen;
	return n < max ? n : max;
}

static const struct xadc_ds_ops dsx_ops = {
	.req_line = a_req_line,
	.hdr_at = a_hdr_at,
	.hdr_add = a_hdr_add,
	.hdr_remove = a_hdr_remove,
	.set_uri = a_set_uri,
	.status = a_status,
	.respond = a_respond,
	.close_conn = a_close,
	.select = a_select,
	.req_body = a_req_body,
	.resp_body = a_resp_body,
};

/* ------------------------------------------------------------ running */

static struct dsx *dsx_begin(struct xadc_session *s, enum xadc_ds_evt evt)
{
	struct dsx *d = dsx_get();

	if (!d)
		return NULL;
	d->s = s;
	d->evt = evt;
	d->qm = d->pm = NULL;
	d->qb = d->pb = NULL;
	d->q_live = false;
	d->uri = NULL;
	d->ulen = 0;
	d->hlen = 0;
	d->side[0].loaded = d->side[1].loaded = false;
	d->side[0].dirty = d->side[1].dirty = false;
	d->used = 0;
	d->act = ACT_NONE;
	d->selected = false;
	d->body_ready = false;
	return d;
}

/* The request head as sent to the server (rout), for events after it
 * left the client buffer. */
static void dsx_sent_request(struct dsx *d)
{
	struct xadc_session *s = d->s;
	struct http1_limits lim = { XADC_BUF_SIZE - 1, HTTP1_MAX_HEADERS, XADC_BUF_SIZE };
	size_t scanned = 0;

	if (!s->rout.data || !s->rout.tail)
		return;
	if (http1_parse_request(s->rout.data, s->rout.tail, &lim, &scanned, &d->rmsg) > 0) {
		d->qm = &d->rmsg;
		d->qb = s->rout.data;
	}
}

/* The request's transaction, attached (with the request copies) on first
 * use; NULL only when memory is short. */
static struct xadc_ds_txn *ds_txn(struct xadc_session *s)
{
	struct xadc_reqcopy *rc = xadc_reqcopy_get(s);

	if (!rc)
		return NULL;
	if (!rc->ds_live) {
		xadc_ds_txn_init(&rc->ds, s->w->id);
		rc->ds_live = true;
		rc->ds_holding = false;
		rc->ds_nblk = rc->ds_first = 0;
		rc->ds_held = rc->ds_left = 0;
		rc->ds_rholding = false;
		rc->ds_rnblk = rc->ds_rfirst = 0;
		rc->ds_rheld = rc->ds_rleft = 0;
	}
	return &rc->ds;
}

static enum xadc_ds_verdict dsx_run(struct dsx *d, enum xadc_ds_evt evt)
{
	struct xadc_session *s = d->s;
	struct xadc_ds_txn *txn = ds_txn(s);
	struct xadc_ds_ctx ctx = {
		.ops = &dsx_ops,
		.priv = d,
		.worker = s->w->id,
		.gen = s->hold && s->hold->snap ? s->hold->snap->generation : 0,
		.now_ms = s->w->now,
		.txn = txn,
		.vs_name = s->vs->name,
		.client = xadc_sess_sa(&s->caddr),
		.vip = xadc_sess_sa(&s->vaddr),
		.request_id = s->request_id,
	};

	if (!txn)
		return XADC_DS_ERROR;
	return xadc_ds_run(s->vs->datascripts, evt, &ctx);
}

static const char *reason_of(int status)
{
	switch (status / 100) {
	case 1: return "Continue";
	case 2: return status == 204 ? "No Content" : "OK";
	case 3: return status == 301 ? "Moved Permanently" :
		       status == 302 ? "Found" :
		       status == 303 ? "See Other" :
		       status == 304 ? "Not Modified" :
		       status == 307 ? "Temporary Redirect" :
		       status == 308 ? "Permanent Redirect" : "Redirection";
	case 4: return status == 403 ? "Forbidden" :
		       status == 404 ? "Not Found" :
		       status == 429 ? "Too Many Requests" : "Client Error";
	default: return status == 503 ? "Service Unavailable" : "Server Error";
	}
}

static bool skip_resp_field(const struct dsx_hdr *h)
{
	return framing_field(h->n, h->nl) || (h->nl == 10 && !strncasecmp(h->n, "connection", 10));
}

/* A script's local response into cout (the recorded ACT_RESPOND). */
static void dsx_reply(struct dsx *d)
{
	struct xadc_session *s = d->s;
	struct xadc_worker *w = s->w;
	bool nobody = d->rstatus == 204 || d->rstatus == 304 || d->rstatus < 200 ||
		      s->method_id == H1_M_HEAD;
	bool ctype = false, ok;
	char line[160];
	unsigned i;
	int n;

	xadc_up_detach(s, false);
	if (s->acquired) {
		xadc_lb_release(s->server);
		s->acquired = false;
	}
	/* the request body, if any, is not read: the connection cannot be reused */
	if (s->rq == RQ_HEAD ? !s->rqb.done : (s->rq == RQ_BODY && !(s->rqb.done && !s->rqb.valid)))
		s->keepalive = false;
	if (!s->keepalive)
		s->must_close = true;
	if (xadc_buf_get(&w->bufs, &s->cout)) {
		xadc_session_close(s);
		return;
	}
	s->cout.head = s->cout.tail = 0;
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", d->rstatus, reason_of(d->rstatus));
	ok = xadc_buf_append(&s->cout, line, n);
	for (i = 0; ok && i < d->nrh; i++) {
		if (skip_resp_field(&d->rh[i]))
			continue;
		ctype |= d->rh[i].nl == 12 && !strncasecmp(d->rh[i].n, "content-type", 12);
		ok = xadc_buf_append(&s->cout, d->rh[i].n, d->rh[i].nl) &&
		     xadc_buf_append(&s->cout, ": ", 2) &&
		     xadc_buf_append(&s->cout, d->rh[i].v, d->rh[i].vl) &&
		     xadc_buf_append(&s->cout, "\r\n", 2);
	}
	if (!ctype && d->rblen)
		ok = ok && xadc_buf_append(&s->cout, "Content-Type: text/plain\r\n", 26);
	n = 0;
	if (d->rstatus != 204 && d->rstatus >= 200)
		n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", d->rblen);
	n += snprintf(line + n, sizeof(line) - n, "%s\r\n",
		      s->must_close ? "Connection: close\r\n" : "");
	ok = ok && xadc_buf_append(&s->cout, line, n);
	if (ok && !nobody && d->rblen)
		ok = xadc_buf_append(&s->cout, d->rbody, d->rblen);
	if (!ok) {
		s->term = "datascript_response_too_large";
		xadc_http_local_reply(s, 500, true);
		return;
	}
	s->status = d->rstatus;
	s->resp_started = true;
	s->rs = RS_DONE;
	s->rsb.valid = 0;
	xadc_counters_resp(&s->vs->rt->ctr[w->id], d->rstatus);
}

static void dsx_close(struct dsx *d)
{
	static const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct xadc_session *s = d->s;

	s->term = "datascript_close";
	if (d->reset)
		setsockopt(s->cli.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	xadc_session_close(s);
}

/* Carry out the verdict and the recorded action: 1 when answered. */
static int dsx_finish(struct dsx *d, enum xadc_ds_verdict v)
{
	struct xadc_session *s = d->s;

	if (v == XADC_DS_ERROR) {
		s->term = "datascript_error";
		if (s->resp_started)
			xadc_session_close(s);
		else
			xadc_http_local_reply(s, 500, false);
		return 1;
	}
	if (d->act == ACT_CLOSE) {
		dsx_close(d);
		return 1;
	}
	if (d->act == ACT_RESPOND) {
		if (s->resp_started) {
			xadc_session_close(s);
			return 1;
		}
		s->term = "datascript_response";
		dsx_reply(d);
		return 1;
	}
	return 0;
}

static void hw_fields(struct xadc_hw *h, const struct dsx_side *sd)
{
	unsigned i;

	for (i = 0; i < sd->n; i++) {
		xadc_hw_put(h, sd->h[i].n, sd->h[i].nl);
		xadc_hw_put(h, ": ", 2);
		xadc_hw_put(h, sd->h[i].v, sd->h[i].vl);
		xadc_hw_put(h, "\r\n", 2);
	}
	xadc_hw_put(h, "\r\n", 2);
}

static bool same_framing(const struct http1_msg *a, const struct http1_msg *b)
{
	return a->body == b->body &&
	       (a->body != H1_BODY_LENGTH || a->content_length == b->content_length);
}

/* Write the edited request head and parse it into d->msg. */
static bool rebuild_req(struct dsx *d, const struct http1_msg **m, const char **b)
{
	struct http1_limits lim = { XADC_BUF_SIZE - 1, HTTP1_MAX_HEADERS, XADC_BUF_SIZE };
	struct xadc_hw h = { .p = d->head, .cap = sizeof(d->head) };
	const char *m0, *u, *v;
	size_t ml, ul, vl, scanned = 0;

	a_req_line(d, &m0, &ml, &u, &ul, &v, &vl);
	xadc_hw_put(&h, m0, ml);
	xadc_hw_put(&h, " ", 1);
	xadc_hw_put(&h, u, ul);
	/* at HTTP_REQ_DATA the head is the one for the server: always 1.1 */
	xadc_hw_put(&h, d->s->client_minor || d->evt == XADC_DS_EVT_HTTP_REQ_DATA ? " HTTP/1.1\r\n"
									   : " HTTP/1.0\r\n",
	       11);
	hw_fields(&h, side(d, XADC_DS_REQ));
	if (h.over || http1_parse_request(d->head, h.len, &lim, &scanned, &d->msg) != (int)h.len ||
	    !same_framing(*m, &d->msg))
		return false;
	*m = &d->msg;
	*b = d->head;
	return true;
}

static bool rebuild_resp(struct dsx *d, const struct http1_msg **m, const char **b)
{
	struct http1_limits lim = { XADC_BUF_SIZE - 1, HTTP1_MAX_HEADERS, XADC_BUF_SIZE };
	struct xadc_hw h = { .p = d->head, .cap = sizeof(d->head) };
	char line[32];
	size_t scanned = 0;
	int n;

	n = snprintf(line, sizeof(line), "HTTP/1.1 %u ", (*m)->status);
	xadc_hw_put(&h, line, n);
	xadc_hw_put(&h, *b + (*m)->reason.off, (*m)->reason.len);
	xadc_hw_put(&h, "\r\n", 2);
	hw_fields(&h, side(d, XADC_DS_RESP));
	if (h.over ||
	    http1_parse_response(d->head, h.len, &lim, d->s->method_id, &scanned, &d->msg) !=
		    (int)h.len ||
	    !same_framing(*m, &d->msg))
		return false;
	*m = &d->msg;
	*b = d->head;
	return true;
}

/* ------------------------------------------------------------ stages */

static bool has(const struct xadc_session *s, enum xadc_ds_evt evt)
{
	return s->vs && xadc_ds_vs_has(s->vs->datascripts, evt);
}

int xadc_http_ds_accept(struct xadc_session *s)
{
	struct dsx *d;
	enum xadc_ds_verdict v;

	if (!has(s, XADC_DS_EVT_TCP_CLIENT_ACCEPT) || !(d = dsx_begin(s, XADC_DS_EVT_TCP_CLIENT_ACCEPT)))
		return 0;
	v = dsx_run(d, XADC_DS_EVT_TCP_CLIENT_ACCEPT);
	if (v == XADC_DS_ERROR || d->act != ACT_NONE) {
		/* no request to answer yet: a failed or closing script drops the connection */
		d->reset = d->act == ACT_CLOSE && d->reset;
		dsx_close(d);
		return 1;
	}
	return 0;
}

int xadc_http_ds_req(struct xadc_session *s, const struct http1_msg **m, const char **b,
		     uint32_t hlen)
{
	struct dsx *d;
	enum xadc_ds_verdict v;

	if (!has(s, XADC_DS_EVT_HTTP_REQ))
		return 0;
	d = dsx_begin(s, XADC_DS_EVT_HTTP_REQ);
	if (!d) {
		xadc_http_local_reply(s, 500, false);
		return 1;
	}
	d->qm = *m;
	d->qb = *b;
	d->q_live = true;
	d->hlen = hlen;
	v = dsx_run(d, XADC_DS_EVT_HTTP_REQ);
	if (dsx_finish(d, v))
		return 1;
	if ((d->side[XADC_DS_REQ].dirty || d->uri) && !rebuild_req(d, m, b)) {
		s->term = "datascript_bad_request_head";
		xadc_http_local_reply(s, 500, false);
		return 1;
	}
	if (d->selected) {
		s->pool = d->pool;
		s->hp_server = d->srv;
	}
	return 0;
}

int xadc_http_ds_lb_failed(struct xadc_session *s)
{
	struct dsx *d;

	if (!has(s, XADC_DS_EVT_HTTP_LB_FAILED) || !(d = dsx_begin(s, XADC_DS_EVT_HTTP_LB_FAILED)))
		return 0;
	dsx_sent_request(d);
	return dsx_finish(d, dsx_run(d, XADC_DS_EVT_HTTP_LB_FAILED));
}

int xadc_http_ds_resp_failed(struct xadc_session *s)
{
	struct dsx *d;

	if (!has(s, XADC_DS_EVT_HTTP_RESP_FAILED) ||
	    !(d = dsx_begin(s, XADC_DS_EVT_HTTP_RESP_FAILED)))
		return 0;
	dsx_sent_request(d);
	return dsx_finish(d, dsx_run(d, XADC_DS_EVT_HTTP_RESP_FAILED));
}

int xadc_http_ds_resp(struct xadc_session *s, const struct http1_msg **m, const char **b)
{
	struct dsx *d;
	enum xadc_ds_verdict v;

	if (!has(s, XADC_DS_EVT_HTTP_RESP))
		return 0;
	d = dsx_begin(s, XADC_DS_EVT_HTTP_RESP);
	if (!d) {
		xadc_http_local_reply(s, 500, true);
		return 1;
	}
	dsx_sent_request(d);
	d->pm = *m;
	d->pb = *b;
	v = dsx_run(d, XADC_DS_EVT_HTTP_RESP);
	if (dsx_finish(d, v))
		return 1;
	if (d->side[XADC_DS_RESP].dirty && !rebuild_resp(d, m, b)) {
		s->term = "datascript_bad_response_head";
		xadc_http_local_reply(s, 500, true);
		return 1;
	}
	return 0;
}

const char *xadc_http_ds_extra(struct xadc_session *s, const char *hp, char *buf, size_t cap)
{
	struct xadc_ds_txn t;
	size_t n = 0;

	if (!s->rc || !s->rc->ds_live)
		return hp;
	t = s->rc->ds;
	if (!t.log_len && !t.has_error && !t.significant)
		return hp;
	if (hp) {
		/* one "significant" key only */
		if (strstr(hp, "\"significant\":true"))
			t.significant = false;
		n = snprintf(buf, cap, "%s", hp);
		if (n >= cap)
			return hp;
	}
	xadc_ds_txn_json(&t, buf + n, cap - n);
	return buf;
}

/* Give the held response body's blocks back. */
static void rbody_free(struct xadc_session *s)
{
	struct xadc_reqcopy *rc = s->rc;
	unsigned i;

	for (i = 0; i < rc->ds_rnblk; i++)
		xadc_buf_put(&s->w->bufs, &rc->ds_rblk[i]);
	rc->ds_rnblk = rc->ds_rfirst = 0;
	rc->ds_rheld = rc->ds_rleft = 0;
	rc->ds_rholding = false;
}

/* Give the held body's blocks back. */
static void body_free(struct xadc_session *s)
{
	struct xadc_reqcopy *rc = s->rc;
	unsigned i;

	for (i = 0; i < rc->ds_nblk; i++)
		xadc_buf_put(&s->w->bufs, &rc->ds_blk[i]);
	rc->ds_nblk = rc->ds_first = 0;
	rc->ds_held = rc->ds_left = 0;
	rc->ds_holding = false;
	rbody_free(s);
}

int xadc_http_ds_hold(struct xadc_session *s)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!has(s, XADC_DS_EVT_HTTP_REQ_DATA) || s->rqb.done)
		return 0;
	if (!ds_txn(s))
		return -ENOMEM;
	s->rc->ds_holding = true;
	/* the client waits for 100 Continue before sending what we hold */
	if (s->expect100 && !s->sent100 && !xadc_buf_get(&s->w->bufs, &s->cout) &&
	    xadc_buf_append(&s->cout, cont, sizeof(cont) - 1))
		s->sent100 = true;
	return 1;
}

bool xadc_http_ds_holding(const struct xadc_session *s)
{
	return s->rc && s->rc->ds_live && s->rc->ds_holding;
}

int xadc_http_ds_hold_step(struct xadc_session *s)
{
	struct xadc_reqcopy *rc = s->rc;
	const struct xadc_ds_vs *dv = s->vs->datascripts;
	uint32_t bound = dv->req_body_buf, n;
	struct xadc_buf *b;

	if (!bound)
		bound = XADC_DS_DEF_BODY_BUF;
	while (s->rqb.valid && rc->ds_held < bound) {
		if (!rc->ds_nblk || !xbuf_room(&rc->ds_blk[rc->ds_nblk - 1])) {
			if (rc->ds_nblk == ARRAY_SIZE(rc->ds_blk))
				break;	/* bound <= XADC_DS_MAX_BODY_BUF: not reached */
			b = &rc->ds_blk[rc->ds_nblk];
			b->data = NULL;
			if (xadc_buf_get(&s->w->bufs, b))
				return -ENOMEM;
			rc->ds_nblk++;
		}
		b = &rc->ds_blk[rc->ds_nblk - 1];
		n = s->rqb.valid < bound - rc->ds_held ? s->rqb.valid : bound - rc->ds_held;
		if (n > xbuf_room(b))
			n = xbuf_room(b);
		memcpy(b->data + b->tail, xbuf_ptr(&s->cli.in), n);
		b->tail += n;
		xbuf_consume(&s->cli.in, n);
		s->rqb.valid -= n;
		rc->ds_held += n;
		rc->ds_left += n;
	}
	return (s->rqb.done && !s->rqb.valid) || rc->ds_held >= bound;
}

int xadc_http_ds_req_data(struct xadc_session *s, const struct http1_msg **m, const char **b)
{
	struct dsx *d = dsx_begin(s, XADC_DS_EVT_HTTP_REQ_DATA);
	enum xadc_ds_verdict v;

	s->rc->ds_holding = false;
	if (d)
		dsx_sent_request(d);
	if (!d || !d->qm) {
		s->term = "datascript_error";
		xadc_http_local_reply(s, 500, true);
		return 1;
	}
	d->q_live = true;	/* nothing was sent yet: the head can still change */
	v = dsx_run(d, XADC_DS_EVT_HTTP_REQ_DATA);
	if ((v == XADC_DS_ERROR || d->act != ACT_NONE) && s->rqb.done && !s->rqb.valid) {
		/* answered with the whole body read: the connection stays usable */
		body_free(s);
		s->rq = RQ_DONE;
	}
	if (dsx_finish(d, v))
		return 1;
	if (d->side[XADC_DS_REQ].dirty || d->uri) {
		if (!rebuild_req(d, &d->qm, &d->qb) || d->msg.head_len > XADC_BUF_SIZE) {
			s->term = "datascript_bad_request_head";
			xadc_http_local_reply(s, 500, true);
			return 1;
		}
		memcpy(s->rout.data, d->head, d->msg.head_len);
		s->rout.head = 0;
		s->rout.tail = d->msg.head_len;
		d->qb = s->rout.data;
	}
	if (d->selected) {
		s->pool = d->pool;
		s->hp_server = d->srv;
	}
	*m = d->qm;
	*b = d->qb;
	return 0;
}

unsigned xadc_http_ds_body_iov(struct xadc_session *s, struct iovec *iov, unsigned max)
{
	struct xadc_reqcopy *rc = s->rc;
	unsigned i, cnt = 0;

	if (!xadc_http_ds_body_left(s) || rc->ds_holding)
		return 0;
	for (i = rc->ds_first; i < rc->ds_nblk && cnt < max; i++) {
		if (!xbuf_len(&rc->ds_blk[i]))
			continue;
		iov[cnt].iov_base = xbuf_ptr(&rc->ds_blk[i]);
		iov[cnt++].iov_len = xbuf_len(&rc->ds_blk[i]);
	}
	return cnt;
}

size_t xadc_http_ds_body_sent(struct xadc_session *s, size_t n)
{
	struct xadc_reqcopy *rc = s->rc;
	size_t took = 0, k;
	struct xadc_buf *b;

	while (n && xadc_http_ds_body_left(s) && rc->ds_first < rc->ds_nblk) {
		b = &rc->ds_blk[rc->ds_first];
		k = n < xbuf_len(b) ? n : xbuf_len(b);
		b->head += k;
		n -= k;
		took += k;
		rc->ds_left -= k;
		if (b->head == b->tail) {
			xadc_buf_put(&s->w->bufs, b);
			rc->ds_first++;
		}
	}
	return took;
}

/* ------------------------------------------------ HTTP_RESP_DATA */

int xadc_http_ds_resp_hold(struct xadc_session *s, uint32_t head_off)
{
	if (!has(s, XADC_DS_EVT_HTTP_RESP_DATA) || s->rsb.done)
		return 0;
	if (!ds_txn(s))
		return -ENOMEM;
	s->rc->ds_rholding = true;
	s->rc->ds_rhead = head_off;
	/* nothing may be queued behind the waiting head (srv_step's 100) */
	s->sent100 = true;
	return 1;
}

bool xadc_http_ds_resp_holding(const struct xadc_session *s)
{
	return s->rc && s->rc->ds_live && s->rc->ds_rholding;
}

int xadc_http_ds_resp_hold_step(struct xadc_session *s, struct xadc_buf *in)
{
	struct xadc_reqcopy *rc = s->rc;
	const struct xadc_ds_vs *dv = s->vs->datascripts;
	uint32_t bound = dv->resp_body_buf, n;
	struct xadc_buf *b;

	if (!bound)
		bound = XADC_DS_DEF_BODY_BUF;
	while (s->rsb.valid && rc->ds_rheld < bound) {
		if (!rc->ds_rnblk || !xbuf_room(&rc->ds_rblk[rc->ds_rnblk - 1])) {
			if (rc->ds_rnblk == ARRAY_SIZE(rc->ds_rblk))
				break;	/* bound <= XADC_DS_MAX_BODY_BUF: not reached */
			b = &rc->ds_rblk[rc->ds_rnblk];
			b->data = NULL;
			if (xadc_buf_get(&s->w->bufs, b))
				return -ENOMEM;
			rc->ds_rnblk++;
		}
		b = &rc->ds_rblk[rc->ds_rnblk - 1];
		n = s->rsb.valid < bound - rc->ds_rheld ? s->rsb.valid : bound - rc->ds_rheld;
		if (n > xbuf_room(b))
			n = xbuf_room(b);
		memcpy(b->data + b->tail, xbuf_ptr(in), n);
		b->tail += n;
		xbuf_consume(in, n);
		s->rsb.valid -= n;
		rc->ds_rheld += n;
		rc->ds_rleft += n;
	}
	return (s->rsb.done && !s->rsb.valid) || rc->ds_rheld >= bound;
}

/* The response head waiting in cout at ds_rhead, parsed into d->pmsg. */
static bool dsx_waiting_response(struct dsx *d)
{
	struct xadc_session *s = d->s;
	struct http1_limits lim = { XADC_BUF_SIZE - 1, HTTP1_MAX_HEADERS, XADC_BUF_SIZE };
	uint32_t off = s->rc->ds_rhead;
	size_t scanned = 0;

	if (off < s->cout.head || off >= s->cout.tail ||
	    http1_parse_response(s->cout.data + off, s->cout.tail - off, &lim, s->method_id,
				 &scanned, &d->pmsg) <= 0)
		return false;
	d->pm = &d->pmsg;
	d->pb = s->cout.data + off;
	return true;
}

int xadc_http_ds_resp_data(struct xadc_session *s)
{
	struct dsx *d = dsx_begin(s, XADC_DS_EVT_HTTP_RESP_DATA);
	struct xadc_reqcopy *rc = s->rc;
	enum xadc_ds_verdict v;

	rc->ds_rholding = false;
	if (!d || !dsx_waiting_response(d)) {
		rbody_free(s);
		s->term = "datascript_error";
		xadc_http_local_reply(s, 500, true);
		return 1;
	}
	dsx_sent_request(d);
	v = dsx_run(d, XADC_DS_EVT_HTTP_RESP_DATA);
	if (v == XADC_DS_ERROR || d->act != ACT_NONE)
		rbody_free(s);	/* the server's response is dropped */
	if (dsx_finish(d, v))
		return 1;
	if (d->side[XADC_DS_RESP].dirty) {
		const struct http1_msg *m = d->pm;
		const char *b = d->pb;

		if (!rebuild_resp(d, &m, &b) || m->head_len > XADC_BUF_SIZE - rc->ds_rhead) {
			rbody_free(s);
			s->term = "datascript_bad_response_head";
			xadc_http_local_reply(s, 500, true);
			return 1;
		}
		memcpy(s->cout.data + rc->ds_rhead, d->head, m->head_len);
		s->cout.tail = rc->ds_rhead + m->head_len;
	}
	return 0;
}

unsigned xadc_http_ds_resp_iov(struct xadc_session *s, struct iovec *iov, unsigned max)
{
	struct xadc_reqcopy *rc = s->rc;
	unsigned i, cnt = 0;

	if (!xadc_http_ds_resp_left(s) || rc->ds_rholding)
		return 0;
	for (i = rc->ds_rfirst; i < rc->ds_rnblk && cnt < max; i++) {
		if (!xbuf_len(&rc->ds_rblk[i]))
			continue;
		iov[cnt].iov_base = xbuf_ptr(&rc->ds_rblk[i]);
		iov[cnt++].iov_len = xbuf_len(&rc->ds_rblk[i]);
	}
	return cnt;
}

size_t xadc_http_ds_resp_sent(struct xadc_session *s, size_t n)
{
	struct xadc_reqcopy *rc = s->rc;
	size_t took = 0, k;
	struct xadc_buf *b;

	while (n && xadc_http_ds_resp_left(s) && rc->ds_rfirst < rc->ds_rnblk) {
		b = &rc->ds_rblk[rc->ds_rfirst];
		k = n < xbuf_len(b) ? n : xbuf_len(b);
		b->head += k;
		n -= k;
		took += k;
		rc->ds_rleft -= k;
		if (b->head == b->tail) {
			xadc_buf_put(&s->w->bufs, b);
			rc->ds_rfirst++;
		}
	}
	return took;
}

void xadc_http_ds_done(struct xadc_session *s)
{
	if (s->rc && s->rc->ds_live) {
		body_free(s);
		xadc_ds_txn_end(&s->rc->ds);
		s->rc->ds_live = false;
	}
}
