// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - the status and stats documents served by GET /api/status and
 * GET /api/stats (see api.h).
 *
 * Both are built from one reference to the current snapshot, so every
 * object in a document comes from the same configuration generation.
 * Counters are per-worker slots (snapshot.h) summed here; the request path
 * never pays for them being read.
 */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "xadc/api.h"
#include "xadc/common.h"
#include "xadc/proxy.h"
#include "xadc/snapshot.h"
#include "xadc/xdp.h"			/* issue 3 */
#include "../policy/http_policy.h"	/* issue 4: per-rule hit counters */

#define XADC_VERSION "0.1.0"

/* Process start, for uptime: a constructor runs before main(). */
static uint64_t stats_start_ms;

static void __attribute__((constructor)) stats_init_clock(void)
{
	stats_start_ms = xadc_now_ms();
}

static const char *stats_lb_name(enum xadc_lb_algo lb)
{
	switch (lb) {
	case XADC_LB_ROUND_ROBIN:
		return "LB_ALGORITHM_ROUND_ROBIN";
	case XADC_LB_CONSISTENT_HASH:
		return "LB_ALGORITHM_CONSISTENT_HASH";
	case XADC_LB_LEAST_CONNECTIONS:
	default:
		return "LB_ALGORITHM_LEAST_CONNECTIONS";
	}
}

/* Operator-visible health of one server. */
static const char *stats_health(const struct xadc_server *srv)
{
	if (!srv->enabled)
		return "disabled";
	if (srv->rt && atomic_load_explicit(&srv->rt->up, memory_order_relaxed))
		return "up";
	return "down";
}

/* The health thread writes hc_reason without a lock; copy it bounded so a
 * torn read can at worst show a mix of two reasons, never overrun. */
static void stats_reason(const struct xadc_server *srv, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!srv->rt || !srv->enabled || atomic_load(&srv->rt->up))
		return;
	if (len > sizeof(srv->rt->hc_reason))
		len = sizeof(srv->rt->hc_reason);
	memcpy(buf, srv->rt->hc_reason, len - 1);
	buf[len - 1] = '\0';
	/* Servers of monitored pools start down until their first success. */
	if (!buf[0] && srv->pool && srv->pool->nhms)
		snprintf(buf, len, "no successful health check yet");
}

static unsigned stats_servers_up(const struct xadc_pool *pool)
{
	unsigned i, up = 0;

	if (!pool)
		return 0;
	for (i = 0; i < pool->nservers; i++)
		up += !strcmp(stats_health(&pool->servers[i]), "up");
	return up;
}

/* ---------------------------------------------------------------------- */
/* Status                                                                  */
/* ---------------------------------------------------------------------- */

static json_t *stats_vs_status(struct xadc_snapshot *s, const struct xadc_vs *vs)
{
	json_t *listeners = json_array();
	char buf[INET6_ADDRSTRLEN + 16];
	unsigned i;

	for (i = 0; i < s->nlisteners; i++)
		if (s->listeners[i].vs == vs)
			json_array_append_new(listeners,
					      json_string(xadc_sockaddr_str(&s->listeners[i].addr,
									    buf, sizeof(buf))));
	return json_pack("{ss sb ss so ss? si si}", "name", vs->name, "enabled", vs->enabled,
			 "type", vs->app == XADC_APP_L4 ? "L4" : "HTTP", "listeners", listeners,
			 "pool", vs->pool ? vs->pool->name : NULL, "servers_up",
			 (int)stats_servers_up(vs->pool), "servers_total",
			 vs->pool ? (int)vs->pool->nservers : 0);
}

static json_t *stats_server_base(const struct xadc_server *srv)
{
	char ip[INET6_ADDRSTRLEN];

	return json_pack("{ss ss si sb ss}", "name", srv->name, "ip",
			 xadc_sockaddr_ip(&srv->addr, ip, sizeof(ip)), "port",
			 (int)ntohs(srv->addr.sa.sa_family == AF_INET6 ? srv->addr.in6.sin6_port
								       : srv->addr.in.sin_port),
			 "enabled", srv->enabled, "health", stats_health(srv));
}

static json_t *stats_pool_status(const struct xadc_pool *pool)
{
	json_t *servers = json_array();
	char reason[sizeof(((struct xadc_rt *)0)->hc_reason)];
	unsigned i;

	for (i = 0; i < pool->nservers; i++) {
		const struct xadc_server *srv = &pool->servers[i];
		json_t *o = stats_server_base(srv);

		stats_reason(srv, reason, sizeof(reason));
		json_object_set_new(o, "reason", json_string(reason));
		json_object_set_new(o, "active",
				    json_integer(srv->rt ? atomic_load(&srv->rt->active) : 0));
		json_array_append_new(servers, o);
	}
	return json_pack("{ss ss so}", "name", pool->name, "lb_algorithm", stats_lb_name(pool->lb),
			 "servers", servers);
}

/* The workers array from the proxy, or [] when the data path is not running. */
static json_t *stats_workers(void)
{
	json_t *st = xadc_proxy_status(), *w;

	w = json_object_get(st, "workers");
	w = json_is_array(w) ? json_incref(w) : json_array();
	json_decref(st);
	return w;
}

/*
 * {"daemon": {...}, "workers": [...], "virtualservices": [...], "pools": [...]}
 * Works before the first snapshot (empty lists, generation 0).
 */
