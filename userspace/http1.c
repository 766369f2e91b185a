// SPDX-License-Identifier: GPL-2.0
/*
 * http1.c - strict, zero-copy HTTP/1.x head parser and chunked framing
 * scanner (see include/xadc/http1.h for the contract).
 *
 * Design notes:
 *  - The end of the head is found with memchr('\n'); every LF met on the
 *    way must be preceded by CR, so a bare LF is rejected as soon as it is
 *    seen and the line parser can then trust that each LF ends "...\r\n".
 *  - Character classes are 256-entry tables; the hot loops do one table
 *    load per byte and no function calls.
 *  - Nothing is copied: the message holds (offset, length) slices.
 */
#include <string.h>

#include "xadc/common.h"
#include "xadc/http1.h"

#define H1_DEF_MAX_HEAD	   16384
#define H1_DEF_MAX_HEADERS 100
#define H1_DEF_MAX_URI	   8192

/* tchar (RFC 9110 5.6.2): valid in methods, header names and list tokens. */
static const uint8_t h1_tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* Field values and reason phrases: HT, SP, VCHAR, obs-text; no other CTL. */
static const uint8_t h1_vchar[256] = {
	['\t'] = 1, [0x20 ... 0x7e] = 1, [0x80 ... 0xff] = 1,
};

/* request-target: visible ASCII only (clients percent-encode the rest). */
static const uint8_t h1_uchar[256] = {
	[0x21 ... 0x7e] = 1,
};

/*
 * Host field value: uri-host [ ":" port ]. Anything that could change how
 * a backend or a cache splits the authority (SP, '/', '@', '?', '#', '\'...)
 * is refused so routing on Host cannot be confused.
 */
static const uint8_t h1_hostchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1,
	['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1,
	[','] = 1, [';'] = 1, ['='] = 1, [':'] = 1, ['['] = 1, [']'] = 1,
	['%'] = 1,
};

static const uint8_t h1_ishex[256] = {
	['0' ... '9'] = 0xff, ['A' ... 'F'] = 0xff, ['a' ... 'f'] = 0xff,
};

/*
 * Word-at-a-time skips over the common case of long runs of plain
 * printable ASCII (values, targets); the byte tables then judge the rest.
 * A word "may be bad" if any byte is < 0x21 (value: < 0x20) or == 0x7f;
 * bytes >= 0x80 are left to the tables.
 */
#define H1_ONES 0x0101010101010101ull
#define H1_HIGH 0x8080808080808080ull

static inline uint64_t h1_load64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Non-zero if some byte of w is below n (n <= 0x80) or is DEL. */
static inline uint64_t h1_word_suspect(uint64_t w, uint8_t n)
{
	uint64_t del = w ^ (H1_ONES * 0x7f);

	return ((w - H1_ONES * n) & ~w & H1_HIGH) | ((del - H1_ONES) & ~del & H1_HIGH);
}

/* First index in [i, end) that the word test cannot clear. */
static inline size_t h1_skip_plain(const char *buf, size_t i, size_t end, uint8_t n)
{
	while (end - i >= 8 && !h1_word_suspect(h1_load64(buf + i), n))
		i += 8;
	return i;
}

static inline int h1_hex(unsigned char c)
{
	if (c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static inline unsigned char h1_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* Case-insensitive compare of n bytes; b is any string. */
static inline bool h1_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h1_lower(a[i]) != h1_lower(b[i]))
			return false;
	return true;
}

static inline struct http1_slice h1_sl(size_t off, size_t len)
{
	struct http1_slice s = { .off = (uint32_t)off, .len = (uint32_t)len };

	return s;
}

/* ------------------------------------------------------------------ */
/* Well-known header names                                             */

struct h1_known {
	const char *name; /* lower case */
	uint8_t len;
	uint8_t id;
	bool hop;
};

static const struct h1_known h1_known_hdrs[] = {
	{ "te", 2, H1_HDR_TE, true },
	{ "host", 4, H1_HDR_HOST, false },
	{ "cookie", 6, H1_HDR_COOKIE, false },
	{ "expect", 6, H1_HDR_EXPECT, false },
	{ "trailer", 7, H1_HDR_TRAILER, true },
	{ "upgrade", 7, H1_HDR_UPGRADE, true },
	{ "location", 8, H1_HDR_LOCATION, false },
	{ "connection", 10, H1_HDR_CONNECTION, true },
	{ "keep-alive", 10, H1_HDR_KEEP_ALIVE, true },
	{ "set-cookie", 10, H1_HDR_SET_COOKIE, false },
	{ "content-length", 14, H1_HDR_CONTENT_LENGTH, false },
	{ "x-forwarded-for", 15, H1_HDR_X_FORWARDED_FOR, false },
	{ "proxy-connection", 16, H1_HDR_PROXY_CONNECTION, true },
	{ "transfer-encoding", 17, H1_HDR_TRANSFER_ENCODING, true },
	{ "x-forwarded-proto", 17, H1_HDR_X_FORWARDED_PROTO, false },
	{ "proxy-authenticate", 18, H1_HDR_PROXY_AUTHENTICATE, true },
	{ "proxy-authorization", 19, H1_HDR_PROXY_AUTHORIZATION, true },
};

