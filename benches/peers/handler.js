// The handler every peer runs: the same as chatfn's benchmark function.
export async function handleEvent(event) {
  return { ok: true, user: event.username };
}
