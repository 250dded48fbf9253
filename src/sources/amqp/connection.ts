// What the AMQP source and the AMQP backend share: the broker address from their settings
// (URL, vhost, the password from SecretStorage), the message headers of protocol v1 over AMQP,
// and the routing key a run's messages carry.

/** Headers every Runwatch message over AMQP carries (docs/protocol.md, "Protocol v1 over AMQP"). */
export const HEADER_PROTOCOL = 'runwatch-protocol';
export const HEADER_RUN_ID = 'runwatch-run-id';
export const HEADER_SEQ = 'runwatch-seq';
/** Set on a dead-lettered message: why the source refused it. */
export const HEADER_REASON = 'runwatch-reason';

export const DEFAULT_EXCHANGE = 'runwatch';
export const DEFAULT_QUEUE = 'runwatch';

export interface BrokerSettings {
  url: string;
  vhost?: string;
  /** From SecretStorage; replaces a password written in the URL. */
  password?: string;
  /** AMQP heartbeat in seconds: how soon a dead broker or network is noticed. */
  heartbeatSeconds?: number;
}

/** The URL amqplib connects to, and the same with the password masked (for logs and health text). */
export function brokerUrl(s: BrokerSettings): { url: string; shown: string } {
  let u: URL;
  try {
    u = new URL(s.url.trim());
  } catch {
    throw new Error(`"${s.url}" is not a URL: write amqp://host:5672 (or amqps://…)`);
  }
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:')
    throw new Error(`"${s.url}" is not an AMQP URL: it must start with amqp:// or amqps://`);
  if (s.password) {
    if (!u.username) u.username = 'guest';
    u.password = encodeURIComponent(s.password);
  }
  // The vhost is the URL's path, one segment, escaped ("/" is %2F).
  if (s.vhost !== undefined && s.vhost !== '') u.pathname = `/${encodeURIComponent(s.vhost)}`;
  if (s.heartbeatSeconds !== undefined && !u.searchParams.has('heartbeat'))
    u.searchParams.set('heartbeat', String(s.heartbeatSeconds));
  const url = u.toString();
  const masked = new URL(url);
  if (masked.password) masked.password = '***';
  return { url, shown: masked.toString() };
}

/** `<project>.<run id>`: dots in the project become "_" so a topic binding can match on the project. */
export function routingKey(project: string, runId: string): string {
  return `${project.replace(/[.\s]/g, '_')}.${runId}`;
}

/** A header value as amqplib hands it over (string, number, Buffer, long) as text. */
export function headerText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'object' && 'value' in v) return headerText((v as { value: unknown }).value);
  return String(v as string);
}
