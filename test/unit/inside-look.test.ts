import { describe, expect, it } from 'vitest';
import { DEFAULT_INSIDE_LIMITS } from '../../lambdas/core/inside/limits.js';
import { lookInside, type InsideFile, type InsideWorkspace } from '../../lambdas/core/inside/look-inside.js';
import { zipOf } from '../support/archives.js';

/** A workspace whose engine opens no format at all, as where 7-Zip is not installed. */
function workspaceOpeningNothing(bytes: Buffer): InsideWorkspace {
  const fail = () => {
    throw new Error('nothing should be listed, extracted or read');
  };
  return {
    create: fail,
    ends: async (_file, headBytes, tailBytes) => ({ head: bytes.subarray(0, headBytes), tail: bytes.subarray(Math.max(0, bytes.length - tailBytes)) }),
    opens: () => false,
    list: fail,
    extract: fail,
    read: fail,
    close: async () => undefined,
  };
}

describe('looking inside with an engine that cannot open the format', () => {
  it('answers the container unsupported, never complete', async () => {
    const bytes = zipOf({ 'a.txt': 'a' });
    const file: InsideFile = { name: 'a.zip', size: bytes.length };
    expect(await lookInside(file, workspaceOpeningNothing(bytes), DEFAULT_INSIDE_LIMITS)).toEqual({
      members: [],
      containers: 0,
      reasons: [{ reason: 'unsupported', path: [] }],
    });
  });

  it('answers a file that is no container complete without asking the engine', async () => {
    const bytes = Buffer.from('plain text');
    const file: InsideFile = { name: 'a.txt', size: bytes.length };
    expect(await lookInside(file, workspaceOpeningNothing(bytes), DEFAULT_INSIDE_LIMITS)).toEqual({ members: [], containers: 0, reasons: [] });
  });
});
