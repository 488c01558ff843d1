//! The asymmetric half of `node:crypto` and `crypto.subtle` (see
//! `js-runtime/node/crypto.js`), by RustCrypto: keys (RSA, RSA-PSS, EC on
//! P-256/P-384/secp256k1, Ed25519, X25519) imported from PEM, DER or JWK
//! and handed to JavaScript as canonical DER (PKCS#8 for private keys,
//! SPKI for public ones); signatures, RSA encryption, ECDH, key
//! generation; and the KDFs (HKDF, PBKDF2, scrypt). Ciphers are in
//! `cipher.rs`. Work a script can ask for is bounded (key
//! sizes, iterations, memory), since an op cannot be interrupted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use deno_core::{op2, OpState, ToJsBuffer};
use deno_error::JsErrorBox;
use pkcs8::der::asn1::BitStringRef;
use pkcs8::der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, ObjectIdentifier};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;
use spki::EncodePublicKey;

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const K256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// Largest RSA key generated or used (a 16k-bit key takes minutes).
const MAX_RSA_BITS: usize = 8192;
const MAX_RSA_GENERATE_BITS: usize = 4096;
/// PBKDF2 iterations and scrypt memory one call may ask for.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_BYTES: u64 = 64 * 1024 * 1024;
const MAX_DERIVED_BYTES: usize = 1024 * 1024;

fn err(message: impl Into<String>) -> JsErrorBox {
    JsErrorBox::generic(message.into())
}
fn type_err(message: impl Into<String>) -> JsErrorBox {
    JsErrorBox::type_error(message.into())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Curve {
    P256,
    P384,
    K256,
}

impl Curve {
    fn from_oid(oid: ObjectIdentifier) -> Result<Curve, JsErrorBox> {
        match oid {
            P256 => Ok(Curve::P256),
            P384 => Ok(Curve::P384),
            K256 => Ok(Curve::K256),
            other => Err(err(format!("Unsupported elliptic curve {other}"))),
        }
    }
    fn from_name(name: &str) -> Result<Curve, JsErrorBox> {
        match name {
            "prime256v1" | "P-256" | "secp256r1" => Ok(Curve::P256),
            "secp384r1" | "P-384" => Ok(Curve::P384),
            "secp256k1" => Ok(Curve::K256),
            other => Err(type_err(format!("Invalid EC curve name {other}"))),
        }
    }
    /// Node's name (`asymmetricKeyDetails.namedCurve`).
    fn node_name(self) -> &'static str {
        match self {
            Curve::P256 => "prime256v1",
            Curve::P384 => "secp384r1",
            Curve::K256 => "secp256k1",
        }
    }
}

/// One key, parsed.
enum Key {
    RsaPrivate(Box<RsaPrivateKey>, bool),
    RsaPublic(RsaPublicKey, bool),
    P256Private(p256::SecretKey),
    P256Public(p256::PublicKey),
    P384Private(p384::SecretKey),
    P384Public(p384::PublicKey),
    K256Private(k256::SecretKey),
    K256Public(k256::PublicKey),
    Ed25519Private(ed25519_dalek::SigningKey),
    Ed25519Public(ed25519_dalek::VerifyingKey),
    X25519Private(x25519_dalek::StaticSecret),
    X25519Public(x25519_dalek::PublicKey),
}

fn bad_key(e: impl std::fmt::Display) -> JsErrorBox {
    err(format!("error:1E08010C:DECODER routines::unsupported ({e})"))
}

impl Key {
    fn from_pkcs8(der: &[u8]) -> Result<Key, JsErrorBox> {
        let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(bad_key)?;
        match info.algorithm.oid {
            RSA | RSA_PSS => {
                let pss = info.algorithm.oid == RSA_PSS;
                let key = RsaPrivateKey::from_pkcs1_der(info.private_key).map_err(bad_key)?;
                Ok(Key::RsaPrivate(Box::new(key), pss))
            }
            EC => match Curve::from_oid(info.algorithm.parameters_oid().map_err(bad_key)?)? {
                Curve::P256 => Ok(Key::P256Private(p256::SecretKey::from_pkcs8_der(der).map_err(bad_key)?)),
                Curve::P384 => Ok(Key::P384Private(p384::SecretKey::from_pkcs8_der(der).map_err(bad_key)?)),
                Curve::K256 => Ok(Key::K256Private(k256::SecretKey::from_pkcs8_der(der).map_err(bad_key)?)),
            },
            ED25519 => Ok(Key::Ed25519Private(ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(bad_key)?)),
            X25519 => {
                let raw = pkcs8::der::asn1::OctetStringRef::from_der(info.private_key).map_err(bad_key)?;
                let bytes: [u8; 32] = raw.as_bytes().try_into().map_err(|_| bad_key("X25519 keys are 32 bytes"))?;
                Ok(Key::X25519Private(x25519_dalek::StaticSecret::from(bytes)))
            }
            other => Err(err(format!("Unsupported key algorithm {other}"))),
        }
    }

