import { type HttpApp, problem, sendProblem } from '@assetops/platform';
import type { FastifyReply } from 'fastify';
import type { AccessControl } from './access.control.js';
import { isAssetIdUsername, mosquittoAclAllows, mqttLogin } from './mqtt-auth.js';

/** The parameters mosquitto-go-auth's HTTP backend sends, as JSON or as a form. */
type AuthParams = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The broker authentication endpoints of the distributed runtime, in the shape of the
 * mosquitto-go-auth HTTP backend (`auth_opt_http_response_mode status`: 200 allows, 403 denies;
 * parameters as JSON or form):
 *
 * - `POST /internal/mqtt/user` (`username`, `password`): the password is a device token (or an
 *   operator's or admin's token) and the user name the asset id it sends for;
 * - `POST /internal/mqtt/acl` (`username`, `topic`, `acc`): write (`acc` 2) to
 *   `assetops/<username>/telemetry` only — go-auth sends no password here, which is why the user
 *   name must be the asset id;
 * - `POST /internal/mqtt/superuser`: always 403 (no device is a superuser).
 *
 * The service's own broker account (the telemetry subscriber) belongs in another go-auth backend
 * (files), tried first. These routes answer for tokens only: keep `/internal/` off the public
 * ingress.
 *
 * @example
 * await app.register(mqttAuthRoutes, { access });
 */
export async function mqttAuthRoutes(scope: HttpApp, opts: { access: AccessControl }): Promise<void> {
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  const hidden = { schema: { hide: true } } as const;
  const deny = (reply: FastifyReply, reason: string) =>
    sendProblem(reply, problem(403, 'MQTT_DENIED', reason));
  const allow = (reply: FastifyReply) => reply.code(200).send({ ok: true });

  scope.post('/internal/mqtt/user', hidden, async (request, reply) => {
    const params = (request.body ?? {}) as AuthParams;
    const username = text(params.username);
    if (!isAssetIdUsername(username)) {
      return deny(reply, 'the user name must be the asset id the device sends readings for');
    }
    const login = await mqttLogin(opts.access, username, text(params.password));
    return login.ok ? allow(reply) : deny(reply, login.reason);
  });

  scope.post('/internal/mqtt/acl', hidden, async (request, reply) => {
    const params = (request.body ?? {}) as AuthParams;
    const acc = Number(params.acc);
    return mosquittoAclAllows(text(params.username) ?? '', text(params.topic) ?? '', acc)
      ? allow(reply)
      : deny(reply, 'devices may only publish to assetops/<their asset id>/telemetry');
  });

  scope.post('/internal/mqtt/superuser', hidden, async (_request, reply) =>
    deny(reply, 'no device is a superuser'),
  );
}
