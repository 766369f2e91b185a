// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_compile.c - validate a whole configuration document and compile it
 * into an immutable struct xadc_snapshot.
 *
 * Objects are compiled kind by kind in dependency order (health monitors
 * and profiles, then pools, then virtual services) so that every ref can be
 * turned into a pointer into the same snapshot. The first error stops the
 * compile; it names the object and field ("pool[web].servers[1].port").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"
#include "xadc/lb.h"

#define MS_MAX	       3600000 /* one hour, the ceiling of every timeout */
#define PORT_RANGE_MAX 1024    /* listeners one services[] entry may open */
#define DEFAULT_COOKIE "XADC_PERSIST"
/* The data path remembers at most 4 servers tried for one request
 * (struct xadc_lb_ctx.exclude), so 1 try + 3 retries. */
#define MAX_RETRIES 3

static atomic_ullong compile_generation;

struct app_info {
	enum xadc_app_type app;
	struct xadc_http_profile http;
};

struct persist_info {
	enum xadc_persist_type type;
	char cookie[XADC_NAME_MAX];
	uint32_t timeout_s;
};

struct compile {
	struct cfg_ctx *c;
	struct cfg_index ix;
	struct xadc_snapshot *s;
	struct app_info *apps;	       /* by index in ix.objs[CFG_APP] */
	struct persist_info *persists; /* by index in ix.objs[CFG_PERSIST] */
	json_t *listen_owner;	       /* "ip:port" -> "virtualservice[name]" */
	unsigned listen_alloc;
};

/* A sub-object such as "http_profile": absent gives NULL (so the getters
 * return defaults), anything but an object is an error. */
static int get_sub(struct cfg_ctx *c, json_t *obj, const char *field, json_t **out)
{
	json_t *v = json_object_get(obj, field);
	size_t mark;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_object(v)) {
		*out = v;
		return 0;
	}
	mark = cfg_push(c, ".%s", field);
	cfg_fail(c, "expected an object");
	cfg_pop(c, mark);
	return -EINVAL;
}

static int fail_field(struct cfg_ctx *c, const char *field, const char *reason)
{
	size_t mark = cfg_push(c, ".%s", field);

	cfg_fail(c, "%s", reason);
	cfg_pop(c, mark);
	return -EINVAL;
}

/* RFC 7230 token: header and cookie names. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

/* A token-valued string field (header or cookie name), copied into dst. */
static int get_token(struct cfg_ctx *c, json_t *obj, const char *field, const char *def, char *dst,
		     size_t len)
{
	const char *s = NULL;
	int ret = cfg_get_str(c, obj, field, def, len, &s);

	if (ret || !s)
		return ret;
	if (!is_token(s))
		return fail_field(c, field,
				  "must be a non-empty HTTP token (letters, digits, -_.)");
	snprintf(dst, len, "%s", s);
	return 0;
}

static void copy_ids(json_t *obj, char *name, char *uuid)
{
	snprintf(name, XADC_NAME_MAX, "%s", json_string_value(json_object_get(obj, "name")));
	snprintf(uuid, 64, "%s", json_string_value(json_object_get(obj, "uuid")) ?: "");
}

/* ---------------------------------------------------------------------- */
/* healthmonitor                                                           */

static const struct cfg_enum hm_types[] = {
    {"HEALTH_MONITOR_TCP", XADC_HM_TCP, true},
    {"HEALTH_MONITOR_HTTP", XADC_HM_HTTP, true},
    {"HEALTH_MONITOR_PING", 0, false},
    {"HEALTH_MONITOR_HTTPS", 0, false},
    {"HEALTH_MONITOR_UDP", 0, false},
    {"HEALTH_MONITOR_DNS", 0, false},
    {"HEALTH_MONITOR_EXTERNAL", 0, false},
    {"HEALTH_MONITOR_SIP", 0, false},
    {"HEALTH_MONITOR_RADIUS", 0, false},
    {"HEALTH_MONITOR_GSLB", 0, false},
    {"HEALTH_MONITOR_SMTP", 0, false},
    {"HEALTH_MONITOR_SMTPS", 0, false},
    {"HEALTH_MONITOR_POP3", 0, false},
    {"HEALTH_MONITOR_POP3S", 0, false},
    {"HEALTH_MONITOR_IMAP", 0, false},
    {"HEALTH_MONITOR_IMAPS", 0, false},
    {"HEALTH_MONITOR_FTP", 0, false},
    {"HEALTH_MONITOR_FTPS", 0, false},
    {"HEALTH_MONITOR_LDAP", 0, false},
    {"HEALTH_MONITOR_LDAPS", 0, false},
    {NULL, 0, false},
};

