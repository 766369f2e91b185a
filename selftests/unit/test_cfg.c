// SPDX-License-Identifier: GPL-2.0
/*
 * test_cfg.c - the configuration store and compiler: examples, validation
 * errors with their paths, CRUD, refs, persistence, runtime objects and
 * snapshot life cycle.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_progs.h"
#include "xadc/cfg.h"
#include "xadc/snapshot.h"

/* Examples live in the source tree; tests run from the repo root (make
 * unit), or anywhere when the binary was built from an absolute path. */
static json_t *load_example(const char *name)
{
	char path[1024], *slash;
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof(path), "examples/%s", name);
	doc = json_load_file(path, 0, &jerr);
	if (doc)
		return doc;
	snprintf(path, sizeof(path), "%s", __FILE__);
	slash = strstr(path, "selftests/unit/");
	if (!slash)
		return NULL;
	snprintf(slash, sizeof(path) - (slash - path), "examples/%s", name);
	return json_load_file(path, 0, &jerr);
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		printf("# bad test JSON: %s: %s\n", jerr.text, text);
	return j;
}

static const char *err_text(json_t *err)
{
	return json_string_value(json_object_get(err, "error"));
}

static bool has_warning(json_t *warnings, const char *needle)
{
	json_t *w;
	size_t i;

	json_array_foreach(warnings, i, w) if (strstr(json_string_value(w), needle)) return true;
	return false;
}

static char *addr_str(const union xadc_sockaddr *a)
{
	static char buf[80];

	return xadc_sockaddr_str(a, buf, sizeof(buf));
}

TEST(example_basic)
{
	json_t *doc = load_example("basic.json"), *w = NULL, *err = NULL;
	struct xadc_snapshot *s;
	struct xadc_pool *p;

	if (!ASSERT_NOT_NULL(doc, "load basic.json"))
		return;
	s = xadc_cfg_compile(doc, &w, &err);
	if (!ASSERT_NOT_NULL(s, "compile")) {
		printf("# %s\n", err_text(err));
		goto out;
	}
	ASSERT_EQ(json_array_size(w), 0, "no warnings");
	ASSERT_EQ(s->nvs, 1, "one vs");
	ASSERT_EQ(s->nlisteners, 1, "one listener");
	ASSERT_STREQ(addr_str(&s->listeners[0].addr), "198.18.0.10:80", "listener");
	ASSERT_TRUE(s->listeners[0].vs == &s->vs[0], "listener's vs");
	p = xadc_snapshot_find_pool(s, "web-pool");
	if (!ASSERT_NOT_NULL(p, "pool"))
		goto out;
	ASSERT_TRUE(s->vs[0].pool == p, "vs pool");
	ASSERT_TRUE(xadc_snapshot_find_vs(s, "web-vs") == &s->vs[0], "find vs");
	ASSERT_EQ(s->vs[0].app, XADC_APP_HTTP, "System-HTTP is HTTP");
	ASSERT_EQ(s->vs[0].http.client_header_timeout_ms, 10000, "default header timeout");
	ASSERT_EQ(s->vs[0].http.max_header_size, 12 * 1024, "default header size");
	ASSERT_EQ(s->vs[0].http.max_uri, 8192, "default max uri");
	ASSERT_TRUE(s->vs[0].http.xff_enabled, "xff default on");
	ASSERT_STREQ(s->vs[0].http.xff_name, "X-Forwarded-For", "xff name");
	ASSERT_EQ(p->nservers, 2, "two servers");
	ASSERT_STREQ(addr_str(&p->servers[0].addr), "198.18.1.2:8080", "server 0");
	ASSERT_STREQ(addr_str(&p->servers[1].addr), "198.18.1.3:8080", "server 1");
	ASSERT_STREQ(p->servers[1].rt->key, "server:web-pool/198.18.1.3:8080", "rt key");
	ASSERT_EQ(atomic_load(&p->servers[0].rt->up), 0, "monitored server starts down");
	ASSERT_TRUE(p->servers[0].pool == p, "server back pointer");
	ASSERT_EQ(p->lb, XADC_LB_ROUND_ROBIN, "round robin");
	ASSERT_EQ(p->connect_timeout_ms, 2000, "connect timeout default");
	ASSERT_EQ(p->server_timeout_ms, 30000, "server timeout default");
	ASSERT_EQ(p->max_retries, 2, "retries default");
	ASSERT_EQ(p->persist, XADC_PERSIST_NONE, "no persistence");
	if (ASSERT_EQ(p->nhms, 1, "one monitor")) {
		ASSERT_STREQ(p->hms[0]->name, "web-hm", "monitor name");
		ASSERT_EQ(p->hms[0]->type, XADC_HM_HTTP, "http monitor");
		ASSERT_EQ(p->hms[0]->send_interval_ms, 5000, "interval");
		ASSERT_EQ(p->hms[0]->receive_timeout_ms, 2000, "timeout");
		ASSERT_EQ(p->hms[0]->failed_checks, 3, "failed checks");
		ASSERT_EQ(p->hms[0]->http_codes, 1 << 2, "2xx only");
		ASSERT_STREQ(p->hms[0]->http_request, "GET /health HTTP/1.0", "request");
	}
	ASSERT_TRUE(p->rt && s->vs[0].rt, "pool and vs rt");
	ASSERT_GT(s->generation, 0, "generation set");
out:
	xadc_snapshot_put(s);
	json_decref(w);
	json_decref(err);
	json_decref(doc);
}

