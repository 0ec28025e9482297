import { defineConfig } from 'vitest/config';

/** What every project of the suite runs with. */
const shared = {
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 60_000,
  env: {
    // Handler modules build their default clients at import, as on a cold start; tests call the factories
    // with their own clients, so these only satisfy readConfig() and are never used to reach AWS.
    KNOWN_HASHES_TABLE: 'KnownHashes',
    SCANS_TABLE: 'Scans',
    UPLOAD_BUCKET: 'hashcheck-uploads',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // The SDK warns once per process that Node 20 nears its end of support; Lambda runs Node 22.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  },
} as const;

export default defineConfig({
  test: {
    // Two files at a time: vitest's default is one fewer than the cores, which is one file at a time on the
    // two-core machines the suite runs on. Each file starts its own emulators on free ports with its data in
    // a fresh temporary folder, so files running side by side share nothing.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      {
        test: {
          ...shared,
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          // The infrastructure tests only build constructs in memory: sharing their modules between files
          // loads aws-cdk-lib once per worker rather than once per file, and lets them share synthesized
          // stacks (test/infra/synth.ts).
          isolate: false,
        },
      },
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Pure functions with no server, emulator or environment of their own: they share their modules too.
          isolate: false,
        },
      },
      {
        test: {
          ...shared,
          name: 'service',
          include: ['test/**/*.test.ts'],
          // Each file here gets fresh modules: the handler modules read their configuration once per process.
          exclude: ['test/infra/**', 'test/unit/**'],
        },
      },
    ],
  },
});
