// user.attempted.send_message: runs before a user's message is stored.
// Throw to refuse it; return {body?, properties?} to change it.
async function handleEvent(event: UserAttemptedSendMessageEvent, context: Context) {
  const { body, properties } = event.message;
  if (/\bspam\b/i.test(body)) throw new Error("no spam in " + event.channel.name);
  if (/\b(darn|heck)\b/i.test(body)) {
    const masked = body.replace(/\b(darn|heck)\b/gi, (word) => "*".repeat(word.length));
    return { body: masked, properties: { ...properties, moderated: true } };
  }
}