    fn from_spki(der: &[u8]) -> Result<Key, JsErrorBox> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(bad_key)?;
        let raw = info.subject_public_key.raw_bytes();
        match info.algorithm.oid {
            RSA | RSA_PSS => {
                Ok(Key::RsaPublic(RsaPublicKey::from_pkcs1_der(raw).map_err(bad_key)?, info.algorithm.oid == RSA_PSS))
            }
            EC => match Curve::from_oid(info.algorithm.parameters_oid().map_err(bad_key)?)? {
                Curve::P256 => Ok(Key::P256Public(p256::PublicKey::from_sec1_bytes(raw).map_err(bad_key)?)),
                Curve::P384 => Ok(Key::P384Public(p384::PublicKey::from_sec1_bytes(raw).map_err(bad_key)?)),
                Curve::K256 => Ok(Key::K256Public(k256::PublicKey::from_sec1_bytes(raw).map_err(bad_key)?)),
            },
            ED25519 => {
                let bytes: [u8; 32] = raw.try_into().map_err(|_| bad_key("Ed25519 keys are 32 bytes"))?;
                Ok(Key::Ed25519Public(ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(bad_key)?))
            }
            X25519 => {
                let bytes: [u8; 32] = raw.try_into().map_err(|_| bad_key("X25519 keys are 32 bytes"))?;
                Ok(Key::X25519Public(x25519_dalek::PublicKey::from(bytes)))
            }
            other => Err(err(format!("Unsupported key algorithm {other}"))),
        }
    }

    fn from_der(der: &[u8], kind: &str) -> Result<Key, JsErrorBox> {
        if kind == "private" {
            Key::from_pkcs8(der)
        } else {
            Key::from_spki(der)
        }
    }

    fn is_private(&self) -> bool {
        matches!(
            self,
            Key::RsaPrivate(..)
                | Key::P256Private(_)
                | Key::P384Private(_)
                | Key::K256Private(_)
                | Key::Ed25519Private(_)
                | Key::X25519Private(_)
        )
    }

    fn public(&self) -> Key {
        match self {
            Key::RsaPrivate(k, pss) => Key::RsaPublic(k.to_public_key(), *pss),
            Key::P256Private(k) => Key::P256Public(k.public_key()),
            Key::P384Private(k) => Key::P384Public(k.public_key()),
            Key::K256Private(k) => Key::K256Public(k.public_key()),
            Key::Ed25519Private(k) => Key::Ed25519Public(k.verifying_key()),
            Key::X25519Private(k) => Key::X25519Public(x25519_dalek::PublicKey::from(k)),
            Key::RsaPublic(k, pss) => Key::RsaPublic(k.clone(), *pss),
            Key::P256Public(k) => Key::P256Public(*k),
            Key::P384Public(k) => Key::P384Public(*k),
            Key::K256Public(k) => Key::K256Public(*k),
            Key::Ed25519Public(k) => Key::Ed25519Public(*k),
            Key::X25519Public(k) => Key::X25519Public(*k),
        }
    }

    /// PKCS#8 (private) or SPKI (public) DER.
    fn to_der(&self) -> Result<Vec<u8>, JsErrorBox> {
        let e = |e: &dyn std::fmt::Display| err(format!("the key cannot be encoded: {e}"));
        Ok(match self {
            Key::RsaPrivate(k, _) => k.to_pkcs8_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::P256Private(k) => k.to_pkcs8_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::P384Private(k) => k.to_pkcs8_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::K256Private(k) => k.to_pkcs8_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::Ed25519Private(k) => k.to_pkcs8_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::X25519Private(k) => {
                let inner = pkcs8::der::asn1::OctetStringRef::new(k.as_bytes())
                    .map_err(|x| e(&x))?
                    .to_der()
                    .map_err(|x| e(&x))?;
                let info =
                    pkcs8::PrivateKeyInfo::new(pkcs8::AlgorithmIdentifierRef { oid: X25519, parameters: None }, &inner);
                info.to_der().map_err(|x| e(&x))?
            }
            Key::RsaPublic(k, _) => k.to_public_key_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::P256Public(k) => k.to_public_key_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::P384Public(k) => k.to_public_key_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::K256Public(k) => k.to_public_key_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::Ed25519Public(k) => k.to_public_key_der().map_err(|x| e(&x))?.as_bytes().to_vec(),
            Key::X25519Public(k) => {
                let info = spki::SubjectPublicKeyInfoRef {
                    algorithm: spki::AlgorithmIdentifierRef { oid: X25519, parameters: None },
                    subject_public_key: BitStringRef::from_bytes(k.as_bytes()).map_err(|x| e(&x))?,
                };
                info.to_der().map_err(|x| e(&x))?
            }
        })
    }

    fn describe(&self) -> Result<KeyInfo, JsErrorBox> {
        let (key_type, modulus_length, public_exponent, named_curve) = match self {
            Key::RsaPrivate(k, pss) => rsa_details(&k.to_public_key(), *pss),
            Key::RsaPublic(k, pss) => rsa_details(k, *pss),
            Key::P256Private(_) | Key::P256Public(_) => ("ec", None, None, Some(Curve::P256.node_name())),
            Key::P384Private(_) | Key::P384Public(_) => ("ec", None, None, Some(Curve::P384.node_name())),
            Key::K256Private(_) | Key::K256Public(_) => ("ec", None, None, Some(Curve::K256.node_name())),
            Key::Ed25519Private(_) | Key::Ed25519Public(_) => ("ed25519", None, None, None),
            Key::X25519Private(_) | Key::X25519Public(_) => ("x25519", None, None, None),
        };
        Ok(KeyInfo {
            kind: if self.is_private() { "private" } else { "public" },
            key_type,
            der: self.to_der()?.into(),
            modulus_length,
            public_exponent,
            named_curve,
        })
    }

    fn to_jwk(&self) -> Result<Value, JsErrorBox> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let big = |n: &BigUint| b64(&n.to_bytes_be());
        let parse = |s: String| serde_json::from_str::<Value>(&s).map_err(|e| err(e.to_string()));
        Ok(match self {
            Key::RsaPrivate(k, _) => {
                let mut k = (**k).clone();
                k.precompute().map_err(|e| err(e.to_string()))?;
                let primes = k.primes();
                let mut jwk = json!({"kty": "RSA", "n": big(k.n()), "e": big(k.e()), "d": big(k.d()),
                    "p": big(&primes[0]), "q": big(&primes[1])});
                if let (Some(dp), Some(dq), Some(qi)) = (k.dp(), k.dq(), k.qinv()) {
                    jwk["dp"] = json!(big(dp));
                    jwk["dq"] = json!(big(dq));
                    jwk["qi"] = json!(b64(&qi.to_bytes_be().1));
                }
                jwk
            }
            Key::RsaPublic(k, _) => json!({"kty": "RSA", "n": big(k.n()), "e": big(k.e())}),
            Key::P256Private(k) => parse(k.to_jwk_string().to_string())?,
            Key::P256Public(k) => parse(k.to_jwk_string())?,
            Key::P384Private(k) => parse(k.to_jwk_string().to_string())?,
            Key::P384Public(k) => parse(k.to_jwk_string())?,
            Key::K256Private(k) => parse(k.to_jwk_string().to_string())?,
            Key::K256Public(k) => parse(k.to_jwk_string())?,
            Key::Ed25519Private(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.verifying_key().as_bytes()), "d": b64(k.as_bytes())})
            }
            Key::Ed25519Public(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.as_bytes())}),
            Key::X25519Private(k) => json!({"kty": "OKP", "crv": "X25519",
                "x": b64(x25519_dalek::PublicKey::from(k).as_bytes()), "d": b64(k.as_bytes())}),
            Key::X25519Public(k) => json!({"kty": "OKP", "crv": "X25519", "x": b64(k.as_bytes())}),
        })
    }

    fn from_jwk(jwk: &Value, want_private: bool) -> Result<Key, JsErrorBox> {
        let field = |name: &str| -> Result<Vec<u8>, JsErrorBox> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| type_err(format!("Invalid JWK: \"{name}\" is missing")))?;
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| type_err(format!("Invalid JWK: \"{name}\" is not base64url")))
        };
        let private = want_private && jwk.get("d").is_some();
        let text = jwk.to_string();
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = BigUint::from_bytes_be(&field("n")?);
                let e = BigUint::from_bytes_be(&field("e")?);
                if private {
                    let d = BigUint::from_bytes_be(&field("d")?);
                    let primes = vec![BigUint::from_bytes_be(&field("p")?), BigUint::from_bytes_be(&field("q")?)];
                    let key = RsaPrivateKey::from_components(n, e, d, primes)
                        .map_err(|e| type_err(format!("Invalid JWK RSA key: {e}")))?;
                    Ok(Key::RsaPrivate(Box::new(key), false))
                } else {
                    Ok(Key::RsaPublic(
                        RsaPublicKey::new(n, e).map_err(|e| type_err(format!("Invalid JWK RSA key: {e}")))?,
                        false,
                    ))
                }
            }
            Some("EC") => {
                let invalid = |e: &dyn std::fmt::Display| type_err(format!("Invalid JWK EC key: {e}"));
                match jwk.get("crv").and_then(Value::as_str).unwrap_or("") {
                    "P-256" if private => {
                        Ok(Key::P256Private(p256::SecretKey::from_jwk_str(&text).map_err(|e| invalid(&e))?))
                    }
                    "P-256" => Ok(Key::P256Public(p256::PublicKey::from_jwk_str(&text).map_err(|e| invalid(&e))?)),
                    "P-384" if private => {
                        Ok(Key::P384Private(p384::SecretKey::from_jwk_str(&text).map_err(|e| invalid(&e))?))
                    }
                    "P-384" => Ok(Key::P384Public(p384::PublicKey::from_jwk_str(&text).map_err(|e| invalid(&e))?)),
                    "secp256k1" if private => {
                        Ok(Key::K256Private(k256::SecretKey::from_jwk_str(&text).map_err(|e| invalid(&e))?))
                    }
                    "secp256k1" => Ok(Key::K256Public(k256::PublicKey::from_jwk_str(&text).map_err(|e| invalid(&e))?)),
                    other => Err(type_err(format!("Unsupported JWK EC curve: {other}"))),
                }
            }
            Some("OKP") => {
                let bytes32 = |name: &str| -> Result<[u8; 32], JsErrorBox> {
                    field(name)?.try_into().map_err(|_| type_err(format!("Invalid JWK: \"{name}\" must be 32 bytes")))
                };
                match jwk.get("crv").and_then(Value::as_str).unwrap_or("") {
                    "Ed25519" if private => {
                        Ok(Key::Ed25519Private(ed25519_dalek::SigningKey::from_bytes(&bytes32("d")?)))
                    }
                    "Ed25519" => Ok(Key::Ed25519Public(
                        ed25519_dalek::VerifyingKey::from_bytes(&bytes32("x")?).map_err(|e| type_err(e.to_string()))?,
                    )),
                    "X25519" if private => Ok(Key::X25519Private(x25519_dalek::StaticSecret::from(bytes32("d")?))),
                    "X25519" => Ok(Key::X25519Public(x25519_dalek::PublicKey::from(bytes32("x")?))),
                    other => Err(type_err(format!("Unsupported JWK OKP curve: {other}"))),
                }
            }
            Some("oct") => Err(type_err("A secret JWK is a secret key: use createSecretKey")),
            _ => Err(type_err("Invalid JWK: \"kty\" must be RSA, EC or OKP")),
        }
    }
}

