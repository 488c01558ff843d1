// Node's http server with the handler in process: parse the event, run the
// handler, answer ChatKitty's {payload} shape.
import http from "node:http";
import { handleEvent } from "./handler.js";

const port = Number(process.argv[2]);
http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => (body += chunk));
  req.on("end", async () => {
    const payload = await handleEvent(JSON.parse(body));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "SUCCEEDED", result: { payload } }));
  });
}).listen(port, "127.0.0.1");
