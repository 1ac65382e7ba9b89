import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { closeWithApp, type FeatureDeps, type FeaturePlugin } from '../featureTypes.ts';
import { createRoomAuthorizer, isAdminRequest, type RoomAuthDeps } from '../http/authorizeRoomRequest.ts';
import { openBlobStore } from '../files/openBlobStore.ts';
import { registerFileRoutes } from '../files/routes.ts';
import { RetentionJob, retentionEnabled } from './RetentionJob.ts';
import { registerRoomLogRoutes } from './routes.ts';

/**
 * The room log's HTTP side and background work: messages/stats/delete routes, file upload and
 * download over a content-addressed blob store, and the retention job. (Its live side, the
 * chat_message / room_event / history events, is signaling's: signaling/handlers/roomLog.ts.)
 * Wrapped with fastify-plugin so its `roomLog` decoration (deleting a room with its files, for
 * the server API) reaches the app's root instance; its routes register no hooks.
 */
const roomLog: FeaturePlugin = async (scope, { config, store, signaling, log: rootLog, tokens }) => {
  const log = rootLog.child({ module: 'roomlog' });
  const blobs = await openBlobStore(config, (err) => log.warn({ err }, 'file store: idle database connection failed'));
  const isReferenced = (shas: readonly string[]) => store.referencedFiles(shas);
  const releaseFiles = async (shas: string[]) => (await blobs.release(shas, isReferenced)).length;
  const retention = new RetentionJob({ store, config: config.retention, releaseFiles, log });
  closeWithApp(scope, 'roomlog', rootLog, async () => {
    await retention.stop();
    await blobs.close();
  });

  // Blobs left by a crash between rename and announcement.
  const swept = await blobs.sweep(isReferenced);
  if (swept.length > 0) log.info({ files: swept.length }, 'deleted unreferenced files');

  const authDeps: RoomAuthDeps = { registry: signaling.registry, tokens, adminKey: config.adminKey };
  const authorize = createRoomAuthorizer(authDeps);
  const service: RoomLogService = {
    setRetention: (room, limits) => {
      config.retention.rooms[room] = { ...limits };
      if (retentionEnabled(config.retention)) retention.start();
    },
    deleteRoom: async (room) => {
      const live = signaling.registry.room(room) !== undefined;
      signaling.endRoom(room, 'the room was deleted');
      const result = await store.deleteRoom(room);
      if (!result) return live ? { entries: 0, filesDeleted: 0 } : undefined;
      const filesDeleted = await releaseFiles(result.releasedFiles);
      log.info({ room, entries: result.entries, filesDeleted }, 'room deleted');
      return { entries: result.entries, filesDeleted };
    },
  };
  scope.decorate(DECORATION, service);
  registerRoomLogRoutes(scope, {
    store,
    authorize,
    isAdmin: (req, room) => isAdminRequest(req, room, authDeps),
    adminEnabled: config.adminKey !== undefined || !tokens.openMode,
    deleteRoom: (room) => service.deleteRoom(room),
  });
  await registerFileRoutes(scope, {
    store,
    blobs,
    authorize,
    publish: (room, entry) => signaling.publish(room, entry),
    maxBytes: config.files.maxBytes,
  });

  if (retentionEnabled(config.retention)) retention.start();
};

export const roomLogFeature = fp<FeatureDeps>(roomLog, { name: 'parley-roomlog', fastify: '5.x' });

/** What the room log offers the rest of the server (the server API). */
export interface RoomLogService {
  /** Ends a room's sessions and deletes its log and files; undefined for a room that never existed. */
  deleteRoom(room: string): Promise<{ entries: number; filesDeleted: number } | undefined>;
  /** Sets one room's retention limits (replacing the server's for that room); starts the job if needed. */
  setRetention(room: string, limits: { maxAgeMs?: number | undefined; maxBytes?: number | undefined }): void;
}

const DECORATION = 'roomLog';

/** The room log service of a started app's root instance. */
export function roomLogOf(http: FastifyInstance): RoomLogService {
  return http.getDecorator<RoomLogService>(DECORATION);
}