fn rsa_details(k: &RsaPublicKey, pss: bool) -> (&'static str, Option<u32>, Option<f64>, Option<&'static str>) {
    let exponent = k.e().to_bytes_be().iter().fold(0f64, |n, b| n * 256.0 + *b as f64);
    (if pss { "rsa-pss" } else { "rsa" }, Some(k.n().bits() as u32), Some(exponent), None)
}

/// A key as JavaScript holds it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    kind: &'static str,
    key_type: &'static str,
    der: ToJsBuffer,
    #[serde(skip_serializing_if = "Option::is_none")]
    modulus_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_exponent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    named_curve: Option<&'static str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportArgs {
    /// "private" or "public" (a private key given for a public one yields its public half).
    kind: String,
    /// "pem", "der" or "jwk".
    format: String,
    /// For DER: "pkcs8", "pkcs1", "sec1" or "spki".
    #[serde(default)]
    r#type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    jwk: Option<Value>,
}

fn parse_pem(text: &str) -> Result<(String, Vec<u8>), JsErrorBox> {
    let start = text.find("-----BEGIN ").ok_or_else(|| bad_key("no PEM header"))?;
    let (label, der) = pem_rfc7468::decode_vec(text[start..].trim().as_bytes()).map_err(bad_key)?;
    Ok((label.to_string(), der))
}

