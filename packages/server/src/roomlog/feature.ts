import { join } from 'node:path';
import type { Feature, FeatureContext } from '../featureTypes.ts';
import { createRoomAuthorizer, isAdminRequest, type RoomAuthDeps } from '../http/authorizeRoomRequest.ts';
import { BlobStore } from '../files/BlobStore.ts';
import { registerFileRoutes } from '../files/routes.ts';
import { RetentionJob, retentionEnabled } from './RetentionJob.ts';
import { registerRoomLogRoutes } from './routes.ts';

/**
 * The room log's HTTP side and background work: messages/stats/delete routes, file upload and
 * download over a content-addressed blob store, and the retention job.
 */
export async function roomLogFeature(ctx: FeatureContext): Promise<Feature> {
  const { config, http, store, signaling, log: rootLog, tokens } = ctx;
  const log = rootLog.child({ module: 'roomlog' });
  const blobs = new BlobStore(config.files.dir ?? join(config.dataDir, 'files'));
  await blobs.init();
  const isReferenced = (shas: readonly string[]) => store.referencedFiles(shas);
  const releaseFiles = async (shas: string[]) => (await blobs.release(shas, isReferenced)).length;

  // Blobs left by a crash between rename and announcement.
  const swept = await blobs.sweep(isReferenced);
  if (swept.length > 0) log.info({ files: swept.length }, 'deleted unreferenced files');

  const authDeps: RoomAuthDeps = { registry: signaling.registry, tokens, adminKey: config.adminKey };
  const authorize = createRoomAuthorizer(authDeps);
  registerRoomLogRoutes(http, {
    store,
    authorize,
    isAdmin: (req, room) => isAdminRequest(req, room, authDeps),
    adminEnabled: config.adminKey !== undefined || !tokens.openMode,
    deleteRoom: async (room) => {
      signaling.endRoom(room, 'the room was deleted');
      const result = await store.deleteRoom(room);
      if (!result) return undefined;
      const filesDeleted = await releaseFiles(result.releasedFiles);
      log.info({ room, entries: result.entries, filesDeleted }, 'room deleted');
      return { entries: result.entries, filesDeleted };
    },
  });
  await registerFileRoutes(http, {
    store,
    blobs,
    authorize,
    publish: (room, entry) => signaling.publish(room, entry),
    maxBytes: config.files.maxBytes,
  });

  const retention = new RetentionJob({ store, config: config.retention, releaseFiles, log });
  if (retentionEnabled(config.retention)) retention.start();

  let closing: Promise<void> | undefined;
  return {
    name: 'roomlog',
    close() {
      closing ??= (async () => {
        await retention.stop();
        await blobs.close();
      })();
      return closing;
    },
  };
}
