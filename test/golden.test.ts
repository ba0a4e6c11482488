// Golden output: the emitted module of every catalog entry (TypeScript, and JavaScript for three)
// is byte-identical to fixtures/golden/, written before the emitter was reorganized into layers
// (issue: architecture). A change here must be deliberate: regenerate with
// NNGPC_UPDATE_GOLDEN=1 npm test, and say in the commit which outputs changed and why.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog, compile, compileActivation } from '../src/index.js';
import { ROOT } from './helpers.js';

const dir = join(ROOT, 'fixtures', 'golden');
const cases: [string, () => string][] = [
  ...catalog().map((e): [string, () => string] => [`${e.id}.ts`, () => compileActivation(e.id).code]),
  ...['relu', 'gelu', 'erf'].map((id): [string, () => string] => [
    `${id}.js`,
    () => {
      const e = catalog().find((x) => x.id === id)!;
      return compile(e.source, { params: e.params, name: e.layer, filename: `${id}.nngp`, target: 'js' }).code;
    },
  ]),
  ['rectified_monomial_2.ts', () => compileActivation('rectified_monomial', { n: 2 }).code],
  ['rectified_monomial_3.ts', () => compileActivation('rectified_monomial', { n: 3 }).code],
];

describe('emitted modules match the golden files', () => {
  for (const [file, emit] of cases) {
    it(file, () => {
      const code = emit();
      if (process.env.NNGPC_UPDATE_GOLDEN) writeFileSync(join(dir, file), code);
      expect(code).toBe(readFileSync(join(dir, file), 'utf8'));
    });
  }
});
