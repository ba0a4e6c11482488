import fc from 'fast-check';
import { compile } from './src/compile.js';
const leaf = fc.constantFrom('cov12', 'var1', 'var2', '0.5', '2', '3');
const unary = ['exp', 'sin', 'cos', 'atan', 'tanh', 'erf', 'sinh'];
const exprArb: fc.Arbitrary<string> = fc.letrec((tie) => ({
  e: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf,
    fc.tuple(tie('e'), fc.constantFrom('+', '-', '*'), tie('e')).map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom(...unary), tie('e')).map(([f, a]) => `${f}(${a})`),
    tie('e').map((a) => `sqrt(1 + (${a})^2)`), tie('e').map((a) => `log(2 + sin(${a}))`),
    tie('e').map((a) => `(${a})/(1 + var1)`), tie('e').map((a) => `(${a})^2`)),
})).e;
for (const s of fc.sample(exprArb, { seed: 20261124, numRuns: 150 })) {
  const t = performance.now();
  compile(s);
  const dt = performance.now() - t;
  if (dt > 200) console.log(dt.toFixed(0), s.length, s.slice(0, 200));
}
console.log('done');
