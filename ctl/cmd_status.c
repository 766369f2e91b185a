// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_status.c - xadcctl's runtime commands: status, stats, logs.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* GET path into *doc, for commands without options of their own. */
static int ctl_simple_get(int argc, char **argv, const char *path, json_t **doc)
{
	while (ctl_getopt(argc, argv, NULL, NULL) != -1)
		return ctl_usage_err(argv[0], "bad arguments");
	if (optind < argc)
		return ctl_usage_err(argv[0], "unexpected argument '%s'", argv[optind]);
	return ctl_request("GET", path, NULL, 0, doc);
}

static void ctl_duration(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%02lldh%02lldm", s / 86400, s % 86400 / 3600,
			 s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm%02llds", s / 3600, s % 3600 / 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

static const char *ctl_yesno(json_t *o, const char *key)
{
	return json_is_false(json_object_get(o, key)) ? "no" : "yes";
}

int ctl_cmd_status(int argc, char **argv)
{
	json_t *doc = NULL, *d, *o, *p, *x;
	char up[64], n[64], lst[1024];
	struct ctl_table *t;
	size_t i, j;
	int ret;

	ret = ctl_simple_get(argc, argv, "/api/status", &doc);
	if (ret)
		goto out;
	if (ctl.json) {
		ctl_print_json(doc);
		goto out;
	}
	d = json_object_get(doc, "daemon");
	ctl_duration(ctl_int(d, "uptime_s"), up, sizeof(up));
	printf("xadcd %s  pid %lld  up %s  workers %lld  config generation %lld\n",
	       ctl_str(d, "version"), ctl_int(d, "pid"), up, ctl_int(d, "workers"),
	       ctl_int(d, "config_generation"));

	putchar('\n');
	t = ctl_table_new(6, "VIRTUAL SERVICE", "TYPE", "ENABLED", "LISTENERS", "POOL",
			  "SERVERS UP");
	json_array_foreach(json_object_get(doc, "virtualservices"), i, o)
	{
		size_t l = 0;

		lst[0] = '\0';
		json_array_foreach(json_object_get(o, "listeners"), j, x) l +=
		    snprintf(lst + l, l < sizeof(lst) ? sizeof(lst) - l : 0, "%s%s", j ? "," : "",
			     json_string_value(x) ? json_string_value(x) : "");
		snprintf(n, sizeof(n), "%lld/%lld", ctl_int(o, "servers_up"),
			 ctl_int(o, "servers_total"));
		ctl_table_row(t, ctl_str(o, "name"), ctl_str(o, "type"), ctl_yesno(o, "enabled"),
			      lst[0] ? lst : "-", *ctl_str(o, "pool") ? ctl_str(o, "pool") : "-",
			      n);
	}
	ctl_table_print(t);

	putchar('\n');
	t = ctl_table_new(6, "POOL", "SERVER", "ENABLED", "HEALTH", "ACTIVE", "REASON");
	json_array_foreach(json_object_get(doc, "pools"), i, p)
	{
		json_array_foreach(json_object_get(p, "servers"), j, o)
		{
			snprintf(n, sizeof(n), "%lld", ctl_int(o, "active"));
			ctl_table_row(t, ctl_str(p, "name"), ctl_str(o, "name"),
				      ctl_yesno(o, "enabled"), ctl_str(o, "health"), n,
				      ctl_str(o, "reason"));
		}
	}
	ctl_table_print(t);
out:
	json_decref(doc);
	return ret;
}

/* Counter cells shared by the three stats tables, in column order. */
#define CTL_NCOUNTERS 9
static void ctl_counter_cells(json_t *o, char cells[CTL_NCOUNTERS][32])
{
	json_t *r = json_object_get(o, "responses");
	static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
	unsigned i;

	ctl_human(ctl_int(o, "requests"), cells[0], 32);
	for (i = 0; i < 4; i++)
		ctl_human(ctl_int(r, classes[i]), cells[1 + i], 32);
	ctl_human(ctl_int(o, "bytes_in"), cells[5], 32);
	ctl_human(ctl_int(o, "bytes_out"), cells[6], 32);
	ctl_human(ctl_int(o, "open_connections"), cells[7], 32);
	ctl_human(ctl_int(o, "conn_errors"), cells[8], 32);
}

#define CTL_COUNTER_HDR                                                                            \
	"REQUESTS", "2XX", "3XX", "4XX", "5XX", "BYTES IN", "BYTES OUT", "OPEN", "ERRORS"
#define CTL_COUNTER_ARGS(c) c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]

int ctl_cmd_stats(int argc, char **argv)
{
	char c[CTL_NCOUNTERS][32], up[32];
	json_t *doc = NULL, *o, *p;
	struct ctl_table *t;
	size_t i, j;
	int ret;

	ret = ctl_simple_get(argc, argv, "/api/stats", &doc);
	if (ret)
		goto out;
	if (ctl.json) {
		ctl_print_json(doc);
		goto out;
	}
	t = ctl_table_new(1 + CTL_NCOUNTERS, "VIRTUAL SERVICE", CTL_COUNTER_HDR);
	json_array_foreach(json_object_get(doc, "virtualservices"), i, o)
	{
		ctl_counter_cells(o, c);
		ctl_table_row(t, ctl_str(o, "name"), CTL_COUNTER_ARGS(c));
	}
	ctl_table_print(t);

	putchar('\n');
	t = ctl_table_new(2 + CTL_NCOUNTERS, "POOL", "UP", CTL_COUNTER_HDR);
	json_array_foreach(json_object_get(doc, "pools"), i, o)
	{
		ctl_counter_cells(o, c);
		snprintf(up, sizeof(up), "%lld/%lld", ctl_int(o, "servers_up"),
			 ctl_int(o, "servers_total"));
		ctl_table_row(t, ctl_str(o, "name"), up, CTL_COUNTER_ARGS(c));
	}
	ctl_table_print(t);

	putchar('\n');
	t = ctl_table_new(3 + CTL_NCOUNTERS, "POOL", "SERVER", "HEALTH", CTL_COUNTER_HDR);
	json_array_foreach(json_object_get(doc, "pools"), i, p)
	{
		json_array_foreach(json_object_get(p, "servers"), j, o)
		{
			ctl_counter_cells(o, c);
			ctl_table_row(t, ctl_str(p, "name"), ctl_str(o, "name"),
				      ctl_str(o, "health"), CTL_COUNTER_ARGS(c));
		}
	}
	ctl_table_print(t);

	/* issue 4: HTTP policy rule hits */
	if (json_array_size(json_object_get(doc, "httppolicysets"))) {
		static const char *const pols[] = {"http_security_policy", "http_request_policy",
						   "http_response_policy"};
		char hits[32];
		size_t k;

		putchar('\n');
		t = ctl_table_new(4, "POLICY SET", "POLICY", "RULE", "HITS");
		json_array_foreach(json_object_get(doc, "httppolicysets"), i, p)
		{
			for (k = 0; k < sizeof(pols) / sizeof(pols[0]); k++) {
				json_array_foreach(json_object_get(p, pols[k]), j, o)
				{
					ctl_human(ctl_int(o, "hits"), hits, sizeof(hits));
					ctl_table_row(t, ctl_str(p, "name"), pols[k],
						      ctl_str(o, "name"), hits);
				}
			}
		}
		ctl_table_print(t);
	}
out:
	json_decref(doc);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* logs                                                                    */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t ctl_stop;

static void ctl_on_sigint(int sig)
{
	ctl_stop = 1;
}

/*
 * The request-log line's fields are read by any of a few spellings (ours
 * and Avi's log names), so the one-line view keeps working as the log
 * format grows.
 */
static json_t *ctl_any(json_t *o, const char *const *keys)
{
	json_t *v;

	for (; *keys; keys++) {
		v = json_object_get(o, *keys);
		if (v && !json_is_null(v))
			return v;
	}
	return NULL;
}

/* "ip" or "ip:port" ("[ip]:port" for IPv6) from an address and a port field. */
static void ctl_addr(json_t *line, const char *const *ip_keys, const char *const *port_keys,
		     char *buf, size_t len)
{
	json_t *ip = ctl_any(line, ip_keys), *port = ctl_any(line, port_keys);
	const char *s = json_string_value(ip);

	if (!s || !*s)
		snprintf(buf, len, "-");
	else if (!json_is_integer(port))
		snprintf(buf, len, "%s", s);
	else if (strchr(s, ':'))
		snprintf(buf, len, "[%s]:%lld", s, json_integer_value(port));
	else
		snprintf(buf, len, "%s:%lld", s, json_integer_value(port));
}

/* Local time of a log line: an ISO string as is, or wall-clock
 * microseconds ("start_us") formatted. */
static void ctl_log_time(json_t *line, char *buf, size_t len)
{
	static const char *const keys[] = {"timestamp",	       "time",	   "@timestamp",
					   "report_timestamp", "start_us", NULL};
	json_t *v = ctl_any(line, keys);
	struct tm tm;
	long long us;
	time_t t;

	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		return;
	}
	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return;
	}
	us = (long long)json_number_value(v);
	t = us / 1000000;
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03lld", us / 1000 % 1000);
}

