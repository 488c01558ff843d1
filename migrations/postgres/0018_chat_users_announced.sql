-- Each write of a chat user is announced to every host sharing the store
-- (`users:<application id>` on chatfn's change channel), so that a host
-- keeping users by name for the login path drops its copy. In the
-- writing transaction, so it is heard at its commit and never lost to a
-- host crashing between the write and an announcement of its own;
-- PostgreSQL sends one per application per transaction, however many
-- rows (an application deleted with all its users).
CREATE FUNCTION chat_users_announced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('chatfn_changes', 'users:' || OLD.application_id);
    ELSE
        PERFORM pg_notify('chatfn_changes', 'users:' || NEW.application_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER chat_users_announced AFTER INSERT OR UPDATE OR DELETE ON chat_users
FOR EACH ROW EXECUTE FUNCTION chat_users_announced();
