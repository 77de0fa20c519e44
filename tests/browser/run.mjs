#!/usr/bin/env node
// tests/browser/run.mjs [--junit FILE] [FLOW...]: the browser suite.
//
// Runs the flow files (customer, partner, sales, vendor, security, checkout, walk, deals, leads, feeds, hooks,
// console_work, demo, reports, phone; or the
// ones named) with Node's built-in test runner, one renewd per file (see
// lib/world.mjs), in Debian's chromium driven by playwright-core.  Each page
// is screenshotted into tests/browser/output/ (emptied first), with each
// renewd's log beside them.  Prints the spec reporter's output; with --junit,
// also writes JUnit XML (our own reporter, junit.mjs: Node 18 has none).
// Exits non-zero when a test failed or the suite could not run.
//
//   RENEWD_BUILD            the build directory (default <repo>/build)
//   CHROMIUM                the browser (default /usr/bin/chromium)
//   RENEWD_BROWSER_OUTPUT   where screenshots go (default tests/browser/output)
//
// The node modules (playwright-core, pinned in package.json and
// package-lock.json) are installed with `npm ci` when missing or older than
// the lock file, as tests/openapi-lint does.  Never `npx playwright install`.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const FLOWS = ['customer', 'partner', 'sales', 'vendor', 'security', 'checkout', 'walk', 'deals', 'leads', 'feeds', 'hooks', 'console_work', 'demo', 'reports', 'phone', 'records'];
const SUITE_TIMEOUT = 300000; // ms: the whole suite, a bound against hangs

let junit = null;
const chosen = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--junit') junit = path.resolve(argv[++i] ?? '');
  else if (a.startsWith('--junit=')) junit = path.resolve(a.slice(8));
  else if (a === '-h' || a === '--help') {
    console.log('usage: tests/browser/run.mjs [--junit FILE] [customer|partner|sales|vendor|security|checkout|walk|deals|leads|feeds|hooks|console_work|demo|reports|phone ...]');
    process.exit(0);
  } else if (FLOWS.includes(a)) chosen.push(a);
  else {
    console.error(`run.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}
const files = (chosen.length ? chosen : FLOWS).map((f) => path.join(here, `${f}.test.mjs`));

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// The suite could not run at all: one failed testcase that says why.
function cannotRun(why) {
  console.error(`browser suite: ${why}`);
  if (junit) {
    fs.writeFileSync(junit, `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="browser"><testsuite name="browser" tests="1" failures="1">`
      + `<testcase classname="browser" name="the suite runs"><failure message="${esc(why)}"/></testcase></testsuite></testsuites>\n`);
  }
  process.exit(1);
}

// ---- the node modules --------------------------------------------------------------

const major = Number(process.versions.node.split('.')[0]);
if (major < 18) cannotRun(`node ${process.versions.node} is too old: 18 or later is needed`);
const stamp = path.join(root, 'node_modules', '.renewd-install-stamp');
const want = crypto.createHash('sha256')
  .update(Buffer.concat([fs.readFileSync(path.join(root, 'package.json')), fs.readFileSync(path.join(root, 'package-lock.json'))]))
  .digest('hex');
let have = '';
try {
  have = fs.readFileSync(stamp, 'utf8').trim();
} catch { /* not installed */ }
if (!fs.existsSync(path.join(root, 'node_modules', 'playwright-core', 'package.json')) || have !== want) {
  console.error('browser suite: installing node modules (npm ci)');
  const p = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 2, 2], timeout: 600000 });
  if (p.status !== 0) cannotRun(`npm ci failed (${p.error ? p.error.message : `exit ${p.status}`})`);
  fs.writeFileSync(stamp, `${want}\n`);
}
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) cannotRun(`${chromium} is missing: install Debian's chromium (scripts/deps)`);
const build = path.resolve(process.env.RENEWD_BUILD || path.join(root, 'build'));
for (const exe of ['renewd', 'renewctl']) {
  if (!fs.existsSync(path.join(build, 'core', exe))) cannotRun(`${path.join(build, 'core', exe)} is missing: build first`);
}

// ---- the output ------------------------------------------------------------------------

const output = path.resolve(process.env.RENEWD_BROWSER_OUTPUT || path.join(here, 'output'));
fs.mkdirSync(output, { recursive: true });
for (const n of fs.readdirSync(output)) {
  if (/\.(png|log|html|pdf)$/.test(n)) fs.rmSync(path.join(output, n), { force: true });
}

// ---- the run ------------------------------------------------------------------------

const args = ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout'];
if (junit) args.push(`--test-reporter=${path.join(here, 'junit.mjs')}`, `--test-reporter-destination=${junit}`);
args.push(...files);
if (junit) fs.rmSync(junit, { force: true });
const env = { ...process.env, RENEWD_BUILD: build, RENEWD_BROWSER_OUTPUT: output, NODE_NO_WARNINGS: '1' };
// Its own process group, so that a hang can be ended with everything it started.
const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit', detached: true });
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  console.error(`browser suite: still running after ${SUITE_TIMEOUT / 1000} s: stopping it`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch { /* gone */ }
}, SUITE_TIMEOUT);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch { /* gone */ }
  });
}
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  if (timedOut) cannotRun(`the suite ran past ${SUITE_TIMEOUT / 1000} s`);
  if (junit && !(fs.existsSync(junit) && fs.statSync(junit).size > 0)) cannotRun(`node --test ended (${code ?? signal}) without results`);
  const shots = fs.readdirSync(output).filter((n) => n.endsWith('.png')).length;
  console.log(`browser suite: ${shots} screenshot(s) in ${path.relative(process.cwd(), output) || output}`);
  process.exit(code ?? 1);
});