fn import(args: &ImportArgs, data: Option<&[u8]>) -> Result<Key, JsErrorBox> {
    let want_private = args.kind == "private";
    let key = match args.format.as_str() {
        "jwk" => Key::from_jwk(args.jwk.as_ref().ok_or_else(|| type_err("Invalid JWK"))?, want_private)?,
        "pem" => {
            let (label, der) = parse_pem(args.text.as_deref().unwrap_or(""))?;
            match label.as_str() {
                "PRIVATE KEY" => Key::from_pkcs8(&der)?,
                "RSA PRIVATE KEY" => {
                    Key::RsaPrivate(Box::new(RsaPrivateKey::from_pkcs1_der(&der).map_err(bad_key)?), false)
                }
                "EC PRIVATE KEY" => sec1_key(&der)?,
                "PUBLIC KEY" => Key::from_spki(&der)?,
                "RSA PUBLIC KEY" => Key::RsaPublic(RsaPublicKey::from_pkcs1_der(&der).map_err(bad_key)?, false),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(err("Encrypted private keys are not supported in chat functions"))
                }
                "CERTIFICATE" => return Err(err("X.509 certificates are not supported as keys in chat functions")),
                other => return Err(bad_key(format!("PEM label {other}"))),
            }
        }
        "der" => {
            let der = data.ok_or_else(|| type_err("The key data is missing"))?;
            match args.r#type.as_deref().unwrap_or(if want_private { "pkcs8" } else { "spki" }) {
                "pkcs8" => Key::from_pkcs8(der)?,
                "pkcs1" if want_private => {
                    Key::RsaPrivate(Box::new(RsaPrivateKey::from_pkcs1_der(der).map_err(bad_key)?), false)
                }
                "pkcs1" => match RsaPublicKey::from_pkcs1_der(der) {
                    Ok(k) => Key::RsaPublic(k, false),
                    Err(_) => Key::RsaPrivate(Box::new(RsaPrivateKey::from_pkcs1_der(der).map_err(bad_key)?), false),
                },
                "sec1" => sec1_key(der)?,
                "spki" => Key::from_spki(der)?,
                other => return Err(type_err(format!("Invalid key type {other}"))),
            }
        }
        other => return Err(type_err(format!("Invalid key format {other}"))),
    };
    if want_private && !key.is_private() {
        return Err(type_err("A public key was given where a private key is needed"));
    }
    Ok(if want_private { key } else { key.public() })
}

fn sec1_key(der: &[u8]) -> Result<Key, JsErrorBox> {
    let parsed = sec1::EcPrivateKey::from_der(der).map_err(bad_key)?;
    let oid = parsed.parameters.and_then(|p| p.named_curve()).ok_or_else(|| bad_key("the EC key names no curve"))?;
    Ok(match Curve::from_oid(oid)? {
        Curve::P256 => Key::P256Private(p256::SecretKey::from_sec1_der(der).map_err(bad_key)?),
        Curve::P384 => Key::P384Private(p384::SecretKey::from_sec1_der(der).map_err(bad_key)?),
        Curve::K256 => Key::K256Private(k256::SecretKey::from_sec1_der(der).map_err(bad_key)?),
    })
}

#[op2]
#[serde]
pub fn op_chatfn_key_import(#[serde] args: ImportArgs, #[buffer] data: Option<&[u8]>) -> Result<KeyInfo, JsErrorBox> {
    let key = import(&args, data)?;
    if let Key::RsaPrivate(k, _) = &key {
        if k.n().bits() > MAX_RSA_BITS {
            return Err(err(format!("RSA keys of more than {MAX_RSA_BITS} bits are not supported")));
        }
    }
    key.describe()
}

/// Exports a key held as canonical DER: `format` pem, der or jwk; `type`
/// pkcs8, pkcs1, sec1 or spki.
#[op2]
#[serde]
pub fn op_chatfn_key_export(
    #[buffer] der: &[u8],
    #[string] kind: &str,
    #[string] format: &str,
    #[string] r#type: &str,
) -> Result<serde_json::Value, JsErrorBox> {
    let key = Key::from_der(der, kind)?;
    if format == "jwk" {
        return key.to_jwk();
    }
    let unsupported = || type_err(format!("The selected key encoding {type} is not supported for this key"));
    let (label, bytes): (&str, Vec<u8>) = match (&key, r#type) {
        (_, "pkcs8") if key.is_private() => ("PRIVATE KEY", der.to_vec()),
        (_, "spki") if !key.is_private() => ("PUBLIC KEY", der.to_vec()),
        (Key::RsaPrivate(k, _), "pkcs1") => {
            ("RSA PRIVATE KEY", k.to_pkcs1_der().map_err(|e| err(e.to_string()))?.as_bytes().to_vec())
        }
        (Key::RsaPublic(k, _), "pkcs1") => {
            ("RSA PUBLIC KEY", k.to_pkcs1_der().map_err(|e| err(e.to_string()))?.as_bytes().to_vec())
        }
        (Key::P256Private(k), "sec1") => ("EC PRIVATE KEY", k.to_sec1_der().map_err(|e| err(e.to_string()))?.to_vec()),
        (Key::P384Private(k), "sec1") => ("EC PRIVATE KEY", k.to_sec1_der().map_err(|e| err(e.to_string()))?.to_vec()),
        (Key::K256Private(k), "sec1") => ("EC PRIVATE KEY", k.to_sec1_der().map_err(|e| err(e.to_string()))?.to_vec()),
        _ => return Err(unsupported()),
    };
    if format == "pem" {
        let pem =
            pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &bytes).map_err(|e| err(e.to_string()))?;
        Ok(Value::String(pem))
    } else {
        Ok(Value::Array(bytes.into_iter().map(Value::from).collect()))
    }
}

