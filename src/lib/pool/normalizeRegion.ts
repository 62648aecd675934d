/**
 * Canonical form of an Azure region name for comparison: lower case, all whitespace removed, so that the
 * display name in `x-ms-region` ("West US") equals the programmatic name ("westus").
 */
export function normalizeRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, '');
}
