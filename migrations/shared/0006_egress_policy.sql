-- What a function's fetch may reach (JSON of engine::EgressPolicy); NULL: nothing.
ALTER TABLE applications ADD COLUMN egress_policy TEXT;
