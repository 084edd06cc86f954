/**
 * Runs `op` — a kafkajs consumer's `seek`, `pause` or `resume` — once the consumer's group is
 * running. `consumer.run()` resolves before the consumer group exists when the group coordinator is
 * still loading (a freshly started broker): those calls then throw "Consumer group was not
 * initialized". They are retried for a bounded time instead of failing the caller.
 */
export async function whenRunning(op: () => void, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      op();
      return;
    } catch (error) {
      if (!/not initialized/i.test((error as Error).message) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
