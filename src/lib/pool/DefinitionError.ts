import type { DefinitionIssue } from './types';

/**
 * The pool definition cannot be used. Carries every problem found (not just the first), each located by
 * JSON path, so a user can fix the file in one go.
 *
 * The message reads:
 * ```
 * examples/lab-pool.json: 2 problems in the pool definition
 *   $.pool.backends[1].weight: must be an integer from 0 to 100, got 150
 *   $.pool.backends[1].wieght: unknown key (did you mean "weight"?)
 * ```
 */
export class DefinitionError extends Error {
  /** Every problem, in the order found (structure first, then cross-field rules). Never empty. */
  readonly issues: readonly DefinitionIssue[];
  /** The file (or other origin) the definition came from, when known. */
  readonly source: string | undefined;

  constructor(issues: readonly DefinitionIssue[], source?: string, options?: { cause?: unknown }) {
    const list = issues.length > 0 ? issues : [{ path: '$', message: 'is not a valid pool definition' }];
    const heading = `${source ?? 'pool definition'}: ${list.length} problem${list.length === 1 ? '' : 's'} in the pool definition`;
    super([heading, ...list.map((issue) => `  ${issue.path}: ${issue.message}`)].join('\n'), options);
    this.name = 'DefinitionError';
    this.issues = Object.freeze(list.map((issue) => Object.freeze({ path: issue.path, message: issue.message })));
    this.source = source;
  }
}
