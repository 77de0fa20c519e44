/*
 * renewd/plugin.h: the plugin ABI of renewd.
 *
 * This header (with renewd/errors.h) is all a plugin author compiles
 * against: `cc -shared -fPIC $(pkg-config --cflags renewd-plugin) -o x.so x.c`.
 * A plugin never links against daemon symbols; everything it may ask of
 * renewd comes through the table of host services it is handed at init.
 *
 * Lifecycle (strict and paired):
 *
 *   dlopen(RTLD_NOW | RTLD_LOCAL)
 *   renewd_plugin_entry()          returns the descriptor (static storage)
 *   descriptor checks              ABI version, sizes, name, kind, ops version
 *   init(ctx, host)                once; may refuse (return < 0 with host->error)
 *   configure(ctx, config)         each time an administrator enables the plugin
 *                                  for a vendor or a partner: validate, report
 *                                  every bad field, keep nothing
 *   ops calls                      on renewd's thread pool, any number, possibly
 *                                  concurrently from several threads
 *   deinit(ctx)                    once, only after a successful init
 *   dlclose
 *
 * A refused plugin (wrong ABI, missing symbol, failed init, ...) is reported
 * with its reason in GET /api/v1/plugins and `renewctl plugins`, and renewd
 * carries on with the others.
 *
 * Ownership rules, used throughout:
 *   - "borrowed": the pointer stays valid for the duration of the call only;
 *     copy what you keep.
 *   - "static": must stay valid until dlclose (string literals, static data).
 *   - memory a host service returns says who frees it, next to the service.
 *
 * Stability: RENEWD_PLUGIN_ABI changes only when an existing field changes
 * meaning or place; then every plugin must be rebuilt, and renewd refuses an
 * old one with "built for ABI X, this renewd is Y: rebuild".  New host
 * services and new ops are only ever appended; a plugin checks
 * host->size (RD_HOST_HAS) before using a service newer than the one it was
 * built with, and renewd checks each ops table's version before reading
 * fields added later.  Every callback is optional (NULL: not supported).
 */
#ifndef RENEWD_PLUGIN_H
#define RENEWD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <renewd/errors.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RENEWD_PLUGIN_ABI 1

/* The one symbol renewd looks up in a plugin. */
#define RENEWD_PLUGIN_ENTRY "renewd_plugin_entry"
#define RENEWD_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Opaque: renewd's handle for one loaded plugin (and, during a call, the
 * vendor and partner the call is for).  Pass it back to host services. */
typedef struct rd_plugin_ctx rd_plugin_ctx;

enum rd_plugin_kind {
	RD_PLUGIN_PAYMENT = 1,   /* payment options: authorise, capture, refund, gateway callbacks */
	RD_PLUGIN_BRANDING = 2,  /* templates and assets for e-mails, pages and PDFs */
	RD_PLUGIN_CONNECTOR = 3, /* distributor/reseller feeds in, orders and status out */
};

enum rd_log_level_plugin { RD_PLOG_DEBUG = 0, RD_PLOG_INFO = 1, RD_PLOG_WARN = 2, RD_PLOG_ERROR = 3 };

/* ---- host services ------------------------------------------------------ */

/* An outbound HTTP request (the host's client; TLS verified).  All borrowed. */
struct rd_http_request {
	const char *method;        /* "GET", "POST", ... */
	const char *url;           /* http:// or https:// */
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const void *body;
	size_t body_len;
	uint32_t timeout_ms;       /* 0: 10 000 */
};

struct rd_http_response {
	int status;                /* 0 when no response arrived */
	char *body;                /* owned by the host: release with host->release() */
	size_t body_len;
};

/* What renewd offers every plugin.  Append-only; check size before use. */
struct rd_host_api {
	uint32_t abi;   /* RENEWD_PLUGIN_ABI of the running renewd */
	uint32_t size;  /* sizeof(struct rd_host_api) in the running renewd */

