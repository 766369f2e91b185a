// SPDX-License-Identifier: GPL-2.0
/*
 * test_health.c - TCP and HTTP health monitors against real sockets on
 * 127.0.0.1: single checks run synchronously, then the health thread
 * following published snapshots (hysteresis, up/down transitions, pools
 * without monitors).
 */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "test_progs.h"
#include "xadc/health.h"
#include "xadc/lb.h"
#include "xadc/snapshot.h"
#include "../../userspace/health_internal.h"

static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on: bind one, then close it. */
static uint16_t closed_port(void)
{
	uint16_t port = 0;
	int fd = listen_any(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

/* Minimal HTTP responder: answers every request with status and body. */
struct responder {
	int lfd;
	uint16_t port;
	atomic_int status;
	atomic_bool alternate;	/* odd requests get 500, even ones status */
	const char *body;
	atomic_bool stop;
	atomic_int nreq;
	pthread_t tid;
	pthread_mutex_t lock;
	char lastreq[1024];
};

static void *responder_main(void *arg)
{
	struct responder *r = arg;
	struct pollfd pfd = { .fd = r->lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 1 };

	while (!atomic_load(&r->stop)) {
		char req[1024], resp[512];
		size_t len = 0;
		ssize_t n;
		int fd;

		if (poll(&pfd, 1, 50) != 1)
			continue;
		fd = accept(r->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (len < sizeof(req) - 1) {
			n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
			if (n <= 0)
				break;
			len += n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[len] = '\0';
		pthread_mutex_lock(&r->lock);
		memcpy(r->lastreq, req, len + 1);
		pthread_mutex_unlock(&r->lock);
		n = atomic_fetch_add(&r->nreq, 1);
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d Whatever\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			     atomic_load(&r->alternate) && (n & 1) ? 500 : atomic_load(&r->status),
			     strlen(r->body), r->body);
		if (send(fd, resp, n, MSG_NOSIGNAL) < 0)
			perror("responder send");
		close(fd);
	}
	return NULL;
}

static bool responder_start(struct responder *r, int status, const char *body)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	atomic_store(&r->status, status);
	r->body = body;
	r->lfd = listen_any(&r->port);
	if (r->lfd < 0)
		return false;
	return pthread_create(&r->tid, NULL, responder_main, r) == 0;
}

static void responder_stop(struct responder *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->tid, NULL);
	close(r->lfd);
}

static void set_lo(union xadc_sockaddr *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->in.sin_port = htons(port);
}

static void mkserver(struct xadc_server *s, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	set_lo(&s->addr, port);
	snprintf(s->name, sizeof(s->name), "127.0.0.1:%u", port);
	s->ratio = 1;
	s->enabled = true;
}

static struct xadc_healthmonitor tcp_hm(void)
{
	struct xadc_healthmonitor hm = {
		.type = XADC_HM_TCP,
		.send_interval_ms = 100,
		.receive_timeout_ms = 300,
		.successful_checks = 2,
		.failed_checks = 2,
	};
	return hm;
}

static struct xadc_healthmonitor http_hm(char *request, uint32_t codes, char *substr)
{
	struct xadc_healthmonitor hm = tcp_hm();

	hm.type = XADC_HM_HTTP;
	hm.http_request = request;
	hm.http_codes = codes;
	hm.http_response = substr;
	return hm;
}

#define C2XX (1u << 2)
#define C5XX (1u << 5)

TEST(tcp_check_once)
{
	struct xadc_healthmonitor hm = tcp_hm();
	struct xadc_server s;
	char why[96];
	uint16_t port;
	int lfd = listen_any(&port);

	if (!ASSERT_GE(lfd, 0, "listen"))
		return;
	mkserver(&s, port);
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "listening port is up");

	mkserver(&s, closed_port());
	ASSERT_FALSE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "closed port fails");
	ASSERT_STREQ(why, "connect refused", "reason");

	/* monitor_port overrides the server's port */
	hm.monitor_port = port;
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "monitor_port used");
	close(lfd);
}

