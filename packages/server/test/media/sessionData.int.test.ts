import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataChannel } from 'node-datachannel';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { createApp, type ParleyApp, type SessionDataContext } from '../../src/index.ts';
import { PEER_OPTIONS } from './clients.ts';

/**
 * The data channel of a `POST /offer` session: the default `ping` → `pong` echo, and an app's
 * `sessionData` handler (createApp option) that answers what it handles and leaves the rest to the echo.
 */
let app: ParleyApp;
let dataDir: string;
const seen: Array<{ label: string; message: string }> = [];
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-session-data-'));
  app = await createApp(
    { host: '127.0.0.1', port: 0, logLevel: 'silent', dataDir, media: { bindAddress: '127.0.0.1' } },
    {
      sessionData: {
        onMessage(ctx: SessionDataContext, message) {
          if (typeof message !== 'string' || !message.startsWith('app ')) return false;
          seen.push({ label: ctx.label, message });
          ctx.send(`handled ${message.slice(4)} on ${ctx.stream}`);
          return true;
        },
      },
    },
  );
});
after(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
  releaseNativeWebRtc();
});

async function offerWithChannel(): Promise<{ peer: MediaPeer; dc: DataChannel }> {
  const peer = new MediaPeer('session-data', PEER_OPTIONS);
  peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: { kind: 'video', name: 'vp8', clockRate: 90000 }, payloadType: 96 });
  const dc = peer.createDataChannel('app', {});
  const res = await fetch(`${app.url}/offer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sdp: await peer.createOffer(), type: 'offer' }),
  });
  const body = (await res.json()) as { sdp?: string };
  assert.equal(res.status, 200);
  peer.setAnswer(body.sdp ?? '');
  await new Promise<void>((resolve) => (dc.isOpen() ? resolve() : dc.onOpen(resolve)));
  return { peer, dc };
}

test('an /offer session answers ping with pong, and an app handler sees the rest first', async () => {
  const { peer, dc } = await offerWithChannel();
  try {
    const replies: string[] = [];
    dc.onMessage((m) => replies.push(typeof m === 'string' ? m : Buffer.from(m as ArrayBuffer).toString()));
    dc.sendMessage('ping 1');
    dc.sendMessage('app hello');
    dc.sendMessage('other');
    await waitFor(() => replies.length >= 3, 5000, 'three replies');
    assert.deepEqual(replies, ['pong 1', 'handled hello on test', 'other']);
    assert.deepEqual(seen, [{ label: 'app', message: 'app hello' }]);
  } finally {
    peer.close();
  }
});
