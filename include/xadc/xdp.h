/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp.h - the XDP data plane as the daemon sees it: load the program (maps
 * pinned under /sys/fs/bpf/xadc/ and reused across restarts), attach it to
 * interfaces, install VIPs and compiled network security policies, read
 * counters and sampled drop events. Implemented in userspace/xdp_*.c over
 * libbpf and libxdp; the BPF side is bpf/xadc_xdp.bpf.c.
 *
 * A network security policy is given in a plain representation (struct
 * xadc_nsp_policy) that the config compiler fills from Avi's
 * networksecuritypolicy: IP groups are expanded into prefixes and ranges
 * before it gets here. policy/nsp_eval.c evaluates the same representation
 * in plain C (the reference the BPF program is tested against).
 *
 * Semantics: rules are tried in array order, the first whose conditions
 * all hold decides; no rule matching means ALLOW. A rule's conditions:
 *  - client_ip (when has_client_ip): the client address is (IS_IN) or is
 *    not (IS_NOT_IN) in the union of prefixes and ranges. An address of the
 *    other family is never "in".
 *  - client_port / vs_port (when present): the port is (not) in the union
 *    of the inclusive ranges (a single port is lo == hi). A packet without
 *    ports never is "in".
 * RATE_LIMIT admits max_rate new connections per second per client address
 * with a bucket of burst_size (TCP SYN without ACK, every UDP datagram);
 * the excess is dropped. Other packets matching it are allowed.
 *
 * Not thread-safe: one thread (the config thread) owns a struct xadc_xdp.
 */
#ifndef XADC_XDP_H
#define XADC_XDP_H

#include <stdbool.h>
#include <stdint.h>

#define XADC_NSP_RULES_MAX 64	/* rules per policy (one bit each in the BPF bitmaps) */
#define XADC_NSP_PORTS_MAX 8	/* port ranges per port condition */
#define XADC_XDP_NSP_ID_MAX 1023 /* nsp ids are 1..this */
#define XADC_XDP_VS_ID_MAX 4095	 /* vs ids are 0..this */

enum xadc_nsp_op { XADC_NSP_IS_IN = 0, XADC_NSP_IS_NOT_IN = 1 };
enum xadc_nsp_act { XADC_NSP_ALLOW = 0, XADC_NSP_DENY = 1, XADC_NSP_RATE_LIMIT = 2 };

/* Addresses are in network order; family is 4 or 6; an IPv4 address uses
 * addr[0..3]. */
struct xadc_nsp_prefix {
	uint8_t family;
	uint8_t len;		/* 0..32 / 0..128; host bits are ignored */
	uint8_t addr[16];
};

struct xadc_nsp_range {
	uint8_t family;
	uint8_t lo[16];		/* inclusive */
	uint8_t hi[16];		/* inclusive, >= lo */
};

struct xadc_nsp_ports {
	bool present;
	enum xadc_nsp_op op;
	unsigned n;		/* <= XADC_NSP_PORTS_MAX */
	struct {
		uint16_t lo, hi; /* inclusive, host order */
	} r[XADC_NSP_PORTS_MAX];
};

struct xadc_nsp_rule {
	uint32_t rule_id;	/* Avi's rule index: reported in counters and events */
	enum xadc_nsp_act action;
	uint32_t max_rate;	/* RATE_LIMIT: connections per second, >= 1 */
	uint32_t burst_size;	/* RATE_LIMIT: >= 1 */
	bool has_client_ip;
	enum xadc_nsp_op ip_op;
	unsigned nprefixes;
	const struct xadc_nsp_prefix *prefixes;
	unsigned nranges;
	const struct xadc_nsp_range *ranges;
	struct xadc_nsp_ports client_port;
	struct xadc_nsp_ports vs_port;
};

struct xadc_nsp_policy {
	unsigned nrules;	/* <= XADC_NSP_RULES_MAX */
	const struct xadc_nsp_rule *rules;
};

/* Counters summed over CPUs (per VS or per rule). */
struct xadc_xdp_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;
	uint64_t rate_limited;
	uint64_t allowed;
};

