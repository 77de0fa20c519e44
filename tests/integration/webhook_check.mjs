// webhook_check.mjs: an independent check of renewd's webhooks, with the npm
// standardwebhooks and cloudevents packages (called by test_webhooks_out.py).
//   node webhook_check.mjs verify FILE   FILE: {"secrets": [...], "messages": [{"headers": {}, "body": ""}]}
//     prints [{ok, error?, event?}] per message: ok when EVERY secret verifies it
//     and the body parses as a CloudEvents 1.0 structured event
//   node webhook_check.mjs sign SECRET ID UNIX_SECONDS BODY_FILE
//     prints the webhook-signature standardwebhooks computes
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Webhook } = require("standardwebhooks");
const { HTTP, ValidationError } = require("cloudevents");

const [mode, ...args] = process.argv.slice(2);
if (mode === "sign") {
  const [secret, id, ts, file] = args;
  const body = readFileSync(file, "utf8");
  process.stdout.write(new Webhook(secret).sign(id, new Date(Number(ts) * 1000), body));
} else if (mode === "verify") {
  const input = JSON.parse(readFileSync(args[0], "utf8"));
  const out = input.messages.map((m) => {
    try {
      for (const s of input.secrets) new Webhook(s).verify(m.body, m.headers);
      const ev = HTTP.toEvent({ headers: m.headers, body: m.body });
      const e = Array.isArray(ev) ? ev[0] : ev;
      e.validate();
      return { ok: true, event: { specversion: e.specversion, id: e.id, type: e.type, source: e.source,
                                  subject: e.subject, time: e.time, data: e.data } };
    } catch (err) {
      return { ok: false, error: String(err && err.message ? err.message : err),
               validation: err instanceof ValidationError };
    }
  });
  process.stdout.write(JSON.stringify(out));
} else {
  process.stderr.write("usage: webhook_check.mjs verify FILE | sign SECRET ID TS BODY_FILE\n");
  process.exit(2);
}
