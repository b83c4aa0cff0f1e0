//! The fixed native side of rsnet's benchmarks (bench/README.md describes the set-ups).
//!
//! One binary, two roles, the same workloads as bench/server.js and bench/client.js:
//!
//! ```text
//! loadgen server --workload=W [--host=127.0.0.1] [--port=0] [--warmup=MS] [--duration=MS] [--conns=N]
//! loadgen client --workload=W --port=P [--host=127.0.0.1] [--warmup=MS] [--duration=MS] [--conns=N]
//! common options: --deadline=MS (exit, reporting an error, after MS), --watch-stdin (exit when
//! stdin reaches end of file: bench/run.js holds a pipe, so the process cannot outlive it)
//! ```
//!
//! Workloads (named from the client's point of view; the receiver of bulk data measures it,
//! the client measures everything else, both sides report RSS for `idle`):
//!
//! - `bulk-send`: the client writes 64 KiB buffers; the server counts the bytes (MB/s).
//! - `bulk-recv`: the server writes 64 KiB buffers; the client counts the bytes (MB/s).
//! - `pingpong`, `pingpong100`: the client sends 64 B and waits for all 64 B to come back, on
//!   1 or `--conns` (default 100) connections at once; the server echoes (round trips/s).
//! - `connect`: the client connects, reads the server's one-byte greeting, closes, repeats
//!   (cycles/s); the server greets each connection and reads it to its end.
//! - `idle`: the client opens one warm-up connection and closes it, then opens `--conns`
//!   (default 10,000) connections, 64 at a time, each open once the server's one-byte
//!   greeting has arrived, and holds them; each side reports its RSS growth per connection
//!   once all of them are established.
//!
//! Everything it reports is one JSON object per line on stdout: `{"type":"listening","port":P}`
//! (server), `{"type":"result","value":V,...}`, or `{"type":"error","message":"..."}`.
//!
//! Runtime: one current-thread tokio runtime. The machine the benchmarks run on may have only
//! two cores, shared by the load generator and the module under test; a current-thread
//! runtime keeps the generator to one core, so it never takes both, and it is the same shape
//! as rsnet's own engine (one current-thread runtime per environment). The pure-tokio
//! ceiling (this binary on both sides) is then two such processes.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::exit;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{spawn_local, LocalSet};
use tokio::time::sleep;

/// Size of each write in the bulk workloads (and of the read buffer that counts them).
const BULK_CHUNK: usize = 64 * 1024;
/// Size of a ping-pong message.
const PING_SIZE: usize = 64;
/// The byte a server sends to each connection in the `connect` workload.
const GREETING: u8 = 0x2a;
/// Connections being opened at once by the idle workload. A connection counts as open once
/// the server's greeting has arrived, so at most this many wait in the server's accept
/// queue: well under the listen backlog, so no SYN is dropped (and retried a second later).
const IDLE_PARALLEL: usize = 64;
/// Listen backlog of the server: Node's default (511), so that the native server queues
/// connections as a node:net server would.
const LISTEN_BACKLOG: u32 = 511;
/// Pause after the last idle connection is established before RSS is read, so that whatever
/// the peer does in response (accept, first read) has happened.
const IDLE_SETTLE: Duration = Duration::from_millis(200);
/// How often a waiting task checks a condition (first byte seen, all connections open).
const POLL: Duration = Duration::from_millis(1);

static BULK_DATA: [u8; BULK_CHUNK] = [0x61; BULK_CHUNK];

const USAGE: &str =
  "usage: loadgen server|client --workload=bulk-send|bulk-recv|pingpong|pingpong100|connect|idle \
[--host=H] [--port=P] [--warmup=MS] [--duration=MS] [--conns=N] [--deadline=MS] [--watch-stdin]";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
  Server,
  Client,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Workload {
  BulkSend,
  BulkRecv,
  PingPong,
  PingPong100,
  Connect,
  Idle,
}

