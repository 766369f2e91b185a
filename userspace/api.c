// SPDX-License-Identifier: GPL-2.0
/*
 * api.c - the REST API (see api.h for the routes).
 *
 * libmicrohttpd runs one internal epoll thread per listener (unix socket,
 * optionally TCP). We create the listening sockets ourselves so the unix
 * socket gets mode 0600 before anyone can connect, and hand them to MHD.
 * Request bodies are accumulated per request up to API_BODY_MAX; the whole
 * document is then parsed once and handed to the config store, which does
 * the validation and builds the error objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xadc/api.h"
#include "xadc/xdp.h"
#include "xadc/cfg.h"
#include "xadc/common.h"
#include "xadc/reqlog.h"

#define API_MOD		   "api"
#define API_BODY_MAX	   (64u << 20)	/* one request body */
#define API_BODY_BUDGET	   (256u << 20) /* all bodies being received at once */
#define API_CONN_LIMIT	   64
#define API_CONN_TIMEOUT_S 60
#define API_LOGS_DEFAULT   100
#define API_LOGS_MAX	   10000

static struct {
	struct MHD_Daemon *unix_d;
	struct MHD_Daemon *tcp_d;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *token;
	size_t token_len;
} api;

/* Bytes held by request bodies of every connection, bounded by API_BODY_BUDGET. */
static atomic_size_t api_body_total;

/* Per-request state, MHD's *con_cls. */
struct api_req {
	char *body;
	size_t len, cap;
	unsigned reject; /* HTTP status decided while the body streamed in (413, 503) */
};

enum api_method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER };

/* ---------------------------------------------------------------------- */
/* Responses                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Send doc (reference stolen, may be NULL for an empty 204) with the given
 * status. allow, if not NULL, becomes the Allow header (405).
 */
