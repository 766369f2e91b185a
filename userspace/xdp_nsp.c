// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_nsp.c - compile a network security policy (struct xadc_nsp_policy)
 * into the XDP program's maps and switch to it atomically.
 *
 * Client-IP sets become entries keyed by (policy, generation, prefix):
 * ranges are split into prefixes, and since a lookup answers with the
 * longest matching prefix only, each entry carries the union of the rule
 * bits of every configured prefix that covers it. Host entries (/32, /128)
 * go into hash maps, shorter prefixes into the LPM tries, and the
 * generation's rules value says which family has no trie entry at all, so
 * the program can answer a host-map miss without walking a trie. A new
 * generation is written beside the active one, then the one-word generation
 * pointer of the policy is flipped, then the old generation is deleted: a
 * packet sees one whole policy or the other.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xadc/common.h"
#include "xdp_internal.h"
#include "xadc_xdp.skel.h"

typedef unsigned __int128 u128;

/* A prefix as a number of width w bits (32 or 128). */
struct cpfx {
	u128 val;
	unsigned len;
	uint64_t bits;
};

struct cvec {
	struct cpfx *v;
	size_t n, cap;
};

static int cvec_push(struct cvec *c, u128 val, unsigned len, uint64_t bits)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cpfx *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = (struct cpfx){ .val = val, .len = len, .bits = bits };
	return 0;
}

static u128 to_num(const uint8_t *a, unsigned w)
{
	u128 v = 0;
	unsigned i;

	for (i = 0; i < w / 8; i++)
		v = (v << 8) | a[i];
	return v;
}

static void from_num(u128 v, unsigned w, uint8_t *a)
{
	int i;

	memset(a, 0, 16);
	for (i = w / 8 - 1; i >= 0; i--) {
		a[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Mask of the len leading bits of a w-bit number. */
static u128 lead_mask(unsigned len, unsigned w)
{
	u128 all = w == 128 ? ~(u128)0 : (((u128)1 << w) - 1);

	if (!len)
		return 0;
	return (all >> (w - len)) << (w - len);
}

/* Split [lo, hi] (w-bit numbers, lo <= hi) into the fewest prefixes: at
 * each step the largest aligned block starting at lo that fits. */
static int split_range(struct cvec *c, u128 lo, u128 hi, unsigned w, uint64_t bits)
{
	int err;

	for (;;) {
		unsigned k = 0;	/* block of 2^k addresses */
		u128 last;

		while (k < w) {
			u128 size_m1 = k + 1 == 128 ? ~(u128)0 : (((u128)1 << (k + 1)) - 1);

			if ((lo & size_m1) || size_m1 > hi - lo)
				break;
			k++;
		}
		err = cvec_push(c, lo, w - k, bits);
		if (err)
			return err;
		last = lo + (k == 128 ? ~(u128)0 : (((u128)1 << k) - 1));
		if (last >= hi)
			return 0;
		lo = last + 1;
	}
}

static int cmp_cpfx(const void *a, const void *b)
{
	const struct cpfx *x = a, *y = b;

	if (x->val != y->val)
		return x->val < y->val ? -1 : 1;
	return (int)x->len - (int)y->len;
}

static bool covers(const struct cpfx *a, const struct cpfx *p, unsigned w)
{
	u128 m = lead_mask(a->len, w);

	return a->len <= p->len && (a->val & m) == (p->val & m);
}

/* Collect family fam's prefixes of every rule, tagged with the rule bit. */
static int collect(const struct xadc_nsp_policy *pol, int fam, struct cvec *c)
{
	unsigned w = fam == 4 ? 32 : 128, i, j;
	int err;

	for (i = 0; i < pol->nrules; i++) {
		const struct xadc_nsp_rule *r = &pol->rules[i];
		uint64_t bit = 1ULL << i;

		if (!r->has_client_ip)
			continue;
		for (j = 0; j < r->nprefixes; j++) {
			const struct xadc_nsp_prefix *p = &r->prefixes[j];

			if (p->family != fam)
				continue;
			err = cvec_push(c, to_num(p->addr, w) & lead_mask(p->len, w), p->len, bit);
			if (err)
				return err;
		}
		for (j = 0; j < r->nranges; j++) {
			const struct xadc_nsp_range *g = &r->ranges[j];

			if (g->family != fam)
				continue;
			err = split_range(c, to_num(g->lo, w), to_num(g->hi, w), w, bit);
			if (err)
				return err;
		}
	}
	return 0;
}

int xadc_xdp_nsp_compile_lpm(const struct xadc_nsp_policy *pol, int fam,
			     struct xadc_nsp_lpm_entry **out, size_t *n)
{
	unsigned w = fam == 4 ? 32 : 128;
	struct cvec c = { 0 };
	struct xadc_nsp_lpm_entry *e = NULL;
	size_t *stack = NULL, sp = 0, i, m = 0;
	int err;

	err = collect(pol, fam, &c);
	if (err)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), cmp_cpfx);
	/* Merge duplicates (same prefix in several rules, or twice). */
	for (i = 0; i < c.n; i++) {
		if (m && c.v[m - 1].val == c.v[i].val && c.v[m - 1].len == c.v[i].len)
			c.v[m - 1].bits |= c.v[i].bits;
		else
			c.v[m++] = c.v[i];
	}
	c.n = m;
	/* Sorted by (address, length), every prefix comes after the prefixes
	 * covering it and they form a chain: a stack of the open ancestors
	 * gives each prefix the union of its covering prefixes' bits. */
	stack = calloc(c.n + 1, sizeof(*stack));
	e = calloc(c.n + 1, sizeof(*e));
	if (!stack || !e) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c.n; i++) {
		while (sp && !covers(&c.v[stack[sp - 1]], &c.v[i], w))
			sp--;
		if (sp)
			c.v[i].bits |= c.v[stack[sp - 1]].bits;
		stack[sp++] = i;
		from_num(c.v[i].val, w, e[i].addr);
		e[i].len = c.v[i].len;
		e[i].bits = c.v[i].bits;
	}
	*out = e;
	*n = c.n;
	e = NULL;
out:
	free(e);
	free(stack);
	free(c.v);
	return err;
}