TEST(example_avi_export)
{
	json_t *doc = load_example("avi-export.json"), *w = NULL, *err = NULL;
	struct xadc_snapshot *s;
	struct xadc_pool *p;
	struct xadc_vs *vs;

	if (!ASSERT_NOT_NULL(doc, "load avi-export.json"))
		return;
	s = xadc_cfg_compile(doc, &w, &err);
	if (!ASSERT_NOT_NULL(s, "compile")) {
		printf("# %s\n", err_text(err));
		goto out;
	}
	ASSERT_TRUE(has_warning(w, "META"), "META warned");
	ASSERT_TRUE(has_warning(w, "SSLProfile: unsupported kind"), "unknown kind warned");
	vs = xadc_snapshot_find_vs(s, "shop-vs");
	p = xadc_snapshot_find_pool(s, "shop-pool");
	if (!ASSERT_NOT_NULL(vs, "vs") || !ASSERT_NOT_NULL(p, "pool"))
		goto out;
	ASSERT_EQ(s->nlisteners, 4, "80 + range 8000-8001 + vsvip's 80");
	ASSERT_STREQ(addr_str(&s->listeners[2].addr), "198.18.0.20:8001", "range end");
	ASSERT_STREQ(addr_str(&s->listeners[3].addr), "198.18.0.21:80", "VIP from vsvip_ref");
	ASSERT_TRUE(s->listeners[3].vs == xadc_snapshot_find_vs(s, "shop-api-vs"), "vsvip vs");
	ASSERT_EQ(s->listeners[3].vs->app, XADC_APP_L4, "built-in L4 profile");
	ASSERT_TRUE(s->listeners[3].vs->pool == p, "pool by uuid#name");
	ASSERT_TRUE(vs->pool == p, "pool by ?tenant=&name=");
	ASSERT_STREQ(vs->http.xff_name, "X-Real-Client", "profile by ref");
	ASSERT_EQ(vs->http.keepalive_timeout_ms, 60000, "keepalive");
	ASSERT_EQ(vs->http.max_header_size, 16 * 1024, "header size KB");
	ASSERT_TRUE(vs->http.xfp_enabled, "xfp");
	ASSERT_EQ(p->lb, XADC_LB_CONSISTENT_HASH, "consistent hash");
	ASSERT_EQ(p->hash_key, XADC_HASH_SOURCE_IP, "source ip");
	ASSERT_NOT_NULL(p->chash, "hash table built");
	ASSERT_EQ(p->persist, XADC_PERSIST_CLIENT_IP, "built-in persistence");
	ASSERT_EQ(p->persist_timeout_s, 300, "5 minutes");
	if (ASSERT_EQ(p->nhms, 2, "two monitors")) {
		ASSERT_STREQ(p->hms[0]->name, "shop-hm", "by uuid#name");
		ASSERT_EQ(p->hms[0]->monitor_port, 8081, "monitor port");
		ASSERT_STREQ(p->hms[1]->name, "System-TCP", "built-in monitor");
		ASSERT_EQ(p->hms[1]->type, XADC_HM_TCP, "tcp");
	}
	ASSERT_STREQ(p->servers[0].name, "shop-1", "hostname as name");
	ASSERT_EQ(p->servers[0].ratio, 2, "ratio");
	ASSERT_STREQ(addr_str(&p->servers[1].addr), "198.18.1.3:8080", "default port");
out:
	xadc_snapshot_put(s);
	json_decref(w);
	json_decref(err);
	json_decref(doc);
}

/* A small valid document the error cases start from. */
#define BASE_HM	  "{\"name\": \"h\", \"type\": \"HEALTH_MONITOR_HTTP\"}"
#define BASE_POOL "{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\"}]}"
#define BASE_VS                                                                                    \
	"{\"name\": \"v\", \"vip\": [\"198.18.0.10\"], \"services\": [80], \"pool_ref\": \"p\"}"

struct bad_case {
	const char *doc;
	const char *error; /* expected "error" text, prefix match */
};

