/* answer.c -- the DNS core: a query's way from bytes to a response, in small
 * named steps over a precomputed snapshot. Everything here runs per query: no
 * allocation, no lock, no I/O.
 *
 * The steps run in the order build() and finish() at the bottom give. A
 * build step may finish the response early (an error, a CHAOS answer, TC);
 * the finish steps run for every response that is sent. A new step (cookies
 * before the lookup, rate limiting after the response is known) is one
 * function and one line there. */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/conf.h"
#include "dns/answer.h"
#include "dns/answer_dnssec.h"
#include "dns/wire.h"

_Static_assert(CONF_COOKIE_SECRET_LEN == COOKIE_SECRET_LEN, "one secret size");
_Static_assert(CONF_NSID_MAX <= UINT16_MAX - DNS_EDNS_OPTION_HDR, "NSID fits an option");

/* Room for the COOKIE option we send: the client's cookie and ours. */
#define COOKIE_OPTION_LEN (DNS_EDNS_OPTION_HDR + DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN)

/* One query being answered: the request plus where its bytes go. */
struct job {
	struct answer_ctx *ctx;
	const struct snapshot *s;
	struct request *req;
	const uint8_t *pkt;
	size_t len;
	uint8_t *resp;
	size_t size;  /* room in resp */
	size_t limit; /* what the transport and the client allow */
	size_t n;     /* bytes of response written */
	size_t opt;   /* room the finish steps need for the OPT record */
	const struct image *img;
	const uint8_t *cookie; /* the server cookie to send (16 octets), or NULL */
};

/* A marker, never written: the query asks for DNSSEC records (DO=1). */
static const struct image dnssec_wanted;

enum step_result {
	STEP_NEXT = 0, /* go on with the next step */
	STEP_DONE,     /* the response is built: skip to the finish steps */
	STEP_DROP,     /* send nothing */
};

void answer_ctx_init(struct answer_ctx *ctx, uint64_t seed)
{
	memset(ctx, 0, sizeof(*ctx));
	pool_state_init(&ctx->pools, seed);
	ctx->udp_size = DNS_UDP_DEFAULT_EDNS;
	if (cookie_init() != 0) {
		abort(); /* libsodium cannot run here: no cookie could be made */
	}
	rrl_init(&ctx->rrl);
}

void answer_ctx_clear(struct answer_ctx *ctx)
{
	pool_state_clear(&ctx->pools);
}

/* Everything is taken again on every call, not only when the pointer
 * changed: a snapshot freed after a reload may leave its address to a later
 * one, and a worker idle over both reloads would see "the same" snapshot.
 * Per batch, this is a few loads and stores and one clock read. */
void answer_ctx_use(struct answer_ctx *ctx, const struct snapshot *s)
{
	struct timespec now;

	/* By serial as well: a thread idle through a reload may next see a new
	 * snapshot at the address of the one it last saw, freed since. */
	if (s != ctx->seen || s->serial != ctx->seen_serial) {
		const struct conf *c = s->conf;
		pool_state_reserve(&ctx->pools, s->npools);
		ctx->udp_size = c->udp_size;
		ctx->cookies.current = c->cookie_secret;
		ctx->cookies.previous = c->cookie_previous_set ? c->cookie_secret_previous : NULL;
		ctx->cookie_require = c->cookie_require;
		ctx->nsid = c->nsid_len ? c->nsid : NULL;
		ctx->nsid_len = (uint16_t)c->nsid_len;
		rrl_use(&ctx->rrl, s->rrl, c->rate_limit);
		ctx->ecs_enabled = c->edns_client_subnet;
		ctx->seen = s;
		ctx->seen_serial = s->serial;
	}
	/* RFC 9018 timestamps are seconds: the coarse clock (a few ms) is
	 * plenty, and one read serves the whole batch. */
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	ctx->now = (uint32_t)now.tv_sec;
	if (ctx->rrl.table) {
		rrl_tick(&ctx->rrl);
	}
}

