import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';

const SECRET = 'media-auth-secret-0123456789';
const TURN_SECRET = 'turn-secret-0123456789abcdef';
const OFFER =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n';

describe('media routes check tokens and hand out minted TURN credentials', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      auth: { secret: SECRET },
      turn: { urls: ['turn:turn.example.test:3478?transport=udp'], secret: TURN_SECRET },
    });
  });
  after(async () => {
    await server.close();
  });

  const bearer = (room: string, grants: Record<string, boolean> = {}) => ({
    authorization: `Bearer ${server.app.tokens.mint({ identity: 'cam1', room, grants })}`,
  });
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('WHIP needs a token for that stream with the publish grant', async () => {
    const url = `${server.app.url}/whip/studio`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: OFFER });
    let res = await post({});
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), 'UNAUTHORIZED');
    res = await post(bearer('other-stream'));
    assert.equal(res.status, 403);
    res = await post(bearer('studio', { publish: false }));
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), 'FORBIDDEN');
  });

  it('playback and listings need subscribe; recordings need record', async () => {
    let res = await fetch(`${server.app.url}/api/streams`);
    assert.equal(res.status, 401);
    res = await fetch(`${server.app.url}/api/streams`, { headers: bearer('any-room') });
    assert.equal(res.status, 200);
    res = await fetch(`${server.app.url}/api/recordings`, { headers: bearer('any-room') });
    assert.equal(res.status, 403);
    res = await fetch(`${server.app.url}/api/recordings`, { headers: bearer('any-room', { record: true }) });
    assert.equal(res.status, 200);
    res = await fetch(`${server.app.url}/offer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer('test', { subscribe: false }) },
      body: JSON.stringify({ sdp: OFFER, type: 'offer', stream: 'test' }),
    });
    assert.equal(res.status, 403);
  });

  it('an authorized WHEP pre-flight gets Link headers with per-client TURN credentials, an anonymous one none', async () => {
    const anonymous = await fetch(`${server.app.url}/whep/test`, { method: 'OPTIONS' });
    assert.equal(anonymous.status, 204);
    assert.equal(anonymous.headers.get('link'), null);
    const res = await fetch(`${server.app.url}/whep/test`, { method: 'OPTIONS', headers: bearer('test') });
    assert.equal(res.status, 204);
    const link = res.headers.get('link') ?? '';
    assert.match(
      link,
      /<turn:turn\.example\.test:3478\?transport=udp>; rel="ice-server"; username="\d+:cam1"; credential="[A-Za-z0-9+/=]+"; credential-type="password"/,
    );
    assert.doesNotMatch(link, new RegExp(TURN_SECRET));
  });
});
