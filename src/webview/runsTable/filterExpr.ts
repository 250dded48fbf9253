// The runs table's filter language (docs/runs-table.md): comparisons over a run's fields joined
// with and/or/not and parentheses, `tag:NAME`, `~` for a regular expression, and plain words that
// match a run's name, project, id or tags as text. Pure (no DOM): the page compiles it on every
// keystroke and tests run it in Node. A bad expression gets the column (1-based) and why.
import { type FieldRef, type FieldValue, parseField } from './fields';

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';

export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr }
  | { kind: 'cmp'; field: FieldRef; op: CompareOp; value: Literal; regex?: RegExp }
  | { kind: 'tag'; name: string }
  | { kind: 'text'; text: string };

export type Literal =
  { kind: 'number'; value: number } | { kind: 'string'; value: string } | { kind: 'bool'; value: boolean };

export interface FilterError {
  /** 1-based column where the problem starts. */
  column: number;
  message: string;
}

/** What a compiled filter asks of a row: a field's value, and its text for plain words. */
export interface FilterTarget {
  value(field: FieldRef): FieldValue;
  /** Lower-cased name, project, id and tag names/values, for plain-word matches. */
  text(): string;
  hasTag(name: string): boolean;
}

export type Compiled =
  { ok: true; expr: Expr | undefined; test: (row: FilterTarget) => boolean } | { ok: false; error: FilterError };

const STATUSES = ['running', 'finished', 'failed', 'killed', 'crashed'];
const KEYWORDS = new Set(['and', 'or', 'not']);

type Tok =
  | { t: 'word'; v: string; col: number }
  | { t: 'str'; v: string; col: number }
  | { t: 'op'; v: CompareOp; col: number }
  | { t: '('; col: number }
  | { t: ')'; col: number }
  | { t: 'end'; col: number };

class ParseError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    if (c === '(' || c === ')') {
      out.push(c === '(' ? { t: '(', col } : { t: ')', col });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        v += src[j++];
      }
      if (j >= src.length) throw new ParseError(col, `the quote opened here is never closed: add ${c}`);
      out.push({ t: 'str', v, col });
      i = j + 1;
    } else if ('=!<>~'.includes(c)) {
      const two = src.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=' || two === '==') {
        out.push({ t: 'op', v: two === '==' ? '=' : (two as CompareOp), col });
        i += 2;
      } else if (c === '!') {
        throw new ParseError(col, '"!" must be followed by "=" (use "not" to negate)');
      } else {
        out.push({ t: 'op', v: c as CompareOp, col });
        i++;
      }
    } else {
      let j = i;
      while (j < src.length && !/[\s()"'=!<>~]/.test(src[j])) j++;
      out.push({ t: 'word', v: src.slice(i, j), col });
      i = j;
    }
  }
  out.push({ t: 'end', col: src.length + 1 });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i];
  }

  private isKeyword(tok: Tok, kw: string): boolean {
    return tok.t === 'word' && tok.v.toLowerCase() === kw;
  }

  parse(): Expr | undefined {
    if (this.peek().t === 'end') return undefined;
    const e = this.or();
    const tok = this.peek();
    if (tok.t === ')') throw new ParseError(tok.col, 'this ")" closes nothing: remove it or add a "(" before');
    if (tok.t !== 'end')
      throw new ParseError(tok.col, `unexpected ${describe(tok)}: join conditions with "and" or "or"`);
    return e;
  }

  private or(): Expr {
    let left = this.and();
    while (this.isKeyword(this.peek(), 'or')) {
      this.i++;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    for (;;) {
      const tok = this.peek();
      if (this.isKeyword(tok, 'and')) {
        this.i++;
        left = { kind: 'and', left, right: this.not() };
      } else if (tok.t === 'word' || tok.t === 'str' || tok.t === '(') {
        // Two conditions side by side mean both, as in a search box ("resnet tag:baseline").
        if (this.isKeyword(tok, 'or')) return left;
        left = { kind: 'and', left, right: this.not() };
      } else {
        return left;
      }
    }
  }

  private not(): Expr {
    if (this.isKeyword(this.peek(), 'not')) {
      this.i++;
      return { kind: 'not', expr: this.not() };
    }
    return this.primary();
  }

  private primary(): Expr {
    const tok = this.toks[this.i++];
    if (tok.t === '(') {
      if (this.peek().t === ')') throw new ParseError(this.peek().col, 'empty parentheses: put a condition inside');
      const e = this.or();
      const close = this.peek();
      if (close.t !== ')') throw new ParseError(tok.col, 'this "(" is never closed: add ")"');
      this.i++;
      return e;
    }
    if (tok.t === 'end') throw new ParseError(tok.col, 'the expression ends here, but a condition is missing');
    if (tok.t === ')') throw new ParseError(tok.col, 'a condition is missing before this ")"');
    if (tok.t === 'op')
      throw new ParseError(tok.col, `"${tok.v}" needs a field before it, e.g. params.lr ${tok.v} 0.01`);
    if (tok.t === 'str') return { kind: 'text', text: tok.v.toLowerCase() };
    if (KEYWORDS.has(tok.v.toLowerCase())) {
      throw new ParseError(tok.col, `"${tok.v}" needs a condition before it`);
    }
    if (/^tag:/i.test(tok.v)) {
      const name = tok.v.slice(4);
      if (!name) throw new ParseError(tok.col + 4, 'tag: needs a tag name after it, e.g. tag:baseline');
      return { kind: 'tag', name };
    }
    const op = this.peek();
    if (op.t !== 'op') return { kind: 'text', text: tok.v.toLowerCase() };
    this.i++;
    const field = parseField(tok.v);
    if (typeof field === 'string') throw new ParseError(tok.col, field);
    const valTok = this.toks[this.i++];
    if (valTok.t !== 'word' && valTok.t !== 'str') {
      throw new ParseError(valTok.col, `a value is missing after "${op.v}"`);
    }
    const value = literal(valTok);
    const cmp: Expr = { kind: 'cmp', field, op: op.v, value };
    if (op.v === '~') {
      try {
        cmp.regex = new RegExp(String(value.value), 'i');
      } catch (err) {
        throw new ParseError(valTok.col, `not a valid regular expression: ${(err as Error).message}`);
      }
    } else if (field.kind === 'status') {
      const v = String(value.value).toLowerCase();
      if (!STATUSES.includes(v)) {
        throw new ParseError(valTok.col, `unknown status "${value.value}": expected one of ${STATUSES.join(', ')}`);
      }
      if (op.v !== '=' && op.v !== '!=') throw new ParseError(op.col, `status compares with = or != only, not ${op.v}`);
    } else if (op.v !== '=' && op.v !== '!=' && value.kind !== 'number' && !isTimeField(field)) {
      throw new ParseError(valTok.col, `"${op.v}" compares numbers: "${valTok.v}" is not a number`);
    }
    if (isTimeField(field) && value.kind === 'string') {
      const t = Date.parse(value.value);
      if (Number.isNaN(t))
        throw new ParseError(valTok.col, `"${value.value}" is not a date (try 2026-12-01 or 2026-12-01T10:00)`);
      cmp.value = { kind: 'number', value: t / 1000 };
    }
    return cmp;
  }
}

