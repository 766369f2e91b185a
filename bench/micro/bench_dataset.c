// SPDX-License-Identifier: GPL-2.0
/*
 * bench_dataset.c - per-match cost of the DataSet engines at 10, 10,000 and
 * 100,000 entries, with the memory each structure holds.
 *
 * Keys are URL-path-like (~30 bytes: "/<word>/<word>/<hex token>/<id>"),
 * regex keys the same paths with the id turned into "[0-9]+" and anchored.
 * Each operator is timed on 1,024 queries, half built to hit and half random
 * paths; a cell is the best of 3 runs of >= 0.1 s. Usage:
 *	bench_dataset [OUTDIR]	(writes OUTDIR/dataset.md and dataset.json)
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset_internal.h"

#define NQ   1024
#define QMAX 96

static const size_t sizes[] = { 10, 10000, 100000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static const char *const words[] = {
	"api",	  "v1",	     "v2",    "users", "orders", "static", "img",    "css",
	"js",	  "products", "cart", "checkout", "account", "login", "search", "blog",
	"posts",  "comments", "media", "files", "docs",   "assets", "admin",  "reports",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "/word/word/tok<hex>/<id>"; the token makes keys unique per index. */
static int make_path(char *buf, size_t len, uint32_t i)
{
	return snprintf(buf, len, "/%s/%s/t%05x/%u", words[rnd() % NWORDS], words[rnd() % NWORDS],
			i * 2654435761u & 0xfffff, (unsigned)(rnd() % 100000));
}

struct query {
	char s[QMAX];
	size_t len;
};

struct row {
	const char *op;
	bool nocase;
	double ns[NSIZES];
	size_t bytes[NSIZES];
	double build_ms[NSIZES];
	int hits[NSIZES];
};

static volatile uint32_t sink;

/* ns per match over q, best of 3 runs of at least 0.1 s. */
static double time_str(const struct xadc_strset *s, enum xadc_sop op, bool nc,
		       const struct query *q, int *hits)
{
	double best = 1e30;
	int run, i;

	*hits = 0;
	for (i = 0; i < NQ; i++)
		*hits += xadc_strset_match(s, op, nc, q[i].s, q[i].len, NULL);
	for (run = 0; run < 3; run++) {
		double t0 = now(), t;
		long n = 0;

		do {
			for (i = 0; i < NQ; i++) {
				struct xadc_str_hit h;

				sink += xadc_strset_match(s, op, nc, q[i].s, q[i].len, &h);
			}
			n += NQ;
			t = now() - t0;
		} while (t < 0.1);
		if (t / n * 1e9 < best)
			best = t / n * 1e9;
	}
	return best;
}

/* Random-path misses, or hits shaped for the operator from key k. */
static void make_query(struct query *q, enum xadc_sop op, const struct xadc_str_entry *k,
		       const char *plain_key, bool hit, bool nc)
{
	char tmp[QMAX];
	size_t i;

	if (!hit) {
		make_path(tmp, sizeof(tmp), (uint32_t)rnd());
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "/x%s", tmp);
		return;
	}
	switch (op) {
	case XADC_SOP_BEGINS_WITH:
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "%s/detail?id=42", k->key);
		break;
	case XADC_SOP_ENDS_WITH:
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "/gw/east%s", k->key);
		break;
	case XADC_SOP_CONTAINS:
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "/gw%s/more", k->key);
		break;
	case XADC_SOP_REGEX:
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "%s", plain_key);
		break;
	default:
		q->len = (size_t)snprintf(q->s, sizeof(q->s), "%s", k->key);
		break;
	}
	if (nc)
		for (i = 0; i < q->len; i += 3)
			if (q->s[i] >= 'a' && q->s[i] <= 'z')
				q->s[i] -= 32;
}

static struct row rows[2 * XADC_SOP__COUNT + 1];
static const char *const opnames[] = { "equals", "begins_with", "ends_with", "contains", "regex" };

static void bench_size(int si)
{
	size_t n = sizes[si], i;
	struct xadc_str_entry *e = calloc(n, sizeof(*e)), *re = calloc(n, sizeof(*re));
	char (*keys)[48] = calloc(n, 48), (*pats)[64] = calloc(n, 64);
	struct query *q = calloc(NQ, sizeof(*q));
	double t0;
	int op, nc;

	for (i = 0; i < n; i++) {
		char *slash;

		make_path(keys[i], 48, (uint32_t)i);
		e[i] = (struct xadc_str_entry){ keys[i], strlen(keys[i]), "", 0 };
		/* "^/w/w/tok/[0-9]+$" from "/w/w/tok/123". */
		slash = strrchr(keys[i], '/');
		snprintf(pats[i], 64, "^%.*s/[0-9]+$", (int)(slash - keys[i]), keys[i]);
		re[i] = (struct xadc_str_entry){ pats[i], strlen(pats[i]), "", 0 };
	}
	for (op = 0; op < XADC_SOP__COUNT; op++) {
		for (nc = 0; nc < 2; nc++) {
			struct row *r = &rows[op * 2 + nc];
			unsigned need = XADC_SOP_BIT(op, nc);
			struct xadc_strset *s;

			r->op = opnames[op];
			r->nocase = nc;
			t0 = now();
			s = xadc_strset_build("bench", op == XADC_SOP_REGEX ? re : e, n, need,
					      NULL);
			r->build_ms[si] = (now() - t0) * 1e3;
			if (!s) {
				fprintf(stderr, "build failed: %s n=%zu\n", r->op, n);
				exit(1);
			}
			for (i = 0; i < NQ; i++) {
				size_t k = rnd() % n;

				make_query(&q[i], op, op == XADC_SOP_REGEX ? &re[k] : &e[k],
					   keys[k], i % 2, nc);
			}
			r->bytes[si] = xadc_strset_bytes(s, op, nc);
			r->ns[si] = time_str(s, op, nc, q, &r->hits[si]);
			xadc_strset_free(s);
		}
	}
	free(e);
	free(re);
	free(keys);
	free(pats);
	free(q);
}