static int check_ports(const struct xadc_nsp_ports *p, unsigned i, const char *what)
{
	unsigned j;

	if (!p->present)
		return 0;
	if (p->n > XADC_NSP_PORTS_MAX || (p->op != XADC_NSP_IS_IN && p->op != XADC_NSP_IS_NOT_IN)) {
		pr_err("xdp", "policy rule %u: %s: %u port ranges (max %u) or bad match op", i,
		       what, p->n, XADC_NSP_PORTS_MAX);
		return -EINVAL;
	}
	for (j = 0; j < p->n; j++) {
		if (p->r[j].lo > p->r[j].hi) {
			pr_err("xdp", "policy rule %u: %s range %u: %u > %u", i, what, j,
			       p->r[j].lo, p->r[j].hi);
			return -EINVAL;
		}
	}
	return 0;
}

/* Reject what the program could not represent, naming the rule. */
static int validate(const struct xadc_nsp_policy *pol)
{
	unsigned i, j;

	if (pol->nrules > XADC_NSP_RULES_MAX) {
		pr_err("xdp", "policy: %u rules, at most %u", pol->nrules, XADC_NSP_RULES_MAX);
		return -EINVAL;
	}
	for (i = 0; i < pol->nrules; i++) {
		const struct xadc_nsp_rule *r = &pol->rules[i];

		if (r->action > XADC_NSP_RATE_LIMIT || r->ip_op > XADC_NSP_IS_NOT_IN) {
			pr_err("xdp", "policy rule %u: bad action %d or match op %d", i, r->action,
			       r->ip_op);
			return -EINVAL;
		}
		if (r->action == XADC_NSP_RATE_LIMIT && (!r->max_rate || !r->burst_size)) {
			pr_err("xdp", "policy rule %u: rate limit needs max_rate and burst_size >= 1",
			       i);
			return -EINVAL;
		}
		for (j = 0; j < r->nprefixes; j++) {
			const struct xadc_nsp_prefix *p = &r->prefixes[j];

			if ((p->family != 4 && p->family != 6) ||
			    p->len > (p->family == 4 ? 32 : 128)) {
				pr_err("xdp", "policy rule %u: prefix %u: family %u length %u", i, j,
				       p->family, p->len);
				return -EINVAL;
			}
		}
		for (j = 0; j < r->nranges; j++) {
			const struct xadc_nsp_range *g = &r->ranges[j];
			unsigned w = g->family == 4 ? 4 : 16;

			if ((g->family != 4 && g->family != 6) || memcmp(g->lo, g->hi, w) > 0) {
				pr_err("xdp", "policy rule %u: range %u: bad family %u or low > high",
				       i, j, g->family);
				return -EINVAL;
			}
		}
		if (check_ports(&r->client_port, i, "client port") ||
		    check_ports(&r->vs_port, i, "vs port"))
			return -EINVAL;
	}
	return 0;
}

