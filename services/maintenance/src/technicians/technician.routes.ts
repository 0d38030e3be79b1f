import {
  CreateTechnicianBody,
  ListTechniciansQuery,
  ProblemSchema,
  type Technician,
  TechnicianPageSchema,
  TechnicianSchema,
  UpdateTechnicianBody,
} from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { addTechnician, changeTechnician, type TechnicianDeps } from './technician.commands.js';
import { findTechnician, listTechnicians } from './technician.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const errors = { 400: ProblemSchema, 404: ProblemSchema, 412: ProblemSchema };
const tags = ['technicians'];

/**
 * The technicians API: add, list, read and change technicians (skills, shifts, availability), and
 * deactivate one who left (or reactivate them). Technicians are never deleted: work orders keep
 * pointing at who did them.
 */
export function registerTechnicianRoutes(app: HttpApp, deps: TechnicianDeps): void {
  app.post(
    '/api/v1/technicians',
    {
      schema: {
        tags,
        summary: 'Add a technician (active; available unless said otherwise; no shifts: on call at any time)',
        body: CreateTechnicianBody,
        response: { 201: TechnicianSchema, 400: ProblemSchema },
      },
    },
    async (request, reply) => {
      const technician = await addTechnician(deps, request.body);
      return withEtag(reply, technician)
        .code(201)
        .header('location', `/api/v1/technicians/${technician.id}`)
        .send(technician);
    },
  );

  app.get(
    '/api/v1/technicians',
    {
      schema: {
        tags,
        summary: 'List technicians (active ones unless active=false; filter by skill, availability)',
        querystring: ListTechniciansQuery,
        response: { 200: TechnicianPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listTechnicians(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/technicians/:id',
    {
      schema: {
        tags,
        summary: 'Get a technician, with their open work orders count',
        params: IdParams,
        response: { 200: TechnicianSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const technician = await findTechnician(deps.pool, request.params.id);
      if (!technician) {
        throw new NotFoundError('TECHNICIAN_NOT_FOUND', `technician ${request.params.id} does not exist`);
      }
      return withEtag(reply, technician).send(technician);
    },
  );

  app.patch(
    '/api/v1/technicians/:id',
    {
      schema: {
        tags,
        summary:
          'Change a technician’s name, skills, shifts or availability (If-Match: "<version>" optional)',
        params: IdParams,
        body: UpdateTechnicianBody,
        response: { 200: TechnicianSchema, ...errors },
      },
    },
    async (request, reply) => {
      const technician = await changeTechnician(
        deps,
        request.params.id,
        request.body,
        commandMeta(request).expectedVersion,
      );
      return withEtag(reply, technician).send(technician);
    },
  );

  for (const [action, active] of [
    ['deactivate', false],
    ['activate', true],
  ] as const) {
    app.post(
      `/api/v1/technicians/:id/${action}`,
      {
        schema: {
          tags,
          summary: active
            ? 'Reactivate a technician'
            : 'Deactivate a technician who left: never assigned again; their work orders stay with them until reassigned',
          params: IdParams,
          response: { 200: TechnicianSchema, ...errors },
        },
      },
      async (request, reply) => {
        const technician = await changeTechnician(
          deps,
          request.params.id,
          { active },
          commandMeta(request).expectedVersion,
        );
        return withEtag(reply, technician).send(technician);
      },
    );
  }
}

function withEtag(reply: FastifyReply, technician: Technician): FastifyReply {
  return reply.header('etag', `"${technician.version}"`);
}
