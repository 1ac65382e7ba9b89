/**
 * SFU media recovers by itself: the server closes a page's publishing connection (as its Router
 * does for a peer disconnected too long, or as a restart would), and the page publishes its camera
 * again, so the other page decodes it on a new track; the server closes a page's subscribing
 * connection, and that page subscribes again, so its tile decodes again. The server uses
 * `sfuMeshMaxPeers: 1`, so two pages are already an SFU room.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { sfuProducerInfoSchema, sfuVideoSizeRequestSchema, type SfuProducerInfo } from '@parley-rtc/protocol';
import { sfuRoomsOf, type Router } from '@parley-rtc/test-support/sfuInternals';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { browserSuite, inboundVideo, tiles, waitForDecoding, withDiagnostics, type Participant } from './harness.ts';
import { waitFor } from '@parley-rtc/test-support/poll';

const selfId = (page: Page): Promise<string> => page.evaluate(() => window.__parley?.room.self?.id ?? '');

/** Ids of the video tracks `page` receives from `peerId`'s camera. */
const cameraTrackIds = (page: Page, peerId: string): Promise<string[]> =>
  page.evaluate(
    (id) =>
      window.__parley?.room.remoteTracks
        .filter((t) => t.peerId === id && t.source === 'camera' && t.track.kind === 'video')
        .map((t) => t.track.id) ?? [],
    peerId,
  );

/** Starts recording the connection states `page` reports for `peerId` (read with `recordedStates`). */
const recordStates = (page: Page, peerId: string): Promise<void> =>
  page.evaluate((id) => {
    const states: string[] = [];
    (window as Window & { __states?: string[] }).__states = states;
    window.__parley?.room.on('peerUpdated', (p) => {
      if (p.id === id) states.push(p.connectionState);
    });
  }, peerId);

const recordedStates = (page: Page): Promise<string[]> => page.evaluate(() => (window as Window & { __states?: string[] }).__states ?? []);

/** Frames `page` decoded from `peerId`'s camera on tracks other than `old`. */
async function newCameraFrames(page: Page, peerId: string, old: readonly string[]): Promise<number> {
  const ids = (await cameraTrackIds(page, peerId)).filter((id) => !old.includes(id));
  return (await inboundVideo(page)).filter((v) => ids.includes(v.trackIdentifier)).reduce((n, v) => n + v.framesDecoded, 0);
}

