// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_daemon.c - xadcd's XDP data plane: the glue between compiled
 * snapshots and the maps of bpf/xadc_xdp.bpf.c (see xdp.h).
 *
 * Each published snapshot is applied in an order that keeps every packet
 * on a consistent view: policies first (each one a generation flip, so a
 * packet sees the old or the new policy, never a mix), then the VIP table
 * (which names the policy), then SE sets; stale VIPs, policies and SE sets
 * go last. Only compiled (accepted) snapshots get here, so a rejected
 * change never touches the maps.
 *
 * Ids: a VS, a policy or an SE keeps its id (and so its counters) for as
 * long as an object of that name exists; freed ids are reused.
 *
 * A mutex serialises the config thread (apply), the API (counters,
 * events, unload) and the event poller thread: none is on a packet path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/libxdp.h>

#include "xadc/common.h"
#include "xadc/snapshot.h"
#include "xdp_internal.h"
#include "nsp_user.h"

#define XDPD_IFS_MAX	16
#define XDPD_EVENTS	512	/* recent drop events kept for the API */
#define XDPD_POLL_MS	100

struct xdpd_if {
	char name[IF_NAMESIZE];
	int ifindex;
	bool attached, native;
};

/* What is installed for one nsp id, to name rules in counters/events. */
struct xdpd_nsp {
	char name[XADC_NAME_MAX];
	uint64_t fingerprint;
	unsigned nrules;
	char (*rule_names)[XADC_NAME_MAX];
	uint32_t *rule_ids;
};

struct xdpd_event {
	uint64_t seq;
	uint64_t wall_ms;
	struct xadc_xdp_drop d;
	char vs[XADC_NAME_MAX], nsp[XADC_NAME_MAX], rule[XADC_NAME_MAX];
};

static struct {
	pthread_mutex_t lock;
	struct xadc_xdp *x;		/* NULL: no data plane (none asked, or unloaded) */
	struct xdpd_if ifs[XDPD_IFS_MAX];
	unsigned nifs;
	enum xadc_xdp_mode mode;
	bool keep, unloaded, attached;
	char pin_dir[256];
	json_t *vs_ids, *nsp_ids, *se_ids;	/* name -> id */
	char (*vs_names)[XADC_NAME_MAX];	/* [XADC_XDP_VS_ID_MAX + 1] */
	struct xdpd_nsp *nsps;			/* [XADC_XDP_NSP_ID_MAX + 1] */
	uint64_t *steer_fp;			/* [XADC_XDP_VS_ID_MAX + 1] */
	char last_error[256];
	uint64_t applied_generation;
	/* events */
	struct xdpd_event ev[XDPD_EVENTS];
	uint64_t ev_seq;
	pthread_t poller;
	bool poller_running, poller_stop;
} xd = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* xd.x && xd.attached, readable without the lock: the workers ask it per
 * accepted connection to know whether to enforce policies themselves. */
static atomic_bool xdp_live;

bool xadc_xdpd_attached(void)
{
	return atomic_load_explicit(&xdp_live, memory_order_relaxed);
}

bool xadc_xdpd_enforcing(void)
{
	bool on;

	pthread_mutex_lock(&xd.lock);
	on = xd.x && xd.nifs;
	pthread_mutex_unlock(&xd.lock);
	return on;
}

static void xdpd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Remember the last failure for status and log it. */
static void xdpd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xd.last_error, sizeof(xd.last_error), fmt, ap);
	va_end(ap);
	pr_err("xdp", "%s", xd.last_error);
}

/* ---------------------------------------------------------------------- */
/* ids                                                                     */

/*
 * Give name an id in [lo, hi] in the new map nw: the one it had in old if
 * any, else the lowest one neither map uses (so an id freed by this apply
 * is not reused by it, and counters of a removed object do not leak into
 * a new one in the same apply). Returns the id or -ENOSPC.
 */
static long id_assign(json_t *old, json_t *nw, const char *name, long lo, long hi)
{
	json_t *v = json_object_get(nw, name);
	const char *k;
	json_t *x;
	long id;

	if (v)
		return json_integer_value(v);
	v = json_object_get(old, name);
	if (v) {
		json_object_set_new(nw, name, json_integer(json_integer_value(v)));
		return json_integer_value(v);
	}
	for (id = lo; id <= hi; id++) {
		bool used = false;

		json_object_foreach(old, k, x)
			used |= json_integer_value(x) == id;
		json_object_foreach(nw, k, x)
			used |= json_integer_value(x) == id;
		if (!used) {
			json_object_set_new(nw, name, json_integer(id));
			return -id - 1000000; /* marks "new" for the caller */
		}
	}
	return -ENOSPC;
}

