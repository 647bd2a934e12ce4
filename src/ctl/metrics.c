/* metrics.c -- Prometheus text exposition: one family after another, each
 * with its HELP and TYPE lines, names in base units (seconds, bytes) and
 * counters ending in _total, as the Prometheus naming conventions ask. */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ctl/metrics.h"
#include "ctl/status.h"
#include "daemon/stats.h"
#include "dns/wire.h"
#include "util/mem.h"

/* Plain appends: a scrape writes thousands of short pieces, and printf's
 * machinery costs more than the rest of the work. */
static void put(struct sbuf *out, const char *s)
{
	sb_append(out, s, strlen(s));
}

static void put_u(struct sbuf *out, unsigned long long v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_append(out, p, (size_t)(buf + sizeof(buf) - p));
}

void metrics_label(struct sbuf *out, const char *v)
{
	const char *run = v;

	/* Runs of ordinary bytes in one append. */
	for (const char *c = v;; c++) {
		if (*c && *c != '\\' && *c != '"' && *c != '\n') {
			continue;
		}
		sb_append(out, run, (size_t)(c - run));
		run = c + 1;
		if (!*c) {
			return;
		}
		switch (*c) {
		case '\\':
			sb_append(out, "\\\\", 2);
			break;
		case '"':
			sb_append(out, "\\\"", 2);
			break;
		default:
			sb_append(out, "\\n", 2);
			break;
		}
	}
}

static void family(struct sbuf *out, const char *name, const char *type, const char *help)
{
	sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{key="value"} v */
static void sample1(struct sbuf *out, const char *name, const char *key, const char *value,
		    unsigned long long v)
{
	put(out, name);
	put(out, "{");
	put(out, key);
	put(out, "=\"");
	metrics_label(out, value);
	put(out, "\"} ");
	put_u(out, v);
	put(out, "\n");
}

static void gauge(struct sbuf *out, const char *name, const char *help, double v)
{
	family(out, name, "gauge", help);
	sb_printf(out, "%s %.17g\n", name, v);
}

/* --- members --------------------------------------------------------------------- */

static void member_labels(struct sbuf *out, const struct pool *p, const struct member_view *mv)
{
	put(out, "{pool=\"");
	metrics_label(out, p->name);
	put(out, "\",member=\"");
	metrics_label(out, mv->address);
	put(out, "\",check=\"");
	metrics_label(out, mv->known && !mv->always ? mv->h.check : "");
	put(out, "\"");
}

enum member_metric { MEMBER_UP, MEMBER_HEALTH, MEMBER_ADMIN, MEMBER_CHANGES, MEMBER_LATENCY };

/* Every member of every pool, read once from the health table for all the
 * member families (a scrape every few seconds of thousands of members). */
struct member_row {
	const struct pool *pool;
	struct member_view mv;
};

static struct member_row *member_rows(const struct snapshot *snap, struct health_table *t,
				      size_t *n)
{
	struct member_row *rows;
	size_t total = 0, k = 0;

	for (size_t i = 0; i < snap->npools; i++) {
		total += snap->pools[i].v4.n + snap->pools[i].v6.n;
	}
	rows = xcalloc(total ? total : 1, sizeof(*rows));
	for (size_t i = 0; i < snap->npools; i++) {
		const struct pool *p = &snap->pools[i];
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			for (unsigned j = 0; j < f->n; j++, k++) {
				rows[k].pool = p;
				status_member_view(&rows[k].mv, t, p, f, j);
			}
		}
	}
	*n = total;
	return rows;
}

static void members(struct sbuf *out, const struct member_row *rows, size_t n, enum member_metric m,
		    const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const struct pool *p = rows[i].pool;
		const struct member_view *mv = &rows[i].mv;
		bool checked = mv->known && !mv->always;
		switch (m) {
		case MEMBER_UP:
			put(out, name);
			member_labels(out, p, mv);
			put(out, mv->up ? "} 1\n" : "} 0\n");
			break;
		case MEMBER_HEALTH:
			put(out, name);
			member_labels(out, p, mv);
			put(out, !mv->known || mv->h.state == HEALTH_UP ? "} 1\n" : "} 0\n");
			break;
		case MEMBER_ADMIN:
			for (int a = ADMIN_NONE; a <= ADMIN_FORCED_UP; a++) {
				put(out, name);
				member_labels(out, p, mv);
				put(out, ",state=\"");
				put(out, status_admin_name((enum health_admin)a));
				put(out, mv->admin == (enum health_admin)a ? "\"} 1\n" : "\"} 0\n");
			}
			break;
		case MEMBER_CHANGES:
			if (checked) {
				put(out, name);
				member_labels(out, p, mv);
				put(out, "} ");
				put_u(out, mv->h.changes);
				put(out, "\n");
			}
			break;
		case MEMBER_LATENCY:
			if (checked && mv->h.probed) {
				put(out, name);
				member_labels(out, p, mv);
				sb_printf(out, "} %.6f\n", mv->h.latency_ms / 1000.0);
			}
			break;
		}
	}
}

