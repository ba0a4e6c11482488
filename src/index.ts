// nngpc: the programmatic API. This entry point never loads the TypeScript compiler.
export { compile, derive, instantiate } from './compile.js';
export { CompileError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { parse } from './parse.js';
export { lower } from './ast.js';
export { differentiate, DERIVATIVES } from './differentiate.js';
export { simplify, IDENTITIES } from './simplify.js';
export { stabilize, REWRITES } from './stabilize.js';
export { emitModule, VERSION } from './emit.js';
export { toMath } from './print.js';
export type { CompiledKernel, CompileOptions, Expr, KernelInput, KernelOutput, Program } from './types.js';
export { activations, catalog, compileActivation } from './catalog.js';
export type { CatalogEntry } from './catalog.js';
export { verify, accuracy, gaussianExpectation, bitsOfError } from './verify.js';
export type { VerifyReport, VerifyOptions, AccuracyReport } from './verify.js';
export { HP, evaluateHP, hpFromDouble } from './evaluate.js';
export { GROUPS, samplePoints } from './measure.js';
