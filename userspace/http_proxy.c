// SPDX-License-Identifier: GPL-2.0
/*
 * http_proxy.c - the HTTP/1.1 reverse proxy state machine.
 *
 * A session is pumped by xadc_http_run() until nothing moves: read the
 * client, parse or validate the request, connect / write / read the server,
 * parse or validate the response, write the client, finish the request.
 * Bodies are streamed straight out of the input buffers (never held whole):
 * Content-Length and chunked bodies are forwarded byte for byte, chunked
 * framing checked by http1_chunked_feed; a full buffer simply stops reading
 * that side (back-pressure). Pipelined requests wait in the client buffer
 * until the current response is complete.
 *
 * Expect: 100-continue is answered by the proxy itself, once the server
 * connection is established, and stripped toward the server: the client
 * starts sending as soon as a server can take the body, and the server
 * never has to produce an interim response.
 *
 * Request stages, in order (see proxy.h): READ_HEAD -> stage_http_security
 * -> stage_http_request -> stage_req_scripts -> LB_SELECT (stage_lb_failed
 * on failure) -> CONNECT -> SEND_HEAD/BODY -> READ_RESP_HEAD ->
 * stage_http_response -> stage_resp_scripts -> SEND_RESP -> LOG. The policy
 * and script stages are hooks: they may answer locally through
 * xadc_http_local_reply() and return STAGE_ANSWERED.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "proxy_int.h"
#include "xadc/hwriter.h"
#include "http_ds.h"	/* issue 5 */
#include "../policy/http_policy.h"	/* issue 4 */

#define DEF_HEADER_TIMEOUT_MS	 10000
#define DEF_KEEPALIVE_TIMEOUT_MS 30000
#define DEF_BODY_TIMEOUT_MS	 30000

enum stage_verdict { STAGE_CONTINUE = 0, STAGE_ANSWERED };

/* Responses xadcd generates itself; one table so policies can reuse it. */
struct local_resp {
	int status;
	const char *reason;
	const char *body;
};

static const struct local_resp local_resps[] = {
	{ 400, "Bad Request", "400 Bad Request: the request is malformed.\n" },
	{ 403, "Forbidden", "403 Forbidden.\n" },
	{ 404, "Not Found", "404 Not Found.\n" },
	{ 408, "Request Timeout", "408 Request Timeout: the request did not arrive in time.\n" },
	{ 413, "Content Too Large", "413 Content Too Large.\n" },
	{ 414, "URI Too Long", "414 URI Too Long.\n" },
	{ 429, "Too Many Requests", "429 Too Many Requests.\n" },
	{ 431, "Request Header Fields Too Large",
	  "431 Request Header Fields Too Large.\n" },
	{ 500, "Internal Server Error", "500 Internal Server Error.\n" },
	{ 501, "Not Implemented", "501 Not Implemented: unsupported transfer coding.\n" },
	{ 502, "Bad Gateway", "502 Bad Gateway: the server failed or sent an invalid response.\n" },
	{ 503, "Service Unavailable", "503 Service Unavailable: no server is available.\n" },
	{ 504, "Gateway Timeout", "504 Gateway Timeout: the server did not answer in time.\n" },
	{ 505, "HTTP Version Not Supported", "505 HTTP Version Not Supported.\n" },
};

static const struct local_resp *local_resp_find(int status)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(local_resps); i++)
		if (local_resps[i].status == status)
			return &local_resps[i];
	return &local_resps[8]; /* 500 */
}

static bool sess_dead(const struct xadc_session *s)
{
	return s->cli.flags & XC_F_DEAD;
}

static uint32_t ms_or(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static void server_release(struct xadc_session *s)
{
	if (s->acquired) {
		xadc_lb_release(s->server);
		s->acquired = false;
	}
}

/* ------------------------------------------------------ head writer */

static void hw_slice(struct xadc_hw *h, const char *base, struct http1_slice sl)
{
	xadc_hw_put(h, base + sl.off, sl.len);
}

static void hw_hdr(struct xadc_hw *h, const char *base, const struct http1_header *hd)
{
	hw_slice(h, base, hd->name);
	xadc_hw_put(h, ": ", 2);
	hw_slice(h, base, hd->value);
	xadc_hw_put(h, "\r\n", 2);
}

/* ------------------------------------------------------ local replies */

/* Answer the current request with a generated response. close forces
 * Connection: close; so does a request whose body was not consumed. */
void xadc_http_local_reply(struct xadc_session *s, int status, bool close)
{
	const struct local_resp *lr = local_resp_find(status);
	struct xadc_worker *w = s->w;
	size_t blen = strlen(lr->body);
	char head[256];
	int n;

	xadc_up_detach(s, false);
	server_release(s);
	if (s->rq == RQ_HEAD || (s->rq == RQ_BODY && !(s->rqb.done && !s->rqb.valid)))
		close = true;
	if (close || !s->keepalive) {
		s->keepalive = false;
		s->must_close = true;
	}
	if (s->rq == RQ_HEAD)
		s->rq = RQ_DONE;	/* nothing more will be parsed */
	if (xadc_buf_get(&w->bufs, &s->cout)) {
		xadc_session_close(s);
		return;
	}
	s->cout.head = s->cout.tail = 0;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Cache-Control: no-cache\r\n%s\r\n",
		     lr->status, lr->reason, blen,
		     s->must_close ? "Connection: close\r\n" : "");
	xadc_buf_append(&s->cout, head, n);
	if (s->method_id != H1_M_HEAD)
		xadc_buf_append(&s->cout, lr->body, blen);
	s->status = lr->status;
	s->resp_started = true;
	s->rs = RS_DONE;
	s->rsb.valid = 0;
	if (s->vs)
		xadc_counters_resp(&s->vs->rt->ctr[w->id], lr->status);
}

/* ------------------------------------------------------ pipeline hooks */

/* ---- issue 4: HTTP policies (policy/http_policy.h), begin ---- */

