/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl_xdp.h - xadcctl's XDP data plane commands (ctl/cmd_xdp.c, issue 3).
 */
#ifndef XADC_CTL_XDP_H
#define XADC_CTL_XDP_H

/* stats and status: the generic output plus the XDP part. */
int ctl_cmd_stats_xdp(int argc, char **argv);
int ctl_cmd_status_xdp(int argc, char **argv);
/* xdp stats | xdp events [-n N] [-f] */
int ctl_cmd_xdp(int argc, char **argv);
/* unload: through the daemon, or directly when it is not running. */
int ctl_cmd_unload(int argc, char **argv);

#endif
