/**
 * Resolves once `condition` holds, checking every `intervalInMs`; rejects with `what` after `deadlineInMs`.
 * A bounded wait on a condition, never a sleep standing in for one.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, deadlineInMs = 20_000, intervalInMs = 20): Promise<void> {
  const deadline = Date.now() + deadlineInMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${deadlineInMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalInMs));
  }
}
