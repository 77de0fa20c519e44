/*
 * edi_kit.h: what the EDI connector plugins (connector-x12,
 * connector-edifact) share, linked into each as a small static library: the
 * folder settings and their checks, the output buffer, the control counter
 * with the atomic write into the outbound folder, the read_feed and send
 * skeletons.  Not part of the plugin ABI: nothing here is exported from a
 * plugin's shared object.
 */
#ifndef RD_PLUGINS_EDI_KIT_H
#define RD_PLUGINS_EDI_KIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <renewd/plugin.h>

/* ---- settings ------------------------------------------------------------------------------ */

/* The settings every EDI connector has (sizes fit the larger format). */
struct edikit_common {
	char sender_qual[5], sender_id[36], receiver_qual[5], receiver_id[36];
	char outbound[512], inbound[512];
};

/* One format-specific setting: 1 when key is the format's own (*why set
 * when its value is bad), 0 when unknown. */
typedef int (*edikit_extra_fn)(void *settings, const char *key, json_t *v, const char **why);

struct edikit_format {
	const char *name;                /* "connector-x12" */
	const char *const *qualifiers;   /* the partner id qualifiers taken, NULL-terminated */
	const char *qualifier_rule;      /* "must be ..." for a bad qualifier */
	size_t id_max;                   /* an id's length at most */
	const char *id_rule;             /* "must be ..." for a bad id */
	const char *keys;                /* the settings named for an unknown key */
	edikit_extra_fn extra;           /* the format's own keys; NULL: none */
	const char *what_sent;           /* "orders and functional acknowledgements" */
};

int edikit_known(const char *const *list, const char *q);
int edikit_all_digits(const char *s);
/* Parses a configuration (JSON object) into c and, through f->extra, the
 * rest of settings (the caller sets defaults first).  report: each bad
 * field through host->field_error.  0 or RD_EINVAL. */
int edikit_settings(const struct rd_host_api *host, rd_plugin_ctx *ctx, const struct edikit_format *f, const char *text,
		    struct edikit_common *c, void *settings, int report);

/* ---- writing ------------------------------------------------------------------------------- */

struct edikit_out {
	char *buf;
	size_t len, cap;
	unsigned segs; /* segments since the message header */
};

void edikit_put(struct edikit_out *o, const char *text, size_t n);
void edikit_money(char *out, size_t cap, json_t *obj, const char *key);
const char *edikit_text(json_t *j, const char *key);

/* A file for the outbound folder: its control number comes from the
 * counter kept in the plugin's store under counter (1..modulus, then 1
 * again); the file is named PREFIX-NNN.EXT (width digits). */
struct edikit_file {
	const char *counter, *prefix, *ext;
	uint64_t modulus;
	int width;
};
/* Writes what build makes for control number ctl into outbound: a
 * temporary file first, the number taken only once that file could be
 * made, the counter stored before the file gets its name, and given back
 * when the name cannot be given.  So a number is spent when, and only when,
 * its file is in the folder; a missing or read-only folder spends none.  An
 * existing file of that name is never replaced.  0 (with *ctl), -EIO (the
 * folder; host->error says why) or the store's error. */
typedef void (*edikit_build_fn)(void *arg, uint64_t ctl, struct edikit_out *o);
int edikit_write(const struct rd_host_api *host, rd_plugin_ctx *ctx, const char *outbound, const struct edikit_file *f,
		 edikit_build_fn build, void *arg, uint64_t *ctl);

/* ---- read_feed and send -------------------------------------------------------------------- */

/* The format's own parts, for the skeletons below. */
struct edikit_plugin {
	const struct edikit_format *format;
	size_t settings_size;
	/* the enablement's settings (defaults, then edikit_settings) */
	int (*settings)(rd_plugin_ctx *ctx, const char *text, void *settings, int report);
	/* Checks an inbound interchange whole, appending its records ({"kind",
	 * ...}); on a refusal it leaves in records only the "group" record to
	 * answer with a rejecting acknowledgement (none for an acknowledgement)
	 * and says why in why.  0 or < 0. */
	int (*check)(rd_plugin_ctx *ctx, const void *settings, const void *data, size_t len, json_t *records, char *why,
		     size_t cap);
	/* send(what): the handlers by name, NULL-terminated */
	const struct edikit_send {
		const char *what;
		int (*fn)(rd_plugin_ctx *ctx, const void *settings, json_t *j, char *reference, size_t ref_cap);
	} *sends;
};

int edikit_read_feed(const struct rd_host_api *host, const struct edikit_plugin *p, rd_plugin_ctx *ctx,
		     const void *data, size_t len, rd_feed_sink sink, void *sink_ctx);
int edikit_send(const struct rd_host_api *host, const struct edikit_plugin *p, rd_plugin_ctx *ctx, const char *what,
		const char *json, char *reference, size_t ref_cap);

/* The connector ops of an EDI plugin whose host pointer is `host` and whose
 * kit is `kit` (read_feed and send through the skeletons above). */
#define EDIKIT_CONNECTOR_OPS(ops_name, kit, fmt)                                                                    \
	static int edikit_read_feed_(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sc)    \
	{                                                                                                               \
		return edikit_read_feed(host, &(kit), ctx, data, len, sink, sc);                                        \
	}                                                                                                               \
	static int edikit_send_(rd_plugin_ctx *ctx, const char *what, const char *json, char *ref, size_t cap)         \
	{                                                                                                               \
		return edikit_send(host, &(kit), ctx, what, json, ref, cap);                                            \
	}                                                                                                               \
	static const struct rd_connector_ops ops_name = {                                                               \
		.version = RD_CONNECTOR_OPS_V2,                                                                         \
		.read_feed = edikit_read_feed_,                                                                         \
		.send = edikit_send_,                                                                                   \
		.order_format = fmt,                                                                                    \
	}

#endif