static const char *hp_reason(int status)
{
	static const struct {
		int st;
		const char *r;
	} tab[] = {
		{200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
		{301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
		{304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
		{401, "Unauthorized"}, {405, "Method Not Allowed"}, {409, "Conflict"},
		{410, "Gone"}, {418, "I'm a teapot"}, {451, "Unavailable For Legal Reasons"},
	};
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(tab); i++)
		if (tab[i].st == status)
			return tab[i].r;
	for (i = 0; i < ARRAY_SIZE(local_resps); i++)
		if (local_resps[i].status == status)
			return local_resps[i].reason;
	return "Status";
}

/* A policy's local response: any status, optional body/type/Location. */
static void hp_reply(struct xadc_session *s, const struct xadc_hp_result *res)
{
	struct xadc_worker *w = s->w;
	const char *body = res->body, *ctype = res->content_type;
	size_t blen = res->body_len;
	bool nobody = res->status == 204 || res->status == 304;
	char head[512];
	unsigned i;
	int n;

	if (!body && !res->location) {
		for (i = 0; i < ARRAY_SIZE(local_resps); i++)
			if (local_resps[i].status == res->status)
				body = local_resps[i].body;
		blen = body ? strlen(body) : 0;
	}
	if (nobody || !body)
		blen = 0;
	xadc_up_detach(s, false);
	server_release(s);
	if (s->rq == RQ_HEAD || (s->rq == RQ_BODY && !(s->rqb.done && !s->rqb.valid)))
		s->keepalive = false;
	if (!s->keepalive)
		s->must_close = true;
	if (xadc_buf_get(&w->bufs, &s->cout)) {
		xadc_session_close(s);
		return;
	}
	s->cout.head = s->cout.tail = 0;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", res->status,
		     hp_reason(res->status), ctype ? ctype : "text/plain");
	if (res->status != 204)
		n += snprintf(head + n, sizeof(head) - n, "Content-Length: %zu\r\n", blen);
	n += snprintf(head + n, sizeof(head) - n, "Cache-Control: no-cache\r\n%s",
		      s->must_close ? "Connection: close\r\n" : "");
	if (!xadc_buf_append(&s->cout, head, n) ||
	    (res->location && (!xadc_buf_append(&s->cout, "Location: ", 10) ||
			       !xadc_buf_append(&s->cout, res->location, res->location_len) ||
			       !xadc_buf_append(&s->cout, "\r\n", 2))) ||
	    !xadc_buf_append(&s->cout, "\r\n", 2) ||
	    (s->method_id != H1_M_HEAD && blen && !xadc_buf_append(&s->cout, body, blen))) {
		xadc_session_close(s);
		return;
	}
	s->status = res->status;
	s->resp_started = true;
	s->rs = RS_DONE;
	s->rsb.valid = 0;
	if (s->vs)
		xadc_counters_resp(&s->vs->rt->ctr[w->id], res->status);
}

static void hp_req_view(struct xadc_session *s, const struct http1_msg *m, const char *b,
			struct xadc_hp_req *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->buf = b;
	rq->m = m;
	rq->client = xadc_sess_sa(&s->caddr);
	rq->vip = xadc_sess_sa(&s->vaddr);
	rq->request_id = s->request_id;
	rq->worker = s->w->id;
	if (!m) {
		rq->target = s->luri;
		rq->target_len = s->luri_len;
		rq->host = s->lhost;
		rq->host_len = s->lhost_len;
		rq->method = s->lmethod;
		rq->method_len = s->lmethod_len;
		rq->version_minor = s->client_minor;
	}
}

/* Remember the stage's rule for the log; keep the request (or response)
 * of a rule with log: true in a pooled buffer until the log line. */
static void hp_note(struct xadc_session *s, int type, const struct xadc_hp_result *res,
		    const struct xadc_hp_req *rq, const struct xadc_hp_rsp *rp)
{
	size_t n;

	if (res->rule_name)
		s->hp_rule[type] = res->rule_name;
	if (!res->log || s->hp_log.data || xadc_buf_get(&s->w->bufs, &s->hp_log))
		return;
	/* a log line is at most 2 KB: leave room for its other fields */
	n = rp ? xadc_hp_log_fragment_rsp(rp, res->all_headers, s->hp_log.data, 1200)
	       : xadc_hp_log_fragment(rq, res->all_headers, s->hp_log.data, 1200);
	if (!n)
		xadc_buf_put(&s->w->bufs, &s->hp_log);
}

/* Carry out a stage's verdict. */
static int hp_apply(struct xadc_session *s, const struct xadc_hp_result *res)
{
	static const struct linger rst = {.l_onoff = 1, .l_linger = 0};

	if (res->termination)
		s->term = res->termination;
	switch (res->verdict) {
	case XADC_HP_CONTINUE:
		return STAGE_CONTINUE;
	case XADC_HP_RESET:
		setsockopt(s->cli.fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		/* fall through */
	case XADC_HP_CLOSE:
		xadc_session_close(s);
		return STAGE_ANSWERED;
	case XADC_HP_RESPOND:
		hp_reply(s, res);
		return STAGE_ANSWERED;
	}
	return STAGE_CONTINUE;
}

/* HTTP security policy (allow, close, local response, rate limit). */
static int stage_http_security(struct xadc_session *s, const struct http1_msg *m,
			       const char *base)
{
	struct xadc_hp_result res;
	struct xadc_hp_req rq;

	if (!xadc_hp_active(s->vs))
		return STAGE_CONTINUE;
	hp_req_view(s, m, base, &rq);
	xadc_hp_security(s->vs, &rq, &res);
	hp_note(s, 0, &res, &rq, NULL);
	return hp_apply(s, &res);
}

static void limits_of(const struct xadc_vs *vs, struct http1_limits *lim);

/* HTTP request policy (header actions, redirect, rewrite, switching): an
 * edited head replaces *m / *base for the rest of the pipeline. */
static int stage_http_request(struct xadc_session *s, const struct http1_msg **m,
			      const char **base)
{
	struct xadc_hp_result res;
	struct http1_limits lim;
	struct xadc_hp_req rq;

	if (!xadc_hp_active(s->vs))
		return STAGE_CONTINUE;
	hp_req_view(s, *m, *base, &rq);
	limits_of(s->vs, &lim);
	xadc_hp_request(s->vs, &rq, &lim, &res);
	hp_note(s, 1, &res, &rq, NULL);
	if (res.verdict != XADC_HP_CONTINUE)
		return hp_apply(s, &res);
	if (res.pool)
		s->pool = res.pool;
	s->hp_server = res.server;
	if (res.head) {
		*m = res.msg;
		*base = res.head;
	}
	return STAGE_CONTINUE;
}

/* switching_action with a fixed server: that server, or 503. */
static int hp_connect_server(struct xadc_session *s)
{
	struct xadc_server *srv = s->hp_server;
	int ret;

	if (!srv->enabled || !atomic_load_explicit(&srv->rt->up, memory_order_relaxed))
		return -EHOSTUNREACH;
	s->server = srv;
	xadc_lb_acquire(srv);
	s->acquired = true;
	ret = xadc_up_attach(s, false);
	if (!ret) {
		srv->rt->ctr[s->w->id].requests++;
		return 0;
	}
	srv->rt->ctr[s->w->id].conn_errors++;
	server_release(s);
	return ret;
}

/* ---- issue 4: HTTP policies, end (response stage below) ---- */

/* HTTP_REQ DataScripts (issue 5, http_ds.c): an edited head replaces
 * *m / *base; hlen is the client's head length. */
static int stage_req_scripts(struct xadc_session *s, const struct http1_msg **m,
			     const char **base, uint32_t hlen)
{
	return xadc_http_ds_req(s, m, base, hlen);
}

/* LB_FAILED DataScripts: may answer instead of the default 503. */
static int stage_lb_failed(struct xadc_session *s)
{
	return xadc_http_ds_lb_failed(s);
}

/* HTTP response policy (issue 4): an edited head replaces *m / *base. */
static int stage_http_response(struct xadc_session *s, const struct http1_msg **m,
			       const char **base)
{
	struct xadc_hp_rsp rp = {.buf = *base, .m = *m};
	struct xadc_hp_result res;
	struct xadc_hp_req rq;

	const struct http1_msg *qm = NULL;
	struct http1_limits lim;
	size_t scanned = 0;
	const char *qb = NULL;

	if (!xadc_hp_active(s->vs))
		return STAGE_CONTINUE;
	/* The kept request head (only when a response rule needs its headers):
	 * parsed again here, it passed the same parser once already. */
	if (s->rc && s->rc->rqhead.data) {
		limits_of(s->vs, &lim);
		qb = s->rc->rqhead.data;
		if (http1_parse_request(qb, xbuf_len(&s->rc->rqhead), &lim, &scanned,
					&s->w->rqmsg) > 0)
			qm = &s->w->rqmsg;
	}
	hp_req_view(s, qm, qm ? qb : NULL, &rq);
	xadc_hp_response(s->vs, &rq, &rp, s->method_id, &res);
	hp_note(s, 2, &res, &rq, &rp);
	if (res.head) {
		*m = res.msg;
		*base = res.head;
	}
	return STAGE_CONTINUE;
}

/* HTTP_RESP DataScripts (issue 5): an edited head replaces *m / *base. */
static int stage_resp_scripts(struct xadc_session *s, const struct http1_msg **m,
			      const char **base)
{
	return xadc_http_ds_resp(s, m, base);
}

/* ------------------------------------------------------ request head */

static void copy_field(char *dst, size_t cap, uint16_t *dlen, const char *src, size_t len)
{
	static const char mark[] = "...";

	if (len >= cap) {
		/* keep the start, say it was cut */
		memcpy(dst, src, cap - sizeof(mark));
		memcpy(dst + cap - sizeof(mark), mark, sizeof(mark) - 1);
		*dlen = cap - 1;
		return;
	}
	memcpy(dst, src, len);
	*dlen = len;
}

/* Copy the fields the log (and later stages) need out of the head, into
 * a block attached for this request only. */
static void copy_log_fields(struct xadc_session *s, const struct http1_msg *m, const char *b)
{
	struct xadc_reqcopy *rc = xadc_reqcopy_get(s);
	int i, from = 0;

	s->lmethod_len = s->luri_len = s->lhost_len = s->lua_len = 0;
	if (!rc)
		return;	/* out of memory: the log shows empty fields */
	copy_field(rc->method, sizeof(rc->method), &s->lmethod_len, b + m->method.off,
		   m->method.len);
	copy_field(rc->uri, sizeof(rc->uri), &s->luri_len, b + m->target.off, m->target.len);
	s->lmethod = rc->method;
	s->luri = rc->uri;
	if (m->hdr_idx[H1_HDR_HOST] >= 0) {
		const struct http1_header *h = &m->hdrs[m->hdr_idx[H1_HDR_HOST]];

		copy_field(rc->host, sizeof(rc->host), &s->lhost_len, b + h->value.off,
			   h->value.len);
		s->lhost = rc->host;
	}
	i = http1_find_header(b, m, "user-agent", 10, &from);
	if (i >= 0) {
		copy_field(rc->ua, sizeof(rc->ua), &s->lua_len, b + m->hdrs[i].value.off,
			   m->hdrs[i].value.len);
		s->lua = rc->ua;
	}
	/* A head always fits a block (max_header_size is clamped to it). */
	if (xadc_hp_rsp_needs_req_head(s->vs) && m->head_len <= XADC_BUF_SIZE &&
	    !xadc_buf_get(&s->w->bufs, &rc->rqhead)) {
		memcpy(rc->rqhead.data, b, m->head_len);
		rc->rqhead.head = 0;
		rc->rqhead.tail = m->head_len;
	}
}

/* Re-serialise the request head for the server into s->rout: origin-form,
 * HTTP/1.1, hop-by-hop fields dropped, X-Forwarded-For / -Proto set. */
static bool build_req_head(struct xadc_session *s, const struct http1_msg *m, const char *b)
{
	const struct xadc_http_profile *hp = &s->vs->http;
	const char *xff = hp->xff_name[0] ? hp->xff_name : "X-Forwarded-For";
	struct xadc_hw h = { .p = s->rout.data, .cap = XADC_BUF_SIZE };
	bool first_xff = true;
	char ip[64];
	unsigned i;

	hw_slice(&h, b, m->method);
	xadc_hw_put(&h, " ", 1);
	if (m->target.len && (b[m->target.off] == '/' || b[m->target.off] == '*')) {
		hw_slice(&h, b, m->target);
	} else {
		/* absolute-form: send origin-form */
		if (m->path.len)
			hw_slice(&h, b, m->path);
		else
			xadc_hw_put(&h, "/", 1);
		if (m->query.len) {
			xadc_hw_put(&h, "?", 1);
			hw_slice(&h, b, m->query);
		}
	}
	xadc_hw_str(&h, " HTTP/1.1\r\n");
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *hd = &m->hdrs[i];

		if (hd->hop_by_hop)
			continue;
		if (hd->id == H1_HDR_EXPECT && s->expect100)
			continue;
		if (hd->id == H1_HDR_X_FORWARDED_PROTO && hp->xfp_enabled)
			continue;
		if (hp->xff_enabled && http1_slice_eq(b, hd->name, xff))
			continue;
		hw_hdr(&h, b, hd);
	}
	if (!(m->flags & H1_F_HAS_HOST)) {
		xadc_hw_str(&h, "Host: ");
		xadc_hw_str(&h, xadc_sockaddr_str(xadc_sess_sa(&s->vaddr), ip, sizeof(ip)));
		xadc_hw_put(&h, "\r\n", 2);
	}
	if (m->body == H1_BODY_CHUNKED)
		xadc_hw_str(&h, "Transfer-Encoding: chunked\r\n");
	if (s->upgrade && m->hdr_idx[H1_HDR_UPGRADE] >= 0) {
		xadc_hw_str(&h, "Connection: upgrade\r\nUpgrade: ");
		hw_slice(&h, b, m->hdrs[m->hdr_idx[H1_HDR_UPGRADE]].value);
		xadc_hw_put(&h, "\r\n", 2);
	}
	if (hp->xff_enabled) {
		/* one field: every existing value, then the client's address */
		xadc_hw_str(&h, xff);
		xadc_hw_put(&h, ": ", 2);
		for (i = 0; i < m->nhdrs; i++) {
			const struct http1_header *hd = &m->hdrs[i];

			if (!http1_slice_eq(b, hd->name, xff) || !hd->value.len)
				continue;
			if (!first_xff)
				xadc_hw_put(&h, ", ", 2);
			hw_slice(&h, b, hd->value);
			first_xff = false;
		}
		if (!first_xff)
			xadc_hw_put(&h, ", ", 2);
		xadc_hw_str(&h, xadc_addr_str(xadc_sess_sa(&s->caddr), ip));
		xadc_hw_put(&h, "\r\n", 2);
	}
	if (hp->xfp_enabled)
		xadc_hw_str(&h, "X-Forwarded-Proto: http\r\n");
	xadc_hw_put(&h, "\r\n", 2);
	if (h.over)
		return false;
	s->rout.head = 0;
	s->rout.tail = h.len;
	return true;
}

static void body_init(struct xadc_body *bd, uint8_t type, uint64_t len)
{
	memset(bd, 0, sizeof(*bd));
	bd->type = type;
	bd->left = len;
	bd->done = type == H1_BODY_NONE || (type == H1_BODY_LENGTH && !len);
	if (type == H1_BODY_CHUNKED)
		http1_chunked_init(&bd->ch);
}

/* Validate more body bytes at the head of b. Returns the number of newly
 * validated bytes, or -1 on a chunked framing error. */
static long body_validate(struct xadc_body *bd, const struct xadc_buf *b, bool eof)
{
	uint32_t avail = xbuf_len(b) - bd->valid;
	long n = 0;
	bool done = false;

	if (bd->done || !avail) {
		if (bd->type == H1_BODY_EOF && eof && !avail)
			bd->done = true;
		return 0;
	}
	switch (bd->type) {
	case H1_BODY_LENGTH:
		n = avail < bd->left ? avail : bd->left;
		bd->left -= n;
		bd->done = !bd->left;
		break;
	case H1_BODY_CHUNKED:
		n = http1_chunked_feed(&bd->ch, xbuf_ptr(b) + bd->valid, avail, &done);
		if (n < 0)
			return -1;
		bd->done = done;
		break;
	case H1_BODY_EOF:
		n = avail;
		break;
	}
	bd->valid += n;
	return n;
}

static void limits_of(const struct xadc_vs *vs, struct http1_limits *lim)
{
	uint32_t mh = ms_or(vs->http.max_header_size, 16384);

	lim->max_head = mh < XADC_BUF_SIZE - 1 ? mh : XADC_BUF_SIZE - 1;
	lim->max_headers = ms_or(vs->http.max_header_count, 100);
	if (lim->max_headers > HTTP1_MAX_HEADERS)
		lim->max_headers = HTTP1_MAX_HEADERS;
	lim->max_uri = ms_or(vs->http.max_uri, 8192);
}

static void fill_lb_ctx(struct xadc_session *s, const struct http1_msg *m, const char *b)
{
	struct xadc_pool *p = s->pool;
	struct http1_slice v;
	int i, from = 0;

	memset(&s->lb, 0, sizeof(s->lb));
	s->lb.worker = s->w->id;
	s->lb.client = xadc_sess_sa(&s->caddr);
	s->lb.uri = b + m->target.off;
	s->lb.uri_len = m->target.len;
	if (p->hash_hdr[0]) {
		i = http1_find_header(b, m, p->hash_hdr, strlen(p->hash_hdr), &from);
		if (i >= 0) {
			s->lb.hash_hdr = b + m->hdrs[i].value.off;
			s->lb.hash_hdr_len = m->hdrs[i].value.len;
		}
	}
	if (p->persist == XADC_PERSIST_HTTP_COOKIE && p->persist_cookie[0] &&
	    http1_find_cookie(b, m, p->persist_cookie, strlen(p->persist_cookie), &v)) {
		s->lb.cookie = b + v.off;
		s->lb.cookie_len = v.len;
	}
}

/* After the first selection the head bytes may be overwritten by body
 * bytes: retries hash on the logged copy of the URI, without header or
 * cookie (they only pick a server other than those that failed anyway). */
static void lb_ctx_detach(struct xadc_session *s)
{
	s->lb.uri = s->luri;
	s->lb.uri_len = s->luri_len;
	s->lb.hash_hdr = NULL;
	s->lb.hash_hdr_len = 0;
	s->lb.cookie = NULL;
	s->lb.cookie_len = 0;
}

/*
 * Chunked framing that arrived together with the head is checked before a
 * server is chosen, so a request whose body is visibly malformed (the usual
 * shape of a smuggling probe) is refused without ever reaching a server.
 * Works on a copy of the scanner state: the body is validated again, for
 * real, as it is forwarded.
 */
static bool body_prefix_bad(const struct xadc_session *s, uint32_t hlen)
{
	uint32_t avail = xbuf_len(&s->cli.in) - hlen;
	struct http1_chunked ch;
	bool done;

	if (s->rqb.type != H1_BODY_CHUNKED || !avail)
		return false;
	ch = s->rqb.ch;
	return http1_chunked_feed(&ch, xbuf_ptr(&s->cli.in) + hlen, avail, &done) < 0;
}

/* A complete request head of hlen bytes is at the client buffer's head. */
static void head_done(struct xadc_session *s, const struct http1_msg *m, uint32_t hlen)
{
	struct xadc_worker *w = s->w;
	const struct xadc_http_profile *hp = &s->vs->http;
	const char *b = xbuf_ptr(&s->cli.in);
	int ret;

	copy_log_fields(s, m, b);
	s->t_head = xadc_now_ns();
	s->bytes_in = hlen;
	s->method_id = m->method_id;
	s->client_minor = m->version_minor;
	s->nreq++;
	s->keepalive = (m->flags & H1_F_KEEP_ALIVE) && !w->draining &&
		       !(hp->max_keepalive_requests && s->nreq >= hp->max_keepalive_requests);
	s->request_id = ((uint64_t)(w->id + 1) << 48) | ++w->req_seq;
	s->vs->rt->ctr[w->id].requests++;
	body_init(&s->rqb, m->body, m->content_length);
	s->expect100 = (m->flags & H1_F_EXPECT_100) && !s->rqb.done && m->version_minor == 1;
	s->upgrade = m->flags & H1_F_UPGRADE;
	s->scanned = 0;

	if (stage_http_security(s, m, b) || stage_http_request(s, &m, &b) ||
	    stage_req_scripts(s, &m, &b, hlen))
		goto consume;

	if (body_prefix_bad(s, hlen)) {
		s->term = "bad_request_body";
		s->rq = RQ_DONE;
		xbuf_consume(&s->cli.in, hlen);
		xadc_http_local_reply(s, 400, true);
		return;
	}
	if (!s->pool)	/* issue 4: a switching_action may have chosen one */
		s->pool = s->vs->pool;
	if (xadc_buf_get(&w->bufs, &s->rout) || !build_req_head(s, m, b)) {
		s->rq = s->rqb.done ? RQ_DONE : RQ_BODY;
		xbuf_consume(&s->cli.in, hlen);
		xadc_http_local_reply(s, 431, true);
		return;
	}
	ret = xadc_http_ds_hold(s);	/* issue 5: HTTP_REQ_DATA holds the body first */
	if (ret) {
		s->rq = RQ_BODY;
		xbuf_consume(&s->cli.in, hlen);
		if (ret < 0)
			xadc_http_local_reply(s, 500, true);
		return;
	}
	if (!s->pool) {
		ret = -EHOSTUNREACH;
	} else {
		fill_lb_ctx(s, m, b);
		ret = s->hp_server ? hp_connect_server(s) : xadc_proxy_select_connect(s);
		lb_ctx_detach(s);
	}
	s->rq = s->rqb.done ? RQ_DONE : RQ_BODY;
	xbuf_consume(&s->cli.in, hlen);
	if (ret) {
		s->term = ret == -EHOSTUNREACH ? "no_server" : "connect_failed";
		if (ret != -EHOSTUNREACH || stage_lb_failed(s) == STAGE_CONTINUE)
			xadc_http_local_reply(s, ret == -EHOSTUNREACH ? 503 : 502, false);
		return;
	}
	s->rs = RS_HEAD;
	return;
consume:
	if (sess_dead(s))	/* closed by a policy */
		return;
	s->rq = s->rqb.done ? RQ_DONE : RQ_BODY;
	xbuf_consume(&s->cli.in, hlen);
}

static void request_begin(struct xadc_session *s)
{
	s->rq = RQ_HEAD;
	s->rs = RS_NONE;
	s->t0 = xadc_now_ns();
	s->t_start_us = xadc_wall_us();
	s->head_ms = s->w->now;
	s->t_head = s->t_conn0 = s->t_conn1 = s->t_resp = 0;
	s->scanned = 0;
	s->in_request = true;
	s->logged = false;
	s->status = 0;
	s->term = NULL;
	s->bytes_in = s->bytes_out = 0;
	s->pool = NULL;
	s->server = NULL;
	s->retries = 0;
	s->reuse_retried = s->set_cookie = s->upgrade = s->expect100 = s->sent100 = false;
	s->body_sent = s->resp_started = s->srv_keepalive = false;
	s->lmethod_len = s->luri_len = s->lhost_len = s->lua_len = 0;
	s->hp_rule[0] = s->hp_rule[1] = s->hp_rule[2] = NULL;	/* issue 4 */
	s->hp_server = NULL;
	memset(&s->lb, 0, sizeof(s->lb));
	body_init(&s->rqb, H1_BODY_NONE, 0);
	body_init(&s->rsb, H1_BODY_NONE, 0);
}

/* READ_HEAD: parse what has arrived. */
static bool parse_head(struct xadc_session *s)
{
	struct http1_limits lim;
	uint32_t len = xbuf_len(&s->cli.in);
	int r;

	limits_of(s->vs, &lim);
	r = http1_parse_request(xbuf_ptr(&s->cli.in), len, &lim, &s->scanned, &s->w->msg);
	if (r > 0) {
		head_done(s, &s->w->msg, r);
		return true;
	}
	if (r < 0) {
		s->term = "bad_request";
		xadc_http_local_reply(s, http1_error_status(r), true);
		return true;
	}
	if (len >= lim.max_head) {
		xadc_http_local_reply(s, 431, true);
		return true;
	}
	if (s->cli.flags & (XC_F_RD_EOF | XC_F_ERROR)) {
		s->term = "client_abort";
		xadc_session_close(s);
		return true;
	}
	return false;
}

/* issue 5: hold the body for HTTP_REQ_DATA scripts (http_ds.c); once it is
 * complete or the bound reached, run them, then LB_SELECT + CONNECT with
 * the head already in rout. */
static bool body_held(struct xadc_session *s)
{
	const struct http1_msg *m;
	const char *b;
	int ret = xadc_http_ds_hold_step(s);

	if (!ret)
		return false;
	if (ret < 0) {
		s->term = "no_memory";
		xadc_http_local_reply(s, 500, true);
		return true;
	}
	if (xadc_http_ds_req_data(s, &m, &b))
		return true;
	if (!s->pool) {
		ret = -EHOSTUNREACH;
	} else {
		fill_lb_ctx(s, m, b);
		ret = s->hp_server ? hp_connect_server(s) : xadc_proxy_select_connect(s);
		lb_ctx_detach(s);
	}
	if (ret) {
		s->term = ret == -EHOSTUNREACH ? "no_server" : "connect_failed";
		if (ret != -EHOSTUNREACH || stage_lb_failed(s) == STAGE_CONTINUE)
			xadc_http_local_reply(s, ret == -EHOSTUNREACH ? 503 : 502, false);
		return true;
	}
	s->rs = RS_HEAD;
	return true;
}

static bool req_step(struct xadc_session *s)
{
	long n;

	switch (s->rq) {
	case RQ_IDLE:
		if (!xbuf_len(&s->cli.in)) {
			if (s->cli.flags & (XC_F_RD_EOF | XC_F_ERROR))
				xadc_session_close(s);	/* keep-alive client went away */
			return false;
		}
		request_begin(s);
		/* fall through */
	case RQ_HEAD:
		return parse_head(s);
	case RQ_BODY:
		n = body_validate(&s->rqb, &s->cli.in, false);
		if (n < 0) {
			s->term = "bad_request_body";
			if (!s->resp_started)
				xadc_http_local_reply(s, 400, true);
			else
				xadc_session_close(s);
			return true;
		}
		s->bytes_in += n;
		if (!n && !s->rqb.done && (s->cli.flags & (XC_F_RD_EOF | XC_F_ERROR)) &&
		    s->rqb.valid == xbuf_len(&s->cli.in)) {
			s->term = "client_abort";
			xadc_session_close(s);
			return true;
		}
		if (xadc_http_ds_holding(s))	/* issue 5 */
			return body_held(s) || n > 0;
		return n > 0;
	default:
		return false;
	}
}

/* ------------------------------------------------------ server side */

/* The server failed before a response byte: retry or answer. */
static void server_failed(struct xadc_session *s, const char *why, int status)
{
	if (!xadc_proxy_retry(s, why)) {
		s->rs = RS_HEAD;
		s->scanned = 0;
		return;
	}
	if (s->resp_started)
		xadc_session_close(s);
	else if (!xadc_http_ds_resp_failed(s))	/* issue 5: HTTP_RESP_FAILED scripts */
		xadc_http_local_reply(s, status, false);
}

static bool srv_write(struct xadc_session *s)
{
	struct xadc_srvconn *sc = s->srv;
	struct iovec iov[2 + XADC_DS_MAX_BODY_BUF / XADC_BUF_SIZE];
	uint32_t hl = xbuf_len(&s->rout), bl = 0;
	size_t n;
	int cnt = 0;

	if (hl) {
		iov[cnt].iov_base = xbuf_ptr(&s->rout);
		iov[cnt++].iov_len = hl;
	}
	if (s->rq == RQ_BODY)	/* issue 5: a body held for HTTP_REQ_DATA goes first */
		cnt += xadc_http_ds_body_iov(s, iov + cnt, ARRAY_SIZE(iov) - 1 - cnt);
	if (s->rq == RQ_BODY && s->rqb.valid) {
		bl = s->rqb.valid;
		iov[cnt].iov_base = xbuf_ptr(&s->cli.in);
		iov[cnt++].iov_len = bl;
	}
	if (!cnt)
		return false;
	n = xadc_conn_sendv(&sc->c, iov, cnt);
	if (!n)
		return false;
	s->server->rt->ctr[s->w->id].bytes_out += n;
	s->last_srv = s->w->now;
	if (n <= hl) {
		s->rout.head += n;	/* kept for a resend: no consume */
		return true;
	}
	s->rout.head = s->rout.tail;
	n -= hl;
	n -= xadc_http_ds_body_sent(s, n);
	xbuf_consume(&s->cli.in, n);
	s->rqb.valid -= n;
	s->body_sent = true;
	if (s->rqb.done && !s->rqb.valid && !xadc_http_ds_body_left(s))
		s->rq = RQ_DONE;
	return true;
}

static bool srv_step(struct xadc_session *s)
{
	struct xadc_srvconn *sc = s->srv;
	bool p = false;
	ssize_t n;
	int r;

	if (sc->connecting) {
		r = xadc_up_check_connect(sc);
		if (!r)
			return false;
		if (r < 0) {
			server_failed(s, "connect_failed", 502);
			return true;
		}
		p = true;
	}
	if (s->expect100 && !s->sent100 && !s->resp_started && s->rq == RQ_BODY) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (!xadc_buf_get(&s->w->bufs, &s->cout) &&
		    xadc_buf_append(&s->cout, cont, sizeof(cont) - 1))
			s->sent100 = true;
	}
	p |= srv_write(s);
	n = xadc_conn_recv(&s->w->bufs, &sc->c);
	if (n > 0) {
		s->server->rt->ctr[s->w->id].bytes_in += n;
		s->last_srv = s->w->now;
		p = true;
	}
	if (n < 0) {
		s->term = "no_memory";
		xadc_session_close(s);
		return true;
	}
	return p;
}

