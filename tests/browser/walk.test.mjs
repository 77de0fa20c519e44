// The whole walk, as the Checkout issue's "Done when" states it, through one
// renewd: a WSG-STD-2 contract of Abbott Dental Group (CUST-1001) through
// Harbour Networks (RES-GOLD) is quoted; the partner opens the link in its
// quote_notice e-mail, is sent to sign in, signs in, follows the link again
// and decides on that page that the vendor sells; the customer opens the
// customer_notice e-mail's /c/ link, chooses an up-sell AND a cross-sell,
// sees the chosen lines on the purchase page, edits the billing e-mail and
// pays by card on the fake gateway's (tests/fakegw) page: the amount the
// gateway charges and the order's total are the total the portal showed
// (read from the page, whatever rule made it); back in the portal, paid;
// the confirmation and the receipt with the invoice reach the edited
// address.  Then the customer asks for a call-back from the portal, and the
// vendor admin assigns and closes that task in the console's inbox
// (/vendor/tasks).  Each person has a browser context of their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { addDays, launchBrowser, linkToken, login, newPage, REPO, World } from './lib/world.mjs';

const FLOW = 'walk';
const CARD = '4242424242424242';
const BILLING_EMAIL = 'finance-team@abbott-walk.example';
const CALLBACK_MESSAGE = 'Please call me about adding seats before the renewal starts.';

// "GBP 1,234.56" (renewd's pages) or "1234.56 GBP" (the gateway's) -> minor units.
function minor(text) {
  const m = /(\d[\d,]*)\.(\d{2})/.exec(text);
  assert.ok(m, `no amount in ${JSON.stringify(text)}`);
  return Number(m[1].replace(/,/g, '')) * 100 + Number(m[2]);
}

