import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '@parley-rtc/protocol';
import type { RemoteTrack } from '../src/PeerLink.ts';
import { SfuVideoControl, type VideoConsumer } from '../src/SfuVideoControl.ts';
import { VideoPreferences } from '../src/VideoPreferences.ts';

/**
 * The app's video wishes (VideoPreferences, the one store) and how the SFU path turns them into
 * `sfu_pause` / `sfu_video_size` requests, driven through the control's callbacks.
 */

let n = 0;
const consumer = (peerId: string, source: RemoteTrack['source']): VideoConsumer => ({
  consumerId: `c${++n}`,
  // Only the fields the control reads; the rest of a RemoteTrack does not matter here.
  remote: { peerId, source, track: { kind: 'video' } as MediaStreamTrack, stream: {} as MediaStream },
});

function setup() {
  const prefs = new VideoPreferences();
  const consumers: VideoConsumer[] = [];
  const sent: string[] = [];
  const errors: unknown[] = [];
  const control = new SfuVideoControl({
    prefs,
    signal: {
      sfuPause: async (ids, paused) => sent.push(`pause ${paused} ${ids.join(',')}`),
      sfuVideoSize: async (ids, width, height) => sent.push(`size ${width}x${height} ${ids.join(',')}`),
    },
    consumers: () => consumers,
    onError: (e) => errors.push(e),
  });
  return { prefs, consumers, sent, errors, control };
}

describe('VideoPreferences', () => {
  it('tells only real changes, clamps sizes to what the protocol accepts, and forgets a peer', () => {
    const prefs = new VideoPreferences();
    const events: string[] = [];
    prefs.on('paused', (peer, source, paused) => events.push(`${peer}/${source} paused=${paused}`));
    prefs.on('size', (peer, source, s) => events.push(`${peer}/${source} ${s.width}x${s.height}`));
    prefs.setPaused('ann', 'camera', true);
    prefs.setPaused('ann', 'camera', true);
    prefs.setPaused('ann', 'screen', false);
    prefs.setSize('ann', 'camera', 319.6, 240.2);
    prefs.setSize('ann', 'camera', 320, 240);
    prefs.setSize('bob', 'screen', 1e9, -5);
    prefs.setSize('cat', 'camera', Number.NaN, 0);
    assert.deepEqual(events, ['ann/camera paused=true', 'ann/camera 320x240', `bob/screen ${LIMITS.videoSizePx}x0`]);
    assert.equal(prefs.isPaused('ann', 'camera'), true);
    assert.equal(prefs.isPaused('ann', 'screen'), false);
    assert.deepEqual(prefs.sizeOf('ann', 'camera'), { width: 320, height: 240 });
    assert.equal(prefs.sizeOf('cat', 'camera'), undefined, '0×0 is no size');
    prefs.setSize('ann', 'camera', 0, 0);
    assert.equal(prefs.sizeOf('ann', 'camera'), undefined);
    assert.equal(events.at(-1), 'ann/camera 0x0');
    prefs.forget('ann');
    assert.equal(prefs.isPaused('ann', 'camera'), false);
  });
});

describe('SfuVideoControl', () => {
  it("sends a change for the matching consumers only, in requests of at most the protocol's limit", async () => {
    const { prefs, consumers, sent, control } = setup();
    const ann = Array.from({ length: LIMITS.sfuConsumersPerRequest + 2 }, () => consumer('ann', 'camera'));
    consumers.push(...ann, consumer('ann', 'screen'), consumer('bob', 'camera'));
    prefs.setPaused('ann', 'camera', true);
    assert.equal(sent.length, 2);
    assert.equal(
      sent[0],
      `pause true ${ann
        .slice(0, LIMITS.sfuConsumersPerRequest)
        .map((c) => c.consumerId)
        .join(',')}`,
    );
    assert.equal(
      sent[1],
      `pause true ${ann
        .slice(-2)
        .map((c) => c.consumerId)
        .join(',')}`,
    );
    sent.length = 0;
    prefs.setSize('bob', 'camera', 640, 360);
    prefs.setPaused('cat', 'camera', true);
    assert.deepEqual(sent, [`size 640x360 ${consumers.at(-1)?.consumerId}`], 'nothing to send for a peer without consumers');
    control.close();
  });

  it('gives new consumers what was asked before they existed, and nothing after close()', () => {
    const { prefs, consumers, sent, control } = setup();
    prefs.setPaused('ann', 'screen', true);
    prefs.setSize('ann', 'screen', 800, 600);
    prefs.setSize('bob', 'camera', 100, 100);
    assert.deepEqual(sent, []);
    const old = consumer('bob', 'camera');
    const fresh = [consumer('ann', 'screen'), consumer('ann', 'camera')];
    consumers.push(old, ...fresh);
    control.applyTo(fresh.map((c) => c.remote));
    const id = fresh[0]?.consumerId;
    assert.deepEqual(sent, [`pause true ${id}`, `size 800x600 ${id}`], "Bob's existing consumer and Ann's camera are left alone");
    control.close();
    control.close();
    prefs.setPaused('ann', 'screen', false);
    control.applyTo(fresh.map((c) => c.remote));
    assert.equal(sent.length, 2);
  });

  it('reports a refused request', async () => {
    const prefs = new VideoPreferences();
    const errors: unknown[] = [];
    const refused = new Error('refused');
    const control = new SfuVideoControl({
      prefs,
      signal: { sfuPause: () => Promise.reject(refused), sfuVideoSize: async () => null },
      consumers: () => [consumer('ann', 'camera')],
      onError: (e) => errors.push(e),
    });
    prefs.setPaused('ann', 'camera', true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(errors, [refused]);
    control.close();
  });
});
