// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_xdp.c - xadcctl commands for the XDP data plane (issue 3): per-VS,
 * per-rule and per-SE counters, sampled drop events, where network
 * security policies are enforced, and unload.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_xdp.h"

/* The XDP tables of a /api/xdp/stats document. */
static void xdp_print_stats(json_t *x)
{
	char c[5][32], d[4][32];
	struct ctl_table *t;
	json_t *vs, *r, *se;
	size_t i, j;

	printf("\nXDP data plane: %s\n",
	       json_is_true(json_object_get(x, "enforcing")) ? "attached" : "not attached");
	if (*ctl_str(x, "nsp_enforced_by"))
		printf("network security policies enforced by: %s\n", ctl_str(x, "nsp_enforced_by"));
	if (!json_array_size(json_object_get(x, "virtualservices")))
		return;
	if (!strcmp(ctl_str(x, "nsp_enforced_by"), "userspace"))
		goto rules;	/* no packet counters: the proxy counts connections */
	t = ctl_table_new(6, "VIRTUAL SERVICE (XDP)", "PACKETS", "BYTES", "DROPS", "RATE LIMITED",
			  "ALLOWED");
	json_array_foreach(json_object_get(x, "virtualservices"), i, vs) {
		ctl_human(ctl_int(vs, "packets"), c[0], 32);
		ctl_human(ctl_int(vs, "bytes"), c[1], 32);
		ctl_human(ctl_int(vs, "drops"), c[2], 32);
		ctl_human(ctl_int(vs, "rate_limited"), c[3], 32);
		ctl_human(ctl_int(vs, "allowed"), c[4], 32);
		ctl_table_row(t, ctl_str(vs, "name"), c[0], c[1], c[2], c[3], c[4]);
	}
	ctl_table_print(t);

rules:
	/* HITS: packets the XDP program matched, or connections the proxy
	 * matched when it enforces (ENFORCED BY says which). */
	putchar('\n');
	t = ctl_table_new(8, "VIRTUAL SERVICE", "POLICY", "RULE", "ENFORCED BY", "HITS", "DROPS",
			  "RATE LIMITED", "ALLOWED");
	json_array_foreach(json_object_get(x, "virtualservices"), i, vs) {
		json_t *p = json_object_get(vs, "network_security_policy");

		json_array_foreach(json_object_get(p, "rules"), j, r) {
			bool us = json_object_get(r, "hits") != NULL;

			ctl_human(ctl_int(r, us ? "hits" : "packets"), c[0], 32);
			ctl_human(ctl_int(r, "drops"), c[2], 32);
			ctl_human(ctl_int(r, "rate_limited"), c[3], 32);
			ctl_human(ctl_int(r, "allowed"), c[4], 32);
			ctl_table_row(t, ctl_str(vs, "name"), ctl_str(p, "name"), ctl_str(r, "name"),
				      us ? ctl_str(r, "enforced_by") : "xdp", c[0], c[2], c[3],
				      c[4]);
		}
	}
	ctl_table_print(t);
	if (!strcmp(ctl_str(x, "nsp_enforced_by"), "userspace"))
		return;

	putchar('\n');
	t = ctl_table_new(6, "VIRTUAL SERVICE", "SERVICE ENGINE", "PACKETS (REDIRECTED)", "BYTES",
			  "NEW FLOWS", "SECOND CHANCE");
	json_array_foreach(json_object_get(x, "virtualservices"), i, vs) {
		json_array_foreach(json_object_get(vs, "serviceengines"), j, se) {
			char name[XADC_NAME_MAX + 8];

			snprintf(name, sizeof(name), "%s%s", ctl_str(se, "name"),
				 json_is_true(json_object_get(se, "self")) ? " (self)" : "");
			ctl_human(ctl_int(se, "packets"), d[0], 32);
			ctl_human(ctl_int(se, "bytes"), d[1], 32);
			ctl_human(ctl_int(se, "new_flows"), d[2], 32);
			ctl_human(ctl_int(se, "second_chance"), d[3], 32);
			ctl_table_row(t, ctl_str(vs, "name"), name, d[0], d[1], d[2], d[3]);
		}
	}
	ctl_table_print(t);
}

int ctl_cmd_stats_xdp(int argc, char **argv)
{
	json_t *doc = NULL;
	int ret = ctl_cmd_stats(argc, argv);

	/* -j: /api/stats already carries the "xdp" member. */
	if (ret || ctl.json)
		return ret;
	ret = ctl_request("GET", "/api/xdp/stats", NULL, 0, &doc);
	if (!ret)
		xdp_print_stats(doc);
	json_decref(doc);
	return ret;
}

