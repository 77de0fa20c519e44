// The demo flow: scripts/demo runs as a newcomer runs it (its own data
// directory, a free port); the test reads what it printed, opens the
// printed customer link in the browser, sees the partner's logo (a data:
// URL: nothing is fetched from another host), accepts the quote, finds
// purchase order, Bill Me Later and a card on the local test gateway
// (tests/fakegw, which the demo starts and names) offered, and buys by
// purchase order.  The start page links to the sign-in and the portals,
// and the printed reseller login signs in.  Ctrl-C (SIGTERM here) stops the demo and its renewd.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BUILD, launchBrowser, newPage, OUTPUT, REPO } from './lib/world.mjs';

const FLOW = 'demo';
const DEMO_TIMEOUT = 90000; // ms for scripts/demo to load, start and print
const STOP_TIMEOUT = 20000; // ms for it to stop after SIGTERM
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let shots = 0;
async function shot(page, step) {
  fs.mkdirSync(OUTPUT, { recursive: true });
  shots += 1;
  await page.screenshot({ path: path.join(OUTPUT, `${FLOW}-${String(shots).padStart(2, '0')}-${step}.png`), fullPage: true });
}

describe('demo flow', { timeout: 180000 }, () => {
  let dir;
  let demo;
  let out = '';
  let browser;
  let page;
  let ctx;
  const s = {};

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renewd-demo-browser-'));
    demo = spawn(path.join(REPO, 'scripts', 'demo'), ['--listen', '127.0.0.1:0'], {
      cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RENEWD_BUILD: BUILD, RENEWD_DEMO_DATA: path.join(dir, 'data') },
    });
    demo.stdout.on('data', (d) => { out += d; });
    demo.stderr.on('data', (d) => { out += d; });
    const deadline = Date.now() + DEMO_TIMEOUT;
    while (!out.includes('Press Ctrl-C to stop.')) {
      if (demo.exitCode !== null) throw new Error(`scripts/demo exited with ${demo.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`scripts/demo printed no welcome within ${DEMO_TIMEOUT} ms:\n${out}`);
      await sleep(100);
    }
    fs.mkdirSync(OUTPUT, { recursive: true });
    fs.writeFileSync(path.join(OUTPUT, `${FLOW}-printed.txt`), out);
    s.base = /Open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser/.exec(out)[1];
    s.link = new RegExp(`^\\s+(${s.base.replace(/\./g, '\\.')}/c/rd_[A-Za-z0-9_-]+)\\s*$`, 'm').exec(out)?.[1];
    s.reseller = /reseller admin\s+(\S+@\S+)/.exec(out)?.[1];
    s.password = /password (\S+) for everyone/.exec(out)?.[1];
    browser = await launchBrowser();
    ({ page, context: ctx } = await newPage(browser, { base: s.base }));
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await browser?.close().catch(() => {});
    if (demo && demo.exitCode === null) {
      process.kill(demo.pid, 'SIGTERM');
      const deadline = Date.now() + STOP_TIMEOUT;
      while (demo.exitCode === null && Date.now() < deadline) await sleep(100);
      if (demo.exitCode === null) process.kill(-demo.pid, 'SIGKILL');
    }
    // renewd runs in a session of its own: make sure it went with the script.
    try {
      const pid = parseInt(fs.readFileSync(path.join(dir, 'data', 'renewd.lock'), 'utf8'), 10);
      if (pid) process.kill(pid, 'SIGKILL');
    } catch { /* gone: as it should be */ }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('it prints a login for every role and a customer link on the port it bound', () => {
    for (const role of ['vendor admin', 'channel manager', 'vendor sales', 'distributor', 'reseller admin', 'reseller sales']) {
      assert.match(out, new RegExp(`^  ${role}\\s+\\S+@\\S+`, 'm'), role);
    }
    assert.ok(s.link, `a customer link at ${s.base} in:\n${out}`);
    assert.ok(s.password && s.reseller);
  });

  test('the start page links to the sign-in and the portals', async () => {
    await page.goto(`${s.base}/`);
    await shot(page, 'start');
    const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    for (const h of ['/login', '/vendor', '/partner']) assert.ok(hrefs.includes(h), `${h} in ${hrefs}`);
    await Promise.all([page.waitForURL(`${s.base}/login`), page.click('a[href="/login"]')]);
    await page.fill('#vendor', 'sentinel');
    await page.fill('#email', s.reseller);
    await page.fill('#password', s.password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname, '/partner');
    await shot(page, 'partner');
    await ctx.clearCookies();
  });

  test('the printed customer link opens the portal with a working logo', async () => {
    await page.goto(s.link);
    assert.equal(new URL(page.url()).pathname, '/portal');
    await shot(page, 'portal');
    const logos = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), w: i.naturalWidth })));
    assert.ok(logos.length >= 1, 'a logo on the portal');
    for (const l of logos) {
      assert.ok(l.src.startsWith('data:image/svg+xml,'), l.src);
      assert.ok(l.w > 0, `the logo ${l.src.slice(0, 60)}... did not load`);
    }
    assert.deepEqual(page.external, [], 'nothing fetched from another host');
  });

  test('the quote is bought by purchase order', async () => {
    await page.locator('#accept').check();
    await Promise.all([page.waitForURL(`${s.base}/portal/purchase`), page.click('#buy')]);
    await shot(page, 'purchase');
    const options = await page.$$eval('input[name=option]', (xs) => xs.map((x) => x.value));
    // Card too, on the local test gateway the demo started, which it names.
    assert.match(out, /or by card\s+on the local test gateway at http:\/\/127\.0\.0\.1:\d+ \(tests\/fakegw: it charges nothing/);
    assert.deepEqual(options.sort(), ['bill_me_later', 'card', 'purchase_order']);
    await page.check('input[name=option][value=purchase_order]');
    await page.fill('#po_number', 'PO-DEMO-42');
    await Promise.all([page.waitForURL(`${s.base}/portal/order`),
      page.click('form[action="/portal/order"] button[type=submit]')]);
    await shot(page, 'ordered');
    assert.equal(await page.textContent('h1'), 'Thank you for your order');
    assert.match(await page.textContent('#order-number'), /^O-\d{4}-\d+$/);
    assert.deepEqual(page.problems, []);
  });

  test('Ctrl-C stops the demo and its renewd cleanly', async () => {
    process.kill(demo.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT;
    while (demo.exitCode === null && Date.now() < deadline) await sleep(100);
    assert.notEqual(demo.exitCode, null, 'scripts/demo still running');
    const pid = parseInt(fs.readFileSync(path.join(dir, 'data', 'renewd.lock'), 'utf8') || '0', 10);
    if (pid) assert.throws(() => process.kill(pid, 0), 'renewd outlived the demo');
    assert.match(out, /stopped cleanly/);
  });
});
