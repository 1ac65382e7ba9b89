import { test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@parley-rtc/test-support/poll';
import assert from 'node:assert/strict';
import {
  DEFAULT_WEBHOOK_EVENTS,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookEvent,
} from '@parley-rtc/protocol/webhooks';
import { WebhookSender } from '../../src/webhooks/WebhookSender.ts';
import { createLogger } from '../../src/util/logger.ts';
import { Metrics } from '../../src/metrics/Metrics.ts';
import { WebhookReceiver } from './receiver.ts';

const SECRET = 'webhook-test-secret-0123456789';

function sender(urls: string[], overrides: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}) {
  const metrics = new Metrics();
  const s = new WebhookSender({
    urls,
    events: new Set(DEFAULT_WEBHOOK_EVENTS),
    secret: SECRET,
    keyId: 'key1',
    maxAttempts: 5,
    retryBaseMs: 20,
    timeoutMs: 2000,
    maxQueue: 100,
    maxPending: 1000,
    maxConcurrent: 16,
    log: createLogger('silent'),
    metrics,
    ...overrides,
  });
  return { s, metrics };
}

async function verified(body: string, signature: string | string[] | undefined): Promise<WebhookEvent> {
  return verifyWebhook({ body, signature: typeof signature === 'string' ? signature : undefined, secret: SECRET });
}

test('events reach the receiver in order per room, signed, with the key named', async () => {
  const receiver = await WebhookReceiver.start();
  const { s, metrics } = sender([receiver.url]);
  try {
    s.send({ event: 'room_started', room: 'r1' });
    for (let i = 0; i < 5; i++) s.send({ event: 'participant_joined', room: 'r1', participant: { id: `m${i}`, name: `n${i}` } });
    s.send({ event: 'chat_message', room: 'r1' }); // not selected by default: never sent
    s.send({ event: 'room_finished', room: 'r1' });
    await s.whenIdle();
    assert.equal(receiver.requests.length, 7);
    const events = await Promise.all(receiver.requests.map((r) => verified(r.body, r.headers['parley-signature'])));
    assert.deepEqual(
      events.map((e) => e.event),
      ['room_started', ...Array<string>(5).fill('participant_joined'), 'room_finished'],
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      events.slice(1, 6).map((e) => e.participant?.id),
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    );
    assert.ok(receiver.requests.every((r) => r.headers['parley-key'] === 'key1'));
    assert.equal(new Set(events.map((e) => e.id)).size, 7);
    assert.equal(metrics.value('parley_webhooks_total', { outcome: 'delivered' }), 7);
  } finally {
    await s.close('test done');
    await receiver.close();
  }
});

test('a receiver that fails twice gets the event on the third try, and later events wait for it', async () => {
  const receiver = await WebhookReceiver.start();
  receiver.respond = (_req, index) => (index < 2 ? 503 : 200);
  const { s, metrics } = sender([receiver.url]);
  try {
    s.send({ event: 'participant_joined', room: 'r', participant: { id: 'a', name: 'A' } });
    s.send({ event: 'participant_left', room: 'r', participant: { id: 'a', name: 'A' } });
    await s.whenIdle();
    const events = await Promise.all(receiver.requests.map((r) => verified(r.body, r.headers['parley-signature'])));
    assert.deepEqual(
      events.map((e) => e.event),
      ['participant_joined', 'participant_joined', 'participant_joined', 'participant_left'],
    );
    assert.equal(events[0]!.id, events[2]!.id, 'a retry carries the same event id');
    assert.equal(metrics.value('parley_webhooks_total', { outcome: 'retried' }), 2);
    assert.equal(metrics.value('parley_webhooks_total', { outcome: 'delivered' }), 2);
  } finally {
    await s.close('test done');
    await receiver.close();
  }
});

