//! The host side of `require("crypto")` and the global `crypto`: digests,
//! HMACs and random bytes (see `js-runtime/node/crypto.js` and `web.js`).

use deno_core::{op2, serde_v8, ToJsBuffer};
use deno_error::JsErrorBox;
use hmac::Mac;
use sha2::Digest;

/// Largest request for random bytes (as Web Crypto's `getRandomValues`).
const MAX_RANDOM_BYTES: usize = 65_536;

fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The digest of `data` with `algorithm`, or its HMAC when a `key` is given.
#[op2]
#[serde]
pub fn op_chatfn_digest(
    #[string] algorithm: &str,
    #[serde] key: Option<serde_v8::JsBuffer>,
    #[serde] data: serde_v8::JsBuffer,
) -> Result<ToJsBuffer, JsErrorBox> {
    let out = match (algorithm, key) {
        ("md5", None) => md5::Md5::digest(&data).to_vec(),
        ("sha1", None) => sha1::Sha1::digest(&data).to_vec(),
        ("sha224", None) => sha2::Sha224::digest(&data).to_vec(),
        ("sha256", None) => sha2::Sha256::digest(&data).to_vec(),
        ("sha384", None) => sha2::Sha384::digest(&data).to_vec(),
        ("sha512", None) => sha2::Sha512::digest(&data).to_vec(),
        ("md5", Some(key)) => hmac::<hmac::Hmac<md5::Md5>>(&key, &data),
        ("sha1", Some(key)) => hmac::<hmac::Hmac<sha1::Sha1>>(&key, &data),
        ("sha224", Some(key)) => hmac::<hmac::Hmac<sha2::Sha224>>(&key, &data),
        ("sha256", Some(key)) => hmac::<hmac::Hmac<sha2::Sha256>>(&key, &data),
        ("sha384", Some(key)) => hmac::<hmac::Hmac<sha2::Sha384>>(&key, &data),
        ("sha512", Some(key)) => hmac::<hmac::Hmac<sha2::Sha512>>(&key, &data),
        (other, _) => return Err(JsErrorBox::generic(format!("Digest method not supported: {other}"))),
    };
    Ok(out.into())
}

#[op2]
#[serde]
pub fn op_chatfn_random_bytes(#[smi] size: u32) -> Result<ToJsBuffer, JsErrorBox> {
    let size = size as usize;
    if size > MAX_RANDOM_BYTES {
        return Err(JsErrorBox::range_error(format!("at most {MAX_RANDOM_BYTES} random bytes at once")));
    }
    let mut bytes = vec![0u8; size];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    Ok(bytes.into())
}

deno_core::extension!(chatfn_crypto, ops = [op_chatfn_digest, op_chatfn_random_bytes]);

/// The capability: its ops (the JavaScript over them is among the built-ins
/// in `js-runtime/node/`, compiled when first required).
pub(super) fn extension() -> deno_core::Extension {
    chatfn_crypto::init()
}
