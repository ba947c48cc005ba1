//! Errors of the Azure DevOps REST client; each names the organization and route and says what to do.

/// A REST call that did not produce a usable response. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum AdoError {
    #[error(
        "Azure DevOps organization {org} refused the credentials for {route} (HTTP {status}): {message}. \
         The PAT may be expired, revoked or lack a scope (read: Project and Team, Code, Build, Work \
         Items), or the service principal has no access to the organization"
    )]
    Unauthorized {
        org: String,
        route: String,
        status: u16,
        message: String,
    },
    #[error("{org}: {route} was not found (HTTP 404): {message}")]
    NotFound {
        org: String,
        route: String,
        message: String,
    },
    #[error("{org}: {route} was rejected with HTTP {status}: {message}")]
    Rejected {
        org: String,
        route: String,
        status: u16,
        message: String,
    },
    #[error("{org}: {route} still failing after {attempts} attempts; last error: {last}")]
    GaveUp {
        org: String,
        route: String,
        attempts: u32,
        last: String,
    },
    #[error("{org}: cannot get a Microsoft Entra ID token: {message}")]
    Token { org: String, message: String },
    #[error("{org}: {route} answered with a body that is not JSON: {message}")]
    InvalidBody {
        org: String,
        route: String,
        message: String,
    },
    #[error("{org}: cannot negotiate a REST api-version: {message}")]
    Negotiation { org: String, message: String },
    #[error("{org}: {message}")]
    InvalidRequest { org: String, message: String },
}

impl AdoError {
    /// The HTTP status the server answered with, when the error is a status.
    pub fn status(&self) -> Option<u16> {
        match self {
            AdoError::Unauthorized { status, .. } | AdoError::Rejected { status, .. } => {
                Some(*status)
            }
            AdoError::NotFound { .. } => Some(404),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, AdoError::NotFound { .. })
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(self, AdoError::Unauthorized { .. })
    }
}
