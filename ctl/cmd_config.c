// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_config.c - xadcctl's configuration commands: apply, get, create,
 * replace, patch, delete, export.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Kinds the ctl knows by short name; any other word is passed to the API
 * as is, so kinds added later work without touching this table. */
static const char *const ctl_kinds[] = {
    "virtualservice",
    "pool",
    "healthmonitor",
    "applicationprofile",
    "applicationpersistenceprofile",
};

static const struct {
	const char *alias, *kind;
} ctl_kind_aliases[] = {
    {"vs", "virtualservice"},
    {"hm", "healthmonitor"},
    {"virtualservices", "virtualservice"},
    {"pools", "pool"},
};

/* Canonical kind for a word typed by the user: alias, unique prefix, or as is. */
static const char *ctl_kind(const char *word)
{
	const char *found = NULL;
	size_t i, len = strlen(word);
	unsigned n = 0;

	for (i = 0; i < ARRAY_SIZE(ctl_kind_aliases); i++)
		if (!strcmp(word, ctl_kind_aliases[i].alias))
			return ctl_kind_aliases[i].kind;
	for (i = 0; i < ARRAY_SIZE(ctl_kinds); i++) {
		if (!strcmp(word, ctl_kinds[i]))
			return ctl_kinds[i];
		if (!strncmp(word, ctl_kinds[i], len)) {
			found = ctl_kinds[i];
			n++;
		}
	}
	return n == 1 ? found : word;
}

/* "/api/pool?name=web" -> "web"; "/api/pool/pool-1234" -> "pool-1234". */
static const char *ctl_ref_name(const char *ref)
{
	const char *p = strstr(ref, "?name=");

	if (p)
		return p + 6;
	p = strrchr(ref, '/');
	return p ? p + 1 : ref;
}

/* s without prefix, when it starts with it. */
static const char *ctl_strip(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? s : s + n;
}

/* Print the "warnings" array of an API result on stderr. */
static void ctl_print_warnings(json_t *result)
{
	json_t *w, *warnings = json_object_get(result, "warnings");
	size_t i;

	json_array_foreach(warnings, i, w)
	{
		if (json_is_string(w)) {
			fprintf(stderr, "warning: %s\n", json_string_value(w));
		} else if (*ctl_str(w, "warning") || *ctl_str(w, "error")) {
			fprintf(stderr, "warning: %s\n",
				*ctl_str(w, "warning") ? ctl_str(w, "warning")
						       : ctl_str(w, "error"));
		} else {
			char *s = json_dumps(w, JSON_COMPACT);

			fprintf(stderr, "warning: %s\n", s ? s : "?");
			free(s);
		}
	}
}

/* Number of objects in a configuration document: the sum of its arrays. */
static long long ctl_count_objects(const char *text, size_t len)
{
	json_t *doc = json_loadb(text, len, 0, NULL), *v;
	long long n = 0;
	const char *k;

	json_object_foreach(doc, k, v) if (json_is_array(v)) n += json_array_size(v);
	json_decref(doc);
	return n;
}

static const struct option ctl_file_long[] = {
    {"file", required_argument, NULL, 'f'},
    {"check", no_argument, NULL, 'c'},
    {NULL, 0, NULL, 0},
};

/* Parse "-f FILE" (and --check when check is not NULL); positional
 * arguments are left at argv[optind..]. */
static int ctl_file_opts(int argc, char **argv, const char **file, bool *check)
{
	int c;

	*file = NULL;
	while ((c = ctl_getopt(argc, argv, check ? "f:c" : "f:", ctl_file_long)) != -1) {
		if (c == 'f')
			*file = optarg;
		else if (c == 'c' && check)
			*check = true;
		else
			return ctl_usage_err(argv[0], "bad arguments");
	}
	return CTL_OK;
}

int ctl_cmd_apply(int argc, char **argv)
{
	json_t *result = NULL, *v;
	const char *file;
	bool check = false;
	long long n;
	size_t len;
	char *text;
	int ret;

	if (ctl_file_opts(argc, argv, &file, &check))
		return CTL_USAGE;
	if (!file)
		return ctl_usage_err(argv[0], "missing -f FILE (- for stdin)");
	if (optind < argc)
		return ctl_usage_err(argv[0], "unexpected argument '%s'", argv[optind]);
	text = ctl_read_file(file, &len);
	if (!text)
		return CTL_ERR;
	ret = ctl_request(check ? "POST" : "PUT",
			  check ? "/api/configuration/check" : "/api/configuration", text, len,
			  &result);
	if (ret)
		goto out;
	if (ctl.json) {
		ctl_print_json(result ? result : json_object());
		goto out;
	}
	/* The store's per-kind counts; else count the document we sent. */
	v = json_object_get(result, "counts");
	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		n = 0;
		json_object_foreach(v, k, x) n += json_integer_value(x);
	} else {
		n = ctl_count_objects(text, len);
	}
	if (check)
		printf("valid: %lld objects (nothing applied)\n", n);
	else
		printf("applied: %lld objects\n", n);
	ctl_print_warnings(result);
