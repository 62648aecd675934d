import schema from '../../../schema/pool-definition.schema.json';
import { describeValue } from './jsonPath';

/** A member of the definition's `apim` section, which CLI flags and settings may also supply. */
export type ApimField = keyof typeof schema.properties.apim.properties;

/**
 * Why `value` cannot be the `apim.<field>` of a definition (same pattern, length and message as the JSON Schema,
 * which stays the one source of the format), or undefined when it can. For values that arrive by another route
 * than the file: `deploy --service-name`, `export --service-name`, `--subscription-id` …
 */
export function apimFieldProblem(field: ApimField, value: string): string | undefined {
  const rule = schema.properties.apim.properties[field];
  // The pattern first, as in the definition's messages: "not a GUID" says more than "must be 36 characters".
  // The same flag as ajv uses for schema patterns (unicodeRegExp).
  if (!new RegExp(rule.pattern, 'u').test(value)) {
    return `${rule.patternErrorMessage}, got ${describeValue(value)}`;
  }
  if (value.length < rule.minLength || value.length > rule.maxLength) {
    return `must be ${rule.minLength}–${rule.maxLength} characters long, got ${value.length}`;
  }
  return undefined;
}