TEST(http_check_once)
{
	struct xadc_healthmonitor hm;
	struct responder ok, bad;
	struct xadc_server s;
	char why[96];

	if (!ASSERT_TRUE(responder_start(&ok, 200, "service is healthy\n"), "responder 200"))
		return;
	if (!ASSERT_TRUE(responder_start(&bad, 500, "oops\n"), "responder 500"))
		goto out_ok;

	mkserver(&s, ok.port);
	hm = http_hm("GET /health HTTP/1.1", C2XX, NULL);
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "200 accepted");
	pthread_mutex_lock(&ok.lock);
	ASSERT_TRUE(!strncmp(ok.lastreq, "GET /health HTTP/1.1\r\n", 22), "request line sent");
	ASSERT_NOT_NULL(strstr(ok.lastreq, "\r\nHost: 127.0.0.1\r\n"), "Host added for 1.1");
	ASSERT_NOT_NULL(strstr(ok.lastreq, "\r\n\r\n"), "head terminated");
	pthread_mutex_unlock(&ok.lock);

	/* configured headers kept, no second Host, 1.0 gets none added */
	hm = http_hm("GET /h HTTP/1.1\r\nHost: app.example\r\nX-Probe: 1\r\n", C2XX, NULL);
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "with headers");
	pthread_mutex_lock(&ok.lock);
	ASSERT_NOT_NULL(strstr(ok.lastreq, "\r\nHost: app.example\r\nX-Probe: 1\r\n"), "headers");
	ASSERT_NULL(strstr(ok.lastreq, "Host: 127.0.0.1"), "no second Host");
	pthread_mutex_unlock(&ok.lock);
	hm = http_hm("GET / HTTP/1.0", C2XX, NULL);
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "1.0");
	pthread_mutex_lock(&ok.lock);
	ASSERT_STREQ(ok.lastreq, "GET / HTTP/1.0\r\n\r\n", "1.0 request verbatim");
	pthread_mutex_unlock(&ok.lock);

	/* body substring */
	hm = http_hm("GET / HTTP/1.0", C2XX, "healthy");
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "substring found");
	hm = http_hm("GET / HTTP/1.0", C2XX, "Whatever");
	ASSERT_FALSE(xadc_health_check_once(&s, &hm, why, sizeof(why)),
		     "substring only in head does not count");
	hm = http_hm("GET / HTTP/1.0", C2XX, "all good");
	ASSERT_FALSE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "substring missing");
	ASSERT_NOT_NULL(strstr(why, "does not contain"), "reason names the substring");

	/* status classes */
	mkserver(&s, bad.port);
	hm = http_hm("GET / HTTP/1.0", C2XX, NULL);
	ASSERT_FALSE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "500 rejected");
	ASSERT_STREQ(why, "HTTP status 500", "reason");
	hm = http_hm("GET / HTTP/1.0", C2XX | C5XX, NULL);
	ASSERT_TRUE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "5xx accepted if listed");

	responder_stop(&bad);
out_ok:
	responder_stop(&ok);
}

TEST(http_check_timeout)
{
	struct xadc_healthmonitor hm = http_hm("GET / HTTP/1.0", C2XX, NULL);
	struct xadc_server s;
	char why[96];
	uint16_t port;
	/* listening but never accepting: the handshake completes, no answer */
	int lfd = listen_any(&port);

	if (!ASSERT_GE(lfd, 0, "listen"))
		return;
	hm.receive_timeout_ms = 200;
	mkserver(&s, port);
	ASSERT_FALSE(xadc_health_check_once(&s, &hm, why, sizeof(why)), "silent server fails");
	ASSERT_STREQ(why, "no response within 200 ms", "reason");
	close(lfd);
}

/* ---------------------------------------------------------------------- */
/* The thread, driven by snapshots                                        */
/* ---------------------------------------------------------------------- */

static struct xadc_snapshot *mksnap(uint64_t gen, unsigned nservers, const uint16_t *ports,
				    struct xadc_healthmonitor *hm)
{
	struct xadc_snapshot *s = calloc(1, sizeof(*s));
	struct xadc_pool *p;
	char key[256];
	unsigned i;

