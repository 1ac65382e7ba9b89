/**
 * The web app on the data channel (issue 13, items 5 and 6), two Chromium pages in a mesh room:
 * chat typed in one page reaches the other over the data channel (the reliable channel's
 * messagesSent grows, and the SDK counts it) and is still in the room log, once, for a late
 * joiner (a bare Socket.IO client); a 20 MiB file sent directly arrives with the right SHA-256
 * while both sides show progress; cancelling works from either side.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { DATA_CHANNELS, type JoinResult } from '@parley-rtc/protocol';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { waitFor } from '@parley-rtc/test-support/poll';
import { connectSocket, data, request } from '@parley-rtc/test-support/server';
import { axeViolations, describeViolations } from './axe.ts';
import { browserSuite, withDiagnostics, type Participant } from './harness.ts';

const MiB = 1024 * 1024;

/** Waits until the page's Room has an open data path to every other member. */
async function dataPathOpen(page: Page): Promise<void> {
  await waitFor(
    () => page.evaluate(() => (window.__parley?.room.peers.length ?? 0) > 0 && window.__parley?.room.dataPathOpen() === true),
    20_000,
    'an open data path',
  );
}

/** messagesSent of the page's reliable app-data channel to its one peer (getStats). */
async function reliableMessagesSent(page: Page, label: string): Promise<number> {
  return page.evaluate(async (label) => {
    const room = window.__parley?.room;
    const peer = room?.peers[0];
    const pc = peer ? room?.peerConnection(peer.id) : undefined;
    if (!pc) return -1;
    let sent = -1;
    (await pc.getStats()).forEach((s: { type: string; label?: string; messagesSent?: number }) => {
      if (s.type === 'data-channel' && s.label === label) sent = s.messagesSent ?? 0;
    });
    return sent;
  }, label);
}