static void fill_ports(struct xadc_port_range *dst, uint8_t *n, const struct xadc_nsp_ports *p)
{
	unsigned j;

	*n = p->n;
	for (j = 0; j < p->n; j++) {
		dst[j].lo = p->r[j].lo;
		dst[j].hi = p->r[j].hi;
	}
}

static void fill_rules(struct xadc_nsp_rules *rs, const struct xadc_nsp_policy *pol)
{
	unsigned i;

	memset(rs, 0, sizeof(*rs));
	rs->nrules = pol->nrules;
	for (i = 0; i < pol->nrules; i++) {
		const struct xadc_nsp_rule *r = &pol->rules[i];
		struct xadc_nsp_rule_k *k = &rs->rule[i];

		if (!r->has_client_ip)
			rs->ip_any_mask |= 1ULL << i;
		else if (r->ip_op == XADC_NSP_IS_IN)
			rs->ip_in_mask |= 1ULL << i;
		else
			rs->ip_not_mask |= 1ULL << i;
		k->rule_id = r->rule_id;
		k->action = r->action;
		k->max_rate = r->max_rate;
		k->burst = r->burst_size;
		if (r->client_port.present) {
			k->flags |= XADC_RULE_F_CPORT;
			if (r->client_port.op == XADC_NSP_IS_NOT_IN)
				k->flags |= XADC_RULE_F_CPORT_NOT;
			fill_ports(k->cport, &k->ncport, &r->client_port);
		}
		if (r->vs_port.present) {
			k->flags |= XADC_RULE_F_VSPORT;
			if (r->vs_port.op == XADC_NSP_IS_NOT_IN)
				k->flags |= XADC_RULE_F_VSPORT_NOT;
			fill_ports(k->vsport, &k->nvsport, &r->vs_port);
		}
	}
}

/* Set the host filter bits (xadc_common.h) of family fam's host entries
 * among e[0..n). */
static void fill_host_filter(struct xadc_nsp_rules *rs, int fam,
			     const struct xadc_nsp_lpm_entry *e, size_t n)
{
	unsigned w = fam == 4 ? 32 : 128;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t bit;

		if (e[i].len != w)
			continue;
		bit = xadc_host_filter_bit(e[i].addr, fam);
		rs->host_filter[bit / 64] |= 1ULL << (bit % 64);
	}
}

#define HOST_BATCH 4096	/* keys per batched map syscall */

/* write_hosts and purge_hosts treat both host key types alike. */
_Static_assert(offsetof(struct xadc_nsp_host4_key, addr) ==
		       offsetof(struct xadc_nsp_host6_key, addr) &&
	       sizeof(struct xadc_nsp_host4_key) == offsetof(struct xadc_nsp_host6_key, addr) + 4,
	       "a host4 key is the first bytes of a host6 key");

