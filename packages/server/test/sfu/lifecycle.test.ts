/**
 * The SFU's closure contract without a network (docs/lifecycle.md, "SFU"): each entity closes
 * once, with a reason, children before parents hear of it, and drops its listeners; the
 * forwarding table forgets what closed. The Router's part is in routerLifecycle.int.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { describeConsumerClose, describeProducerClose } from '../../src/sfu/closeReasons.ts';
import { Consumer, type RtpOutput } from '../../src/sfu/Consumer.ts';
import { Forwarding } from '../../src/sfu/Forwarding.ts';
import { Producer } from '../../src/sfu/Producer.ts';
import { Simulcast } from '../../src/sfu/Simulcast.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const KEY = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);

function output(ssrc: number): RtpOutput & { sent: number } {
  return {
    ssrc,
    isOpen: true,
    sent: 0,
    sendRtp() {
      this.sent++;
      return true;
    },
    sendRtcp: () => true,
  };
}

function producer(id: string, ssrc: number): Producer {
  return new Producer({ id, connectionId: 'pub', kind: 'video', codec: VP8, payloadType: 96, ssrc, sendKeyFrameRequest: () => {} });
}

function consumer(table: Forwarding, p: Producer, id: string): Consumer & { out: ReturnType<typeof output> } {
  const out = output(0x1000 + id.length);
  const c = new Consumer({ id, connectionId: 'sub', producer: p, output: out, payloadType: 96 });
  table.add(c);
  return Object.assign(c, { out });
}

/** Every `close` event an object emits, in order. */
function closes(target: { on(event: 'close', fn: (reason: string) => void): () => void }): string[] {
  const seen: string[] = [];
  target.on('close', (reason) => seen.push(reason));
  return seen;
}

test('closing the producer closes its consumers with reason producerclose, before its own listeners hear of it', () => {
  const table = new Forwarding();
  const p = producer('p', 0x1111);
  table.addProducer(p);
  const order: string[] = [];
  const cs = [consumer(table, p, 'a'), consumer(table, p, 'bb')];
  for (const c of cs) c.on('close', (reason) => order.push(`${c.id}:${reason}`));
  p.on('close', (reason) => order.push(`producer:${reason}`));
  assert.equal(p.consumerCount, 2);
  p.close('transportclose');
  assert.deepEqual(order, ['a:producerclose', 'bb:producerclose', 'producer:transportclose']);
  assert.deepEqual(
    cs.map((c) => c.closeReason),
    ['producerclose', 'producerclose'],
  );
  assert.equal(p.closeReason, 'transportclose');
  assert.equal(p.consumerCount, 0);
  assert.deepEqual(table.size, { producers: 0, consumers: 0 }, 'the table forgot both sides');
});

test('close is idempotent: one close event, the first reason stays, listeners are removed', () => {
  const table = new Forwarding();
  const p = producer('p', 0x1111);
  const c = consumer(table, p, 'a');
  const consumerCloses = closes(c);
  const producerCloses = closes(p);
  assert.equal(c.listenerCount('close'), 2, 'the table and the test listen');
  c.close();
  c.close('transportclose');
  assert.deepEqual(consumerCloses, ['close']);
  assert.equal(c.closeReason, 'close');
  assert.equal(c.listenerCount('close'), 0);
  assert.equal(c.listenerCount('sourcechange'), 0);
  assert.equal(p.consumerCount, 0, 'a closed consumer is no longer fed');
  p.receiveRtp(writeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc: 0x1111, payload: KEY }));
  assert.equal(c.out.sent, 0);
  p.close();
  p.close('routerclose');
  assert.deepEqual(producerCloses, ['close']);
  assert.equal(p.listenerCount('close'), 0);
  assert.deepEqual(table.size, { producers: 0, consumers: 0 });
});

test('a consumer switching to a producer that closes stays on its current one', () => {
  const table = new Forwarding();
  const a = producer('a', 0x1111);
  const b = producer('b', 0x2222);
  const c = consumer(table, a, 'c');
  c.start();
  a.receiveRtp(writeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc: 0x1111, payload: KEY }));
  c.switchProducer(b); // flowing video: waits for b's key frame
  assert.equal(c.pendingProducer, b);
  assert.equal(b.consumerCount, 1, 'the table feeds it from both while it switches');
  b.close();
  assert.equal(c.closed, false);
  assert.equal(c.pendingProducer, undefined);
  assert.equal(c.producer, a);
  assert.equal(a.consumerCount, 1);
  a.close();
  assert.equal(c.closeReason, 'producerclose');
});

test('closing a simulcast publication closes each layer and each consumer once, with the same reason chain', () => {
  const table = new Forwarding();
  const sim = new Simulcast({
    id: 's',
    connectionId: 'pub',
    codec: VP8,
    payloadType: 96,
    rids: ['q', 'h', 'f'],
    ridExtId: 10,
    sendRtcp: () => true,
    localSsrc: 7,
  });
  for (const l of sim.layers) table.addProducer(l);
  const layerCloses = sim.layers.map((l) => closes(l));
  const simCloses = closes(sim);
  const cs = [0, 1, 2].map((i) => {
    const c = consumer(table, sim.layers[i]!, `c${i}`);
    sim.track(c);
    return c;
  });
  const consumerCloses = cs.map((c) => closes(c));
  sim.close('transportclose');
  sim.close();
  assert.deepEqual(layerCloses, [['transportclose'], ['transportclose'], ['transportclose']]);
  assert.deepEqual(consumerCloses, [['producerclose'], ['producerclose'], ['producerclose']]);
  assert.deepEqual(simCloses, ['transportclose']);
  assert.equal(sim.listenerCount('close'), 0);
  assert.deepEqual(table.size, { producers: 0, consumers: 0 });
});

test('close reasons read as a chain in the log text', () => {
  const producerText = describeProducerClose('transportclose', 'peerleft', undefined);
  assert.equal(producerText, 'publisher left');
  assert.equal(
    `consumer closed: ${describeConsumerClose('producerclose', { producer: producerText })}`,
    'consumer closed: producer closed (publisher left)',
  );
  assert.equal(describeConsumerClose('routerclose', { router: 'roomempty' }), 'router closed (the last member left)');
  assert.equal(describeConsumerClose('transportclose', { connection: 'disconnected' }), 'subscriber stayed disconnected');
  assert.equal(describeConsumerClose('transportclose', {}), 'subscriber track closed');
});
