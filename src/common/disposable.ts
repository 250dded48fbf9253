// One Disposable shape for the whole code base; it matches `vscode.Disposable`
// structurally, so VS Code's own disposables fit wherever this is asked for.

export interface Disposable {
  dispose(): unknown;
}

export function toDisposable(fn: () => unknown): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      return fn();
    },
  };
}

/**
 * Holds disposables and disposes them all, last added first (the reverse of the
 * order things were set up in), each once. A throwing dispose does not stop the rest;
 * the first error is rethrown after all have run.
 */
export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      // Something registered after shutdown must not leak.
      void item.dispose();
      return item;
    }
    this.items.push(item);
    return item;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    let first: unknown;
    for (const item of this.items.reverse()) {
      try {
        void item.dispose();
      } catch (e) {
        first ??= e;
      }
    }
    this.items = [];
    if (first !== undefined) throw first;
  }
}
