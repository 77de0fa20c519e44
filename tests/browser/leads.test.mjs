// The leads flow: a lead from France arrives by API; the vendor admin
// qualifies it and routes it in the console's leads page; no partner covers
// France, so the shipped routing policy offers it to a pool of every partner
// for 24 hours, and the page lists it among the pools in progress with the
// reason.  The partner admin of Harbour Networks (RES-GOLD) sees it in the
// partner portal with its deadline and why, accepts it first, and it moves to
// the leads being worked; the API agrees (accepted by partner 3) and the
// pool's other partners are told by e-mail that it is taken.  Then a person
// sends the vendor's public web-to-lead form (no JavaScript) and is thanked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'leads';
const GOLD = 3;

describe('leads flow', { timeout: 120000 }, () => {
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

  test('the vendor admin qualifies and routes a lead in the console: a pool in progress', async () => {
    const lead = await w.ok('POST', '/api/v1/leads', { company: 'Lumière SARL', contact_name: 'Luc', email: 'luc@lumiere.example', country: 'FR' }, 201);
    s.id = lead.id;
    const page = vendor.page;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/leads`);
    await w.shot(page, FLOW, 'console-new');
    const card = page.locator(`#lead-${s.id}`);
    assert.match(await card.textContent(), /Lumière SARL/);
    await card.locator('input[name=product]').fill('WSG-STD');
    await card.locator('input[name=region]').fill('paris');
    await card.locator('input[name=company_size]').fill('smb');
    await Promise.all([page.waitForURL(/\/vendor\/leads\?done=qualified$/), card.getByRole('button', { name: 'Qualify' }).click()]);
    assert.match(await page.textContent('[role=status]'), /qualified/);
    await Promise.all([page.waitForURL(/\/vendor\/leads\?done=routed$/),
      page.locator(`#lead-${s.id}`).getByRole('button', { name: 'Route' }).click()]);
    await w.shot(page, FLOW, 'console-routed');
    const routed = await page.locator(`#lead-${s.id}`).textContent();
    assert.match(routed, /State: assigned/);
    assert.match(routed, /A pool: the first to accept takes it/);
    assert.match(routed, /Why: no clear match: the first of the pool to accept takes it \(routing policy v1\)/);
    const doc = await w.get(`/api/v1/leads/${s.id}`);
    const a = doc.assignments.at(-1);
    assert.equal(a.kind, 'pool');
    s.pool = a.targets.split(' ').map(Number);
    assert.ok(s.pool.includes(GOLD) && s.pool.length > 1, a.targets);
    assert.deepEqual(vendor.page.problems, []);
  });

  test('the partner sees the pool lead with its deadline and why, and accepts it first', async () => {
    assert.ok(s.id, 'the lead of the previous step');
    const page = partner.page;
    await login(page, w, 'partner');
    await page.goto(`${w.base}/partner/leads`);
    await w.shot(page, FLOW, 'partner-offered');
    const card = page.locator(`#lead-${s.id}`);
    const text = await card.textContent();
    assert.match(text, /A pool: the first to accept takes it\. Accept by \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(text, /Why: no clear match/);
    assert.doesNotMatch(text, /offered to/); // who else is in the pool is the vendor's
    await Promise.all([page.waitForURL(/\/partner\/leads\?done=accepted$/), card.getByRole('button', { name: 'Accept' }).click()]);
    await w.shot(page, FLOW, 'partner-accepted');
    assert.match(await page.textContent('[role=status]'), /You accepted the lead/);
    const working = await page.locator(`#lead-${s.id}`).textContent();
    assert.match(working, /State: accepted/);
    assert.equal(await page.locator(`#lead-${s.id}`).getByRole('button', { name: 'Won' }).count(), 1);
    const doc = await w.get(`/api/v1/leads/${s.id}`);
    assert.equal(doc.state, 'accepted');
    assert.equal(doc.partner_id, GOLD);
    // The pool's other partners are told it is gone.
    await w.until('the lead_gone e-mails', () => w.mails().filter((m) => m.kind === 'lead_gone').length === s.pool.length - 1);
    assert.deepEqual(page.problems, []);
  });

  test('the console shows it being worked', async () => {
    const page = vendor.page;
    await page.goto(`${w.base}/vendor/leads`);
    const card = page.locator(`#lead-${s.id}`);
    assert.match(await card.textContent(), /State: accepted/);
    assert.equal(await card.getByRole('button', { name: 'Accept' }).count(), 0);
  });

  test('a person sends the public web-to-lead form (no JavaScript) and is thanked', async () => {
    await w.ok('PATCH', '/api/v1/vendor', { lead_form_enabled: 1, lead_form_min_seconds: 1 });
    const { page, context } = await newPage(browser, w); // no session: the form is public
    try {
      await page.goto(`${w.base}/f/sentinel/lead`);
      await w.shot(page, FLOW, 'form');
      assert.equal(await page.locator('script').count(), 0);
      // the honeypot is off screen for people (the stylesheet, not an inline style the CSP would refuse)
      const left = await page.locator('#website').evaluate((el) => el.closest('.hp') && getComputedStyle(el.closest('.hp')).left);
      assert.equal(left, '-10000px');
      await page.fill('#company', 'Person & Co');
      await page.fill('#contact_name', 'Pat Person');
      await page.fill('#email', 'pat@person.example');
      await page.fill('#product', 'WSG-STD');
      await page.waitForTimeout(1300); // a person takes longer than lead_form_min_seconds
      await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Send' }).click()]);
      await w.shot(page, FLOW, 'form-sent');
      assert.match(await page.textContent('#result'), /Thank you/);
      const leads = await w.items('/api/v1/leads?state=new');
      const lead = leads.find((l) => l.email === 'pat@person.example');
      assert.ok(lead, JSON.stringify(leads));
      assert.equal(lead.source, 'form');
      assert.equal(lead.company, 'Person & Co');
      await w.waitMail((m) => m.kind === 'lead_received' && m.to.includes('pat@person.example'), 'the auto-response');
      assert.deepEqual(page.problems, []);
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
