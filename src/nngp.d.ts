// Types of `import kernel from './x.nngp'` (add `/// <reference types="nngpc/client" />`, or
// "types": ["nngpc/client"] in tsconfig.json).
declare module '*.nngp' {
  export interface KernelInput {
    readonly nngp: Float64Array;
    readonly ntk?: Float64Array;
    readonly cov1: Float64Array;
    readonly cov2?: Float64Array;
  }
  export interface KernelOutput {
    nngp: Float64Array;
    ntk?: Float64Array;
    cov1: Float64Array;
    cov2?: Float64Array;
  }
  export interface KernelOptions {
    /** Arrays to write the results into (the input's sizes), returned as the result: nothing allocated. */
    readonly out?: KernelOutput;
  }
  /** nngp_fn(cov12, var1, var2). */
  export function nngp(cov12: number, var1: number, var2: number): number;
  /** d nngp_fn / d cov12. */
  export function dNngp(cov12: number, var1: number, var2: number): number;
  /** The layer's kernel map, neural-tangents semantics. */
  export function kernel(input: KernelInput, options?: KernelOptions): KernelOutput;
  const compiled: { nngp: typeof nngp; dNngp: typeof dNngp; kernel: typeof kernel };
  export default compiled;
}
