// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot.c - reference counting, freeing and publishing of compiled
 * configuration snapshots (see snapshot.h).
 *
 * Publishing happens on configuration changes only, and workers fetch the
 * current snapshot once per change, so a mutex around the pointer is cheap
 * and closes the window where a reader could load the old pointer, get
 * preempted, and take a reference after the publisher dropped the last one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/lb.h"
#include "xadc/snapshot.h"
#include "../policy/http_policy.h"	/* issue 4: policy objects of a snapshot */
#include "../datascript/datascript.h"	/* issue 5 */
#include "xadc/xdp.h"			/* issue 3 */

atomic_ullong xadc_snapshot_generation;

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xadc_snapshot *snap_current;

/* Take one more reference on s (not NULL). */
void xadc_snapshot_get(struct xadc_snapshot *s)
{
	atomic_fetch_add_explicit(&s->refcnt, 1, memory_order_relaxed);
}

static void snapshot_free_pool(struct xadc_pool *p)
{
	unsigned i;

	xadc_lb_pool_fini(p);
	for (i = 0; p->servers && i < p->nservers; i++)
		xadc_rt_put(p->servers[i].rt);
	free(p->servers);
	free(p->hms);
	xadc_rt_put(p->rt);
}

/* Free everything a snapshot owns, including a partly built one from a
 * failed compile (NULL arrays and rts are skipped). */
static void snapshot_free(struct xadc_snapshot *s)
{
	unsigned i;

	xadc_policy_snapshot_free(s);	/* issue 4: before the pools it points to */
	for (i = 0; s->pools && i < s->npools; i++)
		snapshot_free_pool(&s->pools[i]);
	free(s->pools);
	for (i = 0; s->vs && i < s->nvs; i++) {
		xadc_ds_vs_free(s->vs[i].datascripts);	/* issue 5 */
		xadc_rt_put(s->vs[i].rt);
	}
	free(s->vs);
	for (i = 0; s->hms && i < s->nhms; i++) {
		free(s->hms[i].http_request);
		free(s->hms[i].http_response);
	}
	free(s->hms);
	free(s->listeners);
	xadc_xdp_cfg_free(s->xdp);	/* issue 3 */
	free(s);
}

/* Drop one reference; the last one frees the snapshot. NULL is ok. */
void xadc_snapshot_put(struct xadc_snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refcnt, 1, memory_order_acq_rel) == 1)
		snapshot_free(s);
}

/*
 * Make s current, taking a reference for the registry. Publishing the
 * snapshot that is already current is a no-op; publishing NULL drops the
 * current one (used at shutdown and by tests that want a clean heap).
 */
void xadc_snapshot_publish(struct xadc_snapshot *s)
{
	struct xadc_snapshot *old;

	pthread_mutex_lock(&snap_lock);
	old = snap_current;
	if (old == s) {
		pthread_mutex_unlock(&snap_lock);
		return;
	}
	if (s) {
		xadc_snapshot_get(s);
		atomic_store(&xadc_snapshot_generation, s->generation);
	}
	snap_current = s;
	pthread_mutex_unlock(&snap_lock);
	xadc_snapshot_put(old);
}

/* A new reference to the current snapshot, NULL before the first publish. */
struct xadc_snapshot *xadc_snapshot_current(void)
{
	struct xadc_snapshot *s;

	pthread_mutex_lock(&snap_lock);
	s = snap_current;
	if (s)
		xadc_snapshot_get(s);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

/* Pool of s by exact name, or NULL. */
struct xadc_pool *xadc_snapshot_find_pool(struct xadc_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->npools; i++)
		if (!strcmp(s->pools[i].name, name))
			return &s->pools[i];
	return NULL;
}

/* Virtual service of s by exact name, or NULL. */
struct xadc_vs *xadc_snapshot_find_vs(struct xadc_snapshot *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->nvs; i++)
		if (!strcmp(s->vs[i].name, name))
			return &s->vs[i];
	return NULL;
}
