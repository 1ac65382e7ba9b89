import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { Ack } from '@parley-rtc/protocol';
import { createApp, type ConfigInput, type ParleyApp } from '@parley-rtc/server';

/** Untyped on purpose: tests also send what the typed maps forbid. */
export type TestSocket = Socket;

export interface TestServer {
  app: ParleyApp;
  dataDir: string;
  /** Connects a real socket.io-client; closed by `close()`. */
  connect(): Promise<TestSocket>;
  close(): Promise<void>;
}

/** A real Parley server on 127.0.0.1, port 0, with a temporary data directory. */
export async function startServer(config: ConfigInput = {}): Promise<TestServer> {
  const dataDir = config.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-test-'));
  const app = await createApp({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...config, dataDir });
  const sockets: TestSocket[] = [];
  return {
    app,
    dataDir,
    async connect() {
      const socket = await connectSocket(app.url);
      sockets.push(socket);
      return socket;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await app.close();
      if (config.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A real socket.io-client on the WebSocket transport, without reconnection, once connected. */
export async function connectSocket(url: string): Promise<TestSocket> {
  const socket: TestSocket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/** Emits an event and waits for its ack, with a deadline. */
export function request<T>(socket: Socket, event: string, payload: unknown, timeoutMs = 5000): Promise<Ack<T>> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<Ack<T>>;
}

/** Resolves with the args of the next `event` on `emitter`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`));
    }, timeoutMs);
    const onEvent = (arg: T) => {
      clearTimeout(timer);
      resolve(arg);
    };
    socket.once(event, onEvent);
  });
}

/** Collects every `event` on a socket into an array until `stop()` is called. */
export function collect<T = unknown>(socket: Socket, event: string): { items: T[]; stop(): void } {
  const items: T[] = [];
  const fn = (arg: T) => items.push(arg);
  socket.on(event, fn);
  return { items, stop: () => socket.off(event, fn) };
}

/** The data of a successful ack; throws with the error code otherwise. */
export function data<T>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`request failed: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

/** The error code of a failed ack (undefined when it succeeded). */
export function errorCode(ack: Ack<unknown>): string | undefined {
  return ack.ok ? undefined : ack.error.code;
}
