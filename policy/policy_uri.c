// SPDX-License-Identifier: GPL-2.0
/*
 * policy_uri.c - URI tokens of redirect, rewrite and Location actions (Avi
 * URI_PARAM_TYPE_TOKENIZED): strings, host labels, path segments, regex
 * captures of the rule's path / query match, string-group values.
 *
 * Tokens are joined with '.' for a host and '/' for a path (a path gets
 * its leading '/' from the caller), and an empty token adds nothing, so
 * [PATH 1..2, STRING "x.html"] on /a/b/c gives "b/c/x.html".
 */
#include <string.h>

#include "policy_int.h"

struct uw {
	char *p;
	size_t len, cap;
	char sep;
	bool over;
};

/* Append one token's text, with the separator before all but the first. */
static void uw_tok(struct uw *w, const char *s, size_t n)
{
	if (!n)
		return;
	if (w->len && 1 > w->cap - w->len) {
		w->over = true;
		return;
	}
	if (w->len)
		w->p[w->len++] = w->sep;
	if (n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* Pieces start..end (0-based, inclusive) of s split on c. */
static void uw_pieces(struct uw *w, const char *s, size_t n, char c, int start, int end)
{
	const char *e = s + n, *p;
	int idx = 0;

	if (n && *s == c) { /* a path's leading '/' starts no piece */
		s++;
		n--;
	}
	while (s < e && idx <= end) {
		p = memchr(s, c, e - s);
		if (!p)
			p = e;
		if (idx >= start)
			uw_tok(w, s, p - s);
		idx++;
		s = p + 1;
	}
}

static void uw_captures(struct uw *w, const struct xadc_strset *set, uint32_t idx, bool nocase,
			const char *s, size_t n, int start, int end)
{
	size_t caps[2 * 10];
	int got, g;

	if (!set)
		return;
	got = xadc_strset_regex_captures(set, idx, nocase, s, n, caps, 10);
	for (g = start; g <= end && g < got; g++)
		if (caps[2 * g] != (size_t)-1 && caps[2 * g + 1] >= caps[2 * g])
			uw_tok(w, s + caps[2 * g], caps[2 * g + 1] - caps[2 * g]);
}

/* The value of the first group whose longest key begins the path. */
static void uw_group(struct uw *w, const struct hp_uriparam *up, const struct hp_eval_ctx *ec)
{
	struct xadc_str_hit hit;
	unsigned i;

	for (i = 0; i < up->ngroups; i++) {
		if (xadc_strset_match(up->groups[i]->set, XADC_SOP_BEGINS_WITH, false, ec->path,
				      ec->path_len, &hit)) {
			uw_tok(w, hit.value, hit.value_len);
			return;
		}
	}
}

int hp_uri_expand(const struct hp_uriparam *up, const struct hp_eval_ctx *ec, char sep,
		  char *out, size_t cap)
{
	struct uw w = {.p = out, .cap = cap, .sep = sep};
	const struct hp_token *t;
	unsigned i;

	for (i = 0; i < up->ntok; i++) {
		t = &up->tok[i];
		switch (t->type) {
		case TOK_STRING:
			uw_tok(&w, t->str, t->str_len);
			break;
		case TOK_HOST:
			uw_pieces(&w, ec->host, ec->host_present ? ec->host_len : 0, '.', t->start,
				  t->end);
			break;
		case TOK_PATH:
			uw_pieces(&w, ec->path, ec->path_len, '/', t->start, t->end);
			break;
		case TOK_REGEX:
			uw_captures(&w, ec->path_re, ec->path_re_idx, ec->path_re_nocase,
				    ec->path, ec->path_len, t->start, t->end);
			break;
		case TOK_REGEX_QUERY:
			uw_captures(&w, ec->query_re, ec->query_re_idx, ec->query_re_nocase,
				    ec->query, ec->query_len, t->start, t->end);
			break;
		case TOK_SG:
			uw_group(&w, up, ec);
			break;
		}
	}
	if (w.over)
		return -1;
	if (w.len < cap)
		out[w.len] = '\0';
	return (int)w.len;
}
