// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_regex.c - REGEX: one Hyperscan block-mode database for the set,
 * PCRE2 for validation, captures and what Hyperscan cannot take.
 *
 * Every key is compiled by PCRE2 first: that is the validation (errors come
 * with PCRE2's offset and message) and the code kept for captures. Keys
 * Hyperscan accepts (hs_expression_info, then the multi compile itself)
 * go into one database with HS_FLAG_SINGLEMATCH (one report per id is all
 * we need) and HS_FLAG_ALLOWEMPTY (an empty-matching pattern such as "x*"
 * matches everything, as in PCRE2); the rest (backreferences, lookaround,
 * atomic groups, keys with a NUL byte...) form a fallback list matched by
 * PCRE2 (JIT) in index order. The hit is the lowest index: the Hyperscan
 * callback keeps the minimum id (and stops the scan when it sees the
 * database's lowest id), then fallback patterns below that are tried.
 * Exception, for build cost: patterns "^<literal of >= 4 bytes>..." with no
 * '|' skip Hyperscan; a trie over their literal prefixes picks the few
 * candidates PCRE2 runs (see regex_build_lit; interpreted, not JIT: see
 * regex_finish).
 *
 * Semantics follow PCRE2 defaults for both engines: byte (non-UTF) mode,
 * '.' does not match '\n' (no DOTALL), '^'/'$' anchor at the subject ends
 * ('$' also before a final newline; no MULTILINE), unanchored search.
 * Case-insensitive uses PCRE2_CASELESS / HS_FLAG_CASELESS, ASCII only in
 * byte mode. The empty subject is answered from a per-set precomputed
 * "lowest index matching the empty string", since Hyperscan scans no bytes.
 *
 * If Hyperscan cannot run here (hs_valid_platform fails), or the
 * environment variable XADC_DATASET_NO_HS is set when the set is built
 * (used by tests to exercise that path), every pattern is a fallback.
 *
 * Per-thread state (Hyperscan scratch, PCRE2 match data) lives in
 * thread-local storage, allocated the first time a thread needs more than
 * it has, and freed at thread exit.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <hs/hs.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

struct ds_regex {
	uint32_t n;
	bool nocase;
	pcre2_code **code;	/* per entry */
	hs_database_t *db;	/* NULL when no pattern went to Hyperscan */
	uint64_t serial;	/* identifies db for the per-thread scratch cache */
	uint32_t db_min_id;	/* lowest entry index in db */
	struct ds_trie *lit;	/* literal prefixes of "^literal..." patterns */
	uint32_t *lit_idx;	/* trie entry -> pattern index */
	uint32_t *fallback;	/* entry indices for PCRE2, ascending */
	uint32_t nfallback;
	uint32_t empty_idx;	/* lowest index matching "" */
	uint32_t max_pairs;	/* largest capture count + 1 */
	size_t bytes;
};

/* --- per-thread state ---------------------------------------------------- */

#define SCRATCH_SEEN 8

struct ds_tls {
	hs_scratch_t *scratch;
	/* Databases the scratch is known to fit (a grown scratch still fits). */
	uint64_t seen[SCRATCH_SEEN];
	unsigned seen_next;
	pcre2_match_data *md;
	uint32_t md_pairs;
	bool registered;
};

static __thread struct ds_tls tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t db_serial;

static void tls_destroy(void *arg)
{
	struct ds_tls *t = arg;

	if (t->scratch)
		hs_free_scratch(t->scratch);
	pcre2_match_data_free(t->md);
	t->scratch = NULL;
	t->md = NULL;
}

static void tls_key_init(void)
{
	pthread_key_create(&tls_key, tls_destroy);
}

/* Make sure thread exit frees this thread's scratch and match data. */
static void tls_register(void)
{
	if (tls.registered)
		return;
	pthread_once(&tls_once, tls_key_init);
	pthread_setspecific(tls_key, &tls);
	tls.registered = true;
}

/* This thread's scratch, grown for r's database if needed (NULL: ENOMEM). */
static hs_scratch_t *tls_scratch(const struct ds_regex *r)
{
	unsigned i;

	for (i = 0; i < SCRATCH_SEEN; i++)
		if (tls.seen[i] == r->serial)
			return tls.scratch;
	tls_register();
	if (hs_alloc_scratch(r->db, &tls.scratch) != HS_SUCCESS)
		return NULL;
	tls.seen[tls.seen_next++ % SCRATCH_SEEN] = r->serial;
	return tls.scratch;
}

/* This thread's match data with at least pairs ovector pairs. */
static pcre2_match_data *tls_md(uint32_t pairs)
{
	pcre2_match_data *md;

	if (pairs < 1)
		pairs = 1;
	if (tls.md && tls.md_pairs >= pairs)
		return tls.md;
	tls_register();
	md = pcre2_match_data_create(pairs, NULL);
	if (!md)
		return NULL;
	pcre2_match_data_free(tls.md);
	tls.md = md;
	tls.md_pairs = pairs;
	return md;
}

/* --- build --------------------------------------------------------------- */

static unsigned hs_flags(bool nocase)
{
	return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (nocase ? HS_FLAG_CASELESS : 0);
}

/*
 * Length of the literal that every match of pattern p must start with at
 * subject offset 0, or 0 if we cannot tell. Conservative: only "^" followed
 * by plain characters or escaped punctuation, and no '|' anywhere (so no
 * alternative can avoid the anchor); a literal followed by a quantifier is
 * dropped. The literal (unescaped) goes to out.
 */
static size_t lit_prefix(const struct ds_entry *e, char *out, size_t outlen)
{
	static const char meta[] = "\\.[]()|?*+{}^$";
	const char *p = e->key, *end = e->key + e->key_len;
	size_t n = 0;

	if (e->key_len < 2 || p[0] != '^' || memchr(p, '|', e->key_len) ||
	    memchr(p, '\0', e->key_len))
		return 0;
	for (p++; p < end && n < outlen;) {
		const char *next;
		char c;

		if (*p == '\\') {
			if (p + 1 >= end || (unsigned char)p[1] >= 0x80 || isalnum((unsigned char)p[1]))
				break;
			c = p[1];
			next = p + 2;
		} else if (strchr(meta, *p)) {
			break;
		} else {
			c = *p;
			next = p + 1;
		}
		if (next < end && strchr("?*+{", *next))
			break;
		out[n++] = c;
		p = next;
	}
	return n;
}

/* Can Hyperscan take entry e on its own? */
static bool hs_takes(const struct ds_entry *e, bool nocase)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	bool ok;

	if (memchr(e->key, '\0', e->key_len))
		return false;
	ok = hs_expression_info(e->key, hs_flags(nocase), &info, &cerr) == HS_SUCCESS;
	free(info);
	if (cerr)
		hs_free_compile_error(cerr);
	return ok;
}

/*
 * Compile the entries marked in use_hs into one database. A pattern the
 * multi compile still rejects moves to the fallback list and the compile is
 * retried; an error naming no pattern sends them all to the fallback.
 */
static void regex_compile_hs(struct ds_regex *r, const struct ds_entry *e, bool *use_hs)
{
	const char **expr = malloc((r->n ? r->n : 1) * sizeof(*expr));
	unsigned *flags = malloc((r->n ? r->n : 1) * sizeof(*flags));
	unsigned *ids = malloc((r->n ? r->n : 1) * sizeof(*ids));
	hs_compile_error_t *cerr;
	uint32_t i, m;

	if (!expr || !flags || !ids) {
		memset(use_hs, 0, r->n * sizeof(*use_hs));
		goto out;
	}
	for (;;) {
		for (i = 0, m = 0; i < r->n; i++) {
			if (!use_hs[i])
				continue;
			expr[m] = e[i].key;
			flags[m] = hs_flags(r->nocase);
			ids[m++] = i;
		}
		if (!m)
			break;
		cerr = NULL;
		if (hs_compile_multi(expr, flags, ids, m, HS_MODE_BLOCK, NULL, &r->db, &cerr) ==
		    HS_SUCCESS) {
			r->db_min_id = ids[0];
			break;
		}
		r->db = NULL;
		if (cerr && cerr->expression >= 0 && (unsigned)cerr->expression < m) {
			use_hs[ids[cerr->expression]] = false;
		} else {
			memset(use_hs, 0, r->n * sizeof(*use_hs));
		}
		if (cerr)
			hs_free_compile_error(cerr);
	}
out:
	free(expr);
	free(flags);
	free(ids);
}

/* PCRE2-compile entry i; on error fill the caller's error slots. */
static int regex_compile_pcre(struct ds_regex *r, const struct ds_entry *e, uint32_t i,
			      size_t *off, char *msg, size_t msglen)
{
	PCRE2_SIZE erroff = 0;
	uint32_t caps = 0;
	int errcode = 0;

	r->code[i] = pcre2_compile((PCRE2_SPTR)e->key, e->key_len,
				   r->nocase ? PCRE2_CASELESS : 0, &errcode, &erroff, NULL);
	if (!r->code[i]) {
		*off = erroff;
		if (pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, msglen) < 0)
			snprintf(msg, msglen, "PCRE2 error %d", errcode);
		return -EINVAL;
	}
	pcre2_pattern_info(r->code[i], PCRE2_INFO_CAPTURECOUNT, &caps);
	if (caps + 1 > r->max_pairs)
		r->max_pairs = caps + 1;
	return 0;
}

