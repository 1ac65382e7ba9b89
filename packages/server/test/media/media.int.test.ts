/**
 * Media server against real parts: a real server on port 0, node-datachannel peers in-process,
 * real ffmpeg/ffprobe. No fixed sleeps: every wait has a deadline.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { RtpViewer, NodeWhipPublisher, testClip, PEER_OPTIONS } from './clients.ts';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { probe } from '../recording/syncClip.ts';

let server: TestServer;
let url: string;

before(async () => {
  server = await startServer({ media: { bindAddress: '127.0.0.1' } });
  url = server.app.url;
});
after(async () => {
  await server?.close();
  releaseNativeWebRtc();
});

/** PIDs of ffmpeg processes that are children of this test process. */
function ffmpegChildren(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && m[1] === 'ffmpeg' && Number(m[2]) === process.pid) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

async function json(res: Response): Promise<{ status: number; body: unknown }> {
  return { status: res.status, body: await res.json() };
}

function errorCode(body: unknown): unknown {
  return typeof body === 'object' &&
    body !== null &&
    'error' in body &&
    typeof body.error === 'object' &&
    body.error !== null &&
    'code' in body.error
    ? body.error.code
    : undefined;
}

test('POST /offer streams the test pattern (video + audio) to node-datachannel viewers sharing one ffmpeg', async () => {
  const a = new RtpViewer('offer-a');
  const b = new RtpViewer('offer-b');
  try {
    await a.offer(`${url}/offer`);
    await b.offer(`${url}/offer`, 'test');
    await waitFor(() => a.frames >= 15 && b.frames >= 15 && a.audioPackets >= 20, 10_000, 'frames and audio on both viewers');
    assert.equal(ffmpegChildren().length, 1, 'one ffmpeg shared by both viewers');
    const streams = await json(await fetch(`${url}/api/streams`));
    assert.deepEqual(streams.body, {
      streams: [{ name: 'test', kind: 'testsrc', live: true, viewers: 2, video: 'vp8', audio: 'opus' }],
    });
  } finally {
    await a.close();
    await b.close();
  }
});

test('the source ffmpeg stops when the last WHEP viewer DELETEs its session (after sourceIdleMs)', async () => {
  // own server: /offer sessions above have no DELETE and linger until ICE consent fails
  const s = await startServer({ media: { bindAddress: '127.0.0.1', sourceIdleMs: 200 } });
  const viewers = [new RtpViewer('whep-a'), new RtpViewer('whep-b')];
  const before = new Set(ffmpegChildren());
  try {
    for (const v of viewers) await v.whep(`${s.app.url}/whep/test`);
    await waitFor(() => viewers.every((v) => v.frames >= 5), 8000, 'frames on both viewers');
    const mine = ffmpegChildren().filter((p) => !before.has(p));
    assert.equal(mine.length, 1, 'one ffmpeg for both viewers');
    await viewers[0]!.close();
    assert.ok(ffmpegChildren().includes(mine[0]!), 'still running for the second viewer');
    await viewers[1]!.close();
    await waitFor(() => !ffmpegChildren().includes(mine[0]!), 5000, 'ffmpeg to stop after the last viewer left');
  } finally {
    for (const v of viewers) await v.close();
    await s.close();
  }
});