static const struct bad_case bad_cases[] = {
    {"{\"pool\": [" BASE_POOL "], \"virtualservice\": [{\"name\": \"web-vs\", \"vip\": "
     "[\"198.18.0.10\"], \"services\": [80], \"pool_ref\": \"/api/pool?name=web2\"}]}",
     "virtualservice[web-vs].pool_ref: no pool named \"web2\""},
    {"{\"virtualservice\": [{\"name\": \"v\", \"vip\": [\"198.18.0.10\"], \"services\": "
     "[{\"port\": 443, \"enable_ssl\": true}]}]}",
     "virtualservice[v].services[0].enable_ssl: TLS not supported yet"},
    {"{\"virtualservice\": [{\"name\": \"a\", \"vip\": [\"198.18.0.10\"], \"services\": [80]},"
     "{\"name\": \"b\", \"vip\": [{\"ip_address\": \"198.18.0.10\"}], \"services\": [{\"port\": "
     "80}]}]}",
     "virtualservice[b].services[0]: 198.18.0.10:80 is already used by virtualservice[a]"},
    {"{\"virtualservice\": [{\"name\": \"v\", \"vip\": [{\"ip_address\": {\"addr\": \"fd00::1\","
     " \"type\": \"V4\"}}], \"services\": [80]}]}",
     "virtualservice[v].vip[0].ip_address.addr: \"fd00::1\" is not an IPv4 address (type V4)"},
    {"{\"virtualservice\": [{\"name\": \"v\", \"services\": [80]}]}",
     "virtualservice[v].vip: required"},
    {"{\"virtualservice\": [{\"name\": \"v\", \"vsvip_ref\": \"/api/vsvip?name=x\", "
     "\"services\": [80]}]}",
     "virtualservice[v].vsvip_ref: no vsvip named \"x\""},
    {"{\"vsvip\": [{\"name\": \"x\", \"vip\": [{\"ip_address\": {\"addr\": \"bad\"}}]}]}",
     "vsvip[x].vip[0].ip_address.addr: \"bad\" is not a valid"},
    {"{\"virtualservice\": [{\"name\": \"v\", \"vip\": [\"198.18.0.10\"], \"services\": [0]}]}",
     "virtualservice[v].services[0]: port must be between 1 and 65535"},
    {"{\"virtualservice\": [{\"name\": \"v\", \"enabled\": \"yes\", \"vip\": [\"198.18.0.10\"],"
     " \"services\": [80]}]}",
     "virtualservice[v].enabled: expected true or false"},
    {"{\"healthmonitor\": [" BASE_HM "], \"virtualservice\": [{\"name\": \"v\", \"vip\": "
     "[\"198.18.0.10\"], \"services\": [80], \"pool_ref\": \"/api/healthmonitor?name=h\"}]}",
     "virtualservice[v].pool_ref: \"/api/healthmonitor?name=h\" refers to a healthmonitor, "
     "expected a pool"},
    {"{\"pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\", \"ratio\": 21}]}]}",
     "pool[p].servers[0].ratio: must be between 1 and 20 (got 21)"},
    {"{\"pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\", \"port\": \"80\"}]}]}",
     "pool[p].servers[0].port: expected an integer"},
    {"{\"pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\"}, {\"ip\": "
     "{\"addr\": \"198.18.1.300\", \"type\": \"V4\"}}]}]}",
     "pool[p].servers[1].ip.addr: \"198.18.1.300\" is not a valid IPv4 or IPv6 address"},
    {"{\"pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\", \"port\": 80},"
     " {\"ip\": \"198.18.1.2\"}]}]}",
     "pool[p].servers[1]: duplicate server 198.18.1.2:80 (same as servers[0])"},
    {"{\"pool\": [{\"name\": \"p\", \"servers\": [{\"port\": 80}]}]}",
     "pool[p].servers[0].ip: required"},
    {"{\"pool\": [{\"name\": \"p\", \"lb_algorithm\": \"LB_ALGORITHM_RANDOM\"}]}",
     "pool[p].lb_algorithm: LB_ALGORITHM_RANDOM is not supported (supported: "
     "LB_ALGORITHM_LEAST_CONNECTIONS, LB_ALGORITHM_ROUND_ROBIN, LB_ALGORITHM_CONSISTENT_HASH)"},
    {"{\"pool\": [{\"name\": \"p\", \"lb_algorithm\": \"LB_ALGORITHM_CONSISTENT_HASH\","
     " \"lb_algorithm_hash\": \"LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER\"}]}",
     "pool[p].lb_algorithm_consistent_hash_hdr: required with "
     "LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER"},
    {"{\"pool\": [{\"name\": \"p\", \"health_monitor_refs\": [\"/api/healthmonitor?name=nope\"]}]}",
     "pool[p].health_monitor_refs[0]: no healthmonitor named \"nope\""},
    {"{\"pool\": [{\"name\": \"p\", \"max_retries\": 9}]}",
     "pool[p].max_retries: must be between 0 and 3 (got 9)"},
    {"{\"pool\": [{\"servers\": []}]}", "pool[0].name: required"},
    {"{\"pool\": [" BASE_POOL ", " BASE_POOL "]}",
     "pool[p]: duplicate name: another pool is named \"p\""},
    {"{\"healthmonitor\": [{\"name\": \"h\", \"type\": \"HEALTH_MONITOR_PING\"}]}",
     "healthmonitor[h].type: HEALTH_MONITOR_PING is not supported"},
    {"{\"healthmonitor\": [{\"name\": \"h\", \"type\": \"HEALTH_MONITOR_TCP\", "
     "\"send_interval\": 5, \"receive_timeout\": 5}]}",
     "healthmonitor[h].receive_timeout: must be less than send_interval (5 >= 5)"},
    {"{\"healthmonitor\": [{\"name\": \"h\", \"type\": \"HEALTH_MONITOR_TCP\", "
     "\"successful_checks\": 0}]}",
     "healthmonitor[h].successful_checks: must be between 1 and 50 (got 0)"},
    {"{\"healthmonitor\": [{\"name\": \"h\", \"type\": \"HEALTH_MONITOR_HTTP\", \"http_monitor\":"
     " {\"http_response_code\": [\"HTTP_2XX\", \"HTTP_6XX\"]}}]}",
     "healthmonitor[h].http_monitor.http_response_code[1]: unknown value \"HTTP_6XX\""},
    {"{\"healthmonitor\": [{\"name\": \"h\"}]}", "healthmonitor[h].type: required"},
    {"{\"applicationprofile\": [{\"name\": \"a\", \"type\": \"APPLICATION_PROFILE_TYPE_DNS\"}]}",
     "applicationprofile[a].type: APPLICATION_PROFILE_TYPE_DNS is not supported"},
    {"{\"applicationprofile\": [{\"name\": \"a\", \"http_profile\": {\"keepalive_timeout\": 0}}]}",
     "applicationprofile[a].http_profile.keepalive_timeout: must be between 1 and 3600000"},
    {"{\"applicationpersistenceprofile\": [{\"name\": \"pp\", \"persistence_type\": "
     "\"PERSISTENCE_TYPE_TLS\"}]}",
     "applicationpersistenceprofile[pp].persistence_type: PERSISTENCE_TYPE_TLS is not supported"},
    {"{\"applicationpersistenceprofile\": [{\"name\": \"pp\", \"persistence_type\": "
     "\"PERSISTENCE_TYPE_HTTP_COOKIE\", \"http_cookie_persistence_profile\": {\"cookie_name\": "
     "\"a b\"}}]}",
     "applicationpersistenceprofile[pp].http_cookie_persistence_profile.cookie_name: must be"},
    {"{\"pool\": {\"name\": \"p\"}}", "pool: expected an array of objects"},
    {"[1, 2]", "expected a JSON object"},
};

