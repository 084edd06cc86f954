import { type Dirent, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What a transcript's path says about it (Claude Code's layout); the lines may say more. */
export interface TranscriptPathInfo {
  readonly path: string;
  /** `<project>/<session>.jsonl` → the session id; a subagent file → its parent's. Undefined when the name is not a session id. */
  readonly session: string | undefined;
  /** `<project>/<session>/subagents/agent-<id>.jsonl`. */
  readonly subagentFile: boolean;
  readonly agentId: string | undefined;
  /** The project directory (Claude Code's encoding of the working directory), when the layout has one. */
  readonly project: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Claude Code names project directories after the absolute working directory: `/home/a/x` → `-home-a-x`, `C:\x` → `C--x`. */
const PROJECT_DIR = /^(-|[A-Za-z]--)/;

export function describeTranscriptPath(path: string): TranscriptPathInfo {
  const stem = basename(path, '.jsonl');
  const dir = dirname(path);
  if (basename(dir) === 'subagents') {
    const sessionDir = dirname(dir);
    const project = basename(dirname(sessionDir));
    return {
      path,
      session: basename(sessionDir),
      subagentFile: true,
      agentId: stem.startsWith('agent-') ? stem.slice('agent-'.length) : stem,
      project: PROJECT_DIR.test(project) ? project : undefined,
    };
  }
  const project = basename(dir);
  return {
    path,
    session: UUID.test(stem) ? stem : undefined,
    subagentFile: false,
    agentId: undefined,
    project: PROJECT_DIR.test(project) ? project : undefined,
  };
}

/**
 * Every `*.jsonl` file under `root` (or `root` itself when it is a file), depth first, in name
 * order. Directories that cannot be read are reported in `errors` and skipped; symbolic links to
 * directories are not followed (a link cycle must not hang an import).
 */
export function findTranscripts(root: string): { files: string[]; errors: { path: string; error: Error }[] } {
  const files: string[] = [];
  const errors: { path: string; error: Error }[] = [];
  let rootIsFile = false;
  try {
    rootIsFile = statSync(root).isFile();
  } catch (error) {
    errors.push({ path: root, error: error as Error });
    return { files, errors };
  }
  if (rootIsFile) return { files: [root], errors };
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      errors.push({ path: dir, error: error as Error });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.jsonl') && (e.isFile() || e.isSymbolicLink())) files.push(p);
    }
  };
  walk(root);
  return { files, errors };
}
