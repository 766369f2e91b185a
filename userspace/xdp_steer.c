// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_steer.c - SE sets of scaled-out virtual services for the XDP program:
 * weighted Maglev population, the generation flip, per-SE counters.
 *
 * Maglev: each SE gets a permutation of the table slots from its id
 * (offset + j * skip mod size, size prime so every skip generates all
 * slots); SEs take turns claiming their next free preferred slot until the
 * table is full. Weights: in round r an SE of weight w takes a turn only
 * when floor((r + 1) * w / wmax) > floor(r * w / wmax), so over the rounds
 * it claims w / wmax slots per heaviest-SE slot. Adding or removing one SE
 * moves about its share of slots only, which is what keeps most new flows
 * on the SE they would have gone to anyway.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xadc/common.h"
#include "xdp_internal.h"
#include "xadc_xdp.skel.h"

_Static_assert(XADC_STEER_SES_MAX == XADC_STEER_MAX_SES, "xdp.h and xadc_common.h agree");
_Static_assert(XADC_STEER_TABLE_MAX == XADC_MAGLEV_MAX, "xdp.h and xadc_common.h agree");
_Static_assert(XADC_STEER_MAX_SES < XADC_SE_NONE, "SE indexes fit a byte below NONE");

static bool is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return false;
	for (d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

uint32_t xadc_xdp_flow_hash(int family, const void *saddr, const void *daddr, uint16_t sport,
			    uint16_t dport, uint8_t proto)
{
	struct xadc_flow_key k = { .sport = sport, .dport = dport, .proto = proto };

	if (family == 4) {
		k.saddr[10] = k.saddr[11] = k.daddr[10] = k.daddr[11] = 0xff;
		memcpy(k.saddr + 12, saddr, 4);
		memcpy(k.daddr + 12, daddr, 4);
	} else {
		memcpy(k.saddr, saddr, 16);
		memcpy(k.daddr, daddr, 16);
	}
	return xadc_flow_hash(&k);
}

int xadc_xdp_maglev_build(const struct xadc_steer_se *ses, unsigned n, uint32_t size,
			  uint8_t *table)
{
	uint32_t offset[XADC_STEER_MAX_SES], skip[XADC_STEER_MAX_SES];
	uint64_t next[XADC_STEER_MAX_SES] = { 0 }, wmax = 0, round;
	uint32_t filled = 0, i, slot;

	if (!n || n > XADC_STEER_MAX_SES || !is_prime(size) || size > XADC_MAGLEV_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (ses[i].weight > wmax)
			wmax = ses[i].weight;
		offset[i] = xadc_mix32(ses[i].id ^ 0x5bd1e995U) % size;
		skip[i] = xadc_mix32(ses[i].id ^ 0x27d4eb2fU) % (size - 1) + 1;
	}
	if (!wmax)
		return -EINVAL;
	memset(table, XADC_SE_NONE, size);
	for (round = 0; filled < size; round++) {
		for (i = 0; i < n && filled < size; i++) {
			uint64_t w = ses[i].weight;

			if ((round + 1) * w / wmax == round * w / wmax)
				continue;
			/* The SE's next preferred slot that is still free; its
			 * permutation covers every slot, so one exists. */
			do {
				slot = (uint32_t)((offset[i] + next[i] * skip[i]) % size);
				next[i]++;
			} while (table[slot] != XADC_SE_NONE);
			table[slot] = (uint8_t)i;
			filled++;
		}
	}
	return 0;
}

/* Reject what the program cannot represent, naming the SE. */
static int validate(uint32_t vs_id, const struct xadc_steer_config *cfg, uint32_t size)
{
	unsigned i, j, nself = 0;
	bool weighted = false, fallback = cfg->fallback_se == XADC_STEER_NO_SE;

	if (vs_id > XADC_XDP_VS_ID_MAX || !cfg->nses || cfg->nses > XADC_STEER_MAX_SES) {
		pr_err("xdp", "steering vs %u: vs id max %u, 1..%u SEs (got %u)", vs_id,
		       XADC_XDP_VS_ID_MAX, XADC_STEER_MAX_SES, cfg->nses);
		return -EINVAL;
	}
	if (!is_prime(size) || size > XADC_MAGLEV_MAX || size < cfg->nses) {
		pr_err("xdp", "steering vs %u: table size %u is not a prime in %u..%u", vs_id, size,
		       cfg->nses, XADC_MAGLEV_MAX);
		return -EINVAL;
	}
	for (i = 0; i < cfg->nses; i++) {
		const struct xadc_steer_se *se = &cfg->ses[i];

		for (j = 0; j < i; j++) {
			if (cfg->ses[j].id == se->id) {
				pr_err("xdp", "steering vs %u: SE %u (id %u) repeats SE %u", vs_id, i,
				       se->id, j);
				return -EINVAL;
			}
		}
		if (se->ifindex < 0 || (!se->self && !(se->mac[0] | se->mac[1] | se->mac[2] |
							se->mac[3] | se->mac[4] | se->mac[5]))) {
			pr_err("xdp", "steering vs %u: SE %u (id %u): bad ifindex %d or no MAC",
			       vs_id, i, se->id, se->ifindex);
			return -EINVAL;
		}
		nself += se->self;
		weighted |= se->weight > 0;
		fallback |= se->id == cfg->fallback_se;
	}
	if (nself > 1 || !weighted || !fallback) {
		pr_err("xdp", "steering vs %u: %u SEs flagged self (at most 1), %s, fallback SE %u "
		       "%s", vs_id, nself, weighted ? "weights ok" : "every weight is 0",
		       cfg->fallback_se, fallback ? "ok" : "not in the set");
		return -EINVAL;
	}
	return 0;
}

/* Our MAC on ifindex (the source MAC of frames steered out of it). */
static int if_mac(int ifindex, uint8_t *mac)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name)) {
		pr_err("xdp", "steering: no interface with index %d", ifindex);
		return -ENODEV;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* The BPF view of cfg; resolves interfaces and fills the redirect map. */
static int fill_set(struct xadc_xdp *x, const struct xadc_steer_config *cfg, uint32_t size,
		    uint32_t prev_gen, struct xadc_steer_set *set)
{
	int ports = bpf_map__fd(x->skel->maps.xadc_tx_ports);
	unsigned i;
	int err;

	memset(set, 0, sizeof(*set));
	set->nses = cfg->nses;
	set->table_size = size;
	set->prev_gen = prev_gen;
	set->self_idx = XADC_SE_NONE;
	set->fallback_idx = XADC_SE_NONE;
	for (i = 0; i < cfg->nses; i++) {
		const struct xadc_steer_se *se = &cfg->ses[i];
		struct xadc_steer_se_k *k = &set->se[i];
		uint32_t ifi = (uint32_t)se->ifindex;

		k->id = se->id;
		k->ifindex = ifi;
		memcpy(k->mac, se->mac, 6);
		if (se->self) {
			k->flags |= XADC_SE_F_SELF;
			set->self_idx = (uint8_t)i;
		}
		if (se->id == cfg->fallback_se)
			set->fallback_idx = (uint8_t)i;
		if (!ifi || se->self)
			continue;
		err = if_mac(se->ifindex, k->src_mac);
		if (err)
			return err;
		if (bpf_map_update_elem(ports, &ifi, &ifi, BPF_ANY)) {
			err = -errno;
			pr_err("xdp", "steering: adding interface %u to the redirect map: %s", ifi,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Write generation gen's set and table. */
static int write_gen(struct xadc_xdp *x, uint32_t vs_id, uint32_t gen,
		     const struct xadc_steer_set *set, const uint8_t *table)
{
	struct xadc_steer_key sk = { .vs_id = vs_id, .gen = gen };
	struct xadc_maglev_key mk = { .vs_id = vs_id, .gen = gen };
	struct xadc_maglev_chunk *c;
	uint32_t off;
	int err = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (off = 0; off < set->table_size; off += XADC_MAGLEV_CHUNK, mk.chunk++) {
		uint32_t n = set->table_size - off;

		if (n > XADC_MAGLEV_CHUNK)
			n = XADC_MAGLEV_CHUNK;
		memset(c, XADC_SE_NONE, sizeof(*c));
		memcpy(c->se, table + off, n);
		if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_maglev), &mk, c, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_steer_sets), &sk, set, BPF_ANY))
		err = -errno;
out:
	if (err)
		pr_err("xdp", "steering vs %u: writing generation %u: %s", vs_id, gen,
		       strerror(-err));
	free(c);
	return err == -ENOSPC || err == -E2BIG ? -E2BIG : err;
}

/* Delete every set and table chunk of vs_id whose generation is neither
 * keep1 nor keep2 (0 keeps nothing). Keys are collected before deleting:
 * deleting while walking a hash can restart the walk. */
static int purge(struct xadc_xdp *x, uint32_t vs_id, uint32_t keep1, uint32_t keep2)
{
	int fds[2] = { bpf_map__fd(x->skel->maps.xadc_steer_sets),
		       bpf_map__fd(x->skel->maps.xadc_maglev) };
	size_t ksz[2] = { sizeof(struct xadc_steer_key), sizeof(struct xadc_maglev_key) };
	struct xadc_maglev_key cur, next;
	uint8_t *del = NULL;
	size_t n, cap, i;
	int m, err = 0;

	for (m = 0; m < 2; m++) {
		void *prev = NULL;

		n = cap = 0;
		while (!bpf_map_get_next_key(fds[m], prev, &next)) {
			/* Both key types start with (vs_id, gen). */
			if (next.vs_id == vs_id && next.gen != keep1 && next.gen != keep2) {
				if (n == cap) {
					uint8_t *nd;

					cap = cap ? cap * 2 : 64;
					nd = realloc(del, cap * ksz[m]);
					if (!nd) {
						err = -ENOMEM;
						goto out;
					}
					del = nd;
				}
				memcpy(del + n++ * ksz[m], &next, ksz[m]);
			}
			memcpy(&cur, &next, ksz[m]);
			prev = &cur;
		}
		for (i = 0; i < n; i++)
			bpf_map_delete_elem(fds[m], del + i * ksz[m]);
	}
out:
	free(del);
	return err;
}

/* Create zeroed counters for each SE of the set; existing ones are kept,
 * so counters survive set changes. */
static int add_counters(struct xadc_xdp *x, uint32_t vs_id, const struct xadc_steer_config *cfg)
{
	int fd = bpf_map__fd(x->skel->maps.xadc_steer_stats), err = 0;
	struct xadc_steer_counters *zero;
	unsigned i;

	zero = calloc(x->ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (i = 0; i < cfg->nses; i++) {
		struct xadc_steer_stats_key k = { .vs_id = vs_id, .se_id = cfg->ses[i].id };

		if (bpf_map_update_elem(fd, &k, zero, BPF_NOEXIST) && errno != EEXIST) {
			err = errno == ENOSPC || errno == E2BIG ? -E2BIG : -errno;
			pr_err("xdp", "steering vs %u: counters of SE %u: %s", vs_id, k.se_id,
			       strerror(-err));
			break;
		}
	}
	free(zero);
	return err;
}

uint32_t xadc_xdp_steer_generation(struct xadc_xdp *x, uint32_t vs_id)
{
	uint32_t gen = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.xadc_steer_gen), &vs_id, &gen))
		return 0;
	return gen;
}