/* One compact human line: time client vs "METHOD URI" status server total_ms. */
static void ctl_log_line(json_t *line)
{
	static const char *const client_ip[] = {"client", "client_ip", NULL};
	static const char *const client_port[] = {"client_port", "client_src_port", NULL};
	static const char *const server_ip[] = {"server", "server_ip", NULL};
	static const char *const server_port[] = {"server_port", "server_dest_port", NULL};
	static const char *const vs_keys[] = {"vs", "vs_name", "virtualservice", NULL};
	static const char *const uri_keys[] = {"uri", "uri_path", NULL};
	static const char *const status_keys[] = {"status", "response_code", NULL};
	static const char *const total_keys[] = {"t_total_ms", "total_time", NULL};
	char tbuf[64], client[128], server[128], status[16];
	json_t *st = ctl_any(line, status_keys);

	if (ctl.json) {
		json_dumpf(line, stdout, JSON_COMPACT);
		putchar('\n');
		return;
	}
	ctl_log_time(line, tbuf, sizeof(tbuf));
	ctl_addr(line, client_ip, client_port, client, sizeof(client));
	ctl_addr(line, server_ip, server_port, server, sizeof(server));
	if (json_integer_value(st))
		snprintf(status, sizeof(status), "%lld", json_integer_value(st));
	else
		snprintf(status, sizeof(status), "-");
	printf("%s %s %s \"%s %s\" %s %s %.3fms\n", tbuf, client,
	       json_string_value(ctl_any(line, vs_keys)) ?: "-", ctl_str(line, "method"),
	       json_string_value(ctl_any(line, uri_keys)) ?: "", status, server,
	       json_number_value(ctl_any(line, total_keys)));
}

