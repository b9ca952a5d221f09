//! The raw argon2id hash rate at harmony's configured parameters, on one thread: what the
//! password grant's throughput is measured against.
//! `cargo run --release --example argon2_rate -- SECONDS [MEMORY_KIB ITERATIONS]`

use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, Version};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let memory: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(19_456);
    let iterations: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let params = Params::new(memory, iterations, 1, None).expect("argon2 parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let started = Instant::now();
    let mut hashes = 0u64;
    while started.elapsed() < Duration::from_secs_f64(seconds) {
        argon2
            .hash_password(b"correct horse battery staple")
            .expect("hash");
        hashes += 1;
    }
    println!("{:.1}", hashes as f64 / started.elapsed().as_secs_f64());
}
