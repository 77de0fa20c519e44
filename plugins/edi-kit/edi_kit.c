/*
 * edi_kit.c: what the EDI connector plugins share (edi_kit.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edi_kit.h"

/* One counter update at a time (take, write, store, name). */
static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;

int edikit_known(const char *const *list, const char *q)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(q, list[i]))
			return 1;
	return 0;
}

int edikit_all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int good_id(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != ' ')
			return 0;
	return 1;
}

#define BAD(field, ...)                                          \
	do {                                                     \
		bad = 1;                                         \
		if (report)                                      \
			host->field_error(ctx, field, __VA_ARGS__); \
	} while (0)

int edikit_settings(const struct rd_host_api *host, rd_plugin_ctx *ctx, const struct edikit_format *f, const char *text,
		    struct edikit_common *c, void *settings, int report)
{
	json_t *j = json_loads(text ? text : "", 0, NULL);
	memset(c, 0, sizeof *c);
	if (!json_is_object(j)) {
		if (report)
			host->field_error(ctx, "", "the configuration must be a JSON object");
		json_decref(j);
		return RD_EINVAL;
	}
	int bad = 0;
	const char *key, *why;
	json_t *v;
	json_object_foreach(j, key, v) {
		const char *str = json_string_value(v);
		if (!strcmp(key, "sender_qualifier") || !strcmp(key, "receiver_qualifier")) {
			if (!str || !edikit_known(f->qualifiers, str))
				BAD(key, "%s", f->qualifier_rule);
			else
				snprintf(key[0] == 's' ? c->sender_qual : c->receiver_qual, sizeof c->sender_qual, "%s", str);
		} else if (!strcmp(key, "sender_id") || !strcmp(key, "receiver_id")) {
			if (!str || !good_id(str, f->id_max))
				BAD(key, "%s", f->id_rule);
			else
				snprintf(key[0] == 's' ? c->sender_id : c->receiver_id, sizeof c->sender_id, "%s", str);
		} else if (!strcmp(key, "outbound_dir") || !strcmp(key, "inbound_dir")) {
			if (!str || str[0] != '/' || strlen(str) > 400)
				BAD(key, "must be an absolute folder path");
			else
				snprintf(key[0] == 'o' ? c->outbound : c->inbound, sizeof c->outbound, "%s", str);
		} else if (f->extra && f->extra(settings, key, v, &why)) {
			if (why)
				BAD(key, "%s", why);
		} else {
			BAD(key, "unknown setting (%s)", f->keys);
		}
	}
	static const char *const required[] = { "sender_qualifier", "sender_id", "receiver_qualifier", "receiver_id",
						"outbound_dir", "inbound_dir", NULL };
	for (int i = 0; required[i]; i++)
		if (!json_object_get(j, required[i]))
			BAD(required[i], "is required");
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

void edikit_put(struct edikit_out *o, const char *text, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			abort();
	}
	memcpy(o->buf + o->len, text, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* An amount of the order JSON: renewd's decimal in the currency's own
 * exponent (KEY_decimal: JPY "5000", KWD "24.690") when it sends one, else
 * the minor units with two decimals (an older renewd). */
void edikit_money(char *out, size_t cap, json_t *obj, const char *key)
{
	char dk[48];
	snprintf(dk, sizeof dk, "%s_decimal", key);
	const char *dec = json_string_value(json_object_get(obj, dk));
	if (dec && *dec && strlen(dec) < cap && strspn(dec, "-0123456789.") == strlen(dec)) {
		snprintf(out, cap, "%s", dec);
		return;
	}
	json_int_t minor = json_integer_value(json_object_get(obj, key));
	snprintf(out, cap, "%s%lld.%02lld", minor < 0 ? "-" : "", (long long)(minor < 0 ? -minor : minor) / 100,
		 (long long)(minor < 0 ? -minor : minor) % 100);
}

const char *edikit_text(json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));
	return v ? v : "";
}

