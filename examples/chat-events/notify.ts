// user.received.notification: runs once per member a message reaches.
// Tells the channel (with a system message) who will read it later.
async function handleEvent(event: UserReceivedNotificationEvent, context: Context) {
  const { user, notification, userHasActiveSession } = event;
  // System messages notify too: answering only users' messages keeps this
  // function from answering its own replies.
  if (notification.data.type !== "USER:SENT:MESSAGE" || userHasActiveSession) return "online or a system message";
  await context.getChannelApi().sendChannelMessage(notification.data.channelId, {
    type: "TEXT",
    body: `${user.displayName} is offline and will see this later`,
  });
  return `told the channel ${user.name} is away`;
}
