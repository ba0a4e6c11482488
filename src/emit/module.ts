// The module writer: an emitted module's parts (parts.ts) printed for a target: TypeScript or
// JavaScript, as an ES module with exports or as a function body that returns
// { nngp, dNngp, kernel } (for `instantiate`, in process).
import {
  HELPER_ANGLE,
  HELPER_ATAN2,
  HELPER_EXP,
  HELPER_EXPM1,
  HELPER_BVN,
  HELPER_COLUMNS,
  HELPER_ERF,
  HELPER_EXACT_GAP,
  HELPER_PROJECT,
  HELPER_PROJECT_AT,
  HELPER_WITHIN,
  HELPER_YMXANGLE,
  HELPERS_DD,
  KERNEL,
} from '../runtime.js';
import { printTilted } from './tilted.js';
import { printMixture } from './mixture.js';
import { printChain } from './chain.js';
import { type Code, type Statement, type Target, commentText, printStatement, prune, statement } from './code.js';
import {
  buildModule,
  CLEARLY_INSIDE,
  continuesAlways,
  domainTest,
  INTERIOR_TEST,
  NORMAL_VARIANCES,
  type EmitInput,
  type PlainBlock,
  type Loop,
  type Straight,
  type ModuleParts,
} from './parts.js';

export { buildModule, INTERIOR, VERSION, type EmitInput, type ModuleParts } from './parts.js';

export interface PrintOptions {
  readonly target: Target;
  /**
   * 'module': an ES module with exports; 'body': a function body returning { nngp, dNngp, kernel };
   * 'interior-probe': a body whose nngp and dNngp run only the interior regime and return NaN
   * wherever the stable code would run (outside it, or a certificate failed): how often an
   * interior candidate falls back is measured with it at compile time (interior.ts);
   * 'near-probe': likewise for the near regime alone.
   */
  readonly form?: 'module' | 'body' | 'interior-probe' | 'near-probe';
}

