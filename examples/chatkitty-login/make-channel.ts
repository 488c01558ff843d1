// Makes the channel the sample login function adds new users to, in a
// store kept across `chatfn run --store` runs; answers its id.
async function handleEvent(event: unknown, context: Context) {
  const channel = await context.getChannelApi().createChannel({ type: "PUBLIC", name: "general" });
  return channel.data.id;
}
