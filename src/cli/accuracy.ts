// `nngpc accuracy`: bits of error of the emitted code against a high-precision evaluation of
// the source as written, per domain group.
import { basename, extname } from 'node:path';
import { accuracy, misses, type AccuracyReport } from '../accuracy.js';
import { parseCatalogFile } from '../catalog.js';
import { GROUPS } from '../measure.js';
import { readSource } from '../readsource.js';
import { UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { expandInputs } from './files.js';
import { errorJson, printError, printJson, Progress, table } from './report.js';
import { paramsOption, PARAMS_OPTION } from './params.js';
import { pointsOption, POINTS_OPTION } from './verify.js';

export const ACCURACY: CommandSpec = {
  name: 'accuracy',
  synopsis: 'accuracy <files or globs...> [options]',
  summary: [
    'Bits of error of the emitted code against a 50-digit (or higher, where needed) evaluation of',
    'the source as written, per domain group. Target: mean <= 1 and max <= 8 bits per group.',
  ].join('\n'),
  options: [PARAMS_OPTION, POINTS_OPTION, { flag: '--json', help: 'print the result per file as JSON' }],
  notes: ['Exit codes: 0 every file meets the target, 1 otherwise, 2 usage.'],
};

export function runAccuracy(args: ParsedArgs): number {
  if (!args.rest.length) throw new UsageError('accuracy needs at least one file or glob');
  const params = paramsOption(args);
  const points = pointsOption(args);
  const json = args.flags.has('--json');
  const { files, skipped } = expandInputs(args.rest);
  for (const s of skipped) process.stderr.write(`nngpc: skipped ${s}\n`);
  const progress = new Progress('measuring', files.length);
  type Row =
    { file: string; report: AccuracyReport; misses: string[] } | { file: string; error: ReturnType<typeof errorJson> };
  const rows = files.map((file, i): Row => {
    progress.step(i, file);
    try {
      const source = readSource(file);
      const entry = parseCatalogFile(basename(file, extname(file)), source);
      const report = accuracy(source, { params, filename: file, points, unitVariance: entry.unitVariance });
      return { file, report, misses: misses(report) };
    } catch (e) {
      progress.done();
      printError(e);
      return { file, error: errorJson(e) };
    }
  });
  progress.done();
  const failed = rows.some((r) => 'error' in r || r.misses.length > 0);
  if (json) {
    printJson({ files: rows, ok: !failed });
    return failed ? 1 : 0;
  }
  const cell = (b: { mean: number; max: number }) => `${b.mean.toFixed(2)}/${b.max.toFixed(1)}`;
  const lines: string[][] = [['file', ...GROUPS.map((g) => `${g} nngp / d`), 'non-finite', 'undecided']];
  const missed: string[] = [];
  for (const r of rows) {
    if ('error' in r) {
      lines.push([r.file, `error: ${r.error.message}`]);
      continue;
    }
    const a: AccuracyReport = r.report;
    const nonFinite = GROUPS.reduce((n, g) => n + a.groups[g].nonFinite, 0) + a.zero.nonFinite;
    const undecided = GROUPS.reduce((n, g) => n + a.groups[g].undecided, 0);
    lines.push([
      r.file,
      ...GROUPS.map((g) => `${cell(a.groups[g].nngp)} · ${cell(a.groups[g].dNngp)}`),
      String(nonFinite),
      String(undecided),
    ]);
    for (const m of r.misses) missed.push(`${r.file}: ${m}`);
  }
  process.stdout.write(
    table(lines) +
      'bits of error against the source as written, mean/max (0 = correctly rounded); target mean <= 1, max <= 8\n',
  );
  if (missed.length) process.stdout.write(missed.map((m) => `miss: ${m}`).join('\n') + '\n');
  return failed ? 1 : 0;
}
