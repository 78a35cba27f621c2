//! The authoritative DNS responder of the emulated zones, on loopback UDP and TCP (one port).
//!
//! It plays Scaleway's name servers (`ns0.dom.scw.cloud`, `ns1.dom.scw.cloud`) for every
//! `active` zone of the Domains API emulator, serving each zone's newest *visible* version
//! (`crate::api::domain::published`), so record changes appear only after the sandbox's
//! visibility delay, as propagation to real name servers does. Answers follow RFC 1034/2308/
//! 4592: authoritative (`AA`), `NXDOMAIN` with the zone's SOA when a name does not exist,
//! `NOERROR` with no answer and the SOA (NODATA) when the name exists without that type,
//! wildcards (`*.S`) synthesized at the closest encloser, CNAMEs followed inside the zone,
//! `REFUSED` for names outside every served zone (a pending zone is not served). The wire
//! format is `hickory-proto`'s.
//!
//! The port is kept across restarts in the store (kind `dns.responder`), like the load
//! balancer endpoints, so a resolver configured once keeps working.

use std::net::SocketAddr;
use std::sync::Weak;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

use crate::api::domain::{DEFAULT_NS, PublishedZone, published};
use crate::server::AppState;

/// Store kind holding the responder's port.
pub const RESPONDER: &str = "dns.responder";

/// Negative-caching TTL of the SOA (RFC 2308), in seconds.
const NEGATIVE_TTL: u32 = 300;

/// Binds the responder on 127.0.0.1, on the port recorded in the store when there is one.
pub async fn start(
    app: &std::sync::Arc<AppState>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<SocketAddr> {
    let preferred = app.read(|s, now| {
        s.get(RESPONDER, "port", now)
            .and_then(|r| r.body["port"].as_u64())
            .unwrap_or(0) as u16
    });
    let (udp, tcp) = match bind(preferred).await {
        Ok(pair) => pair,
        Err(_) if preferred != 0 => bind(0).await?,
        Err(e) => return Err(e),
    };
    let addr = udp.local_addr()?;
    // Only a persisted sandbox has a restart to keep the port for.
    if app.persistent() {
        let _ = app.write(|s, now| {
            match s.get_mut(RESPONDER, "port", now) {
                Some(r) => r.body["port"] = json!(addr.port()),
                None => {
                    s.insert(RESPONDER, "port", None, json!({"port": addr.port()}), &[]);
                }
            }
            Ok(())
        });
    }
    let weak = std::sync::Arc::downgrade(app);
    tokio::spawn(serve_udp(udp, weak.clone(), shutdown.clone()));
    tokio::spawn(serve_tcp(tcp, weak, shutdown));
    tracing::info!(%addr, "sandbox DNS responder listening");
    Ok(addr)
}

/// UDP and TCP on the same port; for port 0 the TCP bind follows the UDP port, retried a few
/// times in case another process holds that TCP port.
async fn bind(port: u16) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..5 {
        let udp = UdpSocket::bind(("127.0.0.1", port)).await?;
        let bound = udp.local_addr()?.port();
        match TcpListener::bind(("127.0.0.1", bound)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if port == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("cannot bind the DNS responder")))
}