TEST(validation_errors)
{
	json_t *doc, *err, *w;
	struct xadc_snapshot *s;
	const char *got;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		err = w = NULL;
		doc = parse(bad_cases[i].doc);
		if (!ASSERT_NOT_NULL(doc, "test doc parses"))
			continue;
		s = xadc_cfg_compile(doc, &w, &err);
		ASSERT_NULL(s, bad_cases[i].error);
		xadc_snapshot_put(s);
		got = err_text(err);
		if (!ASSERT_TRUE(got &&
				     !strncmp(got, bad_cases[i].error, strlen(bad_cases[i].error)),
				 "error text"))
			printf("#   want: %s\n#   got:  %s\n", bad_cases[i].error,
			       got ? got : "(none)");
		/* path and reason are there for clients that point at a field */
		ASSERT_TRUE(json_is_string(json_object_get(err, "path")) &&
				json_is_string(json_object_get(err, "reason")),
			    "path and reason");
		json_decref(err);
		json_decref(w);
		json_decref(doc);
	}
}

TEST(shorthands_and_defaults)
{
	json_t *doc =
	    parse("{\"pool\": [{\"name\": \"p\", \"default_server_port\": 81, \"servers\": "
		  "[{\"ip\": \"fd00::2\"}, {\"ip\": \"198.18.1.9\", \"port\": 90, "
		  "\"enabled\": false}]}], \"applicationprofile\": [{\"name\": \"l4\", "
		  "\"type\": \"APPLICATION_PROFILE_TYPE_L4\"}], \"virtualservice\": "
		  "[{\"name\": \"v\", \"vip\": [\"198.18.0.10\", \"fd00::10\"], "
		  "\"services\": [80, 81], \"pool_ref\": \"p\", "
		  "\"application_profile_ref\": \"/api/applicationprofile?name=l4\"}, "
		  "{\"name\": \"off\", \"enabled\": false, \"vip\": \"198.18.0.11\", "
		  "\"services\": [80]}]}");
	json_t *err = NULL;
	struct xadc_snapshot *s = xadc_cfg_compile(doc, NULL, &err);
	struct xadc_pool *p;

	if (!ASSERT_NOT_NULL(s, "compile")) {
		printf("# %s\n", err_text(err));
		goto out;
	}
	ASSERT_EQ(s->nlisteners, 4, "2 VIPs x 2 ports, disabled VS none");
	ASSERT_STREQ(addr_str(&s->listeners[1].addr), "[fd00::10]:80", "v6 listener");
	ASSERT_EQ(s->vs[0].app, XADC_APP_L4, "L4 profile");
	ASSERT_FALSE(s->vs[1].enabled, "disabled vs");
	p = &s->pools[0];
	ASSERT_STREQ(addr_str(&p->servers[0].addr), "[fd00::2]:81", "default port on v6");
	ASSERT_FALSE(p->servers[1].enabled, "disabled server");
	ASSERT_EQ(p->lb, XADC_LB_LEAST_CONNECTIONS, "Avi default algorithm");
	ASSERT_EQ(atomic_load(&p->servers[0].rt->up), 1, "unmonitored server starts up");
out:
	xadc_snapshot_put(s);
	json_decref(err);
	json_decref(doc);
}

TEST(refs_all_forms)
{
	static const char *const forms[] = {
	    "/api/pool?name=p",
	    "/api/pool/pool-1234",
	    "https://ctrl.example/api/pool/pool-1234#p",
	    "https://ctrl.example/api/pool/pool-stale#p", /* export uuid, our name */
	    "/api/pool/?tenant=admin&name=p",
	    "p",
	};
	char text[1024];
	json_t *doc, *err;
	struct xadc_snapshot *s;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		snprintf(text, sizeof(text),
			 "{\"pool\": [{\"name\": \"other\"}, {\"name\": \"p\", \"uuid\": "
			 "\"pool-1234\"}],"
			 " \"virtualservice\": [{\"name\": \"v\", \"vip\": [\"198.18.0.10\"], "
			 "\"services\": [80], \"pool_ref\": \"%s\"}]}",
			 forms[i]);
		doc = parse(text);
		err = NULL;
		s = xadc_cfg_compile(doc, NULL, &err);
		if (ASSERT_NOT_NULL(s, forms[i]))
			ASSERT_TRUE(s->vs[0].pool == &s->pools[1], forms[i]);
		else
			printf("# %s\n", err_text(err));
		xadc_snapshot_put(s);
		json_decref(err);
		json_decref(doc);
	}
	doc = parse("{\"pool\": [{\"name\": \"p\"}], \"virtualservice\": [{\"name\": \"v\", "
		    "\"vip\": [\"198.18.0.10\"], \"services\": [80], \"pool_ref\": "
		    "\"/api/pool/pool-nope\"}]}");
	err = NULL;
	s = xadc_cfg_compile(doc, NULL, &err);
	ASSERT_NULL(s, "unknown uuid");
	ASSERT_STREQ(err_text(err), "virtualservice[v].pool_ref: no pool with uuid \"pool-nope\"",
		     "uuid error");
	xadc_snapshot_put(s);
	json_decref(err);
	json_decref(doc);
}

