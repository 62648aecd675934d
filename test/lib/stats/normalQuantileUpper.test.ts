import { normalQuantileUpper } from '../../../src/lib/stats/normalQuantileUpper';

describe('normalQuantileUpper', () => {
  it.each([
    [0.5, 0],
    [0.3, 0.5244005127],
    [0.025, 1.9599639845],
    [5e-5, 3.8905918864],
    [1e-10, 6.3613409024],
  ])('gives the standard normal upper quantile of %p', (tail, z) => {
    expect(normalQuantileUpper(tail)).toBeCloseTo(z, 6);
  });
});
