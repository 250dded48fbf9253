// The bundled Python client as a wheel, built here from the .py files the .vsix carries
// (clients/python/runwatch/**), so installing it never runs a build backend: `pip install <folder>`
// would fetch setuptools from the network (build isolation), and the .vsix does not ship
// pyproject.toml anyway. A wheel is a zip with a dist-info folder (PEP 427); pip installs it offline.
// No vscode import: unit-tested.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { crc32 } from '../../store/crc32';

export const CLIENT_NAME = 'runwatch';
/** Kept equal to clients/python/pyproject.toml (test/unit/clientWheel.test.ts checks). */
export const CLIENT_REQUIRES_PYTHON = '>=3.8';
const SUMMARY = 'Stream training metrics into the Runwatch VS Code extension (standard library only).';

export interface ClientWheel {
  file: string;
  version: string;
  files: number;
}

/** The client's version, from `__version__ = "..."` in runwatch/_run.py. */
export function clientVersion(clientDir: string): string {
  const text = fs.readFileSync(path.join(clientDir, CLIENT_NAME, '_run.py'), 'utf8');
  const m = /^__version__\s*=\s*["']([^"']+)["']/m.exec(text);
  if (!m) throw new Error(`no __version__ in ${path.join(clientDir, CLIENT_NAME, '_run.py')}`);
  return m[1];
}

/** The package's files, relative to `clientDir` with '/' separators: what setuptools would put in the wheel. */
export function clientFiles(clientDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(clientDir, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') walk(r);
      } else if (e.isFile() && (e.name.endsWith('.py') || e.name === 'py.typed')) out.push(r);
    }
  };
  walk(CLIENT_NAME);
  return out.sort();
}

/** Writes runwatch-<version>-py3-none-any.whl into `outDir`. */
export function buildClientWheel(clientDir: string, outDir: string): ClientWheel {
  const version = clientVersion(clientDir);
  const distInfo = `${CLIENT_NAME}-${version}.dist-info`;
  const entries: { name: string; data: Buffer }[] = clientFiles(clientDir).map((name) => ({
    name,
    data: fs.readFileSync(path.join(clientDir, ...name.split('/'))),
  }));
  const meta = [
    'Metadata-Version: 2.1',
    `Name: ${CLIENT_NAME}`,
    `Version: ${version}`,
    `Summary: ${SUMMARY}`,
    'License: MIT',
    `Requires-Python: ${CLIENT_REQUIRES_PYTHON}`,
    '',
  ].join('\n');
  const wheel = ['Wheel-Version: 1.0', 'Generator: runwatch-vscode', 'Root-Is-Purelib: true', 'Tag: py3-none-any', ''];
  entries.push(
    { name: `${distInfo}/METADATA`, data: Buffer.from(meta) },
    { name: `${distInfo}/WHEEL`, data: Buffer.from(wheel.join('\n')) },
    { name: `${distInfo}/top_level.txt`, data: Buffer.from(`${CLIENT_NAME}\n`) },
  );
  const record = entries.map((e) => `${e.name},sha256=${sha256(e.data)},${e.data.length}`);
  record.push(`${distInfo}/RECORD,,`, '');
  entries.push({ name: `${distInfo}/RECORD`, data: Buffer.from(record.join('\n')) });
  const file = path.join(outDir, `${CLIENT_NAME}-${version}-py3-none-any.whl`);
  fs.writeFileSync(file, zip(entries));
  return { file, version, files: entries.length };
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('base64url');
}

/** A plain zip (deflate, UTF-8 names, a fixed 1980-01-01 date so the same files give the same bytes). */
export function zip(entries: readonly { name: string; data: Buffer }[]): Buffer {
  const DOS_DATE = (0 << 9) | (1 << 5) | 1;
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const body = zlib.deflateRawSync(data);
    const crc = crc32(data) >>> 0;
    // The fields the local header and the central directory entry share, from `at` in each.
    const shared = (buf: Buffer, at: number): void => {
      buf.writeUInt16LE(20, at); // version needed: 2.0 (deflate)
      buf.writeUInt16LE(0x0800, at + 2); // UTF-8 names
      buf.writeUInt16LE(8, at + 4); // deflate
      buf.writeUInt16LE(0, at + 6); // time
      buf.writeUInt16LE(DOS_DATE, at + 8);
      buf.writeUInt32LE(crc, at + 10);
      buf.writeUInt32LE(body.length, at + 14);
      buf.writeUInt32LE(data.length, at + 18);
      buf.writeUInt16LE(nameBuf.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    shared(local, 4);
    local.writeUInt16LE(0, 28); // extra
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode below counts)
    shared(cd, 6);
    cd.writeUInt16LE(0, 30); // extra
    cd.writeUInt16LE(0, 32); // comment
    cd.writeUInt16LE(0, 34); // disk
    cd.writeUInt16LE(0, 36); // internal attributes
    cd.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    cd.writeUInt32LE(offset, 42);
    parts.push(local, nameBuf, body);
    central.push(cd, nameBuf);
    offset += local.length + nameBuf.length + body.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}
