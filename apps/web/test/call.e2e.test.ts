import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from '@parley-rtc/test-support/browser';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import type { Bot } from '@parley-rtc/bots';
import { closeAll, ensureWebBuilt, inboundVideo, join, tiles, waitForDecoding, withDiagnostics, type Participant } from './harness.ts';
import { botReceives, joinBot } from './bots.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';

// The bots' libdatachannel threads must be released for the process to end.
after(releaseNativeWebRtc);

describe('web app: two-party call in headless Chromium', { skip: chromiumMissing }, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: Participant;
  let bob: Participant;
  const all = () => [alice, bob].filter(Boolean);

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    browser = await launchChromium();
    alice = await join(browser, server.app.url, 'duo', 'Alice');
    bob = await join(browser, server.app.url, 'duo', 'Bob');
  });
  after(async () => {
    await closeAll(all());
    await browser?.close();
    await server?.close();
  });

  it("each page decodes the other's camera video", () =>
    withDiagnostics(all, async () => {
      await waitForDecoding(alice.page, 1);
      await waitForDecoding(bob.page, 1);
      const atBob = await tiles(bob.page);
      assert.deepEqual(atBob.map((t) => [t.source, t.local]).sort(), [
        ['camera', false],
        ['camera', true],
      ]);
      assert.ok(
        atBob.some((t) => t.name === 'Alice'),
        JSON.stringify(atBob),
      );
    }));

  it('a chat message typed in one page appears in the other, with a timestamp', () =>
    withDiagnostics(all, async () => {
      const text = `hello from Alice ${Date.now()}`;
      await alice.page.getByTestId('chat-input').fill(text);
      await alice.page.getByTestId('chat-send').click();
      const atBob = bob.page.getByTestId('chat-message').filter({ hasText: text });
      await atBob.waitFor({ timeout: 10_000 });
      assert.match((await atBob.textContent()) ?? '', /Alice/);
      assert.equal(await atBob.locator('time').count(), 1);
      // The sender sees its own message exactly once (ack and broadcast are deduplicated by seq).
      await alice.page.getByTestId('chat-message').filter({ hasText: text }).waitFor({ timeout: 10_000 });
      assert.equal(await alice.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
    }));

  it('muting the microphone shows a muted indicator on the other side', () =>
    withDiagnostics(all, async () => {
      const aliceTileAtBob = bob.page.locator('[data-testid="tile"][data-local="false"][data-source="camera"]');
      assert.equal(await aliceTileAtBob.getByTestId('muted-indicator').count(), 0);
      await alice.page.getByTestId('toggle-mic').click();
      await aliceTileAtBob.getByTestId('muted-indicator').waitFor({ timeout: 10_000 });
      await alice.page.getByTestId('toggle-mic').click();
      await aliceTileAtBob.getByTestId('muted-indicator').waitFor({ state: 'detached', timeout: 10_000 });
    }));

  it('a screen share reaches the other page as a second decoding video, and stops', () =>
    withDiagnostics(all, async () => {
      const cameraTracks = (await inboundVideo(bob.page)).map((v) => v.trackIdentifier);
      assert.equal(cameraTracks.length, 1);
      await alice.page.getByTestId('toggle-screen').click();
      // A new inbound video (not the camera one) must decode frames at Bob's.
      await waitForDecoding(bob.page, 1, { exclude: cameraTracks });
      await bob.page.locator('[data-testid="tile"][data-source="screen"][data-local="false"]').waitFor({ timeout: 10_000 });
      await alice.page.locator('[data-testid="tile"][data-source="screen"][data-local="true"]').waitFor({ timeout: 10_000 });
      // The camera keeps flowing during the share.
      await waitForDecoding(bob.page, 2);

      await alice.page.getByTestId('toggle-screen').click();
      await bob.page.locator('[data-testid="tile"][data-source="screen"]').waitFor({ state: 'detached', timeout: 15_000 });
      await waitForDecoding(bob.page, 1);
    }));

  it('both sides renegotiating at once (glare) still ends with both screen shares decoding', () =>
    withDiagnostics(all, async () => {
      // Both offers cross on the wire: the impolite side ignores the other's, the polite one rolls back.
      await Promise.all([alice.page.getByTestId('toggle-screen').click(), bob.page.getByTestId('toggle-screen').click()]);
      await waitForDecoding(alice.page, 2, { timeoutMs: 30_000 });
      await waitForDecoding(bob.page, 2, { timeoutMs: 30_000 });
      for (const p of [alice, bob]) {
        await p.page.locator('[data-testid="tile"][data-source="screen"][data-local="false"]').waitFor({ timeout: 10_000 });
      }
      await Promise.all([alice.page.getByTestId('toggle-screen').click(), bob.page.getByTestId('toggle-screen').click()]);
      for (const p of [alice, bob]) {
        await p.page.locator('[data-testid="tile"][data-source="screen"]').waitFor({ state: 'detached', timeout: 15_000 });
      }
    }));

  it('a peer that leaves disappears from the other page with a notice', () =>
    withDiagnostics(all, async () => {
      await bob.page.getByTestId('leave-button').click();
      await bob.page.getByTestId('home').waitFor({ timeout: 10_000 });
      await alice.page.getByTestId('notice').filter({ hasText: 'Bob left' }).waitFor({ timeout: 10_000 });
      await alice.page.waitForFunction(() => document.querySelectorAll('[data-testid="tile"]').length === 1, null, { timeout: 10_000 });
      await alice.page.getByTestId('alone-hint').waitFor({ timeout: 10_000 });
    }));
});