/* A sampled drop (see bpf/xadc_common.h struct xadc_xdp_event). */
struct xadc_xdp_drop {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
	uint32_t vs_id, nsp_id;
	uint32_t rule_id;	/* UINT32_MAX: no rule (malformed packet) */
	uint8_t family, proto;
	uint8_t reason;		/* 1 deny, 2 rate limit, 3 malformed */
	uint16_t client_port, vs_port;
	uint8_t client_addr[16], vip_addr[16]; /* IPv4: addr[0..3] */
};

struct xadc_xdp;

/* Load the program. pin_dir: where maps are pinned and reused from (NULL
 * means /sys/fs/bpf/xadc; "" means no pinning, e.g. for tests). bpffs is
 * mounted on /sys/fs/bpf when it is not. Returns 0 or -errno. */
int xadc_xdp_open(struct xadc_xdp **out, const char *pin_dir);
/* Free the handle; pins and attachments stay (see unpin/detach). */
void xadc_xdp_close(struct xadc_xdp *x);
/* Remove every map pin and the pin directory. */
int xadc_xdp_unpin(struct xadc_xdp *x);

/* Attach to ifindex, native mode first, generic (skb) mode when the driver
 * has no native XDP (logged). *native tells which, may be NULL. */
int xadc_xdp_attach(struct xadc_xdp *x, int ifindex, bool *native);
int xadc_xdp_detach(struct xadc_xdp *x, int ifindex);

/* The program's fd (for BPF_PROG_TEST_RUN) and a map fd by map name. */
int xadc_xdp_prog_fd(const struct xadc_xdp *x);
int xadc_xdp_map_fd(const struct xadc_xdp *x, const char *name);

/* Add or replace VIP (family 4/6, addr network order, port host order,
 * proto IPPROTO_TCP/UDP) for vs_id; nsp_id 0 = no policy. */
int xadc_xdp_vip_set(struct xadc_xdp *x, int family, const void *addr, uint16_t port,
		     uint8_t proto, uint32_t vs_id, uint32_t nsp_id);
int xadc_xdp_vip_del(struct xadc_xdp *x, int family, const void *addr, uint16_t port,
		     uint8_t proto);

/* Validate pol and make it the active generation of nsp_id atomically:
 * packets see either the old or the new policy, never a mix. Resets the
 * policy's per-rule counters. -EINVAL (logged, naming the rule) on bad
 * input, -E2BIG when the tries are full. */
int xadc_xdp_nsp_install(struct xadc_xdp *x, uint32_t nsp_id, const struct xadc_nsp_policy *pol);
/* Deactivate and delete nsp_id (VIPs pointing at it then allow all). */
int xadc_xdp_nsp_remove(struct xadc_xdp *x, uint32_t nsp_id);
/* An install leaves the replaced generation's client-IP entries in the
 * maps until no packet can be reading them: this waits for that (one RCU
 * grace period, about 10 ms, for any number of installs since the last
 * call) and deletes them. Call it after a batch of installs; the next
 * install of a policy does the same for that policy. */
int xadc_xdp_nsp_settle(struct xadc_xdp *x);
/* The active generation of nsp_id (0: none). */
uint32_t xadc_xdp_nsp_generation(struct xadc_xdp *x, uint32_t nsp_id);

int xadc_xdp_vs_stats(struct xadc_xdp *x, uint32_t vs_id, struct xadc_xdp_stats *out);
int xadc_xdp_rule_stats(struct xadc_xdp *x, uint32_t nsp_id, unsigned pos,
			struct xadc_xdp_stats *out);

/* Drop-event sampling: one event per `every` drops per CPU (0 = off);
 * flags: bpf/xadc_common.h XADC_CFG_F_*. */
int xadc_xdp_configure(struct xadc_xdp *x, uint32_t sample_every, uint32_t flags);
/* Deliver pending drop events to cb, waiting up to timeout_ms; returns the
 * number delivered or -errno. */
typedef void (*xadc_xdp_drop_cb)(const struct xadc_xdp_drop *d, void *arg);
int xadc_xdp_poll_drops(struct xadc_xdp *x, xadc_xdp_drop_cb cb, void *arg, int timeout_ms);

/* Policy compilation helper, exposed for tests: the per-family prefix
 * table the LPM tries get (bits = union of rules covering each prefix). */
