/*
 * tp-good: a well-formed payment plugin for the loader tests.
 *
 * Configuration: {"account": "ACME-1" (required, 1-32 characters),
 *                 "limit": positive integer (optional)}; anything else is an
 * unknown setting.  Each bad field is reported with host->field_error.
 *
 * probe counts its calls in the plugin's storage (host->kv_get/kv_put from
 * the thread pool) and checks the value reads back; authorise keeps each
 * idempotency key's reference in storage so a repeat does not charge twice.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	if (!RD_HOST_HAS(h, kv_put) || !RD_HOST_HAS(h, kv_get) || !RD_HOST_HAS(h, config)) {
		h->error(ctx, "needs plugin storage and configuration");
		return RD_EINVAL;
	}
	host = h;
	host->log(ctx, RD_PLOG_INFO, "tp-good ready");
	return 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	json_t *j = json_loads(config, 0, NULL);
	int bad = 0;
	if (!json_is_object(j)) {
		host->field_error(ctx, "", "the configuration must be a JSON object");
		json_decref(j);
		return RD_EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		if (!strcmp(key, "account")) {
			const char *s = json_string_value(v);
			if (!s || !*s || strlen(s) > 32) {
				host->field_error(ctx, key, "must be an account code of 1-32 characters");
				bad = 1;
			}
		} else if (!strcmp(key, "limit")) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				host->field_error(ctx, key, "must be a positive amount in minor units");
				bad = 1;
			}
		} else {
			host->field_error(ctx, key, "unknown setting (account, limit)");
			bad = 1;
		}
	}
	if (!json_object_get(j, "account")) {
		host->field_error(ctx, "account", "is required");
		bad = 1;
	}
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

static int probe(rd_plugin_ctx *ctx)
{
	char buf[32];
	size_t len = 0;
	long long n = 0;
	int rc = host->kv_get(ctx, "probes", buf, sizeof buf - 1, &len);
	if (rc == 0) {
		buf[len] = 0;
		n = atoll(buf);
	} else if (rc != RD_ENOTFOUND) {
		host->error(ctx, "kv_get failed (%d)", rc);
		return rc;
	}
	int w = snprintf(buf, sizeof buf, "%lld", n + 1);
	if ((rc = host->kv_put(ctx, "probes", buf, (size_t)w)) < 0) {
		host->error(ctx, "kv_put failed (%d)", rc);
		return rc;
	}
	char back[32];
	if ((rc = host->kv_get(ctx, "probes", back, sizeof back - 1, &len)) < 0) {
		host->error(ctx, "kv_get after kv_put failed (%d)", rc);
		return rc;
	}
	back[len] = 0;
	if (strcmp(back, buf) != 0) {
		host->error(ctx, "kv_get read back %s after kv_put of %s", back, buf);
		return RD_EINTERNAL;
	}
	return 0;
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	char key[160];
	size_t len = 0;
	snprintf(key, sizeof key, "idem:%.120s", req->idempotency_key ? req->idempotency_key : "");
	int rc = host->kv_get(ctx, key, res->reference, sizeof res->reference - 1, &len);
	if (rc == 0) { /* a repeat: the same answer, no second charge */
		res->reference[len] = 0;
		res->state = RD_PAY_AUTHORISED;
		snprintf(res->message, sizeof res->message, "already authorised");
		return 0;
	}
	if (rc != RD_ENOTFOUND) {
		host->error(ctx, "storage: %d", rc);
		return rc;
	}
	int n = snprintf(res->reference, sizeof res->reference, "TPG-%.60s", req->order_ref);
	if ((rc = host->kv_put(ctx, key, res->reference, (size_t)n)) < 0) {
		host->error(ctx, "storage: %d", rc);
		return rc;
	}
	res->state = RD_PAY_AUTHORISED;
	snprintf(res->message, sizeof res->message, "authorised");
	return 0;
}

static void deinit(rd_plugin_ctx *ctx)
{
	host->log(ctx, RD_PLOG_INFO, "tp-good deinit");
}

static const char *const options[] = { "tp_card", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
	.authorise = authorise,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-good",
	.version = "1.2.3",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Test payment plugin (configure, probe, storage)",
	.init = init,
	.configure = configure,
	.probe = probe,
	.deinit = deinit,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
