// The partner flow: a partner admin of Harbour Networks (RES-GOLD) signs in
// through /login, lands on /partner, sees an opportunity awaiting the publish
// decision with both margins, presses "We sell it", and sees it move to the
// quotes as "you sell"; the API agrees (published_partner, decided by the
// user, not by default).  Then signs out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'partner';

describe('partner flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let page;
  let ctx;
  const s = {};

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

  test('a wrong password is refused on the login page', async () => {
    await page.goto(`${w.base}/login`);
    await w.shot(page, FLOW, 'login');
    await page.fill('#vendor', 'sentinel');
    await page.fill('#email', w.emails.partner);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForURL(/\/login\?failed=1&vendor=sentinel$/), page.click('button[type=submit]')]);
    assert.match(await page.textContent('[role=alert]'), /wrong/);
    assert.equal(await page.inputValue('#vendor'), 'sentinel', 'the vendor typed is kept');
    await w.shot(page, FLOW, 'login-failed');
  });

  test('the partner admin signs in and sees the opportunities awaiting a decision', async () => {
    const gold = await w.byExternal('partners', 'RES-GOLD');
    const pending = (await w.items('/api/v1/opportunities?state=pending_decision')).filter((o) => o.reseller_id === gold.id);
    assert.ok(pending.length >= 2, `RES-GOLD has opportunities awaiting a decision: ${pending.length}`);
    await login(page, w, 'partner');
    assert.equal(new URL(page.url()).pathname, '/partner');
    await w.shot(page, FLOW, 'portal');
    assert.match(await page.textContent('main'), /Signed in as renewals@harbour\.example for Harbour Networks/);
    const cards = await page.$$eval('ul.cards > li h3', (hs) => hs.map((h) => h.textContent));
    // Exactly the partner's own pending opportunities (none of the other resellers').
    assert.deepEqual(cards.map((c) => c.split(':')[0]).sort(), pending.map((o) => o.number).sort());
    s.opp = pending[0];
    s.others = pending.slice(1);
    assert.deepEqual(page.problems, []);
  });

  test("each card shows its contract's seats", async () => {
    assert.ok(s.opp, 'the partner portal from the previous step');
    for (const o of [s.opp, ...s.others]) {
      const k = await w.get(`/api/v1/contracts/${o.contract_id}`);
      const card = page.locator('ul.cards > li', { hasText: o.number });
      assert.match(await card.textContent(), new RegExp(`, ${k.quantity} seats, ends ${o.contract_end}`));
    }
  });

  test('"We sell it" decides the publish mode and the quote moves to the quotes list', async () => {
    assert.ok(s.opp, 'the opportunity from the previous step');
    const card = page.locator('ul.cards > li', { hasText: s.opp.number });
    assert.match(await card.textContent(), /You sell: you keep \d+% \(GBP [\d,.]+\)/);
    await Promise.all([page.waitForURL(`${w.base}/partner`), card.getByRole('button', { name: 'We sell it' }).click()]);
    await w.shot(page, FLOW, 'decided');
    assert.equal(await page.locator('ul.cards > li', { hasText: s.opp.number }).count(), 0);
    const row = page.locator('table tbody tr', { hasText: s.opp.number });
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator('td').nth(3).textContent()).trim(), 'you sell');
    for (const o of s.others) assert.equal(await page.locator('ul.cards > li', { hasText: o.number }).count(), 1);
    const o = await w.get(`/api/v1/opportunities/${s.opp.id}`);
    assert.equal(o.state, 'published_partner');
    assert.equal(o.publish, 'partner');
    assert.equal(o.decided_by_default, 0);
    // The customer is told to contact the reseller.
    const notice = await w.waitMail((m) => m.kind === 'customer_notice' && m.ref === `notice:${s.opp.id}`, 'the customer notice');
    assert.match(notice.text, /contact Harbour Networks/);
    assert.deepEqual(page.problems, []);
  });

  test('signing out ends the session', async () => {
    await Promise.all([page.waitForURL(`${w.base}/login`), page.click('form.logout button')]);
    await w.shot(page, FLOW, 'signed-out');
    await page.goto(`${w.base}/partner`);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
