// An emitted module's parts (the scalar functions, the fused kernel loops, the interior regime's
// values, the runtime helpers they call), built once from the evaluation trees as statements;
// module.ts prints them for a target. One build serves every print.
import { certainWithin, finiteWithin } from '../finite.js';
import * as E from '../expr.js';
import type { Tree } from '../types.js';
import {
  type Code,
  type Statement,
  commentText,
  hoist,
  hoistColumns,
  inputsOf,
  js,
  lit,
  prune,
  ref,
  statement,
} from './code.js';
import { type ProductRoot, ValueCode } from './values.js';
import { gapCertified, keepsAccuracyToBound } from '../domain.js';

export const VERSION = '0.1.0';

/**
 * The interior regime's domain unless nothing degrades toward the bound ('half', interiorDomainOf):
 * cov12^2 ≤ INTERIOR × var1*var2 (|rho| ≤ 0.707), where the inputs are far
 * from the bound and plain double arithmetic can be accurate enough (interior.ts decides, by
 * measurement, per map).
 */
export const INTERIOR = 0.5;

/**
 * Where an interior regime runs. Trees that read the gap or rho, which plain doubles compute from
 * var1*var2 - cov12^2 with a loss that grows toward the bound, run where cov12^2 ≤ INTERIOR ×
 * var1*var2 ('half'). Elsewhere the regime may run wherever cov12 is its own projection
 * ('projection', the CLEARLY_INSIDE test), so that anti-correlated and correlated entries take
 * the same code as the rest (interior.ts measures them there), if nothing degrades toward the
 * bound: a stable code that chose a formula by region (nearbound) keeps 'half'; trees whose sums
 * carry run-time certificates (`certified`: plainTree's) need a stable code that reads no exact
 * gap or rho (it then needs only the projected cov12); trees without them (a normal form) must
 * keep their accuracy to the bound by their shape (domain.ts keepsAccuracyToBound). One test
 * per module: the scalar functions and the loops decide alike.
 */
export type InteriorDomain = 'half' | 'projection';

export function interiorDomainOf(
  stable: readonly Tree[],
  regime: readonly Tree[],
  certified: boolean | 'gap to the bound',
): InteriorDomain {
  const byRegion = stable.some((t) => E.some(t, (x) => x.k === 'fn' && x.name === 'nearbound'));
  if (byRegion) return 'half';
  // Trees whose every read of the gap is certified against var1*var2 (interior.ts
  // gapMagnitudeOf) keep their accuracy to the bound with the gap in plain doubles; rho they must not read.
  if (certified === 'gap to the bound')
    return !needsOf(...regime).r && !needsOf(...stable).r && regime.every(gapCertified) ? 'projection' : 'half';
  if (needsOf(...regime).exact) return 'half';
  const keeps = certified ? !needsOf(...stable).exact : regime.every(keepsAccuracyToBound);
  return keeps ? 'projection' : 'half';
}

/** The largest cov12^2 / (var1*var2) a domain admits (what bounds a per-entry exponent there, separate.ts). */
export const DOMAIN_BOUND: Readonly<Record<InteriorDomain, number>> = { half: INTERIOR, projection: 1 };

/** Whether an entry is in a domain, as the emitted test decides it (ipp = var1*var2, icc = cov12^2). */
export function inDomain(domain: InteriorDomain, c: number, v1: number, v2: number): boolean {
  const ipp = v1 * v2,
    icc = c * c;
  return domain === 'half'
    ? icc <= INTERIOR * ipp && ipp > 0
    : icc <= ipp * CLEARLY_INSIDE.margin && ipp > CLEARLY_INSIDE.minProduct && ipp < Infinity;
}

/**
 * The emitted test of a domain, on ipp and icc (INTERIOR_TEST). In a loop, the product's range
 * test reads the call's `normal` flag first (NORMAL_VARIANCES): the same decision, per call.
 */
export function domainTest(domain: InteriorDomain, inLoop = false): string {
  const { margin } = CLEARLY_INSIDE;
  return domain === 'half'
    ? `icc <= ${INTERIOR} * ipp && ipp > 0`
    : `icc <= ipp * ${margin} && ${normalRange('ipp', inLoop)}`;
}

/** That a product of the variances is a normal double (> minProduct and finite), as emitted. */
const normalProduct = (p: Code): Code => js`${p} > ${String(CLEARLY_INSIDE.minProduct)} && ${p} < Infinity`;

/** normalProduct on a name; in a loop, behind the call's `normal` flag. */
function normalRange(pp: string, inLoop: boolean): string {
  const range = normalProduct(ref(pp)).text;
  return inLoop ? `(normal || ${range})` : range;
}

/**
 * sqrt(var1·var2) as a block has it (values.ts ProductRoot): the root of var1·var2 as the block
 * has it rounded (ipp after the interior test, whose projection domain tests its range; pp after
 * the exact prologue), or of its own.
 */
function productRoot(where: InteriorDomain | Needs): ProductRoot {
  if (where === 'projection') return { product: ref('ipp'), normal: true };
  if (where === 'half') return { product: ref('ipp'), normal: normalProduct };
  return { ...(where.exact ? { product: ref('pp') } : {}), normal: normalProduct };
}

/**
 * Whether a function's stable code splits its angles (values.ts ValueOptions.splitsAngles):
 * where its interior regime runs to the bound.
 */
