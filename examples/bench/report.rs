//! Machine facts and the final table: every number, the targets, PASS/FAIL per target.

use std::time::Duration;

use lapin::uri::{AMQPScheme, AMQPUri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the numbers were measured on.
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub rabbitmq: String,
}

impl Machine {
    pub async fn probe(amqp_url: &str) -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Self {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            rabbitmq: rabbitmq_version(amqp_url)
                .await
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// `/proc/loadavg`'s 1-minute figure: the machine is shared, so say how busy it was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The broker's `version` server property, read from its `connection.start` (the first frame it
/// sends after the protocol header); lapin does not expose server properties.
async fn rabbitmq_version(amqp_url: &str) -> Option<String> {
    let uri: AMQPUri = amqp_url.parse().ok()?;
    if !matches!(uri.scheme, AMQPScheme::AMQP) {
        return None;
    }
    let address = (uri.authority.host.as_str(), uri.authority.port);
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(b"AMQP\x00\x00\x09\x01").await.ok()?;
        let mut frame = vec![0u8; 4096];
        let mut len = 0;
        while len < frame.len() {
            let n = stream.read(&mut frame[len..]).await.ok()?;
            if n == 0 {
                break;
            }
            len += n;
            if let Some(v) = field_string(&frame[..len], b"version") {
                return Some(v);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(2), probe)
        .await
        .ok()
        .flatten()
}

/// A long-string field of an AMQP field table: short-string key, `S`, u32 length, bytes.
fn field_string(bytes: &[u8], key: &[u8]) -> Option<String> {
    let mut needle = vec![u8::try_from(key.len()).ok()?];
    needle.extend_from_slice(key);
    needle.push(b'S');
    let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let value = bytes.get(at + 4..at + 4 + len)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// One line of the table.
pub struct Row {
    pub name: String,
    pub value: String,
    pub target: Option<(String, bool)>,
}

impl Row {
    pub fn info(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            target: None,
        }
    }

    pub fn check(
        name: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        pass: bool,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            target: Some((target.into(), pass)),
        }
    }
}

pub fn print_table(rows: &[Row]) {
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let value_w = rows.iter().map(|r| r.value.len()).max().unwrap_or(0);
    println!(
        "{:name_w$}  {:>value_w$}  {:<12} result",
        "measurement", "value", "target"
    );
    println!("{}", "-".repeat(name_w + value_w + 22));
    for row in rows {
        let (target, result) = match &row.target {
            Some((t, pass)) => (t.as_str(), if *pass { "PASS" } else { "FAIL" }),
            None => ("", ""),
        };
        let line = format!(
            "{:name_w$}  {:>value_w$}  {:<12} {result}",
            row.name, row.value, target
        );
        println!("{}", line.trim_end());
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn rate(per_second: f64) -> String {
    format!("{per_second:.0}/s")
}

#[cfg(test)]
mod tests {
    use super::field_string;

    #[test]
    fn finds_a_long_string_field() {
        let mut table = b"\x07productS\x00\x00\x00\x08RabbitMQ".to_vec();
        table.extend_from_slice(b"\x07versionS\x00\x00\x00\x063.10.8");
        assert_eq!(field_string(&table, b"version").as_deref(), Some("3.10.8"));
        assert_eq!(field_string(&table[..table.len() - 2], b"version"), None);
    }
}
