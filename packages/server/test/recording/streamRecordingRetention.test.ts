/**
 * Deleting stream recordings: `DELETE /api/recordings/:id/file` removes a finished recording's file
 * and metadata (a room recording's composed file is refused: the room recordings own it), and
 * `media.recordingRetentionMs` deletes finished stream recordings that ended long enough ago.
 * Real RecordingManager and files on disk; the HTTP part runs a real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyError } from '@parley-rtc/protocol';
import { startServer } from '@parley-rtc/test-support/server';
import { createLogger } from '../../src/util/logger.ts';
import { RecordingManager } from '../../src/media/recording/RecordingManager.ts';

const HOUR = 3_600_000;

/** A finished recording as a RecordingManager leaves it: the file and its metadata. */
function writeFinished(dir: string, id: string, stream: string, endedAt: number): void {
  const info = {
    id,
    stream,
    startedAt: new Date(endedAt - 1000).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    durationMs: 1000,
    bytes: 4,
    state: 'done',
    container: 'webm',
    video: 'vp8',
  };
  writeFileSync(join(dir, `${id}.json`), JSON.stringify(info));
  writeFileSync(join(dir, `${id}.webm`), 'webm');
}

test('retention deletes finished stream recordings that ended long enough ago, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-streamrec-'));
  const m = new RecordingManager(dir, createLogger('silent'), undefined, 24 * HOUR);
  try {
    const now = Date.parse('2026-06-01T12:00:00Z');
    writeFinished(dir, '20260530000000-aaaaaa', 'cam', now - 48 * HOUR);
    writeFinished(dir, '20260601000000-bbbbbb', 'cam', now - HOUR);
    writeFinished(dir, '20260529000000-cccccc', 'room:standup', now - 72 * HOUR);
    assert.equal(m.sweep(now), 1);
    assert.deepEqual(
      m.list().map((r) => r.id),
      ['20260601000000-bbbbbb', '20260529000000-cccccc'],
      'the recent one and the composed room recording stay',
    );
    assert.equal(existsSync(join(dir, '20260530000000-aaaaaa.webm')), false, 'its file is gone with its metadata');
    assert.equal(m.sweep(now), 0, 'a second sweep finds nothing more');
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without retention nothing is swept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-streamrec-'));
  const m = new RecordingManager(dir, createLogger('silent'));
  try {
    writeFinished(dir, '20200101000000-aaaaaa', 'cam', Date.parse('2020-01-01T00:00:00Z'));
    assert.equal(m.sweep(), 0);
    assert.equal(m.list().length, 1);
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DELETE /api/recordings/:id/file deletes a finished recording; unknown → 404, a composed room recording → 403', async () => {
  const server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  try {
    const dir = join(server.dataDir, 'recordings');
    const now = Date.now();
    writeFinished(dir, '20260601000000-dddddd', 'cam', now);
    writeFinished(dir, '20260601000000-eeeeee', 'room:standup', now);
    const del = (id: string) => fetch(`${server.app.url}/api/recordings/${id}/file`, { method: 'DELETE' });
    assert.equal((await fetch(`${server.app.url}/api/recordings/20260601000000-dddddd/file`)).status, 200, 'downloadable before');
    assert.equal((await del('20260601000000-dddddd')).status, 204);
    assert.equal((await fetch(`${server.app.url}/api/recordings/20260601000000-dddddd/file`)).status, 404, 'gone after');
    const listed = (await (await fetch(`${server.app.url}/api/recordings`)).json()) as { recordings: Array<{ id: string }> };
    assert.deepEqual(
      listed.recordings.map((r) => r.id),
      ['20260601000000-eeeeee'],
    );
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('20260601000000-dddddd')).length, 0);
    const again = await del('20260601000000-dddddd');
    assert.equal(again.status, 404);
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const composed = await del('20260601000000-eeeeee');
    assert.equal(composed.status, 403);
    const body = (await composed.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.match(body.error.message, /rooms\/:room\/recordings/);
    assert.equal((await del('not a valid id')).status, 400);
  } finally {
    await server.close();
  }
});

test('the recording manager refuses to delete a composed room recording itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-streamrec-'));
  const m = new RecordingManager(dir, createLogger('silent'));
  try {
    writeFinished(dir, '20260601000000-ffffff', 'room:x', Date.now());
    assert.throws(
      () => m.remove('20260601000000-ffffff'),
      (err: unknown) => err instanceof ParleyError && err.code === 'FORBIDDEN',
    );
    assert.equal(m.remove('20260601000000-000000'), false);
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
