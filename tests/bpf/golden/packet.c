// SPDX-License-Identifier: GPL-2.0-only
/*
 * packet.c - the packet builder: a struct pkt, described field by field, into the bytes of
 * a frame (Ethernet, VLAN tags, PPPoE, IPv4 or IPv6 with extension headers, L4), with the
 * offsets and the IP length the program counts.
 */
#include "golden.h"

void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

int parse_addr(const char *s, uint8_t *out, bool *v6)
{
	*v6 = strchr(s, ':') != NULL;
	return inet_pton(*v6 ? AF_INET6 : AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* L4 header and payload at b; returns the bytes written. */
static size_t build_l4(const struct pkt *p, uint8_t *b, uint8_t proto)
{
	uint16_t sport = p->sport ? p->sport : 40000, dport = p->dport ? p->dport : 80;
	size_t n = 0, i;

	switch (proto) {
	case IPPROTO_TCP: {
		uint8_t doff = p->doff ? p->doff : 5;

		put16(b, sport);
		put16(b + 2, dport);
		memset(b + 4, 0, 8); /* seq, ack */
		b[4] = 0x12;
		b[12] = doff << 4;
		b[13] = p->tcpflags ? p->tcpflags : 0x02; /* SYN */
		put16(b + 14, 64240);
		memset(b + 16, 0, 4);
		n = 20;
		for (i = 20; i < (size_t)doff * 4; i++)
			b[n++] = 1; /* NOP options */
		break;
	}
	case IPPROTO_UDP:
		put16(b, sport);
		put16(b + 2, dport);
		put16(b + 4, 8 + p->payload);
		put16(b + 6, 0);
		n = 8;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		b[0] = p->icmp_type;
		memset(b + 1, 0, 7);
		b[1] = p->icmp_code;
		n = 8;
		break;
	default:
		break; /* GRE, ESP, No Next Header...: no header of ours */
	}
	memset(b + n, 0xab, p->payload);
	if (p->target && p->payload >= 16)
		inet_pton(AF_INET6, p->target, b + n);
	return n + p->payload;
}

static size_t build_ext6(const struct ext6 *x, uint8_t next, uint8_t *b)
{
	size_t n;

	b[0] = next;
	b[1] = x->hlen;
	switch (x->type) {
	case IPPROTO_FRAGMENT:
		b[1] = 0;
		put16(b + 2, x->fo);
		memcpy(b + 4, "\x12\x34\x56\x78", 4);
		return 8;
	case IPPROTO_AH:
		n = ((size_t)x->hlen + 2) * 4;
		memset(b + 2, 0, n - 2);
		b[7] = 0x42; /* SPI */
		return n;
	case IPPROTO_ROUTING:
		n = ((size_t)x->hlen + 1) * 8;
		memset(b + 2, 0, n - 2);
		b[2] = x->rt_type;
		b[3] = x->segleft;
		return n;
	default:
		n = ((size_t)x->hlen + 1) * 8;
		memset(b + 2, 0, n - 2);
		b[2] = 1; /* PadN over the rest of the header */
		b[3] = n - 4;
		return n;
	}
}

/* Build p into buf (which holds at least 2048 bytes). */
int build_pkt(const struct pkt *p, uint8_t *buf, struct built *out)
{
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x02};
	uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint8_t saddr[16] = {}, daddr[16] = {}, proto = p->proto ? p->proto : IPPROTO_TCP;
	size_t off = 12, end, cut, len_end, i, pppoe_off = 0;
	uint16_t ethertype;
	bool v6 = false, dv6;
	int iplen;

	memset(out, 0, sizeof(*out));
	if (p->dmac && sscanf(p->dmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1],
			      &dmac[2], &dmac[3], &dmac[4], &dmac[5]) != 6)
		return -EINVAL;
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (i = 0; i < 3 && p->tpid[i]; i++) {
		put16(buf + off, p->tpid[i]);
		put16(buf + off + 2, p->tci[i]);
		off += 4;
	}
	if (p->src && parse_addr(p->src, saddr, &v6))
		return -EINVAL;
	if (p->dst && (parse_addr(p->dst, daddr, &dv6) || dv6 != v6))
		return -EINVAL;
	ethertype = p->ethertype ? p->ethertype : p->arp ? ETH_P_ARP : v6 ? ETH_P_IPV6 : ETH_P_IP;
	if (p->pppoe)
		ethertype = p->pppoe;
	put16(buf + off, ethertype);
	off += 2;
	if (p->pppoe) { /* RFC 2516: ver/type, code, session id, length (filled in below) */
		pppoe_off = off;
		buf[off] = p->pppoe_vt ? p->pppoe_vt : 0x11;
		buf[off + 1] = p->pppoe_code;
		put16(buf + off + 2, p->pppoe_sid);
		off += 6;
		if (p->pppoe == ETH_P_PPP_SES) {
			uint16_t ppp = p->ppp ? p->ppp & 0xffff : v6 ? 0x0057 : 0x0021;

			if (p->ppp & PPP_PFC)
				buf[off++] = ppp & 0xff;
			else {
				put16(buf + off, ppp);
				off += 2;
			}
		}
	}
	out->l3 = off;
	out->v6 = v6;

	if (p->l2len) {
		memset(buf + off, 0, p->l2len);
		memcpy(buf + off, p->l2hdr, p->l2len < 4 ? p->l2len : 4);
		end = off + p->l2len;
	} else if (p->arp) {
		/* Ethernet/IPv4 request: htype 1, ptype 0x0800, hlen 6, plen 4, op 1 */
		static const uint8_t arp[8] = {0, 1, 0x08, 0, 6, 4, 0, 1};

		memcpy(buf + off, arp, 8);
		memcpy(buf + off + 8, smac, 6);
		memcpy(buf + off + 14, saddr, 4);
		memset(buf + off + 18, 0, 6);
		memcpy(buf + off + 24, daddr, 4);
		end = off + 28;
	} else if (!v6) {
		uint8_t ihl = p->ihl ? p->ihl & 0x0f : 5;
		size_t hl = (size_t)ihl * 4;

		if (hl < 20)
			hl = 20; /* an IHL below 5 still gets a full header written */
		buf[off] = (p->ipver ? p->ipver : 4) << 4 | ihl;
		buf[off + 1] = 0;
		put16(buf + off + 4, 0x1234);
		put16(buf + off + 6, p->frag ? p->frag : IPV4_DF);
		buf[off + 8] = p->ttl ? p->ttl : 64;
		buf[off + 9] = proto;
		put16(buf + off + 10, 0);
		memcpy(buf + off + 12, saddr, 4);
		memcpy(buf + off + 16, daddr, 4);
		memset(buf + off + 20, 1, hl - 20); /* NOP options */
		out->l4 = off + hl;
		end = out->l4 + build_l4(p, buf + out->l4, proto);
	} else {
		size_t n = 0, x;

		for (n = 0; n < ARRAY_SIZE(p->ext) && p->ext[n].on; n++)
			;
		put16(buf + off, (p->ipver ? p->ipver : 6) << 12);
		put16(buf + off + 2, 0);
		buf[off + 6] = n ? p->ext[0].type : proto;
		buf[off + 7] = p->ttl ? p->ttl : 64;
		memcpy(buf + off + 8, saddr, 16);
		memcpy(buf + off + 24, daddr, 16);
		end = off + 40;
		for (x = 0; x < n; x++)
			end += build_ext6(&p->ext[x], x + 1 < n ? p->ext[x + 1].type : proto,
					  buf + end);
		out->l4 = end;
		end += build_l4(p, buf + end, proto);
	}

	/*
	 * The IP length describes the whole packet unless the fixture says otherwise: a cut
	 * frame then claims more than it holds; with fixlen it is a short packet whose length
	 * field ends where the frame does.
	 */
	if (p->cut && (p->cut < 0 || (size_t)p->cut < end)) {
		cut = p->cut < 0 ? 0 : p->cut;
		if (!p->fixlen)
			len_end = end;
		else
			len_end = cut;
	} else {
		cut = end;
		len_end = end;
	}
	if (p->pppoe)
		put16(buf + pppoe_off + 4, (int)(len_end - pppoe_off - 6) + p->pppoe_lendelta);
	if (!p->arp && !p->l2len) {
		size_t hdr = v6 ? 40 : 0;

		iplen = (int)(len_end - off) - (int)hdr + p->lendelta;
		if (p->iplen)
			iplen = p->iplen & 0xffff;
		put16(buf + off + (v6 ? 4 : 2), iplen);
		if (!v6)
			put16(buf + off + 10, ip_csum(buf + off, 20));
		out->iplen = (uint32_t)iplen + hdr;
	}
	end = cut;
	if (p->pad > 0 && (size_t)p->pad > end) {
		memset(buf + end, 0, p->pad - end);
		end = p->pad;
	}
	out->len = end;
	return 0;
}
