import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One value that a reload replaces as a whole (the broker's rules and what is compiled from them), read per request:
 * a request pins the value in force when it arrives and sees that one to its end, whatever replaces it meanwhile,
 * so no request is ever served under a mix of two.
 */
export class InForce<T> {
  #latest: T;
  readonly #pinned = new AsyncLocalStorage<T>();

  constructor(first: T) {
    this.#latest = first;
  }

  /** The value of the request this code runs for; outside any request, the latest. */
  get current(): T {
    return this.#pinned.getStore() ?? this.#latest;
  }

  get latest(): T {
    return this.#latest;
  }

  /** Runs `serve` with the latest value pinned: everything it starts or awaits reads that one as `current`. */
  pin<R>(serve: () => R): R {
    return this.#pinned.run(this.#latest, serve);
  }

  replace(next: T): void {
    this.#latest = next;
  }
}

/**
 * An object that reads every property from `current()` when it is read: for a consumer that keeps the object it
 * was given (a registry, a catalog) and should see the value in force for each request instead.
 */
export function following<T extends object>(current: () => T): T {
  return new Proxy({} as T, {
    get: (_, property) => Reflect.get(current(), property),
    has: (_, property) => Reflect.has(current(), property),
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(current(), property);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
