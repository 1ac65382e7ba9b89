/**
 * The SDK as someone else's app uses it: examples/minimal installed from the npm tarballs and
 * built with Vite, and the same page without a build step, importing /sdk/parley-client.js from
 * the server. Each test opens one Chromium page in a room where a bot publishes VP8 and Opus.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build as viteBuild, defaultClientConditions } from 'vite';
import { build as esbuild } from 'esbuild';
import type { Bot } from '@parley-rtc/bots';
import { chromiumMissing, launchChromium, mediaContext } from '@parley-rtc/test-support/browser';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { installInto, repoRoot, tarballs, userEnv } from '@parley-rtc/test-support/packed';
import { botReceives, joinBot } from '../../../apps/web/test/bots.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';

// The bots' libdatachannel threads must be released for the process to end.
after(releaseNativeWebRtc);

const example = join(repoRoot, 'examples/minimal');
const clientDir = join(repoRoot, 'packages/client');

/** The newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = statSync(path);
    latest = Math.max(latest, info.isDirectory() ? newest(path) : info.mtimeMs);
  }
  return latest;
}

/** The browser bundle the server serves, rebuilt when the sources are newer (or it is missing). */
async function freshBrowserBundle(): Promise<void> {
  const file = join(clientDir, 'dist/browser/parley-client.js');
  const sources = Math.max(newest(join(clientDir, 'src')), newest(join(repoRoot, 'packages/protocol/src')));
  if (existsSync(file) && statSync(file).mtimeMs >= sources) return;
  const { bundle } = (await import(join(clientDir, 'scripts/bundle.mjs'))) as { bundle: () => Promise<number> };
  await bundle();
}