/* id_assign() that tells whether the id is new (fresh counters). */
static long id_get(json_t *old, json_t *nw, const char *name, long lo, long hi, bool *fresh)
{
	long id = id_assign(old, nw, name, lo, hi);

	*fresh = id <= -1000000;
	if (*fresh)
		id = -(id + 1000000);
	return id;
}

/* ---------------------------------------------------------------------- */
/* apply                                                                   */

static void nsp_slot_clear(struct xdpd_nsp *n)
{
	free(n->rule_names);
	free(n->rule_ids);
	memset(n, 0, sizeof(*n));
}

/* Install policy p as nsp id unless the same policy is there already. */
static int apply_nsp(uint32_t id, const struct xadc_nsp_cfg *p)
{
	struct xdpd_nsp *n = &xd.nsps[id];
	unsigned i;
	int err;

	if (n->nrules == p->pol.nrules && n->fingerprint == p->fingerprint && n->rule_names &&
	    xadc_xdp_nsp_generation(xd.x, id)) {
		/* Rules may have been renamed only. */
		memcpy(n->rule_names, p->rule_names, p->pol.nrules * sizeof(*n->rule_names));
		snprintf(n->name, sizeof(n->name), "%s", p->name);
		return 0;
	}
	err = xadc_xdp_nsp_install(xd.x, id, &p->pol);
	if (err) {
		xdpd_error("installing networksecuritypolicy %s: %s", p->name, strerror(-err));
		return err;
	}
	nsp_slot_clear(n);
	n->rule_names = calloc(p->pol.nrules + 1, sizeof(*n->rule_names));
	n->rule_ids = calloc(p->pol.nrules + 1, sizeof(*n->rule_ids));
	if (!n->rule_names || !n->rule_ids) {
		nsp_slot_clear(n);
		return -ENOMEM;
	}
	snprintf(n->name, sizeof(n->name), "%s", p->name);
	n->nrules = p->pol.nrules;
	n->fingerprint = p->fingerprint;
	memcpy(n->rule_names, p->rule_names, p->pol.nrules * sizeof(*n->rule_names));
	for (i = 0; i < p->pol.nrules; i++)
		n->rule_ids[i] = p->pol.rules[i].rule_id;
	pr_info("xdp", "networksecuritypolicy %s (%u rules) active as policy %u generation %u",
		p->name, p->pol.nrules, id, xadc_xdp_nsp_generation(xd.x, id));
	return 0;
}

static int apply_nsps(struct xadc_xdp_cfg *cfg, json_t *nw, uint32_t *ids)
{
	unsigned i;
	bool fresh;
	long id;
	int err = 0;

	for (i = 0; i < cfg->nnsps; i++) {
		id = id_get(xd.nsp_ids, nw, cfg->nsps[i].name, 1, XADC_XDP_NSP_ID_MAX, &fresh);
		if (id < 0) {
			xdpd_error("no free policy id for %s", cfg->nsps[i].name);
			return -ENOSPC;
		}
		ids[i] = id;
		if (fresh)
			nsp_slot_clear(&xd.nsps[id]);
		err = apply_nsp(id, &cfg->nsps[i]) ?: err;
	}
	return err;
}

/* A VIP key as a string, for the "wanted" set. */
static void vip_str(const struct xadc_vip_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, k->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u/%u", a, k->port, k->proto);
}

static void listener_key(const union xadc_sockaddr *a, struct xadc_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->sa.sa_family == AF_INET6) {
		memcpy(k->addr, &a->in6.sin6_addr, 16);
		k->port = ntohs(a->in6.sin6_port);
	} else {
		k->addr[10] = k->addr[11] = 0xff;
		memcpy(k->addr + 12, &a->in.sin_addr, 4);
		k->port = ntohs(a->in.sin_port);
	}
	k->proto = IPPROTO_TCP;
}

