// SPDX-License-Identifier: GPL-2.0
/*
 * health.c - active health monitors (contract in include/xadc/health.h).
 *
 * One thread, one epoll set. Every monitored server has a "round": one
 * check per monitor of its pool, started together and run concurrently
 * with every other check (non-blocking connect, send, receive). When the
 * last check of a round finishes, the round succeeds if all checks did,
 * and the hysteresis counters in the server's struct xadc_rt move: down
 * after failed_checks failed rounds in a row, up after successful_checks
 * good rounds in a row. A server that was never up yet (just added, state
 * down per snapshot.h) comes up on its first good round, as Avi does, so
 * new servers get traffic without waiting several intervals.
 *
 * When a pool has several monitors with different settings, the round
 * runs at the shortest send_interval, goes down at the smallest
 * failed_checks and up at the largest successful_checks: the most
 * cautious reading of "any monitor fails / all monitors succeed".
 *
 * Timing: rounds are scheduled per server at interval +-10% random jitter,
 * and a new server's first round lands randomly within the first second
 * (or interval, if shorter), so checks of many servers spread out rather
 * than fire together. Timeouts and schedules are deadlines in the loop;
 * epoll_wait sleeps until the nearest one (at most 1 s, so a snapshot
 * published without a kick is still noticed).
 *
 * Snapshots: the thread holds a reference to the snapshot it checks. On a
 * new generation (or a kick) it aborts the checks in flight, drops the old
 * snapshot and rebuilds its server list from the new one. Hysteresis state
 * lives in xadc_rt, so servers kept across the apply lose nothing but the
 * aborted check.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "xadc/health.h"
#include "xadc/snapshot.h"
#include "health_internal.h"

#define MOD "health"

#define HC_RESP_MAX	     8192	/* bytes of response kept for the substring match */
#define HC_DEF_INTERVAL_MS   10000	/* Avi defaults when the compiler left 0 */
#define HC_DEF_TIMEOUT_MS    4000
#define HC_DEF_FAILED	     2
#define HC_DEF_SUCCESSFUL    2
#define HC_FIRST_SPREAD_MS   1000
#define HC_MAX_SLEEP_MS	     1000

enum hc_state { HC_IDLE = 0, HC_CONNECTING, HC_SENDING, HC_READING };

struct hc_server;

/* One monitor's probe of one server. */
struct hc_check {
	struct hc_server *hs;		/* owning round, NULL for a one-off check */
	const struct xadc_healthmonitor *hm;
	const struct xadc_server *srv;
	enum hc_state state;
	int fd;
	uint64_t deadline_ms;
	char *req;			/* HTTP request to send */
	size_t req_len, req_off;
	char *buf;			/* HTTP response, HC_RESP_MAX + 1 */
	size_t len;
	int status;			/* HTTP status once parsed, else 0 */
	bool ok;
	char reason[96];
};

/* A monitored server and its round. */
struct hc_server {
	struct xadc_pool *pool;
	struct xadc_server *srv;
	uint32_t interval_ms, down_after, up_after;
	uint64_t due_ms;
	unsigned pending;		/* checks of the current round not finished */
	unsigned nchecks;
	struct hc_check *checks;	/* [pool->nhms] */
};

struct hc_thread {
	pthread_t tid;
	bool running;
	atomic_bool stop;
	int epfd, evfd;
	struct xadc_snapshot *snap;
	struct hc_server *servers;
	unsigned nservers;
	uint32_t rand_state;
};

static struct hc_thread hc = { .epfd = -1, .evfd = -1 };

/* ---------------------------------------------------------------------- */
/* One check                                                              */
/* ---------------------------------------------------------------------- */

static void hc_round_check_done(struct hc_check *c);