/* --- writing ---------------------------------------------------------------- */

/* Header and question; returns the offset after the question. */
static size_t put_head(struct job *j, uint16_t rcode, bool aa)
{
	const struct query *q = &j->req->q;
	uint8_t *resp = j->resp;
	size_t n = DNS_HEADER_LEN;

	dns_wr16(resp + DNS_OFF_ID, q->id);
	/* QR, the opcode, AA, RD copied (RFC 1035 4.1.1); CD copied (RFC 6840 5.9). */
	resp[DNS_OFF_FLAGS1] = (uint8_t)(DNS_FLAG_QR | (q->flags1 & DNS_OPCODE_MASK) |
					 (aa ? DNS_FLAG_AA : 0) | (q->flags1 & DNS_FLAG_RD));
	resp[DNS_OFF_FLAGS2] = (uint8_t)((q->flags2 & DNS_FLAG_CD) | (rcode & DNS_RCODE_MASK));
	dns_wr16(resp + DNS_OFF_QDCOUNT, q->has_question ? 1 : 0);
	memset(resp + DNS_OFF_ANCOUNT, 0, 6);
	if (q->has_question) {
		/* Copied from the query: the client's letter case survives. */
		memcpy(resp + n, j->pkt + n, q->question_end - n);
		n = q->question_end;
	}
	j->req->rcode = rcode;
	return n;
}

/* A response with no records: errors, BADVERS, and what did not fit (TC).
 * Ends the build steps. */
static enum step_result respond_empty(struct job *j, uint16_t rcode, bool aa, bool tc,
				      enum response_kind kind)
{
	j->n = put_head(j, rcode, aa);
	if (tc) {
		j->resp[DNS_OFF_FLAGS1] |= DNS_FLAG_TC;
		j->req->truncated = true;
	}
	j->req->kind = kind;
	return STEP_DONE;
}

static void count_add(uint8_t *resp, size_t off, unsigned k)
{
	dns_wr16(resp + off, (uint16_t)(dns_rd16(resp + off) + k));
}

/* --- build steps ------------------------------------------------------------ */

/* RFC 7873 5.2 with RFC 9018's server cookies, for a query with a COOKIE
 * option: what its cookie is worth (req->cookie, req->cookie_valid) and
 * which server cookie the response carries (j->cookie): the one sent, while
 * it is ours and recent; else a fresh one. An invalid server cookie is
 * treated as no server cookie at all (5.2.4 -> 5.2.3). Without the client's
 * address (tests, explain) nothing can be checked or made. */
static void check_cookie(struct job *j)
{
	struct request *req = j->req;
	const struct query_cookie *c = &req->q.cookie;
	uint8_t ip[COOKIE_IP_MAX];
	size_t iplen;

	req->cookie = c->len == DNS_COOKIE_CLIENT_LEN ? COOKIE_CLIENT_ONLY : COOKIE_INVALID;
	iplen = cookie_client_ip(ip, req->client);
	if (iplen == 0) {
		return;
	}
	if (req->cookie == COOKIE_INVALID) {
		switch (cookie_check_memo(&j->ctx->cookie_memo, c->data, c->len, ip, iplen,
					  j->ctx->now, &j->ctx->cookies)) {
		case COOKIE_CHECK_GOOD:
			req->cookie = COOKIE_VALID;
			req->cookie_valid = true;
			j->cookie = c->data + DNS_COOKIE_CLIENT_LEN;
			return;
		case COOKIE_CHECK_RENEW:
			req->cookie = COOKIE_VALID;
			req->cookie_valid = true;
			break;
		case COOKIE_CHECK_BAD:
		default:
			break;
		}
	}
	cookie_make_memo(&j->ctx->cookie_memo, j->ctx->fresh, c->data, ip, iplen, j->ctx->now,
			 j->ctx->cookies.current);
	j->cookie = j->ctx->fresh;
}

