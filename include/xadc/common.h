/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.h - small helpers shared by every userspace module of xadc.
 *
 * Kept free of any library dependency so that the BPF loader, the ctl tool
 * and the unit tests can include it too.
 */
#ifndef XADC_COMMON_H
#define XADC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)
#define XADC_CACHELINE 64
#define __cacheline_aligned __attribute__((aligned(XADC_CACHELINE)))

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* Upper bound on worker threads; the default is one per online core. */
#define XADC_MAX_WORKERS 64

/* Longest object name accepted in configuration (Avi allows more, nobody uses it). */
#define XADC_NAME_MAX 128

/* Daemon-wide logging to stderr: "xadcd: <level>: <module>: message". */
enum xadc_log_level { XADC_LOG_ERR, XADC_LOG_WARN, XADC_LOG_INFO, XADC_LOG_DEBUG };
extern int xadc_log_level;
void xadc_log(enum xadc_log_level lvl, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define pr_err(mod, ...)   xadc_log(XADC_LOG_ERR, mod, __VA_ARGS__)
#define pr_warn(mod, ...)  xadc_log(XADC_LOG_WARN, mod, __VA_ARGS__)
#define pr_info(mod, ...)  xadc_log(XADC_LOG_INFO, mod, __VA_ARGS__)
#define pr_debug(mod, ...) xadc_log(XADC_LOG_DEBUG, mod, __VA_ARGS__)

/* Monotonic clock in milliseconds / nanoseconds; wall clock in microseconds. */
uint64_t xadc_now_ms(void);
uint64_t xadc_now_ns(void);
uint64_t xadc_wall_us(void);

#endif
