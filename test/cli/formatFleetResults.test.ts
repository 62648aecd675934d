import { worstExitCode } from '../../src/cli/formatFleetResults';

describe('worstExitCode', () => {
  it('ranks invalid input over could-not-run over drift over inconclusive over ok', () => {
    expect(worstExitCode([0, 2, 1, 4, 3])).toBe(3);
    expect(worstExitCode([0, 2, 1, 4])).toBe(4);
    expect(worstExitCode([2, 1, 0])).toBe(1);
    expect(worstExitCode([0, 2])).toBe(2);
    expect(worstExitCode([0, 0])).toBe(0);
  });

  it('is 0 for no pools and counts an unknown code as could-not-run', () => {
    expect(worstExitCode([])).toBe(0);
    expect(worstExitCode([1, 99])).toBe(4);
    expect(worstExitCode([3, 99])).toBe(3);
  });
});
