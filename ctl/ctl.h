/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl.h - shared pieces of xadcctl: options, the HTTP client for the REST
 * API, output helpers and aligned tables.
 */
#ifndef XADC_CTL_H
#define XADC_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xadc/common.h"

#define CTL_DEFAULT_SOCKET "/run/xadc/xadcd.sock"

/* Exit codes. */
#define CTL_OK	  0
#define CTL_ERR	  1 /* the request failed or the API refused it */
#define CTL_USAGE 2 /* bad command line */

struct ctl_opts {
	const char *socket; /* unix socket path */
	const char *url;    /* "http://host:port" for the TCP API, or NULL */
	const char *token;  /* bearer token for url */
	bool json;	    /* -j: JSON output */
	bool pretty;	    /* -p: pretty JSON */
};

extern struct ctl_opts ctl;

/* "xadcctl: <message>" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One API call. path starts with "/api/". body may be NULL. On a 2xx reply
 * returns CTL_OK and stores the parsed body in *out (NULL when empty; out
 * may be NULL). Otherwise prints one clear error line and returns CTL_ERR.
 */
int ctl_request(const char *method, const char *path, const char *body, size_t len, json_t **out);

/* Percent-encode s for a URL path segment or query value; free() the result. */
char *ctl_escape(const char *s);

/* Read a whole file ("-" = stdin) into a NUL-terminated buffer. */
char *ctl_read_file(const char *path, size_t *len);

/* Print j as JSON (pretty with -p) followed by a newline. */
void ctl_print_json(json_t *j);

/* Accessors that never fail: "" / 0 for missing or mistyped members. */
const char *ctl_str(json_t *o, const char *key);
long long ctl_int(json_t *o, const char *key);
/* Human-readable count: 999, 12.3K, 4.5M, 6.7G. Returns buf. */
char *ctl_human(uint64_t v, char *buf, size_t len);

/* Aligned tables: columns sized from their content, two spaces apart. */
struct ctl_table;
struct ctl_table *ctl_table_new(unsigned ncols, ...); /* ncols header strings */
void ctl_table_row(struct ctl_table *t, ...);	      /* ncols strings (NULL = "") */
void ctl_table_print(struct ctl_table *t);	      /* prints and frees */

/* Commands: argc/argv start at the command's name. */
int ctl_cmd_apply(int argc, char **argv);
int ctl_cmd_get(int argc, char **argv);
int ctl_cmd_create(int argc, char **argv);
int ctl_cmd_replace(int argc, char **argv);
int ctl_cmd_patch(int argc, char **argv);
int ctl_cmd_delete(int argc, char **argv);
int ctl_cmd_export(int argc, char **argv);
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_stats(int argc, char **argv);
int ctl_cmd_logs(int argc, char **argv);

/*
 * Parse a command's options with getopt_long: the global -j -p -s -h are
 * accepted everywhere; extra_short/extra_long add the command's own.
 * Returns the option character, -1 at the end, '?' on error (reported).
 */
struct option;
int ctl_getopt(int argc, char **argv, const char *extra_short, const struct option *extra_long);
/* Usage error for command cmd: prints the message and its usage; returns CTL_USAGE. */
int ctl_usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
