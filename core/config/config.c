#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mailaddr.h"
#include "util/netblock.h"

#define OPT(field) offsetof(struct rd_config, field)

const struct rd_option rd_options[] = {
	{ "data", RD_OPT_STRING, OPT(data), NULL, 0, 0, "data directory holding the LMDB store (required)" },
	{ "listen", RD_OPT_STRING, OPT(listen), "127.0.0.1:8080", 0, 0, "address and port to serve HTTP on (port 0: any free port)" },
	{ "log_level", RD_OPT_STRING, OPT(log_level), "info", 0, 0, "debug, info, warn or error" },
	{ "max_body_bytes", RD_OPT_UINT, OPT(max_body_bytes), "1048576", 1, (uint64_t)1 << 30,
	  "largest request body accepted; larger ones get 413" },
	{ "max_import_bytes", RD_OPT_UINT, OPT(max_import_bytes), "67108864", 1, (uint64_t)1 << 32,
	  "largest file POST /api/v1/imports accepts (the upload is held in memory while it is checked)" },
	{ "request_timeout_ms", RD_OPT_UINT, OPT(request_timeout_ms), "10000", 100, 3600000,
	  "a request (headers and body) must arrive within this time" },
	{ "shutdown_timeout_ms", RD_OPT_UINT, OPT(shutdown_timeout_ms), "10000", 0, 3600000,
	  "on SIGINT/SIGTERM, how long requests in flight may take to finish" },
	{ "map_size_bytes", RD_OPT_UINT, OPT(map_size_bytes), "67108864", 1 << 20, (uint64_t)1 << 44,
	  "initial size of the store's memory map (it grows by itself)" },
	{ "plugin_dir", RD_OPT_STRING, OPT(plugin_dir), NULL, 0, 0,
	  "directory of plugin shared objects (*.so) to load at start (default: the installed plugin directory, when it exists); "
	  "the built-in plugins load anyway" },
	{ "test_clock", RD_OPT_UINT, OPT(test_clock), "0", 0, 1,
	  "1: a settable clock (POST /api/v1/clock, renewctl clock set) for tests and demos; refused with production" },
	{ "production", RD_OPT_UINT, OPT(production), "0", 0, 1, "1: a production deployment: refuses test_clock" },
	{ "test_crash_after_authorise", RD_OPT_UINT, OPT(test_crash_after_authorise), "0", 0, 1,
	  "tests only, with test_clock: 1 kills renewd (SIGKILL) right after a payment plugin answers \"paid\", before the order is stored" },
	{ "mail_transport", RD_OPT_STRING, OPT(mail_transport), "maildir", 0, 0,
	  "maildir (writes .eml files into DATA/mail) or an SMTP URL smtp://host:port / smtps://host:port" },
	{ "mail_from", RD_OPT_STRING, OPT(mail_from), "renewals@localhost", 0, 0, "the From address of every message: local@domain, or Display Name <local@domain> (the name may be UTF-8)" },
	{ "mail_starttls", RD_OPT_UINT, OPT(mail_starttls), "0", 0, 1, "1: require STARTTLS on smtp:// transports" },
	{ "mail_user", RD_OPT_STRING, OPT(mail_user), NULL, 0, 0,
	  "SMTP user name; the password is read from the environment variable RENEWD_SMTP_PASSWORD" },
	{ "sched_interval_ms", RD_OPT_UINT, OPT(sched_interval_ms), "60000", 100, 86400000,
	  "how often the scheduler sweeps for due actions (it also sweeps at start and when the test clock moves)" },
	{ "claim_lease_ms", RD_OPT_UINT, OPT(claim_lease_ms), "60000", 200, 3600000,
	  "PostgreSQL store, several nodes: how long a node's claim on a vendor's sweep or on a message's delivery "
	  "lasts unless renewed; another node takes the work over once it has run out" },
	{ "sweep_chunk_ms", RD_OPT_UINT, OPT(sweep_chunk_ms), "200", 0, 60000,
	  "PostgreSQL store: a vendor-day's sweep commits in chunks of about this long, each renewing the sweep's "
	  "claim, the loop free between them (0: the day in one transaction); unused on LMDB" },
	{ "policy_jobs_per_vendor", RD_OPT_UINT, OPT(policy_jobs_per_vendor), "2", 1, 64,
	  "how many policy checks and dry runs of one vendor may run on the thread pool at once; more are refused (429)" },
	{ "mail_retry_ms", RD_OPT_UINT, OPT(mail_retry_ms), "30000", 10, 3600000,
	  "first retry delay after a failed delivery; it doubles per attempt, up to an hour" },
	{ "mail_render_at_queue", RD_OPT_UINT, OPT(mail_render_at_queue), "0", 0, 1,
	  "1: the sweep stores each message rendered when it queues it (the format before send-time rendering); "
	  "0: it stores the templates' version and parameters and the text is rendered when it is sent" },
	{ "mail_json_contexts", RD_OPT_UINT, OPT(mail_json_contexts), "0", 0, 1,
	  "1: the sweep builds its messages' contexts as JSON trees and renders from them (the path before typed "
	  "contexts, kept to compare: the same bytes); 0: typed contexts" },
	{ "public_url", RD_OPT_STRING, OPT(public_url), NULL, 0, 0,
	  "base URL of links in e-mails and pages, http:// or https:// with a host (default: the address actually "
	  "bound, http://HOST:PORT with port 0 resolved)" },
	{ "outbound_hosts", RD_OPT_STRING, OPT(outbound_hosts), "api.stripe.com", 0, 0,
	  "the only hosts plugins may send HTTP to: host, host:port or [IPv6]:port, separated by commas; loopback, "
	  "private and link-local addresses only when that address is listed itself" },
	{ "secret_env", RD_OPT_STRING, OPT(secret_env), NULL, 0, 0,
	  "environment secrets plugins may name (secret:NAME), per vendor: VENDOR/NAME=VARIABLE, separated by commas" },
	{ "map_max_bytes", RD_OPT_UINT, OPT(map_max_bytes), "1099511627776", 1 << 20, (uint64_t)1 << 46,
	  "the store's map never grows past this" },
	{ "max_anon_body_bytes", RD_OPT_UINT, OPT(max_anon_body_bytes), "65536", 1, (uint64_t)1 << 30,
	  "largest body of a request without valid credentials (logins, portal forms); refused before it is read" },
	{ "max_connections", RD_OPT_UINT, OPT(max_connections), "256", 1, 65536,
	  "open HTTP connections at most; more are closed at once" },
	{ "max_client_connections", RD_OPT_UINT, OPT(max_client_connections), "64", 1, 65536,
	  "open HTTP connections from one client address (an IPv6 /64) at most; more are closed at once" },
	{ "trusted_proxies", RD_OPT_STRING, OPT(trusted_proxies), NULL, 0, 0,
	  "reverse proxies and load balancers in front (addresses or ADDRESS/BITS blocks, comma-separated): a "
	  "request from one is counted as from the client its X-Forwarded-For names; default none" },
	{ "log_file", RD_OPT_STRING, OPT(log_file), NULL, 0, 0, "append the log to this file (0600), reopened on SIGHUP; default stderr" },
	{ "webhook_retry_ms", RD_OPT_UINT, OPT(webhook_retry_ms), "30000", 10, 3600000,
	  "first retry delay after a failed webhook delivery; it doubles per attempt, up to an hour" },
	{ "webhook_max_attempts", RD_OPT_UINT, OPT(webhook_max_attempts), "8", 1, 100,
	  "webhook delivery attempts before a delivery is given up (exhausted) and a webhook.exhausted event is queued" },
	{ "feeds_dir", RD_OPT_STRING, OPT(feeds_dir), NULL, 0, 0,
	  "connector-csv: the root of partners' drop folders, FEEDS_DIR/VENDOR-SLUG/PARTNER-EXTERNAL-ID/ (docs/connectors.md); default off" },
	{ "feeds_poll_ms", RD_OPT_UINT, OPT(feeds_poll_ms), "5000", 50, 3600000,
	  "connector-csv and the EDI connectors: how often the drop folders and EDI inbound folders are scanned besides inotify's notices" },
	{ "health_mail_failing_ms", RD_OPT_UINT, OPT(health_mail_failing_ms), "900000", 0, 604800000,
	  "/healthz answers degraded (mail_failing) once mail delivery has failed for this long with no message delivered since" },
	{ "health_sweep_failing_ms", RD_OPT_UINT, OPT(health_sweep_failing_ms), "0", 0, 604800000,
	  "/healthz answers degraded (sweep_failing) once a vendor's sweeps have failed, or left failed actions, for this long (0: from the first)" },
	{ "store", RD_OPT_STRING, OPT(store), "lmdb", 0, 0,
	  "where the records live: lmdb (in the data directory) or a postgresql:// URL (docs/scaling.md; "
	  "give the password in PGPASSWORD or a .pgpass file, not in the URL)" },
	{ "store_statement_timeout_ms", RD_OPT_UINT, OPT(store_statement_timeout_ms), "5000", 0, 3600000,
	  "PostgreSQL store: a statement running longer is cancelled and its request answers 503 (the node "
	  "waits for the database at most this long a statement); 0: no limit" },
	{ "store_connect_timeout_s", RD_OPT_UINT, OPT(store_connect_timeout_s), "5", 2, 600,
	  "PostgreSQL store: a connection attempt to the database gives up after this many seconds (libpq's "
	  "connect_timeout; its least is 2)" },
};
const size_t rd_n_options = sizeof rd_options / sizeof *rd_options;