/* Run a test with a fresh store on a temp state file. */
static char state_dir[256], state_file[300];

static int store_setup(bool persist)
{
	json_t *err = NULL;
	int ret;

	snprintf(state_dir, sizeof(state_dir), "/tmp/xadc-test-cfg-XXXXXX");
	if (!mkdtemp(state_dir))
		return -errno;
	snprintf(state_file, sizeof(state_file), "%s/state.json", state_dir);
	ret = xadc_cfg_init(persist ? state_file : NULL, NULL, NULL, &err);
	json_decref(err);
	return ret;
}

static void store_teardown(void)
{
	char cmd[512];

	xadc_cfg_fini();
	xadc_snapshot_publish(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	if (system(cmd))
		printf("# cleanup of %s failed\n", state_dir);
}

static int apply_text(const char *text, json_t **err)
{
	json_t *doc = parse(text), *res = NULL;
	int ret;

	*err = NULL;
	ret = xadc_cfg_apply(doc, &res, err);
	json_decref(res);
	json_decref(doc);
	return ret;
}

TEST(rejected_change_changes_nothing)
{
	json_t *doc = load_example("basic.json"), *res = NULL, *err = NULL, *before, *after, *o;
	struct xadc_snapshot *cur;
	uint64_t gen;

	if (!ASSERT_OK(store_setup(true), "setup"))
		return;
	ASSERT_OK(xadc_cfg_apply(doc, &res, &err), "apply basic");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "counts"), "pool")), 1,
		  "counts");
	json_decref(res);
	before = xadc_cfg_export();
	gen = atomic_load(&xadc_snapshot_generation);

	ASSERT_EQ(
	    apply_text("{\"pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"nope\"}]}]}", &err),
	    -EINVAL, "bad apply");
	json_decref(err);
	o = parse("{\"name\": \"x\", \"servers\": [{\"ip\": \"198.18.1.2\", \"ratio\": 0}]}");
	err = NULL;
	ASSERT_EQ(xadc_cfg_create("pool", o, NULL, &err), -EINVAL, "bad create");
	ASSERT_STREQ(err_text(err), "pool[x].servers[0].ratio: must be between 1 and 20 (got 0)",
		     "create error path");
	json_decref(err);
	json_decref(o);
	o = parse("{\"lb_algorithm\": \"LB_ALGORITHM_TOPOLOGY\"}");
	err = NULL;
	ASSERT_EQ(xadc_cfg_patch("pool", "web-pool", o, NULL, &err), -EINVAL, "bad patch");
	json_decref(err);
	json_decref(o);
	o = parse("{\"name\": \"web-vs\", \"vip\": [\"198.18.0.10\"], \"services\": [80]}");
	err = NULL;
	ASSERT_EQ(xadc_cfg_create("virtualservice", o, NULL, &err), -EEXIST, "duplicate create");
	json_decref(err);
	json_decref(o);

	after = xadc_cfg_export();
	ASSERT_TRUE(json_equal(before, after), "export before == after");
	ASSERT_EQ(atomic_load(&xadc_snapshot_generation), gen, "nothing published");
	cur = xadc_snapshot_current();
	if (ASSERT_NOT_NULL(cur, "current"))
		ASSERT_NOT_NULL(xadc_snapshot_find_pool(cur, "web-pool"), "still serving web-pool");
	xadc_snapshot_put(cur);
	json_decref(before);
	json_decref(after);
	json_decref(doc);
	store_teardown();
}

