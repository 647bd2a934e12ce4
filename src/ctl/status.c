/* status.c -- `status` and `stats`: text for people, JSON (jansson) for
 * programs, both from one walk. Health comes from copies made by health.c;
 * who is up comes from the same words the answer path reads. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl/status.h"
#include "dnssec/dnssec.h"
#include "daemon/stats.h"
#include "data/conf.h"
#include "dnstap/dnstap.h"
#include "lb/steer.h"
#include "dns/wire.h"
#include "util/mem.h"
#include "util/utf8.h"

/* --- member views ------------------------------------------------------------ */

static bool member_up(struct health_table *t, const struct pool *p, const struct pool_family *f,
		      unsigned i)
{
	return !p->checked || !t || health_member_up(t, f->hword[i], f->aword[i]);
}

void status_member_view(struct member_view *mv, struct health_table *t, const struct pool *p,
			const struct pool_family *f, unsigned i)
{
	struct health_info a;

	memset(mv, 0, sizeof(*mv));
	mv->address = f->text[i];
	mv->up = member_up(t, p, f, i);
	mv->always = true;
	if (!t) {
		return;
	}
	mv->known = health_info_by_word(t, f->hword[i], &mv->h);
	if (health_info_by_word(t, f->aword[i], &a) && a.is_admin) {
		mv->admin = a.admin;
	}
	mv->always = !mv->known || mv->h.always;
}

unsigned status_family_up(struct health_table *t, const struct pool *p, const struct pool_family *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->n; i++) {
		n += member_up(t, p, f, i);
	}
	return n;
}

const char *status_family_state(const struct pool_explain *ex, const struct pool_family *f,
				unsigned up)
{
	if (f->n == 0) {
		return "empty";
	}
	if (ex->from_backup) {
		return "backup";
	}
	if (ex->last_resort) {
		return "last-resort";
	}
	return up == f->n ? "healthy" : "degraded";
}

const char *status_admin_name(enum health_admin a)
{
	switch (a) {
	case ADMIN_DRAINED:
		return "drained";
	case ADMIN_FORCED_UP:
		return "forced-up";
	case ADMIN_NONE:
	default:
		return "none";
	}
}

const char *status_last_resort_name(enum last_resort r)
{
	switch (r) {
	case LAST_RESORT_NODATA:
		return "nodata";
	case LAST_RESORT_SERVFAIL:
		return "servfail";
	case LAST_RESORT_FAIL_OPEN:
	default:
		return "fail-open";
	}
}

static const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

/* --- JSON helpers ---------------------------------------------------------------- */

/* A JSON string, or null. Reasons can carry a backend's bytes and jansson
 * refuses invalid UTF-8, so invalid sequences become U+FFFD first: the
 * document is always valid JSON. */
