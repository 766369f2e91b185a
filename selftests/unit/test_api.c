// SPDX-License-Identifier: GPL-2.0
/*
 * test_api.c - the status/stats documents and the REST API's routing,
 * spoken to over its unix socket with plain HTTP/1.0 requests.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_progs.h"
#include "xadc/api.h"
#include "xadc/cfg.h"
#include "xadc/snapshot.h"

static const char *doc_text =
    "{\"pool\": [{\"name\": \"web\", \"lb_algorithm\": \"LB_ALGORITHM_ROUND_ROBIN\","
    "  \"servers\": [{\"ip\": {\"addr\": \"198.18.1.1\", \"type\": \"V4\"}, \"port\": 8080},"
    "               {\"ip\": {\"addr\": \"198.18.1.2\", \"type\": \"V4\"}, \"port\": 8080,"
    "                \"enabled\": false}]}],"
    " \"virtualservice\": [{\"name\": \"vs1\","
    "  \"vip\": [{\"ip_address\": {\"addr\": \"198.18.0.10\", \"type\": \"V4\"}}],"
    "  \"services\": [{\"port\": 80}], \"pool_ref\": \"/api/pool?name=web\"}]}";

/* Compile doc_text and make it current. */
static struct xadc_snapshot *publish_doc(void)
{
	json_t *doc = json_loads(doc_text, 0, NULL), *warnings = NULL, *err = NULL;
	struct xadc_snapshot *s;

	xadc_nworkers = 2;
	s = xadc_cfg_compile(doc, &warnings, &err);
	json_decref(doc);
	json_decref(warnings);
	if (!s) {
		char *e = json_dumps(err, 0);

		printf("# compile failed: %s\n", e ? e : "?");
		free(e);
		json_decref(err);
		return NULL;
	}
	xadc_snapshot_publish(s);
	return s;
}

/* The object in array arr whose "name" is name. */
static json_t *by_name(json_t *arr, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(
	    arr, i,
	    o) if (!strcmp(json_string_value(json_object_get(o, "name")) ?: "", name)) return o;
	return NULL;
}

TEST(status_document)
{
	struct xadc_snapshot *s = publish_doc();
	json_t *st, *vs, *pool, *srv;

	if (!ASSERT_NOT_NULL(s, "compile"))
		return;
	st = xadc_status_json();
	vs = by_name(json_object_get(st, "virtualservices"), "vs1");
	if (!ASSERT_NOT_NULL(vs, "vs1 listed"))
		goto out;
	ASSERT_STREQ(json_string_value(json_array_get(json_object_get(vs, "listeners"), 0)),
		     "198.18.0.10:80", "listener");
	ASSERT_STREQ(json_string_value(json_object_get(vs, "type")), "HTTP", "type");
	ASSERT_STREQ(json_string_value(json_object_get(vs, "pool")), "web", "pool");
	ASSERT_EQ(json_integer_value(json_object_get(vs, "servers_total")), 2, "servers_total");
	/* No health monitor: the enabled server is up, the disabled one is not. */
	ASSERT_EQ(json_integer_value(json_object_get(vs, "servers_up")), 1, "servers_up");
	pool = by_name(json_object_get(st, "pools"), "web");
	if (!ASSERT_NOT_NULL(pool, "pool listed"))
		goto out;
	ASSERT_STREQ(json_string_value(json_object_get(pool, "lb_algorithm")),
		     "LB_ALGORITHM_ROUND_ROBIN", "lb_algorithm");
	srv = json_array_get(json_object_get(pool, "servers"), 1);
	ASSERT_STREQ(json_string_value(json_object_get(srv, "ip")), "198.18.1.2", "server ip");
	ASSERT_EQ(json_integer_value(json_object_get(srv, "port")), 8080, "server port");
	ASSERT_STREQ(json_string_value(json_object_get(srv, "health")), "disabled", "health");
	ASSERT_EQ(
	    json_integer_value(json_object_get(json_object_get(st, "daemon"), "config_generation")),
	    s->generation, "generation");
out:
	json_decref(st);
}

TEST(stats_sum_over_workers)
{
	struct xadc_snapshot *s = publish_doc();
	struct xadc_server *a, *b;
	json_t *st, *pool, *srv, *vs;

	if (!ASSERT_NOT_NULL(s, "compile"))
		return;
	a = &s->pools[0].servers[0];
	b = &s->pools[0].servers[1];
	/* Each worker writes its own slot; the document must show the sums. */
	a->rt->ctr[0].requests += 3;
	a->rt->ctr[1].requests += 4;
	a->rt->ctr[1].resp[2] += 4;
	a->rt->ctr[0].resp[5] += 1;
	b->rt->ctr[1].requests += 10;
	b->rt->ctr[0].bytes_out += 1000;
	s->vs[0].rt->ctr[1].cur_conns += 2;

	st = xadc_stats_json();
	pool = by_name(json_object_get(st, "pools"), "web");
	if (!ASSERT_NOT_NULL(pool, "pool"))
		goto out;
	srv = json_array_get(json_object_get(pool, "servers"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(srv, "requests")), 7, "server requests");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(srv, "responses"), "2xx")), 4,
		  "server 2xx");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(srv, "responses"), "5xx")), 1,
		  "server 5xx");
	ASSERT_EQ(json_integer_value(json_object_get(pool, "requests")), 17,
		  "pool = sum of servers");
	ASSERT_EQ(json_integer_value(json_object_get(pool, "bytes_out")), 1000, "pool bytes_out");
	vs = by_name(json_object_get(st, "virtualservices"), "vs1");
	ASSERT_EQ(json_integer_value(json_object_get(vs, "open_connections")), 2, "vs open conns");
