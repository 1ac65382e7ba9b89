import { useEffect, useRef, useState } from 'react';
import type { Emitter, EventMap } from '@parley-rtc/client';

/**
 * Reads a value from an SDK object and re-reads it whenever one of `events` fires. Subscribes in
 * useEffect and unsubscribes on cleanup; the SDK keeps the state, React only mirrors it.
 */
export function useEmitterValue<E extends EventMap<E>, T>(emitter: Emitter<E> | undefined, events: readonly (keyof E)[], read: () => T): T {
  const readRef = useRef(read);
  readRef.current = read;
  const [value, setValue] = useState<T>(read);
  const key = events.join('|');
  useEffect(() => {
    if (!emitter) return undefined;
    const update = () => setValue(readRef.current());
    update();
    const offs = events.map((event) => emitter.on(event, update));
    return () => {
      for (const off of offs) off();
    };
    // `events` is compared by its joined names so callers can pass array literals.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [emitter, key]);
  return value;
}
