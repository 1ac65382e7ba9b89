// SFU bench server: one Router (the code under test) behind a minimal HTTP signalling API on
// 127.0.0.1. Prints `READY <port>` (bench/lib/spawnReady.ts contract). ICE: loopback host
// candidates only, no ICE servers.
//   POST /publish   {sdp}              → {producerId, sdp}
//   POST /subscribe {sdp, producerId}  → {sdp}
//   GET  /stats                        → Router.stats()
import { createServer, type IncomingMessage } from 'node:http';
import nodeDataChannel from 'node-datachannel';
import { ParleyError } from '@parley/protocol';
import { Router } from '../../packages/server/src/sfu/Router.ts';

const router = new Router({
  id: 'bench',
  peerOptions: () => ({ iceServers: [], bindAddress: '127.0.0.1' }),
  limits: { maxConsumers: 5000 },
});

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
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ParleyError('INVALID_PAYLOAD', 'JSON object expected');
  return Object.fromEntries(Object.entries(parsed));
}

const server = createServer((req, res) => {
  const reply = (status: number, data: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(data));
  };
  void (async () => {
    try {
      if (req.method === 'GET' && req.url === '/stats') return reply(200, router.stats());
      if (req.method !== 'POST') return reply(404, { error: 'not found' });
      const b = await body(req);
      if (req.url === '/publish') {
        const r = await router.publish(b.sdp);
        return reply(200, { producerId: r.producers.find((p) => p.kind === 'video')?.id, sdp: r.answer });
      }
      if (req.url === '/subscribe') {
        const r = await router.subscribe(b.sdp, [b.producerId]);
        return reply(200, { sdp: r.answer });
      }
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

function stop(): void {
  router.close();
  server.close();
  nodeDataChannel.cleanup();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
