/** The shared SDP helpers: which codec a publisher's section is ingested as, and reading an SDP without transport lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseIngestCodec, parseSdp } from '../src/sdp.ts';

function offer(video: string[]): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=fingerprint:sha-256 AA:BB',
    'a=group:BUNDLE 0 1',
    ...video,
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendonly',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:efghefghefghefghefghef',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    'a=mid:1',
    'a=sendonly',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:efghefghefghefghefghef',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:111 opus/48000/2',
    '',
  ].join('\r\n');
}

const H264_HIGH = [
  'm=video 9 UDP/TLS/RTP/SAVPF 102 104',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640C1F',
  'a=rtpmap:104 H264/90000',
  'a=fmtp:104 packetization-mode=0;profile-level-id=42e01f',
];

test('chooseIngestCodec keeps the H.264 profile-level-id the publisher offered', () => {
  const [video, audio] = parseSdp(offer(H264_HIGH)).media;
  const chosen = chooseIngestCodec(video!);
  assert.deepEqual(chosen, { codec: { kind: 'video', name: 'h264', clockRate: 90000, profileLevelId: '640c1f' }, payloadType: 102 });
  assert.deepEqual(chooseIngestCodec(audio!), { codec: { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 }, payloadType: 111 });
});

test('chooseIngestCodec prefers VP8, and finds nothing in a section without an ingest codec', () => {
  const [vp8] = parseSdp(offer(['m=video 9 UDP/TLS/RTP/SAVPF 102 96', ...H264_HIGH.slice(1, 3), 'a=rtpmap:96 VP8/90000'])).media;
  assert.deepEqual(chooseIngestCodec(vp8!), { codec: { kind: 'video', name: 'vp8', clockRate: 90000 }, payloadType: 96 });
  const [av1] = parseSdp(offer(['m=video 9 UDP/TLS/RTP/SAVPF 45', 'a=rtpmap:45 AV1/90000'])).media;
  assert.equal(chooseIngestCodec(av1!), undefined);
});

test('parseSdp reads sections without transport lines only when asked to', () => {
  const bare = 'v=0\r\nm=audio 9 RTP/SAVPF 111\r\na=sendonly\r\n';
  assert.throws(() => parseSdp(bare), { code: 'BAD_SDP' });
  assert.deepEqual(
    parseSdp(bare, { requireTransport: false }).media.map((m) => [m.kind, m.direction]),
    [['audio', 'sendonly']],
  );
  assert.throws(() => parseSdp('v=0\r\n m=audio 9 RTP/SAVPF 111\r\n', { requireTransport: false }), { code: 'BAD_SDP' });
});
