/* page.c -- the status page: HTML rendered from one walk over the snapshot
 * and the health table, like `gslbctl status`; charts from the sample ring. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ctl/page.h"
#include "ctl/status.h"
#include "daemon/stats.h"
#include "dns/wire.h"
#include "util/mem.h"
#include "util/utf8.h"

/* --- escaping -------------------------------------------------------------------- */

void page_escape(struct sbuf *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	for (size_t i = 0; i < n;) {
		size_t l;
		switch (s[i]) {
		case '&':
			sb_printf(out, "&amp;");
			break;
		case '<':
			sb_printf(out, "&lt;");
			break;
		case '>':
			sb_printf(out, "&gt;");
			break;
		case '"':
			sb_printf(out, "&quot;");
			break;
		case '\'':
			sb_printf(out, "&#39;");
			break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7F) {
				sb_append(out, " ", 1);
			} else if (s[i] < 0x80) {
				sb_append(out, str + i, 1);
			} else if ((l = utf8_seq_len(s + i, n - i))) {
				sb_append(out, str + i, l);
				i += l;
				continue;
			} else {
				sb_append(out, "\xEF\xBF\xBD", 3);
			}
		}
		i++;
	}
}

/* --- the sample ring -------------------------------------------------------------- */

void page_history_init(struct page_history *h)
{
	memset(h, 0, sizeof(*h));
}

void page_history_clear(struct page_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->series[i].name);
	}
	free(h->series);
	memset(h, 0, sizeof(*h));
}

static struct page_series *series_of(const struct page_history *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->series[i].name, name) == 0) {
			return &h->series[i];
		}
	}
	return NULL;
}

/* Mean latency of the members' last probes, or -1 when none was probed. */
static double pool_latency(struct health_table *t, const struct pool *p)
{
	double sum = 0;
	unsigned n = 0;

	for (int fi = 0; fi < 2; fi++) {
		const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
		for (unsigned k = 0; k < f->n; k++) {
			struct member_view mv;
			status_member_view(&mv, t, p, f, k);
			if (mv.known && !mv.always && mv.h.probed) {
				sum += mv.h.latency_ms;
				n++;
			}
		}
	}
	return n ? sum / n : -1;
}

void page_history_sample(struct page_history *h, const struct snapshot *snap,
			 struct health_table *t, const struct stats *st, double now)
{
	struct stats_totals tot;
	size_t npools = snap->npools < PAGE_MAX_SERIES ? snap->npools : PAGE_MAX_SERIES;

	if (st) {
		stats_sum(st, &tot);
	} else {
		memset(&tot, 0, sizeof(tot));
	}
	h->rounds++;
	for (size_t i = 0; i < npools; i++) {
		const struct pool *p = &snap->pools[i];
		struct page_series *s = series_of(h, p->name);
		uint64_t answers = 0;
		if (!s) {
			if (h->n == h->cap) {
				h->cap = h->cap ? h->cap * 2 : 16;
				h->series = xrealloc(h->series, h->cap * sizeof(*h->series));
			}
			s = &h->series[h->n++];
			memset(s, 0, sizeof(*s));
			s->name = xstrdup(p->name);
		}
		s->seen = h->rounds;
		if (p->stat_slot < tot.npools) {
			for (int k = POOL_SOURCE_PRIMARY; k < POOL_SOURCE_COUNT; k++) {
				answers += tot.pools[p->stat_slot].source[k];
			}
		}
		s->answers[h->head] = answers;
		s->latency_ms[h->head] = pool_latency(t, p);
		s->at[h->head] = now;
	}
	/* Pools gone from the configuration lose their charts. */
	for (size_t i = 0; i < h->n;) {
		if (h->series[i].seen != h->rounds) {
			free(h->series[i].name);
			h->series[i] = h->series[--h->n];
		} else {
			i++;
		}
	}
	h->head = (h->head + 1) % PAGE_SAMPLES;
	stats_totals_clear(&tot);
}

/* Slot of the @back-th newest sample (0: the newest). */
static unsigned slot_back(const struct page_history *h, unsigned back)
{
	return (h->head + 2 * PAGE_SAMPLES - 1 - back) % PAGE_SAMPLES;
}