describe('web app: three-party mesh with a headless participant', { skip: chromiumMissing }, () => {
  let server: TestServer;
  let browser: Browser;
  const people: Participant[] = [];
  let cat: Bot | undefined;

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    browser = await launchChromium();
    for (const name of ['Ann', 'Ben']) people.push(await join(browser, server.app.url, 'trio', name));
    cat = await joinBot(server.app.url, 'trio', 'Cat');
  });
  after(async () => {
    await cat?.leave();
    await closeAll(people);
    await browser?.close();
    await server?.close();
  });

  it('every page decodes two remote videos (one from the bot) and shows three tiles; the bot receives both pages', () =>
    withDiagnostics(
      () => people,
      async () => {
        for (const p of people) {
          const videos = await waitForDecoding(p.page, 2, { timeoutMs: 45_000 });
          assert.equal(new Set(videos.map((v) => v.peerId)).size, 2, `${p.name} decodes from both others`);
        }
        for (const p of people) {
          const names = (await tiles(p.page)).map((t) => t.name.replace(' (you)', '')).sort();
          assert.deepEqual(names, ['Ann', 'Ben', 'Cat'], `${p.name}'s tiles`);
        }
        await botReceives(cat!, ['Ann', 'Ben'], { frames: 30, timeoutMs: 30_000 });
        assert.equal(cat!.mode, 'mesh');
      },
    ));
});

describe('web app: joining without camera or microphone', { skip: chromiumMissing }, () => {
  let server: TestServer;
  let browser: Browser;
  const people: Participant[] = [];

  before(async () => {
    ensureWebBuilt();
    server = await startServer();
    browser = await launchChromium();
  });
  after(async () => {
    await closeAll(people);
    await browser?.close();
    await server?.close();
  });

  it('explains the denial, still joins, and still receives the other side', () =>
    withDiagnostics(
      () => people,
      async () => {
        const deny = `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied by test', 'NotAllowedError'));`;
        const context = await browser.newContext();
        const page = await context.newPage();
        await context.addInitScript(deny);
        await page.goto(`${server.app.url}/room/nomedia`);
        const message = page.getByTestId('media-error');
        await message.waitFor({ timeout: 10_000 });
        assert.match((await message.textContent()) ?? '', /Camera: access was blocked/);
        await context.close();

        const denied = await join(browser, server.app.url, 'nomedia', 'NoCam', { initScript: deny });
        people.push(denied);
        people.push(await join(browser, server.app.url, 'nomedia', 'WithCam'));
        await waitForDecoding(denied.page, 1);
        assert.equal(await denied.page.getByTestId('toggle-camera').isDisabled(), true);
      },
    ));
});
