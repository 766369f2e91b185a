// SPDX-License-Identifier: GPL-2.0
/*
 * bench_dataset.c - per-match cost of the DataSet engines at 10, 10,000 and
 * 100,000 entries, with the memory each structure holds.
 *
 * Keys are URL-path-like (~30 bytes: "/<word>/<word>/<hex token>/<id>"),
 * regex keys the same paths with the id turned into "[0-9]+" and anchored.
 *
 * Query set (the same distribution at every size): NQ queries, each a hit
 * or a miss at random (50/50, so the branch predictor cannot learn a
 * pattern); a hit is built from a key drawn uniformly from the whole set,
 * so at 100,000 entries a pass touches tens of thousands of distinct keys
 * (more than the 2 MiB per-core L2 holds) rather than a cache-resident few.
 * Query text is packed in one pool read sequentially, at every size alike.
 * Each query is one xadc_strset_find, the call a policy match makes (the
 * matching entry's index, its key and value not read).
 *
 * Time: a cell is the minimum over RUNS runs of ns per match, each run
 * repeating full passes over the queries for >= 50 ms; the minimum is the
 * figure least disturbed by other work on a shared machine. The loop's own
 * cost (a non-inlined stub with the same signature) is reported apart.
 *
 * Counts: wall-clock time on a shared 2-core VM swings 2-5x, so each cell
 * also gets instructions and cache misses per match. With hardware
 * counters (perf_event_open on this thread) they are read around one pass.
 * Without them (this VM reports "<not supported>") the bench re-runs itself
 * under valgrind's callgrind, one process per (case, size): it builds the
 * set, warms on one query set and counts only inside counted_pass() on a
 * second, disjoint query set of the same distribution (--toggle-collect),
 * with a simulated 48 KiB D1 and a 2 MiB last level (this machine's per-core
 * L2: its 260 MiB L3 would hide every miss). Set XADC_BENCH_COUNT=0 to skip.
 *
 * Usage:
 *	bench_dataset [OUTDIR]		   full run, writes OUTDIR/dataset.{md,json}
 *	bench_dataset --count CASE SIZEIDX  one counting run (used under valgrind)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataset_internal.h"

#define NQ	 65536	/* timed queries per cell */
#define NQC	 4096	/* counted queries per cell (valgrind is ~100x slower) */
#define RUNS	 5
#define QMAX	 96
#define NCASES	 (2 * XADC_SOP__COUNT + 1)
#define CASE_IP	 (2 * XADC_SOP__COUNT)

extern char **environ;