/* Fetch and print lines after *after (at most max); advances *after. */
static int ctl_logs_fetch(uint64_t *after, unsigned max)
{
	json_t *doc = NULL, *line;
	char path[128];
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "/api/logs?after=%" PRIu64 "&max=%u", *after, max);
	ret = ctl_request("GET", path, NULL, 0, &doc);
	if (ret)
		return ret;
	json_array_foreach(json_object_get(doc, "logs"), i, line) ctl_log_line(line);
	if (json_is_integer(json_object_get(doc, "last")))
		*after = ctl_int(doc, "last");
	fflush(stdout);
	json_decref(doc);
	return CTL_OK;
}

static const struct option ctl_logs_long[] = {
    {"follow", no_argument, NULL, 'f'},
    {"lines", required_argument, NULL, 'n'},
    {NULL, 0, NULL, 0},
};

int ctl_cmd_logs(int argc, char **argv)
{
	unsigned long lines = 20;
	json_t *doc = NULL;
	uint64_t last, after;
	bool follow = false;
	struct sigaction sa = {.sa_handler = ctl_on_sigint};
	char *end;
	int c, ret;

	while ((c = ctl_getopt(argc, argv, "fn:", ctl_logs_long)) != -1) {
		if (c == 'f') {
			follow = true;
		} else if (c == 'n') {
			lines = strtoul(optarg, &end, 10);
			if (*end || !*optarg || lines > 10000)
				return ctl_usage_err(argv[0], "-n %s: expected 0..10000", optarg);
		} else {
			return ctl_usage_err(argv[0], "bad arguments");
		}
	}
	if (optind < argc)
		return ctl_usage_err(argv[0], "unexpected argument '%s'", argv[optind]);

	/* Where the log ends now: asking for nothing after the largest
	 * sequence makes the daemon answer with its newest one. */
	ret = ctl_request("GET", "/api/logs?after=18446744073709551615&max=0", NULL, 0, &doc);
	if (ret)
		return ret;
	last = ctl_int(doc, "last");
	json_decref(doc);
	after = last > lines ? last - lines : 0;
	if (lines) {
		ret = ctl_logs_fetch(&after, lines);
		if (ret)
			return ret;
	}
	after = last > after ? last : after;
	if (!follow)
		return CTL_OK;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!ctl_stop) {
		usleep(200 * 1000);
		if (ctl_stop)
			break;
		ret = ctl_logs_fetch(&after, 1000);
		if (ret)
			return ret;
	}
	return CTL_OK;
}
