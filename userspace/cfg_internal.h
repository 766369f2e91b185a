/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cfg_internal.h - shared between the configuration modules (cfg_*.c) only.
 *
 * The store form of a configuration is a JSON object with one array per
 * canonical kind: {"virtualservice": [...], "pool": [...], ...}. Built-in
 * objects are never part of it; the compiler adds them.
 */
#ifndef XADC_CFG_INTERNAL_H
#define XADC_CFG_INTERNAL_H

#include <jansson.h>

#include "xadc/cfg.h"

enum cfg_kind { CFG_VS = 0, CFG_POOL, CFG_HM, CFG_APP, CFG_PERSIST, CFG_VSVIP,
		/* issue 4: policy/ */
		CFG_SG, CFG_IPG, CFG_HPS,
		/* issue 5: datascript/ */
		CFG_DSS,
		/* issue 3: bpf/ (Avi NetworkSecurityPolicy; serviceengine is
		 * an xadc extension: the SEs a VS is scaled out over) */
		CFG_NSP, CFG_SE,
		CFG_NKINDS };

extern const char *const cfg_kind_names[CFG_NKINDS];

/* Kind index for a REST or Avi export name (case-insensitive), or -1. */
int cfg_kind_id(const char *name);

/* Compile/validation context: the path being looked at, the first error
 * and the warnings collected so far. */
struct cfg_ctx {
	char path[512];
	size_t plen;
	json_t *err;
	json_t *warnings;
};

