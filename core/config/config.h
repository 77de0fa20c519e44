/*
 * config.h: renewd's settings.  One table of options drives the JSON config
 * file, the command-line flags (--name-with-dashes), --help and the
 * documentation check (docs/configuration.md lists every option).
 */
#ifndef RD_CONFIG_CONFIG_H
#define RD_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct rd_config {
	char *data;               /* data directory (required) */
	char *listen;             /* HOST:PORT */
	char *log_level;
	uint64_t max_body_bytes;
	uint64_t max_import_bytes;
	uint64_t request_timeout_ms;
	uint64_t shutdown_timeout_ms;
	uint64_t map_size_bytes;
	uint64_t map_max_bytes;
	char *plugin_dir;
	uint64_t test_clock;      /* 1: settable clock (tests, demo) */
	uint64_t production;      /* 1: refuse anything meant for tests */
	uint64_t test_crash_after_authorise; /* 1 (tests only, needs test_clock): SIGKILL after a payment plugin's
					      * "paid" answer, before the order's commit (docs/orders.md) */
	char *mail_transport;     /* "maildir" (DATA/mail) or smtp://host:port, smtps://... */
	char *mail_from;
	uint64_t mail_starttls;   /* smtp: 1 require STARTTLS */
	char *mail_user;          /* smtp auth; the password comes from RENEWD_SMTP_PASSWORD */
	uint64_t sched_interval_ms;
	uint64_t claim_lease_ms;
	uint64_t sweep_chunk_ms;  /* PostgreSQL: a vendor-day's sweep commits after about this long (0: one transaction) */
	uint64_t policy_jobs_per_vendor; /* policy checks and dry runs of one vendor on the thread pool at once */
	uint64_t mail_retry_ms;   /* first retry delay; doubles per attempt up to an hour */
	uint64_t mail_render_at_queue; /* 1: messages stored rendered when queued (the format before send-time rendering) */
	uint64_t mail_json_contexts; /* 1: the sweep's message contexts as JSON trees (the path before typed contexts) */
	char *public_url;         /* base of links in e-mails, e.g. https://renewals.example.com */
	char *outbound_hosts;     /* where plugin HTTP may go: host, host:port, [v6]:port, comma-separated */
	char *secret_env;         /* VENDOR/NAME=VARIABLE mappings for plugins' secret:NAME, comma-separated */
	uint64_t max_anon_body_bytes, max_connections, max_client_connections; /* the edge: docs/security.md */
	char *trusted_proxies;    /* proxies whose X-Forwarded-For names the client: addresses and blocks, comma-separated */
	char *log_file;           /* NULL: stderr; reopened on SIGHUP */
	uint64_t webhook_retry_ms, webhook_max_attempts; /* outbound webhooks: first retry delay, attempts */
	char *feeds_dir;          /* connector-csv: partners' drop folders under it; NULL: off */
	uint64_t feeds_poll_ms;   /* how often the drop folders are scanned besides inotify */
	uint64_t health_mail_failing_ms, health_sweep_failing_ms; /* /healthz: degraded past these (docs/operations.md) */
	char *store;              /* "lmdb" (in data) or "postgresql://..." (docs/scaling.md) */
	uint64_t store_statement_timeout_ms, store_connect_timeout_s; /* PostgreSQL: docs/scaling.md */
	/* Derived from listen. */
	char host[64];
	int port;
	bool public_url_derived;  /* public_url was not set: rd_config_default_public_url made it */
};

enum rd_opt_type { RD_OPT_STRING, RD_OPT_UINT };

struct rd_option {
	const char *name;     /* JSON key; the flag is --name with '-' for '_' */
	enum rd_opt_type type;
	size_t offset;
	const char *def;      /* default, as text; NULL: none */
	uint64_t min, max;    /* for RD_OPT_UINT */
	const char *help;
};

extern const struct rd_option rd_options[];
extern const size_t rd_n_options;

/* Fills defaults, then the config file named by --config (if any), then the
 * flags, which win.  Returns 0, or < 0 with one sentence in err naming the
 * option and what is wrong.  *help is set when --help was given. */
int rd_config_load(struct rd_config *c, int argc, char **argv, bool *help, char *err, size_t errlen);
void rd_config_usage(FILE *f, const char *prog);
/* Without a public_url, links use the address actually bound: http://HOST:PORT
 * with port the bound one (listen's port 0 resolved); a wildcard host (0.0.0.0,
 * ::) becomes the machine's host name.  Nothing when public_url is set. */
void rd_config_default_public_url(struct rd_config *c, int bound_port);
void rd_config_free(struct rd_config *c);

#endif
