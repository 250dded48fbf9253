// The three trackers Runwatch reaches through their own Python SDKs: their plugin
// metadata, configuration schemas, and how config and secrets become the bridge's
// configuration (never secrets) and environment (secrets only there).
import type { ConfigSchema } from '../../api/types';

export interface TrackerSpec {
  /** The plugin id (`runwatch.wandb`). */
  id: string;
  /** The bridge module (`python -m runwatch.bridge <tracker>`). */
  tracker: 'wandb' | 'aim' | 'clearml';
  displayName: string;
  description: string;
  /** The pip package the bridge needs in the chosen interpreter. */
  pip: string;
  configSchema: ConfigSchema;
  /** Secret property -> the environment variable the SDK reads it from. */
  secretEnv: Record<string, string>;
  /** Environment for the SDK from the (non-secret) config. */
  env(config: Readonly<Record<string, unknown>>): Record<string, string>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export const WANDB: TrackerSpec = {
  id: 'runwatch.wandb',
  tracker: 'wandb',
  displayName: 'Weights & Biases',
  description: 'Streams runs to Weights & Biases through its Python SDK (online, or offline for `wandb sync`).',
  pip: 'wandb',
  configSchema: {
    type: 'object',
    properties: {
      mode: {
        type: 'string',
        enum: ['offline', 'online'],
        default: 'offline',
        description: 'online: upload as runs go; offline: write run files to upload later with `wandb sync`.',
      },
      project: { type: 'string', default: '', description: "W&B project. Empty: the run's project." },
      entity: { type: 'string', default: '', description: 'W&B entity (user or team). Empty: your default.' },
      baseUrl: {
        type: 'string',
        default: '',
        description: 'A W&B server other than the cloud, e.g. http://wandb.local.',
      },
      dir: {
        type: 'string',
        format: 'folder',
        default: '',
        description: "Where W&B writes its run files. Empty: Runwatch's backend folder.",
      },
      apiKey: { type: 'string', secret: true, description: 'W&B API key (kept in SecretStorage).' },
    },
  },
  secretEnv: { apiKey: 'WANDB_API_KEY' },
  env: (c) => ({
    WANDB_MODE: str(c.mode) === 'online' ? 'online' : 'offline',
    WANDB_SILENT: 'true',
    WANDB_CONSOLE: 'off',
    ...(str(c.baseUrl) ? { WANDB_BASE_URL: str(c.baseUrl) } : {}),
  }),
};

export const AIM: TrackerSpec = {
  id: 'runwatch.aim',
  tracker: 'aim',
  displayName: 'Aim',
  description: 'Streams runs to an Aim repo (a local folder or an aim:// server) through its Python SDK.',
  pip: 'aim',
  configSchema: {
    type: 'object',
    properties: {
      repo: {
        type: 'string',
        default: '',
        description: "A repo folder or a remote aim://host:port. Empty: a repo in Runwatch's backend folder.",
      },
      experiment: { type: 'string', default: '', description: "Aim experiment. Empty: the run's project." },
      contextPrefixes: {
        type: 'array',
        items: { type: 'string' },
        default: ['train', 'val', 'valid', 'validation', 'test', 'eval'],
        description: 'Key prefixes tracked as the Aim context {"subset": prefix} (train/loss: loss in subset train).',
      },
    },
  },
  secretEnv: {},
  env: () => ({}),
};

export const CLEARML: TrackerSpec = {
  id: 'runwatch.clearml',
  tracker: 'clearml',
  displayName: 'ClearML',
  description: 'Streams runs to ClearML tasks through its Python SDK (online, or offline sessions to import later).',
  pip: 'clearml',
  configSchema: {
    type: 'object',
    properties: {
      mode: {
        type: 'string',
        enum: ['offline', 'online'],
        default: 'offline',
        description: 'online: report to the server as runs go; offline: sessions to import later.',
      },
      project: { type: 'string', default: '', description: "ClearML project. Empty: the run's project." },
      apiHost: { type: 'string', default: '', description: 'The ClearML API server, e.g. http://127.0.0.1:8008.' },
      webHost: { type: 'string', default: '', description: 'The ClearML web server.' },
      filesHost: { type: 'string', default: '', description: 'The ClearML files server.' },
      accessKey: { type: 'string', secret: true, description: 'ClearML API access key.' },
      secretKey: { type: 'string', secret: true, description: 'ClearML API secret key.' },
    },
  },
  secretEnv: { accessKey: 'CLEARML_API_ACCESS_KEY', secretKey: 'CLEARML_API_SECRET_KEY' },
  env: (c) => ({
    ...(str(c.mode) === 'online' ? {} : { CLEARML_OFFLINE_MODE: '1' }),
    ...(str(c.apiHost) ? { CLEARML_API_HOST: str(c.apiHost) } : {}),
    ...(str(c.webHost) ? { CLEARML_WEB_HOST: str(c.webHost) } : {}),
    ...(str(c.filesHost) ? { CLEARML_FILES_HOST: str(c.filesHost) } : {}),
  }),
};

export const TRACKERS: readonly TrackerSpec[] = [WANDB, AIM, CLEARML];
