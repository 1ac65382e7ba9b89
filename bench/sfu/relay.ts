// The anchor measured in the same run as the SFU: a bare packet relay on node-datachannel
// (libdatachannel) — each RTP packet from the publisher's video track is sent unchanged on every
// subscriber's track. No rewriting, no key-frame wait, no RTCP handling, no retransmission
// buffer. Same signalling and loopback ICE as the SFU bench server, so the difference between
// the two is what the SFU's own work costs.
import { ParleyError } from '@parley-rtc/protocol';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { matchCodec, parseSdp } from '@parley-rtc/rtc/sdp';
import { serveBench } from './control.ts';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const peers: MediaPeer[] = [];
let outputs: MediaTrack[] = [];

function videoSection(sdp: unknown): { sdp: string; mid: string; payloadType: number } {
  if (typeof sdp !== 'string') throw new ParleyError('INVALID_PAYLOAD', 'sdp must be a string');
  const m = parseSdp(sdp).media.find((x) => x.kind === 'video');
  const codec = m ? matchCodec(m, VP8) : undefined;
  if (!m || !codec) throw new ParleyError('UNSUPPORTED', 'no VP8 video section');
  return { sdp, mid: m.mid, payloadType: codec.payloadType };
}

function newPeer(): MediaPeer {
  const peer = new MediaPeer(`relay-${peers.length}`, { iceServers: [], bindAddress: '127.0.0.1' });
  peers.push(peer);
  return peer;
}

serveBench({
  async publish(sdp) {
    const v = videoSection(sdp);
    const peer = newPeer();
    const input = peer.addTrack({ mid: v.mid, kind: 'video', direction: 'recv', codec: VP8, payloadType: v.payloadType });
    input.on('rtp', (pkt) => {
      const list = outputs;
      for (let i = 0; i < list.length; i++) list[i]!.sendRtp(pkt);
    });
    return { producerId: 'relay', sdp: await peer.answer(v.sdp) };
  },
  async subscribe(sdp) {
    const v = videoSection(sdp);
    const peer = newPeer();
    const output = peer.addTrack({ mid: v.mid, kind: 'video', direction: 'send', codec: VP8, payloadType: v.payloadType });
    output.on('open', () => {
      outputs = [...outputs, output];
    });
    return { sdp: await peer.answer(v.sdp) };
  },
  stats: () => ({ subscribers: outputs.length }),
  close: () => {
    for (const p of peers) p.close();
  },
});
