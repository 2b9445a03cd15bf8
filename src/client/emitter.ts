/** Event name → the arguments its listeners receive. */
export type EventMap = { readonly [event: string]: readonly unknown[] };

type Listener<A extends readonly unknown[]> = (...args: A) => void;

/**
 * A minimal typed event emitter that runs in browsers and Node alike. A listener that throws does not stop the
 * others; its error goes to `onListenerError` (console by default), because one buggy handler must not cut a
 * client off from the rest of its messages.
 */
export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (error: unknown) => void = (error) => console.error(error)) {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(...args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
