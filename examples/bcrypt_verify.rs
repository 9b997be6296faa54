//! How long one bcrypt verification takes on one core, the unit of the physical limit on logins
//! (cores ÷ this time). Prints the seconds per verification.
//!
//! `cargo run --release --example bcrypt_verify -- 12 8` (cost, verifications)
#![forbid(unsafe_code)]

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let hash = bcrypt::hash("benchmark password", cost).expect("hashing");
    // One warm-up, then the measured rounds.
    assert!(bcrypt::verify("benchmark password", &hash).expect("verifying"));
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(!bcrypt::verify("wrong password", &hash).expect("verifying"));
    }
    println!("{:.6}", started.elapsed().as_secs_f64() / f64::from(rounds));
}
