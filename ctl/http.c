// SPDX-License-Identifier: GPL-2.0
/*
 * http.c - xadcctl's client for the REST API: libcurl over the daemon's
 * unix socket, or over TCP with a bearer token (--url, --token).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct ctl_buf {
	char *data;
	size_t len, cap;
};

static size_t ctl_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct ctl_buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0; /* curl reports CURLE_WRITE_ERROR */
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Print why the transfer failed, naming the socket or URL. */
static void ctl_transport_error(CURL *h, CURLcode rc, const char *url)
{
	const char *where = ctl.url ? ctl.url : ctl.socket;
	long oserr = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_CONNECT) {
		ctl_err("cannot connect to %s: %s%s", where,
			oserr ? strerror((int)oserr) : "connection failed",
			ctl.url ? "" : " (is xadcd running?)");
		return;
	}
	ctl_err("request %s failed: %s", url, curl_easy_strerror(rc));
}

/* Print the API's error for a non-2xx reply. */
static void ctl_api_error(long status, const struct ctl_buf *b)
{
	json_t *doc = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
	const char *msg = ctl_str(doc, "error");

	if (*msg)
		ctl_err("%s", msg);
	else if (b->len)
		ctl_err("HTTP %ld: %.*s", status, (int)strcspn(b->data, "\r\n"), b->data);
	else
		ctl_err("HTTP %ld", status);
	json_decref(doc);
}

char *ctl_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;

	if (!e)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}

int ctl_request(const char *method, const char *path, const char *body, size_t len, json_t **out)
{
	struct curl_slist *hdrs = NULL;
	struct ctl_buf b = {0};
	char url[2048], auth[1024];
	int ret = CTL_ERR;
	long status = 0;
	json_error_t jerr;
	size_t blen;
	CURLcode rc;
	CURL *h;

	if (out)
		*out = NULL;
	h = curl_easy_init();
	if (!h) {
		ctl_err("cannot initialise libcurl");
		return CTL_ERR;
	}
	if (ctl.url) {
		blen = strlen(ctl.url);
		while (blen && ctl.url[blen - 1] == '/')
			blen--;
		snprintf(url, sizeof(url), "%.*s%s", (int)blen, ctl.url, path);
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, ctl.socket);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	/* No "Expect: 100-continue" round trip before large bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (ctl.token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ctl.token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		ctl_transport_error(h, rc, url);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		ctl_api_error(status, &b);
		goto out;
	}
	if (b.len && out) {
		*out = json_loadb(b.data, b.len, 0, &jerr);
		if (!*out) {
			ctl_err("invalid JSON from the API: line %d: %s", jerr.line, jerr.text);
			goto out;
		}
	}
	ret = CTL_OK;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(b.data);
	return ret;
}
