import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { PolicyFinding } from './types';

/** Options of {@link checkPolicy}. */
export interface CheckPolicyOptions {
  /** Members of the pool; enables the retry-count check (a retry should be able to reach every member). */
  memberCount?: number;
}

interface PolicyElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Lower-cased names of the enclosing elements, outermost first. */
  readonly ancestors: readonly string[];
  /** Positions (in document order) of the enclosing elements, outermost first. */
  readonly ancestorIndexes: readonly number[];
}

/**
 * Text that shows a condition keys on the pool's own 503 reason phrase. That phrase ("Backend pool … is
 * temporarily unavailable") changed in 2026 and policies matching it broke; a policy must not depend on it.
 */
const REASON_TEXT_PATTERNS = [/StatusReason/i, /backend\s*pool/i, /temporarily\s+unavailable/i];

/**
 * Warnings about an API policy that routes to the pool (pure; never throws).
 *
 * - `no-set-backend-service`: no `set-backend-service backend-id="<pool>"` (traffic does not reach the pool
 *   from this API's policy; it may still be set at the product or global scope through `<base />`).
 * - `retry-matches-reason-text`: a retry condition string-matches the pool's 503 reason text.
 * - `retry-count-too-low`: a retry around `forward-request` has `count` < members − 1 (needs `memberCount`).
 * - `no-buffer-request-body`: `forward-request` under a retry without `buffer-request-body="true"` (the
 *   retried request would go out without its body).
 * - `unparsable-policy`: the text is not a policy document (one finding, nothing else checked).
 *
 * Accepts both `format=rawxml` (expressions not XML-encoded, as ARM returns them on request) and `xml`.
 */
export function checkPolicy(xml: string, poolName: string, options: CheckPolicyOptions = {}): PolicyFinding[] {
  const elements = tryParsePolicy(xml);
  if (typeof elements === 'string') {
    return [{ code: 'unparsable-policy', message: `The API policy could not be read as XML (${elements}); nothing else was checked.` }];
  }
  const findings: PolicyFinding[] = [];

  const backendServices = elements.filter((element) => element.name === 'set-backend-service');
  const toPool = backendServices.filter((element) => pointsAtPool(element.attributes['backend-id'], poolName));
  if (toPool.length === 0) {
    const elsewhere = backendServices
      .map((element) => element.attributes['backend-id'] ?? element.attributes['base-url'])
      .filter((target): target is string => target !== undefined);
    findings.push({
      code: 'no-set-backend-service',
      message:
        `The policy has no set-backend-service backend-id="${poolName}"` +
        (elsewhere.length > 0 ? `; it sends traffic to ${elsewhere.map((target) => `"${target}"`).join(', ')} instead` : '') +
        '. Unless a product or global policy sets it (through <base />), requests do not reach the pool.',
    });
  }

  const retries = elements.filter((element) => element.name === 'retry');
  for (const retry of retries) {
    const condition = retry.attributes.condition ?? '';
    if (REASON_TEXT_PATTERNS.some((pattern) => pattern.test(condition))) {
      findings.push({
        code: 'retry-matches-reason-text',
        message:
          'A retry condition matches the 503 reason text of the pool ("Backend pool … is temporarily unavailable"). ' +
          'That text changed in 2026 and such policies broke; decide on status codes only.',
      });
    }
  }

  const forwards = elements.filter((element) => element.name === 'forward-request' && element.ancestors.includes('retry'));
  const retriesAroundForward = retries.filter((retry) =>
    forwards.some((forward) => forward.ancestorIndexes.includes(elements.indexOf(retry))),
  );
  if (options.memberCount !== undefined && options.memberCount > 1) {
    for (const retry of retriesAroundForward) {
      const countText = retry.attributes.count;
      // An expression (`@(...)`) cannot be evaluated here.
      if (countText === undefined || !/^\s*\d+\s*$/.test(countText)) {
        continue;
      }
      const count = Number(countText);
      if (count < options.memberCount - 1) {
        findings.push({
          code: 'retry-count-too-low',
          message:
            `A retry has count="${count}" but the pool has ${options.memberCount} members: a throttled request can try at most ` +
            `${count + 1} of them. Use count="${options.memberCount - 1}" or more to give every member a chance.`,
        });
      }
    }
  }

  for (const forward of forwards) {
    if ((forward.attributes['buffer-request-body'] ?? '').trim().toLowerCase() !== 'true') {
      findings.push({
        code: 'no-buffer-request-body',
        message:
          'A forward-request inside a retry lacks buffer-request-body="true": a retried request would be sent without its body.',
      });
    }
  }
  return findings;
}

