/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lb_internal.h - private interface between lb.c and lb_persist.c (the
 * client-IP persistence table), also used by the unit tests. Not part of
 * the module contracts in include/xadc/.
 */
#ifndef XADC_LB_INTERNAL_H
#define XADC_LB_INTERNAL_H

#include "xadc/snapshot.h"

/* 64-bit hash of len bytes (xxh64-style mixing, fixed seed given by caller). */
uint64_t xadc_lb_hash(const void *data, size_t len, uint64_t seed);

/*
 * Clock used by the persistence table, milliseconds. Defaults to
 * xadc_now_ms; unit tests replace it to test expiry without sleeping.
 */
extern uint64_t (*xadc_persist_clock_ms)(void);

/* Attach pool->persist_table to the table registered under pool->name
 * (created on first use). Returns 0 or -ENOMEM. */
int xadc_persist_attach(struct xadc_pool *pool);
/* Drop the pool's reference; the table is freed with its last pool. */
void xadc_persist_detach(struct xadc_pool *pool);

/* Look up client's server token; refreshes the entry's idle timer. Entries
 * idle longer than timeout_ms are expired and not returned. */
bool xadc_persist_lookup(void *table, const union xadc_sockaddr *client, uint32_t timeout_ms,
			 uint64_t *token);
/* Insert or replace client -> token. */
void xadc_persist_store(void *table, const union xadc_sockaddr *client, uint64_t token);

#endif
