// Module-local alias (see binomial.ts: jest's vm sandbox makes global lookups slow).
const math = Math;

/**
 * z with P(Z > z) = `upperTail` for a standard normal Z (P. J. Acklam's rational approximation, relative error
 * about 1e-9). Tails above 0.5 are clamped to 0.5 (z = 0). Used only to size `probesNeeded`, never for a verdict.
 */
export function normalQuantileUpper(upperTail: number): number {
  const p = math.min(math.max(upperTail, 1e-300), 0.5);
  // Lower-tail region of Acklam's algorithm applied to p (< 0.5), negated.
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  if (p < 0.02425) {
    const q = math.sqrt(-2 * math.log(p));
    const num = ((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!;
    const den = (((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1;
    return -num / den;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const q = p - 0.5;
  const r = q * q;
  const num = (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q;
  const den = ((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1;
  return -num / den;
}
