#!/usr/bin/env node
// The nngpc command line: a codegen step for build scripts and CI.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { compile } from './compile.js';
import { VERSION } from './emit/index.js';
import { CompileError } from './errors.js';
import { parseParams } from './sourcefile.js';
import { parseCatalogFile, type CatalogEntry } from './catalog.js';
import { accuracy, misses } from './accuracy.js';
import { GROUPS } from './measure.js';
import { verify } from './verify.js';

const HELP = `nngpc ${VERSION}: compile neural-tangents nngp_fn maps to stable TypeScript kernels

Usage:
  nngpc compile <files or globs...> [-o DIR | --out-file F] [--params a=1,b=0.5]
                [--target ts|js] [--check] [--watch]
      Write one module per source (foo.nngp -> foo.ts beside it, or in DIR).
      --check   write nothing; exit 1 if a generated file is missing or stale
      --watch   recompile on change; keep running on errors
  nngpc derive <file | expression | -> [--params a=1]
      Print the simplified d nngp / d cov12.
  nngpc verify <files or globs...> [--fn 'expr in x'] [--params a=1] [--points N]
      Check nngp against E[f(x1) f(x2)] and its derivative against E[f'(x1) f'(x2)] by
      quadrature (f from --fn or the file's '# fn:' line). Exit 1 above 1e-8 relative.
  nngpc accuracy <files or globs...> [--params a=1] [--points N]
      Bits of error of the emitted code against a 50-digit evaluation, per domain group.
  nngpc --help | --version

Exit codes: 0 ok, 1 compile errors or stale output, 2 usage.
`;

class UsageError extends Error {}

interface Opts {
  out?: string;
  outFile?: string;
  params: Record<string, number>;
  target: 'ts' | 'js';
  check: boolean;
  watch: boolean;
  fn?: string;
  points?: number;
  rest: string[];
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { params: {}, target: 'ts', check: false, watch: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-o' || a === '--out-dir') o.out = value();
    else if (a === '--out-file') o.outFile = value();
    else if (a === '--params') {
      try {
        Object.assign(o.params, parseParams(value()));
      } catch (e) {
        throw new UsageError(e instanceof CompileError ? e.reason : String(e));
      }
    } else if (a === '--target') {
      const t = value();
      if (t !== 'ts' && t !== 'js') throw new UsageError(`--target must be ts or js, not '${t}'`);
      o.target = t;
    } else if (a === '--check') o.check = true;
    else if (a === '--watch') o.watch = true;
    else if (a === '--fn') o.fn = value();
    else if (a === '--points') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1 || n > 100_000)
        throw new UsageError('--points takes a whole number from 1 to 100000');
      o.points = n;
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    else o.rest.push(a);
  }
  return o;
}

/** Expands a glob with * and ** (no braces); a plain path is returned as is. */
export function expandGlob(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return [pattern];
  const parts = pattern.split('/');
  const fixed: string[] = [];
  while (parts.length && !/[*?]/.test(parts[0]!)) fixed.push(parts.shift()!);
  const root = fixed.join('/') || '.';
  const re = new RegExp(
    '^' +
      parts
        .map((p) =>
          p === '**'
            ? '(?:.*/)?'
            : p
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]') + '/',
        )
        .join('')
        .replace(/\/$/, '')
        .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?') +
      '$',
  );
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'node_modules' || e.startsWith('.')) continue;
      const full = join(dir, e);
      const r = rel ? `${rel}/${e}` : e;
      if (statSync(full).isDirectory()) walk(full, r);
      else if (re.test(r)) out.push(root === '.' ? r : `${root}/${r}`);
    }
  };
  walk(root, '');
  return out;
}

function outputPath(file: string, o: Opts): string {
  if (o.outFile) return o.outFile;
  const stem = basename(file, extname(file));
  return join(o.out ?? dirname(file), `${stem}.${o.target}`);
}

/** Writes via a temporary file and rename, so a failed run never leaves a half-written file. */
function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

function report(e: unknown): void {
  if (e instanceof CompileError) process.stderr.write(e.frame + '\n');
  else process.stderr.write(`nngpc: ${(e as Error).message}\n`);
}

function compileFile(file: string, o: Opts): 'ok' | 'stale' | 'error' {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`nngpc: cannot read ${file}: ${(e as Error).message}\n`);
    return 'error';
  }
  const out = outputPath(file, o);
  if (resolve(out) === resolve(file)) {
    process.stderr.write(`nngpc: refusing to overwrite the source ${file}; use -o DIR\n`);
    return 'error';
  }
  try {
    const name = relative(process.cwd(), file) || file;
    const k = compile(source, { params: o.params, filename: name, target: o.target });
    if (o.check) {
      if (!existsSync(out) || readFileSync(out, 'utf8') !== k.code) {
        process.stderr.write(`nngpc: ${out} is ${existsSync(out) ? 'stale' : 'missing'} (run nngpc compile ${file})\n`);
        return 'stale';
      }
      return 'ok';
    }
    if (existsSync(out) && readFileSync(out, 'utf8') === k.code) return 'ok';
    writeAtomic(out, k.code);
    process.stdout.write(`${file} -> ${out}\n`);
    return 'ok';
  } catch (e) {
    report(e);
    return 'error';
  }
}