static enum MHD_Result api_reply(struct MHD_Connection *c, unsigned status, json_t *doc,
				 const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	if (doc) {
		text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(doc);
		if (!text) {
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			text = strdup("{\"error\":\"out of memory\"}");
			if (!text)
				return MHD_NO;
		}
		len = strlen(text);
		/* A trailing newline keeps `curl` output readable; jansson's
		 * buffer has room only for the NUL, so grow it by one. */
		char *nl = realloc(text, len + 2);
		if (nl) {
			text = nl;
			text[len++] = '\n';
			text[len] = '\0';
		}
	}
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (doc || status != MHD_HTTP_NO_CONTENT)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* {"error": "<formatted>"} with the given status. */
static enum MHD_Result __attribute__((format(printf, 4, 5)))
api_error(struct MHD_Connection *c, unsigned status, const char *allow, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_reply(c, status, json_pack("{ss}", "error", msg), allow);
}

/* Map a config-store errno to an HTTP status (see cfg.h). */
static unsigned api_errno_status(int err)
{
	switch (err) {
	case -EINVAL:
		return MHD_HTTP_BAD_REQUEST;
	case -ENOENT:
		return MHD_HTTP_NOT_FOUND;
	case -EEXIST:
	case -EBUSY:
		return MHD_HTTP_CONFLICT;
	case -EPERM:
		return MHD_HTTP_FORBIDDEN;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/*
 * Reply with the store's error object (stolen) for a negative errno. The
 * store may put the errno in the object itself ("errno": list and get_one
 * return no code); it wins over fallback, and is not sent to clients.
 */
static enum MHD_Result api_cfg_error(struct MHD_Connection *c, int err, json_t *errdoc)
{
	json_t *code = json_object_get(errdoc, "errno");

	if (json_is_integer(code) && json_integer_value(code) < 0)
		err = (int)json_integer_value(code);
	if (code)
		json_object_del(errdoc, "errno");
	if (!json_is_object(errdoc)) {
		json_decref(errdoc);
		errdoc = json_pack("{ss}", "error", strerror(err < 0 ? -err : EIO));
	}
	return api_reply(c, api_errno_status(err), errdoc, NULL);
}

/* ---------------------------------------------------------------------- */
/* Request helpers                                                         */
/* ---------------------------------------------------------------------- */

static enum api_method api_method(const char *m)
{
	static const struct {
		const char *name;
		enum api_method m;
	} tbl[] = {
	    {"GET", M_GET}, {"HEAD", M_GET},	{"POST", M_POST},
	    {"PUT", M_PUT}, {"PATCH", M_PATCH}, {"DELETE", M_DELETE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(tbl); i++)
		if (!strcmp(m, tbl[i].name))
			return tbl[i].m;
	return M_OTHER;
}

/*
 * Parse the accumulated body as one JSON object. On failure queues the 400
 * reply itself and returns NULL with *replied set to its MHD result.
 */
static json_t *api_body_json(struct MHD_Connection *c, struct api_req *req,
			     enum MHD_Result *replied)
{
	json_error_t jerr;
	json_t *doc;

	if (!req->len) {
		*replied = api_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				     "request body is empty: a JSON object is expected");
		return NULL;
	}
	doc = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		char msg[400];

		snprintf(msg, sizeof(msg), "invalid JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		*replied = api_reply(c, MHD_HTTP_BAD_REQUEST,
				     json_pack("{ss ss si si}", "error", msg, "reason", jerr.text,
					       "line", jerr.line, "column", jerr.column),
				     NULL);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		*replied =
		    api_error(c, MHD_HTTP_BAD_REQUEST, NULL, "request body must be a JSON object");
		return NULL;
	}
	return doc;
}

/* Parse an unsigned decimal query argument; def when absent. -1 if malformed. */
static int api_arg_u64(struct MHD_Connection *c, const char *key, uint64_t def, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	char *end;

	*out = def;
	if (!v)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno || *end)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Routes                                                                  */
/* ---------------------------------------------------------------------- */

static enum MHD_Result api_logs(struct MHD_Connection *c)
{
	uint64_t after, max, last = 0;
	json_t *lines;

	if (api_arg_u64(c, "after", 0, &after))
		return api_error(c, MHD_HTTP_BAD_REQUEST, NULL,
				 "after: must be an unsigned integer (a log sequence number)");
	if (api_arg_u64(c, "max", API_LOGS_DEFAULT, &max))
		return api_error(c, MHD_HTTP_BAD_REQUEST, NULL, "max: must be an unsigned integer");
	if (max > API_LOGS_MAX)
		max = API_LOGS_MAX;
	lines = xadc_reqlog_recent(after, (unsigned)max, &last);
	if (!lines)
		lines = json_array();
	return api_reply(c, MHD_HTTP_OK,
			 json_pack("{sI so}", "last", (json_int_t)last, "logs", lines), NULL);
}

/* /api/configuration and /api/configuration/check */
static enum MHD_Result api_configuration(struct MHD_Connection *c, enum api_method m, bool check,
					 struct api_req *req)
{
	json_t *doc, *result = NULL, *err = NULL;
	enum MHD_Result replied;
	int ret;

	if (check && m != M_POST)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
				 "method not allowed: use POST to check a configuration");
	if (!check && m == M_GET)
		return api_reply(c, MHD_HTTP_OK, xadc_cfg_export(), NULL);
	if (!check && m != M_PUT)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, PUT",
				 "method not allowed: GET or PUT the configuration");
	doc = api_body_json(c, req, &replied);
	if (!doc)
		return replied;
	if (check)
		ret = xadc_cfg_check(doc, &result, &err);
	else
		ret = xadc_cfg_apply(doc, &result, &err);
	json_decref(doc);
	if (ret) {
		json_decref(result);
		return api_cfg_error(c, ret, err);
	}
	json_decref(err);
	return api_reply(c, MHD_HTTP_OK, result ? result : json_object(), NULL);
}

/* /api/<kind> */
static enum MHD_Result api_collection(struct MHD_Connection *c, enum api_method m, const char *kind,
				      struct api_req *req)
{
	json_t *obj, *result = NULL, *err = NULL;
	enum MHD_Result replied;
	int ret;

	if (m == M_GET) {
		const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");

		result = xadc_cfg_list(kind, name, &err);
		if (!result)
			return api_cfg_error(c, -EINVAL, err);
		json_decref(err);
		return api_reply(c, MHD_HTTP_OK, result, NULL);
	}
	if (m != M_POST)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, POST",
				 "method not allowed on a collection: GET lists, POST creates");
	obj = api_body_json(c, req, &replied);
	if (!obj)
		return replied;
	ret = xadc_cfg_create(kind, obj, &result, &err);
	json_decref(obj);
	if (ret) {
		json_decref(result);
		return api_cfg_error(c, ret, err);
	}
	json_decref(err);
	return api_reply(c, MHD_HTTP_CREATED, result ? result : json_object(), NULL);
}

