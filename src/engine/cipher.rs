//! `crypto.createCipheriv`/`createDecipheriv` as Node streams them: each
//! `update` answers what it can (whole blocks for CBC, every byte for CTR
//! and GCM), `final` the rest and, for GCM, the tag. AES is RustCrypto's
//! block cipher; the modes are written here over it (CBC with PKCS#7, CTR,
//! GCM with `ghash`), ChaCha20-Poly1305 is one-shot at `final`.

use std::collections::HashMap;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use deno_core::{op2, OpState, ToJsBuffer};
use deno_error::JsErrorBox;
use ghash::universal_hash::UniversalHash;
use serde::{Deserialize, Serialize};

fn err(message: &str) -> JsErrorBox {
    JsErrorBox::generic(message.to_string())
}

enum Aes {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl Aes {
    fn new(bits: usize, key: &[u8]) -> Result<Aes, JsErrorBox> {
        let invalid = |_| err("Invalid key length");
        if key.len() * 8 != bits {
            return Err(err("Invalid key length"));
        }
        Ok(match bits {
            128 => Aes::A128(aes::Aes128::new_from_slice(key).map_err(invalid)?),
            192 => Aes::A192(aes::Aes192::new_from_slice(key).map_err(invalid)?),
            _ => Aes::A256(aes::Aes256::new_from_slice(key).map_err(invalid)?),
        })
    }
    fn encrypt(&self, block: &mut [u8; 16]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Aes::A128(c) => c.encrypt_block(b),
            Aes::A192(c) => c.encrypt_block(b),
            Aes::A256(c) => c.encrypt_block(b),
        }
    }
    fn decrypt(&self, block: &mut [u8; 16]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Aes::A128(c) => c.decrypt_block(b),
            Aes::A192(c) => c.decrypt_block(b),
            Aes::A256(c) => c.decrypt_block(b),
        }
    }
}

/// A keystream from a 16-byte counter block; GCM increments only its last
/// 32 bits, CTR all 128.
struct Keystream {
    counter: [u8; 16],
    block: [u8; 16],
    used: usize,
    wrap32: bool,
}

impl Keystream {
    fn new(counter: [u8; 16], wrap32: bool) -> Keystream {
        Keystream { counter, block: [0; 16], used: 16, wrap32 }
    }
    fn apply(&mut self, aes: &Aes, data: &mut [u8]) {
        for byte in data {
            if self.used == 16 {
                self.block = self.counter;
                aes.encrypt(&mut self.block);
                self.increment();
                self.used = 0;
            }
            *byte ^= self.block[self.used];
            self.used += 1;
        }
    }
    fn increment(&mut self) {
        let start = if self.wrap32 { 12 } else { 0 };
        for i in (start..16).rev() {
            self.counter[i] = self.counter[i].wrapping_add(1);
            if self.counter[i] != 0 {
                break;
            }
        }
    }
}

enum Mode {
    Cbc {
        prev: [u8; 16],
        pending: Vec<u8>,
    },
    Ctr(Keystream),
    Gcm {
        stream: Keystream,
        hash: Box<ghash::GHash>,
        j0: [u8; 16],
        aad: Vec<u8>,
        aad_len: u64,
        text_len: u64,
        partial: Vec<u8>,
        started: bool,
    },
    ChaCha {
        key: Vec<u8>,
        nonce: Vec<u8>,
        aad: Vec<u8>,
        data: Vec<u8>,
    },
}

struct CipherStream {
    aes: Option<Aes>,
    mode: Mode,
    encrypt: bool,
    padding: bool,
    tag_length: usize,
}

