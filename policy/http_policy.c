// SPDX-License-Identifier: GPL-2.0
/*
 * http_policy.c - evaluation of compiled httppolicysets: matches, the three
 * policy stages and their actions (see http_policy.h for the order).
 *
 * Everything a stage builds (a rewritten head, a Location value, header
 * variables) goes into the calling thread's scratch, allocated once per
 * thread; the result points into it and into the snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"
#include "xadc/hwriter.h"

const char *const hp_method_names[HP_NMETHODS] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT",
	"PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
};

struct hp_edit_list {
	unsigned n;
	const struct hp_hdr_act *a[HP_MAX_EDITS];
};

struct hp_scratch {
	char head[HP_SCRATCH];
	char loc[8192];
	char host[1024];
	char path[4096];
	char var[128];
	struct http1_msg msg;
};

static __thread struct hp_scratch *hp_tls;

/* The thread's scratch, allocated on its first policy evaluation. */
static struct hp_scratch *scratch(void)
{
	if (unlikely(!hp_tls))
		hp_tls = malloc(sizeof(*hp_tls));
	return hp_tls;
}

/* ------------------------------------------------------------ matching */

/* Does s match sm's literals or any of its groups (positive sense)? A
 * regex hit is remembered in *re_set / *re_idx for capture tokens. */
static bool str_hit(const struct hp_strmatch *sm, const char *s, size_t n,
		    const struct xadc_strset **re_set, uint32_t *re_idx)
{
	uint32_t idx = XADC_STRSET_NONE;
	unsigned i;

	if (sm->lit)
		idx = xadc_strset_find(sm->lit, sm->op, sm->nocase, s, n);
	if (idx != XADC_STRSET_NONE) {
		if (re_set) {
			*re_set = sm->lit;
			*re_idx = idx;
		}
		return true;
	}
	for (i = 0; i < sm->ngroups; i++) {
		idx = xadc_strset_find(sm->groups[i], sm->op, sm->nocase, s, n);
		if (idx != XADC_STRSET_NONE) {
			if (re_set) {
				*re_set = sm->groups[i];
				*re_idx = idx;
			}
			return true;
		}
	}
	return false;
}

static bool str_eval(const struct hp_strmatch *sm, const char *s, size_t n)
{
	return str_hit(sm, s, n, NULL, NULL) != sm->negate;
}

/* A header criterion over every occurrence of the header in (b, m). */
static bool hdr_eval(const struct hp_strmatch *sm, const char *b, const struct http1_msg *m)
{
	bool found = false, hit = false;
	int i, from = 0;

	while (m && (i = http1_find_header(b, m, sm->name, sm->name_len, &from)) >= 0) {
		found = true;
		if (!sm->exists &&
		    str_hit(sm, b + m->hdrs[i].value.off, m->hdrs[i].value.len, NULL, NULL)) {
			hit = true;
			break;
		}
	}
	if (sm->exists)
		return found != sm->negate;
	return hit != sm->negate;
}

/* An optional single value (cookie, host, location): absent fails every
 * positive criterion and satisfies every negated one. */
static bool opt_eval(const struct hp_strmatch *sm, bool present, const char *s, size_t n)
{
	if (sm->exists)
		return present != sm->negate;
	if (!present)
		return sm->negate;
	return str_eval(sm, s, n);
}

static bool int_in(const struct hp_intmatch *im, uint32_t v)
{
	unsigned i;

	for (i = 0; i < im->n; i++)
		if (v >= im->lo[i] && v <= im->hi[i])
			return !im->negate;
	return im->negate;
}

static bool ip_eval(const struct hp_ipmatch *ipm, const union xadc_sockaddr *a)
{
	bool in = ipm->own && xadc_ipset_contains(ipm->own, a);
	unsigned i;

	for (i = 0; !in && i < ipm->ngroups; i++)
		in = xadc_ipset_contains(ipm->groups[i], a);
	return in != ipm->negate;
}

static int method_bit(const char *s, size_t n)
{
	int i;

	for (i = 0; i < HP_NMETHODS; i++)
		if (strlen(hp_method_names[i]) == n && !memcmp(hp_method_names[i], s, n))
			return i;
	return -1;
}

