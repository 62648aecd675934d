import type { ApimLocation } from '../pool/types';
import type { ArmBackendProperties, ArmCircuitBreakerRule } from './armClient';
import { memberKey, memberName } from './backendArmId';
import type { ConfigDifference } from './types';

type Scalar = string | number | boolean | null;

/**
 * Field-by-field differences between the single backend we want (`desired`, from `toBackendProperties`)
 * and what ARM holds (`actual`). Normalised so that ARM's extras never count as drift: unmanaged fields
 * (`title`, `credentials`, `tls` …) are ignored, `null` ≡ absent, protocol and URL host are
 * case-insensitive, one trailing slash is ignored, durations compare by value (`PT1M` ≡ `PT60S`),
 * `acceptRetryAfter` absent ≡ false, status ranges and error reasons compare as sets. A description is
 * compared only when one is declared.
 */
export function diffBackendProperties(
  resource: string,
  desired: ArmBackendProperties,
  actual: ArmBackendProperties,
): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  const add = (field: string, declared: Scalar, deployed: Scalar): void => {
    differences.push({ resource, field, declared, deployed });
  };
  const actualType = stringOrNull(actual.type);
  if (actualType !== null && actualType.toLowerCase() !== 'single') {
    add('type', 'Single', actualType);
  }
  if (normaliseUrl(desired.url) !== normaliseUrl(actual.url)) {
    add('url', stringOrNull(desired.url), stringOrNull(actual.url));
  }
  if (lower(desired.protocol) !== lower(actual.protocol)) {
    add('protocol', stringOrNull(desired.protocol), stringOrNull(actual.protocol));
  }
  compareDescription(desired, actual, add);

  const desiredRules = desired.circuitBreaker?.rules ?? [];
  const actualRules = actual.circuitBreaker?.rules ?? [];
  const desiredRule = desiredRules[0];
  const actualRule = actualRules[0];
  if (desiredRule === undefined || actualRule === undefined) {
    if (desiredRule !== actualRule) {
      add('circuitBreaker', desiredRule ? describeRule(desiredRule) : null, actualRule ? describeRule(actualRule) : null);
    }
  } else {
    if (desiredRules.length !== actualRules.length) {
      add('circuitBreaker.rules', desiredRules.length, actualRules.length);
    }
    diffRule(desiredRule, actualRule, add);
  }
  return differences;
}

/**
 * Field-by-field differences between the pool we want and the pool ARM holds. Members are matched by
 * backend name, case-insensitively, accepting the full ARM id of this service or the short
 * `/backends/<name>` form; order does not matter. Priority absent ≡ 0; weight `null` ≡ absent.
 * Fields: `type`, `description`, `pool.members[<name>]` (added/removed), `pool.members[<name>].priority`,
 * `pool.members[<name>].weight`.
 */
export function diffPoolProperties(
  resource: string,
  desired: ArmBackendProperties,
  actual: ArmBackendProperties,
  location: ApimLocation | undefined,
): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  const add = (field: string, declared: Scalar, deployed: Scalar): void => {
    differences.push({ resource, field, declared, deployed });
  };
  if (lower(actual.type) !== 'pool') {
    add('type', 'Pool', stringOrNull(actual.type));
  }
  compareDescription(desired, actual, add);

  const actualMembers = new Map<string, { name: string; priority: number | null; weight: number | null }>();
  for (const item of actual.pool?.services ?? []) {
    const key = memberKey(item.id, location);
    actualMembers.set(key, {
      name: key.startsWith('/') ? item.id : memberName(item.id),
      priority: numberOrNull(item.priority),
      weight: numberOrNull(item.weight),
    });
  }
  const seen = new Set<string>();
  for (const item of desired.pool?.services ?? []) {
    const key = memberKey(item.id, location);
    const name = memberName(item.id);
    seen.add(key);
    const deployed = actualMembers.get(key);
    if (deployed === undefined) {
      add(`pool.members[${name}]`, 'present', null);
      continue;
    }
    if ((numberOrNull(item.priority) ?? 0) !== (deployed.priority ?? 0)) {
      add(`pool.members[${name}].priority`, numberOrNull(item.priority), deployed.priority);
    }
    if (numberOrNull(item.weight) !== deployed.weight) {
      add(`pool.members[${name}].weight`, numberOrNull(item.weight), deployed.weight);
    }
  }
  for (const [key, deployed] of actualMembers) {
    if (!seen.has(key)) {
      add(`pool.members[${deployed.name}]`, null, 'present');
    }
  }
  return differences;
}

