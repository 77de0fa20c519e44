// Security of the pages, in the browser: escaping (a customer named
// <script>alert(1)</script> renders as text and no dialog opens), CSRF (a
// POST without, or with a wrong, token is refused 403 and changes nothing;
// a cross-site form cannot act for the customer), expired and revoked links
// (the "Link not valid" page; a revoked link's session ends too), links of
// two customers never showing each other's data, HttpOnly and SameSite
// cookies, and the security headers (CSP with frame-ancestors 'none': the
// pages cannot be framed).
//
// The expired-link test moves the test clock past a link's expiry (the
// contract's end + 60 days), so it runs last.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { addDays, launchBrowser, login, newPage, World } from './lib/world.mjs';

const FLOW = 'security';
const XSS = '<script>alert(1)</script>';

describe('page security', { timeout: 180000 }, () => {
  let w;
  let browser;
  // Another site: a small server of the test's own on 127.0.0.1, reached as
  // http://localhost:PORT (another site than 127.0.0.1 for SameSite, and a
  // local one, so Chromium's local network access checks let it reach renewd
  // as a real attacker's page on this machine could).  pages: path -> HTML.
  let ATTACKER;
  let attacker;
  const pages = {};
  const contexts = [];
  const s = {}; // customers, opportunities and link tokens by letter

  async function open() {
    const x = await newPage(browser, w);
    contexts.push(x.context);
    x.dialogs = [];
    x.page.on('dialog', (d) => {
      x.dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    return x;
  }

  // The published opportunity of a demo contract, and its customer's link.
  async function publish(contractExt) {
    const k = await w.byExternal('contracts', contractExt);
    const opp = (await w.items('/api/v1/opportunities')).find((o) => o.contract_id === k.id);
    assert.ok(opp, `the demo quoted ${contractExt}`);
    const { token } = await w.publishVendor(opp.id);
    const cust = await w.get(`/api/v1/customers/${k.customer_id}`);
    return { k, opp, token, cust };
  }

  const contractsOf = async (custId) => (await w.items('/api/v1/contracts')).filter((k) => k.customer_id === custId);
  const portalRows = (page) => page.$$eval('table.contracts tbody tr', (trs) => trs.map((tr) => {
    const td = tr.querySelectorAll('th, td');
    return `${td[0].textContent}|${td[2].textContent}`;
  }));

  before(async () => {
    w = await World.start(FLOW);
    attacker = http.createServer((req, res) => {
      const body = pages[new URL(req.url, 'http://x').pathname];
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body || 'not found');
    });
    await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    ATTACKER = `http://localhost:${attacker.address().port}`;
    browser = await launchBrowser();
    // Brightwater Logistics (CUST-1002) is renamed before its quote is published.
    const bright = await w.byExternal('customers', 'CUST-1002');
    await w.ok('PATCH', `/api/v1/customers/${bright.id}`, { name: XSS });
    s.A = await publish('K-20002'); // Abbott Dental Group (CUST-1001): also holds K-20001
    s.B = await publish('K-20005'); // Dunmore Architects (CUST-1004)
    s.X = await publish('K-20003'); // CUST-1002, now named <script>alert(1)</script>
    s.R = await publish('K-20007'); // Elm Street Surgery (CUST-1005), RES-SILV: its link is revoked
    // K-20006 (RES-GOLD) stays awaiting the partner's decision.
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    attacker?.close();
    w?.cleanup();
  });

  test('a customer named <script>alert(1)</script> renders as text, in the portal and the partner portal', async () => {
    const { page, dialogs } = await open();
    await page.goto(`${w.base}/c/${s.X.token}`);
    assert.equal(new URL(page.url()).pathname, '/portal');
    await w.shot(page, FLOW, 'xss-portal');
    assert.match(await page.textContent('main p'), /^Dear <script>alert\(1\)<\/script>, here are your contracts/);
    const html = await (await page.request.get(`${w.base}/portal`)).text();
    assert.ok(html.includes('Dear &lt;script&gt;alert(1)&lt;/script&gt;'), html.slice(0, 2000));
    assert.ok(!html.includes(XSS), 'the name is never written as markup');
    assert.deepEqual(await page.$$eval('script', (xs) => xs.map((x) => x.getAttribute('src'))), ['/static/portal.js']);
    // The purchase page puts it into an input's value, as text.
    await page.check('#accept');
    await Promise.all([page.waitForURL(`${w.base}/portal/purchase`), page.click('#buy')]);
    assert.equal(await page.inputValue('#company'), XSS);
    await w.shot(page, FLOW, 'xss-purchase');
    // The partner of record sees the customer in its quotes list.
    const p = await open();
    await login(p.page, w, 'partner');
    const row = p.page.locator('table tbody tr', { hasText: s.X.opp.number });
    assert.equal((await row.locator('td').nth(1).textContent()), XSS);
    await w.shot(p.page, FLOW, 'xss-partner');
    await page.waitForTimeout(300); // a dialog would have opened by now
    assert.deepEqual([...dialogs, ...p.dialogs], []);
    assert.deepEqual([...page.problems, ...p.page.problems], []);
  });

  test('a POST without or with a wrong CSRF token is refused 403 and changes nothing', async () => {
    const a = await open();
    await a.page.goto(`${w.base}/c/${s.A.token}`);
    const b = await open();
    await b.page.goto(`${w.base}/c/${s.B.token}`);
    const csrfA = await a.page.getAttribute('#quote input[name=csrf]', 'value');
    const csrfB = await b.page.getAttribute('#quote input[name=csrf]', 'value');
    assert.match(csrfA, /^[0-9a-f]{64}$/);
    assert.notEqual(csrfA, csrfB);
    const tasks = (await w.items('/api/v1/tasks')).length;
    const post = (ctx, p, form) => ctx.request.post(`${w.base}${p}`, { form, maxRedirects: 0 });
    for (const [why, csrf] of [['none', undefined], ['wrong', 'f'.repeat(64)], ['short', csrfA.slice(0, 63)],
      ["another session's", csrfB]]) {
      const form = csrf === undefined ? { accept: 'yes' } : { accept: 'yes', csrf };
      const r = await post(a.context, '/portal/accept', form);
      assert.equal(r.status(), 403, `accept with ${why} token`);
      assert.match(await r.text(), /This form has expired/);
      const q = await post(a.context, '/portal/request', { ...form, action: 'callback', message: 'csrf' });
      assert.equal(q.status(), 403, `request with ${why} token`);
    }
    assert.equal((await w.get(`/api/v1/opportunities/${s.A.opp.id}`)).state, 'published_vendor');
    assert.equal((await w.items('/api/v1/tasks')).length, tasks);
    // The right token works (so the refusals above were about the token).
    const ok = await post(a.context, '/portal/request', { csrf: csrfA, action: 'callback', message: 'right token' });
    assert.equal(ok.status(), 200);
    assert.equal((await w.items('/api/v1/tasks')).length, tasks + 1);

    // The partner portal's decision and sign-out forms.
    const p = await open();
    await login(p.page, w, 'partner');
    const gold = await w.byExternal('partners', 'RES-GOLD');
    const pending = (await w.items('/api/v1/opportunities?state=pending_decision')).find((o) => o.reseller_id === gold.id);
    assert.ok(pending, 'RES-GOLD has an opportunity awaiting a decision');
    for (const csrf of [undefined, '0'.repeat(64), csrfA]) {
      const form = csrf === undefined ? { publish: 'partner' } : { publish: 'partner', csrf };
      const r = await post(p.context, `/partner/opportunities/${pending.id}/decision`, form);
      assert.equal(r.status(), 403);
      const out = await post(p.context, '/logout', csrf === undefined ? {} : { csrf });
      assert.equal(out.status(), 403);
    }
    assert.equal((await w.get(`/api/v1/opportunities/${pending.id}`)).state, 'pending_decision');
    await p.page.goto(`${w.base}/partner`);
    assert.equal(new URL(p.page.url()).pathname, '/partner', 'still signed in');
    s.pending = pending;
  });

  test('a form on another site cannot act for the customer or the partner', async () => {
    assert.ok(s.pending, 'the pending opportunity from the previous step');
    const a = await open();
    await a.page.goto(`${w.base}/c/${s.A.token}`);
    await login(a.page, w, 'partner');
    // The other site serves a page whose forms post to renewd.
    pages['/prize'] = `<!doctype html><title>win a prize</title>
        <form id="accept" method="post" action="${w.base}/portal/accept"><input name="accept" value="yes"></form>
        <form id="decide" method="post" action="${w.base}/partner/opportunities/${s.pending.id}/decision">
        <input name="publish" value="partner"></form>`;
    for (const form of ['accept', 'decide']) {
      await a.page.goto(`${ATTACKER}/prize`);
      const [resp] = await Promise.all([a.page.waitForNavigation(), a.page.$eval(`#${form}`, (f) => f.submit())]);
      const status = resp ? resp.status() : 0;
      // SameSite keeps the cookie home (401 / redirect to /login); were it sent, the token is missing (403).
      assert.ok([401, 403].includes(status) || new URL(a.page.url()).pathname === '/login', `${form}: ${status} ${a.page.url()}`);
      await w.shot(a.page, FLOW, `cross-site-${form}`);
    }
    assert.equal((await w.get(`/api/v1/opportunities/${s.A.opp.id}`)).state, 'published_vendor');
    assert.equal((await w.get(`/api/v1/opportunities/${s.pending.id}`)).state, 'pending_decision');
  });

  test('cookies are HttpOnly and SameSite; pages carry CSP with frame-ancestors none and cannot be framed', async () => {
    const a = await open();
    const link = await a.page.request.get(`${w.base}/c/${s.A.token}`, { maxRedirects: 0 });
    assert.equal(link.status(), 303);
    await a.page.goto(`${w.base}/c/${s.A.token}`);
    await login(a.page, w, 'partner');
    const cookies = Object.fromEntries((await a.context.cookies(w.base)).map((c) => [c.name, c]));
    for (const name of ['rd_customer', 'rd_session']) {
      assert.ok(cookies[name], `${name} is set`);
      assert.equal(cookies[name].httpOnly, true, `${name} is HttpOnly`);
      assert.ok(['Lax', 'Strict'].includes(cookies[name].sameSite), `${name} SameSite=${cookies[name].sameSite}`);
      assert.equal(cookies[name].path, '/');
    }
    assert.equal(await a.page.evaluate(() => document.cookie), '', 'scripts cannot read the cookies');
    const paths = ['/login', '/portal', '/portal/purchase', '/partner', `/c/${s.A.token}`, '/c/rd_not-a-link'];
    for (const p of paths) {
      const r = await a.page.request.get(`${w.base}${p}`, { maxRedirects: 0 });
      const h = r.headers();
      assert.ok(h['content-security-policy'], `${p} has a CSP`);
      assert.match(h['content-security-policy'], /frame-ancestors 'none'/, p);
      assert.match(h['content-security-policy'], /script-src 'self'/, p);
      assert.equal(h['x-frame-options'], 'DENY', p);
      assert.equal(h['x-content-type-options'], 'nosniff', p);
    }
    // Framed from another site, a page does not render; a control frame of a
    // file without the headers (the stylesheet) shows the check can see one.
    pages['/frame'] = `<!doctype html><title>frame</title><iframe name="login" src="${w.base}/login" width="500" height="300">`
      + `</iframe><iframe name="control" src="${w.base}/static/site.css" width="500" height="300"></iframe>`;
    await a.page.goto(`${ATTACKER}/frame`);
    // The blocked frame shows Chromium's error page (and loses its name).
    const frames = () => a.page.frames().filter((f) => f !== a.page.mainFrame());
    const text = (f) => f.locator('body').textContent({ timeout: 2000 }).catch(() => '');
    await w.until('the frames', async () => frames().length === 2, 5000);
    const seen = {};
    for (const f of frames()) seen[f.url().startsWith(`${w.base}/static/`) ? 'control' : 'login'] = f;
    assert.ok(seen.control && seen.login, frames().map((f) => f.url()).join(' '));
    assert.match(await text(seen.control), /font-family/, 'the control frame renders');
    assert.equal(await seen.login.locator('#password').count(), 0, 'the login page rendered inside a frame on another site');
    assert.doesNotMatch(await text(seen.login), /Sign in/);
    assert.ok(a.page.problems.some((p) => /frame-ancestors 'none'/.test(p)), a.page.problems.join('\n'));
    a.page.problems.length = 0;
    await w.shot(a.page, FLOW, 'framed');
  });

  test("a customer's link never shows another customer's data", async () => {
    const names = Object.fromEntries((await w.items('/api/v1/products')).map((p) => [p.id, p.name]));
    // A link shows the customer's contracts in the channel of its quote (docs/portals.md).
    const rowsOf = async (x) => (await contractsOf(x.cust.id))
      .filter((k) => [k.reseller_id, k.distributor_id].includes(x.opp.reseller_id))
      .map((k) => `${names[k.product_id]}|${k.end}`).sort();
    const a = await open();
    const b = await open();
    await a.page.goto(`${w.base}/c/${s.A.token}`);
    await b.page.goto(`${w.base}/c/${s.B.token}`);
    await w.shot(a.page, FLOW, 'customer-a');
    await w.shot(b.page, FLOW, 'customer-b');
    for (const [x, other, page] of [[s.A, s.B, a.page], [s.B, s.A, b.page]]) {
      assert.deepEqual((await portalRows(page)).sort(), await rowsOf(x));
      const text = await page.textContent('main');
      assert.ok(text.includes(x.cust.name) && !text.includes(other.cust.name), `${x.cust.name} only`);
      assert.ok(text.includes(x.opp.number) && !text.includes(other.opp.number), `${x.opp.number} only`);
    }
    // Abbott also holds K-20001 through another reseller: not on RES-GOLD's link.
    assert.ok((await contractsOf(s.A.cust.id)).length >= 2, 'Abbott has two contracts');
    assert.equal((await rowsOf(s.A)).length, 1, "RES-GOLD's link shows RES-GOLD's contract only");
    // The customer session opens nothing else: not the API, not the partner portal.
    const api = await a.page.request.get(`${w.base}/api/v1/customers`);
    assert.equal(api.status(), 401);
    await a.page.goto(`${w.base}/partner`);
    assert.equal(new URL(a.page.url()).pathname, '/login');
    // Opening B's link in A's browser replaces the session: B's data only.
    await a.page.goto(`${w.base}/c/${s.B.token}`);
    assert.deepEqual((await portalRows(a.page)).sort(), await rowsOf(s.B));
    assert.ok(!(await a.page.textContent('main')).includes(s.A.cust.name));
    // A tampered or unknown link is not valid.
    for (const bad of [`${s.A.token.slice(0, -1)}${s.A.token.endsWith('A') ? 'B' : 'A'}`, 'rd_' + 'A'.repeat(43), 'nonsense']) {
      const r = await a.page.goto(`${w.base}/c/${bad}`);
      assert.equal(r.status(), 404);
      assert.equal(await a.page.textContent('h1'), 'Link not valid');
    }
  });

  test('a revoked link is refused, and its open session ends', async () => {
    const a = await open();
    await a.page.goto(`${w.base}/c/${s.R.token}`);
    assert.equal(new URL(a.page.url()).pathname, '/portal');
    const links = (await w.get(`/api/v1/opportunities/${s.R.opp.id}/links`)).items;
    assert.equal(links.length, 1, JSON.stringify(links));
    assert.equal((await w.request('DELETE', `/api/v1/links/${links[0].id}`)).status, 204);
    const again = await a.page.reload();
    assert.equal(again.status(), 401);
    assert.equal(await a.page.textContent('h1'), 'This page needs your renewal link');
    await w.shot(a.page, FLOW, 'revoked-session');
    const b = await open();
    const r = await b.page.goto(`${w.base}/c/${s.R.token}`);
    assert.equal(r.status(), 404);
    assert.equal(await b.page.textContent('h1'), 'Link not valid');
    assert.match(await b.page.textContent('main'), /withdrawn/);
    assert.equal((await b.context.cookies(w.base)).filter((c) => c.name === 'rd_customer').length, 0);
    await w.shot(b.page, FLOW, 'revoked-link');
  });

  test('an expired link is refused (the contract end + 60 days)', async () => {
    const links = (await w.get(`/api/v1/opportunities/${s.A.opp.id}/links`)).items;
    const end = s.A.opp.contract_end;
    assert.ok(links.length >= 1);
    // The day before the expiry, the link still opens.
    await w.setClock(addDays(end, 59));
    const a = await open();
    const ok = await a.page.goto(`${w.base}/c/${s.A.token}`);
    assert.equal(ok.status(), 200);
    assert.equal(new URL(a.page.url()).pathname, '/portal');
    await w.setClock(addDays(end, 60));
    const b = await open();
    const r = await b.page.goto(`${w.base}/c/${s.A.token}`);
    assert.equal(r.status(), 404);
    assert.equal(await b.page.textContent('h1'), 'Link not valid');
    assert.match(await b.page.textContent('main'), /expired/);
    await w.shot(b.page, FLOW, 'expired-link');
    // The session it opened the day before has ended with it.
    const again = await a.page.reload();
    assert.equal(again.status(), 401);
  });

  test('renewd stops cleanly', async () => {
    const exit = await w.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, w.log());
    assert.match(w.log(), /stopped cleanly/);
  });
});
