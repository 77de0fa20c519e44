/*
 * giftcard: a third-party payment plugin for renewd, built out of tree
 * against the installed header only:
 *
 *   cc -shared -fPIC -O2 $(pkg-config --cflags renewd-plugin) \
 *      -o giftcard.so giftcard.c $(pkg-config --cflags --libs jansson)
 *
 * It offers the payment option "gift_card": the customer enters a code.
 * The cards and their values come from the enablement's configuration
 * (validated field by field in configure); what has been spent on each card
 * is kept in the plugin's private storage in renewd's store (host->kv_*).
 *
 * Configuration: {"currency": "GBP", "balances": {"GC-1000": 50000, ...}}
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	/* This plugin needs storage and the configuration: refuse a renewd too
	 * old to offer them, with a sentence saying so. */
	if (!RD_HOST_HAS(h, kv_put) || !RD_HOST_HAS(h, config)) {
		h->error(ctx, "needs a renewd with plugin storage and configuration");
		return RD_EINVAL;
	}
	host = h;
	host->log(ctx, RD_PLOG_INFO, "gift cards ready");
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
		if (!strcmp(key, "currency")) {
			const char *c = json_string_value(v);
			if (!c || strlen(c) != 3) {
				host->field_error(ctx, key, "must be an ISO 4217 code such as GBP");
				bad = 1;
			}
		} else if (!strcmp(key, "balances")) {
			const char *code;
			json_t *amount;
			if (!json_is_object(v)) {
				host->field_error(ctx, key, "must map gift card codes to amounts in minor units");
				bad = 1;
				continue;
			}
			json_object_foreach(v, code, amount) {
				if (!json_is_integer(amount) || json_integer_value(amount) < 0 || strlen(code) > 64) {
					host->field_error(ctx, key, "the balance of %s must be a whole amount >= 0", code);
					bad = 1;
				}
			}
		} else {
			host->field_error(ctx, key, "unknown setting (currency, balances)");
			bad = 1;
		}
	}
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

/* The balance left on a card: what was spent is kept in storage. */
static long long spent(rd_plugin_ctx *ctx, const char *code)
{
	char key[96], buf[32];
	size_t len = 0;
	snprintf(key, sizeof key, "spent:%s", code);
	if (host->kv_get(ctx, key, buf, sizeof buf - 1, &len) < 0)
		return 0;
	buf[len] = 0;
	return atoll(buf);
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	/* Repeat-safe: an order already paid under this idempotency key answers
	 * as it did, without spending the card again. */
	char idem[128], done[128];
	size_t dlen = 0;
	snprintf(idem, sizeof idem, "paid:%.100s", req->idempotency_key ? req->idempotency_key : "");
	if (req->idempotency_key && host->kv_get(ctx, idem, done, sizeof done - 1, &dlen) == 0) {
		done[dlen] = 0;
		res->state = RD_PAY_CAPTURED;
		snprintf(res->reference, sizeof res->reference, "%s", done);
		snprintf(res->message, sizeof res->message, "paid by gift card");
		return 0;
	}
	json_t *cfg = json_loads(host->config(ctx), 0, NULL);
	json_t *m = json_loads(req->method_json ? req->method_json : "{}", 0, NULL);
	const char *code = json_string_value(json_object_get(m, "code"));
	const char *currency = json_string_value(json_object_get(cfg, "currency"));
	json_t *bal = code ? json_object_get(json_object_get(cfg, "balances"), code) : NULL;
	int rc = 0;
	if (!bal) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "unknown gift card");
	} else if (currency && strcmp(currency, req->currency) != 0) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "gift cards are in %s", currency);
	} else if (json_integer_value(bal) - spent(ctx, code) < req->amount) {
		res->state = RD_PAY_DECLINED;
		snprintf(res->message, sizeof res->message, "the gift card does not cover the amount");
	} else {
		char key[96], buf[32];
		snprintf(key, sizeof key, "spent:%s", code);
		int n = snprintf(buf, sizeof buf, "%lld", spent(ctx, code) + (long long)req->amount);
		if ((rc = host->kv_put(ctx, key, buf, (size_t)n)) < 0) {
			host->error(ctx, "the balance could not be updated");
		} else {
			res->state = RD_PAY_CAPTURED;
			snprintf(res->reference, sizeof res->reference, "GIFT-%.64s-%.40s", code, req->order_ref);
			snprintf(res->message, sizeof res->message, "paid by gift card");
			if (req->idempotency_key &&
			    (rc = host->kv_put(ctx, idem, res->reference, strlen(res->reference))) < 0)
				host->error(ctx, "the payment could not be recorded");
		}
	}
	json_decref(m);
	json_decref(cfg);
	return rc;
}

static int probe(rd_plugin_ctx *ctx)
{
	return 0;
}

static const char *const options[] = { "gift_card", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
	.authorise = authorise,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "giftcard",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Pay with a gift card code (an out-of-tree example)",
	.init = init,
	.configure = configure,
	.probe = probe,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
