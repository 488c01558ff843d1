// Types for chat function authors.
//
//   import type { Context, UserAttemptedStartSessionEvent } from "chatfn";
//
//   async function handleEvent(event: UserAttemptedStartSessionEvent, context: Context) { ... }
//
// Shapes follow ChatKitty's Platform API resources.

/** What the host tells a handler about the invocation. */
export interface Context {
  /** The application (tenant) the function belongs to. */
  applicationId: string;
  functionId: string;
  functionName: string;
  /** The trigger type the function runs for, e.g. `user.attempted.start_session`. */
  triggerType: TriggerType;
  /** The version of the function's handler script that is running. */
  versionNumber: number;
  /** Unique per invocation; the invocation log is found under it. */
  invocationId: string;
  /** Pre-authenticated Platform API clients (ChatKitty's server-side SDK shape). */
  getUserApi(): UserApi;
  getChannelApi(): ChannelApi;
  getMessageApi(): MessageApi;
  getApplicationApi(): ApplicationApi;
  getUserSessionApi(): UserSessionApi;
  getThreadApi(): ThreadApi;
}

/** An axios-style answer. A non-2xx status rejects with a {@link PlatformApiError}. */
export interface PlatformResponse<T> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, string | undefined>;
  config: { method: string; url: string };
}

/** The rejection of a context API call the platform answered with an error status. */
export interface PlatformApiError extends Error {
  name: "AxiosError";
  isAxiosError: true;
  code: "ERR_BAD_REQUEST" | "ERR_BAD_RESPONSE";
  status: number;
  response: PlatformResponse<{ error: string; message: string; timestamp: string }>;
}

/** A HAL page, as every list answers. */
export interface Page<K extends string, T> {
  _embedded?: { [key in K]: T[] };
  _links: Record<string, { href: string }>;
  page: { size: number; totalElements: number; totalPages: number; number: number };
}

/** Reference to a user: by id or by unique name. */
export type ChatUserReference = { id: number } | { username: string };

type Answer<T> = Promise<PlatformResponse<T>>;

export interface UserApi {
  createUser(user: { name: string; displayName: string; isGuest?: boolean; properties?: Properties }): Answer<ChatUser>;
  /** Resolves when a user with this name exists, rejects (404) when none does. */
  getUserExists(name: string): Answer<"">;
  getUser(id: number): Answer<ChatUser>;
  getUsers(page?: number, size?: number, name?: string): Answer<Page<"users", ChatUser>>;
  /** A JSON merge patch: `properties` are merged key by key, `null` removes a key. */
  updateUser(id: number, patch: { displayName?: string; isGuest?: boolean; properties?: Properties }): Answer<ChatUser>;
  deleteUser(id: number): Answer<unknown>;
  checkUserExists(name: string): Answer<"">;
  retrieveUser(id: number): Answer<ChatUser>;
  retrieveUsers(page?: number, size?: number, sort?: string, name?: string): Answer<Page<"users", ChatUser>>;
  /** Newest first; follow the page's `_links.next` (its `next` and `relation`) for older ones. */
  listUserNotifications(
    id: number,
    size?: number,
    start?: number,
    next?: number,
    relation?: "SELF" | "PREVIOUS" | "NEXT",
  ): Answer<{ _embedded: { notifications: Notification[] }; _links: Record<string, { href: string }>; page: { size: number } }>;
  readUserNotification(id: number, notificationId: number): Answer<Notification>;
  /** The channels the user is a member of. */
  listUserChannels(id: number, page?: number, size?: number, sort?: string): Answer<Page<"channels", Channel>>;
  /** The messages the user sent, newest first; `query` is text in the body. */
  listUserMessages(id: number, size?: number, username?: string, query?: string): Answer<Page<"messages", Message>>;
}