static const struct cfg_enum hm_codes[] = {
    {"HTTP_ANY", 0x3e, true},	{"HTTP_1XX", 1 << 1, true}, {"HTTP_2XX", 1 << 2, true},
    {"HTTP_3XX", 1 << 3, true}, {"HTTP_4XX", 1 << 4, true}, {"HTTP_5XX", 1 << 5, true},
    {NULL, 0, false},
};

/* http_monitor.http_response_code: a list of classes, default 2xx and 3xx. */
static int hm_codes_parse(struct cfg_ctx *c, json_t *httpm, uint32_t *codes)
{
	json_t *arr = json_object_get(httpm, "http_response_code"), *v;
	size_t i, mark;
	int ret = 0, bit;

	*codes = (1 << 2) | (1 << 3);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || !json_array_size(arr))
		return fail_field(c, "http_response_code", "expected a non-empty array");
	*codes = 0;
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".http_response_code[%zu]", i);
		if (!json_is_string(v))
			ret = cfg_fail(c, "expected a string such as \"HTTP_2XX\"");
		else
			ret = cfg_enum_value(c, json_string_value(v), hm_codes, &bit);
		cfg_pop(c, mark);
		if (ret)
			return ret;
		*codes |= (uint32_t)bit;
	}
	return 0;
}