TEST(crud_sequence)
{
	json_t *o, *res = NULL, *err = NULL, *got, *list;
	char uuid[128];
	struct xadc_snapshot *cur;

	if (!ASSERT_OK(store_setup(true), "setup"))
		return;
	o = parse("{\"name\": \"hm\", \"type\": \"HEALTH_MONITOR_TCP\"}");
	ASSERT_OK(xadc_cfg_create("healthmonitor", o, NULL, &err), "create hm");
	json_decref(o);
	o = parse("{\"name\": \"web\", \"health_monitor_refs\": [\"/api/healthmonitor?name=hm\"],"
		  " \"servers\": [{\"ip\": \"198.18.1.2\", \"port\": 8080}]}");
	ASSERT_OK(xadc_cfg_create("pool", o, &res, &err), "create pool");
	snprintf(uuid, sizeof(uuid), "%s", json_string_value(json_object_get(res, "uuid")) ?: "");
	ASSERT_TRUE(!strncmp(uuid, "pool-", 5) && strlen(uuid) == 41, "uuid pool-<uuid4>");
	json_decref(res);
	res = NULL;
	ASSERT_EQ(xadc_cfg_create("pool", o, NULL, &err), -EEXIST, "duplicate name");
	json_decref(err);
	err = NULL;
	json_decref(o);

	o = parse("{\"name\": \"vs\", \"vip\": [\"198.18.0.10\"], \"services\": [80], "
		  "\"pool_ref\": \"web\"}");
	ASSERT_OK(xadc_cfg_create("VirtualService", o, NULL, &err), "create vs by alias");
	json_decref(o);

	got = xadc_cfg_get_one("pool", uuid, &err);
	ASSERT_STREQ(json_string_value(json_object_get(got, "name")), "web", "get by uuid");
	json_decref(got);

	/* PUT keeps the uuid even when the body has none */
	o = parse("{\"name\": \"web\", \"servers\": [{\"ip\": \"198.18.1.2\", \"port\": 8080},"
		  " {\"ip\": \"198.18.1.3\", \"port\": 8080}]}");
	ASSERT_OK(xadc_cfg_replace("pool", "web", o, NULL, &err), "replace");
	json_decref(o);
	got = xadc_cfg_get_one("pool", "web", &err);
	ASSERT_STREQ(json_string_value(json_object_get(got, "uuid")), uuid, "uuid kept");
	ASSERT_EQ(json_array_size(json_object_get(got, "servers")), 2, "replaced");
	ASSERT_NULL(json_object_get(got, "health_monitor_refs"), "PUT drops omitted fields");
	json_decref(got);

	/* PATCH: merge patch, null deletes */
	o = parse("{\"lb_algorithm\": \"LB_ALGORITHM_ROUND_ROBIN\", \"servers\": null}");
	ASSERT_OK(xadc_cfg_patch("pool", uuid, o, &res, &err), "patch");
	ASSERT_NULL(json_object_get(res, "servers"), "servers removed");
	ASSERT_STREQ(json_string_value(json_object_get(res, "lb_algorithm")),
		     "LB_ALGORITHM_ROUND_ROBIN", "field added");
	json_decref(res);
	res = NULL;
	json_decref(o);
	cur = xadc_snapshot_current();
	if (ASSERT_NOT_NULL(cur, "published")) {
		struct xadc_pool *p = xadc_snapshot_find_pool(cur, "web");

		ASSERT_TRUE(p && p->lb == XADC_LB_ROUND_ROBIN && p->nservers == 0,
			    "snapshot follows patch");
	}
	xadc_snapshot_put(cur);

	list = xadc_cfg_list("healthmonitor", NULL, &err);
	ASSERT_EQ(json_integer_value(json_object_get(list, "count")), 3, "2 built-ins + hm");
	json_decref(list);
	list = xadc_cfg_list("healthmonitor", "System-TCP", &err);
	ASSERT_TRUE(json_is_true(json_object_get(
			json_array_get(json_object_get(list, "results"), 0), "builtin")),
		    "built-in marked");
	json_decref(list);

	o = parse("{\"send_interval\": 30}");
	ASSERT_EQ(xadc_cfg_patch("healthmonitor", "System-TCP", o, NULL, &err), -EPERM,
		  "built-in read-only");
	json_decref(err);
	err = NULL;
	json_decref(o);
	ASSERT_EQ(xadc_cfg_delete("healthmonitor", "System-HTTP", &err), -EPERM, "no delete");
	json_decref(err);
	err = NULL;
	ASSERT_EQ(xadc_cfg_delete("pool", "nope", &err), -ENOENT, "missing");
	json_decref(err);
	err = NULL;
	got = xadc_cfg_get_one("pool", "nope", &err);
	ASSERT_NULL(got, "get missing");
	ASSERT_EQ(json_integer_value(json_object_get(err, "errno")), -ENOENT, "errno in err");
	json_decref(err);
	err = NULL;
	ASSERT_NULL(xadc_cfg_list("widget", NULL, &err), "unknown kind");
	json_decref(err);
	err = NULL;

	ASSERT_OK(xadc_cfg_delete("virtualservice", "vs", &err), "delete vs");
	ASSERT_OK(xadc_cfg_delete("pool", uuid, &err), "delete pool by uuid");
	ASSERT_OK(xadc_cfg_delete("healthmonitor", "hm", &err), "delete hm");
	got = xadc_cfg_export();
	ASSERT_EQ(json_array_size(json_object_get(got, "pool")) +
		      json_array_size(json_object_get(got, "virtualservice")) +
		      json_array_size(json_object_get(got, "healthmonitor")),
		  0, "empty again");
	json_decref(got);
	store_teardown();
}

TEST(delete_referenced)
{
	json_t *doc = load_example("basic.json"), *err = NULL;

	if (!ASSERT_OK(store_setup(false), "setup"))
		return;
	ASSERT_OK(xadc_cfg_apply(doc, NULL, &err), "apply");
	ASSERT_EQ(xadc_cfg_delete("pool", "web-pool", &err), -EBUSY, "pool in use");
	ASSERT_STREQ(err_text(err),
		     "pool[web-pool]: still referenced by virtualservice[web-vs].pool_ref",
		     "names the referrer");
	json_decref(err);
	err = NULL;
	ASSERT_EQ(xadc_cfg_delete("healthmonitor", "web-hm", &err), -EBUSY, "monitor in use");
	ASSERT_STREQ(
	    err_text(err),
	    "healthmonitor[web-hm]: still referenced by pool[web-pool].health_monitor_refs[0]",
	    "names the referrer");
	json_decref(err);
	json_decref(doc);
	store_teardown();
}

static bool state_dir_clean(void)
{
	struct dirent *de;
	DIR *d = opendir(state_dir);
	int n = 0;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n += strcmp(de->d_name, "state.json") ? 100 : 1;
	closedir(d);
	return n == 1;
}

