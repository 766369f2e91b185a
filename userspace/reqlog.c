// SPDX-License-Identifier: GPL-2.0
/*
 * reqlog.c - the request log (see reqlog.h).
 *
 * Each worker formats its line straight into a slot of its own
 * single-producer ring (fixed slots, no allocation, no lock). A logger
 * thread drains every ring every RL_PERIOD_MS: the lines go to the file in
 * one write per batch (O_APPEND) and into a bounded history with global
 * sequence numbers that xadc_reqlog_recent() serves. The history's mutex is
 * shared by the logger and API readers only, never by workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "xadc/common.h"
#include "xadc/reqlog.h"
#include "conn.h"

#define MOD "reqlog"
/* A ring holds RL_SLOTS lines per RL_PERIOD_MS (100,000 lines/s per
 * worker before any is dropped); its pages are touched as it fills, so a
 * smaller ring drained more often costs less resident memory (2 MiB, not
 * 8) for the same rate. */
#define RL_SLOTS	1024		/* per worker, power of two */
#define RL_SLOT_SIZE	2048
#define RL_LINE_MAX	(RL_SLOT_SIZE - sizeof(uint32_t))
#define RL_HISTORY	10000
#define RL_PERIOD_MS	10
#define RL_BATCH	(256 * 1024)
#define RL_TAIL_RESERVE	24		/* room kept for ",\"truncated\":true}\n" */

struct rl_slot {
	uint32_t len;
	char line[RL_LINE_MAX];
};

struct rl_ring {
	_Alignas(XADC_CACHELINE) atomic_uint head;	/* producer */
	_Alignas(XADC_CACHELINE) atomic_uint tail;	/* consumer */
	atomic_ullong dropped;
	struct rl_slot *slots;
};

struct rl_hist {
	uint64_t seq;
	char *line;
};

static struct rl_ring *rings;
static unsigned nrings;
static pthread_t logger;
static bool running;
static atomic_int stop_flag, reopen_flag;
static int log_fd = -1;
static char *log_path;
static char *batch;

static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_hist hist[RL_HISTORY];
static uint64_t hist_seq;	/* sequence of the newest line */
static uint64_t dropped_reported;

/* ------------------------------------------------------- JSON writer */

struct jw {
	char *p;
	size_t len, cap;	/* cap excludes RL_TAIL_RESERVE */
	bool trunc;
};