/* /api/<kind>/<uuid-or-name> */
static enum MHD_Result api_object(struct MHD_Connection *c, enum api_method m, const char *kind,
				  const char *id, struct api_req *req)
{
	json_t *obj = NULL, *result = NULL, *err = NULL;
	enum MHD_Result replied;
	int ret;

	switch (m) {
	case M_GET:
		result = xadc_cfg_get_one(kind, id, &err);
		if (!result)
			return api_cfg_error(c, -ENOENT, err);
		json_decref(err);
		return api_reply(c, MHD_HTTP_OK, result, NULL);
	case M_DELETE:
		ret = xadc_cfg_delete(kind, id, &err);
		if (ret)
			return api_cfg_error(c, ret, err);
		json_decref(err);
		return api_reply(c, MHD_HTTP_NO_CONTENT, NULL, NULL);
	case M_PUT:
	case M_PATCH:
		obj = api_body_json(c, req, &replied);
		if (!obj)
			return replied;
		if (m == M_PUT)
			ret = xadc_cfg_replace(kind, id, obj, &result, &err);
		else
			ret = xadc_cfg_patch(kind, id, obj, &result, &err);
		json_decref(obj);
		if (ret) {
			json_decref(result);
			return api_cfg_error(c, ret, err);
		}
		json_decref(err);
		return api_reply(c, MHD_HTTP_OK, result ? result : json_object(), NULL);
	default:
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, PUT, PATCH, DELETE",
				 "method not allowed on an object");
	}
}

/* A GET-only document route. */
static enum MHD_Result api_get_only(struct MHD_Connection *c, enum api_method m,
				    json_t *(*fn)(void))
{
	if (m != M_GET)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET",
				 "method not allowed: use GET");
	return api_reply(c, MHD_HTTP_OK, fn(), NULL);
}

static json_t *api_health_json(void)
{
	return json_pack("{ss}", "status", "ok");
}

/* issue 3: /api/xdp/stats, /api/xdp/events?after=SEQ&max=N, POST /api/xdp/unload */
static enum MHD_Result api_xdp(struct MHD_Connection *c, enum api_method m, const char *what)
{
	uint64_t after, max;
	int err;

	if (!strcmp(what, "unload")) {
		if (m != M_POST)
			return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
					 "method not allowed: POST to unload");
		err = xadc_xdpd_unload();
		if (err)
			return api_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
					 "unloading the XDP data plane: %s", strerror(-err));
		return api_reply(c, MHD_HTTP_OK, xadc_xdpd_status_json(), NULL);
	}
	if (m != M_GET)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET", "method not allowed: use GET");
	if (!strcmp(what, "stats")) {
		struct xadc_snapshot *s = xadc_snapshot_current();
		json_t *doc = xadc_xdpd_stats_json(s);

		xadc_snapshot_put(s);
		return api_reply(c, MHD_HTTP_OK, doc, NULL);
	}
	if (!strcmp(what, "events")) {
		if (api_arg_u64(c, "after", 0, &after))
			return api_error(c, MHD_HTTP_BAD_REQUEST, NULL,
					 "after: must be an unsigned integer (an event sequence number)");
		if (api_arg_u64(c, "max", API_LOGS_DEFAULT, &max))
			return api_error(c, MHD_HTTP_BAD_REQUEST, NULL,
					 "max: must be an unsigned integer");
		if (max > API_LOGS_MAX)
			max = API_LOGS_MAX;
		return api_reply(c, MHD_HTTP_OK, xadc_xdpd_events_json(after, (unsigned)max), NULL);
	}
	return api_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such route: /api/xdp/%.100s", what);
}

/* Route a complete request. url is MHD's decoded path without the query. */
static enum MHD_Result api_dispatch(struct MHD_Connection *c, const char *url, const char *method,
				    struct api_req *req)
{
	enum api_method m = api_method(method);
	char path[1024], *kind_name, *id;
	const char *kind;
	size_t n;

	if (m == M_OTHER)
		return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, POST, PUT, PATCH, DELETE",
				 "method %s not allowed", method);
	if (strncmp(url, "/api/", 5) || strlen(url + 5) >= sizeof(path))
		return api_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such route: %.200s", url);
	strcpy(path, url + 5);
	n = strlen(path);
	if (n && path[n - 1] == '/')
		path[n - 1] = '\0';
	kind_name = path;
	id = strchr(path, '/');
	if (id)
		*id++ = '\0';

	if (!strcmp(kind_name, "configuration")) {
		if (id && strcmp(id, "check"))
			return api_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such route: %.200s", url);
		return api_configuration(c, m, id != NULL, req);
	}
	if (!id) {
		if (!strcmp(kind_name, "health"))
			return api_get_only(c, m, api_health_json);
		if (!strcmp(kind_name, "status"))
			return api_get_only(c, m, xadc_status_json);
		if (!strcmp(kind_name, "stats"))
			return api_get_only(c, m, xadc_stats_json);
		if (!strcmp(kind_name, "logs")) {
			if (m != M_GET)
				return api_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET",
						 "method not allowed: use GET");
			return api_logs(c);
		}
	}
	if (!strcmp(kind_name, "xdp") && id && !strchr(id, '/'))
		return api_xdp(c, m, id);	/* issue 3 */
	kind = *kind_name ? xadc_cfg_kind(kind_name) : NULL;
	if (!kind)
		return api_error(c, MHD_HTTP_NOT_FOUND, NULL, "unknown object kind \"%.128s\"",
				 kind_name);
	if (!id)
		return api_collection(c, m, kind, req);
	if (!*id || strchr(id, '/'))
		return api_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such route: %.200s", url);
	return api_object(c, m, kind, id, req);
}

