// tests/browser/lib/world.mjs: what every browser test file shares.
//
// A World is one renewd of its own: a fresh data directory under the system
// temporary directory, loaded with examples/demo/demo.json by renewctl, three
// users made by renewctl (a vendor admin, a vendor sales person and a partner
// admin of RES-GOLD, partner 3), renewd on a free port of 127.0.0.1 with the
// settable test clock, its mail written to DATA/mail/*.eml (the maildir
// transport).  Every wait is bounded.  stop() asks renewd to stop and checks
// that it exits 0 having said "stopped cleanly"; kill() is the safety net.
//
// The browser is Debian's chromium (/usr/bin/chromium, or $CHROMIUM) driven by
// playwright-core, never a browser playwright downloads.  Playwright starts it
// with a fresh, empty --user-data-dir of its own; the flags below keep it off
// the (closed) network.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO = path.resolve(HERE, '..', '..');
export const BUILD = path.resolve(process.env.RENEWD_BUILD || path.join(REPO, 'build'));
export const RENEWD = path.join(BUILD, 'core', 'renewd');
export const RENEWCTL = path.join(BUILD, 'core', 'renewctl');
export const DEMO = path.join(REPO, 'examples', 'demo', 'demo.json');
export const OUTPUT = path.resolve(process.env.RENEWD_BROWSER_OUTPUT || path.join(HERE, 'output'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'browser-test-password-1';
export const VENDOR = 'sentinel';

export const START_TIMEOUT = 15000; // ms for "listening on"
export const STOP_TIMEOUT = 10000; // ms for a clean exit after SIGTERM
export const MAIL_TIMEOUT = 15000; // ms for an e-mail to land in DATA/mail
export const CTL_TIMEOUT = 30000; // ms for one renewctl run
export const HTTP_TIMEOUT = 10000; // ms for one API request
export const PAGE_TIMEOUT = 15000; // ms for one browser action or navigation

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// The users every world has: name -> [e-mail, role, partner id or null].
export const USERS = {
  admin: ['admin@sentinel.example', 'vendor-admin', null],
  sales: ['sales@sentinel.example', 'vendor-sales', null],
  partner: ['renewals@harbour.example', 'partner-admin', 3], // RES-GOLD, Harbour Networks
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- dates (the test clock's days, as YYYY-MM-DD) ---------------------------------

export function addDays(iso, n) {
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(a, b) {
  return Math.round((Date.parse(`${b.slice(0, 10)}T00:00:00Z`) - Date.parse(`${a.slice(0, 10)}T00:00:00Z`)) / 86400000);
}

// The colour a contract should have on `today` (core/domain/model.c's rule, as
// the issue states it): black = cancelled, red = ended (or marked expired),
// amber = ending within the renewal window, green = later (or renewed).
export function expectedColour(contract, today, windowDays) {
  if (contract.status === 'cancelled') return 'black';
  if (contract.status === 'renewed') return 'green';
  if (contract.status === 'expired' || contract.end < today) return 'red';
  if (daysBetween(today, contract.end) <= windowDays) return 'amber';
  return 'green';
}

// ---- helpers --------------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function renewctl(data, args, input) {
  const p = spawnSync(RENEWCTL, ['--data', data, ...args], { input: input ?? '', encoding: 'utf8', timeout: CTL_TIMEOUT });
  if (p.error) throw p.error;
  if (p.status !== 0) throw new Error(`renewctl ${args.join(' ')} exited ${p.status}:\n${p.stdout}\n${p.stderr}`);
  return p;
}

// A short file-name part for screenshots.
function slug(s) {
  return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

// Parses one .eml file as renewd writes it (CRLF lines; multipart/alternative
// with an 8bit text/plain part): its headers and the text of that part.
export function parseMail(file) {
  const raw = fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n');
  const split = raw.indexOf('\n\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const headers = {};
  for (const line of head.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) headers[m[1].toLowerCase()] = m[2];
  }
  let text = split < 0 ? '' : raw.slice(split + 2);
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type'] || '');
  if (boundary) {
    for (const part of text.split(`--${boundary[1]}`)) {
      const at = part.indexOf('\n\n');
      if (at >= 0 && /content-type:\s*text\/plain/i.test(part.slice(0, at))) {
        text = part.slice(at + 2).replace(/\n$/, '');
        break;
      }
    }
  }
  return { file, headers, kind: headers['x-renewd-kind'] || '', ref: headers['x-renewd-ref'] || '', to: headers.to || '', text };
}

export function linkToken(mail) {
  const m = /\/c\/(rd_[A-Za-z0-9_-]{43})/.exec(mail.text);
  if (!m) throw new Error(`no /c/ link in ${mail.file}:\n${mail.text}`);
  return m[1];
}

// ---- the world --------------------------------------------------------------------

export class World {
  constructor(name) {
    this.name = name;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `renewd-browser-${slug(name)}-`));
    this.data = path.join(this.dir, 'data');
    this.logPath = path.join(this.dir, 'renewd.log');
    this.tokens = {};
    this.emails = {};
    this.proc = null;
    this.exit = null;
    this.shots = 0;
  }

  // Loads the demo, makes the users and starts renewd; resolves when it listens.
  static async start(name, { extraArgs = [] } = {}) {
    for (const exe of [RENEWD, RENEWCTL]) {
      if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: build first, or set RENEWD_BUILD to a build directory`);
    }
    const w = new World(name);
    fs.mkdirSync(w.data);
    renewctl(w.data, ['demo-load', DEMO]);
    for (const [who, [email, role, partner]] of Object.entries(USERS)) {
      const args = ['user', 'create', '--vendor', VENDOR, '--email', email, '--role', role, '--password-stdin'];
      if (partner) args.push('--partner', String(partner));
      const p = renewctl(w.data, args, `${PASSWORD}\n`);
      const token = p.stdout.trim();
      if (!/^rd_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`renewctl user create printed ${JSON.stringify(p.stdout)}`);
      w.tokens[who] = token;
      w.emails[who] = email;
    }
    w.port = await freePort();
    w.base = `http://127.0.0.1:${w.port}`;
    const log = fs.openSync(w.logPath, 'w');
    w.proc = spawn(RENEWD, ['--data', w.data, '--listen', `127.0.0.1:${w.port}`, '--test-clock', '1',
      '--sched-interval-ms', '3600000', '--outbound-hosts', '127.0.0.1' /* the fake card gateway */, ...extraArgs], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    w.exited = new Promise((resolve) => w.proc.on('exit', (code, signal) => { w.exit = { code, signal }; resolve(w.exit); }));
    const deadline = Date.now() + START_TIMEOUT;
    for (;;) {
      if (/listening on http:\/\/127\.0\.0\.1:\d+\//.test(w.log())) break;
      if (w.exit) throw new Error(`renewd exited ${JSON.stringify(w.exit)} before listening:\n${w.log()}`);
      if (Date.now() > deadline) {
        w.kill();
        throw new Error(`renewd did not listen within ${START_TIMEOUT} ms:\n${w.log()}`);
      }
      await sleep(20);
    }
    const v = await w.get('/api/v1/vendor');
    w.vendor = v;
    w.window = v.renewal_window_days || 90;
    return w;
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  // SIGTERM, then a bounded wait; returns { code, signal } and keeps the log in the output.
  async stop() {
    if (!this.proc) return this.exit;
    if (!this.exit) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT);
    const exit = await this.exited;
    clearTimeout(t);
    this.saveLog();
    return exit;
  }

  kill() {
    if (this.proc && !this.exit) this.proc.kill('SIGKILL');
  }

  saveLog() {
    try {
      fs.mkdirSync(OUTPUT, { recursive: true });
      fs.copyFileSync(this.logPath, path.join(OUTPUT, `${slug(this.name)}-renewd.log`));
    } catch { /* the log is a courtesy */ }
  }

  cleanup() {
    this.kill();
    this.saveLog();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- the API ------------------------------------------------------------------

  async request(method, p, { body, token = this.tokens.admin, headers = {}, redirect = 'manual' } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof URLSearchParams)) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const r = await fetch(this.base + p, { method, headers: h, body: payload, redirect, signal: AbortSignal.timeout(HTTP_TIMEOUT) });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  }

  // The JSON body of a request that must answer `status`.
  async ok(method, p, body, status = 200, token) {
    const r = await this.request(method, p, { body, token });
    if (r.status !== status) throw new Error(`${method} ${p}: expected ${status}, got ${r.status}: ${r.text.slice(0, 400)}`);
    return r.json;
  }

  get(p, token) {
    return this.ok('GET', p, undefined, 200, token);
  }

  async items(p, token) {
    const out = [];
    let cursor = null;
    for (let i = 0; i < 100; i++) {
      const sep = p.includes('?') ? '&' : '?';
      const doc = await this.get(`${p}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`, token);
      out.push(...doc.items);
      cursor = doc.next_cursor;
      if (!cursor) return out;
    }
    throw new Error(`${p}: next_cursor never ended`);
  }

  // Whether renewd has a route (page routes answer an anonymous caller with a
  // redirect to /login or a page, never the router's JSON 404).
  async hasRoute(method, p) {
    const r = await this.request(method, p, { token: null });
    return !(r.status === 404 && r.json && r.json.error);
  }

  async today() {
    return (await this.get('/api/v1/clock')).today;
  }

  async setClock(date) {
    const doc = await this.ok('POST', '/api/v1/clock', { date });
    if (doc.today !== date) throw new Error(`the clock says ${doc.today}, not ${date}`);
    return doc;
  }

  async byExternal(resource, ext) {
    const all = await this.items(`/api/v1/${resource}`);
    const x = all.find((r) => r.external_id === ext);
    if (!x) throw new Error(`no ${resource} with external_id ${ext}`);
    return x;
  }

  // Polls until fn() returns something truthy (bounded).
  async until(what, fn, timeout = MAIL_TIMEOUT) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  // ---- mail -----------------------------------------------------------------------

  mails() {
    const dir = path.join(this.data, 'mail');
    let names = [];
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith('.eml'));
    } catch {
      return [];
    }
    return names.sort().map((n) => parseMail(path.join(dir, n)));
  }

  waitMail(pred, what) {
    return this.until(what, () => this.mails().find(pred));
  }

  // Publishes an opportunity (the vendor sells) as the vendor admin and
  // returns the customer's link token from the customer_notice e-mail.
  async publishVendor(oppId) {
    const doc = await this.ok('POST', `/api/v1/opportunities/${oppId}/decision`, { publish: 'vendor' });
    if (doc.state !== 'published_vendor') throw new Error(`decision: ${JSON.stringify(doc)}`);
    const mail = await this.waitMail((m) => m.kind === 'customer_notice' && m.ref === `notice:${oppId}`,
      `the customer notice of opportunity ${oppId}`);
    return { mail, token: linkToken(mail) };
  }

  // ---- the browser ------------------------------------------------------------------

  async shot(page, flow, step) {
    fs.mkdirSync(OUTPUT, { recursive: true });
    this.shots += 1;
    const file = path.join(OUTPUT, `${slug(flow)}-${String(this.shots).padStart(2, '0')}-${slug(step)}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: PAGE_TIMEOUT });
    return file;
  }
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/deps)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
  return browser;
}

// A fresh context (its own cookies) and page.  Requests that leave this
// machine (the demo partners' logos at https://PARTNER.example/) never reach
// the network: images are answered with a placeholder naming the host, the
// rest aborted.  page.problems collects script errors, console errors and failed
// subresources (a page's own status is for the test to check; /favicon.ico
// is not served).
export async function newPage(browser, w) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(PAGE_TIMEOUT);
  context.setDefaultNavigationTimeout(PAGE_TIMEOUT);
  const problems = [];
  const external = [];
  await context.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => {
    const req = route.request();
    external.push(req.url());
    if (req.resourceType() !== 'image') return route.abort();
    const host = new URL(req.url()).hostname.replace(/[^a-z0-9.-]/gi, '');
    return route.fulfill({ status: 200, contentType: 'image/svg+xml',
      body: `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="160" height="40" rx="6" fill="#fff"/>`
        + `<text x="80" y="25" font-family="sans-serif" font-size="12" text-anchor="middle" fill="#333">logo: ${host}</text></svg>` });
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`script error: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && !r.request().isNavigationRequest() && u.pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    if (new URL(r.url()).origin === w.base) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.problems = problems;
  page.external = external;
  return { context, page };
}

// Logs in through /login; resolves with the page after the redirect.
export async function login(page, w, who) {
  await page.goto(`${w.base}/login`);
  await page.fill('#vendor', VENDOR);
  await page.fill('#email', w.emails[who]);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  return page;
}
