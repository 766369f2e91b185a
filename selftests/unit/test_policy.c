// SPDX-License-Identifier: GPL-2.0
/*
 * test_policy.c - HTTP security / request / response policies compiled from
 * Avi-shaped JSON by the real config compiler and evaluated on requests
 * parsed by the real HTTP/1 parser.
 */
#include <arpa/inet.h>
#include <string.h>

#include "test_progs.h"
#include "xadc/cfg.h"
#include "xadc/http1.h"
#include "../../policy/http_policy.h"

static struct http1_msg msg;
static char reqbuf[8192];
static union xadc_sockaddr cli, vip;

static const struct http1_limits lim = {16384, 100, 8192};

/* Compile a config with one VS "vs" using policy set "ps" whose JSON body
 * (the policy fields) is given, plus extra objects. */
static struct xadc_snapshot *compile(const char *ps_body, const char *extra, json_t **warn,
				     json_t **err)
{
	char text[65536];
	json_error_t je;
	struct xadc_snapshot *s;
	json_t *doc;

	snprintf(text, sizeof(text),
		 "{\"pool\": [{\"name\": \"p1\", \"servers\": [{\"ip\": \"198.18.1.2\", \"port\": 80}]},"
		 "{\"name\": \"p2\", \"servers\": [{\"ip\": \"198.18.1.3\", \"port\": 80}]}],"
		 "\"stringgroup\": [{\"name\": \"bad\", \"kv\": [{\"key\": \"/admin\"}, {\"key\": \"/secret\"}]},"
		 "{\"name\": \"map\", \"type\": \"SG_TYPE_KEYVAL\", \"kv\": [{\"key\": \"/old\", \"value\": \"new\"}]}],"
		 "\"ipaddrgroup\": [{\"name\": \"blocked\", \"prefixes\": [{\"ip_addr\": {\"addr\": \"198.18.9.0\", \"type\": \"V4\"}, \"mask\": 24}]}]"
		 "%s%s,"
		 "\"httppolicyset\": [{\"name\": \"ps\", %s}],"
		 "\"virtualservice\": [{\"name\": \"vs\", \"vip\": [\"198.18.0.10\"], \"services\": [80],"
		 " \"pool_ref\": \"p1\", \"http_policies\": [{\"index\": 1, \"http_policy_set_ref\": \"ps\"}]}]}",
		 extra ? "," : "", extra ? extra : "", ps_body);
	doc = json_loads(text, 0, &je);
	if (!doc) {
		printf("# bad JSON: %s\n", je.text);
		return NULL;
	}
	s = xadc_cfg_compile(doc, warn, err);
	json_decref(doc);
	return s;
}

static const struct http1_msg *req(const char *text)
{
	size_t scanned = 0;

	snprintf(reqbuf, sizeof(reqbuf), "%s", text);
	if (http1_parse_request(reqbuf, strlen(reqbuf), &lim, &scanned, &msg) <= 0)
		return NULL;
	return &msg;
}

static void view(struct xadc_hp_req *rq, const char *text)
{
	memset(rq, 0, sizeof(*rq));
	rq->m = req(text);
	rq->buf = reqbuf;
	rq->client = &cli;
	rq->vip = &vip;
	rq->request_id = 42;
}

static void addrs(const char *client)
{
	cli.in.sin_family = AF_INET;
	inet_pton(AF_INET, client, &cli.in.sin_addr);
	vip.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.10", &vip.in.sin_addr);
	vip.in.sin_port = htons(80);
}

/* Security verdict status for a request: 0 continue, -1 close, else status. */
static int sec(struct xadc_snapshot *s, const char *text, const char **rule)
{
	struct xadc_hp_result res;
	struct xadc_hp_req rq;

	view(&rq, text);
	xadc_hp_security(&s->vs[0], &rq, &res);
	if (rule)
		*rule = res.rule_name;
	if (res.verdict == XADC_HP_CLOSE || res.verdict == XADC_HP_RESET)
		return -1;
	return res.verdict == XADC_HP_RESPOND ? res.status : 0;
}

#define DENY(name, match)                                                                          \
	"{\"name\": \"" name "\", \"index\": 1, \"match\": " match                                 \
	", \"action\": {\"action\": \"HTTP_SECURITY_ACTION_SEND_RESPONSE\","                       \
	" \"status_code\": \"HTTP_LOCAL_RESPONSE_STATUS_CODE_403\"}}"

