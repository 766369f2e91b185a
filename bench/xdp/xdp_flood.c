// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_flood.c - a TCP SYN flood for the live drop test: as many frames as
 * one CPU can push through an AF_PACKET socket with sendmmsg.
 *
 *   xdp_flood IFNAME DST_MAC SRC_IP DST_IP DST_PORT SECONDS
 *
 * Sends Ethernet/IPv4/TCP SYN frames from SRC_IP (source ports cycling
 * over 1024 values, checksums correct so the receiving stack does real
 * work on them) to DST_IP:DST_PORT via DST_MAC for SECONDS, 64 frames per
 * sendmmsg, bypassing the qdisc. Prints one JSON line:
 * {"sent":N,"seconds":S,"pps":R,"enobufs":E} where sent counts frames the
 * kernel accepted and enobufs the calls refused for lack of buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NFRAMES	  1024
#define BATCH	  64
#define FRAME_LEN 54

static uint8_t frames[NFRAMES][FRAME_LEN];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* One's complement sum of len bytes (even) added to sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, int len)
{
	int i;

	for (i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Frame i: SYN from sport 1024 + i, IPv4 and TCP checksums filled in. */
static void build(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t saddr,
		  uint32_t daddr, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12];

	memset(f, 0, FRAME_LEN);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, ETHERTYPE_IP);
	ip[0] = 0x45;
	put16(ip + 2, 40);
	put16(ip + 4, sport); /* IP id */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put16(tcp + 4, 0x1234); /* sequence number */
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	put16(tcp + 14, 64240);
	memcpy(pseudo, &saddr, 4);
	memcpy(pseudo + 4, &daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, 20);
	put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20)));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_halen = 6};
	struct ifreq ifr = {0};
	uint8_t dmac[6];
	uint32_t saddr, daddr;
	unsigned long long sent = 0, enobufs = 0;
	double t0, t1, secs;
	int fd, one = 1, i, n, next = 0;

	if (argc != 7 ||
	    sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
		   &dmac[4], &dmac[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &saddr) != 1 || inet_pton(AF_INET, argv[4], &daddr) != 1 ||
	    atoi(argv[5]) < 1 || atoi(argv[5]) > 65535 || atof(argv[6]) <= 0) {
		fprintf(stderr, "usage: xdp_flood IFNAME DST_MAC SRC_IP DST_IP DST_PORT SECONDS\n");
		return 2;
	}
	secs = atof(argv[6]);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("xdp_flood: socket(AF_PACKET)");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "xdp_flood: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	memcpy(sll.sll_addr, dmac, 6);
	/* Straight to the driver: veth has no queue, and the qdisc layer
	 * would only add the sender's own cost. */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		perror("xdp_flood: PACKET_QDISC_BYPASS (going on without)");
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("xdp_flood: bind");
		return 1;
	}
	for (i = 0; i < NFRAMES; i++)
		build(frames[i], dmac, (uint8_t *)ifr.ifr_hwaddr.sa_data, saddr, daddr,
		      (uint16_t)(1024 + i), (uint16_t)atoi(argv[5]));
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_len = FRAME_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now();
	t1 = t0;
	while (t1 - t0 < secs) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = frames[next];
			next = (next + 1) % NFRAMES;
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			sent += (unsigned)n;
		else if (errno == ENOBUFS || errno == EAGAIN)
			enobufs++;
		else if (errno != EINTR) {
			perror("xdp_flood: sendmmsg");
			return 1;
		}
		t1 = now();
	}
	printf("{\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"enobufs\":%llu}\n", sent, t1 - t0,
	       sent / (t1 - t0), enobufs);
	close(fd);
	return 0;
}
