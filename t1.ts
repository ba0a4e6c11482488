import { parse } from './src/parse.js';
import { lower } from './src/ast.js';
import { differentiate } from './src/differentiate.js';
import { simplify } from './src/simplify.js';
import { toMath } from './src/print.js';
import { readFileSync, readdirSync } from 'node:fs';
for (const f of readdirSync('/work/main/fixtures/reference')) {
  const d = JSON.parse(readFileSync('/work/main/fixtures/reference/' + f, 'utf8'));
  for (const src of [d.py, d.math]) {
    if (!src) continue;
    const e = simplify(lower(parse(src), src, { params: d.params }));
    const de = simplify(differentiate(e));
    console.log(f, '\n  f =', toMath(e), '\n  d =', toMath(de));
  }
}