const splitsAngles = (interior: Tree | Tree[] | undefined, domain: InteriorDomain) => !!interior && domain !== 'half';

export interface EmitInput {
  /** Evaluation trees (output of stabilize). */
  readonly nngp: Tree;
  readonly dNngp: Tree;
  /**
   * Trees evaluated in plain doubles in the interior regime, before the stable ones (an entry
   * whose plain value is not finite takes the stable path). gap and rho are var1*var2 - cov12^2
   * and cov12/sqrt(var1*var2) in plain doubles there; cov12 needs no projection.
   */
  readonly interior?: { readonly nngp: Tree; readonly dNngp: Tree; readonly domain: InteriorDomain };
  /**
   * Trees evaluated in plain doubles on the exact prologue (cov12 projected, the exact gap) for
   * every entry the interior regime did not take, before the stable ones: the near regime
   * (interior.ts). Each sum carries a certificate; an output whose value is not finite or not
   * certified takes the stable code.
   */
  readonly near?: { readonly nngp: Tree; readonly dNngp: Tree };
  /** d nngp / d param and d^2 nngp / d cov12 d param per requested param (compile's gradients). */
  readonly gradients?: readonly {
    readonly param: string;
    readonly nngp: Tree;
    readonly dNngp: Tree;
    /** d nngp / d param in math syntax, for the banner. */
    readonly formula: string;
  }[];
  /** Where the source came from, for the banner. */
  readonly sourceName: string;
  /** The simplified map and derivative in math syntax, for the banner. */
  readonly simplified: string;
  readonly derivative: string;
}

export interface Needs {
  readonly c: boolean;
  readonly g: boolean;
  readonly r: boolean;
  /** The exact gap itself is read (gap, rho, nearbound), not only the projected cov12. */
  readonly exact: boolean;
}

export interface Straight {
  /** The per-point prologue (projected cov12, the exact gap), then the rest of the stable code. */
  readonly prologue: readonly Statement[];
  readonly statements: readonly Statement[];
  readonly result: Code;
  /** The interior regime's plain-double value, tried first (within ModuleParts.domain). */
  readonly interior?: PlainBlock;
  /** The near regime's plain-double value on the prologue, tried next. */
  readonly near?: PlainBlock;
  /** The inputs (c0, v1, v2) it reads. */
  readonly inputs: ReadonlySet<string>;
}

export function needsOf(...es: Tree[]): Needs {
  const any = (n: 'cov12' | 'gap' | 'rho') => es.some((e) => E.mentions(e, n));
  const nearbound = es.some((e) => E.some(e, (x) => x.k === 'fn' && x.name === 'nearbound'));
  return { c: any('cov12') || nearbound, g: any('gap'), r: any('rho'), exact: any('gap') || any('rho') || nearbound };
}

/**
 * Where only the projected cov12 is read, the exact gap decides nothing away from the bound: if
 * cov12^2 <= var1*var2 (1 - 8u) in plain doubles, with var1*var2 normal and finite, the exact gap
 * is positive (each product is within an ulp of its value), so the projection is cov12 itself,
 * the same double the exact test gives; only the other entries pay for the two-products
 * (projectedCov, runtime.ts). Soundness sampled at the bound in test/emit.test.ts.
 */
export const CLEARLY_INSIDE = { margin: 0.9999999999999991, minProduct: 1e-290 } as const;

/**
 * The row's bound of the lazy projection in a loop: where the call is `normal`, with lowV2 the
 * smallest of cov2, cov12² ≤ var1·lowV2·(1 − 8u) implies the per-entry test for every column
 * (rounding is monotone and var2 ≥ lowV2 > 0), so cov12 is its own projection without var2 being
 * read; the other entries take the per-entry test (runtime.ts projectedCovAt). identity 2.9 → 2.3
 * ns per realistic entry. Elsewhere the bound is -Infinity and every entry takes the test.
 */
export const ROW_BOUND = 'rowBound';

/**
 * A kernel call whose variances all lie in [2^-480, 2^480] (its `normal` flag, variancesWithin)
 * has every product var1*var2 in [2^-960, 2^960]: above CLEARLY_INSIDE.minProduct (about
 * 2^-963.3) and finite, so its loops skip that part of the test per entry (identity 3.4 -> 3.2 ns
 * per entry and hermite 3.3 -> 3.0, whose loops were little more than the test; erf 10.1 -> 9.6-9.9).
 */
export const NORMAL_VARIANCES = { lo: 2 ** -480, hi: 2 ** 480 } as const;

function lazyProjection(inLoop: boolean): Statement[] {
  const [v1, v2, c0, pp, cc] = ['v1', 'v2', 'c0', 'pp', 'cc'].map(ref) as Code[];
  const { margin } = CLEARLY_INSIDE;
  // In a loop, first the row's bound (ROW_BOUND): most entries are cleared without reading var2.
  if (inLoop)
    return [
      statement({ name: ROW_BOUND, value: js`normal ? ${v1!} * lowV2 * ${String(margin)} : -Infinity` }),
      statement({ name: 'cc', value: js`${c0!} * ${c0!}` }),
      statement({
        name: 'c',
        value: js`${cc!} <= ${ref(ROW_BOUND)} ? ${c0!} : projectedCovAt(${c0!}, ${v1!}, C2, j, normal)`,
        typed: true,
      }),
    ];
  const range = normalRange('pp', false);
  return [
    statement({ name: 'pp', value: js`${v1!} * ${v2!}` }, { name: 'cc', value: js`${c0!} * ${c0!}` }),
    statement({
      name: 'c',
      value: js`${cc!} <= ${pp!} * ${String(margin)} && ${range} ? ${c0!} : projectedCov(${c0!}, ${v1!}, ${v2!})`,
      typed: true,
    }),
  ];
}

