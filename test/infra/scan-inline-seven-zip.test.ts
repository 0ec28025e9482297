import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../lambdas/http/routes.js';
import { DEFAULT_SCAN_INLINE_INSIDE_TIME_MS, SEVEN_ZIP_FILES } from '../../lib/hash-lookup-stack.js';
import { logicalId, synthHashLookupStack } from './synth.js';

const SEVEN_ZIP_IN_BUNDLE = ['node_modules/7z-wasm/package.json', 'node_modules/7z-wasm/7zz.umd.js', 'node_modules/7z-wasm/7zz.wasm'];

describe('HashLookupStack ships 7-Zip with the function serving POST /v1/files', () => {
  const { stack, template } = synthHashLookupStack();
  const environmentOf = (id: 'scan-inline' | 'lookup') =>
    (template.toJSON()['Resources'][logicalId(stack.functions.get(id)!)] as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties
      .Environment.Variables;

  it('copies 7z-wasm as a package, its WebAssembly module and its licences, into scan-inline\'s bundle from files that exist', () => {
    expect(stack.functions.get('scan-inline')!.bundledFiles).toEqual(expect.arrayContaining(SEVEN_ZIP_IN_BUNDLE));
    expect(stack.functions.get('scan-inline')!.bundledFiles).toEqual(expect.arrayContaining(['node_modules/7z-wasm/License.txt', 'node_modules/7z-wasm/unRarLicense.txt']));
    for (const source of Object.values(SEVEN_ZIP_FILES)) expect(existsSync(source)).toBe(true);
  });

  it('copies nothing into the bundle of any function that scans no files, the lookups among them', () => {
    for (const [id, fn] of stack.functions) if (id !== 'scan-inline' && id !== 'scan-object') expect(fn.bundledFiles, id).toEqual([]);
  });

  it('gives scan-inline a look-inside time of 10 s by default, ending before its timeout and API Gateway\'s 29 s', () => {
    expect(environmentOf('scan-inline')['HASHCHECK_INSIDE_TIME_MS']).toBe('10000');
    expect(DEFAULT_SCAN_INLINE_INSIDE_TIME_MS).toBeLessThan(functionSpec('scan-inline').timeoutSeconds * 1000);
    expect(functionSpec('scan-inline').timeoutSeconds).toBeLessThan(29);
    expect(environmentOf('lookup')['HASHCHECK_INSIDE_TIME_MS']).toBeUndefined();
  });

  it('sets scanInlineInsideTimeMs on scan-inline as HASHCHECK_INSIDE_TIME_MS', () => {
    const custom = synthHashLookupStack({ scanInlineInsideTimeMs: 6000, webForm: false });
    const resource = custom.template.toJSON()['Resources'][logicalId(custom.stack.functions.get('scan-inline')!)] as {
      Properties: { Environment: { Variables: Record<string, string> } };
    };
    expect(resource.Properties.Environment.Variables['HASHCHECK_INSIDE_TIME_MS']).toBe('6000');
  });

  it.each([0, 1.5, 14_001, 30_000])('refuses %s as scanInlineInsideTimeMs: it would not end a second before scan-inline\'s 15 s timeout', (value) => {
    expect(() => synthHashLookupStack({ scanInlineInsideTimeMs: value })).toThrow(
      /^HashLookupStack scanInlineInsideTimeMs: .* give whole milliseconds from 1 to 14000, a second before its 15 s timeout\.$/,
    );
  });
});