static uint16_t vip_port(const union xadc_sockaddr *a)
{
	if (!a)
		return 0;
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/* Fill the parts of ec every criterion and token reads. */
static void ctx_init(struct hp_eval_ctx *ec, const struct xadc_hp_req *rq)
{
	const struct http1_msg *m = rq->m;
	const char *h = rq->host, *q;
	size_t hl = rq->host_len, i;

	memset(ec, 0, sizeof(*ec));
	ec->rq = rq;
	if (m) {
		ec->path = rq->buf + m->path.off;
		ec->path_len = m->path.len;
		ec->query = rq->buf + m->query.off;
		ec->query_len = m->query.len;
		ec->method = rq->buf + m->method.off;
		ec->method_len = m->method.len;
		ec->minor = m->version_minor;
		h = NULL;
		hl = 0;
		if (m->hdr_idx[H1_HDR_HOST] >= 0) {
			h = rq->buf + m->hdrs[m->hdr_idx[H1_HDR_HOST]].value.off;
			hl = m->hdrs[m->hdr_idx[H1_HDR_HOST]].value.len;
		}
	} else {
		q = rq->target ? memchr(rq->target, '?', rq->target_len) : NULL;
		ec->path = rq->target;
		ec->path_len = q ? (size_t)(q - rq->target) : rq->target_len;
		ec->query = q ? q + 1 : NULL;
		ec->query_len = q ? rq->target_len - ec->path_len - 1 : 0;
		ec->method = rq->method;
		ec->method_len = rq->method_len;
		ec->minor = rq->version_minor;
	}
	ec->host_present = h != NULL;
	ec->host_full = h;
	ec->host_full_len = hl;
	/* without the port ("[v6]:port" keeps its brackets) */
	for (i = hl; h && i > 0; i--) {
		if (h[i - 1] == ':') {
			hl = i - 1;
			break;
		}
		if (h[i - 1] < '0' || h[i - 1] > '9')
			break;
	}
	ec->host = h;
	ec->host_len = hl;
}

/* Every configured field of mt over the request (and response, if rp). */
static bool match_eval(const struct hp_match *mt, struct hp_eval_ctx *ec,
		       const struct xadc_hp_rsp *rp)
{
	const struct xadc_hp_req *rq = ec->rq;
	const struct http1_msg *m = rq->m;
	struct http1_slice cv;
	bool present;
	unsigned i;
	int bit;

	if (mt->always)
		return true;
	if (mt->method_set) {
		bit = method_bit(ec->method, ec->method_len);
		if ((bit >= 0 && (mt->methods & (1u << bit))) == mt->method_negate)
			return false;
	}
	if (mt->proto_set && (!!(mt->protos & (1u << rq->https))) == mt->proto_negate)
		return false;
	if (mt->version_set && (!!(mt->versions & (1u << ec->minor))) == mt->version_negate)
		return false;
	if (mt->port.set && !int_in(&mt->port, vip_port(rq->vip)))
		return false;
	if (mt->cip.set && !ip_eval(&mt->cip, rq->client))
		return false;
	if (mt->path.set) {
		ec->path_re = NULL;
		if ((str_hit(&mt->path, ec->path, ec->path_len, &ec->path_re, &ec->path_re_idx) ==
		     mt->path.negate))
			return false;
		ec->path_re_nocase = mt->path.nocase;
		if (mt->path.op != XADC_SOP_REGEX || mt->path.negate)
			ec->path_re = NULL;
	}
	if (mt->query.set) {
		ec->query_re = NULL;
		if (str_hit(&mt->query, ec->query ? ec->query : "", ec->query_len, &ec->query_re,
			    &ec->query_re_idx) == mt->query.negate)
			return false;
		ec->query_re_nocase = mt->query.nocase;
		if (mt->query.op != XADC_SOP_REGEX || mt->query.negate)
			ec->query_re = NULL;
	}
	if (mt->host.set && !opt_eval(&mt->host, ec->host_present, ec->host, ec->host_len))
		return false;
	if (mt->cookie.set) {
		present = m && http1_find_cookie(rq->buf, m, mt->cookie.name,
						 mt->cookie.name_len, &cv);
		if (!opt_eval(&mt->cookie, present, present ? rq->buf + cv.off : NULL,
			      present ? cv.len : 0))
			return false;
	}
	for (i = 0; i < mt->nhdrs; i++)
		if (!hdr_eval(&mt->hdrs[i], rq->buf, m))
			return false;
	if (!rp)
		return true;
	for (i = 0; i < mt->nrsp_hdrs; i++)
		if (!hdr_eval(&mt->rsp_hdrs[i], rp->buf, rp->m))
			return false;
	if (mt->status.set && !int_in(&mt->status, rp->m->status))
		return false;
	if (mt->loc.set) {
		int li = rp->m->hdr_idx[H1_HDR_LOCATION];
		const struct http1_slice *lv = li >= 0 ? &rp->m->hdrs[li].value : NULL;

		if (!opt_eval(&mt->loc, lv != NULL, lv ? rp->buf + lv->off : NULL,
			      lv ? lv->len : 0))
			return false;
	}
	return true;
}

/* Count a hit of rule in set for this worker (own slot: no atomics). */
static void count_hit(struct hp_set *set, const struct hp_rule *r, unsigned worker)
{
	unsigned nw = xadc_nworkers ? xadc_nworkers : 1;

	set->hits[(size_t)(worker % nw) * set->stride + r->slot]++;
}

/* First enabled rule of pol that matches, or NULL. */
static const struct hp_rule *first_match(struct hp_set *set, enum hp_policy_type t,
					 struct hp_eval_ctx *ec, const struct xadc_hp_rsp *rp)
{
	const struct hp_policy *pol = &set->pol[t];
	unsigned i;

	for (i = 0; i < pol->nrules; i++) {
		if (match_eval(&pol->rules[i].match, ec, rp)) {
			count_hit(set, &pol->rules[i], ec->rq->worker);
			return &pol->rules[i];
		}
	}
	return NULL;
}

static void note_rule(struct xadc_hp_result *res, const struct hp_rule *r)
{
	if (!res->rule_name)
		res->rule_name = r->name;
	if (r->log) {
		res->log = true;
		res->all_headers |= r->all_headers;
	}
}

/* ------------------------------------------------------------ writers */


static void wr_num(struct xadc_hw *w, unsigned long long v)
{
	char b[24];

	xadc_hw_put(w, b, snprintf(b, sizeof(b), "%llu", v));
}

/* The value of a header variable into the thread's var buffer. */
static const char *var_value(enum hp_var v, const struct xadc_hp_req *rq, size_t *len)
{
	char *b = scratch()->var;

	b[0] = '\0';
	switch (v) {
	case VAR_CLIENT_IP:
		if (rq->client)
			xadc_sockaddr_ip(rq->client, b, sizeof(scratch()->var));
		break;
	case VAR_VS_IP:
		if (rq->vip)
			xadc_sockaddr_ip(rq->vip, b, sizeof(scratch()->var));
		break;
	case VAR_VS_PORT:
		snprintf(b, sizeof(scratch()->var), "%u", vip_port(rq->vip));
		break;
	case VAR_REQUEST_ID:
		snprintf(b, sizeof(scratch()->var), "%llu", (unsigned long long)rq->request_id);
		break;
	default:
		break;	/* TLS variables: empty until TLS lands */
	}
	*len = strlen(b);
	return b;
}

static void wr_hdr_act(struct xadc_hw *w, const struct hp_hdr_act *a, const struct xadc_hp_req *rq)
{
	const char *v = a->val;
	size_t vl = a->val_len;

	if (a->var)
		v = var_value(a->var, rq, &vl);
	xadc_hw_put(w, a->name, a->name_len);
	xadc_hw_put(w, ": ", 2);
	xadc_hw_put(w, v, vl);
	xadc_hw_put(w, "\r\n", 2);
}

/* Is header name (b, sl) removed or replaced by an edit? */
static bool edited(const struct hp_edit_list *ed, const char *b, struct http1_slice sl)
{
	unsigned i;

	for (i = 0; i < ed->n; i++)
		if (ed->a[i]->op != HDR_ADD && ed->a[i]->name_len == sl.len &&
		    !strncasecmp(ed->a[i]->name, b + sl.off, sl.len))
			return true;
	return false;
}

static void wr_edits(struct xadc_hw *w, const struct hp_edit_list *ed, const struct xadc_hp_req *rq)
{
	unsigned i;

	for (i = 0; i < ed->n; i++)
		if (ed->a[i]->op != HDR_REMOVE)
			wr_hdr_act(w, ed->a[i], rq);
}

static void add_edits(struct hp_edit_list *ed, const struct hp_rule *r)
{
	unsigned i;

	for (i = 0; i < r->nhdr && ed->n < HP_MAX_EDITS; i++)
		ed->a[ed->n++] = &r->hdr[i];
}

/* ------------------------------------------------------------ redirects */

/* Location for rd into out: protocol, host, port, path and query, each
 * from rd when configured, else from the request. Returns the length. */
static size_t redirect_location(const struct hp_redirect *rd, const struct hp_eval_ctx *ec,
				char *out, size_t cap)
{
	struct hp_scratch *sc = scratch();
	struct xadc_hw w = {.p = out, .cap = cap};
	bool https = rd->proto < 0 ? ec->rq->https : rd->proto == 1;
	const char *port = NULL;
	size_t port_len = 0;
	int n;

	xadc_hw_str(&w, https ? "https://" : "http://");
	if (rd->host.set && (n = hp_uri_expand(&rd->host, ec, '.', sc->host, sizeof(sc->host))) > 0)
		xadc_hw_put(&w, sc->host, n);
	else if (ec->host_present)
		xadc_hw_put(&w, ec->host, ec->host_len);
	else if (ec->rq->vip)
		xadc_hw_str(&w, xadc_sockaddr_ip(ec->rq->vip, sc->var, sizeof(sc->var)));
	if (rd->port) {
		if (rd->port != (https ? 443 : 80)) {
			xadc_hw_put(&w, ":", 1);
			wr_num(&w, rd->port);
		}
	} else if (rd->proto < 0 && ec->host_len < ec->host_full_len) {
		/* same protocol: keep the port the client used */
		port = ec->host_full + ec->host_len;
		port_len = ec->host_full_len - ec->host_len;
		xadc_hw_put(&w, port, port_len);
	}
	if (rd->path.set) {
		xadc_hw_put(&w, "/", 1);
		n = hp_uri_expand(&rd->path, ec, '/', sc->path, sizeof(sc->path));
		if (n > 0)
			xadc_hw_put(&w, sc->path, n);
	} else if (ec->path_len) {
		xadc_hw_put(&w, ec->path, ec->path_len);
	} else {
		xadc_hw_put(&w, "/", 1);
	}
	if (rd->keep_query && ec->query_len) {
		xadc_hw_put(&w, "?", 1);
		xadc_hw_put(&w, ec->query, ec->query_len);
	}
	return w.over ? 0 : w.len;
}

static void respond(struct xadc_hp_result *res, int status, const struct hp_file *f,
		    const char *term)
{
	res->verdict = XADC_HP_RESPOND;
	res->status = status;
	if (f && f->body) {
		res->content_type = f->ctype;
		res->body = f->body;
		res->body_len = f->body_len;
	}
	res->termination = term;
}

static void redirect_to(struct xadc_hp_result *res, const struct hp_redirect *rd,
			const struct hp_eval_ctx *ec, int status, const char *term)
{
	struct hp_scratch *sc = scratch();
	size_t n = redirect_location(rd, ec, sc->loc, sizeof(sc->loc));

	if (!n) {
		respond(res, 500, NULL, "policy_redirect_too_long");
		return;
	}
	respond(res, status, NULL, term);
	res->location = sc->loc;
	res->location_len = n;
}

/* ------------------------------------------------------------ security */

static void security_action(const struct hp_rule *r, struct hp_eval_ctx *ec,
			    struct xadc_hp_result *res)
{
	struct hp_redirect https = {.proto = 1, .port = r->https_port, .keep_query = true};

	switch (r->sec) {
	case SEC_ALLOW:
		return;
	case SEC_CLOSE:
		res->verdict = XADC_HP_CLOSE;
		res->termination = "policy_close";
		return;
	case SEC_RESPOND:
		respond(res, r->status, &r->file, "policy_response");
		return;
	case SEC_REDIRECT_HTTPS:
		redirect_to(res, &https, ec, 302, "policy_redirect");
		return;
	case SEC_RATE_LIMIT:
		if (hp_rl_take(r->rl, ec->rq, xadc_now_ns()))
			return;
		switch (r->rl_act) {
		case RL_NONE:
			res->termination = NULL;	/* log only: the rule name says it */
			res->log = true;
			return;
		case RL_DROP:
		case RL_CLOSE:
			res->verdict = XADC_HP_CLOSE;
			res->termination = "rate_limited";
			return;
		case RL_RESET:
			res->verdict = XADC_HP_RESET;
			res->termination = "rate_limited";
			return;
		case RL_LOCAL:
			respond(res, r->status, &r->file, "rate_limited");
			return;
		case RL_REDIRECT:
			redirect_to(res, &r->rl_redirect, ec, r->rl_redirect.status,
				    "rate_limited");
			return;
		}
	}
}

void xadc_hp_security(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		      struct xadc_hp_result *res)
{
	const struct hp_vs *hv = vs ? vs->http_policies : NULL;
	const struct hp_rule *r;
	struct hp_eval_ctx ec;
	unsigned i;

	memset(res, 0, sizeof(*res));
	if (!hv || !scratch())
		return;
	ctx_init(&ec, rq);
	for (i = 0; i < hv->nsets; i++) {
		r = first_match(hv->sets[i], HP_SEC, &ec, NULL);
		if (!r)
			continue;
		note_rule(res, r);
		security_action(r, &ec, res);
		return;
	}
}

/* ------------------------------------------------------------ request */

/* The request line's target after a rewrite into w. */
static void wr_rewritten_target(struct xadc_hw *w, const struct hp_rule *rw, const struct hp_eval_ctx *ec)
{
	struct hp_scratch *sc = scratch();
	bool q = false;
	int n;

	if (rw->rw_path.set) {
		xadc_hw_put(w, "/", 1);
		n = hp_uri_expand(&rw->rw_path, ec, '/', sc->path, sizeof(sc->path));
		if (n > 0)
			xadc_hw_put(w, sc->path, n);
		else if (n < 0)
			w->over = true;
	} else {
		xadc_hw_put(w, ec->path_len ? ec->path : "/", ec->path_len ? ec->path_len : 1);
	}
	if (!rw->rw_query_set || rw->rw_keep_query) {
		if (ec->query_len) {
			xadc_hw_put(w, "?", 1);
			xadc_hw_put(w, ec->query, ec->query_len);
			q = true;
		}
	}
	if (rw->rw_query_set && rw->rw_add_len) {
		xadc_hw_put(w, q ? "&" : "?", 1);
		xadc_hw_put(w, rw->rw_add, rw->rw_add_len);
	}
}

/* Build and parse the edited request head. false: it does not fit or
 * does not parse (the caller answers 500). */
static bool build_request(const struct hp_eval_ctx *ec, const struct hp_edit_list *ed,
			  const struct hp_rule *rw, const struct http1_limits *lim,
			  struct xadc_hp_result *res)
{
	const struct xadc_hp_req *rq = ec->rq;
	const struct http1_msg *m = rq->m;
	struct hp_scratch *sc = scratch();
	struct xadc_hw w = {.p = sc->head, .cap = sizeof(sc->head)};
	struct http1_limits l2 = *lim;
	const char *b = rq->buf;
	char host[1024];
	int hn = -1;
	size_t scanned = 0;
	bool host_done = false;
	unsigned i;

	if (rw && rw->rw_host.set) {
		hn = hp_uri_expand(&rw->rw_host, ec, '.', host, sizeof(host));
		if (hn <= 0)
			return false;
	}
	xadc_hw_put(&w, b + m->method.off, m->method.len);
	xadc_hw_put(&w, " ", 1);
	if (rw && (rw->rw_path.set || rw->rw_query_set))
		wr_rewritten_target(&w, rw, ec);
	else
		xadc_hw_put(&w, b + m->target.off, m->target.len);
	xadc_hw_str(&w, m->version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *h = &m->hdrs[i];

		if (h->id == H1_HDR_HOST && hn > 0) {
			if (host_done)
				continue;
			xadc_hw_str(&w, "Host: ");
			xadc_hw_put(&w, host, hn);
			xadc_hw_put(&w, "\r\n", 2);
			host_done = true;
			continue;
		}
		if (edited(ed, b, h->name))
			continue;
		xadc_hw_put(&w, b + h->name.off, h->name.len);
		xadc_hw_put(&w, ": ", 2);
		xadc_hw_put(&w, b + h->value.off, h->value.len);
		xadc_hw_put(&w, "\r\n", 2);
	}
	if (hn > 0 && !host_done) {
		xadc_hw_str(&w, "Host: ");
		xadc_hw_put(&w, host, hn);
		xadc_hw_put(&w, "\r\n", 2);
	}
	wr_edits(&w, ed, rq);
	xadc_hw_put(&w, "\r\n", 2);
	if (w.over)
		return false;
	l2.max_head = sizeof(sc->head);
	l2.max_headers = HTTP1_MAX_HEADERS;
	if (http1_parse_request(sc->head, w.len, &l2, &scanned, &sc->msg) != (int)w.len)
		return false;
	res->head = sc->head;
	res->head_len = w.len;
	res->msg = &sc->msg;
	return true;
}

void xadc_hp_request(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		     const struct http1_limits *lim, struct xadc_hp_result *res)
{
	const struct hp_vs *hv = vs ? vs->http_policies : NULL;
	const struct hp_rule *r, *rw = NULL;
	struct hp_edit_list ed;
	struct hp_eval_ctx ec, rw_ec;
	unsigned i;

	memset(res, 0, sizeof(*res));
	if (!hv || !rq->m || !scratch())
		return;
	ed.n = 0;
	ctx_init(&ec, rq);
	for (i = 0; i < hv->nsets; i++) {
		r = first_match(hv->sets[i], HP_REQ, &ec, NULL);
		if (!r)
			continue;
		note_rule(res, r);
		if (r->redirect.set) {
			redirect_to(res, &r->redirect, &ec, r->redirect.status, "policy_redirect");
			return;
		}
		if (r->sw_set && r->sw_local) {
			respond(res, r->sw_status, &r->sw_file, "policy_response");
			return;
		}
		if (r->sw_set) {
			res->pool = r->sw_pool;
			res->server = r->sw_server;
		}
		add_edits(&ed, r);
		if (r->rewrite) {
			rw = r;
			rw_ec = ec;	/* its captures */
		}
	}
	if (!ed.n && !rw)
		return;
	if (!build_request(rw ? &rw_ec : &ec, &ed, rw, lim, res)) {
		respond(res, 500, NULL, "policy_rewrite_failed");
		res->pool = NULL;
		res->server = NULL;
	}
}

/* ------------------------------------------------------------ response */

/* Split an absolute or relative Location value into its parts. */
struct loc_parts {
	const char *auth, *path, *query;
	size_t auth_len, path_len, query_len;
	bool https, absolute;
};

static void loc_split(const char *v, size_t n, struct loc_parts *lp)
{
	const char *e = v + n, *p = v, *s, *q;

	memset(lp, 0, sizeof(*lp));
	if (n > 8 && !strncasecmp(v, "https://", 8)) {
		lp->https = lp->absolute = true;
		p = v + 8;
	} else if (n > 7 && !strncasecmp(v, "http://", 7)) {
		lp->absolute = true;
		p = v + 7;
	}
	if (lp->absolute) {
		for (s = p; s < e && *s != '/' && *s != '?'; s++)
			;
		lp->auth = p;
		lp->auth_len = s - p;
		p = s;
	}
	q = memchr(p, '?', e - p);
	lp->path = p;
	lp->path_len = (q ? q : e) - p;
	if (q) {
		lp->query = q + 1;
		lp->query_len = e - q - 1;
	}
}

/* The Location value after loc_hdr_action rd, into sc->loc. */
static size_t rewrite_location(const struct hp_redirect *rd, const struct hp_eval_ctx *ec,
			       const char *v, size_t n)
{
	struct hp_scratch *sc = scratch();
	struct xadc_hw w = {.p = sc->loc, .cap = sizeof(sc->loc)};
	struct loc_parts lp;
	const char *colon;
	size_t hl;
	bool https;
	int k;

	loc_split(v, n, &lp);
	https = rd->proto < 0 ? lp.https : rd->proto == 1;
	if (lp.absolute || rd->proto >= 0 || rd->host.set || rd->port) {
		xadc_hw_str(&w, https ? "https://" : "http://");
		colon = lp.auth ? memrchr(lp.auth, ':', lp.auth_len) : NULL;
		hl = colon ? (size_t)(colon - lp.auth) : lp.auth_len;
		if (rd->host.set &&
		    (k = hp_uri_expand(&rd->host, ec, '.', sc->host, sizeof(sc->host))) > 0)
			xadc_hw_put(&w, sc->host, k);
		else if (lp.auth)
			xadc_hw_put(&w, lp.auth, hl);
		else if (ec->host_present)
			xadc_hw_put(&w, ec->host, ec->host_len);
		if (rd->port && rd->port != (https ? 443 : 80)) {
			xadc_hw_put(&w, ":", 1);
			wr_num(&w, rd->port);
		} else if (!rd->port && colon && rd->proto < 0) {
			xadc_hw_put(&w, colon, lp.auth + lp.auth_len - colon);
		}
	}
	if (rd->path.set) {
		xadc_hw_put(&w, "/", 1);
		k = hp_uri_expand(&rd->path, ec, '/', sc->path, sizeof(sc->path));
		if (k > 0)
			xadc_hw_put(&w, sc->path, k);
	} else {
		xadc_hw_put(&w, lp.path_len ? lp.path : "/", lp.path_len ? lp.path_len : 1);
	}
	if (rd->keep_query && lp.query_len) {
		xadc_hw_put(&w, "?", 1);
		xadc_hw_put(&w, lp.query, lp.query_len);
	}
	return w.over ? 0 : w.len;
}

static bool build_response(const struct hp_eval_ctx *ec, const struct xadc_hp_rsp *rp,
			   const struct hp_edit_list *ed, const struct hp_rule *lr,
			   uint8_t req_method, struct xadc_hp_result *res)
{
	const struct http1_msg *m = rp->m;
	struct hp_scratch *sc = scratch();
	struct xadc_hw w = {.p = sc->head, .cap = sizeof(sc->head)};
	struct http1_limits lim = {
		.max_head = sizeof(sc->head), .max_headers = HTTP1_MAX_HEADERS, .max_uri = 8192};
	const char *b = rp->buf;
	size_t scanned = 0, ln;
	unsigned i;

	xadc_hw_str(&w, "HTTP/1.1 ");
	wr_num(&w, m->status);
	xadc_hw_put(&w, " ", 1);
	xadc_hw_put(&w, b + m->reason.off, m->reason.len);
	xadc_hw_put(&w, "\r\n", 2);
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *h = &m->hdrs[i];

		if (edited(ed, b, h->name))
			continue;
		xadc_hw_put(&w, b + h->name.off, h->name.len);
		xadc_hw_put(&w, ": ", 2);
		if (h->id == H1_HDR_LOCATION && lr) {
			ln = rewrite_location(&lr->redirect, ec, b + h->value.off, h->value.len);
			if (!ln)
				return false;
			xadc_hw_put(&w, sc->loc, ln);
		} else {
			xadc_hw_put(&w, b + h->value.off, h->value.len);
		}
		xadc_hw_put(&w, "\r\n", 2);
	}
	wr_edits(&w, ed, ec->rq);
	xadc_hw_put(&w, "\r\n", 2);
	if (w.over)
		return false;
	if (http1_parse_response(sc->head, w.len, &lim, req_method, &scanned, &sc->msg) !=
	    (int)w.len)
		return false;
	res->head = sc->head;
	res->head_len = w.len;
	res->msg = &sc->msg;
	return true;
}

