import type { AccessControl } from './access.control.js';
import type { DeviceScope } from './access.roles.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TELEMETRY_TOPIC = /^assetops\/([^/]+)\/telemetry$/;

/**
 * A device logged in over MQTT: what it may publish for. The secret is kept (in this process's
 * memory only) so each publish can re-verify it: a revoked token stops publishing within the
 * verification cache time, without waiting for the device to reconnect.
 */
export interface MqttDeviceSession {
  tokenId: string | null;
  scope: DeviceScope;
  secret: string;
}

/** Login outcome: a session, or why not. */
export type MqttLogin = { ok: true; session: MqttDeviceSession } | { ok: false; reason: string };

/**
 * The asset a telemetry topic is for, or `undefined` when the topic is not `assetops/<uuid>/telemetry`.
 *
 * @example
 * telemetryTopicAsset('assetops/0190a000-0000-7000-8000-000000000001/telemetry'); // '0190a000-…'
 */
export function telemetryTopicAsset(topic: string): string | undefined {
  const assetId = TELEMETRY_TOPIC.exec(topic)?.[1];
  return assetId !== undefined && UUID.test(assetId) ? assetId.toLowerCase() : undefined;
}

/** Whether a device scope covers an asset. */
export function scopeCovers(scope: DeviceScope, assetId: string): boolean {
  return scope.kind === 'fleet' || scope.assetId.toLowerCase() === assetId.toLowerCase();
}

/**
 * Whether a session may publish to `topic`: only `assetops/<assetId>/telemetry` of an asset in its
 * scope. Subscribing is never allowed to devices.
 */
export function mayPublishTopic(scope: DeviceScope, topic: string): boolean {
  const assetId = telemetryTopicAsset(topic);
  return assetId !== undefined && scopeCovers(scope, assetId);
}

/**
 * Checks an MQTT login: the password is a token that may send readings — a device token (its
 * scope), or an operator's or admin's token (the whole fleet). The user name is free, except that
 * an asset id as user name must be in the token's scope (and then the session is limited to that
 * asset: Mosquitto's ACL check sees only the user name, see {@link mosquittoAclAllows}).
 *
 * @example
 * const login = await mqttLogin(access, '0190…', 'aot_…');
 * if (login.ok) mayPublishTopic(login.session.scope, 'assetops/0190…/telemetry'); // true
 */
export async function mqttLogin(
  access: AccessControl,
  username: string | undefined,
  password: string | undefined,
): Promise<MqttLogin> {
  if (!password) return { ok: false, reason: 'a device token is required as the password' };
  const verification = await access.verify(password);
  if (!verification.ok) return { ok: false, reason: verification.message };
  const { principal } = verification;
  let scope: DeviceScope;
  if (principal.role === 'device' && principal.deviceScope) scope = principal.deviceScope;
  else if (principal.role === 'operator' || principal.role === 'admin') scope = { kind: 'fleet' };
  else return { ok: false, reason: `the ${principal.role} role may not send readings` };
  if (username !== undefined && UUID.test(username)) {
    if (!scopeCovers(scope, username)) {
      return { ok: false, reason: `the token may not send readings for asset ${username}` };
    }
    scope = { kind: 'asset', assetId: username.toLowerCase() };
  }
  return { ok: true, session: { tokenId: principal.tokenId, scope, secret: password } };
}

/**
 * Re-checks a session's token, then the topic: the per-publish check of the embedded broker.
 *
 * @example
 * if (!(await mqttMayPublish(access, session, packet.topic))) refuse();
 */
export async function mqttMayPublish(
  access: AccessControl,
  session: MqttDeviceSession,
  topic: string,
): Promise<boolean> {
  if (!mayPublishTopic(session.scope, topic)) return false;
  const verification = await access.verify(session.secret);
  return verification.ok;
}

/** MQTT access kinds as mosquitto-go-auth sends them (`acc`): 1 read, 2 write, 3 both, 4 subscribe. */
export const MOSQUITTO_ACC_WRITE = 2;

/**
 * The ACL decision for Mosquitto (mosquitto-go-auth HTTP backend), which sends the user name but not
 * the password: a device logged in with its asset id as user name (checked against its token at
 * login, {@link mqttLogin}) may write to that asset's telemetry topic, and do nothing else.
 *
 * @example
 * mosquittoAclAllows('0190…', 'assetops/0190…/telemetry', 2); // true
 */
export function mosquittoAclAllows(username: string, topic: string, acc: number): boolean {
  if (acc !== MOSQUITTO_ACC_WRITE || !UUID.test(username)) return false;
  return telemetryTopicAsset(topic) === username.toLowerCase();
}

/** Whether a user name is an asset id (Mosquitto logins need one; see {@link mosquittoAclAllows}). */
export function isAssetIdUsername(username: string | undefined): boolean {
  return username !== undefined && UUID.test(username);
}
