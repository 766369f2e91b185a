/* SPDX-License-Identifier: GPL-2.0 */
/*
 * health.h - active health monitors (TCP connect, HTTP request/status).
 *
 * One thread runs every check with non-blocking sockets and epoll. It
 * follows the current snapshot: servers of pools with health monitors are
 * checked every send_interval; a server goes down after failed_checks
 * consecutive failures of any monitor and up after successful_checks
 * consecutive successes of all monitors (hysteresis as Avi and HAProxy do).
 * State lives in struct xadc_rt so it survives a re-apply.
 */
#ifndef XADC_HEALTH_H
#define XADC_HEALTH_H

int xadc_health_start(void);
void xadc_health_stop(void);
/* Wake the health thread: a new snapshot was published. */
void xadc_health_kick(void);

#endif