/* Write family fam's non-host entries of e[0..n) for (nsp_id, gen) into the
 * trie fd; *ntrie gets how many there were. */
static int write_lpm(int fd, int fam, uint32_t nsp_id, uint32_t gen,
		     const struct xadc_nsp_lpm_entry *e, size_t n, size_t *ntrie)
{
	unsigned w = fam == 4 ? 32 : 128;
	struct xadc_lpm6_key k6;
	struct xadc_lpm4_key k4;
	struct xadc_lpm_val v;
	size_t i;

	*ntrie = 0;
	for (i = 0; i < n; i++) {
		void *k;

		if (e[i].len == w)
			continue;
		v.rules = e[i].bits;
		if (fam == 4) {
			k4 = (struct xadc_lpm4_key){ .prefixlen = 64 + e[i].len,
						     .nsp_id = htobe32(nsp_id),
						     .gen = htobe32(gen) };
			memcpy(k4.addr, e[i].addr, 4);
			k = &k4;
		} else {
			k6 = (struct xadc_lpm6_key){ .prefixlen = 64 + e[i].len,
						     .nsp_id = htobe32(nsp_id),
						     .gen = htobe32(gen) };
			memcpy(k6.addr, e[i].addr, 16);
			k = &k6;
		}
		if (bpf_map_update_elem(fd, k, &v, BPF_ANY)) {
			int err = -errno;

			pr_err("xdp", "policy %u: writing IPv%d prefix %zu of %zu: %s", nsp_id, fam,
			       i, n, strerror(-err));
			return err == -ENOSPC ? -E2BIG : err;
		}
		(*ntrie)++;
	}
	return 0;
}

/* Write family fam's host entries of e[0..n) for (nsp_id, gen) into the
 * host map fd, HOST_BATCH per syscall: a host list of 10^5 entries is the
 * common large policy, and one syscall per entry would dominate install. */
static int write_hosts(int fd, int fam, uint32_t nsp_id, uint32_t gen,
		       const struct xadc_nsp_lpm_entry *e, size_t n)
{
	size_t ksz = fam == 4 ? sizeof(struct xadc_nsp_host4_key) :
				sizeof(struct xadc_nsp_host6_key);
	unsigned w = fam == 4 ? 32 : 128;
	struct xadc_lpm_val *vals = NULL;
	struct xadc_nsp_host6_key k;
	uint8_t *keys = NULL;
	size_t i, m = 0, done = 0;
	int err = 0;

	keys = calloc(HOST_BATCH, ksz);
	vals = calloc(HOST_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i <= n; i++) {
		/* Flush a full batch, and what is left after the last entry. */
		if (m == HOST_BATCH || (i == n && m)) {
			__u32 cnt = m;

			if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL)) {
				err = -errno;
				pr_err("xdp", "policy %u: writing IPv%d host %zu: %s", nsp_id, fam,
				       done + cnt, strerror(-err));
				if (err == -ENOSPC)
					err = -E2BIG;
				goto out;
			}
			done += m;
			m = 0;
		}
		if (i == n || e[i].len != w)
			continue;
		/* A host4 key is a host6 key's first 12 bytes (asserted above). */
		k = (struct xadc_nsp_host6_key){ .nsp_id = nsp_id, .gen = gen };
		memcpy(k.addr, e[i].addr, w / 8);
		memcpy(keys + m * ksz, &k, ksz);
		vals[m++].rules = e[i].bits;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Write family fam's entries: hosts to host_fd, the rest to lpm_fd. *no_lpm
 * is set when no entry went to the trie. */
