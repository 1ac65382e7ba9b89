import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConfigInput } from '@parley-rtc/server';
import { launchChromium, mediaContext } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import type {} from '../src/testHooks.ts';

const webOut = fileURLToPath(new URL('../../../packages/server/web', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The server serves packages/server/web (the web app's build). `npm test` builds it first; when running the e2e tier alone
 * we build it if it is missing (set PARLEY_E2E_REBUILD=1 to force a fresh build).
 */
export function ensureWebBuilt(): void {
  if (existsSync(`${webOut}/index.html`) && process.env['PARLEY_E2E_REBUILD'] !== '1') return;
  // vite's exports map does not list its bin script; find it beside its package.json.
  const vite = fileURLToPath(new URL('bin/vite.js', import.meta.resolve('vite/package.json')));
  const res = spawnSync(process.execPath, [vite, 'build', 'apps/web', '--logLevel', 'warn'], { cwd: repoRoot, stdio: 'inherit' });
  if (res.status !== 0) throw new Error('vite build apps/web failed');
}

export interface Participant {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors, printed when a test fails. */
  problems: string[];
}

export interface JoinOptions {
  /** Run before any page script, e.g. to make getUserMedia fail. */
  initScript?: string;
  /** An access token for a server with auth (the room page reads `?token=`). */
  token?: string;
}

/** Opens the room page in a fresh context (own cookies, own fake camera) and joins through the UI. */
export async function join(browser: Browser, baseUrl: string, room: string, name: string, options: JoinOptions = {}): Promise<Participant> {
  const context = await mediaContext(browser, baseUrl);
  if (options.initScript) await context.addInitScript(options.initScript);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  const query = options.token ? `?token=${encodeURIComponent(options.token)}` : '';
  await page.goto(`${baseUrl}/room/${encodeURIComponent(room)}${query}`);
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('join-button').click();
  await page.getByTestId('call-view').waitFor({ timeout: 15_000 });
  return { name, context, page, problems };
}

export interface InboundVideo {
  peerId: string;
  trackIdentifier: string;
  framesDecoded: number;
}

/** The page's inbound video streams, from RTCPeerConnection.getStats() via window.__parley. */
export async function inboundVideo(page: Page): Promise<InboundVideo[]> {
  return page.evaluate(async () => {
    const hooks = window.__parley;
    if (!hooks) throw new Error('window.__parley is missing');
    const stats = await hooks.stats();
    return stats.flatMap((s) =>
      s.inboundVideo.map((v) => ({ peerId: s.peerId, trackIdentifier: v.trackIdentifier, framesDecoded: v.framesDecoded })),
    );
  });
}

/**
 * Waits until at least `tracks` inbound video streams have each decoded `growth` more frames than
 * when the wait began (a stream first seen during the wait counts from zero). Proves media flows,
 * not just that a connection exists.
 */
export async function waitForDecoding(
  page: Page,
  tracks: number,
  options: { growth?: number; timeoutMs?: number; exclude?: string[] } = {},
): Promise<InboundVideo[]> {
  const baseline = new Map((await inboundVideo(page)).map((v) => [v.trackIdentifier, v.framesDecoded]));
  const growth = options.growth ?? 20;
  const exclude = new Set(options.exclude ?? []);
  let last: InboundVideo[] = [];
  await waitFor(
    async () => {
      last = (await inboundVideo(page)).filter((v) => !exclude.has(v.trackIdentifier));
      return last.filter((v) => v.framesDecoded >= (baseline.get(v.trackIdentifier) ?? 0) + growth).length >= tracks;
    },
    options.timeoutMs ?? 30_000,
    `${tracks} inbound video(s) decoding ${growth}+ new frames`,
    async () => JSON.stringify({ baseline: Object.fromEntries(baseline), now: last }),
  );
  return last;
}

/** Tiles the page shows, as [source, peerId] pairs; useful in assertion messages. */
export async function tiles(page: Page): Promise<Array<{ source: string; local: boolean; name: string }>> {
  return page.getByTestId('tile').evaluateAll((els) =>
    els.map((el) => ({
      source: el.getAttribute('data-source') ?? '',
      local: el.getAttribute('data-local') === 'true',
      name: el.querySelector('[data-testid="tile-name"]')?.textContent ?? '',
    })),
  );
}

export async function closeAll(participants: Participant[]): Promise<void> {
  for (const p of participants) await p.context.close().catch(() => {});
}

/** Wraps a test body so a failure also prints what the pages logged. */
export async function withDiagnostics(participants: () => Participant[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    for (const p of participants()) {
      if (p.problems.length) console.error(`--- ${p.name} page log ---\n${p.problems.slice(-20).join('\n')}`);
    }
    throw err;
  }
}

/** A server and a Chromium shared by the tests of one `describe`, plus the pages they opened. */
export class BrowserSuite {
  server!: TestServer;
  browser!: Browser;
  /** Pages to close after the suite (and to print the logs of when a test fails). */
  readonly pages: Participant[] = [];

  /** Joins `room` as `name` on a new page, remembered in `pages`. */
  async join(room: string, name: string, options?: JoinOptions): Promise<Participant> {
    const p = await join(this.browser, this.server.app.url, room, name, options);
    this.pages.push(p);
    return p;
  }
}

/**
 * Registers before/after hooks (call it inside `describe`): builds the web app if needed, starts
 * a server with `config` and Chromium with `chromiumArgs()` (evaluated in the before hook), and
 * closes pages, browser and server afterwards.
 */
export function browserSuite(
  options: {
    config?: ConfigInput;
    chromiumArgs?: () => string[];
    cleanup?: () => void;
    /**
     * true: call nodeDataChannel.cleanup() at the end. Off by default: with Chromium, bots and the
     * server's SFU peers in one process, libdatachannel's cleanup() crashed the process (SIGSEGV)
     * after every test had passed in about half the runs; the server never calls it, and the
     * process exits through the timer below either way.
     */
    nativeCleanup?: boolean;
  } = {},
): BrowserSuite {
  const suite = new BrowserSuite();
  before(async () => {
    ensureWebBuilt();
    suite.server = await startServer(options.config ?? { media: { bindAddress: '127.0.0.1' } });
    suite.browser = await launchChromium(options.chromiumArgs?.() ?? []);
  });
  after(async () => {
    await closeAll(suite.pages);
    await suite.browser?.close();
    await suite.server?.close();
    options.cleanup?.();
    if (options.nativeCleanup === true) nodeDataChannel.cleanup();
    // As in the server's media tests: libdatachannel may keep a native callback alive after cleanup().
    setTimeout(() => process.exit(process.exitCode ?? 0), 5000).unref();
  });
  return suite;
}
