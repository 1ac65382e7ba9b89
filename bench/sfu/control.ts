// The HTTP signalling both bench servers (the SFU and the bare relay anchor) expose on 127.0.0.1:
//   POST /publish   {sdp}              → {producerId, sdp}
//   POST /subscribe {sdp, producerId}  → {sdp}
//   GET  /stats
// Prints `READY <port>` (bench/lib/spawnReady.ts contract); SIGTERM/SIGINT run `stop` and exit.
import { createServer, type IncomingMessage } from 'node:http';
import nodeDataChannel from 'node-datachannel';
import { ParleyError } from '@parley-rtc/protocol';

export interface BenchServer {
  publish(sdp: unknown): Promise<{ producerId: string | undefined; sdp: string }>;
  subscribe(sdp: unknown, producerId: unknown): Promise<{ sdp: string }>;
  stats(): unknown;
  close(): void;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    size += b.length;
    if (size > 256 * 1024) throw new ParleyError('PAYLOAD_TOO_LARGE', 'body too large');
    chunks.push(b);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ParleyError('INVALID_PAYLOAD', 'JSON object expected');
  return Object.fromEntries(Object.entries(parsed));
}

export function serveBench(target: BenchServer): void {
  const server = createServer((req, res) => {
    const reply = (status: number, data: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/stats') return reply(200, target.stats());
        if (req.method !== 'POST') return reply(404, { error: 'not found' });
        const b = await body(req);
        if (req.url === '/publish') return reply(200, await target.publish(b.sdp));
        if (req.url === '/subscribe') return reply(200, await target.subscribe(b.sdp, b.producerId));
        reply(404, { error: 'not found' });
      } catch (err) {
        reply(err instanceof ParleyError ? 400 : 500, { error: (err as Error).message });
      }
    })();
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    console.log(`READY ${typeof addr === 'object' && addr ? addr.port : 0}`);
  });
  const stop = (): void => {
    target.close();
    server.close();
    nodeDataChannel.cleanup();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
