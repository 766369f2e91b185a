// SPDX-License-Identifier: GPL-2.0
/*
 * test_datascript_cfg.c - vsdatascriptset and vs_datascripts[] through the
 * configuration compiler: what compiles, in which order, and the error
 * text (path, set, line) for what does not.
 */
#include <jansson.h>

#include "../../datascript/datascript.h"
#include "xadc/cfg.h"
#include "test_progs.h"

static const char *base_doc =
	"{\"pool\": [{\"name\": \"p1\", \"servers\": [{\"ip\": {\"addr\": \"198.18.1.2\", "
	"\"type\": \"V4\"}, \"port\": 8080}]},"
	"           {\"name\": \"p2\", \"servers\": [{\"ip\": {\"addr\": \"198.18.1.3\", "
	"\"type\": \"V4\"}, \"port\": 8080}]}],"
	" \"stringgroup\": [{\"name\": \"sg\", \"type\": \"SG_TYPE_KEYVAL\", "
	"\"kv\": [{\"key\": \"/a\", \"value\": \"A\"}]}],"
	" \"vsdatascriptset\": [{\"name\": \"first\", \"datascript\": ["
	"   {\"evt\": \"VS_DATASCRIPT_EVT_HTTP_REQ\", \"script\": \"avi.vs.log('x')\"}],"
	"   \"pool_refs\": [\"/api/pool?name=p2\"], \"string_group_refs\": [\"sg\"]},"
	"  {\"name\": \"second\", \"datascript\": ["
	"   {\"evt\": \"VS_DATASCRIPT_EVT_HTTP_RESP\", \"script\": \"local a = 1\"}],"
	"   \"rate_limiters\": [{\"count\": 5, \"period\": 1}]}],"
	" \"virtualservice\": [{\"name\": \"vs\", \"vip\": [{\"ip_address\": {\"addr\": "
	"\"198.18.0.10\", \"type\": \"V4\"}}], \"services\": [{\"port\": 80}], "
	"\"pool_ref\": \"p1\", \"vs_datascripts\": ["
	"   {\"index\": 2, \"vs_datascript_set_ref\": \"/api/vsdatascriptset?name=first\"},"
	"   {\"index\": 1, \"vs_datascript_set_ref\": \"second\"}]}]}";

static json_t *doc_with(const char *json_path_value_pairs)
{
	json_error_t e;

	return json_loads(json_path_value_pairs ? json_path_value_pairs : base_doc, 0, &e);
}

static const char *err_text(json_t *err)
{
	const char *s = json_string_value(json_object_get(err, "error"));

	return s ? s : "(none)";
}

TEST(compiles_in_index_order)
{
	json_t *doc = doc_with(NULL), *w = NULL, *err = NULL;
	struct xadc_snapshot *s = xadc_cfg_compile(doc, &w, &err);
	struct xadc_vs *vs;
	struct xadc_ds_vs *dv;

	if (!ASSERT_NOT_NULL(s, "compile")) {
		printf("# %s\n", err_text(err));
		goto out;
	}
	ASSERT_EQ(json_array_size(w), 0, "no warnings");
	vs = xadc_snapshot_find_vs(s, "vs");
	dv = vs ? vs->datascripts : NULL;
	if (!ASSERT_NOT_NULL(dv, "vs->datascripts"))
		goto out;
	ASSERT_EQ(dv->nsets, 2, "two sets");
	ASSERT_EQ(xadc_ds_set_events(dv->sets[0]), 1u << XADC_DS_EVT_HTTP_RESP,
		  "index 1 (second) first");
	ASSERT_EQ(xadc_ds_set_events(dv->sets[1]), 1u << XADC_DS_EVT_HTTP_REQ, "then first");
	ASSERT_TRUE(xadc_ds_vs_has(dv, XADC_DS_EVT_HTTP_REQ) &&
		    xadc_ds_vs_has(dv, XADC_DS_EVT_HTTP_RESP) &&
		    !xadc_ds_vs_has(dv, XADC_DS_EVT_HTTP_LB_FAILED),
		    "event mask");
out:
	if (s)
		xadc_snapshot_put(s);
	json_decref(doc);
	json_decref(w);
	json_decref(err);
}

/* Replace the first occurrence of from by to in base_doc. */
static json_t *mutate(const char *from, const char *to)
{
	char buf[4096];
	const char *p = strstr(base_doc, from);
	json_error_t e;

	if (!p)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - base_doc), base_doc, to, p + strlen(from));
	return json_loads(buf, 0, &e);
}

TEST(errors)
{
	static const struct {
		const char *from, *to, *error;
	} cases[] = {
		{ "\"local a = 1\"", "\"local a = 1\\nif then x\"",
		  "vsdatascriptset[second].datascript[0].script: [string \"second:HTTP_RESP\"]:2: "
		  "unexpected symbol near 'then'" },
		{ "VS_DATASCRIPT_EVT_HTTP_RESP", "VS_DATASCRIPT_EVT_NOPE",
		  "vsdatascriptset[second].datascript[0].evt: VS_DATASCRIPT_EVT_NOPE: expected one of" },
		{ "/api/pool?name=p2", "/api/pool?name=nope",
		  "vsdatascriptset[first].pool_refs[0]" },
		{ "\"sg\"]", "\"missing\"]", "vsdatascriptset[first].string_group_refs[0]" },
		{ "\"second\"}]", "\"third\"}]", "virtualservice[vs].vs_datascripts[1].vs_datascript_set_ref" },
		{ "\"index\": 2", "\"index\": 1", "index 1 is used twice" },
		{ "\"count\": 5", "\"count\": 0", "vsdatascriptset[second].rate_limiters[0].count" },
	};
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *doc = mutate(cases[i].from, cases[i].to), *w = NULL, *err = NULL;
		struct xadc_snapshot *s;

		if (!ASSERT_NOT_NULL(doc, cases[i].from))
			continue;
		s = xadc_cfg_compile(doc, &w, &err);
		ASSERT_NULL(s, cases[i].error);
		ASSERT_TRUE(strstr(err_text(err), cases[i].error) != NULL, err_text(err));
		printf("# %s\n", err_text(err));
		if (s)
			xadc_snapshot_put(s);
		json_decref(doc);
		json_decref(w);
		json_decref(err);
	}
}

TEST_MAIN()