test('WHIP publish → WHEP viewers; recording is a valid WebM and plays back via recording:<id>', async () => {
  const clip = testClip(4, 10);
  const pub = new NodeWhipPublisher(clip);
  const viewers = [new RtpViewer('whep-1'), new RtpViewer('whep-2')];
  try {
    await pub.connect(`${url}/whip/cam1`);
    for (const v of viewers) await v.whep(`${url}/whep/cam1`);
    await waitFor(() => viewers.every((v) => v.frames >= 10), 8000, 'frames on both WHEP viewers');

    const started = await json(
      await fetch(`${url}/api/recordings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'cam1' }),
      }),
    );
    assert.equal(started.status, 201);
    const id = (started.body as { recording: { id: string } }).recording.id;
    const t0 = performance.now();
    const framesAtStart = pub.framesSent;
    await waitFor(() => pub.framesSent - framesAtStart >= 180, 10_000, '6 s of published frames');
    const stopped = await json(await fetch(`${url}/api/recordings/${id}`, { method: 'DELETE' }));
    const recordedMs = performance.now() - t0;
    assert.equal(stopped.status, 200);
    const rec = (stopped.body as { recording: { state: string; durationMs: number } }).recording;
    assert.equal(rec.state, 'done');

    const path = `${server.dataDir}/recordings/${id}.webm`;
    const probed = await probe(path);
    assert.equal(probed.streams[0]?.codec_type, 'video');
    assert.equal(probed.streams[0]?.codec_name, 'vp8');
    assert.equal(probed.streams[0]?.width, clip.width);
    assert.match(probed.format, /webm|matroska/);
    const duration = probed.duration * 1000;
    assert.ok(
      Math.abs(duration - recordedMs) <= recordedMs * 0.1,
      `ffprobe duration ${duration} ms vs recorded ${recordedMs.toFixed(0)} ms`,
    );
    // every frame decodes
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-xerror', '-i', path, '-f', 'null', '-']);

    const list = await json(await fetch(`${url}/api/recordings`));
    assert.ok((list.body as { recordings: Array<{ id: string }> }).recordings.some((r) => r.id === id));

    const playback = new RtpViewer('playback');
    try {
      await playback.whep(`${url}/whep/recording:${id}`);
      await waitFor(() => playback.frames >= 10, 8000, 'frames from the recording');
    } finally {
      await playback.close();
    }
  } finally {
    for (const v of viewers) await v.close();
    await pub.close();
  }
  await waitFor(
    async () => {
      const s = await json(await fetch(`${url}/api/streams`));
      return !(s.body as { streams: Array<{ name: string }> }).streams.some((x) => x.name === 'cam1');
    },
    5000,
    'the live stream to disappear after WHIP DELETE',
  );
});

test('bad requests get 4xx JSON errors and leave the server healthy', async () => {
  const sdpPost = (path: string, body: string, type = 'application/sdp') =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  const cases: Array<[string, Promise<Response>, number, string]> = [
    [
      'garbage SDP to /offer',
      fetch(`${url}/offer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sdp: 'nonsense', type: 'offer' }),
      }),
      400,
      'BAD_SDP',
    ],
    [
      'wrong /offer type',
      fetch(`${url}/offer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sdp: 'v=0', type: 'answer' }),
      }),
      400,
      'INVALID_PAYLOAD',
    ],
    ['garbage SDP to WHEP', sdpPost('/whep/test', 'v=0\r\nm=video 9 RTP/AVP 0\r\n'), 400, 'BAD_SDP'],
    ['empty WHIP body', sdpPost('/whip/x', ''), 400, 'BAD_SDP'],
    ['WHEP with a text/plain body', sdpPost('/whep/test', '{}', 'text/plain'), 415, 'UNSUPPORTED'],
    ['unknown stream', sdpPost('/whep/nope', 'v=0\r\n'), 400, 'BAD_SDP'],
    ['bad stream name', sdpPost('/whep/a%20b', 'v=0\r\n'), 400, 'INVALID_PAYLOAD'],
    ['DELETE unknown WHEP session', fetch(`${url}/whep/test/00000000-0000-4000-8000-000000000000`, { method: 'DELETE' }), 404, 'NOT_FOUND'],
    ['DELETE malformed session id', fetch(`${url}/whip/test/xyz`, { method: 'DELETE' }), 400, 'INVALID_PAYLOAD'],
    ['DELETE unknown recording', fetch(`${url}/api/recordings/nothing-here`, { method: 'DELETE' }), 404, 'NOT_FOUND'],
    [
      'record unknown stream',
      fetch(`${url}/api/recordings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'nope' }),
      }),
      404,
      'NOT_FOUND',
    ],
    ['oversized SDP', sdpPost('/whep/test', 'v=0\r\n' + 'a=x\r\n'.repeat(20000)), 413, 'PAYLOAD_TOO_LARGE'],
  ];
  for (const [what, req, status, code] of cases) {
    const { status: got, body } = await json(await req);
    assert.equal(got, status, `${what}: status`);
    assert.equal(errorCode(body), code, `${what}: code`);
  }

  // a real offer for an unknown stream, codecs the stream does not have, and WHIP onto a configured source
  const offerFor = async (build: (p: MediaPeer) => void): Promise<string> => {
    const p = new MediaPeer('probe', PEER_OPTIONS);
    try {
      build(p);
      return await p.createOffer();
    } finally {
      p.close();
    }
  };
  const h264Only = await offerFor((p) =>
    p.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: { kind: 'video', name: 'h264', clockRate: 90000 }, payloadType: 102 }),
  );
  const vp9Send = await offerFor((p) => {
    const t = p.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: undefined, payloadType: 98 });
    void t;
  });
  const vp8Send = await offerFor((p) =>
    p.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: { kind: 'video', name: 'vp8', clockRate: 90000 }, payloadType: 96 }),
  );
  const unknown = await json(await sdpPost('/whep/nope', h264Only));
  assert.equal(unknown.status, 404);
  assert.equal(errorCode(unknown.body), 'NOT_FOUND');
  const unsupported = await json(await sdpPost('/whep/test', h264Only));
  assert.equal(unsupported.status, 415);
  assert.equal(errorCode(unsupported.body), 'UNSUPPORTED');
  const busy = await json(await sdpPost('/whip/test', vp8Send));
  assert.equal(busy.status, 409);
  assert.equal(errorCode(busy.body), 'STREAM_BUSY');
  const vp9 = await json(await sdpPost('/whip/cam9', vp9Send.replace(/VP8\/90000/g, 'VP9/90000')));
  assert.equal(vp9.status, 415, JSON.stringify(vp9.body));
  assert.equal(errorCode(vp9.body), 'UNSUPPORTED');

  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const v = new RtpViewer('after-errors');
  try {
    await v.whep(`${url}/whep/test`);
    await waitFor(() => v.frames >= 5, 8000, 'frames after the bad requests');
  } finally {
    await v.close();
  }
});

