// --params a=1,b=0.5 (repeatable), shared by every subcommand.
import { CompileError } from '../errors.js';
import { parseParams } from '../sourcefile.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';

export const PARAMS_OPTION: OptionSpec = {
  flag: '--params',
  value: 'a=1,b=0.5',
  example: 'alpha=0.5',
  help: "constants of the source (over its '# params:' lines)",
};

export function paramsOption(args: ParsedArgs): Record<string, number> {
  const out: Record<string, number> = {};
  for (const text of args.values.get('--params') ?? []) {
    try {
      Object.assign(out, parseParams(text));
    } catch (e) {
      if (e instanceof CompileError) throw new UsageError(`--params: ${e.reason}`);
      throw e;
    }
  }
  return out;
}
