//! `chatfn login`, `logout` and `profiles`: saved servers and credentials.

use std::process::ExitCode;

use clap::Args;

use super::client::{ApiClient, DEFAULT_SERVER};
use super::profiles::{self, Profile, DEFAULT_PROFILE};
use crate::secret::Secret;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The name to save the profile under.
    #[arg(long, env = "CHATFN_PROFILE", default_value = DEFAULT_PROFILE)]
    profile: String,
    /// The chatfn server.
    #[arg(long, env = "CHATFN_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// The application's client id.
    #[arg(long, env = "CHATFN_CLIENT_ID", allow_hyphen_values = true)]
    client_id: String,
    /// The application's client secret (asked for, without echo, when not given).
    #[arg(long, env = "CHATFN_CLIENT_SECRET", allow_hyphen_values = true, hide_env_values = true)]
    client_secret: Option<Secret>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The profile to forget.
    #[arg(long, env = "CHATFN_PROFILE", default_value = DEFAULT_PROFILE)]
    profile: String,
}

/// Signs in once to check the credentials, then saves them.
pub async fn login(args: LoginArgs) -> ExitCode {
    let secret = match args.client_secret {
        Some(secret) => secret,
        None => match read_secret("Client secret: ") {
            Ok(secret) => secret,
            Err(message) => return fail("login", message),
        },
    };
    let client = match ApiClient::sign_in(reqwest::Client::new(), &args.server, &args.client_id, secret.expose()).await
    {
        Ok(client) => client,
        Err(message) => return fail("login", message),
    };
    let name = match client.get("/v1/application").await {
        Ok(application) => application["name"].as_str().unwrap_or_default().to_string(),
        Err(message) => return fail("login", message),
    };
    let profile = Profile { server: client.base.clone(), client_id: args.client_id, client_secret: secret };
    match profiles::save(&args.profile, profile) {
        Ok(path) => {
            super::out(format_args!(
                "signed in to {} as application {name:?}; saved as profile {:?} in {}\n",
                client.base,
                args.profile,
                path.display()
            ));
            ExitCode::SUCCESS
        }
        Err(message) => fail("login", message),
    }
}

pub async fn logout(args: LogoutArgs) -> ExitCode {
    match profiles::remove(&args.profile) {
        Ok(true) => {
            super::out(format_args!("profile {:?} forgotten\n", args.profile));
            ExitCode::SUCCESS
        }
        Ok(false) => fail("logout", format!("no profile {:?} is saved", args.profile)),
        Err(message) => fail("logout", message),
    }
}

pub async fn list() -> ExitCode {
    match profiles::list() {
        Ok(saved) => {
            for (name, server) in saved {
                super::out(format_args!("{name:<16} {server}\n"));
            }
            ExitCode::SUCCESS
        }
        Err(message) => fail("profiles", message),
    }
}

fn fail(command: &str, message: String) -> ExitCode {
    eprintln!("chatfn {command}: {message}");
    ExitCode::FAILURE
}

/// One line from standard input; on a terminal, asked for there and not
/// echoed.
fn read_secret(prompt: &str) -> Result<Secret, String> {
    use std::io::{BufRead, IsTerminal};
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line.trim_end_matches(['\r', '\n']).to_string())
    }
    .map_err(|e| format!("cannot read the client secret: {e}"))?;
    if secret.is_empty() {
        return Err("no client secret given".into());
    }
    Ok(Secret::from(secret))
}