/* End a check: close its socket (which also leaves epoll), keep the verdict. */
static void hc_check_finish(struct hc_check *c, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hc_check_finish(struct hc_check *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	free(c->req);
	c->buf = c->req = NULL;
	c->state = HC_IDLE;
	c->ok = ok;
	c->reason[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
	if (c->hs)
		hc_round_check_done(c);
}

/* Drop a check in flight without a verdict (snapshot swap, shutdown). */
static void hc_check_abort(struct hc_check *c)
{
	if (c->state == HC_IDLE)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	free(c->req);
	c->buf = c->req = NULL;
	c->state = HC_IDLE;
}

static bool line_has_field(const char *req, size_t len, const char *name)
{
	size_t n = strlen(name), i;

	/* field lines start right after a '\n' */
	for (i = 0; i + n < len; i++)
		if (req[i] == '\n' && !strncasecmp(req + i + 1, name, n))
			return true;
	return false;
}

/*
 * The request on the wire: the configured request line (and any headers
 * after it, CRLF separated) without trailing line ends, plus Host and
 * Connection: close for HTTP/1.1 when missing (a 1.1 server may otherwise
 * keep the connection open and make the substring check wait for the
 * timeout), then the blank line.
 */
static int hc_build_request(struct hc_check *c)
{
	const char *cfg = c->hm->http_request && c->hm->http_request[0] ? c->hm->http_request
									: "GET / HTTP/1.0";
	size_t len = strlen(cfg), line_len, cap;
	char ip[INET6_ADDRSTRLEN], host[INET6_ADDRSTRLEN + 2];
	bool is11;
	int n;

	while (len && (cfg[len - 1] == '\r' || cfg[len - 1] == '\n'))
		len--;
	line_len = strcspn(cfg, "\r\n");
	if (line_len > len)
		line_len = len;
	is11 = memmem(cfg, line_len, "HTTP/1.1", 8) != NULL;
	xadc_sockaddr_ip(&c->srv->addr, ip, sizeof(ip));
	snprintf(host, sizeof(host), c->srv->addr.sa.sa_family == AF_INET6 ? "[%s]" : "%s", ip);

	cap = len + sizeof(host) + 64;
	c->req = malloc(cap);
	if (!c->req)
		return -ENOMEM;
	n = snprintf(c->req, cap, "%.*s%s%s%s%s\r\n", (int)len, cfg,
		     is11 && !line_has_field(cfg, len, "host:") ? "\r\nHost: " : "",
		     is11 && !line_has_field(cfg, len, "host:") ? host : "",
		     is11 && !line_has_field(cfg, len, "connection:") ? "\r\nConnection: close" : "",
		     "\r\n");
	c->req_len = (size_t)n;
	c->req_off = 0;
	return 0;
}

static bool hc_want_body(const struct hc_check *c)
{
	return c->hm->http_response && c->hm->http_response[0];
}

static uint32_t hc_codes(const struct xadc_healthmonitor *hm)
{
	/* Avi's default http_response_code: HTTP_2XX and HTTP_3XX */
	return hm->http_codes ? hm->http_codes : (1u << 2) | (1u << 3);
}

/* Parse "HTTP/x.y NNN" once a full line is buffered; 0 = need more,
 * -1 = malformed, else the status. */
static int hc_parse_status(const char *b, size_t len)
{
	const char *eol = memchr(b, '\n', len);
	const char *p;
	int st;

	if (!eol)
		return len >= HC_RESP_MAX ? -1 : 0;
	if (len < 12 || strncmp(b, "HTTP/", 5))
		return -1;
	p = memchr(b, ' ', eol - b);
	if (!p || eol - p < 4)
		return -1;
	p++;
	if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
		return -1;
	st = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	return st;
}

/* Decide what the buffered response means; eof: the server closed. */
static void hc_http_evaluate(struct hc_check *c, bool eof)
{
	const char *body;
	size_t hlen;

	if (!c->status) {
		c->status = hc_parse_status(c->buf, c->len);
		if (c->status < 0) {
			hc_check_finish(c, false, "bad HTTP status line");
			return;
		}
		if (!c->status) {
			if (eof)
				hc_check_finish(c, false, "connection closed before status line");
			return;
		}
		if (!(hc_codes(c->hm) & (1u << (c->status / 100)))) {
			hc_check_finish(c, false, "HTTP status %d", c->status);
			return;
		}
		if (!hc_want_body(c)) {
			hc_check_finish(c, true, NULL);
			return;
		}
	}
	/* status accepted, a body substring is wanted */
	body = memmem(c->buf, c->len, "\r\n\r\n", 4);
	hlen = 4;
	if (!body) {
		body = memmem(c->buf, c->len, "\n\n", 2);
		hlen = 2;
	}
	if (body) {
		body += hlen;
		if (memmem(body, c->len - (body - c->buf), c->hm->http_response,
			   strlen(c->hm->http_response))) {
			hc_check_finish(c, true, NULL);
			return;
		}
	}
	if (eof || c->len >= HC_RESP_MAX)
		hc_check_finish(c, false, "response does not contain \"%.40s\"",
				c->hm->http_response);
}

static void hc_on_readable(struct hc_check *c)
{
	ssize_t n;

	for (;;) {
		if (c->len >= HC_RESP_MAX) {
			hc_http_evaluate(c, false);
			return;
		}
		n = recv(c->fd, c->buf + c->len, HC_RESP_MAX - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			hc_http_evaluate(c, false);
			if (c->state == HC_IDLE)
				return;
			continue;
		}
		if (n == 0) {
			hc_http_evaluate(c, true);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			hc_check_finish(c, false, "recv: %s", strerror(errno));
		return;
	}
}

static void hc_on_writable(struct hc_check *c, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	ssize_t n;

	while (c->req_off < c->req_len) {
		n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				hc_check_finish(c, false, "send: %s", strerror(errno));
			return;
		}
		c->req_off += (size_t)n;
	}
	c->state = HC_READING;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev))
		hc_check_finish(c, false, "epoll: %s", strerror(errno));
}

