import { connect } from 'node:net';

/** Whether something accepts TCP connections on host:port right now (for daemons a test starts). */
export function tcpAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
