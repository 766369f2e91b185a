// SPDX-License-Identifier: GPL-2.0
/*
 * test_datascript.c - DataScript runtime against an in-memory request:
 * the avi.* API, the sandbox, budget and memory containment, compile
 * errors, reqvar lifetime and table TTLs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <strings.h>

#include "../../datascript/datascript.h"
#include "../../policy/dataset.h"
#include "test_progs.h"

/* ------------------------------------------------------------ fake proxy */

#define FH 32

struct fhdr {
	char n[64], v[512];
};

struct fake {
	char method[16], uri[512], version[8];
	struct fhdr h[2][FH];
	unsigned nh[2];
	int status;
	int resp_status;
	struct fhdr resp_h[8];
	unsigned nresp_h;
	char resp_body[256];
	bool closed, reset;
	struct xadc_pool *sel_pool;
	const struct xadc_server *sel_srv;
	const char *body;
	const char *rbody;		/* held response body (HTTP_RESP_DATA) */
};

static void f_req_line(void *p, const char **m, size_t *ml, const char **u, size_t *ul,
		       const char **v, size_t *vl)
{
	struct fake *f = p;

	*m = f->method;
	*ml = strlen(f->method);
	*u = f->uri;
	*ul = strlen(f->uri);
	*v = f->version;
	*vl = strlen(f->version);
}

static bool f_hdr_at(void *p, int which, unsigned i, struct xadc_ds_hdr *h)
{
	struct fake *f = p;

	if (i >= f->nh[which])
		return false;
	h->name = f->h[which][i].n;
	h->name_len = strlen(h->name);
	h->value = f->h[which][i].v;
	h->value_len = strlen(h->value);
	return true;
}

static int f_hdr_add(void *p, int which, const char *n, size_t nl, const char *v, size_t vl)
{
	struct fake *f = p;
	struct fhdr *h;

	if (f->nh[which] == FH || nl >= 64 || vl >= 512)
		return -ENOSPC;
	h = &f->h[which][f->nh[which]++];
	memcpy(h->n, n, nl);
	h->n[nl] = 0;
	memcpy(h->v, v, vl);
	h->v[vl] = 0;
	return 0;
}

static int f_hdr_remove(void *p, int which, const char *n, size_t nl, const char *v, size_t vl)
{
	struct fake *f = p;
	unsigned i = 0;
	int cnt = 0;

	while (i < f->nh[which]) {
		struct fhdr *h = &f->h[which][i];

		if (strlen(h->n) == nl && !strncasecmp(h->n, n, nl) &&
		    (!v || (strlen(h->v) == vl && !memcmp(h->v, v, vl)))) {
			memmove(h, h + 1, (f->nh[which] - i - 1) * sizeof(*h));
			f->nh[which]--;
			cnt++;
			continue;
		}
		i++;
	}
	return cnt;
}

static int f_set_uri(void *p, const char *u, size_t n)
{
	struct fake *f = p;

	if (n >= sizeof(f->uri))
		return -ENOSPC;
	memcpy(f->uri, u, n);
	f->uri[n] = 0;
	return 0;
}

static int f_status(void *p)
{
	return ((struct fake *)p)->status;
}

static int f_respond(void *p, int status, const struct xadc_ds_hdr *h, unsigned n,
		     const char *body, size_t blen)
{
	struct fake *f = p;
	unsigned i;

	f->resp_status = status;
	f->nresp_h = 0;
	for (i = 0; i < n && i < 8; i++) {
		snprintf(f->resp_h[i].n, 64, "%.*s", (int)h[i].name_len, h[i].name);
		snprintf(f->resp_h[i].v, 512, "%.*s", (int)h[i].value_len, h[i].value);
		f->nresp_h++;
	}
	snprintf(f->resp_body, sizeof(f->resp_body), "%.*s", (int)blen, body ? body : "");
	return 0;
}

static int f_close(void *p, bool reset)
{
	struct fake *f = p;

	f->closed = true;
	f->reset = reset;
	return 0;
}

static int f_select(void *p, struct xadc_pool *pool, const struct xadc_server *srv)
{
	struct fake *f = p;

	f->sel_pool = pool;
	f->sel_srv = srv;
	return 0;
}

static size_t f_body(void *p, const char **d, size_t max)
{
	struct fake *f = p;
	size_t n = f->body ? strlen(f->body) : 0;

	*d = f->body;
	return n < max ? n : max;
}

static size_t f_rbody(void *p, const char **d, size_t max)
{
	struct fake *f = p;
	size_t n = f->rbody ? strlen(f->rbody) : 0;

	*d = f->rbody;
	return n < max ? n : max;
}

static const struct xadc_ds_ops fops = {
	.req_line = f_req_line,
	.hdr_at = f_hdr_at,
	.hdr_add = f_hdr_add,
	.hdr_remove = f_hdr_remove,
	.set_uri = f_set_uri,
	.status = f_status,
	.respond = f_respond,
	.close_conn = f_close,
	.select = f_select,
	.req_body = f_body,
	.resp_body = f_rbody,
};

static struct fake F;
static struct xadc_ds_txn TX;
static union xadc_sockaddr CLI, VIP;
static struct xadc_ds_ctx CTX;
static uint64_t NOW = 1000000;

static void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	strcpy(F.method, "GET");
	strcpy(F.uri, "/shop/cart/view?id=42&x=a%20b&id=7");
	strcpy(F.version, "1.1");
	f_hdr_add(&F, XADC_DS_REQ, "Host", 4, "www.example.com:8080", 20);
	f_hdr_add(&F, XADC_DS_REQ, "User-Agent", 10, "curl/8", 6);
	f_hdr_add(&F, XADC_DS_REQ, "Cookie", 6, "a=1; sess=xyz", 13);
	f_hdr_add(&F, XADC_DS_REQ, "Accept", 6, "text/html", 9);
	f_hdr_add(&F, XADC_DS_REQ, "Accept", 6, "*/*", 3);
	xadc_ds_txn_init(&TX, 0);
	CLI.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.10", &CLI.in.sin_addr);
	CLI.in.sin_port = htons(40000);
	VIP.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.1.1", &VIP.in.sin_addr);
	VIP.in.sin_port = htons(80);
	CTX = (struct xadc_ds_ctx){ .ops = &fops, .priv = &F, .worker = 0, .gen = 1,
				    .now_ms = NOW, .txn = &TX, .vs_name = "vs1",
				    .client = &CLI, .vip = &VIP, .request_id = 0x10000000000abcULL };
}