async fn serve_udp(socket: UdpSocket, app: Weak<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "dns udp receive failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Some(app) = app.upgrade() else { return };
        if let Some(reply) = answer(&app, &buf[..len], 512) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    app: Weak<AppState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (mut stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let app = app.clone();
        tokio::spawn(async move {
            // RFC 1035 §4.2.2: each message is preceded by its two-byte length.
            loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                if stream.read_exact(&mut msg).await.is_err() {
                    return;
                }
                let Some(app) = app.upgrade() else { return };
                let Some(reply) = answer(&app, &msg, u16::MAX as usize) else {
                    return;
                };
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The reply to one query message, truncated (`TC`) when it exceeds `limit` bytes; `None` for
/// something that is not a query at all.
fn answer(app: &AppState, bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    let query = Message::from_vec(bytes).ok()?;
    if query.message_type() != MessageType::Query {
        return None;
    }
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(false);
    if query.op_code() != OpCode::Query || query.queries().len() != 1 {
        reply.set_response_code(ResponseCode::NotImp);
        return reply.to_vec().ok();
    }
    let q = query.queries()[0].clone();
    reply.add_query(q.clone());
    let zones = app.read(published);
    let qname = q.name().to_ascii().to_ascii_lowercase();
    let qname = qname.trim_end_matches('.');
    let Some(zone) = authoritative_zone(&zones, qname) else {
        reply.set_response_code(ResponseCode::Refused);
        return reply.to_vec().ok();
    };
    reply.set_authoritative(true);
    let (code, answers) = resolve(zone, qname, q.query_type());
    reply.set_response_code(code);
    let no_answer = answers.is_empty();
    for r in answers {
        reply.add_answer(r);
    }
    if no_answer
        && q.query_type() != RecordType::SOA
        && let Some(soa) = soa_record(zone)
    {
        reply.add_name_server(soa);
    }
    let out = reply.to_vec().ok()?;
    if out.len() > limit {
        let mut short = Message::new();
        short
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_op_code(OpCode::Query)
            .set_authoritative(true)
            .set_truncated(true)
            .set_response_code(code);
        short.add_query(q);
        return short.to_vec().ok();
    }
    Some(out)
}

/// The active zone answering for `qname` (the longest that contains it).
fn authoritative_zone<'a>(zones: &'a [PublishedZone], qname: &str) -> Option<&'a PublishedZone> {
    zones
        .iter()
        .filter(|z| z.status == "active")
        .filter(|z| qname == z.name || qname.ends_with(&format!(".{}", z.name)))
        .max_by_key(|z| z.name.len())
}

/// The addresses the responder answers for `A name`, or why it answers none (no zone holds
/// the name, or the name has no A record).
pub fn lookup_a(app: &AppState, name: &str) -> Result<Vec<String>, String> {
    let zones = app.read(published);
    let qname = name.trim_end_matches('.').to_ascii_lowercase();
    let zone = authoritative_zone(&zones, &qname)
        .ok_or_else(|| format!("no active emulated DNS zone holds {qname}"))?;
    let (code, answers) = resolve(zone, &qname, RecordType::A);
    let ips: Vec<String> = answers
        .iter()
        .filter_map(|r| match r.data() {
            hickory_proto::rr::RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    if ips.is_empty() {
        return Err(format!(
            "{qname} has no A record in zone {} ({code})",
            zone.name
        ));
    }
    Ok(ips)
}

fn relative<'a>(zone: &PublishedZone, qname: &'a str) -> &'a str {
    if qname == zone.name {
        ""
    } else {
        qname
            .strip_suffix(&format!(".{}", zone.name))
            .unwrap_or(qname)
    }
}

fn fqdn(zone: &PublishedZone, rel: &str) -> String {
    if rel.is_empty() {
        format!("{}.", zone.name)
    } else {
        format!("{rel}.{}.", zone.name)
    }
}

/// Response code and answer records for `qname` (inside `zone`) and `qtype`.
fn resolve(zone: &PublishedZone, qname: &str, qtype: RecordType) -> (ResponseCode, Vec<Record>) {
    let mut answers = vec![];
    let mut rel = relative(zone, qname).to_string();
    let owner_name = qname.to_string();
    // CNAME chains inside the zone, bounded against loops.
    for _ in 0..8 {
        let Some(owner) = existing_owner(zone, &rel) else {
            return if answers.is_empty() {
                (ResponseCode::NXDomain, vec![])
            } else {
                (ResponseCode::NoError, answers)
            };
        };
        let at: Vec<&(String, String, String, u32)> =
            zone.records.iter().filter(|r| r.0 == owner).collect();
        let name = if answers.is_empty() {
            owner_name.clone()
        } else {
            fqdn(zone, &rel)
        };
        let Ok(name) = Name::from_ascii(if name.ends_with('.') {
            name
        } else {
            format!("{name}.")
        }) else {
            return (ResponseCode::ServFail, vec![]);
        };
        if qtype == RecordType::SOA && rel.is_empty() {
            return (
                ResponseCode::NoError,
                soa_record(zone).into_iter().collect(),
            );
        }
        let wanted: Vec<Record> = at
            .iter()
            .filter(|r| type_matches(&r.1, qtype))
            .filter_map(|r| to_record(&name, r))
            .collect();
        if !wanted.is_empty() {
            answers.extend(wanted);
            return (ResponseCode::NoError, answers);
        }
        let cname = at.iter().find(|r| r.1 == "CNAME");
        match cname.and_then(|c| to_record(&name, c).map(|rec| (rec, c.2.clone()))) {
            Some((rec, target)) if qtype != RecordType::CNAME => {
                answers.push(rec);
                let target = target.trim_end_matches('.').to_ascii_lowercase();
                if target != zone.name && !target.ends_with(&format!(".{}", zone.name)) {
                    return (ResponseCode::NoError, answers);
                }
                rel = relative(zone, &target).to_string();
            }
            _ => return (ResponseCode::NoError, answers),
        }
    }
    (ResponseCode::NoError, answers)
}

/// The owner whose records answer `rel`: `rel` itself when it exists (it has records or
/// records below it), else the wildcard at its closest encloser (RFC 4592 §3.3.1).
fn existing_owner(zone: &PublishedZone, rel: &str) -> Option<String> {
    let exists = |n: &str| {
        n.is_empty()
            || zone
                .records
                .iter()
                .any(|r| r.0 == n || r.0.ends_with(&format!(".{n}")))
    };
    if exists(rel) {
        return Some(rel.to_string());
    }
    let mut encloser = rel;
    loop {
        encloser = match encloser.split_once('.') {
            Some((_, rest)) => rest,
            None => "",
        };
        if exists(encloser) {
            let wildcard = if encloser.is_empty() {
                "*".to_string()
            } else {
                format!("*.{encloser}")
            };
            return zone
                .records
                .iter()
                .any(|r| r.0 == wildcard)
                .then_some(wildcard);
        }
        if encloser.is_empty() {
            return None;
        }
    }
}

fn type_matches(stored: &str, qtype: RecordType) -> bool {
    qtype == RecordType::ANY || stored == qtype.to_string()
}

fn to_record(name: &Name, (_, type_, data, ttl): &(String, String, String, u32)) -> Option<Record> {
    let rdata = match type_.as_str() {
        "A" => RData::A(A(data.parse().ok()?)),
        "AAAA" => RData::AAAA(AAAA(data.parse().ok()?)),
        "TXT" => RData::TXT(TXT::new(vec![unquote(data)])),
        "NS" => RData::NS(NS(Name::from_ascii(absolute(data)).ok()?)),
        "CNAME" => RData::CNAME(CNAME(Name::from_ascii(absolute(data)).ok()?)),
        _ => return None,
    };
    Some(Record::from_rdata(name.clone(), *ttl, rdata))
}

/// TXT data as the API stores it may carry surrounding quotes; the wire string does not.
fn unquote(data: &str) -> String {
    data.strip_prefix('"')
        .and_then(|d| d.strip_suffix('"'))
        .unwrap_or(data)
        .to_string()
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn soa_record(zone: &PublishedZone) -> Option<Record> {
    let apex = Name::from_ascii(format!("{}.", zone.name)).ok()?;
    let mname = Name::from_ascii(format!("{}.", DEFAULT_NS[0])).ok()?;
    let rname = Name::from_ascii("hostmaster.scaleway.com.").ok()?;
    let serial = u32::try_from(zone.serial % (u32::MAX as u64)).unwrap_or(0);
    let soa = SOA::new(mname, rname, serial, 10800, 3600, 604800, NEGATIVE_TTL);
    Some(Record::from_rdata(apex, 1800, RData::SOA(soa)))
}
