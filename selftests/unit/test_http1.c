// SPDX-License-Identifier: GPL-2.0
/* test_http1.c - unit tests for the strict HTTP/1.x parser (http1.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_progs.h"
#include "xadc/common.h"
#include "xadc/http1.h"

static const struct http1_limits lim_def = { .max_head = 16384, .max_headers = 100, .max_uri = 8192 };

static struct http1_msg m;

static int req_n(const char *s, size_t n, const struct http1_limits *l)
{
	size_t sc = 0;

	return http1_parse_request(s, n, l, &sc, &m);
}

static int req(const char *s)
{
	return req_n(s, strlen(s), &lim_def);
}

static int resp(const char *s, uint8_t method)
{
	size_t sc = 0;

	return http1_parse_response(s, strlen(s), &lim_def, method, &sc, &m);
}

/* Compare a slice of buf with a C string, case-sensitively. */
#define ASSERT_SLICE(buf, sl, str, name) ASSERT_MEMEQ((buf) + (sl).off, (sl).len, str, name)

/* Cheap deterministic PRNG so split patterns are reproducible. */
static uint32_t rng_state;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ------------------------------------------------------------------ */
/* request-target forms                                                */

TEST(origin_form)
{
	const char *s = "GET /a/b.html?x=1&y=2 HTTP/1.1\r\n"
			"Host: www.example.com\r\n"
			"User-Agent:   curl/8.0  \r\n"
			"Accept: */*\r\n"
			"\r\n";
	int r = req(s);

	if (!ASSERT_EQ(r, (int)strlen(s), "head length"))
		return;
	ASSERT_EQ(m.head_len, strlen(s), "msg head_len");
	ASSERT_SLICE(s, m.method, "GET", "method");
	ASSERT_EQ(m.method_id, H1_M_GET, "method id");
	ASSERT_SLICE(s, m.target, "/a/b.html?x=1&y=2", "target");
	ASSERT_SLICE(s, m.path, "/a/b.html", "path");
	ASSERT_SLICE(s, m.query, "x=1&y=2", "query");
	ASSERT_EQ(m.version_minor, 1, "version");
	ASSERT_EQ(m.nhdrs, 3, "nhdrs");
	ASSERT_SLICE(s, m.hdrs[1].name, "User-Agent", "name");
	ASSERT_SLICE(s, m.hdrs[1].value, "curl/8.0", "value OWS trimmed");
	ASSERT_EQ(m.hdr_idx[H1_HDR_HOST], 0, "host idx");
	ASSERT_EQ(m.hdrs[0].id, H1_HDR_HOST, "host id");
	ASSERT_EQ(m.hdr_idx[H1_HDR_CONTENT_LENGTH], -1, "no CL");
	ASSERT_EQ(m.body, H1_BODY_NONE, "no body");
	ASSERT_TRUE(m.flags & H1_F_KEEP_ALIVE, "1.1 keep-alive");
	ASSERT_TRUE(m.flags & H1_F_HAS_HOST, "has host");
	ASSERT_FALSE(m.flags & H1_F_CONN_CLOSE, "no close");

	s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	ASSERT_GT(req(s), 0, "root");
	ASSERT_SLICE(s, m.path, "/", "root path");
	ASSERT_EQ(m.query.len, 0, "no query");

	s = "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n";
	ASSERT_GT(req(s), 0, "empty query");
	ASSERT_SLICE(s, m.path, "/p", "path before empty query");
	ASSERT_EQ(m.query.len, 0, "empty query len");
}

