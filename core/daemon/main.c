/*
 * main.c: renewd, the daemon.  One libuv loop owns HTTP, timers and every
 * store write; see docs/architecture.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "auth/auth.h"
#include "config/config.h"
#include "daemon/routes.h"
#include "domain/model.h"
#include "edge/app.h"
#include "edge/call.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "plugin/host.h"
#include "policy/runtime.h"
#include "rd_config.h"
#include "renew/renew.h"
#include "daemon/dropfolder.h"
#include "services/deals.h"
#include "services/hooks.h"
#include "services/edi.h"
#include "services/imports.h"
#include "services/leads.h"
#include "services/listing.h"
#include "services/orders.h"
#include "services/reports.h"
#include "services/users.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "web/web.h"

#if RD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Tells the service manager how renewd is doing (Type=notify: READY=1 once
 * it listens, STOPPING=1 when it drains).  Without $NOTIFY_SOCKET, or built
 * without libsystemd, it does nothing. */
static void notify_manager(const char *fmt, ...)
{
#if RD_HAVE_SYSTEMD
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int rc = sd_notify(0, msg);
	if (rc < 0)
		rd_log(RD_LOG_WARN, "daemon", "cannot notify the service manager: %s", strerror(-rc));
#else
	(void)fmt;
#endif
}

struct daemon {
	uv_loop_t *loop;
	uv_signal_t sigint, sigterm, sighup;
	int argc;
	char **argv; /* read again on SIGHUP */
	uv_timer_t imports_timer;
	uv_timer_t leads_timer;  /* each minute: lead offers past their deadline (services/leads.c), expired tokens */
	struct rd_dirwatch *edi_watch; /* orders to distributors' EDI connectors, their inbound folders (services/edi.c) */
	bool leads_timer_on;
	struct rd_dropfolder *dropfolder; /* connector-csv (feeds_dir); NULL: off */
	struct rd_plugins *plugins;
	struct rd_renew *renew;
	struct rd_hooks *hooks; /* outbound webhook deliveries (services/hooks.c) */
	uint64_t plugins_deadline;
	struct rd_server *server;
	struct rd_config config;
	bool stopping;
};

/* After HTTP: imports still parsing are asked to stop; their workers hold
 * read transactions, so the store may only close once they are back. */
static void on_imports_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	/* Plugin calls in flight are waited for too, up to the shutdown timeout:
	 * a hung plugin must not hold the daemon forever. */
	bool waiting = uv_now(d->loop) < d->plugins_deadline;
	bool plugins = d->plugins && rd_plugins_calls(d->plugins) && waiting;
	bool mail = ((d->renew && rd_renew_busy(d->renew)) || rd_hooks_busy(d->hooks)) && waiting;
	if (rd_imports_busy() || plugins || mail)
		return;
	uv_close((uv_handle_t *)t, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	uv_stop(d->loop);
}

static void on_edi_scan(struct rd_dirwatch *w, void *arg)
{
	(void)w;
	rd_edi_tick(arg);
}

static void edi_kick(void *arg, uint64_t delay_ms)
{
	rd_dirwatch_kick(((struct daemon *)arg)->edi_watch, delay_ms);
}

static void edi_watch(void *arg, const char *dir)
{
	rd_dirwatch_add(((struct daemon *)arg)->edi_watch, dir);
}

/* Expired tokens removed each minute, on the loop: at most
 * TOKENS_PURGE_BATCHES writes of TOKENS_PURGE_BATCH each (the writer is held
 * that briefly), the rest in the next minutes.  On PostgreSQL a token is two
 * statements (its read and its delete), so one write of
 * TOKENS_PURGE_BATCH_PG a minute keeps the loop's pause short there.  By
 * the clock authentication uses (the real one). */
#define TOKENS_PURGE_BATCH 500
#define TOKENS_PURGE_BATCHES 8
#define TOKENS_PURGE_BATCH_PG 100

static void tokens_purge(struct rd_app *app)
{
	uint64_t now = (uint64_t)time(NULL);
	bool lmdb = !strcmp(rd_store_backend(app->store), "lmdb");
	int batch = lmdb ? TOKENS_PURGE_BATCH : TOKENS_PURGE_BATCH_PG, batches = lmdb ? TOKENS_PURGE_BATCHES : 1;
	int total = 0, k = 0;
	for (int i = 0; i < batches; i++) {
		if ((k = rd_tokens_purge(app->store, app->domain, now, (size_t)batch)) <= 0)
			break;
		total += k;
		if (k < batch)
			break;
	}
	if (k < 0 && k != RD_EBUSY)
		rd_log(RD_LOG_ERROR, "auth", "expired tokens could not be removed: %s", rd_strerror(k));
	if (total)
		rd_log(RD_LOG_INFO, "auth", "%d expired token(s) removed", total);
}

