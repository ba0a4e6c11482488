// Prints a core expression in the plain math syntax of the source language, so that
// `compile(print(e))` reads it back. Used for `derivative` and for banners.
import * as E from './expr.js';
import * as Q from './rational.js';
import type { Expr, Rat } from './types.js';

const PREC = { add: 1, mul: 2, unary: 3, pow: 4, atom: 5 } as const;

export function toMath(e: Expr): string {
  return format(e).text;
}

interface Out {
  text: string;
  prec: number;
}

function ratText(v: Rat): Out {
  // Rationals that came from doubles (huge power-of-two denominators) print as the double.
  if (v.d > 1_000_000n || v.n > 10n ** 15n || v.n < -(10n ** 15n)) {
    const x = Q.toNumber(v);
    return { text: String(x), prec: x < 0 ? PREC.unary : PREC.atom };
  }
  if (v.d === 1n) return { text: v.n.toString(), prec: v.n < 0n ? PREC.unary : PREC.atom };
  return { text: `${v.n}/${v.d}`, prec: PREC.mul };
}

function wrapIf(o: Out, min: number): string {
  return o.prec < min ? `(${o.text})` : o.text;
}

function format(e: Expr): Out {
  switch (e.k) {
    case 'num':
      return ratText(e.v);
    case 'sym':
      return { text: e.name, prec: PREC.atom };
    case 'add': {
      let text = '';
      e.terms.forEach((t, i) => {
        const [c] = E.splitCoeff(t);
        if (i > 0 && c.n < 0n) text += ' - ' + wrapIf(format(E.scale(Q.rat(-1), t)), PREC.mul);
        else text += (i > 0 ? ' + ' : '') + wrapIf(format(t), PREC.add);
      });
      return { text, prec: PREC.add };
    }
    case 'mul': {
      const [c, rest] = E.splitCoeff(e);
      const fs = rest.k === 'mul' ? rest.factors : [rest];
      const numer: string[] = [];
      const denom: string[] = [];
      if (c.d > 1_000_000n || c.n > 10n ** 15n || c.n < -(10n ** 15n))
        numer.push(ratText(Q.rat(c.n < 0n ? -c.n : c.n, c.d)).text);
      else {
        if (c.n !== 1n && c.n !== -1n) numer.push((c.n < 0n ? -c.n : c.n).toString());
        if (c.d !== 1n) denom.push(c.d.toString());
      }
      for (const f of fs) {
        if (f.k === 'pow' && f.exp.k === 'num' && f.exp.v.n < 0n) {
          denom.push(wrapIf(format(E.pow(f.base, E.num(Q.neg(f.exp.v)))), PREC.pow));
        } else numer.push(wrapIf(format(f), PREC.mul + 0.5));
      }
      let text = numer.length ? numer.join('*') : '1';
      if (denom.length) text += '/' + (denom.length === 1 ? denom[0] : `(${denom.join('*')})`);
      if (c.n < 0n) return { text: '-' + text, prec: PREC.unary };
      return { text, prec: PREC.mul };
    }
    case 'pow': {
      if (e.exp.k === 'num') {
        const r = e.exp.v;
        if (r.n === 1n && r.d === 2n) return { text: `sqrt(${format(e.base).text})`, prec: PREC.atom };
        if (r.n < 0n) return { text: `1/${wrapIf(format(E.pow(e.base, E.num(Q.neg(r)))), PREC.pow)}`, prec: PREC.mul };
        if (r.d === 2n) return { text: `sqrt(${format(e.base).text})^${r.n}`, prec: PREC.pow };
      }
      const exp =
        e.exp.k === 'num' && e.exp.v.d === 1n && e.exp.v.n > 0n ? e.exp.v.n.toString() : `(${format(e.exp).text})`;
      return { text: `${wrapIf(format(e.base), PREC.atom)}^${exp}`, prec: PREC.pow };
    }
    case 'fn': {
      const cmp: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' };
      if (cmp[e.name]) return { text: `${format(e.args[0]!).text} ${cmp[e.name]} ${format(e.args[1]!).text}`, prec: 0 };
      if (e.name === 'exp' && E.isOne(e.args[0]!)) return { text: 'e', prec: PREC.atom };
      return { text: `${e.name}(${e.args.map((a) => format(a).text).join(', ')})`, prec: PREC.atom };
    }
  }
}
