/**
 * Stream recordings know their container: a stream with codecs it cannot write as they are is
 * refused (UNSUPPORTED, naming the codec) before anything is written; an H.264 stream is an `.mkv`
 * recording (removed again when nothing was recorded); metadata written before H.264 recordings
 * reads as WebM/VP8 and downloads as `video/webm`. Real RecordingManager, LiveSource and files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyError } from '@parley-rtc/protocol';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import { createLogger } from '../../src/util/logger.ts';
import { LiveSource } from '../../src/media/sources/LiveSource.ts';
import { RecordingManager } from '../../src/media/recording/RecordingManager.ts';

const H264: CodecSpec = { kind: 'video', name: 'h264', clockRate: 90000, profileLevelId: '42e01f' };
// codecs no source has today (WHIP accepts VP8, H.264 and Opus only): the recorder still refuses them by name
// @ts-expect-error -- not a CodecSpec name
const VP9: CodecSpec = { kind: 'video', name: 'vp9', clockRate: 90000 };
const OPUS: CodecSpec = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 };
// @ts-expect-error -- not a CodecSpec name
const PCMU: CodecSpec = { kind: 'audio', name: 'pcmu', clockRate: 8000 };

function withManager(fn: (m: RecordingManager, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'parley-streamrec-'));
  const m = new RecordingManager(dir, createLogger('silent'));
  try {
    fn(m, dir);
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const live = (video: CodecSpec | undefined, audio: CodecSpec | undefined) =>
  new LiveSource({ name: 'cam', video, audio, requestKeyFrame: () => {} });

test('codecs a recording cannot hold as they are are refused with the codec named, and nothing is written', () => {
  withManager((m, dir) => {
    for (const [source, message] of [
      [live(VP9, OPUS), /VP8 and H\.264 video \(this stream is VP9\)/],
      [live(H264, PCMU), /Opus audio \(this stream is PCMU\)/],
    ] as const) {
      assert.throws(
        () => m.start(source),
        (err: unknown) => err instanceof ParleyError && err.code === 'UNSUPPORTED' && message.test(err.message),
      );
    }
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(m.list(), []);
  });
});

test('an H.264 stream is an .mkv recording; one that recorded nothing leaves no file', async () => {
  const source = live(H264, OPUS);
  withManager((m, dir) => {
    const started = m.start(source);
    assert.equal(started.container, 'mkv');
    assert.equal(started.video, 'h264');
    const stopped = m.stop(started.id);
    assert.equal(stopped.state, 'empty');
    assert.equal(existsSync(join(dir, `${started.id}.mkv`)), false);
    assert.equal(m.fileOf(started.id), undefined);
    assert.equal(m.list()[0]?.container, 'mkv');
  });
  await source.close();
});

test('metadata from before H.264 recordings reads as a WebM VP8 recording', () => {
  withManager((m, dir) => {
    const id = '20260101000000-abcdef';
    const old = { id, stream: 'my cam', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000, bytes: 4, state: 'done' };
    writeFileSync(join(dir, `${id}.json`), JSON.stringify(old));
    writeFileSync(join(dir, `${id}.webm`), 'webm');
    assert.deepEqual(m.get(id), { ...old, container: 'webm', video: 'vp8' });
    assert.deepEqual(m.fileOf(id), { path: join(dir, `${id}.webm`), contentType: 'video/webm', filename: `my_cam-${id}.webm` });
  });
});