/* Where each name length starts in h1_known_hdrs (sorted by length). */
static const struct {
	uint8_t first, count;
} h1_known_by_len[20] = {
	[2] = { 0, 1 },	  [4] = { 1, 1 },   [6] = { 2, 2 },   [7] = { 4, 2 },
	[8] = { 6, 1 },	  [10] = { 7, 3 },  [14] = { 10, 1 }, [15] = { 11, 1 },
	[16] = { 12, 1 }, [17] = { 13, 2 }, [18] = { 15, 1 }, [19] = { 16, 1 },
};

/*
 * Match a header name (already known to be tchars) against the table.
 * The table names hold only lower-case letters and '-', so OR-ing 0x20
 * into the candidate byte is an exact case fold for them: no other tchar
 * folds onto a letter or onto '-'.
 */
static const struct h1_known *h1_lookup_name(const char *n, size_t len)
{
	size_t i, j, end;

	if (len >= ARRAY_SIZE(h1_known_by_len))
		return NULL;
	i = h1_known_by_len[len].first;
	end = i + h1_known_by_len[len].count;
	for (; i < end; i++) {
		const struct h1_known *k = &h1_known_hdrs[i];

		if ((n[0] | 0x20) != k->name[0])
			continue;
		for (j = 1; j < len; j++)
			if ((unsigned char)(n[j] | 0x20) != (unsigned char)k->name[j])
				break;
		if (j == len)
			return k;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

int http1_error_status(int result)
{
	switch (result) {
	case HTTP1_E_BAD:
		return 400;
	case HTTP1_E_TOO_LARGE:
	case HTTP1_E_TOO_MANY:
		return 431;
	case HTTP1_E_URI_TOO_LONG:
		return 414;
	case HTTP1_E_VERSION:
		return 505;
	case HTTP1_E_NOT_IMPLEMENTED:
		return 501;
	default:
		return result < 0 ? 400 : 0;
	}
}

const char *http1_error_str(int result)
{
	switch (result) {
	case HTTP1_INCOMPLETE:
		return "incomplete";
	case HTTP1_E_BAD:
		return "malformed HTTP message";
	case HTTP1_E_TOO_LARGE:
		return "header section too large";
	case HTTP1_E_TOO_MANY:
		return "too many header fields";
	case HTTP1_E_URI_TOO_LONG:
		return "request-target too long";
	case HTTP1_E_VERSION:
		return "HTTP version not supported";
	case HTTP1_E_NOT_IMPLEMENTED:
		return "transfer-coding not implemented";
	default:
		return result > 0 ? "complete" : "unknown error";
	}
}

/* ------------------------------------------------------------------ */
/* Finding the end of the head                                         */

struct h1_lims {
	size_t max_head;
	size_t max_headers;
	size_t max_uri;
};

/* lim may be NULL, and a 0 field means "default". */
static void h1_get_lims(const struct http1_limits *lim, struct h1_lims *l)
{
	l->max_head = lim && lim->max_head ? lim->max_head : H1_DEF_MAX_HEAD;
	if (l->max_head > (1u << 30)) /* head length is returned as an int */
		l->max_head = 1u << 30;
	l->max_headers = lim && lim->max_headers ? lim->max_headers : H1_DEF_MAX_HEADERS;
	if (l->max_headers > HTTP1_MAX_HEADERS)
		l->max_headers = HTTP1_MAX_HEADERS;
	l->max_uri = lim && lim->max_uri ? lim->max_uri : H1_DEF_MAX_URI;
}

/*
 * Look for CRLF CRLF in buf[start..min(len, max_head)), resuming at
 * *scanned. Every LF must follow a CR. Returns the head length, 0 when not
 * found yet (*scanned updated), or HTTP1_E_BAD on a bare LF (*scanned is
 * then its offset).
 */
static int h1_find_end(const char *buf, size_t lim, size_t start, size_t *scanned)
{
	size_t p = *scanned > start ? *scanned : start;

	while (p < lim) {
		const char *lf = memchr(buf + p, '\n', lim - p);
		size_t i;

		if (!lf)
			break;
		i = lf - buf;
		if (i == 0 || buf[i - 1] != '\r') {
			*scanned = i; /* where the bare LF is */
			return HTTP1_E_BAD;
		}
		/* "\r\n\r\n" entirely after any skipped leading empty lines */
		if (i >= start + 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
			*scanned = i + 1;
			return (int)(i + 1);
		}
		p = i + 1;
	}
	*scanned = lim;
	return 0;
}

/*
 * RFC 9112 2.2: a server SHOULD ignore at least one empty line before the
 * request-line (some clients send CRLF after a POST body). Only complete
 * CRLF pairs are skipped, bounded by lim.
 */
static size_t h1_skip_empty_lines(const char *buf, size_t lim)
{
	size_t p = 0;

	while (p + 1 < lim && buf[p] == '\r' && buf[p + 1] == '\n')
		p += 2;
	return p;
}

/*
 * Checks that can be made on an incomplete request line so that garbage
 * (a TLS hello on the plain port, binary junk) and over-long targets are
 * refused without waiting for the whole head. They are exactly the first
 * checks the full parse makes, in the same order, so feeding byte by byte
 * gives the same verdict as parsing everything at once. Method bytes before
 * 'from' were checked by an earlier call.
 */
static int h1_check_partial_reqline(const char *buf, size_t start, size_t lim, size_t from,
				    const struct h1_lims *l)
{
	const char *lf = memchr(buf + start, '\n', lim - start);
	size_t lend = lf ? (size_t)(lf - buf) - 1 : lim;
	const char *sp;
	size_t mend, i, tstart, tend;

	if (lf == buf + start)
		return HTTP1_E_BAD;
	/*
	 * A trailing CR may be the start of the line's CRLF (or of a skipped
	 * empty line): judge it when its LF arrives, and re-check that byte
	 * next time (hence from - 1 below).
	 */
	if (!lf && buf[lim - 1] == '\r')
		lend--;
	sp = memchr(buf + start, ' ', lend - start);
	mend = sp ? (size_t)(sp - buf) : lend;

	for (i = from > start ? from - 1 : start; i < mend; i++)
		if (!h1_tchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	if (!sp)
		return 0;
	if (mend == start)
		return HTTP1_E_BAD;
	tstart = mend + 1;
	sp = memchr(buf + tstart, ' ', lend - tstart);
	tend = sp ? (size_t)(sp - buf) : lend;
	if (tend - tstart > l->max_uri)
		return HTTP1_E_URI_TOO_LONG;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Start lines                                                         */

/*
 * End of the line starting at p inside a located head: the index of its CR,
 * or (size_t)-1 if the line is not CRLF-terminated (only possible when the
 * caller passed a *scanned that does not belong to this buffer).
 */
static inline size_t h1_line_end(const char *buf, size_t p, size_t hend)
{
	const char *lf = memchr(buf + p, '\n', hend - p);

	if (!lf || lf == buf + p || lf[-1] != '\r')
		return (size_t)-1;
	return (size_t)(lf - buf) - 1;
}

/* "HTTP/1.0" / "HTTP/1.1" -> minor; HTTP/x.y -> 505; anything else 400. */
static int h1_parse_version(const char *v, size_t n, uint8_t *minor)
{
	if (n == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1')) {
		*minor = v[7] - '0';
		return 0;
	}
	if (n == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9')
		return HTTP1_E_VERSION;
	return HTTP1_E_BAD;
}

static uint8_t h1_method_id(const char *m, size_t n)
{
#define H1_M(str, id)                                                     \
	if (n == sizeof(str) - 1 && memcmp(m, str, sizeof(str) - 1) == 0) \
		return id;
	switch (m[0]) {
	case 'G':
		H1_M("GET", H1_M_GET);
		break;
	case 'H':
		H1_M("HEAD", H1_M_HEAD);
		break;
	case 'P':
		H1_M("POST", H1_M_POST);
		H1_M("PUT", H1_M_PUT);
		H1_M("PATCH", H1_M_PATCH);
		break;
	case 'D':
		H1_M("DELETE", H1_M_DELETE);
		break;
	case 'C':
		H1_M("CONNECT", H1_M_CONNECT);
		break;
	case 'O':
		H1_M("OPTIONS", H1_M_OPTIONS);
		break;
	case 'T':
		H1_M("TRACE", H1_M_TRACE);
		break;
	}
#undef H1_M
	return H1_M_OTHER;
}

/* authority-form (CONNECT only): host ":" port, port 1..5 digits. */
static int h1_check_authority_form(const char *buf, size_t t, size_t tend)
{
	size_t colon = tend, i;

	while (colon > t && buf[colon - 1] != ':')
		colon--;
	if (colon <= t + 1 || colon == tend || tend - colon > 5)
		return HTTP1_E_BAD;
	for (i = colon; i < tend; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return HTTP1_E_BAD;
	for (i = t; i < colon - 1; i++)
		if (!h1_hostchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	return 0;
}

/*
 * absolute-form: scheme "://" authority [path-abempty] ["?" query].
 * path and query point into the target; path may be empty ("http://h").
 */
static int h1_split_absolute_form(const char *buf, size_t t, size_t tend, struct http1_msg *msg)
{
	size_t i = t, auth, p, q;
	unsigned char c = buf[i];

	if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		return HTTP1_E_BAD;
	for (i++; i < tend; i++) {
		c = buf[i];
		if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
		    c == '-' || c == '.')
			continue;
		break;
	}
	if (tend - i < 3 || memcmp(buf + i, "://", 3) != 0)
		return HTTP1_E_BAD;
	auth = i + 3;
	for (p = auth; p < tend && buf[p] != '/' && buf[p] != '?'; p++)
		if (!h1_hostchar[(unsigned char)buf[p]])
			return HTTP1_E_BAD; /* userinfo ('@') included */
	if (p == auth)
		return HTTP1_E_BAD;
	for (q = p; q < tend && buf[q] != '?'; q++)
		;
	msg->path = h1_sl(p, q - p);
	if (q < tend)
		msg->query = h1_sl(q + 1, tend - q - 1);
	else
		msg->query = h1_sl(tend, 0);
	return 0;
}

/* method SP request-target SP HTTP-version, line is buf[p..lend). */
static int h1_parse_request_line(const char *buf, size_t p, size_t lend, const struct h1_lims *l,
				 struct http1_msg *msg)
{
	const char *sp;
	size_t i, mend, t, tend;
	int ret;

	sp = memchr(buf + p, ' ', lend - p);
	mend = sp ? (size_t)(sp - buf) : lend;
	for (i = p; i < mend; i++)
		if (!h1_tchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	if (!sp || mend == p)
		return HTTP1_E_BAD;
	t = mend + 1;
	sp = memchr(buf + t, ' ', lend - t);
	tend = sp ? (size_t)(sp - buf) : lend;
	if (tend - t > l->max_uri)
		return HTTP1_E_URI_TOO_LONG;
	if (!sp || tend == t)
		return HTTP1_E_BAD;
	for (i = h1_skip_plain(buf, t, tend, 0x21); i < tend; i++)
		if (!h1_uchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	ret = h1_parse_version(buf + tend + 1, lend - tend - 1, &msg->version_minor);
	if (ret)
		return ret;

	msg->method = h1_sl(p, mend - p);
	msg->method_id = h1_method_id(buf + p, mend - p);
	msg->target = h1_sl(t, tend - t);

	if (msg->method_id == H1_M_CONNECT) {
		/* CONNECT takes authority-form and nothing else. */
		ret = h1_check_authority_form(buf, t, tend);
		if (ret)
			return ret;
		msg->path = h1_sl(t, 0);
		msg->query = h1_sl(tend, 0);
		return 0;
	}
	if (buf[t] == '/') {
		const char *q = memchr(buf + t, '?', tend - t);

		if (q) {
			msg->path = h1_sl(t, (size_t)(q - buf) - t);
			msg->query = h1_sl((size_t)(q - buf) + 1, tend - (size_t)(q - buf) - 1);
		} else {
			msg->path = h1_sl(t, tend - t);
			msg->query = h1_sl(tend, 0);
		}
		return 0;
	}
	if (buf[t] == '*') {
		if (tend - t != 1 || msg->method_id != H1_M_OPTIONS)
			return HTTP1_E_BAD;
		msg->path = h1_sl(t, 1);
		msg->query = h1_sl(tend, 0);
		return 0;
	}
	return h1_split_absolute_form(buf, t, tend, msg);
}

/* HTTP-version SP 3DIGIT [SP reason-phrase], line is buf[p..lend). */
static int h1_parse_status_line(const char *buf, size_t p, size_t lend, struct http1_msg *msg)
{
	const char *sp = memchr(buf + p, ' ', lend - p);
	size_t vend = sp ? (size_t)(sp - buf) : lend, s, i;
	int ret;

	ret = h1_parse_version(buf + p, vend - p, &msg->version_minor);
	if (ret)
		return ret;
	s = vend + 1;
	if (!sp || lend - s < 3)
		return HTTP1_E_BAD;
	for (i = s; i < s + 3; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return HTTP1_E_BAD;
	msg->status = (buf[s] - '0') * 100 + (buf[s + 1] - '0') * 10 + (buf[s + 2] - '0');
	if (msg->status < 100)
		return HTTP1_E_BAD;
	s += 3;
	/* Some servers omit the SP before an empty reason; accept that. */
	if (s == lend) {
		msg->reason = h1_sl(s, 0);
		return 0;
	}
	if (buf[s] != ' ')
		return HTTP1_E_BAD;
	for (i = s + 1; i < lend; i++)
		if (!h1_vchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	msg->reason = h1_sl(s + 1, lend - s - 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Header fields                                                       */

struct h1_ctx {
	bool is_req;
	bool te_chunked;   /* "chunked" seen (must be the last coding) */
	bool te_other;	   /* a coding other than chunked seen */
	bool conn_close;
	bool conn_ka;
	bool conn_upgrade;
	bool conn_names;   /* Connection lists other field names */
	uint16_t nte;	   /* Transfer-Encoding fields */
};

static inline bool h1_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Walk a comma-separated list value, storing each element (OWS trimmed)
 * into e/elen, then running body. Empty elements are seen
 * with elen 0; body may 'continue' to the next element or return.
 */
#define H1_FOR_EACH_ELEM(buf, off, end, e, elen, body)                        \
	do {                                                                  \
		size_t __p = (off);                                           \
		while (__p <= (end)) {                                        \
			size_t __s = __p, __e;                                \
			while (__p < (end) && (buf)[__p] != ',')              \
				__p++;                                        \
			__e = __p;                                            \
			while (__s < __e && h1_ows((buf)[__s]))               \
				__s++;                                        \
			while (__e > __s && h1_ows((buf)[__e - 1]))           \
				__e--;                                        \
			e = __s;                                              \
			elen = __e - __s;                                     \
			__p++; /* past the ',' so body may 'continue' */      \
			body;                                                 \
		}                                                             \
	} while (0)

static bool h1_is_token(const char *buf, size_t off, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = off; i < off + len; i++)
		if (!h1_tchar[(unsigned char)buf[i]])
			return false;
	return true;
}

/*
 * Transfer-Encoding: chunked must appear once and be the final coding;
 * anything after it, a second chunked, parameters on chunked, or an empty
 * or non-token element is malformed. Other codings are remembered (501).
 */
static int h1_parse_te(const char *buf, struct http1_slice v, struct h1_ctx *cx)
{
	size_t e, elen;

	cx->nte++;
	if (!v.len)
		return HTTP1_E_BAD;
	H1_FOR_EACH_ELEM(buf, v.off, (size_t)v.off + v.len, e, elen, {
		const char *semi = memchr(buf + e, ';', elen);
		size_t nlen = semi ? (size_t)(semi - buf) - e : elen;

		while (nlen && h1_ows(buf[e + nlen - 1]))
			nlen--;
		if (cx->te_chunked || !h1_is_token(buf, e, nlen))
			return HTTP1_E_BAD;
		if (nlen == 7 && h1_caseeq(buf + e, "chunked", 7)) {
			if (semi)
				return HTTP1_E_BAD;
			cx->te_chunked = true;
		} else {
			cx->te_other = true;
		}
	});
	return 0;
}

/* Content-Length: 1*DIGIT, once, no sign, no inner space, no overflow. */
static int h1_parse_cl(const char *buf, struct http1_slice v, struct http1_msg *msg)
{
	uint64_t n = 0;
	size_t i;

	if (msg->hdr_idx[H1_HDR_CONTENT_LENGTH] >= 0 || !v.len)
		return HTTP1_E_BAD;
	for (i = v.off; i < (size_t)v.off + v.len; i++) {
		unsigned d = (unsigned char)buf[i] - '0';

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return HTTP1_E_BAD;
		n = n * 10 + d;
	}
	msg->content_length = n;
	return 0;
}

static int h1_parse_connection(const char *buf, struct http1_slice v, struct h1_ctx *cx)
{
	size_t e, elen;

	H1_FOR_EACH_ELEM(buf, v.off, (size_t)v.off + v.len, e, elen, {
		if (!elen)
			continue;
		if (!h1_is_token(buf, e, elen))
			return HTTP1_E_BAD;
		if (elen == 5 && h1_caseeq(buf + e, "close", 5))
			cx->conn_close = true;
		else if (elen == 10 && h1_caseeq(buf + e, "keep-alive", 10))
			cx->conn_ka = true;
		else if (elen == 7 && h1_caseeq(buf + e, "upgrade", 7))
			cx->conn_upgrade = true;
		else
			cx->conn_names = true;
	});
	return 0;
}

static int h1_check_host(const char *buf, struct http1_slice v, struct http1_msg *msg)
{
	size_t i;

	if (msg->hdr_idx[H1_HDR_HOST] >= 0)
		return HTTP1_E_BAD;
	for (i = v.off; i < (size_t)v.off + v.len; i++)
		if (!h1_hostchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	return 0;
}

/* Per-field semantics for the well-known names; called before hdr_idx is set. */
static int h1_field_semantics(const char *buf, struct http1_header *h, struct http1_msg *msg,
			      struct h1_ctx *cx)
{
	switch (h->id) {
	case H1_HDR_HOST:
		return cx->is_req ? h1_check_host(buf, h->value, msg) : 0;
	case H1_HDR_CONTENT_LENGTH:
		return h1_parse_cl(buf, h->value, msg);
	case H1_HDR_TRANSFER_ENCODING:
		return h1_parse_te(buf, h->value, cx);
	case H1_HDR_CONNECTION:
		return h1_parse_connection(buf, h->value, cx);
	case H1_HDR_EXPECT:
		if (cx->is_req && h->value.len == 12 &&
		    h1_caseeq(buf + h->value.off, "100-continue", 12))
			msg->flags |= H1_F_EXPECT_100;
		return 0;
	default:
		return 0;
	}
}

/* One field line buf[p..lend): name ":" OWS value OWS. */
static int h1_parse_field(const char *buf, size_t p, size_t lend, const struct h1_lims *l,
			  struct http1_msg *msg, struct h1_ctx *cx)
{
	const struct h1_known *k;
	struct http1_header *h;
	size_t q = p, v, ve, i;
	int ret;

	/* obs-fold (leading SP/HT) and a space before ':' both fail here. */
	while (q < lend && h1_tchar[(unsigned char)buf[q]])
		q++;
	if (q == p || q == lend || buf[q] != ':')
		return HTTP1_E_BAD;
	for (i = h1_skip_plain(buf, q + 1, lend, 0x20); i < lend; i++)
		if (!h1_vchar[(unsigned char)buf[i]])
			return HTTP1_E_BAD;
	if (msg->nhdrs >= l->max_headers)
		return HTTP1_E_TOO_MANY;
	v = q + 1;
	ve = lend;
	while (v < ve && h1_ows(buf[v]))
		v++;
	while (ve > v && h1_ows(buf[ve - 1]))
		ve--;

	h = &msg->hdrs[msg->nhdrs];
	h->name = h1_sl(p, q - p);
	h->value = h1_sl(v, ve - v);
	k = h1_lookup_name(buf + p, q - p);
	h->id = k ? k->id : H1_HDR_OTHER;
	h->hop_by_hop = k ? k->hop : false;
	if (k) {
		ret = h1_field_semantics(buf, h, msg, cx);
		if (ret)
			return ret;
		if (msg->hdr_idx[k->id] < 0)
			msg->hdr_idx[k->id] = (int16_t)msg->nhdrs;
	}
	msg->nhdrs++;
	return 0;
}

/*
 * Mark fields named in Connection as hop-by-hop. Host and Content-Length
 * are deliberately never marked: a client listing them would make the
 * proxy drop the routing key or, worse, the body length while still
 * forwarding the body (request smuggling).
 */
static void h1_mark_connection_names(const char *buf, struct http1_msg *msg)
{
	size_t e, elen;
	int i, j;

	for (i = msg->hdr_idx[H1_HDR_CONNECTION]; i >= 0 && i < msg->nhdrs; i++) {
		struct http1_header *c = &msg->hdrs[i];

		if (c->id != H1_HDR_CONNECTION)
			continue;
		H1_FOR_EACH_ELEM(buf, c->value.off, (size_t)c->value.off + c->value.len, e, elen, {
			if (!elen)
				continue;
			for (j = 0; j < msg->nhdrs; j++) {
				struct http1_header *h = &msg->hdrs[j];

				if (h->hop_by_hop || h->name.len != elen ||
				    h->id == H1_HDR_HOST || h->id == H1_HDR_CONTENT_LENGTH)
					continue;
				if (h1_caseeq(buf + h->name.off, buf + e, elen))
					h->hop_by_hop = true;
			}
		});
	}
}

/* ------------------------------------------------------------------ */
/* Whole head                                                          */

static void h1_msg_reset(struct http1_msg *msg)
{
	msg->method = msg->target = msg->path = msg->query = msg->reason = h1_sl(0, 0);
	msg->method_id = H1_M_OTHER;
	msg->status = 0;
	msg->version_minor = 0;
	msg->flags = 0;
	msg->body = H1_BODY_NONE;
	msg->content_length = 0;
	msg->head_len = 0;
	msg->nhdrs = 0;
	memset(msg->hdr_idx, 0xff, sizeof(msg->hdr_idx));
}

/* Framing rules common to requests and responses; sets msg->body. */
static int h1_framing(struct http1_msg *msg, const struct h1_ctx *cx)
{
	bool has_cl = msg->hdr_idx[H1_HDR_CONTENT_LENGTH] >= 0;

	if (cx->nte) {
		/* CL+TE is the classic smuggling vector; an HTTP/1.0 message
		 * with TE has faulty framing (RFC 9112 6.1). */
		if (has_cl || msg->version_minor == 0 || !cx->te_chunked)
			return HTTP1_E_BAD;
		if (cx->te_other)
			return HTTP1_E_NOT_IMPLEMENTED;
		msg->body = H1_BODY_CHUNKED;
	} else if (has_cl) {
		msg->body = H1_BODY_LENGTH;
	}
	return 0;
}

static void h1_conn_flags(struct http1_msg *msg, const struct h1_ctx *cx)
{
	if (cx->conn_close)
		msg->flags |= H1_F_CONN_CLOSE;
	else if (msg->version_minor == 1 || cx->conn_ka)
		msg->flags |= H1_F_KEEP_ALIVE;
	if (cx->conn_upgrade && msg->hdr_idx[H1_HDR_UPGRADE] >= 0)
		msg->flags |= H1_F_UPGRADE;
}

/* Parse the header fields of buf[p..hend) (hend includes the final CRLF). */
static int h1_parse_fields(const char *buf, size_t p, size_t hend, const struct h1_lims *l,
			   struct http1_msg *msg, struct h1_ctx *cx)
{
	int ret;

	while (p < hend - 2) {
		size_t lend = h1_line_end(buf, p, hend);

		if (lend == (size_t)-1)
			return HTTP1_E_BAD;
		ret = h1_parse_field(buf, p, lend, l, msg, cx);
		if (ret)
			return ret;
		p = lend + 2;
	}
	if (cx->conn_names)
		h1_mark_connection_names(buf, msg);
	return 0;
}

/*
 * Find the head, returning its length, 0 (incomplete; partial checks
 * passed) or an error. *start receives the first byte of the start line.
 */
static int h1_locate_head(const char *buf, size_t len, const struct h1_lims *l, bool is_req,
			  size_t *scanned, size_t *start)
{
	size_t lim = len < l->max_head ? len : l->max_head;
	size_t from = *scanned > len ? len : *scanned;
	int ret;

	*start = is_req ? h1_skip_empty_lines(buf, lim) : 0;
	*scanned = from;
	ret = h1_find_end(buf, lim, *start, scanned);
	if (ret > 0)
		return ret;
	/*
	 * On a bare LF, report whatever a byte-by-byte feed would have
	 * reported first: an error in the request line before that LF.
	 */
	if (is_req && *start < *scanned) {
		int err = h1_check_partial_reqline(buf, *start, *scanned, from, l);

		if (err)
			return err;
	}
	if (ret < 0)
		return ret;
	if (len >= l->max_head)
		return HTTP1_E_TOO_LARGE;
	return HTTP1_INCOMPLETE;
}

int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim,
			size_t *scanned, struct http1_msg *msg)
{
	struct h1_ctx cx = { .is_req = true };
	struct h1_lims l;
	size_t start, hend, lend, dummy = 0;
	int ret;

	if (!scanned)
		scanned = &dummy;
	h1_get_lims(lim, &l);
	h1_msg_reset(msg);
	ret = h1_locate_head(buf, len, &l, true, scanned, &start);
	if (ret <= 0)
		return ret;
	hend = (size_t)ret;

	lend = h1_line_end(buf, start, hend);
	if (lend == (size_t)-1)
		return HTTP1_E_BAD;
	ret = h1_parse_request_line(buf, start, lend, &l, msg);
	if (ret)
		return ret;
	ret = h1_parse_fields(buf, lend + 2, hend, &l, msg, &cx);
	if (ret)
		return ret;
	if (msg->hdr_idx[H1_HDR_HOST] >= 0)
		msg->flags |= H1_F_HAS_HOST;
	else if (msg->version_minor == 1)
		return HTTP1_E_BAD;
	if (msg->version_minor == 0)
		msg->flags &= ~H1_F_EXPECT_100;
	ret = h1_framing(msg, &cx);
	if (ret)
		return ret;
	h1_conn_flags(msg, &cx);
	msg->head_len = (uint32_t)hend;
	return (int)hend;
}

int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim,
			 uint8_t req_method, size_t *scanned, struct http1_msg *msg)
{
	struct h1_ctx cx = { .is_req = false };
	struct h1_lims l;
	size_t start, hend, lend, dummy = 0;
	int ret;

	if (!scanned)
		scanned = &dummy;
	h1_get_lims(lim, &l);
	h1_msg_reset(msg);
	ret = h1_locate_head(buf, len, &l, false, scanned, &start);
	if (ret <= 0)
		return ret;
	hend = (size_t)ret;

	lend = h1_line_end(buf, start, hend);
	if (lend == (size_t)-1)
		return HTTP1_E_BAD;
	ret = h1_parse_status_line(buf, start, lend, msg);
	if (ret)
		return ret;
	ret = h1_parse_fields(buf, lend + 2, hend, &l, msg, &cx);
	if (ret)
		return ret;
	/* Malformed framing is refused even where the body rules below
	 * ignore it: the message is not trustworthy. */
	ret = h1_framing(msg, &cx);
	if (ret)
		return ret;
	if (msg->status < 200 || msg->status == 204 || msg->status == 304 ||
	    req_method == H1_M_HEAD ||
	    (req_method == H1_M_CONNECT && msg->status < 300)) {
		msg->body = H1_BODY_NONE;
	} else if (msg->body == H1_BODY_NONE) {
		msg->body = H1_BODY_EOF;
	}
	h1_conn_flags(msg, &cx);
	if (msg->body == H1_BODY_EOF)
		msg->flags &= ~H1_F_KEEP_ALIVE;
	msg->head_len = (uint32_t)hend;
	return (int)hend;
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

bool http1_slice_eq(const char *buf, struct http1_slice s, const char *str)
{
	size_t n = strlen(str);

	return s.len == n && h1_caseeq(buf + s.off, str, n);
}

int http1_find_header(const char *buf, const struct http1_msg *msg, const char *name,
		      size_t name_len, int *from)
{
	int i = from && *from > 0 ? *from : 0;

	for (; i < msg->nhdrs; i++) {
		const struct http1_header *h = &msg->hdrs[i];

		if (h->name.len == name_len && h1_caseeq(buf + h->name.off, name, name_len)) {
			if (from)
				*from = i + 1;
			return i;
		}
	}
	if (from)
		*from = msg->nhdrs;
	return -1;
}

/*
 * Search one Cookie value: cookie-pair *( ";" SP cookie-pair ), tolerating
 * any OWS around pairs, names and '='. Names compare case-sensitively
 * (RFC 6265); a DQUOTEd value is returned without its quotes.
 */
static bool h1_cookie_in(const char *buf, struct http1_slice v, const char *name,
			 size_t name_len, struct http1_slice *val)
{
	size_t p = v.off, end = (size_t)v.off + v.len;

	while (p < end) {
		size_t s = p, e, eq, vs, ve;

		while (p < end && buf[p] != ';')
			p++;
		e = p++;
		while (s < e && h1_ows(buf[s]))
			s++;
		eq = s;
		while (eq < e && buf[eq] != '=')
			eq++;
		if (eq == e)
			continue;
		vs = eq + 1;
		while (eq > s && h1_ows(buf[eq - 1]))
			eq--;
		if (eq - s != name_len || memcmp(buf + s, name, name_len) != 0)
			continue;
		ve = e;
		while (vs < ve && h1_ows(buf[vs]))
			vs++;
		while (ve > vs && h1_ows(buf[ve - 1]))
			ve--;
		if (ve - vs >= 2 && buf[vs] == '"' && buf[ve - 1] == '"') {
			vs++;
			ve--;
		}
		*val = h1_sl(vs, ve - vs);
		return true;
	}
	return false;
}

bool http1_find_cookie(const char *buf, const struct http1_msg *msg, const char *name,
		       size_t name_len, struct http1_slice *val)
{
	int i = msg->hdr_idx[H1_HDR_COOKIE];

	if (i < 0 || !name_len)
		return false;
	for (; i < msg->nhdrs; i++)
		if (msg->hdrs[i].id == H1_HDR_COOKIE &&
		    h1_cookie_in(buf, msg->hdrs[i].value, name, name_len, val))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Chunked framing                                                     */

enum {
	CK_SIZE0,	/* first hex digit of a chunk-size */
	CK_SIZE,	/* more hex digits, ';', BWS or CR */
	CK_SIZE_BWS,	/* BWS after the size: only ';' may follow */
	CK_EXT,		/* chunk-ext up to CR */
	CK_SIZE_LF,	/* LF ending the size line */
	CK_DATA,	/* chunk-data */
	CK_DATA_CR,	/* CR after chunk-data */
	CK_DATA_LF,	/* LF after chunk-data */
	CK_TRAILER,	/* start of a trailer line or the final CRLF */
	CK_TR_NAME,	/* trailer field name */
	CK_TR_VALUE,	/* trailer field value up to CR */
	CK_TR_LF,	/* LF ending a trailer line */
	CK_FINAL_LF,	/* LF of the final empty line */
	CK_DONE,
	CK_ERROR,
};

#define CK_MAX_LINE	4096
#define CK_MAX_SIZE	(1ull << 62)
#define CK_MAX_TRAILERS 100

void http1_chunked_init(struct http1_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CK_SIZE0;
}

/* Count a framing byte against the line limit; false when over. */
static inline bool ck_line_byte(struct http1_chunked *c)
{
	return ++c->line_len <= CK_MAX_LINE;
}

long http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len, bool *done)
{
	size_t p = 0;

	while (p < len && c->state != CK_DONE && c->state != CK_ERROR) {
		unsigned char ch = buf[p];

		if (c->state == CK_DATA) {
			size_t n = len - p;

			if (n > c->remaining)
				n = c->remaining;
			p += n;
			c->remaining -= n;
			c->total += n;
			if (!c->remaining)
				c->state = CK_DATA_CR;
			continue;
		}
		if (c->state != CK_DATA_CR && c->state != CK_DATA_LF && !ck_line_byte(c))
			goto bad;
		p++;
		switch (c->state) {
		case CK_SIZE0:
		case CK_SIZE:
			if (h1_ishex[ch]) {
				unsigned d = h1_hex(ch);

				if (c->remaining > (CK_MAX_SIZE - d) / 16)
					goto bad;
				c->remaining = c->remaining * 16 + d;
				if (c->ndigits < 255)
					c->ndigits++;
				c->state = CK_SIZE;
			} else if (c->state == CK_SIZE0) {
				goto bad;
			} else if (ch == '\r') {
				c->state = CK_SIZE_LF;
			} else if (ch == ';') {
				c->state = CK_EXT;
			} else if (ch == ' ' || ch == '\t') {
				c->state = CK_SIZE_BWS;
			} else {
				goto bad;
			}
			break;
		case CK_SIZE_BWS:
			if (ch == ';')
				c->state = CK_EXT;
			else if (ch != ' ' && ch != '\t')
				goto bad;
			break;
		case CK_EXT:
			if (ch == '\r')
				c->state = CK_SIZE_LF;
			else if (!h1_vchar[ch])
				goto bad;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			c->ndigits = 0;
			c->state = c->remaining ? CK_DATA : CK_TRAILER;
			break;
		case CK_DATA_CR:
			if (ch != '\r')
				goto bad;
			c->state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->state = CK_SIZE0;
			break;
		case CK_TRAILER:
			if (ch == '\r') {
				c->state = CK_FINAL_LF;
			} else if (h1_tchar[ch]) {
				/* ndigits counts trailer lines from here on */
				if (++c->ndigits > CK_MAX_TRAILERS)
					goto bad;
				c->state = CK_TR_NAME;
			} else {
				goto bad; /* obs-fold, bare LF, junk */
			}
			break;
		case CK_TR_NAME:
			if (ch == ':')
				c->state = CK_TR_VALUE;
			else if (!h1_tchar[ch])
				goto bad;
			break;
		case CK_TR_VALUE:
			if (ch == '\r')
				c->state = CK_TR_LF;
			else if (!h1_vchar[ch])
				goto bad;
			break;
		case CK_TR_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			c->state = CK_TRAILER;
			break;
		case CK_FINAL_LF:
			if (ch != '\n')
				goto bad;
			c->state = CK_DONE;
			break;
		}
	}
	if (c->state == CK_ERROR)
		goto bad;
	*done = c->state == CK_DONE;
	return (long)p;
bad:
	c->state = CK_ERROR;
	*done = false;
	return HTTP1_E_BAD;
}
