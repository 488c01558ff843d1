// The client half of node:http and node:https over the host's outbound
// request op, the one `fetch` uses: the same egress policy (allow-list,
// no DNS rebinding into private addresses), per-invocation budget, time
// limit and answer cap. Redirects are not followed (as in Node); the body
// is sent and received whole.
"use strict";

const { op_chatfn_fetch } = internal.ops;
const { Writable, Readable } = require("stream");
const EventEmitter = require("events");

const METHODS = [
  "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
  "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK",
  "UNLOCK", "UNSUBSCRIBE",
];
const STATUS_CODES = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints", 200: "OK", 201: "Created",
  202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content",
  206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used", 300: "Multiple Choices",
  301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 305: "Use Proxy",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
  402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
  407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large", 414: "URI Too Long",
  415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm a Teapot",
  421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
  425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
  505: "HTTP Version Not Supported", 506: "Variant Also Negotiates", 507: "Insufficient Storage",
  508: "Loop Detected", 509: "Bandwidth Limit Exceeded", 510: "Not Extended", 511: "Network Authentication Required",
};

function codedError(message, code, Kind = Error) {
  const error = new Kind(message);
  error.code = code;
  return error;
}
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
function validateHeaderName(name) {
  if (typeof name !== "string" || !name || !TOKEN.test(name)) {
    throw codedError(`Header name must be a valid HTTP token ["${name}"]`, "ERR_INVALID_HTTP_TOKEN", TypeError);
  }
}
function validateHeaderValue(name, value) {
  if (value === undefined) throw codedError(`Invalid value "${value}" for header "${name}"`, "ERR_HTTP_INVALID_HEADER_VALUE", TypeError);
  if (/[^\t\x20-\x7e\x80-\xff]/.test(String(value))) throw codedError(`Invalid character in header content ["${name}"]`, "ERR_INVALID_CHAR", TypeError);
}

class Agent extends EventEmitter {
  constructor(options = {}) {
    super();
    this.options = { path: null, ...options };
    this.keepAlive = Boolean(options.keepAlive);
    this.maxSockets = options.maxSockets ?? Infinity;
    this.maxFreeSockets = options.maxFreeSockets ?? 256;
    this.defaultPort = options.defaultPort ?? 80;
    this.protocol = options.protocol ?? "http:";
    this.requests = Object.create(null);
    this.sockets = Object.create(null);
    this.freeSockets = Object.create(null);
  }
  destroy() {}
  getName(options = {}) {
    return `${options.host ?? "localhost"}:${options.port ?? ""}:${options.localAddress ?? ""}`;
  }
}

