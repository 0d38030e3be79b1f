import {
  AddWorkOrderNoteBody,
  AssignWorkOrderBody,
  CancelWorkOrderBody,
  CompleteWorkOrderBody,
  CreateWorkOrderBody,
  HoldWorkOrderBody,
  ListWorkOrdersQuery,
  ProblemSchema,
  type WorkOrder,
  WorkOrderPageSchema,
  WorkOrderSchema,
} from '@assetops/contracts';
import {
  type CommandMeta,
  ConflictError,
  commandMeta,
  type HttpApp,
  NotFoundError,
  type Pool,
  type PoolClient,
  ValidationError,
  withTransaction,
} from '@assetops/platform';
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireMaintainableAsset } from '../assets/known-assets.js';
import {
  applyCommand,
  assignOrExplain,
  assignWorkOrder,
  lockWorkOrder,
  openWorkOrder,
  type WorkOrderDeps,
} from './work-order.commands.js';
import type { WorkOrderCommand, WorkOrderState } from './work-order.decide.js';
import { parseStatuses } from './work-order.filter.js';
import { findWorkOrder, listWorkOrders } from './work-order.store.js';

export interface WorkOrderRouteDeps extends WorkOrderDeps {
  pool: Pool;
}

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const errors = { 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema };
const tags = ['work-orders'];

/**
 * The work orders API: open (manual), list with filters, read with notes and history, and move a
 * work order through its status machine (an illegal move is a 409 WORK_ORDER_ILLEGAL_TRANSITION).
 * Every change is one transaction with its events in the outbox; `If-Match` is honoured on changes.
 */
