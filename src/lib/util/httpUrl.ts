/**
 * One rule for every URL the verifier takes (CLI flags, settings, backend URLs in a definition): an absolute
 * http(s) URL that names a host and carries no credentials.
 *
 * Why the text is checked before `new URL`: the WHATWG parser is lenient for special schemes, so
 * `https:///openai` parses with host `openai`, and `https:\\user:pw@host` parses with credentials. A URL
 * with `user:password@` would make Node send Basic auth on every request and leak the password into every
 * message that echoes the URL, so it is refused and never echoed (see `redactUrl`).
 */

/** Why `value` is not an absolute http(s) URL with a host and no credentials; undefined when it is one. */
export function httpUrlProblem(value: string): string | undefined {
  if (hasCredentials(value)) {
    return 'must not contain credentials (user:password@): put secrets in settings, never in a URL';
  }
  if (!/^https?:\/\//i.test(value)) {
    return 'is not an absolute http(s) URL (expected https://host/…)';
  }
  if (/[\s\u0000-\u001f\u007f]/.test(value)) {
    return 'must not contain whitespace or control characters';
  }
  // The authority must start right after "//": "https:///openai" has no host.
  if (!/^https?:\/\/[^/?#\\]/i.test(value)) {
    return 'must name a host (https://host/…)';
  }
  try {
    if (new URL(value).hostname === '') {
      return 'must name a host (https://host/…)';
    }
  } catch {
    return 'is not a valid absolute http(s) URL';
  }
  return undefined;
}

/** True when the URL text carries userinfo (`user@`, `user:pw@`), however the parser would read it. */
export function hasCredentials(value: string): boolean {
  // Any "@" before the first path/query/fragment delimiter after the scheme is userinfo. Backslashes count as
  // slashes for http(s) in the WHATWG parser, so they end the authority too.
  if (/^[a-z][a-z0-9+.-]*:[/\\]*[^/?#\\]*@/i.test(value)) {
    return true;
  }
  try {
    const url = new URL(value);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/**
 * The URL safe to print: userinfo removed (`https://***@host/…`), control characters replaced by `?`, at most
 * `maxLength` characters. Use it for any URL a user gave before echoing it.
 */
export function redactUrl(value: string, maxLength = 100): string {
  const stripped = value.replace(/^([a-z][a-z0-9+.-]*:[/\\]*)[^/?#\\]*@/i, '$1***@');
  const printable = stripped.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > maxLength ? `${printable.slice(0, maxLength - 1)}…` : printable;
}
