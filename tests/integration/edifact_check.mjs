// The independent EDIFACT side of tests/integration/test_edi.py, with the
// npm edifact package (its Reader, which validates segments and elements,
// and its Tracker, which checks a message against its segment table):
//   node edifact_check.mjs parse FILE
// prints {"segments": [{name, elements}], "tracked": {TYPE: [errors]}} or {"error"}.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { Reader, Tracker } = require('edifact');

const [cmd, file] = process.argv.slice(2);
if (cmd !== 'parse') {
  console.error('usage: edifact_check.mjs parse FILE');
  process.exit(2);
}
try {
  const reader = new Reader({ autoDetectEncoding: true });
  const segments = reader.parse(readFileSync(file, 'latin1'));
  const tracked = {};
  let tracker = null;
  let errors = null;
  for (const s of segments) {
    if (s.name === 'UNH') {
      const type = s.elements[1][0];
      let table = null;
      try { table = require(`edifact/messages/${type}`); } catch { table = null; }
      errors = tracked[type] = table ? [] : ['no segment table'];
      tracker = table ? new Tracker(table) : null;
      if (tracker) tracker.on('error', (e) => errors.push(String(e.message)));
    }
    if (tracker) tracker.accept(s.name);
    if (s.name === 'UNT') tracker = null;
  }
  console.log(JSON.stringify({ segments, tracked }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
}
