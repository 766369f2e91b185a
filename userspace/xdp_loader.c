// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_loader.c - load bpf/xadc_xdp.bpf.c (embedded skeleton), pin and reuse
 * its maps, attach it through libxdp, VIP entries, counters, drop events.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xadc/common.h"
#include "xdp_internal.h"
#include "xadc_xdp.skel.h"

#define BPF_FS_MAGIC_ 0xcafe4a11

_Static_assert(sizeof(struct xadc_xdp_stats) == sizeof(struct xadc_xdp_counters),
	       "xdp.h stats and xadc_common.h counters must have one layout");

/* libbpf's chatter goes to our log at debug level, warnings as warnings. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG && xadc_log_level < XADC_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	xadc_log(level == LIBBPF_WARN ? XADC_LOG_WARN : XADC_LOG_DEBUG, "xdp", "%s", buf);
	return 0;
}

/* Mount bpffs on /sys/fs/bpf unless something is there already. */
static int ensure_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC_)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		pr_err("xdp", "mounting bpffs on /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The kernel adds BPF_F_RDONLY_PROG to a devmap's flags, so libbpf's
 * compatibility check refuses to reuse a pinned one: take it by fd. */
static int reuse_devmap(struct bpf_map *m, const char *path)
{
	int fd = bpf_obj_get(path), err;

	if (fd < 0) {
		pr_err("xdp", "opening pinned %s: %s", path, strerror(errno));
		return -errno;
	}
	err = bpf_map__reuse_fd(m, fd);
	close(fd);
	if (err)
		pr_err("xdp", "reusing pinned %s: %s", path, strerror(-err));
	return err;
}

/* Maps whose contents only make sense together: a packet reads the
 * generation in xadc_nsp_gen and then that generation's rules and
 * client-IP entries, and the steering maps name each other's generations.
 * Returns a group number (0: the map stands alone). */
static int pin_group(const char *name)
{
	if (!strncmp(name, "xadc_nsp_", 9))
		return 1;
	if (!strcmp(name, "xadc_steer_gen") || !strcmp(name, "xadc_steer_sets") ||
	    !strcmp(name, "xadc_maglev"))
		return 2;
	return 0;
}

/* Is the map pinned at path of m's type and layout (what libbpf checks
 * before reusing a pin)? True when nothing is pinned there. */
static bool pin_compatible(const struct bpf_map *m, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	bool ok;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == bpf_map__type(m) &&
	     info.key_size == bpf_map__key_size(m) &&
	     info.value_size == bpf_map__value_size(m) &&
	     info.max_entries == bpf_map__max_entries(m) &&
	     info.map_flags == bpf_map__map_flags(m);
	close(fd);
	return ok;
}

/* Unpin maps whose pinned layout is not this program's (a pin from
 * another xadc version), with every map of their group, so that libbpf
 * creates them afresh instead of refusing the load. A program a previous
 * xadcd left attached keeps its own (now unpinned) maps, a consistent set,
 * until it is replaced; the daemon installs the configuration into the new
 * maps before it attaches. Counters of replaced maps restart at zero. */
static int replace_incompatible_pins(struct xadc_xdp *x)
{
	bool bad_group[3] = { false, false, false };
	char path[PATH_MAX + 64];
	struct bpf_map *m;
	int pass;

	/* Pass 0 finds the incompatible maps, pass 1 unpins them and their
	 * groups. */
	for (pass = 0; pass < 2; pass++) {
		bpf_object__for_each_map(m, x->skel->obj) {
			const char *name = bpf_map__name(m);
			int grp = pin_group(name);
			bool bad;

			if (bpf_map__type(m) == BPF_MAP_TYPE_DEVMAP_HASH)
				continue;	/* see reuse_devmap */
			snprintf(path, sizeof(path), "%s/%s", x->pin_dir, name);
			bad = !pin_compatible(m, path);
			if (pass == 0) {
				if (bad)
					bad_group[grp] = true;
				continue;
			}
			if (!bad && !(grp && bad_group[grp]))
				continue;
			if (access(path, F_OK))
				continue;
			pr_warn("xdp", "replacing pinned map %s: %s", path,
				bad ? "its layout is another xadc version's"
				    : "it goes with a map whose layout changed");
			if (unlink(path)) {
				pr_err("xdp", "removing the incompatible pin %s: %s (remove it by "
				       "hand)", path, strerror(errno));
				return -errno;
			}
		}
	}
	return 0;
}

/* Point every map at pin_dir/<name>: libbpf reuses an existing compatible
 * pin and creates + pins the others, so counters and policies survive a
 * daemon restart. */
static int set_pins(struct xadc_xdp *x)
{
	struct bpf_map *m;
	char path[PATH_MAX + 64];
	int err;

	if (mkdir(x->pin_dir, 0700) && errno != EEXIST) {
		pr_err("xdp", "creating %s: %s", x->pin_dir, strerror(errno));
		return -errno;
	}
	err = replace_incompatible_pins(x);
	if (err)
		return err;
	bpf_object__for_each_map(m, x->skel->obj) {
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, bpf_map__name(m));
		if (bpf_map__type(m) == BPF_MAP_TYPE_DEVMAP_HASH && !access(path, F_OK)) {
			err = reuse_devmap(m, path);
			if (err)
				return err;
			continue;
		}
		err = bpf_map__set_pin_path(m, path);
		if (err)
			return err;
	}
	return 0;
}

