//! Lenient accessors over resource JSON shared by the per-type normalizers: paths that may be
//! missing or of the wrong type, numbers sent as strings, timestamps in several precisions, and
//! people as IdentityRef objects or as "Display Name <unique>" strings.
//!
//! Every value that ends up in `data` goes through these helpers, so the hook path and the REST
//! path produce byte-identical output for the same change (canonical timestamps, same person shape).

use serde_json::{Map, Value, json};

use super::time::{format_time, parse_time};

/// The all-zero GUID Azure DevOps uses for "no id" (implicit stages, docs samples' projects).
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// Walks `path` through nested objects.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| cur.get(*key))
}

/// A non-empty string at `path`.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// Like [`str_at`], as an owned JSON value (`null` when absent).
pub fn str_val(v: &Value, path: &[&str]) -> Value {
    str_at(v, path).map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// An integer at `path`; accepts JSON integers, integral floats and numeric strings (the canned
/// work-item payloads send `"System.Rev": {"oldValue": "1"}`).
pub fn int_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(as_int)
}

/// An integer from a JSON value, leniently (see [`int_at`]).
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A positive integer at `path` (ids: 0 means "unset" in Azure DevOps payloads).
pub fn id_at(v: &Value, path: &[&str]) -> Option<i64> {
    int_at(v, path).filter(|n| *n > 0)
}

/// An integer as a JSON value (`null` when absent).
pub fn int_val(v: &Value, path: &[&str]) -> Value {
    int_at(v, path).map_or(Value::Null, Value::from)
}

/// A boolean at `path`; absent counts as `false` (older API versions omit e.g. `isDraft`).
pub fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

/// A GUID-like id string at `path`, ignoring the zero GUID.
pub fn guid_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    str_at(v, path).filter(|s| !s.eq_ignore_ascii_case(ZERO_GUID))
}

/// A timestamp in canonical form (RFC 3339, UTC, `Z`, shortest exact fraction), so that
/// `…21.203845Z` and `…21.2038450Z` compare equal. Sentinels (`0001-01-01`, `9999-01-01`) are absent.
pub fn canonical_time(s: &str) -> Option<String> {
    let t = parse_time(Some(s))?;
    let year = chrono::Datelike::year(&t);
    if year <= 1 || year >= 9999 {
        return None;
    }
    Some(format_time(&t))
}

/// A canonical timestamp at `path`.
pub fn time_at(v: &Value, path: &[&str]) -> Option<String> {
    str_at(v, path).and_then(canonical_time)
}

/// A canonical timestamp as a JSON value (`null` when absent).
pub fn time_val(v: &Value, path: &[&str]) -> Value {
    time_at(v, path).map_or(Value::Null, Value::String)
}

/// Whether an Azure DevOps `uniqueName` is an e-mail address (not `DOMAIN\user`, not a
/// service identity `guid@guid`, not a team `vstfs:///…`).
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '\\' || c == '/' || c == '<' || c == '>')
}

fn person_value(id: Option<&str>, name: Option<&str>, unique: Option<&str>) -> Value {
    let email = unique.filter(|u| looks_like_email(u));
    json!({
        "id": id,
        "name": name.or(unique),
        "email": email,
        "uniqueName": unique,
    })
}

/// A person as `{id, name, email, uniqueName}` from an IdentityRef object (`displayName`,
/// `uniqueName`, `id`) or a work-item 1.0 identity string (`"Name <unique>"` or just `"Name"`).
/// `email` is the unique name when it looks like an address. `None` when nothing identifies anyone.
pub fn person(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => person_from_str(s),
        Value::Object(o) => {
            let get = |k: &str| {
                o.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
            };
            let id = get("id").filter(|s| !s.eq_ignore_ascii_case(ZERO_GUID));
            let name = get("displayName");
            let unique = get("uniqueName").or_else(|| get("email"));
            // `name` on a work-item IdentityRef is the "Name <unique>" form.
            if name.is_none()
                && unique.is_none()
                && let Some(p) = get("name").and_then(person_from_str)
            {
                return Some(with_id(p, id));
            }
            if id.is_none() && name.is_none() && unique.is_none() {
                return None;
            }
            Some(person_value(id, name, unique))
        }
        _ => None,
    }
}

fn with_id(mut p: Value, id: Option<&str>) -> Value {
    if let (Some(obj), Some(id)) = (p.as_object_mut(), id) {
        obj.insert("id".into(), Value::String(id.to_string()));
    }
    p
}

/// Parses `"Display Name <unique>"`; a bare string is a name (or an address).
pub fn person_from_str(s: &str) -> Option<Value> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        let unique = s[open + 1..s.len() - 1].trim();
        let name = s[..open].trim();
        let unique = (!unique.is_empty()).then_some(unique);
        let name = (!name.is_empty()).then_some(name);
        if name.is_some() || unique.is_some() {
            return Some(person_value(None, name, unique));
        }
    }
    if looks_like_email(s) {
        return Some(person_value(None, Some(s), Some(s)));
    }
    Some(person_value(None, Some(s), None))
}