static void hc_on_connected(struct hc_check *c, int epfd)
{
	if (c->hm->type == XADC_HM_TCP) {
		hc_check_finish(c, true, NULL);
		return;
	}
	c->buf = malloc(HC_RESP_MAX + 1);
	if (!c->buf || hc_build_request(c)) {
		hc_check_finish(c, false, "out of memory");
		return;
	}
	c->len = 0;
	c->status = 0;
	c->state = HC_SENDING;
	hc_on_writable(c, epfd);
}

static void hc_connect_failed(struct hc_check *c, int err)
{
	if (err == ECONNREFUSED)
		hc_check_finish(c, false, "connect refused");
	else
		hc_check_finish(c, false, "connect: %s", strerror(err));
}

/* An epoll event for check c. */
static void hc_check_event(struct hc_check *c, uint32_t events, int epfd)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	switch (c->state) {
	case HC_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			err = errno;
		if (err) {
			hc_connect_failed(c, err);
			return;
		}
		hc_on_connected(c, epfd);
		break;
	case HC_SENDING:
		hc_on_writable(c, epfd);
		break;
	case HC_READING:
		hc_on_readable(c);
		break;
	case HC_IDLE:
		break;
	}
}

/* Start check c at now: non-blocking connect to the server (or the
 * monitor's port). Failures end the check at once, through finish. */
static void hc_check_start(struct hc_check *c, int epfd, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	union xadc_sockaddr a = c->srv->addr;
	uint32_t tmo = c->hm->receive_timeout_ms ? c->hm->receive_timeout_ms : HC_DEF_TIMEOUT_MS;
	int rc;

	if (c->hm->monitor_port) {
		if (a.sa.sa_family == AF_INET6)
			a.in6.sin6_port = htons(c->hm->monitor_port);
		else
			a.in.sin_port = htons(c->hm->monitor_port);
	}
	c->deadline_ms = now + tmo;
	c->state = HC_CONNECTING;
	c->fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		hc_check_finish(c, false, "socket: %s", strerror(errno));
		return;
	}
	rc = connect(c->fd, &a.sa, xadc_sockaddr_len(&a));
	if (rc && errno != EINPROGRESS) {
		hc_connect_failed(c, errno);
		return;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		hc_check_finish(c, false, "epoll: %s", strerror(errno));
		return;
	}
	/* Connected at once (loopback): the EPOLLOUT event follows anyway. */
}

