import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  body: string;
  headers: IncomingMessage['headers'];
}

/**
 * A local webhook receiver on 127.0.0.1:0. `respond` picks the status for each request (default
 * 200); every request is recorded, whatever the answer.
 */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  respond: (request: ReceivedWebhook, index: number) => number = () => 200;
  readonly #server: Server;
  readonly #waiters = new Set<() => void>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers };
        receiver.requests.push(request);
        res.statusCode = receiver.respond(request, receiver.requests.length - 1);
        res.end();
        for (const w of receiver.#waiters) w();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `predicate` holds over the requests so far; rejects after `timeoutMs`. */
  async until(predicate: (requests: ReceivedWebhook[]) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this.requests)) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.requests)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`webhook receiver: condition not met in ${timeoutMs} ms (${this.requests.length} requests)`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