impl Workload {
  fn parse(name: &str) -> Option<Workload> {
    Some(match name {
      "bulk-send" => Workload::BulkSend,
      "bulk-recv" => Workload::BulkRecv,
      "pingpong" => Workload::PingPong,
      "pingpong100" => Workload::PingPong100,
      "connect" => Workload::Connect,
      "idle" => Workload::Idle,
      _ => return None,
    })
  }

  fn default_conns(self) -> usize {
    match self {
      Workload::PingPong100 => 100,
      Workload::Idle => 10_000,
      _ => 1,
    }
  }
}

#[derive(Debug)]
struct Options {
  role: Role,
  workload: Workload,
  host: String,
  port: u16,
  warmup: Duration,
  duration: Duration,
  conns: usize,
  deadline: Option<Duration>,
  watch_stdin: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
  let role = match args.first().map(String::as_str) {
    Some("server") => Role::Server,
    Some("client") => Role::Client,
    Some(other) => return Err(format!("unknown role {other:?}")),
    None => return Err("missing role".into()),
  };
  let mut workload = None;
  let mut host = "127.0.0.1".to_string();
  let mut port = None;
  let mut warmup = Duration::from_millis(1000);
  let mut duration = Duration::from_millis(3000);
  let mut conns = None;
  let mut deadline = None;
  let mut watch_stdin = false;
  for arg in &args[1..] {
    let (name, value) = match arg.split_once('=') {
      Some((n, v)) => (n, Some(v)),
      None => (arg.as_str(), None),
    };
    let need = || value.ok_or_else(|| format!("{name} needs a value"));
    let number = || -> Result<u64, String> {
      need()?
        .parse::<u64>()
        .map_err(|_| format!("{name} must be a non-negative integer"))
    };
    match name {
      "--workload" => {
        let v = need()?;
        workload = Some(Workload::parse(v).ok_or_else(|| format!("unknown workload {v:?}"))?);
      }
      "--host" => host = need()?.to_string(),
      "--port" => port = Some(u16::try_from(number()?).map_err(|_| "--port out of range".to_string())?),
      "--warmup" => warmup = Duration::from_millis(number()?),
      "--duration" => duration = Duration::from_millis(number()?),
      "--conns" => conns = Some(number()? as usize),
      "--deadline" => deadline = Some(Duration::from_millis(number()?)),
      "--watch-stdin" => watch_stdin = true,
      _ => return Err(format!("unknown option {arg:?}")),
    }
  }
  let workload = workload.ok_or("missing --workload")?;
  let port = match (role, port) {
    (_, Some(p)) => p,
    (Role::Server, None) => 0,
    (Role::Client, None) => return Err("the client needs --port".into()),
  };
  let conns = conns.unwrap_or(workload.default_conns());
  if conns == 0 {
    return Err("--conns must be at least 1".into());
  }
  if duration.is_zero() {
    return Err("--duration must be at least 1".into());
  }
  Ok(Options {
    role,
    workload,
    host,
    port,
    warmup,
    duration,
    conns,
    deadline,
    watch_stdin,
  })
}

// ---------------------------------------------------------------------------------------
// Output: one JSON object per line

fn emit(line: &str) {
  let mut out = std::io::stdout().lock();
  // Unlike println!, never panic: if stdout is gone, so is whoever reads it.
  if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
    exit(1);
  }
}

fn json_string(s: &str) -> String {
  let mut out = String::with_capacity(s.len() + 2);
  out.push('"');
  for c in s.chars() {
    match c {
      '"' => out.push_str("\\\""),
      '\\' => out.push_str("\\\\"),
      '\n' => out.push_str("\\n"),
      c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
      c => out.push(c),
    }
  }
  out.push('"');
  out
}

fn json_number(x: f64) -> String {
  if x.is_finite() {
    format!("{x}")
  } else {
    "null".into()
  }
}