/*
 * Patterns with a literal prefix of at least LIT_MIN bytes are not given
 * to Hyperscan: a trie over those prefixes finds the few candidates for a
 * subject, which PCRE2 then runs. Hyperscan's compile time grows by
 * about 1.5 ms per pattern here (minutes and ~1 GB at 100,000), while this
 * keeps a 100,000-pattern set of path regexes as cheap to build and match
 * as a BEGINS_WITH set plus one or two PCRE2 runs.
 */
#define LIT_MIN 4

static int regex_build_lit(struct ds_regex *r, const struct ds_entry *e, bool *lit)
{
	struct ds_entry *le = malloc((r->n ? r->n : 1) * sizeof(*le));
	char *buf = malloc((size_t)r->n * 64 + 1);
	uint32_t i, m = 0;
	int ret = -1;

	r->lit_idx = malloc((r->n ? r->n : 1) * sizeof(*r->lit_idx));
	if (!le || !buf || !r->lit_idx)
		goto out;
	for (i = 0; i < r->n; i++) {
		char *out = buf + (size_t)m * 64;
		size_t len = lit_prefix(&e[i], out, 64);

		if (len < LIT_MIN)
			continue;
		lit[i] = true;
		le[m] = (struct ds_entry){ .key = out, .key_len = (uint32_t)len, .value = "" };
		r->lit_idx[m++] = i;
	}
	ret = 0;
	if (m) {
		r->lit = ds_trie_build(le, m, r->nocase, false);
		ret = r->lit ? 0 : -1;
	}
out:
	free(le);
	free(buf);
	return ret;
}

