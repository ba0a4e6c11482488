import { compile } from './src/index.js';
import { readFileSync, readdirSync } from 'node:fs';
function bits(x: number, truth: string | null): number {
  if (truth === null) return NaN;
  const t = Number(truth);
  if (!Number.isFinite(x)) return 64;
  const ord = (v: number) => { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, v); const i = b.getBigInt64(0); return i < 0n ? -(i & 0x7fffffffffffffffn) : i; };
  const d = ord(x) - ord(t); const n = d < 0n ? -d : d;
  return Math.log2(1 + Number(n));
}
for (const f of readdirSync('fixtures/reference').sort()) {
  const d = JSON.parse(readFileSync('fixtures/reference/' + f, 'utf8'));
  for (const [form, src] of [['py', d.py], ['math', d.math]] as const) {
    if (!src) continue;
    const k = compile(src, { params: d.params });
    const groups: Record<string, { n: number[]; d: number[]; nonfinite: number }> = {};
    for (const [g, c, v1, v2, nt, dt] of d.rows) {
      const G = (groups[g] ??= { n: [], d: [], nonfinite: 0 });
      const x = k.nngp(Number(c), Number(v1), Number(v2));
      const y = k.dNngp(Number(c), Number(v1), Number(v2));
      if (!Number.isFinite(x) || !Number.isFinite(y)) G.nonfinite++;
      const bn = bits(x, nt), bd = bits(y, dt);
      if (!Number.isNaN(bn)) G.n.push(bn);
      if (!Number.isNaN(bd)) G.d.push(bd);
      if (process.env.V && (bn > 8 || bd > 8)) console.log('   bad', g, c, v1, v2, x, nt, y, dt);
    }
    const s = (a: number[]) => a.length ? `${(a.reduce((p, q) => p + q, 0) / a.length).toFixed(2)}/${Math.max(...a).toFixed(1)}` : '-';
    console.log(f.padEnd(20), form.padEnd(5), Object.entries(groups).map(([g, G]) => `${g}: n ${s(G.n)} d ${s(G.d)}${G.nonfinite ? ' NONFINITE ' + G.nonfinite : ''}`).join(' | '));
  }
}
