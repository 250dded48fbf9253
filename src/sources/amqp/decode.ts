// One AMQP message body = one protocol v1 frame (JSON). It is checked by the collector's own
// frame parser (src/collector/frames.ts), so a message is accepted over AMQP exactly when the same
// text would be accepted over the WebSocket; the headers must agree with the body.
import type { RunEvent } from '../../api/types';
import { parseFrame } from '../../collector/frames';
import { PROTOCOL_VERSION } from '../../protocol/v1';
import { HEADER_PROTOCOL, HEADER_RUN_ID, HEADER_SEQ, headerText } from './connection';

export type Decoded =
  | { kind: 'run'; runId: string; seq: number; event: RunEvent; text: string }
  /** Fine but carries nothing to store (a heartbeat): acknowledged and dropped. */
  | { kind: 'skip' }
  /** Refused: goes to the dead-letter queue with this reason. */
  | { kind: 'bad'; reason: string };

export interface DecodeLimits {
  maxBatchPoints: number;
}

export function decodeMessage(
  body: Buffer,
  headers: Record<string, unknown> | undefined,
  limits: DecodeLimits,
): Decoded {
  const h = headers ?? {};
  const protocol = headerText(h[HEADER_PROTOCOL]);
  if (protocol !== undefined && protocol !== String(PROTOCOL_VERSION)) {
    return bad(
      `header ${HEADER_PROTOCOL} is ${JSON.stringify(protocol)}: this Runwatch reads protocol ${PROTOCOL_VERSION} ` +
        `only (send ${HEADER_PROTOCOL}: ${PROTOCOL_VERSION}, or update Runwatch)`,
    );
  }
  const text = body.toString('utf8');
  const f = parseFrame(text, limits);
  if (f.kind === 'heartbeat') return { kind: 'skip' };
  if (f.kind === 'hello') return bad('hello is not sent over AMQP (the broker authenticates); send run messages');
  if (f.kind === 'error') {
    // frames.ts names a missing run id as a schema error; say it plainly, it is the usual mistake.
    if (f.error.code === 'bad_message' && f.type && f.type !== 'heartbeat' && !looksLikeRunId(text))
      return bad(`the ${f.type} message has no "runId": every run message names its run (and its seq)`);
    return bad(`${f.error.code}: ${f.error.message}`);
  }
  const hRun = headerText(h[HEADER_RUN_ID]);
  if (hRun !== undefined && hRun !== f.runId)
    return bad(`header ${HEADER_RUN_ID} is "${hRun}" but the message's runId is "${f.runId}"`);
  const hSeq = headerText(h[HEADER_SEQ]);
  if (hSeq !== undefined && Number(hSeq) !== f.seq)
    return bad(`header ${HEADER_SEQ} is ${hSeq} but the message's seq is ${f.seq}`);
  return { kind: 'run', runId: f.runId, seq: f.seq, event: f.event, text };
}

function bad(reason: string): Decoded {
  return { kind: 'bad', reason };
}

function looksLikeRunId(text: string): boolean {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    return typeof o === 'object' && o !== null && 'runId' in o;
  } catch {
    return true;
  }
}