/** Waits for `promise`, or fails after `ms` saying what did not happen. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('your own app: examples/minimal against a running server', { skip: chromiumMissing }, () => {
  let project: string;
  let webDir: string;
  let viteModules: string[] = [];
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const bots: Bot[] = [];

  before(async () => {
    const packs = await tarballs();
    // What a user does: install the two tarballs (socket.io-client and zod come from npm).
    project = installInto([packs.get('protocol')!, packs.get('client')!], { omitDev: true });
    for (const file of ['index.html', 'no-build.html', 'main.js']) copyFileSync(join(example, file), join(project, file));
    // The repository's Vite, but resolving like a user's project: the default conditions, never
    // the workspace's `@parley-rtc/source` (this process runs with it in NODE_OPTIONS).
    const result = await viteBuild({
      root: project,
      configFile: false,
      logLevel: 'warn',
      resolve: { conditions: [...defaultClientConditions] },
      build: { outDir: 'dist', emptyOutDir: true },
    });
    const outputs = Array.isArray(result) ? result : [result];
    viteModules = outputs.flatMap((o) => ('output' in o ? o.output.flatMap((c) => (c.type === 'chunk' ? c.moduleIds : [])) : []));
    // One server serves both variants: the Vite build, and the page with its import map.
    webDir = join(project, 'dist');
    for (const file of ['no-build.html', 'main.js']) copyFileSync(join(example, file), join(webDir, file));
    await freshBrowserBundle();
    server = await startServer({ webDir, media: { bindAddress: '127.0.0.1' } });
    browser = await launchChromium();
  });

  after(async () => {
    for (const bot of bots) bot.close();
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.close();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  /**
   * Opens `path` on a fresh page with a fake camera. Keeps its console errors (printed when a
   * test fails) and the status of every response by path.
   */
  async function open(path: string): Promise<{ page: Page; problems: string[]; responses: Map<string, number[]> }> {
    const context = await mediaContext(browser, server.app.url);
    contexts.push(context);
    const page = await context.newPage();
    const problems: string[] = [];
    const responses = new Map<string, number[]>();
    page.on('response', (res) => {
      const at = new URL(res.url()).pathname;
      responses.set(at, [...(responses.get(at) ?? []), res.status()]);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
    });
    await page.goto(`${server.app.url}${path}`);
    return { page, problems, responses };
  }

  /**
   * Joins through the page's button and checks the call: the bot's camera decodes and plays on
   * the page, the page's camera reaches the bot, and chat goes both ways.
   */
  async function callWorks(page: Page, problems: string[], bot: Bot, name: string): Promise<void> {
    try {
      await page.locator('#join').click();
      await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
      await page.waitForFunction(
        () => [...document.querySelectorAll('#remote video')].some((v) => (v as HTMLVideoElement).videoWidth > 0),
        null,
        {
          timeout: 30_000,
        },
      );
      // Playing, not just a first frame: count frames presented for display. (A string, because
      // tsx would add helpers the page does not have to a function's inner named functions.)
      const shown = await page.evaluate<{ frames: number; width: number }>(`new Promise((resolve) => {
        const video = [...document.querySelectorAll('#remote video')].find((v) => v.videoWidth > 0);
        let frames = 0;
        const timer = setTimeout(() => resolve({ frames, width: video.videoWidth }), 10000);
        video.requestVideoFrameCallback(function tick() {
          if (++frames < 30) return video.requestVideoFrameCallback(tick);
          clearTimeout(timer);
          resolve({ frames, width: video.videoWidth });
        });
      })`);
      assert.ok(shown.frames >= 30, `the bot's video played ${shown.frames} frames in 10 s`);
      assert.equal(shown.width, 320, 'the bot sends 320x240');
      await botReceives(bot, [name], { frames: 20, timeoutMs: 20_000 });

      const fromPage = `hello from ${name} ${Date.now()}`;
      const heard = new Promise<{ name: string }>((resolve) => {
        bot.on('chat', (entry) => {
          if (entry.text === fromPage) resolve({ name: entry.from.name });
        });
      });
      await page.locator('form input[name=text]').fill(fromPage);
      await page.locator('form button').click();
      assert.deepEqual(await within(heard, 10_000, 'the page chat at the bot'), { name });

      const fromBot = `hello from the bot ${Date.now()}`;
      await bot.sendChat(fromBot);
      await page.locator('#messages li', { hasText: `bot: ${fromBot}` }).waitFor({ timeout: 10_000 });
      // Our own message shows once (the ack and the broadcast are one log entry).
      assert.equal(await page.locator('#messages li', { hasText: fromPage }).count(), 1);
    } catch (err) {
      if (problems.length) console.error(`--- page log ---\n${problems.slice(-20).join('\n')}`);
      throw err;
    }
  }

  it('Vite bundled the installed package (dist, not the workspace sources)', () => {
    const client = viteModules.filter((id) => id.includes('@parley-rtc/client'));
    assert.ok(
      client.some((id) => id.includes(join('node_modules', '@parley-rtc', 'client', 'dist'))),
      client.join('\n'),
    );
    assert.ok(!viteModules.some((id) => id.includes(repoRoot) || /@parley-rtc\/[a-z]+\/src\//.test(id)), viteModules.join('\n'));
  });

  it("the installed types check the example's code", () => {
    // The types are real (not `any` from a module without declarations), or this line would not be an error.
    const probe = "import { Room } from '@parley-rtc/client';\n// @ts-expect-error no such method\nvoid new Room().sendChatt('x');\n";
    writeFileSync(join(project, 'probe.ts'), probe);
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--allowJs', '--checkJs', '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022'];
    try {
      execFileSync(process.execPath, [tsc, ...args, '--lib', 'es2023,dom,dom.iterable', '--skipLibCheck', 'false', 'main.js', 'probe.ts'], {
        cwd: project,
        env: userEnv(),
        encoding: 'utf8',
      });
    } catch (err) {
      assert.fail(`tsc found errors:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
  });

  it('an app that imports a helper bundles neither socket.io nor zod (tree-shaking)', async () => {
    writeFileSync(
      join(project, 'shake.js'),
      "import { formatBytes, LocalMedia, rateQuality } from '@parley-rtc/client';\nconsole.log(formatBytes, LocalMedia, rateQuality);\n",
    );
    const out = await esbuild({
      entryPoints: [join(project, 'shake.js')],
      absWorkingDir: project,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      minify: true,
      write: false,
    });
    const code = out.outputFiles[0]!.text;
    assert.ok(code.length < 10_000, `${code.length} bytes`);
    assert.doesNotMatch(code, /engine\.io|socket\.io|ZodError/);
  });

  it('Vite: the page decodes a bot’s video and publishes its camera; chat goes both ways', async () => {
    const bot = await joinBot(server.app.url, 'vite-app', 'bot');
    bots.push(bot);
    const { page, problems } = await open('/?room=vite-app&name=Ada');
    await callWorks(page, problems, bot, 'Ada');
  });

  it('no build step: the same page imports /sdk/parley-client.js from the server', async () => {
    const bot = await joinBot(server.app.url, 'script-tag', 'bot');
    bots.push(bot);
    const { page, problems, responses } = await open('/no-build.html?room=script-tag&name=Grace');
    await callWorks(page, problems, bot, 'Grace');
    assert.deepEqual(responses.get('/sdk/parley-client.js'), [200]);
    assert.equal(responses.get('/assets/index.js'), undefined);
  });
});