/** Veltkamp's split of v into xh + xl (xa, xh, xl), for Dekker's two-product. */
function split(x: string, v: Code): Statement {
  return statement(
    { name: `${x}a`, value: js`${v} * 134217729` },
    { name: `${x}h`, value: js`${ref(`${x}a`)} - (${ref(`${x}a`)} - ${v})` },
    { name: `${x}l`, value: js`${v} - ${ref(`${x}h`)}` },
  );
}

/** The prologue's last statements: the gap clamped at 0 (g) and rho (sp, r), from gRaw, c, pp and pl. */
function gapAndRho(needs: Needs): Statement[] {
  const [gRaw, pp, pl, sp, c] = ['gRaw', 'pp', 'pl', 'sp', 'c'].map(ref) as Code[];
  return [
    ...(needs.g ? [statement({ name: 'g', value: js`${gRaw!} > 0 ? ${gRaw!} : 0` })] : []),
    ...(needs.r
      ? [
          statement({ name: 'sp', value: js`sqrtDD(${pp!}, ${pl!})` }),
          statement({ name: 'r', value: js`${sp!} > 0 ? Math.max(-1, Math.min(1, ${c!} / ${sp!})) : 0` }),
        ]
      : []),
  ];
}

/**
 * Per-point prologue: project cov12 onto the Cauchy–Schwarz bound; derive gap and rho.
 * `beyondHalf`: it runs only where the half domain's test failed (cov12^2 > var1*var2 / 2 or
 * var1*var2 ≤ 0, a loop whose interior block always continues). Then var1*var2 - cov12^2 is
 * exact in doubles wherever cov12^2 ≤ 2 var1*var2 (Sterbenz), so Knuth's two-sum adds nothing
 * there; elsewhere (far outside the bound, or var1*var2 ≤ 0) its sign, all that is read of it
 * there, is the exact gap's, since pl and cl are ulps of terms it exceeds by half.
 */
function prologue(needs: Needs, { inLoop = false, beyondHalf = false, gapGiven = false } = {}): Statement[] {
  if (!needs.c && !needs.g && !needs.r) return [];
  // (A map that reads only the projected cov12 reads no gap: a given one has nothing to replace.)
  if (!needs.exact) return lazyProjection(inLoop);
  if (gapGiven) return prologueOnGap(needs);
  // A loop's prologue runs unguarded: an overflow shows as a NaN gRaw (the scalar functions redo
  // the entry) or, beyond half, where pp - cc itself overflows, as the same infinite gRaw the
  // guarded prologue gives (its two-sum term is then 0).
  const guard = (hi: Code, lo: Code) => (inLoop ? lo : js`Math.abs(${hi}) < Infinity ? ${lo} : 0`);
  const [v1, v2, c0, pp, pl, cc, cl, gs, gv, ge, gRaw] = [
    'v1',
    'v2',
    'c0',
    'pp',
    'pl',
    'cc',
    'cl',
    'gs',
    'gv',
    'ge',
    'gRaw',
  ].map(ref) as Code[];
  const [ah, al, bh, bl, kh, kl] = ['ah', 'al', 'bh', 'bl', 'kh', 'kl'].map(ref) as Code[];
  const out = [
    // pp + pl = var1*var2 and cc + cl = cov12^2 exactly (Dekker's two-product).
    split('a', v1!),
    split('b', v2!),
    split('k', c0!),
    statement(
      { name: 'pp', value: js`${v1!} * ${v2!}` },
      {
        name: 'pl',
        value: guard(pp!, js`((${ah!} * ${bh!} - ${pp!}) + ${ah!} * ${bl!} + ${al!} * ${bh!}) + ${al!} * ${bl!}`),
      },
    ),
    statement(
      { name: 'cc', value: js`${c0!} * ${c0!}` },
      { name: 'cl', value: guard(cc!, js`((${kh!} * ${kh!} - ${cc!}) + 2 * ${kh!} * ${kl!}) + ${kl!} * ${kl!}`) },
    ),
    // gap = pp + pl - cc - cl, from Knuth's two-sum of the high parts (exact beyond half: above).
    ...(beyondHalf
      ? [
          statement({ name: 'gs', value: js`${pp!} - ${cc!}` }),
          statement({ name: 'gRaw', value: js`${gs!} + (${pl!} - ${cl!})` }),
        ]
      : [
          statement(
            { name: 'gs', value: js`${pp!} - ${cc!}` },
            { name: 'gv', value: js`${gs!} - ${pp!}` },
            { name: 'ge', value: guard(gs!, js`(${pp!} - (${gs!} - ${gv!})) + (-${cc!} - ${gv!})`) },
          ),
          statement({ name: 'gRaw', value: js`${gs!} + (${ge!} + (${pl!} - ${cl!}))` }),
        ]),
    // Outside the bound (rare): cov12 := ±sqrt(pp + pl).
    statement({
      name: 'c',
      value: js`${gRaw!} < 0 ? (${c0!} < 0 ? -sqrtDD(${pp!}, ${pl!}) : sqrtDD(${pp!}, ${pl!})) : ${c0!}`,
      typed: true,
    }),
  ];
  return [...out, ...gapAndRho(needs)];
}

