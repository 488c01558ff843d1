//! `node:zlib` (see `js-runtime/node/zlib.js`): gzip, zlib, raw deflate
//! (flate2) and brotli (the `brotli` crate) as streaming codecs that the
//! JavaScript side feeds chunk by chunk. Input is fed in small slices and
//! the output checked after each, so a decompression bomb stops at the
//! output cap instead of filling the host's memory; and between slices the
//! codec asks whether the invocation was stopped, so a slow compression
//! (brotli's quality 11 on 100 MB had held its thread past two minutes on
//! a 2 s limit) ends at the invocation's limits.

use std::collections::HashMap;
use std::io::Write;

use deno_core::{op2, OpState, ToJsBuffer};
use flate2::write::{DeflateDecoder, DeflateEncoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder};
use flate2::Compression;

/// Codecs open at once in one runtime (each holds up to a few hundred KB
/// of state until it is ended or closed).
const MAX_OPEN_STREAMS: usize = 256;

/// Largest output one codec may produce in total, whatever it is asked.
const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

enum Codec {
    GzipEncode(GzEncoder<Vec<u8>>),
    GzipDecode(GzDecoder<Vec<u8>>),
    ZlibEncode(ZlibEncoder<Vec<u8>>),
    ZlibDecode(ZlibDecoder<Vec<u8>>),
    RawEncode(DeflateEncoder<Vec<u8>>),
    RawDecode(DeflateDecoder<Vec<u8>>),
    BrotliEncode(Box<brotli::CompressorWriter<Vec<u8>>>),
    BrotliDecode(Box<brotli::DecompressorWriter<Vec<u8>>>),
    /// `unzip`: gzip or zlib, decided by the first two bytes.
    Detect(Vec<u8>),
}

struct Stream {
    codec: Codec,
    produced: usize,
    limit: usize,
}

#[derive(Default)]
pub struct ZlibStreams {
    streams: HashMap<u32, Stream>,
    next: u32,
}

/// A failure with Node's zlib code (`Z_DATA_ERROR`, `ERR_BUFFER_TOO_LARGE`,
/// ...) in the error's `code`; zlib.js gives it Node's shape.
type ZlibError = super::errors::CodedError;

fn zlib_error(code: &'static str, message: impl std::fmt::Display) -> ZlibError {
    ZlibError::new(code, message.to_string())
}

fn io_error(e: std::io::Error) -> ZlibError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof || e.kind() == std::io::ErrorKind::WriteZero {
        return zlib_error("Z_BUF_ERROR", "unexpected end of file");
    }
    let message = e.to_string();
    if message.contains("header") {
        zlib_error("Z_DATA_ERROR", "incorrect header check")
    } else {
        zlib_error("Z_DATA_ERROR", format!("invalid compressed data ({message})"))
    }
}

