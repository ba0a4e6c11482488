// The emit pass: evaluation trees → a self-contained TypeScript (or JavaScript) module exporting
// nngp, dNngp and the fused kernel. Three layers: the double-double writer (ddasm.ts), the
// values of evaluation trees as statements (values.ts), and the module writer (module.ts), over
// a small statement IR (code.ts). The text is built only from the IR: identifiers generated,
// numbers printed as round-trip literals, comments sanitized. Deterministic: the same trees
// give byte-identical text.
export { commentText, literal, type Target } from './code.js';
export {
  VERSION,
  buildModule,
  emitModule,
  printModule,
  type EmitInput,
  type ModuleParts,
  type PrintOptions,
} from './module.js';
export { DOMAIN_BOUND, inDomain, interiorDomainOf, withOnGap, type InteriorDomain } from './parts.js';
