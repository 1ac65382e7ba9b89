/**
 * A minimal TCP load balancer for cluster tests: one loopback port that forwards every new
 * connection to the node currently chosen, so a client with one fixed URL (a bot, a page) can
 * reconnect to another node after its own is gone, as it would behind nginx or HAProxy.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpBalancer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Later connections go to this node's URL (earlier ones stay where they are). */
  route(nodeUrl: string): void;
  close(): Promise<void>;
}

export async function startBalancer(nodeUrl: string): Promise<TcpBalancer> {
  let target = new URL(nodeUrl);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('balancer has no TCP address');
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    route(url: string) {
      target = new URL(url);
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