/* Answers per second between the two newest samples, or -1. */
static double answer_rate(const struct page_history *h, const struct page_series *s)
{
	unsigned a = slot_back(h, 0), b = slot_back(h, 1);

	if (s->at[a] <= 0 || s->at[b] <= 0 || s->at[a] <= s->at[b]) {
		return -1;
	}
	return (double)(s->answers[a] - s->answers[b]) / (s->at[a] - s->at[b]);
}

/* --- rendering -------------------------------------------------------------------- */

static const char style[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f4f5f7;color:#1d2330}"
    "header{background:#1d2330;color:#fff;padding:10px 16px}"
    "header h1{font-size:18px;margin:0}header p{margin:2px 0 0;color:#b8c0d0;font-size:12px}"
    "main{padding:10px;max-width:1200px;margin:auto}"
    ".pool{background:#fff;border:1px solid #d8dce3;border-radius:6px;margin:0 0 12px;"
    "padding:10px 12px}"
    ".head{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}"
    ".head h2{font-size:16px;margin:0;word-break:break-all}"
    ".meta{color:#5a6478;font-size:12px}"
    ".badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;"
    "font-weight:600;color:#fff}"
    ".healthy,.up{background:#2e8540}.degraded{background:#d98b00}"
    ".backup{background:#6f42c1}.last-resort,.down{background:#c62828}"
    ".empty,.none{background:#8a93a6}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;margin-top:8px;font-size:13px}"
    "th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eceef2;"
    "white-space:nowrap}"
    "th{color:#5a6478;font-weight:600;font-size:12px}"
    "td.reason{white-space:normal;min-width:12em}"
    ".chart{margin-top:6px}.chart svg{width:100%;max-width:480px;height:60px;"
    "background:#fafbfc;border:1px solid #eceef2}"
    ".legend{font-size:11px;color:#5a6478}.la{color:#1f6feb}.ll{color:#d98b00}"
    "footer{color:#8a93a6;font-size:11px;text-align:center;padding:8px}";

static const char *family_name(int fi)
{
	return fi == 0 ? "A" : "AAAA";
}

/* Worst first: the state a pool shows is that of its worst family. */
static int state_rank(const char *state)
{
	static const char *const order[] = {"last-resort", "backup", "degraded", "healthy",
					    "empty"};
	for (int i = 0; i < 5; i++) {
		if (strcmp(order[i], state) == 0) {
			return i;
		}
	}
	return 5;
}

static const char *state_text(const char *state)
{
	if (strcmp(state, "backup") == 0) {
		return "on backup";
	}
	if (strcmp(state, "last-resort") == 0) {
		return "last resort";
	}
	return state;
}

static void ago(struct sbuf *out, double then, double now)
{
	double d = now - then;

	if (then <= 0) {
		sb_printf(out, "never");
	} else if (d < 60) {
		sb_printf(out, "%.0fs ago", d < 0 ? 0 : d);
	} else if (d < 3600) {
		sb_printf(out, "%.0fm %.0fs ago", floor(d / 60), fmod(d, 60));
	} else if (d < 86400) {
		sb_printf(out, "%.0fh %.0fm ago", floor(d / 3600), floor(fmod(d, 3600) / 60));
	} else {
		sb_printf(out, "%.0fd %.0fh ago", floor(d / 86400), floor(fmod(d, 86400) / 3600));
	}
}

/* A polyline of @n values (negative: a gap) scaled to @max over the chart. */
static void polyline(struct sbuf *out, const double *v, unsigned n, double max, const char *color)
{
	bool open = false;

	for (unsigned i = 0; i < n; i++) {
		if (v[i] < 0) {
			if (open) {
				sb_printf(out, "\"/>");
				open = false;
			}
			continue;
		}
		if (!open) {
			sb_printf(out,
				  "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
				  "vector-effect=\"non-scaling-stroke\" points=\"",
				  color);
			open = true;
		}
		sb_printf(out, "%u,%.1f ", i, 58.0 - (max > 0 ? v[i] / max * 56.0 : 0));
	}
	if (open) {
		sb_printf(out, "\"/>");
	}
}

static void chart(struct sbuf *out, const struct page_history *h, const struct page_series *s)
{
	double rate[PAGE_SAMPLES], lat[PAGE_SAMPLES], rmax = 0, lmax = 0;

	/* Oldest first. Rates need two samples: the first point has none. */
	for (unsigned i = 0; i < PAGE_SAMPLES; i++) {
		unsigned cur = slot_back(h, PAGE_SAMPLES - 1 - i);
		unsigned prev = slot_back(h, PAGE_SAMPLES - i);
		rate[i] = lat[i] = -1;
		if (s->at[cur] <= 0) {
			continue;
		}
		lat[i] = s->latency_ms[cur];
		if (i > 0 && s->at[prev] > 0 && s->at[cur] > s->at[prev]) {
			rate[i] = (double)(s->answers[cur] - s->answers[prev]) /
				  (s->at[cur] - s->at[prev]);
		}
		rmax = rate[i] > rmax ? rate[i] : rmax;
		lmax = lat[i] > lmax ? lat[i] : lmax;
	}
	sb_printf(out,
		  "<div class=\"chart\"><svg viewBox=\"0 0 %u 60\" preserveAspectRatio=\"none\" "
		  "role=\"img\" aria-label=\"answers per second and probe latency, last %.0f "
		  "minutes\">",
		  PAGE_SAMPLES - 1, PAGE_SAMPLES * PAGE_SAMPLE_INTERVAL / 60);
	polyline(out, rate, PAGE_SAMPLES, rmax, "#1f6feb");
	polyline(out, lat, PAGE_SAMPLES, lmax, "#d98b00");
	sb_printf(out,
		  "</svg><div class=\"legend\"><span class=\"la\">&#9644; answers/s "
		  "(max %.1f)</span> &nbsp; <span class=\"ll\">&#9644; probe latency (max %.1f "
		  "ms)</span> &nbsp; last %.0f minutes</div></div>",
		  rmax, lmax, PAGE_SAMPLES * PAGE_SAMPLE_INTERVAL / 60);
}

static void member_row(struct sbuf *out, const struct member_view *mv, int fi, double now)
{
	const struct health_info *hi = &mv->h;
	bool checked = mv->known && !mv->always;

	sb_printf(out, "<tr class=\"member\" data-member=\"");
	page_escape(out, mv->address);
	sb_printf(out, "\"><td>");
	page_escape(out, mv->address);
	sb_printf(out, "</td><td>%s</td><td><span class=\"badge state %s\">%s</span></td>",
		  family_name(fi), mv->up ? "up" : "down", mv->up ? "up" : "down");
	sb_printf(out, "<td>%s</td><td>%s</td><td>",
		  !mv->known || hi->state == HEALTH_UP ? "up" : "down",
		  status_admin_name(mv->admin));
	if (checked) {
		page_escape(out, hi->check);
		sb_printf(out, " (");
		page_escape(out, hi->kind);
		sb_printf(out, ")");
	} else {
		sb_printf(out, "none");
	}
	sb_printf(out, "</td><td class=\"reason\">");
	if (checked && hi->probed) {
		sb_printf(out, "%s: ", hi->last_ok ? "ok" : "failed");
		page_escape(out, hi->reason);
		sb_printf(out, "</td><td>%.1f ms</td>", hi->latency_ms);
	} else {
		sb_printf(out, "%s</td><td>&ndash;</td>", checked ? "not probed yet" : "&ndash;");
	}
	sb_printf(out, "<td>");
	ago(out, checked ? hi->changed : 0, now);
	sb_printf(out, "</td></tr>");
}

static void pool_card(struct sbuf *out, const struct pool *p, struct health_table *t,
		      const struct page_history *h, double now)
{
	const struct page_series *s = h ? series_of(h, p->name) : NULL;
	const char *worst = "empty";
	double rate = s ? answer_rate(h, s) : -1;

	for (int fi = 0; fi < 2; fi++) {
		const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
		struct pool_explain ex;
		const char *st;
		if (f->n == 0) {
			continue;
		}
		pool_explain(&ex, p, fi == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA, t);
		st = status_family_state(&ex, f, status_family_up(t, p, f));
		if (state_rank(st) < state_rank(worst)) {
			worst = st;
		}
	}
	sb_printf(out, "<section class=\"pool\" data-pool=\"");
	page_escape(out, p->name);
	sb_printf(out, "\"><div class=\"head\"><h2>");
	page_escape(out, p->name);
	sb_printf(out, "</h2><span class=\"badge pool-state %s\">%s</span>", worst,
		  state_text(worst));
	sb_printf(out,
		  "<span class=\"meta\">policy %s &middot; ttl %u (degraded %u) &middot; "
		  "min_healthy %u &middot; backup ",
		  pool_policy_name(p), p->ttl, p->ttl_degraded, p->min_healthy);
	if (p->backup) {
		page_escape(out, p->backup->name);
	} else {
		sb_printf(out, "none");
	}
	sb_printf(out, " &middot; last resort %s</span>", status_last_resort_name(p->last_resort));
	for (int fi = 0; fi < 2; fi++) {
		const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
		struct pool_explain ex;
		unsigned up;
		const char *st;
		if (f->n == 0) {
			continue;
		}
		pool_explain(&ex, p, fi == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA, t);
		up = status_family_up(t, p, f);
		st = status_family_state(&ex, f, up);
		sb_printf(out, "<span class=\"meta\">%s: %s, %u of %u up</span>", family_name(fi),
			  state_text(st), up, f->n);
	}
	if (rate >= 0) {
		sb_printf(out, "<span class=\"meta rate\">%.1f answers/s</span>", rate);
	} else {
		sb_printf(out, "<span class=\"meta rate\">answers/s: measuring</span>");
	}
	sb_printf(out, "</div>");
	if (s) {
		chart(out, h, s);
	}
	sb_printf(out, "<div class=\"scroll\"><table><thead><tr><th>member</th><th>type</th>"
		       "<th>state</th><th>health</th><th>admin</th><th>check</th>"
		       "<th>last probe</th><th>latency</th><th>changed</th></tr></thead><tbody>");
	for (int fi = 0; fi < 2; fi++) {
		const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
		for (unsigned k = 0; k < f->n; k++) {
			struct member_view mv;
			status_member_view(&mv, t, p, f, k);
			member_row(out, &mv, fi, now);
		}
	}
	sb_printf(out, "</tbody></table></div></section>");
}

void page_render(struct sbuf *out, const struct snapshot *snap, struct health_table *t,
		 const struct page_history *h, double now)
{
	unsigned count[6] = {0};
	char tbuf[40];

	for (size_t i = 0; i < snap->npools; i++) {
		const struct pool *p = &snap->pools[i];
		int worst = 4;
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			struct pool_explain ex;
			int r;
			if (f->n == 0) {
				continue;
			}
			pool_explain(&ex, p, fi == 0 ? DNS_TYPE_A : DNS_TYPE_AAAA, t);
			r = state_rank(status_family_state(&ex, f, status_family_up(t, p, f)));
			worst = r < worst ? r : worst;
		}
		count[worst]++;
	}
	sb_printf(out,
		  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		  "<meta http-equiv=\"refresh\" content=\"%.0f\">"
		  "<title>gslbd status</title><style>%s</style></head><body>",
		  PAGE_SAMPLE_INTERVAL, style);
	sb_printf(out,
		  "<header><h1>gslbd status</h1><p>gslbd %s &middot; %s &middot; %zu pools: "
		  "%u healthy, %u degraded, %u on backup, %u last resort &middot; refreshes "
		  "every %.0f s</p></header><main>",
		  PACKAGE_VERSION, sb_iso_time(tbuf, sizeof(tbuf), now), snap->npools, count[3],
		  count[2], count[1], count[0], PAGE_SAMPLE_INTERVAL);
	if (snap->npools == 0) {
		sb_printf(out, "<p>No pools configured.</p>");
	}
	for (size_t i = 0; i < snap->npools; i++) {
		pool_card(out, &snap->pools[i], t, h, now);
	}
	sb_printf(out, "</main><footer>Also: <a href=\"/metrics\">/metrics</a> &middot; "
		       "<a href=\"/status.json\">/status.json</a></footer></body></html>\n");
}