static int set_text(struct rd_config *c, const struct rd_option *o, const char *v, const char *origin, char *err,
		    size_t errlen)
{
	void *slot = (char *)c + o->offset;
	if (o->type == RD_OPT_STRING) {
		if (!*v) {
			snprintf(err, errlen, "%s: option %s must not be empty", origin, o->name);
			return RD_EINVAL;
		}
		free(*(char **)slot);
		*(char **)slot = rd_strdup(v);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || *v == '-') {
		snprintf(err, errlen, "%s: option %s wants a whole number, not \"%s\"", origin, o->name, v);
		return RD_EINVAL;
	}
	if (n < o->min || n > o->max) {
		snprintf(err, errlen, "%s: option %s is %llu, outside %llu..%llu", origin, o->name, n,
			 (unsigned long long)o->min, (unsigned long long)o->max);
		return RD_ERANGE;
	}
	*(uint64_t *)slot = n;
	return 0;
}

static const struct rd_option *find(const char *name, size_t len)
{
	for (size_t i = 0; i < rd_n_options; i++)
		if (strlen(rd_options[i].name) == len && memcmp(rd_options[i].name, name, len) == 0)
			return &rd_options[i];
	return NULL;
}

static int load_file(struct rd_config *c, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	/* Opened here, so that a file that cannot be read is named as such
	 * rather than as a JSON position (line -1, or a directory's "end of
	 * file"). */
	FILE *f = fopen(path, "r");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0 || S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "config %s: %s", path,
			 f && S_ISDIR(st.st_mode) ? "is a directory, not a file" : strerror(errno));
		if (f)
			fclose(f);
		return RD_EINVAL;
	}
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!root) {
		snprintf(err, errlen, "config %s: %s (line %d, column %d)", path, je.text, je.line, je.column);
		return RD_EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config %s: the file must hold a JSON object", path);
		json_decref(root);
		return RD_EINVAL;
	}
	const char *key;
	json_t *v;
	int rc = 0;
	char origin[512];
	snprintf(origin, sizeof origin, "config %s", path);
	json_object_foreach(root, key, v) {
		if (strncmp(key, "//", 2) == 0) /* a comment: "// name": "text" or ["lines"] (the example file's notes) */
			continue;
		const struct rd_option *o = find(key, strlen(key));
		if (!o) {
			snprintf(err, errlen, "config %s: unknown option \"%s\"", path, key);
			rc = RD_EINVAL;
			break;
		}
		char buf[64];
		const char *text;
		if (o->type == RD_OPT_STRING && json_is_string(v)) {
			text = json_string_value(v);
		} else if (o->type == RD_OPT_UINT && json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			text = buf;
		} else {
			snprintf(err, errlen, "config %s: option %s must be %s", path, key,
				 o->type == RD_OPT_STRING ? "a string" : "a whole number");
			rc = RD_EINVAL;
			break;
		}
		if ((rc = set_text(c, o, text, origin, err, errlen)) < 0)
			break;
	}
	json_decref(root);
	return rc;
}