/* What a set needs besides scripts; tests fill what they use. */
static struct xadc_ds_set_params P;

static struct xadc_ds_vs *mkvs(const char *name, enum xadc_ds_evt evt, const char *src)
{
	struct xadc_ds_script_src sc = { evt, src };
	struct xadc_ds_set_params p = P;
	struct xadc_ds_vs *dv;
	struct xadc_ds_set *set;
	char err[512];

	p.name = name;
	p.scripts = &sc;
	p.nscripts = 1;
	set = xadc_ds_set_compile(&p, err, sizeof(err));
	if (!set) {
		printf("# compile: %s\n", err);
		return NULL;
	}
	dv = xadc_ds_vs_new("vs1");
	if (dv && xadc_ds_vs_add(dv, set))
		dv = NULL;
	return dv;
}

/* Run src at evt on the fake request; returns the verdict. */
static int run(enum xadc_ds_evt evt, const char *src)
{
	struct xadc_ds_vs *dv = mkvs("ds1", evt, src);
	int v;

	if (!dv)
		return -1;
	v = xadc_ds_run(dv, evt, &CTX);
	xadc_ds_vs_free(dv);
	return v;
}

/* Request header value in the fake, or NULL. */
static const char *hdr(int which, const char *name)
{
	unsigned i;

	for (i = 0; i < F.nh[which]; i++)
		if (!strcasecmp(F.h[which][i].n, name))
			return F.h[which][i].v;
	return NULL;
}

/* Scripts report results through headers they add: X-R. */
#define R(expr) "avi.http.add_header('X-R', tostring(" expr "))"

/* ------------------------------------------------------------ tests */

TEST(headers)
{
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      "local h = avi.http.get_header('user-agent')\n"
		      "local all = avi.http.get_header()\n"
		      "avi.http.add_header('X-UA', h)\n"
		      "avi.http.add_header('X-Acc', all['Accept'])\n"
		      "avi.http.replace_header('Accept', 'application/json')\n"
		      "avi.http.remove_header('Cookie')\n"
		      "avi.http.add_header('X-Missing', tostring(avi.http.get_header('nope')))\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(hdr(0, "X-UA"), "curl/8", "get_header by name, any case");
	ASSERT_STREQ(hdr(0, "X-Acc"), "text/html, */*", "table of all, repeated combined");
	ASSERT_STREQ(hdr(0, "Accept"), "application/json", "replace");
	ASSERT_NULL(hdr(0, "Cookie"), "remove");
	ASSERT_STREQ(hdr(0, "X-Missing"), "nil", "absent header is nil");

	/* injection refused, request untouched */
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.add_header('X-A', 'v\\r\\nEvil: 1')"),
		  XADC_DS_ERROR, "CRLF in value is an error");
	ASSERT_NULL(hdr(0, "X-A"), "not added");
	ASSERT_TRUE(strstr(TX.err, "CR, LF") != NULL, "error says why");

	/* response event: own side by default, request side on demand */
	fake_reset();
	F.status = 404;
	f_hdr_add(&F, XADC_DS_RESP, "Server", 6, "nginx", 5);
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP,
		      "avi.http.add_header('X-Srv', avi.http.get_header('Server'))\n"
		      "avi.http.add_header('X-UA', avi.http.get_header('User-Agent', avi.HTTP_REQUEST))\n"
		      "avi.http.add_header('X-St', tostring(avi.http.status()))\n"
		      "avi.http.remove_header('Server')\n"),
		  XADC_DS_CONTINUE, "resp verdict");
	ASSERT_STREQ(hdr(1, "X-Srv"), "nginx", "response header read");
	ASSERT_STREQ(hdr(1, "X-UA"), "curl/8", "request header during response");
	ASSERT_STREQ(hdr(1, "X-St"), "404", "status");
	ASSERT_NULL(hdr(1, "Server"), "response header removed");
	ASSERT_NULL(hdr(0, "X-Srv"), "request side untouched");
}

TEST(cookies)
{
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      "avi.http.add_header('X-S', avi.http.get_cookie('sess'))\n"
		      "avi.http.add_header('X-N', table.concat(avi.http.get_cookie_names(), ','))\n"
		      "avi.http.add_header('X-E', tostring(avi.http.cookie_exists('a')) .. "
		      "tostring(avi.http.cookie_exists('zz')))\n"
		      "avi.http.replace_cookie('a', '2')\n"
		      "avi.http.add_cookie('new', 'v')\n"
		      "avi.http.remove_cookie('sess')\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(hdr(0, "X-S"), "xyz", "get_cookie");
	ASSERT_STREQ(hdr(0, "X-N"), "a,sess", "names in order");
	ASSERT_STREQ(hdr(0, "X-E"), "truefalse", "cookie_exists");
	ASSERT_STREQ(hdr(0, "Cookie"), "a=2; new=v", "Cookie rebuilt");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP, "avi.http.add_cookie('sid', 'abc; Path=/')"),
		  XADC_DS_CONTINUE, "resp verdict");
	ASSERT_STREQ(hdr(1, "Set-Cookie"), "sid=abc; Path=/", "Set-Cookie in response");
}

