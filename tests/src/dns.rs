//! A DNS server that knows one name: a container whose /etc/resolv.conf
//! names it resolves that name through DNS, and the count of the answers it
//! gave shows that the address came from DNS, not from /etc/hosts.
//!
//! It listens on port 53 of a loopback address of its own, which a container
//! on the host's network (`--network host`) reaches. Port 53 because
//! resolv.conf has no port; an address of its own because another test
//! process (CI runs the suite on two engines side by side) may run one too.

use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Answers `A` queries for one name with one IPv4 address, from a thread of
/// its own, until dropped.
pub struct Responder {
    address: Ipv4Addr,
    answered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Holds the resolv.conf that names this server.
    dir: tempfile::TempDir,
}

impl Responder {
    /// Starts answering `name` (e.g. `service.rch.test`) with `address`.
    pub fn start(name: &str, address: Ipv4Addr) -> io::Result<Responder> {
        let zone = Zone::new(name, address)?;
        let (socket, listening) = bind()?;
        // How often the thread looks at the stop flag: dropping waits this long at most.
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        // Under the temporary directory, which the current engine's container
        // sees at the same path, so that `docker run -v` finds it on either
        // engine; readable by every user, as the images run as 10001.
        let dir = tempfile::Builder::new().prefix("rch-dns-").tempdir()?;
        let resolv_conf = dir.path().join("resolv.conf");
        std::fs::write(&resolv_conf, format!("nameserver {listening}\n"))?;
        std::fs::set_permissions(&resolv_conf, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;

        let (answered, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let thread = {
            let (answered, stop) = (Arc::clone(&answered), Arc::clone(&stop));
            std::thread::Builder::new().name(format!("dns {listening}")).spawn(move || {
                serve(&socket, &zone, &answered, &stop);
            })?
        };
        Ok(Responder { address: listening, answered, stop, thread: Some(thread), dir })
    }

    /// The loopback address it listens on (port 53).
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// How many `A` queries for the name it has answered with the address.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// A resolv.conf naming this server alone, to mount over a container's
    /// /etc/resolv.conf.
    pub fn resolv_conf(&self) -> PathBuf {
        self.dir.path().join("resolv.conf")
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How many addresses a process tries before it gives up.
const ATTEMPTS: u32 = 64;

/// A UDP socket on port 53 of a 127.53.x.y address: the first in a run of
/// addresses that starts from the process id, so that two processes start
/// apart, and one that finds an address taken moves on to the next.
fn bind() -> io::Result<(UdpSocket, Ipv4Addr)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut tried = Vec::new();
    for _ in 0..ATTEMPTS {
        let address = loopback(std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        match UdpSocket::bind((address, 53)) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => tried.push(address.to_string()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("binding {address}:53: {e}"))),
            Ok(socket) => return Ok((socket, address)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("port 53 is taken on every address tried: {}", tried.join(" ")),
    ))
}

/// The `n`th address of process `pid`'s run in 127.53.0.0/16 (all of
/// 127.0.0.0/8 is loopback on Linux), never one ending in .0 or .255.
fn loopback(pid: u32, n: u32) -> Ipv4Addr {
    const HOSTS: u32 = 256 * 254;
    let slot = (pid % HOSTS * ATTEMPTS + n) % HOSTS;
    Ipv4Addr::new(127, 53, (slot / 254) as u8, (slot % 254 + 1) as u8)
}

fn serve(socket: &UdpSocket, zone: &Zone, answered: &AtomicUsize, stop: &AtomicBool) {
    // Larger than any query a stub resolver sends.
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let (length, peer) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            // The read timeout: time to look at the stop flag.
            Err(_) => continue,
        };
        if let Some(reply) = zone.respond(&buffer[..length]) {
            if reply.answered {
                answered.fetch_add(1, Ordering::SeqCst);
            }
            let _ = socket.send_to(&reply.packet, peer);
        }
    }
}

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
/// Header flags (RFC 1035 4.1.1).
const QR: u16 = 0x8000;
const OPCODE: u16 = 0x7800;
const AA: u16 = 0x0400;
const RD: u16 = 0x0100;
const NXDOMAIN: u16 = 3;

/// The one name this server knows, in wire form, and its address.
struct Zone {
    name: Vec<u8>,
    address: Ipv4Addr,
}

/// What a query asks, as far as an answer needs it.
struct Query<'a> {
    id: u16,
    flags: u16,
    /// QNAME, QTYPE and QCLASS as sent, which the response repeats.
    question: &'a [u8],
    qname: &'a [u8],
    qtype: u16,
    qclass: u16,
}

struct Reply {
    packet: Vec<u8>,
    /// Whether it gives the name's address.
    answered: bool,
}

