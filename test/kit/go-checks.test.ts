import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureExtension, goMissing, kitUnavailable, root, turnstreamExtension } from './kit-process.ts';

/**
 * The Go side of the kit integration: gofmt, go vet, and the extension's tests in kit's own
 * extension test pattern (pkg/extensions/test, as examples/extensions/*_test.go use it). Those
 * import kit's internal packages, so they compile only inside kit's module: the files are placed
 * there virtually with `go test -overlay` (the vendored source stays untouched; in CI it is
 * read-only). go vet needs the `kit/ext` import (a package only kit's interpreter provides) to be
 * the real one, github.com/mark3labs/kit/internal/extensions, so it vets a copy with that import.
 */
// The real path: go resolves its working directory through symlinks, and an overlay entry must name
// the file as go sees it (a checkout whose shared/ is a symlink otherwise matched no file and ran no test).
const kitSrcGiven = resolve(process.env['KIT_SRC'] ?? join(root, '../shared/vendor/kit'));
const kitSrc = existsSync(kitSrcGiven) ? realpathSync(kitSrcGiven) : kitSrcGiven;
const testFile = join(root, 'integrations/kit/turnstream_test.go');

function go(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync('go', args, { cwd: kitSrc, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-buildvcs=false', ...env }, timeout: 600_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The extension's source with kit's virtual import replaced by the real package, for go vet. */
function vettable(file: string, dir: string): string {
  const src = readFileSync(file, 'utf8');
  assert.match(src, /^\/\/go:build ignore$/m, `${file} must carry //go:build ignore, as kit's extensions do`);
  assert.match(src, /^\t"kit\/ext"$/m);
  const out = join(dir, `vet-${file.split('/').pop()}`);
  writeFileSync(out, src.replace(/^\/\/go:build ignore\n/m, '').replace(/^\t"kit\/ext"$/m, '\text "github.com/mark3labs/kit/internal/extensions"'));
  return out;
}

function overlay(dir: string, name: string, files: Record<string, string>): string {
  const replace: Record<string, string> = {};
  for (const [inKit, real] of Object.entries(files)) replace[join(kitSrc, inKit)] = real;
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ Replace: replace }));
  return path;
}

describe('the kit extension, on the Go side', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-kit-go-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const unavailable = (): string | undefined => goMissing() ?? (existsSync(join(kitSrc, 'go.mod')) ? undefined : `no kit source at ${kitSrc}`);

  it('is gofmt-clean', (t) => {
    if (kitUnavailable(t, goMissing())) return;
    const r = spawnSync('gofmt', ['-l', turnstreamExtension, captureExtension, testFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '', `not gofmt-formatted:\n${r.stdout}`);
  });

  it('is go vet-clean (extension, test-only extension and the extension tests)', (t) => {
    if (kitUnavailable(t, unavailable())) return;
    // Two packages' worth: both extensions declare Init, so each is vetted in its own run.
    const main = overlay(dir, 'vet-main.json', {
      'examples/extensions/zz_turnstream_vet.go': vettable(turnstreamExtension, dir),
      'examples/extensions/turnstream_test.go': testFile,
    });
    const first = go(['vet', '-overlay', main, './examples/extensions/']);
    assert.equal(first.status, 0, `go vet:\n${first.out}`);
    const capture = overlay(dir, 'vet-capture.json', { 'examples/extensions/zz_capture_vet.go': vettable(captureExtension, dir) });
    const second = go(['vet', '-overlay', capture, './examples/extensions/']);
    assert.equal(second.status, 0, `go vet:\n${second.out}`);
  });

  it("loads and behaves under kit's own extension test harness (go test)", (t) => {
    if (kitUnavailable(t, unavailable())) return;
    const o = overlay(dir, 'test.json', { 'examples/extensions/turnstream_test.go': testFile });
    const r = go(['test', '-overlay', o, '-count=1', '-v', '-run', '^TestTurnstream', './examples/extensions/'], {
      TURNSTREAM_KIT_EXTENSION: turnstreamExtension,
    });
    assert.equal(r.status, 0, `go test:\n${r.out.slice(-4000)}`);
    const passed = [...r.out.matchAll(/^--- PASS: (TestTurnstream_\w+)/gm)].map((m) => m[1]);
    assert.deepEqual(passed.sort(), [
      'TestTurnstream_Loads',
      'TestTurnstream_NeverBlocksWhenTurnstreamIsAway',
      'TestTurnstream_RetriesKeepIdsAndOrder',
      'TestTurnstream_StreamsOneTurn',
    ]);
  });
});