json_t *xadc_status_json(void)
{
	struct xadc_snapshot *s = xadc_snapshot_current();
	json_t *vss = json_array(), *pools = json_array(), *daemon;
	unsigned i;

	daemon =
	    json_pack("{si ss sI si sI}", "pid", (int)getpid(), "version", XADC_VERSION, "uptime_s",
		      (json_int_t)((xadc_now_ms() - stats_start_ms) / 1000), "workers",
		      (int)xadc_nworkers, "config_generation", (json_int_t)(s ? s->generation : 0));
	if (s) {
		for (i = 0; i < s->nvs; i++)
			json_array_append_new(vss, stats_vs_status(s, &s->vs[i]));
		for (i = 0; i < s->npools; i++)
			json_array_append_new(pools, stats_pool_status(&s->pools[i]));
		xadc_snapshot_put(s);
	}
	return json_pack("{so so so so so}", "daemon", daemon, "workers", stats_workers(),
			 "virtualservices", vss, "pools", pools, "xdp", xadc_xdpd_status_json());
}

/* ---------------------------------------------------------------------- */
/* Stats                                                                   */
/* ---------------------------------------------------------------------- */

static void stats_add(struct xadc_counters *acc, const struct xadc_counters *c)
{
	unsigned i;

	acc->requests += c->requests;
	for (i = 0; i < ARRAY_SIZE(c->resp); i++)
		acc->resp[i] += c->resp[i];
	acc->bytes_in += c->bytes_in;
	acc->bytes_out += c->bytes_out;
	acc->conns += c->conns;
	acc->conn_errors += c->conn_errors;
	acc->cur_conns += c->cur_conns;
}

static void stats_sum(const struct xadc_rt *rt, struct xadc_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (rt)
		xadc_rt_sum(rt, out);
}

/* Add the counter fields of c to object o. */
static json_t *stats_counters_json(json_t *o, const struct xadc_counters *c)
{
	json_t *resp = json_pack("{sI sI sI sI sI sI}", "1xx", (json_int_t)c->resp[1], "2xx",
				 (json_int_t)c->resp[2], "3xx", (json_int_t)c->resp[3], "4xx",
				 (json_int_t)c->resp[4], "5xx", (json_int_t)c->resp[5], "other",
				 (json_int_t)c->resp[0]);

	json_object_set_new(o, "requests", json_integer(c->requests));
	json_object_set_new(o, "responses", resp);
	json_object_set_new(o, "bytes_in", json_integer(c->bytes_in));
	json_object_set_new(o, "bytes_out", json_integer(c->bytes_out));
	json_object_set_new(o, "connections", json_integer(c->conns));
	/* Slots are summed without synchronisation with the workers; a
	 * momentarily inconsistent sum must not show as negative. */
	json_object_set_new(o, "open_connections",
			    json_integer(c->cur_conns > 0 ? c->cur_conns : 0));
	json_object_set_new(o, "conn_errors", json_integer(c->conn_errors));
	return o;
}

static json_t *stats_pool(const struct xadc_pool *pool)
{
	struct xadc_counters sum = {0}, c;
	json_t *servers = json_array(), *o;
	unsigned i;

	for (i = 0; i < pool->nservers; i++) {
		const struct xadc_server *srv = &pool->servers[i];

		stats_sum(srv->rt, &c);
		stats_add(&sum, &c);
		json_array_append_new(servers, stats_counters_json(stats_server_base(srv), &c));
	}
	o = stats_counters_json(json_pack("{ss}", "name", pool->name), &sum);
	json_object_set_new(o, "servers_up", json_integer(stats_servers_up(pool)));
	json_object_set_new(o, "servers_total", json_integer(pool->nservers));
	json_object_set_new(o, "servers", servers);
	return o;
}

/*
 * {"generation": G, "virtualservices": [{name, pool, counters...}],
 *  "pools": [{name, counters (sum of servers)..., "servers": [{name, ip,
 *  port, enabled, health, counters...}]}]}
 */
json_t *xadc_stats_json(void)
{
	struct xadc_snapshot *s = xadc_snapshot_current();
	json_t *vss = json_array(), *pools = json_array(), *o;
	struct xadc_counters c;
	json_t *hps = NULL, *xdp = NULL;
	uint64_t gen = 0;
	unsigned i;

	if (s) {
		gen = s->generation;
		xdp = xadc_xdpd_stats_json(s);	/* issue 3 */
		hps = xadc_hp_stats_json(s);	/* issue 4 */
		for (i = 0; i < s->nvs; i++) {
			const struct xadc_vs *vs = &s->vs[i];

			stats_sum(vs->rt, &c);
			o = json_pack("{ss ss?}", "name", vs->name, "pool",
				      vs->pool ? vs->pool->name : NULL);
			json_array_append_new(vss, stats_counters_json(o, &c));
		}
		for (i = 0; i < s->npools; i++)
			json_array_append_new(pools, stats_pool(&s->pools[i]));
		xadc_snapshot_put(s);
	}
	return json_pack("{sI so so so so}", "generation", (json_int_t)gen, "virtualservices", vss,
			 "pools", pools, "httppolicysets", hps ? hps : json_array(), "xdp",
			 xdp ? xdp : xadc_xdpd_stats_json(NULL));
}