/* Bytes -> req->q. A message without a usable header is dropped; a malformed
 * one gets FORMERR with no OPT (RFC 6891 7: we cannot trust what we parsed). */
static enum step_result step_parse(struct job *j)
{
	struct query *q = &j->req->q;

	switch (query_parse(q, j->pkt, j->len)) {
	case QUERY_DROP:
		return STEP_DROP;
	case QUERY_FORMERR:
		q->edns = false;
		return respond_empty(j, DNS_RCODE_FORMERR, false, false, RESPONSE_ERROR);
	case QUERY_NOTIMP:
		if (q->cookie.present) {
			check_cookie(j); /* errors bring the client its cookie too */
		}
		return respond_empty(j, DNS_RCODE_NOTIMP, false, false, RESPONSE_ERROR);
	case QUERY_BADVERS:
		return respond_empty(j, DNS_RCODE_BADVERS, false, false, RESPONSE_ERROR);
	case QUERY_OK:
	default:
		break;
	}
	/* RFC 6891 6.2.3-6.2.5: UDP answers fit the smaller of the client's
	 * size and ours; 512 octets without EDNS. */
	if (j->req->transport == TRANSPORT_TCP) {
		j->limit = DNS_TCP_MAX;
	} else if (q->edns) {
		j->limit = q->edns_udp < j->ctx->udp_size ? q->edns_udp : j->ctx->udp_size;
	} else {
		j->limit = DNS_UDP_MIN;
	}
	if (j->limit > j->size) {
		j->limit = j->size;
	}
	j->opt = 0;
	if (q->edns) {
		if (__builtin_expect(q->edns_do, 0)) {
			j->img = &dnssec_wanted; /* step_lookup: signed, if the zone is */
		}
		j->opt = DNS_OPT_FIXED_LEN;
		if (q->nsid && j->ctx->nsid) {
			j->opt += DNS_EDNS_OPTION_HDR + j->ctx->nsid_len;
		}
		if (q->cookie.present) {
			j->opt += COOKIE_OPTION_LEN;
		}
		if (q->ecs.present) {
			/* RFC 7871 7.2.1: echoed, with the address as sent. */
			j->opt += DNS_EDNS_OPTION_HDR + DNS_ECS_FIXED_LEN +
				  (q->ecs.source_prefix + 7u) / 8u;
			j->req->ecs_apply = j->ctx->ecs_enabled;
			j->req->ecs_scope = 0;
		}
	}
	return STEP_NEXT;
}

/* Cookies act before the filter (which needs a question) and the lookup.
 * By default every query is answered and the cookie only comes along (RFC
 * 7873 5.2.3 (3)); with cookie_require, a UDP query whose cookie did not
 * verify gets BADCOOKIE instead (5.2.3 (2)), its fresh cookie, no records,
 * and TC so that a client that does not retry with the cookie retries over
 * TCP. Over TCP the connection already proves the address: answered (5.2.3).
 * Queries without a COOKIE option are answered as by a server without
 * cookies (5.2.1). */
static enum step_result step_cookie(struct job *j)
{
	if (!j->req->q.cookie.present) {
		return STEP_NEXT; /* the common case: one load and a branch */
	}
	check_cookie(j);
	if (!j->req->q.has_question) {
		/* RFC 7873 5.4: a query without a question (the parser lets one
		 * through only with a COOKIE option) asks for a cookie: NOERROR,
		 * or BADCOOKIE when the server cookie it brought is not valid. */
		bool bad = j->req->cookie == COOKIE_INVALID;
		return respond_empty(j, bad ? DNS_RCODE_BADCOOKIE : DNS_RCODE_NOERROR, false,
				     false, bad ? RESPONSE_ERROR : RESPONSE_NODATA);
	}
	if (j->ctx->cookie_require && !j->req->cookie_valid && j->cookie &&
	    j->req->transport == TRANSPORT_UDP) {
		return respond_empty(j, DNS_RCODE_BADCOOKIE, false, true, RESPONSE_ERROR);
	}
	return STEP_NEXT;
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
	if (img && q->qtype != DNS_TYPE_TXT && q->qtype != DNS_TYPE_ANY) {
		return s->chaos_nodata;
	}
	return img;
}