/**
 * A plain-double regime's values (interior.ts): the interior's after its own prologue (c, g, r in
 * the block), the near regime's on the exact prologue's c, g, r.
 */
export interface PlainBlock {
  readonly statements: readonly Statement[];
  readonly values: readonly Code[];
  /** Runtime conditions for the plain values to be used (no sum cancelled). */
  readonly certificates: readonly Code[];
  /** Per value, the conditions of its own sums (a fused loop decides per output, as the scalar functions do). */
  readonly certificatesOf: readonly (readonly Code[])[];
  readonly helpers: ReadonlySet<string>;
  /** Names whose statement is costly (a call, a root, a division): per-column candidates. */
  readonly costly: ReadonlySet<string>;
  /** Some certificate is folded into a value (NaN where it fails), so values fail more than rarely. */
  readonly folded: boolean;
  /** The texts of its certificates read against the gap's magnitude (ValueCode.gapCertificates). */
  readonly gapCertificates: ReadonlySet<string>;
  /** The k of the `anglesUpTo<k>` flags its angle tests read (ValueCode.angleBoxes; loops only). */
  readonly angleBoxes: ReadonlySet<number>;
  /** The texts of its certificates that hold on the whole half domain (ValueCode.halfCertificates). */
  readonly halfCertificates: ReadonlySet<string>;
}

/**
 * Whether a loop's interior block continues at every entry it takes (module.ts loopBlock): without
 * certificates, only a non-finite value leaves it, and the scalar functions redo that entry.
 */
export function continuesAlways(block: PlainBlock): boolean {
  return block.certificatesOf.every((c) => c.length === 0) && !block.folded;
}

/** The statements before the interior test: var1*var2 and cov12^2 in plain doubles. */
export const INTERIOR_TEST = statement(
  { name: 'ipp', value: js`${ref('v1')} * ${ref('v2')}` },
  { name: 'icc', value: js`${ref('c0')} * ${ref('c0')}` },
);

function plainBlock(
  trees: readonly Tree[],
  regime: 'interior' | 'near',
  {
    domain = 'half',
    inLoop = false,
    prologueNeeds,
  }: {
    /** The interior regime's domain. */
    readonly domain?: InteriorDomain;
    /** In a kernel's loop (ValueOptions.inLoop). */
    readonly inLoop?: boolean;
    /** The near regime: what the exact prologue it runs after computes (needsOf the function's trees). */
    readonly prologueNeeds?: Needs;
  } = {},
): PlainBlock {
  const b = new ValueCode(regime === 'interior' ? 'f' : 'o', false, {
    plainRegime: true,
    halfDomain: regime === 'interior' && domain === 'half',
    inLoop: inLoop && regime === 'interior',
    nearBound: regime === 'near',
    productRoot: productRoot(regime === 'interior' ? domain : (prologueNeeds ?? needsOf(...trees))),
  });
  const values = trees.map((t) => b.val(t));
  const needs = needsOf(...trees);
  const prologue: Statement[] = [];
  // In the interior block: cov12 needs no projection; the gap and rho in plain doubles are
  // accurate there. The near block reads the exact prologue's c, g and r instead.
  if (regime === 'interior') {
    if (needs.c) prologue.push(statement({ name: 'c', value: ref('c0'), typed: true }));
    if (needs.g) prologue.push(statement({ name: 'g', value: js`${ref('ipp')} - ${ref('icc')}` }));
    if (needs.r) prologue.push(statement({ name: 'r', value: js`${ref('c0')} / Math.sqrt(${ref('ipp')})` }));
  }
  const certificates = [...new Map(b.certificates.map((c) => [c.text, c])).values()];
  // Per value, the certificates of the sums in its own tree: what its scalar function checks.
  const certificatesOf = trees.map((t) => {
    const mine = b.certificates.filter((_, i) =>
      E.some(
        t,
        (x: Tree) => x.k === 'fn' && (x.name === 'plainsum' || x.name === 'argbound') && x.key === b.certificateKeys[i],
      ),
    );
    return [...new Map(mine.map((c) => [c.text, c])).values()];
  });
  const statements = prune(
    [...prologue, ...b.statements],
    [...values, ...certificates].flatMap((v) => v.uses),
  );
  return {
    statements,
    values,
    certificates,
    certificatesOf,
    helpers: new Set([...b.helpers].filter((h) => h !== 'dd')),
    costly: b.costly,
    folded: b.folded,
    gapCertificates: b.gapCertificates,
    angleBoxes: b.angleBoxes,
    halfCertificates: b.halfCertificates,
  };
}

/** Statements split into the prologue's (declaring its names) and the rest, in order. */
function splitPrologue(statements: readonly Statement[], pro: readonly Statement[]) {
  const names = new Set(pro.flatMap((st) => st.declarations.map((d) => d.name)));
  const isPrologue = (st: Statement) => st.declarations.every((d) => names.has(d.name));
  return { prologue: statements.filter(isPrologue), rest: statements.filter((st) => !isPrologue(st)) };
}