export interface ChannelApi {
  /** Creates a channel, or answers the equivalent one that exists (200). */
  createChannel(channel: {
    type: "DIRECT" | "PUBLIC" | "PRIVATE";
    name?: string;
    displayName?: string;
    creator?: ChatUserReference;
    members?: ChatUserReference[];
    properties?: Properties;
  }): Answer<Channel>;
  getChannel(id: number): Answer<Channel>;
  getChannels(page?: number, size?: number, type?: Channel["type"]): Answer<Page<"channels", Channel>>;
  updateChannel(id: number, patch: { displayName?: string; properties?: Properties }): Answer<Channel>;
  deleteChannel(id: number): Answer<unknown>;
  createChannelMember(id: number, user: ChatUserReference): Answer<Channel>;
  getChannelMembers(id: number, page?: number, size?: number): Answer<Page<"users", ChatUser>>;
  deleteChannelMembership(id: number, userId: number): Answer<Channel>;
  /** A system message, or one on behalf of `user` (a member). */
  createChannelMessage(
    id: number,
    message: { type: "TEXT"; body: string; user?: ChatUserReference; properties?: Properties },
  ): Answer<Message>;
  /** Newest first. */
  getChannelMessages(id: number, page?: number, size?: number): Answer<Page<"messages", Message>>;
  retrieveChannel(id: number): Answer<Channel>;
  retrieveChannels(page?: number, size?: number, sort?: string, type?: Channel["type"]): Answer<Page<"channels", Channel>>;
  addChannelMember(id: number, user: ChatUserReference): Answer<Channel>;
  retrieveChannelMembers(id: number, page?: number, size?: number, sort?: string): Answer<Page<"users", ChatUser>>;
  removeChannelMember(id: number, userId: number): Answer<Channel>;
  sendChannelMessage(id: number, message: { type: "TEXT"; body: string; user?: ChatUserReference; properties?: Properties }): Answer<Message>;
  retrieveChannelMessages(id: number, size?: number): Answer<Page<"messages", Message>>;
  listChannelMessages(id: number, size?: number, username?: string, query?: string): Answer<Page<"messages", Message>>;
  listChannelMemberships(id: number, page?: number, size?: number, sort?: string): Answer<Page<"memberships", { user: ChatUser; createdTime: string }>>;
  listChannelModerators(id: number, page?: number, size?: number, sort?: string): Answer<Page<"users", ChatUser>>;
  /** A member of a group channel. */
  addChannelModerator(id: number, user: ChatUserReference): Answer<ChatUser>;
  removeChannelModerator(id: number, userId: number): Answer<Channel>;
  listChannelInvites(id: number, page?: number, size?: number, sort?: string): Answer<Page<"invites", { id: number; user: ChatUser; createdTime: string }>>;
  sendChannelInvite(id: number, invite: { user: ChatUserReference }): Answer<{ id: number; user: ChatUser; createdTime: string }>;
  /** Members with an active user session. */
  listChannelParticipants(id: number, page?: number, size?: number, sort?: string): Answer<Page<"users", ChatUser>>;
}

export interface MessageApi {
  getMessage(id: number): Answer<Message>;
  /** Newest first. */
  getMessages(page?: number, size?: number): Answer<Page<"messages", Message>>;
  deleteMessage(id: number): Answer<unknown>;
  retrieveMessage(id: number): Answer<Message>;
  retrieveMessages(size?: number): Answer<Page<"messages", Message>>;
  listMessages(size?: number, username?: string, query?: string): Answer<Page<"messages", Message>>;
  /** A JSON merge patch of `body` and `properties`. */
  updateMessage(id: number, patch: { body?: string; properties?: Properties }): Answer<Message>;
  /** Deletes every message of the application. */
  deleteMessages(): Answer<unknown>;
  listMessageReadReceipts(id: number, page?: number, size?: number, sort?: string): Answer<Page<"receipts", { user: ChatUser; createdTime: string }>>;
  /** Records that a member read the message. */
  readMessage(id: number, user: ChatUserReference): Answer<{ user: ChatUser; createdTime: string }>;
}

/** A message's reply thread: its id is the message's. */
export interface ThreadApi {
  retrieveThread(id: number): Answer<{ id: number; type: "STANDALONE"; createdTime: string; properties: Properties }>;
  /** Newest first. */
  listThreadMessages(id: number, size?: number): Answer<Page<"messages", Message>>;
  /** A reply: a message of the same channel, passing the same pre-send function. */
  sendThreadMessage(id: number, message: { type: "TEXT"; body: string; user?: ChatUserReference; properties?: Properties }): Answer<Message>;
}

