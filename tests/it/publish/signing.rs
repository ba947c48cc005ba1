//! Signed messages end to end: with two signing keys (a rotation) every message carries Standard
//! Webhooks headers that the README's recipes verify — the Python one run as written in the
//! README, the Rust one as written there — under either key, and not under another key or over a
//! changed body.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};

use crate::support::process::push_hook;
use crate::support::*;

const NEW_KEY: &str = "whsec_bmV3LWtleS1mb3ItdGhlLXNpZ25pbmctdGVzdA==";
const OLD_KEY: &str = "whsec_b2xkLWtleS1mb3ItdGhlLXNpZ25pbmctdGVzdA==";
const OTHER_KEY: &str = "whsec_YW5vdGhlci1rZXktbm9ib2R5LWNvbmZpZ3VyZWQ=";

/// The README's Rust recipe, as written there.
fn verify(key: &str, id: &str, timestamp: &str, body: &[u8], signature_header: &str) -> bool {
    let Some(secret) = key
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    signature_header
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|sig| {
            let Ok(sig) = STANDARD.decode(sig) else {
                return false;
            };
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).expect("any key length");
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&sig).is_ok() // constant time
        })
}

/// The Python block of the README that follows `<!-- signature-recipe-python -->`.
fn python_recipe() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme
        .split_once("<!-- signature-recipe-python -->")
        .expect("the README marks its Python recipe")
        .1;
    let block = after.split_once("```python\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

/// Runs the README's Python `verify` for each key; its printed answers.
fn python_verdicts(keys: &[&str], id: &str, timestamp: &str, body: &[u8], header: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let body_path = dir.path().join("body");
    std::fs::write(&body_path, body).unwrap();
    let script = format!(
        "{}\nimport os, sys\nbody = open(os.environ['BODY'], 'rb').read()\n\
         print(' '.join(str(verify(k, os.environ['ID'], os.environ['TS'], body, os.environ['SIG'])) \
         for k in sys.argv[1:]))\n",
        python_recipe()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(keys)
        .env("BODY", &body_path)
        .env("ID", id)
        .env("TS", timestamp)
        .env("SIG", header)
        .output()
        .expect("python3 runs the README's recipe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_messages_verify_under_each_rotated_key_and_no_other() {
    let server = TestServer::ready(ServerOptions::default().with(
        "ADO_INGEST_PUBLISH_SIGNING_KEYS",
        &format!("{NEW_KEY},{OLD_KEY}"),
    ))
    .await;
    let mut tap = Tap::bind(&server.exchange).await;
    assert_eq!(server.post(&push_hook(7)).await.0, 202);
    let got = tap
        .collect(1, Duration::from_millis(200), Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    let id = m.headers.get("webhook-id").expect("webhook-id header");
    let timestamp = m
        .headers
        .get("webhook-timestamp")
        .expect("webhook-timestamp");
    let header = m
        .headers
        .get("webhook-signature")
        .expect("webhook-signature");
    assert_eq!(Some(id.as_str()), m.message_id.as_deref());
    assert_eq!(
        header.split(' ').count(),
        2,
        "one signature per key: {header}"
    );
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "signed {age} s ago");

    assert!(verify(NEW_KEY, id, timestamp, &m.data, header));
    assert!(verify(OLD_KEY, id, timestamp, &m.data, header));
    assert!(!verify(OTHER_KEY, id, timestamp, &m.data, header));
    let mut tampered = m.data.clone();
    tampered.extend_from_slice(b" ");
    assert!(!verify(NEW_KEY, id, timestamp, &tampered, header));
    assert!(!verify(NEW_KEY, "another-id", timestamp, &m.data, header));

    assert_eq!(
        python_verdicts(
            &[NEW_KEY, OLD_KEY, OTHER_KEY],
            id,
            timestamp,
            &m.data,
            header
        ),
        "True True False"
    );
    assert_eq!(
        python_verdicts(&[NEW_KEY], id, timestamp, &tampered, header),
        "False"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_signing_keys_messages_carry_no_signature() {
    let server = TestServer::ready(ServerOptions::default()).await;
    let mut tap = Tap::bind(&server.exchange).await;
    assert_eq!(server.post(&push_hook(8)).await.0, 202);
    let got = tap
        .collect(1, Duration::from_millis(200), Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].headers.contains_key("webhook-signature"));
}
