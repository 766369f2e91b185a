// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_cfg.c - libFuzzer target for the configuration compiler: whatever
 * JSON arrives over REST or in --config goes through xadc_cfg_check and
 * xadc_cfg_apply here. Invariants (abort() when broken):
 *  - a rejected document yields an error object with "error" and "path"
 *    strings, and leaves the store exactly as it was (export unchanged);
 *  - check and apply agree on the verdict;
 *  - an accepted document's export is itself accepted (what the daemon
 *    saves in its state file always loads again).
 * The seed corpus (corpus_cfg/) is copies of the example configurations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_cfg: invariant failed: %s (line %d)\n", #cond, \
				__LINE__);                                                 \
			abort();                                                           \
		}                                                                          \
	} while (0)

static void publish(struct xadc_snapshot *snap)
{
	(void)snap;	/* the store keeps its reference; nothing runs here */
}

static bool err_ok(json_t *err)
{
	return json_is_string(json_object_get(err, "error")) &&
	       json_is_string(json_object_get(err, "path"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool inited;
	json_t *doc, *res = NULL, *err = NULL, *before, *after, *exp;
	int rc_check, rc_apply;

	if (!inited) {
		CHECK(xadc_cfg_init(NULL, NULL, publish, &err) == 0);
		inited = true;
	}
	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return 0;
	before = xadc_cfg_export();
	rc_check = xadc_cfg_check(doc, &res, &err);
	if (rc_check)
		CHECK(err && err_ok(err));
	json_decref(res);
	json_decref(err);
	res = err = NULL;
	rc_apply = xadc_cfg_apply(doc, &res, &err);
	CHECK((rc_check == 0) == (rc_apply == 0));
	after = xadc_cfg_export();
	if (rc_apply) {
		CHECK(err && err_ok(err));
		CHECK(json_equal(before, after));
	} else {
		json_t *r2 = NULL, *e2 = NULL;

		exp = json_deep_copy(after);
		CHECK(xadc_cfg_check(exp, &r2, &e2) == 0);
		json_decref(r2);
		json_decref(e2);
		json_decref(exp);
	}
	json_decref(before);
	json_decref(after);
	json_decref(res);
	json_decref(err);
	json_decref(doc);
	return 0;
}
