/* SPDX-License-Identifier: GPL-2.0 */
/*
 * api.h - the REST API (libmicrohttpd) on a unix socket and optionally TCP.
 *
 * Routes (JSON in and out):
 *   GET    /api/<kind>[?name=N]        list          {"count", "results"}
 *   POST   /api/<kind>                 create        201 + object
 *   GET    /api/<kind>/<uuid-or-name>  one object
 *   PUT    /api/<kind>/<uuid-or-name>  replace
 *   PATCH  /api/<kind>/<uuid-or-name>  merge (JSON merge patch semantics)
 *   DELETE /api/<kind>/<uuid-or-name>  204
 *   GET    /api/configuration          whole user configuration
 *   PUT    /api/configuration          declarative replace (atomic)
 *   POST   /api/configuration/check    validate only
 *   GET    /api/status                 daemon, workers, VSs, servers up/down
 *   GET    /api/stats                  counters per VS, pool, server
 *   GET    /api/logs?after=SEQ&max=N   recent request-log lines
 * The TCP listener requires "Authorization: Bearer <token>".
 */
#ifndef XADC_API_H
#define XADC_API_H

#include <jansson.h>

struct xadc_api_opts {
	const char *unix_path;		/* required; created mode 0600 */
	const char *tcp_listen;		/* "ADDR:PORT" or NULL */
	const char *token;		/* bearer token for TCP; required with tcp_listen */
};

int xadc_api_start(const struct xadc_api_opts *opts);
void xadc_api_stop(void);

/* Status and stats documents (also used by tests). */
json_t *xadc_status_json(void);
json_t *xadc_stats_json(void);

#endif
