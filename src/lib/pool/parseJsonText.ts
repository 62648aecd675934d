/** Outcome of parsing JSON text: the value, or where and why it failed. */
export type JsonTextResult =
  | { readonly ok: true; readonly value: unknown }
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

/** Deeper nesting is refused rather than risking a stack overflow on hostile input. */
export const MAX_JSON_DEPTH = 64;

/**
 * Strict JSON (RFC 8259) parser that, unlike `JSON.parse`, reports the line and column of the first problem,
 * rejects duplicate object keys (which `JSON.parse` silently resolves to the last one) and bounds nesting
 * depth. Trailing non-whitespace after the value is an error. Never throws.
 */
export function parseJsonText(text: string): JsonTextResult {
  const parser = new JsonParser(text);
  try {
    parser.skipWhitespace();
    if (parser.atEnd()) {
      return parser.failure('the file is empty (expected a JSON object)', 0);
    }
    const value = parser.parseValue(0, '$');
    parser.skipWhitespace();
    if (!parser.atEnd()) {
      return parser.failure('unexpected text after the end of the JSON value (trailing garbage)', parser.position);
    }
    return { ok: true, value };
  } catch (error) {
    if (error instanceof JsonSyntaxProblem) {
      return parser.failure(error.message, error.offset, error.path);
    }
    throw error;
  }
}

class JsonSyntaxProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly path = '$',
  ) {
    super(message);
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class JsonParser {
  position = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  failure(message: string, offset: number, path = '$'): JsonTextResult {
    let line = 1;
    let lineStart = 0;
    const end = Math.min(offset, this.text.length);
    for (let index = 0; index < end; index += 1) {
      if (this.text.charCodeAt(index) === 10) {
        line += 1;
        lineStart = index + 1;
      }
    }
    return { ok: false, message, line, column: end - lineStart + 1, path };
  }

  skipWhitespace(): void {
    while (this.position < this.text.length) {
      const code = this.text.charCodeAt(this.position);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) {
        return;
      }
      this.position += 1;
    }
  }

  private fail(message: string, offset = this.position): never {
    throw new JsonSyntaxProblem(message, offset);
  }

  private describeHere(): string {
    if (this.atEnd()) {
      return 'the end of the file';
    }
    return JSON.stringify(this.text.slice(this.position, this.position + 1));
  }

  parseValue(depth: number, path: string): unknown {
    if (depth > MAX_JSON_DEPTH) {
      this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    }
    this.skipWhitespace();
    const char = this.text[this.position];
    switch (char) {
      case '{':
        return this.parseObject(depth, path);
      case '[':
        return this.parseArray(depth, path);
      case '"':
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      default:
        if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
          return this.parseNumber();
        }
        return this.fail(`expected a JSON value but found ${this.describeHere()}`);
    }
  }

  private parseLiteral(word: string, value: unknown): unknown {
    if (this.text.startsWith(word, this.position)) {
      this.position += word.length;
      return value;
    }
    return this.fail(`expected a JSON value but found ${this.describeHere()}`);
  }

  private parseNumber(): number {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.position, this.position + 400));
    if (match === null) {
      return this.fail('malformed number');
    }
    const next = this.text[this.position + match[0].length];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) {
      return this.fail('malformed number', this.position + match[0].length);
    }
    this.position += match[0].length;
    return Number(match[0]);
  }

  private parseString(): string {
    const start = this.position;
    this.position += 1;
    let result = '';
    let chunkStart = this.position;
    while (true) {
      if (this.atEnd()) {
        this.fail('unterminated string', start);
      }
      const code = this.text.charCodeAt(this.position);
      if (code === 0x22) {
        result += this.text.slice(chunkStart, this.position);
        this.position += 1;
        return result;
      }
      if (code < 0x20) {
        this.fail('control character inside a string (escape it, e.g. \\n)');
      }
      if (code === 0x5c) {
        result += this.text.slice(chunkStart, this.position);
        const escape = this.text[this.position + 1];
        if (escape === 'u') {
          const hex = this.text.slice(this.position + 2, this.position + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            this.fail('invalid \\u escape (needs 4 hex digits)');
          }
          result += String.fromCharCode(parseInt(hex, 16));
          this.position += 6;
        } else {
          const replacement = escape === undefined ? undefined : ESCAPES[escape];
          if (replacement === undefined) {
            this.fail(`invalid escape "\\${escape ?? ''}" in a string`);
          }
          result += replacement;
          this.position += 2;
        }
        chunkStart = this.position;
        continue;
      }
      this.position += 1;
    }
  }

  private parseArray(depth: number, path: string): unknown[] {
    this.position += 1;
    const items: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.position] === ']') {
      this.position += 1;
      return items;
    }
    while (true) {
      items.push(this.parseValue(depth + 1, `${path}[${items.length}]`));
      this.skipWhitespace();
      const char = this.text[this.position];
      if (char === ',') {
        this.position += 1;
        this.skipWhitespace();
        if (this.text[this.position] === ']') {
          this.fail('trailing comma before "]"');
        }
        continue;
      }
      if (char === ']') {
        this.position += 1;
        return items;
      }
      this.fail(`expected "," or "]" but found ${this.describeHere()}`);
    }
  }

  private parseObject(depth: number, path: string): Record<string, unknown> {
    this.position += 1;
    const object: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.position] === '}') {
      this.position += 1;
      return object;
    }
    while (true) {
      this.skipWhitespace();
      if (this.text[this.position] !== '"') {
        this.fail(
          this.text[this.position] === '}'
            ? 'trailing comma before "}"'
            : `expected a quoted member name but found ${this.describeHere()}`,
        );
      }
      const keyOffset = this.position;
      const key = this.parseString();
      const memberPath = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (Object.prototype.hasOwnProperty.call(object, key)) {
        throw new JsonSyntaxProblem(`duplicate key "${key}" (JSON.parse would silently keep the last one)`, keyOffset, memberPath);
      }
      this.skipWhitespace();
      if (this.text[this.position] !== ':') {
        this.fail(`expected ":" after a member name but found ${this.describeHere()}`);
      }
      this.position += 1;
      const value = this.parseValue(depth + 1, memberPath);
      // defineProperty keeps a "__proto__" member an own data property instead of changing the prototype.
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const char = this.text[this.position];
      if (char === ',') {
        this.position += 1;
        continue;
      }
      if (char === '}') {
        this.position += 1;
        return object;
      }
      this.fail(`expected "," or "}" but found ${this.describeHere()}`);
    }
  }
}