int xadc_xdp_open(struct xadc_xdp **out, const char *pin_dir)
{
	struct xadc_xdp *x;
	int err;

	libbpf_set_print(libbpf_print);
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->ncpus = libbpf_num_possible_cpus();
	if (x->ncpus <= 0) {
		err = x->ncpus ? x->ncpus : -EINVAL;
		goto out;
	}
	x->skel = xadc_xdp_bpf__open();
	if (!x->skel) {
		err = -errno;
		pr_err("xdp", "opening the BPF object: %s", strerror(-err));
		goto out;
	}
	if (!pin_dir)
		pin_dir = XADC_PIN_DIR;
	snprintf(x->pin_dir, sizeof(x->pin_dir), "%s", pin_dir);
	if (x->pin_dir[0]) {
		err = ensure_bpffs();
		if (!err)
			err = set_pins(x);
		if (err)
			goto out;
	}
	err = xadc_xdp_bpf__load(x->skel);
	if (err) {
		pr_err("xdp", "loading the XDP program%s%s: %s (an incompatible pin from an "
		       "older version must be removed)", x->pin_dir[0] ? " with maps in " : "",
		       x->pin_dir, strerror(-err));
		goto out;
	}
	x->xprog = xdp_program__from_bpf_obj(x->skel->obj, "xdp");
	err = libxdp_get_error(x->xprog);
	if (err) {
		x->xprog = NULL;
		pr_err("xdp", "libxdp view of the program: %s", strerror(-err));
		goto out;
	}
	*out = x;
	return 0;
out:
	xadc_xdp_close(x);
	return err;
}

void xadc_xdp_close(struct xadc_xdp *x)
{
	if (!x)
		return;
	ring_buffer__free(x->rb);
	xdp_program__close(x->xprog);
	xadc_xdp_bpf__destroy(x->skel);
	free(x);
}

int xadc_xdp_unpin(struct xadc_xdp *x)
{
	struct bpf_map *m;
	int err = 0;

	if (!x->pin_dir[0])
		return 0;
	bpf_object__for_each_map(m, x->skel->obj) {
		char path[PATH_MAX + 64];

		if (bpf_map__is_pinned(m)) {
			if (bpf_map__unpin(m, NULL) && !err)
				err = -errno;
			continue;
		}
		/* A devmap reused by fd (see reuse_devmap) has no pin path. */
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, bpf_map__name(m));
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	if (rmdir(x->pin_dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int xadc_xdp_attach(struct xadc_xdp *x, int ifindex, bool *native)
{
	char name[IF_NAMESIZE] = "?";
	int err;

	if_indextoname(ifindex, name);
	err = xdp_program__attach(x->xprog, ifindex, XDP_MODE_NATIVE, 0);
	if (!err) {
		pr_info("xdp", "attached to %s in native mode", name);
		if (native)
			*native = true;
		return 0;
	}
	pr_warn("xdp", "native XDP on %s failed (%s), falling back to generic mode", name,
		strerror(-err));
	err = xdp_program__attach(x->xprog, ifindex, XDP_MODE_SKB, 0);
	if (err) {
		pr_err("xdp", "attaching to %s: %s", name, strerror(-err));
		return err;
	}
	pr_info("xdp", "attached to %s in generic mode", name);
	if (native)
		*native = false;
	return 0;
}

/* Detach whatever xadc program is on ifindex, also one a previous daemon
 * left there (found by name in libxdp's dispatcher or as the only program). */
int xadc_xdp_detach(struct xadc_xdp *x, int ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	enum xdp_attach_mode mode;
	int err = -ENOENT;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp))
		return libxdp_get_error(mp);
	mode = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), "xadc_xdp"))
			err = xdp_program__detach(p, ifindex, mode, 0);
		goto out;
	}
	for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
		if (strcmp(xdp_program__name(p), "xadc_xdp"))
			continue;
		err = xdp_program__detach(p, ifindex, mode, 0);
		break;
	}
