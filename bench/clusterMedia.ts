// Inter-node media link cost (docs/sfu.md, "Rooms across nodes"): CPU per forwarded packet of one
// hop over the node-to-node link vs one hop of the local SFU path, both measured end to end in this
// process (sending and receiving side of the hop together, every thread of the process counted):
//   link hop:  Producer → relay Consumer (rewrite) → RelayLink (copy + sendto, UDP on 127.0.0.1)
//              → far RelayLink (recv, demux, dedupe) → remote Producer (buffer; no far consumers)
//   local hop: Producer → Consumer (rewrite) → libdatachannel track (SRTP + sendto) → a
//              node-datachannel subscriber on 127.0.0.1 (recv + SRTP decrypt)
// 1100-byte VP8 payloads, sent in bursts of 16 with the receiver at most 64 packets behind (no
// socket-buffer loss). Run: npm run bench -- cluster-media [--packets 30000]
import { fileURLToPath } from 'node:url';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { Consumer, type RtpOutput } from '../packages/server/src/sfu/Consumer.ts';
import { Forwarding } from '../packages/server/src/sfu/Forwarding.ts';
import { Producer } from '../packages/server/src/sfu/Producer.ts';
import { RelayLink } from '../packages/server/src/sfu/relay/RelayLink.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const PEER = { iceServers: [], bindAddress: '127.0.0.1' };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function packets(n: number): Buffer[] {
  const key = Buffer.alloc(1100);
  key.set([0x10, 0, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
  return Array.from({ length: n }, (_, i) =>
    writeRtp({ payloadType: 96, sequenceNumber: i & 0xffff, timestamp: i * 3000, ssrc: 1, payload: i === 0 ? key : key.subarray(1) }),
  );
}

function publisher(): Producer {
  return new Producer({ id: 'p', connectionId: 'pub', kind: 'video', codec: VP8, payloadType: 96, ssrc: 1, sendKeyFrameRequest: () => {} });
}

/**
 * Feeds `list` into `producer` in bursts of 16, never more than 64 packets before `received()`; ends
 * when all arrived or nothing more arrives for 500 ms (then the rest counts as lost). CPU µs per received packet.
 */
async function drive(
  producer: Producer,
  list: Buffer[],
  received: () => number,
): Promise<{ micros: number; delivered: number; seconds: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  let last = -1;
  let lastProgressAt = t0;
  while (received() < list.length) {
    const got = received();
    if (got !== last) [last, lastProgressAt] = [got, performance.now()];
    else if (performance.now() - lastProgressAt > 500) break;
    while (i < list.length && i - received() < 64) for (let k = 0; k < 16 && i < list.length; k++) producer.receiveRtp(list[i++]!);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const end = received() === list.length ? performance.now() : lastProgressAt;
  const c = process.cpuUsage(c0);
  const delivered = received();
  return { micros: (c.user + c.system) / Math.max(1, delivered), delivered, seconds: (end - t0) / 1000 };
}

async function linkHop(n: number): Promise<{ micros: number; delivered: number; seconds: number }> {
  const near = await RelayLink.open('far', '127.0.0.1');
  const far = await RelayLink.open('near', '127.0.0.1');
  near.setRemote(far.local);
  far.setRemote(near.local);
  const source = publisher();
  const forwarding = new Forwarding();
  const output = near.addOutgoing(0x1234, (p) => relay.receiveRtcp(p));
  const relay = new Consumer({ id: 'relay', connectionId: 'relay-far', producer: source, output, payloadType: 96 });
  forwarding.add(relay);
  relay.start();
  const remote = new Producer({
    id: 'p',
    connectionId: 'pub',
    kind: 'video',
    codec: VP8,
    payloadType: 96,
    ssrc: 0x1234,
    sendKeyFrameRequest: () => {},
  });
  far.addIncoming(0x1234, remote, 0x5678);
  try {
    return await drive(source, packets(n), () => remote.stats.packetsIn);
  } finally {
    source.close();
    remote.close();
    near.close();
    far.close();
  }
}

async function localHop(n: number): Promise<{ micros: number; delivered: number; seconds: number }> {
  const subscriber = new MediaPeer('bench-sub', PEER);
  const server = new MediaPeer('bench-sfu', PEER);
  try {
    const recv = subscriber.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
    let got = 0;
    recv.on('rtp', () => got++);
    const offer = await subscriber.createOffer();
    const send = server.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96 });
    const opened = new Promise<void>((resolve) => send.once('open', resolve));
    subscriber.setAnswer(await server.answer(offer));
    await subscriber.waitConnected(10_000);
    await opened;
    const source = publisher();
    const forwarding = new Forwarding();
    const output: RtpOutput = send;
    const consumer = new Consumer({ id: 'c', connectionId: 'sub', producer: source, output, payloadType: 96 });
    forwarding.add(consumer);
    consumer.start();
    try {
      return await drive(source, packets(n), () => got);
    } finally {
      source.close();
    }
  } finally {
    server.close();
    subscriber.close();
  }
}

export async function benchClusterMedia(): Promise<void> {
  const n = Math.max(1000, Math.min(200_000, Number(arg('packets', '30000')) || 30_000));
  console.log(
    `\n## cluster media: one hop over the inter-node link vs one local SFU hop (${n} packets of 1100 B each, both ends in this process)`,
  );
  const rows: Array<[string, { micros: number; delivered: number; seconds: number }]> = [];
  rows.push(['local SFU hop (Consumer → libdatachannel SRTP → subscriber)', await localHop(n)]);
  rows.push(['inter-node link hop (relay Consumer → UDP → remote Producer)', await linkHop(n)]);
  rows.push(['local SFU hop, again (order effects)', await localHop(n)]);
  rows.push(['inter-node link hop, again', await linkHop(n)]);
  console.log('| path | µs CPU per packet (send + receive side) | delivered | packets/s |');
  console.log('|---|---:|---:|---:|');
  for (const [name, r] of rows)
    console.log(`| ${name} | ${r.micros.toFixed(2)} | ${r.delivered}/${n} | ${Math.round(r.delivered / r.seconds)} |`);
  console.log(
    'The link hop is paid once per relayed track and node pair (not per subscriber); the far node then forwards with the local path to each of its subscribers.',
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchClusterMedia();
