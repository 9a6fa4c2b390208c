//! `admin tokens ...`: allocation tokens per system code (needed on allocation when the server
//! runs with `--require-allocation-tokens`).

use kxy_id::wire::admin::{
    CreateTokenRequest, CreatedToken, RevokeAnswer, TOKENS_PATH, TokenRecord, token_path,
};

use super::exit::CliError;
use super::http::Api;
use super::output::{Output, print, utc};

/// `admin tokens ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokensCommand {
    /// Create an allocation token for a system code; the token is printed this once (the
    /// server keeps only its hash).
    Create {
        /// The system code the token may allocate for.
        #[arg(long)]
        system_code: String,
    },
    /// List allocation tokens (id, system code, creation time; never the token).
    List,
    /// Revoke an allocation token.
    Revoke {
        /// The token's id, as `list` shows it.
        id: String,
    },
}

pub(crate) async fn run(api: &Api, json: bool, command: &TokensCommand) -> Result<(), CliError> {
    match command {
        TokensCommand::Create { system_code } => {
            let request = CreateTokenRequest {
                system_code: system_code.clone(),
            };
            let created: CreatedToken = api.post(TOKENS_PATH, Some(&request)).await?.data;
            let row = vec![
                created.id.clone(),
                created.system_code.clone(),
                utc(created.created_at),
                created.token.clone(),
            ];
            let headers = &["ID", "SYSTEM", "CREATED", "TOKEN"];
            print(json, &created, Output::table(headers, vec![row]));
        }
        TokensCommand::List => {
            let tokens: Vec<TokenRecord> = api.get(TOKENS_PATH).await?;
            let rows = tokens
                .iter()
                .map(|t| vec![t.id.clone(), t.system_code.clone(), utc(t.created_at)])
                .collect();
            print(
                json,
                &tokens,
                Output::table(&["ID", "SYSTEM", "CREATED"], rows),
            );
        }
        TokensCommand::Revoke { id } => {
            let revoked: RevokeAnswer = api.delete(&token_path(id)).await?;
            print(
                json,
                &revoked,
                Output::Line(format!("revoked {}", revoked.id)),
            );
        }
    }
    Ok(())
}
