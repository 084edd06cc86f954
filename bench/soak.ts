/**
 * `npm run soak`: a bounded soak of a real `turnstream start` (embedded store) under valid and
 * hostile traffic with kill -9 restarts. Every valid turn is re-sent until acknowledged (as an
 * at-least-once producer would); at the end every acknowledged event must be in the log and every
 * session's totals must equal the sums of its acknowledged turns. Prints acked vs found and the
 * server's peak RSS; exits 1 on any difference. `npm run soak -- --help` for options.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSoakServer } from './soak/soak-server.ts';
import { createTraffic, type ValidTurn } from './soak/soak-traffic.ts';
import { acknowledged, sendRequest } from './soak/send-request.ts';

const USAGE = `npm run soak -- [options]
  --minutes M       how long traffic runs (default 3)
  --kill-every S    seconds between kill -9 restarts (default 20)
  --clients N       concurrent senders (default 4)
  --sessions N      distinct sessions (default 200)
  --hostile-every N one request in N is a whole hostile request (default 7); half of the valid
                    requests also carry 1-3 hostile lines
  --seed N          traffic seed (default 1)
  --keep            keep the data dir (printed) for inspection`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    'kill-every': { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    sessions: { type: 'string', default: '200' },
    'hostile-every': { type: 'string', default: '7' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const num = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${v}"`);
  return n;
};
const minutes = num('minutes', values.minutes);
const killEveryMs = num('kill-every', values['kill-every']) * 1000;
const clients = num('clients', values.clients);
const say = (m: string): void => void process.stderr.write(`[soak] ${m}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-soak-'));
// Short body timeouts so stalled uploads are cut (408) within the run, not only by the kills.
const server = await createSoakServer({ dataDir, extraArgs: ['--body-idle-timeout', '5s', '--body-timeout', '10s'] });
const next = createTraffic({
  seed: num('seed', values.seed),
  sessions: num('sessions', values.sessions),
  hostileEvery: num('hostile-every', values['hostile-every']),
});
const acked: ValidTurn[] = [];
const pending: ValidTurn[] = [];
const answers = new Map<string, number>();
const tally = (k: string): void => void answers.set(k, (answers.get(k) ?? 0) + 1);
let maxAnswerBytes = 0;

await server.start();
const endAt = Date.now() + minutes * 60_000;
say(`${minutes} min, kill -9 every ${killEveryMs / 1000} s, ${clients} clients, data in ${dataDir}`);

/** Sends one valid turn until acknowledged or `until` passes; returns whether it was. */
async function deliver(turn: ValidTurn, first: Buffer | undefined, headers: Record<string, string> | undefined, until: number): Promise<boolean> {
  let body = first ?? Buffer.from(turn.lines.join('\n'));
  for (;;) {
    const o = await sendRequest(server.url, { kind: 'valid', body, ...(first === undefined ? {} : { headers }) });
    if (o.ok) maxAnswerBytes = Math.max(maxAnswerBytes, o.bytes);
    if (acknowledged(o, turn.ids)) return true;
    if (Date.now() > until) return false;
    // Not acknowledged (killed mid-request, 503): re-send the valid lines alone, as a producer would.
    body = Buffer.from(turn.lines.join('\n'));
    first = undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const client = async (): Promise<void> => {
  while (Date.now() < endAt) {
    const r = next();
    if (r.turn === undefined) {
      const o = await sendRequest(server.url, r, 15_000);
      tally(`${r.kind} → ${o.ok ? o.status : o.error}`);
      if (o.ok) maxAnswerBytes = Math.max(maxAnswerBytes, o.bytes);
      continue;
    }
    if (await deliver(r.turn, r.body, r.headers, endAt)) acked.push(r.turn);
    else pending.push(r.turn);
  }
};

const killer = (async () => {
  while (Date.now() + killEveryMs < endAt) {
    await new Promise((r) => setTimeout(r, killEveryMs));
    server.sample();
    await server.kill9();
    say(`kill -9 #${server.restarts + 1}; restarting`);
    await server.start();
  }
})();
const sampler = setInterval(() => server.sample(), 1000);
await Promise.all([...Array.from({ length: clients }, client), killer]);

// Whatever was in flight at the end is delivered now, against a running server.
for (const t of pending.splice(0)) {
  if (await deliver(t, undefined, undefined, Date.now() + 60_000)) acked.push(t);
  else throw new Error(`turn ${t.ids[0]} was never acknowledged`);
}
// One more kill -9 and restart: the totals must come out exact from what is on disk.
await server.kill9();
await server.start();
for (let i = 0; ; i++) {
  const h = (await (await fetch(`${server.url}/healthz`)).json()) as { ok: boolean; lag?: number };
  if (h.ok && (h.lag ?? 0) === 0) break;
  if (i > 600) throw new Error(`server not caught up after 60 s: ${JSON.stringify(h)}`);
  await new Promise((r) => setTimeout(r, 100));
}
clearInterval(sampler);

const bin = fileURLToPath(new URL('../bin/turnstream.js', import.meta.url));
const list = JSON.parse(
  execFileSync(process.execPath, [bin, 'sessions', 'list', '--json', '--limit', '1000000', '--data-dir', dataDir], { encoding: 'utf8', maxBuffer: 1 << 28 }),
) as { session: string; totals: { turns: number; llmCalls: number; toolCalls: number; inputTokens: number; outputTokens: number } }[];
await server.stop();

const db = new DatabaseSync(join(dataDir, 'turnstream.db'), { readOnly: true });
const has = db.prepare('SELECT 1 FROM events WHERE id = ?');
let ackedEvents = 0;
let found = 0;
const want = new Map<string, { turns: number; llmCalls: number; toolCalls: number; inputTokens: number; outputTokens: number }>();
for (const t of acked) {
  for (const id of t.ids) {
    ackedEvents++;
    if (has.get(id) !== undefined) found++;
  }
  const w = want.get(t.session) ?? { turns: 0, llmCalls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0 };
  w.turns++;
  w.llmCalls += t.llmCalls;
  w.toolCalls += t.toolCalls;
  w.inputTokens += t.inputTokens;
  w.outputTokens += t.outputTokens;
  want.set(t.session, w);
}
const hostileInLog = (db.prepare("SELECT COUNT(*) AS n FROM events WHERE id LIKE 'h-%'").get() as { n: number }).n;
db.close();
const got = new Map(list.map((s) => [s.session, s.totals]));
const wrong: string[] = [];
for (const [session, w] of want) {
  const g = got.get(session);
  for (const k of Object.keys(w) as (keyof typeof w)[]) if (g?.[k] !== w[k]) wrong.push(`${session} ${k}: want ${w[k]}, got ${g?.[k]}`);
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const lines = [
  `soak: ${minutes} min, ${server.restarts} kill -9 restarts, ${acked.length} valid turns acknowledged`,
  `acked valid events: ${ackedEvents}, found in log: ${found}, hostile events in log: ${hostileInLog}`,
  `sessions: ${want.size} expected, totals exact for ${want.size - new Set(wrong.map((w) => w.split(' ')[0])).size}`,
  `max RSS of the server: ${mib(server.maxRssBytes)}; largest HTTP answer: ${maxAnswerBytes} bytes`,
  'hostile requests (kind → answer: count):',
  ...[...answers].sort().map(([k, n]) => `  ${k}: ${n}`),
  ...(wrong.length > 0 ? ['MISMATCHES:', ...wrong.slice(0, 20).map((w) => `  ${w}`)] : []),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.keep) say(`data kept in ${dataDir}`);
else rmSync(dataDir, { recursive: true, force: true });
process.exit(found === ackedEvents && wrong.length === 0 && hostileInLog === 0 ? 0 : 1);
