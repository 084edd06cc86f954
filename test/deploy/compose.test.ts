import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deployPath, readDeployYaml } from '../helpers/deploy-files.ts';
import type { Yaml } from '../helpers/deploy-files.ts';

// Docker does not run on the machines that run these tests: check what can be checked without
// it. The compose file parses, every file it mounts or builds from exists, the container paths
// the commands name are mounted, and every host:port one config names is what the other side
// listens on.
interface Service {
  image?: string;
  build?: { context: string; dockerfile_inline: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, null>;
}

const compose = readDeployYaml('docker-compose.yml') as unknown as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  assert.ok(s, `no service ${name}`);
  return s;
};
const env = (name: string, key: string): string => String(svc(name).environment?.[key] ?? assert.fail(`${name}: no ${key}`));
/** Container ports a service publishes. */
const published = (name: string): number[] => (svc(name).ports ?? []).map((p) => Number(p.split(':').at(-1)));
const hostPort = (url: string): { host: string; port: number } => {
  const u = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: u.hostname, port: Number(u.port) };
};
/** The deploy/ path mounted at container path `target` (through the longest mounted prefix). */
function hostPathOf(service: string, target: string): string {
  const mounts = (svc(service).volumes ?? []).map((v) => v.split(':')).filter(([src]) => src!.startsWith('./'));
  const hit = mounts.filter(([, dst]) => target === dst || target.startsWith(`${dst}/`)).sort((a, b) => b[1]!.length - a[1]!.length)[0];
  assert.ok(hit, `${service}: ${target} is not inside a mounted ./ path`);
  return deployPath(hit[0]!.slice(2) + target.slice(hit[1]!.length));
}
/** The address a `${env:NAME:-default}` listen setting (deploy/jaeger/jaeger.yml) takes in compose: its default. */
const envDefault = (v: Yaml | undefined): string => {
  const s = String(v);
  return /^\$\{env:[A-Z_]+:-(.+)\}$/.exec(s)?.[1] ?? s;
};
const get = (v: Yaml | undefined, ...path: string[]): Yaml | undefined =>
  path.reduce<Yaml | undefined>((x, k) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? x[k] : undefined), v);

