// Context APIs: the pre-authenticated Platform API clients a handler gets
// from its context (`context.getUserApi()` ...), shaped like ChatKitty's
// server-side SDK (axios style: a promise of `{data, status, headers}`, a
// rejection carrying `response` for a non-2xx answer). Each method is one
// `op_chatfn_platform_request`; the host checks the path, counts the
// invocation's budget and scopes the call to the function's application.
// Runs after bootstrap.js while the startup snapshot is built.
"use strict";

((globalThis) => {
  const core = globalThis.Deno.core;
  const { op_chatfn_platform_request } = core.ops;
  const host = globalThis.__chatfnHost;
  const {
    ArrayPrototypeJoin,
    ArrayPrototypePush,
    JSONParse,
    JSONStringify,
    ObjectAssign,
    ObjectFreeze,
    ObjectKeys,
    String,
    encodeURIComponent,
  } = globalThis.__bootstrap.primordials;

  const STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
    415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
  };

  const id = (value) => encodeURIComponent(String(value));

  function queryString(params) {
    const parts = [];
    for (const key of ObjectKeys(params)) {
      const value = params[key];
      if (value === undefined || value === null) continue;
      ArrayPrototypePush(parts, `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
    return parts.length ? `?${ArrayPrototypeJoin(parts, "&")}` : "";
  }

  async function request(method, path, { query, body } = {}) {
    const url = path + (query ? queryString(query) : "");
    const payload = body === undefined ? "" : JSONStringify(body);
    const [status, text] = await op_chatfn_platform_request(method, url, payload);
    let data = text;
    if (text !== "") {
      try {
        data = JSONParse(text);
      } catch {
        // Not JSON: keep the text, as axios does.
      }
    }
    const config = { method: method.toLowerCase(), url };
    const response = {
      data,
      status,
      statusText: STATUS_TEXT[status] ?? "",
      headers: { "content-type": text === "" ? undefined : "application/json" },
      config,
    };
    if (status >= 200 && status < 300) return response;
    const error = new Error(`Request failed with status code ${status}`);
    error.name = "AxiosError";
    error.code = status >= 500 ? "ERR_BAD_RESPONSE" : "ERR_BAD_REQUEST";
    error.isAxiosError = true;
    error.status = status;
    error.config = config;
    error.response = response;
    error.toJSON = () => ({ name: error.name, message: error.message, code: error.code, status });
    throw error;
  }

  // Method names follow ChatKitty's server-side SDK used in chat functions
  // (`getUserExists`, `createChannelMember`, ...); the newer SDK's names
  // (`checkUserExists`, `addChannelMember`, ...) are aliases.
  function userApi() {
    const api = {
      createUser: (user) => request("POST", "/v1/users", { body: user }),
      getUserExists: (name) => request("HEAD", "/v1/users", { query: { name } }),
      getUser: (userId) => request("GET", `/v1/users/${id(userId)}`),
      getUsers: (page, size, name) => request("GET", "/v1/users", { query: { page, size, name } }),
      updateUser: (userId, patch) => request("PATCH", `/v1/users/${id(userId)}`, { body: patch ?? {} }),
      deleteUser: (userId) => request("DELETE", `/v1/users/${id(userId)}`),
    };
    return ObjectFreeze(ObjectAssign(api, {
      checkUserExists: api.getUserExists,
      retrieveUser: api.getUser,
      retrieveUsers: (page, size, sort, name) => request("GET", "/v1/users", { query: { page, size, sort, name } }),
      listUserNotifications: (userId, size, start, next, relation) =>
        request("GET", `/v1/users/${id(userId)}/notifications`, { query: { size, start, next, relation } }),
      listUserChannels: (userId, page, size, sort) =>
        request("GET", `/v1/users/${id(userId)}/channels`, { query: { page, size, sort } }),
      listUserMessages: (userId, size, username, query) =>
        request("GET", `/v1/users/${id(userId)}/messages`, { query: { size, username, query } }),
      readUserNotification: (userId, notificationId) =>
        request("POST", `/v1/users/${id(userId)}/notifications/${id(notificationId)}/read`),
    }));
  }

  function channelApi() {
    const api = {
      createChannel: (channel) => request("POST", "/v1/channels", { body: channel }),
      getChannel: (channelId) => request("GET", `/v1/channels/${id(channelId)}`),
      getChannels: (page, size, type) => request("GET", "/v1/channels", { query: { page, size, type } }),
      updateChannel: (channelId, patch) => request("PATCH", `/v1/channels/${id(channelId)}`, { body: patch ?? {} }),
      deleteChannel: (channelId) => request("DELETE", `/v1/channels/${id(channelId)}`),
      createChannelMember: (channelId, user) =>
        request("POST", `/v1/channels/${id(channelId)}/members`, { body: user }),
      getChannelMembers: (channelId, page, size) =>
        request("GET", `/v1/channels/${id(channelId)}/members`, { query: { page, size } }),
      deleteChannelMembership: (channelId, userId) =>
        request("DELETE", `/v1/channels/${id(channelId)}/members/${id(userId)}`),
      createChannelMessage: (channelId, message) =>
        request("POST", `/v1/channels/${id(channelId)}/messages`, { body: message }),
      getChannelMessages: (channelId, page, size) =>
        request("GET", `/v1/channels/${id(channelId)}/messages`, { query: { page, size } }),
    };
    return ObjectFreeze(ObjectAssign(api, {
      retrieveChannel: api.getChannel,
      retrieveChannels: (page, size, sort, type) => request("GET", "/v1/channels", { query: { page, size, sort, type } }),
      addChannelMember: api.createChannelMember,
      retrieveChannelMembers: (channelId, page, size, sort) =>
        request("GET", `/v1/channels/${id(channelId)}/members`, { query: { page, size, sort } }),
      removeChannelMember: api.deleteChannelMembership,
      sendChannelMessage: api.createChannelMessage,
      retrieveChannelMessages: (channelId, size) =>
        request("GET", `/v1/channels/${id(channelId)}/messages`, { query: { size } }),
      listChannelMessages: (channelId, size, username, query) =>
        request("GET", `/v1/channels/${id(channelId)}/messages`, { query: { size, username, query } }),
      listChannelMemberships: (channelId, page, size, sort) =>
        request("GET", `/v1/channels/${id(channelId)}/memberships`, { query: { page, size, sort } }),
      listChannelModerators: (channelId, page, size, sort) =>
        request("GET", `/v1/channels/${id(channelId)}/moderators`, { query: { page, size, sort } }),
      addChannelModerator: (channelId, user) =>
        request("POST", `/v1/channels/${id(channelId)}/moderators`, { body: user }),
      removeChannelModerator: (channelId, userId) =>
        request("DELETE", `/v1/channels/${id(channelId)}/moderators/${id(userId)}`),
      listChannelInvites: (channelId, page, size, sort) =>
        request("GET", `/v1/channels/${id(channelId)}/invites`, { query: { page, size, sort } }),
      sendChannelInvite: (channelId, invite) =>
        request("POST", `/v1/channels/${id(channelId)}/invites`, { body: invite }),
      listChannelParticipants: (channelId, page, size, sort) =>
        request("GET", `/v1/channels/${id(channelId)}/participants`, { query: { page, size, sort } }),
    }));
  }

  function messageApi() {
    const api = {
      getMessage: (messageId) => request("GET", `/v1/messages/${id(messageId)}`),
      getMessages: (page, size) => request("GET", "/v1/messages", { query: { page, size } }),
      deleteMessage: (messageId) => request("DELETE", `/v1/messages/${id(messageId)}`),
    };
    return ObjectFreeze(ObjectAssign(api, {
      retrieveMessage: api.getMessage,
      retrieveMessages: (size) => request("GET", "/v1/messages", { query: { size } }),
      listMessages: (size, username, query) => request("GET", "/v1/messages", { query: { size, username, query } }),
      updateMessage: (messageId, patch) => request("PATCH", `/v1/messages/${id(messageId)}`, { body: patch ?? {} }),
      deleteMessages: () => request("DELETE", "/v1/messages"),
      listMessageReadReceipts: (messageId, page, size, sort) =>
        request("GET", `/v1/messages/${id(messageId)}/read-receipts`, { query: { page, size, sort } }),
      readMessage: (messageId, user) =>
        request("POST", `/v1/messages/${id(messageId)}/read-receipts`, { body: { user } }),
    }));
  }

  function threadApi() {
    return ObjectFreeze({
      retrieveThread: (threadId) => request("GET", `/v1/threads/${id(threadId)}`),
      listThreadMessages: (threadId, size) =>
        request("GET", `/v1/threads/${id(threadId)}/messages`, { query: { size } }),
      sendThreadMessage: (threadId, message) =>
        request("POST", `/v1/threads/${id(threadId)}/messages`, { body: message }),
    });
  }

  function applicationApi() {
    const getApplication = () => request("GET", "/v1/application");
    return ObjectFreeze({ getApplication, retrieveAuthenticatedApplication: getApplication });
  }

  function userSessionApi() {
    return ObjectFreeze({
      getActiveSessionExists: (userId) => request("HEAD", `/v1/users/${id(userId)}/sessions`),
      listUserSessions: (page, size, sort, state) =>
        request("GET", "/v1/user-sessions", { query: { page, size, sort, state } }),
      endUserSession: (sessionId) => request("DELETE", `/v1/user-sessions/${id(sessionId)}`),
    });
  }

  // One set of clients per runtime: they hold no per-invocation state (the
  // host binds each request to the invocation that makes it).
  const apis = ObjectFreeze({
    getUserApi: userApi(),
    getChannelApi: channelApi(),
    getMessageApi: messageApi(),
    getApplicationApi: applicationApi(),
    getUserSessionApi: userSessionApi(),
    getThreadApi: threadApi(),
  });

  // Plain stores onto the parsed context: V8 keeps them on its fast path
  // (Object.assign from a null-prototype object took its slow runtime
  // path, a sixth of a trivial invocation's CPU).
  const getUserApi = () => apis.getUserApi;
  const getChannelApi = () => apis.getChannelApi;
  const getMessageApi = () => apis.getMessageApi;
  const getApplicationApi = () => apis.getApplicationApi;
  const getUserSessionApi = () => apis.getUserSessionApi;
  const getThreadApi = () => apis.getThreadApi;
  host.useContextFactory((json) => {
    const context = JSONParse(json);
    context.getUserApi = getUserApi;
    context.getChannelApi = getChannelApi;
    context.getMessageApi = getMessageApi;
    context.getApplicationApi = getApplicationApi;
    context.getUserSessionApi = getUserSessionApi;
    context.getThreadApi = getThreadApi;
    return context;
  });
})(globalThis);