/* What is refused before any lookup: classes other than IN (CHAOS names
 * aside), meta types, transfers. */
static enum step_result step_filter(struct job *j)
{
	const struct query *q = &j->req->q;
	uint8_t rcode;

	switch (q->qclass) {
	case DNS_CLASS_IN:
		break;
	case DNS_CLASS_CH:
		j->img = chaos_image(j->s, q);
		if (!j->img) {
			return respond_empty(j, DNS_RCODE_REFUSED, false, false, RESPONSE_REFUSED);
		}
		return STEP_NEXT; /* the lookup step leaves a chosen image alone */
	default:
		return respond_empty(j, DNS_RCODE_REFUSED, false, false, RESPONSE_REFUSED);
	}
	rcode = answer_type_rcode(q->qtype);
	if (rcode == DNS_RCODE_NOERROR) {
		return STEP_NEXT;
	}
	if (q->qtype == DNS_TYPE_OPT) {
		j->req->q.edns = false; /* the FORMERR trusts no OPT */
	}
	return respond_empty(j, rcode, false, false,
			     rcode == DNS_RCODE_REFUSED ? RESPONSE_REFUSED : RESPONSE_ERROR);
}

static inline const struct image *lookup(const struct snapshot *s, const struct query *q,
					 enum match_kind *kind, const struct node **node)
{
	const struct node *n;

	*kind = snapshot_find(s, q->qname, q->label_off, q->nlabels, &n);
	*node = n;
	switch (*kind) {
	case MATCH_NONE:
		return NULL;
	case MATCH_EXACT:
	case MATCH_WILDCARD:
		/* Every type the name answers differently has its own image,
		 * referrals and the DS of a delegation included (resolve.c
		 * decides, snapshot.c writes): nothing is left to decide here. */
		return node_image(n, q->qtype);
	case MATCH_REFERRAL:
		return node_referral(n);
	case MATCH_NXDOMAIN:
	default:
		return n->zone->nxdomain;
	}
}

const struct image *answer_lookup(const struct snapshot *s, const struct query *q,
				  enum match_kind *kind, const struct node **node)
{
	return lookup(s, q, kind, node);
}

/* DO=1 for a signed zone: the records with their RRSIGs and NSEC proofs
 * (answer_dnssec.c). Out of line; step_parse marks such a query by setting
 * j->img to &dnssec_wanted, so that a query without EDNS pays nothing and
 * one with EDNS but DO=0 one test (contrib/bench/instructions.py). */
__attribute__((noinline)) static enum step_result step_dnssec(struct job *j)
{
	struct dnssec_out o;
	size_t start = j->req->q.has_question ? j->req->q.question_end : DNS_HEADER_LEN;

	if (!j->s->dnssec || j->limit < start + j->opt ||
	    !answer_dnssec(&o, j->s, j->req, &j->ctx->pools, j->resp, start, j->limit - j->opt)) {
		return STEP_NEXT;
	}
	if (o.tc) {
		return respond_empty(j, o.rcode, o.aa, true, o.kind);
	}
	j->n = put_head(j, o.rcode, o.aa);
	j->n = o.n;
	dns_wr16(j->resp + DNS_OFF_ANCOUNT, o.count[0]);
	dns_wr16(j->resp + DNS_OFF_NSCOUNT, o.count[1]);
	dns_wr16(j->resp + DNS_OFF_ARCOUNT, o.count[2]);
	j->req->kind = o.kind;
	return STEP_DONE;
}

