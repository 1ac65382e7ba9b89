import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grantsChangedSchema, type Ack } from '@parley-rtc/protocol';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { data, nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

const API_KEY = 'backend';
const API_SECRET = 'mesh-grants-secret-0123456789';

type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
/** A minimal SDP with one m-line per entry (the relay parses without ICE/DTLS lines). */
function sdp(...lines: [kind: 'audio' | 'video', direction: Direction][]): string {
  const media = lines.flatMap(([kind, direction]) => [`m=${kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=${direction}`]);
  return ['v=0', ...media, 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', ''].join('\r\n');
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function refusal(ack: Ack<unknown>): { code: string; message: string } | undefined {
  return ack.ok ? undefined : { code: ack.error.code, message: ack.error.message };
}

describe('grants in mesh rooms (relay)', () => {
  let server: TestServer;
  let api: ServerClient;
  before(async () => {
    server = await startServer({ auth: { apiKeys: { [API_KEY]: API_SECRET } } });
    api = createServerClient({ url: server.app.url, apiKey: API_KEY, apiSecret: API_SECRET });
  });
  after(() => server.close());

  async function join(room: string, identity: string, grants?: Record<string, unknown>): Promise<{ socket: TestSocket; id: string }> {
    const { token } = await api.mintToken({ room, identity, name: identity, ...(grants ? { grants } : {}) });
    const socket = await server.connect();
    const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name: identity, token }));
    return { socket, id: joined.self.id };
  }

  /** Sends an offer and an answer with `body` from `from` to `to`; both must end the same way. */
  async function relay(from: TestSocket, to: { socket: TestSocket; id: string }, body: string) {
    const results = [];
    for (const type of ['offer', 'answer'] as const) {
      // Listen before sending: the relayed event may arrive before the ack.
      let arrived!: () => void;
      const relayed = new Promise<void>((resolve) => (arrived = resolve));
      to.socket.once(type, arrived);
      const ack = await request(from, type, { to: to.id, description: { type, sdp: body } });
      if (ack.ok) await within(relayed, 2000, `the relayed ${type}`);
      else to.socket.off(type, arrived);
      results.push(refusal(ack));
    }
    assert.equal(results[0]?.code, results[1]?.code);
    return results[0];
  }

  it("publish: ['audio'] may send audio, not video; the refusal names video", async () => {
    const voice = await join('m-audio', 'voice', { publish: ['audio'] });
    const other = await join('m-audio', 'other');
    assert.equal(await relay(voice.socket, other, sdp(['audio', 'sendrecv'], ['video', 'recvonly'])), undefined);
    for (const direction of ['sendrecv', 'sendonly'] as const) {
      const refused = await relay(voice.socket, other, sdp(['audio', 'sendrecv'], ['video', direction]));
      assert.equal(refused?.code, 'FORBIDDEN');
      assert.match(refused?.message ?? '', /\bvideo\b/);
      assert.doesNotMatch(refused?.message ?? '', /audio|screen/);
    }
  });

  it("publish: ['video'] refuses sending audio, naming audio", async () => {
    const camera = await join('m-video', 'camera', { publish: ['video'] });
    const other = await join('m-video', 'other');
    assert.equal(await relay(camera.socket, other, sdp(['audio', 'recvonly'], ['video', 'sendonly'])), undefined);
    const refused = await relay(camera.socket, other, sdp(['audio', 'sendonly'], ['video', 'sendonly']));
    assert.equal(refused?.code, 'FORBIDDEN');
    assert.match(refused?.message ?? '', /\baudio\b/);
  });

  it('a screen share counts as one more video: camera plus screen needs both sources', async () => {
    const noScreen = await join('m-screen', 'no-screen', { publish: ['audio', 'video'] });
    const screenOnly = await join('m-screen', 'screen-only', { publish: ['screen'] });
    const both = await join('m-screen', 'both', { publish: ['audio', 'video', 'screen'] });
    const other = await join('m-screen', 'other');
    const cameraAndScreen = sdp(['audio', 'sendrecv'], ['video', 'sendrecv'], ['video', 'sendonly']);
    const refused = await relay(noScreen.socket, other, cameraAndScreen);
    assert.equal(refused?.code, 'FORBIDDEN');
    assert.match(refused?.message ?? '', /\bscreen\b/);
    // A removed screen track leaves its m-line recvonly: that is fine again.
    assert.equal(await relay(noScreen.socket, other, sdp(['audio', 'sendrecv'], ['video', 'sendrecv'], ['video', 'recvonly'])), undefined);
    assert.equal(await relay(screenOnly.socket, other, sdp(['audio', 'recvonly'], ['video', 'sendonly'])), undefined);
    assert.equal((await relay(screenOnly.socket, other, sdp(['video', 'sendonly'], ['video', 'sendonly'])))?.code, 'FORBIDDEN');
    assert.equal(await relay(both.socket, other, cameraAndScreen), undefined);
  });

  it('subscribe: false refuses its own SDPs that would receive; sendonly and inactive pass', async () => {
    const deaf = await join('m-deaf', 'deaf', { subscribe: false });
    const other = await join('m-deaf', 'other');
    for (const direction of ['sendrecv', 'recvonly'] as const) {
      const refused = await relay(deaf.socket, other, sdp(['audio', 'sendonly'], ['video', direction]));
      assert.equal(refused?.code, 'FORBIDDEN');
      assert.match(refused?.message ?? '', /subscribe.*\bvideo\b/);
    }
    assert.equal(await relay(deaf.socket, other, sdp(['audio', 'sendonly'], ['video', 'inactive'])), undefined);
    // Rejected m-lines (port 0) and the data channel do not receive media.
    const rejected = 'v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
    assert.equal(await relay(deaf.socket, other, rejected), undefined);
    // The other side's SDP is not the deaf member's: it may offer to send (the deaf one's answer decides).
    assert.equal(await relay(other.socket, deaf, sdp(['audio', 'sendrecv'])), undefined);
  });

  it('a grant change applies to the next SDP and is told to the member (grants_changed)', async () => {
    const member = await join('m-live', 'member');
    const other = await join('m-live', 'other');
    const full = sdp(['audio', 'sendrecv'], ['video', 'sendrecv']);
    assert.equal(await relay(member.socket, other, full), undefined);
    const told = nextEvent(member.socket, 'grants_changed');
    await api.updateMember('m-live', member.id, { grants: { publish: ['audio'], subscribe: false } });
    const notice = grantsChangedSchema.parse(await told);
    assert.deepEqual(notice.grants.publish, ['audio']);
    assert.equal(notice.grants.subscribe, false);
    assert.equal((await relay(member.socket, other, full))?.code, 'FORBIDDEN');
    assert.equal(await relay(member.socket, other, sdp(['audio', 'sendonly'], ['video', 'inactive'])), undefined);
  });
});