static int write_family(int lpm_fd, int host_fd, int fam, uint32_t nsp_id, uint32_t gen,
			const struct xadc_nsp_lpm_entry *e, size_t n, bool *no_lpm)
{
	size_t ntrie;
	int err;

	err = write_lpm(lpm_fd, fam, nsp_id, gen, e, n, &ntrie);
	if (!err)
		err = write_hosts(host_fd, fam, nsp_id, gen, e, n);
	*no_lpm = !ntrie;
	return err;
}

/* Append a key of ksz bytes to the growing array *keys (*n used, *cap
 * allocated); -ENOMEM leaves the array as it was. */
static int keys_append(uint8_t **keys, size_t *n, size_t *cap, const void *key, size_t ksz)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		uint8_t *nk = realloc(*keys, ncap * ksz);

		if (!nk)
			return -ENOMEM;
		*keys = nk;
		*cap = ncap;
	}
	memcpy(*keys + (*n)++ * ksz, key, ksz);
	return 0;
}

/* Delete every trie entry of nsp_id whose generation is not keep (keep 0:
 * all). Keys are collected first: deleting while walking restarts the
 * walk in an LPM trie. */
static int purge_lpm(int fd, size_t ksz, uint32_t nsp_id, uint32_t keep)
{
	uint8_t cur[sizeof(struct xadc_lpm6_key)], next[sizeof(struct xadc_lpm6_key)];
	uint8_t *del = NULL;
	size_t n = 0, cap = 0, i;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		const struct xadc_lpm4_key *k = (const void *)next;

		if (be32toh(k->nsp_id) == nsp_id && be32toh(k->gen) != keep &&
		    (err = keys_append(&del, &n, &cap, next, ksz)))
			goto out;
		memcpy(cur, next, ksz);
		prev = cur;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, del + i * ksz);
out:
	free(del);
	return err;
}

/* Delete every host entry of nsp_id whose generation is not keep (keep 0:
 * all). The keys are read and deleted HOST_BATCH per syscall (see
 * write_hosts); both key types begin with nsp_id and gen in host order. */
static int purge_hosts(int fd, size_t ksz, uint32_t nsp_id, uint32_t keep)
{
	struct xadc_lpm_val *vals = NULL;
	uint8_t *keys = NULL, *del = NULL;
	size_t n = 0, cap = 0, i, j;
	__u32 batch = 0, cnt;
	bool first = true, last = false;
	int err = 0;

	keys = calloc(HOST_BATCH, ksz);
	vals = calloc(HOST_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!last) {
		cnt = HOST_BATCH;
		if (bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &cnt,
					 NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				goto out;
			}
			last = true; /* the end; cnt keys were still read */
		}
		first = false;
		for (i = 0; i < cnt; i++) {
			const struct xadc_nsp_host4_key *k = (const void *)(keys + i * ksz);

			if (k->nsp_id != nsp_id || k->gen == keep)
				continue;
			if ((err = keys_append(&del, &n, &cap, k, ksz)))
				goto out;
		}
	}
	for (i = 0; i < n; i += HOST_BATCH) {
		cnt = n - i < HOST_BATCH ? n - i : HOST_BATCH;
		if (!bpf_map_delete_batch(fd, del + i * ksz, &cnt, NULL))
			continue;
		/* A key gone meanwhile stops the batch: finish one by one. */
		for (j = i; j < i + HOST_BATCH && j < n; j++)
			bpf_map_delete_elem(fd, del + j * ksz);
	}
out:
	free(keys);
	free(vals);
	free(del);
	return err;
}

/* Flip bookkeeping, per process (the maps may be shared by several
 * struct xadc_xdp; sharing this only costs an extra wait). flip_seq
 * counts flips; nsp_flip[id] is the count at id's last flip, and
 * waited_seq the count at the start of the last wait_for_readers(), so
 * nsp_flip[id] > waited_seq means packets may still read id's previous
 * generation. nsp_stale[id]: that generation's client-IP entries are
 * still in the maps (deleted by xadc_xdp_nsp_settle or the next install,
 * after a wait). */
