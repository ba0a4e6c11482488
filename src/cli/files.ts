// The files of a CLI run: inputs from paths and globs (*, **, ?, {a,b}), where each output
// goes (beside its source, mirrored under --out-dir as tsc's outDir does, or --out-file), and
// writes that never leave a half-written file.
import { mkdirSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { UsageError } from './args.js';

const GLOB_CHARS = /[*?{]/;

/** `a/{b,c}/*.nngp` → `a/b/*.nngp`, `a/c/*.nngp` (nested braces too); no braces: itself. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{' && depth++ === 0) open = i;
    else if (c === '}' && depth > 0 && --depth === 0) {
      const parts: string[] = [];
      let d = 0;
      let from = open + 1;
      for (let j = open + 1; j < i; j++) {
        const cj = pattern[j];
        if (cj === '{') d++;
        else if (cj === '}') d--;
        else if (cj === ',' && d === 0) {
          parts.push(pattern.slice(from, j));
          from = j + 1;
        }
      }
      parts.push(pattern.slice(from, i));
      if (parts.length < 2) continue; // `{x}` is literal, as in the shell
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      return parts.flatMap((p) => expandBraces(head + p + tail));
    }
  }
  return [pattern];
}

function segmentRegExp(segment: string): RegExp {
  return new RegExp(
    '^' +
      segment
        .replace(/[.+^$()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]') +
      '$',
  );
}

/** The directory a glob is rooted at (its segments before the first one with a wildcard). */
export function globRoot(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  while (parts.length > 1 && !GLOB_CHARS.test(parts[0]!)) fixed.push(parts.shift()!);
  return fixed.join('/') || (pattern.startsWith('/') ? '/' : '.');
}

export interface Inputs {
  readonly files: string[];
  /** What was skipped and why (a broken symbolic link, a link loop). */
  readonly skipped: string[];
}

/**
 * Files matching a glob (no braces: expandBraces first). Hidden entries and node_modules are
 * not searched; an entry that cannot be read (a broken symbolic link, a loop) is skipped and
 * reported, the other files are still found.
 */
function matchGlob(pattern: string, skipped: string[]): string[] {
  const root = globRoot(pattern);
  const segments = (root === '.' && !pattern.startsWith('./') ? pattern : pattern.slice(root.length + 1)).split('/');
  const out: string[] = [];
  const shown = (rel: string) => (root === '.' && !pattern.startsWith('./') ? rel : `${root}/${rel}`);
  const seen = new Set<string>();
  const walk = (dir: string, rel: string, k: number) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    const key = `${real}\0${k}`;
    if (seen.has(key)) return; // a directory reached again through a link: a loop
    seen.add(key);
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    const seg = segments[k]!;
    const last = k === segments.length - 1;
    if (seg === '**') {
      if (!last) walk(dir, rel, k + 1); // ** matches no directory at all
      for (const e of entries) {
        if (e === 'node_modules' || e.startsWith('.')) continue;
        const full = join(dir, e);
        const r = rel ? `${rel}/${e}` : e;
        if (isDirectory(full, shown(r), skipped)) walk(full, r, k);
      }
      return;
    }
    const re = segmentRegExp(seg);
    for (const e of entries) {
      if (!re.test(e) || (e.startsWith('.') && !seg.startsWith('.')) || e === 'node_modules') continue;
      const full = join(dir, e);
      const r = rel ? `${rel}/${e}` : e;
      const isDir = isDirectory(full, shown(r), skipped);
      if (isDir === undefined) continue;
      if (last && !isDir) out.push(shown(r));
      else if (!last && isDir) walk(full, r, k + 1);
    }
  };
  walk(root, '', 0);
  return out;
}

/** Is `full` a directory (following links)? undefined, reported, where it cannot be told. */
function isDirectory(full: string, shown: string, skipped: string[]): boolean | undefined {
  try {
    return statSync(full).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    skipped.push(
      `${shown}: ${code === 'ELOOP' ? 'a symbolic link that loops' : code === 'ENOENT' ? 'a broken symbolic link' : `cannot be read (${code})`}`,
    );
    return undefined;
  }
}

/** The files that paths and globs name, in order, each once; a glob that matches nothing is a usage error. */
export function expandInputs(patterns: readonly string[]): Inputs {
  const files: string[] = [];
  const skipped: string[] = [];
  for (const pattern of patterns) {
    const expanded = expandBraces(pattern);
    const matched = expanded.flatMap((p) => (GLOB_CHARS.test(p) ? matchGlob(p, skipped) : [p]));
    if (!matched.length) throw new UsageError(`no files match '${pattern}'`);
    for (const f of matched) if (!files.includes(f)) files.push(f);
  }
  return { files, skipped };
}

export interface OutputPlan {
  readonly outDir?: string;
  readonly outFile?: string;
  readonly extension: 'ts' | 'js';
}

/**
 * Where each source's module goes: beside it, or under outDir with the sources' directory
 * structure below their common directory kept (as tsc's outDir). Two sources that would write
 * the same file, or an output that is a source, are a usage error naming both.
 */
export function outputPaths(files: readonly string[], plan: OutputPlan): Map<string, string> {
  const out = new Map<string, string>();
  const common = plan.outDir ? commonDirectory(files.map((f) => dirname(resolve(f)))) : '';
  const sources = new Set(files.map((f) => resolve(f)));
  const owner = new Map<string, string>();
  for (const file of files) {
    const stem = basename(file, extname(file));
    const path = plan.outFile
      ? plan.outFile
      : plan.outDir
        ? join(plan.outDir, relative(common, dirname(resolve(file))), `${stem}.${plan.extension}`)
        : join(dirname(file), `${stem}.${plan.extension}`);
    const key = resolve(path);
    if (sources.has(key))
      throw new UsageError(`the output for ${file} would overwrite the source ${path}; choose another --out-dir`);
    const other = owner.get(key);
    if (other !== undefined) throw new UsageError(`${other} and ${file} would both write ${path}`);
    owner.set(key, file);
    out.set(file, path);
  }
  return out;
}

function commonDirectory(dirs: readonly string[]): string {
  if (!dirs.length) return '.';
  let parts = dirs[0]!.split(sep);
  for (const d of dirs.slice(1)) {
    const q = d.split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

/** Writes via a temporary file and rename, so a failed run never leaves a half-written file. */
export function writeAtomic(path: string, text: string): void {
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
