export { createApp, type ParleyApp, type CreateAppOptions } from './app.ts';
export { parseConfig, loadConfig, ConfigError, type ParleyConfig, type ConfigInput } from './config.ts';
export type { LogStore, NewEntry, PrunePolicy, RangeQuery, RemovalResult, RoomFile, RoomStats } from './roomlog/LogStore.ts';
export { SqliteLogStore } from './roomlog/SqliteLogStore.ts';
export { PostgresLogStore } from './roomlog/PostgresLogStore.ts';
export type { SessionDataContext, SessionDataHandler } from './media/sessions/sessionData.ts';
