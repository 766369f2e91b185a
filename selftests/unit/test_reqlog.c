// SPDX-License-Identifier: GPL-2.0
/* test_reqlog.c - request log formatting, escaping, truncation, history. */
#include <arpa/inet.h>
#include <unistd.h>

#include <jansson.h>

#include "test_progs.h"
#include "xadc/reqlog.h"

static union xadc_sockaddr v4(const char *ip, unsigned port)
{
	union xadc_sockaddr a = {};

	a.in.sin_family = AF_INET;
	a.in.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.in.sin_addr);
	return a;
}

static struct xadc_reqlog_rec base_rec(union xadc_sockaddr *c, union xadc_sockaddr *v)
{
	struct xadc_reqlog_rec r = {
		.start_us = 1700000000123456ull,
		.client = c,
		.vip = v,
		.vs = "web-vs",
		.method = "GET", .method_len = 3,
		.uri = "/index.html?a=1", .uri_len = 15,
		.host = "example.com", .host_len = 11,
		.user_agent = "curl/8", .user_agent_len = 6,
		.status = 200,
		.pool = "web",
		.server = "198.18.1.2:8080",
		.request_id = 0x42,
		.bytes_in = 77, .bytes_out = 1234,
		.t_total_ms = 1.5,
	};
	return r;
}

/* Format rec and parse the line back as JSON. */
static json_t *fmt_parse(const struct xadc_reqlog_rec *r, size_t cap, size_t *len)
{
	static char line[4096];
	json_error_t e;
	json_t *j;

	*len = xadc_reqlog_format(r, line, cap);
	if (!ASSERT_TRUE(*len > 0 && *len <= cap, "length within cap"))
		return NULL;
	if (!ASSERT_EQ(line[*len - 1], '\n', "ends with newline"))
		return NULL;
	j = json_loadb(line, *len, 0, &e);
	if (!j)
		printf("# not JSON (%s): %.*s\n", e.text, (int)*len, line);
	return j;
}

TEST(fields)
{
	union xadc_sockaddr c = v4("198.18.0.7", 40000), v = v4("198.18.0.10", 80);
	struct xadc_reqlog_rec r = base_rec(&c, &v);
	size_t len;
	json_t *j = fmt_parse(&r, 2044, &len);

	if (!ASSERT_NOT_NULL(j, "valid JSON"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(j, "time")),
		     "2023-11-14T22:13:20.123456Z", "RFC 3339 time with microseconds");
	ASSERT_STREQ(json_string_value(json_object_get(j, "client_ip")), "198.18.0.7", "client_ip");
	ASSERT_EQ(json_integer_value(json_object_get(j, "client_port")), 40000, "client_port");
	ASSERT_STREQ(json_string_value(json_object_get(j, "vs_ip")), "198.18.0.10", "vs_ip");
	ASSERT_EQ(json_integer_value(json_object_get(j, "vs_port")), 80, "vs_port");
	ASSERT_STREQ(json_string_value(json_object_get(j, "uri")), "/index.html?a=1", "uri");
	ASSERT_EQ(json_integer_value(json_object_get(j, "status")), 200, "status");
	ASSERT_STREQ(json_string_value(json_object_get(j, "server")), "198.18.1.2:8080", "server");
	ASSERT_EQ(json_integer_value(json_object_get(j, "bytes_out")), 1234, "bytes_out");
	ASSERT_NULL(json_object_get(j, "termination"), "no termination when normal");
	ASSERT_NULL(json_object_get(j, "http_request_policy_rule_name"), "no rule name");
	json_decref(j);
}

