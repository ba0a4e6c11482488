// The main job on a real example: compile the ReLU map and compare with what autodiff
// of the same formula gives on a kernel's diagonal (x1 == x2).
import { compile } from 'nngpc';
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('../fixtures/examples/relu.nngp', import.meta.url), 'utf8');
const relu = compile(src, { filename: 'fixtures/examples/relu.nngp' });
// Autodiff (forward mode) of the neural-tangents formula at c = v1 = v2, term by term:
const autodiff = (c, v1, v2) => {
  const p = v1 * v2,
    s = Math.sqrt(p),
    r = c / s;
  const dTheta = -(1 / s) / Math.sqrt(1 - r * r);
  return (-c / Math.sqrt(p - c * c) + (Math.PI - Math.acos(r)) - c * dTheta) / (2 * Math.PI);
};
console.log('d nngp / d cov12 =', relu.derivative);
console.log('\n  diagonal point (c = v1 = v2)   autodiff    nngpc');
for (const v of [1e-6, 0.5, 1, 3.7, 1e6])
  console.log(`  ${String(v).padEnd(30)} ${String(autodiff(v, v, v)).padEnd(11)} ${relu.dNngp(v, v, v)}`);
const n = 3,
  cov1 = new Float64Array([1, 2, 0.5]);
const nngp = new Float64Array(n * n).map((_, k) => {
  const i = Math.floor(k / n),
    j = k % n;
  return i === j ? cov1[i] : 0.3 * Math.sqrt(cov1[i] * cov1[j]);
});
const out = relu.kernel({ nngp, ntk: nngp.slice(), cov1 });
console.log("\nkernel() on a 3×3 kernel: ntk' =", Array.from(out.ntk, (x) => +x.toPrecision(6)).join(', '));
console.log('generated modules are in out/ (see out/relu.ts)');