/* Every listener of every enabled VS -> its vs id and policy id. */
static int apply_vips(struct xadc_snapshot *s, const uint32_t *vs_ids, const uint32_t *nsp_ids)
{
	struct xadc_xdp_cfg *cfg = s->xdp;
	struct xadc_vip_key k, cur, next;
	json_t *wanted = json_object();
	char key[96];
	unsigned i;
	int fd = xadc_xdp_map_fd(xd.x, "xadc_vips"), err = 0, e;
	void *prev = NULL;

	if (!wanted)
		return -ENOMEM;
	for (i = 0; i < s->nlisteners; i++) {
		const struct xadc_listener *l = &s->listeners[i];
		unsigned v = l->vs - s->vs;
		const struct xadc_nsp_cfg *p = cfg->vs[v].nsp;
		uint32_t nsp = p ? nsp_ids[p - cfg->nsps] : 0;

		listener_key(&l->addr, &k);
		e = l->addr.sa.sa_family == AF_INET6
			? xadc_xdp_vip_set(xd.x, 6, &l->addr.in6.sin6_addr, k.port, IPPROTO_TCP,
					   vs_ids[v], nsp)
			: xadc_xdp_vip_set(xd.x, 4, &l->addr.in.sin_addr, k.port, IPPROTO_TCP,
					   vs_ids[v], nsp);
		if (e) {
			xadc_sockaddr_str(&l->addr, key, sizeof(key));
			xdpd_error("VIP %s of %s: %s", key, l->vs->name, strerror(-e));
			err = e;
		}
		vip_str(&k, key, sizeof(key));
		json_object_set_new(wanted, key, json_true());
	}
	/* Stale entries, also ones a previous daemon left in the pins. */
	for (;;) {
		if (bpf_map_get_next_key(fd, prev, &next))
			break;
		cur = next;
		prev = &cur;
		if (!cur.proto)
			continue;
		vip_str(&cur, key, sizeof(key));
		if (json_object_get(wanted, key))
			continue;
		if (cur.addr[10] == 0xff && cur.addr[11] == 0xff && !memcmp(cur.addr, "\0\0\0\0\0\0\0\0\0\0", 10))
			xadc_xdp_vip_del(xd.x, 4, cur.addr + 12, cur.port, cur.proto);
		else
			xadc_xdp_vip_del(xd.x, 6, cur.addr, cur.port, cur.proto);
		prev = NULL; /* the walk restarts: the key we stood on is gone */
	}
	json_decref(wanted);
	return err;
}

static uint64_t steer_fingerprint(const struct xadc_steer_config *sc)
{
	uint64_t h = 14695981039346656037ULL;
	unsigned i;

	for (i = 0; i < sc->nses; i++) {
		const struct xadc_steer_se *se = &sc->ses[i];
		const uint32_t f[4] = {se->id, (uint32_t)se->ifindex, se->weight, se->self};
		const uint8_t *b = (const uint8_t *)f;
		size_t j;

		for (j = 0; j < sizeof(f); j++)
			h = (h ^ b[j]) * 1099511628211ULL;
		for (j = 0; j < 6; j++)
			h = (h ^ se->mac[j]) * 1099511628211ULL;
	}
	return h ^ sc->fallback_se;
}

