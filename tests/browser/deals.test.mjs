// The deal registration flow: the partner admin of Harbour Networks (RES-GOLD)
// registers a deal for a new customer, "Dunmore Architects Ltd", in the
// partner portal; the channel manager (a user the test makes) finds it in the
// console's registrations to review with its conflict report -- Bluefin IT
// Solutions' live contract K-20005 of Dunmore Architects, matched by name --
// and approves it; the partner sees it approved with its expiry.  The API and
// the e-mails agree.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { addDays, launchBrowser, login, newPage, PASSWORD, World } from './lib/world.mjs';

const FLOW = 'deals';

describe('deal registration flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let partner;
  let cm;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    browser = await launchBrowser();
    partner = await newPage(browser, w);
    cm = await newPage(browser, w);
    const made = await w.ok('POST', '/api/v1/users', { email: 'channel@sentinel.example', name: 'Channel manager',
      role: 'channel-manager', password: PASSWORD }, 201);
    w.emails.cm = made.email;
    s.cmId = made.id;
  });

  after(async () => {
    await partner?.context.close().catch(() => {});
    await cm?.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    w?.cleanup();
  });

  test('the partner registers a deal in the partner portal', async (t) => {
    if (!(await w.hasRoute('GET', '/partner/deals'))) return t.skip('no /partner/deals page yet');
    const page = partner.page;
    await login(page, w, 'partner');
    await page.goto(`${w.base}/partner/deals`);
    await w.shot(page, FLOW, 'register-form');
    assert.match(await page.textContent('main'), /We answer within 48 hours/);
    s.today = await w.today();
    await page.selectOption('#customer_id', 'new');
    await page.fill('#customer_name', 'Dunmore Architects Ltd');
    await page.fill('#customer_email', 'it@dunmore-new.example');
    const wsg = (await w.items('/api/v1/products')).find((p) => p.sku === 'WSG-STD');
    await page.selectOption('#product', String(wsg.id));
    await page.fill('#seats', '25');
    await page.fill('#value', '9000');
    await page.fill('#close_date', addDays(s.today, 30));
    await page.fill('#situation', 'moving off a competitor at the end of the quarter');
    // A value written as people write it in a letter is refused naming the
    // format, and the form comes back with everything that was typed.
    await page.fill('#value', '9,000');
    await Promise.all([page.waitForLoadState(), page.click('#register-deal button[type=submit]')]);
    await w.shot(page, FLOW, 'refused-kept');
    assert.match(await page.textContent('[role=alert]'), /12000\.50/);
    assert.equal(await page.inputValue('#customer_name'), 'Dunmore Architects Ltd');
    assert.equal(await page.inputValue('#customer_email'), 'it@dunmore-new.example');
    assert.equal(await page.inputValue('#product'), String(wsg.id));
    assert.equal(await page.inputValue('#seats'), '25');
    assert.equal(await page.inputValue('#value'), '9,000');
    assert.equal(await page.inputValue('#close_date'), addDays(s.today, 30));
    assert.equal(await page.inputValue('#situation'), 'moving off a competitor at the end of the quarter');
    assert.deepEqual(await w.items('/api/v1/deals'), []);
    await page.fill('#value', '9000');
    await Promise.all([page.waitForURL(/\/partner\/deals\?done=registered$/), page.click('#register-deal button[type=submit]')]);
    await w.shot(page, FLOW, 'registered');
    const card = page.locator('ul.cards > li', { hasText: 'Dunmore Architects Ltd' });
    assert.equal(await card.count(), 1);
    assert.equal(await card.getAttribute('data-state'), 'submitted');
    const deals = await w.items('/api/v1/deals');
    assert.equal(deals.length, 1);
    s.deal = deals[0];
    assert.equal(s.deal.partner_id, 3);
    assert.equal(s.deal.expected_value, 900000);
    assert.equal(s.deal.seats, 25);
    const ack = await w.waitMail((m) => m.ref === `deal:${s.deal.id}:submitted`, 'the acknowledgement');
    assert.match(ack.text, /within 48 hours/);
    await w.waitMail((m) => m.ref === `deal:${s.deal.id}:review:${s.cmId}`, "the channel manager's notice");
    assert.deepEqual(page.problems, []);
  });

  test('the channel manager sees the conflict report and approves', async () => {
    assert.ok(s.deal, 'the registration from the previous step');
    const page = cm.page;
    await login(page, w, 'cm');
    await page.goto(`${w.base}/vendor/deals`);
    await w.shot(page, FLOW, 'to-review');
    const card = page.locator('ul.cards > li', { hasText: 'Dunmore Architects Ltd' });
    assert.equal(await card.count(), 1);
    const report = await card.locator('section.conflicts').textContent();
    assert.match(report, /Conflicts found/);
    assert.match(report, /Bluefin IT Solutions: live contract K-20005/);
    assert.match(report, /matched by name/);
    await Promise.all([page.waitForURL(`${w.base}/vendor/deals`), card.getByRole('button', { name: 'Approve' }).click()]);
    await w.shot(page, FLOW, 'approved');
    assert.equal(await page.locator('ul.cards > li', { hasText: 'Dunmore Architects Ltd' }).count(), 0);
    const d = await w.get(`/api/v1/deals/${s.deal.id}`);
    assert.equal(d.state, 'approved');
    assert.equal(d.expires_on, addDays(s.today, 90));
    const mail = await w.waitMail((m) => m.ref === `deal:${s.deal.id}:approved`, 'the approval');
    assert.match(mail.text, new RegExp(`approved until ${d.expires_on}`));
    s.expires = d.expires_on;
    assert.deepEqual(page.problems, []);
  });

  test('the partner sees it approved with its expiry', async () => {
    assert.ok(s.expires, 'the approval from the previous step');
    const page = partner.page;
    await page.goto(`${w.base}/partner/deals`);
    await w.shot(page, FLOW, 'partner-approved');
    const card = page.locator('ul.cards > li', { hasText: 'Dunmore Architects Ltd' });
    assert.equal(await card.getAttribute('data-state'), 'approved');
    assert.equal((await card.locator('.deal-expiry').textContent()).trim(), s.expires);
    assert.equal(await card.getByRole('button', { name: 'Close won' }).count(), 1);
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