static void bench_ip(int si)
{
	struct row *r = &rows[2 * XADC_SOP__COUNT];
	size_t n = sizes[si], i;
	struct xadc_ipset *s = xadc_ipset_new();
	union xadc_sockaddr *q = calloc(NQ, sizeof(*q));
	uint32_t *nets = calloc(n, sizeof(*nets));
	double best = 1e30, t0;
	int run, j;

	r->op = "ipset";
	t0 = now();
	for (i = 0; i < n; i++) {
		union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };
		unsigned bits = 16 + rnd() % 17;

		nets[i] = (uint32_t)rnd() & (bits == 32 ? UINT32_MAX : ~(UINT32_MAX >> bits));
		a.in.sin_addr.s_addr = htonl(nets[i]);
		xadc_ipset_add_prefix(s, &a, bits);
	}
	xadc_ipset_build(s);
	r->build_ms[si] = (now() - t0) * 1e3;
	r->bytes[si] = xadc_ipset_bytes(s);
	r->hits[si] = 0;
	for (j = 0; j < NQ; j++) {
		q[j].in.sin_family = AF_INET;
		q[j].in.sin_addr.s_addr = htonl(j % 2 ? nets[rnd() % n] : (uint32_t)rnd());
		r->hits[si] += xadc_ipset_contains(s, &q[j]);
	}
	for (run = 0; run < 3; run++) {
		double t;
		long cnt = 0;

		t0 = now();
		do {
			for (j = 0; j < NQ; j++)
				sink += xadc_ipset_contains(s, &q[j]);
			cnt += NQ;
			t = now() - t0;
		} while (t < 0.1);
		if (t / cnt * 1e9 < best)
			best = t / cnt * 1e9;
	}
	r->ns[si] = best;
	xadc_ipset_free(s);
	free(q);
	free(nets);
}

static void print_md(FILE *f)
{
	size_t i;

	fprintf(f, "| operator | case | ns/match @10 | @10,000 | @100,000 | 100k/10 | "
		   "bytes @100k | build ms @100k | hits/%d @100k |\n",
		NQ);
	fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		fprintf(f, "| %s | %s | %.1f | %.1f | %.1f | %.2f | %zu | %.1f | %d |\n", r->op,
			i == 2 * XADC_SOP__COUNT ? "-" : r->nocase ? "nocase" : "exact", r->ns[0],
			r->ns[1], r->ns[2], r->ns[2] / r->ns[0], r->bytes[2], r->build_ms[2],
			r->hits[2]);
	}
}

static void print_json(FILE *f)
{
	size_t i, j;

	fprintf(f, "{\"queries\": %d, \"sizes\": [10, 10000, 100000], \"results\": [\n", NQ);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		fprintf(f, "  {\"op\": \"%s\", \"nocase\": %s, \"ns\": [", r->op,
			r->nocase ? "true" : "false");
		for (j = 0; j < NSIZES; j++)
			fprintf(f, "%s%.2f", j ? ", " : "", r->ns[j]);
		fprintf(f, "], \"bytes\": [");
		for (j = 0; j < NSIZES; j++)
			fprintf(f, "%s%zu", j ? ", " : "", r->bytes[j]);
		fprintf(f, "], \"build_ms\": [");
		for (j = 0; j < NSIZES; j++)
			fprintf(f, "%s%.2f", j ? ", " : "", r->build_ms[j]);
		fprintf(f, "], \"ratio_100k_10\": %.3f}%s\n", r->ns[2] / r->ns[0],
			i + 1 < sizeof(rows) / sizeof(rows[0]) ? "," : "");
	}
	fprintf(f, "]}\n");
}

static int write_out(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dataset.md", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "# DataSet micro-benchmark (bench/micro/bench_dataset.c)\n\n");
	print_md(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/dataset.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	print_json(f);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	size_t si;

	for (si = 0; si < NSIZES; si++) {
		fprintf(stderr, "size %zu...\n", sizes[si]);
		bench_size((int)si);
		bench_ip((int)si);
	}
	print_md(stdout);
	printf("\n");
	print_json(stdout);
	if (argc > 1 && write_out(argv[1])) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