/* Re-serialise the final response head into cout. */
static bool build_resp_head(struct xadc_session *s, const struct http1_msg *m, const char *b)
{
	struct xadc_hw h = { .p = s->cout.data + s->cout.tail, .cap = xbuf_room(&s->cout) };
	char line[64], cookie[80];
	unsigned i;

	/* the parser accepts three digits only */
	memcpy(line, "HTTP/1.1 000 ", 13);
	line[9] += m->status / 100 % 10;
	line[10] += m->status / 10 % 10;
	line[11] += m->status % 10;
	xadc_hw_put(&h, line, 13);
	hw_slice(&h, b, m->reason);
	xadc_hw_put(&h, "\r\n", 2);
	for (i = 0; i < m->nhdrs; i++)
		if (!m->hdrs[i].hop_by_hop)
			hw_hdr(&h, b, &m->hdrs[i]);
	if (m->body == H1_BODY_CHUNKED)
		xadc_hw_str(&h, "Transfer-Encoding: chunked\r\n");
	if (m->status == 101) {
		xadc_hw_str(&h, "Connection: upgrade\r\n");
		if (m->hdr_idx[H1_HDR_UPGRADE] >= 0) {
			xadc_hw_str(&h, "Upgrade: ");
			hw_slice(&h, b, m->hdrs[m->hdr_idx[H1_HDR_UPGRADE]].value);
			xadc_hw_put(&h, "\r\n", 2);
		}
	} else if (!s->keepalive) {
		xadc_hw_str(&h, "Connection: close\r\n");
	} else if (s->client_minor == 0) {
		xadc_hw_str(&h, "Connection: keep-alive\r\n");
	}
	if (s->set_cookie && s->pool && s->server &&
	    xadc_lb_cookie_value(s->server, cookie, sizeof(cookie)) > 0) {
		xadc_hw_str(&h, "Set-Cookie: ");
		xadc_hw_str(&h, s->pool->persist_cookie);
		xadc_hw_put(&h, "=", 1);
		xadc_hw_str(&h, cookie);
		xadc_hw_str(&h, "; Path=/; HttpOnly");
		if (s->pool->persist_timeout_s) {
			snprintf(line, sizeof(line), "; Max-Age=%u", s->pool->persist_timeout_s);
			xadc_hw_str(&h, line);
		}
		xadc_hw_put(&h, "\r\n", 2);
	}
	xadc_hw_put(&h, "\r\n", 2);
	if (h.over)
		return false;
	s->cout.tail += h.len;
	return true;
}

