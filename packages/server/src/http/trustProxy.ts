/**
 * Which reverse proxies the server believes about the client's address (`X-Forwarded-For`).
 *
 * One trust function, compiled by `@fastify/proxy-addr` (the library Fastify itself uses), feeds
 * both Fastify's `request.ip` and the Socket.IO handshake, so the HTTP rate limiter, WHIP/WHEP
 * and the per-IP connection guard always agree on who the client is.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';

/** Names proxy-addr expands to ranges, besides IP addresses and CIDRs. */
const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * The `trustProxy` setting, normalized:
 * - `false`: trust no proxy; the client is the TCP peer and `X-Forwarded-For` is ignored;
 * - `true`: trust every hop (the left-most `X-Forwarded-For` entry wins; anyone can forge it);
 * - `n`: trust the TCP peer and the n-1 hops before it, whoever they are;
 * - a list of addresses/CIDRs (or `loopback`, `linklocal`, `uniquelocal`): trust exactly those.
 */
export type TrustProxy = boolean | number | string[];

/** `(address, hop)` → whether that hop is a trusted proxy (hop 0 is the TCP peer). */
export type TrustFn = (address: string, hop: number) => boolean;

function addressProblem(entry: string): string | undefined {
  if (entry === '') return 'an empty entry in the address list';
  if (RANGE_NAMES.includes(entry)) return undefined;
  try {
    proxyAddr.compile([entry]);
    return undefined;
  } catch (err) {
    return `${(err as Error).message} (expected an IP address, a CIDR such as 10.0.0.0/8, or ${RANGE_NAMES.join('/')})`;
  }
}

/** Config schema: true/false, a hop count, a comma-separated string or an array of addresses/CIDRs. */
export const trustProxySchema = z
  .union(
    [
      z.boolean(),
      z.number().int('a hop count is a whole number').min(1, 'a hop count is at least 1 (false trusts no proxy)'),
      z.string(),
      z.array(z.string()).min(1, 'the address list is empty (false trusts no proxy)'),
    ],
    { error: 'expected true, false, a hop count, or a list of proxy addresses/CIDRs' },
  )
  .transform((value, ctx): TrustProxy => {
    if (typeof value === 'boolean' || typeof value === 'number') return value;
    const entries = (typeof value === 'string' ? value.split(',') : value).map((e) => e.trim());
    for (const entry of entries) {
      const problem = addressProblem(entry);
      if (problem) ctx.issues.push({ code: 'custom', message: `${JSON.stringify(entry)}: ${problem}`, input: value });
    }
    return entries;
  });

/**
 * Reads PARLEY_TRUST_PROXY / --trust-proxy: `true`, `false`, a hop count (`1`), or
 * comma-separated addresses/CIDRs (`127.0.0.1,10.0.0.0/8`); the schema checks the addresses.
 */
export function parseTrustProxyText(text: string): boolean | number | string {
  const v = text.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** The trust function for a setting, or undefined when no proxy is trusted. */
export function trustFunction(setting: TrustProxy): TrustFn | undefined {
  if (setting === false) return undefined;
  if (setting === true) return () => true;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyAddr.compile(setting);
}

/**
 * The client's address for a request (an HTTP request or a Socket.IO handshake's): the TCP peer,
 * or, through trusted proxies, the nearest `X-Forwarded-For` entry that is not one of them.
 */
export function clientAddress(req: IncomingMessage, trust: TrustFn | undefined): string | undefined {
  if (!trust) return req.socket.remoteAddress;
  return proxyAddr(req, trust);
}

/** One phrase for the start-up log. */
export function describeTrustProxy(setting: TrustProxy): string {
  if (setting === false) return 'none (client address = TCP peer; X-Forwarded-For ignored)';
  if (setting === true) return 'every proxy (X-Forwarded-For believed as sent)';
  if (typeof setting === 'number') return `${setting} hop${setting === 1 ? '' : 's'} (whoever they are)`;
  return setting.join(', ');
}

const LOOPBACK_HOST = /^(127\.|::1$|localhost$|\[::1\]$)/;

/**
 * A warning when the setting trusts proxies it cannot tell apart from clients (`true` or a hop
 * count) while the server listens beyond loopback: a client reaching it directly can then claim
 * any address and escape the per-IP limits.
 */
export function trustProxyWarning(setting: TrustProxy, host: string): string | undefined {
  if (setting !== true && typeof setting !== 'number') return undefined;
  if (LOOPBACK_HOST.test(host)) return undefined;
  return (
    `trustProxy ${setting === true ? 'true' : setting} believes X-Forwarded-For from any peer, and the server listens on ${host}: ` +
    'a client that reaches it directly can claim any address. List the proxy addresses instead (e.g. "10.0.0.2"), ' +
    'or listen on 127.0.0.1 behind the proxy.'
  );
}