/* SE sets of scaled-out VSs; VSs no longer scaled out stop being steered. */
static int apply_steering(struct xadc_snapshot *s, const uint32_t *vs_ids, json_t *se_nw)
{
	struct xadc_xdp_cfg *cfg = s->xdp;
	struct xadc_steer_se ses[XADC_STEER_SES_MAX];
	struct xadc_steer_config sc;
	bool *steered, fresh;
	unsigned v, k;
	uint32_t id;
	int err = 0, e;

	steered = calloc(XADC_XDP_VS_ID_MAX + 1, sizeof(*steered));
	if (!steered)
		return -ENOMEM;
	for (v = 0; v < s->nvs; v++) {
		const struct xadc_vs_xdp *vx = &cfg->vs[v];
		uint64_t fp;

		if (!s->vs[v].enabled || !vx->nses)
			continue;
		memset(&sc, 0, sizeof(sc));
		sc.fallback_se = XADC_STEER_NO_SE;
		for (k = 0; k < vx->nses; k++) {
			const struct xadc_se_cfg *se = &cfg->ses[vx->ses[k]];
			long sid = id_get(xd.se_ids, se_nw, se->name, 0, 65535, &fresh);

			ses[k] = se->se;
			ses[k].id = sid;
			if (se->se.self)
				sc.fallback_se = sid;
		}
		sc.nses = vx->nses;
		sc.ses = ses;
		id = vs_ids[v];
		steered[id] = true;
		fp = steer_fingerprint(&sc);
		if (xd.steer_fp[id] == fp && xadc_xdp_steer_generation(xd.x, id))
			continue;
		e = xadc_xdp_steer_set(xd.x, id, &sc);
		if (e) {
			xdpd_error("SE set of virtualservice %s: %s", s->vs[v].name, strerror(-e));
			err = e;
			continue;
		}
		xd.steer_fp[id] = fp;
		pr_info("xdp", "virtualservice %s scaled out over %u SEs (generation %u)",
			s->vs[v].name, sc.nses, xadc_xdp_steer_generation(xd.x, id));
	}
	for (id = 0; id <= XADC_XDP_VS_ID_MAX; id++) {
		if (steered[id] || !xadc_xdp_steer_generation(xd.x, id))
			continue;
		xadc_xdp_steer_remove(xd.x, id);
		xd.steer_fp[id] = 0;
	}
	free(steered);
	return err;
}

int xadc_xdpd_apply(struct xadc_snapshot *s)
{
	struct xadc_xdp_cfg *cfg = s->xdp;
	json_t *vs_nw = NULL, *nsp_nw = NULL, *se_nw = NULL;
	uint32_t *vs_ids = NULL, *nsp_ids = NULL, id;
	unsigned i;
	bool fresh;
	int err = 0;

	pthread_mutex_lock(&xd.lock);
	if (!xd.x || !cfg)
		goto out;
	vs_nw = json_object();
	nsp_nw = json_object();
	se_nw = json_object();
	vs_ids = calloc(s->nvs + 1, sizeof(*vs_ids));
	nsp_ids = calloc(cfg->nnsps + 1, sizeof(*nsp_ids));
	if (!vs_nw || !nsp_nw || !se_nw || !vs_ids || !nsp_ids) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->nvs; i++) {
		long v = id_get(xd.vs_ids, vs_nw, s->vs[i].name, 0, XADC_XDP_VS_ID_MAX, &fresh);

		if (v < 0) {
			xdpd_error("more than %d virtual services", XADC_XDP_VS_ID_MAX + 1);
			err = -ENOSPC;
			goto out;
		}
		vs_ids[i] = v;
		snprintf(xd.vs_names[v], XADC_NAME_MAX, "%s", s->vs[i].name);
		/* A new id starts from zero, except on this process's first
		 * apply: ids are handed out in configuration order, so over
		 * reused pins the same VS gets the id (and counters) it had
		 * under the previous xadcd. */
		if (fresh && xd.applied_generation)
			xadc_xdp__percpu_zero(xd.x, xadc_xdp_map_fd(xd.x, "xadc_vs_stats"), v);
	}
	xd.last_error[0] = '\0';
	err = apply_nsps(cfg, nsp_nw, nsp_ids);
	err = apply_vips(s, vs_ids, nsp_ids) ?: err;
	err = apply_steering(s, vs_ids, se_nw) ?: err;
	/* Policies nobody has any more (also ones left in the pins). */
	for (id = 1; id <= XADC_XDP_NSP_ID_MAX; id++) {
		bool used = false;

		for (i = 0; i < cfg->nnsps; i++)
			used |= nsp_ids[i] == id;
		if (used)
			continue;
		if (xd.nsps[id].rule_names || xadc_xdp_nsp_generation(xd.x, id)) {
			xadc_xdp_nsp_remove(xd.x, id);
			nsp_slot_clear(&xd.nsps[id]);
		}
	}
	/* The generations this snapshot replaced: one wait for all of them,
	 * then their client-IP entries go. */
	if (xadc_xdp_nsp_settle(xd.x))
		pr_warn("xdp", "deleting replaced policy generations failed; the next "
			       "install of each policy retries");
	json_decref(xd.vs_ids);
	json_decref(xd.nsp_ids);
	json_decref(xd.se_ids);
	xd.vs_ids = vs_nw;
	xd.nsp_ids = nsp_nw;
	xd.se_ids = se_nw;
	vs_nw = nsp_nw = se_nw = NULL;
	xd.applied_generation = s->generation;
	if (!err)
		pr_info("xdp", "data plane programmed from configuration generation %llu",
			(unsigned long long)s->generation);
