import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
  },
});
