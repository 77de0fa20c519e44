// The checkout flow: a WSG-STD-2 contract (up-sell and cross-sell lines) is
// quoted and published; the customer opens the customer_notice e-mail's /c/
// link, chooses the quote's lines, sees them with the total on the purchase
// page, edits the billing e-mail, chooses the card and pays on the card
// gateway's own payment page (the fake gateway tests/fakegw serves it on
// 127.0.0.1); the gateway confirms the payment to renewd by its signed
// webhook and sends the customer back to the portal, where the order is
// paid.  The confirmation and the receipt land in DATA/mail addressed to the
// edited e-mail, the receipt with the invoice PDF (pdftotext: the invoice
// and order numbers); the invoice downloads from the portal too.  No page of
// renewd's has a card field, and the card number is nowhere in renewd's
// data or log.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { addDays, launchBrowser, newPage, OUTPUT, REPO, World } from './lib/world.mjs';

const FLOW = 'checkout';
const CARD = '4242424242424242';
const BILLING_EMAIL = 'accounts-payable@checkout.example';

// The PDF attached to a .eml renewd wrote (base64, one part), or null.
function mailPdf(file) {
  const raw = fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n');
  const m = /Content-Type: application\/pdf; name="([^"]+)"\n[^]*?\n\n([A-Za-z0-9+/=\n]+)\n--/.exec(raw);
  return m ? { name: m[1], bytes: Buffer.from(m[2].replace(/\n/g, ''), 'base64') } : null;
}

function pdfText(bytes, stem) {
  fs.mkdirSync(OUTPUT, { recursive: true });
  const file = path.join(OUTPUT, `${FLOW}-${stem}.pdf`);
  fs.writeFileSync(file, bytes);
  const p = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(p.status, 0, p.stderr);
  return p.stdout;
}