export function registerWorkOrderRoutes(app: HttpApp, deps: WorkOrderRouteDeps): void {
  app.post(
    '/api/v1/work-orders',
    {
      schema: {
        tags,
        summary:
          'Open a work order for an asset (due after its priority’s SLA); assign it with assigneeId or autoAssign',
        body: CreateWorkOrderBody,
        response: { 201: WorkOrderSchema, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.assigneeId !== undefined && body.autoAssign === true) {
        throw new ValidationError('ASSIGNMENT_AMBIGUOUS', 'give assigneeId or autoAssign, not both', [
          { path: '/body/autoAssign', message: 'not allowed together with assigneeId' },
        ]);
      }
      const meta = commandMeta(request);
      const workOrder = await withTransaction(deps.pool, async (tx) => {
        await requireMaintainableAsset(tx, body.assetId);
        let created = await openWorkOrder(
          tx,
          deps,
          {
            assetId: body.assetId,
            title: body.title,
            description: body.description ?? null,
            priority: body.priority,
            source: 'manual',
            sourceRef: null,
            requiredSkill: body.requiredSkill ?? null,
          },
          meta,
        );
        // A manual work order has no source_ref, so it is never a duplicate.
        if (!created) throw new ConflictError('WORK_ORDER_ALREADY_EXISTS', 'the work order exists already');
        if (body.assigneeId !== undefined) {
          created = (await assignWorkOrder(tx, deps, created, body.assigneeId, meta)).state;
        } else if (body.autoAssign === true) {
          created = await assignOrExplain(tx, deps, created, meta);
        }
        return (await findWorkOrder(tx, created.id))!;
      });
      return withEtag(reply, workOrder)
        .code(201)
        .header('location', `/api/v1/work-orders/${workOrder.id}`)
        .send(workOrder);
    },
  );

  app.get(
    '/api/v1/work-orders',
    {
      schema: {
        tags,
        summary:
          'List work orders, newest first (filter by status — one or several —, asset, priority, assignee, source)',
        description:
          'Several statuses are given comma-separated or by repeating the parameter ' +
          '(`status=open,assigned,in_progress,on_hold`: the open work orders). An unknown status is a 400 INVALID_STATUS.',
        querystring: ListWorkOrdersQuery,
        response: { 200: WorkOrderPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => {
      const { status, limit, ...filter } = request.query;
      return listWorkOrders(deps.pool, { ...filter, statuses: parseStatuses(status), limit: limit ?? 50 });
    },
  );

  app.get(
    '/api/v1/work-orders/:id',
    {
      schema: {
        tags,
        summary: 'Get a work order with its notes and status history',
        params: IdParams,
        response: { 200: WorkOrderSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const workOrder = await findWorkOrder(deps.pool, request.params.id);
      if (!workOrder) {
        throw new NotFoundError('WORK_ORDER_NOT_FOUND', `work order ${request.params.id} does not exist`);
      }
      return withEtag(reply, workOrder).send(workOrder);
    },
  );

  /** One transaction on one locked work order; answers the work order as it is afterwards. */
  const change = async (
    request: FastifyRequest,
    workOrderId: string,
    reply: FastifyReply,
    run: (tx: PoolClient, current: WorkOrderState, meta: CommandMeta) => Promise<unknown>,
  ) => {
    const meta = commandMeta(request);
    const workOrder = await withTransaction(deps.pool, async (tx) => {
      const current = await lockWorkOrder(tx, workOrderId, meta.expectedVersion);
      await run(tx, current, meta);
      return (await findWorkOrder(tx, current.id))!;
    });
    return withEtag(reply, workOrder).send(workOrder);
  };
  const transition = (
    request: FastifyRequest,
    workOrderId: string,
    reply: FastifyReply,
    command: WorkOrderCommand,
  ) =>
    change(request, workOrderId, reply, (tx, current, meta) =>
      applyCommand(tx, deps, current, command, meta),
    );
  const route = (summary: string) => ({
    tags,
    summary: `${summary}; an illegal move is a 409 WORK_ORDER_ILLEGAL_TRANSITION`,
    params: IdParams,
    response: { 200: WorkOrderSchema, ...errors },
  });

  app.post(
    '/api/v1/work-orders/:id/assign',
    {
      schema: {
        ...route(
          'Assign to a technician (a manual override of skill, shift and availability), or — without technicianId — to the best fit: skill, on shift, fewest open work orders (409 NO_TECHNICIAN_AVAILABLE when nobody fits)',
        ),
        body: optionalBody(AssignWorkOrderBody),
      },
    },
    async (request, reply) =>
      change(request, request.params.id, reply, async (tx, current, meta) => {
        const outcome = await assignWorkOrder(tx, deps, current, request.body?.technicianId, meta);
        if (!outcome.assigned) {
          throw new ConflictError('NO_TECHNICIAN_AVAILABLE', outcome.reason, {
            requiredSkill: current.requiredSkill,
          });
        }
      }),
  );

  app.post(
    '/api/v1/work-orders/:id/start',
    { schema: route('Start the work (assigned → in_progress)') },
    async (request, reply) => transition(request, request.params.id, reply, { kind: 'StartWork' }),
  );

  app.post(
    '/api/v1/work-orders/:id/hold',
    {
      schema: {
        ...route('Put the work on hold (in_progress → on_hold), with an optional reason'),
        body: optionalBody(HoldWorkOrderBody),
      },
    },
    async (request, reply) =>
      transition(request, request.params.id, reply, {
        kind: 'HoldWork',
        reason: request.body?.reason ?? null,
      }),
  );

  app.post(
    '/api/v1/work-orders/:id/resume',
    { schema: route('Resume the work (on_hold → in_progress)') },
    async (request, reply) => transition(request, request.params.id, reply, { kind: 'ResumeWork' }),
  );

  app.post(
    '/api/v1/work-orders/:id/complete',
    {
      schema: {
        ...route('Complete the work (in_progress → completed), with an optional closing note'),
        body: optionalBody(CompleteWorkOrderBody),
      },
    },
    async (request, reply) =>
      transition(request, request.params.id, reply, {
        kind: 'CompleteWork',
        note: request.body?.note ?? null,
        author: request.body?.author ?? null,
      }),
  );

  app.post(
    '/api/v1/work-orders/:id/cancel',
    {
      schema: {
        ...route('Cancel a work order that is not over, saying why'),
        body: CancelWorkOrderBody,
      },
    },
    async (request, reply) =>
      transition(request, request.params.id, reply, { kind: 'CancelWorkOrder', reason: request.body.reason }),
  );

  app.post(
    '/api/v1/work-orders/:id/notes',
    {
      schema: {
        tags,
        summary: 'Add a note to a work order (in any status)',
        params: IdParams,
        body: AddWorkOrderNoteBody,
        response: { 201: WorkOrderSchema, ...errors },
      },
    },
    async (request, reply) =>
      transition(request, request.params.id, reply.code(201), {
        kind: 'AddNote',
        text: request.body.text,
        author: request.body.author ?? null,
        key: null,
      }),
  );
}

/** A body that may be left out altogether (`POST …/hold` with nothing to say). */
function optionalBody<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

function withEtag(reply: FastifyReply, workOrder: WorkOrder): FastifyReply {
  return reply.header('etag', `"${workOrder.version}"`);
}
