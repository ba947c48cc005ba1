//! A small Azure DevOps look-alike for the REST client tests: connectionData, api-version range
//! checks ("out of range" 400s), an Entra token endpoint, scripted replies per route, request
//! recording and an in-flight counter.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const INSTANCE_ID: &str = "f3c3a1b2-0d4e-4c55-9a6b-1234567890ab";
pub const CLIENT_SECRET: &str = "entra-client-secret-XYZ";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body,
            delay: Duration::ZERO,
        }
    }
    /// An Azure DevOps style error body.
    pub fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            body: json!({"$id": "1", "innerException": null, "message": message,
                         "typeName": "Microsoft.VisualStudio.Services.WebApi.VssServiceException",
                         "typeKey": "VssServiceException", "errorCode": 0, "eventId": 3000}),
            ..Self::ok(Value::Null)
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path relative to the collection prefix, e.g. `_apis/projects`.
    pub route: String,
    pub query: String,
    pub api_version: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
    pub at: Instant,
}

/// Which `Authorization` the server accepts.
#[derive(Clone, Debug)]
pub enum Auth {
    Any,
    Exactly(String),
    /// `Bearer tok-N` where N is the last token issued.
    LatestBearer,
}

pub struct MockAdo {
    pub prefix: String,
    pub max_version: (u8, u8),
    /// Name the latest supported version in "out of range" messages (real servers do).
    pub version_hint: bool,
    pub auth: Auth,
    pub token_lifetime_secs: u64,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    tokens: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl MockAdo {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_string(),
            max_version: (7, 1),
            version_hint: true,
            auth: Auth::Any,
            token_lifetime_secs: 3600,
            scripts: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            tokens: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// Serves on 127.0.0.1:0; returns the shared state and the server root (`http://127.0.0.1:port`).
    pub async fn start(self) -> (Arc<MockAdo>, String) {
        let mock = Arc::new(self);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(mock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (mock, root)
    }

    /// Replies for `route` in order; the last one repeats.
    pub fn script(&self, route: &str, replies: impl IntoIterator<Item = Reply>) {
        self.scripts
            .lock()
            .unwrap()
            .insert(route.into(), replies.into_iter().collect());
    }

    pub fn seen(&self, route: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.route == route).cloned().collect()
    }

    pub fn all_seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn tokens_issued(&self) -> usize {
        self.tokens.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn next_reply(&self, route: &str) -> Option<Reply> {
        let mut scripts = self.scripts.lock().unwrap();
        let queue = scripts.get_mut(route)?;
        if queue.len() > 1 {
            queue.pop_front()
        } else {
            queue.front().cloned()
        }
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn handle(
    State(mock): State<Arc<MockAdo>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let query = uri.query().unwrap_or("").to_string();
    let path = uri.path().to_string();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let route = path
        .strip_prefix(&format!("{}/", mock.prefix))
        .unwrap_or(path.trim_start_matches('/'))
        .to_string();
    mock.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        route: route.clone(),
        query: query.clone(),
        api_version: query_param(&query, "api-version"),
        authorization: authorization.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
    });
    if path.ends_with("/oauth2/v2.0/token") {
        return token(&mock, &body);
    }
    let accepted = match &mock.auth {
        Auth::Any => authorization.is_some(),
        Auth::Exactly(expected) => authorization.as_deref() == Some(expected),
        Auth::LatestBearer => authorization == Some(format!("Bearer tok-{}", mock.tokens_issued())),
    };
    if !accepted {
        return reply(Reply::error(
            401,
            "TF400813: The user '' is not authorized to access this resource.",
        ))
        .await;
    }
    if let Some(version) = query_param(&query, "api-version") {
        let core = version.split('-').next().unwrap_or("");
        let parsed = core
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u8>().ok()?, b.parse::<u8>().ok()?)));
        if parsed.is_none_or(|v| v > mock.max_version) {
            let (major, minor) = mock.max_version;
            let mut message = format!(
                "The requested REST API version of {version} is out of range for this server."
            );
            if mock.version_hint {
                message.push_str(&format!(
                    " The latest REST API version this server supports is {major}.{minor}."
                ));
            }
            return reply(Reply::error(400, &message)).await;
        }
    }
    match route.as_str() {
        "_apis/connectionData" => {
            return reply(Reply::ok(json!({
                "authenticatedUser": {"id": "a1b2", "providerDisplayName": "Reconciler"},
                "authorizedUser": {"id": "a1b2", "providerDisplayName": "Reconciler"},
                "instanceId": INSTANCE_ID,
                "deploymentId": "9d8c7b6a-0000-0000-0000-000000000001",
                "deploymentType": if mock.prefix.contains("/tfs/") { "onPremises" } else { "hosted" },
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7"}
            })))
            .await;
        }
        "_apis/projects" => {
            return reply(Reply::ok(json!({"count": 1, "value": [
                {"id": "eb6e4656-77fc-42a1-9181-4c6d8e9da5d1", "name": "Fabrikam-Fiber-TFVC",
                 "state": "wellFormed"}]})))
            .await;
        }
        _ => {}
    }
    let Some(scripted) = mock.next_reply(&route) else {
        return reply(Reply::error(404, &format!("no route {route}"))).await;
    };
    let now = mock.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    mock.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = reply(scripted).await;
    mock.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn reply(r: Reply) -> Response {
    tokio::time::sleep(r.delay).await;
    let mut response = (
        StatusCode::from_u16(r.status).unwrap(),
        if r.body.is_null() {
            String::new()
        } else {
            r.body.to_string()
        },
    )
        .into_response();
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (k, v) in r.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    response
}

/// Client-credentials grant: checks the form, issues `tok-N`.
fn token(mock: &MockAdo, body: &[u8]) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str);
    if get("grant_type") != Some("client_credentials")
        || get("client_id") != Some("app-id")
        || get("scope") != Some("499b84ac-1321-427f-aa17-267ca6975798/.default")
    {
        return (StatusCode::BAD_REQUEST, r#"{"error":"invalid_request"}"#).into_response();
    }
    if get("client_secret") != Some(CLIENT_SECRET) {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#,
        )
            .into_response();
    }
    let n = mock.tokens.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({"token_type": "Bearer", "expires_in": mock.token_lifetime_secs,
                      "ext_expires_in": mock.token_lifetime_secs, "access_token": format!("tok-{n}")}))
    .into_response()
}