void cfg_ctx_init(struct cfg_ctx *c);
/* Append to the path; returns the mark to give back to cfg_pop(). */
size_t cfg_push(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cfg_pop(struct cfg_ctx *c, size_t mark);
/* Record an error at the current path (first one wins); returns -EINVAL. */
int cfg_fail(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a warning at the current path and log it. */
void cfg_warn(struct cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Field getters: an absent or null field gives the default; a field of the
 * wrong type or out of range is an error at "<path>.<field>". */
int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *field, long long def, long long min,
		long long max, long long *out);
int cfg_get_bool(struct cfg_ctx *c, json_t *obj, const char *field, bool def, bool *out);
/* *out is borrowed from obj (or def). maxlen counts the NUL. */
int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *field, const char *def, size_t maxlen,
		const char **out);

struct cfg_enum {
	const char *name;
	int value;
	bool supported;
};
/* tab ends with a NULL name. cfg_enum_value() checks s at the current path. */
int cfg_enum_value(struct cfg_ctx *c, const char *s, const struct cfg_enum *tab, int *out);
int cfg_get_enum(struct cfg_ctx *c, json_t *obj, const char *field, const struct cfg_enum *tab,
		 int def, int *out);

/* An IP address: "198.18.0.1" or Avi's {"addr": .., "type": "V4"|"V6"}, at
 * the current path. port is in host order. */
int cfg_parse_ip(struct cfg_ctx *c, json_t *v, uint16_t port, union xadc_sockaddr *out);

/* obj[field] as an array in *out: NULL when absent or null, an error
 * ("<path>.field: expected an array") when it is anything else. */
int cfg_get_arr(struct cfg_ctx *c, json_t *obj, const char *field, json_t **out);

/* Where cfg_ip_entries puts what it parses: a prefix (bits 0..32 or
 * 0..128) or an inclusive range of one family. Each returns 0 or a
 * negative errno after recording its error with cfg_fail. */
struct cfg_ip_sink {
	int (*prefix)(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *a, unsigned bits);
	int (*range)(struct cfg_ctx *c, void *arg, const union xadc_sockaddr *lo,
		     const union xadc_sockaddr *hi);
	void *arg;
};

/*
 * The addrs[], prefixes[{ip_addr, mask}] and ranges[{begin, end}] of an
 * Avi IpAddrMatch or ipaddrgroup, checked with field paths and handed to
 * sink; *count grows by the number of entries.
 */
int cfg_ip_entries(struct cfg_ctx *c, json_t *obj, const struct cfg_ip_sink *sink, size_t *count);

/* RFC 7386 JSON merge patch: a new value, inputs untouched. */
json_t *cfg_merge_patch(json_t *target, json_t *patch);

/* Built-in objects in store form (borrowed, never changes). */
json_t *cfg_builtins(void);
/* The built-in object of kind named name, or NULL (borrowed). */
json_t *cfg_builtin_find(int kind, const char *name);

/* A parsed ref. kind is -1 for a bare name; uuid and/or name are set. */
struct cfg_ref {
	int kind;
	char kind_name[64]; /* as written, for messages */
	char uuid[128];
	char name[XADC_NAME_MAX];
};
/* Returns 0 or -EINVAL for something that is not a ref. */
int cfg_ref_parse(const char *s, struct cfg_ref *r);

/* Every object of a document by kind, with name and uuid lookup tables. */
struct cfg_index {
	json_t *objs[CFG_NKINDS]; /* arrays, built-ins first */
	unsigned nbuiltin[CFG_NKINDS];
	json_t *by_name[CFG_NKINDS]; /* name -> index */
	json_t *by_uuid[CFG_NKINDS]; /* uuid -> index */
};

/* Build the index over built-ins plus the store-form doc, checking names
 * (required, unique per kind) and uuids (unique). */
int cfg_index_build(struct cfg_ctx *c, json_t *doc, struct cfg_index *ix);
void cfg_index_free(struct cfg_index *ix);
/* Resolve obj.field (a ref string) to an index in ix->objs[kind]; -1 when
 * the field is absent; -EINVAL with the error recorded when bad. */
int cfg_ref_resolve(struct cfg_ctx *c, const struct cfg_index *ix, json_t *ref, int kind);

/* One entry of a VS's ordered list of sets (Avi's http_policies[],
 * vs_datascripts[]): its index and the object it refers to. */
struct cfg_indexed_ref {
	long long index;
	int obj;	/* position in ix->objs[kind] */
};

/*
 * Parse obj[field] = [{"index": N, "<ref_field>": ref}, ...]: every ref
 * resolved to an object of kind, indexes unique, at most max entries.
 * Fills out sorted by index and returns how many (0 when the field is
 * absent, null or empty), or a negative errno with the error recorded.
 */
int cfg_indexed_refs(struct cfg_ctx *c, const struct cfg_index *ix, json_t *obj,
		     const char *field, const char *ref_field, int kind,
		     struct cfg_indexed_ref *out, size_t max);

/* Path prefix of an object: "pool[web]" or "pool[3]" when it has no name. */
void cfg_obj_label(int kind, json_t *obj, size_t idx, char *buf, size_t len);

/* Look for a ref to target (of kind) in any "*_ref" or "*_refs" field of
 * any object of the store-form doc. On a hit writes "pool[x].field" into
 * who and returns true. */
bool cfg_find_referrer(json_t *doc, int kind, json_t *target, char *who, size_t len);

/* Store form from any accepted document: canonical kinds, aliases merged,
 * "META" and unknown kinds dropped with a warning, objects named like a
 * built-in of their kind dropped with a warning. Deep copies. */
json_t *cfg_normalize(struct cfg_ctx *c, json_t *doc);

/* cfg_policy.c (issue 4): stringgroup, ipaddrgroup and httppolicyset
 * objects into s (after pools, before virtual services), and one VS's
 * http_policies[]. */
int cfg_policy_compile(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s);
int cfg_policy_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
		  json_t *obj, struct xadc_vs *vs);

/* cfg_datascript.c (issue 5): check every vsdatascriptset (after the
 * policy objects, before virtual services); compile one VS's
 * vs_datascripts[] into vs->datascripts; add the string-group operators
 * DataScripts use to needs[] (indexed like ix->objs[CFG_SG]). */
int cfg_ds_check(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s);
int cfg_ds_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
	      json_t *obj, struct xadc_vs *vs);
int cfg_ds_sg_needs(const struct cfg_index *ix, unsigned *needs);

/* cfg_nsp.c (issue 3): networksecuritypolicy and serviceengine objects
 * into s->xdp (after the policy objects, before virtual services), and one
 * VS's network_security_policy_ref and scaleout_se_refs (vs_idx: its
 * index in s->vs). */
int cfg_nsp_compile(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s);
int cfg_nsp_vs(struct cfg_ctx *c, const struct cfg_index *ix, struct xadc_snapshot *s,
	       json_t *obj, unsigned vs_idx);

#endif