static void hc_check_timeout(struct hc_check *c)
{
	uint32_t tmo = c->hm->receive_timeout_ms ? c->hm->receive_timeout_ms : HC_DEF_TIMEOUT_MS;

	if (c->state == HC_CONNECTING)
		hc_check_finish(c, false, "connect timeout after %u ms", tmo);
	else
		hc_check_finish(c, false, "no response within %u ms", tmo);
}

/* Accepts any server and monitor; see health_internal.h. */
bool xadc_health_check_once(const struct xadc_server *srv, const struct xadc_healthmonitor *hm,
			    char *reason, size_t len)
{
	struct hc_check c = { .hm = hm, .srv = srv, .fd = -1 };
	struct epoll_event ev;
	int epfd, n;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		snprintf(reason, len, "epoll: %s", strerror(errno));
		return false;
	}
	hc_check_start(&c, epfd, xadc_now_ms());
	while (c.state != HC_IDLE) {
		uint64_t now = xadc_now_ms();

		if (now >= c.deadline_ms) {
			hc_check_timeout(&c);
			break;
		}
		n = epoll_wait(epfd, &ev, 1, (int)(c.deadline_ms - now));
		if (n == 1)
			hc_check_event(&c, ev.events, epfd);
	}
	close(epfd);
	snprintf(reason, len, "%s", c.reason);
	return c.ok;
}

/* ---------------------------------------------------------------------- */
/* Rounds and hysteresis                                                  */
/* ---------------------------------------------------------------------- */

static uint32_t hc_rand(void)
{
	/* xorshift32: jitter only, quality does not matter */
	uint32_t x = hc.rand_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	hc.rand_state = x;
	return x;
}

static void hc_server_str(const struct xadc_server *s, char *buf, size_t len)
{
	xadc_sockaddr_str(&s->addr, buf, len);
}

static void hc_set_up(struct hc_server *hs, bool up, const char *reason)
{
	struct xadc_rt *rt = hs->srv->rt;
	char addr[INET6_ADDRSTRLEN + 8];

	atomic_store(&rt->up, up ? 1 : 0);
	atomic_fetch_add(&rt->hc_changes, 1);
	hc_server_str(hs->srv, addr, sizeof(addr));
	if (up)
		pr_info(MOD, "pool %s server %s up", hs->pool->name, addr);
	else
		pr_info(MOD, "pool %s server %s down: %s", hs->pool->name, addr, reason);
}

/* The last check of hs's round finished: apply hysteresis, schedule the next. */
static void hc_round_done(struct hc_server *hs)
{
	struct xadc_rt *rt = hs->srv->rt;
	const char *reason = NULL;
	bool up = atomic_load(&rt->up);
	uint32_t spread;
	unsigned i;

	for (i = 0; i < hs->nchecks && !reason; i++)
		if (!hs->checks[i].ok)
			reason = hs->checks[i].reason;

	if (!reason) {
		rt->hc_ok_streak++;
		rt->hc_fail_streak = 0;
		if (!up && (rt->hc_ok_streak >= hs->up_after || !atomic_load(&rt->hc_changes)))
			hc_set_up(hs, true, NULL);
	} else {
		rt->hc_fail_streak++;
		rt->hc_ok_streak = 0;
		snprintf(rt->hc_reason, sizeof(rt->hc_reason), "%s", reason);
		if (up && rt->hc_fail_streak >= hs->down_after)
			hc_set_up(hs, false, reason);
	}
	spread = hs->interval_ms / 5;
	hs->due_ms = rt->hc_last_ms + hs->interval_ms - spread / 2 + (spread ? hc_rand() % spread : 0);
}

static void hc_round_check_done(struct hc_check *c)
{
	struct hc_server *hs = c->hs;

	if (hs->pending && --hs->pending == 0)
		hc_round_done(hs);
}

static void hc_round_start(struct hc_server *hs, uint64_t now)
{
	unsigned i;

	hs->srv->rt->hc_last_ms = now;
	hs->pending = hs->nchecks;
	hs->due_ms = UINT64_MAX;	/* rescheduled when the round ends */
	for (i = 0; i < hs->nchecks; i++)
		hc_check_start(&hs->checks[i], hc.epfd, now);
}

