/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cfg.h - the configuration store: Avi-shaped JSON objects, validated and
 * compiled as one document, persisted atomically, published as a snapshot.
 *
 * Every mutation (whole-document apply, create, replace, patch, delete)
 * works on a copy of the store: the copy is validated and compiled in full;
 * only if that succeeds does it replace the store, get written to the state
 * file (write to a temp file, fsync, rename) and get published. A rejected
 * change changes nothing.
 *
 * Kinds (REST names; Avi export type names are accepted as aliases when a
 * whole document is applied): virtualservice (VirtualService), pool (Pool),
 * healthmonitor (HealthMonitor), applicationprofile (ApplicationProfile),
 * applicationpersistenceprofile (ApplicationPersistenceProfile), vsvip
 * (VsVip: the vip[] a virtualservice may take through vsvip_ref). Built-in
 * System-* objects (System-HTTP, System-L4-Application, System-TCP,
 * System-HTTP health monitor, System-Persistence-Client-IP,
 * System-Persistence-Http-Cookie) always exist, so refs from Avi exports
 * resolve; they cannot be deleted or changed.
 *
 * Refs may be "/api/pool?name=web", "/api/pool/<uuid>", a full URL ending in
 * one of those, or a bare name. Objects get a uuid ("pool-<uuid4>") when
 * they have none.
 *
 * Errors: functions return 0 or a negative errno and, on error, set *err to a
 * JSON object {"error": "<path>: <reason>", "path": "<path>", "reason": ...}
 * where path looks like "pool[web].servers[1].port". Errno meaning for the
 * REST layer: -EINVAL 400, -ENOENT 404, -EEXIST 409 (duplicate name),
 * -EBUSY 409 (still referenced), -EPERM 403 (built-in object), -EIO 500.
 * On success *result (if not NULL) receives a JSON value to return to the
 * client (the object as stored, or a summary); warnings, if any, are in its
 * "warnings" array.
 */
#ifndef XADC_CFG_H
#define XADC_CFG_H

#include <jansson.h>

#include "xadc/snapshot.h"

/* Called with each newly compiled snapshot, under the store lock. */
typedef void (*xadc_cfg_publish_fn)(struct xadc_snapshot *snap);

/*
 * Initialise the store. state_path: where to persist (NULL: no persistence).
 * If config_path is given it is loaded and becomes the state; otherwise the
 * state file is loaded if it exists; otherwise the store starts empty.
 * Publishes the first snapshot through publish. On a bad config file returns
 * -EINVAL with *err naming the problem.
 */
int xadc_cfg_init(const char *state_path, const char *config_path, xadc_cfg_publish_fn publish,
		  json_t **err);
void xadc_cfg_fini(void);

/* Declarative whole-document replace: {"<kind>": [objects...], ...}. */
int xadc_cfg_apply(json_t *doc, json_t **result, json_t **err);
/* Validate and compile only (dry run): same errors, nothing changes. */
int xadc_cfg_check(json_t *doc, json_t **result, json_t **err);

/* CRUD on one object. id is a uuid or a name. */
int xadc_cfg_create(const char *kind, json_t *obj, json_t **result, json_t **err);
int xadc_cfg_replace(const char *kind, const char *id, json_t *obj, json_t **result,
		     json_t **err);
int xadc_cfg_patch(const char *kind, const char *id, json_t *patch, json_t **result,
		   json_t **err);
int xadc_cfg_delete(const char *kind, const char *id, json_t **err);

/* Read. name_filter may be NULL. Returns {"count": N, "results": [...]} for a
 * list, or the object for get_one; NULL + -ENOENT/-EINVAL in *err otherwise. */
json_t *xadc_cfg_list(const char *kind, const char *name_filter, json_t **err);
json_t *xadc_cfg_get_one(const char *kind, const char *id, json_t **err);
/* The whole user configuration as one document (built-ins omitted). */
json_t *xadc_cfg_export(void);

/* Canonical REST kind for a kind or Avi export type name, or NULL. */
const char *xadc_cfg_kind(const char *name);

/* Compile a full document (store form) into a snapshot. Used by the store
 * and by unit tests. Returns NULL and sets *err on invalid input. */
struct xadc_snapshot *xadc_cfg_compile(json_t *doc, json_t **warnings, json_t **err);

/* Helper for error objects: {"error": "path: reason", "path":..,"reason":..} */
json_t *xadc_cfg_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