/* A complete response head of hlen bytes is at the server buffer's head. */
static void resp_head(struct xadc_session *s, const struct http1_msg *m, uint32_t hlen)
{
	struct xadc_srvconn *sc = s->srv;
	struct xadc_worker *w = s->w;
	const char *b = xbuf_ptr(&sc->c.in);
	uint32_t off;
	int ret;

	s->scanned = 0;
	if (xadc_buf_get(&w->bufs, &s->cout))
		goto bad;
	if (m->status >= 100 && m->status < 200 && m->status != 101) {
		/* interim: relayed as is (a second 100 after ours is harmless) */
		if (!xadc_buf_append(&s->cout, b, hlen))
			goto bad;
		xbuf_consume(&sc->c.in, hlen);
		return;
	}
	if (m->status == 101 && !s->upgrade)
		goto bad;
	s->t_resp = xadc_now_ns();
	s->status = m->status;
	s->srv_keepalive = m->flags & H1_F_KEEP_ALIVE;
	xadc_counters_resp(&s->vs->rt->ctr[w->id], m->status);
	xadc_counters_resp(&s->server->rt->ctr[w->id], m->status);
	if (stage_http_response(s, &m, &b) || stage_resp_scripts(s, &m, &b))
		return;
	body_init(&s->rsb, m->body, m->content_length);
	/* a close-delimited body can only end by closing the client too */
	if (m->body == H1_BODY_EOF || (m->body == H1_BODY_CHUNKED && !s->client_minor))
		s->keepalive = false;
	if (s->rq != RQ_DONE && !s->rqb.done)
		s->keepalive = false;	/* early response: the rest of the body is not read */
	off = s->cout.tail;
	if (!build_resp_head(s, m, b))
		goto bad;
	xbuf_consume(&sc->c.in, hlen);
	if (m->status == 101) {
		s->resp_started = true;
		s->rs = RS_DONE;
		s->mode = SM_TUNNEL;	/* raw bytes both ways from here */
		return;
	}
	s->rs = s->rsb.done ? RS_DONE : RS_BODY;
	/* issue 5: HTTP_RESP_DATA holds the body; the head waits in cout */
	ret = xadc_http_ds_resp_hold(s, off);
	if (ret < 0) {
		s->term = "no_memory";
		xadc_http_local_reply(s, 500, true);
		return;
	}
	s->resp_started = !ret;
	return;
bad:
	s->term = "bad_response";
	s->status = 0;
	xadc_http_local_reply(s, 502, true);
}

