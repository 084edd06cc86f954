import type { ReplayLogs } from '../replay/open-replay-logs.ts';
import { openBackend, type BackendConfig } from './open-backend.ts';

/**
 * The event log(s) to replay, from the backend opened read-only (nothing appended, no lock, no
 * transactional producer): closing them closes the backend.
 */
export async function readReplayLogs(config: BackendConfig): Promise<ReplayLogs> {
  const backend = await openBackend(config, { mode: 'read', purpose: 'replay' });
  return { ...backend.readers.log, close: () => backend.close() };
}