static pthread_mutex_t flip_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t flip_seq, waited_seq;
static uint64_t nsp_flip[XADC_XDP_MAX_NSP];
static bool nsp_stale[XADC_XDP_MAX_NSP];

/* Wait until every XDP program run that started before now has ended: an
 * RCU grace period (XDP runs inside an RCU read-side section, and
 * MEMBARRIER_CMD_GLOBAL is synchronize_rcu()). After a flip this is what
 * lets the old generation's rules slot be rewritten and its client-IP
 * entries be deleted without a packet still reading them. The command is
 * refused on nohz_full kernels; there we sleep far longer than an XDP run
 * can last (a run is bounded by the verifier, microseconds). */
static void wait_for_readers(void)
{
	static bool warned;

	if (!syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return;
	if (!warned) {
		pr_warn("xdp", "membarrier(MEMBARRIER_CMD_GLOBAL): %s; waiting 100 ms after "
			"each policy flip instead", strerror(errno));
		warned = true;
	}
	usleep(100 * 1000);
}

/* Record a flip of nsp_id (its previous generation is still being read). */
static void note_flip(uint32_t nsp_id)
{
	pthread_mutex_lock(&flip_lock);
	nsp_flip[nsp_id] = ++flip_seq;
	nsp_stale[nsp_id] = true;
	pthread_mutex_unlock(&flip_lock);
}

/* Return once no packet can still be reading a generation of nsp_id
 * older than the active one; waits only when nsp_id flipped since the
 * last wait. */
static void settle_one(uint32_t nsp_id)
{
	uint64_t seq;

	pthread_mutex_lock(&flip_lock);
	if (nsp_flip[nsp_id] > waited_seq) {
		seq = flip_seq;
		wait_for_readers();
		waited_seq = seq;
	}
	nsp_stale[nsp_id] = false;
	pthread_mutex_unlock(&flip_lock);
}

/* Remove all generations of nsp_id except keep (the client-IP entries;
 * rules slots are array elements, overwritten by the next install). */
static int purge(struct xadc_xdp *x, uint32_t nsp_id, uint32_t keep)
{
	int err;

	err = purge_lpm(bpf_map__fd(x->skel->maps.xadc_nsp_lpm4), sizeof(struct xadc_lpm4_key),
			nsp_id, keep);
	if (!err)
		err = purge_lpm(bpf_map__fd(x->skel->maps.xadc_nsp_lpm6),
				sizeof(struct xadc_lpm6_key), nsp_id, keep);
	if (!err)
		err = purge_hosts(bpf_map__fd(x->skel->maps.xadc_nsp_host4),
				  sizeof(struct xadc_nsp_host4_key), nsp_id, keep);
	if (!err)
		err = purge_hosts(bpf_map__fd(x->skel->maps.xadc_nsp_host6),
				  sizeof(struct xadc_nsp_host6_key), nsp_id, keep);
	return err;
}

uint32_t xadc_xdp_nsp_generation(struct xadc_xdp *x, uint32_t nsp_id)
{
	uint32_t gen = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.xadc_nsp_gen), &nsp_id, &gen))
		return 0;
	return gen;
}