out:
	pthread_mutex_unlock(&xd.lock);
	json_decref(vs_nw);
	json_decref(nsp_nw);
	json_decref(se_nw);
	free(vs_ids);
	free(nsp_ids);
	return err;
}

/* ---------------------------------------------------------------------- */
/* events                                                                  */

static uint64_t mono_to_wall_ms(uint64_t mono_ns)
{
	struct timespec m, r;
	int64_t off;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	off = ((int64_t)r.tv_sec - m.tv_sec) * 1000 + (r.tv_nsec - m.tv_nsec) / 1000000;
	return mono_ns / 1000000 + off;
}

/* Called under xd.lock from xadc_xdp_poll_drops(). */
static void on_drop(const struct xadc_xdp_drop *d, void *arg)
{
	struct xdpd_event *e = &xd.ev[xd.ev_seq % XDPD_EVENTS];
	const struct xdpd_nsp *n = d->nsp_id <= XADC_XDP_NSP_ID_MAX ? &xd.nsps[d->nsp_id] : NULL;
	unsigned i;

	memset(e, 0, sizeof(*e));
	e->seq = ++xd.ev_seq;
	e->wall_ms = mono_to_wall_ms(d->ts_ns);
	e->d = *d;
	if (d->vs_id <= XADC_XDP_VS_ID_MAX)
		snprintf(e->vs, sizeof(e->vs), "%s", xd.vs_names[d->vs_id]);
	if (n && n->rule_names) {
		snprintf(e->nsp, sizeof(e->nsp), "%s", n->name);
		for (i = 0; i < n->nrules; i++)
			if (n->rule_ids[i] == d->rule_id)
				snprintf(e->rule, sizeof(e->rule), "%s", n->rule_names[i]);
	}
	pr_debug("xdp", "drop: virtualservice %s rule %s (%s)", e->vs, e->rule,
		 d->reason == 1 ? "deny" : d->reason == 2 ? "rate limit" : "malformed");
}

static void *poller_main(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&xd.lock);
		if (xd.poller_stop) {
			pthread_mutex_unlock(&xd.lock);
			break;
		}
		if (xd.x)
			xadc_xdp_poll_drops(xd.x, on_drop, NULL, 0);
		pthread_mutex_unlock(&xd.lock);
		usleep(XDPD_POLL_MS * 1000);
	}
	return NULL;
}

static const char *reason_name(uint8_t r)
{
	return r == 1 ? "deny" : r == 2 ? "rate_limit" : "malformed";
}

json_t *xadc_xdpd_events_json(uint64_t after, unsigned max)
{
	json_t *arr = json_array();
	char ca[INET6_ADDRSTRLEN], va[INET6_ADDRSTRLEN];
	uint64_t first, seq;

	pthread_mutex_lock(&xd.lock);
	if (xd.x)
		xadc_xdp_poll_drops(xd.x, on_drop, NULL, 0);
	first = xd.ev_seq > XDPD_EVENTS ? xd.ev_seq - XDPD_EVENTS + 1 : 1;
	if (after + 1 > first)
		first = after + 1;
	if (xd.ev_seq >= first && xd.ev_seq - first + 1 > max)
		first = xd.ev_seq - max + 1;
	for (seq = first; seq <= xd.ev_seq; seq++) {
		const struct xdpd_event *e = &xd.ev[(seq - 1) % XDPD_EVENTS];
		int af = e->d.family == 6 ? AF_INET6 : AF_INET;

		inet_ntop(af, e->d.client_addr, ca, sizeof(ca));
		inet_ntop(af, e->d.vip_addr, va, sizeof(va));
		json_array_append_new(
		    arr, json_pack("{sI sI ss ss ss* sI ss ss si ss si si}", "seq", (json_int_t)e->seq,
				   "time_ms", (json_int_t)e->wall_ms, "virtualservice", e->vs,
				   "network_security_policy", e->nsp,
				   "network_security_policy_rule_name", e->rule[0] ? e->rule : NULL,
				   "rule_index", (json_int_t)(e->d.rule_id == UINT32_MAX ? -1 : (json_int_t)e->d.rule_id),
				   "reason", reason_name(e->d.reason), "client_ip", ca,
				   "client_port", e->d.client_port, "vip", va, "vs_port",
				   e->d.vs_port, "proto", e->d.proto));
	}
	seq = xd.ev_seq;
	pthread_mutex_unlock(&xd.lock);
	return json_pack("{sI so}", "last", (json_int_t)seq, "events", arr);
}