/* --- checks ------------------------------------------------------------------------ */

struct check_sum {
	char name[128];
	uint64_t ok, failed;
	uint64_t le[HEALTH_DURATION_BUCKETS];
	double sum;
};

struct check_sums {
	struct check_sum *v;
	size_t n, cap;
};

static void add_check(const struct health_info *h, void *arg)
{
	struct check_sums *cs = arg;
	struct check_sum *c = NULL;

	if (h->is_admin || h->always || !h->check[0]) {
		return;
	}
	for (size_t i = 0; i < cs->n && !c; i++) {
		if (strcmp(cs->v[i].name, h->check) == 0) {
			c = &cs->v[i];
		}
	}
	if (!c) {
		if (cs->n == cs->cap) {
			cs->cap = cs->cap ? cs->cap * 2 : 16;
			cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
		}
		c = &cs->v[cs->n++];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", h->check);
	}
	c->ok += h->probes_ok;
	c->failed += h->probes_failed;
	for (int i = 0; i < HEALTH_DURATION_BUCKETS; i++) {
		c->le[i] += h->duration_le[i];
	}
	c->sum += h->duration_sum;
}

static void checks(struct sbuf *out, struct health_table *t)
{
	struct check_sums cs = {NULL, 0, 0};

	if (t) {
		health_foreach(t, add_check, &cs);
	}
	family(out, "gslbd_probes_total", "counter", "Probe results per check.");
	for (size_t i = 0; i < cs.n; i++) {
		for (int ok = 1; ok >= 0; ok--) {
			sb_printf(out, "gslbd_probes_total{check=\"");
			metrics_label(out, cs.v[i].name);
			sb_printf(out, "\",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
				  (unsigned long long)(ok ? cs.v[i].ok : cs.v[i].failed));
		}
	}
	family(out, "gslbd_probe_duration_seconds", "histogram",
	       "How long probes took, per check.");
	for (size_t i = 0; i < cs.n; i++) {
		uint64_t count = cs.v[i].ok + cs.v[i].failed;
		for (int b = 0; b < HEALTH_DURATION_BUCKETS; b++) {
			sb_printf(out, "gslbd_probe_duration_seconds_bucket{check=\"");
			metrics_label(out, cs.v[i].name);
			sb_printf(out, "\",le=\"%g\"} %llu\n", health_duration_bounds[b],
				  (unsigned long long)cs.v[i].le[b]);
		}
		sb_printf(out, "gslbd_probe_duration_seconds_bucket{check=\"");
		metrics_label(out, cs.v[i].name);
		sb_printf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
		sb_printf(out, "gslbd_probe_duration_seconds_sum{check=\"");
		metrics_label(out, cs.v[i].name);
		sb_printf(out, "\"} %.6f\n", cs.v[i].sum);
		sb_printf(out, "gslbd_probe_duration_seconds_count{check=\"");
		metrics_label(out, cs.v[i].name);
		sb_printf(out, "\"} %llu\n", (unsigned long long)count);
	}
	free(cs.v);
}

/* --- the process ------------------------------------------------------------------- */

