-- An event accepted for a function deleted meanwhile is refused, as when
-- its first attempt's row (which references the function) came with it.
-- A constraint error, so that the writer stores that round's other events
-- one at a time and refuses only this one. Not a foreign key: one would
-- refuse to delete a function with jobs, or delete them while they run.
-- (The SQLite writer, its store's one writer, checks each round's
-- functions itself instead.)
CREATE FUNCTION jobs_of_existing_functions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM functions WHERE id = NEW.function_id) THEN
        RAISE EXCEPTION 'the event''s function no longer exists' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_of_existing_functions BEFORE INSERT ON jobs
FOR EACH ROW EXECUTE FUNCTION jobs_of_existing_functions();