/** The names a regime's block reads from outside itself (the prologue's, the inputs). */
function usesOf(block: PlainBlock): string[] {
  return [...inputsOf(block.statements, [...block.values, ...block.certificates])];
}

/**
 * The prologue on a gap the caller gives (`gIn`, the outer kernel of a composition: emit/chain.ts,
 * which has it more accurately than the exact products of its rounded inputs can): cov12
 * projected onto the bound where that gap is 0 and cov12^2 is past var1 var2, rho from it.
 */
function prologueOnGap(needs: Needs): Statement[] {
  const [v1, v2, c0, pp, pl, gRaw] = ['v1', 'v2', 'c0', 'pp', 'pl', 'gRaw'].map(ref) as Code[];
  const [ah, al, bh, bl] = ['ah', 'al', 'bh', 'bl'].map(ref) as Code[];
  const out = [
    split('a', v1!),
    split('b', v2!),
    statement(
      { name: 'pp', value: js`${v1!} * ${v2!}` },
      {
        name: 'pl',
        value: js`Math.abs(${pp!}) < Infinity ? ((${ah!} * ${bh!} - ${pp!}) + ${ah!} * ${bl!} + ${al!} * ${bh!}) + ${al!} * ${bl!} : 0`,
      },
    ),
    statement({ name: 'gRaw', value: ref('gIn') }, { name: 'cc', value: js`${c0!} * ${c0!}` }),
    // Past the bound (the gap 0, cov12^2 over var1 var2 in doubles): cov12 := ±sqrt(pp + pl).
    statement({
      name: 'c',
      value: js`${gRaw!} > 0 || ${ref('cc')} <= ${pp!} ? ${c0!} : ${c0!} < 0 ? -sqrtDD(${pp!}, ${pl!}) : sqrtDD(${pp!}, ${pl!})`,
      typed: true,
    }),
  ];
  return [...out, ...gapAndRho(needs)];
}

/**
 * The scalar functions of the stable trees on a gap the caller gives (prologueOnGap): the
 * outer kernel of a composition calls these (emit/chain.ts).
 */
export function withOnGap(m: ModuleParts, nngp: Tree, dNngp: Tree): ModuleParts {
  const [f, d] = [nngp, dNngp].map((t) => scalar(t, undefined, undefined, 'half', true)) as [
    ReturnType<typeof scalar>,
    ReturnType<typeof scalar>,
  ];
  return { ...m, helpers: new Set([...m.helpers, ...f.helpers, ...d.helpers]), onGap: { nngp: f, dNngp: d } };
}

function scalar(
  e: Tree,
  interior?: Tree,
  near?: Tree,
  domain: InteriorDomain = 'half',
  gapGiven = false,
): Straight & { helpers: ReadonlySet<string> } {
  const needs = needsOf(e, ...(near ? [near] : []));
  const b = new ValueCode('t', true, {
    productRoot: productRoot(needs),
    splitsAngles: splitsAngles(interior, domain),
  });
  const result = b.val(e);
  const nearBlock = near ? plainBlock([near], 'near', { prologueNeeds: needs }) : undefined;
  const pro = prologue(needs, { gapGiven });
  const all = prune([...pro, ...b.statements], [...result.uses, ...(nearBlock ? usesOf(nearBlock) : [])]);
  const { prologue: first, rest: statements } = splitPrologue(all, pro);
  const fast = interior ? plainBlock([interior], 'interior', { domain }) : undefined;
  const inputs = inputsOf(all, [result]);
  if (fast || nearBlock) for (const x of ['c0', 'v1', 'v2']) inputs.add(x);
  const helpers = helpersOf(b.helpers, all, needs);
  for (const h of [...(fast?.helpers ?? []), ...(nearBlock?.helpers ?? [])]) helpers.add(h);
  return {
    prologue: first,
    statements,
    result,
    inputs,
    helpers,
    ...(fast ? { interior: fast } : {}),
    ...(nearBlock ? { near: nearBlock } : {}),
  };
}

/**
 * The runtime helpers used: the value builder's calls, and sqrtDD ('dd') where the prologue's
 * projected cov12 (c) or sqrt(var1*var2) (sp) survived pruning: they are what call it.
 */
function helpersOf(helpers: ReadonlySet<string>, statements: readonly Statement[], needs: Needs): Set<string> {
  const out = new Set([...helpers].filter((h) => h !== 'dd'));
  if (statements.some((s) => s.declarations.some((d) => d.name === 'c' || d.name === 'sp'))) {
    out.add('dd');
    if (!needs.exact) out.add('project');
  }
  if (statements.some((s) => s.declarations.some((d) => d.name === ROW_BOUND))) out.add('projectAt');
  return out;
}

