/**
 * SFU rooms across nodes (docs/sfu.md, "Rooms across nodes"): every node with members of a room runs
 * a Router for its own members, and a subscriber's node pulls a track published on another node over
 * the media link between the two nodes (`RelayLink`, one per node pair), once per track whatever the
 * number of its subscribers there.
 *
 * Far side (subscriber's node): before a subscribe, `prepare()` finds the node of each producer the
 * router lacks (`NodeBus.producerNode`), asks it to relay the track (`relay_open`), and adds a remote
 * `Producer` with the same id to the router (`Router.attachRelay`); local consumers subscribe to it
 * like to any producer. Its key-frame requests (PLI), receiver reports and REMB go back over the link.
 * When it has had no consumer for `lingerMs` it closes and the near node is told (`relay_close`).
 *
 * Near side (publisher's node): `relay_open` creates a relay `Consumer` of the publication whose
 * output is the link; the far node's feedback reaches it as a subscriber's would (PLI → rate-limited
 * key-frame request to the publisher, NACK → retransmission from the buffer, REMB → the publisher's
 * target bitrate, simulcast layer choice). Its sender reports go over the link from this object's timer.
 *
 * A link closes (`idle`) when no track is relayed over it in either direction.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { ParleyError, type ErrorCode } from '@parley-rtc/protocol';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { writePli } from '@parley-rtc/rtc/rtp/rtcp';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import type { Logger } from '../../util/logger.ts';
import { Consumer } from '../Consumer.ts';
import { Producer } from '../Producer.ts';
import type { Router } from '../Router.ts';
import { Simulcast } from '../Simulcast.ts';
import type { NodeBus } from './NodeBus.ts';
import type { RelayMessage } from './messages.ts';
import { RelayLink, type RelayEndpoint } from './RelayLink.ts';

/** What the relay needs of a node's SFU rooms (`SfuRooms` has it). */
export interface RelayRooms {
  router(room: string): Router | undefined;
  on(event: 'router', fn: (room: string, router: Router) => void): () => void;
  setRelay(relay: RoomsRelayHook | undefined): void;
}

/** The hook `SfuRooms` calls before a subscribe. */
export interface RoomsRelayHook {
  /** Brings producers published on other nodes into the room's router (`router()` creates it if needed). */
  prepare(room: string, producerIds: readonly string[], router: () => Router | undefined): Promise<void>;
}

export interface SfuRelayOptions {
  nodeId: string;
  bus: NodeBus;
  rooms: RelayRooms;
  /** Where this node's media links listen (a private address of the node). */
  bindAddress: string;
  /** The address other nodes send to (default: bindAddress). */
  advertiseAddress?: string;
  log?: Logger;
  /** A remote producer with no consumer closes after this long (default 2 s). */
  lingerMs?: number;
  /** How long a `relay_open` waits for its answer (default 5 s). */
  requestTimeoutMs?: number;
  senderReportIntervalMs?: number;
}

export type SfuRelayCloseReason = 'close';

export interface SfuRelayEvents {
  /** A media link to another node opened (tests count them). */
  link: [link: RelayLink];
  close: [reason: SfuRelayCloseReason];
}

/** A track this node relays to another node. */
interface Outgoing {
  node: string;
  consumer: Consumer;
}

/** A track another node relays to this one. */
interface Incoming {
  node: string;
  room: string;
  producer: Producer;
  linger: NodeJS.Timeout | undefined;
}

type Reply = Extract<RelayMessage, { type: 'relay_opened' | 'relay_failed' }>;

const key = (...parts: string[]): string => parts.join('\n');

export class SfuRelay extends TypedEmitter<SfuRelayEvents> {
  readonly nodeId: string;
  readonly #opts: SfuRelayOptions;
  readonly #log: Logger;
  readonly #links = new Map<string, Promise<RelayLink>>();
  /** node, room, producer id → the relay consumer feeding that node */
  readonly #outgoing = new Map<string, Outgoing>();
  /** room, producer id → the remote producer fed from another node */
  readonly #incoming = new Map<string, Incoming>();
  readonly #opening = new Map<string, Promise<void>>();
  readonly #requests = new Map<string, { resolve: (r: Reply) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  readonly #offs: Array<() => void> = [];
  readonly #srTimer: NodeJS.Timeout;
  #closed = false;

