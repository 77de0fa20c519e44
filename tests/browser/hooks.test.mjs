// Webhooks in the console: the vendor admin creates a subscription on the
// Webhooks page (events ticked, Harbour Networks (RES-GOLD) as its inbound
// partner) and copies its secret, shown once; an event is delivered to a
// receiver of the test's own and verifies with the npm standardwebhooks
// library under that secret; the delivery log shows it delivered and
// Redeliver sends it again (the same webhook-id); a form without its CSRF
// token changes nothing; the secret is rotated; the partner's batch signed
// under the new secret is imported as its feed and the inbound inbox shows
// the outcome with a link to the feed.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const require = createRequire(import.meta.url);
const { Webhook } = require('standardwebhooks');

const FLOW = 'hooks';
const GOLD = 3;

// A receiver on 127.0.0.1: keeps each POST's headers and body, answers 204.
function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, got, port: server.address().port })));
}

describe('webhooks flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let vendor;
  let rx;
  const s = {};

  before(async () => {
    w = await World.start(FLOW, { extraArgs: ['--webhook-retry-ms', '200'] });
    browser = await launchBrowser();
    vendor = await newPage(browser, w);
    rx = await receiver();
  });

  after(async () => {
    await vendor?.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    rx?.server.close();
    w?.cleanup();
  });

  test('the vendor admin creates a subscription and sees its secret once', async () => {
    const page = vendor.page;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor`);
    await Promise.all([page.waitForURL(/\/vendor\/webhooks$/), page.getByRole('link', { name: 'Webhooks' }).click()]);
    await w.shot(page, FLOW, 'empty');
    // Without a ticked event the service refuses it, and the form keeps the URL.
    await page.fill('#url', `http://127.0.0.1:${rx.port}/hook`);
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Create the subscription' }).click()]);
    assert.match(await page.textContent('[role=alert]'), /events must be a non-empty array/);
    assert.equal(await page.inputValue('#url'), `http://127.0.0.1:${rx.port}/hook`);
    await page.check('input[name="event.lead.new"]');
    await page.fill('#description', 'CRM sync');
    await page.selectOption('#partner_id', String(GOLD));
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Create the subscription' }).click()]);
    await w.shot(page, FLOW, 'created');
    s.secret = (await page.textContent('#new-secret')).trim();
    assert.match(s.secret, /^whsec_[A-Za-z0-9+/=]+$/);
    const subs = (await w.get('/api/v1/webhooks/subscriptions')).items;
    assert.equal(subs.length, 1);
    s.sub = subs[0];
    assert.deepEqual([s.sub.url, s.sub.events, s.sub.partner_id, s.sub.description],
      [`http://127.0.0.1:${rx.port}/hook`, ['lead.new'], GOLD, 'CRM sync']);
    await page.goto(`${w.base}/vendor/webhooks`);
    assert.equal(await page.locator('#new-secret').count(), 0, 'the secret is shown once');
    assert.ok(!(await page.content()).includes(s.secret));
    assert.deepEqual(page.problems, []);
  });

  test('an event is delivered, verifies, shows in the log and is redelivered', async () => {
    assert.ok(s.secret, 'the subscription of the previous step');
    await w.ok('POST', '/api/v1/leads', { company: 'Webhook Co', contact_name: 'Ann Buyer', email: 'ann@webhook.example', country: 'GB' }, 201);
    await w.until('the event to reach the receiver', async () => rx.got.length >= 1);
    const first = rx.got[0];
    const ev = new Webhook(s.secret).verify(first.body, first.headers);
    assert.equal(ev.type, 'com.renewd.lead.new');
    const page = vendor.page;
    await page.goto(`${w.base}/vendor/webhooks`);
    await Promise.all([page.waitForURL(/\/vendor\/webhooks\/deliveries\?subscription_id=\d+$/),
      page.locator(`#sub-${s.sub.id}`).getByRole('link', { name: 'Deliveries' }).click()]);
    const row = page.locator('tr[id^="delivery-"]').first();
    await w.until('the log to say delivered', async () => {
      await page.reload();
      return (await row.locator('.state').textContent()) === 'delivered';
    });
    await w.shot(page, FLOW, 'log');
    assert.match(await row.textContent(), /lead\.new/);
    // A form without its CSRF token changes nothing.
    await page.evaluate(() => document.querySelectorAll('input[name=csrf]').forEach((i) => i.remove()));
    const [refused] = await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Redeliver' }).click()]);
    assert.equal(refused.status(), 403);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.got.length, 1);
    await page.goto(`${w.base}/vendor/webhooks/deliveries`);
    await Promise.all([page.waitForURL(/\/vendor\/webhooks\/deliveries$/),
      page.locator('tr[id^="delivery-"]').first().getByRole('button', { name: 'Redeliver' }).click()]);
    await w.until('the redelivery', async () => rx.got.length >= 2);
    const again = rx.got[1];
    assert.equal(again.headers['webhook-id'], first.headers['webhook-id']);
    new Webhook(s.secret).verify(again.body, again.headers);
    await w.shot(page, FLOW, 'redelivered');
    assert.deepEqual(page.problems.filter((p) => !/^403 /.test(p)), []);
  });

  test('the secret is rotated and the partner\'s batch signed with it is imported as its feed', async () => {
    assert.ok(s.sub, 'the subscription of the first step');
    const page = vendor.page;
    await page.goto(`${w.base}/vendor/webhooks`);
    await Promise.all([page.waitForLoadState(),
      page.locator(`#sub-${s.sub.id}`).getByRole('button', { name: 'Rotate the secret' }).click()]);
    await w.shot(page, FLOW, 'rotated');
    const secret = (await page.textContent('#new-secret')).trim();
    assert.notEqual(secret, s.secret);
    assert.ok((await w.get(`/api/v1/webhooks/subscriptions/${s.sub.id}`)).previous_secret_until);
    const k = (await w.items('/api/v1/contracts?external_id=K-20002'))[0];
    const body = JSON.stringify([{ external_id: 'K-20002', licence_key: 'HN-LIC-42' }]);
    const id = 'msg_browser_1';
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    headers['webhook-signature'] = new Webhook(secret).sign(id, new Date(Number(headers['webhook-timestamp']) * 1000), body);
    const r = await w.request('POST', `/webhooks/inbound/${s.sub.id}?vendor=${w.vendor.id}`, { body, headers, token: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'imported');
    assert.equal((await w.items('/api/v1/contracts?external_id=K-20002'))[0].licence_key, 'HN-LIC-42');
    await page.goto(`${w.base}/vendor/webhooks/inbox`);
    await w.shot(page, FLOW, 'inbox');
    const batch = page.locator(`#batch-${r.json.inbox_id}`);
    assert.equal(await batch.locator('.status').textContent(), 'imported');
    assert.match(await batch.locator('.outcome').textContent(), /1 accepted, 0 new, 1 merged/);
    assert.equal(await batch.locator(`a[href="/vendor/imports/${r.json.feed_id}"]`).count(), 1);
    assert.ok(k.id);
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