TEST(persistence_round_trip)
{
	json_t *doc = load_example("avi-export.json"), *err = NULL, *a, *b, *o;
	FILE *f;

	if (!ASSERT_OK(store_setup(true), "setup"))
		return;
	ASSERT_OK(xadc_cfg_apply(doc, NULL, &err), "apply export");
	o = parse("{\"name\": \"extra\", \"servers\": [{\"ip\": \"198.18.1.9\"}]}");
	ASSERT_OK(xadc_cfg_create("pool", o, NULL, &err), "create");
	json_decref(o);
	ASSERT_TRUE(state_dir_clean(), "state file and no temp file left");
	a = xadc_cfg_export();
	xadc_cfg_fini();

	ASSERT_OK(xadc_cfg_init(state_file, NULL, NULL, &err), "init from state");
	b = xadc_cfg_export();
	ASSERT_TRUE(json_equal(a, b), "same export after restart");
	ASSERT_STREQ(json_string_value(
			 json_object_get(json_array_get(json_object_get(b, "pool"), 0), "uuid")),
		     "pool-9b6e3c1d-2f4a-4e8b-a7c5-1d0e9f8a7b6c", "export uuid kept");
	json_decref(a);
	json_decref(b);
	xadc_cfg_fini();

	/* a corrupt state file stops the start instead of an empty config */
	f = fopen(state_file, "w");
	if (ASSERT_NOT_NULL(f, "open state")) {
		fputs("{\"pool\": [", f);
		fclose(f);
	}
	err = NULL;
	ASSERT_EQ(xadc_cfg_init(state_file, NULL, NULL, &err), -EINVAL, "corrupt state");
	ASSERT_TRUE(err_text(err) && strstr(err_text(err), "state file"), "says state file");
	json_decref(err);
	json_decref(doc);
	store_teardown();
}

TEST(init_from_config_file)
{
	char path[1024];
	json_t *err = NULL, *a;
	FILE *f;

	if (!ASSERT_OK(store_setup(true), "setup"))
		return;
	snprintf(path, sizeof(path), "%s/in.json", state_dir);
	f = fopen(path, "w");
	if (!ASSERT_NOT_NULL(f, "write config"))
		goto out;
	fputs("{\"Pool\": [{\"name\": \"p\", \"servers\": [{\"ip\": \"198.18.1.2\"}]}]}", f);
	fclose(f);
	ASSERT_OK(xadc_cfg_init(state_file, path, NULL, &err), "init with config");
	xadc_cfg_fini();
	ASSERT_OK(xadc_cfg_init(state_file, NULL, NULL, &err), "restart from state");
	a = xadc_cfg_get_one("pool", "p", &err);
	ASSERT_NOT_NULL(a, "config became the state");
	json_decref(a);
	xadc_cfg_fini();
	ASSERT_EQ(xadc_cfg_init(state_file, "/nonexistent/x.json", NULL, &err), -EINVAL,
		  "missing config file");
	json_decref(err);
out:
	store_teardown();
}

TEST(rt_survives_reapply)
{
	json_t *doc = load_example("basic.json"), *doc2, *err = NULL;
	struct xadc_snapshot *s1, *s2, *s3;
	struct xadc_rt *rt;
	struct xadc_counters sum;

	s1 = xadc_cfg_compile(doc, NULL, &err);
	if (!ASSERT_NOT_NULL(s1, "compile 1"))
		goto out;
	rt = s1->pools[0].servers[1].rt;
	rt->ctr[0].requests = 7;
	atomic_store(&rt->up, 1);
	ASSERT_EQ(atomic_load(&rt->refcnt), 1, "one snapshot holds it");

	/* a second server added, the existing ones keep their runtime */
	doc2 = json_deep_copy(doc);
	json_array_append_new(
	    json_object_get(json_array_get(json_object_get(doc2, "pool"), 0), "servers"),
	    json_pack("{s:s, s:i}", "ip", "198.18.1.4", "port", 8080));
	s2 = xadc_cfg_compile(doc2, NULL, &err);
	if (ASSERT_NOT_NULL(s2, "compile 2")) {
		ASSERT_TRUE(s2->pools[0].servers[1].rt == rt, "same rt for same key");
		ASSERT_EQ(atomic_load(&rt->refcnt), 2, "both snapshots hold it");
		ASSERT_EQ(atomic_load(&s2->pools[0].servers[2].rt->up), 0, "new server down");
		ASSERT_GT(s2->generation, s1->generation, "generation increments");
	}
	xadc_snapshot_put(s1);
	if (s2) {
		ASSERT_EQ(atomic_load(&rt->refcnt), 1, "old snapshot released it");
		xadc_rt_sum(rt, &sum);
		ASSERT_EQ(sum.requests, 7, "counters kept");
		ASSERT_EQ(atomic_load(&rt->up), 1, "health kept");
	}
	xadc_snapshot_put(s2);
	/* nothing holds it any more: a new one starts from zero */
	s3 = xadc_cfg_compile(doc, NULL, &err);
	if (ASSERT_NOT_NULL(s3, "compile 3")) {
		xadc_rt_sum(s3->pools[0].servers[1].rt, &sum);
		ASSERT_EQ(sum.requests, 0, "fresh counters");
	}
	xadc_snapshot_put(s3);
	json_decref(doc2);
out:
	json_decref(err);
	json_decref(doc);
}

TEST(snapshot_publish_refcount)
{
	json_t *doc = load_example("basic.json"), *err = NULL;
	struct xadc_snapshot *s1, *s2, *cur;
	struct xadc_rt *vs_rt;

	s1 = xadc_cfg_compile(doc, NULL, &err);
	s2 = xadc_cfg_compile(doc, NULL, &err);
	if (!ASSERT_NOT_NULL(s1, "s1") || !ASSERT_NOT_NULL(s2, "s2"))
		goto out;
	vs_rt = s1->vs[0].rt;
	xadc_snapshot_publish(s1);
	ASSERT_EQ(atomic_load(&xadc_snapshot_generation), s1->generation, "generation published");
	cur = xadc_snapshot_current();
	ASSERT_TRUE(cur == s1, "current");
	ASSERT_EQ(atomic_load(&s1->refcnt), 3, "creator + registry + reader");
	xadc_snapshot_put(s1); /* creator's reference */
	xadc_snapshot_publish(s2);
	ASSERT_EQ(atomic_load(&cur->refcnt), 1, "reader still holds the old one");
	ASSERT_EQ(atomic_load(&vs_rt->refcnt), 2, "old and new hold the vs rt");
	xadc_snapshot_put(cur); /* frees s1 */
	ASSERT_EQ(atomic_load(&vs_rt->refcnt), 1, "freed snapshot released its rt");
	xadc_snapshot_put(s2);
	xadc_snapshot_publish(NULL);
out:
	json_decref(err);
	json_decref(doc);
}

