// nngpc: the programmatic API. This entry point never loads the TypeScript compiler.
export { compile, derive, fromActivation, instantiate } from './compile.js';
export { CompileError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { parse } from './parse.js';
export { lower } from './lower.js';
export { differentiate, DERIVATIVES } from './differentiate.js';
export { simplify, IDENTITIES } from './simplify.js';
export { stabilize, REWRITES } from './stabilize.js';
export { buildModule, emitModule, printModule, VERSION } from './emit/index.js';
export type { ModuleParts, PrintOptions } from './emit/index.js';
export { toMath } from './print.js';
export type {
  ClosedFormIR,
  CompiledKernel,
  MixtureIR,
  CompileOptions,
  Expr,
  KernelInput,
  KernelOptions,
  KernelOutput,
  Program,
} from './types.js';
export { activations, catalog, compileActivation } from './catalog.js';
export type { CatalogEntry } from './catalog.js';
export { verify, gaussianExpectation } from './verify.js';
export type { VerifyReport, VerifyOptions } from './verify.js';
export { accuracy, meaning, measureKernel, misses, truthTable, TARGET } from './accuracy.js';
export type { AccuracyReport, AccuracyOptions, GroupAccuracy, TruthTable } from './accuracy.js';
export { truthAt } from './truth.js';
export type { Truth } from './truth.js';
export { bitsOfError } from './measure.js';
export { HP, evaluateHP, hpFromDouble } from './evaluate.js';
export { GROUPS, samplePoints } from './measure.js';
export { clearMemos } from './memo.js';
export { choose } from './choose.js';
export type { Choice, Selection } from './choose.js';
export { meaningOf } from './meaning.js';
