// Reporting: the vendor admin opens the console's dashboard (/vendor/reports),
// whose charts are SVG the server drew (each an accessible image with its
// title and description), drills down product line -> product -> contract by
// following the links, and exports a table as CSV from its link; the partner
// admin of RES-GOLD sees the same dashboard over its own channel only, and its
// scorecard against the programme average.
// Screenshots of the dashboards land with the suite's output.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'reports';

describe('reports flow', { timeout: 120000 }, () => {
  let w;
  let browser;
  let vendor;
  let partner;

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

  test('the vendor admin opens the dashboard: charts drawn as accessible SVG, tables with CSV links', async () => {
    const page = vendor.page;
    await login(page, w, 'admin');
    await page.goto(`${w.base}/vendor/reports`);
    await w.shot(page, FLOW, 'dashboard');
    const charts = page.locator('figure.chart svg[role="img"]');
    assert.ok(await charts.count() >= 4, 'one set of charts per currency');
    const first = charts.first();
    const labelledby = (await first.getAttribute('aria-labelledby')).split(' ');
    assert.equal(labelledby.length, 2);
    assert.ok((await page.locator(`[id="${labelledby[0]}"]`).textContent()).length > 0, 'the chart has a title');
    assert.match(await page.locator(`[id="${labelledby[1]}"]`).textContent(), /\d/, 'its description states values');
    assert.ok(await page.locator('svg[role="img"] title', { hasText: /Renewal rate split/ }).count() >= 1, 'the funnel');
    assert.ok(await page.locator('svg polyline').count() >= 1, 'the monthly rate lines');
    assert.equal(await page.locator('a.csv').count(), 10, 'every table exports as CSV');
    const contracts = Number(await page.textContent('#report-contracts'));
    assert.ok(contracts > 0, 'the demo store has contracts');
    assert.deepEqual(page.problems, []);
  });

  test('drills down from a product line to a product to a contract', async () => {
    const page = vendor.page;
    await page.getByRole('link', { name: 'Drill down by product line' }).click();
    await page.waitForURL(/\/vendor\/reports\/drilldown\?by=line$/);
    await w.shot(page, FLOW, 'lines');
    const line = page.locator('#table-rows tbody a').first();
    const lineName = await line.textContent();
    await Promise.all([page.waitForURL(/by=product&line=/), line.click()]);
    await w.shot(page, FLOW, 'products');
    assert.match(await page.textContent('nav.crumbs'), new RegExp(lineName));
    const product = page.locator('#table-rows tbody a').first();
    await Promise.all([page.waitForURL(/by=contract&product=\d+$/), product.click()]);
    await w.shot(page, FLOW, 'contracts');
    const contract = page.locator('#table-rows tbody a').first();
    const ext = await contract.textContent();
    await Promise.all([page.waitForURL(/\/vendor\/reports\/contracts\/\d+$/), contract.click()]);
    await w.shot(page, FLOW, 'contract');
    assert.match(await page.textContent('h1'), new RegExp(`contract ${ext}`));
    const id = Number(page.url().split('/').at(-1));
    const k = await w.ok('GET', `/api/v1/contracts/${id}`);
    assert.equal(k.external_id, ext);
    assert.match(await page.textContent('#table-rows'), new RegExp(k.end));
    assert.deepEqual(page.problems, []);
  });

  test('exports a table as CSV from its link', async () => {
    const page = vendor.page;
    await page.goto(`${w.base}/vendor/reports`);
    const link = page.locator('#table-rate a.csv');
    const href = await link.getAttribute('href');
    assert.match(href, /format=csv&table=rate$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'dashboard-rate.csv');
    const file = `${w.dir}/dashboard-rate.csv`;
    await download.saveAs(file);
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\r\n');
    assert.match(lines[0], /^currency,due,resolved,won,/);
    assert.ok(lines.length >= 2, 'a row per currency');
    assert.match(lines[1], /^[A-Z]{3},\d+,/);
  });

  test('the partner admin sees its own channel only', async () => {
    const page = partner.page;
    await login(page, w, 'partner');
    await page.goto(`${w.base}/vendor/reports`);
    await page.waitForURL(/\/partner\/reports$/);
    await w.shot(page, FLOW, 'partner-dashboard');
    const mine = Number(await page.textContent('#report-contracts'));
    const all = (await w.items('/api/v1/contracts')).length;
    assert.ok(mine > 0 && mine < all, `${mine} of ${all} contracts`);
    await page.getByRole('link', { name: 'Partner scorecards' }).click();
    await page.waitForURL(/\/partner\/reports\/scorecards$/);
    await w.shot(page, FLOW, 'partner-scorecard');
    const cards = await page.textContent('#table-cards');
    assert.match(cards, /Programme average/);
    assert.deepEqual(page.problems, []);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
