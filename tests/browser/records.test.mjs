// A new vendor's records from the console, by keyboard: the vendor admin adds
// a partner from the partners list ("Add a partner"), is told before sending
// that a name of accented letters within the field's maxlength is over its
// bytes (the field named), is refused by the server for a distributor under
// a distributor (the field marked, the form as typed), adds a product with
// its list price and a contract through the new reseller, and changes the
// partner; the pages fit a phone's width; a sales person (who may only read
// partners) sees no form.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'records';

describe('records flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let page;
  let ctx;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    s.missing = [];
    for (const [m, p] of [['GET', '/vendor/partners/new'], ['POST', '/vendor/partners'], ['GET', '/vendor/products/new'],
      ['GET', '/vendor/contracts/new'], ['GET', '/vendor/partners/1/edit']]) {
      if (!(await w.hasRoute(m, p))) s.missing.push(`${m} ${p}`);
    }
    browser = await launchBrowser();
    ({ page, context: ctx } = await newPage(browser, w));
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  const missing = (t) => {
    if (!s.missing.length) return false;
    t.fail(`the console has no forms for the records: ${s.missing.join(', ')} missing`);
    return true;
  };

  // Types into a field reached by focus, as a keyboard user does.
  async function type(sel, text) {
    await page.focus(sel);
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    if (text) await page.keyboard.insertText(text);
  }

  test('the partners list leads to the form, which says a name is over its bytes before it is sent', async (t) => {
    if (missing(t)) return;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/partners`);
    await page.focus('#new-record');
    await Promise.all([page.waitForURL(`${w.base}/vendor/partners/new`), page.keyboard.press('Enter')]);
    await w.shot(page, FLOW, 'partner-form');
    assert.equal(await page.getAttribute('#f-name', 'maxlength'), '127');
    await type('#f-name', '\u00e9'.repeat(64)); // 64 characters, 128 bytes
    const msg = await page.$eval('#f-name', (i) => i.validationMessage);
    assert.match(msg, /^Name: at most 127 bytes, and this is 128/);
    await page.focus('#f-name');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
    assert.equal(new URL(page.url()).pathname, '/vendor/partners/new', 'the form was not sent');
    assert.deepEqual(page.problems, []);
  });

  test('a distributor under a distributor is refused: the field marked, the form as typed', async (t) => {
    if (missing(t)) return;
    await type('#f-name', 'Nordwind Handel GmbH');
    await page.selectOption('#f-kind', 'distributor');
    await page.selectOption('#f-tier', 'gold');
    await page.selectOption('#f-parent_id', '1');
    await type('#f-email', 'channel@nordwind.example');
    await type('#f-external_id', 'P-NORD');
    await page.focus('#f-external_id');
    const [resp] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    assert.equal(resp.status(), 400);
    await w.shot(page, FLOW, 'partner-refused');
    assert.equal(await page.getAttribute('#f-parent_id', 'aria-invalid'), 'true');
    assert.equal(await page.textContent('#f-parent_id-error'), 'A distributor has no parent');
    assert.equal(await page.locator('.field-error').count(), 1, 'the sentence with its field only');
    assert.equal(await page.inputValue('#f-name'), 'Nordwind Handel GmbH');
    assert.equal(await page.inputValue('#f-kind'), 'distributor');
    assert.match(await page.getAttribute('#f-parent_id', 'aria-describedby'), /f-parent_id-error/);
  });

  test('the reseller is added, and listed', async (t) => {
    if (missing(t)) return;
    await page.selectOption('#f-kind', 'reseller');
    await page.focus('#f-email');
    // the refused form's address is already /vendor/partners (its action): wait for the redirect's page
    const [resp] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    assert.equal(resp.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/vendor/partners');
    assert.ok(await page.locator('text=Nordwind Handel GmbH').count());
    s.partner = await w.byExternal('partners', 'P-NORD');
    assert.equal(s.partner.parent_id, 1);
    assert.equal(s.partner.kind, 'reseller');
  });

  test('a product with its list price, and a contract through the new reseller', async (t) => {
    if (missing(t)) return;
    await page.goto(`${w.base}/vendor/products`);
    await Promise.all([page.waitForURL(`${w.base}/vendor/products/new`), page.click('#new-record')]);
    await type('#f-sku', 'NEW-EDR');
    await type('#f-name', 'Endpoint Detect');
    await type('#f-price_annual', '1200.50');
    await page.focus('#f-price_annual');
    await Promise.all([page.waitForURL(`${w.base}/vendor/products`), page.keyboard.press('Enter')]);
    const prod = (await w.items('/api/v1/products')).find((p) => p.sku === 'NEW-EDR');
    assert.equal(prod.prices[0].amount, 120050);
    await page.goto(`${w.base}/vendor/contracts`);
    await Promise.all([page.waitForURL(`${w.base}/vendor/contracts/new`), page.click('#new-record')]);
    await page.selectOption('#f-customer_id', '1');
    await page.selectOption('#f-product_id', String(prod.id));
    await page.selectOption('#f-reseller_id', String(s.partner.id));
    await type('#f-quantity', '25');
    await page.fill('#f-start', '2026-01-01');
    await page.fill('#f-end', '2026-12-31');
    await type('#f-external_id', 'K-NEW-1');
    await w.shot(page, FLOW, 'contract-form');
    await page.focus('#f-external_id');
    await Promise.all([page.waitForURL(/\/vendor\/contracts\/\d+$/), page.keyboard.press('Enter')]);
    await w.shot(page, FLOW, 'contract');
    const k = await w.byExternal('contracts', 'K-NEW-1');
    assert.equal(k.reseller_id, s.partner.id);
    assert.equal(k.distributor_id, 1);
    assert.ok(await page.locator('#edit-record').count(), 'the contract page links to its form');
    assert.deepEqual(page.problems, []);
  });

  test('the partner is changed from its form', async (t) => {
    if (missing(t)) return;
    await page.goto(`${w.base}/vendor/partners`);
    await Promise.all([page.waitForURL(/\/edit$/), page.click(`a[href="/vendor/partners/${s.partner.id}/edit"]`)]);
    assert.equal(await page.inputValue('#f-name'), 'Nordwind Handel GmbH');
    await type('#f-phone', '+49 40 9999');
    await page.focus('#f-phone');
    await Promise.all([page.waitForURL(`${w.base}/vendor/partners`), page.keyboard.press('Enter')]);
    assert.equal((await w.get(`/api/v1/partners/${s.partner.id}`)).phone, '+49 40 9999');
  });

  test('the forms fit a phone, and a sales person sees none', async (t) => {
    if (missing(t)) return;
    await page.setViewportSize({ width: 375, height: 740 });
    for (const p of ['/vendor/partners/new', '/vendor/contracts/new', `/vendor/partners/${s.partner.id}/edit`, '/vendor/settings']) {
      await page.goto(`${w.base}${p}`);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 375, `${p} is ${wide} px wide at 375 px`);
    }
    await w.shot(page, FLOW, 'phone-form');
    const other = await newPage(browser, w);
    await login(other.page, w, 'sales');
    await other.page.goto(`${w.base}/vendor/partners`);
    assert.equal(await other.page.locator('#new-record').count(), 0);
    const resp = await other.page.goto(`${w.base}/vendor/partners/new`);
    assert.equal(resp.status(), 403);
    await other.context.close();
  });

  test('by keyboard, the first Tab offers to skip the navigation to the content', async (t) => {
    if (missing(t)) return;
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${w.base}/vendor/partners`);
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => ({ text: document.activeElement.textContent.trim(),
      href: document.activeElement.getAttribute('href') }));
    assert.deepEqual(first, { text: 'Skip to the content', href: '#content' });
    assert.ok(await page.$eval('.skip', (a) => a.getBoundingClientRect().width > 0), 'the link shows when focused');
    await page.keyboard.press('Enter');
    // the next Tab is in the content: the list's "Add a partner", not the header or the navigation
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'new-record');
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
  });
});