/* ---------------------------------------------------------------------- */
/* life cycle                                                              */

int xadc_xdpd_start(const struct xadc_xdpd_opts *o)
{
	unsigned i;
	int err;

	if (o->nifs > XDPD_IFS_MAX) {
		pr_err("xdp", "at most %d --interface", XDPD_IFS_MAX);
		return -E2BIG;
	}
	xd.mode = o->mode;
	xd.keep = o->keep;
	snprintf(xd.pin_dir, sizeof(xd.pin_dir), "%s", o->pin_dir ? o->pin_dir : XADC_PIN_DIR);
	/* Tests put the pins on a bpffs of their own (it outlives the
	 * daemon's mount namespace, so a restart finds them). */
	if (!o->pin_dir && getenv("XADC_XDP_PIN_DIR") && *getenv("XADC_XDP_PIN_DIR"))
		snprintf(xd.pin_dir, sizeof(xd.pin_dir), "%s", getenv("XADC_XDP_PIN_DIR"));
	for (i = 0; i < o->nifs; i++) {
		snprintf(xd.ifs[i].name, sizeof(xd.ifs[i].name), "%s", o->ifnames[i]);
		xd.ifs[i].ifindex = if_nametoindex(o->ifnames[i]);
		if (!xd.ifs[i].ifindex) {
			pr_err("xdp", "--interface %s: no such network interface", o->ifnames[i]);
			return -ENODEV;
		}
	}
	xd.nifs = o->nifs;
	if (!xd.nifs) {
		pr_info("xdp", "no --interface: no XDP data plane; network security policies "
			       "are enforced in userspace, at accept");
		return 0;
	}
	xd.vs_names = calloc(XADC_XDP_VS_ID_MAX + 1, sizeof(*xd.vs_names));
	xd.nsps = calloc(XADC_XDP_NSP_ID_MAX + 1, sizeof(*xd.nsps));
	xd.steer_fp = calloc(XADC_XDP_VS_ID_MAX + 1, sizeof(*xd.steer_fp));
	xd.vs_ids = json_object();
	xd.nsp_ids = json_object();
	xd.se_ids = json_object();
	if (!xd.vs_names || !xd.nsps || !xd.steer_fp || !xd.vs_ids || !xd.nsp_ids || !xd.se_ids)
		return -ENOMEM;
	err = xadc_xdp_open(&xd.x, xd.pin_dir);
	if (err) {
		pr_err("xdp", "loading the XDP program: %s", strerror(-err));
		return err;
	}
	err = xadc_xdp_configure(xd.x, 1, 0);
	if (err)
		pr_warn("xdp", "configuring drop events: %s", strerror(-err));
	pr_info("xdp", "XDP program loaded, maps pinned under %s", xd.pin_dir);
	if (pthread_create(&xd.poller, NULL, poller_main, NULL) == 0)
		xd.poller_running = true;
	return 0;
}

/* Is an xadc program attached to ifindex (one a previous xadcd left)? */
static bool xdpd_has_prog(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	bool found = false;

	if (libxdp_get_error(mp))
		return false;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		found = p && !strcmp(xdp_program__name(p), "xadc_xdp");
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p && !found;
		     p = xdp_multiprog__next_prog(p, mp))
			found = !strcmp(xdp_program__name(p), "xadc_xdp");
	}
	xdp_multiprog__close(mp);
	return found;
}

int xadc_xdpd_attach(void)
{
	unsigned i;
	int err = 0;

	pthread_mutex_lock(&xd.lock);
	for (i = 0; xd.x && i < xd.nifs; i++) {
		struct xdpd_if *f = &xd.ifs[i];

		/* A program a previous xadcd left (--keep-dataplane) works on
		 * the same pinned maps; ours replaces it so the code running
		 * is this version's. Flows pinned in xadc_flows survive. */
		if (xdpd_has_prog(f->ifindex)) {
			pr_info("xdp", "replacing the XDP program a previous xadcd left on %s",
				f->name);
			xadc_xdp_detach(xd.x, f->ifindex);
		}
		err = xadc_xdp_attach_mode(xd.x, f->ifindex, xd.mode, &f->native);
		if (err) {
			xdpd_error("attaching to %s: %s", f->name, strerror(-err));
			break;
		}
		f->attached = true;
		xd.attached = true;
		atomic_store(&xdp_live, true);
	}
	pthread_mutex_unlock(&xd.lock);
	return err;
}

