// Phone width: the pages a vendor admin, a reseller and a customer use, in a
// 375 px wide window, with the data an outsider types (a name that is one
// long word): the page never scrolls sideways (a wide table scrolls inside its
// own box; a chart, a select and a long word shrink or wrap to the width).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addDays, launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'phone';
const WIDTH = 375;
const LONG = 'Unbrokenname'.repeat(10); // 120 bytes: a customer's name, one word

// What sticks out of the window, outside any box that scrolls on its own.
async function sticksOut(page) {
  return page.evaluate((width) => {
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
      if (e.getBoundingClientRect().right <= width + 0.5) continue;
      let scrolls = false;
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) scrolls = true;
      }
      if (!scrolls) out.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''} ${(e.textContent || '').trim().slice(0, 30)}`);
    }
    return { scroll: document.documentElement.scrollWidth, out: out.slice(0, 5) };
  }, WIDTH);
}

// Table cells whose words are split across lines (a header "Nam/e"): a
// word wider than its cell's content box.
async function brokenWords(page) {
  return page.evaluate(() => {
    const ctx = document.createElement('canvas').getContext('2d');
    const out = [];
    for (const c of document.querySelectorAll('th, td')) {
      const st = getComputedStyle(c);
      ctx.font = `${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
      const box = c.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
      for (const word of (c.innerText || '').split(/[\s/-]+/)) { // a break at a hyphen or slash is a line's
        if (word.length > 1 && word.length <= 20 && ctx.measureText(word).width > box + 1) out.push(word);
      }
    }
    return out.slice(0, 5);
  });
}

async function fits(page, what) {
  const got = await sticksOut(page);
  assert.ok(got.scroll <= WIDTH, `${what}: the page is ${got.scroll} px wide at ${WIDTH} px: ${got.out.join(' | ')}`);
  const broken = await brokenWords(page);
  assert.deepEqual(broken, [], `${what}: words split inside a table cell: ${broken.join(" ")}`);
}

describe('phone flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  const pages = [];

  async function phone() {
    const p = await newPage(browser, w);
    await p.page.setViewportSize({ width: WIDTH, height: 800 });
    pages.push(p);
    return p.page;
  }

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const p of pages) await p.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  test('the vendor admin\'s console and reports, and a customer named one long word', async () => {
    const cu = await w.ok('POST', '/api/v1/customers', { external_id: 'CUST-LONG', name: LONG }, 201);
    const page = await phone();
    await login(page, w, 'admin');
    for (const p of ['/vendor', '/vendor/partners', '/vendor/contracts', '/vendor/reports', '/vendor/reports/scorecards', `/vendor/customers/${cu.id}`]) {
      await page.goto(`${w.base}${p}`);
      await w.shot(page, FLOW, p);
      await fits(page, p);
    }
    assert.deepEqual(page.problems, []);
  });

  test('the reseller\'s deal registrations, one of them for that long name', async () => {
    const products = await w.items('/api/v1/products');
    await w.ok('POST', '/api/v1/deals', { customer: { name: `${LONG} Ltd` }, products: [products[0].id],
      close_date: addDays(await w.today(), 30) }, 201, w.tokens.partner);
    const page = await phone();
    await login(page, w, 'partner');
    for (const p of ['/partner', '/partner/contracts', '/partner/deals', '/partner/reports']) {
      await page.goto(`${w.base}${p}`);
      await w.shot(page, FLOW, p);
      await fits(page, p);
    }
    assert.deepEqual(page.problems, []);
  });

  test('the customer\'s portal, purchase page and order, and the portal with its invoice', async () => {
    await w.ok('POST', '/api/v1/plugins/payment-po/enablements', { config: {} }, 201);
    const opp = (await w.items('/api/v1/opportunities?state=pending_decision'))[0];
    const { token } = await w.publishVendor(opp.id);
    const page = await phone();
    await page.goto(`${w.base}/c/${token}`);
    await w.shot(page, FLOW, 'portal');
    await fits(page, 'the portal');
    await page.check('#accept');
    await Promise.all([page.waitForURL(`${w.base}/portal/purchase`), page.click('#buy')]);
    await w.shot(page, FLOW, 'purchase');
    await fits(page, 'the purchase page');
    await page.check('input[name=option][value=purchase_order]');
    await page.fill('#po_number', 'PO-PHONE-1');
    await Promise.all([page.waitForURL(`${w.base}/portal/order`), page.click('form[action="/portal/order"] button[type=submit]')]);
    await w.shot(page, FLOW, 'order');
    await fits(page, 'the order page');
    await page.goto(`${w.base}/portal`);
    assert.ok(await page.locator('a[href^="/portal/invoices/"]').count() >= 1, 'the invoice is in the documents');
    await w.shot(page, FLOW, 'portal-with-invoice');
    await fits(page, 'the portal with its invoice');
    assert.deepEqual(page.problems, []);
  });

  test('the vendor admin reads the customer\'s e-mail in the outbox', async () => {
    const page = await phone();
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/outbox`);
    await fits(page, '/vendor/outbox');
    const first = page.locator('a[href^="/vendor/outbox/"]').first();
    assert.ok(await first.count(), 'the customer notice is in the outbox');
    await Promise.all([page.waitForURL(/\/vendor\/outbox\/\d+$/), first.click()]);
    await w.shot(page, FLOW, 'outbox-message');
    await fits(page, 'a message in the outbox');
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