static void on_leads_tick(uv_timer_t *t)
{
	rd_leads_lapse(t->data);
	tokens_purge(t->data);
}

static void on_drained(void *arg, int in_flight)
{
	struct daemon *d = arg;
	rd_log(RD_LOG_INFO, "daemon", "HTTP drained%s", in_flight ? " (with requests cut off)" : "");
	if (rd_imports_busy())
		rd_log(RD_LOG_INFO, "daemon", "cancelling imports in progress (nothing of one is applied unless its "
		       "commit is already under way: each one's outcome is logged)");
	rd_imports_cancel();
	/* No new sweep or delivery from now on; a batch in flight is waited
	 * for below and its outcome stored (else it would be sent again). */
	if (d->renew)
		rd_renew_stop(d->renew);
	rd_hooks_stop(d->hooks);
	rd_dropfolder_stop(d->dropfolder);
	d->dropfolder = NULL;
	if (d->leads_timer_on) {
		uv_timer_stop(&d->leads_timer);
		uv_close((uv_handle_t *)&d->leads_timer, NULL);
		rd_edi_stop();
		rd_dirwatch_stop(d->edi_watch);
		d->edi_watch = NULL;
		d->leads_timer_on = false;
	}
	d->plugins_deadline = uv_now(d->loop) + d->config.shutdown_timeout_ms;
	uv_timer_init(d->loop, &d->imports_timer);
	d->imports_timer.data = d;
	uv_timer_start(&d->imports_timer, on_imports_tick, 0, 20);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	if (d->stopping) {
		rd_log(RD_LOG_WARN, "daemon", "second %s: still draining, please wait", strsignal(signum));
		return;
	}
	d->stopping = true;
	/* Policy checks and dry runs are cancelled, not waited for: their
	 * requests are answered 503 at once and the drain is not held by a
	 * vendor's script (up to RD_POLICY_JOB_WALL_MS on a busy machine). */
	rd_policy_jobs_cancel();
	notify_manager("STOPPING=1\nSTATUS=%s: draining", strsignal(signum));
	rd_log(RD_LOG_INFO, "daemon", "%s: stop accepting, finish requests in flight (up to %llu ms)", strsignal(signum),
	       (unsigned long long)d->config.shutdown_timeout_ms);
	rd_server_shutdown(d->server, (unsigned)d->config.shutdown_timeout_ms, on_drained, d);
}

/* SIGHUP: the log file is opened again (after rotation) and the settings
 * are read again (file and flags); log_level takes effect now, any other
 * change is named and waits for a restart (docs/operations.md). */
