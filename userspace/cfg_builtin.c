// SPDX-License-Identifier: GPL-2.0
/*
 * cfg_builtin.c - the System-* objects every Avi controller has, so refs in
 * Avi exports resolve. They are read-only and never exported.
 */
#include <pthread.h>
#include <string.h>

#include "cfg_internal.h"

/* Avi's defaults for these objects; uuids are fixed so refs by uuid made
 * against one xadc keep working on another. */
static const char builtin_text[] =
    "{"
    "\"applicationprofile\": ["
    " {\"name\": \"System-HTTP\", \"uuid\": \"applicationprofile-system-http\","
    "  \"type\": \"APPLICATION_PROFILE_TYPE_HTTP\", \"http_profile\": {}},"
    " {\"name\": \"System-L4-Application\", \"uuid\": \"applicationprofile-system-l4-application\","
    "  \"type\": \"APPLICATION_PROFILE_TYPE_L4\"}],"
    "\"healthmonitor\": ["
    " {\"name\": \"System-HTTP\", \"uuid\": \"healthmonitor-system-http\","
    "  \"type\": \"HEALTH_MONITOR_HTTP\", \"send_interval\": 10, \"receive_timeout\": 4,"
    "  \"successful_checks\": 2, \"failed_checks\": 2,"
    "  \"http_monitor\": {\"http_request\": \"HEAD / HTTP/1.0\","
    "   \"http_response_code\": [\"HTTP_2XX\", \"HTTP_3XX\"]}},"
    " {\"name\": \"System-TCP\", \"uuid\": \"healthmonitor-system-tcp\","
    "  \"type\": \"HEALTH_MONITOR_TCP\", \"send_interval\": 10, \"receive_timeout\": 4,"
    "  \"successful_checks\": 2, \"failed_checks\": 2}],"
    "\"applicationpersistenceprofile\": ["
    " {\"name\": \"System-Persistence-Client-IP\","
    "  \"uuid\": \"applicationpersistenceprofile-system-persistence-client-ip\","
    "  \"persistence_type\": \"PERSISTENCE_TYPE_CLIENT_IP_ADDRESS\","
    "  \"ip_persistence_profile\": {\"ip_persistent_timeout\": 5}},"
    " {\"name\": \"System-Persistence-Http-Cookie\","
    "  \"uuid\": \"applicationpersistenceprofile-system-persistence-http-cookie\","
    "  \"persistence_type\": \"PERSISTENCE_TYPE_HTTP_COOKIE\","
    "  \"http_cookie_persistence_profile\": {\"timeout\": 0}}]"
    "}";

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static json_t *builtin_doc;

static void builtin_load(void)
{
	json_error_t jerr;
	int k;

	builtin_doc = json_loads(builtin_text, 0, &jerr);
	if (!builtin_doc) {
		/* A bug in the text above, caught by the unit tests. */
		pr_err("cfg", "built-in objects: %s", jerr.text);
		builtin_doc = json_object();
	}
	for (k = 0; k < CFG_NKINDS; k++)
		if (!json_object_get(builtin_doc, cfg_kind_names[k]))
			json_object_set_new(builtin_doc, cfg_kind_names[k], json_array());
}

/* Store-form document of every built-in object (borrowed, immutable). */
json_t *cfg_builtins(void)
{
	pthread_once(&builtin_once, builtin_load);
	return builtin_doc;
}

/* The built-in of kind with this name or uuid, or NULL (borrowed). */
json_t *cfg_builtin_find(int kind, const char *id)
{
	json_t *arr = json_object_get(cfg_builtins(), cfg_kind_names[kind]), *o;
	size_t i;

	json_array_foreach(arr, i, o) {
		if (!strcmp(json_string_value(json_object_get(o, "name")), id) ||
		    !strcmp(json_string_value(json_object_get(o, "uuid")), id))
			return o;
	}
	return NULL;
}
