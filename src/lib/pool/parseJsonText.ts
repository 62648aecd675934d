import { createScanner, ParseErrorCode, SyntaxKind, visit } from 'jsonc-parser';

import { jsonPath } from './jsonPath';

/** A number whose written value JavaScript cannot hold exactly as an integer (e.g. `1e-400` reads as 0). */
export interface InexactNumber {
  /** JSON path of the number. */
  readonly path: string;
  /** The number as written (at most 40 characters). */
  readonly text: string;
}

/** Outcome of parsing JSON text: the value, or where and why it failed. */
export type JsonTextResult =
  | {
      readonly ok: true;
      readonly value: unknown;
      /** Integers as read by JavaScript that differ from what the file says; the caller refuses them. */
      readonly inexactNumbers: readonly InexactNumber[];
    }
  | {
      readonly ok: false;
      readonly message: string;
      /** 1-based line of the problem. */
      readonly line: number;
      /** 1-based column (UTF-16 code units) of the problem. */
      readonly column: number;
      /** JSON path of the member being read, for duplicate keys; `$` otherwise. */
      readonly path: string;
    };

/** Deeper nesting is refused before parsing rather than risking a stack overflow on hostile input. */
export const MAX_JSON_DEPTH = 64;

/**
 * Strict JSON (RFC 8259) with `jsonc-parser` (the parser of VS Code's JSON support) in strict mode: no comments,
 * no trailing commas, nothing after the value. Unlike `JSON.parse` it reports the line and column of the first
 * problem, rejects duplicate object keys (which `JSON.parse` silently resolves to the last one), bounds nesting
 * depth, and keeps each number's text so that a value JavaScript would round (`1e-400` → 0,
 * `100.00000000000000001` → 100) is reported instead of being used. Never throws.
 */
export function parseJsonText(text: string): JsonTextResult {
  const tooDeep = findExcessiveNesting(text);
  if (tooDeep !== undefined) {
    return failure(text, `nesting deeper than ${MAX_JSON_DEPTH} levels`, tooDeep, '$');
  }
  const builder = new ValueBuilder(text);
  visit(text, builder.visitor(), { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (builder.problem !== undefined) {
    return failure(text, builder.problem.message, builder.problem.offset, builder.problem.path);
  }
  return { ok: true, value: builder.root, inexactNumbers: builder.inexactNumbers };
}

type Container =
  | { readonly kind: 'object'; readonly value: Record<string, unknown>; readonly path: string; key?: string }
  | { readonly kind: 'array'; readonly value: unknown[]; readonly path: string };

/** Builds the value from the parser's events, stopping at the first problem. */
class ValueBuilder {
  root: unknown;
  problem: { message: string; offset: number; path: string } | undefined;
  readonly inexactNumbers: InexactNumber[] = [];
  private readonly stack: Container[] = [];

  constructor(private readonly text: string) {}

  visitor(): Parameters<typeof visit>[1] {
    return {
      onObjectBegin: () => {
        this.open({ kind: 'object', value: {}, path: this.nextPath() });
      },
      onObjectProperty: (property, offset) => {
        const top = this.stack[this.stack.length - 1];
        if (top?.kind !== 'object' || this.problem !== undefined) {
          return;
        }
        if (Object.prototype.hasOwnProperty.call(top.value, property)) {
          this.fail(`duplicate key ${JSON.stringify(property)} (JSON.parse would silently keep the last one)`, offset, jsonPath(top.path, property));
        }
        top.key = property;
      },
      onObjectEnd: () => this.stack.pop(),
      onArrayBegin: () => {
        this.open({ kind: 'array', value: [], path: this.nextPath() });
      },
      onArrayEnd: () => this.stack.pop(),
      onLiteralValue: (value: unknown, offset, length) => {
        if (typeof value === 'number') {
          const written = this.text.slice(offset, offset + length);
          // Only integers matter (every number of the format is one); a fraction is refused by the schema.
          if (!isExactSafeInteger(written) && (Number.isInteger(value) || !Number.isFinite(value))) {
            this.inexactNumbers.push({ path: this.nextPath(), text: written.length > 40 ? `${written.slice(0, 37)}...` : written });
          }
        }
        this.place(value);
      },
      onError: (error, offset) => {
        this.fail(describeError(this.text, error, offset), offset, '$');
      },
    };
  }

  private fail(message: string, offset: number, path: string): void {
    this.problem ??= { message, offset, path };
  }

  /** Path of the value about to be placed in the current container. */
  private nextPath(): string {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      return '$';
    }
    return top.kind === 'array' ? jsonPath(top.path, top.value.length) : jsonPath(top.path, top.key ?? '');
  }

  private open(container: Container): void {
    this.place(container.value);
    this.stack.push(container);
  }

  private place(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.root = value;
    } else if (top.kind === 'array') {
      top.value.push(value);
    } else if (top.key !== undefined) {
      // defineProperty keeps a "__proto__" member an own data property instead of changing the prototype.
      Object.defineProperty(top.value, top.key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
}

/**
 * True when the number text denotes an integer of magnitude at most 2^53 − 1, which a double holds exactly.
 * Worked on the digits, not on `Number(text)`, because the conversion is what loses the difference.
 */
export function isExactSafeInteger(text: string): boolean {
  const match = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) {
    return false;
  }
  const fraction = match[2] ?? '';
  let digits = `${match[1] ?? ''}${fraction}`.replace(/^0+/, '');
  if (digits === '') {
    return true; // zero, however it is written (0, 0.0, 0e-400)
  }
  let exponent = Number(match[3] ?? '0') - fraction.length;
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent += 1;
  }
  if (exponent < 0 || digits.length + exponent > 16) {
    return false;
  }
  return BigInt(digits) * 10n ** BigInt(exponent) <= BigInt(Number.MAX_SAFE_INTEGER);
}

/** Offset of the first bracket nested deeper than MAX_JSON_DEPTH (an iterative scan: no recursion). */
function findExcessiveNesting(text: string): number | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    if (kind === SyntaxKind.OpenBraceToken || kind === SyntaxKind.OpenBracketToken) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH) {
        return scanner.getTokenOffset();
      }
    } else if (kind === SyntaxKind.CloseBraceToken || kind === SyntaxKind.CloseBracketToken) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** A parser error code in words, with what was found where it helps. */