/* prev_gen of generation gen of vs_id (0 when none or unreadable). */
static uint32_t prev_of(struct xadc_xdp *x, uint32_t vs_id, uint32_t gen)
{
	struct xadc_steer_key sk = { .vs_id = vs_id, .gen = gen };
	struct xadc_steer_set *set;
	uint32_t prev = 0;

	set = malloc(sizeof(*set));
	if (set && gen &&
	    !bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.xadc_steer_sets), &sk, set))
		prev = set->prev_gen;
	free(set);
	return prev;
}

int xadc_xdp_steer_set(struct xadc_xdp *x, uint32_t vs_id, const struct xadc_steer_config *cfg)
{
	uint32_t size = cfg->table_size ? cfg->table_size : XADC_STEER_TABLE_DEFAULT;
	struct xadc_steer_set *set = NULL;
	uint8_t *table = NULL;
	uint32_t old, gen;
	int err;

	err = validate(vs_id, cfg, size);
	if (err)
		return err;
	set = malloc(sizeof(*set));
	table = malloc(size);
	if (!set || !table) {
		err = -ENOMEM;
		goto out;
	}
	err = xadc_xdp_maglev_build(cfg->ses, cfg->nses, size, table);
	if (err)
		goto out;
	/* State lives in the (pinned) maps, not here: another process may
	 * have made the last change. */
	old = xadc_xdp_steer_generation(x, vs_id);
	gen = old + 1 ? old + 1 : 1;
	err = fill_set(x, cfg, size, old, set);
	if (!err)
		err = add_counters(x, vs_id, cfg);
	/* Leftovers of a change that died before its flip. */
	if (!err)
		err = purge(x, vs_id, old, prev_of(x, vs_id, old));
	if (!err)
		err = write_gen(x, vs_id, gen, set, table);
	if (err) {
		purge(x, vs_id, old, prev_of(x, vs_id, old));
		goto out;
	}
	/* The flip: one aligned word, read once per packet. */
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_steer_gen), &vs_id, &gen, BPF_ANY)) {
		err = -errno;
		purge(x, vs_id, old, prev_of(x, vs_id, old));
		goto out;
	}
	err = purge(x, vs_id, gen, old);
