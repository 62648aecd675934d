import type { AlertNotification, Notifier } from '../../../src/lib/alerts/types';

/** A notifier that records what it received and fails while `down` is true. */
export class FakeNotifier implements Notifier {
  readonly received: AlertNotification[] = [];
  attempts = 0;
  down = false;

  constructor(readonly name: string) {}

  async send(notification: AlertNotification): Promise<void> {
    this.attempts++;
    if (this.down) throw new Error(`${this.name} returned 503`);
    this.received.push(notification);
  }
}