/// Report an error and exit: the run fails, and bench/run.js shows the message.
fn fail(message: &str) -> ! {
  emit(&format!(
    r#"{{"type":"error","message":{}}}"#,
    json_string(&format!("loadgen: {message}"))
  ));
  exit(1);
}

/// Report a rate measured over a window: `count` units in `seconds`. Bulk workloads count
/// bytes and report MB/s (10^6 B); the others report units per second.
fn emit_rate(count: u64, seconds: f64, bytes: bool) {
  let value = if bytes {
    count as f64 / 1e6 / seconds
  } else {
    count as f64 / seconds
  };
  emit(&format!(
    r#"{{"type":"result","value":{},"count":{count},"seconds":{}}}"#,
    json_number(value),
    json_number(seconds)
  ));
}

/// Resident set size of this process in bytes (VmRSS in /proc/self/status).
fn rss() -> u64 {
  let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
  status
    .lines()
    .find_map(|l| l.strip_prefix("VmRSS:"))
    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    .map_or(0, |kb| kb * 1024)
}

// ---------------------------------------------------------------------------------------
// Measuring

/// Wait until `counter` has moved (the workload has really started).
async fn started(counter: &Cell<u64>) {
  while counter.get() == 0 {
    sleep(POLL).await;
  }
}

/// Count over a fixed window after an untimed warm-up. Returns the increase and the exact
/// elapsed time, so a late timer does not skew the rate.
async fn window(counter: &Cell<u64>, warmup: Duration, duration: Duration) -> (u64, f64) {
  sleep(warmup).await;
  let c0 = counter.get();
  let t0 = Instant::now();
  sleep(duration).await;
  let c1 = counter.get();
  (c1 - c0, t0.elapsed().as_secs_f64())
}

/// Once `counter` (connections established) reaches `wait_for`, let the peer settle, then
/// report the RSS growth since `rss_before` per connection (`conns` of them), and how long
/// the connections took.
async fn report_idle(counter: Rc<Cell<u64>>, wait_for: usize, conns: usize, rss_before: u64, since: Instant) {
  while counter.get() < wait_for as u64 {
    sleep(POLL * 10).await;
  }
  let seconds = since.elapsed().as_secs_f64();
  sleep(IDLE_SETTLE).await;
  let rss_after = rss();
  let per_conn = (rss_after as f64 - rss_before as f64) / conns as f64;
  emit(&format!(
    r#"{{"type":"result","value":{},"conns":{conns},"rssBefore":{rss_before},"rssAfter":{rss_after},"seconds":{}}}"#,
    json_number(per_conn),
    json_number(seconds)
  ));
}

// ---------------------------------------------------------------------------------------
// Connection handlers shared by both roles

/// Read and count everything until the peer closes.
async fn sink(mut stream: TcpStream, counter: Rc<Cell<u64>>) -> std::io::Result<()> {
  let mut buf = vec![0u8; BULK_CHUNK];
  loop {
    let n = stream.read(&mut buf).await?;
    if n == 0 {
      return Ok(());
    }
    counter.set(counter.get() + n as u64);
  }
}

/// Write 64 KiB buffers until the peer goes away.
async fn source(mut stream: TcpStream) -> std::io::Result<()> {
  loop {
    stream.write_all(&BULK_DATA).await?;
  }
}

/// Hold an idle connection: wait for readability (no buffer while waiting) until the peer
/// closes it.
async fn hold(stream: TcpStream) {
  let mut buf = [0u8; 64];
  loop {
    if stream.readable().await.is_err() {
      return;
    }
    match stream.try_read(&mut buf) {
      Ok(0) => return,
      Ok(_) => {}
      Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
      Err(_) => return,
    }
  }
}

// ---------------------------------------------------------------------------------------
// Server

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
  let mut buf = vec![0u8; BULK_CHUNK];
  loop {
    let n = stream.read(&mut buf).await?;
    if n == 0 {
      return Ok(());
    }
    stream.write_all(&buf[..n]).await?;
  }
}