/* Lowest index matching the empty subject (Hyperscan never sees it). */
static void regex_empty(struct ds_regex *r)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	uint32_t i;

	r->empty_idx = DS_NONE;
	for (i = 0; md && i < r->n; i++) {
		if (pcre2_match(r->code[i], (PCRE2_SPTR) "", 0, 0, 0, md, NULL) >= 0) {
			r->empty_idx = i;
			break;
		}
	}
	pcre2_match_data_free(md);
}

/* Account memory and JIT-compile the fallback patterns. */
static void regex_finish(struct ds_regex *r, const bool *use_hs, const bool *lit)
{
	size_t sz;
	uint32_t i;

	r->bytes = sizeof(*r) + r->n * sizeof(*r->code);
	if (r->lit)
		r->bytes += ds_trie_bytes(r->lit) + r->n * sizeof(*r->lit_idx);
	for (i = 0; i < r->n; i++) {
		if (!use_hs[i] && !lit[i])
			r->fallback[r->nfallback++] = i;
		/*
		 * JIT only the fallback list, which runs on every subject. A
		 * literal-prefix pattern runs only when the trie names it (about
		 * once per match), where the interpreter costs little more than
		 * the JIT code, and JIT code is ~0.8 KiB of executable memory per
		 * pattern: 100,000 of them cost ~80 MB.
		 */
		if (!use_hs[i] && !lit[i]) {
			pcre2_jit_compile(r->code[i], PCRE2_JIT_COMPLETE);
			if (pcre2_pattern_info(r->code[i], PCRE2_INFO_JITSIZE, &sz) == 0)
				r->bytes += sz;
		}
		if (pcre2_pattern_info(r->code[i], PCRE2_INFO_SIZE, &sz) == 0)
			r->bytes += sz;
	}
	r->bytes += r->nfallback * sizeof(*r->fallback);
	if (r->db && hs_database_size(r->db, &sz) == HS_SUCCESS)
		r->bytes += sz;
	r->serial = atomic_fetch_add(&db_serial, 1) + 1;
}

/* Accepts the set's entries (NUL-terminated keys); see dataset_internal.h. */
struct ds_regex *ds_regex_build(const struct ds_entry *e, uint32_t n, bool nocase, uint32_t *bad,
				size_t *off, char *msg, size_t msglen)
{
	struct ds_regex *r = calloc(1, sizeof(*r));
	bool *use_hs = calloc(n ? n : 1, sizeof(*use_hs));
	bool *lit = calloc(n ? n : 1, sizeof(*lit));
	bool hs_ok = hs_valid_platform() == HS_SUCCESS && !getenv("XADC_DATASET_NO_HS");
	uint32_t i;

	*bad = DS_NONE;
	if (!r || !use_hs || !lit)
		goto fail;
	r->n = n;
	r->nocase = nocase;
	r->code = calloc(n ? n : 1, sizeof(*r->code));
	r->fallback = malloc((n ? n : 1) * sizeof(*r->fallback));
	if (!r->code || !r->fallback)
		goto fail;
	for (i = 0; i < n; i++) {
		if (regex_compile_pcre(r, &e[i], i, off, msg, msglen)) {
			*bad = i;
			goto fail;
		}
	}
	if (regex_build_lit(r, e, lit))
		goto fail;
	for (i = 0; i < n; i++)
		use_hs[i] = !lit[i] && hs_ok && hs_takes(&e[i], nocase);
	regex_compile_hs(r, e, use_hs);
	regex_empty(r);
	regex_finish(r, use_hs, lit);
	free(use_hs);
	free(lit);
	return r;
fail:
	free(use_hs);
	free(lit);
	ds_regex_free(r);
	return NULL;
}