/// A person at `path` as a JSON value (`null` when absent).
pub fn person_at(v: &Value, path: &[&str]) -> Value {
    at(v, path).and_then(person).unwrap_or(Value::Null)
}

/// The same person without `id`: work-item 1.0 fields carry identities as strings (no id), while
/// REST may return IdentityRef objects; dropping the id keeps both paths' data identical.
pub fn person_without_id(v: &Value) -> Option<Value> {
    let mut p = person(v)?;
    if let Some(obj) = p.as_object_mut() {
        obj.insert("id".into(), Value::Null);
    }
    Some(p)
}

/// A git user `{name, email, date}` (commit author/committer).
pub fn git_user(v: &Value) -> Value {
    if !v.is_object() {
        return Value::Null;
    }
    json!({
        "name": str_val(v, &["name"]),
        "email": str_val(v, &["email"]),
        "date": time_val(v, &["date"]),
    })
}

/// `{id, name}` of a project reference (zero GUID ids are absent).
pub fn project_ref(v: Option<&Value>) -> Value {
    let v = v.unwrap_or(&Value::Null);
    json!({
        "id": guid_at(v, &["id"]),
        "name": str_at(v, &["name"]),
    })
}

/// Builds a JSON object from pairs, for readable per-type `data` construction.
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The `_links.<name>.href` of an object.
pub fn link<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    str_at(v, &["_links", name, "href"])
}

/// The number following `/{segment}/` in a URL, e.g. `threads` in `…/threads/109903`.
pub fn number_after(url: &str, segment: &str) -> Option<i64> {
    let lower = url.to_ascii_lowercase();
    let needle = format!("/{}/", segment.to_ascii_lowercase());
    let idx = lower.find(&needle)? + needle.len();
    let digits: String = url[idx..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// The path segment following `/{segment}/` in a URL, e.g. the repository id.
pub fn segment_after<'a>(url: &'a str, segment: &str) -> Option<&'a str> {
    let lower = url.to_ascii_lowercase();
    let needle = format!("/{}/", segment.to_ascii_lowercase());
    let idx = lower.find(&needle)? + needle.len();
    let rest = &url[idx..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_from_refs_and_strings() {
        let p = person(&json!({"id": "x", "displayName": "Ann", "uniqueName": "ann@contoso.com"}));
        assert_eq!(
            p,
            Some(
                json!({"id": "x", "name": "Ann", "email": "ann@contoso.com", "uniqueName": "ann@contoso.com"})
            )
        );
        let p = person(&json!("欧俊 <luacloud@gmail.com>")).unwrap();
        assert_eq!(p["name"], "欧俊");
        assert_eq!(p["email"], "luacloud@gmail.com");
        assert_eq!(p["id"], Value::Null);
        let p = person(&json!("Jamal Hartnett")).unwrap();
        assert_eq!(
            (p["name"].as_str(), p["email"].as_str()),
            (Some("Jamal Hartnett"), None)
        );
        let p =
            person(&json!({"displayName": "versionone", "uniqueName": "tfsbox-2017\\versionone"}))
                .unwrap();
        assert_eq!(p["email"], Value::Null);
        assert_eq!(p["uniqueName"], "tfsbox-2017\\versionone");
        assert!(!looks_like_email(
            "00000002-0000-8888-8000-000000000000@2c895908-04e0-4952"
        ));
        assert_eq!(person(&json!({"displayName": null, "id": ZERO_GUID})), None);
        assert_eq!(person(&json!(42)), None);
    }

    #[test]
    fn canonical_times_and_lenient_numbers() {
        assert_eq!(
            canonical_time("2023-01-18T04:03:21.203845Z"),
            canonical_time("2023-01-18T04:03:21.2038450Z")
        );
        assert_eq!(
            canonical_time("2014-07-15T16:48:44.663Z").as_deref(),
            Some("2014-07-15T16:48:44.663Z")
        );
        assert_eq!(canonical_time("9999-01-01T00:00:00Z"), None);
        assert_eq!(canonical_time("0001-01-01T00:00:00"), None);
        assert_eq!(as_int(&json!("2")), Some(2));
        assert_eq!(as_int(&json!(3.0)), Some(3));
        assert_eq!(as_int(&json!(true)), None);
    }

    #[test]
    fn url_segments() {
        let u = "https://x/_apis/git/repositories/d5bb/pullRequests/22568/threads/109903";
        assert_eq!(number_after(u, "threads"), Some(109903));
        assert_eq!(number_after(u, "pullrequests"), Some(22568));
        assert_eq!(segment_after(u, "repositories"), Some("d5bb"));
        assert_eq!(number_after(u, "comments"), None);
    }
}
