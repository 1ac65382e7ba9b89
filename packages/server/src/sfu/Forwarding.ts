/**
 * A router's forwarding table: which consumers each producer feeds. The Router owns it; neither
 * producers nor consumers change it. A consumer is fed by its `producer` and, during a seamless
 * switch, by its `pendingProducer` too; the table follows its `sourcechange` events and hands each
 * producer a fresh array of its consumers (`Producer.setSinks`), so the packet path reads one array.
 *
 * Closing: when a producer closes, the consumers it is the current producer of close with
 * `producerclose` (unless their owner moves them to another producer: `Consumer.onProducerEnd`); those that were only switching to it drop the switch and stay on their producer.
 * A closed consumer leaves the table. Producers are watched from `addProducer()` (the router calls
 * it at creation, so their consumers close before the router hears of the producer's end) or from
 * their first consumer.
 */
import type { Consumer } from './Consumer.ts';
import type { Producer } from './Producer.ts';

export class Forwarding {
  readonly #consumersOf = new Map<Producer, Set<Consumer>>();
  readonly #sourcesOf = new Map<Consumer, Set<Producer>>();
  readonly #offs = new Map<Producer | Consumer, () => void>();

  /** Watches a producer from now on (idempotent; closed producers are ignored). */
  addProducer(producer: Producer): void {
    if (producer.closed || this.#consumersOf.has(producer)) return;
    this.#consumersOf.set(producer, new Set());
    this.#offs.set(
      producer,
      producer.once('close', () => this.#producerClosed(producer)),
    );
  }

  /** Starts feeding a consumer from its producer (and from the ones it switches to later). */
  add(consumer: Consumer): void {
    if (consumer.closed || this.#sourcesOf.has(consumer)) return;
    this.#sourcesOf.set(consumer, new Set());
    const offChange = consumer.on('sourcechange', () => this.#rewire(consumer));
    const offClose = consumer.once('close', () => this.#remove(consumer));
    this.#offs.set(consumer, () => {
      offChange();
      offClose();
    });
    this.#rewire(consumer);
  }

  /** The consumers a producer currently feeds (its current and its switching-in ones). */
  consumersOf(producer: Producer): Consumer[] {
    return [...(this.#consumersOf.get(producer) ?? [])];
  }

  /** Producers and consumers in the table (tests check that closing empties it). */
  get size(): { producers: number; consumers: number } {
    return { producers: this.#consumersOf.size, consumers: this.#sourcesOf.size };
  }

  #rewire(consumer: Consumer): void {
    const had = this.#sourcesOf.get(consumer);
    if (!had) return;
    const want = new Set<Producer>();
    for (const p of [consumer.producer, consumer.pendingProducer]) if (p && !p.closed) want.add(p);
    for (const p of had) if (!want.has(p)) this.#detach(p, consumer);
    for (const p of want) if (!had.has(p)) this.#attach(p, consumer);
    this.#sourcesOf.set(consumer, want);
  }

  #attach(producer: Producer, consumer: Consumer): void {
    this.addProducer(producer);
    const set = this.#consumersOf.get(producer)!;
    set.add(consumer);
    producer.setSinks([...set]);
  }

  #detach(producer: Producer, consumer: Consumer): void {
    const set = this.#consumersOf.get(producer);
    if (!set?.delete(consumer)) return;
    producer.setSinks([...set]);
  }

  #remove(consumer: Consumer): void {
    for (const p of this.#sourcesOf.get(consumer) ?? []) this.#detach(p, consumer);
    this.#sourcesOf.delete(consumer);
    this.#offs.get(consumer)?.();
    this.#offs.delete(consumer);
  }

  #producerClosed(producer: Producer): void {
    const consumers = this.#consumersOf.get(producer) ?? new Set<Consumer>();
    this.#consumersOf.delete(producer);
    this.#offs.delete(producer);
    for (const c of consumers) {
      this.#sourcesOf.get(c)?.delete(producer);
      if (c.producer !== producer)
        c.switchProducer(c.producer); // it was only switching to this one: stay
      else if (!c.onProducerEnd?.()) c.close('producerclose');
    }
  }
}
