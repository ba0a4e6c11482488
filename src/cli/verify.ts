// `nngpc verify`: each map against quadrature of E[f(x1) f(x2)] (and its derivative against
// E[f'(x1) f'(x2)]), f from --fn or the file's '# fn:' line.
import { basename, extname } from 'node:path';
import { parseCatalogFile } from '../catalog.js';
import { readSource } from '../readsource.js';
import { verify, type VerifyReport } from '../verify.js';
import { lastValue, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { expandInputs } from './files.js';
import { errorJson, printError, printJson, Progress, table } from './report.js';
import { paramsOption, PARAMS_OPTION } from './params.js';

export const POINTS_OPTION = {
  flag: '--points',
  value: 'N',
  example: '20',
  help: 'sample points (1 to 100000)',
} as const;

export const VERIFY: CommandSpec = {
  name: 'verify',
  synopsis: 'verify <files or globs...> [options]',
  summary: [
    "Checks nngp against E[f(x1) f(x2)] and its derivative against E[f'(x1) f'(x2)] by quadrature,",
    "at interior points, near |rho| = 1 and on the diagonal; f from --fn or the file's '# fn:' line.",
    'A source without either is skipped, and said so.',
  ].join('\n'),
  options: [
    { flag: '--fn', value: 'EXPR', example: "'max(x, 0)'", help: 'the activation f(x), in x' },
    PARAMS_OPTION,
    POINTS_OPTION,
    { flag: '--json', help: 'print the result per file as JSON' },
  ],
  notes: ['Exit codes: 0 every verified file within 1e-8 relative, 1 otherwise or if none could be verified, 2 usage.'],
};

export function pointsOption(args: ParsedArgs): number | undefined {
  const text = lastValue(args, '--points');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new UsageError(`--points takes a whole number from 1 to 100000, not '${text}'`);
  return n;
}

type Row =
  | { file: string; status: 'ok' | 'failed'; report: VerifyReport }
  | { file: string; status: 'skipped'; reason: string }
  | { file: string; status: 'error'; error: ReturnType<typeof errorJson> };

export function runVerify(args: ParsedArgs): number {
  if (!args.rest.length) throw new UsageError('verify needs at least one file or glob');
  const params = paramsOption(args);
  const points = pointsOption(args);
  const fnOption = lastValue(args, '--fn');
  const json = args.flags.has('--json');
  const { files, skipped } = expandInputs(args.rest);
  for (const s of skipped) process.stderr.write(`nngpc: skipped ${s}\n`);
  const progress = new Progress('verifying', files.length);
  const rows: Row[] = files.map((file, i) => {
    progress.step(i, file);
    try {
      const source = readSource(file);
      const entry = parseCatalogFile(basename(file, extname(file)), source);
      const fn = fnOption ?? entry.fn;
      if (!fn) return { file, status: 'skipped', reason: "no '# fn:' line (give the activation with --fn)" };
      const report = verify(source, {
        fn,
        params,
        filename: file,
        points,
        unitVariance: entry.unitVariance,
        jump: entry.jump,
      });
      const ok = report.nngp.worst < 1e-8 && (!report.dNngp || report.dNngp.worst < 1e-8);
      return { file, status: ok ? 'ok' : 'failed', report };
    } catch (e) {
      progress.done();
      printError(e);
      return { file, status: 'error', error: errorJson(e) };
    }
  });
  progress.done();
  const verified = rows.filter((r) => r.status === 'ok' || r.status === 'failed').length;
  const failed = rows.some((r) => r.status === 'failed' || r.status === 'error') || verified === 0;
  if (json) printJson({ files: rows, ok: !failed });
  else {
    const at = (d: { at: { cov12: number; var1: number; var2: number } }) =>
      `(${d.at.cov12.toPrecision(4)}, ${d.at.var1.toPrecision(4)}, ${d.at.var2.toPrecision(4)})`;
    const lines: string[][] = [
      ['file', 'points', 'nngp vs E[f f]', 'worst at (cov12, var1, var2)', "d vs E[f' f']", 'worst at'],
    ];
    for (const r of rows) {
      if (r.status === 'skipped') lines.push([r.file, '-', `skipped: ${r.reason}`]);
      else if (r.status === 'error') lines.push([r.file, '-', `error: ${r.error.message}`]);
      else {
        const { report } = r;
        lines.push([
          r.file,
          String(report.points),
          report.nngp.worst.toExponential(1),
          at(report.nngp),
          report.dNngp ? report.dNngp.worst.toExponential(1) : 'skipped (f jumps)',
          report.dNngp ? at(report.dNngp) : '',
        ]);
      }
    }
    process.stdout.write(table(lines));
    const skips = rows.length - verified - rows.filter((r) => r.status === 'error').length;
    process.stdout.write(
      `verified ${verified} of ${rows.length} file${rows.length === 1 ? '' : 's'}` +
        `${skips ? ` (${skips} skipped)` : ''}: ${failed ? (verified ? 'FAILED' : 'nothing verified') : 'all within 1e-8'}\n`,
    );
  }
  return failed ? 1 : 0;
}
