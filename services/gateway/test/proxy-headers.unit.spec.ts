import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders } from '../src/proxy/proxy.headers.js';

describe('proxy headers', () => {
  const context = { requestId: 'r-1', clientIp: '10.0.0.9', protocol: 'https', hasBody: true };

  it('forwards the allow-listed request headers and adds the forwarding ones', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'api.example.com',
        authorization: 'Bearer secret',
        cookie: 'a=b',
        'content-type': 'application/json',
        'content-length': '12',
        'if-match': '"2"',
        'x-forwarded-for': '203.0.113.5',
        'x-request-id': 'from-client',
        connection: 'keep-alive',
      },
      context,
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'content-length': '12',
      'if-match': '"2"',
      'x-request-id': 'r-1',
      'x-forwarded-for': '203.0.113.5, 10.0.0.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    });
  });

  it('drops content-length when no body is forwarded', () => {
    const out = upstreamRequestHeaders({ 'content-length': '5' }, { ...context, hasBody: false });
    expect(out['content-length']).toBeUndefined();
  });

  it('strips hop-by-hop response headers and the ones Connection names', () => {
    const out = clientResponseHeaders({
      etag: '"1"',
      'set-cookie': ['a=1', 'b=2'],
      connection: 'keep-alive, x-hop',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-hop': '1',
      'retry-after': '3',
    });
    expect(out).toEqual({ etag: '"1"', 'set-cookie': ['a=1', 'b=2'], 'retry-after': '3' });
  });
});
