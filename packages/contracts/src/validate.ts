import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import './formats.js';
import { type EventDefinition, type EventEnvelope, EventEnvelopeSchema } from './envelope.js';
import { alertEvents } from './events/alert.events.js';
import { assetEvents } from './events/asset.events.js';
import { maintenanceEvents } from './events/maintenance.events.js';
import { telemetryEvents } from './events/telemetry.events.js';

/** One reason a value did not match its schema: the JSON pointer of the field and the message. */
export interface SchemaIssue {
  path: string;
  message: string;
}

/** Thrown (or returned) when an event does not match the envelope or its type's data schema. */
export class EventValidationError extends Error {
  readonly code = 'EVENT_INVALID';
  constructor(
    readonly eventType: string | undefined,
    readonly issues: SchemaIssue[],
  ) {
    super(
      `event ${eventType ?? '(no type)'} is invalid: ${issues.map((i) => `${i.path || '/'} ${i.message}`).join('; ')}`,
    );
    this.name = 'EventValidationError';
  }
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checker(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/**
 * Checks a value against a TypeBox schema and lists every mismatch (empty when valid).
 *
 * @example
 * schemaIssues(AssetRegistered.data, payload); // [{ path: '/name', message: 'Expected string' }]
 */
export function schemaIssues(schema: TSchema, value: unknown): SchemaIssue[] {
  const check = checker(schema);
  if (check.Check(value)) return [];
  return [...check.Errors(value)].slice(0, 20).map((e) => ({ path: e.path, message: e.message }));
}

const catalog = new Map<string, EventDefinition>();

/** Adds event definitions to the catalog used by {@link validateEvent}. Later issues register theirs. */
export function registerEvents(defs: readonly EventDefinition[]): void {
  for (const def of defs) {
    const existing = catalog.get(def.type);
    if (existing && existing !== def) throw new Error(`event type ${def.type} is defined twice`);
    catalog.set(def.type, def);
  }
}
registerEvents(assetEvents);
registerEvents(telemetryEvents);
registerEvents(alertEvents);
registerEvents(maintenanceEvents);

/** The definition registered for a CloudEvents `type`, if any. */
export function eventDefinition(type: string): EventDefinition | undefined {
  return catalog.get(type);
}

/**
 * Validates an envelope and, when its type is in the catalog, its data. Unknown types pass the
 * envelope check only: a consumer ignores types it has no handler for, and producers validate with
 * the definition they publish.
 *
 * @example
 * const event = validateEvent(JSON.parse(message)); // throws EventValidationError
 */
export function validateEvent(value: unknown): EventEnvelope {
  const envelopeIssues = schemaIssues(EventEnvelopeSchema, value);
  const type = (value as { type?: unknown } | null)?.type;
  const typeName = typeof type === 'string' ? type : undefined;
  if (envelopeIssues.length > 0) throw new EventValidationError(typeName, envelopeIssues);
  const event = value as EventEnvelope;
  const def = catalog.get(event.type);
  if (def) {
    const dataIssues = schemaIssues(def.data, event.data).map((i) => ({ ...i, path: `/data${i.path}` }));
    if (dataIssues.length > 0) throw new EventValidationError(event.type, dataIssues);
    if (def.source !== event.source) {
      throw new EventValidationError(event.type, [
        { path: '/source', message: `expected ${def.source} for ${event.type}` },
      ]);
    }
  }
  return event;
}