static const size_t sizes[] = { 10, 10000, 100000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static const char *const words[] = {
	"api",	  "v1",	     "v2",    "users", "orders", "static", "img",    "css",
	"js",	  "products", "cart", "checkout", "account", "login", "search", "blog",
	"posts",  "comments", "media", "files", "docs",   "assets", "admin",  "reports",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const opnames[] = { "equals", "begins_with", "ends_with", "contains",
				       "regex" };

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

/* Queries: strings packed in one pool, or addresses for the IP case. */
struct qset {
	char *pool;
	uint32_t *off;
	uint32_t *len;
	union xadc_sockaddr *ip;
	size_t n;
	int hits;
};

struct row {
	double ns[NSIZES];
	size_t bytes[NSIZES];
	double build_ms[NSIZES];
	double hit_pct[NSIZES];
	bool counted[NSIZES];
	double ir[NSIZES], d1[NSIZES], ll[NSIZES];
};

static struct row rows[NCASES];
static char self_exe[4096];	/* this binary, for the valgrind children */
static const char *count_src = "none";

/* The keys of one size, shared by every case. */
struct keys {
	size_t n;
	char (*key)[48];
	char (*pat)[64];
	struct xadc_str_entry *e, *re;
	uint32_t *nets;
	unsigned *bits;
};

static void keys_make(struct keys *k, size_t n)
{
	size_t i;

	k->n = n;
	k->key = calloc(n, 48);
	k->pat = calloc(n, 64);
	k->e = calloc(n, sizeof(*k->e));
	k->re = calloc(n, sizeof(*k->re));
	k->nets = calloc(n, sizeof(*k->nets));
	k->bits = calloc(n, sizeof(*k->bits));
	if (!k->key || !k->pat || !k->e || !k->re || !k->nets || !k->bits) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		char *slash;

		make_path(k->key[i], 48, (uint32_t)i);
		k->e[i] = (struct xadc_str_entry){ k->key[i], strlen(k->key[i]), "", 0 };
		/* "^/w/w/tok/[0-9]+$" from "/w/w/tok/123". */
		slash = strrchr(k->key[i], '/');
		snprintf(k->pat[i], 64, "^%.*s/[0-9]+$", (int)(slash - k->key[i]), k->key[i]);
		k->re[i] = (struct xadc_str_entry){ k->pat[i], strlen(k->pat[i]), "", 0 };
		k->bits[i] = 16 + rnd() % 17;
		k->nets[i] = (uint32_t)rnd() &
			     (k->bits[i] == 32 ? UINT32_MAX : ~(UINT32_MAX >> k->bits[i]));
	}
}

static void keys_free(struct keys *k)
{
	free(k->key);
	free(k->pat);
	free(k->e);
	free(k->re);
	free(k->nets);
	free(k->bits);
}

/* One query string: a random-path miss, or a hit shaped for op from key. */
static size_t make_query(char *q, enum xadc_sop op, const char *key, bool hit, bool nc)
{
	char tmp[QMAX];
	size_t len, i;

	if (!hit) {
		make_path(tmp, sizeof(tmp), (uint32_t)rnd());
		len = (size_t)snprintf(q, QMAX, "/x%s", tmp);
	} else if (op == XADC_SOP_BEGINS_WITH) {
		len = (size_t)snprintf(q, QMAX, "%s/detail?id=42", key);
	} else if (op == XADC_SOP_ENDS_WITH) {
		len = (size_t)snprintf(q, QMAX, "/gw/east%s", key);
	} else if (op == XADC_SOP_CONTAINS) {
		len = (size_t)snprintf(q, QMAX, "/gw%s/more", key);
	} else {
		/* EQUALS: the key; REGEX: the plain path the pattern came from. */
		len = (size_t)snprintf(q, QMAX, "%s", key);
	}
	if (nc)
		for (i = 0; i < len; i += 3)
			if (q[i] >= 'a' && q[i] <= 'z')
				q[i] -= 32;
	return len;
}

static void qset_make(struct qset *qs, int c, const struct keys *k, size_t nq)
{
	size_t i, used = 0;

	memset(qs, 0, sizeof(*qs));
	qs->n = nq;
	if (c == CASE_IP) {
		qs->ip = calloc(nq, sizeof(*qs->ip));
		for (i = 0; i < nq; i++) {
			qs->ip[i].in.sin_family = AF_INET;
			qs->ip[i].in.sin_addr.s_addr =
				htonl(rnd() & 1 ? k->nets[rnd() % k->n] | (uint32_t)(rnd() & 0xff)
					       : (uint32_t)rnd());
		}
		return;
	}
	qs->pool = malloc(nq * QMAX);
	qs->off = malloc(nq * sizeof(*qs->off));
	qs->len = malloc(nq * sizeof(*qs->len));
	if (!qs->pool || !qs->off || !qs->len) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (i = 0; i < nq; i++) {
		qs->off[i] = (uint32_t)used;
		qs->len[i] = (uint32_t)make_query(qs->pool + used, c / 2, k->key[rnd() % k->n],
						  rnd() & 1, c % 2);
		used += qs->len[i];
	}
}

static void qset_free(struct qset *qs)
{
	free(qs->pool);
	free(qs->off);
	free(qs->len);
	free(qs->ip);
}

/* A set under test: a string set or an IP set. */
struct subject {
	int c;
	struct xadc_strset *s;
	struct xadc_ipset *ip;
};

static volatile uint32_t sink;

/* Same signature and work as the real call minus the lookup: loop cost. */
static __attribute__((noinline)) uint32_t null_find(const struct xadc_strset *s, enum xadc_sop op,
						    bool nocase, const char *str, size_t len)
{
	return len && str[len - 1] == '/' ? (uint32_t)len : XADC_STRSET_NONE;
}

/* One pass over qs: every match the benchmark times or counts. */
static __attribute__((noinline)) uint32_t measure_pass(const struct subject *sj,
						       const struct qset *qs, bool null)
{
	uint32_t acc = 0;
	size_t i;

	if (sj->c == CASE_IP) {
		for (i = 0; i < qs->n; i++)
			acc += xadc_ipset_contains(sj->ip, &qs->ip[i]);
		return acc;
	}
	/* xadc_strset_find: the lookup a policy match makes (the index only;
	 * DataScripts that want the value read the entry after it). */
	for (i = 0; i < qs->n; i++) {
		const char *str = qs->pool + qs->off[i];

		if (null)
			acc += null_find(sj->s, sj->c / 2, sj->c % 2, str, qs->len[i]) !=
			       XADC_STRSET_NONE;
		else
			acc += xadc_strset_find(sj->s, sj->c / 2, sj->c % 2, str, qs->len[i]) !=
			       XADC_STRSET_NONE;
	}
	return acc;
}

/* ns per match: minimum over RUNS runs of >= 50 ms each. */
static double time_pass(const struct subject *sj, const struct qset *qs, bool null)
{
	double best = 1e30;
	int run;

	for (run = 0; run < RUNS; run++) {
		double t0 = now(), t;
		long n = 0;

		do {
			sink += measure_pass(sj, qs, null);
			n += (long)qs->n;
			t = now() - t0;
		} while (t < 0.05);
		if (t / n * 1e9 < best)
			best = t / n * 1e9;
	}
	return best;
}

/* Build case c over k; fills build time and bytes when r is given. */
static void subject_build(struct subject *sj, int c, const struct keys *k, struct row *r,
			  int si)
{
	double t0 = now();
	size_t i;

	memset(sj, 0, sizeof(*sj));
	sj->c = c;
	if (c == CASE_IP) {
		sj->ip = xadc_ipset_new();
		for (i = 0; sj->ip && i < k->n; i++) {
			union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };

			a.in.sin_addr.s_addr = htonl(k->nets[i]);
			xadc_ipset_add_prefix(sj->ip, &a, k->bits[i]);
		}
		if (!sj->ip || xadc_ipset_build(sj->ip)) {
			fprintf(stderr, "ipset build failed n=%zu\n", k->n);
			exit(1);
		}
	} else {
		sj->s = xadc_strset_build("bench", c / 2 == XADC_SOP_REGEX ? k->re : k->e, k->n,
					  XADC_SOP_BIT(c / 2, c % 2), NULL);
		if (!sj->s) {
			fprintf(stderr, "build failed: %s n=%zu\n", opnames[c / 2], k->n);
			exit(1);
		}
	}
	if (!r)
		return;
	r->build_ms[si] = (now() - t0) * 1e3;
	r->bytes[si] = c == CASE_IP ? xadc_ipset_bytes(sj->ip)
				    : xadc_strset_bytes(sj->s, c / 2, c % 2);
}

