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
}

export type TriggerType =
  | "user.attempted.start_session"
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
  presence?: { status: "AVAILABLE" | "AWAY" | "BUSY" | "DO_NOT_DISTURB" | "INVISIBLE" | "OFFLINE"; online: boolean };
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
  data: { type: string; [key: string]: any };
  muted?: boolean;
  createdTime: string;
}

/** `user.attempted.start_session` (blocking): return normally to let the user in, throw to refuse. */
export interface UserAttemptedStartSessionEvent {
  username: string;
  authParams: Record<string, any>;
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
  /** The chat runtime's environment variables (read-only). */
  const process: {
    readonly env: Readonly<Record<string, string | undefined>>;
    nextTick(callback: (...args: any[]) => void, ...args: any[]): void;
  };
}