static int parse_listen(struct rd_config *c, char *err, size_t errlen)
{
	const char *colon = strrchr(c->listen, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == c->listen || !colon[1] || *end || port < 0 || port > 65535 ||
	    (size_t)(colon - c->listen) >= sizeof c->host) {
		snprintf(err, errlen, "option listen must be HOST:PORT (for example 127.0.0.1:8080), not \"%s\"", c->listen);
		return RD_EINVAL;
	}
	const char *h = c->listen;
	size_t hl = (size_t)(colon - c->listen);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [::1]:8080 */
		h++;
		hl -= 2;
	} else if (memchr(h, ':', hl)) {
		snprintf(err, errlen, "option listen: write an IPv6 address in brackets, as [::1]:8080, not \"%s\"", c->listen);
		return RD_EINVAL;
	}
	memcpy(c->host, h, hl);
	c->host[hl] = 0;
	c->port = (int)port;
	return 0;
}

/* What is wrong with the host part of a URL (rest, hl bytes up to the path):
 * a name, an IPv4 address or a bracketed IPv6 address, with an optional
 * :PORT 1..65535; NULL when nothing is. */
static const char *host_port_why(const char *rest, size_t hl, bool underscore)
{
	const char *why = NULL, *port = NULL;
	if (rest[0] == '[') {
		const char *close = memchr(rest, ']', hl);
		if (!close || close == rest + 1)
			why = "an IPv6 host must be in brackets, as [::1]:8080";
		else if (close + 1 < rest + hl && close[1] != ':')
			why = "only :PORT may follow the bracketed host";
		else if (close + 1 < rest + hl)
			port = close + 2;
	} else {
		const char *colon = memchr(rest, ':', hl);
		size_t name = colon ? (size_t)(colon - rest) : hl;
		if (!name)
			why = "it has no host";
		for (size_t i = 0; !why && i < name; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", rest[i]) &&
			    !(underscore && rest[i] == '_'))
				why = underscore ? "its host may hold letters, digits, '.', '-' and '_' only"
						 : "its host may hold letters, digits, '.' and '-' only";
		if (colon)
			port = colon + 1;
	}
	if (!why && port) {
		size_t pl = (size_t)(rest + hl - port);
		long n = pl && pl <= 5 && strspn(port, "0123456789") >= pl ? strtol(port, NULL, 10) : -1;
		if (n < 1 || n > 65535)
			why = "its port must be 1 to 65535";
	}
	return why;
}

