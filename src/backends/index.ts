// The built-in backends. Each call returns fresh instances: a backend holds
// per-host state (connections, open files), so two hubs must not share one.
import type { BackendPlugin } from '../api/types';
import { AmqpBackend } from './amqp/backend';
import { BridgeBackend, type BridgeOptions } from './bridge/backend';
import { TRACKERS } from './bridge/trackers';
import { MlflowBackend } from './mlflow/backend';
import { TensorBoardBackend, type TensorBoardOptions } from './tensorboard/backend';

export { AmqpBackend, AMQP_BACKEND_ID } from './amqp/backend';
export { MlflowBackend, MLFLOW_BACKEND_ID } from './mlflow/backend';
export { TensorBoardBackend, TENSORBOARD_BACKEND_ID } from './tensorboard/backend';
export { BridgeBackend } from './bridge/backend';

/** `storeDir` gives TensorBoard its default folder; `baseDir`, what a relative folder is under. */
export function builtinBackends(opts: TensorBoardOptions & { python?: BridgeOptions } = {}): BackendPlugin[] {
  const bridges = TRACKERS.map((t) => new BridgeBackend(t, opts.python));
  return [new MlflowBackend(), new TensorBoardBackend(opts), new AmqpBackend(), ...bridges];
}