struct xadc_nsp_lpm_entry {
	uint8_t addr[16];
	uint8_t len;		/* address prefix length */
	uint64_t bits;
};
/* *out (malloc'd, caller frees) gets n entries of family fam. */
int xadc_xdp_nsp_compile_lpm(const struct xadc_nsp_policy *pol, int fam,
			     struct xadc_nsp_lpm_entry **out, size_t *n);

/*
 * Flow steering of a virtual service scaled out over several SEs (the
 * rules are in bpf/xadc_xdp.bpf.c's header comment). The SE set of a VS is
 * turned into a weighted Maglev table (each SE's share of the table is
 * proportional to its weight; weight 0 drains: no new flows) and made
 * active atomically; the previous set stays for the second chance.
 */
#define XADC_STEER_SES_MAX 32	    /* SEs per virtual service */
#define XADC_STEER_TABLE_MAX 65537  /* largest table size (a prime) */
#define XADC_STEER_TABLE_DEFAULT 65537
#define XADC_STEER_NO_SE UINT32_MAX

struct xadc_steer_se {
	uint32_t id;		/* stable SE id, unique in the set; counters use it */
	uint8_t mac[6];		/* the SE's MAC on the shared segment */
	int ifindex;		/* interface toward it; 0 = the one the packet came in on */
	uint32_t weight;	/* relative share of new flows; 0 = none */
	bool self;		/* this SE: its flows go to the local stack */
};

struct xadc_steer_config {
	unsigned nses;		/* 1..XADC_STEER_SES_MAX */
	const struct xadc_steer_se *ses;
	uint32_t table_size;	/* a prime in nses..XADC_STEER_TABLE_MAX; 0 = default */
	/* SE id given unknown mid-flow packets when there is no previous
	 * set (the VS's primary), XADC_STEER_NO_SE = none. */
	uint32_t fallback_se;
};

/* Counters of one SE of a steered VS, summed over CPUs. */
struct xadc_steer_stats {
	uint64_t packets;	/* sent to that SE (self: passed to our stack) */
	uint64_t bytes;
	uint64_t new_flows;	/* flows pinned to it */
	uint64_t second_chance;	/* unknown mid-flow packets sent to it as previous owner */
};

/* Validate cfg, build its Maglev table and make it vs_id's active steering
 * generation; the one it replaces stays as the previous generation, older
 * ones are deleted. Interfaces named by ifindex are resolved (our MAC on
 * them) and added to the redirect map. -EINVAL (logged, naming the SE) on
 * bad input, -ENODEV for an unknown ifindex, -E2BIG when the maps are full. */
int xadc_xdp_steer_set(struct xadc_xdp *x, uint32_t vs_id, const struct xadc_steer_config *cfg);
/* Stop steering vs_id (its packets are passed to the stack again) and
 * delete its tables and counters. Pinned flows age out of the LRU. */
int xadc_xdp_steer_remove(struct xadc_xdp *x, uint32_t vs_id);
/* Active steering generation of vs_id, 0 when not steered. */
uint32_t xadc_xdp_steer_generation(struct xadc_xdp *x, uint32_t vs_id);
int xadc_xdp_steer_stats(struct xadc_xdp *x, uint32_t vs_id, uint32_t se_id,
			 struct xadc_steer_stats *out);

/* The weighted Maglev population, exposed for tests: table[0..size) gets
 * indexes into ses (size prime, > 0 weights somewhere). 0 or -EINVAL. */
int xadc_xdp_maglev_build(const struct xadc_steer_se *ses, unsigned n, uint32_t size,
			  uint8_t *table);
/* The flow hash the table is indexed with (table[hash % size]); family 4
 * or 6, addresses network order (IPv4: 4 bytes), ports host order. */
uint32_t xadc_xdp_flow_hash(int family, const void *saddr, const void *daddr, uint16_t sport,
			    uint16_t dport, uint8_t proto);

/*
 * ---------------------------------------------------------------------
 * The data plane as configured (cfg_nsp.c compiles, xdp_daemon.c applies)
 * ---------------------------------------------------------------------
 */
#include <jansson.h>

#include "xadc/common.h"

#define XADC_XDP_NAME_MAX XADC_NAME_MAX

/* A compiled networksecuritypolicy: rules in evaluation order (Avi's
 * index order, disabled rules left out); rule_names[i] names rules[i]. */
