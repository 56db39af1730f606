//! A network path that can really be cut, for partition tests.
//!
//! A userspace proxy on loopback cannot simulate a partition: its kernel keeps acknowledging the
//! client's packets, so TCP-level dead-peer detection never fires. Instead, two network namespaces
//! of our own (`ip netns add`) are joined by a veth pair on private addresses; the binary runs in the
//! client namespace (`ip netns exec`), and a relay listening in the server namespace forwards to the
//! test server on loopback. [`Partition::cut`] takes the server end of the veth pair down: from then
//! on the client's packets are silently dropped, exactly as in a real partition, while the relay's
//! own connection to PostgreSQL stays up (so the server goes on and commits). Everything is removed
//! on drop, also when the test fails. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and `ip` (iproute2).

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by a veth pair, and a relay from the server side to a local port.
pub struct Partition {
    client_ns: String,
    client_if: String,
    server_ns: String,
    server_if: String,
    /// `10.213.N.2`: where the client connects.
    pub server_addr: Ipv4Addr,
    /// The port the relay listens on in the server namespace.
    pub port: u16,
}

impl Partition {
    /// Sets up the namespaces and starts a relay to `127.0.0.1:<target_port>`. Panics with what to
    /// install or how to run when namespaces cannot be made (never skips silently).
    pub fn new(target_port: u16) -> Partition {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let subnet = (std::process::id() % 200 + n * 7) % 250 + 1;
        let p = Partition {
            client_ns: format!("prc{tag}"),
            client_if: format!("prc{tag}"),
            server_ns: format!("prs{tag}"),
            server_if: format!("prs{tag}"),
            server_addr: Ipv4Addr::new(10, 213, subnet as u8, 2),
            port: 5432,
        };
        let client_if = p.client_if.clone();
        let client_cidr = format!("10.213.{subnet}.1/24");
        let server_cidr = format!("{}/24", p.server_addr);
        p.ip(&["netns", "add", &p.client_ns]);
        p.ip(&["netns", "add", &p.server_ns]);
        p.ip(&[
            "link",
            "add",
            &client_if,
            "netns",
            &p.client_ns,
            "type",
            "veth",
            "peer",
            "name",
            &p.server_if,
            "netns",
            &p.server_ns,
        ]);
        p.ip(&[
            "-n",
            &p.client_ns,
            "addr",
            "add",
            &client_cidr,
            "dev",
            &client_if,
        ]);
        p.ip(&[
            "-n",
            &p.server_ns,
            "addr",
            "add",
            &server_cidr,
            "dev",
            &p.server_if,
        ]);
        // A fixed hardware address and a permanent neighbour entry for it: once cut, the client's
        // packets are then sent and lost (SYNs and data time out, as in a real partition) instead of
        // failing at once with "no route to host" when address resolution gives up.
        let server_mac = format!("02:00:0a:d5:{:02x}:02", subnet);
        p.ip(&[
            "-n",
            &p.server_ns,
            "link",
            "set",
            &p.server_if,
            "address",
            &server_mac,
        ]);
        for (ns, dev) in [(&p.client_ns, &client_if), (&p.server_ns, &p.server_if)] {
            p.ip(&["-n", ns, "link", "set", dev, "up"]);
            p.ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let server_ip = p.server_addr.to_string();
        p.ip(&[
            "-n",
            &p.client_ns,
            "neigh",
            "replace",
            &server_ip,
            "lladdr",
            &server_mac,
            "dev",
            &client_if,
            "nud",
            "permanent",
        ]);
        let listener = p.listen_in_server_ns();
        std::thread::spawn(move || relay(listener, target_port));
        p
    }

    /// A command run inside the client namespace: `ip netns exec <ns> <program>`.
    pub fn command_in_client(&self, program: &std::path::Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.client_ns]).arg(program);
        cmd
    }

    /// Cuts the path: the client's packets are dropped from now on, without any reset.
    pub fn cut(&self) {
        self.ip(&[
            "-n",
            &self.server_ns,
            "link",
            "set",
            &self.server_if,
            "down",
        ]);
    }

    /// Forgets the client's permanent neighbour entry for the server: while the path is cut, a new
    /// connection then fails with "no route to host" once address resolution gives up (~3 s), as
    /// it does in a real partition of a local network, instead of timing out.
    pub fn forget_neighbour(&self) {
        let server_ip = self.server_addr.to_string();
        self.ip(&[
            "-n",
            &self.client_ns,
            "neigh",
            "del",
            &server_ip,
            "dev",
            &self.client_if,
        ]);
    }

    /// Restores the path.
    pub fn heal(&self) {
        self.ip(&["-n", &self.server_ns, "link", "set", &self.server_if, "up"]);
    }

    fn ip(&self, args: &[&str]) {
        let out = Command::new("ip")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `ip` (install iproute2): {e}"));
        assert!(
            out.status.success(),
            "ip {} failed (partition tests need root and network namespaces): {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A listening socket created inside the server namespace: a helper thread enters the namespace
    /// (`setns` changes only the calling thread) and binds; the socket stays in that namespace.
    fn listen_in_server_ns(&self) -> TcpListener {
        let path = format!("/var/run/netns/{}", self.server_ns);
        let addr = SocketAddrV4::new(self.server_addr, self.port);
        std::thread::spawn(move || -> io::Result<TcpListener> {
            let ns = std::fs::File::open(&path)?;
            // SAFETY: setns on a valid namespace fd; it affects only this short-lived thread.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            TcpListener::bind(addr)
        })
        .join()
        .expect("namespace thread")
        .unwrap_or_else(|e| panic!("cannot listen inside the server namespace: {e}"))
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and with it the other end.
        for ns in [&self.client_ns, &self.server_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Forwards every accepted connection to `127.0.0.1:target_port` until either side ends.
fn relay(listener: TcpListener, target_port: u16) {
    for client in listener.incoming().flatten() {
        let Ok(server) = TcpStream::connect((Ipv4Addr::LOCALHOST, target_port)) else {
            continue;
        };
        for (from, to) in [
            (client.try_clone(), server.try_clone()),
            (server.try_clone(), client.try_clone()),
        ] {
            if let (Ok(mut from), Ok(mut to)) = (from, to) {
                std::thread::spawn(move || {
                    let _ = io::copy(&mut from, &mut to);
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                });
            }
        }
    }
}
