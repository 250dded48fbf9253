// Turns the .proto files beside it into descriptor.json, which the reader loads: JSON bundles
// with esbuild as is, where .proto text would need a loader. Rerun after changing a .proto:
//   npx tsx src/sources/tfevents/genDescriptor.ts
// A unit test checks that descriptor.json still matches the .proto files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

export const PROTO_DIR = path.join(__dirname, 'proto');
export const DESCRIPTOR_FILE = path.join(__dirname, 'descriptor.json');
const ROOTS = ['event.proto', 'plugin_hparams.proto', 'plugin_text.proto'];

/** The descriptor of every message the reader needs, parsed from the .proto files. */
export function descriptorFromProtos(): unknown {
  const root = new protobuf.Root();
  // The files import each other as "tensorboardX/proto/x.proto"; google/protobuf/* are protobufjs's own.
  root.resolvePath = (_origin, target) => {
    const m = /^tensorboardX\/proto\/(.+)$/.exec(target);
    return m ? path.join(PROTO_DIR, m[1]) : target;
  };
  root.loadSync(
    ROOTS.map((f) => path.join(PROTO_DIR, f)),
    { keepCase: true },
  );
  root.resolveAll();
  return root.toJSON();
}

if (require.main === module) {
  fs.writeFileSync(DESCRIPTOR_FILE, JSON.stringify(descriptorFromProtos()) + '\n');
  console.log(`wrote ${DESCRIPTOR_FILE}`);
}
