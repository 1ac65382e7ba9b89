import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; tests that need it skip with this reason when it is missing. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const chromiumMissing: string | false = existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH}`;

/** Flags for WebRTC on loopback in headless Chromium (see shared/browser-testing.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A fresh context with camera and microphone granted for `origin`. */
export async function mediaContext(browser: Browser, origin: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin });
  return context;
}

/**
 * A blank page on `origin` (a secure context) ready for WebRTC on loopback: Chromium gathers
 * host candidates only once the page holds a getUserMedia grant, so it takes and drops one.
 */
export async function webRtcPage(browser: Browser, origin: string): Promise<Page> {
  const page = await (await mediaContext(browser, origin)).newPage();
  await page.goto(`${origin}/healthz`);
  await page.evaluate(async () => {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    s.getTracks().forEach((t) => t.stop());
  });
  return page;
}
