-- The resolved NPM dependency tree of the runtime (JSON of npm::Lockfile); NULL: none installed.
ALTER TABLE runtimes ADD COLUMN lockfile TEXT;
