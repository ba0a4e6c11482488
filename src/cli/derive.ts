// `nngpc derive`: the simplified d nngp / d cov12 of a file, an expression, or stdin.
import { existsSync, statSync } from 'node:fs';
import { compile, fromActivation } from '../compile.js';
import { CompileError } from '../errors.js';
import { readSource, UnreadableSource } from '../readsource.js';
import { lastValue, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { errorJson, printError, printJson, printWarnings } from './report.js';
import { paramsOption, PARAMS_OPTION } from './params.js';

export const DERIVE: CommandSpec = {
  name: 'derive',
  synopsis: "derive <file | 'expression' | -> [options]   or   derive --fn 'activation in x' [options]",
  summary:
    'Prints the simplified d nngp / d cov12 of a source file, of an expression, or of stdin (-); with --fn, the kernel nngp_fn = E[f(x1) f(x2)] of an activation and its derivative.',
  options: [
    PARAMS_OPTION,
    {
      flag: '--fn',
      value: 'EXPR',
      example: "'relu(x) + 0.25*x'",
      help: 'the activation f(x): derive its kernel (closed forms by the table of expectations)',
    },
    { flag: '--json', help: 'print the map, its derivative and where it came from as JSON' },
  ],
  notes: ["Example: nngpc derive 'cov12^2 * a' --params a=3", "Example: nngpc derive --fn 'erf(x) + 0.5*x'"],
};

/**
 * Could the argument be a path (so a missing file is reported as one, not compiled as math)? A
 * source extension, or a separator in text with no expression's characters: `cov12/2` could be
 * either (it compiles, so it is an expression), `sqrt(var1*var2) * exp(cov12/2)` only math.
 */
const looksLikePath = (arg: string) =>
  /\.(nngp|py|txt|math)$/i.test(arg) || /^[\w.~\-/\\]*[/\\][\w.~\-/\\]*$/.test(arg);

export function runDerive(args: ParsedArgs): number {
  const fn = lastValue(args, '--fn');
  if (fn !== undefined) return deriveActivation(fn, args);
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
    } else if (existsSync(arg) || /\.(nngp|py|txt|math)$/i.test(arg)) {
      throw new UnreadableSource(arg, existsSync(arg) ? 'is not a file' : 'no such file');
    } else {
      source = arg;
      name = '<expression>';
    }
    const k = compileOrMissing(source, name, arg, params);
    printWarnings(k.warnings);
    if (json)
      printJson({
        source: name,
        nngp: k.simplified,
        dNngp: k.derivative,
        derivativeSource: 'derivativeSource' in k.ir ? k.ir.derivativeSource : 'scale mixture',
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

/** The source compiled; an argument that could be a path and is no valid expression is a missing file. */
function compileOrMissing(source: string, name: string, arg: string, params: ReturnType<typeof paramsOption>) {
  try {
    return compile(source, { params, filename: name, target: 'js' });
  } catch (e) {
    // Neither: named as the missing file it may be, with what it says as an expression.
    if (name === '<expression>' && looksLikePath(arg) && e instanceof CompileError)
      throw new UnreadableSource(arg, `no such file (as an expression: ${e.message.split('\n')[0]})`);
    throw e;
  }
}

/** derive --fn: the activation's kernel (printed: it is what a user would otherwise look up) and its derivative. */
function deriveActivation(fn: string, args: ParsedArgs): number {
  if (args.rest.length) throw new UsageError('derive --fn takes no file or expression besides the activation');
  const json = args.flags.has('--json');
  try {
    const k = fromActivation(fn, { params: paramsOption(args), target: 'js' });
    if (json) printJson({ fn, nngp: k.simplified, dNngp: k.derivative });
    else
      process.stdout.write(`nngp_fn(cov12, var1, var2) = ${k.simplified}\nd nngp / d cov12        = ${k.derivative}\n`);
    return 0;
  } catch (e) {
    printError(e);
    if (json) printJson({ fn, error: errorJson(e) });
    return 1;
  }
}
