//! Anti-automation: counts of failed credential checks per account and per client address, and of
//! registrations per client address, in fixed windows. Checked before any bcrypt work, so a flood of
//! guesses costs the server nothing.
//!
//! Accounts are keyed by the email as typed (normalized), whether or not it exists: an unknown email is
//! throttled exactly like a known one, so a 429 reveals nothing about which accounts exist.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits; `None` in [`Throttle::new`] switches throttling off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Failed logins and password changes per account per window.
    pub account_failures: u32,
    /// Failed logins and password changes per client address per window.
    pub address_failures: u32,
    /// Registration attempts per client address per window.
    pub registrations: u32,
    pub window: Duration,
}

/// Most keys one table holds before it sheds expired windows (and, if need be, starts over).
const MAX_KEYS: usize = 100_000;

/// The counters.
pub struct Throttle {
    limits: Option<Limits>,
    accounts: Counters<String>,
    addresses: Counters<IpAddr>,
    registrations: Counters<IpAddr>,
}

impl Throttle {
    /// Throttling with `limits`, or none.
    pub fn new(limits: Option<Limits>) -> Self {
        Self {
            limits,
            accounts: Counters::default(),
            addresses: Counters::default(),
            registrations: Counters::default(),
        }
    }

    /// Whether throttling is on.
    pub fn enabled(&self) -> bool {
        self.limits.is_some()
    }

    /// Before checking credentials: `Err(wait)` when the account or the address has failed too often.
    pub fn check_credentials(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        let account = self.accounts.blocked(&account_key(account), limits.account_failures, limits.window, now);
        let address = self.addresses.blocked(&address, limits.address_failures, limits.window, now);
        match account.into_iter().chain(address).max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// A credential check failed.
    pub fn credentials_failed(&self, account: &str, address: IpAddr) {
        let Some(limits) = &self.limits else { return };
        let now = Instant::now();
        self.accounts.record(account_key(account), limits.window, now);
        self.addresses.record(address, limits.window, now);
    }

    /// A credential check succeeded: the account's failures are forgiven (the address's are not: one
    /// right password does not excuse guessing at other accounts).
    pub fn credentials_succeeded(&self, account: &str) {
        if self.limits.is_some() {
            self.accounts.forget(&account_key(account));
        }
    }

    /// Counts a registration attempt; `Err(wait)` when the address has made too many.
    pub fn check_registration(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        if let Some(wait) = self.registrations.blocked(&address, limits.registrations, limits.window, now) {
            return Err(wait);
        }
        self.registrations.record(address, limits.window, now);
        Ok(())
    }
}

/// Emails are matched as the account would be: trimmed, lower-cased, and bounded in size.
fn account_key(email: &str) -> String {
    email.trim().chars().take(crate::domain::Email::MAX_LEN).collect::<String>().to_lowercase()
}

struct Window {
    started: Instant,
    count: u32,
}

struct Counters<K> {
    windows: Mutex<HashMap<K, Window>>,
}

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Self { windows: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash> Counters<K> {
    /// How long `key` must wait, if it has used up `limit` in its current window.
    fn blocked(&self, key: &K, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().expect("throttle lock");
        let current = windows.get(key)?;
        let ends = current.started + window;
        (current.count >= limit && ends > now).then(|| ends - now)
    }

    fn record(&self, key: K, window: Duration, now: Instant) {
        let mut windows = self.windows.lock().expect("throttle lock");
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, w| w.started + window > now);
            if windows.len() >= MAX_KEYS {
                tracing::warn!(keys = windows.len(), "throttle table full of live windows; starting over");
                windows.clear();
            }
        }
        let entry = windows.entry(key).or_insert(Window { started: now, count: 0 });
        if entry.started + window <= now {
            *entry = Window { started: now, count: 0 };
        }
        entry.count += 1;
    }

    fn forget(&self, key: &K) {
        self.windows.lock().expect("throttle lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { account_failures: 3, address_failures: 5, registrations: 2, window: Duration::from_millis(200) }
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn an_account_is_blocked_after_its_failures_until_the_window_ends() {
        let throttle = Throttle::new(Some(limits()));
        for _ in 0..3 {
            assert!(throttle.check_credentials("ada@example.com", HOME).is_ok());
            throttle.credentials_failed("ada@example.com", HOME);
        }
        let wait = throttle.check_credentials("ADA@example.com ", AWAY).unwrap_err();
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO);
        assert!(throttle.check_credentials("bob@example.com", AWAY).is_ok(), "other accounts are not affected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.check_credentials("ada@example.com", HOME).is_ok(), "the window ended");
    }

    #[test]
    fn a_success_forgives_the_account_but_not_the_address() {
        let throttle = Throttle::new(Some(limits()));
        for i in 0..4 {
            throttle.credentials_failed(if i < 2 { "ada@example.com" } else { "eve@example.com" }, HOME);
        }
        throttle.credentials_succeeded("ada@example.com");
        throttle.credentials_failed("ada@example.com", HOME);
        assert!(throttle.check_credentials("ada@example.com", AWAY).is_ok(), "one failure since the success");
        assert!(throttle.check_credentials("new@example.com", HOME).is_err(), "the address has 5 failures");
    }

    #[test]
    fn registrations_are_counted_per_address() {
        let throttle = Throttle::new(Some(limits()));
        assert!(throttle.check_registration(HOME).is_ok());
        assert!(throttle.check_registration(HOME).is_ok());
        assert!(throttle.check_registration(HOME).is_err());
        assert!(throttle.check_registration(AWAY).is_ok());
    }

    #[test]
    fn switched_off_it_never_blocks() {
        let throttle = Throttle::new(None);
        for _ in 0..100 {
            throttle.credentials_failed("ada@example.com", HOME);
            assert!(throttle.check_registration(HOME).is_ok());
        }
        assert!(throttle.check_credentials("ada@example.com", HOME).is_ok());
    }
}
