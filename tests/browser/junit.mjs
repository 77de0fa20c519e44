// tests/browser/junit.mjs: a node:test reporter that writes JUnit XML, the
// same on Node 18 (Debian 12's nodejs, which has no junit reporter of its own)
// and Node 20+.  Used as `node --test --test-reporter=./tests/browser/junit.mjs
// --test-reporter-destination=FILE ...`.
//
// One <testsuite> per test file; one <testcase> per test (leaf), named by its
// describe() path; skipped tests carry <skipped message="why"/>, failures
// <failure message=...>stack</failure>.  A suite that fails by itself (a hook)
// becomes a testcase of its own so the failure is counted.
import path from 'node:path';

function esc(s) {
  return String(s ?? '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function errorText(err) {
  if (!err) return { message: 'failed', text: '' };
  const cause = err.cause && typeof err.cause === 'object' ? err.cause : err;
  const message = cause.message || err.message || String(cause);
  const text = cause.stack || message;
  return { message: message.split('\n')[0].slice(0, 500), text };
}

export default async function* junit(source) {
  const files = new Map(); // file -> { pending: Map(nesting -> records[]) }
  const order = [];
  const state = (file) => {
    const key = file || '(unknown file)';
    if (!files.has(key)) {
      files.set(key, { pending: new Map() });
      order.push(key);
    }
    return files.get(key);
  };

  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    const f = state(d.file);
    const nesting = d.nesting ?? 0;
    const children = f.pending.get(nesting + 1) || [];
    f.pending.delete(nesting + 1);
    const list = f.pending.get(nesting) || [];
    f.pending.set(nesting, list);
    const seconds = ((d.details && d.details.duration_ms) || 0) / 1000;
    // A file that Node 18 reports as a test of its own: its tests are its children.
    const isFileWrapper = nesting === 0 && d.file && (d.name === d.file || path.resolve(d.name) === path.resolve(d.file));
    if (children.length) {
      for (const c of children) {
        if (!isFileWrapper) c.path.unshift(d.name);
        list.push(c);
      }
      const err = d.details && d.details.error;
      // A suite fails when a test in it did (counted there already), or by
      // itself (a hook: its tests are then "cancelled"): say why, once.
      if (event.type === 'test:fail' && !(err && err.failureType === 'subtestsFailed' && children.some((c) => c.failure))) {
        list.push({ path: isFileWrapper ? [] : [d.name], name: '(suite)', seconds, failure: errorText(err) });
      }
      continue;
    }
    const rec = { path: [], name: d.name, seconds };
    if (d.skip !== undefined && d.skip !== false) rec.skipped = typeof d.skip === 'string' ? d.skip : 'skipped';
    else if (d.todo !== undefined && d.todo !== false) rec.skipped = `todo: ${typeof d.todo === 'string' ? d.todo : ''}`;
    else if (event.type === 'test:fail') rec.failure = errorText(d.details && d.details.error);
    if (isFileWrapper) rec.name = path.basename(d.file);
    list.push(rec);
  }

  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="browser">\n';
  for (const file of order) {
    const recs = [];
    for (const [, list] of [...files.get(file).pending.entries()].sort((a, b) => a[0] - b[0])) recs.push(...list);
    const name = path.basename(file).replace(/\.test\.mjs$/, '');
    const failures = recs.filter((r) => r.failure).length;
    const skipped = recs.filter((r) => r.skipped).length;
    const time = recs.reduce((s, r) => s + r.seconds, 0);
    out += `  <testsuite name="browser: ${esc(name)}" tests="${recs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n`;
    for (const r of recs) {
      const cls = ['browser', name, ...r.path].join('.');
      out += `    <testcase classname="${esc(cls)}" name="${esc(r.name)}" time="${r.seconds.toFixed(3)}"`;
      if (r.failure) out += `>\n      <failure message="${esc(r.failure.message)}">${esc(r.failure.text)}</failure>\n    </testcase>\n`;
      else if (r.skipped) out += `>\n      <skipped message="${esc(r.skipped)}"/>\n    </testcase>\n`;
      else out += '/>\n';
    }
    out += '  </testsuite>\n';
  }
  out += '</testsuites>\n';
  yield out;
}