out:
	free(table);
	free(set);
	return err;
}

int xadc_xdp_steer_remove(struct xadc_xdp *x, uint32_t vs_id)
{
	int fd = bpf_map__fd(x->skel->maps.xadc_steer_stats);
	struct xadc_steer_stats_key cur, next, del[XADC_STEER_MAX_SES];
	uint32_t zero = 0;
	void *prev = NULL;
	size_t n = 0, i;
	int err;

	if (vs_id > XADC_XDP_VS_ID_MAX)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_steer_gen), &vs_id, &zero, BPF_ANY))
		return -errno;
	err = purge(x, vs_id, 0, 0);
	/* Counter keys of vs_id: the SEs of its sets, a bounded number per
	 * pass; repeat until none is left. */
	do {
		n = 0;
		prev = NULL;
		while (!bpf_map_get_next_key(fd, prev, &next) && n < ARRAY_SIZE(del)) {
			if (next.vs_id == vs_id)
				del[n++] = next;
			cur = next;
			prev = &cur;
		}
		for (i = 0; i < n; i++)
			if (bpf_map_delete_elem(fd, &del[i]))
				return -errno; /* would loop forever on it */
	} while (n);
	return err;
}

int xadc_xdp_steer_stats(struct xadc_xdp *x, uint32_t vs_id, uint32_t se_id,
			 struct xadc_steer_stats *out)
{
	struct xadc_steer_stats_key k = { .vs_id = vs_id, .se_id = se_id };
	struct xadc_steer_counters *v;
	int i, err = 0;

	memset(out, 0, sizeof(*out));
	v = calloc(x->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.xadc_steer_stats), &k, v)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < x->ncpus; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
		out->new_flows += v[i].new_flows;
		out->second_chance += v[i].second_chance;
	}
out:
	free(v);
	return err;
}