TEST(uri)
{
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      R("avi.http.get_uri()") "\n" R("avi.http.get_path()") "\n"
		      R("avi.http.get_query()") "\n" R("avi.http.get_query('id')") "\n"
		      R("avi.http.get_query('x', true)") "\n"
		      R("avi.http.get_query(avi.QUERY_TABLE)['id']") "\n"
		      R("avi.http.get_path_tokens(2)") "\n"
		      R("#avi.http.get_path_tokens()") "\n"
		      R("avi.http.get_path_tokens(1, 2)") "\n"
		      R("avi.http.hostname()") "\n"
		      R("avi.http.get_host_tokens(2)") "\n"
		      "avi.http.set_path('/new/p')\n"
		      R("avi.http.get_uri()") "\n"
		      "avi.http.set_query({k='v'})\n"
		      R("avi.http.get_uri()") "\n"
		      "avi.http.set_query('')\n"
		      R("avi.http.get_uri()") "\n"),
		  XADC_DS_CONTINUE, "verdict");
	{
		static const char *const want[] = {
			"/shop/cart/view?id=42&x=a%20b&id=7", "/shop/cart/view",
			"id=42&x=a%20b&id=7", "42", "a b", "42", "cart/view", "3", "shop/cart",
			"www.example.com", "example.com", "/new/p?id=42&x=a%20b&id=7",
			"/new/p?k=v", "/new/p",
		};
		unsigned i, k = 0;

		for (i = 0; i < F.nh[0]; i++) {
			if (strcmp(F.h[0][i].n, "X-R"))
				continue;
			if (k < ARRAY_SIZE(want))
				ASSERT_STREQ(F.h[0][i].v, want[k], want[k]);
			k++;
		}
		ASSERT_EQ(k, ARRAY_SIZE(want), "every result reported");
	}
	ASSERT_STREQ(F.uri, "/new/p", "set_uri reached the proxy");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.set_query({a='1', b='2', c='3'})"),
		  XADC_DS_CONTINUE, "set_query from a table");
	ASSERT_TRUE(!strncmp(F.uri, "/shop/cart/view?", 16) && strlen(F.uri) == 16 + 11 &&
		    strstr(F.uri, "a=1") && strstr(F.uri, "b=2") && strstr(F.uri, "c=3") &&
		    strstr(F.uri, "&"), F.uri);

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.set_uri('/a b')"), XADC_DS_ERROR,
		  "space in uri refused");
	ASSERT_STREQ(F.uri, "/shop/cart/view?id=42&x=a%20b&id=7", "uri unchanged");
}

TEST(facts)
{
	fake_reset();
	F.body = "name=value&more";
	CTX.secure = true;
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      R("avi.http.method()") "\n" R("avi.http.version()") "\n"
		      R("avi.http.protocol()") "\n" R("avi.http.secure()") "\n"
		      R("avi.http.status()") "\n" R("avi.http.get_request_id()") "\n"
		      R("avi.http.get_req_body(4)") "\n"
		      R("avi.vs.client_ip()") "\n" R("avi.vs.client_port()") "\n"
		      R("avi.vs.ip()") "\n" R("avi.vs.port()") "\n" R("avi.vs.name()") "\n"),
		  XADC_DS_CONTINUE, "verdict");
	{
		static const char *const want[] = {
			"GET", "1.1", "https", "true", "nil", "0010000000000abc", "name",
			"198.18.0.10", "40000", "198.18.1.1", "80", "vs1",
		};
		unsigned i, k = 0;

		for (i = 0; i < F.nh[0]; i++) {
			if (strcmp(F.h[0][i].n, "X-R"))
				continue;
			if (k < ARRAY_SIZE(want))
				ASSERT_STREQ(F.h[0][i].v, want[k], want[k]);
			k++;
		}
		ASSERT_EQ(k, ARRAY_SIZE(want), "every result reported");
	}
}

/* HTTP_REQ_DATA: the held body through get_req_body, whole or cut at n;
 * a body rule answers; the VS keeps the largest bound of its REQ_DATA sets. */
TEST(req_data_body)
{
	struct xadc_ds_vs *dv;

	fake_reset();
	F.body = "{\"user\":\"alice\",\"note\":\"hi\"}";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ_DATA,
		      "local b = avi.http.get_req_body()\n"
		      "avi.http.add_header('X-Len', tostring(#b))\n"
		      "avi.http.add_header('X-Head', avi.http.get_req_body(9))\n"
		      "avi.http.add_header('X-Zero', '[' .. avi.http.get_req_body(0) .. ']')\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(hdr(XADC_DS_REQ, "X-Len"), "28", "no n: the whole body");
	ASSERT_STREQ(hdr(XADC_DS_REQ, "X-Head"), "{\"user\":\"", "n = 9: the first 9 bytes");
	ASSERT_STREQ(hdr(XADC_DS_REQ, "X-Zero"), "[]", "n = 0: empty");

	fake_reset();
	F.body = "{\"cmd\":\"drop table\"}";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ_DATA,
		      "if string.contains(avi.http.get_req_body(), 'drop') then\n"
		      "  avi.http.response(403, {}, 'blocked')\nend\n"),
		  XADC_DS_ANSWERED, "a body rule answers");
	ASSERT_EQ(F.resp_status, 403, "403");
	ASSERT_STREQ(F.resp_body, "blocked", "its body");

	ASSERT_EQ(xadc_ds_evt_parse("VS_DATASCRIPT_EVT_HTTP_REQ_DATA"), XADC_DS_EVT_HTTP_REQ_DATA,
		  "HTTP_REQ_DATA parses");
	P.req_body_buf = 200000;
	dv = mkvs("big", XADC_DS_EVT_HTTP_REQ_DATA, "return");
	P.req_body_buf = 0;
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->req_body_buf, 200000u, "the VS takes the set's bound");
		xadc_ds_vs_free(dv);
	}
	dv = mkvs("small", XADC_DS_EVT_HTTP_REQ_DATA, "return");
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->req_body_buf, XADC_DS_DEF_BODY_BUF, "default bound 64 KiB");
		xadc_ds_vs_free(dv);
	}
	dv = mkvs("req", XADC_DS_EVT_HTTP_REQ, "return");
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->req_body_buf, 0u, "no HTTP_REQ_DATA script: no body held");
		xadc_ds_vs_free(dv);
	}
}

