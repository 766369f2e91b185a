// SPDX-License-Identifier: GPL-2.0
/* util.c - logging and clocks shared by all modules (see common.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "xadc/common.h"

int xadc_log_level = XADC_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void xadc_log(enum xadc_log_level lvl, const char *module, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if ((int)lvl > xadc_log_level)
		return;
	/* One write per line so lines from several threads never interleave. */
	n = snprintf(line, sizeof(line), "xadcd: %s: %s: ", level_names[lvl], module);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t xadc_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t xadc_now_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE) / 1000000ull;
}

uint64_t xadc_wall_us(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000ull;
}