describe('deploy/docker-compose.yml', () => {
  it('has the full stack', () => {
    for (const s of ['kafka', 'turnstream', 'prometheus', 'alertmanager', 'grafana', 'jaeger']) svc(s);
  });

  it('mounts only files and folders that exist; named volumes are declared; depends_on names services', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) assert.ok(existsSync(deployPath(src.slice(2))), `${name}: ${src} does not exist`);
        else assert.ok(Object.hasOwn(compose.volumes, src), `${name}: volume ${src} not declared`);
      }
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) assert.ok(compose.services[d], `${name} depends on unknown ${d}`);
    }
  });

  it('builds turnstream from files that exist in the repository', () => {
    const b = svc('turnstream').build!;
    assert.equal(b.context, '..');
    const copies = [...b.dockerfile_inline.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    assert.deepEqual(copies, ['package.json', 'package-lock.json', 'bin', 'src']);
    for (const src of copies) assert.ok(existsSync(deployPath(`../${src}`)), `COPY ${src}: missing`);
    assert.match(b.dockerfile_inline, /ENTRYPOINT \["node", "bin\/turnstream.js"\]/);
  });

  it('every config file a command names is mounted', () => {
    const flags: [string, RegExp][] = [
      ['prometheus', /^--config.file=(.+)$/],
      ['alertmanager', /^--config.file=(.+)$/],
      ['jaeger', /^--config=(.+)$/],
    ];
    for (const [name, flag] of flags) {
      const arg = (svc(name).command ?? []).map((c) => flag.exec(c)?.[1]).find((x) => x !== undefined);
      assert.ok(arg, `${name}: no config flag`);
      assert.ok(existsSync(hostPathOf(name, arg)), `${name}: ${arg} not mounted`);
    }
    assert.ok(existsSync(hostPathOf('grafana', env('grafana', 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'))));
    assert.ok(existsSync(hostPathOf('grafana', '/etc/grafana/provisioning/datasources/turnstream.yml')));
  });

  it('Prometheus scrapes turnstream where it listens and alerts the Alertmanager service', () => {
    const prom = readDeployYaml('prometheus/prometheus.compose.yml');
    const port = Number(env('turnstream', 'TURNSTREAM_PORT'));
    assert.equal(env('turnstream', 'TURNSTREAM_HOST'), '0.0.0.0', 'turnstream must listen beyond loopback in a container');
    assert.ok(published('turnstream').includes(port));
    const scrape = JSON.stringify(get(prom, 'scrape_configs'));
    assert.ok(scrape.includes(`"turnstream:${port}"`), scrape);
    assert.ok(JSON.stringify(get(prom, 'alerting')).includes('"alertmanager:9093"'));
    assert.ok(published('alertmanager').includes(9093), 'Alertmanager listens on 9093 by default');
    assert.ok(published('prometheus').includes(9090), 'Prometheus listens on 9090 by default');
  });

  it('Grafana data sources point at the services', () => {
    const ds = get(readDeployYaml('grafana/provisioning/datasources/turnstream.yml'), 'datasources') as { type: string; url: string }[];
    const url = (type: string): { host: string; port: number } => hostPort(ds.find((d) => d.type === type)!.url);
    assert.deepEqual(url('prometheus'), { host: 'prometheus', port: 9090 });
    assert.deepEqual(url('alertmanager'), { host: 'alertmanager', port: 9093 });
    const query = hostPort(envDefault(get(readDeployYaml('jaeger/jaeger.yml'), 'extensions', 'jaeger_query', 'http', 'endpoint')));
    assert.deepEqual(url('jaeger'), { host: 'jaeger', port: query.port });
    assert.ok(published('jaeger').includes(query.port));
    assert.ok(published('grafana').includes(3000));
  });

  it('spans flow turnstream → Jaeger (OTLP/HTTP) → its storage, which its query API reads', () => {
    const jaeger = readDeployYaml('jaeger/jaeger.yml');
    const otlp = hostPort(env('turnstream', 'OTEL_EXPORTER_OTLP_ENDPOINT'));
    assert.equal(otlp.host, 'jaeger');
    assert.equal(otlp.port, hostPort(envDefault(get(jaeger, 'receivers', 'otlp', 'protocols', 'http', 'endpoint'))).port);
    assert.equal(env('turnstream', 'OTEL_METRICS_EXPORTER'), 'none', 'metrics come from the /metrics scrape, not OTLP');
    const grpcIn = hostPort(envDefault(get(jaeger, 'receivers', 'otlp', 'protocols', 'grpc', 'endpoint'))).port;
    assert.ok(published('jaeger').includes(otlp.port) && published('jaeger').includes(grpcIn));
    const traces = get(jaeger, 'service', 'pipelines', 'traces');
    assert.deepEqual(get(traces, 'receivers'), ['otlp']);
    assert.deepEqual(get(traces, 'exporters'), ['jaeger_storage_exporter']);
    const store = String(get(jaeger, 'exporters', 'jaeger_storage_exporter', 'trace_storage'));
    assert.equal(get(jaeger, 'extensions', 'jaeger_query', 'storage', 'traces'), store, 'the query API reads what the pipeline writes');
    assert.ok(get(jaeger, 'extensions', 'jaeger_storage', 'backends', store), `no storage backend ${store}`);
    assert.deepEqual(get(jaeger, 'service', 'extensions'), ['jaeger_storage', 'jaeger_query']);
  });

  it('turnstream reaches Kafka on the listener Kafka advertises', () => {
    const brokers = env('turnstream', 'TURNSTREAM_KAFKA_BROKERS');
    assert.ok(
      env('kafka', 'KAFKA_ADVERTISED_LISTENERS')
        .split(',')
        .some((l) => l.endsWith(`//${brokers}`)),
      brokers,
    );
    const external = /EXTERNAL:\/\/[^:]+:(\d+)/.exec(env('kafka', 'KAFKA_ADVERTISED_LISTENERS'));
    assert.ok(external && published('kafka').includes(Number(external[1])));
  });

  it('no two services publish the same host port', () => {
    const host = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':').slice(-2, -1)[0]));
    assert.equal(new Set(host).size, host.length, host.join(', '));
  });
});
