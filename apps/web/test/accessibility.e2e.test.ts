import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bot } from '@parley-rtc/bots';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, mediaContext } from '@parley-rtc/test-support/browser';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { axeViolations, describeViolations } from './axe.ts';
import { joinBot } from './bots.ts';
import { ensureWebBuilt, join, withDiagnostics, type Participant } from './harness.ts';
import { focusedControl, tabTo, tabCycle } from './keyboard.ts';

/**
 * The accessibility ratchet: axe finds no WCAG 2.1 A/AA violation on the home page, the join
 * screen, a call with two members (the second is a bot, so one Chromium page at a time) and the
 * connection check; and every call control works from the keyboard alone, with visible focus.
 */

// The bot's libdatachannel threads must be released for the process to end.
after(releaseNativeWebRtc);

async function assertNoViolations(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe found WCAG 2.1 A/AA violations on ${where}:\n${describeViolations(violations)}`);
}

/** The call controls, by test id: each must be reachable by Tab. */
const CALL_CONTROLS = ['toggle-mic', 'toggle-camera', 'toggle-screen', 'open-devices', 'toggle-chat', 'leave-button'];

describe('web app accessibility (axe, WCAG 2.1 A/AA; keyboard)', { skip: chromiumMissing }, () => {
  let server: TestServer;
  let browser: Browser;
  let bot: Bot | undefined;

  /** Runs `body` on a fresh page (own context, camera and microphone granted) at `path`, then closes it. */
  async function onPage(path: string, body: (page: Page) => Promise<void>): Promise<void> {
    const context = await mediaContext(browser, server.app.url);
    try {
      const page = await context.newPage();
      await page.goto(`${server.app.url}${path}`);
      await body(page);
    } finally {
      await context.close();
    }
  }

  /** Joins `room` as `name` through the UI, runs `body` (printing the page's log if it fails), then closes the page. */
  async function inCall(room: string, name: string, body: (p: Participant) => Promise<void>): Promise<void> {
    const p = await join(browser, server.app.url, room, name);
    try {
      await withDiagnostics(
        () => [p],
        () => body(p),
      );
    } finally {
      await p.context.close();
    }
  }

  before(async () => {
    ensureWebBuilt();
    server = await startServer({ media: { bindAddress: '127.0.0.1' } });
    browser = await launchChromium();
  });
  after(async () => {
    bot?.close();
    await browser?.close();
    await server?.close();
  });

  it('the home page', () =>
    onPage('/', async (page) => {
      await page.getByTestId('home').waitFor({ timeout: 15_000 });
      await assertNoViolations(page, 'the home page');
    }));

  it('the join screen', () =>
    onPage('/room/a11y-lobby', async (page) => {
      // Join is enabled once the camera and microphone request has settled: the screen is complete.
      await page.locator('[data-testid="join-button"]:enabled').waitFor({ timeout: 15_000 });
      await assertNoViolations(page, 'the join screen');
    }));

  it('a call with two members, with the chat and the device picker open', async () => {
    bot = await joinBot(server.app.url, 'a11y-call', 'Robo');
    await inCall('a11y-call', 'Alice', async ({ page }) => {
      await page.locator('[data-testid="tile"][data-local="false"]').first().waitFor({ timeout: 15_000 });
      // A wide window opens the chat beside the videos.
      await page.getByTestId('chat-input').waitFor({ timeout: 5000 });
      await assertNoViolations(page, 'the call view');
      await page.getByTestId('toggle-chat').click();
      await page.getByTestId('chat-panel').waitFor({ state: 'detached', timeout: 5000 });
      await assertNoViolations(page, 'the call view with the chat closed');
      await page.getByTestId('open-devices').click();
      await page.getByRole('dialog', { name: 'Devices' }).waitFor({ timeout: 5000 });
      await assertNoViolations(page, 'the call view with the device picker open');
    });
    bot.close();
    bot = undefined;
  });

  it('the connection check page', () =>
    onPage('/diagnostics', async (page) => {
      await page
        .locator('[data-testid="diagnostics"][data-phase="done"], [data-testid="diagnostics"][data-phase="error"]')
        .waitFor({ timeout: 30_000 });
      await assertNoViolations(page, 'the connection check page');
    }));

  it('every call control is reachable by Tab with a visible focus, and mute, chat, devices and leave work from the keyboard', () =>
    inCall('a11y-keys', 'Kim', async ({ page }) => {
      const cycle = await tabCycle(page);
      for (const id of CALL_CONTROLS) {
        const stop = cycle.find((c) => c.testId === id);
        assert.ok(stop, `${id} is not reachable by Tab; the Tab order is ${cycle.map((c) => c.testId ?? c.tag).join(', ')}`);
        assert.ok(stop.focusVisible, `${id} has no visible focus indicator`);
      }

      const mic = page.getByTestId('toggle-mic');
      await tabTo(page, 'toggle-mic');
      await page.keyboard.press('Space');
      await page.locator('[data-testid="toggle-mic"][aria-pressed="true"]').waitFor({ timeout: 5000 });
      await page.keyboard.press('Enter');
      await page.locator('[data-testid="toggle-mic"][aria-pressed="false"]').waitFor({ timeout: 5000 });
      assert.equal(await mic.getAttribute('aria-pressed'), 'false');

      // A wide window opens the chat beside the videos: Enter closes it, Space opens it again.
      await page.getByTestId('chat-panel').waitFor({ timeout: 5000 });
      await tabTo(page, 'toggle-chat');
      await page.keyboard.press('Enter');
      await page.getByTestId('chat-panel').waitFor({ state: 'detached', timeout: 5000 });
      await page.keyboard.press('Space');
      await page.getByTestId('chat-panel').waitFor({ timeout: 5000 });

      await tabTo(page, 'open-devices');
      await page.keyboard.press('Enter');
      await page.getByRole('dialog', { name: 'Devices' }).waitFor({ timeout: 5000 });
      await page.keyboard.press('Escape');
      await page.getByRole('dialog', { name: 'Devices' }).waitFor({ state: 'detached', timeout: 5000 });
      assert.equal(await focusedControl(page), 'open-devices', 'Escape gives focus back to the Devices button');

      await tabTo(page, 'leave-button');
      await page.keyboard.press('Enter');
      await page.getByTestId('home').waitFor({ timeout: 10_000 });
    }));
});