impl Zone {
    fn new(name: &str, address: Ipv4Addr) -> io::Result<Zone> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?} is no domain name"));
        let mut wire = Vec::new();
        for label in name.trim_end_matches('.').split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(invalid());
            }
            wire.push(label.len() as u8);
            wire.extend(label.bytes());
        }
        wire.push(0);
        if wire.len() > 255 {
            return Err(invalid());
        }
        Ok(Zone { name: wire, address })
    }

    /// The response to `packet`: the address for an `A` query of the name;
    /// no answer, but no error, for another type of it (the `AAAA` that
    /// getaddrinfo asks beside `A`); NXDOMAIN for any other name. `None` for
    /// anything but a well-formed standard query, which gets no response.
    fn respond(&self, packet: &[u8]) -> Option<Reply> {
        let query = parse_query(packet)?;
        let known = query.qclass == CLASS_IN && query.qname.eq_ignore_ascii_case(&self.name);
        let answered = known && query.qtype == TYPE_A;
        // A response, authoritative, recursion desired as asked (none available).
        let flags = QR | AA | (query.flags & RD) | if known { 0 } else { NXDOMAIN };
        let mut out = Vec::with_capacity(12 + query.question.len() + 16);
        for field in [query.id, flags, 1, u16::from(answered), 0, 0] {
            out.extend(field.to_be_bytes());
        }
        out.extend(query.question);
        if answered {
            // The name as a pointer to the question's, at offset 12; TTL 0: no cache may keep it.
            out.extend([0xc0, 12]);
            for field in [TYPE_A, CLASS_IN, 0, 0, 4] {
                out.extend(field.to_be_bytes());
            }
            out.extend(self.address.octets());
        }
        Some(Reply { packet: out, answered })
    }
}

