import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyWebhook, type WebhookEvent } from '@parley-rtc/protocol/webhooks';
import type { SfuPublishResult } from '@parley-rtc/protocol';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { data, request, startServer } from '@parley-rtc/test-support/server';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { PEER_OPTIONS } from '../media/clients.ts';
import { WebhookReceiver } from './receiver.ts';
import { parseConfig } from '../../src/config.ts';
import { webhookSigner } from '../../src/webhooks/config.ts';

const API_SECRET = 'webhook-api-secret-0123456789';
const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const peers: MediaPeer[] = [];

after(() => {
  for (const p of peers) p.close();
  releaseNativeWebRtc();
});

test('a room, its members and a published track reach a receiver in order, signed with the API key', async () => {
  const receiver = await WebhookReceiver.start();
  const server = await startServer({
    auth: { apiKeys: { hooks: API_SECRET } },
    webhooks: { urls: [receiver.url], retryBaseMs: 50 },
    media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 0 },
  });
  try {
    const mint = (identity: string) => server.app.tokens.mint({ identity, room: 'hooked', name: identity }, 'hooks');
    const ada = await server.connect();
    const adaId = data(await request<{ self: { id: string } }>(ada, 'join', { room: 'hooked', name: 'Ada', token: mint('ada') })).self.id;
    const bob = await server.connect();
    data(await request(bob, 'join', { room: 'hooked', name: 'Bob', token: mint('bob') }));
    data(await request(ada, 'chat_message', { text: 'not sent: chat is opt-in' }));

    const peer = new MediaPeer('hook-pub', PEER_OPTIONS);
    peers.push(peer);
    peer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc: randomSsrc() });
    const pub = data(await request<SfuPublishResult>(ada, 'sfu_publish', { sdp: await peer.createOffer(), source: 'camera' }, 10_000));
    data(await request(ada, 'sfu_close', { connectionId: pub.connectionId }));

    data(await request(bob, 'leave', {}));
    data(await request(ada, 'leave', {}));
    await receiver.until((reqs) => reqs.some((r) => r.body.includes('"room_finished"')));

    assert.ok(receiver.requests.every((r) => r.headers['parley-key'] === 'hooks'));
    const events: WebhookEvent[] = [];
    for (const r of receiver.requests) {
      const signature = r.headers['parley-signature'];
      events.push(
        await verifyWebhook({ body: r.body, signature: typeof signature === 'string' ? signature : undefined, secret: API_SECRET }),
      );
    }
    assert.deepEqual(
      events.map((e) => `${e.event}${e.participant ? `:${e.participant.identity}` : ''}`),
      [
        'room_started',
        'participant_joined:ada',
        'participant_joined:bob',
        'track_published:ada',
        'track_unpublished:ada',
        'participant_left:bob',
        'participant_left:ada',
        'room_finished',
      ],
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(events.every((e) => e.room === 'hooked'));
    assert.equal(events[1]!.participant!.id, adaId);
    assert.equal(events[1]!.participant!.name, 'Ada');
    assert.deepEqual(events[3]!.track, { id: pub.producers[0]!.id, kind: 'video', source: 'camera' });
  } finally {
    await server.close();
    await receiver.close();
  }
});

test('webhook URLs without a secret to sign with stop the server at start, naming why; webhooks.secret signs alone', async () => {
  await assert.rejects(startServer({ webhooks: { urls: ['http://127.0.0.1:9/hook'] } }), /no secret to sign events with/);
  const config = parseConfig({
    auth: { apiKeys: { k: API_SECRET } },
    webhooks: { urls: ['http://127.0.0.1:9/hook'], secret: 'webhook-only-secret-0123' },
  });
  assert.deepEqual(
    webhookSigner(config.webhooks, config.auth),
    { secret: 'webhook-only-secret-0123' },
    'no API key named: receivers cannot mint',
  );
});