void metrics_process(struct process_figures *out)
{
	struct rusage ru;
	struct rlimit rl;
	long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
	unsigned long long vsize = 0, rss = 0, start = 0;
	FILE *f;
	DIR *d;

	out->cpu_seconds = out->resident_bytes = out->virtual_bytes = -1;
	out->open_fds = out->max_fds = out->start_time = -1;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		out->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	if ((f = fopen("/proc/self/statm", "re"))) {
		if (fscanf(f, "%llu %llu", &vsize, &rss) == 2) {
			out->virtual_bytes = (double)vsize * page;
			out->resident_bytes = (double)rss * page;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/self/stat", "re"))) {
		/* Field 22, counted after the command's closing parenthesis (the
		 * command may hold spaces and parentheses itself). */
		char buf[1024];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		char *p;
		buf[n] = 0;
		p = strrchr(buf, ')');
		/* Skip 19 fields (state .. itrealvalue) to starttime. */
		for (int skip = 0; p && skip < 20; skip++) {
			p = strchr(p + 1, ' ');
		}
		if (p && (start = strtoull(p + 1, NULL, 10)) > 0) {
			struct timespec up, wall;
			clock_gettime(CLOCK_BOOTTIME, &up);
			clock_gettime(CLOCK_REALTIME, &wall);
			out->start_time = (double)wall.tv_sec + wall.tv_nsec / 1e9 -
					  (up.tv_sec + up.tv_nsec / 1e9) + (double)start / ticks;
		}
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd"))) {
		struct dirent *e;
		double n = 0;
		while ((e = readdir(d))) {
			n += e->d_name[0] != '.';
		}
		closedir(d);
		out->open_fds = n - 1; /* the directory's own descriptor */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		out->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	}
}

static void process(struct sbuf *out)
{
	struct process_figures pf;

	metrics_process(&pf);
	if (pf.cpu_seconds >= 0) {
		family(out, "process_cpu_seconds_total", "counter",
		       "User and system CPU time spent, in seconds.");
		sb_printf(out, "process_cpu_seconds_total %.6f\n", pf.cpu_seconds);
	}
	if (pf.resident_bytes >= 0) {
		gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
		      pf.resident_bytes);
		gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
		      pf.virtual_bytes);
	}
	if (pf.open_fds >= 0) {
		gauge(out, "process_open_fds", "Number of open file descriptors.", pf.open_fds);
	}
	if (pf.max_fds >= 0) {
		gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
		      pf.max_fds);
	}
	if (pf.start_time >= 0) {
		gauge(out, "process_start_time_seconds",
		      "Start time of the process since the Unix epoch, in seconds.", pf.start_time);
	}
}

/* --- the whole exposition ---------------------------------------------------------- */