export interface ApplicationApi {
  getApplication(): Answer<{ id: number; name: string; key: string; createdTime: string; properties: Properties }>;
  retrieveAuthenticatedApplication(): Answer<{ id: number; name: string; key: string; createdTime: string; properties: Properties }>;
}

export interface UserSessionApi {
  /** Resolves when the user has an active chat session; rejects (404) otherwise. */
  getActiveSessionExists(userId: number): Answer<"">;
  listUserSessions(page?: number, size?: number, sort?: string, state?: "ACTIVE" | "ENDED"): Answer<Page<"sessions", UserSession>>;
  endUserSession(id: number): Answer<UserSession>;
}

export interface UserSession {
  id: number;
  state: "ACTIVE" | "ENDED";
  user?: ChatUser;
  createdTime: string;
  endTime?: string;
  expiresTime: string;
}

export type TriggerType =
  | "user.attempted.start_session"
  | "user.attempted.send_message"
  | "user.received.notification"
  | "user.sent.message"
  | "user.started.chat_session";

export type Properties = Record<string, any>;

export interface ChatUser {
  id: number;
  type?: "PERSON" | "BOT";
  name: string;
  displayName: string;
  displayPictureUrl?: string;
  isGuest?: boolean;
  presence?: { status: "AVAILABLE" | "AWAY" | "BUSY" | "DO_NOT_DISTURB" | "INVISIBLE" | "OFFLINE" | "UNAVAILABLE"; online: boolean };
  callStatus?: "AVAILABLE" | "IN_CALL";
  properties: Properties;
}

export interface Channel {
  id: number;
  type: "DIRECT" | "PUBLIC" | "PRIVATE";
  name?: string;
  displayName?: string;
  creator?: ChatUser;
  members?: ChatUser[];
  lastReceivedMessage?: Message;
  createdTime?: string;
  properties: Properties;
}

export interface Message {
  id: number;
  type: "TEXT" | "FILE" | "SYSTEM_TEXT" | "SYSTEM_FILE";
  channelId: number;
  body?: string;
  user?: ChatUser;
  createdTime: string;
  groupTag?: string;
  nestedLevel?: number;
  properties: Properties;
}

export interface Notification {
  id: number;
  title: string;
  body: string;
  channel?: Channel;
  data: { type: "USER:SENT:MESSAGE" | "SYSTEM:SENT:MESSAGE" | string; message?: Message; channelId?: number; [key: string]: any };
  muted?: boolean;
  createdTime: string;
  readTime?: string;
}

/** `user.attempted.start_session` (blocking): return normally to let the user in, throw to refuse. */
export interface UserAttemptedStartSessionEvent {
  username: string;
  authParams: Record<string, any>;
}

/**
 * `user.attempted.send_message` (blocking, before a user's message is stored):
 * throw to refuse it (the sender gets 403 with the thrown message); return
 * `{body?, properties?}` to change it; return nothing to let it through.
 */
export interface UserAttemptedSendMessageEvent {
  user: ChatUser;
  channel: Channel;
  message: { type: "TEXT"; body: string; properties: Properties };
}

/** `user.received.notification` (non-blocking). */
export interface UserReceivedNotificationEvent {
  user: ChatUser;
  notification: Notification;
  userHasActiveSession: boolean;
}

/** `user.sent.message` (non-blocking). */
export interface UserSentMessageEvent {
  user: ChatUser;
  channel: Channel;
  message: Message;
}

/** `user.started.chat_session` (non-blocking). */
export interface UserStartedChatSessionEvent {
  user: ChatUser;
  channel: Channel;
  channelUnread: boolean;
  channelMessagesCount: number;
}

export type ChatFunctionHandler<E, R = unknown> = (event: E, context: Context) => Promise<R> | R;

declare global {
  /**
   * The chat runtime's environment variables (read-only), with ChatKitty's
   * system variables `CHATKITTY_APPLICATION_ID`, `CHATKITTY_CLIENT_ID` and
   * `CHATKITTY_CHAT_SERVICE_BASE_URL` beside the custom ones.
   */
  const process: {
    readonly env: Readonly<Record<string, string | undefined>>;
    nextTick(callback: (...args: any[]) => void, ...args: any[]): void;
  };
}
