// The functions of the source language: their names, aliases and arity. The derivative
// of each lives in the table in differentiate.ts; identities in simplify.ts.

/** Source-level name → how it lowers. `core` names a core IR function; others are lowered by ast.ts. */
export interface FunctionInfo {
  readonly name: string;
  readonly arity: readonly [min: number, max: number];
  /** Per position, the keyword names NumPy and jax.numpy accept for it (`jnp.clip(x, a_min=-1)`). */
  readonly keywords: readonly (readonly string[])[];
}

const table: Record<string, FunctionInfo> = {};
/** Keyword names per position, by arity, where a function has no entry in KEYWORDS. */
const UNARY_KEYWORDS = [['x']];
const BINARY_KEYWORDS = [['x1'], ['x2']];
const KEYWORDS: Record<string, string[][]> = {
  clip: [
    ['a', 'x', 'arr'],
    ['a_min', 'min'],
    ['a_max', 'max'],
  ],
  where: [['condition'], ['x'], ['y']],
  gelu: [['x'], ['approximate']],
  _sqrt: [['x'], ['tol']],
  _arctan2: [['x'], ['y'], ['fill_zero']],
  atan2: [
    ['x1', 'y'],
    ['x2', 'x'],
  ],
  elu: [['x'], ['alpha']],
  leaky_relu: [['x'], ['negative_slope']],
  heaviside: [['x1', 'x'], ['x2']],
  celu: [['x'], ['alpha']],
  pow: [
    ['x1', 'base'],
    ['x2', 'exp'],
  ],
};

function def(name: string, arity: number | [number, number], ...aliases: string[]): void {
  const [lo, hi] = typeof arity === 'number' ? [arity, arity] : arity;
  const keywords = KEYWORDS[name] ?? (hi === 1 ? UNARY_KEYWORDS : hi === 2 ? BINARY_KEYWORDS : []);
  const info: FunctionInfo = { name, arity: [lo, hi], keywords };
  table[name] = info;
  for (const a of aliases) table[a] = info;
}

def('sqrt', 1);
def('exp', 1);
def('log', 1, 'ln');
def('log1p', 1);
def('expm1', 1);
def('sin', 1);
def('cos', 1);
def('tan', 1);
def('asin', 1, 'arcsin');
def('acos', 1, 'arccos');
def('atan', 1, 'arctan');
def('atan2', 2, 'arctan2');
def('sinh', 1);
def('cosh', 1);
def('tanh', 1);
def('erf', 1);
def('erfc', 1);
def('abs', 1, 'absolute', 'fabs');
def('sign', 1);
def('min', 2, 'minimum', 'fmin');
def('max', 2, 'maximum', 'fmax');
def('clip', [2, 3]); // a bound of None (or left out) is no bound
def('where', 3);
def('pow', 2, 'power');
def('square', 1);
// NumPy's and jax's spellings of arithmetic, lowered to the operators they name.
def('reciprocal', 1);
def('rsqrt', 1);
def('hypot', 2);
def('cbrt', 1);
def('log2', 1);
def('log10', 1);
def('exp2', 1);
def('add', 2);
def('subtract', 2);
def('multiply', 2);
def('divide', 2, 'true_divide');
def('negative', 1);
def('float64', 1, 'asarray');
def('relu', 1);
def('leaky_relu', [1, 2]); // jax.nn.leaky_relu(x, negative_slope=0.01)
def('heaviside', 2); // np.heaviside(x, h): 0, h, 1 for x <, =, > 0
def('ndtr', 1); // scipy's and jax's standard normal cdf
def('_sqrt', [1, 2]); // neural-tangents' stax._sqrt(x, tol=0.): sqrt(maximum(x, tol))
def('_arctan2', [2, 3]); // neural-tangents' stax._arctan2(x, y, fill_zero): arctan2, fill_zero at (0, 0)
def('gelu', [1, 2]); // jax.nn.gelu(x, approximate=True): the tanh approximation unless approximate=False
// The logistic family (jax.nn's names): lowered to exp and log, so every pass knows them.
def('sigmoid', 1, 'expit');
def('softplus', 1);
def('silu', 1, 'swish');
// The exponential linear units (jax.nn's definitions), lowered to where(x > 0, x, ...).
def('elu', [1, 2]);
def('celu', [1, 2]);
def('selu', 1);

/** Module prefixes a pasted neural-tangents function may use. Longest first. */
export const PREFIXES = [
  'neural_tangents.stax.',
  'jax.scipy.special.',
  'jax.numpy.',
  'scipy.special.',
  'jax.nn.',
  'jax.lax.',
  'nt.stax.',
  'numpy.',
  'jnp.',
  'np.',
  'math.',
  'sp.',
  'stax.',
];

/** Strips a known module prefix: `jnp.arcsin` → `arcsin`. */
export function stripPrefix(name: string): string {
  for (const p of PREFIXES) if (name.startsWith(p)) return name.slice(p.length);
  return name;
}

export function lookupFunction(name: string): FunctionInfo | undefined {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

export function knownFunctionNames(): string[] {
  return Object.keys(table).sort();
}

/** Named constants of the language. */
export const CONSTANTS = new Set(['pi', 'e']);

/** The known name nearest to `name` (edit distance ≤ 2), for "did you mean" hints. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = Math.min(
        dp[i - 1]![j]! + 1,
        dp[i]![j - 1]! + 1,
        dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return dp[a.length]![b.length]!;
}
