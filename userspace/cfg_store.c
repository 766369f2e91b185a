// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_store.c - the configuration store: CRUD and whole-document apply on
 * Avi-shaped objects, atomic persistence, and publishing of snapshots.
 *
 * Every mutation builds a new store-form document from a copy of the
 * current one, compiles it whole, writes it to the state file, and only
 * then swaps it in and publishes the snapshot. A change that fails at any
 * step leaves the store, the state file and the data path as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "../policy/http_policy.h"

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *store; /* store form, built-ins excluded */
static char *state_path;
static xadc_cfg_publish_fn publish_cb;

/* An error object that also carries the errno, so a REST layer holding
 * only the object (list, get_one) can still pick the status. */
static json_t *store_err(int code, const char *path, const char *reason)
{
	json_t *e = xadc_cfg_error(path, "%s", reason);

	json_object_set_new(e, "errno", json_integer(code));
	return e;
}

static json_t *store_empty(void)
{
	json_t *doc = json_object();
	int k;

	for (k = 0; k < CFG_NKINDS; k++)
		json_object_set_new(doc, cfg_kind_names[k], json_array());
	return doc;
}

static json_t *store_cur(void)
{
	if (!store)
		store = store_empty();
	return store;
}

static void uuid4(char *buf, size_t len)
{
	unsigned char b[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n <= 0) {
			/* Never happens on a kernel with getrandom; still unique
			 * enough together with the clock for an object id. */
			uint64_t t = xadc_wall_us() ^ (uint64_t)getpid() << 40;

			memcpy(b + got, &t, sizeof(b) - got < 8 ? sizeof(b) - got : 8);
			got += sizeof(b) - got < 8 ? sizeof(b) - got : 8;
			continue;
		}
		got += n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* Give obj a uuid if it has none: the one the object of the same name had
 * in prev (a re-applied document keeps its ids), else a new "kind-uuid4". */
static void assign_uuid(int kind, json_t *obj, json_t *prev)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	char id[96], u[40];
	json_t *p;
	size_t i;

	if (json_is_string(json_object_get(obj, "uuid")))
		return;
	json_array_foreach(json_object_get(prev, cfg_kind_names[kind]), i, p) {
		if (name && !strcmp(name, json_string_value(json_object_get(p, "name")) ?: "")) {
			json_object_set(obj, "uuid", json_object_get(p, "uuid"));
			return;
		}
	}
	uuid4(u, sizeof(u));
	snprintf(id, sizeof(id), "%s-%s", cfg_kind_names[kind], u);
	json_object_set_new(obj, "uuid", json_string(id));
}

/* Write doc to path atomically: temp file in the same directory, fsync,
 * rename over, fsync the directory so the rename itself is durable. */
static int persist_write(const char *path, json_t *doc)
{
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, dfd, ret = -EIO;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	if (json_dumpfd(doc, fd, JSON_INDENT(2)) || write(fd, "\n", 1) != 1 || fsync(fd))
		goto out;
	if (close(fd)) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path))
		goto out;
	free(tmp);
	tmp = NULL;
	dircopy = strdup(path);
	if (!dircopy)
		goto out;
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	if (ret)
		pr_err("cfg", "cannot write state file %s: %m", path);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	return ret;
}

static json_t *counts(json_t *doc)
{
	json_t *c = json_object();
	int k;

	for (k = 0; k < CFG_NKINDS; k++)
		json_object_set_new(
		    c, cfg_kind_names[k],
		    json_integer(json_array_size(json_object_get(doc, cfg_kind_names[k]))));
	return c;
}

/* issue 4: per-rule hit counters survive an apply that keeps the rule. */
static void store_carry_hits(struct xadc_snapshot *snap)
{
	struct xadc_snapshot *live = xadc_snapshot_current();

	xadc_hp_carry_hits(snap, live);
	if (live)
		xadc_snapshot_put(live);
}

/*
 * Compile next (store form); if that works and, when persist is set, the
 * state file is written, make next the store and publish. Takes a
 * reference on next. *warnings receives the compiler's warnings (new ref).
 */
static int commit(json_t *next, bool persist, uint64_t *gen, json_t **warnings, json_t **err)
{
	struct xadc_snapshot *snap;
	json_t *w = NULL;

	snap = xadc_cfg_compile(next, &w, err);
	if (!snap) {
		json_decref(w);
		return -EINVAL;
	}
	if (persist && state_path && persist_write(state_path, next)) {
		xadc_snapshot_put(snap);
		json_decref(w);
		*err = store_err(-EIO, "", "cannot write the state file, change not applied");
		return -EIO;
	}
	json_incref(next); /* before the decref: next may be the store itself */
	json_decref(store);
	store = next;
	if (gen)
		*gen = snap->generation;
	store_carry_hits(snap);
	xadc_snapshot_publish(snap);
	if (publish_cb)
		publish_cb(snap);
	xadc_snapshot_put(snap);
	if (warnings)
		*warnings = w;
	else
		json_decref(w);
	return 0;
}