/* ---------------------------------------------------------------------- */
/* MHD callbacks                                                           */
/* ---------------------------------------------------------------------- */

/* Constant-time comparison of the bearer token, so its length and content
 * do not leak through timing. */
static bool api_token_ok(const char *hdr)
{
	const char *tok;
	size_t len, i;
	unsigned char diff;

	if (!hdr || strncasecmp(hdr, "Bearer ", 7))
		return false;
	tok = hdr + 7;
	while (*tok == ' ')
		tok++;
	len = strlen(tok);
	diff = len != api.token_len;
	for (i = 0; i < api.token_len; i++)
		diff |= (unsigned char)api.token[i] ^ (unsigned char)(i < len ? tok[i] : 0);
	return diff == 0;
}

/* Append a chunk of the body, or mark the request rejected when too large. */
static void api_body_append(struct api_req *req, const char *data, size_t size)
{
	size_t cap;
	char *p;

	if (req->reject)
		return; /* discard the rest; the reply is decided */
	if (req->len + size > API_BODY_MAX) {
		req->reject = MHD_HTTP_CONTENT_TOO_LARGE;
		return;
	}
	if (req->len + size > req->cap) {
		cap = req->cap ? req->cap : 16384;
		while (cap < req->len + size)
			cap *= 2;
		if (cap > API_BODY_MAX)
			cap = API_BODY_MAX;
		if (atomic_fetch_add(&api_body_total, cap - req->cap) + cap - req->cap >
		    API_BODY_BUDGET) {
			atomic_fetch_sub(&api_body_total, cap - req->cap);
			req->reject = MHD_HTTP_SERVICE_UNAVAILABLE;
			return;
		}
		p = realloc(req->body, cap);
		if (!p) {
			atomic_fetch_sub(&api_body_total, cap - req->cap);
			req->reject = MHD_HTTP_SERVICE_UNAVAILABLE;
			return;
		}
		req->body = p;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, size);
	req->len += size;
}

/* First call for a request: authenticate and refuse oversized bodies before
 * any of the body is read. Returns true when a reply was queued. */
static bool api_early_reply(struct MHD_Connection *c, bool need_auth, enum MHD_Result *ret)
{
	const char *cl;

	if (need_auth && !api_token_ok(MHD_lookup_connection_value(
			     c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
		*ret = api_error(c, MHD_HTTP_UNAUTHORIZED, NULL,
				 "authentication required: send Authorization: Bearer <token>");
		return true;
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
		*ret = api_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
				 "request body too large: the limit is %u MiB", API_BODY_MAX >> 20);
		return true;
	}
	return false;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_req *req = *con_cls;
	enum MHD_Result ret;

	if (!req) {
		if (api_early_reply(c, cls != NULL, &ret))
			return ret;
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		api_body_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->reject == MHD_HTTP_CONTENT_TOO_LARGE)
		return api_error(c, req->reject, NULL,
				 "request body too large: the limit is %u MiB", API_BODY_MAX >> 20);
	if (req->reject)
		return api_error(c, req->reject, NULL,
				 "too many large requests in progress; retry later");
	return api_dispatch(c, url, method, req);
}

static void api_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct api_req *req = *con_cls;

	if (!req)
		return;
	atomic_fetch_sub(&api_body_total, req->cap);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

static void api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pr_warn(API_MOD, "libmicrohttpd: %s", msg);
}

/* ---------------------------------------------------------------------- */
/* Listeners                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Create, bind (mode 0600) and listen on the unix socket at path. A stale
 * socket left by a dead daemon is removed; a live one, or a path that is
 * not a socket, is an error. Returns the fd or a negative errno.
 */