bool xadc_hp_rsp_needs_req_head(const struct xadc_vs *vs)
{
	const struct hp_vs *hv = vs ? vs->http_policies : NULL;

	return hv && hv->rsp_req_head;
}

void xadc_hp_response(const struct xadc_vs *vs, const struct xadc_hp_req *rq,
		      const struct xadc_hp_rsp *rp, uint8_t req_method,
		      struct xadc_hp_result *res)
{
	const struct hp_vs *hv = vs ? vs->http_policies : NULL;
	const struct hp_rule *r, *lr = NULL;
	struct hp_edit_list ed;
	struct hp_eval_ctx ec;
	unsigned i;

	memset(res, 0, sizeof(*res));
	if (!hv || !rp->m || !scratch())
		return;
	ed.n = 0;
	ctx_init(&ec, rq);
	for (i = 0; i < hv->nsets; i++) {
		r = first_match(hv->sets[i], HP_RSP, &ec, rp);
		if (!r)
			continue;
		note_rule(res, r);
		add_edits(&ed, r);
		if (r->redirect.set && rp->m->hdr_idx[H1_HDR_LOCATION] >= 0)
			lr = r;
	}
	if (!ed.n && !lr)
		return;
	if (!build_response(&ec, rp, &ed, lr, req_method, res))
		res->termination = "policy_rewrite_failed";	/* original head kept */
}