	/* Writes one line to renewd's log, tagged with the plugin's name. */
	void (*log)(rd_plugin_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* Sets the message explaining why the current init, configure or call
	 * fails; renewd prefixes it ("plugin po: configure: ...") and owns the
	 * copy.  Return a negative code after calling it. */
	void (*error)(rd_plugin_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	/* During configure: one bad field of the configuration (a JSON name such
	 * as "terms_days"), with why.  Call it once per bad field. */
	void (*field_error)(rd_plugin_ctx *ctx, const char *field, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* The platform's clock (the one renewd's scheduler uses): unix seconds. */
	int64_t (*now)(rd_plugin_ctx *ctx);
	/* Plugin-private storage in renewd's store, per vendor (the vendor of the
	 * current call; during init: the plugin's global space).  Keys are text
	 * up to 128 bytes, values up to 64 KiB.  get copies into buf and sets *len
	 * (RD_ENOTFOUND when absent, RD_ETOOBIG when cap is short). */
	int (*kv_get)(rd_plugin_ctx *ctx, const char *key, void *buf, size_t cap, size_t *len);
	int (*kv_put)(rd_plugin_ctx *ctx, const char *key, const void *val, size_t len);
	int (*kv_del)(rd_plugin_ctx *ctx, const char *key);
	/* A blocking HTTP exchange: call it from ops callbacks (they run on the
	 * thread pool), never from init or configure.  0 when a response arrived
	 * (any status), < 0 otherwise (with a message in the log).  Only to
	 * hosts on the operator's allow-list (outbound_hosts; RD_EINVAL
	 * otherwise); loopback, private and link-local addresses only when that
	 * address is listed itself; redirects are not followed. */
	int (*http)(rd_plugin_ctx *ctx, const struct rd_http_request *req, struct rd_http_response *resp);
	/* Releases memory a host service handed out. */
	void (*release)(void *p);
	/* A secret by name, from renewd's environment, for the vendor of the
	 * current call only: the operator maps (vendor, name) to an environment
	 * variable in renewd's configuration (secret_env, "acme/stripe_key=
	 * ACME_STRIPE_KEY").  NULL when the name is not mapped to this vendor or
	 * the variable is unset (the same answer whether or not another vendor
	 * has that name).  Static until renewd exits; never log it. */
	const char *(*secret)(rd_plugin_ctx *ctx, const char *name);
	/* The configuration (JSON text) the current call runs under, as the
	 * administrator enabled it for this vendor or partner; borrowed. */
	const char *(*config)(rd_plugin_ctx *ctx);
};

/* Is the service `field` present in the running renewd's table? */
#define RD_HOST_HAS(host, field) \
	((host)->size >= offsetof(struct rd_host_api, field) + sizeof((host)->field) && (host)->field != NULL)

/* ---- payment ------------------------------------------------------------- */

/* An amount is integer minor units with an ISO 4217 code: never a float. */
struct rd_payment_request {
	const char *order_ref;       /* renewd's order reference, e.g. "RO-2027-000123" (borrowed) */
	const char *idempotency_key; /* repeat-safe: the same key must not charge twice (borrowed) */
	int64_t amount;
	char currency[4];
	const char *option;          /* which of the plugin's options the customer chose (borrowed) */
	const char *customer_json;   /* billing name, e-mail, address as JSON (borrowed) */
	const char *method_json;     /* option-specific input: a card token, a PO number (borrowed) */
};

enum rd_payment_state {
	RD_PAY_AUTHORISED = 1,  /* held, to be captured */
	RD_PAY_CAPTURED = 2,    /* money taken */
	RD_PAY_PENDING = 3,     /* awaiting something outside (a PO approval, net terms) */
	RD_PAY_DECLINED = 4,
	RD_PAY_REFUNDED = 5,
};

struct rd_payment_result {
	int state;              /* enum rd_payment_state */
	char reference[128];    /* the gateway's or plugin's reference */
	char message[256];      /* for people: why declined, what happens next */
	/* authorise, RD_PAY_PENDING: the payment page the customer is sent to
	 * (a hosted checkout), when method_json carried a "return_url" (a host
	 * that reads this field says so that way; write it only then).  The
	 * gateway sends the customer back to return_url and confirms the
	 * payment by webhook (callback): the order is paid only then. */
	char redirect_url[512];
	/* Appended (older plugins leave them zero): the amount, in minor
	 * units, and the ISO 4217 currency the gateway reports for the
	 * payment; 0 and "" when not reported.  callback, RD_PAY_CAPTURED: a
	 * payment whose reported amount or currency is not the order's total
	 * and currency does not pay the order (renewd records it and logs it
	 * for a person); a callback that reports neither is trusted as before,
	 * so a plugin that can read them from its gateway's event should. */
	int64_t amount;
	char currency[4];
};

#define RD_PAYMENT_OPS_V1 1
#define RD_PAYMENT_OPS_V2 2   /* appends labels */
struct rd_payment_ops {
	uint32_t version;       /* RD_PAYMENT_OPS_V1 or RD_PAYMENT_OPS_V2 */
	/* The options this plugin offers: static, NULL-terminated, e.g.
	 * {"card", NULL} or {"purchase_order", NULL}. */
	const char *const *options;
	int (*authorise)(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res);
	int (*capture)(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		       struct rd_payment_result *res);
	int (*refund)(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		      struct rd_payment_result *res);
	/* A gateway's callback to renewd (a webhook), body and signature header
	 * borrowed: verify it, then report the payment it concerns. */
	int (*callback)(rd_plugin_ctx *ctx, const void *body, size_t len, const char *signature,
			struct rd_payment_result *res, char order_ref[64]);

	/* ---- V2 (read only when version >= RD_PAYMENT_OPS_V2) ---- */

	/* Static, parallel to options: what a customer reads for each option
	 * on the checkout page ("Purchase order", "Pay by card"), plain text of
	 * at most 63 bytes.  NULL, or a NULL or "" entry: renewd shows the
	 * option's name.  A V1 plugin (built before this field) loads as before
	 * and its options show their names. */
	const char *const *labels;
};

/* ---- branding ------------------------------------------------------------ */

#define RD_BRANDING_OPS_V1 1
struct rd_branding_ops {
	uint32_t version;       /* RD_BRANDING_OPS_V1 */
	/* A template or asset by name ("email/quote_notice.html", "portal.css",
	 * "logo.svg"): *data is static (or lives until deinit), *len its size.
	 * RD_ENOTFOUND when the pack does not have it (renewd falls back to its
	 * default pack). */
	int (*asset)(rd_plugin_ctx *ctx, const char *name, const void **data, size_t *len, const char **content_type);
};

/* ---- connectors ---------------------------------------------------------- */

/* A record read from a feed, handed to renewd one at a time. */
typedef int (*rd_feed_sink)(void *sink_ctx, const char *kind, const char *record_json);

#define RD_CONNECTOR_OPS_V1 1
#define RD_CONNECTOR_OPS_V2 2   /* appends order_format */
struct rd_connector_ops {
	uint32_t version;       /* RD_CONNECTOR_OPS_V1 or RD_CONNECTOR_OPS_V2 */
	/* Reads a feed (a file's bytes, borrowed) and hands each record to the
	 * sink: kind "customer", "product" or "contract", the record as JSON in
	 * renewd's import columns (docs/imports.md). */
	int (*read_feed)(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sink_ctx);
	/* Sends an order or status to the distributor; the JSON is borrowed. */
	int (*send)(rd_plugin_ctx *ctx, const char *what, const char *json, char *reference, size_t ref_cap);

	/* ---- V2 (read only when version >= RD_CONNECTOR_OPS_V2) ---- */

	/* Static: the order documents this connector exchanges with a
	 * distributor ("x12", "edifact"), NULL when none.  When set, renewd
	 * calls send("order", order JSON) for each order placed or paid
	 * through a distributor the connector is enabled for (that partner's
	 * own enablement), and reads that enablement's "inbound_dir": each
	 * file goes to read_feed, whose records (kinds "order_ack" {order,
	 * ack}, "order_invoice" {order, invoice, amount}, "functional_ack"
	 * {group, status}) update the orders, all of a file or none
	 * (docs/connectors.md); for each record of kind "group" {fid, group}
	 * renewd then calls send("functional_ack", {fid, group, accepted})
	 * with whether the file was applied. */
	const char *order_format;
};

/* ---- the descriptor -------------------------------------------------------- */

struct rd_plugin {
	uint32_t abi;             /* RENEWD_PLUGIN_ABI this plugin was built with */
	uint32_t size;            /* sizeof(struct rd_plugin) as built */
	const char *name;         /* static; [a-z0-9-], unique among loaded plugins */
	const char *version;      /* static; the plugin's own version */
	uint32_t kind;            /* enum rd_plugin_kind */
	const char *description;  /* static; one sentence for administrators */
	/* Optional.  Called once after the checks; host is static.  It gets 5 s
	 * (on a thread of its own): one that has not returned is refused. */
	int (*init)(rd_plugin_ctx *ctx, const struct rd_host_api *host);
	/* Optional.  Validates a configuration (JSON text, borrowed): report each
	 * bad field with host->field_error and return < 0; 0 when it is good.
	 * renewd's loop waits for it (at most 2 s, then the configuration is
	 * refused): no I/O here. */
	int (*configure)(rd_plugin_ctx *ctx, const char *config_json);
	/* Optional.  A quick check that the configured service answers (runs on
	 * the thread pool, under a timeout). */
	int (*probe)(rd_plugin_ctx *ctx);
	/* Optional.  Called once, only after a successful init. */
	void (*deinit)(rd_plugin_ctx *ctx);
	/* The kind's ops: struct rd_payment_ops, rd_branding_ops or
	 * rd_connector_ops; static.  May be NULL. */
	const void *ops;

	/* ---- appended (read only when size covers it) ---- */

	/* Optional, static, NULL-terminated: the names of the top-level
	 * configuration settings that are secrets (API keys, webhook secrets),
	 * e.g. {"secret_key", "webhook_secret", NULL}.  renewd stores them sealed
	 * under its key (never in clear), never shows them again ("set" or
	 * "unset" in every answer, audit entry and listing), keeps the stored
	 * one when a new configuration omits it or sends "set", and hands the
	 * plugin the plain value only inside configure and ops calls (through
	 * the configuration text and host->config).  A secret must be a string. */
	const char *const *secret_settings;
};

/* The entry point every plugin exports:
 *   RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void);
 */
typedef const struct rd_plugin *(*rd_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
