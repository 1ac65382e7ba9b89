import type { RtpOutput } from '../../src/sfu/Consumer.ts';

/** A consumer's output that keeps a copy of every RTP packet sent (always open unless told). */
export class RecordingOutput implements RtpOutput {
  readonly ssrc = 0xabc;
  isOpen = true;
  sent: Buffer[] = [];
  sendRtp(p: Buffer): boolean {
    this.sent.push(Buffer.from(p));
    return true;
  }
  sendRtcp(): boolean {
    return true;
  }
}
