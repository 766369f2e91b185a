/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http1.h - strict, zero-copy HTTP/1.x message-head parser and body framing.
 *
 * The parser never copies or allocates: it fills a struct http1_msg with
 * (offset, length) slices into the caller's buffer. It is re-entrant and
 * stateless between calls for heads: call it again on the same buffer,
 * grown, when it returns HTTP1_INCOMPLETE (pass the previous *scanned value
 * back so already-checked bytes are not scanned twice).
 *
 * Strictness (RFC 9110/9112, and what request smuggling needs):
 *  - Content-Length and Transfer-Encoding together, more than one
 *    Content-Length (even equal), a non-digit or overflowing length,
 *    Transfer-Encoding other than exactly "chunked" as final coding,
 *    obs-fold (a line starting with SP/HT), a space before the colon,
 *    invalid token characters in a header name or method, CTLs in values,
 *    bare LF or bare CR, a missing Host on HTTP/1.1 -> HTTP1_E_BAD (400).
 *  - head larger than lim->max_head or more than lim->max_headers fields
 *    -> HTTP1_E_TOO_LARGE (431) / HTTP1_E_TOO_MANY (431).
 *  - request-target larger than lim->max_uri -> HTTP1_E_URI_TOO_LONG (414).
 *  - HTTP version other than 1.0 / 1.1 -> HTTP1_E_VERSION (505).
 *  - unknown method is allowed if it is a valid token (extension methods).
 */
#ifndef XADC_HTTP1_H
#define XADC_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define HTTP1_MAX_HEADERS 128 /* hard array size; lim->max_headers <= this */

enum http1_result {
	HTTP1_INCOMPLETE = 0,	    /* need more bytes; nothing wrong so far */
	HTTP1_E_BAD = -1,	    /* malformed / smuggling attempt: 400 */
	HTTP1_E_TOO_LARGE = -2,	    /* head exceeds max_head: 431 */
	HTTP1_E_TOO_MANY = -3,	    /* more than max_headers fields: 431 */
	HTTP1_E_URI_TOO_LONG = -4,  /* request-target too long: 414 */
	HTTP1_E_VERSION = -5,	    /* unsupported HTTP version: 505 */
	HTTP1_E_NOT_IMPLEMENTED = -6, /* unknown transfer-coding: 501 */
	/* > 0: complete head, value is the head length incl. final CRLF CRLF */
};

/* The HTTP status a proxy should answer for a negative http1_result. */
int http1_error_status(int result);
const char *http1_error_str(int result);

struct http1_slice {
	uint32_t off;
	uint32_t len;
};

/* Well-known header names, recognised case-insensitively while parsing. */
enum http1_hdr_id {
	H1_HDR_OTHER = 0,
	H1_HDR_HOST,
	H1_HDR_CONTENT_LENGTH,
	H1_HDR_TRANSFER_ENCODING,
	H1_HDR_CONNECTION,
	H1_HDR_KEEP_ALIVE,
	H1_HDR_PROXY_CONNECTION,
	H1_HDR_TE,
	H1_HDR_TRAILER,
	H1_HDR_UPGRADE,
	H1_HDR_EXPECT,
	H1_HDR_COOKIE,
	H1_HDR_SET_COOKIE,
	H1_HDR_X_FORWARDED_FOR,
	H1_HDR_X_FORWARDED_PROTO,
	H1_HDR_PROXY_AUTHORIZATION,
	H1_HDR_PROXY_AUTHENTICATE,
	H1_HDR_LOCATION,
	H1_HDR__COUNT
};

struct http1_header {
	struct http1_slice name;
	struct http1_slice value; /* leading/trailing OWS already trimmed */
	uint8_t id;		  /* enum http1_hdr_id */
	/* Set by the parser for hop-by-hop fields (Connection, Keep-Alive,
	 * Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization,
	 * Proxy-Authenticate, Transfer-Encoding) and for any field named in a
	 * Connection header's token list. The proxy skips these when it
	 * re-serialises the head. */
	bool hop_by_hop;
};

enum http1_method {
	H1_M_OTHER = 0,
	H1_M_GET,
	H1_M_HEAD,
	H1_M_POST,
	H1_M_PUT,
	H1_M_DELETE,
	H1_M_CONNECT,
	H1_M_OPTIONS,
	H1_M_TRACE,
	H1_M_PATCH,
};