static void on_hup(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	(void)signum;
	int rc = rd_log_reopen();
	if (rc < 0)
		rd_log(RD_LOG_ERROR, "daemon", "SIGHUP: cannot reopen the log file %s: %s", d->config.log_file,
		       strerror(-rc));
	struct rd_config nc;
	char err[1024];
	bool help;
	if (rd_config_load(&nc, d->argc, d->argv, &help, err, sizeof err) < 0) {
		rd_log(RD_LOG_ERROR, "daemon", "SIGHUP: the configuration is not reloaded: %s", err);
		rd_config_free(&nc);
		return;
	}
	rd_config_default_public_url(&nc, rd_server_port(d->server)); /* as at start */
	for (size_t i = 0; i < rd_n_options; i++) {
		const struct rd_option *o = &rd_options[i];
		const void *a = (const char *)&d->config + o->offset, *b = (const char *)&nc + o->offset;
		bool same = o->type == RD_OPT_UINT ? *(const uint64_t *)a == *(const uint64_t *)b
			    : !*(char *const *)a || !*(char *const *)b ? *(char *const *)a == *(char *const *)b
			    : !strcmp(*(char *const *)a, *(char *const *)b);
		if (same)
			continue;
		if (!strcmp(o->name, "log_level")) {
			enum rd_log_level lvl;
			rd_log_parse_level(nc.log_level, &lvl);
			rd_log_set_level(lvl);
			char *t = d->config.log_level;
			d->config.log_level = nc.log_level;
			nc.log_level = t;
			rd_log(RD_LOG_INFO, "daemon", "SIGHUP: log_level is now %s", d->config.log_level);
		} else {
			rd_log(RD_LOG_WARN, "daemon", "SIGHUP: option %s changed: it takes effect at the next start", o->name);
		}
	}
	rd_log(RD_LOG_INFO, "daemon", "SIGHUP: log reopened, configuration read again");
	rd_config_free(&nc);
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	char err[1024];
	bool help;
	signal(SIGPIPE, SIG_IGN);
	/* SIGUSR1 and SIGUSR2 mean nothing to renewd; their default would kill it. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	/* Everything renewd creates (the store, its lock, mail, temporary
	 * bodies, the log) is the service user's alone. */
	umask(077);
	d.argc = argc;
	d.argv = argv;
	/* libuv's thread pool has 4 threads unless told, and one hung plugin may
	 * hold 4 of them (MAX_IN_FLIGHT in plugin/host.c): leave room for the
	 * other plugins, logins and imports.  The operator's UV_THREADPOOL_SIZE
	 * wins; libuv reads it when the pool first starts. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("renewd %s\n", RD_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--routes") == 0) { /* the route table, for docs and tests */
		for (size_t i = 0; i < rd_n_routes; i++) {
			char m[16];
			rd_methods_format(rd_routes[i].method, m, sizeof m);
			printf("%s %s\n", m, rd_routes[i].pattern);
		}
		return 0;
	}
	if (rd_config_load(&d.config, argc, argv, &help, err, sizeof err) < 0) {
		fprintf(stderr, "renewd: %s\n", err);
		rd_config_free(&d.config);
		return 2;
	}
	if (help) {
		rd_config_usage(stdout, "renewd");
		rd_config_free(&d.config);
		return 0;
	}
	enum rd_log_level lvl;
	int rc0;
	rd_log_parse_level(d.config.log_level, &lvl);
	rd_log_set_level(lvl);
	if (d.config.log_file && (rc0 = rd_log_open(d.config.log_file)) < 0) {
		fprintf(stderr, "renewd: option log_file: cannot open %s: %s\n", d.config.log_file, strerror(-rc0));
		rd_config_free(&d.config);
		return 1;
	}
	/* The drop folders' root: made when missing (its parent must exist), and
	 * a directory renewd can write, or the partners' files would never be
	 * taken while renewd ran as if they were. */
	if (d.config.feeds_dir) {
		struct stat fst;
		const char *why = NULL;
		if (mkdir(d.config.feeds_dir, 0750) < 0 && errno != EEXIST)
			why = strerror(errno);
		else if (stat(d.config.feeds_dir, &fst) < 0)
			why = strerror(errno);
		else if (!S_ISDIR(fst.st_mode))
			why = "it is not a directory";
		else if (access(d.config.feeds_dir, W_OK | X_OK) < 0)
			why = strerror(errno);
		if (why) {
			fprintf(stderr, "renewd: option feeds_dir: %s cannot hold the drop folders: %s\n", d.config.feeds_dir,
				why);
			rd_config_free(&d.config);
			return 1;
		}
	}

	struct rd_store *store;
	struct rd_store_opts so = { .map_size = d.config.map_size_bytes, .map_max = d.config.map_max_bytes,
				     .url = d.config.store,
				     .statement_timeout_ms = (uint32_t)d.config.store_statement_timeout_ms,
				     .connect_timeout_s = (uint32_t)d.config.store_connect_timeout_s };
	if (rd_store_open(&store, d.config.data, &so, err, sizeof err) < 0) {
		fprintf(stderr, "renewd: %s\n", err);
		rd_config_free(&d.config);
		return 1;
	}
	/* The data directory is the service user's alone on either store (the
	 * LMDB backend makes it so with its files): on PostgreSQL it holds
	 * secrets.key, node-id, the mail folder and exports. */
	if (strcmp(rd_store_backend(store), "lmdb") && chmod(d.config.data, 0700) != 0)
		rd_log(RD_LOG_WARN, "daemon", "data directory %s could not be made 0700: %s", d.config.data, strerror(errno));
	struct rd_domain dom;
	int rc = rd_auth_init();
	if (rc < 0) {
		fprintf(stderr, "renewd: the crypto library could not start\n");
		rd_store_close(&store);
		rd_config_free(&d.config);
		return 1;
	}
	rc = rd_domain_register(store, &dom);
	if (rc < 0) {
		fprintf(stderr, "renewd: data directory %s: cannot open the tables: %s\n", d.config.data, rd_strerror(rc));
		rd_store_close(&store);
		rd_config_free(&d.config);
		return 1;
	}

	d.loop = uv_default_loop();
	struct rd_metrics *metrics = rd_metrics_new();
	struct rd_app app = { .loop = d.loop, .store = store, .domain = &dom, .metrics = metrics, .config = &d.config };
	if (d.config.test_clock) { /* the settable clock resumes where it was left */
		struct rd_txn *t;
		const void *v;
		size_t len;
		uint64_t at = 0;
		if (rd_store_read(store, &t) == 0) {
			if (rd_txn_meta_get(t, "clock", &v, &len) == 0 && len == sizeof at)
				memcpy(&at, v, sizeof at);
			rd_txn_end(t);
		}
		rd_clock_make_settable(at);
		rd_log(RD_LOG_WARN, "daemon", "test clock: business time is settable (POST /api/v1/clock); never use this in production");
	}
	app.policies = rd_policy_runtime_new();
	d.plugins = app.plugins = rd_plugins_new(store, &dom, d.loop);
	rd_plugins_add_builtins(app.plugins);
	/* The installed plugin directory is the default (docs/operations.md); it
	 * is not an error for it to be missing (a build tree, no plugins). */
	const char *plugin_dir = d.config.plugin_dir;
	struct stat pst;
	if (!plugin_dir && stat(RD_PLUGINDIR, &pst) == 0 && S_ISDIR(pst.st_mode))
		plugin_dir = RD_PLUGINDIR;
	if (plugin_dir) {
		rd_log(RD_LOG_INFO, "plugins", "plugin directory %s%s", plugin_dir, d.config.plugin_dir ? "" : " (the default)");
		rd_plugins_load_dir(app.plugins, plugin_dir);
	} else {
		rd_log(RD_LOG_INFO, "plugins", "no plugin directory (the default %s does not exist): built-in plugins only",
		       RD_PLUGINDIR);
	}
	unsigned sealed = 0, unopened = 0;
	if (rd_plugins_open_secrets(app.plugins, true, err, sizeof err) < 0 ||
	    rd_plugins_set_outbound(app.plugins, d.config.outbound_hosts, err, sizeof err) < 0 ||
	    rd_plugins_set_secret_env(app.plugins, d.config.secret_env, err, sizeof err) < 0 ||
	    (rc = rd_plugins_seal_stored(app.plugins, &sealed, &unopened)) < 0) {
		if (rc < 0)
			snprintf(err, sizeof err, "data directory %s: stored secrets could not be sealed: %s", d.config.data,
				 rd_strerror(rc));
		fprintf(stderr, "renewd: %s\n", err);
		rd_plugins_free(&d.plugins);
		rd_policy_runtime_free(&app.policies);
		rd_metrics_free(&metrics);
		rd_store_close(&store);
		rd_config_free(&d.config);
		return 1;
	}
	if (sealed)
		rd_log(RD_LOG_INFO, "plugins", "sealed the secrets of %u enablement(s) stored in clear", sealed);
	rd_plugins_log_missing(app.plugins);
	if (unopened)
		rd_log(RD_LOG_ERROR, "plugins", "%u stored plugin secret(s) do not open under %s/secrets.key (restored "
		       "without its key?): put the data directory's own secrets.key back, or enable those plugins again",
		       unopened, d.config.data);
	if ((rc = rd_reports_prepare(store, &dom)) < 0 || (rc = rd_list_prepare(store, &dom)) < 0 ||
	    (rc = rd_imports_recover(&app)) < 0) {
		fprintf(stderr, "renewd: data directory %s: %s\n", d.config.data, rd_strerror(rc));
		rd_metrics_free(&metrics);
		rd_store_close(&store);
		rd_config_free(&d.config);
		return 1;
	}
	char body_dir[4096];
	snprintf(body_dir, sizeof body_dir, "%s/bodies", d.config.data);
	struct rd_server_opts ho = {
		.host = d.config.host,
		.port = d.config.port,
		.max_body = d.config.max_body_bytes,
		.max_bulk_body = d.config.max_import_bytes,
		.max_anon_body = d.config.max_anon_body_bytes,
		.max_conns = (unsigned)d.config.max_connections,
		.max_client_conns = (unsigned)d.config.max_client_connections,
		.trusted_proxies = d.config.trusted_proxies,
		.body_dir = body_dir,
		.credentials_ok = rd_call_credentials_ok,
		.req_timeout_ms = (unsigned)d.config.request_timeout_ms,
		.page_error = rd_web_route_error,
		.routes = rd_routes,
		.n_routes = rd_n_routes,
		.app = &app,
		.metrics = metrics,
	};
	if (rd_server_start(&d.server, d.loop, &ho, err, sizeof err) < 0) {
		fprintf(stderr, "renewd: %s\n", err);
		rd_metrics_free(&metrics);
		rd_store_close(&store);
		rd_config_free(&d.config);
		return 1;
	}
	/* Links in e-mails and pages: public_url, else the address bound. */
	rd_config_default_public_url(&d.config, rd_server_port(d.server));
	d.renew = app.renew = rd_renew_new(&app);
	rd_renew_add_hook(app.renew, rd_deals_expire); /* deal registrations past their expiry */
	rd_renew_start(app.renew);
	d.hooks = rd_hooks_start(&app);
	/* orders to distributors' EDI connectors; their inbound folders watched
	 * like the drop folders (a scan every feeds_poll_ms as the fallback) */
	d.edi_watch = rd_dirwatch_start(d.loop, "edi", d.config.feeds_poll_ms, on_edi_scan, &app);
	rd_edi_start(&app, edi_kick, edi_watch, &d);
	rd_orders_reconcile(&app); /* orders a crash or a timeout left unconfirmed (docs/orders.md) */
	uv_timer_init(d.loop, &d.leads_timer);
	d.leads_timer.data = &app;
	uv_timer_start(&d.leads_timer, on_leads_tick, 1000, 60000);
	d.leads_timer_on = true;
	if (d.config.feeds_dir)
		d.dropfolder = rd_dropfolder_start(&app, d.loop, d.config.feeds_dir, d.config.feeds_poll_ms,
						   d.config.max_import_bytes);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sigterm);
	d.sigint.data = d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_init(d.loop, &d.sighup);
	d.sighup.data = &d;
	uv_signal_start(&d.sighup, on_hup, SIGHUP);

	rd_log(RD_LOG_INFO, "daemon", "renewd %s serving data directory %s", RD_VERSION, d.config.data);
	rd_log(RD_LOG_INFO, "http", "listening on http://%s%s%s:%d/", strchr(d.config.host, ':') ? "[" : "",
	       d.config.host, strchr(d.config.host, ':') ? "]" : "", rd_server_port(d.server));
	rd_log(RD_LOG_INFO, "http", "links in e-mails and pages start %s%s", d.config.public_url,
	       d.config.public_url_derived ? " (the address bound; set public_url behind a proxy)" : "");

	notify_manager("READY=1\nSTATUS=serving on %s:%d", d.config.host, rd_server_port(d.server));

	uv_run(d.loop, UV_RUN_DEFAULT);

	rd_server_free(&d.server);
	unsigned abandoned = (d.plugins ? rd_plugins_busy(d.plugins) : 0) + (d.renew && rd_renew_busy(d.renew) ? 1 : 0) +
			     (rd_hooks_busy(d.hooks) ? 1 : 0);
	if (abandoned)
		rd_log(RD_LOG_WARN, "daemon", "%u plugin call(s) or mail deliveries still running are abandoned", abandoned);
	else
		rd_plugins_free(&d.plugins);
	uv_run(d.loop, UV_RUN_NOWAIT); /* let closed handles finish */
	if (abandoned) {
		/* Their threads cannot be joined, and libuv's exit-time destructor
		 * joins the pool: exit() would wait for a hung plugin forever.  Leave
		 * without exit handlers.  Every write is committed; the store stays
		 * open under calls that may still read it, and its lock goes with
		 * the process. */
		if (*rd_store_dir(store)) { /* a clean stop: the lock file empty, as a close leaves it */
			char lock[4200];
			snprintf(lock, sizeof lock, "%s/renewd.lock", rd_store_dir(store));
			if (truncate(lock, 0) != 0)
				rd_log(RD_LOG_WARN, "daemon", "%s: %s (the next start will take this stop for a crash)", lock,
				       strerror(errno));
		}
		rd_log(RD_LOG_INFO, "daemon", "stopped cleanly");
		rd_log_flush();
		fflush(NULL);
		_exit(0);
	}
	rd_hooks_free(&d.hooks);
	if (!d.renew || !rd_renew_busy(d.renew)) {
		rd_renew_free(&d.renew);
		rd_policy_runtime_free(&app.policies);
	}
	rd_store_close(&store);
	rd_metrics_free(&metrics);
	rd_log(RD_LOG_INFO, "daemon", "stopped cleanly");
	rd_log_flush(); /* the loop's kept lines (exit() would flush them too) */
	rd_config_free(&d.config);
	return 0;
}
