// Deno.serve with the handler in process.
import { handleEvent } from "./handler.js";

const port = Number(Deno.args[0]);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
  const payload = await handleEvent(await req.json());
  return Response.json({ status: "SUCCEEDED", result: { payload } });
});
