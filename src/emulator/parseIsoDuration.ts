/** Thrown when an ISO 8601 duration cannot be parsed. */
export class IsoDurationError extends Error {
  override readonly name = 'IsoDurationError';
  constructor(readonly value: unknown) {
    super(`Not an ISO 8601 duration (e.g. PT1M, P1D, PT30S): ${JSON.stringify(value)}`);
  }
}

const DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/**
 * Parses an ISO 8601 duration as APIM circuit-breaker rules use them (`PT1M`, `PT30S`, `P1D`, `P1DT2H`)
 * into milliseconds. Years and months are rejected (their length is ambiguous).
 * @throws IsoDurationError on anything else, including `P` and `PT` alone.
 */
export function parseIsoDurationInMs(value: unknown): number {
  if (typeof value !== 'string') {
    throw new IsoDurationError(value);
  }
  const match = DURATION.exec(value.trim());
  if (!match || /^PT?$/i.test(value.trim()) || /T$/i.test(value.trim())) {
    throw new IsoDurationError(value);
  }
  const [, weeks, days, hours, minutes, seconds] = match;
  const part = (text: string | undefined): number => (text === undefined ? 0 : Number(text));
  const totalSeconds =
    part(weeks) * 604800 + part(days) * 86400 + part(hours) * 3600 + part(minutes) * 60 + part(seconds);
  return Math.round(totalSeconds * 1000);
}

/** Like {@link parseIsoDurationInMs} but returns undefined instead of throwing. */
export function tryParseIsoDurationInMs(value: unknown): number | undefined {
  try {
    return parseIsoDurationInMs(value);
  } catch {
    return undefined;
  }
}
