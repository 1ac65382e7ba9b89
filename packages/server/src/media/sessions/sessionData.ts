/**
 * App data on the data channels of server-side sessions (`POST /offer` viewers and WHEP viewers):
 * by default each channel behaves like aiortc's examples/server (`ping <x>` → `pong <x>`, other
 * text and binary echoed, see dataChannelEcho.ts). An app that creates the server with
 * `createApp(config, { sessionData })` sees every message first and answers it itself.
 */
import type { DataChannel } from 'node-datachannel';
import { attachEcho } from './dataChannelEcho.ts';

/** Where a message came from, and how to answer on the same channel. */
export interface SessionDataContext {
  /** The session id (WHEP: the resource id; `/offer`: the session's id). */
  sessionId: string;
  /** The stream the session plays. */
  stream: string;
  /** The channel's label, as the client created it. */
  label: string;
  /** Sends text or bytes back on this channel; false if the channel is closed. */
  send(message: string | Uint8Array): boolean;
}

/** The server-side app-data hook (`CreateAppOptions.sessionData`). */
export interface SessionDataHandler {
  /** A client opened a data channel on a session. */
  onChannel?(ctx: SessionDataContext): void;
  /**
   * One message (text as a string, binary as a Buffer, at most 64 KiB; larger ones are dropped).
   * Return true when handled; otherwise the default echo answers it. A throw is logged (warn)
   * and counts as handled.
   */
  onMessage(ctx: SessionDataContext, message: string | Buffer): boolean | void;
}

const MAX_MESSAGE_BYTES = 64 * 1024;

/** Routes a session's data channel to `handler`, falling back to the echo. */
export function attachSessionData(
  dc: DataChannel,
  session: { sessionId: string; stream: string },
  handler: SessionDataHandler | undefined,
  onError: (err: unknown) => void,
): void {
  if (!handler) return attachEcho(dc);
  const ctx: SessionDataContext = {
    ...session,
    label: dc.getLabel(),
    send: (message) => {
      try {
        return typeof message === 'string' ? dc.sendMessage(message) : dc.sendMessageBinary(Buffer.from(message));
      } catch {
        return false;
      }
    },
  };
  handler.onChannel?.(ctx);
  dc.onMessage((msg) => {
    const message = typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? msg : Buffer.from(msg);
    if ((typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength) > MAX_MESSAGE_BYTES) return;
    let handled: boolean | void = true;
    try {
      handled = handler.onMessage(ctx, message);
    } catch (err) {
      onError(err);
    }
    if (handled !== true) echoOne(ctx, message);
  });
}

function echoOne(ctx: SessionDataContext, message: string | Buffer): void {
  if (typeof message === 'string') ctx.send(message.startsWith('ping') ? `pong${message.slice(4)}` : message);
  else ctx.send(message);
}
