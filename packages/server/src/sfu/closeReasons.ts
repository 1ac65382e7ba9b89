/**
 * Why SFU objects close (docs/lifecycle.md, "SFU"). Each object's `close` event carries one of
 * these; `close` always means "its owner called close()", the others name the parent that took
 * it down. The `describe…` functions turn a reason and its chain into the text of the info-level
 * log line, e.g. "consumer closed: producer closed (publisher left)".
 */

/** One SFU connection (a member's WebRTC connection to the router, a MediaPeer on the server). */
export type ConnectionCloseReason =
  /** The member closed it (`sfu_close`) or the code that owns it called `closeConnection()`. */
  | 'close'
  /** The member left the room or disconnected (also: left while the connection was being set up). */
  | 'peerleft'
  /** ICE/DTLS did not connect within the connect timeout. */
  | 'connecttimeout'
  /** The connection stayed `disconnected` longer than the grace period. */
  | 'disconnected'
  /** The WebRTC connection closed or failed by itself. */
  | 'transportclose'
  /** publish/subscribe failed before the answer was sent. */
  | 'setupfailed'
  /** Its router closed. */
  | 'routerclose';

/** A producer or a simulcast publication (and its layers, which close with it). */
export type ProducerCloseReason = 'close' | 'transportclose' | 'routerclose';

/** A consumer: closed itself, its producer closed, its subscriber's connection or track closed, or the router. */
export type ConsumerCloseReason = 'close' | 'producerclose' | 'transportclose' | 'routerclose';

/** A router: closed by its owner, its room's last member left, or the SFU (server) shuts down. */
export type RouterCloseReason = 'close' | 'roomempty' | 'shutdown';

/** The SFU rooms of a server (the SFU feature closes them at shutdown). */
export type SfuRoomsCloseReason = 'close';

const ROUTER_TEXT: Record<RouterCloseReason, string> = {
  close: 'closed',
  roomempty: 'the last member left',
  shutdown: 'server shutting down',
};

/** What happened to a publisher's or subscriber's connection, e.g. "publisher left". */
export function describeConnectionClose(
  role: 'publisher' | 'subscriber',
  reason: ConnectionCloseReason,
  router?: RouterCloseReason,
): string {
  switch (reason) {
    case 'close':
      return `${role} connection closed on request`;
    case 'peerleft':
      return `${role} left`;
    case 'connecttimeout':
      return `${role} did not connect in time`;
    case 'disconnected':
      return `${role} stayed disconnected`;
    case 'transportclose':
      return `${role} connection closed`;
    case 'setupfailed':
      return `${role} connection setup failed`;
    case 'routerclose':
      return describeRouterClose(router ?? 'close');
  }
}

export function describeRouterClose(reason: RouterCloseReason): string {
  return `router closed (${ROUTER_TEXT[reason]})`;
}

/** Why a producer closed, given its publisher's connection's reason and the router's. */
export function describeProducerClose(
  reason: ProducerCloseReason,
  connection: ConnectionCloseReason | undefined,
  router: RouterCloseReason | undefined,
): string {
  if (reason === 'close') return 'closed on request';
  if (reason === 'routerclose') return describeRouterClose(router ?? 'close');
  return describeConnectionClose('publisher', connection ?? 'transportclose', router);
}

/**
 * Why a consumer closed. `producer` is the text of its producer's closing (for `producerclose`),
 * `connection` its subscriber's connection's reason (for `transportclose`; undefined when only its
 * track closed).
 */
export function describeConsumerClose(
  reason: ConsumerCloseReason,
  ctx: { producer?: string | undefined; connection?: ConnectionCloseReason | undefined; router?: RouterCloseReason | undefined },
): string {
  switch (reason) {
    case 'close':
      return 'closed on request';
    case 'producerclose':
      return `producer closed (${ctx.producer ?? 'closed'})`;
    case 'transportclose':
      return ctx.connection ? describeConnectionClose('subscriber', ctx.connection, ctx.router) : 'subscriber track closed';
    case 'routerclose':
      return describeRouterClose(ctx.router ?? 'close');
  }
}