/* Append the items of src to dst. */
static void append_all(json_t *dst, json_t *src)
{
	if (src)
		json_array_extend(dst, src);
}

/* Whole-document apply or check with the lock held. */
static int apply_locked(json_t *doc, bool dry, bool persist, json_t **result, json_t **err)
{
	json_t *next, *w = NULL, *obj, *res;
	struct xadc_snapshot *snap;
	struct cfg_ctx c;
	uint64_t gen = 0;
	size_t i;
	int k, ret;

	cfg_ctx_init(&c);
	next = cfg_normalize(&c, doc);
	if (!next) {
		*err = c.err;
		json_decref(c.warnings);
		return -EINVAL;
	}
	for (k = 0; k < CFG_NKINDS; k++)
		json_array_foreach(json_object_get(next, cfg_kind_names[k]), i, obj) {
			assign_uuid(k, obj, store);
		}
	if (dry) {
		snap = xadc_cfg_compile(next, &w, err);
		ret = snap ? 0 : -EINVAL;
		xadc_snapshot_put(snap);
	} else {
		ret = commit(next, persist, &gen, &w, err);
	}
	if (!ret && result) {
		append_all(c.warnings, w);
		res = json_pack("{s:o, s:O}", "counts", counts(next), "warnings", c.warnings);
		if (!dry)
			json_object_set_new(res, "generation", json_integer(gen));
		*result = res;
	}
	json_decref(w);
	json_decref(c.warnings);
	json_decref(next);
	return ret;
}

