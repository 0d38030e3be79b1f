import { type ConfigOf, type ConfigVar, duration } from '@assetops/platform';
import type { SkillMap } from './alerts/skill-map.js';
import { defaultSla, type SlaPolicy } from './work-orders/work-order.sla.js';

const SKILL = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * `MAINTENANCE_SKILL_MAP`: which skill an alert's work order requires, by the alert's metric first,
 * then by the asset's type. JSON: `{"metrics": {"vibration": "mechanical"}, "assetTypes": {"chiller": "hvac"}}`.
 */
function skillMap(opts: { description: string }): ConfigVar<SkillMap> {
  return {
    description: opts.description,
    default: { metrics: {}, assetTypes: {} },
    parse(raw) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Error(
          'must be JSON: {"metrics": {"<metric>": "<skill>"}, "assetTypes": {"<type>": "<skill>"}}',
        );
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('must be a JSON object');
      const out: SkillMap = { metrics: {}, assetTypes: {} };
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        if (key !== 'metrics' && key !== 'assetTypes')
          throw new Error(`unknown key '${key}' (metrics, assetTypes)`);
        if (!value || typeof value !== 'object' || Array.isArray(value))
          throw new Error(`${key} must be an object`);
        const entries = Object.entries(value as Record<string, unknown>);
        for (const [name, skill] of entries) {
          if (typeof skill !== 'string' || !SKILL.test(skill)) {
            throw new Error(`${key}.${name} must be a skill (lower-case identifier)`);
          }
        }
        // fromEntries makes own properties even of names such as `__proto__`.
        out[key] = Object.fromEntries(entries) as Record<string, string>;
      }
      return out;
    },
  };
}

/** The Maintenance service's settings (environment variables), validated at start. */
export const maintenanceConfigSpec = {
  MAINTENANCE_SLA_URGENT: duration({
    default: defaultSla.urgent,
    description: 'time allowed for an urgent work order (default 4h)',
  }),
  MAINTENANCE_SLA_HIGH: duration({
    default: defaultSla.high,
    description: 'time allowed for a high-priority work order (default 24h)',
  }),
  MAINTENANCE_SLA_MEDIUM: duration({
    default: defaultSla.medium,
    description: 'time allowed for a medium-priority work order (default 3d)',
  }),
  MAINTENANCE_SLA_LOW: duration({
    default: defaultSla.low,
    description: 'time allowed for a low-priority work order (default 7d)',
  }),
  MAINTENANCE_PLAN_INTERVAL: duration({
    default: 30_000,
    description: 'how often the timer opens the work orders of due preventive plans (default 30s)',
  }),
  MAINTENANCE_SKILL_MAP: skillMap({
    description:
      'JSON {"metrics": {"<metric>": "<skill>"}, "assetTypes": {"<type>": "<skill>"}}: the skill an alert’s work order requires (default: none, anyone may take it)',
  }),
};

export type MaintenanceConfig = ConfigOf<typeof maintenanceConfigSpec>;

/** The SLA of each priority, from the settings. */
export function slaPolicy(config: MaintenanceConfig): SlaPolicy {
  return {
    urgent: config.MAINTENANCE_SLA_URGENT,
    high: config.MAINTENANCE_SLA_HIGH,
    medium: config.MAINTENANCE_SLA_MEDIUM,
    low: config.MAINTENANCE_SLA_LOW,
  };
}