/// The public half of a private key, as SPKI.
#[op2]
#[serde]
pub fn op_chatfn_key_public(#[buffer] der: &[u8]) -> Result<KeyInfo, JsErrorBox> {
    Key::from_pkcs8(der)?.public().describe()
}

fn digest(hash: &str, data: &[u8]) -> Result<Vec<u8>, JsErrorBox> {
    Ok(match hash.to_ascii_lowercase().trim_start_matches("rsa-").replace("sha-", "sha").as_str() {
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        "md5" => md5::Md5::digest(data).to_vec(),
        other => return Err(err(format!("Invalid digest: {other}"))),
    })
}

macro_rules! with_hash {
    ($hash:expr, $h:ident => $body:expr) => {
        match $hash.to_ascii_lowercase().trim_start_matches("rsa-").replace("sha-", "sha").as_str() {
            "sha1" => {
                type $h = sha1::Sha1;
                $body
            }
            "sha224" => {
                type $h = sha2::Sha224;
                $body
            }
            "sha256" => {
                type $h = sha2::Sha256;
                $body
            }
            "sha384" => {
                type $h = sha2::Sha384;
                $body
            }
            "sha512" => {
                type $h = sha2::Sha512;
                $body
            }
            other => Err(err(format!("Invalid digest: {other}"))),
        }
    };
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignArgs {
    /// Digest name; none for Ed25519.
    #[serde(default)]
    hash: Option<String>,
    /// RSA padding: 1 PKCS#1 v1.5, 6 PSS.
    #[serde(default)]
    padding: Option<u32>,
    /// PSS salt length; -1 the digest's length, -2 the largest.
    #[serde(default)]
    salt_length: Option<i64>,
    /// ECDSA signature encoding: "der" (default) or "ieee-p1363".
    #[serde(default)]
    dsa_encoding: Option<String>,
}

/// A PSS salt length: -1 the digest's length; -2 or none the largest (a
/// verifier given none accepts any, see `op_chatfn_verify`).
fn pss_salt(args: &SignArgs, key_bytes: usize, hash_len: usize) -> usize {
    match args.salt_length {
        Some(-1) => hash_len,
        Some(n) if n >= 0 => n as usize,
        _ => key_bytes.saturating_sub(hash_len + 2),
    }
}

#[op2]
#[serde]
pub fn op_chatfn_sign(
    #[buffer] der: &[u8],
    #[serde] args: SignArgs,
    #[buffer] data: &[u8],
) -> Result<ToJsBuffer, JsErrorBox> {
    use ecdsa::signature::hazmat::PrehashSigner;
    let key = Key::from_pkcs8(der)?;
    let p1363 = args.dsa_encoding.as_deref() == Some("ieee-p1363");
    let hash = || args.hash.clone().unwrap_or_else(|| "sha256".into());
    let failed = |e: &dyn std::fmt::Display| err(format!("signing failed: {e}"));
    macro_rules! ecdsa_sign {
        ($curve:ident, $k:expr) => {{
            let sig: $curve::ecdsa::Signature =
                $curve::ecdsa::SigningKey::from($k).sign_prehash(&digest(&hash(), data)?).map_err(|e| failed(&e))?;
            if p1363 {
                sig.to_bytes().to_vec()
            } else {
                sig.to_der().as_bytes().to_vec()
            }
        }};
    }
    let out: Vec<u8> = match &key {
        Key::RsaPrivate(k, pss) => {
            let hashed = digest(&hash(), data)?;
            if *pss || args.padding == Some(6) {
                let salt = pss_salt(&args, k.size(), hashed.len());
                with_hash!(hash(), H => k.sign_with_rng(&mut rand::rngs::OsRng, rsa::Pss::new_with_salt::<H>(salt), &hashed).map_err(|e| failed(&e)))?
            } else {
                with_hash!(hash(), H => k.sign(rsa::Pkcs1v15Sign::new::<H>(), &hashed).map_err(|e| failed(&e)))?
            }
        }
        Key::P256Private(k) => ecdsa_sign!(p256, k),
        Key::P384Private(k) => ecdsa_sign!(p384, k),
        Key::K256Private(k) => ecdsa_sign!(k256, k),
        Key::Ed25519Private(k) => {
            use ed25519_dalek::Signer;
            k.sign(data).to_bytes().to_vec()
        }
        _ => return Err(type_err("This key type cannot sign")),
    };
    Ok(out.into())
}

#[op2]
pub fn op_chatfn_verify(
    #[buffer] der: &[u8],
    #[serde] args: SignArgs,
    #[buffer] data: &[u8],
    #[buffer] signature: &[u8],
) -> Result<bool, JsErrorBox> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    let key = Key::from_spki(der)?;
    let p1363 = args.dsa_encoding.as_deref() == Some("ieee-p1363");
    let hash = || args.hash.clone().unwrap_or_else(|| "sha256".into());
    macro_rules! ecdsa_verify {
        ($curve:ident, $k:expr) => {{
            let sig = if p1363 {
                $curve::ecdsa::Signature::from_slice(signature)
            } else {
                $curve::ecdsa::Signature::from_der(signature)
            };
            match sig {
                Ok(sig) => $curve::ecdsa::VerifyingKey::from($k).verify_prehash(&digest(&hash(), data)?, &sig).is_ok(),
                Err(_) => false,
            }
        }};
    }
    Ok(match &key {
        Key::RsaPublic(k, pss) => {
            let hashed = digest(&hash(), data)?;
            if *pss || args.padding == Some(6) {
                let salt = pss_salt(&args, k.size(), hashed.len());
                let auto = args.salt_length.is_none() || args.salt_length == Some(-2);
                with_hash!(hash(), H => Ok::<bool, JsErrorBox>(if auto {
                    k.verify(rsa::Pss::new::<H>(), &hashed, signature).is_ok()
                } else {
                    k.verify(rsa::Pss::new_with_salt::<H>(salt), &hashed, signature).is_ok()
                }))?
            } else {
                with_hash!(hash(), H => Ok::<bool, JsErrorBox>(k.verify(rsa::Pkcs1v15Sign::new::<H>(), &hashed, signature).is_ok()))?
            }
        }
        Key::P256Public(k) => ecdsa_verify!(p256, k),
        Key::P384Public(k) => ecdsa_verify!(p384, k),
        Key::K256Public(k) => ecdsa_verify!(k256, k),
        Key::Ed25519Public(k) => match ed25519_dalek::Signature::from_slice(signature) {
            Ok(sig) => k.verify_strict(data, &sig).is_ok(),
            Err(_) => false,
        },
        _ => return Err(type_err("This key type cannot verify")),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateArgs {
    r#type: String,
    #[serde(default)]
    modulus_length: Option<usize>,
    #[serde(default)]
    public_exponent: Option<u64>,
    #[serde(default)]
    named_curve: Option<String>,
}

#[derive(Serialize)]
pub struct KeyPair {
    private: KeyInfo,
    public: KeyInfo,
}

#[op2]
#[serde]
pub fn op_chatfn_generate_key_pair(#[serde] args: GenerateArgs) -> Result<KeyPair, JsErrorBox> {
    let mut rng = rand::rngs::OsRng;
    let key = match args.r#type.as_str() {
        "rsa" | "rsa-pss" => {
            let bits = args
                .modulus_length
                .ok_or_else(|| type_err("The \"options.modulusLength\" property must be of type number"))?;
            if !(512..=MAX_RSA_GENERATE_BITS).contains(&bits) {
                return Err(err(format!(
                    "RSA keys of {bits} bits cannot be generated in chat functions (512 to {MAX_RSA_GENERATE_BITS})"
                )));
            }
            let exponent = BigUint::from(args.public_exponent.unwrap_or(65537));
            let key = RsaPrivateKey::new_with_exp(&mut rng, bits, &exponent).map_err(|e| err(e.to_string()))?;
            Key::RsaPrivate(Box::new(key), args.r#type == "rsa-pss")
        }
        "ec" => match Curve::from_name(args.named_curve.as_deref().unwrap_or(""))? {
            Curve::P256 => Key::P256Private(p256::SecretKey::random(&mut rng)),
            Curve::P384 => Key::P384Private(p384::SecretKey::random(&mut rng)),
            Curve::K256 => Key::K256Private(k256::SecretKey::random(&mut rng)),
        },
        "ed25519" => Key::Ed25519Private(ed25519_dalek::SigningKey::generate(&mut rng)),
        "x25519" => Key::X25519Private(x25519_dalek::StaticSecret::random_from_rng(rng)),
        other => return Err(type_err(format!("The argument 'type' must be a supported key type. Received '{other}'"))),
    };
    Ok(KeyPair { public: key.public().describe()?, private: key.describe()? })
}

/// ECDH / X25519 between a private key and a public key (both canonical DER).
#[op2]
#[serde]
pub fn op_chatfn_key_derive(#[buffer] private: &[u8], #[buffer] public: &[u8]) -> Result<ToJsBuffer, JsErrorBox> {
    let mismatch = || type_err("Incompatible key types for Diffie-Hellman");
    let secret: Vec<u8> = match (Key::from_pkcs8(private)?, Key::from_spki(public)?) {
        (Key::P256Private(a), Key::P256Public(b)) => {
            p256::ecdh::diffie_hellman(a.to_nonzero_scalar(), b.as_affine()).raw_secret_bytes().to_vec()
        }
        (Key::P384Private(a), Key::P384Public(b)) => {
            p384::ecdh::diffie_hellman(a.to_nonzero_scalar(), b.as_affine()).raw_secret_bytes().to_vec()
        }
        (Key::K256Private(a), Key::K256Public(b)) => {
            k256::ecdh::diffie_hellman(a.to_nonzero_scalar(), b.as_affine()).raw_secret_bytes().to_vec()
        }
        (Key::X25519Private(a), Key::X25519Public(b)) => a.diffie_hellman(&b).as_bytes().to_vec(),
        _ => return Err(mismatch()),
    };
    Ok(secret.into())
}

/// `createECDH`: raw keys of a curve. With `private` empty, a new key.
#[derive(Serialize)]
pub struct EcdhKeys {
    private: ToJsBuffer,
    public: ToJsBuffer,
}

#[op2]
#[serde]
pub fn op_chatfn_ecdh_keys(
    #[string] curve: &str,
    #[buffer] private: &[u8],
    compressed: bool,
) -> Result<EcdhKeys, JsErrorBox> {
    macro_rules! keys {
        ($c:ident) => {{
            let secret = if private.is_empty() {
                $c::SecretKey::random(&mut rand::rngs::OsRng)
            } else {
                $c::SecretKey::from_slice(private).map_err(|_| err("Private key is not valid for specified curve."))?
            };
            use $c::elliptic_curve::sec1::ToEncodedPoint;
            let public = secret.public_key().to_encoded_point(compressed).as_bytes().to_vec();
            EcdhKeys { private: secret.to_bytes().to_vec().into(), public: public.into() }
        }};
    }
    Ok(match Curve::from_name(curve)? {
        Curve::P256 => keys!(p256),
        Curve::P384 => keys!(p384),
        Curve::K256 => keys!(k256),
    })
}

#[op2]
#[serde]
pub fn op_chatfn_ecdh_compute(
    #[string] curve: &str,
    #[buffer] private: &[u8],
    #[buffer] public: &[u8],
) -> Result<ToJsBuffer, JsErrorBox> {
    let invalid = || err("Public key is not valid for specified curve");
    macro_rules! compute {
        ($c:ident) => {{
            let secret =
                $c::SecretKey::from_slice(private).map_err(|_| err("Private key is not valid for specified curve."))?;
            let other = $c::PublicKey::from_sec1_bytes(public).map_err(|_| invalid())?;
            $c::ecdh::diffie_hellman(secret.to_nonzero_scalar(), other.as_affine()).raw_secret_bytes().to_vec()
        }};
    }
    Ok(match Curve::from_name(curve)? {
        Curve::P256 => compute!(p256),
        Curve::P384 => compute!(p384),
        Curve::K256 => compute!(k256),
    }
    .into())
}

/// `ECDH.convertKey`: a public key re-encoded compressed or not.
#[op2]
#[serde]
pub fn op_chatfn_ecdh_convert(
    #[string] curve: &str,
    #[buffer] public: &[u8],
    compressed: bool,
) -> Result<ToJsBuffer, JsErrorBox> {
    macro_rules! convert {
        ($c:ident) => {{
            use $c::elliptic_curve::sec1::ToEncodedPoint;
            let key =
                $c::PublicKey::from_sec1_bytes(public).map_err(|_| err("Failed to convert Buffer to EC_POINT"))?;
            key.to_encoded_point(compressed).as_bytes().to_vec()
        }};
    }
    Ok(match Curve::from_name(curve)? {
        Curve::P256 => convert!(p256),
        Curve::P384 => convert!(p384),
        Curve::K256 => convert!(k256),
    }
    .into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RsaCryptArgs {
    /// "private" or "public": the key the DER is.
    kind: String,
    encrypt: bool,
    /// 1 PKCS#1 v1.5, 4 OAEP.
    padding: u32,
    #[serde(default)]
    oaep_hash: Option<String>,
}

#[op2]
#[serde]
pub fn op_chatfn_rsa_crypt(
    #[buffer] der: &[u8],
    #[serde] args: RsaCryptArgs,
    #[buffer] data: &[u8],
) -> Result<ToJsBuffer, JsErrorBox> {
    let key = Key::from_der(der, &args.kind)?;
    let hash = args.oaep_hash.clone().unwrap_or_else(|| "sha1".into());
    let decrypt_failed = |_e: rsa::Error| err("error:02000079:rsa routines::oaep decoding error");
    let out = match (&key, args.encrypt) {
        (Key::RsaPublic(k, _), true) => {
            let mut rng = rand::rngs::OsRng;
            if args.padding == 1 {
                k.encrypt(&mut rng, rsa::Pkcs1v15Encrypt, data)
            } else {
                with_hash!(hash, H => Ok::<_, JsErrorBox>(k.encrypt(&mut rng, rsa::Oaep::new::<H>(), data)))?
            }
            .map_err(|e| err(format!("encryption failed: {e}")))?
        }
        (Key::RsaPrivate(k, _), false) => {
            if args.padding == 1 {
                k.decrypt(rsa::Pkcs1v15Encrypt, data).map_err(decrypt_failed)?
            } else {
                with_hash!(hash, H => Ok::<_, JsErrorBox>(k.decrypt(rsa::Oaep::new::<H>(), data)))?
                    .map_err(decrypt_failed)?
            }
        }
        _ => return Err(err("privateEncrypt and publicDecrypt are not supported in chat functions")),
    };
    Ok(out.into())
}

// ---------------------------------------------------------------------------
// Key derivation.
// ---------------------------------------------------------------------------

#[op2]
#[serde]
pub fn op_chatfn_hkdf(
    #[string] hash: &str,
    #[buffer] ikm: &[u8],
    #[buffer] salt: &[u8],
    #[buffer] info: &[u8],
    #[smi] length: u32,
) -> Result<ToJsBuffer, JsErrorBox> {
    let mut out = vec![0u8; length as usize];
    let too_long = |_| err("Invalid key length");
    with_hash!(hash, H => hkdf::Hkdf::<H>::new(Some(salt), ikm).expand(info, &mut out).map_err(too_long))?;
    Ok(out.into())
}

/// PBKDF2 iterations between two looks at whether the invocation was stopped.
const PBKDF2_STEP: u32 = 50_000;

/// PBKDF2 (RFC 8018) with `M` as its PRF, asking `stopped` every
/// `PBKDF2_STEP` iterations: a large count must not hold the runtime's thread
/// past its time limit (10M iterations of SHA-512 had taken 6 s, the
/// watchdog's termination waiting for the op to end). `false` when stopped.
/// (The `pbkdf2` crate cannot be asked between iterations; its output is
/// this one's oracle in the tests.)
fn pbkdf2_until_stopped<M: hmac::Mac + hmac::digest::KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
    stopped: impl Fn() -> bool,
) -> bool {
    let prf = <M as hmac::Mac>::new_from_slice(password).expect("HMAC takes a key of any length");
    let size = <M as hmac::digest::OutputSizeUser>::output_size();
    for (index, block) in out.chunks_mut(size).enumerate() {
        let mut mac = prf.clone();
        mac.update(salt);
        mac.update(&(index as u32 + 1).to_be_bytes());
        let mut u = mac.finalize().into_bytes();
        let mut t = u.clone();
        for n in 1..iterations {
            if n % PBKDF2_STEP == 0 && stopped() {
                return false;
            }
            let mut mac = prf.clone();
            mac.update(&u);
            u = mac.finalize().into_bytes();
            t.iter_mut().zip(&u).for_each(|(t, u)| *t ^= u);
        }
        block.copy_from_slice(&t[..block.len()]);
    }
    true
}

#[op2]
#[serde]
pub fn op_chatfn_pbkdf2(
    state: &mut OpState,
    #[string] hash: &str,
    #[buffer] password: &[u8],
    #[buffer] salt: &[u8],
    iterations: u32,
    #[smi] length: u32,
) -> Result<ToJsBuffer, JsErrorBox> {
    if iterations > MAX_PBKDF2_ITERATIONS || length as usize > MAX_DERIVED_BYTES {
        return Err(err(format!(
            "pbkdf2 is bounded in chat functions: at most {MAX_PBKDF2_ITERATIONS} iterations and {MAX_DERIVED_BYTES} bytes"
        )));
    }
    let mut out = vec![0u8; length as usize];
    let stopped = super::limits::invocation_stopped(state);
    let done = with_hash!(hash, H => Ok::<bool, JsErrorBox>(pbkdf2_until_stopped::<hmac::Hmac<H>>(password, salt, iterations.max(1), &mut out, stopped)))?;
    if !done {
        return Err(err("pbkdf2 was stopped: the invocation reached a limit"));
    }
    Ok(out.into())
}

#[op2]
#[serde]
pub fn op_chatfn_scrypt(
    #[buffer] password: &[u8],
    #[buffer] salt: &[u8],
    cost: f64,
    block_size: u32,
    parallelization: u32,
    #[smi] length: u32,
) -> Result<ToJsBuffer, JsErrorBox> {
    let n = cost as u64;
    if n < 2 || !n.is_power_of_two() {
        return Err(err("Invalid scrypt params: N must be a power of two greater than 1"));
    }
    let memory = 128 * n * block_size as u64 * parallelization.max(1) as u64;
    if memory > MAX_SCRYPT_BYTES || length as usize > MAX_DERIVED_BYTES {
        return Err(err(format!("Invalid scrypt params: memory limit exceeded (at most {MAX_SCRYPT_BYTES} bytes)")));
    }
    let params = scrypt::Params::new(n.trailing_zeros() as u8, block_size, parallelization, length as usize)
        .map_err(|e| err(format!("Invalid scrypt params: {e}")))?;
    let mut out = vec![0u8; length as usize];
    scrypt::scrypt(password, salt, &params, &mut out).map_err(|e| err(format!("scrypt failed: {e}")))?;
    Ok(out.into())
}

deno_core::extension!(
    chatfn_keys,
    ops = [
        op_chatfn_key_import,
        op_chatfn_key_export,
        op_chatfn_key_public,
        op_chatfn_sign,
        op_chatfn_verify,
        op_chatfn_generate_key_pair,
        op_chatfn_key_derive,
        op_chatfn_ecdh_keys,
        op_chatfn_ecdh_compute,
        op_chatfn_ecdh_convert,
        op_chatfn_rsa_crypt,
        op_chatfn_hkdf,
        op_chatfn_pbkdf2,
        op_chatfn_scrypt
    ],
);

/// The capability: its ops (the JavaScript over them is among the built-ins
/// in `js-runtime/node/`, compiled when first required).
pub(super) fn extension() -> deno_core::Extension {
    chatfn_keys::init()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stoppable PBKDF2 gives the `pbkdf2` crate's output: each hash,
    /// counts across a step, lengths within, at and across one block, and
    /// RFC 6070's first vector.
    #[test]
    fn pbkdf2_in_steps_matches_the_pbkdf2_crate() {
        let never = || false;
        let cases = ["sha1", "sha256", "sha512"].into_iter().flat_map(|hash| {
            [1, 2, 1000].into_iter().flat_map(move |n| [1, 20, 32, 64, 100].map(|length| (hash, n, length)))
        });
        // Past a step (a look at `stopped`), over two blocks.
        for (hash, iterations, length) in cases.chain([("sha256", PBKDF2_STEP + 3, 40)]) {
            let mut ours = vec![0u8; length];
            let mut theirs = vec![0u8; length];
            let done = with_hash!(hash, H => {
                pbkdf2::pbkdf2_hmac::<H>(b"password", b"NaCl", iterations, &mut theirs);
                Ok::<bool, JsErrorBox>(pbkdf2_until_stopped::<hmac::Hmac<H>>(b"password", b"NaCl", iterations, &mut ours, never))
            })
            .unwrap();
            assert!(done);
            assert_eq!(ours, theirs, "{hash}, {iterations} iterations, {length} bytes");
        }
        let mut rfc = [0u8; 20];
        assert!(pbkdf2_until_stopped::<hmac::Hmac<sha1::Sha1>>(b"password", b"salt", 1, &mut rfc, never));
        assert_eq!(rfc.to_vec(), hex_decode("0c60c80f961f0e71f3a9b524af6012062fe037a6"));
    }

    #[test]
    fn pbkdf2_in_steps_stops_when_asked_at_a_step() {
        let asked = std::cell::Cell::new(0);
        let stopped = || {
            asked.set(asked.get() + 1);
            asked.get() == 2
        };
        let mut out = [0u8; 32];
        assert!(!pbkdf2_until_stopped::<hmac::Hmac<sha2::Sha256>>(b"pw", b"salt", 10_000_000, &mut out, stopped));
        assert_eq!(asked.get(), 2, "asked once per step until told to stop");
    }

    fn hex_decode(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }
}