function describeError(text: string, error: ParseErrorCode, offset: number): string {
  const found = describeCharacter(text, offset);
  const closing = text[offset];
  if (
    (error === ParseErrorCode.PropertyNameExpected || error === ParseErrorCode.ValueExpected) &&
    (closing === '}' || closing === ']') &&
    text.slice(0, offset).trimEnd().endsWith(',')
  ) {
    return `trailing comma before "${closing}"`;
  }
  switch (error) {
    case ParseErrorCode.InvalidSymbol:
    case ParseErrorCode.ValueExpected:
      return `expected a JSON value but found ${found}`;
    case ParseErrorCode.InvalidNumberFormat:
    case ParseErrorCode.UnexpectedEndOfNumber:
      return 'malformed number';
    case ParseErrorCode.PropertyNameExpected:
      return `expected a quoted member name but found ${found}`;
    case ParseErrorCode.ColonExpected:
      return `expected ":" after a member name but found ${found}`;
    case ParseErrorCode.CommaExpected:
      return `expected "," but found ${found}`;
    case ParseErrorCode.CloseBraceExpected:
      return `expected "," or "}" but found ${found}`;
    case ParseErrorCode.CloseBracketExpected:
      return `expected "," or "]" but found ${found}`;
    case ParseErrorCode.EndOfFileExpected:
      return 'unexpected text after the end of the JSON value (trailing garbage)';
    case ParseErrorCode.InvalidCommentToken:
    case ParseErrorCode.UnexpectedEndOfComment:
      return 'comments are not allowed in JSON';
    case ParseErrorCode.UnexpectedEndOfString:
      return 'unterminated string';
    case ParseErrorCode.InvalidUnicode:
      return 'invalid \\u escape (needs 4 hex digits)';
    case ParseErrorCode.InvalidEscapeCharacter:
      return 'invalid escape in a string (allowed: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)';
    case ParseErrorCode.InvalidCharacter:
      return 'control character inside a string (escape it, e.g. \\n)';
    default:
      return 'is not valid JSON';
  }
}

/** The character at `offset`, safe to print: printable ASCII quoted, anything else as U+XXXX. */
function describeCharacter(text: string, offset: number): string {
  const code = text.codePointAt(offset);
  if (code === undefined) {
    return 'the end of the file';
  }
  return code >= 0x20 && code <= 0x7e ? JSON.stringify(String.fromCodePoint(code)) : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function failure(text: string, message: string, offset: number, path: string): JsonTextResult {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let index = 0; index < end; index += 1) {
    if (text.charCodeAt(index) === 10) {
      line += 1;
      lineStart = index + 1;
    }
  }
  return { ok: false, message, line, column: end - lineStart + 1, path };
}
