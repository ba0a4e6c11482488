// `nngpc derive`: the simplified d nngp / d cov12 of a file, an expression, or stdin.
import { existsSync, statSync } from 'node:fs';
import { compile } from '../compile.js';
import { readSource, UnreadableSource } from '../readsource.js';
import { UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { errorJson, printError, printJson, printWarnings } from './report.js';
import { paramsOption, PARAMS_OPTION } from './params.js';

export const DERIVE: CommandSpec = {
  name: 'derive',
  synopsis: "derive <file | 'expression' | -> [options]",
  summary: 'Prints the simplified d nngp / d cov12 of a source file, of an expression, or of stdin (-).',
  options: [PARAMS_OPTION, { flag: '--json', help: 'print the map, its derivative and where it came from as JSON' }],
  notes: ["Example: nngpc derive 'cov12^2 * a' --params a=3"],
};

/** Does the argument look like a path rather than an expression (so a missing file is not compiled as math)? */
const looksLikePath = (arg: string) => /\.(nngp|py|txt|math)$/i.test(arg) || /[/\\]/.test(arg.replace(/\s/g, ''));

export function runDerive(args: ParsedArgs): number {
  const [arg] = args.rest;
  if (arg === undefined || args.rest.length > 1) throw new UsageError('derive takes one file, expression, or -');
  const params = paramsOption(args);
  const json = args.flags.has('--json');
  let source: string;
  let name: string;
  try {
    if (arg === '-') {
      source = readSource(0);
      name = '<stdin>';
    } else if (existsSync(arg) && statSync(arg).isFile()) {
      source = readSource(arg);
      name = arg;
    } else if (looksLikePath(arg)) {
      throw new UnreadableSource(arg, existsSync(arg) ? 'is not a file' : 'no such file');
    } else {
      source = arg;
      name = '<expression>';
    }
    const k = compile(source, { params, filename: name, target: 'js' });
    printWarnings(k.warnings);
    if (json)
      printJson({
        source: name,
        nngp: k.simplified,
        dNngp: k.derivative,
        derivativeSource: k.ir.derivativeSource,
        warnings: k.warnings,
      });
    else process.stdout.write(k.derivative + '\n');
    return 0;
  } catch (e) {
    printError(e);
    if (json) printJson({ source: arg, error: errorJson(e) });
    return 1;
  }
}
