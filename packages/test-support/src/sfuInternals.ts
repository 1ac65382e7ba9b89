/**
 * The server's SFU internals that tests outside the server package drive directly (to close a
 * member's SFU connection on the server, or count its SFU connections). The server does not export them,
 * so this is the one place that reaches into its sources.
 */
export { sfuDataOf, sfuRoomsOf } from '../../server/src/sfu/feature.ts';
export type { Router } from '../../server/src/sfu/Router.ts';