function diffRule(desired: ArmCircuitBreakerRule, actual: ArmCircuitBreakerRule, add: (field: string, declared: Scalar, deployed: Scalar) => void): void {
  const prefix = 'circuitBreaker';
  if ((desired.name ?? '') !== (actual.name ?? '')) {
    add(`${prefix}.name`, stringOrNull(desired.name), stringOrNull(actual.name));
  }
  const want = desired.failureCondition ?? {};
  const have = actual.failureCondition ?? {};
  if (numberOrNull(want.count) !== numberOrNull(have.count)) {
    add(`${prefix}.failureCondition.count`, numberOrNull(want.count), numberOrNull(have.count));
  }
  if (numberOrNull(want.percentage) !== numberOrNull(have.percentage)) {
    add(`${prefix}.failureCondition.percentage`, numberOrNull(want.percentage), numberOrNull(have.percentage));
  }
  if (!sameDuration(want.interval, have.interval)) {
    add(`${prefix}.failureCondition.interval`, stringOrNull(want.interval), stringOrNull(have.interval));
  }
  const wantRanges = describeRanges(want.statusCodeRanges);
  const haveRanges = describeRanges(have.statusCodeRanges);
  if (wantRanges !== haveRanges) {
    add(`${prefix}.failureCondition.statusCodeRanges`, wantRanges || null, haveRanges || null);
  }
  const wantReasons = describeReasons(want.errorReasons);
  const haveReasons = describeReasons(have.errorReasons);
  if (wantReasons !== haveReasons) {
    add(`${prefix}.failureCondition.errorReasons`, wantReasons || null, haveReasons || null);
  }
  if (!sameDuration(desired.tripDuration, actual.tripDuration)) {
    add(`${prefix}.tripDuration`, stringOrNull(desired.tripDuration), stringOrNull(actual.tripDuration));
  }
  if ((desired.acceptRetryAfter ?? false) !== (actual.acceptRetryAfter ?? false)) {
    add(`${prefix}.acceptRetryAfter`, desired.acceptRetryAfter ?? false, actual.acceptRetryAfter ?? false);
  }
}

function compareDescription(
  desired: ArmBackendProperties,
  actual: ArmBackendProperties,
  add: (field: string, declared: Scalar, deployed: Scalar) => void,
): void {
  const want = stringOrNull(desired.description);
  if (want !== null && want !== '' && want !== stringOrNull(actual.description)) {
    add('description', want, stringOrNull(actual.description));
  }
}

function describeRule(rule: ArmCircuitBreakerRule): string {
  const condition = rule.failureCondition ?? {};
  const threshold = condition.count != null ? `count ${condition.count}` : `percentage ${condition.percentage ?? '?'}`;
  return `${rule.name ?? 'rule'}: ${threshold} in ${condition.interval ?? '?'} on ${describeRanges(condition.statusCodeRanges) || 'no status ranges'}, trip ${rule.tripDuration ?? '?'}`;
}

function describeRanges(ranges: { min?: number | null; max?: number | null }[] | null | undefined): string {
  return (ranges ?? [])
    .map((range) => `${range.min ?? '?'}-${range.max ?? '?'}`)
    .sort()
    .join(',');
}

function describeReasons(reasons: string[] | null | undefined): string {
  return [...(reasons ?? [])].sort().join(',');
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function lower(value: unknown): string | null {
  return typeof value === 'string' ? value.toLowerCase() : null;
}

function normaliseUrl(value: unknown): string | null {
  if (typeof value !== 'string') {
    return null;
  }
  const trimmed = value.trim().replace(/\/$/, '');
  try {
    const url = new URL(trimmed);
    // Scheme and host are case-insensitive (URL lower-cases them); the path is not.
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}${url.search}`;
  } catch {
    return trimmed;
  }
}

/** Duration in seconds from ISO 8601 (`PT1M`, `P1DT2H`) or .NET TimeSpan (`00:01:00`, `1.02:00:00`) text. */
export function durationInSeconds(value: string): number | undefined {
  const iso = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(value.trim());
  if (iso && value.trim().length > 1 && !/T$/i.test(value.trim())) {
    const [, days, hours, minutes, seconds] = iso;
    return Number(days ?? 0) * 86_400 + Number(hours ?? 0) * 3_600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0);
  }
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (span) {
    const [, days, hours, minutes, seconds] = span;
    return Number(days ?? 0) * 86_400 + Number(hours) * 3_600 + Number(minutes) * 60 + Number(seconds);
  }
  return undefined;
}

function sameDuration(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') {
    return (a ?? null) === (b ?? null);
  }
  const aSeconds = durationInSeconds(a);
  const bSeconds = durationInSeconds(b);
  if (aSeconds !== undefined && bSeconds !== undefined) {
    return aSeconds === bSeconds;
  }
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}