void ds_regex_free(struct ds_regex *r)
{
	uint32_t i;

	if (!r)
		return;
	for (i = 0; r->code && i < r->n; i++)
		pcre2_code_free(r->code[i]);
	free(r->code);
	free(r->fallback);
	ds_trie_free(r->lit);
	free(r->lit_idx);
	if (r->db)
		hs_free_database(r->db);
	free(r);
}

/* --- match --------------------------------------------------------------- */

struct hs_ctx {
	uint32_t best;
	uint32_t min_id;
};

static int on_hs_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int flags, void *arg)
{
	struct hs_ctx *c = arg;

	if (id < c->best)
		c->best = id;
	/* Nothing lower can be reported: stop scanning. */
	return id == c->min_id;
}

static bool pcre_hit(const pcre2_code *code, const char *str, size_t len, pcre2_match_data *md)
{
	return pcre2_match(code, (PCRE2_SPTR)str, len, 0, 0, md, NULL) >= 0;
}

/* Every pattern by PCRE2, for when Hyperscan cannot scan this input. */
static uint32_t regex_all_pcre(const struct ds_regex *r, const char *str, size_t len,
			       pcre2_match_data *md)
{
	uint32_t i;

	for (i = 0; i < r->n; i++)
		if (pcre_hit(r->code[i], str, len, md))
			return i;
	return DS_NONE;
}

struct lit_ctx {
	const struct ds_regex *r;
	const char *str;
	size_t len;
	pcre2_match_data *md;
	uint32_t best;
};

/* Candidates sharing one literal prefix, ascending: the first hit is it. */
static bool lit_visit(void *arg, const uint32_t *idx, uint32_t cnt)
{
	struct lit_ctx *c = arg;
	uint32_t i;

	for (i = 0; i < cnt; i++) {
		uint32_t pi = c->r->lit_idx[idx[i]];

		if (pi >= c->best)
			break;
		if (pcre_hit(c->r->code[pi], c->str, c->len, c->md)) {
			c->best = pi;
			break;
		}
	}
	return false;
}

/* Accepts any bytes; returns the lowest-index pattern matching str. */
uint32_t ds_regex_find(const struct ds_regex *r, const char *str, size_t len)
{
	struct hs_ctx c = { .best = DS_NONE, .min_id = r->db_min_id };
	pcre2_match_data *md;
	hs_scratch_t *scratch;
	hs_error_t rc;
	uint32_t i;

	if (!len)
		return r->empty_idx;
	md = tls_md(1);
	if (!md)
		return DS_NONE;
	if (r->db) {
		scratch = len <= UINT32_MAX ? tls_scratch(r) : NULL;
		if (!scratch)
			return regex_all_pcre(r, str, len, md);
		rc = hs_scan(r->db, str, (unsigned int)len, 0, scratch, on_hs_match, &c);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			return regex_all_pcre(r, str, len, md);
	}
	if (r->lit) {
		struct lit_ctx lc = { r, str, len, md, c.best };

		ds_trie_walk(r->lit, str, len, lit_visit, &lc);
		c.best = lc.best;
	}
	for (i = 0; i < r->nfallback && r->fallback[i] < c.best; i++) {
		if (pcre_hit(r->code[r->fallback[i]], str, len, md))
			return r->fallback[i];
	}
	return c.best;
}

/* Accepts an entry index < n; caps gets up to ncap (start, end) pairs. */
int ds_regex_captures(const struct ds_regex *r, uint32_t index, const char *str, size_t len,
		      size_t *caps, int ncap)
{
	pcre2_match_data *md = tls_md(r->max_pairs);
	PCRE2_SIZE *ov;
	int rc, g;

	if (!md)
		return -ENOMEM;
	rc = pcre2_match(r->code[index], (PCRE2_SPTR)str, len, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -ERANGE;
	/* rc is the highest group set + 1; unset groups below it are ~0. */
	if (rc > ncap)
		rc = ncap;
	ov = pcre2_get_ovector_pointer(md);
	for (g = 0; g < rc; g++) {
		caps[2 * g] = ov[2 * g];
		caps[2 * g + 1] = ov[2 * g + 1];
	}
	return rc;
}

size_t ds_regex_bytes(const struct ds_regex *r)
{
	return r->bytes;
}

uint32_t ds_regex_nfallback(const struct ds_regex *r)
{
	return r->nfallback;
}
