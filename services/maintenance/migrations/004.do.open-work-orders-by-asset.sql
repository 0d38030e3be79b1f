-- The open work orders of one asset (the gateway's asset overview asks for them on every view):
-- without this index the list reads every work order the asset ever had — its closed history grows
-- with every plan occurrence and alert — and filters out all but the few open ones. Partial, so it
-- holds only the open ones and costs nothing for the history. The list query filters by
-- `status = ANY($1)`; the planner uses this index whenever the statuses asked for are open ones.
CREATE INDEX work_orders_open_by_asset_idx ON work_orders (asset_id, id)
  WHERE status IN ('open', 'assigned', 'in_progress', 'on_hold');