/* ------------------------------------------------------------ log */

static void wr_json_str(struct xadc_hw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = {'\\', 'u', '0', '0'};
	size_t i;

	xadc_hw_put(w, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[1] = c;
			xadc_hw_put(w, esc, 2);
			esc[1] = 'u';
		} else if (c < 0x20 || c >= 0x7f) {
			/* bytes >= 0x7f as \u00XX keep the line valid JSON */
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			xadc_hw_put(w, esc, 6);
		} else {
			xadc_hw_put(w, (const char *)&c, 1);
		}
	}
	xadc_hw_put(w, "\"", 1);
}

/* "headers":{name: value, ...}; a repeated name gets its values joined
 * with ", " (JSON objects have unique keys). Stops before cap. */
static void wr_headers(struct xadc_hw *w, const char *b, const struct http1_msg *m)
{
	unsigned i, j;
	size_t good;
	bool first = true, dup;

	xadc_hw_str(w, ",\"headers\":{");
	for (i = 0; i < m->nhdrs && !w->over; i++) {
		const struct http1_header *h = &m->hdrs[i];

		for (dup = false, j = 0; j < i && !dup; j++)
			dup = m->hdrs[j].name.len == h->name.len &&
			      !strncasecmp(b + m->hdrs[j].name.off, b + h->name.off, h->name.len);
		if (dup)
			continue;
		good = w->len;
		if (!first)
			xadc_hw_put(w, ",", 1);
		wr_json_str(w, b + h->name.off, h->name.len);
		xadc_hw_put(w, ":", 1);
		/* the value: every occurrence joined */
		{
			char tmp[4096];
			struct xadc_hw v = {.p = tmp, .cap = sizeof(tmp)};

			for (j = i; j < m->nhdrs; j++) {
				const struct http1_header *k = &m->hdrs[j];

				if (k->name.len != h->name.len ||
				    strncasecmp(b + k->name.off, b + h->name.off, h->name.len))
					continue;
				if (v.len)
					xadc_hw_put(&v, ", ", 2);
				xadc_hw_put(&v, b + k->value.off, k->value.len);
			}
			wr_json_str(w, tmp, v.len);
		}
		if (w->over) {
			w->len = good;
			break;
		}
		first = false;
	}
	/* room for the closing brace was kept by the caller's cap */
	w->over = false;
	xadc_hw_put(w, "}", 1);
}

