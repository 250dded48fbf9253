// Test helper: imports spool files into a run store, as the extension does.
// usage: tsx import_spool.ts <storeDir> <spoolDir> <file>...; prints one JSON line per file.
import * as path from 'path';
import { RunStore } from '../../../src/store/runStore';
import { SpoolImporter } from '../../../src/sources/spoolImporter';

async function main(): Promise<void> {
  const [storeDir, spoolDir, ...files] = process.argv.slice(2);
  const store = await RunStore.open(storeDir);
  const logger = { info: (m: string) => console.error(`info ${m}`), warn: (m: string) => console.error(`warn ${m}`), error: (m: string) => console.error(`error ${m}`) };
  const partQuietMs = Number(process.env.RUNWATCH_PART_QUIET_MS ?? 15_000);
  const importer = new SpoolImporter(store, spoolDir, { logger, partQuietMs });
  for (const f of files) {
    const res = await importer.importFile(path.resolve(f));
    process.stdout.write(JSON.stringify(res) + '\n');
  }
  await importer.dispose();
  await store.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
