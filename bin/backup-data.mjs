#!/usr/bin/env node
// `npm run backup -- FOLDER`: a consistent copy of the single-machine service's data, taken while the server
// runs. The list and the scans are copied with LMDB's own hot copy (a read transaction: the server keeps
// answering and writing meanwhile, and the copy is the database as of one moment, compacted); the key that
// signs upload URLs is copied beside it. Uploads in progress and built exports are not: they are transient
// and rebuilt. Start a server on the copy with HASHCHECK_DATA_DIR=FOLDER npm start.
import { copyFile, chmod, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';

const DATABASE_FILE = 'hashcheck.mdb';
const SIGNING_KEY_FILE = 'upload-signing.key';

const [target, ...rest] = process.argv.slice(2);
if (target === undefined || rest.length > 0 || target === '-h' || target === '--help') {
  console.error('usage: npm run backup -- FOLDER   (copies HASHCHECK_DATA_DIR, default ./.hashcheck, into a new or empty FOLDER)');
  process.exit(2);
}
const dataDir = resolve(process.env.HASHCHECK_DATA_DIR || '.hashcheck');
const source = join(dataDir, DATABASE_FILE);
if (!existsSync(source)) {
  console.error(`hashcheck backup: there is no list in ${dataDir} (no ${DATABASE_FILE}); set HASHCHECK_DATA_DIR to the server's data folder`);
  process.exit(2);
}
const destination = resolve(target);
if (existsSync(destination) && (await readdir(destination)).length > 0) {
  console.error(`hashcheck backup: ${destination} is not empty; give a new or empty folder`);
  process.exit(2);
}
await mkdir(destination, { recursive: true, mode: 0o700 });
await chmod(destination, 0o700);

// Read-only: the running server keeps its write lock; LMDB lets readers in other processes read beside it.
const database = open({ path: source, readOnly: true });
try {
  await database.backup(join(destination, DATABASE_FILE), true);
} catch (error) {
  console.error(`hashcheck backup: could not copy ${source}: ${error?.message ?? error}`);
  process.exit(1);
} finally {
  await database.close();
}
await chmod(join(destination, DATABASE_FILE), 0o600);
if (existsSync(join(dataDir, SIGNING_KEY_FILE))) {
  await copyFile(join(dataDir, SIGNING_KEY_FILE), join(destination, SIGNING_KEY_FILE));
  await chmod(join(destination, SIGNING_KEY_FILE), 0o600);
}
console.log(`hashcheck backup: copied the list and scans of ${dataDir} into ${destination}`);