/* HTTP_RESP_DATA: get_resp_body whole or cut at n, response headers are the
 * event's side, a body rule replaces the response, redirect is refused; the
 * VS keeps the largest resp_body_buffer_size of its RESP_DATA sets only. */
TEST(resp_data_body)
{
	struct xadc_ds_vs *dv;

	fake_reset();
	F.status = 200;
	F.body = "request body";
	F.rbody = "<html>hello world</html>";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP_DATA,
		      "local b = avi.http.get_resp_body()\n"
		      "avi.http.add_header('X-Len', tostring(#b))\n"
		      "avi.http.add_header('X-Head', avi.http.get_resp_body(6))\n"
		      "avi.http.add_header('X-Status', tostring(avi.http.status()))\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(hdr(XADC_DS_RESP, "X-Len"), "24", "no n: the whole response body");
	ASSERT_STREQ(hdr(XADC_DS_RESP, "X-Head"), "<html>", "n = 6: the first 6 bytes");
	ASSERT_STREQ(hdr(XADC_DS_RESP, "X-Status"), "200", "status readable");
	ASSERT_TRUE(hdr(XADC_DS_REQ, "X-Len") == NULL, "headers go to the response side");

	fake_reset();
	F.rbody = "account number 1234 is secret";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP_DATA,
		      "if string.contains(avi.http.get_resp_body(), 'secret') then\n"
		      "  avi.http.response(451, {['X-DS']='rb'}, 'withheld')\nend\n"),
		  XADC_DS_ANSWERED, "a response body rule answers");
	ASSERT_EQ(F.resp_status, 451, "451");
	ASSERT_STREQ(F.resp_body, "withheld", "its body");

	fake_reset();
	F.rbody = "x";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP_DATA, "avi.http.redirect('/elsewhere')"),
		  XADC_DS_ERROR, "redirect is not possible once the server answered");

	fake_reset();
	F.rbody = "response";
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP,
		      "avi.http.add_header('X-Len', tostring(#avi.http.get_resp_body()))"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(hdr(XADC_DS_RESP, "X-Len"), "0", "get_resp_body outside HTTP_RESP_DATA: empty");

	ASSERT_EQ(xadc_ds_evt_parse("VS_DATASCRIPT_EVT_HTTP_RESP_DATA"),
		  XADC_DS_EVT_HTTP_RESP_DATA, "HTTP_RESP_DATA parses");
	P.resp_body_buf = 300000;
	dv = mkvs("rbig", XADC_DS_EVT_HTTP_RESP_DATA, "return");
	P.resp_body_buf = 0;
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->resp_body_buf, 300000u, "the VS takes the set's bound");
		ASSERT_EQ(dv->req_body_buf, 0u, "no request body bound without REQ_DATA");
		xadc_ds_vs_free(dv);
	}
	dv = mkvs("rsmall", XADC_DS_EVT_HTTP_RESP_DATA, "return");
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->resp_body_buf, XADC_DS_DEF_BODY_BUF, "default bound 64 KiB");
		xadc_ds_vs_free(dv);
	}
	dv = mkvs("rresp", XADC_DS_EVT_HTTP_RESP, "return");
	ASSERT_TRUE(dv != NULL, "set compiled");
	if (dv) {
		ASSERT_EQ(dv->resp_body_buf, 0u, "no HTTP_RESP_DATA script: no body held");
		xadc_ds_vs_free(dv);
	}
}

TEST(terminal_actions)
{
	struct xadc_ds_script_src sc[2] = {
		{ XADC_DS_EVT_HTTP_REQ,
		  "avi.http.response(403, {['Content-Type']='text/plain', ['X-Why']='policy'}, 'no')" },
		{ XADC_DS_EVT_HTTP_REQ, "avi.http.add_header('X-Second', 'ran')" },
	};
	struct xadc_ds_set_params p = { .name = "t", .scripts = sc, .nscripts = 2 };
	struct xadc_ds_vs *dv;
	char err[256];
	unsigned i;
	bool why = false;

	fake_reset();
	dv = xadc_ds_vs_new("vs1");
	ASSERT_OK(xadc_ds_vs_add(dv, xadc_ds_set_compile(&p, err, sizeof(err))), "add");
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_ANSWERED, "answered");
	xadc_ds_vs_free(dv);
	ASSERT_EQ(F.resp_status, 403, "status");
	ASSERT_STREQ(F.resp_body, "no", "body");
	for (i = 0; i < F.nresp_h; i++)
		why |= !strcmp(F.resp_h[i].n, "X-Why") && !strcmp(F.resp_h[i].v, "policy");
	ASSERT_TRUE(why, "response header");
	ASSERT_NULL(hdr(0, "X-Second"), "later script of the event did not run");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.redirect('https://x.example/a', 301)"),
		  XADC_DS_ANSWERED, "redirect");
	ASSERT_EQ(F.resp_status, 301, "redirect status");
	ASSERT_STREQ(F.resp_h[0].n, "Location", "Location name");
	ASSERT_STREQ(F.resp_h[0].v, "https://x.example/a", "Location value");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.redirect('/x', 200)"), XADC_DS_ERROR,
		  "200 is not a redirect");
	ASSERT_EQ(F.resp_status, 0, "nothing sent");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.close_conn(true)"), XADC_DS_ANSWERED,
		  "close");
	ASSERT_TRUE(F.closed && F.reset, "closed with reset");
}

TEST(log_and_json)
{
	char buf[2048];

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.vs.log('hello', 42)\n"
					    "avi.vs.log('say \"hi\"', avi.SIG_ENABLE)\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(TX.log, "hello 42\nsay \"hi\"", "log lines");
	ASSERT_TRUE(TX.significant, "SIG_ENABLE marks significant");
	xadc_ds_txn_json(&TX, buf, sizeof(buf));
	ASSERT_STREQ(buf, ",\"datascript_log\":\"hello 42\\nsay \\\"hi\\\"\",\"significant\":true",
		     "extra_json");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.vs.log('plain')"), XADC_DS_CONTINUE, "v2");
	ASSERT_FALSE(TX.significant, "not significant without SIG_ENABLE");
	xadc_ds_txn_json(&TX, buf, sizeof(buf));
	ASSERT_STREQ(buf, ",\"datascript_log\":\"plain\"", "no significant field");
}

