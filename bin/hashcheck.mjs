#!/usr/bin/env node
// The `hashcheck` executable (package.json "bin"): registers tsx so the TypeScript entry runs as it is,
// without a build step, then runs it.
import { register } from 'tsx/esm/api';

register();
await import('./hashcheck.ts');
