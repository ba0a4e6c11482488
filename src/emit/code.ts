// The statement IR of the emitted code, between values and text. A `Code` is an expression's
// text with the names it reads; a `Statement` declares names and records its uses, so that
// hoisting works on uses (no reading back of text), and the target (TypeScript or JavaScript)
// is only a parameter of the printer.

/** An expression of the emitted code: its text and the names (inputs, temporaries) it reads. */
export interface Code {
  readonly text: string;
  readonly uses: readonly string[];
}

/** A name the code reads. */
export const ref = (name: string): Code => ({ text: name, uses: [name] });
/** Text that reads no name (a literal, an operator). */
export const lit = (text: string): Code => ({ text, uses: [] });
export const ZERO = lit('0');
export const ONE = lit('1');

/** Code from a template: interpolated Codes keep their uses, strings are plain text. */
export function js(strings: TemplateStringsArray, ...parts: (Code | string)[]): Code {
  let text = strings[0]!;
  const uses: string[] = [];
  parts.forEach((p, i) => {
    if (typeof p === 'string') text += p;
    else {
      text += p.text;
      uses.push(...p.uses);
    }
    text += strings[i + 1]!;
  });
  return { text, uses };
}

/** Codes joined by a separator. */
export function join(parts: readonly Code[], sep: string): Code {
  return { text: parts.map((p) => p.text).join(sep), uses: parts.flatMap((p) => p.uses) };
}

export interface Declaration {
  readonly name: string;
  readonly value: Code;
  /** Annotated `: number` in TypeScript (where the original printer did, for identical text). */
  readonly typed?: boolean;
  /** An array element known to be in bounds: `!` after it in TypeScript (noUncheckedIndexedAccess). */
  readonly element?: boolean;
}

/** `const a = ..., b = ...;`: its declarations, and the names it reads from outside itself. */
export interface Statement {
  readonly declarations: readonly Declaration[];
  readonly uses: readonly string[];
}

export function statement(...declarations: Declaration[]): Statement {
  const own = new Set<string>();
  const uses = new Set<string>();
  for (const d of declarations) {
    for (const u of d.value.uses) if (!own.has(u)) uses.add(u);
    own.add(d.name);
  }
  return { declarations, uses: [...uses] };
}

export type Target = 'ts' | 'js';

export function printStatement(s: Statement, target: Target): string {
  const ts = target === 'ts';
  return `const ${s.declarations.map((d) => `${d.name}${d.typed && ts ? ': number' : ''} = ${d.value.text}${d.element && ts ? '!' : ''}`).join(', ')};`;
}

/**
 * The statements that compute `roots` (names), each with only the declarations something live
 * reads: dead code leaves no unused local (noUnusedLocals) and costs nothing.
 */
export function prune(statements: readonly Statement[], roots: readonly string[]): Statement[] {
  const live = new Set(roots);
  const out: Statement[] = [];
  for (let i = statements.length - 1; i >= 0; i--) {
    const s = statements[i]!;
    const kept: Declaration[] = [];
    for (let j = s.declarations.length - 1; j >= 0; j--) {
      const d = s.declarations[j]!;
      if (!live.has(d.name)) continue;
      kept.unshift(d);
      for (const u of d.value.uses) live.add(u);
    }
    if (kept.length) out.unshift(kept.length === s.declarations.length ? s : statement(...kept));
  }
  return out;
}

/** The names statements and codes read that none of them declares (their inputs). */
export function inputsOf(statements: readonly Statement[], codes: readonly Code[]): Set<string> {
  const declared = new Set(statements.flatMap((s) => s.declarations.map((d) => d.name)));
  const used = new Set([...statements.flatMap((s) => s.uses), ...codes.flatMap((c) => c.uses)]);
  return new Set([...used].filter((u) => !declared.has(u)));
}

/**
 * Splits straight-line code into what depends only on `seed` names (hoisted out of the inner
 * loop: per-row work such as the split of var1) and the rest, keeping order.
 */
export function hoist(
  statements: readonly Statement[],
  seed: readonly string[],
): { outer: Statement[]; inner: Statement[] } {
  const invariant = new Set(seed);
  const outer: Statement[] = [];
  const inner: Statement[] = [];
  for (const s of statements) {
    if (s.uses.every((u) => invariant.has(u))) {
      outer.push(s);
      for (const d of s.declarations) invariant.add(d.name);
    } else inner.push(s);
  }
  return { outer, inner };
}

/**
 * Per-column work: of `statements` (the inner loop's, in order), the declarations that depend
 * only on var2 (`v2`) and call a transcendental, a root or divide (`costly`), or read such a
 * value: `columns`, the statements computing them once per column, and `exports`, those the
 * inner loop still reads (`roots` or its other statements), which it loads back from a scratch
 * array (parts.ts); `inner`, the rest. Cheap per-column work (a scaling of var2) stays inline:
 * a load costs as much. `constants`: statements reading no input, hoisted out of the rows
 * already, that per-column work may read (the column loop repeats those it needs).
 */
export function hoistColumns(
  statements: readonly Statement[],
  costly: ReadonlySet<string>,
  roots: readonly string[],
  constants: readonly Statement[] = [],
): { columns: Statement[]; exports: string[]; inner: Statement[] } {
  const { outer } = hoist([...constants, ...statements], ['v2']);
  const heavy = new Set<string>();
  for (const s of outer)
    for (const d of s.declarations) if (costly.has(d.name) || d.value.uses.some((u) => heavy.has(u))) heavy.add(d.name);
  if (!heavy.size) return { columns: [], exports: [], inner: [...statements] };
  const light = statements.flatMap((s) => s.declarations).filter((d) => !heavy.has(d.name));
  const read = new Set([...roots, ...light.flatMap((d) => d.value.uses)]);
  const exports = [...heavy].filter((h) => read.has(h));
  const inner = statements
    .map((s) => s.declarations.filter((d) => !heavy.has(d.name)))
    .filter((ds) => ds.length)
    .map((ds) => statement(...ds));
  return { columns: prune(outer, exports), exports, inner: prune(inner, roots) };
}

/** A number as a JS literal that reads back to the same double. */
export function literal(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '(-Infinity)';
  if (Object.is(x, -0)) return '(-0)';
  const s = String(x);
  return x < 0 ? `(${s})` : s;
}

/** Text safe inside a `//` comment: one line, printable. */
export function commentText(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