/* issue 5: hold the response body for HTTP_RESP_DATA scripts (http_ds.c);
 * once complete or the bound reached, run them and release the head. */
static bool resp_held(struct xadc_session *s)
{
	int ret = xadc_http_ds_resp_hold_step(s, &s->srv->c.in);

	if (!ret)
		return false;
	if (ret < 0) {
		s->term = "no_memory";
		xadc_http_local_reply(s, 500, true);
		return true;
	}
	if (!xadc_http_ds_resp_data(s))
		s->resp_started = true;
	return true;
}

static bool resp_step(struct xadc_session *s)
{
	struct xadc_srvconn *sc = s->srv;
	struct http1_limits lim;
	uint32_t len;
	long n;
	int r;

	if (!sc || sc->connecting)
		return false;
	len = xbuf_len(&sc->c.in);
	if (s->rs == RS_HEAD) {
		if (len) {
			limits_of(s->vs, &lim);
			lim.max_head = XADC_BUF_SIZE - 1;
			lim.max_headers = HTTP1_MAX_HEADERS;
			r = http1_parse_response(xbuf_ptr(&sc->c.in), len, &lim, s->method_id,
						 &s->scanned, &s->w->msg);
			if (r > 0) {
				resp_head(s, &s->w->msg, r);
				return true;
			}
			if (r < 0 || len >= lim.max_head) {
				s->term = "bad_response";
				xadc_http_local_reply(s, 502, true);
				return true;
			}
		}
		if (sc->c.flags & (XC_F_RD_EOF | XC_F_ERROR)) {
			if (!len)
				server_failed(s, "server_closed", 502);
			else {
				s->term = "bad_response";
				xadc_http_local_reply(s, 502, true);
			}
			return true;
		}
		return false;
	}
	if (s->rs != RS_BODY)
		return false;
	n = body_validate(&s->rsb, &sc->c.in, sc->c.flags & XC_F_RD_EOF);
	if (n < 0) {
		s->term = "bad_response_body";
		xadc_session_close(s);
		return true;
	}
	if (!s->rsb.done && (sc->c.flags & (XC_F_RD_EOF | XC_F_ERROR)) &&
	    s->rsb.valid == xbuf_len(&sc->c.in) && !s->rsb.valid) {
		s->term = "server_abort";
		xadc_session_close(s);
		return true;
	}
	if (xadc_http_ds_resp_holding(s))	/* issue 5 */
		return resp_held(s) || n > 0;
	if (s->rsb.done && !s->rsb.valid && !xadc_http_ds_resp_left(s)) {
		s->rs = RS_DONE;
		return true;
	}
	return n > 0;
}

