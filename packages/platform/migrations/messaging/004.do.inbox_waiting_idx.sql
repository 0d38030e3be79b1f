-- Per-subject ordering only needs the pending rows that wait for a retry (they have a retry time);
-- an index of just those stays tiny, where one of every pending row grew with the backlog and tempted
-- the planner into probing all of them for each candidate row of a claim.
DROP INDEX IF EXISTS inbox_pending_subject_idx;
CREATE INDEX inbox_waiting_idx ON inbox (consumer, subject, seq)
  WHERE status = 'pending' AND next_attempt_at IS NOT NULL;
