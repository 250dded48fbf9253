// A stored record as the protocol v1 message another Runwatch (or any consumer) reads over AMQP:
// the event with its run id and seq (the record's offset + 1, so seqs run 1, 2, 3, … per run
// with no gaps), non-finite values as the wire's strings, plus the runwatch-* headers.
import type { RunEvent, RunRecord } from '../../api/types';
import { encodeWireNumber } from '../../common/wireNumber';
import { PROTOCOL_VERSION } from '../../protocol/v1';
import { HEADER_PROTOCOL, HEADER_RUN_ID, HEADER_SEQ } from '../../sources/amqp/connection';

export interface WireMessage {
  body: Buffer;
  headers: Record<string, string | number>;
  seq: number;
}

export function wireMessage(record: RunRecord): WireMessage {
  const seq = record.offset + 1;
  const { runId } = record;
  const ev: RunEvent = record.event;
  let msg: Record<string, unknown>;
  if (ev.type === 'metrics') {
    const points = ev.points.map((p) =>
      Number.isFinite(p.value) ? p : { key: p.key, value: encodeWireNumber(p.value), step: p.step, time: p.time },
    );
    msg = { type: 'metrics', runId, seq, points, ...(ev.sources ? { sources: ev.sources } : {}) };
  } else {
    msg = { ...ev, runId, seq };
  }
  return {
    body: Buffer.from(JSON.stringify(msg)),
    headers: { [HEADER_PROTOCOL]: PROTOCOL_VERSION, [HEADER_RUN_ID]: runId, [HEADER_SEQ]: seq },
    seq,
  };
}