int xadc_xdp_nsp_install(struct xadc_xdp *x, uint32_t nsp_id, const struct xadc_nsp_policy *pol)
{
	struct xadc_nsp_lpm_entry *e4 = NULL, *e6 = NULL;
	struct xadc_nsp_rules *rs = NULL;
	size_t n4 = 0, n6 = 0;
	bool no_lpm4 = false, no_lpm6 = false;
	uint32_t old, gen, slot;
	unsigned i;
	int err;

	if (!nsp_id || nsp_id > XADC_XDP_NSP_ID_MAX) {
		pr_err("xdp", "policy id %u out of 1..%u", nsp_id, XADC_XDP_NSP_ID_MAX);
		return -EINVAL;
	}
	err = validate(pol);
	if (err)
		return err;
	err = xadc_xdp_nsp_compile_lpm(pol, 4, &e4, &n4);
	if (!err)
		err = xadc_xdp_nsp_compile_lpm(pol, 6, &e6, &n6);
	rs = malloc(sizeof(*rs));
	if (err || !rs) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	fill_rules(rs, pol);

	old = xadc_xdp_nsp_generation(x, nsp_id);
	/* gen + 1, whose rules slot is the one packets are not reading
	 * (xadc_nsp_rules_slot); past the top 0 is skipped for 2, keeping the
	 * parity alternating (0xffffffff is odd). */
	gen = old + 1 ? old + 1 : 2;
	/* The previous generation's slot and client-IP entries are reused
	 * and deleted below: no packet may still be reading them. */
	settle_one(nsp_id);
	/* That generation's entries, and leftovers of an install that died
	 * before its flip. */
	err = purge(x, nsp_id, old);
	if (err)
		goto out;
	err = write_family(bpf_map__fd(x->skel->maps.xadc_nsp_lpm4),
			   bpf_map__fd(x->skel->maps.xadc_nsp_host4), 4, nsp_id, gen, e4, n4,
			   &no_lpm4);
	if (!err)
		err = write_family(bpf_map__fd(x->skel->maps.xadc_nsp_lpm6),
				   bpf_map__fd(x->skel->maps.xadc_nsp_host6), 6, nsp_id, gen, e6,
				   n6, &no_lpm6);
	rs->flags = (no_lpm4 ? XADC_NSP_F_NO_LPM4 : 0) | (no_lpm6 ? XADC_NSP_F_NO_LPM6 : 0) |
		    XADC_NSP_F_HOST_FILTER;
	fill_host_filter(rs, 4, e4, n4);
	fill_host_filter(rs, 6, e6, n6);
	rs->gen = gen;
	/* The spare slot: no packet reads it, since the last flip away from
	 * it was followed by wait_for_readers(). The array copies the value
	 * in place, so that wait is what keeps a packet from seeing half of
	 * it. */
	slot = xadc_nsp_rules_slot(nsp_id, gen);
	if (!err &&
	    bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_nsp_rules), &slot, rs, BPF_ANY))
		err = -errno;
	if (err) {
		purge(x, nsp_id, old);
		goto out;
	}
	/* The flip: one aligned word, read once per packet. */
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_nsp_gen), &nsp_id, &gen, BPF_ANY)) {
		err = -errno;
		purge(x, nsp_id, old);
		goto out;
	}
	for (i = 0; i < XADC_NSP_MAX_RULES; i++)
		xadc_xdp__percpu_zero(x, bpf_map__fd(x->skel->maps.xadc_rule_stats),
				      nsp_id * XADC_NSP_MAX_RULES + i);
	/* Packets that read old may still be using its slot and entries:
	 * they are deleted after a wait, by xadc_xdp_nsp_settle() (one wait
	 * for a batch of installs) or by the next install. */
	note_flip(nsp_id);
	err = 0;
out:
	free(rs);
	free(e4);
	free(e6);
	return err;
}

int xadc_xdp_nsp_remove(struct xadc_xdp *x, uint32_t nsp_id)
{
	uint32_t zero = 0;

	if (!nsp_id || nsp_id > XADC_XDP_NSP_ID_MAX)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_nsp_gen), &nsp_id, &zero, BPF_ANY))
		return -errno;
	note_flip(nsp_id);
	settle_one(nsp_id);
	return purge(x, nsp_id, 0);
}

int xadc_xdp_nsp_settle(struct xadc_xdp *x)
{
	uint32_t id;
	int err = 0, e;

	for (id = 1; id < XADC_XDP_MAX_NSP; id++) {
		if (!nsp_stale[id])
			continue;
		settle_one(id);
		e = purge(x, id, xadc_xdp_nsp_generation(x, id));
		if (e && !err)
			err = e;
	}
	return err;
}
