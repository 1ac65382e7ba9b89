/**
 * Issue 12: a Chromium page on node A and a bot on node B of one cluster (real Redis and
 * PostgreSQL) have a mesh call: the page decodes the bot's video and the bot receives the page's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Bot } from '@parley-rtc/bots';
import { chromiumMissing, launchChromium } from '@parley-rtc/test-support/browser';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { postgresSkipReason } from '../../../packages/server/test/postgres.ts';
import { startCluster, type TestCluster } from '../../../packages/server/test/cluster/clusterNodes.ts';
import { closeAll, ensureWebBuilt, join, tiles, waitForDecoding, withDiagnostics, type Participant } from './harness.ts';
import { botReceives, joinBot } from './bots.ts';

// The bot's libdatachannel threads must be released for the process to end.
after(releaseNativeWebRtc);

const skip = chromiumMissing || redisSkipReason() || postgresSkipReason();

describe('cluster: a Chromium page on node A and a bot on node B have a call', { skip }, () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Participant | undefined;
  let bot: Bot | undefined;
  const all = () => (page ? [page] : []);

  before(async () => {
    ensureWebBuilt();
    cluster = await startCluster(['node-a', 'node-b']);
    browser = await launchChromium();
  });
  after(async () => {
    bot?.close('test over');
    await closeAll(all());
    await browser?.close();
    await cluster?.close();
  });

  it("the page (served by node A) decodes the bot's video and the bot (on node B) receives the page's", () =>
    withDiagnostics(all, async () => {
      const [nodeA, nodeB] = cluster.nodes;
      page = await join(browser, nodeA!.url, 'cluster-call', 'Ann');
      bot = await joinBot(nodeB!.url, 'cluster-call', 'Bot');
      assert.equal(bot.mode, 'mesh');
      assert.deepEqual(
        bot.peers.map((p) => p.name),
        ['Ann'],
      );
      await waitForDecoding(page.page, 1);
      await botReceives(bot, ['Ann'], { frames: 20, timeoutMs: 30_000 });
      const remote = (await tiles(page.page)).filter((t) => !t.local);
      assert.ok(
        remote.some((t) => t.source === 'camera' && t.name === 'Bot'),
        JSON.stringify(remote),
      );
    }));
});