/* public_url: http or https, a host (name, IPv4 or [IPv6]), an optional
 * port and path; no user, query, fragment or spaces. */
static int check_public_url(const char *u, char *err, size_t errlen)
{
	const char *why = NULL;
	const char *rest = !strncasecmp(u, "http://", 7) ? u + 7 : !strncasecmp(u, "https://", 8) ? u + 8 : NULL;
	if (!rest)
		why = "it must start with http:// or https://";
	else
		why = host_port_why(rest, strcspn(rest, "/"), false);
	if (!why && strpbrk(rest, "?# \t\r\n\\\"<>"))
		why = "it may hold no query, fragment, spaces or quotes";
	if (why) {
		snprintf(err, errlen, "option public_url must be an http:// or https:// URL with a host, as "
			 "https://renewals.example.com: %s (not \"%s\")", why, u);
		return RD_EINVAL;
	}
	return 0;
}

/* mail_transport: maildir, or smtp:// / smtps:// with a host, an optional
 * port and an optional path (the name curl greets the server with); no
 * user, query, fragment or spaces (the SMTP user and password have their
 * own options), and short enough for the mailer to keep whole. */
static int check_mail_transport(const char *u, char *err, size_t errlen)
{
	if (!strcmp(u, "maildir"))
		return 0;
	const char *why = NULL;
	const char *rest = !strncmp(u, "smtp://", 7) ? u + 7 : !strncmp(u, "smtps://", 8) ? u + 8 : NULL;
	if (!rest)
		why = "it must be maildir or start with smtp:// or smtps://";
	else if (strlen(u) >= 400)
		why = "it is longer than 399 bytes";
	else if (strchr(rest, '@')) { /* not echoed: it may hold a password */
		snprintf(err, errlen, "option mail_transport must be maildir, smtp://host:port or smtps://host:port: it "
			 "may hold no user or password (mail_user and RENEWD_SMTP_PASSWORD carry them)");
		return RD_EINVAL;
	} else if (strpbrk(rest, "?# \t\r\n\\\"<>"))
		why = "it may hold no query, fragment, spaces or quotes";
	else /* '_': a container's service name, which curl resolves */
		why = host_port_why(rest, strcspn(rest, "/"), true);
	if (why) {
		snprintf(err, errlen, "option mail_transport must be maildir, smtp://host:port or smtps://host:port: %s "
			 "(not \"%s\")", why, u);
		return RD_EINVAL;
	}
	return 0;
}

