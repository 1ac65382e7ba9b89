/** Shared by the audio-mix tests and bench: an Opus producer fed by the test, and tone energy. */
import { Producer } from '../../src/sfu/Producer.ts';

/** An Opus producer `p<i>` (SSRC 1000 + i, payload type 111) that the caller feeds with receiveRtp. */
export function opusProducer(i: number): Producer {
  return new Producer({
    id: `p${i}`,
    connectionId: `c${i}`,
    kind: 'audio',
    codec: { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2 },
    payloadType: 111,
    ssrc: 1000 + i,
    sendKeyFrameRequest: () => undefined,
  });
}

/** Energy of 48 kHz `pcm` at `hz` (Goertzel), per sample. */
export function energyAt(pcm: Int16Array, hz: number): number {
  const c = 2 * Math.cos((2 * Math.PI * hz) / 48_000);
  let s1 = 0;
  let s2 = 0;
  for (const x of pcm) {
    const s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / pcm.length;
}
