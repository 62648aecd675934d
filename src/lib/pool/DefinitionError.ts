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

  /**
   * @param options.subject what the problems are in, for the heading; default `the pool definition` (a folder of
   *   definitions says `the pool definitions`, and its issue paths start with the file name).
   */
  constructor(issues: readonly DefinitionIssue[], source?: string, options?: { cause?: unknown; subject?: string }) {
    const list = issues.length > 0 ? issues : [{ path: '$', message: 'is not a valid pool definition' }];
    const subject = options?.subject ?? 'the pool definition';
    const heading = `${source ?? 'pool definition'}: ${list.length} problem${list.length === 1 ? '' : 's'} in ${subject}`;
    super([heading, ...list.map((issue) => `  ${issue.path}: ${issue.message}`)].join('\n'), options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'DefinitionError';
    this.issues = Object.freeze(list.map((issue) => Object.freeze({ path: issue.path, message: issue.message })));
    this.source = source;
  }
}
