import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../lambdas/core/errors.js';
import { authorize } from '../../local/auth.js';

const KEYS = { apiKeys: ['gateway-key'] };
const request = { headers: {} } as IncomingMessage;
const query = (search: string) => new URL(`http://127.0.0.1/vtapi/v2/file/report?${search}`);

describe('the local server’s check of an apikey query parameter, with keys required', () => {
  it('takes one valid key', () => {
    expect(() => authorize('queryApiKey', request, query('apikey=gateway-key&resource=x'), KEYS)).not.toThrow();
  });

  it.each([
    ['a valid key, then another', 'apikey=gateway-key&apikey=guess'],
    ['another key, then a valid one', 'apikey=guess&apikey=gateway-key'],
    ['the valid key twice', 'apikey=gateway-key&apikey=gateway-key'],
  ])('answers 400 invalid_request for %s, as the function behind it does, rather than reading the first', (_name, search) => {
    expect(() => authorize('queryApiKey', request, query(search), KEYS)).toThrow(InvalidRequestError);
    expect(() => authorize('queryApiKey', request, query(search), KEYS)).toThrow(/given 2 times/);
  });
});
