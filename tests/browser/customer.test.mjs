// The customer flow: a vendor admin publishes an opportunity (the vendor
// sells) through the API; the customer_notice e-mail lands in DATA/mail; its
// /c/ link opens the portal in the browser; the contracts carry the colours
// the test clock's day calls for; ticking an up-sell changes the live total;
// Buy stays disabled until the quote is accepted; accepting reaches the
// purchase page with the customer's address filled in and the payment option
// the vendor enabled; the order is placed; the quote PDF downloaded from the
// portal holds the quote number, the lines and the total (pdftotext) and
// renders (pdftoppm, kept beside the screenshots).  Then another customer
// pays by card on the fake gateway's (tests/fakegw) payment page: the
// gateway's webhook pays the order once and the renewal is in place.
//
// The demo has no contract of WSG-STD-2 (the product with up-sell and
// cross-sell relations), so one is made for Abbott Dental Group (CUST-1001)
// ending inside the renewal window, and the clock moves a day so the
// scheduler quotes it; a cancelled and a later contract are added so that
// the list shows all four colours.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { addDays, expectedColour, launchBrowser, newPage, OUTPUT, REPO, World } from './lib/world.mjs';

const FLOW = 'customer';

describe('customer flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let page;
  let ctx;
  const s = {}; // what the steps learn

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
    ({ page, context: ctx } = await newPage(browser, w));
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  test('a quote with optional lines is published and the customer is e-mailed a link', async () => {
    const today = await w.today();
    const cust = await w.byExternal('customers', 'CUST-1001');
    const gold = await w.byExternal('partners', 'RES-GOLD');
    const products = Object.fromEntries((await w.items('/api/v1/products')).map((p) => [p.sku, p]));
    const mk = (ext, sku, qty, end, extra = {}) => w.ok('POST', '/api/v1/contracts', {
      external_id: ext, customer_id: cust.id, product_id: products[sku].id, reseller_id: gold.id, quantity: qty,
      start: addDays(end, -730), end, term: 'annual', ...extra,
    }, 201);
    // The scheduler quotes a contract on the day its end enters the window:
    // one day past the window now, quoted when the clock moves a day.
    const up = await mk('K-BRW-UPSELL', 'WSG-STD-2', 20, addDays(today, w.window + 1));
    await mk('K-BRW-LATER', 'DLP-EP', 5, addDays(today, 200));
    await mk('K-BRW-CANCELLED', 'EML-SEC', 5, addDays(today, 30), { status: 'cancelled' });
    // Red: ended and not renewed (K-20001 is red too, but another reseller's: not on this link).
    await mk('K-BRW-ENDED', 'EML-SEC', 5, addDays(today, -5));
    // The scheduler sweeps when the clock moves: the new contract is quoted.
    s.today = addDays(today, 1);
    await w.setClock(s.today);
    const opp = await w.until('the quote of K-BRW-UPSELL', async () =>
      (await w.items(`/api/v1/opportunities?state=pending_decision`)).find((o) => o.contract_id === up.id));
    const optional = opp.lines.filter((l) => l.optional);
    assert.ok(optional.some((l) => l.kind === 'upsell' && l.sku === 'WSG-PLUS'), JSON.stringify(opp.lines));
    const { token, mail } = await w.publishVendor(opp.id);
    assert.equal(mail.to.includes(cust.email), true, mail.to);
    assert.match(mail.text, /Review and renew online/);
    Object.assign(s, { cust, opp, token, gold });
  });

  test('the link opens the portal, and the contracts carry the right colours', async () => {
    assert.ok(s.token, 'the link from the previous step');
    const r = await page.goto(`${w.base}/c/${s.token}`);
    assert.equal(new URL(page.url()).pathname, '/portal');
    assert.equal(r.status(), 200);
    await w.shot(page, FLOW, 'portal');
    // The customer's contracts in the channel of the link's quote (RES-GOLD's): docs/portals.md.
    const contracts = (await w.items('/api/v1/contracts')).filter((k) => k.customer_id === s.cust.id &&
      [k.reseller_id, k.distributor_id].includes(s.gold.id));
    const names = Object.fromEntries((await w.items('/api/v1/products')).map((p) => [p.id, p.name]));
    const want = contracts.map((k) => `${names[k.product_id]}|${k.end}|${expectedColour(k, s.today, w.window)}`).sort();
    const rows = await page.$$eval('table.contracts tbody tr', (trs) => trs.map((tr) => ({
      cls: tr.className, colour: tr.dataset.colour, cells: [...tr.querySelectorAll('th, td')].map((td) => td.textContent.trim()),
    })));
    const got = rows.map((x) => `${x.cells[0]}|${x.cells[2]}|${x.colour}`).sort();
    assert.deepEqual(got, want);
    for (const x of rows) assert.equal(x.cls, `colour-${x.colour}`);
    // Every colour is there: K-BRW-ENDED ended, K-20002 and ours are due, one later, one cancelled.
    assert.deepEqual([...new Set(rows.map((x) => x.colour))].sort(), ['amber', 'black', 'green', 'red']);
    // The stylesheet paints each colour differently (the dot beside the status).
    const dots = await page.$$eval('table.contracts tbody tr', (trs) => Object.fromEntries(trs.map((tr) =>
      [tr.dataset.colour, getComputedStyle(tr.querySelector('.dot')).backgroundColor])));
    assert.equal(new Set(Object.values(dots)).size, 4, JSON.stringify(dots));
    assert.ok(Object.values(dots).every((c) => c && c !== 'rgba(0, 0, 0, 0)'), JSON.stringify(dots));
    assert.deepEqual(page.problems, []);
  });

  test('ticking an up-sell puts it in the renewal\'s place in the total; Buy waits for the acceptance box', async () => {
    assert.ok(s.opp && s.token, 'the quote from the first step');
    const total = page.locator('output#total');
    const before = (await total.textContent()).trim();
    const base = Number(await total.getAttribute('data-base'));
    const renewal = s.opp.lines.filter((l) => !l.optional).reduce((a, l) => a + l.list, 0);
    assert.equal(base, renewal);
    const money = (n) => `GBP ${(n / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
    assert.equal(before, money(base));
    const upsell = s.opp.lines.find((l) => l.optional && l.kind === 'upsell');
    const box = page.locator(`input.optional[value="${upsell.sku}"]`);
    assert.equal(await box.isChecked(), false);
    assert.match(await page.locator('label', { has: box }).textContent(), /Upgrade/);
    await box.check(); // an upgrade replaces the renewal: its price instead of the renewal's
    assert.equal((await total.textContent()).trim(), money(upsell.list));
    await w.shot(page, FLOW, 'upsell-ticked');
    // Buy is disabled until the acceptance box is ticked (and again when it is cleared).
    const buy = page.locator('#buy');
    assert.equal(await buy.isDisabled(), true);
    await page.locator('#accept').check();
    assert.equal(await buy.isEnabled(), true);
    await page.locator('#accept').uncheck();
    assert.equal(await buy.isDisabled(), true);
    await page.locator('#accept').check();
    await w.shot(page, FLOW, 'accepted');
    s.upsell = upsell;
    s.expectTotal = money(upsell.list);
  });

  test('Buy reaches the purchase page with the address filled in and the payment options', async () => {
    assert.ok(s.upsell, 'the up-sell from the previous step');
    // The vendor enables purchase orders for everyone: the purchase page offers them.
    await w.ok('POST', '/api/v1/plugins/payment-po/enablements', { config: {} }, 201);
    await Promise.all([page.waitForURL(`${w.base}/portal/purchase`), page.click('#buy')]);
    await w.shot(page, FLOW, 'purchase');
    s.purchase = true;
    const c = s.cust;
    for (const [id, want] of [['company', c.name], ['address_line1', c.address_line1], ['city', c.city],
      ['postcode', c.postcode], ['country', c.country], ['email', c.email]]) {
      assert.ok(want, `the demo customer has ${id}`);
      assert.equal(await page.inputValue(`#${id}`), want, id);
    }
    assert.match(await page.textContent('main'), new RegExp(s.opp.number));
    assert.equal((await page.textContent('#purchase-total')).trim(), s.expectTotal);
    const options = await page.$$eval('input[name=option]', (xs) => xs.map((x) => x.value));
    assert.deepEqual(options, ['purchase_order']);
    // The opportunity is accepted with the up-sell chosen.
    const o = await w.get(`/api/v1/opportunities/${s.opp.id}`);
    assert.equal(o.state, 'accepted');
    assert.equal(o.lines.find((l) => l.sku === s.upsell.sku && l.optional).selected, true);
    assert.ok(o.lines.filter((l) => l.optional && l.sku !== s.upsell.sku).every((l) => !l.selected));
  });

  test('the order is placed', async () => {
    assert.ok(s.purchase, 'the purchase page from the previous step');
    await page.check('input[name=option][value=purchase_order]');
    await page.fill('#po_number', 'PO-BRW-1');
    await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('form[action="/portal/order"] button[type=submit]')]);
    assert.equal(await page.textContent('h1'), 'Thank you for your order');
    await w.shot(page, FLOW, 'ordered');
    // One order, awaiting payment on the purchase order (docs/orders.md).
    const orders = (await w.items('/api/v1/orders')).filter((x) => x.opportunity_id === s.opp.id);
    assert.equal(orders.length, 1, JSON.stringify(orders));
    assert.equal(orders[0].po_number, 'PO-BRW-1');
    assert.equal(orders[0].state, 'awaiting_payment');
    assert.equal(await page.textContent('#order-number'), orders[0].number);
    assert.deepEqual(page.problems, []);
  });

  test('back after the order: the order again, not a second purchase form, and the portal names the order', async () => {
    assert.ok(s.purchase, 'the order from the previous step');
    // The browser's back button from the confirmation: the purchase page
    // (which a double order would start from) answers with the order.
    await page.goBack();
    await page.waitForLoadState();
    assert.equal(new URL(page.url()).pathname, '/portal/order');
    assert.equal(await page.textContent('h1'), 'Thank you for your order');
    await w.shot(page, FLOW, 'back-after-order');
    await page.goto(`${w.base}/portal/purchase`);
    assert.equal(new URL(page.url()).pathname, '/portal/order');
    // The portal says the renewal is ordered, links to the order and offers no Buy.
    await page.goto(`${w.base}/portal`);
    await w.shot(page, FLOW, 'portal-after-order');
    const orders = (await w.items('/api/v1/orders')).filter((x) => x.opportunity_id === s.opp.id);
    assert.equal(orders.length, 1, JSON.stringify(orders));
    assert.equal(await page.locator('#buy').count(), 0, 'no Buy once the quote is ordered');
    assert.equal(await page.locator('#accept').count(), 0, 'no acceptance box once the quote is ordered');
    assert.match(await page.textContent('#ordered'), new RegExp(`order ${orders[0].number}`));
    assert.equal(await page.locator('#ordered a[href="/portal/order"]').count(), 1);
    // the quote as ordered: the chosen up-sell ticked, the order's total
    assert.equal(await page.isChecked(`input[name=add][value="${s.upsell.sku}"]`), true);
    assert.equal((await page.textContent('#total')).trim(), s.expectTotal);
    assert.deepEqual(page.problems, []);
  });

  test('the quote PDF from the portal holds the number, the lines and the total, and renders', async (t) => {
    if (!(await w.hasRoute('GET', '/portal/quote.pdf'))) return t.skip('renewd has no GET /portal/quote.pdf yet');
    for (const tool of ['pdftotext', 'pdftoppm']) {
      if (spawnSync(tool, ['-v']).error) return t.skip(`${tool} is missing: install poppler-utils (scripts/deps)`);
    }
    assert.ok(s.purchase, 'the accepted quote from the earlier steps');
    await page.goto(`${w.base}/portal`);
    const link = page.locator('a[href="/portal/quote.pdf"]');
    assert.equal(await link.count(), 1, 'the portal links to its quote PDF');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    fs.mkdirSync(OUTPUT, { recursive: true });
    w.shots += 1;
    const stem = path.join(OUTPUT, `${FLOW}-${String(w.shots).padStart(2, '0')}-quote-pdf`);
    await download.saveAs(`${stem}.pdf`);
    assert.equal(fs.readFileSync(`${stem}.pdf`).subarray(0, 5).toString(), '%PDF-');
    const text = spawnSync('pdftotext', ['-layout', `${stem}.pdf`, '-'], { encoding: 'utf8', timeout: 20000 });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(s.opp.number));
    const renewal = s.opp.lines.find((l) => !l.optional);
    // the order froze its lines: the chosen up-sell is in the renewal line's place
    assert.doesNotMatch(text.stdout, new RegExp(renewal.description.replace(/[()]/g, '\\$&')),
      'the up-sell replaces the renewal line on the ordered quote');
    assert.match(text.stdout, new RegExp(`Upgrade: ${s.upsell.description}`));
    for (const l of s.opp.lines.filter((x) => x.optional && x.sku !== s.upsell.sku)) {
      assert.doesNotMatch(text.stdout, new RegExp(`Add: ${l.description}`), 'a line not chosen is not on the quote');
    }
    assert.match(text.stdout, new RegExp(`Total\\s+${s.expectTotal.replace(/[.]/g, '\\.')}`));
    const png = spawnSync('pdftoppm', ['-png', '-r', '60', '-singlefile', `${stem}.pdf`, stem], { timeout: 20000 });
    assert.equal(png.status, 0, String(png.stderr));
    assert.ok(fs.statSync(`${stem}.png`).size > 1000, 'the PDF renders to an image');
  });

  test('another customer pays by card on the gateway\'s page: one charge, the renewal in place', async () => {
    // The fake card gateway (tests/fakegw), for this step only.
    const gw = spawn('python3', [path.join(REPO, 'tests', 'fakegw', 'fakegw.py'), '--lifetime', '120'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let c2;
    try {
      const port = await new Promise((resolve, reject) => {
        gw.stdout.once('data', (d) => resolve(parseInt(String(d), 10)));
        gw.once('exit', (code) => reject(new Error(`fakegw exited with ${code}`)));
      });
      const gwBase = `http://127.0.0.1:${port}`;
      await w.ok('POST', '/api/v1/plugins/payment-card/enablements', { config: {
        base_url: gwBase, secret_key: 'sk_test_fakegw', webhook_secret: 'whsec_fakegw' } }, 201);
      await fetch(`${gwBase}/control/config`, { method: 'POST', body: JSON.stringify({
        webhook_url: `${w.base}/webhooks/payments/payment-card?vendor=${w.vendor.id}` }) });
      const k = await w.byExternal('contracts', 'K-20006');
      const opp = (await w.items('/api/v1/opportunities')).find((o) => o.contract_id === k.id);
      const { token } = await w.publishVendor(opp.id);
      let p2;
      ({ page: p2, context: c2 } = await newPage(browser, w));
      await p2.goto(`${w.base}/c/${token}`);
      await p2.locator('#accept').check();
      await Promise.all([p2.waitForURL(`${w.base}/portal/purchase`), p2.click('#buy')]);
      await p2.check('input[name=option][value=card]');
      // The card is typed on the gateway's own page (checkout.test.mjs walks it in full).
      await Promise.all([p2.waitForURL(`${w.base}/portal/order`), p2.click('form[action="/portal/order"] button[type=submit]')]);
      await Promise.all([p2.waitForURL(`${gwBase}/pay/**`), p2.click('#pay-by-card')]);
      await p2.fill('#card-number', '4242424242424242');
      await w.shot(p2, FLOW, 'card');
      await Promise.all([p2.waitForURL(`${w.base}/portal/order`), p2.click('#pay')]);
      await w.shot(p2, FLOW, 'paid-by-card');
      assert.equal(await p2.textContent('h1'), 'Thank you for your order');
      assert.match(await p2.textContent('main'), /Your payment is received/);
      const orders = (await w.items('/api/v1/orders')).filter((x) => x.opportunity_id === opp.id);
      assert.equal(orders.length, 1, JSON.stringify(orders));
      assert.equal(orders[0].state, 'fulfilled');
      assert.equal(await p2.textContent('#order-number'), orders[0].number);
      const state = await (await fetch(`${gwBase}/control/state`)).json();
      assert.equal(state.charges.length, 1, JSON.stringify(state.charges));
      assert.equal(state.charges[0].intent, orders[0].paid_reference);
      assert.deepEqual(p2.problems, []);
    } finally {
      await c2?.close().catch(() => {});
      gw.kill();
    }
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
