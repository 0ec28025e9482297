import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionId } from '../../lambdas/http/routes.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRESIGNERS = ['@aws-sdk/s3-request-presigner', '@aws-sdk/s3-presigned-post'];

/** The packages whose code ends up in a function's bundle, bundled as the stack bundles it (ES module, tree-shaken). */
async function bundledPackages(id: FunctionId): Promise<Set<string>> {
  const spec = FUNCTIONS.find((f) => f.id === id)!;
  const result = await build({
    entryPoints: [spec.entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const packages = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      if (match && bytesInOutput > 0) packages.add(match[1]!);
    }
  }
  return packages;
}

describe('the S3 functions\' bundles', () => {
  it('leave both presigners out of the function that scans uploads', async () => {
    const packages = await bundledPackages('scan-object');

    expect(packages).toContain('@aws-sdk/client-s3');
    for (const presigner of PRESIGNERS) expect(packages).not.toContain(presigner);
  });

  it('carry both presigners in the function that creates uploads', async () => {
    const packages = await bundledPackages('create-upload');

    for (const presigner of PRESIGNERS) expect(packages).toContain(presigner);
  });
});