size_t xadc_hp_log_fragment(const struct xadc_hp_req *rq, bool all_headers, char *out,
			    size_t cap)
{
	struct xadc_hw w = {.p = out, .cap = cap > 8 ? cap - 8 : 0};
	const struct http1_msg *m = rq->m;

	if (!m || cap < 64)
		return 0;
	xadc_hw_str(&w, ",\"significant\":true,\"request\":{\"method\":");
	wr_json_str(&w, rq->buf + m->method.off, m->method.len);
	xadc_hw_str(&w, ",\"uri\":");
	wr_json_str(&w, rq->buf + m->target.off, m->target.len);
	xadc_hw_str(&w, m->version_minor ? ",\"version\":\"HTTP/1.1\"" : ",\"version\":\"HTTP/1.0\"");
	if (w.over)
		return 0;
	if (all_headers)
		wr_headers(&w, rq->buf, m);
	w.cap = cap;
	xadc_hw_put(&w, "}", 1);
	if (w.over)
		return 0;
	out[w.len < cap ? w.len : cap - 1] = '\0';
	return w.len;
}

size_t xadc_hp_log_fragment_rsp(const struct xadc_hp_rsp *rp, bool all_headers, char *out,
				size_t cap)
{
	struct xadc_hw w = {.p = out, .cap = cap > 8 ? cap - 8 : 0};

	if (!rp->m || cap < 64)
		return 0;
	xadc_hw_str(&w, ",\"significant\":true,\"response\":{\"status\":");
	wr_num(&w, rp->m->status);
	if (all_headers)
		wr_headers(&w, rp->buf, rp->m);
	w.cap = cap;
	xadc_hw_put(&w, "}", 1);
	if (w.over)
		return 0;
	out[w.len < cap ? w.len : cap - 1] = '\0';
	return w.len;
}

