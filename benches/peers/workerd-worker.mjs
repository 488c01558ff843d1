// A workerd worker (one isolate) with the handler in it.
import { handleEvent } from "./handler.js";

export default {
  async fetch(req) {
    const payload = await handleEvent(await req.json());
    return Response.json({ status: "SUCCEEDED", result: { payload } });
  },
};
