/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reqlog.h - the request log: one JSON line per request.
 *
 * Workers format the line themselves into a per-worker buffer and push it
 * into a per-worker single-producer ring; a logger thread drains the rings
 * into the log file (if any) and a bounded in-memory history that the REST
 * API serves to `xadcctl logs`. No lock and no allocation on the worker's
 * side; if a ring is full the line is counted as dropped, never blocks.
 */
#ifndef XADC_REQLOG_H
#define XADC_REQLOG_H

#include <jansson.h>
#include <stdint.h>

#include "xadc/snapshot.h"

struct xadc_reqlog_rec {
	uint64_t start_us;		/* wall clock when the request head began */
	const union xadc_sockaddr *client;
	const union xadc_sockaddr *vip;
	const char *vs;
	const char *method;	size_t method_len;
	const char *uri;	size_t uri_len;
	const char *host;	size_t host_len;
	const char *user_agent;	size_t user_agent_len;
	int status;			/* 0 when no response was sent */
	const char *pool;		/* NULL: none selected */
	const char *server;		/* NULL: none */
	uint64_t request_id;
	uint64_t bytes_in;		/* request bytes from the client (head + body) */
	uint64_t bytes_out;		/* response bytes to the client */
	/* milliseconds (fractional values kept to microseconds) */
	double t_client_ms;		/* waiting for the client's head (+ body) */
	double t_connect_ms;		/* connecting to the server (0 when reused) */
	double t_server_ms;		/* waiting for the server's response head */
	double t_total_ms;
	const char *termination;	/* NULL or e.g. "server_timeout", "client_abort" */
	/* Seams: later capabilities name the rule / script that decided. */
	const char *http_security_policy_rule_name;
	const char *http_request_policy_rule_name;
	const char *http_response_policy_rule_name;
	const char *extra_json;		/* a pre-formatted ",\"k\":v..." fragment or NULL */
};

int xadc_reqlog_start(const char *path, unsigned nworkers);
void xadc_reqlog_emit(unsigned worker, const struct xadc_reqlog_rec *rec);
/* Lines with sequence > after, at most max; *last receives the newest seq.
 * Returns a JSON array of the parsed lines. */
json_t *xadc_reqlog_recent(uint64_t after, unsigned max, uint64_t *last);
/* Reopen the log file (SIGHUP, log rotation). */
void xadc_reqlog_reopen(void);
void xadc_reqlog_stop(void);
/* Format rec as one JSON line ending in '\n' into out[0..cap) (cap >= 256);
 * fields too long for cap are cut, never the JSON. Returns its length.
 * Used by emit; exposed for tests. */
size_t xadc_reqlog_format(const struct xadc_reqlog_rec *rec, char *out, size_t cap);

#endif
