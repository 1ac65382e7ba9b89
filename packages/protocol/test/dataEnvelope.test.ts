import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, decodeDataEnvelope, encodeDataEnvelope, forwardDataEnvelope, scanDataEnvelope, type DataEnvelope } from '../src/index.ts';

const base: DataEnvelope = {
  reliable: true,
  control: false,
  epoch: 0xfedc_ba98,
  seq: 0x8000_0001,
  topic: 'cursör',
  from: '',
  to: ['m-1', 'm-2'],
  payload: 'héllo',
};

describe('data envelope', () => {
  it('round-trips text and bytes, with u32 numbers above 2^31', () => {
    assert.deepEqual(decodeDataEnvelope(encodeDataEnvelope(base), true), base);
    const bytes = { ...base, reliable: false, to: [], payload: new Uint8Array([0, 255, 7]) };
    assert.deepEqual(decodeDataEnvelope(encodeDataEnvelope(bytes), false), bytes);
  });

  it('rejects every truncation, a wrong channel, unknown flags, bad UTF-8 and oversize fields', () => {
    const wire = encodeDataEnvelope({ ...base, payload: '' });
    const payloadAt = wire.byteLength; // empty payload: everything before is header
    for (let n = 0; n < payloadAt; n++) assert.equal(scanDataEnvelope(wire.subarray(0, n), true), undefined, `truncated at ${n}`);
    assert.ok(scanDataEnvelope(wire, true));
    assert.equal(scanDataEnvelope(wire, false), undefined, 'reliable flag on the lossy channel');
    const flags = wire.slice();
    flags[1] = (flags[1] ?? 0) | 0x80;
    assert.equal(scanDataEnvelope(flags, true), undefined);
    const badTopic = wire.slice();
    badTopic[11] = 0xff;
    assert.equal(scanDataEnvelope(badTopic, true), undefined);
    const badText = encodeDataEnvelope({ ...base, payload: new Uint8Array([0xc3, 0x28]) });
    badText[1] = (badText[1] ?? 0) & ~0x01; // claim text
    assert.ok(scanDataEnvelope(badText, true), 'the scan leaves the payload to the caller');
    assert.equal(decodeDataEnvelope(badText, true), undefined);
    const big = encodeDataEnvelope({ ...base, reliable: false, payload: new Uint8Array(LIMITS.dataLossyBytes + 1) });
    assert.equal(scanDataEnvelope(big, false), undefined);
  });

  it('forwards the original bytes with from rewritten and no recipients', () => {
    const wire = encodeDataEnvelope({ ...base, from: 'spoofed' });
    const head = scanDataEnvelope(wire, true);
    assert.ok(head);
    assert.deepEqual(head.to, ['m-1', 'm-2']);
    const out = forwardDataEnvelope(wire, head, new TextEncoder().encode('member-7'));
    assert.deepEqual(out, encodeDataEnvelope({ ...base, from: 'member-7', to: [] }));
    assert.deepEqual(decodeDataEnvelope(out, true), { ...base, from: 'member-7', to: [] });
  });
});
