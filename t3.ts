import { derive } from './src/index.js';
import { toMath } from './src/print.js';
import { rewriteCanonical } from './src/stabilize.js';
import { readFileSync } from 'node:fs';
const d = JSON.parse(readFileSync('fixtures/reference/gelu.json', 'utf8'));
import { parse } from './src/parse.js'; import { lower } from './src/ast.js'; import { simplify } from './src/simplify.js'; import { differentiate } from './src/differentiate.js';
const e = simplify(lower(parse(d.py), d.py));
const de = simplify(differentiate(e));
const r = rewriteCanonical(e); console.log('rewritten nngp', toMath(r));
const rd = rewriteCanonical(de); console.log('rewritten d', toMath(rd));
import { lowerTree } from './src/stabilize.js';
try { lowerTree(r); } catch (e) { const s = (e as Error).stack!.split('\n'); console.log(s.filter(l => l.includes('stabilize') || l.includes('simplify')).slice(0, 10).join('\n')); }
try { const t = lowerTree(rd); console.log('ok d', toMath(t).slice(0,300)); } catch (e) { const s = (e as Error).stack!.split('\n'); console.log(s.filter(l => !l.includes('expr.ts')).slice(0, 12).join('\n')); }