describe('web app: SFU media recovers from lost connections', { skip: chromiumMissing }, () => {
  const suite = browserSuite({ config: { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } } });
  const pages = suite.pages;
  /** Every producer the server announced (`sfu_producer`), by id. */
  const announced = new Map<string, SfuProducerInfo>();
  /** Consumer ids the pages named in `sfu_video_size` requests. */
  const sizedConsumers = new Set<string>();

  // Runs after the suite's own before hook: the server exists, no page has connected yet.
  before(() => {
    suite.server.app.io.on('connection', (socket) => {
      socket.onAnyOutgoing((event: string, payload: unknown) => {
        const info = event === 'sfu_producer' ? sfuProducerInfoSchema.safeParse(payload) : undefined;
        if (info?.success) announced.set(info.data.id, info.data);
      });
      socket.onAny((event: string, payload: unknown) => {
        const req = event === 'sfu_video_size' ? sfuVideoSizeRequestSchema.safeParse(payload) : undefined;
        if (req?.success) for (const id of req.data.consumerIds) sizedConsumers.add(id);
      });
    });
  });

  /** Two pages in an SFU room, Ben decoding Ann's camera. */
  async function twoPages(room: string): Promise<{ ann: Participant; ben: Participant; annId: string; router: Router }> {
    const ann = await suite.join(room, 'Ann');
    const ben = await suite.join(room, 'Ben');
    for (const p of [ann, ben]) await p.page.locator('[data-testid="room-mode"][data-mode="sfu"]').waitFor({ timeout: 15_000 });
    await waitForDecoding(ben.page, 1, { growth: 10, timeoutMs: 30_000 });
    const router = sfuRoomsOf(suite.server.app)?.router(room);
    assert.ok(router, 'the room has an SFU router');
    return { ann, ben, annId: await selfId(ann.page), router };
  }

  /** The SFU connection that publishes `peerId`'s camera now. */
  function cameraPublisher(router: Router, peerId: string): string | undefined {
    for (const p of announced.values()) {
      const publication = p.peer === peerId && p.source === 'camera' ? router.publication(p.id) : undefined;
      if (publication && !publication.closed) return publication.connectionId;
    }
    return undefined;
  }

  async function leave(participants: Participant[]): Promise<void> {
    for (const p of participants) {
      await p.context.close().catch(() => {});
      pages.splice(pages.indexOf(p), 1);
    }
  }

  it("the server closes Ann's publishing connection: she publishes her camera again and Ben decodes it on a new track", () =>
    withDiagnostics(
      () => pages,
      async () => {
        const { ann, ben, annId, router } = await twoPages('recover-publish');
        let publisher: string | undefined;
        await waitFor(
          async () => (publisher = cameraPublisher(router, annId)) !== undefined,
          10_000,
          "Ann's camera publication on the server",
        );
        assert.ok(publisher);
        const oldTracks = await cameraTrackIds(ben.page, annId);
        assert.equal(oldTracks.length, 1);

        router.closeConnection(publisher, 'close');
        assert.equal(router.connection(publisher), undefined);
        await waitFor(
          async () => (await newCameraFrames(ben.page, annId, oldTracks)) >= 10,
          20_000,
          "Ben decoding Ann's republished camera",
          async () =>
            JSON.stringify({
              tracks: await cameraTrackIds(ben.page, annId),
              video: await inboundVideo(ben.page),
              tiles: await tiles(ben.page),
            }),
        );
        const republished = cameraPublisher(router, annId);
        assert.ok(republished && republished !== publisher, 'a new server-side publication');
        assert.deepEqual(
          (await cameraTrackIds(ben.page, annId)).filter((id) => oldTracks.includes(id)),
          [],
          'the old track is gone',
        );
        const annTiles = ben.page.locator(`[data-testid="tile"][data-source="camera"][data-local="false"][data-peer-id="${annId}"]`);
        assert.equal(await annTiles.count(), 1, 'one camera tile for Ann');
        await leave([ann, ben]);
      },
    ));

  it("the server closes Ben's subscribing connection: he subscribes again and his tile of Ann decodes again", () =>
    withDiagnostics(
      () => pages,
      async () => {
        const { ann, ben, annId, router } = await twoPages('recover-subscribe');
        let publisher: string | undefined;
        await waitFor(
          async () => (publisher = cameraPublisher(router, annId)) !== undefined,
          10_000,
          "Ann's camera publication on the server",
        );
        // Ben names his consumers of Ann's camera when he reports the size he shows it at.
        await ben.page.evaluate((id) => window.__parley?.room.setVideoSize(id, 'camera', 321, 241), annId);
        let subscriber: string | undefined;
        await waitFor(
          async () => {
            for (const id of sizedConsumers) {
              const consumer = router.consumer(id);
              if (consumer && !consumer.closed && consumer.producer.connectionId === publisher) subscriber = consumer.connectionId;
            }
            return subscriber !== undefined;
          },
          10_000,
          "Ben's consumer of Ann's camera",
        );
        assert.ok(subscriber);
        const oldTracks = await cameraTrackIds(ben.page, annId);
        assert.equal(oldTracks.length, 1);
        await recordStates(ben.page, annId);

        router.closeConnection(subscriber, 'close');
        await waitFor(
          async () => (await newCameraFrames(ben.page, annId, oldTracks)) >= 10,
          20_000,
          "Ben decoding Ann's camera on a new subscription",
          async () =>
            JSON.stringify({
              tracks: await cameraTrackIds(ben.page, annId),
              video: await inboundVideo(ben.page),
              tiles: await tiles(ben.page),
            }),
        );
        // Ben gave the dead connection up once it stayed 'disconnected' for 5 s, well before Chromium
        // declares it 'failed' (about 18 s after the server closed it, on loopback).
        const states = await recordedStates(ben.page);
        assert.ok(states.includes('disconnected') && !states.includes('failed'), `Ben's states for Ann: ${states.join(', ')}`);
        assert.equal(states.at(-1), 'connected');
        assert.equal(cameraPublisher(router, annId), publisher, "Ann's publication was not touched");
        assert.deepEqual(
          (await cameraTrackIds(ben.page, annId)).filter((id) => oldTracks.includes(id)),
          [],
          'the old track is gone',
        );
        const annTiles = ben.page.locator(`[data-testid="tile"][data-source="camera"][data-local="false"][data-peer-id="${annId}"]`);
        assert.equal(await annTiles.count(), 1, 'one camera tile for Ann');
        // Ann, who lost nothing, still decodes Ben.
        await waitForDecoding(ann.page, 1, { growth: 10, timeoutMs: 10_000 });
        await leave([ann, ben]);
      },
    ));
});
