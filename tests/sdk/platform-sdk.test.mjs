// ChatKitty's official Platform SDK, unchanged, against a running chatfn.
// Run by tests/chatfn/sdk.rs with CHATFN_URL, CHATFN_CLIENT_ID, CHATFN_CLIENT_SECRET.
import { test } from "node:test";
import assert from "node:assert/strict";
import sdk from "chatkitty-platform-sdk";

const base = process.env.CHATFN_URL;
const kitty = new sdk.ChatKitty({
  clientId: process.env.CHATFN_CLIENT_ID,
  clientSecret: process.env.CHATFN_CLIENT_SECRET,
  basePath: base,
  authorizationBasePath: `${base}/oauth/token`,
});

test("application and settings", async () => {
  const app = await kitty.Application.retrieveAuthenticatedApplication();
  assert.equal(typeof app.data.id, "number");
  const settings = await kitty.Application.updateAuthenticatedApplicationSettings({
    guest_users: "DISABLED",
    user_created_channels: "ENABLED",
  });
  assert.equal(settings.data.guestUsers, "DISABLED");
  const again = await kitty.Application.retrieveAuthenticatedApplicationSettings();
  assert.equal(again.data.userCreatedChannels, "ENABLED");
});

test("runtime: dependencies, environment variables, initialization script", async () => {
  const before = await kitty.Runtime.retrieveNodejsRuntime();
  assert.equal(before.data.type, "NODEJS");
  const deps = await kitty.Runtime.updateNodejsRuntimeDependencies([
    { name: "lodash", version: "^4.17.0", defaultDependency: false },
  ]);
  assert.deepEqual(deps.data.dependencies, [{ name: "lodash", version: "^4.17.0", defaultDependency: false }]);
  assert.notEqual(deps.data.version, before.data.version);
  const env = await kitty.Runtime.updateNodejsRuntimeEnvironmentVariables({ CUSTOM_ENV_AWS_REGION: "us-east-1" });
  assert.deepEqual(env.data.environmentVariables, { CUSTOM_ENV_AWS_REGION: "us-east-1" });
  const init = await kitty.Runtime.updateNodejsRuntimeInitializationScript({ script: "const ready: boolean = true;" });
  assert.equal(init.data.initializationScript.script, "const ready: boolean = true;");
  await assert.rejects(
    kitty.Runtime.updateNodejsRuntimeInitializationScript({ script: "const = ;" }),
    (e) => e.response.status === 400 && e.response.data.error === "BadRequestError",
  );
});

test("functions, versions, invocations", async () => {
  const created = await kitty.Runtime.createNodejsRuntimeFunction({
    type: "user.attempted.start_session",
    name: "User Attempted Start Session",
    initializeAsynchronously: false,
  });
  const id = created.data.id;
  assert.equal(created.data.type, "user.attempted.start_session");

  const handlerScript = "const logs = [];\n\nasync function handleEvent(event: UserAttemptedStartSessionEvent, context: Context) {\n  logs.push('Hello ' + event.username);\n  return logs;\n}";
  const v1 = await kitty.Functions.createFunctionVersion(id, { handlerScript });
  assert.equal(v1.data.versionNumber, 1);
  const v2 = await kitty.Functions.createFunctionVersion(id, { handlerScript: handlerScript + "\n" });
  assert.equal(v2.data.versionNumber, 2);

  const current = await kitty.Functions.retrieveFunctionCurrentVersion(id);
  assert.equal(current.data.versionNumber, 2);
  const fetched = await kitty.FunctionVersions.retrieveFunctionVersion(v1.data.id);
  assert.equal(fetched.data.handlerScript, handlerScript);

  const fn = await kitty.Functions.retrieveFunction(id);
  assert.equal(fn.data.currentVersionNumber, 2);
  const versions = await kitty.Functions.listFunctionVersions(id, 0, 1);
  assert.equal(versions.data.page.totalElements, 2);
  assert.equal(versions.data._embedded.versions.length, 1);
  const functions = await kitty.Runtime.listNodejsRuntimeFunctions();
  assert.ok(functions.data._embedded.functions.some((f) => f.id === id));
  const invocations = await kitty.Functions.listFunctionInvocations(id);
  assert.equal(invocations.data.page.number, 0);

  await assert.rejects(
    kitty.Functions.createFunctionVersion(id, { handlerScript: "async function handleEvent( {" }),
    (e) => e.response.status === 400 && typeof e.response.data.line === "number",
  );
  await assert.rejects(kitty.Functions.retrieveFunction(999999), (e) => e.response.status === 404);
});

test("chat data: a sent message notifies the other members; users' channels and messages", async () => {
  const suffix = Date.now().toString(36);
  const [ann, bob] = await Promise.all(
    ["ann", "bob"].map((n) =>
      kitty.Users.createUser({ name: `${n}-${suffix}`, displayName: n, isGuest: false, properties: {} }),
    ),
  );
  const channel = await kitty.Channels.createChannel({
    type: "PUBLIC",
    name: `room-${suffix}`,
    members: [{ username: ann.data.name }, { username: bob.data.name }],
  });
  const sent = await kitty.Channels.sendChannelMessage(channel.data.id, {
    type: "TEXT",
    body: "hello bob",
    user: { username: ann.data.name },
  });
  assert.equal(sent.data.body, "hello bob");

  const notifications = await kitty.Users.listUserNotifications(bob.data.id);
  assert.equal(notifications.data._embedded.notifications.length, 1);
  assert.equal(notifications.data._embedded.notifications[0].data.type, "USER:SENT:MESSAGE");
  assert.equal((await kitty.Users.listUserNotifications(ann.data.id)).data._embedded.notifications.length, 0);

  const channels = await kitty.Users.listUserChannels(bob.data.id);
  assert.deepEqual(channels.data._embedded.channels.map((c) => c.id), [channel.data.id]);
  const said = await kitty.Users.listUserMessages(ann.data.id);
  assert.deepEqual(said.data._embedded.messages.map((m) => m.body), ["hello bob"]);

  const edited = await kitty.Messages.updateMessage(sent.data.id, { body: "hello, bob", properties: { edited: true } });
  assert.equal(edited.data.body, "hello, bob");
  assert.deepEqual(edited.data.properties, { edited: true });

  const online = await kitty.Channels.listChannelParticipants(channel.data.id);
  assert.equal(online.data.page.totalElements, 0);

  await kitty.Messages.deleteMessages();
  assert.equal((await kitty.Messages.listMessages()).data._embedded.messages.length, 0);
});
