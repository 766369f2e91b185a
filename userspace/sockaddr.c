// SPDX-License-Identifier: GPL-2.0
/* sockaddr.c - small helpers over union xadc_sockaddr (see snapshot.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "xadc/snapshot.h"

/* Length to pass to bind()/connect() for a, 0 for an unknown family. */
socklen_t xadc_sockaddr_len(const union xadc_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(a->in);
	case AF_INET6:
		return sizeof(a->in6);
	default:
		return 0;
	}
}

/* The address without port, "198.18.0.1" or "fd00::1"; "?" if unknown. */
char *xadc_sockaddr_ip(const union xadc_sockaddr *a, char *buf, size_t len)
{
	const void *src = NULL;

	if (a->sa.sa_family == AF_INET)
		src = &a->in.sin_addr;
	else if (a->sa.sa_family == AF_INET6)
		src = &a->in6.sin6_addr;
	if (!src || !inet_ntop(a->sa.sa_family, src, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* "198.18.0.1:80" or "[fd00::1]:80". */
char *xadc_sockaddr_str(const union xadc_sockaddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	xadc_sockaddr_ip(a, ip, sizeof(ip));
	if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
	else if (a->sa.sa_family == AF_INET)
		snprintf(buf, len, "%s:%u", ip, ntohs(a->in.sin_port));
	else
		snprintf(buf, len, "?");
	return buf;
}

/* Same family, address and port (and IPv6 scope). */
bool xadc_sockaddr_eq(const union xadc_sockaddr *a, const union xadc_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
	return false;
}
