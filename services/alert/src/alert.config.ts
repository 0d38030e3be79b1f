import { type ConfigOf, duration, optional, string, url } from '@assetops/platform';

/** The Alert service's settings (environment variables), validated at start. */
export const alertConfigSpec = {
  ALERT_PROFILES_FILE: optional(
    string({
      description:
        'JSON file of default rules per asset type ({"pump": [{name, metric, condition, severity, …}]}); replaces the built-in profile of each type it names',
    }),
  ),
  ALERT_NO_DATA_INTERVAL: duration({ default: 1000, description: 'how often no-data rules are checked' }),
  ASSETOPS_TELEMETRY_URL: optional(
    url({
      protocols: ['http:', 'https:'],
      description: 'base URL of the Telemetry service API (backtests read history through it)',
    }),
  ),
};

export type AlertConfig = ConfigOf<typeof alertConfigSpec>;