enum http1_body {
	H1_BODY_NONE = 0, /* no body (GET without length, 204, 304, HEAD response...) */
	H1_BODY_LENGTH,	  /* Content-Length bytes follow */
	H1_BODY_CHUNKED,  /* chunked transfer coding follows */
	H1_BODY_EOF,	  /* response delimited by connection close */
};

/* Flags in http1_msg.flags */
#define H1_F_KEEP_ALIVE	 0x01 /* persistent per version + Connection header */
#define H1_F_EXPECT_100	 0x02 /* request has Expect: 100-continue */
#define H1_F_UPGRADE	 0x04 /* Connection: upgrade + Upgrade present */
#define H1_F_CONN_CLOSE	 0x08 /* Connection: close seen */
#define H1_F_HAS_HOST	 0x10

struct http1_msg {
	/* request line (requests only) */
	struct http1_slice method;
	struct http1_slice target;	/* request-target as sent */
	struct http1_slice path;	/* target up to '?' (origin-form), or path of absolute-form */
	struct http1_slice query;	/* after '?', without it; len 0 if none */
	uint8_t method_id;		/* enum http1_method */
	/* status line (responses only) */
	uint16_t status;
	struct http1_slice reason;
	/* both */
	uint8_t version_minor;		/* 0 or 1 (major is always 1) */
	uint8_t flags;			/* H1_F_* */
	uint8_t body;			/* enum http1_body */
	uint64_t content_length;	/* valid when body == H1_BODY_LENGTH */
	uint32_t head_len;		/* bytes of the head including final CRLF CRLF */
	uint16_t nhdrs;
	int16_t hdr_idx[H1_HDR__COUNT];	/* index of first header with that id, -1 if absent */
	struct http1_header hdrs[HTTP1_MAX_HEADERS];
};

struct http1_limits {
	uint32_t max_head;	/* bytes, e.g. 16384 */
	uint32_t max_headers;	/* fields, <= HTTP1_MAX_HEADERS, e.g. 100 */
	uint32_t max_uri;	/* bytes, e.g. 8192 */
};

/*
 * Parse a request head in buf[0..len). *scanned is in/out: start it at 0
 * for a new message; the parser stores how far it has looked for the end of
 * the head so a retry after more data arrives does not rescan.
 * Returns head length (> 0), HTTP1_INCOMPLETE, or a negative HTTP1_E_*.
 */
int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim,
			size_t *scanned, struct http1_msg *msg);

/*
 * Parse a response head. req_method is the method of the request it
 * answers (HEAD and CONNECT change the body rules). 1xx responses parse as
 * complete heads with body H1_BODY_NONE; the caller forwards them and
 * parses again for the final response.
 */
int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim,
			 uint8_t req_method, size_t *scanned, struct http1_msg *msg);

/* Case-insensitive compare of a slice with a NUL-terminated string. */
bool http1_slice_eq(const char *buf, struct http1_slice s, const char *str);

/*
 * Find a header by name (case-insensitive) starting at index *from (in/out,
 * start at 0). Returns its index, or -1.
 */
int http1_find_header(const char *buf, const struct http1_msg *msg, const char *name,
		      size_t name_len, int *from);

/*
 * Find a cookie by name in the request's Cookie header(s). On success sets
 * *val to the slice of its value and returns true.
 */
bool http1_find_cookie(const char *buf, const struct http1_msg *msg, const char *name,
		       size_t name_len, struct http1_slice *val);

/*
 * Chunked body scanner. The proxy forwards chunked bodies byte for byte;
 * this only validates the framing and finds where the body ends
 * (including trailers). It keeps its own state across calls, so data can be
 * fed in any fragmentation.
 */
struct http1_chunked {
	uint8_t state;
	uint8_t ndigits;
	uint16_t line_len;	/* bytes of current chunk-ext / trailer line */
	uint64_t remaining;	/* data bytes left in the current chunk */
	uint64_t total;		/* data bytes seen so far */
};

void http1_chunked_init(struct http1_chunked *c);
/*
 * Consume up to len bytes of chunked framing. Returns the number of bytes
 * that belong to the body (<= len; fewer only when the body ends inside
 * buf), or HTTP1_E_BAD on a framing error (bad hex, overflowing size, a
 * chunk not followed by CRLF, an over-long chunk-ext/trailer line > 4096).
 * Sets *done when the last chunk and trailers are complete.
 */
long http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len, bool *done);

#endif
