// The page side of VS Code's messaging, typed per page by its protocol file.
import type { Message } from './protocol/base';

export interface VsCodeApi<S, M extends Message> {
  postMessage(message: M): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi(): VsCodeApi<unknown, Message>;

let api: VsCodeApi<unknown, Message> | undefined;

/** `acquireVsCodeApi` may be called once per page; every module shares this one. */
export function vscodeApi<S, M extends Message>(): VsCodeApi<S, M> {
  api ??= acquireVsCodeApi();
  return api as VsCodeApi<S, M>;
}
