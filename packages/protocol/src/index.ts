export * from './version.ts';
export * from './limits.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './messages/room.ts';
export * from './messages/signal.ts';
export * from './messages/log.ts';
export * from './messages/control.ts';