async fn greet(mut stream: TcpStream) -> std::io::Result<()> {
  stream.write_all(&[GREETING]).await?;
  let mut buf = [0u8; 64];
  while stream.read(&mut buf).await? > 0 {}
  Ok(())
}

/// Listen as node:net does: SO_REUSEADDR, Node's default backlog.
async fn listen(host: &str, port: u16) -> std::io::Result<TcpListener> {
  let addr = tokio::net::lookup_host((host, port))
    .await?
    .next()
    .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
  let socket = if addr.is_ipv4() {
    TcpSocket::new_v4()?
  } else {
    TcpSocket::new_v6()?
  };
  socket.set_reuseaddr(true)?;
  socket.bind(addr)?;
  socket.listen(LISTEN_BACKLOG)
}

async fn server(o: Options) -> Result<(), String> {
  let listener = listen(&o.host, o.port)
    .await
    .map_err(|e| format!("listen on {}:{}: {e}", o.host, o.port))?;
  let port = listener
    .local_addr()
    .map_err(|e| format!("local address: {e}"))?
    .port();
  let counter = Rc::new(Cell::new(0u64));
  let rss_before = rss();
  emit(&format!(r#"{{"type":"listening","port":{port}}}"#));

  match o.workload {
    Workload::BulkSend => {
      // The receiver measures bulk-send: from the first byte, after the warm-up.
      let c = counter.clone();
      let (warmup, duration) = (o.warmup, o.duration);
      spawn_local(async move {
        started(&c).await;
        let (bytes, seconds) = window(&c, warmup, duration).await;
        emit_rate(bytes, seconds, true);
      });
    }
    Workload::Idle => {
      // The client opens (and closes) one warm-up connection before the measured ones.
      spawn_local(report_idle(
        counter.clone(),
        o.conns + 1,
        o.conns,
        rss_before,
        Instant::now(),
      ));
    }
    _ => {}
  }

  loop {
    let stream = match listener.accept().await {
      Ok((stream, _)) => stream,
      Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
      Err(e) => fail(&format!("accept: {e}")),
    };
    // A connection reset by a client killed at the end of a run is expected: errors on
    // accepted connections only end that connection.
    match o.workload {
      Workload::BulkSend => drop(spawn_local(sink(stream, counter.clone()))),
      Workload::BulkRecv => drop(spawn_local(source(stream))),
      Workload::PingPong | Workload::PingPong100 => drop(spawn_local(echo(stream))),
      Workload::Connect => drop(spawn_local(greet(stream))),
      Workload::Idle => {
        counter.set(counter.get() + 1);
        drop(spawn_local(async move {
          let mut stream = stream;
          if stream.write_all(&[GREETING]).await.is_ok() {
            hold(stream).await;
          }
        }));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Client

async fn connect(addr: SocketAddr) -> TcpStream {
  match TcpStream::connect(addr).await {
    Ok(stream) => stream,
    Err(e) => fail(&format!("connect to {addr}: {e}")),
  }
}

/// Wait for the server's one-byte greeting: it proves the server accepted the connection.
async fn greeted(mut stream: TcpStream) -> TcpStream {
  let mut greeting = [0u8; 1];
  if let Err(e) = stream.read_exact(&mut greeting).await {
    fail(&format!("reading the greeting: {e}"));
  }
  stream
}

async fn ping_loop(mut stream: TcpStream, counter: Rc<Cell<u64>>) {
  let message = [0x62u8; PING_SIZE];
  let mut reply = [0u8; PING_SIZE];
  loop {
    if let Err(e) = stream.write_all(&message).await {
      fail(&format!("pingpong write: {e}"));
    }
    // The echo may come back in pieces: a round trip ends when all 64 B are back.
    if let Err(e) = stream.read_exact(&mut reply).await {
      fail(&format!("pingpong read: {e}"));
    }
    counter.set(counter.get() + 1);
  }
}

async fn client(o: Options) -> Result<(), String> {
  let addr = tokio::net::lookup_host((o.host.as_str(), o.port))
    .await
    .map_err(|e| format!("lookup {}: {e}", o.host))?
    .next()
    .ok_or_else(|| format!("lookup {}: no address", o.host))?;
  let counter = Rc::new(Cell::new(0u64));

  match o.workload {
    Workload::BulkSend => {
      // The server measures.
      let mut stream = connect(addr).await;
      loop {
        if let Err(e) = stream.write_all(&BULK_DATA).await {
          fail(&format!("bulk write: {e}"));
        }
      }
    }
    Workload::BulkRecv => {
      let stream = connect(addr).await;
      let c = counter.clone();
      spawn_local(async move {
        match sink(stream, c).await {
          Ok(()) => fail("bulk read: the server closed the connection"),
          Err(e) => fail(&format!("bulk read: {e}")),
        }
      });
      started(&counter).await;
      let (bytes, seconds) = window(&counter, o.warmup, o.duration).await;
      emit_rate(bytes, seconds, true);
    }
    Workload::PingPong | Workload::PingPong100 => {
      let mut streams = Vec::with_capacity(o.conns);
      for _ in 0..o.conns {
        streams.push(connect(addr).await);
      }
      for stream in streams {
        spawn_local(ping_loop(stream, counter.clone()));
      }
      let (count, seconds) = window(&counter, o.warmup, o.duration).await;
      emit_rate(count, seconds, false);
    }
    Workload::Connect => {
      let c = counter.clone();
      spawn_local(async move {
        loop {
          drop(greeted(connect(addr).await).await);
          c.set(c.get() + 1);
        }
      });
      let (count, seconds) = window(&counter, o.warmup, o.duration).await;
      emit_rate(count, seconds, false);
    }
    Workload::Idle => {
      // One connection first, so that what the first connection costs once (buffers,
      // runtime structures) is not counted per connection.
      greeted(connect(addr).await).await;
      sleep(IDLE_SETTLE).await;
      let rss_before = rss();
      let since = Instant::now();
      let next = Rc::new(Cell::new(0usize));
      for _ in 0..IDLE_PARALLEL.min(o.conns) {
        let (next, c, total) = (next.clone(), counter.clone(), o.conns);
        spawn_local(async move {
          while next.get() < total {
            next.set(next.get() + 1);
            let stream = greeted(connect(addr).await).await;
            c.set(c.get() + 1);
            spawn_local(hold(stream));
          }
        });
      }
      report_idle(counter.clone(), o.conns, o.conns, rss_before, since).await;
    }
  }
  // Keep the connections open (and serving the peer, if it measures) until killed.
  std::future::pending::<()>().await;
  Ok(())
}

// ---------------------------------------------------------------------------------------

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let o = match parse_args(&args) {
    Ok(o) => o,
    Err(message) => {
      eprintln!("loadgen: {message}\n{USAGE}");
      exit(2);
    }
  };

  if o.watch_stdin {
    // The parent holds the other end of stdin: when it exits, however it exits, so do we.
    std::thread::spawn(|| {
      let mut buf = [0u8; 256];
      let mut stdin = std::io::stdin();
      loop {
        match stdin.read(&mut buf) {
          Ok(0) | Err(_) => exit(0),
          Ok(_) => {}
        }
      }
    });
  }
  if let Some(deadline) = o.deadline {
    std::thread::spawn(move || {
      std::thread::sleep(deadline);
      fail(&format!("deadline of {} ms reached", deadline.as_millis()));
    });
  }

  let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
    Ok(rt) => rt,
    Err(e) => fail(&format!("tokio runtime: {e}")),
  };
  let result = LocalSet::new().block_on(&runtime, async move {
    match o.role {
      Role::Server => server(o).await,
      Role::Client => client(o).await,
    }
  });
  if let Err(message) = result {
    fail(&message);
  }
}
