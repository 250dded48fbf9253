import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginContext, RunBatch, RunRecord, RunSummary } from '../../src/api/types';
import { crc32c, maskCrc } from '../../src/backends/tensorboard/crc32c';
import { ByteWriter, ScalarEventEncoder, readRecords } from '../../src/backends/tensorboard/proto';
import { TensorBoardBackend, resolveLogDir, runFolder } from '../../src/backends/tensorboard/backend';
import { validateConfig } from '../../src/core/configSchema';

// A tiny protobuf reader, so the tests check the bytes independently of the encoder.
type Fields = Map<number, Array<number | bigint | Buffer>>;
function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let pos = 0;
  const varint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      r |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return r;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let v: number | bigint | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 1) {
      v = buf.readDoubleLE(pos);
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      v = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(v);
  }
  return out;
}

describe('tensorboard: CRC-32C', () => {
  it('matches the published check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  });

  it('gives the same answer on every alignment and length (slicing-by-8 vs bytewise)', () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    const bytewise = (b: Buffer): number => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    for (let s = 0; s < 9; s++)
      for (let e = s; e < 300; e += 37) assert.equal(crc32c(data, s, e), bytewise(data.subarray(s, e)));
  });

  it('masks as TFRecord does', () => {
    const crc = 0xe3069283;
    assert.equal(maskCrc(crc), (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
    assert.notEqual(maskCrc(crc), crc);
  });
});

describe('tensorboard: protobuf and TFRecord encoding', () => {
  it('encodes varints, including large and negative int64', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [1, '01'],
      [300, 'ac02'],
      [2 ** 31, '8080808008'],
      [2 ** 53 - 1, 'ffffffffffffff0f'],
      [-1, 'ffffffffffffffffff01'],
    ];
    for (const [n, hex] of cases) {
      const w = new ByteWriter(1);
      w.varint(n);
      assert.equal(w.take().toString('hex'), hex, String(n));
    }
  });

  it('frames records with length, masked CRCs, and reads them back', () => {
    const enc = new ScalarEventEncoder();
    enc.fileVersion(1700000000.5);
    enc.scalars(7, 1700000001.25, [{ tag: 'loss', value: 0.1 }]);
    const buf = Buffer.from(enc.take());
    const { records, validBytes } = readRecords(buf);
    assert.equal(records.length, 2);
    assert.equal(validBytes, buf.length);
    const first = decode(records[0]);
    assert.equal(first.get(1)![0], 1700000000.5);
    assert.equal((first.get(3)![0] as Buffer).toString(), 'brain.Event:2');
    // A flipped bit in the data stops the reader at the record before it.
    const bad = Buffer.from(buf);
    bad[bad.length - 6] ^= 1;
    assert.equal(readRecords(bad).records.length, 1);
  });

  it('encodes a scalar by default as a DT_FLOAT scalar tensor (what the fast data server reads)', () => {
    const enc = new ScalarEventEncoder();
    enc.scalars(7, 1700000002.5, [
      { tag: 'loss', value: 0.1 },
      { tag: 'nan', value: NaN },
      { tag: 'big', value: 1e39 },
    ]);
    const [rec] = readRecords(Buffer.from(enc.take())).records;
    const ev = decode(rec);
    assert.equal(ev.get(2)![0], 7n);
    const values = decode(ev.get(5)![0] as Buffer)
      .get(1)!
      .map((b) => decode(b as Buffer));
    const tensors = values.map((x) => decode(x.get(8)![0] as Buffer));
    assert.equal(tensors[0].get(1)![0], 1n); // DT_FLOAT
    assert.equal((tensors[0].get(2)![0] as Buffer).length, 0); // tensor_shape {}: a scalar
    assert.equal((tensors[0].get(5)![0] as Buffer).readFloatLE(0), Math.fround(0.1));
    assert.ok(Number.isNaN((tensors[1].get(5)![0] as Buffer).readFloatLE(0)));
    assert.equal((tensors[2].get(5)![0] as Buffer).readFloatLE(0), Infinity); // past float32's range
    assert.equal(tensors[0].get(6), undefined);
    const meta = decode(values[0].get(9)![0] as Buffer);
    assert.equal((decode(meta.get(1)![0] as Buffer).get(1)![0] as Buffer).toString(), 'scalars');
    assert.equal(meta.get(4)![0], 1n); // DATA_CLASS_SCALAR
  });

  it('encodes a scalar as a DT_DOUBLE tensor with scalars plugin metadata when asked, keeping float64 exactly', () => {
    const enc = new ScalarEventEncoder({ float64: true });
    const v = 0.1 + 0.2; // not representable as float32
    enc.scalars(2 ** 40, 1700000002.123456, [
      { tag: 'a/b', value: v },
      { tag: 'nan', value: NaN },
      { tag: 'inf', value: -Infinity },
    ]);
    const [rec] = readRecords(Buffer.from(enc.take())).records;
    const ev = decode(rec);
    assert.equal(ev.get(1)![0], 1700000002.123456);
    assert.equal(ev.get(2)![0], 2n ** 40n);
    const summary = decode(ev.get(5)![0] as Buffer);
    const values = summary.get(1)!.map((b) => decode(b as Buffer));
    assert.deepEqual(
      values.map((x) => (x.get(1)![0] as Buffer).toString()),
      ['a/b', 'nan', 'inf'],
    );
    const tensor = decode(values[0].get(8)![0] as Buffer);
    assert.equal(tensor.get(1)![0], 2n); // DT_DOUBLE
    assert.equal((tensor.get(6)![0] as Buffer).readDoubleLE(0), v);
    assert.ok(Number.isNaN((decode(values[1].get(8)![0] as Buffer).get(6)![0] as Buffer).readDoubleLE(0)));
    assert.equal((decode(values[2].get(8)![0] as Buffer).get(6)![0] as Buffer).readDoubleLE(0), -Infinity);
    const meta = decode(values[0].get(9)![0] as Buffer);
    assert.equal((decode(meta.get(1)![0] as Buffer).get(1)![0] as Buffer).toString(), 'scalars');
    assert.equal(meta.get(4)![0], 1n); // DATA_CLASS_SCALAR
  });
});

