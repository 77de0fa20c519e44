// The vendor flow: a vendor admin signs in to the console, uploads a margin
// policy (examples/policies/margin-acme.lua with its test vectors), is
// refused a broken one with the line named, dry-runs the stored version
// against the live contracts and activates it; the API agrees.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, REPO, World } from './lib/world.mjs';

const FLOW = 'vendor';
const SOURCE = fs.readFileSync(path.join(REPO, 'examples', 'policies', 'margin-acme.lua'), 'utf8');
const VECTORS = fs.readFileSync(path.join(REPO, 'examples', 'policies', 'margin-acme.vectors.json'), 'utf8');

describe('vendor flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let page;
  let ctx;
  const s = {};

  before(async () => {
    w = await World.start(FLOW);
    s.missing = [];
    for (const [m, p] of [['GET', '/vendor'], ['GET', '/vendor/policies'], ['POST', '/vendor/policies/margin'],
      ['POST', '/vendor/policies/margin/1/dry-run'], ['POST', '/vendor/policies/margin/1/activate']]) {
      if (!(await w.hasRoute(m, p))) s.missing.push(`${m} ${p.replace(/\/1\//, '/{version}/')}`);
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
    t.skip(`renewd has no vendor console yet: ${s.missing.join(', ')} missing`);
    return true;
  };

  test('the vendor admin signs in to the console', async (t) => {
    if (missing(t)) return;
    await login(page, w, 'admin');
    assert.equal(new URL(page.url()).pathname, '/vendor');
    await w.shot(page, FLOW, 'console');
    assert.ok(await page.locator('nav.console a[href="/vendor/policies"]').count());
    await Promise.all([page.waitForURL(`${w.base}/vendor/policies`), page.click('nav.console a[href="/vendor/policies"]')]);
    await w.shot(page, FLOW, 'policies');
    s.active = Number(await page.textContent('#active-margin'));
    assert.deepEqual(page.problems, []);
  });

  test('a broken policy is refused with its line named, and nothing is stored', async (t) => {
    if (missing(t)) return;
    assert.ok(s.active !== undefined, 'the policies page from the previous step');
    const before = await w.get('/api/v1/policies');
    await page.fill('#source-margin', 'function margin(line)\n  return "reseller", 2500,\nend\n');
    await page.fill('#vectors-margin', VECTORS);
    const [resp] = await Promise.all([page.waitForNavigation(), page.click('form[action="/vendor/policies/margin"] button[type=submit]')]);
    assert.equal(resp.status(), 422);
    await w.shot(page, FLOW, 'upload-refused');
    assert.match(await page.textContent('#error-margin'), /^Line \d+: /);
    assert.deepEqual(await w.get('/api/v1/policies'), before);
  });

  test('the example margin policy is uploaded with its vectors', async (t) => {
    if (missing(t)) return;
    await page.goto(`${w.base}/vendor/policies`);
    await page.fill('#source-margin', SOURCE);
    await page.fill('#vectors-margin', VECTORS);
    await page.fill('#note-margin', 'margin-acme from the browser test');
    await Promise.all([page.waitForURL(/\/vendor\/policies\?stored=margin-\d+$/),
      page.click('form[action="/vendor/policies/margin"] button[type=submit]')]);
    s.version = Number(/stored=margin-(\d+)/.exec(page.url())[1]);
    await w.shot(page, FLOW, 'uploaded');
    assert.match(await page.textContent('[role=status]'), new RegExp(`Stored margin policy version ${s.version}: every test vector passed`));
    const row = page.locator('section[aria-labelledby=h-margin] tbody tr', { hasText: 'margin-acme from the browser test' });
    assert.equal(await row.count(), 1);
    const vectors = JSON.parse(VECTORS).length;
    const cells = await row.locator('td').allTextContents(); // status, uploaded, vectors passed, note, actions
    assert.equal(cells[0], 'ready');
    assert.equal(Number(cells[2]), vectors);
    assert.equal(Number(await page.textContent('#active-margin')), s.active, 'uploading does not activate');
    assert.deepEqual(page.problems, []);
  });

  test('the stored version is dry-run against the live contracts', async (t) => {
    if (missing(t)) return;
    assert.ok(s.version, 'the version from the previous step');
    // margin-acme gives platinum resellers 2 points more on enterprise customers:
    // Dunmore Architects (Bluefin IT Solutions' customer, platinum) becomes one.
    const dunmore = await w.byExternal('customers', 'CUST-1004');
    await w.ok('PATCH', `/api/v1/customers/${dunmore.id}`, { segment: 'enterprise' });
    await Promise.all([page.waitForURL(`${w.base}/vendor/policies/margin/${s.version}/dry-run`),
      page.getByRole('button', { name: `Dry run version ${s.version}` }).click()]);
    await w.shot(page, FLOW, 'dry-run');
    assert.equal(await page.textContent('h1'), `Dry run: margin policy version ${s.version}`);
    assert.ok(Number(await page.textContent('#lines')) > 0, 'lines were priced');
    assert.ok(Number(await page.textContent('#lines-changed')) > 0, 'the enterprise customer\'s lines change');
    const partners = await page.locator('table', { hasText: 'Change in margin' }).locator('tbody th').allTextContents();
    assert.ok(partners.includes('Bluefin IT Solutions'), partners.join(', '));
    assert.deepEqual(page.problems, []);
  });

  test('the version is activated from the dry-run report', async (t) => {
    if (missing(t)) return;
    assert.ok(s.version, 'the version from the upload step');
    await Promise.all([page.waitForURL(new RegExp(`/vendor/policies\\?activated=margin-${s.version}$`)),
      page.getByRole('button', { name: `Activate version ${s.version}` }).click()]);
    await w.shot(page, FLOW, 'activated');
    assert.equal(Number(await page.textContent('#active-margin')), s.version);
    assert.match(await page.textContent('[role=status]'), new RegExp(`Margin policy version ${s.version} is active`));
    assert.equal((await w.get('/api/v1/vendor')).margin_version, s.version);
    // The previous version can be rolled back to.
    if (s.active) assert.equal(await page.getByRole('button', { name: `Roll back to version ${s.active}` }).count(), 1);
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