int ctl_cmd_status_xdp(int argc, char **argv)
{
	json_t *doc = NULL, *x, *f;
	int ret = ctl_cmd_status(argc, argv);
	size_t i;

	if (ret || ctl.json)
		return ret;
	ret = ctl_request("GET", "/api/status", NULL, 0, &doc);
	if (ret)
		return ret;
	x = json_object_get(doc, "xdp");
	printf("\nnetwork security policies enforced by: %s\n", ctl_str(x, "nsp_enforced_by"));
	json_array_foreach(json_object_get(x, "interfaces"), i, f)
		printf("  interface %s: %s\n", ctl_str(f, "name"),
		       json_is_true(json_object_get(f, "attached")) ? ctl_str(f, "mode")
								    : "not attached");
	if (*ctl_str(x, "last_error"))
		printf("  last error: %s\n", ctl_str(x, "last_error"));
	json_decref(doc);
	return CTL_OK;
}

static void print_event(json_t *e)
{
	char when[32];
	time_t t = ctl_int(e, "time_ms") / 1000;
	struct tm tm;
	const char *rule = ctl_str(e, "network_security_policy_rule_name");

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s  %-10s  vs=%s  client=%s:%lld  vip=%s:%lld  policy=%s  rule=%s\n", when,
	       ctl_str(e, "reason"), ctl_str(e, "virtualservice"), ctl_str(e, "client_ip"),
	       ctl_int(e, "client_port"), ctl_str(e, "vip"), ctl_int(e, "vs_port"),
	       ctl_str(e, "network_security_policy"), *rule ? rule : "-");
}

/* xdp events [-n N] [-f] */
static int xdp_events(int argc, char **argv)
{
	static const struct option lo[] = {{"follow", no_argument, NULL, 'f'}, {}};
	unsigned long long after = 0, n = 100;
	bool follow = false;
	json_t *doc = NULL, *e;
	char path[128];
	int c, ret;
	size_t i;

	while ((c = ctl_getopt(argc, argv, "fn:", lo)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == 'n')
			n = strtoull(optarg, NULL, 10);
		else
			return ctl_usage_err("xdp", "bad arguments");
	}
	for (;;) {
		snprintf(path, sizeof(path), "/api/xdp/events?after=%llu&max=%llu", after, n);
		ret = ctl_request("GET", path, NULL, 0, &doc);
		if (ret)
			return ret;
		if (ctl.json && !follow) {
			ctl_print_json(doc);
		} else {
			json_array_foreach(json_object_get(doc, "events"), i, e) {
				if (ctl.json)
					ctl_print_json(e);
				else
					print_event(e);
			}
		}
		after = ctl_int(doc, "last");
		json_decref(doc);
		doc = NULL;
		if (!follow)
			return CTL_OK;
		fflush(stdout);
		n = 10000;
		usleep(500 * 1000);
	}
}

int ctl_cmd_xdp(int argc, char **argv)
{
	json_t *doc = NULL;
	int ret;

	if (argc < 2)
		return ctl_usage_err("xdp", "expected stats or events");
	if (!strcmp(argv[1], "events"))
		return xdp_events(argc - 1, argv + 1);
	if (strcmp(argv[1], "stats"))
		return ctl_usage_err("xdp", "unknown subcommand '%s' (stats or events)", argv[1]);
	while (ctl_getopt(argc - 1, argv + 1, NULL, NULL) != -1)
		return ctl_usage_err("xdp", "bad arguments");
	ret = ctl_request("GET", "/api/xdp/stats", NULL, 0, &doc);
	if (!ret) {
		if (ctl.json)
			ctl_print_json(doc);
		else
			xdp_print_stats(doc);
	}
	json_decref(doc);
	return ret;
}

/* Is a daemon answering on the unix socket? */
static bool daemon_reachable(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (ctl.url)
		return true; /* a TCP API: let the request say what happens */
	if (strlen(ctl.socket) >= sizeof(sa.sun_path))
		return true;
	strcpy(sa.sun_path, ctl.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ok;
}

/* No daemon: xadcd --xdp-unload does it with the library (next to
 * xadcctl, else from PATH). */
static int unload_direct(void)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	fprintf(stderr, "xadcctl: no xadcd on %s: unloading with xadcd --xdp-unload\n",
		ctl.socket);
	fflush(NULL);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/xadcd", self);
			if (!access(path, X_OK))
				execl(path, "xadcd", "--xdp-unload", (char *)NULL);
		}
	}
	execlp("xadcd", "xadcd", "--xdp-unload", (char *)NULL);
	ctl_err("cannot run xadcd --xdp-unload: %s", strerror(errno));
	return CTL_ERR;
}

int ctl_cmd_unload(int argc, char **argv)
{
	json_t *doc = NULL;
	int ret;

	while (ctl_getopt(argc, argv, NULL, NULL) != -1)
		return ctl_usage_err(argv[0], "bad arguments");
	if (optind < argc)
		return ctl_usage_err(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!daemon_reachable())
		return unload_direct();
	ret = ctl_request("POST", "/api/xdp/unload", "{}", 2, &doc);
	if (!ret) {
		if (ctl.json)
			ctl_print_json(doc);
		else
			printf("XDP data plane unloaded: nothing attached, no pins; network "
			       "security policies are not enforced until xadcd restarts\n");
	}
	json_decref(doc);
	return ret;
}