	atomic_init(&s->refcnt, 1);
	s->generation = gen;
	s->npools = 1;
	s->pools = calloc(1, sizeof(*s->pools));
	p = &s->pools[0];
	snprintf(p->name, sizeof(p->name), "web");
	if (hm) {
		s->nhms = 1;
		s->hms = calloc(1, sizeof(*s->hms));
		s->hms[0] = *hm;
		if (hm->http_request)
			s->hms[0].http_request = strdup(hm->http_request);
		p->nhms = 1;
		p->hms = calloc(1, sizeof(*p->hms));
		p->hms[0] = &s->hms[0];
	}
	p->nservers = nservers;
	p->servers = calloc(nservers, sizeof(*p->servers));
	for (i = 0; i < nservers; i++) {
		mkserver(&p->servers[i], ports[i]);
		p->servers[i].pool = p;
		snprintf(key, sizeof(key), "server:web/127.0.0.1:%u", ports[i]);
		p->servers[i].rt = xadc_rt_get(XADC_RT_SERVER, key, !hm);
	}
	return s;
}

static int rt_up(struct xadc_snapshot *s, unsigned i)
{
	return atomic_load(&s->pools[0].servers[i].rt->up);
}

/* Poll (no timing assertion: a generous bound so a hang cannot block prove). */
static bool wait_up(struct xadc_snapshot *s, unsigned i, int want)
{
	int n;

	for (n = 0; n < 300; n++) {
		if (rt_up(s, i) == want)
			return true;
		usleep(10000);
	}
	return false;
}

TEST(thread_follows_snapshots)
{
	struct xadc_healthmonitor hm = http_hm("GET /health HTTP/1.1", C2XX, NULL);
	struct xadc_snapshot *s1, *s2;
	struct responder web;
	struct xadc_rt *rt;
	uint16_t ports[4];
	int lfd_tcp;

	if (!ASSERT_TRUE(responder_start(&web, 200, "ok"), "responder"))
		return;
	lfd_tcp = listen_any(&ports[1]);
	ports[0] = web.port;
	ports[2] = closed_port();
	ports[3] = closed_port();

	s1 = mksnap(1001, 4, ports, &hm);
	/* server 2 was up before (as if kept from an earlier config) */
	atomic_store(&s1->pools[0].servers[2].rt->up, 1);
	/* server 3 is disabled: never checked, state untouched */
	s1->pools[0].servers[3].enabled = false;
	atomic_store(&s1->pools[0].servers[3].rt->up, 1);
	xadc_snapshot_publish(s1);
	if (!ASSERT_OK(xadc_health_start(), "start"))
		goto out;
	xadc_health_kick();

	ASSERT_TRUE(wait_up(s1, 0, 1), "HTTP 200 server comes up");
	ASSERT_TRUE(wait_up(s1, 2, 0), "refused server goes down");
	rt = s1->pools[0].servers[2].rt;
	ASSERT_STREQ(rt->hc_reason, "connect refused", "down reason");
	ASSERT_EQ(atomic_load(&rt->hc_changes), 1, "one transition");
	ASSERT_GE(rt->hc_fail_streak, 2, "went down only after failed_checks failures");
	/* server 1 has no HTTP server behind it: a TCP listener never answers */
	ASSERT_EQ(rt_up(s1, 1), 0, "no HTTP answer: stays down");
	ASSERT_GT(atomic_load(&web.nreq), 0, "responder was probed");

	/* 500 takes the web server down, 200 brings it back */
	atomic_store(&web.status, 500);
	ASSERT_TRUE(wait_up(s1, 0, 0), "500: down");
	ASSERT_STREQ(s1->pools[0].servers[0].rt->hc_reason, "HTTP status 500", "reason");
	atomic_store(&web.status, 200);
	ASSERT_TRUE(wait_up(s1, 0, 1), "200 again: up");
	ASSERT_GE(s1->pools[0].servers[0].rt->hc_ok_streak, 2, "up after successful_checks");
	ASSERT_EQ(atomic_load(&s1->pools[0].servers[0].rt->hc_changes), 3, "up, down, up");
	ASSERT_EQ(rt_up(s1, 3), 1, "disabled server untouched");
	ASSERT_EQ(atomic_load(&s1->pools[0].servers[3].rt->hc_changes), 0, "never checked");

	/* a new generation where the pool has no monitor: everything is up */
	s2 = mksnap(1002, 4, ports, NULL);
	xadc_snapshot_publish(s2);
	xadc_health_kick();
	ASSERT_TRUE(s2->pools[0].servers[2].rt == rt, "same runtime object across applies");
	ASSERT_TRUE(wait_up(s2, 2, 1), "no monitor: up");
	ASSERT_TRUE(wait_up(s2, 1, 1), "no monitor: up (tcp)");
	xadc_snapshot_put(s2);

	xadc_health_stop();
out:
	xadc_snapshot_put(s1);
	xadc_snapshot_publish(NULL);
	close(lfd_tcp);
	responder_stop(&web);
}

