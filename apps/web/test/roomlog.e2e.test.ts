import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from '@parley-rtc/test-support/browser';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { closeAll, ensureWebBuilt, join, withDiagnostics, type Participant } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

/** A valid 1×1 PNG (checked chunk CRCs), 70 bytes. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const MAX_BYTES = 50_000;

describe('web app: room log (history and shared files) in headless Chromium', { skip: chromiumMissing }, () => {
  let server: TestServer;
  let browser: Browser;
  let alice: Participant;
  let bob: Participant | undefined;
  const all = () => [alice, bob].filter((p): p is Participant => p !== undefined);
  const texts = [`first from Alice ${Date.now()}`, `second from Alice ${Date.now()}`];

  before(async () => {
    ensureWebBuilt();
    server = await startServer({ files: { maxBytes: MAX_BYTES } });
    browser = await launchChromium();
    alice = await join(browser, server.app.url, 'history', 'Alice');
  });
  after(async () => {
    await closeAll(all());
    await browser?.close();
    await server?.close();
  });

  it('shares chat and an image; a late joiner sees both, the image loads and the link downloads the bytes', () =>
    withDiagnostics(all, async () => {
      const { page } = alice;
      for (const text of texts) {
        await page.getByTestId('chat-input').fill(text);
        await page.getByTestId('chat-send').click();
        await page.getByTestId('chat-message').filter({ hasText: text }).waitFor({ timeout: 10_000 });
      }

      await page.getByTestId('file-input').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
      // The progress UI reaches completion: state done, progress bar full.
      const upload = page.locator('[data-testid="upload"][data-name="dot.png"]');
      await page.locator('[data-testid="upload"][data-name="dot.png"][data-state="done"]').waitFor({ timeout: 10_000 });
      const bar = await upload.getByTestId('upload-progress').evaluate((el) => {
        const p = el as HTMLProgressElement;
        return { value: p.value, max: p.max };
      });
      assert.deepEqual(bar, { value: PNG.length, max: PNG.length });
      // The sender sees its own file entry once.
      await page.getByTestId('chat-file').filter({ hasText: 'dot.png' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId('chat-file').count(), 1);

      // Bob joins after all of it and catches up from the join ack.
      bob = await join(browser, server.app.url, 'history', 'Bob');
      const b = bob.page;
      for (const text of texts) {
        const line = b.getByTestId('chat-message').filter({ hasText: text });
        await line.waitFor({ timeout: 10_000 });
        assert.match((await line.textContent()) ?? '', /Alice/);
      }
      // In log order: the two messages, then the file.
      const order = await b
        .locator('[data-testid="chat-message"], [data-testid="chat-file"]')
        .evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')));
      assert.deepEqual(order, ['chat-message', 'chat-message', 'chat-file']);

      const file = b.getByTestId('chat-file').filter({ hasText: 'dot.png' });
      await file.waitFor({ timeout: 10_000 });
      assert.match((await file.getByTestId('chat-file-size').textContent()) ?? '', /^70 B$/);
      assert.match((await file.textContent()) ?? '', /Alice/);

      const img = file.getByTestId('chat-file-image');
      await waitFor(
        () => img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0),
        10_000,
        'the shared image to load at Bob',
        () => img.evaluate((el) => JSON.stringify({ src: (el as HTMLImageElement).src, complete: (el as HTMLImageElement).complete })),
      );
      assert.equal(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth), 1);

      // The link carries Bob's own session credential (a plain link cannot send X-Parley-Session),
      // never a bare peer id, and serves the bytes.
      const link = file.getByTestId('chat-file-link');
      const href = await link.evaluate((el) => (el as HTMLAnchorElement).href);
      const bobHas = await b.evaluate(() => ({ id: window.__parley?.room.self?.id, session: window.__parley?.room.session }));
      assert.ok(bobHas.id && bobHas.session, 'Bob has a peer id and a session credential');
      assert.equal(new URL(href).searchParams.get('session'), bobHas.session);
      assert.equal(new URL(href).searchParams.get('peer'), null);
      const got = await b.evaluate(async (url) => {
        const res = await fetch(url);
        const bytes = new Uint8Array(await res.arrayBuffer());
        let bin = '';
        for (const x of bytes) bin += String.fromCharCode(x);
        return { status: res.status, type: res.headers.get('content-type'), length: bytes.byteLength, base64: btoa(bin) };
      }, href);
      assert.deepEqual(got, { status: 200, type: 'image/png', length: PNG.length, base64: PNG.toString('base64') });
    }));

  it('a file over the server limit is refused with a message naming the limit, and nothing is shared', () =>
    withDiagnostics(all, async () => {
      const { page } = alice;
      const before = await page.getByTestId('chat-file').count();
      await page
        .getByTestId('file-input')
        .setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MAX_BYTES + 1000, 7) });
      const row = page.locator('[data-testid="upload"][data-name="big.bin"][data-state="error"]');
      await row.waitFor({ timeout: 10_000 });
      const message = (await row.getByTestId('upload-error').textContent()) ?? '';
      assert.match(message, /too large/);
      assert.match(message, /limit is 50 kB/);
      assert.equal(await page.getByTestId('chat-file').count(), before);
      await row.getByTestId('upload-dismiss').click();
      await row.waitFor({ state: 'detached', timeout: 5_000 });
    }));

  it('cancelling an upload in flight removes it and shares nothing', () =>
    withDiagnostics(all, async () => {
      const { page } = alice;
      const before = await page.getByTestId('chat-file').count();
      // Hold the request so the upload is still in flight when we cancel.
      let held = false;
      await page.route('**/api/rooms/history/files?name=slow.bin', () => {
        held = true;
      });
      try {
        await page
          .getByTestId('file-input')
          .setInputFiles({ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(2000, 1) });
        const row = page.locator('[data-testid="upload"][data-name="slow.bin"][data-state="uploading"]');
        await row.waitFor({ timeout: 10_000 });
        await waitFor(async () => held, 10_000, 'the upload request to be intercepted');
        await row.getByTestId('upload-cancel').click();
        await page.locator('[data-testid="upload"][data-name="slow.bin"]').waitFor({ state: 'detached', timeout: 5_000 });
        assert.equal(await page.getByTestId('chat-file').count(), before);
      } finally {
        await page.unrouteAll({ behavior: 'ignoreErrors' });
      }
    }));
});