/* ------------------------------------------------------ client side */

static bool cli_write(struct xadc_session *s)
{
	struct xadc_srvconn *sc = s->srv;
	struct iovec iov[2 + XADC_DS_MAX_BODY_BUF / XADC_BUF_SIZE];
	uint32_t hl = xbuf_len(&s->cout);
	size_t n;
	int cnt = 0;

	if (s->rs == RS_BODY && xadc_http_ds_resp_holding(s))
		return false;	/* issue 5: the head waits for HTTP_RESP_DATA */
	if (hl) {
		iov[cnt].iov_base = xbuf_ptr(&s->cout);
		iov[cnt++].iov_len = hl;
	}
	if (s->rs == RS_BODY)	/* issue 5: a body held for HTTP_RESP_DATA goes first */
		cnt += xadc_http_ds_resp_iov(s, iov + cnt, ARRAY_SIZE(iov) - 1 - cnt);
	if (s->rs == RS_BODY && sc && s->rsb.valid) {
		iov[cnt].iov_base = xbuf_ptr(&sc->c.in);
		iov[cnt++].iov_len = s->rsb.valid;
	}
	if (!cnt)
		return false;
	n = xadc_conn_sendv(&s->cli, iov, cnt);
	if (s->cli.flags & XC_F_ERROR) {
		s->term = "client_abort";
		xadc_session_close(s);
		return true;
	}
	if (!n)
		return false;
	s->bytes_out += n;
	s->vs->rt->ctr[s->w->id].bytes_out += n;
	s->last_cli = s->w->now;
	if (n <= hl) {
		xbuf_consume(&s->cout, n);
		return true;
	}
	xbuf_consume(&s->cout, hl);
	n -= hl;
	n -= xadc_http_ds_resp_sent(s, n);
	if (n) {
		xbuf_consume(&sc->c.in, n);
		s->rsb.valid -= n;
	}
	if (s->rsb.done && !s->rsb.valid && !xadc_http_ds_resp_left(s))
		s->rs = RS_DONE;
	return true;
}

