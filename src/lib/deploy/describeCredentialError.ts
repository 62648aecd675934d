/** How to sign in, said once, instead of the chained credential's paragraph per credential it tried. */
export const SIGN_IN_HINT =
  'no Azure sign-in found: run "az login" (Azure CLI) or "azd auth login", or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal; in Azure, turn on the Function App\'s managed identity.';

/** Longest credential error kept (first line only): the chained credential's full text runs to dozens of lines. */
const MAX_LENGTH = 300;

/**
 * One line that says why no token could be had. `DefaultAzureCredential` is a chain: when every credential in it is
 * unavailable (no environment variables, no managed identity, no CLI sign-in) it throws an
 * `AggregateAuthenticationError` whose `errors` are all `CredentialUnavailableError`s, one paragraph each
 * (@azure/identity `errors.js`). That case means "not signed in", and the user needs the sign-in command, not the
 * paragraphs. Any other failure (an expired sign-in, a tenant refusing the client) keeps its first line, bounded.
 */
export function describeCredentialError(error: unknown): string {
  if (isNoSignIn(error)) return SIGN_IN_HINT;
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  return firstLine.length > MAX_LENGTH ? `${firstLine.slice(0, MAX_LENGTH)}…` : firstLine || 'the credential returned no token';
}

function isNoSignIn(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'CredentialUnavailableError') return true;
  if (error.name !== 'AggregateAuthenticationError') return false;
  const errors = (error as Error & { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => e instanceof Error && e.name === 'CredentialUnavailableError');
}