static void jw_raw(struct jw *j, const char *s, size_t n)
{
	if (n > j->cap - j->len) {
		j->trunc = true;
		return;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
}

static void jw_fmt(struct jw *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_fmt(struct jw *j, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_raw(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * The writers below replace printf on the per-request path (one log line
 * per request, even without a log file: the API keeps a history).
 */

/* Decimal digits of v at the end of buf[24]; returns where they start. */
static char *u64_digits(char buf[24], uint64_t v)
{
	char *p = buf + 24;

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	return p;
}

/* A literal key followed by an unsigned integer: ",\"k\":123", written
 * whole or not at all (like jw_fmt) so a cut line stays JSON. */
static void jw_u64(struct jw *j, const char *key, size_t klen, uint64_t v)
{
	char buf[64 + 24], d[24], *p = u64_digits(d, v);
	size_t n = d + 24 - p;

	if (klen > 64) {
		j->trunc = true;
		return;
	}
	memcpy(buf, key, klen);
	memcpy(buf + klen, p, n);
	jw_raw(j, buf, klen + n);
}

#define JW_U64(j, lit, v) jw_u64(j, lit, sizeof(lit) - 1, v)

/* ",\"k\":%.3f" for a duration in ms, rounded to the nearest microsecond
 * (a value printf would see just below an exact half may come out one unit
 * higher); printf only for what it does not expect (negative, huge, NaN). */
static void jw_ms3(struct jw *j, const char *key, size_t klen, double v)
{
	char buf[64 + 40], d[24], *p;
	uint64_t m;
	size_t n;

	if (klen > 64) {
		j->trunc = true;
		return;
	}
	memcpy(buf, key, klen);
	n = klen;
	if (!(v >= 0 && v < 1e12)) {
		n += snprintf(buf + n, sizeof(buf) - n, "%.3f", v);
		jw_raw(j, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
		return;
	}
	m = (uint64_t)(v * 1000.0 + 0.5);
	p = u64_digits(d, m / 1000);
	memcpy(buf + n, p, d + 24 - p);
	n += d + 24 - p;
	buf[n++] = '.';
	buf[n++] = '0' + m / 100 % 10;
	buf[n++] = '0' + m / 10 % 10;
	buf[n++] = '0' + m % 10;
	jw_raw(j, buf, n);
}

#define JW_MS3(j, lit, v) jw_ms3(j, lit, sizeof(lit) - 1, v)

/* Two digits of v (0..99) at p. */
static void two(char *p, unsigned v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
}

/* "YYYY-MM-DDTHH:MM:SS" of sec (UTC) into out[40]; kept per thread and
 * only recomputed when the second changes. */
static void utc_stamp(time_t sec, char out[40])
{
	static __thread time_t last = -1;
	static __thread char cached[40];
	struct tm tm;
	int y;

	if (sec != last) {
		gmtime_r(&sec, &tm);
		y = tm.tm_year + 1900;
		if (y < 0 || y > 9999) {
			strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		} else {
			two(cached, y / 100);
			two(cached + 2, y % 100);
			cached[4] = '-';
			two(cached + 5, tm.tm_mon + 1);
			cached[7] = '-';
			two(cached + 8, tm.tm_mday);
			cached[10] = 'T';
			two(cached + 11, tm.tm_hour);
			cached[13] = ':';
			two(cached + 14, tm.tm_min);
			cached[16] = ':';
			two(cached + 17, tm.tm_sec);
			cached[19] = '\0';
		}
		last = sec;
	}
	memcpy(out, cached, 40);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static unsigned utf8_seq(const unsigned char *s, size_t n)
{
	unsigned len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* The escaped form of the character at s[i]: sets *rep (NULL: copy the
 * bytes as they are) and *k (input bytes used); returns the output length. */
static unsigned esc_one(const unsigned char *s, size_t n, size_t i, char esc[8],
			const char **rep, unsigned *k)
{
	*k = 1;
	*rep = esc;
	switch (s[i]) {
	case '"': *rep = "\\\""; return 2;
	case '\\': *rep = "\\\\"; return 2;
	case '\n': *rep = "\\n"; return 2;
	case '\r': *rep = "\\r"; return 2;
	case '\t': *rep = "\\t"; return 2;
	}
	if (s[i] < 0x20 || s[i] == 0x7f) {
		snprintf(esc, 8, "\\u%04x", s[i]);
		return 6;
	}
	*k = utf8_seq(s + i, n - i);
	if (!*k) {
		*k = 1;
		*rep = "\\ufffd";
		return 6;
	}
	*rep = NULL;
	return *k;
}

/* Bytes a JSON string cannot carry as they are (or that may start a
 * UTF-8 sequence to check). */
static const bool json_special[256] = {
	[0 ... 0x1f] = true, ['"'] = true, ['\\'] = true, [0x7f ... 0xff] = true,
};

/*
 * Write s[0..n) as a JSON string: quote, backslash and control characters
 * escaped, invalid UTF-8 replaced by \ufffd. At most max bytes of content;
 * a longer string is cut between characters (never inside an escape or a
 * UTF-8 sequence) and ends with "..." so a reader sees it was cut.
 */
static void jw_str(struct jw *j, const char *str, size_t n, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t room = j->cap - j->len, i, total = 0, out = 0;
	const char *rep;
	char esc[8];
	unsigned k, rl;
	bool cut;

	if (room < 2 + 3) {
		j->trunc = true;
		return;
	}
	/* fast path: printable ASCII without quote or backslash, fits whole */
	if (n <= max && n <= room - 2) {
		for (i = 0; i < n; i++)
			if (json_special[s[i]])
				break;
		if (i == n) {
			j->p[j->len++] = '"';
			memcpy(j->p + j->len, s, n);
			j->len += n;
			j->p[j->len++] = '"';
			return;
		}
	}
	if (max > room - 2)
		max = room - 2;
	for (i = 0; i < n && total <= max; i += k)
		total += esc_one(s, n, i, esc, &rep, &k);
	cut = total > max;
	if (cut)
		max -= 3;
	j->p[j->len++] = '"';
	for (i = 0; i < n; i += k) {
		rl = esc_one(s, n, i, esc, &rep, &k);
		if (out + rl > max)
			break;
		memcpy(j->p + j->len, rep ? rep : (const char *)s + i, rl);
		j->len += rl;
		out += rl;
	}
	if (cut) {
		memcpy(j->p + j->len, "...", 3);
		j->len += 3;
	}
	j->p[j->len++] = '"';
}

static void jw_key(struct jw *j, const char *k)
{
	jw_raw(j, ",\"", j->len ? 2 : 1);
	jw_raw(j, k, strlen(k));
	jw_raw(j, "\":", 2);
}

static void jw_kstr(struct jw *j, const char *k, const char *v, size_t n, size_t max)
{
	size_t save = j->len;

	jw_key(j, k);
	if (!v) {
		jw_raw(j, "null", 4);
	} else {
		jw_str(j, v, n, max);
	}
	if (j->trunc)
		j->len = save;	/* drop the whole field rather than break the JSON */
}

/* Format rec as one JSON line (with '\n') into out[0..cap); returns length. */
size_t xadc_reqlog_format(const struct xadc_reqlog_rec *rec, char *out, size_t cap)
{
	struct jw j = { .p = out, .cap = cap - RL_TAIL_RESERVE };
	char ip[64], tbuf[9 + 40 + 16], idbuf[40];
	uint64_t frac = rec->start_us % 1000000, id = rec->request_id;
	const char *a;
	size_t tl;
	int i;

	/* {"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
	memcpy(tbuf, "{\"time\":\"", 9);
	utc_stamp(rec->start_us / 1000000, tbuf + 9);
	tl = 9 + strlen(tbuf + 9);
	tbuf[tl++] = '.';
	for (i = 5; i >= 0; i--, frac /= 10)
		tbuf[tl + i] = '0' + frac % 10;
	tl += 6;
	memcpy(tbuf + tl, "Z\"", 2);
	jw_raw(&j, tbuf, tl + 2);
	if (rec->client) {
		a = xadc_addr_str(rec->client, ip);
		jw_kstr(&j, "client_ip", a, strlen(a), 64);
		JW_U64(&j, ",\"client_port\":", ntohs(rec->client->in.sin_port));
	}
	if (rec->vip) {
		a = xadc_addr_str(rec->vip, ip);
		jw_kstr(&j, "vs_ip", a, strlen(a), 64);
		JW_U64(&j, ",\"vs_port\":", ntohs(rec->vip->in.sin_port));
	}
	jw_kstr(&j, "virtualservice", rec->vs ? rec->vs : "", rec->vs ? strlen(rec->vs) : 0, 256);
	jw_kstr(&j, "method", rec->method ? rec->method : "", rec->method_len, 64);
	jw_kstr(&j, "uri", rec->uri ? rec->uri : "", rec->uri_len, 800);
	jw_kstr(&j, "host", rec->host ? rec->host : "", rec->host_len, 200);
	jw_kstr(&j, "user_agent", rec->user_agent ? rec->user_agent : "", rec->user_agent_len,
		200);
	if (rec->status >= 0)
		JW_U64(&j, ",\"status\":", (unsigned)rec->status);
	else
		jw_fmt(&j, ",\"status\":%d", rec->status);
	jw_kstr(&j, "pool", rec->pool, rec->pool ? strlen(rec->pool) : 0, 200);
	jw_kstr(&j, "server", rec->server, rec->server ? strlen(rec->server) : 0, 200);
	memcpy(idbuf, ",\"request_id\":\"", 15);
	for (i = 15; i >= 0; i--, id >>= 4)
		idbuf[15 + i] = "0123456789abcdef"[id & 15];
	idbuf[31] = '"';
	jw_raw(&j, idbuf, 32);
	JW_U64(&j, ",\"bytes_in\":", rec->bytes_in);
	JW_U64(&j, ",\"bytes_out\":", rec->bytes_out);
	JW_MS3(&j, ",\"t_client_ms\":", rec->t_client_ms);
	JW_MS3(&j, ",\"t_connect_ms\":", rec->t_connect_ms);
	JW_MS3(&j, ",\"t_server_ms\":", rec->t_server_ms);
	JW_MS3(&j, ",\"t_total_ms\":", rec->t_total_ms);
	if (rec->termination)
		jw_kstr(&j, "termination", rec->termination, strlen(rec->termination), 64);
	if (rec->http_security_policy_rule_name)
		jw_kstr(&j, "http_security_policy_rule_name", rec->http_security_policy_rule_name,
			strlen(rec->http_security_policy_rule_name), 200);
	if (rec->http_request_policy_rule_name)
		jw_kstr(&j, "http_request_policy_rule_name", rec->http_request_policy_rule_name,
			strlen(rec->http_request_policy_rule_name), 200);
	if (rec->http_response_policy_rule_name)
		jw_kstr(&j, "http_response_policy_rule_name", rec->http_response_policy_rule_name,
			strlen(rec->http_response_policy_rule_name), 200);
	if (rec->extra_json && rec->extra_json[0] == ',') {
		size_t n = strlen(rec->extra_json);

		if (n <= j.cap - j.len)
			jw_raw(&j, rec->extra_json, n);
		else
			j.trunc = true;
	}
	/* the reserve always leaves room for the marker and the end */
	j.cap += RL_TAIL_RESERVE;
	if (j.trunc)
		jw_raw(&j, ",\"truncated\":true", 17);
	jw_raw(&j, "}\n", 2);
	return j.len;
}

/* ------------------------------------------------------- producer side */

void xadc_reqlog_emit(unsigned worker, const struct xadc_reqlog_rec *rec)
{
	struct rl_ring *r;
	unsigned head, tail;
	struct rl_slot *slot;

	if (!running || worker >= nrings)
		return;
	r = &rings[worker];
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - tail >= RL_SLOTS) {
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return;
	}
	slot = &r->slots[head & (RL_SLOTS - 1)];
	slot->len = xadc_reqlog_format(rec, slot->line, sizeof(slot->line));
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* ------------------------------------------------------- logger thread */

static void open_log(void)
{
	int fd;

	if (!log_path)
		return;
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		pr_err(MOD, "cannot open %s: %s", log_path, strerror(errno));
		return;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
}

static void flush_batch(size_t *len)
{
	size_t off = 0;

	while (log_fd >= 0 && off < *len) {
		ssize_t n = write(log_fd, batch + off, *len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err(MOD, "write %s: %s", log_path, strerror(errno));
			break;
		}
		off += n;
	}
	*len = 0;
}

static void hist_add(const char *line, size_t len)
{
	struct rl_hist *h;
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, line, len);
	copy[len] = '\0';
	pthread_mutex_lock(&hist_lock);
	hist_seq++;
	h = &hist[hist_seq % RL_HISTORY];
	free(h->line);
	h->seq = hist_seq;
	h->line = copy;
	pthread_mutex_unlock(&hist_lock);
}

static void drain_rings(void)
{
	size_t blen = 0;
	uint64_t dropped = 0;
	unsigned i;

	for (i = 0; i < nrings; i++) {
		struct rl_ring *r = &rings[i];
		unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		unsigned head = atomic_load_explicit(&r->head, memory_order_acquire);

		for (; tail != head; tail++) {
			struct rl_slot *s = &r->slots[tail & (RL_SLOTS - 1)];

			if (blen + s->len > RL_BATCH)
				flush_batch(&blen);
			memcpy(batch + blen, s->line, s->len);
			blen += s->len;
			hist_add(s->line, s->len ? s->len - 1 : 0);	/* without '\n' */
			atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
		}
		dropped += atomic_load_explicit(&r->dropped, memory_order_relaxed);
	}
	flush_batch(&blen);
	if (dropped != dropped_reported) {
		pr_warn(MOD, "%" PRIu64 " request log lines dropped (rings full)",
			dropped - dropped_reported);
		dropped_reported = dropped;
	}
}

static void *logger_main(void *arg)
{
	for (;;) {
		bool stop = atomic_load(&stop_flag);

		if (atomic_exchange(&reopen_flag, 0))
			open_log();
		drain_rings();
		if (stop)
			break;
		poll(NULL, 0, RL_PERIOD_MS);
	}
	return NULL;
}

/* ------------------------------------------------------- API */

int xadc_reqlog_start(const char *path, unsigned nworkers)
{
	unsigned i;
	int ret = -ENOMEM;

	if (running)
		return -EALREADY;
	if (!nworkers)
		nworkers = 1;
	rings = calloc(nworkers, sizeof(*rings));
	batch = malloc(RL_BATCH);
	if (!rings || !batch)
		goto err;
	nrings = nworkers;
	for (i = 0; i < nworkers; i++) {
		rings[i].slots = malloc(RL_SLOTS * sizeof(struct rl_slot));
		if (!rings[i].slots)
			goto err;
	}
	if (path) {
		log_path = strdup(path);
		if (!log_path)
			goto err;
		open_log();
		if (log_fd < 0) {
			ret = -EIO;
			goto err;
		}
	}
	atomic_store(&stop_flag, 0);
	running = true;
	ret = -pthread_create(&logger, NULL, logger_main, NULL);
	if (ret) {
		running = false;
		goto err;
	}
	return 0;
err:
	running = true;	/* let stop free what was allocated */
	xadc_reqlog_stop();
	return ret;
}

void xadc_reqlog_reopen(void)
{
	atomic_store(&reopen_flag, 1);
}

void xadc_reqlog_stop(void)
{
	unsigned i;

	if (!running)
		return;
	if (batch && nrings && rings[0].slots && !atomic_load(&stop_flag)) {
		atomic_store(&stop_flag, 1);
		pthread_join(logger, NULL);
	}
	running = false;
	for (i = 0; rings && i < nrings; i++)
		free(rings[i].slots);
	free(rings);
	rings = NULL;
	nrings = 0;
	free(batch);
	batch = NULL;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
	pthread_mutex_lock(&hist_lock);
	for (i = 0; i < RL_HISTORY; i++) {
		free(hist[i].line);
		hist[i].line = NULL;
		hist[i].seq = 0;
	}
	hist_seq = 0;
	dropped_reported = 0;
	pthread_mutex_unlock(&hist_lock);
}

json_t *xadc_reqlog_recent(uint64_t after, unsigned max, uint64_t *last)
{
	json_t *arr = json_array();
	uint64_t seq, first, newest;

	pthread_mutex_lock(&hist_lock);
	newest = hist_seq;
	first = newest > RL_HISTORY ? newest - RL_HISTORY + 1 : 1;
	seq = after + 1 > first ? after + 1 : first;
	if (last)
		*last = after < newest ? after : newest;
	for (; seq <= newest && max; seq++) {
		struct rl_hist *h = &hist[seq % RL_HISTORY];
		json_t *v;

		if (h->seq != seq || !h->line)
			continue;
		v = json_loads(h->line, 0, NULL);
		if (!v)
			continue;
		json_array_append_new(arr, v);
		max--;
		if (last)
			*last = seq;
	}
	pthread_mutex_unlock(&hist_lock);
	return arr;
}