void metrics_render(struct sbuf *out, const struct snapshot *snap, struct health_table *t,
		    const struct stats *st)
{
	struct stats_totals tot;
	struct member_row *rows;
	size_t nrows;

	if (st) {
		stats_sum(st, &tot);
	} else {
		memset(&tot, 0, sizeof(tot));
	}
	rows = member_rows(snap, t, &nrows);
	family(out, "gslbd_build_info", "gauge", "The version of gslbd running, always 1.");
	sample1(out, "gslbd_build_info", "version", PACKAGE_VERSION, 1);
	family(out, "gslbd_config_info", "gauge",
	       "A hash of the configuration files serving now (BLAKE2b-128), always 1.");
	sample1(out, "gslbd_config_info", "hash", snap->conf->hash, 1);

	family(out, "gslbd_queries_total", "counter", "DNS messages received, by transport.");
	for (int i = 0; i < TRANSPORT_COUNT; i++) {
		sample1(out, "gslbd_queries_total", "transport",
			stats_transport_name((enum transport)i), tot.transport[i]);
	}
	family(out, "gslbd_query_types_total", "counter", "Questions answered, by query type.");
	for (int i = 0; i < STATS_QTYPE_COUNT; i++) {
		sample1(out, "gslbd_query_types_total", "type",
			stats_qtype_name((enum stats_qtype)i), tot.qtype[i]);
	}
	family(out, "gslbd_responses_rcode_total", "counter", "Responses sent, by RCODE.");
	for (int i = 0; i < STATS_RCODE_COUNT; i++) {
		sample1(out, "gslbd_responses_rcode_total", "rcode",
			stats_rcode_name((enum stats_rcode)i), tot.rcode[i]);
	}
	family(out, "gslbd_responses_total", "counter",
	       "Messages by what became of them (dropped: not answered).");
	for (int i = 0; i < RESPONSE_KIND_COUNT; i++) {
		sample1(out, "gslbd_responses_total", "kind",
			stats_kind_name((enum response_kind)i), tot.kind[i]);
	}
	family(out, "gslbd_truncated_responses_total", "counter",
	       "Responses sent with the TC bit (too large, or slipped by rate limiting).");
	sb_printf(out, "gslbd_truncated_responses_total %llu\n", (unsigned long long)tot.truncated);
	family(out, "gslbd_rate_limited_responses_total", "counter",
	       "Responses over a rate limit, by what was done: sent anyway (log_only), "
	       "slipped (sent truncated) or dropped.");
	sample1(out, "gslbd_rate_limited_responses_total", "action", "sent",
		tot.limited - tot.slipped - tot.limit_dropped);
	sample1(out, "gslbd_rate_limited_responses_total", "action", "slipped", tot.slipped);
	sample1(out, "gslbd_rate_limited_responses_total", "action", "dropped", tot.limit_dropped);
	family(out, "gslbd_cookies_total", "counter",
	       "Queries by what their DNS COOKIE was worth.");
	for (int i = 0; i < COOKIE_STATUS_COUNT; i++) {
		sample1(out, "gslbd_cookies_total", "status",
			stats_cookie_name((enum cookie_status)i), tot.cookie[i]);
	}

	family(out, "gslbd_pool_answers_total", "counter",
	       "Pool answers by where the addresses came from: the pool itself (primary), its "
	       "backup chain, or its last resort.");
	for (size_t i = 0; i < tot.npools; i++) {
		for (int s = POOL_SOURCE_PRIMARY; s < POOL_SOURCE_COUNT; s++) {
			put(out, "gslbd_pool_answers_total{pool=\"");
			metrics_label(out, tot.pools[i].name);
			put(out, "\",source=\"");
			put(out, stats_source_name((enum pool_source)s));
			put(out, "\"} ");
			put_u(out, tot.pools[i].source[s]);
			put(out, "\n");
		}
	}
	family(out, "gslbd_datacenter_answers_total", "counter",
	       "Answers of a geo pool by the datacenter that answered.");
	for (size_t i = 0; i < tot.npools; i++) {
		const struct stats_pool_total *p = &tot.pools[i];
		for (int d = 0; p->dc_names && d < STATS_POOL_DCS; d++) {
			if (!p->dc_names[d]) {
				continue;
			}
			put(out, "gslbd_datacenter_answers_total{pool=\"");
			metrics_label(out, p->name);
			put(out, "\",datacenter=\"");
			metrics_label(out, p->dc_names[d]);
			put(out, "\"} ");
			put_u(out, p->dc[d]);
			put(out, "\n");
		}
	}
	family(out, "gslbd_dnstap_messages_total", "counter",
	       "dnstap messages queued to the writer (sent) or dropped (queue full, no reader).");
	sample1(out, "gslbd_dnstap_messages_total", "result", "sent", tot.dnstap_sent);
	sample1(out, "gslbd_dnstap_messages_total", "result", "dropped", tot.dnstap_dropped);
	family(out, "gslbd_pool_members_up", "gauge",
	       "Members of a pool's address family that answers would use now.");
	for (size_t i = 0; i < snap->npools; i++) {
		const struct pool *p = &snap->pools[i];
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			if (f->n == 0) {
				continue;
			}
			sb_printf(out, "gslbd_pool_members_up{pool=\"");
			metrics_label(out, p->name);
			sb_printf(out, "\",family=\"%s\"} %u\n", fi == 0 ? "A" : "AAAA",
				  status_family_up(t, p, f));
		}
	}

	family(out, "gslbd_member_up", "gauge",
	       "1 if answers use the member now (health and admin override together), else 0.");
	members(out, rows, nrows, MEMBER_UP, "gslbd_member_up");
	family(out, "gslbd_member_health_up", "gauge",
	       "1 if the member's probes say up (before any admin override), else 0.");
	members(out, rows, nrows, MEMBER_HEALTH, "gslbd_member_health_up");
	family(out, "gslbd_member_admin_state", "gauge",
	       "The member's admin override: 1 for the one in force (none, drained, forced-up).");
	members(out, rows, nrows, MEMBER_ADMIN, "gslbd_member_admin_state");
	family(out, "gslbd_member_health_changes_total", "counter",
	       "Times the member's probed state changed (up to down or back) since start-up.");
	members(out, rows, nrows, MEMBER_CHANGES, "gslbd_member_health_changes_total");
	family(out, "gslbd_member_probe_duration_seconds", "gauge",
	       "How long the member's last probe took.");
	members(out, rows, nrows, MEMBER_LATENCY, "gslbd_member_probe_duration_seconds");
	checks(out, t);

	family(out, "gslbd_reloads_total", "counter", "Configuration reloads, by result.");
	sample1(out, "gslbd_reloads_total", "result", "ok", tot.reloads_ok);
	sample1(out, "gslbd_reloads_total", "result", "failed", tot.reloads_failed);
	gauge(out, "gslbd_config_last_reload_success_timestamp_seconds",
	      "When the configuration serving now was loaded (the last good reload, or start-up).",
	      tot.last_reload_ok > 0 ? tot.last_reload_ok : tot.started);
	gauge(out, "gslbd_answering_threads", "Threads answering queries.", tot.workers);
	process(out);
	free(rows);
	stats_totals_clear(&tot);
}