int xadc_cfg_apply(json_t *doc, json_t **result, json_t **err)
{
	int ret;

	pthread_mutex_lock(&store_lock);
	ret = apply_locked(doc, false, true, result, err);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

int xadc_cfg_check(json_t *doc, json_t **result, json_t **err)
{
	int ret;

	pthread_mutex_lock(&store_lock);
	ret = apply_locked(doc, true, false, result, err);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

/* Load a JSON file; -ENOENT if it does not exist, -EINVAL with *err. */
static int load_file(const char *path, const char *what, json_t **out, json_t **err)
{
	json_error_t jerr;
	char reason[400];

	if (access(path, F_OK) && errno == ENOENT)
		return -ENOENT;
	*out = json_load_file(path, 0, &jerr);
	if (*out)
		return 0;
	snprintf(reason, sizeof(reason), "%s is not valid JSON: line %d column %d: %s", what,
		 jerr.line, jerr.column, jerr.text);
	*err = store_err(-EINVAL, path, reason);
	return -EINVAL;
}

int xadc_cfg_init(const char *spath, const char *config_path, xadc_cfg_publish_fn publish,
		  json_t **err)
{
	json_t *doc = NULL, *res = NULL, *w;
	int ret;

	pthread_mutex_lock(&store_lock);
	json_decref(store);
	store = NULL;
	free(state_path);
	state_path = spath ? strdup(spath) : NULL;
	publish_cb = publish;
	if (config_path) {
		ret = load_file(config_path, "configuration file", &doc, err);
		if (ret == -ENOENT) {
			*err = store_err(-EINVAL, config_path, "configuration file does not exist");
			ret = -EINVAL;
		}
		if (!ret)
			ret = apply_locked(doc, false, true, &res, err);
	} else if (state_path &&
		   (ret = load_file(state_path, "state file (corrupt)", &doc, err)) != -ENOENT) {
		/* A state file that does not compile is as bad as a corrupt
		 * one: starting empty would silently drop the configuration. */
		if (!ret)
			ret = apply_locked(doc, false, false, &res, err);
	} else {
		ret = commit(store_cur(), false, NULL, NULL, err);
	}
	w = json_object_get(res, "warnings");
	if (!ret && json_array_size(w))
		pr_warn("cfg", "configuration loaded with %zu warning(s)", json_array_size(w));
	json_decref(res);
	json_decref(doc);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

void xadc_cfg_fini(void)
{
	pthread_mutex_lock(&store_lock);
	json_decref(store);
	store = NULL;
	free(state_path);
	state_path = NULL;
	publish_cb = NULL;
	pthread_mutex_unlock(&store_lock);
}

/* Index in doc[kind] of the object whose uuid, else name, is id; -1. */
static ssize_t find_obj(json_t *doc, int kind, const char *id)
{
	json_t *arr = json_object_get(doc, cfg_kind_names[kind]), *o;
	size_t i;

	json_array_foreach(
	    arr, i,
	    o) if (!strcmp(json_string_value(json_object_get(o, "uuid")) ?: "", id)) return i;
	json_array_foreach(
	    arr, i,
	    o) if (!strcmp(json_string_value(json_object_get(o, "name")) ?: "", id)) return i;
	return -1;
}

static int kind_or_err(const char *kind, json_t **err)
{
	int k = cfg_kind_id(kind);
	char reason[200];

	if (k < 0) {
		snprintf(reason, sizeof(reason), "unknown kind \"%s\"", kind ? kind : "");
		*err = store_err(-ENOENT, "", reason);
	}
	return k;
}

/* Index in doc[kind] of the object named name, or -1. */
static ssize_t find_name(json_t *doc, int kind, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(
	    json_object_get(doc, cfg_kind_names[kind]), i,
	    o) if (!strcmp(json_string_value(json_object_get(o, "name")) ?: "", name)) return i;
	return -1;
}

/* Name collisions a create or replace must refuse with -EEXIST; skip is
 * the index being replaced (-1 for a create). */
static int check_name(int k, json_t *obj, ssize_t skip, json_t **err)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	char path[XADC_NAME_MAX + 64];
	ssize_t at;

	if (!name)
		return 0; /* the compiler reports it with the path */
	snprintf(path, sizeof(path), "%s[%s]", cfg_kind_names[k], name);
	if (cfg_builtin_find(k, name)) {
		*err = store_err(-EEXIST, path, "a built-in object has this name");
		return -EEXIST;
	}
	at = find_name(store_cur(), k, name);
	if (at >= 0 && at != skip) {
		*err = store_err(-EEXIST, path, "already exists");
		return -EEXIST;
	}
	return 0;
}

/* The stored object plus the change's warnings, for the REST reply. */
static json_t *obj_result(json_t *obj, json_t *warnings)
{
	json_t *r = json_deep_copy(obj);

	if (json_array_size(warnings))
		json_object_set(r, "warnings", warnings);
	return r;
}

/* Put obj at index at (or append when at < 0) in a copy of the store and
 * commit that copy. */
static int store_put(int k, json_t *obj, ssize_t at, json_t **result, json_t **err)
{
	json_t *next = json_deep_copy(store_cur()), *w = NULL;
	json_t *arr = json_object_get(next, cfg_kind_names[k]);
	int ret;

	if (at < 0)
		json_array_append(arr, obj);
	else
		json_array_set(arr, at, obj);
	ret = commit(next, true, NULL, &w, err);
	if (!ret && result)
		*result = obj_result(obj, w);
	json_decref(w);
	json_decref(next);
	return ret;
}

static int not_object(int k, json_t **err)
{
	char path[64];

	snprintf(path, sizeof(path), "%s", cfg_kind_names[k]);
	*err = store_err(-EINVAL, path, "expected a JSON object");
	return -EINVAL;
}

int xadc_cfg_create(const char *kind, json_t *obj, json_t **result, json_t **err)
{
	json_t *copy = NULL;
	int k, ret;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0) {
		ret = -ENOENT;
		goto out;
	}
	if (!json_is_object(obj)) {
		ret = not_object(k, err);
		goto out;
	}
	ret = check_name(k, obj, -1, err);
	if (ret)
		goto out;
	copy = json_deep_copy(obj);
	json_object_del(copy, "warnings");
	json_object_del(copy, "builtin");
	/* A client-chosen uuid that is taken is a duplicate, not an update. */
	if (json_is_string(json_object_get(copy, "uuid")) &&
	    find_obj(store_cur(), k, json_string_value(json_object_get(copy, "uuid"))) >= 0) {
		*err = store_err(-EEXIST, cfg_kind_names[k], "uuid already exists");
		ret = -EEXIST;
		goto out;
	}
	assign_uuid(k, copy, NULL);
	ret = store_put(k, copy, -1, result, err);
out:
	json_decref(copy);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

/* Look up id for a mutation: -ENOENT or -EPERM (built-in) with *err. */
static ssize_t find_mutable(int k, const char *id, json_t **err)
{
	char path[XADC_NAME_MAX + 64];
	ssize_t at = find_obj(store_cur(), k, id ? id : "");

	if (at >= 0)
		return at;
	snprintf(path, sizeof(path), "%s[%s]", cfg_kind_names[k], id ? id : "");
	if (id && cfg_builtin_find(k, id)) {
		*err = store_err(-EPERM, path, "built-in object, cannot be changed or deleted");
		return -EPERM;
	}
	*err = store_err(-ENOENT, path, "no such object");
	return -ENOENT;
}

/* Replace object at with obj (a new value we own), keeping its uuid and,
 * if obj has none, its name. */
static int replace_at(int k, ssize_t at, json_t *obj, json_t **result, json_t **err)
{
	json_t *old = json_array_get(json_object_get(store_cur(), cfg_kind_names[k]), at);
	int ret;

	if (!json_is_object(obj))
		return not_object(k, err);
	json_object_del(obj, "warnings");
	json_object_del(obj, "builtin");
	json_object_set(obj, "uuid", json_object_get(old, "uuid"));
	if (!json_object_get(obj, "name"))
		json_object_set(obj, "name", json_object_get(old, "name"));
	ret = check_name(k, obj, at, err);
	if (ret)
		return ret;
	return store_put(k, obj, at, result, err);
}

int xadc_cfg_replace(const char *kind, const char *id, json_t *obj, json_t **result, json_t **err)
{
	json_t *copy = NULL;
	ssize_t at;
	int k, ret;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0) {
		ret = -ENOENT;
		goto out;
	}
	at = find_mutable(k, id, err);
	if (at < 0) {
		ret = at;
		goto out;
	}
	copy = json_deep_copy(obj);
	ret = replace_at(k, at, copy, result, err);
out:
	json_decref(copy);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

int xadc_cfg_patch(const char *kind, const char *id, json_t *patch, json_t **result, json_t **err)
{
	json_t *merged = NULL;
	ssize_t at;
	int k, ret;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0) {
		ret = -ENOENT;
		goto out;
	}
	at = find_mutable(k, id, err);
	if (at < 0) {
		ret = at;
		goto out;
	}
	merged =
	    cfg_merge_patch(json_array_get(json_object_get(store, cfg_kind_names[k]), at), patch);
	ret = replace_at(k, at, merged, result, err);
out:
	json_decref(merged);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

int xadc_cfg_delete(const char *kind, const char *id, json_t **err)
{
	char who[1024], path[XADC_NAME_MAX + 64], reason[1100];
	json_t *next = NULL, *target;
	ssize_t at;
	int k, ret;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0) {
		ret = -ENOENT;
		goto out;
	}
	at = find_mutable(k, id, err);
	if (at < 0) {
		ret = at;
		goto out;
	}
	target = json_array_get(json_object_get(store, cfg_kind_names[k]), at);
	cfg_obj_label(k, target, at, path, sizeof(path));
	if (cfg_find_referrer(store, k, target, who, sizeof(who))) {
		snprintf(reason, sizeof(reason), "still referenced by %s", who);
		*err = store_err(-EBUSY, path, reason);
		ret = -EBUSY;
		goto out;
	}
	next = json_deep_copy(store);
	json_array_remove(json_object_get(next, cfg_kind_names[k]), at);
	ret = commit(next, true, NULL, NULL, err);
out:
	json_decref(next);
	pthread_mutex_unlock(&store_lock);
	return ret;
}

/* A built-in for reading: marked so clients can tell it apart. */
static json_t *builtin_view(json_t *o)
{
	json_t *r = json_deep_copy(o);

	json_object_set_new(r, "builtin", json_true());
	return r;
}

json_t *xadc_cfg_list(const char *kind, const char *name_filter, json_t **err)
{
	json_t *res = NULL, *arr, *o;
	const char *name;
	size_t i;
	int k;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0)
		goto out;
	arr = json_array();
	json_array_foreach(json_object_get(cfg_builtins(), cfg_kind_names[k]), i, o) {
		name = json_string_value(json_object_get(o, "name"));
		if (!name_filter || !strcmp(name, name_filter))
			json_array_append_new(arr, builtin_view(o));
	}
	json_array_foreach(json_object_get(store_cur(), cfg_kind_names[k]), i, o) {
		name = json_string_value(json_object_get(o, "name"));
		if (!name_filter || (name && !strcmp(name, name_filter)))
			json_array_append_new(arr, json_deep_copy(o));
	}
	res = json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(arr), "results", arr);
out:
	pthread_mutex_unlock(&store_lock);
	return res;
}

json_t *xadc_cfg_get_one(const char *kind, const char *id, json_t **err)
{
	json_t *res = NULL, *bi;
	char path[XADC_NAME_MAX + 64];
	ssize_t at;
	int k;

	pthread_mutex_lock(&store_lock);
	k = kind_or_err(kind, err);
	if (k < 0)
		goto out;
	at = find_obj(store_cur(), k, id ? id : "");
	if (at >= 0) {
		res = json_deep_copy(json_array_get(json_object_get(store, cfg_kind_names[k]), at));
		goto out;
	}
	bi = id ? cfg_builtin_find(k, id) : NULL;
	if (bi) {
		res = builtin_view(bi);
		goto out;
	}
	snprintf(path, sizeof(path), "%s[%s]", cfg_kind_names[k], id ? id : "");
	*err = store_err(-ENOENT, path, "no such object");
out:
	pthread_mutex_unlock(&store_lock);
	return res;
}

json_t *xadc_cfg_export(void)
{
	json_t *doc;

	pthread_mutex_lock(&store_lock);
	doc = json_deep_copy(store_cur());
	pthread_mutex_unlock(&store_lock);
	return doc;
}
