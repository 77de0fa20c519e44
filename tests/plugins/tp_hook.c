/*
 * tp-hook: a payment plugin for the payment services' unit test
 * (tests/unit/test_payments.c), compiled like a third-party plugin.
 *
 * Option "tp_hook".  authorise holds the payment (reference TPH-<order>);
 * refund counts its calls per reference in the plugin's storage and refuses
 * the reference "TPH-REFUSE"; callback (a webhook) takes the body
 * "<order number> <captured|declined|other> <reference>" signed with the
 * signature "sig-ok": another signature is RD_EINVAL, another event
 * RD_EDECLINED (not about a payment's outcome).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	host = h;
	return 0;
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	(void)ctx;
	snprintf(res->reference, sizeof res->reference, "TPH-%.60s", req->order_ref);
	res->state = RD_PAY_AUTHORISED;
	snprintf(res->message, sizeof res->message, "held");
	return 0;
}

static int refund(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		  struct rd_payment_result *res)
{
	(void)amount, (void)currency;
	if (!strcmp(reference, "TPH-REFUSE")) {
		host->error(ctx, "the gateway refuses this refund");
		return RD_EINVAL;
	}
	char key[160], buf[32];
	size_t len = 0;
	long n = 0;
	snprintf(key, sizeof key, "refunds:%.128s", reference);
	if (host->kv_get(ctx, key, buf, sizeof buf - 1, &len) == 0) {
		buf[len] = 0;
		n = atol(buf);
	}
	int w = snprintf(buf, sizeof buf, "%ld", n + 1);
	int rc = host->kv_put(ctx, key, buf, (size_t)w);
	res->state = RD_PAY_REFUNDED;
	snprintf(res->reference, sizeof res->reference, "%s", reference);
	return rc;
}

static int callback(rd_plugin_ctx *ctx, const void *body, size_t len, const char *signature,
		    struct rd_payment_result *res, char order_ref[64])
{
	char text[512], order[64], state[32], ref[128];
	if (!signature || strcmp(signature, "sig-ok")) {
		host->error(ctx, "the signature does not verify");
		return RD_EINVAL;
	}
	if (len >= sizeof text) {
		host->error(ctx, "the event is too long");
		return RD_EINVAL;
	}
	memcpy(text, body, len);
	text[len] = 0;
	if (sscanf(text, "%63s %31s %127s", order, state, ref) != 3) {
		host->error(ctx, "the event does not parse");
		return RD_EINVAL;
	}
	snprintf(order_ref, 64, "%s", order);
	snprintf(res->reference, sizeof res->reference, "%s", ref);
	if (!strcmp(state, "captured"))
		res->state = RD_PAY_CAPTURED;
	else if (!strcmp(state, "declined"))
		res->state = RD_PAY_DECLINED;
	else
		return RD_EDECLINED;
	snprintf(res->message, sizeof res->message, "event %s", state);
	return 0;
}

static const char *const options[] = { "tp_hook", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
	.authorise = authorise,
	.refund = refund,
	.callback = callback,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-hook",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Test payment plugin (refunds, webhooks)",
	.init = init,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
