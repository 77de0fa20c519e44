// The independent X12 side of tests/integration/test_edi.py, with the npm
// node-x12 package:
//   node x12_check.mjs parse FILE       strict parse of a file renewd wrote:
//                                       prints its interchange as JSON, or {"error"}
//   node x12_check.mjs build JSEN OUT   builds an interchange from JS EDI Notation
//                                       (JSON file) with node-x12's generator into OUT
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { X12Parser, X12Generator } = require('node-x12');

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'parse') {
  const text = readFileSync(a, 'latin1');
  try {
    const parser = new X12Parser(true);
    const ic = parser.parse(text);
    if (ic.interchanges) throw new Error('a fat interchange: more than one ISA');
    const seg = (s) => ({ tag: s.tag, elements: s.elements.map((e) => e.value) });
    const out = {
      elementDelimiter: ic.elementDelimiter,
      segmentTerminator: ic.segmentTerminator,
      header: seg(ic.header).elements,
      trailer: seg(ic.trailer).elements,
      diagnostics: parser.diagnostics.map((d) => String(d.message)),
      groups: ic.functionalGroups.map((g) => ({
        header: seg(g.header).elements,
        trailer: seg(g.trailer).elements,
        transactions: g.transactions.map((t) => ({
          header: seg(t.header).elements,
          trailer: seg(t.trailer).elements,
          segments: t.segments.map(seg),
        })),
      })),
      // written back by node-x12 itself: equal to the input when nothing was lost
      reserialized: ic.toString({ elementDelimiter: ic.elementDelimiter, segmentTerminator: ic.segmentTerminator }),
    };
    console.log(JSON.stringify(out));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  }
} else if (cmd === 'build') {
  const jsen = JSON.parse(readFileSync(a, 'utf8'));
  const gen = new X12Generator(jsen, { elementDelimiter: '*', segmentTerminator: '~' });
  writeFileSync(b, gen.toString());
} else {
  console.error('usage: x12_check.mjs parse FILE | build JSEN OUT');
  process.exit(2);
}
