//! Tests of the `[[organizations]]` and `[reconcile]` configuration: defaults, env overrides,
//! redaction and validation errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use super::*;
use crate::config::Config;

fn load(toml_text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(toml_text.as_bytes()).expect("write config");
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load(Some(file.path()), &env)
}

fn secret_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "{content}").expect("write secret");
    file
}

#[test]
fn organizations_parse_with_defaults_and_reconcile_env_overrides_still_work() {
    let pat_file = secret_file("pat-from-file-123");
    let text = format!(
        r#"
[[organizations]]
url = "https://dev.azure.com/Contoso"
pat = "literal-pat-456"
projects = ["Web", "Api"]

[[organizations]]
url = "http://tfs.example.com:8080/tfs/DefaultCollection/"
pat = "file:{}"
streams = ["git", "tfvc"]
max_concurrency = 2

[[organizations]]
url = "https://fabrikam.visualstudio.com"
name = "fab"
entra = {{ tenant_id = "t-1", client_id = "c-1", client_secret = "entra-secret-789" }}
"#,
        pat_file.path().display()
    );
    let c = load(
        &text,
        &[
            ("ADO_INGEST_RECONCILE_INTERVAL", "30s"),
            ("ADO_INGEST_RECONCILE_PAGE_SIZE", "50"),
        ],
    )
    .unwrap();
    assert_eq!(c.reconcile.interval, Duration::from_secs(30));
    assert_eq!(c.reconcile.page_size, 50);
    assert_eq!(c.reconcile.overlap, Duration::from_secs(600));
    let [contoso, server, fab] = &c.organizations[..] else {
        panic!("three organizations expected: {:?}", c.organizations);
    };
    assert_eq!(contoso.name(), "contoso");
    assert_eq!(contoso.streams, Stream::all());
    assert_eq!(contoso.max_concurrency, 4);
    assert_eq!(contoso.projects, ["Web", "Api"]);
    assert_eq!(
        contoso.base_url().unwrap().as_str(),
        "https://dev.azure.com/Contoso/"
    );
    assert_eq!(server.name(), "defaultcollection");
    assert_eq!(server.pat.as_ref().unwrap().expose(), "pat-from-file-123");
    assert_eq!(server.streams, [Stream::Git, Stream::Tfvc]);
    assert_eq!(server.max_concurrency, 2);
    assert_eq!(fab.name(), "fab");
    let entra = fab.entra.as_ref().unwrap();
    assert_eq!(entra.authority, DEFAULT_AUTHORITY);
    assert_eq!(entra.scope, DEFAULT_ENTRA_SCOPE);
    assert_eq!(entra.client_secret.expose(), "entra-secret-789");

    let redacted = c.to_redacted_toml();
    let debug = format!("{c:?}");
    for secret in ["literal-pat-456", "pat-from-file-123", "entra-secret-789"] {
        assert!(!redacted.contains(secret), "{redacted}");
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(redacted.contains("[[organizations]]"), "{redacted}");
    assert!(
        redacted.contains("https://dev.azure.com/Contoso"),
        "{redacted}"
    );
}

#[test]
fn defaults_have_no_organizations_and_the_documented_reconcile_schedule() {
    let c = Config::default();
    assert!(c.organizations.is_empty());
    assert_eq!(c.reconcile.interval, Duration::from_secs(300));
    assert_eq!(c.reconcile.page_size, 200);
    // An empty list stays out of the printed config and out of the env-override keys.
    assert!(!c.to_redacted_toml().contains("[[organizations]]"));
    let e = load("", &[("ADO_INGEST_RECONCILE_INTERVAL", "soon")]).unwrap_err();
    assert!(
        e.to_string().contains("soon") || e.to_string().contains("interval"),
        "{e}"
    );
}

#[test]
fn invalid_organizations_are_clear_errors() {
    let cases = [
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
"#,
            "no credentials",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
entra = { tenant_id = "t", client_id = "c", client_secret = "s" }
"#,
            "not several",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
login = true
"#,
            "not several",
        ),
        (
            r#"[[organizations]]
url = "ftp://dev.azure.com/a"
pat = "p"
"#,
            "http:// or https://",
        ),
        (
            r#"[[organizations]]
url = "dev.azure.com/a"
pat = "p"
"#,
            "is not a URL",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
max_concurrency = 0
"#,
            "max_concurrency",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
streams = ["git", "deployments"]
"#,
            "deployments",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
colour = "blue"
"#,
            "colour",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
pat = "p"
[[organizations]]
url = "https://a.visualstudio.com"
pat = "q"
"#,
            "two organizations are named \"a\"",
        ),
        (
            r#"[[organizations]]
url = "https://dev.azure.com/a"
entra = { tenant_id = "t", client_id = "c", client_secret = "" }
"#,
            "client_secret is empty",
        ),
        ("[reconcile]\npage_size = 0\n", "page_size"),
    ];
    for (text, expected) in cases {
        let e = load(text, &[]).expect_err(text);
        assert!(e.to_string().contains(expected), "{text}\n→ {e}");
    }
}

#[test]
fn stream_names_match_the_configuration_spelling() {
    for s in Stream::ALL {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", s.as_str()));
    }
}
