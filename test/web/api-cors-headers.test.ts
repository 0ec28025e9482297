import { describe, expect, it } from 'vitest';
import { CORS_ORIGIN_VARIABLE, corsHeaders } from '../../lambdas/http/handler.js';

describe('corsHeaders', () => {
  it('allows the web form origin the stack names, and lets the page read the request id', () => {
    expect(corsHeaders({ [CORS_ORIGIN_VARIABLE]: 'https://d111111abcdef8.cloudfront.net' })).toEqual({
      'access-control-allow-origin': 'https://d111111abcdef8.cloudfront.net',
      'access-control-expose-headers': 'x-request-id, retry-after',
      vary: 'Origin',
    });
  });

  it('sends no CORS header when no origin is set, as on the local server where the page shares the origin', () => {
    expect(corsHeaders({})).toEqual({});
    expect(corsHeaders({ [CORS_ORIGIN_VARIABLE]: '  ' })).toEqual({});
  });
});
