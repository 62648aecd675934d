import { nextAlertState } from '../../../src/lib/alerts/alertMachine';
import { healthOf } from '../../../src/lib/report/healthOf';

describe('outage: every probe failed', () => {
  it('is the health of a report with an alert-severity outage finding, above failover and drift', () => {
    expect(
      healthOf({
        status: 'no-data',
        findings: [
          { kind: 'outage', severity: 'alert', message: 'Every one of the 60 probes failed.' },
          { kind: 'failover', severity: 'alert', message: 'backup answered' },
        ],
      }),
    ).toBe('outage');
    expect(healthOf({ status: 'no-data', findings: [{ kind: 'outage', severity: 'warning', message: 'x' }] })).toBe('ok');
  });

  it('pages at once from ok and from drift (escalation), and is not closed by one inconclusive run', () => {
    const options = { reminderAfterMs: 3_600_000 };
    const opened = nextAlertState(null, { pool: 'p', health: 'outage', message: 'all failed' }, 0, options);
    expect(opened.notification).toMatchObject({ kind: 'alert', health: 'outage', previousHealth: 'ok' });

    const drift = nextAlertState(null, { pool: 'p', health: 'drift', message: 'drift' }, 0, options);
    const escalated = nextAlertState(drift.state, { pool: 'p', health: 'outage', message: 'all failed' }, 1_000, options);
    expect(escalated.notification).toMatchObject({ kind: 'alert', health: 'outage', previousHealth: 'drift' });

    const thin = nextAlertState(escalated.state, { pool: 'p', health: 'ok', message: 'no data', conclusive: false }, 2_000, options);
    expect(thin.notification).toBeNull();
    expect(thin.state.health).toBe('outage');
  });
});
