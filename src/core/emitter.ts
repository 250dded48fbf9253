// A minimal event emitter with vscode.Event's shape, for code that must not import vscode.
import type { Disposable } from '../api/types';

export type Listener<T> = (value: T) => void;

export class Emitter<T> {
  private listeners = new Set<Listener<T>>();

  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch {
        // One bad listener must not stop the others.
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