impl Codec {
    fn new(mode: &str, level: i32, quality: u32, window: u32) -> Result<Codec, ZlibError> {
        let level = if level < 0 { Compression::default() } else { Compression::new(level.clamp(0, 9) as u32) };
        Ok(match mode {
            "gzip" => Codec::GzipEncode(GzEncoder::new(Vec::new(), level)),
            "gunzip" => Codec::GzipDecode(GzDecoder::new(Vec::new())),
            "deflate" => Codec::ZlibEncode(ZlibEncoder::new(Vec::new(), level)),
            "inflate" => Codec::ZlibDecode(ZlibDecoder::new(Vec::new())),
            "deflateRaw" => Codec::RawEncode(DeflateEncoder::new(Vec::new(), level)),
            "inflateRaw" => Codec::RawDecode(DeflateDecoder::new(Vec::new())),
            "unzip" => Codec::Detect(Vec::new()),
            "brotliCompress" => Codec::BrotliEncode(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                quality.min(11),
                window.clamp(10, 24),
            ))),
            "brotliDecompress" => Codec::BrotliDecode(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096))),
            other => return Err(zlib_error("ERR_INVALID_ARG_VALUE", format!("unknown zlib mode {other:?}"))),
        })
    }

    /// The slice of input fed at a time: small for decoders, whose output
    /// is checked against the cap after each slice; for encoders, small
    /// enough that a stopped invocation is noticed soon.
    fn slice(&self) -> usize {
        match self {
            Codec::BrotliDecode(_) => 256,
            Codec::GzipDecode(_) | Codec::ZlibDecode(_) | Codec::RawDecode(_) | Codec::Detect(_) => 4096,
            _ => 64 * 1024,
        }
    }

    fn write(&mut self, input: &[u8]) -> std::io::Result<()> {
        match self {
            Codec::GzipEncode(c) => c.write_all(input),
            Codec::GzipDecode(c) => c.write_all(input),
            Codec::ZlibEncode(c) => c.write_all(input),
            Codec::ZlibDecode(c) => c.write_all(input),
            Codec::RawEncode(c) => c.write_all(input),
            Codec::RawDecode(c) => c.write_all(input),
            Codec::BrotliEncode(c) => c.write_all(input),
            Codec::BrotliDecode(c) => c.write_all(input),
            Codec::Detect(pending) => {
                pending.extend_from_slice(input);
                if pending.len() < 2 {
                    return Ok(());
                }
                let bytes = std::mem::take(pending);
                *self = if bytes[0] == 0x1f && bytes[1] == 0x8b {
                    Codec::GzipDecode(GzDecoder::new(Vec::new()))
                } else {
                    Codec::ZlibDecode(ZlibDecoder::new(Vec::new()))
                };
                self.write(&bytes)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Codec::GzipEncode(c) => c.flush(),
            Codec::GzipDecode(c) => c.flush(),
            Codec::ZlibEncode(c) => c.flush(),
            Codec::ZlibDecode(c) => c.flush(),
            Codec::RawEncode(c) => c.flush(),
            Codec::RawDecode(c) => c.flush(),
            Codec::BrotliEncode(c) => c.flush(),
            Codec::BrotliDecode(c) => c.flush(),
            Codec::Detect(_) => Ok(()),
        }
    }

    /// Output produced so far, taken.
    fn take(&mut self) -> Vec<u8> {
        match self {
            Codec::GzipEncode(c) => std::mem::take(c.get_mut()),
            Codec::GzipDecode(c) => std::mem::take(c.get_mut()),
            Codec::ZlibEncode(c) => std::mem::take(c.get_mut()),
            Codec::ZlibDecode(c) => std::mem::take(c.get_mut()),
            Codec::RawEncode(c) => std::mem::take(c.get_mut()),
            Codec::RawDecode(c) => std::mem::take(c.get_mut()),
            Codec::BrotliEncode(c) => std::mem::take(c.get_mut()),
            Codec::BrotliDecode(c) => std::mem::take(c.get_mut()),
            Codec::Detect(_) => Vec::new(),
        }
    }

    /// Ends the stream and returns the rest of the output.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Codec::GzipEncode(c) => c.finish(),
            Codec::GzipDecode(c) => c.finish(),
            Codec::ZlibEncode(c) => c.finish(),
            Codec::ZlibDecode(c) => c.finish(),
            Codec::RawEncode(c) => c.finish(),
            Codec::RawDecode(c) => c.finish(),
            Codec::BrotliEncode(c) => Ok(c.into_inner()),
            Codec::BrotliDecode(c) => c.into_inner().map_err(|_| std::io::ErrorKind::UnexpectedEof.into()),
            Codec::Detect(pending) if pending.is_empty() => Ok(Vec::new()),
            Codec::Detect(_) => Err(std::io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

#[op2(fast)]
pub fn op_chatfn_zlib_new(
    state: &mut OpState,
    #[string] mode: &str,
    level: i32,
    quality: u32,
    window: u32,
    max_output: f64,
) -> Result<u32, ZlibError> {
    let codec = Codec::new(mode, level, quality, window)?;
    let limit = if max_output >= 1.0 { (max_output as usize).min(MAX_OUTPUT_BYTES) } else { MAX_OUTPUT_BYTES };
    let streams = state.borrow_mut::<ZlibStreams>();
    if streams.streams.len() >= MAX_OPEN_STREAMS {
        return Err(zlib_error(
            "ERR_CHATFN_LIMIT",
            format!("at most {MAX_OPEN_STREAMS} zlib streams may be open at once; end or close the others"),
        ));
    }
    streams.next += 1;
    let id = streams.next;
    streams.streams.insert(id, Stream { codec, produced: 0, limit });
    Ok(id)
}

/// Feeds `input` (flush: 0 none, 2 sync, 4 finish, as Node's constants)
/// and returns the output it produced. A finished stream is forgotten.
#[op2]
#[serde]
pub fn op_chatfn_zlib_write(
    state: &mut OpState,
    id: u32,
    #[buffer] input: &[u8],
    flush: u32,
) -> Result<ToJsBuffer, ZlibError> {
    let stopped = super::limits::invocation_stopped(state);
    let streams = state.borrow_mut::<ZlibStreams>();
    let stream = streams.streams.get_mut(&id).ok_or_else(|| zlib_error("ERR_ZLIB_CLOSED", "zlib binding closed"))?;
    let too_large =
        |limit: usize| zlib_error("ERR_BUFFER_TOO_LARGE", format!("Cannot create a Buffer larger than {limit} bytes"));
    let mut output = Vec::new();
    let step = stream.codec.slice().min(input.len().max(1));
    for piece in input.chunks(step) {
        if stopped() {
            streams.streams.remove(&id);
            return Err(zlib_error("ERR_CHATFN_STOPPED", "zlib was stopped: the invocation reached a limit"));
        }
        if let Err(e) = stream.codec.write(piece) {
            streams.streams.remove(&id);
            return Err(io_error(e));
        }
        output.extend(stream.codec.take());
        if stream.produced + output.len() > stream.limit {
            let limit = stream.limit;
            streams.streams.remove(&id);
            return Err(too_large(limit));
        }
    }
    if flush == 4 {
        let stream = streams.streams.remove(&id).expect("present above");
        output.extend(stream.codec.finish().map_err(io_error)?);
        if stream.produced + output.len() > stream.limit {
            return Err(too_large(stream.limit));
        }
        return Ok(output.into());
    }
    if flush != 0 {
        stream.codec.flush().map_err(io_error)?;
        output.extend(stream.codec.take());
    }
    stream.produced += output.len();
    if stream.produced > stream.limit {
        let limit = stream.limit;
        streams.streams.remove(&id);
        return Err(too_large(limit));
    }
    Ok(output.into())
}

#[op2(fast)]
pub fn op_chatfn_zlib_close(state: &mut OpState, id: u32) {
    state.borrow_mut::<ZlibStreams>().streams.remove(&id);
}

#[op2(fast)]
pub fn op_chatfn_zlib_crc32(#[buffer] data: &[u8], initial: u32) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(initial);
    hasher.update(data);
    hasher.finalize()
}

deno_core::extension!(
    chatfn_zlib,
    ops = [op_chatfn_zlib_new, op_chatfn_zlib_write, op_chatfn_zlib_close, op_chatfn_zlib_crc32],
    state = |state| {
        state.put(ZlibStreams::default());
    },
);

/// The capability: its ops (the JavaScript over them is among the built-ins
/// in `js-runtime/node/`, compiled when first required).
pub(super) fn extension() -> deno_core::Extension {
    chatfn_zlib::init()
}
