// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - xadcd, the Service Engine daemon: option parsing, start-up
 * order, signal handling and the shutdown ladder.
 *
 * Start-up order matters: the request log must exist before a worker can
 * log, the configuration must be compiled (and published) before workers
 * open listeners, and the API comes last so nobody can change a
 * configuration the data path has not picked up yet. Shutdown runs the
 * ladder in reverse.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xadc/api.h"
#include "xadc/cfg.h"
#include "xadc/common.h"
#include "xadc/health.h"
#include "xadc/proxy.h"
#include "xadc/reqlog.h"
#include "xadc/snapshot.h"
#include "xadc/xdp.h"

#define XADC_VERSION "0.1.0"
#define DEFAULT_API_SOCKET "/run/xadc/xadcd.sock"
#define DEFAULT_STATE "/var/lib/xadc/state.json"

struct xadcd_opts {
	const char *config;
	const char *api_socket;
	const char *api_listen;
	const char *api_token;
	const char *log;
	const char *state;
	unsigned workers;
	unsigned drain_ms;
	unsigned maxconn;
	bool check_only;
	/* issue 3: XDP data plane */
	const char *ifnames[16];
	unsigned nifs;
	enum xadc_xdp_mode xdp_mode;
	bool keep_dataplane;
	bool xdp_unload;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xadcd [OPTIONS]\n"
		"The xadc Service Engine: an HTTP/1.1 and L4 proxy configured over REST.\n\n"
		"  -c, --config FILE        load this configuration (it becomes the saved state)\n"
		"  -s, --api-socket PATH    REST API unix socket, mode 0600 (default %s)\n"
		"      --api-listen A:P     also serve the API on TCP (needs --api-token)\n"
		"      --api-token TOKEN    bearer token for the TCP API (or env XADC_API_TOKEN)\n"
		"  -w, --workers N          worker threads (default: one per online CPU)\n"
		"  -l, --log FILE           request log, one JSON line per request\n"
		"      --state FILE         saved configuration (default %s; \"none\" disables)\n"
		"      --drain-timeout MS   on SIGTERM, wait this long for requests (default 10000)\n"
		"      --maxconn N          client connections per worker (default from RLIMIT_NOFILE)\n"
		"      --check              validate --config and exit (0 valid, 1 invalid)\n"
		"      --interface IFNAME   attach the XDP data plane (network security policies,\n"
		"                           scale-out steering) to this data interface; repeatable\n"
		"      --xdp-mode MODE      native, generic or auto (default: native, else generic)\n"
		"      --keep-dataplane     on exit leave the XDP program attached and maps pinned\n"
		"      --xdp-unload         detach xadc's XDP program everywhere, remove the pins, exit\n"
		"  -v, --verbose            debug logging\n"
		"  -V, --version            print the version\n"
		"  -h, --help               this text\n"
		"Signals: SIGTERM/SIGINT drain and exit, SIGHUP reopens the request log.\n",
		DEFAULT_API_SOCKET, DEFAULT_STATE);
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "xadcd: %s: \"%s\" is not a number in %u..%u\n", opt, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct xadcd_opts *o)
{
	enum { OPT_API_LISTEN = 256, OPT_API_TOKEN, OPT_STATE, OPT_DRAIN, OPT_MAXCONN, OPT_CHECK,
	       OPT_IFACE, OPT_XDP_MODE, OPT_KEEP_DP, OPT_XDP_UNLOAD };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "api-socket", required_argument, NULL, 's' },
		{ "api-listen", required_argument, NULL, OPT_API_LISTEN },
		{ "api-token", required_argument, NULL, OPT_API_TOKEN },
		{ "workers", required_argument, NULL, 'w' },
		{ "log", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "maxconn", required_argument, NULL, OPT_MAXCONN },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "interface", required_argument, NULL, OPT_IFACE },
		{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
		{ "keep-dataplane", no_argument, NULL, OPT_KEEP_DP },
		{ "xdp-unload", no_argument, NULL, OPT_XDP_UNLOAD },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	o->api_socket = DEFAULT_API_SOCKET;
	o->state = DEFAULT_STATE;
	o->drain_ms = 10000;
	o->api_token = getenv("XADC_API_TOKEN");
	while ((c = getopt_long(argc, argv, "c:s:w:l:vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 's': o->api_socket = optarg; break;
		case OPT_API_LISTEN: o->api_listen = optarg; break;
		case OPT_API_TOKEN: o->api_token = optarg; break;
		case 'w':
			if (parse_uint("--workers", optarg, 1, XADC_MAX_WORKERS, &o->workers))
				return -EINVAL;
			break;
		case 'l': o->log = optarg; break;
		case OPT_STATE: o->state = strcmp(optarg, "none") ? optarg : NULL; break;
		case OPT_DRAIN:
			if (parse_uint("--drain-timeout", optarg, 0, 3600000, &o->drain_ms))
				return -EINVAL;
			break;
		case OPT_MAXCONN:
			if (parse_uint("--maxconn", optarg, 1, 10000000, &o->maxconn))
				return -EINVAL;
			break;
		case OPT_CHECK: o->check_only = true; break;
		case OPT_IFACE:
			if (o->nifs == ARRAY_SIZE(o->ifnames)) {
				fprintf(stderr, "xadcd: at most %zu --interface\n",
					ARRAY_SIZE(o->ifnames));
				return -EINVAL;
			}
			o->ifnames[o->nifs++] = optarg;
			break;
		case OPT_XDP_MODE:
			if (!strcmp(optarg, "native")) {
				o->xdp_mode = XADC_XDP_MODE_NATIVE;
			} else if (!strcmp(optarg, "generic")) {
				o->xdp_mode = XADC_XDP_MODE_GENERIC;
			} else if (!strcmp(optarg, "auto")) {
				o->xdp_mode = XADC_XDP_MODE_AUTO;
			} else {
				fprintf(stderr, "xadcd: --xdp-mode: \"%s\" is not native, "
					"generic or auto\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_KEEP_DP: o->keep_dataplane = true; break;
		case OPT_XDP_UNLOAD: o->xdp_unload = true; break;
		case 'v': xadc_log_level = XADC_LOG_DEBUG; break;
		case 'V': printf("xadcd %s\n", XADC_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xadcd: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (o->api_listen && (!o->api_token || !*o->api_token)) {
		fprintf(stderr, "xadcd: --api-listen needs --api-token (or XADC_API_TOKEN)\n");
		return -EINVAL;
	}
	if (o->check_only && !o->config) {
		fprintf(stderr, "xadcd: --check needs --config FILE\n");
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p for the parent directory of path (for /run/xadc, /var/lib/xadc). */
static int mkdir_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	char *p;

	if (!path || snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static void print_err(const char *what, json_t *err)
{
	const char *msg = err ? json_string_value(json_object_get(err, "error")) : NULL;

	fprintf(stderr, "xadcd: %s: %s\n", what, msg ? msg : "failed");
}

static void print_warnings(json_t *result)
{
	json_t *w = result ? json_object_get(result, "warnings") : NULL;
	size_t i;
	json_t *v;

	json_array_foreach(w, i, v)
		fprintf(stderr, "xadcd: warning: %s\n", json_string_value(v));
}

/* --check: compile the file exactly as an apply would, print the verdict. */
static int check_config(const char *path)
{
	json_error_t jerr;
	json_t *doc, *warnings = NULL, *err = NULL;
	struct xadc_snapshot *snap;
	int ret = 1;

	doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		fprintf(stderr, "xadcd: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
		return 1;
	}
	snap = xadc_cfg_compile(doc, &warnings, &err);
	if (snap) {
		json_t *w = json_object();

		json_object_set(w, "warnings", warnings ? warnings : json_array());
		print_warnings(w);
		json_decref(w);
		printf("%s: valid (%u virtual services, %u pools)\n", path, snap->nvs, snap->npools);
		xadc_snapshot_put(snap);
		ret = 0;
	} else {
		print_err(path, err);
	}
	json_decref(warnings);
	json_decref(err);
	json_decref(doc);
	return ret;
}

/* Each compiled configuration goes live here: data path, then health checks. */
static void publish_snapshot(struct xadc_snapshot *snap)
{
	/* issue 3: the maps first, so a VS's policy is in force in XDP by
	 * the time its listener could see traffic from the new config. */
	xadc_xdpd_apply(snap);
	xadc_snapshot_publish(snap);
	xadc_proxy_kick();
	xadc_health_kick();
	pr_info("main", "configuration generation %llu is live (%u virtual services, %u pools)",
		(unsigned long long)snap->generation, snap->nvs, snap->npools);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > XADC_MAX_WORKERS ? XADC_MAX_WORKERS : (unsigned)n;
}

int main(int argc, char **argv)
{
	struct xadcd_opts o = {};
	struct xadc_proxy_opts popts = {};
	struct xadc_api_opts aopts = {};
	json_t *err = NULL;
	sigset_t sigs;
	int sig, ret = 1;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (o.check_only)
		return check_config(o.config);
	if (o.xdp_unload) {
		int n = xadc_xdp_unload_all(getenv("XADC_XDP_PIN_DIR"));

		if (n < 0)
			return 1;
		printf("xadcd: XDP data plane unloaded (%d attachment%s removed, pins gone)\n",
		       n, n == 1 ? "" : "s");
		return 0;
	}

	/* Signals are taken synchronously by this thread alone; every thread
	 * created below inherits the blocked mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	xadc_nworkers = o.workers ? o.workers : online_cpus();

	if (o.state && mkdir_parent(o.state, 0700))
		pr_warn("main", "cannot create the directory of %s: %s", o.state, strerror(errno));
	if (mkdir_parent(o.api_socket, 0700))
		pr_warn("main", "cannot create the directory of %s: %s", o.api_socket,
			strerror(errno));

	if (xadc_reqlog_start(o.log, xadc_nworkers)) {
		pr_err("main", "cannot start the request log%s%s", o.log ? " on " : "",
		       o.log ? o.log : "");
		goto out;
	}
	{
		struct xadc_xdpd_opts xo = {
			.ifnames = o.ifnames,
			.nifs = o.nifs,
			.mode = o.xdp_mode,
			.keep = o.keep_dataplane,
		};

		if (xadc_xdpd_start(&xo)) {
			pr_err("main", "cannot start the XDP data plane");
			goto out_xdp;
		}
	}
	if (xadc_cfg_init(o.state, o.config, publish_snapshot, &err)) {
		print_err(o.config ? o.config : (o.state ? o.state : "configuration"), err);
		goto out_xdp;
	}
	/* After the first snapshot: the maps hold its VIPs and policies. */
	if (xadc_xdpd_attach()) {
		pr_err("main", "cannot attach the XDP data plane");
		goto out_cfg;
	}
	if (xadc_health_start()) {
		pr_err("main", "cannot start the health monitor thread");
		goto out_cfg;
	}
	popts.nworkers = xadc_nworkers;
	popts.drain_timeout_ms = o.drain_ms;
	popts.maxconn = o.maxconn;
	if (xadc_proxy_start(&popts)) {
		pr_err("main", "cannot start the workers");
		goto out_health;
	}
	aopts.unix_path = o.api_socket;
	aopts.tcp_listen = o.api_listen;
	aopts.token = o.api_token;
	if (xadc_api_start(&aopts)) {
		pr_err("main", "cannot start the REST API on %s", o.api_socket);
		goto out_proxy;
	}
	pr_info("main", "xadcd %s running: %u workers, API on %s%s%s", XADC_VERSION,
		xadc_nworkers, o.api_socket, o.api_listen ? " and " : "",
		o.api_listen ? o.api_listen : "");

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			pr_info("main", "SIGHUP: reopening the request log");
			xadc_reqlog_reopen();
			continue;
		}
		pr_info("main", "%s: draining and stopping", strsignal(sig));
		break;
	}
	ret = 0;

	xadc_api_stop();
out_proxy:
	xadc_proxy_stop();
out_health:
	xadc_health_stop();
out_cfg:
	xadc_cfg_fini();
out_xdp:
	xadc_xdpd_stop();	/* detaches and unpins unless --keep-dataplane */
	xadc_reqlog_stop();
out:
	json_decref(err);
	return ret;
}