static enum step_result step_lookup(struct job *j)
{
	enum match_kind kind;
	const struct node *node;

	if (j->img) {
		if (j->img != &dnssec_wanted) {
			return STEP_NEXT; /* chosen before the lookup (CHAOS) */
		}
		j->img = NULL;
		enum step_result r = step_dnssec(j);
		if (r != STEP_NEXT) {
			return r; /* else a zone we do not sign: answered as DO=0 */
		}
	}
	j->img = lookup(j->s, &j->req->q, &kind, &node);
	j->req->node = node; /* what rate limiting names the response by */
	if (j->img) {
		return STEP_NEXT;
	}
	if (kind == MATCH_NONE) {
		return respond_empty(j, DNS_RCODE_REFUSED, false, false, RESPONSE_REFUSED);
	}
	return respond_empty(j, DNS_RCODE_SERVFAIL, false, false, RESPONSE_ERROR);
}

static enum response_kind kind_of(const struct image *img, unsigned ancount)
{
	if (img->rcode == DNS_RCODE_NXDOMAIN) {
		return RESPONSE_NXDOMAIN;
	}
	if (img->rcode != DNS_RCODE_NOERROR) {
		return RESPONSE_ERROR;
	}
	if (!img->aa) {
		return RESPONSE_REFERRAL;
	}
	return ancount ? RESPONSE_ANSWER : RESPONSE_NODATA;
}

/* The members of the pools named by the NS, MX or SRV records of the
 * answer, after the image in the additional section: what fits of them, RRset
 * by RRset; the rest is left out without TC, as the image's own additional
 * records are (RFC 2181 9). Out of line: inlined, it cost every other answer
 * a few instructions (contrib/bench/instructions.py). */