/** The socket a request reports: enough for what packages call on it. */
class FakeSocket extends EventEmitter {
  constructor(request) {
    super();
    this.remoteAddress = undefined;
    this.remotePort = undefined;
    this.encrypted = request.protocol === "https:";
    this.authorized = this.encrypted;
    this.connecting = false;
    this.readable = true;
    this.writable = true;
    this.destroyed = false;
  }
  setKeepAlive() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setTimeout(ms, callback) {
    if (callback) this.once("timeout", callback);
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  address() {
    return {};
  }
  getPeerCertificate() {
    return {};
  }
  destroy() {
    this.destroyed = true;
    return this;
  }
  end() {
    return this;
  }
}

class IncomingMessage extends Readable {
  constructor(socket) {
    super();
    this.socket = this.connection = socket;
    this.httpVersion = "1.1";
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.headers = {};
    this.headersDistinct = {};
    this.rawHeaders = [];
    this.trailers = {};
    this.rawTrailers = [];
    this.complete = false;
    this.aborted = false;
    this.url = "";
    this.method = null;
    this.statusCode = null;
    this.statusMessage = null;
  }
  _read() {}
  setTimeout(ms, callback) {
    if (callback) this.once("timeout", callback);
    return this;
  }
}

class OutgoingMessage extends Writable {}

function headerObject(pairs) {
  const headers = {};
  const distinct = {};
  const raw = [];
  for (const [name, value] of pairs) {
    raw.push(name, value);
    const key = name.toLowerCase();
    (distinct[key] ??= []).push(value);
    if (key === "set-cookie") (headers[key] ??= []).push(value);
    else if (headers[key] === undefined) headers[key] = value;
    else if (!/^(content-type|content-length|user-agent|referer|host|authorization|proxy-authorization|if-modified-since|if-unmodified-since|from|location|max-forwards|retry-after|etag|last-modified|server|age|expires)$/.test(key)) {
      headers[key] += `, ${value}`;
    }
  }
  return { headers, distinct, raw };
}

class ClientRequest extends Writable {
  #headers = new Map();
  #chunks = [];
  #sent = false;
  #done = false;
  #timer = null;
  constructor(protocol, input, options, callback) {
    // Not destroyed at 'finish': the answer comes after the body is sent.
    super({ autoDestroy: false, emitClose: false });
    if (typeof options === "function") [callback, options] = [options, undefined];
    let target = {};
    if (typeof input === "string" || input instanceof URL) {
      const url = new URL(String(input));
      target = {
        protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ""), port: url.port,
        path: url.pathname + url.search, auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
      };
      target = { ...target, ...(options ?? {}) };
    } else {
      target = { ...(input ?? {}), ...(options ?? {}) };
    }
    this.protocol = target.protocol ?? target.agent?.protocol ?? protocol;
    if (this.protocol !== protocol) {
      throw codedError(`Protocol "${this.protocol}" not supported. Expected "${protocol}"`, "ERR_INVALID_PROTOCOL", TypeError);
    }
    this.method = String(target.method ?? "GET").toUpperCase();
    if (!TOKEN.test(this.method)) throw codedError(`Method must be a valid HTTP token ["${target.method}"]`, "ERR_INVALID_HTTP_TOKEN", TypeError);
    this.host = target.hostname ?? (target.host ? String(target.host).replace(/:\d+$/, "") : "localhost");
    this.port = target.port ? Number(target.port) : target.defaultPort ?? target.agent?.defaultPort ?? (protocol === "https:" ? 443 : 80);
    this.path = target.path ?? "/";
    if (/[\u0000-\u0020]/.test(this.path)) throw codedError("Request path contains unescaped characters", "ERR_UNESCAPED_CHARACTERS", TypeError);
    this.agent = target.agent;
    this.timeout = target.timeout;
    this.reusedSocket = false;
    this.maxHeadersCount = null;
    this.aborted = false;
    this.finished = false;
    this.socket = this.connection = new FakeSocket(this);
    const headers = target.headers ?? {};
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1]);
    } else {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) this.setHeader(name, value);
    }
    if (target.auth && !this.hasHeader("authorization")) {
      this.setHeader("Authorization", `Basic ${Buffer.from(target.auth).toString("base64")}`);
    }
    if (callback) this.once("response", callback);
    if (target.signal) {
      const onAbort = () => this.destroy(Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" }));
      if (target.signal.aborted) process.nextTick(onAbort);
      else target.signal.addEventListener("abort", onAbort, { once: true });
    }
    if (typeof this.timeout === "number") this.setTimeout(this.timeout);
    process.nextTick(() => this.emit("socket", this.socket));
  }
  setHeader(name, value) {
    if (this.#sent) throw codedError("Cannot set headers after they are sent to the client", "ERR_HTTP_HEADERS_SENT");
    validateHeaderName(name);
    validateHeaderValue(name, value);
    this.#headers.set(String(name).toLowerCase(), [String(name), value]);
    return this;
  }
  appendHeader(name, value) {
    const existing = this.getHeader(name);
    return this.setHeader(name, existing === undefined ? value : [].concat(existing, value));
  }
  getHeader(name) {
    return this.#headers.get(String(name).toLowerCase())?.[1];
  }
  hasHeader(name) {
    return this.#headers.has(String(name).toLowerCase());
  }
  removeHeader(name) {
    if (this.#sent) throw codedError("Cannot remove headers after they are sent to the client", "ERR_HTTP_HEADERS_SENT");
    this.#headers.delete(String(name).toLowerCase());
  }
  getHeaders() {
    const out = Object.create(null);
    for (const [key, [, value]] of this.#headers) out[key] = value;
    return out;
  }
  getHeaderNames() {
    return [...this.#headers.keys()];
  }
  getRawHeaderNames() {
    return [...this.#headers.values()].map(([name]) => name);
  }
  get headersSent() {
    return this.#sent;
  }
  flushHeaders() {}
  setNoDelay() {}
  setSocketKeepAlive() {}
  setTimeout(ms, callback) {
    if (callback) this.once("timeout", callback);
    clearTimeout(this.#timer);
    if (ms > 0) {
      this.#timer = setTimeout(() => {
        if (!this.#done) {
          this.emit("timeout");
          this.socket.emit("timeout");
        }
      }, ms);
    }
    return this;
  }
  abort() {
    if (this.aborted) return;
    this.aborted = true;
    process.nextTick(() => this.emit("abort"));
    this.destroy();
  }
  _write(chunk, encoding, callback) {
    this.#chunks.push(typeof chunk === "string" ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
    callback();
  }
  _final(callback) {
    this.finished = true;
    callback();
    this.#send();
  }
  _destroy(error, callback) {
    clearTimeout(this.#timer);
    if (!this.#done) {
      this.#done = true;
      if (!error && !this.aborted) error = codedError("socket hang up", "ECONNRESET");
      else if (!error) error = codedError("socket hang up", "ECONNRESET");
    }
    callback(this.aborted && error?.code === "ECONNRESET" && this.listenerCount("error") === 0 ? null : error);
  }
  async #send() {
    this.#sent = true;
    const body = this.#chunks.length ? Buffer.concat(this.#chunks) : null;
    const headers = [];
    for (const [, [name, value]] of this.#headers) {
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name.toLowerCase(), String(v)]);
    }
    const defaultPort = this.protocol === "https:" ? 443 : 80;
    const hostname = this.host.includes(":") ? `[${this.host}]` : this.host;
    const url = `${this.protocol}//${hostname}${this.port === defaultPort ? "" : `:${this.port}`}${this.path}`;
    let answer;
    try {
      const method = this.method;
      answer = await op_chatfn_fetch({ url, method, headers, redirect: "manual" }, body && method !== "GET" && method !== "HEAD" ? body : null);
    } catch (e) {
      if (this.#done) return;
      this.#done = true;
      clearTimeout(this.#timer);
      const error = e instanceof Error ? e : new Error(String(e));
      if (/time limit|timed out/i.test(error.message)) error.code ??= "ETIMEDOUT";
      else error.code ??= /denied/.test(error.message) ? "ERR_CHATFN_EGRESS_DENIED" : "ECONNREFUSED";
      this.destroy(error);
      return;
    }
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    const response = new IncomingMessage(this.socket);
    const { headers: object, distinct, raw } = headerObject(answer.headers);
    response.statusCode = answer.status;
    response.statusMessage = answer.statusText || STATUS_CODES[answer.status] || "";
    response.headers = object;
    response.headersDistinct = distinct;
    response.rawHeaders = raw;
    response.req = this;
    this.res = response;
    const hasListener = this.emit("response", response);
    const bytes = internal.host.counted(answer.body);
    if (bytes && bytes.byteLength && this.method !== "HEAD") response.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    response.complete = true;
    response.push(null);
    if (!hasListener) response.resume();
    response.once("end", () => {
      this.emit("close");
      response.emit("close");
    });
  }
}

function makeClient(protocol, defaultPort) {
  const globalAgent = new Agent({ defaultPort, protocol, keepAlive: true });
  function request(input, options, callback) {
    return new ClientRequest(protocol, input, options, callback);
  }
  function get(input, options, callback) {
    const req = request(input, options, callback);
    req.end();
    return req;
  }
  return { request, get, globalAgent };
}

module.exports = {
  METHODS, STATUS_CODES, Agent, ClientRequest, IncomingMessage, OutgoingMessage, makeClient, validateHeaderName,
  validateHeaderValue,
};
