// Gauss–Legendre rules, shared by verify's quadrature and the runtime's bivariate normal CDF.

/** Gauss–Legendre nodes and weights on [-1, 1] (Newton on P_n). */
export function gaussLegendre(n: number): { x: number[]; w: number[] } {
  const x: number[] = [];
  const w: number[] = [];
  for (let i = 1; i <= n; i++) {
    let z = Math.cos((Math.PI * (i - 0.25)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * z * p1 - (k - 1) * p0) / k];
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x.push(z);
    w.push(2 / ((1 - z * z) * dp * dp));
  }
  return { x, w };
}

/** Gauss–Laguerre nodes and weights for the integral of e^(-u) g(u) over [0, inf) (Newton, Numerical Recipes' starting values). */
export function gaussLaguerre(n: number): { x: number[]; w: number[] } {
  const x: number[] = [];
  const w: number[] = [];
  let z = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) z = 3 / (1 + 2.4 * n);
    else if (i === 1) z += 15 / (1 + 2.5 * n);
    else z += ((1 + 2.55 * (i - 1)) / (1.9 * (i - 1))) * (z - x[i - 2]!);
    let pp = 0;
    let p2 = 0;
    for (let it = 0; it < 100; it++) {
      let p1 = 1;
      p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1 - z) * p2 - (j - 1) * p3) / j;
      }
      pp = (n * (p1 - p2)) / z;
      const dz = p1 / pp;
      z -= dz;
      if (Math.abs(dz) < 1e-15 * Math.max(1, z)) break;
    }
    x.push(z);
    w.push(-1 / (pp * n * p2));
  }
  return { x, w };
}