out:
	json_decref(result);
	free(text);
	return ret;
}

/* One table row per object of a list result; columns depend on the kind. */
static void ctl_print_list(const char *kind, json_t *results)
{
	struct ctl_table *t;
	char a[512], b[512];
	json_t *o, *x;
	size_t i, j;

	if (!strcmp(kind, "virtualservice")) {
		t = ctl_table_new(6, "NAME", "UUID", "ENABLED", "VIP", "PORTS", "POOL");
		json_array_foreach(results, i, o)
		{
			size_t al = 0, bl = 0;

			a[0] = b[0] = '\0';
			json_array_foreach(json_object_get(o, "vip"), j, x) al += snprintf(
			    a + al, al < sizeof(a) ? sizeof(a) - al : 0, "%s%s", j ? "," : "",
			    ctl_str(json_object_get(x, "ip_address"), "addr"));
			json_array_foreach(json_object_get(o, "services"), j, x) bl +=
			    snprintf(b + bl, bl < sizeof(b) ? sizeof(b) - bl : 0, "%s%lld",
				     j ? "," : "", ctl_int(x, "port"));
			x = json_object_get(o, "enabled");
			ctl_table_row(t, ctl_str(o, "name"), ctl_str(o, "uuid"),
				      json_is_false(x) ? "no" : "yes", a, b,
				      ctl_ref_name(ctl_str(o, "pool_ref")));
		}
	} else if (!strcmp(kind, "pool")) {
		t = ctl_table_new(5, "NAME", "UUID", "LB_ALGORITHM", "SERVERS", "HEALTH_MONITORS");
		json_array_foreach(results, i, o)
		{
			size_t al = 0;

			a[0] = '\0';
			json_array_foreach(json_object_get(o, "health_monitor_refs"), j, x) al +=
			    snprintf(
				a + al, al < sizeof(a) ? sizeof(a) - al : 0, "%s%s", j ? "," : "",
				ctl_ref_name(json_string_value(x) ? json_string_value(x) : ""));
			snprintf(b, sizeof(b), "%zu",
				 json_array_size(json_object_get(o, "servers")));
			ctl_table_row(t, ctl_str(o, "name"), ctl_str(o, "uuid"),
				      ctl_strip(ctl_str(o, "lb_algorithm"), "LB_ALGORITHM_"), b, a);
		}
	} else if (!strcmp(kind, "healthmonitor")) {
		t = ctl_table_new(5, "NAME", "UUID", "TYPE", "INTERVAL", "TIMEOUT");
		json_array_foreach(results, i, o)
		{
			snprintf(a, sizeof(a), "%llds", ctl_int(o, "send_interval"));
			snprintf(b, sizeof(b), "%llds", ctl_int(o, "receive_timeout"));
			ctl_table_row(t, ctl_str(o, "name"), ctl_str(o, "uuid"),
				      ctl_strip(ctl_str(o, "type"), "HEALTH_MONITOR_"),
				      json_object_get(o, "send_interval") ? a : "",
				      json_object_get(o, "receive_timeout") ? b : "");
		}
	} else if (!strcmp(kind, "applicationprofile") ||
		   !strcmp(kind, "applicationpersistenceprofile")) {
		const char *field =
		    strcmp(kind, "applicationprofile") ? "persistence_type" : "type";

		t = ctl_table_new(3, "NAME", "UUID", "TYPE");
		json_array_foreach(results, i, o) ctl_table_row(
		    t, ctl_str(o, "name"), ctl_str(o, "uuid"),
		    ctl_strip(ctl_strip(ctl_str(o, field), "APPLICATION_PROFILE_TYPE_"),
			      "PERSISTENCE_TYPE_"));
	} else {
		t = ctl_table_new(2, "NAME", "UUID");
		json_array_foreach(results, i, o)
		    ctl_table_row(t, ctl_str(o, "name"), ctl_str(o, "uuid"));
	}
	ctl_table_print(t);
}

