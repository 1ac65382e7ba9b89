/**
 * The Router's closure contract with real node-datachannel offers (the peers need not connect:
 * the router answers and owns its SFU connections right away): a publisher leaving closes its
 * producers and their consumers with a logged reason chain; closing the router closes everything
 * once, emits `close` and then drops its listeners.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { Router } from '../../src/sfu/Router.ts';
import { PEER_OPTIONS } from '../media/clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const OPUS = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 } as const;
const clients: MediaPeer[] = [];
after(() => {
  for (const c of clients) c.close();
  releaseNativeWebRtc();
});

/** A client offer: a VP8 and an Opus section, sending (publisher) or receiving (subscriber). */
async function offer(name: string, direction: 'send' | 'recv'): Promise<string> {
  const peer = new MediaPeer(name, PEER_OPTIONS);
  clients.push(peer);
  peer.addTrack({ mid: '0', kind: 'video', direction, codec: VP8, payloadType: 96 });
  peer.addTrack({ mid: '1', kind: 'audio', direction, codec: OPUS, payloadType: 111 });
  return peer.createOffer();
}

/** A router with one publisher (2 producers) and two subscribers of both (4 consumers); every event recorded. */
async function room(id: string) {
  const lines: Array<{ msg: string; reason?: string }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; reason?: string }) });
  const router = new Router({ id, connectionOptions: () => PEER_OPTIONS, log });
  const events: string[] = [];
  router.on('consumerclose', (cid, reason) => events.push(`consumer ${cid} ${reason}`));
  router.on('producerclose', (pid, reason) => events.push(`producer ${pid} ${reason}`));
  router.on('connectionclose', (connectionId, reason) => events.push(`connection ${connectionId} ${reason}`));
  router.on('close', (reason) => events.push(`router ${reason}`));
  const pub = await router.publish(await offer('pub', 'send'));
  const ids = pub.producers.map((p) => p.id);
  const subs = [await router.subscribe(await offer('sub1', 'recv'), ids), await router.subscribe(await offer('sub2', 'recv'), ids)];
  assert.deepEqual([router.stats().connections, router.stats().producers, router.stats().consumers], [3, 2, 4]);
  return { router, pub, subs, events, lines };
}

test('a publisher leaving closes its producers (transportclose) and their consumers (producerclose), logged as a chain', async () => {
  const { router, pub, subs, events, lines } = await room('leave');
  router.closeConnection(pub.connectionId, 'peerleft');
  const consumerIds = subs.flatMap((s) => s.consumers.map((c) => c.id));
  assert.deepEqual(events.filter((e) => e.startsWith('consumer')).sort(), consumerIds.map((id) => `consumer ${id} producerclose`).sort());
  assert.deepEqual(
    events.filter((e) => e.startsWith('producer')).sort(),
    pub.producers.map((p) => `producer ${p.id} transportclose`).sort(),
  );
  assert.deepEqual(
    events.filter((e) => e.startsWith('connection')),
    [`connection ${pub.connectionId} peerleft`],
  );
  // each producer's two consumers close before the router announces that producer's end
  assert.deepEqual(
    events.map((e) => e.split(' ')[0]),
    ['consumer', 'consumer', 'producer', 'consumer', 'consumer', 'producer', 'connection'],
    events.join(', '),
  );
  assert.equal(lines.filter((l) => l.msg === 'consumer closed: producer closed (publisher left)').length, 4, JSON.stringify(lines));
  assert.equal(lines.filter((l) => l.msg === 'producer closed: publisher left').length, 2);
  assert.ok(lines.some((l) => l.msg === 'sfu connection closed: publisher left' && l.reason === 'peerleft'));
  assert.deepEqual(
    [router.stats().connections, router.stats().producers, router.stats().consumers],
    [2, 0, 0],
    'subscribers stay, with nothing to receive',
  );
  for (const s of subs) for (const c of s.consumers) assert.equal(router.consumer(c.id), undefined);
  router.close();
});

test('closing the router closes everything once (routerclose), emits close, then drops its listeners', async () => {
  const { router, pub, subs, events, lines } = await room('close');
  const consumers = subs.flatMap((s) => s.consumers.map((c) => router.consumer(c.id)!));
  const producers = pub.producers.map((p) => router.publication(p.id)!);
  router.close('roomempty');
  router.close('shutdown');
  router.closeConnection(pub.connectionId);
  assert.equal(events.filter((e) => e.startsWith('consumer')).length, 4);
  assert.ok(
    events.filter((e) => e.startsWith('consumer')).every((e) => e.endsWith(' routerclose')),
    events.join(', '),
  );
  assert.equal(events.filter((e) => e.startsWith('producer')).length, 2);
  assert.ok(events.filter((e) => e.startsWith('producer') || e.startsWith('connection')).every((e) => e.endsWith(' routerclose')));
  assert.equal(events.filter((e) => e.startsWith('connection')).length, 3);
  assert.deepEqual(
    events.filter((e) => e.startsWith('router')),
    ['router roomempty'],
  );
  assert.equal(events.at(-1), 'router roomempty', 'close comes last');
  assert.ok(consumers.every((c) => c.closeReason === 'routerclose') && producers.every((p) => p.closeReason === 'routerclose'));
  for (const event of ['close', 'consumerclose', 'producerclose', 'connectionclose', 'speakers'] as const)
    assert.equal(router.listenerCount(event), 0, event);
  assert.ok(lines.some((l) => l.msg === 'consumer closed: router closed (the last member left)'));
  assert.deepEqual([router.stats().connections, router.stats().producers, router.stats().consumers], [0, 0, 0]);
  await assert.rejects(router.publish(await offer('late', 'send')), { code: 'SHUTTING_DOWN' });
});