describe('checkout flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let page;
  let ctx;
  let gw;
  let gwBase;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
    ({ page, context: ctx } = await newPage(browser, w));
    gw = spawn('python3', [path.join(REPO, 'tests', 'fakegw', 'fakegw.py'), '--lifetime', '150'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
      gw.stdout.once('data', (d) => resolve(parseInt(String(d), 10)));
      gw.once('exit', (code) => reject(new Error(`fakegw exited with ${code}`)));
    });
    gwBase = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await browser?.close().catch(() => {});
    gw?.kill();
    w?.cleanup();
  });

  test('the vendor takes cards on the gateway and the customer is e-mailed a link', async () => {
    await w.ok('POST', '/api/v1/plugins/payment-card/enablements', { config: {
      base_url: gwBase, secret_key: 'sk_test_fakegw', webhook_secret: 'whsec_fakegw' } }, 201);
    // Where the gateway reports a payment (its dashboard's webhook setting).
    const r = await fetch(`${gwBase}/control/config`, { method: 'POST', body: JSON.stringify({
      webhook_url: `${w.base}/webhooks/payments/payment-card?vendor=${w.vendor.id}` }) });
    assert.equal(r.status, 200);
    // A contract of WSG-STD-2 (the demo product with up-sell and cross-sell
    // lines) for Abbott Dental Group through RES-GOLD, ending a day past the
    // renewal window: quoted when the clock moves a day (as customer.test.mjs).
    const today = await w.today();
    const cust = await w.byExternal('customers', 'CUST-1001');
    const gold = await w.byExternal('partners', 'RES-GOLD');
    const product = (await w.items('/api/v1/products')).find((x) => x.sku === 'WSG-STD-2');
    const end = addDays(today, w.window + 1);
    const k = await w.ok('POST', '/api/v1/contracts', { external_id: 'K-CHK-1', customer_id: cust.id,
      product_id: product.id, reseller_id: gold.id, quantity: 12, start: addDays(end, -365), end, term: 'annual' }, 201);
    await w.setClock(addDays(today, 1));
    const opp = await w.until('the quote of K-CHK-1', async () =>
      (await w.items('/api/v1/opportunities?state=pending_decision')).find((o) => o.contract_id === k.id));
    assert.ok(opp.lines.some((l) => l.optional), JSON.stringify(opp.lines));
    const { token } = await w.publishVendor(opp.id);
    Object.assign(s, { opp, token });
  });

  test('the customer chooses the lines and sees them with the total on the purchase page', async () => {
    assert.ok(s.token, 'the link from the previous step');
    await page.goto(`${w.base}/c/${s.token}`);
    assert.equal(new URL(page.url()).pathname, '/portal');
    const optional = s.opp.lines.filter((l) => l.optional);
    await page.locator(`input.optional[value="${optional[0].sku}"]`).check();
    // the rule of the order: a chosen up-sell takes the renewal line's place, a cross-sell adds
    const pick = optional[0];
    s.chosen = s.opp.lines.filter((l) => l === pick || (!l.optional && !(pick.kind === 'upsell' && l.kind === 'renewal')));
    s.notChosen = optional.slice(1);
    await page.locator('#accept').check();
    await w.shot(page, FLOW, 'quote');
    await Promise.all([page.waitForURL(`${w.base}/portal/purchase`), page.click('#buy')]);
    await w.shot(page, FLOW, 'purchase');
    const rows = await page.$$eval('#purchase-lines tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, s.chosen.length, JSON.stringify(rows));
    for (const l of s.chosen) assert.ok(rows.some((r) => r.includes(l.description)), `${l.description} in ${rows}`);
    for (const l of s.notChosen) assert.ok(!rows.some((r) => r.includes(l.description)), `${l.description} not chosen`);
    const total = s.chosen.reduce((a, l) => a + l.list, 0);
    const money = (n) => `GBP ${(n / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
    if (!s.opp.discount_bp) assert.equal((await page.textContent('#purchase-total')).trim(), money(total));
    // renewd's page takes no card: no card number, no token field
    assert.equal(await page.locator('input[name*=card], input[autocomplete^=cc-]').count(), 0);
    assert.deepEqual(await page.$$eval('input[name=option]', (xs) => xs.map((x) => x.value)), ['card']);
  });

  test('with the billing e-mail edited, the card is paid on the gateway\'s page', async () => {
    await page.fill('#email', BILLING_EMAIL);
    await page.check('input[name=option][value=card]');
    await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('form[action="/portal/order"] button[type=submit]')]);
    await w.shot(page, FLOW, 'ordered');
    const link = page.locator('#pay-by-card');
    assert.equal(await link.count(), 1, await page.textContent('main'));
    assert.ok((await link.getAttribute('href')).startsWith(`${gwBase}/pay/cs_`));
    const [order] = (await w.items('/api/v1/orders')).filter((x) => x.opportunity_id === s.opp.id);
    assert.equal(order.state, 'awaiting_payment');
    assert.equal(order.billing_email, BILLING_EMAIL);
    // The gateway's page, on the gateway's origin: the card goes there only.
    await Promise.all([page.waitForURL(`${gwBase}/pay/**`), link.click()]);
    await page.fill('#card-number', CARD);
    await page.fill('#card-expiry', '12/30');
    await page.fill('#card-cvc', '123');
    await w.shot(page, FLOW, 'gateway-page');
    await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('#pay')]);
    await w.shot(page, FLOW, 'paid');
    assert.equal(await page.textContent('h1'), 'Thank you for your order');
    assert.match(await page.textContent('main'), /Your payment is received/);
    assert.equal(await page.textContent('#billing-email'), BILLING_EMAIL);
    const paid = await w.get(`/api/v1/orders/${order.id}`);
    assert.equal(paid.state, 'fulfilled');
    assert.match(paid.invoice_number, /^INV-\d{6}$/);
    const state = await (await fetch(`${gwBase}/control/state`)).json();
    assert.equal(state.charges.length, 1, JSON.stringify(state.charges));
    assert.equal(state.charges[0].intent, paid.paid_reference);
    assert.deepEqual(page.problems, []);
    s.order = paid;
  });

  test('the confirmation and the receipt with the invoice reach the edited address', async (t) => {
    assert.ok(s.order, 'the paid order from the previous step');
    if (spawnSync('pdftotext', ['-v']).error) return t.skip('pdftotext is missing: install poppler-utils (scripts/deps)');
    const confirmation = await w.waitMail((m) => m.kind === 'order_confirmation' && m.ref === `order:${s.order.id}:confirmation`,
      'the order confirmation');
    assert.equal(confirmation.to, BILLING_EMAIL);
    assert.match(confirmation.text, new RegExp(s.order.number));
    const receipt = await w.waitMail((m) => m.kind === 'order_receipt' && m.ref === `order:${s.order.id}:receipt`, 'the receipt');
    assert.equal(receipt.to, BILLING_EMAIL);
    const pdf = mailPdf(receipt.file);
    assert.ok(pdf, 'the receipt carries a PDF');
    assert.equal(pdf.name, `invoice-${s.order.invoice_number}.pdf`);
    const text = pdfText(pdf.bytes, 'receipt-invoice');
    assert.match(text, new RegExp(s.order.invoice_number));
    assert.match(text, new RegExp(s.order.number));
    assert.match(text, new RegExp(BILLING_EMAIL.replace(/[.]/g, '\\.')));
    for (const l of s.chosen) assert.ok(text.includes(l.description.slice(0, 30)), `${l.description} on the invoice`);
    // the same invoice from the order page's link
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#invoice')]);
    const file = path.join(OUTPUT, `${FLOW}-portal-invoice.pdf`);
    await download.saveAs(file);
    assert.match(pdfText(fs.readFileSync(file), 'portal-invoice'), new RegExp(s.order.invoice_number));
  });

  test('renewd stops cleanly, and never saw the card number', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    for (const f of [...walk(w.data), w.logPath]) {
      assert.equal(fs.readFileSync(f).includes(CARD), false, `the card number is in ${f}`);
    }
  });
});
