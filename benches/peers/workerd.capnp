# workerd's configuration for benches/peers.sh: one worker on one socket
# (the port is given with --socket-addr http=127.0.0.1:PORT).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8090", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker", esModule = embed "workerd-worker.mjs"),
    (name = "handler.js", esModule = embed "handler.js"),
  ],
  compatibilityDate = "2025-01-01",
);