/* ------------------------------------------------------------ stats */

/* Sum of a rule's hits over every worker's slot. */
static uint64_t rule_hits(const struct hp_set *set, const struct hp_rule *r)
{
	unsigned k, nw = xadc_nworkers ? xadc_nworkers : 1;
	uint64_t sum = 0;

	for (k = 0; k < nw; k++)
		sum += __atomic_load_n(&set->hits[(size_t)k * set->stride + r->slot],
				       __ATOMIC_RELAXED);
	return sum;
}

static json_t *policy_stats(const struct hp_set *set, const struct hp_policy *pol)
{
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; i < pol->nrules; i++) {
		const struct hp_rule *r = &pol->rules[i];

		json_array_append_new(arr, json_pack("{ss sI sI}", "name", r->name, "index",
						     (json_int_t)r->index, "hits",
						     (json_int_t)rule_hits(set, r)));
	}
	return arr;
}

static const struct hp_rule *find_rule(const struct hp_policy *p, const char *name)
{
	unsigned i;

	for (i = 0; i < p->nrules; i++)
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

void xadc_hp_carry_hits(struct xadc_snapshot *next, const struct xadc_snapshot *prev)
{
	const struct hp_db *pdb = prev ? prev->hpsets : NULL;
	struct hp_db *ndb = next ? next->hpsets : NULL;
	const struct hp_rule *old;
	unsigned i, j, t, r;

	for (i = 0; pdb && ndb && i < ndb->nsets; i++) {
		struct hp_set *ns = &ndb->sets[i];

		for (j = 0; j < pdb->nsets && strcmp(pdb->sets[j].name, ns->name); j++)
			;
		if (j == pdb->nsets || !ns->hits || !pdb->sets[j].hits)
			continue;
		for (t = 0; t < HP__NTYPES; t++) {
			for (r = 0; r < ns->pol[t].nrules; r++) {
				old = find_rule(&pdb->sets[j].pol[t], ns->pol[t].rules[r].name);
				/* worker 0's slot: next is not live yet, nobody writes it */
				if (old)
					ns->hits[ns->pol[t].rules[r].slot] =
					    rule_hits(&pdb->sets[j], old);
			}
		}
	}
}

json_t *xadc_hp_stats_json(const struct xadc_snapshot *s)
{
	const struct hp_db *db = s ? s->hpsets : NULL;
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; db && i < db->nsets; i++) {
		const struct hp_set *set = &db->sets[i];

		json_array_append_new(
		    arr, json_pack("{ss so so so}", "name", set->name, "http_security_policy",
				   policy_stats(set, &set->pol[HP_SEC]), "http_request_policy",
				   policy_stats(set, &set->pol[HP_REQ]), "http_response_policy",
				   policy_stats(set, &set->pol[HP_RSP])));
	}
	return arr;
}