TEST(reqvar_lifetime)
{
	struct xadc_ds_script_src sc[2] = {
		{ XADC_DS_EVT_HTTP_REQ,
		  "avi.http.add_header('X-Before', tostring(avi.vs.reqvar.user))\n"
		  "avi.vs.reqvar.user = avi.http.get_cookie('sess')" },
		{ XADC_DS_EVT_HTTP_RESP, "avi.http.add_header('X-User', tostring(avi.vs.reqvar.user))" },
	};
	struct xadc_ds_set_params p = { .name = "rv", .scripts = sc, .nscripts = 2 };
	struct xadc_ds_vs *dv = xadc_ds_vs_new("vs1");
	char err[256];

	ASSERT_OK(xadc_ds_vs_add(dv, xadc_ds_set_compile(&p, err, sizeof(err))), "add");
	fake_reset();
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "req");
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_RESP, &CTX), XADC_DS_CONTINUE, "resp");
	ASSERT_STREQ(hdr(0, "X-Before"), "nil", "empty at the start");
	ASSERT_STREQ(hdr(1, "X-User"), "xyz", "carried from request to response");
	xadc_ds_txn_end(&TX);

	/* next transaction starts empty */
	fake_reset();
	strcpy(F.h[0][2].v, "sess=other");
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "req2");
	ASSERT_STREQ(hdr(0, "X-Before"), "nil", "not leaked from the previous transaction");
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_RESP, &CTX), XADC_DS_CONTINUE, "resp2");
	ASSERT_STREQ(hdr(1, "X-User"), "other", "its own value");
	xadc_ds_txn_end(&TX);
	xadc_ds_vs_free(dv);
}

TEST(table_ttl)
{
	struct xadc_ds_vs *dv = mkvs("tt", XADC_DS_EVT_HTTP_REQ,
				     "local op, a, b, c = avi.http.get_header('X-Op'), "
				     "avi.http.get_header('X-A'), avi.http.get_header('X-B'), "
				     "avi.http.get_header('X-C')\n"
				     "if op == 'ins' then " R("avi.vs.table_insert(a, b, tonumber(c))") "\n"
				     "elseif op == 'ins_t' then " R("avi.vs.table_insert('t2', a, b, 50)") "\n"
				     "elseif op == 'num' then " R("avi.vs.table_insert(a, 7)") "\n"
				     "elseif op == 'look' then local v, l = avi.vs.table_lookup(a)\n"
				     "  avi.http.add_header('X-R', tostring(v) .. '/' .. tostring(l))\n"
				     "elseif op == 'peek' then local v, l = avi.vs.table_lookup(a, false)\n"
				     "  avi.http.add_header('X-R', tostring(v) .. '/' .. tostring(l))\n"
				     "elseif op == 'look_t' then local v = avi.vs.table_lookup('t2', a)\n"
				     "  avi.http.add_header('X-R', tostring(v))\n"
				     "elseif op == 'type' then " R("type(avi.vs.table_lookup(a))") "\n"
				     "elseif op == 'ref' then " R("avi.vs.table_refresh(a, 100)") "\n"
				     "elseif op == 'rm' then " R("avi.vs.table_remove(a)") "\n"
				     "end\n");
	struct {
		uint64_t t;
		const char *op, *a, *b, *c, *want;
	} steps[] = {
		{ 0, "ins", "k", "v1", "10", "true" },		/* new key */
		{ 0, "look", "k", "", "", "v1/10" },
		{ 4000, "peek", "k", "", "", "v1/6" },		/* no extension */
		{ 4000, "ins", "k", "v2", "10", "false" },	/* exists: value kept, lifetime reset */
		{ 4000, "peek", "k", "", "", "v1/10" },
		{ 9000, "look", "k", "", "", "v1/10" },		/* lookup extends */
		{ 18000, "look", "k", "", "", "v1/10" },	/* still there thanks to the lookup */
		{ 28001, "look", "k", "", "", "nil/nil" },	/* expired */
		{ 28001, "ins", "k", "v3", "5", "true" },	/* new again after expiry */
		{ 28001, "ref", "k", "", "", "true" },
		{ 120000, "peek", "k", "", "", "v3/9" },	/* refreshed to 100 s at 28 s */
		{ 120000, "rm", "k", "", "", "true" },
		{ 120000, "rm", "k", "", "", "false" },
		{ 120000, "ins_t", "k", "named", "", "true" },	/* named table: other key space */
		{ 120000, "look", "k", "", "", "nil/nil" },
		{ 120000, "look_t", "k", "", "", "named" },
		{ 120000, "num", "n", "", "", "true" },
		{ 120000, "type", "n", "", "", "number" },	/* numbers come back as numbers */
	};
	unsigned i;

	ASSERT_NOT_NULL(dv, "compiled");
	for (i = 0; dv && i < ARRAY_SIZE(steps); i++) {
		char name[64];

		fake_reset();
		CTX.now_ms = NOW + steps[i].t;
		f_hdr_add(&F, 0, "X-Op", 4, steps[i].op, strlen(steps[i].op));
		f_hdr_add(&F, 0, "X-A", 3, steps[i].a, strlen(steps[i].a));
		f_hdr_add(&F, 0, "X-B", 3, steps[i].b, strlen(steps[i].b));
		f_hdr_add(&F, 0, "X-C", 3, steps[i].c, strlen(steps[i].c));
		snprintf(name, sizeof(name), "step %u %s at +%llu ms", i, steps[i].op,
			 (unsigned long long)steps[i].t);
		ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, name);
		ASSERT_STREQ(hdr(0, "X-R"), steps[i].want, name);
	}
	xadc_ds_vs_free(dv);
}