struct xadc_nsp_cfg {
	char name[XADC_XDP_NAME_MAX];
	char uuid[64];
	struct xadc_nsp_policy pol;
	char (*rule_names)[XADC_XDP_NAME_MAX];
	uint64_t fingerprint;	/* of pol: an unchanged policy is not reinstalled */
	/* Userspace enforcement form (userspace/nsp_user.h) used when no XDP
	 * program is attached: per-rule IP sets, rate limiters, counters. */
	void *us;
};

/* A compiled serviceengine (xadc extension): se.id is filled by the
 * daemon (stable per name). */
struct xadc_se_cfg {
	char name[XADC_XDP_NAME_MAX];
	char ifname[16];	/* "" = the interface the packet came in on */
	struct xadc_steer_se se;
};

/* Per virtual service (indexed like snapshot->vs). */
struct xadc_vs_xdp {
	struct xadc_nsp_cfg *nsp;	/* NULL: no policy */
	unsigned nses;			/* 0: not scaled out */
	unsigned ses[XADC_STEER_SES_MAX]; /* indexes into xadc_xdp_cfg.ses */
	void *us_ctr;			/* userspace NSP counters (nsp_user.h) */
};

/* snapshot->xdp */
struct xadc_xdp_cfg {
	unsigned nnsps, nses, nvs;
	struct xadc_nsp_cfg *nsps;
	struct xadc_se_cfg *ses;
	struct xadc_vs_xdp *vs;
};

/* Free a compiled struct xadc_xdp_cfg (NULL is fine). */
void xadc_xdp_cfg_free(void *cfg);

/* Attach in a given mode: XADC_XDP_MODE_AUTO tries native then generic
 * (logged), the others fail when that mode is not possible. */
enum xadc_xdp_mode { XADC_XDP_MODE_AUTO = 0, XADC_XDP_MODE_NATIVE, XADC_XDP_MODE_GENERIC };
int xadc_xdp_attach_mode(struct xadc_xdp *x, int ifindex, enum xadc_xdp_mode mode, bool *native);

/* Without a handle: detach the xadc program from every interface of this
 * network namespace and remove every pin under pin_dir (NULL: default).
 * Returns the number of interfaces detached or -errno. */
int xadc_xdp_unload_all(const char *pin_dir);

/*
 * The daemon's data plane (xdp_daemon.c). Thread-safe (one mutex): the
 * config thread applies, the API reads counters and events.
 */
struct xadc_xdpd_opts {
	const char *const *ifnames;	/* data interfaces, may be empty */
	unsigned nifs;
	enum xadc_xdp_mode mode;
	bool keep;			/* --keep-dataplane: leave attached and pinned */
	const char *pin_dir;		/* NULL: /sys/fs/bpf/xadc */
};

/* Load the program, reuse or create pins. With no interface nothing is
 * loaded and policies are reported as not enforced. */
int xadc_xdpd_start(const struct xadc_xdpd_opts *o);
/* Program the maps from snapshot s (VIPs, policies, SE sets). */
struct xadc_snapshot;
int xadc_xdpd_apply(struct xadc_snapshot *s);
/* Attach to the interfaces (after the first apply). */
int xadc_xdpd_attach(void);
/* Detach and unpin unless keep; frees everything. */
void xadc_xdpd_stop(void);
/* Detach everywhere and remove the pins now (xadcctl unload). */
int xadc_xdpd_unload(void);
/* Is an XDP data plane enforcing policies (attached somewhere)? Before
 * attach, whether it will be (interfaces were given). */
bool xadc_xdpd_enforcing(void);
/* Is an XDP program attached and enforcing right now? Lock-free (one
 * atomic load): the workers ask it per accepted connection and enforce the
 * policy themselves when it is false (userspace/nsp_user.h). */
bool xadc_xdpd_attached(void);
/* {"enforced_by": "xdp"|"none", "interfaces": [...], ...} */
json_t *xadc_xdpd_status_json(void);
/* Per-VS, per-rule and per-SE counters of snapshot s. */
json_t *xadc_xdpd_stats_json(struct xadc_snapshot *s);
/* Sampled drop events with seq > after: {"last": N, "events": [...]}. */
json_t *xadc_xdpd_events_json(uint64_t after, unsigned max);

#endif