static bool cli_read(struct xadc_session *s)
{
	ssize_t n = xadc_conn_recv(&s->w->bufs, &s->cli);

	if (n < 0) {
		s->term = "no_memory";
		xadc_session_close(s);
		return true;
	}
	if (!n)
		return false;
	s->vs->rt->ctr[s->w->id].bytes_in += n;
	s->last_cli = s->w->now;
	return true;
}

/* Start closing: FIN after the response, then drain what the client still
 * sends for a moment so unread input does not turn our close into a reset
 * that could destroy the response in flight. */
static void begin_close(struct xadc_session *s)
{
	xadc_conn_shutdown_wr(&s->cli);
	if (s->cli.flags & (XC_F_RD_EOF | XC_F_ERROR)) {
		xadc_session_close(s);
		return;
	}
	s->lingering = true;
	s->last_cli = s->w->now;
}

static void linger(struct xadc_session *s)
{
	while (!(s->cli.flags & XC_F_DEAD)) {
		ssize_t n = xadc_conn_recv(&s->w->bufs, &s->cli);

		if (s->cli.in.data)
			s->cli.in.head = s->cli.in.tail = 0;
		if (n < 0 || (s->cli.flags & (XC_F_RD_EOF | XC_F_ERROR))) {
			xadc_session_close(s);
			return;
		}
		if (!n)
			return;
	}
}

/* The response went out completely: log, recycle, maybe read the next one. */
static bool http_finish(struct xadc_session *s)
{
	struct xadc_worker *w = s->w;
	bool reusable;
	struct xadc_vs *vs;

	if (s->rs != RS_DONE || xbuf_len(&s->cout) || s->mode != SM_HTTP)
		return false;
	reusable = s->rq == RQ_DONE && s->srv_keepalive && s->rsb.type != H1_BODY_EOF;
	xadc_http_log(s);
	s->in_request = false;
	xadc_up_detach(s, reusable);
	server_release(s);
	if (s->rq != RQ_DONE || !s->keepalive || s->must_close || w->draining) {
		begin_close(s);
		return true;
	}
	s->rq = RQ_IDLE;
	s->rs = RS_NONE;
	xadc_buf_put(&w->bufs, &s->cout);
	xadc_buf_put(&w->bufs, &s->rout);
	if (!xbuf_len(&s->cli.in))
		xadc_buf_put(&w->bufs, &s->cli.in);
	s->last_cli = w->now;
	if (s->hold != w->cur) {
		/* between requests: move to the current configuration */
		vs = xadc_worker_find_vs(w, xadc_sess_sa(&s->vaddr));
		if (!vs || vs->app != XADC_APP_HTTP) {
			xadc_session_close(s);
			return true;
		}
		s->vs->rt->ctr[w->id].cur_conns--;
		vs->rt->ctr[w->id].cur_conns++;
		xadc_worker_unpin(w, s->hold);
		s->hold = xadc_worker_pin(w);
		s->vs = vs;
	}
	return true;
}

/* ------------------------------------------------------ timers */

enum { R_NONE, R_IDLE, R_HEADER, R_BODY, R_CONNECT, R_SERVER, R_SEND, R_LINGER };

static void dl_min(uint64_t *when, int *why, uint64_t t, int r)
{
	if (!*when || t < *when) {
		*when = t;
		*why = r;
	}
}