/** One kernel loop's body: per-row statements, per-entry statements, the values it stores, and the overflow test. */
export interface Loop {
  readonly outer: readonly Statement[];
  /** Per-entry statements: the prologue's, then the rest. */
  readonly prologue: readonly Statement[];
  readonly inner: readonly Statement[];
  readonly values: readonly Code[];
  /** Terms whose sum is NaN when an entry must be redone (empty: never). */
  readonly checks: readonly string[];
  /** The loop variables (c0, v1, v2) it reads. */
  readonly inputs: ReadonlySet<string>;
  /** The interior regime's plain-double values: per-row and per-entry statements. */
  readonly interior?: PlainBlock & { readonly outer: readonly Statement[] };
  /** The near regime's plain-double values on the prologue: per-row and per-entry statements. */
  readonly near?: PlainBlock & { readonly outer: readonly Statement[] };
  /**
   * Per-column work (hoistColumns), computed before the rows into `cols`, one slot per exported
   * name per column (`cols[j * exports.length + m]`), read back by name where a part needs it.
   */
  readonly columns: { readonly statements: readonly Statement[]; readonly exports: readonly string[] };
  /** Its prologue reads the call's `normal` flag (NORMAL_VARIANCES) and `lowV2` (ROW_BOUND): the lazy projection. */
  readonly readsNormal: boolean;
  /**
   * The entries its interior block leaves call the scalar functions instead of running the fused
   * stable code (isOutlined): then no prologue, stable statements or values are emitted.
   */
  readonly outlined: boolean;
}

/**
 * Whether a loop may leave the entries its interior block does not store to the scalar functions
 * (and does, where its stable code splits an angle, loop()): where the interior regime runs to
 * the bound and no near regime follows, those are only the diagonal, the outside, products that
 * are not normal doubles and failed certificates. Measured (n = 1024, paired, both orders, ns
 * per realistic / anti-correlated entry, inline → outlined): sigmoid_like, whose split angle
 * costs the inline loop 0.4–0.5 ns though it never runs there, 11.9 → 10.7–10.9 (its hand loop
 * 11.0–11.4); cos and sin 16.2–16.8 → 15.6–16.6; rbf 10.2 → 9.6–9.9; erf and exp within 0.2; but
 * exp_normalized 9.9–10.1 → 10.6–11.0 and gaussian 4.2–5.0 → 4.6–6.0 (its certificates fail on
 * some anti-correlated entries, which then pay a call): no rule of the code's size or shape
 * separated them, so only the split angle's loops are outlined.
 */
function isOutlined(interiorTrees: Tree[] | undefined, nearTrees: Tree[] | undefined, domain: InteriorDomain) {
  return splitsAngles(interiorTrees, domain) && !nearTrees;
}

/**
 * One kernel loop body, unguarded (ddasm.ts): one NaN test per entry instead of a select per
 * error term; an entry that fails it (an overflow somewhere, or NaN input) is redone by the
 * guarded scalar functions. Per-row work (the split of var1) is hoisted out of the inner loop,
 * and costly per-column work (an exponential of var2) out of the rows.
 */