/* Detach from our interfaces and remove the pins; under xd.lock. */
static int xdpd_teardown(void)
{
	unsigned i;
	int err = 0, e;

	for (i = 0; i < xd.nifs; i++) {
		if (!xd.ifs[i].attached)
			continue;
		e = xadc_xdp_detach(xd.x, xd.ifs[i].ifindex);
		if (e && e != -ENOENT)
			err = e;
		else
			pr_info("xdp", "detached from %s", xd.ifs[i].name);
		xd.ifs[i].attached = false;
	}
	e = xadc_xdp_unpin(xd.x);
	if (e) {
		pr_err("xdp", "removing the pins in %s: %s", xd.pin_dir, strerror(-e));
		err = err ?: e;
	}
	xd.attached = false;
	atomic_store(&xdp_live, false);
	return err;
}

int xadc_xdpd_unload(void)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	if (!xd.x) {
		pthread_mutex_unlock(&xd.lock);
		/* Nothing of ours loaded here: still clean what another
		 * instance may have left. */
		err = xadc_xdp_unload_all(xd.pin_dir[0] ? xd.pin_dir : NULL);
		return err < 0 ? err : 0;
	}
	err = xdpd_teardown();
	atomic_store(&xdp_live, false);
	xadc_xdp_close(xd.x);
	xd.x = NULL;
	xd.unloaded = true;
	pr_warn("xdp", "data plane unloaded (xadcctl unload): network security policies are "
		       "enforced in userspace (at accept) until xadcd restarts");
	pthread_mutex_unlock(&xd.lock);
	return err;
}

void xadc_xdpd_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&xd.lock);
	xd.poller_stop = true;
	pthread_mutex_unlock(&xd.lock);
	if (xd.poller_running)
		pthread_join(xd.poller, NULL);
	xd.poller_running = false;
	if (xd.x) {
		if (xd.keep)
			pr_info("xdp", "--keep-dataplane: XDP program stays attached, maps pinned "
				       "in %s", xd.pin_dir);
		else
			xdpd_teardown();
		xadc_xdp_close(xd.x);
		xd.x = NULL;
	}
	for (i = 0; xd.nsps && i <= XADC_XDP_NSP_ID_MAX; i++)
		nsp_slot_clear(&xd.nsps[i]);
	free(xd.nsps);
	free(xd.vs_names);
	free(xd.steer_fp);
	json_decref(xd.vs_ids);
	json_decref(xd.nsp_ids);
	json_decref(xd.se_ids);
	xd.nsps = NULL;
	xd.vs_names = NULL;
	xd.steer_fp = NULL;
	xd.vs_ids = xd.nsp_ids = xd.se_ids = NULL;
}

/* ---------------------------------------------------------------------- */
/* status and counters                                                     */

json_t *xadc_xdpd_status_json(void)
{
	json_t *ifs = json_array(), *o;
	const char *by, *why = NULL;
	unsigned i;

	pthread_mutex_lock(&xd.lock);
	for (i = 0; i < xd.nifs; i++)
		json_array_append_new(ifs, json_pack("{ss sb ss}", "name", xd.ifs[i].name,
						     "attached", xd.ifs[i].attached && xd.x, "mode",
						     !xd.ifs[i].attached ? "none"
						     : xd.ifs[i].native ? "native" : "generic"));
	/* Without an attached program the workers check each accepted
	 * connection (nsp_user.h): policies are never left unenforced. */
	by = xd.x && xd.attached ? "xdp" : "userspace";
	if (xd.x && xd.attached)
		why = "XDP program attached";
	else if (xd.unloaded)
		why = "XDP data plane unloaded by xadcctl unload";
	else if (!xd.nifs)
		why = "xadcd runs without --interface";
	else
		why = "XDP program not attached";
	o = json_pack("{ss ss so sb ss sI}", "nsp_enforced_by", by, "nsp_enforced_why", why,
		      "interfaces", ifs,
		      "keep_dataplane", xd.keep, "pin_dir", xd.x ? xd.pin_dir : "",
		      "applied_generation", (json_int_t)xd.applied_generation);
	if (xd.last_error[0])
		json_object_set_new(o, "last_error", json_string(xd.last_error));
	pthread_mutex_unlock(&xd.lock);
	return o;
}