struct op_case {
	const char *match;
	const char *yes, *no;	/* a request the rule denies, one it lets through */
};

static const struct op_case op_cases[] = {
	{"{\"path\": {\"match_criteria\": \"BEGINS_WITH\", \"match_str\": [\"/adm\"]}}",
	 "GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x/admin HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"DOES_NOT_BEGIN_WITH\", \"match_str\": [\"/pub\"]}}",
	 "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", "GET /pub/x HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"CONTAINS\", \"match_str\": [\"etc\"]}}",
	 "GET /a/etc/b HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a/b HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"DOES_NOT_CONTAIN\", \"match_str\": [\"ok\"]}}",
	 "GET /bad HTTP/1.1\r\nHost: a\r\n\r\n", "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"ENDS_WITH\", \"match_str\": [\".php\"]}}",
	 "GET /a.php HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a.php5 HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"DOES_NOT_END_WITH\", \"match_str\": [\".html\"]}}",
	 "GET /a.cgi HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a.html HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/x\"]}}",
	 "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x/ HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"DOES_NOT_EQUAL\", \"match_str\": [\"/x\"]}}",
	 "GET /y HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"EQUALS\", \"match_case\": \"INSENSITIVE\", \"match_str\": [\"/Login\"]}}",
	 "GET /LOGIN HTTP/1.1\r\nHost: a\r\n\r\n", "GET /logout HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"REGEX_MATCH\", \"match_str\": [\"^/u/[0-9]+$\"]}}",
	 "GET /u/123 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /u/abc HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"REGEX_DOES_NOT_MATCH\", \"match_str\": [\"^/api/\"]}}",
	 "GET /web HTTP/1.1\r\nHost: a\r\n\r\n", "GET /api/v1 HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"path\": {\"match_criteria\": \"BEGINS_WITH\", \"string_group_refs\": [\"bad\"]}}",
	 "GET /secret/k HTTP/1.1\r\nHost: a\r\n\r\n", "GET /public HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"query\": {\"match_criteria\": \"CONTAINS\", \"match_str\": [\"debug=1\"]}}",
	 "GET /?a=b&debug=1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /?debug=0 HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"X-Test\", \"match_criteria\": \"HDR_EXISTS\"}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\nx-test: 1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"X-Test\", \"match_criteria\": \"HDR_DOES_NOT_EXIST\"}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Test: 1\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"User-Agent\", \"match_criteria\": \"HDR_CONTAINS\", \"value\": [\"curl\"]}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: CURL/8\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: wget\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"X-A\", \"match_criteria\": \"HDR_DOES_NOT_CONTAIN\", \"value\": [\"ok\"]}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\nX-A: no\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-A: ok\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"X-A\", \"match_criteria\": \"HDR_REGEX_MATCH\", \"value\": [\"^v[0-9]$\"]}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\nX-A: v7\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-A: v77\r\n\r\n"},
	{"{\"hdrs\": [{\"hdr\": \"X-A\", \"match_criteria\": \"HDR_BEGINS_WITH\", \"string_group_refs\": [\"bad\"]}]}",
	 "GET / HTTP/1.1\r\nHost: a\r\nX-A: /admin1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-A: /x\r\n\r\n"},
	{"{\"cookie\": {\"key\": \"role\", \"match_criteria\": \"HDR_EQUALS\", \"value\": \"guest\"}}",
	 "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; role=guest\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nCookie: role=admin\r\n\r\n"},
	{"{\"host_hdr\": {\"match_criteria\": \"HDR_ENDS_WITH\", \"value\": [\".evil\"]}}",
	 "GET / HTTP/1.1\r\nHost: www.evil:8080\r\n\r\n", "GET / HTTP/1.1\r\nHost: good\r\n\r\n"},
	{"{\"method\": {\"match_criteria\": \"IS_IN\", \"methods\": [\"HTTP_METHOD_DELETE\", \"HTTP_METHOD_PROPFIND\"]}}",
	 "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"method\": {\"match_criteria\": \"IS_NOT_IN\", \"methods\": [\"HTTP_METHOD_GET\"]}}",
	 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"version\": {\"match_criteria\": \"IS_IN\", \"versions\": [\"ONE_ZERO\"]}}",
	 "GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"{\"protocol\": {\"match_criteria\": \"IS_IN\", \"protocols\": \"HTTP\"}, \"vs_port\": {\"match_criteria\": \"IS_NOT_IN\", \"ports\": [8080]}, \"path\": {\"match_criteria\": \"BEGINS_WITH\", \"match_str\": [\"/p\"]}}",
	 "GET /p HTTP/1.1\r\nHost: a\r\n\r\n", "GET /q HTTP/1.1\r\nHost: a\r\n\r\n"},
};

TEST(string_and_header_operators)
{
	char body[4096];
	const char *rule;
	struct xadc_snapshot *s;
	json_t *err = NULL;
	size_t i;

	addrs("198.18.0.1");
	for (i = 0; i < ARRAY_SIZE(op_cases); i++) {
		snprintf(body, sizeof(body), "\"http_security_policy\": {\"rules\": [" DENY("r%zu", "%s") "]}",
			 i, op_cases[i].match);
		s = compile(body, NULL, NULL, &err);
		if (!s)
			printf("# case %zu: %s\n", i, json_string_value(json_object_get(err, "error")));
		ASSERT_NOT_NULL(s, "compiles");
		if (!s)
			continue;
		ASSERT_EQ(sec(s, op_cases[i].yes, &rule), 403, op_cases[i].match);
		ASSERT_TRUE(rule && rule[0] == 'r', "rule name reported");
		ASSERT_EQ(sec(s, op_cases[i].no, &rule), 0, op_cases[i].match);
		ASSERT_NULL(rule, "no rule when nothing matches");
		xadc_snapshot_put(s);
	}
}

TEST(client_ip_and_groups)
{
	struct xadc_snapshot *s;
	json_t *err = NULL;

	s = compile("\"http_security_policy\": {\"rules\": [" DENY(
			"ip", "{\"client_ip\": {\"match_criteria\": \"IS_IN\", \"group_refs\": [\"blocked\"],"
			      " \"addrs\": [{\"addr\": \"198.18.7.7\", \"type\": \"V4\"}],"
			      " \"ranges\": [{\"begin\": \"198.18.5.1\", \"end\": \"198.18.5.9\"}]}}") "]}",
		    NULL, NULL, &err);
	ASSERT_NOT_NULL(s, "compiles");
	if (!s)
		return;
	addrs("198.18.9.200");
	ASSERT_EQ(sec(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 403, "group prefix");
	addrs("198.18.7.7");
	ASSERT_EQ(sec(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 403, "addr");
	addrs("198.18.5.5");
	ASSERT_EQ(sec(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 403, "range");
	addrs("198.18.5.10");
	ASSERT_EQ(sec(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 0, "outside");
	ASSERT_NOT_NULL(xadc_snapshot_find_ipgroup(s, "blocked"), "group reachable by name");
	xadc_snapshot_put(s);
}

TEST(security_actions_and_order)
{
	struct xadc_hp_result res;
	struct xadc_hp_req rq;
	struct xadc_snapshot *s;
	json_t *err = NULL;
	int i, denied = 0;

	addrs("198.18.0.1");
	/* index order, not array order; ALLOW stops evaluation */
	s = compile("\"http_security_policy\": {\"rules\": ["
		    DENY("deny-all-x", "{\"path\": {\"match_criteria\": \"BEGINS_WITH\", \"match_str\": [\"/x\"]}}") ","
		    "{\"name\": \"allow-x1\", \"index\": 0, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/x1\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_ALLOW\"}},"
		    "{\"name\": \"close\", \"index\": 5, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/close\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_CLOSE_CONN\"}},"
		    "{\"name\": \"teapot\", \"index\": 6, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/tea\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_SEND_RESPONSE\", \"other_status_code\": 418,"
		    " \"file\": {\"content_type\": \"text/html\", \"file_content\": \"<b>tea</b>\"}}},"
		    "{\"name\": \"https\", \"index\": 7, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/login\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_REDIRECT_TO_HTTPS\", \"https_port\": 8443}},"
		    "{\"name\": \"rl\", \"index\": 8, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/rl\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_RATE_LIMIT\", \"rate_profile\": {"
		    " \"rate_limiter\": {\"count\": 3, \"period\": 3600}, \"per_client_ip\": true,"
		    " \"action\": {\"type\": \"RL_ACTION_LOCAL_RSP\", \"status_code\": \"HTTP_LOCAL_RESPONSE_STATUS_CODE_429\"}}}}"
		    "]}", NULL, NULL, &err);
	ASSERT_NOT_NULL(s, "compiles");
	if (!s) {
		printf("# %s\n", json_string_value(json_object_get(err, "error")));
		return;
	}
	ASSERT_EQ(sec(s, "GET /x1 HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 0, "allow (index 0) wins");
	ASSERT_EQ(sec(s, "GET /x2 HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 403, "deny");
	ASSERT_EQ(sec(s, "GET /close HTTP/1.1\r\nHost: a\r\n\r\n", NULL), -1, "close");
	view(&rq, "GET /tea HTTP/1.1\r\nHost: a\r\n\r\n");
	xadc_hp_security(&s->vs[0], &rq, &res);
	ASSERT_EQ(res.status, 418, "any status");
	ASSERT_TRUE(res.body && !strcmp(res.body, "<b>tea</b>"), "file body");
	ASSERT_STREQ(res.content_type, "text/html", "file type");
	view(&rq, "GET /login?a=1 HTTP/1.1\r\nHost: shop:80\r\n\r\n");
	xadc_hp_security(&s->vs[0], &rq, &res);
	ASSERT_EQ(res.status, 302, "redirect");
	ASSERT_TRUE(res.location && !strncmp(res.location, "https://shop:8443/login?a=1",
					     res.location_len), "https location");
	for (i = 0; i < 5; i++)
		denied += sec(s, "GET /rl HTTP/1.1\r\nHost: a\r\n\r\n", NULL) == 429;
	ASSERT_EQ(denied, 2, "3 of 5 within the limit");
	addrs("198.18.0.2");
	ASSERT_EQ(sec(s, "GET /rl HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 0, "per client ip");
	xadc_snapshot_put(s);
}

TEST(request_actions)
{
	struct xadc_hp_result res;
	struct xadc_hp_req rq;
	struct xadc_snapshot *s;
	json_t *err = NULL;
	const char *h;

	addrs("198.18.0.7");
	s = compile("\"http_request_policy\": {\"rules\": ["
		    "{\"name\": \"hdrs\", \"index\": 1, \"match\": {\"path\": {\"match_criteria\": \"BEGINS_WITH\", \"match_str\": [\"/h\"]}},"
		    " \"hdr_action\": [{\"action\": \"HTTP_ADD_HDR\", \"hdr\": {\"name\": \"X-Client\", \"value\": {\"var\": \"HTTP_POLICY_VAR_CLIENT_IP\"}}},"
		    "  {\"action\": \"HTTP_REPLACE_HDR\", \"hdr\": {\"name\": \"X-Env\", \"value\": {\"val\": \"prod\"}}},"
		    "  {\"action\": \"HTTP_REMOVE_HDR\", \"hdr\": {\"name\": \"X-Secret\"}}],"
		    " \"switching_action\": {\"action\": \"HTTP_SWITCHING_SELECT_POOL\", \"pool_ref\": \"/api/pool?name=p2\"}},"
		    "{\"name\": \"rw\", \"index\": 2, \"match\": {\"path\": {\"match_criteria\": \"REGEX_MATCH\", \"match_str\": [\"^/v([0-9])/(.*)$\"]}},"
		    " \"rewrite_url_action\": {\"host_hdr\": {\"tokens\": [{\"type\": \"URI_TOKEN_TYPE_STRING\", \"str_value\": \"api\"}, {\"type\": \"URI_TOKEN_TYPE_HOST\", \"start_index\": 1, \"end_index\": 2}]},"
		    " \"path\": {\"tokens\": [{\"type\": \"URI_TOKEN_TYPE_STRING\", \"str_value\": \"api\"}, {\"type\": \"URI_TOKEN_TYPE_REGEX\", \"start_index\": 1, \"end_index\": 2}]},"
		    " \"query\": {\"keep_query\": true, \"add_string\": \"from=xadc\"}}},"
		    "{\"name\": \"redir\", \"index\": 3, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/old\"]}},"
		    " \"redirect_action\": {\"protocol\": \"HTTPS\", \"path\": {\"tokens\": [{\"type\": \"URI_TOKEN_TYPE_STRING_GROUP\"}], \"string_group_refs\": [\"map\"]},"
		    " \"status_code\": \"HTTP_REDIRECT_STATUS_CODE_301\", \"keep_query\": false}},"
		    "{\"name\": \"local\", \"index\": 4, \"match\": {\"path\": {\"match_criteria\": \"EQUALS\", \"match_str\": [\"/ping\"]}},"
		    " \"switching_action\": {\"action\": \"HTTP_SWITCHING_SELECT_LOCAL\", \"status_code\": \"HTTP_LOCAL_RESPONSE_STATUS_CODE_200\", \"file\": {\"content_type\": \"text/plain\", \"file_content\": \"pong\"}}}"
		    "]}", NULL, NULL, &err);
	ASSERT_NOT_NULL(s, "compiles");
	if (!s) {
		printf("# %s\n", json_string_value(json_object_get(err, "error")));
		return;
	}
	view(&rq, "GET /h HTTP/1.1\r\nHost: a\r\nX-Secret: s\r\nX-Env: dev\r\n\r\n");
	xadc_hp_request(&s->vs[0], &rq, &lim, &res);
	ASSERT_EQ(res.verdict, XADC_HP_CONTINUE, "continues");
	ASSERT_NOT_NULL(res.head, "head rewritten");
	ASSERT_TRUE(res.pool && !strcmp(res.pool->name, "p2"), "pool switched");
	h = res.head;
	ASSERT_TRUE(h && strstr(h, "X-Client: 198.18.0.7\r\n"), "var header added");
	ASSERT_TRUE(h && strstr(h, "X-Env: prod\r\n") && !strstr(h, "dev"), "replaced");
	ASSERT_TRUE(h && !strstr(h, "X-Secret"), "removed");
	ASSERT_STREQ(res.rule_name, "hdrs", "rule name");

	view(&rq, "GET /v2/users/7?a=1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
	xadc_hp_request(&s->vs[0], &rq, &lim, &res);
	ASSERT_TRUE(res.head && !strncmp(res.head, "GET /api/2/users/7?a=1&from=xadc HTTP/1.1\r\n", 43),
		    "path from regex captures, query kept and extended");
	ASSERT_TRUE(res.head && strstr(res.head, "Host: api.example.com\r\n"), "host from tokens");
	ASSERT_EQ(res.msg->path.len, 14, "re-parsed (/api/2/users/7)");

	view(&rq, "GET /old?q=1 HTTP/1.1\r\nHost: site\r\n\r\n");
	xadc_hp_request(&s->vs[0], &rq, &lim, &res);
	ASSERT_EQ(res.status, 301, "redirect status");
	ASSERT_TRUE(res.location && res.location_len == strlen("https://site/new") &&
			    !memcmp(res.location, "https://site/new", res.location_len),
		    "redirect location from the string group's value");

	view(&rq, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n");
	xadc_hp_request(&s->vs[0], &rq, &lim, &res);
	ASSERT_EQ(res.status, 200, "local");
	ASSERT_TRUE(res.body && !strcmp(res.body, "pong"), "local body");
	xadc_snapshot_put(s);
}

TEST(response_actions)
{
	static char rsp[] = "HTTP/1.1 302 Found\r\nLocation: http://backend:8080/a/b?x=1\r\n"
			    "Server: nginx\r\nContent-Length: 0\r\n\r\n";
	struct http1_msg rm;
	struct xadc_hp_rsp rp = {.buf = rsp, .m = &rm};
	struct xadc_hp_result res;
	struct xadc_hp_req rq;
	struct xadc_snapshot *s;
	json_t *err = NULL;
	size_t sc = 0;

	addrs("198.18.0.7");
	ASSERT_GT(http1_parse_response(rsp, strlen(rsp), &lim, H1_M_GET, &sc, &rm), 0, "parse");
	s = compile("\"http_response_policy\": {\"rules\": ["
		    "{\"name\": \"loc\", \"index\": 1, \"match\": {\"status\": {\"match_criteria\": \"IS_IN\", \"ranges\": [{\"begin\": 300, \"end\": 399}]},"
		    " \"loc_hdr\": {\"match_criteria\": \"HDR_CONTAINS\", \"value\": [\"backend\"]},"
		    " \"rsp_hdrs\": [{\"hdr\": \"Server\", \"match_criteria\": \"HDR_EXISTS\"}]},"
		    " \"hdr_action\": [{\"action\": \"HTTP_REMOVE_HDR\", \"hdr\": {\"name\": \"Server\"}}],"
		    " \"loc_hdr_action\": {\"protocol\": \"HTTPS\", \"host\": {\"tokens\": [{\"type\": \"URI_TOKEN_TYPE_STRING\", \"str_value\": \"www.example.com\"}]}, \"keep_query\": true}}"
		    "]}", NULL, NULL, &err);
	ASSERT_NOT_NULL(s, "compiles");
	if (!s) {
		printf("# %s\n", json_string_value(json_object_get(err, "error")));
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.client = &cli;
	rq.vip = &vip;
	rq.target = "/a";
	rq.target_len = 2;
	xadc_hp_response(&s->vs[0], &rq, &rp, H1_M_GET, &res);
	ASSERT_NOT_NULL(res.head, "rewritten");
	ASSERT_TRUE(res.head && strstr(res.head, "Location: https://www.example.com/a/b?x=1\r\n"),
		    "location rewritten");
	ASSERT_TRUE(res.head && !strstr(res.head, "nginx"), "header removed");
	ASSERT_EQ(res.msg->status, 302, "status kept");
	ASSERT_STREQ(res.rule_name, "loc", "rule");
	xadc_snapshot_put(s);
}

TEST(validation_errors_and_warnings)
{
	struct xadc_snapshot *s;
	json_t *err = NULL, *warn = NULL;
	const char *e;

	s = compile("\"http_request_policy\": {\"rules\": [{\"name\": \"a\", \"index\": 1},"
		    "{\"name\": \"b\", \"index\": 2}, {\"name\": \"c\", \"index\": 3,"
		    " \"match\": {\"path\": {\"match_criteria\": \"BEGINS_WITH\", \"string_group_refs\": [\"nope\"]}}}]}",
		    NULL, &warn, &err);
	ASSERT_NULL(s, "missing group refused");
	e = json_string_value(json_object_get(err, "error"));
	ASSERT_TRUE(e && strstr(e, "httppolicyset[ps].http_request_policy.rules[2].match.path."
				   "string_group_refs[0]: no stringgroup named \"nope\""), e ? e : "");
	json_decref(err);
	err = NULL;
	s = compile("\"http_security_policy\": {\"rules\": [{\"name\": \"re\", \"index\": 1,"
		    " \"match\": {\"path\": {\"match_criteria\": \"REGEX_MATCH\", \"match_str\": [\"/ok\", \"(bad\"]}},"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_ALLOW\"}}]}", NULL, NULL, &err);
	ASSERT_NULL(s, "bad regex refused");
	e = json_string_value(json_object_get(err, "error"));
	ASSERT_TRUE(e && strstr(e, "rules[0].match.path.match_str[1]"), e ? e : "");
	json_decref(err);
	err = NULL;
	s = compile("\"http_security_policy\": {\"rules\": [{\"name\": \"all\", \"index\": 1,"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_ALLOW\"}}," DENY("x", "{\"path\": {\"match_criteria\": \"CONTAINS\", \"match_str\": [\"a\"]}}") "]}",
		    NULL, &warn, &err);
	ASSERT_NULL(s, "duplicate index refused");
	json_decref(err);
	err = NULL;
	s = compile("\"http_security_policy\": {\"rules\": [{\"name\": \"all\", \"index\": 0,"
		    " \"action\": {\"action\": \"HTTP_SECURITY_ACTION_ALLOW\"}}," DENY("x", "{\"path\": {\"match_criteria\": \"CONTAINS\", \"match_str\": [\"a\"]}}") "]}",
		    NULL, &warn, &err);
	ASSERT_NOT_NULL(s, "compiles");
	{
		bool found = false;
		json_t *w;
		size_t i;

		json_array_foreach(warn, i, w)
			found |= strstr(json_string_value(w), "shadowed by rule \"all\"") != NULL;
		ASSERT_TRUE(found, "shadowing warning");
	}
	json_decref(warn);
	xadc_snapshot_put(s);
}

TEST(log_fragment)
{
	struct xadc_hp_req rq;
	char out[1200];
	json_error_t je;
	json_t *j;
	char wrapped[1300];
	size_t n;

	addrs("198.18.0.1");
	view(&rq, "GET /a\"b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
	n = xadc_hp_log_fragment(&rq, true, out, sizeof(out));
	ASSERT_GT(n, 0, "fragment");
	snprintf(wrapped, sizeof(wrapped), "{\"x\":1%s}", out);
	j = json_loads(wrapped, 0, &je);
	ASSERT_NOT_NULL(j, "valid JSON");
	ASSERT_TRUE(json_is_true(json_object_get(j, "significant")), "significant");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(json_object_get(j, "request"), "headers"), "X-A")),
		     "1, 2", "repeated header joined");
	json_decref(j);
}

TEST_MAIN()
