//! The host side of the WHATWG `URL` class (see `js-runtime/url.js`):
//! parsing and the component setters, by the `url` crate's implementation
//! of the URL Standard.

use deno_core::op2;
use deno_error::JsErrorBox;
use serde::Serialize;
use url::{quirks, Url};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlParts {
    href: String,
    origin: String,
    protocol: String,
    username: String,
    password: String,
    host: String,
    hostname: String,
    port: String,
    pathname: String,
    search: String,
    hash: String,
}

fn parts(url: &Url) -> UrlParts {
    UrlParts {
        href: quirks::href(url).to_string(),
        origin: quirks::origin(url),
        protocol: quirks::protocol(url).to_string(),
        username: quirks::username(url).to_string(),
        password: quirks::password(url).to_string(),
        host: quirks::host(url).to_string(),
        hostname: quirks::hostname(url).to_string(),
        port: quirks::port(url).to_string(),
        pathname: quirks::pathname(url).to_string(),
        search: quirks::search(url).to_string(),
        hash: quirks::hash(url).to_string(),
    }
}

fn parse(href: &str, base: Option<&str>) -> Result<Url, JsErrorBox> {
    let invalid = || JsErrorBox::type_error(format!("Invalid URL: '{href}'"));
    match base {
        Some(base) => Url::parse(base).map_err(|_| invalid())?.join(href).map_err(|_| invalid()),
        None => Url::parse(href).map_err(|_| invalid()),
    }
}

#[op2]
#[serde]
pub fn op_chatfn_url_parse(#[string] href: &str, #[string] base: Option<String>) -> Result<UrlParts, JsErrorBox> {
    parse(href, base.as_deref()).map(|url| parts(&url))
}

/// Sets one component as the URL Standard's setters do (an invalid value
/// leaves the URL as it was, except for `href`, which throws).
#[op2]
#[serde]
pub fn op_chatfn_url_set(
    #[string] href: &str,
    #[string] component: &str,
    #[string] value: &str,
) -> Result<UrlParts, JsErrorBox> {
    let mut url = parse(href, None)?;
    match component {
        "href" => url = parse(value, None)?,
        "protocol" => drop(quirks::set_protocol(&mut url, value)),
        "username" => drop(quirks::set_username(&mut url, value)),
        "password" => drop(quirks::set_password(&mut url, value)),
        "host" => drop(quirks::set_host(&mut url, value)),
        "hostname" => drop(quirks::set_hostname(&mut url, value)),
        "port" => drop(quirks::set_port(&mut url, value)),
        "pathname" => quirks::set_pathname(&mut url, value),
        "search" => quirks::set_search(&mut url, value),
        "hash" => quirks::set_hash(&mut url, value),
        other => return Err(JsErrorBox::type_error(format!("unknown URL component {other:?}"))),
    }
    Ok(parts(&url))
}

deno_core::extension!(chatfn_url, ops = [op_chatfn_url_parse, op_chatfn_url_set]);

/// The capability: its ops and `js-runtime/url.js` over them.
pub(super) fn extension() -> deno_core::Extension {
    super::isolates::with_scripts!(chatfn_url::init(), "url.js")
}
