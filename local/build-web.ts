#!/usr/bin/env node
/**
 * `npm run build:web [outDir]`: writes the built web form (default `dist/web`, ignored by git) for a
 * look at what is deployed, or to serve it from another web server. `npm start` and `cdk synth` build
 * it themselves; neither needs this step.
 */
import { resolve } from 'node:path';
import { writeWebForm } from '../lib/web-form-assets.js';

const outDir = resolve(process.argv[2] ?? 'dist/web');
const written = writeWebForm(outDir);
console.log(`web form: ${written.length} files in ${outDir}`);