static int hm_compile(struct cfg_ctx *c, json_t *obj, struct xadc_healthmonitor *hm)
{
	long long interval, timeout, ok, fail, port;
	const char *req = NULL, *resp = NULL;
	json_t *httpm;
	int type, ret;

	copy_ids(obj, hm->name, hm->uuid);
	ret = cfg_get_enum(c, obj, "type", hm_types, -1, &type);
	if (ret)
		return ret;
	if (type < 0)
		return fail_field(c, "type",
				  "required (HEALTH_MONITOR_TCP or HEALTH_MONITOR_HTTP)");
	hm->type = type;
	if ((ret = cfg_get_int(c, obj, "send_interval", 10, 1, 3600, &interval)) ||
	    (ret = cfg_get_int(c, obj, "receive_timeout", 4, 1, 2400, &timeout)) ||
	    (ret = cfg_get_int(c, obj, "successful_checks", 2, 1, 50, &ok)) ||
	    (ret = cfg_get_int(c, obj, "failed_checks", 2, 1, 50, &fail)) ||
	    (ret = cfg_get_int(c, obj, "monitor_port", 0, 0, 65535, &port)))
		return ret;
	if (timeout >= interval) {
		size_t mark = cfg_push(c, ".receive_timeout");

		ret = cfg_fail(c, "must be less than send_interval (%lld >= %lld)", timeout,
			       interval);
		cfg_pop(c, mark);
		return ret;
	}
	hm->send_interval_ms = interval * 1000;
	hm->receive_timeout_ms = timeout * 1000;
	hm->successful_checks = ok;
	hm->failed_checks = fail;
	hm->monitor_port = port;
	if (hm->type != XADC_HM_HTTP)
		return 0;
	if ((ret = get_sub(c, obj, "http_monitor", &httpm)))
		return ret;
	{
		size_t mark = cfg_push(c, ".http_monitor");

		ret = cfg_get_str(c, httpm, "http_request", "GET / HTTP/1.0", 1024, &req);
		if (!ret && (!*req || strpbrk(req, "\r\n") == req || req[0] == ' '))
			ret =
			    fail_field(c, "http_request",
				       "must start with a request line such as \"GET / HTTP/1.0\"");
		if (!ret)
			ret = hm_codes_parse(c, httpm, &hm->http_codes);
		if (!ret)
			ret = cfg_get_str(c, httpm, "http_response", NULL, 1024, &resp);
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	hm->http_request = strdup(req);
	hm->http_response = resp && *resp ? strdup(resp) : NULL;
	if (!hm->http_request || (resp && *resp && !hm->http_response))
		return cfg_fail(c, "out of memory");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* applicationpersistenceprofile                                           */

static const struct cfg_enum persist_types[] = {
    {"PERSISTENCE_TYPE_CLIENT_IP_ADDRESS", XADC_PERSIST_CLIENT_IP, true},
    {"PERSISTENCE_TYPE_HTTP_COOKIE", XADC_PERSIST_HTTP_COOKIE, true},
    {"PERSISTENCE_TYPE_HTTP_HEADER", 0, false},
    {"PERSISTENCE_TYPE_APP_COOKIE", 0, false},
    {"PERSISTENCE_TYPE_TLS", 0, false},
    {"PERSISTENCE_TYPE_CUSTOM_HTTP_HEADER", 0, false},
    {"PERSISTENCE_TYPE_GSLB_SITE", 0, false},
    {"PERSISTENCE_TYPE_APP_INFO", 0, false},
    {NULL, 0, false},
};

static int persist_compile(struct cfg_ctx *c, json_t *obj, struct persist_info *pi)
{
	long long minutes;
	json_t *sub;
	size_t mark;
	int type, ret;

	ret = cfg_get_enum(c, obj, "persistence_type", persist_types, -1, &type);
	if (ret)
		return ret;
	if (type < 0)
		return fail_field(c, "persistence_type", "required");
	pi->type = type;
	if (type == XADC_PERSIST_CLIENT_IP) {
		if ((ret = get_sub(c, obj, "ip_persistence_profile", &sub)))
			return ret;
		mark = cfg_push(c, ".ip_persistence_profile");
		ret = cfg_get_int(c, sub, "ip_persistent_timeout", 5, 1, 720, &minutes);
		cfg_pop(c, mark);
		pi->timeout_s = minutes * 60;
		return ret;
	}
	if ((ret = get_sub(c, obj, "http_cookie_persistence_profile", &sub)))
		return ret;
	mark = cfg_push(c, ".http_cookie_persistence_profile");
	ret = get_token(c, sub, "cookie_name", DEFAULT_COOKIE, pi->cookie, 64);
	if (!ret)
		ret = cfg_get_int(c, sub, "timeout", 0, 0, 525600, &minutes);
	cfg_pop(c, mark);
	pi->timeout_s = ret ? 0 : minutes * 60;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* applicationprofile                                                      */

static const struct cfg_enum app_types[] = {
    {"APPLICATION_PROFILE_TYPE_HTTP", XADC_APP_HTTP, true},
    {"APPLICATION_PROFILE_TYPE_L4", XADC_APP_L4, true},
    {"APPLICATION_PROFILE_TYPE_SSL", 0, false},
    {"APPLICATION_PROFILE_TYPE_DNS", 0, false},
    {"APPLICATION_PROFILE_TYPE_SYSLOG", 0, false},
    {"APPLICATION_PROFILE_TYPE_SIP", 0, false},
    {NULL, 0, false},
};

static int http_profile_compile(struct cfg_ctx *c, json_t *hp, struct xadc_http_profile *h)
{
	long long hdr_to, ka_to, body_to, hdr_kb, req_kb, count, ka_max;
	bool xff, xfp;
	int ret;

	if ((ret = cfg_get_int(c, hp, "client_header_timeout", 10000, 1, MS_MAX, &hdr_to)) ||
	    (ret = cfg_get_int(c, hp, "keepalive_timeout", 30000, 1, MS_MAX, &ka_to)) ||
	    (ret = cfg_get_int(c, hp, "client_body_timeout", 30000, 1, MS_MAX, &body_to)) ||
	    (ret = cfg_get_int(c, hp, "client_max_header_size", 12, 1, 256, &hdr_kb)) ||
	    (ret = cfg_get_int(c, hp, "client_max_request_size", 0, 0, 1024, &req_kb)) ||
	    (ret = cfg_get_int(c, hp, "max_header_count", 64, 1, 1024, &count)) ||
	    (ret = cfg_get_int(c, hp, "max_keepalive_requests", 0, 0, 1000000, &ka_max)) ||
	    (ret = cfg_get_bool(c, hp, "xff_enabled", true, &xff)) ||
	    (ret = cfg_get_bool(c, hp, "x_forwarded_proto_enabled", false, &xfp)) ||
	    (ret = get_token(c, hp, "xff_alternate_name", "X-Forwarded-For", h->xff_name,
			     sizeof(h->xff_name))))
		return ret;
	h->client_header_timeout_ms = hdr_to;
	h->keepalive_timeout_ms = ka_to;
	h->client_body_timeout_ms = body_to;
	/* One buffer holds the whole request head: Avi's whole-head limit
	 * (client_max_request_size) when given, else the header size. */
	h->max_header_size = (req_kb ? req_kb : hdr_kb) * 1024;
	h->max_header_count = count;
	h->max_uri = 8192;
	h->xff_enabled = xff;
	h->xfp_enabled = xfp;
	h->max_keepalive_requests = ka_max;
	return 0;
}

static int app_compile(struct cfg_ctx *c, json_t *obj, struct app_info *ai)
{
	json_t *hp;
	size_t mark;
	int type, ret;

	ret = cfg_get_enum(c, obj, "type", app_types, XADC_APP_HTTP, &type);
	if (ret)
		return ret;
	ai->app = type;
	if ((ret = get_sub(c, obj, "http_profile", &hp)))
		return ret;
	mark = cfg_push(c, ".http_profile");
	ret = http_profile_compile(c, hp, &ai->http);
	cfg_pop(c, mark);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* pool                                                                    */

static const struct cfg_enum lb_algos[] = {
    {"LB_ALGORITHM_LEAST_CONNECTIONS", XADC_LB_LEAST_CONNECTIONS, true},
    {"LB_ALGORITHM_ROUND_ROBIN", XADC_LB_ROUND_ROBIN, true},
    {"LB_ALGORITHM_CONSISTENT_HASH", XADC_LB_CONSISTENT_HASH, true},
    {"LB_ALGORITHM_FASTEST_RESPONSE", 0, false},
    {"LB_ALGORITHM_FEWEST_SERVERS", 0, false},
    {"LB_ALGORITHM_RANDOM", 0, false},
    {"LB_ALGORITHM_FEWEST_TASKS", 0, false},
    {"LB_ALGORITHM_NEAREST_SERVER", 0, false},
    {"LB_ALGORITHM_CORE_AFFINITY", 0, false},
    {"LB_ALGORITHM_TOPOLOGY", 0, false},
    {"LB_ALGORITHM_LEAST_LOAD", 0, false},
    {NULL, 0, false},
};

static const struct cfg_enum hash_keys[] = {
    {"LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS", XADC_HASH_SOURCE_IP, true},
    {"LB_ALGORITHM_CONSISTENT_HASH_SOURCE_IP_ADDRESS_AND_PORT", XADC_HASH_SOURCE_IP_PORT, true},
    {"LB_ALGORITHM_CONSISTENT_HASH_URI", XADC_HASH_URI, true},
    {"LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER", XADC_HASH_HEADER, true},
    {"LB_ALGORITHM_CONSISTENT_HASH_CALLID", 0, false},
    {"LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_STRING", 0, false},
    {NULL, 0, false},
};

static int server_compile(struct compile *cc, struct xadc_pool *p, json_t *so, uint16_t def_port,
			  json_t *seen, unsigned idx)
{
	struct cfg_ctx *c = cc->c;
	struct xadc_server *srv = &p->servers[idx];
	const char *hostname = NULL;
	char addr[80], key[sizeof(srv->rt->key)];
	long long port, ratio;
	json_t *ipv, *prev;
	size_t mark;
	int ret;

	if (!json_is_object(so))
		return cfg_fail(c, "expected an object");
	if ((ret = cfg_get_int(c, so, "port", 0, 0, 65535, &port)) ||
	    (ret = cfg_get_int(c, so, "ratio", 1, 1, 20, &ratio)) ||
	    (ret = cfg_get_bool(c, so, "enabled", true, &srv->enabled)) ||
	    (ret = cfg_get_str(c, so, "hostname", NULL, XADC_NAME_MAX, &hostname)))
		return ret;
	ipv = json_object_get(so, "ip");
	if (!ipv || json_is_null(ipv))
		return fail_field(c, "ip",
				  "required (resolving servers by hostname is not supported)");
	mark = cfg_push(c, ".ip");
	ret = cfg_parse_ip(c, ipv, port ? port : def_port, &srv->addr);
	cfg_pop(c, mark);
	if (ret)
		return ret;
	xadc_sockaddr_str(&srv->addr, addr, sizeof(addr));
	prev = json_object_get(seen, addr);
	if (prev)
		return cfg_fail(c, "duplicate server %s (same as servers[%lld])", addr,
				json_integer_value(prev));
	json_object_set_new(seen, addr, json_integer(idx));
	snprintf(srv->name, sizeof(srv->name), "%s", hostname && *hostname ? hostname : addr);
	srv->ratio = ratio;
	srv->pool = p;
	snprintf(key, sizeof(key), "server:%s/%s", p->name, addr);
	srv->rt = xadc_rt_get(XADC_RT_SERVER, key, p->nhms == 0);
	if (!srv->rt)
		return cfg_fail(c, "out of memory");
	return 0;
}

static int pool_servers(struct compile *cc, json_t *obj, struct xadc_pool *p)
{
	struct cfg_ctx *c = cc->c;
	json_t *arr = json_object_get(obj, "servers"), *so, *seen;
	long long def_port;
	size_t i, mark;
	int ret;

	if ((ret = cfg_get_int(c, obj, "default_server_port", 80, 1, 65535, &def_port)))
		return ret;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail_field(c, "servers", "expected an array");
	p->servers = calloc(json_array_size(arr) ?: 1, sizeof(*p->servers));
	seen = json_object();
	if (!p->servers || !seen) {
		json_decref(seen);
		return cfg_fail(c, "out of memory");
	}
	json_array_foreach(arr, i, so) {
		mark = cfg_push(c, ".servers[%zu]", i);
		ret = server_compile(cc, p, so, def_port, seen, i);
		cfg_pop(c, mark);
		if (ret)
			break;
		/* Count only complete servers so a failed compile frees right. */
		p->nservers = i + 1;
	}
	json_decref(seen);
	return ret;
}

static int pool_hms(struct compile *cc, json_t *obj, struct xadc_pool *p)
{
	struct cfg_ctx *c = cc->c;
	json_t *arr = json_object_get(obj, "health_monitor_refs"), *v;
	size_t i, j, mark;
	int idx, ret = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail_field(c, "health_monitor_refs", "expected an array of refs");
	p->hms = calloc(json_array_size(arr) ?: 1, sizeof(*p->hms));
	if (!p->hms)
		return cfg_fail(c, "out of memory");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".health_monitor_refs[%zu]", i);
		idx = cfg_ref_resolve(c, &cc->ix, v, CFG_HM);
		if (idx == -1)
			idx = cfg_fail(c, "expected a ref, got null");
		for (j = 0; idx >= 0 && j < p->nhms; j++)
			if (p->hms[j] == &cc->s->hms[idx])
				idx = cfg_fail(c, "health monitor %s listed twice",
					       cc->s->hms[idx].name);
		cfg_pop(c, mark);
		if (idx < 0)
			return idx;
		p->hms[p->nhms++] = &cc->s->hms[idx];
	}
	return ret;
}

static int pool_compile(struct compile *cc, json_t *obj, struct xadc_pool *p)
{
	struct cfg_ctx *c = cc->c;
	long long conn_to, srv_to, retries;
	char key[sizeof(p->rt->key)];
	int lb, hk, idx, ret;
	size_t mark;

	copy_ids(obj, p->name, p->uuid);
	if ((ret =
		 cfg_get_enum(c, obj, "lb_algorithm", lb_algos, XADC_LB_LEAST_CONNECTIONS, &lb)) ||
	    (ret =
		 cfg_get_enum(c, obj, "lb_algorithm_hash", hash_keys, XADC_HASH_SOURCE_IP, &hk)) ||
	    (ret = get_token(c, obj, "lb_algorithm_consistent_hash_hdr", NULL, p->hash_hdr,
			     sizeof(p->hash_hdr))) ||
	    (ret = cfg_get_int(c, obj, "connect_timeout", 2000, 1, MS_MAX, &conn_to)) ||
	    (ret = cfg_get_int(c, obj, "server_timeout", 0, 0, MS_MAX, &srv_to)) ||
	    (ret = cfg_get_int(c, obj, "max_retries", 2, 0, MAX_RETRIES, &retries)))
		return ret;
	p->lb = lb;
	p->hash_key = hk;
	if (lb == XADC_LB_CONSISTENT_HASH && hk == XADC_HASH_HEADER && !p->hash_hdr[0])
		return fail_field(c, "lb_algorithm_consistent_hash_hdr",
				  "required with LB_ALGORITHM_CONSISTENT_HASH_CUSTOM_HEADER");
	p->connect_timeout_ms = conn_to;
	p->server_timeout_ms = srv_to ? srv_to : 30000;
	p->max_retries = retries;

	mark = cfg_push(c, ".application_persistence_profile_ref");
	idx = cfg_ref_resolve(
	    c, &cc->ix, json_object_get(obj, "application_persistence_profile_ref"), CFG_PERSIST);
	cfg_pop(c, mark);
	if (idx < -1)
		return idx;
	if (idx >= 0) {
		p->persist = cc->persists[idx].type;
		memcpy(p->persist_cookie, cc->persists[idx].cookie, sizeof(p->persist_cookie));
		p->persist_timeout_s = cc->persists[idx].timeout_s;
	}
	/* Monitors first: they decide whether new servers start up. */
	if ((ret = pool_hms(cc, obj, p)) || (ret = pool_servers(cc, obj, p)))
		return ret;
	snprintf(key, sizeof(key), "pool:%s", p->name);
	p->rt = xadc_rt_get(XADC_RT_POOL, key, true);
	if (!p->rt)
		return cfg_fail(c, "out of memory");
	if (xadc_lb_pool_init(p))
		return cfg_fail(c, "out of memory building the load-balancing tables");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* virtualservice                                                          */

/* Add addr as a listener of vs (label for messages), refusing a VIP:port
 * another VS (or this one) already has. */
static int vs_listen(struct compile *cc, const union xadc_sockaddr *addr, struct xadc_vs *vs,
		     const char *label)
{
	struct xadc_snapshot *s = cc->s;
	json_t *owner;
	char a[80];

	xadc_sockaddr_str(addr, a, sizeof(a));
	owner = json_object_get(cc->listen_owner, a);
	if (owner && !strcmp(json_string_value(owner), label))
		return cfg_fail(cc->c, "%s listed twice", a);
	if (owner)
		return cfg_fail(cc->c, "%s is already used by %s", a, json_string_value(owner));
	json_object_set_new(cc->listen_owner, a, json_string(label));
	if (!vs->enabled)
		return 0;
	if (s->nlisteners == cc->listen_alloc) {
		unsigned n = cc->listen_alloc ? cc->listen_alloc * 2 : 16;
		struct xadc_listener *l = realloc(s->listeners, n * sizeof(*l));

		if (!l)
			return cfg_fail(cc->c, "out of memory");
		s->listeners = l;
		cc->listen_alloc = n;
	}
	s->listeners[s->nlisteners].addr = *addr;
	s->listeners[s->nlisteners++].vs = vs;
	return 0;
}

/* One services[] entry: a port, or {port, port_range_end, enable_ssl}. */
static int vs_service(struct cfg_ctx *c, json_t *sv, long long *lo, long long *hi)
{
	bool ssl;
	int ret;

	if (json_is_integer(sv)) {
		*lo = *hi = json_integer_value(sv);
		if (*lo < 1 || *lo > 65535)
			return cfg_fail(c, "port must be between 1 and 65535 (got %lld)", *lo);
		return 0;
	}
	if (!json_is_object(sv))
		return cfg_fail(c, "expected a port or {\"port\": N}");
	if ((ret = cfg_get_int(c, sv, "port", 0, 1, 65535, lo)))
		return ret;
	if (!*lo)
		return fail_field(c, "port", "required");
	if ((ret = cfg_get_int(c, sv, "port_range_end", *lo, *lo, 65535, hi)) ||
	    (ret = cfg_get_bool(c, sv, "enable_ssl", false, &ssl)))
		return ret;
	if (ssl)
		return fail_field(c, "enable_ssl", "TLS not supported yet");
	if (*hi - *lo >= PORT_RANGE_MAX)
		return fail_field(c, "port_range_end", "port range too large (at most 1024 ports)");
	return 0;
}

/* A vip[] array (or a single address string) at field "vip" of obj. */
static int vip_list(struct cfg_ctx *c, json_t *arr, union xadc_sockaddr *vips, unsigned max,
		    unsigned *nvips)
{
	json_t *v, *ipv;
	bool enabled;
	size_t i, mark;
	int ret = 0;

	*nvips = 0;
	if (json_is_string(arr)) {
		mark = cfg_push(c, ".vip");
		ret = cfg_parse_ip(c, arr, 0, &vips[0]);
		cfg_pop(c, mark);
		*nvips = !ret;
		return ret;
	}
	if (!json_is_array(arr) || !json_array_size(arr))
		return fail_field(c, "vip", "expected a non-empty array");
	if (json_array_size(arr) > max)
		return fail_field(c, "vip", "too many VIPs");
	json_array_foreach(arr, i, v) {
		mark = cfg_push(c, ".vip[%zu]", i);
		enabled = true;
		if (json_is_string(v)) {
			ret = cfg_parse_ip(c, v, 0, &vips[*nvips]);
		} else if (!json_is_object(v)) {
			ret = cfg_fail(c, "expected an address or {\"ip_address\": ...}");
		} else if (!(ret = cfg_get_bool(c, v, "enabled", true, &enabled))) {
			ipv = json_object_get(v, "ip_address");
			if (!ipv || json_is_null(ipv)) {
				ret = fail_field(c, "ip_address", "required");
			} else {
				size_t m2 = cfg_push(c, ".ip_address");

				ret = cfg_parse_ip(c, ipv, 0, &vips[*nvips]);
				cfg_pop(c, m2);
			}
		}
		cfg_pop(c, mark);
		if (ret)
			return ret;
		if (enabled)
			(*nvips)++;
	}
	return 0;
}

/*
 * The VIPs of a VS: its own vip[] (Avi before 17.1, and the shorthand
 * "vip": ["198.18.0.10"]), or the vip[] of the vsvip its vsvip_ref names
 * (newer Avi exports).
 */
static int vs_vips(struct compile *cc, json_t *obj, union xadc_sockaddr *vips, unsigned max,
		   unsigned *nvips)
{
	struct cfg_ctx *c = cc->c;
	json_t *arr = json_object_get(obj, "vip");
	size_t mark;
	int idx, ret;

	if (arr && !json_is_null(arr))
		return vip_list(c, arr, vips, max, nvips);
	mark = cfg_push(c, ".vsvip_ref");
	idx = cfg_ref_resolve(c, &cc->ix, json_object_get(obj, "vsvip_ref"), CFG_VSVIP);
	ret = idx >= 0 ? vip_list(c, json_object_get(json_array_get(cc->ix.objs[CFG_VSVIP], idx),
						     "vip"),
				  vips, max, nvips)
		       : idx;
	cfg_pop(c, mark);
	if (idx == -1)
		return fail_field(c, "vip", "required (at least one VIP, or a vsvip_ref)");
	return ret;
}

static void set_port(union xadc_sockaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

static int vs_listeners(struct compile *cc, json_t *obj, struct xadc_vs *vs, const char *label)
{
	struct cfg_ctx *c = cc->c;
	json_t *arr = json_object_get(obj, "services"), *sv;
	union xadc_sockaddr vips[64], a;
	long long lo, hi, port;
	unsigned nvips, v;
	size_t i, mark;
	int ret;

	if ((ret = vs_vips(cc, obj, vips, ARRAY_SIZE(vips), &nvips)))
		return ret;
	if (!arr || json_is_null(arr))
		return fail_field(c, "services", "required (at least one port)");
	if (!json_is_array(arr) || !json_array_size(arr))
		return fail_field(c, "services", "expected a non-empty array");
	json_array_foreach(arr, i, sv) {
		mark = cfg_push(c, ".services[%zu]", i);
		ret = vs_service(c, sv, &lo, &hi);
		for (port = lo; !ret && port <= hi; port++) {
			for (v = 0; !ret && v < nvips; v++) {
				a = vips[v];
				set_port(&a, port);
				ret = vs_listen(cc, &a, vs, label);
			}
		}
		cfg_pop(c, mark);
		if (ret)
			return ret;
	}
	return 0;
}

/* Fields of Avi VSs whose features are not there yet: accepted so exports
 * load, but said out loud because traffic will not be filtered by them. */
static void vs_warn_unsupported(struct cfg_ctx *c, json_t *obj)
{
	static const char *const fields[] = {
	    "ssl_key_and_certificate_refs",
	    "ssl_profile_ref",
	    "pool_group_ref",
	};
	size_t i, mark;
	json_t *v;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		v = json_object_get(obj, fields[i]);
		if (!v || json_is_null(v) || (json_is_array(v) && !json_array_size(v)))
			continue;
		mark = cfg_push(c, ".%s", fields[i]);
		cfg_warn(c, "not supported yet, ignored");
		cfg_pop(c, mark);
	}
}

static int vs_compile(struct compile *cc, json_t *obj, struct xadc_vs *vs, const char *label)
{
	struct cfg_ctx *c = cc->c;
	char key[sizeof(vs->rt->key)];
	size_t mark;
	int idx, ret;

	copy_ids(obj, vs->name, vs->uuid);
	if ((ret = cfg_get_bool(c, obj, "enabled", true, &vs->enabled)))
		return ret;
	mark = cfg_push(c, ".application_profile_ref");
	idx = cfg_ref_resolve(c, &cc->ix, json_object_get(obj, "application_profile_ref"), CFG_APP);
	cfg_pop(c, mark);
	if (idx < -1)
		return idx;
	if (idx == -1)
		idx = json_integer_value(json_object_get(cc->ix.by_name[CFG_APP], "System-HTTP"));
	vs->app = cc->apps[idx].app;
	vs->http = cc->apps[idx].http;

	mark = cfg_push(c, ".pool_ref");
	idx = cfg_ref_resolve(c, &cc->ix, json_object_get(obj, "pool_ref"), CFG_POOL);
	cfg_pop(c, mark);
	if (idx < -1)
		return idx;
	vs->pool = idx >= 0 ? &cc->s->pools[idx] : NULL;
	vs_warn_unsupported(c, obj);
	if ((ret = cfg_policy_vs(c, &cc->ix, cc->s, obj, vs)))	/* issue 4 */
		return ret;
	if ((ret = cfg_ds_vs(c, &cc->ix, cc->s, obj, vs)))	/* issue 5 */
		return ret;
	if ((ret = cfg_nsp_vs(c, &cc->ix, cc->s, obj, vs - cc->s->vs)))	/* issue 3 */
		return ret;
	if ((ret = vs_listeners(cc, obj, vs, label)))
		return ret;
	snprintf(key, sizeof(key), "vs:%s", vs->name);
	vs->rt = xadc_rt_get(XADC_RT_VS, key, true);
	return vs->rt ? 0 : cfg_fail(c, "out of memory");
}

/* ---------------------------------------------------------------------- */

typedef int (*obj_compile_fn)(struct compile *cc, json_t *obj, unsigned i, const char *label);

/* Run fn over every object of kind (built-ins included), with the path set
 * to the object's label. */
static int for_each(struct compile *cc, int kind, obj_compile_fn fn)
{
	char label[XADC_NAME_MAX + 64];
	json_t *obj;
	size_t i, mark;
	int ret;

	json_array_foreach(cc->ix.objs[kind], i, obj) {
		cfg_obj_label(kind, obj, i - cc->ix.nbuiltin[kind], label, sizeof(label));
		mark = cfg_push(cc->c, "%s", label);
		ret = fn(cc, obj, i, label);
		cfg_pop(cc->c, mark);
		if (ret)
			return ret;
	}
	return 0;
}

static int each_hm(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	int ret = hm_compile(cc->c, obj, &cc->s->hms[i]);

	cc->s->nhms = i + 1; /* so a failure frees what this one allocated */
	return ret;
}

/* A vsvip is checked on its own so an unused one with a bad address is
 * still refused; its addresses are read again by the VSs that use it. */
static int each_vsvip(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	union xadc_sockaddr vips[64];
	json_t *arr = json_object_get(obj, "vip");
	unsigned n;

	if (!arr || json_is_null(arr))
		return fail_field(cc->c, "vip", "required (at least one VIP)");
	return vip_list(cc->c, arr, vips, ARRAY_SIZE(vips), &n);
}

static int each_persist(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	return persist_compile(cc->c, obj, &cc->persists[i]);
}

static int each_app(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	return app_compile(cc->c, obj, &cc->apps[i]);
}

static int each_pool(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	cc->s->npools = i + 1;
	return pool_compile(cc, obj, &cc->s->pools[i]);
}

static int each_vs(struct compile *cc, json_t *obj, unsigned i, const char *label)
{
	cc->s->nvs = i + 1;
	return vs_compile(cc, obj, &cc->s->vs[i], label);
}

static int compile_alloc(struct compile *cc)
{
	struct xadc_snapshot *s = cc->s;
	struct cfg_index *ix = &cc->ix;

	/* +1: calloc(0) may return NULL, which would look like ENOMEM. */
	s->hms = calloc(json_array_size(ix->objs[CFG_HM]) + 1, sizeof(*s->hms));
	s->pools = calloc(json_array_size(ix->objs[CFG_POOL]) + 1, sizeof(*s->pools));
	s->vs = calloc(json_array_size(ix->objs[CFG_VS]) + 1, sizeof(*s->vs));
	cc->apps = calloc(json_array_size(ix->objs[CFG_APP]) + 1, sizeof(*cc->apps));
	cc->persists = calloc(json_array_size(ix->objs[CFG_PERSIST]) + 1, sizeof(*cc->persists));
	cc->listen_owner = json_object();
	if (!s->hms || !s->pools || !s->vs || !cc->apps || !cc->persists || !cc->listen_owner)
		return cfg_fail(cc->c, "out of memory");
	return 0;
}

/* Compile doc (store form or any accepted document) on a context the
 * caller owns; NULL with c->err set on failure. */
static struct xadc_snapshot *compile_doc(struct cfg_ctx *c, json_t *doc)
{
	struct compile cc = {.c = c};
	json_t *norm;
	int ret;

	norm = cfg_normalize(c, doc);
	if (!norm)
		return NULL;
	cc.s = calloc(1, sizeof(*cc.s));
	if (!cc.s) {
		cfg_fail(c, "out of memory");
		goto out;
	}
	atomic_init(&cc.s->refcnt, 1);
	if ((ret = cfg_index_build(c, norm, &cc.ix)) || (ret = compile_alloc(&cc)) ||
	    (ret = for_each(&cc, CFG_HM, each_hm)) ||
	    (ret = for_each(&cc, CFG_VSVIP, each_vsvip)) ||
	    (ret = for_each(&cc, CFG_PERSIST, each_persist)) ||
	    (ret = for_each(&cc, CFG_APP, each_app)) ||
	    (ret = for_each(&cc, CFG_POOL, each_pool)) ||
	    (ret = cfg_policy_compile(c, &cc.ix, cc.s)) ||	/* issue 4 */
	    (ret = cfg_ds_check(c, &cc.ix, cc.s)) ||		/* issue 5 */
	    (ret = cfg_nsp_compile(c, &cc.ix, cc.s)) ||	/* issue 3 */
	    (ret = for_each(&cc, CFG_VS, each_vs))) {
		xadc_snapshot_put(cc.s);
		cc.s = NULL;
		goto out;
	}
	cc.s->generation = atomic_fetch_add(&compile_generation, 1) + 1;
out:
	cfg_index_free(&cc.ix);
	free(cc.apps);
	free(cc.persists);
	json_decref(cc.listen_owner);
	json_decref(norm);
	return cc.s;
}

struct xadc_snapshot *xadc_cfg_compile(json_t *doc, json_t **warnings, json_t **err)
{
	struct xadc_snapshot *s;
	struct cfg_ctx c;

	cfg_ctx_init(&c);
	s = compile_doc(&c, doc);
	if (!s && !c.err)
		c.err = xadc_cfg_error("", "out of memory");
	if (err)
		*err = s ? NULL : c.err;
	else
		json_decref(c.err);
	if (s && c.err)
		json_decref(c.err);
	if (warnings)
		*warnings = c.warnings;
	else
		json_decref(c.warnings);
	return s;
}
