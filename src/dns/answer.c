/* answer.c -- the DNS core: parse, look up, copy a precomputed image, pick pool
 * members, add OPT. Everything here runs per query: no allocation, no lock. */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "dns/answer.h"

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define OPT_LEN 11

void answer_ctx_init(struct answer_ctx *ctx, uint64_t seed)
{
	memset(ctx, 0, sizeof(*ctx));
	pool_state_init(&ctx->pools, seed);
	ctx->udp_size = 1232;
}

void answer_ctx_clear(struct answer_ctx *ctx)
{
	pool_state_clear(&ctx->pools);
}

void answer_ctx_use(struct answer_ctx *ctx, const struct snapshot *s)
{
	if (s != ctx->seen) {
		pool_state_reserve(&ctx->pools, s->npools);
		ctx->udp_size = s->conf->udp_size;
		ctx->seen = s;
	}
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Header and question; returns the offset after the question. */
static size_t put_head(uint8_t *resp, const struct query *q, const uint8_t *pkt, uint8_t rcode,
		       bool aa)
{
	size_t n = DNS_HEADER_LEN;

	wr16(resp, q->id);
	/* QR, the opcode, AA, RD copied (RFC 1035 4.1.1); CD copied (RFC 6840 5.9). */
	resp[2] = (uint8_t)(0x80 | (q->flags1 & 0x78) | (aa ? 0x04 : 0) | (q->flags1 & 0x01));
	resp[3] = (uint8_t)((q->flags2 & 0x10) | (rcode & 0x0F));
	wr16(resp + 4, q->has_question ? 1 : 0);
	memset(resp + 6, 0, 6);
	if (q->has_question) {
		/* Copied from the query: the client's letter case survives. */
		memcpy(resp + n, pkt + n, q->question_end - n);
		n = q->question_end;
	}
	return n;
}

static size_t put_opt(uint8_t *p, const struct answer_ctx *ctx, const struct query *q,
		      uint8_t ext_rcode)
{
	p[0] = 0;
	wr16(p + 1, 41);
	wr16(p + 3, (uint16_t)ctx->udp_size);
	p[5] = ext_rcode;
	p[6] = 0; /* version 0 */
	p[7] = q->edns_do ? 0x80 : 0;
	p[8] = 0;
	wr16(p + 9, 0);
	return OPT_LEN;
}

/* A response with no records: errors, BADVERS, and what did not fit (TC). */
static size_t empty_response(struct answer_ctx *ctx, const struct query *q, const uint8_t *pkt,
			     uint8_t *resp, uint8_t rcode, bool aa, bool tc, bool with_opt)
{
	size_t n = put_head(resp, q, pkt, rcode, aa);

	if (tc) {
		resp[2] |= 0x02;
	}
	if (with_opt && q->edns) {
		n += put_opt(resp + n, ctx, q, (uint8_t)(rcode >> 4));
		wr16(resp + 10, 1);
		resp[3] = (uint8_t)((resp[3] & 0xF0) | (rcode & 0x0F));
	}
	return n;
}

static const struct image *chaos_image(const struct snapshot *s, const struct query *q)
{
	static const uint8_t version_bind[] = "\007version\004bind";
	static const uint8_t version_server[] = "\007version\006server";
	static const uint8_t id_server[] = "\002id\006server";
	static const uint8_t hostname_bind[] = "\010hostname\004bind";
	const struct image *img = NULL;

#define IS(name) (q->qname_len == sizeof(name) && memcmp(q->qname, name, sizeof(name)) == 0)
	if (IS(version_bind) || IS(version_server)) {
		img = s->chaos_version;
	} else if (IS(id_server) || IS(hostname_bind)) {
		img = s->chaos_id;
	}
#undef IS
	if (img && q->qtype != 16 && q->qtype != 255) {
		return s->chaos_nodata;
	}
	return img;
}

size_t answer_query(struct answer_ctx *ctx, const struct snapshot *s, const uint8_t *pkt,
		    size_t len, uint8_t *resp, size_t resp_size, bool tcp)
{
	struct query *q = &ctx->q;
	const struct image *img = NULL;
	const struct node *node;
	size_t limit, n, body, dyn = 0, opt;
	unsigned qlen;
	enum query_status st;

	assert(resp_size >= 512);
	st = query_parse(q, pkt, len);
	switch (st) {
	case QUERY_DROP:
		return 0;
	case QUERY_FORMERR:
		q->edns = false;
		return empty_response(ctx, q, pkt, resp, RCODE_FORMERR, false, false, false);
	case QUERY_NOTIMP:
		return empty_response(ctx, q, pkt, resp, RCODE_NOTIMP, false, false, true);
	case QUERY_BADVERS:
		return empty_response(ctx, q, pkt, resp, 16, false, false, true);
	case QUERY_OK:
		break;
	}

	switch (q->qclass) {
	case 1:
		break;
	case 3:
		img = chaos_image(s, q);
		if (!img) {
			return empty_response(ctx, q, pkt, resp, RCODE_REFUSED, false, false, true);
		}
		goto write;
	default:
		return empty_response(ctx, q, pkt, resp, RCODE_REFUSED, false, false, true);
	}
	switch (q->qtype) {
	case 41: /* OPT is no question */
		q->edns = false;
		return empty_response(ctx, q, pkt, resp, RCODE_FORMERR, false, false, false);
	case 251: /* IXFR */
	case 252: /* AXFR: no transfers configured */
		return empty_response(ctx, q, pkt, resp, RCODE_REFUSED, false, false, true);
	case 253: /* MAILB */
	case 254: /* MAILA */
		return empty_response(ctx, q, pkt, resp, RCODE_NOTIMP, false, false, true);
	default:
		break;
	}

	switch (snapshot_find(s, q->qname, q->label_off, q->nlabels, &node)) {
	case MATCH_NONE:
		return empty_response(ctx, q, pkt, resp, RCODE_REFUSED, false, false, true);
	case MATCH_EXACT:
		if (node_referral(node) && !(q->qtype == 43 && node_cut(node) == node)) {
			img = node_referral(node);
		} else {
			img = node_image(node, q->qtype);
		}
		break;
	case MATCH_WILDCARD:
		img = node_image(node, q->qtype);
		break;
	case MATCH_REFERRAL:
		img = node_referral(node);
		break;
	case MATCH_NXDOMAIN:
		img = node->zone->nxdomain;
		break;
	}
	if (!img) {
		return empty_response(ctx, q, pkt, resp, RCODE_SERVFAIL, false, false, true);
	}

write:
	qlen = q->qname_len;
	opt = q->edns ? OPT_LEN : 0;
	limit = tcp ? 65535 : (q->edns ? (q->edns_udp < ctx->udp_size ? q->edns_udp : ctx->udp_size) : 512);
	if (limit > resp_size) {
		limit = resp_size;
	}
	n = put_head(resp, q, pkt, img->rcode, img->aa);
	body = img->len;
	if (img->dyn) {
		/* The smallest tail the pool can give, for the size check; the
		 * real size is known once members are chosen. */
		dyn = img->dyn->qtype == 1 ? POOL_RR4_LEN : POOL_RR6_LEN;
	}
	if (n + body + dyn + opt > limit) {
		if (!img->glue_required && img->arcount && n + img->len_noadd + dyn + opt <= limit) {
			body = img->len_noadd; /* the additional section is optional */
		} else {
			/* RFC 2181 9: what must be there does not fit; set TC and
			 * let the client retry over TCP. */
			return empty_response(ctx, q, pkt, resp, img->rcode, img->aa, true, true);
		}
	}
	image_write(resp + n, img, body, qlen);
	wr16(resp + 6, img->ancount);
	wr16(resp + 8, img->nscount);
	wr16(resp + 10, body == img->len ? img->arcount : 0);
	n += body;
	if (img->dyn) {
		size_t w;
		int k;
		assert(img->len == img->len_noadd && img->nscount == 0);
		k = pool_write(resp + n, limit - n - opt, &w, img->dyn->pool, img->dyn->qtype,
			       image_ref_resolve(img->dyn->owner, qlen), &ctx->pools, s->health);
		if (k == POOL_NODATA && img->dyn->alt) {
			img = img->dyn->alt;
			goto write;
		}
		if (k == POOL_SERVFAIL || k == POOL_NODATA) {
			return empty_response(ctx, q, pkt, resp, RCODE_SERVFAIL, false, false, true);
		}
		if (k < 0) {
			return empty_response(ctx, q, pkt, resp, img->rcode, img->aa, true, true);
		}
		wr16(resp + 6, (uint16_t)(img->ancount + k));
		n += w;
	}
	if (q->edns) {
		n += put_opt(resp + n, ctx, q, 0);
		wr16(resp + 10, (uint16_t)((resp[10] << 8 | resp[11]) + 1));
	}
	return n;
}