/* ------------------------------------------------------------ lookup, free */

struct xadc_ipset *xadc_snapshot_find_ipgroup(const struct xadc_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; s && i < s->nipgroups; i++)
		if (!strcmp(s->ipgroups[i].name, name))
			return s->ipgroups[i].set;
	return NULL;
}

struct xadc_strset *xadc_snapshot_find_strgroup(const struct xadc_snapshot *s,
						const char *name)
{
	unsigned i;

	for (i = 0; s && i < s->nstrgroups; i++)
		if (!strcmp(s->strgroups[i].name, name))
			return s->strgroups[i].set;
	return NULL;
}

static void free_strmatch(struct hp_strmatch *sm)
{
	xadc_strset_free(sm->lit);
	sm->lit = NULL;
}

static void free_uriparam(struct hp_uriparam *up)
{
	unsigned i;

	for (i = 0; i < up->ntok; i++)
		free(up->tok[i].str);
	up->ntok = 0;
}

static void free_redirect(struct hp_redirect *rd)
{
	free_uriparam(&rd->host);
	free_uriparam(&rd->path);
}

void hp_free_rule(struct hp_rule *r)
{
	struct hp_match *mt = &r->match;
	unsigned i;

	free_strmatch(&mt->path);
	free_strmatch(&mt->query);
	free_strmatch(&mt->host);
	free_strmatch(&mt->cookie);
	free_strmatch(&mt->loc);
	for (i = 0; mt->hdrs && i < mt->nhdrs; i++)
		free_strmatch(&mt->hdrs[i]);
	free(mt->hdrs);
	for (i = 0; mt->rsp_hdrs && i < mt->nrsp_hdrs; i++)
		free_strmatch(&mt->rsp_hdrs[i]);
	free(mt->rsp_hdrs);
	if (mt->cip.own)
		xadc_ipset_free(mt->cip.own);
	free(r->file.ctype);
	free(r->file.body);
	free(r->sw_file.ctype);
	free(r->sw_file.body);
	hp_rl_free(r->rl);
	free_redirect(&r->rl_redirect);
	free_redirect(&r->redirect);
	free_uriparam(&r->rw_host);
	free_uriparam(&r->rw_path);
	free(r->rw_add);
	for (i = 0; i < r->nhdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].val);
	}
}