function loop(
  trees: Tree[],
  interiorTrees?: Tree[],
  nearTrees?: Tree[],
  domain: InteriorDomain = 'half',
): Loop & { helpers: ReadonlySet<string> } {
  const needs = needsOf(...trees, ...(nearTrees ?? []));
  const b = new ValueCode('t', false, {
    productRoot: productRoot(needs),
    splitsAngles: splitsAngles(interiorTrees, domain),
  });
  const values = trees.map((t) => b.val(t));
  const nearBlock = nearTrees ? plainBlock(nearTrees, 'near', { prologueNeeds: needs }) : undefined;
  const outlined = isOutlined(interiorTrees, nearTrees, domain) && b.splitsStableAngle;
  // The exact prologue runs unguarded here (prologue: an overflow shows as a NaN gRaw, or as the
  // guarded one's infinite gRaw); the lazy one calls the guarded projectedCov.
  const checkCodes = outlined ? [] : [...(needs.exact ? [ref('gRaw')] : []), ...b.checks];
  const checks = [...new Set(checkCodes.map((c) => c.text))];
  const fast = interiorTrees ? plainBlock(interiorTrees, 'interior', { domain, inLoop: true }) : undefined;
  // A loop's interior block that continues at every entry it takes: the prologue then runs only beyond the half domain.
  const beyondHalf = !!fast && domain === 'half' && continuesAlways(fast);
  const pro = prologue(needs, { inLoop: true, beyondHalf });
  const roots = outlined
    ? []
    : [...[...values, ...checkCodes].flatMap((c) => c.uses), ...(nearBlock ? usesOf(nearBlock) : [])];
  const statements = prune([...pro, ...b.statements], roots);
  const hoisted = hoist(statements, ['v1']);
  // Per-column work of each part (interior, near, stable), then one slot per exported value.
  // What reads no input was hoisted out of the rows; per-column work may read it too.
  const constantsOf = (outer: readonly Statement[]) => hoist(outer, []).outer;
  const stable = hoistColumns(hoisted.inner, b.costly, roots, constantsOf(hoisted.outer));
  const blockColumns = (block: PlainBlock) => {
    const split = hoist(block.statements, ['v1']);
    const roots = [...block.values, ...block.certificates].flatMap((c) => c.uses);
    return { outer: split.outer, ...hoistColumns(split.inner, block.costly, roots, constantsOf(split.outer)) };
  };
  const fastColumns = fast ? blockColumns(fast) : undefined;
  const nearColumns = nearBlock ? blockColumns(nearBlock) : undefined;
  const exports = [...(fastColumns?.exports ?? []), ...(nearColumns?.exports ?? []), ...stable.exports];
  const loads = (names: readonly string[]): Statement[] =>
    names.length
      ? [
          statement(
            ...names.map((name) => {
              const m = exports.indexOf(name);
              const at = exports.length === 1 ? ref('j') : js`${ref('j')} * ${String(exports.length)} + ${String(m)}`;
              return { name, value: js`${ref('cols')}[${at}]`, element: true };
            }),
          ),
        ]
      : [];
  const { prologue: first, rest } = splitPrologue(stable.inner, pro);
  const inner = [...loads(stable.exports), ...rest];
  const outer = hoisted.outer;
  // The redo path (checks) calls the scalar functions with all three inputs.
  // After hoisting: what the rows and entries still read (a value hoisted per column reads no v2 there).
  const inputs = inputsOf([...outer, ...first, ...inner], values);
  if (checks.length || interiorTrees || nearTrees) for (const x of ['c0', 'v1', 'v2']) inputs.add(x);
  const helpers = helpersOf(b.helpers, statements, needs);
  let near: Loop['near'];
  if (nearBlock && nearColumns) {
    near = {
      ...nearBlock,
      statements: [...loads(nearColumns.exports), ...nearColumns.inner],
      outer: nearColumns.outer,
    };
    for (const h of nearBlock.helpers) helpers.add(h);
  }
  let interior: Loop['interior'];
  if (fast && fastColumns) {
    interior = { ...fast, statements: [...loads(fastColumns.exports), ...fastColumns.inner], outer: fastColumns.outer };
    for (const h of fast.helpers) helpers.add(h);
  }
  const columns = {
    statements: [...(fastColumns?.columns ?? []), ...(nearColumns?.columns ?? []), ...stable.columns],
    exports,
  };
  // Per-row work the entries still read: a constant that only per-column work read now lives in
  // the column loop alone.
  const read = [
    ...[...first, ...inner, ...(interior?.statements ?? []), ...(near?.statements ?? [])].flatMap((st) => st.uses),
    ...[
      ...(outlined ? [] : values),
      ...checkCodes,
      ...[interior, near].flatMap((x) => (x ? [...x.values, ...x.certificates] : [])),
    ].flatMap((c) => c.uses),
  ];
  const live = new Set(
    prune([...outer, ...(interior?.outer ?? []), ...(near?.outer ?? [])], read).flatMap((st) =>
      st.declarations.map((d) => d.name),
    ),
  );
  const rowsOf = (list: readonly Statement[]) => prune(list, [...live]);
  if (interior) interior = { ...interior, outer: rowsOf(interior.outer) };
  if (near) near = { ...near, outer: rowsOf(near.outer) };
  return {
    outer: rowsOf(outer),
    prologue: first,
    inner,
    values,
    checks,
    inputs,
    helpers,
    columns,
    readsNormal: first.some((st) => st.declarations.some((d) => d.name === 'c')) && !needs.exact,
    outlined,
    ...(interior ? { interior } : {}),
    ...(near ? { near } : {}),
  };
}

/** An emitted module before printing. */
export interface ModuleParts {
  readonly banner: readonly string[];
  readonly helpers: ReadonlySet<string>;
  readonly nngp: Straight;
  readonly dNngp: Straight;
  /** The loop computing nngp and its derivative (with the NTK), and the one computing nngp only. */
  readonly fused: Loop;
  readonly nngpOnly: Loop;
  /** Per requested param, the scalar functions of its gradient. */
  readonly gradients: readonly { readonly param: string; readonly nngp: Straight; readonly dNngp: Straight }[];
  /** Where the interior regime runs (and the near regime does not): 'half' where there is none. */
  readonly domain: InteriorDomain;
  /**
   * k where every interior value is proven finite for variances in [2^-k, 2^k] (finite.ts): a
   * kernel call whose variances all lie there skips the loops' finiteness test.
   */
  readonly finiteWithin?: number;
  /**
   * Where a kernel call's variances all lie in [0, 2^k], the interior certificates read against
   * the gap's magnitude hold (finite.ts certainWithin): the loops skip them (`certain`).
   */
  readonly certainWithin?: number;
  /**
   * An interior regime to the bound: k where, for variances within 2^±finiteWithin and at most
   * 2^k, every certificate read against the gap's magnitude holds on the half domain (finite.ts
   * certainWithin, onHalf; finiteWithin itself where there are none): the loops run the block's
   * half-domain entries without its certificates there (emit/module.ts halfCopy, `onHalf`).
   */
  readonly halfCopyWithin?: number;
  /** A scale-mixture kernel's nodes (emit/mixture.ts prints its tables and mixtureK, which the functions call). */
  readonly mixture?: import('../mixture.js').Mixture;
  /** A kernel through the bivariate normal CDF (emit/tilted.ts prints its pieces and tiltedK). */
  readonly tilted?: import('../tilted.js').TiltedKernel;
  /** The scalar functions on a gap the caller gives, nngpOnGap and dNngpOnGap (withOnGap). */
  readonly onGap?: { readonly nngp: Straight; readonly dNngp: Straight };
  /** A kernel composition (emit/chain.ts prints both kernels' modules and chainK). */
  readonly chain?: import('./chain.js').Chain;
}