__attribute__((noinline)) static void write_extra(struct job *j, const struct image_dyn *d)
{
	static const uint16_t qtypes[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	unsigned qlen = j->req->q.qname_len;

	for (unsigned i = 0; i < d->nextra; i++) {
		for (unsigned t = 0; t < 2; t++) {
			size_t w;
			int k = pool_write_additional(j->resp + j->n, j->limit - j->n - j->opt, &w,
						      d->extra[i].pool, qtypes[t],
						      image_ref_resolve(d->extra[i].owner, qlen),
						      &j->ctx->pools, j->s->health, j->req);
			if (k > 0) {
				count_add(j->resp, DNS_OFF_ARCOUNT, (unsigned)k);
				j->n += w;
			}
		}
	}
}

/* The chosen image, then the pool's records if it ends in a pool, or the
 * members of pools its records name. The "nodata" last resort swaps in the
 * image's NODATA variant and writes again. */
static enum step_result step_write(struct job *j)
{
	const struct image *img = j->img;
	unsigned qlen = j->req->q.qname_len;

	for (;;) {
		size_t n = put_head(j, img->rcode, img->aa);
		size_t body = img->len, dyn = 0, w;
		int k;

		if (img->dyn && img->dyn->pool) {
			/* The smallest tail the pool can give, for the size check;
			 * the real size is known once members are chosen. */
			dyn = img->dyn->qtype == DNS_TYPE_A ? POOL_RR4_LEN : POOL_RR6_LEN;
		}
		if (n + body + dyn + j->opt > j->limit) {
			if (!img->glue_required && img->arcount &&
			    n + img->len_noadd + dyn + j->opt <= j->limit) {
				body = img->len_noadd; /* the additional section is optional */
			} else {
				/* RFC 2181 9: what must be there does not fit; set
				 * TC and let the client retry over TCP. Counted as
				 * the kind the whole response would have been. */
				return respond_empty(j, img->rcode, img->aa, true,
						     kind_of(img, img->ancount + (img->dyn != NULL)));
			}
		}
		image_write(j->resp + n, img, body, qlen);
		dns_wr16(j->resp + DNS_OFF_ANCOUNT, img->ancount);
		dns_wr16(j->resp + DNS_OFF_NSCOUNT, img->nscount);
		dns_wr16(j->resp + DNS_OFF_ARCOUNT, body == img->len ? img->arcount : 0);
		n += body;
		j->n = n;
		j->req->kind = kind_of(img, img->ancount);
		if (!img->dyn) {
			return STEP_NEXT;
		}
		if (!img->dyn->pool) {
			write_extra(j, img->dyn);
			return STEP_NEXT;
		}
		assert(img->len == img->len_noadd && img->nscount == 0);
		k = pool_write(j->resp + n, j->limit - n - j->opt, &w, img->dyn->pool,
			       img->dyn->qtype, image_ref_resolve(img->dyn->owner, qlen),
			       &j->ctx->pools, j->s->health, j->req);
		if (k == POOL_NODATA && img->dyn->alt) {
			img = img->dyn->alt;
			continue;
		}
		if (k == POOL_SERVFAIL || k == POOL_NODATA) {
			return respond_empty(j, DNS_RCODE_SERVFAIL, false, false, RESPONSE_ERROR);
		}
		if (k < 0) {
			return respond_empty(j, img->rcode, img->aa, true, kind_of(img, 1));
		}
		count_add(j->resp, DNS_OFF_ANCOUNT, (unsigned)k);
		j->n += w;
		j->req->kind = kind_of(img, img->ancount + (unsigned)k);
		return STEP_NEXT;
	}
}

/* --- finish steps ------------------------------------------------------------ */

/* RFC 6891 6.1: our OPT, when the query had one: our UDP size, the upper bits
 * of the rcode, the DO bit echoed (RFC 3225), and the options the query asked
 * for, in every kind of response: NSID (RFC 5001 2.3), COOKIE (RFC 7873
 * 5.2) and CLIENT-SUBNET (RFC 7871 7.2.1). Their room was reserved in step_parse. A BADVERS response carries
 * none: the query's options were meant for a version we do not speak. */
static enum step_result step_edns(struct job *j)
{
	const struct query *q = &j->req->q;
	uint8_t *p = j->resp + j->n;
	size_t o = DNS_OPT_FIXED_LEN;

	if (!q->edns) {
		return STEP_NEXT;
	}
	p[0] = 0; /* root owner */
	dns_wr16(p + 1, DNS_TYPE_OPT);
	dns_wr16(p + 3, (uint16_t)j->ctx->udp_size);
	p[5] = (uint8_t)(j->req->rcode >> 4);
	p[6] = DNS_EDNS_VERSION;
	dns_wr16(p + 7, q->edns_do ? DNS_EDNS_FLAG_DO : 0);
	if (j->req->rcode != DNS_RCODE_BADVERS) {
		if (q->nsid && j->ctx->nsid) {
			dns_wr16(p + o, DNS_EDNS_NSID);
			dns_wr16(p + o + 2, j->ctx->nsid_len);
			memcpy(p + o + DNS_EDNS_OPTION_HDR, j->ctx->nsid, j->ctx->nsid_len);
			o += DNS_EDNS_OPTION_HDR + j->ctx->nsid_len;
		}
		if (j->cookie) {
			dns_wr16(p + o, DNS_EDNS_COOKIE);
			dns_wr16(p + o + 2, DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN);
			memcpy(p + o + DNS_EDNS_OPTION_HDR, q->cookie.data, DNS_COOKIE_CLIENT_LEN);
			memcpy(p + o + DNS_EDNS_OPTION_HDR + DNS_COOKIE_CLIENT_LEN, j->cookie,
			       DNS_COOKIE_V1_LEN);
			o += COOKIE_OPTION_LEN;
		}
		if (q->ecs.present) {
			/* RFC 7871 7.2.1: family, source prefix and address copied;
			 * the scope is the prefix that decided a location answer
			 * (lb/policy_geo.c), 0 for any other response: negative
			 * ones too, even a last resort's NODATA that only some
			 * clients get, as resolvers cache those for everyone
			 * anyway (RFC 7871 7.4). */
			unsigned alen = (q->ecs.source_prefix + 7u) / 8u;
			dns_wr16(p + o, DNS_EDNS_CLIENT_SUBNET);
			dns_wr16(p + o + 2, (uint16_t)(DNS_ECS_FIXED_LEN + alen));
			dns_wr16(p + o + 4, q->ecs.family);
			p[o + 6] = q->ecs.source_prefix;
			p[o + 7] = j->req->kind == RESPONSE_ANSWER ? j->req->ecs_scope : 0;
			memcpy(p + o + DNS_EDNS_OPTION_HDR + DNS_ECS_FIXED_LEN, q->ecs.addr, alen);
			o += DNS_EDNS_OPTION_HDR + DNS_ECS_FIXED_LEN + alen;
		}
	}
	assert(j->n + o <= j->size);
	dns_wr16(p + 9, (uint16_t)(o - DNS_OPT_FIXED_LEN));
	j->n += o;
	count_add(j->resp, DNS_OFF_ARCOUNT, 1);
	return STEP_NEXT;
}

/* Response rate limiting (dns/rrl.c), over UDP: a response over its bucket's
 * rate is dropped, or sent truncated every slip-th time so that a real client
 * retries over TCP. It runs before the OPT is written, so a truncated one
 * still carries our OPT (and whatever options step_edns adds). */
static enum step_result step_rate_limit(struct job *j)
{
	struct request *req = j->req;

	if (!j->ctx->rrl.table || req->transport != TRANSPORT_UDP) {
		return STEP_NEXT;
	}
	switch (rrl_check(&j->ctx->rrl, req)) {
	case RATE_DROPPED:
		return STEP_DROP;
	case RATE_SLIPPED:
		/* Header and question, the rcode and AA it had, TC. */
		respond_empty(j, req->rcode, j->resp[DNS_OFF_FLAGS1] & DNS_FLAG_AA, true,
			      req->kind);
		return STEP_NEXT;
	default:
		return STEP_NEXT;
	}
}

/* --- the path ---------------------------------------------------------------- */

/* The steps, in order. Written out rather than looped over through function
 * pointers so that the compiler inlines them into one function: the path
 * costs what the work costs. A step joins with one line here. */
static inline enum step_result build(struct job *j)
{
	enum step_result r;

	if ((r = step_parse(j)) != STEP_NEXT) { /* bytes -> question, EDNS options */
		return r;
	}
	if ((r = step_cookie(j)) != STEP_NEXT) { /* RFC 7873: checked, made; BADCOOKIE */
		return r;
	}
	if ((r = step_filter(j)) != STEP_NEXT) { /* class, opcode, meta types; CHAOS */
		return r;
	}
	if ((r = step_lookup(j)) != STEP_NEXT) { /* name -> precomputed image */
		return r;
	}
	return step_write(j); /* header, image, pool records */
}

static inline enum step_result finish(struct job *j)
{
	enum step_result r;

	if ((r = step_rate_limit(j)) != STEP_NEXT) { /* the response is known: limit it */
		return r;
	}
	return step_edns(j); /* OPT and its options */
}

size_t answer_query(struct answer_ctx *ctx, const struct snapshot *s, struct request *req,
		    const uint8_t *pkt, size_t len, uint8_t *resp, size_t resp_size)
{
	struct job j = { ctx, s, req, pkt, len, resp, resp_size, DNS_UDP_MIN, 0, 0, NULL, NULL };

	assert(resp_size >= DNS_UDP_MIN);
	request_reset(req);
	if (build(&j) == STEP_DROP || finish(&j) == STEP_DROP) {
		req->kind = RESPONSE_DROPPED;
		return 0;
	}
	return j.n;
}
