import { describe, expect, it } from 'vitest';
import { functionSpec } from '../../lambdas/http/routes.js';
import { MAX_UPLOAD_BYTES } from '../../lambdas/core/uploads.js';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import { DEFAULT_SCAN_OBJECT_INSIDE_TIME_MS, SEVEN_ZIP_FILES } from '../../lib/hash-lookup-stack.js';
import { logicalId, synthHashLookupStack } from './synth.js';

type FunctionResource = {
  Properties: { Environment: { Variables: Record<string, string> }; EphemeralStorage?: { Size: number }; Timeout: number };
};

describe('HashLookupStack lets scan-object look inside uploaded files', () => {
  const { stack, template } = synthHashLookupStack();
  const resourceOf = (id: 'scan-object' | 'scan-inline' | 'lookup') =>
    template.toJSON()['Resources'][logicalId(stack.functions.get(id)!)] as FunctionResource;

  it('copies 7-Zip, its WebAssembly module and its licences into scan-object\'s bundle', () => {
    expect(stack.functions.get('scan-object')!.bundledFiles).toEqual(Object.keys(SEVEN_ZIP_FILES));
  });

  it('gives scan-object a /tmp that holds a 5 GiB upload and the members extracted from it', () => {
    const size = resourceOf('scan-object').Properties.EphemeralStorage?.Size;
    expect(size).toBeGreaterThanOrEqual((MAX_UPLOAD_BYTES + DEFAULT_INSIDE_LIMITS.maxBytes) / 1024 ** 2);
    expect(size).toBeLessThanOrEqual(10_240);
    expect(resourceOf('lookup').Properties.EphemeralStorage).toBeUndefined();
  });

  it('sets a scan time that ends before scan-object\'s timeout as HASHCHECK_INSIDE_TIME_MS', () => {
    const variables = resourceOf('scan-object').Properties.Environment.Variables;
    expect(variables['HASHCHECK_INSIDE_TIME_MS']).toBe(String(DEFAULT_SCAN_OBJECT_INSIDE_TIME_MS));
    expect(DEFAULT_SCAN_OBJECT_INSIDE_TIME_MS).toBeLessThan(functionSpec('scan-object').timeoutSeconds * 1000);
    expect(resourceOf('scan-object').Properties.Timeout).toBe(functionSpec('scan-object').timeoutSeconds);
    expect(resourceOf('scan-inline').Properties.Environment.Variables['HASHCHECK_INSIDE_TIME_MS']).toBe('10000');
  });

  it('sets scanObjectInsideTimeMs on scan-object as HASHCHECK_INSIDE_TIME_MS', () => {
    const custom = synthHashLookupStack({ scanObjectInsideTimeMs: 600_000, webForm: false });
    const resource = custom.template.toJSON()['Resources'][logicalId(custom.stack.functions.get('scan-object')!)] as FunctionResource;
    expect(resource.Properties.Environment.Variables['HASHCHECK_INSIDE_TIME_MS']).toBe('600000');
  });

  it.each([0, 899_001, 900_000])('refuses %s as scanObjectInsideTimeMs: it would not end a second before scan-object\'s 900 s timeout', (value) => {
    expect(() => synthHashLookupStack({ scanObjectInsideTimeMs: value })).toThrow(
      /^HashLookupStack scanObjectInsideTimeMs: .* give whole milliseconds from 1 to 899000, a second before its 900 s timeout\.$/,
    );
  });
});
