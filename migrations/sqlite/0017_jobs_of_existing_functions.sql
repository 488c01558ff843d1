-- An event accepted for a function deleted meanwhile is refused, as when
-- its first attempt's row (which references the function) came with it.
-- A constraint error, so that the writer stores that round's other events
-- one at a time and refuses only this one.
CREATE TRIGGER jobs_of_existing_functions BEFORE INSERT ON jobs
WHEN NOT EXISTS (SELECT 1 FROM functions WHERE id = NEW.function_id)
BEGIN
    SELECT RAISE(ABORT, 'the event''s function no longer exists');
END;