TEST(check_is_dry_run)
{
	json_t *doc = load_example("avi-export.json"), *res = NULL, *err = NULL, *before, *after;

	if (!ASSERT_OK(store_setup(false), "setup"))
		return;
	before = xadc_cfg_export();
	ASSERT_OK(xadc_cfg_check(doc, &res, &err), "check");
	ASSERT_TRUE(has_warning(json_object_get(res, "warnings"), "META"), "warnings returned");
	after = xadc_cfg_export();
	ASSERT_TRUE(json_equal(before, after), "nothing applied");
	json_decref(before);
	json_decref(after);
	json_decref(res);
	json_decref(doc);
	store_teardown();
}

TEST(persist_failure_changes_nothing)
{
	json_t *o = parse("{\"name\": \"p\"}"), *err = NULL, *got;
	uint64_t gen;

	/* a state path whose directory does not exist: writes fail */
	if (!ASSERT_OK(xadc_cfg_init("/nonexistent-xadc-dir/state.json", NULL, NULL, &err), "init"))
		goto out;
	gen = atomic_load(&xadc_snapshot_generation);
	ASSERT_EQ(xadc_cfg_create("pool", o, NULL, &err), -EIO, "create fails with EIO");
	json_decref(err);
	err = NULL;
	got = xadc_cfg_get_one("pool", "p", &err);
	ASSERT_NULL(got, "not stored");
	json_decref(got);
	ASSERT_EQ(atomic_load(&xadc_snapshot_generation), gen, "not published");
out:
	json_decref(err);
	json_decref(o);
	xadc_cfg_fini();
	xadc_snapshot_publish(NULL);
}

TEST(merge_patch_nested)
{
	json_t *o, *err = NULL, *res = NULL;

	if (!ASSERT_OK(store_setup(false), "setup"))
		return;
	o = parse("{\"name\": \"a\", \"http_profile\": {\"keepalive_timeout\": 5000, "
		  "\"xff_enabled\": false}}");
	ASSERT_OK(xadc_cfg_create("applicationprofile", o, NULL, &err), "create");
	json_decref(o);
	o = parse("{\"http_profile\": {\"xff_enabled\": null, \"max_header_count\": 10}}");
	ASSERT_OK(xadc_cfg_patch("applicationprofile", "a", o, &res, &err), "patch");
	json_decref(o);
	o = json_object_get(res, "http_profile");
	ASSERT_EQ(json_integer_value(json_object_get(o, "keepalive_timeout")), 5000, "kept");
	ASSERT_NULL(json_object_get(o, "xff_enabled"), "null removes");
	ASSERT_EQ(json_integer_value(json_object_get(o, "max_header_count")), 10, "added");
	json_decref(res);
	store_teardown();
}

struct reader_arg {
	int iterations;
	int seen_null_after_first; /* current() must never go back to NULL */
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct xadc_snapshot *s;
	bool seen = false;
	int i;

	for (i = 0; i < a->iterations; i++) {
		s = xadc_snapshot_current();
		if (s) {
			seen = true;
			/* touch it: freed memory shows under valgrind/ASan */
			if (s->nvs != 1)
				a->seen_null_after_first++;
			xadc_snapshot_put(s);
		} else if (seen) {
			a->seen_null_after_first++;
		}
	}
	return NULL;
}

TEST(publish_vs_concurrent_readers)
{
	json_t *doc = load_example("basic.json"), *err = NULL;
	struct reader_arg args[2] = {{20000, 0}, {20000, 0}};
	struct xadc_snapshot *keep, *s;
	pthread_t thr[2];
	int i;

	keep = xadc_cfg_compile(doc, NULL, &err);
	if (!ASSERT_NOT_NULL(keep, "compile"))
		goto out;
	xadc_snapshot_publish(keep);
	for (i = 0; i < 2; i++)
		pthread_create(&thr[i], NULL, reader, &args[i]);
	for (i = 0; i < 200; i++) {
		s = xadc_cfg_compile(doc, NULL, &err);
		if (!s)
			break;
		xadc_snapshot_publish(s);
		xadc_snapshot_put(s);
	}
	for (i = 0; i < 2; i++)
		pthread_join(thr[i], NULL);
	ASSERT_EQ(args[0].seen_null_after_first + args[1].seen_null_after_first, 0,
		  "readers always got a live snapshot");
	xadc_snapshot_publish(NULL);
	ASSERT_EQ(atomic_load(&keep->refcnt), 1, "no reference leaked");
	xadc_snapshot_put(keep);
out:
	json_decref(err);
	json_decref(doc);
}

TEST(kind_names)
{
	ASSERT_STREQ(xadc_cfg_kind("VirtualService"), "virtualservice", "alias");
	ASSERT_STREQ(xadc_cfg_kind("applicationpersistenceprofile"),
		     "applicationpersistenceprofile", "canonical");
	ASSERT_NULL(xadc_cfg_kind("SSLProfile"), "unsupported");
}

TEST_MAIN()