out:
	xdp_multiprog__close(mp);
	return err;
}

int xadc_xdp_prog_fd(const struct xadc_xdp *x)
{
	return bpf_program__fd(x->skel->progs.xadc_xdp);
}

int xadc_xdp_map_fd(const struct xadc_xdp *x, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(x->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/* Build a VIP key; IPv4 becomes ::ffff:a.b.c.d. */
static int vip_key(struct xadc_vip_key *k, int family, const void *addr, uint16_t port,
		   uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	if (family == 4) {
		k->addr[10] = k->addr[11] = 0xff;
		memcpy(k->addr + 12, addr, 4);
	} else if (family == 6) {
		memcpy(k->addr, addr, 16);
	} else {
		pr_err("xdp", "VIP: address family %d is neither 4 nor 6", family);
		return -EINVAL;
	}
	k->port = port;
	k->proto = proto;
	return 0;
}

int xadc_xdp_vip_set(struct xadc_xdp *x, int family, const void *addr, uint16_t port,
		     uint8_t proto, uint32_t vs_id, uint32_t nsp_id)
{
	struct xadc_vip_val v = { .vs_id = vs_id, .nsp_id = nsp_id };
	struct xadc_vip_val av = { .vs_id = vs_id };
	struct xadc_vip_key k, ak;
	int fd = bpf_map__fd(x->skel->maps.xadc_vips), err;

	if (vs_id > XADC_XDP_VS_ID_MAX || nsp_id > XADC_XDP_NSP_ID_MAX || !port ||
	    (proto != 6 && proto != 17)) {
		pr_err("xdp", "VIP: vs id %u (max %u), nsp id %u (max %u), port %u (not 0), "
		       "protocol %u (6 or 17)", vs_id, XADC_XDP_VS_ID_MAX, nsp_id,
		       XADC_XDP_NSP_ID_MAX, port, proto);
		return -EINVAL;
	}
	if (nsp_id)
		v.flags |= XADC_VIP_F_NSP;
	err = vip_key(&k, family, addr, port, proto);
	if (err)
		return err;
	ak = k;
	ak.port = 0;
	ak.proto = 0;
	/* The address entry lets the program drop unparseable packets to a
	 * VIP; an existing one (another VS on the address) is kept. */
	if (bpf_map_update_elem(fd, &ak, &av, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

int xadc_xdp_vip_del(struct xadc_xdp *x, int family, const void *addr, uint16_t port,
		     uint8_t proto)
{
	struct xadc_vip_key k, ak, cur, next;
	int fd = bpf_map__fd(x->skel->maps.xadc_vips), err;
	void *prev = NULL;

	err = vip_key(&k, family, addr, port, proto);
	if (err)
		return err;
	if (bpf_map_delete_elem(fd, &k))
		return -errno;
	/* Drop the address entry when no other port uses the address. */
	ak = k;
	ak.port = 0;
	ak.proto = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!memcmp(next.addr, k.addr, 16) && next.proto)
			return 0;
		cur = next;
		prev = &cur;
	}
	bpf_map_delete_elem(fd, &ak);
	return 0;
}

int xadc_xdp__percpu_sum(struct xadc_xdp *x, int map_fd, uint32_t key, struct xadc_xdp_stats *out)
{
	struct xadc_xdp_counters *v;
	int i, err = 0;

	v = calloc(x->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < x->ncpus; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
		out->drops += v[i].drops;
		out->rate_limited += v[i].rate_limited;
		out->allowed += v[i].allowed;
	}
out:
	free(v);
	return err;
}

int xadc_xdp__percpu_zero(struct xadc_xdp *x, int map_fd, uint32_t key)
{
	struct xadc_xdp_counters *v;
	int err = 0;

	v = calloc(x->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(map_fd, &key, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

int xadc_xdp_vs_stats(struct xadc_xdp *x, uint32_t vs_id, struct xadc_xdp_stats *out)
{
	if (vs_id > XADC_XDP_VS_ID_MAX)
		return -EINVAL;
	return xadc_xdp__percpu_sum(x, bpf_map__fd(x->skel->maps.xadc_vs_stats), vs_id, out);
}

int xadc_xdp_rule_stats(struct xadc_xdp *x, uint32_t nsp_id, unsigned pos,
			struct xadc_xdp_stats *out)
{
	if (nsp_id > XADC_XDP_NSP_ID_MAX || pos >= XADC_NSP_MAX_RULES)
		return -EINVAL;
	return xadc_xdp__percpu_sum(x, bpf_map__fd(x->skel->maps.xadc_rule_stats),
				    nsp_id * XADC_NSP_MAX_RULES + pos, out);
}

int xadc_xdp_configure(struct xadc_xdp *x, uint32_t sample_every, uint32_t flags)
{
	struct xadc_xdp_config c = { .sample_every = sample_every, .flags = flags };
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.xadc_config), &zero, &c, BPF_ANY))
		return -errno;
	return 0;
}

/* Ring buffer callback: translate the BPF record into the API's struct. */
static int on_event(void *ctx, void *data, size_t len)
{
	const struct xadc_xdp_event *e = data;
	struct xadc_xdp *x = ctx;
	struct xadc_xdp_drop d = { 0 };

	if (len < sizeof(*e))
		return 0;
	d.ts_ns = e->ts_ns;
	d.vs_id = e->vs_id;
	d.nsp_id = e->nsp_id;
	d.rule_id = e->rule_id;
	d.family = e->family;
	d.proto = e->proto;
	d.reason = e->reason;
	d.client_port = e->client_port;
	d.vs_port = e->vs_port;
	if (e->family == 4) {
		memcpy(d.client_addr, e->client_addr + 12, 4);
		memcpy(d.vip_addr, e->vip_addr + 12, 4);
	} else {
		memcpy(d.client_addr, e->client_addr, 16);
		memcpy(d.vip_addr, e->vip_addr, 16);
	}
	x->drop_cb(&d, x->drop_arg);
	return 0;
}

int xadc_xdp_poll_drops(struct xadc_xdp *x, xadc_xdp_drop_cb cb, void *arg, int timeout_ms)
{
	if (!x->rb) {
		x->rb = ring_buffer__new(bpf_map__fd(x->skel->maps.xadc_events), on_event, x, NULL);
		if (!x->rb)
			return -errno;
	}
	x->drop_cb = cb;
	x->drop_arg = arg;
	return ring_buffer__poll(x->rb, timeout_ms);
}

int xadc_xdp_attach_mode(struct xadc_xdp *x, int ifindex, enum xadc_xdp_mode mode, bool *native)
{
	char name[IF_NAMESIZE] = "?";
	enum xdp_attach_mode m = mode == XADC_XDP_MODE_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	int err;

	if (mode == XADC_XDP_MODE_AUTO)
		return xadc_xdp_attach(x, ifindex, native);
	if_indextoname(ifindex, name);
	err = xdp_program__attach(x->xprog, ifindex, m, 0);
	if (err) {
		pr_err("xdp", "attaching to %s in %s mode: %s", name,
		       m == XDP_MODE_SKB ? "generic" : "native", strerror(-err));
		return err;
	}
	pr_info("xdp", "attached to %s in %s mode", name,
		m == XDP_MODE_SKB ? "generic" : "native");
	if (native)
		*native = m == XDP_MODE_NATIVE;
	return 0;
}

/* Remove every file in dir, then dir (pins are flat files). */
static int remove_pins(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX + 256];
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int xadc_xdp_unload_all(const char *pin_dir)
{
	struct if_nameindex *ifs, *i;
	int n = 0, k, err;

	libbpf_set_print(libbpf_print);
	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		/* Several instances could be stacked by libxdp: detach all. */
		for (k = 0; k < 8 && !xadc_xdp_detach(NULL, i->if_index); k++) {
			pr_info("xdp", "detached from %s", i->if_name);
			n++;
		}
	}
	if_freenameindex(ifs);
	err = remove_pins(pin_dir ? pin_dir : XADC_PIN_DIR);
	if (err) {
		pr_err("xdp", "removing the pins in %s: %s", pin_dir ? pin_dir : XADC_PIN_DIR,
		       strerror(-err));
		return err;
	}
	return n;
}
