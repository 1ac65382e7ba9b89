import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, mediaContext } from '@parley-rtc/test-support/browser';
import { coturnMissing, startCoturn } from '@parley-rtc/test-support/coturn';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import { ensureWebBuilt } from './harness.ts';

const TURN_SECRET = 'diagnostics-e2e-turn-secret-0123';

interface PageReport {
  udp: string | null;
  tcp: string | null;
  relay: string | null;
  advice: string[];
  details: string;
}

/** Opens /diagnostics in a fresh context, waits for the check to finish and reads the verdicts. */
async function runCheck(browser: Browser, baseUrl: string, path = '/diagnostics'): Promise<PageReport> {
  const context = await mediaContext(browser, baseUrl);
  try {
    const page: Page = await context.newPage();
    await page.goto(`${baseUrl}${path}`);
    await page
      .locator('[data-testid="diagnostics"][data-phase="done"], [data-testid="diagnostics"][data-phase="error"]')
      .waitFor({ timeout: 30_000 });
    const error = page.getByTestId('diag-error');
    if (await error.count()) throw new Error(`the page reported an error: ${await error.textContent()}`);
    return {
      udp: await page.getByTestId('diag-udp').getAttribute('data-verdict'),
      tcp: await page.getByTestId('diag-tcp').getAttribute('data-verdict'),
      relay: await page.getByTestId('diag-relay').getAttribute('data-verdict'),
      advice: await page.getByTestId('diag-advice').evaluateAll((els) => els.map((el) => el.getAttribute('data-code') ?? '')),
      details: (await page.getByTestId('diag-details').textContent()) ?? '',
    };
  } finally {
    await context.close();
  }
}

describe('web app: connection check page', { skip: chromiumMissing || coturnMissing }, () => {
  let turn: Awaited<ReturnType<typeof startCoturn>>;
  let withTurn: TestServer;
  let wrongSecret: TestServer;
  let noTurn: TestServer;
  let browser: Browser;

  before(async () => {
    ensureWebBuilt();
    turn = await startCoturn(TURN_SECRET);
    const urls = [`turn:127.0.0.1:${turn.port}?transport=udp`, `turn:127.0.0.1:${turn.port}?transport=tcp`];
    withTurn = await startServer({ turn: { urls, secret: TURN_SECRET } });
    wrongSecret = await startServer({ turn: { urls, secret: 'not-the-coturn-secret-000000' } });
    noTurn = await startServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const s of [withTurn, wrongSecret, noTurn]) await s?.close();
    await turn?.close();
  });

  it('is linked from the home page', async () => {
    const context = await mediaContext(browser, noTurn.app.url);
    try {
      const page = await context.newPage();
      await page.goto(noTurn.app.url);
      await page.getByTestId('diagnostics-link').click();
      await page.getByTestId('diagnostics').waitFor({ timeout: 10_000 });
      assert.equal(new URL(page.url()).pathname, '/diagnostics');
    } finally {
      await context.close();
    }
  });

  it('reports a working TURN relay, over UDP and TCP, against a real coturn', async () => {
    const report = await runCheck(browser, withTurn.app.url);
    assert.equal(report.relay, 'works', JSON.stringify(report));
    assert.equal(report.udp, 'works', JSON.stringify(report));
    assert.equal(report.tcp, 'works', JSON.stringify(report));
    assert.ok(report.advice.includes('all-good'), JSON.stringify(report));
    assert.ok(!report.advice.includes('no-turn'), JSON.stringify(report));
  });

  it('reports refused TURN credentials when the secrets differ', async () => {
    const report = await runCheck(browser, wrongSecret.app.url);
    assert.equal(report.relay, 'blocked', JSON.stringify(report));
    assert.ok(report.advice.includes('turn-auth-failed'), JSON.stringify(report));
    assert.ok(!report.advice.includes('all-good'), JSON.stringify(report));
  });

  it('advises configuring TURN on a server without it', async () => {
    const report = await runCheck(browser, noTurn.app.url);
    assert.equal(report.relay, 'untested', JSON.stringify(report));
    assert.ok(report.advice.includes('no-turn'), JSON.stringify(report));
    assert.ok(!report.advice.includes('all-good'), JSON.stringify(report));
  });
});