int ctl_cmd_get(int argc, char **argv)
{
	char path[1024], *name = NULL;
	json_t *result = NULL;
	const char *kind;
	int ret;

	while (ctl_getopt(argc, argv, NULL, NULL) != -1)
		return ctl_usage_err(argv[0], "bad arguments");
	if (optind >= argc || argc - optind > 2)
		return ctl_usage_err(argv[0],
				     argc - optind > 2 ? "too many arguments" : "missing KIND");
	kind = ctl_kind(argv[optind]);
	if (argc - optind == 2) {
		name = ctl_escape(argv[optind + 1]);
		if (!name)
			return CTL_ERR;
		snprintf(path, sizeof(path), "/api/%s/%s", kind, name);
	} else {
		snprintf(path, sizeof(path), "/api/%s", kind);
	}
	ret = ctl_request("GET", path, NULL, 0, &result);
	if (ret)
		goto out;
	if (ctl.json || name) {
		/* One object is shown as JSON; pretty unless -j asked for raw. */
		if (!ctl.json)
			ctl.pretty = true;
		ctl_print_json(result);
	} else {
		ctl_print_list(kind, json_object_get(result, "results"));
	}
out:
	json_decref(result);
	free(name);
	return ret;
}

/* create / replace / patch: send FILE to the collection or the object. */
static int ctl_send_object(int argc, char **argv, const char *method, bool named, const char *verb)
{
	char path[1024], *name = NULL, *text = NULL;
	json_t *result = NULL;
	const char *kind, *file;
	size_t len;
	int ret, want = named ? 2 : 1;

	if (ctl_file_opts(argc, argv, &file, NULL))
		return CTL_USAGE;
	if (argc - optind != want)
		return ctl_usage_err(argv[0], argc - optind < want ? "missing arguments"
								   : "too many arguments");
	if (!file)
		return ctl_usage_err(argv[0], "missing -f FILE (- for stdin)");
	kind = ctl_kind(argv[optind]);
	if (named) {
		name = ctl_escape(argv[optind + 1]);
		if (!name)
			return CTL_ERR;
		snprintf(path, sizeof(path), "/api/%s/%s", kind, name);
	} else {
		snprintf(path, sizeof(path), "/api/%s", kind);
	}
	text = ctl_read_file(file, &len);
	if (!text) {
		ret = CTL_ERR;
		goto out;
	}
	ret = ctl_request(method, path, text, len, &result);
	if (ret)
		goto out;
	if (ctl.json) {
		ctl_print_json(result ? result : json_object());
	} else {
		printf("%s %s %s", verb, kind,
		       *ctl_str(result, "name") ? ctl_str(result, "name") : argv[optind + named]);
		if (*ctl_str(result, "uuid"))
			printf(" (%s)", ctl_str(result, "uuid"));
		putchar('\n');
		ctl_print_warnings(result);
	}
out:
	json_decref(result);
	free(name);
	free(text);
	return ret;
}

int ctl_cmd_create(int argc, char **argv)
{
	return ctl_send_object(argc, argv, "POST", false, "created");
}

int ctl_cmd_replace(int argc, char **argv)
{
	return ctl_send_object(argc, argv, "PUT", true, "replaced");
}

int ctl_cmd_patch(int argc, char **argv)
{
	return ctl_send_object(argc, argv, "PATCH", true, "patched");
}

int ctl_cmd_delete(int argc, char **argv)
{
	char path[1024], *name;
	const char *kind;
	int ret;

	while (ctl_getopt(argc, argv, NULL, NULL) != -1)
		return ctl_usage_err(argv[0], "bad arguments");
	if (argc - optind != 2)
		return ctl_usage_err(argv[0], "expected KIND NAME");
	kind = ctl_kind(argv[optind]);
	name = ctl_escape(argv[optind + 1]);
	if (!name)
		return CTL_ERR;
	snprintf(path, sizeof(path), "/api/%s/%s", kind, name);
	ret = ctl_request("DELETE", path, NULL, 0, NULL);
	if (!ret && !ctl.json)
		printf("deleted %s %s\n", kind, argv[optind + 1]);
	free(name);
	return ret;
}

int ctl_cmd_export(int argc, char **argv)
{
	json_t *doc = NULL;
	int ret;

	while (ctl_getopt(argc, argv, NULL, NULL) != -1)
		return ctl_usage_err(argv[0], "bad arguments");
	if (optind < argc)
		return ctl_usage_err(argv[0], "unexpected argument '%s'", argv[optind]);
	ret = ctl_request("GET", "/api/configuration", NULL, 0, &doc);
	if (!ret) {
		if (!ctl.json)
			ctl.pretty = true;
		ctl_print_json(doc ? doc : json_object());
	}
	json_decref(doc);
	return ret;
}