/* ---------------------------------------------------------------------- */
/* Snapshot tracking                                                      */
/* ---------------------------------------------------------------------- */

static void hc_drop_servers(void)
{
	unsigned i, j;

	for (i = 0; i < hc.nservers; i++) {
		for (j = 0; j < hc.servers[i].nchecks; j++)
			hc_check_abort(&hc.servers[i].checks[j]);
		free(hc.servers[i].checks);
	}
	free(hc.servers);
	hc.servers = NULL;
	hc.nservers = 0;
}

/* Servers of a pool without monitors are always up: this also releases
 * servers that stayed down when monitors were removed from their pool. */
static void hc_unmonitored_pool(struct xadc_pool *p)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned i;

	for (i = 0; i < p->nservers; i++) {
		struct xadc_rt *rt = p->servers[i].rt;

		if (!rt || atomic_load(&rt->up))
			continue;
		atomic_store(&rt->up, 1);
		atomic_fetch_add(&rt->hc_changes, 1);
		rt->hc_ok_streak = rt->hc_fail_streak = 0;
		hc_server_str(&p->servers[i], addr, sizeof(addr));
		pr_info(MOD, "pool %s server %s up: no health monitor", p->name, addr);
	}
}

static void hc_server_init(struct hc_server *hs, struct xadc_pool *p, struct xadc_server *s,
			   uint64_t now)
{
	struct xadc_rt *rt = s->rt;
	uint32_t first;
	unsigned k;

	hs->pool = p;
	hs->srv = s;
	hs->interval_ms = UINT32_MAX;
	hs->down_after = UINT32_MAX;
	hs->up_after = 0;
	for (k = 0; k < p->nhms; k++) {
		const struct xadc_healthmonitor *hm = p->hms[k];
		uint32_t iv = hm->send_interval_ms ? hm->send_interval_ms : HC_DEF_INTERVAL_MS;
		uint32_t fc = hm->failed_checks ? hm->failed_checks : HC_DEF_FAILED;
		uint32_t sc = hm->successful_checks ? hm->successful_checks : HC_DEF_SUCCESSFUL;

		hs->interval_ms = iv < hs->interval_ms ? iv : hs->interval_ms;
		hs->down_after = fc < hs->down_after ? fc : hs->down_after;
		hs->up_after = sc > hs->up_after ? sc : hs->up_after;
		hs->checks[k] = (struct hc_check){ .hs = hs, .hm = hm, .srv = s, .fd = -1 };
	}
	hs->nchecks = p->nhms;
	if (rt->hc_last_ms && rt->hc_last_ms + hs->interval_ms > now) {
		hs->due_ms = rt->hc_last_ms + hs->interval_ms;
	} else {
		first = hs->interval_ms < HC_FIRST_SPREAD_MS ? hs->interval_ms : HC_FIRST_SPREAD_MS;
		hs->due_ms = now + hc_rand() % first;
	}
}

/* Follow snapshot s (a reference the caller hands over; may be NULL). */
static int hc_load(struct xadc_snapshot *s)
{
	uint64_t now = xadc_now_ms();
	unsigned i, j, n = 0;
	int err = 0;

	hc_drop_servers();
	xadc_snapshot_put(hc.snap);
	hc.snap = s;
	if (!s)
		return 0;
	for (i = 0; i < s->npools; i++) {
		if (!s->pools[i].nhms) {
			hc_unmonitored_pool(&s->pools[i]);
			continue;
		}
		for (j = 0; j < s->pools[i].nservers; j++)
			n += s->pools[i].servers[j].enabled && s->pools[i].servers[j].rt;
	}
	if (!n)
		return 0;
	hc.servers = calloc(n, sizeof(*hc.servers));
	if (!hc.servers)
		return -ENOMEM;
	for (i = 0; i < s->npools; i++) {
		struct xadc_pool *p = &s->pools[i];

		if (!p->nhms)
			continue;
		for (j = 0; j < p->nservers; j++) {
			struct xadc_server *sv = &p->servers[j];
			struct hc_server *hs = &hc.servers[hc.nservers];

			if (!sv->enabled || !sv->rt)
				continue;
			hs->checks = calloc(p->nhms, sizeof(*hs->checks));
			if (!hs->checks) {
				err = -ENOMEM;
				goto out;
			}
			hc.nservers++;
			hc_server_init(hs, p, sv, now);
		}
	}
out:
	if (err)
		pr_err(MOD, "out of memory: health checks of %u servers suspended", n);
	return err;
}

