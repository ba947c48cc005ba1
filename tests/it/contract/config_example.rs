//! `config.example.toml` is the configuration reference and stays true: it loads, it is exactly the
//! defaults, it has every key the configuration serializes and no other, each key is documented on
//! the line above (naming its `ADO_INGEST_*` variable), and its commented-out `[[organizations]]`
//! examples load and validate once uncommented, covering every organization key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ado_ingest::config::{
    Config, DEFAULT_AUTHORITY, DEFAULT_ENTRA_SCOPE, EntraConfig, OrganizationConfig, Secret,
    Stream, env_var_for,
};

/// The line that opens the commented-out organization examples (the rest of the file from here on).
const ORGANIZATIONS_START: &str = "# [[organizations]]";

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

fn example_text() -> String {
    let path = example_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(text: &str, what: &str) -> toml::Table {
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{what} is not valid TOML: {e}"))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Dotted path of every key, tables included (`publish`, `publish.batch_size`, …); the elements of an
/// array of tables contribute their keys under the array's name (`organizations.url`).
fn key_paths(table: &toml::Table) -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (key, value) in table {
            let path = join(prefix, key);
            out.insert(path.clone());
            match value {
                toml::Value::Table(t) => walk(&path, t, out),
                toml::Value::Array(items) => {
                    for t in items.iter().filter_map(toml::Value::as_table) {
                        walk(&path, t, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", table, &mut out);
    out
}

/// Dotted paths of the leaf keys (every key whose value is not a table).
fn leaf_paths(table: &toml::Table) -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (key, value) in table {
            match value {
                toml::Value::Table(t) => walk(&join(prefix, key), t, out),
                _ => {
                    out.insert(join(prefix, key));
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", table, &mut out);
    out
}

/// `(dotted key, the line just above it)` for every uncommented `key = value` line, following
/// `[table]` / `[[array]]` headers. Values must fit on one line (the example keeps them so).
fn keys_with_line_above(text: &str) -> Vec<(String, String)> {
    let mut table = String::new();
    let mut above = "";
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let header = trimmed
            .strip_prefix("[[")
            .and_then(|h| h.strip_suffix("]]"))
            .or_else(|| trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')));
        if let Some(header) = header {
            table = header.trim().to_string();
        } else if !trimmed.starts_with('#')
            && let Some((key, _)) = trimmed.split_once('=')
        {
            out.push((join(&table, key.trim()), above.trim().to_string()));
        }
        above = line;
    }
    out
}

/// The example with its organization blocks uncommented the way the file tells a user to: from the
/// first `# [[organizations]]` line to the end, one leading `#` (and the space after it) removed.
fn example_with_organizations() -> String {
    let text = example_text();
    let start = text
        .find(&format!("\n{ORGANIZATIONS_START}\n"))
        .unwrap_or_else(|| panic!("config.example.toml has no `{ORGANIZATIONS_START}` line"))
        + 1;
    let (live, block) = text.split_at(start);
    let mut out = live.to_string();
    for line in block.lines() {
        match line.strip_prefix('#') {
            Some(rest) => out.push_str(rest.strip_prefix(' ').unwrap_or(rest)),
            None => assert!(
                line.trim().is_empty(),
                "line {line:?} after `{ORGANIZATIONS_START}` is not commented out: the file would \
                 no longer load to the defaults"
            ),
        }
        out.push('\n');
    }
    out
}

/// Checks that an example secret is a reference, then puts a stand-in value in its place (the
/// referenced variable or file does not exist here).
fn stand_in_for_reference(slot: &mut toml::Value, key: &str) {
    let text = slot
        .as_str()
        .unwrap_or_else(|| panic!("{key} in the example must be a string"));
    assert!(
        text.starts_with("env:") || text.starts_with("file:"),
        "{key} = {text:?}: the example must show secrets as \"env:NAME\" or \"file:/path\", never inline"
    );
    *slot = toml::Value::String("stand-in-for-the-referenced-secret".into());
}

#[test]
fn example_config_loads_to_exactly_the_defaults() {
    let path = example_path();
    let loaded = Config::load(Some(path.as_path()), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
    let defaults = Config::default();
    assert_eq!(
        loaded.to_redacted_toml(),
        defaults.to_redacted_toml(),
        "config.example.toml must set every key to its default"
    );
    // Redaction renders every non-empty secret alike, so compare the secrets in the clear.
    assert_eq!(
        loaded.amqp_url.expose(),
        defaults.amqp_url.expose(),
        "amqp_url"
    );
    assert_eq!(
        loaded.admin_token.expose(),
        defaults.admin_token.expose(),
        "admin_token"
    );
    assert_eq!(
        loaded.hook_credentials, defaults.hook_credentials,
        "hook_credentials"
    );
    assert!(
        loaded.organizations.is_empty(),
        "the example organizations must stay commented out"
    );
}

#[test]
fn example_config_has_every_key_and_no_other() {
    let example = key_paths(&parse(&example_text(), "config.example.toml"));
    let known = key_paths(&parse(
        &Config::default().to_redacted_toml(),
        "the default configuration",
    ));
    let missing: Vec<&String> = known.difference(&example).collect();
    let unknown: Vec<&String> = example.difference(&known).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "config.example.toml lacks the keys {missing:?} and has keys the configuration does not know: \
         {unknown:?}"
    );
}

#[test]
fn every_example_key_is_documented_with_its_environment_variable() {
    let text = example_text();
    let documented = keys_with_line_above(&text);
    // The scan must see exactly the configuration's leaf keys, or it checks nothing.
    let seen: BTreeSet<String> = documented.iter().map(|(key, _)| key.clone()).collect();
    let leaves = leaf_paths(&parse(
        &Config::default().to_redacted_toml(),
        "the default configuration",
    ));
    assert_eq!(
        seen, leaves,
        "the `key = value` lines of config.example.toml"
    );
    assert_eq!(
        seen.len(),
        documented.len(),
        "a key appears twice in config.example.toml"
    );
    for (key, above) in &documented {
        let var = env_var_for(key);
        assert!(
            above.starts_with("# ") && above.contains(&var),
            "config.example.toml: `{key}` must be preceded by one `# ` line saying what it does and \
             naming {var}; the line above is {above:?}"
        );
    }
}

#[test]
fn commented_out_organizations_load_once_uncommented_and_show_every_key() {
    let text = example_with_organizations();
    for (key, above) in keys_with_line_above(&text) {
        if key.starts_with("organizations.") {
            assert!(
                above.starts_with("# ") && above.len() > 2,
                "example organization key `{key}` must be preceded by one comment line saying what \
                 it does; the line above is {above:?}"
            );
        }
    }

    let mut tree = parse(
        &text,
        "config.example.toml with [[organizations]] uncommented",
    );
    let shown: BTreeSet<String> = key_paths(&tree)
        .into_iter()
        .filter_map(|k| k.strip_prefix("organizations.").map(str::to_string))
        .collect();

    // Every key an organization can have: one with every optional part set.
    let mut full = OrganizationConfig::with_pat("https://dev.azure.com/contoso", "pat");
    full.name = Some("contoso".into());
    full.entra = Some(EntraConfig {
        tenant_id: "tenant".into(),
        client_id: "client".into(),
        client_secret: Secret::new("secret"),
        authority: DEFAULT_AUTHORITY.into(),
        scope: DEFAULT_ENTRA_SCOPE.into(),
    });
    full.login = true;
    full.managed_identity = Some(ado_ingest::config::ManagedIdentityConfig {
        client_id: "id".into(),
        endpoint: "http://169.254.169.254/metadata/identity/oauth2/token".into(),
    });
    let known = key_paths(&toml::Table::try_from(&full).expect("an organization serializes"));
    let missing: Vec<&String> = known.difference(&shown).collect();
    let unknown: Vec<&String> = shown.difference(&known).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the example organizations lack the keys {missing:?} and have unknown keys {unknown:?}"
    );

    let orgs = tree
        .get_mut("organizations")
        .and_then(toml::Value::as_array_mut)
        .expect("the uncommented example has [[organizations]]");
    for org in orgs.iter_mut() {
        let org = org
            .as_table_mut()
            .expect("[[organizations]] entries are tables");
        if let Some(pat) = org.get_mut("pat") {
            stand_in_for_reference(pat, "pat");
        }
        if let Some(secret) = org
            .get_mut("entra")
            .and_then(toml::Value::as_table_mut)
            .and_then(|entra| entra.get_mut("client_secret"))
        {
            stand_in_for_reference(secret, "entra.client_secret");
        }
    }

    let config: Config =
        toml::Value::Table(tree)
            .try_into()
            .unwrap_or_else(|e: toml::de::Error| {
                panic!("the uncommented example organizations do not deserialize: {e}")
            });
    config
        .validate()
        .unwrap_or_else(|e| panic!("the uncommented example organizations do not validate: {e}"));
    assert!(
        config.organizations.iter().any(|o| o.pat.is_some()),
        "an example organization uses a PAT"
    );
    assert!(
        config.organizations.iter().any(|o| o.entra.is_some()),
        "an example organization uses an Entra ID service principal"
    );

    // Keys that have a default are shown at it.
    let defaults = OrganizationConfig::with_pat("https://dev.azure.com/contoso", "pat");
    for org in &config.organizations {
        let name = org.name();
        assert_eq!(org.projects, defaults.projects, "{name}: projects");
        assert_eq!(org.streams, Stream::all(), "{name}: streams");
        assert_eq!(
            org.max_concurrency, defaults.max_concurrency,
            "{name}: max_concurrency"
        );
        if let Some(entra) = &org.entra {
            assert_eq!(
                entra.authority, DEFAULT_AUTHORITY,
                "{name}: entra.authority"
            );
            assert_eq!(entra.scope, DEFAULT_ENTRA_SCOPE, "{name}: entra.scope");
        }
    }
}