TEST(tables_shared_per_vs)
{
	struct xadc_ds_vs *a = mkvs("w", XADC_DS_EVT_HTTP_REQ, "avi.vs.table_insert('shared', 'yes')");
	struct xadc_ds_vs *b = mkvs("r", XADC_DS_EVT_HTTP_REQ, R("avi.vs.table_lookup('shared')"));

	fake_reset();
	ASSERT_EQ(xadc_ds_run(a, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "write");
	CTX.worker = 1;	/* another worker, another Lua state, same VS store */
	ASSERT_EQ(xadc_ds_run(b, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "read");
	ASSERT_STREQ(hdr(0, "X-R"), "yes", "seen from another worker");
	ASSERT_NEQ(xadc_ds_worker_epoch(0), xadc_ds_worker_epoch(1), "two states");
	xadc_ds_worker_fini(1);
	xadc_ds_vs_free(a);
	xadc_ds_vs_free(b);
}

TEST(rate_limit)
{
	struct xadc_ds_ratelimiter rl = { .name = "per-client", .count = 3, .period_s = 10,
					  .action = XADC_DS_RL_LOCAL_RSP, .status = 429 };
	struct xadc_ds_vs *dv;
	int i, answered = 0, passed = 0;

	P = (struct xadc_ds_set_params){ .rls = &rl, .nrls = 1 };
	dv = mkvs("rl", XADC_DS_EVT_HTTP_REQ,
		  "avi.vs.rate_limit(avi.RL_CUSTOM_STRING, avi.vs.client_ip())");
	P = (struct xadc_ds_set_params){};
	for (i = 0; i < 5; i++) {
		fake_reset();
		CTX.now_ms = NOW + 50000;
		switch (xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX)) {
		case XADC_DS_ANSWERED:
			answered += F.resp_status == 429;
			break;
		case XADC_DS_CONTINUE:
			passed++;
			break;
		case XADC_DS_ERROR:
			break;
		}
	}
	ASSERT_EQ(passed, 3, "count requests pass");
	ASSERT_EQ(answered, 2, "then 429");
	/* another client has its own bucket; after a period the first is refilled */
	fake_reset();
	CTX.now_ms = NOW + 50000;
	inet_pton(AF_INET, "198.18.0.11", &CLI.in.sin_addr);
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "other client");
	fake_reset();
	CTX.now_ms = NOW + 60000;
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE, "refilled");
	xadc_ds_vs_free(dv);

	P = (struct xadc_ds_set_params){ .rls = &rl, .nrls = 1 };
	dv = mkvs("rl2", XADC_DS_EVT_HTTP_REQ,
		  "for i = 1, 5 do avi.http.add_header('X-R', "
		  "tostring(avi.vs.rate_limit(avi.RL_CUSTOM_STRING, 'k', true))) end");
	P = (struct xadc_ds_set_params){};
	fake_reset();
	ASSERT_EQ(xadc_ds_run(dv, XADC_DS_EVT_HTTP_REQ, &CTX), XADC_DS_CONTINUE,
		  "defer: the script decides");
	ASSERT_STREQ(F.h[0][F.nh[0] - 1].v, "true", "fifth is over the limit");
	ASSERT_STREQ(F.h[0][F.nh[0] - 3].v, "false", "third is not");
	xadc_ds_vs_free(dv);
}

TEST(pools)
{
	struct xadc_rt rt[3] = {};
	struct xadc_server srv[3] = {};
	struct xadc_pool pa = {}, pb = {};
	struct xadc_pool *refs[1] = { &pa };
	int i;

	strcpy(pa.name, "poolA");
	strcpy(pb.name, "poolB");
	for (i = 0; i < 3; i++) {
		srv[i].addr.in.sin_family = AF_INET;
		srv[i].addr.in.sin_port = htons(8080 + i);
		inet_pton(AF_INET, "198.18.2.1", &srv[i].addr.in.sin_addr);
		srv[i].enabled = true;
		srv[i].rt = &rt[i];
		atomic_store(&rt[i].up, i != 1);
		srv[i].pool = &pa;
	}
	pa.servers = srv;
	pa.nservers = 3;
	P = (struct xadc_ds_set_params){ .pools = refs, .npools = 1 };
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      "local up, total = avi.pool.get_servers('poolA')\n"
		      "avi.http.add_header('X-R', up .. '/' .. total)\n"
		      R("avi.pool.get_server_status('poolA', '198.18.2.1', 8081)") "\n"
		      R("avi.pool.get_server_status('poolA', '198.18.9.9')") "\n"
		      "avi.pool.select('poolA', '198.18.2.1', 8082)\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(F.h[0][F.nh[0] - 3].v, "2/3", "get_servers");
	ASSERT_STREQ(F.h[0][F.nh[0] - 2].v, "false", "down server");
	ASSERT_STREQ(F.h[0][F.nh[0] - 1].v, "nil", "unknown server");
	ASSERT_TRUE(F.sel_pool == &pa && F.sel_srv == &srv[2], "select pool and server");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.pool.select('poolB')"), XADC_DS_ERROR,
		  "unreferenced pool");
	ASSERT_NULL(F.sel_pool, "nothing selected");
	ASSERT_TRUE(strstr(TX.err, "pool 'poolB' is not in pool_refs") != NULL, TX.err);
	P = (struct xadc_ds_set_params){};
}

