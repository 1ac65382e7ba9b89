import type { IceServer } from '@parley-rtc/protocol';

/** node-datachannel's ICE server shape (its `IceServer` type). */
export interface LibdatachannelIceServer {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  relayType?: 'TurnUdp' | 'TurnTcp' | 'TurnTls';
}

/**
 * Converts browser-style ICE servers into node-datachannel's objects, for server-side peers.
 * Objects rather than `turn:user:pass@host` strings, because TURN REST usernames contain ':'.
 */
export function toLibdatachannelServers(servers: IceServer[]): LibdatachannelIceServer[] {
  const out: LibdatachannelIceServer[] = [];
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      const match = /^(stuns?|turns?):\[?([^\]?]+?)\]?(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(url);
      if (!match) continue;
      const scheme = match[1]!;
      const hostname = match[2]!;
      const tls = scheme.endsWith('s');
      const port = match[3] ? Number(match[3]) : tls ? 5349 : 3478;
      if (scheme.startsWith('stun')) {
        out.push({ hostname, port });
      } else if (server.username !== undefined && server.credential !== undefined) {
        const relayType = tls ? 'TurnTls' : match[4] === 'tcp' ? 'TurnTcp' : 'TurnUdp';
        out.push({ hostname, port, username: server.username, password: server.credential, relayType });
      }
    }
  }
  return out;
}
