import { readFile } from 'node:fs/promises';
import { CreateRuleBody } from '@assetops/contracts';
import { Value } from '@sinclair/typebox/value';

/** A profile rule: a rule without its target (it is created for each new asset of the type). */
export type ProfileRule = Omit<CreateRuleBody, 'assetId' | 'assetType'>;

/** Default rules by asset type. Sensible starting points; users tune them per asset. */
export const defaultProfiles: Record<string, ProfileRule[]> = {
  pump: [
    {
      name: 'Bearing temperature high',
      metric: 'temperature',
      condition: { kind: 'above', threshold: 85 },
      severity: 'major',
      forSeconds: 10,
      clear: { threshold: 80 },
      escalation: { severity: 'critical', afterSeconds: 300 },
    },
    {
      name: 'Vibration high',
      metric: 'vibration',
      condition: { kind: 'above', threshold: 7.1 },
      severity: 'warning',
      forSeconds: 30,
      clear: { threshold: 6.5 },
      escalation: { severity: 'major', afterSeconds: 600 },
    },
    {
      name: 'Discharge pressure out of range',
      metric: 'pressure',
      condition: { kind: 'outside', low: 1, high: 12 },
      severity: 'major',
      forSeconds: 15,
      clear: { low: 1.5, high: 11 },
    },
    {
      name: 'No data',
      metric: 'temperature',
      condition: { kind: 'no_data', seconds: 300 },
      severity: 'warning',
    },
  ],
  compressor: [
    {
      name: 'Discharge temperature high',
      metric: 'temperature',
      condition: { kind: 'above', threshold: 110 },
      severity: 'major',
      forSeconds: 10,
      clear: { threshold: 100 },
      escalation: { severity: 'critical', afterSeconds: 300 },
    },
    {
      name: 'Discharge pressure high',
      metric: 'pressure',
      condition: { kind: 'above', threshold: 10 },
      severity: 'critical',
      forSeconds: 5,
      clear: { threshold: 9.5 },
    },
    {
      name: 'Vibration high',
      metric: 'vibration',
      condition: { kind: 'above', threshold: 11 },
      severity: 'warning',
      forSeconds: 30,
      clear: { threshold: 10 },
    },
  ],
  motor: [
    {
      name: 'Winding temperature high',
      metric: 'temperature',
      condition: { kind: 'above', threshold: 130 },
      severity: 'major',
      forSeconds: 30,
      clear: { threshold: 120 },
      escalation: { severity: 'critical', afterSeconds: 300 },
    },
    {
      name: 'Current spike',
      metric: 'current',
      condition: { kind: 'rate_above', perSecond: 50 },
      severity: 'warning',
      keepFiringSeconds: 60,
    },
  ],
  chiller: [
    {
      name: 'Supply water temperature out of range',
      metric: 'temperature',
      condition: { kind: 'outside', low: 4, high: 10 },
      severity: 'major',
      forSeconds: 60,
      clear: { low: 4.5, high: 9 },
    },
    {
      name: 'Refrigerant pressure low',
      metric: 'pressure',
      condition: { kind: 'below', threshold: 2 },
      severity: 'critical',
      forSeconds: 30,
      clear: { threshold: 2.5 },
    },
  ],
};

/**
 * The profiles in use: the defaults, replaced type by type by the JSON file at `path`
 * (`ALERT_PROFILES_FILE`: `{ "pump": [ {name, metric, condition, severity, …} ] }`).
 */
export async function loadProfiles(path: string | undefined): Promise<Record<string, ProfileRule[]>> {
  if (!path) return defaultProfiles;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`ALERT_PROFILES_FILE ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`ALERT_PROFILES_FILE ${path}: must be a JSON object of asset type → list of rules`);
  }
  for (const [type, rules] of Object.entries(parsed)) {
    if (!Array.isArray(rules))
      throw new Error(`ALERT_PROFILES_FILE ${path}: ${type} must be a list of rules`);
    rules.forEach((rule, i) => {
      const error = Value.Errors(CreateRuleBody, { ...rule, assetType: type }).First();
      if (error) throw new Error(`ALERT_PROFILES_FILE ${path}: ${type}[${i}]${error.path}: ${error.message}`);
    });
  }
  return { ...defaultProfiles, ...(parsed as Record<string, ProfileRule[]>) };
}
