import { ConfigError, loadConfig } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import { gatewayConfigSpec, upstreamsFromConfig } from '../src/index.js';

describe('gateway configuration', () => {
  it('has defaults for everything but the upstreams and the token', () => {
    const config = loadConfig(gatewayConfigSpec, {});
    expect(config).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      GATEWAY_UPSTREAM_TIMEOUT: 10_000,
      GATEWAY_COMPOSITION_TIMEOUT: 1_000,
    });
    expect(config.ASSETOPS_ADMIN_TOKEN).toBeUndefined();
    expect(upstreamsFromConfig(config)).toEqual({});
  });

  it('reads the upstreams that are set', () => {
    const config = loadConfig(gatewayConfigSpec, {
      ASSETOPS_ASSET_URL: 'http://127.0.0.1:8081',
      ASSETOPS_ALERT_URL: 'https://alert.internal',
      GATEWAY_UPSTREAM_TIMEOUT: '2500ms',
      GATEWAY_COMPOSITION_TIMEOUT: '250ms',
    });
    expect(upstreamsFromConfig(config)).toEqual({
      asset: 'http://127.0.0.1:8081',
      alert: 'https://alert.internal',
    });
    expect(config.GATEWAY_UPSTREAM_TIMEOUT).toBe(2_500);
    expect(config.GATEWAY_COMPOSITION_TIMEOUT).toBe(250);
  });

  it('refuses a short token without echoing it, and a non-http upstream', () => {
    let error: unknown;
    try {
      loadConfig(gatewayConfigSpec, { ASSETOPS_ADMIN_TOKEN: 'short-secret', ASSETOPS_ASSET_URL: 'ftp://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(2);
    expect((error as Error).message).not.toContain('short-secret');
  });
});