static uint64_t http_deadline(const struct xadc_session *s, int *why)
{
	const struct xadc_http_profile *hp = &s->vs->http;
	uint64_t when = 0;
	bool to_client = (xbuf_len(&s->cout) || s->rsb.valid || xadc_http_ds_resp_left(s)) &&
			 !xadc_http_ds_resp_holding(s);

	*why = R_NONE;
	if (s->lingering) {
		*why = R_LINGER;
		return s->last_cli + XADC_LINGER_MS;
	}
	if (to_client)
		dl_min(&when, why, s->last_cli + XADC_SEND_TIMEOUT_MS, R_SEND);
	switch (s->rq) {
	case RQ_IDLE:
		dl_min(&when, why,
		       s->last_cli + (s->nreq ? ms_or(hp->keepalive_timeout_ms,
						      DEF_KEEPALIVE_TIMEOUT_MS)
					      : ms_or(hp->client_header_timeout_ms,
						      DEF_HEADER_TIMEOUT_MS)),
		       R_IDLE);
		break;
	case RQ_HEAD:
		dl_min(&when, why,
		       s->head_ms + ms_or(hp->client_header_timeout_ms, DEF_HEADER_TIMEOUT_MS),
		       R_HEADER);
		break;
	case RQ_BODY:
		if (xbuf_room(&s->cli.in) || s->cli.in.head)
			dl_min(&when, why,
			       s->last_cli + ms_or(hp->client_body_timeout_ms, DEF_BODY_TIMEOUT_MS),
			       R_BODY);
		break;
	}
	if (s->srv && s->srv->connecting)
		dl_min(&when, why, s->last_srv + xadc_pool_connect_timeout(s->pool), R_CONNECT);
	else if (s->srv && !to_client && (s->rs == RS_HEAD || s->rs == RS_BODY))
		dl_min(&when, why, s->last_srv + xadc_pool_server_timeout(s->pool), R_SERVER);
	return when;
}

static void http_arm(struct xadc_session *s)
{
	int why;

	xadc_session_arm(s, http_deadline(s, &why));
}

void xadc_http_timeout(struct xadc_session *s)
{
	int why;
	uint64_t when = http_deadline(s, &why);

	if (when > s->w->now) {
		xadc_session_arm(s, when);
		return;
	}
	switch (why) {
	case R_IDLE:
	case R_LINGER:
		xadc_session_close(s);
		return;
	case R_HEADER:
	case R_BODY:
		s->term = "client_timeout";
		if (s->resp_started) {
			xadc_session_close(s);
			return;
		}
		xadc_http_local_reply(s, 408, true);
		break;
	case R_SEND:
		s->term = "client_timeout";
		xadc_session_close(s);
		return;
	case R_CONNECT:
		server_failed(s, "connect_timeout", 504);
		break;
	case R_SERVER:
		s->term = "server_timeout";
		if (s->resp_started) {
			xadc_session_close(s);
			return;
		}
		if (!xadc_http_ds_resp_failed(s))	/* issue 5 */
			xadc_http_local_reply(s, 504, true);
		break;
	default:
		return;
	}
	xadc_http_run(s);
}

/* ------------------------------------------------------ entry points */

void xadc_http_start(struct xadc_session *s)
{
	s->mode = SM_HTTP;
	s->rq = RQ_IDLE;
	s->rs = RS_NONE;
	s->keepalive = true;
	/* session_alloc() clears only the fields before hp_rule: a freshly
	 * malloc'd session would log (and put back) a garbage hp_log */
	memset(&s->hp_log, 0, sizeof(s->hp_log));
	if (xadc_http_ds_accept(s))	/* issue 5: TCP_CLIENT_ACCEPT scripts */
		return;
	xadc_http_run(s);
}

void xadc_http_run(struct xadc_session *s)
{
	bool p;

	do {
		if (s->lingering) {
			linger(s);
			break;
		}
		p = cli_read(s);
		p |= req_step(s);
		if (sess_dead(s))
			return;
		if (s->srv) {
			p |= srv_step(s);
			if (sess_dead(s))
				return;
		}
		p |= resp_step(s);
		if (sess_dead(s))
			return;
		p |= cli_write(s);
		if (sess_dead(s))
			return;
		if (s->mode == SM_TUNNEL) {
			if (xbuf_len(&s->cout))
				continue;
			xadc_tunnel_run(s);
			return;
		}
		p |= http_finish(s);
		if (sess_dead(s))
			return;
	} while (p);
	if (sess_dead(s))
		return;
	if (s->rq == RQ_IDLE && s->cli.in.data && !xbuf_len(&s->cli.in))
		xadc_buf_put(&s->w->bufs, &s->cli.in);
	http_arm(s);
}

/* LOG: one line for the request that just ended (or was cut short). */
void xadc_http_log(struct xadc_session *s)
{
	struct xadc_reqlog_rec r = {};
	uint64_t now = xadc_now_ns(), conn_end;
	char extra[2048];

	if (s->logged)
		return;
	s->logged = true;
	r.start_us = s->t_start_us ? s->t_start_us : xadc_wall_us();
	r.client = xadc_sess_sa(&s->caddr);
	r.vip = xadc_sess_sa(&s->vaddr);
	r.vs = s->vs ? s->vs->name : "";
	r.method = s->lmethod;
	r.method_len = s->lmethod_len;
	r.uri = s->luri;
	r.uri_len = s->luri_len;
	r.host = s->lhost;
	r.host_len = s->lhost_len;
	r.user_agent = s->lua;
	r.user_agent_len = s->lua_len;
	r.status = s->status;
	r.pool = s->pool ? s->pool->name : NULL;
	r.server = s->server ? s->server->name : NULL;
	r.request_id = s->request_id;
	r.bytes_in = s->bytes_in;
	r.bytes_out = s->bytes_out;
	if (s->t0 && s->t_head)
		r.t_client_ms = (s->t_head - s->t0) / 1e6;
	if (s->t_conn0 && s->t_conn1 >= s->t_conn0)
		r.t_connect_ms = (s->t_conn1 - s->t_conn0) / 1e6;
	conn_end = s->t_conn1 > s->t_head ? s->t_conn1 : s->t_head;
	if (s->t_resp && conn_end && s->t_resp >= conn_end)
		r.t_server_ms = (s->t_resp - conn_end) / 1e6;
	if (s->t0)
		r.t_total_ms = (now - s->t0) / 1e6;
	r.termination = s->term;
	/* issue 4: the deciding policy rules, and a logged rule's request */
	r.http_security_policy_rule_name = s->hp_rule[0];
	r.http_request_policy_rule_name = s->hp_rule[1];
	r.http_response_policy_rule_name = s->hp_rule[2];
	r.extra_json = s->hp_log.data;
	/* issue 5: datascript_log, datascript_error_trace, significant */
	r.extra_json = xadc_http_ds_extra(s, r.extra_json, extra, sizeof(extra));
	xadc_reqlog_emit(s->w->id, &r);
	xadc_buf_put(&s->w->bufs, &s->hp_log);
	xadc_http_ds_done(s);
	xadc_reqcopy_put(s);	/* the copies were for this line */
}
