// node:stream/consumers: read a whole stream (Node or web) as one value.
"use strict";

async function chunks(stream) {
  const out = [];
  for await (const chunk of stream) out.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk));
  return out;
}
const buffer = async (stream) => Buffer.concat(await chunks(stream));
const arrayBuffer = async (stream) => {
  const b = await buffer(stream);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const text = async (stream) => (await buffer(stream)).toString("utf8");
const json = async (stream) => JSON.parse(await text(stream));
const blob = async (stream) => new Blob([await buffer(stream)]);
module.exports = { arrayBuffer, blob, buffer, json, text };