TEST(groups)
{
	struct xadc_str_entry e[] = {
		{ "/api", 4, "api-pool", 8 }, { "/api/v2", 7, "v2-pool", 7 },
		{ ".jpg", 4, "img", 3 },
	};
	struct xadc_named_set sg = { .name = "routes", .keyval = true }, ig = { .name = "office" };
	const struct xadc_named_set *sgs[1] = { &sg }, *igs[1] = { &ig };
	union xadc_sockaddr pfx = {};
	json_t *err = NULL;

	sg.set = xadc_strset_build("stringgroup[routes]", e, 3, XADC_SOP_ALL & ~(XADC_SOP_BIT(XADC_SOP_REGEX, 0) | XADC_SOP_BIT(XADC_SOP_REGEX, 1)), &err);
	ASSERT_NOT_NULL(sg.set, "strset built");
	ig.set = xadc_ipset_new();
	pfx.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.0", &pfx.in.sin_addr);
	ASSERT_OK(xadc_ipset_add_prefix(ig.set, &pfx, 24), "prefix");
	ASSERT_OK(xadc_ipset_build(ig.set), "ipset built");
	P = (struct xadc_ds_set_params){ .strgroups = sgs, .nstrgroups = 1, .ipgroups = igs,
					 .nipgroups = 1 };
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      "local v, m = avi.stringgroup.beginswith('routes', '/api/v2/users')\n"
		      "avi.http.add_header('X-R', tostring(v) .. ',' .. tostring(m))\n"
		      "v, m = avi.stringgroup.endswith('routes', '/a/b.jpg')\n"
		      "avi.http.add_header('X-R', tostring(v) .. ',' .. tostring(m))\n"
		      "v, m = avi.stringgroup.equals('routes', '/api/v')\n"
		      "avi.http.add_header('X-R', tostring(v) .. ',' .. tostring(m))\n"
		      "v, m = avi.stringgroup.contains('routes', 'x/api/v2y')\n"
		      "avi.http.add_header('X-R', tostring(v) .. ',' .. tostring(m))\n"
		      R("avi.ipgroup.contains('office', avi.vs.client_ip())") "\n"
		      R("avi.ipgroup.contains('office', '198.18.1.1')") "\n"),
		  XADC_DS_CONTINUE, "verdict");
	ASSERT_STREQ(F.h[0][F.nh[0] - 6].v, "v2-pool,true", "longest prefix");
	ASSERT_STREQ(F.h[0][F.nh[0] - 5].v, "img,true", "suffix");
	ASSERT_STREQ(F.h[0][F.nh[0] - 4].v, "nil,false", "no equal");
	ASSERT_STREQ(F.h[0][F.nh[0] - 3].v, "api-pool,true", "contains: lowest index");
	ASSERT_STREQ(F.h[0][F.nh[0] - 2].v, "true", "client in group");
	ASSERT_STREQ(F.h[0][F.nh[0] - 1].v, "false", "other not");

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.stringgroup.equals('other', 'x')"), XADC_DS_ERROR,
		  "unreferenced group");
	ASSERT_TRUE(strstr(TX.err, "stringgroup 'other' is not in string_group_refs") != NULL,
		    TX.err);
	P = (struct xadc_ds_set_params){};
	xadc_strset_free(sg.set);
	xadc_ipset_free(ig.set);
}

TEST(crypto_utils)
{
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      R("avi.utils.base64_encode('hello')") "\n"
		      R("avi.utils.base64_decode('aGVsbG8=')") "\n"
		      R("avi.utils.base64_decode('a$==')") "\n"
		      R("avi.utils.sha256_hash('abc')") "\n"
		      R("avi.utils.sha1_hash('abc')") "\n"
		      R("avi.utils.md5_hash('')") "\n"
		      R("avi.utils.hmac('Jefe', 'what do ya want for nothing?')") "\n"
		      "local function unhex(h) return (h:gsub('..', function(c) return "
		      "string.char(tonumber(c, 16)) end)) end\n"
		      "local key = unhex('2b7e151628aed2a6abf7158809cf4f3c')\n"
		      "local iv = unhex('000102030405060708090a0b0c0d0e0f')\n"
		      "local ct = avi.crypto.encrypt(unhex('6bc1bee22e409f96e93d7e117393172a'), key, iv)\n"
		      "avi.http.add_header('X-R', (ct:sub(1, 16):gsub('.', function(c) return "
		      "string.format('%02x', c:byte()) end)))\n"
		      "local k32 = string.rep('k', 32)\n"
		      R("avi.crypto.decrypt(avi.crypto.encrypt('secret text', k32), k32)") "\n"
		      R("avi.crypto.decrypt('0123456789abcdef', k32)") "\n"
		      R("string.beginswith('hello', 'he')") "\n"
		      R("string.endswith('hello', 'lo')") "\n"
		      R("('hello'):contains('ell')") "\n"
		      R("string.contains('hello', 'x')") "\n"),
		  XADC_DS_CONTINUE, "verdict");
	{
		static const char *const want[] = {
			"aGVsbG8=", "hello", "nil",
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			"a9993e364706816aba3e25717850c26c9cd0d89d",
			"d41d8cd98f00b204e9800998ecf8427e",
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			"7649abac8119b246cee98e9b12e9197d", "secret text", "nil",
			"true", "true", "true", "false",
		};
		unsigned i, k = 0;

		for (i = 0; i < F.nh[0]; i++) {
			if (strcmp(F.h[0][i].n, "X-R"))
				continue;
			if (k < ARRAY_SIZE(want))
				ASSERT_STREQ(F.h[0][i].v, want[k], want[k]);
			k++;
		}
		ASSERT_EQ(k, ARRAY_SIZE(want), "every result reported");
	}
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.crypto.encrypt('x', 'short')"), XADC_DS_ERROR,
		  "bad key length");
	ASSERT_TRUE(strstr(TX.err, "16, 24 or 32") != NULL, TX.err);
}

TEST(syntax_error)
{
	struct xadc_ds_script_src sc[2] = {
		{ XADC_DS_EVT_HTTP_REQ, "avi.vs.log('ok')" },
		{ XADC_DS_EVT_HTTP_RESP, "local a = 1\nlocal b = 2\nx x = 3\n" },
	};
	struct xadc_ds_set_params p = { .name = "ds1", .path = "vsdatascriptset[ds1]",
					.scripts = sc, .nscripts = 2 };
	char err[512];

	ASSERT_NULL(xadc_ds_set_compile(&p, err, sizeof(err)), "rejected");
	ASSERT_STREQ(err,
		     "vsdatascriptset[ds1].datascript[1].script: [string \"ds1:HTTP_RESP\"]:3: "
		     "syntax error near 'x'",
		     "path, chunk name and line");
	sc[1].script = "\x1bLua binary";
	ASSERT_NULL(xadc_ds_set_compile(&p, err, sizeof(err)), "binary chunk rejected");
	ASSERT_TRUE(strstr(err, "binary chunk") != NULL, err);
	ASSERT_EQ(xadc_ds_evt_parse("VS_DATASCRIPT_EVT_HTTP_LB_FAILED"), XADC_DS_EVT_HTTP_LB_FAILED,
		  "evt parse");
	ASSERT_EQ(xadc_ds_evt_parse("VS_DATASCRIPT_EVT_NOPE"), -1, "unknown evt");
}

