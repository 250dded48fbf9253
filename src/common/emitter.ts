// A minimal event emitter with vscode.Event's shape, for code that must not import vscode.
//
// Policy for a throwing listener (the same for every emitter in Runwatch): the
// other listeners still run, the emitter's owner is not blamed, and the error is
// reported through `onListenerError` (default: console.error) naming the
// emitter, so a broken view shows up as itself and not as a store or cache fault.
import type { Disposable } from './disposable';

export type Listener<T> = (value: T) => void;
export type Event<T> = (listener: Listener<T>) => Disposable;

export interface EmitterOptions {
  /** Named in listener error reports, e.g. "store.onDidChange". */
  name?: string;
  onListenerError?: (error: unknown, name: string) => void;
}

let defaultListenerError = (error: unknown, name: string): void => {
  console.error(`runwatch: a listener of ${name} threw:`, error);
};

/** Where listener errors of emitters without their own handler go (the extension points it at its log). */
export function setDefaultListenerErrorHandler(handler: (error: unknown, name: string) => void): () => void {
  const previous = defaultListenerError;
  defaultListenerError = handler;
  // Returns the way back, so a test can restore the handler it replaced.
  return () => {
    defaultListenerError = previous;
  };
}

export class Emitter<T> implements Disposable {
  private listeners = new Set<Listener<T>>();
  private readonly name: string;
  private readonly onError?: (error: unknown, name: string) => void;

  constructor(options: EmitterOptions = {}) {
    this.name = options.name ?? 'an event';
    this.onError = options.onListenerError;
  }

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        (this.onError ?? defaultListenerError)(e, this.name);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
