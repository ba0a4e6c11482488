// `nngpc compile`: one module per source; --check compares instead of writing; --watch
// recompiles as sources change, are saved atomically, or appear.
import { existsSync, readFileSync, watch as watchFs, type FSWatcher } from 'node:fs';
import { dirname, relative } from 'node:path';
import { compile } from '../compile.js';
import { readSource } from '../readsource.js';
import { lastValue, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { expandBraces, expandInputs, globRoot, outputPaths, writeAtomic } from './files.js';
import { errorJson, printError, printJson, printWarnings, shellWord } from './report.js';
import { paramsOption, PARAMS_OPTION } from './params.js';

export const COMPILE: CommandSpec = {
  name: 'compile',
  synopsis: 'compile <files or globs...> [options]',
  summary: [
    'Writes one module per source: foo.nngp -> foo.ts beside it, or under --out-dir with the',
    "sources' directories kept. Globs: *, **, ?, {a,b} (quote them so the shell leaves them alone).",
  ].join('\n'),
  options: [
    { flag: '--out-dir', short: '-o', value: 'DIR', example: 'gen', help: 'write the modules under DIR' },
    { flag: '--out-file', value: 'FILE', example: 'src/kernel.ts', help: 'write the one source to FILE' },
    PARAMS_OPTION,
    { flag: '--target', value: 'ts|js', example: 'js', help: 'emit TypeScript (default) or JavaScript' },
    {
      flag: '--gradients',
      value: 'NAMES',
      example: 'alpha,beta',
      help: 'also export gradients[name]: d nngp / d name and d^2 nngp / d cov12 d name',
    },
    { flag: '--check', help: 'write nothing; exit 1 if a module is missing or stale' },
    { flag: '--watch', help: 'recompile when a source changes or a new one matches; keep running on errors' },
    { flag: '--json', help: 'print the result per file as JSON' },
  ],
  notes: ['Exit codes: 0 ok, 1 compile errors or stale modules, 2 usage.'],
};

type Status = 'written' | 'up to date' | 'stale' | 'missing' | 'error';

interface FileResult {
  readonly source: string;
  readonly output: string;
  readonly status: Status;
  readonly error?: ReturnType<typeof errorJson>;
}

export function runCompile(args: ParsedArgs, argv: readonly string[]): number {
  const outDir = lastValue(args, '--out-dir');
  const outFile = lastValue(args, '--out-file');
  const target = lastValue(args, '--target') ?? 'ts';
  const gradients = lastValue(args, '--gradients')
    ?.split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  if (target !== 'ts' && target !== 'js') throw new UsageError(`compile: --target must be ts or js, not '${target}'`);
  const check = args.flags.has('--check');
  const watch = args.flags.has('--watch');
  const json = args.flags.has('--json');
  if (outDir !== undefined && outFile !== undefined)
    throw new UsageError('compile: give --out-dir or --out-file, not both');
  if (watch && check) throw new UsageError('compile: --watch and --check do not go together');
  if (watch && json) throw new UsageError('compile: --watch and --json do not go together');
  if (!args.rest.length) throw new UsageError('compile needs at least one file or glob');
  const params = paramsOption(args);
  const plan = { outDir, outFile, extension: target } as const;

  const inputs = expandInputs(args.rest);
  for (const s of inputs.skipped) process.stderr.write(`nngpc: skipped ${s}\n`);
  if (outFile !== undefined && inputs.files.length > 1)
    throw new UsageError(`compile: --out-file takes exactly one source, got ${inputs.files.length}`);
  const outputs = outputPaths(inputs.files, plan);
  // The command that brings a stale module up to date: this one, without --check.
  const fix = `nngpc ${argv
    .filter((a) => a !== '--check' && a !== '--json')
    .map(shellWord)
    .join(' ')}`;

  const compileOne = (source: string, output: string): FileResult => {
    try {
      const text = readSource(source);
      const k = compile(text, {
        params,
        filename: relative(process.cwd(), source) || source,
        target,
        ...(gradients ? { gradients } : {}),
      });
      printWarnings(k.warnings);
      const current = existsSync(output) ? readFileSync(output, 'utf8') : undefined;
      if (current === k.code) return { source, output, status: 'up to date' };
      if (check) {
        const status = current === undefined ? 'missing' : 'stale';
        process.stderr.write(`nngpc: ${output} is ${status} (run ${fix})\n`);
        return { source, output, status };
      }
      writeAtomic(output, k.code);
      if (!json) process.stdout.write(`${source} -> ${output}\n`);
      return { source, output, status: 'written' };
    } catch (e) {
      printError(e);
      return { source, output, status: 'error', error: errorJson(e) };
    }
  };

  const results = inputs.files.map((f) => compileOne(f, outputs.get(f)!));
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  const summary = {
    files: results.length,
    written: count('written'),
    upToDate: count('up to date'),
    stale: count('stale') + count('missing'),
    errors: count('error'),
  };
  if (json) printJson({ files: results, summary });
  else {
    const parts = check
      ? [`${summary.upToDate} up to date`, `${summary.stale} stale or missing`]
      : [`${summary.written} written`, `${summary.upToDate} up to date`];
    if (summary.errors) parts.push(`${summary.errors} failed`);
    process.stdout.write(`${check ? 'checked' : 'compiled'} ${plural(results.length, 'file')}: ${parts.join(', ')}\n`);
  }
  if (watch) {
    startWatching(args.rest, plan, compileOne);
    return -1;
  }
  return summary.errors || summary.stale ? 1 : 0;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Watches the directories the sources live in (not the files: an editor's atomic save replaces
 * the file, and a watch on it would go deaf), re-expands the globs on every change, and
 * compiles each source whose text changed or that is new.
 */
function startWatching(
  patterns: readonly string[],
  plan: Parameters<typeof outputPaths>[1],
  compileOne: (source: string, output: string) => FileResult,
): void {
  const lastText = new Map<string, string>();
  const remember = () => {
    for (const f of currentFiles()) {
      try {
        lastText.set(f, readSource(f));
      } catch {
        lastText.delete(f);
      }
    }
  };
  const currentFiles = (): string[] => {
    try {
      return expandInputs(patterns).files;
    } catch {
      return patterns.flatMap(expandBraces).filter((p) => !/[*?]/.test(p) && existsSync(p));
    }
  };
  remember();
  const rescan = () => {
    const files = currentFiles();
    let outputs: Map<string, string>;
    try {
      outputs = outputPaths(files, plan);
    } catch (e) {
      process.stderr.write(`nngpc: ${(e as Error).message}\n`);
      return;
    }
    for (const f of files) {
      let text: string | undefined;
      try {
        text = readSource(f);
      } catch {
        text = undefined; // mid-save, or gone: the next event tells
      }
      if (text === undefined || lastText.get(f) === text) continue;
      lastText.set(f, text);
      compileOne(f, outputs.get(f)!);
    }
  };
  const dirs = new Map<string, boolean>();
  for (const p of patterns.flatMap(expandBraces)) {
    const glob = /[*?]/.test(p);
    const dir = glob ? globRoot(p) : dirname(p);
    const deep = glob && p.slice(dir.length + 1).includes('/');
    dirs.set(dir, (dirs.get(dir) ?? false) || deep);
  }
  let timer: NodeJS.Timeout | undefined;
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(rescan, 50);
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, recursive] of dirs) {
    try {
      watchers.push(watchFs(dir, { recursive }, onChange));
    } catch (e) {
      process.stderr.write(`nngpc: cannot watch ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    }
  }
  const where = dirs.size === 1 ? `directory ${[...dirs.keys()][0]}` : `${dirs.size} directories`;
  process.stdout.write(`watching ${where} (Ctrl-C to stop)\n`);
}