async function assertAccessible(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe found WCAG 2.1 A/AA violations on ${where}:\n${describeViolations(violations)}`);
}

/** Records every `data-loaded` value a direct-transfer row shows (progress as the user sees it). */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { __progress: number[] }).__progress = seen;
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-testid="direct-transfer"]')) {
        const loaded = Number(el.getAttribute('data-loaded'));
        if (seen.at(-1) !== loaded) seen.push(loaded);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-loaded'] });
  });
}

async function progressSeen(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
}

describe('web app: chat and files over the data channel', { skip: chromiumMissing }, () => {
  const suite = browserSuite();
  let alice: Participant;
  let bob: Participant;

  it('chat goes over the data channel, shows once, and the room log has it for a late joiner', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        alice = await suite.join('dc', 'Alice');
        bob = await suite.join('dc', 'Bob');
        await dataPathOpen(alice.page);
        await dataPathOpen(bob.page);
        const label = DATA_CHANNELS.reliable.label;
        const sentBefore = await reliableMessagesSent(alice.page, label);
        assert.ok(sentBefore >= 0, 'the mesh link has the reliable data channel');

        const text = `over the data channel ${Date.now()}`;
        await alice.page.getByTestId('chat-input').fill(text);
        await alice.page.getByTestId('chat-send').click();
        const line = bob.page.getByTestId('chat-message').filter({ hasText: text });
        await line.waitFor({ timeout: 10_000 });

        // The path: the data channel carried it (its messagesSent grew) and Bob's SDK got that copy —
        // shown before the log copy, or (on a busy machine) matched to the log copy that won the race.
        await waitFor(
          async () =>
            (await bob.page.evaluate(() => window.__parley!.chat.stats.receivedOverData + window.__parley!.chat.stats.duplicates)) === 1,
          10_000,
          'the data-channel copy at Bob',
        );
        const [sent, got] = await Promise.all([alice.page, bob.page].map((p) => p.evaluate(() => window.__parley!.chat.stats)));
        assert.equal(sent!.sentOverData, 1, JSON.stringify(sent));
        assert.equal(sent!.sentOverSignaling, 0);
        assert.equal(got!.invalid, 0);
        assert.ok((await reliableMessagesSent(alice.page, label)) > sentBefore, 'messagesSent of the reliable channel grew');

        // Once the log copy came: one line on each page, with its seq (marked data-via="data" when the data copy came first).
        await bob.page.locator('[data-testid="chat-message"][data-seq]').filter({ hasText: text }).waitFor({ timeout: 10_000 });
        assert.equal(await bob.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        assert.equal(await alice.page.getByTestId('chat-message').filter({ hasText: text }).count(), 1);
        assert.equal(await line.getAttribute('data-via'), got!.receivedOverData === 1 ? 'data' : 'log');
        const seq = Number(await line.getAttribute('data-seq'));

        // A late joiner reads the room log: the message is there exactly once, under that seq.
        const late = await connectSocket(suite.server.app.url);
        try {
          const joined = data(await request<JoinResult>(late, 'join', { room: 'dc', name: 'Late', lastSeq: 0 }));
          const copies = joined.entries.filter((e) => e.kind === 'chat' && e.text === text);
          assert.equal(copies.length, 1);
          assert.equal(copies[0]!.seq, seq);
          assert.equal(copies[0]!.from.name, 'Alice');
        } finally {
          late.close();
        }
      },
    ));

  it('a 20 MiB file sent directly arrives with the right SHA-256, with progress on both sides', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const bytes = randomBytes(20 * MiB);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await recordProgress(alice.page);
        await recordProgress(bob.page);
        await alice.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: bytes });
        await alice.page.getByTestId('direct-route').filter({ hasText: 'Sending directly to Bob' }).waitFor({ timeout: 10_000 });
        const offer = bob.page.locator('[data-testid="direct-transfer"][data-name="big.bin"][data-state="offered"]');
        await offer.waitFor({ timeout: 10_000 });
        await offer.getByTestId('direct-accept').click();
        // The transfer rows (progress bars, cancel buttons) pass axe while the file moves.
        await assertAccessible(bob.page, 'the receiving page during a direct transfer');

        const received = bob.page.locator('[data-testid="direct-transfer"][data-name="big.bin"][data-state="done"]');
        await received.waitFor({ timeout: 120_000 });
        await alice.page.locator('[data-testid="direct-transfer"][data-name="big.bin"][data-state="done"]').waitFor({ timeout: 20_000 });
        const href = await received.getByTestId('direct-file-link').getAttribute('href');
        assert.ok(href);
        const got = await bob.page.evaluate(async (url) => {
          const buf = await (await fetch(url)).arrayBuffer();
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
          return { size: buf.byteLength, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
        }, href);
        assert.deepEqual(got, { size: bytes.length, sha256 });

        // Progress was shown on both sides: several steps between nothing and everything.
        for (const page of [alice.page, bob.page]) {
          const steps = (await progressSeen(page)).filter((n) => n > 0 && n < bytes.length);
          assert.ok(steps.length >= 3, `progress steps shown: ${JSON.stringify(steps.slice(0, 10))}`);
        }
      },
    ));

  it('either side can cancel: the sender before it is accepted, the receiver mid-way', () =>
    withDiagnostics(
      () => suite.pages,
      async () => {
        const bytes = randomBytes(20 * MiB);
        // The sender withdraws an offer that is still waiting.
        await alice.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'early.bin', mimeType: 'application/octet-stream', buffer: bytes });
        await bob.page.locator('[data-testid="direct-transfer"][data-name="early.bin"][data-state="offered"]').waitFor({ timeout: 10_000 });
        const mine = alice.page.locator('[data-testid="direct-transfer"][data-name="early.bin"]');
        await assertAccessible(bob.page, 'an incoming offer (accept, decline)');
        await assertAccessible(alice.page, 'an offer waiting for the receiver (cancel)');
        // By keyboard: the cancel button is focusable and answers Enter.
        await mine.getByTestId('direct-cancel').focus();
        await alice.page.keyboard.press('Enter');
        await bob.page
          .locator('[data-testid="direct-transfer"][data-name="early.bin"][data-state="cancelled"]')
          .waitFor({ timeout: 10_000 });
        await alice.page
          .locator('[data-testid="direct-transfer"][data-name="early.bin"][data-state="cancelled"]')
          .waitFor({ timeout: 10_000 });

        // The receiver cancels as soon as the first bytes arrive.
        await alice.page
          .getByTestId('direct-file-input')
          .setInputFiles({ name: 'late.bin', mimeType: 'application/octet-stream', buffer: bytes });
        const offer = bob.page.locator('[data-testid="direct-transfer"][data-name="late.bin"][data-state="offered"]');
        await offer.waitFor({ timeout: 10_000 });
        await bob.page.evaluate(() => {
          new MutationObserver((_, observer) => {
            const row = document.querySelector<HTMLElement>('[data-testid="direct-transfer"][data-name="late.bin"]');
            if (row && Number(row.dataset['loaded']) > 0 && row.dataset['state'] === 'transferring') {
              row.querySelector<HTMLButtonElement>('[data-testid="direct-cancel"]')?.click();
              observer.disconnect();
            }
          }).observe(document.body, { subtree: true, childList: true, attributes: true });
        });
        await offer.getByTestId('direct-accept').click();
        await bob.page
          .locator('[data-testid="direct-transfer"][data-name="late.bin"][data-state="cancelled"]')
          .waitFor({ timeout: 30_000 });
        const sender = alice.page.locator('[data-testid="direct-transfer"][data-name="late.bin"][data-state="cancelled"]');
        await sender.waitFor({ timeout: 10_000 });
        assert.ok(Number(await sender.getAttribute('data-loaded')) < bytes.length, 'the sender stopped before the end');
      },
    ));
});
