// ChatKitty's sample `user.attempted.start_session` function, as its
// Platform API documents it: a user who does not exist yet is created and
// added to channel 702. Try it with `chatfn run` (see README).
const logs = [];

async function handleEvent(event: UserAttemptedStartSessionEvent, context: Context) {
  let email = event.username;
  let displayName = event.authParams.displayName || email;

  let userApi = context.getUserApi();

  logs.push('Hello ' + event.username);

  await userApi.getUserExists(email)
    .catch(async () => {
      let user = await userApi.createUser(
        {
          'name': email,
          'displayName': displayName
        }
      );

      let channelApi = context.getChannelApi();

      await channelApi.createChannelMember(702, { 'id': user.data.id });
    });

  return logs;
}