/** The module's text for a target. */
export function printModule(m: ModuleParts, { target, form = 'module' }: PrintOptions): string {
  const ts = target === 'ts';
  const exported = form === 'module';
  const ex = exported ? 'export ' : '';
  const n = ts ? ': number' : '';
  const bang = ts ? '!' : '';
  const ind = (lines: readonly string[], k: number) => lines.map((l) => ' '.repeat(k) + l).join('\n');
  const stmts = (ss: readonly Statement[]) => ss.map((s) => printStatement(s, target));
  // The interior regime's test (parts.ts interiorDomainOf), on ipp and icc (INTERIOR_TEST); the
  // loops' reads the call's `normal` flag where it tests the product's range.
  const inside = domainTest(m.domain);
  const insideLoop = domainTest(m.domain, true);
  // An output's store, skipped where the interior regime already stored it (`done`).
  const unless = (done: string | undefined, line: string) => (done ? `if (!${done}) ${line}` : line);
  const store = (l: Loop, fast: string[], slow: string[], done: (string | undefined)[]) => {
    const f = fast.map((x, i) => unless(done[i], x));
    const r = slow.map((x, i) => unless(done[i], x));
    return l.checks.length
      ? [
          `const chk = ${l.checks.join(' + ')};`,
          'if (chk === chk) {',
          ...f.map((x) => '  ' + x),
          '} else {',
          ...r.map((x) => '  ' + x),
          '}',
        ]
      : f;
  };
  // The interior regime first: its plain values where finite and certified, else on to the
  // stable code. Each output is decided as its scalar function decides it (its own value and its
  // own sums' certificates), so a fused loop that stores one output there and falls through for
  // the other still gives the scalar functions' doubles bit for bit; the stable code then
  // computes both (shared work) and stores only what is left. var1*var2 > 0 keeps zero inputs
  // (0/0, and -0 products) on the stable path.
  // In the loops' interior blocks, `safe` (the call's variances within the box where finite.ts
  // proves every interior value finite, m.finiteWithin) stands in for the finiteness test.
  const safe = m.finiteWithin !== undefined;
  /** The finiteness test of the values `is`; `alone`: the whole condition (no parentheses needed). */
  const finite = (fast: PlainBlock, is: readonly number[], inLoop: boolean, alone = false) => {
    const test = is.map((i) => `${fast.values[i]!.text} - ${fast.values[i]!.text} === 0`).join(' && ');
    if (!inLoop || !safe) return test;
    const either = `safe || ${is.length > 1 ? `(${test})` : test}`;
    return alone ? either : `(${either})`;
  };
  // Likewise `certain` (the call's variances within [0, 2^k] where finite.ts proves the
  // certificates read against the gap's magnitude, m.certainWithin) stands in for those.
  const certain = m.certainWithin !== undefined;
  // And `safe` for a certificate that holds on the whole half domain (finite.ts provenOnHalf):
  // within the finiteness box its terms stay normal (the proof requires it), so its margin
  // covers the roundings.
  const certificate = (fast: PlainBlock, c: Code, inLoop: boolean) =>
    inLoop && certain && fast.gapCertificates.has(c.text)
      ? `(certain || ${c.text})`
      : inLoop && safe && m.domain === 'half' && fast.halfCertificates.has(c.text)
        ? `(safe || ${c.text})`
        : c.text;
  const certified = (fast: PlainBlock, i: number, inLoop = false, tested: ReadonlySet<string> = new Set()) =>
    [
      finite(fast, [i], inLoop),
      ...fast.certificatesOf[i]!.filter((c) => !tested.has(c.text)).map((c) => certificate(fast, c, inLoop)),
    ].join(' && ');
  /**
   * A loop block's statements, split at the certificates every output of it shares: those are
   * tested as soon as what they read is computed (`before`), and the rest of the block (`after`:
   * its calls, roots and divisions, and the values) runs only where they hold; an entry where one
   * fails stores nothing here, as before, and takes the stable code. The same doubles: each
   * output's condition is the same conjunction, tested in two places. Measured (n = 1024, in
   * place, paired): gabor's fused loop, whose four certificates bound its two exponents, 45 -> 33
   * ns per realistic entry with them tested before its exponentials rather than after.
   */
  const sharedFirst = (fast: PlainBlock, inLoop: boolean) => {
    const [first = [], ...others] = fast.certificatesOf;
    const shared = first.filter((c) => others.every((cs) => cs.some((d) => d.text === c.text)));
    if (!shared.length) return { before: [], test: undefined, after: fast.statements, tested: new Set<string>() };
    const before = prune(
      fast.statements,
      shared.flatMap((c) => c.uses),
    );
    const early = new Set(before.flatMap((st) => st.declarations.map((d) => d.name)));
    const after = fast.statements
      .map((st) => st.declarations.filter((d) => !early.has(d.name)))
      .filter((ds) => ds.length)
      .map((ds) => statement(...ds));
    const test = shared.map((c) => certificate(fast, c, inLoop)).join(' && ');
    return { before, test, after, tested: new Set(shared.map((c) => c.text)) };
  };
  /** A loop block's body: its statements and `decide` (the stores), the shared certificates first. */
  const certifiedBody = (fast: PlainBlock, inLoop: boolean, decide: (tested: ReadonlySet<string>) => string[]) => {
    const { before, test, after, tested } = sharedFirst(fast, inLoop);
    const body = [...stmts(after), ...decide(tested)];
    return test === undefined ? body : [...stmts(before), `if (${test}) {`, ...body.map((l) => '  ' + l), '}'];
  };
  /** The scalar functions' block: return the value where certified. */
  const scalarBlock = (fast: PlainBlock | undefined): string[] =>
    fast
      ? [
          ...stmts([INTERIOR_TEST]),
          `if (${inside}) {`,
          ...stmts(fast.statements).map((l) => '  ' + l),
          `  if (${certified(fast, 0)}) return ${fast.values[0]!.text};`,
          '}',
        ]
      : [];
  /**
   * A block's stores, output by output: each flag set where its output is certified, the
   * outputs stored, continue where all are. The interior and near blocks take disjoint entries,
   * so each sets the flags outright (the near block reading the interior's flags, always false
   * there, made V8 compile gelu's whole loop two times slower on anti-correlated entries).
   */
  const flaggedStores = (
    fast: PlainBlock,
    stores: ((v: Code) => string)[],
    flags: string[],
    interior = false,
    tested: ReadonlySet<string> = new Set(),
  ): string[] => [
    ...flags.map((f, i) => `${f} = ${certified(fast, i, interior, tested)};`),
    `if (${flags.join(' && ')}) { ${flags.map((_, i) => stores[i]!(fast.values[i]!)).join(' ')} continue; }`,
    ...flags.map((f, i) => `if (${f}) ${stores[i]!(fast.values[i]!)}`),
  ];
  /**
   * A block that runs up to the bound, on the half domain first: where the call's variances lie in
   * the box `onHalf` (m.halfCopyWithin: its values proven finite there and every certificate proven
   * on the half domain, finite.ts certainWithin on the half and provenOnHalf), the same statements
   * without their certificates, each value stored, then continue. The same doubles as the block
   * itself, which would have found every certificate holding there. Measured (n = 1024, in place,
   * paired, hand-edited): gaussian's block to the bound with this copy ran realistic entries as
   * fast as its half-domain block (4.2–4.8 ns both) and anti-correlated ones 6.4–6.9 → 5.1–5.5.
   */
  const halfCopy = (fast: PlainBlock, stores: ((v: Code) => string)[]): string[] => {
    if (m.halfCopyWithin === undefined) return [];
    const body = prune(
      fast.statements,
      fast.values.flatMap((v) => v.uses),
    );
    return [
      `if (icc <= 0.5 * ipp && onHalf) {`,
      ...stmts(body).map((l) => '  ' + l),
      `  ${fast.values.map((v, i) => stores[i]!(v)).join(' ')}`,
      '  continue;',
      '}',
    ];
  };
  /** A loop's interior block: per output a flag `done`, the store where it is set, continue when all are. */
  const loopBlock = (
    fast: PlainBlock | undefined,
    stores: ((v: Code) => string)[],
    flags: string[],
    redo: string[],
  ): string[] => {
    if (!fast) return [];
    // Without certificates only a non-finite value (rare) leaves the block: the scalar functions redo that entry.
    if (continuesAlways(fast))
      return [
        ...stmts([INTERIOR_TEST]),
        `if (${insideLoop}) {`,
        ...stmts(fast.statements).map((l) => '  ' + l),
        `  if (${finite(
          fast,
          fast.values.map((_, i) => i),
          true,
          true,
        )}) { ${fast.values.map((v, i) => stores[i]!(v)).join(' ')} }`,
        `  else { ${redo.join(' ')} }`,
        '  continue;',
        '}',
      ];
    const decide = (tested: ReadonlySet<string>) =>
      flags.length <= 1
        ? [`if (${certified(fast, 0, true, tested)}) { ${stores[0]!(fast.values[0]!)} continue; }`]
        : flaggedStores(fast, stores, flags, true, tested);
    return [
      ...stmts([INTERIOR_TEST]),
      ...halfCopy(fast, stores),
      `if (${insideLoop}) {`,
      ...certifiedBody(fast, true, decide).map((l) => '  ' + l),
      '}',
    ];
  };
  // The near regime runs on the entries the interior test did not take (not on the interior
  // regime's fallbacks, whose sums cancel as much there), after the prologue.
  // (Without an interior regime the interior test is computed for it alone.)
  const outside = `!(${inside})`;
  const test = (interior: PlainBlock | undefined, near: PlainBlock | undefined) =>
    near && !interior ? stmts([INTERIOR_TEST]) : [];
  /**
   * A loop's near block, after the prologue: each output stored where its near value is
   * certified (flaggedStores); continue when all are. Run only where the unguarded prologue's gRaw
   * is not NaN, where it equals the scalar functions' guarded one (parts.ts prologue).
   */
  const nearLoopBlock = (l: Loop, stores: ((v: Code) => string)[], flags: string[]): string[] => {
    const near = l.near;
    if (!near) return [];
    const exact = l.prologue.some((st) => st.declarations.some((d) => d.name === 'gRaw'));
    const where = [`!(${insideLoop})`, ...(exact ? ['gRaw === gRaw'] : [])];
    const decide = (tested: ReadonlySet<string>) =>
      flags.length <= 1
        ? [`if (${certified(near, 0, false, tested)}) { ${stores[0]!(near.values[0]!)} continue; }`]
        : flaggedStores(near, stores, flags, false, tested);
    return [`if (${where.join(' && ')}) {`, ...certifiedBody(near, false, decide).map((x) => '  ' + x), '}'];
  };
  /** The scalar functions' near block, after the prologue: return the value where certified. */
  const scalarNearBlock = (f: Straight): string[] =>
    f.near
      ? [
          ...test(f.interior, f.near),
          `if (${outside}) {`,
          ...[...stmts(f.near.statements), `if (${certified(f.near, 0)}) return ${f.near.values[0]!.text};`].map(
            (x) => '  ' + x,
          ),
          '}',
        ]
      : [];
  /** A loop's per-column work: before its rows, each exported value into its slot of `cols`. */
  const columnLoop = (l: Loop): string[] => {
    const { statements, exports } = l.columns;
    if (!exports.length) return [];
    const slot = (m: number) => (exports.length === 1 ? 'j' : `j * ${exports.length} + ${m}`);
    return [
      `const cols = columnScratch(n2${exports.length === 1 ? '' : ` * ${exports.length}`});`,
      'for (let j = 0; j < n2; j++) {',
      `  const v2 = C2[j]${bang};`,
      ...stmts(statements).map((x) => '  ' + x),
      ...exports.map((name, m) => `  cols[${slot(m)}] = ${name};`),
      '}',
    ];
  };
  // Whether a loop reads the call's `normal` flag: a lazy prologue, or the test of an interior
  // regime that runs up to the bound (its blocks and the near block after it).
  const readsLowV2 = m.fused.readsNormal || m.nngpOnly.readsNormal;
  const readsNormal =
    readsLowV2 ||
    (m.domain === 'projection' && !!(m.fused.interior || m.nngpOnly.interior || m.fused.near || m.nngpOnly.near));
  const storeK = (v: Code) => `outK[idx] = ${v.text};`;
  const storeT = (v: Code) => `outT[idx] = T[idx]${bang} * ${v.text};`;
  const hasCertificates = (fast: PlainBlock | undefined) =>
    !!fast && (fast.folded || fast.certificatesOf.some((c) => c.length > 0));
  const fusedFlags = hasCertificates(m.fused.interior) || m.fused.near ? ['doneK', 'doneT'] : [];
  const [fn, fd] = m.fused.values as [Code, Code];
  const redoK = 'outK[idx] = nngp(c0, v1, v2);';
  const redoT = `outT[idx] = T[idx]${bang} * dNngp(c0, v1, v2);`;
  const fusedInterior = [
    ...(fusedFlags.length ? [`let ${fusedFlags.map((f) => `${f} = false`).join(', ')};`] : []),
    ...test(m.fused.interior, m.fused.near),
    ...loopBlock(m.fused.interior, [storeK, storeT], fusedFlags, [redoK, redoT]),
  ];
  const fusedNear = nearLoopBlock(m.fused, [storeK, storeT], fusedFlags);
  const fusedStore = store(m.fused, [storeK(fn), storeT(fd)], [redoK, redoT], fusedFlags);
  const nngpInterior = [
    ...test(m.nngpOnly.interior, m.nngpOnly.near),
    ...loopBlock(m.nngpOnly.interior, [storeK], [], [redoK]),
  ];
  const nngpNear = nearLoopBlock(m.nngpOnly, [storeK], []);
  const nngpStore = store(m.nngpOnly, [storeK(m.nngpOnly.values[0]!)], [redoK], []);
  // An outlined loop (parts.ts isOutlined): what the interior block left, the scalar functions compute.
  const afterInterior = (l: Loop, near: string[], storeLines: string[], redo: string[], flags: string[]) =>
    l.outlined
      ? redo.map((x, i) => unless(flags[i], x))
      : [...stmts(l.prologue), ...near, ...stmts(l.inner), ...storeLines];

  const out: string[] = [...m.banner, '/* eslint-disable */', ''];
  if (ts) {
    out.push(
      `${ex}interface KernelInput { readonly nngp: Float64Array; readonly ntk?: Float64Array; readonly cov1: Float64Array; readonly cov2?: Float64Array }`,
    );
    out.push(
      `${ex}interface KernelOutput { nngp: Float64Array; ntk?: Float64Array; cov1: Float64Array; cov2?: Float64Array }`,
    );
    out.push(`${ex}interface KernelOptions { readonly out?: KernelOutput }`);
    out.push('');
  }
  if (m.helpers.has('dd')) out.push(HELPERS_DD(ts), '');
  if (m.helpers.has('project')) out.push(HELPER_PROJECT(ts), '');
  if (m.helpers.has('projectAt')) out.push(HELPER_PROJECT_AT(ts, CLEARLY_INSIDE), '');
  if (m.helpers.has('exp')) out.push(HELPER_EXP(), '');
  if (m.helpers.has('expm1')) out.push(HELPER_EXPM1(ts), '');
  if (m.helpers.has('atan2')) out.push(HELPER_ATAN2(ts), '');
  if (m.helpers.has('angle')) out.push(HELPER_ANGLE(ts), '');
  if (m.helpers.has('ymxangle')) out.push(HELPER_YMXANGLE(ts), '');
  if (m.helpers.has('erf') || m.helpers.has('erfc')) out.push(HELPER_ERF(ts), '');
  if (m.fused.columns.exports.length || m.nngpOnly.columns.exports.length) out.push(HELPER_COLUMNS(ts), '');
  const angleBoxes = [
    ...new Set([...(m.fused.interior?.angleBoxes ?? []), ...(m.nngpOnly.interior?.angleBoxes ?? [])]),
  ].sort((a, b) => a - b);
  if (safe || certain || angleBoxes.length || readsNormal) out.push(HELPER_WITHIN(ts), '');
  if (m.mixture || m.tilted || m.chain) out.push(HELPER_EXACT_GAP(ts), '');
  if (m.tilted) out.push(HELPER_BVN(ts), '', printTilted(m.tilted, ts), '');
  if (m.mixture) out.push(printMixture(m.mixture, ts), '');
  if (m.chain) out.push(printChain(m.chain, ts), '');
  // Gradient functions get generated names (gradient0Nngp, ...); the params name them only as keys.
  const gradientFns = m.gradients.flatMap((g, i) => [
    [`gradient${i}Nngp`, `d nngp_fn / d ${commentText(g.param)}.`, g.nngp, false] as const,
    [`gradient${i}DNngp`, `d^2 nngp_fn / d cov12 d ${commentText(g.param)}.`, g.dNngp, false] as const,
  ]);
  const onGapFns = m.onGap
    ? [
        ['nngpOnGap', 'nngp on the gap var1 var2 - cov12^2 the caller gives.', m.onGap.nngp, false, true] as const,
        ['dNngpOnGap', 'dNngp on the gap var1 var2 - cov12^2 the caller gives.', m.onGap.dNngp, false, true] as const,
      ]
    : [];
  for (const [name, doc, f, isExported, gapGiven = false] of [
    ['nngp', 'nngp_fn(cov12, var1, var2) = E[f(x1) f(x2)].', m.nngp, true] as const,
    ['dNngp', "d nngp_fn / d cov12 = E[f'(x1) f'(x2)].", m.dNngp, true] as const,
    ...gradientFns,
    ...onGapFns,
  ]) {
    const ex = exported && isExported ? 'export ' : '';
    out.push(`/** ${doc} */`);
    // The inputs under the names the code reads; a parameter nothing reads is spelled with a
    // leading underscore (noUnusedParameters).
    const names = gapGiven ? (['c0', 'v1', 'v2', 'gIn'] as const) : (['c0', 'v1', 'v2'] as const);
    const inputs = names.map((x, i) => [x, ['cov12', 'var1', 'var2', 'gap'][i]!] as const);
    const used = inputs.filter(([x]) => f.inputs.has(x));
    out.push(
      `${ex}function ${name}(${inputs.map(([x, p]) => `${f.inputs.has(x) ? '' : '_'}${p}${n}`).join(', ')})${n} {`,
    );
    if (used.length) out.push(`  const ${used.map(([x, p]) => `${x} = ${p}`).join(', ')};`);
    const fast = form === 'near-probe' ? (f.interior ? stmts([INTERIOR_TEST]) : []) : scalarBlock(f.interior);
    const near = [...stmts(f.prologue), ...scalarNearBlock(f)];
    const rest =
      form === 'interior-probe'
        ? ['return NaN;']
        : form === 'near-probe'
          ? [...near, 'return NaN;']
          : [...near, ...stmts(f.statements), `return ${f.result.text};`];
    out.push(ind([...fast, ...rest], 2));
    out.push('}');
    out.push('');
  }
  out.push(
    KERNEL(ts, exported, {
      fusedInputs: m.fused.inputs,
      nngpInputs: m.nngpOnly.inputs,
      fusedOuter: ind(stmts([...(m.fused.interior?.outer ?? []), ...(m.fused.near?.outer ?? []), ...m.fused.outer]), 6),
      fusedInner: ind(
        [...fusedInterior, ...afterInterior(m.fused, fusedNear, fusedStore, [redoK, redoT], fusedFlags)],
        8,
      ),
      nngpOuter: ind(
        stmts([...(m.nngpOnly.interior?.outer ?? []), ...(m.nngpOnly.near?.outer ?? []), ...m.nngpOnly.outer]),
        4,
      ),
      nngpInner: ind([...nngpInterior, ...afterInterior(m.nngpOnly, nngpNear, nngpStore, [redoK], [])], 6),
      fusedColumns: columnLoop(m.fused).length ? ind(columnLoop(m.fused), 4) + '\n' : '',
      nngpColumns: columnLoop(m.nngpOnly).length ? ind(columnLoop(m.nngpOnly), 2) + '\n' : '',
      ...(m.finiteWithin !== undefined ? { finiteWithin: { lo: 2 ** -m.finiteWithin, hi: 2 ** m.finiteWithin } } : {}),
      ...(m.certainWithin !== undefined ? { certainWithin: { lo: 0, hi: 2 ** m.certainWithin } } : {}),
      ...(m.halfCopyWithin !== undefined && m.finiteWithin !== undefined
        ? { onHalfWithin: { lo: 2 ** -m.finiteWithin, hi: 2 ** Math.min(m.finiteWithin, m.halfCopyWithin) } }
        : {}),
      ...(readsNormal ? { normalWithin: NORMAL_VARIANCES } : {}),
      readsLowV2,
      angleBoxes,
    }),
  );
  let names = `nngp, dNngp, kernel${m.onGap ? ', nngpOnGap, dNngpOnGap' : ''}`;
  if (m.gradients.length) {
    const entries = m.gradients.map(
      (g, i) => `${JSON.stringify(g.param)}: { nngp: gradient${i}Nngp, dNngp: gradient${i}DNngp }`,
    );
    out.push('', '/** Per param, d nngp_fn / d param and d^2 nngp_fn / d cov12 d param. */');
    out.push(`${exported ? 'export ' : ''}const gradients = { ${entries.join(', ')} };`);
    names += ', gradients';
  }
  // The same shape either way: `import k from './k.nngp'` (plugin) and `import k from './k'` (CLI output).
  out.push(exported ? `export default { ${names} };` : `return { ${names} };`);
  return out.join('\n') + '\n';
}

/** The module text (ES module) for a target. */
export function emitModule(input: EmitInput & { readonly target: Target }): string {
  return printModule(buildModule(input), { target: input.target });
}