test('PATCH: trickle is accepted, ICE restart is refused with 501', async () => {
  const v = new RtpViewer('patch');
  try {
    await v.whep(`${url}/whep/test`);
    const trickle = await fetch(v.location, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
      body: 'a=mid:0\r\na=candidate:1 1 UDP 2114977791 127.0.0.1 9 typ host\r\n',
    });
    assert.equal(trickle.status, 204);
    const restart = await json(
      await fetch(v.location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
        body: 'a=ice-ufrag:zzzz\r\na=ice-pwd:zzzzzzzzzzzzzzzzzzzzzz\r\n',
      }),
    );
    assert.equal(restart.status, 501);
    assert.equal(errorCode(restart.body), 'UNSUPPORTED');
  } finally {
    await v.close();
  }
});

test('a missing ffmpeg gives MEDIA_UNAVAILABLE only for sources that need it; shutdown kills ffmpeg', async () => {
  const s = await startServer({ media: { bindAddress: '127.0.0.1', ffmpegPath: '/nonexistent/ffmpeg' } });
  try {
    const probe = new RtpViewer('no-ffmpeg');
    const res = await fetch(`${s.app.url}/offer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sdp: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=fingerprint:sha-256 AA\r\na=ice-ufrag:abcd\r\na=rtpmap:96 VP8/90000\r\n',
        type: 'offer',
      }),
    });
    const body = await json(res);
    assert.equal(body.status, 503);
    assert.equal(errorCode(body.body), 'MEDIA_UNAVAILABLE');
    void probe;
    const pub = new NodeWhipPublisher(testClip(4, 10));
    try {
      await pub.connect(`${s.app.url}/whip/live`);
      const v = new RtpViewer('live-no-ffmpeg');
      await v.whep(`${s.app.url}/whep/live`);
      await waitFor(() => v.frames >= 5, 8000, 'live frames without ffmpeg');
      await v.close();
    } finally {
      await pub.close();
    }
  } finally {
    await s.close();
  }
  // shutdown with a viewer attached: its ffmpeg is killed
  const s2 = await startServer({ media: { bindAddress: '127.0.0.1' } });
  const v = new RtpViewer('shutdown');
  await v.whep(`${s2.app.url}/whep/test`);
  await waitFor(() => v.frames >= 3, 8000, 'frames before shutdown');
  const running = ffmpegChildren();
  await s2.close();
  v.peer.close();
  // every ffmpeg of s2 is gone right after close() resolved (the shared server may still run its own)
  const s2Pids = running.filter((p) => !ffmpegChildren().includes(p));
  assert.ok(s2Pids.length >= 1, 'the ffmpeg of the closed server was killed');
});