static void subject_free(struct subject *sj)
{
	xadc_strset_free(sj->s);
	xadc_ipset_free(sj->ip);
}

/* --- hardware counters ---------------------------------------------------- */

static int hw_fd[3] = { -1, -1, -1 };

static int perf_open(uint32_t type, uint64_t config, int group)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	a.disabled = group < 0;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, group, 0);
}

/* Instructions, LLC misses, L1D read misses for this thread; false if absent. */
static bool hw_open(void)
{
	hw_fd[0] = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, -1);
	if (hw_fd[0] < 0)
		return false;
	hw_fd[1] = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, hw_fd[0]);
	hw_fd[2] = perf_open(PERF_TYPE_HW_CACHE,
			     PERF_COUNT_HW_CACHE_L1D | PERF_COUNT_HW_CACHE_OP_READ << 8 |
				     PERF_COUNT_HW_CACHE_RESULT_MISS << 16,
			     hw_fd[0]);
	if (hw_fd[1] < 0 || hw_fd[2] < 0)
		return false;
	return true;
}

/* Counts of one pass over qs, per match, into r (hardware counters). */
static void hw_count(const struct subject *sj, const struct qset *qs, struct row *r, int si)
{
	uint64_t v[3];
	int i;

	ioctl(hw_fd[0], PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
	ioctl(hw_fd[0], PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
	sink += measure_pass(sj, qs, false);
	ioctl(hw_fd[0], PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
	for (i = 0; i < 3; i++)
		if (read(hw_fd[i], &v[i], sizeof(v[i])) != sizeof(v[i]))
			return;
	r->ir[si] = (double)v[0] / qs->n;
	r->ll[si] = (double)v[1] / qs->n;
	r->d1[si] = (double)v[2] / qs->n;
	r->counted[si] = true;
}

/* --- callgrind counting --------------------------------------------------- */

/* The pass callgrind counts (--toggle-collect=counted_pass); warm-up is not. */
static __attribute__((noinline)) uint32_t counted_pass(const struct subject *sj,
						       const struct qset *qs, bool null)
{
	return measure_pass(sj, qs, null);
}

/* Child side: build case c at size si, warm, count one pass (under valgrind). */
static int count_child(int c, int si)
{
	struct subject sj;
	struct qset warm, meas;
	struct keys k;

	keys_make(&k, sizes[si]);
	subject_build(&sj, c, &k, NULL, si);
	qset_make(&warm, c, &k, NQC);
	qset_make(&meas, c, &k, NQC);
	/* Warm caches and the per-thread regex scratch on queries not counted. */
	sink += measure_pass(&sj, &warm, false);
	sink += counted_pass(&sj, &meas, getenv("XADC_BENCH_NULL") != NULL);
	qset_free(&warm);
	qset_free(&meas);
	subject_free(&sj);
	keys_free(&k);
	return 0;
}

/*
 * Parent side: run one counting child under callgrind; out gets
 * instructions, D1 misses and LL misses per match.
 */
static bool callgrind_count(int c, int si, bool null, double res[3])
{
	char cs[16], ss[16], out[] = "/tmp/bench_dataset.cg.XXXXXX", of[64], line[512];
	char *argv[] = { "valgrind",
			 "--tool=callgrind",
			 "--cache-sim=yes",
			 "--D1=49152,12,64",
			 "--LL=2097152,16,64",
			 "--toggle-collect=counted_pass",
			 of,
			 self_exe,
			 "--count",
			 cs,
			 ss,
			 NULL };
	char **envp;
	unsigned long long v[9];
	bool ok = false;
	pid_t pid;
	int fd, st;
	FILE *f;

	fd = mkstemp(out);
	if (fd < 0)
		return false;
	close(fd);
	snprintf(of, sizeof(of), "--callgrind-out-file=%s", out);
	snprintf(cs, sizeof(cs), "%d", c);
	snprintf(ss, sizeof(ss), "%d", si);
	if (null)
		setenv("XADC_BENCH_NULL", "1", 1);
	else
		unsetenv("XADC_BENCH_NULL");
	envp = environ;
	{
		posix_spawn_file_actions_t fa;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		if (posix_spawnp(&pid, "valgrind", &fa, NULL, argv, envp)) {
			posix_spawn_file_actions_destroy(&fa);
			goto out;
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		goto out;
	f = fopen(out, "r");
	if (!f)
		goto out;
	/* events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw */
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "summary:", 8) && strncmp(line, "totals:", 7))
			continue;
		/* Trailing zero counts are left out of the line: they stay 0. */
		memset(v, 0, sizeof(v));
		if (sscanf(strchr(line, ':') + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) < 1)
			continue;
		res[0] = (double)v[0] / NQC;
		res[1] = (double)(v[4] + v[5]) / NQC;
		res[2] = (double)(v[7] + v[8]) / NQC;
		ok = true;
		break;
	}
	fclose(f);
out:
	unlink(out);
	return ok;
}

/* --- driver --------------------------------------------------------------- */

static double loop_ns, loop_ir;

static const char *op_name(int c);

/* XADC_BENCH_OPS="equals ipset" limits a run to some operators. */
static bool op_selected(int c)
{
	const char *only = getenv("XADC_BENCH_OPS");

	return !only || strstr(only, op_name(c));
}

static void bench_size(int si, bool hw)
{
	struct keys k;
	int c;

	keys_make(&k, sizes[si]);
	for (c = 0; c < NCASES; c++) {
		struct row *r = &rows[c];
		struct subject sj;
		struct qset qs;

		if (!op_selected(c) && !(c == 0 && si == 0))
			continue;
		subject_build(&sj, c, &k, r, si);
		qset_make(&qs, c, &k, NQ);
		r->hit_pct[si] = 100.0 * measure_pass(&sj, &qs, false) / NQ;
		r->ns[si] = time_pass(&sj, &qs, false);
		if (c == 0 && si == 0)
			loop_ns = time_pass(&sj, &qs, true);
		if (hw)
			hw_count(&sj, &qs, r, si);
		qset_free(&qs);
		subject_free(&sj);
	}
	keys_free(&k);
}

static const char *case_name(int c)
{
	return c == CASE_IP ? "-" : c % 2 ? "nocase" : "exact";
}

static const char *op_name(int c)
{
	return c == CASE_IP ? "ipset" : opnames[c / 2];
}

static void print_md(FILE *f)
{
	int c;

	fprintf(f, "Time: ns per match, minimum of %d runs over %d queries (50%% hits, keys "
		   "drawn from the whole set). Loop overhead (stub call): %.1f ns, %.0f "
		   "instructions per match, included in every cell.\n",
		RUNS, NQ, loop_ns, loop_ir);
	fprintf(f, "Counts per match (source: %s): Ir = instructions, D1 = L1D misses, "
		   "LL = last-level misses (%s).\n\n",
		count_src,
		strcmp(count_src, "callgrind") ? "hardware LLC"
					       : "simulated 2 MiB, this CPU's per-core L2");
	fprintf(f, "| operator | case | ns @10 | ns @10k | ns @100k | 100k/10 | Ir @10 | Ir @100k "
		   "| D1 @10 | D1 @100k | LL @10 | LL @100k | MB @100k | build ms @100k | hit%% "
		   "@100k |\n");
	fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (c = 0; c < NCASES; c++) {
		const struct row *r = &rows[c];

		fprintf(f, "| %s | %s | %.1f | %.1f | %.1f | %.2f | ", op_name(c), case_name(c),
			r->ns[0], r->ns[1], r->ns[2], r->ns[2] / r->ns[0]);
		if (r->counted[0] && r->counted[2])
			fprintf(f, "%.0f | %.0f | %.2f | %.2f | %.3f | %.3f | ", r->ir[0],
				r->ir[2], r->d1[0], r->d1[2], r->ll[0], r->ll[2]);
		else
			fprintf(f, "- | - | - | - | - | - | ");
		fprintf(f, "%.1f | %.1f | %.0f |\n", r->bytes[2] / 1048576.0, r->build_ms[2],
			r->hit_pct[2]);
	}
}

static void json_arr(FILE *f, const char *name, const double *v, const char *fmt)
{
	size_t j;

	fprintf(f, ", \"%s\": [", name);
	for (j = 0; j < NSIZES; j++) {
		fprintf(f, "%s", j ? ", " : "");
		fprintf(f, fmt, v[j]);
	}
	fprintf(f, "]");
}

static void print_json(FILE *f)
{
	double b[NSIZES];
	size_t j;
	int c;

	fprintf(f,
		"{\"queries\": %d, \"runs\": %d, \"sizes\": [10, 10000, 100000], "
		"\"loop_ns\": %.2f, \"loop_ir\": %.1f, \"counts\": \"%s\", \"results\": [\n",
		NQ, RUNS, loop_ns, loop_ir, count_src);
	for (c = 0; c < NCASES; c++) {
		const struct row *r = &rows[c];

		fprintf(f, "  {\"op\": \"%s\", \"nocase\": %s", op_name(c),
			c % 2 && c != CASE_IP ? "true" : "false");
		json_arr(f, "ns", r->ns, "%.2f");
		for (j = 0; j < NSIZES; j++)
			b[j] = (double)r->bytes[j];
		json_arr(f, "bytes", b, "%.0f");
		json_arr(f, "build_ms", r->build_ms, "%.2f");
		json_arr(f, "hit_pct", r->hit_pct, "%.1f");
		if (r->counted[0]) {
			json_arr(f, "ir", r->ir, "%.1f");
			json_arr(f, "d1_miss", r->d1, "%.3f");
			json_arr(f, "ll_miss", r->ll, "%.4f");
		}
		fprintf(f, ", \"ratio_100k_10\": %.3f}%s\n", r->ns[2] / r->ns[0],
			c + 1 < NCASES ? "," : "");
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

/* Callgrind counts for every case and size (slow: a process per cell). */
static void count_all(void)
{
	double res[3];
	size_t si;
	int c;

	count_src = "callgrind";
	if (callgrind_count(0, 0, true, res))
		loop_ir = res[0];
	for (c = 0; c < NCASES; c++) {
		if (!op_selected(c))
			continue;
		for (si = 0; si < NSIZES; si++) {
			fprintf(stderr, "count %s %s n=%zu...\n", op_name(c), case_name(c),
				sizes[si]);
			if (!callgrind_count(c, (int)si, false, res)) {
				fprintf(stderr, "  callgrind run failed\n");
				continue;
			}
			rows[c].ir[si] = res[0];
			rows[c].d1[si] = res[1];
			rows[c].ll[si] = res[2];
			rows[c].counted[si] = true;
		}
	}
}

int main(int argc, char **argv)
{
	const char *cnt = getenv("XADC_BENCH_COUNT");
	bool hw;
	size_t si;

	if (argc == 4 && !strcmp(argv[1], "--count"))
		return count_child(atoi(argv[2]), atoi(argv[3]));
	/* valgrind needs the path: /proc/self/exe would name valgrind itself. */
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		snprintf(self_exe, sizeof(self_exe), "%s", argv[0]);
	hw = hw_open();
	if (hw)
		count_src = "perf_event_open";
	else
		fprintf(stderr, "hardware counters unavailable (%s)%s\n", strerror(errno),
			cnt && !strcmp(cnt, "0") ? "" : "; counting with callgrind");
	for (si = 0; si < NSIZES; si++) {
		fprintf(stderr, "size %zu...\n", sizes[si]);
		bench_size((int)si, hw);
	}
	if (!hw && !(cnt && !strcmp(cnt, "0")))
		count_all();
	print_md(stdout);
	printf("\n");
	print_json(stdout);
	if (argc > 1 && write_out(argv[1])) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
