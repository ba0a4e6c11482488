// Directives of an .nngp file (grammar/nngp.ebnf, "Directives"): `# params: a=1, b=0.5`, `# range: n = 0..3`.
import { CompileError, locAt } from './errors.js';

/** Parses `a=1,b=0.5` (as given to --params or in a directive). */
export function parseParams(text: string, source = text, offset = 0, filename = '<params>'): Record<string, number> {
  const out: Record<string, number> = {};
  let pos = 0;
  for (const part of text.split(',')) {
    const at = offset + pos;
    pos += part.length + 1;
    if (part.trim() === '') continue;
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(part);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value)) {
      throw new CompileError(
        'E_PARAM',
        `bad param '${part.trim()}': expected name=number`,
        source,
        locAt(source, at + (part.length - part.trimStart().length), Math.max(1, part.trim().length)),
        filename,
      );
    }
    out[m[1]!] = value;
  }
  return out;
}

/** The params bound by `# params:` directives of a source file. */
export function fileParams(source: string, filename = '<input>'): Record<string, number> {
  const out: Record<string, number> = {};
  const re = /^[ \t]*#[ \t]*params:(.*)$/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const start = m.index + m[0].indexOf(':') + 1;
    Object.assign(out, parseParams(m[1]!, source, start, filename));
  }
  return out;
}

/**
 * The params a source compiles with: its `# params:` directives, overridden by the caller's
 * (options.params, --params, the plugin's options). The one place they are merged.
 */
export function effectiveParams(
  source: string,
  filename: string,
  overrides: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const params = { ...fileParams(source, filename), ...overrides };
  checkRanges(source, filename, params);
  return params;
}

/**
 * `# range: n = 0..3`: the integers a param's map covers (a catalog file whose map is a chain of
 * cases, RectifiedMonomial's J_0..J_3, would otherwise give its last case for n = 4: a wrong
 * kernel, silently). A value outside is an E_PARAM error located at the directive.
 */
function checkRanges(source: string, filename: string, params: Readonly<Record<string, number>>): void {
  const re = /^[ \t]*#[ \t]*range:[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(-?\d+)[ \t]*\.\.[ \t]*(-?\d+)[ \t]*$/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const [name, lo, hi] = [m[1]!, Number(m[2]), Number(m[3])];
    const v = params[name];
    if (v === undefined || (Number.isInteger(v) && v >= lo && v <= hi)) continue;
    throw new CompileError(
      'E_PARAM',
      `param ${name} = ${v} is outside this map's range: an integer from ${lo} to ${hi}`,
      source,
      locAt(source, m.index + m[0].indexOf('range:'), m[0].trim().length),
      filename,
    );
  }
}