/* Every hostile script is stopped for its request only: the same worker
 * state (same epoch) serves a normal request right after. */
static void contained(const char *src, int evt, const char *want_err, bool same_state)
{
	uint32_t epoch;

	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "avi.http.add_header('X-R', 'warm')"),
		  XADC_DS_CONTINUE, "warm up");
	epoch = xadc_ds_worker_epoch(0);
	fake_reset();
	ASSERT_EQ(run(evt, src), XADC_DS_ERROR, src);
	ASSERT_TRUE(TX.has_error && TX.significant, "error recorded");
	ASSERT_TRUE(strstr(TX.err, want_err) != NULL, TX.err);
	printf("# contained: %s\n", TX.err);
	ASSERT_STREQ(TX.err_evt,
		     evt == XADC_DS_EVT_HTTP_RESP ? "VS_DATASCRIPT_EVT_HTTP_RESP"
						  : "VS_DATASCRIPT_EVT_HTTP_REQ",
		     "event in trace");
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, R("avi.http.method()")), XADC_DS_CONTINUE,
		  "next request served");
	ASSERT_STREQ(hdr(0, "X-R"), "GET", "next request result");
	if (same_state)
		ASSERT_EQ(xadc_ds_worker_epoch(0), epoch, "same state kept");
	ASSERT_LT(xadc_ds_worker_mem(0), XADC_DS_DEF_MEM / 2, "memory given back");
}

TEST(hostile)
{
	P = (struct xadc_ds_set_params){ .max_instructions = 200000 };
	contained("while true do end", XADC_DS_EVT_HTTP_REQ, "instruction budget", true);
	contained("local function f() return f() + 1 end f()", XADC_DS_EVT_HTTP_REQ,
		  "memory limit", true);	/* the stack hits the cap first */
	contained("while true do pcall(function() while true do end end) end",
		  XADC_DS_EVT_HTTP_REQ, "instruction budget", true);
	P = (struct xadc_ds_set_params){};
	contained("local t = {} local s = string.rep('x', 1024)\n"
		  "for i = 1, 1e9 do t[i] = s .. i end",
		  XADC_DS_EVT_HTTP_REQ, "memory limit", false);
	contained("local s = string.rep('y', 64 * 1024 * 1024)", XADC_DS_EVT_HTTP_REQ,
		  "memory limit", true);
	contained("error('boom in response')", XADC_DS_EVT_HTTP_RESP, "boom in response", true);
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_RESP, "local function f() error('deep') end\nf()"),
		  XADC_DS_ERROR, "error with a stack");
	ASSERT_TRUE(strstr(TX.err_stack, "[string \"ds1:HTTP_RESP\"]:1: in ") != NULL &&
		    strstr(TX.err_stack, "[string \"ds1:HTTP_RESP\"]:2: in main chunk") != NULL,
		    TX.err_stack);
	contained("io.open('/etc/passwd')", XADC_DS_EVT_HTTP_REQ, "'io'", true);
	contained("os.execute('true')", XADC_DS_EVT_HTTP_REQ, "execute", true);
	contained("require('os')", XADC_DS_EVT_HTTP_REQ, "'require'", true);
	contained("dofile('/etc/passwd')", XADC_DS_EVT_HTTP_REQ, "'dofile'", true);
	contained("debug.getinfo(1)", XADC_DS_EVT_HTTP_REQ, "'debug'", true);
	contained("string.upper = nil", XADC_DS_EVT_HTTP_REQ, "read-only", true);
	contained("collectgarbage('stop')", XADC_DS_EVT_HTTP_REQ, "not allowed", true);
	contained("setmetatable({}, {__gc = function() while true do end end})",
		  XADC_DS_EVT_HTTP_REQ, "__gc is not allowed", true);
	contained("local f = assert(load(string.dump(function() end), 'b', 'b'))",
		  XADC_DS_EVT_HTTP_REQ, "binary chunks", true);
}

TEST(sandbox_lookups)
{
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ,
		      R("io") "\n" R("os.execute") "\n" R("require") "\n" R("package") "\n"
		      R("loadfile") "\n" R("getmetatable('')") "\n" R("type(os.time())") "\n"
		      R("load('return 1 + 1')()") "\n" R("load(string.dump ~= nil and '\\27Lua' or '', 'x', 't')") "\n"
		      "leak = 'mine'\n"),
		  XADC_DS_CONTINUE, "verdict");
	{
		static const char *const want[] = { "nil", "nil", "nil", "nil", "nil", "false",
						    "number", "2", "nil" };
		unsigned i, k = 0;

		for (i = 0; i < F.nh[0]; i++) {
			if (strcmp(F.h[0][i].n, "X-R"))
				continue;
			if (k < ARRAY_SIZE(want))
				ASSERT_STREQ(F.h[0][i].v, want[k], want[k]);
			k++;
		}
		ASSERT_EQ(k, ARRAY_SIZE(want), "every result reported");
	}
	/* another set in the same state does not see that global */
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, R("leak")), XADC_DS_CONTINUE, "other set");
	ASSERT_STREQ(hdr(0, "X-R"), "nil", "globals are per set");
}

TEST(fail_open)
{
	P = (struct xadc_ds_set_params){ .fail_open = true };
	fake_reset();
	ASSERT_EQ(run(XADC_DS_EVT_HTTP_REQ, "error('x')"), XADC_DS_CONTINUE, "passes through");
	ASSERT_TRUE(TX.has_error, "error still logged");
	P = (struct xadc_ds_set_params){};
}

TEST_MAIN()
