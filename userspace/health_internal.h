/* SPDX-License-Identifier: GPL-2.0 */
/*
 * health_internal.h - health.c internals exposed to its unit test only.
 */
#ifndef XADC_HEALTH_INTERNAL_H
#define XADC_HEALTH_INTERNAL_H

#include "xadc/snapshot.h"

/*
 * Run one check of monitor hm against srv on the calling thread, with the
 * same state machine the health thread uses, and wait for its result.
 * Returns true on success; on failure reason (len bytes) says why.
 */
bool xadc_health_check_once(const struct xadc_server *srv, const struct xadc_healthmonitor *hm,
			    char *reason, size_t len);

#endif