void hp_free_set_contents(struct hp_set *set)
{
	unsigned t, i;

	for (t = 0; t < HP__NTYPES; t++) {
		for (i = 0; set->pol[t].rules && i < set->pol[t].nrules; i++)
			hp_free_rule(&set->pol[t].rules[i]);
		free(set->pol[t].rules);
	}
	free(set->hits);
	memset(set, 0, sizeof(*set));
}

void xadc_policy_snapshot_free(struct xadc_snapshot *s)
{
	struct hp_db *db = s->hpsets;
	unsigned i;

	for (i = 0; s->vs && i < s->nvs; i++) {
		free(s->vs[i].http_policies);
		s->vs[i].http_policies = NULL;
	}
	if (db) {
		for (i = 0; i < db->nsets; i++)
			hp_free_set_contents(&db->sets[i]);
		free(db->sets);
		free(db);
		s->hpsets = NULL;
	}
	for (i = 0; s->strgroups && i < s->nstrgroups; i++)
		xadc_strset_free(s->strgroups[i].set);
	free(s->strgroups);
	for (i = 0; s->ipgroups && i < s->nipgroups; i++)
		if (s->ipgroups[i].set)
			xadc_ipset_free(s->ipgroups[i].set);
	free(s->ipgroups);
	s->strgroups = s->ipgroups = NULL;
	s->nstrgroups = s->nipgroups = 0;
}
