import type { FastifyInstance } from 'fastify';
import { classifyIceUrl, PROTOCOL_VERSION, type DiagnosticsResponse } from '@parley-rtc/protocol';
import type { ParleyConfig } from '../config.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { IceServerProvider } from '../ice/IceServerProvider.ts';
import { iceCaller } from './ice.ts';

/**
 * `GET /api/diagnostics[?room=R]`: what the web app's connectivity check (`/diagnostics`) needs:
 * the caller's ICE servers with fresh TURN credentials (same auth rule as `/api/ice-servers`),
 * which kinds of ICE server are configured, the server's clock (a skewed client or server clock
 * makes coturn reject the credentials) and a few server-side facts. No secrets.
 */
export function registerDiagnosticsRoutes(
  http: FastifyInstance,
  deps: { config: ParleyConfig; tokens: TokenService; ice: IceServerProvider },
): void {
  const { config, tokens, ice } = deps;
  http.get('/api/diagnostics', async (req, reply): Promise<DiagnosticsResponse> => {
    const { who, notAfterSec } = await iceCaller(req, tokens);
    const { iceServers } = ice.forMember(who, notAfterSec);
    const configured: DiagnosticsResponse['configured'] = { stun: [], turnUdp: [], turnTcp: [], turns: [] };
    let expiresAt: number | undefined;
    for (const server of iceServers) {
      const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
      for (const url of urls) {
        const kind = classifyIceUrl(url);
        if (kind === 'stun') configured.stun.push(url);
        else if (kind === 'turn-udp') configured.turnUdp.push(url);
        else if (kind === 'turn-tcp') configured.turnTcp.push(url);
        else if (kind === 'turns') configured.turns.push(url);
      }
      // TURN REST usernames are `<expiry>:<peer id>`.
      const expiry = server.username === undefined ? undefined : /^(\d+):/.exec(server.username)?.[1];
      if (expiry !== undefined) expiresAt = Number(expiry);
    }
    void reply.header('cache-control', 'no-store');
    return {
      serverTime: Date.now(),
      iceServers,
      configured,
      turn: {
        enabled: ice.hasTurn,
        urlsWithoutSecret: config.turn.urls.length > 0 && !config.turn.secret,
        ttlSec: config.turn.ttlSec,
        ...(expiresAt === undefined ? {} : { expiresAt }),
      },
      server: {
        protocolVersion: PROTOCOL_VERSION,
        tls: config.tls !== undefined,
        openMode: tokens.openMode,
        ...(config.media.bindAddress === undefined ? {} : { mediaBindAddress: config.media.bindAddress }),
      },
    };
  });
}
