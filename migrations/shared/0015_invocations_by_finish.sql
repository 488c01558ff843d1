-- The live tail of a function's log reads the invocations that finished
-- after a point, in the order they finished.
CREATE INDEX invocations_by_function_finished ON invocations(function_id, finished_at);
