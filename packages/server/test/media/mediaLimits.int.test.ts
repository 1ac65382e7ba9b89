import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { RtpViewer } from './clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

describe('media limits and metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ media: { bindAddress: '127.0.0.1', maxPeersPerClient: 2 } });
  });
  after(async () => {
    await server.close();
    releaseNativeWebRtc();
  });

  it('limits media sessions per client address and frees the slot when a session ends', async () => {
    const url = `${server.app.url}/whep/test`;
    const viewers = [new RtpViewer('lim-a'), new RtpViewer('lim-b')];
    const extra = new RtpViewer('lim-c');
    try {
      for (const v of viewers) await v.whep(url);
      await waitFor(() => viewers.every((v) => v.frames >= 3), 10_000, 'frames on both viewers');
      const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
      assert.equal(refused.status, 429);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');

      const metrics = await (await fetch(`${server.app.url}/metrics`)).text();
      const sent = Number(/parley_media_bytes_total\{direction="sent"\} (\d+)/.exec(metrics)?.[1]);
      assert.ok(sent > 10_000, `media bytes sent: ${sent}`);
      assert.match(metrics, /parley_media_sessions\{role="viewer"\} 2/);

      await viewers[0]!.close();
      await extra.whep(url);
      await waitFor(() => extra.frames >= 3, 10_000, 'frames on the viewer admitted after a DELETE');
      const later = await (await fetch(`${server.app.url}/metrics`)).text();
      const sentLater = Number(/parley_media_bytes_total\{direction="sent"\} (\d+)/.exec(later)?.[1]);
      assert.ok(sentLater > sent, 'the counter keeps growing after a session closed');
    } finally {
      for (const v of [...viewers, extra]) await v.close();
    }
  });
});
