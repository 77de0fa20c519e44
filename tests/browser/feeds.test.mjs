// Partner feeds: the partner admin of Harbour Networks (RES-GOLD) sends a
// feed in its own columns (the mapping the vendor keeps) from the partner
// portal's Feeds page and reads its report; its new seat count for K-20002
// is the vendor's field, so it waits in the review queue; the vendor admin
// finds the feed and the held value (both values, both sources) in the
// console's Feeds page and takes the feed's value.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'feeds';
const GOLD = 3;

describe('feeds flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let vendor;
  let partner;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
    vendor = await newPage(browser, w);
    partner = await newPage(browser, w);
  });

  after(async () => {
    await vendor?.context.close().catch(() => {});
    await partner?.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  test('the partner admin sends a feed in its own columns and reads its report', async () => {
    await w.ok('PATCH', `/api/v1/partners/${GOLD}`, { feed_mapping: 'Ref=external_id;Licences=quantity' });
    const k = (await w.items('/api/v1/contracts?external_id=K-20002'))[0];
    s.contract = k;
    s.seats = k.quantity + 5;
    const page = partner.page;
    await login(page, w, 'partner');
    await page.goto(`${w.base}/partner/feeds`);
    await w.shot(page, FLOW, 'partner-empty');
    await page.fill('#data', `Ref,Licences\nK-20002,${s.seats}\n`);
    await Promise.all([page.waitForURL(/\/partner\/feeds\/\d+$/), page.getByRole('button', { name: 'Send the feed' }).click()]);
    s.feed = Number(page.url().split('/').at(-1));
    await w.until('the feed to finish', async () => {
      await page.reload();
      return !/running/.test(await page.textContent('#feed-status'));
    });
    await w.shot(page, FLOW, 'partner-report');
    assert.equal(await page.textContent('#feed-status'), 'succeeded');
    assert.match(await page.textContent('.facts'), /1 values held for the vendor's review/);
    await page.goto(`${w.base}/partner/feeds`);
    assert.equal(await page.locator(`a[href="/partner/feeds/${s.feed}"]`).count(), 1);
    assert.deepEqual(page.problems, []);
  });

  test('the vendor admin sees the feed and the review queue and takes the feed\'s value', async () => {
    assert.ok(s.feed, 'the feed of the previous step');
    const page = vendor.page;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/feeds`);
    await w.shot(page, FLOW, 'console-queue');
    assert.equal(await page.locator(`a[href="/vendor/imports/${s.feed}"]`).count(), 1);
    const card = page.locator('section.review').first();
    const text = await card.textContent();
    assert.match(text, new RegExp(`Contract ${s.contract.id}: quantity`));
    assert.match(text, new RegExp(`Stored \\(vendor owns it\\)${s.contract.quantity}`));
    assert.match(text, new RegExp(`From the reseller's feed${s.seats}`));
    await Promise.all([page.waitForURL(/\/vendor\/feeds$/), card.getByRole('button', { name: `Take ${s.seats}` }).click()]);
    await w.shot(page, FLOW, 'console-taken');
    assert.equal(await page.locator('section.review').count(), 0);
    const k = (await w.items('/api/v1/contracts?external_id=K-20002'))[0];
    assert.equal(k.quantity, s.seats);
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