/** Builds the parts of a module (everything but the target's spelling). */
export function buildModule(input: EmitInput): ModuleParts {
  const inside = input.interior;
  const near = input.near;
  const domain = inside?.domain ?? 'half';
  const f = scalar(input.nngp, inside?.nngp, near?.nngp, domain);
  const d = scalar(input.dNngp, inside?.dNngp, near?.dNngp, domain);
  // Fused: one ValueCode over both trees, so shared subexpressions are computed once.
  const fused = loop(
    [input.nngp, input.dNngp],
    inside ? [inside.nngp, inside.dNngp] : undefined,
    near ? [near.nngp, near.dNngp] : undefined,
    domain,
  );
  const nngpOnly = loop([input.nngp], inside ? [inside.nngp] : undefined, near ? [near.nngp] : undefined, domain);
  // A folded certificate is a NaN the finiteness test catches: such blocks keep the test.
  const k =
    inside && !fused.interior?.folded && !nngpOnly.interior?.folded
      ? finiteWithin([inside.nngp, inside.dNngp], DOMAIN_BOUND[inside.domain])
      : undefined;
  const certain = inside ? certainWithin([inside.nngp, inside.dNngp]) : undefined;
  const blocks = [fused.interior, nngpOnly.interior].filter((b) => b !== undefined);
  const readsGapMagnitude = blocks.some((b) => b.gapCertificates.size > 0);
  // Every certificate proven on the half domain (one read against the gap's magnitude, below; any
  // other by finite.ts provenOnHalf), none folded into a value.
  const provenOnHalf = blocks.every(
    (b) => !b.folded && b.certificates.every((c) => b.gapCertificates.has(c.text) || b.halfCertificates.has(c.text)),
  );
  // Where `certain` already covers variances up to 2 (a normalised layer's are about 1), the copy
  // adds nothing to typical kernels and costs their anti-correlated entries (sigmoid_like's,
  // certain to 16: 12.1 → 13.5 ns, measured): none.
  const needed = certain === undefined || certain < 1;
  const onHalf =
    inside && domain === 'projection' && k !== undefined && provenOnHalf && needed && !blocks.every(continuesAlways)
      ? readsGapMagnitude
        ? certainWithin([inside.nngp, inside.dNngp], true)
        : k
      : undefined;
  // A box no larger than `certain`'s would copy the block where nothing is tested anyway (found by review).
  const halfCopy = onHalf !== undefined && onHalf > (certain ?? -Infinity) ? onHalf : undefined;
  const gradients = (input.gradients ?? []).map((g) => ({
    param: g.param,
    nngp: scalar(g.nngp),
    dNngp: scalar(g.dNngp),
  }));
  return {
    banner: [
      ...banner(input),
      ...(input.gradients ?? []).map((g) => `//   d nngp / d ${commentText(g.param)} = ${commentText(g.formula)}`),
    ],
    helpers: new Set([
      ...f.helpers,
      ...d.helpers,
      ...fused.helpers,
      ...nngpOnly.helpers,
      ...gradients.flatMap((g) => [...g.nngp.helpers, ...g.dNngp.helpers]),
    ]),
    nngp: f,
    dNngp: d,
    fused,
    nngpOnly,
    gradients,
    domain,
    ...(k !== undefined ? { finiteWithin: k } : {}),
    ...(certain !== undefined ? { certainWithin: certain } : {}),
    ...(halfCopy !== undefined ? { halfCopyWithin: halfCopy } : {}),
  };
}

/**
 * The parts of a module whose functions all call one printed evaluator (kernels without a closed
 * form, emit/mixture.ts and emit/tilted.ts): `value(c0, v1, v2)` returns nngp and leaves the
 * derivative in `lastD` (the fused loop stores both from one call); `valueD` returns the derivative.
 */
export function evaluatorModule(input: {
  readonly sourceName: string;
  readonly simplified: string;
  readonly derivative: string;
  readonly value: string;
  readonly valueD: string;
  readonly lastD: string;
  readonly helpers: readonly string[];
  readonly printed: Pick<ModuleParts, 'mixture' | 'tilted' | 'chain'>;
}): ModuleParts {
  const inputs = new Set(['c0', 'v1', 'v2']);
  const call = (f: string): Straight => ({ prologue: [], statements: [], result: lit(`${f}(c0, v1, v2)`), inputs });
  const loop = (values: string[]) => ({
    outer: [],
    prologue: [],
    inner: [],
    values: values.map(lit),
    checks: [],
    inputs,
    columns: { statements: [], exports: [] },
    readsNormal: false,
    outlined: false,
  });
  return {
    banner: banner(input),
    helpers: new Set(input.helpers),
    nngp: call(input.value),
    dNngp: call(input.valueD),
    fused: loop([`${input.value}(c0, v1, v2)`, input.lastD]),
    nngpOnly: loop([`${input.value}(c0, v1, v2)`]),
    gradients: [],
    domain: 'half',
    ...input.printed,
  };
}

/** The generated-code banner: the source, the map and its derivative. */
function banner(input: { readonly sourceName: string; readonly simplified: string; readonly derivative: string }) {
  return [
    `// Generated by nngpc ${VERSION} from ${commentText(input.sourceName)}. Do not edit: edit the source and regenerate.`,
    `//   nngp(cov12, var1, var2) = ${commentText(input.simplified)}`,
    `//   d nngp / d cov12        = ${commentText(input.derivative)}`,
  ];
}