#[derive(Default)]
pub struct CipherStreams {
    streams: HashMap<u32, CipherStream>,
    next: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CipherArgs {
    algorithm: String,
    encrypt: bool,
    #[serde(default)]
    auth_tag_length: Option<usize>,
}

const GCM_TAG: usize = 16;
/// Ciphers open at once in one runtime (each until its `final`).
const MAX_OPEN_CIPHERS: usize = 1024;

#[op2]
pub fn op_chatfn_cipher_new(
    state: &mut OpState,
    #[serde] args: CipherArgs,
    #[buffer] key: &[u8],
    #[buffer] iv: &[u8],
) -> Result<u32, JsErrorBox> {
    let algorithm = args.algorithm.to_ascii_lowercase();
    let parts: Vec<&str> = algorithm.split('-').collect();
    let invalid_iv = || err("Invalid initialization vector");
    let (aes, mode) = match parts.as_slice() {
        ["aes", bits, mode] | ["id", bits, mode]
            if matches!(*bits, "128" | "192" | "256" | "aes128" | "aes192" | "aes256") =>
        {
            let bits: usize = bits.trim_start_matches("aes").parse().expect("matched above");
            let aes = Aes::new(bits, key)?;
            let mode = match *mode {
                "cbc" => {
                    let prev: [u8; 16] = iv.try_into().map_err(|_| invalid_iv())?;
                    Mode::Cbc { prev, pending: Vec::new() }
                }
                "ctr" => Mode::Ctr(Keystream::new(iv.try_into().map_err(|_| invalid_iv())?, false)),
                "gcm" => {
                    if iv.is_empty() {
                        return Err(invalid_iv());
                    }
                    let mut h = [0u8; 16];
                    aes.encrypt(&mut h);
                    let j0: [u8; 16] = if iv.len() == 12 {
                        let mut j = [0u8; 16];
                        j[..12].copy_from_slice(iv);
                        j[15] = 1;
                        j
                    } else {
                        let mut g = ghash::GHash::new(&h.into());
                        g.update_padded(iv);
                        let mut lengths = [0u8; 16];
                        lengths[8..].copy_from_slice(&((iv.len() as u64) * 8).to_be_bytes());
                        g.update(&[lengths.into()]);
                        g.finalize().into()
                    };
                    let mut counter = j0;
                    Keystream::new(counter, true).increment_into(&mut counter);
                    Mode::Gcm {
                        stream: Keystream::new(counter, true),
                        hash: Box::new(ghash::GHash::new(&h.into())),
                        j0,
                        aad: Vec::new(),
                        aad_len: 0,
                        text_len: 0,
                        partial: Vec::new(),
                        started: false,
                    }
                }
                _ => return Err(err(&format!("Unknown cipher {algorithm}"))),
            };
            (Some(aes), mode)
        }
        ["aes128" | "aes192" | "aes256"] => {
            let bits: usize = algorithm.trim_start_matches("aes").parse().expect("matched above");
            let aes = Aes::new(bits, key)?;
            (Some(aes), Mode::Cbc { prev: iv.try_into().map_err(|_| invalid_iv())?, pending: Vec::new() })
        }
        ["chacha20", "poly1305"] => {
            if key.len() != 32 {
                return Err(err("Invalid key length"));
            }
            if iv.len() != 12 {
                return Err(invalid_iv());
            }
            (None, Mode::ChaCha { key: key.to_vec(), nonce: iv.to_vec(), aad: Vec::new(), data: Vec::new() })
        }
        _ => return Err(err(&format!("Unknown cipher {algorithm}"))),
    };
    let tag_length = args.auth_tag_length.unwrap_or(GCM_TAG);
    if !(4..=16).contains(&tag_length) {
        return Err(err(&format!("Invalid authentication tag length: {tag_length}")));
    }
    let streams = state.borrow_mut::<CipherStreams>();
    if streams.streams.len() >= MAX_OPEN_CIPHERS {
        return Err(err(&format!(
            "at most {MAX_OPEN_CIPHERS} ciphers may be open at once; call final() on the others"
        )));
    }
    streams.next += 1;
    let id = streams.next;
    streams.streams.insert(id, CipherStream { aes, mode, encrypt: args.encrypt, padding: true, tag_length });
    Ok(id)
}

impl Keystream {
    fn increment_into(mut self, counter: &mut [u8; 16]) {
        self.increment();
        *counter = self.counter;
    }
}

fn stream(state: &mut OpState, id: u32) -> Result<&mut CipherStream, JsErrorBox> {
    state.borrow_mut::<CipherStreams>().streams.get_mut(&id).ok_or_else(|| err("Unsupported state"))
}

#[op2(fast)]
pub fn op_chatfn_cipher_options(
    state: &mut OpState,
    id: u32,
    padding: bool,
    #[buffer] aad: &[u8],
    set_aad: bool,
) -> Result<(), JsErrorBox> {
    let s = stream(state, id)?;
    s.padding = padding;
    if set_aad {
        match &mut s.mode {
            Mode::Gcm { aad: stored, started: false, .. } => *stored = aad.to_vec(),
            Mode::ChaCha { aad: stored, .. } => *stored = aad.to_vec(),
            Mode::Gcm { .. } => return Err(err("Invalid state for operation setAAD")),
            _ => return Err(err("Invalid state for operation setAAD")),
        }
    }
    Ok(())
}

fn gcm_hash_text(hash: &mut ghash::GHash, partial: &mut Vec<u8>, text: &[u8]) {
    partial.extend_from_slice(text);
    let whole = partial.len() - partial.len() % 16;
    if whole > 0 {
        hash.update_padded(&partial[..whole]);
        partial.drain(..whole);
    }
}

#[op2]
#[serde]
pub fn op_chatfn_cipher_update(state: &mut OpState, id: u32, #[buffer] data: &[u8]) -> Result<ToJsBuffer, JsErrorBox> {
    let s = stream(state, id)?;
    let encrypt = s.encrypt;
    let padding = s.padding;
    let mut out = Vec::with_capacity(data.len() + 16);
    match &mut s.mode {
        Mode::Cbc { prev, pending } => {
            let aes = s.aes.as_ref().expect("AES modes have a cipher");
            pending.extend_from_slice(data);
            // Decrypting with padding keeps the last block for `final`.
            let least = if !encrypt && padding { 32 } else { 16 };
            while pending.len() >= least {
                let mut block: [u8; 16] = pending[..16].try_into().expect("16 bytes");
                pending.drain(..16);
                if encrypt {
                    for (b, p) in block.iter_mut().zip(prev.iter()) {
                        *b ^= p;
                    }
                    aes.encrypt(&mut block);
                    *prev = block;
                    out.extend_from_slice(&block);
                } else {
                    let cipher_block = block;
                    aes.decrypt(&mut block);
                    for (b, p) in block.iter_mut().zip(prev.iter()) {
                        *b ^= p;
                    }
                    *prev = cipher_block;
                    out.extend_from_slice(&block);
                }
            }
        }
        Mode::Ctr(keystream) => {
            out.extend_from_slice(data);
            keystream.apply(s.aes.as_ref().expect("AES modes have a cipher"), &mut out);
        }
        Mode::Gcm { stream, hash, aad, aad_len, text_len, partial, started, .. } => {
            if !*started {
                *started = true;
                *aad_len = aad.len() as u64;
                hash.update_padded(aad);
            }
            out.extend_from_slice(data);
            if !encrypt {
                gcm_hash_text(hash, partial, data);
            }
            stream.apply(s.aes.as_ref().expect("AES modes have a cipher"), &mut out);
            if encrypt {
                gcm_hash_text(hash, partial, &out);
            }
            *text_len += data.len() as u64;
        }
        Mode::ChaCha { data: buffered, .. } => buffered.extend_from_slice(data),
    }
    Ok(out.into())
}

#[derive(Serialize)]
pub struct CipherFinal {
    data: ToJsBuffer,
    tag: Option<ToJsBuffer>,
}

#[op2]
#[serde]
pub fn op_chatfn_cipher_final(state: &mut OpState, id: u32, #[buffer] tag: &[u8]) -> Result<CipherFinal, JsErrorBox> {
    let s = state.borrow_mut::<CipherStreams>().streams.remove(&id).ok_or_else(|| err("Unsupported state"))?;
    let bad_decrypt = || err("error:1C800064:Provider routines::bad decrypt");
    let wrong_length = || err("error:1C80006B:Provider routines::wrong final block length");
    let auth_failed = || err("Unsupported state or unable to authenticate data");
    let mut out = Vec::new();
    let mut answer_tag = None;
    match s.mode {
        Mode::Cbc { mut prev, pending } => {
            let aes = s.aes.as_ref().expect("AES modes have a cipher");
            if s.encrypt {
                let mut block = [0u8; 16];
                if s.padding {
                    let pad = 16 - pending.len();
                    block[..pending.len()].copy_from_slice(&pending);
                    block[pending.len()..].fill(pad as u8);
                } else if pending.is_empty() {
                    return Ok(CipherFinal { data: out.into(), tag: None });
                } else {
                    return Err(wrong_length());
                }
                for (b, p) in block.iter_mut().zip(prev.iter()) {
                    *b ^= p;
                }
                aes.encrypt(&mut block);
                out.extend_from_slice(&block);
            } else if s.padding {
                let mut block: [u8; 16] = pending.as_slice().try_into().map_err(|_| wrong_length())?;
                aes.decrypt(&mut block);
                for (b, p) in block.iter_mut().zip(prev.iter_mut()) {
                    *b ^= *p;
                }
                let pad = block[15] as usize;
                if pad == 0 || pad > 16 || block[16 - pad..].iter().any(|&b| b as usize != pad) {
                    return Err(bad_decrypt());
                }
                out.extend_from_slice(&block[..16 - pad]);
            } else if !pending.is_empty() {
                return Err(wrong_length());
            }
        }
        Mode::Ctr(_) => {}
        Mode::Gcm { mut hash, j0, aad, mut aad_len, text_len, partial, started, .. } => {
            if !started {
                aad_len = aad.len() as u64;
                hash.update_padded(&aad);
            }
            hash.update_padded(&partial);
            let mut lengths = [0u8; 16];
            lengths[..8].copy_from_slice(&(aad_len * 8).to_be_bytes());
            lengths[8..].copy_from_slice(&(text_len * 8).to_be_bytes());
            hash.update(&[lengths.into()]);
            let mut full: [u8; 16] = hash.finalize().into();
            let mut mask = j0;
            s.aes.as_ref().expect("AES modes have a cipher").encrypt(&mut mask);
            for (t, m) in full.iter_mut().zip(mask.iter()) {
                *t ^= m;
            }
            if s.encrypt {
                answer_tag = Some(full[..s.tag_length].to_vec().into());
            } else {
                if tag.len() < 4 || tag.len() > 16 {
                    return Err(auth_failed());
                }
                let diff = tag.iter().zip(full.iter()).fold(0u8, |d, (a, b)| d | (a ^ b));
                if diff != 0 {
                    return Err(auth_failed());
                }
            }
        }
        Mode::ChaCha { key, nonce, aad, data } => {
            use chacha20poly1305::aead::{AeadInPlace, KeyInit as _};
            let cipher =
                chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key).map_err(|_| err("Invalid key length"))?;
            let nonce = GenericArray::from_slice(&nonce);
            let mut buffer = data;
            if s.encrypt {
                let full =
                    cipher.encrypt_in_place_detached(nonce, &aad, &mut buffer).map_err(|_| err("encryption failed"))?;
                answer_tag = Some(full[..s.tag_length].to_vec().into());
            } else {
                if tag.len() != 16 {
                    return Err(auth_failed());
                }
                cipher
                    .decrypt_in_place_detached(nonce, &aad, &mut buffer, GenericArray::from_slice(tag))
                    .map_err(|_| auth_failed())?;
            }
            out = buffer;
        }
    }
    Ok(CipherFinal { data: out.into(), tag: answer_tag })
}

#[op2(fast)]
pub fn op_chatfn_cipher_close(state: &mut OpState, id: u32) {
    state.borrow_mut::<CipherStreams>().streams.remove(&id);
}

deno_core::extension!(
    chatfn_cipher,
    ops = [
        op_chatfn_cipher_new,
        op_chatfn_cipher_options,
        op_chatfn_cipher_update,
        op_chatfn_cipher_final,
        op_chatfn_cipher_close
    ],
    state = |state| {
        state.put(CipherStreams::default());
    },
);

/// The capability: its ops (the JavaScript over them is among the built-ins
/// in `js-runtime/node/`, compiled when first required).
pub(super) fn extension() -> deno_core::Extension {
    chatfn_cipher::init()
}
