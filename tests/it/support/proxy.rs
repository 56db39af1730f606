//! A TCP proxy on loopback in front of the test server that a test can cut: [`Proxy::cut`] drops
//! every connection and closes the port (new connections are refused), which is what a client sees
//! while its database restarts; [`Proxy::resume`] opens the same port again.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Proxy {
    port: u16,
    target: (String, u16),
    connections: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy to the server of `db_url`, listening on a free loopback port.
    pub fn start(db_url: &str) -> Proxy {
        let url = url::Url::parse(db_url).expect("the test database URL");
        let host = url.host_str().unwrap_or("127.0.0.1").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
        let mut proxy = Proxy {
            port: listener.local_addr().expect("proxy address").port(),
            target: (host, url.port().unwrap_or(5432)),
            connections: Arc::default(),
            stop: Arc::default(),
            acceptor: None,
        };
        proxy.accept_on(listener);
        proxy
    }

    /// `db_url` pointed at the proxy.
    pub fn url(&self, db_url: &str) -> String {
        let mut url = url::Url::parse(db_url).expect("the test database URL");
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(self.port)).expect("port");
        url.to_string()
    }

    /// Closes the port and drops every open connection (both directions).
    pub fn cut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().expect("proxy acceptor");
        }
        for stream in self.connections.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Opens the port again after [`Proxy::cut`].
    pub fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind the port again");
        self.stop.store(false, Ordering::SeqCst);
        self.accept_on(listener);
    }

    fn accept_on(&mut self, listener: TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let (stop, connections, target) = (
            Arc::clone(&self.stop),
            Arc::clone(&self.connections),
            self.target.clone(),
        );
        self.acceptor = Some(std::thread::spawn(move || {
            // Polls, so that `cut` can close the port promptly (dropping the listener closes it).
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => forward(client, &target, &connections),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }
}

/// A TCP port on 127.0.0.1 where nothing listens (bound a moment ago, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Pipes `client` to a new connection to `target`, both ways, remembering both streams for `cut`.
fn forward(client: TcpStream, target: &(String, u16), connections: &Mutex<Vec<TcpStream>>) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else {
        return;
    };
    let clone = |s: &TcpStream| s.try_clone().expect("clone a proxied stream");
    connections
        .lock()
        .unwrap()
        .extend([clone(&client), clone(&server)]);
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
    };
    pipe(clone(&client), clone(&server));
    pipe(server, client);
}
