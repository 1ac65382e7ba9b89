/** The data-channel behaviour of aiortc's examples/server: `ping <x>` → `pong <x>`, other messages echoed. */
import type { DataChannel } from 'node-datachannel';

const MAX_ECHO_BYTES = 64 * 1024;

export function attachEcho(dc: DataChannel): void {
  dc.onMessage((msg) => {
    try {
      if (typeof msg === 'string') {
        if (msg.length > MAX_ECHO_BYTES) return;
        dc.sendMessage(msg.startsWith('ping') ? `pong${msg.slice(4)}` : msg);
      } else if (Buffer.isBuffer(msg)) {
        if (msg.length <= MAX_ECHO_BYTES) dc.sendMessageBinary(msg);
      }
    } catch {
      // channel closed meanwhile
    }
  });
}
