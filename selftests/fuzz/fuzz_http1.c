// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_http1.c - libFuzzer target for the HTTP/1.x parser (http1.c).
 *
 * Every input is parsed as a request and as a response under several
 * limits, re-parsed incrementally (growing prefixes, reusing *scanned) to
 * check the verdict does not depend on how the bytes arrived, and run
 * through the chunked scanner in pieces whose sizes come from the input.
 * Any broken invariant abort()s so libFuzzer records the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http1_limits fz_lims[] = {
	{ .max_head = 16384, .max_headers = 100, .max_uri = 8192 },
	{ .max_head = 64, .max_headers = 3, .max_uri = 16 },
	{ .max_head = 1024, .max_headers = HTTP1_MAX_HEADERS, .max_uri = 40 },
};

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_http1: invariant failed: %s (line %d)\n", \
				#cond, __LINE__);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

static void check_slice(struct http1_slice s, size_t lo, size_t hi)
{
	CHECK(s.off >= lo);
	CHECK((size_t)s.off + s.len <= hi);
}

static bool valid_result(int r)
{
	return r >= HTTP1_E_NOT_IMPLEMENTED;
}

static void check_msg(const char *buf, size_t len, int r, const struct http1_limits *l,
		      const struct http1_msg *m, bool is_req)
{
	int i;

	CHECK(valid_result(r));
	CHECK(http1_error_str(r) != NULL);
	if (r < 0)
		CHECK(http1_error_status(r) >= 400);
	if (r <= 0)
		return;
	CHECK((size_t)r <= len);
	CHECK((size_t)r <= l->max_head);
	CHECK(m->head_len == (uint32_t)r);
	CHECK(m->nhdrs <= l->max_headers);
	CHECK(m->version_minor <= 1);
	CHECK(m->body <= H1_BODY_EOF);
	CHECK(memcmp(buf + r - 4, "\r\n\r\n", 4) == 0);
	for (i = 0; i < m->nhdrs; i++) {
		const struct http1_header *h = &m->hdrs[i];

		check_slice(h->name, 0, r);
		check_slice(h->value, 0, r);
		CHECK(h->name.len > 0);
		CHECK(h->id < H1_HDR__COUNT);
	}
	for (i = 0; i < H1_HDR__COUNT; i++) {
		CHECK(m->hdr_idx[i] >= -1 && m->hdr_idx[i] < m->nhdrs);
		if (m->hdr_idx[i] >= 0)
			CHECK(m->hdrs[m->hdr_idx[i]].id == i);
	}
	if (m->body == H1_BODY_LENGTH)
		CHECK(m->hdr_idx[H1_HDR_CONTENT_LENGTH] >= 0);
	if (m->body == H1_BODY_CHUNKED)
		CHECK(m->hdr_idx[H1_HDR_CONTENT_LENGTH] < 0);
	if (is_req) {
		CHECK(m->method.len > 0);
		CHECK(m->body != H1_BODY_EOF);
		check_slice(m->method, 0, r);
		check_slice(m->target, 0, r);
		CHECK(m->target.len > 0 && m->target.len <= l->max_uri);
		check_slice(m->path, m->target.off, m->target.off + m->target.len);
		check_slice(m->query, m->target.off, m->target.off + m->target.len);
		if (m->version_minor == 1)
			CHECK(m->flags & H1_F_HAS_HOST);
	} else {
		CHECK(m->status >= 100 && m->status <= 999);
		check_slice(m->reason, 0, r);
	}
}

/* Feed growing prefixes of buf; the verdict must match the one-shot parse. */
static void check_incremental(const char *buf, size_t len, const struct http1_limits *l,
			      bool is_req, int whole, size_t step)
{
	struct http1_msg m;
	size_t n = 0, sc = 0;
	int r = HTTP1_INCOMPLETE;

	while (n < len) {
		n += step;
		if (n > len)
			n = len;
		if (is_req)
			r = http1_parse_request(buf, n, l, &sc, &m);
		else
			r = http1_parse_response(buf, n, l, H1_M_GET, &sc, &m);
		CHECK(sc <= n);
		if (r != HTTP1_INCOMPLETE)
			break;
	}
	CHECK(r == whole);
}

static void fuzz_heads(const char *buf, size_t len, size_t step)
{
	static const uint8_t methods[] = { H1_M_GET, H1_M_HEAD, H1_M_CONNECT };
	struct http1_msg m;
	size_t i, j, sc;
	int r;

	for (i = 0; i < sizeof(fz_lims) / sizeof(fz_lims[0]); i++) {
		const struct http1_limits *l = &fz_lims[i];
		struct http1_slice v;
		int from = 0;

		sc = 0;
		r = http1_parse_request(buf, len, l, &sc, &m);
		CHECK(sc <= len);
		check_msg(buf, len, r, l, &m, true);
		if (r > 0) {
			/* lookups must stay inside the head */
			if (http1_find_cookie(buf, &m, "a", 1, &v))
				check_slice(v, 0, r);
			while ((j = http1_find_header(buf, &m, "x", 1, &from)) != (size_t)-1)
				CHECK(j < m.nhdrs);
		}
		check_incremental(buf, len, l, true, r, step);

		for (j = 0; j < sizeof(methods); j++) {
			sc = 0;
			r = http1_parse_response(buf, len, l, methods[j], &sc, &m);
			CHECK(sc <= len);
			check_msg(buf, len, r, l, &m, false);
			if (r > 0 && (methods[j] == H1_M_HEAD || m.status < 200))
				CHECK(m.body == H1_BODY_NONE);
		}
		sc = 0;
		r = http1_parse_response(buf, len, l, H1_M_GET, &sc, &m);
		check_incremental(buf, len, l, false, r, step);
	}
}

/* Chunked scanner: one shot versus pieces sized by the input's own bytes. */
static void fuzz_chunked(const char *buf, size_t len, const uint8_t *sizes, size_t nsizes)
{
	struct http1_chunked a, b;
	bool done_a = false, done_b = false;
	long ra, rb, sum = 0;
	size_t off = 0, k = 0;

	http1_chunked_init(&a);
	ra = http1_chunked_feed(&a, buf, len, &done_a);
	CHECK(ra == HTTP1_E_BAD || (ra >= 0 && (size_t)ra <= len));
	if (ra >= 0 && (size_t)ra < len)
		CHECK(done_a);

	http1_chunked_init(&b);
	rb = 0;
	while (off < len) {
		size_t n = nsizes ? (size_t)sizes[k++ % nsizes] % 17 + 1 : 1;

		if (n > len - off)
			n = len - off;
		rb = http1_chunked_feed(&b, buf + off, n, &done_b);
		if (rb < 0)
			break;
		CHECK((size_t)rb <= n);
		sum += rb;
		off += n;
		if (done_b)
			break;
	}
	/* same verdict, same end, same data count however the bytes arrive */
	if (ra < 0) {
		CHECK(rb < 0);
	} else {
		CHECK(rb >= 0);
		CHECK(sum == ra);
		CHECK(done_a == done_b);
		CHECK(a.total == b.total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	size_t step;

	if (size > 65536)
		return 0;
	/* exact-size heap copy so ASan sees any read past the end */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	step = size ? (size_t)data[size - 1] % 23 + 1 : 1;
	fuzz_heads(buf, size, step);
	fuzz_chunked(buf, size, data, size < 8 ? size : 8);
	free(buf);
	return 0;
}
