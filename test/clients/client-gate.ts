import type { TestContext } from 'node:test';

/**
 * A real client (Claude Code, an SDK, a Python venv) that cannot run here: in CI (`CI=true`) that is
 * a failure, never a skip — a green run must mean the client really ran; on a developer's machine the
 * test is skipped with the reason. Returns true when the test should stop (skipped).
 */
export function clientUnavailable(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`real client unavailable in CI: ${reason}`);
  t.skip(reason);
  return true;
}