TEST(absolute_form)
{
	const char *s = "GET http://example.com:8080/a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";

	if (!ASSERT_GT(req(s), 0, "absolute"))
		return;
	ASSERT_SLICE(s, m.target, "http://example.com:8080/a/b?x=1", "target");
	ASSERT_SLICE(s, m.path, "/a/b", "path");
	ASSERT_SLICE(s, m.query, "x=1", "query");
	ASSERT_TRUE(m.path.off > m.target.off && m.path.off < m.target.off + m.target.len,
		    "path points into target");

	s = "GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n";
	ASSERT_GT(req(s), 0, "no path");
	ASSERT_EQ(m.path.len, 0, "empty path");
	ASSERT_EQ(m.query.len, 0, "empty query");

	s = "GET http://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n";
	ASSERT_GT(req(s), 0, "query without path");
	ASSERT_SLICE(s, m.query, "q", "query");

	ASSERT_EQ(req("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "empty authority");
	ASSERT_EQ(req("GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "userinfo");
	ASSERT_EQ(req("GET http:/h/x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "one slash");
	ASSERT_EQ(req("GET example.com/x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "no scheme");
	ASSERT_EQ(req("GET 1http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "scheme digit");
}

TEST(asterisk_form)
{
	const char *s = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";

	if (!ASSERT_GT(req(s), 0, "OPTIONS *"))
		return;
	ASSERT_EQ(m.method_id, H1_M_OPTIONS, "options");
	ASSERT_SLICE(s, m.target, "*", "target");
	ASSERT_EQ(req("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "GET *");
	ASSERT_EQ(req("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "OPTIONS *x");
	ASSERT_GT(req("OPTIONS /x HTTP/1.1\r\nHost: h\r\n\r\n"), 0, "OPTIONS origin-form");
}

TEST(authority_form)
{
	const char *s = "CONNECT backend.example:443 HTTP/1.1\r\nHost: backend.example:443\r\n\r\n";

	if (!ASSERT_GT(req(s), 0, "CONNECT"))
		return;
	ASSERT_EQ(m.method_id, H1_M_CONNECT, "connect id");
	ASSERT_SLICE(s, m.target, "backend.example:443", "target");
	ASSERT_GT(req("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n"), 0,
		  "CONNECT ipv6");
	ASSERT_EQ(req("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "CONNECT origin");
	ASSERT_EQ(req("CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "no port");
	ASSERT_EQ(req("CONNECT h: HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "empty port");
	ASSERT_EQ(req("CONNECT :80 HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "empty host");
	ASSERT_EQ(req("CONNECT h:8x HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "port not digits");
	ASSERT_EQ(req("CONNECT http://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD,
		  "CONNECT absolute");
	ASSERT_EQ(req("GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "GET authority");
}

TEST(methods)
{
	static const struct {
		const char *name;
		int id;
	} ms[] = {
		{ "GET", H1_M_GET },	     { "HEAD", H1_M_HEAD },	  { "POST", H1_M_POST },
		{ "PUT", H1_M_PUT },	     { "DELETE", H1_M_DELETE },	  { "OPTIONS", H1_M_OPTIONS },
		{ "TRACE", H1_M_TRACE },     { "PATCH", H1_M_PATCH },	  { "PURGE", H1_M_OTHER },
		{ "get", H1_M_OTHER },	     { "GETX", H1_M_OTHER },	  { "M-SEARCH", H1_M_OTHER },
	};
	char buf[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ms); i++) {
		snprintf(buf, sizeof(buf), "%s /x HTTP/1.1\r\nHost: h\r\n\r\n", ms[i].name);
		if (!ASSERT_GT(req(buf), 0, ms[i].name))
			continue;
		ASSERT_EQ(m.method_id, ms[i].id, ms[i].name);
		ASSERT_SLICE(buf, m.method, ms[i].name, "method slice");
	}
	ASSERT_EQ(req("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "paren in method");
	ASSERT_EQ(req("GE\x01T / HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "CTL in method");
	ASSERT_EQ(req(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP1_E_BAD, "empty method");
}

/* ------------------------------------------------------------------ */
/* pipelining and incremental parsing                                  */

TEST(pipelined)
{
	const char *s = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
			"GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
			"\r\nHEAD /third HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t len = strlen(s), off = 0, sc = 0;
	int r;

	r = http1_parse_request(s, len, &lim_def, &sc, &m);
	if (!ASSERT_GT(r, 0, "first"))
		return;
	ASSERT_EQ(m.body, H1_BODY_LENGTH, "first body");
	ASSERT_EQ(m.content_length, 5, "first CL");
	ASSERT_MEMEQ(s + r, 5, "hello", "body follows head");
	off = r + m.content_length;

	sc = 0;
	r = http1_parse_request(s + off, len - off, &lim_def, &sc, &m);
	if (!ASSERT_GT(r, 0, "second"))
		return;
	ASSERT_SLICE(s + off, m.path, "/next", "second path");
	ASSERT_TRUE(m.flags & H1_F_CONN_CLOSE, "second close");
	ASSERT_FALSE(m.flags & H1_F_KEEP_ALIVE, "second not keep-alive");
	off += r;

	/* A stray CRLF between messages is tolerated (RFC 9112 2.2). */
	sc = 0;
	r = http1_parse_request(s + off, len - off, &lim_def, &sc, &m);
	if (!ASSERT_GT(r, 0, "third"))
		return;
	ASSERT_EQ(m.method_id, H1_M_HEAD, "third method");
	ASSERT_SLICE(s + off, m.path, "/third", "third path");
	ASSERT_EQ(off + r, len, "consumed everything");
}

/* Feed s one byte more each time (reusing *scanned); return the verdict. */
static int feed_bytewise(const char *s, size_t len, const struct http1_limits *l, bool is_req,
			 size_t *stopped_at)
{
	size_t n, sc = 0;
	int r = HTTP1_INCOMPLETE;

	for (n = 1; n <= len; n++) {
		/* exact-size copy so reading past n would be a real overrun */
		char *b = malloc(n);

		memcpy(b, s, n);
		if (is_req)
			r = http1_parse_request(b, n, l, &sc, &m);
		else
			r = http1_parse_response(b, n, l, H1_M_GET, &sc, &m);
		free(b);
		if (r != HTTP1_INCOMPLETE)
			break;
		if (sc > n) {
			r = 1000; /* invariant broken: report as a mismatch */
			break;
		}
	}
	*stopped_at = n;
	return r;
}

TEST(incremental_same_as_whole)
{
	static const char *const reqs[] = {
		"GET /a?b=c HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX-Y: z\r\n\r\n",
		"\r\n\r\nGET / HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
		"G@T / HTTP/1.1\r\nHost: h\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"GET /0123456789012345678901234567890123456789 HTTP/1.1\r\nHost: h\r\n\r\n",
		/* target of exactly max_uri (32) bytes, then CRLF: no version */
		"GET /2345678901234567890123456789012\r\nHost: h\r\n\r\n",
		"GE\rT /2345678901234567890123456789012345 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-Long: 01234567890123456789012345678901234567890123456789\r\n\r\n",
	};
	/* small limits so the long-URI, too-many and too-large paths run */
	const struct http1_limits small = { .max_head = 80, .max_headers = 4, .max_uri = 32 };
	const struct http1_limits *lims[] = { &lim_def, &small };
	size_t i, j, stop;

	for (j = 0; j < ARRAY_SIZE(lims); j++) {
		for (i = 0; i < ARRAY_SIZE(reqs); i++) {
			size_t len = strlen(reqs[i]);
			struct http1_msg whole;
			int rw, rb;

			rw = req_n(reqs[i], len, lims[j]);
			whole = m;
			rb = feed_bytewise(reqs[i], len, lims[j], true, &stop);
			if (!ASSERT_EQ(rb, rw, reqs[i]))
				continue;
			if (rw > 0) {
				ASSERT_EQ(stop, (size_t)rw, "completes exactly at the head end");
				ASSERT_EQ(m.nhdrs, whole.nhdrs, "same nhdrs");
				ASSERT_EQ(m.flags, whole.flags, "same flags");
				ASSERT_EQ(m.body, whole.body, "same body");
				ASSERT_EQ(memcmp(m.hdrs, whole.hdrs, sizeof(m.hdrs[0]) * m.nhdrs), 0,
					  "same headers");
			}
		}
	}

	/* response side */
	{
		const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: x\r\n\r\nabc";
		size_t hl = strlen(s) - 3;
		int rb = feed_bytewise(s, strlen(s), &lim_def, false, &stop);

		ASSERT_EQ(rb, (int)hl, "response bytewise");
		ASSERT_EQ(stop, hl, "response stops at head end");
		ASSERT_EQ(m.content_length, 3, "response CL");
	}
}

TEST(early_rejection)
{
	/* Garbage and over-long targets are refused before the head ends. */
	size_t sc = 0;
	const char *tls = "\x16\x03\x01\x02\x00\x01";
	char big[200];

	ASSERT_EQ(http1_parse_request(tls, 6, &lim_def, &sc, &m), HTTP1_E_BAD, "TLS hello");
	sc = 0;
	ASSERT_EQ(http1_parse_request("GET / HTTP/1.1\n", 15, &lim_def, &sc, &m), HTTP1_E_BAD,
		  "bare LF before head end");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	{
		const struct http1_limits l = { .max_head = 4096, .max_headers = 10, .max_uri = 100 };

		sc = 0;
		ASSERT_EQ(http1_parse_request(big, 100, &l, &sc, &m), HTTP1_INCOMPLETE,
			  "URI still within limit");
		ASSERT_LE(sc, 100, "scanned within len");
		ASSERT_EQ(http1_parse_request(big, sizeof(big), &l, &sc, &m), HTTP1_E_URI_TOO_LONG,
			  "URI over limit, head incomplete");
	}
}

/* ------------------------------------------------------------------ */
/* strictness: malformed messages and smuggling attempts               */

struct bad_case {
	const char *head;
	int want;
};

#define RQ(hdrs) "POST / HTTP/1.1\r\nHost: h\r\n" hdrs "\r\n"

static const struct bad_case bad_requests[] = {
	/* framing */
	{ RQ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 5\r\nContent-Length: 5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 5\r\nContent-Length: 6\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 5, 5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: +5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: -5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 5 5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 0x5\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 5a\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length:\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 99999999999999999999999\r\n"), HTTP1_E_BAD },
	{ RQ("Content-Length: 18446744073709551616\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked, gzip\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: xchunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunkedx\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked, chunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked;q=1\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: chunked,\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: , chunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: \"chunked\"\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding:\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: gzip\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: identity\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding: gzip, chunked\r\n"), HTTP1_E_NOT_IMPLEMENTED },
	{ RQ("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"), HTTP1_E_NOT_IMPLEMENTED },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_E_BAD },
	{ RQ("Transfer-Encoding : chunked\r\n"), HTTP1_E_BAD },
	{ RQ("Transfer-Encoding\t: chunked\r\n"), HTTP1_E_BAD },
	{ RQ(" Transfer-Encoding: chunked\r\n"), HTTP1_E_BAD },
	{ RQ("X: a\r\n Transfer-Encoding: chunked\r\n"), HTTP1_E_BAD },
	{ RQ("X: a\r\n\tb\r\n"), HTTP1_E_BAD },
	/* field syntax */
	{ RQ("Ho(st: x\r\n"), HTTP1_E_BAD },
	{ RQ("X\"Y: x\r\n"), HTTP1_E_BAD },
	{ RQ(": x\r\n"), HTTP1_E_BAD },
	{ RQ("NoColon\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: a\x01z\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: a\x7fz\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: a\x1bz\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: a\rz\r\n"), HTTP1_E_BAD },
	/* CTLs far into long values and targets (past any word-wise fast path) */
	{ RQ("X-A: 0123456789abcdefghij\x01klmnopqrstuvwxyz\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: 0123456789abcdefghijklmnopqrstuvw\x7fxyz\r\n"), HTTP1_E_BAD },
	{ RQ("X-A: 0123456789abcdefghijklmnopqrstuvwxyz\x1f\r\n"), HTTP1_E_BAD },
	{ "GET /0123456789abcdefghij\x7fklmnop HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /0123456789abcdefghijklmnopqrs\x80 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /0123456789abcdefghijklmnopqr\t HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ RQ("X-A: a\r\r\n"), HTTP1_E_BAD },
	{ "POST / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", HTTP1_E_BAD },
	{ "POST / HTTP/1.1\r\nHost: h\r\n\n", HTTP1_E_BAD },
	{ "POST / HTTP/1.1\r\nHost: h\r\n\r\r\n\r\n", HTTP1_E_BAD },
	/* Host */
	{ "GET / HTTP/1.1\r\nX: y\r\n\r\n", HTTP1_E_BAD },
	{ RQ("Host: other\r\n"), HTTP1_E_BAD },
	{ RQ("host: h\r\n"), HTTP1_E_BAD },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP1_E_BAD },
	{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HTTP1_E_BAD },
	{ "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", HTTP1_E_BAD },
	/* request line */
	{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", HTTP1_E_VERSION },
	{ "GET / HTTP/1.2\r\nHost: h\r\n\r\n", HTTP1_E_VERSION },
	{ "GET / HTTP/0.9\r\nHost: h\r\n\r\n", HTTP1_E_VERSION },
	{ "GET / HTTP/1.10\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / http/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / HTTP/11\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / FOO\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / x HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "GET / HTTP/1.1\rHost: h\r\n\r\n", HTTP1_E_BAD },
	{ "\r\n", HTTP1_INCOMPLETE },
	{ "\n", HTTP1_E_BAD },
	{ "\r\n\r\n", HTTP1_INCOMPLETE },
};

TEST(smuggling_and_malformed)
{
	size_t i;
	char name[64];

	for (i = 0; i < ARRAY_SIZE(bad_requests); i++) {
		int r = req(bad_requests[i].head);

		snprintf(name, sizeof(name), "bad_requests[%zu]", i);
		if (!ASSERT_EQ(r, bad_requests[i].want, name))
			printf("#   input: %s\n", bad_requests[i].head);
	}
	ASSERT_EQ(http1_error_status(req(bad_requests[0].head)), 400, "CL+TE is a 400");
	{
		static const char nul_val[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
		static const char nul_uri[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";

		ASSERT_EQ(req_n(nul_val, sizeof(nul_val) - 1, &lim_def), HTTP1_E_BAD, "NUL in value");
		ASSERT_EQ(req_n(nul_uri, sizeof(nul_uri) - 1, &lim_def), HTTP1_E_BAD, "NUL in target");
	}
}

TEST(accepted_edge_cases)
{
	const char *s;

	s = RQ("Content-Length: 007\r\n");
	ASSERT_GT(req(s), 0, "leading zeros");
	ASSERT_EQ(m.content_length, 7, "CL value");
	ASSERT_EQ(m.body, H1_BODY_LENGTH, "length body");

	s = RQ("Content-Length: 18446744073709551615\r\n");
	ASSERT_GT(req(s), 0, "max uint64");
	ASSERT_EQ(m.content_length, UINT64_MAX, "max CL");

	s = RQ("Content-Length:0\r\n");
	ASSERT_GT(req(s), 0, "no OWS");
	ASSERT_EQ(m.content_length, 0, "zero CL");

	s = RQ("Transfer-Encoding: Chunked\r\n");
	ASSERT_GT(req(s), 0, "case-insensitive chunked");
	ASSERT_EQ(m.body, H1_BODY_CHUNKED, "chunked body");

	s = RQ("transfer-encoding:  chunked \r\n");
	ASSERT_GT(req(s), 0, "lower-case name, OWS");
	ASSERT_EQ(m.body, H1_BODY_CHUNKED, "chunked body 2");

	s = RQ("X-Tab: a\tb\t\r\nX-Obs: caf\xc3\xa9\r\nX-Empty:\r\n");
	ASSERT_GT(req(s), 0, "HT, obs-text and empty values");
	ASSERT_SLICE(s, m.hdrs[1].value, "a\tb", "HT inside kept, trailing trimmed");
	ASSERT_EQ(m.hdrs[3].value.len, 0, "empty value");

	s = "GET / HTTP/1.0\r\n\r\n";
	ASSERT_GT(req(s), 0, "1.0 without Host");
	ASSERT_EQ(m.version_minor, 0, "minor 0");
	ASSERT_FALSE(m.flags & H1_F_HAS_HOST, "no host flag");

	s = "GET / HTTP/1.1\r\nHost:\r\n\r\n";
	ASSERT_GT(req(s), 0, "empty Host");
	s = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
	ASSERT_GT(req(s), 0, "ipv6 Host");
	s = "GET /%20a~b!$&'()*+,;=:@ HTTP/1.1\r\nHost: h\r\n\r\n";
	ASSERT_GT(req(s), 0, "sub-delims in path");
}

/* ------------------------------------------------------------------ */
/* limits                                                              */

/* Build "GET / HTTP/1.1\r\nHost: h\r\nX: aaa...\r\n\r\n" of exactly total bytes. */
static char *head_of_size(size_t total)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t pl = strlen(pre), fill = total - pl - 4;
	char *b = malloc(total + 1);

	memcpy(b, pre, pl);
	memset(b + pl, 'a', fill);
	memcpy(b + pl + fill, "\r\n\r\n", 5);
	return b;
}

TEST(limit_head_size)
{
	const struct http1_limits l = { .max_head = 256, .max_headers = 10, .max_uri = 64 };
	char *b = head_of_size(256);
	size_t sc = 0;

	ASSERT_EQ(req_n(b, 256, &l), 256, "exactly max_head");
	free(b);
	b = head_of_size(257);
	ASSERT_EQ(req_n(b, 257, &l), HTTP1_E_TOO_LARGE, "one byte over");
	/* no end of head within max_head bytes: refused before it ends */
	ASSERT_EQ(http1_parse_request(b, 255, &l, &sc, &m), HTTP1_INCOMPLETE, "still under");
	ASSERT_EQ(http1_parse_request(b, 256, &l, &sc, &m), HTTP1_E_TOO_LARGE, "reached limit");
	ASSERT_EQ(http1_error_status(HTTP1_E_TOO_LARGE), 431, "431");
	free(b);
	b = head_of_size(300);
	sc = 0;
	ASSERT_EQ(http1_parse_response(b, 300, &l, H1_M_GET, &sc, &m), HTTP1_E_TOO_LARGE,
		  "response too large");
	free(b);
}

TEST(limit_header_count)
{
	const struct http1_limits l = { .max_head = 4096, .max_headers = 5, .max_uri = 64 };
	char buf[512];
	int n, k;

	for (n = 4; n <= 6; n++) {
		int off = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: h\r\n");

		for (k = 1; k < n; k++)
			off += snprintf(buf + off, sizeof(buf) - off, "X-%d: v\r\n", k);
		snprintf(buf + off, sizeof(buf) - off, "\r\n");
		if (n <= 5) {
			ASSERT_GT(req_n(buf, strlen(buf), &l), 0, "within max_headers");
			ASSERT_EQ(m.nhdrs, n, "nhdrs");
		} else {
			ASSERT_EQ(req_n(buf, strlen(buf), &l), HTTP1_E_TOO_MANY, "over max_headers");
		}
	}
	ASSERT_EQ(http1_error_status(HTTP1_E_TOO_MANY), 431, "431");
}

TEST(limit_uri)
{
	const struct http1_limits l = { .max_head = 4096, .max_headers = 10, .max_uri = 16 };

	ASSERT_GT(req_n("GET /234567890123456 HTTP/1.1\r\nHost: h\r\n\r\n", 42, &l), 0,
		  "exactly max_uri");
	ASSERT_EQ(req_n("GET /2345678901234567 HTTP/1.1\r\nHost: h\r\n\r\n", 43, &l),
		  HTTP1_E_URI_TOO_LONG, "one over");
	ASSERT_EQ(http1_error_status(HTTP1_E_URI_TOO_LONG), 414, "414");
}

TEST(error_mapping)
{
	ASSERT_EQ(http1_error_status(HTTP1_E_BAD), 400, "bad");
	ASSERT_EQ(http1_error_status(HTTP1_E_VERSION), 505, "version");
	ASSERT_EQ(http1_error_status(HTTP1_E_NOT_IMPLEMENTED), 501, "501");
	ASSERT_EQ(http1_error_status(100), 0, "success has no error status");
	ASSERT_STREQ(http1_error_str(HTTP1_E_URI_TOO_LONG), "request-target too long", "str");
	ASSERT_NOT_NULL(http1_error_str(-99), "unknown code has a string");
}

/* ------------------------------------------------------------------ */
/* connection semantics and hop-by-hop                                 */

TEST(keep_alive_rules)
{
	ASSERT_GT(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 0, "close");
	ASSERT_EQ(m.flags & (H1_F_KEEP_ALIVE | H1_F_CONN_CLOSE), H1_F_CONN_CLOSE, "1.1 close");
	ASSERT_GT(req("GET / HTTP/1.0\r\n\r\n"), 0, "1.0");
	ASSERT_FALSE(m.flags & H1_F_KEEP_ALIVE, "1.0 default not persistent");
	ASSERT_GT(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0, "1.0 ka");
	ASSERT_TRUE(m.flags & H1_F_KEEP_ALIVE, "1.0 keep-alive");
	ASSERT_GT(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n"), 0,
		  "both");
	ASSERT_EQ(m.flags & (H1_F_KEEP_ALIVE | H1_F_CONN_CLOSE), H1_F_CONN_CLOSE, "close wins");
	ASSERT_GT(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: close\r\n\r\n"),
		  0, "two Connection fields");
	ASSERT_TRUE(m.flags & H1_F_CONN_CLOSE, "close in second field");
	ASSERT_EQ(req("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n"), HTTP1_E_BAD,
		  "non-token in Connection");

	ASSERT_GT(req(RQ("Expect: 100-Continue\r\nContent-Length: 3\r\n")), 0, "expect");
	ASSERT_TRUE(m.flags & H1_F_EXPECT_100, "expect flag");
	ASSERT_GT(req(RQ("Expect: something\r\n")), 0, "other expect");
	ASSERT_FALSE(m.flags & H1_F_EXPECT_100, "no expect flag");
	ASSERT_GT(req("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0, "1.0 expect");
	ASSERT_FALSE(m.flags & H1_F_EXPECT_100, "ignored on 1.0");

	ASSERT_GT(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
		  0, "upgrade");
	ASSERT_TRUE(m.flags & H1_F_UPGRADE, "upgrade flag");
	ASSERT_GT(req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n"), 0, "no Upgrade");
	ASSERT_FALSE(m.flags & H1_F_UPGRADE, "needs Upgrade field");
	ASSERT_GT(req("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"), 0, "no token");
	ASSERT_FALSE(m.flags & H1_F_UPGRADE, "needs Connection token");
}

TEST(hop_by_hop)
{
	const char *s = "GET / HTTP/1.1\r\n"
			"X-Custom: 1\r\n"	    /* 0: named in Connection below */
			"Host: h\r\n"		    /* 1 */
			"Keep-Alive: timeout=5\r\n" /* 2 */
			"TE: trailers\r\n"	    /* 3 */
			"Trailer: X\r\n"	    /* 4 */
			"Upgrade: h2c\r\n"	    /* 5 */
			"Proxy-Authorization: Basic x\r\n" /* 6 */
			"Proxy-Connection: keep-alive\r\n" /* 7 */
			"Accept: */*\r\n"	    /* 8 */
			"Connection: x-custom, Upgrade, host, content-length\r\n" /* 9 */
			"Content-Length: 0\r\n"	    /* 10 */
			"Proxy-Authenticate: y\r\n" /* 11 */
			"\r\n";
	static const bool want[] = { true, false, true, true, true, true, true,
				     true, false, true, false, true };
	int i;

	if (!ASSERT_GT(req(s), 0, "parse"))
		return;
	if (!ASSERT_EQ(m.nhdrs, ARRAY_SIZE(want), "nhdrs"))
		return;
	for (i = 0; i < m.nhdrs; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hdr %d hop", i);
		ASSERT_EQ(m.hdrs[i].hop_by_hop, want[i], name);
	}
	ASSERT_EQ(m.hdrs[3].id, H1_HDR_TE, "TE id");
	ASSERT_EQ(m.hdrs[11].id, H1_HDR_PROXY_AUTHENTICATE, "proxy-authenticate id");

	ASSERT_GT(req(RQ("Transfer-Encoding: chunked\r\n")), 0, "te");
	ASSERT_TRUE(m.hdrs[1].hop_by_hop, "Transfer-Encoding is hop-by-hop");
	ASSERT_FALSE(m.hdrs[0].hop_by_hop, "Host is not");
}

TEST(well_known_ids)
{
	const char *s = "GET / HTTP/1.1\r\nHOST: h\r\nx-forwarded-FOR: 1.2.3.4\r\n"
			"X-Forwarded-Proto: https\r\nSet-Cookie: a=b\r\nLocation: /x\r\n"
			"X-Forwarded-Fo: no\r\nHostx: no\r\nCookie: c=d\r\n\r\n";

	if (!ASSERT_GT(req(s), 0, "parse"))
		return;
	ASSERT_EQ(m.hdr_idx[H1_HDR_HOST], 0, "host");
	ASSERT_EQ(m.hdr_idx[H1_HDR_X_FORWARDED_FOR], 1, "xff");
	ASSERT_EQ(m.hdr_idx[H1_HDR_X_FORWARDED_PROTO], 2, "xfp");
	ASSERT_EQ(m.hdr_idx[H1_HDR_SET_COOKIE], 3, "set-cookie");
	ASSERT_EQ(m.hdr_idx[H1_HDR_LOCATION], 4, "location");
	ASSERT_EQ(m.hdrs[5].id, H1_HDR_OTHER, "prefix of a known name");
	ASSERT_EQ(m.hdrs[6].id, H1_HDR_OTHER, "known name plus suffix");
	ASSERT_EQ(m.hdr_idx[H1_HDR_COOKIE], 7, "cookie");
	ASSERT_EQ(m.hdr_idx[H1_HDR_UPGRADE], -1, "absent");
}

TEST(every_known_name)
{
	static const struct {
		const char *name;
		int id;
	} k[] = {
		{ "tE", H1_HDR_TE },
		{ "hOST", H1_HDR_HOST },
		{ "COOKIE", H1_HDR_COOKIE },
		{ "Expect", H1_HDR_EXPECT },
		{ "Trailer", H1_HDR_TRAILER },
		{ "Upgrade", H1_HDR_UPGRADE },
		{ "Location", H1_HDR_LOCATION },
		{ "Connection", H1_HDR_CONNECTION },
		{ "Keep-Alive", H1_HDR_KEEP_ALIVE },
		{ "Set-Cookie", H1_HDR_SET_COOKIE },
		{ "Content-Length", H1_HDR_CONTENT_LENGTH },
		{ "X-Forwarded-For", H1_HDR_X_FORWARDED_FOR },
		{ "Proxy-Connection", H1_HDR_PROXY_CONNECTION },
		{ "Transfer-Encoding", H1_HDR_TRANSFER_ENCODING },
		{ "X-Forwarded-Proto", H1_HDR_X_FORWARDED_PROTO },
		{ "Proxy-Authenticate", H1_HDR_PROXY_AUTHENTICATE },
		{ "Proxy-Authorization", H1_HDR_PROXY_AUTHORIZATION },
		{ "Content_Length", H1_HDR_OTHER },
		{ "Content-Lengths", H1_HDR_OTHER },
		{ "Transfer-Encodin", H1_HDR_OTHER },
		{ "Hos~", H1_HDR_OTHER },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(k); i++) {
		bool is_host = k[i].id == H1_HDR_HOST;
		int at = is_host ? 0 : 1;

		/* a value that is valid for every name, after a Host field */
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n%s%s: %s\r\n\r\n",
			 is_host ? "" : "Host: h\r\n", k[i].name,
			 k[i].id == H1_HDR_TRANSFER_ENCODING ? "chunked" :
			 k[i].id == H1_HDR_CONTENT_LENGTH   ? "1" : "x");
		if (!ASSERT_GT(req(buf), 0, k[i].name))
			continue;
		ASSERT_EQ(m.hdrs[at].id, k[i].id, k[i].name);
		if (k[i].id != H1_HDR_OTHER)
			ASSERT_EQ(m.hdr_idx[k[i].id], at, "hdr_idx");
	}
}

TEST(scanned_resume)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n";
	size_t sc = 0;

	ASSERT_EQ(http1_parse_request(s, 20, &lim_def, &sc, &m), HTTP1_INCOMPLETE, "part");
	ASSERT_EQ(sc, 20, "scanned up to len");
	ASSERT_EQ(http1_parse_request(s, 30, &lim_def, &sc, &m), HTTP1_INCOMPLETE, "more");
	ASSERT_EQ(sc, 30, "scanned advanced");
	ASSERT_EQ(http1_parse_request(s, strlen(s), &lim_def, &sc, &m), (int)strlen(s), "done");
	/* a stale, too-large *scanned is clamped rather than trusted past len */
	sc = 1000;
	ASSERT_EQ(http1_parse_request(s, 10, &lim_def, &sc, &m), HTTP1_INCOMPLETE, "clamped");
	ASSERT_LE(sc, 10, "scanned within len");
	/* NULL limits and NULL scanned use the defaults */
	ASSERT_EQ(http1_parse_request(s, strlen(s), NULL, NULL, &m), (int)strlen(s), "defaults");
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */

TEST(find_header)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-b: 2\r\nX-a: 3\r\n\r\n";
	int from = 0, i;

	if (!ASSERT_GT(req(s), 0, "parse"))
		return;
	i = http1_find_header(s, &m, "x-a", 3, &from);
	ASSERT_EQ(i, 1, "first X-A");
	ASSERT_SLICE(s, m.hdrs[i].value, "1", "first value");
	i = http1_find_header(s, &m, "x-a", 3, &from);
	ASSERT_EQ(i, 3, "second X-A");
	ASSERT_SLICE(s, m.hdrs[i].value, "3", "second value");
	ASSERT_EQ(http1_find_header(s, &m, "x-a", 3, &from), -1, "no third");
	from = 0;
	ASSERT_EQ(http1_find_header(s, &m, "X-B", 3, &from), 2, "case-insensitive");
	from = 0;
	ASSERT_EQ(http1_find_header(s, &m, "X-", 2, &from), -1, "no prefix match");

	ASSERT_TRUE(http1_slice_eq(s, m.hdrs[2].name, "X-B"), "slice_eq case");
	ASSERT_FALSE(http1_slice_eq(s, m.hdrs[2].name, "X-B2"), "slice_eq length");
	ASSERT_FALSE(http1_slice_eq(s, m.hdrs[2].name, "X-C"), "slice_eq differs");
}

TEST(find_cookie)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n"
			"Cookie: ab=1; a=2;b=3\r\n"
			"X: y\r\n"
			"Cookie:  sess = \"quoted v\" ;  empty=; noeq; last=9  \r\n"
			"\r\n";
	struct http1_slice v;

	if (!ASSERT_GT(req(s), 0, "parse"))
		return;
	ASSERT_TRUE(http1_find_cookie(s, &m, "a", 1, &v), "a");
	ASSERT_SLICE(s, v, "2", "a is not ab");
	ASSERT_TRUE(http1_find_cookie(s, &m, "ab", 2, &v), "ab");
	ASSERT_SLICE(s, v, "1", "ab value");
	ASSERT_TRUE(http1_find_cookie(s, &m, "b", 1, &v), "b without space");
	ASSERT_SLICE(s, v, "3", "b value");
	ASSERT_TRUE(http1_find_cookie(s, &m, "sess", 4, &v), "second Cookie header");
	ASSERT_SLICE(s, v, "quoted v", "quotes stripped");
	ASSERT_TRUE(http1_find_cookie(s, &m, "empty", 5, &v), "empty");
	ASSERT_EQ(v.len, 0, "empty value");
	ASSERT_TRUE(http1_find_cookie(s, &m, "last", 4, &v), "last");
	ASSERT_SLICE(s, v, "9", "trailing OWS trimmed");
	ASSERT_FALSE(http1_find_cookie(s, &m, "noeq", 4, &v), "pair without =");
	ASSERT_FALSE(http1_find_cookie(s, &m, "A", 1, &v), "case-sensitive");
	ASSERT_FALSE(http1_find_cookie(s, &m, "missing", 7, &v), "missing");

	ASSERT_GT(req("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0, "no cookies");
	ASSERT_FALSE(http1_find_cookie("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &m, "a", 1, &v),
		     "no Cookie header");
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

TEST(responses)
{
	const char *s;

	s = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
	if (ASSERT_GT(resp(s, H1_M_GET), 0, "200 CL")) {
		ASSERT_EQ(m.status, 200, "status");
		ASSERT_SLICE(s, m.reason, "OK", "reason");
		ASSERT_EQ(m.body, H1_BODY_LENGTH, "length");
		ASSERT_EQ(m.content_length, 12, "cl");
		ASSERT_TRUE(m.flags & H1_F_KEEP_ALIVE, "ka");
	}
	ASSERT_GT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET), 0,
		  "chunked");
	ASSERT_EQ(m.body, H1_BODY_CHUNKED, "chunked body");

	ASSERT_GT(resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", H1_M_GET), 0, "no framing");
	ASSERT_EQ(m.body, H1_BODY_EOF, "EOF body");
	ASSERT_FALSE(m.flags & H1_F_KEEP_ALIVE, "EOF body cannot be persistent");

	ASSERT_GT(resp("HTTP/1.1 204 No Content\r\n\r\n", H1_M_GET), 0, "204");
	ASSERT_EQ(m.body, H1_BODY_NONE, "204 none");
	ASSERT_TRUE(m.flags & H1_F_KEEP_ALIVE, "204 persistent");

	ASSERT_GT(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", H1_M_GET), 0, "304");
	ASSERT_EQ(m.body, H1_BODY_NONE, "304 none");

	ASSERT_GT(resp("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", H1_M_HEAD), 0, "HEAD");
	ASSERT_EQ(m.body, H1_BODY_NONE, "HEAD none");
	ASSERT_EQ(m.content_length, 50, "HEAD keeps the advertised length");

	ASSERT_GT(resp("HTTP/1.1 200 Connection established\r\n\r\n", H1_M_CONNECT), 0, "CONNECT");
	ASSERT_EQ(m.body, H1_BODY_NONE, "CONNECT 2xx tunnel");
	ASSERT_GT(resp("HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\n", H1_M_CONNECT), 0, "407");
	ASSERT_EQ(m.body, H1_BODY_LENGTH, "CONNECT 407 has a body");

	ASSERT_GT(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", H1_M_GET), 0, "1.0");
	ASSERT_FALSE(m.flags & H1_F_KEEP_ALIVE, "1.0 not persistent");
	ASSERT_GT(resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
		       H1_M_GET), 0, "1.0 ka");
	ASSERT_TRUE(m.flags & H1_F_KEEP_ALIVE, "1.0 keep-alive");
	ASSERT_GT(resp("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", H1_M_GET),
		  0, "close");
	ASSERT_TRUE(m.flags & H1_F_CONN_CLOSE, "close flag");

	s = "HTTP/1.1 404\r\n\r\n";
	ASSERT_GT(resp(s, H1_M_GET), 0, "no reason, no SP");
	ASSERT_EQ(m.status, 404, "404");
	ASSERT_EQ(m.reason.len, 0, "empty reason");
	ASSERT_GT(resp("HTTP/1.1 500 \r\n\r\n", H1_M_GET), 0, "SP, empty reason");
	ASSERT_GT(resp("HTTP/1.1 599 Very\tOdd Reason\r\n\r\n", H1_M_GET), 0, "HT in reason");
}

TEST(responses_interim)
{
	const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
			"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
			"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	size_t off = 0, len = strlen(s), sc;
	int r;

	sc = 0;
	r = http1_parse_response(s, len, &lim_def, H1_M_POST, &sc, &m);
	ASSERT_EQ(r, 25, "100 head");
	ASSERT_EQ(m.status, 100, "100");
	ASSERT_EQ(m.body, H1_BODY_NONE, "100 none");
	off += r;
	sc = 0;
	r = http1_parse_response(s + off, len - off, &lim_def, H1_M_POST, &sc, &m);
	ASSERT_GT(r, 0, "103");
	ASSERT_EQ(m.status, 103, "103");
	ASSERT_EQ(m.body, H1_BODY_NONE, "103 none");
	off += r;
	sc = 0;
	r = http1_parse_response(s + off, len - off, &lim_def, H1_M_POST, &sc, &m);
	ASSERT_EQ(off + r, len, "final head");
	ASSERT_EQ(m.status, 201, "201");
	ASSERT_EQ(m.body, H1_BODY_LENGTH, "201 length");

	s = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
	ASSERT_GT(resp(s, H1_M_GET), 0, "101");
	ASSERT_EQ(m.body, H1_BODY_NONE, "101 none");
	ASSERT_TRUE(m.flags & H1_F_UPGRADE, "101 upgrade");
}

TEST(responses_malformed)
{
	static const struct bad_case bad[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		  HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 2000 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 20 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 099 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 2x0 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1  200 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/2 200 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/2.0 200 OK\r\n\r\n", HTTP1_E_VERSION },
		{ "ICY 200 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\nX: y\r\n\r\n", HTTP1_E_BAD },
		{ "\r\nHTTP/1.1 200 OK\r\n\r\n", HTTP1_E_BAD },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n", HTTP1_E_NOT_IMPLEMENTED },
	};
	size_t i;
	char name[64];

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(name, sizeof(name), "bad response %zu", i);
		ASSERT_EQ(resp(bad[i].head, H1_M_GET), bad[i].want, name);
	}
}

/* ------------------------------------------------------------------ */
/* chunked scanner                                                     */

/* Feed all of s to a fresh scanner in one go. */
static long chunk_all(const char *s, size_t len, bool *done, uint64_t *total)
{
	struct http1_chunked c;
	long r;

	http1_chunked_init(&c);
	r = http1_chunked_feed(&c, s, len, done);
	*total = c.total;
	return r;
}

TEST(chunked_basic)
{
	const char *s = "5\r\nhello\r\n"
			"1A;name=val;q=\"x y\"\r\n0123456789abcdefghijklmnop\r\n"
			"0\r\n"
			"Checksum: abc\r\n"
			"X-T:\r\n"
			"\r\n"
			"GET /next HTTP/1.1\r\n";
	size_t body = strlen(s) - strlen("GET /next HTTP/1.1\r\n");
	uint64_t total;
	bool done = true;
	long r;

	r = chunk_all(s, body - 1, &done, &total);
	ASSERT_EQ(r, body - 1, "all consumed before the end");
	ASSERT_FALSE(done, "not done one byte early");

	r = chunk_all(s, strlen(s), &done, &total);
	ASSERT_EQ(r, body, "stops at the end of the body");
	ASSERT_TRUE(done, "done");
	ASSERT_EQ(total, 5 + 26, "data bytes");

	r = chunk_all("0\r\n\r\n", 5, &done, &total);
	ASSERT_EQ(r, 5, "empty body");
	ASSERT_TRUE(done, "empty body done");
	ASSERT_EQ(total, 0, "no data");

	r = chunk_all("000\r\n\r\n", 7, &done, &total);
	ASSERT_TRUE(done && r == 7, "zeros last-chunk");

	r = chunk_all("3 ; ext\r\nabc\r\n0\r\n\r\n", 19, &done, &total);
	ASSERT_EQ(r, 19, "BWS before extension");
	ASSERT_TRUE(done, "BWS done");

	{
		struct http1_chunked c;

		http1_chunked_init(&c);
		ASSERT_EQ(http1_chunked_feed(&c, "0\r\n\r\n", 5, &done), 5, "finish");
		ASSERT_EQ(http1_chunked_feed(&c, "more", 4, &done), 0, "nothing after done");
		ASSERT_TRUE(done, "still done");
	}
}

TEST(chunked_bad)
{
	static const char *const bad[] = {
		"zz\r\n",
		"\r\n",
		"-5\r\nhello\r\n0\r\n\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		" 5\r\nhello\r\n0\r\n\r\n",
		"5 \r\nhello\r\n0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",
		"5\r\nhelloX\r\n0\r\n\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"5\r\nhello\r0\r\n\r\n",
		"5\r\nhello\r\n0\n\r\n",
		"5\rhello\r\n",
		"0\r\n\n",
		"0\r\n\rX",
		"0\r\n Folded: x\r\n\r\n",
		"0\r\nNoColon\r\n\r\n",
		"0\r\nBad Name: x\r\n\r\n",
		"0\r\nX: a\x01\r\n\r\n",
		"0\r\nX: a\n\r\n",
		"5;ext\x01\r\nhello\r\n0\r\n\r\n",
		"4000000000000001\r\n",
		"10000000000000000\r\n",
		"ffffffffffffffffffff\r\n",
	};
	size_t i;
	char name[48];

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct http1_chunked c;
		bool done = false;
		long r;

		http1_chunked_init(&c);
		r = http1_chunked_feed(&c, bad[i], strlen(bad[i]), &done);
		snprintf(name, sizeof(name), "bad chunked %zu", i);
		ASSERT_EQ(r, HTTP1_E_BAD, name);
		ASSERT_FALSE(done, "not done");
		/* the error is sticky */
		ASSERT_EQ(http1_chunked_feed(&c, "0\r\n\r\n", 5, &done), HTTP1_E_BAD, "sticky");
	}
}

TEST(chunked_limits)
{
	struct http1_chunked c;
	char *line = malloc(5000);
	bool done;

	/* the largest size allowed is 2^62 */
	http1_chunked_init(&c);
	ASSERT_EQ(http1_chunked_feed(&c, "4000000000000000\r\nab", 20, &done), 20, "2^62 accepted");
	ASSERT_EQ(c.remaining, (1ull << 62) - 2, "remaining");
	ASSERT_FALSE(done, "not done");

	/* many leading zeros are fine until the line limit */
	http1_chunked_init(&c);
	memset(line, '0', 4000);
	memcpy(line + 4000, "1\r\nx\r\n0\r\n\r\n", 11);
	ASSERT_EQ(http1_chunked_feed(&c, line, 4011, &done), 4011, "4000 zeros");
	ASSERT_TRUE(done, "done");

	/* chunk-ext line bounded at 4096 bytes */
	memcpy(line, "1;", 2);
	memset(line + 2, 'e', 4092);
	memcpy(line + 4094, "\r\nx\r\n0\r\n\r\n", 10);
	http1_chunked_init(&c);
	ASSERT_EQ(http1_chunked_feed(&c, line, 4104, &done), 4104, "4096-byte size line");
	ASSERT_TRUE(done, "done");
	memset(line + 2, 'e', 4093);
	memcpy(line + 4095, "\r\nx\r\n0\r\n\r\n", 10);
	http1_chunked_init(&c);
	ASSERT_EQ(http1_chunked_feed(&c, line, 4105, &done), HTTP1_E_BAD, "4097-byte size line");

	/* trailer line bounded too */
	memcpy(line, "0\r\nX:", 5);
	memset(line + 5, 'v', 4995);
	http1_chunked_init(&c);
	ASSERT_EQ(http1_chunked_feed(&c, line, 5000, &done), HTTP1_E_BAD, "long trailer line");
	free(line);
}

/* Feed s to a scanner in random pieces; returns total consumed or error. */
static long chunk_split(const char *s, size_t len, size_t maxpiece, bool *done, uint64_t *total)
{
	struct http1_chunked c;
	size_t off = 0;
	long sum = 0;

	http1_chunked_init(&c);
	*done = false;
	while (off < len && !*done) {
		size_t n = 1 + rng() % maxpiece;
		char *piece;
		long r;

		if (n > len - off)
			n = len - off;
		piece = malloc(n); /* exact size: overreads would be real */
		memcpy(piece, s + off, n);
		r = http1_chunked_feed(&c, piece, n, done);
		free(piece);
		if (r < 0)
			return r;
		if (r > (long)n || (r < (long)n && !*done))
			return -100; /* short read without reaching the end */
		sum += r;
		off += n;
	}
	*total = c.total;
	return sum;
}

TEST(chunked_random_splits)
{
	static const char *const good[] = {
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"a;x=1\r\n0123456789\r\nA\r\n0123456789\r\n0;end\r\nT: 1\r\nU: 2\r\n\r\n",
		"1\r\n\r\r\n2\r\n\n\n\r\n0\r\n\r\n", /* CR/LF inside data are data */
		"0\r\n\r\n",
	};
	static const char *const bad[] = {
		"5\r\nhello\r\n6\r\n world\n0\r\n\r\n",
		"5\r\nhello\r\nG\r\n",
		"0\r\nT: 1\r\n U\r\n\r\n",
	};
	char tail[256];
	size_t i, it;

	rng_state = 0x12345678;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		bool done;
		uint64_t ref_total, total = 0;
		size_t blen = strlen(good[i]);
		long ref = chunk_all(good[i], blen, &done, &ref_total);

		if (!ASSERT_EQ(ref, blen, "reference parse") || !ASSERT_TRUE(done, "ref done"))
			continue;
		/* trailing bytes of a next message must never be consumed */
		snprintf(tail, sizeof(tail), "%sGET / HTTP/1.1\r\n", good[i]);
		for (it = 0; it < 300; it++) {
			long r = chunk_split(tail, strlen(tail), 1 + it % 7, &done, &total);

			if (!ASSERT_EQ(r, ref, "split consumed") || !ASSERT_TRUE(done, "split done") ||
			    !ASSERT_EQ(total, ref_total, "split total"))
				break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		for (it = 0; it < 100; it++) {
			bool done;
			uint64_t total;
			long r = chunk_split(bad[i], strlen(bad[i]), 1 + it % 5, &done, &total);

			if (!ASSERT_EQ(r, HTTP1_E_BAD, bad[i]))
				break;
		}
	}
}

TEST_MAIN()
