import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { MAX_PEER_MESSAGE_BYTES, parsePeerMessage } from '../src/peerMessages.ts';

describe('peer data-channel messages', () => {
  const state = { audio: true, video: false, cameraStream: 'cam-1', screenStream: null };

  it('parses a valid state message', () => {
    assert.deepEqual(parsePeerMessage(JSON.stringify({ t: 'state', state })), { t: 'state', state });
  });

  it('drops malformed, unknown, non-string and oversized input', () => {
    for (const bad of [
      'not json',
      JSON.stringify({ t: 'nope' }),
      JSON.stringify({ t: 'state', state: { ...state, audio: 'yes' } }),
      JSON.stringify({ t: 'state' }),
      new ArrayBuffer(4),
      42,
      JSON.stringify({ t: 'state', state: { ...state, cameraStream: 'x'.repeat(MAX_PEER_MESSAGE_BYTES) } }),
    ]) {
      assert.equal(parsePeerMessage(bad), undefined, typeof bad === 'string' ? bad.slice(0, 40) : inspect(bad));
    }
  });
});
