/**
 * A browser publishes its (fake) camera from the Broadcast page over WHIP, a second page watches
 * it on the Watch page, and a recording of the browser's stream is a valid WebM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../src/config.ts';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { chromiumMissing, launchChromium, mediaContext } from '@parley-rtc/test-support/browser';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

const webDir = parseConfig({}).webDir;
const skip = chromiumMissing || (!existsSync(join(webDir, 'index.html')) && 'web app not built (npm run build:web)');
let server: TestServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  releaseNativeWebRtc();
});

test('Broadcast page → WHIP → Watch page, and the browser’s stream is recorded to a playable WebM', { skip }, async () => {
  const origin = server.app.url;
  const caster = await (await mediaContext(browser, origin)).newPage();
  const viewer = await (await mediaContext(browser, origin)).newPage();
  try {
    await caster.goto(`${origin}/broadcast`);
    await caster.getByTestId('broadcast-name').fill('browsercam');
    await caster.getByTestId('broadcast-start').click();
    await caster.getByTestId('broadcast-status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });

    await viewer.goto(`${origin}/watch?stream=browsercam`);
    await viewer.getByTestId('watch-play').click();
    await viewer.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid="watch-video"]');
        return v !== null && v.videoWidth > 0 && v.currentTime > 0.5;
      },
      undefined,
      { timeout: 15_000 },
    );

    await caster.getByTestId('broadcast-record').click();
    await caster.getByTestId('broadcast-record').filter({ hasText: 'Stop recording' }).waitFor({ timeout: 5000 });
    const started = Date.now();
    let id = '';
    await waitFor(
      async () => {
        const list = (await (await fetch(`${origin}/api/recordings`)).json()) as { recordings: Array<{ id: string; stream: string }> };
        id = list.recordings.find((r) => r.stream === 'browsercam')?.id ?? '';
        return id !== '' && Date.now() - started > 3000;
      },
      10_000,
      'a 3 s recording',
    );
    await caster.getByTestId('broadcast-record').click();
    await waitFor(async () => (await fetch(`${origin}/api/recordings/${id}/file`)).status === 200, 10_000, 'the finished recording');

    const path = join(server.dataDir, 'recordings');
    const file = execFileSync('find', [path, '-name', '*.webm'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .find((f) => f.includes(id));
    assert.ok(file, `recording file for ${id} in ${path}`);
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' }),
    ) as {
      streams: Array<{ codec_type: string; codec_name: string }>;
      format: { duration: string };
    };
    assert.ok(
      probe.streams.some((s) => s.codec_type === 'video' && s.codec_name === 'vp8'),
      JSON.stringify(probe.streams),
    );
    assert.ok(Number(probe.format.duration) >= 2.5, `duration ${probe.format.duration}`);
  } finally {
    await caster.context().close();
    await viewer.context().close();
  }
});
