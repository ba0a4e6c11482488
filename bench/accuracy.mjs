// Accuracy benchmark: bits of error of nngpc's emitted code against the alternatives, on the
// reference points (40-digit truth) and on every catalog entry (50-digit truth), per group.
import { readdirSync, readFileSync } from 'node:fs';
import { create, all } from 'mathjs';
import nerdamer from 'nerdamer';
import 'nerdamer/Calculus.js';
import { compile, catalog, meaning, truthAt, samplePoints, GROUPS, bitsOfError } from 'nngpc';
import { autodiff, formula, HAND } from './lib/baselines.mjs';

const math = create(all);
const progress = (s) => process.stderr.write(`\r\x1b[K${s}`);

function approaches(id, source, params) {
  const out = {};
  const k = compile(source, { params });
  out.nngpc = { nngp: k.nngp, dNngp: k.dNngp };
  try {
    out.autodiff = autodiff(source, params);
  } catch (e) {
    out.autodiff = { error: e.message };
  }
  const f = (() => {
    try {
      return formula(source, params);
    } catch (e) {
      return undefined;
    }
  })();
  try {
    const fn = math.compile(f);
    const d = math.simplify(math.derivative(f, 'cov12')).compile();
    out.mathjs = {
      nngp: (c, a, b) => fn.evaluate({ cov12: c, var1: a, var2: b }),
      dNngp: (c, a, b) => d.evaluate({ cov12: c, var1: a, var2: b }),
    };
  } catch (e) {
    out.mathjs = { error: String(e.message).split('\n')[0].slice(0, 60) };
  }
  try {
    const fn = nerdamer(f).buildFunction(['cov12', 'var1', 'var2']);
    const d = nerdamer.diff(f, 'cov12').buildFunction(['cov12', 'var1', 'var2']);
    out.nerdamer = { nngp: fn, dNngp: d };
  } catch (e) {
    out.nerdamer = { error: String(e.message).split('\n')[0].slice(0, 60) };
  }
  out.hand = HAND[id] ?? { error: 'no hand-derived form' };
  return out;
}

function measure(ways, rows) {
  const result = {};
  for (const [name, w] of Object.entries(ways)) {
    if (w.error) {
      result[name] = { error: w.error };
      continue;
    }
    const g = {};
    let nonFinite = 0;
    for (const [group, c, a, b, tn, td] of rows) {
      const G = (g[group] ??= { n: [], d: [] });
      for (const [what, truth, acc] of [
        ['nngp', tn, G.n],
        ['dNngp', td, G.d],
      ]) {
        let out;
        try {
          out = Number(w[what](c, a, b));
        } catch {
          out = NaN;
        }
        if (truth === null || !Number.isFinite(truth)) continue;
        if (!Number.isFinite(out)) nonFinite++;
        acc.push(bitsOfError(out, truth));
      }
    }
    result[name] = { groups: g, nonFinite };
  }
  return result;
}

const cell = (xs) =>
  xs.length ? `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)}/${Math.max(...xs).toFixed(0)}` : '-';
const summary = [];
function pooled(title, res) {
  const row = [title];
  for (const name of ['nngpc', 'autodiff', 'mathjs', 'nerdamer', 'hand']) {
    const r = res[name];
    if (!r || r.error) {
      row.push('n/a');
      continue;
    }
    const d = Object.values(r.groups).flatMap((g) => g.d);
    row.push(
      `${(d.reduce((a, b) => a + b, 0) / Math.max(1, d.length)).toFixed(1)}/${Math.max(0, ...d).toFixed(0)} (${r.nonFinite})`,
    );
  }
  summary.push(row);
}

function print(title, res) {
  pooled(title, res);
  const lines = [
    `\n${title}`,
    `  ${'approach'.padEnd(9)} ${GROUPS.map((g) => `${g} nngp · d`.padEnd(22)).join(' ')} non-finite`,
  ];
  for (const [name, r] of Object.entries(res)) {
    if (r.error) {
      lines.push(`  ${name.padEnd(9)} n/a: ${r.error}`);
      continue;
    }
    lines.push(
      `  ${name.padEnd(9)} ${GROUPS.map((g) => (r.groups[g] ? `${cell(r.groups[g].n)} · ${cell(r.groups[g].d)}` : '-').padEnd(22)).join(' ')} ${r.nonFinite}`,
    );
  }
  console.log(lines.join('\n'));
}

export function runAccuracy() {
  console.log(
    '# Accuracy: bits of error, mean/max per group (nngp · derivative); non-finite outputs where the truth is finite, counted separately',
  );
  const dir = new URL('../fixtures/reference/', import.meta.url);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const ref = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    for (const form of ['py', 'math']) {
      const src = ref[form];
      if (!src) continue;
      progress(`accuracy: reference ${ref.name} (${form})`);
      const rows = ref.rows.map(([g, c, a, b, n, d]) => [
        g,
        Number(c),
        Number(a),
        Number(b),
        n === null ? null : Number(n),
        d === null ? null : Number(d),
      ]);
      print(`reference ${ref.name} (${form})`, measure(approaches(ref.name, src, ref.params), rows));
    }
  }
  for (const e of catalog()) {
    progress(`accuracy: catalog ${e.id}`);
    // Truth: the meaning of the catalog source as written (src/truth.ts), limits at the bound.
    const m = meaning(e.source, { params: e.params });
    const rows = [];
    GROUPS.forEach((g, gi) => {
      for (const [c, a, b] of samplePoints(g, 30, 101 + gi, e.unitVariance)) {
        const t = (x) => {
          const r = truthAt(x, c, a, b);
          return r.kind === 'value' ? r.value : null;
        };
        rows.push([g, c, a, b, t(m.nngp), t(m.dNngp)]);
      }
    });
    print(`catalog ${e.id} (${e.layer})`, measure(approaches(e.id, e.source, e.params), rows));
  }
  progress('');
  console.log(
    '\n# Summary: derivative bits of error over all groups, mean/max (non-finite outputs of nngp or d where the truth is finite)',
  );
  const head = ['case', 'nngpc', 'autodiff', 'mathjs', 'nerdamer', 'hand-derived'];
  const w = head.map((h, i) => Math.max(h.length, ...summary.map((r) => r[i].length)));
  for (const r of [head, ...summary]) console.log('  ' + r.map((c, i) => c.padEnd(w[i])).join('  '));
}
