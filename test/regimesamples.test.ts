// Where a regime's candidates are measured (regimesamples.ts): the groups a candidate is held
// against the source as written in, and their points.
import { describe, expect, it } from 'vitest';
import { inDomain } from '../src/emit/parts.js';
import { interiorSamples, nearSamples, WRITTEN_POINTS, type WrittenGroup } from '../src/regimesamples.js';

const key = ([c, v1, v2]: readonly number[]) => `${c},${v1},${v2}`;
const names = (groups: readonly WrittenGroup[]) => groups.map((g) => g.name);

describe('regime samples', () => {
  it('decides each group against the source as written at fresh points, twice as many as screen it', () => {
    for (const s of [interiorSamples('half'), interiorSamples('projection'), nearSamples(() => true)])
      for (const g of s.againstWritten) {
        const screened = new Set(g.screen.map(key));
        expect(
          g.decide.some((p) => screened.has(key(p))),
          g.name,
        ).toBe(false);
        // About WRITTEN_POINTS of each (a group by sign or within a domain keeps a share of its draws).
        expect(g.screen.length, g.name).toBeGreaterThan(WRITTEN_POINTS.screen / 4);
        expect(g.decide.length, g.name).toBeGreaterThan(1.5 * g.screen.length);
      }
  });

  it('holds a candidate against the source as written on typical entries, and near the bound by the sign of cov12', () => {
    const half = interiorSamples('half');
    expect(names(half.againstWritten)).toEqual([
      'interior',
      'scale',
      'typical entries, normalised',
      'typical entries, unnormalised',
    ]);
    for (const g of half.againstWritten)
      for (const [c, v1, v2] of [...g.screen, ...g.decide]) expect(inDomain('half', c, v1, v2)).toBe(true);
    // Up to the bound, and in the near regime, each sign of cov12 is its own group (up to the
    // bound, short of it: no diagonal).
    const wide = interiorSamples('projection').againstWritten;
    const near = nearSamples(() => true).againstWritten;
    expect(names(wide).filter((n) => n.includes('cov12'))).toEqual([
      'near, cov12 ≥ 0',
      'near, cov12 < 0',
      'typical near-bound entries, cov12 ≥ 0',
      'typical near-bound entries, cov12 < 0',
    ]);
    expect(names(near).filter((n) => n.includes('cov12')).length).toBe(6);
    for (const groups of [wide, near]) {
      const signed = groups.filter((g) => g.name.includes('cov12'));
      for (const g of signed) {
        const positive = g.name.includes('≥ 0');
        for (const [c] of [...g.screen, ...g.decide]) expect(c >= 0, g.name).toBe(positive);
      }
    }
    expect(names(near)).toContain('typical near-bound entries, cov12 < 0');
    // A group with no points where the regime runs is left out, not kept empty.
    const none = nearSamples(() => false).againstWritten;
    expect(none).toEqual([]);
  });

  it('typical entries are those of a kernel of data: variances near 1, |rho| mostly small', () => {
    const typical = interiorSamples('half').againstWritten.find((g) => g.name === 'typical entries, normalised')!;
    const rho = typical.decide.map(([c, v1, v2]) => Math.abs(c) / Math.sqrt(v1 * v2));
    expect(rho.filter((r) => r < 0.5).length / rho.length).toBeGreaterThan(0.9);
    for (const [, v1, v2] of typical.decide) {
      expect(v1).toBeGreaterThan(0.3);
      expect(v2).toBeLessThan(3);
    }
  });
});