out:
	json_decref(st);
}

/* ---------------------------------------------------------------------- */

static char sock_path[108];

/* Send raw (an HTTP/1.0 request) and read the whole reply into buf. */
static int http_raw(const char *raw, char *buf, size_t len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = 0;
	ssize_t r;
	int fd;

	strcpy(sun.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		return -errno;
	if (write(fd, raw, strlen(raw)) != (ssize_t)strlen(raw)) {
		close(fd);
		return -EIO;
	}
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
	return 0;
}

static int status_of(const char *reply)
{
	int code = 0;

	sscanf(reply, "HTTP/1.%*d %d", &code);
	return code;
}

/* The parsed JSON body of a reply, or NULL. */
static json_t *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");

	return b ? json_loads(b + 4, 0, NULL) : NULL;
}

static const char *error_of(json_t *body)
{
	return json_string_value(json_object_get(body, "error"));
}

TEST(api_routes)
{
	struct xadc_api_opts opts = {0};
	static char reply[65536];
	struct stat st;
	json_t *body;

	if (!ASSERT_NOT_NULL(publish_doc(), "compile"))
		return;
	snprintf(sock_path, sizeof(sock_path), "/tmp/xadc-test-api-%d.sock", (int)getpid());
	opts.unix_path = sock_path;
	if (!ASSERT_OK(xadc_api_start(&opts), "api start"))
		return;
	ASSERT_OK(stat(sock_path, &st), "socket exists");
	ASSERT_EQ(st.st_mode & 0777, 0600, "socket mode 0600");

	ASSERT_OK(http_raw("GET /api/health HTTP/1.0\r\n\r\n", reply, sizeof(reply)), "health");
	ASSERT_EQ(status_of(reply), 200, "health status");
	ASSERT_TRUE(strcasestr(reply, "\r\nContent-Type: application/json"), "content type");
	body = body_of(reply);
	ASSERT_STREQ(json_string_value(json_object_get(body, "status")), "ok", "health body");
	json_decref(body);

	ASSERT_OK(http_raw("GET /api/foo HTTP/1.0\r\n\r\n", reply, sizeof(reply)), "foo");
	ASSERT_EQ(status_of(reply), 404, "unknown kind status");
	body = body_of(reply);
	ASSERT_STREQ(error_of(body), "unknown object kind \"foo\"", "unknown kind error");
	json_decref(body);

	ASSERT_OK(http_raw("DELETE /api/status HTTP/1.0\r\n\r\n", reply, sizeof(reply)), "405");
	ASSERT_EQ(status_of(reply), 405, "method not allowed");
	ASSERT_TRUE(strcasestr(reply, "\r\nAllow: GET\r\n"), "Allow header");

	ASSERT_OK(http_raw("PUT /api/configuration HTTP/1.0\r\nContent-Length: 12\r\n\r\n"
			   "{\"pool\": [}\n",
			   reply, sizeof(reply)),
		  "bad json");
	ASSERT_EQ(status_of(reply), 400, "invalid JSON status");
	body = body_of(reply);
	ASSERT_EQ(json_integer_value(json_object_get(body, "line")), 1, "error line");
	ASSERT_TRUE(error_of(body) && strstr(error_of(body), "invalid JSON"), "error text");
	json_decref(body);

	/* The size limit is enforced from Content-Length, before any body. */
	ASSERT_OK(http_raw("PUT /api/configuration HTTP/1.0\r\nContent-Length: 67108865\r\n\r\n",
			   reply, sizeof(reply)),
		  "too large");
	ASSERT_EQ(status_of(reply), 413, "too large status");

	ASSERT_OK(http_raw("GET /api/logs?after=x HTTP/1.0\r\n\r\n", reply, sizeof(reply)), "logs");
	ASSERT_EQ(status_of(reply), 400, "bad after");

	ASSERT_OK(http_raw("GET /api/status HTTP/1.0\r\n\r\n", reply, sizeof(reply)), "status");
	ASSERT_EQ(status_of(reply), 200, "status route");
	body = body_of(reply);
	ASSERT_NOT_NULL(by_name(json_object_get(body, "virtualservices"), "vs1"), "status body");
	json_decref(body);

	xadc_api_stop();
	ASSERT_TRUE(access(sock_path, F_OK) && errno == ENOENT, "socket removed on stop");
}

TEST(api_refuses_non_socket_path)
{
	struct xadc_api_opts opts = {0};
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/xadc-test-api-%d.file", (int)getpid());
	f = fopen(path, "w");
	if (!ASSERT_NOT_NULL(f, "create file"))
		return;
	fclose(f);
	opts.unix_path = path;
	ASSERT_EQ(xadc_api_start(&opts), -EEXIST, "a regular file is not replaced");
	ASSERT_OK(access(path, F_OK), "file still there");
	unlink(path);
}

TEST_MAIN()
