//! Where an organization's Release Management API lives: on Azure DevOps Services a separate
//! `vsrm.` host (`https://vsrm.dev.azure.com/{org}/`, `https://{org}.vsrm.visualstudio.com/`), on
//! Azure DevOps Server the collection URL itself.

use url::Url;

/// The Release Management base URL for an organization or collection base URL (ending in `/`).
pub fn release_base(base: &Url) -> Url {
    let Some(host) = base.host_str() else {
        return base.clone();
    };
    let host = host.to_ascii_lowercase();
    let vsrm = if host == "dev.azure.com" {
        Some("vsrm.dev.azure.com".to_string())
    } else if let Some(org) = host.strip_suffix(".visualstudio.com")
        && !org.ends_with(".vsrm")
        && !org.contains('.')
    {
        Some(format!("{org}.vsrm.visualstudio.com"))
    } else {
        None
    };
    let mut out = base.clone();
    if let Some(h) = vsrm
        && out.set_host(Some(&h)).is_err()
    {
        return base.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(u: &str) -> String {
        release_base(&Url::parse(u).unwrap()).to_string()
    }

    #[test]
    fn services_hosts_move_to_vsrm_and_servers_keep_their_collection() {
        assert_eq!(
            of("https://dev.azure.com/contoso/"),
            "https://vsrm.dev.azure.com/contoso/"
        );
        assert_eq!(
            of("https://Contoso.visualstudio.com/"),
            "https://contoso.vsrm.visualstudio.com/"
        );
        assert_eq!(
            of("https://contoso.vsrm.visualstudio.com/"),
            "https://contoso.vsrm.visualstudio.com/"
        );
        assert_eq!(
            of("https://ado.example.com/tfs/DefaultCollection/"),
            "https://ado.example.com/tfs/DefaultCollection/"
        );
        assert_eq!(
            of("http://127.0.0.1:9000/org/"),
            "http://127.0.0.1:9000/org/"
        );
    }
}
