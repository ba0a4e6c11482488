// Measurement helpers shared by compile (choosing between derivatives), verify and accuracy.

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const GROUPS = ['interior', 'near', 'diagonal', 'scale', 'outside'] as const;
export type Group = (typeof GROUPS)[number];

function ordinal(x: number): bigint {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const i = b.getBigInt64(0);
  return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
}

/** Bits of error (Herbie): log2(1 + doubles strictly between out and the rounded truth, + 1); 64 if out is not finite. */
export function bitsOfError(out: number, truth: number): number {
  if (!Number.isFinite(out)) return 64;
  const d = ordinal(out) - ordinal(truth);
  const n = d < 0n ? -d : d;
  return n === 0n ? 0 : Math.log2(1 + Number(n));
}

/** Sample points of a domain group (as in the reference README), deterministic. */
export function samplePoints(
  group: Group,
  count: number,
  seed: number,
  unitVariance = false,
): [number, number, number][] {
  const next = rng(seed);
  const u = (a: number, b: number) => a + (b - a) * next();
  const out: [number, number, number][] = [];
  for (let i = 0; i < count; i++) {
    let v1 = unitVariance ? 1 : 10 ** u(-2, 2);
    let v2 = unitVariance ? 1 : 10 ** u(-2, 2);
    const sgn = next() < 0.5 ? -1 : 1;
    let c: number;
    switch (group) {
      case 'interior':
        c = u(-0.98, 0.98) * Math.sqrt(v1 * v2);
        break;
      case 'near':
        c = sgn * (1 - 10 ** -u(1, 15)) * Math.sqrt(v1 * v2);
        break;
      case 'diagonal':
        v2 = v1;
        c = sgn * v1;
        break;
      case 'scale': {
        if (!unitVariance) {
          const [lo, hi] = next() < 0.5 ? [-6, -3] : [3, 8];
          v1 = 10 ** u(lo, hi);
          v2 = 10 ** u(lo, hi);
        }
        c = u(-0.98, 0.98) * Math.sqrt(v1 * v2);
        break;
      }
      case 'outside':
        c = sgn * Math.sqrt(v1 * v2) * (1 + (1 + (i % 4)) * 2 ** -52);
        break;
    }
    out.push([c, v1, v2]);
  }
  return out;
}
