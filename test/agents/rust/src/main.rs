// A small program with a known hot function, profiled by the current Rust agent (crate
// `pyroscope` 2.x, pprof-rs backend) and configured the way Datakit's Pyroscope docs configure
// agents: server address, application name and the tags host, service, version, env, process_id,
// runtime_id. The suite runner (test/agents/run) passes the settings in the environment:
//   PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS ("k=v,k=v"),
//   PYROSCOPE_UPLOAD_INTERVAL (seconds), EMBER_RUN_SECONDS (how long to work).
// process_id is this process's pid, added here like Datakit's examples do.

use pyroscope::backend::{pprof_backend, BackendConfig, PprofConfig};
use pyroscope::pyroscope::PyroscopeAgentBuilder;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[inline(never)]
fn ember_hot_loop(rounds: u64) -> u64 {
    let mut acc: u64 = 1;
    for i in 0..rounds {
        acc = black_box(acc.wrapping_mul(6364136223846793005).wrapping_add(i ^ (acc >> 7)));
    }
    acc
}

#[inline(never)]
fn ember_cold_loop(rounds: u64) -> u64 {
    let mut acc: u64 = 7;
    for i in 0..rounds {
        acc = black_box(acc.rotate_left(5) ^ i);
    }
    acc
}

fn main() {
    let server = env("PYROSCOPE_SERVER_ADDRESS", "http://127.0.0.1:4040");
    let app = env("PYROSCOPE_APPLICATION_NAME", "ember-agent-rust");
    let labels = env("PYROSCOPE_LABELS", "");
    let interval: u64 = env("PYROSCOPE_UPLOAD_INTERVAL", "10").parse().unwrap_or(10);
    let run_seconds: u64 = env("EMBER_RUN_SECONDS", "30").parse().unwrap_or(30);

    let pid = std::process::id().to_string();
    let mut pairs: Vec<(String, String)> = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    pairs.push(("process_id".to_string(), pid));
    let tags: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let agent = PyroscopeAgentBuilder::new(
        &server,
        &app,
        100,
        "pyroscope-rs",
        env!("CARGO_PKG_VERSION"),
        pprof_backend(PprofConfig { sample_rate: 100 }, BackendConfig::default()),
    )
    .tags(tags)
    .upload_interval(Duration::from_secs(interval))
    .build()
    .expect("pyroscope agent: build");
    let running = agent.start().expect("pyroscope agent: start");
    println!("EMBER_READY pid={}", std::process::id());

    let end = Instant::now() + Duration::from_secs(run_seconds);
    let mut sink = 0u64;
    while Instant::now() < end {
        sink ^= ember_hot_loop(9_000_000);
        sink ^= ember_cold_loop(1_000_000);
    }
    println!("EMBER_DONE {}", sink & 1);

    let ready = running.stop().expect("pyroscope agent: stop");
    ready.shutdown();
}