static json_t *counters_json(json_t *o, const struct xadc_xdp_stats *st)
{
	json_object_set_new(o, "packets", json_integer(st->packets));
	json_object_set_new(o, "bytes", json_integer(st->bytes));
	json_object_set_new(o, "drops", json_integer(st->drops));
	json_object_set_new(o, "rate_limited", json_integer(st->rate_limited));
	json_object_set_new(o, "allowed", json_integer(st->allowed));
	return o;
}

static json_t *vs_stats_json(struct xadc_snapshot *s, unsigned v)
{
	struct xadc_xdp_cfg *cfg = s->xdp;
	const struct xadc_vs_xdp *vx = &cfg->vs[v];
	json_t *id = json_object_get(xd.vs_ids, s->vs[v].name), *o, *rules, *ses;
	struct xadc_xdp_stats st;
	struct xadc_steer_stats ss;
	uint32_t vid, nid;
	unsigned i;

	if (!id)
		return NULL;
	vid = json_integer_value(id);
	if (xadc_xdp_vs_stats(xd.x, vid, &st))
		memset(&st, 0, sizeof(st));
	o = counters_json(json_pack("{ss si}", "name", s->vs[v].name, "vs_id", vid), &st);
	if (vx->nsp && (id = json_object_get(xd.nsp_ids, vx->nsp->name))) {
		nid = json_integer_value(id);
		rules = json_array();
		for (i = 0; i < xd.nsps[nid].nrules; i++) {
			if (xadc_xdp_rule_stats(xd.x, nid, i, &st))
				memset(&st, 0, sizeof(st));
			json_array_append_new(
			    rules, counters_json(json_pack("{ss sI}", "name",
							   xd.nsps[nid].rule_names[i], "index",
							   (json_int_t)xd.nsps[nid].rule_ids[i]),
						 &st));
		}
		json_object_set_new(o, "network_security_policy",
				    json_pack("{ss so}", "name", vx->nsp->name, "rules", rules));
	}
	if (vx->nses) {
		ses = json_array();
		for (i = 0; i < vx->nses; i++) {
			const struct xadc_se_cfg *se = &cfg->ses[vx->ses[i]];
			json_t *sid = json_object_get(xd.se_ids, se->name);

			memset(&ss, 0, sizeof(ss));
			if (sid)
				xadc_xdp_steer_stats(xd.x, vid, json_integer_value(sid), &ss);
			json_array_append_new(
			    ses, json_pack("{ss sb sI sI sI sI}", "name", se->name, "self",
					   se->se.self, "packets", (json_int_t)ss.packets, "bytes",
					   (json_int_t)ss.bytes, "new_flows", (json_int_t)ss.new_flows,
					   "second_chance", (json_int_t)ss.second_chance));
		}
		json_object_set_new(o, "serviceengines", ses);
	}
	return o;
}

json_t *xadc_xdpd_stats_json(struct xadc_snapshot *s)
{
	json_t *vss = json_array(), *o;
	bool on;
	unsigned v;

	pthread_mutex_lock(&xd.lock);
	on = xd.x && xd.attached;
	if (!on && s && s->xdp) {
		/* The workers enforce: their counters, same table shape. */
		for (v = 0; v < s->nvs; v++) {
			o = xadc_nsp_us_vs_json(s, v);
			if (o)
				json_array_append_new(vss, o);
		}
		goto out;
	}
	if (!xd.x || !s || !s->xdp || xd.applied_generation != s->generation)
		goto out;
	for (v = 0; v < s->nvs; v++) {
		o = vs_stats_json(s, v);
		if (o)
			json_array_append_new(vss, o);
	}
out:
	pthread_mutex_unlock(&xd.lock);
	return json_pack("{sb ss so}", "enforcing", on, "nsp_enforced_by", on ? "xdp" : "userspace",
			 "virtualservices", vss);
}
