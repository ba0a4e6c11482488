import * as E from './src/expr.js';
import { toMath } from './src/print.js';
const a = E.add(E.ONE, E.VAR1);
console.log('a', a.key);
const b = E.pow(a, E.num(-2)); console.log('b', b.key);
const s = E.add(E.ONE, E.mul(E.num(9), b)); console.log('s', s.key);
const [k, m, r] = E.factorSum(s as any, false); console.log('fs', k.key, m.key, r.key);
const p = E.pow(s, E.HALF); console.log('p', p.key);