  constructor(opts: SfuRelayOptions) {
    super();
    this.nodeId = opts.nodeId;
    this.#opts = opts;
    this.#log = opts.log ?? pino({ enabled: false });
    this.#offs.push(opts.bus.onMessage((from, msg) => this.#onMessage(from, msg)));
    this.#offs.push(opts.rooms.on('router', (room, router) => this.#watch(room, router)));
    opts.rooms.setRelay(this);
    this.#srTimer = setInterval(() => this.#sendReports(), opts.senderReportIntervalMs ?? 1000);
    this.#srTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open media link to a node, if any (tests and stats). */
  async link(node: string): Promise<RelayLink | undefined> {
    const link = await this.#links.get(node)?.catch(() => undefined);
    return link && !link.closed ? link : undefined;
  }

  /** The relay consumer feeding a node with a room's producer (near side), if any. */
  relayConsumer(node: string, room: string, producerId: string): Consumer | undefined {
    return this.#outgoing.get(key(node, room, producerId))?.consumer;
  }

  /** The remote producer of a room fed by another node (far side), if any. */
  remoteProducer(room: string, producerId: string): Producer | undefined {
    return this.#incoming.get(key(room, producerId))?.producer;
  }

  /** Tracks relayed now: to other nodes and from them. */
  get relayed(): { outgoing: number; incoming: number } {
    return { outgoing: this.#outgoing.size, incoming: this.#incoming.size };
  }

  /** Publishes where this node's producers are; watches consumers of remote producers (linger). */
  #watch(room: string, router: Router): void {
    const bus = this.#opts.bus;
    const local = new Set<string>(); // producers published here (not fed by another node)
    const report = (p: Promise<void>): void =>
      void p.catch((err: unknown) => this.#log.warn({ err, room }, 'sfu relay: directory update failed'));
    router.on('producer', (info) => {
      if (this.#incoming.has(key(room, info.id))) return;
      local.add(info.id);
      report(bus.setProducerNode(room, info.id, this.nodeId));
    });
    router.on('producerclose', (id) => {
      if (local.delete(id)) report(bus.setProducerNode(room, id, undefined));
    });
    router.on('consumerclose', () => {
      for (const entry of this.#incoming.values()) if (entry.room === room) this.#armLinger(entry);
    });
  }

  async prepare(room: string, producerIds: readonly string[], router: () => Router | undefined): Promise<void> {
    if (this.#closed) return;
    await Promise.all(
      producerIds.map(async (id) => {
        const existing = this.#incoming.get(key(room, id));
        if (existing) return this.#disarm(existing);
        if (typeof id !== 'string' || this.#opts.rooms.router(room)?.publication(id)) return;
        const node = await this.#opts.bus.producerNode(room, id);
        if (node === undefined || node === this.nodeId) return; // the router answers NOT_FOUND
        const k = key(room, id);
        let opening = this.#opening.get(k);
        if (!opening) {
          opening = this.#openIncoming(node, room, id, router).finally(() => this.#opening.delete(k));
          this.#opening.set(k, opening);
        }
        await opening;
      }),
    );
  }

  async #openIncoming(node: string, room: string, producerId: string, routerOf: () => Router | undefined): Promise<void> {
    const link = await this.#link(node);
    const requestId = randomUUID();
    const reply = await this.#request(node, { type: 'relay_open', requestId, room, producerId, link: this.#advertised(link) });
    if (reply.type === 'relay_failed') throw new ParleyError(reply.code, `node ${node}: ${reply.message}`);
    link.setRemote(reply.link);
    const refuse = (code: ErrorCode, message: string): never => {
      void this.#opts.bus.send(node, { type: 'relay_close', room, producerId }).catch(() => {});
      this.#idle(node);
      throw new ParleyError(code, message);
    };
    const router = routerOf();
    if (this.#closed || link.closed || !router || router.closed) return refuse('NOT_IN_ROOM', 'left the room during setup');
    if (!link.ssrcFree(reply.ssrc)) return refuse('INTERNAL', 'SSRC collision on the media link');
    const localSsrc = randomSsrc();
    const producer = new Producer({
      id: producerId,
      connectionId: reply.connectionId,
      kind: reply.codec.kind,
      codec: reply.codec,
      payloadType: reply.payloadType,
      ssrc: reply.ssrc,
      localSsrc,
      sendKeyFrameRequest: () => link.sendRtcp(writePli(localSsrc, reply.ssrc)),
      sendRtcp: (packet) => link.sendRtcp(packet),
      onRetransmitMiss: (seq) => link.requestRetransmit(reply.ssrc, seq),
    });
    const entry: Incoming = { node, room, producer, linger: undefined };
    const k = key(room, producerId);
    this.#incoming.set(k, entry);
    const remove = link.addIncoming(reply.ssrc, producer, localSsrc);
    producer.once('close', (reason) => {
      remove();
      this.#disarm(entry);
      this.#incoming.delete(k);
      // 'transportclose': the near node said the source ended; otherwise tell it to stop
      if (reason !== 'transportclose') void this.#opts.bus.send(node, { type: 'relay_close', room, producerId }).catch(() => {});
      this.#log.info({ room, producerId, node, reason }, 'sfu relay: remote producer closed');
      this.#idle(node);
    });
    router.attachRelay(producer);
    this.#armLinger(entry);
    this.#log.info({ room, producerId, node, ssrc: reply.ssrc }, 'sfu relay: remote producer opened');
  }

  #armLinger(entry: Incoming): void {
    if (entry.linger || entry.producer.closed || entry.producer.consumerCount > 0) return;
    entry.linger = setTimeout(() => {
      entry.linger = undefined;
      if (entry.producer.consumerCount === 0) entry.producer.close('close');
    }, this.#opts.lingerMs ?? 2000);
  }

  #disarm(entry: Incoming): void {
    if (entry.linger) clearTimeout(entry.linger);
    entry.linger = undefined;
  }

  #onMessage(from: string, msg: RelayMessage): void {
    if (this.#closed || from === this.nodeId) return;
    switch (msg.type) {
      case 'relay_open':
        void this.#openOutgoing(from, msg).then(
          (reply) => this.#opts.bus.send(from, reply),
          (err: unknown) => this.#log.warn({ err, node: from }, 'sfu relay: answering relay_open failed'),
        );
        return;
      case 'relay_opened':
      case 'relay_failed': {
        const pending = this.#requests.get(msg.requestId);
        if (!pending) return;
        this.#requests.delete(msg.requestId);
        clearTimeout(pending.timer);
        pending.resolve(msg);
        return;
      }
      case 'relay_close':
        this.#outgoing.get(key(from, msg.room, msg.producerId))?.consumer.close('close');
        {
          const incoming = this.#incoming.get(key(msg.room, msg.producerId));
          if (incoming?.node === from) incoming.producer.close('transportclose');
        }
        return;
    }
  }

  async #openOutgoing(from: string, msg: Extract<RelayMessage, { type: 'relay_open' }>): Promise<Reply> {
    const failed = (code: ErrorCode, message: string): Reply => ({ type: 'relay_failed', requestId: msg.requestId, code, message });
    const router = this.#opts.rooms.router(msg.room);
    const pub = router?.publication(msg.producerId);
    // only the publisher's node relays a track (no chains through a third node)
    if (!router || !pub || this.#incoming.has(key(msg.room, msg.producerId)))
      return failed('NOT_FOUND', `no producer ${msg.producerId} here`);
    const link = await this.#link(from);
    link.setRemote(msg.link);
    const k = key(from, msg.room, msg.producerId);
    const opened = (consumer: Consumer): Reply => ({
      type: 'relay_opened',
      requestId: msg.requestId,
      ssrc: consumer.ssrc,
      payloadType: pub.payloadType,
      connectionId: pub.connectionId,
      codec: pub.codec,
      link: this.#advertised(link),
    });
    const existing = this.#outgoing.get(k);
    if (existing) return opened(existing.consumer);
    if (this.#closed || link.closed || router.closed || pub.closed) return failed('NOT_FOUND', `no producer ${msg.producerId} here`);
    let ssrc = randomSsrc();
    while (!link.ssrcFree(ssrc)) ssrc = randomSsrc();
    // (the far node's feedback can only arrive once the consumer exists)
    const output = link.addOutgoing(ssrc, (packets) => consumer.receiveRtcp(packets));
    const consumer = new Consumer({
      id: `relay-${randomUUID()}`,
      connectionId: `relay-${from}`,
      producer: pub instanceof Simulcast ? pub.initialLayer() : pub,
      output,
      payloadType: pub.payloadType,
    });
    if (pub instanceof Simulcast) pub.track(consumer);
    this.#outgoing.set(k, { node: from, consumer });
    consumer.once('close', (reason) => {
      output.close();
      this.#outgoing.delete(k);
      // the source ended (producer or router closed): the far node closes its remote producer
      if (reason !== 'close')
        void this.#opts.bus.send(from, { type: 'relay_close', room: msg.room, producerId: msg.producerId }).catch(() => {});
      this.#log.info({ room: msg.room, producerId: msg.producerId, node: from, reason }, 'sfu relay: relay to a node closed');
      this.#idle(from);
    });
    router.attachRelay(consumer);
    consumer.start();
    this.#log.info({ room: msg.room, producerId: msg.producerId, node: from, ssrc }, 'sfu relay: relaying to a node');
    return opened(consumer);
  }

  #request(node: string, msg: Extract<RelayMessage, { type: 'relay_open' }>): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(msg.requestId);
        reject(new ParleyError('MEDIA_UNAVAILABLE', `node ${node} did not answer the relay request`));
      }, this.#opts.requestTimeoutMs ?? 5000);
      this.#requests.set(msg.requestId, { resolve, reject, timer });
      this.#opts.bus.send(node, msg).catch((err: unknown) => {
        clearTimeout(timer);
        this.#requests.delete(msg.requestId);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /** The link to a node, opened on first use. */
  #link(node: string): Promise<RelayLink> {
    const existing = this.#links.get(node);
    if (existing) return existing;
    const opening = RelayLink.open(node, this.#opts.bindAddress).then((link) => {
      if (this.#closed) link.close('close');
      link.once('close', (reason) => {
        if (this.#links.get(node) === opening) this.#links.delete(node);
        this.#log.info({ node, reason, stats: link.stats }, 'sfu relay: media link closed');
      });
      if (!link.closed) this.emit('link', link);
      return link;
    });
    this.#links.set(node, opening);
    opening.catch(() => this.#links.delete(node));
    return opening;
  }

  /** Closes the link to a node when nothing is relayed over it any more (after pending opens settle). */
  #idle(node: string): void {
    void this.#links.get(node)?.then(
      (link) => {
        const t = link.tracks;
        if (t.incoming === 0 && t.outgoing === 0 && ![...this.#opening.keys()].length) link.close('idle');
      },
      () => {},
    );
  }

  #advertised(link: RelayLink): RelayEndpoint {
    return { address: this.#opts.advertiseAddress ?? link.local.address, port: link.local.port };
  }

  #sendReports(): void {
    const now = Date.now();
    for (const { consumer } of this.#outgoing.values()) {
      if (!consumer.output.isOpen) continue;
      const sr = consumer.senderReport(now);
      if (sr) consumer.output.sendRtcp(sr);
    }
  }

  /**
   * Another node died (the node registry says so): its tracks here end as if their publisher left
   * (far subscribers' consumers close with `producerclose`), relays to it stop, and its link closes.
   */
  nodeDown(node: string): void {
    if (this.#closed || node === this.nodeId) return;
    const closeRelays = (): void => {
      for (const e of [...this.#incoming.values()]) if (e.node === node) e.producer.close('transportclose');
      for (const e of [...this.#outgoing.values()]) if (e.node === node) e.consumer.close('close');
    };
    const link = this.#links.get(node);
    if (!link) return closeRelays();
    // the link first, so its close names the reason (the relays' ends would close it as idle)
    void link.then((l) => {
      l.close('nodedown');
      closeRelays();
    }, closeRelays);
  }

  /** Idempotent: closes every relay (remote producers, relay consumers) and link; the bus stays its owner's. */
  close(reason: SfuRelayCloseReason = 'close'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#srTimer);
    for (const off of this.#offs) off();
    this.#opts.rooms.setRelay(undefined);
    for (const { timer, reject } of this.#requests.values()) {
      clearTimeout(timer);
      reject(new ParleyError('SHUTTING_DOWN', 'the SFU relay closed'));
    }
    this.#requests.clear();
    for (const e of [...this.#incoming.values()]) e.producer.close('close');
    for (const e of [...this.#outgoing.values()]) e.consumer.close('close');
    for (const link of this.#links.values())
      void link.then(
        (l) => l.close('close'),
        () => {},
      );
    this.#links.clear();
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
