//! The command line: `check-config` prints the effective configuration without secrets, and `serve`
//! refuses to start without a way to authenticate hooks.

use std::process::Command;

fn ado_ingest() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ado-ingest"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ADO_INGEST_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn check_config_prints_the_effective_config_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ado-ingest.toml");
    std::fs::write(
        &file,
        "exchange = \"from.file\"\n[publish]\ninclude_raw = false\n",
    )
    .unwrap();
    let out = ado_ingest()
        .args(["check-config", "--config"])
        .arg(&file)
        .env(
            "ADO_INGEST_HOOK_CREDENTIALS",
            "ado:very-secret-1,ado2:very-secret-2",
        )
        .env(
            "ADO_INGEST_AMQP_URL",
            "amqp://user:broker-secret@broker:5672/%2f",
        )
        .env("ADO_INGEST_LISTEN", "0.0.0.0:9999")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("exchange = \"from.file\""), "{text}");
    assert!(text.contains("include_raw = false"), "{text}");
    assert!(text.contains("listen = \"0.0.0.0:9999\""), "{text}");
    assert!(text.contains("ado2:[redacted]"), "{text}");
    for secret in ["very-secret-1", "very-secret-2", "broker-secret"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn serve_refuses_to_start_without_hook_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let out = ado_ingest()
        .arg("serve")
        .env("ADO_INGEST_STORE", dir.path().join("s.sqlite"))
        .env("ADO_INGEST_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ADO_INGEST_HOOK_CREDENTIALS"), "{err}");
    assert!(err.contains("ADO_INGEST_ALLOW_ANONYMOUS_HOOKS"), "{err}");
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "exchnage = \"typo\"\n").unwrap();
    let out = ado_ingest()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exchnage"), "{err}");
}