TEST(escaping)
{
	union xadc_sockaddr c = v4("198.18.0.7", 1), v = v4("198.18.0.10", 80);
	struct xadc_reqlog_rec r = base_rec(&c, &v);
	/* quote, backslash, control chars, valid UTF-8 (é), invalid bytes */
	static const char ua[] = "a\"b\\c\n\x01\x7f" "\xc3\xa9" "\xff\xc3(" "\xed\xa0\x80";
	size_t len;
	json_t *j;

	r.user_agent = ua;
	r.user_agent_len = sizeof(ua) - 1;
	r.termination = "server_timeout";
	r.http_security_policy_rule_name = "rule \"1\"";
	r.extra_json = ",\"datascript_log\":\"x\"";
	j = fmt_parse(&r, 2044, &len);
	if (!ASSERT_NOT_NULL(j, "valid JSON"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(j, "user_agent")),
		     "a\"b\\c\n\x01\x7f" "\xc3\xa9" "\xef\xbf\xbd\xef\xbf\xbd(" "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		     "escaped and repaired user agent");
	ASSERT_STREQ(json_string_value(json_object_get(j, "termination")), "server_timeout",
		     "termination");
	ASSERT_STREQ(json_string_value(json_object_get(j, "http_security_policy_rule_name")),
		     "rule \"1\"", "rule name");
	ASSERT_STREQ(json_string_value(json_object_get(j, "datascript_log")), "x", "extra_json");
	json_decref(j);
}

TEST(long_uri_truncated)
{
	union xadc_sockaddr c = v4("198.18.0.7", 1), v = v4("198.18.0.10", 80);
	struct xadc_reqlog_rec r = base_rec(&c, &v);
	static char uri[8000];
	const char *got;
	size_t len;
	json_t *j;

	memset(uri, '"', sizeof(uri));	/* worst case: every byte escapes to two */
	uri[0] = '/';
	r.uri = uri;
	r.uri_len = sizeof(uri);
	j = fmt_parse(&r, 2044, &len);
	if (!ASSERT_NOT_NULL(j, "valid JSON despite the long URI"))
		return;
	got = json_string_value(json_object_get(j, "uri"));
	if (ASSERT_NOT_NULL(got, "uri present")) {
		ASSERT_LT(strlen(got), sizeof(uri), "uri cut");
		ASSERT_STREQ(got + strlen(got) - 3, "...", "cut marker");
	}
	ASSERT_STREQ(json_string_value(json_object_get(j, "server")), "198.18.1.2:8080",
		     "later fields kept");
	json_decref(j);
}

TEST(tiny_buffer_still_json)
{
	union xadc_sockaddr c = v4("198.18.0.7", 1), v = v4("198.18.0.10", 80);
	struct xadc_reqlog_rec r = base_rec(&c, &v);
	size_t len;
	json_t *j;

	r.extra_json = ",\"big\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"";
	j = fmt_parse(&r, 300, &len);
	if (!ASSERT_NOT_NULL(j, "valid JSON in 300 bytes"))
		return;
	ASSERT_TRUE(json_is_true(json_object_get(j, "truncated")), "marked truncated");
	json_decref(j);
}

TEST(history_and_file)
{
	union xadc_sockaddr c = v4("198.18.0.7", 1), v = v4("198.18.0.10", 80);
	struct xadc_reqlog_rec r = base_rec(&c, &v);
	char path[] = "/tmp/test_reqlog_XXXXXX";
	uint64_t last = 0;
	json_t *arr = NULL;
	int fd = mkstemp(path), i, lines = 0;
	char buf[65536];
	ssize_t n;

	if (!ASSERT_GE(fd, 0, "mkstemp"))
		return;
	if (!ASSERT_OK(xadc_reqlog_start(path, 2), "start"))
		goto out;
	for (i = 0; i < 5; i++) {
		r.status = 200 + i;
		xadc_reqlog_emit(i % 2, &r);
	}
	for (i = 0; i < 100; i++) {	/* the logger drains every ~50 ms */
		json_decref(arr);
		arr = xadc_reqlog_recent(0, 100, &last);
		if (json_array_size(arr) == 5)
			break;
		usleep(20000);
	}
	ASSERT_EQ(json_array_size(arr), 5, "five lines in history");
	ASSERT_EQ(last, 5, "newest sequence");
	json_decref(arr);
	arr = xadc_reqlog_recent(3, 1, &last);
	ASSERT_EQ(json_array_size(arr), 1, "max honoured");
	ASSERT_EQ(last, 4, "last is the sequence returned");
	json_decref(arr);
	arr = NULL;
	xadc_reqlog_stop();
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	ASSERT_EQ(lines, 5, "five lines in the file");
out:
	json_decref(arr);
	close(fd);
	unlink(path);
}

TEST_MAIN()