function isTimeField(f: FieldRef): boolean {
  return f.kind === 'start' || f.kind === 'end';
}

function describe(tok: Tok): string {
  if (tok.t === 'word' || tok.t === 'str') return `"${tok.v}"`;
  if (tok.t === 'op') return `"${tok.v}"`;
  return tok.t === 'end' ? 'end' : `"${tok.t}"`;
}

function literal(tok: Extract<Tok, { t: 'word' | 'str' }>): Literal {
  if (tok.t === 'str') return { kind: 'string', value: tok.v };
  const v = tok.v;
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === 'false') return { kind: 'bool', value: lower === 'true' };
  if (lower === 'nan') return { kind: 'number', value: NaN };
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity') return { kind: 'number', value: Infinity };
  if (lower === '-inf' || lower === '-infinity') return { kind: 'number', value: -Infinity };
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) return { kind: 'number', value: Number(v) };
  return { kind: 'string', value: v };
}

/** Parses `src`; an empty or blank filter keeps every row. */
export function compileFilter(src: string): Compiled {
  let expr: Expr | undefined;
  try {
    expr = new Parser(lex(src)).parse();
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: { column: err.column, message: err.message } };
    throw err;
  }
  const e = expr;
  return { ok: true, expr: e, test: e ? (row) => evaluate(e, row) : () => true };
}

export function evaluate(e: Expr, row: FilterTarget): boolean {
  switch (e.kind) {
    case 'and':
      return evaluate(e.left, row) && evaluate(e.right, row);
    case 'or':
      return evaluate(e.left, row) || evaluate(e.right, row);
    case 'not':
      return !evaluate(e.expr, row);
    case 'tag':
      return row.hasTag(e.name);
    case 'text':
      return row.text().includes(e.text);
    case 'cmp':
      return compare(row.value(e.field), e);
  }
}

/** A run without the field matches no comparison (so `not` of one matches it). */
function compare(actual: FieldValue, e: Extract<Expr, { kind: 'cmp' }>): boolean {
  if (actual === undefined || actual === null) return false;
  const lit = e.value;
  if (e.op === '~') return e.regex!.test(String(actual));
  if (typeof actual === 'number' && lit.kind === 'number') {
    if (Number.isNaN(lit.value) || Number.isNaN(actual)) {
      const same = Number.isNaN(lit.value) && Number.isNaN(actual);
      return e.op === '=' ? same : e.op === '!=' ? !same : false;
    }
    return ordered(actual, lit.value, e.op);
  }
  if (typeof actual === 'boolean') {
    const b = lit.kind === 'bool' ? lit.value : lit.kind === 'string' ? lit.value.toLowerCase() === 'true' : undefined;
    if (e.op === '=') return actual === b;
    if (e.op === '!=') return actual !== b;
    return false;
  }
  if (lit.kind === 'number' && typeof actual === 'string') {
    const n = Number(actual);
    if (actual.trim() !== '' && !Number.isNaN(n)) return ordered(n, lit.value, e.op);
    return e.op === '!=';
  }
  const a = String(actual).toLowerCase();
  const b = String(lit.value).toLowerCase();
  if (e.op === '=') return a === b;
  if (e.op === '!=') return a !== b;
  return false;
}

function ordered(a: number, b: number, op: CompareOp): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return false;
  }
}