describe('tensorboard: backend', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-tb-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const ctx = (): PluginContext => ({
    config: { logDir: path.join(tmp, 'logs') },
    secrets: { get: async () => undefined },
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    notify() {},
    storageDir: path.join(tmp, 'state'),
  });
  const run: RunSummary = {
    runId: '0b5c1d2e-aaaa-bbbb-cccc-000000000001',
    project: 'proj',
    name: 'my/run',
    status: 'running',
    startTime: 1700000000,
    params: {},
    tags: {},
    context: {},
  };
  const rec = (offset: number, step: number): RunRecord => ({
    runId: run.runId,
    offset,
    event: { type: 'metrics', points: [{ key: 'loss', value: step / 3, step, time: 1700000000 + step }] },
  });
  const batch = (records: RunRecord[]): RunBatch => ({ run, records });
  const steps = (): number[] => {
    const dir = runFolder(path.join(tmp, 'logs'), run);
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    const { records } = readRecords(fs.readFileSync(path.join(dir, files[0])));
    return records.slice(1).map((r) => Number(decode(r).get(2)![0]));
  };

  it('writes one folder per run, and a replay after a restart appends nothing twice', async () => {
    const b1 = new TensorBoardBackend();
    await b1.initialize(ctx());
    await b1.write(batch([rec(0, 0), rec(1, 1)]));
    await b1.write(batch([rec(1, 1), rec(2, 2)])); // overlapping delivery
    await b1.dispose();
    assert.match(runFolder(path.join(tmp, 'logs'), run), /proj[/\\]my_run-0b5c1d2e$/);
    assert.deepEqual(steps(), [0, 1, 2]);

    const b2 = new TensorBoardBackend();
    await b2.initialize(ctx());
    await b2.write(batch([rec(0, 0), rec(1, 1), rec(2, 2), rec(3, 3)]));
    await b2.dispose();
    assert.deepEqual(steps(), [0, 1, 2, 3]);
  });

  it('cuts a tail written after the last saved state before appending again', async () => {
    const b1 = new TensorBoardBackend();
    await b1.initialize(ctx());
    await b1.write(batch([rec(0, 0)]));
    await b1.dispose();
    const dir = runFolder(path.join(tmp, 'logs'), run);
    const file = path.join(dir, fs.readdirSync(dir)[0]);
    fs.appendFileSync(file, Buffer.from([1, 2, 3, 4, 5])); // a torn write from a crash
    const b2 = new TensorBoardBackend();
    await b2.initialize(ctx());
    await b2.write(batch([rec(0, 0), rec(1, 1)]));
    await b2.dispose();
    const { validBytes } = readRecords(fs.readFileSync(file));
    assert.equal(validBytes, fs.statSync(file).size);
    assert.deepEqual(steps(), [0, 1]);
  });

  it('needs no setting: the default folder is tensorboard/ in the run store, shown as the schema default', async () => {
    const store = path.join(tmp, 'ws', '.runwatch');
    const b = new TensorBoardBackend({ storeDir: store, baseDir: path.join(tmp, 'ws') });
    const schema = b.metadata.configSchema!;
    assert.equal(schema.properties.logDir.default, path.join(store, 'tensorboard'));
    assert.equal(schema.properties.logDir.format, 'folder');
    assert.deepEqual(schema.required ?? [], []);
    const checked = validateConfig(schema, {}, { pluginId: b.metadata.id });
    assert.deepEqual(checked.errors, []);
    await b.initialize({ ...ctx(), config: checked.value });
    assert.deepEqual(await b.healthCheck(), {
      healthy: true,
      details: `writing event files under ${path.join(store, 'tensorboard')}`,
    });
    await b.write(batch([rec(0, 0)]));
    await b.dispose();
    assert.equal(fs.readdirSync(runFolder(path.join(store, 'tensorboard'), run)).length, 1);
  });

  it('reads a relative logDir under the workspace and ~ as the home folder', async () => {
    assert.equal(resolveLogDir('runs', '/ws'), path.resolve('/ws', 'runs'));
    assert.equal(resolveLogDir(' /abs/tb ', '/ws'), path.resolve('/abs/tb'));
    assert.equal(resolveLogDir('~/tb', '/ws'), path.join(os.homedir(), 'tb'));
    const b = new TensorBoardBackend({ storeDir: path.join(tmp, '.runwatch'), baseDir: tmp });
    await b.initialize({ ...ctx(), config: { logDir: 'runs/tb' } });
    assert.match(
      (await b.healthCheck()).details,
      new RegExp(`${path.join(tmp, 'runs', 'tb').replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}$`),
    );
    await b.dispose();
  });
});
