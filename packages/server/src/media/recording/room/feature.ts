/**
 * Plugs room recordings into the app (after the SFU): the RoomRecordings service, the client
 * events `recording_start` / `recording_stop` (need the `record` grant), and its close at shutdown.
 * The server API routes are in routes.ts (registered by the server API with this service).
 */
import { resolve, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CLIENT_EVENT_SCHEMAS, ParleyError } from '@parley-rtc/protocol';
import { closeWithApp, type FeatureDeps } from '../../../featureTypes.ts';
import { sfuRoomsOf } from '../../../sfu/feature.ts';
import { RoomRecordings } from './RoomRecordings.ts';

const DECORATION = 'roomRecordings';

export function roomRecordingsOf(app: { readonly http: FastifyInstance }): RoomRecordings | undefined {
  return app.http.hasDecorator(DECORATION) ? app.http.getDecorator<RoomRecordings>(DECORATION) : undefined;
}

async function plugin(http: FastifyInstance, { config, signaling, log, events, store }: FeatureDeps): Promise<void> {
  const sfu = sfuRoomsOf({ http });
  if (!sfu) throw new Error('room recordings need the SFU feature');
  const recordings = new RoomRecordings({
    dir: resolve(config.media.recordingsDir ?? join(config.dataDir, 'recordings')),
    config: config.media.roomRecording,
    ffmpegPath: config.media.ffmpegPath,
    sfu,
    signaling,
    events,
    store,
    log: log.child({ module: 'recording' }),
  });
  const E = CLIENT_EVENT_SCHEMAS;
  const state = (room: string) => {
    const id = recordings.activeIn(room);
    return { recording: id !== undefined, id: id ?? null, startedAt: id ? (recordings.get(id)?.startedAt ?? null) : null };
  };
  signaling.registerClientEvent('recording_start', E.recording_start, (ctx) => {
    if (!ctx.grants.record) throw new ParleyError('FORBIDDEN', 'the token does not grant record');
    recordings.start(ctx.room, 'member');
    return state(ctx.room);
  });
  signaling.registerClientEvent('recording_stop', E.recording_stop, (ctx) => {
    if (!ctx.grants.record) throw new ParleyError('FORBIDDEN', 'the token does not grant record');
    const id = recordings.activeIn(ctx.room);
    if (id) recordings.stop(id, 'member');
    return state(ctx.room);
  });
  closeWithApp(http, 'recording', log, () => recordings.close());
  http.decorate(DECORATION, recordings);
}

export const roomRecordingFeature = fp<FeatureDeps>(plugin, {
  name: 'parley-room-recording',
  fastify: '5.x',
  dependencies: ['parley-sfu'],
});