function cmdCompile(o: Opts): number {
  if (!o.rest.length) throw new UsageError('compile needs at least one file or glob');
  const files = [...new Set(o.rest.flatMap(expandGlob))];
  if (!files.length) throw new UsageError(`no files match ${o.rest.join(' ')}`);
  if (o.outFile && files.length > 1) throw new UsageError('--out-file takes exactly one source');
  const run = () => files.map((f) => compileFile(f, o));
  const results = run();
  if (o.watch) {
    process.stdout.write(`watching ${files.length} file${files.length === 1 ? '' : 's'} (Ctrl-C to stop)\n`);
    for (const f of files) {
      let timer: NodeJS.Timeout | undefined;
      watch(f, () => {
        clearTimeout(timer);
        timer = setTimeout(() => compileFile(f, o), 50);
      });
    }
    return -1;
  }
  return results.every((r) => r === 'ok') ? 0 : 1;
}

function cmdDerive(o: Opts): number {
  const [arg] = o.rest;
  if (arg === undefined || o.rest.length > 1) throw new UsageError('derive takes one file, expression, or -');
  let source: string;
  let name: string;
  if (arg === '-') {
    source = readFileSync(0, 'utf8');
    name = '<stdin>';
  } else if (existsSync(arg) && statSync(arg).isFile()) {
    source = readFileSync(arg, 'utf8');
    name = arg;
  } else {
    source = arg;
    name = '<expression>';
  }
  try {
    const k = compile(source, { params: o.params, filename: name, target: 'js' });
    process.stdout.write(k.derivative + '\n');
    return 0;
  } catch (e) {
    report(e);
    return 1;
  }
}

function readSources(o: Opts): { file: string; source: string; entry: CatalogEntry }[] {
  if (!o.rest.length) throw new UsageError('needs at least one file or glob');
  const files = [...new Set(o.rest.flatMap(expandGlob))];
  if (!files.length) throw new UsageError(`no files match ${o.rest.join(' ')}`);
  return files.map((file) => {
    const source = readFileSync(file, 'utf8');
    return { file, source, entry: parseCatalogFile(basename(file, extname(file)), source) };
  });
}

function cmdVerify(o: Opts): number {
  let failed = false;
  const rows: string[][] = [
    ['file', 'points', 'nngp vs E[f f]', 'worst at (cov12, var1, var2)', "d vs E[f' f']", 'worst at'],
  ];
  for (const { file, source, entry } of readSources(o)) {
    const fn = o.fn ?? entry.fn;
    if (!fn) {
      process.stderr.write(`nngpc: ${file} has no '# fn:' line; give the activation with --fn\n`);
      failed = true;
      continue;
    }
    try {
      const r = verify(source, {
        fn,
        params: o.params,
        filename: file,
        points: o.points,
        unitVariance: entry.unitVariance,
        jump: entry.jump,
      });
      const at = (d: { at: { cov12: number; var1: number; var2: number } }) =>
        `(${d.at.cov12.toPrecision(4)}, ${d.at.var1.toPrecision(4)}, ${d.at.var2.toPrecision(4)})`;
      rows.push([
        file,
        String(r.points),
        r.nngp.worst.toExponential(1),
        at(r.nngp),
        r.dNngp ? r.dNngp.worst.toExponential(1) : 'skipped (f jumps)',
        r.dNngp ? at(r.dNngp) : '',
      ]);
      if (!(r.nngp.worst < 1e-8) || (r.dNngp && !(r.dNngp.worst < 1e-8))) failed = true;
    } catch (e) {
      report(e);
      failed = true;
    }
  }
  process.stdout.write(table(rows));
  return failed ? 1 : 0;
}

function cmdAccuracy(o: Opts): number {
  let failed = false;
  const rows: string[][] = [['file', ...GROUPS.map((g) => `${g} nngp / d`), 'non-finite', 'undecided']];
  const missed: string[] = [];
  for (const { file, source, entry } of readSources(o)) {
    try {
      const a = accuracy(source, {
        params: o.params,
        filename: file,
        points: o.points,
        unitVariance: entry.unitVariance,
      });
      const cell = (b: { mean: number; max: number }) => `${b.mean.toFixed(2)}/${b.max.toFixed(1)}`;
      const nonFinite = GROUPS.reduce((n, g) => n + a.groups[g].nonFinite, 0) + a.zero.nonFinite;
      const undecided = GROUPS.reduce((n, g) => n + a.groups[g].undecided, 0);
      rows.push([
        file,
        ...GROUPS.map((g) => `${cell(a.groups[g].nngp)} · ${cell(a.groups[g].dNngp)}`),
        String(nonFinite),
        String(undecided),
      ]);
      for (const m of misses(a)) missed.push(`${file}: ${m}`);
    } catch (e) {
      report(e);
      failed = true;
    }
  }
  process.stdout.write(
    table(rows) +
      'bits of error against the source as written, mean/max (0 = correctly rounded); target mean <= 1, max <= 8\n',
  );
  if (missed.length) {
    process.stdout.write(missed.map((m) => `miss: ${m}`).join('\n') + '\n');
    failed = true;
  }
  return failed ? 1 : 0;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map(
        (r, k) =>
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd() + (k === 0 ? '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : ''),
      )
      .join('\n') + '\n'
  );
}

export function main(argv: string[]): number {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      process.stdout.write(VERSION + '\n');
      return 0;
    }
    const o = parseArgs(rest);
    if (cmd === 'compile') return cmdCompile(o);
    if (cmd === 'derive') return cmdDerive(o);
    if (cmd === 'verify') return cmdVerify(o);
    if (cmd === 'accuracy') return cmdAccuracy(o);
    throw new UsageError(`unknown command '${cmd}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`nngpc: ${e.message}\nRun 'nngpc --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`nngpc: internal error: ${(e as Error).message}\n`);
    return 1;
  }
}

const code = main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