describe('the walk: partner decides, customer buys with an up-sell and a cross-sell, vendor closes the call-back',
  { timeout: 180000 }, () => {
    let w;
    let browser;
    let gw;
    let gwBase;
    const people = {}; // who -> { page, context }
    const s = {}; // what the steps learn

    before(async () => {
      w = await World.start(FLOW);
      browser = await launchBrowser();
      for (const who of ['partner', 'customer', 'admin']) {
        const { page, context } = await newPage(browser, w);
        people[who] = { page, context };
      }
      gw = spawn('python3', [path.join(REPO, 'tests', 'fakegw', 'fakegw.py'), '--lifetime', '200'],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise((resolve, reject) => {
        gw.stdout.once('data', (d) => resolve(parseInt(String(d), 10)));
        gw.once('exit', (code) => reject(new Error(`fakegw exited with ${code}`)));
      });
      gwBase = `http://127.0.0.1:${port}`;
    });

    after(async () => {
      for (const p of Object.values(people)) await p.context.close().catch(() => {});
      await browser?.close().catch(() => {});
      gw?.kill();
      w?.cleanup();
    });

    test('a WSG-STD-2 contract is quoted and its reseller is e-mailed the link to decide', async () => {
      await w.ok('POST', '/api/v1/plugins/payment-card/enablements', { config: {
        base_url: gwBase, secret_key: 'sk_test_fakegw', webhook_secret: 'whsec_fakegw' } }, 201);
      const r = await fetch(`${gwBase}/control/config`, { method: 'POST', body: JSON.stringify({
        webhook_url: `${w.base}/webhooks/payments/payment-card?vendor=${w.vendor.id}` }) });
      assert.equal(r.status, 200);
      const today = await w.today();
      const cust = await w.byExternal('customers', 'CUST-1001');
      const gold = await w.byExternal('partners', 'RES-GOLD');
      const product = (await w.items('/api/v1/products')).find((x) => x.sku === 'WSG-STD-2');
      const end = addDays(today, w.window + 1);
      const k = await w.ok('POST', '/api/v1/contracts', { external_id: 'K-WALK-1', customer_id: cust.id,
        product_id: product.id, reseller_id: gold.id, quantity: 15, start: addDays(end, -365), end, term: 'annual' }, 201);
      await w.setClock(addDays(today, 1));
      const opp = await w.until('the quote of K-WALK-1', async () =>
        (await w.items('/api/v1/opportunities?state=pending_decision')).find((o) => o.contract_id === k.id));
      const upsell = opp.lines.find((l) => l.optional && l.kind === 'upsell');
      const cross = opp.lines.filter((l) => l.optional && l.kind === 'crosssell');
      assert.ok(upsell && cross.length >= 2, JSON.stringify(opp.lines));
      // The reseller's notice of this quote, as it lies in DATA/mail.
      const notice = await w.waitMail((m) => m.kind === 'quote_notice' && m.text.includes(opp.number),
        `the quote notice of ${opp.number}`);
      assert.ok(notice.to.includes(gold.email), `${notice.to} is RES-GOLD's ${gold.email}`);
      const m = /(https?:\/\/\S+?\/partner\/opportunities\/(\d+))(?=\s|$)/.exec(notice.text);
      assert.ok(m, `a /partner/opportunities/ link in ${notice.file}:\n${notice.text}`);
      assert.equal(Number(m[2]), opp.id);
      assert.equal(new URL(m[1]).origin, w.base);
      Object.assign(s, { cust, gold, opp, upsell, cross: cross[0], notChosen: cross.slice(1), decisionLink: m[1] });
    });

    test('the partner follows the link, signs in, follows it again and lets the vendor sell', async () => {
      assert.ok(s.decisionLink, 'the link from the previous step');
      const { page } = people.partner;
      await page.goto(s.decisionLink);
      assert.equal(new URL(page.url()).pathname, '/login', 'a partner without a session is sent to sign in');
      await w.shot(page, FLOW, 'partner-sign-in');
      await login(page, w, 'partner');
      assert.equal(new URL(page.url()).pathname, '/partner');
      await page.goto(s.decisionLink);
      assert.equal(page.url(), s.decisionLink);
      await w.shot(page, FLOW, 'partner-opportunity');
      assert.equal(await page.textContent('h1'), `Quote ${s.opp.number}`);
      assert.equal(await page.textContent('#state'), 'awaiting your decision');
      const vendorSells = page.getByRole('button', { name: `${w.vendor.name} sells it` });
      assert.equal(await vendorSells.count(), 1, await page.textContent('main'));
      assert.equal(await page.getByRole('button', { name: 'We sell it' }).count(), 1);
      // The quote's total reads as renewd wrote it (the portal's script once
      // took any #total for the customer's live total: "undefined NaN.NaN").
      const html = await (await page.request.get(s.decisionLink)).text();
      const served = /<strong id="total">([^<]+)<\/strong>/.exec(html);
      assert.ok(served, 'the page has the quote\'s total');
      assert.match(served[1], /^GBP \d[\d,]*\.\d{2}$/);
      assert.equal((await page.textContent('#total')).trim(), served[1]);
      await Promise.all([page.waitForURL(`${w.base}/partner`), vendorSells.click()]);
      await page.goto(s.decisionLink);
      await w.shot(page, FLOW, 'partner-decided');
      assert.equal(await page.textContent('#state'), 'the vendor sells');
      assert.equal(await page.locator('form[action$="/decision"]').count(), 0, 'decided: no buttons left');
      const o = await w.get(`/api/v1/opportunities/${s.opp.id}`);
      assert.equal(o.state, 'published_vendor');
      assert.equal(o.publish, 'vendor');
      assert.equal(o.decided_by_default, 0);
      assert.deepEqual(page.problems, []);
      // The vendor sells: the customer is e-mailed the portal link.
      const mail = await w.waitMail((x) => x.kind === 'customer_notice' && x.ref === `notice:${s.opp.id}`,
        'the customer notice');
      assert.ok(mail.to.includes(s.cust.email), mail.to);
      s.token = linkToken(mail);
    });

    test('the customer chooses an up-sell and a cross-sell; the purchase page lists them with the total', async () => {
      assert.ok(s.token, 'the customer link from the previous step');
      const { page } = people.customer;
      await page.goto(`${w.base}/c/${s.token}`);
      assert.equal(new URL(page.url()).pathname, '/portal');
      for (const l of [s.upsell, s.cross]) await page.locator(`input.optional[value="${l.sku}"]`).check();
      for (const l of s.notChosen) assert.equal(await page.locator(`input.optional[value="${l.sku}"]`).isChecked(), false);
      await page.locator('#accept').check();
      s.quoteTotal = (await page.textContent('output#total')).trim();
      await w.shot(page, FLOW, 'customer-quote');
      await Promise.all([page.waitForURL(`${w.base}/portal/purchase`), page.click('#buy')]);
      await w.shot(page, FLOW, 'customer-purchase');
      const rows = await page.$$eval('#purchase-lines tbody tr', (trs) => trs.map((tr) => tr.textContent));
      for (const l of [s.upsell, s.cross]) assert.ok(rows.some((r) => r.includes(l.description)), `${l.description} in ${rows}`);
      for (const l of s.notChosen) assert.ok(!rows.some((r) => r.includes(l.description)), `${l.description} not chosen: ${rows}`);
      s.pageTotal = (await page.textContent('#purchase-total')).trim();
      // The live total on the quote is the total the purchase page asks for.
      assert.equal(s.pageTotal, s.quoteTotal);
      const o = await w.get(`/api/v1/opportunities/${s.opp.id}`);
      const chosen = o.lines.filter((l) => l.optional && l.selected).map((l) => l.sku).sort();
      assert.deepEqual(chosen, [s.upsell.sku, s.cross.sku].sort(), JSON.stringify(o.lines));
      assert.deepEqual(people.customer.page.problems, []);
    });

    test('with the billing e-mail edited, the card pays on the gateway\'s page exactly the total the portal showed', async () => {
      assert.ok(s.pageTotal, 'the purchase page from the previous step');
      const { page } = people.customer;
      await page.fill('#email', BILLING_EMAIL);
      await page.check('input[name=option][value=card]');
      await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('form[action="/portal/order"] button[type=submit]')]);
      await w.shot(page, FLOW, 'customer-ordered');
      const link = page.locator('#pay-by-card');
      assert.equal(await link.count(), 1, await page.textContent('main'));
      await Promise.all([page.waitForURL(`${gwBase}/pay/**`), link.click()]);
      const charged = (await page.textContent('h1')).trim();
      assert.match(charged, /^Pay \d+\.\d{2} GBP$/);
      assert.equal(minor(charged), minor(s.pageTotal), `the gateway asks ${charged}, the portal showed ${s.pageTotal}`);
      await page.fill('#card-number', CARD);
      await page.fill('#card-expiry', '12/30');
      await page.fill('#card-cvc', '123');
      await w.shot(page, FLOW, 'gateway-page');
      await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('#pay')]);
      await w.shot(page, FLOW, 'customer-paid');
      assert.match(await page.textContent('main'), /Your payment is received/);
      assert.equal(await page.textContent('#billing-email'), BILLING_EMAIL);
      const [placed] = (await w.items('/api/v1/orders')).filter((x) => x.opportunity_id === s.opp.id);
      assert.ok(placed, 'the order of the opportunity');
      const order = await w.until('the order fulfilled', async () => {
        const x = await w.get(`/api/v1/orders/${placed.id}`);
        return x.state === 'fulfilled' && x;
      });
      assert.equal(order.total, minor(s.pageTotal), `the order's total is the page's ${s.pageTotal}`);
      assert.equal(order.billing_email, BILLING_EMAIL);
      assert.match(order.invoice_number, /^INV-\d{6}$/);
      const state = await (await fetch(`${gwBase}/control/state`)).json();
      const charges = state.charges.filter((c) => c.intent === order.paid_reference);
      assert.equal(charges.length, 1, JSON.stringify(state.charges));
      assert.equal(charges[0].amount, minor(s.pageTotal));
      assert.deepEqual(page.problems, []);
      s.order = order;
    });

    test('the confirmation and the invoice reach the edited address', async () => {
      assert.ok(s.order, 'the paid order from the previous step');
      const confirmation = await w.waitMail((m) => m.kind === 'order_confirmation' && m.ref === `order:${s.order.id}:confirmation`,
        'the order confirmation');
      assert.equal(confirmation.to, BILLING_EMAIL);
      assert.match(confirmation.text, new RegExp(s.order.number));
      const receipt = await w.waitMail((m) => m.kind === 'order_receipt' && m.ref === `order:${s.order.id}:receipt`, 'the receipt');
      assert.equal(receipt.to, BILLING_EMAIL);
      assert.match(receipt.headers['content-type'] || '', /multipart\/mixed/);
      const raw = fs.readFileSync(receipt.file, 'utf8');
      assert.match(raw, new RegExp(`Content-Type: application/pdf; name="invoice-${s.order.invoice_number}\\.pdf"`));
      // Nothing of the order went to the customer's old address.
      const old = w.mails().filter((m) => /^order_/.test(m.kind) && m.to.includes(s.cust.email));
      assert.deepEqual(old.map((m) => m.file), []);
    });

    test('the customer asks for a call-back from the portal', async () => {
      assert.ok(s.order, 'the customer\'s session from the previous steps');
      const { page } = people.customer;
      await page.goto(`${w.base}/portal`);
      const form = page.locator('form[action="/portal/request"]');
      await form.locator('input[name=action][value=callback]').check();
      await form.locator('#message').fill(CALLBACK_MESSAGE);
      await w.shot(page, FLOW, 'customer-request');
      await Promise.all([page.waitForURL(`${w.base}/portal/request`), form.locator('button[type=submit]').click()]);
      await w.shot(page, FLOW, 'customer-request-sent');
      assert.equal(await page.textContent('h1'), 'Thank you');
      const task = await w.until('the call-back task', async () =>
        (await w.items('/api/v1/tasks')).find((t) => t.opportunity_id === s.opp.id && t.kind === 'callback'));
      assert.equal(task.customer_id, s.cust.id);
      assert.equal(task.message, CALLBACK_MESSAGE);
      assert.equal(task.partner_id, null, 'the vendor sells: the vendor\'s team calls back');
      assert.equal(task.done, 0);
      assert.deepEqual(page.problems, []);
      s.task = task;
    });

    test('the vendor admin assigns the call-back in the tasks inbox and closes it', async () => {
      assert.ok(s.task, 'the task from the previous step');
      const { page } = people.admin;
      await login(page, w, 'admin');
      await page.goto(`${w.base}/vendor/tasks`);
      const card = page.locator(`#task-${s.task.id}`);
      assert.equal(await card.count(), 1, await page.textContent('main'));
      assert.match(await card.textContent(), /call the customer back/);
      assert.match(await card.textContent(), new RegExp(s.opp.number));
      assert.equal((await card.locator('blockquote').textContent()).trim(), CALLBACK_MESSAGE);
      assert.equal((await card.locator('.assignee').textContent()).trim(), 'nobody');
      await w.shot(page, FLOW, 'vendor-tasks');
      const users = await w.items('/api/v1/users');
      const sales = users.find((u) => u.email === w.emails.sales);
      const admin = users.find((u) => u.email === w.emails.admin);
      await card.locator(`#assign-${s.task.id}`).selectOption(String(sales.id));
      // The form answers with a redirect to the same inbox: wait for that
      // navigation (waitForURL would match the page already shown).
      await Promise.all([page.waitForNavigation({ url: `${w.base}/vendor/tasks` }),
        card.getByRole('button', { name: 'Assign' }).click()]);
      assert.equal((await page.locator(`#task-${s.task.id} .assignee`).textContent()).trim(), w.emails.sales);
      await w.shot(page, FLOW, 'vendor-task-assigned');
      assert.equal((await w.items('/api/v1/tasks')).find((x) => x.id === s.task.id).assigned_to, sales.id);
      await Promise.all([page.waitForNavigation({ url: `${w.base}/vendor/tasks` }),
        page.locator(`#task-${s.task.id}`).getByRole('button', { name: 'Close' }).click()]);
      assert.equal(await page.locator(`#task-${s.task.id}`).count(), 0, 'closed: gone from the open tasks');
      await page.goto(`${w.base}/vendor/tasks?state=done`);
      const closed = page.locator(`#task-${s.task.id}`);
      assert.equal(await closed.count(), 1, await page.textContent('main'));
      assert.match(await closed.textContent(), /Closed\./);
      assert.equal(await closed.getByRole('button', { name: 'Reopen' }).count(), 1);
      await w.shot(page, FLOW, 'vendor-task-closed');
      const t = (await w.items('/api/v1/tasks')).find((x) => x.id === s.task.id);
      assert.equal(t.done, 1);
      assert.equal(t.assigned_to, sales.id);
      assert.ok(t.done_at, JSON.stringify(t));
      assert.equal(t.done_by, admin.id, 'closed by the admin');
      assert.deepEqual(page.problems, []);
    });

    test('renewd stops cleanly', async () => {
      const exit = await w.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, w.log());
      assert.match(w.log(), /stopped cleanly/);
    });
  });