int rd_config_load(struct rd_config *c, int argc, char **argv, bool *help, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	*help = false;
	int rc;
	for (size_t i = 0; i < rd_n_options; i++)
		if (rd_options[i].def && (rc = set_text(c, &rd_options[i], rd_options[i].def, "default", err, errlen)) < 0)
			return rc;
	/* The file first, wherever --config appears, so flags always win. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
			const char *path = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
			if (!path) {
				snprintf(err, errlen, "--config needs a file name");
				return RD_EINVAL;
			}
			if ((rc = load_file(c, path, err, errlen)) < 0)
				return rc;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
			return 0;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (options start with --; see --help)", a);
			return RD_EINVAL;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		char key[64];
		if (nl >= sizeof key) {
			snprintf(err, errlen, "unknown option --%.*s (see --help)", (int)(nl > 60 ? 60 : nl), name);
			return RD_EINVAL;
		}
		for (size_t k = 0; k < nl; k++)
			key[k] = name[k] == '-' ? '_' : name[k];
		key[nl] = 0;
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
		if (!eq)
			i++;
		if (strcmp(key, "config") == 0)
			continue;
		const struct rd_option *o = find(key, nl);
		if (!o) {
			snprintf(err, errlen, "unknown option --%.*s (see --help)", (int)nl, name);
			return RD_EINVAL;
		}
		if (!value || (!eq && strncmp(value, "--", 2) == 0)) {
			snprintf(err, errlen, "option --%.*s needs a value", (int)nl, name);
			return RD_EINVAL;
		}
		char origin[80];
		snprintf(origin, sizeof origin, "flag --%.*s", (int)nl, name);
		if ((rc = set_text(c, o, value, origin, err, errlen)) < 0)
			return rc;
	}
	if (!c->data) {
		snprintf(err, errlen, "no data directory: pass --data DIR (or \"data\" in the config file)");
		return RD_EINVAL;
	}
	enum rd_log_level lvl;
	if (rd_log_parse_level(c->log_level, &lvl) < 0) {
		snprintf(err, errlen, "option log_level must be debug, info, warn or error, not \"%s\"", c->log_level);
		return RD_EINVAL;
	}
	if (c->production && c->test_clock) {
		snprintf(err, errlen, "option test_clock is refused by a production configuration (production is 1)");
		return RD_EINVAL;
	}
	if (c->test_crash_after_authorise && !c->test_clock) {
		snprintf(err, errlen, "option test_crash_after_authorise is for tests: it needs test_clock");
		return RD_EINVAL;
	}
	if ((rc = check_mail_transport(c->mail_transport, err, errlen)) < 0)
		return rc;
	{
		char name[256], addr[256], why[300];
		if (rd_mail_address_parse(c->mail_from, name, sizeof name, addr, sizeof addr, why, sizeof why) < 0) {
			snprintf(err, errlen, "option mail_from: %s", why);
			return RD_EINVAL;
		}
	}
	if (strcmp(c->store, "lmdb") && strncmp(c->store, "postgresql://", 13) && strncmp(c->store, "postgres://", 11)) {
		snprintf(err, errlen, "option store must be lmdb or a postgresql:// URL, not \"%.60s\"", c->store);
		return RD_EINVAL;
	}
	if (c->map_max_bytes < c->map_size_bytes) {
		snprintf(err, errlen, "option map_max_bytes (%llu) is smaller than map_size_bytes (%llu)",
			 (unsigned long long)c->map_max_bytes, (unsigned long long)c->map_size_bytes);
		return RD_EINVAL;
	}
	if (c->public_url && check_public_url(c->public_url, err, errlen) < 0)
		return RD_EINVAL;
	if (c->trusted_proxies) {
		struct rd_netblock blocks[RD_NETBLOCKS_MAX];
		size_t n;
		char why[200];
		if (rd_netblocks_parse(c->trusted_proxies, blocks, &n, why, sizeof why) < 0) {
			snprintf(err, errlen, "option trusted_proxies: %s", why);
			return RD_EINVAL;
		}
	}
	return parse_listen(c, err, errlen);
}

void rd_config_default_public_url(struct rd_config *c, int bound_port)
{
	if (c->public_url)
		return;
	char name[256] = "";
	const char *host = c->host;
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !*host) {
		if (gethostname(name, sizeof name - 1) == 0 && *name)
			host = name;
		else
			host = "localhost";
	}
	bool v6 = strchr(host, ':') != NULL;
	char url[400];
	snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", bound_port);
	c->public_url = rd_strdup(url);
	c->public_url_derived = true;
}

void rd_config_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s --data DIR [--listen HOST:PORT] [--config FILE] [options]\n\n", prog);
	fprintf(f, "Every option may also be set in the JSON config file under its name;\nflags override the file.\n\n");
	for (size_t i = 0; i < rd_n_options; i++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", rd_options[i].name);
		for (char *p = flag + 2; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  %-24s %s", flag, rd_options[i].help);
		if (rd_options[i].def)
			fprintf(f, " (default %s)", rd_options[i].def);
		fputc('\n', f);
	}
	fprintf(f, "  %-24s %s\n", "--config FILE", "read options from a JSON file");
}

void rd_config_free(struct rd_config *c)
{
	for (size_t i = 0; i < rd_n_options; i++)
		if (rd_options[i].type == RD_OPT_STRING) {
			char **slot = (char **)((char *)c + rd_options[i].offset);
			free(*slot);
			*slot = NULL;
		}
}