/* Take the current snapshot if it is not the one already followed. */
static void hc_refresh(void)
{
	struct xadc_snapshot *s = xadc_snapshot_current();

	if (s == hc.snap) {
		xadc_snapshot_put(s);
		return;
	}
	hc_load(s);
}

/* Start due rounds, time out late checks; returns ms until the next event. */
static int hc_tick(void)
{
	uint64_t now = xadc_now_ms(), next = now + HC_MAX_SLEEP_MS;
	unsigned i, j;

	for (i = 0; i < hc.nservers; i++) {
		struct hc_server *hs = &hc.servers[i];

		if (!hs->pending && hs->due_ms <= now)
			hc_round_start(hs, now);
		for (j = 0; j < hs->nchecks; j++) {
			struct hc_check *c = &hs->checks[j];

			if (c->state != HC_IDLE && c->deadline_ms <= now)
				hc_check_timeout(c);
			if (c->state != HC_IDLE && c->deadline_ms < next)
				next = c->deadline_ms;
		}
		if (!hs->pending && hs->due_ms < next)
			next = hs->due_ms;
	}
	return next > now ? (int)(next - now) : 0;
}

static void *hc_main(void *arg)
{
	struct epoll_event evs[64];
	uint64_t gen = 0, cur;
	int n, i;

	hc_refresh();
	gen = atomic_load(&xadc_snapshot_generation);
	while (!atomic_load(&hc.stop)) {
		cur = atomic_load(&xadc_snapshot_generation);
		if (cur != gen) {
			gen = cur;
			hc_refresh();
		}
		n = epoll_wait(hc.epfd, evs, ARRAY_SIZE(evs), hc_tick());
		for (i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				uint64_t v;

				if (read(hc.evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					pr_warn(MOD, "eventfd read: %s", strerror(errno));
				hc_refresh();
				gen = atomic_load(&xadc_snapshot_generation);
				/* the server list may be new: later events are stale */
				break;
			}
			hc_check_event(evs[i].data.ptr, evs[i].events, hc.epfd);
		}
	}
	hc_load(NULL);
	return NULL;
}

/* Start the health thread (once); 0 or a negative errno. */
int xadc_health_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (hc.running)
		return 0;
	hc.epfd = epoll_create1(EPOLL_CLOEXEC);
	hc.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hc.epfd < 0 || hc.evfd < 0) {
		err = -errno;
		goto out;
	}
	if (epoll_ctl(hc.epfd, EPOLL_CTL_ADD, hc.evfd, &ev)) {
		err = -errno;
		goto out;
	}
	hc.rand_state = (uint32_t)xadc_now_ns() | 1;
	atomic_store(&hc.stop, false);
	err = -pthread_create(&hc.tid, NULL, hc_main, NULL);
	if (!err)
		hc.running = true;
out:
	if (err) {
		pr_err(MOD, "cannot start health thread: %s", strerror(-err));
		if (hc.epfd >= 0)
			close(hc.epfd);
		if (hc.evfd >= 0)
			close(hc.evfd);
		hc.epfd = hc.evfd = -1;
	}
	return err;
}

static void hc_wake(void)
{
	uint64_t one = 1;

	if (hc.evfd >= 0 && write(hc.evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn(MOD, "eventfd write: %s", strerror(errno));
}

void xadc_health_kick(void)
{
	if (hc.running)
		hc_wake();
}

/* Stop and join the thread, abort checks, drop the snapshot. */
void xadc_health_stop(void)
{
	if (!hc.running)
		return;
	atomic_store(&hc.stop, true);
	hc_wake();
	pthread_join(hc.tid, NULL);
	hc.running = false;
	close(hc.epfd);
	close(hc.evfd);
	hc.epfd = hc.evfd = -1;
}