/// A standard query (QR 0, opcode QUERY) with one question, its name in
/// labels without compression; `None` for anything else, and for a packet
/// that ends early.
fn parse_query(packet: &[u8]) -> Option<Query<'_>> {
    let u16_at = |at: usize| Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]));
    let (id, flags, questions) = (u16_at(0)?, u16_at(2)?, u16_at(4)?);
    if flags & (QR | OPCODE) != 0 || questions != 1 {
        return None;
    }
    let mut at = 12;
    loop {
        let length = usize::from(*packet.get(at)?);
        // 0xc0 and up start a pointer, 0x40 to 0xbf are no label at all.
        if length > 63 {
            return None;
        }
        at += 1 + length;
        if at - 12 > 255 {
            return None;
        }
        if length == 0 {
            break;
        }
    }
    let (qtype, qclass) = (u16_at(at)?, u16_at(at + 2)?);
    Some(Query { id, flags, question: &packet[12..at + 4], qname: &packet[12..at], qtype, qclass })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "service.rch.test";
    const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);

    /// A query as glibc sends it: id, RD set, one question.
    fn query(id: u16, name: &[u8], qtype: u16) -> Vec<u8> {
        let mut packet = vec![(id >> 8) as u8, id as u8, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        packet.extend(name);
        packet.extend(qtype.to_be_bytes());
        packet.extend(CLASS_IN.to_be_bytes());
        packet
    }

    /// service.rch.test in wire form, in the mixed case that some resolvers
    /// send (and expect back as sent).
    const WIRE: &[u8] = b"\x07SeRvIcE\x03rch\x04TEST\x00";

    fn zone() -> Zone {
        Zone::new(NAME, ADDRESS).unwrap()
    }

    #[test]
    fn an_a_query_for_the_name_gets_its_address() {
        let reply = zone().respond(&query(0xbeef, WIRE, TYPE_A)).expect("a reply");
        let mut expected = vec![
            0xbe, 0xef, // the query's id
            0x85, 0x00, // QR, AA, RD as asked; NOERROR
            0, 1, 0, 1, 0, 0, 0, 0, // one question, one answer
        ];
        expected.extend(WIRE);
        expected.extend([0, 1, 0, 1]); // A, IN
        expected.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 7]);
        assert_eq!(reply.packet, expected);
        assert!(reply.answered);
    }

    #[test]
    fn an_aaaa_query_for_the_name_gets_no_answer_and_no_error() {
        let reply = zone().respond(&query(7, WIRE, 28)).expect("a reply");
        let mut expected = vec![0, 7, 0x85, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend(WIRE);
        expected.extend([0, 28, 0, 1]);
        assert_eq!(reply.packet, expected);
        assert!(!reply.answered);
    }

    #[test]
    fn any_other_name_does_not_exist() {
        for name in [&b"\x07service\x03rch\x04test\x07example\x00"[..], b"\x03rch\x04test\x00", b"\x00"] {
            let mut asked = query(9, name, TYPE_A);
            asked[2] = 0; // RD not set: none in the reply either
            let reply = zone().respond(&asked).expect("a reply");
            let mut expected = vec![0, 9, 0x84, 0x03, 0, 1, 0, 0, 0, 0, 0, 0];
            expected.extend(name);
            expected.extend([0, 1, 0, 1]);
            assert_eq!(reply.packet, expected, "{name:?}");
            assert!(!reply.answered);
        }
    }

    #[test]
    fn a_query_with_an_edns_record_is_answered_without_one() {
        let mut asked = query(1, WIRE, TYPE_A);
        asked[11] = 1; // ARCOUNT
        asked.extend([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]); // OPT, 1232-byte payload
        let reply = zone().respond(&asked).expect("a reply");
        assert_eq!(reply.packet, zone().respond(&query(1, WIRE, TYPE_A)).unwrap().packet);
    }

    #[test]
    fn a_malformed_packet_or_no_query_gets_no_reply() {
        let good = query(3, WIRE, TYPE_A);
        // Every packet that ends early.
        for end in 0..good.len() {
            assert!(zone().respond(&good[..end]).is_none(), "cut at {end}");
        }
        let with = |at: usize, byte: u8| {
            let mut packet = good.clone();
            packet[at] = byte;
            packet
        };
        let broken = [
            ("a response", with(2, 0x81)),
            ("opcode STATUS", with(2, 0x11)),
            ("no question", with(5, 0)),
            ("two questions", with(5, 2)),
            ("a compression pointer", with(12, 0xc0)),
            ("a label of 64 bytes", with(12, 64)),
            ("a label past the end", with(20, 60)),
        ];
        for (what, packet) in broken {
            assert!(zone().respond(&packet).is_none(), "{what}");
        }
        let mut long = vec![0, 3, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        long.extend([[63].as_slice(), &[b'a'; 63]].concat().repeat(5));
        long.extend([0, 0, 1, 0, 1]);
        assert!(zone().respond(&long).is_none(), "a name over 255 bytes");
    }

    /// Whatever arrives, the server never panics (a fixed pseudo-random
    /// sequence, so that a failure repeats).
    #[test]
    fn random_packets_never_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let good = query(3, WIRE, TYPE_A);
        for _ in 0..20_000 {
            let mut packet = good.clone();
            packet.truncate((next() % 48) as usize);
            for _ in 0..(next() % 4) {
                if !packet.is_empty() {
                    let at = (next() as usize) % packet.len();
                    packet[at] = next() as u8;
                }
            }
            let _ = zone().respond(&packet);
        }
    }

    #[test]
    fn a_name_that_is_no_domain_name_is_refused() {
        assert!(Zone::new("a..b", ADDRESS).is_err());
        assert!(Zone::new(&"a".repeat(64), ADDRESS).is_err());
        assert!(Zone::new(&["abc"; 70].join("."), ADDRESS).is_err());
        assert_eq!(Zone::new("rch.test.", ADDRESS).unwrap().name, b"\x03rch\x04test\x00");
    }

    #[test]
    fn each_process_starts_its_addresses_elsewhere_and_all_are_hosts() {
        assert_ne!(loopback(1000, 0), loopback(1001, 0));
        let run: Vec<Ipv4Addr> = (0..ATTEMPTS).map(|n| loopback(1000, n)).collect();
        assert!(!run.contains(&loopback(1001, 0)), "a neighbouring process's first address is outside the run");
        for pid in [0, 1, 254, 255, 65_023, 4_194_304, u32::MAX] {
            for n in [0, 1, ATTEMPTS - 1] {
                let octets = loopback(pid, n).octets();
                assert!(octets[..2] == [127, 53] && octets[3] != 0 && octets[3] != 255, "{pid} {n}: {octets:?}");
            }
        }
    }

    /// Two servers at once, each on an address of its own, answering over
    /// real sockets and counting what they answered. Port 53 needs root, as
    /// the Docker tests do.
    #[test]
    fn two_servers_answer_side_by_side_and_count_their_answers() {
        let (one, two) = (Responder::start(NAME, ADDRESS).unwrap(), Responder::start(NAME, ADDRESS).unwrap());
        assert_ne!(one.address(), two.address());
        let resolv_conf = std::fs::read_to_string(one.resolv_conf()).unwrap();
        assert_eq!(resolv_conf, format!("nameserver {}\n", one.address()));
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(one.resolv_conf()).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o644);

        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ask = |server: &Responder, packet: &[u8]| {
            client.send_to(packet, (server.address(), 53)).unwrap();
            let mut buffer = [0u8; 512];
            let (length, from) = client.recv_from(&mut buffer).unwrap();
            assert_eq!(from, (server.address(), 53).into(), "the reply comes from the address asked");
            buffer[..length].to_vec()
        };
        assert_eq!(ask(&one, &query(1, WIRE, TYPE_A)), zone().respond(&query(1, WIRE, TYPE_A)).unwrap().packet);
        ask(&one, &query(2, WIRE, 28));
        ask(&two, &query(3, b"\x05other\x00", TYPE_A));
        assert_eq!((one.answered(), two.answered()), (1, 0));

        let address = one.address();
        drop(one);
        UdpSocket::bind((address, 53)).expect("a dropped server leaves its address free");
    }
}
