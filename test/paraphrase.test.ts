// Generality: every catalog entry, rewritten by the paraphrase generator (test/paraphrase.ts)
// into equivalent sources the way users write them, compiles to code as accurate as the
// catalog form's: no non-finite output where the truth is finite (zero inputs included), per
// domain group a mean within 0.5 bit of the catalog form's and a max of at most 8 bits (or the
// catalog form's own max), and the same canonical map and derivative (the normal form). The
// truth is the catalog form's meaning (src/truth.ts).
// NNGPC_PARAPHRASES sets the number per entry (npm run fuzz runs many more).
import { describe, expect, it } from 'vitest';
import { compile, compileActivation } from '../src/index.js';
import { catalog } from '../src/catalog.js';
import { meaning, measureKernel, truthTable } from '../src/accuracy.js';
import { GROUPS } from '../src/measure.js';
import { rewriteStats } from '../src/rewrite.js';
import { paraphrase } from './paraphrase.js';

const PER_ENTRY = Number(process.env.NNGPC_PARAPHRASES ?? 12);
const SEED = Number(process.env.NNGPC_FUZZ_SEED ?? 20261125);

/** Param variants beyond each entry's defaults (the integer families at every degree); jump: f jumps (n = 0). */
const VARIANTS: Record<string, Record<string, number>[]> = {
  rectified_monomial: [{ n: 0, jump: 1 }, { n: 2 }, { n: 3 }],
  monomial: [{ n: 2 }, { n: 5 }],
  hermite: [{ n: 2 }, { n: 4 }],
  ab_relu: [
    { a: 0.3, b: 2 },
    { a: -1.5, b: 0.5 },
  ],
  leaky_relu: [{ alpha: 0.01 }],
  erf: [{ a: 2, b: 0.5, c0: 0.1 }],
  sin: [{ a: 1.5, b: 0.7, c0: 0.3 }],
  gaussian: [{ a: 1, b: -0.25 }],
};

describe('paraphrases compile to code as accurate as the catalog form', () => {
  for (const entry of catalog().flatMap((e) => [
    e,
    ...(VARIANTS[e.id] ?? []).map(({ jump, ...v }) => ({
      ...e,
      jump: e.jump || !!jump,
      params: { ...e.params, ...v },
    })),
  ])) {
    it(`${entry.id} ${JSON.stringify(entry.params)}: ${PER_ENTRY} paraphrases`, () => {
      const options = { points: 10, unitVariance: entry.unitVariance, seed: 3 };
      const table = truthTable(meaning(entry.source, { params: entry.params }), options);
      const catalogForm = compileActivation(entry.id, entry.params);
      const base = measureKernel(catalogForm, table);
      const unconverged = rewriteStats.unconverged;
      for (let i = 0; i < PER_ENTRY; i++) {
        const p = paraphrase(entry.source, entry.params, SEED + 1000 * i + entry.id.length);
        const where = `${entry.id} paraphrase ${i} [${p.families.join(', ')}]:\n${p.text}`;
        const k = compile(p.text, { filename: `${entry.id}-paraphrase-${i}.nngp` });
        // The normal form: equivalent sources meet in the same canonical map and derivative.
        expect(k.simplified, `${where}\ncanonical nngp`).toBe(catalogForm.simplified);
        expect(k.derivative, `${where}\ncanonical derivative`).toBe(catalogForm.derivative);
        const r = measureKernel(k, table);
        for (const g of GROUPS) {
          const [a, b] = [r.groups[g], base.groups[g]];
          expect(a.nonFinite, `${where}\n${g}: non-finite outputs`).toBe(0);
          for (const what of ['nngp', 'dNngp'] as const) {
            if (entry.jump && what === 'dNngp') continue;
            expect(
              a[what].mean,
              `${where}\n${g} ${what} mean (catalog form ${b[what].mean.toFixed(2)})`,
            ).toBeLessThanOrEqual(b[what].mean + 0.5);
            expect(
              a[what].max,
              `${where}\n${g} ${what} max (catalog form ${b[what].max.toFixed(1)})`,
            ).toBeLessThanOrEqual(Math.max(8, b[what].max));
          }
        }
        for (const at of [
          [0, 0, 0],
          [0, 0, 1],
          [0, 1, 0],
        ] as [number, number, number][]) {
          expect(Number.isFinite(k.nngp(...at)), `${where}\nnngp at zero input ${at}`).toBe(true);
          if (!entry.jump) expect(Number.isFinite(k.dNngp(...at)), `${where}\ndNngp at zero input ${at}`).toBe(true);
        }
      }
      expect(rewriteStats.unconverged, 'rewrites that did not reach a fixed point').toBe(unconverged);
    });
  }
});