TEST(thread_tcp_monitor)
{
	struct xadc_healthmonitor hm = tcp_hm();
	struct xadc_snapshot *s;
	uint16_t ports[2];
	int lfd;

	lfd = listen_any(&ports[0]);
	ports[1] = closed_port();
	s = mksnap(2001, 2, ports, &hm);
	xadc_snapshot_publish(s);
	/* started after publish, without kick: it picks the snapshot up itself */
	if (!ASSERT_OK(xadc_health_start(), "start"))
		goto out;
	ASSERT_TRUE(wait_up(s, 0, 1), "listening server up");
	ASSERT_EQ(rt_up(s, 1), 0, "closed port never up");
	/* the listener goes away: down after failed_checks */
	close(lfd);
	lfd = -1;
	ASSERT_TRUE(wait_up(s, 0, 0), "closed listener: down");
	ASSERT_STREQ(s->pools[0].servers[0].rt->hc_reason, "connect refused", "reason");
	xadc_health_stop();
out:
	xadc_snapshot_put(s);
	xadc_snapshot_publish(NULL);
	if (lfd >= 0)
		close(lfd);
}

/* Wait until the responder has answered n more requests. */
static bool wait_requests(struct responder *r, int n)
{
	int target = atomic_load(&r->nreq) + n, i;

	for (i = 0; i < 300; i++) {
		if (atomic_load(&r->nreq) >= target)
			return true;
		usleep(10000);
	}
	return false;
}

TEST(thread_hysteresis)
{
	struct xadc_healthmonitor hm = http_hm("GET / HTTP/1.0", C2XX, NULL);
	struct xadc_snapshot *s;
	struct responder web;
	struct xadc_rt *rt;

	if (!ASSERT_TRUE(responder_start(&web, 200, "ok"), "responder"))
		return;
	s = mksnap(3001, 1, &web.port, &hm);
	rt = s->pools[0].servers[0].rt;
	xadc_snapshot_publish(s);
	if (!ASSERT_OK(xadc_health_start(), "start"))
		goto out;
	ASSERT_TRUE(wait_up(s, 0, 1), "up");

	/* failures never two in a row (failed_checks 2): stays up */
	atomic_store(&web.alternate, true);
	ASSERT_TRUE(wait_requests(&web, 8), "probed while flapping");
	ASSERT_EQ(rt_up(s, 0), 1, "isolated failures do not take it down");
	ASSERT_EQ(atomic_load(&rt->hc_changes), 1, "no transition while flapping");

	atomic_store(&web.alternate, false);
	atomic_store(&web.status, 503);
	ASSERT_TRUE(wait_up(s, 0, 0), "steady failures: down");

	/* successes never two in a row (successful_checks 2): stays down */
	atomic_store(&web.status, 200);
	atomic_store(&web.alternate, true);
	ASSERT_TRUE(wait_requests(&web, 8), "probed while flapping");
	ASSERT_EQ(rt_up(s, 0), 0, "isolated successes do not bring it up");
	ASSERT_EQ(atomic_load(&rt->hc_changes), 2, "no transition while flapping");

	atomic_store(&web.alternate, false);
	ASSERT_TRUE(wait_up(s, 0, 1), "steady successes: up");
	xadc_health_stop();
out:
	xadc_snapshot_put(s);
	xadc_snapshot_publish(NULL);
	responder_stop(&web);
}

TEST_MAIN()