function pointsAtPool(backendId: string | undefined, poolName: string): boolean {
  if (backendId === undefined) {
    return false;
  }
  const value = backendId.trim();
  if (value.toLowerCase() === poolName.toLowerCase()) {
    return true;
  }
  // An expression that names the pool (e.g. a conditional choice of backends) counts as pointing at it.
  return value.startsWith('@') && value.toLowerCase().includes(`"${poolName.toLowerCase()}"`);
}

/** The policy's elements in document order, or the reason it could not be parsed. */
function tryParsePolicy(xml: string): PolicyElement[] | string {
  if (typeof xml !== 'string' || xml.trim() === '') {
    return 'empty';
  }
  const encoded = encodeExpressions(xml);
  const valid = XMLValidator.validate(encoded);
  if (valid !== true) {
    return `${valid.err.msg} at line ${valid.err.line}`;
  }
  let tree: unknown;
  try {
    tree = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseAttributeValue: false,
      parseTagValue: false,
      processEntities: true,
    }).parse(encoded);
  } catch (error) {
    return error instanceof Error ? error.message : 'unreadable';
  }
  const elements: PolicyElement[] = [];
  walk(tree, [], [], elements);
  if (!elements.some((element) => element.name === 'policies' && element.ancestors.length === 0)) {
    return 'the root element is not <policies>';
  }
  return elements;
}

function walk(nodes: unknown, ancestors: string[], ancestorIndexes: number[], out: PolicyElement[]): void {
  if (!Array.isArray(nodes)) {
    return;
  }
  for (const node of nodes as Record<string, unknown>[]) {
    if (node === null || typeof node !== 'object') {
      continue;
    }
    const name = Object.keys(node).find((key) => key !== ':@' && !key.startsWith('#') && !key.startsWith('?'));
    if (name === undefined) {
      continue;
    }
    const rawAttributes = (node[':@'] ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(rawAttributes)) {
      attributes[key.toLowerCase()] = String(value);
    }
    const lower = name.toLowerCase();
    const position = out.length;
    out.push({ name: lower, attributes, ancestors, ancestorIndexes });
    walk(node[name], [...ancestors, lower], [...ancestorIndexes, position], out);
  }
}

/**
 * In `rawxml` policies, C# expressions `@(...)` and `@{...}` are not XML-encoded (quotes inside attribute
 * values, `&&`, `<`). Encode their special characters so that an XML parser reads them; already-encoded
 * entities are left alone, so the `xml` format passes through unchanged.
 */
function encodeExpressions(xml: string): string {
  let out = '';
  let index = 0;
  while (index < xml.length) {
    const opener = xml[index + 1];
    if (xml[index] === '@' && (opener === '(' || opener === '{')) {
      const end = findExpressionEnd(xml, index + 1);
      if (end > index) {
        out += `@${encodeSpecials(xml.slice(index + 1, end + 1))}`;
        index = end + 1;
        continue;
      }
    }
    out += xml[index];
    index += 1;
  }
  return out;
}

/** Index of the bracket closing the one at `start`, skipping C# string and char literals; -1 if none. */
function findExpressionEnd(text: string, start: number): number {
  const closers: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  let index = start;
  while (index < text.length) {
    const char = text[index]!;
    if (char === '"') {
      const verbatim = text[index - 1] === '@';
      index += 1;
      while (index < text.length) {
        if (!verbatim && text[index] === '\\') {
          index += 2;
          continue;
        }
        if (text[index] === '"') {
          if (verbatim && text[index + 1] === '"') {
            index += 2;
            continue;
          }
          break;
        }
        index += 1;
      }
    } else if (char === "'" && /^'(\\.|[^'\\])'/.test(text.slice(index, index + 4))) {
      index += text[index + 1] === '\\' ? 3 : 2;
    } else if (closers[char] !== undefined) {
      stack.push(closers[char]!);
    } else if (char === ')' || char === '}' || char === ']') {
      if (stack.pop() !== char) {
        return -1;
      }
      if (stack.length === 0) {
        return index;
      }
    }
    index += 1;
  }
  return -1;
}

function encodeSpecials(expression: string): string {
  return expression
    .replace(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
