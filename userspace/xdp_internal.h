/* SPDX-License-Identifier: GPL-2.0 */
/* xdp_internal.h - state shared by userspace/xdp_*.c (not an API). */
#ifndef XADC_XDP_INTERNAL_H
#define XADC_XDP_INTERNAL_H

#include <limits.h>

#include "xadc/xdp.h"
#include "xadc_common.h"

struct xadc_xdp_bpf;
struct xdp_program;
struct ring_buffer;

struct xadc_xdp {
	struct xadc_xdp_bpf *skel;
	struct xdp_program *xprog;	/* libxdp view of skel's program */
	struct ring_buffer *rb;		/* drop events, created on first poll */
	xadc_xdp_drop_cb drop_cb;
	void *drop_arg;
	int ncpus;
	char pin_dir[PATH_MAX];		/* "" when not pinned */
};

/* Sum of a per-CPU counters slot. */
int xadc_xdp__percpu_sum(struct xadc_xdp *x, int map_fd, uint32_t key, struct xadc_xdp_stats *out);
/* Zero a per-CPU counters slot. */
int xadc_xdp__percpu_zero(struct xadc_xdp *x, int map_fd, uint32_t key);

#endif
