import type { EventPayload, EventTopic } from '../../preload/contract';

export type AnyEvent = { [T in EventTopic]: { topic: T; payload: EventPayload<T> } }[EventTopic];
type Listener = (event: AnyEvent) => void;

/** In-process publish/subscribe for the events the contract pushes to clients. */
export interface EventBus {
  publish<T extends EventTopic>(topic: T, payload: EventPayload<T>): void;
  /** Every event, for transports that forward them all. Returns an unsubscribe function. */
  subscribeAll(listener: Listener): () => void;
  subscribe<T extends EventTopic>(topic: T, listener: (payload: EventPayload<T>) => void): () => void;
}

export function createEventBus(onListenerError: (err: unknown) => void = () => {}): EventBus {
  const listeners = new Set<Listener>();
  return {
    publish(topic, payload) {
      const ev = { topic, payload } as AnyEvent;
      for (const l of [...listeners]) {
        try {
          l(ev);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribeAll(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    subscribe(topic, listener) {
      const wrapped: Listener = (ev) => {
        if (ev.topic === topic) listener(ev.payload as never);
      };
      listeners.add(wrapped);
      return () => listeners.delete(wrapped);
    },
  };
}