static int api_unix_listen(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sun.sun_path)];
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		pr_err(API_MOD, "%s: unix socket path too long (max %zu)", path,
		       sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err(API_MOD, "%s: exists and is not a socket; not removing it", path);
			ret = -EEXIST;
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
			pr_err(API_MOD, "%s: another daemon is listening there", path);
			ret = -EADDRINUSE;
			goto out;
		}
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		unlink(path);
	} else {
		/* Create the run directory (one level) if missing, e.g. /run/xadc. */
		strcpy(dir, path);
		if (mkdir(dirname(dir), 0700) && errno != EEXIST) {
			ret = -errno;
			pr_err(API_MOD, "%s: cannot create directory: %s", dir, strerror(errno));
			goto out;
		}
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		pr_err(API_MOD, "%s: bind: %s", path, strerror(errno));
		goto out;
	}
	/* Only root (the owner) may talk to the API: nobody can connect before
	 * listen(), so there is no window with the umask's mode. */
	if (chmod(path, 0600) || listen(fd, 64)) {
		ret = -errno;
		pr_err(API_MOD, "%s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	return fd;
out:
	close(fd);
	return ret;
}

/* Parse "ADDR:PORT" or "[V6ADDR]:PORT" into sa. Returns 0 or -EINVAL. */
static int api_parse_listen(const char *spec, union xadc_sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = spec;
	unsigned long port;
	size_t hlen;
	char *end;

	memset(sa, 0, sizeof(*sa));
	if (*spec == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = spec + 1;
		hlen = rb - h;
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hlen = colon - spec;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port == 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &sa->in.sin_addr) == 1) {
		sa->in.sin_family = AF_INET;
		sa->in.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_port = htons(port);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Create the TCP listening socket for spec. Returns the fd or a negative errno. */
static int api_tcp_listen(const char *spec)
{
	union xadc_sockaddr sa;
	int fd, one = 1, ret;
	socklen_t len;

	if (api_parse_listen(spec, &sa)) {
		pr_err(API_MOD, "--api-listen %s: expected ADDR:PORT or [V6ADDR]:PORT", spec);
		return -EINVAL;
	}
	fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = sa.sa.sa_family == AF_INET ? sizeof(sa.in) : sizeof(sa.in6);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &sa.sa, len) || listen(fd, 64)) {
		ret = -errno;
		pr_err(API_MOD, "%s: %s", spec, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

/* Start an MHD daemon on fd. need_auth is passed as the handler's cls. */
static struct MHD_Daemon *api_daemon(int fd, bool need_auth)
{
	/* cls non-NULL means "bearer token required"; its value is unused. */
	void *cls = need_auth ? (void *)&api : NULL;

	return MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				api_access, cls, MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
				api_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)API_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)API_CONN_TIMEOUT_S, MHD_OPTION_END);
}

/*
 * Start the API: the unix socket (required) and, if opts->tcp_listen is set,
 * a TCP listener that requires opts->token. Returns 0 or a negative errno.
 */
int xadc_api_start(const struct xadc_api_opts *opts)
{
	int ufd = -1, tfd = -1, ret;

	if (!opts || !opts->unix_path || !*opts->unix_path)
		return -EINVAL;
	if (opts->tcp_listen && (!opts->token || !*opts->token)) {
		pr_err(API_MOD, "a TCP API listener needs a bearer token (--api-token)");
		return -EINVAL;
	}
	ufd = api_unix_listen(opts->unix_path);
	if (ufd < 0)
		return ufd;
	snprintf(api.unix_path, sizeof(api.unix_path), "%s", opts->unix_path);
	api.unix_d = api_daemon(ufd, false);
	if (!api.unix_d) {
		close(ufd);
		ret = -EIO;
		pr_err(API_MOD, "%s: cannot start the HTTP server", opts->unix_path);
		goto out;
	}
	if (opts->tcp_listen) {
		api.token = strdup(opts->token);
		if (!api.token) {
			ret = -ENOMEM;
			goto out;
		}
		api.token_len = strlen(api.token);
		tfd = api_tcp_listen(opts->tcp_listen);
		if (tfd < 0) {
			ret = tfd;
			goto out;
		}
		api.tcp_d = api_daemon(tfd, true);
		if (!api.tcp_d) {
			close(tfd);
			ret = -EIO;
			pr_err(API_MOD, "%s: cannot start the HTTP server", opts->tcp_listen);
			goto out;
		}
		pr_info(API_MOD, "listening on %s (bearer token required)", opts->tcp_listen);
	}
	pr_info(API_MOD, "listening on %s", opts->unix_path);
	return 0;
out:
	xadc_api_stop();
	return ret;
}

/* Stop both listeners (MHD closes the sockets) and remove the unix socket. */
void xadc_api_stop(void)
{
	if (api.tcp_d)
		MHD_stop_daemon(api.tcp_d);
	if (api.unix_d)
		MHD_stop_daemon(api.unix_d);
	if (api.unix_path[0])
		unlink(api.unix_path);
	free(api.token);
	memset(&api, 0, sizeof(api));
}