static json_t *jstr(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	struct sbuf clean;
	size_t n;
	json_t *j;

	if (!str) {
		return json_null();
	}
	if ((j = json_string(str))) {
		return j;
	}
	n = strlen(str);
	sb_init(&clean);
	for (size_t i = 0; i < n;) {
		size_t l = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
		if (l) {
			sb_append(&clean, str + i, l);
			i += l;
		} else {
			sb_append(&clean, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	j = json_stringn(clean.p, clean.len);
	sb_clear(&clean);
	return j ? j : json_null();
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

static json_t *jtime(double t)
{
	char buf[40];

	return t > 0 ? jstr(sb_iso_time(buf, sizeof(buf), t)) : json_null();
}

static void dump_json(struct sbuf *out, json_t *root)
{
	char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12));

	if (text) {
		sb_printf(out, "%s\n", text);
		free(text);
	}
	json_decref(root);
}

/* --- status ---------------------------------------------------------------------- */

/* One line per family: who answers and with which TTL. */
static void text_family(struct sbuf *out, struct health_table *t, const struct pool *p,
			uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	const char *fam = qtype == DNS_TYPE_A ? "A" : "AAAA";
	struct pool_explain ex;
	unsigned up;

	if (f->n == 0) {
		sb_printf(out, "  %s: no members (NODATA)\n", fam);
		return;
	}
	pool_explain(&ex, p, qtype, t);
	up = status_family_up(t, p, f);
	if (ex.from_backup) {
		sb_printf(out,
			  "  %s: failed, %u of %u up (min_healthy %u); answered from backup %s "
			  "(%u up), ttl %u\n",
			  fam, up, f->n, p->min_healthy, ex.answered->name, ex.up, ex.ttl);
	} else if (ex.last_resort) {
		sb_printf(out, "  %s: failed, %u of %u up (min_healthy %u)%s; last resort %s", fam,
			  up, f->n, p->min_healthy, p->backup ? ", backups failed too" : "",
			  status_last_resort_name(p->last_resort));
		if (ex.answered) {
			sb_printf(out, ": every member answered, ttl %u\n", ex.ttl);
		} else {
			sb_printf(out, "\n");
		}
	} else {
		sb_printf(out, "  %s: %s, %u of %u up, ttl %u\n", fam,
			  status_family_state(&ex, f, up), up, f->n, ex.ttl);
	}
}

static void text_member(struct sbuf *out, const struct member_view *mv)
{
	const struct health_info *h = &mv->h;
	char tbuf[40], rbuf[HEALTH_REASON_MAX];

	sb_printf(out, "  member %s: %s; ", mv->address, mv->up ? "up" : "down");
	if (!mv->known) {
		sb_printf(out, "health up, admin %s; check none\n", status_admin_name(mv->admin));
		return;
	}
	sb_printf(out, "health %s, admin %s; ", h->state == HEALTH_UP ? "up" : "down",
		  status_admin_name(mv->admin));
	if (mv->always) {
		sb_printf(out, "check none\n");
		return;
	}
	sb_printf(out, "check %s (%s %s); ", h->check, h->kind, h->target);
	if (h->probed) {
		sb_printf(out, "last probe %s (%s) %.1f ms; ", h->last_ok ? "ok" : "failed",
			  sb_printable(rbuf, sizeof(rbuf), h->reason), h->latency_ms);
	} else {
		sb_printf(out, "last probe none; ");
	}
	sb_printf(out, "count %u; changed %s\n", h->count, sb_iso_time(tbuf, sizeof(tbuf), h->changed));
}

static json_t *json_family(struct health_table *t, const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	struct pool_explain ex;
	unsigned up = status_family_up(t, p, f);

	pool_explain(&ex, p, qtype, t);
	return json_pack("{s:i, s:i, s:s, s:o, s:b, s:b, s:i}", "members", (json_int_t)f->n, "up",
			 (json_int_t)up, "state", status_family_state(&ex, f, up), "answered_by",
			 jstr(ex.answered ? ex.answered->name : NULL), "from_backup",
			 ex.from_backup, "last_resort", ex.last_resort, "ttl", (json_int_t)ex.ttl);
}

static json_t *json_member(const struct member_view *mv, const char *family)
{
	const struct health_info *h = &mv->h;
	json_t *m = json_pack("{s:o, s:s, s:s, s:s, s:s}", "address", jstr(mv->address), "family",
			      family, "state", mv->up ? "up" : "down", "health",
			      !mv->known || h->state == HEALTH_UP ? "up" : "down", "admin",
			      status_admin_name(mv->admin));

	if (!mv->known || mv->always) {
		json_object_set_new(m, "check", json_null());
		json_object_set_new(m, "kind", json_string("none"));
		json_object_set_new(m, "target", json_null());
		json_object_set_new(m, "last_probe", json_null());
		json_object_set_new(m, "reason", json_null());
		json_object_set_new(m, "latency_ms", json_null());
		json_object_set_new(m, "probed_at", json_null());
		json_object_set_new(m, "count", json_integer(mv->known ? h->count : 0));
		json_object_set_new(m, "changed", json_null());
		return m;
	}
	json_object_set_new(m, "check", jstr(h->check));
	json_object_set_new(m, "kind", jstr(h->kind));
	json_object_set_new(m, "target", jstr(h->target));
	json_object_set_new(m, "last_probe",
			    h->probed ? json_string(h->last_ok ? "ok" : "failed") : json_null());
	json_object_set_new(m, "reason", h->probed ? jstr(h->reason) : json_null());
	json_object_set_new(m, "latency_ms", h->probed ? jnum(h->latency_ms) : json_null());
	json_object_set_new(m, "probed_at", h->probed ? jtime(h->last_probe) : json_null());
	json_object_set_new(m, "count", json_integer(h->count));
	json_object_set_new(m, "changed", jtime(h->changed));
	return m;
}

/* dnstap: where it writes, whether that is open, and what it logs. */
static const char *dnstap_logs(const struct conf_dnstap *c)
{
	return c->log_queries && c->log_responses ? "queries and responses"
	       : c->log_queries			  ? "queries"
						  : "responses";
}

static json_t *json_dnstap(const struct snapshot *s)
{
	const struct conf_dnstap *c = s->conf->dnstap;

	if (!c || !s->dnstap) {
		return json_null();
	}
	return json_pack("{s:s, s:b, s:i, s:b, s:b}", "destination", dnstap_destination(s->dnstap),
			 "connected", dnstap_connected(s->dnstap), "sample", (int)c->sample,
			 "log_queries", c->log_queries, "log_responses", c->log_responses);
}

static void text_dnstap(struct sbuf *out, const struct snapshot *s)
{
	const struct conf_dnstap *c = s->conf->dnstap;

	if (!c || !s->dnstap) {
		return;
	}
	sb_printf(out, "dnstap: %s (%s), %s, one query in %u\n", dnstap_destination(s->dnstap),
		  dnstap_connected(s->dnstap) ? "open" : "not open", dnstap_logs(c), c->sample);
}

/* Signed zones: when their signatures were made and run out, and when
 * gslbd signs again (a rebuild). JSON: an array, or NULL without any. */
static json_t *status_dnssec(struct sbuf *out, const struct snapshot *s, bool json)
{
	json_t *zones = NULL;
	char a[40], b[40], c[40];

	for (size_t i = 0; i < s->nzones; i++) {
		const struct dnssec_zone *dz = s->zones[i].dnssec;
		const char *origin = s->conf->zones[i].origin;
		if (!dz) {
			continue;
		}
		if (json) {
			zones = zones ? zones : json_array();
			json_array_append_new(zones, json_pack("{s:s, s:o, s:o, s:o, s:i}", "zone", origin,
							       "inception", jtime(dz->inception),
							       "expiration", jtime(dz->expiration),
							       "resign_at", jtime(dz->resign_at),
							       "nsec_names", (json_int_t)dz->nchain));
		} else {
			sb_printf(out, "zone %s: signed, signatures from %s to %s, signed again at %s\n",
				  origin, sb_iso_time(a, sizeof(a), dz->inception),
				  sb_iso_time(b, sizeof(b), dz->expiration),
				  sb_iso_time(c, sizeof(c), dz->resign_at));
		}
	}
	return zones;
}

/* --- weights ------------------------------------------------------------------- */

/* A member's weights: what the config, the backend and the operator say, and
 * the share of its family's answers the published weights give it now. */
struct weight_view {
	uint32_t configured;
	unsigned reported;  /* percent */
	bool agent_drain;
	int32_t runtime;    /* -1: none */
	double drain_until; /* 0: none */
	double ramp_start;  /* 0: not ramping */
	double share;       /* 0..1 of the family's answers while the pool answers */
};

static void weight_view(struct weight_view *wv, struct health_table *t, const struct pool *p,
			const struct pool_family *f, unsigned i)
{
	const struct pool_weights *w = pool_weights_get(f);
	struct health_info h;
	double sum = 0;

	memset(wv, 0, sizeof(*wv));
	wv->configured = f->weight[i];
	wv->reported = 100;
	wv->runtime = -1;
	if (t && health_info_by_word(t, f->hword[i], &h) && !h.is_admin) {
		wv->reported = h.reported;
		wv->agent_drain = h.agent_drain;
	}
	if (t && health_info_by_word(t, f->aword[i], &h) && h.is_admin) {
		wv->runtime = h.runtime;
		wv->drain_until = h.admin == ADMIN_DRAINED ? h.drain_until : 0;
		wv->ramp_start = h.ramp_start;
	}
	if (!member_up(t, p, f, i)) {
		return;
	}
	for (unsigned j = 0; j < f->n; j++) {
		sum += member_up(t, p, f, j) ? w->weight[j] : 0;
	}
	wv->share = sum > 0 ? w->weight[i] / sum : 0;
}

static void text_weight(struct sbuf *out, const struct weight_view *wv)
{
	char tbuf[40];

	sb_printf(out, "    weight: configured %u, reported %u%%%s, runtime ", wv->configured,
		  wv->reported, wv->agent_drain ? " (drain)" : "");
	if (wv->runtime >= 0) {
		sb_printf(out, "%d", (int)wv->runtime);
	} else {
		sb_printf(out, "none");
	}
	sb_printf(out, ", effective %.1f%% of answers", wv->share * 100);
	if (wv->ramp_start) {
		sb_printf(out, "; slow start since %s", sb_iso_time(tbuf, sizeof(tbuf), wv->ramp_start));
	}
	if (wv->drain_until) {
		sb_printf(out, "; drained until %s", sb_iso_time(tbuf, sizeof(tbuf), wv->drain_until));
	}
	sb_printf(out, "\n");
}

static json_t *json_weight(const struct weight_view *wv)
{
	return json_pack("{s:i, s:i, s:b, s:o, s:o, s:o, s:o}", "configured",
			 (json_int_t)wv->configured, "reported", (json_int_t)wv->reported,
			 "agent_drain", wv->agent_drain, "runtime",
			 wv->runtime >= 0 ? json_integer(wv->runtime) : json_null(), "effective_share",
			 jnum(wv->share), "slow_start_since", jtime(wv->ramp_start), "drained_until",
			 jtime(wv->drain_until));
}

void status_render(struct sbuf *out, const struct snapshot *s, struct health_table *t, bool json)
{
	status_render_steer(out, s, t, NULL, json);
}

void status_render_steer(struct sbuf *out, const struct snapshot *s, struct health_table *t,
			 const struct steer *steer, bool json)
{
	json_t *pools = json ? json_array() : NULL;

	for (size_t i = 0; i < s->npools; i++) {
		const struct pool *p = &s->pools[i];
		json_t *members = json ? json_array() : NULL;
		if (json) {
			json_t *jp = json_pack(
			    "{s:o, s:s, s:i, s:i, s:i, s:o, s:s, s:{s:o, s:o}}", "name", jstr(p->name),
			    "policy", pool_policy_name(p), "ttl", (json_int_t)p->ttl, "ttl_degraded",
			    (json_int_t)p->ttl_degraded, "min_healthy", (json_int_t)p->min_healthy,
			    "backup", jstr(p->backup ? p->backup->name : NULL), "last_resort",
			    status_last_resort_name(p->last_resort), "families", "A",
			    json_family(t, p, DNS_TYPE_A), "AAAA", json_family(t, p, DNS_TYPE_AAAA));
			json_object_set_new(jp, "members", members);
			json_t *shift = steer_shift_json(steer, p);
			json_object_set_new(jp, "shift", shift ? shift : json_null());
			json_array_append_new(pools, jp);
		} else {
			sb_printf(out,
				  "pool %s: policy %s, ttl %u, ttl_degraded %u, min_healthy %u, "
				  "backup %s, last_resort %s\n",
				  p->name, pool_policy_name(p), p->ttl, p->ttl_degraded,
				  p->min_healthy, p->backup ? p->backup->name : "none",
				  status_last_resort_name(p->last_resort));
			text_family(out, t, p, DNS_TYPE_A);
			text_family(out, t, p, DNS_TYPE_AAAA);
			steer_shift_text(steer, p, out);
		}
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			for (unsigned k = 0; k < f->n; k++) {
				struct member_view mv;
				struct weight_view wv;
				status_member_view(&mv, t, p, f, k);
				weight_view(&wv, t, p, f, k);
				if (json) {
					json_t *m = json_member(&mv, fi == 0 ? "A" : "AAAA");
					json_object_set_new(m, "weight", json_weight(&wv));
					json_array_append_new(members, m);
				} else {
					text_member(out, &mv);
					text_weight(out, &wv);
				}
			}
		}
	}
	if (json) {
		json_t *root = json_pack("{s:o}", "pools", pools);
		json_object_set_new(root, "dnstap", json_dnstap(s));
		json_t *signed_zones = status_dnssec(out, s, true);
		if (signed_zones) {
			json_object_set_new(root, "dnssec", signed_zones);
		}
		dump_json(out, root);
	} else {
		if (s->npools == 0) {
			sb_printf(out, "no pools configured\n");
		}
		text_dnstap(out, s);
		status_dnssec(out, s, false);
	}
}

/* --- stats ------------------------------------------------------------------------ */

/* Probe results and health changes, added up per check. */
struct check_total {
	char name[128];
	char kind[16];
	uint64_t ok, failed, changes;
	unsigned targets;
};

struct check_totals {
	struct check_total *v;
	size_t n, cap;
};

static void add_check(const struct health_info *h, void *arg)
{
	struct check_totals *ct = arg;
	struct check_total *c = NULL;

	if (h->is_admin || h->always || !h->check[0]) {
		return;
	}
	for (size_t i = 0; i < ct->n; i++) {
		if (strcmp(ct->v[i].name, h->check) == 0) {
			c = &ct->v[i];
		}
	}
	if (!c) {
		if (ct->n == ct->cap) {
			ct->cap = ct->cap ? ct->cap * 2 : 16;
			ct->v = xrealloc(ct->v, ct->cap * sizeof(*ct->v));
		}
		c = &ct->v[ct->n++];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", h->check);
		snprintf(c->kind, sizeof(c->kind), "%s", h->kind);
	}
	c->ok += h->probes_ok;
	c->failed += h->probes_failed;
	c->changes += h->changes;
	c->targets++;
}

static json_t *json_counts(const uint64_t *v, int n, const char *(*name)(int))
{
	json_t *o = json_object();

	for (int i = 0; i < n; i++) {
		json_object_set_new(o, name(i), json_integer((json_int_t)v[i]));
	}
	return o;
}

static void text_counts(struct sbuf *out, const char *title, const uint64_t *v, int n,
			const char *(*name)(int), bool skip_zero)
{
	sb_printf(out, "%s:", title);
	for (int i = 0; i < n; i++) {
		if (!skip_zero || v[i]) {
			sb_printf(out, " %s %llu", name(i), (unsigned long long)v[i]);
		}
	}
	sb_printf(out, "\n");
}

static const char *transport_name(int i)
{
	return stats_transport_name((enum transport)i);
}

static const char *qtype_name(int i)
{
	return stats_qtype_name((enum stats_qtype)i);
}

static const char *rcode_name(int i)
{
	return stats_rcode_name((enum stats_rcode)i);
}

static const char *kind_name(int i)
{
	return stats_kind_name((enum response_kind)i);
}

static const char *cookie_name(int i)
{
	return stats_cookie_name((enum cookie_status)i);
}

/* "  datacenters: ams 12, iad 3" for a geo pool's answers. */
static void text_datacenters(struct sbuf *out, const struct stats_pool_total *p)
{
	if (!p->dc_names || !p->dc_names[0]) {
		return;
	}
	sb_printf(out, "  datacenters:");
	for (unsigned d = 0; d < STATS_POOL_DCS && p->dc_names[d]; d++) {
		sb_printf(out, "%s %s %llu", d ? "," : "", p->dc_names[d], (unsigned long long)p->dc[d]);
	}
	sb_printf(out, "\n");
}

void status_render_datacenters(struct sbuf *out, const struct stats *st)
{
	struct stats_totals tot;

	if (!st) {
		return;
	}
	stats_sum(st, &tot);
	for (size_t i = 0; i < tot.npools; i++) {
		if (tot.pools[i].dc_names && tot.pools[i].dc_names[0]) {
			sb_printf(out, "answers of pool %s by datacenter:\n", tot.pools[i].name);
			text_datacenters(out, &tot.pools[i]);
		}
	}
	stats_totals_clear(&tot);
}

void status_render_stats(struct sbuf *out, const struct stats *st, struct health_table *t,
			 bool json)
{
	struct stats_totals tot;
	struct check_totals ct = { NULL, 0, 0 };
	char tbuf[40];

	if (st) {
		stats_sum(st, &tot);
	} else {
		memset(&tot, 0, sizeof(tot));
	}
	if (t) {
		health_foreach(t, add_check, &ct);
	}
	if (json) {
		json_t *pools = json_object(), *checks = json_object();
		for (size_t i = 0; i < tot.npools; i++) {
			json_t *jp = json_pack("{s:I, s:I, s:I}", "primary",
						      (json_int_t)tot.pools[i].source[POOL_SOURCE_PRIMARY],
						      "backup",
						      (json_int_t)tot.pools[i].source[POOL_SOURCE_BACKUP],
						      "last_resort",
						      (json_int_t)tot.pools[i].source[POOL_SOURCE_LAST_RESORT]);
			if (tot.pools[i].dc_names && tot.pools[i].dc_names[0]) {
				json_t *dcs = json_object();
				for (unsigned d = 0; d < STATS_POOL_DCS && tot.pools[i].dc_names[d]; d++) {
					json_object_set_new(dcs, tot.pools[i].dc_names[d],
							    json_integer((json_int_t)tot.pools[i].dc[d]));
				}
				json_object_set_new(jp, "datacenters", dcs);
			}
			json_object_set_new(pools, tot.pools[i].name, jp);
		}
		for (size_t i = 0; i < ct.n; i++) {
			json_object_set_new(checks, ct.v[i].name,
					    json_pack("{s:s, s:i, s:I, s:I, s:I}", "kind", ct.v[i].kind,
						      "targets", (json_int_t)ct.v[i].targets, "ok",
						      (json_int_t)ct.v[i].ok, "failed",
						      (json_int_t)ct.v[i].failed, "health_changes",
						      (json_int_t)ct.v[i].changes));
		}
		json_t *limits = json_pack("{s:I, s:I, s:I}", "limited", (json_int_t)tot.limited,
					   "slipped", (json_int_t)tot.slipped, "dropped",
					   (json_int_t)tot.limit_dropped);
		json_t *o =
			  json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:{s:I, s:I, s:o}, s:o, s:i}",
				    "queries",
				    json_counts(tot.transport, TRANSPORT_COUNT, transport_name),
				    "qtypes", json_counts(tot.qtype, STATS_QTYPE_COUNT, qtype_name),
				    "rcodes", json_counts(tot.rcode, STATS_RCODE_COUNT, rcode_name),
				    "responses",
				    json_counts(tot.kind, RESPONSE_KIND_COUNT, kind_name), "truncated",
				    (json_int_t)tot.truncated, "rate_limit", limits, "pools", pools,
				    "checks", checks,
				    "reloads", "ok", (json_int_t)tot.reloads_ok, "failed",
				    (json_int_t)tot.reloads_failed, "last_ok",
				    jtime(tot.last_reload_ok), "started", jtime(tot.started),
				    "workers", (json_int_t)tot.workers);
		json_object_set_new(o, "cookies",
				    json_counts(tot.cookie, COOKIE_STATUS_COUNT, cookie_name));
		json_object_set_new(o, "dnstap",
				    json_pack("{s:I, s:I}", "sent", (json_int_t)tot.dnstap_sent,
					      "dropped", (json_int_t)tot.dnstap_dropped));
		dump_json(out, o);
	} else {
		text_counts(out, "queries", tot.transport, TRANSPORT_COUNT, transport_name, false);
		text_counts(out, "qtypes", tot.qtype, STATS_QTYPE_COUNT, qtype_name, true);
		text_counts(out, "rcodes", tot.rcode, STATS_RCODE_COUNT, rcode_name, true);
		text_counts(out, "responses", tot.kind, RESPONSE_KIND_COUNT, kind_name, false);
		sb_printf(out, "truncated: %llu\n", (unsigned long long)tot.truncated);
		text_counts(out, "cookies", tot.cookie, COOKIE_STATUS_COUNT, cookie_name, false);
		sb_printf(out, "rate limit: limited %llu, slipped %llu, dropped %llu\n",
			  (unsigned long long)tot.limited, (unsigned long long)tot.slipped,
			  (unsigned long long)tot.limit_dropped);
		sb_printf(out, "dnstap: sent %llu, dropped %llu\n",
			  (unsigned long long)tot.dnstap_sent, (unsigned long long)tot.dnstap_dropped);
		for (size_t i = 0; i < tot.npools; i++) {
			sb_printf(out, "pool %s: primary %llu, backup %llu, last_resort %llu\n",
				  tot.pools[i].name,
				  (unsigned long long)tot.pools[i].source[POOL_SOURCE_PRIMARY],
				  (unsigned long long)tot.pools[i].source[POOL_SOURCE_BACKUP],
				  (unsigned long long)tot.pools[i].source[POOL_SOURCE_LAST_RESORT]);
			text_datacenters(out, &tot.pools[i]);
		}
		for (size_t i = 0; i < ct.n; i++) {
			sb_printf(out,
				  "check %s (%s, %u targets): probes ok %llu, failed %llu; health "
				  "changes %llu\n",
				  ct.v[i].name, ct.v[i].kind, ct.v[i].targets,
				  (unsigned long long)ct.v[i].ok, (unsigned long long)ct.v[i].failed,
				  (unsigned long long)ct.v[i].changes);
		}
		sb_printf(out, "reloads: ok %llu, failed %llu, last ok %s\n",
			  (unsigned long long)tot.reloads_ok, (unsigned long long)tot.reloads_failed,
			  sb_iso_time(tbuf, sizeof(tbuf), tot.last_reload_ok));
		sb_printf(out, "started: %s; %u answering threads\n",
			  sb_iso_time(tbuf, sizeof(tbuf), tot.started), tot.workers);
	}
	free(ct.v);
	stats_totals_clear(&tot);
}
