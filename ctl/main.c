// SPDX-License-Identifier: GPL-2.0
/*
 * xadcctl - command line client for xadcd's REST API.
 *
 *   xadcctl [OPTIONS] COMMAND [ARGS]
 *
 * Commands may be abbreviated to any unique prefix (bpftool style).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_xdp.h"

struct ctl_opts ctl = {.socket = CTL_DEFAULT_SOCKET};

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct ctl_cmd ctl_cmds[] = {
    {"apply", ctl_cmd_apply, "apply -f FILE [--check]   replace the whole configuration"},
    {"get", ctl_cmd_get, "get KIND [NAME]            list objects, or show one"},
    {"create", ctl_cmd_create, "create KIND -f FILE        create one object"},
    {"replace", ctl_cmd_replace, "replace KIND NAME -f FILE  replace one object"},
    {"patch", ctl_cmd_patch, "patch KIND NAME -f FILE    merge-patch one object"},
    {"delete", ctl_cmd_delete, "delete KIND NAME           delete one object"},
    {"export", ctl_cmd_export, "export                     print the whole configuration"},
    {"status", ctl_cmd_status_xdp,
     "status                     daemon, virtual services, servers, XDP"},
    {"stats", ctl_cmd_stats_xdp,
     "stats                      counters per virtual service, pool, server, XDP"},
    {"logs", ctl_cmd_logs, "logs [-f] [-n N]           request log (-f: follow)"},
    /* issue 3 */
    {"xdp", ctl_cmd_xdp, "xdp stats|events [-f] [-n N] XDP counters, sampled drops"},
    {"unload", ctl_cmd_unload, "unload                     detach the XDP data plane, remove pins"},
};

static void ctl_usage(FILE *f)
{
	fprintf(f, "Usage: xadcctl [OPTIONS] COMMAND [ARGS]\n\nCommands (any unique prefix):\n");
	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		fprintf(f, "  %s\n", ctl_cmds[i].usage);
	fprintf(f,
		"\nKINDS: virtualservice (vs), pool, healthmonitor (hm), applicationprofile,\n"
		"       applicationpersistenceprofile, ... (any kind the API knows)\n"
		"\nOptions (also accepted after the command):\n"
		"  -s, --socket PATH  API unix socket (default $XADC_SOCKET or " CTL_DEFAULT_SOCKET
		")\n"
		"      --url URL      use the TCP API at URL (http://host:port) instead\n"
		"      --token T      bearer token for --url (default $XADC_TOKEN)\n"
		"  -j, --json         JSON output\n"
		"  -p, --pretty       pretty-printed JSON output (implies -j)\n"
		"  -h, --help         this help\n"
		"\nExit status: 0 success, 1 error (API or connection), 2 usage error.\n");
}

static const struct option ctl_global_long[] = {
    {"socket", required_argument, NULL, 's'}, {"url", required_argument, NULL, 'U'},
    {"token", required_argument, NULL, 'T'},  {"json", no_argument, NULL, 'j'},
    {"pretty", no_argument, NULL, 'p'},	      {"help", no_argument, NULL, 'h'},
};

/* Handle a global option; returns false if c is not one. */
static bool ctl_global_opt(int c)
{
	switch (c) {
	case 's':
		ctl.socket = optarg;
		return true;
	case 'U':
		ctl.url = optarg;
		return true;
	case 'T':
		ctl.token = optarg;
		return true;
	case 'j':
		ctl.json = true;
		return true;
	case 'p':
		ctl.json = ctl.pretty = true;
		return true;
	default:
		return false;
	}
}

int ctl_getopt(int argc, char **argv, const char *extra_short, const struct option *extra_long)
{
	static struct option longopts[32];
	char shortopts[64];
	size_t n = 0;
	int c;

	/* Rebuilt on every call: cheap, and keeps the tables in one place. */
	memset(longopts, 0, sizeof(longopts));
	for (size_t i = 0; i < ARRAY_SIZE(ctl_global_long); i++)
		longopts[n++] = ctl_global_long[i];
	for (; extra_long && extra_long[0].name && n < ARRAY_SIZE(longopts) - 1; extra_long++)
		longopts[n++] = *extra_long;
	snprintf(shortopts, sizeof(shortopts), ":s:jph%s", extra_short ? extra_short : "");
	for (;;) {
		c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c == -1 || !ctl_global_opt(c))
			break;
	}
	if (c == 'h') {
		for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
			if (!strcmp(ctl_cmds[i].name, argv[0]))
				printf("usage: xadcctl %s\n", ctl_cmds[i].usage);
		exit(CTL_OK);
	}
	if (c == ':')
		exit(ctl_usage_err(argv[0], "option %s needs an argument", argv[optind - 1]));
	if (c == '?') {
		if (optopt)
			exit(ctl_usage_err(argv[0], "unknown option -%c", optopt));
		exit(ctl_usage_err(argv[0], "unknown option %s", argv[optind - 1]));
	}
	return c;
}

int ctl_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xadcctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (!strcmp(ctl_cmds[i].name, cmd))
			fprintf(stderr, "usage: xadcctl %s\n", ctl_cmds[i].usage);
	return CTL_USAGE;
}

/* Exact name, else the unique command that name is a prefix of. */
static const struct ctl_cmd *ctl_find_cmd(const char *name)
{
	const struct ctl_cmd *found = NULL;
	size_t i, len = strlen(name), nmatch = 0;

	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
		if (len && !strncmp(ctl_cmds[i].name, name, len)) {
			found = &ctl_cmds[i];
			nmatch++;
		}
	if (nmatch == 1)
		return found;
	if (nmatch > 1) {
		fprintf(stderr, "xadcctl: ambiguous command '%s': could be", name);
		for (i = 0; i < ARRAY_SIZE(ctl_cmds); i++)
			if (!strncmp(ctl_cmds[i].name, name, len))
				fprintf(stderr, " %s", ctl_cmds[i].name);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "xadcctl: unknown command '%s' (try xadcctl -h)\n", name);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *cmd;
	const char *env;
	int c, ret;

	env = getenv("XADC_SOCKET");
	if (env && *env)
		ctl.socket = env;
	env = getenv("XADC_TOKEN");
	if (env && *env)
		ctl.token = env;

	/* Global options stop at the command word ('+'). */
	for (;;) {
		c = getopt_long(argc, argv, "+:s:jph", ctl_global_long, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_OK;
		}
		if (!ctl_global_opt(c)) {
			if (c == ':')
				ctl_err("option %s needs an argument", argv[optind - 1]);
			else
				ctl_err("unknown option %s", argv[optind - 1]);
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		ctl_usage(stdout);
		return CTL_OK;
	}
	cmd = ctl_find_cmd(argv[optind]);
	if (!cmd)
		return CTL_USAGE;
	if (ctl.url && strncmp(ctl.url, "http://", 7) && strncmp(ctl.url, "https://", 8)) {
		ctl_err("--url %s: expected http://HOST:PORT", ctl.url);
		return CTL_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		ctl_err("cannot initialise libcurl");
		return CTL_ERR;
	}
	argv[optind] = (char *)cmd->name; /* full name in messages */
	argc -= optind;
	argv += optind;
	optind = 0; /* GNU getopt: reinitialise, the command parses its own options */
	ret = cmd->fn(argc, argv);
	curl_global_cleanup();
	fflush(stdout);
	return ret;
}