static int counter_get(const struct rd_host_api *host, rd_plugin_ctx *ctx, const char *key, uint64_t *n)
{
	char buf[32] = { 0 };
	size_t len = 0;
	*n = 0;
	int rc = host->kv_get(ctx, key, buf, sizeof buf - 1, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	buf[len < sizeof buf ? len : sizeof buf - 1] = 0;
	*n = strtoull(buf, NULL, 10);
	return 0;
}

static int counter_put(const struct rd_host_api *host, rd_plugin_ctx *ctx, const char *key, uint64_t n)
{
	char buf[32];
	int l = snprintf(buf, sizeof buf, "%" PRIu64, n);
	return host->kv_put(ctx, key, buf, (size_t)l);
}

int edikit_write(const struct rd_host_api *host, rd_plugin_ctx *ctx, const char *outbound, const struct edikit_file *f,
		 edikit_build_fn build, void *arg, uint64_t *ctl)
{
	char tmp[600], path[700], name[96];
	snprintf(tmp, sizeof tmp, "%s/.%s-pending-XXXXXX", outbound, f->prefix);
	pthread_mutex_lock(&ctl_mu);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		pthread_mutex_unlock(&ctl_mu);
		host->error(ctx, "cannot write into the outbound folder %s: %s (no control number taken)", outbound,
			    strerror(e));
		return -EIO;
	}
	uint64_t before, n;
	int rc = counter_get(host, ctx, f->counter, &before);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		pthread_mutex_unlock(&ctl_mu);
		host->error(ctx, "cannot take a control number from the store");
		return rc;
	}
	n = before % f->modulus + 1;
	struct edikit_out o = { 0 };
	build(arg, n, &o);
	size_t done = 0;
	while (done < o.len) {
		ssize_t w = write(fd, o.buf + done, o.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	int ok = done == o.len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	free(o.buf);
	if (!ok) {
		int e = errno;
		unlink(tmp);
		pthread_mutex_unlock(&ctl_mu);
		host->error(ctx, "cannot write into the outbound folder %s: %s (no control number taken)", outbound,
			    strerror(e));
		return -EIO;
	}
	if ((rc = counter_put(host, ctx, f->counter, n)) < 0) {
		unlink(tmp);
		pthread_mutex_unlock(&ctl_mu);
		host->error(ctx, "cannot store the control number");
		return rc;
	}
	snprintf(name, sizeof name, "%s-%0*" PRIu64 ".%s", f->prefix, f->width, n, f->ext);
	snprintf(path, sizeof path, "%s/%s", outbound, name);
	if (link(tmp, path) != 0) { /* unlike rename, never replaces a file of that name */
		int e = errno;
		unlink(tmp);
		if (counter_put(host, ctx, f->counter, before) < 0) /* given back; if not, a gap, never a repeat */
			host->log(ctx, RD_PLOG_WARN, "control number %" PRIu64 " is skipped", n);
		pthread_mutex_unlock(&ctl_mu);
		host->error(ctx, "cannot write %s into the outbound folder: %s (no control number taken)", name,
			    strerror(e));
		return -EIO;
	}
	unlink(tmp);
	pthread_mutex_unlock(&ctl_mu);
	*ctl = n;
	return 0;
}

/* The enablement's settings, checked (silently: configure reported them). */
static int load(const struct rd_host_api *host, const struct edikit_plugin *p, rd_plugin_ctx *ctx, void **out)
{
	void *s = *out = calloc(1, p->settings_size);
	if (!s)
		return -ENOMEM;
	if (p->settings(ctx, host->config(ctx), s, 0) < 0) {
		free(s);
		*out = NULL;
		host->error(ctx, "the enablement's configuration is not valid");
		return RD_EINVAL;
	}
	return 0;
}

int edikit_read_feed(const struct rd_host_api *host, const struct edikit_plugin *p, rd_plugin_ctx *ctx,
		     const void *data, size_t len, rd_feed_sink sink, void *sink_ctx)
{
	void *s;
	int lrc = load(host, p, ctx, &s);
	if (lrc < 0)
		return lrc;
	char why[400] = "";
	json_t *records = json_array();
	int rc = p->check(ctx, s, data, len, records, why, sizeof why);
	if (rc == 0) {
		size_t i;
		json_t *r;
		json_array_foreach(records, i, r) {
			char *text = json_dumps(r, JSON_COMPACT);
			rc = sink(sink_ctx, json_string_value(json_object_get(r, "kind")), text);
			free(text);
			if (rc < 0)
				break;
		}
	} else {
		/* the group to answer with a rejecting acknowledgement (renewd
		 * sends it through send("functional_ack"), retried if need be) */
		size_t i;
		json_t *r;
		json_array_foreach(records, i, r) {
			const char *kind = json_string_value(json_object_get(r, "kind"));
			if (kind && !strcmp(kind, "group")) {
				char *text = json_dumps(r, JSON_COMPACT);
				sink(sink_ctx, kind, text);
				free(text);
			}
		}
		if (why[0])
			host->error(ctx, "%s", why);
	}
	json_decref(records);
	free(s);
	return rc;
}

int edikit_send(const struct rd_host_api *host, const struct edikit_plugin *p, rd_plugin_ctx *ctx, const char *what,
		const char *json, char *reference, size_t ref_cap)
{
	void *s;
	int lrc = load(host, p, ctx, &s);
	if (lrc < 0)
		return lrc;
	json_t *j = json_loads(json, 0, NULL);
	int rc = RD_EINVAL;
	if (!json_is_object(j)) {
		host->error(ctx, "the %s is not a JSON object", what);
	} else {
		const struct edikit_send *h = p->sends;
		while (h->what && strcmp(h->what, what))
			h++;
		if (h->what)
			rc = h->fn(ctx, s, j, reference, ref_cap);
		else
			host->error(ctx, "%s sends %s, not \"%s\"", p->format->name, p->format->what_sent, what);
	}
	json_decref(j);
	free(s);
	return rc;
}