test('an event is given up after maxAttempts and the room goes on; other rooms are not held up', async () => {
  const receiver = await WebhookReceiver.start();
  receiver.respond = (req) => (req.body.includes('"room":"stuck"') ? 500 : 200);
  const { s, metrics } = sender([receiver.url], { maxAttempts: 3, retryBaseMs: 1000 });
  try {
    s.send({ event: 'room_started', room: 'stuck' });
    s.send({ event: 'room_started', room: 'free' });
    await receiver.until((reqs) => reqs.some((r) => r.body.includes('"room":"free"')));
    const stuckSoFar = receiver.requests.filter((r) => r.body.includes('"room":"stuck"')).length;
    assert.ok(stuckSoFar < 3, 'the free room was delivered while the stuck one was still retrying');
    await s.whenIdle();
    assert.equal(receiver.requests.filter((r) => r.body.includes('"room":"stuck"')).length, 3);
    assert.equal(metrics.value('parley_webhooks_total', { outcome: 'failed' }), 1);
  } finally {
    await s.close('test done');
    await receiver.close();
  }
});

test('close() aborts retries at once and is idempotent; nothing is sent after it', async () => {
  const receiver = await WebhookReceiver.start();
  receiver.respond = () => 500;
  const { s } = sender([receiver.url], { retryBaseMs: 60_000 });
  s.send({ event: 'room_started', room: 'r' });
  await receiver.until((reqs) => reqs.length === 1);
  const closed = s.close('shutdown', 50);
  await Promise.all([closed, s.close('again')]);
  s.send({ event: 'room_finished', room: 'r' });
  assert.equal(s.wants('room_finished'), false);
  assert.equal(receiver.requests.length, 1);
  await receiver.close();
});

test('at most maxConcurrent deliveries are in flight, and maxPending caps what waits across rooms', async () => {
  let inFlight = 0;
  let most = 0;
  const held: Array<() => void> = [];
  const slow = createServer((req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    req.resume();
    held.push(() => {
      inFlight--;
      res.end();
    });
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const { port } = slow.address() as AddressInfo;
  const { s, metrics } = sender([`http://127.0.0.1:${port}/`], { maxConcurrent: 2, maxPending: 5 });
  // The receiver answers one held request every 20 ms.
  const releaser = setInterval(() => held.shift()?.(), 20);
  try {
    for (let i = 0; i < 8; i++) s.send({ event: 'room_started', room: `r${i}` });
    assert.equal(metrics.value('parley_webhooks_total', { outcome: 'dropped' }), 3, 'three over maxPending');
    await waitFor(() => metrics.value('parley_webhooks_total', { outcome: 'delivered' }) === 5, 10_000, 'five delivered');
    assert.ok(most >= 1 && most <= 2, `at most two in flight (saw ${most})`);
  } finally {
    clearInterval(releaser);
    await s.close('test done');
    slow.closeAllConnections();
    await new Promise<void>((resolve) => slow.close(() => resolve()));
  }
});

test('verifyWebhook refuses forged, altered, replayed and malformed requests', async () => {
  const body = JSON.stringify({ id: 'x', event: 'room_started', createdAt: 1, room: 'r', seq: 1 });
  const now = Math.floor(Date.now() / 1000);
  const good = await signWebhook(body, SECRET, now);
  assert.equal((await verifyWebhook({ body, signature: good, secret: SECRET })).room, 'r');
  const reasons = async (options: Parameters<typeof verifyWebhook>[0]): Promise<string> => {
    try {
      await verifyWebhook(options);
      return 'accepted';
    } catch (err) {
      assert.ok(err instanceof WebhookVerificationError);
      return err.reason;
    }
  };
  assert.equal(await reasons({ body, signature: await signWebhook(body, 'another-secret-0123456789', now), secret: SECRET }), 'mismatch');
  assert.equal(await reasons({ body: body.replace('"r"', '"s"'), signature: good, secret: SECRET }), 'mismatch');
  assert.equal(await reasons({ body, signature: await signWebhook(body, SECRET, now - 600), secret: SECRET }), 'expired');
  assert.equal(await reasons({ body, signature: undefined, secret: SECRET }), 'missing');
  assert.equal(await reasons({ body, signature: 't=1,v1=zz', secret: SECRET }), 'malformed');
  const notAnEvent = '{"hello":1}';
  assert.equal(await reasons({ body: notAnEvent, signature: await signWebhook(notAnEvent, SECRET, now), secret: SECRET }), 'invalid-body');
});
